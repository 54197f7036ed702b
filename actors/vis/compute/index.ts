/** VIS inspection: probe (container facts) → scan (decode pass) → analyse (pure result + issues). */
export { probe } from './probe.js';
export { scan, SAMPLED_FRAMES } from './scan.js';
export { analyse } from './analyse.js';
export { findIssues, verdictOf } from './issues.js';
export type { IssueContext, IssueRule } from './issue-kit.js';
export { describePixelFormat, bitDepthOf, chromaHalving, type PixelFormatInfo } from './pixel-format.js';
export { frameRateMode, isStandardFrameRate, STANDARD_FRAME_RATES, type FrameRateVerdict } from './frame-rate.js';
export { detectScanType, scanTypeFromHeader, scanTypeFromIdet, isInterlaced } from './scan-type.js';
export { timingStats, packetTimestamp } from './timing.js';
export { isImageSequencePath, sequenceFramePath, openSource, scrubPath, type OpenedSource } from './source.js';
export { parseLogLine, parseIdetMulti, ScanLogReader, ProgressReader } from './scan-log.js';
export { parseStream, parseFormat, parseSideData, parseProbeJson } from './ffprobe-parse.js';
export type {
  InspectInput,
  ProbeData,
  ProbeStream,
  PacketTiming,
  ScanData,
  StreamType,
  MasteringDisplay,
  ContentLightLevel,
} from './types.js';
