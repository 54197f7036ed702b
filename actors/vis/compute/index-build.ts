/**
 * Step 2b of inspection: turns the scan's captured decode into a frame index,
 * verifies its random-access points, stores it by content hash and returns
 * the summary that goes into the inspection result.
 */
import fs from 'node:fs/promises';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import { FRAME_INDEX_VERSION, endTicks, ticksToSeconds, type FrameIndex, type FrameIndexSummary } from '../../../schemas/frame-index.js';
import { parseFrameCrc, rapCandidates, repairTimes, verifyRandomAccess } from './frame-index.js';
import { mp4EditList } from './mp4-boxes.js';
import type { IndexCapture } from './scan.js';
import type { ProbeData, ScanData } from './types.js';

export interface IndexStores {
  contentHash(path: string, signal?: AbortSignal): Promise<string>;
  put(ix: FrameIndex): Promise<string>;
}

export interface BuildIndexInput {
  path: string;
  probe: ProbeData;
  scan: ScanData;
  capture: IndexCapture;
  /** For the seek checks' temporary files. */
  workDir: string;
  decodeSeconds: number;
  signal?: AbortSignal;
}

/** Seconds between checked random-access candidates: half a second (chunk boundaries can snap to them), wider for long sources (at most ~2,000 seeks). */
export function rapSpacingSeconds(durationSeconds: number): number {
  return Math.max(0.5, durationSeconds / 2000);
}

/**
 * Video packets, those flagged discard (edit lists), and the presentation times (stream ticks,
 * relative to the container start as the decode's are) of the packets the container marks as
 * sync points, from one demux pass (no decode).
 */
async function packetFlags(
  path: string,
  streamIndex: number,
  startTicks: number,
  signal?: AbortSignal,
  run: ToolRunner = runTool,
): Promise<{ packets: number; discarded: number; syncTicks: number[] } | null> {
  let packets = 0;
  let discarded = 0;
  const syncTicks: number[] = [];
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', String(streamIndex), '-show_entries', 'packet=pts,flags', '-of', 'csv=p=0', ...inputArgs(path)], {
    signal,
    keepStdout: false,
    limit: { mediaSeconds: null, kind: 'demux' },
    onStdoutLine: (line) => {
      packets++;
      const [pts, flags] = line.split(',');
      if (flags?.includes('D')) discarded++;
      const t = Number(pts);
      if (flags?.includes('K') && pts !== 'N/A' && Number.isFinite(t)) syncTicks.push(t - startTicks);
    },
  });
  assertToolRan('ffprobe', r);
  return r.code === 0 ? { packets, discarded, syncTicks } : null;
}

/** Frames whose decoded time is one of `ticks` (container sync points mapped onto decoded frames). Pure. */
export function framesAtTicks(decoded: number[], ticks: number[]): number[] {
  const at = new Map<number, number>();
  decoded.forEach((t, i) => {
    if (!at.has(t)) at.set(t, i);
  });
  return [...new Set(ticks.flatMap((t) => (at.has(t) ? [at.get(t)!] : [])))].sort((a, b) => a - b);
}

/**
 * Builds, verifies and stores the index. Throws when the capture is unusable (no frames, a
 * count that disagrees with the decode) or storing fails; the caller turns that into
 * `frameIndexError` so inspection itself still answers.
 */
export async function buildFrameIndex(b: BuildIndexInput, stores: IndexStores, run: ToolRunner = runTool): Promise<FrameIndexSummary> {
  const streamIndex = b.probe.primaryVideoIndex!;
  const stream = b.probe.streams.find((s) => s.index === streamIndex)!;
  const { timeBase, frames } = parseFrameCrc(await fs.readFile(b.capture.crcPath, 'utf8'));
  if (frames.length === 0) throw new Error('the decode produced no frames');
  if (b.scan.framesDecoded !== null && b.scan.framesDecoded !== frames.length) {
    throw new Error(`the decode reported ${b.scan.framesDecoded} frames but listed ${frames.length}`);
  }
  const keys = b.capture.keys.key;
  const times = repairTimes(
    frames.map((f) => f.pts),
    frames.map((f) => f.duration),
  );
  const hash = frames.map((f) => f.hash);
  const durationSeconds = ticksToSeconds({ timeBase }, endTicks({ pts: times.pts, duration: times.duration }) - times.pts[0]!);
  // The decode's times are relative to the container start (ffmpeg subtracts it); so are the packets' once shifted.
  const startTicks = Math.round(((b.probe.container?.startTimeSeconds ?? 0) * timeBase.den) / timeBase.num);
  const [flags, hashHex, elst] = await Promise.all([
    packetFlags(b.path, streamIndex, startTicks, b.signal, run),
    stores.contentHash(b.path, b.signal),
    mp4EditList(b.path, streamIndex).catch(() => null),
  ]);
  // Candidates: the decoder's key frames and the container's sync samples (an intra-refresh stream's
  // sync samples are not key frames to the decoder, and are exactly what a seek lands on).
  const containerSync = framesAtTicks(frames.map((f) => f.pts), flags?.syncTicks ?? []);
  const candidateKeys = keys.slice();
  for (const f of containerSync) candidateKeys[f] = true;
  const candidates = rapCandidates(candidateKeys, times.pts, timeBase, rapSpacingSeconds(durationSeconds));
  const verified = await verifyRandomAccess({ path: b.path, streamIndex, pts: times.pts, hash, timeBase, medianDuration: times.medianDuration, candidates, workDir: b.workDir, signal: b.signal }, run);
  const keyFrames: number[] = [];
  keys.forEach((k, i) => k && keyFrames.push(i));
  const ix: FrameIndex = {
    version: FRAME_INDEX_VERSION,
    contentHash: hashHex,
    streamIndex,
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    pixelFormat: stream.pixFmt ?? 'unknown',
    timeBase,
    pts: times.pts,
    duration: times.duration,
    key: keyFrames,
    hash,
    repaired: times.repaired,
    raps: verified.raps,
    stats: {
      frames: frames.length,
      packets: flags?.packets ?? null,
      discardedPackets: flags?.discarded ?? 0,
      nonIncreasingTimestamps: times.nonIncreasing,
      duplicateTimestamps: times.duplicates,
      jitteredDurations: times.jittered,
      maxJitterTicks: times.maxJitter,
      keyFrames: keyFrames.length,
      checkedRandomAccessPoints: candidates.length,
      verifiedRandomAccessPoints: verified.raps.length - 1,
      failedRandomAccessPoints: verified.failed.slice(0, 20),
      editList: (elst?.cuts ?? false) || ((flags?.discarded ?? 0) > 0 && elst !== null),
      decodeErrors: b.scan.decodeErrors ?? 0,
      decodeSeconds: Math.round(b.decodeSeconds * 1000) / 1000,
      verifySeconds: Math.round(verified.seconds * 1000) / 1000,
    },
    builtAt: new Date().toISOString(),
    tool: b.probe.ffprobeVersion,
  };
  const key = await stores.put(ix);
  return { contentHash: hashHex, key, timeBase, frames: frames.length, durationSeconds, randomAccessPoints: verified.raps.length, stats: ix.stats };
}
