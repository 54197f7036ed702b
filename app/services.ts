/** Every service this build hosts. A node starts the roles it is asked for, for each of these. */
import type { ServiceDefinition } from '../runtime/jobs/mod.js';
import { vesService } from '../actors/ves/service.js';
import { visService } from '../actors/vis/service.js';
import { vvsService } from '../actors/vvs/service.js';
import { vqsService } from '../actors/vqs/service.js';
import { casService } from '../actors/cas/service.js';
import { lgsService } from '../actors/lgs/service.js';
import { streamingService } from '../actors/streaming/service.js';
import { studioService } from '../actors/studio/service.js';

export const ALL_SERVICES: ServiceDefinition[] = [visService, vesService, vvsService, vqsService, casService, lgsService, streamingService, studioService];
