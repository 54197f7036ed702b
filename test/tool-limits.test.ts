/**
 * Per-step tool limits: the limit arithmetic over the compiled tool options (pure),
 * then runTool against real ffmpeg: a long run that keeps printing progress
 * outlives its stall window, a silent one (blocked on a FIFO, or stopped with
 * SIGSTOP) is killed with TOOL_STALLED, and the media-scaled wall limit still
 * kills a run that overstays it with TOOL_TIMEOUT.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, VpipeError } from '../runtime/core/errors.js';
import { inputArgs, runTool } from '../runtime/media/tools.js';
import { metrics } from '../runtime/core/metrics.js';
import { ConfigError, loadConfig } from '../schemas/config.js';
import {
  configureTools,
  DEFAULT_TOOL_TIMEOUT_MS,
  resolveToolLimits,
  TOOL_STEP_PROFILES,
  toolLimitScale,
  toolStallMs,
  toolTimeLimitMs,
  ToolWatchdog,
  toolTimeoutCapMs,
  type ToolStepKind,
} from '../runtime/media/tool-limits.js';
import { expectVpipeError } from './helpers/errors.js';

const KINDS = Object.keys(TOOL_STEP_PROFILES) as ToolStepKind[];

/** The tool options an environment compiles to (schemas/config.ts does the parsing). */
const tools = (env: Record<string, string> = {}) => loadConfig(env).tools;

function caught(fn: () => unknown): VpipeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VpipeError);
    return e as VpipeError;
  }
  throw new Error('expected a throw');
}


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
}

async function runsWithOutcome(outcome: string): Promise<number> {
  const m = await metrics.toolRuns.get();
  return m.values.find((v) => v.labels.tool === 'ffmpeg' && v.labels.outcome === outcome)?.value ?? 0;
}

