/**
 * VIS's frame-index issue rules (actors/vis/compute/issues-index.ts): pure tests on hand-built
 * stats, then the whole VIS compute path (probe → scan with index capture → buildFrameIndex →
 * analyse) on every real corpus file and every adversarial file, asserting the decoded frame
 * counts and exactly which of the index codes each file raises.
 *
 * Several files behave differently from a first guess; each case is explained where it is
 * asserted, and the "what the seek check misses" block pins the evidence down with ffmpeg.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, type IssueContext, probe, type ProbeData, scan, type ScanData } from '../actors/vis/compute/index.js';
import { parseFrameCrc, ShowinfoReader } from '../actors/vis/compute/frame-index.js';
import { buildFrameIndex } from '../actors/vis/compute/index-build.js';
import { INDEX_ISSUE_CODES, indexRules } from '../actors/vis/compute/issues-index.js';
import { findIssues } from '../actors/vis/compute/issues.js';
import { contentHash, frameIndexKey } from '../runtime/nats/frame-index-store.js';
import { inputArgs, runTool } from '../runtime/media/tools.js';
import { FrameIndex, type FrameIndexStats, type FrameIndexSummary } from '../schemas/frame-index.js';
import { InspectResult, Issue, type IssueCode } from '../schemas/vis.js';
import { CORPUS, corpusFile } from './corpus/manifest.js';
import * as adv from './helpers/adversarial.js';

const INDEX_CODES = new Set<IssueCode>(INDEX_ISSUE_CODES);
const indexCodes = (issues: Issue[]): IssueCode[] => issues.map((i) => i.code).filter((c) => INDEX_CODES.has(c)).sort();

// ---------------------------------------------------------------- pure rules

/** Stats of a clean, closed-GOP file: nothing for the rules to say. */
function cleanStats(over: Partial<FrameIndexStats> = {}): FrameIndexStats {
  return {
    frames: 250,
    packets: 250,
    discardedPackets: 0,
    nonIncreasingTimestamps: 0,
    duplicateTimestamps: 0,
    jitteredDurations: 0,
    maxJitterTicks: 0,
    keyFrames: 10,
    checkedRandomAccessPoints: 9,
    verifiedRandomAccessPoints: 9,
    failedRandomAccessPoints: [],
    editList: false,
    decodeErrors: 0,
    decodeSeconds: 1,
    verifySeconds: 1,
    ...over,
  };
}

function summary(stats: FrameIndexStats, over: Partial<FrameIndexSummary> = {}): FrameIndexSummary {
  return {
    contentHash: 'a'.repeat(64),
    key: `${'a'.repeat(64)}.v1`,
    timeBase: { num: 1, den: 12800 },
    frames: stats.frames,
    durationSeconds: stats.frames / 25,
    randomAccessPoints: stats.verifiedRandomAccessPoints + 1,
    stats,
    ...over,
  };
}

/** A context with only what the index rules read (scan and primary); the rest is inert. */
function ctx(frameIndex: FrameIndexSummary | null, frameIndexError: string | null = null): IssueContext {
  const scanData: ScanData = {
    kind: 'vis.scan',
    mode: 'full',
    skippedReason: null,
    streamIndex: 0,
    framesDecoded: frameIndex?.frames ?? 0,
    decodedDurationSeconds: frameIndex?.durationSeconds ?? null,
    idet: null,
    decodeErrors: 0,
    errorSamples: [],
    truncationSigns: [],
    exitCode: 0,
    frameIndex,
    frameIndexError,
  };
  const probeData = { kind: 'vis.probe', imageSequence: false, readable: true, error: null, container: null, streams: [], primaryVideoIndex: 0, timing: null, ffprobeVersion: 'test' } as ProbeData;
  return { probe: probeData, scan: scanData, video: [], audio: [], primary: null, primaryProbe: null, frameRate: null, scanTypeFromPictures: false };
}

