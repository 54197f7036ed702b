import { describe, expect, it } from 'vitest';
import { detectScanType, scanTypeFromIdet } from '../actors/vis/compute/scan-type.js';

const idet = (tff: number, bff: number, progressive: number, undetermined = 0) => ({ tff, bff, progressive, undetermined });

describe('scan type from idet counts', () => {
  it('calls consistently combed pictures interlaced in their field order', () => {
    expect(scanTypeFromIdet(idet(95, 2, 3))).toBe('interlaced_tff');
    expect(scanTypeFromIdet(idet(1, 90, 9))).toBe('interlaced_bff');
  });

  it('calls mostly clean pictures progressive', () => {
    expect(scanTypeFromIdet(idet(5, 1, 94))).toBe('progressive');
  });

  it('calls a one-order hybrid mixed', () => {
    expect(scanTypeFromIdet(idet(50, 3, 47))).toBe('mixed');
  });

  it('treats combing in both field orders as inconclusive and falls back to the header', () => {
    // What idet reports on a progressive test pattern with sharp moving edges.
    expect(scanTypeFromIdet(idet(66, 33, 51))).toBeNull();
    expect(detectScanType(idet(66, 33, 51), 'progressive')).toEqual({ scanType: 'progressive', fromPictures: false });
  });

  it('does not decide on too few determined frames', () => {
    expect(scanTypeFromIdet(idet(2, 0, 1, 200))).toBeNull();
    expect(detectScanType(idet(2, 0, 1, 200), 'tt')).toEqual({ scanType: 'interlaced_tff', fromPictures: false });
  });
});
