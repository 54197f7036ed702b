/**
 * `<out>/report.json` and the job's result: the ladder, every rung's VES
 * result and VQS scores, the audio and text renditions, the packaging's own
 * measurements and checks, and the time each stage took. Checked against the
 * published schema before it is written, so the report never drifts from it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { purgeChildRecords, type StepDeps } from '../../runtime/jobs/mod.js';
import { type RungReport, StreamingReport, type StreamingResult } from '../../schemas/streaming.js';
import { workDir } from './steps.js';
import type { ReportInput } from './workflow.js';

const fileUri = (p: string) => `file://${p}`;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function buildReport(input: ReportInput, jobId: string, now = Date.now()): StreamingReport {
  const { job, source, ladder, encoded, measured, tracks, packaged } = input;
  const pkg = packaged.result;
  const rungs: RungReport[] = ladder.rungs.map((plan) => {
    const enc = encoded.rungs.find((r) => r.id === plan.id);
    const video = pkg.video.find((v) => v.id === plan.id);
    if (!enc || !video) throw new VpipeError(ErrorCodes.Internal, `rung ${plan.id} has no ${enc ? 'package' : 'encode'}`);
    const m = measured.rungs.find((r) => r.id === plan.id);
    return {
      id: plan.id,
      codec: plan.codec,
      width: plan.width,
      height: plan.height,
      kbps: round(enc.kbps, 1),
      vmaf: m?.vmaf ? round(m.vmaf.mean) : null,
      quality: m
        ? {
            ...(m.vmaf ? { vmaf: m.vmaf } : {}),
            ...(m.psnr !== undefined ? { psnr: m.psnr } : {}),
            ...(m.ssim !== undefined ? { ssim: m.ssim } : {}),
            ...(m.notMeasured ? { notMeasured: m.notMeasured } : {}),
            vqsJobId: m.vqsJobId,
          }
        : null,
      ...(plan.predicted ? { predicted: plan.predicted } : {}),
      recipe: plan.recipe,
      encode: { vesJobId: enc.vesJobId, uri: enc.uri, frames: enc.frames, encodeSeconds: enc.encodeSeconds, speed: enc.speed, chunks: enc.chunks, ...(plan.crf !== undefined ? { crf: plan.crf } : {}) },
      bandwidth: video.bandwidth,
      averageBandwidth: video.averageBandwidth,
      codecs: video.codecs,
      frameRate: video.frameRate ?? source.frameRate.num / source.frameRate.den,
    };
  });
  const audio = tracks.audio.map((a) => {
    const p = pkg.audio.find((x) => x.id === a.id);
    if (!p) throw new VpipeError(ErrorCodes.Internal, `audio rendition ${a.id} has no package`);
    return { ...a.report, codecs: p.codecs, bandwidth: p.bandwidth, averageBandwidth: p.averageBandwidth };
  });
  const timings = {
    inspect: source.seconds,
    ladder: ladder.seconds,
    encode: encoded.seconds,
    measure: measured.seconds,
    tracks: tracks.seconds,
    package: packaged.seconds,
    total: round((now - job.admittedAt) / 1000),
  };
  return StreamingReport.parse({
    version: 1,
    jobId,
    source: { uri: job.sourceUri, width: source.width, height: source.height, frameRate: round(source.frameRate.num / source.frameRate.den, 3), durationSeconds: source.durationSeconds, frames: source.frames },
    ladder: ladder.ladders,
    rungs,
    audio,
    text: tracks.text.map((t) => t.report),
    hls: { uri: fileUri(path.join(job.outDir, pkg.hls.multivariant)), iframePlaylists: pkg.hls.iframePlaylists.map((p) => fileUri(path.join(job.outDir, p))) },
    dash: { uri: fileUri(path.join(job.outDir, pkg.dash.mpd)) },
    packaging: pkg.checks,
    timings,
    notes: [...source.notes, ...tracks.notes, ...ladder.ladders.flatMap((l) => l.result?.notes.map((n) => `${l.codec} ladder: ${n}`) ?? [])],
    createdAt: new Date(now).toISOString(),
  });
}

/** Writes the report (atomically), removes the work area and the child records; resolves with the job's result. */
export async function writeReport(input: ReportInput, deps: StepDeps): Promise<StreamingResult> {
  const report = buildReport(input, deps.jobId);
  const file = path.join(input.job.outDir, 'report.json');
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
  await fs.rename(tmp, file);
  await fs.rm(workDir(input.job), { recursive: true, force: true });
  await purgeChildRecords(deps.runtime, deps.jobId);
  return {
    hls: { uri: report.hls.uri },
    dash: { uri: report.dash.uri },
    rungs: report.rungs.map((r) => ({ id: r.id, codec: r.codec, width: r.width, height: r.height, kbps: r.kbps, vmaf: r.vmaf, bandwidth: r.bandwidth })),
    audio: report.audio.map((a) => ({ id: a.id, language: a.language, channels: a.channels })),
    text: report.text.map((t) => ({ id: t.id, language: t.language })),
    report: { uri: fileUri(file) },
  };
}
