/**
 * Chunked VES vs one plain ffmpeg run, same source, codec and settings, in
 * the same run (these machines are noisy). Prints a table and writes JSON.
 *
 *   npm run bench:ves -- [--seconds 120] [--workers 1,2] [--codec h264] [--chunk 10] [--rounds 2] [--validate]
 *
 * Each round runs the baseline, then the frame index alone (one VIS
 * inspection), then VES with each worker count on a fresh nats-server (so
 * the index is built inside the job, as for a new title) and once more on
 * the same stack (the index is found by content hash, as for every later
 * rung or re-encode of that title); each run's wall time is divided by its
 * own round's baseline (paired).
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
import { VpipeClient } from '../runtime/jobs/mod.js';
import { rootLogger } from '../runtime/core/mod.js';
import { runTool } from '../runtime/media/mod.js';
import { REPO_ROOT, startNatsServer } from '../runtime/nats/mod.js';
import { startNode } from '../app/node.js';
import type { Codec, EncodeResult, Recipe } from '../schemas/ves.js';
import { measure, runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    workers: { type: 'string', default: '1,2' },
    codec: { type: 'string', default: 'h264' },
    chunk: { type: 'string', default: '10' },
    crf: { type: 'string', default: '23' },
    rounds: { type: 'string', default: '2' },
    validate: { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const validate = values.validate;
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

interface Row {
  run: string;
  round: number;
  workers: number | null;
  wallSeconds: number;
  cpuSeconds: number;
  bytes: number;
  psnr: number;
  chunks: number | null;
  /** This run's wall time over the baseline run just before it (same round). */
  ratio: number | null;
}

