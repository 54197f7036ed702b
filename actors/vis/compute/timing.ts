/**
 * Packet timestamp statistics for frame-rate-mode detection. Only the summary
 * is kept (the raw list can be 100k+ numbers and the probe output is
 * persisted between steps).
 */
import type { Rational } from '../../../schemas/common.js';
import type { PacketTiming } from './types.js';

/**
 * Container timebases round timestamps: 29.97 fps in Matroska's 1 ms base
 * gives 33/34 ms deltas, and pts = dts + cts (FLV, MP4 ctts) may add a second
 * rounding, so ±2 ticks is still "the same delta". The relative floor covers
 * fine timebases (90 kHz) where 2 ticks is meaningless.
 */
const JITTER_TICKS = 2;
const JITTER_RELATIVE = 0.005;

/** Parses one `-show_entries packet=pts,dts -of csv=p=0` line into a timestamp in ticks (pts, else dts); null for N/A. */
export function packetTimestamp(line: string): number | null {
  const [pts, dts] = line.split(',');
  for (const v of [pts, dts]) {
    if (v === undefined) continue;
    const n = Number(v.trim());
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  return null;
}

/** Summarises timestamps (in timebase ticks, any order — B-frames arrive out of presentation order); never throws. */
export function timingStats(streamIndex: number, timeBase: Rational, ticks: number[], packets: number): PacketTiming {
  const tb = timeBase.num / timeBase.den;
  const sorted = Float64Array.from(ticks).sort();
  const deltas: number[] = [];
  let duplicates = 0;
  for (let i = 1; i < sorted.length; i++) {
    const d = (sorted[i] ?? 0) - (sorted[i - 1] ?? 0);
    if (d === 0) duplicates++;
    else deltas.push(d);
  }
  const base: PacketTiming = {
    streamIndex,
    timeBase,
    packets,
    deltas: deltas.length,
    duplicates,
    medianDeltaSeconds: null,
    minDeltaSeconds: null,
    maxDeltaSeconds: null,
    deviating: 0,
    toleranceSeconds: null,
    firstPtsSeconds: sorted.length ? (sorted[0] ?? 0) * tb : null,
    lastPtsSeconds: sorted.length ? (sorted[sorted.length - 1] ?? 0) * tb : null,
  };
  if (deltas.length === 0) return base;

  const byValue = Float64Array.from(deltas).sort();
  const median = byValue[Math.floor(byValue.length / 2)] ?? 0;
  const tolerance = Math.max(JITTER_TICKS, median * JITTER_RELATIVE);
  let deviating = 0;
  for (const d of deltas) if (Math.abs(d - median) > tolerance) deviating++;
  return {
    ...base,
    medianDeltaSeconds: median * tb,
    minDeltaSeconds: (byValue[0] ?? 0) * tb,
    maxDeltaSeconds: (byValue[byValue.length - 1] ?? 0) * tb,
    deviating,
    toleranceSeconds: tolerance * tb,
  };
}
