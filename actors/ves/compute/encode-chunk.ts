/**
 * Encodes one chunk: seeks to just before its first frame, takes exactly its
 * frames (timestamps passed through, so VFR stays VFR), and writes Matroska
 * to a temporary name that is renamed when complete — a redelivered chunk
 * overwrites the same deterministic path with the same content.
 */
import fs from 'node:fs/promises';
import type { ChunkEncodeSpec, EncoderModule } from '../../../encoders/types.js';
import { ErrorCodes, VpipeError } from '../../../runtime/errors.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media-tools.js';
import type { ChunkPlan } from '../../../schemas/ves.js';

export interface ChunkEncodeInput {
  sourcePath: string;
  chunk: ChunkPlan;
  spec: ChunkEncodeSpec;
  outPath: string;
  signal?: AbortSignal;
  /** Frames done so far, and encode speed (×realtime) when ffmpeg reports it. */
  onProgress?: (framesDone: number, speed: number | null) => void;
}

export interface ChunkEncodeOutput {
  frames: number;
  bytes: number;
  encodeSeconds: number;
  /**
   * Presentation time of the chunk file's first frame, in its own timeline (the
   * seek leaves it a frame or so after zero), or null if it could not be read.
   * The assembler needs it: the concat demuxer aligns a file by its start time,
   * which the Matroska demuxer cannot always tell (x264 ultrafast chunks).
   */
  startSeconds: number | null;
}

/** The first packet's presentation time: a chunk starts with a keyframe, which is also first in display order. Null if unreadable. */
export async function firstFrameTime(file: string, run: ToolRunner = runTool): Promise<number | null> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', ...inputArgs(file)]);
  const t = Number.parseFloat(r.stdout.trim().split('\n')[0] ?? '');
  return r.code === 0 && Number.isFinite(t) ? t : null;
}

/** Builds the ffmpeg arguments (exported for tests). */
export function chunkArgs(encoder: EncoderModule, input: ChunkEncodeInput, tmpPath: string): string[] {
  const frames = input.chunk.endFrame - input.chunk.startFrame;
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1',
    ...(input.chunk.seekSeconds > 0 ? ['-ss', input.chunk.seekSeconds.toFixed(6)] : []),
    ...inputArgs(input.sourcePath),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-frames:v', String(frames),
    // Also stop at the chunk's end time: if frames in the range cannot be decoded, ffmpeg must not
    // fill the count with the next chunk's frames (the count check then catches the loss).
    '-t', (input.chunk.startSeconds + input.chunk.durationSeconds - input.chunk.seekSeconds - 1e-4).toFixed(6),
    '-fps_mode', 'passthrough',
    ...encoder.videoArgs(input.spec),
    '-f', 'matroska', tmpPath,
  ];
}

/**
 * Encodes the chunk. Throws TOOL_FAILED — retryable when ffmpeg died or was
 * short of memory, not retryable when it finished with the wrong frame count
 * or an error exit (a bad source range or unsupported parameters will not heal).
 */
export async function encodeChunk(encoder: EncoderModule, input: ChunkEncodeInput, run: ToolRunner = runTool): Promise<ChunkEncodeOutput> {
  const expected = input.chunk.endFrame - input.chunk.startFrame;
  const tmp = `${input.outPath}.${process.pid}.${Date.now()}.part`;
  let frames = 0;
  let speed: number | null = null;
  const started = Date.now();
  try {
    const r = await run('ffmpeg', chunkArgs(encoder, input, tmp), {
      signal: input.signal,
      keepStdout: false,
      onStdoutLine: (line) => {
        const [k, v] = line.split('=');
        if (k === 'frame') frames = Number(v) || frames;
        else if (k === 'speed') speed = Number.parseFloat(v ?? '') || speed;
        else if (k === 'progress') input.onProgress?.(frames, speed);
      },
    });
    assertToolRan('ffmpeg', r);
    const range = `frames ${input.chunk.startFrame}–${input.chunk.endFrame - 1}`;
    if (r.code !== 0) {
      const undecodable = /Error while decoding|Invalid data found|No JPEG data|concealing|corrupt/i.test(r.stderr);
      const tail = r.stderr.trim().split('\n').slice(-2).join(' | ').slice(-300);
      throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: ${undecodable ? `${range} could not be decoded` : 'encoding failed'} (ffmpeg exited ${r.code}): ${tail}`);
    }
    if (frames !== expected) {
      throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: encoded ${frames} frames, expected ${expected} (${range} could not all be decoded)`);
    }
    const startSeconds = await firstFrameTime(tmp, run);
    await fs.rename(tmp, input.outPath);
    const { size } = await fs.stat(input.outPath);
    return { frames, bytes: size, encodeSeconds: (Date.now() - started) / 1000, startSeconds };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
