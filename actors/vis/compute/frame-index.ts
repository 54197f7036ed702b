/**
 * Builds the frame index from VIS's linear decode: every frame the decoder
 * shows (time, duration, key flag, picture CRC), timestamps made strictly
 * increasing where the decode's were not, and the candidate sync points (the
 * decoder's key frames and the container's sync samples) verified by
 * seeking: a point counts only if a seek-and-decode from it reproduces the
 * linear decode's pictures.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { Rational } from '../../../schemas/common.js';
import type { RandomAccessPoint } from '../../../schemas/frame-index.js';

/** One line of ffmpeg's framecrc muxer: `stream, dts, pts, duration, size, 0xCRC`. */
export interface CrcFrame {
  pts: number;
  duration: number;
  hash: number;
}

/** Parses a framecrc file (run with `-enc_time_base -1`, so times are in the stream's time base). Throws TOOL_FAILED when it has no time base line. */
export function parseFrameCrc(text: string): { timeBase: Rational; frames: CrcFrame[] } {
  let timeBase: Rational | null = null;
  const frames: CrcFrame[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      const m = /^#tb 0: (\d+)\/(\d+)/.exec(line);
      if (m) timeBase = { num: Number(m[1]), den: Number(m[2]) };
      continue;
    }
    const parts = line.split(',');
    if (parts.length < 6) continue;
    const hash = Number.parseInt(parts[5]!.trim(), 16);
    frames.push({ pts: Number(parts[2]), duration: Number(parts[3]), hash: Number.isFinite(hash) ? hash >>> 0 : 0 });
  }
  if (!timeBase || timeBase.num <= 0) throw new VpipeError(ErrorCodes.ToolFailed, 'the frame CRC list has no time base');
  return { timeBase, frames };
}

/** ffmpeg showinfo's per-frame line: frame number, key flag, picture type. */
const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS).*?\biskey:(\d)\s+type:(\S)/;

/** Collects the key flags from showinfo lines on stderr (other lines are ignored). */
export class ShowinfoReader {
  readonly key: boolean[] = [];
  push(line: string): void {
    if (!line.includes('iskey:')) return;
    const m = SHOWINFO.exec(line);
    if (m) this.key[Number(m[1])] = m[3] === '1';
  }
}

export interface TimeRepair {
  pts: number[];
  duration: number[];
  repaired: [number, number][];
  nonIncreasing: number;
  duplicates: number;
  jittered: number;
  maxJitter: number;
  medianDuration: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Makes decoded times strictly increasing: a frame whose time is not after its predecessor's is
 * spread evenly, with the rest of its run, up to the next frame that is later (or by the median
 * duration at the end). Durations are then the gaps to the next frame. Pure.
 */
export function repairTimes(decoded: number[], decodedDurations: number[]): TimeRepair {
  const n = decoded.length;
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) if (decoded[i]! > decoded[i - 1]!) gaps.push(decoded[i]! - decoded[i - 1]!);
  const med = Math.max(1, Math.round(median(gaps.length ? gaps : decodedDurations.filter((d) => d > 0))) || 1);
  const pts = decoded.slice();
  const repaired: [number, number][] = [];
  let nonIncreasing = 0;
  let duplicates = 0;
  for (let i = 1; i < n; i++) {
    if (decoded[i]! > pts[i - 1]!) continue;
    // A run [i, j) of frames not after pts[i-1]; j is the next frame that is.
    let j = i;
    while (j < n && decoded[j]! <= pts[i - 1]!) j++;
    const from = pts[i - 1]!;
    const to = j < n ? decoded[j]! : from + med * (j - i + 1);
    const step = (to - from) / (j - i + 1);
    for (let k = i; k < j; k++) {
      nonIncreasing++;
      if (decoded[k] === decoded[k - 1]) duplicates++;
      // At least a tick apart; when the next frame is too close, it is pushed along too (by the loop).
      const t = Math.max(pts[k - 1]! + 1, Math.round(from + step * (k - i + 1)));
      repaired.push([k, decoded[k]!]);
      pts[k] = t;
    }
    i = j - 1;
  }
  const duration = pts.map((t, i) => (i + 1 < n ? pts[i + 1]! - t : decodedDurations[i]! > 0 ? decodedDurations[i]! : med));
  // Jitter: durations a tick or two off a nominal duration that the time base can express exactly.
  // When the nominal duration is not a whole number of ticks (17 fps in 1/90000, 24 fps in 1/1000),
  // alternating floor/ceil durations are the container's rounding, not jitter.
  let jittered = 0;
  let maxJitter = 0;
  const near = duration.slice(0, -1).filter((d) => Math.abs(d - med) <= 2);
  const mean = near.length ? near.reduce((a, b) => a + b, 0) / near.length : med;
  if (med >= 100 && Math.abs(mean - med) < 0.05) {
    for (let i = 0; i + 1 < n; i++) {
      const dev = Math.abs(duration[i]! - med);
      if (dev > 0 && dev <= 2) {
        jittered++;
        maxJitter = Math.max(maxJitter, dev);
      }
    }
  }
  return { pts, duration, repaired, nonIncreasing, duplicates, jittered, maxJitter: Math.round(maxJitter), medianDuration: med };
}

