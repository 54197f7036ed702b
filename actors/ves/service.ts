/** VES as a vpipe service: identity, admission, and the machine provided with its steps. */
import os from 'node:os';
import path from 'node:path';
import { fromPromise } from 'xstate';
import { encoderFor } from '../../encoders/index.js';
import { shapeFor } from '../../encoders/shapes.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { resolveMedia, resolveOutput } from '../../runtime/media/mod.js';
import { type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { CODECS, EncodeRequest, type Container } from '../../schemas/ves.js';
import { chunkHandler } from './chunk-worker.js';
import { ChunkWorkItem, chunkKey, encodeFunction, type ChunkResult } from './messages.js';
import { decodeInternal, encodePayload } from '../../runtime/nats/mod.js';
import { assembleOutput, awaitChunks, cleanUp, cleanUpEnded, dispatch, plan, validateOutput } from './steps.js';
import { encodingMachine, type VesJobInput } from './workflow.js';
import { resolveDrawing } from './admit-drawing.js';

export const VES_VERSION = '1.0.0';

function containerFor(outputPath: string, asked: Container | undefined): Container {
  if (asked) return asked;
  const ext = path.extname(outputPath).toLowerCase();
  return ext === '.mp4' || ext === '.m4v' ? 'mp4' : ext === '.mov' ? 'mov' : ext === '.mkv' || ext === '.webm' ? 'mkv' : 'raw';
}

export const vesService: ServiceDefinition<EncodeRequest, VesJobInput> = {
  ...serviceIdentity({ id: 'ves', endpoint: 'encode', version: VES_VERSION, request: EncodeRequest, description: 'Video Encoding Service: source + recipe → encoded video, chunked and encoded in parallel, validated by VVS' }),

  async admit(req, { mediaRoot }) {
    const source = await resolveMedia(req.source.uri, mediaRoot);
    if (source.imageSequence) {
      throw new VpipeError(ErrorCodes.SchemaInvalid, 'VES encodes container files; image sequences are not supported yet', { details: [{ path: 'source.uri', message: 'image sequence' }] });
    }
    const outputPath = await resolveOutput(req.output.uri, mediaRoot);
    if (outputPath === source.path) throw new VpipeError(ErrorCodes.SchemaInvalid, 'the output would overwrite the source', { details: [{ path: 'output.uri', message: 'same file as source.uri' }] });
    const container = containerFor(outputPath, req.output.container);
    const encoder = encoderFor(req.recipe.codec);
    if (encoder.containers && !encoder.containers.includes(container)) {
      throw new VpipeError(ErrorCodes.SchemaInvalid, `${req.recipe.codec} is delivered in ${encoder.containers.join(' or ')}, not ${container}`, { details: [{ path: 'output.uri', message: `container ${container}` }] });
    }
    const probe = await encoder.probe();
    if (!probe.available) throw new VpipeError(ErrorCodes.ToolMissing, `${req.recipe.codec} cannot be encoded here: ${probe.reason ?? 'encoder missing from this ffmpeg build'}`);
    const drawing = await resolveDrawing(req.recipe, source.path, mediaRoot);
    return {
      input: {
        sourcePath: source.path,
        sourceUri: req.source.uri,
        outputPath,
        outputUri: req.output.uri,
        container,
        recipe: req.recipe,
        priority: req.priority ?? 'normal',
        validate: req.validate ?? true,
        ...(req.output.keepChunks ? { keepChunks: true } : {}),
        ...drawing,
      },
      priority: req.priority ?? 'normal',
    };
  },

  workFunctions: CODECS.map(encodeFunction),

  /** One encoder-actor pool per codec this ffmpeg build can encode. */
  async workers(ctx) {
    const workerId = `${os.hostname()}:${process.pid}`;
    const out = [];
    for (const codec of CODECS) {
      const probe = await encoderFor(codec).probe();
      // The pool's nominal shape (a 720p chunk of its codec) is the autoscaler's first estimate; each item then reserves its own.
      if (probe.available) out.push({ fn: encodeFunction(codec), handler: chunkHandler(ctx, workerId), shape: shapeFor(codec, 1280, 720) });
      else ctx.log.warn({ codec, reason: probe.reason }, 'encoder unavailable; this node takes no chunks for it');
    }
    return out;
  },

  /** A dead chunk is recorded as failed, so the job's reduce fails with the reason instead of waiting. */
  async onDeadLetter(ctx, _fn, data, reason) {
    try {
      const item = decodeInternal(ChunkWorkItem, data);
      const failed: ChunkResult = { index: item.chunk.index, ok: false, error: { code: ErrorCodes.DeadLetter, message: reason, retryable: false }, finishedAt: Date.now() };
      await ctx.topology.chunks.put(chunkKey(item.jobId, item.chunk.index), encodePayload(failed, 'msgpack'));
    } catch (e) {
      ctx.log.error({ err: e }, 'could not record a dead chunk');
    }
  },

  ended: (ctx, jobId, input) => cleanUpEnded(ctx, jobId, input as VesJobInput),

  workflow(deps) {
    return encodingMachine.provide({
      actors: {
        plan: fromPromise(({ input, signal }) => plan(input, deps, signal)),
        dispatch: fromPromise(({ input, signal }) => dispatch(input.job, input.plan, deps, signal)),
        awaitChunks: fromPromise(({ input, signal }) => awaitChunks(input.job, input.plan, deps, signal)),
        assemble: fromPromise(async ({ input, signal }) => {
          const out = await assembleOutput(input.job, input.plan, input.encoded, signal);
          if (!input.job.validate) await cleanUp(input.plan, deps, { job: input.job, encoded: input.encoded });
          return out;
        }),
        validate: fromPromise(async ({ input, signal }) => {
          await cleanUp(input.plan, deps, { job: input.job, encoded: input.encoded });
          return validateOutput(input.job, input.plan, deps, signal);
        }),
      },
    });
  },
};