describe('tool limit arithmetic', () => {
  it('is floor + media duration at the kind’s minimum speed, uncapped by default', () => {
    for (const kind of KINDS) {
      const p = TOOL_STEP_PROFILES[kind];
      expect(toolTimeLimitMs({ mediaSeconds: 0, kind }, tools())).toBe(p.floorMs);
      expect(toolTimeLimitMs({ mediaSeconds: 100, kind }, tools())).toBe(Math.ceil(p.floorMs + 100_000 / p.minSpeed));
      expect(toolStallMs(kind, tools())).toBe(p.stallMs);
    }
    // A two-hour mezzanine: the full decode gets 8 h + 1 min, an encode 100 h + 2 min; never the old 10 minutes.
    expect(toolTimeLimitMs({ mediaSeconds: 7200, kind: 'decode' }, tools())).toBe(60_000 + 28_800_000);
    expect(toolTimeLimitMs({ mediaSeconds: 7200, kind: 'encode' }, tools())).toBe(120_000 + 360_000_000);
    expect(toolTimeLimitMs({ mediaSeconds: 7200, kind: 'assemble' }, tools())).toBe(60_000 + 7_200_000);
    expect(toolTimeLimitMs({ mediaSeconds: 7200, kind: 'probe' }, tools())).toBe(60_000 + 72_000);
    expect(toolStallMs('encode', tools())).toBe(120_000);
    expect(toolStallMs('decode', tools())).toBe(60_000);
    // Slower kinds never get less time than faster ones for the same media.
    const order: ToolStepKind[] = ['probe', 'demux', 'decode', 'measure', 'encode'];
    const limits = order.map((kind) => toolTimeLimitMs({ mediaSeconds: 600, kind }, tools()));
    expect([...limits].sort((a, b) => a - b)).toEqual(limits);
  });

  it('scales limits and stall windows by VPIPE_TOOL_LIMIT_SCALE', () => {
    const opts = tools({ VPIPE_TOOL_LIMIT_SCALE: '0.04' });
    expect(toolLimitScale(opts)).toBe(0.04);
    expect(toolTimeLimitMs({ mediaSeconds: 10, kind: 'decode' }, opts)).toBe(4000); // (60 s + 10 s / 0.25) × 0.04
    expect(toolStallMs('decode', opts)).toBe(2400);
    expect(toolStallMs('encode', tools({ VPIPE_TOOL_LIMIT_SCALE: '3' }))).toBe(360_000);
    expect(toolTimeLimitMs({ mediaSeconds: 10, kind: 'encode' }, tools({ VPIPE_TOOL_LIMIT_SCALE: '2' }))).toBe(2 * (120_000 + 500_000));
    expect(toolLimitScale(tools())).toBe(1);
    expect(toolLimitScale(tools({ VPIPE_TOOL_LIMIT_SCALE: '  ' }))).toBe(1);
  });

  it('lets VPIPE_TOOL_TIMEOUT_MS cap every limit (backward compatibility) and VPIPE_TOOL_STALL_MS replace the stall window', () => {
    const opts = tools({ VPIPE_TOOL_TIMEOUT_MS: '600000', VPIPE_TOOL_STALL_MS: '5000', VPIPE_TOOL_LIMIT_SCALE: '10' });
    expect(toolTimeoutCapMs(opts)).toBe(600_000);
    expect(toolTimeLimitMs({ mediaSeconds: 7200, kind: 'decode' }, opts)).toBe(600_000);
    expect(toolTimeLimitMs({ mediaSeconds: 1, kind: 'probe' }, tools({ VPIPE_TOOL_TIMEOUT_MS: '600000' }))).toBe(60_010);
    for (const kind of KINDS) expect(toolStallMs(kind, opts)).toBe(5000); // not scaled
    expect(toolTimeoutCapMs(tools())).toBeNull();
  });

  it('gets no bad value: the configuration refuses a non-numeric or non-positive one, naming the variable and the range', () => {
    for (const name of ['VPIPE_TOOL_LIMIT_SCALE', 'VPIPE_TOOL_TIMEOUT_MS', 'VPIPE_TOOL_STALL_MS']) {
      for (const bad of ['abc', '0', '-1', 'NaN', 'Infinity', '10ms']) {
        let e: unknown;
        try {
          loadConfig({ [name]: bad });
        } catch (err) {
          e = err;
        }
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).message).toContain(`${name}='${bad}'`);
        expect((e as ConfigError).message).toMatch(name === 'VPIPE_TOOL_LIMIT_SCALE' ? /a number > 0/ : /an integer >= 1 \(milliseconds\)/);
      }
    }
  });

  it('rejects a bad duration, kind or explicit limit', () => {
    for (const mediaSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(caught(() => toolTimeLimitMs({ mediaSeconds, kind: 'decode' }, tools())).message).toMatch(/mediaSeconds/);
    }
    expect(caught(() => toolStallMs('transcode' as ToolStepKind, tools())).message).toMatch(/unknown tool step kind 'transcode'/);
    expect(caught(() => resolveToolLimits({ stallMs: 0 }, tools())).message).toMatch(/stallMs must be a positive/);
    expect(caught(() => resolveToolLimits({ timeoutMs: -5 }, tools())).message).toMatch(/timeoutMs must be a positive/);
  });

  it('resolves a run’s limits: explicit options, then `limit`, then the old default without a stall check', () => {
    expect(resolveToolLimits({}, tools())).toEqual({ timeoutMs: DEFAULT_TOOL_TIMEOUT_MS, stallMs: null, timeoutSource: 'default' });
    expect(resolveToolLimits({}, tools({ VPIPE_TOOL_TIMEOUT_MS: '1234' }))).toMatchObject({ timeoutMs: 1234, stallMs: null });
    expect(resolveToolLimits({ limit: { mediaSeconds: 10, kind: 'decode' } }, tools({ VPIPE_TOOL_LIMIT_SCALE: '0.04' }))).toEqual({
      timeoutMs: 4000,
      stallMs: 2400,
      timeoutSource: 'decode of 10 s of media',
    });
    // Unknown duration: the default wall limit, but the stall check still applies.
    expect(resolveToolLimits({ limit: { mediaSeconds: null, kind: 'encode' } }, tools())).toMatchObject({ timeoutMs: DEFAULT_TOOL_TIMEOUT_MS, stallMs: 120_000 });
    expect(resolveToolLimits({ timeoutMs: 50, stallMs: 7, limit: { mediaSeconds: 10, kind: 'decode' } }, tools({ VPIPE_TOOL_STALL_MS: '99' }))).toMatchObject({
      timeoutMs: 50,
      stallMs: 7,
    });
    expect(resolveToolLimits({ stallMs: 500 }, tools())).toMatchObject({ timeoutMs: DEFAULT_TOOL_TIMEOUT_MS, stallMs: 500 });
  });
});

