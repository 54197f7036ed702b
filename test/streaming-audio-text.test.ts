/**
 * The streaming job's audio and timed-text steps against real ffmpeg on
 * generated media. Every claim is checked with the test's own ffprobe/ffmpeg
 * passes (ebur128, astats, band filters), never with the step's measurements.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAudioRendition, planAudio, type AudioPlan } from '../actors/streaming/compute/audio.js';
import { extractText, probeTextStreams, sidecarToText } from '../actors/streaming/compute/text.js';
import { ErrorCodes } from '../runtime/core/errors.js';
import { runTool } from '../runtime/media/tools.js';
import { AUDIO_DEFAULTS, LOUDNESS_DEFAULTS } from '../schemas/streaming.js';
import { expectVpipeError } from './helpers/errors.js';
import { cached, ffmpeg, pseudoRandomBytes } from './helpers/media.js';

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const video = (seconds: number) => ['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${seconds}`];
const tone = (f: number, volume: number, seconds: number) => `sine=frequency=${f}:sample_rate=48000:duration=${seconds},volume=${volume}`;
const silence = (seconds: number) => `anullsrc=r=48000:cl=mono,atrim=duration=${seconds}`;
const LAYOUTS = { '5.1': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'], '5.1(side)': ['FL', 'FR', 'FC', 'LFE', 'SL', 'SR'] };
/** Six mono sources as the layout's channels, in its order (an explicit map: unmapped, join gives every mono input, an FC, to FC first). */
const surround = (layout: keyof typeof LAYOUTS, channels: string[]) =>
  `${channels.map((c, i) => `${c}[c${i}]`).join(';')};${channels.map((_, i) => `[c${i}]`).join('')}join=inputs=6:channel_layout=${layout}:map=${LAYOUTS[layout].map((name, i) => `${i}.0-${name}`).join('|')}`;

const MAIN_SECONDS = 6;
const MAIN_CUES = [
  [0.5, 1.5, 'One'],
  [2.25, 3.125, 'Two'],
  [4, 5.75, 'Three'],
] as const;
const AAC_FRAME_SECONDS = 1024 / 48_000;

let dir: string;
const src: Record<'main' | 'center' | 'late' | 'early' | 'quiet' | 'shifted', string> = { main: '', center: '', late: '', early: '', quiet: '', shifted: '' };

