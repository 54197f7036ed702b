/** Public names of runtime/nats/ (generated from what the rest of the tree uses; keep it the only way in). */
export { drainWithin } from './close.js';
export { createRuntimeContext, natsClientTuning, type RuntimeContext } from './context.js';
export { contentHash, getFrameIndex, putFrameIndex } from './frame-index-store.js';
export { isNoResponders, isStreamFull, isTransient, isWrongLastSequence, withJsRetry } from './js-retry.js';
export { kvPutSubject, kvStream } from './publisher.js';
export { monitorQueueDepths, readQueueDepths } from './queue-depth.js';
export { REPO_ROOT, freePort, startNatsServer, type NatsServerHandle } from './server.js';
export { Subjects, KV_CHUNKS, STREAM_EVENTS, STREAM_WORK, eventSubject, progressSubject, topologyFromEnv, workConsumer, workSubject, type TopologyOptions } from './topology.js';
export { IDEMPOTENCY_HEADER, contentHeaders, decodeInternal, decodePayload, detectEncoding, encodePayload, validate, type Encoding } from './wire.js';
