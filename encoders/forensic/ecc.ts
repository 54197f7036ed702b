/**
 * The payload code: a 24-bit recipient payload as two extended Golay [24,12,8] codewords, 48 bits.
 *
 * Why this code: each codeword bit costs one segment (one encoder chunk in two variants), so the
 * code has to be short, and the detector sees soft values (a z-score per segment), so it should be
 * one whose maximum-likelihood soft decoding is cheap. The extended Golay code is the classic fit:
 * 12 information bits in 24, minimum distance 8 (3 hard errors or 7 erasures corrected per half,
 * and detected beyond that), and only 4096 codewords per half, so exact ML decoding is a scan over
 * all of them (4096 × 24 additions) rather than an approximation. Two halves give the 24-bit
 * payload in 48 segments; rate 1/2 doubles the segments a payload needs, which is the price of
 * surviving a few segments that a re-encode wiped out. The halves are interleaved (even codeword
 * positions carry half A, odd ones half B), so a run of missing or damaged segments, such as a
 * trimmed end or a scene the attack flattened, is shared by both halves: any 14 consecutive
 * segments can be lost and each half still decodes.
 */
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';

export const PAYLOAD_BITS = 24;
/** Two extended Golay [24,12,8] codewords, interleaved. */
export const CODEWORD_BITS = 48;
const HALF_BITS = 24;
const INFO_BITS = 12;

/**
 * The parity part B of the generator [I | B] of the extended Golay code (B is symmetric, B² = I):
 * row i is the parity of information bit i, most significant bit first.
 */
const GOLAY_B: readonly number[] = [
  0b110111000101, 0b101110001011, 0b011100010111, 0b111000101101, 0b110001011011, 0b100010110111,
  0b000101101111, 0b001011011101, 0b010110111001, 0b101101110001, 0b011011100011, 0b111111111110,
];

/** The 24-bit codeword of 12 information bits: information in bits 23..12, parity in bits 11..0. */
export function golayEncode(info: number): number {
  if (!Number.isInteger(info) || info < 0 || info >= 1 << INFO_BITS) throw new RangeError(`Golay information word out of range: ${info}`);
  let parity = 0;
  for (let i = 0; i < INFO_BITS; i++) if ((info >> (INFO_BITS - 1 - i)) & 1) parity ^= GOLAY_B[i]!;
  return (info << INFO_BITS) | parity;
}

/** All 4096 codewords, indexed by their information word. */
export const GOLAY_CODEWORDS: readonly number[] = Array.from({ length: 1 << INFO_BITS }, (_, i) => golayEncode(i));

/** Bit j (0 = most significant) of a 24-bit codeword. */
const golayBit = (cw: number, j: number): 0 | 1 => ((cw >> (HALF_BITS - 1 - j)) & 1) as 0 | 1;

/** Codeword position of bit j of half h (0 = A, the payload's high 12 bits; 1 = B). */
const position = (h: 0 | 1, j: number): number => 2 * j + h;

/** The 48 codeword bits of a payload; throws BAD_REQUEST outside 0..2^24-1. */
export function encodePayload(payload: number): (0 | 1)[] {
  if (!Number.isInteger(payload) || payload < 0 || payload >= 2 ** PAYLOAD_BITS) {
    throw new VpipeError(ErrorCodes.BadRequest, `forensic payload must be an integer in 0..${2 ** PAYLOAD_BITS - 1}, got ${payload}`);
  }
  const halves = [golayEncode(payload >>> INFO_BITS), golayEncode(payload & 0xfff)] as const;
  const bits = new Array<0 | 1>(CODEWORD_BITS);
  for (const h of [0, 1] as const) for (let j = 0; j < HALF_BITS; j++) bits[position(h, j)] = golayBit(halves[h], j);
  return bits;
}

/** The variant segment `segment` carries for `payload`: codeword bit segment mod CODEWORD_BITS (longer titles repeat the codeword). */
export function variantFor(payload: number, segment: number): 0 | 1 {
  if (!Number.isInteger(segment) || segment < 0) throw new VpipeError(ErrorCodes.BadRequest, `segment must be a non-negative integer, got ${segment}`);
  return encodePayload(payload)[segment % CODEWORD_BITS]!;
}

