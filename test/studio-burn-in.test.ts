/**
 * Studio burn-ins through the whole stack (VIS → VES chunked → output), proved against the
 * source by the test's own ffmpeg pass, never by vpipe's logs:
 *
 * - a 29.97 fps source whose QuickTime tmcd track starts at 00:59:59;28 (drop-frame): every frame
 *   of the proxy — 0, 1, 2, 1800 and both sides of every chunk join — shows the timecode and frame
 *   number one plain ffmpeg drawtext pass over the whole source renders for that frame (crop PSNR
 *   ≥ 35 dB), and the same comparison against a reference one frame off fails;
 * - drop-frame at 25 fps and over-long text are refused at submission, naming the field;
 * - text that tries to be filter-graph syntax renders literally.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceRequestError } from '../runtime/core/mod.js';
import type { StudioResult } from '../schemas/studio.js';
import { ffmpeg, motion } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { framePsnr, resultOf, submitStudio, videoFacts } from './helpers/studio.js';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
const NTSC_SECONDS = 62;

let stack: TestStack;
let ntsc: string;
let pal: string;
let logo: string;

beforeAll(async () => {
  stack = await startTestStack('studio-burn-in', { encoderActors: 2, concurrency: 4 }, async (root) => {
    ntsc = path.join(root, 'ntsc-df.mov');
    pal = path.join(root, 'pal.mp4');
    logo = path.join(root, 'logo.png');
    await Promise.all([
      // A 64x32 logo: red with a transparent left half.
      ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x32,format=rgba,geq=r=255:g=0:b=0:a=if(lt(X\\,32)\\,0\\,255)', '-frames:v', '1', logo]),
      // 29.97 with a drop-frame tmcd track, and stereo audio for the proxy's AAC.
      ffmpeg(['-f', 'lavfi', '-i', motion('320x180', '30000/1001', NTSC_SECONDS), '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${NTSC_SECONDS}`, '-ac', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le', '-timecode', '00:59:59;28', ntsc]),
      ffmpeg(['-f', 'lavfi', '-i', motion('320x180', 25, 3), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', pal]),
    ]);
  });
}, 120_000);

afterAll(async () => {
  await stack?.cleanup();
});

/** The layout contract for 16 px rows at bottom-left (encoders/burn-in burnInLayout: pad 3, margin 8, row step 25, line 19), written out here. */
const row = (y: string) => `fontfile=${FONT}:fontsize=16:fontcolor=white:box=1:boxcolor=black@1:boxborderw=3:x=11:y=${y}`;
const reference = (startLabel: string, startNumber: number) =>
  `drawtext=${row('h-55')}:timecode='${startLabel.replace(/[:;]/g, '\\$&')}':timecode_rate=30000/1001:tc24hmax=1,drawtext=${row('h-30')}:text='%{frame_num}':start_number=${startNumber}`;
/** Both rows' boxes on a 180-line frame. */
const CROP = { x: 8, y: 122, width: 112, height: 44 };

