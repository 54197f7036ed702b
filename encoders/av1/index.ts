/**
 * AV1 through libsvtav1 (SVT-AV1 1.4.1 under ffmpeg 5.1). What this version
 * does, checked by hand:
 * - `-svtav1-params lp=N` caps the logical processors used (lp=1 → "logical
 *   cores available: 1"); ffmpeg's -threads is not passed on.
 * - 4:2:0 only (8 and 10 bit); profile "high" needs 4:4:4 and fails.
 * - Levels are 10× integers (-level 31 = 3.1; "-level 4" is refused).
 * - SVT never puts keyframes at scene cuts ("scd" only tunes mode decision),
 *   so keyframes are always every -g frames; sceneCutKeyframes changes nothing.
 * - irefresh-type=2 is a closed key frame, 1 an open (forward) one, which
 *   Matroska does not flag as key.
 * - Bitrate mode is VBR: maxrate/bufsize are not enforced (CBR needs
 *   low-delay prediction), and maxrate == target makes ffmpeg ask for CBR,
 *   which fails — so they are not passed.
 * - ffmpeg 5.1 reads -crf 0 as "unset" and encodes at CRF 35.
 * - Width and height must be at least 64.
 */
import type { PixelFormat, Recipe } from '../../schemas/ves.js';
import { bad, type EncoderHead, gopFrames, headArgs, kbps, num, resolvePixelFormat, rateControlOf } from '../common.js';
import { prober, versionFrom } from '../probe.js';
import type { ChunkEncodeSpec, EncoderModule } from '../types.js';

const SUPPORTED: readonly PixelFormat[] = ['yuv420p', 'yuv420p10le'];
const PROFILE_FORMATS: Readonly<Record<string, readonly PixelFormat[]>> = { main: SUPPORTED };
/** A middle preset: fast enough for chunked VOD, well above the real-time presets' quality. */
const DEFAULT_SPEED = 8;
const MIN_SIZE = 64;
const HEAD: EncoderHead = {
  codec: 'av1',
  encoder: 'libsvtav1',
  profiles: { main: 'main' },
  /** AV1 levels start at 2.0; SVT wants seq_level 10× as an integer. */
  levels: Object.fromEntries(
    ['2', '2.1', '2.2', '3', '3.1', '3.2', '4', '4.1', '4.2', '5', '5.1', '5.2', '6', '6.1', '6.2'].map((l) => [l, String(Math.round(Number(l) * 10))]),
  ),
  check: (spec) => {
    if (spec.width < MIN_SIZE || spec.height < MIN_SIZE) bad(`SVT-AV1 needs at least ${MIN_SIZE}x${MIN_SIZE}, got ${spec.width}x${spec.height}`);
  },
};

/** The pixel format this recipe encodes to; throws BAD_REQUEST for a profile or format SVT-AV1 cannot encode. */
function pixelFormatFor(recipe: Recipe): PixelFormat {
  if (recipe.profile === 'high' || recipe.profile === 'professional') {
    bad(`SVT-AV1 encodes 4:2:0 only, so profile ${recipe.profile} (4:4:4 / 4:2:2 or 12-bit) is not available; use main`);
  }
  return resolvePixelFormat('av1', recipe, PROFILE_FORMATS, SUPPORTED);
}

/** libsvtav1 output arguments for one chunk; throws BAD_REQUEST (see EncoderModule.videoArgs). */
function videoArgs(spec: ChunkEncodeSpec): string[] {
  const r = spec.recipe;
  const args = headArgs(spec, pixelFormatFor(r), HEAD);
  const rc = rateControlOf(r);
  if (rc.mode === 'crf') {
    const crf = Math.round(rc.value);
    if (crf < 1) bad('SVT-AV1 under ffmpeg 5.1 reads CRF 0 as unset (it would encode at 35); use 1–63');
    if (rc.maxrateKbps !== undefined || rc.bufsizeKbps !== undefined) bad('SVT-AV1 under ffmpeg 5.1 cannot cap a CRF encode (no maxrate in CRF mode); use bitrate mode');
    args.push('-crf', num('crf', crf, { min: 1, max: 63, integer: true }));
  } else {
    args.push('-b:v', kbps('targetKbps', rc.targetKbps));
  }
  args.push('-preset', num('speed', r.speed ?? DEFAULT_SPEED, { max: 13, integer: true }));
  args.push('-g', String(gopFrames(spec)));
  const threads = num('threads', spec.threads, { min: 1, max: 256, integer: true });
  args.push('-svtav1-params', `irefresh-type=${r.gop?.closed === false ? 1 : 2}:lp=${threads}`);
  return args;
}

export const av1: EncoderModule = {
  codec: 'av1',
  encoder: 'libsvtav1',
  /** See EncoderModule.probe; SVT-AV1 prints its version through its own logger. Never throws. */
  probe: prober('libsvtav1', {
    logLevel: 'error',
    outputArgs: ['-preset', '12', '-svtav1-params', 'lp=1', '-f', 'ivf'],
    version: versionFrom(/SVT-AV1 Encoder Lib (v\d+\.\d+\.\d+\S*)/, (m) => `SVT-AV1 ${m[1]}`),
  }),
  videoArgs,
  rawFormat: { format: 'ivf', extension: 'ivf' },
  // ffmpeg 5.1's libsvtav1 wrapper ignores forced keyframes: no warm-up before chunks.
  forcedKeyframeArgs: null,
  defaultPixelFormat: 'yuv420p',
  pixelFormatFor,
};
