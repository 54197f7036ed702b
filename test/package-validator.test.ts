/**
 * The package validator (test/helpers/package-validator.ts) against packages
 * built here with ffmpeg alone: a valid one, then copies with one fault each,
 * which the validator must report under the check that owns the fault.
 *
 * The fixture: 10 s of testsrc2 at 25 fps in two H.264 High rungs (640x360,
 * 320x180; an IDR every 2 s) plus mono AAC, cut by ffmpeg's dash muxer into
 * 4 s CMAF segments of two 2 s fragments, with its MPD and HLS media
 * playlists over the same files. The test then writes what that muxer does
 * not (the multivariant playlist with figures measured here, I-frame
 * playlists, a WebVTT rendition) and fixes the MPD's bandwidths, so the
 * package has the packager contract's layout (actors/streaming/compute/types.ts).
 *
 * The ffmpeg outputs are cached between runs under $VPIPE_TEST_CACHE (default
 * <tmpdir>/vpipe-test-cache), in a folder named by a hash of the recipes.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../runtime/media/tools.js';
import { mp4Children } from './helpers/adversarial.js';
import { cached, ffmpeg } from './helpers/media.js';
import { validatePackage, type CheckId, type PackageReport, type ValidateOptions } from './helpers/package-validator.js';

const SECONDS = 10;
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-threads', '1', '-sc_threshold', '0'];
/** ffmpeg's dash muxer: 4 s segments of 2 s fragments (one per GOP, so every IDR starts a moof), HLS playlists too. */
const DASH = (initName: string, segName: string) => [
  '-f', 'dash', '-seg_duration', '4', '-frag_type', 'duration', '-frag_duration', '2', '-use_template', '1', '-use_timeline', '1',
  '-hls_playlist', '1', '-init_seg_name', initName, '-media_seg_name', segName,
];

const BASE = [
  '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${SECONDS}`,
  '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
  '-map', '0:v', '-map', '0:v', '-map', '1:a', '-filter:v:1', 'scale=320:180',
  ...X264, '-g', '50', '-keyint_min', '50', '-b:v:0', '600k', '-b:v:1', '200k',
  '-c:a', 'aac', '-b:a', '64k', '-metadata:s:a:0', 'language=eng',
  ...DASH('../media/$RepresentationID$/init.mp4', '../media/$RepresentationID$/seg-$Number%05d$.m4s'),
  '-adaptation_sets', 'id=0,streams=v id=1,streams=a',
];

/** Replacements for rung 1 (320x180): the same segmenting over a bitstream with one fault. */
const RUNGS = {
  /** x264 open GOP: every 2 s an I-frame that ffprobe calls key, but a non-IDR slice (nal_unit_type 1) after the first. */
  openGop: ['-g', '50', '-keyint_min', '50', '-x264-params', 'open-gop=1'],
  /** A keyframe every 1.6 s: the muxer cuts at 4.8 s and 9.6 s where rung 0 cuts at 4 and 8. */
  gop40: ['-g', '40', '-keyint_min', '40'],
} as const;
type Rung = keyof typeof RUNGS;

/** 4 s of HEVC Main in 2 s segments, an IDR per segment, packaged by ffmpeg alone (its own playlists only). */
const HEVC = [
  '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4', '-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1',
  '-x265-params', 'log-level=error:pools=1:frame-threads=1:keyint=50:min-keyint=50:scenecut=0:open-gop=0', '-b:v', '200k',
  '-f', 'dash', '-seg_duration', '2', '-use_template', '1', '-use_timeline', '1', '-hls_playlist', '1',
  '-init_seg_name', '../media/$RepresentationID$/init.mp4', '-media_seg_name', '../media/$RepresentationID$/seg-$Number%05d$.m4s',
];

const RECIPE = createHash('sha256').update(JSON.stringify({ BASE, RUNGS, HEVC, DASH: DASH('', ''), v: 1 })).digest('hex').slice(0, 12);
const CACHE = path.join(process.env.VPIPE_TEST_CACHE ?? path.join(os.tmpdir(), 'vpipe-test-cache'), `package-validator-${RECIPE}`);

