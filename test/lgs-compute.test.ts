/**
 * LGS's pure maths on synthetic curves: PCHIP against scipy's values, the
 * monotone curves (what is dropped and why), the hull (dominated points never
 * on it, switching resolution between measured points), and the rungs (rising
 * strictly in bitrate and quality, minStep apart, under the cap, never above
 * maxHeight or the source, resolution never falling), with their recipes.
 */
import { describe, expect, it } from 'vitest';
import {
  APPLE_LADDER,
  buildCurves,
  buildLadder,
  chooseRungs,
  CRF_GRID,
  fixedLadderFor,
  hullQualityAt,
  Pchip,
  predictFixedLadder,
  type QualityPoint,
  RateQualityCurve,
  resolveConstraints,
  type RungConstraints,
  upperHull,
} from '../actors/lgs/compute/index.js';
import { LADDER_DEFAULTS, LadderResult } from '../schemas/lgs.js';
import { Recipe } from '../schemas/ves.js';
import { modelQuality, SYNTHETIC_RESOLUTIONS, syntheticPoints } from './helpers/lgs-curves.js';

const DEFAULTS: RungConstraints = { ...LADDER_DEFAULTS };
const curvesOf = (points: QualityPoint[]) => buildCurves(points).curves;
/** How far a curve may rise above the hull's chord between two of its samples. */
const SAMPLING = 0.01;
const sameRes = (a: { width: number; height: number }, b: { width: number; height: number }) => a.width === b.width && a.height === b.height;

describe('PCHIP', () => {
  // Reference values from scipy 1.17's PchipInterpolator on the same data.
  it('matches scipy inside the data, at a flat stretch and across a local maximum', () => {
    const p = new Pchip([1, 2, 4, 5, 7], [10, 30, 35, 36, 60]);
    const want = [22.621058558558556, 33.375307125307124, 35.45951704545455, 43.58854166666667, 58.08918229166667];
    [1.5, 3, 4.5, 6, 6.9].forEach((x, i) => expect(p.at(x)).toBeCloseTo(want[i]!, 10));
    expect(p.integral(1.2, 6.5)).toBeCloseTo(183.2976377547647, 9);
    const peak = new Pchip([0, 1, 3], [0, 2, 1]);
    expect(peak.at(0.5)).toBeCloseTo(1.3541666666666667, 12);
    expect(peak.at(2)).toBeCloseTo(1.875, 12);
    expect(peak.integral(0, 3)).toBeCloseTo(4.736111111111111, 12);
  });

  it('never overshoots rising data and is a straight line through two points', () => {
    const p = new Pchip([0, 1, 2, 3], [0, 0.1, 10, 10.1]);
    let last = -Infinity;
    for (let x = 0; x <= 3; x += 0.01) {
      const y = p.at(x);
      expect(y).toBeGreaterThanOrEqual(last - 1e-12);
      expect(y).toBeLessThanOrEqual(10.1 + 1e-12);
      last = y;
    }
    const line = new Pchip([2, 6], [1, 9]);
    expect(line.at(3)).toBeCloseTo(3, 12);
    expect(line.integral(2, 6)).toBeCloseTo(20, 12);
  });

  it('refuses x that does not increase', () => {
    expect(() => new Pchip([1, 1], [0, 1])).toThrow(/increase strictly/);
    expect(() => new Pchip([1], [0])).toThrow(/at least 2/);
  });
});

