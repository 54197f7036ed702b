/**
 * Bit depth and chroma subsampling from ffmpeg pixel format names. Names are
 * systematic enough (yuv422p10le, p010le, gbrap12be …) that patterns cover
 * them; the table below only lists the packed oddities.
 */
import type { ChromaSubsampling } from '../../../schemas/common.js';

export interface PixelFormatInfo {
  bitDepth: number | null;
  chroma: ChromaSubsampling;
  /** rgb: no chroma planes at all (reported as 4:4:4: every pixel carries full colour); gray: 'none'. */
  family: 'yuv' | 'rgb' | 'gray' | 'other';
}

const UNKNOWN: PixelFormatInfo = { bitDepth: null, chroma: 'unknown', family: 'other' };

const CHROMA_BY_DIGITS: Record<string, ChromaSubsampling> = {
  '420': '4:2:0',
  '422': '4:2:2',
  '444': '4:4:4',
  '411': '4:1:1',
  '440': '4:4:0',
  // 4:1:0 (yuv410p) has no value in the shared enum.
  '410': 'unknown',
};

/** Packed or semi-planar layouts whose names do not follow the yuvXXXp pattern. */
const PACKED: Record<string, [ChromaSubsampling, number]> = {
  nv12: ['4:2:0', 8],
  nv21: ['4:2:0', 8],
  nv16: ['4:2:2', 8],
  nv20: ['4:2:2', 10],
  nv24: ['4:4:4', 8],
  nv42: ['4:4:4', 8],
  yuyv422: ['4:2:2', 8],
  yvyu422: ['4:2:2', 8],
  uyvy422: ['4:2:2', 8],
  uyyvyy411: ['4:1:1', 8],
  y210: ['4:2:2', 10],
  y212: ['4:2:2', 12],
  ayuv64: ['4:4:4', 16],
  vuya: ['4:4:4', 8],
  vuyx: ['4:4:4', 8],
  xv30: ['4:4:4', 10],
  xv36: ['4:4:4', 12],
  v30x: ['4:4:4', 10],
};

const RGB_DEPTH: Record<string, number> = {
  rgb24: 8, bgr24: 8, rgba: 8, bgra: 8, argb: 8, abgr: 8, rgb0: 8, bgr0: 8, '0rgb': 8, '0bgr': 8,
  rgb48: 16, bgr48: 16, rgba64: 16, bgra64: 16, x2rgb10: 10, x2bgr10: 10, pal8: 8, xyz12: 12,
  rgb565: 6, bgr565: 6, rgb555: 5, bgr555: 5, rgb444: 4, bgr444: 4, rgb8: 3, bgr8: 3, rgb4: 2, bgr4: 2,
  rgb4_byte: 2, bgr4_byte: 2,
};

/** Describes a pixel format name; never throws (unknown names give depth null, chroma 'unknown'). */
export function describePixelFormat(pixFmt: string | null): PixelFormatInfo {
  if (!pixFmt) return UNKNOWN;
  const name = pixFmt.toLowerCase().replace(/(le|be)$/, '');

  let m = /^yuva?j?(4[1-4][0-4])p(\d+)?$/.exec(name);
  if (m) {
    return { bitDepth: m[2] ? Number(m[2]) : 8, chroma: CHROMA_BY_DIGITS[m[1] ?? ''] ?? 'unknown', family: 'yuv' };
  }
  // p010 / p016 (4:2:0), p210 (4:2:2), p410 (4:4:4): semi-planar high bit depth.
  m = /^p([024])(\d{2})$/.exec(name);
  if (m) {
    const chroma: ChromaSubsampling = m[1] === '0' ? '4:2:0' : m[1] === '2' ? '4:2:2' : '4:4:4';
    return { bitDepth: Number(m[2]), chroma, family: 'yuv' };
  }
  const packed = PACKED[name];
  if (packed) return { bitDepth: packed[1], chroma: packed[0], family: 'yuv' };

  m = /^(?:gray|ya)(\d+)?(f32)?$/.exec(name);
  if (m) return { bitDepth: m[2] ? 32 : m[1] ? Number(m[1]) : 8, chroma: 'none', family: 'gray' };
  if (name === 'monow' || name === 'monob') return { bitDepth: 1, chroma: 'none', family: 'gray' };

  m = /^gbra?p(\d+)?(f32)?$/.exec(name);
  if (m) return { bitDepth: m[2] ? 32 : m[1] ? Number(m[1]) : 8, chroma: '4:4:4', family: 'rgb' };
  const rgb = RGB_DEPTH[name];
  if (rgb !== undefined) return { bitDepth: rgb, chroma: '4:4:4', family: 'rgb' };
  if (/^rgba?f(16|32)$/.test(name)) return { bitDepth: Number(name.slice(-2)), chroma: '4:4:4', family: 'rgb' };

  m = /^bayer_\w+?(8|16)$/.exec(name);
  if (m) return { bitDepth: Number(m[1]), chroma: 'unknown', family: 'other' };
  return UNKNOWN;
}

/**
 * Coded bit depth: bits_per_raw_sample is the precise one (a 12-bit DPX sits
 * in rgb48, 10-bit ProRes in yuv422p10) but only when it fits in the pixel
 * format; otherwise the depth the pixel format implies. Never throws.
 */
export function bitDepthOf(pixFmt: string | null, bitsPerRawSample: number | null): number | null {
  const fromFormat = describePixelFormat(pixFmt).bitDepth;
  if (bitsPerRawSample !== null && bitsPerRawSample > 0 && (fromFormat === null || bitsPerRawSample <= fromFormat)) {
    return bitsPerRawSample;
  }
  return fromFormat;
}

/** Horizontal / vertical chroma halving implied by a subsampling scheme, for the odd-dimension check. */
export function chromaHalving(chroma: ChromaSubsampling): { horizontal: boolean; vertical: boolean } {
  switch (chroma) {
    case '4:2:0':
      return { horizontal: true, vertical: true };
    case '4:2:2':
    case '4:1:1':
      return { horizontal: true, vertical: false };
    case '4:4:0':
      return { horizontal: false, vertical: true };
    default:
      return { horizontal: false, vertical: false };
  }
}