describe('visible watermark', () => {
  it('puts the PNG at its anchor with its opacity, and nothing elsewhere', async () => {
    const out = path.join(stack.root, 'logo.mp4');
    const ev = await submitStudio(stack.client, { source: { uri: pal }, output: { uri: out }, recipe: 'proxy-h264-720p', watermark: { visible: { image: { uri: logo }, position: 'top-right', opacity: 0.5, size: 0.2 } } });
    const r = resultOf<StudioResult>(ev);
    expect(r.watermark.visible).toBe(true);
    // The test's own overlay pass (lossless): 20 % of 320 = 64 px wide, 3 % of 180 = 5 px from the top and right edges, half opaque.
    const ref = path.join(stack.root, 'logo-ref.mkv');
    await ffmpeg(['-i', pal, '-i', logo, '-filter_complex', '[1:v]format=rgba,colorchannelmixer=aa=0.5[w];[0:v][w]overlay=x=W-w-5:y=5', '-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', ref]);
    const region = { x: 320 - 64 - 5, y: 5, width: 64, height: 32 };
    const withLogo = await framePsnr(out, ref, { crop: region });
    expect(withLogo).toHaveLength(75);
    expect(Math.min(...withLogo)).toBeGreaterThanOrEqual(35);
    const plain = await framePsnr(out, pal, { crop: region });
    expect(Math.max(...plain)).toBeLessThan(25);
    const elsewhere = await framePsnr(out, pal, { crop: { x: 0, y: 40, width: 320, height: 140 } });
    expect(Math.min(...elsewhere)).toBeGreaterThanOrEqual(30);
  });

  it('draws a translucent text watermark at its anchor, and nothing elsewhere', async () => {
    const out = path.join(stack.root, 'wm-text.mp4');
    resultOf<StudioResult>(await submitStudio(stack.client, { source: { uri: pal }, output: { uri: out }, recipe: 'proxy-h264-720p', watermark: { visible: { text: 'ed-42', position: 'center', opacity: 0.5, size: 0.1 } } }));
    // The test's own pass: 18 px DejaVu Sans Mono (10 % of 180), half-opaque white, centred, no box.
    const ref = `drawtext=fontfile=${FONT}:fontsize=18:fontcolor=white@0.5:text=ed-42:x=(w-text_w)/2:y=(h-${Math.round(18 * 1.2)})/2`;
    const band = { x: 100, y: 70, width: 120, height: 40 };
    const drawn = await framePsnr(out, pal, { filtersB: ref, crop: band });
    const plain = await framePsnr(out, pal, { crop: band });
    console.log(`text watermark band: ${Math.min(...drawn).toFixed(1)} dB against the reference, ${Math.max(...plain).toFixed(1)} dB against the source`);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(35);
    expect(Math.max(...plain)).toBeLessThan(Math.min(...drawn) - 5);
    expect(Math.min(...(await framePsnr(out, pal, { crop: { x: 0, y: 0, width: 320, height: 60 } })))).toBeGreaterThanOrEqual(30);
  });

  it('refuses an image outside the media root or one that is not a PNG', async () => {
    const refusal = async (image: string) => {
      const e = await stack.client.request('vpipe.studio.submit', { source: { uri: pal }, output: { uri: path.join(stack.root, 'w.mp4') }, recipe: 'proxy-h264-720p', watermark: { visible: { image: { uri: image } } } }, { encoding: 'json' }).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ServiceRequestError);
      return (e as ServiceRequestError).body;
    };
    expect(await refusal('/etc/passwd')).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await refusal(pal)).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'watermark.visible.image.uri' }] });
  });
});

