/**
 * The measurement's answer, from the joined per-frame scores: every score
 * block names its metric, model and versions; VMAF appears only when libvmaf
 * produced it. The per-frame report file is written atomically (temporary
 * name, then rename), so a reader never sees half of one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PER_FRAME_INLINE_MAX, PSNR_CAP_DB, type MeasureResult } from '../../schemas/vqs.js';
import { type FrameScores, pool, psnrYuv, round6 } from './compute/pooling.js';
import type { Plan, VqsJobInput } from './workflow.js';

/** Per-frame (6·Y + U + V) / 8. */
function yuvColumn(s: FrameScores): number[] | undefined {
  if (!s.psnrY || !s.psnrU || !s.psnrV) return undefined;
  return s.psnrY.map((y, i) => round6(psnrYuv(y, s.psnrU![i]!, s.psnrV![i]!)));
}

/** The result of a job whose segments all succeeded; throws when a measured metric has no per-frame column (a bug upstream). */
export function measurementResult(job: VqsJobInput, p: Plan, s: FrameScores, libvmaf: string | null): MeasureResult {
  const ffmpeg = p.tool.ffmpeg;
  const metrics: MeasureResult['metrics'] = {};
  const yuv = yuvColumn(s);
  if (p.metrics.includes('vmaf')) {
    const version = libvmaf ?? 'unknown';
    metrics.vmaf = { metric: 'vmaf', model: job.vmaf.model, phoneModel: job.vmaf.phoneModel, ...pool(s.vmaf!), version, libvmaf: version, ffmpeg };
  }
  if (p.metrics.includes('psnr')) {
    metrics.psnr = { metric: 'psnr', model: 'psnr_y', ...pool(s.psnrY!), capDb: PSNR_CAP_DB, version: ffmpeg, ffmpeg, yuv: { model: 'psnr_yuv_611', ...pool(yuv!) } };
  }
  if (p.metrics.includes('ssim')) metrics.ssim = { metric: 'ssim', model: 'ssim_y', ...pool(s.ssim!), version: ffmpeg, ffmpeg };
  const perFrame: NonNullable<MeasureResult['perFrame']> = {};
  if (s.vmaf) perFrame.vmaf = s.vmaf;
  if (s.psnrY) perFrame.psnrY = s.psnrY;
  if (yuv) perFrame.psnrYuv = yuv;
  if (s.ssim) perFrame.ssim = s.ssim;
  return {
    metrics,
    notMeasured: p.notMeasured,
    frames: {
      reference: p.reference.frames,
      distorted: p.distorted.frames,
      compared: p.compared,
      countsMatch: p.reference.frames === p.distorted.frames,
      referenceCountedBy: p.reference.countedBy,
      distortedCountedBy: p.distorted.countedBy,
    },
    comparison: {
      ...p.compare,
      scaler: 'bicubic',
      reference: { width: p.reference.width, height: p.reference.height },
      distorted: { width: p.distorted.width, height: p.distorted.height },
      pairing: 'frame-number',
    },
    segments: p.segments.length,
    perFrame: p.compared <= PER_FRAME_INLINE_MAX ? perFrame : null,
  };
}

/** Writes `{ result, frames: [{ n, vmaf, psnrY, psnrYuv, ssim }] }` as JSON to `file` (temporary name in the same directory, then rename). */
export async function writeReport(file: string, result: MeasureResult, s: FrameScores): Promise<void> {
  const yuv = yuvColumn(s);
  const n = s.vmaf?.length ?? s.psnrY?.length ?? s.ssim?.length ?? 0;
  const frames = Array.from({ length: n }, (_, i) => ({ n: i, vmaf: s.vmaf?.[i], psnrY: s.psnrY?.[i], psnrYuv: yuv?.[i], ssim: s.ssim?.[i] }));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, JSON.stringify({ result: { ...result, perFrame: null }, frames }));
  await fs.rename(tmp, file);
}
