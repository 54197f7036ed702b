/**
 * Generated test media: small lavfi clips with one known property each.
 * Every maker writes into the given directory and returns the path; a second
 * call with the same directory returns the cached file. Files are written
 * under a temporary name and renamed, so a crashed run never leaves a
 * half-written file that a later call would mistake for a cached one.
 */
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runTool } from '../../runtime/media/tools.js';

/**
 * Progressive content that idet recognises as progressive. Surprises: idet
 * calls most testsrc2 frames TFF (its sharp moving edges look like combing),
 * so testsrc2 is only used where scan type does not matter (makeLong); and
 * gradients picks random colours (not from `seed`) unless c0/c1 are named,
 * which made the generated files — and where a cut lands — differ per run.
 */
export function motion(size: string, rate: number | string, seconds: number): string {
  const [w, h] = size.split('x');
  const gradient = `gradients=size=${size}:rate=${rate}:duration=${seconds}:speed=0.02:c0=navy:c1=orange:x0=0:y0=0:x1=${w}:y1=${h}:seed=1`;
  return `${gradient},drawbox=x=mod(t*240\\,280):y=60:w=40:h=120:color=white:t=fill`;
}

export async function ffmpeg(args: string[]): Promise<void> {
  // +bitexact: no random Matroska UIDs or version strings, so a file is byte-identical on every run.
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args.slice(0, -1), '-fflags', '+bitexact', ...args.slice(-1)], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

