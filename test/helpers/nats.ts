/** Real nats-servers for tests: one per suite (or a 3-node cluster), each with its own store, removed afterwards. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNatsCluster, startNatsServer, type NatsCluster, type NatsServerHandle } from '../../runtime/nats/server.js';

export interface TestServer extends NatsServerHandle {
  dir: string;
  cleanup(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vpipe-${prefix}-`));
}

export async function startTestServer(): Promise<TestServer> {
  const dir = tempDir('nats');
  const s = await startNatsServer({ dataDir: dir, logFile: path.join(dir, 'server.log') });
  return Object.assign(s, {
    dir,
    async cleanup() {
      await s.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}

export async function startTestCluster(n = 3): Promise<NatsCluster & { dir: string; cleanup(): Promise<void> }> {
  const dir = tempDir('cluster');
  const c = await startNatsCluster(n, dir);
  return Object.assign(c, {
    dir,
    async cleanup() {
      await c.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}
