/**
 * The forensic A/B watermark: the code and keys (no media), the mark filter on real frames (chroma
 * bit-identical, luma exactly source + pattern, zero strength a no-op), and the whole chain at
 * library level on real footage: 48 segments of example-movie.mp4 at 640x360 in both variants,
 * 8 recipients' copies assembled by concat, each attacked (libx264 CRF 30 at half size) and
 * decoded back; PSNR of marked against unmarked; and 20+ copies that carry no mark of the title
 * (unmarked encodes, other titles' keys, other footage, other time ranges) that must be rejected.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aligner, codewordSoftValues, decide, type SegmentResult } from '../encoders/forensic/detect.js';
import { LumaReader, type FrameSource } from '../encoders/forensic/frames.js';
import { golayDecodeHard, GOLAY_CODEWORDS, popcount } from '../encoders/forensic/ecc.js';
import {
  CODEWORD_BITS, DEFAULT_STRENGTH, detect, DETECT_THRESHOLD, encodePayload, markFilter, OriginalFrameCache, PAYLOAD_BITS, payloadFor, segmentSeed, softDecode, variantFor,
  type Detection,
} from '../encoders/forensic/index.js';
import { patternCodes } from '../encoders/forensic/pattern.js';
import { ErrorCodes, VpipeError } from '../runtime/core/mod.js';
import { inputArgs, runTool } from '../runtime/media/mod.js';
import { corpusFile } from './corpus/manifest.js';
import {
  assembleRecipient, burnIn, concatFiles, cutPiece, encodeVariants, leakAttack, plainEncode, pool, psnr, type Piece, type VariantSet,
} from './helpers/forensic.js';

const TITLE = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
/** Deterministic stand-ins for other titles' seeds. */
const otherTitle = (i: number): string => createHash('sha256').update(`other title ${i}`).digest('hex').slice(0, 32);

/** A seeded generator for the synthetic tests (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** Soft values of a codeword: ±mu plus unit noise. */
const softOf = (bits: (0 | 1)[], mu: number, r: () => number): number[] => bits.map((b) => (b ? mu : -mu) + gauss(r));

/** Per-segment results as the detector would give them for these per-segment z. */
const asSegments = (z: number[]): SegmentResult[] => z.map((v, index) => ({ index, z: v, score: 0, frames: 6 }));

const expectBadRequest = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VpipeError);
    expect((e as VpipeError).code).toBe(ErrorCodes.BadRequest);
    return;
  }
  throw new Error('expected a BAD_REQUEST');
};

