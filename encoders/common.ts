/**
 * Helpers every encoder module shares. Everything that reaches ffmpeg goes
 * through `num` (a checked number) or `pick` (a lookup in a fixed table),
 * so a recipe that slipped past validation still cannot inject free text.
 */
import { ErrorCodes, VpipeError } from '../runtime/core/mod.js';
import { PIXEL_FORMATS, type PixelFormat, type RateControl, type Recipe } from '../schemas/ves.js';
import type { ChunkEncodeSpec } from './types.js';

/** Throws BAD_REQUEST with `message`; never returns. */
export function bad(message: string): never {
  throw new VpipeError(ErrorCodes.BadRequest, message);
}

/** A finite number in [min, max] as ffmpeg text (integers when `integer`); throws BAD_REQUEST otherwise. */
export function num(name: string, n: unknown, opts: { min?: number; max: number; integer?: boolean }): string {
  const min = opts.min ?? 0;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > opts.max || (opts.integer && !Number.isInteger(n))) {
    bad(`${name} must be ${opts.integer ? 'an integer' : 'a number'} in ${min}–${opts.max}, got ${String(n)}`);
  }
  // Two decimals are more than any encoder resolves, and keep exponents (1e-7) out of the text.
  return String(Math.round(n * 100) / 100);
}

/** The table's value for `key` (own properties only, so '__proto__' finds nothing); throws BAD_REQUEST naming `what` when absent. */
export function pick<V>(table: Readonly<Record<string, V>>, key: unknown, what: string): V {
  if (typeof key === 'string' && Object.hasOwn(table, key)) return table[key] as V;
  return bad(`${what} ${JSON.stringify(key)} is not supported (one of: ${Object.keys(table).join(', ')})`);
}

/** A `pick` table whose values are its keys: the recipe spells the value as the encoder does. */
export function names<K extends string>(keys: readonly K[]): Readonly<Record<string, K>> {
  return Object.fromEntries(keys.map((k) => [k, k]));
}

/** Checks the spec's sizes, threads and frame rate are sane integers, and even sizes for 4:2:0; throws BAD_REQUEST. */
export function checkSpec(spec: ChunkEncodeSpec, pixelFormat: PixelFormat): void {
  for (const key of ['width', 'height', 'sourceWidth', 'sourceHeight'] as const) num(key, spec[key], { min: 1, max: 16384, integer: true });
  num('threads', spec.threads, { min: 1, max: 256, integer: true });
  num('frameRate.num', spec.frameRate.num, { max: 1_000_000_000, integer: true });
  num('frameRate.den', spec.frameRate.den, { min: 1, max: 1_000_000_000, integer: true });
  if (pixelFormat.startsWith('yuv420') && (spec.width % 2 || spec.height % 2)) bad(`4:2:0 output needs even width and height, got ${spec.width}x${spec.height}`);
}

const DEFAULT_GOP_SECONDS = 2;

/** Longest allowed keyframe distance in frames: lengthFrames, lengthSeconds × rate (the smaller when both), else 2 s; throws BAD_REQUEST when seconds are needed and the rate is unknown (0). */
export function gopFrames(spec: ChunkEncodeSpec): number {
  const gop = spec.recipe.gop;
  const { num: n, den } = spec.frameRate;
  const fromSeconds = (s: number): number => {
    if (!(n > 0 && den > 0)) bad('GOP length in seconds needs a known frame rate (got 0)');
    return Math.max(1, Math.round((s * n) / den));
  };
  if (gop?.lengthFrames !== undefined && gop.lengthSeconds !== undefined) return Math.min(gop.lengthFrames, fromSeconds(gop.lengthSeconds));
  if (gop?.lengthFrames !== undefined) return gop.lengthFrames;
  return fromSeconds(gop?.lengthSeconds ?? DEFAULT_GOP_SECONDS);
}

/** Recipe scaler → swscale flag. */
const SCALER_FLAGS: Readonly<Record<string, string>> = {
  bicubic: 'bicubic',
  bilinear: 'bilinear',
  lanczos: 'lanczos',
  spline: 'spline',
  area: 'area',
  neighbor: 'neighbor',
};

/**
 * `-vf scale=W:H:flags=F,format=P` when the output size differs from the source, else nothing (ffmpeg
 * converts the format for -pix_fmt); `setsar=1` after it for a recipe that asks for square pixels.
 * Throws BAD_REQUEST for an unknown scaler.
 */
export function scaleArgs(spec: ChunkEncodeSpec, pixelFormat: PixelFormat): string[] {
  const square = spec.recipe.squarePixels === true ? ['setsar=1'] : [];
  if (spec.width === spec.sourceWidth && spec.height === spec.sourceHeight) return square.length ? ['-vf', square.join(',')] : [];
  const flags = pick(SCALER_FLAGS, spec.recipe.scaler ?? 'bicubic', 'scaler');
  const fmt = pick(PIXEL_FORMAT_TABLE, pixelFormat, 'pixel format');
  const w = num('width', spec.width, { min: 1, max: 16384, integer: true });
  const h = num('height', spec.height, { min: 1, max: 16384, integer: true });
  // format= inside the chain: the chroma conversion uses the recipe's scaler too.
  return ['-vf', [`scale=${w}:${h}:flags=${flags}`, `format=${fmt}`, ...square].join(',')];
}

