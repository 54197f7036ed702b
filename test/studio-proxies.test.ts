/**
 * Every studio recipe on a real PAL clip nobody here made (the first 6 s of balle-jbart.mp4:
 * 720x576 at 16:15, 25 fps, AAC stereo), with a timecode and text burn-in: the output has the recipe's codec,
 * profile, pixel format and container, every source frame at the source's time (intra codecs:
 * every frame a keyframe, chunked frame-exactly), the recipe's audio, and — by the test's own
 * ffmpeg pass outside the burn-in band — the source's pictures (per-frame PSNR floor).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUDIO_RECIPES } from '../actors/studio/recipes.js';
import { runTool } from '../runtime/media/tools.js';
import { STUDIO_RECIPE_NAMES, type StudioResult } from '../schemas/studio.js';
import { corpusFile } from './corpus/manifest.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { framePsnr, resultOf, submitStudio, videoFacts } from './helpers/studio.js';
import { verifyOutput } from './helpers/verify-output.js';

let stack: TestStack;
let source: string;
const DISPLAY = { width: 768, height: 576 };
/** Per-frame PSNR floor outside the burn-in (the lightest recipe, DNxHR LB, is the one near it). */
const FLOOR_DB = 30;

beforeAll(async () => {
  stack = await startTestStack('studio-proxies', { encoderActors: 2, concurrency: 6 }, async (root) => {
    // The first 6 s of the real file, cut without re-encoding (the source's own frames, GOP and audio).
    source = path.join(root, 'balle-jbart.mp4');
    await ffmpeg(['-i', corpusFile('balle-jbart.mp4'), '-t', '6', '-map', '0', '-c', 'copy', source]);
  });
}, 60_000);

afterAll(async () => {
  await stack?.cleanup();
});

async function majorBrand(file: string): Promise<string> {
  const r = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format_tags=major_brand', '-of', 'csv=p=0', `file:${file}`], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

describe('studio recipes on real footage', () => {
  it.each(STUDIO_RECIPE_NAMES)('%s', async (name) => {
    const def = STUDIO_RECIPES[name];
    const out = path.join(stack.root, `${name}.${def.container}`);
    const ev = await submitStudio(stack.client, {
      source: { uri: source },
      output: { uri: out },
      recipe: name,
      burnIn: { text: ['balle-jbart – CONFIDENTIAL'], timecode: { start: '10:00:00:00' }, position: 'bottom-center' },
    });
    const r = resultOf<StudioResult>(ev);
    expect(r.output).toMatchObject({ uri: out, container: def.container, width: DISPLAY.width, height: DISPLAY.height });
    expect(r.burnIn).toEqual({ timecodeStart: '10:00:00:00', timecodeFrom: 'request' });
    // Chunked: the frame-exact joins are part of what is proved.
    expect(r.ves[0]!.chunks).toBeGreaterThanOrEqual(3);

    const [src, f] = await Promise.all([videoFacts(source), videoFacts(out)]);
    expect({ codec: f.codec, profile: f.profile, pixelFormat: f.pixFmt }).toEqual(def.expect);
    expect([f.width, f.height]).toEqual([DISPLAY.width, DISPLAY.height]);
    expect(await majorBrand(out)).toBe(def.container === 'mov' ? 'qt' : 'isom');
    expect(f.frames).toBe(src.frames);
    if (def.container === 'mov') expect(f.keyframes).toBe(f.frames);
    expect(f.audio).toEqual(def.container === 'mov' ? { codec: 'pcm_s24le', channels: 2, sampleRate: 48000 } : { codec: 'aac', channels: 2, sampleRate: 48000 });

    // The source's pictures at the source's times, outside the burn-in band (bottom 120 lines).
    const check = await verifyOutput(source, out, { ...DISPLAY, crop: { x: 0, y: 0, width: DISPLAY.width, height: DISPLAY.height - 120 } });
    console.log(`${name}: ${f.frames} frames, ${r.ves[0]!.chunks} chunks, PSNR outside the burn-in min ${check.minPsnr.toFixed(1)} mean ${check.meanPsnr.toFixed(1)} dB, ${(r.output.sizeBytes / 1e6).toFixed(1)} MB, ${r.seconds.total} s`);
    expect(check.outputFrames).toBe(check.sourceFrames);
    expect(check.maxTimeErrorSeconds).toBeLessThan(0.5 / 25);
    expect(check.minPsnr).toBeGreaterThanOrEqual(FLOOR_DB);
    // The burn-in band did change: the proxy is not a plain transcode.
    const band = await framePsnr(out, source, { filtersB: `scale=${DISPLAY.width}:${DISPLAY.height}`, crop: { x: 0, y: DISPLAY.height - 90, width: DISPLAY.width, height: 90 } });
    expect(band.reduce((a, b) => a + b, 0) / band.length).toBeLessThan(25);
  }, 300_000);
});
