/**
 * Per-title ladders vs the Apple HLS authoring spec's fixed H.264 ladder, on
 * six sources of very different complexity — three generated (flat,
 * animation-like; talking-head-like; high motion with grain) and three real
 * files from the test corpus — in the same run. Both ladders are actually
 * encoded by VES and measured by VQS with the same VMAF setup; the saving is
 * the Bjøntegaard delta rate (piecewise cubic) of the per-title ladder's
 * measured (kbps, VMAF) points against the fixed ladder's. The analysis cost
 * (CAS's trial encodes and measurements) is reported as a multiple of one
 * plain ffmpeg encode of the title, timed in the same run. Both ladders use
 * the same encoder preset (CAS's trial preset, `veryfast`), GOP (IDR every
 * 2 s, closed) and VBV policy (peak 1.5 × the rung's bitrate): the per-title
 * rungs as capped CRF, the fixed rungs as their target bitrates.
 *
 *   npm run bench:ladder -- [--seconds 5] [--sources flat,talking,grain,balle,megamind,vtest,movie] [--compare-at reference|model] [--min-kbps 50] [--preset veryfast]
 *
 * Prints a table and writes bench/results/ladder-<time>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startNode } from '../app/node.js';
import { APPLE_LADDER, bdRate, buildCurves, predictFixedLadder, type QualityPoint, vbvFor } from '../actors/lgs/compute/index.js';
import type { LadderResult } from '../schemas/lgs.js';
import { rootLogger } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import { runTool } from '../runtime/media/mod.js';
import { REPO_ROOT, startNatsServer } from '../runtime/nats/mod.js';
import type { EncodeResult, Recipe } from '../schemas/ves.js';
import { corpusFile } from '../test/corpus/manifest.js';
import { measure, runMain, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    sources: { type: 'string', default: 'flat,talking,grain,balle,megamind,vtest' },
    'compare-at': { type: 'string', default: 'reference' },
    /** The plain encode's preset (the baseline of the analysis cost); the ladders use CAS's. */
    preset: { type: 'string', default: 'veryfast' },
    'min-kbps': { type: 'string', default: '50' },
  },
});
const SECONDS = Number(values.seconds);
const COMPARE_AT = values['compare-at'] as 'model' | 'reference';
const PRESET = values.preset as NonNullable<Recipe['preset']>;
const MIN_KBPS = Number(values['min-kbps']);
rootLogger.level = process.env.LOG_LEVEL ?? 'warn';

interface Source {
  name: string;
  kind: 'generated' | 'real';
  what: string;
  /** Writes the title (lossless) to `out`. */
  make(out: string): string[];
}

/** x264 lossless 4:2:0: the title every encode and measurement starts from. */
const LOSSLESS = ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-an'];

