/**
 * The studio's predefined recipes: review proxies (H.264 in MP4, AAC stereo) and editorial
 * intermediates (ProRes Proxy/LT through prores_ks, DNxHR LB through dnxhd, in MOV with PCM).
 * Each is a VES recipe without a size: the output fits the recipe's box at the source's display
 * aspect, never upscaled, in square pixels. Listed by `vpipe studio recipes`.
 */
import type { Container, Recipe } from '../../schemas/ves.js';
import type { StudioRecipeName } from '../../schemas/studio.js';

export interface StudioRecipe {
  name: StudioRecipeName;
  description: string;
  container: Extract<Container, 'mp4' | 'mov'>;
  /** The box the picture is fitted into (display aspect kept, never upscaled). */
  box: { width: number; height: number };
  /** ffprobe's codec and profile names of the result (what the tests and VVS check). */
  expect: { codec: string; profile: string; pixelFormat: string };
  recipe: Omit<Recipe, 'resolution'>;
}

/** Chunk length of every recipe: short, so many encoder actors start at once and the first chunks come back quickly. */
export const STUDIO_CHUNK_SECONDS = 2;

const h264Proxy = (name: StudioRecipeName, height: 1080 | 720, crf: number, maxKbps: number): StudioRecipe => ({
  name,
  description: `H.264 High review proxy, ${height}p, 8-bit 4:2:0, CRF ${crf} capped at ${maxKbps / 1000} Mb/s, AAC-LC stereo 192 kb/s, MP4`,
  container: 'mp4',
  box: { width: (height * 16) / 9, height },
  expect: { codec: 'h264', profile: 'High', pixelFormat: 'yuv420p' },
  recipe: {
    codec: 'h264',
    profile: 'high',
    pixelFormat: 'yuv420p',
    squarePixels: true,
    preset: 'veryfast',
    rateControl: { mode: 'crf', value: crf, maxrateKbps: maxKbps },
    gop: { lengthSeconds: 2, closed: true },
    chunking: { targetSeconds: STUDIO_CHUNK_SECONDS },
    audio: { mode: 'aac', bitrateKbps: 192, channels: 2 },
  },
});

const intra = (name: StudioRecipeName, codec: 'prores' | 'dnxhd', profile: string, label: string, expect: StudioRecipe['expect']): StudioRecipe => ({
  name,
  description: `${label}, up to 1920x1080, intra-only, 24-bit PCM stereo, QuickTime MOV`,
  container: 'mov',
  box: { width: 1920, height: 1080 },
  expect,
  recipe: { codec, profile, squarePixels: true, chunking: { targetSeconds: STUDIO_CHUNK_SECONDS }, audio: { mode: 'pcm', bitDepth: 24, channels: 2 } },
});

export const STUDIO_RECIPES: Readonly<Record<StudioRecipeName, StudioRecipe>> = {
  'proxy-h264-1080p': h264Proxy('proxy-h264-1080p', 1080, 20, 12_000),
  'proxy-h264-720p': h264Proxy('proxy-h264-720p', 720, 21, 6_000),
  'prores-proxy': intra('prores-proxy', 'prores', 'proxy', 'Apple ProRes 422 Proxy (prores_ks, 10-bit 4:2:2)', { codec: 'prores', profile: 'Proxy', pixelFormat: 'yuv422p10le' }),
  'prores-lt': intra('prores-lt', 'prores', 'lt', 'Apple ProRes 422 LT (prores_ks, 10-bit 4:2:2)', { codec: 'prores', profile: 'LT', pixelFormat: 'yuv422p10le' }),
  'dnxhr-lb': intra('dnxhr-lb', 'dnxhd', 'dnxhr_lb', 'Avid DNxHR LB (dnxhd, 8-bit 4:2:2)', { codec: 'dnxhd', profile: 'DNXHR LB', pixelFormat: 'yuv422p' }),
};

/** Even size of a `display` picture fitted into `box` (aspect kept, never upscaled). */
export function fitSize(display: { width: number; height: number }, box: { width: number; height: number }): { width: number; height: number } {
  const scale = Math.min(1, box.width / display.width, box.height / display.height);
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  return { width: even(display.width * scale), height: even(display.height * scale) };
}

/** The list `vpipe studio recipes` prints. */
export function recipeTable(): { name: string; container: string; box: string; description: string }[] {
  return Object.values(STUDIO_RECIPES).map((r) => ({ name: r.name, container: r.container, box: `${r.box.width}x${r.box.height}`, description: r.description }));
}
