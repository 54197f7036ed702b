/**
 * VES — the Video Encoding Service: the encoding recipe and the API. A
 * recipe holds enumerations and bounded numbers only: nothing in it can
 * reach ffmpeg as free text.
 */
import { z } from 'zod';
import { MediaRef, Priority, Resolution } from './common.js';

/** Delivery codecs (inter-frame, rate-controlled): what CAS, LGS and streaming ladders use. */
export const DELIVERY_CODECS = ['h264', 'hevc', 'vp9', 'av1'] as const;
export const DeliveryCodec = z.enum(DELIVERY_CODECS);
export type DeliveryCodec = z.infer<typeof DeliveryCodec>;
/** Intra-only editorial codecs: every frame a keyframe, the rate set by the profile (no rateControl). */
export const INTRA_CODECS = ['prores', 'dnxhd'] as const;
export type IntraCodec = (typeof INTRA_CODECS)[number];
export const CODECS = [...DELIVERY_CODECS, ...INTRA_CODECS] as const;
export const Codec = z.enum(CODECS);
export type Codec = z.infer<typeof Codec>;
export const isIntraCodec = (c: Codec): c is IntraCodec => (INTRA_CODECS as readonly string[]).includes(c);

export const CONTAINERS = ['mp4', 'mov', 'mkv', 'raw'] as const;
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
  /** prores_ks: Proxy, LT, 422, HQ, 4444, 4444 XQ. */
  prores: ['proxy', 'lt', 'standard', 'hq', '4444', '4444xq'],
  /** DNxHR (resolution-independent; the fixed-size DNxHD bit-rate table is not offered). */
  dnxhd: ['dnxhr_lb', 'dnxhr_sq', 'dnxhr_hq', 'dnxhr_hqx', 'dnxhr_444'],
} as const satisfies Record<Codec, readonly string[]>;

export const LEVELS = ['1', '1b', '1.1', '1.2', '1.3', '2', '2.1', '2.2', '3', '3.1', '3.2', '4', '4.1', '4.2', '5', '5.1', '5.2', '6', '6.1', '6.2'] as const;
export const Level = z.enum(LEVELS);

/** x264/x265 preset names. */
export const X26X_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/** CRF ranges per codec (x264/x265: 0–51; libvpx-vp9 and SVT-AV1: 0–63). */
export const CRF_MAX: Record<DeliveryCodec, number> = { h264: 51, hevc: 51, vp9: 63, av1: 63 };
/** Speed ranges for the codecs that take a number (libvpx-vp9 -cpu-used 0–8; SVT-AV1 -preset 0–13). */
export const SPEED_MAX: Partial<Record<DeliveryCodec, number>> = { vp9: 8, av1: 13 };

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
  maxSeconds: z.number().min(0.2).max(3600).optional(),
  /** Move boundaries to nearby scene cuts (scene score from ffmpeg's scene detection). Default false. */
  alignToSceneCuts: z.boolean().optional(),
});
export type Chunking = z.infer<typeof Chunking>;

/** The nine places a burn-in or a visible watermark can sit. */
export const ANCHORS = ['top-left', 'top-center', 'top-right', 'middle-left', 'center', 'middle-right', 'bottom-left', 'bottom-center', 'bottom-right'] as const;
export const Anchor = z.enum(ANCHORS);
export type Anchor = z.infer<typeof Anchor>;

/** Longest burned-in text, in characters (code points). */
export const MAX_BURN_IN_CHARS = 1000;
const BurnInText = z
  .string()
  .min(1)
  .max(4 * MAX_BURN_IN_CHARS)
  .refine((t) => [...t].length <= MAX_BURN_IN_CHARS, `at most ${MAX_BURN_IN_CHARS} characters`);

/** A font size: pixels, or a fraction of the output height. */
export const FontSize = z.union([z.strictObject({ px: z.number().int().min(6).max(400) }), z.strictObject({ fractionOfHeight: z.number().gt(0).max(0.5) })]);

/**
 * Text burned into every frame, drawn per chunk so frame N shows its own timecode and number across
 * chunk joins. Request text is never part of a filter graph (drawtext reads it from a file, literally).
 */
export const BurnInSpec = z.strictObject({
  /** Rows of free text, top to bottom ("clip name", "CONFIDENTIAL – <recipient>"); a newline starts a new row. */
  text: z.array(BurnInText).max(16).optional(),
  /**
   * The source timecode: `start` labels the source's first frame (HH:MM:SS:FF, or HH:MM:SS;FF
   * drop-frame, 29.97/59.94 only); without it the source's own timecode (tmcd track, SMPTE timecode
   * side data or a timecode tag), else 00:00:00:00.
   */
  timecode: z.strictObject({ start: z.string().max(16).optional() }).optional(),
  /** The source frame number. */
  frameCounter: z.boolean().optional(),
  /** Default bottom-center. */
  position: Anchor.optional(),
  /** Default 4 % of the output height. */
  fontSize: FontSize.optional(),
  /** Opacity of the box behind each row, 0–1; default 0.6. */
  boxOpacity: z.number().min(0).max(1).optional(),
});
export type BurnInSpec = z.infer<typeof BurnInSpec>;

/** A visible watermark: a PNG (under the media root) or a text, at an anchor, with an opacity. */
export const VisibleWatermark = z
  .strictObject({
    image: MediaRef.optional(),
    text: BurnInText.optional(),
    /** Default top-right. */
    position: Anchor.optional(),
    /** 0–1; default 0.35. */
    opacity: z.number().min(0).max(1).optional(),
    /** Image width as a fraction of the output width (default 0.2); text size as a fraction of the output height (default 0.05). */
    size: z.number().min(0.01).max(1).optional(),
  })
  .refine((w) => (w.image === undefined) !== (w.text === undefined), 'give exactly one of image or text');
