/**
 * Recipe spelling (schemas/ves.ts PROFILES, LEVELS) against ffprobe's. Seen
 * with ffmpeg 5.1 on x264, x265, libvpx-vp9, SVT-AV1 and libaom output:
 * profiles are libavcodec's names, and `level` is the bitstream's integer —
 * h264 level_idc (×10, 1b = 9), hevc general_level_idc (×30), av1
 * seq_level_idx ((X−2)·4+Y) and -99 (unknown) for vp9, which signals none.
 */
import type { Codec } from '../../../schemas/ves.js';

/** For each recipe profile, the ffprobe names that satisfy it. */
export const FFPROBE_PROFILES: Record<Codec, Record<string, readonly string[]>> = {
  h264: {
    // x264 writes Constrained Baseline for -profile baseline.
    baseline: ['Baseline', 'Constrained Baseline'],
    main: ['Main'],
    high: ['High'],
    high10: ['High 10', 'High 10 Intra'],
    high422: ['High 4:2:2', 'High 4:2:2 Intra'],
    high444: ['High 4:4:4 Predictive', 'High 4:4:4 Intra', 'CAVLC 4:4:4'],
  },
  hevc: {
    main: ['Main'],
    main10: ['Main 10'],
    // ffprobe names every range-extension profile "Rext"; the pixel format tells them apart.
    'main422-10': ['Rext'],
    'main444-8': ['Rext'],
    'main444-10': ['Rext'],
  },
  vp9: { '0': ['Profile 0'], '1': ['Profile 1'], '2': ['Profile 2'], '3': ['Profile 3'] },
  av1: { main: ['Main'], high: ['High'], professional: ['Professional'] },
  prores: { proxy: ['Proxy'], lt: ['LT'], standard: ['Standard'], hq: ['HQ'], '4444': ['4444'], '4444xq': ['XQ'] },
  dnxhd: { dnxhr_lb: ['DNXHR LB'], dnxhr_sq: ['DNXHR SQ'], dnxhr_hq: ['DNXHR HQ'], dnxhr_hqx: ['DNXHR HQX'], dnxhr_444: ['DNXHR 444'] },
};

/**
 * For each recipe profile, the ffprobe names of the profiles its decoders must also decode. Baseline
 * with FMO/ASO (ffprobe "Baseline") is not part of Main or High; Constrained Baseline is. A Main 10
 * decoder decodes Main; VP9 profiles 1 and 2 each add to profile 0 and profile 3 decodes all;
 * AV1 High adds to Main and Professional to both.
 */
export const DECODABLE_PROFILES: Record<Codec, Record<string, readonly string[]>> = (() => {
  const h264Main = ['Constrained Baseline', 'Main'];
  const h264High = [...h264Main, 'High'];
  const h264High10 = [...h264High, 'High 10', 'High 10 Intra'];
  const h264High422 = [...h264High10, 'High 4:2:2', 'High 4:2:2 Intra'];
  const hevcMain10 = ['Main', 'Main 10'];
  return {
    h264: {
      baseline: FFPROBE_PROFILES.h264.baseline!,
      main: h264Main,
      high: h264High,
      high10: h264High10,
      high422: h264High422,
      high444: [...h264High422, 'High 4:4:4 Predictive', 'High 4:4:4 Intra', 'CAVLC 4:4:4'],
    },
    hevc: { main: ['Main'], main10: hevcMain10, 'main422-10': [...hevcMain10, 'Rext'], 'main444-8': ['Main', 'Rext'], 'main444-10': [...hevcMain10, 'Rext'] },
    vp9: { '0': ['Profile 0'], '1': ['Profile 0', 'Profile 1'], '2': ['Profile 0', 'Profile 2'], '3': ['Profile 0', 'Profile 1', 'Profile 2', 'Profile 3'] },
    av1: { main: ['Main'], high: ['Main', 'High'], professional: ['Main', 'High', 'Professional'] },
    // Intra profiles are data rates, not decoder tool sets: any ProRes or DNxHR decoder takes them all.
    prores: FFPROBE_PROFILES.prores!,
    dnxhd: FFPROBE_PROFILES.dnxhd!,
  };
})();

const isCodec = (c: string | null): c is Codec => c !== null && Object.hasOwn(FFPROBE_PROFILES, c);

