/** `vpipe up` and `vpipe node`: run a node in the foreground until SIGINT/SIGTERM, then drain and exit 0. */
import { rootLogger } from '../runtime/core/mod.js';
import { nodeConfigFrom, ROLES, startNode, type Role, type VpipeNode } from '../app/node.js';
import { DEFAULT_DRAIN_GRACE_MS, type VpipeConfig } from '../schemas/config.js';
import { fail, parse } from './args.js';

/** `--grace <seconds>`: how long running jobs may finish on SIGINT/SIGTERM; the same default for `up` and `node`. */
const GRACE_FLAG = { grace: { type: 'string', default: String(DEFAULT_DRAIN_GRACE_MS / 1000) } } as const;

function graceMs(raw: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) fail(`--grace takes seconds (a number >= 0), got '${raw}'`);
  return Math.round(Number(raw) * 1000);
}

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

export async function up(argv: string[], config: VpipeConfig): Promise<void> {
  const { values } = parse(argv, GRACE_FLAG);
  const grace = graceMs(values.grace);
  const cfg = nodeConfigFrom(config);
  const node = await startNode({ ...cfg, roles: ROLES });
  if (!cfg.natsUrl) {
    process.stderr.write(`vpipe is up on ${node.natsUrl} (media root ${cfg.mediaRoot}). Try:\n  nats --server ${node.natsUrl} micro ls\n`);
  }
  await stopOnSignals(node, grace);
  process.exit(0);
}

export async function nodeCmd(argv: string[], config: VpipeConfig): Promise<void> {
  const { values } = parse(argv, { role: { type: 'string', default: 'all' }, ...GRACE_FLAG });
  const grace = graceMs(values.grace);
  const roles = values.role === 'all' ? ROLES : (values.role.split(',') as Role[]);
  for (const r of roles) if (!ROLES.includes(r)) fail(`unknown role "${r}"; roles: ${ROLES.join(', ')}, all`);
  const cfg = nodeConfigFrom(config);
  if (!cfg.natsUrl) fail('vpipe node joins an existing NATS: set NATS_URL (or use `vpipe up` for an embedded server)');
  const node = await startNode({ ...cfg, roles });
  await stopOnSignals(node, grace);
  process.exit(0);
}
