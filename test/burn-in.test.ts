/**
 * Burn-ins (encoders/burn-in): the timecode arithmetic against known SMPTE values, the escaping
 * against a model of ffmpeg's two-level parsing, and then ffmpeg 5.1 itself on tiny 320x180 gray
 * frames read back as raw luma. Pixel identity stands in for reading the text (no OCR):
 *
 * - drawtext's own drop-frame counting equals timecode.ts: each burned label is pixel-identical
 *   to the label timecode.ts computes, drawn as plain text from a file the test writes;
 * - a video burned in chunks, each chunk its own ffmpeg run started at its first source frame,
 *   is pixel-identical to one pass over the whole (the 29.97 source at 00:59:59;28);
 * - every nasty string renders exactly like the same text written to a file by the test, ffmpeg
 *   exits 0, the frame count and the rest of the frame are untouched.
 *
 * The background is flat gray, so any difference between two frames is the burn-in itself.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANCHORS,
  burnInLayout,
  DEFAULT_FONT_FILE,
  drawtextFilters,
  escapeOptionValue,
  formatTimecode,
  frameToTimecode,
  parseTimecode,
  timecodeRate,
  timecodeToFrame,
  type BurnIn,
  type FrameRate,
} from '../encoders/burn-in/index.js';
import { VpipeError } from '../runtime/core/mod.js';
import { runTool } from '../runtime/media/mod.js';
import { expectVpipeError } from './helpers/errors.js';

const W = 320;
const H = 180;
const FRAME_BYTES = W * H;
const NTSC: FrameRate = { num: 30000, den: 1001 };
const NTSC60: FrameRate = { num: 60000, den: 1001 };
const PAL: FrameRate = { num: 25, den: 1 };
const rate = (r: FrameRate) => timecodeRate(r);
const tcAt = (n: number, start: string, r: FrameRate) => formatTimecode(frameToTimecode(n, start, rate(r)));

/** The BAD_REQUEST a synchronous call throws (the shared helper takes promises). */
const thrown = (fn: () => unknown): Promise<VpipeError> => expectVpipeError(Promise.resolve().then(fn), 'BAD_REQUEST');

