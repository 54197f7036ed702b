/**
 * An independent validator for an HLS + DASH package on disk, for the tests
 * of vpipe's packager. It shares no code with actors/streaming: it starts at
 * the two manifests (`hls/main.m3u8`, `dash/manifest.mpd`), follows their
 * URIs, and judges what it finds with its own reading of every layer:
 * m3u8-parser for the playlists, fast-xml-parser for the MPD, ffprobe for the
 * bitstreams (on init + segment, as a player would get them) and a minimal
 * ISO-BMFF reader below for what ffprobe does not say (tfdt, trun, avcC,
 * hvcC, esds, the NAL units of a segment's first sample).
 *
 * The checks (Finding.check):
 *   idr              every video segment starts with an IDR (H.264 nal_unit_type 5,
 *                    HEVC IRAP 16–21), the sync sample ffprobe decodes as a key I-frame
 *   alignment        segment n starts at the same time in every video variant: by the
 *                    EXTINF sums and by the segments' own timestamps (ffprobe's first
 *                    pts); in each variant the EXTINF sums agree with the tfdt
 *   segment-duration every segment ≤ target + one frame (target: opts.targetSegmentSeconds,
 *                    else EXT-X-TARGETDURATION), and EXTINF rounds to ≤ EXT-X-TARGETDURATION
 *   bandwidth        BANDWIDTH / AVERAGE-BANDWIDTH (variants, I-frame streams) and
 *                    Representation@bandwidth against what the segments measure
 *   codecs           CODECS and Representation@codecs against strings derived from the
 *                    sample entries and ffprobe
 *   attributes       RESOLUTION, FRAME-RATE, CHANNELS and the MPD's width/height/frameRate
 *   hls              playlists parse, EXT-X-INDEPENDENT-SEGMENTS, URIs resolve to files,
 *                    I-frame byte ranges start at a moof and decode to an IDR
 *   dash             the MPD parses, lists every rendition the HLS side has, its
 *                    SegmentTemplates expand to existing files on the HLS timeline
 *   subtitles        every WebVTT file starts with WEBVTT; each rendition has a cue
 *
 * Times are compared within half a frame: a boundary one frame off is a
 * different frame, a rounding in EXTINF's decimals is not.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runTool } from '../../runtime/media/tools.js';
import { mp4Children, mp4Find, type Mp4Box } from './adversarial.js';

export type CheckId = 'idr' | 'alignment' | 'segment-duration' | 'bandwidth' | 'codecs' | 'attributes' | 'hls' | 'dash' | 'subtitles';

export interface Finding {
  check: CheckId;
  ok: boolean;
  /** What was checked: a playlist, a segment, a Representation (paths relative to the package). */
  subject: string;
  message: string;
}

export interface SegmentFigures {
  /** Relative to the package directory. */
  file: string;
  bytes: number;
  extinf: number;
  /** Sum of the EXTINFs before this segment. */
  extinfStart: number;
  /** The first fragment's tfdt in seconds (decode time). */
  tfdtSeconds: number | null;
  /** Sum of the trun sample durations of all the segment's fragments. */
  mediaSeconds: number | null;
  /** ffprobe's first pts (presentation time, edit list applied); video only. */
  firstPts: number | null;
  /** The first sample's presentation time from the file's own boxes: (tfdt + its trun composition offset − the edit list's media time) / timescale. */
  firstPresentation: number | null;
  /** nal_unit_type of the first VCL NAL unit of the first sample; video only. */
  firstNalType: number | null;
}

export interface RenditionFigures {
  /** The media playlist, relative to the package directory. */
  playlist: string;
  kind: 'video' | 'audio' | 'subtitles';
  init: string | null;
  targetDuration: number | null;
  /** RFC 8216 peak segment bit rate and average segment bit rate, bits/s. */
  peak: number;
  average: number;
  /** RFC 6381 string derived from the init segment and ffprobe (null: subtitles or underivable). */
  codecs: string | null;
  width?: number;
  height?: number;
  /** ffprobe's r_frame_rate. */
  frameRate?: number;
  channels?: number;
  sampleRate?: number;
  language?: string;
  segments: SegmentFigures[];
}

export interface VariantReport {
  /** The variant's media playlist, relative to the package directory. */
  playlist: string;
  declared: { bandwidth: number | null; averageBandwidth: number | null; codecs: string[]; resolution: string | null; frameRate: number | null; audio: string | null; subtitles: string | null };
  /** bandwidth/averageBandwidth: video + the largest audio and subtitle rendition of its groups (see variantFigures). */
  measured: { bandwidth: number; averageBandwidth: number; codecs: string[]; resolution: string | null; frameRate: number | null };
  video: RenditionFigures;
}

export interface IframeReport {
  playlist: string;
  declared: { bandwidth: number | null; codecs: string | null; resolution: string | null };
  measured: { bandwidth: number; codecs: string | null; resolution: string | null };
  frames: { file: string; offset: number; length: number; extinf: number; pts: number | null; key: boolean; nalType: number | null }[];
}

export interface DashReport {
  id: string;
  contentType: string;
  declared: { bandwidth: number | null; codecs: string | null; width: number | null; height: number | null; lang: string | null };
  measured: { bandwidth: number; averageBandwidth: number; codecs: string | null };
  /** The HLS media playlist over the same init segment, if any. */
  hlsPlaylist: string | null;
  segments: { file: string; bytes: number; seconds: number }[];
}

export interface PackageReport {
  dir: string;
  /** Every check made, passed or not. */
  findings: Finding[];
  /** `check: subject: message` of each failed finding; empty when the package is valid. */
  problems: string[];
  variants: VariantReport[];
  audio: RenditionFigures[];
  subtitles: (RenditionFigures & { cues: number })[];
  iframes: IframeReport[];
  dash: DashReport[];
}

export interface ValidateOptions {
  /** The packager's target segment duration; default: each playlist's EXT-X-TARGETDURATION. */
  targetSegmentSeconds?: number;
  /** Allowed relative deviation of a declared bit rate from the measured one (default 0.10). */
  bandwidthTolerance?: number;
  /** Relative to the package: the multivariant playlist and the MPD (defaults: the packager's layout). */
  multivariant?: string;
  mpd?: string;
}

// ---------------------------------------------------------------- m3u8-parser (no type declarations of its own)

interface M3u8Segment {
  uri: string;
  duration: number;
  byterange?: { offset: number; length: number };
  map?: { uri: string; byterange?: { offset: number; length: number } };
}
interface M3u8Manifest {
  version?: number;
  targetDuration?: number;
  endList?: boolean;
  iFramesOnly?: boolean;
  independentSegments?: boolean;
  segments: M3u8Segment[];
  playlists?: { uri: string; attributes: Record<string, unknown> }[];
  iFramePlaylists?: { uri?: string; attributes: Record<string, unknown> }[];
}
interface M3u8Parser {
  manifest: M3u8Manifest;
  parseStream: { on(event: 'data', f: (entry: { type: string; tagType?: string; attributes?: Record<string, unknown> }) => void): void };
  on(event: 'warn' | 'error', f: (e: { message: string }) => void): void;
  push(text: string): void;
  end(): void;
}
const { Parser } = createRequire(import.meta.url)('m3u8-parser') as { Parser: new () => M3u8Parser };

// m3u8-parser warns when it fills in a value the RFC lets a playlist leave out; those are not faults.
const HARMLESS_WARNING = /^defaulting (allowCache|media sequence|discontinuity sequence)/;

// ---------------------------------------------------------------- ISO-BMFF

interface InitInfo {
  handler: string;
  trackId: number;
  timescale: number;
  /** Sample entry four-cc: avc1, avc3, hvc1, hev1, mp4a … */
  entry: string;
  /** Body of avcC / hvcC / esds. */
  config: Buffer | null;
  nalLengthSize: number | null;
  trex: { duration: number; size: number; flags: number };
  /** The edit list's first media_time (media timescale): the presentation starts there; 0 without an edit list. */
  editMediaTime: number;
}

interface Sample {
  offset: number;
  size: number;
  duration: number;
  flags: number;
  /** Composition time offset (signed in a version 1 trun): presentation = decode time + this. */
  cto: number;
}
interface Fragment {
  moofStart: number;
  tfdt: number;
  samples: Sample[];
}

const body = (b: Mp4Box) => b.start + b.header;
const children = (buf: Buffer, b: Mp4Box, skip = 0) => mp4Children(buf, body(b) + skip, b.end);

