/**
 * VES end to end on a real nats-server with real ffmpeg: chunked parallel
 * encodes in all four codecs validated by VVS over NATS, VFR and 10-bit
 * sources, chunked vs unchunked quality, and recipes that try to inject options.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { VpipeClient } from '../runtime/jobs/client.js';
import { runTool } from '../runtime/media/tools.js';
import { REPO_ROOT } from '../runtime/nats/server.js';
import { topologyFromEnv } from '../runtime/nats/topology.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import * as media from './helpers/media.js';
import { frameTimes, keyframes, psnr, videoStream } from './helpers/measure.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let client: VpipeClient;
let root: string;
let cfr: string;

beforeAll(async () => {
  stack = await startTestStack('ves', { concurrency: 2, encoderActors: 2, topology: { ...topologyFromEnv({}), ackWaitMs: 5_000 } }, async (dir) => {
    cfr = await media.makeCfr(dir);
  });
  ({ client, root } = stack);
});

afterAll(async () => {
  await stack?.cleanup();
});

async function encode(source: string, recipe: object, out: string, extra: object = {}): Promise<EncodeResult> {
  const jobId = await client.submit('vpipe.ves.encode', { source: { uri: `file://${source}` }, recipe, output: { uri: `file://${path.join(root, out)}` }, ...extra });
  const ev = await client.waitForResult('ves', jobId, { timeoutMs: 120_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as EncodeResult;
}

const chunked = { targetSeconds: 0.5, minSeconds: 0.2 };

let motion: Promise<string> | undefined;
/** 6 s of 320x240 with real motion and texture (a moving fractal over panning grain), made once. */
function motionClip(): Promise<string> {
  motion ??= (async () => {
    const file = path.join(root, 'motion.mp4');
    const graph =
      'sierpinski=s=320x240:r=25:type=triangle:jump=20,format=yuv420p[a];' +
      'color=c=gray:s=480x360:r=25,noise=alls=90:allf=u,gblur=sigma=1,scroll=h=0.004:v=0.002,crop=320:240:0:0,format=yuv420p[b];' +
      '[a][b]blend=all_mode=average,noise=alls=4:allf=t,format=yuv420p';
    const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', graph, '-t', '6', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '14', '-y', file]);
    expect(r.code).toBe(0);
    return file;
  })();
  return motion;
}

/** Per codec: fast settings, and the 10-bit profile/pixel format it encodes. */
const CODECS = [
  { codec: 'h264', ff: 'h264', rc: { preset: 'veryfast', rateControl: { mode: 'crf', value: 23 } }, tenBit: { profile: 'high10', pixelFormat: 'yuv420p10le' } },
  { codec: 'hevc', ff: 'hevc', rc: { preset: 'ultrafast', rateControl: { mode: 'crf', value: 28 } }, tenBit: { profile: 'main10', pixelFormat: 'yuv420p10le' } },
  { codec: 'vp9', ff: 'vp9', rc: { speed: 8, rateControl: { mode: 'crf', value: 35 } }, tenBit: { profile: '2', pixelFormat: 'yuv420p10le' } },
  { codec: 'av1', ff: 'av1', rc: { speed: 12, rateControl: { mode: 'crf', value: 40 } }, tenBit: { pixelFormat: 'yuv420p10le' } },
] as const;

