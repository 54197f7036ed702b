/**
 * The test media itself: the real-media corpus (files from Debian packages,
 * fetched by `bash test/corpus/fetch-corpus.sh`) is complete, unchanged and
 * decodes to the manifest's frame counts; and each generated adversarial
 * file really has the property it is named for. A missing corpus is a
 * failure with the fetch command, never a skip.
 */
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../runtime/media/tools.js';
import { CORPUS, corpusFile } from './corpus/manifest.js';
import * as adv from './helpers/adversarial.js';

const T = adv.ADVERSARIAL_TRUTH;

async function ffprobeJson<R>(file: string, args: string[]): Promise<R> {
  const r = await runTool('ffprobe', ['-v', 'error', ...args, '-of', 'json', `file:${file}`], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ffprobe ${args.join(' ')} failed on ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as R;
}

describe.concurrent('real-media corpus', () => {
  it('lists each file once, from a package path', ({ expect }) => {
    expect(CORPUS.length).toBe(13);
    for (const e of CORPUS) expect(e.path.endsWith(e.name)).toBe(true);
  });

  for (const entry of CORPUS) {
    it(`${entry.name} (${entry.pkg}): sha256, stream layout and ${entry.frames} decoded frames`, async ({ expect }) => {
      const file = corpusFile(entry.name); // throws with the fetch hint when missing
      expect(createHash('sha256').update(await readFile(file)).digest('hex')).toBe(entry.sha256);
      const [video, all] = await Promise.all([
        ffprobeJson<{ streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] }>(file, [
          '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames',
        ]),
        ffprobeJson<{ streams: { codec_type: string }[] }>(file, ['-show_entries', 'stream=codec_type']),
      ]);
      const v = video.streams[0];
      expect({ codec: v?.codec_name, width: v?.width, height: v?.height, frames: Number(v?.nb_read_frames) }).toEqual({
        codec: entry.codec, width: entry.width, height: entry.height, frames: entry.frames,
      });
      expect(all.streams.some((s) => s.codec_type === 'audio')).toBe(entry.hasAudio);
    });
  }
});

