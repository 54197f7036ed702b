/** `vpipe up` and `vpipe node`: run a node in the foreground until SIGINT/SIGTERM, then drain and exit 0. */
import { rootLogger } from '../runtime/core/mod.js';
import { configFromEnv, ROLES, startNode, type Role, type VpipeNode } from '../app/node.js';
import { fail, parse } from './args.js';

/** Drains on the first SIGINT/SIGTERM; a second one exits at once. */
export function stopOnSignals(node: VpipeNode, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      rootLogger.info({ signal: sig, graceMs }, 'draining');
      node.stop(graceMs).then(resolve, (e: unknown) => {
        rootLogger.error({ err: e }, 'error while draining');
        resolve();
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export async function up(argv: string[]): Promise<void> {
  const { values } = parse(argv, { grace: { type: 'string', default: '10' } });
  const cfg = configFromEnv();
  const node = await startNode({ ...cfg, roles: ROLES });
  if (!cfg.natsUrl) {
    process.stderr.write(`vpipe is up on ${node.natsUrl} (media root ${cfg.mediaRoot}). Try:\n  nats --server ${node.natsUrl} micro ls\n`);
  }
  await stopOnSignals(node, Number(values.grace) * 1000);
  process.exit(0);
}

export async function nodeCmd(argv: string[]): Promise<void> {
  const { values } = parse(argv, { role: { type: 'string', default: 'all' }, grace: { type: 'string', default: '30' } });
  const roles = values.role === 'all' ? ROLES : (values.role.split(',') as Role[]);
  for (const r of roles) if (!ROLES.includes(r)) fail(`unknown role "${r}"; roles: ${ROLES.join(', ')}, all`);
  const cfg = configFromEnv();
  if (!cfg.natsUrl) fail('vpipe node joins an existing NATS: set NATS_URL (or use `vpipe up` for an embedded server)');
  const node = await startNode({ ...cfg, roles });
  await stopOnSignals(node, Number(values.grace) * 1000);
  process.exit(0);
}
