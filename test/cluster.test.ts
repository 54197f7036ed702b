/** The runtime on a 3-node NATS cluster on loopback: replicated topology, a job end to end, and losing one server. */
import { jetstreamManager } from '@nats-io/jetstream';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/client.js';
import { startNode, type VpipeNode } from '../runtime/node.js';
import { STREAM_EVENTS, STREAM_WORK, topologyFromEnv } from '../runtime/topology.js';
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
    roles: ['api', 'workflow'],
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

  it('keeps working after one server is killed', async () => {
    await cluster.servers[2]!.kill();
    expect((await inspectOnce()).video[0]!.frameCount).toBe(50);
  });
});
