/** The process table from /proc: who descends from whom, and in what state, for tests that signal their own children by pid. */
import fs from 'node:fs';
import { procStat } from '../../runtime/media/tools.js';

export interface ProcInfo {
  ppid: number;
  state: string;
}

/** ppid and state of every process, from /proc. */
export function processTable(): Map<number, ProcInfo> {
  const t = new Map<number, ProcInfo>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = procStat(Number(d)); // null: gone while we looked
    if (f) t.set(Number(d), { ppid: Number(f[1]), state: f[0]! });
  }
  return t;
}

/** Every descendant (children, grandchildren …) of the given pids. */
export function descendants(roots: number[]): number[] {
  const t = processTable();
  const out: number[] = [];
  const seen = new Set(roots);
  for (let frontier = roots; frontier.length; ) {
    const next: number[] = [];
    for (const [pid, info] of t) {
      if (frontier.includes(info.ppid) && !seen.has(pid)) {
        seen.add(pid);
        next.push(pid);
      }
    }
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** Running (not gone, not a zombie waiting to be reaped). */
export function running(pid: number): boolean {
  const s = processTable().get(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}


/** The command line of a process (argv), or null if it is gone. */
export function commandLine(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

/** This process's descendants whose argv[0] ends with `name` (e.g. every ffmpeg this test process started), with their argv. */
export function childrenNamed(name: string): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const pid of descendants([process.pid])) {
    const argv = commandLine(pid);
    if (argv?.[0]?.endsWith(name) && running(pid)) out.push({ pid, argv });
  }
  return out;
}
