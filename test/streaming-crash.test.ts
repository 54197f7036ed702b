/**
 * kill -9 of the process running a streaming job, after at least one rung's
 * encode has finished and while others are still at work: a new workflow
 * process resumes the job from its snapshot, which finds its child jobs again
 * by their idempotency keys. The finished rung is not encoded again (one VES
 * job per rung in all, each with one result event; every chunk of the
 * finished rung encoded once), and the job ends with exactly one event.
 */
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/jobs/client.js';
import { eventSubject, KV_CHUNKS, STREAM_EVENTS } from '../runtime/nats/mod.js';
import { startNatsServer, type NatsServerHandle } from '../runtime/nats/server.js';
import type { StreamingReport, StreamingResult } from '../schemas/streaming.js';
import { ffmpeg, motion } from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
import { validatePackage } from './helpers/package-validator.js';
import { eventually, spawnRoleNode, type StackProcess } from './helpers/stack-process.js';
import { resultEvents } from './helpers/ves-proof.js';

let server: NatsServerHandle | undefined;
let root: string;
let data: string;
let src: string;
const procs: StackProcess[] = [];
const clients: VpipeClient[] = [];

beforeAll(async () => {
  root = tempDir('streaming-crash-media');
  data = tempDir('streaming-crash-data');
  src = path.join(root, 'title.mp4');
  // 20 s of 854x480: the fixed ladder gives it four rungs (234p, 360p, 432p twice).
  await ffmpeg(['-f', 'lavfi', '-i', motion('854x480', 25, 20), '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000:duration=20', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  server = await startNatsServer({ dataDir: path.join(data, 'nats'), logFile: path.join(data, 'nats-server.log') });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await server?.kill().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(data, { recursive: true, force: true });
});

function node(role: 'api,workflow' | 'encoder', run: number): StackProcess {
  const p = spawnRoleNode(server!.url, root, data, role, run, { VPIPE_CONCURRENCY: '2' });
  procs.push(p);
  return p;
}

const ready = (p: StackProcess) => p.log().includes('vpipe node ready');

/** The VES jobs the streaming job recorded as its children, by rung. */
async function rungJobs(client: VpipeClient, jobId: string): Promise<Map<string, string>> {
  const kv = await new Kvm(client.nc).open(KV_CHUNKS);
  const out = new Map<string, string>();
  const keys: string[] = [];
  for await (const k of await kv.keys(`${jobId}.child.>`)) if (k.startsWith(`${jobId}.child.ves_rung-`)) keys.push(k);
  for (const k of keys) {
    const v = (await kv.get(k))?.string();
    if (v) out.set(k.slice(`${jobId}.child.ves_rung-`.length), v);
  }
  return out;
}

/** Result events per VES job in the events stream (progress events not counted). */
async function vesResultEvents(client: VpipeClient): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(client.nc);
  const info = await jsm.streams.info(STREAM_EVENTS, { subjects_filter: eventSubject('ves', '*') });
  return info.state.subjects ?? {};
}

/** Chunk indices an encoder log says it encoded for a VES job. */
function encodedChunks(p: StackProcess, vesJobId: string): number[] {
  return p
    .log()
    .split('\n')
    .filter((l) => l.includes('"msg":"chunk encoded"') && l.includes(vesJobId))
    .map((l) => (JSON.parse(l) as { chunk: number }).chunk);
}

describe('a streaming job survives kill -9 of its workflow process', { timeout: 300_000 }, () => {
  it('resumes after a rung finished, re-encodes no finished rung, ends once', async () => {
    const wf1 = node('api,workflow', 1);
    const enc = node('encoder', 1);
    await eventually(() => (ready(wf1) && ready(enc) ? true : undefined), 30_000, 'the stack to be up');
    const client = await VpipeClient.connect(server!.url);
    clients.push(client);
    const jobId = await client.submit('vpipe.streaming.submit', {
      source: { uri: `file://${src}` },
      output: { uri: `file://${root}/out/` },
      ladder: { mode: 'fixed', constraints: { maxHeight: 432 } },
      measure: false,
    });

    // Wait until one rung's VES job has its result and at least one other has none yet.
    const before = await eventually(async () => {
      const jobs = await rungJobs(client, jobId);
      if (jobs.size < 4) return undefined;
      const events = await vesResultEvents(client);
      const done = [...jobs].filter(([, ves]) => (events[eventSubject('ves', ves)] ?? 0) > 0);
      return done.length >= 1 && done.length < jobs.size ? { jobs, done } : undefined;
    }, 180_000, 'one rung encoded while others are not');
    const [finishedRung, finishedVes] = before.done[0]!;
    const chunksBefore = encodedChunks(enc, finishedVes);
    expect(chunksBefore.length).toBeGreaterThan(0);

    wf1.child.kill('SIGKILL');
    await wf1.exited;
    const wf2 = node('api,workflow', 2);
    await eventually(() => (ready(wf2) ? true : undefined), 30_000, 'the new workflow process');

    const ev = await client.waitForResult('streaming', jobId, { timeoutMs: 240_000 });
    expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
    expect(await resultEvents(client, 'streaming', jobId)).toBe(1);
    // The new process resumed the job from its snapshot (it did not start it afresh).
    const runs = wf2.log().split('\n').filter((l) => /"msg":"job (started|resumed from snapshot)"/.test(l) && l.includes(jobId));
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((l) => l.includes('"resumed":true') && l.includes('"msg":"job resumed from snapshot"'))).toBe(true);

    // One VES job per rung in all, the same ones as before the kill, each ended once.
    const result = ev.result as StreamingResult;
    const report = JSON.parse(fs.readFileSync(new URL(result.report.uri), 'utf8')) as StreamingReport;
    expect(report.rungs.map((r) => r.id).sort()).toEqual([...before.jobs.keys()].sort());
    const events = await vesResultEvents(client);
    expect(Object.keys(events).length, 'VES jobs in all').toBe(4);
    for (const r of report.rungs) {
      expect(r.encode.vesJobId).toBe(before.jobs.get(r.id));
      expect(events[eventSubject('ves', r.encode.vesJobId)], `${r.id}: result events`).toBe(1);
    }
    // The rung finished before the kill: not one chunk encoded again.
    const chunks = encodedChunks(enc, finishedVes);
    expect(chunks.sort((a, b) => a - b), `${finishedRung}: chunks encoded`).toEqual(chunksBefore.sort((a, b) => a - b));
    expect(new Set(chunks).size).toBe(report.rungs.find((r) => r.id === finishedRung)!.encode.chunks);

    const v = await validatePackage(path.dirname(new URL(result.report.uri).pathname), { targetSegmentSeconds: 6 });
    expect(v.problems).toEqual([]);
  });
});
