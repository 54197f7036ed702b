/**
 * The only place vpipe spawns ffmpeg/ffprobe. Every run gets an argument
 * array (never a shell), no stdin, an address-space cap (prlimit) and a
 * wall-clock cap, optionally a stall watchdog (killed when silent too long),
 * and is killable through an AbortSignal. Limits that scale with the media
 * are in tool-limits.ts. Inputs go through `inputArgs` so a file name can
 * never be read as an option or a protocol.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { dieWithParent } from './child-lifetime.js';
import { ErrorCodes, metrics, ToolError, VpipeError } from '../core/mod.js';
import type { ToolOptions } from '../../schemas/config.js';
import { resolveToolLimits, toolOptions, ToolWatchdog, type ToolStepKind } from './tool-limits.js';

export type MediaTool = 'ffmpeg' | 'ffprobe';

export interface RunToolOptions {
  /** Wall-clock limit (wins over `limit`); default from `limit`, else VPIPE_TOOL_TIMEOUT_MS or 10 minutes. */
  timeoutMs?: number;
  /**
   * Kill with TOOL_STALLED when no stdout/stderr output arrives for this long (wins over `limit`).
   * Any chunk counts as progress, so give the tool periodic output: `-progress pipe:1`
   * (every `-stats_period`, 0.5 s by default, even with -nostats) or stderr stats.
   */
  stallMs?: number;
  /**
   * Fills timeoutMs and stallMs from tool-limits for a `kind` step over `mediaSeconds` of media;
   * mediaSeconds null (unknown) keeps the default wall limit but still sets the stall window.
   */
  limit?: { mediaSeconds: number | null; kind: ToolStepKind };
  /** Called with the tool's pid once it is spawned (the pid is the tool itself, not a wrapper). */
  onSpawn?: (pid: number) => void;
  /** Called when output arrives, at most once a second: a heartbeat on real progress. A throw kills the tool. */
  onActivity?: () => void;
  /** Address-space limit via `prlimit --as`; default VPIPE_TOOL_MEMORY_LIMIT_BYTES (4 GiB); 0 disables. */
  memoryLimitBytes?: number;
  signal?: AbortSignal;
  onStderrLine?: (line: string) => void;
  /** Streams stdout line by line (e.g. `-progress pipe:1`, CSV packet lists). */
  onStdoutLine?: (line: string) => void;
  /**
   * Run this executable instead of VPIPE_FFMPEG/VPIPE_FFPROBE (a path, or a name looked up on PATH): a
   * second build for one purpose, e.g. the static ffmpeg with libvmaf VQS measures with. Errors still name `tool`.
   */
  binary?: string;
  /** Keep stdout in the result (default true). Turn off when streaming large output through onStdoutLine. */
  keepStdout?: boolean;
  /** Kept stdout beyond this kills the tool and throws TOOL_FAILED (default 64 MiB). */
  maxStdoutBytes?: number;
}

export interface RunToolResult {
  stdout: string;
  /** Only the last ~64 KiB: a corrupt file can make ffmpeg log megabytes. */
  stderr: string;
  code: number | null;
  signal: string | null;
  durationMs: number;
}

const STDERR_KEEP = 64 * 1024;
const ACTIVITY_INTERVAL_MS = 1000;
const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;

/** Finds an executable by absolute/relative path or on PATH; null when there is none (no throw). */
function resolveExecutable(name: string): string | null {
  const canRun = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return canRun(name) ? path.resolve(name) : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (canRun(candidate)) return candidate;
  }
  return null;
}

let prlimitPath: string | null | undefined;
/** prlimit is util-linux; absent on macOS or slim images, where we run without a memory cap rather than not at all. */
function findPrlimit(): string | null {
  if (prlimitPath === undefined) prlimitPath = resolveExecutable('prlimit');
  return prlimitPath;
}

/** The binary to run for `tool` (VPIPE_FFMPEG / VPIPE_FFPROBE, default the tool's name on PATH). */
function toolBinary(tool: MediaTool, tools: ToolOptions): string {
  return tool === 'ffmpeg' ? tools.ffmpeg : tools.ffprobe;
}

/**
 * Runs ffmpeg/ffprobe; throws TOOL_MISSING, TOOL_TIMEOUT or TOOL_STALLED (both retryable), CANCELLED,
 * TOOL_FAILED (spawn error, stdout overflow) or INTERNAL (bad limit options), or ConfigError when never configured and the environment is invalid; a non-zero exit is returned, not thrown.
 */
