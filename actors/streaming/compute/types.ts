/**
 * The streaming compute layer's contracts: what audio, text and packaging
 * take and give. Plain data (it lands in the job's persisted context).
 *
 * Layout of a package under `<outDir>`:
 *   media/<renditionId>/init.mp4, media/<renditionId>/seg-00001.m4s …  (CMAF, shared by HLS and DASH)
 *   media/text/<textId>.vtt
 *   hls/main.m3u8 (multivariant), hls/<renditionId>.m3u8, hls/<renditionId>-iframes.m3u8, hls/<textId>.m3u8
 *   dash/manifest.mpd
 */

/** One encoded video rung (a VES output: MP4, one video track, IDR every `gopSeconds`, closed GOPs). */
export interface VideoInput {
  id: string;
  path: string;
}

/** One audio rendition as the audio step made it: an MP4 (.m4a) holding one AAC-LC track. */
export interface AudioInput {
  id: string;
  path: string;
  language: string;
  name: string;
  default: boolean;
  channels: number;
}

/** One WebVTT file as the text step made it (cue times on the video's timeline: 0 = the first video frame). */
export interface TextInput {
  id: string;
  path: string;
  language: string;
  name: string;
  default: boolean;
  forced: boolean;
}

export interface PackageOptions {
  /** Absolute directory; created if missing; what the packager writes there replaces what was there. */
  outDir: string;
  /** Target segment duration in seconds (a multiple of gopSeconds). */
  segmentSeconds: number;
  /** The IDR cadence the rungs were encoded with. */
  gopSeconds: number;
  signal?: AbortSignal;
}

export interface SegmentInfo {
  /** Relative to outDir, e.g. `media/v0/seg-00001.m4s`. */
  path: string;
  startSeconds: number;
  durationSeconds: number;
  bytes: number;
}

export interface RenditionPackage {
  id: string;
  kind: 'video' | 'audio';
  /** RFC 6381 string read from the init segment's sample entry (`avc1.64001f`, `mp4a.40.2` …). */
  codecs: string;
  /** RFC 8216 peak segment bitrate and the mean over the whole rendition, bits per second. */
  bandwidth: number;
  averageBandwidth: number;
  init: string;
  playlist: string;
  segments: SegmentInfo[];
  timescale: number;
  width?: number;
  height?: number;
  frameRate?: number;
  /** Video: the I-frame playlist (relative to outDir). */
  iframePlaylist?: string;
  /** Audio. */
  language?: string;
  channels?: number;
  sampleRate?: number;
}

export interface PackageResult {
  /** Relative to outDir. */
  hls: { multivariant: string; iframePlaylists: string[] };
  dash: { mpd: string };
  video: RenditionPackage[];
  audio: RenditionPackage[];
  text: { id: string; vtt: string; playlist: string; language: string }[];
  checks: {
    targetSegmentSeconds: number;
    boundariesAligned: boolean;
    segments: number;
    maxSegmentSeconds: number;
    segmentsStartWithKeyframe: boolean;
  };
}
