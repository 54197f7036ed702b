/** Frame-rate judgements: constant vs variable, and whether a rate is a broadcast/cinema standard. */
import { rationalToNumber, type Rational } from '../../../schemas/common.js';
import type { PacketTiming } from './types.js';

/** 23.976 24 25 29.97 30 47.952 48 50 59.94 60 100 119.88 120. */
export const STANDARD_FRAME_RATES: readonly number[] = [
  24000 / 1001, 24, 25, 30000 / 1001, 30, 48000 / 1001, 48, 50, 60000 / 1001, 60, 100, 120000 / 1001, 120,
];
/** 29.97 and 30 are 0.1% apart (the NTSC 1000/1001 factor), so stay under half that; 2997/100-style approximations still match. */
const STANDARD_TOLERANCE = 0.0005;

/** True when fps is within 0.05% of a standard rate. */
export function isStandardFrameRate(fps: number): boolean {
  return STANDARD_FRAME_RATES.some((s) => Math.abs(fps - s) / s < STANDARD_TOLERANCE);
}

/**
 * A stream is VFR when more than 1% of its timestamp deltas (and at least
 * two) stray beyond rounding jitter: one dropped frame in a long recording
 * is a gap, not a variable rate.
 */
const VFR_MIN_DEVIATING = 2;
const VFR_FRACTION = 0.01;
/** r_frame_rate vs avg_frame_rate: only a fallback, so be generous. */
const RATE_DISAGREEMENT = 0.02;

export interface FrameRateVerdict {
  mode: 'cfr' | 'vfr';
  /** Human-readable evidence for the issue message; null for CFR. */
  evidence: string | null;
  details: Record<string, number | string | null>;
}

/**
 * Decides CFR vs VFR. Timestamps are the primary evidence: r_frame_rate and
 * avg_frame_rate are both derived from them (avg is skewed by edit lists, a
 * missing last duration or a cut tail; r is a guess), and Matroska reports
 * r = avg = the default duration even for VFR. They are compared only when
 * there are too few timestamps; a 2:1 ratio is field rate vs frame rate, not VFR.
 */
export function frameRateMode(timing: PacketTiming | null, r: Rational | null, avg: Rational | null): FrameRateVerdict {
  if (timing && timing.deltas >= 2 && timing.medianDeltaSeconds !== null) {
    const fraction = timing.deviating / timing.deltas;
    const details = {
      deltas: timing.deltas,
      deviatingDeltas: timing.deviating,
      medianDeltaSeconds: round(timing.medianDeltaSeconds),
      minDeltaSeconds: round(timing.minDeltaSeconds),
      maxDeltaSeconds: round(timing.maxDeltaSeconds),
    };
    if (timing.deviating >= VFR_MIN_DEVIATING && fraction > VFR_FRACTION) {
      const ms = (s: number | null): string => (s === null ? '?' : (s * 1000).toFixed(2));
      return {
        mode: 'vfr',
        evidence:
          `${timing.deviating} of ${timing.deltas} frame intervals (${(fraction * 100).toFixed(1)}%) differ from the typical ` +
          `${ms(timing.medianDeltaSeconds)} ms; intervals range ${ms(timing.minDeltaSeconds)}–${ms(timing.maxDeltaSeconds)} ms`,
        details,
      };
    }
    return { mode: 'cfr', evidence: null, details };
  }
  if (r && avg) {
    const ratio = rationalToNumber(r) / rationalToNumber(avg);
    const near = (x: number): boolean => Math.abs(ratio - x) / x < RATE_DISAGREEMENT;
    if (!near(1) && !near(2)) {
      return {
        mode: 'vfr',
        evidence: `nominal rate ${fmtRate(r)} fps differs from the average ${fmtRate(avg)} fps`,
        details: { rFrameRate: `${r.num}/${r.den}`, avgFrameRate: `${avg.num}/${avg.den}` },
      };
    }
  }
  return { mode: 'cfr', evidence: null, details: {} };
}

/** 25 → "25", 30000/1001 → "29.97", for messages. */
export function fmtRate(r: Rational | number): string {
  const v = typeof r === 'number' ? r : rationalToNumber(r);
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1e6) / 1e6;
}
