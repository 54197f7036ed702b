/**
 * `vpipe ladder <file> --codec h264`: submits an LGS job to a running stack,
 * waits for the ladder (CAS's analysis first, when it has none stored),
 * prints it as a table and writes an SVG chart of the curves, the hull, the
 * rungs and Apple's fixed HLS ladder on this title's curves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { APPLE_LADDER, bdRate, buildCurves, fixedLadderFor, predictFixedLadder, type PredictedFixedRung, type QualityPoint } from '../actors/lgs/compute/index.js';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import type { LadderResult } from '../schemas/lgs.js';
import { clientNatsUrl, fail, parse } from './args.js';
import { toUri } from './inspect.js';
import { ladderSvg } from './ladder-chart.js';

const USAGE = `usage: vpipe ladder <file> [--codec h264|hevc|vp9|av1] [--rungs N] [--min-kbps K] [--max-kbps K]
    [--max-height H] [--cap Q] [--min-step Q] [--allow-without-vmaf] [--svg out.svg | --no-svg]
    [--fixed apple|none] [--priority high|normal|low] [--json] [--timeout SECONDS]`;

/** Builds the request from the flags; validation itself happens in the service (one source of truth). */
export function ladderRequest(file: string, v: Record<string, string | boolean | undefined>): object {
  const num = (k: string) => (typeof v[k] === 'string' ? Number(v[k]) : undefined);
  const constraints = Object.fromEntries(
    Object.entries({ rungs: num('rungs'), minKbps: num('min-kbps'), maxKbps: num('max-kbps'), maxHeight: num('max-height'), qualityCap: num('cap'), minStep: num('min-step') }).filter(([, x]) => x !== undefined),
  );
  return {
    source: { uri: toUri(file) },
    codec: v.codec ?? 'h264',
    ...(Object.keys(constraints).length ? { constraints } : {}),
    ...(v['allow-without-vmaf'] ? { allowWithoutVmaf: true } : {}),
    ...(typeof v.priority === 'string' ? { priority: v.priority } : {}),
  };
}

/** Apple's ladder (capped at the source) read off the title's curves. */
export function appleOnCurves(r: LadderResult): PredictedFixedRung[] {
  const q = (p: { vmaf?: number; psnr?: number }) => p[r.metric] ?? NaN;
  const points = r.curves.flatMap((c) => c.points.map((p): QualityPoint => ({ width: c.width, height: c.height, crf: p.crf, kbps: p.kbps, quality: q(p) })));
  return predictFixedLadder(buildCurves(points).curves, fixedLadderFor(APPLE_LADDER, r.source));
}

