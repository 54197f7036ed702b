/**
 * The complexity store: KV `vpipe_complexity`, one analysis per key
 * (`<contentHash>.<codec>.e<encoder version hash>.g<settings hash>`, see
 * compute/grid.ts), MessagePack, no expiry — an analysis is a fact about
 * content for one encoder build. Two paths to the same bytes share it.
 */
import { decodeInternal, encodePayload, type RuntimeContext, withJsRetry } from '../../runtime/nats/mod.js';
import { AnalyzeResult } from '../../schemas/cas.js';

/** The stored analysis under `key`, or null when there is none or it no longer reads as one (an older shape: analysed again). */
export async function readAnalysis(ctx: RuntimeContext, key: string): Promise<AnalyzeResult | null> {
  const e = await withJsRetry(() => ctx.topology.complexity.get(key));
  if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
  try {
    return decodeInternal(AnalyzeResult, e.value);
  } catch {
    return null;
  }
}

/** Stores an analysis (a later one for the same key replaces it). Retries transient JetStream errors; throws when the store will not take it. */
export async function storeAnalysis(ctx: RuntimeContext, key: string, result: AnalyzeResult): Promise<void> {
  await withJsRetry(() => ctx.topology.complexity.put(key, encodePayload({ ...result, cached: false }, 'msgpack')));
}
