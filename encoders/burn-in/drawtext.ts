/**
 * Burn-ins as ffmpeg `drawtext` filters: free text rows, source timecode and a frame counter,
 * stacked at one of nine anchors, built so that
 *
 * - **request text never enters the filter graph.** Each text row is written to a file we create
 *   (a fresh directory under the caller's work dir, names we choose) and drawn with
 *   `textfile=…:expansion=none`: drawtext reads the bytes as they are, so `:`, `'`, `\`, `%{…}`,
 *   `[out]` or `,drawbox=…` are only glyphs. Only our own values reach the graph (file paths,
 *   numbers, expressions, the timecode we compute), and those are escaped for both levels of
 *   ffmpeg's parsing anyway (see `escapeOptionValue`).
 * - **each chunk burns exactly its own frames' timecode.** drawtext's `timecode=` counts from the
 *   filter's first frame, so a chunk covering source frames [S, E) gets the label of frame S,
 *   computed by timecode.ts with the same drop-frame rules ffmpeg counts on with; the frame counter
 *   likewise gets `start_number=S`. The chain must therefore come after whatever trims the decode
 *   to the chunk (its first frame must be source frame S).
 *
 * Layout is glyph-independent on purpose: drawtext's own multi-line layout advances by the tallest
 * glyph of the text, so rows with different characters would land at different heights. Every row
 * (a newline in a text starts a new row) is its own drawtext at a fixed step, and the monospaced
 * default font keeps a changing timecode from jittering sideways.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { formatTimecode, frameToTimecode, parseTimecode, timecodeRate, type FrameRate } from './timecode.js';

export { ANCHORS, type Anchor } from '../../schemas/ves.js';
import { ANCHORS, type Anchor } from '../../schemas/ves.js';

/** Debian's fonts-dejavu-core; monospaced so timecode digits keep their places. */
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/** Longest text of one line, in characters (code points); longer is refused, not cut. */
export const MAX_TEXT_CHARS = 1000;
export const MAX_LINES = 16;
/** Rows after splitting texts at newlines, timecode and counter included: each is one drawtext. */
export const MAX_ROWS = 32;
export const MIN_FONT_PX = 6;
export const MAX_FONT_PX = 400;

export interface BurnIn {
  /** Free text, top to bottom (clip name, "CONFIDENTIAL – <recipient>"); a newline starts a new row. */
  lines?: { text: string }[];
  /** Source timecode: the label of source frame 0 and the source's frame rate. Drawn below the lines. */
  timecode?: { start: string; frameRate: FrameRate };
  /** The source frame number, drawn below the timecode. */
  frameCounter?: boolean;
  position: Anchor;
  /** Pixels, or a fraction of the frame height (then `frameHeight` is needed). */
  fontSize: { px: number } | { fractionOfHeight: number };
  /** Opacity of the black box behind each row, 0 (none) to 1. */
  boxOpacity: number;
  /** Opacity of the text itself, 0–1 (default 1; a text watermark is translucent). */
  textOpacity?: number;
  /** Absolute path of a TrueType/OpenType font; default DejaVu Sans Mono. Server configuration, not request input. */
  fontFile?: string;
}

export interface BurnInChunk {
  /** Source frame number of the chunk's first frame (0 for a whole-file encode). */
  startFrame: number;
  /** Height of the frames the chain draws on; needed for a relative font size. */
  frameHeight?: number;
}

export interface DrawtextChain {
  /** The drawtext filters joined with ',', for a -vf chain; null when there is nothing to draw. */
  filter: string | null;
  /** The text files the filters read: they must exist until ffmpeg has opened them (it reads them at start). */
  files: string[];
  /** The directory holding them (created here, under the work dir); remove it after the encode. Null when no file was needed. */
  dir: string | null;
}

/** Spacing derived from the font size, in pixels: the contract the tests (and a reviewer) can rely on. */
export interface BurnInLayout {
  fontSizePx: number;
  /** Box padding around the text (drawtext `boxborderw`). */
  padPx: number;
  /** Frame edge to box edge. */
  marginPx: number;
  /** Top of one row to the top of the next. */
  rowStepPx: number;
  /** Nominal height of a row's text, used to place bottom and middle blocks. */
  lineHeightPx: number;
}

export function burnInLayout(fontSizePx: number): BurnInLayout {
  const padPx = Math.max(1, Math.round(fontSizePx * 0.2));
  const lineHeightPx = Math.round(fontSizePx * 1.2);
  return { fontSizePx, padPx, marginPx: Math.round(fontSizePx * 0.5), rowStepPx: lineHeightPx + 2 * padPx, lineHeightPx };
}

function badRequest(path: string, message: string): VpipeError {
  return new VpipeError(ErrorCodes.BadRequest, `${path}: ${message}`, { details: [{ path, message }] });
}

