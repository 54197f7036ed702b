/**
 * Autoscaler reaction: seconds from a burst of work to the target actor
 * count, and from an empty queue back to min, for a pool of no-op-ish
 * actors (each item takes 100 ms) on a real nats-server.
 *
 *   npm run bench:autoscaler -- [--items 400] [--max 8] [--cooldown 5] [--interval 1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { rootLogger } from '../runtime/core/mod.js';
import { createRuntimeContext, startNatsServer, topologyFromEnv, workSubject } from '../runtime/nats/mod.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '400' }, max: { type: 'string', default: '8' }, cooldown: { type: 'string', default: '5' }, interval: { type: 'string', default: '1' } } });
rootLogger.level = 'warn';
const max = Number(values.max);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
    await sleep(20);
  }
  return (performance.now() - t0) / 1000;
}

async function main() {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-as-')), logFile: '/dev/null' });
  try {
    const ctx = await createRuntimeContext({ servers: server.url, name: 'bench', mediaRoot: os.tmpdir(), log: rootLogger, workFunctions: ['encode.bench'], topology: topologyFromEnv({}) });
    let done = 0;
    const sup = new Supervisor(ctx, [{ fn: 'encode.bench', shape: { name: 'small', cpus: 1, memoryMb: 256 }, min: 1, max, handler: async () => (await sleep(100), done++, { ack: true }) }], {
      capacity: { cpus: max, memoryMb: max * 1024 },
      intervalMs: Number(values.interval) * 1000,
      cooldownMs: Number(values.cooldown) * 1000,
    });
    sup.start();
    await sleep(500);
    const n = Number(values.items);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => ctx.js.publish(workSubject('encode.bench', 'normal'), new Uint8Array([i % 256]))));
    const up = (performance.now() - t0) / 1000 + (await until(() => sup.actors()['encode.bench'] === max, 30_000));
    await until(() => done === n, 120_000);
    const down = await until(() => sup.actors()['encode.bench'] === 1, 120_000);
    await sup.stop(500);
    await ctx.nc.drain();
    const rows = [
      ['burst → target actors', `1 → ${max}`, up],
      ['empty queue → min', `${max} → 1`, down],
    ];
    process.stdout.write(`\nAutoscaler reaction — ${n} items of 100 ms, tick ${values.interval} s, cooldown ${values.cooldown} s\n\n`);
    process.stdout.write(`${table(['transition', 'actors', 'seconds'], rows)}\n`);
    const file = writeResult('autoscaler', { items: n, max, intervalSeconds: Number(values.interval), cooldownSeconds: Number(values.cooldown), scaleUpSeconds: up, scaleDownSeconds: down });
    process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
  } finally {
    await server.stop();
  }
}

runMain(main);
