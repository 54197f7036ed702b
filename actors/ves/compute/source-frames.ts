/**
 * What VES reads from a source's container: the stream header (codec, nominal
 * rate, audio) and, when asked, scene cuts. Frame times and counts come from
 * the frame index, never from here.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';


function rational(s: string | undefined): { num: number; den: number } | null {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  return m && Number(m[2]) > 0 && Number(m[1]) > 0 ? { num: Number(m[1]), den: Number(m[2]) } : null;
}

interface ProbeJson {
  streams?: {
    index: number;
    codec_type: string;
    codec_name?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    codec_tag_string?: string;
    disposition?: { attached_pic?: number };
    side_data_list?: { side_data_type?: string; rotation?: number }[];
    tags?: { timecode?: string };
  }[];
  format?: { tags?: { timecode?: string } };
}

/** What the plan needs from the container besides the frame index: codec, nominal rate, audio. */
export interface SourceHead {
  codec: string;
  width: number;
  height: number;
  pixelFormat: string | null;
  /** Nominal rate (r_frame_rate), used to turn GOP seconds into frames. */
  frameRate: { num: number; den: number };
  hasAudio: boolean;
  /** Clockwise turn a player (and ffmpeg's autorotate) applies for the display matrix: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** The container's start timecode (a QuickTime tmcd track first, then the video stream's and the file's timecode tags), or null. */
  timecode: { value: string; from: 'tmcd' | 'stream tag' | 'format tag' } | null;
}

const TIMECODE = /^\d{2}:\d{2}:\d{2}[:;.,]\d{2}$/;

function containerTimecode(j: ProbeJson, video: NonNullable<ProbeJson['streams']>[number]): SourceHead['timecode'] {
  const tmcd = j.streams?.find((s) => s.codec_type === 'data' && s.codec_tag_string === 'tmcd' && TIMECODE.test(s.tags?.timecode ?? ''));
  if (tmcd) return { value: tmcd.tags!.timecode!, from: 'tmcd' };
  if (TIMECODE.test(video.tags?.timecode ?? '')) return { value: video.tags!.timecode!, from: 'stream tag' };
  if (TIMECODE.test(j.format?.tags?.timecode ?? '')) return { value: j.format!.tags!.timecode!, from: 'format tag' };
  return null;
}

/** The SMPTE ST 12-1 timecode the first video frame carries as side data (H.264/HEVC pic_timing SEI, DV), or null. */
export async function firstFrameTimecode(path: string, signal?: AbortSignal, run: ToolRunner = runTool): Promise<string | null> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'frame=side_data_list', '-of', 'json', ...inputArgs(path)], { signal, limit: { mediaSeconds: null, kind: 'probe' } });
  if (r.code !== 0) return null;
  const j = JSON.parse(r.stdout || '{}') as { frames?: { side_data_list?: { side_data_type?: string; timecodes?: { value?: string }[] }[] }[] };
  const side = j.frames?.[0]?.side_data_list?.find((d) => d.side_data_type === 'SMPTE 12-1 timecode');
  const value = side?.timecodes?.[0]?.value;
  return value && TIMECODE.test(value) ? value : null;
}

/** ffprobe's display-matrix rotation (counter-clockwise degrees) as the clockwise quarter turn ffmpeg's autorotate applies. */
export function clockwiseTurn(rotation: number | undefined): 0 | 90 | 180 | 270 {
  if (rotation === undefined || !Number.isFinite(rotation)) return 0;
  const theta = (((-Math.round(rotation)) % 360) + 360) % 360;
  for (const q of [90, 180, 270] as const) if (Math.abs(theta - q) < 1) return q;
  return 0;
}

/** Probes the first video stream's header (no packet listing). Throws TOOL_FAILED when ffprobe cannot read the file, BAD_REQUEST when it has no video. */
export async function probeSource(path: string, signal?: AbortSignal, run: ToolRunner = runTool): Promise<SourceHead> {
  const head = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)], { signal, limit: { mediaSeconds: null, kind: 'probe' } });
  assertToolRan('ffprobe', head);
  if (head.code !== 0) throw new VpipeError(ErrorCodes.ToolFailed, `ffprobe cannot read the source: ${head.stderr.trim().slice(-300)}`);
  const j = JSON.parse(head.stdout) as ProbeJson;
  const video = j.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height) throw new VpipeError(ErrorCodes.BadRequest, 'the source has no video stream to encode');
  return {
    codec: video.codec_name ?? 'unknown',
    width: video.width,
    height: video.height,
    pixelFormat: video.pix_fmt ?? null,
    frameRate: rational(video.r_frame_rate) ?? rational(video.avg_frame_rate) ?? { num: 25, den: 1 },
    hasAudio: (j.streams ?? []).some((s) => s.codec_type === 'audio'),
    rotation: clockwiseTurn(video.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation),
    timecode: containerTimecode(j, video),
  };
}

/**
 * Scene cuts as frame indexes, from ffmpeg's scdet filter on a downscaled
 * decode (a full decode pass: only run when the recipe asks to align to cuts).
 */
export async function detectSceneCuts(path: string, frameTimes: number[], signal?: AbortSignal, run: ToolRunner = runTool): Promise<number[]> {
  const times: number[] = [];
  const r = await run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', ...inputArgs(path), '-map', '0:v:0', '-an', '-vf', 'scale=256:-2:flags=fast_bilinear,scdet=threshold=10', '-f', 'null', '-', '-progress', 'pipe:1'],
    {
      signal,
      keepStdout: false,
      limit: { mediaSeconds: frameTimes.length ? frameTimes[frameTimes.length - 1]! : null, kind: 'decode' },
      onStderrLine: (line) => {
        const m = /lavfi\.scd\.time:\s*([0-9.]+)/.exec(line);
        if (m) times.push(Number(m[1]));
      },
    },
  );
  assertToolRan('ffmpeg', r);
  return times.map((t) => nearestFrame(frameTimes, t)).filter((i, k, a) => i > 0 && a.indexOf(i) === k);
}

/** Index of the frame whose time is closest to t (binary search). */
export function nearestFrame(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && Math.abs(times[lo - 1]! - t) < Math.abs(times[lo]! - t) ? lo - 1 : lo;
}