describe('timecode arithmetic', () => {
  it('counts 29.97 drop-frame: labels 00 and 01 skipped each minute except every tenth', () => {
    expect(tcAt(1800, '00:00:00;00', NTSC)).toBe('00:01:00;02');
    expect(tcAt(17982, '00:00:00;00', NTSC)).toBe('00:10:00;00');
    expect(tcAt(1, '00:00:59;29', NTSC)).toBe('00:01:00;02');
    expect(tcAt(1, '00:09:59;29', NTSC)).toBe('00:10:00;00');
    expect(tcAt(1, '00:10:59;29', NTSC)).toBe('00:11:00;02');
    // The source: 01:00:00 is minute 60, a tenth minute, so ;00 and ;01 exist there.
    expect([0, 1, 2, 3].map((n) => tcAt(n, '00:59:59;28', NTSC))).toEqual(['00:59:59;28', '00:59:59;29', '01:00:00;00', '01:00:00;01']);
    expect([1800, 1801, 1802].map((n) => tcAt(n, '00:59:59;28', NTSC))).toEqual(['01:00:59;28', '01:00:59;29', '01:01:00;02']);
    expect(tcAt(2, '00:00:59;28', NTSC)).toBe('00:01:00;02');
    // A real hour of 29.97 video is 107892 frames: 01:00:00;00 lands exactly on it.
    expect(timecodeToFrame('01:00:00;00', rate(NTSC))).toBe(107_892);
    expect(timecodeToFrame('00:59:59:29', rate(NTSC))).toBe(107_999); // non-drop at 29.97 is legal, it just drifts
  });

  it('counts 59.94 drop-frame with four labels skipped', () => {
    expect(tcAt(1, '00:00:59;59', NTSC60)).toBe('00:01:00;04');
    expect(tcAt(3600, '00:00:00;00', NTSC60)).toBe('00:01:00;04');
    expect(tcAt(35964, '00:00:00;00', NTSC60)).toBe('00:10:00;00');
    expect(timecodeToFrame('01:00:00;00', rate(NTSC60))).toBe(215_784);
  });

  it('counts non-drop at 24, 25, 30 and wraps at 24 hours', () => {
    expect(tcAt(1, '00:00:59:24', PAL)).toBe('00:01:00:00');
    expect(tcAt(90_000, '00:00:00:00', PAL)).toBe('01:00:00:00');
    expect(tcAt(1, '00:00:00:23', { num: 24000, den: 1001 })).toBe('00:00:01:00');
    expect(tcAt(1, '23:59:59:24', PAL)).toBe('00:00:00:00');
    expect(tcAt(1, '23:59:59;29', NTSC)).toBe('00:00:00;00');
    expect(tcAt(5, '23:59:59;59', NTSC60)).toBe('00:00:00;04');
    expect(tcAt(2_589_408, '00:00:00;00', NTSC)).toBe('00:00:00;00'); // one DF day
  });

  it('round-trips frame → timecode → frame over a day (sampled), never producing a dropped label', () => {
    const cases: [FrameRate, boolean][] = [
      [NTSC, true],
      [NTSC60, true],
      [PAL, false],
      [{ num: 24, den: 1 }, false],
      [{ num: 30, den: 1 }, false],
      [{ num: 24000, den: 1001 }, false],
    ];
    for (const [fr, df] of cases) {
      const r = rate(fr);
      const start = df ? '00:00:00;00' : '00:00:00:00';
      const day = r.fps * 86_400 - (df ? (r.fps / 30) * 2 * 1296 : 0);
      let previous = -1;
      // Every frame around each minute and ten-minute boundary, plus a stride over the whole day.
      const samples = new Set<number>();
      for (let n = 0; n < day; n += 997) samples.add(n);
      for (let m = 0; m < 1440; m += 7) {
        const at = timecodeToFrame(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00${df ? ';' : ':'}${m % 10 && df ? String((r.fps / 30) * 2).padStart(2, '0') : '00'}`, r);
        for (let k = -6; k <= 6; k++) if (at + k >= 0 && at + k < day) samples.add(at + k);
      }
      for (const n of [...samples].sort((a, b) => a - b)) {
        const label = formatTimecode(frameToTimecode(n, start, r));
        expect(timecodeToFrame(label, r), `${fr.num}/${fr.den} frame ${n} → ${label}`).toBe(n);
        expect(n).toBeGreaterThan(previous);
        previous = n;
      }
      expect(formatTimecode(frameToTimecode(day - 1, start, r))).toBe(`23:59:59${df ? ';' : ':'}${String(r.fps - 1)}`);
    }
  });

  it('parses the separators ffmpeg does: ":" non-drop, ";" "." "," drop-frame', async () => {
    expect(parseTimecode('01:02:03:04')).toEqual({ hours: 1, minutes: 2, seconds: 3, frames: 4, dropFrame: false });
    for (const sep of [';', '.', ',']) expect(parseTimecode(`01:02:03${sep}04`).dropFrame).toBe(true);
    expect(formatTimecode(parseTimecode('01:02:03.04'))).toBe('01:02:03;04');
    for (const bad of ['1:00:00:00', '24:00:00:00', '00:60:00:00', '00:00:60:00', '00:00:00', '00:00:00:00:00', '00-00-00-00', '']) {
      const e = await thrown(() => parseTimecode(bad, 'burnIn.timecode.start'));
      expect(e.details?.[0]?.path).toBe('burnIn.timecode.start');
    }
  });

  it('refuses drop-frame where it does not exist, and labels a rate cannot have', async () => {
    const e = await thrown(() => frameToTimecode(0, '00:00:00;00', rate(PAL), 'burnIn.timecode.start'));
    expect(e.details).toEqual([
      { path: 'burnIn.timecode.start', message: "drop-frame timecode exists only at 29.97 and 59.94 fps; this source is 25 fps: use ':' (non-drop)" },
    ]);
    // ffmpeg itself accepts ';' at 30/1 and 60/1 (any multiple of 30): we do not.
    expect((await thrown(() => timecodeToFrame('00:00:00;00', rate({ num: 30, den: 1 })))).message).toMatch(/this source is 30 fps/);
    expect((await thrown(() => timecodeToFrame('00:00:00;00', rate({ num: 24000, den: 1001 })))).message).toMatch(/this source is 23\.976 fps/);
    expect((await thrown(() => timecodeToFrame('00:01:00;01', rate(NTSC)))).message).toMatch(/does not exist in drop-frame/);
    expect((await thrown(() => timecodeToFrame('00:01:00;03', rate(NTSC60)))).message).toMatch(/does not exist in drop-frame/);
    expect(timecodeToFrame('00:10:00;00', rate(NTSC))).toBe(17982);
    expect((await thrown(() => timecodeToFrame('00:00:00:25', rate(PAL)))).message).toMatch(/frame 25 does not exist at 25 fps/);
    expect((await thrown(() => timecodeRate({ num: 25, den: 2 }))).message).toMatch(/integer frame rate/);
    expect((await thrown(() => timecodeRate({ num: 120, den: 1 }))).message).toMatch(/1–99 fps/);
    expect(rate({ num: 60000, den: 2002 })).toMatchObject({ fps: 30, dropFrameAllowed: true });
    expect(rate({ num: 50, den: 1 })).toMatchObject({ fps: 50, dropFrameAllowed: false });
  });
});

/** ffmpeg's av_get_token (libavutil/avstring.c), to check escapeOptionValue against the real rules. */
function avGetToken(s: string, term: string): [string, string] {
  let p = 0;
  while (p < s.length && ' \n\t\r'.includes(s[p]!)) p++;
  let out = '';
  let end = 0;
  while (p < s.length && !term.includes(s[p]!)) {
    const c = s[p++]!;
    if (c === '\\' && p < s.length) {
      out += s[p++];
      end = out.length;
    } else if (c === "'") {
      while (p < s.length && s[p] !== "'") out += s[p++];
      if (p < s.length) {
        p++;
        end = out.length;
      }
    } else out += c;
  }
  while (out.length > end && ' \n\t\r'.includes(out[out.length - 1]!)) out = out.slice(0, -1);
  return [out, s.slice(p)];
}

describe('escaping for the filter graph', () => {
  it('survives both levels of ffmpeg parsing unchanged', () => {
    for (const v of ["a:b'c\\d,e[f];g", ' lead', 'trail ', '%{pts}', '[out];[in]', '\\', "'", 'é 日本', '/usr/share/fonts/x.ttf']) {
      // Graph level: a filter's arguments run to the first unescaped [ ] , ;
      const [args, restOfGraph] = avGetToken(`x=${escapeOptionValue(v)}:y=1`, '[],;');
      expect(restOfGraph).toBe('');
      // Option level: key=value pairs cut at ':'.
      const [value, rest] = avGetToken(args.slice('x='.length), ':');
      expect(value).toBe(v);
      expect(rest).toBe(':y=1');
    }
  });
});

describe('drawtext chains (no ffmpeg)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vpipe-burn-in-unit-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  const base: BurnIn = { position: 'top-left', fontSize: { px: 16 }, boxOpacity: 0.5 };

  it('keeps request text out of the graph: it is in files, read literally', async () => {
    const text = "x'y:z\\w,drawbox=c=red[out];%{pts}";
    const chain = await drawtextFilters({ ...base, lines: [{ text }, { text: 'first-row\nsecond-row' }] }, { startFrame: 0 }, work);
    for (const piece of ['drawbox', '%{pts}', 'first-row', 'second-row', "x'y"]) expect(chain.filter).not.toContain(piece);
    expect(chain.filter!.split(/(?<!\\),/)).toHaveLength(3);
    expect(await Promise.all(chain.files.map((f) => readFile(f, 'utf8')))).toEqual([text, 'first-row', 'second-row']);
    expect(chain.filter).toContain('expansion=none');
  });

  it('starts each chunk at its own timecode and frame number', async () => {
    const chain = await drawtextFilters({ ...base, timecode: { start: '00:59:59;28', frameRate: NTSC }, frameCounter: true }, { startFrame: 1802 }, work);
    expect(chain.filter).toContain(`timecode=${escapeOptionValue('01:01:00;02')}:timecode_rate=30000/1001:tc24hmax=1`);
    expect(chain.filter).toContain('start_number=1802');
    expect(chain.dir).toBeNull();
  });

  it('refuses what it cannot burn literally, naming the field', async () => {
    const refuse = async (b: BurnIn, field: string, message: RegExp) => {
      const e = await expectVpipeError(drawtextFilters(b, { startFrame: 0 }, work), 'BAD_REQUEST');
      expect(e.details?.[0]?.path).toBe(field);
      expect(e.message).toMatch(message);
    };
    await refuse({ ...base, timecode: { start: '00:00:00;00', frameRate: PAL } }, 'burnIn.timecode.start', /drop-frame timecode exists only at 29\.97 and 59\.94 fps; this source is 25 fps: use ':' \(non-drop\)/);
    await refuse({ ...base, lines: [{ text: 'ok' }, { text: 'x'.repeat(1001) }] }, 'burnIn.lines[1].text', /1001 characters; at most 1000/);
    for (const c of ['\t', '\r', '\u0007', '\u007f', '\u0085']) await refuse({ ...base, lines: [{ text: `a${c}b` }] }, 'burnIn.lines[0].text', /control character/);
    await refuse({ ...base, lines: [{ text: 'a\ud800b' }] }, 'burnIn.lines[0].text', /surrogate/);
    await refuse({ ...base, position: 'top' as never }, 'burnIn.position', /unknown position/);
    await refuse({ ...base, boxOpacity: 1.5 }, 'burnIn.boxOpacity', /from 0 to 1/);
    await refuse({ ...base, fontSize: { px: 2 } }, 'burnIn.fontSize', /outside/);
    await refuse({ ...base, lines: [{ text: '\n'.repeat(40) }] }, 'burnIn.lines', /at most 32/);
    // 1,000 characters (code points, so 1,000 of 日 too) are accepted.
    expect((await drawtextFilters({ ...base, lines: [{ text: '日'.repeat(1000) }] }, { startFrame: 0 }, work)).files).toHaveLength(1);
    await expectVpipeError(drawtextFilters({ ...base, lines: [{ text: 'x' }], fontFile: '/nonexistent/font.ttf' }, { startFrame: 0 }, work), 'TOOL_MISSING');
  });
});

// ---- ffmpeg 5.1 ------------------------------------------------------------------------------

interface RenderOpts {
  frameRate?: FrameRate;
  frames: number;
  /** Source frames to drop before the filter chain: the chunk's first frame. */
  trimStart?: number;
}

let dir: string;
let runs = 0;

/** Renders `frames` frames of flat gray through `vf` and returns them as 8-bit luma. */
async function render(vf: string | null, o: RenderOpts): Promise<Buffer[]> {
  const fr = o.frameRate ?? NTSC;
  const out = path.join(dir, `render-${runs++}.gray`);
  const chain = [o.trimStart ? `trim=start_frame=${o.trimStart},setpts=PTS-STARTPTS` : null, vf, 'format=gray'].filter((x) => x).join(',');
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=gray:s=${W}x${H}:r=${fr.num}/${fr.den}`, '-vf', chain, '-frames:v', String(o.frames), '-f', 'rawvideo', out], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  const bytes = await readFile(out);
  expect(bytes.length % FRAME_BYTES).toBe(0);
  return Array.from({ length: bytes.length / FRAME_BYTES }, (_, i) => bytes.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
}

const L16 = burnInLayout(16);
const INSET = L16.marginPx + L16.padPx;

/**
 * The test's own reference drawing: each frame j shows `texts[j]`, written to a file here and drawn
 * top-left with the same font, size and box the library uses, row by row at the documented step.
 */
async function referenceFrames(texts: string[], opts: { expansion?: 'none' | 'normal' } = {}): Promise<Buffer[]> {
  const filters: string[] = [];
  for (const [j, text] of texts.entries()) {
    for (const [i, row] of text.split('\n').entries()) {
      const file = path.join(dir, `ref-${runs}-${j}-${i}.txt`);
      await writeFile(file, row);
      filters.push(
        `drawtext=fontfile=${DEFAULT_FONT_FILE}:textfile=${file}:expansion=${opts.expansion ?? 'none'}:fontsize=16:fontcolor=white:box=1:boxcolor=black@0.500:boxborderw=${L16.padPx}` +
          `:x=${INSET}:y=${INSET + i * L16.rowStepPx}:enable='eq(n,${j})'`,
      );
    }
  }
  return render(filters.join(','), { frames: texts.length });
}

const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => !!a && !!b && a.equals(b);

describe('burned by ffmpeg 5.1', () => {
  let gray: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vpipe-burn-in-'));
    [gray] = (await render(null, { frames: 1 })) as [Buffer];
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const chainFor = async (b: BurnIn, startFrame: number) => (await drawtextFilters(b, { startFrame, frameHeight: H }, dir)).filter!;
  const tcOnly = (start: string, frameRate: FrameRate): BurnIn => ({ position: 'top-left', fontSize: { px: 16 }, boxOpacity: 0.5, timecode: { start, frameRate } });

  it("draws each frame's timecode as timecode.ts computes it (drop-frame at 29.97 and 59.94, 24 h wrap)", async () => {
    const cases: { frameRate: FrameRate; start: string; startFrame: number; expect: string[] }[] = [
      { frameRate: NTSC, start: '00:59:59;28', startFrame: 0, expect: ['00:59:59;28', '00:59:59;29', '01:00:00;00', '01:00:00;01'] },
      // A chunk starting at the frame 1800; drawtext counts on across a dropped pair.
      { frameRate: NTSC, start: '00:59:59;28', startFrame: 1800, expect: ['01:00:59;28', '01:00:59;29', '01:01:00;02'] },
      { frameRate: NTSC, start: '00:00:59;28', startFrame: 0, expect: ['00:00:59;28', '00:00:59;29', '00:01:00;02'] },
      { frameRate: NTSC60, start: '00:00:59;58', startFrame: 0, expect: ['00:00:59;58', '00:00:59;59', '00:01:00;04'] },
      { frameRate: NTSC, start: '23:59:59;29', startFrame: 0, expect: ['23:59:59;29', '00:00:00;00'] },
      { frameRate: PAL, start: '00:00:59:24', startFrame: 0, expect: ['00:00:59:24', '00:01:00:00'] },
    ];
    const burned: Buffer[] = [];
    for (const c of cases) {
      expect(c.expect.map((_, k) => tcAt(c.startFrame + k, c.start, c.frameRate))).toEqual(c.expect);
      const frames = await render(await chainFor(tcOnly(c.start, c.frameRate), c.startFrame), { frameRate: c.frameRate, frames: c.expect.length });
      expect(frames).toHaveLength(c.expect.length);
      burned.push(...frames);
    }
    const labels = cases.flatMap((c) => c.expect);
    const reference = await referenceFrames(labels);
    labels.forEach((label, i) => expect(same(burned[i], reference[i]), `frame showing ${label}`).toBe(true));
    // Not vacuous: neighbouring labels look different.
    expect(same(reference[0], reference[1])).toBe(false);
  });

  it('burns per chunk exactly what one pass burns: the 29.97 source at 00:59:59;28, joins at 30 and 60', async () => {
    const burnIn: BurnIn = {
      position: 'bottom-right',
      fontSize: { fractionOfHeight: 0.09 },
      boxOpacity: 0.6,
      lines: [{ text: 'A001_C002: CONFIDENTIAL – Jo' }],
      timecode: { start: '00:59:59;28', frameRate: NTSC },
      frameCounter: true,
    };
    const whole = await render(await chainFor(burnIn, 0), { frames: 100 });
    expect(whole).toHaveLength(100);
    const chunks: [number, number][] = [
      [0, 30],
      [30, 60],
      [60, 100],
    ];
    const joined: Buffer[] = [];
    for (const [s, e] of chunks) joined.push(...(await render(await chainFor(burnIn, s), { frames: e - s, trimStart: s })));
    expect(joined).toHaveLength(100);
    const differing = whole.map((f, i) => i).filter((i) => !same(whole[i], joined[i]));
    expect(differing).toEqual([]);
    // Every frame differs from the next (timecode and counter move), and a chunk started without
    // its own timecode would not match: the comparison can fail.
    for (let i = 1; i < 100; i++) expect(same(whole[i - 1], whole[i])).toBe(false);
    const naive = await render(await chainFor(burnIn, 0), { frames: 1, trimStart: 60 });
    expect(same(naive[0], whole[60])).toBe(false);
  });

  // Each renders literally: equal to the test's own file-drawn text.
  const thousand = Array.from({ length: 100 }, (_, i) => `${i % 10}:'\\%{,;[]`.slice(0, 10)).join('');
  const NASTY = [
    'a:b:c',
    "it's 'quoted'",
    'back\\slash \\n \\\\ \\',
    '%{pts} %{localtime} %{eif:1+1:d}',
    'line one\nline two',
    ',drawbox=c=red:t=fill[out];[in]null,',
    '[out]',
    '  spaces around  ',
    'Café – 日本',
    thousand,
  ];

  it('renders every nasty string literally without touching the filter graph', async () => {
    expect([...thousand]).toHaveLength(1000);
    const burnIn = (text: string): BurnIn => ({ position: 'top-left', fontSize: { px: 16 }, boxOpacity: 0.5, lines: [{ text }] });
    const burned: Buffer[] = [];
    for (const text of NASTY) {
      const frames = await render(await chainFor(burnIn(text), 0), { frames: 2 });
      // ffmpeg exited 0 (render checks), the graph still yields exactly the frames asked for, and
      // below the text nothing was drawn (no injected drawbox, no extra chain).
      expect(frames, text).toHaveLength(2);
      for (const f of frames) expect(f.subarray(FRAME_BYTES / 2).equals(gray.subarray(FRAME_BYTES / 2)), text).toBe(true);
      expect(same(frames[0], frames[1])).toBe(true);
      burned.push(frames[0]!);
    }
    const reference = await referenceFrames(NASTY);
    NASTY.forEach((text, i) => expect(same(burned[i], reference[i]), JSON.stringify(text.slice(0, 40))).toBe(true));
    // Not vacuous: distinct texts give distinct pictures, and with expansion on '%{pts}' would draw a time.
    expect(same(burned[0], reference[1])).toBe(false);
    const expanded = await referenceFrames([NASTY[3]!], { expansion: 'normal' });
    expect(same(expanded[0], burned[3])).toBe(false);
  });

  it('escapes its own paths: a font and work dir with : \' \\ , [ ] ; in their names', async () => {
    const weird = path.join(dir, "we:ird'dir\\,[x];y %{n}");
    await mkdir(weird);
    const font = path.join(weird, "font:'x.ttf");
    await copyFile(DEFAULT_FONT_FILE, font);
    const chain = await drawtextFilters({ position: 'top-left', fontSize: { px: 16 }, boxOpacity: 0.5, lines: [{ text: 'a:b:c' }], fontFile: font }, { startFrame: 0 }, weird);
    expect(chain.files[0]!.startsWith(weird)).toBe(true);
    const [frame] = await render(chain.filter, { frames: 1 });
    const [reference] = await referenceFrames(['a:b:c']);
    expect(same(frame, reference)).toBe(true);
  });

  it('places the block at each of the nine anchors', async () => {
    const burnIn = (position: BurnIn['position']): BurnIn => ({ position, fontSize: { px: 16 }, boxOpacity: 1, lines: [{ text: 'Ag' }], frameCounter: true });
    const third = (v: number, size: number) => Math.min(2, Math.floor((3 * v) / size));
    for (const [k, anchor] of ANCHORS.entries()) {
      const [frame] = await render(await chainFor(burnIn(anchor), 0), { frames: 1 });
      // Bounding box of what was drawn: it must sit in the anchor's ninth of the frame.
      let [x0, y0, x1, y1] = [W, H, -1, -1];
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          if (frame![y * W + x] === gray[y * W + x]) continue;
          [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        }
      }
      expect(x1, anchor).toBeGreaterThan(x0);
      const [row, col] = [Math.floor(k / 3), k % 3];
      expect([third(y0, H), third(y1, H), third(x0, W), third(x1, W)], anchor).toEqual([row, row, col, col]);
    }
  });
});
