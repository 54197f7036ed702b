/**
 * Generated awkward files: each one has a single property that real-world
 * media has and naive frame counting, seeking or splitting gets wrong. Same
 * conventions as media.ts: every maker writes into the given directory and
 * returns the path, a second call returns the cached file, and files are built
 * under a temporary name and renamed. Every maker checks, with ffprobe or
 * ffmpeg, that the file really has its property (and throws if not), and
 * ADVERSARIAL_TRUTH holds what a correct reader must find (decoded frames
 * first of all). x264 runs single-threaded (`-threads 1`) and ffmpeg with
 * +bitexact, so a file is byte-identical on every run and machine with the
 * same ffmpeg/x264 build.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { runTool } from '../../runtime/media/tools.js';
import { cached, ffmpeg, motion } from './media.js';

/** Truth per maker: what a correct reader finds. `frames` = decoded video frames (linear decode). */
export const ADVERSARIAL_TRUTH = {
  /** 100 frames; sync samples at display frames 0, 24, 48, 72, 96; frame 0 is the only IDR; 3 leading B-frames per later GOP. */
  openGop: { frames: 100, gop: 24, leadingFrames: 3 },
  /** 100 frames; only frame 0 is IDR; key-flagged P frames at 25, 50, 75 with a recovery point 18 frames later. */
  intraRefresh: { frames: 100, keyint: 25, recoveryFrames: 18 },
  /** 75 packets, the first 8 discarded by the edit list: 67 frames, the first being source frame 33 (1.32 s). */
  editList: { frames: 67, packets: 75, discarded: 8, firstSourceFrame: 33 },
  /** 50 frames (I/P/B), every sample sync: no stss. */
  allSync: { frames: 50 },
  /** 100 frames; the 33-bit pts wraps between packets 49 and 50 (2 s in). */
  tsWrap: { frames: 100, wrapAfterPacket: 49 },
  /** 50 frames; frame 25 has frame 24's pts (0.96 s), nothing at 1.00 s. */
  duplicateTimestamps: { frames: 50, duplicateOf: 24, duplicate: 25 },
  /** 50 packets, the last one discarded by the edit list: 49 frames. */
  trailingDiscard: { frames: 49, packets: 50 },
  /** 120 frames at 30000/1001 in 1/90000: nominal 3003 ticks, actual 3002/3003/3004. */
  jitter90k: { frames: 120, nominalTicks: 3003 },
} as const;

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-threads', '1'];
const clip = (seconds: number, rate: number | string = 25) => ['-f', 'lavfi', '-i', motion('320x240', rate, seconds)];

// ---------------------------------------------------------------- probing

