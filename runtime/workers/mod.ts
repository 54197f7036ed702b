/** Public names of runtime/workers/ (generated from what the rest of the tree uses; keep it the only way in). */
export { WorkWorker, type CrashPolicy, type DeadItem, type Settlement, type WorkContext, type WorkHandler, type WorkHostOptions } from './host.js';
export { decodeItem, type Decoded } from './decode.js';
export { type WorkMessage } from './message.js';
export { PriorityPuller } from './puller.js';
export { fitShape, UNLIMITED, type Reservation, type Reservations, type Resources, type Shape } from './shape.js';