/** One VES job on a fresh nats-server (so the source's frame index is built from scratch, as for a new title). */
async function vesRun(source: string, cache: string, workers: number, out: string, validate: boolean): Promise<{ wallSeconds: number; cpuSeconds: number; result: EncodeResult; again: { wallSeconds: number; cpuSeconds: number } }> {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  try {
    const node = await startNode({ natsUrl: server.url, mediaRoot: cache, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow', 'encoder'], encoderActors: workers });
    const client = await VpipeClient.connect(server.url);
    const job = () =>
      measure(async () => {
        const jobId = await client.submit('vpipe.ves.encode', { source: { uri: source }, recipe: RECIPE, output: { uri: out }, validate });
        const ev = await client.waitForResult('ves', jobId, { timeoutMs: 3_600_000 });
        if (ev.state !== 'succeeded') throw new Error(JSON.stringify(ev.error));
        return ev.result as EncodeResult;
      });
    try {
      const run = await job();
      // The same title again on the same stack: its frame index is found by content hash, not rebuilt.
      const again = await job();
      return { wallSeconds: run.wallSeconds, cpuSeconds: run.cpuSeconds, result: run.value, again: { wallSeconds: again.wallSeconds, cpuSeconds: again.cpuSeconds } };
    } finally {
      await client.close();
      await node.stop(1_000);
    }
  } finally {
    await server.stop();
  }
}

/** The frame index alone: one VIS inspection (full decode, seek checks, content hash) on a fresh server. */
async function indexRun(source: string, cache: string): Promise<{ wallSeconds: number; stats: unknown }> {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  try {
    const node = await startNode({ natsUrl: server.url, mediaRoot: cache, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow'] });
    const client = await VpipeClient.connect(server.url);
    try {
      const run = await measure(async () => {
        const jobId = await client.submit('vpipe.vis.inspect', { source: { uri: source } });
        const ev = await client.waitForResult('vis', jobId, { timeoutMs: 3_600_000 });
        if (ev.state !== 'succeeded') throw new Error(JSON.stringify(ev.error));
        return ev.result as { frameIndex?: { stats: unknown } };
      });
      return { wallSeconds: run.wallSeconds, stats: run.value.frameIndex?.stats };
    } finally {
      await client.close();
      await node.stop(1_000);
    }
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : NaN;
};

async function main(): Promise<void> {
  const cache = path.join(REPO_ROOT, 'bench/.cache');
  fs.mkdirSync(cache, { recursive: true });
  const source = await makeSource(cache);
  const enc = encoderFor(codec);
  const shape = shapeFor(codec, 1280, 720);
  const spec = { recipe: RECIPE, frameRate: { num: 25, den: 1 }, width: 1280, height: 720, sourceWidth: 1280, sourceHeight: 720, threads: os.availableParallelism() };
  const rows: Row[] = [];
  const workerList = values.workers.split(',').map(Number);
  const indexes: { wallSeconds: number; ratio: number; stats: unknown }[] = [];

  for (let round = 1; round <= rounds; round++) {
    // Baseline: one ffmpeg process, the same encoder arguments, threads for the whole machine.
    const baselineOut = path.join(cache, `baseline.${codec}.mkv`);
    const base = await measure(() =>
      runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', source, '-map', '0:v:0', ...enc.videoArgs(spec), '-f', 'matroska', '-y', baselineOut], { timeoutMs: 3_600_000 }),
    );
    if (base.value.code !== 0) throw new Error(base.value.stderr);
    rows.push({ run: 'ffmpeg (one process)', round, workers: null, wallSeconds: base.wallSeconds, cpuSeconds: base.cpuSeconds, bytes: fs.statSync(baselineOut).size, psnr: await psnr(baselineOut, source), chunks: null, ratio: 1 });
    process.stderr.write(`round ${round} baseline: ${base.wallSeconds.toFixed(1)} s\n`);
    // The index alone, against the same baseline (it is part of every VES run below, built from scratch).
    const ix = await indexRun(source, cache);
    indexes.push({ wallSeconds: ix.wallSeconds, ratio: ix.wallSeconds / base.wallSeconds, stats: ix.stats });
    process.stderr.write(`round ${round} frame index: ${ix.wallSeconds.toFixed(1)} s\n`);
    for (const workers of workerList) {
      const out = path.join(cache, `ves-${workers}.${codec}.mkv`);
      const r = await vesRun(source, cache, workers, out, validate);
      rows.push({
        run: `VES chunked (${workers} encoder actor${workers > 1 ? 's' : ''}, ${shape.cpus} threads each)`,
        round,
        workers,
        wallSeconds: r.wallSeconds,
        cpuSeconds: r.cpuSeconds,
        bytes: r.result.output.sizeBytes,
        psnr: await psnr(out, source),
        chunks: r.result.chunks,
        ratio: r.wallSeconds / base.wallSeconds,
      });
      rows.push({
        run: `VES chunked (${workers} encoder actor${workers > 1 ? 's' : ''}), index already built`,
        round,
        workers: -workers,
        wallSeconds: r.again.wallSeconds,
        cpuSeconds: r.again.cpuSeconds,
        bytes: r.result.output.sizeBytes,
        psnr: NaN,
        chunks: r.result.chunks,
        ratio: r.again.wallSeconds / base.wallSeconds,
      });
      process.stderr.write(`round ${round} VES ×${workers}: ${r.wallSeconds.toFixed(1)} s (${(r.wallSeconds / base.wallSeconds).toFixed(3)}× the baseline); index reused: ${r.again.wallSeconds.toFixed(1)} s\n`);
    }
  }

  process.stdout.write(`\nVES vs ffmpeg — ${codec}, ${seconds} s of 720p25, crf ${values.crf}, ${os.availableParallelism()} cores, ${rounds} paired round(s), validation ${validate ? 'on' : 'off'}\n\n`);
  process.stdout.write(
    `${table(
      ['run', 'round', 'chunks', 'wall s', 'cpu s', 'bytes', 'PSNR dB', 'wall ×ffmpeg (paired)'],
      rows.map((r) => [r.run, r.round, r.chunks ?? '-', r.wallSeconds, r.cpuSeconds, r.bytes, Number.isNaN(r.psnr) ? '-' : r.psnr, r.ratio ?? '-']),
    )}\n\n`,
  );
  const summary = workerList.flatMap((w) =>
    [w, -w].map((key) => {
      const ratios = rows.filter((r) => r.workers === key).map((r) => r.ratio!);
      return [`VES ×${w}${key < 0 ? ', index already built' : ', index built in the job'}`, median(ratios), Math.min(...ratios), Math.max(...ratios)];
    }),
  );
  summary.push(['frame index alone (VIS)', median(indexes.map((i) => i.ratio)), Math.min(...indexes.map((i) => i.ratio)), Math.max(...indexes.map((i) => i.ratio))]);
  process.stdout.write(`${table(['what', 'median × ffmpeg wall', 'min', 'max'], summary)}\n`);
  const file = writeResult('ves-vs-ffmpeg', { codec, seconds, rounds, validate, recipe: RECIPE, rows, indexes });
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

runMain(main);