describe('ToolWatchdog', () => {
  it('fires a stall only after touches stop, and copes with limits beyond setTimeout’s range', async () => {
    const fired: Array<[string, number]> = [];
    const t0 = performance.now();
    const dog = new ToolWatchdog(t0, 10_000, 150, (what) => fired.push([what, performance.now() - t0]));
    const toucher = setInterval(() => dog.touch(), 30);
    await new Promise((r) => setTimeout(r, 400));
    expect(fired).toEqual([]);
    clearInterval(toucher);
    await new Promise((r) => setTimeout(r, 400));
    expect(fired.map(([w]) => w)).toEqual(['stall']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(400 + 100);
    dog.stop();

    // 4.3e9 ms (a 24 h encode at 0.02×) overflows a plain setTimeout into a 1 ms timer.
    const far: string[] = [];
    const big = new ToolWatchdog(performance.now(), 4.4e9, null, (what) => far.push(what));
    await new Promise((r) => setTimeout(r, 50));
    big.stop();
    expect(far).toEqual([]);
  });
});

describe('runTool with stall and media-scaled limits (real ffmpeg)', () => {
  let dir: string;
  /** Runs with these tool settings on top of the environment's (so VPIPE_FFMPEG still applies). */
  const useTools = (env: Record<string, string>) => configureTools(loadConfig({ ...process.env, ...env }).tools);
  // Progress on stdout only (-nostats, errors only on stderr), so stdout is all that counts as activity.
  const quiet = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1'];
  const realtime = (seconds?: number) => [
    ...quiet, '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', ...(seconds ? ['-t', String(seconds)] : []), '-f', 'null', '-',
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vpipe-tool-limits-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    configureTools(null);
  });

  it('lets a run longer than its stall window finish while it keeps printing progress', async () => {
    useTools({ VPIPE_TOOL_LIMIT_SCALE: '0.04' }); // decode of 10 s of media: 4 s
    const beats: number[] = [];
    const t0 = performance.now();
    const r = await runTool('ffmpeg', realtime(3), {
      limit: { mediaSeconds: 10, kind: 'decode' },
      stallMs: 1000,
      keepStdout: true,
      onActivity: () => beats.push(performance.now() - t0),
    });
    expect(r.code).toBe(0);
    expect(r.durationMs).toBeGreaterThan(2500); // well past the 1 s stall window
    expect(r.durationMs).toBeLessThan(4000);
    expect(r.stdout).toMatch(/^progress=end$/m);
    expect(r.stdout).toMatch(/^frame=75$/m); // all 3 s of it
    // Heartbeats on real progress, throttled to one a second.
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < beats.length; i++) expect(beats[i]! - beats[i - 1]!).toBeGreaterThanOrEqual(999);
  });

  it('kills an ffmpeg blocked on input that never comes (a FIFO nobody writes) with TOOL_STALLED', async () => {
    const fifo = path.join(dir, 'never-written.fifo');
    execFileSync('mkfifo', [fifo]);
    const before = await runsWithOutcome('tool_stalled');
    let pid = 0;
    const t0 = performance.now();
    const e = await expectVpipeError(
      runTool('ffmpeg', [...quiet, ...inputArgs(fifo), '-f', 'null', '-'], { stallMs: 1000, onSpawn: (p) => (pid = p) }),
      ErrorCodes.ToolStalled,
    );
    const elapsed = performance.now() - t0;
    expect(e.retryable).toBe(true);
    expect(e.status).toBe(504);
    expect(e.message).toBe('ffmpeg made no progress for 1 s and was killed');
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(1000 + 2000);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(await runsWithOutcome('tool_stalled')).toBe(before + 1);
  });

  it('kills a run that stops making progress midway (SIGSTOP) with TOOL_STALLED, using the kind’s scaled stall window', async () => {
    useTools({ VPIPE_TOOL_LIMIT_SCALE: '0.02' }); // decode stall window: 60 s × 0.02 = 1.2 s; wall limit of 60 s of media: 6 s
    let pid = 0;
    let stoppedAt = 0;
    const run = runTool('ffmpeg', realtime(), {
      limit: { mediaSeconds: 60, kind: 'decode' },
      onSpawn: (p) => (pid = p),
      onActivity: () => {
        if (stoppedAt === 0) {
          process.kill(pid, 'SIGSTOP');
          stoppedAt = performance.now();
        }
      },
    });
    const e = await expectVpipeError(run, ErrorCodes.ToolStalled);
    const sinceStop = performance.now() - stoppedAt;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(e.message).toBe('ffmpeg made no progress for 1.2 s and was killed');
    expect(sinceStop).toBeGreaterThanOrEqual(1200 - 50); // output already in the pipe may land just after the stop
    expect(sinceStop).toBeLessThan(1200 + 2000);
    expect(alive(pid)).toBe(false);
  });

  it('still kills a run that keeps printing progress once it overstays its media-scaled wall limit (TOOL_TIMEOUT)', async () => {
    useTools({ VPIPE_TOOL_LIMIT_SCALE: '0.02' }); // decode of 10 s of media: (60 s + 40 s) × 0.02 = 2 s; stall window 1.2 s
    let pid = 0;
    let beats = 0;
    const t0 = performance.now();
    const e = await expectVpipeError(
      runTool('ffmpeg', realtime(), { limit: { mediaSeconds: 10, kind: 'decode' }, onSpawn: (p) => (pid = p), onActivity: () => beats++ }),
      ErrorCodes.ToolTimeout,
    );
    const elapsed = performance.now() - t0;
    expect(e.retryable).toBe(true);
    expect(e.message).toBe('ffmpeg exceeded its 2000 ms time limit (decode of 10 s of media) and was killed');
    expect(beats).toBeGreaterThanOrEqual(2); // it was making progress all along: not a stall
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(2000 + 2000);
    expect(alive(pid)).toBe(false);
  });

  it('keeps the old behaviour without options, caps it by VPIPE_TOOL_TIMEOUT_MS, and never gets a bad value to run with', async () => {
    const r = await runTool('ffmpeg', [...quiet, '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '5', '-f', 'null', '-']);
    expect(r.code).toBe(0);

    useTools({ VPIPE_TOOL_TIMEOUT_MS: '700' });
    const e = await expectVpipeError(runTool('ffmpeg', realtime()), ErrorCodes.ToolTimeout);
    expect(e.message).toBe('ffmpeg exceeded its 700 ms time limit (VPIPE_TOOL_TIMEOUT_MS) and was killed');

    // A bad value is refused where the configuration is read, so no run ever sees it.
    expect(() => useTools({ VPIPE_TOOL_TIMEOUT_MS: 'ten minutes' })).toThrow(/VPIPE_TOOL_TIMEOUT_MS='ten minutes': expected an integer >= 1/);
  });
});
