/**
 * The keyed luma pattern of one segment variant, and the keys behind it.
 *
 * Design: a coarse grid of pseudo-random ±1 node values, keyed by HMAC-SHA256 of the title seed,
 * the segment and the variant (AES-256-CTR keystream, one bit a node), interpolated with a raised
 * cosine between nodes into a smooth field in [-1, 1], scaled by the strength (8-bit luma codes)
 * and rounded to whole codes. The node spacing is a fixed fraction of the picture
 * (min(width, height) / GRID_DIVISIONS, at least MIN_CELL_PX), so the pattern is the same picture at
 * every size, about 29×17 nodes in 16:9 whatever the resolution (23 px apart at 360p, 68 px at
 * 1080p), and a leak scaled to any size still lines up with it. That spacing keeps the pattern in
 * the lowest frequencies an encoder codes (block DC terms), what survives a low-bitrate re-encode
 * and downscaling; finer grids gave more nodes but lost more to the re-encode's dead zone.
 * Variants 0 and 1 are independent keyed grids; the detector tests the residual against
 * pattern1 − pattern0 and learns each segment's bit from the sign.
 *
 * Strength: DEFAULT_STRENGTH 1.5 puts the rounded pattern in −2..2 codes (±2 only near nodes,
 * RMS 1.14; 47.0 dB luma PSNR on its own). Measured at 640x360 with 48 segments of 6 frames,
 * libx264 CRF 18 veryfast, marked against unmarked encode, then CRF 30 + half size (codeword
 * statistic, detection threshold 9):
 *
 *   footage            PSNR 1.5  statistic 1.5   PSNR 1.6  statistic 1.6
 *   example-movie.mp4  47.9 dB   30              46.5 dB   43
 *   vtest.avi          45.1 dB   22              44.3 dB   32
 *   Megamind.avi       45.4 dB   33              44.6 dB   43
 *   balle-jbart.mp4    46.5 dB   21              45.5 dB   27
 *
 * On busy footage the two CRF 18 encodes already differ by encoder decisions (≈ 47 dB with a
 * barely-there mark), which is why 1.5 and not more is the default. The re-encode's dead zone
 * removes ±1 changes far more than ±2 ones, so robustness grows faster than the strength.
 * Not survived at 1.6 (example-movie): CRF 35 at half size, CRF 40, quarter size.
 *
 * The pattern reaches ffmpeg as one raw gray16le frame (value 32768 + 256·p, tagged limited range),
 * added to luma only by `blend` in grainmerge mode (A + B − half) with chroma copied from the
 * first input: zero is exact in every 8- and 10-bit YUV format (swscale's gray16 → 8-bit is a
 * shift of a multiple of 256, → 10-bit of a multiple of 64, so 10-bit luma gets 4·p; an untagged
 * gray input would be read as full range and shift the zero point by two codes).
 */
import { createCipheriv, createHmac } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { inputArgs } from '../../runtime/media/mod.js';

/** Default amplitude, in 8-bit luma codes, of the field's peaks (rounded, the pattern stays within ±⌈strength⌉). */
export const DEFAULT_STRENGTH = 1.5;
/** Largest strength accepted: beyond this the mark is no longer meant to be invisible. */
export const MAX_STRENGTH = 8;
/** Node spacing = min(width, height) / GRID_DIVISIONS. */
export const GRID_DIVISIONS = 16;
export const MIN_CELL_PX = 8;
/** Smallest picture a mark is made for. */
export const MIN_MARK_PX = 64;
const MAX_MARK_PX = 8192;

const DOMAIN = 'vpipe-forensic/v1';

/** The title seed as key bytes; throws BAD_REQUEST unless it is hex of at least 32 digits (128 bits). */
export function titleKey(titleSeed: string): Buffer {
  if (typeof titleSeed !== 'string' || !/^(?:[0-9a-fA-F]{2}){16,}$/.test(titleSeed)) {
    throw new VpipeError(ErrorCodes.BadRequest, 'forensic titleSeed must be an even number (at least 32) of hex digits');
  }
  return Buffer.from(titleSeed, 'hex');
}

function checkSegment(segment: number): void {
  if (!Number.isSafeInteger(segment) || segment < 0) throw new VpipeError(ErrorCodes.BadRequest, `forensic segment must be a non-negative integer, got ${segment}`);
}

function checkVariant(variant: number): asserts variant is 0 | 1 {
  if (variant !== 0 && variant !== 1) throw new VpipeError(ErrorCodes.BadRequest, `forensic variant must be 0 or 1, got ${String(variant)}`);
}

/** HMAC-SHA256(title key, domain/segment/variant): the 32-byte key of one segment variant's pattern. */
export function segmentSeed(titleSeed: string, segment: number, variant: 0 | 1): Buffer {
  checkSegment(segment);
  checkVariant(variant);
  return createHmac('sha256', titleKey(titleSeed)).update(`${DOMAIN}/segment/${segment}/variant/${variant}`).digest();
}

