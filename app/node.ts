/**
 * A vpipe node: one process hosting the roles it is given (api, workflow) for
 * every service, against an existing NATS (NATS_URL) or an embedded server it
 * starts itself. `vpipe up` is a node with every role on an embedded server.
 */
import type { Service } from '@nats-io/services';
import fs from 'node:fs';
import path from 'node:path';
import { ALL_SERVICES } from './services.js';
import { failDeadJob, JobRunner, type ServiceDefinition, startApi } from '../runtime/jobs/mod.js';
import { ensureDeadLetterTopology, publishDeadLetter, startDeadLetterKeeper } from '../supervisor/dead-letters.js';
import { nodeCapacity, Supervisor, type PoolSpec } from '../supervisor/supervisor.js';
import { type Logger, rootLogger, serveMetrics } from '../runtime/core/mod.js';
import { configureTools } from '../runtime/media/mod.js';
import { DEFAULT_CONCURRENCY, DEFAULT_DRAIN_GRACE_MS, describeConfig, loadConfig, processConfig, type VpipeConfig } from '../schemas/config.js';
import { createRuntimeContext, drainWithin, monitorQueueDepths, type NatsServerHandle, type RuntimeContext, startNatsServer, type TopologyOptions } from '../runtime/nats/mod.js';

export const ROLES = ['api', 'workflow', 'encoder'] as const;
export type Role = (typeof ROLES)[number];

export interface NodeConfig {
  /** NATS URL(s), comma-separated; undefined → start an embedded nats-server. */
  natsUrl?: string;
  mediaRoot: string;
  dataDir: string;
  /** 0 picks a free port; undefined disables the metrics server. */
  metricsPort?: number;
  roles: readonly Role[];
  services?: ServiceDefinition[];
  /** Jobs each workflow runner runs at once. */
  concurrency?: number;
  /** A fixed number of compute actors per work function, autoscaling off (VPIPE_ENCODER_ACTORS). */
  encoderActors?: number;
  /** Autoscaling bounds per pool (VPIPE_ENCODER_MIN, default 1; VPIPE_ENCODER_MAX, default 2 × cores). */
  encoderMin?: number;
  encoderMax?: number;
  /** How long a queue must stay below the actor count before scaling down (VPIPE_SCALE_DOWN_COOLDOWN_MS, 10 s). */
  scaleDownCooldownMs?: number;
  /** How long an escalated pool stays stopped (VPIPE_ESCALATION_HOLD_MS); default the process configuration's. */
  escalationHoldMs?: number;
  /** What the supervisor packs actors into (VPIPE_NODE_CPUS, VPIPE_NODE_MEMORY_MB); default the process configuration's. */
  capacity?: { cpus: number; memoryMb: number };
  /** The embedded server's ports and binary (VPIPE_NATS_PORT, VPIPE_NATS_MONITOR_PORT, VPIPE_NATS_SERVER). */
  embedded?: { port?: number; monitorPort?: number; binary?: string | null };
  /** Stream/consumer settings; default the process configuration's (VPIPE_REPLICAS, VPIPE_ACK_WAIT_MS …). */
  topology?: TopologyOptions;
  log?: Logger;
}

export interface VpipeNode {
  ctx: RuntimeContext;
  natsUrl: string;
  server: NatsServerHandle | null;
  metricsPort: number | null;
  runners: JobRunner[];
  /** The encoder role's supervisor (null without that role). */
  supervisor: Supervisor | null;
  /** Drains: stops taking requests and work, lets running jobs finish (graceMs), closes NATS, stops the embedded server. */
  stop(graceMs?: number): Promise<void>;
}

/** A node config from the compiled configuration (schemas/config.ts): every setting filled in. */
export function nodeConfigFrom(config: VpipeConfig): Omit<NodeConfig, 'roles'> {
  return {
    natsUrl: config.nats.url ?? undefined,
    mediaRoot: config.paths.mediaRoot,
    dataDir: config.paths.dataDir,
    metricsPort: config.metrics.port,
    concurrency: config.node.concurrency,
    encoderActors: config.pools.encoderActors ?? undefined,
    encoderMin: config.pools.encoderMin,
    encoderMax: config.pools.encoderMax,
    scaleDownCooldownMs: config.pools.scaleDownCooldownMs,
    escalationHoldMs: config.pools.escalationHoldMs,
    capacity: nodeCapacity(config.node),
    embedded: { ...config.nats.embedded, binary: config.nats.serverBinary },
    topology: config.topology,
  };
}

/** The documented environment (README, Configuration) as a node config: `env` when given, else the process's (parsed once). Throws ConfigError. */
export function configFromEnv(env?: Readonly<Record<string, string | undefined>>): Omit<NodeConfig, 'roles'> {
  return nodeConfigFrom(env ? loadConfig(env) : processConfig());
}

