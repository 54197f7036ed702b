/** CAS's Prometheus metrics, on the process registry every node serves at /metrics. No label carries a job id. */
import { counter, histogram } from '../../runtime/core/mod.js';

export const casMetrics = {
  analyses: counter('vpipe_cas_analyses_total', 'CAS analyses finished, by how they were answered (analysed: trial encodes made; cached: from the complexity store)', ['codec', 'answer']),
  trials: counter('vpipe_cas_trials_total', 'CAS trial points (one VES encode + one VQS measurement each), by outcome (ok, failed)', ['codec', 'outcome']),
  sampleCutSeconds: histogram('vpipe_cas_sample_cut_seconds', 'Wall time of cutting one sample mezzanine (decode + lossless encode), by how the source was read', ['access']),
  sampledFraction: histogram('vpipe_cas_sampled_fraction', 'Sampled seconds over title seconds of each analysis', [], [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]),
  costMultiple: histogram('vpipe_cas_cost_multiple', 'Analysis cost (trial encodes + measurements + sample cut + index) as a multiple of one estimated plain encode of the title', ['codec'], [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 50, 100]),
};
