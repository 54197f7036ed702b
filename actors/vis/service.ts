/** VIS as a vpipe service: identity, admission, and the machine provided with the real compute functions. */
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/errors.js';
import { resolveMedia } from '../../runtime/media-root.js';
import type { ServiceDefinition } from '../../runtime/service-definition.js';
import { InspectRequest } from '../../schemas/vis.js';
import { analyse, probe, scan } from './compute/index.js';
import { inspectionMachine, type VisJobInput } from './workflow.js';

export const VIS_VERSION = '1.0.0';

export const visService: ServiceDefinition<InspectRequest, VisJobInput> = {
  id: 'vis',
  name: 'vpipe-vis',
  version: VIS_VERSION,
  description: 'Video Inspection Service: container, stream, scan-type, colour/HDR, audio and timecode metadata with issue flags',
  endpoint: { name: 'inspect', subject: 'vpipe.vis.inspect' },
  request: InspectRequest,

  async admit(req, { mediaRoot }) {
    const media = await resolveMedia(req.source.uri, mediaRoot);
    if (req.imageSequence && !media.imageSequence) {
      throw new VpipeError(ErrorCodes.SchemaInvalid, 'imageSequence is only for URIs with a frame pattern such as frame%08d.png', {
        details: [{ path: 'imageSequence', message: 'source.uri has no %d / %0Nd pattern' }],
      });
    }
    const input: VisJobInput = { uri: req.source.uri, path: media.path, decodeCheck: req.decodeCheck ?? true };
    if (media.imageSequence) input.imageSequence = req.imageSequence ?? {};
    return { input, priority: req.priority ?? 'normal' };
  },

  workflow(deps) {
    const toInput = (job: VisJobInput, signal: AbortSignal) => ({ ...job, signal });
    return inspectionMachine.provide({
      actors: {
        probe: fromPromise(({ input, signal }) => probe(toInput(input, signal))),
        scan: fromPromise(({ input, signal }) =>
          scan(toInput(input.job, signal), input.probe, undefined, (f) => deps.progress('scanning', f)),
        ),
        analyse: fromPromise(async ({ input }) => analyse(toInput(input.job, deps.signal), input.probe, input.scan)),
      },
    });
  },
};