async function ffprobeJson<T>(file: string, args: string[], inputOptions: string[] = []): Promise<T> {
  const r = await runTool('ffprobe', ['-v', 'error', ...args, '-of', 'json', ...inputOptions, `file:${file}`], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ffprobe ${args.join(' ')} failed on ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface ProbedPacket {
  pts: number | null;
  dts: number | null;
  duration: number | null;
  /** ffprobe's flags: K = key (sync sample), D = discard. */
  flags: string;
}

/**
 * Video packets in demux (decode) order, timestamps in the stream time base.
 * `raw`: MPEG-TS timestamps as stored, without libavformat's 33-bit wrap correction.
 */
export async function probePackets(file: string, opts: { raw?: boolean } = {}): Promise<ProbedPacket[]> {
  const j = await ffprobeJson<{ packets?: { pts?: number; dts?: number; duration?: number; flags?: string }[] }>(
    file,
    ['-select_streams', 'v:0', '-show_entries', 'packet=pts,dts,duration,flags'],
    opts.raw ? ['-correct_ts_overflow', '0'] : [],
  );
  return (j.packets ?? []).map((p) => ({ pts: p.pts ?? null, dts: p.dts ?? null, duration: p.duration ?? null, flags: p.flags ?? '' }));
}

export interface ProbedFrame {
  pts: number | null;
  pictType: string;
}

/** Decoded video frames in output order. */
export async function probeFrames(file: string): Promise<ProbedFrame[]> {
  const j = await ffprobeJson<{ frames?: { pts?: number; pict_type?: string }[] }>(file, ['-select_streams', 'v:0', '-show_entries', 'frame=pts,pict_type']);
  return (j.frames ?? []).map((f) => ({ pts: f.pts ?? null, pictType: f.pict_type ?? '?' }));
}

export interface ProbedStream {
  codec_name: string;
  time_base: string;
  r_frame_rate: string;
  has_b_frames?: number;
  nb_read_frames?: string;
  nb_read_packets?: string;
}

/** The first video stream; `count` decodes it to fill nb_read_frames and nb_read_packets. */
export async function probeVideoStream(file: string, count = false): Promise<ProbedStream> {
  const entries = 'stream=codec_name,time_base,r_frame_rate,has_b_frames' + (count ? ',nb_read_frames,nb_read_packets' : '');
  const j = await ffprobeJson<{ streams?: ProbedStream[] }>(file, ['-select_streams', 'v:0', ...(count ? ['-count_frames', '-count_packets'] : []), '-show_entries', entries]);
  const s = j.streams?.[0];
  if (!s) throw new Error(`${file} has no video stream`);
  return s;
}

/** Decoded frames of the first video stream, counted by ffprobe (the corpus truth's method). */
export async function countFrames(file: string): Promise<number> {
  return Number((await probeVideoStream(file, true)).nb_read_frames);
}

export interface H264Packet {
  key: boolean;
  pts: number | null;
  dts: number | null;
  /** nal_unit_type of every NAL unit in the packet (5 = IDR slice, 1 = non-IDR slice, 6 = SEI, ...). */
  nalTypes: number[];
  /** recovery_frame_cnt of a recovery point SEI in the packet, if any. */
  recoveryFrameCnt: number | null;
}

/** The H.264 NAL units of each video packet, read with the trace_headers bitstream filter (stream copy, nothing decoded). */
export async function h264Packets(file: string): Promise<H264Packet[]> {
  const packets: H264Packet[] = [];
  const onStderrLine = (line: string) => {
    if (!line.includes('[trace_headers')) return;
    const head = /Packet: \d+ bytes(, key frame)?(?:, pts (-?\d+))?(?:, dts (-?\d+))?/.exec(line);
    if (head) {
      packets.push({ key: !!head[1], pts: head[2] ? Number(head[2]) : null, dts: head[3] ? Number(head[3]) : null, nalTypes: [], recoveryFrameCnt: null });
      return;
    }
    const current = packets.at(-1);
    if (!current) return; // extradata (SPS/PPS) before the first packet
    const nal = /\bnal_unit_type\s+[01]+ = (\d+)/.exec(line);
    if (nal) current.nalTypes.push(Number(nal[1]));
    const rec = /\brecovery_frame_cnt\s+[01]+ = (\d+)/.exec(line);
    if (rec) current.recoveryFrameCnt = Number(rec[1]);
  };
  const r = await runTool(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-i', `file:${file}`, '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-'],
    { timeoutMs: 60_000, onStderrLine },
  );
  if (r.code !== 0) throw new Error(`trace_headers failed on ${file}: ${r.stderr}`);
  return packets;
}

/**
 * framemd5 of each decoded video frame, by pts (in the output time base; with -copyts,
 * so a decode that starts after a seek uses the same numbers as a linear one).
 * `inputOptions` go before -i (e.g. `-noaccurate_seek -ss 1`, `-flags2 +showall`).
 */
export async function frameMd5(file: string, inputOptions: string[] = []): Promise<Map<number, string>> {
  const r = await runTool(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputOptions, '-i', `file:${file}`, '-map', '0:v:0', '-copyts', '-fps_mode', 'passthrough', '-f', 'framemd5', '-'],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) throw new Error(`framemd5 failed on ${file}: ${r.stderr}`);
  const out = new Map<number, string>();
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const cols = line.split(',').map((c) => c.trim());
    out.set(Number(cols[2]), cols[5] ?? '');
  }
  return out;
}

// ---------------------------------------------------------------- MP4 boxes

export interface Mp4Box {
  type: string;
  /** Offset of the box's size field. */
  start: number;
  /** 8, or 16 with a 64-bit size. */
  header: number;
  /** Offset just past the box. */
  end: number;
}

/** The boxes directly inside [start, end): size 1 means a 64-bit size follows, size 0 "to the end". */
export function mp4Children(buf: Buffer, start = 0, end = buf.length): Mp4Box[] {
  const boxes: Mp4Box[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > end) throw new Error(`MP4 box ${type} at ${pos}: truncated 64-bit size`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) throw new Error(`MP4 box ${type} at ${pos}: size ${size} does not fit in its parent`);
    boxes.push({ type, start: pos, header, end: pos + size });
    pos += size;
  }
  return boxes;
}

