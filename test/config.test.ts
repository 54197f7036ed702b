/**
 * The process configuration (schemas/config.ts): every default, strict
 * parsing with ranges (each bad value refused, named, all at once), and the
 * CLI's handling: `vpipe up` with a bad value exits 2 at once with the
 * message and starts nothing; with LOG_LEVEL=debug a good configuration is
 * logged as compiled.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, nodeConfigFrom } from '../app/node.js';
import { topologyFromEnv } from '../runtime/nats/topology.js';
import { freePort, REPO_ROOT } from '../runtime/nats/server.js';
import { CONFIG_VARIABLES, ConfigError, DEFAULT_CONCURRENCY, DEFAULT_DRAIN_GRACE_MS, loadConfig, type VpipeConfig } from '../schemas/config.js';
import { escalationHoldFromEnv, nodeCapacity } from '../supervisor/supervisor.js';
import { tempDir } from './helpers/nats.js';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadConfig', () => {
  it('fills every default', () => {
    const cpus = os.availableParallelism();
    const expected: Omit<VpipeConfig, 'explicit' | 'unknown'> = {
      nats: { url: null, embedded: { port: 4222, monitorPort: 8222 }, serverBinary: null, asyncTraces: false },
      topology: {
        replicas: 1,
        ackWaitMs: 30_000,
        maxDeliver: 5,
        eventsMaxAgeSeconds: 604_800,
        jobRetentionHours: 168,
        chunkRetentionHours: 168,
        maxQueuedWork: 1_000_000,
      },
      node: { concurrency: 2, cpus, memoryMb: Math.floor(os.totalmem() / 2 ** 20) },
      pools: { encoderActors: null, encoderMin: 1, encoderMax: 2 * cpus, scaleDownCooldownMs: 10_000, escalationHoldMs: 300_000 },
      tools: { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', vmafFfmpeg: null, limitScale: 1, timeoutCapMs: null, stallMs: null, memoryLimitBytes: 4 * 1024 ** 3 },
      metrics: { port: 9464 },
      paths: { mediaRoot: path.resolve('media'), dataDir: path.join(REPO_ROOT, '.vpipe/data') },
      log: { level: 'info' },
    };
    expect(loadConfig({})).toEqual({ ...expected, explicit: [], unknown: [] });
    // Blank counts as unset (`VPIPE_X= vpipe up`).
    const blank = Object.fromEntries(CONFIG_VARIABLES.map((v) => [v.name, '  ']));
    expect(loadConfig(blank)).toEqual({ ...expected, explicit: [], unknown: [] });
    expect(DEFAULT_CONCURRENCY).toBe(2);
    expect(DEFAULT_DRAIN_GRACE_MS).toBe(30_000);
  });

  it('returns one frozen object, and the node, supervisor and topology read their settings from it', () => {
    const c = loadConfig({ VPIPE_CONCURRENCY: '3', VPIPE_NODE_CPUS: '1.5', VPIPE_NODE_MEMORY_MB: '2048', VPIPE_ESCALATION_HOLD_MS: '0', VPIPE_ACK_WAIT_MS: '2000' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.nats.embedded)).toBe(true);
    expect(Object.isFrozen(c.explicit)).toBe(true);
    expect(() => {
      (c.topology as { ackWaitMs: number }).ackWaitMs = 1;
    }).toThrow(TypeError);
    expect(c.pools.encoderMax).toBe(3); // 2 × 1.5 CPUs
    expect(nodeCapacity(c.node)).toEqual({ cpus: 1.5, memoryMb: 2048 });
    expect(escalationHoldFromEnv(c.pools)).toBe(0);
    expect(topologyFromEnv({ VPIPE_ACK_WAIT_MS: '2000' })).toEqual(c.topology);
    expect(nodeConfigFrom(c)).toMatchObject({
      natsUrl: undefined,
      concurrency: 3,
      encoderMin: 1,
      encoderMax: 3,
      escalationHoldMs: 0,
      capacity: { cpus: 1.5, memoryMb: 2048 },
      embedded: { port: 4222, monitorPort: 8222, binary: null },
      topology: { ackWaitMs: 2000 },
      metricsPort: 9464,
    });
    expect(configFromEnv({ VPIPE_CONCURRENCY: '3' }).concurrency).toBe(3);
    expect(() => configFromEnv({ VPIPE_CONCURRENCY: 'many' })).toThrow(ConfigError);
  });

  it('parses good values: trimmed digits, decimals, URL lists, flags, levels, paths', () => {
    const c = loadConfig({
      NATS_URL: ' nats://a:4222 , tls://u:p@b.example:4223,c ',
      VPIPE_NATS_ASYNC_TRACES: 'true',
      VPIPE_REPLICAS: ' 3 ',
      VPIPE_JOB_RETENTION_HOURS: '0.5',
      VPIPE_CHUNK_RETENTION_HOURS: '0',
      VPIPE_MAX_QUEUED_WORK: '0',
      VPIPE_TOOL_LIMIT_SCALE: '.02',
      VPIPE_TOOL_TIMEOUT_MS: '700',
      VPIPE_ENCODER_ACTORS: '2',
      VPIPE_ENCODER_MIN: '0',
      VPIPE_METRICS_PORT: '0',
      VPIPE_MEDIA_ROOT: 'some/media',
      VPIPE_FFMPEG: ' /opt/ffmpeg ',
      LOG_LEVEL: 'DEBUG',
      VPIPE_ACKWAIT_MS: '5', // a misspelt name: ignored, and listed
    });
    expect(c.nats).toMatchObject({ url: 'nats://a:4222,tls://u:p@b.example:4223,c', asyncTraces: true });
    expect(c.topology).toMatchObject({ replicas: 3, jobRetentionHours: 0.5, chunkRetentionHours: 0, maxQueuedWork: 0 });
    expect(c.tools).toMatchObject({ limitScale: 0.02, timeoutCapMs: 700, ffmpeg: '/opt/ffmpeg' });
    expect(c.pools).toMatchObject({ encoderActors: 2, encoderMin: 0 });
    expect(c.metrics.port).toBe(0);
    expect(c.paths.mediaRoot).toBe(path.resolve('some/media'));
    expect(c.log.level).toBe('debug');
    expect(c.unknown).toEqual(['VPIPE_ACKWAIT_MS']);
    expect(c.explicit).toContain('VPIPE_REPLICAS');
    expect(c.explicit).not.toContain('VPIPE_NATS_PORT');
    expect(loadConfig({ VPIPE_NATS_ASYNC_TRACES: '0' }).nats.asyncTraces).toBe(false);
  });

  it('refuses each bad value, naming the variable, the value and what it accepts', () => {
    const bad: Record<string, { values: string[]; accepts: RegExp }> = {
      VPIPE_ACK_WAIT_MS: { values: ['abc', '-1', '1.5', '1e4', '0x10', '30s', '99', '86400001'], accepts: /an integer from 100 to 86400000 \(milliseconds\)/ },
      VPIPE_ENCODER_MAX: { values: ['-1', '0', '1.5', 'NaN', '1025'], accepts: /an integer from 1 to 1024/ },
      VPIPE_ENCODER_MIN: { values: ['-1', 'one'], accepts: /an integer from 0 to 1024/ },
      VPIPE_ENCODER_ACTORS: { values: ['0', '2.5'], accepts: /an integer from 1 to 1024/ },
      VPIPE_CONCURRENCY: { values: ['0', 'two', '1.5'], accepts: /an integer from 1 to 1024/ },
      VPIPE_REPLICAS: { values: ['0', '6', '1.5'], accepts: /an integer from 1 to 5/ },
      VPIPE_MAX_DELIVER: { values: ['0', 'Infinity'], accepts: /an integer from 1 to 1000/ },
      VPIPE_MAX_QUEUED_WORK: { values: ['-5', '1e6'], accepts: /an integer >= 0/ },
      VPIPE_EVENTS_MAX_AGE_S: { values: ['-1', '1.5'], accepts: /an integer from 0 to/ },
      VPIPE_JOB_RETENTION_HOURS: { values: ['-1', 'week', '87601'], accepts: /a number >= 0 and <= 87600 \(hours/ },
      VPIPE_CHUNK_RETENTION_HOURS: { values: ['-0.5'], accepts: /a number >= 0/ },
      VPIPE_SCALE_DOWN_COOLDOWN_MS: { values: ['-1', '10s'], accepts: /an integer from 0 to 86400000/ },
      VPIPE_ESCALATION_HOLD_MS: { values: ['-1', '5m'], accepts: /an integer from 0 to 604800000/ },
      VPIPE_NODE_CPUS: { values: ['0', '-2', 'four', '4096.5'], accepts: /a number > 0 and <= 4096/ },
      VPIPE_NODE_MEMORY_MB: { values: ['0', '4g', '1.5'], accepts: /an integer from 1 to/ },
      VPIPE_TOOL_LIMIT_SCALE: { values: ['0', '-1', 'NaN', '1e-2', '1001'], accepts: /a number > 0 and <= 1000/ },
      VPIPE_TOOL_TIMEOUT_MS: { values: ['0', 'ten minutes', '1.5'], accepts: /an integer >= 1 \(milliseconds\)/ },
      VPIPE_TOOL_STALL_MS: { values: ['0', '-1'], accepts: /an integer >= 1/ },
      VPIPE_TOOL_MEMORY_LIMIT_BYTES: { values: ['-1', '4GiB'], accepts: /an integer >= 0 \(bytes/ },
      VPIPE_METRICS_PORT: { values: ['70000', '65536', '-1', 'http'], accepts: /an integer from 0 to 65535 \(a TCP port\)/ },
      VPIPE_NATS_PORT: { values: ['0', '65536', '4222.0'], accepts: /an integer from 1 to 65535 \(a TCP port\)/ },
      VPIPE_NATS_MONITOR_PORT: { values: ['99999'], accepts: /an integer from 1 to 65535/ },
      VPIPE_NATS_ASYNC_TRACES: { values: ['yes', '2', 'on'], accepts: /1 or 0 \(true or false\)/ },
      LOG_LEVEL: { values: ['loud', 'verbose'], accepts: /one of fatal, error, warn, info, debug, trace, silent/ },
      NATS_URL: { values: ['http://a:4222', 'nats://a:4222,,b', 'nats://a:99999', 'nats://a b', 'nats://a:4222/path'], accepts: /comma-separated NATS URLs/ },
    };
    for (const [name, { values, accepts }] of Object.entries(bad)) {
      for (const value of values) {
        const e = refusal({ [name]: value });
        expect(e.problems).toEqual([{ variable: name, value, expected: expect.stringMatching(accepts) }]);
        expect(e.message).toContain(`${name}='${value}': expected `);
        expect(e.message).toMatch(accepts);
      }
    }
  });

  it('reports several bad values together, in one message', () => {
    const e = refusal({ VPIPE_ACK_WAIT_MS: 'abc', VPIPE_ENCODER_MAX: '-1', VPIPE_METRICS_PORT: '70000', VPIPE_REPLICAS: '1.5', VPIPE_CONCURRENCY: '2' });
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['VPIPE_ACK_WAIT_MS', 'VPIPE_ENCODER_MAX', 'VPIPE_METRICS_PORT', 'VPIPE_REPLICAS']);
    expect(e.message).toMatch(/^invalid configuration \(4 problems; see README, Configuration\):\n/);
    for (const line of ["VPIPE_ACK_WAIT_MS='abc'", "VPIPE_ENCODER_MAX='-1'", "VPIPE_METRICS_PORT='70000'", "VPIPE_REPLICAS='1.5'"]) expect(e.message).toContain(line);
    expect(e.message.split('\n')).toHaveLength(5);
  });

  it('checks the encoder bounds against each other, also next to other problems', () => {
    expect(refusal({ VPIPE_ENCODER_MIN: '8', VPIPE_ENCODER_MAX: '4' }).message).toContain("VPIPE_ENCODER_MIN='8': expected at most VPIPE_ENCODER_MAX (4, VPIPE_ENCODER_MAX)");
    expect(refusal({ VPIPE_ENCODER_MIN: '9', VPIPE_NODE_CPUS: '2' }).message).toContain("VPIPE_ENCODER_MIN='9': expected at most VPIPE_ENCODER_MAX (4, the default 2 × 2 CPUs)");
    expect(refusal({ VPIPE_ENCODER_MIN: '8', VPIPE_ENCODER_MAX: '4', VPIPE_ACK_WAIT_MS: 'x' }).problems).toHaveLength(2);
    expect(loadConfig({ VPIPE_ENCODER_MIN: '4', VPIPE_ENCODER_MAX: '4' }).pools).toMatchObject({ encoderMin: 4, encoderMax: 4 });
  });

  it('masks credentials of a bad NATS_URL in the message', () => {
    const e = refusal({ NATS_URL: 'nats://alice:s3cret@host:4222,http://x' });
    expect(e.message).not.toContain('s3cret');
    expect(e.message).toContain("NATS_URL='nats://***@host:4222,http://x'");
  });

  it('lists every variable of the README Configuration table, and the table lists every variable', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const firstCells = section.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ')[0]!);
    const inTable = new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1])));
    expect([...inTable].sort()).toEqual(CONFIG_VARIABLES.map((v) => v.name).sort());
  });
});

/** The parent's environment without vpipe settings (the developer's shell must not leak in), plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const keep = new Set(['VPIPE_NATS_SERVER', 'VPIPE_FFMPEG', 'VPIPE_FFPROBE']);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k === 'NATS_URL' || k === 'LOG_LEVEL' || (k.startsWith('VPIPE_') && !keep.has(k)))));
  return { ...base, ...env };
}

function runVpipe(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/vpipe.js'), ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('vpipe up and the configuration (real child process)', () => {
  it('exits 2 at once with the message, no stack trace and no server, when a value is bad', async () => {
    const data = tempDir('config-bad');
    fs.rmSync(data, { recursive: true, force: true });
    const t0 = Date.now();
    const p = runVpipe(['up'], { VPIPE_ACK_WAIT_MS: 'abc', VPIPE_METRICS_PORT: '70000', VPIPE_DATA_DIR: data, VPIPE_MEDIA_ROOT: path.join(data, 'media') });
    const { code } = await p.exited;
    expect(Date.now() - t0).toBeLessThan(15_000); // tsx start-up included; the config is read before anything starts
    expect(code).toBe(2);
    expect(p.err()).toContain("vpipe up: invalid configuration (2 problems");
    expect(p.err()).toContain("VPIPE_ACK_WAIT_MS='abc': expected an integer from 100 to 86400000 (milliseconds)");
    expect(p.err()).toContain("VPIPE_METRICS_PORT='70000': expected an integer from 0 to 65535 (a TCP port)");
    expect(p.err()).not.toMatch(/\n\s+at /); // no stack trace
    expect(p.out()).toBe('');
    // startNode creates the data directory before it starts the embedded nats-server: nothing got that far.
    expect(fs.existsSync(data)).toBe(false);
  }, 30_000);

  it('logs the compiled options at debug level, then runs and drains on SIGTERM', async () => {
    const data = tempDir('config-debug');
    const [natsPort, monitorPort] = [await freePort(), await freePort()];
    const p = runVpipe(['up', '--grace', '1'], {
      LOG_LEVEL: 'debug',
      VPIPE_NATS_PORT: String(natsPort),
      VPIPE_NATS_MONITOR_PORT: String(monitorPort),
      VPIPE_METRICS_PORT: '0',
      VPIPE_DATA_DIR: data,
      VPIPE_MEDIA_ROOT: path.join(data, 'media'),
      VPIPE_ACK_WAIT_MS: '4000',
      VPIPE_CONCURRENCY: '3',
    });
    try {
      const lines = () => p.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      await until(() => lines().some((l) => l.msg === 'vpipe node ready') || p.child.exitCode !== null, 90_000, 'the node to be ready');
      const logged = lines().find((l) => l.msg === 'configuration');
      expect(logged, p.out() + p.err()).toBeDefined();
      expect(logged!.level).toBe('debug');
      expect(logged!.config).toMatchObject({
        nats: { url: null, embedded: { port: natsPort, monitorPort } },
        topology: { ackWaitMs: 4000, replicas: 1, maxDeliver: 5 },
        node: { concurrency: 3 },
        metrics: { port: 0 },
        paths: { dataDir: data, mediaRoot: path.join(data, 'media') },
        log: { level: 'debug' },
      });
      expect(p.out()).toContain(`"url":"nats://127.0.0.1:${natsPort}"`);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
    }
    const { code } = await p.exited;
    expect(code).toBe(0);
    fs.rmSync(data, { recursive: true, force: true });
  }, 120_000);
});
