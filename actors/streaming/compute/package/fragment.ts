/**
 * One rendition into CMAF: ffmpeg remuxes it (stream copy) into a fragmented
 * MP4 — a fragment at every video keyframe, or every ~GOP of audio — and the
 * packager cuts that file into init.mp4 (ftyp + moov) and segment files of
 * whole moof+mdat pairs behind a styp. Fragments use default-base-is-moof,
 * so a pair keeps its meaning wherever it is copied to.
 *
 * ffmpeg 5.1 quirks this relies on or works around:
 * - `+cmaf` writes version 1 truns with signed composition offsets, so the
 *   first frame of a B-frame stream is presented at its decode time (tfdt)
 *   and no edit list is needed: every IDR's presentation time is its tfdt.
 * - the fragmented moov has no edit list at all, so an AAC track's encoder
 *   delay (the 1024-sample priming the source's elst hid) is presented: the
 *   audio plays ~21 ms late. HLS has no other way to say it, so both manifests
 *   leave it so.
 * - it appends an mfra index, which is not part of any segment.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool } from '../../../../runtime/media/mod.js';
import { CONFIG_BOX, codecsString } from './codecs.js';
import { type FragmentTiming, parseFragment, parseTrack, sampleEntryChildren, topLevelBoxes, type TrackInfo } from './fmp4.js';

export type TrackKind = 'video' | 'audio';

/** A moof and the mdat after it, where they are in the fragmented file. */
export interface Fragment extends FragmentTiming {
  offset: number;
  /** moof + mdat bytes. */
  size: number;
}

export interface FragmentedTrack {
  file: string;
  track: TrackInfo;
  codecs: string;
  /** ftyp + moov: the init segment as ffmpeg wrote it. */
  init: Buffer;
  fragments: Fragment[];
}

export interface WrittenSegment {
  /** Absolute path of the segment file. */
  file: string;
  bytes: number;
  /** Where each of the segment's fragments (its moof) starts in the segment file. */
  fragmentOffsets: number[];
}

/** Top-level boxes that may follow the fragments and belong to no segment. */
const TRAILER_BOXES = new Set(['mfra', 'free', 'skip']);

/** styp: a DASH media segment (msdh) that is a CMAF segment (cmfs). */
const STYP = (() => {
  const b = Buffer.alloc(24);
  b.writeUInt32BE(24, 0);
  b.write('stypmsdh', 4, 'latin1');
  b.write('msdhcmfs', 16, 'latin1');
  return b;
})();

/** Remuxes the first video or audio stream of `input` into fragmented MP4 at `out`; throws TOOL_FAILED when ffmpeg fails. */
export async function fragmentTrack(kind: TrackKind, input: string, out: string, gopSeconds: number, signal?: AbortSignal): Promise<void> {
  // Video fragments at its keyframes (only); audio has no keyframes to go by, so it is cut by time.
  const cut = kind === 'video' ? ['-movflags', '+frag_keyframe+empty_moov+default_base_moof+cmaf'] : ['-movflags', '+empty_moov+default_base_moof+cmaf', '-frag_duration', String(Math.round(gopSeconds * 1e6))];
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1',
    ...inputArgs(input),
    '-map', kind === 'video' ? '0:v:0' : '0:a:0', '-c', 'copy',
    // No encoder version strings: a re-run writes the same bytes.
    '-fflags', '+bitexact', ...cut, '-f', 'mp4', '-y', out,
  ];
  const r = await runTool('ffmpeg', args, { signal, keepStdout: false, limit: { mediaSeconds: null, kind: 'demux' } });
  assertToolRan('ffmpeg', r);
  if (r.code !== 0) throw new VpipeError(ErrorCodes.ToolFailed, `fragmenting the ${kind} of ${input} failed: ${r.stderr.trim().slice(-400)}`);
}

function bad(file: string, what: string): never {
  throw new VpipeError(ErrorCodes.Internal, `${file}: ${what}`);
}

/** Reads a fragmented MP4 that fragmentTrack wrote: its one track, codecs string and every fragment's timing and bytes. */
export async function readFragmented(file: string): Promise<FragmentedTrack> {
  const boxes = await topLevelBoxes(file);
  const [ftyp, moov] = boxes;
  if (ftyp?.type !== 'ftyp' || moov?.type !== 'moov') bad(file, `starts with ${boxes.slice(0, 2).map((b) => b.type).join(', ')}, not ftyp, moov`);
  const fh = await fs.open(file, 'r');
  try {
    const read = async (offset: number, size: number): Promise<Buffer> => {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, offset);
      if (bytesRead !== size) bad(file, `short read at ${offset}`);
      return buf;
    };
    const init = await read(0, ftyp.size + moov.size);
    const moovBytes = init.subarray(ftyp.size);
    const track = parseTrack(moovBytes);
    const configType = CONFIG_BOX[track.entryType];
    const config = sampleEntryChildren(moovBytes, track).find((b) => b.type === configType);
    const codecs = codecsString(track.entryType, config ? moovBytes.subarray(config.body, config.end) : Buffer.alloc(0));

    const fragments: Fragment[] = [];
    for (let i = 2; i < boxes.length; i++) {
      const box = boxes[i]!;
      if (TRAILER_BOXES.has(box.type)) continue;
      const mdat = boxes[i + 1];
      if (box.type !== 'moof' || mdat?.type !== 'mdat') bad(file, `unexpected ${box.type} box at ${box.offset}`);
      const timing = parseFragment(await read(box.offset, box.size), track);
      const size = box.size + mdat.size;
      // The samples must lie in this mdat's payload, past its header.
      if (timing.dataStart < box.size + 8 || timing.dataEnd > size) bad(file, `fragment ${timing.sequence}'s samples are outside its mdat`);
      fragments.push({ ...timing, offset: box.offset, size });
      i++;
    }
    if (fragments.length === 0) bad(file, 'no fragments');
    return { file, track, codecs, init, fragments };
  } finally {
    await fh.close();
  }
}

/**
 * Writes `dir`/init.mp4 and `dir`/seg-00001.m4s …, one per group of
 * consecutive fragments, each a styp then the fragments' bytes as they are.
 */
export async function writeSegments(src: FragmentedTrack, groups: readonly (readonly Fragment[])[], dir: string): Promise<WrittenSegment[]> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'init.mp4'), src.init);
  const input = await fs.open(src.file, 'r');
  try {
    const out: WrittenSegment[] = [];
    for (const [i, group] of groups.entries()) {
      const file = path.join(dir, `seg-${String(i + 1).padStart(5, '0')}.m4s`);
      const fh = await fs.open(file, 'w');
      try {
        await fh.write(STYP);
        let bytes = STYP.length;
        const fragmentOffsets: number[] = [];
        for (const f of group) {
          // One fragment is one GOP: small enough to hold, and copying it whole keeps this a read and a write.
          const buf = Buffer.alloc(f.size);
          await input.read(buf, 0, f.size, f.offset);
          await fh.write(buf);
          fragmentOffsets.push(bytes);
          bytes += f.size;
        }
        out.push({ file, bytes, fragmentOffsets });
      } finally {
        await fh.close();
      }
    }
    return out;
  } finally {
    await input.close();
  }
}