export function runTool(tool: MediaTool, args: string[], opts: RunToolOptions = {}): Promise<RunToolResult> {
  let limits: ReturnType<typeof resolveToolLimits>;
  let tools: ToolOptions;
  try {
    tools = toolOptions();
    limits = resolveToolLimits(opts, tools);
  } catch (e) {
    return Promise.reject(e);
  }
  const { timeoutMs, stallMs } = limits;
  const memoryLimit = opts.memoryLimitBytes ?? tools.memoryLimitBytes;
  const maxStdout = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;
  const keepStdout = opts.keepStdout ?? true;

  if (opts.signal?.aborted) {
    return Promise.reject(new VpipeError(ErrorCodes.Cancelled, `${tool} not started: cancelled`));
  }
  const wanted = opts.binary ?? toolBinary(tool, tools);
  const binary = resolveExecutable(wanted);
  if (!binary) {
    const hint = opts.binary === undefined ? `; set VPIPE_${tool.toUpperCase()} or PATH` : '';
    return Promise.reject(new VpipeError(ErrorCodes.ToolMissing, `${tool} not found (looked for '${wanted}'${hint})`));
  }
  const prlimit = memoryLimit > 0 ? findPrlimit() : null;
  // setpriv and prlimit each exec the next in place, so the pid we kill is the tool itself,
  // and the tool is killed if this process dies (no orphan encodes after a kill -9).
  const [command, argv] = prlimit
    ? dieWithParent(prlimit, [`--as=${Math.floor(memoryLimit)}`, '--', binary, ...args])
    : dieWithParent(binary, args);

  return new Promise<RunToolResult>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      env: { ...process.env, AV_LOG_FORCE_NOCOLOR: '1' },
    });
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';
    let failure: VpipeError | Error | null = null;
    let settled = false;

    const kill = (why: VpipeError | Error): void => {
      if (!failure) failure = why;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    // A throwing callback kills the tool and becomes the run's error.
    const guard = (fn: () => void): void => {
      if (failure) return;
      try {
        fn();
      } catch (e) {
        kill(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const pid = child.pid;
    if (pid !== undefined && opts.onSpawn) guard(() => opts.onSpawn!(pid));
    const timeoutNote = limits.timeoutSource === 'default' || limits.timeoutSource === 'timeoutMs' ? '' : ` (${limits.timeoutSource})`;
    const watchdog = new ToolWatchdog(started, timeoutMs, stallMs, (what) =>
      kill(
        what === 'timeout'
          ? new ToolError('timeout', `${tool} exceeded its ${timeoutMs} ms time limit${timeoutNote} and was killed`)
          : new ToolError('stalled', `${tool} made no progress for ${stallMs! / 1000} s and was killed`),
      ),
    );
    let lastActivityCall = -Infinity;
    const activity = (): void => {
      watchdog.touch();
      const onActivity = opts.onActivity;
      if (!onActivity || performance.now() - lastActivityCall < ACTIVITY_INTERVAL_MS) return;
      lastActivityCall = performance.now();
      guard(onActivity);
    };
    // Working without output (an encoder flushing its lookahead) is progress too: the tool's CPU time
    // advancing counts as activity. A stopped, deadlocked or blocked tool uses none.
    const cpuWatch = pid === undefined ? null : watchCpu(pid, activity);
    const onAbort = (): void => kill(new VpipeError(ErrorCodes.Cancelled, `${tool} cancelled`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const lineSplitter = (cb: ((line: string) => void) | undefined) => {
      let pending = '';
      return {
        push(chunk: string): void {
          if (!cb) return;
          pending += chunk;
          // ffmpeg ends its live stats lines with \r, so treat it as a line end too.
          const parts = pending.split(/\r\n|\r|\n/);
          pending = parts.pop() ?? '';
          for (const line of parts) if (line !== '') guard(() => cb(line));
        },
        flush(): void {
          if (cb && pending !== '') guard(() => cb(pending));
          pending = '';
        },
      };
    };
    const outLines = lineSplitter(opts.onStdoutLine);
    const errLines = lineSplitter(opts.onStderrLine);

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      activity();
      outLines.push(chunk);
      if (!keepStdout) return;
      stdoutBytes += Buffer.byteLength(chunk);
      if (stdoutBytes > maxStdout) {
        kill(new VpipeError(ErrorCodes.ToolFailed, `${tool} wrote more than ${maxStdout} bytes to stdout and was killed`));
        return;
      }
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      activity();
      errLines.push(chunk);
      stderr += chunk;
      if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });

    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      watchdog.stop();
      if (cpuWatch) clearInterval(cpuWatch);
      opts.signal?.removeEventListener('abort', onAbort);
      const outcome = failure instanceof VpipeError ? failure.code.toLowerCase() : child.exitCode === 0 ? 'ok' : 'exit_nonzero';
      metrics.toolRuns.inc({ tool, outcome });
      metrics.toolRunSeconds.observe({ tool }, (performance.now() - started) / 1000);
      fn();
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => {
        const code = err.code === 'ENOENT' ? ErrorCodes.ToolMissing : ErrorCodes.ToolFailed;
        reject(new VpipeError(code, `${tool} could not be started: ${err.message}`, { cause: err }));
      });
    });
    // 'close' (not 'exit') so every byte of stdout/stderr has been read before we resolve.
    child.on('close', (code, signal) => {
      finish(() => {
        outLines.flush();
        errLines.flush();
        if (failure) return reject(failure);
        resolve({
          stdout,
          stderr: stderr.length > STDERR_KEEP ? stderr.slice(-STDERR_KEEP) : stderr,
          code,
          signal,
          durationMs: Math.round(performance.now() - started),
        });
      });
    });
  });
}