const run = (c: IssueContext): Issue[] => {
  const out = indexRules.flatMap((r) => r(c));
  for (const i of out) {
    expect(Issue.parse(i)).toStrictEqual(i);
    expect(JSON.parse(JSON.stringify(i))).toStrictEqual(i);
  }
  return out;
};
const only = (c: IssueContext, code: IssueCode): Issue => {
  const hits = run(c).filter((i) => i.code === code);
  expect(hits).toHaveLength(1);
  return hits[0]!;
};

describe('frame-index issue rules (pure)', () => {
  it('raise nothing for a clean index, a sampled scan (no index) or an index-less skipped scan', () => {
    expect(run(ctx(summary(cleanStats())))).toEqual([]);
    expect(run(ctx(null))).toEqual([]);
    // Intra-only sources: every frame key, all checked points verified.
    expect(run(ctx(summary(cleanStats({ keyFrames: 250, checkedRandomAccessPoints: 40, verifiedRandomAccessPoints: 40 }))))).toEqual([]);
    // Nothing checked (one GOP): nothing failed.
    expect(run(ctx(summary(cleanStats({ keyFrames: 1, checkedRandomAccessPoints: 0, verifiedRandomAccessPoints: 0 }))))).toEqual([]);
    // packets unknown (ffprobe failed its pass): no packet comparison.
    expect(run(ctx(summary(cleanStats({ packets: null }))))).toEqual([]);
  });

  it('are registered with the other rules, and their codes are in the IssueCode enum', () => {
    const c = ctx(summary(cleanStats({ editList: true })));
    expect(findIssues(c).map((i) => i.code)).toContain('EDIT_LIST');
    for (const code of INDEX_ISSUE_CODES) expect(() => Issue.parse({ severity: 'info', code, message: 'x' })).not.toThrow();
  });

  it('SYNC_NOT_RANDOM_ACCESS: how many of how many failed, examples, consequence and causes', () => {
    const stats = cleanStats({ keyFrames: 12, checkedRandomAccessPoints: 10, verifiedRandomAccessPoints: 3, failedRandomAccessPoints: [24, 48, 72, 96, 120, 144, 168] });
    const i = only(ctx(summary(stats)), 'SYNC_NOT_RANDOM_ACCESS');
    expect(i.severity).toBe('warning');
    expect(i.streamIndex).toBe(0);
    expect(i.message).toMatch(/^7 of 10 key frames checked \(of 12 the decoder flags key\)/);
    expect(i.message).toContain('frames 24, 48, 72, 96, 120, …');
    expect(i.message).toMatch(/pre-roll from an earlier verified point/);
    expect(i.message).toMatch(/open GOPs, intra refresh, non-IDR I frames marked sync, packed B-frames in AVI/);
    expect(i.message).toContain('3 verified points');
    expect(i.details).toEqual({ keyFrames: 12, checked: 10, verified: 3, failed: 7, failedFrames: [24, 48, 72, 96, 120, 144, 168] });
  });

  it('SYNC_NOT_RANDOM_ACCESS: when none verified, says frame 0 is the only point; counts past the 20 listed frames', () => {
    const listed = Array.from({ length: 20 }, (_, k) => 7 * (k + 1));
    const i = only(ctx(summary(cleanStats({ keyFrames: 300, checkedRandomAccessPoints: 40, verifiedRandomAccessPoints: 0, failedRandomAccessPoints: listed }))), 'SYNC_NOT_RANDOM_ACCESS');
    expect(i.message).toMatch(/^40 of 40 key frames checked/);
    expect(i.message).toMatch(/frame 0 is the only verified point/);
    expect(i.details).toMatchObject({ failed: 40 });
  });

  it('DISCARDED_PACKETS: info when an edit list explains them, warning when packets vanish unexplained', () => {
    const el = only(ctx(summary(cleanStats({ frames: 67, packets: 75, discardedPackets: 8, editList: true }))), 'DISCARDED_PACKETS');
    expect(el.severity).toBe('info');
    expect(el.message).toMatch(/^8 video packets of 75 are not shown by the decoder: the container flags them discard/);
    expect(el.message).toContain('frame count (67) is what a decoder shows');
    const one = only(ctx(summary(cleanStats({ frames: 49, packets: 50, discardedPackets: 1 }))), 'DISCARDED_PACKETS');
    expect(one.message).toMatch(/^1 video packet of 50 is not shown/);
    const lost = only(ctx(summary(cleanStats({ frames: 290, packets: 300 }))), 'DISCARDED_PACKETS');
    expect(lost.severity).toBe('warning');
    expect(lost.message).toMatch(/^10 video packets of 300 .*10 produce no picture although nothing asks/);
    expect(lost.details).toMatchObject({ packets: 300, frames: 290, discardedPackets: 0, unexplained: 10 });
    const mixed = only(ctx(summary(cleanStats({ frames: 290, packets: 300, discardedPackets: 4 }))), 'DISCARDED_PACKETS');
    expect(mixed.severity).toBe('warning');
    expect(mixed.message).toMatch(/4 are flagged discard .* and 6 produce no picture/);
    // Discard flags without a packet count still raise it.
    expect(only(ctx(summary(cleanStats({ packets: null, discardedPackets: 2 }))), 'DISCARDED_PACKETS').severity).toBe('info');
  });

  it('EDIT_LIST: info, says vpipe follows the decoder', () => {
    const i = only(ctx(summary(cleanStats({ editList: true }))), 'EDIT_LIST');
    expect(i.severity).toBe('info');
    expect(i.message).toMatch(/edit list cuts or delays media/);
    expect(i.message).toMatch(/vpipe follows what the decoder shows/);
  });

  it('NON_INCREASING_TIMESTAMPS: warning with the duplicate count and remux advice', () => {
    const dup = only(ctx(summary(cleanStats({ nonIncreasingTimestamps: 1, duplicateTimestamps: 1 }))), 'NON_INCREASING_TIMESTAMPS');
    expect(dup.severity).toBe('warning');
    expect(dup.message).toMatch(/^1 frame has a decoded time that is not after the previous frame's \(it has exactly the previous frame's time\)/);
    expect(dup.message).toMatch(/spreads such frames evenly/);
    expect(dup.message).toMatch(/remux/);
    const mixed = only(ctx(summary(cleanStats({ nonIncreasingTimestamps: 5, duplicateTimestamps: 2 }))), 'NON_INCREASING_TIMESTAMPS');
    expect(mixed.message).toMatch(/^5 frames have decoded times .*2 of them have exactly the previous frame's time, the rest an earlier one/);
    expect(mixed.details).toEqual({ nonIncreasing: 5, duplicates: 2 });
    expect(only(ctx(summary(cleanStats({ nonIncreasingTimestamps: 3 }))), 'NON_INCREASING_TIMESTAMPS').message).toMatch(/go back in time/);
  });

  it('TIMESTAMP_JITTER: info with count, max ticks and the nominal duration', () => {
    const stats = cleanStats({ frames: 120, packets: 120, jitteredDurations: 40, maxJitterTicks: 1 });
    const i = only(ctx(summary(stats, { timeBase: { num: 1, den: 90000 }, durationSeconds: 4.004 })), 'TIMESTAMP_JITTER');
    expect(i.severity).toBe('info');
    expect(i.message).toMatch(/^40 frame durations of 119 differ by up to 1 tick from the nominal one \(about 3003 ticks\) although the time base \(1\/90000\) could express it exactly/);
    expect(i.details).toMatchObject({ jittered: 40, maxJitterTicks: 1, nominalTicks: 3003 });
  });

  it('FRAME_INDEX_FAILED: warning with the reason, also when there is no index at all', () => {
    const i = only(ctx(null, 'the decode reported 10 frames but listed 9'), 'FRAME_INDEX_FAILED');
    expect(i.severity).toBe('warning');
    expect(i.message).toContain('(the decode reported 10 frames but listed 9)');
    expect(i.message).toMatch(/VES cannot encode this source/);
    expect(i.details).toEqual({ reason: 'the decode reported 10 frames but listed 9' });
  });
});

