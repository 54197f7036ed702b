/**
 * Burn-ins (issue 12): SMPTE timecode arithmetic and safe drawtext chains, per chunk. A pure
 * library: VES builds the chain for each chunk from the recipe and the chunk's first source frame.
 */
export {
  countToTimecode,
  formatTimecode,
  framesPerDay,
  frameToTimecode,
  parseTimecode,
  timecodeRate,
  timecodeToFrame,
  type FrameRate,
  type Timecode,
  type TimecodeRate,
} from './timecode.js';
export {
  ANCHORS,
  burnInLayout,
  DEFAULT_FONT_FILE,
  drawtextFilters,
  escapeOptionValue,
  MAX_FONT_PX,
  MAX_LINES,
  MAX_ROWS,
  MAX_TEXT_CHARS,
  MIN_FONT_PX,
  type Anchor,
  type BurnIn,
  type BurnInChunk,
  type BurnInLayout,
  type DrawtextChain,
} from './drawtext.js';
