/**
 * Fault test on a real file: kill -9 of the WHOLE stack (nats-server, the
 * api/workflow node, the encoder node and every ffmpeg they run) while a
 * 3-minute real file (soundwave.mp4: 208 s H.264 High with B-frames, 17 fps
 * in a 1/90000 time base, 3544 frames) encodes in 5 s chunks; then a restart
 * of every process on the same data directories. The job must succeed with
 * exactly one result event, resume rather than start over (no chunk that
 * finished before the kill is encoded again), and its output must be proven
 * frame-exact against the source by the test's own ffmpeg pass.
 */
import { Kvm } from '@nats-io/kv';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/jobs/client.js';
import { startNatsServer, type NatsServerHandle } from '../runtime/nats/server.js';
import { decodeInternal } from '../runtime/nats/wire.js';
import { KV_CHUNKS } from '../runtime/nats/topology.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import { ChunkResult } from '../actors/ves/messages.js';
import { corpusEntry, corpusFile } from './corpus/manifest.js';
import { tempDir } from './helpers/nats.js';
import { eventually, spawnRoleNode, type StackProcess } from './helpers/stack-process.js';
import { descendants, running } from './helpers/procs.js';
import { expectFrameExact, resultEvents } from './helpers/ves-proof.js';
import { verifyOutput } from './helpers/verify-output.js';

const FILE = 'soundwave.mp4';
const TRUTH_FRAMES = corpusEntry(FILE).frames; // 3544

let root: string;
let data: string;
let src: string;
let server: NatsServerHandle | undefined;
const procs: StackProcess[] = [];
const clients: VpipeClient[] = [];

beforeAll(async () => {
  root = tempDir('crash-real-media');
  data = tempDir('crash-real-data');
  src = path.join(root, FILE);
  fs.copyFileSync(corpusFile(FILE), src);
});

afterAll(async () => {
  for (const c of clients) await c.nc.close().catch(() => undefined);
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await server?.kill().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(data, { recursive: true, force: true });
});

function node(role: 'api,workflow' | 'encoder', run: number): StackProcess {
  const p = spawnRoleNode(server!.url, root, data, role, run);
  procs.push(p);
  return p;
}

const ready = (p: StackProcess) => p.log().includes('vpipe node ready');

/** Indices of the chunks a node's log says it encoded (logged only after the chunk's result was recorded). */
function encodedChunks(p: StackProcess, jobId: string): number[] {
  return p
    .log()
    .split('\n')
    .filter((l) => l.includes('"msg":"chunk encoded"') && l.includes(jobId))
    .map((l) => (JSON.parse(l) as { chunk: number }).chunk);
}

/** The chunk results recorded so far, by index. */
async function chunkResults(client: VpipeClient, jobId: string): Promise<Map<number, ChunkResult>> {
  const kv = await new Kvm(client.nc).open(KV_CHUNKS);
  const out = new Map<number, ChunkResult>();
  const keys: string[] = [];
  for await (const k of await kv.keys(`${jobId}.>`)) if (k) keys.push(k);
  for (const k of keys) {
    const e = await kv.get(k);
    if (e && e.operation === 'PUT' && e.value.length) {
      const r = decodeInternal(ChunkResult, e.value);
      out.set(r.index, r);
    }
  }
  return out;
}