// ---------------------------------------------------------------- real media

interface Indexed {
  probe: ProbeData;
  scan: ScanData;
  result: InspectResult;
  index: FrameIndex | null;
}

/** VIS's compute path as service.ts's scanAndIndex runs it, with in-memory stores. */
async function inspectIndexed(file: string, workRoot: string): Promise<Indexed> {
  const input = { path: file, uri: `media://${path.basename(file)}`, decodeCheck: true };
  const workDir = await mkdtemp(path.join(workRoot, 'ix-'));
  const p = await probe(input);
  const capture = { crcPath: path.join(workDir, 'frames.crc'), keys: new ShowinfoReader() };
  const t0 = performance.now();
  const s = await scan(input, p, undefined, undefined, capture);
  let index: FrameIndex | null = null;
  let scanData: ScanData;
  if (s.exitCode !== 0) {
    scanData = { ...s, frameIndexError: `the decode failed (ffmpeg exited ${s.exitCode})` };
  } else {
    try {
      const sum = await buildFrameIndex(
        { path: file, probe: p, scan: s, capture, workDir, decodeSeconds: (performance.now() - t0) / 1000 },
        { contentHash: (f) => contentHash(null, f), put: async (ix) => ((index = FrameIndex.parse(ix)), frameIndexKey(ix.contentHash)) },
      );
      scanData = { ...s, frameIndex: sum };
    } catch (e) {
      scanData = { ...s, frameIndexError: (e as Error).message };
    }
  }
  // The workflow snapshots steps as JSON: analyse what a round trip gives.
  const result = InspectResult.parse(analyse(input, JSON.parse(JSON.stringify(p)), JSON.parse(JSON.stringify(scanData))));
  return { probe: p, scan: scanData, result, index };
}