describe('rate–quality curves', () => {
  const res = { width: 1280, height: 720 };
  const pt = (crf: number, kbps: number, quality: number): QualityPoint => ({ ...res, crf, kbps, quality });

  it('drops a point that costs more bits for no more quality, and says why', () => {
    const { curves } = buildCurves([pt(30, 500, 70), pt(26, 800, 78), pt(24, 1000, 77.5), pt(22, 1300, 84)]);
    const c = curves[0]!;
    expect(c.points.map((p) => p.crf)).toEqual([30, 26, 22]);
    expect(c.dropped).toHaveLength(1);
    expect(c.dropped[0]).toMatchObject({ crf: 24, reason: expect.stringMatching(/^dominated/) });
  });

  it('drops a CRF out of order with its bitrate', () => {
    const c = buildCurves([pt(30, 500, 70), pt(31, 800, 78), pt(22, 1300, 84)]).curves[0]!;
    expect(c.points.map((p) => p.crf)).toEqual([30, 22]);
    expect(c.dropped[0]!.reason).toMatch(/CRF out of order/);
  });

  it('skips a resolution left with one usable point', () => {
    const set = buildCurves([pt(30, 500, 70), pt(26, 800, 60), { width: 640, height: 360, crf: 30, kbps: 300, quality: 50 }, { width: 640, height: 360, crf: 26, kbps: 450, quality: 60 }]);
    expect(set.curves.map((c) => c.label)).toEqual(['640x360']);
    expect(set.skipped).toEqual([expect.objectContaining({ width: 1280, height: 720, reason: expect.stringMatching(/1 usable point/) })]);
    expect(set.skipped[0]!.dropped).toHaveLength(2);
  });

  it('interpolates quality and CRF in log bitrate through the measurements, and inverts both', () => {
    const c = buildCurves([pt(34, 400, 60), pt(28, 800, 75), pt(22, 1600, 86), pt(16, 3200, 93)]).curves[0]!;
    expect(c.qualityAt(800)).toBeCloseTo(75, 10);
    expect(c.crfAt(1600)).toBeCloseTo(22, 10);
    // Exactly 6 CRF per doubling: CRF is linear in log bitrate, so PCHIP gives the line.
    expect(c.crfAt(400 * Math.SQRT2)).toBeCloseTo(31, 8);
    const q = c.qualityAt(1100);
    expect(q).toBeGreaterThan(75);
    expect(q).toBeLessThan(86);
    expect(c.kbpsAtQuality(q)).toBeCloseTo(1100, 4);
    expect(c.kbpsAtCrf(25)).toBeCloseTo(800 * Math.SQRT2, 4);
    expect(c.kbpsAtQuality(95)).toBeNull(); // never extrapolated
    expect(c.kbpsAtQuality(80, { min: 1700, max: 3200 })).toBeNull(); // reached only below the window
  });
});

describe('upper convex hull', () => {
  const curves = curvesOf(syntheticPoints());

  it('is concave in log bitrate and rises strictly in both bitrate and quality', () => {
    const hull = upperHull(curves);
    expect(hull.length).toBeGreaterThan(10);
    for (let i = 1; i < hull.length; i++) {
      expect(hull[i]!.kbps).toBeGreaterThan(hull[i - 1]!.kbps);
      expect(hull[i]!.quality).toBeGreaterThan(hull[i - 1]!.quality);
    }
    const slope = (i: number) => (hull[i]!.quality - hull[i - 1]!.quality) / (Math.log(hull[i]!.kbps) - Math.log(hull[i - 1]!.kbps));
    for (let i = 2; i < hull.length; i++) expect(slope(i)).toBeLessThanOrEqual(slope(i - 1) + 1e-9);
  });

  it('lies on or above every curve (to its sampling), and every vertex on its own curve', () => {
    const hull = upperHull(curves);
    for (const c of curves) {
      for (const p of c.sample(200)) {
        const h = hullQualityAt(hull, p.kbps);
        // Between two of its 48 samples a concave stretch of curve bulges over the chord by < 0.01.
        if (h !== null) expect(h).toBeGreaterThanOrEqual(p.quality - SAMPLING);
      }
    }
    for (const v of hull) {
      const own = curves.find((c) => sameRes(c, v))!;
      expect(own.qualityAt(v.kbps)).toBeCloseTo(v.quality, 9);
    }
  });

  it('never holds a dominated point', () => {
    const all = curves.flatMap((c) => c.sample(48));
    const hull = upperHull(curves);
    for (const v of hull) {
      const dominating = all.find((p) => p.kbps <= v.kbps && p.quality > v.quality + 1e-9);
      expect(dominating, `${v.width}x${v.height} at ${v.kbps} kb/s`).toBeUndefined();
    }
    // A resolution that is everywhere worse than another never appears.
    const worse = { width: 1024, height: 576, ceiling: 60, midKbps: 2000 };
    const withWorse = curvesOf(syntheticPoints([...SYNTHETIC_RESOLUTIONS, worse]));
    expect(upperHull(withWorse).some((p) => p.width === 1024)).toBe(false);
  });

  it('switches resolution between measured points and says which resolution each point is on', () => {
    const hull = upperHull(curves);
    const order = hull.map((p) => p.height).filter((h, i, a) => i === 0 || a[i - 1] !== h);
    expect(order).toEqual([234, 360, 540, 720, 1080]);
    const switches = hull.filter((p, i) => i > 0 && p.height !== hull[i - 1]!.height);
    expect(switches.some((p) => !p.measured)).toBe(true);
    expect(hull.some((p) => p.measured)).toBe(true);
  });

  it('reads curves only inside the bitrate window', () => {
    const hull = upperHull(curves, { min: 300, max: 2000 });
    expect(hull[0]!.kbps).toBeGreaterThanOrEqual(300);
    expect(hull[hull.length - 1]!.kbps).toBeLessThanOrEqual(2000);
  });
});

