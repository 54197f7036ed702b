/** VQS as a vpipe service: identity, admission, the segment workers, and the machine provided with its steps. */
import os from 'node:os';
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { resolveMedia, resolveOutput } from '../../runtime/media/mod.js';
import { MeasureRequest, QUALITY_METRICS, SEGMENT_FRAMES_DEFAULT } from '../../schemas/vqs.js';
import { metricTool, vmafMissingError } from './compute/metric-tool.js';
import { SEGMENT_FUNCTION } from './messages.js';
import { recordDeadSegment, segmentHandler, segmentShape } from './segment-worker.js';
import { cleanUp, dispatch, measure, plan } from './steps.js';
import { measurementMachine, type VqsJobInput } from './workflow.js';

export const VQS_VERSION = '1.0.0';

/** A media file (not an image sequence) under the root; throws MEDIA_* or BAD_REQUEST naming `field`. */
async function mediaFile(uri: string, mediaRoot: string, field: string): Promise<string> {
  const media = await resolveMedia(uri, mediaRoot);
  if (media.imageSequence) {
    throw new VpipeError(ErrorCodes.BadRequest, 'VQS measures video files, not image sequences', { details: [{ path: `${field}.uri`, message: 'names an image-sequence pattern (%d / %0Nd)' }] });
  }
  return media.path;
}

export const vqsService: ServiceDefinition<MeasureRequest, VqsJobInput> = {
  ...serviceIdentity({ id: 'vqs', endpoint: 'measure', version: VQS_VERSION, request: MeasureRequest, description: 'Video Quality Service: reference + distorted video → per-frame and pooled VMAF (libvmaf), PSNR and SSIM, measured in parallel segments' }),

  /** Resolves both videos (and the report path) under the media root; refuses VMAF where this node's metric ffmpeg has none, unless allowed without. */
  async admit(req, { mediaRoot }) {
    const [referencePath, distortedPath] = await Promise.all([mediaFile(req.reference.uri, mediaRoot, 'reference'), mediaFile(req.distorted.uri, mediaRoot, 'distorted')]);
    const metrics = req.metrics ?? [...QUALITY_METRICS];
    if (metrics.includes('vmaf') && !req.allowWithoutVmaf) {
      const tool = await metricTool();
      if (!tool.vmaf.available) throw vmafMissingError(tool.vmaf.reason);
    }
    const input: VqsJobInput = {
      referenceUri: req.reference.uri,
      referencePath,
      distortedUri: req.distorted.uri,
      distortedPath,
      metrics,
      vmaf: { model: req.vmaf?.model ?? 'vmaf_v0.6.1', phoneModel: req.vmaf?.phoneModel ?? false },
      allowWithoutVmaf: req.allowWithoutVmaf ?? false,
      compareAt: req.compareAt ?? 'reference',
      allowFrameCountMismatch: req.allowFrameCountMismatch ?? false,
      segmentFrames: req.segmentFrames ?? SEGMENT_FRAMES_DEFAULT,
      priority: req.priority ?? 'normal',
    };
    if (req.report) {
      const reportPath = await resolveOutput(req.report.uri, mediaRoot);
      if (reportPath === referencePath || reportPath === distortedPath) {
        throw new VpipeError(ErrorCodes.SchemaInvalid, 'the report would overwrite an input', { details: [{ path: 'report.uri', message: 'same file as reference.uri or distorted.uri' }] });
      }
      input.report = { uri: req.report.uri, path: reportPath };
    }
    return { input, priority: input.priority };
  },

  workFunctions: [SEGMENT_FUNCTION],

  /** One segment-actor pool. Its metric ffmpeg is probed here, at start, so the log says at once whether this node can measure VMAF. */
  async workers(ctx) {
    const tool = await metricTool();
    if (tool.vmaf.available) ctx.log.info({ ffmpeg: tool.ffmpeg, libvmaf: tool.vmaf.libvmaf }, 'VQS: VMAF available');
    else ctx.log.warn({ ffmpeg: tool.ffmpeg, reason: tool.vmaf.reason }, 'VQS: VMAF unavailable here; segments that need it fail with TOOL_MISSING (run deploy/fetch-vmaf-ffmpeg.sh or set VPIPE_VMAF_FFMPEG)');
    return [{ fn: SEGMENT_FUNCTION, handler: segmentHandler(ctx, `${os.hostname()}:${process.pid}`), shape: segmentShape(1920, 1080) }];
  },

  onDeadLetter: (ctx, _fn, data, reason) => recordDeadSegment(ctx, data, reason),

  ended: (ctx, jobId) => cleanUp(ctx, jobId),

  workflow(deps) {
    return measurementMachine.provide({
      actors: {
        plan: fromPromise(({ input, signal }) => plan(input, deps, signal)),
        dispatch: fromPromise(({ input }) => dispatch(input.job, input.plan, deps)),
        measure: fromPromise(({ input, signal }) => measure(input.job, input.plan, deps, signal)),
        clean: fromPromise(() => cleanUp(deps.runtime, deps.jobId)),
      },
    });
  },
};
