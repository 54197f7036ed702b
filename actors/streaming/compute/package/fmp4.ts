/**
 * The parts of a fragmented MP4 the packager reads itself: the one track an
 * init segment describes (timescale, sample entry, trex defaults) and, per
 * moof, the timing, flags and byte layout of its samples. What a fragment
 * says is what HLS and DASH are written from, so nothing here is estimated.
 */
import fs from 'node:fs/promises';
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';
import { mp4Children } from '../../../../runtime/media/mod.js';

type Mp4Box = ReturnType<typeof mp4Children>[number];

/** trex's per-track defaults, which a tfhd may override and a trun may override per sample. */
export interface SampleDefaults {
  duration: number;
  size: number;
  flags: number;
}

export interface TrackInfo {
  trackId: number;
  /** hdlr handler type: `vide`, `soun` … */
  handler: string;
  timescale: number;
  /** The sample entry's four-character code (`avc1`, `hev1`, `mp4a` …) and its box in `moov`. */
  entryType: string;
  entry: Mp4Box;
  /** Coded size (visual sample entries). */
  width?: number;
  height?: number;
  /** Audio sample entries. */
  channels?: number;
  defaults: SampleDefaults;
}

/** One moof's samples, summarised; byte offsets are from the start of the moof. */
export interface FragmentTiming {
  sequence: number;
  /** tfdt: the first sample's decode time, in track ticks. */
  decodeTicks: number;
  /** The first sample's composition offset (negative with CMAF's signed offsets). */
  firstCompositionOffset: number;
  durationTicks: number;
  sampleCount: number;
  /** How many samples last how many ticks (one entry for a constant frame rate, but for a shorter last frame). */
  sampleDurations: Map<number, number>;
  firstSampleSync: boolean;
  /** Where the first sample's data ends: moof + mdat header + the first sample is the I-frame byte range. */
  firstSampleEnd: number;
  /** Where the first sample's data starts and the last one's ends (both must lie inside the following mdat). */
  dataStart: number;
  dataEnd: number;
}

export interface TopBox {
  type: string;
  offset: number;
  size: number;
}

/** tfhd and trun flags: which optional fields are present. */
const TFHD = { baseDataOffset: 0x1, descriptionIndex: 0x2, defaultDuration: 0x8, defaultSize: 0x10, defaultFlags: 0x20 } as const;
const TRUN = { dataOffset: 0x1, firstSampleFlags: 0x4, duration: 0x100, size: 0x200, sampleFlags: 0x400, compositionOffset: 0x800 } as const;
/** ISO/IEC 14496-12 sample flags: bit 16 is sample_is_non_sync_sample. */
const SAMPLE_IS_NON_SYNC = 0x10000;

function malformed(what: string): never {
  throw new VpipeError(ErrorCodes.Internal, `fragmented MP4: ${what}`);
}

export function isSyncSample(flags: number): boolean {
  return (flags & SAMPLE_IS_NON_SYNC) === 0;
}

function child(buf: Buffer, parent: Mp4Box, type: string): Mp4Box {
  return mp4Children(buf, parent.body, parent.end).find((b) => b.type === type) ?? malformed(`no ${type} in ${parent.type}`);
}

/** Version and flags of a full box, and where its fields start. */
function fullBox(buf: Buffer, box: Mp4Box): { version: number; flags: number; p: number } {
  if (box.body + 4 > box.end) malformed(`${box.type} is truncated`);
  return { version: buf.readUInt8(box.body), flags: buf.readUIntBE(box.body + 1, 3), p: box.body + 4 };
}

/** Bytes before a sample entry's child boxes: SampleEntry (8) + VisualSampleEntry (70), or AudioSampleEntry by QuickTime version. */
function sampleEntryHeader(buf: Buffer, handler: string, entry: Mp4Box): number {
  if (handler === 'vide') return 78;
  if (handler === 'soun') return [28, 44, 64][buf.readUInt16BE(entry.body + 8)] ?? malformed(`audio sample entry version ${buf.readUInt16BE(entry.body + 8)}`);
  return 8;
}

