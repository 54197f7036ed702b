/**
 * Synthetic CAS results for the LGS tests: per resolution, VMAF a logistic
 * of log bitrate whose ceiling and midpoint grow with the picture (small
 * sizes win at low rates, large ones at high rates, so curves cross), and
 * bitrate doubling every 6 CRF, as x264's roughly does.
 */
import type { QualityPoint } from '../../actors/lgs/compute/index.js';

export interface SyntheticResolution {
  width: number;
  height: number;
  /** Quality ceiling (upscaled small pictures never look sharp). */
  ceiling: number;
  /** Bitrate at half the ceiling. */
  midKbps: number;
}

export const SYNTHETIC_RESOLUTIONS: readonly SyntheticResolution[] = [
  { width: 416, height: 234, ceiling: 74, midKbps: 60 },
  { width: 640, height: 360, ceiling: 85, midKbps: 110 },
  { width: 960, height: 540, ceiling: 92, midKbps: 200 },
  { width: 1280, height: 720, ceiling: 96.5, midKbps: 330 },
  { width: 1920, height: 1080, ceiling: 99.5, midKbps: 600 },
];

export const SYNTHETIC_CRFS = [16, 20, 24, 28, 32, 36, 40, 44];

/** The model's quality at a bitrate. */
export function modelQuality(r: SyntheticResolution, kbps: number): number {
  return r.ceiling / (1 + Math.exp(-(Math.log(kbps) - Math.log(r.midKbps)) / 0.8));
}

/** The model's bitrate at a CRF: 8 × midKbps at CRF 23, halving every 6. */
export function modelKbps(r: SyntheticResolution, crf: number): number {
  return 8 * r.midKbps * 2 ** ((23 - crf) / 6);
}

/** CAS-like points: every resolution at every CRF (quality from the model, `scale` stretching every bitrate). */
export function syntheticPoints(resolutions: readonly SyntheticResolution[] = SYNTHETIC_RESOLUTIONS, crfs = SYNTHETIC_CRFS, scale = 1): QualityPoint[] {
  return resolutions.flatMap((r) =>
    crfs.map((crf) => {
      const kbps = modelKbps(r, crf);
      return { width: r.width, height: r.height, crf, kbps: kbps * scale, quality: modelQuality(r, kbps) };
    }),
  );
}
