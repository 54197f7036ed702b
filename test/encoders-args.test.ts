/**
 * Pure tests of the recipe → ffmpeg argument translation, the routing table
 * and the probe's failure handling (with fake runners; nothing is spawned).
 */
import { describe, expect, it } from 'vitest';
import { ENCODERS, encoderFor, probeAll, shapeFor, SHAPES, type ChunkEncodeSpec } from '../encoders/index.js';
import { vp9TileColumns } from '../encoders/vp9/index.js';
import { VpipeError } from '../runtime/core/errors.js';
import type { RunToolResult, ToolRunner } from '../runtime/media/tools.js';
import { CODECS, DELIVERY_CODECS, INTRA_CODECS, isIntraCodec, Recipe, type Codec } from '../schemas/ves.js';

type RecipeInput = Omit<Recipe, 'codec' | 'rateControl'> & { rateControl?: Recipe['rateControl'] };

function spec(codec: Codec, r: RecipeInput = {}, over: Partial<ChunkEncodeSpec> = {}): ChunkEncodeSpec {
  // The intra codecs take no rate control: the profile sets the rate.
  const recipe = Recipe.parse({ codec, ...(isIntraCodec(codec) ? {} : { rateControl: { mode: 'crf', value: 30 } }), ...r });
  return { recipe, frameRate: { num: 25, den: 1 }, width: 320, height: 240, sourceWidth: 320, sourceHeight: 240, threads: 2, ...over };
}
const args = (codec: Codec, r?: RecipeInput, over?: Partial<ChunkEncodeSpec>): string[] => encoderFor(codec).videoArgs(spec(codec, r, over));
/** The value following `opt` (undefined when `opt` is absent). */
const valueOf = (a: string[], opt: string): string | undefined => (a.includes(opt) ? a[a.indexOf(opt) + 1] : undefined);
/** x265/SVT key=value params as a map. */
const params = (a: string[], opt: string): Record<string, string> =>
  Object.fromEntries((valueOf(a, opt) ?? '').split(':').map((kv) => kv.split('=') as [string, string]));
const badRequest = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    expect(VpipeError.is(e) && e.code).toBe('BAD_REQUEST');
    return;
  }
  expect.fail('expected BAD_REQUEST');
};

describe('rate control', () => {
  it('crf: x264/x265 keep fractions, vp9 adds -b:v 0, vp9/av1 round', () => {
    expect(valueOf(args('h264', { rateControl: { mode: 'crf', value: 23.5 } }), '-crf')).toBe('23.5');
    expect(valueOf(args('hevc', { rateControl: { mode: 'crf', value: 28 } }), '-crf')).toBe('28');
    const v = args('vp9', { rateControl: { mode: 'crf', value: 31.6 } });
    expect(valueOf(v, '-crf')).toBe('32');
    expect(valueOf(v, '-b:v')).toBe('0');
    expect(valueOf(args('av1', { rateControl: { mode: 'crf', value: 35 } }), '-crf')).toBe('35');
  });

  it('capped crf: x264/x265 add a VBV (bufsize 2 × maxrate by default), vp9 becomes constrained quality, av1 refuses', () => {
    for (const codec of ['h264', 'hevc'] as const) {
      const a = args(codec, { rateControl: { mode: 'crf', value: 23, maxrateKbps: 1500 } });
      expect([valueOf(a, '-crf'), valueOf(a, '-maxrate'), valueOf(a, '-bufsize')]).toEqual(['23', '1500k', '3000k']);
      expect(valueOf(args(codec, { rateControl: { mode: 'crf', value: 23, maxrateKbps: 1500, bufsizeKbps: 1000 } }), '-bufsize')).toBe('1000k');
      expect(args(codec, { rateControl: { mode: 'crf', value: 23 } })).not.toContain('-maxrate');
      badRequest(() => args(codec, { rateControl: { mode: 'crf', value: 23, bufsizeKbps: 1000 } }));
    }
    expect(valueOf(args('vp9', { rateControl: { mode: 'crf', value: 30, maxrateKbps: 900 } }), '-b:v')).toBe('900k');
    badRequest(() => args('av1', { rateControl: { mode: 'crf', value: 30, maxrateKbps: 900 } }));
  });

  it('bitrate: target, maxrate and a default bufsize of 2 × maxrate', () => {
    for (const codec of ['h264', 'hevc', 'vp9'] as const) {
      const a = args(codec, { rateControl: { mode: 'bitrate', targetKbps: 2000, maxrateKbps: 3000 } });
      expect([valueOf(a, '-b:v'), valueOf(a, '-maxrate'), valueOf(a, '-bufsize')]).toEqual(['2000k', '3000k', '6000k']);
      expect(a).not.toContain('-crf');
    }
    // bufsize on its own: libvpx uses it, x264 would ignore it (with a warning), so it is dropped there.
    expect(valueOf(args('vp9', { rateControl: { mode: 'bitrate', targetKbps: 500, bufsizeKbps: 1000 } }), '-bufsize')).toBe('1000k');
    expect(args('h264', { rateControl: { mode: 'bitrate', targetKbps: 500, bufsizeKbps: 1000 } })).not.toContain('-bufsize');
  });

  it('av1 bitrate is VBR with the target only; crf 0 is refused (ffmpeg 5.1 reads it as unset)', () => {
    const a = args('av1', { rateControl: { mode: 'bitrate', targetKbps: 800, maxrateKbps: 800 } });
    expect(valueOf(a, '-b:v')).toBe('800k');
    expect(a).not.toContain('-maxrate');
    badRequest(() => args('av1', { rateControl: { mode: 'crf', value: 0 } }));
  });
});

