/**
 * One ffmpeg run that scores a range of frame pairs: both inputs decoded,
 * cut by frame count (`trim=start_frame:end_frame`, after decoding, never
 * by a time guess), given frame numbers as timestamps (`settb`+`setpts=N`)
 * so frame i meets frame i whatever the containers say, scaled (bicubic) to
 * the comparison size, then through psnr → ssim → libvmaf in one chain, each
 * writing its per-frame log. libvmaf's motion feature looks one frame back
 * and one ahead, so a segment decodes its neighbours too and drops their
 * scores: segments then join to exactly what one pass gives.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { QualityMetric, VmafModel } from '../../../schemas/vqs.js';
import { cappedPsnr, type FrameScores, SCORE_COLUMNS } from './pooling.js';

export interface SegmentSpec {
  distortedPath: string;
  referencePath: string;
  distortedStream: number;
  referenceStream: number;
  /** Frames decoded: [decodeFrom, decodeTo) of both inputs. */
  decodeFrom: number;
  decodeTo: number;
  /** Frames scored: [startFrame, endFrame), inside the decoded range. */
  startFrame: number;
  endFrame: number;
  width: number;
  height: number;
  pixelFormat: string;
  metrics: QualityMetric[];
  vmaf?: { model: VmafModel; phoneModel: boolean };
  threads: number;
  /** Media seconds read from the start of the inputs up to decodeTo: the run's time limit scales with it. */
  mediaSeconds: number | null;
}

export interface SegmentRun {
  /** The metric ffmpeg (undefined: VPIPE_FFMPEG). */
  binary: string | undefined;
  signal?: AbortSignal;
  /** Frames of the decoded range done so far (from -progress). */
  onProgress?: (frames: number) => void;
  /** Output arrived (at most once a second): a heartbeat on real progress. */
  onActivity?: () => void;
}

export interface SegmentScores extends FrameScores {
  frames: number;
  /** libvmaf's version as its log states it (when VMAF ran). */
  libvmaf?: string;
}

/** The per-frame logs are named inside the filter graph, so their directory must need no escaping there. */
const PLAIN_PATH = /^[A-Za-z0-9._/-]+$/;

/** The libvmaf filter's `model` option: a built-in model by version, the phone model as its score transform. */
export function vmafModelOption(v: { model: VmafModel; phoneModel: boolean }): string {
  return v.phoneModel ? `'version=${v.model}\\:enable_transform=true'` : `version=${v.model}`;
}

/** The filter graph of a segment: psnr and ssim leave their scores as frame metadata (6 decimals; their stats files print 2), which one metadata filter writes to `logs.meta`. */
export function segmentGraph(s: SegmentSpec, logs: { meta: string; vmaf: string }): string {
  const prep = (input: number, stream: number) =>
    `[${input}:${stream}]trim=start_frame=${s.decodeFrom}:end_frame=${s.decodeTo},settb=1/25,setpts=N,scale=${s.width}:${s.height}:flags=bicubic,format=${s.pixelFormat}`;
  const order = (['psnr', 'ssim', 'vmaf'] as const).filter((m) => s.metrics.includes(m));
  const lastFilterMetric = order.filter((m) => m !== 'vmaf').pop();
  const refs = order.map((_, i) => `[r${i}]`);
  const parts = [`${prep(0, s.distortedStream)}[d0]`, `${prep(1, s.referenceStream)}${order.length > 1 ? `,split=${order.length}` : ''}${refs.join('')}`];
  order.forEach((m, i) => {
    let filter = m === 'vmaf' ? `libvmaf=model=${vmafModelOption(s.vmaf!)}:n_threads=${s.threads}:log_fmt=json:log_path=${logs.vmaf}:shortest=1` : `${m}=shortest=1`;
    if (m === lastFilterMetric) filter += `,metadata=mode=print:file=${logs.meta}`;
    // The distorted pictures pass through each metric filter (its main input) to the next; the last output goes to the null muxer.
    parts.push(`[d${i}]${refs[i]}${filter}${i < order.length - 1 ? `[d${i + 1}]` : ''}`);
  });
  return parts.join(';');
}

