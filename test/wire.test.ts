import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { pullOrder } from '../runtime/workers/puller.js';
import { parseAckSubject } from '../runtime/workers/message.js';
import { decodePayload, detectEncoding, encodePayload, validate, MAX_REQUEST_BYTES } from '../runtime/nats/wire.js';
import { InspectRequest } from '../schemas/vis.js';
import { VpipeError } from '../runtime/core/errors.js';

const te = new TextEncoder();

describe('wire codec', () => {
  it('detects JSON by content type or a leading brace, MessagePack otherwise', () => {
    expect(detectEncoding(te.encode(' {"a":1}'))).toBe('json');
    expect(detectEncoding(encode({ a: 1 }))).toBe('msgpack');
    const h = headers();
    h.set('Content-Type', 'application/json');
    expect(detectEncoding(te.encode('[1]'), h)).toBe('json');
  });

  it('round-trips both encodings', () => {
    for (const enc of ['json', 'msgpack'] as const) {
      expect(decodePayload(encodePayload({ a: [1, 'b'], c: null }, enc), enc)).toEqual({ a: [1, 'b'], c: null });
    }
  });

  it('refuses empty, oversized, and malformed payloads with UNDECODABLE_PAYLOAD or PAYLOAD_TOO_LARGE', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as VpipeError).code;
      }
    };
    expect(codeOf(() => decodePayload(new Uint8Array(), 'json'))).toBe('UNDECODABLE_PAYLOAD');
    expect(codeOf(() => decodePayload(te.encode('{"a":'), 'json'))).toBe('UNDECODABLE_PAYLOAD');
    expect(codeOf(() => decodePayload(new Uint8Array([0xc1]), 'msgpack'))).toBe('UNDECODABLE_PAYLOAD');
    expect(codeOf(() => decodePayload(new Uint8Array(MAX_REQUEST_BYTES + 1), 'msgpack'))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('names the offending field path on a schema error', () => {
    expect(() => validate(InspectRequest, { source: { uri: 5 } })).toThrow(/source\.uri/);
    let err: unknown;
    try {
      validate(InspectRequest, { source: { uri: '/a' }, priority: 'urgent' });
    } catch (e) {
      err = e;
    }
    expect((err as VpipeError).details?.[0]?.path).toBe('priority');
  });
});

describe('JetStream ack subjects', () => {
  it('parses the v1 and v2 forms', () => {
    expect(parseAckSubject('$JS.ACK.VPIPE_WORK.work_vis_high.3.17.9.1700000000000000000.4')).toMatchObject({
      stream: 'VPIPE_WORK', consumer: 'work_vis_high', deliveryCount: 3, streamSeq: 17, pending: 4, storedAtMs: 1_700_000_000_000,
    });
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.VPIPE_WORK.c.1.2.3.4.5.tok')).toMatchObject({ stream: 'VPIPE_WORK', consumer: 'c', deliveryCount: 1 });
    expect(parseAckSubject('_INBOX.abc')).toBeNull();
  });
});

describe('priority order', () => {
  it('tries high, normal, low while nothing has waited long', () => {
    expect(pullOrder({ high: 0, normal: 3, low: 7 }, 8)).toEqual(['high', 'normal', 'low']);
  });
  it('lets a class that waited through the bound go first once', () => {
    expect(pullOrder({ high: 0, normal: 2, low: 8 }, 8)).toEqual(['low', 'high', 'normal']);
    expect(pullOrder({ high: 0, normal: 9, low: 1 }, 8)).toEqual(['normal', 'high', 'low']);
  });
});
