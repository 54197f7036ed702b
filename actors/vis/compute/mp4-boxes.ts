/**
 * A track's edit list (moov/trak/edts/elst), which ffprobe does not report,
 * read with the runtime's MP4 box walker. Never throws for a non-MP4 file.
 */
import { mp4Children, mp4Traks, readMoov } from '../../../runtime/media/mod.js';

export interface EditList {
  entries: { segmentDuration: number; mediaTime: number }[];
  /** More than one edit, or an empty edit: the list cuts or delays media rather than only shifting a B-frame delay. */
  cuts: boolean;
}

/** The edit list of the `trackIndex`-th track (ffmpeg's stream index), or null when there is none. */
export async function mp4EditList(path: string, trackIndex: number): Promise<EditList | null> {
  const found = await readMoov(path);
  if (!found) return null;
  const { moov } = found;
  const trak = mp4Traks(moov)[trackIndex];
  if (!trak) return null;
  const edts = mp4Children(moov, trak.body, trak.end).find((b) => b.type === 'edts');
  if (!edts) return null;
  const elst = mp4Children(moov, edts.body, edts.end).find((b) => b.type === 'elst');
  if (!elst || elst.body + 8 > elst.end) return null;
  const version = moov.readUInt8(elst.body);
  const count = moov.readUInt32BE(elst.body + 4);
  const entries: EditList['entries'] = [];
  let p = elst.body + 8;
  for (let i = 0; i < count && i < 1000; i++) {
    if (version === 1) {
      if (p + 20 > elst.end) break;
      entries.push({ segmentDuration: Number(moov.readBigUInt64BE(p)), mediaTime: Number(moov.readBigInt64BE(p + 8)) });
      p += 20;
    } else {
      if (p + 12 > elst.end) break;
      entries.push({ segmentDuration: moov.readUInt32BE(p), mediaTime: moov.readInt32BE(p + 4) });
      p += 12;
    }
  }
  return { entries, cuts: entries.length > 1 || entries.some((e) => e.mediaTime === -1) };
}
