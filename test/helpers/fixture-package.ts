/**
 * A streaming package made with ffmpeg alone, in vpipe's package layout
 * (actors/streaming/compute/types.ts), for tests that need something to play
 * before (or without) vpipe's own packager: two H.264 video rungs and one
 * AAC stereo rendition of a lavfi clip, segmented once as CMAF by ffmpeg's
 * DASH muxer (`-hls_playlist 1` writes the HLS media playlists of the same
 * segments), one WebVTT subtitle, a hand-written HLS multivariant playlist
 * and a report.json that passes the StreamingReport schema.
 *
 *   media/<id>/init.mp4, media/<id>/seg-00001.m4s …   (v0 640x360, v1 320x180, a0 audio)
 *   media/text/t0.vtt
 *   hls/main.m3u8, hls/<id>.m3u8, hls/t0.m3u8
 *   dash/manifest.mpd
 *   report.json
 *
 * The VMAF figures in the report are made up (a note says so); bitrates are
 * measured on the segments. Swap this for vpipe's packager once it exists.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildLadder, resolveConstraints } from '../../actors/lgs/compute/index.js';
import { StreamingReport, type AudioReport, type RungReport, type TextReport } from '../../schemas/streaming.js';
import { syntheticPoints } from './lgs-curves.js';
import { ffmpeg } from './media.js';

export interface FixtureRung {
  id: string;
  width: number;
  height: number;
}

export interface FixturePackage {
  /** The media root the package lies under. */
  root: string;
  /** The package directory, relative to root (forward slashes). */
  pkg: string;
  /** The package directory, absolute. */
  dir: string;
  report: StreamingReport;
  /** Video rungs in the order of the HLS multivariant playlist and the MPD. */
  rungs: FixtureRung[];
  durationSeconds: number;
  audio: { id: string; language: string; name: string };
  text: { id: string; language: string; name: string };
}

const FPS = 25;
const GOP_SECONDS = 2;
const RUNGS: readonly (FixtureRung & { kbps: number })[] = [
  { id: 'v0', width: 640, height: 360, kbps: 500 },
  { id: 'v1', width: 320, height: 180, kbps: 150 },
];
const AUDIO = { id: 'a0', language: 'en', name: 'English', kbps: 96 };
const TEXT = { id: 't0', language: 'en', name: 'English' };

interface Segment {
  uri: string;
  seconds: number;
  bytes: number;
}

