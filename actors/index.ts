/** Every service this build hosts. A node starts the roles it is asked for, for each of these. */
import type { ServiceDefinition } from '../runtime/service-definition.js';
import { vesService } from './ves/service.js';
import { visService } from './vis/service.js';
import { vvsService } from './vvs/service.js';

export const ALL_SERVICES: ServiceDefinition[] = [visService, vesService, vvsService] as unknown as ServiceDefinition[];
