/** Shared shapes and helpers for the issue rules (kept apart so rule files do not import their aggregator). */
import type { Severity } from '../../../schemas/common.js';
import type { AudioStreamInfo, Issue, IssueCode, VideoStreamInfo } from '../../../schemas/vis.js';
import type { FrameRateVerdict } from './frame-rate.js';
import type { ProbeData, ProbeStream, ScanData } from './types.js';

export interface IssueContext {
  probe: ProbeData;
  scan: ScanData;
  video: VideoStreamInfo[];
  audio: AudioStreamInfo[];
  /** The stream the scan decoded (its info and its raw probe data), when there is one. */
  primary: VideoStreamInfo | null;
  primaryProbe: ProbeStream | null;
  frameRate: FrameRateVerdict | null;
  /** True when the scan type came from idet, not just the header. */
  scanTypeFromPictures: boolean;
}

export type IssueRule = (ctx: IssueContext) => Issue[];

/** Builds an Issue, leaving streamIndex/details out when not given (the schema has them optional). */
export function issue(
  severity: Severity,
  code: IssueCode,
  message: string,
  extra: { streamIndex?: number | null; details?: Record<string, unknown> } = {},
): Issue {
  const out: Issue = { severity, code, message };
  if (extra.streamIndex !== undefined && extra.streamIndex !== null) out.streamIndex = extra.streamIndex;
  if (extra.details) out.details = dropUndefined(extra.details);
  return out;
}

/** Details must survive a JSON round trip unchanged, so undefined values are dropped rather than silently lost later. */
function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Seconds for messages: "1.50 s". */
export const secs = (s: number): string => `${s.toFixed(2)} s`;

/** Frame period of the primary stream, falling back to 25 fps when nothing says. */
export function framePeriod(v: VideoStreamInfo | null): number {
  const r = v?.frameRate ?? v?.avgFrameRate;
  return r && r.num > 0 ? r.den / r.num : 1 / 25;
}
