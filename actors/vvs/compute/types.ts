import type { ContentCheck } from './content.js';
/**
 * Data passed from the measure step to the compare step. The runner persists
 * the workflow snapshot (msgpack, 1 MB NATS payload cap) after every step, so
 * this is plain data with every field present (null, never undefined), and
 * nothing in it grows with the file's length except the keyframe runs, which
 * stay small for any encoder-made GOP pattern.
 */

/** Keyframes at start, start+step, … (count of them), in presentation order: a fixed GOP is one run. */
export interface KeyframeRun {
  start: number;
  step: number;
  count: number;
}

/** The packet list, summarised (see packets.ts). */
export interface PacketSummary {
  frameCount: number;
  /** Sum of video packet sizes in bytes. */
  totalBytes: number;
  /** Presentation span: last pts + its duration − first pts; null without timestamps (raw elementary streams). */
  spanSeconds: number | null;
  /** 'pts' when packets carried timestamps; 'decode' when they did not (raw streams), so keyframe indexes are decode-order ones. */
  order: 'pts' | 'decode';
  keyframeCount: number;
  /** Null when the pattern was too irregular to keep (more than MAX_KEYFRAME_RUNS runs). */
  keyframes: KeyframeRun[] | null;
  /** Longest run of frames from a keyframe (or the start) to the next keyframe (or the end). */
  maxGopFrames: number;
  /** First frame of that longest GOP, for messages. */
  maxGopStart: number;
}

export interface DecodeCheck {
  /** Error lines ffmpeg logged while decoding (at least 1 when it exited non-zero). */
  errors: number;
  /** The first few, with server paths replaced by the caller's URI. */
  samples: string[];
}

export interface MeasureData {
  kind: 'vvs.measure';
  /** Why nothing could be measured (no readable video stream); null when the stream was measured. */
  unreadable: string | null;
  codec: string | null;
  /** ffprobe's spelling (High, Main 10, Profile 0 …). */
  profile: string | null;
  /** ffprobe's integer level (h264 ×10, hevc ×30, av1 seq_level_idx); null when unknown (vp9: -99). */
  levelRaw: number | null;
  width: number | null;
  height: number | null;
  pixelFormat: string | null;
  /** Frames per second from avg_frame_rate, else r_frame_rate. */
  frameRate: number | null;
  durationSeconds: number | null;
  averageBitrateKbps: number | null;
  packets: PacketSummary | null;
  /** Null when the decode check was not asked for. */
  decode: DecodeCheck | null;
  /** The pictures and times against the source; absent when not asked for. */
  content?: ContentCheck | null;
}

/** What the measure step needs: the resolved path, the caller's URI (for messages) and whether to decode. */
export interface MeasureInput {
  path: string;
  uri: string;
  decode: boolean;
  signal?: AbortSignal;
}
