/**
 * The forensic A/B watermark through the whole studio (VIS → two VES variant jobs, 48+ chunks each,
 * chunk sets kept → each recipient's copy assembled from its payload's variant sequence) and its
 * detector (`vpipe.studio.detect`), on real footage (12 s of example-movie.mp4 at 640x360):
 *
 * - imperceptible: each recipient's copy against the unmarked encode (same recipe, same chunks,
 *   VES directly without the mark) is ≥ 45 dB PSNR (ffmpeg's psnr filter, the test's own pass);
 * - 8 recipients, each copy re-encoded at CRF 30 and downscaled to half size: 8/8 attributed;
 * - ≥ 20 negatives — the unmarked encode under several attacks, two other titles (another scene of
 *   the same film, another corpus film) — attributed to nobody.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentChunking, vesRecipe } from '../actors/studio/steps.js';
import type { SubmitInput } from '../actors/studio/workflow.js';
import { CODEWORD_BITS } from '../encoders/forensic/index.js';
import type { DetectResult, StudioResult } from '../schemas/studio.js';
import type { EncodeResult } from '../schemas/ves.js';
import { corpusFile } from './corpus/manifest.js';
import { leakAttack, pool } from './helpers/forensic.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { framePsnr, resultOf, submitStudio } from './helpers/studio.js';

const SECONDS = 12;
const RECIPIENTS = ['ed-42', 'alice@studio.example', 'Bob Ng', 'post-house-7', 'QC desk', 'marketing/emea', 'director', 'ünïcødé'];

let stack: TestStack;
let title: string;
let otherScene: string;
let otherFilm: string;

/** A real-footage mezzanine: a piece of a corpus film at 640x360, short GOPs (cheap chunk starts). */
const mezzanine = (src: string, from: number, out: string) =>
  ffmpeg(['-ss', String(from), '-t', String(SECONDS), '-i', src, '-vf', 'scale=640:360,setsar=1', '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '14', '-g', '12', '-pix_fmt', 'yuv420p', out]);

beforeAll(async () => {
  stack = await startTestStack('studio-forensic', { encoderActors: 2, concurrency: 8 }, async (root) => {
    title = path.join(root, 'title.mp4');
    otherScene = path.join(root, 'other-scene.mp4');
    otherFilm = path.join(root, 'other-film.mp4');
    await Promise.all([mezzanine(corpusFile('example-movie.mp4'), 20, title), mezzanine(corpusFile('example-movie.mp4'), 40, otherScene), mezzanine(corpusFile('vtest.avi'), 10, otherFilm)]);
  });
}, 180_000);

afterAll(async () => {
  await stack?.cleanup();
});

const detect = async (leak: string): Promise<DetectResult> => resultOf<DetectResult>(await submitStudio(stack.client, { leak: { uri: leak }, original: { uri: title } }, 'detect'));

describe('forensic watermark', () => {
  it('is imperceptible, attributes 8/8 recipients after CRF 30 + half size, and nobody for 20+ negatives', async () => {
    const copy = (i: number) => path.join(stack.root, 'copies', `copy-${i}.mp4`);
    fs.mkdirSync(path.join(stack.root, 'copies'));
    const submit = (i: number) => submitStudio(stack.client, { source: { uri: title }, output: { uri: copy(i) }, recipe: 'proxy-h264-720p', watermark: { forensic: { recipient: RECIPIENTS[i]! } } });
    // The first recipient's job encodes both variants; the others, submitted together, reuse them.
    const first = resultOf<StudioResult>(await submit(0));
    expect(first.watermark.forensic).toMatchObject({ recipient: RECIPIENTS[0], variantsReused: false });
    expect(first.watermark.forensic!.segments).toBeGreaterThanOrEqual(CODEWORD_BITS);
    expect(first.ves).toHaveLength(2);
    const rest = await Promise.all(RECIPIENTS.slice(1).map((_, k) => submit(k + 1).then((ev) => resultOf<StudioResult>(ev))));
    for (const r of rest) expect(r.watermark.forensic!.variantsReused).toBe(true);
    const payloads = new Set([first, ...rest].map((r) => r.watermark.forensic!.payload));
    expect(payloads.size).toBe(RECIPIENTS.length);

    // The unmarked encode: the same VES recipe and chunking, without the mark.
    const job = { recipe: 'proxy-h264-720p' } as SubmitInput;
    const recipe = { ...vesRecipe(job, { width: 640, height: 360 }), chunking: segmentChunking(SECONDS, SECONDS * 30) };
    const unmarked = path.join(stack.root, 'unmarked.mp4');
    // (Its validation is the variants' job: both were validated by VVS inside the studio job.)
    const vesJob = await stack.client.submit('vpipe.ves.encode', { source: { uri: title }, recipe, output: { uri: unmarked }, validate: false }, 'json');
    const ves = resultOf<EncodeResult>(await stack.client.waitForResult('ves', vesJob, { timeoutMs: 300_000 }));
    expect(ves.chunks).toBe(first.watermark.forensic!.segments);

    const psnrs = await pool(2, RECIPIENTS.map((_, i) => () => framePsnr(copy(i), unmarked)));
    const means = psnrs.map((p) => p.reduce((s, x) => s + x, 0) / p.length);
    console.log(`marked vs unmarked PSNR per recipient (mean dB): ${means.map((m) => m.toFixed(2)).join(', ')}; worst frame ${Math.min(...psnrs.flat()).toFixed(2)} dB`);
    for (const m of means) expect(m).toBeGreaterThanOrEqual(45);

    // 8 leaks: CRF 30, half size.
    const leaks = await pool(2, RECIPIENTS.map((_, i) => () => leakAttack(copy(i), path.join(stack.root, 'copies', `leak-${i}.mp4`), { crf: 30, scale: 0.5 })));
    const found = await pool(2, leaks.map((l) => () => detect(l)));
    console.log(`attributions: ${found.map((d, i) => `${RECIPIENTS[i]} → ${d.recipient} (${d.confidence.toFixed(3)})`).join('; ')}`);
    expect(found.map((d) => d.recipient)).toEqual(RECIPIENTS);

    // Negatives: the unmarked encode under attacks, and two other titles.
    const attacks = [
      { crf: 23, scale: 1 },
      { crf: 30, scale: 1 },
      { crf: 30, scale: 0.5 },
      { crf: 26, scale: 0.75 },
      { crf: 18, scale: 0.5 },
    ];
    const negatives = [unmarked, title, otherScene, otherFilm].flatMap((src, s) => attacks.map((a, k) => () => leakAttack(src, path.join(stack.root, 'copies', `neg-${s}-${k}.mp4`), a)));
    const negLeaks = await pool(2, negatives);
    const negFound = await pool(2, negLeaks.map((l) => () => detect(l)));
    const falsePositives = negFound.filter((d) => d.recipient !== null || d.detected);
    console.log(`negatives: ${negFound.length} tries, ${falsePositives.length} attributed; highest confidence ${Math.max(...negFound.map((d) => d.confidence)).toFixed(3)}`);
    expect(negFound.length).toBeGreaterThanOrEqual(20);
    expect(falsePositives).toEqual([]);
  }, 900_000);
});
