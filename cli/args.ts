/** Argument parsing shared by the sub-commands (node:util parseArgs, no extra dependency). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

export function fail(message: string): never {
  process.stderr.write(`vpipe: ${message}\n`);
  process.exit(2);
}
