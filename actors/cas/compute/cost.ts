/**
 * What an analysis cost, as a multiple of one plain encode of the title.
 * The plain encode is estimated, not run: the trial at the source's own size
 * and the middle CRF, its encode seconds scaled from the sample's duration
 * to the title's. Pure.
 */
import type { AnalysisCost } from '../../../schemas/cas.js';

export interface TrialTiming {
  width: number;
  height: number;
  crf: number;
  encodeSeconds: number;
  measureSeconds: number;
}

export interface CostInput {
  trials: TrialTiming[];
  source: { width: number; height: number };
  crfs: number[];
  sampledSeconds: number;
  titleSeconds: number;
  sampleSeconds: number;
  indexSeconds: number;
  sourceIndexSeconds: number;
  wallSeconds: number;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** The cost block of a result (see AnalysisCost); the trials must not be empty. */
export function analysisCost(c: CostInput): AnalysisCost {
  const sorted = [...c.crfs].sort((a, b) => a - b);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  const atMid = c.trials.filter((t) => t.crf === mid);
  const own = atMid.find((t) => t.height === c.source.height);
  const basisTrial = own ?? atMid.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const pixels = own ? 1 : (c.source.width * c.source.height) / (basisTrial.width * basisTrial.height);
  const scale = c.sampledSeconds > 0 ? c.titleSeconds / c.sampledSeconds : 1;
  const plain = basisTrial.encodeSeconds * scale * pixels;
  const trialEncodeSeconds = c.trials.reduce((s, t) => s + t.encodeSeconds, 0);
  const measureSeconds = c.trials.reduce((s, t) => s + t.measureSeconds, 0);
  const total = trialEncodeSeconds + measureSeconds + c.sampleSeconds + c.indexSeconds;
  const at = `${basisTrial.width}x${basisTrial.height} CRF ${mid}`;
  return {
    trialEncodeSeconds: round(trialEncodeSeconds),
    measureSeconds: round(measureSeconds),
    sampleSeconds: round(c.sampleSeconds),
    indexSeconds: round(c.indexSeconds),
    sourceIndexSeconds: round(c.sourceIndexSeconds),
    sampledSeconds: round(c.sampledSeconds),
    titleSeconds: round(c.titleSeconds),
    plainEncodeSecondsEstimate: round(plain),
    estimateBasis: `estimate: the ${at} trial's ${round(basisTrial.encodeSeconds)} s × ${round(scale)} (title / sample seconds)${own ? '' : ` × ${round(pixels)} (source / trial pixels)`}`,
    multiple: plain > 0 ? round(total / plain) : 0,
    wallSeconds: round(c.wallSeconds),
    wallMultiple: plain > 0 ? round(c.wallSeconds / plain) : 0,
  };
}
