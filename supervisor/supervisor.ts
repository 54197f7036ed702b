/**
 * The per-node supervisor: owns the node's compute actor pools, scales them
 * by queue depth (the signal KEDA reads: num_pending + num_ack_pending of
 * each work consumer) within the node's capacity, and keeps restarted and
 * escalated pools in view. Every decision is logged with its reason.
 */
import { PRIORITIES, type Priority } from '../schemas/common.js';
import { processConfig, type NodeOptions, type PoolOptions } from '../schemas/config.js';
import { metrics } from '../runtime/core/mod.js';
import { readQueueDepths, type RuntimeContext } from '../runtime/nats/mod.js';
import { type Resources, type Shape, type WorkHandler, WorkWorker, type WorkHostOptions } from '../runtime/workers/mod.js';
import { decide, DEFAULT_SCALER, type PoolState, type ScalerMemory } from './autoscaler.js';
import { publishDeadLetter } from './dead-letters.js';
import { Ledger } from './ledger.js';
import { intensityPolicy, type RestartIntensity } from './restarts.js';

export interface PoolSpec {
  fn: string;
  handler: WorkHandler;
  /** The pool's nominal shape: what the autoscaler plans one actor at until its items have reserved their own. */
  shape: Shape;
  min: number;
  max: number;
  /** Heartbeat mode of the pool's items (default `progress`: compute work reports its tool's progress). */
  heartbeat?: WorkHostOptions['heartbeat'];
}

export interface SupervisorOptions {
  capacity?: Resources;
  intervalMs?: number;
  cooldownMs?: number;
  intensity?: RestartIntensity;
  /**
   * How long an escalated pool stays stopped before it is let run again with a clean restart history
   * (a circuit breaker's half-open): a transient cause (a full disk, a dead NFS mount) heals without a
   * restart of the node, a lasting one escalates again. 0 keeps it stopped until the node restarts.
   */
  escalationHoldMs?: number;
  /** The clock (a simulated one in tests of the decision; real here). */
  now?: () => number;
}

/** How long an escalated pool stays stopped (VPIPE_ESCALATION_HOLD_MS, parsed by schemas/config.ts): from the given pool options, else the process's. */
export function escalationHoldFromEnv(pools: Pick<PoolOptions, 'escalationHoldMs'> = processConfig().pools): number {
  return pools.escalationHoldMs;
}

/** Node capacity (VPIPE_NODE_CPUS / VPIPE_NODE_MEMORY_MB, detected by default): from the given node options, else the process's. */
export function nodeCapacity(node: Pick<NodeOptions, 'cpus' | 'memoryMb'> = processConfig().node): Resources {
  return { cpus: node.cpus, memoryMb: node.memoryMb };
}

export class Supervisor {
  private readonly pools = new Map<string, { spec: PoolSpec; worker: WorkWorker }>();
  private memory: ScalerMemory = { belowSince: {} };
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  readonly capacity: Resources;
  /** Every item of every pool here reserves its shape from this. */
  readonly ledger: Ledger;

  constructor(
    private readonly ctx: RuntimeContext,
    specs: PoolSpec[],
    private readonly opts: SupervisorOptions = {},
  ) {
    this.capacity = opts.capacity ?? nodeCapacity();
    this.ledger = new Ledger(this.capacity);
    for (const spec of specs) {
      const worker = new WorkWorker(ctx, spec.fn, spec.handler, {
        concurrency: 0,
        heartbeat: spec.heartbeat ?? 'progress',
        crashPolicy: intensityPolicy(opts.intensity),
        reservations: this.ledger,
        deadLetter: (d) => publishDeadLetter(ctx, d),
        onEscalate: (reason) => {
          metrics.poolEscalated.set({ function: spec.fn }, 1);
          ctx.log.error({ function: spec.fn, reason }, 'supervisor: pool escalated and stopped');
        },
      });
      this.pools.set(spec.fn, { spec, worker });
    }
  }

  start(): void {
    for (const { worker, spec } of this.pools.values()) {
      worker.start();
      worker.setConcurrency(spec.min);
    }
    const loop = () => {
      this.ticking = this.tick().catch((e: unknown) => this.ctx.log.warn({ err: e }, 'supervisor tick failed'));
      void this.ticking.then(() => {
        if (this.timer) this.timer = setTimeout(loop, this.opts.intervalMs ?? 1_000);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** One round: read depths, decide, apply. Exported for tests that step it by hand. */
  async tick(): Promise<void> {
    this.readmitEscalated();
    const depths = await readQueueDepths(this.ctx, [...this.pools.keys()]);
    const states: PoolState[] = [];
    for (const { spec, worker } of this.pools.values()) {
      const depth = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
      for (const d of depths) if (d.fn === spec.fn) depth[d.priority] = d.pending + d.ackPending;
      states.push({ fn: spec.fn, depth, actors: worker.actors, shape: worker.recentShape ?? spec.shape, min: spec.min, max: spec.max, escalated: worker.escalated !== null });
    }
    const r = decide(states, this.capacity, this.opts.now?.() ?? Date.now(), this.memory, { ...DEFAULT_SCALER, cooldownMs: this.opts.cooldownMs ?? DEFAULT_SCALER.cooldownMs });
    this.memory = r.memory;
    for (const d of r.decisions) {
      this.pools.get(d.fn)!.worker.setConcurrency(d.to);
      metrics.autoscalerDecisions.inc({ function: d.fn, direction: d.to > d.from ? 'up' : 'down' });
      this.ctx.log.info({ function: d.fn, from: d.from, to: d.to, reason: d.reason }, 'autoscaler decision');
    }
    for (const { spec, worker } of this.pools.values()) {
      metrics.actors.set({ role: 'encoder', function: spec.fn, state: 'busy', shape: spec.shape.name }, worker.inFlight);
      metrics.actors.set({ role: 'encoder', function: spec.fn, state: 'idle', shape: spec.shape.name }, Math.max(0, worker.actors - worker.inFlight));
    }
  }

  /** Lets pools escalated longer than the hold-off run again; the decision below then gives them actors. */
  private readmitEscalated(): void {
    const hold = this.opts.escalationHoldMs ?? escalationHoldFromEnv();
    const now = this.opts.now?.() ?? Date.now();
    for (const { spec, worker } of this.pools.values()) {
      const at = worker.escalatedAt;
      metrics.poolEscalated.set({ function: spec.fn }, at === null ? 0 : 1);
      if (at === null || hold <= 0 || now - at < hold) continue;
      this.ctx.log.warn({ function: spec.fn, escalatedFor: now - at, reason: worker.escalated }, 'supervisor: escalated pool let run again after its hold-off');
      worker.reset();
      metrics.poolEscalated.set({ function: spec.fn }, 0);
    }
  }

  /** Actors per pool now (for tests and status). */
  actors(): Record<string, number> {
    return Object.fromEntries([...this.pools].map(([fn, p]) => [fn, p.worker.actors]));
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    await Promise.all([...this.pools.values()].map((p) => p.worker.stop(graceMs)));
  }
}