describe('forensic code and keys', () => {
  it('is the extended Golay code twice: 4096 codewords a half, weights 0/8/12/16/24', () => {
    const weights = new Map<number, number>();
    for (const cw of GOLAY_CODEWORDS) weights.set(popcount(cw), (weights.get(popcount(cw)) ?? 0) + 1);
    expect(Object.fromEntries(weights)).toEqual({ 0: 1, 8: 759, 12: 2576, 16: 759, 24: 1 });
    expect(CODEWORD_BITS).toBe(48);
    expect(PAYLOAD_BITS).toBe(24);
  });

  it('round-trips payloads with up to 3 flipped bits in each half (hard and soft)', () => {
    const r = rng(1);
    for (let trial = 0; trial < 60; trial++) {
      const payload = Math.floor(r() * 2 ** 24);
      const bits = encodePayload(payload);
      expect(bits).toHaveLength(CODEWORD_BITS);
      const flips = trial % 4; // 0..3 per half
      const received = [...bits];
      for (const h of [0, 1]) {
        const picked = new Set<number>();
        while (picked.size < flips) picked.add(2 * Math.floor(r() * 24) + h);
        for (const p of picked) received[p] = (1 - received[p]!) as 0 | 1;
      }
      // Hard: each half (even / odd positions) decodes to its 12 bits.
      const half = (h: number): number => Array.from({ length: 24 }, (_, j): number => received[2 * j + h]!).reduce((a, b) => (a << 1) | b, 0);
      expect((golayDecodeHard(half(0)).info << 12) | golayDecodeHard(half(1)).info).toBe(payload);
      // Soft with equal confidence everywhere: the same.
      expect(softDecode(received.map((b) => (b ? 1 : -1))).payload).toBe(payload);
    }
  });

  it('soft-decodes through weak, erased and confidently wrong segments', () => {
    const r = rng(2);
    let posteriorsLow = 0;
    for (let trial = 0; trial < 40; trial++) {
      const payload = Math.floor(r() * 2 ** 24);
      const z = softOf(encodePayload(payload), 4, r);
      // Half A: 5 erasures and 2 weak bits. Half B: 2 confidently wrong bits and 2 weak ones.
      for (let j = 0; j < 5; j++) z[2 * j] = 0;
      for (const j of [8, 16]) z[2 * j] = 0.15 * z[2 * j]!;
      for (const j of [3, 9]) z[2 * j + 1] = -z[2 * j + 1]!;
      for (const j of [14, 20]) z[2 * j + 1] = 0.15 * z[2 * j + 1]!;
      const d = softDecode(z);
      expect(d.payload).toBe(payload);
      expect(d.bitsWithData).toBe(43);
      if (d.posterior < 0.99) posteriorsLow++;
    }
    expect(posteriorsLow).toBeLessThan(4);
    // A half with no data at all: the mark is there, the payload is not knowable, and it is not reported.
    const z = encodePayload(0xabcdef).map((b): number => (b ? 4 : -4));
    for (let j = 0; j < 24; j++) z[2 * j] = 0;
    expect(softDecode(z).halves[0].posterior).toBeLessThan(0.01);
    const d = decide({}, asSegments(z), 288, 'time', { width: 320, height: 180 });
    expect(d).toMatchObject({ detected: true, payload: null });
    expect(d.reason).toMatch(/ambiguous/);
    expect(d.confidence).toBeLessThan(0.01);
  });

  it('repeats the codeword over longer titles and sums repeats per position', () => {
    const p = 0x5a5a5a;
    const bits = encodePayload(p);
    for (let k = 0; k < 3 * CODEWORD_BITS; k++) expect(variantFor(p, k)).toBe(bits[k % CODEWORD_BITS]);
    const z = codewordSoftValues([{ index: 1, z: 2, frames: 5 }, { index: 49, z: 2, frames: 5 }, { index: 97, z: -1, frames: 5 }, { index: 2, z: 9, frames: 0 }]);
    expect(z[1]).toBeCloseTo(3 / Math.sqrt(3));
    expect(z[2]).toBe(0); // no frames: an erasure
  });

  it('rejects payloads and segments out of range', () => {
    for (const bad of [-1, 2 ** 24, 1.5, Number.NaN, Infinity]) expectBadRequest(() => encodePayload(bad));
    expect(encodePayload(2 ** 24 - 1)).toHaveLength(48);
    expectBadRequest(() => variantFor(1, -1));
    expectBadRequest(() => variantFor(2 ** 24, 0));
  });

  it('derives payloads and seeds deterministically from the title key', () => {
    const a = payloadFor('alice@example.com', TITLE);
    expect(payloadFor('alice@example.com', TITLE)).toBe(a);
    expect(Number.isInteger(a) && a >= 0 && a < 2 ** 24).toBe(true);
    expect(payloadFor('alice@example.com', TITLE, 1)).not.toBe(a);
    expect(payloadFor('alice@example.com', otherTitle(1))).not.toBe(a);
    const all = new Set(Array.from({ length: 200 }, (_, i) => payloadFor(`r${i}`, TITLE)));
    expect(all.size).toBeGreaterThan(195);
    expect(segmentSeed(TITLE, 3, 1).equals(segmentSeed(TITLE, 3, 1))).toBe(true);
    expect(segmentSeed(TITLE, 3, 1).equals(segmentSeed(TITLE, 3, 0))).toBe(false);
    expect(segmentSeed(TITLE, 3, 1).equals(segmentSeed(TITLE, 4, 1))).toBe(false);
    expect(segmentSeed(TITLE, 0, 0)).toHaveLength(32);
    for (const bad of ['abc', 'zz'.repeat(16), '0'.repeat(30), '0'.repeat(33)]) expectBadRequest(() => segmentSeed(bad, 0, 0));
    expectBadRequest(() => payloadFor('', TITLE));
    expectBadRequest(() => segmentSeed(TITLE, 0, 2 as 0));
  });

  it('never declares a mark on pure noise, with or without candidates, and finds a marked one', () => {
    const r = rng(3);
    const candidates = Array.from({ length: 8 }, (_, i) => payloadFor(`c${i}`, TITLE));
    let maxStat = 0;
    for (let trial = 0; trial < 300; trial++) {
      const z = Array.from({ length: CODEWORD_BITS }, () => gauss(r));
      const d = decide(trial % 2 ? { candidates } : {}, asSegments(z), 288, 'time', { width: 320, height: 180 });
      expect(d.detected).toBe(false);
      expect(d.payload).toBeNull();
      expect(d.confidence).toBeLessThan(0.01);
      maxStat = Math.max(maxStat, d.statistic);
    }
    expect(maxStat).toBeLessThan(DETECT_THRESHOLD);
    const marked = decide({}, asSegments(softOf(encodePayload(candidates[3]!), 2.5, r)), 288, 'time', { width: 320, height: 180 });
    expect(marked).toMatchObject({ detected: true, payload: candidates[3] });
    expect(marked.confidence).toBeGreaterThan(0.99);
  });

  it('with candidates: names a recipient whose codeword matches, not the nearest one to an outsider', () => {
    const r = rng(4);
    const candidates = Array.from({ length: 8 }, (_, i) => payloadFor(`c${i}`, TITLE));
    // Weak but consistent (mean statistic ≈ 8.3): below the open threshold, mostly above the candidates' 7.1.
    let named = 0;
    for (let trial = 0; trial < 20; trial++) {
      const d = decide({ candidates }, asSegments(softOf(encodePayload(candidates[5]!), 1.2, r)), 288, 'time', { width: 320, height: 180 });
      if (d.payload !== null) {
        expect(d.payload).toBe(candidates[5]);
        named++;
      }
    }
    expect(named).toBeGreaterThanOrEqual(10);
    // An outsider's strong mark: decoded as the outsider, never pinned on a listed recipient.
    const outsider = payloadFor('outsider', TITLE);
    const d = decide({ candidates }, asSegments(softOf(encodePayload(outsider), 3, r)), 288, 'time', { width: 320, height: 180 });
    expect(d.payload).toBe(outsider);
  });
});

