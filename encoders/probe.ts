/**
 * Encoder probing: is the encoder in this ffmpeg build, does a one-frame
 * trial encode work, and which library version is it. Listing is not enough
 * (a build can list an encoder whose library fails to load or to open), and
 * the library version is what decides the output, not ffmpeg's.
 */
import { runTool, toolVersion, type ToolRunner } from '../runtime/media/mod.js';
import type { ProbeResult } from './types.js';

export interface TrialSpec {
  /** ffmpeg log level for the trial: some libraries only print their version at 'verbose'. */
  logLevel: 'error' | 'info' | 'verbose';
  /** Encoder options and muxer for the trial (output goes to stdout). */
  outputArgs: string[];
  /** Trial picture size (default 64x64; DNxHR needs at least 256x120). */
  size?: string;
  /** Finds the library version in stdout + stderr (stream headers or log lines); undefined when absent. */
  version: (text: string) => string | undefined;
}

/** A TrialSpec `version` that finds `pattern` in the text and formats its match (undefined when absent). */
export function versionFrom(pattern: RegExp, format: (m: RegExpExecArray) => string): (text: string) => string | undefined {
  return (text) => {
    const m = pattern.exec(text);
    return m ? format(m) : undefined;
  };
}

// Keyed by runner (as toolVersion is), so a test's fake runner never poisons the real answer.
const listings = new WeakMap<ToolRunner, Promise<string>>();
const probes = new WeakMap<ToolRunner, Map<string, Promise<ProbeResult>>>();

/** `ffmpeg -hide_banner -encoders` output, cached per runner; throws like runTool or TOOL_FAILED-like Error on a non-zero exit (failures are not cached). */
function encoderListing(run: ToolRunner): Promise<string> {
  let p = listings.get(run);
  if (!p) {
    p = run('ffmpeg', ['-hide_banner', '-nostdin', '-encoders'], { timeoutMs: 15_000 }).then((r) => {
      if (r.code !== 0) throw new Error(`ffmpeg -encoders failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      return r.stdout;
    });
    p.catch(() => listings.delete(run));
    listings.set(run, p);
  }
  return p;
}

/** "ffmpeg version 5.1.9-0+deb12u1 Copyright …" → "ffmpeg 5.1.9-0+deb12u1". */
function shortFfmpegVersion(line: string): string {
  const m = /^ffmpeg version (\S+)/.exec(line);
  return m ? `ffmpeg ${m[1]}` : line;
}

async function probeOnce(encoder: string, trial: TrialSpec, run: ToolRunner): Promise<{ result: ProbeResult; cache: boolean }> {
  let listing: string;
  try {
    listing = await encoderListing(run);
  } catch (e) {
    return { result: { available: false, version: '', reason: `cannot list ffmpeg encoders: ${(e as Error).message}` }, cache: false };
  }
  // Lines look like " V....D libx264   libx264 H.264 / AVC …".
  const listed = listing.split('\n').some((line) => line.trim().split(/\s+/)[1] === encoder);
  if (!listed) return { result: { available: false, version: '', reason: `this ffmpeg build has no ${encoder} encoder` }, cache: true };

  let text: string;
  try {
    const r = await run(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-loglevel', trial.logLevel, '-f', 'lavfi', '-i', `color=c=gray:size=${trial.size ?? '64x64'}:rate=25`, '-frames:v', '1', '-c:v', encoder, ...trial.outputArgs, '-'],
      { timeoutMs: 30_000, maxStdoutBytes: 4 * 1024 * 1024 },
    );
    if (r.code !== 0) {
      return { result: { available: false, version: '', reason: `${encoder} trial encode failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}` }, cache: false };
    }
    text = `${r.stdout}\n${r.stderr}`;
  } catch (e) {
    return { result: { available: false, version: '', reason: `${encoder} trial encode could not run: ${(e as Error).message}` }, cache: false };
  }
  const ffmpeg = await toolVersion('ffmpeg', run).then(shortFfmpegVersion, () => '');
  const lib = trial.version(text);
  return { result: { available: true, version: [lib, ffmpeg].filter(Boolean).join('; ') }, cache: true };
}

/** An EncoderModule's `probe`: `encoder` with this trial, on the runner it is given (runTool by default). */
export function prober(encoder: string, trial: TrialSpec): (run?: ToolRunner) => Promise<ProbeResult> {
  return (run = runTool) => probeEncoder(encoder, trial, run);
}

/** Probes `encoder` with a one-frame trial; answers cached per runner except transient failures. Never throws. */
export function probeEncoder(encoder: string, trial: TrialSpec, run: ToolRunner = runTool): Promise<ProbeResult> {
  let byRunner = probes.get(run);
  if (!byRunner) probes.set(run, (byRunner = new Map()));
  const cache = byRunner;
  const hit = cache.get(encoder);
  if (hit) return hit;
  const p = probeOnce(encoder, trial, run).then(
    ({ result, cache: keep }) => {
      if (!keep) cache.delete(encoder);
      return result;
    },
    (e: unknown) => {
      cache.delete(encoder);
      return { available: false, version: '', reason: `probe failed: ${e instanceof Error ? e.message : String(e)}` };
    },
  );
  cache.set(encoder, p);
  return p;
}
