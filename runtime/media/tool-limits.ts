/**
 * How long one ffmpeg/ffprobe run may take, and how long it may go silent.
 * A run's wall limit scales with the media it reads: a floor (start-up, a
 * slow disk) plus the media duration at the slowest speed a healthy run of
 * that kind of step reaches on poor hardware. Hangs are caught by the stall
 * window (no output for that long), not by the wall limit, so the speeds can
 * be very conservative: a two-hour mezzanine gets hours, never a cut-off.
 *
 * Settings (the `tools` group of schemas/config.ts, parsed and range-checked
 * there; every function here takes them, by default the process's tool options):
 * - limitScale (VPIPE_TOOL_LIMIT_SCALE, default 1): multiplies every computed
 *   wall limit and stall window (tests use e.g. 0.02; slow shared hosts e.g. 3).
 * - timeoutCapMs (VPIPE_TOOL_TIMEOUT_MS, unset by default): the old single wall
 *   limit. Kept for backward compatibility: when set it is a hard cap on every
 *   computed limit, and still the wall limit of runs that give no media
 *   duration (otherwise those get 10 minutes, as before).
 * - stallMs (VPIPE_TOOL_STALL_MS, unset by default): replaces the stall window
 *   of every kind (not scaled).
 *
 * runTool runs deep inside actors, so the options it uses are set once per
 * process with configureTools (the app does at start); never configured (tests),
 * they are the environment's, parsed once by schemas/config.ts.
 *
 * Everything is pure arithmetic over those options except ToolWatchdog, the
 * timer runTool enforces the two limits with.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCodes, VpipeError } from '../core/mod.js';
import { processConfig, type ToolOptions } from '../../schemas/config.js';

/** What a tool run does with its input; decides its minimum speed, floor and stall window. */
export type ToolStepKind = 'probe' | 'demux' | 'decode' | 'measure' | 'encode' | 'assemble';

export interface ToolStepProfile {
  /** Slowest healthy speed, in × realtime of the media read. */
  readonly minSpeed: number;
  /** Added to every limit of this kind: process start, codec init, opening a slow mount. */
  readonly floorMs: number;
  /** No stdout/stderr output for this long means the run is stuck. */
  readonly stallMs: number;
}

export const TOOL_STEP_PROFILES: Readonly<Record<ToolStepKind, ToolStepProfile>> = Object.freeze({
  // Header reads (-show_format/-show_streams, a first frame): barely depend on duration.
  probe: { minSpeed: 100, floorMs: 60_000, stallMs: 60_000 },
  // Every packet, nothing decoded (ffprobe packet listings): I/O bound; 1× of a ~1 Gb/s mezzanine is ~120 MB/s.
  demux: { minSpeed: 1, floorMs: 60_000, stallMs: 60_000 },
  // Full software decode to null (+ cheap filters): 4K 10-bit HEVC on a loaded box is still > 6 fps of 24.
  decode: { minSpeed: 0.25, floorMs: 60_000, stallMs: 60_000 },
  // Decode plus analysis filters (idet, scdet, signalstats, quality metrics).
  measure: { minSpeed: 0.1, floorMs: 60_000, stallMs: 60_000 },
  // Slow presets (x265 veryslow, libaom cpu-used 0-2 at 4K) run at ~0.5 fps of 25; lookahead and
  // two-pass init can keep ffmpeg silent for a while, hence the longer floor and stall window.
  encode: { minSpeed: 0.02, floorMs: 120_000, stallMs: 120_000 },
  // Stream-copy concat/mux: reads and writes every byte once.
  assemble: { minSpeed: 1, floorMs: 60_000, stallMs: 60_000 },
});

/** The wall limit of runs that state no media duration (as before this module). */
export const DEFAULT_TOOL_TIMEOUT_MS = 10 * 60 * 1000;

/** setTimeout's largest delay (24.8 days); longer limits are re-armed (a 24 h source encoded at 0.02× gets ~50 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the limit arithmetic reads of the tool options. */
export type ToolLimitOptions = Pick<ToolOptions, 'limitScale' | 'timeoutCapMs' | 'stallMs'>;

let configured: ToolOptions | null = null;

/** Sets the tool options of this process (binaries, limits, memory cap); the app calls it once at start. null: back to the environment's. */
export function configureTools(tools: ToolOptions | null): void {
  configured = tools;
}

/** The tool options in force: the configured ones, else the environment's (parsed once; throws ConfigError when invalid). */
export function toolOptions(): ToolOptions {
  return configured ?? processConfig().tools;
}

function isKind(kind: string): kind is ToolStepKind {
  return Object.prototype.hasOwnProperty.call(TOOL_STEP_PROFILES, kind);
}

function profile(kind: ToolStepKind): ToolStepProfile {
  if (!isKind(kind)) {
    throw new VpipeError(ErrorCodes.Internal, `unknown tool step kind '${String(kind)}' (one of ${Object.keys(TOOL_STEP_PROFILES).join(', ')})`);
  }
  return TOOL_STEP_PROFILES[kind];
}

/** The factor on every computed limit and stall window (VPIPE_TOOL_LIMIT_SCALE, > 0, default 1). */
export function toolLimitScale(tools: ToolLimitOptions = toolOptions()): number {
  return tools.limitScale;
}

