/**
 * Test-side truth for "the encoded output matches its source frame by frame".
 *
 * Independent of vpipe on purpose: it imports nothing from runtime/ or actors/
 * and only spawns ffprobe/ffmpeg itself, so a bug in vpipe's own probing or
 * argument building cannot hide behind the check that is meant to catch it.
 *
 * What it measures, per file:
 *  - ffprobe decodes the first video stream (`-show_frames`, frames not packets)
 *    and reports each decoded frame's best-effort timestamp. Those are the
 *    frames a linear decode shows; counts and times come from here. Times are
 *    computed from the integer timestamps and the stream time base (not the
 *    6-decimal `*_time` strings) and made relative to the first decoded frame.
 *  - For the output, the same ffprobe run also lists the video packets' DTS in
 *    decode (file) order.
 *
 * PSNR is paired BY INDEX: one ffmpeg run with both files as inputs; each
 * branch is re-timed with `settb=1/25,setpts=N` (settb first, so a coarse input
 * time base cannot make two frames round to the same pts), so the psnr filter's
 * timestamp sync sees frame i of the output at the same pts as frame i of the
 * source, whatever the files' own timestamps are (duplicates, gaps, wraps,
 * start offsets, VFR). `shortest=1:repeatlast=0` makes it stop at the end of
 * the shorter input instead of comparing against a repeated last frame, and
 * `-fps_mode passthrough` keeps ffmpeg from duplicating or dropping frames on
 * the way to the null muxer. `-reinit_filter 0` keeps a mid-stream resolution
 * change from rebuilding the graph (which would restart N and break pairing);
 * the scale filters absorb such a change instead. The number of PSNR values is
 * checked against min(sourceFrames, outputFrames) and a mismatch throws, so a
 * disagreement between ffmpeg's and ffprobe's decode can never pass silently.
 *
 * PSNR value: the psnr filter's `psnr_avg` — the MSE of Y, U and V averaged
 * with plane-size weights (on 4:2:0: Y 4/6, U 1/6, V 1/6), turned into dB —
 * computed on yuv420p 8-bit, the convention x264/ffmpeg report. Both branches
 * are scaled (bicubic, accurate rounding) to the source's first-frame size, or
 * to opts.width x opts.height, and converted to yuv420p, which accepts any
 * source format (rgb24, pal8, bgra, yuvj422p, yuv410p, 10-bit...); for the
 * common yuv420p-in/yuv420p-out case at equal size both filters are no-ops, so
 * nothing is resampled. Consequence: chroma detail a 4:4:4/RGB source has
 * beyond 4:2:0 is not part of the score (a 4:2:0 encode of testsrc2 in rgb24
 * would score ~33 dB on yuv444p for that loss alone, ~43 dB here). Identical
 * frames (psnr "inf") are capped at 100 dB. ffmpeg's default autorotate stays
 * on, so both files are compared as displayed.
 */
import { spawn } from 'node:child_process';

export interface FrameCheck {
  /** Frames a linear decode of the source shows (ffprobe -show_frames of v:0). */
  sourceFrames: number;
  /** Frames a linear decode of the output shows. */
  outputFrames: number;
  /** Presentation times (s) of decoded source frames, in decode-output order, relative to the first frame. A frame without any timestamp gets previous time + previous packet duration (counted in sourceTimesSynthesized); NaN only if no duration is known either. */
  sourceTimes: number[];
  /** Same for the output. */
  outputTimes: number[];
  /** Packet DTS of the output's video stream in decode (file) order, seconds, not rebased. NaN where a packet has none. */
  outputDts: number[];
  /**
   * Each known output packet DTS is greater than the previous known one. Packets without a DTS are
   * skipped (Matroska stores no DTS, so lavf reports N/A for the first packets of a B-frame stream);
   * outputDtsMissing counts them, assert it is 0 where the container must carry DTS.
   */
  dtsStrictlyIncreasing: boolean;
  /** Packets of outputDts whose DTS is N/A. */
  outputDtsMissing: number;
  /** Every decoded output frame's time is greater than the one before (over outputTimes, synthesized ones included). */
  ptsStrictlyIncreasing: boolean;
  /** Frames whose time had to be synthesized (no best_effort_timestamp/pts/pkt_dts, e.g. raw .h264). */
  sourceTimesSynthesized: number;
  outputTimesSynthesized: number;
  /** max |outputTimes[i] - sourceTimes[i]| over i < min(sourceFrames, outputFrames); NaN when there is no common frame. */
  maxTimeErrorSeconds: number;
  /** psnr_avg (Y+U+V, plane-size weighted, on yuv420p) of output frame i vs source frame i, paired by index; length min(sourceFrames, outputFrames); identical frames capped at 100. */
  psnr: number[];
  /** NaN when psnr is empty. */
  minPsnr: number;
  /** NaN when psnr is empty. */
  meanPsnr: number;
}

