/**
 * HLS playlists (RFC 8216), written by vpipe itself: ffmpeg 5.1's HLS muxer
 * cannot describe segments it did not cut, and gets CODECS and BANDWIDTH
 * wrong. Pure text from measured values; every URI is relative to the
 * playlist's own directory (hls/).
 */
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';

export interface PlaylistEntry {
  uri: string;
  seconds: number;
  /** I-frame entries: the bytes of the segment file that hold one keyframe (with its moof). */
  byteRange?: { length: number; offset: number };
}

export interface AudioMedia {
  groupId: string;
  language: string;
  name: string;
  default: boolean;
  channels: number;
  uri: string;
}

export interface TextMedia {
  language: string;
  name: string;
  default: boolean;
  forced: boolean;
  uri: string;
}

export interface Variant {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string[];
  width: number;
  height: number;
  frameRate: number;
  audioGroup?: string;
}

export interface IFrameVariant {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  width: number;
  height: number;
}

export const SUBTITLE_GROUP = 'subs';

/**
 * A quoted-string attribute value; throws BAD_REQUEST for what one cannot hold
 * (a double quote, CR or LF, RFC 8216 §4.2) or a playlist must not (other control characters, §4.1).
 */
export function quoted(value: string, what: string): string {
  if (/["\u0000-\u001f\u007f-\u009f]/.test(value)) throw new VpipeError(ErrorCodes.BadRequest, `${what} ${JSON.stringify(value)} cannot go into an HLS playlist (quotes or control characters)`);
  return `"${value}"`;
}

/**
 * EXT-X-TARGETDURATION: each EXTINF rounded to the nearest integer must not exceed it (§4.3.3.1);
 * the ceiling of the longest is the smallest integer that no EXTINF exceeds at all.
 */
export function targetDuration(seconds: readonly number[]): number {
  return Math.max(1, Math.ceil(seconds.reduce((m, s) => Math.max(m, s), 0)));
}

/** A VOD media playlist: segments (with EXT-X-MAP when `map` is given), or I-frame entries when they carry byte ranges. */
export function mediaPlaylist(p: { map?: string; entries: readonly PlaylistEntry[] }): string {
  const iFrames = p.entries.some((e) => e.byteRange);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${targetDuration(p.entries.map((e) => e.seconds))}`,
    '#EXT-X-MEDIA-SEQUENCE:1',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  if (iFrames) lines.push('#EXT-X-I-FRAMES-ONLY');
  if (p.map !== undefined) lines.push(`#EXT-X-MAP:URI=${quoted(p.map, 'URI')}`);
  for (const e of p.entries) {
    lines.push(`#EXTINF:${e.seconds.toFixed(6)},`);
    if (e.byteRange) lines.push(`#EXT-X-BYTERANGE:${e.byteRange.length}@${e.byteRange.offset}`);
    lines.push(e.uri);
  }
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

const yesNo = (b: boolean) => (b ? 'YES' : 'NO');

/** The multivariant playlist: audio and subtitle renditions, a variant per video rung and audio group, an I-frame variant per rung. */
export function multivariantPlaylist(m: { audio: readonly AudioMedia[]; text: readonly TextMedia[]; variants: readonly Variant[]; iframes: readonly IFrameVariant[] }): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS', ''];
  for (const a of m.audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=${quoted(a.groupId, 'GROUP-ID')},LANGUAGE=${quoted(a.language, 'language')},NAME=${quoted(a.name, 'name')},` +
        `DEFAULT=${yesNo(a.default)},AUTOSELECT=YES,CHANNELS="${a.channels}",URI=${quoted(a.uri, 'URI')}`,
    );
  }
  for (const t of m.text) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${SUBTITLE_GROUP}",LANGUAGE=${quoted(t.language, 'language')},NAME=${quoted(t.name, 'name')},` +
        `DEFAULT=${yesNo(t.default)},AUTOSELECT=YES,FORCED=${yesNo(t.forced)},URI=${quoted(t.uri, 'URI')}`,
    );
  }
  if (m.audio.length || m.text.length) lines.push('');
  for (const v of m.variants) {
    const attrs = [
      `BANDWIDTH=${v.bandwidth}`, `AVERAGE-BANDWIDTH=${v.averageBandwidth}`, `CODECS=${quoted(v.codecs.join(','), 'CODECS')}`,
      `RESOLUTION=${v.width}x${v.height}`, `FRAME-RATE=${v.frameRate.toFixed(3)}`,
    ];
    if (v.audioGroup !== undefined) attrs.push(`AUDIO=${quoted(v.audioGroup, 'GROUP-ID')}`);
    if (m.text.length) attrs.push(`SUBTITLES="${SUBTITLE_GROUP}"`);
    attrs.push('CLOSED-CAPTIONS=NONE');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  if (m.iframes.length) lines.push('');
  for (const f of m.iframes) {
    lines.push(
      `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${f.bandwidth},AVERAGE-BANDWIDTH=${f.averageBandwidth},CODECS=${quoted(f.codecs, 'CODECS')},` +
        `RESOLUTION=${f.width}x${f.height},URI=${quoted(f.uri, 'URI')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