/**
 * Escapes a value for a filter option inside a filter graph string. ffmpeg splits twice, each time
 * with av_get_token: the graph parser cuts a filter's arguments at `[ ] , ;`, then the filter's
 * option parser cuts `key=value` pairs at `:`. Both honour `\x` (x literal) and '…' quoting and
 * both trim unescaped leading/trailing whitespace, so: escape `\ ' :` and whitespace for the
 * option level, then `\ ' [ ] , ;` and whitespace for the graph level.
 */
export function escapeOptionValue(value: string): string {
  if (value.includes('\0')) throw new VpipeError(ErrorCodes.Internal, 'filter option value contains a NUL byte');
  const optionLevel = value.replace(/[\\':\s]/g, '\\$&');
  return optionLevel.replace(/[\\'[\],;\s]/g, '\\$&');
}

/** `key=value` pairs to one drawtext filter, every value escaped. */
function drawtext(options: [string, string | number][]): string {
  return `drawtext=${options.map(([k, v]) => `${k}=${escapeOptionValue(String(v))}`).join(':')}`;
}

/**
 * Refuses what drawtext would not draw literally: control characters (C0 other than newline, DEL,
 * C1: a tab or carriage return would move the pen, not show) and lone surrogates (no UTF-8 form).
 * Everything else, any script, is glyphs; a character the font lacks shows as its missing-glyph box.
 */
function checkText(text: unknown, p: string): string {
  if (typeof text !== 'string') throw badRequest(p, 'text must be a string');
  const chars = [...text];
  if (chars.length > MAX_TEXT_CHARS) throw badRequest(p, `text is ${chars.length} characters; at most ${MAX_TEXT_CHARS} are burned in`);
  for (const [i, ch] of chars.entries()) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) {
      throw badRequest(p, `text holds control character U+${c.toString(16).toUpperCase().padStart(4, '0')} at character ${i}: only printable text and newlines can be burned in`);
    }
    if (c >= 0xd800 && c <= 0xdfff) throw badRequest(p, `text holds an unpaired UTF-16 surrogate at character ${i}`);
  }
  return text;
}

function fontSizePx(size: BurnIn['fontSize'], frameHeight: number | undefined, p: string): number {
  let px: number;
  if (typeof size === 'object' && size !== null && 'px' in size) {
    px = size.px;
    if (!Number.isInteger(px)) throw badRequest(`${p}.px`, `font size must be a whole number of pixels, not ${px}`);
  } else if (typeof size === 'object' && size !== null && 'fractionOfHeight' in size) {
    const f = size.fractionOfHeight;
    if (!(typeof f === 'number' && f > 0 && f <= 0.5)) throw badRequest(`${p}.fractionOfHeight`, `must be above 0 and at most 0.5, not ${f}`);
    if (!(Number.isInteger(frameHeight) && frameHeight! > 0)) {
      throw new VpipeError(ErrorCodes.Internal, 'a relative burn-in font size needs the frame height');
    }
    px = Math.round(f * frameHeight!);
  } else {
    throw badRequest(p, 'give { px } or { fractionOfHeight }');
  }
  if (px < MIN_FONT_PX || px > MAX_FONT_PX) throw badRequest(p, `font size ${px} px is outside ${MIN_FONT_PX}–${MAX_FONT_PX} px`);
  return px;
}

/** x and y (drawtext expressions over w, h, text_w) of row `i` of `rows` at an anchor. */
function rowPosition(anchor: Anchor, i: number, rows: number, l: BurnInLayout): { x: string; y: string } {
  const [vertical, horizontal] = anchor === 'center' ? ['middle', 'center'] : (anchor.split('-') as [string, string]);
  const inset = l.marginPx + l.padPx;
  const blockHeight = (rows - 1) * l.rowStepPx + l.lineHeightPx;
  const offset = i * l.rowStepPx;
  const x = horizontal === 'left' ? String(inset) : horizontal === 'right' ? `w-${inset}-text_w` : '(w-text_w)/2';
  const y =
    vertical === 'top'
      ? String(inset + offset)
      : vertical === 'bottom'
        ? `h-${inset + blockHeight - offset}`
        : `(h-${blockHeight})/2+${offset}`;
  return { x, y };
}

type Row = { kind: 'text'; text: string } | { kind: 'timecode'; value: string; rate: FrameRate } | { kind: 'counter'; start: number };

/**
 * Validates a burn-in and builds the drawtext chain for one chunk, writing its text files under
 * `workDir` (absolute). Throws BAD_REQUEST (details name the field under `fieldPath`) for bad
 * input — drop-frame at a rate without it, text over 1,000 characters or holding control
 * characters —, TOOL_MISSING when the font is not installed.
 */
export async function drawtextFilters(burnIn: BurnIn, chunk: BurnInChunk, workDir: string, fieldPath = 'burnIn'): Promise<DrawtextChain> {
  if (!path.isAbsolute(workDir)) throw new VpipeError(ErrorCodes.Internal, `burn-in work dir must be absolute: ${workDir}`);
  if (!Number.isSafeInteger(chunk.startFrame) || chunk.startFrame < 0) {
    throw new VpipeError(ErrorCodes.Internal, `chunk start frame ${chunk.startFrame} is not a non-negative integer`);
  }
  if (!(ANCHORS as readonly string[]).includes(burnIn.position)) {
    throw badRequest(`${fieldPath}.position`, `unknown position ${JSON.stringify(burnIn.position)}; one of ${ANCHORS.join(', ')}`);
  }
  const opacity = burnIn.boxOpacity;
  if (!(typeof opacity === 'number' && opacity >= 0 && opacity <= 1)) throw badRequest(`${fieldPath}.boxOpacity`, `must be from 0 to 1, not ${opacity}`);
  const layout = burnInLayout(fontSizePx(burnIn.fontSize, chunk.frameHeight, `${fieldPath}.fontSize`));
  const textOpacity = burnIn.textOpacity;
  if (textOpacity !== undefined && !(typeof textOpacity === 'number' && textOpacity >= 0 && textOpacity <= 1)) throw badRequest(`${fieldPath}.opacity`, `must be from 0 to 1, not ${textOpacity}`);

  const lines = burnIn.lines ?? [];
  if (!Array.isArray(lines) || lines.length > MAX_LINES) throw badRequest(`${fieldPath}.lines`, `at most ${MAX_LINES} lines`);
  const rows: Row[] = [];
  lines.forEach((line, i) => {
    for (const text of checkText(line?.text, `${fieldPath}.lines[${i}].text`).split('\n')) rows.push({ kind: 'text', text });
  });
  if (burnIn.timecode) {
    const p = `${fieldPath}.timecode`;
    const rate = timecodeRate(burnIn.timecode.frameRate, `${p}.frameRate`);
    const start = parseTimecode(burnIn.timecode.start, `${p}.start`);
    const value = formatTimecode(frameToTimecode(chunk.startFrame, start, rate, `${p}.start`));
    rows.push({ kind: 'timecode', value, rate: rate.frameRate });
  }
  if (burnIn.frameCounter) rows.push({ kind: 'counter', start: chunk.startFrame });
  if (rows.length > MAX_ROWS) throw badRequest(`${fieldPath}.lines`, `${rows.length} rows (lines, their newlines, timecode and counter) to burn in; at most ${MAX_ROWS}`);
  if (rows.length === 0) return { filter: null, files: [], dir: null };

  const fontFile = burnIn.fontFile ?? DEFAULT_FONT_FILE;
  if (!path.isAbsolute(fontFile)) throw new VpipeError(ErrorCodes.Internal, `burn-in font file must be an absolute path: ${fontFile}`);
  try {
    await access(fontFile, fsConstants.R_OK);
  } catch {
    throw new VpipeError(ErrorCodes.ToolMissing, `burn-in font ${fontFile} is not readable${fontFile === DEFAULT_FONT_FILE ? ' (apt-get install fonts-dejavu-core)' : ''}`);
  }

  const common: [string, string | number][] = [
    ['fontfile', fontFile],
    ['fontsize', layout.fontSizePx],
    ['fontcolor', textOpacity === undefined ? 'white' : `white@${textOpacity.toFixed(3)}`],
    ...(opacity > 0 ? ([['box', 1], ['boxcolor', `black@${opacity.toFixed(3)}`], ['boxborderw', layout.padPx]] as [string, string | number][]) : []),
  ];
  const hasText = rows.some((r) => r.kind === 'text' && r.text !== '');
  // mkdtemp's suffix is [A-Za-z0-9]; a fresh directory per chunk, so chunks sharing a work dir never collide.
  const dir = hasText ? await mkdtemp(path.join(workDir, 'burn-in-')) : null;
  const files: string[] = [];
  const filters: string[] = [];
  for (const [i, row] of rows.entries()) {
    const { x, y } = rowPosition(burnIn.position, i, rows.length, layout);
    const place: [string, string | number][] = [['x', x], ['y', y]];
    if (row.kind === 'text') {
      // An empty row keeps its place in the block but draws nothing (drawtext refuses an empty file).
      if (row.text === '') continue;
      const file = path.join(dir!, `row-${i}.txt`);
      // 'wx': never follow or reuse something already there. drawtext reads the file as UTF-8 bytes.
      await writeFile(file, row.text, { encoding: 'utf8', flag: 'wx', mode: 0o600 });
      files.push(file);
      filters.push(drawtext([...common, ['textfile', file], ['expansion', 'none'], ...place]));
    } else if (row.kind === 'timecode') {
      // tc24hmax: without it ffmpeg 5.1 counts on past 23:59:59;29 to 24:00:00;00.
      filters.push(drawtext([...common, ['timecode', row.value], ['timecode_rate', `${row.rate.num}/${row.rate.den}`], ['tc24hmax', 1], ...place]));
    } else {
      // Our own constant text; %{frame_num} is the filter's frame count plus start_number.
      filters.push(drawtext([...common, ['text', '%{frame_num}'], ['start_number', row.start], ...place]));
    }
  }
  return { filter: filters.length > 0 ? filters.join(',') : null, files, dir };
}
