/**
 * A rung as a VES recipe. Every rung of a ladder shares the GOP structure,
 * so a player can switch between them at any segment boundary: an IDR every
 * 2 s exactly (no scene-cut keyframes, which would fall differently per
 * rung), closed GOPs, and chunks of whole GOPs (VES then plans the same
 * chunk boundaries for every rung, all on the 2 s grid).
 */
import { CRF_MAX, type DeliveryCodec as Codec, type Recipe } from '../../../schemas/ves.js';

export const GOP_SECONDS = 2;
/** Two GOPs a chunk: VES splits on whole output GOPs when the target is at least one. */
export const CHUNK_SECONDS = 2 * GOP_SECONDS;

/**
 * Peak cap: maxrate 1.5 × the predicted average. Apple's HLS authoring spec allows VOD peaks up to
 * 200 % of the average; 1.5 × leaves room for the prediction's own error (a rung can come out some
 * 20 % over its predicted rate) while still bounding the peaks a CRF encode makes on hard scenes.
 * The buffer is 2 × maxrate: one GOP (2 s) at the peak rate.
 */
export const VBV_PEAK_RATIO = 1.5;
export const VBV_BUFFER_SECONDS = GOP_SECONDS;

/** The CRF values an encoder takes: x264/x265 fractional (0.1 steps here), libvpx-vp9 and SVT-AV1 whole numbers (SVT-AV1 from 1). */
export interface CrfGrid {
  step: number;
  min: number;
  max: number;
}

export const CRF_GRID: Readonly<Record<Codec, CrfGrid>> = {
  h264: { step: 0.1, min: 0, max: CRF_MAX.h264 },
  hevc: { step: 0.1, min: 0, max: CRF_MAX.hevc },
  vp9: { step: 1, min: 0, max: CRF_MAX.vp9 },
  av1: { step: 1, min: 1, max: CRF_MAX.av1 },
};

/** The encoder settings CAS's trial encodes used, so a rung's CRF gives what CAS measured. */
export interface EncoderSettings {
  preset?: Recipe['preset'];
  speed?: number;
}

export function vbvFor(kbps: number): { maxrateKbps: number; bufsizeKbps: number } {
  const maxrateKbps = Math.max(16, Math.round(kbps * VBV_PEAK_RATIO));
  return { maxrateKbps, bufsizeKbps: maxrateKbps * VBV_BUFFER_SECONDS };
}

/**
 * The VES recipe of a rung at this size and CRF, capped by `vbv` (a capped CRF; SVT-AV1 under ffmpeg 5.1
 * cannot cap CRF, so AV1 rungs carry the VBV only beside the recipe).
 */
export function rungRecipe(codec: Codec, width: number, height: number, crf: number, encoder: EncoderSettings = {}, vbv?: { maxrateKbps: number; bufsizeKbps: number }): Recipe {
  return {
    codec,
    resolution: { width, height },
    rateControl: { mode: 'crf', value: crf, ...(vbv && codec !== 'av1' ? vbv : {}) },
    gop: { lengthSeconds: GOP_SECONDS, closed: true, sceneCutKeyframes: false },
    chunking: { targetSeconds: CHUNK_SECONDS },
    ...(encoder.preset !== undefined ? { preset: encoder.preset } : {}),
    ...(encoder.speed !== undefined ? { speed: encoder.speed } : {}),
  };
}
