/**
 * Shapes and the routing table that picks one per chunk encode:
 * by codec and output pixel count. HEVC, VP9 and AV1 cost several times
 * AVC's CPU per pixel, so they get a bigger shape at the same size. The
 * encoder is given shape.cpus threads, so a chunk never oversubscribes.
 */
import { ErrorCodes, VpipeError } from '../runtime/core/mod.js';
import type { Shape } from '../runtime/workers/mod.js';
import type { Codec } from '../schemas/ves.js';

export type ShapeName = 'small' | 'medium' | 'large' | 'xlarge' | '2xlarge';

/** A shape of the runtime's one shape type, named by tier. */
export type NamedShape = Shape & { name: ShapeName };

export const SHAPES: Readonly<Record<ShapeName, NamedShape>> = {
  small: { name: 'small', cpus: 1, memoryMb: 512 },
  medium: { name: 'medium', cpus: 2, memoryMb: 1024 },
  large: { name: 'large', cpus: 4, memoryMb: 2048 },
  xlarge: { name: 'xlarge', cpus: 8, memoryMb: 4096 },
  '2xlarge': { name: '2xlarge', cpus: 16, memoryMb: 8192 },
};

/** Upper pixel-count bounds of the size tiers: ≤ 640x360, ≤ 1280x720, ≤ 1920x1080, above. */
const TIER_MAX_PIXELS = [640 * 360, 1280 * 720, 1920 * 1080, Infinity] as const;

/** Shape per codec and size tier (same order as TIER_MAX_PIXELS). */
export const ROUTING: Readonly<Record<Codec, readonly [ShapeName, ShapeName, ShapeName, ShapeName]>> = {
  h264: ['small', 'medium', 'large', 'xlarge'],
  vp9: ['medium', 'large', 'xlarge', '2xlarge'],
  hevc: ['medium', 'large', 'xlarge', '2xlarge'],
  av1: ['medium', 'large', 'xlarge', '2xlarge'],
  // Intra coders are cheap per pixel (no motion search) and thread by slices.
  prores: ['small', 'small', 'medium', 'large'],
  dnxhd: ['small', 'small', 'medium', 'large'],
};

/** The container shape for encoding `codec` at width × height; throws BAD_REQUEST for an unknown codec or a size that is not positive integers. */
export function shapeFor(codec: Codec, width: number, height: number): NamedShape {
  if (!Object.hasOwn(ROUTING, codec)) throw new VpipeError(ErrorCodes.BadRequest, `no routing for codec ${JSON.stringify(codec)}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new VpipeError(ErrorCodes.BadRequest, `output size must be positive integers, got ${width}x${height}`);
  }
  const pixels = width * height;
  const tier = TIER_MAX_PIXELS.findIndex((max) => pixels <= max);
  return SHAPES[ROUTING[codec][tier === -1 ? TIER_MAX_PIXELS.length - 1 : tier]!];
}
