/**
 * One video or audio rendition, from its input file to segments in the
 * staging tree and the measured record the manifests are written from.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';
import type { AudioInput, PackageOptions, RenditionPackage, VideoInput } from '../types.js';
import { bitRates, type BitRates } from './bandwidth.js';
import { fragmentTrack, readFragmented, type TrackKind, type WrittenSegment, writeSegments } from './fragment.js';
import { type PlaylistEntry, targetDuration } from './hls.js';
import { frameRate, frameTicks, groupByTime, type TimedRendition } from './timeline.js';

/** A rendition cut into segments. */
export interface Cut {
  timed: TimedRendition;
  written: WrittenSegment[];
  codecs: string;
  width?: number;
  height?: number;
  channels?: number;
}

/** A cut rendition as the result and the manifests need it. */
export interface Packaged<I extends VideoInput | AudioInput = VideoInput | AudioInput> {
  input: I;
  pkg: RenditionPackage;
  cut: Cut;
  rates: BitRates;
  /** Video: the I-frame playlist's entries and their rates. */
  iframes?: { entries: PlaylistEntry[]; rates: BitRates };
}

export function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new VpipeError(ErrorCodes.Cancelled, 'packaging cancelled');
}

/** A path relative to outDir as seen from hls/ or dash/. */
export const fromManifest = (p: string) => `../${p}`;

/** Fragments `file`, groups the fragments into segments and writes them to `<staging>/media/<id>/`. */
export async function cut(kind: TrackKind, id: string, file: string, staging: string, opts: PackageOptions): Promise<Cut> {
  cancelled(opts.signal);
  const fragmented = path.join(staging, 'work', `${id}.mp4`);
  await fragmentTrack(kind, file, fragmented, opts.gopSeconds, opts.signal);
  const track = await readFragmented(fragmented);
  const handler = kind === 'video' ? 'vide' : 'soun';
  if (track.track.handler !== handler) throw new VpipeError(ErrorCodes.BadRequest, `packaging: ${id}: ${file} gave a ${track.track.handler} track, not ${handler}`);
  const { timescale } = track.track;
  const segments = groupByTime(track.fragments, timescale, opts.segmentSeconds);
  const written = await writeSegments(track, segments.map((s) => s.fragments), path.join(staging, 'media', id));
  await fs.rm(fragmented);
  return {
    timed: { id, timescale, frameTicks: frameTicks(track.fragments), segments, ...(kind === 'video' ? { frameRate: frameRate(track.fragments, timescale) } : {}) },
    written,
    codecs: track.codecs,
    width: track.track.width,
    height: track.track.height,
    channels: track.track.channels,
  };
}

function describe<I extends VideoInput | AudioInput>(kind: TrackKind, input: I, c: Cut, extra: Partial<RenditionPackage>): Packaged<I> {
  const seconds = (ticks: number) => ticks / c.timed.timescale;
  const segments = c.timed.segments.map((s, i) => ({
    path: `media/${input.id}/${path.basename(c.written[i]!.file)}`,
    startSeconds: seconds(s.startTicks),
    durationSeconds: seconds(s.durationTicks),
    bytes: c.written[i]!.bytes,
  }));
  const rates = bitRates(
    segments.map((s) => ({ bytes: s.bytes, seconds: s.durationSeconds })),
    targetDuration(segments.map((s) => s.durationSeconds)),
  );
  const pkg: RenditionPackage = {
    id: input.id, kind, codecs: c.codecs, bandwidth: rates.peak, averageBandwidth: rates.average,
    init: `media/${input.id}/init.mp4`, playlist: `hls/${input.id}.m3u8`, segments, timescale: c.timed.timescale, ...extra,
  };
  return { input, pkg, cut: c, rates };
}

export function describeVideo(input: VideoInput, c: Cut): Packaged<VideoInput> {
  const p = describe('video', input, c, {
    width: c.width, height: c.height, frameRate: c.timed.frameRate!.num / c.timed.frameRate!.den, iframePlaylist: `hls/${input.id}-iframes.m3u8`,
  });
  // One entry per keyframe fragment: its moof, the mdat header and the keyframe's bytes, lasting until the next keyframe.
  const entries: PlaylistEntry[] = c.timed.segments.flatMap((s, i) =>
    s.fragments.map((f, j) => ({
      uri: fromManifest(p.pkg.segments[i]!.path),
      seconds: f.durationTicks / c.timed.timescale,
      byteRange: { length: f.firstSampleEnd, offset: c.written[i]!.fragmentOffsets[j]! },
    })),
  );
  const sized = entries.map((e) => ({ bytes: e.byteRange!.length, seconds: e.seconds }));
  p.iframes = { entries, rates: bitRates(sized, targetDuration(entries.map((e) => e.seconds))) };
  return p;
}

export function describeAudio(input: AudioInput, c: Cut): Packaged<AudioInput> {
  return describe('audio', input, c, { language: input.language, channels: c.channels, sampleRate: c.timed.timescale });
}
