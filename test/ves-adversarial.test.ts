/**
 * VES on files built to be awkward (test/helpers/adversarial.ts): open GOPs,
 * intra refresh, an edit list, every sample marked sync, an MPEG-TS timestamp
 * wrap, duplicated timestamps, a trailing discarded packet and one-tick
 * jitter in a 90 kHz time base. Each is chunked so that chunks start inside
 * the awkward part, and proven against its source with the test's own
 * ffmpeg pass, as the real corpus is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topologyFromEnv } from '../runtime/nats/topology.js';
import * as adv from './helpers/adversarial.js';
import * as media from './helpers/media.js';
import { videoStream } from './helpers/measure.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { proveChunked, recipeFor } from './helpers/ves-proof.js';

const T = adv.ADVERSARIAL_TRUTH;
const CASES: { name: string; make: (dir: string) => Promise<string>; frames: number; seconds: number; codecs: string[]; repaired?: number[]; shown?: { width: number; height: number } }[] = [
  { name: 'open GOP (non-IDR sync samples with leading B-frames)', make: adv.makeOpenGop, frames: T.openGop.frames, seconds: 4, codecs: ['h264', 'hevc'] },
  { name: 'intra refresh (key-flagged frames that are not entry points)', make: adv.makeIntraRefresh, frames: T.intraRefresh.frames, seconds: 4, codecs: ['h264', 'vp9'] },
  { name: 'MP4 edit list from a stream copy that started between keyframes', make: adv.makeEditList, frames: T.editList.frames, seconds: 2.7, codecs: ['h264'] },
  { name: 'MP4 with every sample marked sync', make: adv.makeAllSync, frames: T.allSync.frames, seconds: 2, codecs: ['h264', 'av1'] },
  { name: 'MPEG-TS whose 33-bit timestamps wrap', make: adv.makeTsWrap, frames: T.tsWrap.frames, seconds: 4, codecs: ['h264'] },
  { name: 'duplicated timestamps', make: adv.makeDuplicateTimestamps, frames: T.duplicateTimestamps.frames, seconds: 2, codecs: ['h264'], repaired: [T.duplicateTimestamps.duplicate] },
  { name: 'trailing packet discarded by the edit list', make: adv.makeTrailingDiscard, frames: T.trailingDiscard.frames, seconds: 2, codecs: ['h264', 'vp9'] },
  { name: 'one-tick jitter at 30000/1001 in 1/90000', make: adv.makeJitter90k, frames: T.jitter90k.frames, seconds: 4, codecs: ['h264', 'hevc'] },
  // A phone-style display matrix: chunks decode unturned (to match the index) and must turn as a player does.
  { name: 'display matrix (a quarter turn, as phones write)', make: media.makeRotated, frames: 50, seconds: 2, codecs: ['h264'], shown: { width: 240, height: 320 } },
];

let stack: TestStack;
const files = new Map<string, string>();

beforeAll(async () => {
  stack = await startTestStack('ves-adversarial', { concurrency: 2, encoderActors: 2, topology: { ...topologyFromEnv({}), ackWaitMs: 10_000 } }, async (dir) => {
    for (const c of CASES) files.set(c.name, await c.make(dir));
  });
}, 180_000);

afterAll(async () => {
  await stack?.cleanup();
});

describe('adversarial sources, chunked and proven frame-exact against the source', () => {
  for (const c of CASES) {
    for (const codec of c.codecs) {
      it(`${c.name} → ${codec}`, async () => {
        const src = files.get(c.name)!;
        const slug = `${c.make.name}.${codec}`;
        const { chunked } = await proveChunked(stack.client, stack.root, src, c.frames, recipeFor(codec, c.seconds), slug, { repairedFrames: c.repaired });
        expect(chunked.result.chunks).toBeGreaterThanOrEqual(3);
        if (c.shown) expect(await videoStream(chunked.out)).toMatchObject(c.shown);
      }, 180_000);
    }
  }
});