function srt(cues: readonly (readonly [number, number, string])[]): string {
  const ts = (s: number) => new Date(s * 1000).toISOString().slice(11, 23).replace('.', ',');
  return cues.map(([a, b, t], i) => `${i + 1}\n${ts(a)} --> ${ts(b)}\n${t}\n`).join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vpipe-streaming-audio-text-'));
  const subs = path.join(dir, 'main.srt');
  await writeFile(subs, srt(MAIN_CUES));
  const made = await Promise.all([
    // 5.1 (back) at about −35 LUFS, a different tone and level per channel; a stereo stream tagged fre; mov_text tagged eng.
    cached(dir, 'main.mp4', (tmp) =>
      ffmpeg([
        ...video(MAIN_SECONDS),
        '-f', 'lavfi', '-i', surround('5.1', [tone(300, 0.08, 6), tone(500, 0.08, 6), tone(700, 0.16, 6), tone(60, 0.3, 6), tone(900, 0.05, 6), tone(1100, 0.05, 6)]),
        '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=6,volume=0.2,pan=stereo|c0=c0|c1=0.5*c0`,
        '-i', subs,
        '-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:s', ...X264, '-c:a', 'aac', '-b:a', '192k', '-c:s', 'mov_text',
        '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fre', '-metadata:s:s:0', 'language=eng', '-f', 'mp4', tmp,
      ]),
    ),
    // 5.1(side): a 500 Hz centre, a 40 Hz LFE, a 4 kHz left surround, the rest silent.
    cached(dir, 'center.mkv', (tmp) =>
      ffmpeg(['-f', 'lavfi', '-i', surround('5.1(side)', [silence(3), silence(3), tone(500, 0.1, 3), tone(40, 0.5, 3), tone(4000, 0.1, 3), silence(3)]), '-c:a', 'flac', '-f', 'matroska', tmp]),
    ),
    // The audio starts 0.5 s after the video.
    cached(dir, 'late.mp4', (tmp) =>
      ffmpeg([...video(3), '-itsoffset', '0.5', '-f', 'lavfi', '-i', tone(440, 0.3, 2.5), '-map', '0:v', '-map', '1:a', ...X264, '-c:a', 'aac', '-f', 'mp4', tmp]),
    ),
    // The video starts 0.5 s into the audio, which is 1 kHz until then and 3 kHz after.
    cached(dir, 'early.mkv', (tmp) =>
      ffmpeg(['-itsoffset', '0.5', ...video(3), '-f', 'lavfi', '-i', 'aevalsrc=0.1*sin(2*PI*if(lt(t\\,0.5)\\,1000\\,3000)*t):s=48000:d=3.5', '-map', '0:v', '-map', '1:a', ...X264, '-c:a', 'flac', '-f', 'matroska', tmp]),
    ),
    // Mono, below the −70 LUFS absolute gate.
    cached(dir, 'quiet.mkv', (tmp) => ffmpeg(['-f', 'lavfi', '-i', tone(1000, 0.002, 2), '-c:a', 'flac', '-f', 'matroska', tmp])),
    // The video starts at 1 s; a SubRip stream (copied: ffmpeg's SubRip decoder would rewrite the markup) with cues before and across the video's start.
    cached(dir, 'shifted.mkv', async (tmp) => {
      const shiftSubs = path.join(dir, 'shifted.srt');
      await writeFile(shiftSubs, srt([[0.2, 0.8, 'Gone'], [0.5, 1.5, 'Clamped'], [2.25, 3.125, 'Shifted <b>bold</b> & a < b --> c\n{\\an8}Top <font color="red">red</font>']]));
      await ffmpeg(['-itsoffset', '1', ...video(3), '-i', shiftSubs, '-map', '0:v', '-map', '1:s', ...X264, '-c:s', 'copy', '-metadata:s:s:0', 'language=ger', '-disposition:s:0', 'default+forced', '-f', 'matroska', tmp]);
    }),
  ]);
  (['main', 'center', 'late', 'early', 'quiet', 'shifted'] as const).forEach((k, i) => (src[k] = made[i]!));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---- the test's own measurements ----

async function probeAudio(file: string): Promise<{ codec_name: string; profile: string; channels: number; sample_rate: string; duration: string; tags?: { language?: string } }[]> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=codec_name,profile,channels,sample_rate,duration:stream_tags=language', '-of', 'json', file]);
  return (JSON.parse(r.stdout) as { streams: never[] }).streams;
}

async function startTime(file: string, stream: string): Promise<number> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file]);
  return Number(r.stdout.trim());
}

/** BS.1770 by ffmpeg's ebur128 (true peak 4× oversampled), read from its summary. */
async function ebur128(file: string): Promise<{ i: number; tp: number }> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-af', 'ebur128=peak=true:framelog=verbose', '-f', 'null', '-']);
  const i = /I:\s+(-?[\d.]+) LUFS/.exec(r.stderr.slice(r.stderr.lastIndexOf('Summary:')));
  const tp = /Peak:\s+(-?[\d.]+) dBFS/.exec(r.stderr.slice(r.stderr.lastIndexOf('Summary:')));
  if (!i || !tp) throw new Error(`no ebur128 summary: ${r.stderr.slice(-400)}`);
  return { i: Number(i[1]), tp: Number(tp[1]) };
}

/** RMS (dB) of each channel after `filters` (astats, per channel). */
async function channelRms(file: string, filters: string): Promise<number[]> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-af', `${filters},astats=measure_perchannel=RMS_level:measure_overall=none`, '-f', 'null', '-']);
  const levels = [...r.stderr.matchAll(/RMS level dB: (-?[\d.]+|-inf)/g)].map((m) => (m[1] === '-inf' ? -Infinity : Number(m[1])));
  if (levels.length === 0) throw new Error(`no astats output: ${r.stderr.slice(-400)}`);
  return levels;
}