/** Builds the package at `<root>/<pkg>` (replacing whatever was there) and returns where it is and what it holds. */
export async function buildFixturePackage(root: string, pkg = 'fixture', seconds = 12): Promise<FixturePackage> {
  const dir = path.join(root, pkg);
  await rm(dir, { recursive: true, force: true });
  const ids = [...RUNGS.map((r) => r.id), AUDIO.id];
  for (const d of ['dash', 'hls', 'media/text', ...ids.map((_, n) => `media/r${n}`)]) await mkdir(path.join(dir, d), { recursive: true });

  // One encode, one segmentation: the DASH muxer names representations 0, 1, 2 (in -map order) and
  // writes their segments under ../media/r<N>/, renamed to the rendition ids below.
  const split = RUNGS.map((_, i) => `[s${i}]`).join('');
  const scales = RUNGS.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`).join(';');
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${RUNGS[0]!.width}x${RUNGS[0]!.height}:rate=${FPS}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-filter_complex', `[0:v]split=${RUNGS.length}${split};${scales}`,
    ...RUNGS.flatMap((_, i) => ['-map', `[v${i}]`]), '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-g', String(FPS * GOP_SECONDS), '-keyint_min', String(FPS * GOP_SECONDS), '-sc_threshold', '0',
    ...RUNGS.flatMap((r, i) => [`-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${Math.round(r.kbps * 1.5)}k`, `-bufsize:v:${i}`, `${r.kbps * 3}k`]),
    '-c:a', 'aac', '-b:a', `${AUDIO.kbps}k`, '-ac', '2', '-metadata:s:a:0', `language=${AUDIO.language}`,
    '-f', 'dash', '-seg_duration', String(GOP_SECONDS), '-use_template', '1', '-use_timeline', '1', '-hls_playlist', '1',
    '-adaptation_sets', 'id=0,streams=v id=1,streams=a',
    '-init_seg_name', '../media/r$RepresentationID$/init.mp4',
    '-media_seg_name', '../media/r$RepresentationID$/seg-$Number%05d$.m4s',
    path.join(dir, 'dash', 'manifest.mpd'),
  ]);

  // Rename r<N> to the rendition ids, in the MPD (per Representation) and the media playlists.
  let mpd = await readFile(path.join(dir, 'dash', 'manifest.mpd'), 'utf8');
  mpd = mpd.replace(/<Representation id="(\d+)"[\s\S]*?<\/Representation>/g, (block, n: string) =>
    block.replace(`id="${n}"`, `id="${ids[Number(n)]}"`).replaceAll('r$RepresentationID$', ids[Number(n)]!),
  );
  const codecs = new Map<string, string>();
  for (const m of mpd.matchAll(/<Representation id="([^"]+)"[^>]*?codecs="([^"]+)"/g)) codecs.set(m[1]!, m[2]!);
  const segments = new Map<string, Segment[]>();
  for (const [n, id] of ids.entries()) {
    await rename(path.join(dir, 'media', `r${n}`), path.join(dir, 'media', id));
    const src = path.join(dir, 'dash', `media_${n}.m3u8`);
    const playlist = (await readFile(src, 'utf8')).replaceAll(`../media/r${n}/`, `../media/${id}/`);
    await rm(src);
    // ffmpeg stamps wall-clock PROGRAM-DATE-TIMEs; a VOD playlist has no use for them.
    const lines = playlist.split('\n').filter((l) => !l.startsWith('#EXT-X-PROGRAM-DATE-TIME'));
    lines.splice(1, 0, '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS');
    await writeFile(path.join(dir, 'hls', `${id}.m3u8`), lines.join('\n'));
    segments.set(id, await segmentsOf(path.join(dir, 'hls'), lines));
  }
  await rm(path.join(dir, 'dash', 'master.m3u8'));

  // Subtitles: a cue every 2 s; HLS gets a one-segment playlist, DASH a side-loaded text/vtt adaptation set.
  const cues = Array.from({ length: Math.floor(seconds / 2) }, (_, i) => `${i + 1}\n${vttTime(i * 2)} --> ${vttTime(i * 2 + 1.5)}\nCue ${i + 1}\n`);
  await writeFile(path.join(dir, 'media', 'text', `${TEXT.id}.vtt`), `WEBVTT\n\n${cues.join('\n')}`);
  await writeFile(
    path.join(dir, 'hls', `${TEXT.id}.m3u8`),
    ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${Math.ceil(seconds)}`, '#EXT-X-PLAYLIST-TYPE:VOD', `#EXTINF:${seconds.toFixed(3)},`, `../media/text/${TEXT.id}.vtt`, '#EXT-X-ENDLIST', ''].join('\n'),
  );
  const textSet = [
    `\t\t<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="${TEXT.language}">`,
    `\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle" />`,
    `\t\t\t<Label>${TEXT.name}</Label>`,
    `\t\t\t<Representation id="${TEXT.id}" bandwidth="256"><BaseURL>../media/text/${TEXT.id}.vtt</BaseURL></Representation>`,
    `\t\t</AdaptationSet>`,
  ].join('\n');
  mpd = mpd
    .replace('\t</Period>', `${textSet}\n\t</Period>`)
    .replace(`lang="${AUDIO.language}">`, `lang="${AUDIO.language}">\n\t\t\t<Label>${AUDIO.name}</Label>`)
    // ffmpeg marks every set bitstream-switchable; rungs of different sizes have different init segments.
    .replaceAll(' bitstreamSwitching="true"', '');
  await writeFile(path.join(dir, 'dash', 'manifest.mpd'), mpd);

  const rate = (id: string) => bandwidthOf(segments.get(id)!);
  const audioRate = rate(AUDIO.id);
  const audioCodecs = codecs.get(AUDIO.id)!;
  await writeFile(
    path.join(dir, 'hls', 'main.m3u8'),
    [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="${AUDIO.name}",LANGUAGE="${AUDIO.language}",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="${AUDIO.id}.m3u8"`,
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="${TEXT.name}",LANGUAGE="${TEXT.language}",DEFAULT=NO,AUTOSELECT=YES,URI="${TEXT.id}.m3u8"`,
      ...RUNGS.flatMap((r) => {
        const v = rate(r.id);
        return [
          `#EXT-X-STREAM-INF:BANDWIDTH=${v.bandwidth + audioRate.bandwidth},AVERAGE-BANDWIDTH=${v.averageBandwidth + audioRate.averageBandwidth},RESOLUTION=${r.width}x${r.height},FRAME-RATE=${FPS.toFixed(3)},CODECS="${codecs.get(r.id)},${audioCodecs}",AUDIO="aud",SUBTITLES="subs"`,
          `${r.id}.m3u8`,
        ];
      }),
      '',
    ].join('\n'),
  );

  const report = StreamingReport.parse(fixtureReport(pkg, seconds, segments, codecs));
  await writeFile(path.join(dir, 'report.json'), JSON.stringify(report, null, 2));
  return { root, pkg, dir, report, rungs: RUNGS.map(({ id, width, height }) => ({ id, width, height })), durationSeconds: seconds, audio: { ...AUDIO }, text: { ...TEXT } };
}

/** The segments of an HLS media playlist (EXTINF durations, file sizes). */
async function segmentsOf(playlistDir: string, lines: string[]): Promise<Segment[]> {
  const out: Segment[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
    if (!m) continue;
    const uri = lines[i + 1]!;
    out.push({ uri, seconds: Number(m[1]), bytes: (await stat(path.join(playlistDir, uri))).size });
  }
  return out;
}