/** At most `n` inspections at once: the CI box has two cores and each runs ffmpeg/ffprobe in parallel. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (f) => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const T = adv.ADVERSARIAL_TRUTH;
const MAKERS = {
  openGop: adv.makeOpenGop,
  intraRefresh: adv.makeIntraRefresh,
  editList: adv.makeEditList,
  allSync: adv.makeAllSync,
  tsWrap: adv.makeTsWrap,
  duplicateTimestamps: adv.makeDuplicateTimestamps,
  trailingDiscard: adv.makeTrailingDiscard,
  jitter90k: adv.makeJitter90k,
} as const satisfies Record<keyof typeof T, (dir: string) => Promise<string>>;
type AdvName = keyof typeof MAKERS;

/**
 * Index codes each file raises: exactly these, no others. Verified by hand with ffmpeg 5.1
 * (see the comments and the "what the seek check misses" block for the surprising ones).
 */
const EXPECTED_CORPUS: Record<string, IssueCode[]> = {
  'vtest.avi': [],
  // The seek check fails all 3 checked key frames (98, 154, 200), but they ARE random-access
  // points: see below. The warning is the check's verdict, not the bitstream's.
  'Megamind.avi': [],
  // tree.avi's 376 skipped (empty) chunks never reach the demuxer as packets: packets = frames = 68.
  'tree.avi': [],
  'balle-jbart.mp4': [],
  'balle1-vp9.avi': [],
  'Effet_force_magnetique.ogv': [],
  'base_pal.mpg': [],
  'k3bphotosvcd.mpg': [],
  'oa4_launch.webm': [],
  'example-movie.mp4': [],
  'anim-1.mov': [],
  // Indeo 3 sets no key flag, so every frame is "key"; all 12 checked fail, but they too are
  // random-access points the check's seek misses (see below).
  'homer.avi': [],
  // 17 fps in 1/90000: the 5294/5295 alternation is rounding of 5294.1 ticks, not jitter.
  'soundwave.mp4': [],
};

