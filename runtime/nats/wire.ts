/**
 * The wire codec. MessagePack by default; JSON when the request says
 * `Content-Type: application/json` or its body starts with `{` (so the `nats`
 * CLI can drive every service by hand). Replies use the request's encoding.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { z } from 'zod';
import { ErrorCodes, VpipeError } from '../core/mod.js';

export type Encoding = 'msgpack' | 'json';

/** Request header that makes a submission safe to retry: the same key (per service) always names the same job. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Requests larger than this are refused before decoding (media is named by URI, never carried). */
export const MAX_REQUEST_BYTES = 64 * 1024;

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

// One encoder and one decoder per limit, reused: msgpack's encode()/decode() with options build a new
// codec (buffers, caches) per call, which showed up as a tenth of the chunk path's CPU (bench:control).
// Both are reentrant (a nested call clones), and a decode that throws leaves the decoder usable.
const mpEncoder = new Encoder({ ignoreUndefined: true });
const mpDecoders = new Map<number, Decoder>();
function mpDecoder(maxBytes: number): Decoder {
  let d = mpDecoders.get(maxBytes);
  if (!d) {
    d = new Decoder({ maxStrLength: maxBytes, maxMapLength: 1 << 20, maxArrayLength: 1 << 20 });
    if (mpDecoders.size < 8) mpDecoders.set(maxBytes, d); // callers use a handful of limits
  }
  return d;
}

export function detectEncoding(data: Uint8Array, hdrs?: MsgHdrs): Encoding {
  const ct = hdrs?.get('Content-Type')?.toLowerCase() ?? '';
  if (ct.includes('json')) return 'json';
  if (ct.includes('msgpack')) return 'msgpack';
  for (const b of data) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b /* { */ ? 'json' : 'msgpack';
  }
  return 'msgpack';
}

/** Decodes a payload; throws VpipeError UNDECODABLE_PAYLOAD / PAYLOAD_TOO_LARGE, never anything else. */
export function decodePayload(data: Uint8Array, encoding: Encoding, maxBytes = MAX_REQUEST_BYTES): unknown {
  if (data.length > maxBytes) {
    throw new VpipeError(ErrorCodes.PayloadTooLarge, `request is ${data.length} bytes; the limit is ${maxBytes}`);
  }
  if (data.length === 0) throw new VpipeError(ErrorCodes.Undecodable, 'empty request body: send a JSON or MessagePack object');
  try {
    if (encoding === 'json') return JSON.parse(td.decode(data)) as unknown;
    return mpDecoder(maxBytes).decode(data);
  } catch (e) {
    const what = encoding === 'json' ? 'JSON' : 'MessagePack';
    throw new VpipeError(ErrorCodes.Undecodable, `body is not valid ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** Encodes a value in the given encoding (MessagePack drops `undefined` fields, as JSON does). */
export function encodePayload(value: unknown, encoding: Encoding): Uint8Array {
  return encoding === 'json' ? te.encode(JSON.stringify(value)) : mpEncoder.encode(value);
}

export function contentHeaders(encoding: Encoding, base?: MsgHdrs): MsgHdrs {
  const h = base ?? natsHeaders();
  h.set('Content-Type', encoding === 'json' ? 'application/json' : 'application/msgpack');
  return h;
}

/** Validates with zod; a failure becomes SCHEMA_INVALID naming each offending field path. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.slice(0, 20).map((i) => ({
    path: i.path.length ? i.path.map(String).join('.') : '(root)',
    message: i.message,
  }));
  const first = details[0];
  throw new VpipeError(
    ErrorCodes.SchemaInvalid,
    first ? `invalid request: ${first.path}: ${first.message}` : 'invalid request',
    { details },
  );
}

/** Decodes and validates an internal (MessagePack) message, e.g. a work item or a persisted record. */
export function decodeInternal<S extends z.ZodType>(schema: S, data: Uint8Array): z.infer<S> {
  return validate(schema, decodePayload(data, 'msgpack', Number.MAX_SAFE_INTEGER));
}
