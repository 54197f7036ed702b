/**
 * Measured bit rates, RFC 8216 §4.1's definitions (used by §4.3.4.2's
 * BANDWIDTH and AVERAGE-BANDWIDTH, and by DASH @bandwidth here too):
 *
 * - a segment's bit rate is its size over its EXTINF duration;
 * - the peak segment bit rate is the largest bit rate of any contiguous set of
 *   segments whose total duration is between 0.5 and 1.5 times the target
 *   duration (a set's rate: its summed sizes over its summed durations). A
 *   full-length segment is such a set on its own, so this is the largest
 *   single-segment rate, except that a short segment (the last, typically) is
 *   judged together with its neighbour rather than alone, where one keyframe
 *   in a fraction of a second would read as a spike no player ever sees;
 * - the average segment bit rate is every segment's bits over the playlist's duration.
 *
 * Sizes are the segment files' bytes (styp, moof and mdat). The init segment
 * is not counted: §4.1 calls it the Media Initialization Section, apart from
 * the Media Segments, and a client fetches it once per rendition, not per segment.
 */

export interface Sized {
  bytes: number;
  seconds: number;
}

export interface BitRates {
  /** Bits per second, rounded up (a BANDWIDTH must not understate). */
  peak: number;
  average: number;
}

/** Peak and average over `segments` for a playlist whose EXT-X-TARGETDURATION is `targetSeconds`. */
export function bitRates(segments: readonly Sized[], targetSeconds: number): BitRates {
  const totalBytes = segments.reduce((s, x) => s + x.bytes, 0);
  const totalSeconds = segments.reduce((s, x) => s + x.seconds, 0);
  if (!(totalSeconds > 0)) return { peak: 0, average: 0 };
  const average = (totalBytes * 8) / totalSeconds;
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0;
    let seconds = 0;
    for (let j = i; j < segments.length && seconds + segments[j]!.seconds <= 1.5 * targetSeconds; j++) {
      bytes += segments[j]!.bytes;
      seconds += segments[j]!.seconds;
      if (seconds >= 0.5 * targetSeconds) peak = Math.max(peak, (bytes * 8) / seconds);
    }
  }
  // No qualifying set (a presentation shorter than half a target): fall back to the largest single-segment rate.
  if (peak === 0) for (const s of segments) if (s.seconds > 0) peak = Math.max(peak, (s.bytes * 8) / s.seconds);
  return { peak: Math.ceil(peak), average: Math.ceil(average) };
}
