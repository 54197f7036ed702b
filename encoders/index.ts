/**
 * The encoder registry: one module per codec, looked up by the recipe's codec.
 */
import { runTool, type ToolRunner } from '../runtime/media/mod.js';
import { CODECS, type Codec } from '../schemas/ves.js';
import { av1 } from './av1/index.js';
import { dnxhd } from './dnxhd/index.js';
import { pick } from './common.js';
import { h264 } from './h264/index.js';
import { hevc } from './hevc/index.js';
import { prores } from './prores/index.js';
import type { EncoderModule, ProbeResult } from './types.js';
import { vp9 } from './vp9/index.js';

export type { ChunkEncodeSpec, EncoderModule, ProbeResult } from './types.js';
export { SHAPES, shapeFor, type NamedShape, type ShapeName } from './shapes.js';

export const ENCODERS: Readonly<Record<Codec, EncoderModule>> = { h264, hevc, vp9, av1, prores, dnxhd };

/** The module for `codec`; throws BAD_REQUEST for a codec outside the Recipe enum. */
export function encoderFor(codec: Codec): EncoderModule {
  return pick(ENCODERS, codec, 'codec');
}

/** Probes every encoder (in parallel; each answer cached per runner). Never throws: unavailable encoders say why. */
export async function probeAll(run: ToolRunner = runTool): Promise<Record<Codec, ProbeResult>> {
  const results = await Promise.all(CODECS.map((c) => ENCODERS[c].probe(run)));
  return Object.fromEntries(CODECS.map((c, i) => [c, results[i]])) as Record<Codec, ProbeResult>;
}
