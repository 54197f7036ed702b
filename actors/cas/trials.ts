/**
 * The trials: one VES encode per grid point of the sample mezzanine, all
 * queued at once at the request's priority (so they share the encode work
 * queue), each measured by VQS against the mezzanine as soon as it is
 * encoded. CAS only speaks their public APIs over NATS, as child jobs
 * (runtime/jobs children: idempotent submission, so a resumed step finds the
 * same jobs and their results, and records a cancelled analysis cancels).
 */
import { setMaxListeners } from 'node:events';
import { ChildJobs, type StepDeps } from '../../runtime/jobs/mod.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import type { EncodeRequest, EncodeResult } from '../../schemas/ves.js';
import type { MeasureRequest, MeasureResult } from '../../schemas/vqs.js';
import type { GridPoint } from './compute/grid.js';
import { casMetrics } from './metrics.js';
import type { CasJobInput, Plan, SampleCut, Trial } from './workflow.js';

/** The VMAF model every trial is scored with (the 1080p TV model; part of the store key). */
export const TRIAL_VMAF_MODEL = 'vmaf_v0.6.1';

export const trialName = (p: GridPoint): string => `${p.width}x${p.height}_crf${p.crf}`;
export const trialPath = (plan: Plan, p: GridPoint): string => `${plan.workDir}/trial_${trialName(p)}.mp4`;

/** The VES request of one grid point: the mezzanine at the point's size and CRF, one chunk (a plain encode), IDR every 2 s, no validation (VQS checks the frame count). */
export function trialRequest(job: CasJobInput, plan: Plan, sample: SampleCut, p: GridPoint): EncodeRequest {
  return {
    source: { uri: sample.path },
    output: { uri: trialPath(plan, p), container: 'mp4' },
    recipe: {
      codec: job.codec,
      resolution: { width: p.width, height: p.height },
      rateControl: { mode: 'crf', value: p.crf },
      ...(job.grid.preset !== undefined ? { preset: job.grid.preset } : {}),
      ...(job.grid.speed !== undefined ? { speed: job.grid.speed } : {}),
      gop: { lengthSeconds: job.grid.gopSeconds },
      chunking: { enabled: false },
    },
    priority: job.priority,
    validate: false,
  };
}

export function measureRequest(job: CasJobInput, plan: Plan, sample: SampleCut, p: GridPoint): MeasureRequest {
  return {
    reference: { uri: sample.path },
    distorted: { uri: trialPath(plan, p) },
    metrics: ['vmaf', 'psnr', 'ssim'],
    vmaf: { model: TRIAL_VMAF_MODEL },
    allowWithoutVmaf: job.allowWithoutVmaf,
    priority: job.priority,
  };
}

const stopped = (what: string) => new VpipeError(ErrorCodes.Cancelled, `${what}: stopped`);

/**
 * Runs every trial; resolves with them in grid order. Throws at the first trial that fails (its child's
 * error), leaving the others to the job's end, which cancels them (see cancelChildren).
 */
export async function runTrials(job: CasJobInput, plan: Plan, sample: SampleCut, deps: StepDeps, signal: AbortSignal): Promise<Trial[]> {
  const children = new ChildJobs(deps.runtime, deps.jobId);
  const points = job.grid.points;
  const stop = new AbortController();
  // Every trial waits on it (its encode, then its measurement): one listener each, removed when it ends.
  setMaxListeners(points.length + 10, stop.signal);
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  try {
    // Every encode is queued before any is awaited: they share the work queue and its encoder actors.
    const encodes = await Promise.all(points.map((p, i) => children.submit('ves', 'encode', String(i), trialRequest(job, plan, sample, p), `trial ${trialName(p)}`)));
    const one = async (p: GridPoint, i: number): Promise<Trial> => {
      const what = `trial ${trialName(p)}`;
      const enc = (await children.result('ves', encodes[i]!, `${what} encode`, stop.signal)) as EncodeResult;
      // A stopped job starts no new child (a cancelled one would leave it running).
      if (stop.signal.aborted) throw stopped(what);
      const measureStart = Date.now();
      const vqsJob = await children.submit('vqs', 'measure', String(i), measureRequest(job, plan, sample, p), what);
      const m = (await children.result('vqs', vqsJob, `${what} measurement`, stop.signal)) as MeasureResult;
      const trial: Trial = { point: p, bytes: enc.output.sizeBytes, encodeSeconds: enc.encodeSeconds, encoder: enc.encoder, measureSeconds: (Date.now() - measureStart) / 1000 };
      if (m.metrics.vmaf) trial.vmaf = { mean: m.metrics.vmaf.mean, model: m.metrics.vmaf.model, version: m.metrics.vmaf.version };
      else trial.noVmaf = m.notMeasured.find((x) => x.metric === 'vmaf')?.reason ?? 'VQS did not measure VMAF';
      if (m.metrics.psnr) trial.psnr = m.metrics.psnr.mean;
      if (m.metrics.ssim) trial.ssim = m.metrics.ssim.mean;
      casMetrics.trials.inc({ codec: job.codec, outcome: 'ok' });
      deps.progress('trialling', ++done / points.length, { chunksDone: done, chunksTotal: points.length });
      return trial;
    };
    return await Promise.all(
      points.map((p, i) =>
        one(p, i).catch((e: unknown) => {
          if (!signal.aborted) casMetrics.trials.inc({ codec: job.codec, outcome: 'failed' });
          stop.abort();
          throw e;
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
