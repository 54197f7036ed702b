/** VQS's Prometheus metrics, on the process registry every node serves at /metrics. No label carries a job id. */
import { counter, gauge, histogram } from '../../runtime/core/mod.js';

export const vqsMetrics = {
  segments: counter('vpipe_vqs_segments_total', 'VQS segment work items handled, by outcome (ok, retry, failed, skipped)', ['outcome']),
  segmentSeconds: histogram('vpipe_vqs_segment_seconds', 'Wall time of one segment measurement, by whether it ran libvmaf', ['vmaf']),
  framesMeasured: counter('vpipe_vqs_frames_measured_total', 'Frame pairs scored by VQS segment workers', ['vmaf']),
  measureFps: histogram('vpipe_vqs_measure_fps', 'Frame pairs scored per wall second, per segment (decode, scale and every metric)', ['vmaf'], [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
  score: histogram('vpipe_vqs_pooled_score', 'Pooled mean score of each finished measurement, by metric (vmaf 0-100, psnr_y dB, ssim 0-1)', ['metric'], [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 85, 90, 93, 95, 97, 99, 100]),
  frameCountMismatches: counter('vpipe_vqs_frame_count_mismatches_total', 'Measurements whose reference and distorted frame counts differ, by what was done (failed, scored)', ['action']),
  vmafAvailable: gauge('vpipe_vqs_vmaf_available', "1 when this process's metric ffmpeg ran libvmaf at its probe, else 0"),
};
