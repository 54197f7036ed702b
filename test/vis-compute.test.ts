/**
 * The VIS inspection functions against real ffmpeg on generated media, the
 * pure analysis rules on edited probe data, and runTool's safety guarantees.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, describePixelFormat, frameRateMode, type InspectInput, probe, type ProbeData, scan, type ScanData, timingStats } from '../actors/vis/compute/index.js';
import { ErrorCodes, VpipeError } from '../runtime/core/errors.js';
import { configureTools } from '../runtime/media/tool-limits.js';
import { inputArgs, runTool, toolVersion } from '../runtime/media/tools.js';
import { loadConfig } from '../schemas/config.js';
import { InspectResult } from '../schemas/vis.js';
import * as media from './helpers/media.js';
import { expectVpipeError } from './helpers/errors.js';

let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vpipe-vis-compute-'));
  const truncated = await media.makeTruncated(dir);
  Object.assign(files, { truncatedTs: truncated.ts, truncatedMkv: truncated.mkv, moovLost: truncated.moovLost });
  const made = await Promise.all([
    media.makeCfr(dir), media.makeNtscCfr(dir), media.makeVfr(dir), media.makeVfr(dir, 'mp4'), media.makeInterlaced(dir),
    media.make10bit(dir), media.makeOddSize(dir), media.makeAudioOnly(dir), media.makeCorrupt(dir), media.makeGarbage(dir),
    media.makeImageSequence(dir), media.makeHdr10(dir), media.makeRotated(dir), media.makeLong(dir, 14),
  ]);
  const names = ['cfr', 'ntsc', 'vfrMkv', 'vfrMp4', 'interlaced', 'tenBit', 'odd', 'audio', 'corrupt', 'garbage', 'sequence', 'hdr10', 'rotated', 'long'];
  names.forEach((n, i) => (files[n] = made[i]!));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Inspected {
  probe: ProbeData;
  scan: ScanData;
  result: InspectResult;
}

/** Runs the three steps with a JSON round trip between them, as the workflow's snapshots do. */
async function inspect(file: string, extra: Partial<InspectInput> = {}): Promise<Inspected> {
  const input: InspectInput = { path: file, uri: `media://${path.basename(file)}`, ...extra };
  const p = await probe(input);
  expect(JSON.parse(JSON.stringify(p))).toStrictEqual(p);
  const s = await scan(input, JSON.parse(JSON.stringify(p)) as ProbeData);
  expect(JSON.parse(JSON.stringify(s))).toStrictEqual(s);
  const result = InspectResult.parse(analyse(input, JSON.parse(JSON.stringify(p)), JSON.parse(JSON.stringify(s))));
  return { probe: p, scan: s, result };
}

const memo = new Map<string, Promise<Inspected>>();
const inspected = (name: string): Promise<Inspected> => {
  let p = memo.get(name);
  if (!p) memo.set(name, (p = inspect(files[name]!)));
  return p;
};
const codes = (r: InspectResult) => r.issues.map((i) => i.code);


