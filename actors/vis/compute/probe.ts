/**
 * Step 1 of inspection: what the container says. Three short ffprobe runs —
 * format+streams, the first video frame's side data (HDR static metadata
 * often lives only in the bitstream SEI), and the video packet timestamps
 * (summarised for VFR detection).
 */
import { open } from 'node:fs/promises';
import { assertToolRan, runTool, toolVersion, type ToolRunner } from '../../../runtime/media/mod.js';
import { parseFormat, parseProbeJson, parseSideData, parseStream } from './ffprobe-parse.js';
import { openSource, scrubPath, type OpenedSource } from './source.js';
import { packetTimestamp, timingStats } from './timing.js';
import type { InspectInput, PacketTiming, ProbeData, ProbeStream } from './types.js';

/** ffprobe output for one file is small; a 64 MiB cap only stops pathological inputs (thousands of streams). */
const PROBE_STDOUT_LIMIT = 64 * 1024 * 1024;
/** Header probing should take seconds even for big files; a hang is a bug or a hostile file. */
const PROBE_TIMEOUT_MS = 2 * 60 * 1000;

/** Reads container, streams, first-frame HDR side data and packet timing; throws MEDIA_NOT_FOUND / TOOL_* / CANCELLED, but an unopenable file is returned as `readable: false`. */
export async function probe(input: InspectInput, run: ToolRunner = runTool): Promise<ProbeData> {
  const source = await openSource(input);
  const ffprobeVersion = await toolVersion('ffprobe', run);
  const opts = { signal: input.signal, timeoutMs: PROBE_TIMEOUT_MS, maxStdoutBytes: PROBE_STDOUT_LIMIT };

  const main = await run('ffprobe', ['-hide_banner', '-v', 'error', ...source.args, '-show_format', '-show_streams', '-of', 'json'], opts);
  assertToolRan('ffprobe', main);
  const doc = main.code === 0 ? parseProbeJson(main.stdout) : null;
  if (!doc?.format) {
    const message = scrubPath(lastLines(main.stderr) || `ffprobe exited with code ${main.code}`, input);
    return {
      kind: 'vis.probe',
      imageSequence: source.imageSequence,
      readable: false,
      error: { message, likelyTruncated: await looksLikeUnfinishedMp4(input, source, message) },
      container: null,
      streams: [],
      primaryVideoIndex: null,
      timing: null,
      ffprobeVersion,
    };
  }

  const streams = doc.streams.map(parseStream);
  const candidates = streams.filter((s) => s.type === 'video' && !s.attachedPic);
  const primary = candidates.find((s) => s.width !== null && s.height !== null) ?? candidates[0] ?? null;
  let timing: PacketTiming | null = null;
  if (primary) {
    await mergeFirstFrameSideData(primary, source, run, opts);
    timing = await packetTiming(primary, source, run, opts, doc.streams.find((s) => s.index === primary.index));
  }
  return {
    kind: 'vis.probe',
    imageSequence: source.imageSequence,
    readable: true,
    error: null,
    container: parseFormat(doc.format),
    streams,
    primaryVideoIndex: primary?.index ?? null,
    timing,
    ffprobeVersion,
  };
}

type ProbeOpts = { signal?: AbortSignal; timeoutMs: number; maxStdoutBytes: number };

/**
 * Mastering display / CLL may be in the container (mkv, mp4 mdcv) or only in
 * the HEVC/AV1 bitstream; decoding one frame shows the latter. A failure here
 * is not fatal: the stream-level data (if any) stands.
 */
async function mergeFirstFrameSideData(stream: ProbeStream, source: OpenedSource, run: ToolRunner, opts: ProbeOpts): Promise<void> {
  const args = ['-hide_banner', '-v', 'error', ...source.args, '-select_streams', String(stream.index)];
  args.push('-read_intervals', '%+#1', '-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json');
  const r = await run('ffprobe', args, opts);
  assertToolRan('ffprobe', r);
  const frame = parseProbeJson(r.stdout)?.frames[0];
  if (!frame) return;
  const side = parseSideData(frame.side_data_list);
  stream.masteringDisplay ??= side.masteringDisplay;
  stream.contentLightLevel ??= side.contentLightLevel;
  stream.dolbyVision ||= side.dolbyVision;
}

/** Streams packet timestamps through a line callback so a feature film's 150k packets never sit in one string. */
async function packetTiming(
  stream: ProbeStream,
  source: OpenedSource,
  run: ToolRunner,
  opts: ProbeOpts,
  raw: Record<string, unknown> | undefined,
): Promise<PacketTiming | null> {
  const timeBase = /^(\d+)\/(\d+)$/.exec(String(raw?.time_base ?? ''));
  if (!timeBase || Number(timeBase[1]) <= 0 || Number(timeBase[2]) <= 0) return null;
  const ticks: number[] = [];
  let packets = 0;
  const args = ['-hide_banner', '-v', 'error', ...source.args, '-select_streams', String(stream.index)];
  args.push('-show_entries', 'packet=pts,dts', '-of', 'csv=p=0');
  // Listing packets reads the whole file (a TS has no index), so it gets the general tool timeout, not the header one.
  const r = await run('ffprobe', args, {
    signal: opts.signal,
    keepStdout: false,
    onStdoutLine: (line) => {
      packets++;
      const t = packetTimestamp(line);
      if (t !== null) ticks.push(t);
    },
  });
  assertToolRan('ffprobe', r);
  return timingStats(stream.index, { num: Number(timeBase[1]), den: Number(timeBase[2]) }, ticks, packets);
}

function lastLines(stderr: string, n = 3): string {
  return stderr.trim().split(/\r?\n/).slice(-n).join(' | ').slice(0, 1000);
}

/**
 * "moov atom not found" means either a non-MP4 (garbage named .mp4) or an MP4
 * whose index was never written or was cut off — recording stopped, upload
 * interrupted. Only the latter starts with ISO-BMFF boxes, so peek at them.
 */
async function looksLikeUnfinishedMp4(input: InspectInput, source: OpenedSource, message: string): Promise<boolean> {
  if (source.imageSequence || !/moov atom not found/i.test(message)) return false;
  const fh = await open(input.path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, 12, 0);
    const box = head.subarray(4, 8).toString('latin1');
    return bytesRead >= 8 && ['ftyp', 'mdat', 'free', 'wide', 'skip', 'moof', 'styp'].includes(box);
  } finally {
    await fh.close();
  }
}