describe('rungs', () => {
  const curves = curvesOf(syntheticPoints());
  const choose = (over: Partial<typeof DEFAULTS> = {}, from: RateQualityCurve[] = curves) => chooseRungs(from, { ...DEFAULTS, ...over }, CRF_GRID.h264);

  /** The rules every ladder must keep. */
  function expectLadderRules(rungs: QualityPoint[], c: typeof DEFAULTS) {
    expect(rungs.length).toBeGreaterThan(0);
    for (let i = 0; i < rungs.length; i++) {
      const r = rungs[i]!;
      expect(r.quality).toBeLessThanOrEqual(c.qualityCap + 1e-9);
      expect(r.kbps).toBeGreaterThanOrEqual(c.minKbps - 1e-9);
      expect(r.kbps).toBeLessThanOrEqual(c.maxKbps + 1e-9);
      if (i === 0) continue;
      const p = rungs[i - 1]!;
      expect(r.kbps).toBeGreaterThan(p.kbps);
      expect(r.kbps / p.kbps).toBeGreaterThanOrEqual(c.minKbpsRatio - 1e-9);
      expect(r.quality).toBeGreaterThan(p.quality);
      expect(r.quality - p.quality).toBeGreaterThanOrEqual(c.minStep - 1e-6);
      expect(r.width).toBeGreaterThanOrEqual(p.width);
      expect(r.height).toBeGreaterThanOrEqual(p.height);
    }
  }

  it('places 6 rungs by default, rising strictly in bitrate and quality, a JND apart, resolution never falling', () => {
    const { rungs } = choose();
    expect(rungs).toHaveLength(6);
    expectLadderRules(rungs, DEFAULTS);
    expect(rungs[0]!.height).toBe(234);
    expect(rungs[rungs.length - 1]!.height).toBe(1080);
  });

  it('tops out at the cheapest encode that reaches the cap, the CRF on x264’s 0.1 grid', () => {
    const { rungs } = choose();
    const top = rungs[rungs.length - 1]!;
    expect(top.quality).toBeLessThanOrEqual(95);
    expect(top.quality).toBeGreaterThan(94.9);
    expect(Number.isInteger(Math.round(top.crf * 10)) && Math.abs(top.crf * 10 - Math.round(top.crf * 10)) < 1e-9).toBe(true);
    // Nothing measured reaches 95 with fewer bits than the top rung (within the CRF step).
    const cheapest = Math.min(...curves.map((c) => c.kbpsAtQuality(95) ?? Infinity));
    expect(top.kbps).toBeLessThanOrEqual(cheapest * 1.01);
    expect(top.kbps).toBeGreaterThan(cheapest * 0.98);
  });

  it('lies on the hull wherever the hull follows a curve, and across an edge joining two resolutions is the best single encode', () => {
    const hull = upperHull(curves, { min: DEFAULTS.minKbps, max: DEFAULTS.maxKbps });
    const { rungs } = choose();
    let onCurve = 0;
    rungs.forEach((r, i) => {
      const h = hullQualityAt(hull, r.kbps)!;
      expect(r.quality).toBeLessThanOrEqual(h + SAMPLING);
      const j = Math.max(1, hull.findIndex((p) => p.kbps >= r.kbps));
      if ([hull[j - 1]!, hull[j]!].every((v) => sameRes(v, r))) {
        expect(r.quality).toBeGreaterThanOrEqual(h - SAMPLING);
        onCurve++;
      } else {
        // No resolution the rung may use (its own or larger than the one below) does better at its bitrate (up to the CRF grid's step).
        const floor = rungs[i - 1] ?? { width: 0, height: 0 };
        for (const c of curves.filter((c) => c.width >= floor.width && c.height >= floor.height && c.minKbps <= r.kbps && r.kbps <= c.maxKbps)) {
          expect(r.quality).toBeGreaterThanOrEqual(c.qualityAt(r.kbps) - 0.1);
        }
      }
    });
    // These S-shaped curves are bridged over most crossings (each next size is convex at its low end).
    expect(onCurve).toBeGreaterThanOrEqual(2);
  });

  it('honours a larger minStep with fewer rungs, and says so', () => {
    const { rungs, notes } = choose({ minStep: 12 });
    expectLadderRules(rungs, { ...DEFAULTS, minStep: 12 });
    expect(rungs.length).toBeLessThan(6);
    expect(notes.some((n) => /rung\(s\), not 6/.test(n))).toBe(true);
  });

  it('honours a lower cap and a hull that never reaches the cap', () => {
    const capped = choose({ qualityCap: 85 }).rungs;
    expectLadderRules(capped, { ...DEFAULTS, qualityCap: 85 });
    expect(capped[capped.length - 1]!.quality).toBeGreaterThan(84.8);
    const short = choose({ maxKbps: 2000 });
    expectLadderRules(short.rungs, { ...DEFAULTS, maxKbps: 2000 });
    expect(short.notes.some((n) => /tops out/.test(n))).toBe(true);
  });

  it('gives one rung, at the cap, when the hull spans less than minStep in range', () => {
    const easy = curvesOf(syntheticPoints([{ width: 1280, height: 720, ceiling: 99, midKbps: 20 }]));
    const { rungs, notes } = choose({}, easy);
    expect(rungs).toHaveLength(1);
    expect(rungs[0]!.quality).toBeGreaterThan(94.9);
    expect(rungs[0]!.quality).toBeLessThanOrEqual(95);
    expect(notes.join(' ')).toMatch(/1 rung\(s\), not 6/);
  });

  it('gives the cheapest encode alone when even it is past the cap, and says so', () => {
    const trivial = curvesOf(syntheticPoints([{ width: 1280, height: 720, ceiling: 99, midKbps: 10 }]));
    const { rungs, notes } = choose({}, trivial);
    expect(rungs).toHaveLength(1);
    expect(rungs[0]!.kbps).toBeGreaterThanOrEqual(150);
    expect(rungs[0]!.kbps).toBeLessThan(153); // the lowest bitrate, up to the CRF grid's step
    expect(notes.join(' ')).toMatch(/already reaches the cap/);
  });

  it('keeps rungs minKbpsRatio apart in bitrate where one JND costs only a few per cent of bits', () => {
    // A steep curve (flat content): VMAF climbs from 40 to 90 within 150–400 kb/s.
    const steep = curvesOf(
      [160, 175, 190, 210, 240, 290, 380, 600, 1000].map((kbps, i) => ({ width: 1280, height: 720, crf: 40 - 2 * i, kbps, quality: [40, 52, 63, 72, 80, 86, 90, 93, 95.5][i]! })),
    );
    const jndOnly = choose({ minKbpsRatio: 1 }, steep).rungs;
    expect(Math.min(...jndOnly.slice(1).map((r, i) => r.kbps / jndOnly[i]!.kbps))).toBeLessThan(1.25);
    const { rungs, notes } = choose({}, steep);
    expectLadderRules(rungs, DEFAULTS);
    expect(rungs[rungs.length - 1]!.quality).toBeGreaterThan(94.9);
    expect(rungs.length).toBeLessThan(jndOnly.length);
    expect(notes.length).toBeGreaterThan(0);
  });

  it('never falls in resolution even where curves cross back', () => {
    // A 540p curve that beats 720p again at high rates (noisy data): the ladder keeps climbing in size.
    const odd = curvesOf(syntheticPoints([...SYNTHETIC_RESOLUTIONS.filter((r) => r.height !== 540), { width: 960, height: 540, ceiling: 99, midKbps: 450 }]));
    const { rungs } = choose({ rungs: 8, minStep: 4 }, odd);
    expectLadderRules(rungs, { ...DEFAULTS, rungs: 8, minStep: 4 });
  });

  it('moves vp9 and av1 CRFs to whole numbers, predicting at the whole CRF', () => {
    for (const codec of ['vp9', 'av1'] as const) {
      const { rungs } = chooseRungs(curves, DEFAULTS, CRF_GRID[codec]);
      expectLadderRules(rungs, DEFAULTS);
      for (const r of rungs) {
        expect(Number.isInteger(r.crf)).toBe(true);
        const own = curves.find((c) => sameRes(c, r))!;
        expect(own.kbpsAtCrf(r.crf)).toBeCloseTo(r.kbps, 3);
        expect(own.qualityAt(r.kbps)).toBeCloseTo(r.quality, 9);
      }
    }
  });
});

