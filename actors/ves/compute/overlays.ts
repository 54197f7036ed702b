/**
 * What a recipe draws onto the pictures, per chunk, after scaling: the forensic A/B mark (under
 * everything, so the visible layers are identical in both variants), the visible watermark (a PNG
 * or a translucent text) and the burn-ins (timecode, frame counter, text rows) on top.
 *
 * Nothing from a request enters the filter graph as text: burn-in and watermark texts go through
 * files drawtext reads literally (encoders/burn-in), the PNG is an ffmpeg input named by a path
 * admission resolved under the media root, and every other value is a number or an enum member.
 */
import fs from 'node:fs/promises';
import { burnInLayout, drawtextFilters, type BurnIn } from '../../../encoders/burn-in/index.js';
import { num } from '../../../encoders/common.js';
import { markFilter } from '../../../encoders/forensic/index.js';
import type { ChunkEncodeSpec } from '../../../encoders/types.js';
import { inputArgs } from '../../../runtime/media/mod.js';
import type { Anchor, Recipe } from '../../../schemas/ves.js';

export const DEFAULT_BURN_IN = { position: 'bottom-center', fontFraction: 0.04, boxOpacity: 0.6 } as const;
export const DEFAULT_WATERMARK = { position: 'top-right', opacity: 0.35, imageFraction: 0.2, textFraction: 0.05 } as const;

/** The burn-in as the drawtext library takes it; `timecodeStart` is what planning resolved (request, else source, else zero). */
export function burnInOf(recipe: Recipe, spec: Pick<ChunkEncodeSpec, 'frameRate' | 'timecodeStart'>): BurnIn | null {
  const b = recipe.burnIn;
  if (!b || (!b.text?.length && !b.timecode && !b.frameCounter)) return null;
  return {
    lines: (b.text ?? []).map((text) => ({ text })),
    timecode: b.timecode ? { start: spec.timecodeStart ?? b.timecode.start ?? '00:00:00:00', frameRate: spec.frameRate } : undefined,
    frameCounter: b.frameCounter,
    position: b.position ?? DEFAULT_BURN_IN.position,
    fontSize: b.fontSize ?? { fractionOfHeight: DEFAULT_BURN_IN.fontFraction },
    boxOpacity: b.boxOpacity ?? DEFAULT_BURN_IN.boxOpacity,
  };
}

/** A translucent text watermark as a one-row burn-in without a box. */
function textWatermarkOf(recipe: Recipe): BurnIn | null {
  const w = recipe.watermark?.visible;
  if (!w?.text) return null;
  return {
    lines: [{ text: w.text }],
    position: w.position ?? DEFAULT_WATERMARK.position,
    fontSize: { fractionOfHeight: Math.min(0.5, w.size ?? DEFAULT_WATERMARK.textFraction) },
    boxOpacity: 0,
    textOpacity: w.opacity ?? DEFAULT_WATERMARK.opacity,
  };
}

/** overlay= x and y expressions (main W×H, overlay w×h) for an anchor, `margin` pixels from the edges. */
export function overlayPosition(anchor: Anchor, margin: number): { x: string; y: string } {
  const [vertical, horizontal] = anchor === 'center' ? ['middle', 'center'] : (anchor.split('-') as [string, string]);
  const m = num('margin', margin, { max: 16384, integer: true });
  const x = horizontal === 'left' ? m : horizontal === 'right' ? `W-w-${m}` : '(W-w)/2';
  const y = vertical === 'top' ? m : vertical === 'bottom' ? `H-h-${m}` : '(H-h)/2';
  return { x, y };
}

export interface ChunkOverlays {
  /** Extra ffmpeg inputs, in order, numbered from the `firstInput` given. */
  inputArgs: string[];
  /** Graph statements from `inLabel` to `[out]`; none when there is nothing to draw (then `out` is `inLabel`). */
  statements: string[];
  out: string;
  /** Directories of files ffmpeg reads (texts, patterns): remove them after the encode. */
  dirs: string[];
}

export interface OverlayInput {
  spec: ChunkEncodeSpec;
  /** The chunk's index (the forensic segment) and the source frame the encode's first frame is (chunk start minus warm-up). */
  segment: number;
  firstFrame: number;
  workDir: string;
  /** The ffmpeg input number the first extra input gets (the source is 0). */
  firstInput: number;
  inLabel: string;
}

/**
 * Builds the chunk's overlay statements, writing the files they read under `workDir`. Throws
 * BAD_REQUEST (burn-in text, drop-frame at a rate without it…) or TOOL_MISSING (font).
 */
