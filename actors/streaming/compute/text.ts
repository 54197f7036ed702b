/**
 * The streaming job's timed-text step: the source's text subtitle streams
 * and SRT/WebVTT sidecar files become WebVTT files on the video's timeline
 * (cue time 0 = the source's first video frame), which the packager
 * references from HLS and DASH.
 *
 * Every file is parsed and written here rather than passed through: ffmpeg's
 * WebVTT writer escapes nothing (`a < b` and `-->` land verbatim in cue text,
 * which breaks browsers' and dash.js's parsers), its WebVTT reader drops every
 * cue of a file holding a STYLE block, and decoding SubRip through its ASS
 * model rewrites text (`a < b --> c` came out as `a <b> c</b>` in ffmpeg 5.1).
 * So SubRip and WebVTT streams are copied out as they are stored and parsed
 * like sidecars; only mov_text and ASS/SSA are converted by ffmpeg.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, ToolError, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool } from '../../../runtime/media/mod.js';
import { ffmpegChecked, normaliseLanguage } from './audio.js';

export interface TextStream {
  index: number;
  codec: string;
  /** The container's tag, `und` when missing or not a language tag. */
  language: string;
  title: string | null;
  default: boolean;
  forced: boolean;
  /** false for bitmap subtitles (they would need OCR) and codecs this step does not read. */
  convertible: boolean;
  reason?: string;
}

export interface TextResult {
  path: string;
  cues: number;
}

/** Picture-based subtitle codecs: no text to convert. */
const BITMAP_CODECS = new Set(['hdmv_pgs_subtitle', 'dvd_subtitle', 'dvb_subtitle', 'xsub']);
/** How each text codec reaches WebVTT: its stored packets copied out as an SRT or WebVTT file we parse, or ffmpeg's conversion. */
const TEXT_CODECS: Record<string, 'srt' | 'webvtt' | 'convert'> = {
  subrip: 'srt',
  srt: 'srt',
  webvtt: 'webvtt',
  mov_text: 'convert',
  ass: 'convert',
  ssa: 'convert',
};
/** A feature film's SRT is ~100 KB; anything this big is not a subtitle file. */
const MAX_SIDECAR_BYTES = 16 * 1024 * 1024;

/**
 * hls.js (1.7: utils/webvtt-parser.ts, remux/passthrough-remuxer.ts) subtracts one initPTS, the
 * first video fragment's decode time, from video samples and cues alike, and reads cue time c as
 * fMP4 media time c with or without this header: without it the cue offset is −initPTS, with
 * MPEGTS:0 it is (0 − initPTS), the same. So cue 0 plays with the video sample stamped 0, the first
 * frame as long as the packager starts the video timeline there (tfdt 0, no composition offset on
 * the first frame). The header is written anyway, so the mapping is stated rather than left to a
 * player's default (RFC 8216 §3.5); a timeline that starts at T needs MPEGTS:T×90000 instead.
 * dash.js's WebVTT parser skips header lines.
 */
const TIMESTAMP_MAP = 'X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000';

