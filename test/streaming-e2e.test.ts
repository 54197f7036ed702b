/**
 * The streaming orchestrator end to end, every service real over a real
 * nats-server: a generated mezzanine with 5.1 and a second language, a text
 * stream and a sidecar (per-title ladder: CAS, VQS with libvmaf, LGS), and
 * two files of the real corpus. Each package is checked by the test's own
 * validator (independent of the packager), each packaged rung is proven
 * against the source with the test's own ffmpeg pass (frame count, frame
 * times, per-frame PSNR), the audio's loudness is measured by the test's own
 * ebur128 pass, and every package plays in Debian's Chromium with hls.js and
 * dash.js.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../cli/web/server.js';
import { runTool } from '../runtime/media/mod.js';
import type { StreamingReport, StreamingResult } from '../schemas/streaming.js';
import { corpusFile } from './corpus/manifest.js';
import { launchChromium, playPackage } from './helpers/browser.js';
import { validatePackage } from './helpers/package-validator.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { concatRendition, makeStreamingMezzanine, MEZZ_CUES, MEZZ_FPS, MEZZ_SECONDS } from './helpers/streaming-media.js';
import { verifyOutput } from './helpers/verify-output.js';
import { resultEvents } from './helpers/ves-proof.js';
import { ensureVmafFfmpeg } from './helpers/vqs-media.js';

let stack: TestStack;
let web: WebServer;
let browser: Browser;
let mezz: { source: string; sidecar: string };
const CORPUS_FILES = ['oa4_launch.webm', 'Megamind.avi'] as const;

beforeAll(async () => {
  ensureVmafFfmpeg();
  stack = await startTestStack('streaming', { encoderActors: 2, concurrency: 8, metricsPort: 0 }, async (root) => {
    mezz = await makeStreamingMezzanine(root);
    for (const f of CORPUS_FILES) fs.copyFileSync(corpusFile(f), path.join(root, f));
  });
  web = await startWebServer({ root: stack.root, port: 0 });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await stack?.cleanup();
});

async function stream(body: Record<string, unknown>, timeoutMs = 600_000): Promise<{ jobId: string; result: StreamingResult; report: StreamingReport; dir: string }> {
  const jobId = await stack.client.submit('vpipe.streaming.submit', body);
  const ev = await stack.client.waitForResult('streaming', jobId, { timeoutMs });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  expect(await resultEvents(stack.client, 'streaming', jobId)).toBe(1);
  const result = ev.result as StreamingResult;
  const report = JSON.parse(fs.readFileSync(new URL(result.report.uri), 'utf8')) as StreamingReport;
  return { jobId, result, report, dir: path.dirname(new URL(result.report.uri).pathname) };
}

/** The loudness of an audio file as ffmpeg's ebur128 filter measures it (the test's own pass). */
async function loudness(file: string): Promise<{ integrated: number; truePeak: number }> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-filter_complex', 'ebur128=peak=true', '-f', 'null', '-']);
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  return { integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]), truePeak: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1]) };
}

async function ffprobeJson(file: string, args: string[]): Promise<{ streams: Record<string, unknown>[] }> {
  const r = await runTool('ffprobe', ['-v', 'error', '-of', 'json', ...args, file]);
  return JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
}

