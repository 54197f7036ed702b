/** VIS — the Video Inspection Service: request and result. */
import { z } from 'zod';
import { FrameIndexSummary } from './frame-index.js';
import {
  AudioLayout,
  ChromaSubsampling,
  Colour,
  FrameRateMode,
  HdrMetadata,
  MediaRef,
  Priority,
  Rational,
  Resolution,
  ScanType,
  Severity,
} from './common.js';

export const InspectRequest = z.strictObject({
  source: MediaRef,
  /** Only for image-sequence patterns such as `frame%08d.png`: the rate to read them at (default 24/1) and the first number. */
  imageSequence: z
    .strictObject({
      frameRate: Rational.refine((r) => r.num > 0, 'frame rate must be positive').optional(),
      startNumber: z.number().int().min(0).max(1_000_000_000).optional(),
    })
    .optional(),
  /** Decode every frame to count decode errors and detect truncation (default true; off makes inspection header-only plus a sampled idet). */
  decodeCheck: z.boolean().optional(),
  priority: Priority.optional(),
  /** Free-form caller reference, echoed in logs; never reaches ffmpeg. */
  correlationId: z.string().max(256).optional(),
});
export type InspectRequest = z.infer<typeof InspectRequest>;

/** Stable issue codes: callers may switch on them. Add, never rename. */
/** Issues raised from the frame index's stats (actors/vis/compute/issues-index.ts). */
export const INDEX_ISSUE_CODES = ['SYNC_NOT_RANDOM_ACCESS', 'DISCARDED_PACKETS', 'EDIT_LIST', 'NON_INCREASING_TIMESTAMPS', 'TIMESTAMP_JITTER', 'FRAME_INDEX_FAILED'] as const;

export const ISSUE_CODES = [
  'UNREADABLE_CONTAINER',
  'NO_VIDEO_STREAM',
  'MULTIPLE_VIDEO_STREAMS',
  'DECODE_ERRORS',
  'TRUNCATED',
  'VARIABLE_FRAME_RATE',
  'UNUSUAL_FRAME_RATE',
  'INTERLACED',
  'SCAN_TYPE_MISMATCH',
  'ODD_DIMENSIONS',
  'CHROMA_SUBSAMPLING_MISMATCH',
  'NON_SQUARE_PIXELS',
  'UNEXPECTED_SAR',
  'MISSING_COLOUR_METADATA',
  'HDR_METADATA_MISSING',
  'AV_DURATION_MISMATCH',
  'NO_AUDIO_STREAM',
  'FRAME_COUNT_MISMATCH',
  'ROTATED',
  'ZERO_DURATION',
  ...INDEX_ISSUE_CODES,
] as const;
export const IssueCode = z.enum(ISSUE_CODES);
export type IssueCode = z.infer<typeof IssueCode>;

export const Issue = z.strictObject({
  severity: Severity,
  code: IssueCode,
  message: z.string(),
  streamIndex: z.number().int().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type Issue = z.infer<typeof Issue>;

export const ContainerInfo = z.strictObject({
  format: z.string(),
  formatLongName: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  bitRate: z.number().nullable(),
  startTimeSeconds: z.number().nullable(),
  sizeBytes: z.number().nullable(),
  tags: z.record(z.string(), z.string()),
});
export type ContainerInfo = z.infer<typeof ContainerInfo>;

export const IdetCounts = z.strictObject({
  tff: z.number().int(),
  bff: z.number().int(),
  progressive: z.number().int(),
  undetermined: z.number().int(),
});
export type IdetCounts = z.infer<typeof IdetCounts>;

export const VideoStreamInfo = z.strictObject({
  index: z.number().int(),
  codec: z.string(),
  profile: z.string().nullable(),
  level: z.number().nullable(),
  resolution: Resolution,
  sar: Rational.nullable(),
  dar: Rational.nullable(),
  /** Nominal rate (r_frame_rate) and measured average (avg_frame_rate). */
  frameRate: Rational.nullable(),
  avgFrameRate: Rational.nullable(),
  frameRateMode: FrameRateMode,
  /** Frames decoded (or counted from packets when decodeCheck is off). */
  frameCount: z.number().int().nullable(),
  /** Frame count the container claims, if any. */
  frameCountHeader: z.number().int().nullable(),
  pixelFormat: z.string().nullable(),
  bitDepth: z.number().int().nullable(),
  chromaSubsampling: ChromaSubsampling,
  scanType: ScanType,
  fieldOrderHeader: z.string().nullable(),
  idet: IdetCounts.nullable(),
  colour: Colour,
  hdr: HdrMetadata,
  rotationDegrees: z.number(),
  durationSeconds: z.number().nullable(),
  bitRate: z.number().nullable(),
  startTimeSeconds: z.number().nullable(),
  decodeErrors: z.number().int().nullable(),
});
export type VideoStreamInfo = z.infer<typeof VideoStreamInfo>;

export const AudioStreamInfo = z.strictObject({
  index: z.number().int(),
  codec: z.string(),
  profile: z.string().nullable(),
  sampleRate: z.number().int().nullable(),
  layout: AudioLayout,
  durationSeconds: z.number().nullable(),
  bitRate: z.number().nullable(),
  language: z.string().nullable(),
});
export type AudioStreamInfo = z.infer<typeof AudioStreamInfo>;

export const InspectResult = z.strictObject({
  source: z.strictObject({ uri: z.string(), imageSequence: z.boolean() }),
  container: ContainerInfo.nullable(),
  video: z.array(VideoStreamInfo),
  audio: z.array(AudioStreamInfo),
  timecode: z.string().nullable(),
  issues: z.array(Issue),
  /** 'errors' if any issue is an error, 'warnings' if any is a warning, else 'ok'. */
  verdict: z.enum(['ok', 'warnings', 'errors']),
  tools: z.strictObject({ ffprobe: z.string() }),
  /** The frame index built from the full decode (absent for sampled scans and image sequences). */
  frameIndex: FrameIndexSummary.optional(),
  /** Why a wanted frame index could not be built. */
  frameIndexError: z.string().optional(),
});
export type InspectResult = z.infer<typeof InspectResult>;