describe('adversarial files', () => {
  let dir: string;
  let files: Record<keyof typeof T, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vpipe-adversarial-'));
    const [openGop, intraRefresh, editList, allSync, tsWrap, duplicateTimestamps, trailingDiscard, jitter90k] = await Promise.all([
      adv.makeOpenGop(dir), adv.makeIntraRefresh(dir), adv.makeEditList(dir), adv.makeAllSync(dir),
      adv.makeTsWrap(dir), adv.makeDuplicateTimestamps(dir), adv.makeTrailingDiscard(dir), adv.makeJitter90k(dir),
    ]);
    files = { openGop, intraRefresh, editList, allSync, tsWrap, duplicateTimestamps, trailingDiscard, jitter90k };
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('decode to their truth frame counts', async () => {
    const counts = await Promise.all(Object.values(files).map((f) => adv.countFrames(f)));
    expect(Object.fromEntries(Object.keys(files).map((k, i) => [k, counts[i]]))).toEqual(
      Object.fromEntries(Object.entries(T).map(([k, t]) => [k, t.frames])),
    );
  });

  it('are byte-identical when made again', async () => {
    const again = await mkdtemp(path.join(tmpdir(), 'vpipe-adversarial-again-'));
    try {
      const [a, b] = await Promise.all([adv.makeOpenGop(again), adv.makeTrailingDiscard(again)]);
      const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
      expect(await sha(a)).toBe(await sha(files.openGop));
      expect(await sha(b)).toBe(await sha(files.trailingDiscard));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('openGop: non-IDR sync samples whose leading B-frames are lost when decoding starts there', async () => {
    const packets = await adv.h264Packets(files.openGop);
    const sync = adv.mp4SyncSamples(await readFile(files.openGop));
    expect(sync).toHaveLength(5);
    expect(packets[(sync?.[0] ?? 0) - 1]?.nalTypes).toContain(5);
    for (const n of sync!.slice(1)) {
      const key = packets[n - 1]!;
      expect(key.nalTypes).not.toContain(5);
      expect(key.recoveryFrameCnt).toBe(0);
      // The packets right after it in decode order are shown before it.
      const leading = packets.slice(n).findIndex((p) => (p.pts ?? 0) > (key.pts ?? 0));
      expect(leading).toBe(T.openGop.leadingFrames);
    }
    // Decode from the second GOP's sync sample (display frame 24 = 0.96 s).
    const linear = await adv.frameMd5(files.openGop);
    const seek = ['-noaccurate_seek', '-ss', String(T.openGop.gop / 25)];
    const fromKey = await adv.frameMd5(files.openGop, seek);
    expect(Math.min(...fromKey.keys())).toBe(T.openGop.gop); // leading frames 21-23 silently dropped
    const showAll = await adv.frameMd5(files.openGop, ['-flags2', '+showall', ...seek]);
    for (const f of [21, 22, 23]) expect(showAll.get(f)).not.toBe(linear.get(f)); // ...or output corrupt
    for (const f of [24, 30, 47]) expect(fromKey.get(f)).toBe(linear.get(f));
  });

  it('intraRefresh: key-flagged sync samples are P frames that decode wrongly until the recovery point', async () => {
    const packets = await adv.h264Packets(files.intraRefresh);
    const sync = adv.mp4SyncSamples(await readFile(files.intraRefresh));
    expect(sync).toEqual([1, 26, 51, 76]);
    for (const n of sync!.slice(1)) {
      expect(packets[n - 1]?.key).toBe(true);
      expect(packets[n - 1]?.nalTypes).not.toContain(5);
      expect(packets[n - 1]?.recoveryFrameCnt).toBe(T.intraRefresh.recoveryFrames);
    }
    const linear = await adv.frameMd5(files.intraRefresh);
    const seek = ['-noaccurate_seek', '-ss', '1'];
    const fromKey = await adv.frameMd5(files.intraRefresh, seek);
    expect(Math.min(...fromKey.keys())).toBe(T.intraRefresh.keyint + T.intraRefresh.recoveryFrames);
    const showAll = await adv.frameMd5(files.intraRefresh, ['-flags2', '+showall', ...seek]);
    const differ = [...showAll].filter(([pts, md5]) => linear.get(pts) !== md5).map(([pts]) => pts);
    expect(differ).toEqual(Array.from({ length: T.intraRefresh.recoveryFrames }, (_, i) => T.intraRefresh.keyint + i));
  });

  it('editList: the leading packets are flagged discard and not shown', async () => {
    const packets = await adv.probePackets(files.editList);
    expect(packets).toHaveLength(T.editList.packets);
    expect(packets.filter((p) => p.flags.includes('D'))).toHaveLength(T.editList.discarded);
    const s = await ffprobeJson<{ streams: { nb_frames: string }[] }>(files.editList, ['-select_streams', 'v:0', '-show_entries', 'stream=nb_frames']);
    expect(Number(s.streams[0]?.nb_frames)).toBe(T.editList.packets); // the header counts samples, not shown frames
    const frames = await adv.probeFrames(files.editList);
    expect(frames[0]?.pts).toBe(0);
  });

  it('allSync: no stss, every sample a keyframe in the index, and a seek lands on a B-frame', async () => {
    const buf = await readFile(files.allSync);
    expect(adv.mp4SyncSamples(buf)).toBeNull();
    expect(adv.mp4Find(buf, adv.mp4VideoTrak(buf), 'mdia', 'minf', 'stbl', 'free')).toBeDefined();
    const index = await adv.movIndex(files.allSync);
    expect(index).toHaveLength(T.allSync.frames);
    expect(index.every((e) => e.keyframe)).toBe(true);
    const types = new Set((await adv.probeFrames(files.allSync)).map((f) => f.pictType));
    expect([...types].sort()).toEqual(['B', 'I', 'P']);
    const afterSeek = await ffprobeJson<{ frames?: unknown[] }>(files.allSync, ['-read_intervals', '1.4%+#5', '-select_streams', 'v:0', '-show_entries', 'frame=pts']);
    expect(afterSeek.frames ?? []).toHaveLength(0);
  });

  it('tsWrap: stored pts wrap the 33-bit clock mid-file; read back they are continuous', async () => {
    const raw = await adv.probePackets(files.tsWrap, { raw: true });
    expect(raw[0]?.pts).toBe(2 ** 33 - 2 * 90_000);
    const w = T.tsWrap.wrapAfterPacket;
    expect(raw[w]?.pts).toBe(2 ** 33 - 3600);
    expect(raw[w + 1]?.pts).toBe(0);
    const corrected = (await adv.probePackets(files.tsWrap)).map((p) => p.dts ?? NaN);
    expect(corrected.slice(1).every((d, i) => d - (corrected[i] ?? NaN) === 3600)).toBe(true);
    expect(corrected[0]).toBe(-2 * 90_000);
  });

  it('duplicateTimestamps: two consecutive frames share a pts, and the next slot is empty', async () => {
    const pts = (await adv.probeFrames(files.duplicateTimestamps)).map((f) => f.pts);
    const { duplicateOf, duplicate } = T.duplicateTimestamps;
    expect(pts[duplicate]).toBe(pts[duplicateOf]);
    expect(pts[duplicateOf]).toBe(960);
    expect(pts).not.toContain(1000);
    expect(pts.filter((p, i) => i > 0 && p === pts[i - 1])).toHaveLength(1);
  });

  it('trailingDiscard: one packet more than frames, the last one discarded by the edit list', async () => {
    const packets = await adv.probePackets(files.trailingDiscard);
    expect(packets).toHaveLength(T.trailingDiscard.packets);
    expect(packets.map((p) => p.flags.includes('D')).lastIndexOf(false)).toBe(T.trailingDiscard.packets - 2);
    expect(packets.at(-1)?.flags).toContain('D');
    expect(await adv.countFrames(files.trailingDiscard)).toBe(T.trailingDiscard.packets - 1);
  });

  it('jitter90k: B-frames at 30000/1001 in 1/90000 with one-tick jitter', async () => {
    const s = await adv.probeVideoStream(files.jitter90k);
    expect(s).toMatchObject({ time_base: '1/90000', r_frame_rate: '30000/1001' });
    expect(s.has_b_frames).toBeGreaterThan(0);
    const deltas = await adv.displayDeltas(files.jitter90k);
    expect(deltas).toHaveLength(T.jitter90k.frames - 1);
    expect(new Set(deltas)).toEqual(new Set([3002, 3003, 3004]));
    const span = deltas.reduce((a, b) => a + b, 0);
    expect(Math.abs(span - (T.jitter90k.frames - 1) * T.jitter90k.nominalTicks)).toBeLessThanOrEqual(1);
  });
});
