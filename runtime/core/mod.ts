/** Public names of runtime/core/ (generated from what the rest of the tree uses; keep it the only way in). */
export { CasConflictError, ClaimLostError, ErrorCodes, isCrash, QueueFullError, ServiceRequestError, ToolError, VpipeError, type ErrorCode, type ToolFailure } from './errors.js';
export { rootLogger, type Logger } from './logger.js';
export { counter, gauge, histogram, metrics, registry, serveMetrics, VIDEO_WORK_BUCKETS } from './metrics.js';
export { isRetryable, RetryPolicies, RetryPolicy, type RetryPolicyOptions, sleep } from './retry.js';
