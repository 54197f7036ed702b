/**
 * The whole streaming job against plain ffmpeg, in the same invocation
 * (these machines are noisy): a 60 s 1080p25 source through vpipe's streaming
 * orchestrator (VIS, per-title ladder by CAS/LGS with VMAF, VES per rung,
 * VQS per rung, R128 audio, packaging), with its per-stage split, then the
 * same ladder encoded by one plain ffmpeg run per rung, one after another
 * (the same encoder arguments VES gives a chunk, whole-machine threads).
 * Prints a table and writes JSON.
 *
 *   npm run bench:streaming -- [--seconds 60] [--height 1080] [--fixed] [--encoders 2] [--rounds 1]
 *   npm run bench:streaming -- --report bench/.cache/streaming-out-1/report.json   (the baseline alone, for a finished job)
 *
 * Each round runs vpipe on a fresh nats-server (nothing cached: frame index,
 * complexity analysis), then the baseline for that round's ladder; ratios
 * are paired within a round.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encoderFor } from '../encoders/index.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import { rootLogger } from '../runtime/core/mod.js';
import { runTool } from '../runtime/media/mod.js';
import { REPO_ROOT, startNatsServer } from '../runtime/nats/mod.js';
import { startNode } from '../app/node.js';
import type { StreamingReport, StreamingResult } from '../schemas/streaming.js';
import { measure, processCpuSeconds, runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    height: { type: 'string', default: '1080' },
    fixed: { type: 'boolean', default: false },
    encoders: { type: 'string', default: String(Math.max(1, Math.floor(os.availableParallelism() / 2))) },
    rounds: { type: 'string', default: '1' },
    report: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const height = Number(values.height);
const width = Math.round((height * 16) / 9 / 2) * 2;
rootLogger.level = process.env.LOG_LEVEL ?? 'warn';
const t0 = performance.now();

/** Texture and motion (a moving fractal over panning grain, temporal noise) with a stereo programme tone: not a static pattern. */
async function makeSource(dir: string): Promise<string> {
  const file = path.join(dir, `streaming-${width}x${height}p25-${seconds}s.mp4`);
  if (fs.existsSync(file)) return file;
  const graph =
    `sierpinski=s=${width}x${height}:r=25:type=triangle:jump=80,format=yuv420p[a];` +
    `color=c=gray:s=${width}x${height}:r=25,noise=alls=90:allf=u,gblur=sigma=2,scroll=h=0.0015:v=0.0007,format=yuv420p[b];` +
    '[a][b]blend=all_mode=average,noise=alls=4:allf=t,format=yuv420p';
  process.stderr.write(`generating ${seconds} s of ${width}x${height}p25 at ${file} …\n`);
  const r = await runTool('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', graph, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000,volume=0.1,aformat=channel_layouts=stereo`,
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-g', '50', '-c:a', 'aac', '-b:a', '192k', '-y', `${file}.part.mp4`,
  ], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(r.stderr);
  fs.renameSync(`${file}.part.mp4`, file);
  return file;
}

interface VpipeRun {
  wallSeconds: number;
  /** This process and the ffmpeg/ffprobe it ran (waited-for children), and the nats-server's. */
  cpuSeconds: number;
  natsCpuSeconds: number;
  report: StreamingReport;
}

async function vpipeRun(source: string, cache: string, round: number): Promise<VpipeRun> {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  try {
    const node = await startNode({ natsUrl: server.url, mediaRoot: cache, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow', 'encoder'], encoderActors: Number(values.encoders), concurrency: 8 });
    const client = await VpipeClient.connect(server.url);
    const natsCpu0 = processCpuSeconds(server.pid()!);
    try {
      const out = path.join(cache, `streaming-out-${round}`);
      fs.rmSync(out, { recursive: true, force: true });
      const run = await measure(async () => {
        const jobId = await client.submit('vpipe.streaming.submit', { source: { uri: source }, output: { uri: `${out}/` }, ladder: { mode: values.fixed ? 'fixed' : 'per-title' } });
        let last = '';
        const ev = await client.waitForResult('streaming', jobId, {
          timeoutMs: 6 * 3_600_000,
          onProgress: (p) => {
            if (p.step !== last) process.stderr.write(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${p.step}\n`);
            last = p.step;
          },
        });
        if (ev.state !== 'succeeded') throw new Error(JSON.stringify(ev.error));
        return JSON.parse(fs.readFileSync(new URL((ev.result as StreamingResult).report.uri), 'utf8')) as StreamingReport;
      });
      return { wallSeconds: run.wallSeconds, cpuSeconds: run.cpuSeconds, natsCpuSeconds: processCpuSeconds(server.pid()!) - natsCpu0, report: run.value };
    } finally {
      await client.close();
      await node.stop(1_000);
    }
  } finally {
    await server.stop();
  }
}

