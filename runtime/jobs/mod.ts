/** Public names of runtime/jobs/ (generated from what the rest of the tree uses; keep it the only way in). */
export { jobIdFor, startApi } from './api-layer.js';
export { cancelChildren, CHILD_TIMEOUT_MS, ChildJobs, childError, childKey, purgeChildRecords } from './children.js';
export { VpipeClient } from './client.js';
export { CANCELLED_ERROR, type CancelEvent, cancelledState, type ErrorContext, notProvided, onCancel, type Outcome, outputOf, recordError, stepError, stepsFor } from './machine-kit.js';
export { runToCompletion } from './run-actor.js';
export { JobRunner, failDeadJob } from './runner.js';
export { type JobOutput, type ServiceDefinition, serviceIdentity, type StepDeps } from './service-definition.js';
