/**
 * Fault test: kill -9 the process running a VIS job (here `vpipe up`, which
 * also owns the embedded nats-server), start the stack again, and the job
 * ends with its result event published exactly once.
 */
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeClient } from '../runtime/jobs/client.js';
import { decodeInternal } from '../runtime/nats/wire.js';
import { JobRecord } from '../runtime/jobs/store.js';
import { freePort } from '../runtime/nats/server.js';
import { KV_JOBS, STREAM_EVENTS, eventSubject } from '../runtime/nats/topology.js';
import type { InspectResult } from '../schemas/vis.js';
import * as media from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
import { childPids, eventually, processAlive, spawnVpipe, type StackProcess } from './helpers/stack-process.js';

let root: string;
let dataDir: string;
let env: Record<string, string>;
let url: string;
let clip: string;
const stacks: StackProcess[] = [];

async function connectWhenUp(): Promise<NatsConnection> {
  return eventually(async () => {
    const nc = await connect({ servers: url, reconnect: false });
    const pongs = await nc.requestMany('$SRV.PING.vpipe-vis', new Uint8Array(), { maxWait: 300 });
    for await (const _ of pongs) return nc;
    await nc.close();
    return undefined;
  }, 30_000, 'the stack to answer $SRV.PING.vpipe-vis');
}

beforeAll(async () => {
  root = tempDir('crash-media');
  dataDir = tempDir('crash-data');
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  env = {
    VPIPE_MEDIA_ROOT: root,
    VPIPE_DATA_DIR: dataDir,
    VPIPE_NATS_PORT: String(port),
    VPIPE_NATS_MONITOR_PORT: String(await freePort()),
    VPIPE_METRICS_PORT: '0',
    VPIPE_ACK_WAIT_MS: '2000',
  };
  // Long enough (720p, 20 s) that the decode scan is still running when we kill.
  clip = await media.makeLong(root, 20);
});

afterAll(async () => {
  for (const s of stacks) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await Promise.all(stacks.map((s) => s.exited));
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a VIS job survives kill -9 of the process running it', () => {
  it('resumes after restart and publishes its result once', async () => {
    const first = spawnVpipe(['up'], env, path.join(dataDir, 'first.log'));
    stacks.push(first);
    let nc = await connectWhenUp();
    const client = new VpipeClient(nc);
    const jobId = await client.submit('vpipe.vis.inspect', { source: { uri: `file://${clip}` } }, 'json');

    // Kill while the job is in flight: its snapshot says it is scanning (probe done and persisted).
    const kv = await new Kvm(nc).open(KV_JOBS);
    await eventually(async () => {
      const e = await kv.get(`vis.${jobId}`);
      const r = e?.value.length ? decodeInternal(JobRecord, e.value) : undefined;
      return r?.step === 'scanning' ? r : undefined;
    }, 30_000, 'the job to reach the scanning step');
    const serverPid = Number(fs.readFileSync(path.join(dataDir, 'nats/nats-server.pid'), 'utf8'));
    const ffmpegPids = await eventually(() => {
      const pids = childPids(first.child.pid!, 'ffmpeg');
      return pids.length ? pids : undefined;
    }, 10_000, 'the scan\'s ffmpeg to be running');
    await nc.close();
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // The embedded server and the running ffmpeg go with their parent: no orphan holding the port or burning CPU.
    await eventually(() => (processAlive(serverPid) ? undefined : true), 15_000, 'the embedded nats-server to exit');
    await eventually(() => (ffmpegPids.some(processAlive) ? undefined : true), 5_000, 'the orphaned ffmpeg to exit');

    const second = spawnVpipe(['up'], env, path.join(dataDir, 'second.log'));
    stacks.push(second);
    nc = await connectWhenUp();
    const ev = await new VpipeClient(nc).waitForResult('vis', jobId, { timeoutMs: 60_000 });
    expect(ev.state).toBe('succeeded');
    expect((ev.result as InspectResult).video[0]!.frameCount).toBe(500);

    // Resumed from the snapshot (second attempt), not restarted from scratch.
    const status = await new VpipeClient(nc).status('vis', jobId);
    expect(status.attempts).toBe(2);
    expect(second.log()).toContain('job resumed from snapshot');

    // Exactly one result event, even after the ack wait has passed again.
    await new Promise((r) => setTimeout(r, 3_000));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM_EVENTS, { subjects_filter: eventSubject('vis', jobId) });
    expect(info.state.subjects).toEqual({ [eventSubject('vis', jobId)]: 1 });
    await nc.close();

    // SIGTERM drains and exits 0.
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
