/** `vpipe inspect <file|uri>` and `vpipe status <service> <jobId>`: clients of a running stack. */
import path from 'node:path';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import type { InspectResult } from '../schemas/vis.js';
import { clientNatsUrl, fail, parse } from './args.js';
import { renderInspection } from './report.js';

const natsUrl = () => clientNatsUrl();

export function toUri(arg: string): string {
  return arg.includes('://') ? arg : `file://${path.resolve(arg)}`;
}

/** Submits an inspection and waits for its result; prints the report (or JSON). Exit 1 when the job failed. */
export async function inspectWith(client: VpipeClient, uri: string, opts: { json?: boolean; timeoutMs?: number; priority?: string }): Promise<InspectResult | null> {
  const jobId = await client.submit('vpipe.vis.inspect', { source: { uri }, ...(opts.priority ? { priority: opts.priority } : {}) }, 'json');
  process.stderr.write(`job ${jobId} accepted; waiting for vpipe.evt.vis.${jobId}\n`);
  const tty = process.stderr.isTTY;
  const ev = await client.waitForResult('vis', jobId, {
    timeoutMs: opts.timeoutMs,
    onProgress: tty ? (p) => process.stderr.write(`\r  ${p.step} ${(p.fraction * 100).toFixed(0).padStart(3)}%`) : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (opts.json) process.stdout.write(`${JSON.stringify(ev, null, 2)}\n`);
  if (ev.state !== 'succeeded') {
    process.stderr.write(`job ${ev.state}: ${ev.error?.code ?? ''} ${ev.error?.message ?? ''}\n`);
    return null;
  }
  const result = ev.result as InspectResult;
  if (!opts.json) process.stdout.write(`${renderInspection(result)}\n`);
  return result;
}

export async function inspect(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
    priority: { type: 'string' },
  });
  if (positionals.length !== 1) fail('usage: vpipe inspect <file|file:// URI> [--json] [--priority high|normal|low]');
  const client = await VpipeClient.connect(natsUrl());
  try {
    const r = await inspectWith(client, toUri(positionals[0]!), { json: values.json, timeoutMs: Number(values.timeout) * 1000, priority: values.priority });
    process.exitCode = r ? 0 : 1;
  } catch (e) {
    if (e instanceof ServiceRequestError) fail(`refused (${e.statusCode}): ${e.message}`);
    throw e;
  } finally {
    await client.close();
  }
}

export async function status(argv: string[]): Promise<void> {
  const { positionals } = parse(argv, {});
  if (positionals.length !== 2) fail('usage: vpipe status <service> <jobId>');
  const client = await VpipeClient.connect(natsUrl());
  try {
    process.stdout.write(`${JSON.stringify(await client.status(positionals[0]!, positionals[1]!), null, 2)}\n`);
  } catch (e) {
    if (e instanceof ServiceRequestError) fail(`${e.message}`);
    throw e;
  } finally {
    await client.close();
  }
}
