/**
 * SMPTE ST 12-1 timecode arithmetic: labels (HH:MM:SS:FF) ⇄ frame counts, drop-frame included.
 *
 * A timecode is a label, not a time: at 29.97 fps a non-drop label drifts 3.6 s a hour behind the
 * clock, which is why drop-frame exists. Drop-frame drops *labels*, never frames: at the start of
 * every minute except minutes 00, 10, 20, … the frame numbers 00 and 01 (00–03 at 59.94) are
 * skipped, so 00:00:59;29 is followed by 00:01:00;02 but 00:09:59;29 by 00:10:00;00.
 *
 * The formulas are the ones ffmpeg's libavutil/timecode.c uses (av_timecode_init_from_string for
 * label → count, av_timecode_adjust_ntsc_framenum2 for count → label), so what we compute for a
 * chunk's first frame is what drawtext then counts on from; the burn-in tests check the two agree.
 *
 * Errors are BAD_REQUEST with a detail naming the request field (`path`, given by the caller).
 */
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';

export interface FrameRate {
  num: number;
  den: number;
}

/** A parsed label. `dropFrame` comes from the separator before the frames field. */
export interface Timecode {
  hours: number;
  minutes: number;
  seconds: number;
  frames: number;
  dropFrame: boolean;
}

/** How a frame rate counts timecode. */
export interface TimecodeRate {
  /** Frames per timecode second: the rate rounded (30 for 30000/1001, 24 for 24000/1001). */
  fps: number;
  /** Only 30000/1001 and 60000/1001: drop-frame is defined for no other rate (ST 12-1). */
  dropFrameAllowed: boolean;
  /** The rate as given, e.g. for drawtext's `timecode_rate`. */
  frameRate: FrameRate;
  /** e.g. '29.97' or '25', for messages. */
  label: string;
}

const DEFAULT_PATH = 'timecode';

function badRequest(path: string, message: string): VpipeError {
  return new VpipeError(ErrorCodes.BadRequest, `${path}: ${message}`, { details: [{ path, message }] });
}

/**
 * The largest nominal rate we count: the frames field is two digits (ST 12-1 stops at 30 and counts
 * 50/60 with frame pairs; ffmpeg and every NLE count 0–59 directly, as we do). 120 fps would need FFF.
 */
const MAX_FPS = 99;

/**
 * Parses 'HH:MM:SS:FF' (non-drop) or 'HH:MM:SS;FF' (drop-frame).
 *
 * '.' and ',' before the frames are read as drop-frame too: they are the drop-frame spellings of
 * tools and file formats where ';' is awkward, and ffmpeg's own parser (av_timecode_init_from_string)
 * reads any separator other than ':' there as drop-frame, so a label ffmpeg accepts means the same
 * here. ffmpeg itself only ever prints ':' and ';', and so does `formatTimecode`.
 * Fields are two digits each; HH < 24, MM and SS < 60. Whether FF fits the rate (and whether a
 * drop-frame label exists at all) needs the rate: `timecodeToFrame` checks that.
 */
export function parseTimecode(s: string, path = DEFAULT_PATH): Timecode {
  const m = /^(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2})$/.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) {
    const shown = typeof s === 'string' ? JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s) : typeof s;
    throw badRequest(path, `${shown} is not a timecode: expected HH:MM:SS:FF (non-drop) or HH:MM:SS;FF (drop-frame)`);
  }
  const [hours, minutes, seconds, frames] = [m[1], m[2], m[3], m[5]].map(Number) as [number, number, number, number];
  if (hours > 23) throw badRequest(path, `hours ${hours} out of range: timecode runs 00:00:00:00 to 23:59:59:FF`);
  if (minutes > 59) throw badRequest(path, `minutes ${minutes} out of range (00–59)`);
  if (seconds > 59) throw badRequest(path, `seconds ${seconds} out of range (00–59)`);
  return { hours, minutes, seconds, frames, dropFrame: m[4] !== ':' };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** 'HH:MM:SS:FF', or 'HH:MM:SS;FF' for drop-frame (the form ffmpeg prints and drawtext's `timecode=` takes). */
export function formatTimecode(tc: Timecode): string {
  return `${pad2(tc.hours)}:${pad2(tc.minutes)}:${pad2(tc.seconds)}${tc.dropFrame ? ';' : ':'}${pad2(tc.frames)}`;
}

/**
 * The timecode counting of a frame rate: integer rates (1–99 fps) and NTSC rates N×1000/1001
 * (23.976, 29.97, 47.952, 59.94), which count at their rounded rate. Anything else (12.5 fps,
 * a variable-rate average like 29.83) has no timecode and is refused.
 */
export function timecodeRate(frameRate: FrameRate, path = 'frameRate'): TimecodeRate {
  const { num, den } = frameRate ?? ({} as FrameRate);
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || num <= 0 || den <= 0) {
    throw badRequest(path, `frame rate ${num}/${den} is not a positive rational`);
  }
  const fps = Math.round(num / den);
  const integer = num % den === 0;
  // N×1000/1001 exactly, in any reduced or unreduced form (30000/1001, 60000/2002).
  const ntsc = !integer && num * 1001 === fps * 1000 * den;
  const label = integer ? String(fps) : String(Math.round((num / den) * 1000) / 1000);
  if ((!integer && !ntsc) || fps < 1 || fps > MAX_FPS) {
    throw badRequest(path, `timecode needs an integer frame rate (1–${MAX_FPS} fps) or an NTSC rate (N×1000/1001); this source is ${num}/${den} (${(num / den).toFixed(3)} fps)`);
  }
  return { fps, dropFrameAllowed: ntsc && (fps === 30 || fps === 60), frameRate: { num, den }, label };
}

