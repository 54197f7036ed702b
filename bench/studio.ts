/**
 * The studio orchestrator against one plain ffmpeg run, paired, in the same invocation (these
 * machines are noisy). For each studio recipe, a studio job with a timecode burn-in (start
 * 01:00:00:00, a text row, the frame counter) on a fresh stack — fresh nats-server and data dir,
 * nothing cached: VIS inspection and frame index, VES chunked encode, VVS validation, assembly —
 * then the same work as ONE ffmpeg process over the whole file: the same scale and drawtext chain
 * (built by the same code VES uses per chunk, from frame 0), the same encoder arguments with
 * whole-machine threads, the recipe's audio options and container. Both outputs must have the same
 * number of video packets, or the bench fails: comparing different work proves nothing.
 *
 *   npm run bench:studio -- [--seconds 120] [--recipes proxy-h264-1080p,prores-proxy] [--rounds 1] [--encoders <cores>]
 *
 * Which run goes first alternates per round and per recipe (round 1: the first recipe starts with
 * vpipe, the second with plain ffmpeg). CPU seconds are this process and its waited-for children
 * (every ffmpeg/ffprobe) plus, for vpipe, the nats-server's. Per vpipe run the table of where the
 * time went comes from the progress and result events every job of the stack published (VIS, VES,
 * VVS, studio), in seconds since submit (VES's first `encoding` event is its first finished chunk). The source (1920x1080p25 with texture and motion, stereo
 * tone) is generated once into bench/.cache/. Writes bench/results/studio-<timestamp>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { STUDIO_RECIPES, fitSize } from '../actors/studio/recipes.js';
import { vesRecipe } from '../actors/studio/steps.js';
import type { SubmitInput } from '../actors/studio/workflow.js';
import { audioArgs } from '../actors/ves/compute/assemble.js';
import { splitVideoFilter } from '../actors/ves/compute/encode-chunk.js';
import { burnInOf } from '../actors/ves/compute/overlays.js';
import { probeSource } from '../actors/ves/compute/source-frames.js';
import { startNode } from '../app/node.js';
import { drawtextFilters } from '../encoders/burn-in/index.js';
import { encoderFor } from '../encoders/index.js';
import { rootLogger } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import { inputArgs, runTool, toolVersion } from '../runtime/media/mod.js';
import { REPO_ROOT, decodePayload, startNatsServer } from '../runtime/nats/mod.js';
import type { ProgressEvent } from '../schemas/api.js';
import type { EncodeResult } from '../schemas/ves.js';
import { STUDIO_RECIPE_NAMES, type StudioRecipeName, type StudioResult } from '../schemas/studio.js';
import { cached } from '../test/helpers/media.js';
import { measure, processCpuSeconds, runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    recipes: { type: 'string', default: 'proxy-h264-1080p,prores-proxy' },
    rounds: { type: 'string', default: '1' },
    encoders: { type: 'string', default: String(os.availableParallelism()) },
  },
});
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
const encoders = Number(values.encoders);
const recipes = values.recipes.split(',').map((r) => r.trim()) as StudioRecipeName[];
for (const r of recipes) if (!STUDIO_RECIPE_NAMES.includes(r)) throw new Error(`--recipes: unknown recipe ${r}; one of ${STUDIO_RECIPE_NAMES.join(', ')}`);
const BURN_IN = { timecode: { start: '01:00:00:00' }, text: ['vpipe bench: studio vs plain ffmpeg'], frameCounter: true };
const HOUR_MS = 3_600_000;
rootLogger.level = process.env.LOG_LEVEL ?? 'warn';

/** The streaming bench's picture (a moving fractal over panning grain, temporal noise) at 1920x1080p25, with a stereo tone. */
function makeSource(dir: string): Promise<string> {
  return cached(dir, `studio-1920x1080p25-${seconds}s.mp4`, async (tmp) => {
    process.stderr.write(`generating ${seconds} s of 1920x1080p25 into ${dir} …\n`);
    const size = 's=1920x1080:r=25';
    const picture = `sierpinski=${size}:type=triangle:jump=80,format=yuv420p[a];color=c=gray:${size},noise=alls=90:allf=u,gblur=sigma=2,scroll=h=0.0015:v=0.0007,format=yuv420p[b];[a][b]blend=all_mode=average,noise=alls=4:allf=t,format=yuv420p`;
    const tone = 'sine=frequency=440:sample_rate=48000,volume=0.1,aformat=channel_layouts=stereo';
    const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', picture, '-f', 'lavfi', '-i', tone, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-g', '50', '-c:a', 'aac', '-b:a', '192k', '-f', 'mp4', '-y', tmp], { timeoutMs: HOUR_MS });
    if (r.code !== 0) throw new Error(r.stderr);
  });
}

/** Video packets of a file (ffprobe -count_packets: a demux pass, no decode). */
async function packets(file: string): Promise<number> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', ...inputArgs(file)], { timeoutMs: HOUR_MS });
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return Number.parseInt(r.stdout.trim(), 10);
}

/** What a run measured; `frames` is the output's video packet count. */
interface Run {
  wallSeconds: number;
  cpuSeconds: number;
  frames: number;
  output: string;
}