export type VisibleWatermark = z.infer<typeof VisibleWatermark>;

/**
 * One variant of an A/B forensic watermark (encoders/forensic): every chunk carries the keyed,
 * imperceptible luma pattern of `variant`, seeded per title by `seed`. A recipient's copy is
 * assembled from chunks of variant 0 or 1 as its payload spells.
 */
export const ForensicVariant = z.strictObject({
  seed: z.string().regex(/^(?:[0-9a-f]{2}){16,64}$/, 'hex, 32–128 digits (whole bytes)'),
  variant: z.union([z.literal(0), z.literal(1)]),
  strength: z.number().min(0.25).max(8).optional(),
});
export type ForensicVariant = z.infer<typeof ForensicVariant>;

export const AudioRecipe = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('none') }),
  /** Every audio stream of the source as it is. */
  z.strictObject({ mode: z.literal('copy') }),
  /** The first audio stream as AAC-LC at 48 kHz (review proxies); default stereo at 192 kb/s. */
  z.strictObject({ mode: z.literal('aac'), bitrateKbps: z.number().int().min(32).max(512).optional(), channels: z.union([z.literal(1), z.literal(2)]).optional() }),
  /** The first audio stream as little-endian PCM at 48 kHz (editorial MOV); default 24-bit stereo. */
  z.strictObject({ mode: z.literal('pcm'), bitDepth: z.union([z.literal(16), z.literal(24)]).optional(), channels: z.union([z.literal(1), z.literal(2)]).optional() }),
]);
export type AudioRecipe = z.infer<typeof AudioRecipe>;

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
    /** Required for the delivery codecs; the intra codecs (prores, dnxhd) take their rate from the profile. */
    rateControl: RateControl.optional(),
    gop: Gop.optional(),
    /** x264/x265 preset name. */
    preset: z.enum(X26X_PRESETS).optional(),
    /** vp9 cpu-used (0–8) or SVT-AV1 preset (0–13). */
    speed: z.number().int().min(0).max(13).optional(),
    chunking: Chunking.optional(),
    audio: AudioRecipe.optional(),
    burnIn: BurnInSpec.optional(),
    watermark: z.strictObject({ visible: VisibleWatermark.optional(), forensic: ForensicVariant.optional() }).optional(),
  })
  .superRefine((r, ctx) => {
    const profiles: readonly string[] = PROFILES[r.codec];
    if (r.profile !== undefined && !profiles.includes(r.profile)) {
      ctx.addIssue({ code: 'custom', path: ['profile'], message: `${r.codec} profiles are ${profiles.join(', ')}` });
    }
    if (isIntraCodec(r.codec)) {
      if (r.rateControl !== undefined) ctx.addIssue({ code: 'custom', path: ['rateControl'], message: `${r.codec} is intra-only: its data rate is set by the profile, not by rateControl` });
      if (r.preset !== undefined || r.speed !== undefined) ctx.addIssue({ code: 'custom', path: [r.preset !== undefined ? 'preset' : 'speed'], message: `${r.codec} takes no preset or speed` });
    } else if (r.rateControl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateControl'], message: `${r.codec} needs rateControl (crf or bitrate)` });
    } else if (r.rateControl.mode === 'crf' && r.rateControl.value > CRF_MAX[r.codec]) {
      ctx.addIssue({ code: 'custom', path: ['rateControl', 'value'], message: `${r.codec} CRF is 0–${CRF_MAX[r.codec]}` });
    }
    if (r.preset !== undefined && (r.codec === 'vp9' || r.codec === 'av1')) {
      ctx.addIssue({ code: 'custom', path: ['preset'], message: `${r.codec} takes "speed" (a number), not a preset name` });
    }
    const speedMax = isIntraCodec(r.codec) ? undefined : SPEED_MAX[r.codec];
    if (r.speed !== undefined && !isIntraCodec(r.codec) && (speedMax === undefined || r.speed > speedMax)) {
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
  output: z.strictObject({
    uri: z.string().min(1).max(4096),
    container: Container.optional(),
    /**
     * Keep the chunk files after assembly, in `<output>.chunks/` (the result's `chunkSet` lists them with
     * their exact spans): an A/B forensic watermark assembles each recipient's copy from them.
     */
    keepChunks: z.boolean().optional(),
  }),
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

/** `chunks.json` of a kept chunk set: enough to assemble any sequence of same-plan chunk files (A/B watermark variants). */
export const ChunkManifest = z.strictObject({
  jobId: z.string(),
  codec: Codec,
  container: Container,
  frames: z.number().int(),
  durationSeconds: z.number(),
  chunks: z.array(
    z.strictObject({
      index: z.number().int(),
      file: z.string(),
      startFrame: z.number().int(),
      endFrame: z.number().int(),
      durationSeconds: z.number(),
      durationMicros: z.number().int().optional(),
      startSeconds: z.number().optional(),
    }),
  ),
  /** The source's first frame time: the audio's offset when assembling. */
  audioOffsetSeconds: z.number(),
});
export type ChunkManifest = z.infer<typeof ChunkManifest>;

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
  /** With output.keepChunks: the directory of chunk files and its manifest (chunk files in order, each with its source frames and exact span). */
  chunkSet: z.strictObject({ uri: z.string(), chunks: z.number().int(), manifest: z.string() }).optional(),
  /** With a timecode burn-in: the label of the source's first frame and where it came from (request, tmcd, stream tag, format tag, side data, default). */
  burnIn: z.strictObject({ timecodeStart: z.string(), timecodeFrom: z.string() }).optional(),
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
