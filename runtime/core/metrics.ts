/**
 * Prometheus metrics (prom-client): one registry per process, served on
 * VPIPE_METRICS_PORT. Labels never carry job ids (unbounded cardinality).
 */
import http from 'node:http';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

/** Buckets that fit video work: sub-second probes up to multi-hour encodes. */
export const VIDEO_WORK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** A counter on the process registry; labels are typed by the names given. */
export function counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

/** A gauge on the process registry. */
export function gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): client.Gauge<L> {
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

/** A histogram on the process registry; buckets default to {@link VIDEO_WORK_BUCKETS}. */
export function histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], buckets: number[] = VIDEO_WORK_BUCKETS): client.Histogram<L> {
  return new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

export const metrics = {
  jobsAccepted: counter('vpipe_jobs_accepted_total', 'Jobs accepted by the API layer', ['service']),
  jobsFinished: counter('vpipe_jobs_finished_total', 'Jobs that reached a final state', ['service', 'state']),
  jobDuration: histogram('vpipe_job_duration_seconds', 'Wall time from acceptance to final state', ['service', 'state']),
  stepDuration: histogram('vpipe_job_step_duration_seconds', 'Wall time of one workflow step', ['service', 'step']),
  requestsRejected: counter('vpipe_requests_rejected_total', 'API requests answered with an error', ['service', 'code']),
  jobsInFlight: gauge('vpipe_jobs_in_flight', 'Jobs this process is running now', ['service']),
  jobsResumed: counter('vpipe_jobs_resumed_total', 'Jobs resumed from a persisted snapshot after a crash or redelivery', ['service']),
  workQueueWait: histogram('vpipe_work_queue_wait_seconds', 'How long a work item waited in its queue before an actor took it (first deliveries; the wait priority classes shorten)', ['function', 'priority'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]),
  workQueueDepth: gauge('vpipe_work_queue_depth', 'num_pending + num_ack_pending of a work consumer', ['consumer']),
  chunkEncodeSeconds: histogram('vpipe_chunk_encode_seconds', 'Wall time of one chunk encode', ['codec', 'shape']),
  encodeSpeed: histogram('vpipe_encode_speed_ratio', 'Media seconds encoded per wall second, per chunk', ['codec'], [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]),
  chunks: counter('vpipe_chunks_total', 'Chunk work items handled, by outcome (ok, retry, failed, skipped)', ['codec', 'outcome']),
  actors: gauge('vpipe_actors', 'Compute actors on this node by state (busy, idle) and shape', ['role', 'function', 'state', 'shape']),
  actorRestarts: counter('vpipe_actor_restarts_total', 'Compute actors restarted after a crash', ['role', 'function']),
  heartbeatsWithheld: counter('vpipe_work_heartbeats_withheld_total', 'Work items whose heartbeats stopped because their work made no progress for a heartbeat interval (a hung tool)', ['function']),
  actorEscalations: counter('vpipe_actor_escalations_total', 'Actor pools stopped because their restart intensity was exceeded', ['function']),
  poolEscalated: gauge('vpipe_pool_escalated', '1 while an actor pool is stopped after escalating (until its hold-off ends), else 0', ['function']),
  autoscalerDecisions: counter('vpipe_autoscaler_decisions_total', 'Autoscaler changes of an actor pool size', ['function', 'direction']),
  deadLetters: counter('vpipe_dead_letters_total', 'Work items sent to the dead-letter stream', ['function']),
  toolRuns: counter('vpipe_tool_runs_total', 'ffmpeg/ffprobe runs by outcome', ['tool', 'outcome']),
  toolRunSeconds: histogram('vpipe_tool_run_seconds', 'Wall time of ffmpeg/ffprobe runs', ['tool']),
};

/** Serves /metrics until closed. Port 0 picks a free port; the bound port is returned. */
export async function serveMetrics(port: number, host = '0.0.0.0'): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(body);
        })
        .catch((e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        });
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200);
      res.end('ok\n');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { port: bound, close: () => new Promise((r) => server.close(() => r())) };
}