async function ffprobeCsv(file: string, args: string[]): Promise<string[]> {
  const r = await runTool('ffprobe', ['-v', 'error', ...args, '-of', 'csv=p=0', `file:${file}`], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

const inflight = new Map<string, Promise<string>>();

/** Builds `name` in `dir` once: `build` writes to the temporary path it is given. */
export function cached(dir: string, name: string, build: (tmp: string) => Promise<void>): Promise<string> {
  const target = path.join(dir, name);
  let p = inflight.get(target);
  if (!p) {
    p = (async () => {
      if (await exists(target)) return target;
      await mkdir(dir, { recursive: true });
      const tmp = path.join(dir, `.tmp-${process.pid}-${name}`);
      await build(tmp);
      await rename(tmp, target);
      return target;
    })();
    p.catch(() => inflight.delete(target));
    inflight.set(target, p);
  }
  return p;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Deterministic bytes (xorshift32): random-looking garbage that is the same on every run, so tests are stable. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const BT709 = ['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709'];

/** 320x240, 25 fps, 2 s (50 frames) H.264 + 2 s mono AAC sine, tagged BT.709, in MP4. */
export function makeCfr(dir: string): Promise<string> {
  return cached(dir, 'cfr.mp4', (tmp) =>
    ffmpeg([
      '-f', 'lavfi', '-i', motion('320x240', 25, 2),
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2',
      ...X264, ...BT709, '-c:a', 'aac', '-f', 'mp4', tmp,
    ]),
  );
}

/**
 * 29.97 fps CFR in Matroska: its 1 ms timebase turns 33.367 ms into 33/34 ms
 * alternating deltas, the classic false VFR positive. 2 s = 60 frames.
 */
export function makeNtscCfr(dir: string): Promise<string> {
  return cached(dir, 'ntsc.mkv', (tmp) =>
    ffmpeg(['-f', 'lavfi', '-i', motion('320x240', '30000/1001', 2), ...X264, ...BT709, '-f', 'matroska', tmp]),
  );
}

/**
 * 60 frames: the first 30 at 30 fps, the next 30 at 15 fps (3 s). Matroska by
 * default because it is the harder case: there r_frame_rate and
 * avg_frame_rate both say 30/1, only the timestamps show the change.
 */
export function makeVfr(dir: string, container: 'mkv' | 'mp4' = 'mkv'): Promise<string> {
  return cached(dir, `vfr.${container}`, async (tmp) => {
    await ffmpeg([
      '-f', 'lavfi', '-i', motion('320x240', 30, 2),
      '-vf', "setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'", '-fps_mode', 'passthrough',
      ...X264, ...BT709, '-f', container === 'mkv' ? 'matroska' : 'mp4', tmp,
    ]);
    const pts = (await ffprobeCsv(tmp, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time'])).map(Number).sort((a, b) => a - b);
    const deltas = new Set(pts.slice(1).map((p, i) => Math.round((p - (pts[i] ?? 0)) * 100)));
    if (deltas.size < 2) throw new Error(`makeVfr produced constant frame intervals: ${[...deltas].join(',')}`);
  });
}

/**
 * Top-field-first interlaced H.264, 25 frames/s from 50 progressive
 * pictures/s woven into fields, so every moving edge combs; 2 s = 50 frames.
 */
export function makeInterlaced(dir: string): Promise<string> {
  return cached(dir, 'interlaced.mp4', async (tmp) => {
    await ffmpeg([
      '-f', 'lavfi', '-i', motion('320x240', 50, 2),
      '-vf', 'tinterlace=interleave_top,setfield=tff', ...X264, '-flags', '+ilme+ildct', '-x264-params', 'tff=1', ...BT709, '-f', 'mp4', tmp,
    ]);
    const [order] = await ffprobeCsv(tmp, ['-select_streams', 'v:0', '-show_entries', 'stream=field_order']);
    if (order !== 'tt') throw new Error(`makeInterlaced: field_order is ${order}, expected tt`);
  });
}

/** 10-bit 4:2:0 H.264 (High 10), 1 s at 25 fps. */
export function make10bit(dir: string): Promise<string> {
  return cached(dir, '10bit.mp4', (tmp) =>
    ffmpeg(['-f', 'lavfi', '-i', motion('320x240', 25, 1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le', ...BT709, '-f', 'mp4', tmp]),
  );
}

/** 321x241 4:2:0 in FFV1/Matroska (x264 refuses odd 4:2:0 sizes; FFV1 stores them losslessly), 1 s at 25 fps. */
export function makeOddSize(dir: string): Promise<string> {
  return cached(dir, 'odd.mkv', (tmp) =>
    ffmpeg(['-f', 'lavfi', '-i', motion('321x241', 25, 1), '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', ...BT709, '-f', 'matroska', tmp]),
  );
}

/** 2 s of AAC sine in M4A, no video at all. */
export function makeAudioOnly(dir: string): Promise<string> {
  return cached(dir, 'audio.m4a', (tmp) => ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1000:duration=2', '-c:a', 'aac', '-f', 'ipod', tmp]));
}

async function truncateCopy(src: string, tmp: string, bytes: (size: number) => number): Promise<void> {
  const size = (await stat(src)).size;
  const fh = await open(src, 'r');
  try {
    const buf = Buffer.alloc(bytes(size));
    await fh.read(buf, 0, buf.length, 0);
    await writeFile(tmp, buf);
  } finally {
    await fh.close();
  }
}

/**
 * Where to cut a TS so that it stops inside a video frame, as a broken copy
 * would: in the middle of the second 188-byte packet of the first frame past
 * half the file that spans at least three packets (its tail is lost). A cut elsewhere may only
 * drop a whole frame, which no decoder can notice.
 */
async function midFrameTsCut(file: string): Promise<(size: number) => number> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pos,size', '-of', 'json', `file:${file}`]);
  const packets = ((JSON.parse(r.stdout) as { packets?: { pos?: string; size?: string }[] }).packets ?? [])
    .map((p) => ({ pos: Number(p.pos), size: Number(p.size) }))
    .filter((p) => Number.isFinite(p.pos) && p.size > 2 * 184);
  const total = (await stat(file)).size;
  const frame = packets.find((p) => p.pos > total / 2) ?? packets.at(-1);
  if (!frame) throw new Error(`makeTruncated: no multi-packet video frame in ${file}`);
  return () => frame.pos + 188 + 94;
}

export interface TruncatedMedia {
  /** MPEG-TS cut mid-packet near half: no duration header, so only the partial packet and the damaged last frame show it. */
  ts: string;
  /** Matroska cut at half: the header still declares 2 s, the data stops near 1 s ("File ended prematurely"). */
  mkv: string;
  /** MP4 with the moov atom at the end, cut at half: the index is gone, the file cannot be opened. */
  moovLost: string;
}

/** Three kinds of cut-off file, each from a 2 s 25 fps H.264 clip. */
export async function makeTruncated(dir: string): Promise<TruncatedMedia> {
  const source = (ext: string, format: string) =>
    cached(dir, `whole.${ext}`, (tmp) => ffmpeg(['-f', 'lavfi', '-i', motion('320x240', 25, 2), ...X264, ...BT709, '-f', format, tmp]));
  const half = (size: number) => Math.floor(size / 2);
  const cut = (ext: string, format: string) =>
    cached(dir, `truncated.${ext}`, async (tmp) => {
      const whole = await source(ext, format);
      await truncateCopy(whole, tmp, ext === 'ts' ? await midFrameTsCut(whole) : half);
    });
  const [ts, mkv, moovLost] = await Promise.all([cut('ts', 'mpegts'), cut('mkv', 'matroska'), cut('mp4', 'mp4')]);
  return { ts, mkv, moovLost };
}

/**
 * A 2 s MP4 (one GOP: damage cannot heal at a keyframe) with a sixth of its
 * bytes, from one third in, overwritten with deterministic garbage. The moov
 * (at the end) survives, so the file opens but decoding fails.
 */
export function makeCorrupt(dir: string): Promise<string> {
  return cached(dir, 'corrupt.mp4', async (tmp) => {
    await ffmpeg(['-f', 'lavfi', '-i', motion('320x240', 25, 2), ...X264, '-g', '250', ...BT709, '-f', 'mp4', tmp]);
    const size = (await stat(tmp)).size;
    const fh = await open(tmp, 'r+');
    try {
      await fh.write(pseudoRandomBytes(Math.floor(size / 6), 42), 0, Math.floor(size / 6), Math.floor(size / 3));
    } finally {
      await fh.close();
    }
  });
}

/** 20 kB of deterministic random bytes named .mp4. */
export function makeGarbage(dir: string): Promise<string> {
  return cached(dir, 'garbage.mp4', (tmp) => writeFile(tmp, pseudoRandomBytes(20_000, 7)));
}

/** `seq/frame%08d.png`, 10 PNG frames numbered from 1 (the image2 muxer's default); returns the pattern path. */
export async function makeImageSequence(dir: string): Promise<string> {
  const seqDir = path.join(dir, 'seq');
  const pattern = path.join(seqDir, 'frame%08d.png');
  await cached(dir, 'seq.done', async (tmp) => {
    await rm(seqDir, { recursive: true, force: true });
    await mkdir(seqDir, { recursive: true });
    await ffmpeg(['-f', 'lavfi', '-i', motion('160x120', 10, 1), '-frames:v', '10', '-f', 'image2', pattern]);
    await writeFile(tmp, 'ok');
  });
  return pattern;
}

/** 1280x720 testsrc2, 25 fps, x264 ultrafast, `seconds` long (default 20): a decode takes a few seconds, for cancel/crash tests. */
export function makeLong(dir: string, seconds = 20): Promise<string> {
  return cached(dir, `long-${seconds}s.mp4`, (tmp) =>
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${seconds}`, ...X264, ...BT709, '-f', 'mp4', tmp]),
  );
}

/** 0.4 s of 10-bit HEVC tagged PQ/BT.2020 with ST 2086 mastering display and MaxCLL 1000 / MaxFALL 400 in the bitstream. */
export function makeHdr10(dir: string): Promise<string> {
  return cached(dir, 'hdr10.mp4', (tmp) =>
    ffmpeg([
      '-f', 'lavfi', '-i', motion('320x240', 25, 0.4), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le',
      '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc',
      '-x265-params', 'log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400',
      '-f', 'mp4', tmp,
    ]),
  );
}

/**
 * The CFR clip remuxed with a display matrix. Surprise: in ffmpeg 5.1 the
 * mov muxer turns the legacy `rotate=90` tag into a matrix that players
 * (and ffmpeg's autorotate) show turned 90° counter-clockwise, i.e. 270° clockwise.
 */
export function makeRotated(dir: string): Promise<string> {
  return cached(dir, 'rotated.mp4', async (tmp) => ffmpeg(['-i', `file:${await makeCfr(dir)}`, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mp4', tmp]));
}
