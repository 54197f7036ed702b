/**
 * `vpipe stream <file>`: submits a streaming job to a running stack and shows
 * its progress — overall and per rung — until the result, then the rung
 * table and where the package is. The demo drives its job with the same code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VpipeClient } from '../runtime/jobs/mod.js';
import type { ProgressEvent } from '../schemas/api.js';
import type { StreamingReport, StreamingResult } from '../schemas/streaming.js';
import type { VpipeConfig } from '../schemas/config.js';
import { clientNatsUrl, fail, parse } from './args.js';

const USAGE = `usage: vpipe stream <file> [--out DIR] [--fixed] [--codec h264[,hevc…]] [--rungs N] [--segment SECONDS] [--no-measure] [--priority high|normal|low] [--json]`;

/** Where each step sits in the whole job (per-title ladders cost about as much as the rungs' encodes). */
const STAGES: Record<string, [number, number]> = {
  inspecting: [0, 0.05],
  laddering: [0.05, 0.35],
  encoding: [0.4, 0.35],
  measuring: [0.75, 0.15],
  tracks: [0.9, 0.05],
  packaging: [0.95, 0.04],
  reporting: [0.99, 0.01],
};

export function overallFraction(p: Pick<ProgressEvent, 'step' | 'fraction'>): number {
  const [base, weight] = STAGES[p.step] ?? [0, 0];
  return Math.min(1, base + weight * p.fraction);
}

const pct = (f: number) => `${(f * 100).toFixed(0).padStart(3)}%`;
const meter = (f: number, width: number) => `${'#'.repeat(Math.round(f * width))}${'.'.repeat(width - Math.round(f * width))}`;

/** The progress block: one line overall, one per rung while rungs are at work. */
export function progressLines(p: ProgressEvent): string[] {
  const lines = [`  [${meter(overallFraction(p), 30)}] ${pct(overallFraction(p))} ${p.step}`];
  for (const part of p.parts ?? []) lines.push(`    ${part.id.padEnd(22)} [${meter(part.fraction, 20)}] ${pct(part.fraction)} ${part.step}`);
  return lines;
}

/** Redraws the block in place on a terminal; elsewhere prints a line when the step changes. */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (p: ProgressEvent) => void {
  let drawn = 0;
  let lastStep = '';
  return (p) => {
    if (!out.isTTY) {
      if (p.step !== lastStep) out.write(`  ${p.step}…\n`);
      lastStep = p.step;
      return;
    }
    const lines = progressLines(p);
    out.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\r${l}\x1b[K`).join('\n')}\n`);
    drawn = lines.length;
  };
}

/** The rung table of a report. */
export function rungTable(r: StreamingReport): string {
  const rows = r.rungs.map((x) =>
    [x.id, `${x.width}x${x.height}`, x.kbps.toFixed(0), (x.bandwidth / 1000).toFixed(0), (x.averageBandwidth / 1000).toFixed(0), x.vmaf === null ? '-' : x.vmaf.toFixed(1), x.quality?.vmaf ? x.quality.vmaf.p5.toFixed(1) : '-', x.codecs],
  );
  const head = ['rung', 'size', 'kb/s', 'BANDWIDTH k', 'AVERAGE k', 'VMAF', 'VMAF p5', 'CODECS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => `  ${row.map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  const audio = r.audio.map((a) => `  audio ${a.id}: ${a.language} "${a.name}", ${a.sourceChannels} → ${a.channels} ch, ${a.codecs}, ${a.loudness.input.integratedLufs.toFixed(1)} → ${a.loudness.output.integratedLufs.toFixed(1)} LUFS (target ${a.loudness.target.integratedLufs})`);
  const text = r.text.map((t) => `  text ${t.id}: ${t.language} "${t.name}", ${t.cues} cues, from ${t.from}`);
  const timing = `  time: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`;
  return [fmt(head), ...rows.map(fmt), ...audio, ...text, timing].join('\n');
}

/** Submits a streaming job and waits for it, with progress; resolves with the final event's result and the report, or null when it failed. */
export async function runStreaming(client: VpipeClient, body: Record<string, unknown>, opts: { timeoutMs: number; quiet?: boolean }): Promise<{ result: StreamingResult; report: StreamingReport } | null> {
  const jobId = await client.submit('vpipe.streaming.submit', body, 'json');
  process.stderr.write(`streaming job ${jobId} accepted\n`);
  const ev = await client.waitForResult('streaming', jobId, { timeoutMs: opts.timeoutMs, ...(opts.quiet ? {} : { onProgress: progressPrinter() }) });
  if (ev.state !== 'succeeded') {
    process.stderr.write(`streaming job ${ev.state}: ${ev.error?.code} ${ev.error?.message}\n${(ev.error?.details ?? []).map((d) => `  ${d.path}: ${d.message}`).join('\n')}\n`);
    return null;
  }
  const result = ev.result as StreamingResult;
  const report = JSON.parse(fs.readFileSync(new URL(result.report.uri), 'utf8')) as StreamingReport;
  return { result, report };
}

export function streamRequest(file: string, v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const out = typeof v.out === 'string' ? path.resolve(v.out) : file.replace(/(\.[^./]+)?$/, '.vpipe-streaming');
  const constraints = v.rungs !== undefined ? { rungs: Number(v.rungs) } : undefined;
  return {
    source: { uri: `file://${file}` },
    output: { uri: `file://${out}/` },
    codecs: typeof v.codec === 'string' ? v.codec.split(',') : ['h264'],
    ladder: { mode: v.fixed ? 'fixed' : 'per-title', ...(constraints ? { constraints } : {}) },
    ...(v.segment !== undefined ? { packaging: { segmentSeconds: Number(v.segment) } } : {}),
    ...(v.measure === false ? { measure: false } : {}),
    ...(typeof v.priority === 'string' ? { priority: v.priority } : {}),
  };
}

export async function stream(argv: string[], config: VpipeConfig): Promise<void> {
  const { positionals, values } = parse(argv, {
    out: { type: 'string' },
    fixed: { type: 'boolean', default: false },
    codec: { type: 'string' },
    rungs: { type: 'string' },
    segment: { type: 'string' },
    'no-measure': { type: 'boolean', default: false },
    priority: { type: 'string' },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '21600' },
  });
  if (!positionals[0]) fail(USAGE);
  const file = path.resolve(positionals[0]);
  const client = await VpipeClient.connect(clientNatsUrl(config), 'vpipe-stream');
  try {
    const done = await runStreaming(client, streamRequest(file, { ...values, measure: !values['no-measure'] }), { timeoutMs: Number(values.timeout) * 1000 });
    if (!done) process.exit(1);
    process.stdout.write(values.json ? `${JSON.stringify(done.result, null, 2)}\n` : `\n${rungTable(done.report)}\n\n  HLS  ${done.result.hls.uri}\n  DASH ${done.result.dash.uri}\n  report ${done.result.report.uri}\n`);
  } finally {
    await client.close();
  }
}