describe('the ladder', () => {
  const analysis = { jobId: 'cas-job-1', contentHash: 'abc', cached: false, points: 40 };
  const ladder = (source: { width: number; height: number }, maxHeight?: number) =>
    buildLadder({ codec: 'h264', metric: 'vmaf', points: syntheticPoints(), source, constraints: resolveConstraints(maxHeight ? { maxHeight } : undefined, 'vmaf', source), analysis });

  it('never goes above maxHeight, and says which curves it left out', () => {
    const r = ladder({ width: 1920, height: 1080 }, 720);
    expect(Math.max(...r.rungs.map((x) => x.height))).toBeLessThanOrEqual(720);
    expect(r.hull.every((p) => p.height <= 720)).toBe(true);
    expect(r.curves.find((c) => c.height === 1080)).toMatchObject({ used: false, excludedBy: 'taller than maxHeight 720' });
    expect(r.constraints.maxHeight).toBe(720);
  });

  it('never exceeds the source resolution, whatever maxHeight says', () => {
    const r = ladder({ width: 1280, height: 720 }, 2160);
    expect(r.rungs.every((x) => x.width <= 1280 && x.height <= 720)).toBe(true);
    expect(r.constraints.maxHeight).toBe(720);
    expect(r.curves.find((c) => c.height === 1080)!.excludedBy).toMatch(/larger than the source/);
  });

  it('makes each rung a VES recipe: CRF on its curve, 2 s closed GOPs without scene-cut keyframes, whole-GOP chunks, and a VBV cap beside it', () => {
    const r = LadderResult.parse(ladder({ width: 1920, height: 1080 }));
    for (const rung of r.rungs) {
      expect(Recipe.safeParse(rung.recipe).success).toBe(true);
      expect(rung.recipe).toMatchObject({
        codec: 'h264',
        resolution: { width: rung.width, height: rung.height },
        rateControl: { mode: 'crf', value: rung.crf },
        gop: { lengthSeconds: 2, closed: true, sceneCutKeyframes: false },
        chunking: { targetSeconds: 4 },
      });
      expect(rung.vbv.maxrateKbps).toBe(Math.round(rung.kbps * 1.5));
      expect(rung.vbv.bufsizeKbps).toBe(rung.vbv.maxrateKbps * 2);
      const model = SYNTHETIC_RESOLUTIONS.find((m) => sameRes(m, rung))!;
      expect(rung.predicted.vmaf).toBeCloseTo(modelQuality(model, rung.kbps), 0);
    }
    expect(r.hull[0]).toEqual({ kbps: expect.any(Number), width: 416, height: 234, crf: expect.any(Number), vmaf: expect.any(Number), trialEncode: expect.any(Boolean) });
  });

  it('refuses when no curve can carry a rung', () => {
    expect(() => ladder({ width: 320, height: 180 })).toThrow(/no resolution CAS measured can carry a rung/);
  });

  it('converts the JND spacing for a PSNR ladder and uses the PSNR cap', () => {
    expect(resolveConstraints(undefined, 'psnr', { height: 1080 })).toMatchObject({ minStep: 1.5, qualityCap: 45 });
    expect(resolveConstraints({ minStep: 8, psnr: { capDb: 42 } }, 'psnr', { height: 1080 })).toMatchObject({ minStep: 2, qualityCap: 42 });
    expect(resolveConstraints({ psnr: { minStepDb: 1 } }, 'vmaf', { height: 1080 })).toMatchObject({ minStep: 6, qualityCap: 95, minKbpsRatio: 1.25 });
  });
});

