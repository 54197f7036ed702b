/**
 * Fault tests with the roles in separate processes (`vpipe node --role …`),
 * as a deployment runs them: kill -9 an encoder mid-chunk, kill -9 the
 * workflow mid-job, restart nats-server mid-job. Each job must succeed,
 * validate, and publish exactly one result event.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/jobs/client.js';
import { runTool } from '../runtime/media/tools.js';
import { KV_CHUNKS, STREAM_EVENTS, eventSubject } from '../runtime/nats/topology.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import { startTestServer, tempDir, type TestServer } from './helpers/nats.js';
import { childPids, eventually, nodesReady, spawnVpipe, type StackProcess } from './helpers/stack-process.js';

let server: TestServer;
let root: string;
let logs: string;
let source: string;
let client: VpipeClient;
let procs: StackProcess[] = [];

beforeAll(async () => {
  server = await startTestServer();
  root = tempDir('faults-media');
  logs = tempDir('faults-logs');
  // 720p, 8 s, in four 2 s chunks with a slow preset: each chunk takes long enough to be killed in.
  source = path.join(root, 'src.mp4');
  const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=25:d=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-y', source]);
  expect(r.code).toBe(0);
  client = await VpipeClient.connect(server.url);
});

afterEach(async (context) => {
  // A failed fault test is only debuggable with what the processes said.
  if (context.task.result?.state === 'fail') {
    for (const p of procs) process.stderr.write(`\n--- ${p.logFile} (tail)\n${p.log().split('\n').slice(-40).join('\n')}\n`);
  }
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  procs = [];
});

afterAll(async () => {
  await client?.close();
  await server?.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(logs, { recursive: true, force: true });
});

function node(name: string, role: string): StackProcess {
  const p = spawnVpipe(['node', '--role', role, '--grace', '1'], {
    NATS_URL: server.url,
    VPIPE_MEDIA_ROOT: root,
    VPIPE_DATA_DIR: path.join(logs, name),
    VPIPE_METRICS_PORT: '0',
    VPIPE_ACK_WAIT_MS: '2000',
    VPIPE_ENCODER_ACTORS: '1',
  }, path.join(logs, `${name}.log`));
  procs.push(p);
  return p;
}

async function submit(out: string): Promise<string> {
  return client.submit('vpipe.ves.encode', {
    source: { uri: source },
    output: { uri: path.join(root, out) },
    recipe: { codec: 'h264', preset: 'slow', rateControl: { mode: 'crf', value: 23 }, gop: { lengthSeconds: 2 }, chunking: { targetSeconds: 2 } },
  });
}

async function chunksDone(jobId: string): Promise<number> {
  const kv = await new Kvm(client.nc).open(KV_CHUNKS);
  let n = 0;
  for await (const k of await kv.keys(`${jobId}.>`)) if (k) n++;
  return n;
}

async function expectSucceededOnce(jobId: string): Promise<EncodeResult> {
  const ev = await client.waitForResult('ves', jobId, { timeoutMs: 180_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  const r = ev.result as EncodeResult;
  expect(r.frames).toBe(200);
  expect((r.validation as ValidateResult).ok).toBe(true);
  await new Promise((res) => setTimeout(res, 2_500)); // past another ack wait: no late duplicate
  const jsm = await jetstreamManager(client.nc);
  const info = await jsm.streams.info(STREAM_EVENTS, { subjects_filter: eventSubject('ves', jobId) });
  expect(info.state.subjects).toEqual({ [eventSubject('ves', jobId)]: 1 });
  return r;
}

/** A workflow node and an encoder node up, and a job submitted that has finished a chunk: where a mid-job fault goes in. */
async function jobUnderWay(wfName: string, encName: string, out: string): Promise<{ wf: StackProcess; enc: StackProcess; jobId: string }> {
  const wf = node(wfName, 'api,workflow');
  const enc = node(encName, 'encoder');
  await nodesReady([wf, enc], 20_000, 'nodes up');
  const jobId = await submit(out);
  await eventually(async () => ((await chunksDone(jobId)) >= 1 ? true : undefined), 60_000, 'a finished chunk');
  return { wf, enc, jobId };
}

const encodedLines = (p: StackProcess) => p.log().split('\n').filter((l) => l.includes('"msg":"chunk encoded"'));

describe('faults during a VES job', { timeout: 150_000 }, () => {
  it('kill -9 of an encoder mid-chunk: the chunk is redelivered and the job succeeds', async () => {
    node('wf1', 'api,workflow');
    const enc1 = node('enc1', 'encoder');
    await nodesReady([enc1], 20_000, 'encoder 1 up');
    const jobId = await submit('enc-kill.mp4');
    await eventually(() => (childPids(enc1.child.pid!, 'ffmpeg').length ? true : undefined), 30_000, 'a chunk encode in flight');
    const killedAt = Date.now();
    enc1.child.kill('SIGKILL');
    await enc1.exited;
    const enc2 = node('enc2', 'encoder');
    await expectSucceededOnce(jobId);
    // The interrupted chunk came back to the new encoder as a redelivery, within the ack wait (2 s) plus the new node's start-up.
    const redelivered = enc2.log().split('\n').find((l) => l.includes('"msg":"chunk encode started"') && l.includes('"delivery":2'));
    expect(redelivered).toBeDefined();
    const at = Date.parse((JSON.parse(redelivered!) as { time: string }).time);
    expect(at - killedAt).toBeLessThan(8_000);
  });

  it('kill -9 of the workflow mid-job: it resumes from its snapshot without re-encoding finished chunks', async () => {
    const { wf: wf1, enc, jobId } = await jobUnderWay('wf2', 'enc3', 'wf-kill.mp4');
    wf1.child.kill('SIGKILL');
    await wf1.exited;
    const wf2 = node('wf3', 'api,workflow');
    await expectSucceededOnce(jobId);
    expect(wf2.log()).toContain('job resumed from snapshot');
    // Each of the four chunks was encoded exactly once.
    expect(encodedLines(enc)).toHaveLength(4);
  });

  it('restarting nats-server mid-job (file storage): the job succeeds', async () => {
    const { jobId } = await jobUnderWay('wf4', 'enc4', 'nats-restart.mp4');
    await server.stop();
    await new Promise((r) => setTimeout(r, 500));
    await server.restart();
    await expectSucceededOnce(jobId);
  });
});
