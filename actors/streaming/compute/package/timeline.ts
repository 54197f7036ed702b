/**
 * Fragments into segments, and the checks that make segments of different
 * renditions interchangeable. Segments are grouped by time: a segment starts
 * at the first fragment that begins at or after the next multiple of the
 * target duration (from the rendition's first presentation time). With an
 * IDR every gopSeconds, that is the GOP grid: 6 s segments of 2 s GOPs at
 * 29.97 fps are 3 GOPs of 60 frames, 6.006 s. Whether every video
 * rendition's boundaries really coincide is then checked, not assumed.
 */
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';
import type { Fragment } from './fragment.js';

export interface Segment {
  fragments: Fragment[];
  /** Presentation time of the first sample (tfdt + its composition offset), track ticks. */
  startTicks: number;
  /** The fragments' summed sample durations. */
  durationTicks: number;
}

export interface TimedRendition {
  id: string;
  timescale: number;
  /** Video: the frame rate (see {@link frameRate}). */
  frameRate?: { num: number; den: number };
  /** One frame (video) or codec frame (audio), in ticks: the tolerance unit. */
  frameTicks: number;
  segments: Segment[];
}

const seconds = (ticks: number, timescale: number) => ticks / timescale;
const at = (ticks: number, timescale: number) => `${seconds(ticks, timescale).toFixed(3)} s`;

/** The most common sample duration: a constant-rate track's frame, whatever its last frame's duration. */
export function frameTicks(fragments: readonly Fragment[]): number {
  const counts = new Map<number, number>();
  for (const f of fragments) for (const [ticks, n] of f.sampleDurations) counts.set(ticks, (counts.get(ticks) ?? 0) + n);
  const [best = 0] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [];
  if (best <= 0) throw new VpipeError(ErrorCodes.Internal, 'a track whose samples last 0 ticks');
  return best;
}

/** The rates a video is meant to run at; a measured mean within 0.05 % of one of them is that rate (24 and 23.976 are 0.1 % apart). */
const STANDARD_RATES: readonly { num: number; den: number }[] = [
  { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 },
  { num: 48, den: 1 }, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 },
];

/**
 * A video track's frame rate as a fraction: the standard rate (within 0.05 %) that its most common frame
 * duration or its mean over every sample gives, else the mean's exact fraction. Either alone misleads:
 * a source in a millisecond time base runs at 24 fps with frames of 41 and 42 ms (the mode says 23.81),
 * and a last frame held longer pulls the mean of a short clip off its rate.
 */
export function frameRate(fragments: readonly Fragment[], timescale: number): { num: number; den: number } {
  let samples = 0;
  let ticks = 0;
  for (const f of fragments) for (const [d, n] of f.sampleDurations) (samples += n), (ticks += d * n);
  if (samples === 0 || ticks <= 0) throw new VpipeError(ErrorCodes.Internal, 'a video track without timed samples');
  for (const rate of [timescale / frameTicks(fragments), (samples * timescale) / ticks]) {
    const off = (r: { num: number; den: number }) => Math.abs(r.num / r.den - rate) / rate;
    const standard = [...STANDARD_RATES].sort((x, y) => off(x) - off(y))[0]!;
    if (off(standard) < 0.0005) return standard;
  }
  const g = gcd(samples * timescale, ticks);
  return { num: (samples * timescale) / g, den: ticks / g };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Groups fragments into segments of about `segmentSeconds` on the time grid (a fragment half a frame early still counts as on it). */
export function groupByTime(fragments: readonly Fragment[], timescale: number, segmentSeconds: number): Segment[] {
  const first = fragments[0];
  if (!first) return [];
  const origin = first.decodeTicks + first.firstCompositionOffset;
  const target = segmentSeconds * timescale;
  const slack = frameTicks(fragments) / 2;
  const groups: Fragment[][] = [[first]];
  let boundary = 1;
  for (const f of fragments.slice(1)) {
    const t = f.decodeTicks + f.firstCompositionOffset - origin;
    if (t >= boundary * target - slack) {
      groups.push([f]);
      while (t >= boundary * target - slack) boundary++;
    } else {
      groups.at(-1)!.push(f);
    }
  }
  return groups.map((g) => ({
    fragments: g,
    startTicks: g[0]!.decodeTicks + g[0]!.firstCompositionOffset,
    durationTicks: g.reduce((s, f) => s + f.durationTicks, 0),
  }));
}

/**
 * Checks that every video segment starts with a sync sample, lasts at most
 * the target plus one frame, and starts where the first rendition's segment
 * of the same number does: to the tick where the timescales match, else
 * within half a frame. Throws VALIDATION_FAILED naming each rendition, segment
 * and time that fails (the first misaligned segment of each rendition).
 */
export function checkVideo(renditions: readonly TimedRendition[], segmentSeconds: number): void {
  const problems: { path: string; message: string }[] = [];
  const problem = (r: TimedRendition, i: number, message: string) => problems.push({ path: `video.${r.id}.segments[${i}]`, message: `video ${r.id}: ${message}` });
  const [ref] = renditions;
  for (const r of renditions) {
    for (const [i, s] of r.segments.entries()) {
      if (!s.fragments[0]!.firstSampleSync) {
        problem(r, i, `segment ${i + 1} (at ${at(s.startTicks, r.timescale)}) does not start with a sync sample`);
      }
      if (s.durationTicks > segmentSeconds * r.timescale + r.frameTicks) {
        problem(r, i, `segment ${i + 1} (at ${at(s.startTicks, r.timescale)}) lasts ${at(s.durationTicks, r.timescale)}, more than the ${segmentSeconds} s target and a frame (is there an IDR every GOP?)`);
      }
    }
    if (!ref || r === ref) continue;
    const where = (s: Segment | undefined, x: TimedRendition) => (s ? `at ${at(s.startTicks, x.timescale)}` : 'nowhere (there is no such segment)');
    for (let i = 0; i < Math.max(r.segments.length, ref.segments.length); i++) {
      const a = ref.segments[i];
      const b = r.segments[i];
      if (a && b && aligned(a, ref, b, r)) continue;
      problem(r, i, `segment ${i + 1} starts ${where(b, r)}, but video ${ref.id}'s starts ${where(a, ref)}: segment boundaries are not aligned across renditions`);
      break;
    }
  }
  if (problems.length) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new VpipeError(ErrorCodes.ValidationFailed, `${problems[0]!.message}${more}`, { details: problems.slice(0, 50) });
  }
}

function aligned(a: Segment, ra: TimedRendition, b: Segment, rb: TimedRendition): boolean {
  if (ra.timescale === rb.timescale) return a.startTicks === b.startTicks;
  const halfFrame = Math.min(seconds(ra.frameTicks, ra.timescale), seconds(rb.frameTicks, rb.timescale)) / 2;
  return Math.abs(seconds(a.startTicks, ra.timescale) - seconds(b.startTicks, rb.timescale)) <= halfFrame;
}