describe('timecode burn-in', () => {
  it('every frame of a chunked 29.97 drop-frame proxy shows its own source timecode and number', async () => {
    const out = path.join(stack.root, 'tc.mp4');
    const ev = await submitStudio(stack.client, {
      source: { uri: ntsc },
      output: { uri: out },
      recipe: 'proxy-h264-720p',
      burnIn: { timecode: {}, frameCounter: true, position: 'bottom-left', fontSize: { px: 16 }, boxOpacity: 1 },
    });
    const r = resultOf<StudioResult>(ev);
    expect(r.burnIn).toEqual({ timecodeStart: '00:59:59;28', timecodeFrom: 'tmcd' });
    expect(r.ves[0]!.chunks).toBeGreaterThanOrEqual(10);
    const facts = await videoFacts(out);
    const sourceFacts = await videoFacts(ntsc);
    expect(facts.frames).toBe(sourceFacts.frames);
    expect(facts.frames).toBeGreaterThan(1800);

    const good = await framePsnr(out, ntsc, { filtersB: reference('00:59:59;28', 0), crop: CROP });
    expect(good).toHaveLength(facts.frames);
    const worst = good.reduce((w, p, i) => (p < good[w]! ? i : w), 0);
    console.log(`timecode crop PSNR: frames 0,1,2,1800 = ${[0, 1, 2, 1800].map((i) => good[i]!.toFixed(1)).join(', ')} dB; worst ${good[worst]!.toFixed(1)} dB at frame ${worst}`);
    for (const i of [0, 1, 2, 1800]) expect(good[i], `frame ${i}`).toBeGreaterThanOrEqual(35);
    // Every frame, so both sides of every chunk join.
    expect(good[worst], `frame ${worst}`).toBeGreaterThanOrEqual(35);

    // The check can fail: a reference one frame late (and a frame counter one off) is far below the floor on most frames.
    const off = await framePsnr(out, ntsc, { filtersB: reference('00:59:59;29', 1), crop: CROP });
    const below = off.filter((p) => p < 35).length;
    console.log(`one frame off: ${below} of ${off.length} frames below 35 dB (best ${Math.max(...off).toFixed(1)} dB)`);
    expect(below / off.length).toBeGreaterThan(0.9);
  }, 300_000);

  it('refuses drop-frame at 25 fps and text over 1,000 characters at submission, naming the field', async () => {
    const refusal = async (body: object) => {
      const e = await stack.client.request('vpipe.studio.submit', body, { encoding: 'json' }).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ServiceRequestError);
      return (e as ServiceRequestError).body;
    };
    const base = { source: { uri: pal }, output: { uri: path.join(stack.root, 'x.mp4') }, recipe: 'proxy-h264-720p' };
    const df = await refusal({ ...base, burnIn: { timecode: { start: '00:00:00;00' } } });
    expect(df).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'burnIn.timecode.start' }] });
    expect(df.message).toMatch(/drop-frame.*29\.97 and 59\.94.*25 fps/);
    const long = await refusal({ ...base, burnIn: { text: ['x'.repeat(1001)] } });
    expect(long).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'burnIn.text.0' }] });
    const ctl = await refusal({ ...base, burnIn: { text: ['tab\there'] } });
    expect(ctl).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'burnIn.lines[0].text' }] });
    expect(ctl.message).toMatch(/control character U\+0009/);
    // The wrong container for the recipe.
    expect(await refusal({ ...base, output: { uri: path.join(stack.root, 'x.mov') } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'output.uri' }] });
  });

  it('renders text that looks like filter-graph syntax literally', async () => {
    const nasty = ["a:b 'q' \\ %{pts} %{e:1+1}", ",drawbox=x=0:y=0:w=iw:h=ih:color=red[out];[in]null", 'x'.repeat(1000)];
    const out = path.join(stack.root, 'nasty.mp4');
    const ev = await submitStudio(stack.client, { source: { uri: pal }, output: { uri: out }, recipe: 'proxy-h264-720p', burnIn: { text: nasty, position: 'top-left', fontSize: { px: 12 }, boxOpacity: 1 } });
    resultOf<StudioResult>(ev);
    // The test's own rendering of the same rows: each row's bytes through a file drawtext reads literally.
    const fs = await import('node:fs/promises');
    const files = await Promise.all(nasty.map(async (t, i) => {
      const f = path.join(stack.root, `ref-row-${i}.txt`);
      await fs.writeFile(f, t);
      return f;
    }));
    // 12 px rows: pad 2, margin 6, row step 18 (line 14); top-left rows start at margin + pad.
    const refs = files.map((f, i) => `drawtext=fontfile=${FONT}:fontsize=12:fontcolor=white:box=1:boxcolor=black@1:boxborderw=2:textfile=${f}:expansion=none:x=8:y=${8 + 18 * i}`).join(',');
    // Row 0 alone (the one with %{…} and quotes), and a reference that expands it as drawtext text would: the literal one matches, the expanded one not.
    const row0 = { x: 0, y: 0, width: 320, height: 24 };
    const literal = await framePsnr(out, pal, { filtersB: refs, crop: row0 });
    const expanded = await framePsnr(out, pal, { filtersB: refs.replace(`textfile=${files[0]}:expansion=none`, `textfile=${files[0]}:expansion=normal`), crop: row0 });
    console.log(`literal rows: min ${Math.min(...literal).toFixed(1)} dB; expanded %{pts}: max ${Math.max(...expanded).toFixed(1)} dB`);
    expect(literal.length).toBe(75);
    expect(Math.min(...literal)).toBeGreaterThanOrEqual(35);
    expect(Math.max(...expanded)).toBeLessThan(30);
    const all = await framePsnr(out, pal, { filtersB: refs, crop: { x: 0, y: 0, width: 320, height: 60 } });
    expect(Math.min(...all)).toBeGreaterThanOrEqual(30);
    // Nothing outside the rows changed: no red box over the picture.
    const below = await framePsnr(out, pal, { crop: { x: 0, y: 70, width: 320, height: 110 } });
    expect(Math.min(...below)).toBeGreaterThanOrEqual(30);
  }, 180_000);
});
