/**
 * The CAS machine's steps, provided with the world: ffmpeg (the sample cut),
 * the frame-index and complexity stores, and VIS, VES and VQS over NATS.
 * Every step is idempotent, because a resumed job re-runs the step that was
 * in flight: the cut rewrites the same mezzanine, children are submitted
 * with idempotency keys, the store write replaces the same key.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encoderFor } from '../../encoders/index.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { cancelChildren, purgeChildRecords, type StepDeps } from '../../runtime/jobs/mod.js';
import { contentHash, getFrameIndex, type RuntimeContext } from '../../runtime/nats/mod.js';
import type { AnalyzeResult, ComplexityPoint } from '../../schemas/cas.js';
import { endTicks, type FrameIndex, ticksToSeconds } from '../../schemas/frame-index.js';
import { analysisCost } from './compute/cost.js';
import { crcMismatch, cutSample } from './compute/cut.js';
import { storeKey } from './compute/grid.js';
import { planSegments, resolveSampling } from './compute/sampling.js';
import { type IndexLookup, lookUpIndex } from './frame-index.js';
import { casMetrics } from './metrics.js';
import { readAnalysis, storeAnalysis } from './store.js';
import { TRIAL_VMAF_MODEL } from './trials.js';
import type { CasJobInput, Plan, Planned, SampleCut, SampleIndexed, Trial } from './workflow.js';

const workDirOf = (job: Pick<CasJobInput, 'workRoot'>, jobId: string): string => path.join(job.workRoot, jobId);
const crcFile = (plan: Plan): string => path.join(plan.workDir, 'sample.crc.json');

/** Seconds from the index's first frame to the end of its last. */
const indexSeconds = (ix: FrameIndex): number => ticksToSeconds(ix, endTicks(ix) - (ix.pts[0] ?? 0));

/**
 * Plans the analysis, or answers it from the store: the key needs only the content hash, the local
 * encoder's version and the settings, so a stored analysis costs no index, cut or encode. Throws
 * TOOL_MISSING (no encoder here), BAD_REQUEST (a damaged or empty source, or one with no duration).
 */
export async function plan(job: CasJobInput, deps: StepDeps, signal: AbortSignal): Promise<Planned> {
  const startedAt = Date.now();
  const stores = deps.runtime.topology;
  const [hash, probe] = await Promise.all([contentHash(stores, job.sourcePath, signal), encoderFor(job.codec).probe()]);
  if (!probe.available) throw new VpipeError(ErrorCodes.ToolMissing, `${job.codec} cannot be encoded here: ${probe.reason ?? 'not in this ffmpeg build'}`);
  let source: IndexLookup | null = null;
  let titleSeconds = job.info.durationSeconds;
  if (titleSeconds === null) {
    source = await lookUpIndex(job.sourcePath, 'source', job.priority, deps, signal);
    if (!source.index) throw new VpipeError(ErrorCodes.BadRequest, `the source's header gives no duration and it cannot be indexed: ${source.why}`, { details: [{ path: 'source.uri', message: 'no duration' }] });
    titleSeconds = indexSeconds(source.index);
  }
  const sampling = resolveSampling(job.sample, titleSeconds);
  const key = storeKey(hash, job.codec, probe.version, { grid: job.grid, sample: sampling, vmafModel: TRIAL_VMAF_MODEL });
  const stored = await readAnalysis(deps.runtime, key);
  // A PSNR-only analysis answers only requests that allow going without VMAF.
  if (stored && (stored.metric === 'vmaf' || job.allowWithoutVmaf)) {
    casMetrics.analyses.inc({ codec: job.codec, answer: 'cached' });
    deps.log.info({ key }, 'analysis answered from the complexity store');
    return { cached: { ...stored, cached: true }, plan: null };
  }
  source ??= await lookUpIndex(job.sourcePath, 'source', job.priority, deps, signal);
  const ix = source.index;
  if (ix && ix.stats.decodeErrors > 0) {
    throw new VpipeError(ErrorCodes.BadRequest, `the source's video is damaged: decoding it logged ${ix.stats.decodeErrors} error(s) (VIS reports them as DECODE_ERRORS); repair or re-export it`, {
      details: [{ path: 'source.uri', message: `${ix.stats.decodeErrors} decode error(s)` }],
    });
  }
  if (ix && ix.pts.length === 0) throw new VpipeError(ErrorCodes.BadRequest, 'the source video decodes to no frames');
  const rate = job.info.frameRate.num / job.info.frameRate.den;
  const fps = ix ? ix.pts.length / Math.max(1e-6, indexSeconds(ix)) : rate;
  // Without an index the frame count is the header's guess; a frame short of it keeps the last segment inside the title.
  const frames = ix ? ix.pts.length : Math.max(1, Math.floor(titleSeconds * fps) - 1);
  const t0 = ix?.pts[0] ?? 0;
  const segments = planSegments(frames, fps, sampling).map((s) => {
    if (!ix) return { ...s, startSeconds: s.startFrame / fps };
    // The last verified random-access point at or before the segment's first frame (frame 0 always is one).
    const rap = ix.raps.filter((r) => r.frame <= s.startFrame).pop() ?? { frame: 0, seekSeconds: 0, lead: 0 };
    return { ...s, startSeconds: ticksToSeconds(ix, ix.pts[s.startFrame]! - t0), seekSeconds: rap.seekSeconds, skipFrames: rap.lead + (s.startFrame - rap.frame) };
  });
  const workDir = workDirOf(job, deps.jobId);
  await fs.mkdir(workDir, { recursive: true });
  const p: Plan = {
    contentHash: hash,
    key,
    encoder: { name: encoderFor(job.codec).encoder, version: probe.version },
    titleSeconds,
    sampling,
    access: ix ? 'random-access' : 'decode-from-start',
    segments,
    workDir,
    sourceIndexSeconds: source.seconds,
    startedAt,
  };
  deps.log.info({ key, access: p.access, segments: segments.length, frames: segments.reduce((n, s) => n + s.frames, 0), points: job.grid.points.length, indexMissing: source.why }, 'analysis planned');
  return { cached: null, plan: p };
}

