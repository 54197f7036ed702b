import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { inspectionMachine, type VisJobInput } from '../actors/vis/workflow.js';
import { ErrorCodes, VpipeError } from '../runtime/core/errors.js';
import type { JobOutput } from '../runtime/jobs/service-definition.js';
import type { ProbeData, ScanData } from '../actors/vis/compute/index.js';
import type { InspectResult } from '../schemas/vis.js';

// Stand-ins: the machine only moves these values between steps.
const probeOut = { fake: 'probe' } as unknown as ProbeData;
const scanOut = { fake: 'scan' } as unknown as ScanData;

const job: VisJobInput = { uri: 'file:///m/a.mp4', path: '/m/a.mp4', decodeCheck: true };

function fakes(calls: string[], opts: { scanFails?: unknown } = {}) {
  return inspectionMachine.provide({
    actors: {
      probe: fromPromise(async () => {
        calls.push('probe');
        return probeOut;
      }),
      scan: fromPromise(async ({ input }) => {
        calls.push('scan');
        expect(input.probe).toEqual({ fake: 'probe' });
        if (opts.scanFails) throw opts.scanFails;
        return scanOut;
      }),
      analyse: fromPromise(async ({ input }) => {
        calls.push('analyse');
        return { from: [input.probe, input.scan] } as unknown as InspectResult;
      }),
    },
  });
}

describe('VIS inspection machine', () => {
  it('runs probe, scan and analyse in order and outputs the result', async () => {
    const calls: string[] = [];
    const actor = createActor(fakes(calls), { input: job }).start();
    const snap = await waitFor(actor, (s) => s.status === 'done');
    expect(calls).toEqual(['probe', 'scan', 'analyse']);
    expect(snap.output).toEqual({ ok: true, result: { from: [{ fake: 'probe' }, { fake: 'scan' }] } } satisfies JobOutput);
  });

  it('ends failed with the step error as a wire body, keeping its code and retryable flag', async () => {
    const calls: string[] = [];
    const err = new VpipeError(ErrorCodes.ToolTimeout, 'ffmpeg took too long', { retryable: true });
    const actor = createActor(fakes(calls, { scanFails: err }), { input: job }).start();
    const snap = await waitFor(actor, (s) => s.status === 'done');
    expect(snap.value).toBe('failed');
    expect(snap.output).toEqual({ ok: false, error: { code: 'TOOL_TIMEOUT', message: 'ffmpeg took too long', retryable: true } });
    expect(calls).toEqual(['probe', 'scan']);
  });

  it('maps a plain thrown error to INTERNAL', async () => {
    const actor = createActor(fakes([], { scanFails: new Error('boom') }), { input: job }).start();
    const snap = await waitFor(actor, (s) => s.status === 'done');
    expect((snap.output as JobOutput & { ok: false }).error.code).toBe('INTERNAL');
  });

  it('resumes from a snapshot persisted at the scanning step without probing again', async () => {
    // First run: stop as soon as scanning starts, as a crash would.
    let release!: () => void;
    const blocked = inspectionMachine.provide({
      actors: {
        probe: fromPromise(async () => probeOut),
        scan: fromPromise(() => new Promise<ScanData>((r) => (release = () => r(scanOut)))),
        analyse: fromPromise(async () => ({}) as InspectResult),
      },
    });
    const a1 = createActor(blocked, { input: job }).start();
    await waitFor(a1, (s) => s.value === 'scanning');
    // The snapshot must survive a MessagePack/JSON round trip, as it does through KV.
    const persisted = JSON.parse(JSON.stringify(a1.getPersistedSnapshot()));
    a1.stop();
    release();

    const calls: string[] = [];
    const a2 = createActor(fakes(calls), { input: job, snapshot: persisted }).start();
    const snap = await waitFor(a2, (s) => s.status === 'done');
    expect(calls).toEqual(['scan', 'analyse']);
    expect(snap.value).toBe('succeeded');
  });
});
