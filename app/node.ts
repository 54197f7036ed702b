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
import { ensureDeadLetterTopology, startDeadLetterKeeper } from '../supervisor/dead-letters.js';
import { nodeCapacity, Supervisor, type PoolSpec } from '../supervisor/supervisor.js';
import { type Logger, rootLogger, serveMetrics } from '../runtime/core/mod.js';
import { createRuntimeContext, drainWithin, monitorQueueDepths, type NatsServerHandle, REPO_ROOT, type RuntimeContext, startNatsServer, type TopologyOptions } from '../runtime/nats/mod.js';

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
  embedded?: { port?: number; monitorPort?: number };
  /** Stream/consumer settings; default from the environment (VPIPE_REPLICAS, VPIPE_ACK_WAIT_MS …). */
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

/** Reads the documented environment (API.md, Operating) into a node config. */
export function configFromEnv(env = process.env): Omit<NodeConfig, 'roles'> {
  return {
    natsUrl: env.NATS_URL || undefined,
    mediaRoot: path.resolve(env.VPIPE_MEDIA_ROOT ?? 'media'),
    dataDir: path.resolve(env.VPIPE_DATA_DIR ?? path.join(REPO_ROOT, '.vpipe/data')),
    metricsPort: env.VPIPE_METRICS_PORT === undefined ? 9464 : Number(env.VPIPE_METRICS_PORT),
    concurrency: env.VPIPE_CONCURRENCY ? Number(env.VPIPE_CONCURRENCY) : undefined,
    encoderActors: env.VPIPE_ENCODER_ACTORS ? Number(env.VPIPE_ENCODER_ACTORS) : undefined,
    encoderMin: env.VPIPE_ENCODER_MIN ? Number(env.VPIPE_ENCODER_MIN) : undefined,
    encoderMax: env.VPIPE_ENCODER_MAX ? Number(env.VPIPE_ENCODER_MAX) : undefined,
    scaleDownCooldownMs: env.VPIPE_SCALE_DOWN_COOLDOWN_MS ? Number(env.VPIPE_SCALE_DOWN_COOLDOWN_MS) : undefined,
    embedded: {
      port: env.VPIPE_NATS_PORT ? Number(env.VPIPE_NATS_PORT) : undefined,
      monitorPort: env.VPIPE_NATS_MONITOR_PORT ? Number(env.VPIPE_NATS_MONITOR_PORT) : undefined,
    },
  };
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
      port: cfg.embedded?.port ?? 4222,
      monitorPort: cfg.embedded?.monitorPort ?? 8222,
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
      const r = new JobRunner(ctx, def, { concurrency: cfg.concurrency ?? 2 });
      r.start();
      runners.push(r);
    }
  }
  let supervisor: Supervisor | null = null;
  if (cfg.roles.includes('encoder')) {
    const fixed = cfg.encoderActors;
    const capacity = nodeCapacity();
    const pools: PoolSpec[] = [];
    for (const def of services) {
      for (const w of (await def.workers?.(ctx)) ?? []) {
        // A fixed count (VPIPE_ENCODER_ACTORS) pins each pool and turns autoscaling off.
        pools.push({ ...w, min: fixed ?? cfg.encoderMin ?? 1, max: fixed ?? cfg.encoderMax ?? capacity.cpus * 2 });
      }
    }
    supervisor = new Supervisor(ctx, pools, { capacity: fixed ? { cpus: Infinity, memoryMb: Infinity } : capacity, cooldownMs: cfg.scaleDownCooldownMs });
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
    async stop(graceMs = 10_000) {
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
