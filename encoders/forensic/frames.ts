/**
 * Decoded 8-bit luma frames from ffmpeg through a pipe, one at a time, each with its presentation
 * time. The chain ends in `showinfo`, whose per-frame log line (written before the frame reaches
 * the pipe) gives the frame's size and time; the size of the first frame fixes the frame length.
 * The reader pulls: it pauses ffmpeg's output while a few frames are waiting, so two readers can be
 * consumed in lockstep without holding a whole video in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { dieWithParent, inputArgs, toolOptions } from '../../runtime/media/mod.js';

export interface LumaFrame {
  /** Frame number in the order ffmpeg delivered frames (0-based). */
  n: number;
  /** Presentation time in seconds, or null when the frame had none. */
  pts: number | null;
  data: Uint8Array;
}

/** showinfo's per-frame line, anchored at its log prefix (a file's metadata, also logged, cannot start a line so). */
const SHOWINFO = /^\[Parsed_showinfo_\d+ @ 0x[0-9a-f]+\] n:\s*(\d+)\s+pts:\s*(\S+)\s+pts_time:(\S+)\s.*?\bs:(\d+)x(\d+)\b/;
const HIGH_WATER_FRAMES = 4;
const STDERR_KEEP = 8192;

export interface LumaReaderOptions {
  /** What the file is, for messages ("leak", "original"). */
  what: string;
  file: string;
  /** Filters before `format=gray` (e.g. scaling), or none. */
  filters?: string[];
  /** Stop after this many frames. */
  maxFrames?: number;
  signal?: AbortSignal;
}

export class LumaReader {
  readonly what: string;
  private readonly child: ChildProcess;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private frameBytes = 0;
  private width = 0;
  private height = 0;
  private readonly times: (number | null)[] = [];
  private delivered = 0;
  private ended = false;
  private exited = false;
  private exitCode: number | null = null;
  private stderrTail = '';
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private discard = false;

  constructor(opts: LumaReaderOptions) {
    this.what = opts.what;
    const chain = [...(opts.filters ?? []), 'format=gray', 'showinfo'].join(',');
    const args = [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
      ...inputArgs(opts.file),
      '-map', '0:v:0', '-vf', chain,
      ...(opts.maxFrames !== undefined ? ['-frames:v', String(opts.maxFrames)] : []),
      '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1',
    ];
    const [command, argv] = dieWithParent(toolOptions().ffmpeg, args);
    this.child = spawn(command, argv, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AV_LOG_FORCE_NOCOLOR: '1' } });
    this.child.on('error', (e) => {
      this.ended = true;
      this.exited = true;
      this.fail(new VpipeError(ErrorCodes.ToolMissing, `ffmpeg could not be started for the ${this.what}: ${e.message}`));
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      if (this.discard) return;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.frameBytes > 0 && this.buffered > HIGH_WATER_FRAMES * this.frameBytes) this.child.stdout!.pause();
      this.notify();
    });
    this.child.stdout!.on('end', () => {
      this.ended = true;
      this.notify();
    });
    let pending = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      pending += text;
      const lines = pending.split(/\r\n|\r|\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
      this.notify();
    });
    this.child.on('close', (code) => {
      if (pending) this.onLine(pending);
      this.exited = true;
      this.exitCode = code;
      this.ended = true;
      this.notify();
    });
    const onAbort = (): void => this.fail(new VpipeError(ErrorCodes.Cancelled, `forensic detection cancelled while decoding the ${this.what}`));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.child.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
  }

  /** Frame size, known once the first frame was read. */
  get size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  private onLine(line: string): void {
    const m = SHOWINFO.exec(line);
    if (m) {
      const n = Number(m[1]);
      const t = Number(m[3]);
      this.times[n] = m[2] === 'NOPTS' || !Number.isFinite(t) ? null : t;
      if (this.frameBytes === 0) {
        this.width = Number(m[4]);
        this.height = Number(m[5]);
        this.frameBytes = this.width * this.height;
      }
      return;
    }
    this.stderrTail = (this.stderrTail + line + '\n').slice(-STDERR_KEEP);
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.kill();
    this.notify();
  }

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next frame, or null at the end; throws BAD_REQUEST when ffmpeg cannot decode the file, CANCELLED on abort. */
  async next(): Promise<LumaFrame | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const n = this.delivered;
      const known = n in this.times;
      if (this.frameBytes > 0 && this.buffered >= this.frameBytes && (known || this.exited)) {
        const data = this.take(this.frameBytes);
        this.delivered++;
        if (this.buffered <= HIGH_WATER_FRAMES * this.frameBytes) this.child.stdout!.resume();
        return { n, pts: known ? this.times[n]! : null, data };
      }
      if (this.ended && this.exited) {
        if (this.delivered === 0 && (this.exitCode !== 0 || this.buffered > 0)) {
          throw new VpipeError(ErrorCodes.BadRequest, `the ${this.what} could not be decoded as video: ${lastLines(this.stderrTail)}`);
        }
        return null;
      }
      if (this.frameBytes > 0 && this.buffered >= this.frameBytes) this.child.stdout!.resume();
      await this.waitForChange();
    }
  }

  private take(bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const head = this.chunks[0]!;
      const want = Math.min(bytes - filled, head.length);
      out.set(head.subarray(0, want), filled);
      filled += want;
      if (want === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(want);
    }
    this.buffered -= bytes;
    return out;
  }

  /** Stops ffmpeg (no more frames are wanted) and drops what it had written. */
  kill(): void {
    this.discard = true;
    this.chunks.length = 0;
    this.buffered = 0;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    // A paused pipe never ends, and the child's 'close' waits for it.
    this.child.stdout?.resume();
  }

  /** Resolves when ffmpeg has exited. */
  async closed(): Promise<void> {
    while (!this.exited) await this.waitForChange();
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.slice(-3).join(' / ') || 'no output';
}