const SOURCES: Source[] = [
  {
    name: 'flat',
    kind: 'generated',
    what: 'flat, animation-like: testsrc2 (flat colour fields, sharp edges, simple motion)',
    make: (out) => ['-f', 'lavfi', '-i', `testsrc2=s=1280x720:r=25:d=${SECONDS}`, ...LOSSLESS, out],
  },
  {
    name: 'talking',
    kind: 'generated',
    what: 'talking-head-like: a static soft-textured background, motion in a small central panel, light sensor noise',
    make: (out) => [
      '-f', 'lavfi', '-i', `color=c=0x6c5a48:s=1280x720:r=25:d=${SECONDS},noise=alls=30:allf=u,gblur=sigma=4,format=yuv420p[bg];` +
        `testsrc=s=360x480:r=25:d=${SECONDS},hue=s=0.4,gblur=sigma=1.2[fg];[bg][fg]overlay=x='460+24*sin(2*PI*t/3)':y='120+10*sin(2*PI*t/2)',noise=alls=6:allf=t,format=yuv420p`,
      ...LOSSLESS, out,
    ],
  },
  {
    name: 'grain',
    kind: 'generated',
    what: 'high motion with grain: a jumping Sierpinski fractal over a panning grain texture, temporal noise',
    make: (out) => [
      '-f', 'lavfi', '-i',
      `sierpinski=s=1280x720:r=25:type=triangle:jump=80,format=yuv420p[a];` +
        `color=c=gray:s=1920x1080:r=25,noise=alls=90:allf=u,gblur=sigma=2,scroll=h=0.0015:v=0.0007,crop=1280:720:0:0,format=yuv420p[b];` +
        `[a][b]blend=all_mode=average,noise=alls=4:allf=t,format=yuv420p`,
      '-t', String(SECONDS), ...LOSSLESS, out,
    ],
  },
  { name: 'movie', kind: 'real', what: 'example-movie.mp4 (texlive mwe; 1280x720 30 fps), from 20 s', make: (out) => ['-ss', '20', '-i', corpusFile('example-movie.mp4'), '-t', String(SECONDS), '-map', '0:v:0', ...LOSSLESS, out] },
  { name: 'balle', kind: 'real', what: 'balle-jbart.mp4 (python3-mecavideo; 720x576 25 fps camera footage of a thrown ball), from 0 s', make: (out) => ['-i', corpusFile('balle-jbart.mp4'), '-t', String(SECONDS), '-map', '0:v:0', ...LOSSLESS, out] },
  { name: 'megamind', kind: 'real', what: 'Megamind.avi (opencv-doc; 720x528 23.976 fps), from 0 s', make: (out) => ['-i', corpusFile('Megamind.avi'), '-t', String(SECONDS), '-map', '0:v:0', ...LOSSLESS, out] },
  { name: 'vtest', kind: 'real', what: 'vtest.avi (opencv-doc; 768x576 10 fps surveillance camera), from 20 s', make: (out) => ['-ss', '20', '-i', corpusFile('vtest.avi'), '-t', String(SECONDS), '-map', '0:v:0', ...LOSSLESS, out] },
];

interface Point {
  width: number;
  height: number;
  kbps: number;
  vmaf: number;
  targetKbps?: number;
  predictedVmaf?: number;
}

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

/** The Apple ladder capped at the source: rungs no taller than the source, widths from the source's aspect ratio. */
function fixedLadder(width: number, height: number): { width: number; height: number; kbps: number }[] {
  return APPLE_LADDER.filter((r) => r.height <= height).map((r) => ({ width: Math.min(width, even((r.height * width) / height)), height: r.height, kbps: r.kbps }));
}

async function probeSize(file: string): Promise<{ width: number; height: number }> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]);
  const [w, h] = r.stdout.trim().split(',').map(Number);
  return { width: w!, height: h! };
}

