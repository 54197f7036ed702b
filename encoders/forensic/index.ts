/**
 * Forensic A/B watermarking: an invisible, per-recipient mark in the spirit of DASH-IF / ETSI
 * TS 104 002. Every segment (encoder chunk) is encoded twice, with the keyed luma pattern of
 * variant 0 and of variant 1 (markFilter); a recipient's copy takes, segment by segment, the
 * variant its payload's codeword bit names (variantFor); detect() reads the payload back from a
 * leaked copy with the original beside it.
 *
 * For the encoder side:
 * - `markFilter({ titleSeed, segment, variant, width, height }, workDir, inputIndex)` writes one
 *   raw gray16le frame (width × height, 2 bytes a pixel) into a fresh `forensic-*` folder under
 *   workDir and returns `inputArgs` (`-f rawvideo -pixel_format gray16le -color_range tv
 *   -video_size WxH -framerate 1 -protocol_whitelist file -i file:…`), to be placed so the
 *   pattern is input number `inputIndex`, and `filter(in, out)`: two chains
 *   `[N:v]setpts…,scale…[out_fpat];[in][out_fpat]blend=…[out]` for `-filter_complex`, labels
 *   without brackets ([A-Za-z0-9_]). The picture at `[in]` must be exactly width × height (after
 *   the scale to the output size, before burn-in); any 8/10-bit planar YUV format goes through
 *   unchanged but for luma. The single frame lasts the whole segment, whatever its timestamps.
 *   Delete the folder after the encode.
 * - `segment` is the chunk's index in the title (0, 1, …) and must be the same number the
 *   detector is given for those frames; both variants of a chunk must cover exactly the same
 *   source frames.
 * - A payload needs CODEWORD_BITS (48) segments; a longer title repeats the codeword (segment k
 *   carries bit k mod 48), which only strengthens it. Fewer segments leave codeword bits unknown:
 *   up to 7 per Golay half can be missing (any 14 consecutive segments, as halves interleave)
 *   and the payload may still decode, beyond that detect() reports "ambiguous".
 * - `payloadFor(recipient, titleSeed, salt)` gives the 24-bit payload; if two recipients of a title
 *   collide, bump the later one's salt and store the payload.
 *
 * For the detector side: the leak, the original it was made from, the segments' source frame
 * ranges, the title seed and the mark size. Leak frames are lined up with the original's by time
 * relative to each file's first frame (by frame number where there are no times), so the leak is
 * taken to start where the title starts; for a clip from later on, give `leakStartFrame` (the
 * original frame its first frame shows). `detected` is true only when the
 * codeword correlation reaches DETECT_THRESHOLD (9 σ: below 5·10⁻¹¹ false alarms per leak over
 * all 2^24 payloads), `payload` only when its posterior is ≥ MIN_POSTERIOR. Reuse one
 * OriginalFrameCache across the leaks of one title to decode the original once per leak size.
 */
export { CODEWORD_BITS, encodePayload, PAYLOAD_BITS, softDecode, variantFor, type SoftDecision } from './ecc.js';
export { DEFAULT_STRENGTH, markFilter, MAX_STRENGTH, payloadFor, segmentSeed, type MarkFilter, type MarkOptions } from './pattern.js';
export { OriginalFrameCache } from './frames.js';
export { detect, DETECT_THRESHOLD, MIN_POSTERIOR, RESIDUAL_MIN_CUTOFF, RESIDUAL_SIGMAS, type Detection, type DetectOptions, type SegmentResult } from './detect.js';
