/** decodeItem: the work item by its schema, or the `{ term }` that ends a malformed one (as every work handler settled it before). */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodePayload } from '../runtime/nats/mod.js';
import { decodeItem, type WorkMessage } from '../runtime/workers/mod.js';

const Item = z.object({ jobId: z.string(), index: z.number() });
const message = (data: Uint8Array) => ({ subject: 'vpipe.work.test', data }) as unknown as WorkMessage;
const logger = () => {
  const errors: { fields: Record<string, unknown>; text: string }[] = [];
  return { errors, log: { error: (fields: Record<string, unknown>, text: string) => errors.push({ fields, text }) } as never };
};

describe('decodeItem', () => {
  it('gives the item when it decodes', () => {
    const { errors, log } = logger();
    expect(decodeItem(Item, message(encodePayload({ jobId: 'j', index: 3 }, 'msgpack')), log)).toEqual({ ok: true, item: { jobId: 'j', index: 3 } });
    expect(errors).toEqual([]);
  });

  it.each([
    ['not msgpack', new Uint8Array([0xc1, 0xc1])],
    ['the wrong shape', encodePayload({ jobId: 7 }, 'msgpack')],
  ])('terminates an item that is %s, naming what it is, and logs it', (_what, data) => {
    const { errors, log } = logger();
    expect(decodeItem(Item, message(data), log, 'chunk work item')).toEqual({ ok: false, settlement: { term: 'malformed chunk work item' } });
    expect(errors.map((e) => [e.text, e.fields.subject])).toEqual([['malformed chunk work item terminated', 'vpipe.work.test']]);
    expect(decodeItem(Item, message(data), log)).toEqual({ ok: false, settlement: { term: 'malformed work item' } });
  });
});
