import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VpipeError } from '../runtime/core/errors.js';
import { resolveMedia, uriToPath } from '../runtime/media/root.js';
import { tempDir } from './helpers/nats.js';

let root: string;
let outside: string;

beforeAll(() => {
  root = tempDir('root');
  outside = tempDir('outside');
  fs.writeFileSync(path.join(root, 'a.mp4'), 'x');
  fs.writeFileSync(path.join(root, 'my clip.mp4'), 'x');
  fs.writeFileSync(path.join(outside, 'secret.mp4'), 'x');
  fs.mkdirSync(path.join(root, 'seq'));
  fs.writeFileSync(path.join(root, 'seq', 'frame00000001.png'), 'x');
  fs.symlinkSync(path.join(outside, 'secret.mp4'), path.join(root, 'link-out.mp4'));
  fs.symlinkSync(outside, path.join(root, 'dir-out'));
  fs.symlinkSync(path.join(root, 'a.mp4'), path.join(root, 'link-in.mp4'));
  fs.mkdirSync(path.join(root, 'adir'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

async function code(uri: string): Promise<string> {
  try {
    await resolveMedia(uri, root);
    return 'ok';
  } catch (e) {
    return (e as VpipeError).code;
  }
}

describe('media root guard', () => {
  it('accepts file:// URIs and plain absolute paths under the root', async () => {
    expect((await resolveMedia(`file://${root}/a.mp4`, root)).path).toBe(fs.realpathSync(path.join(root, 'a.mp4')));
    expect((await resolveMedia(`${root}/a.mp4`, root)).imageSequence).toBe(false);
    expect((await resolveMedia(`file://localhost${root}/a.mp4`, root)).path).toContain('a.mp4');
  });

  it('percent-decodes file URIs but keeps frame patterns', async () => {
    expect((await resolveMedia(`file://${root}/my%20clip.mp4`, root)).path).toContain('my clip.mp4');
    const seq = await resolveMedia(`file://${root}/seq/frame%08d.png`, root);
    expect(seq).toEqual({ path: path.join(fs.realpathSync(root), 'seq', 'frame%08d.png'), imageSequence: true });
  });

  it('refuses an image sequence with a frame that links outside the root, and accepts frames linked inside', async () => {
    fs.mkdirSync(path.join(root, 'seq-links'));
    fs.writeFileSync(path.join(root, 'seq-links', 'f0001.png'), 'x');
    fs.symlinkSync(path.join(root, 'seq-links', 'f0001.png'), path.join(root, 'seq-links', 'f0002.png'));
    expect(await code(`${root}/seq-links/f%04d.png`)).toBe('ok');
    fs.symlinkSync(path.join(outside, 'secret.mp4'), path.join(root, 'seq-links', 'f0003.png'));
    await expect(resolveMedia(`${root}/seq-links/f%04d.png`, root)).rejects.toMatchObject({ code: 'MEDIA_URI_FORBIDDEN', message: expect.stringMatching(/frame f0003\.png is a symbolic link/) });
    // A link that is not a frame of this pattern is not read, so it does not matter.
    expect(await code(`${root}/seq-links/g%04d.png`)).toBe('ok');
  });

  it('follows symlinks that stay inside the root', async () => {
    expect(await code(`${root}/link-in.mp4`)).toBe('ok');
  });

  it.each([
    ['a symlink to a file outside', () => `${root}/link-out.mp4`],
    ['a path through a symlinked directory outside', () => `${root}/dir-out/secret.mp4`],
    ['a path outside the root', () => `${outside}/secret.mp4`],
    ['../ segments', () => `file://${root}/../${path.basename(outside)}/secret.mp4`],
    ['encoded ../ segments', () => `file://${root}/%2e%2e/${path.basename(outside)}/secret.mp4`],
    ['/etc/passwd', () => 'file:///etc/passwd'],
    ['an http URL', () => 'http://example.com/a.mp4'],
    ['a concat: protocol', () => `concat:${root}/a.mp4|${root}/a.mp4`],
    ['an option-looking value', () => '-i /etc/passwd'],
    ['a relative path', () => 'a.mp4'],
    ['a remote file host', () => `file://evil.example${root}/a.mp4`],
    ['a NUL byte', () => `${root}/a.mp4\u0000.txt`],
    ['a directory', () => `${root}/adir`],
    ['the root itself', () => root],
  ])('refuses %s', async (_what, uri) => {
    expect(await code(uri())).toBe('MEDIA_URI_FORBIDDEN');
  });

  it('reports a missing file as not found', async () => {
    expect(await code(`${root}/missing.mp4`)).toBe('MEDIA_NOT_FOUND');
  });

  it('names the reason in the error message', () => {
    expect(() => uriToPath('concat:a|b')).toThrow(/only file:\/\/ URIs or absolute paths are accepted, not "concat:"/);
    expect(() => uriToPath('-i x')).toThrow(/may not start with "-"/);
  });
});
