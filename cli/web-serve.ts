/**
 * `vpipe serve [dir] [--port N] [--host H]`: the packages under `dir` (the
 * media root by default) on a local web page: an hls.js / dash.js player per
 * package, its ladder chart and its quality report (cli/web/server.ts). Runs
 * until SIGINT/SIGTERM.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { VpipeConfig } from '../schemas/config.js';
import { fail, parse } from './args.js';
import { findPackages, startWebServer } from './web/server.js';

export { startWebServer, type WebServer, type WebServerOptions } from './web/server.js';

export const DEFAULT_SERVE_PORT = 8080;

const USAGE = 'usage: vpipe serve [dir] [--port N] [--host 127.0.0.1]   (dir: default the media root, VPIPE_MEDIA_ROOT)';

export async function serveCmd(argv: string[], config: VpipeConfig): Promise<void> {
  const { positionals, values } = parse(argv, {
    port: { type: 'string', default: String(DEFAULT_SERVE_PORT) },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length > 1) fail(USAGE);
  if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) fail(`--port takes 0–65535 (0: a free port), got '${values.port}'`);
  const dir = path.resolve(positionals[0] ?? config.paths.mediaRoot);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) fail(`${dir} is not a directory`);

  const web = await startWebServer({ root: dir, port: Number(values.port), host: values.host });
  const packages = await findPackages(web.root);
  const lines = [`vpipe serve: ${web.url}/  (${web.root}, ${packages.length} package${packages.length === 1 ? '' : 's'}; Ctrl-C stops)`];
  for (const p of packages.slice(0, 20)) lines.push(`  ${web.watchUrl(p.pkg)}`);
  if (packages.length > 20) lines.push(`  … and ${packages.length - 20} more on ${web.url}/`);
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await web.close();
  process.exit(0);
}