/**
 * A recipient's 24-bit payload: the first 3 bytes of HMAC-SHA256(title key, recipient NUL salt).
 * A registry that finds two recipients of a title on one payload bumps the later one's salt.
 */
export function payloadFor(recipient: string, titleSeed: string, salt = 0): number {
  if (typeof recipient !== 'string' || recipient === '') throw new VpipeError(ErrorCodes.BadRequest, 'forensic recipient must be a non-empty string');
  if (!Number.isSafeInteger(salt) || salt < 0) throw new VpipeError(ErrorCodes.BadRequest, `forensic salt must be a non-negative integer, got ${salt}`);
  return createHmac('sha256', titleKey(titleSeed)).update(`${recipient}\0${salt}`).digest().readUIntBE(0, 3);
}

/** The node grid of a mark size: spacing in mark pixels and node counts (nodes at multiples of the spacing). */
export interface Grid {
  cell: number;
  cols: number;
  rows: number;
}

export function checkSize(width: number, height: number, what = 'mark'): void {
  const ok = (v: number): boolean => Number.isInteger(v) && v >= MIN_MARK_PX && v <= MAX_MARK_PX;
  if (!ok(width) || !ok(height)) throw new VpipeError(ErrorCodes.BadRequest, `forensic ${what} size must be integers in ${MIN_MARK_PX}..${MAX_MARK_PX}, got ${width}x${height}`);
}

export function gridFor(width: number, height: number): Grid {
  checkSize(width, height);
  const cell = Math.max(MIN_CELL_PX, Math.round(Math.min(width, height) / GRID_DIVISIONS));
  return { cell, cols: Math.floor((width - 1) / cell) + 2, rows: Math.floor((height - 1) / cell) + 2 };
}

/** The ±1 node values of one segment variant (row-major, grid.rows × grid.cols). */
export function nodeValues(titleSeed: string, segment: number, variant: 0 | 1, grid: Grid): Int8Array {
  const n = grid.rows * grid.cols;
  const cipher = createCipheriv('aes-256-ctr', segmentSeed(titleSeed, segment, variant), Buffer.alloc(16));
  const stream = Buffer.concat([cipher.update(Buffer.alloc(Math.ceil(n / 8))), cipher.final()]);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = (stream[i >> 3]! >> (i & 7)) & 1 ? 1 : -1;
  return out;
}

/**
 * Sampling of the field on a picture of outW × outH pixels showing the mark's width × height: per
 * output column (and row) the lower node index and the raised-cosine weights of it and the next.
 * Pixel centres map as a scaler maps them (x_mark = (x + 0.5)·width/outW − 0.5).
 */
export interface Sampling {
  outW: number;
  outH: number;
  grid: Grid;
  col0: Int32Array;
  colW: Float64Array;
  row0: Int32Array;
  rowW: Float64Array;
}

function axis(out: number, mark: number, cell: number, nodes: number): [Int32Array, Float64Array] {
  const i0 = new Int32Array(out);
  const w1 = new Float64Array(out);
  for (let x = 0; x < out; x++) {
    const u = Math.min(Math.max(((x + 0.5) * mark) / out - 0.5, 0), (nodes - 1) * cell - 1e-9) / cell;
    const i = Math.floor(u);
    i0[x] = i;
    w1[x] = (1 - Math.cos(Math.PI * (u - i))) / 2;
  }
  return [i0, w1];
}

export function sampling(mark: { width: number; height: number }, outW: number, outH: number): Sampling {
  const grid = gridFor(mark.width, mark.height);
  const [col0, colW] = axis(outW, mark.width, grid.cell, grid.cols);
  const [row0, rowW] = axis(outH, mark.height, grid.cell, grid.rows);
  return { outW, outH, grid, col0, colW, row0, rowW };
}

/** The field (in [-1, 1]) of node values on the sampling's pixels, row-major. */
export function renderField(s: Sampling, nodes: ArrayLike<number>): Float64Array {
  const { outW, outH, grid } = s;
  const out = new Float64Array(outW * outH);
  const rowBuf = new Float64Array(grid.cols);
  for (let y = 0; y < outH; y++) {
    const j = s.row0[y]!;
    const b = s.rowW[y]!;
    for (let i = 0; i < grid.cols; i++) rowBuf[i] = (1 - b) * nodes[j * grid.cols + i]! + b * nodes[(j + 1) * grid.cols + i]!;
    for (let x = 0; x < outW; x++) {
      const i = s.col0[x]!;
      const a = s.colW[x]!;
      out[y * outW + x] = (1 - a) * rowBuf[i]! + a * rowBuf[i + 1]!;
    }
  }
  return out;
}