/** Cuts the sample mezzanine (see compute/cut.ts); its picture CRCs go to a file next to it, for the indexing step. */
export async function cut(job: CasJobInput, p: Plan, deps: StepDeps, signal: AbortSignal): Promise<SampleCut> {
  const ix = p.access === 'random-access' ? await getFrameIndex(deps.runtime.topology, p.contentHash) : null;
  if (p.access === 'random-access' && !ix) throw new VpipeError(ErrorCodes.Unavailable, 'the source frame index is missing from the store', { retryable: true });
  const segments = p.segments.map((s) => (ix ? { ...s, expected: ix.hash.slice(s.startFrame, s.startFrame + s.frames) } : s));
  const whole = p.access === 'decode-from-start' && segments.length === 1 && segments[0]!.startFrame === 0;
  const out = await cutSample({ sourcePath: job.sourcePath, info: job.info, access: p.access, segments, takeAll: whole, workDir: p.workDir, threads: Math.min(4, os.availableParallelism()), signal });
  await fs.writeFile(crcFile(p), JSON.stringify(out.pictureCrcs));
  casMetrics.sampleCutSeconds.observe({ access: p.access }, out.seconds);
  const { num, den } = job.info.frameRate;
  deps.log.info({ frames: out.frames, seconds: out.seconds }, 'sample mezzanine cut');
  return { path: out.path, frames: out.frames, sampledSeconds: (out.frames * den) / num, seconds: out.seconds };
}

/**
 * Has VIS index the mezzanine (once, so no trial encode or measurement asks for it again) and checks
 * that it holds exactly the pictures the cut handed to the lossless encoder. Throws CONTENT_MISMATCH.
 */
export async function indexSample(job: CasJobInput, p: Plan, sample: SampleCut, deps: StepDeps, signal: AbortSignal): Promise<SampleIndexed> {
  const found = await lookUpIndex(sample.path, 'sample', job.priority, deps, signal);
  if (!found.index) throw new VpipeError(ErrorCodes.ToolFailed, `VIS could not index the sample mezzanine: ${found.why}`);
  const crcs = JSON.parse(await fs.readFile(crcFile(p), 'utf8')) as number[];
  const problem = crcMismatch('the sample mezzanine', crcs, found.index.hash);
  if (problem) throw new VpipeError(ErrorCodes.ContentMismatch, `${problem}: the mezzanine is not the pictures that were cut`, { details: [{ path: 'sample', message: problem }] });
  return { contentHash: found.contentHash, seconds: found.seconds };
}

function pointOf(t: Trial, sampledSeconds: number, metric: 'vmaf' | 'psnr'): ComplexityPoint {
  const pt: ComplexityPoint = { ...t.point, kbps: Number(((t.bytes * 8) / 1000 / sampledSeconds).toFixed(3)), quality: 0, bytes: t.bytes, encodeSeconds: t.encodeSeconds };
  if (t.vmaf) pt.vmaf = t.vmaf.mean;
  if (t.psnr !== undefined) pt.psnr = t.psnr;
  if (t.ssim !== undefined) pt.ssim = t.ssim;
  pt.quality = (metric === 'vmaf' ? t.vmaf?.mean : t.psnr) ?? 0;
  return pt;
}

