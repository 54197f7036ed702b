/**
 * Just enough of the ISO BMFF box tree to read a track's edit list
 * (moov/trak/edts/elst), which ffprobe does not report. Reads box headers
 * by seeking and only the moov box whole; never throws for a non-MP4 file.
 */
import fs from 'node:fs/promises';

interface Box {
  type: string;
  start: number;
  /** Payload offset and end. */
  body: number;
  end: number;
}

function* boxes(buf: Buffer, from: number, to: number): Generator<Box> {
  let p = from;
  while (p + 8 <= to) {
    let size = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    let body = p + 8;
    if (size === 1) {
      if (p + 16 > to) return;
      size = Number(buf.readBigUInt64BE(p + 8));
      body = p + 16;
    } else if (size === 0) size = to - p;
    if (size < 8 || p + size > to) return;
    yield { type, start: p, body, end: p + size };
    p += size;
  }
}

/** The moov box's bytes, or null when the file has none (not MP4/MOV, or truncated). */
async function readMoov(path: string): Promise<Buffer | null> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(16);
    let p = 0;
    while (p + 8 <= size) {
      await fh.read(head, 0, 16, p);
      let boxSize = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - p;
      if (boxSize < 8 || !/^[\x20-\x7e]{4}$/.test(type)) return null;
      if (type === 'moov') {
        if (boxSize > 512 * 1024 * 1024) return null;
        const buf = Buffer.alloc(boxSize);
        await fh.read(buf, 0, boxSize, p);
        return buf;
      }
      p += boxSize;
    }
    return null;
  } finally {
    await fh.close();
  }
}

export interface EditList {
  entries: { segmentDuration: number; mediaTime: number }[];
  /** More than one edit, or an empty edit: the list cuts or delays media rather than only shifting a B-frame delay. */
  cuts: boolean;
}

/** The edit list of the `trackIndex`-th track (ffmpeg's stream index), or null when there is none. */
export async function mp4EditList(path: string, trackIndex: number): Promise<EditList | null> {
  const moov = await readMoov(path);
  if (!moov) return null;
  const top = [...boxes(moov, 0, moov.length)][0];
  if (!top) return null;
  const traks = [...boxes(moov, top.body, top.end)].filter((b) => b.type === 'trak');
  const trak = traks[trackIndex];
  if (!trak) return null;
  const edts = [...boxes(moov, trak.body, trak.end)].find((b) => b.type === 'edts');
  if (!edts) return null;
  const elst = [...boxes(moov, edts.body, edts.end)].find((b) => b.type === 'elst');
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