/** ffmpeg's output tree: dash/ (MPD, master.m3u8, media_N.m3u8) and media/N/. */
function encodeBase(): Promise<string> {
  return cached(CACHE, 'base', async (tmp) => {
    for (const d of ['dash', 'media/0', 'media/1', 'media/2']) await mkdir(path.join(tmp, d), { recursive: true });
    await ffmpeg([...BASE, path.join(tmp, 'dash/manifest.mpd')]);
  });
}

function encodeRung(rung: Rung): Promise<string> {
  return cached(CACHE, `rung-${rung}`, async (tmp) => {
    for (const d of ['dash', 'media/1']) await mkdir(path.join(tmp, d), { recursive: true });
    await ffmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${SECONDS}`, ...X264, ...RUNGS[rung], '-b:v', '200k',
      ...DASH('../media/1/init.mp4', '../media/1/seg-$Number%05d$.m4s'), path.join(tmp, 'dash/manifest.mpd'),
    ]);
  });
}

function encodeHevc(): Promise<string> {
  return cached(CACHE, 'hevc', async (tmp) => {
    for (const d of ['dash', 'media/0']) await mkdir(path.join(tmp, d), { recursive: true });
    await ffmpeg([...HEVC, path.join(tmp, 'dash/manifest.mpd')]);
  });
}

// ---------------------------------------------------------------- the test's own measurements (no validator code)

/** EXTINF and URI of each segment of a media playlist (tags between them skipped). */
function segmentsOf(text: string): { extinf: number; uri: string }[] {
  return [...text.matchAll(/^#EXTINF:([\d.]+)[^\n]*\n(?:#[^\n]*\n)*([^#\s][^\n]*)$/gm)].map((m) => ({ extinf: Number(m[1]), uri: m[2]!.trim() }));
}

/**
 * Peak and mean bit rate of a media playlist as max(bytes × 8 / EXTINF) and
 * Σbytes × 8 / ΣEXTINF. That is RFC 8216's peak here because every segment
 * lasts at least half the target duration (asserted), so single segments are
 * among the sets it takes, and a set's rate never exceeds its best member's.
 */
async function rates(playlist: string): Promise<{ peak: number; average: number }> {
  const text = await readFile(playlist, 'utf8');
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]);
  const segs = await Promise.all(segmentsOf(text).map(async (s) => ({ ...s, bytes: (await stat(path.resolve(path.dirname(playlist), s.uri))).size })));
  for (const s of segs) expect(s.extinf, `${playlist}: ${s.uri}`).toBeGreaterThanOrEqual(target / 2);
  return {
    peak: Math.max(...segs.map((s) => (s.bytes * 8) / s.extinf)),
    average: (segs.reduce((a, s) => a + s.bytes, 0) * 8) / segs.reduce((a, s) => a + s.extinf, 0),
  };
}

/**
 * An I-frame playlist for a video playlist: one entry per keyframe, the
 * range from its fragment's moof to the end of the keyframe (ffprobe's
 * packet pos and size on init + segment), EXTINF up to the next keyframe.
 */
async function writeIframePlaylist(pkg: string, mediaRel: string, outRel: string): Promise<{ peak: number }> {
  const playlist = path.join(pkg, mediaRel);
  const text = await readFile(playlist, 'utf8');
  const initUri = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
  const init = path.resolve(path.dirname(playlist), initUri);
  const initSize = (await stat(init)).size;
  const frames: { uri: string; offset: number; length: number; pts: number }[] = [];
  for (const s of segmentsOf(text)) {
    const seg = path.resolve(path.dirname(playlist), s.uri);
    const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos,size,flags', '-of', 'json', `concat:${init}|${seg}`]);
    expect(r.code, r.stderr).toBe(0);
    const moofs = mp4Children(await readFile(seg)).filter((b) => b.type === 'moof');
    for (const p of (JSON.parse(r.stdout) as { packets: { pts_time: string; pos: string; size: string; flags: string }[] }).packets) {
      if (!p.flags.includes('K')) continue;
      const at = Number(p.pos) - initSize;
      const moof = moofs.filter((b) => b.start <= at).at(-1)!;
      frames.push({ uri: s.uri, offset: moof.start, length: at + Number(p.size) - moof.start, pts: Number(p.pts_time) });
    }
  }
  const total = segmentsOf(text).reduce((a, s) => a + s.extinf, 0);
  const entries = frames.map((f, i) => ({ ...f, extinf: (frames[i + 1]?.pts ?? total) - f.pts }));
  const target = Math.ceil(Math.max(...entries.map((e) => e.extinf)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-I-FRAMES-ONLY', `#EXT-X-MAP:URI="${initUri}"`];
  for (const e of entries) lines.push(`#EXTINF:${e.extinf.toFixed(6)},`, `#EXT-X-BYTERANGE:${e.length}@${e.offset}`, e.uri);
  lines.push('#EXT-X-ENDLIST', '');
  await writeFile(path.join(pkg, outRel), lines.join('\n'));
  for (const e of entries) expect(e.extinf).toBeGreaterThanOrEqual(target / 2);
  return { peak: Math.max(...entries.map((e) => (e.length * 8) / e.extinf)) };
}

const VTT = 'WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nA test pattern\n\n00:00:05.000 --> 00:00:08.000\nand a sine tone\n';

/**
 * Turns ffmpeg's output tree into the contract's layout and completes it:
 * hls/ gets the media playlists, ffmpeg's master (kept as
 * ffmpeg-master.m3u8), I-frame and subtitle playlists and a main.m3u8 with
 * measured BANDWIDTH (video peak + audio peak + text peak, RFC 8216
 * §4.3.4.2) and AVERAGE-BANDWIDTH, ffmpeg's CODECS and RESOLUTION; the MPD
 * gets measured bandwidths and a text AdaptationSet.
 */
async function completePackage(pkg: string): Promise<void> {
  await mkdir(path.join(pkg, 'hls'), { recursive: true });
  await mkdir(path.join(pkg, 'media/text'), { recursive: true });
  for (const f of ['media_0.m3u8', 'media_1.m3u8', 'media_2.m3u8']) await rename(path.join(pkg, 'dash', f), path.join(pkg, 'hls', f));
  await rename(path.join(pkg, 'dash/master.m3u8'), path.join(pkg, 'hls/ffmpeg-master.m3u8'));
  await writeFile(path.join(pkg, 'media/text/en.vtt'), VTT);
  await writeFile(path.join(pkg, 'hls/subs-en.m3u8'), ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SECONDS}`, '#EXT-X-PLAYLIST-TYPE:VOD', `#EXTINF:${SECONDS}.000,`, '../media/text/en.vtt', '#EXT-X-ENDLIST', ''].join('\n'));

  const ffmpegMaster = await readFile(path.join(pkg, 'hls/ffmpeg-master.m3u8'), 'utf8');
  const claimed = (uri: string) => {
    const inf = new RegExp(`#EXT-X-STREAM-INF:([^\\n]*)\\n${uri.replace('.', '\\.')}`).exec(ffmpegMaster)![1]!;
    return { codecs: /CODECS="([^"]+)"/.exec(inf)![1]!, resolution: /RESOLUTION=(\d+x\d+)/.exec(inf)![1]! };
  };
  const audio = await rates(path.join(pkg, 'hls/media_2.m3u8'));
  const text = await rates(path.join(pkg, 'hls/subs-en.m3u8'));
  const lines = [
    '#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="1",URI="media_2.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs-en.m3u8"',
  ];
  const iframeLines: string[] = [];
  const mpdBandwidth: Record<string, number> = { '2': Math.round(audio.peak) };
  for (const id of ['0', '1']) {
    const uri = `media_${id}.m3u8`;
    const video = await rates(path.join(pkg, 'hls', uri));
    const { codecs, resolution } = claimed(uri);
    mpdBandwidth[id] = Math.round(video.peak);
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(video.peak + audio.peak + text.peak)},AVERAGE-BANDWIDTH=${Math.round(video.average + audio.average + text.average)},` +
        `CODECS="${codecs}",RESOLUTION=${resolution},FRAME-RATE=25.000,AUDIO="aud",SUBTITLES="subs"`,
      uri,
    );
    const iframes = await writeIframePlaylist(pkg, `hls/${uri}`, `hls/media_${id}-iframes.m3u8`);
    iframeLines.push(`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${Math.round(iframes.peak)},CODECS="${codecs.split(',')[0]}",RESOLUTION=${resolution},URI="media_${id}-iframes.m3u8"`);
  }
  await writeFile(path.join(pkg, 'hls/main.m3u8'), [...lines, ...iframeLines, ''].join('\n'));

  let mpd = await readFile(path.join(pkg, 'dash/manifest.mpd'), 'utf8');
  mpd = mpd.replace(/(<Representation id="(\d+)"[^>]*?bandwidth=")\d+/g, (_m, head: string, id: string) => `${head}${mpdBandwidth[id]}`);
  const textSet = [
    '\t\t<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="en">',
    `\t\t\t<Representation id="sub-en" bandwidth="${Math.round(text.peak)}">`,
    '\t\t\t\t<BaseURL>../media/text/en.vtt</BaseURL>',
    '\t\t\t</Representation>',
    '\t\t</AdaptationSet>',
    '\t</Period>',
  ].join('\n');
  await writeFile(path.join(pkg, 'dash/manifest.mpd'), mpd.replace('\t</Period>', textSet));
}

// ---------------------------------------------------------------- mutations

const edit = async (file: string, f: (text: string) => string) => {
  const before = await readFile(file, 'utf8');
  const after = f(before);
  expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
  await writeFile(file, after);
};
const scale = (factor: number) => (_m: string, head: string, n: string) => `${head}${Math.round(Number(n) * factor)}`;

/** Swaps rung 1's media (and its media playlist) for a replacement encode. */
async function replaceRung(pkg: string, rung: Rung): Promise<void> {
  const dir = await encodeRung(rung);
  await rm(path.join(pkg, 'media/1'), { recursive: true });
  await cp(path.join(dir, 'media/1'), path.join(pkg, 'media/1'), { recursive: true });
  await cp(path.join(dir, 'dash/media_0.m3u8'), path.join(pkg, 'hls/media_1.m3u8'));
}

interface Mutation {
  name: string;
  mutate: (pkg: string) => Promise<void>;
  opts?: ValidateOptions;
  /** Each must match a problem. */
  expect: RegExp[];
  /** The checks allowed to report anything (the fault's own, and those it necessarily disturbs). */
  checks: CheckId[];
}

const MUTATIONS: Mutation[] = [
  {
    name: 'BANDWIDTH 30 % above the measured peak',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace(/(STREAM-INF:BANDWIDTH=)(\d+)/, scale(1.3))),
    expect: [/^bandwidth: hls\/main\.m3u8 variant media_0\.m3u8: BANDWIDTH \d+ vs measured \d+ \(\+30\.0 %/],
    checks: ['bandwidth'],
  },
  {
    name: 'AVERAGE-BANDWIDTH 30 % below the measured mean',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace(/(AVERAGE-BANDWIDTH=)(\d+)/, scale(0.7))),
    expect: [/^bandwidth: hls\/main\.m3u8 variant media_0\.m3u8: AVERAGE-BANDWIDTH .*\(-30\.0 %/],
    checks: ['bandwidth'],
  },
  {
    name: 'an MPD @bandwidth 30 % low',
    mutate: (p) => edit(path.join(p, 'dash/manifest.mpd'), (t) => t.replace(/(<Representation id="1"[^>]*?bandwidth=")(\d+)/, scale(0.7))),
    expect: [/^bandwidth: dash\/manifest\.mpd Representation 1: @bandwidth .*\(-30\.0 %/],
    checks: ['bandwidth'],
  },
  {
    name: 'I-frame stream BANDWIDTH 30 % high',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace(/(I-FRAME-STREAM-INF:BANDWIDTH=)(\d+)/, scale(1.3))),
    expect: [/^bandwidth: hls\/main\.m3u8 I-frame stream media_0-iframes\.m3u8: BANDWIDTH .*\(\+30\.0 %/],
    checks: ['bandwidth'],
  },
  {
    name: 'CODECS avc1.42e01e (Baseline) for a High-profile stream',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('CODECS="avc1.64001e,', 'CODECS="avc1.42e01e,')),
    expect: [/^codecs: hls\/main\.m3u8 variant media_0\.m3u8: CODECS "avc1\.42e01e,mp4a\.40\.2" vs derived "avc1\.64001e,mp4a\.40\.2": avc1\.42e01e matches no rendition; avc1\.64001e is not declared/],
    checks: ['codecs'],
  },
  {
    name: 'CODECS without the audio codec',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('CODECS="avc1.64000c,mp4a.40.2"', 'CODECS="avc1.64000c"')),
    expect: [/^codecs: hls\/main\.m3u8 variant media_1\.m3u8: .*mp4a\.40\.2 is not declared/],
    checks: ['codecs'],
  },
  {
    name: 'a wrong Representation@codecs',
    mutate: (p) => edit(path.join(p, 'dash/manifest.mpd'), (t) => t.replace('codecs="avc1.64001e"', 'codecs="avc1.4d401e"')),
    expect: [/^codecs: dash\/manifest\.mpd Representation 0: codecs avc1\.4d401e, derived avc1\.64001e/],
    checks: ['codecs'],
  },
  {
    name: 'RESOLUTION that is not the picture size',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('RESOLUTION=640x360,FRAME', 'RESOLUTION=1280x720,FRAME')),
    expect: [/^attributes: hls\/main\.m3u8 variant media_0\.m3u8: RESOLUTION 1280x720, the segments are 640x360/],
    checks: ['attributes'],
  },
  {
    name: 'FRAME-RATE 30 for 25 fps',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('FRAME-RATE=25.000', 'FRAME-RATE=30.000')),
    expect: [/^attributes: hls\/main\.m3u8 variant media_0\.m3u8: FRAME-RATE 30, the stream runs at 25\.000 fps/],
    checks: ['attributes'],
  },
  {
    name: 'CHANNELS="2" for mono audio',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('CHANNELS="1"', 'CHANNELS="2"')),
    expect: [/^attributes: hls\/main\.m3u8 AUDIO "English": CHANNELS 2, the stream has 1 channel/],
    checks: ['attributes'],
  },
  {
    // ffprobe calls these segments' first frames key I-frames; only the NAL unit type shows they are not IDRs.
    name: 'segments that start with an open-GOP I-frame, not an IDR',
    mutate: (p) => replaceRung(p, 'openGop'),
    expect: [/^idr: hls\/media_1\.m3u8 segment 2 \(media\/1\/seg-00002\.m4s\): the first sample's first slice is nal_unit_type 1, not an IDR \(5\)$/],
    checks: ['idr', 'hls', 'bandwidth', 'alignment', 'dash'],
  },
  {
    name: 'a rung whose GOP does not divide the segment duration',
    mutate: (p) => replaceRung(p, 'gop40'),
    expect: [
      /^alignment: video variants: segment 2 starts at 4\.000 s in hls\/media_0\.m3u8, 4\.800 s in hls\/media_1\.m3u8 \(EXTINF sums\); segment 2 starts at 4\.000 s in hls\/media_0\.m3u8, 4\.800 s in hls\/media_1\.m3u8 \(first pts\)/,
      /^segment-duration: hls\/media_1\.m3u8: media\/1\/seg-00001\.m4s lasts 4\.800 s > 4 s \+ one frame/,
      /^dash: dash\/manifest\.mpd Representation 1: against hls\/media_1\.m3u8: segment 1 lasts 4\.000 s, EXTINF 4\.800 s/,
    ],
    checks: ['alignment', 'segment-duration', 'dash', 'hls', 'bandwidth'],
  },
  {
    // The media stay aligned; only the playlist's EXTINFs move a boundary by one frame.
    name: 'EXTINFs that disagree with the segments\' timestamps',
    mutate: (p) => edit(path.join(p, 'hls/media_1.m3u8'), (t) => t.replace('#EXTINF:4.000000,', '#EXTINF:3.960000,').replace('#EXTINF:2.000000,', '#EXTINF:2.040000,')),
    expect: [
      /^alignment: hls\/media_1\.m3u8: media\/1\/seg-00002\.m4s: the EXTINF sum says it starts at 3\.960 s, its tfdt at 4\.000 s/,
      /^alignment: video variants: segment 2 starts at 4\.000 s in hls\/media_0\.m3u8, 3\.960 s in hls\/media_1\.m3u8 \(EXTINF sums\);/,
      /^dash: dash\/manifest\.mpd Representation 1: against hls\/media_1\.m3u8: segment 1 lasts 4\.000 s, EXTINF 3\.960 s/,
    ],
    checks: ['alignment', 'dash'],
  },
  {
    name: 'segments longer than the packager\'s target',
    mutate: async () => {},
    opts: { targetSegmentSeconds: 3 },
    expect: [/^segment-duration: hls\/media_0\.m3u8: media\/0\/seg-00001\.m4s lasts 4\.000 s > 3 s \+ one frame \(0\.040 s\)/, /^segment-duration: hls\/media_2\.m3u8: /],
    checks: ['segment-duration'],
  },
  {
    name: 'a missing segment file',
    mutate: (p) => rm(path.join(p, 'media/0/seg-00002.m4s')),
    expect: [/^hls: hls\/media_0\.m3u8: segment media\/0\/seg-00002\.m4s does not exist$/, /^dash: dash\/manifest\.mpd Representation 0: segment media\/0\/seg-00002\.m4s does not exist$/],
    checks: ['hls', 'dash'],
  },
  {
    name: 'a missing I-frame playlist',
    mutate: (p) => rm(path.join(p, 'hls/media_1-iframes.m3u8')),
    expect: [/^hls: hls\/media_1-iframes\.m3u8: playlist hls\/media_1-iframes\.m3u8 does not exist$/],
    checks: ['hls'],
  },
  {
    name: 'an I-frame byte range that does not start at a moof',
    mutate: (p) => edit(path.join(p, 'hls/media_0-iframes.m3u8'), (t) => t.replace(/#EXT-X-BYTERANGE:(\d+)@(\d+)/, (_m, len: string, off: string) => `#EXT-X-BYTERANGE:${len}@${Number(off) + 8}`)),
    expect: [/^hls: hls\/media_0-iframes\.m3u8 entry 1: offset \d+ is inside a moof \(\d+–\d+\), not the start of a moof/],
    checks: ['hls'],
  },
  {
    name: 'a multivariant playlist without EXT-X-INDEPENDENT-SEGMENTS',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('#EXT-X-INDEPENDENT-SEGMENTS\n', '')),
    expect: [/^hls: hls\/main\.m3u8: has no EXT-X-INDEPENDENT-SEGMENTS$/],
    checks: ['hls'],
  },
  {
    name: 'a truncated MPD',
    mutate: (p) => edit(path.join(p, 'dash/manifest.mpd'), (t) => t.slice(0, Math.floor(t.length / 2))),
    expect: [/^dash: dash\/manifest\.mpd: is not well-formed XML: /],
    checks: ['dash'],
  },
  {
    name: 'an MPD without one of the HLS video variants',
    mutate: (p) => edit(path.join(p, 'dash/manifest.mpd'), (t) => t.replace(/\s*<Representation id="1"[\s\S]*?<\/Representation>/, '')),
    expect: [/^dash: dash\/manifest\.mpd: HLS video hls\/media_1\.m3u8 \(320x180 avc1\.64000c\) has no DASH Representation$/],
    checks: ['dash'],
  },
  {
    name: 'an MPD whose SegmentTemplate names files that do not exist',
    mutate: (p) => edit(path.join(p, 'dash/manifest.mpd'), (t) => t.replace('seg-$Number%05d$.m4s', 'segment-$Number$.m4s')),
    expect: [/^dash: dash\/manifest\.mpd Representation 0: segment media\/0\/segment-1\.m4s does not exist$/],
    checks: ['dash'],
  },
  {
    name: 'audio languages that differ between HLS and DASH',
    mutate: (p) => edit(path.join(p, 'hls/main.m3u8'), (t) => t.replace('NAME="English",LANGUAGE="en",DEFAULT=YES', 'NAME="English",LANGUAGE="fr",DEFAULT=YES')),
    expect: [/^dash: dash\/manifest\.mpd: audio languages: HLS \[fr\], DASH \[en\]$/],
    checks: ['dash'],
  },
  {
    name: 'a WebVTT file without its WEBVTT line',
    mutate: (p) => edit(path.join(p, 'media/text/en.vtt'), (t) => t.replace('WEBVTT\n\n', '')),
    expect: [/^subtitles: hls\/subs-en\.m3u8 media\/text\/en\.vtt: does not start with WEBVTT$/, /^subtitles: dash\/manifest\.mpd Representation sub-en media\/text\/en\.vtt: does not start with WEBVTT$/],
    checks: ['subtitles', 'bandwidth'],
  },
  {
    name: 'a WebVTT file without cues',
    mutate: (p) => writeFile(path.join(p, 'media/text/en.vtt'), 'WEBVTT\n'),
    expect: [/^subtitles: hls\/subs-en\.m3u8: has no cue$/],
    checks: ['subtitles', 'bandwidth'],
  },
];

