/**
 * The local web page behind `vpipe serve` (node:http, no framework): the
 * packages under a media root, a player page per package (hls.js or
 * dash.js, both served from node_modules, never a CDN), the ladder chart and
 * the quality report.
 *
 *   /                      the packages under root (directories holding a report.json)
 *   /watch?pkg=<rel>       the player page of one package (`.` for root itself)
 *   /chart.svg?pkg=<rel>&i=<n>  report.ladder[n].result as the `vpipe ladder` chart
 *   /files/<rel>           the files under root, read-only (Range, HEAD)
 *   /vendor/hls.min.js, /vendor/dash.all.min.js, /static/player.js, /static/page.css
 *
 * Path safety: a path is taken segment by segment (percent-decoded), `.`,
 * `..`, empty segments and segments holding a slash, backslash or NUL are
 * refused, and the resolved real path (symlinks followed) must stay under the
 * real root. Only GET and HEAD are answered.
 */
import fs from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamingReport } from '../../schemas/streaming.js';
import { ladderSvg } from '../ladder-chart.js';
import { indexPage, notFoundPage, watchPage, type LoadedReport, type PackageEntry } from './page.js';

export interface WebServerOptions {
  /** A media root (packages are looked for below it) or one package directory. */
  root: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the page is for this machine only. */
  host?: string;
}

export interface WebServer {
  /** `http://host:port`, no slash at the end: `${url}/watch?pkg=…`. */
  url: string;
  /** The player page of the package at `pkg` (a directory relative to root; `.` for root itself). */
  watchUrl(pkg: string): string;
  /** The real path being served. */
  root: string;
  close(): Promise<void>;
}

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.cmfv': 'video/mp4',
  '.cmfa': 'audio/mp4',
  '.ts': 'video/mp2t',
  '.aac': 'audio/aac',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mov': 'video/quicktime',
  '.vtt': 'text/vtt; charset=utf-8',
  '.srt': 'application/x-subrip',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** How deep below root packages are looked for, and how many are listed. */
const SEARCH_DEPTH = 4;
const MAX_PACKAGES = 500;
const MAX_REPORT_BYTES = 32 << 20;

/** The page's own scripts only; media from this origin or MSE blobs; hls.js runs its transmuxer in a blob worker. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'self'";
/** Served files never run as documents of this origin (an SVG or HTML under root stays inert). */
const FILES_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'";

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** The player libraries' browser builds, resolved in node_modules. */
function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const hls = require.resolve('hls.js/dist/hls.min.js');
  // dashjs exports no subpaths: its `require` condition is the UMD build (dist/modern/umd/dash.all.min.js).
  const dash = require.resolve('dashjs');
  if (!dash.endsWith(`${path.sep}umd${path.sep}dash.all.min.js`)) throw new Error(`dashjs resolved to ${dash}, not its UMD build`);
  return { '/vendor/hls.min.js': hls, '/vendor/dash.all.min.js': dash };
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const root = await realpath(path.resolve(opts.root));
  if (!(await stat(root)).isDirectory()) throw new Error(`${opts.root} is not a directory`);
  const fixed: Record<string, string> = {
    ...vendorFiles(),
    '/static/player.js': path.join(STATIC_DIR, 'player.js'),
    '/static/page.css': path.join(STATIC_DIR, 'page.css'),
  };
  const server = http.createServer((req, res) => {
    handle(root, fixed, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  // A wildcard bind is reached through loopback from this machine.
  const shown = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  const url = `http://${shown}:${port}`;
  return {
    url,
    watchUrl: (pkg) => `${url}/watch?pkg=${encodeURIComponent(pkg)}`,
    root,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections(); // players keep connections alive; close() alone would wait for them
      }),
  };
}

async function handle(root: string, fixed: Record<string, string>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
  }
  // The raw target, not a WHATWG URL: that would fold `/files/../x` into `/x` before it could be refused.
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const pathname = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));

  if (pathname.startsWith('/files/')) {
    const segments = decodeSegments(pathname.slice('/files/'.length));
    if (!segments) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden path\n');
    const r = await resolveUnder(root, segments);
    if (typeof r === 'number') return send(res, r, 'text/plain; charset=utf-8', r === 403 ? 'forbidden path\n' : 'not found\n');
    return serveFile(req, res, r, { csp: FILES_CSP });
  }
  const fixedFile = fixed[pathname];
  if (fixedFile) return serveFile(req, res, fixedFile, {});

  if (pathname === '/favicon.ico') {
    res.writeHead(204, { 'Cache-Control': 'max-age=86400' });
    return void res.end();
  }
  if (pathname === '/') {
    return sendPage(res, 200, indexPage(root, await findPackages(root)));
  }
  if (pathname === '/watch' || pathname === '/chart.svg') {
    const pkg = query.get('pkg') ?? '.';
    const dir = await packageDir(root, pkg);
    if (typeof dir === 'number') return sendPage(res, dir, notFoundPage(dir === 403 ? `forbidden package path: ${pkg}` : `no package at ${pkg}`));
    const loaded = await loadReport(dir);
    if (pathname === '/chart.svg') {
      const i = Number(query.get('i') ?? '0');
      const entry = 'report' in loaded && Number.isInteger(i) ? loaded.report.ladder[i] : undefined;
      if (!entry?.result) return send(res, 404, 'text/plain; charset=utf-8', 'no ladder chart\n');
      res.setHeader('Content-Security-Policy', FILES_CSP);
      return send(res, 200, 'image/svg+xml', ladderSvg(entry.result, { title: `${entry.codec} ${entry.mode} ladder (${entry.result.metric.toUpperCase()})` }));
    }
    const rel = relOf(root, dir);
    const exists = async (p: string) => stat(path.join(dir, p)).then((s) => s.isFile(), () => false);
    return sendPage(res, 200, watchPage({ pkg: rel, loaded, hls: await exists('hls/main.m3u8'), dash: await exists('dash/manifest.mpd'), play: query.get('play') }));
  }
  return sendPage(res, 404, notFoundPage(`nothing at ${pathname}`));
}

