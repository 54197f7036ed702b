/**
 * Rules about what the frame index found while VIS decoded every frame: key frames that are
 * not random-access points, packets the decoder never shows, edit lists, timestamps that do
 * not increase or jitter, and an index that could not be built at all. They read only
 * `scan.frameIndex.stats` and `scan.frameIndexError`, so a clean index raises none of them.
 */
import type { FrameIndexSummary } from '../../../schemas/frame-index.js';
import { issue, type IssueContext, type IssueRule } from './issue-kit.js';

/** Frame numbers quoted in a message (details carry all the stats hold). */
const EXAMPLES = 5;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function examples(frames: number[], total: number): string {
  const shown = frames.slice(0, EXAMPLES).join(', ');
  return total > EXAMPLES || frames.length > EXAMPLES ? `${shown}, …` : shown;
}

/** The stream the index describes: the scan's, else the primary's. */
function streamOf({ scan, primary }: IssueContext): number | null {
  return scan.streamIndex ?? primary?.index ?? null;
}

function indexOf(ctx: IssueContext): FrameIndexSummary | null {
  return ctx.scan.frameIndex ?? null;
}

/** Nominal frame duration in ticks, from the index's own length (frames over duration). */
function nominalTicks(ix: FrameIndexSummary): number | null {
  if (ix.frames <= 0 || ix.durationSeconds <= 0 || ix.timeBase.num <= 0) return null;
  return Math.round((ix.durationSeconds * ix.timeBase.den) / ix.timeBase.num / ix.frames);
}

const syncNotRandomAccess: IssueRule = (ctx) => {
  const ix = indexOf(ctx);
  if (!ix) return [];
  const s = ix.stats;
  const failed = Math.max(s.checkedRandomAccessPoints - s.verifiedRandomAccessPoints, s.failedRandomAccessPoints.length);
  if (s.checkedRandomAccessPoints === 0 || failed === 0) return [];
  const verified = s.verifiedRandomAccessPoints;
  const fallback =
    verified === 0
      ? 'none of them did, so frame 0 is the only verified point and VES has to decode from the start of the file for every chunk (or encode it as one chunk)'
      : `VES starts each chunk's decode at the last of the ${plural(verified, 'verified point')} before it and drops the frames in between`;
  return [
    issue(
      'warning',
      'SYNC_NOT_RANDOM_ACCESS',
      `${failed} of ${s.checkedRandomAccessPoints} key frames checked (of ${s.keyFrames} the decoder flags key) are not random-access points: ` +
        `a seek to them followed by a decode does not reproduce the linear decode (e.g. frames ${examples(s.failedRandomAccessPoints, failed)}). ` +
        `Chunked encoding must pre-roll from an earlier verified point: ${fallback}. Editors, players and splitters that seek to these ` +
        'frames show damaged, missing or wrong pictures. Typical causes: open GOPs, intra refresh, non-IDR I frames marked sync, packed ' +
        'B-frames in AVI. If the source is to be cut or split elsewhere, re-encode it with closed GOPs (IDR key frames), or remux AVI to MP4/MKV.',
      {
        streamIndex: streamOf(ctx),
        details: {
          keyFrames: s.keyFrames,
          checked: s.checkedRandomAccessPoints,
          verified,
          failed,
          failedFrames: s.failedRandomAccessPoints,
        },
      },
    ),
  ];
};

const discardedPackets: IssueRule = (ctx) => {
  const ix = indexOf(ctx);
  if (!ix) return [];
  const s = ix.stats;
  const hidden = s.packets !== null ? Math.max(0, s.packets - s.frames) : 0;
  if (hidden === 0 && s.discardedPackets === 0) return [];
  const packets = s.packets ?? s.frames + s.discardedPackets;
  // Packets the container flags discard are what an edit list asks for; packets hidden beyond
  // those are dropped by the decoder for reasons the container does not state.
  const unexplained = Math.max(0, hidden - s.discardedPackets);
  const shown = Math.max(hidden, s.discardedPackets);
  const why =
    unexplained > 0
      ? `${s.discardedPackets > 0 ? `${s.discardedPackets} are flagged discard by the container (edit list) and ` : ''}` +
        `${unexplained} produce no picture although nothing asks for them to be dropped (damaged or undecodable packets, or a muxer that stored extra data as video)`
      : 'the container flags them discard (an edit list cuts them)';
  return [
    issue(
      unexplained > 0 ? 'warning' : 'info',
      'DISCARDED_PACKETS',
      `${plural(shown, 'video packet')} of ${packets} ${shown === 1 ? 'is' : 'are'} not shown by the decoder: ${why}. ` +
        `The frame count (${s.frames}) is what a decoder shows, and vpipe processes exactly those frames; ` +
        'tools that count packets or trust the header will see more frames than play. Remux with an edit-list-aware tool ' +
        '(e.g. ffmpeg -c copy) if downstream tools need packets and frames to agree.',
      {
        streamIndex: streamOf(ctx),
        details: { packets: s.packets, frames: s.frames, discardedPackets: s.discardedPackets, unexplained },
      },
    ),
  ];
};

