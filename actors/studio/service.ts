/** The studio orchestrator as a vpipe service: identity, its two job endpoints, admission, and the machine provided with its steps. */
import path from 'node:path';
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { cancelChildren, type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { resolveMedia, resolveOutput, resolveOutputDir } from '../../runtime/media/mod.js';
import { Subjects } from '../../runtime/nats/mod.js';
import { DetectRequest, StudioRequest } from '../../schemas/studio.js';
import { resolveDrawing } from '../ves/admit-drawing.js';
import { STUDIO_RECIPES } from './recipes.js';
import { detect, encode, inspect, mark, report, vesRecipe } from './steps.js';
import { type StudioJobInput, studioMachine } from './workflow.js';

export const STUDIO_VERSION = '1.0.0';

/** The output file: the request's (with the recipe's extension), or `<dir>/<source name>.<recipe>.<ext>` for a directory. */
async function outputFile(uri: string, sourcePath: string, recipe: keyof typeof STUDIO_RECIPES, mediaRoot: string): Promise<{ path: string; uri: string }> {
  const ext = `.${STUDIO_RECIPES[recipe].container}`;
  if (uri.endsWith('/')) {
    const dir = await resolveOutputDir(uri, mediaRoot);
    const name = `${path.basename(sourcePath, path.extname(sourcePath))}.${recipe}${ext}`;
    return { path: path.join(dir, name), uri: `${uri}${name}` };
  }
  const file = await resolveOutput(uri, mediaRoot);
  if (path.extname(file).toLowerCase() !== ext) {
    throw new VpipeError(ErrorCodes.SchemaInvalid, `output.uri: ${recipe} writes ${STUDIO_RECIPES[recipe].container.toUpperCase()} (${ext}); name the file with that extension, or give a directory ending in '/'`, {
      details: [{ path: 'output.uri', message: `extension must be ${ext}` }],
    });
  }
  return { path: file, uri };
}

export const studioService: ServiceDefinition<StudioRequest, StudioJobInput> = {
  ...serviceIdentity({
    id: 'studio',
    endpoint: 'submit',
    version: STUDIO_VERSION,
    request: StudioRequest,
    description: 'Studio orchestrator: fast editorial proxies (H.264, ProRes, DNxHR) at high priority, with timecode/text burn-ins and visible and forensic watermarks; detect finds the recipient of a leaked copy',
  }),
  moreEndpoints: [
    {
      name: 'detect',
      subject: Subjects.endpoint('studio', 'detect'),
      request: DetectRequest,
      description: 'find the recipient of a leaked copy from its forensic watermark: {leak, original} → job; result {recipient | null, confidence}',
    },
  ],

  async admit(raw, { mediaRoot, endpoint }) {
    if (endpoint === 'detect') {
      const req = raw as unknown as DetectRequest;
      const [leak, original] = await Promise.all([resolveMedia(req.leak.uri, mediaRoot), resolveMedia(req.original.uri, mediaRoot)]);
      const priority = req.priority ?? 'high';
      return { input: { kind: 'detect', leakPath: leak.path, originalPath: original.path, priority }, priority };
    }
    const req = raw;
    const source = await resolveMedia(req.source.uri, mediaRoot);
    if (source.imageSequence) throw new VpipeError(ErrorCodes.BadRequest, 'the studio takes a video file, not an image sequence', { details: [{ path: 'source.uri', message: 'image-sequence pattern' }] });
    const out = await outputFile(req.output.uri, source.path, req.recipe, mediaRoot);
    if (out.path === source.path) throw new VpipeError(ErrorCodes.SchemaInvalid, 'the output would overwrite the source', { details: [{ path: 'output.uri', message: 'same file as source.uri' }] });
    const job: StudioJobInput = {
      kind: 'submit',
      sourceUri: req.source.uri,
      sourcePath: source.path,
      outputUri: out.uri,
      outputPath: out.path,
      recipe: req.recipe,
      ...(req.burnIn ? { burnIn: req.burnIn } : {}),
      ...(req.watermark?.visible ? { visible: req.watermark.visible } : {}),
      ...(req.watermark?.forensic ? { recipient: req.watermark.forensic.recipient } : {}),
      overrideIssues: req.overrideIssues ?? [],
      priority: req.priority ?? 'high',
      admittedAt: Date.now(),
    };
    // Burn-in text, timecode (drop-frame at this source's rate) and the watermark image, refused now rather than mid-job.
    await resolveDrawing(vesRecipe(job, { width: 1920, height: 1080 }), source.path, mediaRoot).catch((e: unknown) => {
      throw e instanceof VpipeError ? new VpipeError(e.code, e.message.replace(/^recipe\./, ''), { details: e.details?.map((d) => ({ ...d, path: d.path.replace(/^recipe\./, '') })) }) : e;
    });
    return { input: job, priority: job.priority };
  },

  /** A failed or cancelled job cancels its VES jobs (which remove their own work files). */
  async ended(ctx, jobId) {
    await cancelChildren(ctx, jobId);
  },

  workflow(deps) {
    return studioMachine.provide({
      actors: {
        inspect: fromPromise(({ input, signal }) => inspect(input, deps, signal)),
        encode: fromPromise(({ input, signal }) => encode(input.job, input.source, deps, signal)),
        mark: fromPromise(({ input, signal }) => mark(input.job, input.encoded, deps, signal)),
        report: fromPromise(({ input }) => report(input.job, input.source, input.encoded, input.marked)),
        detect: fromPromise(({ input, signal }) => detect(input, deps, signal)),
      },
    });
  },
};
