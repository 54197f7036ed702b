/**
 * Turns ffprobe's JSON (strings, "N/A", 0/0 rationals, optional everything)
 * into the normalised ProbeStream / ContainerInfo shapes. Pure functions;
 * malformed values become null rather than throwing, because ffprobe output
 * for damaged files is exactly where fields go missing.
 */
import type { Colour, Rational } from '../../../schemas/common.js';
import type { ContainerInfo } from '../../../schemas/vis.js';
import type { ContentLightLevel, MasteringDisplay, ProbeStream, StreamType } from './types.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A finite number from a number or numeric string; null for "N/A", "", garbage. */
export function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** num() truncated to an integer; null when absent. */
export function int(v: unknown): number | null {
  const n = num(v);
  return n === null ? null : Math.trunc(n);
}

/** A trimmed string; null for absent, empty and ffprobe's placeholders (N/A, unknown, unspecified). */
export function str(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return s === '' || s === 'N/A' || s === 'unknown' || s === 'unspecified' ? null : s;
}

/** "30000/1001" or "16:9" → Rational; null for 0/0, 0:1, negatives or out-of-schema values. */
export function rational(v: unknown): Rational | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+)[/:](\d+)$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const d = Number(m[2]);
  if (n <= 0 || d <= 0 || n > 1_000_000_000 || d > 1_000_000_000) return null;
  return { num: n, den: d };
}

/** Fraction strings in side data ("34000/50000") → decimal. */
function fraction(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  const m = /^(-?\d+)\/(\d+)$/.exec(v.trim());
  if (!m) return num(v);
  const d = Number(m[2]);
  return d === 0 ? null : Number(m[1]) / d;
}

/** Matroska statistics/duration tags: "00:00:02.000000000" → seconds. */
function clockSeconds(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(v.trim());
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

/** A tags object as string→string; non-scalar values dropped, never throws. */
export function tagsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string' || typeof val === 'number') out[k] = String(val);
  return out;
}

/** Matroska writes per-track tags with a language suffix (NUMBER_OF_FRAMES-eng), so match by prefix. */
function tagByPrefix(tags: Record<string, string>, name: string): string | null {
  for (const [k, v] of Object.entries(tags)) if (k.toUpperCase() === name || k.toUpperCase().startsWith(`${name}-`)) return v;
  return null;
}

export interface SideDataInfo {
  rotationDegrees: number | null;
  masteringDisplay: MasteringDisplay | null;
  contentLightLevel: ContentLightLevel | null;
  dolbyVision: boolean;
}

/** Reads a side_data_list (stream or frame level); unknown entries are ignored. */
export function parseSideData(list: unknown): SideDataInfo {
  const info: SideDataInfo = { rotationDegrees: null, masteringDisplay: null, contentLightLevel: null, dolbyVision: false };
  if (!Array.isArray(list)) return info;
  for (const sd of list) {
    if (!isObj(sd)) continue;
    const type = String(sd.side_data_type ?? '');
    if (type === 'Display Matrix') {
      const r = num(sd.rotation);
      // The display matrix angle is counter-clockwise; the `rotate` tag and users think clockwise.
      if (r !== null) info.rotationDegrees = normaliseDegrees(-r);
    } else if (type === 'Mastering display metadata') {
      const pair = (a: string, b: string): [number, number] | null => {
        const x = fraction(sd[a]);
        const y = fraction(sd[b]);
        return x === null || y === null ? null : [x, y];
      };
      const red = pair('red_x', 'red_y');
      const green = pair('green_x', 'green_y');
      const blue = pair('blue_x', 'blue_y');
      const whitePoint = pair('white_point_x', 'white_point_y');
      const minLuminance = fraction(sd.min_luminance);
      const maxLuminance = fraction(sd.max_luminance);
      // Either half may be absent (has_primaries / has_luminance); only a complete ST 2086 block counts.
      if (red && green && blue && whitePoint && minLuminance !== null && maxLuminance !== null) {
        info.masteringDisplay = { red, green, blue, whitePoint, minLuminance, maxLuminance };
      }
    } else if (type === 'Content light level metadata') {
      const maxCll = num(sd.max_content);
      const maxFall = num(sd.max_average);
      if (maxCll !== null && maxFall !== null) info.contentLightLevel = { maxCll, maxFall };
    } else if (/dovi|dolby vision/i.test(type)) {
      info.dolbyVision = true;
    }
  }
  return info;
}

