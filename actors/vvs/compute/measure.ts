/**
 * Step 1 of validation: what the encode actually is. ffprobe for the first
 * real video stream (cover art excluded), ffprobe again for its packet list
 * (streamed: a feature film has 150k+ packets), and, when asked, one full
 * decode counting error lines. A damaged or unreadable file is data for the
 * comparison, not a thrown error.
 */
import { stat } from 'node:fs/promises';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import { PACKET_ENTRIES, PacketCollector } from './packets.js';
import type { DecodeCheck, MeasureData, MeasureInput } from './types.js';

/** Header probing takes seconds even for big files; longer means a hostile or broken file. */
const PROBE_TIMEOUT_MS = 2 * 60 * 1000;
const DECODE_SAMPLES = 3;
/** Share of the step's progress the packet listing stands for when a decode follows. */
const LISTING_SHARE = 0.2;

interface ProbeStream {
  index?: number;
  codec_name?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
}

const positive = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
};

/** "30000/1001" → 29.97; null for 0/0, N/A or nonsense. */
export function parseRate(s: string | undefined): number | null {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
}

/** Replaces the server path with the caller's URI and drops `@ 0x…` context addresses, so results leak no paths. */
export function scrub(line: string, input: Pick<MeasureInput, 'path' | 'uri'>): string {
  const escaped = input.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return line.replace(new RegExp(`(?:file:)?${escaped}`, 'g'), input.uri).replace(/ @ 0x[0-9a-f]+\]/g, ']').slice(0, 300);
}

function empty(unreadable: string): MeasureData {
  return {
    kind: 'vvs.measure',
    unreadable,
    codec: null,
    profile: null,
    levelRaw: null,
    width: null,
    height: null,
    pixelFormat: null,
    frameRate: null,
    durationSeconds: null,
    averageBitrateKbps: null,
    packets: null,
    decode: null,
  };
}

/**
 * Measures the file's first video stream. Throws MEDIA_NOT_FOUND (file gone
 * since admission), BAD_REQUEST (bad path), TOOL_MISSING / TOOL_TIMEOUT /
 * CANCELLED, or TOOL_FAILED when a tool itself dies; an unreadable file or
 * one without video returns `unreadable` set instead.
 */
export async function measure(input: MeasureInput, run: ToolRunner = runTool, onProgress?: (fraction: number) => void): Promise<MeasureData> {
  const source = inputArgs(input.path);
  const isFile = await stat(input.path).then((s) => s.isFile(), () => false);
  if (!isFile) throw new VpipeError(ErrorCodes.MediaNotFound, `media not found: ${input.uri}`);

  // V (capital): video streams that are not attached pictures.
  const args = ['-hide_banner', '-v', 'error', ...source, '-select_streams', 'V:0'];
  args.push('-show_entries', 'stream=index,codec_name,profile,level,width,height,pix_fmt,avg_frame_rate,r_frame_rate,duration:format=duration', '-of', 'json');
  const head = await run('ffprobe', args, { signal: input.signal, timeoutMs: PROBE_TIMEOUT_MS });
  assertToolRan('ffprobe', head);
  const doc = head.code === 0 ? parseJson(head.stdout) : null;
  if (!doc?.format) return empty(scrub(lastLines(head.stderr) || `ffprobe exited with code ${head.code}`, input));
  const stream = doc.streams?.[0];
  if (stream?.index === undefined) return empty('the file has no video stream');

  const frameRate = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  const collector = new PacketCollector();
  const listArgs = ['-hide_banner', '-v', 'error', ...source, '-select_streams', String(stream.index), ...PACKET_ENTRIES];
  // The listing reads the whole file, so it gets the general tool timeout, not the header one.
  const listing = await run('ffprobe', listArgs, { signal: input.signal, keepStdout: false, onStdoutLine: (l) => collector.push(l) });
  assertToolRan('ffprobe', listing);
  if (listing.code !== 0 && collector.count === 0) return empty(scrub(lastLines(listing.stderr) || `ffprobe exited with code ${listing.code}`, input));
  const packets = collector.summary(frameRate ? 1 / frameRate : null);

  const durationSeconds =
    packets.spanSeconds ?? positive(stream.duration) ?? positive(doc.format.duration) ?? (frameRate ? packets.frameCount / frameRate : null);
  let decode: DecodeCheck | null = null;
  if (input.decode) {
    onProgress?.(LISTING_SHARE);
    decode = await decodeCheck(input, source, stream.index, durationSeconds, run, (f) => onProgress?.(LISTING_SHARE + (1 - LISTING_SHARE) * f));
  }
  onProgress?.(1);
  return {
    kind: 'vvs.measure',
    unreadable: null,
    codec: stream.codec_name ?? null,
    profile: stream.profile ?? null,
    levelRaw: typeof stream.level === 'number' && stream.level >= 0 ? stream.level : null,
    width: positive(stream.width),
    height: positive(stream.height),
    pixelFormat: stream.pix_fmt ?? null,
    frameRate,
    durationSeconds,
    averageBitrateKbps: durationSeconds ? (packets.totalBytes * 8) / durationSeconds / 1000 : null,
    packets,
    decode,
  };
}

/** Decodes the stream to nowhere, counting error lines (repeat: one line per error, never "last message repeated N times"). */
async function decodeCheck(
  input: MeasureInput,
  source: string[],
  streamIndex: number,
  durationSeconds: number | null,
  run: ToolRunner,
  onProgress: (fraction: number) => void,
): Promise<DecodeCheck> {
  let errors = 0;
  const samples: string[] = [];
  const args = ['-hide_banner', '-nostdin', '-nostats', '-v', 'repeat+error', ...source, '-map', `0:${streamIndex}`];
  // The stream's own time base: rounding VFR times to a nominal rate would make the null muxer see equal DTS.
  args.push('-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-', '-progress', 'pipe:1');
  const r = await run('ffmpeg', args, {
    signal: input.signal,
    keepStdout: false,
    onStderrLine: (line) => {
      errors++;
      if (samples.length < DECODE_SAMPLES) samples.push(scrub(line.trim(), input));
    },
    onStdoutLine: (line) => {
      const us = /^out_time_us=(\d+)$/.exec(line);
      if (us && durationSeconds) onProgress(Math.min(1, Number(us[1]) / 1e6 / durationSeconds));
    },
  });
  assertToolRan('ffmpeg', r);
  // A non-zero exit with nothing logged (e.g. killed output) is still a failed decode.
  return { errors: r.code !== 0 ? Math.max(errors, 1) : errors, samples };
}

function parseJson(s: string): { streams?: ProbeStream[]; format?: { duration?: string } } | null {
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' ? (v as { streams?: ProbeStream[]; format?: { duration?: string } }) : null;
  } catch {
    return null;
  }
}

function lastLines(stderr: string, n = 3): string {
  return stderr.trim().split(/\r?\n/).slice(-n).join(' | ').slice(0, 1000);
}
