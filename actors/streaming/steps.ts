/**
 * The streaming job's steps. The services are called only through their
 * public NATS APIs, as child jobs (runtime/jobs children: idempotent
 * submission, recorded so a cancelled job cancels them); audio, text and
 * packaging run here, in the workflow process, on files under the media root.
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { ChildJobs, type StepDeps } from '../../runtime/jobs/mod.js';
import type { ProgressEvent } from '../../schemas/api.js';
import type { LadderRequest, LadderResult } from '../../schemas/lgs.js';
import { PACKAGING_DEFAULTS } from '../../schemas/streaming.js';
import type { EncodeRequest, EncodeResult } from '../../schemas/ves.js';
import type { InspectResult } from '../../schemas/vis.js';
import type { MeasureRequest, MeasureResult } from '../../schemas/vqs.js';
import { packageStreams } from './compute/package/index.js';
import { even, fixedRungs, perTitleRungs } from './ladder.js';
import type { Encoded, EncodedRung, LadderPlan, Measured, MeasuredRung, Packaged, PlannedRung, SourceFacts, StreamingJobInput, Tracks } from './workflow.js';

/** Where a job keeps what it makes before packaging (audio, text): `<out>/.work`, removed when the job ends. */
export const workDir = (job: StreamingJobInput): string => path.join(job.outDir, '.work');
/** The encoded rungs (kept: each is a plain MP4 of the rung). */
export const rungPath = (job: StreamingJobInput, id: string): string => path.join(job.outDir, 'rungs', `${id}.mp4`);

/** Seconds since `t0` (epoch ms), to the hundredth: each step's own time in the report. */
export const since = (t0: number) => Math.round((Date.now() - t0) / 10) / 100;

/** VIS's inspection; throws SOURCE_REJECTED naming every error issue the request did not override. */
export async function inspect(job: StreamingJobInput, deps: StepDeps, signal: AbortSignal): Promise<SourceFacts> {
  const t0 = Date.now();
  const children = new ChildJobs(deps.runtime, deps.jobId);
  deps.progress('inspecting', 0);
  const r = (await children.run('vis', 'inspect', 'inspect', { source: { uri: job.sourceUri }, priority: job.priority }, 'inspection', signal, (p) =>
    deps.progress('inspecting', p.fraction),
  )) as InspectResult;
  return sourceFacts(job, r, since(t0));
}

export function sourceFacts(job: Pick<StreamingJobInput, 'overrideIssues'>, r: InspectResult, seconds: number): SourceFacts {
  const errors = r.issues.filter((i) => i.severity === 'error');
  const refused = errors.filter((i) => !job.overrideIssues.includes(i.code));
  if (refused.length) {
    throw new VpipeError(ErrorCodes.SourceRejected, `VIS found ${refused.length} error(s) in the source: ${refused.map((i) => i.code).join(', ')} (accept them with overrideIssues: [${refused.map((i) => JSON.stringify(i.code)).join(', ')}] if the output may carry them)`, {
      details: refused.map((i) => ({ path: 'source.uri', message: `${i.code}: ${i.message}` })),
    });
  }
  const v = r.video[0];
  if (!v) throw new VpipeError(ErrorCodes.SourceRejected, 'the source has no video stream', { details: [{ path: 'source.uri', message: 'NO_VIDEO_STREAM' }] });
  const rate = v.frameRate ?? v.avgFrameRate;
  const frames = r.frameIndex?.frames ?? v.frameCount;
  const duration = r.frameIndex?.durationSeconds ?? v.durationSeconds ?? r.container?.durationSeconds;
  if (!rate || rate.num === 0 || !frames || !duration) {
    throw new VpipeError(ErrorCodes.SourceRejected, 'VIS could not tell the source\'s frame rate, frame count or duration', { details: [{ path: 'source.uri', message: 'no frame rate, count or duration' }] });
  }
  const sar = v.sar && v.sar.num > 0 ? v.sar.num / v.sar.den : 1;
  const notes = [
    ...errors.map((i) => `accepted by request (overrideIssues): ${i.code}: ${i.message}`),
    ...r.issues.filter((i) => i.severity === 'warning').map((i) => `VIS warning: ${i.code}: ${i.message}`),
  ];
  return {
    width: even(v.resolution.width * sar),
    height: even(v.resolution.height),
    frameRate: rate,
    frames,
    durationSeconds: duration,
    videoStartSeconds: v.startTimeSeconds ?? 0,
    audio: r.audio.map((a) => ({ index: a.index, codec: a.codec, language: a.language, channels: a.layout.channels, layout: a.layout.layout })),
    notes,
    seconds,
  };
}

