/**
 * The detector: which recipient's copy is this leak?
 *
 * 1. Decode the leak and the original as 8-bit luma, the original scaled as the copy was (to the
 *    mark size, then to the leak's size), and line leak frame i up with the original frame whose
 *    presentation time, relative to each file's first frame, is nearest (by index when the files
 *    carry no times).
 * 2. Residual = leak − original per frame, less its median, through a redescending weight (Tukey's
 *    biweight, cut off at 6 robust standard deviations, at least 10 codes): burn-in text the
 *    original lacks, boxes, or content that does not match weigh nothing, coding noise passes.
 *    Summed over each segment's frames, since the pattern is constant over a segment.
 * 3. Per segment k, project the summed residual R onto the pattern's nodes (g = Mᵀ R, the adjoint of
 *    the field's interpolation at the leak's size) and correlate with the node difference
 *    d = nodes(k, 1) − nodes(k, 0): c = ⟨g, d⟩. Where the leak carries no pattern of this title, d is
 *    a keyed ±2/0 sequence independent of R, so c has variance 2·‖g‖² exactly and
 *    z = c / sqrt(2·‖g‖²) is a weighted Rademacher sum: unit variance and sub-Gaussian
 *    (P(z > t) ≤ exp(−t²/2)) whatever the content, burn-in or encoding did. That is the noise
 *    estimate; nothing is fitted.
 * 4. Codeword soft values: z of the segments on each codeword position (segment mod 48), summed
 *    and renormalised; exact ML decoding of the two Golay halves (ecc.ts).
 * 5. Decide: the best codeword's normalised correlation D is sub-Gaussian under "no mark of this
 *    title" for any fixed codeword, so over all 2^24 of them P(D ≥ t) ≤ 2^24·exp(−t²/2). At
 *    DETECT_THRESHOLD = 9 that is below 5·10⁻¹¹ per leak. With candidates the union is over them
 *    only, so the threshold drops to sqrt(2·ln(n·10¹⁰)) (7.1 for 8 recipients), never above 9.
 */
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { CODEWORD_BITS, codewordScore, encodePayload, softDecode, type SoftDecision } from './ecc.js';
import { LumaReader, type FrameSource, type LumaFrame, type OriginalFrameCache } from './frames.js';
import { checkSize, checkStrength, DEFAULT_STRENGTH, nodeValues, projectOnNodes, renderField, sampling, titleKey, type Sampling } from './pattern.js';

/** The residual's cut-off (biweight zero) in robust standard deviations of the frame's residual… */
export const RESIDUAL_SIGMAS = 6;
/** …but never below this many 8-bit codes. */
export const RESIDUAL_MIN_CUTOFF = 10;
/** Normalised codeword correlation above which a mark of the title is declared present. */
export const DETECT_THRESHOLD = 9;
/** A payload is reported only when its posterior (given a mark) is at least this. */
export const MIN_POSTERIOR = 0.99;
/** With candidates, the per-leak false-alarm bound the threshold is set for. */
const CANDIDATE_FALSE_ALARM = 1e-10;

export interface DetectOptions {
  leakPath: string;
  originalPath: string;
  /** Segment k = original frames [startFrame, endFrame), in the original's decoded frame order. */
  segments: { startFrame: number; endFrame: number }[];
  titleSeed: string;
  /** The size the mark was applied at. */
  markSize: { width: number; height: number };
  /** The strength the mark was made with (only scales the reported per-segment score). */
  strength?: number;
  signal?: AbortSignal;
  /** Known payloads (the registry's recipients of this title); decoding works without. */
  candidates?: number[];
  /**
   * The original frame number the leak's first frame shows, for a leak cut from later in the title
   * (default 0: the leak starts where the title starts). Times are then taken relative to that frame.
   */
  leakStartFrame?: number;
  /** Keeps decoded originals between calls (many leaks of one title); without it each call decodes the original. */
  originalCache?: OriginalFrameCache;
}