/** Frames compared after a seek, and the most non-source frames a decoder may show first (open-GOP leading pictures). */
export const RAP_MATCH_FRAMES = 4;
export const RAP_MAX_LEAD = 16;
/** ffmpeg.c's `dts_heuristic`: for a stream with B-frame delay in a format that does not seek by pts, -ss seeks this much earlier. */
export const FFMPEG_DTS_SEEK_BACKOFF_SECONDS = 3 / 23 + 0.001;
/** Candidates looked at per round (a round's misses get a second look before the next round). */
const RAP_BATCH = 12;

/**
 * Key frames worth checking: at least `spacingSeconds` apart (the first after frame 0 included),
 * so an intra-only two-hour source is not checked 170,000 times. Pure.
 */
export function rapCandidates(key: boolean[], pts: number[], tb: Rational, spacingSeconds: number): number[] {
  const out: number[] = [];
  let last = 0;
  const spacing = (spacingSeconds * tb.den) / tb.num;
  for (let i = 1; i < pts.length; i++) {
    if (!key[i]) continue;
    if (pts[i]! - pts[last]! < spacing - 1e-9) continue;
    out.push(i);
    last = i;
  }
  return out;
}

/**
 * Where to seek for frame `i`: a quarter of the way to the next frame, so decimal rounding never
 * lands before it, nor (in a time base of one tick per frame) on the next frame.
 */
export function seekSecondsFor(pts: number[], tb: Rational, i: number, medianDuration: number): number {
  const next = i + 1 < pts.length ? pts[i + 1]! : pts[i]! + medianDuration;
  return ((pts[i]! + (next - pts[i]!) / 4) * tb.num) / tb.den;
}

/** The lead L at which the seek's pictures match the index from frame `frame` on, or null. Pure. */
export function matchLead(seen: number[], hash: number[], frame: number): number | null {
  const m = Math.min(RAP_MATCH_FRAMES, hash.length - frame);
  if (m <= 0) return null;
  for (let lead = 0; lead <= RAP_MAX_LEAD && lead + m <= seen.length; lead++) {
    let ok = true;
    for (let j = 0; j < m && ok; j++) ok = seen[lead + j] === hash[frame + j];
    if (ok) return lead;
  }
  return null;
}

export interface VerifyInput {
  path: string;
  streamIndex: number;
  pts: number[];
  hash: number[];
  timeBase: Rational;
  medianDuration: number;
  candidates: number[];
  workDir: string;
  signal?: AbortSignal;
}

/**
 * Seeks to each candidate (batches of inputs in one ffmpeg) and keeps those whose decode
 * reproduces the index. Frame 0 is always a point (a decode from the start). A batch whose
 * ffmpeg fails counts its candidates as failed; throws only CANCELLED / TOOL_MISSING / TOOL_TIMEOUT.
 */