/** The source's subtitle streams, bitmap ones marked not convertible. */
export async function probeTextStreams(srcPath: string, signal?: AbortSignal): Promise<TextStream[]> {
  const r = await runTool(
    'ffprobe',
    ['-hide_banner', '-v', 'error', '-select_streams', 's', '-show_entries', 'stream=index,codec_name:stream_tags=language,title:stream_disposition=default,forced', '-of', 'json', ...inputArgs(srcPath)],
    { signal, limit: { mediaSeconds: null, kind: 'probe' } },
  );
  assertToolRan('ffprobe', r);
  if (r.code !== 0) throw new ToolError('undecodable', `ffprobe could not read the subtitle streams (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
  type Stream = { index: number; codec_name?: string; tags?: { language?: string; title?: string }; disposition?: { default?: number; forced?: number } };
  const streams = (JSON.parse(r.stdout) as { streams?: Stream[] }).streams ?? [];
  return streams.map((s) => {
    const codec = s.codec_name ?? 'unknown';
    const reason = BITMAP_CODECS.has(codec)
      ? `${codec} is a bitmap subtitle: it would need OCR to become text`
      : TEXT_CODECS[codec]
        ? undefined
        : `${codec} is not a text subtitle codec this step reads (SubRip, WebVTT, mov_text, ASS/SSA)`;
    return {
      index: s.index,
      codec,
      language: normaliseLanguage(s.tags?.language),
      title: s.tags?.title ?? null,
      default: s.disposition?.default === 1,
      forced: s.disposition?.forced === 1,
      convertible: reason === undefined,
      ...(reason ? { reason } : {}),
    };
  });
}

/**
 * One text stream of the source as WebVTT at `outPath`, cue times moved so 0 is the first video frame
 * (cues that end before it are dropped, ones that straddle it start at 0). Throws BAD_REQUEST for a
 * stream that is not a convertible subtitle stream, TOOL_* when ffmpeg fails.
 */
export async function extractText(srcPath: string, streamIndex: number, outPath: string, opts: { videoStartSeconds: number; signal?: AbortSignal }): Promise<TextResult> {
  if (!Number.isFinite(opts.videoStartSeconds)) throw new VpipeError(ErrorCodes.BadRequest, `text extraction: videoStartSeconds must be a finite number, not ${opts.videoStartSeconds}`);
  const stream = (await probeTextStreams(srcPath, opts.signal)).find((s) => s.index === streamIndex);
  if (!stream) throw new VpipeError(ErrorCodes.BadRequest, `stream ${streamIndex} of the source is not a subtitle stream`);
  const how = TEXT_CODECS[stream.codec];
  if (!how) throw new VpipeError(ErrorCodes.BadRequest, `subtitle stream ${streamIndex} cannot be converted: ${stream.reason}`);
  // -copyts keeps the source's own times, the timeline videoStartSeconds is on (ffmpeg would otherwise rebase to the earliest stream).
  const codecArgs = how === 'convert' ? ['-c:s', 'webvtt', '-f', 'webvtt'] : ['-c:s', 'copy', '-f', how];
  const r = await ffmpegChecked(['-copyts', ...inputArgs(srcPath), '-map', `0:${streamIndex}`, ...codecArgs, '-'], `extracting subtitle stream ${streamIndex}`, {
    signal: opts.signal,
    keepStdout: true,
    limit: { mediaSeconds: null, kind: 'demux' },
  });
  const fail: Fail = (why) => {
    throw new ToolError('undecodable', `subtitle stream ${streamIndex} (${stream.codec}): ${why}`);
  };
  // ffmpeg's own WebVTT output carries text unescaped, as SubRip does.
  const cues = how === 'srt' ? parseSrt(r.stdout, fail) : parseVtt(r.stdout, how === 'webvtt' ? 'vtt' : 'raw', fail);
  if (!cues) fail('ffmpeg wrote no subtitle file');
  return writeVtt(shift(cues, -Math.round(opts.videoStartSeconds * 1000)), outPath);
}

/**
 * A SubRip or WebVTT file (recognised by its content, whatever its name) as WebVTT at `outPath`, its
 * cue times kept (a sidecar is timed against the video as played). Throws BAD_REQUEST naming the
 * file for anything else: binary data, another encoding than UTF-8, another format, broken cues, no cues.
 */
export async function sidecarToText(sidecarPath: string, outPath: string): Promise<TextResult> {
  const name = path.basename(sidecarPath);
  const fail: Fail = (why) => {
    throw new VpipeError(ErrorCodes.BadRequest, `subtitle file "${name}" is refused: ${why}`);
  };
  const size = (await fs.stat(sidecarPath)).size;
  if (size > MAX_SIDECAR_BYTES) fail(`it is ${size} bytes, more than any subtitle file (${MAX_SIDECAR_BYTES})`);
  const bytes = await fs.readFile(sidecarPath);
  if (bytes.includes(0)) fail('it holds NUL bytes (binary data, or UTF-16 text; SRT and WebVTT are read as UTF-8)');
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail('it is not UTF-8 text');
  }
  const cues = parseVtt(text, 'vtt', fail) ?? parseSrt(text, fail);
  if (!cues) fail(`it is neither SubRip nor WebVTT (it begins ${JSON.stringify(text.trimStart().slice(0, 40))})`);
  if (cues.length === 0) fail('it has no cues');
  return writeVtt(cues, outPath);
}

/** One cue, times in whole milliseconds, text already WebVTT cue text (escaped, one string per line, none empty). */
interface Cue {
  start: number;
  end: number;
  settings: string;
  lines: string[];
}

type Fail = (why: string) => never;

const SRT_TIME = String.raw`(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})`;
const SRT_TIMING = new RegExp(String.raw`^\s*${SRT_TIME}\s*-->\s*${SRT_TIME}(?:\s.*)?$`);
const VTT_TIME = String.raw`(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})`;
const VTT_TIMING = new RegExp(String.raw`^${VTT_TIME}[ \t]+-->[ \t]+${VTT_TIME}(?:[ \t]+(.*))?$`);
/** The cue settings kept from a WebVTT source; `region` goes with the REGION blocks, which are not kept. */
const VTT_SETTING = /^(?:vertical|line|position|size|align):\S+$/;

/** Blocks of lines between blank lines, line endings normalised, a leading BOM dropped. */
function blocks(text: string): string[][] {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split(/\n(?:[ \t]*\n)+/)
    .map((b) => b.split('\n'))
    .filter((b) => b.some((l) => l.trim() !== ''));
}

/** Milliseconds from the four captured fields of a timestamp (the fraction read as a decimal fraction). */
function millis(h: string | undefined, m: string, s: string, frac: string): number {
  return ((Number(h ?? 0) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Math.round(Number(`0.${frac}`) * 1000);
}

/**
 * SubRip: `index`, `start --> end`, text lines. Null when the first block is no SubRip cue (not
 * SubRip at all). A later block without a timing line is text that had a blank line in it: it
 * continues the cue before, as players show it.
 */
function parseSrt(text: string, fail: Fail): Cue[] | null {
  const cues: Cue[] = [];
  for (const lines of blocks(text)) {
    const at = /^\s*\d+\s*$/.test(lines[0]!) && SRT_TIMING.test(lines[1] ?? '') ? 1 : 0;
    const t = SRT_TIMING.exec(lines[at]!);
    const last = cues.at(-1);
    if (!t) {
      if (!last) return null;
      if (lines.slice(0, 2).some((l) => l.includes('-->'))) fail(`the timing line of the cue "${lines.join(' ').slice(0, 60)}" is malformed`);
      last.lines.push(...rawText(lines));
      continue;
    }
    cues.push(timed(millis(t[1], t[2]!, t[3]!, t[4]!), millis(t[5], t[6]!, t[7]!, t[8]!), '', rawText(lines.slice(at + 1)), lines[at]!, fail));
  }
  return cues;
}

/**
 * WebVTT: a `WEBVTT` header block, then cues (`[id]`, `start --> end [settings]`, text lines), NOTE,
 * STYLE and REGION blocks (dropped). Null without the header. `mode` says what the text is: `vtt`,
 * WebVTT cue text (tags and entities kept, stray `<` `&` `>` escaped); `raw`, ffmpeg's unescaped
 * output, read as SubRip text (a block without a timing line continues the cue before, as in SubRip).
 * Any other block in WebVTT text is refused: it would be a cue silently lost.
 */
function parseVtt(text: string, mode: 'vtt' | 'raw', fail: Fail): Cue[] | null {
  const [header, ...rest] = blocks(text);
  if (!header || !/^WEBVTT(?:[ \t]|$)/.test(header[0]!)) return null;
  if (header.some((l) => l.includes('-->'))) fail('a blank line must follow the WEBVTT header before the first cue');
  const cues: Cue[] = [];
  for (const lines of rest) {
    if (/^(?:NOTE|STYLE|REGION)(?:[ \t]|$)/.test(lines[0]!)) continue;
    const at = lines[0]!.includes('-->') ? 0 : 1;
    const t = VTT_TIMING.exec(lines[at] ?? '');
    const last = cues.at(-1);
    if (!t && mode === 'raw' && last) {
      last.lines.push(...rawText(lines));
      continue;
    }
    if (!t) fail(`the block ${JSON.stringify(lines.join(' ').slice(0, 60))} is neither a cue nor a NOTE, STYLE or REGION block`);
    const settings = mode === 'vtt' ? (t[9] ?? '').split(/[ \t]+/).filter((s) => VTT_SETTING.test(s)).join(' ') : '';
    const body = lines.slice(at + 1);
    cues.push(timed(millis(t[1], t[2]!, t[3]!, t[4]!), millis(t[5], t[6]!, t[7]!, t[8]!), settings, mode === 'vtt' ? vttText(body) : rawText(body), lines[at]!, fail));
  }
  return cues;
}

function timed(start: number, end: number, settings: string, lines: string[], timing: string, fail: Fail): Cue {
  if (start > end) fail(`the cue "${timing.trim()}" ends before it starts`);
  return { start, end, settings, lines };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
/** SubRip's markup: the b/i/u WebVTT shares (kept), font tags (no WebVTT equivalent: dropped), any other `<` `&` `>` (text). */
const RAW_TOKEN = /<(\/?)([biu])>|<\/?font\b[^<>]*>|[&<>]/gi;
/** WebVTT's cue-text tags (with classes and annotations), inline timestamps and character references; any other `<` `&` `>` is text. */
const VTT_TOKEN = /<\/?(?:c|i|b|u|v|lang|ruby|rt)(?:\.[^\s<>.&]+)*(?:[ \t][^<>]*)?>|<(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}>|&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);|[&<>]/g;

/**
 * Plain subtitle text as WebVTT cue text. ASS override blocks (`{\an8}`, `{\pos(…)}`) go: SubRip files
 * converted from ASS keep them, and they are styling, not words. `>` is escaped too, so no cue text
 * can hold `-->`, which would end the cue for every WebVTT parser.
 */
function rawText(lines: string[]): string[] {
  const token = (m: string, slash: string, tag: string | undefined): string => (tag ? `<${slash}${tag.toLowerCase()}>` : (ESCAPES[m] ?? ''));
  return nonEmpty(lines.map((l) => l.replace(/\{\\[^}]*\}/g, '').replace(RAW_TOKEN, token)));
}

/** WebVTT cue text kept as written, with any `<` `&` `>` that is no tag or reference escaped. */
function vttText(lines: string[]): string[] {
  return nonEmpty(lines.map((l) => l.replace(VTT_TOKEN, (m) => ESCAPES[m] ?? m)));
}

/** A blank line would end the cue: lines left empty by stripping go. */
function nonEmpty(lines: string[]): string[] {
  return lines.filter((l) => l.trim() !== '');
}

/** Moves cues by `ms`: those that end at or before 0 go, one that straddles 0 starts there. */
function shift(cues: Cue[], ms: number): Cue[] {
  return cues.map((c) => ({ ...c, start: Math.max(0, c.start + ms), end: c.end + ms })).filter((c) => c.end > 0);
}

function vttTime(ms: number): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/**
 * Writes the cues (textless ones dropped, in start order, which dash.js needs: it skips a cue that
 * starts before the one it read last) atomically, after reading the file back as WebVTT: the header,
 * every cue's timing (start ≤ end), settings and text, and the cue count must be what was meant.
 */
async function writeVtt(cues: Cue[], outPath: string): Promise<TextResult> {
  const kept = cues.filter((c) => c.lines.length > 0).sort((a, b) => a.start - b.start || a.end - b.end);
  const body = kept.map((c) => `${vttTime(c.start)} --> ${vttTime(c.end)}${c.settings ? ` ${c.settings}` : ''}\n${c.lines.join('\n')}\n`);
  const text = [`WEBVTT\n${TIMESTAMP_MAP}\n`, ...body].join('\n');
  const invalid: Fail = (why) => {
    throw new VpipeError(ErrorCodes.ValidationFailed, `the WebVTT written for ${path.basename(outPath)} does not read back: ${why}`);
  };
  const reread = parseVtt(text, 'vtt', invalid);
  if (!reread || reread.length !== kept.length) invalid(`${reread?.length ?? 'no'} cues read back, ${kept.length} written`);
  // Reading escaped text as WebVTT must change nothing: what was written is what a player shows.
  const differs = kept.findIndex((c, i) => JSON.stringify(c) !== JSON.stringify(reread[i]));
  if (differs >= 0) invalid(`cue ${differs + 1} reads back as ${JSON.stringify(reread[differs])}, not ${JSON.stringify(kept[differs])}`);
  const tmp = `${outPath}.${process.pid}.part`;
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, outPath);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return { path: outPath, cues: kept.length };
}