/** RFC 8216 BANDWIDTH (the peak segment bitrate) and AVERAGE-BANDWIDTH, bits per second. */
function bandwidthOf(segs: Segment[]): { bandwidth: number; averageBandwidth: number } {
  const bytes = segs.reduce((s, x) => s + x.bytes, 0);
  const secs = segs.reduce((s, x) => s + x.seconds, 0);
  return { bandwidth: Math.ceil(Math.max(...segs.map((s) => (s.bytes * 8) / s.seconds))), averageBandwidth: Math.ceil((bytes * 8) / secs) };
}

function vttTime(s: number): string {
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  return `${hh}:${mm}:${(s % 60).toFixed(3).padStart(6, '0')}`;
}

function fixtureReport(pkg: string, seconds: number, segments: Map<string, Segment[]>, codecs: Map<string, string>): StreamingReport {
  const uri = (rel: string) => `file:///${pkg}/${rel}`;
  const source = { width: RUNGS[0]!.width, height: RUNGS[0]!.height };
  const ladder = buildLadder({
    codec: 'h264',
    metric: 'vmaf',
    points: syntheticPoints(),
    source,
    constraints: resolveConstraints({ rungs: RUNGS.length }, 'vmaf', source),
    analysis: { jobId: 'fixture-cas', contentHash: 'fixture', cached: false, points: 40 },
  });
  const videoBytes = (id: string) => segments.get(id)!.reduce((s, x) => s + x.bytes, 0);
  const rungs: RungReport[] = RUNGS.map((r, i) => {
    const vmaf = 92 - i * 12;
    return {
      id: r.id,
      codec: 'h264',
      width: r.width,
      height: r.height,
      kbps: Math.round((videoBytes(r.id) * 8) / seconds / 100) / 10,
      vmaf,
      quality: { vmaf: { mean: vmaf, harmonicMean: vmaf - 0.5, min: vmaf - 9, p1: vmaf - 7, p5: vmaf - 4, model: 'vmaf_v0.6.1', version: 'fixture' }, vqsJobId: `fixture-vqs-${r.id}` },
      // What the ffmpeg command above did, as a VES recipe.
      recipe: {
        codec: 'h264',
        profile: 'high',
        resolution: { width: r.width, height: r.height },
        pixelFormat: 'yuv420p',
        preset: 'veryfast',
        rateControl: { mode: 'bitrate', targetKbps: r.kbps, maxrateKbps: Math.round(r.kbps * 1.5), bufsizeKbps: r.kbps * 3 },
        gop: { lengthSeconds: GOP_SECONDS, sceneCutKeyframes: false, closed: true },
      },
      encode: { vesJobId: `fixture-ves-${r.id}`, uri: uri(`encodes/${r.id}.mp4`), frames: seconds * FPS, encodeSeconds: 1, speed: seconds, chunks: 1 },
      ...bandwidthOf(segments.get(r.id)!),
      codecs: codecs.get(r.id)!,
      frameRate: FPS,
    };
  });
  const loud = { integratedLufs: -23, truePeakDb: -1, lra: 11 };
  const audio: AudioReport[] = [
    {
      id: AUDIO.id,
      language: AUDIO.language,
      name: AUDIO.name,
      default: true,
      sourceStream: 1,
      sourceChannels: 2,
      channels: 2,
      codecs: codecs.get(AUDIO.id)!,
      bitrateKbps: AUDIO.kbps,
      ...bandwidthOf(segments.get(AUDIO.id)!),
      loudness: { target: loud, input: { integratedLufs: -18.2, truePeakDb: -3, lra: 0 }, output: { integratedLufs: -23.1, truePeakDb: -7.9, lra: 0 } },
    },
  ];
  const text: TextReport[] = [{ id: TEXT.id, language: TEXT.language, name: TEXT.name, default: false, forced: false, from: uri('subs.en.vtt'), cues: Math.floor(seconds / 2) }];
  const segs = segments.get(RUNGS[0]!.id)!;
  return {
    version: 1,
    jobId: 'fixture',
    source: { uri: uri('source.mp4'), ...source, frameRate: FPS, durationSeconds: seconds, frames: seconds * FPS },
    ladder: [{ mode: 'per-title', codec: 'h264', lgsJobId: 'fixture-lgs', result: ladder }],
    rungs,
    audio,
    text,
    hls: { uri: uri('hls/main.m3u8'), iframePlaylists: [] },
    dash: { uri: uri('dash/manifest.mpd') },
    packaging: { targetSegmentSeconds: GOP_SECONDS, boundariesAligned: true, segments: segs.length, maxSegmentSeconds: Math.max(...segs.map((s) => s.seconds)), segmentsStartWithKeyframe: true },
    timings: { total: 0 },
    notes: ['test fixture: packaged by ffmpeg alone (test/helpers/fixture-package.ts); the VMAF figures and the ladder are made up'],
    createdAt: new Date(0).toISOString(),
  };
}
