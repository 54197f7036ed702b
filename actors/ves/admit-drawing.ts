/**
 * Admission for what a recipe draws (burn-ins, watermarks): refused at submission, not after the
 * source was indexed. Resolves the timecode of the source's first frame (the request's, else the
 * source's own, else zero) and checks it against the source's rate (drop-frame only at 29.97 and
 * 59.94), resolves the watermark PNG under the media root, and builds the overlays of a first chunk
 * once, so text the burn-in library refuses is refused here with the field named.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseTimecode, timecodeRate, timecodeToFrame } from '../../encoders/burn-in/index.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { inputArgs, resolveMedia, runTool } from '../../runtime/media/mod.js';
import type { Recipe } from '../../schemas/ves.js';
import { chunkOverlays, removeDirs } from './compute/overlays.js';
import { firstFrameTimecode, probeSource, type SourceHead } from './compute/source-frames.js';

export interface ResolvedDrawing {
  /** The label of the source's first frame, for a timecode burn-in. */
  timecodeStart?: string;
  /** Where it came from: the request, the source (tmcd track, tags, SEI side data), or nothing (zero). */
  timecodeFrom?: 'request' | 'tmcd' | 'stream tag' | 'format tag' | 'side data' | 'default';
  watermarkImagePath?: string;
  watermarkImageSize?: { width: number; height: number };
}

const MAX_WATERMARK_PX = 8192;

function refuse(field: string, message: string): never {
  throw new VpipeError(ErrorCodes.BadRequest, `${field}: ${message}`, { details: [{ path: field, message }] });
}

/** The PNG's path under the media root; refuses anything that is not a readable PNG of sane size. */
async function watermarkImage(uri: string, mediaRoot: string): Promise<{ path: string; size: { width: number; height: number } }> {
  const media = await resolveMedia(uri, mediaRoot);
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', ...inputArgs(media.path)], { timeoutMs: 15_000 });
  const [codec, w, h] = r.stdout.trim().split(',');
  if (r.code !== 0 || codec !== 'png') refuse('recipe.watermark.visible.image.uri', `not a PNG image (${r.code !== 0 ? 'unreadable' : `codec ${codec ?? 'none'}`})`);
  if (!(Number(w) >= 1 && Number(h) >= 1 && Number(w) <= MAX_WATERMARK_PX && Number(h) <= MAX_WATERMARK_PX)) refuse('recipe.watermark.visible.image.uri', `a ${w}x${h} image; at most ${MAX_WATERMARK_PX} px a side`);
  return { path: media.path, size: { width: Number(w), height: Number(h) } };
}

/** The timecode of the source's first frame and where it came from. */
async function startTimecode(recipe: Recipe, sourcePath: string, head: SourceHead): Promise<Pick<ResolvedDrawing, 'timecodeStart' | 'timecodeFrom'>> {
  const asked = recipe.burnIn?.timecode?.start;
  if (asked !== undefined) return { timecodeStart: asked, timecodeFrom: 'request' };
  if (head.timecode) return { timecodeStart: head.timecode.value, timecodeFrom: head.timecode.from };
  const side = await firstFrameTimecode(sourcePath);
  return side ? { timecodeStart: side, timecodeFrom: 'side data' } : { timecodeStart: '00:00:00:00', timecodeFrom: 'default' };
}

/** Resolves and checks the recipe's drawing against the source; throws BAD_REQUEST / SCHEMA_INVALID naming the field. */
export async function resolveDrawing(recipe: Recipe, sourcePath: string, mediaRoot: string): Promise<ResolvedDrawing> {
  if (!recipe.burnIn && !recipe.watermark) return {};
  const head = await probeSource(sourcePath);
  const out: ResolvedDrawing = {};
  if (recipe.burnIn?.timecode) {
    Object.assign(out, await startTimecode(recipe, sourcePath, head));
    const field = out.timecodeFrom === 'request' ? 'recipe.burnIn.timecode.start' : 'source.uri';
    const rate = timecodeRate(head.frameRate, field);
    const start = parseTimecode(out.timecodeStart!, field);
    if (start.dropFrame && !rate.dropFrameAllowed) {
      refuse(field, `drop-frame timecode (${out.timecodeStart}) exists only at 29.97 and 59.94 fps; this source is ${rate.label} fps: use ':' before the frames (non-drop)`);
    }
    timecodeToFrame(start, rate, field);
  }
  const image = recipe.watermark?.visible?.image;
  if (image) {
    const wm = await watermarkImage(image.uri, mediaRoot);
    out.watermarkImagePath = wm.path;
    out.watermarkImageSize = wm.size;
  }
  // One first chunk's overlays, built and thrown away: the burn-in library's own refusals, now.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vpipe-overlay-check-'));
  try {
    const width = recipe.resolution?.width ?? head.width;
    const height = recipe.resolution?.height ?? head.height;
    const spec = { recipe, frameRate: head.frameRate, width, height, sourceWidth: head.width, sourceHeight: head.height, threads: 1, timecodeStart: out.timecodeStart, watermarkImagePath: out.watermarkImagePath };
    const o = await chunkOverlays({ spec, segment: 0, firstFrame: 0, workDir: dir, firstInput: 1, inLabel: 's' });
    await removeDirs(o.dirs);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return out;
}
