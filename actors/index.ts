/** Every service this build hosts. A node starts the roles it is asked for, for each of these. */
import type { ServiceDefinition } from '../runtime/service-definition.js';
import { visService } from './vis/service.js';

export const ALL_SERVICES: ServiceDefinition[] = [visService as unknown as ServiceDefinition];