export interface VerifyOptions {
  /** Compare both files scaled to this size instead of scaling the output to the source size. Give both or neither. */
  width?: number;
  height?: number;
  /** Per-tool wall-clock limit, default 10 minutes. */
  timeoutMs?: number;
  /** Compare only this rectangle (after scaling): what the output drew on purpose (a burn-in) stays out. */
  crop?: { x: number; y: number; width: number; height: number };
}

/** Cap for identical frames (psnr reports inf). */
export const PSNR_CAP = 100;

const FRAME_RATE_FOR_PAIRING = 25;

interface ToolResult {
  stdout: string;
  stderr: string;
}

function runTool(cmd: 'ffmpeg' | 'ffprobe', args: string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString('utf8');
      if (err.length > 128 * 1024) err = err.slice(-64 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: err });
      else reject(new Error(`${cmd} ${args.join(' ')} failed (code ${code}, signal ${signal}): ${err.slice(-4000)}`));
    });
  });
}

/** A path ffmpeg/ffprobe cannot mistake for an option, a protocol URL or an image-sequence pattern. */
function fileUrl(p: string): string {
  return `file:${p}`;
}

interface ProbeEntry {
  type?: string;
  dts?: number;
  pts?: number;
  pkt_dts?: number;
  best_effort_timestamp?: number;
  pkt_duration?: number;
  width?: number;
  height?: number;
}

interface Probe {
  /** Raw frame timestamps in stream time base, in decoder output order; gaps filled as ffmpeg does (see frameTimestamps). */
  frameTs: number[];
  /** How many of frameTs were synthesized rather than read. */
  synthesized: number;
  /** Raw packet DTS in stream time base (NaN if absent), in file order. */
  packetDts: number[];
  tbNum: number;
  tbDen: number;
  width: number;
  height: number;
}

async function probe(file: string, withPackets: boolean, timeoutMs: number): Promise<Probe> {
  const entries = ['stream=time_base,width,height', 'frame=best_effort_timestamp,pts,pkt_dts,pkt_duration,width,height'];
  if (withPackets) entries.push('packet=dts');
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', entries.join(':'), '-of', 'json', fileUrl(file)],
    timeoutMs,
  );
  const j = JSON.parse(stdout) as {
    frames?: ProbeEntry[];
    packets?: ProbeEntry[];
    packets_and_frames?: ProbeEntry[];
    streams?: { time_base?: string; width?: number; height?: number }[];
  };
  const stream = j.streams?.[0];
  if (!stream) throw new Error(`verifyOutput: ${file} has no video stream`);
  const tb = /^(\d+)\/(\d+)$/.exec(stream.time_base ?? '');
  if (!tb) throw new Error(`verifyOutput: ${file}: unreadable time_base ${String(stream.time_base)}`);
  const frames: ProbeEntry[] = [];
  const packets: ProbeEntry[] = [];
  // With both -show_frames and -show_packets ffprobe emits one interleaved "packets_and_frames" list.
  for (const e of j.packets_and_frames ?? []) (e.type === 'packet' ? packets : frames).push(e);
  frames.push(...(j.frames ?? []));
  packets.push(...(j.packets ?? []));
  const num = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
  const first = frames[0];
  const { ts, synthesized } = frameTimestamps(frames, num);
  return {
    frameTs: ts,
    synthesized,
    packetDts: packets.map((p) => num(p.dts)),
    tbNum: Number(tb[1]),
    tbDen: Number(tb[2]),
    width: first?.width ?? stream.width ?? 0,
    height: first?.height ?? stream.height ?? 0,
  };
}

/**
 * best_effort_timestamp, else pts, else pkt_dts. A frame with none of them
 * (raw elementary streams such as .h264/.m2v: ffprobe reports N/A for every
 * frame, and -fflags +genpts does not help) gets the previous frame's time plus
 * the previous frame's packet duration, the first frame 0 — what ffmpeg's own
 * decode loop does. Left NaN only if no duration is known either.
 */
function frameTimestamps(frames: ProbeEntry[], num: (v: number | undefined) => number): { ts: number[]; synthesized: number } {
  const ts: number[] = [];
  let synthesized = 0;
  frames.forEach((f, i) => {
    let t = num(f.best_effort_timestamp ?? f.pts ?? f.pkt_dts);
    if (Number.isNaN(t)) {
      const prev = frames[i - 1];
      const dur = num(prev?.pkt_duration ?? f.pkt_duration);
      t = i === 0 ? 0 : ts[i - 1]! + dur;
      synthesized++;
    }
    ts.push(t);
  });
  return { ts, synthesized };
}

/** NaN entries are skipped (a value that is absent cannot go backwards); all-NaN is not increasing. */
function strictlyIncreasingKnown(xs: number[]): boolean {
  const known = xs.filter((x) => !Number.isNaN(x));
  return known.length > 0 && strictlyIncreasing(known);
}

function strictlyIncreasing(xs: number[]): boolean {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (Number.isNaN(x)) return false;
    if (i > 0 && !(x > xs[i - 1]!)) return false;
  }
  return true;
}

