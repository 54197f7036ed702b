/**
 * What CAS reads from a source's header before it plans: the video stream,
 * its display size and aspect ratio (sample aspect ratio and display matrix
 * applied), pixel format, average frame rate and duration. Frame numbers and
 * times come from the frame index where there is one, never from here.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, type FfprobeJson, inputArgs, parseRational, runTool, type ToolRunner } from '../../../runtime/media/mod.js';

export interface SourceInfo {
  /** Absolute index of the first video stream that is not cover art. */
  streamIndex: number;
  /** Coded size, and the size a player shows (even numbers). */
  codedWidth: number;
  codedHeight: number;
  width: number;
  height: number;
  pixelFormat: string | null;
  /** Bits per sample (8 unless the pixel format says more). */
  bitDepth: number;
  /** Average frame rate (avg_frame_rate, else r_frame_rate), rounded to a clean rational (see cleanRate). */
  frameRate: { num: number; den: number };
  /** Container or stream duration; null when the header says neither. */
  durationSeconds: number | null;
  /** Clockwise turn a player applies for the display matrix. */
  rotation: 0 | 90 | 180 | 270;
}



export const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));

/**
 * A frame rate the sample mezzanine can carry exactly: the NTSC rates and whole numbers as they are,
 * anything else (an average over jittered timestamps, 318960000/18762353) to a thousandth of a frame.
 */
export function cleanRate(r: { num: number; den: number }): { num: number; den: number } {
  const fps = r.num / r.den;
  for (const k of [24, 30, 48, 60, 120]) if (Math.abs(fps - (k * 1000) / 1001) < 5e-4) return { num: k * 1000, den: 1001 };
  if (Math.abs(fps - Math.round(fps)) < 5e-4) return { num: Math.round(fps), den: 1 };
  return { num: Math.round(fps * 1000), den: 1000 };
}

/** Clockwise quarter turn for ffprobe's display-matrix rotation (counter-clockwise degrees). */
function clockwise(rotation: number | undefined): 0 | 90 | 180 | 270 {
  const theta = (((-Math.round(rotation ?? 0)) % 360) + 360) % 360;
  return theta === 90 || theta === 180 || theta === 270 ? theta : 0;
}

/** Probes the source's video header. Throws BAD_REQUEST (not media, no video, no frame rate) naming source.uri, TOOL_* when ffprobe breaks. */
export async function probeSourceInfo(path: string, signal?: AbortSignal, run: ToolRunner = runTool): Promise<SourceInfo> {
  const r = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)], { signal, limit: { mediaSeconds: null, kind: 'probe' } });
  assertToolRan('ffprobe', r);
  const bad = (why: string) => new VpipeError(ErrorCodes.BadRequest, `the source ${why}`, { details: [{ path: 'source.uri', message: why }] });
  if (r.code !== 0) throw bad(`cannot be read as media: ${r.stderr.trim().split('\n').pop()?.replace(/file:\S+: /, '').slice(0, 200) ?? ''}`);
  const j = JSON.parse(r.stdout) as FfprobeJson;
  const v = j.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v || !v.width || !v.height) throw bad('has no video stream');
  const rate = parseRational(v.avg_frame_rate) ?? parseRational(v.r_frame_rate);
  if (!rate) throw bad('has no frame rate in its header');
  const rotation = clockwise(v.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation);
  const sar = parseRational(v.sample_aspect_ratio);
  const w = even(v.width * (sar ? sar.num / sar.den : 1));
  const h = even(v.height);
  const sideways = rotation === 90 || rotation === 270;
  const duration = Number(v.duration ?? j.format?.duration);
  const depth = /(\d{2})(le|be)$/.exec(v.pix_fmt ?? '');
  return {
    streamIndex: v.index,
    codedWidth: v.width,
    codedHeight: v.height,
    width: sideways ? h : w,
    height: sideways ? w : h,
    pixelFormat: v.pix_fmt ?? null,
    bitDepth: depth && Number(depth[1]) > 8 ? Number(depth[1]) : 8,
    frameRate: cleanRate(rate),
    durationSeconds: Number.isFinite(duration) && duration > 0 ? duration : null,
    rotation,
  };
}
