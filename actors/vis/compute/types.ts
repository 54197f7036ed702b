/**
 * Data passed between the three VIS steps. The workflow snapshots each step's
 * output as JSON between steps, so everything here is plain data: no class
 * instances, no Maps, and every field is always present (null, never
 * undefined) so a round trip through JSON.stringify/parse is lossless.
 */
import type { Colour, HdrMetadata, Rational } from '../../../schemas/common.js';
import type { FrameIndexSummary } from '../../../schemas/frame-index.js';
import type { ContainerInfo, IdetCounts } from '../../../schemas/vis.js';

export interface InspectInput {
  /** Absolute path, already validated against the media root by the caller. May hold a printf pattern (`frame%08d.png`). */
  path: string;
  /** The caller's URI, echoed in the result (and used instead of the path in messages). */
  uri: string;
  imageSequence?: { frameRate?: Rational; startNumber?: number };
  /** Full decode for errors and truncation (default true); false samples idet on the first frames only. */
  decodeCheck?: boolean;
  signal?: AbortSignal;
}

export type MasteringDisplay = NonNullable<HdrMetadata['masteringDisplay']>;
export type ContentLightLevel = NonNullable<HdrMetadata['contentLightLevel']>;

export type StreamType = 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | 'unknown';

/** One ffprobe stream, normalised: numbers parsed, "N/A"/"unknown"/0:1 turned into null. */
export interface ProbeStream {
  index: number;
  type: StreamType;
  codec: string | null;
  profile: string | null;
  level: number | null;
  width: number | null;
  height: number | null;
  pixFmt: string | null;
  bitsPerRawSample: number | null;
  sar: Rational | null;
  dar: Rational | null;
  rFrameRate: Rational | null;
  avgFrameRate: Rational | null;
  /** ffprobe's field_order: progressive, tt, bb, tb, bt or unknown. */
  fieldOrder: string | null;
  colour: Colour;
  durationSeconds: number | null;
  startTimeSeconds: number | null;
  bitRate: number | null;
  /** nb_frames, or the Matroska NUMBER_OF_FRAMES statistics tag. */
  frameCountHeader: number | null;
  sampleRate: number | null;
  channels: number | null;
  channelLayout: string | null;
  language: string | null;
  /** Cover art is a "video" stream to ffprobe but not video to us. */
  attachedPic: boolean;
  /** Clockwise degrees in [0, 360), from the display matrix or the legacy `rotate` tag. */
  rotationDegrees: number;
  masteringDisplay: MasteringDisplay | null;
  contentLightLevel: ContentLightLevel | null;
  dolbyVision: boolean;
  timecode: string | null;
}

/** Statistics of the primary video stream's packet timestamps (the raw list is not kept: it can be 100k+ entries). */
export interface PacketTiming {
  streamIndex: number;
  timeBase: Rational;
  packets: number;
  /** Non-zero deltas between consecutive sorted timestamps. */
  deltas: number;
  /** Zero deltas (duplicate timestamps) — not a rate signal, reported apart. */
  duplicates: number;
  medianDeltaSeconds: number | null;
  minDeltaSeconds: number | null;
  maxDeltaSeconds: number | null;
  /** Deltas further from the median than the rounding tolerance. */
  deviating: number;
  toleranceSeconds: number | null;
  firstPtsSeconds: number | null;
  lastPtsSeconds: number | null;
}

export interface ProbeData {
  kind: 'vis.probe';
  imageSequence: boolean;
  readable: boolean;
  /** Why ffprobe could not open the input (path replaced by the URI). */
  error: { message: string; likelyTruncated: boolean } | null;
  container: ContainerInfo | null;
  streams: ProbeStream[];
  /** The stream the scan decodes: the first video stream that is not cover art. */
  primaryVideoIndex: number | null;
  timing: PacketTiming | null;
  ffprobeVersion: string;
}

export interface ScanData {
  kind: 'vis.scan';
  /** full: every frame decoded; sampled: idet on the first frames only (decodeCheck off); skipped: nothing to decode. */
  mode: 'full' | 'sampled' | 'skipped';
  skippedReason: string | null;
  streamIndex: number | null;
  framesDecoded: number | null;
  /** End time of the last decoded frame, from -progress out_time. */
  decodedDurationSeconds: number | null;
  /** idet multi-frame counts (hysteresis-smoothed, more stable than single-frame). */
  idet: IdetCounts | null;
  /** Error-level log lines plus "corrupt frame/packet" warnings; null when not counted. */
  decodeErrors: number | null;
  /** A few distinct error messages, addresses and paths stripped, for the issue details. */
  errorSamples: string[];
  /** Distinct log messages that mean the data ends early (partial file, ended prematurely …). */
  truncationSigns: string[];
  exitCode: number | null;
  /** The frame index built from this decode (full decodes of files), stored by content hash. */
  frameIndex: FrameIndexSummary | null;
  /** Why no index could be built (e.g. the decode failed), when one was wanted. */
  frameIndexError: string | null;
}