describe('Apple’s fixed ladder', () => {
  it('is the HLS authoring spec’s H.264 ladder, capped at the source', () => {
    expect(APPLE_LADDER.map((r) => `${r.width}x${r.height}@${r.kbps}`)).toEqual([
      '416x234@145', '640x360@365', '768x432@730', '768x432@1100', '960x540@2000', '1280x720@3000', '1280x720@4500', '1920x1080@6000', '1920x1080@7800',
    ]);
    expect(fixedLadderFor(APPLE_LADDER, { width: 1280, height: 720 }).map((r) => r.kbps)).toEqual([145, 365, 730, 1100, 2000, 3000, 4500]);
  });

  it('is read off the curves: its own resolution where measured, between the neighbours where not, never extrapolated', () => {
    const curves = curvesOf(syntheticPoints());
    const p = predictFixedLadder(curves, APPLE_LADDER);
    const at720 = p.find((r) => r.height === 720 && r.kbps === 3000)!;
    expect(at720.predictedBy).toBe('curve');
    expect(at720.quality).toBeCloseTo(curves.find((c) => c.height === 720)!.qualityAt(3000), 9);
    const at432 = p.find((r) => r.kbps === 730)!;
    expect(at432.predictedBy).toBe('between');
    const [q360, q540] = [360, 540].map((h) => curves.find((c) => c.height === h)!.qualityAt(730));
    expect(at432.quality!).toBeGreaterThan(Math.min(q360!, q540!));
    expect(at432.quality!).toBeLessThan(Math.max(q360!, q540!));
    const beyond = predictFixedLadder(curves, [{ width: 3840, height: 2160, kbps: 6000 }])[0]!;
    expect(beyond).toMatchObject({ quality: null, predictedBy: null });
  });
});