export async function chunkOverlays(o: OverlayInput): Promise<ChunkOverlays> {
  const r = o.spec.recipe;
  const statements: string[] = [];
  const extra: string[] = [];
  const dirs: string[] = [];
  let current = o.inLabel;
  let n = 0;
  const next = (): string => `ov${n++}`;
  try {
    const forensic = r.watermark?.forensic;
    if (forensic) {
      const mark = await markFilter({ titleSeed: forensic.seed, segment: o.segment, variant: forensic.variant, width: o.spec.width, height: o.spec.height, strength: forensic.strength }, o.workDir, o.firstInput + extra.filter((a) => a === '-i').length);
      dirs.push(mark.dir);
      extra.push(...mark.inputArgs);
      const out = next();
      statements.push(mark.filter(current, out));
      current = out;
    }
    const visible = r.watermark?.visible;
    if (visible?.image && o.spec.watermarkImagePath) {
      const index = o.firstInput + extra.filter((a) => a === '-i').length;
      extra.push(...inputArgs(o.spec.watermarkImagePath));
      const width = Math.max(2, 2 * Math.round(((visible.size ?? DEFAULT_WATERMARK.imageFraction) * o.spec.width) / 2));
      const opacity = num('opacity', visible.opacity ?? DEFAULT_WATERMARK.opacity, { max: 1 });
      const { x, y } = overlayPosition(visible.position ?? DEFAULT_WATERMARK.position, Math.round(0.03 * o.spec.height));
      const wm = next();
      const out = next();
      // A one-frame input: overlay repeats its last frame (eof_action=repeat) for the whole chunk.
      statements.push(`[${index}:v]scale=${width}:-2,format=rgba,colorchannelmixer=aa=${opacity}[${wm}]`);
      statements.push(`[${current}][${wm}]overlay=x=${x}:y=${y}:eof_action=repeat[${out}]`);
      current = out;
    }
    for (const [what, burnIn] of [['watermark.visible', textWatermarkOf(r)], ['burnIn', burnInOf(r, o.spec)]] as const) {
      if (!burnIn) continue;
      const chain = await drawtextFilters(burnIn, { startFrame: o.firstFrame, frameHeight: o.spec.height }, o.workDir, `recipe.${what}`);
      if (chain.dir) dirs.push(chain.dir);
      if (!chain.filter) continue;
      const out = next();
      statements.push(`[${current}]${chain.filter}[${out}]`);
      current = out;
    }
  } catch (e) {
    await removeDirs(dirs);
    throw e;
  }
  return { inputArgs: extra, statements, out: current, dirs };
}

/** Removes the overlay files of a chunk. Never throws. */
export async function removeDirs(dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }).catch(() => undefined)));
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Whole pixels of a font size on a frame `height` tall. */
function fontPx(size: BurnIn['fontSize'], height: number): number {
  return 'px' in size ? size.px : Math.round(size.fractionOfHeight * height);
}

/** A full-width band holding `rows` rows of text at the anchor's height (generous: a font's descenders and the boxes fit). */
function textBand(b: BurnIn, rows: number, w: number, h: number): Region {
  const l = burnInLayout(fontPx(b.fontSize, h));
  const band = (rows - 1) * l.rowStepPx + l.lineHeightPx + 2 * l.padPx + l.fontSizePx;
  const vertical = b.position === 'center' ? 'middle' : b.position.split('-')[0];
  const y = vertical === 'top' ? 0 : vertical === 'bottom' ? h - (l.marginPx + band) : Math.round((h - band) / 2);
  return clip({ x: 0, y, width: w, height: vertical === 'middle' ? band : l.marginPx + band }, w, h);
}

function clip(r: Region, w: number, h: number): Region {
  const x = Math.max(0, Math.min(w - 1, Math.floor(r.x)));
  const y = Math.max(0, Math.min(h - 1, Math.floor(r.y)));
  return { x, y, width: Math.max(1, Math.min(w - x, Math.ceil(r.width))), height: Math.max(1, Math.min(h - y, Math.ceil(r.height))) };
}

/**
 * The rectangles of a w×h output the recipe draws on (burn-in rows, the visible watermark): the
 * validator leaves them out of its PSNR against the source. The forensic mark is everywhere and
 * far below the floor, so it needs none. `image` is the watermark PNG's size.
 */
export function drawnRegions(recipe: Recipe, w: number, h: number, image?: { width: number; height: number }): Region[] {
  const out: Region[] = [];
  const burnIn = burnInOf(recipe, { frameRate: { num: 25, den: 1 } });
  if (burnIn) {
    const rows = (burnIn.lines ?? []).reduce((n, l) => n + l.text.split('\n').length, 0) + (burnIn.timecode ? 1 : 0) + (burnIn.frameCounter ? 1 : 0);
    out.push(textBand(burnIn, rows, w, h));
  }
  const text = textWatermarkOf(recipe);
  if (text) out.push(textBand(text, text.lines![0]!.text.split('\n').length, w, h));
  const visible = recipe.watermark?.visible;
  if (visible?.image && image) {
    const iw = Math.max(2, 2 * Math.round(((visible.size ?? DEFAULT_WATERMARK.imageFraction) * w) / 2));
    const ih = Math.ceil((iw * image.height) / image.width) + 2;
    const m = Math.round(0.03 * h);
    const anchor = visible.position ?? DEFAULT_WATERMARK.position;
    const [vertical, horizontal] = anchor === 'center' ? ['middle', 'center'] : (anchor.split('-') as [string, string]);
    const x = horizontal === 'left' ? m : horizontal === 'right' ? w - iw - m : (w - iw) / 2;
    const y = vertical === 'top' ? m : vertical === 'bottom' ? h - ih - m : (h - ih) / 2;
    out.push(clip({ x: x - 2, y: y - 2, width: iw + 4, height: ih + 4 }, w, h));
  }
  return out;
}