/** A narrow band around `f` Hz (two band-passes in a row: steep enough to keep the other tones ~60 dB out). */
const band = (f: number) => `bandpass=f=${f}:width_type=q:width=4,bandpass=f=${f}:width_type=q:width=4`;

const encode = (source: string, plan: AudioPlan, out: string, extra: { videoStartSeconds?: number; durationSeconds: number }) =>
  encodeAudioRendition(source, plan, path.join(dir, out), {
    target: LOUDNESS_DEFAULTS,
    bitrateKbps: AUDIO_DEFAULTS.bitrateKbps,
    sampleRate: AUDIO_DEFAULTS.sampleRate,
    videoStartSeconds: extra.videoStartSeconds ?? 0,
    durationSeconds: extra.durationSeconds,
  });

describe('planAudio', () => {
  it('makes one rendition per source stream, languages from the tags, numbered names, the first default', () => {
    const plans = planAudio([
      { index: 1, language: 'eng', channels: 6, layout: '5.1', codec: 'aac' },
      { index: 2, language: 'fre', channels: 2, layout: 'stereo', codec: 'aac' },
      { index: 3, language: 'eng', channels: 2, layout: 'stereo', codec: 'ac3' },
      { index: 4, language: null, channels: 1, layout: 'mono', codec: 'aac' },
      { index: 5, language: 'not a tag!', channels: 2, layout: null, codec: 'opus' },
    ]);
    expect(plans).toEqual([
      { id: 'a0', sourceStream: 1, language: 'eng', name: 'English', default: true, sourceChannels: 6 },
      { id: 'a1', sourceStream: 2, language: 'fre', name: 'French', default: false, sourceChannels: 2 },
      { id: 'a2', sourceStream: 3, language: 'eng', name: 'English 2', default: false, sourceChannels: 2 },
      { id: 'a3', sourceStream: 4, language: 'und', name: 'Unknown language', default: false, sourceChannels: 1 },
      { id: 'a4', sourceStream: 5, language: 'und', name: 'Unknown language 2', default: false, sourceChannels: 2 },
    ]);
    for (const p of plans) expect(p.id).toMatch(/^[a-z0-9_-]+$/);
  });
});