/** The report's ladder, each rung one plain ffmpeg run after the other, with the arguments VES gives a chunk. */
async function baseline(source: string, cache: string, report: StreamingReport): Promise<{ wallSeconds: number; cpuSeconds: number; rungs: { id: string; wallSeconds: number; kbps: number }[] }> {
  const rungs: { id: string; wallSeconds: number; kbps: number }[] = [];
  const all = await measure(async () => {
    for (const r of report.rungs) {
      const spec = {
        recipe: r.recipe,
        frameRate: { num: Math.round(report.source.frameRate * 1000), den: 1000 },
        width: r.width,
        height: r.height,
        sourceWidth: report.source.width,
        sourceHeight: report.source.height,
        threads: os.availableParallelism(),
      };
      const out = path.join(cache, `baseline-${r.id}.mp4`);
      const one = await measure(() => runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', source, '-map', '0:v:0', ...encoderFor(r.codec).videoArgs(spec), '-y', out], { timeoutMs: 3_600_000 }));
      if (one.value.code !== 0) throw new Error(one.value.stderr);
      rungs.push({ id: r.id, wallSeconds: one.wallSeconds, kbps: (fs.statSync(out).size * 8) / 1000 / report.source.durationSeconds });
      fs.rmSync(out);
    }
  });
  return { wallSeconds: all.wallSeconds, cpuSeconds: all.cpuSeconds, rungs };
}

async function main(): Promise<void> {
  const cache = path.join(REPO_ROOT, 'bench/.cache');
  fs.mkdirSync(cache, { recursive: true });
  const source = await makeSource(cache);
  if (values.report) return baselineOnly(source, cache, JSON.parse(fs.readFileSync(values.report, 'utf8')) as StreamingReport);
  const rounds: { round: number; vpipe: VpipeRun; baseline: Awaited<ReturnType<typeof baseline>> }[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    process.stderr.write(`round ${round}: vpipe streaming job (${values.fixed ? 'fixed' : 'per-title'} ladder, ${values.encoders} encoder actors)\n`);
    const v = await vpipeRun(source, cache, round);
    process.stderr.write(`round ${round}: ${v.wallSeconds.toFixed(1)} s; baseline (${v.report.rungs.length} plain ffmpeg runs)\n`);
    rounds.push({ round, vpipe: v, baseline: await baseline(source, cache, v.report) });
  }
  const rows: (string | number)[][] = [];
  for (const { round, vpipe, baseline: b } of rounds) {
    const t = vpipe.report.timings;
    for (const [stage, s] of Object.entries(t)) if (stage !== 'total') rows.push([round, `vpipe: ${stage}`, s, '', (s / b.wallSeconds).toFixed(3)]);
    rows.push([round, 'vpipe: whole job', vpipe.wallSeconds, vpipe.cpuSeconds + vpipe.natsCpuSeconds, (vpipe.wallSeconds / b.wallSeconds).toFixed(3)]);
    rows.push([round, `ffmpeg: ${b.rungs.length} rungs, sequential`, b.wallSeconds, b.cpuSeconds, '1.000']);
  }
  const last = rounds.at(-1)!;
  process.stdout.write(`\nstreaming job vs plain ffmpeg — ${seconds} s of ${width}x${height}p25, ${values.fixed ? 'fixed' : 'per-title'} ladder, ${os.availableParallelism()} cores, ${values.encoders} encoder actors\n\n`);
  process.stdout.write(`${table(['round', 'run', 'wall s', 'cpu s', 'wall × ffmpeg ladder (paired)'], rows)}\n\n`);
  process.stdout.write(`${table(['rung', 'size', 'kb/s', 'VMAF', 'BANDWIDTH', 'AVERAGE-BANDWIDTH', 'VES encode s', 'plain ffmpeg s'], last.vpipe.report.rungs.map((r) => [r.id, `${r.width}x${r.height}`, r.kbps, r.vmaf ?? NaN, r.bandwidth, r.averageBandwidth, r.encode.encodeSeconds, last.baseline.rungs.find((x) => x.id === r.id)?.wallSeconds ?? NaN]))}\n`);
  const file = writeResult('streaming', {
    config: { seconds, width, height, ladder: values.fixed ? 'fixed' : 'per-title', encoders: Number(values.encoders) },
    rounds: rounds.map((r) => ({ round: r.round, vpipe: { wallSeconds: r.vpipe.wallSeconds, cpuSeconds: r.vpipe.cpuSeconds, natsCpuSeconds: r.vpipe.natsCpuSeconds, timings: r.vpipe.report.timings, rungs: r.vpipe.report.rungs }, baseline: r.baseline, ratio: r.vpipe.wallSeconds / r.baseline.wallSeconds })),
  });
  process.stdout.write(`\nwritten ${file}\n`);
}

/**
 * The baseline for a job that already ran (its report), in its own invocation: not paired, so the
 * ratio is only as good as the machine was quiet; printed and written like a round.
 */
async function baselineOnly(source: string, cache: string, report: StreamingReport): Promise<void> {
  const b = await baseline(source, cache, report);
  const t = report.timings;
  const rows: (string | number)[][] = Object.entries(t).map(([stage, s]) => [`vpipe: ${stage} (from the report)`, s, (s / b.wallSeconds).toFixed(3)]);
  rows.push([`ffmpeg: ${b.rungs.length} rungs, sequential`, b.wallSeconds, '1.000']);
  process.stdout.write(`\nstreaming job (report ${report.jobId}) vs plain ffmpeg, baseline in a separate invocation\n\n${table(['run', 'wall s', 'wall × ffmpeg ladder'], rows)}\n\n`);
  process.stdout.write(`${table(['rung', 'size', 'kb/s', 'VMAF', 'VES encode s', 'plain ffmpeg s', 'plain kb/s'], report.rungs.map((r) => { const x = b.rungs.find((y) => y.id === r.id); return [r.id, `${r.width}x${r.height}`, r.kbps, r.vmaf ?? NaN, r.encode.encodeSeconds, x?.wallSeconds ?? NaN, x?.kbps ?? NaN]; }))}\n`);
  process.stdout.write(`\nwritten ${writeResult('streaming-baseline', { jobId: report.jobId, timings: t, baseline: b })}\n`);
}

runMain(main);
