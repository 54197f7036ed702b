/**
 * What the splitter needs to know about a source: its video stream and the
 * presentation time of every frame (from packet timestamps — no decode), so
 * chunk boundaries fall on exact frames and VFR timing survives.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/errors.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media-tools.js';

export interface SourceFrames {
  codec: string;
  width: number;
  height: number;
  pixelFormat: string | null;
  /** Nominal rate (r_frame_rate), used to turn GOP seconds into frames. */
  frameRate: { num: number; den: number };
  hasAudio: boolean;
  /** Presentation times in seconds, ascending, relative to the container start (what `-ss` counts from). */
  frameTimes: number[];
  /** End of the last frame (its time plus its duration). */
  endSeconds: number;
  /** Indexes (presentation order) of the source's keyframes: a chunk starting on one needs no pre-roll decode. */
  keyframes: number[];
}

function rational(s: string | undefined): { num: number; den: number } | null {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  return m && Number(m[2]) > 0 && Number(m[1]) > 0 ? { num: Number(m[1]), den: Number(m[2]) } : null;
}

interface ProbeJson {
  format?: { start_time?: string };
  streams?: { index: number; codec_type: string; codec_name?: string; width?: number; height?: number; pix_fmt?: string; r_frame_rate?: string; avg_frame_rate?: string; disposition?: { attached_pic?: number } }[];
}

/** Probes the first video stream and its frame times. Throws UNREADABLE-style TOOL_FAILED when ffprobe cannot read the file, BAD_REQUEST when it has no video. */
export async function readSourceFrames(path: string, signal?: AbortSignal, run: ToolRunner = runTool): Promise<SourceFrames> {
  const head = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)], { signal });
  assertToolRan('ffprobe', head);
  if (head.code !== 0) throw new VpipeError(ErrorCodes.ToolFailed, `ffprobe cannot read the source: ${head.stderr.trim().slice(-300)}`);
  const j = JSON.parse(head.stdout) as ProbeJson;
  const video = j.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height) throw new VpipeError(ErrorCodes.BadRequest, 'the source has no video stream to encode');
  const start = Number(j.format?.start_time ?? 0) || 0;

  // Packets in decode order; their pts sorted are the frames in presentation order.
  const packets: { t: number; key: boolean }[] = [];
  const durations: number[] = [];
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', String(video.index), '-show_entries', 'packet=pts_time,duration_time,flags', '-of', 'csv=p=0', ...inputArgs(path)],
    {
      signal,
      keepStdout: false,
      onStdoutLine: (line) => {
        const [p, d, flags] = line.split(',');
        const t = Number(p);
        if (p !== undefined && p !== 'N/A' && Number.isFinite(t)) {
          packets.push({ t: t - start, key: flags?.includes('K') ?? false });
          const dn = Number(d);
          if (Number.isFinite(dn)) durations.push(dn);
        }
      },
    },
  );
  assertToolRan('ffprobe', r);
  if (packets.length === 0) throw new VpipeError(ErrorCodes.BadRequest, 'the source video stream has no timestamped frames');
  packets.sort((a, b) => a.t - b.t);
  const pts = packets.map((x) => x.t);
  const rate = rational(video.r_frame_rate) ?? rational(video.avg_frame_rate) ?? { num: 25, den: 1 };
  const last = pts[pts.length - 1]!;
  const lastDuration = durations.length ? durations[durations.length - 1]! : rate.den / rate.num;
  return {
    codec: video.codec_name ?? 'unknown',
    width: video.width,
    height: video.height,
    pixelFormat: video.pix_fmt ?? null,
    frameRate: rate,
    hasAudio: (j.streams ?? []).some((s) => s.codec_type === 'audio'),
    frameTimes: pts,
    endSeconds: last + (lastDuration > 0 ? lastDuration : rate.den / rate.num),
    keyframes: packets.flatMap((x, i) => (x.key ? [i] : [])),
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
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', ...inputArgs(path), '-map', '0:v:0', '-an', '-vf', 'scale=256:-2:flags=fast_bilinear,scdet=threshold=10', '-f', 'null', '-'],
    {
      signal,
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