/** Hard decoding of one half (nearest codeword); for tests and diagnostics. */
export function golayDecodeHard(received: number): { info: number; distance: number } {
  let best = 0;
  let distance = HALF_BITS + 1;
  GOLAY_CODEWORDS.forEach((cw, info) => {
    const d = popcount(cw ^ received);
    if (d < distance) [best, distance] = [info, d];
  });
  return { info: best, distance };
}

export function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

export interface HalfDecision {
  /** The 12 information bits of the ML codeword. */
  info: number;
  /** Σ z·(±1) of the ML codeword (+1 where its bit is 1). */
  score: number;
  /** Score of the runner-up codeword. */
  second: number;
  /** Posterior of the ML codeword among all 4096, given a per-bit signal level mu (see softDecode). */
  posterior: number;
}

export interface SoftDecision {
  payload: number;
  /** The ML codeword's bits. */
  bits: (0 | 1)[];
  /** Correlation of the soft values with the ML codeword, normalised: Σ z·(±1) / sqrt(bits with data). */
  statistic: number;
  /** Bits that carried any data (the rest are erasures). */
  bitsWithData: number;
  /** Estimated mean |z| a bit carries under the mark (statistic / sqrt(bitsWithData)), ≥ 0. */
  mu: number;
  halves: [HalfDecision, HalfDecision];
  /** Product of the halves' posteriors: the probability the payload is right given that a mark is present. */
  posterior: number;
}

/**
 * Exact maximum-likelihood soft decoding of a 48-position vector of per-bit soft values, one z-score
 * per codeword position: positive favours bit 1, 0 is an erasure, NaN counts as an erasure. Under
 * a mark each z is about ±mu with unit noise, so log P(codeword) = mu·Σ z·(±1) + const: the ML
 * codeword of each half maximises the correlation, and its posterior is
 * 1 / Σ_c exp(mu·(score_c − score_best)).
 */
export function softDecode(z: readonly number[]): SoftDecision {
  if (z.length !== CODEWORD_BITS) throw new RangeError(`softDecode needs ${CODEWORD_BITS} soft values, got ${z.length}`);
  const clean = z.map((v) => (Number.isFinite(v) ? v : 0));
  const bitsWithData = clean.filter((v) => v !== 0).length;
  const perHalf = ([0, 1] as const).map((h) => scanHalf(Array.from({ length: HALF_BITS }, (_, j) => clean[position(h, j)]!)));
  const total = perHalf[0]!.best + perHalf[1]!.best;
  const statistic = bitsWithData > 0 ? total / Math.sqrt(bitsWithData) : 0;
  const mu = bitsWithData > 0 ? Math.max(0, total / bitsWithData) : 0;
  const halves = perHalf.map((s) => ({ info: s.info, score: s.best, second: s.second, posterior: posteriorOf(s.scores, s.best, mu) })) as [HalfDecision, HalfDecision];
  const payload = (halves[0].info << INFO_BITS) | halves[1].info;
  return { payload, bits: encodePayload(payload), statistic, bitsWithData, mu, halves, posterior: halves[0].posterior * halves[1].posterior };
}

/** Correlation of 48 soft values with one payload's codeword (Σ z·(±1)), for scoring known candidates. */
export function codewordScore(z: readonly number[], payload: number): number {
  const bits = encodePayload(payload);
  let s = 0;
  for (let i = 0; i < CODEWORD_BITS; i++) {
    const v = z[i] ?? 0;
    if (Number.isFinite(v)) s += bits[i] ? v : -v;
  }
  return s;
}

function scanHalf(z: readonly number[]): { info: number; best: number; second: number; scores: Float64Array } {
  const scores = new Float64Array(GOLAY_CODEWORDS.length);
  let info = 0;
  let best = -Infinity;
  let second = -Infinity;
  GOLAY_CODEWORDS.forEach((cw, i) => {
    let s = 0;
    for (let j = 0; j < HALF_BITS; j++) s += golayBit(cw, j) ? z[j]! : -z[j]!;
    scores[i] = s;
    if (s > best) [second, best, info] = [best, s, i];
    else if (s > second) second = s;
  });
  return { info, best, second, scores };
}

function posteriorOf(scores: Float64Array, best: number, mu: number): number {
  let sum = 0;
  for (const s of scores) sum += Math.exp(mu * (s - best));
  return 1 / sum;
}
