/**
 * `vpipe studio recipes` lists the predefined recipes; `vpipe studio <file> --recipe NAME` submits
 * a studio job to a running stack and waits; `vpipe watermark detect <leak> --original <src>` asks
 * the detector who a leaked copy was made for.
 */
import path from 'node:path';
import { recipeTable } from '../actors/studio/recipes.js';
import { VpipeClient } from '../runtime/jobs/mod.js';
import type { VpipeConfig } from '../schemas/config.js';
import type { DetectResult, StudioResult } from '../schemas/studio.js';
import { clientNatsUrl, fail, parse } from './args.js';
import { progressPrinter } from './stream.js';

const STUDIO_USAGE = `usage: vpipe studio recipes
       vpipe studio <file> --recipe NAME [--out FILE|DIR/] [--timecode HH:MM:SS:FF|source] [--counter] [--text LINE]… [--position ANCHOR]
                    [--watermark-text TEXT | --watermark-image PNG] [--recipient NAME] [--priority high|normal|low] [--json]`;
const DETECT_USAGE = 'usage: vpipe watermark detect <leak> --original <source> [--json]';

/** The submit request a command line asks for. */
export function studioRequest(file: string, v: Record<string, string | string[] | boolean | undefined>): Record<string, unknown> {
  const recipe = String(v.recipe);
  const out = typeof v.out === 'string' ? (v.out.endsWith('/') ? `${path.resolve(v.out)}/` : path.resolve(v.out)) : `${path.dirname(file)}/`;
  const text = Array.isArray(v.text) ? v.text : [];
  const burnIn = {
    ...(text.length ? { text } : {}),
    ...(typeof v.timecode === 'string' ? { timecode: v.timecode === 'source' ? {} : { start: v.timecode } } : {}),
    ...(v.counter ? { frameCounter: true } : {}),
    ...(typeof v.position === 'string' ? { position: v.position } : {}),
  };
  const visible = typeof v['watermark-text'] === 'string' ? { text: v['watermark-text'] } : typeof v['watermark-image'] === 'string' ? { image: { uri: path.resolve(v['watermark-image']) } } : undefined;
  const watermark = { ...(visible ? { visible } : {}), ...(typeof v.recipient === 'string' ? { forensic: { recipient: v.recipient } } : {}) };
  return {
    source: { uri: file },
    output: { uri: out },
    recipe,
    // A position alone draws nothing.
    ...(text.length || typeof v.timecode === 'string' || v.counter ? { burnIn } : {}),
    ...(Object.keys(watermark).length ? { watermark } : {}),
    ...(typeof v.priority === 'string' ? { priority: v.priority } : {}),
  };
}

export async function studio(argv: string[], config: VpipeConfig): Promise<void> {
  if (argv[0] === 'recipes') {
    for (const r of recipeTable()) process.stdout.write(`  ${r.name.padEnd(18)} ${r.container.padEnd(4)} ≤${r.box.padEnd(10)} ${r.description}\n`);
    return;
  }
  const { positionals, values } = parse(argv, {
    recipe: { type: 'string' },
    out: { type: 'string' },
    timecode: { type: 'string' },
    counter: { type: 'boolean', default: false },
    text: { type: 'string', multiple: true },
    position: { type: 'string' },
    'watermark-text': { type: 'string' },
    'watermark-image': { type: 'string' },
    recipient: { type: 'string' },
    priority: { type: 'string' },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '21600' },
  });
  if (!positionals[0] || !values.recipe) fail(STUDIO_USAGE);
  const client = await VpipeClient.connect(clientNatsUrl(config), 'vpipe-studio');
  try {
    const jobId = await client.submit('vpipe.studio.submit', studioRequest(path.resolve(positionals[0]), values), 'json');
    process.stderr.write(`studio job ${jobId} accepted\n`);
    const ev = await client.waitForResult('studio', jobId, { timeoutMs: Number(values.timeout) * 1000, onProgress: progressPrinter() });
    if (ev.state !== 'succeeded') {
      process.stderr.write(`studio job ${ev.state}: ${ev.error?.code} ${ev.error?.message}\n`);
      process.exit(1);
    }
    const r = ev.result as StudioResult;
    process.stdout.write(
      values.json
        ? `${JSON.stringify(r, null, 2)}\n`
        : `  ${r.output.uri}\n  ${r.output.codec} ${r.output.profile ?? ''} ${r.output.width}x${r.output.height}, ${r.output.frames} frames, ${(r.output.sizeBytes / 1e6).toFixed(1)} MB in ${r.seconds.total} s` +
            `${r.burnIn ? `\n  timecode from ${r.burnIn.timecodeFrom}: ${r.burnIn.timecodeStart}` : ''}${r.watermark.forensic ? `\n  forensic mark for ${r.watermark.forensic.recipient} (payload ${r.watermark.forensic.payload}, ${r.watermark.forensic.segments} segments)` : ''}\n`,
    );
  } finally {
    await client.close();
  }
}

export async function watermark(argv: string[], config: VpipeConfig): Promise<void> {
  if (argv[0] !== 'detect') fail(DETECT_USAGE);
  const { positionals, values } = parse(argv.slice(1), { original: { type: 'string' }, json: { type: 'boolean', default: false }, timeout: { type: 'string', default: '3600' } });
  if (!positionals[0] || !values.original) fail(DETECT_USAGE);
  const client = await VpipeClient.connect(clientNatsUrl(config), 'vpipe-watermark');
  try {
    const jobId = await client.submit('vpipe.studio.detect', { leak: { uri: path.resolve(positionals[0]) }, original: { uri: path.resolve(values.original) } }, 'json');
    const ev = await client.waitForResult('studio', jobId, { timeoutMs: Number(values.timeout) * 1000 });
    if (ev.state !== 'succeeded') {
      process.stderr.write(`detection ${ev.state}: ${ev.error?.code} ${ev.error?.message}\n`);
      process.exit(1);
    }
    const d = ev.result as DetectResult;
    process.stdout.write(values.json ? `${JSON.stringify(d, null, 2)}\n` : `  ${d.recipient ? `recipient: ${d.recipient}` : 'no recipient found'} (confidence ${d.confidence.toFixed(3)}${d.payload ? `, payload ${d.payload}` : ''}, ${d.framesCompared} frames compared${d.reason ? `; ${d.reason}` : ''})\n`);
    // Exit 3 when nobody is attributed, so scripts can tell.
    if (!d.recipient) process.exitCode = 3;
  } finally {
    await client.close();
  }
}
