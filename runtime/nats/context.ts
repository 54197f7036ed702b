/** The connections and settings every layer of a service shares in one process. */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamPublisher } from './publisher.js';
import type { Logger } from '../core/mod.js';
import { processConfig, type NatsOptions } from '../../schemas/config.js';
import { ensureTopology, type Topology, type TopologyOptions } from './topology.js';

export interface RuntimeContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  /** Pipelined JetStream publishing for hot paths (chunk dispatch, chunk results). */
  pub: JetStreamPublisher;
  mediaRoot: string;
  log: Logger;
}

export interface ConnectOptions {
  servers: string;
  name: string;
  mediaRoot: string;
  log: Logger;
  workFunctions: readonly string[];
  topology?: TopologyOptions;
}

/**
 * Client settings every vpipe connection uses. nats.js captures a stack trace
 * on every request so that a time-out can say where it was asked; at
 * thousands of requests per second that capture was a third of the process's
 * CPU (bench:control). Off by default; `VPIPE_NATS_ASYNC_TRACES=1` brings the
 * traces back when debugging time-outs.
 */
export function natsClientTuning(nats: Pick<NatsOptions, 'asyncTraces'> = processConfig().nats): { noAsyncTraces: boolean } {
  return { noAsyncTraces: !nats.asyncTraces };
}

/** Connects (reconnecting forever, as a long-running service should) and ensures the topology. */
export async function createRuntimeContext(o: ConnectOptions): Promise<RuntimeContext> {
  const nc = await connect({
    servers: o.servers.split(',').map((s) => s.trim()),
    name: o.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    ...natsClientTuning(),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') o.log.warn({ nats: s.type, server: (s as { server?: string }).server }, 'nats connection status');
    }
  })();
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const topology = await ensureTopology(nc, jsm, o.workFunctions, o.topology ?? processConfig().topology);
  return { nc, js, jsm, topology, pub: new JetStreamPublisher(nc), mediaRoot: o.mediaRoot, log: o.log };
}