/** The legacy hard cap on every wall limit, in ms (VPIPE_TOOL_TIMEOUT_MS), or null when unset. */
export function toolTimeoutCapMs(tools: ToolLimitOptions = toolOptions()): number | null {
  return tools.timeoutCapMs === null ? null : Math.ceil(tools.timeoutCapMs);
}

/** Wall limit in ms of one `kind` run over `mediaSeconds` of media: (floor + mediaSeconds / minSpeed) × VPIPE_TOOL_LIMIT_SCALE, at most VPIPE_TOOL_TIMEOUT_MS when set. */
export function toolTimeLimitMs(step: { mediaSeconds: number; kind: ToolStepKind }, tools: ToolLimitOptions = toolOptions()): number {
  const p = profile(step.kind);
  if (typeof step.mediaSeconds !== 'number' || !Number.isFinite(step.mediaSeconds) || step.mediaSeconds < 0) {
    throw new VpipeError(ErrorCodes.Internal, `mediaSeconds must be a finite number >= 0, got ${String(step.mediaSeconds)}`);
  }
  const scaled = Math.ceil((p.floorMs + (step.mediaSeconds * 1000) / p.minSpeed) * toolLimitScale(tools));
  const cap = toolTimeoutCapMs(tools);
  return cap === null ? scaled : Math.min(scaled, cap);
}

/** Stall window in ms of a `kind` run (killed after this long without output): VPIPE_TOOL_STALL_MS when set, else the kind's window × VPIPE_TOOL_LIMIT_SCALE. */
export function toolStallMs(kind: ToolStepKind, tools: ToolLimitOptions = toolOptions()): number {
  const p = profile(kind);
  return tools.stallMs !== null ? Math.ceil(tools.stallMs) : Math.ceil(p.stallMs * toolLimitScale(tools));
}

export interface ToolLimitRequest {
  timeoutMs?: number;
  stallMs?: number;
  /** mediaSeconds null: duration unknown, so the default wall limit applies but the kind's stall window still does. */
  limit?: { mediaSeconds: number | null; kind: ToolStepKind };
}

export interface ResolvedToolLimits {
  timeoutMs: number;
  /** null: no stall detection. */
  stallMs: number | null;
  /** Where the wall limit came from, for the TOOL_TIMEOUT message. */
  timeoutSource: string;
}

/** The limits one run gets: explicit timeoutMs/stallMs win, then `limit` (scaled, capped by VPIPE_TOOL_TIMEOUT_MS), then VPIPE_TOOL_TIMEOUT_MS or 10 min and no stall check. Throws INTERNAL for bad values. */
export function resolveToolLimits(req: ToolLimitRequest, tools: ToolLimitOptions = toolOptions()): ResolvedToolLimits {
  for (const key of ['timeoutMs', 'stallMs'] as const) {
    const v = req[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new VpipeError(ErrorCodes.Internal, `${key} must be a positive number of milliseconds, got ${String(v)}`);
    }
  }
  const limit = req.limit;
  let timeoutMs: number;
  let timeoutSource: string;
  if (req.timeoutMs !== undefined) {
    timeoutMs = req.timeoutMs;
    timeoutSource = 'timeoutMs';
  } else if (limit && limit.mediaSeconds !== null) {
    timeoutMs = toolTimeLimitMs({ mediaSeconds: limit.mediaSeconds, kind: limit.kind }, tools);
    timeoutSource = `${limit.kind} of ${+limit.mediaSeconds.toFixed(3)} s of media`;
  } else {
    const cap = toolTimeoutCapMs(tools);
    timeoutMs = cap ?? DEFAULT_TOOL_TIMEOUT_MS;
    timeoutSource = cap === null ? 'default' : 'VPIPE_TOOL_TIMEOUT_MS';
  }
  const stallMs = req.stallMs ?? (limit ? toolStallMs(limit.kind, tools) : null);
  return { timeoutMs, stallMs, timeoutSource };
}

/**
 * Enforces one run's limits with a single timer (the only stateful piece of this
 * module; runTool owns one per run): calls `onFire('timeout')` at started + timeoutMs
 * (performance.now() time), or `onFire('stall')` once stallMs pass without `touch()`,
 * then stays quiet. touch() only records the time, so output chunks cause no timer
 * churn: the timer wakes at the nearest deadline and re-arms when activity moved it.
 */
export class ToolWatchdog {
  private lastActivity: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly stallMs: number | null,
    private readonly onFire: (what: 'timeout' | 'stall') => void,
  ) {
    this.lastActivity = started;
    this.arm();
  }

  touch(): void {
    this.lastActivity = performance.now();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const now = performance.now();
    const wallLeft = this.started + this.timeoutMs - now;
    const stallLeft = this.stallMs === null ? Infinity : this.lastActivity + this.stallMs - now;
    if (wallLeft <= 0) return this.fire('timeout');
    if (stallLeft <= 0) return this.fire('stall');
    this.timer = setTimeout(() => this.arm(), Math.min(Math.ceil(Math.min(wallLeft, stallLeft)), MAX_TIMER_MS));
  }

  private fire(what: 'timeout' | 'stall'): void {
    this.timer = null;
    this.onFire(what);
  }
}
