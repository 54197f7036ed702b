/**
 * Step 2 of validation, pure: expectations against measurements. Every
 * unmet expectation becomes one discrepancy whose message says what was
 * found, what was wanted and what usually fixes it; an expectation that
 * could not be measured is a discrepancy too (unverified is not valid).
 */
import type { z } from 'zod';
import type { Discrepancy, Expectations, Measured, ValidateResult } from '../../../schemas/vvs.js';
import { ffprobeProfiles, levelName, levelTarget, profileMatches } from './codec-names.js';
import { nearestKeyframes } from './packets.js';
import type { MeasureData } from './types.js';

/** As sent (tolerancePercent may be absent when compare is called directly rather than on a parsed request). */
export type ExpectationsInput = z.input<typeof Expectations>;

/** The schema's default for averageBitrateKbps.tolerancePercent. */
const DEFAULT_TOLERANCE_PERCENT = 20;
/** How many missing keyframes a discrepancy lists. */
export const MISSING_KEYFRAMES_SHOWN = 20;
/** Float slack for "within one frame" (timestamps are printed with 6 decimals). */
const EPSILON = 1e-6;

const ENCODERS: Record<string, string> = { h264: 'libx264', hevc: 'libx265', vp9: 'libvpx-vp9', av1: 'libsvtav1' };

type Check = (e: ExpectationsInput, m: MeasureData, measured: Measured) => Discrepancy | null;

const d = (field: string, expected: unknown, actual: unknown, message: string): Discrepancy => ({ field, expected, actual, message });
const unmeasured = (field: string, expected: unknown, what: string): Discrepancy =>
  d(field, expected, null, `${what} could not be measured, so the expectation is unverified`);
const round = (v: number, places: number): number => Math.round(v * 10 ** places) / 10 ** places;

const checkCodec: Check = (e, m) => {
  if (e.codec === undefined || e.codec === m.codec) return null;
  if (m.codec === null) return unmeasured('codec', e.codec, 'the codec');
  return d('codec', e.codec, m.codec, `video is ${m.codec}, expected ${e.codec}: encode with ${ENCODERS[e.codec] ?? e.codec}`);
};

const checkProfile: Check = (e, m) => {
  if (e.profile === undefined) return null;
  const codec = e.codec ?? m.codec;
  if (m.profile === null) return unmeasured('profile', e.profile, 'the profile');
  const match = e.profileMatch ?? 'exact';
  if (profileMatches(codec, e.profile, m.profile, match)) return null;
  const names = ffprobeProfiles(codec, e.profile, match);
  if (!names) {
    return d('profile', e.profile, m.profile, `"${e.profile}" is not a ${codec ?? 'known'} profile (stream profile is "${m.profile}")`);
  }
  const wanted = match === 'decodable' ? `${e.profile} or a profile its decoders decode` : e.profile;
  let msg = `profile is "${m.profile}", expected ${wanted} (ffprobe "${names.join('" or "')}"): set the encoder's profile`;
  // x264 signals the lowest profile the tools it used need: ultrafast turns off CABAC and 8x8 transforms.
  if (match === 'exact' && codec === 'h264' && /Baseline|Main/.test(m.profile)) {
    msg += '; x264 writes a lower profile when the preset disables High tools (ultrafast gives Constrained Baseline): ask for profileMatch "decodable" to accept that';
  }
  return d('profile', e.profile, m.profile, msg);
};

const checkLevel: Check = (e, m, measured) => {
  if (e.level === undefined) return null;
  const target = levelTarget(m.codec, e.level, m.profile);
  if (target.kind === 'none') return null; // vp9 signals no level
  if (target.kind === 'invalid') return d('level', e.level, measured.level, target.why);
  if (m.levelRaw === null) return d('level', e.level, null, 'the stream signals no level');
  if (target.values.includes(m.levelRaw)) return null;
  const fix =
    m.levelRaw > Math.max(...target.values)
      ? `the stream needs more than level ${e.level} allows: lower the resolution, frame rate or bitrate, or pass the level to the encoder`
      : `the encoder signalled a lower level than asked: pass level ${e.level} to the encoder if players need exactly that`;
  return d('level', e.level, measured.level, `level is ${measured.level} (ffprobe ${m.levelRaw}), expected ${e.level}: ${fix}`);
};

