/** Benchmark plumbing: CPU accounting that includes child processes, tables, JSON results. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procStat } from '../runtime/media/mod.js';
import { REPO_ROOT } from '../runtime/nats/mod.js';

const CLK_TCK = 100; // USER_HZ on Linux

/** utime, stime, cutime, cstime of /proc/<pid>/stat in seconds (NaN where there is no /proc). */
function procTimes(pid: number | 'self'): number[] {
  const f = procStat(pid);
  return [11, 12, 13, 14].map((i) => (f ? Number(f[i]) / CLK_TCK : NaN));
}

/**
 * CPU seconds of this process plus its waited-for children (utime, stime,
 * cutime, cstime of /proc/self/stat): ffmpeg runs count once they have exited.
 */
export function cpuSeconds(): number {
  return procTimes('self').reduce((a, b) => a + b, 0);
}

/** CPU seconds another process (a nats-server, say) has used so far. */
export function processCpuSeconds(pid: number): number {
  const [u, s] = procTimes(pid);
  return u! + s!;
}

export interface Measured<T> {
  value: T;
  wallSeconds: number;
  cpuSeconds: number;
}

export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  return { value, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds() - c0 };
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(3)) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Writes bench/results/<name>-<timestamp>.json with the machine described; returns the path. */
export function writeResult(name: string, data: unknown): string {
  const dir = path.join(REPO_ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  fs.writeFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), machine, ...(data as object) }, null, 2)}\n`);
  return file;
}

/** Runs a benchmark's main and exits: 0 when it resolves, 1 with the stack when it throws. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
