/** The streaming orchestrator as a vpipe service: identity, admission, and the machine provided with its steps. */
import fs from 'node:fs/promises';
import { fromPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { cancelChildren, type ServiceDefinition, serviceIdentity } from '../../runtime/jobs/mod.js';
import { resolveMedia, resolveOutputDir } from '../../runtime/media/mod.js';
import { AUDIO_DEFAULTS, LOUDNESS_DEFAULTS, PACKAGING_DEFAULTS, StreamingRequest } from '../../schemas/streaming.js';
import { writeReport } from './report.js';
import { encode, inspect, ladder, measure, packaging, workDir } from './steps.js';
import { tracks } from './tracks.js';
import { type StreamingJobInput, streamingMachine } from './workflow.js';

export const STREAMING_VERSION = '1.0.0';

export const streamingService: ServiceDefinition<StreamingRequest, StreamingJobInput> = {
  ...serviceIdentity({
    id: 'streaming',
    endpoint: 'submit',
    version: STREAMING_VERSION,
    request: StreamingRequest,
    description: 'Streaming orchestrator: a mezzanine → VIS → per-title ladder (LGS) → VES per rung → VQS per rung → R128 audio, WebVTT → CMAF segments with HLS and DASH written by vpipe',
  }),

  /** Resolves the source, the sidecars and the output directory (created) under the media root. */
  async admit(req, { mediaRoot }) {
    const source = await resolveMedia(req.source.uri, mediaRoot);
    if (source.imageSequence) {
      throw new VpipeError(ErrorCodes.BadRequest, 'the streaming orchestrator takes a video file, not an image sequence', { details: [{ path: 'source.uri', message: 'names an image-sequence pattern' }] });
    }
    const subtitles = await Promise.all(
      (req.subtitles ?? []).map(async (s, i) => {
        const r = await resolveMedia(s.uri, mediaRoot).catch((e: unknown) => {
          throw e instanceof VpipeError ? new VpipeError(e.code, e.message, { details: [{ path: `subtitles.${i}.uri`, message: e.message }] }) : e;
        });
        return { path: r.path, uri: s.uri, language: s.language, ...(s.name !== undefined ? { name: s.name } : {}), default: s.default ?? false, forced: s.forced ?? false };
      }),
    );
    const outDir = await resolveOutputDir(req.output.uri, mediaRoot);
    if (source.path.startsWith(`${outDir}/`)) {
      throw new VpipeError(ErrorCodes.BadRequest, 'the output directory holds the source: the package would replace what is there', { details: [{ path: 'output.uri', message: 'contains source.uri' }] });
    }
    const loud = req.audio?.loudness ?? {};
    const input: StreamingJobInput = {
      sourceUri: req.source.uri,
      sourcePath: source.path,
      outDir,
      codecs: req.codecs ?? ['h264'],
      ladder: {
        mode: req.ladder?.mode ?? 'per-title',
        allowWithoutVmaf: req.ladder?.allowWithoutVmaf ?? false,
        ...(req.ladder?.constraints ? { constraints: req.ladder.constraints } : {}),
      },
      overrideIssues: req.overrideIssues ?? [],
      audio: {
        enabled: req.audio?.enabled ?? true,
        bitrateKbps: req.audio?.bitrateKbps ?? AUDIO_DEFAULTS.bitrateKbps,
        loudness: {
          integratedLufs: loud.integratedLufs ?? LOUDNESS_DEFAULTS.integratedLufs,
          truePeakDb: loud.truePeakDb ?? LOUDNESS_DEFAULTS.truePeakDb,
          lra: loud.lra ?? LOUDNESS_DEFAULTS.lra,
        },
      },
      subtitles,
      segmentSeconds: req.packaging?.segmentSeconds ?? PACKAGING_DEFAULTS.segmentSeconds,
      measure: req.measure ?? true,
      priority: req.priority ?? 'normal',
      admittedAt: Date.now(),
    };
    return { input, priority: input.priority };
  },

  /** A failed or cancelled job cancels the child jobs it started and removes its work area (the rungs and any package stay). */
  async ended(ctx, jobId, input) {
    await cancelChildren(ctx, jobId);
    await fs.rm(workDir(input as StreamingJobInput), { recursive: true, force: true }).catch(() => undefined);
  },

  workflow(deps) {
    return streamingMachine.provide({
      actors: {
        inspect: fromPromise(({ input, signal }) => inspect(input, deps, signal)),
        ladder: fromPromise(({ input, signal }) => ladder(input.job, input.source, deps, signal)),
        encode: fromPromise(({ input, signal }) => encode(input.job, input.ladder, deps, signal)),
        measure: fromPromise(({ input, signal }) => measure(input.job, input.encoded, deps, signal)),
        tracks: fromPromise(({ input, signal }) => tracks(input.job, input.source, deps, signal)),
        package: fromPromise(({ input, signal }) => packaging(input.job, input.encoded, input.tracks, deps, signal)),
        report: fromPromise(({ input }) => writeReport(input, deps)),
      },
    });
  },
};