/** Labels dropped at each minute not divisible by ten: 2 at 29.97, 4 at 59.94; 0 for non-drop. */
function dropsPerMinute(tc: { dropFrame: boolean }, rate: TimecodeRate): number {
  return tc.dropFrame ? (rate.fps / 30) * 2 : 0;
}

/** Frames in a day of labels: the modulus timecode wraps at (00:00:00:00 follows 23:59:59:FF). */
export function framesPerDay(rate: TimecodeRate, dropFrame: boolean): number {
  const d = dropFrame ? (rate.fps / 30) * 2 : 0;
  // 1440 minutes, of which 144 (every tenth) keep all their labels.
  return rate.fps * 86_400 - d * (1440 - 144);
}

/** Throws unless `tc` is a label that exists at `rate`: FF < fps, drop-frame only where defined and only on labels it keeps. */
function checkLabel(tc: Timecode, rate: TimecodeRate, path: string): void {
  if (tc.dropFrame && !rate.dropFrameAllowed) {
    throw badRequest(path, `drop-frame timecode exists only at 29.97 and 59.94 fps; this source is ${rate.label} fps: use ':' (non-drop)`);
  }
  if (tc.frames >= rate.fps) {
    throw badRequest(path, `frame ${pad2(tc.frames)} does not exist at ${rate.label} fps (frames run 00–${pad2(rate.fps - 1)})`);
  }
  const d = dropsPerMinute(tc, rate);
  if (d > 0 && tc.seconds === 0 && tc.minutes % 10 !== 0 && tc.frames < d) {
    throw badRequest(path, `${formatTimecode(tc)} does not exist in drop-frame timecode: frames 00–${pad2(d - 1)} are skipped at the start of every minute except each tenth`);
  }
}

/** The frame count of a label since 00:00:00:00 (its position in the day), after checking it exists at `rate`. */
export function timecodeToFrame(tc: Timecode | string, rate: TimecodeRate, path = DEFAULT_PATH): number {
  const t = typeof tc === 'string' ? parseTimecode(tc, path) : tc;
  checkLabel(t, rate, path);
  const totalMinutes = 60 * t.hours + t.minutes;
  const nominal = (3600 * t.hours + 60 * t.minutes + t.seconds) * rate.fps + t.frames;
  return nominal - dropsPerMinute(t, rate) * (totalMinutes - Math.floor(totalMinutes / 10));
}

/** The label of the frame `count` frames after 00:00:00:00, wrapping at 24 h; drop-frame or not as asked. */
export function countToTimecode(count: number, rate: TimecodeRate, dropFrame: boolean): Timecode {
  if (dropFrame && !rate.dropFrameAllowed) {
    throw badRequest(DEFAULT_PATH, `drop-frame timecode exists only at 29.97 and 59.94 fps; this source is ${rate.label} fps: use ':' (non-drop)`);
  }
  const day = framesPerDay(rate, dropFrame);
  let n = ((count % day) + day) % day;
  if (dropFrame) {
    // Put back the labels skipped so far, then read the result as a nominal (non-drop) count.
    const d = (rate.fps / 30) * 2;
    const perTenMinutes = rate.fps * 600 - 9 * d;
    const perMinute = rate.fps * 60 - d;
    const tens = Math.floor(n / perTenMinutes);
    const rest = n % perTenMinutes;
    // The first minute of each ten keeps its labels; each later one skips d.
    n += 9 * d * tens + (rest > d ? d * Math.floor((rest - d) / perMinute) : 0);
  }
  const frames = n % rate.fps;
  const totalSeconds = Math.floor(n / rate.fps);
  return {
    hours: Math.floor(totalSeconds / 3600),
    minutes: Math.floor(totalSeconds / 60) % 60,
    seconds: totalSeconds % 60,
    frames,
    dropFrame,
  };
}

/**
 * The label of frame `frameNumber` (0-based) of a source whose frame 0 is labelled `start`:
 * drop-frame when `start` is; wraps at 24 h. This is what a chunk starting at source frame S
 * passes to drawtext's `timecode=`.
 */
export function frameToTimecode(frameNumber: number, start: Timecode | string, rate: TimecodeRate, path = DEFAULT_PATH): Timecode {
  if (!Number.isSafeInteger(frameNumber) || frameNumber < 0) {
    throw badRequest('frameNumber', `frame number ${frameNumber} is not a non-negative integer`);
  }
  const s = typeof start === 'string' ? parseTimecode(start, path) : start;
  return countToTimecode(timecodeToFrame(s, rate, path) + frameNumber, rate, s.dropFrame);
}