function parseInit(buf: Buffer): InitInfo {
  const moov = mp4Find(buf, null, 'moov');
  if (!moov) throw new Error('no moov box');
  const trak = children(buf, moov).find((b) => b.type === 'trak');
  if (!trak) throw new Error('no trak box');
  const tkhd = mp4Find(buf, trak, 'tkhd');
  const mdhd = mp4Find(buf, trak, 'mdia', 'mdhd');
  const hdlr = mp4Find(buf, trak, 'mdia', 'hdlr');
  const stsd = mp4Find(buf, trak, 'mdia', 'minf', 'stbl', 'stsd');
  if (!tkhd || !mdhd || !hdlr || !stsd) throw new Error('trak lacks tkhd, mdhd, hdlr or stsd');
  const v1 = (b: Mp4Box) => buf.readUInt8(body(b)) === 1;
  const trackId = buf.readUInt32BE(body(tkhd) + (v1(tkhd) ? 20 : 12));
  const timescale = buf.readUInt32BE(body(mdhd) + (v1(mdhd) ? 20 : 12));
  const handler = buf.toString('latin1', body(hdlr) + 8, body(hdlr) + 12);
  // stsd: version/flags, entry_count, then the sample entries; the first one describes the track.
  const entry = children(buf, stsd, 8)[0];
  if (!entry) throw new Error('empty stsd');
  // Sample entry fields before its child boxes: 78 bytes for visual, 28 for audio (+16/+36 in QuickTime versions 1/2).
  let skip = 0;
  if (handler === 'vide') skip = 78;
  else if (handler === 'soun') skip = 28 + ([0, 16, 36][buf.readUInt16BE(body(entry) + 8)] ?? 0);
  const boxes = skip ? children(buf, entry, skip) : [];
  const cfg = boxes.find((b) => b.type === 'avcC' || b.type === 'hvcC' || b.type === 'esds');
  const config = cfg ? buf.subarray(body(cfg), cfg.end) : null;
  let nalLengthSize: number | null = null;
  if (cfg?.type === 'avcC' && config && config.length > 4) nalLengthSize = (config.readUInt8(4) & 3) + 1;
  if (cfg?.type === 'hvcC' && config && config.length > 21) nalLengthSize = (config.readUInt8(21) & 3) + 1;
  const trexBox = mp4Find(buf, moov, 'mvex', 'trex');
  // trex: version/flags, track_ID, default_sample_description_index, duration, size, flags.
  const trex = trexBox
    ? { duration: buf.readUInt32BE(body(trexBox) + 12), size: buf.readUInt32BE(body(trexBox) + 16), flags: buf.readUInt32BE(body(trexBox) + 20) }
    : { duration: 0, size: 0, flags: 0 };
  // elst: version/flags, entry_count, then (segment_duration, media_time, rate) per entry, 32 or 64 bits; an empty edit (media_time −1) only delays.
  const elst = mp4Find(buf, trak, 'edts', 'elst');
  let editMediaTime = 0;
  if (elst) {
    const wide = v1(elst);
    const count = buf.readUInt32BE(body(elst) + 4);
    for (let i = 0, q = body(elst) + 8; i < count; i++, q += wide ? 20 : 12) {
      const mediaTime = wide ? Number(buf.readBigInt64BE(q + 8)) : buf.readInt32BE(q + 4);
      if (mediaTime >= 0) {
        editMediaTime = mediaTime;
        break;
      }
    }
  }
  return { handler, trackId, timescale, entry: entry.type, config, nalLengthSize, trex, editMediaTime };
}

/** The movie fragments of a media segment (the first traf of each moof), with absolute sample offsets. */
function parseFragments(buf: Buffer, init: InitInfo): Fragment[] {
  const out: Fragment[] = [];
  for (const moof of mp4Children(buf).filter((b) => b.type === 'moof')) {
    const traf = children(buf, moof).find((b) => b.type === 'traf');
    if (!traf) throw new Error(`moof at ${moof.start} has no traf`);
    const parts = children(buf, traf);
    const tfhd = parts.find((b) => b.type === 'tfhd');
    if (!tfhd) throw new Error(`traf at ${traf.start} has no tfhd`);
    const flags = buf.readUIntBE(body(tfhd) + 1, 3);
    let p = body(tfhd) + 8;
    let base = moof.start; // default-base-is-moof (0x20000), and the rule for the first traf without a base offset
    if (flags & 0x1) {
      base = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    if (flags & 0x2) p += 4;
    let dDur = init.trex.duration;
    let dSize = init.trex.size;
    let dFlags = init.trex.flags;
    if (flags & 0x8) (dDur = buf.readUInt32BE(p)), (p += 4);
    if (flags & 0x10) (dSize = buf.readUInt32BE(p)), (p += 4);
    if (flags & 0x20) dFlags = buf.readUInt32BE(p);
    const tfdtBox = parts.find((b) => b.type === 'tfdt');
    if (!tfdtBox) throw new Error(`traf at ${traf.start} has no tfdt`);
    const tfdt = buf.readUInt8(body(tfdtBox)) === 1 ? Number(buf.readBigUInt64BE(body(tfdtBox) + 4)) : buf.readUInt32BE(body(tfdtBox) + 4);
    const samples: Sample[] = [];
    let cursor = base;
    for (const trun of parts.filter((b) => b.type === 'trun')) {
      const version = buf.readUInt8(body(trun));
      const tf = buf.readUIntBE(body(trun) + 1, 3);
      const count = buf.readUInt32BE(body(trun) + 4);
      let q = body(trun) + 8;
      if (tf & 0x1) (cursor = base + buf.readInt32BE(q)), (q += 4);
      let first: number | null = null;
      if (tf & 0x4) (first = buf.readUInt32BE(q)), (q += 4);
      for (let i = 0; i < count; i++) {
        let duration = dDur;
        let size = dSize;
        let sf = i === 0 && first !== null ? first : dFlags;
        if (tf & 0x100) (duration = buf.readUInt32BE(q)), (q += 4);
        if (tf & 0x200) (size = buf.readUInt32BE(q)), (q += 4);
        if (tf & 0x400) (sf = buf.readUInt32BE(q)), (q += 4);
        let cto = 0;
        if (tf & 0x800) (cto = version === 1 ? buf.readInt32BE(q) : buf.readUInt32BE(q)), (q += 4);
        if (q > trun.end) throw new Error(`trun at ${trun.start} overruns its box`);
        samples.push({ offset: cursor, size, duration, flags: sf, cto });
        cursor += size;
      }
    }
    out.push({ moofStart: moof.start, tfdt, samples });
  }
  return out;
}

/** sample_is_non_sync_sample is bit 16 of the ISO-BMFF sample flags. */
const isSync = (s: Sample) => (s.flags & 0x10000) === 0;

/** nal_unit_type of each NAL unit of a length-prefixed (AVCC/HVCC) sample. */
function nalTypes(buf: Buffer, sample: Sample, lengthSize: number, hevc: boolean): number[] {
  const types: number[] = [];
  const end = Math.min(sample.offset + sample.size, buf.length);
  let p = sample.offset;
  while (p + lengthSize < end) {
    const len = buf.readUIntBE(p, lengthSize);
    const head = buf.readUInt8(p + lengthSize);
    types.push(hevc ? (head >> 1) & 0x3f : head & 0x1f);
    p += lengthSize + len;
  }
  return types;
}

/** hvc1/hev1: HEVC NAL headers (type in bits 1–6); avc1/avc3: H.264 (bits 0–4). */
const isHevc = (init: InitInfo | null | undefined) => init?.entry === 'hvc1' || init?.entry === 'hev1';
const isVcl = (t: number, hevc: boolean) => (hevc ? t < 32 : t >= 1 && t <= 5);
const isRandomAccess = (t: number, hevc: boolean) => (hevc ? t >= 16 && t <= 21 : t === 5);

// ---------------------------------------------------------------- codecs strings (RFC 6381, ISO/IEC 14496-15 Annex E)

/** ffprobe's H.264 profile names → profile_idc. */
const H264_PROFILE_IDC: Record<string, number> = {
  Baseline: 66, 'Constrained Baseline': 66, Main: 77, Extended: 88, High: 100, 'High 10': 110, 'High 10 Intra': 110,
  'High 4:2:2': 122, 'High 4:2:2 Intra': 122, 'High 4:4:4': 144, 'High 4:4:4 Predictive': 244, 'High 4:4:4 Intra': 244,
  'CAVLC 4:4:4': 44, 'CAVLC 4:4:4 Intra': 44, 'Multiview High': 118, 'Stereo High': 128,
};
const HEVC_PROFILE_IDC: Record<string, number> = { Main: 1, 'Main 10': 2, 'Main Still Picture': 3, Rext: 4 };
/** ffprobe's AAC profile names → MPEG-4 audio object type. */
const AAC_OBJECT_TYPE: Record<string, number> = { Main: 1, LC: 2, SSR: 3, LTP: 4, 'HE-AAC': 5, 'HE-AACv2': 29, LD: 23, ELD: 39 };

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

interface Derived {
  codecs: string | null;
  /** Where the sample entry's configuration and the bitstream (ffprobe) disagree. */
  conflicts: string[];
}

/** avc1.PPCCLL: profile_idc and level_idc as ffprobe reads them from the SPS, the constraint flags from avcC. */
function deriveAvc(entry: string, avcC: Buffer, s: ProbeStream): Derived {
  const conflicts: string[] = [];
  const cProfile = avcC.readUInt8(1);
  const cLevel = avcC.readUInt8(3);
  const profile = s.profile !== undefined ? H264_PROFILE_IDC[s.profile] : undefined;
  const level = s.level !== undefined && s.level > 0 ? s.level : undefined;
  if (profile !== undefined && profile !== cProfile) conflicts.push(`avcC says profile_idc ${cProfile}, the SPS (ffprobe) ${s.profile} (${profile})`);
  if (level !== undefined && level !== cLevel) conflicts.push(`avcC says level_idc ${cLevel}, the SPS (ffprobe) ${level}`);
  return { codecs: `${entry}.${hex2(profile ?? cProfile)}${hex2(avcC.readUInt8(2))}${hex2(level ?? cLevel)}`, conflicts };
}

/** hvc1.[A-C]?P.COMPAT.{L,H}LEVEL.C0.C1…: every field from hvcC (ISO/IEC 14496-15 E.3), checked against ffprobe's profile and level. */
function deriveHevc(entry: string, hvcC: Buffer, s: ProbeStream): Derived {
  const conflicts: string[] = [];
  const b1 = hvcC.readUInt8(1);
  const space = ['', 'A', 'B', 'C'][b1 >> 6] ?? '';
  const tier = b1 & 0x20 ? 'H' : 'L';
  const profile = b1 & 0x1f;
  // The 32 compatibility flags in reverse bit order, hex without leading zeros.
  let compat = hvcC.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++, compat >>>= 1) reversed = ((reversed << 1) | (compat & 1)) >>> 0;
  const level = hvcC.readUInt8(12);
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length && constraints.at(-1) === 0) constraints.pop();
  const pProfile = s.profile !== undefined ? HEVC_PROFILE_IDC[s.profile] : undefined;
  if (pProfile !== undefined && pProfile !== profile) conflicts.push(`hvcC says general_profile_idc ${profile}, the bitstream (ffprobe) ${s.profile}`);
  if (s.level !== undefined && s.level > 0 && s.level !== level) conflicts.push(`hvcC says general_level_idc ${level}, the bitstream (ffprobe) ${s.level}`);
  const tail = constraints.map((c) => c.toString(16).toUpperCase());
  return { codecs: [`${entry}.${space}${profile}`, reversed.toString(16).toUpperCase(), `${tier}${level}`, ...tail].join('.'), conflicts };
}

