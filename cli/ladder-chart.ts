/**
 * The ladder as an SVG chart, hand-written (no dependency): quality over log
 * bitrate, one path per resolution's interpolated curve with its trial
 * encodes as dots, the hull, the quality cap, the chosen rungs and, when
 * given, a fixed ladder's rungs at their predicted quality.
 */
import { buildCurves, type PredictedFixedRung, type QualityPoint } from '../actors/lgs/compute/index.js';
import type { LadderResult } from '../schemas/lgs.js';

const W = 960;
const H = 600;
const M = { left: 70, right: 180, top: 50, bottom: 60 };
const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#1f78b4', '#666666'];
const SAMPLES = 64;
/** 1-2-5 steps from 0.1 kb/s to 5 Gb/s: the bitrate axis's grid. */
const LOG_TICKS = [-1, 0, 1, 2, 3, 4, 5, 6].flatMap((d) => [1, 2, 5].map((m) => m * 10 ** d));

export interface ChartOptions {
  title?: string;
  /** A fixed ladder drawn at its predicted quality (rungs with no prediction are left out). */
  fixed?: { name: string; rungs: readonly PredictedFixedRung[] };
}

/** Escapes text for element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The chart as a standalone SVG document. */
export function ladderSvg(r: LadderResult, opts: ChartOptions = {}): string {
  const label = r.metric === 'vmaf' ? 'VMAF' : 'PSNR (dB)';
  const q = (p: { vmaf?: number; psnr?: number }) => p[r.metric] ?? NaN;
  const curves = r.curves.map((c, i) => ({
    wire: c,
    color: PALETTE[i % PALETTE.length]!,
    points: c.points.map((p): QualityPoint => ({ width: c.width, height: c.height, crf: p.crf, kbps: p.kbps, quality: q(p) })),
  }));
  const fixed = (opts.fixed?.rungs ?? []).filter((f): f is PredictedFixedRung & { quality: number } => f.quality !== null);
  const all = [...curves.flatMap((c) => c.points), ...r.hull.map((p) => ({ kbps: p.kbps, quality: q(p) })), ...fixed];
  const [kLo, kHi] = niceLogRange(Math.min(...all.map((p) => p.kbps)), Math.max(...all.map((p) => p.kbps)));
  const qs = [...all.map((p) => p.quality), r.constraints.qualityCap].filter(Number.isFinite);
  const qLo = Math.floor(Math.min(...qs) / 10) * 10;
  const qHi = Math.ceil(Math.max(...qs) / 10) * 10 || qLo + 10;
  const x = (kbps: number) => M.left + ((Math.log10(kbps) - Math.log10(kLo)) / (Math.log10(kHi) - Math.log10(kLo))) * (W - M.left - M.right);
  const y = (quality: number) => H - M.bottom - ((quality - qLo) / (qHi - qLo)) * (H - M.top - M.bottom);
  const xy = (kbps: number, quality: number) => `${x(kbps).toFixed(1)},${y(quality).toFixed(1)}`;
  const line = (pts: { kbps: number; quality: number }[]) => `M${pts.map((p) => xy(p.kbps, p.quality)).join(' L')}`;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${xmlEscape(opts.title ?? `Bitrate ladder (${label})`)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${M.left}" y="28" font-size="16">${xmlEscape(opts.title ?? `Bitrate ladder (${label})`)}</text>`);
  out.push(...axes(kLo, kHi, qLo, qHi, x, y, label));
  out.push(`<line class="cap" x1="${M.left}" x2="${W - M.right}" y1="${y(r.constraints.qualityCap).toFixed(1)}" y2="${y(r.constraints.qualityCap).toFixed(1)}" stroke="#999" stroke-dasharray="2,4"/>`);

  curves.forEach((c, i) => {
    const res = `${c.wire.width}x${c.wire.height}`;
    const samples = buildCurves(c.points).curves[0]?.sample(SAMPLES) ?? c.points;
    const dash = c.wire.used ? '' : ' stroke-dasharray="6,4" opacity="0.5"';
    out.push(`<g class="resolution" data-resolution="${res}">`);
    if (samples.length >= 2) out.push(`<path class="curve" data-resolution="${res}" d="${line(samples)}" fill="none" stroke="${c.color}" stroke-width="2"${dash}><title>${res}${c.wire.excludedBy ? `: ${xmlEscape(c.wire.excludedBy)}` : ''}</title></path>`);
    for (const p of c.points) out.push(`<circle class="trial" cx="${x(p.kbps).toFixed(1)}" cy="${y(p.quality).toFixed(1)}" r="2.5" fill="${c.color}"><title>${res} CRF ${p.crf}: ${Math.round(p.kbps)} kb/s, ${p.quality.toFixed(2)}</title></circle>`);
    out.push('</g>');
    const ly = M.top + 18 * i;
    out.push(`<line x1="${W - M.right + 20}" x2="${W - M.right + 44}" y1="${ly}" y2="${ly}" stroke="${c.color}" stroke-width="2"${dash}/><text x="${W - M.right + 50}" y="${ly + 4}">${res}</text>`);
  });

  if (r.hull.length >= 2) out.push(`<path class="hull" d="${line(r.hull.map((p) => ({ kbps: p.kbps, quality: q(p) })))}" fill="none" stroke="black" stroke-width="1.5" stroke-dasharray="5,3"><title>convex hull</title></path>`);
  for (const f of fixed) {
    const [cx, cy] = [x(f.kbps), y(f.quality)];
    out.push(`<rect class="fixed" x="${(cx - 4).toFixed(1)}" y="${(cy - 4).toFixed(1)}" width="8" height="8" fill="none" stroke="#444" stroke-width="1.5"><title>${xmlEscape(opts.fixed!.name)} ${f.width}x${f.height} @ ${f.kbps} kb/s: ${f.quality.toFixed(2)} (predicted${f.predictedBy === 'between' ? ' between resolutions' : ''})</title></rect>`);
  }
  r.rungs.forEach((g, i) => {
    const [cx, cy] = [x(g.kbps), y(q(g.predicted))];
    out.push(`<circle class="rung" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="6" fill="black"><title>rung ${i + 1}: ${g.width}x${g.height} @ ${g.kbps} kb/s, CRF ${g.crf}, ${q(g.predicted).toFixed(2)} predicted</title></circle>`);
    out.push(`<text class="rung-label" x="${(cx + 8).toFixed(1)}" y="${(cy + 14).toFixed(1)}" font-size="10">${g.height}p ${g.kbps}</text>`);
  });
  const legend = [
    ['hull', '<line x1="0" x2="24" y1="0" y2="0" stroke="black" stroke-width="1.5" stroke-dasharray="5,3"/>'],
    ['rungs', '<circle cx="12" cy="0" r="5" fill="black"/>'],
    ...(fixed.length ? [[opts.fixed!.name, '<rect x="8" y="-4" width="8" height="8" fill="none" stroke="#444" stroke-width="1.5"/>']] : []),
    [`cap ${r.constraints.qualityCap}`, '<line x1="0" x2="24" y1="0" y2="0" stroke="#999" stroke-dasharray="2,4"/>'],
  ] as const;
  legend.forEach(([name, mark], i) => {
    const ly = M.top + 18 * (curves.length + 1 + i);
    out.push(`<g transform="translate(${W - M.right + 20},${ly})">${mark}<text x="30" y="4">${xmlEscape(name)}</text></g>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Whole 1-2-5 steps around [lo, hi] (kb/s). */
function niceLogRange(lo: number, hi: number): [number, number] {
  return [LOG_TICKS.filter((t) => t <= lo).pop() ?? lo, LOG_TICKS.find((t) => t >= hi) ?? hi];
}

function axes(kLo: number, kHi: number, qLo: number, qHi: number, x: (k: number) => number, y: (q: number) => number, label: string): string[] {
  const out: string[] = [`<g class="axes" stroke="#ccc">`];
  const ticks = LOG_TICKS.filter((t) => t >= kLo && t <= kHi);
  for (const t of ticks) out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}"/>`);
  for (let v = qLo; v <= qHi; v += 10) out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
  out.push('</g>', '<g class="labels" fill="#333">');
  for (const t of ticks) out.push(`<text x="${x(t).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${t >= 1000 ? `${t / 1000}M` : t}</text>`);
  for (let v = qLo; v <= qHi; v += 10) out.push(`<text x="${M.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" text-anchor="middle">bitrate (kb/s, log scale)</text>`);
  out.push(`<text transform="translate(22,${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${xmlEscape(label)}</text>`);
  out.push('</g>');
  return out;
}