/** Every packaged rung, read back as a player fetches it, is the source's pictures at the source's times. */
async function proveRungs(source: string, sourceFrames: number, dir: string, report: StreamingReport): Promise<void> {
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

async function expectPlays(dir: string, audio: number, text: number): Promise<void> {
  const pkg = path.relative(stack.root, dir);
  for (const kind of ['hls', 'dash'] as const) {
    const page = await browser.newPage();
    try {
      const run = await playPackage(page, `${web.url}/watch?pkg=${encodeURIComponent(pkg)}`, kind, 30_000);
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

describe('streaming orchestrator, every service real', { timeout: 900_000 }, () => {
  it('a generated 30 s mezzanine with 5.1, a second language, a text stream and a sidecar: per-title ladder → packaged, validated, proven, playing', async () => {
    const out = path.join(stack.root, 'out', 'mezz');
    const { report, result, dir } = await stream({
      source: { uri: `file://${mezz.source}` },
      output: { uri: `file://${out}/` },
      codecs: ['h264'],
      // Grain under VMAF is cheap (92 at 80 kb/s, 95 at 530): rungs 1.5 VMAF apart to get a ladder of three on this clip.
      ladder: { mode: 'per-title', constraints: { rungs: 3, minKbps: 50, minStep: 1.5 } },
      subtitles: [{ uri: `file://${mezz.sidecar}`, language: 'es', name: 'Español' }],
    });
    expect(dir).toBe(fs.realpathSync(out));
    expect(result.hls.uri).toBe(`file://${dir}/hls/main.m3u8`);
    expect(result.dash.uri).toBe(`file://${dir}/dash/manifest.mpd`);

    // The ladder: LGS's, every rung encoded, measured with VMAF, rising.
    expect(report.ladder[0]!.mode).toBe('per-title');
    expect(report.ladder[0]!.lgsJobId).toBeTruthy();
    expect(report.rungs.length).toBe(report.ladder[0]!.result!.rungs.length);
    expect(report.rungs.length).toBeGreaterThanOrEqual(2);
    for (const r of report.rungs) {
      expect(r.vmaf, `${r.id} VMAF`).toBeGreaterThan(20);
      expect(r.quality!.vmaf!.model).toBe('vmaf_v0.6.1');
      expect(r.encode.frames).toBe(MEZZ_SECONDS * MEZZ_FPS);
    }
    for (const [a, b] of report.rungs.slice(1).map((r, i) => [report.rungs[i]!, r] as const)) {
      expect(b.kbps).toBeGreaterThan(a.kbps);
      expect(b.vmaf!).toBeGreaterThan(a.vmaf!);
    }

    // Audio: both languages, 5.1 downmixed, R128 loudness by the test's own measurement.
    expect(report.audio.map((a) => [a.language, a.sourceChannels, a.channels])).toEqual([
      ['eng', 6, 2],
      ['fre', 2, 2],
    ]);
    for (const a of report.audio) {
      const seg = concatRendition(dir, `${a.id}.m3u8`, path.join(dir, `.${a.id}.joined.mp4`));
      const l = await loudness(seg);
      const probe = await ffprobeJson(seg, ['-show_streams']);
      fs.rmSync(seg);
      expect(Math.abs(l.integrated - -23), `${a.id} integrated loudness ${l.integrated} LUFS`).toBeLessThan(1);
      expect(l.truePeak, `${a.id} true peak`).toBeLessThanOrEqual(-1 + 0.5);
      expect(probe.streams[0]).toMatchObject({ codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000' });
    }

    // Text: the source's English stream and the Spanish sidecar, as WebVTT with every cue.
    expect(report.text.map((t) => [t.language, t.cues, t.from.startsWith('stream:')])).toEqual([
      ['eng', MEZZ_CUES.length, true],
      ['es', 2, false],
    ]);

    // The package, by the test's own validator; the pictures, by the test's own ffmpeg pass.
    const v = await validatePackage(dir, { targetSegmentSeconds: 6 });
    expect(v.problems).toEqual([]);
    expect(report.packaging).toMatchObject({ boundariesAligned: true, segmentsStartWithKeyframe: true, targetSegmentSeconds: 6 });
    await proveRungs(mezz.source, MEZZ_SECONDS * MEZZ_FPS, dir, report);
    await expectPlays(dir, 2, 2);
  });

  for (const [file, mode] of [
    ['oa4_launch.webm', 'per-title'],
    ['Megamind.avi', 'fixed'],
  ] as const) {
    it(`the real corpus file ${file}: ${mode} ladder → packaged, validated, proven, playing`, async () => {
      const src = path.join(stack.root, file);
      const frames = (await ffprobeJson(src, ['-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames'])).streams[0]!.nb_read_frames;
      const { report, dir } = await stream({
        source: { uri: `file://${src}` },
        output: { uri: `file://${stack.root}/out/${file.replace(/\W/g, '_')}/` },
        ladder: { mode, constraints: { rungs: 3 } },
      });
      expect(report.rungs.length).toBeGreaterThanOrEqual(2);
      for (const r of report.rungs) expect(r.vmaf, `${r.id} VMAF`).toBeGreaterThan(20);
      expect(report.audio.length).toBe(1);
      const v = await validatePackage(dir, { targetSegmentSeconds: 6 });
      expect(v.problems).toEqual([]);
      await proveRungs(src, Number(frames), dir, report);
      await expectPlays(dir, 1, 0);
    });
  }
});
