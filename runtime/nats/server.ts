/**
 * Starts and stops real nats-server processes: the embedded server of
 * `vpipe up`, and the servers the tests start (test/helpers/nats.ts joins them into clusters). Needs
 * nats-server >= 2.10 (2.9 cannot fsync every write and has advisories).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dieWithParent } from '../media/mod.js';
import { ErrorCodes, VpipeError } from '../core/mod.js';
import { processConfig } from '../../schemas/config.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIN_VERSION: [number, number] = [2, 10];

/** Parses `nats-server: v2.10.27` → [2, 10, 27]. */
export function parseServerVersion(out: string): number[] | null {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? m.slice(1, 4).map(Number) : null;
}

/** Finds nats-server ≥ 2.10: `configured` (VPIPE_NATS_SERVER), the project's .tools/bin (set-up script), then PATH. Throws TOOL_MISSING. */
export function findNatsServer(configured: string | null = processConfig().nats.serverBinary): string {
  const candidates = [configured, path.join(REPO_ROOT, '.tools/bin/nats-server'), 'nats-server'];
  const seen: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.error) continue;
    const v = parseServerVersion(`${r.stdout}${r.stderr}`);
    if (v && (v[0]! > MIN_VERSION[0] || (v[0] === MIN_VERSION[0] && v[1]! >= MIN_VERSION[1]))) return c;
    seen.push(`${c} (${v ? v.join('.') : 'unknown version'})`);
  }
  throw new VpipeError(
    ErrorCodes.ToolMissing,
    `nats-server >= 2.10 not found${seen.length ? `; too old: ${seen.join(', ')}` : ''}. Run ./quickstart.sh setup, or set VPIPE_NATS_SERVER or NATS_URL`,
  );
}

/** A free TCP port on loopback (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface NatsServerOptions {
  dataDir: string;
  port?: number;
  monitorPort?: number;
  host?: string;
  serverName?: string;
  configFile?: string;
  cluster?: { name: string; port: number; routes: number[] };
  /** Ask the kernel to stop the server when this process dies (setpriv --pdeathsig), so a killed `vpipe up` leaves no orphan. */
  dieWithParent?: boolean;
  logFile?: string;
  /** The nats-server binary (null: look in .tools/bin, then PATH); default VPIPE_NATS_SERVER of the process configuration. */
  binary?: string | null;
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly opts: Required<Pick<NatsServerOptions, 'dataDir' | 'port' | 'monitorPort' | 'host' | 'serverName'>> & NatsServerOptions;
  pid(): number | undefined;
  /** Graceful stop (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** kill -9, waits for exit: the fault tests' hammer. */
  kill(): Promise<void>;
  /** Starts the same server again on the same ports and store. */
  restart(): Promise<void>;
}

function buildArgs(o: NatsServerHandle['opts']): string[] {
  const args = ['-c', o.configFile ?? path.join(REPO_ROOT, 'nats.conf')];
  args.push('-a', o.host, '-p', String(o.port), '-m', String(o.monitorPort), '-n', o.serverName);
  args.push('-js', '-sd', path.join(o.dataDir, 'jetstream'), '-P', path.join(o.dataDir, 'nats-server.pid'));
  if (o.cluster) {
    args.push('--cluster_name', o.cluster.name, '--cluster', `nats://${o.host}:${o.cluster.port}`);
    const routes = o.cluster.routes.filter((p) => p !== o.cluster!.port).map((p) => `nats://${o.host}:${p}`);
    if (routes.length) args.push('--routes', routes.join(','));
  }
  if (o.logFile) args.push('-l', o.logFile);
  return args;
}

/** Kills a server left behind by a crashed run of ours: only a live pid from our pid file whose command line names our store. */
function reapStale(dataDir: string): void {
  const pidFile = path.join(dataDir, 'nats-server.pid');
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (pid > 1 && cmd.includes('nats-server') && cmd.includes(path.join(dataDir, 'jetstream'))) process.kill(pid, 'SIGKILL');
  } catch {
    /* no pid file, or not running: nothing to reap */
  }
}

async function waitHealthy(monitorPort: number, host: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new VpipeError(ErrorCodes.Unavailable, `nats-server exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      // Full /healthz: JetStream on, in contact with the meta leader (in a cluster), streams recovered.
      const res = await fetch(`http://${host}:${monitorPort}/healthz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new VpipeError(ErrorCodes.Unavailable, `nats-server did not become healthy within ${timeoutMs} ms`);
}

/** Starts a nats-server and resolves once its monitoring /healthz answers. Throws UNAVAILABLE or TOOL_MISSING. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServerHandle> {
  const bin = findNatsServer(options.binary);
  const host = options.host ?? '127.0.0.1';
  const opts = {
    ...options,
    host,
    port: options.port ?? (await freePort()),
    monitorPort: options.monitorPort ?? (await freePort()),
    serverName: options.serverName ?? `vpipe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  };
  fs.mkdirSync(opts.dataDir, { recursive: true });
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    reapStale(opts.dataDir);
    const args = buildArgs(opts);
    // TERM, not KILL: the orphaned server shuts down cleanly and flushes its store.
    const [cmd, argv] = opts.dieWithParent ? dieWithParent(bin, args, 'TERM') : [bin, args];
    child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', opts.logFile ? 'ignore' : 'inherit'] });
    // A cluster member waits for its peers' meta leader before /healthz passes; give it time.
    await waitHealthy(opts.monitorPort, host, child, opts.cluster ? 30_000 : 15_000);
  };
  const waitExit = (c: ChildProcess | undefined) =>
    new Promise<void>((resolve) => {
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
    });

  await launch();
  return {
    url: `nats://${host}:${opts.port}`,
    port: opts.port,
    monitorPort: opts.monitorPort,
    opts,
    pid: () => child?.pid,
    async stop() {
      const c = child;
      c?.kill('SIGTERM');
      await waitExit(c);
    },
    async kill() {
      const c = child;
      c?.kill('SIGKILL');
      await waitExit(c);
    },
    async restart() {
      await launch();
    },
  };
}