/** One ladder per codec: LGS's (per-title), or the fixed one. */
export async function ladder(job: StreamingJobInput, source: SourceFacts, deps: StepDeps, signal: AbortSignal): Promise<LadderPlan> {
  const t0 = Date.now();
  const children = new ChildJobs(deps.runtime, deps.jobId);
  const ladders = await Promise.all(
    job.codecs.map(async (codec) => {
      if (job.ladder.mode === 'fixed') return { codec, mode: 'fixed' as const, lgsJobId: null, result: null, rungs: fixedRungs(codec, source, job.ladder.constraints) };
      const body: LadderRequest = {
        source: { uri: job.sourceUri },
        codec,
        priority: job.priority,
        ...(job.ladder.constraints ? { constraints: job.ladder.constraints } : {}),
        ...(job.ladder.allowWithoutVmaf ? { allowWithoutVmaf: true } : {}),
      };
      const lgsJobId = await children.submit('lgs', 'ladder', `ladder-${codec}`, body, `${codec} ladder`);
      const result = (await children.result('lgs', lgsJobId, `${codec} ladder`, signal, (p) => deps.progress('laddering', p.fraction))) as LadderResult;
      return { codec, mode: 'per-title' as const, lgsJobId, result, rungs: perTitleRungs(codec, result) };
    }),
  );
  const rungs = uniqueIds(ladders.flatMap((l) => l.rungs));
  return { ladders: ladders.map(({ rungs: _r, ...l }) => l), rungs, seconds: since(t0) };
}

/** Two rungs of one size and bitrate (a fixed ladder on a small source) get distinct ids. */
function uniqueIds(rungs: PlannedRung[]): PlannedRung[] {
  const seen = new Map<string, number>();
  return rungs.map((r) => {
    const n = seen.get(r.id) ?? 0;
    seen.set(r.id, n + 1);
    return n ? { ...r, id: `${r.id}-${n + 1}` } : r;
  });
}

/** Per-rung progress folded into the job's progress events: each rung's own step and fraction. */
function partsProgress(deps: StepDeps, step: string, ids: string[]) {
  const parts = new Map(ids.map((id) => [id, { id, step: 'queued', fraction: 0 }]));
  const publish = () => {
    const all = [...parts.values()];
    deps.progress(step, all.reduce((s, p) => s + p.fraction, 0) / all.length, { parts: all, chunksDone: all.filter((p) => p.fraction >= 1).length, chunksTotal: all.length });
  };
  return {
    update(id: string, p: Pick<ProgressEvent, 'step' | 'fraction'>) {
      parts.set(id, { id, step: p.step, fraction: Math.min(1, p.fraction) });
      publish();
    },
    done(id: string) {
      parts.set(id, { id, step: 'done', fraction: 1 });
      publish();
    },
  };
}

/**
 * Every rung's VES job, all queued at once at the job's priority (their chunks share the encode work
 * queue), each validated by VVS. Throws at the first rung that fails; the job's end cancels the others.
 */