/** Reads the 32-bit field that `flag` announces in a box's flags, if it does, and moves the cursor past it. */
function optional32(buf: Buffer, boxFlags: number, flag: number, at: { p: number }): number | undefined {
  if (!(boxFlags & flag)) return undefined;
  at.p += 4;
  return buf.readUInt32BE(at.p - 4);
}

/** The first child boxes of a sample entry (its codec configuration: avcC, hvcC, esds …). */
export function sampleEntryChildren(moov: Buffer, track: TrackInfo): Mp4Box[] {
  return mp4Children(moov, track.entry.body + sampleEntryHeader(moov, track.handler, track.entry), track.entry.end);
}

/** The single track of an init segment's moov (a buffer holding the whole moov box). */
export function parseTrack(moov: Buffer): TrackInfo {
  const top = mp4Children(moov, 0, moov.length)[0];
  if (top?.type !== 'moov') malformed('no moov box');
  const traks = mp4Children(moov, top.body, top.end).filter((b) => b.type === 'trak');
  if (traks.length !== 1) malformed(`${traks.length} tracks where one was expected`);
  const trak = traks[0]!;
  const tkhd = fullBox(moov, child(moov, trak, 'tkhd'));
  const trackId = moov.readUInt32BE(tkhd.p + (tkhd.version === 1 ? 16 : 8));
  const mdia = child(moov, trak, 'mdia');
  const mdhd = fullBox(moov, child(moov, mdia, 'mdhd'));
  const timescale = moov.readUInt32BE(mdhd.p + (mdhd.version === 1 ? 16 : 8));
  if (timescale === 0) malformed('timescale 0');
  const hdlr = child(moov, mdia, 'hdlr');
  const handler = moov.toString('latin1', hdlr.body + 8, hdlr.body + 12);
  const stsd = child(moov, child(moov, child(moov, mdia, 'minf'), 'stbl'), 'stsd');
  const entry = mp4Children(moov, stsd.body + 8, stsd.end)[0] ?? malformed('empty stsd');
  const track: TrackInfo = { trackId, handler, timescale, entryType: entry.type, entry, defaults: { duration: 0, size: 0, flags: 0 } };
  if (handler === 'vide') {
    track.width = moov.readUInt16BE(entry.body + 24);
    track.height = moov.readUInt16BE(entry.body + 26);
  } else if (handler === 'soun') {
    track.channels = moov.readUInt16BE(entry.body + 16);
  }
  const mvex = child(moov, top, 'mvex');
  for (const trex of mp4Children(moov, mvex.body, mvex.end).filter((b) => b.type === 'trex')) {
    const { p } = fullBox(moov, trex);
    if (moov.readUInt32BE(p) !== trackId) continue;
    track.defaults = { duration: moov.readUInt32BE(p + 8), size: moov.readUInt32BE(p + 12), flags: moov.readUInt32BE(p + 16) };
  }
  return track;
}

