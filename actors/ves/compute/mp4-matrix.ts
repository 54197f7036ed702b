/**
 * Resets the display matrix of an MP4's video track to identity, in place.
 * VES turns a rotated source's pictures itself (chunks decode with
 * -noautorotate so their pictures match the frame index), but ffmpeg 5.1
 * still copies the source's display matrix to the output, which would make
 * players turn the already turned pictures again.
 */
import fs from 'node:fs/promises';
import { mp4Children, mp4Traks, readMoov } from '../../../runtime/media/mod.js';

const IDENTITY = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];

/** Overwrites the video track's tkhd matrix with identity; returns whether a matrix was changed. Throws only on I/O errors. */
export async function clearVideoDisplayMatrix(file: string): Promise<boolean> {
  const found = await readMoov(file);
  if (!found) return false;
  const { moov, offset } = found;
  for (const trak of mp4Traks(moov)) {
    const kids = mp4Children(moov, trak.body, trak.end);
    const mdia = kids.find((b) => b.type === 'mdia');
    const hdlr = mdia && mp4Children(moov, mdia.body, mdia.end).find((b) => b.type === 'hdlr');
    if (!hdlr || moov.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;
    const tkhd = kids.find((b) => b.type === 'tkhd');
    if (!tkhd) return false;
    const version = moov.readUInt8(tkhd.body);
    // version/flags, times, track id, reserved, duration; reserved(8) layer alternate volume reserved(2 each)
    const matrixAt = tkhd.body + 4 + (version === 1 ? 32 : 20) + 8 + 8;
    if (matrixAt + 36 > tkhd.end) return false;
    if (IDENTITY.every((v, k) => moov.readInt32BE(matrixAt + 4 * k) === v)) return false;
    const patch = Buffer.alloc(36);
    IDENTITY.forEach((v, k) => patch.writeInt32BE(v, 4 * k));
    const fh = await fs.open(file, 'r+');
    try {
      await fh.write(patch, 0, 36, offset + matrixAt);
    } finally {
      await fh.close();
    }
    return true;
  }
  return false;
}