export type ToolRunner = typeof runTool;

const CPU_SAMPLE_MS = 1_000;

/**
 * The fields of /proc/<pid>/stat after the command name (Linux): [0] state, [1] ppid … [11] utime,
 * [12] stime, [13] cutime, [14] cstime in clock ticks; null where unreadable (gone, or no /proc).
 */
export function procStat(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU ticks (user + system) a process has used; null where unreadable. */
export function cpuTicks(pid: number): number | null {
  const f = procStat(pid);
  return f && Number(f[11]) + Number(f[12]);
}

/** Calls `onWork` whenever the process's CPU time has advanced since the last sample. */
function watchCpu(pid: number, onWork: () => void): NodeJS.Timeout {
  let last = cpuTicks(pid);
  const t = setInterval(() => {
    const now = cpuTicks(pid);
    if (now !== null && last !== null && now > last) onWork();
    last = now ?? last;
  }, CPU_SAMPLE_MS);
  t.unref();
  return t;
}

/**
 * Tells "the tool judged the input" apart from "the tool never really ran":
 * death by signal (crash, OOM killer, an outside SIGKILL) or failing to load
 * or allocate under the address-space cap. Throws TOOL_FAILED for the latter
 * (retryable when memory or a kill may be transient); returns otherwise.
 */
export function assertToolRan(tool: MediaTool, r: RunToolResult): void {
  if (r.signal !== null) {
    throw new ToolError('crashed', `${tool} died with ${r.signal}`, { retryable: r.signal === 'SIGKILL' });
  }
  if (r.code !== 0 && /Cannot allocate memory|failed to map segment|error while loading shared libraries/i.test(r.stderr)) {
    throw new ToolError('oom', `${tool} could not get memory under its address-space limit (VPIPE_TOOL_MEMORY_LIMIT_BYTES): ${r.stderr.trim().slice(-200)}`);
  }
}

/**
 * Input arguments that can only ever open a local file: the `file:` prefix
 * stops `concat:x`, `http:…` or `-i` being parsed as protocol or option, and
 * the whitelist stops nested opens (HLS playlists, mov drefs) leaving the
 * file protocol. Throws BAD_REQUEST for a relative path or one holding NUL.
 */
export function inputArgs(filePath: string): string[] {
  if (filePath.includes('\0')) throw new VpipeError(ErrorCodes.BadRequest, 'media path contains a NUL byte');
  if (!path.isAbsolute(filePath)) throw new VpipeError(ErrorCodes.BadRequest, `media path must be absolute: ${filePath}`);
  return ['-protocol_whitelist', 'file', '-i', `file:${filePath}`];
}

// Keyed by runner too, so a test's fake runner never poisons the real answer.
const versions = new WeakMap<ToolRunner, Map<string, Promise<string>>>();
/** First line of `<tool> -version`, cached per runner and binary; throws like runTool (a failed lookup is not cached). */
export function toolVersion(tool: MediaTool, run: ToolRunner = runTool): Promise<string> {
  let key: string;
  try {
    key = `${tool}:${toolBinary(tool, toolOptions())}`;
  } catch (e) {
    return Promise.reject(e);
  }
  let cache = versions.get(run);
  if (!cache) versions.set(run, (cache = new Map()));
  const byRunner = cache;
  let pending = byRunner.get(key);
  if (!pending) {
    pending = run(tool, ['-hide_banner', '-version'], { timeoutMs: 15_000 }).then((r) => {
      const first = r.stdout.split('\n', 1)[0]?.trim() ?? '';
      if (r.code !== 0 || first === '') {
        throw new VpipeError(ErrorCodes.ToolFailed, `${tool} -version failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      }
      return first;
    });
    pending.catch(() => byRunner.delete(key));
    byRunner.set(key, pending);
  }
  return pending;
}