/** Summarises one moof (a buffer holding the whole moof box) of `track`. */
export function parseFragment(moof: Buffer, track: TrackInfo): FragmentTiming {
  const top = mp4Children(moof, 0, moof.length)[0];
  if (top?.type !== 'moof') malformed('no moof box');
  const sequence = moof.readUInt32BE(fullBox(moof, child(moof, top, 'mfhd')).p);
  const trafs = mp4Children(moof, top.body, top.end).filter((b) => b.type === 'traf');
  if (trafs.length !== 1) malformed(`fragment ${sequence} has ${trafs.length} track fragments`);
  const traf = trafs[0]!;

  const tfhd = fullBox(moof, child(moof, traf, 'tfhd'));
  if (moof.readUInt32BE(tfhd.p) !== track.trackId) malformed(`fragment ${sequence} is of another track`);
  // An absolute base offset would point into the file the fragment was cut from, not into its segment.
  if (tfhd.flags & TFHD.baseDataOffset) malformed(`fragment ${sequence} has an absolute base data offset (not default-base-is-moof)`);
  const at = { p: tfhd.p + 4 + (tfhd.flags & TFHD.descriptionIndex ? 4 : 0) };
  // Object literal members are evaluated in order, which is the fields' order in the box.
  const defaults: SampleDefaults = {
    duration: optional32(moof, tfhd.flags, TFHD.defaultDuration, at) ?? track.defaults.duration,
    size: optional32(moof, tfhd.flags, TFHD.defaultSize, at) ?? track.defaults.size,
    flags: optional32(moof, tfhd.flags, TFHD.defaultFlags, at) ?? track.defaults.flags,
  };

  const tfdt = fullBox(moof, child(moof, traf, 'tfdt'));
  const decodeTicks = tfdt.version === 1 ? Number(moof.readBigUInt64BE(tfdt.p)) : moof.readUInt32BE(tfdt.p);

  const out: FragmentTiming = {
    sequence, decodeTicks, firstCompositionOffset: 0, durationTicks: 0, sampleCount: 0,
    sampleDurations: new Map(), firstSampleSync: false, firstSampleEnd: 0, dataStart: 0, dataEnd: 0,
  };
  let dataPos: number | null = null;
  for (const trunBox of mp4Children(moof, traf.body, traf.end).filter((b) => b.type === 'trun')) {
    const trun = fullBox(moof, trunBox);
    const at = { p: trun.p + 4 };
    const count = moof.readUInt32BE(trun.p);
    const offset = optional32(moof, trun.flags, TRUN.dataOffset, at);
    if (offset !== undefined) dataPos = offset | 0;
    if (dataPos === null) malformed(`fragment ${sequence}: the first trun has no data offset`);
    const firstFlags = optional32(moof, trun.flags, TRUN.firstSampleFlags, at);
    const perSample = [TRUN.duration, TRUN.size, TRUN.sampleFlags, TRUN.compositionOffset].filter((f) => trun.flags & f).length * 4;
    if (at.p + count * perSample > trunBox.end) malformed(`fragment ${sequence}: trun is truncated`);
    for (let i = 0; i < count; i++) {
      const duration = optional32(moof, trun.flags, TRUN.duration, at) ?? defaults.duration;
      const size = optional32(moof, trun.flags, TRUN.size, at) ?? defaults.size;
      const sampleFlags = optional32(moof, trun.flags, TRUN.sampleFlags, at) ?? defaults.flags;
      const flags = i === 0 && firstFlags !== undefined ? firstFlags : sampleFlags;
      const rawCto = optional32(moof, trun.flags, TRUN.compositionOffset, at) ?? 0;
      // Version 1 offsets are signed: CMAF's way of starting presentation at the first decode time without an edit list.
      const cto = trun.version === 0 ? rawCto : rawCto | 0;
      if (out.sampleCount === 0) {
        out.firstSampleSync = isSyncSample(flags);
        out.firstCompositionOffset = cto;
        out.dataStart = dataPos;
        out.firstSampleEnd = dataPos + size;
      }
      dataPos += size;
      out.sampleCount++;
      out.durationTicks += duration;
      out.sampleDurations.set(duration, (out.sampleDurations.get(duration) ?? 0) + 1);
    }
    out.dataEnd = dataPos;
  }
  if (out.sampleCount === 0) malformed(`fragment ${sequence} has no samples`);
  return out;
}

/** The top-level boxes of a file, read header by header (the file can be larger than memory). */
export async function topLevelBoxes(file: string): Promise<TopBox[]> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(16);
    const out: TopBox[] = [];
    for (let p = 0; p < size; ) {
      const { bytesRead } = await fh.read(head, 0, 16, p);
      if (bytesRead < 8) malformed(`${file}: truncated box header at ${p}`);
      let boxSize = head.readUInt32BE(0);
      if (boxSize === 1) boxSize = bytesRead === 16 ? Number(head.readBigUInt64BE(8)) : 0;
      else if (boxSize === 0) boxSize = size - p;
      if (boxSize < 8 || p + boxSize > size) malformed(`${file}: bad box size at ${p}`);
      out.push({ type: head.toString('latin1', 4, 8), offset: p, size: boxSize });
      p += boxSize;
    }
    return out;
  } finally {
    await fh.close();
  }
}
