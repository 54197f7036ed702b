/**
 * The process configuration: every environment variable vpipe reads, parsed
 * here and nowhere else. `loadConfig(env)` checks each variable strictly
 * (integers are digits only, numbers are decimals, each within its range; a
 * blank value counts as unset), fills every default, and returns one frozen
 * options object grouped by concern. A bad value is never replaced by a
 * default: `ConfigError` names every bad variable at once, with its value and
 * what it accepts.
 *
 * Nothing here imports runtime/ (schemas is the bottom layer). The app builds
 * the object once at start and hands its groups down; runtime modules fall
 * back to `processConfig()` (the same parse of process.env, done once) where
 * nothing was handed to them (tests, benches).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Jobs per service a workflow node runs at once (VPIPE_CONCURRENCY). */
export const DEFAULT_CONCURRENCY = 2;
/** How long `vpipe up` / `vpipe node` (and VpipeNode.stop) let running jobs finish on SIGINT/SIGTERM (`--grace`, in seconds). */
export const DEFAULT_DRAIN_GRACE_MS = 30_000;

export interface NatsOptions {
  /** NATS_URL: server or cluster URLs, comma-separated; null: start an embedded nats-server. */
  readonly url: string | null;
  /** VPIPE_NATS_PORT, VPIPE_NATS_MONITOR_PORT: the embedded server's client and monitoring ports. */
  readonly embedded: { readonly port: number; readonly monitorPort: number };
  /** VPIPE_NATS_SERVER: the nats-server binary; null: the project's .tools/bin, then PATH. */
  readonly serverBinary: string | null;
  /** VPIPE_NATS_ASYNC_TRACES: nats.js records call sites for time-outs (costs CPU per request). */
  readonly asyncTraces: boolean;
}

export interface TopologyOptions {
  /** Stream/KV replicas: 1 on one server, 3 on a 3-node cluster (VPIPE_REPLICAS). */
  readonly replicas: number;
  /** How long a worker may go silent before its message is redelivered (VPIPE_ACK_WAIT_MS). Workers send in-progress acks well inside it. */
  readonly ackWaitMs: number;
  /** Deliveries before a retryable failure becomes final (VPIPE_MAX_DELIVER). */
  readonly maxDeliver: number;
  /** How long result and progress events stay in VPIPE_EVENTS (VPIPE_EVENTS_MAX_AGE_S); 0 keeps them. */
  readonly eventsMaxAgeSeconds: number;
  /** A job record is removed this long after its last change (KV max age, VPIPE_JOB_RETENTION_HOURS); 0 keeps records forever. */
  readonly jobRetentionHours: number;
  /** Chunk results are removed this long after they were written (VPIPE_CHUNK_RETENTION_HOURS; a finished job removes its own at once); 0 keeps them. */
  readonly chunkRetentionHours: number;
  /** Most work items queued or running at once, all functions (VPIPE_MAX_QUEUED_WORK): past it new work is refused, never dropped; 0: no limit. */
  readonly maxQueuedWork: number;
}

export interface NodeOptions {
  /** VPIPE_CONCURRENCY: jobs per service a workflow node runs at once. */
  readonly concurrency: number;
  /** VPIPE_NODE_CPUS: the CPUs the supervisor packs actors into (detected by default). */
  readonly cpus: number;
  /** VPIPE_NODE_MEMORY_MB: the memory the supervisor packs actors into (detected by default). */
  readonly memoryMb: number;
}

export interface PoolOptions {
  /** VPIPE_ENCODER_ACTORS: pin every encoder pool to this many actors (autoscaling and capacity limits off); null: autoscale. */
  readonly encoderActors: number | null;
  /** VPIPE_ENCODER_MIN, VPIPE_ENCODER_MAX: autoscaling bounds of each encoder pool (max defaults to 2 × node CPUs). */
  readonly encoderMin: number;
  readonly encoderMax: number;
  /** VPIPE_SCALE_DOWN_COOLDOWN_MS: how long a queue must stay below its pool before the pool shrinks. */
  readonly scaleDownCooldownMs: number;
  /** VPIPE_ESCALATION_HOLD_MS: how long an escalated pool stays stopped before it may run again; 0: until the node restarts. */
  readonly escalationHoldMs: number;
}

