/**
 * The streaming orchestrator (`vpipe-streaming`, `vpipe.streaming.submit`):
 * a mezzanine in; a per-title (or fixed) ladder encoded, measured, packaged
 * as CMAF segments shared by HLS and DASH, with loudness-normalised AAC audio
 * renditions and WebVTT subtitles, out. See docs/API.md.
 */
import { z } from 'zod';
import { MediaRef, Priority } from './common.js';
import { LadderConstraints, LadderResult } from './lgs.js';
import { DeliveryCodec as Codec, Recipe } from './ves.js';
import { IssueCode } from './vis.js';

/** EBU R128: −23 LUFS integrated, −1 dBTP true peak; 11 LU loudness range target for the two-pass loudnorm. */
export const LOUDNESS_DEFAULTS = { integratedLufs: -23, truePeakDb: -1, lra: 11 } as const;
export const PACKAGING_DEFAULTS = { segmentSeconds: 6, gopSeconds: 2 } as const;
export const AUDIO_DEFAULTS = { bitrateKbps: 128, sampleRate: 48_000 } as const;

/** A BCP 47-ish language tag as containers carry them (ISO 639-2 `eng`, or `en`, `en-US`, `pt-BR`); letters, digits and `-` only. */
export const LanguageTag = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/, 'a language tag such as en, eng or pt-BR');

