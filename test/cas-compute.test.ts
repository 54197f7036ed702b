/**
 * CAS's compute layer: the grid, the sampling, the store key, the cost
 * arithmetic and request validation (pure), and the sample cut with real
 * ffmpeg — from verified random-access points with every picture checked,
 * and by one decode from the start — proven against the test's own ffmpeg
 * decode of the source and of the mezzanine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysisCost } from '../actors/cas/compute/cost.js';
import { cutSample, type CutInput, type CutSegment, parseCrcs } from '../actors/cas/compute/cut.js';
import { resolveGrid, storeKey, type AnalysisSettings } from '../actors/cas/compute/grid.js';
import { planSegments, resolveSampling } from '../actors/cas/compute/sampling.js';
import { cleanRate, probeSourceInfo, type SourceInfo } from '../actors/cas/compute/source.js';
import { AnalyzeRequest } from '../schemas/cas.js';
import { expectVpipeError } from './helpers/errors.js';
import { cached, ffmpeg, motion } from './helpers/media.js';
import { tempDir } from './helpers/nats.js';

describe('the grid', () => {
  it('defaults to the standard heights below the source and its own, widths from the display aspect ratio, five CRFs at veryfast', () => {
    const g = resolveGrid('h264', undefined, { width: 1920, height: 1080 });
    expect(g.heights).toEqual([234, 360, 432, 540, 720, 1080]);
    expect(g.crfs).toEqual([18, 23, 28, 33, 38]);
    expect([g.preset, g.speed, g.gopSeconds]).toEqual(['veryfast', undefined, 2]);
    expect([...new Set(g.points.map((p) => `${p.width}x${p.height}`))]).toEqual(['416x234', '640x360', '768x432', '960x540', '1280x720', '1920x1080']);
    expect(g.points).toHaveLength(30);
  });

  it('keeps the source height as the top rung of a 4:3 source, and takes a speed for vp9', () => {
    const g = resolveGrid('vp9', { crfs: [40, 30] }, { width: 640, height: 480 });
    expect(g.heights).toEqual([234, 360, 432, 480]);
    expect(g.points.map((p) => p.width)).toEqual([312, 312, 480, 480, 576, 576, 640, 640]);
    expect([g.crfs, g.preset, g.speed]).toEqual([[30, 40], undefined, 6]);
  });

  it('refuses a height above the source, naming it', async () => {
    const e = await expectVpipeError((async () => resolveGrid('h264', { heights: [360, 1080] }, { width: 1280, height: 720 }))(), 'BAD_REQUEST');
    expect(e.message).toMatch(/1080 is above the source's height 720/);
    expect(e.details).toEqual([{ path: 'grid.heights.1', message: 'at most 720' }]);
  });
});

describe('sampling', () => {
  it('takes the whole of a short title, and 4 s every 2 minutes of a long one (3–60 segments)', () => {
    expect(resolveSampling(undefined, 10)).toEqual({ segments: 3, segmentSeconds: 4, whole: true });
    expect(resolveSampling(undefined, 7200)).toEqual({ segments: 60, segmentSeconds: 4, whole: false });
    expect(resolveSampling(undefined, 600)).toEqual({ segments: 5, segmentSeconds: 4, whole: false });
    expect(resolveSampling({ segments: 2, segmentSeconds: 1 }, 208)).toEqual({ segments: 2, segmentSeconds: 1, whole: false });
    expect(resolveSampling({ whole: true }, 7200).whole).toBe(true);
  });

  it('spreads segments evenly, each centred in its slice, never overlapping or past the end', () => {
    const segs = planSegments(1000, 25, { segments: 4, segmentSeconds: 2, whole: false });
    expect(segs).toEqual([
      { startFrame: 100, frames: 50 },
      { startFrame: 350, frames: 50 },
      { startFrame: 600, frames: 50 },
      { startFrame: 850, frames: 50 },
    ]);
    expect(planSegments(100, 25, { segments: 3, segmentSeconds: 2, whole: false })).toEqual([{ startFrame: 0, frames: 100 }]);
    expect(planSegments(100, 25, { segments: 1, segmentSeconds: 1, whole: true })).toEqual([{ startFrame: 0, frames: 100 }]);
  });

  it('carries odd average rates as a clean rational', () => {
    expect(cleanRate({ num: 318960000, den: 18762353 })).toEqual({ num: 17, den: 1 });
    expect(cleanRate({ num: 1000, den: 43 })).toEqual({ num: 23256, den: 1000 });
    expect(cleanRate({ num: 2997, den: 125 })).toEqual({ num: 24000, den: 1001 });
    expect(cleanRate({ num: 50, den: 2 })).toEqual({ num: 25, den: 1 });
  });
});

describe('the store key', () => {
  const grid = resolveGrid('h264', { heights: [72, 144], crfs: [23, 38] }, { width: 256, height: 144 });
  const settings: AnalysisSettings = { grid, sample: { segments: 3, segmentSeconds: 4, whole: true }, vmafModel: 'vmaf_v0.6.1' };
  const hash = 'a'.repeat(64);
  const version = 'x264 core 164 r3095 baee400; ffmpeg 5.1.9-0+deb12u1';

  it('is content hash, codec, encoder version hash and settings hash, in KV key characters', () => {
    const key = storeKey(hash, 'h264', version, settings);
    expect(key).toMatch(/^a{64}\.h264\.e[0-9a-f]{12}\.g[0-9a-f]{16}$/);
    expect(storeKey(hash, 'h264', version, structuredClone(settings))).toBe(key);
  });

  it('changes with the encoder version, the grid, the sampling and the VMAF model', () => {
    const key = storeKey(hash, 'h264', version, settings);
    const others = [
      storeKey(hash, 'h264', `${version}-2`, settings),
      storeKey(hash, 'h264', version, { ...settings, grid: resolveGrid('h264', { heights: [72, 144], crfs: [23, 33] }, { width: 256, height: 144 }) }),
      storeKey(hash, 'h264', version, { ...settings, grid: { ...grid, preset: 'medium' } }),
      storeKey(hash, 'h264', version, { ...settings, sample: { segments: 2, segmentSeconds: 4, whole: false } }),
      storeKey(hash, 'h264', version, { ...settings, vmafModel: 'vmaf_v0.6.1neg' }),
    ];
    expect(new Set([key, ...others]).size).toBe(6);
  });
});

describe('the cost', () => {
  it('is the analysis seconds over the source-size middle-CRF trial scaled to the title', () => {
    const trials = [23, 28, 33].flatMap((crf) => [
      { width: 640, height: 360, crf, encodeSeconds: 1, measureSeconds: 2 },
      { width: 1280, height: 720, crf, encodeSeconds: 3, measureSeconds: 4 },
    ]);
    const c = analysisCost({ trials, source: { width: 1280, height: 720 }, crfs: [33, 23, 28], sampledSeconds: 12, titleSeconds: 600, sampleSeconds: 3, indexSeconds: 2, sourceIndexSeconds: 30, wallSeconds: 40 });
    expect(c.plainEncodeSecondsEstimate).toBe(150); // 3 s × 600 / 12
    expect(c.trialEncodeSeconds).toBe(12);
    expect(c.measureSeconds).toBe(18);
    expect(c.multiple).toBe(0.233); // (12 + 18 + 3 + 2) / 150
    expect(c.wallMultiple).toBe(0.267);
    expect(c.estimateBasis).toMatch(/^estimate: the 1280x720 CRF 28 trial's 3 s × 50 \(title \/ sample seconds\)$/);
  });

  it('scales the largest trial by pixels when the grid has none at the source size', () => {
    const c = analysisCost({ trials: [{ width: 640, height: 360, crf: 23, encodeSeconds: 2, measureSeconds: 1 }], source: { width: 1280, height: 720 }, crfs: [23], sampledSeconds: 10, titleSeconds: 10, sampleSeconds: 0, indexSeconds: 0, sourceIndexSeconds: 0, wallSeconds: 3 });
    expect(c.plainEncodeSecondsEstimate).toBe(8);
    expect(c.estimateBasis).toMatch(/× 4 \(source \/ trial pixels\)/);
  });
});

describe('request validation', () => {
  const ok = { source: { uri: 'file:///m/a.mp4' }, codec: 'h264' };
  const issues = (body: object) => {
    const r = AnalyzeRequest.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('takes the minimal request, and refuses unknown codecs, CRFs out of the codec range, odd heights, unknown fields and too many points', () => {
    expect(issues(ok)).toEqual([]);
    expect(issues({ ...ok, codec: 'mpeg2' })[0]).toMatch(/^codec: /);
    expect(issues({ ...ok, grid: { crfs: [23, 52] } })).toEqual(['grid.crfs.1: h264 CRF is 0–51']);
    expect(issues({ ...ok, codec: 'vp9', grid: { crfs: [52], preset: 'fast' } })).toEqual(['grid.preset: vp9 takes "speed" (a number), not a preset name']);
    expect(issues({ ...ok, grid: { heights: [361] } })[0]).toMatch(/^grid.heights.0: an even number/);
    expect(issues({ ...ok, grid: { heights: [360, 360] } })[0]).toMatch(/each height once/);
    expect(issues({ ...ok, gird: {} })[0]).toMatch(/gird/);
    expect(issues({ ...ok, grid: { heights: [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100], crfs: [10, 15, 20, 25, 30, 35] } })).toEqual(['grid: at most 64 grid points (heights × CRFs), got 66']);
    expect(issues({ ...ok, sample: { segmentSeconds: 0.1 } })[0]).toMatch(/^sample.segmentSeconds/);
  });
});

describe('the sample cut (real ffmpeg)', () => {
  let dir: string;
  let src: string;
  let info: SourceInfo;
  /** The test's own decode of the source: every picture's CRC. */
  let truth: number[];
  const framecrc = (file: string) => parseCrcs(execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v:0', '-f', 'framecrc', '-'], { encoding: 'utf8' }));
  // Frames 10–19 (decoded from the start, 10 dropped) and 60–69 (from the key frame at 2 s, 10 dropped).
  const segments = (): CutSegment[] => [
    { startFrame: 10, frames: 10, seekSeconds: 0, skipFrames: 10, expected: truth.slice(10, 20) },
    { startFrame: 60, frames: 10, seekSeconds: 2.01, skipFrames: 10, expected: truth.slice(60, 70) },
  ];
  const dirs: string[] = [];
  const input = (name: string, over: Partial<CutInput>): CutInput => {
    dirs.push(tempDir(`cas-cut-${name}`));
    return { sourcePath: src, info, access: 'random-access', segments: segments(), workDir: dirs[dirs.length - 1]!, threads: 2, ...over };
  };
  afterAll(() => [dir, ...dirs].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  beforeAll(async () => {
    dir = tempDir('cas-compute');
    // 4 s at 25 fps, a key frame every second, no B-frames: each key frame is a clean seek point.
    src = await cached(dir, 'src.mp4', (tmp) => ffmpeg(['-f', 'lavfi', '-i', motion('160x90', 25, 4), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'mp4', tmp]));
    info = await probeSourceInfo(src);
    truth = framecrc(src);
  });

  it('reads the CRC column of framecrc lines, side data or not', () => {
    expect(parseCrcs('#tb 0: 1/25\n0,          0,          0,        1,    86400, 0xaef3bcdb\n0,          1,          1,        1,    86400, 0x0000abcd, S=1,        8, 0x01230456\n')).toEqual([0xaef3bcdb, 0xabcd]);
  });

  it('probes the source as shown', () => {
    expect(info).toMatchObject({ streamIndex: 0, width: 160, height: 90, pixelFormat: 'yuv420p', bitDepth: 8, frameRate: { num: 25, den: 1 }, rotation: 0 });
    expect(truth).toHaveLength(100);
  });

  it('from verified points: the mezzanine holds exactly the segments’ source pictures, at a constant rate', async () => {
    const out = await cutSample(input('rap', {}));
    expect(out.frames).toBe(20);
    expect(out.pictureCrcs).toEqual([...truth.slice(10, 20), ...truth.slice(60, 70)]);
    expect(framecrc(out.path)).toEqual(out.pictureCrcs);
    const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', out.path], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(pts).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(path.basename(out.path)).toBe('sample.mp4');
  });

  it('from the start, selecting frames by number, gives the same pictures; takeAll gives every frame', async () => {
    const out = await cutSample(input('start', { access: 'decode-from-start', segments: segments().map(({ startFrame, frames }) => ({ startFrame, frames })) }));
    expect(out.pictureCrcs).toEqual([...truth.slice(10, 20), ...truth.slice(60, 70)]);
    const all = await cutSample(input('all', { access: 'decode-from-start', segments: [{ startFrame: 0, frames: 1000 }], takeAll: true }));
    expect(all.pictureCrcs).toEqual(truth);
  });

  it('fails as CONTENT_MISMATCH naming the frame when a segment does not take the index’s pictures', async () => {
    const wrong = segments();
    wrong[1] = { ...wrong[1]!, skipFrames: 11 };
    const e = await expectVpipeError(cutSample(input('wrong', { segments: wrong })), 'CONTENT_MISMATCH');
    expect(e.message).toMatch(/sample segment 1 \(source frames 60–69\): frame 60 is 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}/);
  });

  it('turns a rotated source as a player shows it, checking the unturned pictures against the index', async () => {
    // A display matrix a quarter turn (the legacy rotate=90 tag: shown 270° clockwise).
    const rotated = await cached(dir, 'rotated.mp4', (tmp) => ffmpeg(['-i', `file:${src}`, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mp4', tmp]));
    const turned = await probeSourceInfo(rotated);
    expect(turned).toMatchObject({ width: 90, height: 160, rotation: 270 });
    const unturned = parseCrcs(execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-noautorotate', '-i', rotated, '-f', 'framecrc', '-'], { encoding: 'utf8' }));
    expect(unturned).toEqual(truth);
    const out = await cutSample(input('turned', { sourcePath: rotated, info: turned }));
    // The mezzanine's pictures are what ffmpeg's autorotate shows, and it carries no display matrix of its own.
    const shown = framecrc(rotated);
    expect(out.pictureCrcs).toEqual([...shown.slice(10, 20), ...shown.slice(60, 70)]);
    expect(await probeSourceInfo(out.path)).toMatchObject({ width: 90, height: 160, rotation: 0 });
  });

  it('fails as TOOL_FAILED when the source ends before the sample does', async () => {
    const e = await expectVpipeError(cutSample(input('short', { access: 'decode-from-start', segments: [{ startFrame: 90, frames: 20 }] })), 'TOOL_FAILED');
    expect(e.message).toMatch(/came out with 10 frames, 20 were planned/);
  });
});
