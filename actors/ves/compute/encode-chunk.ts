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
    if (r.code !== 0) {
      throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: ffmpeg exited ${r.code}: ${r.stderr.trim().slice(-400)}`);
    }
    if (frames !== expected) {
      throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: encoded ${frames} frames, expected ${expected} (frames ${input.chunk.startFrame}–${input.chunk.endFrame - 1} could not all be decoded)`);
    }
    await fs.rename(tmp, input.outPath);
    const { size } = await fs.stat(input.outPath);
    return { frames, bytes: size, encodeSeconds: (Date.now() - started) / 1000 };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