/** The ladder as a table, with the fixed ladder's predictions and the predicted BD-rate against it when given. */
export function ladderTable(r: LadderResult, fixed?: readonly PredictedFixedRung[]): string {
  const metric = r.metric === 'vmaf' ? 'VMAF' : 'PSNR dB';
  const measured = r.rungs.some((g) => g.measured?.[r.metric] !== undefined);
  const rows = [['#', 'resolution', 'kb/s', 'CRF', `predicted ${metric}`, ...(measured ? [`measured ${metric}`] : []), 'maxrate', 'bufsize']];
  r.rungs.forEach((g, i) => {
    const m = g.measured?.[r.metric];
    rows.push([String(i + 1), `${g.width}x${g.height}`, String(g.kbps), g.crf.toFixed(1), (g.predicted[r.metric] ?? NaN).toFixed(2), ...(measured ? [m === undefined ? '-' : m.toFixed(2)] : []), String(g.vbv.maxrateKbps), String(g.vbv.bufsizeKbps)]);
  });
  const lines = [`ladder on ${metric} (CAS analysis ${r.analysis.jobId}${r.analysis.cached ? ', from the store' : ''}, ${r.analysis.points} trial encodes; source ${r.source.width}x${r.source.height})`, ...table(rows)];
  lines.push(`hull: ${r.hull.length} points over ${new Set(r.hull.map((p) => `${p.width}x${p.height}`)).size} resolutions`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (fixed?.length) {
    lines.push('', `Apple HLS ladder on this title's curves (predicted ${metric})`);
    lines.push(...table([['resolution', 'kb/s', `predicted ${metric}`], ...fixed.map((f) => [`${f.width}x${f.height}`, String(f.kbps), f.quality === null ? '-' : `${f.quality.toFixed(2)}${f.predictedBy === 'between' ? '*' : ''}`])]));
    if (fixed.some((f) => f.predictedBy === 'between')) lines.push('* between the measured resolutions around it');
    lines.push(`BD-rate of this ladder against Apple's (predicted): ${predictedBdRate(r, fixed)}`);
  }
  return lines.join('\n');
}

function predictedBdRate(r: LadderResult, fixed: readonly PredictedFixedRung[]): string {
  try {
    const anchor = fixed.filter((f) => f.quality !== null).map((f) => ({ kbps: f.kbps, quality: f.quality! }));
    const test = r.rungs.map((g) => ({ kbps: g.kbps, quality: g.predicted[r.metric] ?? NaN }));
    return `${bdRate(anchor, test).toFixed(1)} %`;
  } catch (e) {
    return `n/a (${(e as Error).message})`;
  }
}

/** Columns padded to their widest cell; numeric columns right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const right = widths.map((_, c) => rows.slice(1).every((r) => /^[-\d.]+\*?$/.test(r[c]!)));
  return rows.map((r) => `  ${r.map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd());
}

export async function ladder(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    codec: { type: 'string', default: 'h264' }, rungs: { type: 'string' }, 'min-kbps': { type: 'string' }, 'max-kbps': { type: 'string' },
    'max-height': { type: 'string' }, cap: { type: 'string' }, 'min-step': { type: 'string' }, 'allow-without-vmaf': { type: 'boolean' },
    svg: { type: 'string' }, 'no-svg': { type: 'boolean' }, fixed: { type: 'string', default: 'apple' }, priority: { type: 'string' },
    json: { type: 'boolean' }, timeout: { type: 'string', default: '21600' },
  });
  if (positionals.length !== 1) fail(USAGE);
  if (values.fixed !== 'apple' && values.fixed !== 'none') fail('--fixed takes apple or none');
  const file = positionals[0]!;
  const client = await VpipeClient.connect(clientNatsUrl(), 'vpipe-ladder');
  try {
    const jobId = await client.submit('vpipe.lgs.ladder', ladderRequest(file, values), 'json');
    process.stderr.write(`job ${jobId} accepted; waiting for vpipe.evt.lgs.${jobId}\n`);
    const tty = process.stderr.isTTY;
    const ev = await client.waitForResult('lgs', jobId, {
      timeoutMs: Number(values.timeout) * 1000,
      onProgress: tty ? (p) => process.stderr.write(`\r  ${p.step} ${(p.fraction * 100).toFixed(0).padStart(3)}%\x1b[K`) : undefined,
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (values.json) process.stdout.write(`${JSON.stringify(ev, null, 2)}\n`);
    if (ev.state !== 'succeeded') {
      process.stderr.write(`ladder ${ev.state}: ${ev.error?.code ?? ''} ${ev.error?.message ?? ''}\n`);
      process.exitCode = 1;
      return;
    }
    const r = ev.result as LadderResult;
    const fixed = values.fixed === 'apple' ? appleOnCurves(r) : undefined;
    if (!values.json) process.stdout.write(`${ladderTable(r, fixed)}\n`);
    if (!values['no-svg']) {
      const local = file.startsWith('file://') ? new URL(file).pathname : path.resolve(file);
      const out = values.svg ?? local.replace(/(\.[^./]+)?$/, `.${String(values.codec)}.ladder.svg`);
      fs.writeFileSync(out, ladderSvg(r, { title: `${path.basename(local)}: ${String(values.codec)} ladder`, fixed: fixed && { name: 'Apple HLS', rungs: fixed } }));
      process.stderr.write(`chart: ${out}\n`);
    }
  } catch (e) {
    if (e instanceof ServiceRequestError) fail(`refused (${e.statusCode}): ${e.message}${e.body.details ? ` ${JSON.stringify(e.body.details)}` : ''}`);
    throw e;
  } finally {
    await client.close();
  }
}
