/**
 * The forensic watermark registry, in the `vpipe_watermarks` KV bucket:
 *
 * - `secret`: the deployment's key (created once, at random; `VPIPE_WATERMARK_KEY` overrides it).
 *   A title's seed is HMAC(secret, contentHash/recipe): the patterns cannot be rebuilt without it.
 * - `title.<contentHash>.<recipe>`: how that title was marked under that recipe — the segments
 *   (chunk frame ranges, the same for both variants), the size the mark was applied at, and the
 *   recipients with their payloads. The detector reads it back with the original.
 *
 * Updates are compare-and-set on the entry's revision, so concurrent jobs for the same title
 * (several recipients at once) never lose a recipient.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { payloadFor } from '../../encoders/forensic/index.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { withJsRetry } from '../../runtime/nats/mod.js';

export const TitleRecord = z.strictObject({
  contentHash: z.string(),
  recipe: z.string(),
  segments: z.array(z.strictObject({ startFrame: z.number().int(), endFrame: z.number().int() })),
  markSize: z.strictObject({ width: z.number().int(), height: z.number().int() }),
  strength: z.number().optional(),
  /** payload (6 hex digits) → recipient */
  recipients: z.record(z.string(), z.string()),
  /** Where the two variant chunk sets are kept (reused for the next recipient). */
  variants: z.array(z.string()).length(2),
});
export type TitleRecord = z.infer<typeof TitleRecord>;

const enc = new TextEncoder();
const dec = new TextDecoder();
export const titleKey = (contentHash: string, recipe: string): string => `title.${contentHash}.${recipe}`;
export const payloadHex = (p: number): string => p.toString(16).padStart(6, '0');

/** The deployment's watermark secret (hex). */
export async function watermarkSecret(kv: KV): Promise<string> {
  const fromEnv = process.env.VPIPE_WATERMARK_KEY;
  if (fromEnv) {
    if (!/^[0-9a-f]{32,128}$/i.test(fromEnv)) throw new VpipeError(ErrorCodes.Internal, 'VPIPE_WATERMARK_KEY must be 32–128 hex digits');
    return fromEnv.toLowerCase();
  }
  const existing = await withJsRetry(() => kv.get('secret'));
  if (existing?.operation === 'PUT' && existing.value.length) return dec.decode(existing.value);
  const fresh = randomBytes(32).toString('hex');
  try {
    await withJsRetry(() => kv.create('secret', enc.encode(fresh)));
    return fresh;
  } catch {
    // Another node created it first: use theirs.
    const again = await withJsRetry(() => kv.get('secret'));
    if (!again?.value.length) throw new VpipeError(ErrorCodes.Unavailable, 'the watermark secret could not be created', { retryable: true });
    return dec.decode(again.value);
  }
}

/** The title seed the patterns are keyed by. */
export function titleSeed(secret: string, contentHash: string, recipe: string): string {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(`${contentHash}/${recipe}`).digest('hex');
}

export async function readTitle(kv: KV, contentHash: string, recipe: string): Promise<{ record: TitleRecord; revision: number } | null> {
  const e = await withJsRetry(() => kv.get(titleKey(contentHash, recipe)));
  if (!e || e.operation !== 'PUT' || !e.value.length) return null;
  return { record: TitleRecord.parse(JSON.parse(dec.decode(e.value))), revision: e.revision };
}

/** Every recipe this title was marked under. */
export async function titlesOf(kv: KV, contentHash: string): Promise<TitleRecord[]> {
  const keys = await withJsRetry(async () => {
    const out: string[] = [];
    for await (const k of await kv.keys(`title.${contentHash}.*`)) out.push(k);
    return out;
  });
  const out: TitleRecord[] = [];
  for (const k of keys) {
    const r = await readTitle(kv, contentHash, k.slice(`title.${contentHash}.`.length));
    if (r) out.push(r.record);
  }
  return out;
}

/**
 * Registers `recipient` for the title (creating the record from `base` when it is the first) and
 * returns its payload: the recipient's HMAC-derived 24 bits, re-drawn with a salt when another
 * recipient of the title already has them. Idempotent for a recipient already registered.
 */
export async function registerRecipient(kv: KV, base: Omit<TitleRecord, 'recipients'>, seed: string, recipient: string): Promise<number> {
  const key = titleKey(base.contentHash, base.recipe);
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await readTitle(kv, base.contentHash, base.recipe);
    const record: TitleRecord = current ? { ...current.record } : { ...base, recipients: {} };
    const mine = Object.entries(record.recipients).find(([, r]) => r === recipient);
    if (mine) return Number.parseInt(mine[0], 16);
    let payload = payloadFor(recipient, seed);
    for (let salt = 1; record.recipients[payloadHex(payload)] !== undefined; salt++) payload = payloadFor(recipient, seed, salt);
    record.recipients = { ...record.recipients, [payloadHex(payload)]: recipient };
    const value = enc.encode(JSON.stringify(record));
    try {
      if (current) await kv.update(key, value, current.revision);
      else await kv.create(key, value);
      return payload;
    } catch {
      // Someone else wrote the record in between: read it again.
    }
  }
  throw new VpipeError(ErrorCodes.Unavailable, 'the watermark registry is too busy; try again', { retryable: true });
}
