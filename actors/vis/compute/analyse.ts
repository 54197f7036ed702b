/**
 * Step 3 of inspection: pure assembly of the InspectResult from the probe and
 * scan snapshots. No I/O, so it can be re-run on persisted data and tested
 * with hand-written inputs.
 */
import { Timecode, type HdrMetadata } from '../../../schemas/common.js';
import type { AudioStreamInfo, InspectResult, VideoStreamInfo } from '../../../schemas/vis.js';
import { frameRateMode, type FrameRateVerdict } from './frame-rate.js';
import { findIssues, verdictOf } from './issues.js';
import { bitDepthOf, describePixelFormat } from './pixel-format.js';
import { detectScanType } from './scan-type.js';
import type { InspectInput, ProbeData, ProbeStream, ScanData } from './types.js';

function hdrOf(s: ProbeStream): HdrMetadata {
  const format: HdrMetadata['format'] = s.dolbyVision
    ? 'dolby_vision'
    : s.colour.transfer === 'smpte2084'
      ? s.masteringDisplay || s.contentLightLevel
        ? 'hdr10'
        : 'pq'
      : s.colour.transfer === 'arib-std-b67'
        ? 'hlg'
        : 'sdr';
  return { format, masteringDisplay: s.masteringDisplay, contentLightLevel: s.contentLightLevel };
}

interface PrimaryFacts {
  scan: ScanData;
  frameRate: FrameRateVerdict;
  packets: number | null;
}

function videoInfo(s: ProbeStream & { width: number; height: number }, primary: PrimaryFacts | null): { info: VideoStreamInfo; fromPictures: boolean } {
  const pix = describePixelFormat(s.pixFmt);
  const scan = primary?.scan ?? null;
  const { scanType, fromPictures } = detectScanType(scan?.idet ?? null, s.fieldOrder);
  // Decoded frames when every frame was decoded; otherwise the packet count (one packet per frame in practice).
  const frameCount = scan?.mode === 'full' ? scan.framesDecoded : (primary?.packets ?? null);
  const info: VideoStreamInfo = {
    index: s.index,
    codec: s.codec ?? 'unknown',
    profile: s.profile,
    level: s.level,
    resolution: { width: s.width, height: s.height },
    sar: s.sar,
    dar: s.dar,
    frameRate: s.rFrameRate,
    avgFrameRate: s.avgFrameRate,
    frameRateMode: (primary?.frameRate ?? frameRateMode(null, s.rFrameRate, s.avgFrameRate)).mode,
    frameCount,
    frameCountHeader: s.frameCountHeader,
    pixelFormat: s.pixFmt,
    bitDepth: bitDepthOf(s.pixFmt, s.bitsPerRawSample),
    chromaSubsampling: pix.chroma,
    scanType,
    fieldOrderHeader: s.fieldOrder,
    idet: scan?.idet ?? null,
    colour: s.colour,
    hdr: hdrOf(s),
    rotationDegrees: s.rotationDegrees,
    durationSeconds: s.durationSeconds,
    bitRate: s.bitRate,
    startTimeSeconds: s.startTimeSeconds,
    decodeErrors: scan?.mode === 'full' ? scan.decodeErrors : null,
  };
  return { info, fromPictures };
}

function audioInfo(s: ProbeStream): AudioStreamInfo {
  return {
    index: s.index,
    codec: s.codec ?? 'unknown',
    profile: s.profile,
    sampleRate: s.sampleRate,
    layout: { channels: Math.min(64, Math.max(0, s.channels ?? 0)), layout: s.channelLayout },
    durationSeconds: s.durationSeconds,
    bitRate: s.bitRate,
    language: s.language,
  };
}

/** Container tag first (what editors write), then the primary stream, then any other (e.g. a tmcd track); only well-formed values. */
function timecodeOf(probe: ProbeData): string | null {
  const primaryFirst = [...probe.streams].sort((a, b) => Number(b.index === probe.primaryVideoIndex) - Number(a.index === probe.primaryVideoIndex));
  const candidates = [probe.container?.tags.timecode ?? null, ...primaryFirst.map((s) => s.timecode)];
  return candidates.find((tc): tc is string => tc !== null && Timecode.safeParse(tc).success) ?? null;
}

const hasSize = (s: ProbeStream): s is ProbeStream & { width: number; height: number } =>
  s.width !== null && s.height !== null && s.width <= 16384 && s.height <= 16384;

/** Builds the full result; pure and total: any ProbeData/ScanData pair gives a result that parses as InspectResult. */
export function analyse(input: Pick<InspectInput, 'uri'>, probe: ProbeData, scan: ScanData): InspectResult {
  const primaryProbe = probe.streams.find((s) => s.index === probe.primaryVideoIndex) ?? null;
  const frameRate = primaryProbe ? frameRateMode(probe.timing, primaryProbe.rFrameRate, primaryProbe.avgFrameRate) : null;

  let fromPictures = false;
  const video: VideoStreamInfo[] = [];
  for (const s of probe.streams) {
    if (s.type !== 'video' || s.attachedPic || !hasSize(s)) continue;
    const isPrimary = s.index === probe.primaryVideoIndex && frameRate !== null;
    const facts = isPrimary ? { scan, frameRate, packets: probe.timing?.packets ?? null } : null;
    const built = videoInfo(s, facts);
    if (isPrimary) fromPictures = built.fromPictures;
    video.push(built.info);
  }
  const audio = probe.streams.filter((s) => s.type === 'audio').map(audioInfo);
  const primary = video.find((v) => v.index === probe.primaryVideoIndex) ?? null;

  const issues = findIssues({ probe, scan, video, audio, primary, primaryProbe, frameRate, scanTypeFromPictures: fromPictures });
  const result: InspectResult = {
    source: { uri: input.uri, imageSequence: probe.imageSequence },
    container: probe.container,
    video,
    audio,
    timecode: timecodeOf(probe),
    issues,
    verdict: verdictOf(issues),
    tools: { ffprobe: probe.ffprobeVersion },
  };
  if (scan.frameIndex) result.frameIndex = scan.frameIndex;
  if (scan.frameIndexError) result.frameIndexError = scan.frameIndexError;
  return result;
}
