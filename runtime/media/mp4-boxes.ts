/**
 * Just enough of the ISO BMFF (MP4/MOV) box tree for what ffprobe does not
 * report or ffmpeg cannot set: walk a box's children, and read the moov box
 * (top-level box headers are read by seeking; only moov is read whole).
 * Never throws for a file that is not MP4; I/O errors propagate.
 */
import fs from 'node:fs/promises';

export interface Mp4Box {
  type: string;
  /** Offset of the payload (after the 8- or 16-byte header) and of the box's end, in the buffer. */
  body: number;
  end: number;
}

/** The boxes between `from` and `to` in `buf` (stops at the first malformed header). */
export function mp4Children(buf: Buffer, from: number, to: number): Mp4Box[] {
  const out: Mp4Box[] = [];
  let p = from;
  while (p + 8 <= to) {
    let size = buf.readUInt32BE(p);
    let body = p + 8;
    if (size === 1) {
      if (p + 16 > to) break;
      size = Number(buf.readBigUInt64BE(p + 8));
      body = p + 16;
    } else if (size === 0) size = to - p;
    if (size < 8 || p + size > to) break;
    out.push({ type: buf.toString('latin1', p + 4, p + 8), body, end: p + size });
    p += size;
  }
  return out;
}

/** The moov box's bytes and its offset in the file, or null when there is none (not MP4/MOV, truncated, or over 512 MiB). */
export async function readMoov(path: string): Promise<{ moov: Buffer; offset: number } | null> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(16);
    for (let p = 0; p + 8 <= size; ) {
      await fh.read(head, 0, 16, p);
      let boxSize = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - p;
      if (boxSize < 8 || !/^[\x20-\x7e]{4}$/.test(type)) return null;
      if (type === 'moov') {
        if (boxSize > 512 * 1024 * 1024) return null;
        const moov = Buffer.alloc(boxSize);
        await fh.read(moov, 0, boxSize, p);
        return { moov, offset: p };
      }
      p += boxSize;
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** The trak boxes inside a moov buffer, in order (ffmpeg's stream index is a trak's position). */
export function mp4Traks(moov: Buffer): Mp4Box[] {
  const top = mp4Children(moov, 0, moov.length)[0];
  return top ? mp4Children(moov, top.body, top.end).filter((b) => b.type === 'trak') : [];
}