async function main(): Promise<void> {
  const work = path.join(REPO_ROOT, 'bench/.cache/ladder');
  fs.mkdirSync(work, { recursive: true });
  const chosen = SOURCES.filter((s) => values.sources.split(',').includes(s.name));
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-nats-')), logFile: '/dev/null' });
  const node = await startNode({ natsUrl: server.url, mediaRoot: work, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-')), roles: ['api', 'workflow', 'encoder'] });
  const client = await VpipeClient.connect(server.url);
  const job = async <T>(svc: string, subject: string, body: unknown): Promise<T> => {
    const jobId = await client.submit(subject, body);
    const ev = await client.waitForResult(svc, jobId, { timeoutMs: 3_600_000 });
    if (ev.state !== 'succeeded') throw new Error(`${subject} failed: ${JSON.stringify(ev.error)}`);
    return ev.result as T;
  };
  const vmafOf = async (reference: string, distorted: string): Promise<number> => {
    const r = await job<{ metrics: { vmaf: { mean: number } } }>('vqs', 'vpipe.vqs.measure', { reference: { uri: reference }, distorted: { uri: distorted }, metrics: ['vmaf'], compareAt: COMPARE_AT });
    return r.metrics.vmaf.mean;
  };
  const encode = async (title: string, out: string, recipe: Recipe): Promise<{ kbps: number }> => {
    const r = await job<EncodeResult>('ves', 'vpipe.ves.encode', { source: { uri: title }, output: { uri: out }, recipe, validate: false });
    return { kbps: r.output.bitrateKbps };
  };

  const rows: Record<string, unknown>[] = [];
  const failures: { source: string; error: string }[] = [];
  try {
    for (const s of chosen) {
      try {
        const title = path.join(work, `${s.name}-${SECONDS}s.mp4`);
        if (!fs.existsSync(title)) {
          const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...s.make(`${title}.part.mp4`)], { timeoutMs: 600_000 });
          if (r.code !== 0) throw new Error(`${s.name}: ${r.stderr}`);
          fs.renameSync(`${title}.part.mp4`, title);
        }
        const { width, height } = await probeSize(title);
        process.stderr.write(`${s.name}: ${width}x${height}, ${SECONDS} s\n`);

        // The baseline for the analysis cost: one plain ffmpeg encode of the title at its own size.
        const plainOut = path.join(work, `${s.name}.plain.mp4`);
        const plain = await measure(() => runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', title, '-c:v', 'libx264', '-preset', PRESET, '-crf', '23', '-an', plainOut], { timeoutMs: 600_000 }));

        // Per-title: LGS asks CAS (trial encodes through VES, measured by VQS), then walks the hull.
        const ladder = await measure(() =>
          job<LadderResult>(
            'lgs',
            'vpipe.lgs.ladder',
            // The floor sits below Apple's 145 kb/s so that easy titles, which reach the cap early, still get a ladder to compare.
            { source: { uri: title }, codec: 'h264', constraints: { maxHeight: height, minKbps: MIN_KBPS } },
          ),
        );
        const perTitle: Point[] = [];
        for (const [i, rung] of ladder.value.rungs.entries()) {
          const out = path.join(work, `${s.name}.pt${i}.mp4`);
          // As LGS made it: CAS's preset, the rung's CRF, capped at 1.5 × its predicted bitrate.
          const { kbps } = await encode(title, out, rung.recipe);
          perTitle.push({ width: rung.width, height: rung.height, kbps, vmaf: await vmafOf(title, out), targetKbps: rung.kbps, predictedVmaf: rung.predicted.vmaf! });
        }
        const fixed: Point[] = [];
        const preset = ladder.value.rungs[0]?.recipe.preset ?? PRESET;
        for (const [i, rung] of fixedLadder(width, height).entries()) {
          const out = path.join(work, `${s.name}.fx${i}.mp4`);
          const recipe: Recipe = {
            codec: 'h264',
            preset,
            resolution: { width: rung.width, height: rung.height },
            // The same VBV policy as the per-title rungs (peak 1.5 × the rung's bitrate, a 2 s buffer at the peak).
            rateControl: { mode: 'bitrate', targetKbps: rung.kbps, ...vbvFor(rung.kbps) },
            gop: { lengthSeconds: 2, closed: true, sceneCutKeyframes: false },
          } as Recipe;
          const { kbps } = await encode(title, out, recipe);
          fixed.push({ width: rung.width, height: rung.height, kbps, vmaf: await vmafOf(title, out), targetKbps: rung.kbps });
        }
        const bd = bdRate(
          fixed.map((p) => ({ kbps: p.kbps, quality: p.vmaf })),
          perTitle.map((p) => ({ kbps: p.kbps, quality: p.vmaf })),
        );
        // The same comparison on the title's own CRF curves (CAS's trials), both ladders predicted: this
      // separates the choice of (resolution, bitrate) points from the rate control (capped CRF vs target bitrate).
      const curvePoints = ladder.value.curves.flatMap((c) => c.points.map((p): QualityPoint => ({ width: c.width, height: c.height, crf: p.crf, kbps: p.kbps, quality: p.vmaf ?? NaN })));
      const fixedOnCurves = predictFixedLadder(buildCurves(curvePoints).curves, fixedLadder(width, height)).filter((f) => f.quality !== null);
      let bdOnCurves: number | null = null;
      try {
        bdOnCurves = bdRate(
          fixedOnCurves.map((f) => ({ kbps: f.kbps, quality: f.quality! })),
          ladder.value.rungs.map((g) => ({ kbps: g.kbps, quality: g.predicted.vmaf! })),
        );
      } catch {
        bdOnCurves = null;
      }
      const cost = ladder.value.analysis?.cost as { multiple?: number; trialEncodeSeconds?: number; measureSeconds?: number; sampleSeconds?: number } | undefined;
        const analysisSeconds = (cost?.trialEncodeSeconds ?? 0) + (cost?.measureSeconds ?? 0) + (cost?.sampleSeconds ?? 0);
        const row = {
          source: s.name,
          kind: s.kind,
          what: s.what,
          size: `${width}x${height}`,
          plainEncodeSeconds: plain.wallSeconds,
          ladderJobSeconds: ladder.wallSeconds,
          casWorkSeconds: analysisSeconds,
          // Wall time of the whole analysis (the LGS job: sample cut, trial encodes, VMAF, hull) over one plain encode's, same machine, same run.
          analysisCostMultiple: ladder.wallSeconds / plain.wallSeconds,
          analysisCached: ladder.value.analysis?.cached ?? null,
          casCostMultipleEstimate: cost?.multiple ?? null,
          fixed,
          perTitle,
          bdRatePercent: bd,
          bdRateOnCurvesPercent: bdOnCurves,
          fixedOnCurves,
          curves: ladder.value.curves,
          casCost: cost ?? null,
        };
        rows.push(row);
        process.stderr.write(`${s.name}: BD-rate ${bd.toFixed(1)} % (per-title vs fixed; ${bdOnCurves === null ? 'n/a' : bdOnCurves.toFixed(1)} % on the title's curves), analysis ${row.analysisCostMultiple.toFixed(1)}× a plain encode\n`);
      } catch (e) {
        // One source that cannot be compared (say, no quality overlap) is reported, not the end of the run.
        failures.push({ source: s.name, error: e instanceof Error ? e.message : String(e) });
        process.stderr.write(`${s.name}: FAILED ${failures.at(-1)!.error}\n`);
      }
    }
  } finally {
    await client.close();
    await node.stop(1_000);
    await server.stop();
  }

  const fmt = (ps: Point[]) => ps.map((p) => `${p.height}p@${Math.round(p.kbps)}:${p.vmaf.toFixed(1)}`).join(' ');
  const mean = rows.reduce((a, r) => a + (r.bdRatePercent as number), 0) / rows.length;
  process.stdout.write(`\nPer-title vs fixed (Apple HLS) H.264 ladder — ${SECONDS} s titles, preset ${PRESET}, VMAF vmaf_v0.6.1 compared at ${COMPARE_AT}, ${os.availableParallelism()} cores\n\n`);
  process.stdout.write(
    `${table(
      ['source', 'kind', 'size', 'fixed rungs (height@kbps:VMAF)', 'per-title rungs', 'BD-rate %', 'BD-rate on curves %', 'analysis × plain encode'],
      rows.map((r) => [
        r.source as string,
        r.kind as string,
        r.size as string,
        fmt(r.fixed as Point[]),
        fmt(r.perTitle as Point[]),
        (r.bdRatePercent as number).toFixed(1),
        r.bdRateOnCurvesPercent === null ? 'n/a' : (r.bdRateOnCurvesPercent as number).toFixed(1),
        (r.analysisCostMultiple as number).toFixed(1),
      ]),
    )}\n\nmean BD-rate: ${mean.toFixed(1)} % (negative = the per-title ladder needs that much less bitrate for the same VMAF); worst source: ${Math.max(...rows.map((r) => r.bdRatePercent as number)).toFixed(1)} %.\nBD-rate on curves: both ladders read off the title's own CRF trial curves (no rate-control difference); n/a where the curves do not cover the fixed rungs.\n`,
  );
  const file = writeResult('ladder', { seconds: SECONDS, preset: PRESET, compareAt: COMPARE_AT, minKbps: MIN_KBPS, meanBdRatePercent: mean, rows, failures });
  if (failures.length) process.stdout.write(`\nnot compared: ${failures.map((f) => `${f.source} (${f.error})`).join('; ')}\n`);
  process.stdout.write(`\n${file}\n`);
}

runMain(main);
