/**
 * VQS's pure parts: pooling, segment planning (with the motion-context
 * frames at each boundary), the comparison size, the filter graph, and
 * parsing the per-frame logs; the metric-tool probe with a fake runner.
 */
import { describe, expect, it } from 'vitest';
import { segmentGraph, parseFrameMetadata, vmafModelOption, type SegmentSpec } from '../actors/vqs/compute/measure-segment.js';
import { metricTool } from '../actors/vqs/compute/metric-tool.js';
import { joinSegments, percentile, pool, psnrYuv } from '../actors/vqs/compute/pooling.js';
import { bitDepthOf } from '../actors/vqs/compute/probe.js';
import { compareSize, planSegments, segmentItem } from '../actors/vqs/steps.js';
import type { Plan, VqsJobInput } from '../actors/vqs/workflow.js';
import type { ToolRunner } from '../runtime/media/mod.js';

describe('pooling', () => {
  it('pools mean, libvmaf harmonic mean, min, max and linear percentiles', () => {
    const values = Array.from({ length: 101 }, (_, i) => i); // 0 … 100
    const p = pool(values);
    expect(p).toMatchObject({ mean: 50, min: 0, max: 100, p1: 1, p5: 5 });
    const h = values.length / values.reduce((s, x) => s + 1 / (x + 1), 0) - 1;
    expect(p.harmonicMean).toBeCloseTo(h, 5);
    expect(percentile([10, 20], 50)).toBe(15);
    expect(() => pool([])).toThrow(/no frames/);
  });

  it('weights PSNR 6:1:1 and joins segments frame by frame', () => {
    expect(psnrYuv(40, 48, 48)).toBe(42);
    const joined = joinSegments([
      { vmaf: [1, 2], psnrY: [30, 31] },
      { vmaf: [3], psnrY: [32], ssim: [0.9] },
    ]);
    // A column one segment lacks is not half-filled.
    expect(joined).toEqual({ vmaf: [1, 2, 3], psnrY: [30, 31, 32] });
  });
});

