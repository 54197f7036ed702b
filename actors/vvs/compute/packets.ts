/**
 * The video packet list, streamed line by line from ffprobe and summarised:
 * frame count, keyframes in presentation order, the longest GOP and the byte
 * total. Pure (no I/O), so the GOP arithmetic is testable without media.
 */
import type { KeyframeRun, PacketSummary } from './types.js';

/** Beyond this many runs the keyframe list is dropped: the snapshot must stay far under NATS's 1 MB payload cap. */
export const MAX_KEYFRAME_RUNS = 5_000;

/** The ffprobe arguments whose output `PacketCollector.push` reads. */
export const PACKET_ENTRIES = ['-show_entries', 'packet=pts_time,dts_time,duration_time,size,flags', '-of', 'compact=p=0'];

const num = (v: string | undefined): number | null => {
  if (v === undefined || v === '' || v === 'N/A') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** Collects packets; feed it every stdout line, then call `summary`. Never throws on odd lines (they are skipped). */
export class PacketCollector {
  private readonly times: (number | null)[] = [];
  private readonly durations: (number | null)[] = [];
  private readonly keys: boolean[] = [];
  private bytes = 0;

  /**
   * One `compact` line: `pts_time=…|dts_time=…|duration_time=…|size=…|flags=K_`.
   * Key=value rather than bare CSV because ffprobe prints entries in its own
   * order, not the order asked for, and Matroska adds empty side-data fields.
   */
  push(line: string): void {
    const f: Record<string, string> = {};
    for (const part of line.split('|')) {
      const eq = part.indexOf('=');
      if (eq > 0) f[part.slice(0, eq)] = part.slice(eq + 1);
    }
    if (f.flags === undefined) return;
    // D: the demuxer discards it (edit lists trim it away), so it is never shown and is no frame.
    if (f.flags.includes('D')) return;
    this.times.push(num(f.pts_time) ?? num(f.dts_time));
    this.durations.push(num(f.duration_time));
    this.keys.push(f.flags.startsWith('K'));
    this.bytes += num(f.size) ?? 0;
  }

  get count(): number {
    return this.keys.length;
  }

  /** Summarises what was pushed; `frameInterval` (1/fps) fills a missing last-packet duration. Never throws. */
  summary(frameInterval: number | null): PacketSummary {
    const n = this.keys.length;
    const timed = n > 0 && this.times.every((t) => t !== null);
    const order = Array.from({ length: n }, (_, i) => i);
    // Presentation order: B-frames arrive in decode order. A stable sort keeps ties (and untimed raw streams) in decode order.
    if (timed) order.sort((a, b) => (this.times[a] as number) - (this.times[b] as number));
    const keyframeIndexes: number[] = [];
    order.forEach((packet, frame) => {
      if (this.keys[packet]) keyframeIndexes.push(frame);
    });
    const gop = longestGop(keyframeIndexes, n);
    const runs = toRuns(keyframeIndexes);
    return {
      frameCount: n,
      totalBytes: this.bytes,
      spanSeconds: timed ? this.span(order, frameInterval) : this.summedDurations(),
      order: timed ? 'pts' : 'decode',
      keyframeCount: keyframeIndexes.length,
      keyframes: runs.length > MAX_KEYFRAME_RUNS ? null : runs,
      maxGopFrames: gop.length,
      maxGopStart: gop.start,
    };
  }

  private span(order: number[], frameInterval: number | null): number {
    const first = this.times[order[0]!] as number;
    const lastIdx = order[order.length - 1]!;
    const last = this.times[lastIdx] as number;
    const averageDelta = order.length > 1 ? (last - first) / (order.length - 1) : 0;
    const lastDuration = this.durations[lastIdx] ?? frameInterval ?? averageDelta;
    return round6(last + lastDuration - first);
  }

  /** Raw elementary streams have no timestamps, but the parser still gives each packet a duration. */
  private summedDurations(): number | null {
    if (this.durations.length === 0 || this.durations.some((d) => d === null)) return null;
    return round6(this.durations.reduce<number>((s, d) => s + (d ?? 0), 0));
  }
}

/** Longest stretch of frames between keyframes, counting the frames before the first keyframe and after the last. */
export function longestGop(keyframes: readonly number[], frameCount: number): { length: number; start: number } {
  let best = { length: 0, start: 0 };
  const bounds = [0, ...keyframes.filter((k) => k > 0), frameCount];
  for (let i = 1; i < bounds.length; i++) {
    const length = bounds[i]! - bounds[i - 1]!;
    if (length > best.length) best = { length, start: bounds[i - 1]! };
  }
  return best;
}

/** Ascending indexes → arithmetic runs (0,10,20,25 → {0,10,3},{25,0,1}). */
export function toRuns(sorted: readonly number[]): KeyframeRun[] {
  const runs: KeyframeRun[] = [];
  for (const k of sorted) {
    const run = runs[runs.length - 1];
    if (run && run.count === 1) {
      run.step = k - run.start;
      run.count = 2;
    } else if (run && k === run.start + run.step * run.count) {
      run.count++;
    } else {
      runs.push({ start: k, step: 0, count: 1 });
    }
  }
  return runs;
}

/** The frames of the runs, in order (for tests and small lists). */
export function fromRuns(runs: readonly KeyframeRun[]): number[] {
  return runs.flatMap((r) => Array.from({ length: r.count }, (_, i) => r.start + r.step * i));
}

/** The keyframe at or before `frame` and the one after it (null where there is none), by binary search over the runs. */
export function nearestKeyframes(runs: readonly KeyframeRun[], frame: number): { previous: number | null; next: number | null } {
  let lo = 0;
  let hi = runs.length - 1;
  let at = -1; // last run starting at or before frame
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]!.start <= frame) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  let previous: number | null = null;
  let next: number | null = runs[at + 1]?.start ?? null;
  if (at >= 0) {
    const r = runs[at]!;
    const i = r.step === 0 ? 0 : Math.min(r.count - 1, Math.floor((frame - r.start) / r.step));
    previous = r.start + r.step * i;
    if (i + 1 < r.count) next = r.start + r.step * (i + 1);
  }
  return { previous, next };
}

/** True when `frame` is a keyframe of the runs. */
export function isKeyframe(runs: readonly KeyframeRun[], frame: number): boolean {
  return nearestKeyframes(runs, frame).previous === frame;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
