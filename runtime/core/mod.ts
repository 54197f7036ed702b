/** Public names of runtime/core/ (generated from what the rest of the tree uses; keep it the only way in). */
export { ErrorCodes, VpipeError } from './errors.js';
export { rootLogger, type Logger } from './logger.js';
export { metrics, serveMetrics } from './metrics.js';
