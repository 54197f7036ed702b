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

export const metrics = {
  jobsAccepted: new client.Counter({
    name: 'vpipe_jobs_accepted_total',
    help: 'Jobs accepted by the API layer',
    labelNames: ['service'] as const,
    registers: [registry],
  }),
  jobsFinished: new client.Counter({
    name: 'vpipe_jobs_finished_total',
    help: 'Jobs that reached a final state',
    labelNames: ['service', 'state'] as const,
    registers: [registry],
  }),
  jobDuration: new client.Histogram({
    name: 'vpipe_job_duration_seconds',
    help: 'Wall time from acceptance to final state',
    labelNames: ['service', 'state'] as const,
    buckets: VIDEO_WORK_BUCKETS,
    registers: [registry],
  }),
  stepDuration: new client.Histogram({
    name: 'vpipe_job_step_duration_seconds',
    help: 'Wall time of one workflow step',
    labelNames: ['service', 'step'] as const,
    buckets: VIDEO_WORK_BUCKETS,
    registers: [registry],
  }),
  requestsRejected: new client.Counter({
    name: 'vpipe_requests_rejected_total',
    help: 'API requests answered with an error',
    labelNames: ['service', 'code'] as const,
    registers: [registry],
  }),
  jobsInFlight: new client.Gauge({
    name: 'vpipe_jobs_in_flight',
    help: 'Jobs this process is running now',
    labelNames: ['service'] as const,
    registers: [registry],
  }),
  jobsResumed: new client.Counter({
    name: 'vpipe_jobs_resumed_total',
    help: 'Jobs resumed from a persisted snapshot after a crash or redelivery',
    labelNames: ['service'] as const,
    registers: [registry],
  }),
  workQueueWait: new client.Histogram({
    name: 'vpipe_work_queue_wait_seconds',
    help: 'How long a work item waited in its queue before an actor took it (first deliveries; the wait priority classes shorten)',
    labelNames: ['function', 'priority'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  }),
  workQueueDepth: new client.Gauge({
    name: 'vpipe_work_queue_depth',
    help: 'num_pending + num_ack_pending of a work consumer',
    labelNames: ['consumer'] as const,
    registers: [registry],
  }),
  chunkEncodeSeconds: new client.Histogram({
    name: 'vpipe_chunk_encode_seconds',
    help: 'Wall time of one chunk encode',
    labelNames: ['codec', 'shape'] as const,
    buckets: VIDEO_WORK_BUCKETS,
    registers: [registry],
  }),
  encodeSpeed: new client.Histogram({
    name: 'vpipe_encode_speed_ratio',
    help: 'Media seconds encoded per wall second, per chunk',
    labelNames: ['codec'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  }),
  chunks: new client.Counter({
    name: 'vpipe_chunks_total',
    help: 'Chunk work items handled, by outcome (ok, retry, failed, skipped)',
    labelNames: ['codec', 'outcome'] as const,
    registers: [registry],
  }),
  actors: new client.Gauge({
    name: 'vpipe_actors',
    help: 'Compute actors on this node by state (busy, idle) and shape',
    labelNames: ['role', 'function', 'state', 'shape'] as const,
    registers: [registry],
  }),
  actorRestarts: new client.Counter({
    name: 'vpipe_actor_restarts_total',
    help: 'Compute actors restarted after a crash',
    labelNames: ['role', 'function'] as const,
    registers: [registry],
  }),
  heartbeatsWithheld: new client.Counter({
    name: 'vpipe_work_heartbeats_withheld_total',
    help: 'Work items whose heartbeats stopped because their work made no progress for a heartbeat interval (a hung tool)',
    labelNames: ['function'] as const,
    registers: [registry],
  }),
  actorEscalations: new client.Counter({
    name: 'vpipe_actor_escalations_total',
    help: 'Actor pools stopped because their restart intensity was exceeded',
    labelNames: ['function'] as const,
    registers: [registry],
  }),
  poolEscalated: new client.Gauge({
    name: 'vpipe_pool_escalated',
    help: '1 while an actor pool is stopped after escalating (until its hold-off ends), else 0',
    labelNames: ['function'] as const,
    registers: [registry],
  }),
  autoscalerDecisions: new client.Counter({
    name: 'vpipe_autoscaler_decisions_total',
    help: 'Autoscaler changes of an actor pool size',
    labelNames: ['function', 'direction'] as const,
    registers: [registry],
  }),
  deadLetters: new client.Counter({
    name: 'vpipe_dead_letters_total',
    help: 'Work items sent to the dead-letter stream',
    labelNames: ['function'] as const,
    registers: [registry],
  }),
  toolRuns: new client.Counter({
    name: 'vpipe_tool_runs_total',
    help: 'ffmpeg/ffprobe runs by outcome',
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry],
  }),
  toolRunSeconds: new client.Histogram({
    name: 'vpipe_tool_run_seconds',
    help: 'Wall time of ffmpeg/ffprobe runs',
    labelNames: ['tool'] as const,
    buckets: VIDEO_WORK_BUCKETS,
    registers: [registry],
  }),
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
