/**
 * Small encodes with known properties for VVS tests: 160x120, 25 fps, 2 s
 * (50 frames) in each codec VES produces, plus a damaged copy. Each maker
 * writes into `dir` once (temporary name, then rename) and returns the path.
 */
import { copyFile, open, rename, stat } from 'node:fs/promises';
import { pseudoRandomBytes } from './media.js';
import path from 'node:path';
import { runTool } from '../../runtime/media/tools.js';

/** Moving content, so encoders make real P/B frames (a static picture would make every frame nearly empty). */
const SOURCE =
  'gradients=size=160x120:rate=25:duration=2:speed=0.02:c0=navy:c1=orange:x0=0:y0=0:x1=160:y1=120:seed=1,' +
  'drawbox=x=mod(t*120\\,140):y=30:w=20:h=60:color=white:t=fill';

async function encode(dir: string, name: string, args: string[]): Promise<string> {
  const target = path.join(dir, name);
  if (await stat(target).then(() => true, () => false)) return target;
  const tmp = path.join(dir, `.tmp-${process.pid}-${name}`);
  // +bitexact: no version strings or random UIDs, so the files are the same on every run.
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', SOURCE, ...args, '-fflags', '+bitexact', tmp], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  await rename(tmp, target);
  return target;
}

/**
 * H.264 High, yuv420p, keyframe every 10 frames (0, 10 … 40; scene cuts off),
 * at a constant 200 kbps (nal-hrd=cbr pads with filler, so the average is
 * on target). veryfast, not ultrafast: ultrafast drops the High tools and
 * x264 then signals Constrained Baseline whatever -profile says.
 */
export function makeH264(dir: string): Promise<string> {
  return encode(dir, 'h264-high.mp4', [
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-g', '10', '-sc_threshold', '0',
    '-b:v', '200k', '-minrate', '200k', '-maxrate', '200k', '-bufsize', '100k', '-x264-params', 'nal-hrd=cbr', '-f', 'mp4',
  ]);
}

/** HEVC Main 10 (yuv420p10le), one keyframe (x265's default keyint 250 > 50 frames). */
export function makeHevcMain10(dir: string): Promise<string> {
  return encode(dir, 'hevc-main10.mp4', [
    '-c:v', 'libx265', '-preset', 'ultrafast', '-profile:v', 'main10', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error', '-f', 'mp4',
  ]);
}

/** VP9 profile 0 in WebM (no stream duration in the header: the duration comes from packets). */
export function makeVp9(dir: string): Promise<string> {
  return encode(dir, 'vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-pix_fmt', 'yuv420p', '-f', 'webm']);
}

/** AV1 Main (SVT-AV1 preset 12) in Matroska. */
export function makeAv1(dir: string): Promise<string> {
  return encode(dir, 'av1.mkv', ['-c:v', 'libsvtav1', '-preset', '12', '-pix_fmt', 'yuv420p', '-f', 'matroska']);
}

/** The H.264 encode with 4 KiB from 40% in overwritten: the moov (at the end) survives, so it opens and probes but decodes with errors. */
export async function makeCorruptH264(dir: string): Promise<string> {
  const target = path.join(dir, 'h264-corrupt.mp4');
  if (await stat(target).then(() => true, () => false)) return target;
  const tmp = path.join(dir, `.tmp-${process.pid}-h264-corrupt.mp4`);
  await copyFile(await makeH264(dir), tmp);
  const size = (await stat(tmp)).size;
  const fh = await open(tmp, 'r+');
  try {
    await fh.write(pseudoRandomBytes(4096, 42), 0, 4096, Math.floor(size * 0.4));
  } finally {
    await fh.close();
  }
  await rename(tmp, target);
  return target;
}
