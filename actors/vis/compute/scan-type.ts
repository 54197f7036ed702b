/** Scan type from what the pictures look like (idet), with the header's field_order as fallback. */
import type { ScanType } from '../../../schemas/common.js';
import type { IdetCounts } from '../../../schemas/vis.js';

/**
 * idet needs motion to see combing: static or flat pictures come out
 * "undetermined". Trust it only when it decided on at least 5 frames and at
 * least 10% of what it saw.
 */
const MIN_DETERMINED = 5;
const MIN_DETERMINED_FRACTION = 0.1;
/**
 * Interlaced material with still scenes shows progressive frames too, and
 * idet misreads some progressive frames as combed, so the bands are wide:
 * ≥ 75% combed → interlaced, ≤ 25% → progressive, in between → mixed
 * (hybrid edits, telecine cadence breaks).
 */
const INTERLACED_AT = 0.75;
const PROGRESSIVE_AT = 0.25;

/** ffprobe field_order → scan type. `tb` is top coded first but bottom displayed first: display order is what matters. */
export function scanTypeFromHeader(fieldOrder: string | null): ScanType {
  switch (fieldOrder) {
    case 'progressive':
      return 'progressive';
    case 'tt':
    case 'bt':
      return 'interlaced_tff';
    case 'bb':
    case 'tb':
      return 'interlaced_bff';
    default:
      return 'unknown';
  }
}

/** The scan type idet supports, or null when its counts are too thin to decide. */
export function scanTypeFromIdet(idet: IdetCounts | null): ScanType | null {
  if (!idet) return null;
  const interlaced = idet.tff + idet.bff;
  const determined = interlaced + idet.progressive;
  const seen = determined + idet.undetermined;
  if (determined < MIN_DETERMINED || determined < seen * MIN_DETERMINED_FRACTION) return null;
  const share = interlaced / determined;
  if (share <= PROGRESSIVE_AT) return 'progressive';
  // Real interlaced pictures comb in one field order. Both orders in quantity is
  // what idet reports on progressive pictures with sharp moving edges (graphics,
  // text crawls, test patterns), so that evidence is inconclusive: use the header.
  const minority = Math.min(idet.tff, idet.bff) / interlaced;
  if (minority > PROGRESSIVE_AT) return null;
  if (share < INTERLACED_AT) return 'mixed';
  return idet.tff >= idet.bff ? 'interlaced_tff' : 'interlaced_bff';
}

/** idet's verdict when decisive, else the header's; never throws. */
export function detectScanType(idet: IdetCounts | null, fieldOrder: string | null): { scanType: ScanType; fromPictures: boolean } {
  const fromIdet = scanTypeFromIdet(idet);
  return fromIdet ? { scanType: fromIdet, fromPictures: true } : { scanType: scanTypeFromHeader(fieldOrder), fromPictures: false };
}

/** True for either field order ('mixed' is not counted). */
export const isInterlaced = (t: ScanType): boolean => t === 'interlaced_tff' || t === 'interlaced_bff';