describe('encodeAudioRendition', () => {
  const mainPlans = () => planAudio([
    { index: 1, language: 'eng', channels: 6, layout: '5.1', codec: 'aac' },
    { index: 2, language: 'fre', channels: 2, layout: 'stereo', codec: 'aac' },
  ]);

  it('normalises a quiet 5.1 stream and a stereo stream to −23 LUFS AAC-LC stereo 48 kHz, exactly the video long', async () => {
    const plans = mainPlans();
    expect(plans.map((p) => p.language)).toEqual(['eng', 'fre']);
    for (const plan of plans) {
      const r = await encode(src.main, plan, `${plan.id}.m4a`, { durationSeconds: MAIN_SECONDS });
      const [stream, ...more] = await probeAudio(r.path);
      expect(more).toEqual([]);
      expect(stream).toMatchObject({ codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000', tags: { language: plan.language } });
      expect(Math.abs(Number(stream!.duration) - MAIN_SECONDS)).toBeLessThanOrEqual(AAC_FRAME_SECONDS);

      const own = await ebur128(r.path);
      expect(Math.abs(own.i - LOUDNESS_DEFAULTS.integratedLufs)).toBeLessThanOrEqual(1);
      expect(own.tp).toBeLessThanOrEqual(LOUDNESS_DEFAULTS.truePeakDb + 0.5);
      // What the step reports agrees with the test's measurement.
      expect(Math.abs(r.output.integratedLufs - own.i)).toBeLessThanOrEqual(0.2);
      expect(r).toMatchObject({ channels: 2, normalization: 'linear' });
      expect(r.note).toBeUndefined();
      if (plan.id === 'a0') expect(r.input.integratedLufs).toBeLessThan(-33);
      console.log(`${plan.id} (${plan.sourceChannels} ch): source ${r.input.integratedLufs} LUFS / ${r.input.truePeakDb} dBTP -> output ${own.i} LUFS / ${own.tp} dBTP (ebur128), ${stream!.duration} s`);
    }
  }, 120_000);

  it('downmixes 5.1(side) by BS.775: the centre in both sides, a surround on its own side, no LFE', async () => {
    const [plan] = planAudio([{ index: 0, language: 'eng', channels: 6, layout: '5.1(side)', codec: 'flac' }]);
    const r = await encode(src.center, plan!, 'center.m4a', { durationSeconds: 3 });
    const [centreL, centreR] = await channelRms(r.path, band(500));
    const [surroundL, surroundR] = await channelRms(r.path, band(4000));
    const [lfeL, lfeR] = await channelRms(r.path, band(40));
    console.log(`downmix: 500 Hz centre L ${centreL} R ${centreR}; 4 kHz SL L ${surroundL} R ${surroundR}; 40 Hz LFE L ${lfeL} R ${lfeR} (dB RMS)`);
    expect(Math.abs(centreL! - centreR!)).toBeLessThan(0.5);
    // Both at −3 dB in the downmix: the same level as the centre on each side.
    expect(Math.abs(surroundL! - centreL!)).toBeLessThan(1);
    expect(surroundR!).toBeLessThan(surroundL! - 40);
    // The LFE tone was 14 dB above the centre's in the source; in the output it is ≥ 40 dB below.
    expect(Math.max(lfeL!, lfeR!)).toBeLessThan(centreL! - 40);
  }, 60_000);

  it('pads the front with silence when the audio starts 0.5 s after the video', async () => {
    expect(await startTime(src.late, 'a:0')).toBeGreaterThan(0.45);
    const [plan] = planAudio([{ index: 1, language: null, channels: 1, layout: 'mono', codec: 'aac' }]);
    const r = await encode(src.late, plan!, 'late.m4a', { videoStartSeconds: await startTime(src.late, 'v:0'), durationSeconds: 3 });
    const lead = Math.max(...(await channelRms(r.path, 'atrim=end=0.4')));
    const after = Math.min(...(await channelRms(r.path, 'atrim=start=0.55:end=1.5')));
    console.log(`late audio: 0-0.4 s RMS ${lead} dB, 0.55-1.5 s RMS ${after} dB`);
    expect(lead).toBeLessThan(-80);
    expect(after).toBeGreaterThan(-40);
    const [stream] = await probeAudio(r.path);
    expect(Math.abs(Number(stream!.duration) - 3)).toBeLessThanOrEqual(AAC_FRAME_SECONDS);
  }, 60_000);

  it('cuts the front when the audio starts 0.5 s before the video', async () => {
    const videoStart = await startTime(src.early, 'v:0');
    expect(videoStart).toBe(0.5);
    const [plan] = planAudio([{ index: 1, language: null, channels: 1, layout: 'mono', codec: 'flac' }]);
    const r = await encode(src.early, plan!, 'early.m4a', { videoStartSeconds: videoStart, durationSeconds: 3 });
    const [before] = await channelRms(r.path, `atrim=end=0.4,${band(1000)}`);
    const [after] = await channelRms(r.path, `atrim=end=0.4,${band(3000)}`);
    console.log(`early audio: 0-0.4 s, 1 kHz (before the video) ${before} dB, 3 kHz (after) ${after} dB`);
    // A cut even 1 ms short would leave the 1 kHz tone within ~26 dB of the 3 kHz one over this window.
    expect(before!).toBeLessThan(after! - 30);
    const [stream] = await probeAudio(r.path);
    expect(Math.abs(Number(stream!.duration) - 3)).toBeLessThanOrEqual(AAC_FRAME_SECONDS);
  }, 60_000);

  it('refuses to keep a rendition that misses the target by more than 1 LU', async () => {
    const [plan] = planAudio([{ index: 0, language: 'eng', channels: 6, layout: '5.1(side)', codec: 'flac' }]);
    const out = path.join(dir, 'unreachable.m4a');
    // −5 LUFS under a −9 dBTP ceiling: a tone's loudness sits ~3 dB under its peak, so the limiter stops it near −12.
    const e = await expectVpipeError(
      encodeAudioRendition(src.center, plan!, out, { target: { integratedLufs: -5, truePeakDb: -9, lra: 11 }, bitrateKbps: 128, sampleRate: 48_000, videoStartSeconds: 0, durationSeconds: 3 }),
      ErrorCodes.ValidationFailed,
    );
    console.log(`unreachable target: ${e.message}`);
    expect(e.message).toMatch(/not within 1 LU of the -5 LUFS target/);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('passes a near-silent mono source through without gain, to both sides, and says so', async () => {
    const [plan] = planAudio([{ index: 0, language: 'eng', channels: 1, layout: 'mono', codec: 'flac' }]);
    const r = await encode(src.quiet, plan!, 'quiet.m4a', { durationSeconds: 2 });
    expect(r.normalization).toBe('none');
    expect(r.note).toMatch(/near-silent/);
    expect(r.input.integratedLufs).toBeLessThanOrEqual(-70);
    expect(Number.isFinite(r.output.truePeakDb)).toBe(true);
    const [source] = await channelRms(src.quiet, 'anull');
    const [left, right] = await channelRms(r.path, 'anull');
    console.log(`near-silent: source ${source} dB RMS -> L ${left} R ${right}`);
    // Mono to both sides at −3 dB each, and nothing else changed.
    expect(Math.abs(left! - (source! - 3))).toBeLessThan(1);
    expect(Math.abs(right! - left!)).toBeLessThan(0.1);
  }, 60_000);
});

/** Cues of a WebVTT file as [start s, end s, text], with the test's own parser. */
function cuesOf(vtt: string): [number, number, string][] {
  const secs = (t: string) => t.split(':').reduce((acc, x) => acc * 60 + Number(x), 0);
  return vtt
    .split(/\n\n+/)
    .map((b) => /^(\S+) --> (\S+)[^\n]*\n([\s\S]*)$/.exec(b.trim()))
    .filter((m) => m !== null)
    .map((m) => [secs(m[1]!), secs(m[2]!), m[3]!]);
}

function expectCues(actual: [number, number, string][], expected: readonly (readonly [number, number, string])[]): void {
  expect(actual.map((c) => c[2])).toEqual(expected.map((c) => c[2]));
  actual.forEach(([a, b], i) => {
    expect(Math.abs(a - expected[i]![0])).toBeLessThanOrEqual(0.001);
    expect(Math.abs(b - expected[i]![1])).toBeLessThanOrEqual(0.001);
  });
}

describe('text', () => {
  it('probes the subtitle streams with language and dispositions', async () => {
    // ffmpeg's mp4 muxer marks the first track of each kind enabled, which reads back as default.
    expect(await probeTextStreams(src.main)).toEqual([{ index: 3, codec: 'mov_text', language: 'eng', title: null, default: true, forced: false, convertible: true }]);
    expect(await probeTextStreams(src.shifted)).toEqual([{ index: 1, codec: 'subrip', language: 'ger', title: null, default: true, forced: true, convertible: true }]);
    expect(await probeTextStreams(src.center)).toEqual([]);
  });

  it('extracts a mov_text stream as WebVTT with its cue times', async () => {
    const out = path.join(dir, 'main.vtt');
    const r = await extractText(src.main, 3, out, { videoStartSeconds: await startTime(src.main, 'v:0') });
    expect(r).toEqual({ path: out, cues: 3 });
    const vtt = await readFile(out, 'utf8');
    expect(vtt.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n')).toBe(true);
    expectCues(cuesOf(vtt), MAIN_CUES);
  });

  it('moves cue times so 0 is the first video frame, escapes text markup WebVTT would misread, keeps b/i/u', async () => {
    const videoStart = await startTime(src.shifted, 'v:0');
    expect(videoStart).toBe(1);
    const out = path.join(dir, 'shifted.vtt');
    const r = await extractText(src.shifted, 1, out, { videoStartSeconds: videoStart });
    // "Gone" ended before the first frame; "Clamped" straddled it.
    expect(r.cues).toBe(2);
    expectCues(cuesOf(await readFile(out, 'utf8')), [
      [0, 0.5, 'Clamped'],
      [1.25, 2.125, 'Shifted <b>bold</b> &amp; a &lt; b --&gt; c\nTop red'],
    ]);
  });

  it('refuses a stream that is not a subtitle stream', async () => {
    await expectVpipeError(extractText(src.main, 1, path.join(dir, 'no.vtt'), { videoStartSeconds: 0 }), ErrorCodes.BadRequest);
  });

  it('converts SRT and WebVTT sidecars, by content rather than name', async () => {
    const srtFile = path.join(dir, 'side.vtt');
    await writeFile(srtFile, '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> <font color="#fff">you</font> & <script>\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nBye\r\n\r\nstill bye\r\n');
    const fromSrt = await sidecarToText(srtFile, path.join(dir, 'side-srt.vtt'));
    expect(fromSrt.cues).toBe(2);
    expectCues(cuesOf(await readFile(fromSrt.path, 'utf8')), [
      [1, 2.5, '<i>Hello</i> you &amp; &lt;script&gt;'],
      [3, 4, 'Bye\nstill bye'],
    ]);

    const vttFile = path.join(dir, 'side.srt.txt');
    await writeFile(
      vttFile,
      [
        'WEBVTT - authored', '', 'STYLE', '::cue { color: yellow }', '', 'NOTE a note', '',
        'cue-1', '00:01.000 --> 00:02.000 align:start region:r1', 'Fish &amp; chips <c.yellow>here</c> <v Bob>hi</v> a < b', '',
        '01:00:00.000 --> 01:00:01.000', 'An hour in', '',
        '00:00.500 --> 00:00.900', 'Out of order', '',
      ].join('\n'),
    );
    const fromVtt = await sidecarToText(vttFile, path.join(dir, 'side-vtt.vtt'));
    expect(fromVtt.cues).toBe(3);
    const vtt = await readFile(fromVtt.path, 'utf8');
    expect(vtt).toContain('00:00:01.000 --> 00:00:02.000 align:start\n');
    expectCues(cuesOf(vtt), [
      [0.5, 0.9, 'Out of order'],
      [1, 2, 'Fish &amp; chips <c.yellow>here</c> <v Bob>hi</v> a &lt; b'],
      [3600, 3601, 'An hour in'],
    ]);
  });

  it('refuses binary data, a .srt that is not SubRip, and broken cues with BAD_REQUEST naming the file', async () => {
    const garbage = path.join(dir, 'garbage.srt');
    await writeFile(garbage, pseudoRandomBytes(4096, 3));
    const notSrt = path.join(dir, 'styles.srt');
    await writeFile(notSrt, '[Script Info]\nScriptType: v4.00+\n\n[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hello\n');
    const backwards = path.join(dir, 'backwards.srt');
    await writeFile(backwards, '1\n00:00:02,000 --> 00:00:01,000\nBackwards\n');
    const broken = path.join(dir, 'broken.srt');
    await writeFile(broken, '1\n00:00:01,000 --> 00:00:02,000\nFine\n\n2\n00:00:3x,500 --> 00:00:04,000\nBroken\n');
    const empty = path.join(dir, 'empty.vtt');
    await writeFile(empty, 'WEBVTT\n\nNOTE nothing else\n');
    const headerless = path.join(dir, 'headerless.vtt');
    await writeFile(headerless, 'WEBVTT\n00:00.000 --> 00:01.000\nLost\n');
    const cases = [[garbage, /NUL|UTF-8/], [notSrt, /neither SubRip nor WebVTT/], [backwards, /ends before it starts/], [broken, /malformed/], [empty, /no cues/], [headerless, /blank line/]] as const;
    for (const [file, why] of cases) {
      const e = await expectVpipeError(sidecarToText(file, path.join(dir, 'refused.vtt')), ErrorCodes.BadRequest);
      expect(e.message).toContain(`"${path.basename(file)}"`);
      expect(e.message).toMatch(why);
    }
  });
});