/** The adjoint of renderField: a picture's values gathered onto the nodes with the same weights (so ⟨picture, field(n)⟩ = ⟨project(picture), n⟩). */
export function projectOnNodes(s: Sampling, picture: ArrayLike<number>): Float64Array {
  const { outW, outH, grid } = s;
  const out = new Float64Array(grid.rows * grid.cols);
  const rowBuf = new Float64Array(grid.cols);
  for (let y = 0; y < outH; y++) {
    rowBuf.fill(0);
    for (let x = 0; x < outW; x++) {
      const v = picture[y * outW + x]!;
      const i = s.col0[x]!;
      const a = s.colW[x]!;
      rowBuf[i]! += (1 - a) * v;
      rowBuf[i + 1]! += a * v;
    }
    const j = s.row0[y]!;
    const b = s.rowW[y]!;
    for (let i = 0; i < grid.cols; i++) {
      out[j * grid.cols + i]! += (1 - b) * rowBuf[i]!;
      out[(j + 1) * grid.cols + i]! += b * rowBuf[i]!;
    }
  }
  return out;
}

export function checkStrength(strength: number): void {
  if (!Number.isFinite(strength) || strength < 0 || strength > MAX_STRENGTH) throw new VpipeError(ErrorCodes.BadRequest, `forensic strength must be in 0..${MAX_STRENGTH} luma codes, got ${strength}`);
}

/** The pattern as applied: whole 8-bit luma codes, row-major width × height. */
export function patternCodes(titleSeed: string, segment: number, variant: 0 | 1, width: number, height: number, strength = DEFAULT_STRENGTH): Int8Array {
  checkStrength(strength);
  const s = sampling({ width, height }, width, height);
  const field = renderField(s, nodeValues(titleSeed, segment, variant, s.grid));
  const out = new Int8Array(field.length);
  // Half away from zero, so the pattern of a variant and of its negation are mirror images (no bias).
  for (let i = 0; i < field.length; i++) out[i] = Math.sign(field[i]!) * Math.round(Math.abs(strength * field[i]!));
  return out;
}

export interface MarkOptions {
  /** Hex, at least 32 digits: the title's secret. */
  titleSeed: string;
  segment: number;
  variant: 0 | 1;
  /** The picture size where the mark is applied (after scaling to the output size). */
  width: number;
  height: number;
  /** Peak amplitude in 8-bit luma codes (default DEFAULT_STRENGTH); 0 leaves the picture unchanged. */
  strength?: number;
}

export interface MarkFilter {
  /** ffmpeg input arguments of the pattern, to be appended as input number `inputIndex`. */
  inputArgs: string[];
  /** The filter-graph fragment from `[inLabel]` to `[outLabel]` (labels without brackets); it also uses the label `<outLabel>_fpat`. */
  filter: (inLabel: string, outLabel: string) => string;
  /** Files written (the pattern frame). */
  files: string[];
  /** The fresh folder under workDir that holds them. */
  dir: string;
}

const LABEL = /^[A-Za-z0-9_]{1,64}$/;

/**
 * Writes the segment variant's pattern frame into a fresh folder under workDir and returns how to
 * add it to an ffmpeg graph: the fragment takes video of exactly width × height in any 8- or 10-bit
 * planar YUV format and gives the same format and size, luma plus the pattern, chroma untouched.
 * The single pattern frame lasts the whole segment (blend repeats the last frame of its second input).
 */
export async function markFilter(opts: MarkOptions, workDir: string, inputIndex: number): Promise<MarkFilter> {
  const strength = opts.strength ?? DEFAULT_STRENGTH;
  checkSize(opts.width, opts.height);
  if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex > 999) throw new VpipeError(ErrorCodes.BadRequest, `forensic inputIndex must be an integer in 0..999, got ${inputIndex}`);
  const codes = patternCodes(opts.titleSeed, opts.segment, opts.variant, opts.width, opts.height, strength);
  const frame = Buffer.alloc(codes.length * 2);
  for (let i = 0; i < codes.length; i++) frame.writeUInt16LE(32768 + 256 * codes[i]!, i * 2);
  const dir = await mkdtemp(path.join(workDir, 'forensic-'));
  const file = path.join(dir, `mark-${opts.segment}-${opts.variant}.gray16le`);
  await writeFile(file, frame);
  const size = `${opts.width}x${opts.height}`;
  return {
    inputArgs: ['-f', 'rawvideo', '-pixel_format', 'gray16le', '-color_range', 'tv', '-video_size', size, '-framerate', '1', ...inputArgs(file)],
    filter: (inLabel: string, outLabel: string): string => {
      if (!LABEL.test(inLabel) || !LABEL.test(outLabel)) throw new VpipeError(ErrorCodes.Internal, 'forensic filter labels must be 1-64 letters, digits or _');
      const pat = `${outLabel}_fpat`;
      // The pattern frame is moved far into the past, so it precedes every frame of the segment
      // (blend passes main frames older than its second input's first frame through unmarked), and
      // goes through its own scale (a format conversion only, same size), so that blend's common
      // format is the main input's and never the pattern's gray16le.
      return (
        `[${inputIndex}:v]setpts=PTS-1000000000/TB,scale=w=${opts.width}:h=${opts.height}:in_range=tv:out_range=tv[${pat}];` +
        `[${inLabel}][${pat}]blend=c0_mode=grainmerge:c1_mode=normal:c2_mode=normal:c3_mode=normal:repeatlast=1:eof_action=repeat[${outLabel}]`
      );
    },
    files: [file],
    dir,
  };
}
