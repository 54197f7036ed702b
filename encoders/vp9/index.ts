/**
 * VP9 through libvpx-vp9 (libvpx 1.12). The VP9 profile follows from the
 * pixel format exactly (0: 8-bit 4:2:0, 1: 8-bit 4:2:2/4:4:4, 2: 10-bit
 * 4:2:0, 3: 10-bit 4:2:2/4:4:4); libvpx fails on any other pairing, so the
 * table refuses it first. VP9 keyframes always reset every reference, so
 * GOPs are closed whatever `gop.closed` says. libvpx only warns on an
 * unknown level, so levels are checked here.
 */
import type { PixelFormat, Recipe } from '../../schemas/ves.js';
import { bitrateArgs, type EncoderHead, gopFrames, headArgs, kbps, names, num, resolvePixelFormat, rateControlOf } from '../common.js';
import { prober, versionFrom } from '../probe.js';
import type { ChunkEncodeSpec, EncoderModule } from '../types.js';

const PROFILE_FORMATS: Readonly<Record<string, readonly PixelFormat[]>> = {
  '0': ['yuv420p'],
  '1': ['yuv444p', 'yuv422p'],
  '2': ['yuv420p10le'],
  '3': ['yuv444p10le', 'yuv422p10le'],
};
/** Levels: the ones libvpx's VP9E_SET_TARGET_LEVEL accepts (no 1b, 1.2, 1.3, 2.2, 3.2, 4.2). */
const HEAD: EncoderHead = {
  codec: 'vp9',
  encoder: 'libvpx-vp9',
  profiles: names(Object.keys(PROFILE_FORMATS)),
  levels: names(['1', '1.1', '2', '2.1', '3', '3.1', '4', '4.1', '5', '5.1', '5.2', '6', '6.1', '6.2']),
};
/** A middle cpu-used: libvpx's default (1) is several times slower for little gain. */
const DEFAULT_SPEED = 4;

/** log2 of tile columns: one column per 256 px of width (libvpx's minimum tile width), at most 2^6. */
export function vp9TileColumns(width: number): number {
  return Math.max(0, Math.min(6, Math.floor(Math.log2(width / 256))));
}

/** The pixel format this recipe encodes to; throws BAD_REQUEST when it does not match the VP9 profile. */
function pixelFormatFor(recipe: Recipe): PixelFormat {
  return resolvePixelFormat('vp9', recipe, PROFILE_FORMATS);
}

/** libvpx-vp9 output arguments for one chunk; throws BAD_REQUEST (see EncoderModule.videoArgs). */
function videoArgs(spec: ChunkEncodeSpec): string[] {
  const r = spec.recipe;
  const args = headArgs(spec, pixelFormatFor(r), HEAD);
  const rc = rateControlOf(r);
  // -b:v 0 makes -crf constant quality; a capped CRF is libvpx's constrained quality (-b:v = the cap).
  const crfArgs = (c: Extract<typeof rc, { mode: 'crf' }>) => ['-crf', num('crf', Math.round(c.value), { max: 63, integer: true }), '-b:v', c.maxrateKbps === undefined ? '0' : kbps('maxrateKbps', c.maxrateKbps)];
  args.push(...(rc.mode === 'crf' ? crfArgs(rc) : bitrateArgs(rc, true)));
  const g = String(gopFrames(spec));
  args.push('-g', g);
  // kf_min_dist == kf_max_dist: fixed keyframe placement, no scene-cut keyframes.
  if (r.gop?.sceneCutKeyframes === false) args.push('-keyint_min', g);
  args.push('-deadline', 'good', '-cpu-used', num('speed', r.speed ?? DEFAULT_SPEED, { max: 8, integer: true }));
  args.push('-row-mt', '1', '-tile-columns', String(vp9TileColumns(spec.width)));
  args.push('-threads', num('threads', spec.threads, { min: 1, max: 256, integer: true }));
  return args;
}

export const vp9: EncoderModule = {
  codec: 'vp9',
  encoder: 'libvpx-vp9',
  /** See EncoderModule.probe; libvpx logs its version at ffmpeg's verbose level. Never throws. */
  probe: prober('libvpx-vp9', {
    logLevel: 'verbose',
    outputArgs: ['-deadline', 'realtime', '-cpu-used', '8', '-f', 'ivf'],
    version: versionFrom(/\[libvpx-vp9 @ [^\]]*\] (v\d+\.\d+\.\d+\S*)/, (m) => `libvpx ${m[1]}`),
  }),
  videoArgs,
  rawFormat: { format: 'ivf', extension: 'ivf' },
  // A forced VP9 keyframe is always a clean entry point.
  forcedKeyframeArgs: [],
  defaultPixelFormat: 'yuv420p',
  pixelFormatFor,
};
