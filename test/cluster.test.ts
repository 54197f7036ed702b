/** The runtime on a 3-node NATS cluster on loopback: replicated topology, jobs end to end, and losing one server mid-job. */
import { jetstreamManager } from '@nats-io/jetstream';
import fs from 'node:fs';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/jobs/client.js';
import { startNode, type VpipeNode } from '../app/node.js';
import { runTool } from '../runtime/media/tools.js';
import { KV_CHUNKS, STREAM_EVENTS, STREAM_WORK, topologyFromEnv } from '../runtime/nats/topology.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import { eventually } from './helpers/stack-process.js';
import type { InspectResult } from '../schemas/vis.js';
import * as media from './helpers/media.js';
import { startTestCluster, tempDir } from './helpers/nats.js';

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let node: VpipeNode;
let client: VpipeClient;
let root: string;

beforeAll(async () => {
  cluster = await startTestCluster(3);
  root = tempDir('cluster-media');
  await media.makeCfr(root);
  node = await startNode({
    natsUrl: cluster.urls,
    mediaRoot: root,
    dataDir: tempDir('cluster-data'),
    roles: ['api', 'workflow', 'encoder'],
    encoderActors: 1,
    topology: { ...topologyFromEnv({}), replicas: 3, ackWaitMs: 3_000 },
  });
  client = await VpipeClient.connect(cluster.urls);
});

afterAll(async () => {
  await client?.close();
  await node?.stop(1_000);
  await cluster?.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

async function inspectOnce(): Promise<InspectResult> {
  const jobId = await client.submit('vpipe.vis.inspect', { source: { uri: `${root}/cfr.mp4` } });
  const ev = await client.waitForResult('vis', jobId, { timeoutMs: 60_000 });
  expect(ev.state).toBe('succeeded');
  return ev.result as InspectResult;
}

describe('on a 3-node cluster', () => {
  it('creates the streams with 3 replicas, idempotently', async () => {
    const jsm = await jetstreamManager(client.nc);
    for (const name of [STREAM_WORK, STREAM_EVENTS]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas?.length).toBe(2);
    }
  });

  it('runs an inspection end to end', async () => {
    expect((await inspectOnce()).video[0]!.frameCount).toBe(50);
  });

  it('finishes an encode when one server is killed mid-job', async () => {
    const src = path.join(root, 'eight.mp4');
    const g = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25:d=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-y', src]);
    expect(g.code).toBe(0);
    const jobId = await client.submit('vpipe.ves.encode', {
      source: { uri: src },
      output: { uri: path.join(root, 'eight-out.mp4') },
      recipe: { codec: 'h264', preset: 'medium', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 1 } },
    });
    const kv = await new Kvm(client.nc).open(KV_CHUNKS);
    await eventually(async () => {
      for await (const k of await kv.keys(`${jobId}.>`)) if (k) return true;
      return undefined;
    }, 60_000, 'a first chunk');
    await cluster.servers[0]!.kill();
    const ev = await client.waitForResult('ves', jobId, { timeoutMs: 120_000 });
    expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
    expect((ev.result as EncodeResult).frames).toBe(200);
    expect(((ev.result as EncodeResult).validation as ValidateResult).ok).toBe(true);
  });

  it('runs new jobs with one of three servers down', async () => {
    expect((await inspectOnce()).video[0]!.frameCount).toBe(50);
  });
});
