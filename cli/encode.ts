/**
 * `vpipe encode <file> --codec h264 --crf 23 …`: submits a VES job to a
 * running stack, shows a progress bar until the result event, then a summary.
 */
import path from 'node:path';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import type { ProgressEvent } from '../schemas/api.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import { clientNatsUrl, fail, parse } from './args.js';
import { toUri } from './inspect.js';

const USAGE = `usage: vpipe encode <file> [-o out.mp4] --codec h264|hevc|vp9|av1
    [--crf N | --bitrate KBPS [--maxrate KBPS --bufsize KBPS]] [--preset NAME | --speed N]
    [--size WxH] [--pix-fmt yuv420p|yuv420p10le|…] [--profile P] [--gop FRAMES]
    [--chunk SECONDS | --no-chunking] [--scene-cuts] [--priority high|normal|low] [--no-validate] [--json]`;

function bar(p: ProgressEvent): string {
  const width = 30;
  const filled = Math.round(p.fraction * width);
  const chunks = p.chunksTotal ? ` ${p.chunksDone}/${p.chunksTotal} chunks` : '';
  const fps = p.fps ? ` ${p.fps.toFixed(1)} fps/actor` : '';
  return `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.fraction * 100).toFixed(0).padStart(3)}% ${p.step}${chunks}${fps}\x1b[K`;
}

/** Builds the request from the flags; recipe validation itself happens in the service (one source of truth). */
export function encodeRequest(file: string, v: Record<string, string | boolean | undefined>): object {
  const num = (k: string) => (v[k] === undefined ? undefined : Number(v[k]));
  const rateControl = v.bitrate !== undefined
    ? { mode: 'bitrate', targetKbps: num('bitrate'), maxrateKbps: num('maxrate'), bufsizeKbps: num('bufsize') }
    : { mode: 'crf', value: num('crf') ?? 23 };
  const size = typeof v.size === 'string' ? /^(\d+)x(\d+)$/.exec(v.size) : null;
  if (v.size !== undefined && !size) fail('--size takes WIDTHxHEIGHT, e.g. 1280x720');
  const recipe: Record<string, unknown> = {
    codec: v.codec,
    rateControl,
    ...(v.preset !== undefined ? { preset: v.preset } : {}),
    ...(v.speed !== undefined ? { speed: num('speed') } : {}),
    ...(size ? { resolution: { width: Number(size[1]), height: Number(size[2]) } } : {}),
    ...(v['pix-fmt'] !== undefined ? { pixelFormat: v['pix-fmt'] } : {}),
    ...(v.profile !== undefined ? { profile: v.profile } : {}),
    ...(v.gop !== undefined ? { gop: { lengthFrames: num('gop') } } : {}),
    chunking: v['no-chunking'] ? { enabled: false } : { targetSeconds: num('chunk') ?? 4, alignToSceneCuts: v['scene-cuts'] === true },
  };
  const abs = path.resolve(file);
  const out = typeof v.output === 'string' ? v.output : abs.replace(/(\.[^./]+)?$/, `.${String(v.codec)}.mp4`);
  return { source: { uri: toUri(abs) }, recipe, output: { uri: toUri(out) }, priority: v.priority ?? 'normal', validate: !v['no-validate'] };
}

export async function encode(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' }, codec: { type: 'string', default: 'h264' }, crf: { type: 'string' },
    bitrate: { type: 'string' }, maxrate: { type: 'string' }, bufsize: { type: 'string' }, preset: { type: 'string' },
    speed: { type: 'string' }, size: { type: 'string' }, 'pix-fmt': { type: 'string' }, profile: { type: 'string' },
    gop: { type: 'string' }, chunk: { type: 'string' }, 'no-chunking': { type: 'boolean' }, 'scene-cuts': { type: 'boolean' },
    priority: { type: 'string' }, 'no-validate': { type: 'boolean' }, json: { type: 'boolean' }, timeout: { type: 'string', default: '3600' },
  });
  if (positionals.length !== 1) fail(USAGE);
  const client = await VpipeClient.connect(clientNatsUrl(), 'vpipe-encode');
  try {
    const jobId = await client.submit('vpipe.ves.encode', encodeRequest(positionals[0]!, values), 'json');
    process.stderr.write(`job ${jobId} accepted\n`);
    const tty = process.stderr.isTTY;
    const ev = await client.waitForResult('ves', jobId, { timeoutMs: Number(values.timeout) * 1000, onProgress: tty ? (p) => process.stderr.write(bar(p)) : undefined });
    if (tty) process.stderr.write('\n');
    if (values.json) process.stdout.write(`${JSON.stringify(ev, null, 2)}\n`);
    if (ev.state !== 'succeeded') {
      process.stderr.write(`encode ${ev.state}: ${ev.error?.code ?? ''} ${ev.error?.message ?? ''}\n`);
      process.exitCode = 1;
      return;
    }
    if (!values.json) process.stdout.write(`${summary(ev.result as EncodeResult)}\n`);
  } catch (e) {
    if (e instanceof ServiceRequestError) fail(`refused (${e.statusCode}): ${e.message}${e.body.details ? ` ${JSON.stringify(e.body.details)}` : ''}`);
    throw e;
  } finally {
    await client.close();
  }
}

export function summary(r: EncodeResult): string {
  const v = r.validation as ValidateResult | undefined;
  return [
    `output      ${r.output.uri} (${r.output.container})`,
    `size        ${(r.output.sizeBytes / 1e6).toFixed(2)} MB, ${r.output.bitrateKbps.toFixed(0)} kb/s`,
    `duration    ${r.durationSeconds.toFixed(3)} s, ${r.frames} frames`,
    `encoding    ${r.chunks} chunks in ${r.encodeSeconds.toFixed(1)} s (${r.speed.toFixed(2)}x realtime, parallelism ${r.parallelism.toFixed(2)}), ${r.encoder.name}`,
    `validation  ${v ? (v.ok ? 'passed' : `FAILED: ${v.discrepancies.map((d) => d.message).join('; ')}`) : 'skipped'}`,
  ].join('\n');
}