interface VpipeRun extends Run {
  natsCpuSeconds: number;
  result: StudioResult;
  ves: EncodeResult[];
  /** Per service and step (or `result`), first and last event in seconds since submit. */
  timeline: { service: string; step: string; first: number; last: number; events: number }[];
}

/** Records every job event of the stack (progress and results, all services) by service and step. */
function recordEvents(client: VpipeClient, t0: number): () => VpipeRun['timeline'] {
  const seen = new Map<string, VpipeRun['timeline'][number]>();
  const sub = client.nc.subscribe('vpipe.evt.>', {
    callback: (err, m) => {
      if (err) return;
      const t = (performance.now() - t0) / 1000;
      const service = m.subject.split('.')[2]!;
      let step = 'result';
      if (m.subject.endsWith('.progress')) {
        try {
          step = (decodePayload(m.data, m.headers?.get('Content-Type')?.includes('json') ? 'json' : 'msgpack', Number.MAX_SAFE_INTEGER) as ProgressEvent).step;
        } catch {
          step = '?';
        }
      }
      const e = seen.get(`${service} ${step}`) ?? { service, step, first: t, last: t, events: 0 };
      seen.set(`${service} ${step}`, { ...e, last: t, events: e.events + 1 });
    },
  });
  return () => {
    sub.unsubscribe();
    return [...seen.values()].sort((a, b) => a.first - b.first);
  };
}

