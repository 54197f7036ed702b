/**
 * The trials: one VES encode per grid point of the sample mezzanine, all
 * queued at once at the request's priority (so they share the encode work
 * queue), each measured by VQS against the mezzanine as soon as it is
 * encoded. CAS only speaks their public APIs over NATS. Every child is
 * submitted with an idempotency key, so a resumed step finds the same jobs
 * (and their results in the events stream), and is recorded under
 * `<casJobId>.child.<n>` in `vpipe_chunks`, so a cancelled or failed analysis
 * can cancel what it started.
 */
import { type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { ErrorCodes, ServiceRequestError, VpipeError } from '../../runtime/core/mod.js';
import { KV_CHUNKS, kvPutSubject, kvStream, type RuntimeContext, Subjects, withJsRetry } from '../../runtime/nats/mod.js';
import { ERROR_CODES, type ErrorBody, type JobEvent } from '../../schemas/api.js';
import type { EncodeRequest, EncodeResult } from '../../schemas/ves.js';
import type { MeasureRequest, MeasureResult } from '../../schemas/vqs.js';
import type { GridPoint } from './compute/grid.js';
import { casMetrics } from './metrics.js';
import type { CasJobInput, Plan, SampleCut, Trial } from './workflow.js';

/** The VMAF model every trial is scored with (the 1080p TV model; part of the store key). */
export const TRIAL_VMAF_MODEL = 'vmaf_v0.6.1';

const SUBMIT_TIMEOUT_MS = 60_000;
/** How long one child may take; the job's own cancellation ends the wait sooner. */
const CHILD_TIMEOUT_MS = 24 * 3600_000;

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

/** A child's failure as the trial's: the child's own code where it is one of ours (TOOL_MISSING stays TOOL_MISSING), its message kept. */
function childError(what: string, e: ErrorBody | undefined): VpipeError {
  const code = e && (ERROR_CODES as readonly string[]).includes(e.code) && e.code !== ErrorCodes.Cancelled ? e.code : ErrorCodes.ToolFailed;
  return new VpipeError(code, `${what}: ${e?.message ?? 'no reason given'}`, { details: e?.details });
}

async function submit(client: VpipeClient, deps: StepDeps, svc: 'ves' | 'vqs', n: number, body: unknown, what: string): Promise<string> {
  const subject = svc === 'ves' ? 'vpipe.ves.encode' : 'vpipe.vqs.measure';
  try {
    const { jobId } = await client.request<{ jobId: string }>(subject, body, { idempotencyKey: `${deps.jobId}.${svc}.${n}`, timeoutMs: SUBMIT_TIMEOUT_MS });
    await withJsRetry(() => deps.runtime.topology.chunks.put(childKey(deps.jobId, svc, n), jobId));
    return jobId;
  } catch (e) {
    // A refusal is the child service's clear answer (VQS without libvmaf: TOOL_MISSING and how to get it): passed on as it is.
    if (e instanceof ServiceRequestError) throw childError(`${what}: ${subject} refused it`, e.body);
    throw e;
  }
}

const stopped = (what: string) => new VpipeError(ErrorCodes.Cancelled, `${what}: stopped`);

async function result(client: VpipeClient, svc: 'ves' | 'vqs', jobId: string, what: string, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) throw stopped(what);
  const ev: JobEvent = await client.waitForResult(svc, jobId, { timeoutMs: CHILD_TIMEOUT_MS, signal });
  if (ev.state !== 'succeeded') throw childError(`${what} (${svc} job ${jobId}) ${ev.state}`, ev.error);
  return ev.result;
}

/**
 * Runs every trial; resolves with them in grid order. Throws at the first trial that fails (its child's
 * error), leaving the others to the job's end, which cancels them (see cancelChildren).
 */
export async function runTrials(job: CasJobInput, plan: Plan, sample: SampleCut, deps: StepDeps, signal: AbortSignal): Promise<Trial[]> {
  const client = new VpipeClient(deps.runtime.nc);
  const points = job.grid.points;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  try {
    // Every encode is queued before any is awaited: they share the work queue and its encoder actors.
    const encodes = await Promise.all(points.map((p, i) => submit(client, deps, 'ves', i, trialRequest(job, plan, sample, p), `trial ${trialName(p)}`)));
    const one = async (p: GridPoint, i: number): Promise<Trial> => {
      const what = `trial ${trialName(p)}`;
      const enc = (await result(client, 'ves', encodes[i]!, `${what} encode`, stop.signal)) as EncodeResult;
      // A stopped job starts no new child (a cancelled one would leave it running).
      if (stop.signal.aborted) throw stopped(what);
      const measureStart = Date.now();
      const vqsJob = await submit(client, deps, 'vqs', i, measureRequest(job, plan, sample, p), what);
      const m = (await result(client, 'vqs', vqsJob, `${what} measurement`, stop.signal)) as MeasureResult;
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

export const childKey = (casJobId: string, svc: 'ves' | 'vqs', n: number): string => `${casJobId}.child.${svc}_${n}`;

/** Asks every child job the analysis started to cancel (those already ended answer so and stay as they are), then removes the records. Never throws. */
export async function cancelChildren(ctx: RuntimeContext, casJobId: string): Promise<void> {
  const kv = ctx.topology.chunks;
  const client = new VpipeClient(ctx.nc);
  const keys: string[] = [];
  try {
    for await (const k of await kv.keys(`${casJobId}.child.>`)) keys.push(k);
  } catch (e) {
    ctx.log.warn({ err: e, jobId: casJobId }, 'could not list the analysis child jobs');
  }
  await Promise.all(
    keys.map(async (k) => {
      const svc = k.split('.').pop()!.split('_')[0]!;
      const jobId = (await kv.get(k).catch(() => null))?.string();
      if (!jobId || (svc !== 'ves' && svc !== 'vqs')) return;
      await client.request(Subjects.endpoint(svc, 'cancel'), { jobId }, { timeoutMs: 10_000 }).catch((e: unknown) => ctx.log.warn({ err: e, child: jobId }, 'could not cancel a child job'));
    }),
  );
  await purgeChildRecords(ctx, casJobId);
}

/** Removes the child records of an analysis in one call. Never throws. */
export async function purgeChildRecords(ctx: RuntimeContext, casJobId: string): Promise<void> {
  await withJsRetry(() => ctx.jsm.streams.purge(kvStream(KV_CHUNKS), { filter: `${kvPutSubject(KV_CHUNKS, casJobId)}.>` })).catch(() => undefined);
}
