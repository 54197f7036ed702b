/**
 * The analysis grid (resolutions × CRFs at a fast preset) and the store key
 * of an analysis. Pure.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { CAS_ANALYSIS_VERSION, type Grid, TRIAL_GOP_SECONDS } from '../../../schemas/cas.js';
import type { DeliveryCodec as Codec, X26X_PRESETS } from '../../../schemas/ves.js';
import { even } from './source.js';

/** Ladder heights a default grid takes from, up to the source's own (which is always added). */
export const STANDARD_HEIGHTS = [234, 360, 432, 540, 720, 1080, 1440, 2160] as const;

/** Default CRFs per codec: the same span of quality on each encoder's own scale. */
export const DEFAULT_CRFS: Readonly<Record<Codec, readonly number[]>> = {
  h264: [18, 23, 28, 33, 38],
  hevc: [20, 24, 28, 32, 36],
  vp9: [24, 32, 40, 48, 56],
  av1: [24, 32, 40, 48, 56],
};

/** Trial speed: x264/x265 preset name, or vp9 cpu-used / SVT-AV1 preset. */
export const DEFAULT_PRESET: (typeof X26X_PRESETS)[number] = 'veryfast';
export const DEFAULT_SPEED: Readonly<Partial<Record<Codec, number>>> = { vp9: 6, av1: 10 };

export interface GridPoint {
  width: number;
  height: number;
  crf: number;
}

export interface ResolvedGrid {
  heights: number[];
  crfs: number[];
  preset?: (typeof X26X_PRESETS)[number];
  speed?: number;
  gopSeconds: number;
  points: GridPoint[];
}

/** The width of `height` at the display aspect ratio `dar` (even). */
export const widthFor = (height: number, dar: number): number => even(height * dar);

/**
 * The grid for a source shown at `source` (display size): the asked heights (none above the source's:
 * BAD_REQUEST naming grid.heights) or the standard heights below it plus its own; the asked CRFs or
 * the codec's defaults. Points are sorted by height, then CRF.
 */
export function resolveGrid(codec: Codec, grid: Grid | undefined, source: { width: number; height: number }): ResolvedGrid {
  const dar = source.width / source.height;
  const tooTall = grid?.heights?.findIndex((h) => h > source.height) ?? -1;
  if (tooTall >= 0) {
    throw new VpipeError(ErrorCodes.BadRequest, `grid.heights: ${grid!.heights![tooTall]} is above the source's height ${source.height} (an upscaled trial says nothing about the source)`, {
      details: [{ path: `grid.heights.${tooTall}`, message: `at most ${source.height}` }],
    });
  }
  const heights = [...(grid?.heights ?? [...STANDARD_HEIGHTS.filter((h) => h < source.height), even(source.height)])].sort((a, b) => a - b);
  const crfs = [...(grid?.crfs ?? DEFAULT_CRFS[codec])].sort((a, b) => a - b);
  const x26x = codec === 'h264' || codec === 'hevc';
  const points = heights.flatMap((height) => crfs.map((crf) => ({ width: height === even(source.height) ? source.width : widthFor(height, dar), height, crf })));
  return {
    heights,
    crfs,
    ...(x26x ? { preset: grid?.preset ?? DEFAULT_PRESET } : { speed: grid?.speed ?? DEFAULT_SPEED[codec] }),
    gopSeconds: TRIAL_GOP_SECONDS,
    points,
  };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** What decides an analysis besides the content, codec and encoder: hashed into the store key. */
export interface AnalysisSettings {
  grid: ResolvedGrid;
  sample: { segments: number; segmentSeconds: number; whole: boolean };
  vmafModel: string;
}

/**
 * The store key: `<contentHash>.<codec>.e<12 hex>.g<16 hex>` — the encoder version string (library and
 * ffmpeg) and the settings (grid points, preset, GOP, sampling, VMAF model, analysis version) hashed,
 * since they hold characters KV keys may not.
 */
export function storeKey(contentHash: string, codec: Codec, encoderVersion: string, s: AnalysisSettings): string {
  const settings = JSON.stringify({
    v: CAS_ANALYSIS_VERSION,
    points: s.grid.points.map((p) => [p.width, p.height, p.crf]),
    preset: s.grid.preset ?? null,
    speed: s.grid.speed ?? null,
    gop: s.grid.gopSeconds,
    sample: [s.sample.segments, s.sample.segmentSeconds, s.sample.whole],
    vmaf: s.vmafModel,
  });
  return `${contentHash}.${codec}.e${sha256(encoderVersion).slice(0, 12)}.g${sha256(settings).slice(0, 16)}`;
}