export async function verifyRandomAccess(v: VerifyInput, run: ToolRunner = runTool): Promise<{ raps: RandomAccessPoint[]; failed: number[]; seconds: number }> {
  const started = performance.now();
  const raps: RandomAccessPoint[] = [{ frame: 0, seekSeconds: 0, lead: 0 }];
  const failed: number[] = [];
  // A seek may land early: ffmpeg moves -ss back 3/23 s for streams with B-frame delay in formats
  // that seek by dts (AVI, Matroska), so the demuxer picks the sync point before. Where a seek lands
  // is all that matters (the chunk encoder seeks with exactly the same arguments), so the check
  // learns it: once a seek needed the back-off, later ones start with it. A first look decodes a
  // few frames; candidates that do not match get a second look with the full lead window, at both
  // seek times.
  let backoff = 0;
  // The first candidate alone, so what it teaches about the back-off applies to all the others.
  for (let b = 0; b < v.candidates.length; b = b === 0 ? 1 : b + RAP_BATCH) {
    const batch = v.candidates.slice(b, b === 0 ? 1 : b + RAP_BATCH);
    const base = batch.map((f) => seekSecondsFor(v.pts, v.timeBase, f, v.medianDuration));
    const first = await seekAndList(v, base.map((t) => t + backoff), `a${b}`, RAP_MATCH_FRAMES + 2, run);
    const again: { frame: number; seeks: number[] }[] = [];
    batch.forEach((frame, k) => {
      const lead = matchLead(first[k]!, v.hash, frame);
      if (lead !== null) raps.push({ frame, seekSeconds: base[k]! + backoff, lead });
      else again.push({ frame, seeks: backoff > 0 ? [base[k]! + backoff, base[k]!] : [base[k]!, base[k]! + FFMPEG_DTS_SEEK_BACKOFF_SECONDS] });
    });
    if (again.length === 0) continue;
    const second = await seekAndList(v, again.flatMap((c) => c.seeks), `b${b}`, RAP_MAX_LEAD + RAP_MATCH_FRAMES, run);
    again.forEach((c, k) => {
      const tries = c.seeks.map((seek, j) => ({ seek, lead: matchLead(second[2 * k + j]!, v.hash, c.frame) })).filter((t) => t.lead !== null);
      if (tries.length === 0) {
        failed.push(c.frame);
        return;
      }
      const best = tries.reduce((x, y) => (y.lead! < x.lead! ? y : x));
      raps.push({ frame: c.frame, seekSeconds: best.seek, lead: best.lead! });
      if (best.seek > seekSecondsFor(v.pts, v.timeBase, c.frame, v.medianDuration) + 1e-9) backoff = FFMPEG_DTS_SEEK_BACKOFF_SECONDS;
    });
  }
  raps.sort((a, b) => a.frame - b.frame);
  failed.sort((a, b) => a - b);
  return { raps, failed, seconds: (performance.now() - started) / 1000 };
}

/** Seek checks run at once (each is a short ffmpeg of its own: one process with many inputs keeps decoding inputs whose outputs are done). */
const SEEK_CONCURRENCY = 2;

/** The CRCs of the first `frames` pictures each seek decodes (empty where the seek failed); one ffmpeg per seek. */
async function seekAndList(v: VerifyInput, seeks: number[], tag: string, frames: number, run: ToolRunner): Promise<number[][]> {
  const out: number[][] = new Array(seeks.length);
  let next = 0;
  const one = async (k: number) => {
    const file = path.join(v.workDir, `rap-${tag}-${k}.crc`);
    const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-noautorotate', '-ss', seeks[k]!.toFixed(6), '-noaccurate_seek', ...inputArgs(v.path)];
    args.push('-map', `0:${v.streamIndex}`, '-frames:v', String(frames), '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framecrc', '-y', `file:${file}`);
    const r = await run('ffmpeg', args, { signal: v.signal, timeoutMs: 120_000 });
    assertToolRan('ffmpeg', r);
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    await fs.rm(file, { force: true });
    try {
      out[k] = text ? parseFrameCrc(text).frames.map((x) => x.hash) : [];
    } catch {
      out[k] = [];
    }
  };
  const lane = async () => {
    while (next < seeks.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(SEEK_CONCURRENCY, seeks.length) }, lane));
  return out;
}
