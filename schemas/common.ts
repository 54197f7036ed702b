/**
 * The common video data model: concepts every service shares (frame rate,
 * resolution, colour, HDR, audio layout, timecode, priority, media refs).
 * One source of truth — types are inferred from these schemas.
 */
import { z } from 'zod';

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export const Priority = z.enum(PRIORITIES);
export type Priority = z.infer<typeof Priority>;

/** A media URI: `file:///abs/path` or a plain absolute path. Other schemes are refused later by the media-root guard. */
export const MediaRef = z.strictObject({
  uri: z.string().min(1).max(4096),
});
export type MediaRef = z.infer<typeof MediaRef>;

/** A rational number, as frame rates and aspect ratios are (30000/1001, 16/9). */
export const Rational = z.strictObject({
  num: z.number().int().min(0).max(1_000_000_000),
  den: z.number().int().min(1).max(1_000_000_000),
});
export type Rational = z.infer<typeof Rational>;

export const Resolution = z.strictObject({
  width: z.number().int().min(1).max(16384),
  height: z.number().int().min(1).max(16384),
});
export type Resolution = z.infer<typeof Resolution>;

/** Scan type as detected from the pictures (idet), not only from the header. */
export const SCAN_TYPES = ['progressive', 'interlaced_tff', 'interlaced_bff', 'mixed', 'unknown'] as const;
export const ScanType = z.enum(SCAN_TYPES);
export type ScanType = z.infer<typeof ScanType>;

export const FRAME_RATE_MODES = ['cfr', 'vfr'] as const;
export const FrameRateMode = z.enum(FRAME_RATE_MODES);

export const CHROMA_SUBSAMPLINGS = ['4:2:0', '4:2:2', '4:4:4', '4:1:1', '4:4:0', 'none', 'unknown'] as const;
export const ChromaSubsampling = z.enum(CHROMA_SUBSAMPLINGS);
export type ChromaSubsampling = z.infer<typeof ChromaSubsampling>;

/** Colour description as ffprobe names it (bt709, bt2020nc, smpte2084 …); null when the stream does not say. */
export const Colour = z.strictObject({
  primaries: z.string().nullable(),
  transfer: z.string().nullable(),
  matrix: z.string().nullable(),
  range: z.enum(['tv', 'pc']).nullable(),
});
export type Colour = z.infer<typeof Colour>;

export const HDR_FORMATS = ['sdr', 'hdr10', 'hlg', 'pq', 'dolby_vision'] as const;
export const HdrFormat = z.enum(HDR_FORMATS);

/** SMPTE ST 2086 mastering display (chromaticities as decimals, luminance in cd/m²) and CTA-861.3 light levels. */
export const HdrMetadata = z.strictObject({
  format: HdrFormat,
  masteringDisplay: z
    .strictObject({
      red: z.tuple([z.number(), z.number()]),
      green: z.tuple([z.number(), z.number()]),
      blue: z.tuple([z.number(), z.number()]),
      whitePoint: z.tuple([z.number(), z.number()]),
      minLuminance: z.number(),
      maxLuminance: z.number(),
    })
    .nullable(),
  contentLightLevel: z.strictObject({ maxCll: z.number(), maxFall: z.number() }).nullable(),
});
export type HdrMetadata = z.infer<typeof HdrMetadata>;

export const AudioLayout = z.strictObject({
  channels: z.number().int().min(0).max(64),
  layout: z.string().nullable(),
});

/** SMPTE timecode, `HH:MM:SS:FF` (or `;` before FF for drop-frame). */
export const Timecode = z.string().regex(/^\d{2}:\d{2}:\d{2}[:;.]\d{2,3}$/);

/** A pixel format name as ffmpeg spells it (yuv420p, yuv420p10le, nv12 …): letters and digits only. */
export const PixelFormatName = z.string().regex(/^[a-z0-9]{2,24}$/, 'a pixel format name such as yuv420p');

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

export function rationalToNumber(r: Rational): number {
  return r.den === 0 ? 0 : r.num / r.den;
}
