/**
 * VVS compare, pure: every expectation field matched and missed, the recipe
 * → ffprobe profile and level mappings per codec (the ffprobe values are
 * the ones ffmpeg 5.1 printed for x264, x265, libvpx-vp9, SVT-AV1, libaom
 * encodes), and keyframe lists.
 */
import { describe, expect, it } from 'vitest';
import { compare, levelName, levelTarget, MISSING_KEYFRAMES_SHOWN, toRuns, type ExpectationsInput, type MeasureData } from '../actors/vvs/compute/index.js';
import { Expectations } from '../schemas/vvs.js';

/** A clean 160x120 25 fps 2 s H.264 High 1.1 encode, keyframes every 10 frames, 200 kbps. */
function m(over: Partial<MeasureData> = {}, packets: Partial<NonNullable<MeasureData['packets']>> = {}): MeasureData {
  return {
    kind: 'vvs.measure',
    unreadable: null,
    codec: 'h264',
    profile: 'High',
    levelRaw: 11,
    width: 160,
    height: 120,
    pixelFormat: 'yuv420p',
    frameRate: 25,
    durationSeconds: 2,
    averageBitrateKbps: 200,
    packets: {
      frameCount: 50,
      totalBytes: 50_000,
      spanSeconds: 2,
      order: 'pts',
      keyframeCount: 5,
      keyframes: toRuns([0, 10, 20, 30, 40]),
      maxGopFrames: 10,
      maxGopStart: 0,
      ...packets,
    },
    decode: { errors: 0, samples: [] },
    ...over,
  };
}

const fields = (e: ExpectationsInput, data = m()) => compare(e, data).discrepancies.map((d) => d.field);
const only = (e: ExpectationsInput, data = m()) => {
  const r = compare(e, data);
  expect(r.ok).toBe(false);
  expect(r.discrepancies).toHaveLength(1);
  return r.discrepancies[0]!;
};

describe('compare: everything that matches', () => {
  it('passes a full set of met expectations with no discrepancies and reports the measurement', () => {
    const e = Expectations.parse({
      codec: 'h264',
      profile: 'high',
      level: '1.1',
      resolution: { width: 160, height: 120 },
      pixelFormat: 'yuv420p',
      frameCount: 50,
      durationSeconds: 2,
      averageBitrateKbps: { target: 190 },
      maxGopFrames: 10,
      keyframesAtFrames: [0, 10, 40],
      decodesWithoutErrors: true,
    });
    const r = compare(e, m());
    expect(r).toEqual({
      ok: true,
      discrepancies: [],
      measured: {
        codec: 'h264',
        profile: 'High',
        level: '1.1',
        resolution: { width: 160, height: 120 },
        pixelFormat: 'yuv420p',
        frameCount: 50,
        durationSeconds: 2,
        averageBitrateKbps: 200,
        maxGopFrames: 10,
        keyframeCount: 5,
        decodeErrors: 0,
      },
    });
  });

  it('passes empty expectations', () => {
    expect(compare({}, m())).toMatchObject({ ok: true, discrepancies: [] });
  });
});

