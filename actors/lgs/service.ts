/** LGS as a vpipe service: identity, admission, and the machine provided with its steps (CAS over NATS, the ladder maths). */
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { resolveMedia } from '../../runtime/media/mod.js';
import { LadderRequest } from '../../schemas/lgs.js';
import { analyse } from './analysis.js';
import { buildLadder, resolveConstraints } from './compute/index.js';
import { ladderMachine, type LgsJobInput } from './workflow.js';

export const LGS_VERSION = '1.0.0';

export const lgsService: ServiceDefinition<LadderRequest, LgsJobInput> = {
  ...serviceIdentity({
    id: 'lgs',
    endpoint: 'ladder',
    version: LGS_VERSION,
    request: LadderRequest,
    description: 'Ladder Generation Service: a bitrate ladder for one codec from CAS trial encodes (rate–quality curves, their convex hull, rungs as VES recipes)',
  }),

  /** Checks the source lies under the media root (CAS resolves it again itself); throws MEDIA_URI_FORBIDDEN / MEDIA_NOT_FOUND, or BAD_REQUEST for an image sequence. */
  async admit(req, { mediaRoot }) {
    const media = await resolveMedia(req.source.uri, mediaRoot);
    if (media.imageSequence) {
      throw new VpipeError(ErrorCodes.BadRequest, 'LGS builds ladders for video files, not image sequences', { details: [{ path: 'source.uri', message: 'names an image-sequence pattern (%d / %0Nd)' }] });
    }
    const input: LgsJobInput = {
      sourceUri: req.source.uri,
      codec: req.codec,
      allowWithoutVmaf: req.allowWithoutVmaf ?? false,
      priority: req.priority ?? 'normal',
    };
    if (req.constraints) input.constraints = req.constraints;
    return { input, priority: input.priority };
  },

  workflow(deps) {
    return ladderMachine.provide({
      actors: {
        analyse: fromPromise(({ input, signal }) => analyse(input, deps, signal)),
        build: fromPromise(async ({ input: { job, analysis } }) => {
          deps.progress('building', 1);
          return buildLadder({
            codec: job.codec,
            metric: analysis.metric,
            points: analysis.points,
            source: analysis.source,
            constraints: resolveConstraints(job.constraints, analysis.metric, analysis.source),
            encoder: analysis.encoder,
            analysis: { jobId: analysis.jobId, contentHash: analysis.contentHash, cached: analysis.cached, points: analysis.points.length, ...(analysis.cost !== undefined ? { cost: analysis.cost } : {}) },
            notes: analysis.notes,
          });
        }),
      },
    });
  },
};