export interface SegmentResult {
  index: number;
  /** Estimated mark amplitude in the leak relative to the one applied, signed: +1 = intact variant 1, −1 = intact variant 0. */
  score: number;
  /** Signed z-score: positive favours variant 1; 0 when no leak frame fell in the segment. */
  z: number;
  /** Leak frames that fell in the segment. */
  frames: number;
}

export interface Detection {
  detected: boolean;
  payload: number | null;
  /** Probability-like confidence in the reported (or best) payload, 0..1. */
  confidence: number;
  segments: SegmentResult[];
  reason?: string;
  framesCompared: number;
  /** Normalised correlation of the best codeword (the statistic compared with the threshold). */
  statistic: number;
  threshold: number;
  /** The ML payload whether or not it is reported, its posterior, and the codeword positions that carried data. */
  decoded: { payload: number; posterior: number; bitsWithData: number };
  /** How leak frames were lined up with the original's. */
  alignment: 'time' | 'index';
  leakSize: { width: number; height: number };
  /** Set when a candidate was scored: the best one and its normalised correlation. */
  candidate?: { payload: number; statistic: number; posterior: number };
}

interface Accumulator {
  sum: Float32Array;
  frames: number;
}

function checkOptions(opts: DetectOptions): { order: number[]; strength: number } {
  titleKey(opts.titleSeed);
  checkSize(opts.markSize?.width, opts.markSize?.height);
  const strength = opts.strength ?? DEFAULT_STRENGTH;
  checkStrength(strength);
  if (!Array.isArray(opts.segments) || opts.segments.length === 0) throw new VpipeError(ErrorCodes.BadRequest, 'forensic detection needs at least one segment');
  opts.segments.forEach((s, k) => {
    if (!Number.isSafeInteger(s.startFrame) || !Number.isSafeInteger(s.endFrame) || s.startFrame < 0 || s.endFrame <= s.startFrame) {
      throw new VpipeError(ErrorCodes.BadRequest, `forensic segment ${k} must have integer frames 0 ≤ startFrame < endFrame, got [${s.startFrame}, ${s.endFrame})`);
    }
  });
  const order = opts.segments.map((_, k) => k).sort((a, b) => opts.segments[a]!.startFrame - opts.segments[b]!.startFrame);
  for (let i = 1; i < order.length; i++) {
    if (opts.segments[order[i]!]!.startFrame < opts.segments[order[i - 1]!]!.endFrame) throw new VpipeError(ErrorCodes.BadRequest, 'forensic segments must not overlap');
  }
  for (const c of opts.candidates ?? []) encodePayload(c);
  const start = opts.leakStartFrame ?? 0;
  if (!Number.isSafeInteger(start) || start < 0) throw new VpipeError(ErrorCodes.BadRequest, `leakStartFrame must be a non-negative integer, got ${start}`);
  return { order, strength };
}

async function readable(file: string, what: string): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new VpipeError(ErrorCodes.BadRequest, `forensic detection needs the ${what} path`);
  try {
    await access(file);
  } catch {
    throw new VpipeError(ErrorCodes.BadRequest, `the ${what} ${file} cannot be read`);
  }
}