describe('forensic frame alignment', () => {
  /** A replay of frames with these times (null = no time). */
  const source = (times: (number | null)[]): FrameSource => {
    let i = 0;
    return { next: async () => (i < times.length ? { n: i, pts: times[i++]!, data: new Uint8Array(0) } : null), kill: () => undefined, closed: async () => undefined };
  };
  const frame = (n: number, pts: number | null) => ({ n, pts, data: new Uint8Array(0) });

  it('pairs leak frames with the original frame nearest in time relative to each first frame', async () => {
    // Original at 30 fps from 0.5 s (an edit-list offset); the leak from 0, drifting by 0.4 ms a frame, one frame dropped, one doubled.
    const orig = new Aligner(source(Array.from({ length: 100 }, (_, j) => 0.5 + j / 30)));
    const leakTimes = [0, 1, 2, 3, 5, 5, 6, 7, 8, 9].map((j) => j * (1 / 30 + 0.0004));
    const got: (number | null)[] = [];
    for (const [i, t] of leakTimes.entries()) got.push((await orig.byTime(frame(i, t), 0))?.n ?? null);
    expect(got).toEqual([0, 1, 2, 3, 5, 5, 6, 7, 8, 9]);
    // Past the original's end: no match, and the aligner says it is done.
    const short = new Aligner(source([0, 1 / 30, 2 / 30]));
    expect((await short.byTime(frame(0, 10), 10))?.n).toBe(0);
    expect(await short.byTime(frame(1, 10.5), 10)).toBeNull();
    expect(short.done).toBe(true);
  });

  it('lines up a leak cut from later in the title from the given original frame', async () => {
    const orig = new Aligner(source(Array.from({ length: 100 }, (_, j) => j / 25)), 40);
    expect((await orig.byTime(frame(0, 3.2), 3.2))?.n).toBe(40);
    expect((await orig.byTime(frame(1, 3.24), 3.2))?.n).toBe(41);
    const byNumber = new Aligner(source([null, null, null, null, null]), 2);
    expect((await byNumber.byIndex(1))?.n).toBe(3);
  });

  it('falls back to frame numbers', async () => {
    const orig = new Aligner(source([null, null, null, null]));
    expect((await orig.byIndex(0))?.n).toBe(0);
    expect((await orig.byIndex(2))?.n).toBe(2);
    expect(await orig.byIndex(7)).toBeNull();
    expect(orig.done).toBe(true);
  });
});

