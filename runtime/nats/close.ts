/** Closing a connection without hanging: drain, but not for longer than `ms` (a drain can wait on a server that is gone). */
import type { NatsConnection } from '@nats-io/transport-node';

export async function drainWithin(nc: NatsConnection, ms = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const r = await Promise.race([nc.drain().then(() => 'ok' as const, () => 'failed' as const), late]);
  clearTimeout(timer);
  if (r !== 'ok' && !nc.isClosed()) await nc.close().catch(() => undefined);
}
