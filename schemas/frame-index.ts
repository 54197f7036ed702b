/**
 * The frame index: what a linear decode of a source shows, frame by frame,
 * and the random-access points verified by seeking. One per source content
 * (keyed by a hash of the file's bytes, never its path), built by VIS and
 * read by VES and VVS. Nothing downstream trusts container timestamps,
 * packet counts or header durations: they trust this.
 *
 * Columns, not rows: a two-hour source has ~170k frames, and parallel arrays
 * of numbers pack small in MessagePack.
 */
import { z } from 'zod';
import { Rational } from './common.js';

/** Bumped when the way the index is built changes; an index of another version is rebuilt. */
export const FRAME_INDEX_VERSION = 1;

/**
 * A verified random-access point: seeking with `-ss seekSeconds -noaccurate_seek`
 * makes the decoder show `lead` frames that are not the source's (open-GOP
 * leading pictures, an earlier GOP) and then frame `frame`, `frame + 1`, …
 * exactly as the linear decode shows them (hashes compared).
 */
export const RandomAccessPoint = z.strictObject({
  frame: z.number().int().min(0),
  seekSeconds: z.number().min(0),
  lead: z.number().int().min(0),
});
export type RandomAccessPoint = z.infer<typeof RandomAccessPoint>;

export const FrameIndexStats = z.strictObject({
  frames: z.number().int().min(0),
  /** Video packets the container holds (ffprobe); more than frames means packets the decoder discards. */
  packets: z.number().int().min(0).nullable(),
  /** Packets flagged discard by the container (edit lists). */
  discardedPackets: z.number().int().min(0),
  /** Frames whose decoded time was not after the previous frame's (equal or earlier). */
  nonIncreasingTimestamps: z.number().int().min(0),
  /** Of those, frames with exactly the previous frame's time. */
  duplicateTimestamps: z.number().int().min(0),
  /** Frame durations that differ from the median by a tick or two (rounding jitter, not VFR). */
  jitteredDurations: z.number().int().min(0),
  /** Largest jitter, in ticks. */
  maxJitterTicks: z.number().int().min(0),
  /** Frames the decoder flagged key (candidates for random access). */
  keyFrames: z.number().int().min(0),
  /** Candidates that were checked by seeking, and how many of them reproduced the linear decode. */
  checkedRandomAccessPoints: z.number().int().min(0),
  verifiedRandomAccessPoints: z.number().int().min(0),
  /** Up to 20 frame numbers of candidates that failed the check. */
  failedRandomAccessPoints: z.array(z.number().int()).max(20),
  /** The container holds an edit list (MP4/MOV elst that cuts or shifts media). */
  editList: z.boolean(),
  /** Errors the linear decode logged: a damaged source shows concealed or missing pictures. */
  decodeErrors: z.number().int().min(0),
  /** Wall seconds of the linear decode and of the seek checks. */
  decodeSeconds: z.number().min(0),
  verifySeconds: z.number().min(0),
});
export type FrameIndexStats = z.infer<typeof FrameIndexStats>;

export const FrameIndex = z.strictObject({
  version: z.literal(FRAME_INDEX_VERSION),
  /** sha256 of the file's bytes, hex. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Absolute stream index of the indexed video stream. */
  streamIndex: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  pixelFormat: z.string(),
  /** Decoded frames' time base; every time below is an integer count of it. */
  timeBase: Rational,
  /**
   * Presentation time of each frame, relative to the container start (what
   * ffmpeg's -ss counts from), strictly increasing: the decoded time, except
   * where that did not increase (see `repaired`).
   */
  pts: z.array(z.number().int()),
  /** Duration of each frame in ticks (the last one's from the decoder or the median). */
  duration: z.array(z.number().int().min(0)),
  /** Frames the decoder flagged key. */
  key: z.array(z.number().int().min(0)),
  /** CRC (Adler-32, ffmpeg framecrc) of each decoded picture, as an unsigned 32-bit number. */
  hash: z.array(z.number().int().min(0)),
  /** Frames whose decoded time was replaced to keep times strictly increasing: [frame, decoded ticks] pairs. */
  repaired: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** Verified random-access points in frame order; frame 0 (a decode from the start) is always first. */
  raps: z.array(RandomAccessPoint),
  stats: FrameIndexStats,
  builtAt: z.string(),
  tool: z.string(),
});
export type FrameIndex = z.infer<typeof FrameIndex>;

/** What VIS reports about the index (the full index lives in the object store). */
export const FrameIndexSummary = z.strictObject({
  contentHash: z.string(),
  /** Object-store name of the full index. */
  key: z.string(),
  timeBase: Rational,
  frames: z.number().int(),
  durationSeconds: z.number(),
  randomAccessPoints: z.number().int(),
  stats: FrameIndexStats,
});
export type FrameIndexSummary = z.infer<typeof FrameIndexSummary>;

/** Seconds of `ticks` in the index's time base. */
export function ticksToSeconds(ix: Pick<FrameIndex, 'timeBase'>, ticks: number): number {
  return (ticks * ix.timeBase.num) / ix.timeBase.den;
}

/** End of the last frame, in ticks. */
export function endTicks(ix: Pick<FrameIndex, 'pts' | 'duration'>): number {
  const n = ix.pts.length;
  return n === 0 ? 0 : ix.pts[n - 1]! + Math.max(1, ix.duration[n - 1] ?? 1);
}
