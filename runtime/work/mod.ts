/** Public names of runtime/work/ (generated from what the rest of the tree uses; keep it the only way in). */
export { WorkWorker, retryBackoffMs, type RestartIntensity, type Settlement, type WorkHandler } from './host.js';
export { type WorkMessage } from './message.js';
export { PriorityPuller } from './puller.js';