const PIXEL_FORMAT_TABLE: Readonly<Record<string, PixelFormat>> = names(PIXEL_FORMATS);

/**
 * Pixel format for a recipe given a per-profile table of allowed formats
 * (first = the lowest format that makes the encoder signal that profile;
 * x264/x265 profiles are upper bounds, so "high10" with 8-bit input would
 * silently come out as High). Throws BAD_REQUEST for an unknown profile or
 * format, or a pair the encoder refuses.
 */
export function resolvePixelFormat(
  codec: string,
  recipe: Recipe,
  allowed: Readonly<Record<string, readonly PixelFormat[]>>,
  supported: readonly PixelFormat[] = PIXEL_FORMATS,
): PixelFormat {
  const formats = recipe.profile === undefined ? undefined : pick(allowed, recipe.profile, `${codec} profile`);
  if (recipe.pixelFormat === undefined) return formats?.[0] ?? 'yuv420p';
  const fmt = pick(PIXEL_FORMAT_TABLE, recipe.pixelFormat, 'pixel format');
  if (!supported.includes(fmt)) bad(`${codec} cannot encode ${fmt} (one of: ${supported.join(', ')})`);
  if (formats && !formats.includes(fmt)) bad(`${codec} profile ${recipe.profile} cannot carry ${fmt} (one of: ${formats.join(', ')})`);
  return fmt;
}

/** How an encoder module's arguments begin: see {@link headArgs}. */
export interface EncoderHead {
  /** The codec, as error messages name it (`h264 profile`). */
  codec: string;
  /** The ffmpeg encoder (`-c:v`). */
  encoder: string;
  /** Recipe profile → `-profile:v` value. */
  profiles: Readonly<Record<string, string>>;
  /** Recipe level → `-level:v` value; left out where the level goes elsewhere (x265 takes it in its params). */
  levels?: Readonly<Record<string, string>>;
  /** The encoder's own limits on the spec, checked after `checkSpec` and before anything else. */
  check?: (spec: ChunkEncodeSpec) => void;
}

/**
 * What every videoArgs starts with: the spec checked (`checkSpec`, then the encoder's `check`), the
 * scaling, `-c:v`, `-profile:v` and `-level:v` when the recipe asks, and `-pix_fmt`. Throws BAD_REQUEST.
 */
export function headArgs(spec: ChunkEncodeSpec, pixelFormat: PixelFormat, head: EncoderHead): string[] {
  checkSpec(spec, pixelFormat);
  head.check?.(spec);
  const r = spec.recipe;
  const args = [...scaleArgs(spec, pixelFormat), '-c:v', head.encoder];
  if (r.profile !== undefined) args.push('-profile:v', pick(head.profiles, r.profile, `${head.codec} profile`));
  if (r.level !== undefined && head.levels) args.push('-level:v', pick(head.levels, r.level, `${head.codec} level`));
  args.push('-pix_fmt', pixelFormat);
  return args;
}

/** The recipe's rate control; throws BAD_REQUEST when a delivery codec's recipe has none (the schema requires it). */
export function rateControlOf(recipe: Recipe): RateControl {
  if (!recipe.rateControl) bad(`${recipe.codec} needs rateControl (crf or bitrate)`);
  return recipe.rateControl;
}

/** `${n}k` for a kbps value; throws BAD_REQUEST outside the schema's range. */
export function kbps(name: string, n: unknown): string {
  return `${num(name, n, { min: 1, max: 2_000_000, integer: true })}k`;
}

/** -maxrate/-bufsize of a capped CRF (x264/x265 VBV: a maxrate needs a buffer, 2 × maxrate by default); none when uncapped. */
export function crfCapArgs(rc: Extract<RateControl, { mode: 'crf' }>): string[] {
  if (rc.maxrateKbps === undefined) {
    if (rc.bufsizeKbps !== undefined) throw new VpipeError(ErrorCodes.BadRequest, 'recipe.rateControl.bufsizeKbps needs maxrateKbps');
    return [];
  }
  return ['-maxrate', kbps('maxrateKbps', rc.maxrateKbps), '-bufsize', kbps('bufsizeKbps', rc.bufsizeKbps ?? 2 * rc.maxrateKbps)];
}

/**
 * -b:v/-maxrate/-bufsize for bitrate mode (x264, x265, vp9). A maxrate with
 * no bufsize gets 2 × maxrate: x264/x265 ignore a VBV maxrate without one.
 * A bufsize with no maxrate is dropped unless `bufsizeAlone` (libvpx uses it
 * on its own; x264/x265 would only warn). Throws BAD_REQUEST on bad numbers.
 */
export function bitrateArgs(rc: Extract<RateControl, { mode: 'bitrate' }>, bufsizeAlone: boolean): string[] {
  const args = ['-b:v', kbps('targetKbps', rc.targetKbps)];
  if (rc.maxrateKbps !== undefined) {
    args.push('-maxrate', kbps('maxrateKbps', rc.maxrateKbps));
    args.push('-bufsize', kbps('bufsizeKbps', rc.bufsizeKbps ?? 2 * rc.maxrateKbps));
  } else if (rc.bufsizeKbps !== undefined && bufsizeAlone) {
    args.push('-bufsize', kbps('bufsizeKbps', rc.bufsizeKbps));
  }
  return args;
}