const checkResolution: Check = (e, _m, measured) => {
  if (!e.resolution) return null;
  const r = measured.resolution;
  if (!r) return unmeasured('resolution', e.resolution, 'the resolution');
  if (r.width === e.resolution.width && r.height === e.resolution.height) return null;
  const want = `${e.resolution.width}x${e.resolution.height}`;
  return d('resolution', e.resolution, r, `video is ${r.width}x${r.height}, expected ${want}: check the output scaling`);
};

const checkPixelFormat: Check = (e, m) => {
  if (e.pixelFormat === undefined || e.pixelFormat === m.pixelFormat) return null;
  if (m.pixelFormat === null) return unmeasured('pixelFormat', e.pixelFormat, 'the pixel format');
  return d('pixelFormat', e.pixelFormat, m.pixelFormat, `pixel format is ${m.pixelFormat}, expected ${e.pixelFormat}: set the output pixel format`);
};

const checkFrameCount: Check = (e, _m, measured) => {
  if (e.frameCount === undefined || e.frameCount === measured.frameCount) return null;
  const n = measured.frameCount;
  if (n === null) return unmeasured('frameCount', e.frameCount, 'the frame count');
  const diff = n - e.frameCount;
  const what = diff < 0 ? `${-diff} frame(s) missing` : `${diff} extra frame(s)`;
  return d('frameCount', e.frameCount, n, `${what}: ${n} frames, expected ${e.frameCount}; frames were dropped or duplicated (frame-rate conversion, chunk overlap or gaps)`);
};

/** One frame's duration: from the frame rate, else duration / frame count; null when neither is known. */
function frameSeconds(m: MeasureData): number | null {
  if (m.frameRate) return 1 / m.frameRate;
  const n = m.packets?.frameCount;
  return m.durationSeconds !== null && n ? m.durationSeconds / n : null;
}

const checkDuration: Check = (e, m) => {
  if (e.durationSeconds === undefined) return null;
  if (m.durationSeconds === null) return unmeasured('durationSeconds', e.durationSeconds, 'the duration');
  const frame = frameSeconds(m) ?? 0;
  const off = m.durationSeconds - e.durationSeconds;
  if (Math.abs(off) <= frame + EPSILON) return null;
  return d(
    'durationSeconds',
    e.durationSeconds,
    m.durationSeconds,
    `duration is ${m.durationSeconds} s, ${Math.abs(round(off, 3))} s ${off < 0 ? 'short of' : 'over'} the expected ${e.durationSeconds} s ` +
      `(allowed: one frame, ${round(frame, 4)} s)`,
  );
};

const checkBitrate: Check = (e, m) => {
  const want = e.averageBitrateKbps;
  if (!want) return null;
  if (m.averageBitrateKbps === null) return unmeasured('averageBitrateKbps', want, 'the average bitrate');
  const tolerance = want.tolerancePercent ?? DEFAULT_TOLERANCE_PERCENT;
  const offPercent = ((m.averageBitrateKbps - want.target) / want.target) * 100;
  if (Math.abs(offPercent) <= tolerance + EPSILON) return null;
  if (want.allowUndershoot && offPercent < 0) return null;
  const fix = offPercent > 0 ? 'lower the bitrate target or raise the CRF' : 'raise the bitrate target or lower the CRF (simple content may undershoot)';
  return d(
    'averageBitrateKbps',
    { target: want.target, tolerancePercent: tolerance },
    m.averageBitrateKbps,
    `average video bitrate ${round(m.averageBitrateKbps, 1)} kbps is ${Math.abs(round(offPercent, 1))}% ${offPercent > 0 ? 'above' : 'below'} ` +
      `the ${want.target} kbps target (tolerance ±${tolerance}%): ${fix}`,
  );
};

