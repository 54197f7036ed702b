/** The first move of every work handler: decode the item, or terminate it (a malformed item never decodes better on redelivery). */
import type { z } from 'zod';
import type { Logger } from '../core/mod.js';
import { decodeInternal } from '../nats/mod.js';
import type { Settlement } from './host.js';
import type { WorkMessage } from './message.js';

export type Decoded<T> = { ok: true; item: T } | { ok: false; settlement: Settlement };

/** `msg`'s item by `schema`, or the `{ term }` settlement that ends a malformed one (logged, named `malformed <what>`). */
export function decodeItem<S extends z.ZodType>(schema: S, msg: WorkMessage, log: Logger, what = 'work item'): Decoded<z.infer<S>> {
  try {
    return { ok: true, item: decodeInternal(schema, msg.data) };
  } catch (e) {
    log.error({ err: e, subject: msg.subject }, `malformed ${what} terminated`);
    return { ok: false, settlement: { term: `malformed ${what}` } };
  }
}
