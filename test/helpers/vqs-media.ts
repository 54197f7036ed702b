/**
 * For the VQS tests: the ffmpeg with libvmaf (fetched by the deploy script
 * when missing, as on a clean CI machine), small generated clips with one
 * known distortion each, and an independent libvmaf run — the test's own
 * ffmpeg command, sharing no code with VQS — to check VQS's VMAF against.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../runtime/nats/server.js';
import { cached, ffmpeg } from './media.js';
import { tempDir } from './nats.js';

export const VMAF_FFMPEG = path.join(REPO_ROOT, '.tools/bin/ffmpeg-vmaf');

function listsLibvmaf(binary: string): boolean {
  try {
    return /^ [A-Z.]{3} libvmaf /m.test(execFileSync(binary, ['-hide_banner', '-filters'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

/** Runs deploy/fetch-vmaf-ffmpeg.sh when .tools/bin/ffmpeg-vmaf is missing; throws when there is still no libvmaf after it. */
export function ensureVmafFfmpeg(): string {
  if (!listsLibvmaf(VMAF_FFMPEG)) execFileSync('bash', [path.join(REPO_ROOT, 'deploy/fetch-vmaf-ffmpeg.sh')], { stdio: 'inherit', timeout: 110_000 });
  if (!listsLibvmaf(VMAF_FFMPEG)) throw new Error(`${VMAF_FFMPEG} has no libvmaf after deploy/fetch-vmaf-ffmpeg.sh (see its warning)`);
  return VMAF_FFMPEG;
}

const SECONDS = 2;
/** Texture and motion everywhere (VMAF of identical low-motion pictures stays near 98, below the ≥ 99 a test expects). */
const source = (size: string) => `testsrc2=size=${size}:rate=25:duration=${SECONDS}`;
const LOSSLESS = ['-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const x264 = (crf: number) => ['-c:v', 'libx264', '-crf', String(crf), '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];

/** A lossless 640x360 reference (50 frames) with `vf` applied, in Matroska. */
const lossless = (dir: string, name: string, vf?: string) =>
  cached(dir, name, (tmp) => ffmpeg(['-f', 'lavfi', '-i', source('640x360'), ...(vf ? ['-vf', vf] : []), ...LOSSLESS, '-f', 'matroska', tmp]));

export const media = {
  reference: (dir: string) => lossless(dir, 'ref.mkv'),
  /** The reference's packets in MP4: other container timestamps, the same pictures. */
  referenceCopy: async (dir: string) => {
    const ref = await media.reference(dir);
    return cached(dir, 'ref-copy.mp4', (tmp) => ffmpeg(['-i', ref, '-c', 'copy', '-f', 'mp4', tmp]));
  },
  noise: (dir: string, strength: 'light' | 'heavy') => lossless(dir, `noise-${strength}.mkv`, `noise=alls=${strength === 'light' ? 4 : 24}:allf=t`),
  blur: (dir: string, strength: 'light' | 'heavy') => lossless(dir, `blur-${strength}.mkv`, `gblur=sigma=${strength === 'light' ? 0.6 : 2.5}`),
  crf: async (dir: string, crf: number) => {
    const ref = await media.reference(dir);
    return cached(dir, `crf${crf}.mp4`, (tmp) => ffmpeg(['-i', ref, ...x264(crf), '-f', 'mp4', tmp]));
  },
  /** The CRF 30 encode with frame 20 left out (49 frames). */
  droppedFrame: async (dir: string) => {
    const ref = await media.reference(dir);
    return cached(dir, 'dropped.mp4', (tmp) => ffmpeg(['-i', ref, '-vf', 'select=not(eq(n\\,20)),setpts=N/FRAME_RATE/TB', ...x264(30), '-f', 'mp4', tmp]));
  },
  /** A 1280x720 lossless source, and a 640x360 CRF 26 encode of it. */
  source720: (dir: string) => cached(dir, 'src720.mkv', (tmp) => ffmpeg(['-f', 'lavfi', '-i', source('1280x720'), ...LOSSLESS, '-f', 'matroska', tmp])),
  encode360: async (dir: string) => {
    const src = await media.source720(dir);
    return cached(dir, 'enc360.mp4', (tmp) => ffmpeg(['-i', src, '-vf', 'scale=640:360', ...x264(26), '-f', 'mp4', tmp]));
  },
};

/**
 * libvmaf's pooled mean of `distorted` against `reference` by a plain ffmpeg command, as its
 * documentation shows it: the distorted input scaled (bicubic) to `size` when given, then libvmaf.
 */
export function directVmafMean(distorted: string, reference: string, size?: { width: number; height: number }): number {
  const log = path.join(tempDir('vqs-direct'), 'vmaf.json');
  const scale = size ? `scale=${size.width}:${size.height}:flags=bicubic,` : '';
  execFileSync(
    ensureVmafFfmpeg(),
    ['-hide_banner', '-loglevel', 'error', '-i', distorted, '-i', reference, '-lavfi', `[0:v]${scale}setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=log_fmt=json:log_path=${log}`, '-f', 'null', '-'],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 },
  );
  return (JSON.parse(readFileSync(log, 'utf8')) as { pooled_metrics: { vmaf: { mean: number } } }).pooled_metrics.vmaf.mean;
}