describe('inspecting generated media', () => {
  it('reports a 2 s 25 fps MP4 as 50 progressive CFR frames with clean results', async () => {
    const { result } = await inspected('cfr');
    const v = result.video[0]!;
    expect(v).toMatchObject({
      codec: 'h264',
      resolution: { width: 320, height: 240 },
      frameRate: { num: 25, den: 1 },
      frameRateMode: 'cfr',
      frameCount: 50,
      frameCountHeader: 50,
      bitDepth: 8,
      chromaSubsampling: '4:2:0',
      scanType: 'progressive',
      decodeErrors: 0,
      colour: { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709' },
      hdr: { format: 'sdr' },
    });
    expect(result.audio).toHaveLength(1);
    expect(result.audio[0]).toMatchObject({ codec: 'aac', sampleRate: 48000, layout: { channels: 1 } });
    expect(result.issues).toEqual([]);
    expect(result.verdict).toBe('ok');
    expect(result.tools.ffprobe).toMatch(/^ffprobe version/);
  });

  it('does not mistake 29.97 fps in Matroska (33/34 ms rounded deltas) for variable frame rate', async () => {
    const { result, probe: p } = await inspected('ntsc');
    expect(p.timing!.minDeltaSeconds).not.toBe(p.timing!.maxDeltaSeconds);
    expect(result.video[0]).toMatchObject({ frameRate: { num: 30000, den: 1001 }, frameRateMode: 'cfr', frameCount: 60 });
    expect(codes(result)).not.toContain('VARIABLE_FRAME_RATE');
    expect(codes(result)).not.toContain('UNUSUAL_FRAME_RATE');
  });

  it('flags a Matroska clip that drops from 30 to 15 fps as VFR although its header rates both say 30', async () => {
    const { result } = await inspected('vfrMkv');
    const v = result.video[0]!;
    expect(v.frameRate).toEqual({ num: 30, den: 1 });
    expect(v.avgFrameRate).toEqual({ num: 30, den: 1 });
    expect(v.frameRateMode).toBe('vfr');
    expect(v.frameCount).toBe(60);
    expect(codes(result)).toContain('VARIABLE_FRAME_RATE');
  });

  it('flags the same timing in MP4 as VFR', async () => {
    const { result } = await inspected('vfrMp4');
    expect(result.video[0]!.frameRateMode).toBe('vfr');
    expect(codes(result)).toContain('VARIABLE_FRAME_RATE');
  });

  it('detects top-field-first interlacing from the pictures and agrees with the header', async () => {
    const { result } = await inspected('interlaced');
    const v = result.video[0]!;
    expect(v.scanType).toBe('interlaced_tff');
    expect(v.fieldOrderHeader).toBe('tt');
    expect(v.idet!.tff).toBeGreaterThan(40);
    expect(v.frameCount).toBe(50);
    expect(codes(result)).toContain('INTERLACED');
    expect(codes(result)).not.toContain('SCAN_TYPE_MISMATCH');
  });

  it('reports 10-bit depth for yuv420p10le', async () => {
    const { result } = await inspected('tenBit');
    expect(result.video[0]).toMatchObject({ bitDepth: 10, chromaSubsampling: '4:2:0', pixelFormat: 'yuv420p10le', frameCount: 25 });
  });

  it('flags 321x241 4:2:0 as odd dimensions and a chroma subsampling mismatch', async () => {
    const { result } = await inspected('odd');
    expect(result.video[0]!.resolution).toEqual({ width: 321, height: 241 });
    expect(codes(result)).toEqual(expect.arrayContaining(['ODD_DIMENSIONS', 'CHROMA_SUBSAMPLING_MISMATCH']));
    const mismatch = result.issues.find((i) => i.code === 'CHROMA_SUBSAMPLING_MISMATCH')!;
    expect(mismatch.severity).toBe('error');
    expect(mismatch.message).toContain('321x241');
  });

  it('reports an audio-only file as a NO_VIDEO_STREAM error without decoding', async () => {
    const { result, scan: s } = await inspected('audio');
    expect(s.mode).toBe('skipped');
    expect(result.video).toEqual([]);
    expect(result.audio).toHaveLength(1);
    expect(codes(result)).toContain('NO_VIDEO_STREAM');
    expect(result.verdict).toBe('errors');
  });

  it('flags a Matroska file cut in half as TRUNCATED from its declared duration', async () => {
    const { result, scan: s } = await inspected('truncatedMkv');
    expect(s.decodedDurationSeconds!).toBeLessThan(1.5);
    expect(codes(result)).toContain('TRUNCATED');
    expect(result.verdict).toBe('errors');
  });

  it('flags an MPEG-TS cut mid-packet as TRUNCATED with DECODE_ERRORS', async () => {
    const { result } = await inspected('truncatedTs');
    expect(codes(result)).toEqual(expect.arrayContaining(['TRUNCATED', 'DECODE_ERRORS']));
  });

  it('reports an MP4 whose moov atom was cut off as unreadable and truncated, not as a crash', async () => {
    const { result, probe: p } = await inspected('moovLost');
    expect(p.readable).toBe(false);
    expect(p.error!.message).toContain('moov atom not found');
    expect(p.error!.message).not.toContain(dir);
    expect(p.error!.message).toContain('media://truncated.mp4');
    expect(codes(result)).toEqual(expect.arrayContaining(['UNREADABLE_CONTAINER', 'TRUNCATED']));
    expect(result.container).toBeNull();
  });

  it('counts decode errors and missing frames in a file with garbage overwritten mid-stream', async () => {
    const { result } = await inspected('corrupt');
    const v = result.video[0]!;
    expect(v.decodeErrors!).toBeGreaterThan(0);
    expect(v.frameCount!).toBeLessThan(50);
    expect(codes(result)).toEqual(expect.arrayContaining(['DECODE_ERRORS', 'FRAME_COUNT_MISMATCH']));
    expect(codes(result)).not.toContain('TRUNCATED');
  });

  it('reports random bytes named .mp4 as UNREADABLE_CONTAINER only', async () => {
    const { result } = await inspected('garbage');
    expect(codes(result)).toEqual(['UNREADABLE_CONTAINER']);
  });

  it('reads a PNG sequence at the requested rate and counts its 10 frames', async () => {
    const { result } = await inspect(files.sequence!, { imageSequence: { frameRate: { num: 25, den: 1 }, startNumber: 1 } });
    expect(result.source.imageSequence).toBe(true);
    expect(result.video[0]).toMatchObject({ codec: 'png', frameCount: 10, frameRate: { num: 25, den: 1 }, frameRateMode: 'cfr' });
    expect(codes(result)).not.toContain('NO_AUDIO_STREAM');
  });

  it('finds the first frame of a sequence by itself when no start number is given', async () => {
    const { result } = await inspect(files.sequence!);
    expect(result.video[0]).toMatchObject({ frameCount: 10, frameRate: { num: 24, den: 1 } });
  });

  it('reads HDR10 mastering display and light levels from the HEVC bitstream', async () => {
    const { result } = await inspected('hdr10');
    const v = result.video[0]!;
    expect(v.hdr.format).toBe('hdr10');
    expect(v.hdr.contentLightLevel).toEqual({ maxCll: 1000, maxFall: 400 });
    expect(v.hdr.masteringDisplay).toMatchObject({ maxLuminance: 1000, minLuminance: 0.0001, red: [0.68, 0.32] });
    expect(v.bitDepth).toBe(10);
    expect(codes(result)).not.toContain('HDR_METADATA_MISSING');
  });

  it('reports a display matrix as clockwise rotation, as ffmpeg autorotate shows it', async () => {
    const { result } = await inspected('rotated');
    expect(result.video[0]!.rotationDegrees).toBe(270);
    expect(result.video[0]!.scanType).toBe('progressive');
    expect(codes(result)).toContain('ROTATED');
  });

  it('samples only the first frames when decodeCheck is off and counts frames from packets', async () => {
    const { result, scan: s } = await inspect(files.long!, { decodeCheck: false });
    expect(s.mode).toBe('sampled');
    expect(s.framesDecoded).toBe(300);
    expect(result.video[0]).toMatchObject({ frameCount: 14 * 25, frameCountHeader: 14 * 25, decodeErrors: null });
    expect(codes(result)).not.toContain('TRUNCATED');
  });

  it('reports scan progress rising to 1', async () => {
    const p = await probe({ path: files.cfr!, uri: 'x' });
    const seen: number[] = [];
    await scan({ path: files.cfr!, uri: 'x' }, p, undefined, (f) => seen.push(f));
    expect(seen.at(-1)).toBe(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('throws MEDIA_NOT_FOUND for a missing file or a sequence without its first frame', async () => {
    await expectVpipeError(probe({ path: path.join(dir, 'nope.mp4'), uri: 'nope' }), ErrorCodes.MediaNotFound);
    await expectVpipeError(probe({ path: path.join(dir, 'seq', 'frame%08d.png'), uri: 's', imageSequence: { startNumber: 500 } }), ErrorCodes.MediaNotFound);
  });

  it('kills the decode and throws CANCELLED when the job is aborted', async () => {
    const input = { path: files.long!, uri: 'long' };
    const p = await probe(input);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    await expectVpipeError(scan({ ...input, signal: ac.signal }, p), ErrorCodes.Cancelled);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('analysis rules on edited probe data', () => {
  /** The clean CFR inspection with its primary video stream edited: the rules see only data, so no media is needed. */
  async function edited(edit: (v: ProbeData['streams'][number], p: ProbeData, s: ScanData) => void): Promise<InspectResult> {
    const base = await inspected('cfr');
    const p = structuredClone(base.probe);
    const s = structuredClone(base.scan);
    edit(p.streams.find((x) => x.index === p.primaryVideoIndex)!, p, s);
    return InspectResult.parse(analyse({ uri: 'edited' }, p, s));
  }

  it('warns about 12.5 fps but accepts 30000/1001 and 2997/100', async () => {
    const at = (num: number, den: number) => edited((v) => (v.rFrameRate = { num, den }));
    expect(codes(await at(25, 2))).toContain('UNUSUAL_FRAME_RATE');
    expect(codes(await at(30000, 1001))).not.toContain('UNUSUAL_FRAME_RATE');
    expect(codes(await at(2997, 100))).not.toContain('UNUSUAL_FRAME_RATE');
  });

  it('treats anamorphic PAL as normal but a stretched HD picture as an unexpected SAR', async () => {
    const pal = await edited((v) => Object.assign(v, { width: 720, height: 576, sar: { num: 64, den: 45 } }));
    expect(pal.issues.find((i) => i.code === 'NON_SQUARE_PIXELS')?.severity).toBe('info');
    const hd = await edited((v) => Object.assign(v, { width: 1920, height: 1080, sar: { num: 4, den: 3 } }));
    expect(codes(hd)).toContain('UNEXPECTED_SAR');
    expect(codes(hd)).not.toContain('NON_SQUARE_PIXELS');
  });

  it('warns when PQ video has no mastering display or light level metadata', async () => {
    const r = await edited((v) => (v.colour = { primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc', range: 'tv' }));
    expect(r.video[0]!.hdr.format).toBe('pq');
    expect(codes(r)).toContain('HDR_METADATA_MISSING');
  });

  it('warns about missing colour description, naming what is missing', async () => {
    const r = await edited((v) => (v.colour = { primaries: null, transfer: 'bt709', matrix: null, range: null }));
    const iss = r.issues.find((i) => i.code === 'MISSING_COLOUR_METADATA')!;
    expect(iss.message).toContain('primaries, matrix');
  });

  it('flags a progressive header over pictures that idet finds interlaced', async () => {
    const r = await edited((_v, _p, s) => (s.idet = { tff: 45, bff: 0, progressive: 5, undetermined: 0 }));
    expect(r.video[0]!.scanType).toBe('interlaced_tff');
    expect(codes(r)).toEqual(expect.arrayContaining(['INTERLACED', 'SCAN_TYPE_MISMATCH']));
  });

  it('falls back to the header field order when idet saw nothing decisive', async () => {
    const r = await edited((v, _p, s) => {
      v.fieldOrder = 'bb';
      s.idet = { tff: 1, bff: 0, progressive: 1, undetermined: 48 };
    });
    expect(r.video[0]!.scanType).toBe('interlaced_bff');
    expect(codes(r)).not.toContain('SCAN_TYPE_MISMATCH');
  });

  it('warns when audio outlasts video by more than a quarter second', async () => {
    const r = await edited((_v, p) => (p.streams.find((x) => x.type === 'audio')!.durationSeconds = 3.1));
    expect(codes(r)).toContain('AV_DURATION_MISMATCH');
  });

  it('reports a zero-length container as ZERO_DURATION', async () => {
    const r = await edited((_v, p) => (p.container!.durationSeconds = 0));
    expect(codes(r)).toContain('ZERO_DURATION');
  });

  it('notes extra video streams and inspects the first', async () => {
    const r = await edited((v, p) => p.streams.push({ ...structuredClone(v), index: 7 }));
    expect(r.video.map((v) => v.index)).toEqual([0, 7]);
    expect(codes(r)).toContain('MULTIPLE_VIDEO_STREAMS');
  });

  it('derives bit depth and chroma from pixel format names', () => {
    expect(describePixelFormat('yuv422p10le')).toMatchObject({ bitDepth: 10, chroma: '4:2:2' });
    expect(describePixelFormat('yuvj420p')).toMatchObject({ bitDepth: 8, chroma: '4:2:0' });
    expect(describePixelFormat('p010le')).toMatchObject({ bitDepth: 10, chroma: '4:2:0' });
    expect(describePixelFormat('nv12')).toMatchObject({ bitDepth: 8, chroma: '4:2:0' });
    expect(describePixelFormat('uyvy422')).toMatchObject({ bitDepth: 8, chroma: '4:2:2' });
    expect(describePixelFormat('yuv411p')).toMatchObject({ chroma: '4:1:1' });
    expect(describePixelFormat('gbrp12le')).toMatchObject({ bitDepth: 12, chroma: '4:4:4', family: 'rgb' });
    expect(describePixelFormat('gray16be')).toMatchObject({ bitDepth: 16, chroma: 'none' });
    expect(describePixelFormat('what')).toMatchObject({ bitDepth: null, chroma: 'unknown' });
  });

  it('judges frame rate mode from timestamps, tolerating rounding and field-rate headers', () => {
    const ms = { num: 1, den: 1000 };
    const ntsc = Array.from({ length: 300 }, (_, i) => Math.round((i * 1001) / 30));
    expect(frameRateMode(timingStats(0, ms, ntsc, 300), null, null).mode).toBe('cfr');
    const dropped = [...ntsc.slice(0, 150), ...ntsc.slice(151)];
    expect(frameRateMode(timingStats(0, ms, dropped, 299), null, null).mode).toBe('cfr');
    const mixed = [...Array.from({ length: 50 }, (_, i) => i * 40), ...Array.from({ length: 50 }, (_, i) => 2000 + i * 20)];
    expect(frameRateMode(timingStats(0, ms, mixed, 100), null, null).mode).toBe('vfr');
    expect(frameRateMode(null, { num: 50, den: 1 }, { num: 25, den: 1 }).mode).toBe('cfr');
    expect(frameRateMode(null, { num: 30, den: 1 }, { num: 1800, den: 89 }).mode).toBe('vfr');
  });
});

describe('runTool safety', () => {
  const forever = ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-f', 'null', '-'];

  it('kills a tool that outlives its timeout and throws a retryable TOOL_TIMEOUT', async () => {
    const started = Date.now();
    const e = await expectVpipeError(runTool('ffmpeg', forever, { timeoutMs: 1000 }), ErrorCodes.ToolTimeout);
    expect(e.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('kills a tool when its signal aborts and throws CANCELLED', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await expectVpipeError(runTool('ffmpeg', forever, { signal: ac.signal }), ErrorCodes.Cancelled);
    await expectVpipeError(runTool('ffmpeg', forever, { signal: ac.signal }), ErrorCodes.Cancelled);
  });

  it('returns a non-zero exit instead of throwing', async () => {
    const r = await runTool('ffprobe', ['-v', 'error', ...inputArgs(path.join(dir, 'absent.mp4'))]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No such file');
  });

  it('throws TOOL_MISSING when the configured binary does not exist', async () => {
    configureTools(loadConfig({ ...process.env, VPIPE_FFPROBE: path.join(dir, 'no-such-ffprobe') }).tools);
    try {
      await expectVpipeError(runTool('ffprobe', ['-version']), ErrorCodes.ToolMissing);
    } finally {
      configureTools(null);
    }
  });

  it('applies the memory cap through prlimit', async () => {
    const ok = await runTool('ffmpeg', ['-hide_banner', '-version']);
    expect(ok.code).toBe(0);
    const starved = await runTool('ffmpeg', ['-hide_banner', '-version'], { memoryLimitBytes: 20 * 1024 * 1024 });
    expect(starved.code).not.toBe(0);
  });

  it('reports the tool version from the first line of -version', async () => {
    expect(await toolVersion('ffprobe')).toMatch(/^ffprobe version \S+/);
  });

  it('reads a file named -i as a file, not as an option', async () => {
    const sneaky = path.join(dir, 'opts', '-i');
    await rm(path.dirname(sneaky), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(sneaky), { recursive: true }));
    await copyFile(files.cfr!, sneaky);
    const { result } = await inspect(sneaky);
    expect(result.video[0]!.frameCount).toBe(50);
  });

  it('reads a file named concat:a|b as one file, not through the concat protocol', async () => {
    const name = path.join(dir, 'concat:cfr.mp4|cfr.mp4');
    await copyFile(files.cfr!, name);
    const { result } = await inspect(name);
    // Through the concat protocol this would be two clips back to back: 4 s and 100 frames.
    expect(result.container!.durationSeconds).toBeCloseTo(2, 1);
    expect(result.video[0]!.frameCount).toBe(50);
  });

  it('refuses relative paths and NUL bytes in input arguments', () => {
    expect(() => inputArgs('relative.mp4')).toThrow(VpipeError);
    expect(() => inputArgs('/tmp/a\0b.mp4')).toThrow(/NUL/);
    expect(inputArgs('/tmp/concat:x')).toEqual(['-protocol_whitelist', 'file', '-i', 'file:/tmp/concat:x']);
  });
});
