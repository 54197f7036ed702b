/** Measurements the encoding tests compare: frame timestamps and PSNR, with real ffprobe/ffmpeg. */
import { runTool } from '../../runtime/media/tools.js';

/** Presentation times (s) of the first video stream's frames, sorted, relative to the first. */
export async function frameTimes(file: string): Promise<number[]> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]);
  const t = r.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  return t.map((x) => x - t[0]!);
}

/** Indexes (presentation order) of the keyframes of the first video stream. */
export async function keyframes(file: string): Promise<number[]> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file]);
  const packets = r.stdout.split('\n').filter(Boolean).map((l) => ({ t: Number(l.split(',')[0]), key: l.split(',')[1]?.includes('K') ?? false }));
  packets.sort((a, b) => a.t - b.t);
  return packets.flatMap((p, i) => (p.key ? [i] : []));
}

export async function videoStream(file: string): Promise<{ codec_name: string; pix_fmt: string; width: number; height: number; profile?: string }> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(r.stdout) as { streams: never[] }).streams[0]!;
}

/** Average PSNR (dB, luma+chroma) of `distorted` against `reference`, frame by frame. */
export async function psnr(distorted: string, reference: string): Promise<number> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', distorted, '-i', reference, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-']);
  const m = /average:([0-9.]+|inf)/.exec(r.stderr);
  if (!m) throw new Error(`no PSNR in ffmpeg output: ${r.stderr.slice(-500)}`);
  return m[1] === 'inf' ? Infinity : Number(m[1]);
}