/** Raw timestamps -> seconds relative to the first frame (integer subtraction first, so large TS offsets lose nothing). */
function relativeSeconds(ts: number[], tbNum: number, tbDen: number): number[] {
  const t0 = ts[0] ?? NaN;
  return ts.map((t) => ((t - t0) * tbNum) / tbDen);
}

async function psnrByIndex(
  source: string,
  output: string,
  w: number,
  h: number,
  timeoutMs: number,
  crop?: VerifyOptions['crop'],
): Promise<number[]> {
  const retime = `settb=1/${FRAME_RATE_FOR_PAIRING},setpts=N`;
  const scale = `scale=w=${w}:h=${h}:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p${crop ? `,crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}` : ''}`;
  const graph =
    `[0:v:0]${retime},${scale}[main];` +
    `[1:v:0]${retime},${scale}[ref];` +
    `[main][ref]psnr=stats_file=-:shortest=1:repeatlast=0:eof_action=endall[cmp]`;
  const { stdout } = await runTool(
    'ffmpeg',
    [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
      '-reinit_filter', '0', '-i', fileUrl(output),
      '-reinit_filter', '0', '-i', fileUrl(source),
      '-filter_complex', graph,
      '-map', '[cmp]', '-fps_mode', 'passthrough', '-an', '-sn', '-dn',
      '-f', 'null', '-',
    ],
    timeoutMs,
  );
  const values: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const n = /(?:^|\s)n:(\d+)/.exec(line);
    const p = /psnr_avg:(\S+)/.exec(line);
    if (!n || !p) throw new Error(`verifyOutput: unparsable psnr line: ${line}`);
    const idx = Number(n[1]) - 1;
    if (idx !== values.length) throw new Error(`verifyOutput: psnr frame numbers not contiguous at line: ${line}`);
    const v = p[1] === 'inf' ? PSNR_CAP : Number(p[1]);
    if (Number.isNaN(v)) throw new Error(`verifyOutput: bad psnr value in line: ${line}`);
    values.push(Math.min(v, PSNR_CAP));
  }
  return values;
}

export async function verifyOutput(source: string, output: string, opts: VerifyOptions = {}): Promise<FrameCheck> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  if ((opts.width === undefined) !== (opts.height === undefined)) {
    throw new Error('verifyOutput: give both width and height, or neither');
  }
  const [src, out] = await Promise.all([probe(source, false, timeoutMs), probe(output, true, timeoutMs)]);

  const sourceFrames = src.frameTs.length;
  const outputFrames = out.frameTs.length;
  const common = Math.min(sourceFrames, outputFrames);
  const sourceTimes = relativeSeconds(src.frameTs, src.tbNum, src.tbDen);
  const outputTimes = relativeSeconds(out.frameTs, out.tbNum, out.tbDen);
  const outputDts = out.packetDts.map((d) => (d * out.tbNum) / out.tbDen);

  let maxTimeErrorSeconds = common > 0 ? 0 : NaN;
  for (let i = 0; i < common; i++) {
    const e = Math.abs(outputTimes[i]! - sourceTimes[i]!);
    // NaN (a frame without any timestamp) must poison the result, not be skipped by Math.max semantics.
    maxTimeErrorSeconds = Number.isNaN(e) ? NaN : Math.max(maxTimeErrorSeconds, e);
    if (Number.isNaN(maxTimeErrorSeconds)) break;
  }

  let psnr: number[] = [];
  if (common > 0) {
    const w = opts.width ?? src.width;
    const h = opts.height ?? src.height;
    if (!(w > 0 && h > 0)) throw new Error(`verifyOutput: no frame size for ${source}`);
    psnr = await psnrByIndex(source, output, w, h, timeoutMs, opts.crop);
    if (psnr.length !== common) {
      throw new Error(
        `verifyOutput: psnr pass compared ${psnr.length} frames but ffprobe decoded ${sourceFrames} (source) / ${outputFrames} (output); ` +
          'ffmpeg and ffprobe disagree on the decode, so the by-index pairing cannot be trusted',
      );
    }
  }

  return {
    sourceFrames,
    outputFrames,
    sourceTimes,
    outputTimes,
    outputDts,
    dtsStrictlyIncreasing: strictlyIncreasingKnown(out.packetDts),
    outputDtsMissing: out.packetDts.filter((d) => Number.isNaN(d)).length,
    ptsStrictlyIncreasing: outputFrames > 0 && strictlyIncreasing(out.frameTs),
    sourceTimesSynthesized: src.synthesized,
    outputTimesSynthesized: out.synthesized,
    maxTimeErrorSeconds,
    psnr,
    minPsnr: psnr.length ? psnr.reduce((a, b) => Math.min(a, b), Infinity) : NaN,
    meanPsnr: psnr.length ? psnr.reduce((a, b) => a + b, 0) / psnr.length : NaN,
  };
}
