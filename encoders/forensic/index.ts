/**
 * Forensic A/B watermarking: an invisible, per-recipient mark in the spirit of DASH-IF / ETSI
 * TS 104 002. Every segment (encoder chunk) is encoded twice, with the keyed luma pattern of
 * variant 0 and of variant 1 (markFilter); a recipient's copy takes, segment by segment, the
 * variant its payload's codeword bit names (variantFor); detect() reads the payload back from a
 * leaked copy with the original beside it.
 */
export { CODEWORD_BITS, encodePayload, PAYLOAD_BITS, softDecode, variantFor, type SoftDecision } from './ecc.js';
export { DEFAULT_STRENGTH, markFilter, MAX_STRENGTH, payloadFor, segmentSeed, type MarkFilter, type MarkOptions } from './pattern.js';
export { OriginalFrameCache } from './frames.js';
export { detect, DETECT_THRESHOLD, MIN_POSTERIOR, RESIDUAL_MIN_CUTOFF, RESIDUAL_SIGMAS, type Detection, type DetectOptions, type SegmentResult } from './detect.js';