export async function detect(opts: DetectOptions): Promise<Detection> {
  const { order, strength } = checkOptions(opts);
  await readable(opts.leakPath, 'leak');
  await readable(opts.originalPath, 'original');
  if (opts.signal?.aborted) throw new VpipeError(ErrorCodes.Cancelled, 'forensic detection cancelled');
  const maxEnd = Math.max(...opts.segments.map((s) => s.endFrame));

  const leak = new LumaReader({ what: 'leak', file: opts.leakPath, signal: opts.signal });
  let original: FrameSource | null = null;
  try {
    const first = await leak.next();
    if (!first) throw new VpipeError(ErrorCodes.BadRequest, `the leak ${opts.leakPath} has no video frames`);
    const { width, height } = leak.size;
    const mw = opts.markSize.width;
    const mh = opts.markSize.height;
    const decode = (): LumaReader => new LumaReader({
      what: 'original', file: opts.originalPath, signal: opts.signal, maxFrames: maxEnd,
      // As the copy was made: the encoder scaled to the mark size, the leak to its own.
      filters: [`scale=${mw}:${mh}`, `scale=${width}:${height}`],
    });
    if (opts.originalCache) {
      const st = await stat(opts.originalPath);
      original = opts.originalCache.open(`${path.resolve(opts.originalPath)}|${st.size}|${st.mtimeMs}|${mw}x${mh}|${width}x${height}`, maxEnd, decode);
    } else original = decode();
    const s = sampling(opts.markSize, width, height);
    const acc = new Map<number, Accumulator>();
    const results: SegmentResult[] = opts.segments.map((_, index) => ({ index, score: 0, z: 0, frames: 0 }));
    const finish = (k: number): void => {
      const a = acc.get(k);
      if (!a) return;
      acc.delete(k);
      results[k] = scoreSegment(opts.titleSeed, k, s, a, strength);
    };

    const align = new Aligner(original, opts.leakStartFrame ?? 0);
    const alignment: 'time' | 'index' = first.pts !== null && (await align.hasTimes()) ? 'time' : 'index';
    let framesCompared = 0;
    let cursor = 0; // into order
    for (let frame: LumaFrame | null = first; frame; frame = await leak.next()) {
      const orig = alignment === 'time' ? await align.byTime(frame, first.pts!) : await align.byIndex(frame.n);
      if (align.done && !orig) break;
      if (!orig) continue;
      const j = orig.n;
      while (cursor < order.length && opts.segments[order[cursor]!]!.endFrame <= j) finish(order[cursor++]!);
      if (cursor >= order.length) break;
      const k = order[cursor]!;
      if (j < opts.segments[k]!.startFrame) continue;
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { sum: new Float32Array(width * height), frames: 0 }));
      addResidual(a, frame.data, orig.data);
      framesCompared++;
    }
    for (const k of [...acc.keys()]) finish(k);
    leak.kill();
    original.kill();
    await Promise.all([leak.closed(), original.closed()]);
    return decide(opts, results, framesCompared, alignment, { width, height });
  } finally {
    leak.kill();
    original?.kill();
  }
}

/** Original frames, read forward only, matched to leak frames. */
export class Aligner {
  private cur: LumaFrame | null = null;
  private nxt: LumaFrame | null = null;
  private started = false;
  private t0 = 0;
  /** True once the original has no more frames to offer. */
  done = false;

  /** `offset`: the original frame the leak's first frame shows (earlier ones are skipped). */
  constructor(
    private readonly reader: FrameSource,
    private readonly offset = 0,
  ) {}

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    do this.cur = await this.reader.next();
    while (this.cur && this.cur.n < this.offset);
    this.nxt = this.cur ? await this.reader.next() : null;
    this.t0 = this.cur?.pts ?? 0;
    if (!this.cur) this.done = true;
  }

  /** Whether the original's first frame has a presentation time (else line up by frame numbers). */
  async hasTimes(): Promise<boolean> {
    await this.start();
    return this.cur !== null && this.cur.pts !== null;
  }

  private async advance(): Promise<void> {
    this.cur = this.nxt;
    this.nxt = this.cur ? await this.reader.next() : null;
  }

  /** The original frame nearest in time (relative to each first frame), within half a frame interval; null if none. */
  async byTime(frame: LumaFrame, leakT0: number): Promise<LumaFrame | null> {
    await this.start();
    if (frame.pts === null) return null;
    const t = frame.pts - leakT0;
    const rel = (f: LumaFrame): number => (f.pts ?? Number.NaN) - this.t0;
    let interval = 0;
    while (this.cur && this.nxt && !(Math.abs(rel(this.nxt) - t) > Math.abs(rel(this.cur) - t))) {
      interval = rel(this.nxt) - rel(this.cur);
      await this.advance();
    }
    if (!this.cur) {
      this.done = true;
      return null;
    }
    if (this.nxt) interval = rel(this.nxt) - rel(this.cur);
    const tol = interval > 0 ? interval / 2 : 0.5 / 24;
    if (!this.nxt && t > rel(this.cur) + tol) this.done = true;
    return Math.abs(rel(this.cur) - t) <= tol + 1e-6 ? this.cur : null;
  }

  /** The original frame of leak frame number n (counting from the offset). */
  async byIndex(n: number): Promise<LumaFrame | null> {
    await this.start();
    const want = n + this.offset;
    while (this.cur && this.cur.n < want) await this.advance();
    if (!this.cur) this.done = true;
    return this.cur && this.cur.n === want ? this.cur : null;
  }
}