/** Applies the process-wide settings that are not handed down (deep tool runs, the root logger's level) and logs the options at debug level. Call once at start. */
export function configureProcess(config: VpipeConfig, log: Logger = rootLogger): void {
  configureTools(config.tools);
  rootLogger.level = config.log.level;
  log.debug({ config: describeConfig(config) }, 'configuration');
  for (const name of config.unknown) log.warn({ variable: name }, `${name} is not a vpipe setting and is ignored (see README, Configuration)`);
}

export async function startNode(cfg: NodeConfig): Promise<VpipeNode> {
  const log = cfg.log ?? rootLogger;
  const services = cfg.services ?? ALL_SERVICES;
  fs.mkdirSync(cfg.mediaRoot, { recursive: true });
  fs.mkdirSync(cfg.dataDir, { recursive: true });

  let server: NatsServerHandle | null = null;
  let natsUrl = cfg.natsUrl;
  if (!natsUrl) {
    server = await startNatsServer({
      dataDir: path.join(cfg.dataDir, 'nats'),
      port: cfg.embedded?.port ?? processConfig().nats.embedded.port,
      monitorPort: cfg.embedded?.monitorPort ?? processConfig().nats.embedded.monitorPort,
      binary: cfg.embedded?.binary,
      serverName: 'vpipe-embedded',
      dieWithParent: true,
      logFile: path.join(cfg.dataDir, 'nats-server.log'),
    });
    natsUrl = server.url;
    log.info({ url: natsUrl, monitor: `http://127.0.0.1:${server.monitorPort}` }, 'embedded nats-server started');
  }

  const workFunctions = services.flatMap((s) => [s.id, ...(s.workFunctions ?? [])]);
  const ctx = await createRuntimeContext({
    servers: natsUrl,
    name: `vpipe-node-${process.pid}`,
    mediaRoot: cfg.mediaRoot,
    log,
    workFunctions,
    topology: cfg.topology,
  });
  const apis: Service[] = [];
  const runners: JobRunner[] = [];
  let stopKeeper = async () => undefined as void;
  if (cfg.roles.includes('workflow')) {
    await ensureDeadLetterTopology(ctx);
    stopKeeper = startDeadLetterKeeper(ctx, (fn) => {
      const owner = services.find((s) => s.id === fn || s.workFunctions?.includes(fn));
      if (!owner) return undefined;
      return (d) => (owner.id === fn ? failDeadJob(ctx, fn, d.data, d.reason) : owner.onDeadLetter?.(ctx, fn, d.data, d.reason) ?? Promise.resolve());
    });
    for (const def of services) {
      const r = new JobRunner(ctx, def, { concurrency: cfg.concurrency ?? DEFAULT_CONCURRENCY, deadLetter: (d) => publishDeadLetter(ctx, d) });
      r.start();
      runners.push(r);
    }
  }
  let supervisor: Supervisor | null = null;
  if (cfg.roles.includes('encoder')) {
    const fixed = cfg.encoderActors;
    const capacity = cfg.capacity ?? nodeCapacity();
    const pools: PoolSpec[] = [];
    for (const def of services) {
      for (const w of (await def.workers?.(ctx)) ?? []) {
        // A fixed count (VPIPE_ENCODER_ACTORS) pins each pool and turns autoscaling off.
        pools.push({ ...w, min: fixed ?? cfg.encoderMin ?? processConfig().pools.encoderMin, max: fixed ?? cfg.encoderMax ?? processConfig().pools.encoderMax });
      }
    }
    supervisor = new Supervisor(ctx, pools, { capacity: fixed ? { cpus: Infinity, memoryMb: Infinity } : capacity, cooldownMs: cfg.scaleDownCooldownMs, escalationHoldMs: cfg.escalationHoldMs });
    supervisor.start();
  }
  if (cfg.roles.includes('api')) for (const def of services) apis.push(await startApi(ctx, def));
  const metrics = cfg.metricsPort === undefined ? null : await serveMetrics(cfg.metricsPort);
  const stopDepths = metrics ? monitorQueueDepths(ctx, workFunctions) : () => undefined;
  log.info({ roles: cfg.roles, services: services.map((s) => s.name), mediaRoot: cfg.mediaRoot, metricsPort: metrics?.port }, 'vpipe node ready');

  return {
    ctx,
    natsUrl,
    server,
    metricsPort: metrics?.port ?? null,
    runners,
    supervisor,
    async stop(graceMs = DEFAULT_DRAIN_GRACE_MS) {
      stopDepths();
      await Promise.all(apis.map((a) => a.stop()));
      await Promise.all([...runners.map((r) => r.stop(graceMs)), supervisor?.stop(graceMs), stopKeeper()]);
      await drainWithin(ctx.nc);
      ctx.pub.close(); // anything still unanswered fails now instead of at its time-out
      await metrics?.close();
      await server?.stop();
    },
  };
}
