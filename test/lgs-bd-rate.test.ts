/**
 * BD-rate with PCHIP (log10 rate over quality, integrated on the common
 * quality range), as the JCTVC/AOM scripts compute it: exact cases, a value
 * from scipy, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { bdQuality, bdRate, type RatePoint } from '../actors/lgs/compute/index.js';
import { expectVpipeError } from './helpers/errors.js';

const anchor: RatePoint[] = [
  { kbps: 300, quality: 62 },
  { kbps: 700, quality: 75 },
  { kbps: 1500, quality: 85 },
  { kbps: 3000, quality: 91 },
  { kbps: 6000, quality: 95 },
];
const scaled = (pts: RatePoint[], f: number) => pts.map((p) => ({ kbps: p.kbps * f, quality: p.quality }));

describe('bdRate', () => {
  it('is 0 for identical curves', () => {
    expect(bdRate(anchor, anchor)).toBeCloseTo(0, 12);
  });

  it('is −20 % for a curve at 0.8× the anchor’s bitrates, and +25 % the other way', () => {
    expect(Math.abs(bdRate(anchor, scaled(anchor, 0.8)) + 20)).toBeLessThan(0.1);
    expect(bdRate(anchor, scaled(anchor, 0.8))).toBeCloseTo(-20, 9);
    expect(bdRate(scaled(anchor, 0.8), anchor)).toBeCloseTo(25, 9);
  });

  it('is negative for a curve with higher quality at equal rates', () => {
    const better = anchor.map((p) => ({ kbps: p.kbps, quality: p.quality + 2 }));
    expect(bdRate(anchor, better)).toBeLessThan(0);
    expect(bdQuality(anchor, better)).toBeCloseTo(2, 9);
  });

  it('takes the points in any order', () => {
    expect(bdRate([...anchor].reverse(), scaled(anchor, 0.8))).toBeCloseTo(-20, 9);
  });

  // scipy 1.17: PchipInterpolator(Q, log10 R).integrate over the overlap, as the AOM script does.
  it('agrees with the scipy reference on two measured-looking curves', () => {
    const a = [{ kbps: 100, quality: 30 }, { kbps: 250, quality: 35 }, { kbps: 600, quality: 39 }, { kbps: 1500, quality: 42.5 }];
    const t = [{ kbps: 90, quality: 30.5 }, { kbps: 200, quality: 35.2 }, { kbps: 520, quality: 39.5 }, { kbps: 1400, quality: 42 }];
    expect(bdRate(a, t)).toBeCloseTo(-20.422377267954104, 9);
  });

  it('refuses curves that do not overlap in quality, naming both ranges', async () => {
    const high = anchor.map((p) => ({ kbps: p.kbps, quality: p.quality + 50 }));
    const e = await expectVpipeError(Promise.resolve().then(() => bdRate(anchor, high)), 'BAD_REQUEST');
    expect(e.message).toMatch(/do not overlap in quality \(anchor 62\.00–95\.00, test 112\.00–145\.00\)/);
  });

  it('refuses too few points, a rate that is not positive, and a quality given twice', () => {
    expect(() => bdRate(anchor.slice(0, 1), anchor)).toThrow(/at least 2/);
    expect(() => bdRate(anchor, [{ kbps: 0, quality: 60 }, ...anchor])).toThrow(/positive rate/);
    expect(() => bdRate(anchor, [...anchor, { kbps: 9000, quality: 95 }])).toThrow(/same quality/);
  });
});
