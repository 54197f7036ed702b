/**
 * A JetStream message taken from a work queue, with the ack protocol spelled
 * out (`+ACK`, `-NAK {"delay"}`, `+WPI`, `+TERM`) so the puller can use
 * no-wait pulls, which nats.js does not expose.
 */
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';

const te = new TextEncoder();

export interface DeliveryInfo {
  stream: string;
  consumer: string;
  /** 1 on first delivery. */
  deliveryCount: number;
  streamSeq: number;
  pending: number;
  /** When the message was stored in the stream (ms since the epoch). */
  storedAtMs: number;
}

/** Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (and the v2 form with domain and account hash). */
export function parseAckSubject(reply: string): DeliveryInfo | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  const o = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (o < 0) return null;
  return {
    stream: t[o]!,
    consumer: t[o + 1]!,
    deliveryCount: Number(t[o + 2]),
    streamSeq: Number(t[o + 3]),
    // The timestamp token is nanoseconds since the epoch: too big for a double's integer range, fine in ms.
    storedAtMs: Number(t[o + 5]) / 1e6,
    pending: Number(t[o + 6]),
  };
}

export class WorkMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly info: DeliveryInfo;
  private done = false;

  constructor(
    private readonly nc: NatsConnection,
    msg: Msg,
    info: DeliveryInfo,
  ) {
    this.subject = msg.subject;
    this.data = msg.data;
    this.headers = msg.headers;
    this.info = info;
    this.reply = msg.reply!;
  }
  private readonly reply: string;

  /** Acks and waits for the server's confirmation, so a completion is never reported for work the server may redeliver. Throws on timeout. */
  async ack(timeoutMs = 5_000): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.nc.request(this.reply, te.encode('+ACK'), { timeout: timeoutMs });
  }

  /** Acks without waiting for the server: for idempotent work, where a lost ack only means a redelivery that is skipped. */
  ackNoWait(): void {
    if (this.done) return;
    this.done = true;
    this.nc.publish(this.reply, te.encode('+ACK'));
  }

  /** Gives the message back for redelivery after `delayMs` (fire-and-forget; ack_wait covers a lost nak). */
  nak(delayMs = 0): void {
    if (this.done) return;
    this.done = true;
    this.nc.publish(this.reply, te.encode(delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : '-NAK'));
  }

  /** In-progress ack: resets the server's ack_wait timer (our heartbeat). */
  working(): void {
    if (!this.done) this.nc.publish(this.reply, te.encode('+WPI'));
  }

  /** Never redeliver: the work can not succeed. */
  term(reason?: string): void {
    if (this.done) return;
    this.done = true;
    this.nc.publish(this.reply, te.encode(reason ? `+TERM ${reason}` : '+TERM'));
  }
}
