/**
 * VVS measurement arithmetic without media: the packet-list summary
 * (presentation order, discards, raw streams, GOPs, keyframe runs) and the
 * validation machine's step order with fake steps.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { fromRuns, isKeyframe, longestGop, MAX_KEYFRAME_RUNS, nearestKeyframes, PacketCollector, parseRate, scrub, toRuns, type MeasureData } from '../actors/vvs/compute/index.js';
import { validationMachine, type VvsJobInput } from '../actors/vvs/workflow.js';
import { ErrorCodes, VpipeError } from '../runtime/core/errors.js';
import type { ValidateResult } from '../schemas/vvs.js';

const line = (pts: string, flags: string, size = 100, dts = pts, dur = '0.040000') => `pts_time=${pts}|dts_time=${dts}|duration_time=${dur}|size=${size}|flags=${flags}`;

describe('PacketCollector', () => {
  it('numbers frames in presentation order: B-frames arrive in decode order', () => {
    const c = new PacketCollector();
    // decode order I P B B | I P B B, pts 0 3 1 2 | 4 7 5 6 (x 0.04 s)
    const pts = [0, 3, 1, 2, 4, 7, 5, 6];
    pts.forEach((p, i) => c.push(line((p * 0.04).toFixed(6), i % 4 === 0 ? 'K_' : '__', 10, (i * 0.04 - 0.08).toFixed(6))));
    const s = c.summary(0.04);
    expect(s).toMatchObject({ frameCount: 8, totalBytes: 80, order: 'pts', keyframeCount: 2, maxGopFrames: 4, spanSeconds: 0.32 });
    expect(fromRuns(s.keyframes!)).toEqual([0, 4]);
  });

  it('finds a keyframe reordered behind a B-frame (open GOP) at its presentation index', () => {
    const c = new PacketCollector();
    [
      ['0.000000', 'K_'],
      ['0.120000', '__'],
      ['0.040000', '__'],
      ['0.080000', '__'],
      ['0.240000', 'K_'],
      ['0.160000', '__'],
      ['0.200000', '__'],
    ].forEach(([p, f]) => c.push(line(p!, f!)));
    expect(fromRuns(c.summary(0.04).keyframes!)).toEqual([0, 6]);
  });

  it('skips discarded packets (edit-list trims) and lines that are not packets', () => {
    const c = new PacketCollector();
    c.push(line('-0.040000', 'K_D'));
    c.push(line('0.000000', 'K_'));
    c.push('');
    c.push('side_data_type=Matroska BlockAdditional');
    c.push(`${line('0.040000', '__')}|`);
    expect(c.summary(0.04)).toMatchObject({ frameCount: 2, keyframeCount: 1, totalBytes: 200 });
  });

  it('keeps decode order and sums packet durations for raw streams without timestamps', () => {
    const c = new PacketCollector();
    for (let i = 0; i < 25; i++) c.push(line('N/A', i % 10 === 0 ? 'K_' : '__', 10, 'N/A'));
    const s = c.summary(null);
    expect(s).toMatchObject({ order: 'decode', frameCount: 25, spanSeconds: 1, maxGopFrames: 10, maxGopStart: 0 });
    expect(fromRuns(s.keyframes!)).toEqual([0, 10, 20]);
  });

  it('uses the frame interval when the last packet has no duration (IVF)', () => {
    const c = new PacketCollector();
    c.push(line('0.000000', 'K_', 1, '0.000000', 'N/A'));
    c.push(line('0.040000', '__', 1, '0.040000', 'N/A'));
    expect(c.summary(0.04).spanSeconds).toBe(0.08);
  });

  it('drops a keyframe list too irregular to keep in the snapshot, keeping the counts', () => {
    const c = new PacketCollector();
    // keyframe gaps alternate 1, 2: every run holds two keyframes
    let frame = 0;
    const keys = new Set<number>();
    for (let k = 0; keys.size < 2 * MAX_KEYFRAME_RUNS + 10; k++) keys.add((frame += k % 2 ? 2 : 1));
    for (let i = 0; i <= frame; i++) c.push(line((i / 25).toFixed(6), keys.has(i) ? 'K_' : '__'));
    const s = c.summary(0.04);
    expect(s.keyframes).toBeNull();
    expect(s.keyframeCount).toBe(keys.size);
  });
});

describe('GOPs and keyframe runs', () => {
  it('measures the longest GOP including leading frames and the tail', () => {
    expect(longestGop([0, 10, 20], 50)).toEqual({ length: 30, start: 20 });
    expect(longestGop([5, 10], 12)).toEqual({ length: 5, start: 0 });
    expect(longestGop([], 7)).toEqual({ length: 7, start: 0 });
    expect(longestGop([0], 1)).toEqual({ length: 1, start: 0 });
  });

  it('compresses keyframes to arithmetic runs and back', () => {
    const frames = [0, 10, 20, 30, 35, 48, 96, 144];
    const runs = toRuns(frames);
    expect(runs).toEqual([
      { start: 0, step: 10, count: 4 },
      { start: 35, step: 13, count: 2 },
      { start: 96, step: 48, count: 2 },
    ]);
    expect(fromRuns(runs)).toEqual(frames);
    expect(toRuns(Array.from({ length: 100_000 }, (_, i) => i))).toHaveLength(1);
  });

  it('finds the keyframes around a frame', () => {
    const runs = toRuns([0, 10, 20, 30, 35, 48]);
    expect(nearestKeyframes(runs, 7)).toEqual({ previous: 0, next: 10 });
    expect(nearestKeyframes(runs, 30)).toEqual({ previous: 30, next: 35 });
    expect(nearestKeyframes(runs, 33)).toEqual({ previous: 30, next: 35 });
    expect(nearestKeyframes(runs, 99)).toEqual({ previous: 48, next: null });
    expect(nearestKeyframes(toRuns([5]), 2)).toEqual({ previous: null, next: 5 });
    expect([0, 10, 35, 48, 11, 49].map((f) => isKeyframe(runs, f))).toEqual([true, true, true, true, false, false]);
  });
});

describe('small parsers', () => {
  it('parses frame rates, refusing 0/0', () => {
    expect([parseRate('25/1'), parseRate('0/0'), parseRate('N/A'), parseRate(undefined)]).toEqual([25, null, null, null]);
    expect(parseRate('30000/1001')).toBeCloseTo(29.97, 2);
  });

  it('scrubs server paths and context addresses from tool lines', () => {
    const input = { path: '/srv/media/a (1).mp4', uri: 'file:///media/a (1).mp4' };
    expect(scrub('[h264 @ 0x55d0c0ffee00] bad: file:/srv/media/a (1).mp4', input)).toBe('[h264] bad: file:///media/a (1).mp4');
  });
});

describe('validation machine', () => {
  const job: VvsJobInput = { uri: 'file:///m/a.mp4', path: '/m/a.mp4', expectations: { frameCount: 50 } };
  const measured = { kind: 'vvs.measure', fake: true } as unknown as MeasureData;
  const result: ValidateResult = { ok: false, discrepancies: [], measured: {} as ValidateResult['measured'] };

  it('measures, then compares the measurement, and outputs the result', async () => {
    const calls: string[] = [];
    const machine = validationMachine.provide({
      actors: {
        measure: fromPromise(async ({ input }) => {
          calls.push(`measure ${input.path}`);
          return measured;
        }),
        compare: fromPromise(async ({ input }) => {
          calls.push('compare');
          expect(input.measure).toBe(measured);
          expect(input.job.expectations).toEqual({ frameCount: 50 });
          return result;
        }),
      },
    });
    const snap = await waitFor(createActor(machine, { input: job }).start(), (s) => s.status === 'done');
    expect(calls).toEqual(['measure /m/a.mp4', 'compare']);
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('ends failed with the measure error as a wire body', async () => {
    const machine = validationMachine.provide({
      actors: {
        measure: fromPromise(async (): Promise<MeasureData> => {
          throw new VpipeError(ErrorCodes.ToolTimeout, 'ffprobe took too long', { retryable: true });
        }),
      },
    });
    const snap = await waitFor(createActor(machine, { input: job }).start(), (s) => s.status === 'done');
    expect(snap.value).toBe('failed');
    expect(snap.output).toEqual({ ok: false, error: { code: 'TOOL_TIMEOUT', message: 'ffprobe took too long', retryable: true } });
  });
});
