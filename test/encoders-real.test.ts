/**
 * Real encodes through each encoder module: a 1 s 160x120 testsrc2 clip,
 * the module's own arguments, then ffprobe checks codec, pixel format, size,
 * frame count and that no GOP is longer than the recipe's 10 frames. Fast
 * settings (x26x ultrafast, vp9 speed 8, SVT-AV1 preset 12) keep it short.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoderFor, probeAll, shapeFor, type ProbeResult } from '../encoders/index.js';
import { runTool } from '../runtime/media/tools.js';
import { CODECS, Recipe, type Codec } from '../schemas/ves.js';

const SOURCE = { width: 160, height: 120, rate: 25, seconds: 1 };
const GOP = { lengthFrames: 10, sceneCutKeyframes: false };

interface Case {
  name: string;
  recipe: Record<string, unknown> & { codec: Codec };
  size?: { width: number; height: number };
  pixFmt: string;
  profile?: string;
}

const FAST: Record<Codec, Record<string, unknown>> = {
  h264: { preset: 'ultrafast' },
  hevc: { preset: 'ultrafast' },
  vp9: { speed: 8 },
  av1: { speed: 12 },
  prores: {},
  dnxhd: {},
};
const crf = (codec: Codec): Case => ({
  name: `${codec} 8-bit crf`,
  recipe: { codec, rateControl: { mode: 'crf', value: 35 }, gop: GOP, ...FAST[codec] },
  pixFmt: 'yuv420p',
});
/** 10-bit, bitrate mode and a downscale in one encode. */
const tenBit = (codec: Codec, profile: string, expectProfile: string): Case => ({
  name: `${codec} 10-bit ${profile} bitrate, scaled`,
  recipe: { codec, profile, pixelFormat: 'yuv420p10le', rateControl: { mode: 'bitrate', targetKbps: 200, maxrateKbps: 300 }, gop: GOP, ...FAST[codec] },
  size: { width: 128, height: 96 },
  pixFmt: 'yuv420p10le',
  profile: expectProfile,
});
const CASES: Case[] = [
  crf('h264'),
  tenBit('h264', 'high10', 'High 10'),
  crf('hevc'),
  tenBit('hevc', 'main10', 'Main 10'),
  crf('vp9'),
  tenBit('vp9', '2', 'Profile 2'),
  crf('av1'),
  tenBit('av1', 'main', 'Main'),
  // Intra-only: no rate control, the profile decides the data rate and the pixel format.
  { name: 'prores proxy', recipe: { codec: 'prores', profile: 'proxy' }, pixFmt: 'yuv422p10le', profile: 'Proxy' },
  // FFmpeg's ProRes decoder gives 4444 at 12 bits, whatever the encoder was fed.
  { name: 'prores 4444, scaled', recipe: { codec: 'prores', profile: '4444' }, size: { width: 128, height: 96 }, pixFmt: 'yuv444p12le', profile: '4444' },
  // DNxHR refuses pictures under 256x120.
  { name: 'dnxhd dnxhr_lb, scaled', recipe: { codec: 'dnxhd', profile: 'dnxhr_lb' }, size: { width: 256, height: 192 }, pixFmt: 'yuv422p', profile: 'DNXHR LB' },
  { name: 'dnxhd dnxhr_hqx, scaled', recipe: { codec: 'dnxhd', profile: 'dnxhr_hqx' }, size: { width: 256, height: 192 }, pixFmt: 'yuv422p10le', profile: 'DNXHR HQX' },
];

const CODEC_NAMES: Record<Codec, string> = { h264: 'h264', hevc: 'hevc', vp9: 'vp9', av1: 'av1', prores: 'prores', dnxhd: 'dnxhd' };

let dir: string;
let probes: Record<Codec, ProbeResult>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vpipe-encoders-'));
  probes = await probeAll();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('probe', () => {
  it.each(CODECS)('%s is available with a library version', (codec) => {
    expect(probes[codec], probes[codec].reason).toMatchObject({ available: true });
    expect(probes[codec].version).toMatch({ h264: /^x264 core \d+/, hevc: /^x265 \d/, vp9: /^libvpx v\d/, av1: /^SVT-AV1 v\d/, prores: /^ffmpeg \d/, dnxhd: /^ffmpeg \d/ }[codec]);
    expect(probes[codec].version).toMatch(/ffmpeg \d/);
  });
});

describe('real encodes', () => {
  it.each(CASES)('$name', async (c) => {
    const recipe = Recipe.parse(c.recipe);
    const mod = encoderFor(recipe.codec);
    const size = c.size ?? { width: SOURCE.width, height: SOURCE.height };
    const out = path.join(dir, `${c.name.replace(/\W+/g, '-')}.mkv`);
    const videoArgs = mod.videoArgs({
      recipe,
      frameRate: { num: SOURCE.rate, den: 1 },
      ...size,
      sourceWidth: SOURCE.width,
      sourceHeight: SOURCE.height,
      threads: shapeFor(recipe.codec, size.width, size.height).cpus,
    });
    const lavfi = `testsrc2=size=${SOURCE.width}x${SOURCE.height}:rate=${SOURCE.rate}:duration=${SOURCE.seconds}`;
    const enc = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', lavfi, ...videoArgs, '-f', 'matroska', out], {
      timeoutMs: 30_000,
    });
    expect(enc.code, enc.stderr).toBe(0);

    const probe = await runTool('ffprobe', [
      '-v', 'error', '-select_streams', 'v:0', '-count_frames',
      '-show_entries', 'stream=codec_name,profile,pix_fmt,width,height,nb_read_frames:packet=flags',
      '-of', 'json', `file:${out}`,
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    const info = JSON.parse(probe.stdout) as {
      streams: { codec_name: string; profile?: string; pix_fmt: string; width: number; height: number; nb_read_frames: string }[];
      packets: { flags: string }[];
    };
    const s = info.streams[0]!;
    expect(s.codec_name).toBe(CODEC_NAMES[recipe.codec]);
    expect(s.pix_fmt).toBe(c.pixFmt);
    expect([s.width, s.height]).toEqual([size.width, size.height]);
    if (c.profile) expect(s.profile).toBe(c.profile);
    expect(Number(s.nb_read_frames)).toBe(SOURCE.rate * SOURCE.seconds);

    // Every GOP (keyframe to next keyframe, or to the end) at most lengthFrames long.
    const keys = info.packets.flatMap((p, i) => (p.flags.includes('K') ? [i] : []));
    expect(info.packets).toHaveLength(SOURCE.rate * SOURCE.seconds);
    expect(keys[0]).toBe(0);
    const gops = [...keys.slice(1), info.packets.length].map((k, i) => k - keys[i]!);
    expect(Math.max(...gops), `keyframes at ${keys.join(',')}`).toBeLessThanOrEqual(GOP.lengthFrames);
    // Intra-only codecs: every frame is a keyframe (any frame can start a chunk).
    if (recipe.codec === 'prores' || recipe.codec === 'dnxhd') expect(keys).toHaveLength(info.packets.length);
  });
});
