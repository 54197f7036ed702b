/** Rules about whether the file is whole and has what a deliverable needs: readable, complete, decodable, with streams. */
import type { Issue } from '../../../schemas/vis.js';
import { framePeriod, issue, secs, type IssueContext, type IssueRule } from './issue-kit.js';

const unreadable: IssueRule = ({ probe }) => {
  if (probe.readable) return [];
  const out: Issue[] = [
    issue(
      'error',
      'UNREADABLE_CONTAINER',
      `ffprobe cannot open the container (${probe.error?.message ?? 'unknown error'}): the file is not a media file ffmpeg ` +
        'understands or its structure is destroyed; check it is the intended file and re-export or re-transfer it.',
      { details: { ffprobeError: probe.error?.message ?? null } },
    ),
  ];
  if (probe.error?.likelyTruncated) {
    out.push(
      issue(
        'error',
        'TRUNCATED',
        'The file starts like an MP4/MOV but its index (moov atom) is missing: the recording was never finalised or the file ' +
          'was cut off in transfer. Re-transfer the complete file; if the original is incomplete too, rebuild the index ' +
          'with a recovery tool (e.g. untrunc with a healthy reference file from the same device).',
      ),
    );
  }
  return out;
};

const noVideo: IssueRule = ({ probe, video, audio }) => {
  if (!probe.readable || video.length > 0) return [];
  const coverArt = probe.streams.filter((s) => s.type === 'video' && s.attachedPic).length;
  const undecodable = probe.streams.filter((s) => s.type === 'video' && !s.attachedPic).length;
  const what = [
    `${audio.length} audio stream(s)`,
    coverArt ? `${coverArt} cover-art picture(s)` : null,
    undecodable ? `${undecodable} video stream(s) without usable dimensions (codec parameters not found)` : null,
  ].filter(Boolean);
  return [
    issue(
      'error',
      'NO_VIDEO_STREAM',
      `No video stream found (${what.join(', ')}): this is audio-only material or the video track was lost in an ` +
        'earlier step; supply the file that carries the picture.',
      { details: { audioStreams: audio.length, coverArt, undecodable } },
    ),
  ];
};

const multipleVideo: IssueRule = ({ video, primary }) =>
  video.length > 1 && primary
    ? [
        issue(
          'info',
          'MULTIPLE_VIDEO_STREAMS',
          `${video.length} video streams found (indexes ${video.map((v) => v.index).join(', ')}); vpipe inspects and ` +
            `processes stream #${primary.index}. If another one is the programme, remux so it comes first.`,
          { streamIndex: primary.index },
        ),
      ]
    : [];

const decodeErrors: IssueRule = ({ scan, primary }) => {
  if (scan.mode !== 'full' || !primary) return [];
  // A non-zero exit with no error line (rare) is still a failed decode.
  const count = Math.max(scan.decodeErrors ?? 0, scan.exitCode !== 0 ? 1 : 0);
  if (count === 0) return [];
  const example = scan.errorSamples[0] ? ` (e.g. "${scan.errorSamples[0]}")` : '';
  return [
    issue(
      'error',
      'DECODE_ERRORS',
      `Decoding video stream #${primary.index} logged ${count} error(s)${example} and produced ${scan.framesDecoded ?? 0} ` +
        'frame(s): the bitstream is damaged, so frames are missing or show corruption. Re-export or re-transfer from the source.',
      { streamIndex: primary.index, details: { count, samples: scan.errorSamples, exitCode: scan.exitCode } },
    ),
  ];
};

/** Decoded video must reach within max(0.5 s, 3 frames) and 97% of the declared duration, or the tail is missing. */
const TRUNCATION_SLACK_SECONDS = 0.5;
const TRUNCATION_SLACK_FRAMES = 3;
const TRUNCATION_RATIO = 0.97;

/**
 * MPEG-TS has no duration header, so a cut TS looks complete to ffprobe; but
 * muxers only write whole 188-byte packets (192 for M2TS, 204 with FEC), so
 * a size that is none of those means the copy stopped mid-packet.
 */
function partialTsPacket(probe: IssueContext['probe']): boolean {
  const size = probe.container?.sizeBytes ?? null;
  return probe.container?.format === 'mpegts' && size !== null && size > 0 && [188, 192, 204].every((n) => size % n !== 0);
}

