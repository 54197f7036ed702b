/**
 * Chunked VES vs one plain ffmpeg run, same source, codec and settings, in
 * the same run (these machines are noisy). Prints a table and writes JSON.
 *
 *   npm run bench:ves -- [--seconds 120] [--workers 1,2] [--codec h264] [--chunk 10]
 *
 * The source is generated once (cached in bench/.cache): 720p25 with real
 * motion and texture — a moving Sierpinski fractal blended with a panning
 * grain texture plus temporal noise — not a static test pattern.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encoderFor } from '../encoders/index.js';
import { shapeFor } from '../encoders/shapes.js';
import { VpipeClient } from '../runtime/client.js';
import { rootLogger } from '../runtime/logger.js';
import { runTool } from '../runtime/media-tools.js';
import { startNatsServer } from '../runtime/nats-server.js';
import { startNode } from '../runtime/node.js';
import { REPO_ROOT } from '../runtime/nats-server.js';
import type { Codec, EncodeResult, Recipe } from '../schemas/ves.js';
import { measure, runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    workers: { type: 'string', default: '1,2' },
    codec: { type: 'string', default: 'h264' },
    chunk: { type: 'string', default: '10' },
    crf: { type: 'string', default: '23' },
  },
});
const seconds = Number(values.seconds);
const codec = values.codec as Codec;
rootLogger.level = process.env.LOG_LEVEL ?? 'warn';

const RECIPE: Recipe = {
  codec,
  rateControl: { mode: 'crf', value: Number(values.crf) },
  ...(codec === 'h264' || codec === 'hevc' ? { preset: 'veryfast' as const } : { speed: codec === 'vp9' ? 6 : 10 }),
  gop: { lengthSeconds: 2, sceneCutKeyframes: false },
  chunking: { targetSeconds: Number(values.chunk) },
};

async function makeSource(dir: string): Promise<string> {
  const file = path.join(dir, `motion-texture-720p25-${seconds}s.mkv`);
  if (fs.existsSync(file)) return file;
  const graph =
    'sierpinski=s=1280x720:r=25:type=triangle:jump=80,format=yuv420p[a];' +
    'color=c=gray:s=1920x1080:r=25,noise=alls=90:allf=u,gblur=sigma=2,scroll=h=0.0015:v=0.0007,crop=1280:720:0:0,format=yuv420p[b];' +
    '[a][b]blend=all_mode=average,noise=alls=4:allf=t,format=yuv420p';
  process.stderr.write(`generating ${seconds} s of 720p25 source at ${file} …\n`);
  const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', graph, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-g', '50', '-y', `${file}.part.mkv`], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(r.stderr);
  fs.renameSync(`${file}.part.mkv`, file);
  return file;
}

async function psnr(distorted: string, reference: string): Promise<number> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostats', '-i', distorted, '-i', reference, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'], { timeoutMs: 3_600_000 });
  return Number(/average:([0-9.]+)/.exec(r.stderr)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const cache = path.join(REPO_ROOT, 'bench/.cache');
  fs.mkdirSync(cache, { recursive: true });
  const source = await makeSource(cache);
  const enc = encoderFor(codec);
  const shape = shapeFor(codec, 1280, 720);
  const spec = { recipe: RECIPE, frameRate: { num: 25, den: 1 }, width: 1280, height: 720, sourceWidth: 1280, sourceHeight: 720, threads: os.availableParallelism() };
  const rows: { run: string; workers: number | null; wallSeconds: number; cpuSeconds: number; bytes: number; psnr: number; chunks: number | null }[] = [];

  // Baseline: one ffmpeg process, the same encoder arguments, threads for the whole machine.
  const baselineOut = path.join(cache, `baseline.${codec}.mkv`);
  const base = await measure(() =>
    runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', source, '-map', '0:v:0', ...enc.videoArgs(spec), '-f', 'matroska', '-y', baselineOut], { timeoutMs: 3_600_000 }),
  );
  if (base.value.code !== 0) throw new Error(base.value.stderr);
  rows.push({ run: 'ffmpeg (one process)', workers: null, wallSeconds: base.wallSeconds, cpuSeconds: base.cpuSeconds, bytes: fs.statSync(baselineOut).size, psnr: await psnr(baselineOut, source), chunks: null });
  process.stderr.write(`baseline: ${base.wallSeconds.toFixed(1)} s\n`);

  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  try {
    for (const workers of values.workers.split(',').map(Number)) {
      const node = await startNode({ natsUrl: server.url, mediaRoot: cache, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow', 'encoder'], encoderActors: workers });
      const client = await VpipeClient.connect(server.url);
      const out = path.join(cache, `ves-${workers}.${codec}.mkv`);
      const run = await measure(async () => {
        const jobId = await client.submit('vpipe.ves.encode', { source: { uri: source }, recipe: RECIPE, output: { uri: out }, validate: false });
        const ev = await client.waitForResult('ves', jobId, { timeoutMs: 3_600_000 });
        if (ev.state !== 'succeeded') throw new Error(JSON.stringify(ev.error));
        return ev.result as EncodeResult;
      });
      await client.close();
      await node.stop(1_000);
      rows.push({ run: `VES chunked (${workers} encoder actor${workers > 1 ? 's' : ''}, ${shape.cpus} threads each)`, workers, wallSeconds: run.wallSeconds, cpuSeconds: run.cpuSeconds, bytes: run.value.output.sizeBytes, psnr: await psnr(out, source), chunks: run.value.chunks });
      process.stderr.write(`VES ×${workers}: ${run.wallSeconds.toFixed(1)} s\n`);
    }
  } finally {
    await server.stop();
  }

  const b = rows[0]!;
  process.stdout.write(`\nVES vs ffmpeg — ${codec}, ${seconds} s of 720p25, crf ${values.crf}, ${os.availableParallelism()} cores\n\n`);
  process.stdout.write(
    `${table(
      ['run', 'chunks', 'wall s', 'cpu s', 'bytes', 'PSNR dB', 'wall ×ffmpeg', 'cpu ×ffmpeg', 'bytes ×ffmpeg'],
      rows.map((r) => [r.run, r.chunks ?? '-', r.wallSeconds, r.cpuSeconds, r.bytes, r.psnr, r.wallSeconds / b.wallSeconds, r.cpuSeconds / b.cpuSeconds, r.bytes / b.bytes]),
    )}\n`,
  );
  const file = writeResult('ves-vs-ffmpeg', { codec, seconds, recipe: RECIPE, rows });
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

runMain(main);
