/**
 * Resets the display matrix of an MP4's video track to identity, in place.
 * VES turns a rotated source's pictures itself (chunks decode with
 * -noautorotate so their pictures match the frame index), but ffmpeg 5.1
 * still copies the source's display matrix to the output, which would make
 * players turn the already turned pictures again.
 */
import fs from 'node:fs/promises';

const IDENTITY = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];

interface Box {
  type: string;
  body: number;
  end: number;
}

function children(buf: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
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

/** Overwrites the video track's tkhd matrix with identity; returns whether a matrix was changed. Throws only on I/O errors. */
export async function clearVideoDisplayMatrix(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r+');
  try {
    const { size } = await fh.stat();
    // Top-level boxes: headers only, until moov (read whole).
    const head = Buffer.alloc(16);
    for (let p = 0; p + 8 <= size; ) {
      await fh.read(head, 0, 16, p);
      let boxSize = head.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - p;
      if (boxSize < 8) return false;
      if (head.toString('latin1', 4, 8) === 'moov') {
        const moov = Buffer.alloc(boxSize);
        await fh.read(moov, 0, boxSize, p);
        const top = children(moov, 0, moov.length)[0]!;
        for (const trak of children(moov, top.body, top.end).filter((b) => b.type === 'trak')) {
          const kids = children(moov, trak.body, trak.end);
          const mdia = kids.find((b) => b.type === 'mdia');
          const hdlr = mdia && children(moov, mdia.body, mdia.end).find((b) => b.type === 'hdlr');
          if (!hdlr || moov.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;
          const tkhd = kids.find((b) => b.type === 'tkhd');
          if (!tkhd) return false;
          const version = moov.readUInt8(tkhd.body);
          // version/flags, times, track id, reserved, duration; reserved(8) layer alternate volume reserved(2 each)
          const matrixAt = tkhd.body + 4 + (version === 1 ? 32 : 20) + 8 + 8;
          if (matrixAt + 36 > tkhd.end) return false;
          const current = IDENTITY.map((_, k) => moov.readInt32BE(matrixAt + 4 * k));
          if (current.every((v, k) => v === IDENTITY[k])) return false;
          const patch = Buffer.alloc(36);
          IDENTITY.forEach((v, k) => patch.writeInt32BE(v, 4 * k));
          await fh.write(patch, 0, 36, p + matrixAt);
          return true;
        }
        return false;
      }
      p += boxSize;
    }
    return false;
  } finally {
    await fh.close();
  }
}