export interface ToolOptions {
  /** VPIPE_FFMPEG, VPIPE_FFPROBE: the binaries to run (a name is looked up on PATH). */
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** VPIPE_VMAF_FFMPEG: the ffmpeg built with libvmaf that VQS measures with; null: .tools/bin/ffmpeg-vmaf, else the OS ffmpeg. */
  readonly vmafFfmpeg: string | null;
  /** VPIPE_TOOL_LIMIT_SCALE: multiplies every computed wall limit and stall window. */
  readonly limitScale: number;
  /** VPIPE_TOOL_TIMEOUT_MS: a hard cap on every wall limit, and the limit of runs that name no media length; null: no cap (10 min for those runs). */
  readonly timeoutCapMs: number | null;
  /** VPIPE_TOOL_STALL_MS: replaces every kind's stall window (not scaled); null: per kind. */
  readonly stallMs: number | null;
  /** VPIPE_TOOL_MEMORY_LIMIT_BYTES: address-space limit of one run (prlimit --as); 0: none. */
  readonly memoryLimitBytes: number;
}

export interface VpipeConfig {
  readonly nats: NatsOptions;
  readonly topology: TopologyOptions;
  readonly node: NodeOptions;
  readonly pools: PoolOptions;
  readonly tools: ToolOptions;
  /** VPIPE_METRICS_PORT: Prometheus /metrics and /healthz; 0 picks a free port. */
  readonly metrics: { readonly port: number };
  /** VPIPE_MEDIA_ROOT, VPIPE_DATA_DIR: absolute paths (relative values are resolved against the working directory). */
  readonly paths: { readonly mediaRoot: string; readonly dataDir: string };
  /** LOG_LEVEL: the pino level. */
  readonly log: { readonly level: LogLevel };
  /** The variables that were set (not blank), so a command can tell a default from a choice. */
  readonly explicit: readonly string[];
  /** VPIPE_* variables that are not vpipe settings (a misspelt name is ignored, so the app warns about these). */
  readonly unknown: readonly string[];
}

export interface ConfigProblem {
  readonly variable: string;
  /** The value as given (credentials in a URL masked). */
  readonly value: string;
  /** What the variable accepts. */
  readonly expected: string;
}

/** A refused configuration; the message lists every problem, one a line. Extends nothing project-specific. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.variable}='${p.value}': expected ${p.expected}`);
    super(`invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}; see README, Configuration):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

// --- parsers: each variable is a zod schema over the trimmed string, with the words that describe it ---

interface Parser<T> {
  readonly schema: z.ZodType<T, string>;
  /** What is accepted, for ConfigError (and the README table). */
  readonly accepted: string;
}

interface Setting<T> extends Parser<T> {
  /** The value when the variable is unset; undefined: none, or computed in loadConfig (cores, memory, paths). */
  readonly default: T | undefined;
  readonly defaultWords: string;
}

const setting = <T>(p: Parser<T>, dflt: T | undefined, words = String(dflt)): Setting<T> => ({ ...p, default: dflt, defaultWords: words });

const fmt = (n: number): string => (Number.isSafeInteger(n) ? n.toString() : String(n));

