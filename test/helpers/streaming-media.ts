/**
 * Sources for the streaming tests: a generated mezzanine with what a real
 * one carries (5.1 and a second-language stereo stream, a text stream, a
 * sidecar SRT), and helpers that read a package back with the test's own
 * tools (never with the packager's code).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ffmpeg, motion } from './media.js';

export const MEZZ_SECONDS = 30;
export const MEZZ_FPS = 25;

const srt = (cues: [number, number, string][]) =>
  cues
    .map(([a, b, t], i) => {
      const ts = (s: number) => `00:00:${String(Math.floor(s)).padStart(2, '0')},${String(Math.round((s % 1) * 1000)).padStart(3, '0')}`;
      return `${i + 1}\n${ts(a)} --> ${ts(b)}\n${t}\n`;
    })
    .join('\n');

export const MEZZ_CUES: [number, number, string][] = [
  [1, 3, 'First line'],
  [5, 7.5, 'Second line'],
  [12, 14, 'Third line'],
  [26, 28, 'Last line'],
];

/**
 * 30 s of 640x360 25p progressive motion under temporal grain (H.264 High, CRF 16: a mezzanine), a 5.1 stream (a different
 * tone per channel, quiet: about −30 LUFS) tagged eng, a stereo stream tagged fre, an English mov_text
 * stream; plus `<name>.es.srt` beside it. Returns both paths.
 */
export async function makeStreamingMezzanine(dir: string, name = 'mezz'): Promise<{ source: string; sidecar: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const source = path.join(dir, `${name}.mp4`);
  const sidecar = path.join(dir, `${name}.es.srt`);
  const subs = path.join(dir, `${name}.en.srt`);
  fs.writeFileSync(subs, srt(MEZZ_CUES));
  fs.writeFileSync(sidecar, srt([[2, 4, 'Primera línea'], [20, 22, 'Segunda línea']]));
  const tones = [440, 550, 660, 80, 330, 770].map((f, i) => `sine=frequency=${f}:sample_rate=48000:duration=${MEZZ_SECONDS},volume=${i === 3 ? 0.02 : 0.03}[c${i}]`).join(';');
  await ffmpeg([
    // Temporal grain over the motion: content an encoder has to spend bits on, so a per-title ladder has rungs to place.
    '-f', 'lavfi', '-i', `${motion('640x360', MEZZ_FPS, MEZZ_SECONDS)},noise=alls=10:allf=t`,
    '-f', 'lavfi', '-i', `${tones};[c0][c1][c2][c3][c4][c5]join=inputs=6:channel_layout=5.1[out0]`,
    '-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=48000:duration=${MEZZ_SECONDS},volume=0.1,aformat=channel_layouts=stereo`,
    '-i', subs,
    '-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:s',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-g', '50',
    '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709',
    '-c:a', 'aac', '-b:a', '192k', '-c:s', 'mov_text',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fre', '-metadata:s:s:0', 'language=eng',
    source,
  ]);
  return { source, sidecar };
}

/**
 * One rendition of a package as an HLS player fetches it: the media playlist's EXT-X-MAP and every
 * segment it lists, in order, concatenated into one fragmented MP4.
 */
export function concatRendition(pkgDir: string, playlist: string, out: string): string {
  const file = path.join(pkgDir, 'hls', playlist);
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim());
  const map = lines.map((l) => /^#EXT-X-MAP:.*URI="([^"]+)"/.exec(l)?.[1]).find((u) => u !== undefined);
  if (!map) throw new Error(`${file}: no EXT-X-MAP`);
  const uris = [map, ...lines.filter((l) => l && !l.startsWith('#'))];
  fs.writeFileSync(out, Buffer.concat(uris.map((u) => fs.readFileSync(path.resolve(path.dirname(file), u)))));
  return out;
}
