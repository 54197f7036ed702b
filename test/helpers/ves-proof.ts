/**
 * Proves a VES encode against its source with the test's own ffmpeg pass
 * (verify-output.ts, which shares no code with vpipe): the same frame
 * count, every frame at its source time, strictly increasing PTS and DTS,
 * every frame's PSNR ≥ 20 dB against the source frame at the same index, the
 * chunked encode's mean PSNR within 0.3 dB of an unchunked encode of the same
 * recipe, and exactly one result event per job.
 */
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { expect } from 'vitest';
import type { VpipeClient } from '../../runtime/jobs/client.js';
import { STREAM_EVENTS, eventSubject } from '../../runtime/nats/topology.js';
import type { EncodeResult } from '../../schemas/ves.js';
import { verifyOutput, type FrameCheck } from './verify-output.js';

export const PSNR_FLOOR_DB = 20;

export interface ProofOptions {
  /** Frames whose source time does not increase (duplicated timestamps): exempt from time equality only. */
  repairedFrames?: number[];
}
export const CHUNKED_VS_UNCHUNKED_DB = 0.3;

/** Result events stored for a job (its result subject only, not progress). */
export async function resultEvents(client: VpipeClient, service: string, jobId: string): Promise<number> {
  const jsm = await jetstreamManager(client.nc);
  const info = await jsm.streams.info(STREAM_EVENTS, { subjects_filter: eventSubject(service, jobId) });
  return info.state.subjects?.[eventSubject(service, jobId)] ?? 0;
}

export interface Encoded {
  jobId: string;
  result: EncodeResult;
  out: string;
}

/** Submits an encode and waits; asserts it succeeded with exactly one result event. */
export async function encodeOk(client: VpipeClient, root: string, source: string, recipe: object, out: string, timeoutMs = 240_000): Promise<Encoded> {
  const outPath = path.join(root, out);
  const jobId = await client.submit('vpipe.ves.encode', { source: { uri: `file://${source}` }, recipe, output: { uri: `file://${outPath}` } });
  const ev = await client.waitForResult('ves', jobId, { timeoutMs });
  expect(ev.state, `${path.basename(source)}: ${JSON.stringify(ev.error)}`).toBe('succeeded');
  expect(await resultEvents(client, 'ves', jobId)).toBe(1);
  return { jobId, result: ev.result as EncodeResult, out: outPath };
}

/** Asserts what every proven output must show; returns the check for further assertions. */
export function expectFrameExact(name: string, truthFrames: number, c: FrameCheck, opts: ProofOptions = {}): void {
  expect(c.sourceFrames, `${name}: source frames (truth)`).toBe(truthFrames);
  expect(c.outputFrames, `${name}: output frames`).toBe(c.sourceFrames);
  expect(c.ptsStrictlyIncreasing, `${name}: output PTS strictly increase`).toBe(true);
  expect(c.dtsStrictlyIncreasing, `${name}: output DTS strictly increase`).toBe(true);
  expect(c.outputDtsMissing, `${name}: every output packet has a DTS`).toBe(0);
  // MP4 output in the source's own time base: exact, up to float noise. A source whose own times do
  // not increase cannot be matched there: those frames must sit strictly between their neighbours
  // (checked by the strictly increasing PTS above), every other frame exactly at its source time.
  const skip = new Set(opts.repairedFrames ?? []);
  const errors = c.outputTimes.flatMap((t, i) => (skip.has(i) || i >= c.sourceTimes.length ? [] : [Math.abs(t - c.sourceTimes[i]!)]));
  expect(Math.max(0, ...errors), `${name}: frame times equal the source's`).toBeLessThan(1e-5);
  if (skip.size === 0) expect(c.maxTimeErrorSeconds).toBeLessThan(1e-5);
  const low = c.psnr.flatMap((p, i) => (p < PSNR_FLOOR_DB ? [`${i}: ${p.toFixed(1)}`] : []));
  expect(low, `${name}: frames under ${PSNR_FLOOR_DB} dB`).toEqual([]);
  expect(c.psnr.length).toBe(c.sourceFrames);
}

/** Chunked encode proven frame-exact, and its quality next to an unchunked encode of the same recipe. */
export async function proveChunked(
  client: VpipeClient,
  root: string,
  source: string,
  truthFrames: number,
  recipe: Record<string, unknown>,
  name: string,
  opts: ProofOptions = {},
): Promise<{ chunked: Encoded; check: FrameCheck; unchunkedPsnr: number }> {
  const chunked = await encodeOk(client, root, source, recipe, `${name}.mp4`);
  const single = await encodeOk(client, root, source, { ...recipe, chunking: { enabled: false } }, `${name}-single.mp4`);
  expect(single.result.chunks).toBe(1);
  const [check, singleCheck] = await Promise.all([verifyOutput(source, chunked.out), verifyOutput(source, single.out)]);
  expectFrameExact(name, truthFrames, check, opts);
  expectFrameExact(`${name} (unchunked)`, truthFrames, singleCheck, opts);
  console.log(`RD ${name}: chunked ${chunked.result.chunks} chunks ${chunked.result.output.sizeBytes} B ${check.meanPsnr.toFixed(3)} dB; unchunked ${single.result.output.sizeBytes} B ${singleCheck.meanPsnr.toFixed(3)} dB`);
  expect(Math.abs(check.meanPsnr - singleCheck.meanPsnr), `${name}: chunked ${check.meanPsnr.toFixed(2)} dB vs unchunked ${singleCheck.meanPsnr.toFixed(2)} dB`).toBeLessThanOrEqual(CHUNKED_VS_UNCHUNKED_DB);
  expect(chunked.result.frames).toBe(truthFrames);
  return { chunked, check, unchunkedPsnr: singleCheck.meanPsnr };
}

/**
 * Fast settings that still use B-frames where the codec has them (x264 veryfast: 3 B-frames with
 * pyramid). At least 3 chunks on every file: joins are what is under test. Below the default 2 s GOP
 * the recipe's GOP is the chunk length, so the unchunked encode it is compared with has the same
 * keyframes (a chunk shorter than a GOP would otherwise add keyframes, and bits, by itself).
 */
export function recipeFor(codec: string, seconds: number, chunks = 4): Record<string, unknown> {
  const target = Math.max(0.25, Math.min(8, seconds / chunks));
  // Only a target: VES then cuts whole GOPs, where an unchunked encode puts its keyframes.
  const base = { chunking: { targetSeconds: target }, ...(target < 2 ? { gop: { lengthSeconds: target } } : {}) };
  if (codec === 'h264') return { codec, preset: 'veryfast', rateControl: { mode: 'crf', value: 23 }, ...base };
  if (codec === 'hevc') return { codec, preset: 'ultrafast', rateControl: { mode: 'crf', value: 28 }, ...base };
  if (codec === 'vp9') return { codec, speed: 8, rateControl: { mode: 'crf', value: 36 }, ...base };
  return { codec, speed: 12, rateControl: { mode: 'crf', value: 40 }, ...base };
}
