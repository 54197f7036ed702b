/**
 * H.264 through libx264. x264 profiles are upper bounds (x264 signals the
 * lowest profile the stream needs: ultrafast + "high" comes out Constrained
 * Baseline), so 10-bit/4:2:2/4:4:4 profiles default to the format that
 * makes them real. Debian's libx264 (core 164) carries 8- and 10-bit in one
 * library: yuv420p10le + high10 gives a High 10 stream.
 */
import { LEVELS, X26X_PRESETS, type PixelFormat, type Recipe } from '../../schemas/ves.js';
import { bitrateArgs, crfCapArgs, type EncoderHead, gopFrames, headArgs, names, num, pick, resolvePixelFormat, rateControlOf } from '../common.js';
import { prober, versionFrom } from '../probe.js';
import type { ChunkEncodeSpec, EncoderModule } from '../types.js';

/** Formats each profile can carry; the first is the one that makes x264 signal it. */
const PROFILE_FORMATS: Readonly<Record<string, readonly PixelFormat[]>> = {
  baseline: ['yuv420p'],
  main: ['yuv420p'],
  high: ['yuv420p'],
  high10: ['yuv420p10le', 'yuv420p'],
  high422: ['yuv422p', 'yuv422p10le', 'yuv420p', 'yuv420p10le'],
  high444: ['yuv444p', 'yuv444p10le', 'yuv422p', 'yuv422p10le', 'yuv420p', 'yuv420p10le'],
};
/** Recipe spelling is x264's (1b included). */
const HEAD: EncoderHead = { codec: 'h264', encoder: 'libx264', profiles: names(Object.keys(PROFILE_FORMATS)), levels: names(LEVELS) };
const PRESETS = names(X26X_PRESETS);

/** The pixel format this recipe encodes to; throws BAD_REQUEST for a profile/format pair x264 refuses. */
function pixelFormatFor(recipe: Recipe): PixelFormat {
  return resolvePixelFormat('h264', recipe, PROFILE_FORMATS);
}

/** libx264 output arguments for one chunk; throws BAD_REQUEST (see EncoderModule.videoArgs). */
function videoArgs(spec: ChunkEncodeSpec): string[] {
  const r = spec.recipe;
  const args = headArgs(spec, pixelFormatFor(r), HEAD);
  const rc = rateControlOf(r);
  args.push(...(rc.mode === 'crf' ? ['-crf', num('crf', rc.value, { max: 51 }), ...crfCapArgs(rc)] : bitrateArgs(rc, false)));
  // -g caps the IDR distance; scene cuts can only add keyframes, never stretch a GOP.
  args.push('-g', String(gopFrames(spec)));
  if (r.gop?.sceneCutKeyframes === false) args.push('-sc_threshold', '0');
  // Explicit although closed is x264's default: the args alone then say what the stream is.
  args.push('-x264-params', r.gop?.closed === false ? 'open-gop=1' : 'open-gop=0');
  args.push('-preset', pick(PRESETS, r.preset ?? 'medium', 'x264 preset'));
  args.push('-threads', num('threads', spec.threads, { min: 1, max: 256, integer: true }));
  return args;
}

export const h264: EncoderModule = {
  codec: 'h264',
  encoder: 'libx264',
  /** See EncoderModule.probe; the version comes from x264's SEI in a one-frame raw stream. Never throws. */
  probe: prober('libx264', {
    logLevel: 'error',
    outputArgs: ['-preset', 'ultrafast', '-f', 'h264'],
    version: versionFrom(/x264 - core (\d+) r(\d+) ([0-9a-f]+)/, (m) => `x264 core ${m[1]} r${m[2]} ${m[3]}`),
  }),
  videoArgs,
  rawFormat: { format: 'h264', extension: 'h264', bitstreamFilter: 'h264_mp4toannexb' },
  // Forced keyframes are IDRs (the wrapper's default is a recovery-point I frame).
  forcedKeyframeArgs: ['-forced-idr', '1'],
  defaultPixelFormat: 'yuv420p',
  pixelFormatFor,
};