/** Follows `types` down from `parent` (null: the file's top level), taking the first box of each type. */
export function mp4Find(buf: Buffer, parent: Mp4Box | null, ...types: string[]): Mp4Box | undefined {
  let box = parent;
  for (const type of types) {
    box = mp4Children(buf, box ? box.start + box.header : 0, box ? box.end : buf.length).find((b) => b.type === type) ?? null;
    if (!box) return undefined;
  }
  return box ?? undefined;
}

/** The trak whose handler (mdia/hdlr) is 'vide'. */
export function mp4VideoTrak(buf: Buffer): Mp4Box {
  const moov = mp4Find(buf, null, 'moov');
  if (!moov) throw new Error('no moov box');
  for (const trak of mp4Children(buf, moov.start + moov.header, moov.end).filter((b) => b.type === 'trak')) {
    const hdlr = mp4Find(buf, trak, 'mdia', 'hdlr');
    // hdlr: version/flags (4), pre_defined (4), handler_type (4).
    if (hdlr && buf.toString('latin1', hdlr.start + hdlr.header + 8, hdlr.start + hdlr.header + 12) === 'vide') return trak;
  }
  throw new Error('no video trak');
}

function mustFind(buf: Buffer, parent: Mp4Box | null, ...types: string[]): Mp4Box {
  const box = mp4Find(buf, parent, ...types);
  if (!box) throw new Error(`no ${types.join('/')} box`);
  return box;
}

/** Reads or rewrites a version-dependent (32-bit in v0, 64-bit in v1) field of a full box. */
function fullBoxField(buf: Buffer, box: Mp4Box, v0Offset: number, v1Offset: number, value?: number): number {
  const body = box.start + box.header;
  const v1 = buf.readUInt8(body) === 1;
  const at = body + (v1 ? v1Offset : v0Offset);
  if (value !== undefined) {
    if (v1) buf.writeBigUInt64BE(BigInt(value), at);
    else buf.writeUInt32BE(value, at);
  }
  return v1 ? Number(buf.readBigUInt64BE(at)) : buf.readUInt32BE(at);
}

/**
 * The video track's sync samples (1-based sample numbers, decode order) from stbl/stss;
 * null when there is no stss box, which by the spec makes every sample a sync sample.
 */
export function mp4SyncSamples(buf: Buffer): number[] | null {
  const stss = mp4Find(buf, mp4VideoTrak(buf), 'mdia', 'minf', 'stbl', 'stss');
  if (!stss) return null;
  // stss: version/flags (4), entry_count (4), then one 32-bit sample number per entry.
  const body = stss.start + stss.header;
  const count = buf.readUInt32BE(body + 4);
  if (body + 8 + 4 * count > stss.end) throw new Error('stss entry_count overruns the box');
  return Array.from({ length: count }, (_, i) => buf.readUInt32BE(body + 8 + 4 * i));
}

/**
 * The mov demuxer's own index of stream `stream` (what seeking uses), from its
 * trace log. Not the same as ffprobe's packet flags: for H.264 the parser
 * overwrites the K flag with its own opinion (IDR or recovery point SEI), so
 * an MP4 with no stss still shows only the real keyframes as K.
 */
export async function movIndex(file: string, stream = 0): Promise<{ dts: number; keyframe: boolean }[]> {
  const index: { dts: number; keyframe: boolean }[] = [];
  const onStderrLine = (line: string) => {
    const m = /AVIndex stream (\d+), sample \d+, offset [0-9a-f]+, dts (-?\d+), size \d+, distance \d+, keyframe (\d)/.exec(line);
    if (m && Number(m[1]) === stream) index.push({ dts: Number(m[2]), keyframe: m[3] === '1' });
  };
  const r = await runTool('ffprobe', ['-v', 'trace', '-show_entries', 'format=duration', '-of', 'json', `file:${file}`], { timeoutMs: 60_000, onStderrLine, keepStdout: false });
  if (r.code !== 0) throw new Error(`ffprobe -v trace failed on ${file}: ${r.stderr}`);
  return index;
}

// ---------------------------------------------------------------- makers

