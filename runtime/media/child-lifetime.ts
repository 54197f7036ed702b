/**
 * Children that die with their parent. Node cannot set PR_SET_PDEATHSIG, so
 * children are started through util-linux `setpriv --pdeathsig`, which sets
 * it and execs the real program: a kill -9 of a vpipe process then leaves no
 * orphan ffmpeg burning CPU or embedded nats-server holding ports.
 */
import { spawnSync } from 'node:child_process';

let supported: boolean | undefined;

function pdeathsigSupported(): boolean {
  if (supported === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    supported = !r.error && r.stdout.includes('--pdeathsig');
  }
  return supported;
}

/** Wraps `command args…` so the child gets `signal` when this process dies; unchanged where setpriv is missing. */
export function dieWithParent(command: string, args: string[], signal: 'KILL' | 'TERM' = 'KILL'): [string, string[]] {
  return pdeathsigSupported() ? ['setpriv', ['--pdeathsig', signal, '--', command, ...args]] : [command, args];
}
