/** VQS's Prometheus metrics, on the process registry every node serves at /metrics. No label carries a job id. */
import client from 'prom-client';
import { registry, VIDEO_WORK_BUCKETS } from '../../runtime/core/mod.js';

export const vqsMetrics = {
  segments: new client.Counter({
    name: 'vpipe_vqs_segments_total',
    help: 'VQS segment work items handled, by outcome (ok, retry, failed, skipped)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  segmentSeconds: new client.Histogram({
    name: 'vpipe_vqs_segment_seconds',
    help: 'Wall time of one segment measurement, by whether it ran libvmaf',
    labelNames: ['vmaf'] as const,
    buckets: VIDEO_WORK_BUCKETS,
    registers: [registry],
  }),
  framesMeasured: new client.Counter({
    name: 'vpipe_vqs_frames_measured_total',
    help: 'Frame pairs scored by VQS segment workers',
    labelNames: ['vmaf'] as const,
    registers: [registry],
  }),
  measureFps: new client.Histogram({
    name: 'vpipe_vqs_measure_fps',
    help: 'Frame pairs scored per wall second, per segment (decode, scale and every metric)',
    labelNames: ['vmaf'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  }),
  score: new client.Histogram({
    name: 'vpipe_vqs_pooled_score',
    help: 'Pooled mean score of each finished measurement, by metric (vmaf 0-100, psnr_y dB, ssim 0-1)',
    labelNames: ['metric'] as const,
    buckets: [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 85, 90, 93, 95, 97, 99, 100],
    registers: [registry],
  }),
  frameCountMismatches: new client.Counter({
    name: 'vpipe_vqs_frame_count_mismatches_total',
    help: 'Measurements whose reference and distorted frame counts differ, by what was done (failed, scored)',
    labelNames: ['action'] as const,
    registers: [registry],
  }),
  vmafAvailable: new client.Gauge({
    name: 'vpipe_vqs_vmaf_available',
    help: '1 when this process\'s metric ffmpeg ran libvmaf at its probe, else 0',
    registers: [registry],
  }),
};
