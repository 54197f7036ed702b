/**
 * VES's view of its source: the frame index, read from the store by the
 * file's content hash, or asked of VIS over NATS (one inspection builds and
 * stores it) when this content has none yet. VES never builds an index
 * itself and never reads VIS's internals.
 */
import { type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { contentHash, getFrameIndex } from '../../runtime/nats/mod.js';
import type { FrameIndex } from '../../schemas/frame-index.js';
import type { InspectResult } from '../../schemas/vis.js';
import type { VesJobInput } from './workflow.js';

/** Resolves the source's index; throws SOURCE-level errors that say why a source cannot be indexed (not retryable) or UNAVAILABLE (VIS did not answer). */
export async function sourceIndex(job: VesJobInput, deps: StepDeps, signal: AbortSignal): Promise<FrameIndex> {
  const stores = deps.runtime.topology;
  const hash = await contentHash(stores, job.sourcePath, signal);
  const existing = await getFrameIndex(stores, hash);
  if (existing) return existing;
  deps.log.info({ contentHash: hash }, 'no frame index for this source yet: asking VIS');
  const client = new VpipeClient(deps.runtime.nc);
  const { jobId } = await client.request<{ jobId: string }>(
    'vpipe.vis.inspect',
    { source: { uri: job.sourceUri }, decodeCheck: true, priority: job.priority },
    { idempotencyKey: `${deps.jobId}.index.${hash.slice(0, 16)}`, timeoutMs: 60_000 },
  );
  const ev = await client.waitForResult('vis', jobId, { timeoutMs: 24 * 3600_000, onProgress: (p) => deps.progress('indexing', p.fraction ?? 0) });
  if (ev.state !== 'succeeded') throw new VpipeError(ErrorCodes.Unavailable, `inspection ${jobId} for the frame index ${ev.state}: ${ev.error?.message ?? ''}`, { retryable: true });
  const result = ev.result as InspectResult;
  if (!result.frameIndex) {
    throw new VpipeError(ErrorCodes.BadRequest, `the source cannot be indexed frame by frame: ${result.frameIndexError ?? 'its video could not be decoded'}`, {
      details: [{ path: 'source.uri', message: result.frameIndexError ?? 'no frame index' }],
    });
  }
  const ix = await getFrameIndex(stores, result.frameIndex.contentHash);
  if (!ix) throw new VpipeError(ErrorCodes.Unavailable, 'VIS reported a frame index that is not in the store', { retryable: true });
  if (ix.contentHash !== hash) throw new VpipeError(ErrorCodes.BadRequest, 'the source file changed while it was being indexed');
  return ix;
}
