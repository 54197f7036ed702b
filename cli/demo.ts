/**
 * The main job: start the whole stack on an embedded nats-server, and run the
 * streaming orchestrator over NATS on a clip (a sample is generated with
 * ffmpeg when none is given): VIS → per-title ladder (CAS trial encodes, VQS,
 * LGS) → VES per rung → VQS per rung → loudness-normalised AAC and WebVTT →
 * CMAF packaged as HLS and DASH. Progress shows overall and per rung; then the
 * rung table, and the package is served on a local web page (hls.js and
 * dash.js players, the ladder chart, the quality report) until Ctrl-C.
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
import { rungTable, runStreaming, streamRequest } from './stream.js';
import { startWebServer } from './web/server.js';

const SAMPLE_SECONDS = 12;
const SAMPLE_SUBTITLES = ['Sample clip made by vpipe', 'Per-title ladder: CAS → LGS', 'Every rung encoded in parallel chunks', 'HLS and DASH over the same CMAF segments'];

/**
 * 12 s of 960x540 25p test pattern with a quiet stereo tone (so loudness normalisation has work to do),
 * an English subtitle stream and 01:00:00:00 timecode; H.264/AAC in MP4, BT.709 tagged.
 */
async function makeSample(file: string): Promise<void> {
  const tmp = `${file}.part.mp4`;
  const srt = `${file}.part.srt`;
  const at = (s: number) => `00:00:${String(Math.floor(s)).padStart(2, '0')},${String(Math.round((s % 1) * 1000)).padStart(3, '0')}`;
  fs.writeFileSync(srt, SAMPLE_SUBTITLES.map((t, i) => `${i + 1}\n${at(i * 3 + 0.5)} --> ${at(i * 3 + 2.5)}\n${t}\n`).join('\n'));
  try {
    const r = await runTool('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=960x540:rate=25:duration=${SAMPLE_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SAMPLE_SECONDS},volume=0.05,aformat=channel_layouts=stereo`,
      '-i', srt,
      '-map', '0:v', '-map', '1:a', '-map', '2:s',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p',
      '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709',
      '-c:a', 'aac', '-b:a', '128k', '-c:s', 'mov_text', '-metadata:s:a:0', 'language=eng', '-metadata:s:s:0', 'language=eng',
      '-timecode', '01:00:00:00', '-movflags', '+faststart', tmp,
    ]);
    if (r.code !== 0) throw new Error(`could not generate the sample clip: ${r.stderr}`);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(srt, { force: true });
  }
}

async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => void freePort().then(resolve));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

export async function demo(argv: string[], config: VpipeConfig): Promise<void> {
  const { positionals, values } = parse(argv, {
    json: { type: 'boolean', default: false },
    fixed: { type: 'boolean', default: false },
    'no-serve': { type: 'boolean', default: false },
    port: { type: 'string', default: '8080' },
  });
  // The progress and the report are the demo's output; service logs only when asked for (LOG_LEVEL=info).
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
      process.stderr.write(`generating a ${SAMPLE_SECONDS} s sample clip at ${file}\n`);
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
  let done: Awaited<ReturnType<typeof runStreaming>> = null;
  try {
    done = await runStreaming(client, streamRequest(file, { fixed: values.fixed }), { timeoutMs: 6 * 3600_000 });
  } finally {
    await client.close();
    await node.stop(5_000);
  }
  if (!done) {
    process.stderr.write('demo: the streaming job failed\n');
    process.exit(1);
  }
  process.stdout.write(values.json ? `${JSON.stringify(done.result, null, 2)}\n` : `\nPackaged ${file}\n${rungTable(done.report)}\n\n  HLS    ${done.result.hls.uri}\n  DASH   ${done.result.dash.uri}\n  report ${done.result.report.uri}\n`);
  if (values['no-serve']) {
    process.stderr.write(`demo finished; watch it with: vpipe serve ${cfg.mediaRoot}\n`);
    process.exit(0);
  }
  const pkg = path.relative(cfg.mediaRoot, path.dirname(new URL(done.result.report.uri).pathname));
  const web = await startWebServer({ root: cfg.mediaRoot, port: await portOr(Number(values.port)) });
  process.stdout.write(`\n  Watch it: ${web.url}/watch?pkg=${encodeURIComponent(pkg)}\n  (hls.js and dash.js players, the ladder chart and the quality report; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await web.close();
  process.exit(0);
}
