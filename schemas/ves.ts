/**
 * VES — the Video Encoding Service: the encoding recipe and the API. A
 * recipe holds enumerations and bounded numbers only: nothing in it can
 * reach ffmpeg as free text.
 */
import { z } from 'zod';
import { MediaRef, Priority, Resolution } from './common.js';

export const CODECS = ['h264', 'hevc', 'vp9', 'av1'] as const;
export const Codec = z.enum(CODECS);
export type Codec = z.infer<typeof Codec>;

export const CONTAINERS = ['mp4', 'mkv', 'raw'] as const;
export const Container = z.enum(CONTAINERS);
export type Container = z.infer<typeof Container>;

export const PIXEL_FORMATS = ['yuv420p', 'yuv420p10le', 'yuv422p', 'yuv422p10le', 'yuv444p', 'yuv444p10le'] as const;
export const PixelFormat = z.enum(PIXEL_FORMATS);
export type PixelFormat = z.infer<typeof PixelFormat>;

export const SCALERS = ['bicubic', 'bilinear', 'lanczos', 'spline', 'area', 'neighbor'] as const;
export const Scaler = z.enum(SCALERS);

/** Profiles by codec, in the encoders' own spelling. */
export const PROFILES = {
  h264: ['baseline', 'main', 'high', 'high10', 'high422', 'high444'],
  hevc: ['main', 'main10', 'main422-10', 'main444-8', 'main444-10'],
  vp9: ['0', '1', '2', '3'],
  av1: ['main', 'high', 'professional'],
} as const satisfies Record<Codec, readonly string[]>;

export const LEVELS = ['1', '1b', '1.1', '1.2', '1.3', '2', '2.1', '2.2', '3', '3.1', '3.2', '4', '4.1', '4.2', '5', '5.1', '5.2', '6', '6.1', '6.2'] as const;
export const Level = z.enum(LEVELS);

/** x264/x265 preset names. */
export const X26X_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/** CRF ranges per codec (x264/x265: 0–51; libvpx-vp9 and SVT-AV1: 0–63). */
export const CRF_MAX: Record<Codec, number> = { h264: 51, hevc: 51, vp9: 63, av1: 63 };
/** Speed ranges for the codecs that take a number (libvpx-vp9 -cpu-used 0–8; SVT-AV1 -preset 0–13). */
export const SPEED_MAX: Partial<Record<Codec, number>> = { vp9: 8, av1: 13 };

export const RateControl = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('crf'),
    value: z.number().min(0).max(63),
    /** Capped CRF (VBV): the constant-quality encode never exceeds this peak (x264/x265 -maxrate; libvpx constrained quality). Not for AV1. */
    maxrateKbps: z.number().int().min(16).max(1_000_000).optional(),
    /** The VBV buffer with maxrate (default 2 × maxrate). */
    bufsizeKbps: z.number().int().min(16).max(2_000_000).optional(),
  }),
  z.strictObject({
    mode: z.literal('bitrate'),
    targetKbps: z.number().int().min(16).max(500_000),
    maxrateKbps: z.number().int().min(16).max(1_000_000).optional(),
    bufsizeKbps: z.number().int().min(16).max(2_000_000).optional(),
  }),
]);
export type RateControl = z.infer<typeof RateControl>;

export const Gop = z.strictObject({
  /** Maximum distance between keyframes; default 2 s of frames. */
  lengthFrames: z.number().int().min(1).max(1000).optional(),
  lengthSeconds: z.number().min(0.1).max(20).optional(),
  /** Keyframes at scene changes inside a chunk (encoder scene-cut detection). Default true. */
  sceneCutKeyframes: z.boolean().optional(),
  /** Closed GOPs (no references across keyframes). Default true; chunk starts are always closed. */
  closed: z.boolean().optional(),
});
export type Gop = z.infer<typeof Gop>;

export const Chunking = z.strictObject({
  /** false = one chunk (no splitting). Default true. */
  enabled: z.boolean().optional(),
  targetSeconds: z.number().min(0.2).max(600).optional(),
  minSeconds: z.number().min(0.2).max(600).optional(),
  maxSeconds: z.number().min(0.5).max(3600).optional(),
  /** Move boundaries to nearby scene cuts (scene score from ffmpeg's scene detection). Default false. */
  alignToSceneCuts: z.boolean().optional(),
});
export type Chunking = z.infer<typeof Chunking>;

