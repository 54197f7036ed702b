/**
 * Where frame indexes live: a JetStream object store, one object per source
 * content (`<sha256>.v<version>`), so two paths to the same bytes share one
 * index and a changed file gets a new one. A file's content hash is computed
 * once and remembered in KV by the file's identity (device, inode, size,
 * modification time): a second job on the same file does not re-read it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { FRAME_INDEX_VERSION, FrameIndex } from '../../schemas/frame-index.js';
import { ErrorCodes, VpipeError } from '../core/mod.js';
import { withJsRetry } from './js-retry.js';
import type { Topology } from './topology.js';
import { decodeInternal, encodePayload } from './wire.js';

type Stores = Pick<Topology, 'sources' | 'frameIndex'>;

/** The object name of a content's index. */
export function frameIndexKey(contentHash: string): string {
  return `${contentHash}.v${FRAME_INDEX_VERSION}`;
}

async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

function identityKey(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): string {
  // KV keys: letters, digits, '-', '_', '=' and '.'.
  return `f.${st.dev}_${st.ino}_${st.size}_${st.mtimeNs}`;
}

/**
 * The sha256 of a file's bytes, from the KV memo when the file is unchanged, else read and
 * remembered. Throws MEDIA_NOT_FOUND when the file is gone; KV trouble only costs a re-read.
 */
export async function contentHash(stores: Stores | null, path: string, signal?: AbortSignal): Promise<string> {
  const st = await fs.stat(path, { bigint: true }).catch(() => null);
  if (!st || !st.isFile()) throw new VpipeError(ErrorCodes.MediaNotFound, 'the source file is gone');
  const key = identityKey(st);
  if (stores) {
    const memo = await stores.sources.get(key).catch(() => null);
    if (memo?.operation === 'PUT' && memo.value.length === 64) return memo.string();
  }
  const hash = await sha256File(path, signal);
  if (stores) await stores.sources.put(key, hash).catch(() => undefined);
  return hash;
}

/** Stores an index (replacing any older copy of the same content). Retries transient JetStream errors. */
export async function putFrameIndex(stores: Stores, ix: FrameIndex): Promise<string> {
  const name = frameIndexKey(ix.contentHash);
  const data = encodePayload(ix, 'msgpack');
  await withJsRetry(() => stores.frameIndex.putBlob({ name, description: `frame index of ${ix.stats.frames} frames` }, data));
  return name;
}

/** The index of a content, or null when none was built (or it is of another version). Throws UNDECODABLE_PAYLOAD for a damaged object. */
export async function getFrameIndex(stores: Stores, contentHash: string): Promise<FrameIndex | null> {
  const data = await withJsRetry(() => stores.frameIndex.getBlob(frameIndexKey(contentHash)));
  if (!data) return null;
  return decodeInternal(FrameIndex, data);
}
