/** Argument parsing shared by the sub-commands (node:util parseArgs, no extra dependency). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { processConfig, type VpipeConfig } from '../schemas/config.js';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

export function fail(message: string): never {
  process.stderr.write(`vpipe: ${message}\n`);
  process.exit(2);
}

/** The server a client command talks to: NATS_URL, else the embedded server of a `vpipe up` on this host (VPIPE_NATS_PORT). */
export function clientNatsUrl(config: VpipeConfig = processConfig()): string {
  return config.nats.url ?? `nats://127.0.0.1:${config.nats.embedded.port}`;
}