// ---------------------------------------------------------------- tests

describe('package validator', () => {
  let work: string;
  let valid: string;
  let n = 0;
  /** A fresh copy of the valid package. */
  const copy = async () => {
    const dir = path.join(work, `pkg-${n++}`);
    await cp(valid, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vpipe-package-validator-test-'));
    valid = path.join(work, 'valid');
    await cp(await encodeBase(), valid, { recursive: true });
    await completePackage(valid);
    await Promise.all([...Object.keys(RUNGS).map((r) => encodeRung(r as Rung)), encodeHevc()]);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes the fixture package and reports its measured figures', async () => {
    const r: PackageReport = await validatePackage(valid);
    expect(r.problems).toEqual([]);
    expect(r.findings.length).toBeGreaterThan(50);
    expect(r.variants.map((x) => [x.playlist, x.measured.resolution, x.measured.codecs, x.measured.frameRate])).toEqual([
      ['hls/media_0.m3u8', '640x360', ['avc1.64001e', 'mp4a.40.2'], 25],
      ['hls/media_1.m3u8', '320x180', ['avc1.64000c', 'mp4a.40.2'], 25],
    ]);
    for (const variant of r.variants) {
      expect(variant.declared.codecs).toEqual(variant.measured.codecs);
      expect(variant.measured.bandwidth).toBeCloseTo(variant.declared.bandwidth!, -2);
      expect(variant.measured.averageBandwidth).toBeCloseTo(variant.declared.averageBandwidth!, -2);
      expect(variant.video.segments.map((s) => [s.extinf, s.mediaSeconds, s.firstPts, s.firstNalType])).toEqual([
        [4, 4, 0, 5],
        [4, 4, 4, 5],
        [2, 2, 8, 5],
      ]);
    }
    expect(r.audio.map((a) => [a.codecs, a.channels, a.sampleRate, a.language])).toEqual([['mp4a.40.2', 1, 48000, 'en']]);
    expect(r.subtitles.map((s) => [s.playlist, s.cues])).toEqual([['hls/subs-en.m3u8', 2]]);
    // An IDR every 2 s: five I-frames per rung, each decoded as a key I-frame at its EXTINF time.
    expect(r.iframes.map((i) => i.frames.map((f) => [f.pts, f.key, f.nalType]))).toEqual(
      Array(2).fill([0, 2, 4, 6, 8].map((t) => [t, true, 5])),
    );
    expect(r.dash.map((d) => [d.id, d.contentType, d.hlsPlaylist, d.measured.codecs])).toEqual([
      ['0', 'video', 'hls/media_0.m3u8', 'avc1.64001e'],
      ['1', 'video', 'hls/media_1.m3u8', 'avc1.64000c'],
      ['2', 'audio', 'hls/media_2.m3u8', 'mp4a.40.2'],
      ['sub-en', 'text', null, null],
    ]);
  });

  it("reports what ffmpeg's own multivariant playlist leaves out", async () => {
    const r = await validatePackage(valid, { multivariant: 'hls/ffmpeg-master.m3u8' });
    const expected = [
      /^hls: hls\/ffmpeg-master\.m3u8: has no EXT-X-INDEPENDENT-SEGMENTS$/,
      /^bandwidth: hls\/ffmpeg-master\.m3u8 variant media_0\.m3u8: no AVERAGE-BANDWIDTH/,
      /^attributes: hls\/ffmpeg-master\.m3u8 variant media_0\.m3u8: FRAME-RATE \(none\)/,
      /^attributes: hls\/ffmpeg-master\.m3u8 AUDIO "audio_2": CHANNELS \(none\)/,
      // The source's language reaches the MPD (lang="eng") but not the playlist's EXT-X-MEDIA.
      /^dash: dash\/manifest\.mpd: audio languages: HLS \[\], DASH \[en\]$/,
    ];
    for (const e of expected) expect(r.problems).toContainEqual(expect.stringMatching(e));
  });

  it('derives HEVC codecs from hvcC, where ffmpeg writes a bare "hvc1"', async () => {
    const dir = path.join(work, 'hevc');
    await cp(await encodeHevc(), dir, { recursive: true });
    await mkdir(path.join(dir, 'hls'));
    for (const f of ['master.m3u8', 'media_0.m3u8']) await rename(path.join(dir, 'dash', f), path.join(dir, 'hls', f));
    const r = await validatePackage(dir, { multivariant: 'hls/master.m3u8' });
    // Main (general_profile_idc 1, compatibility flags 1 and 2), Main tier level 2 (60), progressive + frame-only constraints (0x90).
    expect(r.variants.map((x) => [x.declared.codecs, x.measured.codecs])).toEqual([[['hvc1'], ['hvc1.1.6.L60.90']]]);
    expect(r.variants[0]!.video.segments.map((s) => s.firstNalType)).toEqual([20, 20]); // IDR_N_LP
    for (const e of [
      /^codecs: hls\/master\.m3u8 variant media_0\.m3u8: CODECS "hvc1" vs derived "hvc1\.1\.6\.L60\.90"/,
      /^codecs: dash\/manifest\.mpd Representation 0: codecs hvc1, derived hvc1\.1\.6\.L60\.90$/,
    ]) {
      expect(r.problems).toContainEqual(expect.stringMatching(e));
    }
    // Apart from the codecs strings, only what ffmpeg's playlists always lack or get wrong (nominal bit rates).
    expect(r.problems.filter((p) => !/^(codecs|bandwidth): |^hls: hls\/master\.m3u8: has no EXT-X-INDEPENDENT|FRAME-RATE \(none\)/.test(p))).toEqual([]);
  });

  it.each(MUTATIONS)('fails $name', async (m) => {
    const dir = await copy();
    await m.mutate(dir);
    const r = await validatePackage(dir, m.opts);
    for (const e of m.expect) expect(r.problems, `no problem matches ${e}`).toContainEqual(expect.stringMatching(e));
    const stray = r.problems.filter((p) => !m.checks.some((c) => p.startsWith(`${c}: `)));
    expect(stray, 'problems reported by checks this fault should not touch').toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