/** Percent-decoded path segments, or null when one of them may not name a child. */
export function decodeSegments(rawPath: string): string[] | null {
  try {
    return safeSegments(rawPath.split('/').map(decodeURIComponent));
  } catch {
    return null; // malformed percent-encoding
  }
}

/** The segments as given, or null when one is empty, `.`, `..` or holds a slash, backslash or NUL. */
function safeSegments(segments: string[]): string[] | null {
  return segments.every((d) => d !== '' && d !== '.' && d !== '..' && !/[/\\\0]/.test(d)) ? segments : null;
}

/** The real path of root/segments, or 404 (missing) / 403 (it resolves outside root, e.g. through a symlink). */
async function resolveUnder(root: string, segments: string[]): Promise<string | 403 | 404> {
  let real: string;
  try {
    real = await realpath(path.join(root, ...segments));
  } catch {
    return 404;
  }
  return real === root || real.startsWith(root + path.sep) ? real : 403;
}

/** A package directory named by `?pkg=` (`.` or empty: root itself). */
async function packageDir(root: string, pkg: string): Promise<string | 403 | 404> {
  const segments = pkg === '' || pkg === '.' ? [] : safeSegments(pkg.split('/')); // already decoded by URLSearchParams
  if (!segments) return 403;
  const dir = await resolveUnder(root, segments);
  if (typeof dir === 'number') return dir;
  return (await stat(dir)).isDirectory() ? dir : 404;
}

function relOf(root: string, dir: string): string {
  return dir === root ? '.' : path.relative(root, dir).split(path.sep).join('/');
}

/** `<dir>/report.json`, checked against the schema (a report that fails is shown as its error, never half-rendered). */
async function loadReport(dir: string): Promise<LoadedReport> {
  const file = path.join(dir, 'report.json');
  try {
    const st = await stat(file);
    if (st.size > MAX_REPORT_BYTES) return { error: `report.json is ${st.size} bytes (more than ${MAX_REPORT_BYTES})` };
    const parsed = StreamingReport.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) return { report: parsed.data };
    return { error: `report.json does not match the StreamingReport schema: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  } catch (e) {
    return { error: `report.json: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}` };
  }
}

/** Directories under root (breadth first, SEARCH_DEPTH levels, not following symlinks, skipping dot folders) that hold a report.json. */
export async function findPackages(root: string): Promise<PackageEntry[]> {
  const out: PackageEntry[] = [];
  let level = [root];
  for (let depth = 0; depth <= SEARCH_DEPTH && level.length && out.length < MAX_PACKAGES; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (entries.some((e) => e.isFile() && e.name === 'report.json')) {
        const loaded = await loadReport(dir);
        out.push({ pkg: relOf(root, dir), ...loaded });
        if (out.length >= MAX_PACKAGES) break;
        continue; // a package's own folders (hls/, dash/, media/) hold no further packages
      }
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') next.push(path.join(dir, e.name));
    }
    level = next.sort();
  }
  return out.sort((a, b) => a.pkg.localeCompare(b.pkg));
}

/**
 * A single `bytes=` range (RFC 9110 §14.1.2) as inclusive offsets; null for no
 * range, a malformed one or several (the whole file is sent then, as the RFC
 * allows); 'unsatisfiable' for a range that starts past the end.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return null; // not a valid range-spec
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, opts: { csp?: string }): Promise<void> {
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'Last-Modified': st.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
    ...(opts.csp ? { 'Content-Security-Policy': opts.csp } : {}),
  };
  const range = parseRange(req.headers.range, st.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${st.size}`, 'Content-Length': 0 });
    return void res.end();
  }
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': Math.max(0, end - start + 1), ...(range ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}) });
  if (req.method === 'HEAD' || st.size === 0) return void res.end();
  await new Promise<void>((resolve) => {
    const stream = fs.createReadStream(file, { start, end });
    stream.on('error', () => res.destroy());
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

function sendPage(res: http.ServerResponse, status: number, html: string): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  send(res, status, 'text/html; charset=utf-8', html);
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}
