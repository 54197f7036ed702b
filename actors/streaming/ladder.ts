/**
 * The rungs the streaming job encodes: LGS's per-title ladder (its rungs are
 * VES recipes already), or the fixed ladder — Apple's HLS authoring ladder
 * at the source's own aspect ratio, capped to the source, each rung a capped
 * average-bitrate encode. Every rung shares the GOP structure the packager
 * needs: an IDR every 2 s exactly, closed GOPs, no scene-cut keyframes, chunks
 * of whole GOPs, so segment boundaries fall at the same frames in every rung.
 */
import { APPLE_LADDER, type LadderConstraints, type LadderResult } from '../../schemas/lgs.js';
import { PACKAGING_DEFAULTS } from '../../schemas/streaming.js';
import type { DeliveryCodec as Codec, Recipe } from '../../schemas/ves.js';
import type { PlannedRung } from './workflow.js';

const GOP = { lengthSeconds: PACKAGING_DEFAULTS.gopSeconds, closed: true, sceneCutKeyframes: false } as const;
const CHUNKING = { targetSeconds: 2 * PACKAGING_DEFAULTS.gopSeconds } as const;
/** Peak 1.5 × the average, buffer one GOP at the peak: the same cap LGS puts on its per-title rungs. */
const PEAK_RATIO = 1.5;
/** Encoder speed of fixed rungs: what CAS measures per-title ladders with, so the two compare like for like. */
const FIXED_SPEED: Record<Codec, Pick<Recipe, 'preset' | 'speed'>> = { h264: { preset: 'veryfast' }, hevc: { preset: 'veryfast' }, vp9: { speed: 6 }, av1: { speed: 10 } };

/** The nearest even size, at least 2 (4:2:0 needs even dimensions). */
export const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

export const rungId = (codec: Codec, height: number, kbps: number): string => `${codec}-${height}p-${Math.round(kbps)}k`;

/**
 * A rung recipe as the packager needs it, whatever it came from: the GOP and chunking forced (a per-title
 * rung has them already), square pixels (a rung's size is its display size: RESOLUTION in the playlist
 * is what players show), no audio (the audio renditions are made apart).
 */
export function packagedRecipe(r: Recipe): Recipe {
  return { ...r, squarePixels: true, gop: { ...GOP }, chunking: { ...CHUNKING }, audio: { mode: 'none' } };
}

/** The rungs of LGS's ladder. */
export function perTitleRungs(codec: Codec, ladder: LadderResult): PlannedRung[] {
  return ladder.rungs.map((r) => ({
    id: rungId(codec, r.height, r.kbps),
    codec,
    width: r.width,
    height: r.height,
    kbps: r.kbps,
    crf: r.crf,
    predicted: r.predicted,
    recipe: packagedRecipe(r.recipe),
  }));
}

/**
 * Apple's ladder for a source shown at `display`: each rung's height with the source's aspect ratio
 * (even sizes), none taller than the source or `maxHeight`, none outside minKbps–maxKbps; a source
 * shorter than the lowest rung gets one rung at its own size.
 */
export function fixedRungs(codec: Codec, display: { width: number; height: number }, constraints: LadderConstraints = {}): PlannedRung[] {
  const aspect = display.width / display.height;
  const maxHeight = Math.min(display.height, constraints.maxHeight ?? Infinity);
  const inWindow = (kbps: number) => kbps >= (constraints.minKbps ?? 0) && kbps <= (constraints.maxKbps ?? Infinity);
  let rungs = APPLE_LADDER.filter((r) => r.height <= maxHeight && inWindow(r.kbps)).map((r) => ({ height: r.height, kbps: r.kbps }));
  if (!rungs.length) {
    // Smaller than the ladder's lowest rung: one rung at the source's size, its bitrate scaled by area.
    const low = APPLE_LADDER[0]!;
    rungs = [{ height: even(maxHeight), kbps: Math.max(32, Math.round((low.kbps * (maxHeight * maxHeight * aspect)) / (low.width * low.height))) }];
  }
  if (constraints.rungs !== undefined) rungs = rungs.slice(-constraints.rungs);
  return rungs.map(({ height, kbps }) => {
    const h = even(height);
    const w = even(h * aspect);
    const maxrateKbps = Math.round(kbps * PEAK_RATIO);
    return {
      id: rungId(codec, h, kbps),
      codec,
      width: w,
      height: h,
      kbps,
      recipe: packagedRecipe({
        codec,
        resolution: { width: w, height: h },
        rateControl: { mode: 'bitrate', targetKbps: kbps, maxrateKbps, bufsizeKbps: maxrateKbps * PACKAGING_DEFAULTS.gopSeconds },
        ...FIXED_SPEED[codec],
      }),
    };
  });
}