describe('a VES job on a real 3-minute file survives kill -9 of the whole stack', { timeout: 150_000 }, () => {
  it('kill -9 of nats-server, workflow and encoder mid-encode, then a restart: succeeds once, resumes, frame-exact', async () => {
    const t0 = Date.now();
    const lap = (what: string) => console.log(`[ves-crash-real] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const natsDir = path.join(data, 'nats');
    server = await startNatsServer({ dataDir: natsDir, logFile: path.join(data, 'nats-server.log') });
    const wf1 = node('api,workflow', 1);
    const enc1 = node('encoder', 1);
    try {
      await eventually(() => (ready(wf1) && ready(enc1) ? true : undefined), 30_000, 'the first stack to be up');
      lap('stack up');
      const client = await VpipeClient.connect(server.url);
      clients.push(client);
      const out = path.join(root, 'soundwave-h264.mp4');
      const jobId = await client.submit('vpipe.ves.encode', {
        source: { uri: `file://${src}` },
        output: { uri: `file://${out}` },
        recipe: { codec: 'h264', preset: 'slow', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 5 } },
      });

      // The plan: chunks of about 5 s over 208.5 s. VES cuts whole output GOPs (default 2 s), the nearest
      // whole number of them to the target: here 2 (5 s × 16.997 fps / 34 frames = 2.4995), so 52 chunks of 4 s.
      const total = await eventually(() => {
        const line = wf1.log().split('\n').find((l) => l.includes('"msg":"chunks planned"') && l.includes(jobId));
        return line ? (JSON.parse(line) as { chunks: number }).chunks : undefined;
      }, 30_000, 'the chunk plan');
      lap(`planned ${total} chunks`);
      expect(total).toBeGreaterThanOrEqual(Math.floor(208.5 / 6)); // chunks 4–6 s long
      expect(total).toBeLessThanOrEqual(Math.ceil(208.5 / 4));

      // Mid-encode: a third of the chunks recorded, the rest not.
      const want = Math.ceil(total / 3);
      await eventually(async () => ((await chunkResults(client, jobId)).size >= want ? true : undefined), 60_000, `${want} finished chunks`);

      // kill -9 of every process of the stack at once, at a moment an ffmpeg of the encoder runs: freeze
      // them (nothing progresses or spawns), list every descendant (the encodes' ffmpeg/ffprobe); with no
      // ffmpeg among them (between two tool runs) let them go on and try again; else SIGKILL the lot.
      const tops = [server.pid()!, wf1.child.pid!, enc1.child.pid!];
      const comm = (pid: number) => {
        try {
          return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          return '';
        }
      };
      const { kids, before } = await eventually(async () => {
        const done = await chunkResults(client, jobId);
        for (const pid of tops) process.kill(pid, 'SIGSTOP');
        const k = descendants(tops);
        if (k.some((pid) => comm(pid) === 'ffmpeg')) return { kids: k, before: done };
        for (const pid of tops) process.kill(pid, 'SIGCONT');
        return undefined;
      }, 20_000, 'an ffmpeg of the encoder to be running');
      const kidNames = kids.map(comm);
      const ffmpegKilled = kidNames.filter((n) => n === 'ffmpeg').length;
      const all = [...tops, ...kids];
      for (const pid of all) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      const killedAt = Date.now();
      await client.nc.close().catch(() => undefined);
      expect((await wf1.exited).signal).toBe('SIGKILL');
      expect((await enc1.exited).signal).toBe('SIGKILL');
      await server.kill(); // reaps it (it is our child); it is already dead
      await eventually(() => (all.some(running) ? undefined : true), 10_000, 'every killed process to be gone');
      const encoded1 = encodedChunks(enc1, jobId);
      lap(`killed ${all.length} processes (${kids.length} descendants: ${kidNames.join(', ')}; ${ffmpegKilled} ffmpeg) with ${before.size}/${total} chunk results recorded, ${encoded1.length} logged encoded`);
      expect(before.size, 'killed mid-encode: some chunks done').toBeGreaterThanOrEqual(want);
      expect(before.size, 'killed mid-encode: not all chunks done').toBeLessThan(total);
      const workerId1 = `${os.hostname()}:${enc1.child.pid}`;
      for (const r of before.values()) {
        expect(r.ok).toBe(true);
        expect(r.worker).toBe(workerId1);
        expect(r.finishedAt!).toBeLessThanOrEqual(killedAt);
      }

      // Restart every process on the same data directories and ports.
      await server.restart();
      const wf2 = node('api,workflow', 2);
      const enc2 = node('encoder', 2);
      await eventually(() => (ready(wf2) && ready(enc2) ? true : undefined), 30_000, 'the restarted stack to be up');
      lap('stack restarted');
      const client2 = await VpipeClient.connect(server.url);
      clients.push(client2);
      const ev = await client2.waitForResult('ves', jobId, { timeoutMs: 70_000 });
      lap(`result: ${ev.state}`);
      expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
      const r = ev.result as EncodeResult;
      expect(r.frames).toBe(TRUTH_FRAMES);
      expect(r.chunks).toBe(total);
      expect(r.source?.frames).toBe(TRUTH_FRAMES);
      expect((r.validation as ValidateResult).ok, JSON.stringify(r.validation)).toBe(true);

      // Resumed, not restarted: the job's second attempt, from its snapshot; no chunk recorded before the
      // kill (nor logged encoded by the killed encoder) was encoded again; every chunk was encoded.
      expect(wf2.log()).toContain('job resumed from snapshot');
      expect((await client2.status('ves', jobId)).attempts).toBe(2);
      const encoded2 = encodedChunks(enc2, jobId);
      const again = encoded2.filter((i) => before.has(i) || encoded1.includes(i));
      expect(again, 'chunks finished before the kill and encoded again after it').toEqual([]);
      expect(new Set(encoded2).size, 'each chunk encoded once after the restart').toBe(encoded2.length);
      expect(encoded2.length).toBeGreaterThan(0);
      expect(encoded2.length).toBeLessThanOrEqual(total - before.size);
      const covered = new Set([...encoded1, ...encoded2]);
      expect([...Array(total).keys()].filter((i) => !covered.has(i)), 'chunks never encoded').toEqual([]);
      const redelivered = enc2
        .log()
        .split('\n')
        .filter((l) => l.includes('"msg":"chunk encode started"') && l.includes(jobId))
        .filter((l) => (JSON.parse(l) as { delivery: number }).delivery > 1).length;
      lap(`run 1 encoded ${encoded1.length} chunks, run 2 encoded ${encoded2.length} (${redelivered} of them redeliveries); ffmpeg killed: ${ffmpegKilled}`);

      // Exactly one result event, also after another ack wait (no late duplicate from a redelivery).
      await new Promise((res) => setTimeout(res, 2_500));
      expect(await resultEvents(client2, 'ves', jobId)).toBe(1);

      // The output, proven by the test's own ffmpeg pass: frame count, PTS/DTS order, times, per-frame PSNR.
      const check = await verifyOutput(src, out);
      lap(`verified: ${check.outputFrames} frames, min ${check.minPsnr.toFixed(2)} dB, mean ${check.meanPsnr.toFixed(2)} dB, max time error ${check.maxTimeErrorSeconds}`);
      expectFrameExact(FILE, TRUTH_FRAMES, check);
    } catch (e) {
      for (const p of procs) process.stderr.write(`\n--- ${p.logFile} (tail)\n${p.log().split('\n').slice(-30).join('\n')}\n`);
      throw e;
    }
  });
});