export async function encode(job: StreamingJobInput, plan: LadderPlan, deps: StepDeps, signal: AbortSignal): Promise<Encoded> {
  const t0 = Date.now();
  await fs.mkdir(path.join(job.outDir, 'rungs'), { recursive: true });
  const children = new ChildJobs(deps.runtime, deps.jobId);
  const progress = partsProgress(deps, 'encoding', plan.rungs.map((r) => r.id));
  const request = (r: PlannedRung): EncodeRequest => ({
    source: { uri: job.sourceUri },
    output: { uri: `file://${rungPath(job, r.id)}`, container: 'mp4' },
    recipe: r.recipe,
    priority: job.priority,
    validate: true,
  });
  const jobs = await Promise.all(plan.rungs.map((r) => children.submit('ves', 'encode', `rung-${r.id}`, request(r), `rung ${r.id}`)));
  // One wait per rung on the step's signal, each removing its listener when it ends.
  setMaxListeners(plan.rungs.length + 10, signal);
  const rungs = await Promise.all(
    plan.rungs.map(async (r, i): Promise<EncodedRung> => {
      const res = (await children.result('ves', jobs[i]!, `rung ${r.id} encode`, signal, (p) => progress.update(r.id, p))) as EncodeResult;
      progress.done(r.id);
      deps.log.info({ rung: r.id, vesJob: jobs[i], encodeSeconds: res.encodeSeconds }, 'rung encoded');
      return {
        id: r.id,
        vesJobId: jobs[i]!,
        path: rungPath(job, r.id),
        uri: res.output.uri,
        frames: res.frames,
        kbps: res.output.bitrateKbps,
        encodeSeconds: res.encodeSeconds,
        speed: res.speed,
        chunks: res.chunks,
      };
    }),
  );
  return { rungs, seconds: since(t0) };
}

/** Every rung measured by VQS against the source (VMAF, PSNR, SSIM), all at once. */
export async function measure(job: StreamingJobInput, encoded: Encoded, deps: StepDeps, signal: AbortSignal): Promise<Measured> {
  const t0 = Date.now();
  if (!job.measure) return { rungs: [], seconds: 0 };
  const children = new ChildJobs(deps.runtime, deps.jobId);
  const progress = partsProgress(deps, 'measuring', encoded.rungs.map((r) => r.id));
  setMaxListeners(encoded.rungs.length + 10, signal);
  const rungs = await Promise.all(
    encoded.rungs.map(async (r): Promise<MeasuredRung> => {
      const body: MeasureRequest = {
        reference: { uri: job.sourceUri },
        distorted: { uri: r.uri },
        metrics: ['vmaf', 'psnr', 'ssim'],
        allowWithoutVmaf: job.ladder.allowWithoutVmaf,
        priority: job.priority,
      };
      const vqsJobId = await children.submit('vqs', 'measure', `measure-${r.id}`, body, `rung ${r.id} measurement`);
      const m = (await children.result('vqs', vqsJobId, `rung ${r.id} measurement`, signal, (p) => progress.update(r.id, p))) as MeasureResult;
      progress.done(r.id);
      const v = m.metrics.vmaf;
      return {
        id: r.id,
        vqsJobId,
        ...(v ? { vmaf: { mean: v.mean, harmonicMean: v.harmonicMean, min: v.min, p1: v.p1, p5: v.p5, model: v.model, version: v.version } } : {}),
        ...(m.metrics.psnr ? { psnr: m.metrics.psnr.mean } : {}),
        ...(m.metrics.ssim ? { ssim: m.metrics.ssim.mean } : {}),
        ...(m.notMeasured.length ? { notMeasured: m.notMeasured } : {}),
      };
    }),
  );
  return { rungs, seconds: since(t0) };
}

/** CMAF segments, HLS and DASH over them (actors/streaming/compute/package). */
export async function packaging(job: StreamingJobInput, encoded: Encoded, tracks: Tracks, deps: StepDeps, signal: AbortSignal): Promise<Packaged> {
  const t0 = Date.now();
  deps.progress('packaging', 0);
  const result = await packageStreams(
    {
      video: encoded.rungs.map((r) => ({ id: r.id, path: r.path })),
      audio: tracks.audio.map(({ report: _r, ...a }) => a),
      text: tracks.text.map(({ report: _r, ...t }) => t),
    },
    { outDir: job.outDir, segmentSeconds: job.segmentSeconds, gopSeconds: PACKAGING_DEFAULTS.gopSeconds, signal },
  );
  deps.progress('packaging', 1);
  return { result, seconds: since(t0) };
}
