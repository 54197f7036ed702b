/**
 * What the intra-only editorial encoders (ProRes through prores_ks, DNxHR through dnxhd) share:
 * every frame is a keyframe and the profile sets the data rate, so a recipe carries no rate
 * control and no GOP, chunks need no warm-up (no rate control to warm, no forced keyframe) and any
 * frame can start a chunk. Chunks and outputs are QuickTime (MP4 has no sample entry for either).
 */
import type { PixelFormat, Recipe } from '../schemas/ves.js';
import { bad, type EncoderHead, headArgs, names, num, pick } from './common.js';
import { prober } from './probe.js';
import type { ChunkEncodeSpec, EncoderModule } from './types.js';

export interface IntraCodec {
  codec: 'prores' | 'dnxhd';
  encoder: string;
  /** Recipe profile → the pixel format it is encoded in. */
  profileFormats: Readonly<Record<string, PixelFormat>>;
  /** The profile when the recipe names none (explicit: JavaScript lists integer-like keys such as '4444' first). */
  defaultProfile: string;
  /** Extra output arguments (vendor tags and the like). */
  extraArgs?: readonly string[];
  /** The encoder's own limits on the output (sizes), checked before anything else. */
  check?: (spec: ChunkEncodeSpec) => void;
  /** The probe's trial picture size, when the encoder refuses 64x64. */
  trialSize?: string;
}

/** An EncoderModule for an intra-only codec. */
export function intraModule(c: IntraCodec): EncoderModule {
  const head: EncoderHead = { codec: c.codec, encoder: c.encoder, profiles: names(Object.keys(c.profileFormats)), check: c.check };
  const defaultFormat = pick(c.profileFormats, c.defaultProfile, `${c.codec} profile`);
  const pixelFormatFor = (recipe: Recipe): PixelFormat => {
    const profile = recipe.profile ?? c.defaultProfile;
    const fmt = pick(c.profileFormats, profile, `${c.codec} profile`);
    if (recipe.pixelFormat !== undefined && recipe.pixelFormat !== fmt) bad(`${c.codec} profile ${profile} is encoded as ${fmt}, not ${recipe.pixelFormat}`);
    return fmt;
  };
  const videoArgs = (spec: ChunkEncodeSpec): string[] => {
    const r = spec.recipe;
    if (r.rateControl !== undefined) bad(`${c.codec} takes its data rate from the profile; leave rateControl out`);
    // The profile is always explicit: the encoders' own defaults are not the recipe's first profile.
    const args = headArgs({ ...spec, recipe: { ...r, profile: r.profile ?? c.defaultProfile } }, pixelFormatFor(r), head);
    args.push(...(c.extraArgs ?? []), '-threads', num('threads', spec.threads, { min: 1, max: 256, integer: true }));
    return args;
  };
  return {
    codec: c.codec,
    encoder: c.encoder,
    probe: prober(c.encoder, {
      logLevel: 'error',
      size: c.trialSize,
      outputArgs: ['-profile:v', c.defaultProfile, '-pix_fmt', defaultFormat, '-f', 'mov', '-movflags', 'frag_keyframe+empty_moov'],
      version: () => undefined,
    }),
    videoArgs,
    // No elementary-stream format: raw output is refused (containers below).
    rawFormat: { format: 'mov', extension: 'mov' },
    forcedKeyframeArgs: null,
    chunkMuxer: 'mov',
    containers: ['mov', 'mkv'],
    defaultPixelFormat: defaultFormat,
    pixelFormatFor,
  };
}