const editList: IssueRule = (ctx) => {
  const ix = indexOf(ctx);
  if (!ix || !ix.stats.editList) return [];
  return [
    issue(
      'info',
      'EDIT_LIST',
      'The MP4/MOV edit list cuts or delays media in this track: the decoder shows a different range than the samples ' +
        `stored (${ix.stats.frames} frames shown). vpipe follows what the decoder shows; tools that ignore edit lists ` +
        '(some editors, raw sample extractors) will show extra frames or shift timing. Flatten it with a re-encode if they must agree.',
      { streamIndex: streamOf(ctx), details: { frames: ix.stats.frames, discardedPackets: ix.stats.discardedPackets } },
    ),
  ];
};

const nonIncreasingTimestamps: IssueRule = (ctx) => {
  const ix = indexOf(ctx);
  if (!ix) return [];
  const s = ix.stats;
  if (s.nonIncreasingTimestamps === 0) return [];
  const dup = s.duplicateTimestamps;
  const kind =
    dup === s.nonIncreasingTimestamps
      ? dup === 1
        ? 'it has exactly the previous frame\'s time'
        : 'all of them have exactly the previous frame\'s time'
      : dup > 0
        ? `${dup} of them have exactly the previous frame's time, the rest an earlier one`
        : 'they go back in time';
  return [
    issue(
      'warning',
      'NON_INCREASING_TIMESTAMPS',
      `${plural(s.nonIncreasingTimestamps, 'frame')} ${s.nonIncreasingTimestamps === 1 ? 'has a decoded time that is' : 'have decoded times that are'} ` +
        `not after the previous frame's (${kind}). vpipe keeps every frame and spreads such frames evenly up to the next later one; ` +
        'players and muxers may drop, reorder or mis-time them (MP4 muxers reject equal times). Re-export from the source, or remux ' +
        'rewriting the video timestamps (e.g. ffmpeg\'s setts bitstream filter) so every frame has its own, increasing time.',
      { streamIndex: streamOf(ctx), details: { nonIncreasing: s.nonIncreasingTimestamps, duplicates: dup } },
    ),
  ];
};

const timestampJitter: IssueRule = (ctx) => {
  const ix = indexOf(ctx);
  if (!ix) return [];
  const s = ix.stats;
  if (s.jitteredDurations === 0) return [];
  const nominal = nominalTicks(ix);
  const tb = `${ix.timeBase.num}/${ix.timeBase.den}`;
  return [
    issue(
      'info',
      'TIMESTAMP_JITTER',
      `${plural(s.jitteredDurations, 'frame duration')} of ${Math.max(0, s.frames - 1)} differ by up to ${plural(s.maxJitterTicks, 'tick')} ` +
        `from the nominal one${nominal !== null ? ` (about ${nominal} ticks)` : ''} although the time base (${tb}) could express it exactly: ` +
        'a muxer or timestamp rewrite rounded them. Playback is unaffected and vpipe keeps the decoded times, but tools that derive ' +
        'the frame rate from timestamps may call the stream variable-rate; remux with a constant frame duration if that matters.',
      { streamIndex: streamOf(ctx), details: { jittered: s.jitteredDurations, maxJitterTicks: s.maxJitterTicks, nominalTicks: nominal, timeBase: ix.timeBase } },
    ),
  ];
};

const frameIndexFailed: IssueRule = (ctx) => {
  const reason = ctx.scan.frameIndexError;
  if (!reason) return [];
  return [
    issue(
      'warning',
      'FRAME_INDEX_FAILED',
      `No frame index could be built (${reason}): VES cannot encode this source, because it splits, seeks and times frames only ` +
        'by the index. Fix the cause (a decode that fails shows up as DECODE_ERRORS or TRUNCATED) and inspect again; ' +
        'if the source is damaged, re-export or re-transfer it.',
      { streamIndex: streamOf(ctx), details: { reason } },
    ),
  ];
};

export const indexRules: IssueRule[] = [
  frameIndexFailed,
  syncNotRandomAccess,
  discardedPackets,
  editList,
  nonIncreasingTimestamps,
  timestampJitter,
];

/** The codes these rules can raise. */
export { INDEX_ISSUE_CODES } from '../../../schemas/vis.js';
