import { describe, expect, it } from 'vitest';
import { nearestFrame } from '../actors/ves/compute/source-frames.js';
import { planChunks } from '../actors/ves/compute/splitter.js';
import type { ChunkPlan } from '../schemas/ves.js';

const cfr = (frames: number, fps: number) => Array.from({ length: frames }, (_, i) => i / fps);

function expectContiguous(plan: ChunkPlan[], frames: number, end: number) {
  expect(plan[0]!.startFrame).toBe(0);
  expect(plan[0]!.seekSeconds).toBe(0);
  for (let i = 0; i < plan.length; i++) {
    const c = plan[i]!;
    expect(c.index).toBe(i);
    expect(c.endFrame).toBeGreaterThan(c.startFrame);
    if (i > 0) expect(c.startFrame).toBe(plan[i - 1]!.endFrame);
  }
  expect(plan.at(-1)!.endFrame).toBe(frames);
  const total = plan.reduce((s, c) => s + c.durationSeconds, 0);
  expect(total).toBeCloseTo(end, 9);
}

describe('splitter', () => {
  it('cuts a 10 s 25 fps source into 2 s chunks of 50 frames', () => {
    const t = cfr(250, 25);
    const plan = planChunks({ frameTimes: t, endSeconds: 10, chunking: { targetSeconds: 2 } });
    expect(plan.map((c) => c.endFrame - c.startFrame)).toEqual([50, 50, 50, 50, 50]);
    expectContiguous(plan, 250, 10);
    // The seek point lies strictly between the previous frame and the chunk's first frame.
    expect(plan[1]!.seekSeconds).toBeGreaterThan(t[49]!);
    expect(plan[1]!.seekSeconds).toBeLessThan(t[50]!);
  });

  it('keeps one chunk when chunking is disabled or the source is short', () => {
    expect(planChunks({ frameTimes: cfr(250, 25), endSeconds: 10, chunking: { enabled: false } })).toHaveLength(1);
    expect(planChunks({ frameTimes: cfr(30, 25), endSeconds: 1.2, chunking: { targetSeconds: 4 } })).toHaveLength(1);
    expect(planChunks({ frameTimes: [0], endSeconds: 0.04 })).toEqual([{ index: 0, startFrame: 0, endFrame: 1, seekSeconds: 0, startSeconds: 0, durationSeconds: 0.04 }]);
  });

  it('never leaves a tail shorter than the minimum', () => {
    const plan = planChunks({ frameTimes: cfr(260, 25), endSeconds: 10.4, chunking: { targetSeconds: 4, minSeconds: 2 } });
    expectContiguous(plan, 260, 10.4);
    for (const c of plan) expect(c.durationSeconds).toBeGreaterThanOrEqual(2);
  });

  it('moves boundaries to scene cuts inside the min–max window', () => {
    const plan = planChunks({
      frameTimes: cfr(250, 25),
      endSeconds: 10,
      chunking: { targetSeconds: 2, minSeconds: 1, maxSeconds: 3, alignToSceneCuts: true },
      sceneCuts: [45, 130, 240],
    });
    expectContiguous(plan, 250, 10);
    expect(plan.map((c) => c.startFrame)).toEqual(expect.arrayContaining([45, 130]));
  });

  it('moves boundaries to source keyframes when not following scene cuts', () => {
    const keyframes = [0, 60, 110, 170, 210];
    const plan = planChunks({ frameTimes: cfr(250, 25), endSeconds: 10, chunking: { targetSeconds: 2, minSeconds: 1, maxSeconds: 3 }, sourceKeyframes: keyframes });
    expectContiguous(plan, 250, 10);
    for (const c of plan.slice(1)) expect(keyframes).toContain(c.startFrame);
    // Scene cuts win over keyframes when asked for.
    const cutPlan = planChunks({ frameTimes: cfr(250, 25), endSeconds: 10, chunking: { targetSeconds: 2, minSeconds: 1, maxSeconds: 3, alignToSceneCuts: true }, sceneCuts: [45], sourceKeyframes: keyframes });
    expect(cutPlan[1]!.startFrame).toBe(45);
  });

  it('keeps VFR timing: each chunk spans exactly its frames\' presentation times', () => {
    const times: number[] = [];
    let t = 0;
    for (let i = 0; i < 300; i++) {
      times.push(t);
      t += i % 3 === 0 ? 1 / 60 : 1 / 20;
    }
    const plan = planChunks({ frameTimes: times, endSeconds: t, chunking: { targetSeconds: 1.5 } });
    expectContiguous(plan, 300, t);
    for (const c of plan) expect(c.startSeconds).toBe(times[c.startFrame]);
  });

  it('plans contiguous covering chunks for random frame timings', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rnd() * 400);
      const times: number[] = [];
      let t = rnd();
      for (let i = 0; i < n; i++) {
        times.push(t);
        t += 0.005 + rnd() * 0.1;
      }
      const plan = planChunks({ frameTimes: times, endSeconds: t, chunking: { targetSeconds: 0.5 + rnd() * 3 } });
      expect(plan[0]!.startFrame).toBe(0);
      expect(plan.at(-1)!.endFrame).toBe(n);
      for (let i = 1; i < plan.length; i++) expect(plan[i]!.startFrame).toBe(plan[i - 1]!.endFrame);
    }
  });

  it('finds the nearest frame to a time', () => {
    const t = cfr(10, 10);
    expect(nearestFrame(t, 0.26)).toBe(3);
    expect(nearestFrame(t, 0.24)).toBe(2);
    expect(nearestFrame(t, 5)).toBe(9);
  });
});
