/** VVS as a vpipe service: identity, admission, and the machine provided with the real measure and compare functions. */
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { resolveMedia } from '../../runtime/media/mod.js';
import { type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { ValidateRequest } from '../../schemas/vvs.js';
import { getFrameIndex } from '../../runtime/nats/mod.js';
import { compare, measure } from './compute/index.js';
import { measureContent } from './compute/content.js';
import { validationMachine, type VvsJobInput } from './workflow.js';

export const VVS_VERSION = '1.0.0';

export const vvsService: ServiceDefinition<ValidateRequest, VvsJobInput> = {
  ...serviceIdentity({ id: 'vvs', endpoint: 'validate', version: VVS_VERSION, request: ValidateRequest, description: 'Video Validation Service: checks an encode against expectations (codec, profile, level, size, frames, duration, bitrate, GOP, keyframes, clean decode)' }),

  /** Resolves the video under the media root; throws MEDIA_URI_FORBIDDEN / MEDIA_NOT_FOUND, or BAD_REQUEST for an image sequence. */
  async admit(req, { mediaRoot }) {
    const media = await resolveMedia(req.video.uri, mediaRoot);
    if (media.imageSequence) {
      // An image sequence has no codec, GOP or bitrate to validate.
      throw new VpipeError(ErrorCodes.BadRequest, 'VVS validates encoded video files, not image sequences', {
        details: [{ path: 'video.uri', message: 'names an image-sequence pattern (%d / %0Nd); name an encoded video file' }],
      });
    }
    const input: VvsJobInput = { uri: req.video.uri, path: media.path, expectations: req.expectations };
    if (req.expectations.content) input.contentSourcePath = (await resolveMedia(req.expectations.content.source.uri, mediaRoot)).path;
    return { input, priority: req.priority ?? 'normal' };
  },

  workflow(deps) {
    return validationMachine.provide({
      actors: {
        measure: fromPromise(async ({ input, signal }) => {
          const m = await measure(
            { path: input.path, uri: input.uri, decode: input.expectations.decodesWithoutErrors === true, signal },
            undefined,
            (f) => deps.progress('measuring', f * (input.expectations.content ? 0.5 : 1)),
          );
          const want = input.expectations.content;
          if (!want || !input.contentSourcePath || m.unreadable !== null) return m;
          const index = await getFrameIndex(deps.runtime.topology, want.contentHash);
          if (!index) throw new VpipeError(ErrorCodes.BadRequest, 'no frame index for expectations.content.contentHash: inspect the source with VIS first', { details: [{ path: 'expectations.content.contentHash', message: 'unknown content' }] });
          const content = await measureContent(
            { path: input.path, sourcePath: input.contentSourcePath, index, width: m.width, height: m.height, checkTimes: want.checkTimes !== false, chunkStarts: want.chunkStarts ?? [], maskRegions: want.maskRegions ?? [], signal },
            want.psnrFloorDb ?? 20,
          );
          deps.progress('measuring', 1);
          return { ...m, content };
        }),
        compare: fromPromise(async ({ input }) => compare(input.job.expectations, input.measure)),
      },
    });
  },
};