/** What the detector reads frames from: a live decode or a replay. */
export interface FrameSource {
  next(): Promise<LumaFrame | null>;
  kill(): void;
  closed(): Promise<void>;
}

interface Kept {
  frames: LumaFrame[];
  /** The decode ended before the frame limit: these are all the file's frames. */
  eof: boolean;
  bytes: number;
}

/**
 * Decoded originals kept in memory between detections (one title, many leaks): keyed by the file
 * (path, size, modification time) and the sizes it was scaled through, least recently used
 * dropped beyond maxBytes. A decode is kept only when it was read to its end.
 */
export class OriginalFrameCache {
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;

  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  /** Frames of `key` up to maxFrames: from memory when a finished decode covers them, else from `decode()` (kept if it fits). */
  open(key: string, maxFrames: number, decode: () => LumaReader): FrameSource {
    const hit = this.kept.get(key);
    if (hit && (hit.eof || hit.frames.length >= maxFrames)) {
      this.kept.delete(key);
      this.kept.set(key, hit); // most recently used last
      let i = 0;
      const end = Math.min(maxFrames, hit.frames.length);
      return { next: async () => (i < end ? hit.frames[i++]! : null), kill: () => undefined, closed: async () => undefined };
    }
    const reader = decode();
    const frames: LumaFrame[] = [];
    let bytes = 0;
    let keeping = true;
    return {
      next: async () => {
        const f = await reader.next();
        if (f && keeping) {
          bytes += f.data.length;
          if (bytes > this.maxBytes) {
            keeping = false;
            frames.length = 0;
          } else frames.push(f);
        }
        if (!f && keeping) this.keep(key, { frames, eof: frames.length < maxFrames, bytes });
        return f;
      },
      kill: () => reader.kill(),
      closed: () => reader.closed(),
    };
  }

  private keep(key: string, entry: Kept): void {
    const old = this.kept.get(key);
    if (old) {
      this.kept.delete(key);
      this.bytes -= old.bytes;
    }
    this.kept.set(key, entry);
    this.bytes += entry.bytes;
    for (const [k, v] of this.kept) {
      if (this.bytes <= this.maxBytes) break;
      this.kept.delete(k);
      this.bytes -= v.bytes;
    }
  }
}
