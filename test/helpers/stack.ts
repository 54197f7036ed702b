/** A whole vpipe stack in the test process: a fresh real nats-server, a media root, a node with the asked roles, and a client. */
import fs from 'node:fs';
import { startNode, type NodeConfig, type VpipeNode } from '../../app/node.js';
import { VpipeClient } from '../../runtime/jobs/client.js';
import { startTestServer, tempDir, type TestServer } from './nats.js';

export interface TestStack {
  server: TestServer;
  node: VpipeNode;
  client: VpipeClient;
  /** The media root (a fresh temporary directory). */
  root: string;
  cleanup(): Promise<void>;
}

/** Starts the stack; `prepare` may fill the media root before the node starts. */
export async function startTestStack(
  name: string,
  opts: Partial<Omit<NodeConfig, 'natsUrl' | 'mediaRoot' | 'dataDir'>> = {},
  prepare?: (root: string) => Promise<unknown>,
): Promise<TestStack> {
  const root = tempDir(`${name}-media`);
  const dataDir = tempDir(`${name}-data`);
  const [server] = await Promise.all([startTestServer(), prepare?.(root)]);
  const node = await startNode({ roles: ['api', 'workflow', 'encoder'], ...opts, natsUrl: server.url, mediaRoot: root, dataDir });
  const client = await VpipeClient.connect(server.url);
  return {
    server,
    node,
    client,
    root,
    async cleanup() {
      await client.close().catch(() => undefined);
      await node.stop(1_000);
      await server.cleanup();
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
