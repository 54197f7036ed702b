/** Real nats-servers for tests: one per suite (or a 3-node cluster), each with its own store, removed afterwards. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startNatsServer, type NatsServerHandle } from '../../runtime/nats/server.js';

export interface NatsCluster {
  servers: NatsServerHandle[];
  /** Comma-separated client URLs of every member (what NATS_URL takes). */
  urls: string;
  stop(): Promise<void>;
}

/** Starts an n-node cluster on loopback, each member with its own store under baseDir. */
export async function startNatsCluster(n: number, baseDir: string): Promise<NatsCluster> {
  const routes = await Promise.all(Array.from({ length: n }, () => freePort()));
  const servers = await Promise.all(
    routes.map((port, i) =>
      startNatsServer({
        dataDir: path.join(baseDir, `n${i + 1}`),
        serverName: `n${i + 1}`,
        logFile: path.join(baseDir, `n${i + 1}.log`),
        cluster: { name: 'vpipe', port, routes },
      }),
    ),
  );
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

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
