/**
 * Step 2 of inspection: one decode pass over the primary video stream with
 * idet, counting frames and decode errors. This is the expensive step (it
 * decodes every frame), so it reports progress and honours cancellation.
 */
import { assertToolRan, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import { openSource, scrubPath } from './source.js';
import { ProgressReader, ScanLogReader } from './scan-log.js';
import { ShowinfoReader } from './frame-index.js';
import type { InspectInput, ProbeData, ScanData } from './types.js';

/**
 * Where the full decode also writes the frame index's raw material: a framecrc list (every
 * decoded picture's time, duration and CRC) at `crcPath`, and the key flags read from showinfo.
 */
export interface IndexCapture {
  crcPath: string;
  keys: ShowinfoReader;
}

/** With decodeCheck off, idet still needs enough frames to be decisive; 300 is 10–12 s of video. */
export const SAMPLED_FRAMES = 300;

function skipped(reason: string): ScanData {
  return {
    kind: 'vis.scan',
    mode: 'skipped',
    skippedReason: reason,
    streamIndex: null,
    framesDecoded: null,
    decodedDurationSeconds: null,
    idet: null,
    decodeErrors: null,
    errorSamples: [],
    truncationSigns: [],
    exitCode: null,
    frameIndex: null,
    frameIndexError: null,
  };
}

/** Expected length of the pass, for progress fractions; null when nothing says. */
function expectedSeconds(probe: ProbeData): number | null {
  const stream = probe.streams.find((s) => s.index === probe.primaryVideoIndex);
  const d = stream?.durationSeconds ?? probe.container?.durationSeconds ?? null;
  return d !== null && d > 0 ? d : null;
}

/**
 * Decodes the primary video stream (all of it, or the first SAMPLED_FRAMES
 * when decodeCheck is false). Returns a skipped result when there is nothing
 * to decode; throws TOOL_TIMEOUT / CANCELLED / TOOL_MISSING, or TOOL_FAILED
 * when ffmpeg itself dies (a signal) — a damaged file is data, not a throw.
 */
export async function scan(
  input: InspectInput,
  probe: ProbeData,
  run: ToolRunner = runTool,
  onProgress?: (fraction: number) => void,
  capture?: IndexCapture,
): Promise<ScanData> {
  if (!probe.readable) return skipped('container unreadable');
  if (probe.primaryVideoIndex === null) return skipped('no video stream');

  const full = input.decodeCheck !== false;
  const source = await openSource(input);
  const log = new ScanLogReader(full, (s) => scrubPath(s, input), (s) => scrubPath(s, { path: input.path, uri: '<input>' }));
  const progress = new ProgressReader();
  const total = expectedSeconds(probe);
  let lastReported = -1;

  // -noautorotate: a display matrix would otherwise insert a transpose and idet would judge columns as fields.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'repeat+level+info', '-noautorotate', ...source.args];
  const indexing = full && capture && !source.imageSequence;
  if (indexing) {
    // One decode, two branches: idet judges the scan type; framecrc records every picture as the decoder made it.
    // The scale before idet keeps idet's format needs from converting what framecrc sees (split shares formats).
    args.push('-filter_complex', `[0:${probe.primaryVideoIndex}]showinfo=checksum=0,split=2[h][d];[d]scale,idet[o]`);
    args.push('-map', '[o]', '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-');
    args.push('-map', '[h]', '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framecrc', '-y', `file:${capture.crcPath}`, '-progress', 'pipe:1');
  } else {
    args.push('-map', `0:${probe.primaryVideoIndex}`);
    if (!full) args.push('-frames:v', String(SAMPLED_FRAMES));
    // passthrough: count the frames that are there, never duplicated or dropped to fit a rate.
    args.push('-vf', 'idet', '-fps_mode', 'passthrough', '-f', 'null', '-', '-progress', 'pipe:1');
  }

  const r = await run('ffmpeg', args, {
    signal: input.signal,
    onStderrLine: (line) => {
      if (indexing && line.includes('iskey:')) capture.keys.push(line);
      else log.push(line);
    },
    onStdoutLine: (line) => {
      if (!progress.push(line) || !onProgress) return;
      // A finished pass is 1 even when a truncated file ended short of its declared duration.
      const fraction = progress.ended
        ? 1
        : full
        ? total && progress.outTimeSeconds !== null
          ? progress.outTimeSeconds / total
          : null
        : (progress.frame ?? 0) / SAMPLED_FRAMES;
      if (fraction === null) return;
      const clamped = Math.min(1, Math.max(0, fraction));
      // Progress events go over NATS; 1% steps are plenty.
      if (clamped - lastReported >= 0.01 || (clamped === 1 && lastReported !== 1)) {
        lastReported = clamped;
        onProgress(clamped);
      }
    },
    keepStdout: false,
  });
  assertToolRan('ffmpeg', r);
  return {
    kind: 'vis.scan',
    mode: full ? 'full' : 'sampled',
    skippedReason: null,
    streamIndex: probe.primaryVideoIndex,
    framesDecoded: progress.frame ?? 0,
    decodedDurationSeconds: progress.outTimeSeconds,
    idet: log.idet,
    decodeErrors: full ? log.errors : null,
    errorSamples: full ? [...log.samples] : [],
    truncationSigns: full ? [...log.truncation] : [],
    exitCode: r.code,
    frameIndex: null,
    frameIndexError: null,
  };
}
