/**
 * HEVC through libx265. x265 ignores ffmpeg's -threads, so threads go in
 * -x265-params as a pool size (pools=N; x265 derives frame threads from it).
 * Like x264, x265 profiles are upper bounds, except that a 10-bit input
 * under "main" is refused: the profile table says which formats fit.
 * x265 opens GOPs by default; closed is set explicitly.
 */
import { X26X_PRESETS, type PixelFormat, type Recipe } from '../../schemas/ves.js';
import { bitrateArgs, crfCapArgs, type EncoderHead, gopFrames, headArgs, names, num, pick, resolvePixelFormat, rateControlOf } from '../common.js';
import { prober, versionFrom } from '../probe.js';
import type { ChunkEncodeSpec, EncoderModule } from '../types.js';

/** Formats each profile can carry (checked against this x265 3.5 build); the first is the profile's natural one. */
const PROFILE_FORMATS: Readonly<Record<string, readonly PixelFormat[]>> = {
  main: ['yuv420p'],
  main10: ['yuv420p10le', 'yuv420p'],
  'main422-10': ['yuv422p10le', 'yuv422p', 'yuv420p10le', 'yuv420p'],
  'main444-8': ['yuv444p', 'yuv422p', 'yuv420p'],
  'main444-10': ['yuv444p10le', 'yuv444p', 'yuv422p10le', 'yuv422p', 'yuv420p10le', 'yuv420p'],
};
/** The level goes in -x265-params (below), not -level:v. */
const HEAD: EncoderHead = { codec: 'hevc', encoder: 'libx265', profiles: names(Object.keys(PROFILE_FORMATS)) };
/** HEVC has no 1b, 1.x, 2.2, 3.2 or 4.2; x265 takes the decimal spelling for level-idc. */
const LEVEL_IDC = names(['1', '2', '2.1', '3', '3.1', '4', '4.1', '5', '5.1', '5.2', '6', '6.1', '6.2']);
const PRESETS = names(X26X_PRESETS);

/** The pixel format this recipe encodes to; throws BAD_REQUEST for a profile/format pair x265 refuses. */
function pixelFormatFor(recipe: Recipe): PixelFormat {
  return resolvePixelFormat('hevc', recipe, PROFILE_FORMATS);
}

/** libx265 output arguments for one chunk; throws BAD_REQUEST (see EncoderModule.videoArgs). */
function videoArgs(spec: ChunkEncodeSpec): string[] {
  const r = spec.recipe;
  const args = headArgs(spec, pixelFormatFor(r), HEAD);
  const rc = rateControlOf(r);
  args.push(...(rc.mode === 'crf' ? ['-crf', num('crf', rc.value, { max: 51 }), ...crfCapArgs(rc)] : bitrateArgs(rc, false)));
  args.push('-preset', pick(PRESETS, r.preset ?? 'medium', 'x265 preset'));

  // Built from numbers and fixed words only: no recipe text reaches x265's own parser.
  const params = ['log-level=error', `keyint=${gopFrames(spec)}`];
  if (r.gop?.sceneCutKeyframes === false) params.push('scenecut=0');
  params.push(`open-gop=${r.gop?.closed === false ? 1 : 0}`);
  if (r.level !== undefined) params.push(`level-idc=${pick(LEVEL_IDC, r.level, 'hevc level')}`);
  params.push(`pools=${num('threads', spec.threads, { min: 1, max: 256, integer: true })}`);
  args.push('-x265-params', params.join(':'));
  return args;
}

export const hevc: EncoderModule = {
  codec: 'hevc',
  encoder: 'libx265',
  /** See EncoderModule.probe; the version comes from x265's SEI in a one-frame raw stream. Never throws. */
  probe: prober('libx265', {
    logLevel: 'error',
    outputArgs: ['-preset', 'ultrafast', '-x265-params', 'log-level=error:pools=1', '-f', 'hevc'],
    version: versionFrom(/x265 \(build (\d+)\) - ([^\s:]+)/, (m) => `x265 ${m[2]} (build ${m[1]})`),
  }),
  videoArgs,
  rawFormat: { format: 'hevc', extension: 'hevc', bitstreamFilter: 'hevc_mp4toannexb' },
  mp4Tag: 'hvc1',
  // Forced keyframes are IDRs (the wrapper's default is a non-IDR I frame).
  forcedKeyframeArgs: ['-forced-idr', '1'],
  defaultPixelFormat: 'yuv420p',
  pixelFormatFor,
};
