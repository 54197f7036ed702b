/**
 * Reads ffmpeg's stderr (run with `-loglevel repeat+level+info`) while a
 * decode pass runs: counts decode errors, spots truncation, and picks up the
 * idet summary. `repeat` stops ffmpeg folding identical lines into "Last
 * message repeated N times", so every error is one line.
 */
import type { IdetCounts } from '../../../schemas/vis.js';

export interface LogLine {
  /** The `[h264 @ 0x…]` context name, or null for ffmpeg's own messages. */
  context: string | null;
  level: string | null;
  message: string;
}

const LINE = /^(?:\[([^\]@]+?) @ 0x[0-9a-f]+\] )?(?:\[(quiet|panic|fatal|error|warning|info|verbose|debug|trace)\] )?(.*)$/;

/** Splits a `[ctx @ 0x…] [level] message` line; lines without the prefixes keep null context/level. */
export function parseLogLine(line: string): LogLine {
  const m = LINE.exec(line);
  return { context: m?.[1] ?? null, level: m?.[2] ?? null, message: m?.[3] ?? line };
}

/** ffmpeg flags frames/packets it knows are damaged at warning level; they are decode problems all the same. */
const CORRUPT_WARNING = /corrupt (decoded frame|input packet)/i;

/**
 * Messages that mean the data stops before the container said it would.
 * Deliberately not "Invalid NAL unit size": damage in the middle of a file
 * produces it too, and that is DECODE_ERRORS, not truncation.
 */
const TRUNCATION = [
  /partial file/i, // mov/mp4: sample offsets point past the end of the file
  /ended prematurely/i, // matroska
  /moov atom not found/i,
  /unexpected end of (file|stream)/i,
  /premature (end|eof)/i,
  /truncat(ed|ing)/i,
];

const IDET_MULTI = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/;

/** Reads idet's multi-frame summary line; null for any other line. */
export function parseIdetMulti(message: string): IdetCounts | null {
  const m = IDET_MULTI.exec(message);
  if (!m) return null;
  return { tff: Number(m[1]), bff: Number(m[2]), progressive: Number(m[3]), undetermined: Number(m[4]) };
}

const MAX_SAMPLES = 10;

/** Accumulates what one decode pass logged; feed it every stderr line. */
/** Log contexts of the scan's own output muxers. */
const MUXER_CONTEXT = /^(null|framecrc)$/;

export class ScanLogReader {
  errors = 0;
  idet: IdetCounts | null = null;
  readonly samples: string[] = [];
  readonly truncation: string[] = [];

  /**
   * @param scrub makes a message fit for the result (path → URI).
   * @param neutral blanks the input name before pattern matching: a file called
   *   `truncated.ts` must not make every message look like a truncation.
   */
  constructor(
    private readonly countErrors: boolean,
    private readonly scrub: (s: string) => string,
    private readonly neutral: (s: string) => string = (s) => s,
  ) {}

  push(raw: string): void {
    const line = parseLogLine(raw);
    if (line.context?.startsWith('Parsed_idet')) {
      this.idet = parseIdetMulti(line.message) ?? this.idet;
      return;
    }
    if (!this.countErrors) return;
    // The pass's own outputs (the null and framecrc muxers) complaining about timestamps say nothing
    // about the source's data: a source with duplicated timestamps decodes cleanly.
    if (line.context !== null && MUXER_CONTEXT.test(line.context)) return;
    const isError = line.level === 'error' || line.level === 'fatal' || line.level === 'panic';
    const bare = this.neutral(line.message);
    const isCorrupt = line.level === 'warning' && CORRUPT_WARNING.test(bare);
    if (!isError && !isCorrupt) return;
    const text = this.scrub(line.context ? `${line.context}: ${line.message}` : line.message).slice(0, 300);
    // "File ended prematurely" is the demuxer hitting EOF, not damaged data: it is reported as TRUNCATED only.
    if (TRUNCATION.some((re) => re.test(bare))) {
      if (this.truncation.length < 5 && !this.truncation.includes(text)) this.truncation.push(text);
      return;
    }
    this.errors++;
    if (this.samples.length < MAX_SAMPLES && !this.samples.includes(text)) this.samples.push(text);
  }
}

/** Reads `-progress pipe:1` key=value lines. */
export class ProgressReader {
  frame: number | null = null;
  outTimeSeconds: number | null = null;
  ended = false;

  /** Returns true when a progress block completed (a good moment to report). */
  push(line: string): boolean {
    const eq = line.indexOf('=');
    if (eq < 0) return false;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const n = Number(value);
    if (key === 'frame' && Number.isFinite(n)) this.frame = n;
    // out_time_us is microseconds; ffmpeg 5.1 also prints out_time_ms with the same (misnamed) value.
    else if (key === 'out_time_us' && value !== 'N/A' && Number.isFinite(n)) this.outTimeSeconds = Math.max(0, n / 1e6);
    else if (key === 'progress') {
      if (value === 'end') this.ended = true;
      return true;
    }
    return false;
  }
}