/**
 * Open GOPs: H.264 (x264 `open-gop=1`, 3 fixed B-frames, keyint 24 so a GOP
 * boundary falls where three B-frames wait for their next reference, scenecut
 * off) in MP4, 4 s at 25 fps. Frame 0 is the only IDR; the I frames at 24, 48,
 * 72, 96 are non-IDR sync samples (listed in stss) with a recovery point
 * SEI, and the three B-frames that follow each of them in decode order are
 * displayed before it and reference the previous GOP. Decoding from such a
 * sync sample (after a seek, or a split at it) cannot rebuild those leading
 * frames: ffmpeg's h264 decoder drops them silently (they only come out,
 * corrupt, with `-flags2 +showall`).
 */
export function makeOpenGop(dir: string): Promise<string> {
  return cached(dir, 'open-gop.mp4', async (tmp) => {
    await ffmpeg([...clip(4), ...X264, '-x264-params', 'bframes=3:b-adapt=0:open-gop=1:keyint=24:min-keyint=24:scenecut=0', '-f', 'mp4', tmp]);
    const packets = await h264Packets(tmp);
    const sync = mp4SyncSamples(await readFile(tmp)) ?? [];
    // A sync sample that is not an IDR and is followed in decode order by a frame shown before it.
    const open = sync.filter((n) => {
      const p = packets[n - 1];
      return p && !p.nalTypes.includes(5) && p.nalTypes.includes(1) && (packets[n]?.pts ?? Infinity) < (p.pts ?? -Infinity);
    });
    if (sync.length !== 5 || open.length !== 4) throw new Error(`makeOpenGop: stss ${sync.join(',')}, open-GOP sync samples ${open.join(',')}`);
  });
}

/**
 * Periodic intra refresh: x264 `intra-refresh=1` (keyint 25, no B-frames) in
 * MP4, 4 s at 25 fps. Only frame 0 is an IDR (or an I frame at all); instead
 * a column of intra blocks sweeps across the picture, and x264 flags the P
 * frame that starts each sweep (25, 50, 75) as a keyframe with a recovery point
 * SEI (recovery_frame_cnt 18), so the MP4 muxer lists them in stss. They are
 * not clean random-access points: decoding from one gives damaged pictures
 * until the recovery point, which ffmpeg drops by default (its first output
 * after the seek is frame key+18) and outputs, different from a linear
 * decode, with `-flags2 +showall`.
 */
export function makeIntraRefresh(dir: string): Promise<string> {
  return cached(dir, 'intra-refresh.mp4', async (tmp) => {
    await ffmpeg([...clip(4), ...X264, '-x264-params', 'intra-refresh=1:keyint=25:scenecut=0', '-f', 'mp4', tmp]);
    const packets = await h264Packets(tmp);
    const sync = mp4SyncSamples(await readFile(tmp)) ?? [];
    const later = sync.slice(1).map((n) => packets[n - 1]);
    if (sync.length < 3 || !packets[(sync[0] ?? 0) - 1]?.nalTypes.includes(5)) throw new Error(`makeIntraRefresh: stss ${sync.join(',')}: expected an IDR then refresh frames`);
    if (!later.every((p) => p && !p.nalTypes.includes(5) && p.nalTypes.includes(1) && (p.recoveryFrameCnt ?? 0) > 0)) {
      throw new Error('makeIntraRefresh: a later sync sample is an IDR or has no recovery point SEI');
    }
  });
}

/**
 * An MP4 edit list that hides decoded frames: a 4 s 25 fps B-frame H.264 MP4
 * (closed GOPs every 25 frames), stream-copied with an input `-ss 1.3`. The
 * copy has to start at the keyframe at 1.0 s, so ffmpeg writes an edit list
 * whose media time starts at 1.32 s: the mov demuxer returns all 75 packets
 * but flags the first 8 discard, and decoding gives 67 frames (source frames
 * 33..99). The header's nb_frames says 75.
 */
export function makeEditList(dir: string): Promise<string> {
  return cached(dir, 'edit-list.mp4', async (tmp) => {
    const src = `${tmp}.src.mp4`;
    try {
      await ffmpeg([...clip(4), ...X264, '-x264-params', 'bframes=3:b-adapt=0:keyint=25:min-keyint=25:scenecut=0', '-f', 'mp4', src]);
      await ffmpeg(['-ss', '1.3', '-i', `file:${src}`, '-map', '0:v:0', '-c', 'copy', '-f', 'mp4', tmp]);
    } finally {
      await rm(src, { force: true });
    }
    const discarded = (await probePackets(tmp)).filter((p) => p.flags.includes('D')).length;
    if (discarded === 0) throw new Error('makeEditList: the edit list discards no packet');
  });
}