/** Planes of raw frames in an 8- or 10-bit planar YUV format. */
function planes(buf: Buffer, fmt: string, w: number, h: number): { frames: number; plane: (f: number, p: number) => number[] } {
  const deep = fmt.endsWith('10le');
  const cw = fmt.includes('444') ? w : w / 2;
  const ch = fmt.includes('420') ? h / 2 : h;
  const sizes = [w * h, cw * ch, cw * ch];
  const bps = deep ? 2 : 1;
  const frameBytes = (sizes[0]! + sizes[1]! + sizes[2]!) * bps;
  return {
    frames: buf.length / frameBytes,
    plane: (f, p) => {
      const start = f * frameBytes + sizes.slice(0, p).reduce((a, b) => a + b, 0) * bps;
      return Array.from({ length: sizes[p]! }, (_, i) => (deep ? buf.readUInt16LE(start + 2 * i) : buf[start + i]!));
    },
  };
}

describe('forensic mark filter on real frames', () => {
  let work: string;
  const W = 320;
  const H = 180;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vpipe-forensic-filter-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const plainFrames = new Map<string, Promise<Buffer>>();
  /** 5 frames of example-movie at W×H in `fmt`, scaled as the encoder scales, with or without a mark; raw. */
  function raw(fmt: string, mark: { segment: number; variant: 0 | 1; strength?: number } | null): Promise<Buffer> {
    if (mark) return render(fmt, mark);
    if (!plainFrames.has(fmt)) plainFrames.set(fmt, render(fmt, null));
    return plainFrames.get(fmt)!;
  }
  async function render(fmt: string, mark: { segment: number; variant: 0 | 1; strength?: number } | null): Promise<Buffer> {
    const file = path.join(work, `${fmt}-${mark ? `${mark.segment}-${mark.variant}-${mark.strength ?? 'd'}` : 'plain'}.raw`);
    // Times start before zero (as a chunk's might): every frame must still carry the mark.
    const pre = `[0:v]trim=start_frame=40:end_frame=45,setpts=PTS-STARTPTS-0.1/TB,scale=${W}:${H}:flags=bicubic,format=${fmt}`;
    const out = ['-f', 'rawvideo', '-pix_fmt', fmt, '-fps_mode', 'passthrough', '-y', `file:${file}`];
    const src = inputArgs(corpusFile('example-movie.mp4'));
    let args = [...src, '-filter_complex', `${pre}[m1]`, '-map', '[m1]', ...out];
    if (mark) {
      const m = await markFilter({ titleSeed: TITLE, width: W, height: H, ...mark }, work, 1);
      expect(m.files).toHaveLength(1);
      expect(m.dir.startsWith(work)).toBe(true);
      args = [...src, ...m.inputArgs, '-filter_complex', `${pre}[m0];${m.filter('m0', 'm1')}`, '-map', '[m1]', ...out];
    }
    const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args]);
    expect(r.code, r.stderr).toBe(0);
    return readFile(file);
  }

  for (const fmt of ['yuv420p', 'yuv422p10le']) {
    it(`adds exactly the pattern to luma and leaves chroma bit-identical (${fmt})`, async () => {
      const [plain, marked] = await Promise.all([raw(fmt, null), raw(fmt, { segment: 7, variant: 1 })]);
      const a = planes(plain, fmt, W, H);
      const b = planes(marked, fmt, W, H);
      expect(a.frames).toBe(5);
      expect(b.frames).toBe(5);
      const unit = fmt.endsWith('10le') ? 4 : 1;
      const max = fmt.endsWith('10le') ? 1023 : 255;
      const pattern = patternCodes(TITLE, 7, 1, W, H);
      let nonzero = 0;
      let beyond = 0;
      for (let f = 0; f < 5; f++) {
        expect(b.plane(f, 1)).toEqual(a.plane(f, 1));
        expect(b.plane(f, 2)).toEqual(a.plane(f, 2));
        const ya = a.plane(f, 0);
        const yb = b.plane(f, 0);
        for (let i = 0; i < ya.length; i++) {
          const want = Math.min(max, Math.max(0, ya[i]! + unit * pattern[i]!));
          if (yb[i] !== want) throw new Error(`frame ${f} pixel ${i}: ${yb[i]} ≠ ${ya[i]} + ${unit}·${pattern[i]}`);
          if (Math.abs(yb[i]! - ya[i]!) > unit * Math.ceil(DEFAULT_STRENGTH)) beyond++;
          if (yb[i] !== ya[i]) nonzero++;
        }
      }
      expect(beyond).toBe(0);
      expect(nonzero).toBeGreaterThan(5 * W * H * 0.3); // the mark is really there, on every frame
    });
  }

  it('changes nothing at zero strength, in every supported format', async () => {
    for (const fmt of ['yuv420p', 'yuv422p', 'yuv444p', 'yuv420p10le', 'yuv422p10le', 'yuv444p10le']) {
      const [plain, marked] = await Promise.all([raw(fmt, null), raw(fmt, { segment: 2, variant: 0, strength: 0 })]);
      expect(marked.length).toBe(plain.length);
      expect(marked.equals(plain), fmt).toBe(true);
    }
  });

  it('keeps request data out of the graph and refuses bad options', async () => {
    const m = await markFilter({ titleSeed: TITLE, segment: 0, variant: 0, width: W, height: H }, work, 3);
    expect(m.inputArgs).toContain(`file:${m.files[0]}`);
    expect(m.filter('a', 'b')).toMatch(/^\[3:v\]setpts=[^;]*\[b_fpat\];\[a\]\[b_fpat\]blend=[^;]*\[b\]$/);
    expect(() => m.filter('a]x', 'b')).toThrow(VpipeError);
    await expect(markFilter({ titleSeed: 'nothex', segment: 0, variant: 0, width: W, height: H }, work, 1)).rejects.toThrow(VpipeError);
    await expect(markFilter({ titleSeed: TITLE, segment: 0, variant: 0, width: 10, height: H }, work, 1)).rejects.toThrow(VpipeError);
    await expect(markFilter({ titleSeed: TITLE, segment: 0, variant: 0, width: W, height: H, strength: 50 }, work, 1)).rejects.toThrow(VpipeError);
  });
});