const EXPECTED_ADV: Record<AdvName, IssueCode[]> = {
  // Frames 24, 48 and 72 verify (their leading B-frames are displayed before them, so a seek to
  // them reproduces everything from them on). Frame 96 fails for real: after a seek to it the h264
  // decoder withholds the last frame, P99 (it comes out, identical, only with -flags2 +showall).
  openGop: ['SYNC_NOT_RANDOM_ACCESS'],
  // Surprise: nothing. The refresh P frames at 25/50/75 are sync samples in stss, but the decoder
  // flags only frame 0 key and the index takes its candidates from the decoder's key flags, so
  // they are never checked (and never used): the container's false claim goes unreported.
  intraRefresh: ['SYNC_NOT_RANDOM_ACCESS'],
  // EDIT_LIST and DISCARDED_PACKETS (info: all 8 hidden packets are discard-flagged) as expected.
  // SYNC_NOT_RANDOM_ACCESS is a false alarm of the seek check: see below.
  editList: ['DISCARDED_PACKETS', 'EDIT_LIST'],
  // The decoder flags only the 2 real key frames (no stss is the container's claim, not the decoder's).
  allSync: [],
  tsWrap: [],
  duplicateTimestamps: ['NON_INCREASING_TIMESTAMPS'],
  trailingDiscard: ['DISCARDED_PACKETS', 'EDIT_LIST'],
  jitter90k: ['TIMESTAMP_JITTER'],
};

let dir: string;
const corpus = new Map<string, Promise<Indexed>>();
const adversarial = new Map<AdvName, Promise<Indexed>>();
const advFile = new Map<AdvName, string>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vpipe-vis-index-'));
  const limit = limiter(6);
  // Start everything now; each test awaits its own file. Rejections are observed by the tests.
  for (const e of CORPUS) {
    const p = limit(() => inspectIndexed(corpusFile(e.name), dir));
    p.catch(() => undefined);
    corpus.set(e.name, p);
  }
  for (const name of Object.keys(MAKERS) as AdvName[]) {
    const p = MAKERS[name](dir).then((f) => (advFile.set(name, f), limit(() => inspectIndexed(f, dir))));
    p.catch(() => undefined);
    adversarial.set(name, p);
  }
});

