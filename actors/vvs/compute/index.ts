/** VVS validation: measure (ffprobe/ffmpeg facts about the encode) → compare (pure judgement against expectations). */
export { measure, parseRate, scrub } from './measure.js';
export { compare, toMeasured, MISSING_KEYFRAMES_SHOWN, type ExpectationsInput } from './compare.js';
export { PacketCollector, PACKET_ENTRIES, MAX_KEYFRAME_RUNS, longestGop, toRuns, fromRuns, nearestKeyframes, isKeyframe } from './packets.js';
export { FFPROBE_PROFILES, ffprobeProfiles, profileMatches, levelTarget, levelName, type LevelTarget } from './codec-names.js';
export type { MeasureData, MeasureInput, PacketSummary, KeyframeRun, DecodeCheck } from './types.js';
