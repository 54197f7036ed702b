/**
 * The CMAF packager and its HLS/DASH writers against real ffmpeg: a 13 s
 * 29.97 fps ladder of two H.264 rungs and one HEVC rung (2 s closed GOPs,
 * B-frames), a stereo AAC rendition and a WebVTT file, packaged into 6 s
 * segments. Segments, boundaries, bit rates and codecs strings are checked
 * against what ffprobe and the files themselves say, not against the
 * packager's own report; the codecs strings also on hand-built boxes.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
// @ts-expect-error m3u8-parser ships no type declarations
import { Parser } from 'm3u8-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bitRates } from '../actors/streaming/compute/package/bandwidth.js';
import { codecsString } from '../actors/streaming/compute/package/codecs.js';
import { fragmentTrack, readFragmented } from '../actors/streaming/compute/package/fragment.js';
import { packageStreams, type PackageInput } from '../actors/streaming/compute/package/index.js';
import { frameRate } from '../actors/streaming/compute/package/timeline.js';
import type { PackageResult, RenditionPackage } from '../actors/streaming/compute/types.js';
import { ErrorCodes } from '../runtime/core/errors.js';
import { runTool } from '../runtime/media/tools.js';
import { expectVpipeError } from './helpers/errors.js';
import { cached, ffmpeg, motion } from './helpers/media.js';

interface M3u8 {
  playlists?: { uri: string; attributes: Record<string, unknown> & { BANDWIDTH: number; CODECS: string; RESOLUTION: { width: number; height: number } } }[];
  iFramePlaylists?: { uri: string; attributes: Record<string, unknown> & { BANDWIDTH: number; CODECS: string } }[];
  mediaGroups?: Record<string, Record<string, Record<string, { uri: string; language: string; default: boolean; autoselect: boolean }>>>;
  segments: { uri: string; duration: number; map?: { uri: string }; byterange?: { length: number; offset: number } }[];
  targetDuration?: number;
  iFramesOnly?: boolean;
  endList?: boolean;
  playlistType?: string;
}

const RATE = '30000/1001';
const FRAME = 1001 / 30000;
const SECONDS = 13;
const TARGET = 6;

let dir: string;
let outDir: string;
let input: PackageInput;
let result: PackageResult;
const sources: Record<string, string> = {};

/** x264 with a closed 60-frame GOP (2.002 s) and nothing but the GOP making keyframes; B-frames on (veryfast). */
function h264(name: string, size: string, profile: string, level: string, gop = 60): Promise<string> {
  return cached(dir, `${name}.mp4`, (tmp) =>
    ffmpeg([
      '-f', 'lavfi', '-i', motion(size, RATE, SECONDS), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-profile:v', profile, '-level', level, '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-x264-params', 'open-gop=0', '-f', 'mp4', tmp,
    ]),
  );
}

async function probe(file: string, args: string[]): Promise<Record<string, unknown[]>> {
  const r = await runTool('ffprobe', ['-v', 'error', ...args, '-of', 'json', `file:${file}`], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown[]>;
}

const streamOf = async (file: string, entries: string, extra: string[] = []) =>
  (await probe(file, [...extra, '-select_streams', '0', '-show_entries', `stream=${entries}`])).streams![0] as Record<string, string | number>;

/** init.mp4 followed by `segments` in one file (what a player feeds its decoder). */
async function joined(r: RenditionPackage, segments: RenditionPackage['segments'], name: string): Promise<string> {
  const parts = await Promise.all([r.init, ...segments.map((s) => s.path)].map((p) => readFile(path.join(outDir, p))));
  const file = path.join(dir, 'joined', `${r.id}-${name}.mp4`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.concat(parts));
  return file;
}

async function playlist(rel: string): Promise<M3u8> {
  const p = new Parser() as { push(s: string): void; end(): void; manifest: M3u8 };
  p.push(await readFile(path.join(outDir, rel), 'utf8'));
  p.end();
  return p.manifest;
}

/** The first SPS of a stream in Annex B, emulation-prevention bytes removed (the NAL header included). */
async function firstSps(file: string, codec: 'h264' | 'hevc'): Promise<Buffer> {
  const raw = path.join(dir, `${path.basename(file)}.${codec}`);
  await ffmpeg(['-i', `file:${file}`, '-frames:v', '1', '-c:v', 'copy', '-bsf:v', `${codec}_mp4toannexb`, '-f', codec, raw]);
  const b = await readFile(raw);
  const isSps = (i: number) => (codec === 'h264' ? (b[i]! & 0x1f) === 7 : ((b[i]! >> 1) & 0x3f) === 33);
  let start = -1;
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) continue;
    if (start >= 0) return unescape(b.subarray(start, i));
    if (isSps(i + 3)) start = i + 3;
  }
  throw new Error(`no SPS in ${raw}`);
}

