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
import type { VpipeClient } from '../../runtime/client.js';
import { STREAM_EVENTS, eventSubject } from '../../runtime/topology.js';
import type { EncodeResult } from '../../schemas/ves.js';
import { verifyOutput, type FrameCheck } from './verify-output.js';

export const PSNR_FLOOR_DB = 20;
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
export function expectFrameExact(name: string, truthFrames: number, c: FrameCheck): void {
  expect(c.sourceFrames, `${name}: source frames (truth)`).toBe(truthFrames);
  expect(c.outputFrames, `${name}: output frames`).toBe(c.sourceFrames);
  expect(c.ptsStrictlyIncreasing, `${name}: output PTS strictly increase`).toBe(true);
  expect(c.dtsStrictlyIncreasing, `${name}: output DTS strictly increase`).toBe(true);
  expect(c.outputDtsMissing, `${name}: every output packet has a DTS`).toBe(0);
  // MP4 output in the source's own time base: exact, up to float noise.
  expect(c.maxTimeErrorSeconds, `${name}: frame times equal the source's`).toBeLessThan(1e-5);
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
): Promise<{ chunked: Encoded; check: FrameCheck; unchunkedPsnr: number }> {
  const chunked = await encodeOk(client, root, source, recipe, `${name}.mp4`);
  const single = await encodeOk(client, root, source, { ...recipe, chunking: { enabled: false } }, `${name}-single.mp4`);
  expect(single.result.chunks).toBe(1);
  const [check, singleCheck] = await Promise.all([verifyOutput(source, chunked.out), verifyOutput(source, single.out)]);
  expectFrameExact(name, truthFrames, check);
  expectFrameExact(`${name} (unchunked)`, truthFrames, singleCheck);
  console.log(`RD ${name}: chunked ${chunked.result.chunks} chunks ${chunked.result.output.sizeBytes} B ${check.meanPsnr.toFixed(3)} dB; unchunked ${single.result.output.sizeBytes} B ${singleCheck.meanPsnr.toFixed(3)} dB`);
  expect(Math.abs(check.meanPsnr - singleCheck.meanPsnr), `${name}: chunked ${check.meanPsnr.toFixed(2)} dB vs unchunked ${singleCheck.meanPsnr.toFixed(2)} dB`).toBeLessThanOrEqual(CHUNKED_VS_UNCHUNKED_DB);
  expect(chunked.result.frames).toBe(truthFrames);
  return { chunked, check, unchunkedPsnr: singleCheck.meanPsnr };
}
