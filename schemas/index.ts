export * from './common.js';
export * from './api.js';
export * as vis from './vis.js';