/** Per-frame psnr/ssim scores from the metadata filter's log (`frame:N …` then `lavfi.psnr.psnr.y=…` lines). */
export function parseFrameMetadata(text: string): Pick<FrameScores, 'psnrY' | 'psnrU' | 'psnrV' | 'ssim'> {
  const cols = { psnrY: [] as number[], psnrU: [] as number[], psnrV: [] as number[], ssim: [] as number[] };
  const key: Record<string, keyof typeof cols> = { 'lavfi.psnr.psnr.y': 'psnrY', 'lavfi.psnr.psnr.u': 'psnrU', 'lavfi.psnr.psnr.v': 'psnrV', 'lavfi.ssim.Y': 'ssim' };
  let frame = -1;
  for (const line of text.split('\n')) {
    if (line.startsWith('frame:')) {
      frame++;
      continue;
    }
    const eq = line.indexOf('=');
    const col = key[line.slice(0, eq)];
    if (col && frame >= 0) cols[col][frame] = col === 'ssim' ? Number(line.slice(eq + 1)) : cappedPsnr(line.slice(eq + 1).trim());
  }
  const out: ReturnType<typeof parseFrameMetadata> = {};
  for (const [k, v] of Object.entries(cols)) if (v.length) out[k as keyof typeof cols] = v;
  return out;
}

function parseVmaf(text: string): { scores: number[]; version: string } {
  const j = JSON.parse(text) as { version?: string; frames?: { frameNum: number; metrics: Record<string, number> }[] };
  const scores: number[] = [];
  for (const f of j.frames ?? []) scores[f.frameNum] = f.metrics.vmaf!;
  return { scores, version: j.version ?? 'unknown' };
}

/**
 * Scores one segment. Throws CONTENT_MISMATCH (not retryable) when ffmpeg scores another number of pairs
 * than planned (a side has fewer frames than it was counted to have), TOOL_FAILED when ffmpeg fails,
 * TOOL_TIMEOUT / TOOL_STALLED / CANCELLED as runTool does.
 */
export async function measureSegment(s: SegmentSpec, r: SegmentRun, run: ToolRunner = runTool): Promise<SegmentScores> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vpipe-vqs-'));
  try {
    if (!PLAIN_PATH.test(dir)) throw new VpipeError(ErrorCodes.Internal, `the temporary directory ${dir} has characters a filter graph would need escaped; set TMPDIR to a plain path`);
    const logs = { meta: path.join(dir, 'frames.log'), vmaf: path.join(dir, 'vmaf.json') };
    const threads = ['-threads', String(s.threads)];
    const args = [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1',
      // -reinit_filter 0: a mid-stream size change must not rebuild the graph, which would restart trim's and setpts's frame counts.
      '-reinit_filter', '0', ...threads, ...inputArgs(s.distortedPath),
      '-reinit_filter', '0', ...threads, ...inputArgs(s.referencePath),
      '-filter_complex', segmentGraph(s, logs), '-fps_mode', 'passthrough', '-f', 'null', '-',
    ];
    const res = await run('ffmpeg', args, {
      binary: r.binary,
      signal: r.signal,
      keepStdout: false,
      limit: { mediaSeconds: s.mediaSeconds, kind: 'measure' },
      onActivity: r.onActivity,
      onStdoutLine: (line) => {
        const m = /^frame=(\d+)/.exec(line);
        if (m) r.onProgress?.(Number(m[1]));
      },
    });
    assertToolRan('ffmpeg', res);
    if (res.code !== 0) throw new VpipeError(ErrorCodes.ToolFailed, `measuring frames ${s.startFrame}-${s.endFrame - 1} failed (ffmpeg exit ${res.code}): ${res.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500)}`);
    const read = (f: string) => fs.readFile(f, 'utf8');
    const out: SegmentScores = { frames: s.endFrame - s.startFrame };
    if (s.metrics.includes('psnr') || s.metrics.includes('ssim')) Object.assign(out, parseFrameMetadata(await read(logs.meta)));
    if (s.metrics.includes('vmaf')) {
      const v = parseVmaf(await read(logs.vmaf));
      out.vmaf = v.scores;
      out.libvmaf = v.version;
    }
    const decoded = s.decodeTo - s.decodeFrom;
    for (const col of SCORE_COLUMNS) {
      const values = out[col];
      if (!values) continue;
      if (values.length !== decoded || values.some((x) => typeof x !== 'number' || Number.isNaN(x))) {
        throw new VpipeError(ErrorCodes.ContentMismatch, `frames ${s.decodeFrom}-${s.decodeTo - 1}: ${decoded} frame pairs were planned but ffmpeg scored ${values.length}: one side has fewer frames than counted (did a file change?)`);
      }
      out[col] = values.slice(s.startFrame - s.decodeFrom, s.endFrame - s.decodeFrom);
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