describe('compare: each field missed', () => {
  it('codec', () => {
    expect(only({ codec: 'hevc' })).toMatchObject({ field: 'codec', expected: 'hevc', actual: 'h264', message: expect.stringMatching(/libx265/) });
  });

  it('resolution', () => {
    const d = only({ resolution: { width: 320, height: 240 } });
    expect(d).toMatchObject({ expected: { width: 320, height: 240 }, actual: { width: 160, height: 120 }, message: expect.stringMatching(/160x120, expected 320x240/) });
  });

  it('pixel format', () => {
    expect(only({ pixelFormat: 'yuv420p10le' })).toMatchObject({ field: 'pixelFormat', expected: 'yuv420p10le', actual: 'yuv420p' });
  });

  it('frame count, missing and extra', () => {
    expect(only({ frameCount: 52 })).toMatchObject({ field: 'frameCount', expected: 52, actual: 50, message: expect.stringMatching(/2 frame\(s\) missing/) });
    expect(only({ frameCount: 48 }).message).toMatch(/2 extra frame/);
    expect(only({ frameCount: 0 }).actual).toBe(50);
  });

  it('duration within ±1 frame passes, beyond fails', () => {
    expect(fields({ durationSeconds: 2.04 })).toEqual([]);
    expect(fields({ durationSeconds: 1.96 })).toEqual([]);
    const d = only({ durationSeconds: 2.1 });
    expect(d).toMatchObject({ field: 'durationSeconds', expected: 2.1, actual: 2, message: expect.stringMatching(/0\.1 s short of .*one frame, 0\.04 s/) });
    expect(only({ durationSeconds: 1.9 }).message).toMatch(/over/);
  });

  it('duration tolerance falls back to duration / frame count without a frame rate', () => {
    const noRate = m({ frameRate: null, durationSeconds: 2 }, { frameCount: 20 }); // 0.1 s frames
    expect(fields({ durationSeconds: 2.09 }, noRate)).toEqual([]);
    expect(fields({ durationSeconds: 2.2 }, noRate)).toEqual(['durationSeconds']);
  });

  it('bitrate within tolerance passes; above and below fail with the percentage', () => {
    expect(fields({ averageBitrateKbps: { target: 180, tolerancePercent: 20 } })).toEqual([]);
    // tolerancePercent defaults to 20 when compare gets unparsed expectations
    expect(fields({ averageBitrateKbps: { target: 240 } })).toEqual([]);
    const above = only({ averageBitrateKbps: { target: 100, tolerancePercent: 10 } });
    expect(above).toMatchObject({ expected: { target: 100, tolerancePercent: 10 }, actual: 200, message: expect.stringMatching(/100% above the 100 kbps target \(tolerance ±10%\): lower/) });
    expect(only({ averageBitrateKbps: { target: 5000 } }).message).toMatch(/96% below the 5000 kbps target.*raise/);
  });

  it('max GOP, naming where the longest one is', () => {
    expect(fields({ maxGopFrames: 10 })).toEqual([]);
    const d = only({ maxGopFrames: 8 }, m({}, { maxGopFrames: 25, maxGopStart: 25 }));
    expect(d).toMatchObject({ field: 'maxGopFrames', expected: 8, actual: 25, message: expect.stringMatching(/frames 25–49.*at most 8/) });
  });

  it('decode errors, with a sample; skipped unless asked', () => {
    const broken = m({ decode: { errors: 8, samples: ['[h264] error while decoding MB 5 7, bytestream -9'] } });
    const d = only({ decodesWithoutErrors: true }, broken);
    expect(d).toMatchObject({ field: 'decodesWithoutErrors', expected: true, actual: { decodeErrors: 8 }, message: expect.stringMatching(/8 decode error\(s\) \(first: "\[h264\] error while decoding MB/) });
    expect(fields({ decodesWithoutErrors: false }, broken)).toEqual([]);
    expect(fields({}, broken)).toEqual([]);
  });

  it('lists several discrepancies in field order', () => {
    expect(fields({ codec: 'vp9', resolution: { width: 1, height: 1 }, frameCount: 1, maxGopFrames: 1 })).toEqual(['codec', 'resolution', 'frameCount', 'maxGopFrames']);
  });
});

describe('compare: what could not be measured', () => {
  it('turns an unreadable file into one video discrepancy', () => {
    const dead = { ...m(), unreadable: 'moov atom not found', codec: null, packets: null, decode: null };
    const r = compare({ codec: 'h264', frameCount: 50, decodesWithoutErrors: true }, dead);
    expect(r.ok).toBe(false);
    expect(r.discrepancies).toEqual([{ field: 'video', expected: 'a readable video stream', actual: 'moov atom not found', message: expect.stringMatching(/moov atom not found/) }]);
  });

  it('reports expectations it cannot verify as discrepancies, not passes', () => {
    const blind = m({ packets: null, decode: null, durationSeconds: null, averageBitrateKbps: null, pixelFormat: null });
    const r = compare({ frameCount: 50, durationSeconds: 2, averageBitrateKbps: { target: 1 }, maxGopFrames: 10, keyframesAtFrames: [0], decodesWithoutErrors: true, pixelFormat: 'yuv420p' }, blind);
    expect(r.discrepancies.map((d) => d.field)).toEqual(['pixelFormat', 'frameCount', 'durationSeconds', 'averageBitrateKbps', 'maxGopFrames', 'keyframesAtFrames', 'decodesWithoutErrors']);
    expect(r.discrepancies.every((d) => d.actual === null && /could not be measured/.test(d.message))).toBe(true);
  });
});

describe('compare: profiles per codec (recipe spelling vs ffprobe)', () => {
  const cases: [string, string, string, boolean][] = [
    ['h264', 'high', 'High', true],
    ['h264', 'high', 'High 10', false],
    ['h264', 'baseline', 'Constrained Baseline', true],
    ['h264', 'baseline', 'Baseline', true],
    ['h264', 'main', 'Main', true],
    ['h264', 'high10', 'High 10', true],
    ['h264', 'high422', 'High 4:2:2', true],
    ['h264', 'high444', 'High 4:4:4 Predictive', true],
    ['hevc', 'main', 'Main', true],
    ['hevc', 'main', 'Main 10', false],
    ['hevc', 'main10', 'Main 10', true],
    ['hevc', 'main444-8', 'Rext', true],
    ['hevc', 'main422-10', 'Rext', true],
    ['vp9', '0', 'Profile 0', true],
    ['vp9', '2', 'Profile 2', true],
    ['vp9', '2', 'Profile 0', false],
    ['av1', 'main', 'Main', true],
    ['av1', 'high', 'High', true],
    ['av1', 'professional', 'Professional', true],
    ['av1', 'high', 'Main', false],
    // ffprobe's own spelling is accepted too, case-insensitively
    ['hevc', 'main 10', 'Main 10', true],
  ];
  it.each(cases)('%s %s vs "%s" → match %s', (codec, profile, actual, ok) => {
    expect(fields({ profile }, m({ codec, profile: actual }))).toEqual(ok ? [] : ['profile']);
  });

  it('explains x264 writing a lower profile than asked', () => {
    const d = only({ codec: 'h264', profile: 'high' }, m({ profile: 'Constrained Baseline' }));
    expect(d).toMatchObject({ expected: 'high', actual: 'Constrained Baseline', message: expect.stringMatching(/expected high \(ffprobe "High"\).*ultrafast.*decodable/) });
  });

  it('names an unknown profile as such', () => {
    expect(only({ profile: 'ultra' }).message).toMatch(/"ultra" is not a h264 profile/);
  });

  const decodable: [string, string, string, boolean][] = [
    ['h264', 'high', 'Constrained Baseline', true],
    ['h264', 'high', 'Main', true],
    ['h264', 'high', 'High', true],
    ['h264', 'high', 'High 10', false],
    ['h264', 'high', 'Baseline', false], // FMO/ASO are not High tools
    ['h264', 'main', 'High', false],
    ['h264', 'baseline', 'Constrained Baseline', true],
    ['h264', 'high10', 'High', true],
    ['h264', 'high444', 'High 4:2:2 Intra', true],
    ['hevc', 'main10', 'Main', true],
    ['hevc', 'main', 'Main 10', false],
    ['vp9', '2', 'Profile 0', true],
    ['vp9', '2', 'Profile 1', false],
    ['vp9', '3', 'Profile 1', true],
    ['av1', 'high', 'Main', true],
    ['av1', 'main', 'High', false],
  ];
  it.each(decodable)('profileMatch decodable: %s %s vs "%s" → match %s', (codec, profile, actual, ok) => {
    expect(fields({ profile, profileMatch: 'decodable' }, m({ codec, profile: actual }))).toEqual(ok ? [] : ['profile']);
  });

  it('says what decodable allows when it fails', () => {
    const d = only({ codec: 'h264', profile: 'main', profileMatch: 'decodable' }, m({ profile: 'High' }));
    expect(d.message).toMatch(/expected main or a profile its decoders decode \(ffprobe "Constrained Baseline" or "Main"\)/);
  });

  it('uses the expected codec for the mapping when given', () => {
    expect(fields({ codec: 'hevc', profile: 'main10' }, m({ codec: 'hevc', profile: 'Main 10' }))).toEqual([]);
  });
});

describe('compare: levels per codec', () => {
  const cases: [string, string, number, boolean][] = [
    ['h264', '1.1', 11, true],
    ['h264', '3.1', 31, true],
    ['h264', '4', 40, true],
    ['h264', '4', 41, false],
    ['h264', '1b', 9, true],
    ['hevc', '1', 30, true],
    ['hevc', '3.1', 93, true],
    ['hevc', '4', 120, true],
    ['hevc', '6.2', 186, true],
    ['hevc', '4', 123, false],
    ['av1', '2', 0, true],
    ['av1', '4', 8, true],
    ['av1', '5.1', 13, true],
    ['av1', '5.1', 12, false],
  ];
  it.each(cases)('%s level %s vs ffprobe %i → match %s', (codec, level, raw, ok) => {
    const profile = codec === 'h264' ? 'High' : 'Main';
    expect(fields({ level: level as ExpectationsInput['level'] }, m({ codec, profile, levelRaw: raw }))).toEqual(ok ? [] : ['level']);
  });

  it('reports a mismatch in recipe spelling with the raw value', () => {
    const d = only({ level: '3.1' }, m({ levelRaw: 40 }));
    expect(d).toMatchObject({ field: 'level', expected: '3.1', actual: '4', message: expect.stringMatching(/level is 4 \(ffprobe 40\), expected 3\.1: the stream needs more/) });
    expect(only({ level: '3.1' }).message).toMatch(/level is 1\.1 .*signalled a lower level/);
  });

  it('accepts h264 1b as level_idc 11 only in Baseline/Main, where 1b is signalled that way', () => {
    expect(fields({ level: '1b' }, m({ profile: 'Constrained Baseline', levelRaw: 11 }))).toEqual([]);
    expect(fields({ level: '1b' }, m({ profile: 'High', levelRaw: 11 }))).toEqual(['level']);
  });

  it('skips vp9, which signals no level (ffprobe -99)', () => {
    expect(compare({ level: '4.1' }, m({ codec: 'vp9', profile: 'Profile 0', levelRaw: null }))).toMatchObject({ ok: true, measured: { level: null } });
  });

  it('refuses levels a codec does not have', () => {
    expect(only({ level: '1.1' }, m({ codec: 'hevc', profile: 'Main', levelRaw: 30 })).message).toMatch(/HEVC has no level 1\.1/);
    expect(only({ level: '1b' }, m({ codec: 'av1', profile: 'Main', levelRaw: 0 })).message).toMatch(/AV1 has no level 1b/);
  });

  it('flags a stream that signals no level', () => {
    expect(only({ level: '3' }, m({ levelRaw: null }))).toMatchObject({ actual: null, message: expect.stringMatching(/signals no level/) });
  });

  it('spells ffprobe integers as recipe levels', () => {
    expect([levelName('h264', 9), levelName('h264', 31), levelName('h264', 40)]).toEqual(['1b', '3.1', '4']);
    expect([levelName('hevc', 30), levelName('hevc', 93), levelName('hevc', 186), levelName('hevc', 94)]).toEqual(['1', '3.1', '6.2', 'level_idc 94']);
    expect([levelName('av1', 0), levelName('av1', 8), levelName('av1', 13), levelName('av1', 31)]).toEqual(['2', '4', '5.1', 'unconstrained (seq_level_idx 31)']);
    expect([levelName('vp9', null), levelName('h264', -99)]).toEqual([null, null]);
    expect(levelTarget('mpeg4', '3', null)).toMatchObject({ kind: 'invalid' });
  });
});

describe('compare: keyframe lists', () => {
  it('passes when every listed frame is a keyframe (duplicates and order do not matter)', () => {
    expect(fields({ keyframesAtFrames: [40, 0, 10, 10] })).toEqual([]);
  });

  it('lists the missing ones with the nearest keyframes around each', () => {
    const d = only({ keyframesAtFrames: [0, 7, 10, 33] });
    expect(d.field).toBe('keyframesAtFrames');
    expect(d.expected).toEqual([7, 33]);
    expect(d.actual).toEqual([
      { frame: 7, previous: 0, next: 10 },
      { frame: 33, previous: 30, next: 40 },
    ]);
    expect(d.message).toMatch(/2 of 4 required keyframes missing: frames 7, 33; force keyframes/);
  });

  it('names frames past the end', () => {
    const d = only({ keyframesAtFrames: [0, 60] });
    expect(d.actual).toEqual([{ frame: 60, pastEnd: true }]);
    expect(d.message).toMatch(/60 \(past the last frame, 49\)/);
  });

  it(`caps the list at ${MISSING_KEYFRAMES_SHOWN} and counts the rest`, () => {
    const want = Array.from({ length: 45 }, (_, i) => i + 1).filter((f) => f % 10 !== 0); // 41 non-keyframes
    const d = only({ keyframesAtFrames: want });
    expect(d.expected).toHaveLength(MISSING_KEYFRAMES_SHOWN);
    expect(d.actual).toHaveLength(MISSING_KEYFRAMES_SHOWN);
    expect(d.message).toMatch(/41 of 41 required keyframes missing.* and 21 more/);
  });

  it('says when frame numbers are in decode order (raw streams have no timestamps)', () => {
    expect(only({ keyframesAtFrames: [5] }, m({}, { order: 'decode' })).message).toMatch(/decode order/);
  });

  it('reports keyframes it could not keep as unverified', () => {
    const d = only({ keyframesAtFrames: [0] }, m({}, { keyframes: null, keyframeCount: 90_000 }));
    expect(d).toMatchObject({ actual: null, message: expect.stringMatching(/too irregular.*unverified/) });
  });
});
