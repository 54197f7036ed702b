/**
 * Which frames of a title an analysis encodes: k segments of s seconds at
 * evenly spread positions (the middle of k equal slices of the title), or
 * the whole title when it is shorter than the sample would be. The cost of
 * an analysis follows the sample, not the title. Pure.
 */
import type { Sample } from '../../../schemas/cas.js';

export const DEFAULT_SEGMENT_SECONDS = 4;
/** One segment per this many seconds of title by default (ab-av1 samples 20 s per 12 min; we take 4 s per 2 min). */
export const DEFAULT_SECONDS_PER_SEGMENT = 120;
export const DEFAULT_MIN_SEGMENTS = 3;
export const DEFAULT_MAX_SEGMENTS = 60;

export interface Sampling {
  segments: number;
  segmentSeconds: number;
  whole: boolean;
}

/** The sampling settings for a title of `titleSeconds` (defaults applied; whole when k × s covers the title). */
export function resolveSampling(sample: Sample | undefined, titleSeconds: number): Sampling {
  const segmentSeconds = sample?.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  const segments = sample?.segments ?? Math.min(DEFAULT_MAX_SEGMENTS, Math.max(DEFAULT_MIN_SEGMENTS, Math.ceil(titleSeconds / DEFAULT_SECONDS_PER_SEGMENT)));
  return { segments, segmentSeconds, whole: sample?.whole === true || segments * segmentSeconds >= titleSeconds };
}

export interface SegmentPlan {
  startFrame: number;
  frames: number;
}

/**
 * Segments over `frames` frames at `fps` frames per second: `segments` runs of round(segmentSeconds × fps)
 * frames, each centred in its slice of the title (so they never overlap), or one run of every frame.
 */
export function planSegments(frames: number, fps: number, s: Sampling): SegmentPlan[] {
  const n = Math.max(1, Math.round(s.segmentSeconds * fps));
  if (s.whole || s.segments * n >= frames) return [{ startFrame: 0, frames }];
  const slice = frames / s.segments;
  return Array.from({ length: s.segments }, (_, i) => ({ startFrame: Math.min(frames - n, Math.max(0, Math.round(i * slice + (slice - n) / 2))), frames: n }));
}