/**
 * Adds one frame's residual to a segment: d = leak − original, centred on its median (a level
 * shift of the whole picture is not the mark), then Tukey's biweight ψ(v) = v·(1 − (v/c)²)² for
 * |v| < c, else 0, with c = RESIDUAL_SIGMAS robust standard deviations (1.4826·MAD) but at least
 * RESIDUAL_MIN_CUTOFF codes. Coding noise passes nearly unchanged; burn-in text, boxes and
 * content that does not match (tens of codes) weigh nothing. Residuals are whole codes, so ψ is a
 * table per frame.
 */
function addResidual(a: Accumulator, leak: Uint8Array, orig: Uint8Array): void {
  const n = leak.length;
  const hist = new Int32Array(511);
  for (let i = 0; i < n; i++) hist[leak[i]! - orig[i]! + 255]!++;
  const median = quantileBin(hist, n / 2) - 255;
  const dist = new Int32Array(511);
  for (let b = 0; b < 511; b++) dist[Math.abs(b - 255 - median)]! += hist[b]!;
  const sigma = 1.4826 * quantileBin(dist, n / 2);
  const c = Math.max(RESIDUAL_MIN_CUTOFF, RESIDUAL_SIGMAS * sigma);
  const psi = new Float32Array(511);
  for (let b = 0; b < 511; b++) {
    const v = b - 255 - median;
    const u = v / c;
    psi[b] = Math.abs(u) < 1 ? v * (1 - u * u) * (1 - u * u) : 0;
  }
  const sum = a.sum;
  for (let i = 0; i < n; i++) sum[i]! += psi[leak[i]! - orig[i]! + 255]!;
  a.frames++;
}

/** The first bin at which the running count reaches `rank`. */
function quantileBin(hist: Int32Array, rank: number): number {
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b]!;
    if (seen >= rank) return b;
  }
  return hist.length - 1;
}

function scoreSegment(titleSeed: string, k: number, s: Sampling, a: Accumulator, strength: number): SegmentResult {
  const g = projectOnNodes(s, a.sum);
  const n1 = nodeValues(titleSeed, k, 1, s.grid);
  const n0 = nodeValues(titleSeed, k, 0, s.grid);
  const d = new Int8Array(n1.length);
  let c = 0;
  let g2 = 0;
  for (let i = 0; i < g.length; i++) {
    d[i] = n1[i]! - n0[i]!;
    c += g[i]! * d[i]!;
    g2 += g[i]! * g[i]!;
  }
  const z = g2 > 0 ? c / Math.sqrt(2 * g2) : 0;
  // Full strength would give c = frames·strength·⟨field(n_v), field(d)⟩ ≈ ±frames·strength·‖field(d)‖²/2.
  const fd = renderField(s, d);
  let fd2 = 0;
  for (const v of fd) fd2 += v * v;
  const full = (a.frames * strength * fd2) / 2;
  return { index: k, score: full > 0 ? c / full : 0, z, frames: a.frames };
}

/** Per-codeword-position soft values: the z of the segments on each position, summed and renormalised (0 where none). */
export function codewordSoftValues(segments: readonly { index: number; z: number; frames: number }[]): number[] {
  const sum = new Array<number>(CODEWORD_BITS).fill(0);
  const count = new Array<number>(CODEWORD_BITS).fill(0);
  for (const seg of segments) {
    if (seg.frames <= 0) continue;
    const i = seg.index % CODEWORD_BITS;
    sum[i]! += seg.z;
    count[i]!++;
  }
  return sum.map((v, i) => (count[i]! > 0 ? v / Math.sqrt(count[i]!) : 0));
}

