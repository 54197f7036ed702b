/**
 * Pipelined JetStream requests for the hot paths (dispatching chunk work,
 * writing and reading chunk results): the replies of one connection come to
 * one wildcard subscription and are matched by a counter in the reply
 * subject; time-outs are found by one sweep timer.
 *
 * nats.js's `js.publish` is a full request per message: a reply-mux entry, a
 * timer, and an Error built (stack trace and all) even when the request
 * succeeds. At thousands of messages per second that was most of the client's
 * CPU in `npm run bench:control`. The semantics are the same: the promise
 * resolves with the PubAck once the stream has stored the message (or found
 * it a duplicate by `Nats-Msg-Id`), and rejects with an error that
 * `withJsRetry` knows how to classify.
 */
import { JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, errors, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface PublishOptions {
  /** Nats-Msg-Id: the stream drops a second message with the same id inside its duplicate window. */
  msgID?: string;
  headers?: MsgHdrs;
  timeoutMs?: number;
}

interface Pending {
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
  subject: string;
  deadline: number;
}

const td = new TextDecoder();
const te = new TextEncoder();

export class JetStreamPublisher {
  private readonly prefix = createInbox();
  private readonly sub: Subscription;
  private readonly inflight = new Map<number, Pending>();
  private seq = 0;
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly defaultTimeoutMs = 5_000,
  ) {
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (_e, m) => this.onReply(m) });
  }

  /** Requests (publishes, gets) not yet answered. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Publishes to a stream's subject; resolves once the stream has stored it (or found it a duplicate by Nats-Msg-Id). */
  async publish(subject: string, data: Uint8Array, opts: PublishOptions = {}): Promise<PubAck> {
    let h = opts.headers;
    if (opts.msgID) {
      h ??= natsHeaders();
      h.set('Nats-Msg-Id', opts.msgID);
    }
    const m = await this.request(subject, data, h, opts.timeoutMs);
    if (m.headers?.code === 503) throw new errors.NoRespondersError(subject);
    const r = JSON.parse(td.decode(m.data)) as PubAck & { error?: ConstructorParameters<typeof JetStreamApiError>[0] };
    if (r.error) throw new JetStreamApiError(r.error);
    if (!r.stream) throw new Error(`invalid publish acknowledgement for ${subject}`);
    return { ...r, duplicate: r.duplicate ?? false };
  }

  /**
   * The last message stored under `subject` in `stream` (JetStream direct get, which KV buckets allow by
   * default), or null if there is none. Rejects with "no responders" where the stream does not allow direct gets.
   */
  async lastBySubject(stream: string, subject: string, timeoutMs?: number): Promise<Msg | null> {
    const m = await this.request(`$JS.API.DIRECT.GET.${stream}`, te.encode(JSON.stringify({ last_by_subj: subject })), undefined, timeoutMs);
    const code = m.headers?.code ?? 0;
    if (code === 404) return null;
    if (code === 503) throw new errors.NoRespondersError(`$JS.API.DIRECT.GET.${stream}`);
    if (code >= 400) throw new Error(`direct get from ${stream} failed: ${code} ${m.headers?.description ?? ''}`.trim());
    return m;
  }

  /** One request whose reply comes to the shared subscription, matched by a counter in its reply subject. */
  private request(subject: string, data: Uint8Array, headers: MsgHdrs | undefined, timeoutMs = this.defaultTimeoutMs): Promise<Msg> {
    const id = ++this.seq;
    return new Promise<Msg>((resolve, reject) => {
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${id}`, headers });
      } catch (e) {
        return reject(e instanceof Error ? e : new Error(String(e)));
      }
      this.inflight.set(id, { resolve, reject, subject, deadline: Date.now() + timeoutMs });
      this.sweeper ??= setInterval(() => this.sweep(), 250);
      this.sweeper.unref?.();
    });
  }

  /** Rejects what is in flight and stops listening (the connection is closing). */
  close(): void {
    this.sub.unsubscribe();
    for (const p of this.inflight.values()) p.reject(new errors.ClosedConnectionError());
    this.inflight.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private onReply(m: Msg): void {
    const id = Number(m.subject.slice(this.prefix.length + 1));
    const p = this.inflight.get(id);
    if (!p) return; // timed out already
    this.inflight.delete(id);
    p.resolve(m);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.inflight) {
      if (p.deadline > now) continue;
      this.inflight.delete(id);
      p.reject(new errors.TimeoutError());
    }
    if (this.inflight.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}

/** The subject a KV put of `key` in `bucket` is published to (what `kv.put` does, without its request machinery). */
export function kvPutSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

/** The stream behind a KV bucket. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}
