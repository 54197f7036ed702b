/**
 * LGS's one call out: CAS's complexity analysis over NATS (`vpipe.cas.analyze`,
 * then its result event), read as the rate–quality points a ladder is built
 * on. The idempotency key is the LGS job's, so a resumed job waits on the
 * same analysis instead of starting another; a cancelled ladder leaves the
 * analysis running, since CAS stores it for the next ladder of this source.
 */
import { z } from 'zod';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { type AnalyzeRequest, AnalyzeResult, ComplexityPoint } from '../../schemas/cas.js';
import type { LadderMetric } from '../../schemas/lgs.js';
import type { DeliveryCodec as Codec } from '../../schemas/ves.js';
import type { EncoderSettings, QualityPoint } from './compute/index.js';

/** A grid of trial encodes takes a while; the job runner keeps the LGS work item alive meanwhile. */
export const CAS_WAIT_MS = 6 * 3_600_000;

const R = AnalyzeResult.shape;
const P = ComplexityPoint.shape;

/**
 * What LGS reads of CAS's result (schemas/cas.ts `AnalyzeResult`; docs/API.md: `{contentHash, cached,
 * points: [{width, height, crf, kbps, vmaf}]}`): the fields a ladder needs, typed by CAS's schema, read
 * as a tolerant reader (other fields ignored), so CAS can add to its result without breaking LGS.
 */
export const CasResultView = z.object({
  contentHash: R.contentHash,
  cached: R.cached,
  /** What each point's `quality` holds: VMAF, or PSNR (dB) when CAS was allowed to go without VMAF. */
  metric: R.metric,
  notMeasured: z.array(z.object({ metric: z.string(), reason: z.string() })).optional(),
  /** The source's display size (sample aspect ratio and display matrix applied). */
  source: z.object({ width: R.source.shape.width, height: R.source.shape.height }),
  points: z.array(z.object({ width: P.width, height: P.height, crf: P.crf, kbps: P.kbps, quality: P.quality })),
  /** The trials' encoder speed, which the rungs must keep for the CRFs to give what CAS measured. */
  preset: R.preset,
  speed: R.speed,
  cost: z.unknown().optional(),
});
export type CasResultView = z.infer<typeof CasResultView>;

/** The analysis as the job keeps it (in context: small, plain data). */
export interface Analysis {
  jobId: string;
  contentHash: string;
  cached: boolean;
  metric: LadderMetric;
  /** The source's display size: no rung is larger. */
  source: { width: number; height: number };
  points: QualityPoint[];
  encoder: EncoderSettings;
  cost?: unknown;
  notes: string[];
}

export interface AnalysisRequest {
  sourceUri: string;
  codec: Codec;
  allowWithoutVmaf: boolean;
  priority: 'high' | 'normal' | 'low';
}

/** Asks CAS and waits for its result; throws CAS's error (CANCELLED as UNAVAILABLE), or as `readAnalysis` does. */
export async function analyse(job: AnalysisRequest, deps: StepDeps, signal: AbortSignal): Promise<Analysis> {
  const client = new VpipeClient(deps.runtime.nc);
  const body: AnalyzeRequest = { source: { uri: job.sourceUri }, codec: job.codec, priority: job.priority, ...(job.allowWithoutVmaf ? { allowWithoutVmaf: true } : {}) };
  const { jobId } = await client.request<{ jobId: string }>('vpipe.cas.analyze', body, { idempotencyKey: `${deps.jobId}.analyze`, timeoutMs: 60_000 });
  deps.log.info({ casJob: jobId }, 'complexity analysis requested');
  const ev = await client.waitForResult('cas', jobId, { timeoutMs: CAS_WAIT_MS, signal, onProgress: (p) => deps.progress('analysing', p.fraction) });
  if (ev.state !== 'succeeded') {
    const code = ev.error?.code && ev.error.code !== ErrorCodes.Cancelled ? ev.error.code : ErrorCodes.Unavailable;
    throw new VpipeError(code, `complexity analysis ${jobId} ${ev.state}: ${ev.error?.message ?? 'no reason given'}`, { details: ev.error?.details });
  }
  return readAnalysis(jobId, ev.result, job.allowWithoutVmaf);
}

/**
 * CAS's result as ladder points in its metric, with the source's size. Throws TOOL_MISSING for a PSNR
 * analysis the request did not allow (CAS is only asked to go without VMAF when it is), INTERNAL when
 * the result is not CAS's shape.
 */
export function readAnalysis(jobId: string, result: unknown, allowWithoutVmaf: boolean): Analysis {
  const parsed = CasResultView.safeParse(result);
  if (!parsed.success) {
    const at = parsed.error.issues[0];
    throw new VpipeError(ErrorCodes.Internal, `complexity analysis ${jobId} returned an unreadable result (${at?.path.join('.') || '.'}: ${at?.message ?? ''})`);
  }
  const r = parsed.data;
  const notes: string[] = [];
  if (r.metric === 'psnr') {
    const why = r.notMeasured?.find((n) => n.metric === 'vmaf')?.reason ?? 'none measured';
    if (!allowWithoutVmaf) throw new VpipeError(ErrorCodes.ToolMissing, `complexity analysis ${jobId} measured no VMAF (${why}); ask with allowWithoutVmaf: true for a ladder on PSNR`);
    notes.push(`built on PSNR (dB), not VMAF: CAS measured no VMAF (${why})`);
  }
  return {
    jobId,
    contentHash: r.contentHash,
    cached: r.cached,
    metric: r.metric,
    source: { width: r.source.width, height: r.source.height },
    points: r.points.map((p) => ({ width: p.width, height: p.height, crf: p.crf, kbps: p.kbps, quality: p.quality })),
    encoder: { ...(r.preset !== undefined ? { preset: r.preset } : {}), ...(r.speed !== undefined ? { speed: r.speed } : {}) },
    ...(r.cost !== undefined ? { cost: r.cost } : {}),
    notes,
  };
}
