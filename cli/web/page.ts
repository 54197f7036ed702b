/**
 * The HTML of `vpipe serve`, as template functions. Everything that comes
 * from a report or a path is HTML-escaped (`esc`), and the JSON the player
 * script reads sits in a `<script type="application/json">` with `<` written
 * as `\u003c`, so no value can close the element. The page runs no inline
 * script (the server's CSP forbids it): the player is /static/player.js.
 */
import type { RungReport, StreamingReport } from '../../schemas/streaming.js';

export type LoadedReport = { report: StreamingReport } | { error: string };
export type PackageEntry = { pkg: string } & LoadedReport;

/** Escapes text for element content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON for a `<script type="application/json">` element: `<`, U+2028 and U+2029 escaped, so `</script>` cannot appear. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** `/files/<pkg>/<rel>` with every segment percent-encoded. */
export function filesUrl(pkg: string, rel: string): string {
  const segs = [...(pkg === '.' ? [] : pkg.split('/')), ...rel.split('/')];
  return `/files/${segs.map(encodeURIComponent).join('/')}`;
}

const watchUrl = (pkg: string) => `/watch?pkg=${encodeURIComponent(pkg)}`;
const num = (n: number | null | undefined, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const kbps = (bps: number) => num(bps / 1000, 0);

function layout(title: string, body: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/static/page.css">
</head>
<body>
${body}
${scripts.map((s) => `<script src="${esc(s)}"></script>`).join('\n')}
</body>
</html>
`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

/** `/`: the packages found under the root. */
export function indexPage(root: string, packages: PackageEntry[]): string {
  const rows = packages.map((p) => {
    const link = `<a href="${esc(watchUrl(p.pkg))}">${esc(p.pkg)}</a>`;
    if ('error' in p) return [link, `<span class="error">${esc(p.error)}</span>`, '', '', ''];
    const r = p.report;
    return [link, esc(r.source.uri), esc(r.rungs.map((g) => `${g.width}x${g.height}`).join(', ')), esc(`${r.audio.length} audio, ${r.text.length} text`), esc(r.createdAt)];
  });
  const body = packages.length
    ? table(['package', 'source', 'rungs', 'tracks', 'created'], rows)
    : `<p>No packages (directories holding a report.json) under this root yet. A streaming job (<code>vpipe.streaming.submit</code>) writes one per output directory.</p>`;
  return layout('vpipe · packages', `<header><h1>vpipe packages</h1><p class="muted">${esc(root)}</p></header>\n<main>${body}</main>`);
}

export function notFoundPage(message: string): string {
  return layout('vpipe · not found', `<header><h1><a href="/">vpipe</a></h1></header><main><p class="error">${esc(message)}</p></main>`);
}

function vmafCells(g: RungReport): string[] {
  const v = g.quality?.vmaf;
  if (v) return [num(v.mean, 2), num(v.p5, 2), num(v.min, 2)];
  // No VMAF: say what was measured instead, or why nothing was.
  const other = g.quality?.psnr !== undefined ? `PSNR ${num(g.quality.psnr, 2)} dB` : (g.quality?.notMeasured?.map((n) => `${n.metric}: ${n.reason}`).join('; ') ?? 'not measured');
  return [`<span class="muted">${esc(other)}</span>`, '—', '—'];
}

function reportSections(pkg: string, r: StreamingReport): string {
  const quality = table(
    ['rung', 'codec', 'resolution', 'fps', 'bandwidth kb/s (peak)', 'average kb/s', 'measured kb/s (video)', 'VMAF mean', 'VMAF p5', 'VMAF min', 'predicted'],
    r.rungs.map((g) => [
      esc(g.id),
      esc(g.codecs),
      esc(`${g.width}x${g.height}`),
      esc(num(g.frameRate, 3)),
      esc(kbps(g.bandwidth)),
      esc(kbps(g.averageBandwidth)),
      esc(num(g.kbps, 0)),
      ...vmafCells(g),
      esc(g.predicted?.vmaf !== undefined ? num(g.predicted.vmaf, 2) : g.predicted?.psnr !== undefined ? `${num(g.predicted.psnr, 2)} dB` : '—'),
    ]),
    'quality',
  );
  const audio = table(
    ['id', 'language', 'name', 'default', 'channels', 'codecs', 'kb/s', 'loudness out (LUFS / dBTP)', 'target'],
    r.audio.map((a) => [esc(a.id), esc(a.language), esc(a.name), a.default ? 'yes' : '', esc(`${a.channels} (source ${a.sourceChannels})`), esc(a.codecs), esc(num(a.bitrateKbps, 0)), esc(`${num(a.loudness.output.integratedLufs)} / ${num(a.loudness.output.truePeakDb)}`), esc(`${num(a.loudness.target.integratedLufs)} / ${num(a.loudness.target.truePeakDb)}`)]),
    'audio',
  );
  const text = table(
    ['id', 'language', 'name', 'default', 'forced', 'cues', 'from'],
    r.text.map((t) => [esc(t.id), esc(t.language), esc(t.name), t.default ? 'yes' : '', t.forced ? 'yes' : '', esc(t.cues), esc(t.from)]),
    'text',
  );
  const charts = r.ladder
    .map((l, i) => {
      const title = `${l.codec} · ${l.mode} ladder`;
      return l.result
        ? `<figure><img src="${esc(`/chart.svg?pkg=${encodeURIComponent(pkg)}&i=${i}`)}" alt="${esc(title)} chart" width="960" height="600"><figcaption>${esc(title)}${l.lgsJobId ? ` (LGS job ${esc(l.lgsJobId)})` : ''}</figcaption></figure>`
        : `<p class="muted">${esc(title)}: no ladder chart (no LGS result).</p>`;
    })
    .join('\n');
  const p = r.packaging;
  const checks = `segments ${esc(p.segments)}, target ${esc(p.targetSegmentSeconds)} s, longest ${esc(num(p.maxSegmentSeconds, 3))} s; boundaries aligned: ${p.boundariesAligned ? 'yes' : '<strong class="error">no</strong>'}; every segment starts with a keyframe: ${p.segmentsStartWithKeyframe ? 'yes' : '<strong class="error">no</strong>'}`;
  const timings = Object.entries(r.timings).map(([k, v]) => `${esc(k)} ${esc(num(v))} s`).join(', ');
  return `<section><h2>Quality</h2>${quality}</section>
<section><h2>Audio</h2>${r.audio.length ? audio : '<p class="muted">no audio renditions</p>'}</section>
<section><h2>Subtitles</h2>${r.text.length ? text : '<p class="muted">no text tracks</p>'}</section>
<section><h2>Ladder</h2>${charts || '<p class="muted">no ladder</p>'}</section>
<section><h2>Packaging</h2><p>${checks}</p><p class="muted">job ${esc(r.jobId)} · source ${esc(r.source.uri)} (${esc(`${r.source.width}x${r.source.height}`)}, ${esc(num(r.source.durationSeconds, 2))} s) · ${timings} · ${esc(r.createdAt)}</p>
${r.notes.length ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}</section>`;
}

export interface WatchPageInput {
  pkg: string;
  loaded: LoadedReport;
  /** Whether hls/main.m3u8 and dash/manifest.mpd exist. */
  hls: boolean;
  dash: boolean;
  /** `?play=`: `hls` (default), `dash`, or `none` to load nothing until asked (the tests drive the page this way). */
  play: string | null;
}

/** `/watch?pkg=…`: the player, the tracks the player found, and the report. */
export function watchPage(w: WatchPageInput): string {
  const config = {
    pkg: w.pkg,
    hls: w.hls ? filesUrl(w.pkg, 'hls/main.m3u8') : null,
    dash: w.dash ? filesUrl(w.pkg, 'dash/manifest.mpd') : null,
    play: w.play === 'none' || w.play === 'dash' || w.play === 'hls' ? w.play : 'hls',
  };
  const button = (kind: 'hls' | 'dash', label: string, url: string | null) =>
    `<button type="button" data-kind="${kind}"${url ? '' : ' disabled title="not in this package"'}>${label}</button>`;
  const body = `<header><h1><a href="/">vpipe</a> / ${esc(w.pkg)}</h1>
<p class="muted"><a href="${esc(filesUrl(w.pkg, 'report.json'))}">report.json</a>${w.hls ? ` · <a href="${esc(config.hls!)}">hls/main.m3u8</a>` : ''}${w.dash ? ` · <a href="${esc(config.dash!)}">dash/manifest.mpd</a>` : ''}</p></header>
<main>
<section class="player">
<video id="video" controls playsinline crossorigin="anonymous"></video>
<div class="controls">
<span class="kinds">${button('hls', 'HLS (hls.js)', config.hls)}${button('dash', 'DASH (dash.js)', config.dash)}</span>
<label>rung <select id="rung"><option value="-1">auto</option></select></label>
<span id="status" class="muted">not loaded</span>
</div>
<div class="tracks"><div><h3>audio tracks</h3><ul id="audio-tracks"></ul></div><div><h3>subtitle tracks</h3><ul id="text-tracks"></ul></div></div>
<ul id="errors" class="error"></ul>
</section>
${'report' in w.loaded ? reportSections(w.pkg, w.loaded.report) : `<section><p class="error">${esc(w.loaded.error)}</p></section>`}
</main>
<script type="application/json" id="vpipe-config">${scriptJson(config)}</script>`;
  return layout(`vpipe · ${w.pkg}`, body, ['/vendor/hls.min.js', '/vendor/dash.all.min.js', '/static/player.js']);
}