/** A display name for a track: printable text, no quotes or control characters (it goes into playlists and XML). */
export const TrackName = z.string().min(1).max(64).regex(/^[^"\\\u0000-\u001f\u007f<>&]+$/, 'printable text without quotes, backslashes, <, > or &');

export const SidecarSubtitle = z.strictObject({
  /** An SRT or WebVTT file under the media root. */
  uri: z.string().min(1).max(4096),
  language: LanguageTag,
  name: TrackName.optional(),
  default: z.boolean().optional(),
  forced: z.boolean().optional(),
});
export type SidecarSubtitle = z.infer<typeof SidecarSubtitle>;

export const StreamingRequest = z
  .strictObject({
    source: MediaRef,
    /** A directory under the media root: `<out>/hls/…`, `<out>/dash/…`, `<out>/media/…`, `<out>/report.json`. */
    output: MediaRef,
    /** One ladder per codec family; every codec's rungs are packaged together (HLS variants, one DASH adaptation set each). */
    codecs: z.array(Codec).min(1).max(4).refine((c) => new Set(c).size === c.length, 'each codec once').optional(),
    ladder: z
      .strictObject({
        /** `per-title` (default): LGS's ladder from CAS's trial encodes. `fixed`: Apple's HLS authoring ladder, capped to the source. */
        mode: z.enum(['per-title', 'fixed']).optional(),
        constraints: LadderConstraints.optional(),
        /** Without libvmaf: a PSNR ladder (labelled so) instead of failing. */
        allowWithoutVmaf: z.boolean().optional(),
      })
      .optional(),
    /** VIS issues (error severity) to accept anyway; any other error issue rejects the source with SOURCE_REJECTED. */
    overrideIssues: z.array(IssueCode).max(64).optional(),
    audio: z
      .strictObject({
        /** false: no audio renditions even where the source has audio. */
        enabled: z.boolean().optional(),
        bitrateKbps: z.number().int().min(32).max(512).optional(),
        loudness: z
          .strictObject({
            integratedLufs: z.number().min(-70).max(-5).optional(),
            truePeakDb: z.number().min(-9).max(0).optional(),
            lra: z.number().min(1).max(50).optional(),
          })
          .optional(),
      })
      .optional(),
    /** Subtitle files beside the source; text streams inside the source are always taken too. */
    subtitles: z.array(SidecarSubtitle).max(32).optional(),
    packaging: z
      .strictObject({
        /** Target segment duration: a whole number of 2 s GOPs (2, 4, 6 … 10). Default 6. */
        segmentSeconds: z.number().int().min(2).max(10).refine((s) => s % PACKAGING_DEFAULTS.gopSeconds === 0, 'a multiple of the 2 s GOP').optional(),
      })
      .optional(),
    /** Measure every rung with VQS (default true). */
    measure: z.boolean().optional(),
    priority: Priority.optional(),
    correlationId: z.string().max(256).optional(),
  });
export type StreamingRequest = z.infer<typeof StreamingRequest>;

export const RungReport = z.strictObject({
  id: z.string(),
  codec: Codec,
  width: z.number().int(),
  height: z.number().int(),
  /** Measured average bitrate of the encoded rung (video only). */
  kbps: z.number(),
  /** VMAF mean (VQS), null when it was not measured (then `psnr` says what was). */
  vmaf: z.number().nullable(),
  quality: z
    .strictObject({
      vmaf: z.strictObject({ mean: z.number(), harmonicMean: z.number(), min: z.number(), p1: z.number(), p5: z.number(), model: z.string(), version: z.string() }).optional(),
      psnr: z.number().optional(),
      ssim: z.number().optional(),
      notMeasured: z.array(z.object({ metric: z.string(), reason: z.string() })).optional(),
      vqsJobId: z.string(),
    })
    .nullable(),
  predicted: z.strictObject({ vmaf: z.number().optional(), psnr: z.number().optional() }).optional(),
  /** The VES recipe the rung was encoded with (what reproduces it). */
  recipe: Recipe,
  encode: z.strictObject({ vesJobId: z.string(), uri: z.string(), frames: z.number().int(), encodeSeconds: z.number(), speed: z.number(), chunks: z.number().int(), crf: z.number().optional() }),
  /** Packaging's measurements of this rung (bits per second): RFC 8216 peak segment bitrate and the mean. */
  bandwidth: z.number().int(),
  averageBandwidth: z.number().int(),
  codecs: z.string(),
  frameRate: z.number(),
});
export type RungReport = z.infer<typeof RungReport>;

export const AudioReport = z.strictObject({
  id: z.string(),
  language: z.string(),
  name: z.string(),
  default: z.boolean(),
  sourceStream: z.number().int(),
  sourceChannels: z.number().int(),
  channels: z.number().int(),
  codecs: z.string(),
  bitrateKbps: z.number(),
  bandwidth: z.number().int(),
  averageBandwidth: z.number().int(),
  loudness: z.strictObject({
    target: z.strictObject({ integratedLufs: z.number(), truePeakDb: z.number(), lra: z.number() }),
    /** Pass one's measurement of the source track, and the output's (ffmpeg's ebur128 on the encoded rendition). */
    input: z.strictObject({ integratedLufs: z.number(), truePeakDb: z.number(), lra: z.number() }),
    output: z.strictObject({ integratedLufs: z.number(), truePeakDb: z.number(), lra: z.number() }),
  }),
});
export type AudioReport = z.infer<typeof AudioReport>;

export const TextReport = z.strictObject({
  id: z.string(),
  language: z.string(),
  name: z.string(),
  default: z.boolean(),
  forced: z.boolean(),
  /** `stream:<n>` for a text stream of the source, else the sidecar's URI. */
  from: z.string(),
  cues: z.number().int(),
});
export type TextReport = z.infer<typeof TextReport>;

export const PackagingChecks = z.strictObject({
  targetSegmentSeconds: z.number(),
  /** Every video rendition's segments start at the same times (checked on the segments' own tfdt and sample durations). */
  boundariesAligned: z.boolean(),
  segments: z.number().int(),
  maxSegmentSeconds: z.number(),
  /** Every video segment's first sample is a sync sample. */
  segmentsStartWithKeyframe: z.boolean(),
});

/** `<out>/report.json`: everything the job produced, with where it came from and what it measured. */
export const StreamingReport = z.strictObject({
  version: z.literal(1),
  jobId: z.string(),
  source: z.strictObject({ uri: z.string(), width: z.number().int(), height: z.number().int(), frameRate: z.number(), durationSeconds: z.number(), frames: z.number().int() }),
  ladder: z.strictObject({ mode: z.enum(['per-title', 'fixed']), codec: Codec, lgsJobId: z.string().nullable(), result: LadderResult.nullable() }).array(),
  rungs: z.array(RungReport),
  audio: z.array(AudioReport),
  text: z.array(TextReport),
  hls: z.strictObject({ uri: z.string(), iframePlaylists: z.array(z.string()) }),
  dash: z.strictObject({ uri: z.string() }),
  packaging: PackagingChecks,
  /** Wall seconds per stage, and the job's total. */
  timings: z.record(z.string(), z.number()),
  notes: z.array(z.string()),
  createdAt: z.string(),
});
export type StreamingReport = z.infer<typeof StreamingReport>;

/** The job's result event (docs/API.md: `{hls: {uri}, dash: {uri}, rungs: [{width, height, kbps, vmaf}], report: {uri}}`). */
export const StreamingResult = z.strictObject({
  hls: z.strictObject({ uri: z.string() }),
  dash: z.strictObject({ uri: z.string() }),
  rungs: z.array(z.strictObject({ id: z.string(), codec: Codec, width: z.number().int(), height: z.number().int(), kbps: z.number(), vmaf: z.number().nullable(), bandwidth: z.number().int() })),
  audio: z.array(z.strictObject({ id: z.string(), language: z.string(), channels: z.number().int() })),
  text: z.array(z.strictObject({ id: z.string(), language: z.string() })),
  report: z.strictObject({ uri: z.string() }),
});
export type StreamingResult = z.infer<typeof StreamingResult>;