function integer(min: number, max: number, unit?: string): Parser<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${fmt(min)}` : `from ${fmt(min)} to ${fmt(max)}`;
  return {
    schema: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)),
    accepted: `an integer ${range}${unit ? ` (${unit})` : ''}`,
  };
}

/** A decimal number (digits with an optional fraction: no sign, exponent or unit) above `above` (exclusive) and at most `max`. */
function decimal(above: number, max: number, unit?: string, inclusiveMin = false): Parser<number> {
  const num = z.number().max(max);
  return {
    schema: z.string().regex(/^(\d+(\.\d*)?|\.\d+)$/).transform(Number).pipe(inclusiveMin ? num.min(above) : num.gt(above)),
    accepted: `a number ${inclusiveMin ? '>=' : '>'} ${fmt(above)} and <= ${fmt(max)}${unit ? ` (${unit})` : ''}`,
  };
}

const port = (min: number): Parser<number> => integer(min, 65_535, 'a TCP port');

const text = (what: string): Parser<string> => ({ schema: z.string().min(1), accepted: what });

const flag: Parser<boolean> = {
  schema: z
    .string()
    .toLowerCase()
    .pipe(z.enum(['1', '0', 'true', 'false']))
    .transform((v) => v === '1' || v === 'true'),
  accepted: '1 or 0 (true or false)',
};

const logLevel: Parser<LogLevel> = {
  schema: z.string().toLowerCase().pipe(z.enum(LOG_LEVELS)),
  accepted: `one of ${LOG_LEVELS.join(', ')}`,
};

const NATS_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:'];

/** One NATS URL: `[nats|tls|ws|wss://][user[:pass]@]host[:port]`; null when it is not one. */
function natsServer(s: string): string | null {
  if (s === '' || /\s/.test(s)) return null;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
  let u: URL;
  try {
    u = new URL(hasScheme ? s : `nats://${s}`);
  } catch {
    return null;
  }
  if (!NATS_SCHEMES.includes(u.protocol) || u.hostname === '' || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) return null;
  return s;
}

const natsUrls: Parser<string> = {
  schema: z
    .string()
    .transform((s) => s.split(',').map((p) => p.trim()))
    .refine((parts) => parts.every((p) => natsServer(p) !== null))
    .transform((parts) => parts.join(',')),
  accepted: 'comma-separated NATS URLs ([nats|tls|ws|wss://][user:pass@]host[:port])',
};

/** Masks the user/password part of URLs, for messages and logs. */
export function maskCredentials(urls: string): string {
  return urls.replace(/(^|,|\/\/)\s*([^,@/]+)@/g, '$1***@');
}

// --- the variables: one entry each, the single place their names, formats and defaults live ---

const ONE_DAY_MS = 86_400_000;
const TEN_YEARS_HOURS = 87_600;
const MAX_ACTORS = 1024;

const SETTINGS = {
  NATS_URL: setting(natsUrls, undefined, 'none (embedded server)'),
  VPIPE_NATS_PORT: setting(port(1), 4222),
  VPIPE_NATS_MONITOR_PORT: setting(port(1), 8222),
  VPIPE_NATS_SERVER: setting(text('a path to a nats-server binary'), undefined, 'none (.tools/bin, then PATH)'),
  VPIPE_NATS_ASYNC_TRACES: setting(flag, false, '0'),
  VPIPE_REPLICAS: setting(integer(1, 5), 1),
  VPIPE_ACK_WAIT_MS: setting(integer(100, ONE_DAY_MS, 'milliseconds'), 30_000),
  VPIPE_MAX_DELIVER: setting(integer(1, 1000), 5),
  VPIPE_EVENTS_MAX_AGE_S: setting(integer(0, 10 * 365 * 86_400, 'seconds; 0 keeps events'), 7 * 24 * 3600),
  VPIPE_JOB_RETENTION_HOURS: setting(decimal(0, TEN_YEARS_HOURS, 'hours; 0 keeps records', true), 7 * 24),
  VPIPE_CHUNK_RETENTION_HOURS: setting(decimal(0, TEN_YEARS_HOURS, 'hours; 0 keeps results', true), 7 * 24),
  VPIPE_MAX_QUEUED_WORK: setting(integer(0, Number.MAX_SAFE_INTEGER, '0: no limit'), 1_000_000),
  VPIPE_CONCURRENCY: setting(integer(1, MAX_ACTORS), DEFAULT_CONCURRENCY),
  VPIPE_NODE_CPUS: setting(decimal(0, 4096, 'CPUs'), undefined, 'detected'),
  VPIPE_NODE_MEMORY_MB: setting(integer(1, 16 * 1024 * 1024, 'MiB'), undefined, 'detected'),
  VPIPE_ENCODER_ACTORS: setting(integer(1, MAX_ACTORS), undefined, 'none (autoscale)'),
  VPIPE_ENCODER_MIN: setting(integer(0, MAX_ACTORS), 1),
  VPIPE_ENCODER_MAX: setting(integer(1, MAX_ACTORS), undefined, '2 × node CPUs'),
  VPIPE_SCALE_DOWN_COOLDOWN_MS: setting(integer(0, ONE_DAY_MS, 'milliseconds'), 10_000),
  VPIPE_ESCALATION_HOLD_MS: setting(integer(0, 7 * ONE_DAY_MS, 'milliseconds; 0: until the node restarts'), 300_000),
  VPIPE_FFMPEG: setting(text('an ffmpeg binary (a path, or a name looked up on PATH)'), 'ffmpeg'),
  VPIPE_FFPROBE: setting(text('an ffprobe binary (a path, or a name looked up on PATH)'), 'ffprobe'),
  VPIPE_VMAF_FFMPEG: setting(text('an ffmpeg built with libvmaf (a path, or a name looked up on PATH)'), undefined, 'none (.tools/bin/ffmpeg-vmaf, else the OS ffmpeg)'),
  VPIPE_TOOL_LIMIT_SCALE: setting(decimal(0, 1000, 'a factor'), 1),
  VPIPE_TOOL_TIMEOUT_MS: setting(integer(1, Number.MAX_SAFE_INTEGER, 'milliseconds'), undefined, 'none'),
  VPIPE_TOOL_STALL_MS: setting(integer(1, Number.MAX_SAFE_INTEGER, 'milliseconds'), undefined, 'none (per step)'),
  VPIPE_TOOL_MEMORY_LIMIT_BYTES: setting(integer(0, Number.MAX_SAFE_INTEGER, 'bytes; 0: no limit'), 4 * 1024 ** 3),
  VPIPE_METRICS_PORT: setting(port(0), 9464),
  VPIPE_MEDIA_ROOT: setting(text('a directory'), undefined, './media'),
  VPIPE_DATA_DIR: setting(text('a directory'), undefined, '<repo>/.vpipe/data'),
  LOG_LEVEL: setting(logLevel, 'info' as LogLevel),
} as const;

export type ConfigVariable = keyof typeof SETTINGS;
type Parsed = { [K in ConfigVariable]?: z.output<(typeof SETTINGS)[K]['schema']> };

/** Blank (unset, empty or spaces) is undefined; anything else is trimmed. */
const given = (v: unknown): unknown => (typeof v !== 'string' ? v : v.trim() === '' ? undefined : v.trim());

/** The zod schema of the environment: every variable vpipe reads, optional, unknown keys ignored. */
export const ConfigEnv = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([name, s]) => [name, z.preprocess(given, s.schema.optional())])) as unknown as {
    [K in ConfigVariable]: z.ZodType<Parsed[K]>;
  },
);