describe.each(CODECS)('$codec', ({ codec, ff, rc, tenBit }) => {
  it('encodes in 4 chunks with the source frame count and a clean validation', async () => {
    const r = await encode(cfr, { codec, ...rc, chunking: chunked }, `out-${codec}.mkv`);
    expect(r.chunks).toBe(4);
    expect(r.frames).toBe(50);
    const v = r.validation as ValidateResult;
    expect(v.ok, JSON.stringify(v.discrepancies)).toBe(true);
    expect(v.measured.frameCount).toBe(50);
    expect((await videoStream(path.join(root, `out-${codec}.mkv`))).codec_name).toBe(ff);
    // Every frame at its source time across the chunk joins (25 fps: 40 ms apart).
    expect(await frameTimes(path.join(root, `out-${codec}.mkv`))).toEqual(Array.from({ length: 50 }, (_, i) => Math.round(i * 40) / 1000));
    // Chunk files are cleaned up once the output is written.
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.vpipe-'))).toEqual([]);
  });

  it('keeps a VFR source VFR: same frames, same timestamps', async () => {
    const vfr = await media.makeVfr(root, 'mp4');
    const out = `vfr-${codec}.mkv`;
    const r = await encode(vfr, { codec, ...rc, chunking: chunked }, out);
    expect(r.chunks).toBeGreaterThan(1);
    expect((r.validation as ValidateResult).ok).toBe(true);
    const [a, b] = await Promise.all([frameTimes(vfr), frameTimes(path.join(root, out))]);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(0.002);
  });

  it('encodes a 10-bit source to 10-bit output', async () => {
    const src = await media.make10bit(root);
    const out = `ten-${codec}.mkv`;
    const r = await encode(src, { codec, ...rc, ...tenBit, chunking: chunked }, out);
    const v = r.validation as ValidateResult;
    expect(v.ok, JSON.stringify(v.discrepancies)).toBe(true);
    expect((await videoStream(path.join(root, out))).pix_fmt).toBe('yuv420p10le');
  });

  it('chunked and unchunked encodes of the same recipe differ by less than 0.3 dB PSNR', async () => {
    // 6 s of moving, textured content; 2 s chunks a whole number of GOPs long, as a production ladder is
    // set up: the keyframe structure is the same, and only encoder state across chunk starts differs.
    const src = await motionClip();
    const recipe = { codec, ...rc, gop: { lengthFrames: 50, sceneCutKeyframes: false } };
    const chunkedRun = await encode(src, { ...recipe, chunking: { targetSeconds: 2 } }, `q-chunked-${codec}.mkv`);
    expect(chunkedRun.chunks).toBe(3);
    await encode(src, { ...recipe, chunking: { enabled: false } }, `q-whole-${codec}.mkv`);
    const a = await psnr(path.join(root, `q-chunked-${codec}.mkv`), src);
    const b = await psnr(path.join(root, `q-whole-${codec}.mkv`), src);
    if (process.env.VPIPE_PRINT_PSNR) console.log(`PSNR ${codec}: chunked ${a} dB, whole ${b} dB`);
    expect(Math.abs(a - b), `chunked ${a} dB, whole ${b} dB`).toBeLessThan(0.3);
  });
});

describe('other recipe features', () => {
  it('puts every frame of tiny x264 ultrafast chunks at its source time (Matroska chunk files without a known start time)', async () => {
    const recipe = { codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 30 }, chunking: { targetSeconds: 0.2, minSeconds: 0.2 } };
    const r = await encode(cfr, recipe, 'uf-tiny.mkv');
    expect(r.chunks).toBeGreaterThanOrEqual(8); // 5-frame chunks, bounded by the source's keyframes
    expect((r.validation as ValidateResult).ok, JSON.stringify((r.validation as ValidateResult).discrepancies)).toBe(true);
    const times = await frameTimes(path.join(root, 'uf-tiny.mkv'));
    expect(times).toEqual(Array.from({ length: 50 }, (_, i) => Math.round(i * 40) / 1000));
  });

  it('treats a profile as a ceiling: x264 ultrafast with profile high writes Constrained Baseline, and that validates', async () => {
    const r = await encode(cfr, { codec: 'h264', preset: 'ultrafast', profile: 'high', rateControl: { mode: 'crf', value: 30 }, chunking: chunked }, 'uf-high.mp4');
    const v = r.validation as ValidateResult;
    expect(v.ok, JSON.stringify(v.discrepancies)).toBe(true);
    expect(v.measured.profile).toBe('Constrained Baseline');
  });

  it('scales to the recipe resolution', async () => {
    const r = await encode(cfr, { codec: 'h264', resolution: { width: 160, height: 120 }, scaler: 'lanczos', rateControl: { mode: 'crf', value: 23 }, chunking: chunked }, 'small.mp4');
    expect((r.validation as ValidateResult).measured.resolution).toEqual({ width: 160, height: 120 });
  });

  it('writes a raw elementary stream and copies audio into MP4 when asked', async () => {
    const raw = await encode(cfr, { codec: 'hevc', preset: 'ultrafast', rateControl: { mode: 'crf', value: 28 }, chunking: chunked }, 'raw.hevc');
    expect(raw.output.container).toBe('raw');
    expect((raw.validation as ValidateResult).measured.frameCount).toBe(50);
    await encode(cfr, { codec: 'h264', rateControl: { mode: 'bitrate', targetKbps: 300 }, audio: { mode: 'copy' }, chunking: chunked }, 'with-audio.mp4');
    const r = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', path.join(root, 'with-audio.mp4')]);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['audio', 'video']);
  });

  it('aligns chunk boundaries to scene cuts when asked', async () => {
    // A hard cut at frame 30 (1.2 s): test pattern, then colour bars.
    const src = path.join(root, 'cut.mp4');
    const g = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=1.2[a];smptebars=s=320x240:r=25:d=1.2[b];[a][b]concat=n=2:v=1:a=0', '-c:v', 'libx264', '-preset', 'ultrafast', '-y', src]);
    expect(g.code).toBe(0);
    // Long GOP and no encoder scene-cut keyframes: keyframes then mark chunk starts only.
    const recipe = { codec: 'h264', rateControl: { mode: 'crf', value: 23 }, gop: { lengthFrames: 250, sceneCutKeyframes: false } };
    await encode(src, { ...recipe, chunking: { targetSeconds: 0.8, minSeconds: 0.4, maxSeconds: 1.6, alignToSceneCuts: true } }, 'cut-aligned.mkv');
    await encode(src, { ...recipe, chunking: { targetSeconds: 0.8, minSeconds: 0.4, maxSeconds: 1.6 } }, 'cut-plain.mkv');
    const aligned = await keyframes(path.join(root, 'cut-aligned.mkv'));
    const plain = await keyframes(path.join(root, 'cut-plain.mkv'));
    expect(aligned).toContain(30);
    expect(aligned).not.toContain(20);
    expect(plain).toContain(20);
  });
});