describe('forensic watermark end to end on example-movie.mp4', () => {
  const MARK = { width: 640, height: 360 };
  const SEGMENT_FRAMES = 6;
  const RECIPIENTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  const payloads = RECIPIENTS.map((r) => payloadFor(r, TITLE));
  let work: string;
  let original: string;
  let piece: Piece;
  let variants: VariantSet;
  let plainCopy: string;
  const copies: string[] = [];
  const leaks: string[] = [];
  const started = performance.now();

  // One decode of the original per leak size serves every detection.
  const originalCache = new OriginalFrameCache();
  const run = (leakPath: string, extra: { titleSeed?: string; candidates?: number[] } = {}): Promise<Detection> =>
    detect({ leakPath, originalPath: original, segments: piece.segments, titleSeed: extra.titleSeed ?? TITLE, markSize: MARK, candidates: extra.candidates, originalCache });

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vpipe-forensic-e2e-'));
    original = corpusFile('example-movie.mp4');
    piece = await cutPiece(original, { startFrame: 0, segmentFrames: SEGMENT_FRAMES, segments: CODEWORD_BITS, ...MARK }, work);
    variants = await encodeVariants(piece, TITLE, work);
    plainCopy = await concatFiles(variants.unmarked, path.join(work, 'unmarked.mp4'), variants.durations);
    await pool(2, RECIPIENTS.map((name, i) => async () => {
      copies[i] = await assembleRecipient(variants, payloads[i]!, path.join(work, `${name}.mp4`));
      leaks[i] = await leakAttack(copies[i]!, path.join(work, `${name}-leak.mp4`));
    }));
    console.log(`forensic e2e: media prepared in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 150_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`forensic e2e: total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  it('is invisible: every recipient copy against the unmarked encode at PSNR ≥ 45 dB', async () => {
    const values = await pool(2, copies.map((c) => () => psnr(c, plainCopy)));
    console.log(`forensic PSNR marked vs unmarked (CRF 18 veryfast, 640x360, strength ${DEFAULT_STRENGTH}): min ${Math.min(...values).toFixed(2)} dB, mean ${(values.reduce((a, b) => a + b) / values.length).toFixed(2)} dB`);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(45);
  }, 60_000);

  it('names the recipient of each of 8 attacked copies (CRF 30, half size)', async () => {
    // Every other one with the registry's list: the answer must be the same.
    const results = await pool(2, leaks.map((l, i) => () => run(l, { candidates: i % 2 ? payloads : undefined })));
    const signedZ: number[] = [];
    results.forEach((d, i) => {
      const bits = encodePayload(payloads[i]!);
      for (const s of d.segments) signedZ.push(bits[s.index % CODEWORD_BITS] ? s.z : -s.z);
      expect(d.framesCompared).toBe(CODEWORD_BITS * SEGMENT_FRAMES);
      expect(d.alignment).toBe('time');
      expect(d.leakSize).toEqual({ width: 320, height: 180 });
      expect({ recipient: RECIPIENTS[i], detected: d.detected, payload: d.payload }).toEqual({ recipient: RECIPIENTS[i], detected: true, payload: payloads[i] });
      expect(d.confidence).toBeGreaterThan(0.99);
    });
    // Burn-in on top of the mark (text and a box the original lacks), then the same attack.
    const burned = await run(await leakAttack(await burnIn(copies[3]!, path.join(work, 'burned.mp4')), path.join(work, 'burned-leak.mp4')));
    console.log(`forensic burn-in leak: payload ${burned.payload === payloads[3] ? 'right' : 'WRONG'}, statistic ${burned.statistic.toFixed(1)}`);
    expect(burned).toMatchObject({ detected: true, payload: payloads[3] });
    // A clip from later on (segments 10–47 of dave's copy): 10 codeword bits never seen, still decoded.
    const clip = await concatFiles(variants.files.slice(10).map((pair, k) => pair[variantFor(payloads[3]!, k + 10)]), path.join(work, 'clip.mp4'), variants.durations.slice(10));
    const partial = await detect({
      leakPath: await leakAttack(clip, path.join(work, 'clip-leak.mp4')), originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK,
      leakStartFrame: piece.segments[10]!.startFrame, originalCache,
    });
    console.log(`forensic clip from segment 10: ${partial.decoded.bitsWithData}/48 codeword bits seen, statistic ${partial.statistic.toFixed(1)}, posterior ${partial.decoded.posterior.toFixed(4)}`);
    expect(partial).toMatchObject({ detected: true, payload: payloads[3] });
    expect(partial.segments.slice(0, 10).every((s) => s.frames === 0)).toBe(true);
    // The cache only saves decoding: without it the same numbers.
    const fresh = await detect({ leakPath: leaks[0]!, originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK });
    expect(fresh.segments).toEqual(results[0]!.segments);
    const stats = results.map((d) => d.statistic);
    const right = signedZ.filter((z) => z > 0).length;
    console.log(
      `forensic leaks: 8/8 decoded; codeword statistic min ${Math.min(...stats).toFixed(1)} (threshold ${DETECT_THRESHOLD}); ` +
        `per-segment z of the right variant min ${Math.min(...signedZ).toFixed(2)}, mean ${(signedZ.reduce((a, b) => a + b) / signedZ.length).toFixed(2)}; ` +
        `${right}/${signedZ.length} segments on the right side; min confidence ${Math.min(...results.map((d) => d.confidence)).toFixed(4)}`,
    );
  }, 90_000);

  it('rejects 20+ copies that carry no mark of this title', async () => {
    const n = CODEWORD_BITS * SEGMENT_FRAMES;
    const at = (name: string): string => path.join(work, name);
    type Try = { name: string; make: () => Promise<string>; titleSeed?: string };
    const tries: Try[] = [
      { name: 'unmarked CRF 18 segments, full size', make: async () => plainCopy },
      { name: 'unmarked segments, attacked', make: () => leakAttack(plainCopy, at('unmarked-leak.mp4')) },
      ...([[18, 640, 360], [23, 640, 360], [28, 480, 270], [30, 320, 180], [35, 320, 180], [25, 854, 480]] as const).map(([crf, w, h]) => ({
        name: `unmarked CRF ${crf} ${w}x${h}`,
        make: () => plainEncode(original, at(`plain-${crf}-${w}.mp4`), { startFrame: 0, frames: n, width: w, height: h, crf }),
      })),
      ...RECIPIENTS.map((r, i) => ({ name: `${r}'s leak, another title's key`, make: async () => leaks[i]!, titleSeed: otherTitle(i) })),
      {
        name: 'other footage (balle-jbart.mp4)',
        make: () => plainEncode(corpusFile('balle-jbart.mp4'), at('balle.mp4'), { startFrame: 0, frames: 240, width: 320, height: 180, crf: 30 }),
      },
      {
        name: 'other footage (Megamind.avi)',
        make: () => plainEncode(corpusFile('Megamind.avi'), at('megamind.mp4'), { startFrame: 0, frames: 260, width: 640, height: 352, crf: 28 }),
      },
      {
        name: 'same file, another time range, unmarked',
        make: () => plainEncode(original, at('later.mp4'), { startFrame: 900, frames: n, width: 320, height: 180, crf: 30 }),
      },
      {
        name: 'same file, segments 8 later, marked with this key, attacked',
        make: async () => {
          const shifted = variants.files.map((_, k) => variants.files[(k + 8) % CODEWORD_BITS]![variantFor(payloads[0]!, (k + 8) % CODEWORD_BITS)]);
          const copy = await concatFiles(shifted, at('shifted.mp4'), variants.durations);
          return leakAttack(copy, at('shifted-leak.mp4'));
        },
      },
    ];
    expect(tries.length).toBeGreaterThanOrEqual(20);
    const results = await pool(2, tries.map((t, i) => async () => {
      const leak = await t.make();
      // Every other try with the registry's list too (its threshold is lower).
      return run(leak, { titleSeed: t.titleSeed, candidates: i % 2 ? payloads : undefined });
    }));
    results.forEach((d, i) => {
      expect({ name: tries[i]!.name, detected: d.detected, payload: d.payload }).toEqual({ name: tries[i]!.name, detected: false, payload: null });
    });
    const worst = results.reduce((w, d, i) => (d.statistic > results[w]!.statistic ? i : w), 0);
    console.log(
      `forensic negatives: ${results.length}/${results.length} rejected; max codeword statistic ${results[worst]!.statistic.toFixed(2)} (${tries[worst]!.name}; threshold ${DETECT_THRESHOLD}); ` +
        `max confidence ${Math.max(...results.map((d) => d.confidence)).toExponential(2)}`,
    );
  }, 120_000);

  it('throws BAD_REQUEST for unreadable inputs', async () => {
    await expect(detect({ leakPath: path.join(work, 'missing.mp4'), originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK })).rejects.toMatchObject({ code: ErrorCodes.BadRequest });
    const junk = path.join(work, 'unmarked.mp4.ffconcat'); // a text file
    await expect(detect({ leakPath: junk, originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK })).rejects.toMatchObject({ code: ErrorCodes.BadRequest });
    await expect(detect({ leakPath: original, originalPath: original, segments: [], titleSeed: TITLE, markSize: MARK })).rejects.toMatchObject({ code: ErrorCodes.BadRequest });
    // A reader stopped while ffmpeg waits on a full pipe still closes (a paused pipe never ends by itself).
    const reader = new LumaReader({ what: 'leak', file: leaks[0]! });
    expect(await reader.next()).not.toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    reader.kill();
    await reader.closed();
    // Aborted while decoding: both ffmpeg runs are stopped and the call fails as cancelled.
    const mid = new AbortController();
    const pending = detect({ leakPath: leaks[0]!, originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK, signal: mid.signal });
    setTimeout(() => mid.abort(), 150);
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.Cancelled });
    const ac = new AbortController();
    ac.abort();
    await expect(detect({ leakPath: leaks[0]!, originalPath: original, segments: piece.segments, titleSeed: TITLE, markSize: MARK, signal: ac.signal })).rejects.toMatchObject({ code: ErrorCodes.Cancelled });
  }, 30_000);
});