describe('GOP', () => {
  it('lengthFrames goes to every encoder', () => {
    const g = { gop: { lengthFrames: 48 } };
    expect(valueOf(args('h264', g), '-g')).toBe('48');
    expect(params(args('hevc', g), '-x265-params').keyint).toBe('48');
    expect(valueOf(args('vp9', g), '-g')).toBe('48');
    expect(valueOf(args('av1', g), '-g')).toBe('48');
  });

  it('lengthSeconds × frame rate, default 2 s, the smaller of both', () => {
    const ntsc = { frameRate: { num: 30000, den: 1001 } };
    expect(valueOf(args('h264', { gop: { lengthSeconds: 2 } }, ntsc), '-g')).toBe('60');
    expect(valueOf(args('h264', {}), '-g')).toBe('50');
    expect(valueOf(args('h264', { gop: { lengthSeconds: 4, lengthFrames: 30 } }), '-g')).toBe('30');
    expect(valueOf(args('h264', { gop: { lengthSeconds: 1, lengthFrames: 300 } }), '-g')).toBe('25');
    badRequest(() => args('h264', { gop: { lengthSeconds: 2 } }, { frameRate: { num: 0, den: 1 } }));
    expect(valueOf(args('h264', { gop: { lengthFrames: 12 } }, { frameRate: { num: 0, den: 1 } }), '-g')).toBe('12');
  });

  it('sceneCutKeyframes:false turns scene-cut keyframes off', () => {
    const off = { gop: { lengthFrames: 10, sceneCutKeyframes: false } };
    expect(valueOf(args('h264', off), '-sc_threshold')).toBe('0');
    expect(params(args('hevc', off), '-x265-params').scenecut).toBe('0');
    expect(valueOf(args('vp9', off), '-keyint_min')).toBe('10');
    expect(args('h264', {})).not.toContain('-sc_threshold');
    expect(params(args('hevc', {}), '-x265-params').scenecut).toBeUndefined();
    expect(args('vp9', {})).not.toContain('-keyint_min');
  });

  it('closed by default, open on request', () => {
    expect(valueOf(args('h264', {}), '-x264-params')).toBe('open-gop=0');
    expect(valueOf(args('h264', { gop: { closed: false } }), '-x264-params')).toBe('open-gop=1');
    expect(params(args('hevc', {}), '-x265-params')['open-gop']).toBe('0');
    expect(params(args('hevc', { gop: { closed: false } }), '-x265-params')['open-gop']).toBe('1');
    expect(params(args('av1', {}), '-svtav1-params')['irefresh-type']).toBe('2');
    expect(params(args('av1', { gop: { closed: false } }), '-svtav1-params')['irefresh-type']).toBe('1');
  });
});

