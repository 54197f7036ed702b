/**
 * The JetStream topology: streams, durable work consumers and KV buckets,
 * created idempotently at start (re-running never fails or duplicates; a
 * changed setting is applied as an update).
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { PRIORITIES, type Priority } from '../../schemas/common.js';
import { loadConfig, processConfig, type TopologyOptions } from '../../schemas/config.js';
import { withJsRetry } from './js-retry.js';

export const STREAM_WORK = 'VPIPE_WORK';
export const STREAM_EVENTS = 'VPIPE_EVENTS';
export const KV_JOBS = 'vpipe_jobs';
export const KV_CHUNKS = 'vpipe_chunks';
/** Frame indexes, one object per source content hash (`<sha256>.v<version>`). */
export const OBJ_FRAME_INDEX = 'vpipe_frame_index';
/** Content hashes of source files by identity (device, inode, size, mtime), so a file is hashed once. */
export const KV_SOURCES = 'vpipe_sources';
/** CAS analyses (rate–quality points), one per content + codec + encoder version + settings; see actors/cas/store.ts. */
export const KV_COMPLEXITY = 'vpipe_complexity';
/** The studio's forensic watermark registry (secret, titles and their recipients); see actors/studio/registry.ts. */
export const KV_WATERMARKS = 'vpipe_watermarks';

const SECOND_NS = 1_000_000_000;

/** Stream, consumer and KV settings (VPIPE_REPLICAS, VPIPE_ACK_WAIT_MS …), compiled by schemas/config.ts. */
export type { TopologyOptions };

/** The topology settings of an environment (throws ConfigError); the tests' and benches' defaults are `topologyFromEnv({})`. */
export function topologyFromEnv(env: Readonly<Record<string, string | undefined>>): TopologyOptions {
  return loadConfig(env).topology;
}

/**
 * Every subject vpipe uses, named in one place (the streams below, the API layer, the client, the
 * pullers, dead letters and services all build theirs here).
 */
export const Subjects = {
  /** A service's micro-service endpoints: `vpipe.vis.inspect`, `vpipe.vis.status`, `vpipe.vis.cancel`. */
  endpoint: (svc: string, name: string): string => `vpipe.${svc}.${name}`,
  /** Work of a function and priority class: `vpipe.work.vis.high`, `vpipe.work.encode.h264.low`. */
  work: (fn: string, p: Priority): string => `vpipe.work.${fn}.${p}`,
  /** Every class of one function (a pool's wake-up bell). */
  workOf: (fn: string): string => `vpipe.work.${fn}.*`,
  allWork: 'vpipe.work.>',
  /** A job's result event, and its progress events. */
  event: (svc: string, jobId: string): string => `vpipe.evt.${svc}.${jobId}`,
  progress: (svc: string, jobId: string): string => `vpipe.evt.${svc}.${jobId}.progress`,
  eventsOf: (svc: string): string => `vpipe.evt.${svc}.>`,
  allEvents: 'vpipe.evt.>',
  /** Core-NATS control messages to every instance of a service's workflow layer (e.g. cancel). */
  control: (svc: string, what: string): string => `vpipe.ctl.${svc}.${what}`,
  /** Dead letters of a work function. */
  deadLetter: (fn: string): string => `vpipe.dlq.${fn}`,
  allDeadLetters: 'vpipe.dlq.>',
} as const;

/** Work subject of a function and priority class (Subjects.work). */
export const workSubject = Subjects.work;
/** Durable consumer name for (function, priority): `work_vis_high`. */
export const workConsumer = (fn: string, p: Priority): string => `work_${fn.replace(/\./g, '_')}_${p}`;
export const eventSubject = Subjects.event;
export const progressSubject = Subjects.progress;

function isAlreadyInUse(e: unknown): boolean {
  // 10058: stream name in use with a different configuration; 10148: consumer already exists with different config.
  return e instanceof JetStreamApiError && [10058, 10148, 10013].includes(e.code);
}

// Each call is retried through transient cluster states (a fresh cluster still
// placing peers, a leader election): every process runs this at start.
async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await withJsRetry(() => jsm.streams.add(cfg), 30_000);
  } catch (e) {
    if (!isAlreadyInUse(e)) throw e;
    await withJsRetry(() => jsm.streams.update(cfg.name, cfg), 30_000);
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, cfg: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  try {
    await withJsRetry(() => jsm.consumers.add(stream, cfg), 30_000);
  } catch (e) {
    if (!isAlreadyInUse(e)) throw e;
    await withJsRetry(() => jsm.consumers.update(stream, cfg.durable_name, cfg), 30_000);
  }
}

