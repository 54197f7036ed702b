/**
 * What the streaming end-to-end suites share: a stack with every service,
 * the web server and Debian's Chromium, and the checks every package gets
 * from the test's own tools — the validator, a proof of every packaged rung
 * against the source, and playback with hls.js and dash.js.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import { startWebServer, type WebServer } from '../../cli/web/server.js';
import { runTool } from '../../runtime/media/mod.js';
import type { StreamingReport, StreamingResult } from '../../schemas/streaming.js';
import { launchChromium, playPackage } from './browser.js';
import { validatePackage } from './package-validator.js';
import { startTestStack, type TestStack } from './stack.js';
import { concatRendition } from './streaming-media.js';
import { verifyOutput } from './verify-output.js';
import { resultEvents } from './ves-proof.js';
import { ensureVmafFfmpeg } from './vqs-media.js';

export interface StreamingHarness {
  stack: TestStack;
  web: WebServer;
  browser: Browser;
  close(): Promise<void>;
}

export async function startStreamingHarness(name: string, prepare: (root: string) => Promise<unknown>): Promise<StreamingHarness> {
  ensureVmafFfmpeg();
  const stack = await startTestStack(name, { encoderActors: 2, concurrency: 8, metricsPort: 0 }, prepare);
  const web = await startWebServer({ root: stack.root, port: 0 });
  const browser = await launchChromium();
  return {
    stack,
    web,
    browser,
    async close() {
      await browser.close();
      await web.close();
      await stack.cleanup();
    },
  };
}

export interface Streamed {
  jobId: string;
  result: StreamingResult;
  report: StreamingReport;
  dir: string;
}

/** Submits a streaming job and waits for it: it must succeed with exactly one result event. */
export async function stream(h: StreamingHarness, body: Record<string, unknown>, timeoutMs = 600_000): Promise<Streamed> {
  const jobId = await h.stack.client.submit('vpipe.streaming.submit', body);
  const ev = await h.stack.client.waitForResult('streaming', jobId, { timeoutMs });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  expect(await resultEvents(h.stack.client, 'streaming', jobId)).toBe(1);
  const result = ev.result as StreamingResult;
  const report = JSON.parse(fs.readFileSync(new URL(result.report.uri), 'utf8')) as StreamingReport;
  return { jobId, result, report, dir: path.dirname(new URL(result.report.uri).pathname) };
}

/** The loudness of an audio file as ffmpeg's ebur128 filter measures it (the test's own pass). */
export async function loudness(file: string): Promise<{ integrated: number; truePeak: number }> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-filter_complex', 'ebur128=peak=true', '-f', 'null', '-']);
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  return { integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]), truePeak: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1]) };
}

export async function ffprobeJson(file: string, args: string[]): Promise<{ streams: Record<string, unknown>[] }> {
  const r = await runTool('ffprobe', ['-v', 'error', '-of', 'json', ...args, file]);
  return JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
}

/** The package passes the validator, whose code shares nothing with the packager. */
export async function expectValidPackage(dir: string): Promise<void> {
  const v = await validatePackage(dir, { targetSegmentSeconds: 6 });
  expect(v.problems).toEqual([]);
}

/** Every packaged rung, read back as a player fetches it, is the source's pictures at the source's times. */
export async function proveRungs(source: string, sourceFrames: number, dir: string, report: StreamingReport): Promise<void> {
  for (const r of report.rungs) {
    const joined = concatRendition(dir, `${r.id}.m3u8`, path.join(dir, `.${r.id}.joined.mp4`));
    const c = await verifyOutput(source, joined, { width: r.width, height: r.height });
    fs.rmSync(joined);
    expect(c.sourceFrames, `${r.id}: source frames`).toBe(sourceFrames);
    expect(c.outputFrames, `${r.id}: packaged frames`).toBe(sourceFrames);
    expect(c.maxTimeErrorSeconds, `${r.id}: frame times`).toBeLessThan(1e-3);
    expect(c.ptsStrictlyIncreasing).toBe(true);
    // Pictures: every frame the source's (a low rung is blurrier, never another picture).
    expect(c.minPsnr, `${r.id}: lowest per-frame PSNR`).toBeGreaterThan(r.height >= 360 ? 28 : 22);
  }
}

/** hls.js and dash.js in Chromium: past 3 s, a forced switch to another rung plays on, a seek near the end reaches `ended`, the tracks listed. */
export async function expectPlays(h: StreamingHarness, dir: string, audio: number, text: number): Promise<void> {
  const pkg = path.relative(h.stack.root, dir);
  for (const kind of ['hls', 'dash'] as const) {
    const page = await h.browser.newPage();
    try {
      const run = await playPackage(page, `${h.web.url}/watch?pkg=${encodeURIComponent(pkg)}`, kind, 30_000);
      expect(run.errors, `${kind} errors`).toEqual([]);
      expect(run.playing.currentTime).toBeGreaterThan(3);
      expect(run.switched.videoWidth).toBe(run.switchedTo.width);
      expect(run.afterSwitch.currentTime).toBeGreaterThan(run.switched.currentTime);
      expect(run.ended.ended).toBe(true);
      expect(run.audioTracks.length, `${kind} audio tracks`).toBe(audio);
      expect(run.textTracks.length, `${kind} text tracks`).toBe(text);
    } finally {
      await page.close();
    }
  }
}
