/**
 * CAS's view of a file's frame index: read from the store by the file's
 * content hash, or asked of VIS over NATS (one inspection builds and stores
 * it) when this content has none yet — for the source (to seek to verified
 * random-access points) and for the sample mezzanine (so the trial encodes
 * and measurements all find it, instead of each asking VIS).
 */
import { type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { contentHash, getFrameIndex } from '../../runtime/nats/mod.js';
import type { FrameIndex } from '../../schemas/frame-index.js';
import type { InspectResult } from '../../schemas/vis.js';

export interface IndexLookup {
  contentHash: string;
  /** null: VIS could not build one (`why` says what it reported). */
  index: FrameIndex | null;
  why?: string;
  /** Seconds spent asking VIS (0 when the store had it). */
  seconds: number;
}

/**
 * The index of the file at `path`; `name` tells this lookup's idempotency key apart within the job.
 * Throws UNAVAILABLE (retryable) when VIS's inspection did not succeed or its index is not in the store.
 */
export async function lookUpIndex(path: string, name: string, priority: 'high' | 'normal' | 'low', deps: StepDeps, signal: AbortSignal): Promise<IndexLookup> {
  const stores = deps.runtime.topology;
  const hash = await contentHash(stores, path, signal);
  const stored = await getFrameIndex(stores, hash);
  if (stored) return { contentHash: hash, index: stored, seconds: 0 };
  const started = Date.now();
  const client = new VpipeClient(deps.runtime.nc);
  const { jobId } = await client.request<{ jobId: string }>(
    'vpipe.vis.inspect',
    { source: { uri: path }, decodeCheck: true, priority },
    { idempotencyKey: `${deps.jobId}.index.${name}.${hash.slice(0, 16)}`, timeoutMs: 60_000 },
  );
  const ev = await client.waitForResult('vis', jobId, { timeoutMs: 24 * 3600_000, signal, onProgress: (p) => deps.progress(`indexing ${name}`, p.fraction ?? 0) });
  if (ev.state !== 'succeeded') throw new VpipeError(ErrorCodes.Unavailable, `inspection ${jobId} for the frame index of the ${name} ${ev.state}: ${ev.error?.message ?? ''}`, { retryable: true });
  const seconds = (Date.now() - started) / 1000;
  const summary = (ev.result as InspectResult).frameIndex;
  if (!summary) return { contentHash: hash, index: null, why: (ev.result as InspectResult).frameIndexError ?? 'VIS built no frame index', seconds };
  if (summary.contentHash !== hash) throw new VpipeError(ErrorCodes.BadRequest, `the ${name} file changed while it was being indexed`);
  const ix = await getFrameIndex(stores, hash);
  if (!ix) throw new VpipeError(ErrorCodes.Unavailable, 'VIS reported a frame index that is not in the store', { retryable: true });
  return { contentHash: hash, index: ix, seconds };
}