export interface Topology {
  jobs: KV;
  /** Chunk results of fanned-out jobs, `<jobId>.<index>`. */
  chunks: KV;
  /** Source content hashes by file identity. */
  sources: KV;
  /** Frame indexes by content hash. */
  frameIndex: ObjectStore;
  /** CAS analyses by content, codec, encoder version and settings. */
  complexity: KV;
  watermarks: KV;
  options: TopologyOptions;
}

/** Creates (or updates) everything for the given work functions. Safe to call from every process at every start. */
export async function ensureTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  workFunctions: readonly string[],
  options: TopologyOptions = processConfig().topology,
): Promise<Topology> {
  const { replicas } = options;
  await ensureStream(jsm, {
    name: STREAM_WORK,
    description: 'vpipe work queues: one subject per (function, priority)',
    subjects: [Subjects.allWork],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    // A full queue refuses new work (the publisher gets an error and says so); it never drops queued work.
    discard: DiscardPolicy.New,
    max_msgs: options.maxQueuedWork > 0 ? options.maxQueuedWork : -1,
    duplicate_window: 120 * SECOND_NS,
  });
  await ensureStream(jsm, {
    name: STREAM_EVENTS,
    description: 'vpipe job results and progress; results are kept so a client that was away can read them',
    subjects: [Subjects.allEvents],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: options.eventsMaxAgeSeconds * SECOND_NS,
    // Only the latest progress messages matter; the result subject holds one message.
    max_msgs_per_subject: 32,
    // Exactly-once results: a job's result event carries Nats-Msg-Id `<svc>.<jobId>.result`.
    duplicate_window: 3600 * SECOND_NS,
  });
  for (const fn of workFunctions) {
    for (const p of PRIORITIES) {
      await ensureConsumer(jsm, STREAM_WORK, {
        durable_name: workConsumer(fn, p),
        filter_subject: workSubject(fn, p),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: options.ackWaitMs * 1_000_000,
        max_deliver: options.maxDeliver,
        max_ack_pending: 10_000,
      });
    }
  }
  const kvm = new Kvm(nc);
  const jobs = await ensureKv(kvm, jsm, KV_JOBS, replicas, options.jobRetentionHours);
  const chunks = await ensureKv(kvm, jsm, KV_CHUNKS, replicas, options.chunkRetentionHours);
  // Indexes and hashes are facts about content: kept until removed (no TTL).
  const sources = await ensureKv(kvm, jsm, KV_SOURCES, replicas, 0);
  const complexity = await ensureKv(kvm, jsm, KV_COMPLEXITY, replicas, 0);
  const watermarks = await ensureKv(kvm, jsm, KV_WATERMARKS, replicas, 0);
  const frameIndex = await withJsRetry(() => new Objm(nc).create(OBJ_FRAME_INDEX, { replicas, storage: StorageType.File }), 30_000);
  return { jobs, chunks, sources, frameIndex, complexity, watermarks, options };
}

/**
 * A KV bucket whose entries expire `retentionHours` after their last write. Opening an existing
 * bucket does not change it, so a changed retention is applied to its stream as an update.
 */
async function ensureKv(kvm: Kvm, jsm: JetStreamManager, bucket: string, replicas: number, retentionHours: number): Promise<KV> {
  const ttl = Math.max(0, Math.round(retentionHours * 3600 * 1000));
  const kv = await withJsRetry(() => kvm.create(bucket, { history: 1, replicas, storage: StorageType.File, ...(ttl ? { ttl } : {}) }), 30_000);
  const stream = `KV_${bucket}`;
  const info = await withJsRetry(() => jsm.streams.info(stream), 30_000);
  const maxAge = ttl * 1_000_000;
  if (info.config.max_age !== maxAge) {
    // KV's usual two-minute duplicate window, but never longer than the max age (the server refuses that).
    const dw = maxAge ? Math.min(120 * SECOND_NS, maxAge) : 120 * SECOND_NS;
    await withJsRetry(() => jsm.streams.update(stream, { ...info.config, max_age: maxAge, duplicate_window: dw }), 30_000);
  }
  return kv;
}
