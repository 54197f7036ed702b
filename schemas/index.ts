export * from './common.js';
export * from './api.js';
export * as vis from './vis.js';
export * as ves from './ves.js';
export * as vvs from './vvs.js';