describe('profile, level, pixel format', () => {
  it('maps recipe spelling to each encoder', () => {
    const h = args('h264', { profile: 'high10', level: '3.1', pixelFormat: 'yuv420p10le' });
    expect([valueOf(h, '-profile:v'), valueOf(h, '-level:v'), valueOf(h, '-pix_fmt')]).toEqual(['high10', '3.1', 'yuv420p10le']);
    const x = args('hevc', { profile: 'main10', level: '3.1' });
    expect([valueOf(x, '-profile:v'), valueOf(x, '-pix_fmt'), params(x, '-x265-params')['level-idc']]).toEqual(['main10', 'yuv420p10le', '3.1']);
    const v = args('vp9', { profile: '2', level: '4.1' });
    expect([valueOf(v, '-profile:v'), valueOf(v, '-level:v'), valueOf(v, '-pix_fmt')]).toEqual(['2', '4.1', 'yuv420p10le']);
    const a = args('av1', { profile: 'main', level: '3.1', pixelFormat: 'yuv420p10le' });
    expect([valueOf(a, '-profile:v'), valueOf(a, '-level:v'), valueOf(a, '-pix_fmt')]).toEqual(['main', '31', 'yuv420p10le']);
  });

  it('defaults to yuv420p, or to the format a profile needs to be signalled', () => {
    for (const codec of DELIVERY_CODECS) {
      expect(ENCODERS[codec].defaultPixelFormat).toBe('yuv420p');
      expect(valueOf(args(codec), '-pix_fmt')).toBe('yuv420p');
    }
    // ProRes is 10-bit 4:2:2 (4:4:4 for 4444), DNxHR LB/SQ/HQ 8-bit 4:2:2; the profile is always explicit.
    expect([valueOf(args('prores'), '-pix_fmt'), valueOf(args('prores'), '-profile:v'), valueOf(args('dnxhd'), '-pix_fmt'), valueOf(args('dnxhd'), '-profile:v')]).toEqual(['yuv422p10le', 'proxy', 'yuv422p', 'dnxhr_lb']);
    expect([ENCODERS.prores.pixelFormatFor(spec('prores', { profile: '4444' }).recipe), ENCODERS.dnxhd.pixelFormatFor(spec('dnxhd', { profile: 'dnxhr_hqx' }).recipe)]).toEqual(['yuv444p10le', 'yuv422p10le']);
    badRequest(() => args('prores', { pixelFormat: 'yuv420p' }));
    badRequest(() => args('dnxhd', {}, { width: 128, height: 96, sourceWidth: 128, sourceHeight: 96 }));
    for (const codec of INTRA_CODECS) expect(() => Recipe.parse({ codec, rateControl: { mode: 'crf', value: 20 } })).toThrow(/intra-only/);
    const pf = (codec: Codec, profile: string): string => ENCODERS[codec].pixelFormatFor(spec(codec, { profile }).recipe);
    expect([pf('h264', 'high10'), pf('h264', 'high422'), pf('h264', 'high444'), pf('h264', 'high')]).toEqual(['yuv420p10le', 'yuv422p', 'yuv444p', 'yuv420p']);
    expect([pf('hevc', 'main10'), pf('hevc', 'main444-8'), pf('vp9', '1'), pf('vp9', '3')]).toEqual(['yuv420p10le', 'yuv444p', 'yuv444p', 'yuv444p10le']);
  });

  it('refuses pairs and levels the encoder cannot do', () => {
    badRequest(() => args('h264', { profile: 'high', pixelFormat: 'yuv422p' }));
    badRequest(() => args('hevc', { profile: 'main', pixelFormat: 'yuv420p10le' }));
    badRequest(() => args('vp9', { profile: '0', pixelFormat: 'yuv444p' }));
    badRequest(() => args('vp9', { profile: '1', pixelFormat: 'yuv420p' }));
    badRequest(() => args('av1', { profile: 'high' }));
    badRequest(() => args('hevc', { level: '1b' }));
    badRequest(() => args('vp9', { level: '1.2' }));
    badRequest(() => args('av1', { level: '1.1' }));
    badRequest(() => args('av1', {}, { width: 48, height: 48, sourceWidth: 48, sourceHeight: 48 }));
    badRequest(() => args('h264', {}, { width: 321, sourceWidth: 321 }));
    expect(valueOf(args('h264', { level: '1b' }), '-level:v')).toBe('1b');
    expect(valueOf(args('av1', { level: '6.2' }), '-level:v')).toBe('62');
  });
});