describe('planning', () => {
  it('cuts balanced segments that cover every frame once', () => {
    expect(planSegments(50, 1500)).toEqual([{ index: 0, startFrame: 0, endFrame: 50 }]);
    const s = planSegments(1001, 250);
    expect(s.map((x) => x.endFrame - x.startFrame).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(s.every((x, i) => i === 0 || x.startFrame === s[i - 1]!.endFrame)).toBe(true);
  });

  it('decodes one frame of motion context each side of a segment when VMAF is measured', () => {
    const job = { distortedPath: '/m/d.mp4', referencePath: '/m/r.mkv', vmaf: { model: 'vmaf_v0.6.1', phoneModel: false } } as VqsJobInput;
    const p = {
      metrics: ['vmaf', 'psnr'],
      compared: 50,
      reference: { streamIndex: 0 },
      distorted: { streamIndex: 1 },
      compare: { width: 640, height: 360, pixelFormat: 'yuv420p' },
      segments: planSegments(50, 25),
      secondsPerFrame: 0.04,
    } as unknown as Plan;
    const [a, b] = p.segments.map((s) => segmentItem('job1', job, p, s));
    expect([a!.decodeFrom, a!.startFrame, a!.endFrame, a!.decodeTo]).toEqual([0, 0, 25, 26]);
    expect([b!.decodeFrom, b!.startFrame, b!.endFrame, b!.decodeTo]).toEqual([24, 25, 50, 50]);
    expect(b!.mediaSeconds).toBeCloseTo(2);
    expect([b!.distortedStream, b!.referenceStream]).toEqual([1, 0]);
    const psnrOnly = segmentItem('job1', job, { ...p, metrics: ['psnr'] }, p.segments[1]!);
    expect([psnrOnly.decodeFrom, psnrOnly.decodeTo, psnrOnly.vmaf]).toEqual([25, 50, undefined]);
  });

  it('compares at the reference size, the model height at the reference aspect, or as asked (even)', () => {
    const ref = { width: 1280, height: 720 };
    const vmaf = { model: 'vmaf_v0.6.1' as const, phoneModel: false };
    expect(compareSize({ compareAt: 'reference', vmaf }, ref)).toEqual(ref);
    expect(compareSize({ compareAt: 'model', vmaf }, ref)).toEqual({ width: 1920, height: 1080 });
    expect(compareSize({ compareAt: 'model', vmaf: { ...vmaf, model: 'vmaf_4k_v0.6.1' } }, { width: 720, height: 576 })).toEqual({ width: 2700, height: 2160 });
    expect(compareSize({ compareAt: { width: 853, height: 481 }, vmaf }, ref)).toEqual({ width: 854, height: 482 });
  });

  it('reads bit depth from pixel format names', () => {
    expect(['yuv420p', 'yuvj422p', 'nv12', 'yuv420p10le', 'p010le', 'yuv444p12be'].map(bitDepthOf)).toEqual([8, 8, 8, 10, 10, 12]);
  });
});

describe('the filter graph', () => {
  const spec: SegmentSpec = {
    distortedPath: '/m/d.mp4', referencePath: '/m/r.mkv', distortedStream: 0, referenceStream: 2,
    decodeFrom: 24, decodeTo: 51, startFrame: 25, endFrame: 50, width: 1280, height: 720, pixelFormat: 'yuv420p',
    metrics: ['vmaf', 'psnr', 'ssim'], vmaf: { model: 'vmaf_v0.6.1neg', phoneModel: false }, threads: 2, mediaSeconds: 2,
  };

  it('cuts both inputs by frame count after decoding, numbers their frames, scales bicubic and chains the metrics', () => {
    const g = segmentGraph(spec, { meta: '/t/frames.log', vmaf: '/t/vmaf.json' });
    const prep = 'trim=start_frame=24:end_frame=51,settb=1/25,setpts=N,scale=1280:720:flags=bicubic,format=yuv420p';
    expect(g).toBe(
      `[0:0]${prep}[d0];[1:2]${prep},split=3[r0][r1][r2];` +
        '[d0][r0]psnr=shortest=1[d1];[d1][r1]ssim=shortest=1,metadata=mode=print:file=/t/frames.log[d2];' +
        '[d2][r2]libvmaf=model=version=vmaf_v0.6.1neg:n_threads=2:log_fmt=json:log_path=/t/vmaf.json:shortest=1',
    );
    expect(segmentGraph({ ...spec, metrics: ['psnr'] }, { meta: '/t/f', vmaf: '/t/v' })).toBe(`[0:0]${prep}[d0];[1:2]${prep}[r0];[d0][r0]psnr=shortest=1,metadata=mode=print:file=/t/f`);
    expect(vmafModelOption({ model: 'vmaf_v0.6.1', phoneModel: true })).toBe("'version=vmaf_v0.6.1\\:enable_transform=true'");
  });

  it('parses psnr and ssim frame metadata, capping identical planes at 100 dB', () => {
    const log = [
      'frame:0    pts:0       pts_time:0',
      'lavfi.psnr.mse.y=0.000000',
      'lavfi.psnr.psnr.y=inf',
      'lavfi.psnr.psnr.u=inf',
      'lavfi.psnr.psnr.v=inf',
      'lavfi.ssim.Y=1.000000',
      'frame:1    pts:1       pts_time:0.04',
      'lavfi.psnr.psnr.y=35.353462',
      'lavfi.psnr.psnr.u=37.513111',
      'lavfi.psnr.psnr.v=36.657814',
      'lavfi.ssim.Y=0.966756',
      'lavfi.ssim.All=0.972545',
    ].join('\n');
    expect(parseFrameMetadata(log)).toEqual({ psnrY: [100, 35.353462], psnrU: [100, 37.513111], psnrV: [100, 36.657814], ssim: [1, 0.966756] });
  });
});

describe('the metric tool probe', () => {
  const result = (stdout: string, code = 0, stderr = '') => ({ stdout, stderr, code, signal: null, durationMs: 1 });

  it('falls back to the OS ffmpeg when a fetched-style build cannot run, and reports libvmaf missing there', async () => {
    const calls: (string | undefined)[] = [];
    const run = (async (_tool, args, opts) => {
      calls.push(opts?.binary);
      if (opts?.binary === '/nope/ffmpeg') throw new Error('ffmpeg not found');
      if (args.includes('-version')) return result('ffmpeg version 5.1.9-0+deb12u1 Copyright\n');
      return result('', 1, "[AVFilterGraph @ 0x1] No such filter: 'libvmaf'\n");
    }) as ToolRunner;
    const named = await metricTool(run, '/nope/ffmpeg');
    // A build the user named is never swapped for another: PSNR/SSIM run on the OS ffmpeg, VMAF is reported missing with why.
    expect(named).toMatchObject({ binary: undefined, ffmpeg: '5.1.9-0+deb12u1', vmaf: { available: false, reason: expect.stringMatching(/VPIPE_VMAF_FFMPEG=\/nope\/ffmpeg cannot be run/) } });
    const os = await metricTool(run, '/usr/bin/ffmpeg');
    expect(os.vmaf).toEqual({ available: false, reason: expect.stringMatching(/\(ffmpeg 5\.1\.9-0\+deb12u1\): it has no libvmaf filter/) });
    expect(calls).toContain('/usr/bin/ffmpeg');
  });
});
