/** Runs `vpipe` as a real child process (as a user would), so fault tests can kill -9 it. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../runtime/nats/server.js';

export interface StackProcess {
  child: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
}

/** Starts `node bin/vpipe.js <args>` with the given environment; stdout/stderr go to logFile. */
export function spawnVpipe(args: string[], env: Record<string, string>, logFile: string): StackProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/vpipe.js'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, logFile, exited, log: () => fs.readFileSync(logFile, 'utf8') };
}

/**
 * A `vpipe node --role <role>` of a test stack on `natsUrl`. The same role always gets the same data
 * directory under `dataRoot`, so a restart finds what a killed one left; each run logs to its own file.
 */
export function spawnRoleNode(natsUrl: string, mediaRoot: string, dataRoot: string, role: 'api,workflow' | 'encoder', run: number, env: Record<string, string> = {}): StackProcess {
  const dir = role === 'encoder' ? 'enc' : 'wf';
  return spawnVpipe(['node', '--role', role, '--grace', '1'], {
    NATS_URL: natsUrl,
    VPIPE_MEDIA_ROOT: mediaRoot,
    VPIPE_DATA_DIR: path.join(dataRoot, dir),
    VPIPE_METRICS_PORT: '0',
    VPIPE_ACK_WAIT_MS: '2000',
    VPIPE_ENCODER_ACTORS: '2',
    ...env,
  }, path.join(dataRoot, `${dir}-run${run}.log`));
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the direct children of `ppid` whose command name is `comm` (read from /proc). */
export function childPids(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf === ppid && name === comm) out.push(Number(d));
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}

/** Waits until every one of `procs` has logged that its node is ready. */
export function nodesReady(procs: StackProcess[], timeoutMs: number, what: string): Promise<true> {
  return eventually(() => (procs.every((p) => p.log().includes('vpipe node ready')) ? true : undefined), timeoutMs, what);
}