/**
 * Builds the result, stores it (under the version of the encoder the trials really ran: VES reports it;
 * trials that ran on encoders of different versions are returned but not stored), and removes the
 * mezzanine, the trial outputs and the child records.
 */
export async function finish(job: CasJobInput, p: Plan, sample: SampleCut, index: SampleIndexed, trials: Trial[], deps: StepDeps): Promise<AnalyzeResult> {
  const metric = trials.every((t) => t.vmaf) ? 'vmaf' : 'psnr';
  const versions = [...new Set(trials.map((t) => t.encoder.version))];
  const key = versions.length === 1 ? storeKey(p.contentHash, job.codec, versions[0]!, { grid: job.grid, sample: p.sampling, vmafModel: TRIAL_VMAF_MODEL }) : null;
  const cost = analysisCost({
    trials: trials.map((t) => ({ ...t.point, encodeSeconds: t.encodeSeconds, measureSeconds: t.measureSeconds })),
    source: job.info,
    crfs: job.grid.crfs,
    sampledSeconds: sample.sampledSeconds,
    titleSeconds: p.titleSeconds,
    sampleSeconds: sample.seconds,
    indexSeconds: index.seconds,
    sourceIndexSeconds: p.sourceIndexSeconds,
    wallSeconds: (Date.now() - p.startedAt) / 1000,
  });
  const vmaf = trials.find((t) => t.vmaf)?.vmaf;
  const whole = p.segments.length === 1 && p.segments[0]!.startFrame === 0;
  const result: AnalyzeResult = {
    contentHash: p.contentHash,
    cached: false,
    key: key ?? p.key,
    codec: job.codec,
    encoder: { name: trials[0]!.encoder.name, version: versions.join(' | ') },
    metric,
    notMeasured: metric === 'psnr' ? [{ metric: 'vmaf', reason: trials.find((t) => t.noVmaf)?.noVmaf ?? 'VQS did not measure VMAF' }] : [],
    ...(metric === 'vmaf' && vmaf ? { vmaf: { model: vmaf.model, version: vmaf.version } } : {}),
    source: { width: job.info.width, height: job.info.height, frameRate: job.info.frameRate, titleSeconds: p.titleSeconds },
    grid: { heights: job.grid.heights, crfs: job.grid.crfs, gopSeconds: job.grid.gopSeconds },
    ...(job.grid.preset !== undefined ? { preset: job.grid.preset } : {}),
    ...(job.grid.speed !== undefined ? { speed: job.grid.speed } : {}),
    sample: {
      mode: whole ? 'whole' : 'spread',
      access: p.access,
      // A whole title read without an index holds what the decode gave, not the header's guess.
      segments: p.segments.map((s) => ({ startFrame: s.startFrame, frames: whole ? sample.frames : s.frames, startSeconds: Number(s.startSeconds.toFixed(6)) })),
      segmentSeconds: p.sampling.segmentSeconds,
      frames: sample.frames,
      sampledSeconds: sample.sampledSeconds,
      fraction: p.titleSeconds > 0 ? Math.min(1, sample.sampledSeconds / p.titleSeconds) : 1,
    },
    points: trials.map((t) => pointOf(t, sample.sampledSeconds, metric)),
    cost,
    analyzedAt: new Date().toISOString(),
  };
  if (key) await storeAnalysis(deps.runtime, key, result);
  else deps.log.warn({ versions }, 'the trials ran on encoders of different versions: the analysis is not stored');
  await fs.rm(p.workDir, { recursive: true, force: true });
  await purgeChildRecords(deps.runtime, deps.jobId);
  casMetrics.analyses.inc({ codec: job.codec, answer: 'analysed' });
  casMetrics.sampledFraction.observe(result.sample.fraction);
  casMetrics.costMultiple.observe({ codec: job.codec }, cost.multiple);
  deps.log.info({ key: result.key, points: result.points.length, multiple: cost.multiple }, 'analysis stored');
  return result;
}

/** After a failed or cancelled analysis: cancels the child jobs it started and removes its work directory. Idempotent. */
export async function cleanUpEnded(ctx: RuntimeContext, jobId: string, job: CasJobInput): Promise<void> {
  await cancelChildren(ctx, jobId);
  await fs.rm(workDirOf(job, jobId), { recursive: true, force: true });
}
