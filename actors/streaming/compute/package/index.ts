/**
 * The packager: encoded rungs, audio renditions and WebVTT files in; CMAF
 * segments and the HLS and DASH manifests over them out (layout in
 * ../types.ts). Every byte rate, duration and codecs string is read from the
 * segments written, never taken from a request.
 *
 * Everything is built in `<outDir>/.package-staging` and then swapped in one
 * subtree at a time (media/, then hls/ and dash/, so a manifest never names a
 * segment that is not there yet): a reader sees either the old subtree or the
 * whole new one, never a half-written file, and a re-run replaces what an
 * earlier run (or a crashed one, whose staging is cleared first) left.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';
import type { AudioInput, PackageOptions, PackageResult, TextInput, VideoInput } from '../types.js';
import { quoted } from './hls.js';
import { dashManifest, hlsFiles, type Presentation } from './manifests.js';
import { cancelled, type Cut, cut, describeAudio, describeVideo } from './rendition.js';
import { checkVideo } from './timeline.js';

export interface PackageInput {
  video: VideoInput[];
  audio: AudioInput[];
  text: TextInput[];
}

const STAGING = '.package-staging';
const REPLACED = '.package-replaced';
/** Swapped in this order: the manifests after the media they name. */
const SUBTREES = ['media', 'hls', 'dash'] as const;
const ID = /^[a-z0-9_-]{1,64}$/;
const MULTIVARIANT = 'hls/main.m3u8';
const MPD = 'dash/manifest.mpd';

const bad = (message: string): never => {
  throw new VpipeError(ErrorCodes.BadRequest, `packaging: ${message}`);
};

/** Throws BAD_REQUEST for options or inputs the layout or the playlists cannot hold. */
function validate(input: PackageInput, opts: PackageOptions): void {
  if (!path.isAbsolute(opts.outDir)) bad(`outDir must be absolute: ${opts.outDir}`);
  const { segmentSeconds: seg, gopSeconds: gop } = opts;
  if (!(gop > 0 && seg >= gop && Math.abs(seg / gop - Math.round(seg / gop)) < 1e-9)) bad(`segmentSeconds ${seg} must be a positive multiple of gopSeconds ${gop}`);
  if (input.video.length === 0) bad('no video rendition');
  for (const { id, path: p } of [...input.video, ...input.audio, ...input.text]) {
    if (!ID.test(id)) bad(`id ${JSON.stringify(id)} is not 1-64 of [a-z0-9_-]`);
    if (!path.isAbsolute(p)) bad(`${id}: path must be absolute: ${p}`);
  }
  // Names that share a directory must differ: hls/<id>.m3u8 and hls/<video>-iframes.m3u8; media/<id>/ and media/text/.
  const hlsNames = ['main', ...input.video.flatMap((v) => [v.id, `${v.id}-iframes`]), ...input.audio.map((a) => a.id), ...input.text.map((t) => t.id)];
  const mediaNames = ['text', ...input.video.map((v) => v.id), ...input.audio.map((a) => a.id)];
  for (const names of [hlsNames, mediaNames]) {
    const clash = names.find((n, i) => names.indexOf(n) !== i);
    if (clash !== undefined) bad(`id ${JSON.stringify(clash)} is used twice (or is reserved) in one directory of the package`);
  }
  for (const t of [...input.audio, ...input.text]) {
    quoted(t.language, `${t.id} language`);
    quoted(t.name, `${t.id} name`);
  }
}

/** Copies a WebVTT file into the staging tree; throws BAD_REQUEST when it does not start as WebVTT must. */
async function copyVtt(t: TextInput, staging: string): Promise<Presentation['text'][number]> {
  const body = await fs.readFile(t.path);
  if (!/^(\ufeff)?WEBVTT([ \t\r\n]|$)/.test(body.subarray(0, 16).toString('utf8'))) bad(`${t.id}: ${t.path} is not a WebVTT file`);
  const vtt = `media/text/${t.id}.vtt`;
  await writeFile(path.join(staging, vtt), body);
  return { input: t, vtt, bytes: body.length };
}

async function writeFile(file: string, body: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, body);
}

async function publish(outDir: string, staging: string): Promise<void> {
  const replaced = path.join(outDir, REPLACED);
  await fs.rm(replaced, { recursive: true, force: true });
  await fs.mkdir(replaced);
  for (const name of SUBTREES) {
    await fs.rename(path.join(outDir, name), path.join(replaced, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await fs.rename(path.join(staging, name), path.join(outDir, name));
  }
  await fs.rm(replaced, { recursive: true, force: true });
}

/**
 * Packages the renditions into `opts.outDir`. Throws BAD_REQUEST for bad ids,
 * paths, names or options; VALIDATION_FAILED when the video segments are not
 * aligned across rungs, do not start with a keyframe or run over the target
 * by more than a frame; TOOL_FAILED / CANCELLED from ffmpeg.
 */
export async function packageStreams(input: PackageInput, opts: PackageOptions): Promise<PackageResult> {
  validate(input, opts);
  const { outDir } = opts;
  const staging = path.join(outDir, STAGING);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(path.join(staging, 'work'), { recursive: true });
  try {
    const videoCuts: Cut[] = [];
    for (const v of input.video) videoCuts.push(await cut('video', v.id, v.path, staging, opts));
    checkVideo(videoCuts.map((c) => c.timed), opts.segmentSeconds);
    const audioCuts: Cut[] = [];
    for (const a of input.audio) audioCuts.push(await cut('audio', a.id, a.path, staging, opts));
    const text: Presentation['text'] = [];
    for (const t of input.text) text.push(await copyVtt(t, staging));

    const video = videoCuts.map((c, i) => describeVideo(input.video[i]!, c));
    const audio = audioCuts.map((c, i) => describeAudio(input.audio[i]!, c));
    const segments = [...video, ...audio].map((r) => r.pkg.segments);
    // The presentation starts with its earliest video frame; every track keeps its offset from that instant.
    const originSeconds = Math.min(...video.map((v) => v.pkg.segments[0]!.startSeconds));
    const endSeconds = Math.max(...segments.map((s) => s.at(-1)!.startSeconds + s.at(-1)!.durationSeconds));
    const maxSegmentSeconds = Math.max(...segments.flat().map((s) => s.durationSeconds));
    const presentation: Presentation = { video, audio, text, originSeconds, durationSeconds: endSeconds - originSeconds, maxSegmentSeconds };

    for (const [name, body] of hlsFiles(presentation)) await writeFile(path.join(staging, 'hls', name), body);
    await writeFile(path.join(staging, MPD), dashManifest(presentation));
    await fs.rm(path.join(staging, 'work'), { recursive: true, force: true });
    cancelled(opts.signal);
    await publish(outDir, staging);
    return {
      hls: { multivariant: MULTIVARIANT, iframePlaylists: video.map((v) => v.pkg.iframePlaylist!) },
      dash: { mpd: MPD },
      video: video.map((v) => v.pkg),
      audio: audio.map((a) => a.pkg),
      text: text.map((t) => ({ id: t.input.id, vtt: t.vtt, playlist: `hls/${t.input.id}.m3u8`, language: t.input.language })),
      checks: {
        targetSegmentSeconds: opts.segmentSeconds,
        // checkVideo threw unless both hold.
        boundariesAligned: true,
        segmentsStartWithKeyframe: true,
        segments: videoCuts[0]!.timed.segments.length,
        maxSegmentSeconds,
      },
    };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