function unescape(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Buffer.from(out);
}

/** RFC 8216 §4.1's peak segment bit rate, computed here from the files and the playlist, independently of bandwidth.ts. */
function rfcPeak(segments: { bytes: number; seconds: number }[], target: number): number {
  const rates: number[] = [];
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j <= segments.length; j++) {
      const set = segments.slice(i, j);
      const seconds = set.reduce((s, x) => s + x.seconds, 0);
      if (seconds >= 0.5 * target && seconds <= 1.5 * target) rates.push((set.reduce((s, x) => s + x.bytes, 0) * 8) / seconds);
    }
  }
  return Math.max(...rates);
}

/** Segment sizes from the files on disk and durations from the playlist's EXTINF lines. */
async function measured(id: string): Promise<{ sized: { bytes: number; seconds: number }[]; target: number }> {
  const m = await playlist(`hls/${id}.m3u8`);
  const sized = await Promise.all(m.segments.map(async (s) => ({ bytes: (await stat(path.join(outDir, 'hls', s.uri))).size, seconds: s.duration })));
  return { sized, target: m.targetDuration! };
}

const within1 = (actual: number, expected: number) => expect(Math.abs(actual - expected) / expected).toBeLessThan(0.01);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vpipe-streaming-package-'));
  outDir = path.join(dir, 'out');
  const [v0, v1, h0, audio] = await Promise.all([
    h264('v0', '640x360', 'high', '3.0'),
    h264('v1', '320x180', 'main', '2.1'),
    cached(dir, 'h0.mp4', (tmp) =>
      ffmpeg([
        '-f', 'lavfi', '-i', motion('320x180', RATE, SECONDS), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1',
        '-x265-params', 'log-level=error:keyint=60:min-keyint=60:scenecut=0:open-gop=0', '-f', 'mp4', tmp,
      ]),
    ),
    cached(dir, 'a0.m4a', (tmp) => ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`, '-ac', '2', '-c:a', 'aac', '-b:a', '96k', '-f', 'ipod', tmp])),
  ]);
  Object.assign(sources, { v0, v1, h0, a0: audio });
  const vtt = path.join(dir, 'en.vtt');
  await writeFile(vtt, 'WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello\n\n00:00:07.000 --> 00:00:09.500\nWorld\n');
  input = {
    video: [{ id: 'v0', path: v0 }, { id: 'v1', path: v1 }, { id: 'h0', path: h0 }],
    audio: [{ id: 'a0', path: audio, language: 'en', name: 'English', default: true, channels: 2 }],
    text: [{ id: 'en', path: vtt, language: 'en', name: 'English <CC> & more', default: false, forced: false }],
  };
  result = await packageStreams(input, { outDir, segmentSeconds: TARGET, gopSeconds: 2 });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('packageStreams: segments', () => {
  it('writes the layout of types.ts and nothing else', async () => {
    expect(result.hls).toEqual({ multivariant: 'hls/main.m3u8', iframePlaylists: ['hls/v0-iframes.m3u8', 'hls/v1-iframes.m3u8', 'hls/h0-iframes.m3u8'] });
    expect(result.dash).toEqual({ mpd: 'dash/manifest.mpd' });
    const expected = new Set(['hls/main.m3u8', 'dash/manifest.mpd', 'media/text/en.vtt', 'hls/en.m3u8']);
    for (const r of [...result.video, ...result.audio]) {
      expect(r.segments.map((s) => s.path)).toEqual(r.segments.map((_, i) => `media/${r.id}/seg-${String(i + 1).padStart(5, '0')}.m4s`));
      for (const p of [r.init, r.playlist, ...(r.iframePlaylist ? [r.iframePlaylist] : []), ...r.segments.map((s) => s.path)]) expected.add(p);
      expect(r.init).toBe(`media/${r.id}/init.mp4`);
    }
    const found = (await readdir(outDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(outDir, path.join(e.parentPath, e.name)));
    expect(new Set(found)).toEqual(expected);
    expect(result.text).toEqual([{ id: 'en', vtt: 'media/text/en.vtt', playlist: 'hls/en.m3u8', language: 'en' }]);
    expect(await readFile(path.join(outDir, 'media/text/en.vtt'), 'utf8')).toBe(await readFile(input.text[0]!.path, 'utf8'));
  });

  it('starts every video segment with a keyframe at the same time in every rung, as ffprobe reads init + segment', async () => {
    const starts: Record<string, number[]> = {};
    for (const r of result.video) {
      starts[r.id] = [];
      for (const [i, s] of r.segments.entries()) {
        const file = await joined(r, [s], `seg${i + 1}`);
        const [first] = (await probe(file, ['-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'packet=dts_time,flags'])).packets as { dts_time: string; flags: string }[];
        expect(first!.flags, `${r.id} segment ${i + 1}`).toMatch(/^K/);
        starts[r.id]!.push(Number(first!.dts_time));
      }
    }
    expect(starts.v0).toEqual([0, 6.006, 12.012]);
    expect(starts.v1).toEqual(starts.v0);
    expect(starts.h0).toEqual(starts.v0);
    expect(result.checks).toEqual({ targetSegmentSeconds: 6, boundariesAligned: true, segmentsStartWithKeyframe: true, segments: 3, maxSegmentSeconds: expect.any(Number) });
  });

  it('groups 2 s GOPs into segments no longer than the target plus a frame, and says so in the playlists', async () => {
    for (const r of [...result.video, ...result.audio]) {
      const m = await playlist(r.playlist);
      const durations = m.segments.map((s) => s.duration);
      expect(durations).toEqual(r.segments.map((s) => Number(s.durationSeconds.toFixed(6))));
      const frame = r.kind === 'video' ? FRAME : 1024 / 48000;
      for (const d of durations) expect(d).toBeLessThanOrEqual(TARGET + frame + 1e-9);
      expect(durations.reduce((a, b) => a + b, 0)).toBeCloseTo(r.kind === 'video' ? 390 * FRAME : SECONDS + 1024 / 48000, 5);
      expect(m.targetDuration).toBe(Math.ceil(Math.max(...durations)));
      expect(m).toMatchObject({ endList: true, playlistType: 'VOD' });
      for (const s of m.segments) expect(s.map?.uri).toBe(`../media/${r.id}/init.mp4`);
    }
    expect(result.video[0]!.segments.map((s) => s.durationSeconds)).toEqual([6.006, 6.006, 1.001]);
    expect(result.checks.maxSegmentSeconds).toBe(Math.max(...[...result.video, ...result.audio].flatMap((r) => r.segments.map((s) => s.durationSeconds))));
  });

  it('decodes init + all segments of each rendition to every frame and packet of its source', async () => {
    for (const r of result.video) {
      const whole = await joined(r, r.segments, 'all');
      const count = async (f: string) => (await streamOf(f, 'nb_read_frames', ['-count_frames'])).nb_read_frames;
      expect(await count(whole), r.id).toBe(await count(sources[r.id]!));
      expect(await count(whole)).toBe('390');
    }
    const a = result.audio[0]!;
    const packets = async (f: string) => (await streamOf(f, 'nb_read_packets', ['-count_packets'])).nb_read_packets;
    expect(await packets(await joined(a, a.segments, 'all'))).toBe(await packets(sources.a0!));
  });

  it('points each I-frame playlist entry at one decodable keyframe, lasting until the next', async () => {
    const r = result.video[0]!;
    const m = await playlist(r.iframePlaylist!);
    expect(m.iFramesOnly).toBe(true);
    expect(m.segments.map((s) => s.duration)).toEqual([2.002, 2.002, 2.002, 2.002, 2.002, 2.002, 1.001]);
    const init = await readFile(path.join(outDir, r.init));
    for (const [i, s] of m.segments.entries()) {
      expect(s.map?.uri).toBe('../media/v0/init.mp4');
      const segment = await readFile(path.join(outDir, 'hls', s.uri));
      const file = path.join(dir, 'joined', `iframe-${i}.mp4`);
      await writeFile(file, Buffer.concat([init, segment.subarray(s.byterange!.offset, s.byterange!.offset + s.byterange!.length)]));
      const frames = (await probe(file, ['-select_streams', 'v:0', '-show_entries', 'frame=key_frame'])).frames as { key_frame: number }[];
      expect(frames.map((f) => f.key_frame), `entry ${i}`).toEqual([1]);
    }
  });
});

describe('packageStreams: manifests', () => {
  it('writes a multivariant playlist m3u8-parser reads, with measured BANDWIDTH and the streams own CODECS', async () => {
    const m = await playlist('hls/main.m3u8');
    const text = await readFile(path.join(outDir, 'hls/main.m3u8'), 'utf8');
    expect(text.split('\n').slice(0, 3)).toEqual(['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']);
    const audio = await measured('a0');
    const audioPeak = rfcPeak(audio.sized, audio.target);
    const audioMean = (audio.sized.reduce((s, x) => s + x.bytes, 0) * 8) / audio.sized.reduce((s, x) => s + x.seconds, 0);
    expect(m.playlists!.map((p) => p.uri)).toEqual(['v0.m3u8', 'v1.m3u8', 'h0.m3u8']);
    for (const [i, p] of m.playlists!.entries()) {
      const r = result.video[i]!;
      const { sized, target } = await measured(r.id);
      const mean = (sized.reduce((s, x) => s + x.bytes, 0) * 8) / sized.reduce((s, x) => s + x.seconds, 0);
      within1(p.attributes.BANDWIDTH, rfcPeak(sized, target) + audioPeak);
      within1(Number(p.attributes['AVERAGE-BANDWIDTH']), mean + audioMean);
      // Full-length segments are judged alone: the peak is at least the busiest of them.
      const full = sized.filter((s) => s.seconds >= target / 2).map((s) => (s.bytes * 8) / s.seconds);
      expect(rfcPeak(sized, target)).toBeGreaterThanOrEqual(Math.max(...full));
      expect(p.attributes.RESOLUTION).toEqual({ width: r.width, height: r.height });
      expect(p.attributes['FRAME-RATE']).toBe(29.97);
      expect(p.attributes.CODECS).toBe(`${r.codecs},mp4a.40.2`);
      expect(p.attributes).toMatchObject({ AUDIO: 'aud-mp4a.40.2-2ch', SUBTITLES: 'subs', 'CLOSED-CAPTIONS': 'NONE' });
    }
    expect(m.mediaGroups!.AUDIO!['aud-mp4a.40.2-2ch']).toEqual({ English: { default: true, autoselect: true, language: 'en', uri: 'a0.m3u8' } });
    expect(text).toContain('CHANNELS="2"');
    expect(m.mediaGroups!.SUBTITLES!.subs).toEqual({ [input.text[0]!.name]: { default: false, autoselect: true, language: 'en', uri: 'en.m3u8', forced: false } });
    expect(m.iFramePlaylists!.map((p) => [p.uri, p.attributes.CODECS])).toEqual(result.video.map((r) => [`${r.id}-iframes.m3u8`, r.codecs]));
    const iframes = await playlist('hls/v0-iframes.m3u8');
    const sized = iframes.segments.map((s) => ({ bytes: s.byterange!.length, seconds: s.duration }));
    within1(m.iFramePlaylists![0]!.attributes.BANDWIDTH, rfcPeak(sized, iframes.targetDuration!));
  });

  it('names each codec as its sample entry and SPS say (RFC 6381)', async () => {
    const [v0, v1, h0] = result.video;
    expect(v0!.codecs).toBe('avc1.64001e');
    expect(await streamOf(sources.v0!, 'profile,level')).toEqual({ profile: 'High', level: 30 });
    expect(await streamOf(sources.v1!, 'profile,level')).toEqual({ profile: 'Main', level: 21 });
    const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    // profile_idc, constraint flags, level_idc follow the SPS NAL header byte.
    expect(v0!.codecs).toBe(`avc1.${hex((await firstSps(sources.v0!, 'h264')).subarray(1, 4))}`);
    expect(v1!.codecs).toBe(`avc1.${hex((await firstSps(sources.v1!, 'h264')).subarray(1, 4))}`);
    expect(v1!.codecs).toMatch(/^avc1\.4d..15$/);
    // HEVC: the SPS's profile_tier_level starts after the 2-byte NAL header and one byte of ids; Main sets compatibility flags 1 and 2 (reversed: 6).
    const sps = await firstSps(sources.h0!, 'hevc');
    const hevc = await streamOf(sources.h0!, 'profile,level,codec_tag_string');
    expect(hevc).toEqual({ profile: 'Main', level: expect.any(Number), codec_tag_string: 'hvc1' });
    const { level } = hevc;
    expect(sps[3]).toBe(0x01);
    expect(sps[14]).toBe(Number(level));
    const constraints = [...sps.subarray(8, 14)];
    while (constraints.at(-1) === 0) constraints.pop();
    expect(h0!.codecs).toBe(['hvc1.1.6', `L${level}`, ...constraints.map((b) => b.toString(16).toUpperCase())].join('.'));
    expect(await streamOf(sources.a0!, 'profile')).toEqual({ profile: 'LC' });
    expect(result.audio[0]!.codecs).toBe('mp4a.40.2');
  });

  it('takes the prefix from the sample entry as written: the same HEVC muxed as hev1 is hev1', async () => {
    const hev1 = await cached(dir, 'h0-hev1.mp4', (tmp) => ffmpeg(['-i', `file:${sources.h0}`, '-c', 'copy', '-tag:v', 'hev1', '-f', 'mp4', tmp]));
    const fragmented = path.join(dir, 'h0-hev1-fragmented.mp4');
    await fragmentTrack('video', hev1, fragmented, 2);
    expect((await readFragmented(fragmented)).codecs).toBe(result.video[2]!.codecs.replace(/^hvc1\./, 'hev1.'));
  });

  it('writes an MPD fast-xml-parser reads, listing every representation with the measured bandwidth', async () => {
    const xml = await readFile(path.join(outDir, 'dash/manifest.mpd'), 'utf8');
    const arrays = new Set(['AdaptationSet', 'Representation', 'S']);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => arrays.has(name) }).parse(xml);
    const mpd = doc.MPD;
    expect(mpd).toMatchObject({ xmlns: 'urn:mpeg:dash:schema:mpd:2011', profiles: 'urn:mpeg:dash:profile:isoff-live:2011', type: 'static', mediaPresentationDuration: 'PT13.021S' });
    expect(mpd.minBufferTime).toMatch(/^PT\d+\.\d{3}S$/);
    const sets = mpd.Period.AdaptationSet as Record<string, any>[];
    expect(sets.map((s) => [s.contentType, s.mimeType, s.lang])).toEqual([
      ['video', 'video/mp4', undefined], ['video', 'video/mp4', undefined], ['audio', 'audio/mp4', 'en'], ['text', 'text/vtt', 'en'],
    ]);
    expect(sets.map((s) => (s.Representation as { id: string }[]).map((r) => r.id))).toEqual([['v0', 'v1'], ['h0'], ['a0'], ['en']]);
    for (const s of sets.slice(0, 3)) expect(s).toMatchObject({ segmentAlignment: 'true', startWithSAP: '1' });
    for (const r of [...result.video, ...result.audio]) {
      const rep = sets.flatMap((s) => s.Representation as Record<string, any>[]).find((x) => x.id === r.id)!;
      const { sized, target } = await measured(r.id);
      within1(Number(rep.bandwidth), rfcPeak(sized, target));
      expect(rep.codecs).toBe(r.codecs);
      const t = rep.SegmentTemplate;
      expect(t).toMatchObject({ timescale: String(r.timescale), initialization: `../media/${r.id}/init.mp4`, media: `../media/${r.id}/seg-$Number%05d$.m4s`, startNumber: '1' });
      // Expand the timeline: the segments' start and duration ticks, as many as there are files.
      let at = 0;
      const expanded = (t.SegmentTimeline.S as { t?: string; d: string; r?: string }[]).flatMap((s) => {
        at = s.t !== undefined ? Number(s.t) : at;
        return Array.from({ length: Number(s.r ?? 0) + 1 }, () => ((at += Number(s.d)), [at - Number(s.d), Number(s.d)]));
      });
      expect(expanded.map(([start, d]) => [start! / r.timescale, d! / r.timescale])).toEqual(r.segments.map((s) => [s.startSeconds, s.durationSeconds]));
      if (r.kind === 'video') expect(rep).toMatchObject({ width: String(r.width), height: String(r.height), frameRate: '30000/1001' });
      else expect(rep.AudioChannelConfiguration).toEqual({ schemeIdUri: 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011', value: '2' });
    }
    expect(sets[3]!.Representation[0].BaseURL).toBe('../media/text/en.vtt');
    expect(sets[3]!.Label).toBe(input.text[0]!.name);
    expect(xml).toContain('English &lt;CC&gt; &amp; more');
  });

  it('gives the subtitles a one-segment playlist over the whole presentation', async () => {
    const m = await playlist('hls/en.m3u8');
    expect(m.segments).toEqual([expect.objectContaining({ uri: '../media/text/en.vtt' })]);
    expect(m.segments[0]!.duration).toBeCloseTo(SECONDS + 1024 / 48000, 5);
    expect(m.targetDuration).toBeGreaterThanOrEqual(m.segments[0]!.duration);
  });
});

describe('packageStreams: re-runs and refusals', () => {
  it('replaces the media, hls and dash subtrees on a re-run, byte for byte, and leaves the rest of outDir alone', async () => {
    const before = await readFile(path.join(outDir, 'dash/manifest.mpd'), 'utf8');
    const segment = await readFile(path.join(outDir, 'media/v0/seg-00002.m4s'));
    await writeFile(path.join(outDir, 'hls', 'stale.m3u8'), '#EXTM3U\n');
    await mkdir(path.join(outDir, 'media', 'gone'), { recursive: true });
    await writeFile(path.join(outDir, 'report.json'), '{}');
    const again = await packageStreams(input, { outDir, segmentSeconds: TARGET, gopSeconds: 2 });
    expect(again).toEqual(result);
    expect(await readFile(path.join(outDir, 'dash/manifest.mpd'), 'utf8')).toBe(before);
    expect((await readFile(path.join(outDir, 'media/v0/seg-00002.m4s'))).equals(segment)).toBe(true);
    expect(await readdir(path.join(outDir, 'hls'))).not.toContain('stale.m3u8');
    expect(await readdir(path.join(outDir, 'media'))).not.toContain('gone');
    expect((await readdir(outDir)).sort()).toEqual(['dash', 'hls', 'media', 'report.json']);
  });

  it('refuses a rung whose GOPs put its segment boundaries elsewhere, naming it and the time, and keeps the old package', async () => {
    const bad = await h264('bad', '320x180', 'main', '2.1', 50);
    const e = await expectVpipeError(packageStreams({ ...input, video: [...input.video, { id: 'bad', path: bad }] }, { outDir, segmentSeconds: TARGET, gopSeconds: 2 }), ErrorCodes.ValidationFailed);
    expect(e.message).toMatch(/^video bad: segment 1 \(at 0\.000 s\) lasts 6\.673 s/);
    expect(e.details!.map((d) => d.message)).toContainEqual(expect.stringMatching(/^video bad: segment 2 starts at 6\.673 s, but video v0's starts at 6\.006 s: segment boundaries are not aligned/));
    expect(await readFile(path.join(outDir, 'hls/main.m3u8'), 'utf8')).toContain('v0.m3u8');
    expect((await readdir(outDir)).sort()).toEqual(['dash', 'hls', 'media', 'report.json']);
  });

  it('refuses ids, names and options the layout or the playlists cannot hold, before running anything', async () => {
    const opts = { outDir, segmentSeconds: TARGET, gopSeconds: 2 };
    const a0 = input.audio[0]!;
    const cases: [PackageInput, RegExp][] = [
      [{ ...input, video: [{ id: 'V0', path: sources.v0! }] }, /id "V0"/],
      [{ ...input, audio: [{ ...a0, id: 'v0' }] }, /"v0" is used twice/],
      [{ ...input, audio: [{ ...a0, id: 'text' }] }, /"text" is used twice \(or is reserved\)/],
      [{ ...input, text: [{ ...input.text[0]!, id: 'v0-iframes' }] }, /"v0-iframes" is used twice/],
      [{ ...input, audio: [{ ...a0, name: 'Eng"lish' }] }, /cannot go into an HLS playlist/],
      [{ ...input, audio: [{ ...a0, language: 'en\nx' }] }, /cannot go into an HLS playlist/],
      [{ ...input, video: [] }, /no video/],
    ];
    for (const [bad, message] of cases) expect((await expectVpipeError(packageStreams(bad, opts), ErrorCodes.BadRequest)).message).toMatch(message);
    await expectVpipeError(packageStreams(input, { ...opts, segmentSeconds: 5 }), ErrorCodes.BadRequest);
    await expectVpipeError(packageStreams(input, { ...opts, outDir: 'relative' }), ErrorCodes.BadRequest);
    const aborted = AbortSignal.abort();
    await expectVpipeError(packageStreams(input, { ...opts, signal: aborted }), ErrorCodes.Cancelled);
    expect(await readFile(path.join(outDir, 'hls/main.m3u8'), 'utf8')).toContain('v0.m3u8');
  });
});

describe('frameRate', () => {
  const frags = (...durations: [ticks: number, count: number][]) => [{ sampleDurations: new Map(durations) }] as unknown as Parameters<typeof frameRate>[0];
  it('is the mean over the samples, snapped to the nearest standard rate within 0.05 %', () => {
    // 24 fps in a millisecond time base (WebM, then VES keeping the source's times): frames of 42, 42, 41 ms.
    expect(frameRate(frags([42, 128], [41, 64]), 1000)).toEqual({ num: 24, den: 1 });
    expect(frameRate(frags([3003, 300]), 90_000)).toEqual({ num: 30000, den: 1001 });
    // A last frame of another length does not move it off 25.
    expect(frameRate(frags([512, 249], [1024, 1]), 12_800)).toEqual({ num: 25, den: 1 });
    // Not a standard rate: the exact fraction.
    expect(frameRate(frags([80, 100]), 1000)).toEqual({ num: 25, den: 2 });
  });
});

describe('bitRates', () => {
  it('judges a short last segment together with its neighbour, not alone', () => {
    const r = bitRates([{ bytes: 600_000, seconds: 6 }, { bytes: 600_000, seconds: 6 }, { bytes: 100_000, seconds: 0.5 }], 6);
    expect(r.peak).toBe(Math.ceil((700_000 * 8) / 6.5));
    expect(r.average).toBe(Math.ceil((1_300_000 * 8) / 12.5));
    expect(bitRates([{ bytes: 1000, seconds: 1 }], 6)).toEqual({ peak: 8000, average: 8000 });
  });
});

describe('codecsString on hand-built configuration boxes', () => {
  const box = (...bytes: number[]) => Buffer.from(bytes);

  it('reads avcC: profile, constraint flags and level in hex', () => {
    expect(codecsString('avc1', box(1, 0x64, 0x00, 0x1f, 0xff, 0xe1))).toBe('avc1.64001f');
    expect(codecsString('avc3', box(1, 0x42, 0xc0, 0x1e, 0xff, 0xe1))).toBe('avc3.42c01e');
  });

  it('reads hvcC per ISO/IEC 14496-15 Annex E, prefixed with the sample entry', () => {
    // Main, Main tier, compatibility flags 1 and 2, progressive/non-packed/frame-only, level 3.1 (93).
    const main = box(1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93);
    expect(codecsString('hvc1', main)).toBe('hvc1.1.6.L93.B0');
    expect(codecsString('hev1', main)).toBe('hev1.1.6.L93.B0');
    // Main 10, High tier, flag 2, level 4 (120), a constraint byte after a zero one.
    expect(codecsString('hvc1', box(1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0x08, 0, 0, 0, 120))).toBe('hvc1.2.4.H120.90.0.8');
    // profile_space 1 is spelled A.
    expect(codecsString('hvc1', box(1, 0x41, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60))).toBe('hvc1.A1.2.L60');
  });

  it('reads av1C and vpcC', () => {
    expect(codecsString('av01', box(0x81, 0x04, 0x00, 0))).toBe('av01.0.04M.08');
    expect(codecsString('av01', box(0x81, 0x08, 0xc0, 0))).toBe('av01.0.08H.10');
    expect(codecsString('av01', box(0x81, 0x4d, 0x60, 0))).toBe('av01.2.13M.12');
    expect(codecsString('vp09', box(1, 0, 0, 0, 0, 31, 0x80, 1, 1, 1, 0, 0))).toBe('vp09.00.31.08');
    expect(codecsString('vp09', box(1, 0, 0, 0, 2, 41, 0xa0, 9, 16, 9, 0, 0))).toBe('vp09.02.41.10');
  });

  /** An esds body: version/flags, ES_Descriptor > DecoderConfigDescriptor > DecoderSpecificInfo, sizes spelled in 4 bytes as ffmpeg writes them. */
  const esds = (oti: number, asc: number[], esFlags = 0, extra: number[] = []) => {
    const size = (n: number) => [0x80, 0x80, 0x80, n];
    const dsi = [0x05, ...size(asc.length), ...asc];
    const dcd = [0x04, ...size(13 + dsi.length), oti, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...dsi];
    const es = [0, 1, esFlags, ...extra, ...dcd];
    return box(0, 0, 0, 0, 0x03, ...size(es.length), ...es);
  };

  it('reads esds: the object type indication and the AudioSpecificConfig object type', () => {
    expect(codecsString('mp4a', esds(0x40, [0x11, 0x90]))).toBe('mp4a.40.2');
    expect(codecsString('mp4a', esds(0x40, [0x2b, 0x92, 0x08]))).toBe('mp4a.40.5');
    // Object type 42 (USAC) needs the escape: 31, then 6 more bits (42 - 32 = 10).
    expect(codecsString('mp4a', esds(0x40, [0xf9, 0x40]))).toBe('mp4a.40.42');
    // A dependsOn id and a URL before the DecoderConfigDescriptor.
    expect(codecsString('mp4a', esds(0x40, [0x11, 0x90], 0xc0, [0, 7, 2, 0x61, 0x62]))).toBe('mp4a.40.2');
    expect(codecsString('mp4a', esds(0x6b, []))).toBe('mp4a.6b');
  });

  it('refuses a sample entry it cannot name', () => {
    expect(() => codecsString('ac-3', box(0))).toThrow(/sample entry "ac-3"/);
    expect(() => codecsString('avc1', box(1, 0x64))).toThrow(/avcC is 2 bytes/);
  });
});