describe('scale, speed, threads', () => {
  it('scales only when the size differs, with the recipe scaler and the output format', () => {
    for (const codec of CODECS) expect(args(codec)).not.toContain('-vf');
    const a = args('h264', { scaler: 'lanczos', pixelFormat: 'yuv422p', profile: 'high422' }, { width: 160, height: 120 });
    expect(valueOf(a, '-vf')).toBe('scale=160:120:flags=lanczos,format=yuv422p');
    expect(valueOf(args('av1', {}, { width: 128, height: 96 }), '-vf')).toBe('scale=128:96:flags=bicubic,format=yuv420p');
  });

  it('square pixels: setsar=1 after the scaler, or alone at the source size', () => {
    expect(valueOf(args('h264', { squarePixels: true }, { width: 160, height: 120 }), '-vf')).toBe('scale=160:120:flags=bicubic,format=yuv420p,setsar=1');
    expect(valueOf(args('vp9', { squarePixels: true }), '-vf')).toBe('setsar=1');
    expect(args('h264', { squarePixels: false }, { width: 160, height: 120 }).join(' ')).not.toContain('setsar');
  });

  it('presets and speeds, with middle defaults', () => {
    expect(valueOf(args('h264', { preset: 'veryfast' }), '-preset')).toBe('veryfast');
    expect(valueOf(args('hevc', {}), '-preset')).toBe('medium');
    const v = args('vp9', { speed: 8 });
    expect([valueOf(v, '-cpu-used'), valueOf(v, '-deadline'), valueOf(v, '-row-mt')]).toEqual(['8', 'good', '1']);
    expect(valueOf(args('vp9'), '-cpu-used')).toBe('4');
    expect(valueOf(args('av1', { speed: 12 }), '-preset')).toBe('12');
    expect(valueOf(args('av1'), '-preset')).toBe('8');
  });

  it('threads reach each encoder its own way', () => {
    const four = { threads: 4 };
    expect(valueOf(args('h264', {}, four), '-threads')).toBe('4');
    expect(params(args('hevc', {}, four), '-x265-params').pools).toBe('4');
    expect(valueOf(args('vp9', {}, four), '-threads')).toBe('4');
    expect(params(args('av1', {}, four), '-svtav1-params').lp).toBe('4');
    badRequest(() => args('h264', {}, { threads: 0 }));
    badRequest(() => args('h264', {}, { threads: 1.5 }));
  });

  it('vp9 tile columns follow width (one per 256 px, log2)', () => {
    expect([160, 640, 1280, 1920, 3840, 16384].map(vp9TileColumns)).toEqual([0, 1, 2, 2, 3, 6]);
    expect(valueOf(args('vp9', {}, { width: 1920, height: 1080 }), '-tile-columns')).toBe('2');
  });
});

describe('argument safety', () => {
  const KNOWN = new Set([
    '-vf', '-c:v', '-profile:v', '-level:v', '-pix_fmt', '-crf', '-b:v', '-maxrate', '-bufsize', '-g', '-sc_threshold', '-keyint_min',
    '-x264-params', '-x265-params', '-svtav1-params', '-preset', '-threads', '-deadline', '-cpu-used', '-row-mt', '-tile-columns', '-vendor',
  ]);
  const variants: RecipeInput[] = [
    {},
    { rateControl: { mode: 'bitrate', targetKbps: 16, maxrateKbps: 1_000_000, bufsizeKbps: 2_000_000 } },
    { gop: { lengthSeconds: 0.1, sceneCutKeyframes: false, closed: false }, level: '5.1', scaler: 'neighbor' },
    { rateControl: { mode: 'crf', value: 1e-7 }, speed: 0 },
  ];

  it('every element is an option-value pair: known options, values that never start with "-" nor hold whitespace', () => {
    for (const codec of CODECS) {
      // The intra codecs take no rate control, GOP, level or speed: only the shape of the recipe they do take.
      for (const v of isIntraCodec(codec) ? [{}, { scaler: 'neighbor' } as RecipeInput] : variants) {
        if (codec === 'av1' && v.rateControl?.mode === 'crf') continue; // crf ≈ 0 is refused for av1
        const r = { ...v, speed: codec === 'vp9' || codec === 'av1' ? v.speed : undefined };
        const a = args(codec, r, { width: 640, height: 360 });
        expect(a.length % 2).toBe(0);
        a.forEach((el, i) => {
          expect(typeof el).toBe('string');
          expect(el).not.toMatch(/[\s\0]/);
          if (i % 2 === 0) expect(KNOWN.has(el), `${codec}: ${el}`).toBe(true);
          else expect(el.startsWith('-'), `${codec}: value ${el}`).toBe(false);
        });
      }
    }
  });

  it('a recipe that skipped validation cannot smuggle text in', () => {
    const evil = (codec: Codec, patch: Record<string, unknown>): ChunkEncodeSpec => {
      const s = spec(codec, {}, { width: 160, height: 120 });
      return { ...s, recipe: { ...s.recipe, ...patch } as Recipe };
    };
    badRequest(() => ENCODERS.h264.videoArgs(evil('h264', { profile: '-vf' })));
    badRequest(() => ENCODERS.h264.videoArgs(evil('h264', { scaler: 'lanczos,drawtext=text=x' })));
    badRequest(() => ENCODERS.hevc.videoArgs(evil('hevc', { level: '3.1:pools=999' })));
    badRequest(() => ENCODERS.h264.videoArgs(evil('h264', { preset: '__proto__' })));
    badRequest(() => ENCODERS.vp9.videoArgs(evil('vp9', { speed: -8 })));
    badRequest(() => ENCODERS.h264.videoArgs(evil('h264', { rateControl: { mode: 'crf', value: Number.NaN } })));
    badRequest(() => ENCODERS.h264.videoArgs(evil('h264', { pixelFormat: 'yuv420p -y' })));
  });
});

