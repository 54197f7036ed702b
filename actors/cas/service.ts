/** CAS as a vpipe service: identity, admission, clean-up, and the machine provided with its steps. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fromPromise } from 'xstate';
import { encoderFor } from '../../encoders/index.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { resolveMedia } from '../../runtime/media/mod.js';
import { AnalyzeRequest } from '../../schemas/cas.js';
import { resolveGrid } from './compute/grid.js';
import { probeSourceInfo } from './compute/source.js';
import { cleanUpEnded, cut, finish, indexSample, plan } from './steps.js';
import { runTrials } from './trials.js';
import { analysisMachine, type CasJobInput } from './workflow.js';

export const CAS_VERSION = '1.0.0';

/** Where analyses work, under the media root (VES and VQS only read and write there): `<root>/.vpipe-work/cas/<jobId>`. */
export const WORK_AREA = path.join('.vpipe-work', 'cas');

export const casService: ServiceDefinition<AnalyzeRequest, CasJobInput> = {
  ...serviceIdentity({ id: 'cas', endpoint: 'analyze', version: CAS_VERSION, request: AnalyzeRequest, description: 'Complexity Analysis Service: a source pre-encoded over a grid of resolutions × CRFs on a sample (VES), measured (VQS), stored once per content' }),

  /** Resolves and probes the source (a header read), resolves the grid against it, and checks the codec can be encoded here. */
  async admit(req, { mediaRoot }) {
    if (req.perShot) {
      throw new VpipeError(ErrorCodes.BadRequest, 'perShot analysis (scene-cut segments) is not implemented yet; send perShot: false or leave it out for a sampled analysis of the title', {
        details: [{ path: 'perShot', message: 'not implemented yet' }],
      });
    }
    const media = await resolveMedia(req.source.uri, mediaRoot);
    if (media.imageSequence) throw new VpipeError(ErrorCodes.BadRequest, 'CAS analyses video files, not image sequences', { details: [{ path: 'source.uri', message: 'image-sequence pattern' }] });
    const probe = await encoderFor(req.codec).probe();
    if (!probe.available) throw new VpipeError(ErrorCodes.ToolMissing, `${req.codec} cannot be encoded here: ${probe.reason ?? 'encoder missing from this ffmpeg build'}`, { details: [{ path: 'codec', message: 'no encoder' }] });
    const info = await probeSourceInfo(media.path);
    const input: CasJobInput = {
      sourcePath: media.path,
      sourceUri: req.source.uri,
      codec: req.codec,
      info,
      grid: resolveGrid(req.codec, req.grid, info),
      priority: req.priority ?? 'low',
      allowWithoutVmaf: req.allowWithoutVmaf ?? false,
      workRoot: path.join(await fs.realpath(mediaRoot), WORK_AREA),
    };
    if (req.sample) input.sample = req.sample;
    return { input, priority: input.priority };
  },

  ended: (ctx, jobId, input) => cleanUpEnded(ctx, jobId, input as CasJobInput),

  workflow(deps) {
    return analysisMachine.provide({
      actors: {
        plan: fromPromise(({ input, signal }) => plan(input, deps, signal)),
        cut: fromPromise(({ input, signal }) => cut(input.job, input.plan, deps, signal)),
        index: fromPromise(({ input, signal }) => indexSample(input.job, input.plan, input.sample, deps, signal)),
        trials: fromPromise(({ input, signal }) => runTrials(input.job, input.plan, input.sample, deps, signal)),
        store: fromPromise(({ input }) => finish(input.job, input.plan, input.sample, input.index, input.trials, deps)),
      },
    });
  },
};