describe('vpipe encode (CLI)', () => {
  it('submits, waits for the result event and prints the summary', async () => {
    const out = path.join(root, 'cli-out.mp4');
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/vpipe.js'), 'encode', cfr, '-o', out, '--codec', 'h264', '--crf', '26', '--preset', 'veryfast', '--chunk', '0.5'], {
        env: { ...process.env, NATS_URL: stack.server.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let buf = '';
      child.stdout.on('data', (d: Buffer) => (buf += d.toString()));
      child.on('exit', (c) => resolve({ stdout: buf, code: c }));
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/4 chunks/);
    expect(stdout).toMatch(/validation\s+passed/);
    expect(fs.statSync(out).size).toBeGreaterThan(0);
  });
});

describe('bad recipes', () => {
  const base = { source: { uri: '' }, output: { uri: '' } };
  it.each([
    ['a preset that smuggles an option', { codec: 'h264', preset: '-f lavfi', rateControl: { mode: 'crf', value: 23 } }, /recipe\.preset/],
    ['an unknown codec', { codec: 'libx264 -vf', rateControl: { mode: 'crf', value: 23 } }, /recipe\.codec/],
    ['a profile of another codec', { codec: 'h264', profile: 'main10', rateControl: { mode: 'crf', value: 23 } }, /recipe\.profile/],
    ['a CRF out of range', { codec: 'h264', rateControl: { mode: 'crf', value: 60 } }, /recipe\.rateControl\.value/],
    ['a string where a number goes', { codec: 'h264', rateControl: { mode: 'crf', value: '23 -x264opts' } }, /recipe\.rateControl\.value/],
    ['speed for x264', { codec: 'h264', speed: 3, rateControl: { mode: 'crf', value: 23 } }, /recipe\.speed/],
    ['an odd 4:2:0 size', { codec: 'h264', resolution: { width: 321, height: 240 }, rateControl: { mode: 'crf', value: 23 } }, /recipe\.resolution/],
    ['extra encoder params', { codec: 'hevc', rateControl: { mode: 'crf', value: 23 }, x265Params: 'pools=1' }, /x265Params/],
  ])('refuses %s naming the field', async (_what, recipe, field) => {
    const err = await client
      .request('vpipe.ves.encode', { ...base, source: { uri: cfr }, output: { uri: path.join(root, 'x.mp4') }, recipe }, { encoding: 'json' })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceRequestError);
    expect((err as ServiceRequestError).body.code).toBe('SCHEMA_INVALID');
    expect(`${(err as ServiceRequestError).body.message} ${JSON.stringify((err as ServiceRequestError).body.details)}`).toMatch(field);
  });

  it('refuses an output outside the media root and one that would overwrite the source', async () => {
    const recipe = { codec: 'h264', rateControl: { mode: 'crf', value: 23 } };
    const outside = await client.request('vpipe.ves.encode', { source: { uri: cfr }, output: { uri: '/tmp/evil.mp4' }, recipe }).catch((e: ServiceRequestError) => e.body.code);
    expect(outside).toBe('MEDIA_URI_FORBIDDEN');
    const same = await client.request('vpipe.ves.encode', { source: { uri: cfr }, output: { uri: cfr }, recipe }).catch((e: ServiceRequestError) => e.body.code);
    expect(same).toBe('SCHEMA_INVALID');
  });
});
