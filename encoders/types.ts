/**
 * The contract every encoder module meets: a probe (is it in this ffmpeg
 * build, which library version) and a pure recipe → ffmpeg arguments
 * translation for the video stream of one chunk.
 */
import type { ToolRunner } from '../runtime/media/mod.js';
import type { Codec, Container, PixelFormat, Recipe } from '../schemas/ves.js';

export interface ChunkEncodeSpec {
  /** Validated against the Recipe schema. */
  recipe: Recipe;
  /** Source nominal rate; turns GOP seconds into frames. */
  frameRate: { num: number; den: number };
  /** Output size, already resolved (recipe.resolution ?? source). */
  width: number;
  height: number;
  /** Decides whether a scale filter is needed. */
  sourceWidth: number;
  sourceHeight: number;
  /** From the container shape (shapeFor(...).cpus). */
  threads: number;
  /**
   * Clockwise quarter turn applied to the decoded pictures before scaling (the source's display
   * matrix: chunks decode with -noautorotate so their pictures match the frame index, then turn
   * them as a player would). sourceWidth/sourceHeight are the turned size.
   */
  rotation?: 0 | 90 | 180 | 270;
  /** The label of the source's first frame for a timecode burn-in, as planning resolved it (request, source, or zero). */
  timecodeStart?: string;
  /** The visible watermark's PNG, resolved under the media root at admission. */
  watermarkImagePath?: string;
}

export interface ProbeResult {
  available: boolean;
  /** Library version and ffmpeg version, e.g. "x264 core 164 r3095 baee400; ffmpeg 5.1.9-0+deb12u1"; '' when unknown. */
  version: string;
  /** Why the encoder is not available. */
  reason?: string;
}

export interface EncoderModule {
  codec: Codec;
  /** ffmpeg encoder name, e.g. 'libx264'. */
  encoder: string;
  /** Whether this ffmpeg build has the encoder (listed and a one-frame trial encode works) and its version; positive answers cached per process and runner. Never throws (available:false + reason). */
  probe(run?: ToolRunner): Promise<ProbeResult>;
  /** Output-side ffmpeg arguments for the video stream only (no input/output file, no -frames, no -map); every value is a number or an enum member of the recipe. Throws BAD_REQUEST when the recipe or spec asks for something this encoder cannot express. */
  videoArgs(spec: ChunkEncodeSpec): string[];
  /**
   * Elementary-stream muxer and extension for container 'raw', and the bitstream filter that turns
   * Matroska's length-prefixed packets into Annex B with parameter sets (ffmpeg 5.1 does not always
   * insert it on its own when stream-copying).
   */
  rawFormat: { format: string; extension: string; bitstreamFilter?: string };
  /**
   * The sample-entry tag an MP4 output carries when ffmpeg's default is not the one players want:
   * HEVC as `hvc1` (Apple's players and HLS authoring require it; ffmpeg writes `hev1`).
   */
  mp4Tag?: string;
  /**
   * Output arguments that make a forced keyframe (`-force_key_frames`) a clean entry point (an IDR),
   * or null when this ffmpeg wrapper ignores forced keyframes (libsvtav1 in ffmpeg 5.1). Chunks warm
   * the encoder's rate control up on frames before their start only where this is not null.
   */
  forcedKeyframeArgs: readonly string[] | null;
  /**
   * The muxer chunk files are written with (default mp4): QuickTime for codecs the MP4 muxer has no
   * sample entry for (ProRes, DNxHR). The assembler concatenates either by stream copy.
   */
  chunkMuxer?: 'mp4' | 'mov';
  /** The output containers this codec can be delivered in (default every container). */
  containers?: readonly Container[];
  /** Pixel format when the recipe names neither a pixel format nor a profile that implies one. */
  defaultPixelFormat: PixelFormat;
  /** The pixel format the encode will produce: the recipe's, else the lowest one its profile needs to be signalled, else the default. Throws BAD_REQUEST when profile and pixel format cannot go together. */
  pixelFormatFor(recipe: Recipe): PixelFormat;
}
