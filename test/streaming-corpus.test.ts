/**
 * The streaming orchestrator end to end on two files of the real corpus:
 * oa4_launch.webm (VP8 + Vorbis, a millisecond time base) with a per-title
 * ladder (CAS trial encodes scored with libvmaf, LGS), Megamind.avi (XviD
 * with packed B-frames, non-square pixels, AC-3) with the fixed ladder. Each
 * package passes the validator, each packaged rung is proven against the
 * source, and it plays in Debian's Chromium with hls.js and dash.js.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile } from './corpus/manifest.js';
import { expectPlays, expectValidPackage, ffprobeJson, proveRungs, stream, type StreamingHarness, startStreamingHarness } from './helpers/streaming-e2e.js';

const CORPUS_FILES = ['oa4_launch.webm', 'Megamind.avi'] as const;
let h: StreamingHarness;

beforeAll(async () => {
  h = await startStreamingHarness('streaming-corpus', async (root) => {
    for (const f of CORPUS_FILES) fs.copyFileSync(corpusFile(f), path.join(root, f));
  });
}, 180_000);

afterAll(async () => {
  await h?.close();
});

describe('streaming orchestrator on the real corpus, every service real', { timeout: 900_000 }, () => {
  for (const [file, mode] of [
    ['oa4_launch.webm', 'per-title'],
    ['Megamind.avi', 'fixed'],
  ] as const) {
    it(`the real corpus file ${file}: ${mode} ladder → packaged, validated, proven, playing`, async () => {
      const src = path.join(h.stack.root, file);
      const frames = (await ffprobeJson(src, ['-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames'])).streams[0]!.nb_read_frames;
      const { report, dir } = await stream(h, {
        source: { uri: `file://${src}` },
        output: { uri: `file://${h.stack.root}/out/${file.replace(/\W/g, '_')}/` },
        ladder: { mode, constraints: { rungs: 2 } },
      });
      expect(report.rungs.length).toBeGreaterThanOrEqual(2);
      for (const r of report.rungs) expect(r.vmaf, `${r.id} VMAF`).toBeGreaterThan(20);
      expect(report.audio.length).toBe(1);
      await expectValidPackage(dir);
      await proveRungs(src, Number(frames), dir, report);
      await expectPlays(h, dir, 1, 0);
    });
  }
});
