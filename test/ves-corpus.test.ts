/**
 * VES on real files nobody here made (test/corpus: Debian packages' sample
 * videos), every one chunked and proven against its source with the test's
 * own ffmpeg pass: frame count (the manifest's truth), frame times, PTS and
 * DTS order, every frame's PSNR, and quality next to an unchunked encode.
 * H.264 on every file; HEVC, VP9 and AV1 across the set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topologyFromEnv } from '../runtime/nats/topology.js';
import { CORPUS, corpusFile } from './corpus/manifest.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { proveChunked, recipeFor } from './helpers/ves-proof.js';

/** Other codecs per file (h264 runs on all): each codec on at least two files of different kinds. */
const EXTRA: Record<string, string[]> = {
  'balle-jbart.mp4': ['hevc'],
  'k3bphotosvcd.mpg': ['hevc'],
  'tree.avi': ['vp9'],
  'homer.avi': ['vp9'],
  'oa4_launch.webm': ['vp9'],
  'anim-1.mov': ['av1'],
  'base_pal.mpg': ['av1'],
  'Effet_force_magnetique.ogv': ['av1'],
  'Megamind.avi': ['hevc'],
};

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack('ves-corpus', { concurrency: 2, encoderActors: 2, topology: { ...topologyFromEnv({}), ackWaitMs: 10_000 } }, async (dir) => {
    for (const e of CORPUS) fs.copyFileSync(corpusFile(e.name), path.join(dir, e.name));
  });
}, 180_000);

afterAll(async () => {
  await stack?.cleanup();
});

/** Seconds of the file from its frame count and rate would need a probe; the manifest's frames and a nominal rate are enough to size chunks. */
const SECONDS: Record<string, number> = {
  'vtest.avi': 79.5, 'Megamind.avi': 11.26, 'tree.avi': 29.6, 'balle-jbart.mp4': 10.2, 'balle1-vp9.avi': 1.6, 'Effet_force_magnetique.ogv': 1.36,
  'base_pal.mpg': 0.96, 'k3bphotosvcd.mpg': 10, 'oa4_launch.webm': 8.08, 'example-movie.mp4': 61, 'anim-1.mov': 3.03, 'homer.avi': 3.44, 'soundwave.mp4': 208.5,
};

describe('real mezzanines, chunked and proven frame-exact against the source', () => {
  for (const entry of CORPUS) {
    for (const codec of ['h264', ...(EXTRA[entry.name] ?? [])]) {
      it(`${entry.name} (${entry.codec}, ${entry.frames} frames) → ${codec}`, async () => {
        const src = path.join(stack.root, entry.name);
        const seconds = SECONDS[entry.name] ?? 10;
        const { chunked } = await proveChunked(stack.client, stack.root, src, entry.frames, recipeFor(codec, seconds, entry.frames < 50 ? 3 : 4), `${entry.name}.${codec}`);
        expect(chunked.result.chunks).toBeGreaterThanOrEqual(entry.frames >= 24 ? 3 : 1);
        expect(chunked.result.source?.frames).toBe(entry.frames);
      }, 300_000);
    }
  }
});
