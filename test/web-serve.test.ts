/**
 * `vpipe serve`: the file server (MIME types, Range, HEAD, no-cache, path
 * traversal refused: `..`, encoded `%2e%2e`, absolute paths, a symlink out of
 * root), the pages (packages listed, a report with markup in its names shown
 * as text), and real playback in Chromium with hls.js and with dash.js of a
 * package ffmpeg made (test/helpers/fixture-package.ts): past 3 s without a
 * player error, a forced switch to the other rung shown and played on, a seek
 * to the end that ends, the audio and subtitle tracks listed with their
 * languages. A missing Chromium fails the browser tests, it never skips them.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../cli/web/server.js';
import { StreamingReport } from '../schemas/streaming.js';
import { launchChromium, playPackage, type PlaybackRun } from './helpers/browser.js';
import { buildFixturePackage, type FixturePackage } from './helpers/fixture-package.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PKG = 'titles/fixture';
/** A package directory whose name needs escaping everywhere it appears. */
const EVIL_PKG = `evil <b>&"'`;
const EVIL_NAME = '<script>window.__pwned=1</script>';
const EVIL_TEXT = '</script><img src=x onerror="window.__pwned=2">';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the target exactly as given (no URL normalisation on the way, unlike fetch). */
function request(base: string, target: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: target, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('vpipe serve', () => {
  let tmp: string;
  let root: string;
  let fx: FixturePackage;
  let web: WebServer;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'vpipe-web-'));
    root = path.join(tmp, 'media');
    fx = await buildFixturePackage(root, PKG, 12);
    // Outside root: a secret, and links to it from inside root.
    await mkdir(path.join(tmp, 'outside'));
    await writeFile(path.join(tmp, 'outside', 'secret.txt'), 'not for the web\n');
    await symlink(path.join(tmp, 'outside'), path.join(root, 'out-dir'));
    await symlink(path.join(tmp, 'outside', 'secret.txt'), path.join(fx.dir, 'secret.txt'));
    // Inside root: a link that stays inside is fine.
    await symlink(path.join(fx.dir, 'report.json'), path.join(root, 'report-link.json'));
    // A report with markup in its names, in a directory whose name needs escaping.
    const evil = structuredClone(fx.report);
    evil.audio[0]!.name = EVIL_NAME;
    evil.text[0]!.name = EVIL_TEXT;
    evil.rungs[0]!.id = '"><b>rung</b>';
    evil.notes = ['<iframe src="/"></iframe>'];
    await mkdir(path.join(root, EVIL_PKG));
    await writeFile(path.join(root, EVIL_PKG, 'report.json'), JSON.stringify(StreamingReport.parse(evil)));
    web = await startWebServer({ root });
  }, 60_000);

  afterAll(async () => {
    await web?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('server', () => {
    it('binds 127.0.0.1 and gives a URL without a trailing slash', () => {
      expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(web.watchUrl(PKG)).toBe(`${web.url}/watch?pkg=titles%2Ffixture`);
    });

    it('the fixture report passes the StreamingReport schema', async () => {
      const onDisk = JSON.parse(await readFile(path.join(fx.dir, 'report.json'), 'utf8'));
      expect(StreamingReport.safeParse(onDisk).success).toBe(true);
      expect(fx.report.rungs.map((r) => `${r.width}x${r.height}`)).toEqual(['640x360', '320x180']);
    });

    it('serves files with their MIME types, no-cache, Accept-Ranges and HEAD', async () => {
      const types: [string, string][] = [
        ['hls/main.m3u8', 'application/vnd.apple.mpegurl'],
        ['dash/manifest.mpd', 'application/dash+xml'],
        ['media/v0/seg-00001.m4s', 'video/iso.segment'],
        ['media/v0/init.mp4', 'video/mp4'],
        ['media/text/t0.vtt', 'text/vtt; charset=utf-8'],
        ['report.json', 'application/json; charset=utf-8'],
      ];
      for (const [rel, type] of types) {
        const r = await request(web.url, `/files/${PKG}/${rel}`);
        expect(r.status, rel).toBe(200);
        expect(r.headers['content-type'], rel).toBe(type);
        expect(r.headers['cache-control'], rel).toBe('no-cache');
        expect(r.headers['accept-ranges'], rel).toBe('bytes');
        expect(r.body.equals(await readFile(path.join(fx.dir, rel))), rel).toBe(true);
      }
      const head = await request(web.url, `/files/${PKG}/media/v0/init.mp4`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers['content-length'])).toBe((await readFile(path.join(fx.dir, 'media/v0/init.mp4'))).length);
      expect(head.body.length).toBe(0);
      const chart = await request(web.url, `/chart.svg?pkg=${encodeURIComponent(PKG)}&i=0`);
      expect(chart.status).toBe(200);
      expect(chart.headers['content-type']).toBe('image/svg+xml');
      expect(chart.body.toString()).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect((await request(web.url, `/chart.svg?pkg=${encodeURIComponent(PKG)}&i=1`)).status).toBe(404);
      expect((await request(web.url, `/files/${PKG}/report.json`, { method: 'POST' })).status).toBe(405);
    });

    it('answers Range requests with 206 and exactly those bytes', async () => {
      const rel = 'media/v0/seg-00002.m4s';
      const whole = await readFile(path.join(fx.dir, rel));
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 99],
        ['bytes=100-', 100, whole.length - 1],
        ['bytes=-50', whole.length - 50, whole.length - 1],
        [`bytes=10-${whole.length + 1000}`, 10, whole.length - 1],
      ];
      for (const [range, start, end] of cases) {
        const r = await request(web.url, `/files/${PKG}/${rel}`, { headers: { Range: range } });
        expect(r.status, range).toBe(206);
        expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${whole.length}`);
        expect(Number(r.headers['content-length']), range).toBe(end - start + 1);
        expect(r.body.equals(whole.subarray(start, end + 1)), range).toBe(true);
      }
      const past = await request(web.url, `/files/${PKG}/${rel}`, { headers: { Range: `bytes=${whole.length}-` } });
      expect(past.status).toBe(416);
      expect(past.headers['content-range']).toBe(`bytes */${whole.length}`);
      const head = await request(web.url, `/files/${PKG}/${rel}`, { method: 'HEAD', headers: { Range: 'bytes=0-9' } });
      expect([head.status, head.headers['content-length'], head.body.length]).toEqual([206, '10', 0]);
    });

    it('refuses path traversal: .., encoded %2e%2e, absolute paths, symlinks out of root', async () => {
      const attempts = [
        '/files/../../etc/passwd',
        '/files/%2e%2e/%2e%2e/etc/passwd',
        '/files/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
        '/files/..%2f..%2f..%2fetc%2fpasswd',
        `/files/${PKG}/../../../../etc/passwd`,
        '/files//etc/passwd',
        '/files/%2fetc%2fpasswd',
        '/files/..\\..\\etc\\passwd',
        '/files/%00/etc/passwd',
        '/files/%zz',
        '/files/out-dir/secret.txt',
        `/files/${PKG}/secret.txt`,
        '/watch?pkg=../..',
        '/watch?pkg=%2Fetc',
        '/watch?pkg=out-dir',
        '/chart.svg?pkg=..%2F..%2F..&i=0',
      ];
      for (const target of attempts) {
        const r = await request(web.url, target);
        expect([403, 404], target).toContain(r.status);
        expect(r.body.toString(), target).not.toMatch(/root:|not for the web/);
      }
      for (const target of ['/files/../../etc/passwd', '/files/%2e%2e/%2e%2e/etc/passwd', '/files/out-dir/secret.txt', `/files/${PKG}/secret.txt`]) {
        expect((await request(web.url, target)).status, target).toBe(403);
      }
      // A link that stays inside root is followed.
      expect((await request(web.url, '/files/report-link.json')).status).toBe(200);
    });

    it('serves hls.js and dash.js from node_modules', async () => {
      for (const [p, mark] of [
        ['/vendor/hls.min.js', 'Hls'],
        ['/vendor/dash.all.min.js', 'dashjs'],
        ['/static/player.js', 'vpipePlayer'],
      ] as const) {
        const r = await request(web.url, p);
        expect(r.status, p).toBe(200);
        expect(r.headers['content-type'], p).toBe('text/javascript; charset=utf-8');
        expect(r.body.toString(), p).toContain(mark);
      }
    });

    it('lists the packages under root, escaped', async () => {
      const r = await request(web.url, '/');
      expect(r.status).toBe(200);
      const html = r.body.toString();
      expect(html).toContain(`href="/watch?pkg=titles%2Ffixture"`);
      expect(html).toContain('evil &lt;b&gt;&amp;&quot;&#39;');
      expect(html).not.toContain('<b>&');
      expect(html).not.toContain('out-dir'); // symlinked folders are not searched
    });

    it('serves one package directory as root (package `.`)', async () => {
      const one = await startWebServer({ root: fx.dir, port: 0 });
      try {
        expect((await request(one.url, '/')).body.toString()).toContain('href="/watch?pkg=."');
        const html = (await request(one.url, '/watch?pkg=.')).body.toString();
        expect(html).toContain('"hls":"/files/hls/main.m3u8"');
        expect(html).toContain('"dash":"/files/dash/manifest.mpd"');
        expect((await request(one.url, '/files/hls/main.m3u8')).status).toBe(200);
        expect((await request(one.url, '/files/../report.json')).status).toBe(403);
      } finally {
        await one.close();
      }
    });

    it('puts the report on the watch page as text: markup in names is escaped', async () => {
      const r = await request(web.url, `/watch?pkg=${encodeURIComponent(EVIL_PKG)}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      const html = r.body.toString();
      expect(html).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
      expect(html).toContain('&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;');
      expect(html).toContain('&quot;&gt;&lt;b&gt;rung&lt;/b&gt;');
      for (const raw of ['<script>window', '<img src=x', '<b>rung', '<iframe', `<b>&"'`]) expect(html, raw).not.toContain(raw);
      // Only the page's own <script> elements: the JSON config, hls.js, dash.js and the player.
      expect(html.match(/<script\b/g)).toHaveLength(4);
      const json = /<script type="application\/json" id="vpipe-config">([^<]*)<\/script>/.exec(html);
      expect(JSON.parse(json![1]!).pkg).toBe(EVIL_PKG);
    });
  });

  describe('vpipe serve command', () => {
    it('serves a directory, prints its URL and stops on SIGTERM with exit code 0', async () => {
      const child = spawn(process.execPath, [path.join(REPO, 'bin/vpipe.js'), 'serve', root, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VPIPE_MEDIA_ROOT: root } });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed in 30 s: ${out} ${err}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /vpipe serve: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out} ${err}`)));
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        expect((await request(url, '/')).body.toString()).toContain('titles/fixture');
        expect(out).toContain(`${url}/watch?pkg=titles%2Ffixture`);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    }, 40_000);
  });

  describe('in Chromium', () => {
    let browser: Browser | undefined;
    let page: Page;
    const runs: PlaybackRun[] = [];

    beforeAll(async () => {
      browser = await launchChromium(); // throws "install chromium (apt-get install chromium) …" when missing
      page = await browser.newPage();
    }, 30_000);

    afterAll(async () => {
      await browser?.close();
      if (runs.length) console.info(`playback wall ms: ${runs.map((r) => `${r.kind} ${JSON.stringify(r.ms)}`).join('; ')}`);
    });

    it('has Media Source Extensions for H.264 and AAC', async () => {
      await page.goto(`${web.url}/`);
      const codecs = [...new Set([...fx.report.rungs.map((r) => r.codecs), 'avc1.64001f', 'mp4a.40.2'])];
      const support = await page.evaluate(
        (list) => list.map((c) => [c, (globalThis as unknown as { MediaSource: { isTypeSupported(t: string): boolean } }).MediaSource.isTypeSupported(`${c.startsWith('mp4a') ? 'audio' : 'video'}/mp4; codecs="${c}"`)]),
        codecs,
      );
      expect(Object.fromEntries(support)).toEqual(Object.fromEntries(codecs.map((c) => [c, true])));
    });

    for (const kind of ['hls', 'dash'] as const) {
      it(`plays with ${kind === 'hls' ? 'hls.js' : 'dash.js'}: past 3 s, a forced rung switch, to the end; tracks listed`, async () => {
        const run = await playPackage(page, web.watchUrl(PKG), kind);
        runs.push(run);
        expect(run.errors).toEqual([]);
        expect(run.playing.currentTime).toBeGreaterThan(3);
        expect(run.levels.map((l) => l.width).sort()).toEqual(fx.rungs.map((r) => r.width).sort());
        // The forced rung is the other one, it shows, and playback goes on after the switch.
        expect(run.switchedTo.width).not.toBe(run.playing.videoWidth);
        expect(run.switched.videoWidth).toBe(run.switchedTo.width);
        expect(run.switched.videoHeight).toBe(run.switchedTo.height);
        expect(run.switched.auto).toBe(false);
        expect(run.afterSwitch.currentTime).toBeGreaterThan(run.switched.currentTime + 1);
        expect(run.afterSwitch.videoWidth).toBe(run.switchedTo.width);
        expect(run.ended.ended).toBe(true);
        expect(run.ended.currentTime).toBeGreaterThan(fx.durationSeconds - 0.5);
        expect(run.audioTracks.length).toBeGreaterThanOrEqual(1);
        expect(run.textTracks.length).toBeGreaterThanOrEqual(1);
        expect(run.audioTracks.map((t) => t.language)).toContain(fx.audio.language);
        expect(run.textTracks.map((t) => t.language)).toContain(fx.text.language);
        expect(run.audioTracks.map((t) => t.name)).toContain(fx.audio.name);
        // The page shows the tracks the player found, as text.
        expect(await page.locator('#audio-tracks').innerText()).toContain(`${fx.audio.language} — ${fx.audio.name}`);
        expect(await page.locator('#text-tracks').innerText()).toContain(`${fx.text.language} — ${fx.text.name}`);
      }, 50_000);
    }

    it('shows markup from a report as text and runs none of it', async () => {
      await page.goto(`${web.watchUrl(EVIL_PKG)}&play=none`, { waitUntil: 'load' });
      expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
      expect(await page.locator('table.audio').innerText()).toContain(EVIL_NAME);
      expect(await page.locator('table.text').innerText()).toContain(EVIL_TEXT);
      expect(await page.locator('table.quality').innerText()).toContain('"><b>rung</b>');
      expect(await page.locator('iframe, img[src="x"], table b').count()).toBe(0);
      expect(await page.evaluate(() => typeof (globalThis as { vpipePlayer?: unknown }).vpipePlayer)).toBe('object');
    });
  });
});
