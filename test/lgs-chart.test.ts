/**
 * The `vpipe ladder` outputs: the SVG chart is a well-formed document with
 * one curve path per resolution, the hull, a marker per rung and per fixed
 * rung with a prediction, and escaped text; the table and the request the
 * flags make.
 */
import { describe, expect, it } from 'vitest';
import { buildLadder, resolveConstraints } from '../actors/lgs/compute/index.js';
import { appleOnCurves, ladderRequest, ladderTable } from '../cli/ladder.js';
import { ladderSvg, xmlEscape } from '../cli/ladder-chart.js';
import type { LadderResult } from '../schemas/lgs.js';
import { syntheticPoints } from './helpers/lgs-curves.js';

const source = { width: 1920, height: 1080 };
const result: LadderResult = buildLadder({
  codec: 'h264',
  metric: 'vmaf',
  points: syntheticPoints(),
  source,
  constraints: resolveConstraints({ maxHeight: 720 }, 'vmaf', source),
  analysis: { jobId: 'cas-job-1', contentHash: 'abc', cached: true, points: 40 },
});

/** Checks the document is well formed the way an XML parser would: one root, every tag closed in order, attributes quoted, no bare `&` or `<`. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  const text = svg.replace(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, (_m, close: string, name: string, _attrs: string, self: string) => {
    if (close) expect(stack.pop(), `</${name}>`).toBe(name);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    return '';
  });
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  expect(text).not.toMatch(/[<>]/); // every tag was one of the well-formed ones above
  expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
}

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe('the ladder chart', () => {
  const fixed = appleOnCurves(result);
  const svg = ladderSvg(result, { title: 'Tom & Jerry <trailer>', fixed: { name: 'Apple HLS', rungs: fixed } });

  it('is a well-formed SVG document', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expectWellFormed(svg);
  });

  it('draws one curve path per resolution, dashed where the ladder could not use it, with its trial encodes', () => {
    expect(count(svg, /<path class="curve"/g)).toBe(result.curves.length);
    for (const c of result.curves) {
      expect(count(svg, new RegExp(`<path class="curve" data-resolution="${c.width}x${c.height}"`, 'g'))).toBe(1);
    }
    expect(svg).toMatch(/<path class="curve" data-resolution="1920x1080" d="M[^"]+" fill="none" stroke="#[0-9a-f]{6}" stroke-width="2" stroke-dasharray/);
    expect(count(svg, /<circle class="trial"/g)).toBe(result.curves.reduce((n, c) => n + c.points.length, 0));
  });

  it('draws the hull, the cap, a marker per rung and per predicted Apple rung', () => {
    expect(count(svg, /<path class="hull"/g)).toBe(1);
    expect(count(svg, /<line class="cap"/g)).toBe(1);
    expect(count(svg, /<circle class="rung"/g)).toBe(result.rungs.length);
    expect(count(svg, /<rect class="fixed"/g)).toBe(fixed.filter((f) => f.quality !== null).length);
    expect(fixed.every((f) => f.height <= 1080)).toBe(true);
    expect(svg).toContain(`rung 1: ${result.rungs[0]!.width}x${result.rungs[0]!.height} @ ${result.rungs[0]!.kbps} kb/s`);
  });

  it('escapes text', () => {
    expect(svg).toContain('<title>Tom &amp; Jerry &lt;trailer&gt;</title>');
    expect(xmlEscape(`a"b'c`)).toBe('a&quot;b&apos;c');
  });

  it('leaves the fixed ladder out when not asked for', () => {
    const plain = ladderSvg(result);
    expect(count(plain, /<rect class="fixed"/g)).toBe(0);
    expectWellFormed(plain);
  });
});

describe('the ladder table and request', () => {
  it('prints a row per rung, the Apple ladder’s predictions and the predicted BD-rate against it', () => {
    const out = ladderTable(result, appleOnCurves(result));
    const rows = out.split('\n').filter((l) => /^\s+\d+\s+\d+x\d+/.test(l));
    expect(rows).toHaveLength(result.rungs.length);
    expect(out).toContain('ladder on VMAF (CAS analysis cas-job-1, from the store, 40 trial encodes; source 1920x1080)');
    expect(out).not.toContain('measured VMAF');
    expect(out).toMatch(/BD-rate of this ladder against Apple's \(predicted\): -?\d+\.\d %/);
    const withMeasured: LadderResult = { ...result, rungs: result.rungs.map((g) => ({ ...g, measured: { vmaf: 80 } })) };
    expect(ladderTable(withMeasured)).toContain('measured VMAF');
  });

  it('turns the flags into an LGS request, leaving out what was not given', () => {
    expect(ladderRequest('/m/a.mp4', { codec: 'hevc', rungs: '5', 'max-height': '720', 'allow-without-vmaf': true })).toEqual({
      source: { uri: 'file:///m/a.mp4' },
      codec: 'hevc',
      constraints: { rungs: 5, maxHeight: 720 },
      allowWithoutVmaf: true,
    });
    expect(ladderRequest('file:///m/a.mp4', {})).toEqual({ source: { uri: 'file:///m/a.mp4' }, codec: 'h264' });
  });
});