/** Any angle → whole degrees in [0, 360). */
export function normaliseDegrees(d: number): number {
  const r = Math.round(d) % 360;
  return r < 0 ? r + 360 : r;
}

function streamType(v: unknown): StreamType {
  return v === 'video' || v === 'audio' || v === 'subtitle' || v === 'data' || v === 'attachment' ? v : 'unknown';
}

function colourOf(s: Json): Colour {
  const range = str(s.color_range);
  return {
    primaries: str(s.color_primaries),
    transfer: str(s.color_transfer),
    matrix: str(s.color_space),
    range: range === 'tv' || range === 'pc' ? range : null,
  };
}

/** Normalises one ffprobe stream object; never throws. */
export function parseStream(s: Json): ProbeStream {
  const tags = tagsOf(s.tags);
  const side = parseSideData(s.side_data_list);
  const rotateTag = num(tags.rotate);
  const disposition = isObj(s.disposition) ? s.disposition : {};
  const level = int(s.level);
  const lang = str(tags.language);
  return {
    index: int(s.index) ?? -1,
    type: streamType(s.codec_type),
    codec: str(s.codec_name),
    profile: str(s.profile),
    level: level !== null && level > 0 ? level : null,
    width: int(s.width) || null,
    height: int(s.height) || null,
    pixFmt: str(s.pix_fmt),
    bitsPerRawSample: int(s.bits_per_raw_sample) || null,
    sar: rational(s.sample_aspect_ratio),
    dar: rational(s.display_aspect_ratio),
    rFrameRate: rational(s.r_frame_rate),
    avgFrameRate: rational(s.avg_frame_rate),
    fieldOrder: str(s.field_order),
    colour: colourOf(s),
    durationSeconds: num(s.duration) ?? clockSeconds(tagByPrefix(tags, 'DURATION')),
    startTimeSeconds: num(s.start_time),
    bitRate: num(s.bit_rate) ?? num(tagByPrefix(tags, 'BPS')),
    frameCountHeader: int(s.nb_frames) ?? int(tagByPrefix(tags, 'NUMBER_OF_FRAMES')),
    sampleRate: int(s.sample_rate),
    channels: int(s.channels),
    channelLayout: str(s.channel_layout),
    language: lang === 'und' ? null : lang,
    attachedPic: disposition.attached_pic === 1,
    rotationDegrees: side.rotationDegrees ?? (rotateTag !== null ? normaliseDegrees(rotateTag) : 0),
    masteringDisplay: side.masteringDisplay,
    contentLightLevel: side.contentLightLevel,
    dolbyVision: side.dolbyVision,
    timecode: str(tags.timecode),
  };
}

/** Normalises ffprobe's format section; never throws. */
export function parseFormat(f: Json): ContainerInfo {
  return {
    format: str(f.format_name) ?? 'unknown',
    formatLongName: str(f.format_long_name),
    durationSeconds: num(f.duration),
    bitRate: num(f.bit_rate),
    startTimeSeconds: num(f.start_time),
    sizeBytes: num(f.size),
    tags: tagsOf(f.tags),
  };
}

/** Parses `ffprobe -of json` output; null when it is not the object we asked for. */
export function parseProbeJson(text: string): { format: Json | null; streams: Json[]; frames: Json[] } | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(doc)) return null;
  return {
    format: isObj(doc.format) ? doc.format : null,
    streams: Array.isArray(doc.streams) ? doc.streams.filter(isObj) : [],
    frames: Array.isArray(doc.frames) ? doc.frames.filter(isObj) : [],
  };
}