const checkGop: Check = (e, m) => {
  if (e.maxGopFrames === undefined) return null;
  const p = m.packets;
  if (!p) return unmeasured('maxGopFrames', e.maxGopFrames, 'the GOP length');
  if (p.maxGopFrames <= e.maxGopFrames) return null;
  const where = `frames ${p.maxGopStart}–${p.maxGopStart + p.maxGopFrames - 1}`;
  return d('maxGopFrames', e.maxGopFrames, p.maxGopFrames, `longest GOP is ${p.maxGopFrames} frames (${where}), over the ${e.maxGopFrames} allowed: set the keyframe interval to at most ${e.maxGopFrames}`);
};

const checkKeyframes: Check = (e, m) => {
  const want = e.keyframesAtFrames;
  if (!want?.length) return null;
  const p = m.packets;
  if (!p) return unmeasured('keyframesAtFrames', want.slice(0, MISSING_KEYFRAMES_SHOWN), 'the keyframe positions');
  if (!p.keyframes) return d('keyframesAtFrames', want.slice(0, MISSING_KEYFRAMES_SHOWN), null, `the keyframe pattern (${p.keyframeCount} keyframes) was too irregular to keep, so keyframe positions are unverified`);
  const runs = p.keyframes;
  const missing = [...new Set(want)].sort((a, b) => a - b).filter((f) => f >= p.frameCount || nearestKeyframes(runs, f).previous !== f);
  if (missing.length === 0) return null;
  const shown = missing.slice(0, MISSING_KEYFRAMES_SHOWN);
  const actual = shown.map((frame) => (frame >= p.frameCount ? { frame, pastEnd: true } : { frame, ...nearestKeyframes(runs, frame) }));
  const list = shown.map((f) => (f >= p.frameCount ? `${f} (past the last frame, ${p.frameCount - 1})` : String(f))).join(', ');
  const more = missing.length > shown.length ? ` and ${missing.length - shown.length} more` : '';
  const order = p.order === 'decode' ? ' (frame numbers in decode order: the stream has no timestamps)' : '';
  return d(
    'keyframesAtFrames',
    shown,
    actual,
    `${missing.length} of ${new Set(want).size} required keyframes missing${order}: frames ${list}${more}; ` +
      'force keyframes at those frames (e.g. chunk starts) and disable scene-cut keyframe shifts',
  );
};

const checkDecode: Check = (e, m) => {
  if (!e.decodesWithoutErrors) return null;
  if (!m.decode) return unmeasured('decodesWithoutErrors', true, 'decoding');
  if (m.decode.errors === 0) return null;
  const sample = m.decode.samples[0] ? ` (first: "${m.decode.samples[0].replace(/\.$/, '')}")` : '';
  return d('decodesWithoutErrors', true, { decodeErrors: m.decode.errors, samples: m.decode.samples }, `${m.decode.errors} decode error(s)${sample}: the bitstream is damaged; re-encode or re-copy it`);
};

const CHECKS: Check[] = [checkCodec, checkProfile, checkLevel, checkResolution, checkPixelFormat, checkFrameCount, checkDuration, checkBitrate, checkGop, checkKeyframes, checkDecode];

