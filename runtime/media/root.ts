/**
 * The media-root guard: every media URI a request names must resolve, after
 * symlinks, to a regular file (or an image-sequence directory) under the
 * configured root. Anything else — other schemes, `..`, option-looking values,
 * protocol prefixes like `concat:` — is refused before any tool runs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../core/mod.js';

/** A printf frame-number pattern in a file name, as image2 reads it: `%d` or `%0Nd`. */
const SEQUENCE_PATTERN = /%(0\d{1,2})?d/;

export interface ResolvedMedia {
  /** Absolute real path (for a sequence: real directory + pattern file name). */
  path: string;
  /** True when the name is an image-sequence pattern such as `frame%08d.png`. */
  imageSequence: boolean;
}

const forbidden = (uri: string, why: string) =>
  new VpipeError(ErrorCodes.MediaForbidden, `media URI ${JSON.stringify(truncate(uri))} is refused: ${why}`, {
    details: [{ path: 'uri', message: why }],
  });

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Percent-decodes `%XX` escapes of printable characters; leaves frame patterns (`%08d`) and control bytes alone. */
function decodePrintable(p: string): string {
  return p.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = parseInt(hex, 16);
    return c >= 0x20 && c !== 0x7f ? String.fromCharCode(c) : m;
  });
}

/** Turns a URI into an absolute path without touching the filesystem; throws MEDIA_URI_FORBIDDEN. */
export function uriToPath(uri: string): string {
  if (/[\u0000-\u001f\u007f]/.test(uri)) throw forbidden(uri, 'control characters are not allowed');
  let p: string;
  if (uri.startsWith('file://')) {
    const rest = uri.slice('file://'.length);
    const slash = rest.indexOf('/');
    const host = slash < 0 ? rest : rest.slice(0, slash);
    if (host !== '' && host !== 'localhost') throw forbidden(uri, `file URIs must name a local path (host "${host}")`);
    if (slash < 0) throw forbidden(uri, 'file URI has no path');
    p = decodePrintable(rest.slice(slash).split(/[?#]/)[0] ?? '');
  } else if (uri.startsWith('/')) {
    p = uri;
  } else if (uri.startsWith('-')) {
    throw forbidden(uri, 'a media URI may not start with "-"');
  } else if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) {
    throw forbidden(uri, `only file:// URIs or absolute paths are accepted, not "${uri.split(':')[0]}:"`);
  } else {
    throw forbidden(uri, 'relative paths are not accepted; use file:///absolute/path under the media root');
  }
  if (p.includes('\0')) throw forbidden(uri, 'NUL bytes are not allowed');
  if (p.split('/').some((seg) => seg === '..')) throw forbidden(uri, '".." path segments are not allowed');
  return path.resolve(p);
}

function isUnder(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Resolves a media URI against the root. Throws MEDIA_URI_FORBIDDEN (outside
 * the root, symlink escaping it, not a regular file) or MEDIA_NOT_FOUND.
 */
export async function resolveMedia(uri: string, mediaRoot: string): Promise<ResolvedMedia> {
  const root = await fs.realpath(mediaRoot).catch(() => {
    throw new VpipeError(ErrorCodes.Unavailable, `media root ${mediaRoot} does not exist`, { retryable: true });
  });
  const lexical = uriToPath(uri);
  if (!isUnder(lexical, root) && !isUnder(lexical, path.resolve(mediaRoot))) {
    throw forbidden(uri, `it lies outside the media root ${mediaRoot}`);
  }
  const base = path.basename(lexical);
  const imageSequence = SEQUENCE_PATTERN.test(base);
  const target = imageSequence ? path.dirname(lexical) : lexical;
  let real: string;
  try {
    real = await fs.realpath(target);
  } catch {
    throw new VpipeError(ErrorCodes.MediaNotFound, `media ${JSON.stringify(truncate(uri))} does not exist`, {
      details: [{ path: 'uri', message: 'no such file' }],
    });
  }
  if (!isUnder(real, root)) throw forbidden(uri, 'it resolves (through a symbolic link) outside the media root');
  const st = await fs.stat(real);
  if (imageSequence) {
    if (!st.isDirectory()) throw forbidden(uri, 'the directory of an image sequence is not a directory');
    await checkSequenceFrames(uri, real, base, root);
    return { path: path.join(real, base), imageSequence };
  }
  if (!st.isFile()) throw forbidden(uri, 'it is not a regular file');
  return { path: real, imageSequence };
}

/** A regular expression for the frame file names a pattern such as `frame%08d.png` reads. */
export function framePattern(base: string): RegExp {
  const m = SEQUENCE_PATTERN.exec(base)!;
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(base.slice(0, m.index))}\\d+${esc(base.slice(m.index + m[0].length))}$`);
}

/**
 * Every frame of a sequence that is a symbolic link must resolve under the root too (the directory was
 * checked; its frames are read one by one). Throws MEDIA_URI_FORBIDDEN naming the first that does not.
 */
async function checkSequenceFrames(uri: string, dir: string, base: string, root: string): Promise<void> {
  const frame = framePattern(base);
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (!e.isSymbolicLink() || !frame.test(e.name)) continue;
    const target = await fs.realpath(path.join(dir, e.name)).catch(() => null);
    if (target === null || !isUnder(target, root)) throw forbidden(uri, `frame ${e.name} is a symbolic link that resolves outside the media root`);
  }
}

/**
 * Resolves an output URI: it need not exist, but its directory must (after
 * symlinks) lie under the root, and an existing target must be a regular
 * file there (never a symlink out). Throws MEDIA_URI_FORBIDDEN or MEDIA_NOT_FOUND (no directory).
 */
export async function resolveOutput(uri: string, mediaRoot: string): Promise<string> {
  const root = await fs.realpath(mediaRoot);
  const lexical = uriToPath(uri);
  if (!isUnder(lexical, root) && !isUnder(lexical, path.resolve(mediaRoot))) {
    throw forbidden(uri, `it lies outside the media root ${mediaRoot}`);
  }
  if (SEQUENCE_PATTERN.test(path.basename(lexical))) throw forbidden(uri, 'an output cannot be an image-sequence pattern');
  let dir: string;
  try {
    dir = await fs.realpath(path.dirname(lexical));
  } catch {
    throw new VpipeError(ErrorCodes.MediaNotFound, `the directory of output ${JSON.stringify(truncate(uri))} does not exist`, {
      details: [{ path: 'output.uri', message: 'no such directory' }],
    });
  }
  if (!isUnder(dir, root) && dir !== root) throw forbidden(uri, 'its directory resolves (through a symbolic link) outside the media root');
  const target = path.join(dir, path.basename(lexical));
  const st = await fs.lstat(target).catch(() => null);
  if (st && !st.isFile()) throw forbidden(uri, 'the output exists and is not a regular file');
  return target;
}

/**
 * Resolves an output directory URI (a trailing `/` is optional; the root itself is one) and creates it: its nearest existing
 * ancestor must (after symlinks) lie under the root or be the root, and an existing target must be a
 * directory. Resolves with the real path. Throws MEDIA_URI_FORBIDDEN.
 */
export async function resolveOutputDir(uri: string, mediaRoot: string): Promise<string> {
  const root = await fs.realpath(mediaRoot);
  const lexical = uriToPath(uri);
  if (lexical === root || lexical === path.resolve(mediaRoot)) return root;
  if (!isUnder(lexical, root) && !isUnder(lexical, path.resolve(mediaRoot))) throw forbidden(uri, `it lies outside the media root ${mediaRoot}`);
  if (SEQUENCE_PATTERN.test(lexical)) throw forbidden(uri, 'an output directory cannot be an image-sequence pattern');
  // The lexical path may sit under the root's unresolved spelling: rebase it on the real root.
  const rel = isUnder(lexical, root) ? path.relative(root, lexical) : path.relative(path.resolve(mediaRoot), lexical);
  const segs = rel.split(path.sep);
  let existing = root;
  let found = 0;
  for (const seg of segs) {
    const next = path.join(existing, seg);
    if (!(await fs.lstat(next).catch(() => null))) break;
    const real = await fs.realpath(next);
    if (!isUnder(real, root)) throw forbidden(uri, 'it resolves (through a symbolic link) outside the media root');
    if (!(await fs.stat(real)).isDirectory()) throw forbidden(uri, `${seg} exists and is not a directory`);
    existing = real;
    found++;
  }
  const target = path.join(existing, ...segs.slice(found));
  await fs.mkdir(target, { recursive: true });
  return target;
}