/**
 * Every sample a sync sample: a 2 s 25 fps H.264 MP4 with B-frames and a
 * keyframe every 25 frames, whose video stbl/stss box is renamed `free`
 * (found by walking moov/trak/mdia/minf/stbl, not by searching the bytes). An
 * MP4 without stss declares every sample sync, so the mov demuxer's index
 * marks all 50 samples keyframes although 48 are P or B frames, and a seek
 * lands anywhere: `-ss 1.4` starts decoding at a B-frame and, with no
 * keyframe after it, the decoder outputs nothing. Surprise: ffprobe's packet
 * flags still show K on the 2 real keyframes only, because the h264 parser
 * overwrites the container's key flag (use movIndex to see the index).
 */
export function makeAllSync(dir: string): Promise<string> {
  return cached(dir, 'all-sync.mp4', async (tmp) => {
    await ffmpeg([...clip(2), ...X264, '-x264-params', 'bframes=3:b-adapt=0:keyint=25:min-keyint=25:scenecut=0', '-f', 'mp4', tmp]);
    const buf = await readFile(tmp);
    const stss = mustFind(buf, mp4VideoTrak(buf), 'mdia', 'minf', 'stbl', 'stss');
    buf.write('free', stss.start + 4, 'latin1');
    await writeFile(tmp, buf);
    const index = await movIndex(tmp);
    if (index.length !== 50 || !index.every((e) => e.keyframe)) throw new Error('makeAllSync: the demuxer index does not make every sample a keyframe');
  });
}

/**
 * MPEG-TS whose 33-bit 90 kHz timestamps wrap mid-file: 4 s of 25 fps H.264
 * written with `-output_ts_offset` 2^33/90000 − 3.4 s (the mpegts muxer adds
 * its 1.4 s mux delay), so the first pts is 2^33 − 2 s and the stored pts
 * drop from 8589930992 to 0 between packets 49 and 50. libavformat corrects
 * the wrap on reading, by making the first 2 s negative: ffprobe reports
 * start_time −2.0.
 */
export function makeTsWrap(dir: string): Promise<string> {
  return cached(dir, 'ts-wrap.ts', async (tmp) => {
    const offset = (2 ** 33 / 90_000 - 1.4 - 2).toFixed(6);
    await ffmpeg([...clip(4), ...X264, '-output_ts_offset', offset, '-f', 'mpegts', tmp]);
    const raw = await probePackets(tmp, { raw: true });
    const drops = raw.flatMap((p, i) => (i > 0 && (p.pts ?? 0) < (raw[i - 1]?.pts ?? 0) - 2 ** 32 ? [i - 1] : []));
    if (drops.length !== 1 || drops[0] !== ADVERSARIAL_TRUTH.tsWrap.wrapAfterPacket) throw new Error(`makeTsWrap: pts wrap after packets ${drops.join(',') || 'none'}`);
  });
}

/**
 * Two consecutive frames with the same presentation time: 2 s of 25 fps
 * H.264 without B-frames (pts = dts) in Matroska, where the encoder's
 * packet 25 gets packet 24's timestamp (setts bsf `ts=if(eq(N,25),PREV_OUTPTS,PTS)`);
 * Matroska allows equal timestamps, so frames 24 and 25 are both at 0.96 s and
 * nothing is at 1.00 s. The decoder (ffprobe) returns both frames with pts
 * 960; ffmpeg's CLI (default vsync, cfr or vfr) keeps all 50 frames and moves
 * the second one into the gap at 1.00 s, `-fps_mode passthrough` keeps the
 * duplicate (an MP4 re-encode then warns "non-strictly-monotonic PTS" and
 * bumps a dts by one tick).
 */
export function makeDuplicateTimestamps(dir: string): Promise<string> {
  return cached(dir, 'duplicate-pts.mkv', async (tmp) => {
    await ffmpeg([...clip(2), ...X264, '-bsf:v', 'setts=ts=if(eq(N\\,25)\\,PREV_OUTPTS\\,PTS)', '-f', 'matroska', tmp]);
    const pts = (await probeFrames(tmp)).map((f) => f.pts);
    const dups = pts.flatMap((p, i) => (i > 0 && p === pts[i - 1] ? [i] : []));
    if (dups.length !== 1 || dups[0] !== ADVERSARIAL_TRUTH.duplicateTimestamps.duplicate) throw new Error(`makeDuplicateTimestamps: duplicates at ${dups.join(',') || 'none'}`);
  });
}