/** The DecoderConfigDescriptor's objectTypeIndication and the AudioSpecificConfig's object type, from esds. */
function readEsds(esds: Buffer): { oti: number; aot: number | null } | null {
  let p = 4; // version/flags
  const descriptor = (): { tag: number; start: number; end: number } | null => {
    if (p >= esds.length) return null;
    const tag = esds.readUInt8(p++);
    let len = 0;
    for (let i = 0; i < 4 && p < esds.length; i++) {
      const b = esds.readUInt8(p++);
      len = (len << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag, start: p, end: Math.min(p + len, esds.length) };
  };
  const es = descriptor();
  if (!es || es.tag !== 0x03) return null;
  const esFlags = esds.readUInt8(es.start + 2);
  p = es.start + 3 + (esFlags & 0x80 ? 2 : 0) + (esFlags & 0x20 ? 2 : 0);
  if (esFlags & 0x40) p += 1 + esds.readUInt8(p);
  const dc = descriptor();
  if (!dc || dc.tag !== 0x04) return null;
  const oti = esds.readUInt8(dc.start);
  p = dc.start + 13;
  const dsi = p < dc.end ? descriptor() : null;
  let aot: number | null = null;
  if (dsi && dsi.tag === 0x05 && dsi.end > dsi.start) {
    aot = esds.readUInt8(dsi.start) >> 3;
    if (aot === 31 && dsi.end > dsi.start + 1) aot = 32 + (((esds.readUInt8(dsi.start) & 7) << 3) | (esds.readUInt8(dsi.start + 1) >> 5));
  }
  return { oti, aot };
}

/** mp4a.40.AOT: the object type from ffprobe's profile (LC → 2), checked against esds. */
function deriveAac(entry: string, esds: Buffer, s: ProbeStream): Derived {
  const conflicts: string[] = [];
  const e = readEsds(esds);
  if (!e) return { codecs: null, conflicts: ['esds could not be read'] };
  const aot = s.profile !== undefined ? AAC_OBJECT_TYPE[s.profile] : undefined;
  // Implicit SBR signalling: an HE-AAC stream whose esds says LC is legal, so only other disagreements count.
  if (aot !== undefined && e.aot !== null && aot !== e.aot && !(e.aot === 2 && (aot === 5 || aot === 29))) {
    conflicts.push(`esds says audio object type ${e.aot}, ffprobe ${s.profile} (${aot})`);
  }
  return { codecs: `${entry}.${hex2(e.oti)}.${aot ?? e.aot}`, conflicts };
}

function deriveCodecs(init: InitInfo, s: ProbeStream | null): Derived {
  const stream: ProbeStream = s ?? {};
  if (init.config && (init.entry === 'avc1' || init.entry === 'avc3')) return deriveAvc(init.entry, init.config, stream);
  if (init.config && (init.entry === 'hvc1' || init.entry === 'hev1')) return deriveHevc(init.entry, init.config, stream);
  if (init.config && init.entry === 'mp4a') return deriveAac(init.entry, init.config, stream);
  return { codecs: null, conflicts: [`sample entry ${init.entry}: no codecs string can be derived for it here`] };
}

const sameCodec = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

// ---------------------------------------------------------------- ffprobe

interface ProbeStream {
  codec_name?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  channels?: number;
  sample_rate?: string;
}
interface Probe {
  stream: ProbeStream | null;
  packet: { flags: string; pts: number | null } | null;
  frame: { key: boolean; pictType: string; pts: number | null } | null;
}

const num = (v: unknown): number | null => (v === undefined || v === null || v === '' || Number.isNaN(Number(v)) ? null : Number(v));

/** The first packet and frame of the first stream of `kind` in a file (init + segment bytes). */
async function probeFirst(file: string, kind: 'video' | 'audio'): Promise<Probe> {
  const streamEntries = 'stream=codec_name,profile,level,width,height,r_frame_rate,channels,sample_rate';
  const entries = kind === 'video' ? `packet=pts_time,flags:frame=key_frame,pict_type,pts_time:${streamEntries}` : `packet=pts_time,flags:${streamEntries}`;
  const r = await runTool(
    'ffprobe',
    ['-v', 'error', '-select_streams', kind === 'video' ? 'v:0' : 'a:0', '-read_intervals', '%+#1', '-show_entries', entries, '-of', 'json', `file:${file}`],
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new Error(`ffprobe failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  type Item = { type?: string; flags?: string; pts_time?: string; key_frame?: number; pict_type?: string };
  const j = JSON.parse(r.stdout) as { streams?: ProbeStream[]; packets_and_frames?: Item[]; packets?: Item[]; frames?: Item[] };
  const items = j.packets_and_frames ?? [...(j.packets ?? []).map((p) => ({ ...p, type: 'packet' })), ...(j.frames ?? []).map((f) => ({ ...f, type: 'frame' }))];
  const p = items.find((i) => i.type === 'packet');
  const f = items.find((i) => i.type === 'frame');
  return {
    stream: j.streams?.[0] ?? null,
    packet: p ? { flags: p.flags ?? '', pts: num(p.pts_time) } : null,
    frame: f ? { key: f.key_frame === 1, pictType: f.pict_type ?? '?', pts: num(f.pts_time) } : null,
  };
}

/**
 * ffprobe answers by the bytes it is given, so answers are kept by a hash of
 * them: validating many copies of one package (a test's mutations) probes
 * each distinct init + segment once. Bounded; the oldest answers go first.
 */
const probes = new Map<string, Promise<Probe>>();
const PROBES_KEPT = 4096;

const rate = (r: string | undefined): number | null => {
  const m = /^(\d+)\/(\d+)$/.exec(r ?? '');
  return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
};

// ---------------------------------------------------------------- bit rates

/**
 * RFC 8216 §4.1: "The peak segment bit rate of a Media Playlist is the
 * largest bit rate of any contiguous set of segments whose total duration is
 * between 0.5 and 1.5 times the target duration. The bit rate of a set is
 * calculated by dividing the sum of the segment sizes by the sum of the
 * segment durations." Sizes are the Media Segments' (the EXT-X-MAP init
 * section is not a Media Segment). A playlist too short for any set to
 * qualify gets its whole rate.
 */
function peakBitrate(segs: { bytes: number; seconds: number }[], target: number): number {
  let peak = 0;
  for (let i = 0; i < segs.length; i++) {
    let bytes = 0;
    let seconds = 0;
    for (let j = i; j < segs.length; j++) {
      bytes += segs[j]!.bytes;
      seconds += segs[j]!.seconds;
      if (seconds > 1.5 * target + 1e-6) break;
      if (seconds >= 0.5 * target - 1e-6 && seconds > 0) peak = Math.max(peak, (bytes * 8) / seconds);
    }
  }
  return peak || averageBitrate(segs);
}

/** RFC 8216 §4.1: every Media Segment's bits over the playlist's duration. */
function averageBitrate(segs: { bytes: number; seconds: number }[]): number {
  const seconds = segs.reduce((a, s) => a + s.seconds, 0);
  return seconds > 0 ? (segs.reduce((a, s) => a + s.bytes, 0) * 8) / seconds : 0;
}

// ---------------------------------------------------------------- languages

/** ISO 639-2 → 639-1 for the common languages, so an MPD's `eng` equals a playlist's `en`. */
const ISO639_2: Record<string, string> = {
  eng: 'en', fra: 'fr', fre: 'fr', deu: 'de', ger: 'de', spa: 'es', ita: 'it', por: 'pt', nld: 'nl', dut: 'nl', rus: 'ru',
  jpn: 'ja', zho: 'zh', chi: 'zh', kor: 'ko', ara: 'ar', hin: 'hi', swe: 'sv', nor: 'no', dan: 'da', fin: 'fi', pol: 'pl', tur: 'tr',
};
function normLang(l: string | null | undefined): string {
  const primary = (l ?? '').toLowerCase().split('-')[0] ?? '';
  return ISO639_2[primary] ?? primary;
}

// ---------------------------------------------------------------- the validation

interface MediaSegment {
  file: string | null;
  extinf: number;
  range?: { offset: number; length: number };
  bytes: number;
  fragments: Fragment[] | null;
  probe: Probe | null;
  nal: number[] | null;
}

interface Media {
  playlist: string;
  kind: 'video' | 'audio' | 'subtitles';
  manifest: M3u8Manifest;
  initFile: string | null;
  init: InitInfo | null;
  segments: MediaSegment[];
  derived: Derived | null;
  /** Median sample duration in seconds (a video frame, an AAC frame). */
  frameSeconds: number | null;
  /** Every segment was there and readable: only then are its bit rates measured against declarations. */
  complete: boolean;
  figures: RenditionFigures;
  cues?: number;
}

class Validation {
  readonly findings: Finding[] = [];
  private readonly media = new Map<string, Promise<Media | null>>();
  private readonly segments = new Map<string, Promise<MediaSegment>>();
  private tmpCount = 0;

  constructor(
    readonly dir: string,
    readonly opts: Required<Pick<ValidateOptions, 'bandwidthTolerance'>> & ValidateOptions,
    readonly tmp: string,
  ) {}

  record(check: CheckId, subject: string, ok: boolean, message: string): boolean {
    this.findings.push({ check, ok, subject, message });
    return ok;
  }

  rel(abs: string): string {
    return path.relative(this.dir, abs) || '.';
  }

  /** A URI reference resolved against the file it appears in; null (and a finding) unless it is a relative reference to a file inside the package. */
  resolve(check: CheckId, from: string, ref: string, subject = this.rel(from)): string | null {
    let url: URL;
    try {
      url = new URL(ref, pathToFileURL(from));
    } catch {
      this.record(check, subject, false, `URI "${ref}" does not parse`);
      return null;
    }
    const abs = url.protocol === 'file:' ? fileURLToPath(url) : null;
    const fault = !abs ? 'is not relative' : this.rel(abs).startsWith('..') ? 'points outside the package' : null;
    if (fault) this.record(check, subject, false, `URI "${ref}" ${fault}`);
    return fault ? null : abs;
  }

  async exists(check: CheckId, subject: string, abs: string | null, what: string): Promise<boolean> {
    if (!abs) return false;
    const ok = await stat(abs).then((s) => s.isFile(), () => false);
    if (!ok) this.record(check, subject, false, `${what} ${this.rel(abs)} does not exist`);
    return ok;
  }

  /** probeFirst over these bytes (init + segment, or + a byte range), from the cache when the same bytes were probed before. */
  probe(parts: Buffer[], kind: 'video' | 'audio'): Promise<Probe> {
    const hash = createHash('sha256').update(kind);
    for (const b of parts) hash.update(b);
    const key = hash.digest('hex');
    let p = probes.get(key);
    if (!p) {
      p = (async () => {
        const f = path.join(this.tmp, `probe-${this.tmpCount++}.mp4`);
        await writeFile(f, Buffer.concat(parts));
        return probeFirst(f, kind);
      })();
      p.catch(() => probes.delete(key));
      probes.set(key, p);
      if (probes.size > PROBES_KEPT) probes.delete(probes.keys().next().value!);
    }
    return p;
  }

  /** Reads and parses a playlist with m3u8-parser; `media` collects the raw EXT-X-MEDIA attributes (the parser's manifest drops CHANNELS). */
  async playlist(abs: string, subject: string): Promise<{ manifest: M3u8Manifest; media: Record<string, unknown>[] } | null> {
    const text = await readFile(abs, 'utf8').catch(() => null);
    const unreadable = text === null ? `playlist ${this.rel(abs)} does not exist` : !/^(\uFEFF)?#EXTM3U[ \t]*\r?\n/.test(text) ? 'does not start with #EXTM3U' : null;
    if (unreadable || text === null) {
      this.record('hls', subject, false, unreadable ?? '');
      return null;
    }
    const parser = new Parser();
    const issues: string[] = [];
    const media: Record<string, unknown>[] = [];
    parser.on('warn', (w) => HARMLESS_WARNING.test(w.message) || issues.push(w.message));
    parser.on('error', (e) => issues.push(e.message));
    parser.parseStream.on('data', (e) => e.type === 'tag' && e.tagType === 'media' && e.attributes && media.push(e.attributes));
    try {
      parser.push(text);
      parser.end();
    } catch (e) {
      issues.push((e as Error).message);
    }
    this.record('hls', subject, issues.length === 0, issues.length ? `m3u8-parser: ${issues.join('; ')}` : 'parses with m3u8-parser');
    return { manifest: parser.manifest, media };
  }

  /** Reads one media segment (with its init) once, however many playlists and MPDs refer to it. */
  segment(kind: 'video' | 'audio', initFile: string, initBuf: Buffer, init: InitInfo, file: string, range: { offset: number; length: number } | undefined, first: boolean): Promise<MediaSegment> {
    const key = `${kind}|${initFile}|${file}|${range ? `${range.offset}+${range.length}` : ''}|${first}`;
    let p = this.segments.get(key);
    if (!p) {
      p = (async () => {
        const whole = await readFile(file);
        const buf = range ? whole.subarray(range.offset, range.offset + range.length) : whole;
        const seg: MediaSegment = { file, extinf: 0, range, bytes: buf.length, fragments: null, probe: null, nal: null };
        seg.fragments = parseFragments(buf, init);
        const firstSample = seg.fragments[0]?.samples[0];
        if (kind === 'video' && firstSample && init.nalLengthSize) seg.nal = nalTypes(buf, firstSample, init.nalLengthSize, isHevc(init));
        // Every video segment is probed (its first frame proves the IDR); audio only once, for the codec.
        if (kind === 'video' || first) seg.probe = await this.probe([initBuf, buf], kind);
        return seg;
      })();
      this.segments.set(key, p);
    }
    return p;
  }

  /** A media playlist and everything it refers to, read once. */
  mediaPlaylist(abs: string, kind: Media['kind']): Promise<Media | null> {
    let p = this.media.get(abs);
    if (!p) {
      p = this.readMedia(abs, kind);
      this.media.set(abs, p);
    }
    return p;
  }

  private async readMedia(abs: string, kind: Media['kind']): Promise<Media | null> {
    const subject = this.rel(abs);
    const parsed = await this.playlist(abs, subject);
    if (!parsed) return null;
    const m = parsed.manifest;
    const problems: string[] = [];
    if (m.playlists?.length) problems.push('is a multivariant playlist where a media playlist was expected');
    if (!m.targetDuration) problems.push('has no EXT-X-TARGETDURATION');
    if (!m.endList) problems.push('has no EXT-X-ENDLIST (a VOD package is complete)');
    if (!m.segments.length) problems.push('lists no segments');
    const hasMap = m.segments.some((s) => s.map);
    if (kind !== 'subtitles' && m.segments.some((s) => !s.map)) problems.push('has segments without EXT-X-MAP (fMP4 needs an init section)');
    // RFC 8216 §7: EXT-X-MAP needs version 6, or 5 in an I-frames-only playlist.
    if (hasMap && (m.version ?? 1) < (m.iFramesOnly ? 5 : 6)) problems.push(`uses EXT-X-MAP but declares EXT-X-VERSION ${m.version ?? 1}`);
    this.record('hls', subject, problems.length === 0, problems.length ? problems.join('; ') : 'media playlist complete (target duration, ENDLIST, EXT-X-MAP, version)');

    const media: Media = {
      playlist: abs, kind, manifest: m, initFile: null, init: null, segments: [], derived: null, frameSeconds: null, complete: true,
      figures: { playlist: subject, kind, init: null, targetDuration: m.targetDuration ?? null, peak: 0, average: 0, codecs: null, segments: [] },
    };
    if (kind === 'subtitles') {
      for (const s of m.segments) {
        const file = this.resolve('hls', abs, s.uri, subject);
        const ok = await this.exists('hls', subject, file, 'segment');
        media.complete &&= ok;
        media.segments.push({ file: ok ? file : null, extinf: s.duration, bytes: ok && file ? (await stat(file)).size : 0, fragments: null, probe: null, nal: null });
      }
      return this.figures(media);
    }

    const mapUri = m.segments.find((s) => s.map)?.map?.uri;
    const initFile = mapUri ? this.resolve('hls', abs, mapUri, subject) : null;
    let initBuf: Buffer | null = null;
    if (initFile && (await this.exists('hls', subject, initFile, 'init segment'))) {
      initBuf = await readFile(initFile);
      try {
        media.init = parseInit(initBuf);
        media.initFile = initFile;
      } catch (e) {
        this.record('hls', subject, false, `init segment ${this.rel(initFile)} is not a readable ISO-BMFF init: ${(e as Error).message}`);
      }
    }
    for (const [i, s] of m.segments.entries()) {
      const file = this.resolve('hls', abs, s.uri, subject);
      const ok = await this.exists('hls', subject, file, 'segment');
      let seg: MediaSegment = { file: ok ? file : null, extinf: s.duration, range: s.byterange, bytes: 0, fragments: null, probe: null, nal: null };
      if (ok && file && media.init && initBuf && (kind === 'video' || kind === 'audio')) {
        try {
          seg = { ...(await this.segment(kind, initFile!, initBuf, media.init, file, s.byterange, i === 0)), extinf: s.duration };
        } catch (e) {
          seg.bytes = (await stat(file)).size;
          this.record('hls', `${subject} segment ${i + 1}`, false, `${this.rel(file)} could not be read: ${(e as Error).message}`);
        }
      } else if (ok && file) seg.bytes = s.byterange?.length ?? (await stat(file)).size;
      media.complete &&= seg.fragments !== null;
      media.segments.push(seg);
    }
    if (media.init) {
      media.derived = deriveCodecs(media.init, media.segments[0]?.probe?.stream ?? null);
      const durations = media.segments.flatMap((s) => s.fragments?.flatMap((f) => f.samples.map((x) => x.duration)) ?? []).sort((a, b) => a - b);
      const median = durations[Math.floor(durations.length / 2)];
      if (median) media.frameSeconds = median / media.init.timescale;
    }
    return this.figures(media);
  }

  private figures(media: Media): Media {
    const f = media.figures;
    const sized = media.segments.map((s) => ({ bytes: s.bytes, seconds: s.extinf }));
    const target = media.manifest.targetDuration ?? Math.ceil(Math.max(0, ...sized.map((s) => s.seconds)));
    f.peak = peakBitrate(sized, target);
    f.average = averageBitrate(sized);
    f.init = media.initFile ? this.rel(media.initFile) : null;
    f.codecs = media.derived?.codecs ?? null;
    const stream = media.segments[0]?.probe?.stream;
    if (stream && media.kind === 'video') Object.assign(f, { width: stream.width, height: stream.height, frameRate: rate(stream.r_frame_rate) ?? undefined });
    if (stream && media.kind === 'audio') Object.assign(f, { channels: stream.channels, sampleRate: num(stream.sample_rate) ?? undefined });
    let start = 0;
    const ts = media.init?.timescale ?? 1;
    f.segments = media.segments.map((s) => {
      const frags = s.fragments;
      const out: SegmentFigures = {
        file: s.file ? this.rel(s.file) : '(missing)',
        bytes: s.bytes,
        extinf: s.extinf,
        extinfStart: start,
        tfdtSeconds: frags?.[0] ? frags[0].tfdt / ts : null,
        mediaSeconds: frags ? frags.reduce((a, fr) => a + fr.samples.reduce((b, x) => b + x.duration, 0), 0) / ts : null,
        firstPts: media.kind === 'video' ? (s.probe?.packet?.pts ?? null) : null,
        firstPresentation: media.kind === 'video' && frags?.[0]?.samples[0] ? (frags[0].tfdt + frags[0].samples[0].cto - (media.init?.editMediaTime ?? 0)) / ts : null,
        firstNalType: s.nal?.find((t) => isVcl(t, isHevc(media.init))) ?? null,
      };
      start += s.extinf;
      return out;
    });
    return media;
  }
}

// ---------------------------------------------------------------- checks

/** Check 1: the first sample of every video segment is an IDR that ffprobe decodes as a key I-frame. */
function checkIdr(v: Validation, media: Media): void {
  const hevc = isHevc(media.init);
  for (const [i, s] of media.segments.entries()) {
    if (!s.fragments) continue;
    const subject = `${media.figures.playlist} segment ${i + 1} (${media.figures.segments[i]?.file})`;
    const first = s.fragments[0]?.samples[0];
    if (!first) {
      v.record('idr', subject, false, 'has no samples');
      continue;
    }
    const faults: string[] = [];
    if (!s.probe?.packet?.flags.includes('K')) faults.push(`ffprobe: the first packet is not a keyframe (flags ${s.probe?.packet?.flags ?? 'none'})`);
    if (!s.probe?.frame?.key || s.probe.frame.pictType !== 'I') faults.push(`ffprobe: the first frame is ${s.probe?.frame ? `pict_type ${s.probe.frame.pictType}, key_frame ${s.probe.frame.key ? 1 : 0}` : 'not decodable'}`);
    if (!isSync(first)) faults.push('trun: the first sample is flagged non-sync');
    const vcl = s.nal?.find((t) => isVcl(t, hevc));
    if (vcl === undefined) faults.push('no VCL NAL unit in the first sample');
    else if (!isRandomAccess(vcl, hevc)) faults.push(`the first sample's first slice is nal_unit_type ${vcl}, not ${hevc ? 'an IRAP picture (16–21)' : 'an IDR (5)'}`);
    v.record('idr', subject, faults.length === 0, faults.length ? faults.join('; ') : `starts with nal_unit_type ${vcl}, ffprobe: key I-frame`);
  }
}

/** Check 2: segment n starts at the same time in every video variant, by EXTINF sums and by the segments' timestamps. */
function checkAlignment(v: Validation, videos: Media[]): void {
  if (!videos.length) return;
  const tol = Math.min(...videos.map((m) => m.frameSeconds ?? 0.04)) / 2;
  for (const m of videos) {
    // In each variant: the EXTINF sums against the tfdt (relative to the first segment's, so an edit list or composition offset does not count).
    const segs = m.figures.segments;
    const t0 = segs[0]?.tfdtSeconds;
    const off = segs.filter((s) => s.tfdtSeconds !== null && t0 !== null && t0 !== undefined && Math.abs(s.tfdtSeconds - t0 - s.extinfStart) > tol);
    v.record(
      'alignment', m.figures.playlist, off.length === 0,
      off.length ? off.map((s) => `${s.file}: the EXTINF sum says it starts at ${s.extinfStart.toFixed(3)} s, its tfdt at ${(s.tfdtSeconds! - t0!).toFixed(3)} s`).join('; ') : 'EXTINF sums agree with the tfdt of every segment',
    );
  }
  if (videos.length < 2) return;
  const counts = videos.map((m) => m.segments.length);
  if (new Set(counts).size > 1) v.record('alignment', 'video variants', false, `segment counts differ: ${videos.map((m) => `${m.figures.playlist} ${m.segments.length}`).join(', ')}`);
  const n = Math.min(...counts);
  const faults: string[] = [];
  for (let i = 0; i < n; i++) {
    const at = (f: (s: SegmentFigures) => number | null) => videos.map((m) => f(m.figures.segments[i]!));
    for (const [what, starts] of [['EXTINF sums', at((s) => s.extinfStart)], ['first pts', at((s) => s.firstPts)]] as const) {
      const known = starts.filter((x): x is number => x !== null);
      if (known.length && Math.max(...known) - Math.min(...known) > tol) {
        faults.push(`segment ${i + 1} starts at ${starts.map((x, k) => `${x?.toFixed(3)} s in ${videos[k]!.figures.playlist}`).join(', ')} (${what})`);
      }
    }
  }
  v.record('alignment', 'video variants', faults.length === 0, faults.length ? faults.join('; ') : `${n} segment boundaries equal in ${videos.length} variants (EXTINF sums and first pts, within ${(tol * 1000).toFixed(1)} ms)`);
}

/**
 * Check 3: no segment is longer than the target plus one frame; EXTINF rounds
 * to at most EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1). `target`: the
 * packager's (opts), else the smallest EXT-X-TARGETDURATION of the video
 * playlists: aligned variants share one target, so a playlist that needed a
 * larger one has over-long segments (ffmpeg raises it to fit them).
 */
function checkDurations(v: Validation, media: Media, target: number | null): void {
  const td = media.manifest.targetDuration;
  if (!target) return;
  const frame = media.frameSeconds ?? 0;
  const faults: string[] = [];
  for (const s of media.figures.segments) {
    const d = Math.max(s.extinf, s.mediaSeconds ?? 0);
    if (d > target + frame + 1e-6) faults.push(`${s.file} lasts ${d.toFixed(3)} s > ${target} s + one frame (${frame.toFixed(3)} s)`);
    if (td && Math.round(s.extinf) > td) faults.push(`${s.file}: EXTINF ${s.extinf} rounds above EXT-X-TARGETDURATION ${td}`);
  }
  const longest = Math.max(...media.figures.segments.map((s) => Math.max(s.extinf, s.mediaSeconds ?? 0)));
  v.record('segment-duration', media.figures.playlist, faults.length === 0, faults.length ? faults.join('; ') : `longest segment ${longest.toFixed(3)} s ≤ ${target} s + ${frame.toFixed(3)} s`);
}

function checkRate(v: Validation, subject: string, what: string, declared: number | null, measured: number): void {
  if (declared === null) {
    v.record('bandwidth', subject, false, `no ${what} (measured ${Math.round(measured)})`);
    return;
  }
  if (!(measured > 0)) return void v.record('bandwidth', subject, false, `${what} ${declared}, but the segments measure nothing`);
  const dev = declared / measured - 1;
  v.record(
    'bandwidth', subject, Math.abs(dev) <= v.opts.bandwidthTolerance,
    `${what} ${declared} vs measured ${Math.round(measured)} (${dev >= 0 ? '+' : ''}${(dev * 100).toFixed(1)} %, allowed ±${(v.opts.bandwidthTolerance * 100).toFixed(0)} %)`,
  );
}

/** Check 9 (and the MPD's text sets): each file starts with WEBVTT; the rendition has at least one cue. Returns the cue count. */
async function checkVtt(v: Validation, subject: string, files: string[]): Promise<number> {
  let cues = 0;
  for (const file of files) {
    const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
    const header = /^WEBVTT([ \t][^\r\n]*)?(\r?\n|$)/.test(text);
    const n = (text.match(/^[ \t]*(?:\d+:)?\d{2}:\d{2}\.\d{3}[ \t]+-->[ \t]+(?:\d+:)?\d{2}:\d{2}\.\d{3}/gm) ?? []).length;
    cues += n;
    v.record('subtitles', `${subject} ${v.rel(file)}`, header, header ? `WEBVTT with ${n} cue(s)` : 'does not start with WEBVTT');
  }
  v.record('subtitles', subject, cues > 0, cues > 0 ? `${cues} cue(s)` : 'has no cue');
  return cues;
}

/** Codecs the configuration and the bitstream disagree on, or none derivable. */
function checkDerived(v: Validation, subject: string, media: { derived: Derived | null }): void {
  const d = media.derived;
  if (!d) return;
  v.record('codecs', subject, d.codecs !== null && d.conflicts.length === 0, d.conflicts.length ? d.conflicts.join('; ') : `derived ${d.codecs}`);
}

// ---------------------------------------------------------------- HLS

interface Rendition {
  type: string;
  group: string;
  name: string;
  language: string | null;
  channels: string | null;
  media: Media | null;
}

interface HlsSide {
  videos: Media[];
  audio: Rendition[];
  subtitles: Rendition[];
}

/**
 * A variant's measured figures. RFC 8216 §4.3.4.2: BANDWIDTH "MUST be the
 * largest sum of peak segment bit rates that is produced by any playable
 * combination of Renditions", AVERAGE-BANDWIDTH the same over average
 * segment bit rates. A playable combination is the variant's own playlist
 * plus one rendition of each group it names, so: video peak + the largest
 * peak in its AUDIO group + the largest in its SUBTITLES group (each peak on
 * its own playlist's segments and target duration, as §4.1 defines it; text
 * adds tens of bits per second).
 */
function variantFigures(video: Media, audio: Rendition[], subs: Rendition[]): { peak: number; average: number } {
  const best = (rs: Rendition[], k: 'peak' | 'average') => Math.max(0, ...rs.map((r) => r.media?.figures[k] ?? 0));
  return {
    peak: video.figures.peak + best(audio, 'peak') + best(subs, 'peak'),
    average: video.figures.average + best(audio, 'average') + best(subs, 'average'),
  };
}

async function validateHls(v: Validation, report: PackageReport): Promise<HlsSide> {
  const mainRel = v.opts.multivariant ?? 'hls/main.m3u8';
  const main = path.join(v.dir, mainRel);
  const side: HlsSide = { videos: [], audio: [], subtitles: [] };
  const parsed = await v.playlist(main, mainRel);
  if (!parsed) return side;
  const m = parsed.manifest;
  if (!m.playlists?.length) {
    v.record('hls', mainRel, false, 'lists no variant (EXT-X-STREAM-INF): not a multivariant playlist');
    return side;
  }
  v.record('hls', mainRel, !!m.independentSegments, m.independentSegments ? 'has EXT-X-INDEPENDENT-SEGMENTS' : 'has no EXT-X-INDEPENDENT-SEGMENTS');

  const renditions: Rendition[] = [];
  for (const a of parsed.media) {
    const r: Rendition = {
      type: String(a.TYPE), group: String(a['GROUP-ID']), name: String(a.NAME),
      language: a.LANGUAGE === undefined ? null : String(a.LANGUAGE), channels: a.CHANNELS === undefined ? null : String(a.CHANNELS), media: null,
    };
    renditions.push(r);
    if (r.type !== 'AUDIO' && r.type !== 'SUBTITLES') continue;
    const subject = `${mainRel} ${r.type} "${r.name}"`;
    if (a.URI === undefined) {
      v.record('hls', subject, false, 'has no URI');
      continue;
    }
    const abs = v.resolve('hls', main, String(a.URI), subject);
    if (abs) r.media = await v.mediaPlaylist(abs, r.type === 'AUDIO' ? 'audio' : 'subtitles');
    const media = r.media;
    if (!media) continue;
    media.figures.language = r.language ?? undefined;
    if (r.type === 'AUDIO') {
      side.audio.push(r);
      report.audio.push(media.figures);
      checkDerived(v, media.figures.playlist, media);
      const channels = media.figures.channels;
      const declared = r.channels === null ? null : Number(r.channels.split('/')[0]);
      v.record('attributes', subject, declared !== null && declared === channels, `CHANNELS ${r.channels ?? '(none)'}, the stream has ${channels ?? '?'} channel(s)`);
    } else {
      side.subtitles.push(r);
      media.cues = await checkVtt(v, media.figures.playlist, media.segments.flatMap((s) => (s.file ? [s.file] : [])));
      report.subtitles.push({ ...media.figures, cues: media.cues });
    }
  }

  for (const entry of m.playlists) {
    const subject = `${mainRel} variant ${entry.uri}`;
    const a = entry.attributes;
    const abs = v.resolve('hls', main, entry.uri, subject);
    const media = abs ? await v.mediaPlaylist(abs, 'video') : null;
    if (!media) continue;
    if (media.init && media.init.handler !== 'vide') {
      v.record('hls', subject, false, `its playlist carries a ${media.init.handler} track, not video`);
      continue;
    }
    const group = (type: string, id: unknown) => {
      if (id === undefined) return [];
      const rs = renditions.filter((r) => r.type === type && r.group === String(id));
      if (!rs.length) v.record('hls', subject, false, `${type}="${String(id)}" names no EXT-X-MEDIA group`);
      return rs;
    };
    const audio = group('AUDIO', a.AUDIO);
    const subs = group('SUBTITLES', a.SUBTITLES);
    const measured = variantFigures(media, audio, subs);
    const declaredCodecs = typeof a.CODECS === 'string' ? a.CODECS.split(',').map((c) => c.trim()).filter(Boolean) : [];
    const res = a.RESOLUTION as { width?: number; height?: number } | undefined;
    const fps = num(a['FRAME-RATE']);
    const f = media.figures;
    const expected = [...new Set([f.codecs, ...audio.map((r) => r.media?.figures.codecs ?? null)].filter((c): c is string => !!c))];
    const variant: VariantReport = {
      playlist: f.playlist,
      declared: {
        bandwidth: num(a.BANDWIDTH), averageBandwidth: num(a['AVERAGE-BANDWIDTH']), codecs: declaredCodecs,
        resolution: res ? `${res.width}x${res.height}` : null, frameRate: fps, audio: a.AUDIO === undefined ? null : String(a.AUDIO), subtitles: a.SUBTITLES === undefined ? null : String(a.SUBTITLES),
      },
      measured: { bandwidth: measured.peak, averageBandwidth: measured.average, codecs: expected, resolution: f.width ? `${f.width}x${f.height}` : null, frameRate: f.frameRate ?? null },
      video: f,
    };
    report.variants.push(variant);
    side.videos.push(media);

    // Missing or unreadable segments are reported where they are found; a bit rate over what is left would only repeat them.
    if ([media, ...audio.map((r) => r.media), ...subs.map((r) => r.media)].every((x) => x?.complete)) {
      checkRate(v, subject, 'BANDWIDTH', variant.declared.bandwidth, measured.peak);
      checkRate(v, subject, 'AVERAGE-BANDWIDTH', variant.declared.averageBandwidth, measured.average);
    }

    // Check 5: every declared entry is one of the renditions' derived strings, and every derived one is declared.
    checkDerived(v, f.playlist, media);
    if (!declaredCodecs.length) v.record('codecs', subject, false, `no CODECS (the streams are ${expected.join(',')})`);
    else {
      const text = (c: string) => subs.length > 0 && /^(wvtt|stpp)/i.test(c);
      const unknown = declaredCodecs.filter((c) => !text(c) && !expected.some((e) => sameCodec(e, c)));
      const missing = expected.filter((e) => !declaredCodecs.some((c) => sameCodec(e, c)));
      const faults = [...unknown.map((c) => `${c} matches no rendition`), ...missing.map((e) => `${e} is not declared`)];
      v.record('codecs', subject, faults.length === 0, faults.length ? `CODECS "${declaredCodecs.join(',')}" vs derived "${expected.join(',')}": ${faults.join('; ')}` : `CODECS ${declaredCodecs.join(',')} match the streams`);
    }

    // Check 6: RESOLUTION and FRAME-RATE against ffprobe of every segment.
    const sizes = [...new Set(media.segments.flatMap((s) => (s.probe?.stream?.width ? [`${s.probe.stream.width}x${s.probe.stream.height}`] : [])))];
    v.record(
      'attributes', subject, variant.declared.resolution !== null && sizes.length === 1 && sizes[0] === variant.declared.resolution,
      `RESOLUTION ${variant.declared.resolution ?? '(none)'}, the segments are ${sizes.join(' / ') || '?'}`,
    );
    v.record(
      'attributes', subject, fps !== null && f.frameRate !== undefined && Math.abs(fps - f.frameRate) < 0.01,
      `FRAME-RATE ${fps ?? '(none)'}, the stream runs at ${f.frameRate?.toFixed(3) ?? '?'} fps`,
    );
    checkIdr(v, media);
  }
  const tds = side.videos.flatMap((m) => (m.manifest.targetDuration ? [m.manifest.targetDuration] : []));
  const target = v.opts.targetSegmentSeconds ?? (tds.length ? Math.min(...tds) : null);
  for (const m of [...side.videos, ...side.audio.flatMap((r) => (r.media ? [r.media] : []))]) checkDurations(v, m, target ?? m.manifest.targetDuration ?? null);
  checkAlignment(v, side.videos);
  for (const entry of m.iFramePlaylists ?? []) await validateIframes(v, main, mainRel, entry, report);
  return side;
}

/** I-frame playlists: I-FRAMES-ONLY, each byte range starts at a moof and holds an IDR that decodes as a key I-frame at its EXTINF time. */
async function validateIframes(v: Validation, main: string, mainRel: string, entry: { uri?: string; attributes: Record<string, unknown> }, report: PackageReport): Promise<void> {
  const uri = entry.uri ?? (entry.attributes.URI as string | undefined);
  const subject = `${mainRel} I-frame stream ${uri}`;
  if (!uri) return void v.record('hls', subject, false, 'has no URI');
  const abs = v.resolve('hls', main, uri, subject);
  const parsed = abs ? await v.playlist(abs, v.rel(abs)) : null;
  if (!abs || !parsed) return;
  const rel = v.rel(abs);
  const m = parsed.manifest;
  const faults: string[] = [];
  if (!m.iFramesOnly) faults.push('has no EXT-X-I-FRAMES-ONLY');
  if (!m.endList) faults.push('has no EXT-X-ENDLIST');
  if ((m.version ?? 1) < (m.segments.some((s) => s.map) ? 5 : 4)) faults.push(`declares EXT-X-VERSION ${m.version ?? 1}, too low for I-frames-only with EXT-X-MAP`);
  v.record('hls', rel, faults.length === 0, faults.length ? faults.join('; ') : 'I-frames-only playlist complete');

  const res = entry.attributes.RESOLUTION as { width?: number; height?: number } | undefined;
  const out: IframeReport = {
    playlist: rel,
    declared: { bandwidth: num(entry.attributes.BANDWIDTH), codecs: typeof entry.attributes.CODECS === 'string' ? entry.attributes.CODECS : null, resolution: res ? `${res.width}x${res.height}` : null },
    measured: { bandwidth: 0, codecs: null, resolution: null },
    frames: [],
  };
  report.iframes.push(out);
  const inits = new Map<string, { buf: Buffer; info: InitInfo }>();
  let firstStream: ProbeStream | null = null;
  let firstInit: InitInfo | null = null;
  let start = 0;
  let frameSeconds = 0.04;
  let pts0: number | null = null;
  for (const [i, s] of m.segments.entries()) {
    const es = `${rel} entry ${i + 1}`;
    const extinfStart = start;
    start += s.duration;
    if (!s.byterange) {
      v.record('hls', es, false, 'has no EXT-X-BYTERANGE');
      continue;
    }
    const { offset, length } = s.byterange;
    const file = v.resolve('hls', abs, s.uri, es);
    const initFile = s.map ? v.resolve('hls', abs, s.map.uri, es) : null;
    if (!s.map) v.record('hls', es, false, 'has no EXT-X-MAP');
    if (!(await v.exists('hls', es, file, 'segment')) || !(await v.exists('hls', es, initFile, 'init segment'))) continue;
    const frame: IframeReport['frames'][number] = { file: v.rel(file!), offset, length, extinf: s.duration, pts: null, key: false, nalType: null };
    out.frames.push(frame);
    try {
      let init = inits.get(initFile!);
      if (!init) {
        const buf = await readFile(initFile!);
        init = { buf, info: parseInit(buf) };
        inits.set(initFile!, init);
      }
      const whole = await readFile(file!);
      const problems: string[] = [];
      if (offset + length > whole.length) problems.push(`the range ${length}@${offset} runs past the end of the ${whole.length}-byte file`);
      const top = mp4Children(whole);
      const at = top.find((b) => b.start <= offset && offset < b.end);
      const frag = at?.start === offset && at.type === 'moof' ? parseFragments(whole, init.info).find((f) => f.moofStart === offset) : undefined;
      if (!frag) problems.push(`offset ${offset} is ${at ? (at.start === offset ? `the start of a ${at.type}` : `inside a ${at.type} (${at.start}–${at.end})`) : 'past the last box'}, not the start of a moof`);
      const sample = frag?.samples[0];
      if (frag && sample) {
        frameSeconds = sample.duration / init.info.timescale || frameSeconds;
        if (sample.offset + sample.size > offset + length) problems.push(`the range ends at ${offset + length}, before the first sample does (${sample.offset + sample.size})`);
        const hevc = isHevc(init.info);
        const vcl = init.info.nalLengthSize ? nalTypes(whole, sample, init.info.nalLengthSize, hevc).find((t) => isVcl(t, hevc)) : undefined;
        frame.nalType = vcl ?? null;
        if (vcl === undefined || !isRandomAccess(vcl, hevc)) problems.push(`the first sample's first slice is nal_unit_type ${vcl ?? 'none'}, not an IDR`);
      }
      // What a player gets: the init section and the range's bytes (the mdat is cut short after the I-frame).
      const probe = await v.probe([init.buf, whole.subarray(offset, offset + length)], 'video');
      frame.key = !!probe.frame?.key && probe.frame.pictType === 'I';
      // Where the frame sits: the file's own presentation time (tfdt + composition offset − edit) where the range
      // starts at a moof. ffprobe's pts is not that: ffmpeg shifts negative composition offsets by what it sees in
      // the bytes it is given, so a range holding the last, shorter GOP read two frames early.
      frame.pts = frag && sample ? (frag.tfdt + sample.cto - init.info.editMediaTime) / init.info.timescale : (probe.packet?.pts ?? null);
      if (!frame.key) problems.push(`the range decodes to ${probe.frame ? `pict_type ${probe.frame.pictType}, key_frame ${probe.frame.key ? 1 : 0}` : 'no frame'}`);
      if (i === 0) {
        firstStream = probe.stream;
        firstInit = init.info;
        pts0 = frame.pts;
      }
      if (frame.pts !== null && pts0 !== null && Math.abs(frame.pts - pts0 - extinfStart) > frameSeconds / 2) {
        problems.push(`the EXTINF sum puts it at ${extinfStart.toFixed(3)} s, the frame is at ${(frame.pts - pts0).toFixed(3)} s`);
      }
      v.record('hls', es, problems.length === 0, problems.length ? problems.join('; ') : `moof at ${offset}, IDR, key I-frame at ${frame.pts} s`);
    } catch (e) {
      v.record('hls', es, false, `${frame.file} could not be read: ${(e as Error).message}`);
    }
  }
  const sized = m.segments.map((s) => ({ bytes: s.byterange?.length ?? 0, seconds: s.duration }));
  out.measured.bandwidth = peakBitrate(sized, m.targetDuration ?? Math.ceil(Math.max(0, ...sized.map((s) => s.seconds))));
  checkRate(v, subject, 'BANDWIDTH', out.declared.bandwidth, out.measured.bandwidth);
  if (entry.attributes['AVERAGE-BANDWIDTH'] !== undefined) checkRate(v, subject, 'AVERAGE-BANDWIDTH', num(entry.attributes['AVERAGE-BANDWIDTH']), averageBitrate(sized));
  if (firstInit) {
    const derived = deriveCodecs(firstInit, firstStream);
    out.measured.codecs = derived.codecs;
    const fs: ProbeStream | null = firstStream;
    out.measured.resolution = fs?.width ? `${fs.width}x${fs.height}` : null;
    const codecsOk = !!out.declared.codecs && !!derived.codecs && sameCodec(out.declared.codecs, derived.codecs);
    v.record('codecs', subject, codecsOk, `CODECS ${out.declared.codecs ?? '(none)'}, derived ${derived.codecs ?? '?'}`);
    v.record('attributes', subject, !!out.declared.resolution && out.declared.resolution === out.measured.resolution, `RESOLUTION ${out.declared.resolution ?? '(none)'}, the frames are ${out.measured.resolution ?? '?'}`);
  }
}

// ---------------------------------------------------------------- DASH

type XmlNode = Record<string, unknown>;
const ARRAYS = new Set(['Period', 'AdaptationSet', 'Representation', 'S', 'BaseURL']);

const attr = (n: XmlNode | undefined, name: string): string | null => {
  const x = n?.[`@${name}`];
  return x === undefined || x === null ? null : String(x);
};
const nodes = (n: XmlNode | undefined, name: string): XmlNode[] => (n?.[name] as XmlNode[] | undefined) ?? [];

/** xs:duration as the MPD uses it (PnDTnHnMnS); null for forms with years or months. */
function isoSeconds(d: string | null): number | null {
  const m = d ? /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d) : null;
  if (!m) return null;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/** A SegmentTemplate string with its identifiers substituted ($$, $RepresentationID$, $Number%05d$ …). */
function expandTemplate(t: string, vars: Record<string, string | number | undefined>): string {
  return t.replace(/\$(RepresentationID|Number|Time|Bandwidth|)(?:%0(\d+)d)?\$/g, (_all, name: string, width?: string) => {
    if (name === '') return '$';
    const value = vars[name];
    if (value === undefined) throw new Error(`$${name}$ has no value in this template`);
    return width ? String(value).padStart(Number(width), '0') : String(value);
  });
}

/** Segment start times and durations (timescale units) of a SegmentTemplate, from its SegmentTimeline or its @duration. */
function templateSegments(tpl: XmlNode, periodSeconds: number | null): { t: number; d: number }[] {
  const timescale = Number(attr(tpl, 'timescale') ?? 1);
  const pto = Number(attr(tpl, 'presentationTimeOffset') ?? 0);
  const end = periodSeconds === null ? null : pto + periodSeconds * timescale;
  const list = nodes(tpl.SegmentTimeline as XmlNode | undefined, 'S');
  const out: { t: number; d: number }[] = [];
  if (list.length) {
    let t = 0;
    for (const [i, s] of list.entries()) {
      if (attr(s, 't') !== null) t = Number(attr(s, 't'));
      const d = Number(attr(s, 'd'));
      let r = Number(attr(s, 'r') ?? 0);
      if (r < 0) {
        // r = -1: repeat up to the next S@t or the end of the Period.
        const until = attr(list[i + 1], 't') !== null ? Number(attr(list[i + 1], 't')) : end;
        if (until === null) throw new Error('S@r="-1" with no Period end');
        r = Math.ceil((until - t) / d) - 1;
      }
      for (let k = 0; k <= r; k++, t += d) out.push({ t, d });
    }
    return out;
  }
  const d = Number(attr(tpl, 'duration'));
  if (!d) throw new Error('SegmentTemplate has neither a SegmentTimeline nor @duration');
  if (end === null) throw new Error('SegmentTemplate@duration with no Period duration');
  for (let t = pto; t < end - 1e-9; t += d) out.push({ t, d: Math.min(d, end - t) });
  return out;
}

/** The effective SegmentTemplate: attributes inherited Period → AdaptationSet → Representation, the most specific timeline. */
function mergeTemplates(...levels: (XmlNode | undefined)[]): XmlNode | null {
  const tpls = levels.map((l) => l?.SegmentTemplate as XmlNode | undefined).filter((t): t is XmlNode => !!t);
  return tpls.length ? Object.assign({}, ...tpls) : null;
}

function baseUrl(from: URL, ...levels: (XmlNode | undefined)[]): URL {
  let base = from;
  for (const l of levels) {
    const b = nodes(l, 'BaseURL')[0] as unknown;
    const text = typeof b === 'string' ? b : b && typeof b === 'object' ? (b as XmlNode)['#text'] : undefined;
    if (typeof text === 'string' && text.trim()) base = new URL(text.trim(), base);
  }
  return base;
}

interface DashRep {
  id: string;
  kind: 'video' | 'audio' | 'text';
  lang: string | null;
  report: DashReport;
  initFile: string | null;
  segs: { t: number; d: number }[];
  timescale: number;
  pto: number;
  hls: Media | null;
}

async function validateDash(v: Validation, report: PackageReport, hls: HlsSide): Promise<void> {
  const mpdRel = v.opts.mpd ?? 'dash/manifest.mpd';
  const mpdAbs = path.join(v.dir, mpdRel);
  const text = await readFile(mpdAbs, 'utf8').catch(() => null);
  if (text === null) return void v.record('dash', mpdRel, false, 'does not exist');
  const valid = XMLValidator.validate(text);
  if (valid !== true) return void v.record('dash', mpdRel, false, `is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, isArray: (n) => ARRAYS.has(n) }).parse(text) as XmlNode;
  const mpd = doc.MPD as XmlNode | undefined;
  if (!mpd) return void v.record('dash', mpdRel, false, 'has no MPD element');
  const type = attr(mpd, 'type') ?? 'static';
  const total = isoSeconds(attr(mpd, 'mediaPresentationDuration'));
  const periods = nodes(mpd, 'Period');
  v.record('dash', mpdRel, type === 'static' && total !== null && periods.length > 0, `parses with fast-xml-parser: type ${type}, mediaPresentationDuration ${total ?? '(none)'} s, ${periods.length} Period(s)`);
  const target = Math.ceil(isoSeconds(attr(mpd, 'maxSegmentDuration')) ?? 0) || null;

  const reps: DashRep[] = [];
  let periodStart = 0;
  for (const [pi, period] of periods.entries()) {
    periodStart = isoSeconds(attr(period, 'start')) ?? periodStart;
    const next = isoSeconds(attr(periods[pi + 1], 'start'));
    const periodSeconds = isoSeconds(attr(period, 'duration')) ?? (next !== null ? next - periodStart : total !== null ? total - periodStart : null);
    for (const as of nodes(period, 'AdaptationSet')) {
      for (const rep of nodes(as, 'Representation')) {
        const id = attr(rep, 'id') ?? '?';
        const subject = `${mpdRel} Representation ${id}`;
        const mime = attr(rep, 'mimeType') ?? attr(as, 'mimeType') ?? '';
        const ct = attr(as, 'contentType') ?? attr(rep, 'contentType') ?? mime.split('/')[0] ?? '';
        const kind = ct === 'video' ? 'video' : ct === 'audio' ? 'audio' : ct === 'text' || mime.startsWith('text/') || mime === 'application/ttml+xml' ? 'text' : null;
        const r: DashReport = {
          id, contentType: ct,
          declared: { bandwidth: num(attr(rep, 'bandwidth')), codecs: attr(rep, 'codecs') ?? attr(as, 'codecs'), width: num(attr(rep, 'width') ?? attr(as, 'width')), height: num(attr(rep, 'height') ?? attr(as, 'height')), lang: attr(as, 'lang') ?? attr(rep, 'lang') },
          measured: { bandwidth: 0, averageBandwidth: 0, codecs: null },
          hlsPlaylist: null,
          segments: [],
        };
        if (!kind) {
          v.record('dash', subject, false, `content type "${ct}" is neither video, audio nor text`);
          continue;
        }
        report.dash.push(r);
        const base = baseUrl(pathToFileURL(mpdAbs), mpd, period, as, rep);
        const tpl = mergeTemplates(period, as, rep);
        const dr: DashRep = { id, kind, lang: r.declared.lang, report: r, initFile: null, segs: [], timescale: 1, pto: 0, hls: null };
        reps.push(dr);
        const fileOf = (ref: string): string | null => v.resolve('dash', fileURLToPath(base), ref, subject);
        if (kind === 'text' && !tpl) {
          // A sidecar WebVTT: the BaseURL is the file.
          const file = fileURLToPath(base);
          if (await v.exists('dash', subject, file, 'text file')) await checkVtt(v, subject, [file]);
          continue;
        }
        if (!tpl) {
          v.record('dash', subject, false, 'has no SegmentTemplate');
          continue;
        }
        const vars = { RepresentationID: id, Bandwidth: attr(rep, 'bandwidth') ?? undefined };
        try {
          dr.segs = templateSegments(tpl, periodSeconds);
          dr.timescale = Number(attr(tpl, 'timescale') ?? 1);
          dr.pto = Number(attr(tpl, 'presentationTimeOffset') ?? 0);
          const startNumber = Number(attr(tpl, 'startNumber') ?? 1);
          const init = attr(tpl, 'initialization');
          dr.initFile = init ? fileOf(expandTemplate(init, vars)) : null;
          const media = attr(tpl, 'media');
          if (!media) throw new Error('SegmentTemplate has no @media');
          const files = dr.segs.map((s, i) => fileOf(expandTemplate(media, { ...vars, Number: startNumber + i, Time: s.t })));
          const present: boolean[] = [];
          if (init && !(await v.exists('dash', subject, dr.initFile, 'init segment'))) dr.initFile = null;
          for (const f of files) present.push(await v.exists('dash', subject, f, 'segment'));
          v.record('dash', subject, present.every(Boolean) && (kind === 'text' || !!dr.initFile), `SegmentTemplate expands to ${files.length} segment(s); ${present.filter(Boolean).length} exist`);
          for (const [i, f] of files.entries()) {
            r.segments.push({ file: f ? v.rel(f) : '(unresolved)', bytes: f && present[i] ? (await stat(f)).size : 0, seconds: dr.segs[i]!.d / dr.timescale });
          }
          if (kind === 'text') await checkVtt(v, subject, files.filter((f, i): f is string => !!f && !!present[i]));
        } catch (e) {
          v.record('dash', subject, false, `SegmentTemplate: ${(e as Error).message}`);
          continue;
        }
        if (kind === 'text') continue;
        const sized = r.segments.map((s) => ({ bytes: s.bytes, seconds: s.seconds }));
        r.measured.bandwidth = peakBitrate(sized, target ?? Math.ceil(Math.max(0, ...sized.map((s) => s.seconds))));
        r.measured.averageBandwidth = averageBitrate(sized);
        // ISO/IEC 23009-1 defines @bandwidth with @minBufferTime (a leaky bucket), which allows less than
        // the peak; vpipe's packager writes one figure, RFC 8216's peak, into both manifests, so that is
        // what @bandwidth is held to, on the MPD's own segments (when they are all there).
        if (r.segments.every((s) => s.bytes > 0)) checkRate(v, subject, '@bandwidth', r.declared.bandwidth, r.measured.bandwidth);

        // Codecs and picture size from the Representation's own init segment and first media segment.
        const first = dr.initFile && r.segments[0] && r.segments[0].bytes > 0 ? path.join(v.dir, r.segments[0].file) : null;
        if (dr.initFile && first) {
          try {
            const initBuf = await readFile(dr.initFile);
            const info = parseInit(initBuf);
            const seg = await v.segment(kind, dr.initFile, initBuf, info, first, undefined, true);
            const derived = deriveCodecs(info, seg.probe?.stream ?? null);
            r.measured.codecs = derived.codecs;
            v.record('codecs', subject, !!r.declared.codecs && !!derived.codecs && sameCodec(r.declared.codecs, derived.codecs), `codecs ${r.declared.codecs ?? '(none)'}, derived ${derived.codecs ?? '?'}`);
            const s = seg.probe?.stream;
            if (kind === 'video') {
              v.record('attributes', subject, r.declared.width === (s?.width ?? null) && r.declared.height === (s?.height ?? null), `width×height ${r.declared.width}x${r.declared.height}, the stream is ${s?.width}x${s?.height}`);
              const fr = attr(rep, 'frameRate') ?? attr(as, 'frameRate');
              const measuredFps = rate(s?.r_frame_rate);
              const declaredFps = fr === null ? null : fr.includes('/') ? rate(fr) : Number(fr);
              if (declaredFps !== null) v.record('attributes', subject, measuredFps !== null && Math.abs(declaredFps - measuredFps) < 0.01, `frameRate ${fr}, the stream runs at ${measuredFps?.toFixed(3) ?? '?'} fps`);
            }
          } catch (e) {
            v.record('dash', subject, false, `init or first segment could not be read: ${(e as Error).message}`);
          }
        }
      }
    }
    periodStart += periodSeconds ?? 0;
  }
  matchDash(v, mpdRel, reps, hls);
}

/** Check 8's cross-check: every HLS rendition has its DASH Representation (same files or same properties) on the same timeline, and back. */
function matchDash(v: Validation, mpdRel: string, reps: DashRep[], hls: HlsSide): void {
  const hlsAudio = hls.audio.flatMap((r) => (r.media ? [r.media] : []));
  const taken = new Set<DashRep>();
  const find = (m: Media, kind: 'video' | 'audio') => {
    const same = reps.find((r) => r.kind === kind && !taken.has(r) && r.initFile !== null && r.initFile === m.initFile);
    if (same) return same;
    const f = m.figures;
    return reps.find(
      (r) => r.kind === kind && !taken.has(r) && !!f.codecs && !!r.report.declared.codecs && sameCodec(f.codecs, r.report.declared.codecs) &&
        (kind === 'video' ? r.report.declared.width === (f.width ?? null) && r.report.declared.height === (f.height ?? null) : normLang(r.lang) === normLang(f.language)),
    );
  };
  for (const [kind, list] of [['video', hls.videos], ['audio', hlsAudio]] as const) {
    for (const m of list) {
      const f = m.figures;
      const rep = find(m, kind);
      if (!rep) {
        v.record('dash', mpdRel, false, `HLS ${kind} ${f.playlist} (${f.width ? `${f.width}x${f.height} ` : ''}${f.codecs ?? ''}) has no DASH Representation`);
        continue;
      }
      taken.add(rep);
      rep.hls = m;
      rep.report.hlsPlaylist = f.playlist;
      const subject = `${mpdRel} Representation ${rep.id}`;
      const faults: string[] = [];
      if (kind === 'video' && (rep.report.declared.width !== (f.width ?? null) || rep.report.declared.height !== (f.height ?? null))) {
        faults.push(`is ${rep.report.declared.width}x${rep.report.declared.height}, the HLS variant ${f.width}x${f.height}`);
      }
      if (rep.segs.length !== f.segments.length) faults.push(`${rep.segs.length} segments, the HLS playlist ${f.segments.length}`);
      const tol = (m.frameSeconds ?? 0.02) / 2;
      for (let i = 0; i < Math.min(rep.segs.length, f.segments.length); i++) {
        const s = rep.segs[i]!;
        const h = f.segments[i]!;
        const d = s.d / rep.timescale;
        if (Math.abs(d - h.extinf) > tol) faults.push(`segment ${i + 1} lasts ${d.toFixed(3)} s, EXTINF ${h.extinf.toFixed(3)} s`);
        const t = (s.t - rep.pto) / rep.timescale;
        // Against the file's own presentation time of the first sample (tfdt + its composition offset), not
        // ffprobe's pts: ffmpeg shifts a trun's negative composition offsets into positive times when it reads them.
        if (h.firstPresentation !== null && Math.abs(t - h.firstPresentation) > tol) faults.push(`segment ${i + 1} starts at ${t.toFixed(3)} s, its first frame (tfdt + composition offset) at ${h.firstPresentation.toFixed(3)} s`);
      }
      v.record('dash', subject, faults.length === 0, faults.length ? `against ${f.playlist}: ${faults.join('; ')}` : `same ${f.segments.length} segments as ${f.playlist}`);
    }
  }
  for (const r of reps) if (r.kind !== 'text' && !r.hls) v.record('dash', `${mpdRel} Representation ${r.id}`, false, `has no HLS counterpart (${r.kind})`);

  // Languages: the audio (and text) languages of both manifests are the same sets.
  const langs = (xs: (string | null | undefined)[]) => [...new Set(xs.map(normLang))].sort().join(',');
  const pairs = [
    ['audio', langs(hls.audio.map((r) => r.language)), langs(reps.filter((r) => r.kind === 'audio').map((r) => r.lang))],
    ['text', langs(hls.subtitles.map((r) => r.language)), langs(reps.filter((r) => r.kind === 'text').map((r) => r.lang))],
  ] as const;
  for (const [what, h, d] of pairs) {
    if (!h && !d) continue;
    v.record('dash', mpdRel, h === d, `${what} languages: HLS [${h}], DASH [${d}]`);
  }
}

// ---------------------------------------------------------------- entry point

/** Validates the package in `dir` (see the header for the checks); never throws for a bad package, only reports. */
export async function validatePackage(dir: string, opts: ValidateOptions = {}): Promise<PackageReport> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vpipe-package-validator-'));
  try {
    const v = new Validation(path.resolve(dir), { bandwidthTolerance: 0.1, ...opts }, tmp);
    const report: PackageReport = { dir: v.dir, findings: v.findings, problems: [], variants: [], audio: [], subtitles: [], iframes: [], dash: [] };
    const hls = await validateHls(v, report);
    await validateDash(v, report, hls);
    report.problems = v.findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.subject}: ${f.message}`);
    return report;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