export type ProfileMatch = 'exact' | 'decodable';

/** The ffprobe names a recipe profile stands for (or, `decodable`, that its decoders decode); null when the codec or the profile is unknown (never throws). */
export function ffprobeProfiles(codec: string | null, profile: string, match: ProfileMatch = 'exact'): readonly string[] | null {
  if (!isCodec(codec)) return null;
  const table = (match === 'decodable' ? DECODABLE_PROFILES : FFPROBE_PROFILES)[codec];
  return Object.hasOwn(table, profile) ? table[profile]! : null;
}

/** True when ffprobe's `actual` satisfies the expected profile, given in recipe spelling or (case-insensitively) ffprobe's own. */
export function profileMatches(codec: string | null, expected: string, actual: string | null, match: ProfileMatch = 'exact'): boolean {
  if (actual === null) return false;
  const names = ffprobeProfiles(codec, expected, match);
  if (names) return names.includes(actual);
  return expected.toLowerCase() === actual.toLowerCase();
}

export type LevelTarget =
  /** The ffprobe integers that satisfy the level. */
  | { kind: 'values'; values: number[] }
  /** The codec signals no level (vp9): nothing to compare. */
  | { kind: 'none' }
  /** The level does not exist for the codec (hevc 1.1, av1 1b …), or the codec is not one we know. */
  | { kind: 'invalid'; why: string };

const HEVC_LEVELS = new Set(['1', '2', '2.1', '3', '3.1', '4', '4.1', '5', '5.1', '5.2', '6', '6.1', '6.2']);

function parts(level: string): { x: number; y: number } {
  const [x, y] = level.split('.');
  return { x: Number(x), y: Number(y ?? '0') };
}

/**
 * The integers ffprobe shows for a recipe level on `codec` (the measured
 * one: the integer's meaning is the stream's). h264 1b is level_idc 9 in
 * High profiles but level_idc 11 + constraint_set3 in Baseline/Main, which
 * ffprobe shows as plain 11, so there 11 is accepted too. Never throws.
 */
export function levelTarget(codec: string | null, level: string, ffprobeProfile: string | null): LevelTarget {
  if (codec === 'vp9') return { kind: 'none' };
  if (codec === 'h264') {
    if (level !== '1b') {
      const { x, y } = parts(level);
      return { kind: 'values', values: [x * 10 + y] };
    }
    const lowProfile = ['Baseline', 'Constrained Baseline', 'Main', 'Extended'].includes(ffprobeProfile ?? '');
    return { kind: 'values', values: lowProfile ? [9, 11] : [9] };
  }
  if (codec === 'hevc') {
    if (!HEVC_LEVELS.has(level)) return { kind: 'invalid', why: `HEVC has no level ${level} (levels: ${[...HEVC_LEVELS].join(', ')})` };
    const { x, y } = parts(level);
    return { kind: 'values', values: [(x * 10 + y) * 3] };
  }
  if (codec === 'av1') {
    const { x, y } = parts(level);
    if (level === '1b' || x < 2 || y > 3) return { kind: 'invalid', why: `AV1 has no level ${level} (levels are 2.0–7.3, minor 0–3)` };
    return { kind: 'values', values: [(x - 2) * 4 + y] };
  }
  return { kind: 'invalid', why: `levels of ${codec ?? 'an unknown codec'} cannot be compared` };
}

const dotted = (x: number, y: number): string => (y === 0 ? String(x) : `${x}.${y}`);

/** ffprobe's level integer in recipe spelling ("3.1", "1b"); null when unknown (negative); an explicit label when it maps to no level. */
export function levelName(codec: string | null, raw: number | null): string | null {
  if (raw === null || raw < 0) return null;
  switch (codec) {
    case 'h264':
      return raw === 9 ? '1b' : dotted(Math.floor(raw / 10), raw % 10);
    case 'hevc':
      return raw % 3 === 0 ? dotted(Math.floor(raw / 30), (raw / 3) % 10) : `level_idc ${raw}`;
    case 'av1':
      if (raw <= 23) return dotted(2 + Math.floor(raw / 4), raw % 4);
      return raw === 31 ? 'unconstrained (seq_level_idx 31)' : `seq_level_idx ${raw}`;
    default:
      return String(raw);
  }
}