describe('registry and routing', () => {
  it('one module per codec with its raw muxer', () => {
    expect(CODECS.map((c) => encoderFor(c).encoder)).toEqual(['libx264', 'libx265', 'libvpx-vp9', 'libsvtav1', 'prores_ks', 'dnxhd']);
    expect(CODECS.map((c) => encoderFor(c).rawFormat)).toEqual([
      { format: 'h264', extension: 'h264', bitstreamFilter: 'h264_mp4toannexb' },
      { format: 'hevc', extension: 'hevc', bitstreamFilter: 'hevc_mp4toannexb' },
      { format: 'ivf', extension: 'ivf' },
      { format: 'ivf', extension: 'ivf' },
      // No elementary stream for the intra codecs: raw output is refused at admission (containers mov, mkv).
      { format: 'mov', extension: 'mov' },
      { format: 'mov', extension: 'mov' },
    ]);
    expect(INTRA_CODECS.map((c) => [encoderFor(c).chunkMuxer, encoderFor(c).containers, encoderFor(c).forcedKeyframeArgs])).toEqual([
      ['mov', ['mov', 'mkv'], null],
      ['mov', ['mov', 'mkv'], null],
    ]);
    expect(() => encoderFor('mpeg2' as Codec)).toThrow(VpipeError);
  });

  it('shapeFor: more CPU for bigger frames and costlier codecs', () => {
    expect(shapeFor('h264', 640, 360)).toBe(SHAPES.small);
    expect(shapeFor('av1', 1920, 1080)).toBe(SHAPES.xlarge);
    expect(shapeFor('av1', 1920, 1080).cpus).toBeGreaterThan(shapeFor('h264', 640, 360).cpus);
    const sizes: [number, number][] = [[320, 240], [640, 360], [1280, 720], [1920, 1080], [3840, 2160]];
    for (const [w, h] of sizes) {
      expect(shapeFor('hevc', w, h).cpus).toBeGreaterThan(shapeFor('h264', w, h).cpus);
      expect(shapeFor('av1', w, h).cpus).toBeGreaterThan(shapeFor('h264', w, h).cpus);
    }
    for (const codec of CODECS) {
      const cpus = sizes.map(([w, h]) => shapeFor(codec, w, h).cpus);
      expect(cpus).toEqual([...cpus].sort((a, b) => a - b));
    }
    expect(() => shapeFor('h264', 0, 360)).toThrow(VpipeError);
  });
});

describe('probe failure handling (fake runners)', () => {
  const result = (stdout: string, code = 0): RunToolResult => ({ stdout, stderr: '', code, signal: null, durationMs: 1 });

  it('an encoder missing from the build is unavailable with a reason', async () => {
    const run: ToolRunner = async () => result(' V....D libx264              libx264 H.264\n');
    const all = await probeAll(run);
    expect(all.hevc).toMatchObject({ available: false, version: '' });
    expect(all.hevc.reason).toMatch(/no libx265/);
  });

  it('never throws, and does not cache a failure', async () => {
    let calls = 0;
    const run: ToolRunner = async () => {
      calls++;
      throw new VpipeError('TOOL_MISSING', 'ffmpeg not found');
    };
    expect(await ENCODERS.av1.probe(run)).toMatchObject({ available: false, reason: expect.stringMatching(/not found/) });
    await ENCODERS.av1.probe(run);
    expect(calls).toBe(2);
  });

  it('a failing trial encode makes the encoder unavailable', async () => {
    const run: ToolRunner = async (_tool, a) => (a.includes('-encoders') ? result(' V..... libsvtav1  SVT-AV1\n') : result('', 1));
    expect(await ENCODERS.av1.probe(run)).toMatchObject({ available: false, reason: expect.stringMatching(/trial encode failed/) });
  });
});