/** Presence: 0.99 at the threshold, → 1 above, 0 a quarter below (1 − 0.01·e^(t² − D²), at least 0). */
function presence(statistic: number, threshold: number): number {
  return Math.max(0, 1 - 0.01 * Math.exp(threshold * threshold - statistic * statistic));
}

function candidateThreshold(n: number): number {
  return Math.min(DETECT_THRESHOLD, Math.sqrt(2 * Math.log(n / CANDIDATE_FALSE_ALARM)));
}

/** The decision from per-segment results (exported for tests: it needs no media). */
export function decide(
  opts: Pick<DetectOptions, 'candidates'>,
  segments: SegmentResult[],
  framesCompared: number,
  alignment: 'time' | 'index',
  leakSize: { width: number; height: number },
): Detection {
  const z = codewordSoftValues(segments);
  const ml = softDecode(z);
  const base = {
    segments, framesCompared, alignment, leakSize, statistic: ml.statistic, threshold: DETECT_THRESHOLD,
    decoded: { payload: ml.payload, posterior: ml.posterior, bitsWithData: ml.bitsWithData },
  };
  if (framesCompared === 0) {
    return { ...base, detected: false, payload: null, confidence: 0, reason: 'no leak frame lined up with a segment of the original' };
  }
  const candidate = opts.candidates?.length ? bestCandidate(z, ml, opts.candidates) : undefined;
  const present = ml.statistic >= DETECT_THRESHOLD;
  if (candidate?.accepted) {
    return {
      ...base, detected: true, payload: candidate.payload, candidate: strip(candidate),
      confidence: presence(Math.max(ml.statistic, candidate.statistic), candidate.threshold) * candidate.posterior,
    };
  }
  const confidence = presence(ml.statistic, DETECT_THRESHOLD) * ml.posterior;
  if (!present) {
    return {
      ...base, detected: false, payload: null, confidence, candidate: candidate && strip(candidate),
      reason: `no mark of this title: codeword correlation ${ml.statistic.toFixed(2)} is below ${DETECT_THRESHOLD}`,
    };
  }
  if (ml.posterior < MIN_POSTERIOR) {
    return {
      ...base, detected: true, payload: null, confidence, candidate: candidate && strip(candidate),
      reason: `a mark of this title is present but the payload is ambiguous (posterior ${ml.posterior.toFixed(3)}, ${ml.bitsWithData} of ${CODEWORD_BITS} codeword bits seen)`,
    };
  }
  return { ...base, detected: true, payload: ml.payload, confidence, candidate: candidate && strip(candidate) };
}

interface CandidateChoice {
  payload: number;
  statistic: number;
  posterior: number;
  threshold: number;
  accepted: boolean;
}

const strip = (c: CandidateChoice): { payload: number; statistic: number; posterior: number } => ({ payload: c.payload, statistic: c.statistic, posterior: c.posterior });

/**
 * The best known payload, accepted when it matches the decoded codeword well: its posterior among
 * the candidates is at least MIN_POSTERIOR and its likelihood is within a factor 100 of the ML
 * codeword's (so a leak by someone outside the list is not pinned on the nearest name in it).
 */
function bestCandidate(z: number[], ml: SoftDecision, candidates: number[]): CandidateChoice {
  const unique = [...new Set(candidates)];
  const scores = unique.map((c) => codewordScore(z, c));
  let best = 0;
  scores.forEach((v, i) => {
    if (v > scores[best]!) best = i;
  });
  const top = scores[best]!;
  const mu = ml.mu;
  const posterior = 1 / scores.reduce((sum, v) => sum + Math.exp(mu * (v - top)), 0);
  const mlScore = ml.statistic * Math.sqrt(ml.bitsWithData);
  const nearML = mu * (mlScore - top) <= Math.log(100);
  const statistic = ml.bitsWithData > 0 ? top / Math.sqrt(ml.bitsWithData) : 0;
  const threshold = candidateThreshold(unique.length);
  return { payload: unique[best]!, statistic, posterior, threshold, accepted: posterior >= MIN_POSTERIOR && nearML && statistic >= threshold };
}