/** Every variable with what it accepts and its default, in words (tests and docs iterate over it). */
export const CONFIG_VARIABLES: readonly { readonly name: ConfigVariable; readonly accepted: string; readonly default: string }[] = Object.freeze(
  (Object.keys(SETTINGS) as ConfigVariable[]).map((name) => ({
    name,
    accepted: SETTINGS[name].accepted,
    default: SETTINGS[name].defaultWords,
  })),
);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment into the one options object of this process, every default filled in,
 * deeply frozen. Throws ConfigError listing every bad variable (never a partial result).
 */
export function loadConfig(env: Env): VpipeConfig {
  const problems: ConfigProblem[] = [];
  const shown = (name: string): string => {
    const raw = env[name] ?? '';
    return name === 'NATS_URL' ? maskCredentials(raw) : raw;
  };
  // Each variable on its own, so that every bad one is reported and cross-checks still see the good ones.
  const parsed: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as ConfigVariable[]) {
    const r = ConfigEnv.shape[name].safeParse(env[name]);
    if (r.success) parsed[name] = r.data;
    else problems.push({ variable: name, value: shown(name), expected: SETTINGS[name].accepted });
  }
  type Value<K extends ConfigVariable> = NonNullable<Parsed[K]>;
  /** The parsed value, else the setting's default; null where it has none. */
  const opt = <K extends ConfigVariable>(k: K): Value<K> | null => (parsed[k] ?? SETTINGS[k].default ?? null) as Value<K> | null;
  const val = <K extends ConfigVariable>(k: K): Value<K> => {
    const x = opt(k);
    if (x === null) throw new Error(`${k} has no default`);
    return x;
  };
  const cpus = opt('VPIPE_NODE_CPUS') ?? os.availableParallelism();
  const encoderMin = val('VPIPE_ENCODER_MIN');
  const encoderMax = opt('VPIPE_ENCODER_MAX') ?? Math.max(1, Math.floor(2 * cpus));
  const boundsValid = !problems.some((q) => ['VPIPE_ENCODER_MIN', 'VPIPE_ENCODER_MAX', 'VPIPE_NODE_CPUS'].includes(q.variable));
  if (boundsValid && encoderMin > encoderMax) {
    const maxSource = opt('VPIPE_ENCODER_MAX') === null ? `the default 2 × ${fmt(cpus)} CPUs` : 'VPIPE_ENCODER_MAX';
    problems.push({ variable: 'VPIPE_ENCODER_MIN', value: shown('VPIPE_ENCODER_MIN'), expected: `at most VPIPE_ENCODER_MAX (${encoderMax}, ${maxSource})` });
  }
  if (problems.length) throw new ConfigError(problems);

  const explicit = Object.keys(SETTINGS).filter((name) => given(env[name]) !== undefined);
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('VPIPE_') && !Object.prototype.hasOwnProperty.call(SETTINGS, name))
    .sort();
  const config: VpipeConfig = {
    nats: {
      url: opt('NATS_URL'),
      embedded: { port: val('VPIPE_NATS_PORT'), monitorPort: val('VPIPE_NATS_MONITOR_PORT') },
      serverBinary: opt('VPIPE_NATS_SERVER'),
      asyncTraces: val('VPIPE_NATS_ASYNC_TRACES'),
    },
    topology: {
      replicas: val('VPIPE_REPLICAS'),
      ackWaitMs: val('VPIPE_ACK_WAIT_MS'),
      maxDeliver: val('VPIPE_MAX_DELIVER'),
      eventsMaxAgeSeconds: val('VPIPE_EVENTS_MAX_AGE_S'),
      jobRetentionHours: val('VPIPE_JOB_RETENTION_HOURS'),
      chunkRetentionHours: val('VPIPE_CHUNK_RETENTION_HOURS'),
      maxQueuedWork: val('VPIPE_MAX_QUEUED_WORK'),
    },
    node: {
      concurrency: val('VPIPE_CONCURRENCY'),
      cpus,
      memoryMb: opt('VPIPE_NODE_MEMORY_MB') ?? Math.floor(os.totalmem() / 2 ** 20),
    },
    pools: {
      encoderActors: opt('VPIPE_ENCODER_ACTORS'),
      encoderMin,
      encoderMax,
      scaleDownCooldownMs: val('VPIPE_SCALE_DOWN_COOLDOWN_MS'),
      escalationHoldMs: val('VPIPE_ESCALATION_HOLD_MS'),
    },
    tools: {
      ffmpeg: val('VPIPE_FFMPEG'),
      ffprobe: val('VPIPE_FFPROBE'),
      vmafFfmpeg: opt('VPIPE_VMAF_FFMPEG'),
      limitScale: val('VPIPE_TOOL_LIMIT_SCALE'),
      timeoutCapMs: opt('VPIPE_TOOL_TIMEOUT_MS'),
      stallMs: opt('VPIPE_TOOL_STALL_MS'),
      memoryLimitBytes: val('VPIPE_TOOL_MEMORY_LIMIT_BYTES'),
    },
    metrics: { port: val('VPIPE_METRICS_PORT') },
    paths: {
      mediaRoot: path.resolve(opt('VPIPE_MEDIA_ROOT') ?? 'media'),
      dataDir: path.resolve(opt('VPIPE_DATA_DIR') ?? path.join(REPO_ROOT, '.vpipe/data')),
    },
    log: { level: val('LOG_LEVEL') },
    explicit,
    unknown,
  };
  return deepFreeze(config);
}

let fromProcess: VpipeConfig | undefined;

/**
 * loadConfig(process.env), parsed on the first call and kept: the one configuration of this
 * process, and the default of runtime modules nothing was handed to. Throws ConfigError.
 */
export function processConfig(): VpipeConfig {
  return (fromProcess ??= loadConfig(process.env));
}

/**
 * LOG_LEVEL for the root logger, which is built when its module loads (before any command
 * can report a ConfigError): the level when valid, else 'info' (loadConfig refuses it later).
 */
export function initialLogLevel(env: Env): LogLevel {
  const r = SETTINGS.LOG_LEVEL.schema.safeParse(env.LOG_LEVEL?.trim() ?? '');
  return r.success ? r.data : 'info';
}

/** The options as a plain object for a log line (NATS credentials masked). */
export function describeConfig(config: VpipeConfig): Record<string, unknown> {
  return { ...config, nats: { ...config.nats, url: config.nats.url === null ? null : maskCredentials(config.nats.url) } };
}