afterAll(async () => {
  if (dir) await Promise.allSettled([...corpus.values(), ...adversarial.values()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectFrames(x: Indexed, frames: number): void {
  const primary = x.result.video.find((v) => v.index === x.probe.primaryVideoIndex);
  expect(primary?.frameCount).toBe(frames);
  expect(x.result.frameIndexError).toBeUndefined();
  expect(x.result.frameIndex?.frames).toBe(frames);
  expect(x.result.frameIndex?.stats.frames).toBe(frames);
  expect(x.index?.pts).toHaveLength(frames);
  expect(x.index?.hash).toHaveLength(frames);
  // Index times are strictly increasing, whatever the source's were.
  const pts = x.index!.pts;
  expect(pts.every((t, i) => i === 0 || t > pts[i - 1]!)).toBe(true);
}

describe.concurrent('real corpus: frame counts and index issues', () => {
  it('covers every corpus file', () => {
    expect(Object.keys(EXPECTED_CORPUS).sort()).toEqual(CORPUS.map((e) => e.name).sort());
  });

  for (const entry of CORPUS) {
    const expected = EXPECTED_CORPUS[entry.name] ?? [];
    it(`${entry.name}: ${entry.frames} frames; raises ${expected.join(', ') || 'no index codes'}`, async ({ expect }) => {
      const x = await corpus.get(entry.name)!;
      expectFrames(x, entry.frames);
      expect(indexCodes(x.result.issues)).toEqual([...expected].sort());
    });
  }

  it('Megamind.avi and homer.avi: every checked key frame verifies, Megamind\'s after the B-frame seek back-off', async ({ expect }) => {
    const mm = (await corpus.get('Megamind.avi')!).index!;
    expect(mm.stats).toMatchObject({ keyFrames: 5, checkedRandomAccessPoints: 3, verifiedRandomAccessPoints: 3, failedRandomAccessPoints: [] });
    expect(mm.raps.map((r) => r.frame)).toEqual([0, 98, 154, 200]);
    // ffmpeg seeks 3/23 s early in AVI with B-frame delay: the recorded seek times are that much past each frame.
    for (const r of mm.raps.slice(1)) expect(r.seekSeconds - (mm.pts[r.frame]! * 125) / 2997).toBeGreaterThan(3 / 23);
    const homer = (await corpus.get('homer.avi')!).index!;
    // Every frame is key; candidates are taken at least 0.5 s apart (every 13th frame at 25 fps).
    expect(homer.stats).toMatchObject({ keyFrames: 86, checkedRandomAccessPoints: 6, verifiedRandomAccessPoints: 6, failedRandomAccessPoints: [] });
    expect(homer.raps.map((r) => r.frame)).toEqual([0, 13, 26, 39, 52, 65, 78]);
  });

  it('soundwave.mp4: 17 fps in 1/90000 alternates 5294/5295 ticks and counts as no jitter', async ({ expect }) => {
    const x = await corpus.get('soundwave.mp4')!;
    const d = new Set(x.index!.duration.slice(0, -1));
    expect([...d].sort()).toEqual([5294, 5295]);
    expect(x.result.frameIndex!.stats).toMatchObject({ jitteredDurations: 0, maxJitterTicks: 0, nonIncreasingTimestamps: 0 });
  });

  it('an index error surfaces as FRAME_INDEX_FAILED on real probe/scan data', async ({ expect }) => {
    const x = await corpus.get('vtest.avi')!;
    const failed = analyse({ uri: 'media://vtest.avi' }, x.probe, { ...x.scan, frameIndex: null, frameIndexError: 'the decode produced no frames' });
    expect(indexCodes(failed.issues)).toEqual(['FRAME_INDEX_FAILED']);
    expect(failed.frameIndexError).toBe('the decode produced no frames');
    expect(failed.verdict).toBe('warnings');
  });
});

describe.concurrent('adversarial files: frame counts and index issues', () => {
  for (const name of Object.keys(MAKERS) as AdvName[]) {
    const expected = EXPECTED_ADV[name];
    it(`${name}: ${T[name].frames} frames; raises ${expected.join(', ') || 'no index codes'}`, async ({ expect }) => {
      const x = await adversarial.get(name)!;
      expectFrames(x, T[name].frames);
      expect(indexCodes(x.result.issues)).toEqual([...expected].sort());
    });
  }

  it('openGop: 3 of the 4 checked open-GOP I frames verify, the last one (96) fails', async ({ expect }) => {
    const x = await adversarial.get('openGop')!;
    expect(x.index!.raps.map((r) => r.frame)).toEqual([0, 24, 48, 72]);
    expect(x.result.frameIndex!.stats).toMatchObject({ keyFrames: 5, checkedRandomAccessPoints: 4, failedRandomAccessPoints: [96] });
    expect(x.result.issues.find((i) => i.code === 'SYNC_NOT_RANDOM_ACCESS')!.message).toMatch(/^1 of 4 key frames checked/);
  });

  it('intraRefresh: the decoder flags only frame 0 key, but the container\'s sync samples are checked and fail', async ({ expect }) => {
    const x = await adversarial.get('intraRefresh')!;
    expect(x.index!.key).toEqual([0]);
    expect(x.result.frameIndex!.stats).toMatchObject({ checkedRandomAccessPoints: 3, verifiedRandomAccessPoints: 0, failedRandomAccessPoints: [25, 50, 75] });
    expect(x.index!.raps.map((r) => r.frame)).toEqual([0]);
  });

  it('editList: 8 discard-flagged packets, an info DISCARDED_PACKETS, and the shown range starting between key frames', async ({ expect }) => {
    const x = await adversarial.get('editList')!;
    expect(x.result.frameIndex!.stats).toMatchObject({ packets: T.editList.packets, discardedPackets: T.editList.discarded, editList: true });
    expect(x.result.issues.find((i) => i.code === 'DISCARDED_PACKETS')!.severity).toBe('info');
    // Source frame 33 is shown first; the key frames shown are source 50 and 75.
    expect(x.index!.key).toEqual([17, 42]);
    expect(x.result.frameIndex!.stats.failedRandomAccessPoints).toEqual([]);
    expect(x.index!.raps.map((r) => r.frame)).toEqual([0, 17, 42]);
  });

  it('trailingDiscard: the last packet is discarded by the edit list', async ({ expect }) => {
    const x = await adversarial.get('trailingDiscard')!;
    expect(x.result.frameIndex!.stats).toMatchObject({ packets: 50, discardedPackets: 1, editList: true });
    expect(x.result.issues.find((i) => i.code === 'DISCARDED_PACKETS')!.message).toMatch(/^1 video packet of 50 is not shown/);
  });

  it('duplicateTimestamps: one duplicate, repaired into the gap at 1.00 s', async ({ expect }) => {
    const x = await adversarial.get('duplicateTimestamps')!;
    expect(x.result.frameIndex!.stats).toMatchObject({ nonIncreasingTimestamps: 1, duplicateTimestamps: 1 });
    expect(x.index!.repaired).toEqual([[25, 960]]);
    expect(x.index!.pts[25]).toBe(1000);
    // The bitstream is intact: the scan's own null/framecrc muxers complain about the equal
    // timestamps at error level, which must not count as a decode error (scan-log filters them).
    expect(x.scan.decodeErrors).toBe(0);
    expect(x.result.issues.map((i) => i.code)).not.toContain('DECODE_ERRORS');
  });

  it('jitter90k: 1-tick jitter around 3003 ticks', async ({ expect }) => {
    const x = await adversarial.get('jitter90k')!;
    expect(x.result.frameIndex!.stats.jitteredDurations).toBeGreaterThan(0);
    expect(x.result.frameIndex!.stats.maxJitterTicks).toBe(1);
    expect(x.result.issues.find((i) => i.code === 'TIMESTAMP_JITTER')!.message).toContain('about 3003 ticks');
  });
});

// ---------------------------------------------------------------- evidence

/** Pictures a `-ss seconds -noaccurate_seek` decode shows first, as index frame numbers (-1: not a source picture). */
async function seekLands(file: string, streamIndex: number, seconds: number, ix: FrameIndex, frames = 8): Promise<number[]> {
  const r = await runTool(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-noautorotate', '-ss', seconds.toFixed(6), '-noaccurate_seek', ...inputArgs(file),
      '-map', `0:${streamIndex}`, '-frames:v', String(frames), '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framecrc', '-'],
    { timeoutMs: 30_000 },
  );
  expect(r.code).toBe(0);
  return parseFrameCrc(r.stdout).frames.map((f) => ix.hash.indexOf(f.hash));
}

/**
 * Where the seek check's own seek times land, and why it seeks where it does: a quarter frame past
 * the candidate (half a frame rounds to the next frame in a 1/25 time base, where every AVI frame
 * is a sync point), and, when that lands early, 3/23 s later (ffmpeg seeks that much earlier for
 * streams with B-frame delay in formats that seek by dts).
 */
describe.concurrent('where the seek check lands', () => {
  const landsOn = async (x: Indexed, file: string, seek: number, frame: number) => {
    const ix = x.index!;
    const seen = await seekLands(file, ix.streamIndex, seek, ix);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, k) => frame + k));
    expect(seen.length).toBe(Math.min(8, ix.pts.length - frame));
  };

  it('Megamind.avi: the quarter-frame seek for frame 98 lands on key frame 1; the recorded one (+3/23 s) on 98', async () => {
    const x = await corpus.get('Megamind.avi')!;
    const first = await seekLands(corpusFile('Megamind.avi'), x.index!.streamIndex, (98.25 * 125) / 2997, x.index!);
    expect(first[0]).toBe(1);
    await landsOn(x, corpusFile('Megamind.avi'), x.index!.raps.find((r) => r.frame === 98)!.seekSeconds, 98);
  });

  it('homer.avi: 0.54 s (frame 13.5 in a 1/25 time base) would round to frame 14; the quarter-frame seek lands on 13', async () => {
    const x = await corpus.get('homer.avi')!;
    expect((await seekLands(corpusFile('homer.avi'), x.index!.streamIndex, 0.54, x.index!))[0]).toBe(14);
    await landsOn(x, corpusFile('homer.avi'), x.index!.raps.find((r) => r.frame === 13)!.seekSeconds, 13);
  });

  it('editList: the recorded seek for frame 17 lands on 17', async () => {
    const x = await adversarial.get('editList')!;
    await landsOn(x, advFile.get('editList')!, x.index!.raps.find((r) => r.frame === 17)!.seekSeconds, 17);
  });
});