/** The result's measurement view (recipe level spelling, values rounded for display). Never throws. */
export function toMeasured(m: MeasureData): Measured {
  return {
    codec: m.codec,
    profile: m.profile,
    level: levelName(m.codec, m.levelRaw),
    resolution: m.width && m.height ? { width: m.width, height: m.height } : null,
    pixelFormat: m.pixelFormat,
    frameCount: m.packets?.frameCount ?? null,
    durationSeconds: m.durationSeconds,
    averageBitrateKbps: m.averageBitrateKbps === null ? null : round(m.averageBitrateKbps, 3),
    maxGopFrames: m.packets?.maxGopFrames ?? null,
    keyframeCount: m.packets?.keyframeCount ?? null,
    decodeErrors: m.decode?.errors ?? null,
    ...(m.content
      ? {
          content: {
            psnrMean: m.content.psnrMean,
            psnrMin: m.content.psnrMin,
            psnrMinFrame: m.content.psnrMinFrame,
            framesCompared: m.content.compared,
            framesBelowFloor: m.content.belowFloor,
            timeErrors: m.content.timeErrors,
            maxTimeErrorSeconds: m.content.maxTimeErrorSeconds,
            dtsNonIncreasing: m.content.dtsNonIncreasing,
          },
        }
      : {}),
  };
}

/** The content checks: every frame's time and picture against the source through its index, and DTS order. */
export function contentDiscrepancies(e: ExpectationsInput, m: MeasureData): Discrepancy[] {
  if (!e.content) return [];
  const c = m.content;
  if (!c) return [unmeasured('content', 'pictures compared with the source', 'the pictures against the source')];
  const out: Discrepancy[] = [];
  if (c.compared < Math.max(c.sourceFrames, c.outputFrames)) {
    out.push(d('content.frames', c.sourceFrames, c.outputFrames, `the output has ${c.outputFrames} frames and the source ${c.sourceFrames}: only ${c.compared} could be compared picture by picture`));
  }
  if (c.belowFloor > 0) {
    const chunks = [...new Set(c.worst.map((w) => w.chunk).filter((x): x is number => x !== null))].sort((a, b) => a - b);
    const where = c.worst.slice(0, 5).map((w) => `frame ${w.frame}${w.chunk !== null ? ` (chunk ${w.chunk})` : ''}: ${w.psnr} dB`).join(', ');
    out.push(
      d('content.psnr', `every frame ≥ ${c.floorDb} dB against the source frame at the same index`, { framesBelowFloor: c.belowFloor, chunks, worst: c.worst }, `${c.belowFloor} output frame(s) are not the source's pictures (PSNR below ${c.floorDb} dB${chunks.length ? ` in chunk(s) ${chunks.slice(0, 10).join(', ')}` : ''}; worst: ${where})`),
    );
  }
  if (c.timeErrors > 0 && c.firstTimeError) {
    const f = c.firstTimeError;
    out.push(
      d('content.frameTimes', `each frame at its source time (±${(c.toleranceSeconds * 1000).toFixed(3)} ms)`, { frames: c.timeErrors, first: f, maxErrorSeconds: c.maxTimeErrorSeconds }, `${c.timeErrors} frame(s) are not at their source time; first: frame ${f.frame} at ${f.actualSeconds.toFixed(6)} s, expected ${f.expectedSeconds.toFixed(6)} s`),
    );
  }
  if (c.dtsNonIncreasing > 0) out.push(d('content.dts', 'strictly increasing packet DTS', c.dtsNonIncreasing, `${c.dtsNonIncreasing} packet(s) have a DTS that does not increase`));
  return out;
}

/** Judges the measurement against the expectations; pure, never throws. An unreadable file is one `video` discrepancy. */
export function compare(expectations: ExpectationsInput, m: MeasureData): ValidateResult {
  const measured = toMeasured(m);
  if (m.unreadable !== null) {
    const discrepancies = [d('video', 'a readable video stream', m.unreadable, `no video stream could be read: ${m.unreadable}`)];
    return { ok: false, discrepancies, measured };
  }
  const discrepancies = CHECKS.map((check) => check(expectations, m, measured)).filter((x): x is Discrepancy => x !== null);
  discrepancies.push(...contentDiscrepancies(expectations, m));
  return { ok: discrepancies.length === 0, discrepancies, measured };
}
