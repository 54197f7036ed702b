/**
 * The LGS ladder machine with fake steps: persisted while waiting on CAS,
 * restored, it re-runs only the analysis and builds from it; persisted
 * after the analysis, it builds without asking CAS again; `{type: 'cancel'}`
 * while analysing ends in `cancelled` and aborts the wait; a failed step
 * fails the job with its error.
 */
import { describe, expect, it } from 'vitest';
import { createActor, waitFor } from 'xstate';
import type { Analysis } from '../actors/lgs/analysis.js';
import { ladderMachine, type LgsJobInput } from '../actors/lgs/workflow.js';
import { ErrorCodes, VpipeError } from '../runtime/core/mod.js';
import type { LadderResult } from '../schemas/lgs.js';
import { CANCELLED_OUTPUT, cancelDuring, FakeSteps, finishFrom, persistAt } from './helpers/machine-steps.js';

const job: LgsJobInput = { sourceUri: 'file:///m/src.mp4', codec: 'h264', allowWithoutVmaf: false, priority: 'normal' };
const analysis: Analysis = {
  jobId: 'cas-1',
  contentHash: 'c0ffee',
  cached: false,
  metric: 'vmaf',
  source: { width: 1280, height: 720 },
  points: [{ width: 640, height: 360, crf: 30, kbps: 400, quality: 70 }],
  encoder: {},
  notes: [],
};
const result = { rungs: [], hull: [], from: 'build' } as unknown as LadderResult;

const provided = (steps: FakeSteps, buildFails?: Error) =>
  ladderMachine.provide({
    actors: {
      analyse: steps.step<LgsJobInput, Analysis>('analyse', () => analysis),
      build: steps.step<{ job: LgsJobInput; analysis: Analysis }, LadderResult>('build', () => {
        if (buildFails) throw buildFails;
        return result;
      }),
    },
  });

describe('LGS ladder machine', () => {
  it('restored from a snapshot persisted while analysing, re-runs only the analysis, then builds from it', async () => {
    const first = new FakeSteps(['analyse']);
    const persisted = await persistAt(provided(first), job, 'analysing');
    expect(first.signals.get('analyse')?.aborted).toBe(true); // the crash stops the wait on CAS too

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['analyse', 'build']);
    expect(second.inputs.get('build')).toEqual({ job, analysis });
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('restored after the analysis, builds without asking CAS again', async () => {
    const first = new FakeSteps(['build']);
    const persisted = await persistAt(provided(first), job, 'building');
    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['build']);
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('cancelled while analysing ends in cancelled with the CANCELLED output and stops waiting on CAS', async () => {
    const { steps, persisted } = await cancelDuring(provided, job, 'analysing', 'analyse');
    expect(steps.calls).toEqual(['analyse']);
    const again = createActor(provided(new FakeSteps()), { input: job, snapshot: persisted }).start().getSnapshot();
    expect([again.status, again.value, again.output]).toEqual(['done', 'cancelled', CANCELLED_OUTPUT]);
  });

  it('fails with the step’s error as a wire body', async () => {
    const err = new VpipeError(ErrorCodes.BadRequest, 'no resolution CAS measured can carry a rung');
    const snap = await waitFor(createActor(provided(new FakeSteps(), err), { input: job }).start(), (s) => s.status === 'done');
    expect(snap.value).toBe('failed');
    expect(snap.output).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: 'no resolution CAS measured can carry a rung', retryable: false } });
  });
});