/**
 * An edit list that ends one frame before the media: a 2 s 25 fps H.264 MP4
 * without B-frames (so the last packet is also the last picture shown) whose
 * elst segment duration, tkhd and mvhd durations are cut by one frame (40 of
 * the movie timescale's 1000 units) by patching the boxes. The demuxer
 * returns 50 packets, the last flagged discard; 49 frames decode.
 */
export function makeTrailingDiscard(dir: string): Promise<string> {
  return cached(dir, 'trailing-discard.mp4', async (tmp) => {
    await ffmpeg([...clip(2), ...X264, '-f', 'mp4', tmp]);
    const buf = await readFile(tmp);
    const mvhd = mustFind(buf, null, 'moov', 'mvhd');
    // mvhd: version/flags, creation, modification (4 or 8 each), timescale (4), duration (4 or 8).
    const timescale = fullBoxField(buf, mvhd, 12, 20);
    const frame = timescale / 25;
    if (!Number.isInteger(frame)) throw new Error(`makeTrailingDiscard: movie timescale ${timescale}`);
    const trak = mp4VideoTrak(buf);
    const elst = mustFind(buf, trak, 'edts', 'elst');
    if (buf.readUInt32BE(elst.start + elst.header + 4) !== 1) throw new Error('makeTrailingDiscard: expected a one-entry edit list');
    // elst: version/flags (4), entry_count (4), then segment_duration (4 or 8), media_time, rate.
    fullBoxField(buf, elst, 8, 8, fullBoxField(buf, elst, 8, 8) - frame);
    fullBoxField(buf, mvhd, 16, 24, fullBoxField(buf, mvhd, 16, 24) - frame);
    // tkhd: version/flags, creation, modification, track_ID (4), reserved (4), duration.
    const tkhd = mustFind(buf, trak, 'tkhd');
    fullBoxField(buf, tkhd, 20, 28, fullBoxField(buf, tkhd, 20, 28) - frame);
    await writeFile(tmp, buf);
    const packets = await probePackets(tmp);
    if (packets.length !== 50 || !packets.at(-1)?.flags.includes('D') || packets.slice(0, -1).some((p) => p.flags.includes('D'))) {
      throw new Error('makeTrailingDiscard: expected 50 packets with only the last one discarded');
    }
  });
}

/**
 * 29.97 fps with one-tick jitter in a 90 kHz time base: 4 s of H.264 with 2
 * B-frames at 30000/1001, in MP4 with `-video_track_timescale 90000` (3003
 * ticks a frame), then stream-copied through the setts bsf `pts=PTS+mod(N,2)`
 * (N counts packets in decode order; adding 0 or 1 tick keeps the pts in
 * order since frames are 3003 apart, and pts stays >= dts). Frame durations
 * are then 3002, 3003 or 3004 ticks; r_frame_rate still says 30000/1001.
 */
export function makeJitter90k(dir: string): Promise<string> {
  return cached(dir, 'jitter-90k.mp4', async (tmp) => {
    const src = `${tmp}.src.mp4`;
    try {
      await ffmpeg([...clip(4, '30000/1001'), ...X264, '-x264-params', 'bframes=2:b-adapt=0:keyint=30:scenecut=0', '-video_track_timescale', '90000', '-f', 'mp4', src]);
      await ffmpeg(['-i', `file:${src}`, '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'setts=pts=PTS+mod(N\\,2)', '-video_track_timescale', '90000', '-f', 'mp4', tmp]);
    } finally {
      await rm(src, { force: true });
    }
    const deltas = await displayDeltas(tmp);
    const set = new Set(deltas);
    if (set.size < 2 || [...set].some((d) => Math.abs(d - 3003) > 1)) throw new Error(`makeJitter90k: frame intervals ${[...set].join(',')}`);
  });
}

/** Differences between consecutive decoded frames' pts, in display order. */
export async function displayDeltas(file: string): Promise<number[]> {
  const pts = (await probeFrames(file)).map((f) => f.pts ?? NaN);
  return pts.slice(1).map((p, i) => p - (pts[i] ?? NaN));
}
