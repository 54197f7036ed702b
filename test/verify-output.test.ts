/**
 * The frame-by-frame verifier is the truth other encoder tests lean on, so it
 * is tested here against outputs whose defects are made on purpose with plain
 * ffmpeg: a good encode, a dropped first frame, a garbage section, VFR sources
 * (and the CFR re-timing that breaks them), and an AVI with empty 'drop' chunks.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyOutput, PSNR_CAP } from './helpers/verify-output.js';

const exec = promisify(execFile);

let dir: string;
/** 3 s testsrc2, 320x240 @ 25 fps, lossless FFV1: 75 frames the encodes are measured against. */
let source: string;

async function ffmpeg(...args: string[]): Promise<void> {
  await exec('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { timeout: 60_000 });
}

function file(name: string): string {
  return path.join(dir, name);
}

/** A VFR source: `seconds` of 320x240 testsrc2 at 25 fps, then `seconds` at 10 fps, concatenated with their times passed through, encoded with `codec`. */
async function twoRateSource(out: string, seconds: number, ...codec: string[]): Promise<void> {
  await ffmpeg(
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=10:duration=${seconds}`,
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]',
    '-fps_mode', 'passthrough', ...codec, out,
  );
}

/** Chunk sizes from an AVI's legacy idx1 index (16-byte entries: id, flags, offset, size). */
function aviIndexSizes(buf: Buffer): number[] {
  const at = buf.indexOf('idx1', 0, 'latin1');
  if (at < 0) throw new Error('no idx1 in AVI');
  const n = Math.floor(buf.readUInt32LE(at + 4) / 16);
  const sizes: number[] = [];
  for (let k = 0; k < n; k++) {
    const e = at + 8 + 16 * k;
    if (buf.toString('latin1', e + 2, e + 4) === 'dc') sizes.push(buf.readUInt32LE(e + 12));
  }
  return sizes;
}

/** libx264 with B-frames, so the output has reordering and negative DTS like a real encode. */
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-bf', '3', '-pix_fmt', 'yuv420p'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vpipe-verify-output-'));
  source = file('source.mkv');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-c:v', 'ffv1', source);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('verifyOutput', () => {
  it('accepts a good libx264 encode: same frames, same times, increasing pts/dts, high PSNR', async () => {
    const out = file('good.mp4');
    await ffmpeg('-i', source, ...X264, out);
    const r = await verifyOutput(source, out);

    expect(r.sourceFrames).toBe(75);
    expect(r.outputFrames).toBe(75);
    expect(r.sourceTimes).toHaveLength(75);
    expect(r.outputTimes).toHaveLength(75);
    expect(r.sourceTimes[0]).toBe(0);
    expect(r.outputTimes[0]).toBe(0);
    expect(r.sourceTimes[74]).toBeCloseTo(2.96, 9);
    expect(r.ptsStrictlyIncreasing).toBe(true);
    expect(r.dtsStrictlyIncreasing).toBe(true);
    expect(r.outputDtsMissing).toBe(0);
    expect(r.outputDts).toHaveLength(75);
    // B-frames: decode order starts before presentation (negative DTS in MP4).
    expect(r.outputDts[0]!).toBeLessThan(0);
    expect(r.maxTimeErrorSeconds).toBeLessThan(0.001);
    expect(r.psnr).toHaveLength(75);
    expect(r.minPsnr).toBeGreaterThan(30);
    expect(r.meanPsnr).toBeGreaterThanOrEqual(r.minPsnr);
    expect(r.sourceTimesSynthesized).toBe(0);
    expect(r.outputTimesSynthesized).toBe(0);

    // The source against itself: every frame identical, psnr inf capped.
    const self = await verifyOutput(source, source);
    expect(self.psnr).toHaveLength(75);
    expect(self.psnr.every((p) => p === PSNR_CAP)).toBe(true);
  });

  it('detects one frame dropped at the start even though every timestamp still lines up', async () => {
    const out = file('drop-first.mp4');
    await ffmpeg('-i', source, '-vf', 'trim=start_frame=1,setpts=PTS-STARTPTS', ...X264, out);
    const r = await verifyOutput(source, out);

    expect(r.outputFrames).toBe(r.sourceFrames - 1);
    expect(r.psnr).toHaveLength(Math.min(r.sourceFrames, r.outputFrames));
    // Re-timed to start at 0, so timestamps alone cannot see the loss...
    expect(r.maxTimeErrorSeconds).toBeLessThan(0.001);
    // ...but pixels paired by index are all one frame off.
    const collapsed = r.psnr.filter((p) => p < 30).length;
    expect(collapsed).toBeGreaterThan(0.9 * r.psnr.length);
    expect(r.minPsnr).toBeLessThan(30);
    expect(r.meanPsnr).toBeLessThan(30);
  });

  it('pins a garbage section to exactly the frames it covers', async () => {
    const out = file('garbage.mp4');
    await ffmpeg(
      '-i', source,
      '-vf', "geq=lum='random(1)*255':cb='random(2)*255':cr='random(3)*255':enable='between(n,30,40)'",
      ...X264, out,
    );
    const r = await verifyOutput(source, out);

    expect(r.outputFrames).toBe(75);
    expect(r.psnr).toHaveLength(75);
    expect(r.minPsnr).toBeLessThan(20);
    const bad = r.psnr.flatMap((p, i) => (p < 20 ? [i] : []));
    expect(bad).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
    const good = r.psnr.filter((_, i) => i < 30 || i > 40);
    expect(Math.min(...good)).toBeGreaterThan(30);
    expect(r.maxTimeErrorSeconds).toBeLessThan(0.001);
  });

  it('keeps VFR times equal through a timestamp-preserving encode and catches CFR re-timing', async () => {
    // (a) Two rates concatenated: 2 s at 25 fps, then 2 s at 10 fps.
    const tworate = file('tworate.mp4');
    await twoRateSource(tworate, 2, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10');
    const tworateOut = file('tworate-out.mkv');
    await ffmpeg('-i', tworate, '-fps_mode', 'passthrough', '-enc_time_base', '-1', ...X264, tworateOut);
    const a = await verifyOutput(tworate, tworateOut);
    const steps = new Set(a.sourceTimes.slice(1).map((t, i) => Math.round((t - a.sourceTimes[i]!) * 1000)));
    expect(steps).toEqual(new Set([40, 100]));
    expect(a.outputFrames).toBe(a.sourceFrames);
    expect(a.maxTimeErrorSeconds).toBeLessThan(0.001);
    expect(a.ptsStrictlyIncreasing).toBe(true);
    // Matroska stores no DTS: lavf reports N/A for the leading B-frame packets; the known ones still increase.
    expect(a.dtsStrictlyIncreasing).toBe(true);
    expect(a.outputDtsMissing).toBeGreaterThan(0);
    expect(a.outputDts.filter((d) => Number.isNaN(d))).toHaveLength(a.outputDtsMissing);
    expect(a.minPsnr).toBeGreaterThan(30);

    // (b) Jittered timestamps written by the setts bsf: 40 ms + (7n mod 13) ms, never uniform.
    const jitter = file('jitter.mkv');
    await ffmpeg('-i', source, '-c:v', 'ffv1', '-bsf:v', 'setts=ts=N*40+mod(N*7\\,13)', jitter);
    const jitterOut = file('jitter-out.mp4');
    await ffmpeg('-i', jitter, '-fps_mode', 'passthrough', '-enc_time_base', '-1', ...X264, jitterOut);
    const b = await verifyOutput(jitter, jitterOut);
    expect(b.sourceTimes.slice(0, 4).map((t) => Math.round(t * 1000))).toEqual([0, 47, 81, 128]);
    expect(b.outputFrames).toBe(75);
    expect(b.sourceFrames).toBe(75);
    expect(b.maxTimeErrorSeconds).toBeLessThan(0.001);
    expect(b.ptsStrictlyIncreasing).toBe(true);
    expect(b.dtsStrictlyIncreasing).toBe(true);
    expect(b.outputDtsMissing).toBe(0);
    expect(b.minPsnr).toBeGreaterThan(30);

    // Negative control: without -enc_time_base, ffmpeg 5.1 quantises "passthrough" timestamps to a
    // 1/25 s encoder time base; same frames and pixels, but the jitter is gone and the check sees it.
    const quantised = file('jitter-quantised.mp4');
    await ffmpeg('-i', jitter, '-fps_mode', 'passthrough', ...X264, quantised);
    const c = await verifyOutput(jitter, quantised);
    expect(c.outputFrames).toBe(75);
    expect(c.minPsnr).toBeGreaterThan(30);
    expect(c.maxTimeErrorSeconds).toBeGreaterThan(0.005);
  });

  it('counts an AVI with empty drop chunks by decoded frames, and catches frames duplicated to fill them', async () => {
    // VFR into AVI: the muxer writes zero-size chunks for the 1/25 s slots that have no frame.
    const vfr = file('avi-src.mkv');
    await twoRateSource(vfr, 1, '-c:v', 'ffv1');
    const avi = file('drops.avi');
    await ffmpeg('-i', vfr, '-fps_mode', 'passthrough', '-r', '25', '-c:v', 'mpeg4', '-q:v', '2', avi);
    // The premise: idx1 holds 35 real chunks (25 + 10 frames) plus empty ones for the 1/25 s slots of the 10 fps second.
    const idx = aviIndexSizes(await readFile(avi));
    expect(idx.filter((size) => size === 0).length).toBeGreaterThanOrEqual(10);
    expect(idx.filter((size) => size > 0)).toHaveLength(35);

    const kept = file('drops-passthrough.mp4');
    await ffmpeg('-i', avi, '-fps_mode', 'passthrough', ...X264, kept);
    const r = await verifyOutput(avi, kept);
    expect(r.sourceFrames).toBe(35);
    expect(r.outputFrames).toBe(r.sourceFrames);
    expect(r.maxTimeErrorSeconds).toBeLessThan(0.001);
    expect(r.minPsnr).toBeGreaterThan(30);

    // ffmpeg's default CFR for MP4 fills each empty chunk with a duplicated frame.
    const filled = file('drops-cfr.mp4');
    await ffmpeg('-i', avi, '-fps_mode', 'cfr', ...X264, filled);
    const d = await verifyOutput(avi, filled);
    expect(d.outputFrames).toBeGreaterThan(d.sourceFrames);
    expect(d.psnr).toHaveLength(d.sourceFrames);
    expect(d.maxTimeErrorSeconds).toBeGreaterThan(0.02);
    expect(d.minPsnr).toBeLessThan(30);
  });

  it('compares at a given size and survives a mid-stream resolution change in the source', async () => {
    const a = file('part-a.ts');
    const b = file('part-b.ts');
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', '-c:v', 'libx264', '-crf', '10', a);
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=1', '-c:v', 'libx264', '-crf', '10', b);
    // Byte-concatenated MPEG-TS: 25 frames at 320x240, then 25 at 160x120, both parts starting at the same PTS.
    const joined = file('joined.ts');
    await writeFile(joined, Buffer.concat([await readFile(a), await readFile(b)]));
    const out = file('joined-out.mp4');
    await ffmpeg('-i', joined, '-fps_mode', 'passthrough', '-vf', 'scale=640:480', ...X264, out);

    const r = await verifyOutput(joined, out, { width: 160, height: 120 });
    expect(r.sourceFrames).toBe(50);
    expect(r.outputFrames).toBe(50);
    expect(r.psnr).toHaveLength(50);
    expect(r.minPsnr).toBeGreaterThan(30);
  });
});
