/**
 * The main job: start the whole stack on an embedded nats-server, inspect a
 * clip through the public NATS API (a sample is generated with ffmpeg when
 * none is given), encode it with VES in parallel chunks validated by VVS,
 * print the reports, drain and exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VpipeClient } from '../runtime/jobs/mod.js';
import { rootLogger } from '../runtime/core/mod.js';
import { runTool } from '../runtime/media/mod.js';
import { freePort } from '../runtime/nats/mod.js';
import { nodeConfigFrom, ROLES, startNode } from '../app/node.js';
import type { VpipeConfig } from '../schemas/config.js';
import { fail, parse } from './args.js';
import { summary } from './encode.js';
import { inspectWith } from './inspect.js';
import type { EncodeResult } from '../schemas/ves.js';

/** 6 s of 1280x720 25p test pattern with a 1 kHz tone, H.264/AAC, BT.709 tagged, 01:00:00:00 timecode. */
async function makeSample(file: string): Promise<void> {
  const tmp = `${file}.part.mp4`;
  const r = await runTool('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=6',
    '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=6',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709',
    '-c:a', 'aac', '-b:a', '128k', '-timecode', '01:00:00:00', '-movflags', '+faststart', tmp,
  ]);
  if (r.code !== 0) throw new Error(`could not generate the sample clip: ${r.stderr}`);
  fs.renameSync(tmp, file);
}

async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => void freePort().then(resolve));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

/** Encodes the clip with VES (H.264, 2 s chunks in parallel, validated by VVS) and prints the summary. */
async function encodeSample(client: VpipeClient, file: string): Promise<boolean> {
  const out = file.replace(/(\.[^./]+)?$/, '.vpipe-h264.mp4');
  const recipe = { codec: 'h264', preset: 'veryfast', rateControl: { mode: 'crf', value: 23 }, gop: { lengthSeconds: 2 }, chunking: { targetSeconds: 2 } };
  const jobId = await client.submit('vpipe.ves.encode', { source: { uri: `file://${file}` }, output: { uri: `file://${out}` }, recipe }, 'json');
  process.stderr.write(`\nencode job ${jobId} accepted (${JSON.stringify(recipe)})\n`);
  const ev = await client.waitForResult('ves', jobId, { timeoutMs: 600_000 });
  if (ev.state !== 'succeeded') {
    process.stderr.write(`encode ${ev.state}: ${ev.error?.code} ${ev.error?.message}\n`);
    return false;
  }
  process.stdout.write(`\nEncoding of ${file}\n${summary(ev.result as EncodeResult)}\n`);
  return true;
}

export async function demo(argv: string[], config: VpipeConfig): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean', default: false } });
  // The report is the demo's output; service logs only when asked for (LOG_LEVEL=info).
  if (!config.explicit.includes('LOG_LEVEL')) rootLogger.level = 'warn';
  const cfg = nodeConfigFrom(config);
  let file: string;
  if (positionals[0]) {
    file = path.resolve(positionals[0]);
    if (!fs.existsSync(file)) fail(`${file} does not exist`);
    // The demo serves the file's own directory as the media root.
    if (!config.explicit.includes('VPIPE_MEDIA_ROOT')) cfg.mediaRoot = path.dirname(file);
  } else {
    file = path.join(cfg.mediaRoot, 'sample.mp4');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(cfg.mediaRoot, { recursive: true });
      process.stderr.write(`generating a sample clip at ${file}\n`);
      await makeSample(file);
    }
  }
  const node = await startNode({
    ...cfg,
    roles: ROLES,
    embedded: cfg.natsUrl ? undefined : { ...cfg.embedded, port: await portOr(config.nats.embedded.port), monitorPort: await portOr(config.nats.embedded.monitorPort) },
    metricsPort: await portOr(config.metrics.port),
  });
  process.stderr.write(`stack up: NATS ${node.natsUrl}, metrics http://127.0.0.1:${node.metricsPort}/metrics\n`);
  const client = await VpipeClient.connect(node.natsUrl, 'vpipe-demo');
  let ok = false;
  try {
    ok = (await inspectWith(client, `file://${file}`, { json: values.json, timeoutMs: 600_000 })) !== null;
    if (ok) ok = await encodeSample(client, file);
  } finally {
    await client.close();
    await node.stop(5_000);
  }
  process.stderr.write(ok ? 'demo finished: the stack inspected and encoded the clip over NATS and shut down cleanly\n' : 'demo: the inspection job failed\n');
  process.exit(ok ? 0 : 1);
}