/** One studio job on a fresh nats-server and data dir (no frame index, nothing cached). */
async function vpipeRun(source: string, cache: string, recipe: StudioRecipeName, out: string): Promise<VpipeRun> {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  try {
    const node = await startNode({ natsUrl: server.url, mediaRoot: cache, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow', 'encoder'], encoderActors: encoders, concurrency: 8 });
    const client = await VpipeClient.connect(server.url);
    const natsCpu0 = processCpuSeconds(server.pid()!);
    try {
      const timeline = recordEvents(client, performance.now());
      const run = await measure(async () => {
        const jobId = await client.submit('vpipe.studio.submit', { source: { uri: source }, output: { uri: out }, recipe, burnIn: BURN_IN, priority: 'high' });
        const ev = await client.waitForResult('studio', jobId, { timeoutMs: 6 * HOUR_MS });
        if (ev.state !== 'succeeded') throw new Error(`studio job ${jobId} ${ev.state}: ${JSON.stringify(ev.error)}`);
        return ev.result as StudioResult;
      });
      const natsCpuSeconds = processCpuSeconds(server.pid()!) - natsCpu0;
      const ves = await Promise.all(run.value.ves.map(async (v) => (await client.waitForResult('ves', v.jobId)).result as EncodeResult));
      return { wallSeconds: run.wallSeconds, cpuSeconds: run.cpuSeconds + natsCpuSeconds, natsCpuSeconds, frames: await packets(out), output: out, result: run.value, ves, timeline: timeline() };
    } finally {
      await client.close();
      await node.stop(1_000);
    }
  } finally {
    await server.stop();
  }
}

/** The studio's work as one ffmpeg process: the same filter chain and encoder arguments VES gives a chunk, from frame 0, whole-machine threads. */
async function plainArgs(source: string, recipe: StudioRecipeName, out: string, workDir: string): Promise<{ args: string[]; filter: string }> {
  const head = await probeSource(source);
  const def = STUDIO_RECIPES[recipe];
  const job: SubmitInput = { kind: 'submit', sourceUri: source, sourcePath: source, outputUri: out, outputPath: out, recipe, burnIn: BURN_IN, overrideIssues: [], priority: 'high', admittedAt: Date.now() };
  const ves = vesRecipe(job, head);
  const { width, height } = fitSize(head, def.box);
  const enc = encoderFor(ves.codec);
  const spec = { recipe: ves, frameRate: head.frameRate, width, height, sourceWidth: head.width, sourceHeight: head.height, threads: os.availableParallelism(), timecodeStart: BURN_IN.timecode.start };
  const { chain, rest } = splitVideoFilter(enc.videoArgs(spec));
  const burnIn = burnInOf(ves, spec);
  const drawn = burnIn ? await drawtextFilters(burnIn, { startFrame: 0, frameHeight: height }, workDir) : null;
  const filter = [chain, drawn?.filter].filter(Boolean).join(',');
  // The assembler takes audio from input 1 (the source again); a single pass has it as input 0.
  const audio = audioArgs(ves.audio).map((a) => (a === '1:a:0?' ? '0:a:0' : a));
  const tag = def.container === 'mp4' && enc.mp4Tag ? ['-tag:v', enc.mp4Tag] : [];
  return {
    filter,
    args: ['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputArgs(source), '-map', '0:v:0', ...(filter ? ['-vf', filter] : []), ...rest, ...tag, ...audio, '-movflags', '+faststart', '-f', def.container, '-y', out],
  };
}

async function plainRun(source: string, cache: string, recipe: StudioRecipeName, out: string): Promise<Run & { filter: string }> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-plain-'));
  try {
    const { args, filter } = await plainArgs(source, recipe, out, workDir);
    const run = await measure(() => runTool('ffmpeg', args, { timeoutMs: 6 * HOUR_MS }));
    if (run.value.code !== 0) throw new Error(`plain ffmpeg failed: ${run.value.stderr}`);
    return { wallSeconds: run.wallSeconds, cpuSeconds: run.cpuSeconds, frames: await packets(out), output: out, filter };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

async function main(): Promise<void> {
  const cache = path.join(REPO_ROOT, 'bench/.cache');
  const source = await makeSource(cache);
  const sourceFrames = await packets(source);
  const pairs: { recipe: StudioRecipeName; round: number; first: 'vpipe' | 'plain'; vpipe: VpipeRun; plain: Run & { filter: string }; ratio: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [i, recipe] of recipes.entries()) {
      const ext = STUDIO_RECIPES[recipe].container;
      const first = (round + i) % 2 === 1 ? 'vpipe' : 'plain';
      const doVpipe = () => vpipeRun(source, cache, recipe, path.join(cache, `studio-out-${recipe}.${ext}`));
      const doPlain = () => plainRun(source, cache, recipe, path.join(cache, `studio-plain-${recipe}.${ext}`));
      process.stderr.write(`round ${round}, ${recipe}: ${first} first\n`);
      let vpipe: VpipeRun;
      let plain: Awaited<ReturnType<typeof doPlain>>;
      if (first === 'vpipe') {
        vpipe = await doVpipe();
        plain = await doPlain();
      } else {
        plain = await doPlain();
        vpipe = await doVpipe();
      }
      if (vpipe.frames !== plain.frames || vpipe.frames !== sourceFrames) {
        throw new Error(`${recipe}, round ${round}: different work: vpipe's output has ${vpipe.frames} video packets, plain ffmpeg's ${plain.frames}, the source ${sourceFrames}`);
      }
      const ratio = vpipe.wallSeconds / plain.wallSeconds;
      process.stderr.write(`round ${round}, ${recipe}: vpipe ${vpipe.wallSeconds.toFixed(1)} s, plain ${plain.wallSeconds.toFixed(1)} s (${ratio.toFixed(2)}×)\n`);
      pairs.push({ recipe, round, first, vpipe, plain, ratio });
      for (const f of [vpipe.output, plain.output]) fs.rmSync(f, { force: true });
    }
  }

  const cores = os.availableParallelism();
  process.stdout.write(`\nstudio job vs one plain ffmpeg run — ${seconds} s of 1920x1080p25 (${sourceFrames} frames), timecode + text + frame counter burn-in, ${cores} cores, ${encoders} encoder actors, ${rounds} paired round(s)\n\n`);
  const rows = pairs.map((p) => [p.recipe, `${p.round} (${p.first} first)`, p.vpipe.wallSeconds, p.plain.wallSeconds, p.ratio.toFixed(3), p.vpipe.cpuSeconds, p.plain.cpuSeconds, p.vpipe.result.ves.map((v) => v.chunks).join('+'), p.vpipe.frames]);
  process.stdout.write(`${table(['recipe', 'round', 'vpipe s', 'plain s', 'ratio', 'vpipe CPU s', 'plain CPU s', 'chunks', 'frames'], rows)}\n\n`);
  const medians = recipes.map((r) => [r, median(pairs.filter((p) => p.recipe === r).map((p) => p.ratio)).toFixed(3)]);
  process.stdout.write(`${table(['recipe', 'median ratio vpipe/plain'], medians)}\n`);
  for (const p of pairs) {
    const s = p.vpipe.result.seconds;
    const v = p.vpipe.ves[0];
    process.stdout.write(`\n${p.recipe}, round ${p.round}: studio inspect ${s.inspect} s, encode ${s.encode} s (VES chunk stage ${v?.encodeSeconds.toFixed(1) ?? '?'} s, parallelism ${v?.parallelism.toFixed(2) ?? '?'}; the rest is VES planning, assembly and VVS validation), total ${s.total} s; events since submit:\n`);
    process.stdout.write(`${table(['service', 'step', 'first s', 'last s', 'events'], p.vpipe.timeline.map((e) => [e.service, e.step, e.first, e.last, e.events]))}\n`);
  }
  const file = writeResult('studio', {
    ffmpeg: await toolVersion('ffmpeg'),
    settings: { seconds, recipes, rounds, encoders, cores, burnIn: BURN_IN, sourceFrames },
    pairs: pairs.map((p) => ({
      recipe: p.recipe,
      round: p.round,
      first: p.first,
      ratio: p.ratio,
      vpipe: { wallSeconds: p.vpipe.wallSeconds, cpuSeconds: p.vpipe.cpuSeconds, natsCpuSeconds: p.vpipe.natsCpuSeconds, frames: p.vpipe.frames, studio: p.vpipe.result, ves: p.vpipe.ves, timeline: p.vpipe.timeline },
      plain: { wallSeconds: p.plain.wallSeconds, cpuSeconds: p.plain.cpuSeconds, frames: p.plain.frames, filter: p.plain.filter },
    })),
    medianRatio: Object.fromEntries(medians),
  });
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

runMain(main);
