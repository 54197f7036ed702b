/** Public names of runtime/media/ (generated from what the rest of the tree uses; keep it the only way in). */
export { dieWithParent } from './child-lifetime.js';
export { mp4Children, mp4Traks, readMoov } from './mp4-boxes.js';
export { resolveMedia, resolveOutput, resolveOutputDir } from './root.js';
export { configureTools, toolOptions } from './tool-limits.js';
export { assertToolRan, inputArgs, procStat, runTool, toolVersion, type ToolRunner } from './tools.js';
export { type FfprobeJson, type FfprobeStream, parseRational } from './ffprobe.js';