const truncated: IssueRule = ({ probe, scan, primary }) => {
  if (scan.mode !== 'full' || !primary || probe.imageSequence) return [];
  const declared = primary.durationSeconds ?? probe.container?.durationSeconds ?? null;
  const decoded = scan.decodedDurationSeconds;
  const slack = Math.max(TRUNCATION_SLACK_SECONDS, TRUNCATION_SLACK_FRAMES * framePeriod(primary));
  const short = declared !== null && decoded !== null && declared > 0 && decoded < declared - slack && decoded < declared * TRUNCATION_RATIO;
  const partialPacket = partialTsPacket(probe);
  if (!short && !partialPacket && scan.truncationSigns.length === 0) return [];
  const parts: string[] = [];
  if (short) parts.push(`decoded video ends at ${secs(decoded ?? 0)} but the container declares ${secs(declared ?? 0)}`);
  if (partialPacket) parts.push(`the transport stream's size (${probe.container?.sizeBytes} bytes) is not a whole number of TS packets`);
  if (scan.truncationSigns.length) parts.push(`ffmpeg reported "${scan.truncationSigns[0]}"`);
  return [
    issue(
      'error',
      'TRUNCATED',
      `The file ends early: ${parts.join('; ')}. It was probably cut off while copying, uploading or recording; ` +
        're-transfer the complete file.',
      { streamIndex: primary.index, details: { decodedSeconds: decoded, declaredSeconds: declared, partialTsPacket: partialPacket, signs: scan.truncationSigns } },
    ),
  ];
};

/** Off-by-one is tolerated (edit lists may hide a frame); beyond that, or 0.2% of long files, frames are missing or extra. */
const frameCountMismatch: IssueRule = ({ scan, primary }) => {
  if (scan.mode !== 'full' || !primary || primary.frameCountHeader === null || primary.frameCount === null) return [];
  const header = primary.frameCountHeader;
  const decoded = primary.frameCount;
  const tolerance = Math.max(1, Math.round(header * 0.002));
  if (Math.abs(header - decoded) <= tolerance) return [];
  return [
    issue(
      'warning',
      'FRAME_COUNT_MISMATCH',
      `The container declares ${header} frames but ${decoded} decoded: ${decoded < header ? 'frames are lost or undecodable' : 'the header is stale'}; ` +
        'downstream tools that trust the header will mis-time or mis-seek. Re-mux (or re-export) to rebuild the index.',
      { streamIndex: primary.index, details: { header, decoded } },
    ),
  ];
};

const zeroDuration: IssueRule = ({ probe, scan, primary }) => {
  if (!probe.readable) return [];
  const declared = probe.container?.durationSeconds ?? null;
  const emptyDecode = scan.mode === 'full' && scan.framesDecoded === 0 && (scan.decodeErrors ?? 0) === 0;
  if (!((declared !== null && declared <= 0) || primary?.durationSeconds === 0 || emptyDecode)) return [];
  return [
    issue(
      'error',
      'ZERO_DURATION',
      `The file has no duration (container: ${declared ?? 'unknown'} s, ${scan.framesDecoded ?? 'unknown'} frames decoded): ` +
        'it holds no playable media, typically a recording that never started or an export that failed; re-export it.',
    ),
  ];
};

/** Audio and video should end together within max(0.25 s, 2 frames); beyond that players pad or cut and sync checks fail. */
const avDuration: IssueRule = ({ primary, audio }) => {
  if (!primary || primary.durationSeconds === null) return [];
  const slack = Math.max(0.25, 2 * framePeriod(primary));
  const v = primary.durationSeconds;
  return audio
    .filter((a) => a.durationSeconds !== null && Math.abs((a.durationSeconds ?? 0) - v) > slack)
    .map((a) =>
      issue(
        'warning',
        'AV_DURATION_MISMATCH',
        `Audio stream #${a.index} lasts ${secs(a.durationSeconds ?? 0)} but video lasts ${secs(v)} ` +
          `(${secs(Math.abs((a.durationSeconds ?? 0) - v))} apart, more than ${secs(slack)}): check the export range; ` +
          'trim or pad the shorter stream so both end together.',
        { streamIndex: a.index, details: { audioSeconds: a.durationSeconds, videoSeconds: v } },
      ),
    );
};

const noAudio: IssueRule = ({ probe, video, audio }) =>
  probe.readable && !probe.imageSequence && video.length > 0 && audio.length === 0
    ? [issue('info', 'NO_AUDIO_STREAM', 'No audio stream: fine for picture-only deliverables; otherwise remux the audio in before delivery.')]
    : [];

export const integrityRules: IssueRule[] = [
  unreadable,
  noVideo,
  multipleVideo,
  decodeErrors,
  truncated,
  frameCountMismatch,
  zeroDuration,
  avDuration,
  noAudio,
];
