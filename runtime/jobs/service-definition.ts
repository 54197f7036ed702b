/**
 * What a vpipe service declares so the runtime can host it: its micro-service
 * identity, request schema, admission (request → job input) and the XState
 * machine of one job, with side effects provided from outside.
 */
import type { AnyStateMachine } from 'xstate';
import type { z } from 'zod';
import type { ErrorBody, ProgressEvent } from '../../schemas/api.js';
import type { Priority } from '../../schemas/common.js';
import type { Logger } from '../core/mod.js';
import { type RuntimeContext, Subjects } from '../nats/mod.js';
import type { Shape, WorkHandler } from '../workers/mod.js';

/** What a workflow's steps get from the runtime: the job's cancellation signal, a logger and a progress reporter. */
export interface StepDeps {
  jobId: string;
  /** NATS and settings, for steps that fan work out or call other services. */
  runtime: RuntimeContext;
  signal: AbortSignal;
  log: Logger;
  progress(step: string, fraction: number, extra?: Pick<ProgressEvent, 'chunksDone' | 'chunksTotal' | 'fps' | 'speed' | 'parts'>): void;
}

/** Every job machine ends in a final state whose output is one of these. */
export type JobOutput = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

export interface AdmitContext {
  mediaRoot: string;
  /** The job endpoint the request came to (the service's own, or one of `moreEndpoints`). */
  endpoint: string;
}

/** A further job endpoint of a service (`vpipe.<id>.<name>`): its own request schema; admit tells them apart by `AdmitContext.endpoint`. */
export interface ExtraEndpoint {
  name: string;
  subject: string;
  request: z.ZodType;
  description: string;
}

export interface ServiceDefinition<Req = unknown, Input = unknown> {
  /** Short id used in subjects: `vpipe.<id>.…`, `vpipe.evt.<id>.…`, work function name. */
  id: string;
  /** Micro-service name, e.g. `vpipe-vis`. */
  name: string;
  version: string;
  description: string;
  endpoint: { name: string; subject: string };
  request: z.ZodType<Req>;
  /** More job endpoints of the same service (one job store, one job queue, one machine that branches on its input). */
  moreEndpoints?: readonly ExtraEndpoint[];
  /** Refuses (throws VpipeError) or turns a valid request into the job's input. Runs before anything is stored. */
  admit(req: Req, ctx: AdmitContext): Promise<{ input: Input; priority: Priority }>;
  /** The job machine with its side effects provided. Its input is the job input; it ends with a JobOutput. */
  workflow(deps: StepDeps): AnyStateMachine;
  /** Work queues beyond the service's own job queue (e.g. `encode.h264`): created with the topology. */
  workFunctions?: readonly string[];
  /** Compute actors a node with the `encoder` role runs for this service (one pool per function it can serve here). */
  workers?(ctx: RuntimeContext): Promise<{ fn: string; handler: WorkHandler; shape: Shape }[]>;
  /**
   * Told once a job has failed or was cancelled, so what it left behind (temporary files, per-job records)
   * is removed. May be told more than once (a redelivered final job); must be idempotent.
   */
  ended?(ctx: RuntimeContext, jobId: string, input: unknown, state: 'failed' | 'cancelled'): Promise<void>;
  /** Told when an item of one of `workFunctions` is dead-lettered, so the job it belongs to fails. Never throws. */
  onDeadLetter?(ctx: RuntimeContext, fn: string, data: Uint8Array, reason: string): Promise<void>;
}

/** A service's identity as it declares it; {@link serviceIdentity} derives the rest. */
export interface ServiceIdentity<Req> {
  id: string;
  /** The one job endpoint's name, e.g. `inspect`. */
  endpoint: string;
  version: string;
  description: string;
  request: z.ZodType<Req>;
}

/**
 * The head of a ServiceDefinition from the naming every service follows: micro-service `vpipe-<id>`,
 * its job endpoint `<endpoint>` on subject `vpipe.<id>.<endpoint>`. Spread it into the definition.
 */
export function serviceIdentity<Req>(o: ServiceIdentity<Req>): Pick<ServiceDefinition<Req>, 'id' | 'name' | 'version' | 'description' | 'endpoint' | 'request'> {
  return { id: o.id, name: `vpipe-${o.id}`, version: o.version, description: o.description, endpoint: { name: o.endpoint, subject: Subjects.endpoint(o.id, o.endpoint) }, request: o.request };
}