export const Recipe = z
  .strictObject({
    codec: Codec,
    profile: z.string().max(16).optional(),
    level: Level.optional(),
    /** Output size; default the source's. */
    resolution: Resolution.optional(),
    scaler: Scaler.optional(),
    /**
     * Square pixels out (sample aspect ratio 1:1: the resolution is the display size), as streaming
     * renditions want. Default false: a scaled output keeps the source's display aspect ratio, ffmpeg
     * adjusting the sample aspect ratio for what rounding the size to whole pixels changed.
     */
    squarePixels: z.boolean().optional(),
    pixelFormat: PixelFormat.optional(),
    rateControl: RateControl,
    gop: Gop.optional(),
    /** x264/x265 preset name. */
    preset: z.enum(X26X_PRESETS).optional(),
    /** vp9 cpu-used (0–8) or SVT-AV1 preset (0–13). */
    speed: z.number().int().min(0).max(13).optional(),
    chunking: Chunking.optional(),
    audio: z.strictObject({ mode: z.enum(['none', 'copy']) }).optional(),
  })
  .superRefine((r, ctx) => {
    const profiles: readonly string[] = PROFILES[r.codec];
    if (r.profile !== undefined && !profiles.includes(r.profile)) {
      ctx.addIssue({ code: 'custom', path: ['profile'], message: `${r.codec} profiles are ${profiles.join(', ')}` });
    }
    if (r.rateControl.mode === 'crf' && r.rateControl.value > CRF_MAX[r.codec]) {
      ctx.addIssue({ code: 'custom', path: ['rateControl', 'value'], message: `${r.codec} CRF is 0–${CRF_MAX[r.codec]}` });
    }
    if (r.preset !== undefined && (r.codec === 'vp9' || r.codec === 'av1')) {
      ctx.addIssue({ code: 'custom', path: ['preset'], message: `${r.codec} takes "speed" (a number), not a preset name` });
    }
    const speedMax = SPEED_MAX[r.codec];
    if (r.speed !== undefined && (speedMax === undefined || r.speed > speedMax)) {
      ctx.addIssue({ code: 'custom', path: ['speed'], message: speedMax === undefined ? `${r.codec} takes "preset", not "speed"` : `${r.codec} speed is 0–${speedMax}` });
    }
    if (r.codec === 'h264' && r.pixelFormat?.includes('10') && r.profile !== undefined && !['high10', 'high422', 'high444'].includes(r.profile)) {
      ctx.addIssue({ code: 'custom', path: ['profile'], message: '10-bit H.264 needs profile high10, high422 or high444' });
    }
    if (r.codec === 'av1' && r.pixelFormat !== undefined && !['yuv420p', 'yuv420p10le'].includes(r.pixelFormat)) {
      ctx.addIssue({ code: 'custom', path: ['pixelFormat'], message: 'SVT-AV1 encodes yuv420p and yuv420p10le only' });
    }
    if (r.resolution && (r.resolution.width % 2 || r.resolution.height % 2) && (r.pixelFormat ?? 'yuv420p').startsWith('yuv420')) {
      ctx.addIssue({ code: 'custom', path: ['resolution'], message: '4:2:0 output needs even width and height' });
    }
    const c = r.chunking;
    if (c?.minSeconds !== undefined && c.maxSeconds !== undefined && c.minSeconds > c.maxSeconds) {
      ctx.addIssue({ code: 'custom', path: ['chunking', 'minSeconds'], message: 'minSeconds must not exceed maxSeconds' });
    }
  });
export type Recipe = z.infer<typeof Recipe>;

export const EncodeRequest = z.strictObject({
  source: MediaRef,
  recipe: Recipe,
  /** Where the encode goes (under the media root); the container follows `container`, else the extension (.mp4, .mkv, else raw). */
  output: z.strictObject({ uri: z.string().min(1).max(4096), container: Container.optional() }),
  priority: Priority.optional(),
  /** Validate the output with VVS (default true); a failed validation fails the job. */
  validate: z.boolean().optional(),
  correlationId: z.string().max(256).optional(),
});
export type EncodeRequest = z.infer<typeof EncodeRequest>;

/** One planned chunk: frames [startFrame, endFrame) of the source, and their presentation times. */
export const ChunkPlan = z.strictObject({
  index: z.number().int().min(0),
  startFrame: z.number().int().min(0),
  endFrame: z.number().int().min(1),
  /** Where the decoder seeks: between the previous frame's time and this chunk's first frame's time. */
  seekSeconds: z.number(),
  startSeconds: z.number(),
  /** Presentation time span of the chunk (next chunk's start minus this one's). */
  durationSeconds: z.number(),
  /**
   * Frame-index plans: the verified random-access point the decoder starts at (seekSeconds is its
   * seek time) and how many decoded frames it drops before the chunk's first frame (exact, by count).
   */
  rapFrame: z.number().int().min(0).optional(),
  skipFrames: z.number().int().min(0).optional(),
  /**
   * Frames before the chunk that are encoded and thrown away, so the encoder's rate control starts
   * the chunk warmed up as an unchunked encode would be (a keyframe is forced at the chunk's first
   * frame); warmUpTicks is their span in the frame index's time base. skipFrames counts up to them.
   */
  warmUpFrames: z.number().int().min(0).optional(),
  warmUpTicks: z.number().int().min(0).optional(),
});
export type ChunkPlan = z.infer<typeof ChunkPlan>;

export const EncodeResult = z.strictObject({
  output: z.strictObject({ uri: z.string(), container: Container, sizeBytes: z.number().int(), bitrateKbps: z.number() }),
  frames: z.number().int(),
  durationSeconds: z.number(),
  chunks: z.number().int(),
  encodeSeconds: z.number(),
  /** Sum of chunk encode seconds over wall seconds of the encode stage. */
  parallelism: z.number(),
  /** Encoded media seconds per wall second of the encode stage. */
  speed: z.number(),
  encoder: z.strictObject({ name: z.string(), version: z.string() }),
  validation: z.unknown().optional(),
  /** How the source was read: its frame index, and what starting chunks at verified random-access points cost. */
  source: z
    .strictObject({
      contentHash: z.string(),
      frames: z.number().int(),
      verifiedRandomAccessPoints: z.number().int(),
      /** 'random-access': every chunk starts at or after a verified point; 'pre-roll': some decode from far before; 'single-chunk': too costly to split. */
      splitting: z.enum(['random-access', 'pre-roll', 'single-chunk']),
      /** Frames decoded and dropped before chunk starts, and that as a fraction of the source's frames (the extra decode work). */
      preRollFrames: z.number().int(),
      preRollFraction: z.number(),
    })
    .optional(),
});
export type EncodeResult = z.infer<typeof EncodeResult>;
