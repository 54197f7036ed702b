/**
 * What VQS reads of each side before measuring: the video stream's header
 * (its display size as a player shows it) and, where no frame index gives
 * it, the number of frames a full decode shows.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, type FfprobeJson, inputArgs, parseRational, runTool, type ToolRunner } from '../../../runtime/media/mod.js';

/** A rational as a number, null where ffprobe gave none. */
const ratioOf = (s: string | undefined): number | null => {
  const r = parseRational(s);
  return r && r.num / r.den;
};

export interface VideoHead {
  /** Absolute index of the first video stream that is not cover art. */
  streamIndex: number;
  /** Display size: sample aspect ratio applied to the width, a quarter-turn display matrix swapping the two (even numbers). */
  width: number;
  height: number;
  /** Bits per sample of the decoded pictures (8 unless the pixel format says more). */
  bitDepth: number;
  /** Nominal frames per second (avg_frame_rate, else r_frame_rate); null when the header has neither. */
  fps: number | null;
  durationSeconds: number | null;
}



const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));

/** Bit depth from an ffmpeg pixel format name: `yuv420p10le` → 10, `p010le` → 10, `yuv420p` → 8. */
export function bitDepthOf(pixFmt: string | undefined): number {
  const m = /(\d{2})(le|be)$/.exec(pixFmt ?? '');
  const n = m ? Number(m[1]) : 8;
  return n > 8 && n <= 16 ? n : 8;
}

/** Probes `path`'s video header. Throws BAD_REQUEST naming `field` when it is not a readable video, TOOL_* when ffprobe breaks. */
export async function probeVideo(path: string, field: string, signal?: AbortSignal, run: ToolRunner = runTool): Promise<VideoHead> {
  const r = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)], { signal, limit: { mediaSeconds: null, kind: 'probe' } });
  assertToolRan('ffprobe', r);
  const bad = (why: string) => new VpipeError(ErrorCodes.BadRequest, `${field} ${why}`, { details: [{ path: `${field}.uri`, message: why }] });
  if (r.code !== 0) throw bad(`cannot be read as media: ${r.stderr.trim().split('\n').pop()?.replace(/file:\S+: /, '').slice(0, 200) ?? ''}`);
  const j = JSON.parse(r.stdout) as FfprobeJson;
  const v = j.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v || !v.width || !v.height) throw bad('has no video stream');
  const turn = v.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation ?? 0;
  const sideways = Math.abs(Math.round(turn)) % 180 === 90;
  const w = even(v.width * (ratioOf(v.sample_aspect_ratio) ?? 1));
  const h = even(v.height);
  const duration = Number(v.duration ?? j.format?.duration);
  return {
    streamIndex: v.index,
    width: sideways ? h : w,
    height: sideways ? w : h,
    bitDepth: bitDepthOf(v.pix_fmt),
    fps: ratioOf(v.avg_frame_rate) ?? ratioOf(v.r_frame_rate),
    durationSeconds: Number.isFinite(duration) && duration > 0 ? duration : null,
  };
}

/** Frames a full decode of the stream shows (ffprobe -count_frames); throws TOOL_FAILED when the decode fails. */
export async function countFrames(path: string, head: VideoHead, signal?: AbortSignal, run: ToolRunner = runTool): Promise<number> {
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', String(head.streamIndex), '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', ...inputArgs(path)],
    { signal, limit: { mediaSeconds: head.durationSeconds, kind: 'decode' } },
  );
  assertToolRan('ffprobe', r);
  const n = Number(r.stdout.trim().split(/[\s,]/)[0]);
  if (r.code !== 0 || !Number.isInteger(n)) throw new VpipeError(ErrorCodes.ToolFailed, `counting frames failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
  return n;
}
