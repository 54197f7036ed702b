/** VIS as a vpipe service: identity, admission, and the machine provided with the real compute functions. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import { contentHash, putFrameIndex } from '../../runtime/nats/mod.js';
import { type ServiceDefinition, serviceIdentity, type StepDeps } from '../../runtime/jobs/mod.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { resolveMedia } from '../../runtime/media/mod.js';
import { InspectRequest } from '../../schemas/vis.js';
import { analyse, probe, scan, type ProbeData, type ScanData } from './compute/index.js';
import { ShowinfoReader } from './compute/frame-index.js';
import { buildFrameIndex } from './compute/index-build.js';
import { inspectionMachine, type VisJobInput } from './workflow.js';

export const VIS_VERSION = '1.0.0';

export const visService: ServiceDefinition<InspectRequest, VisJobInput> = {
  ...serviceIdentity({ id: 'vis', endpoint: 'inspect', version: VIS_VERSION, request: InspectRequest, description: 'Video Inspection Service: container, stream, scan-type, colour/HDR, audio and timecode metadata with issue flags' }),

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
        scan: fromPromise(({ input, signal }) => scanAndIndex(input.job, input.probe, deps, signal)),
        analyse: fromPromise(async ({ input }) => analyse(toInput(input.job, deps.signal), input.probe, input.scan)),
      },
    });
  },
};

/**
 * The full decode, with the frame index built from it (files only; image sequences and
 * sampled scans get none). An index that cannot be built is reported in `frameIndexError`,
 * never as a failed inspection: the inspection result is still worth having.
 */
async function scanAndIndex(job: VisJobInput, probeData: ProbeData, deps: StepDeps, signal: AbortSignal): Promise<ScanData> {
  const wantIndex = job.decodeCheck && !job.imageSequence && probeData.readable && probeData.primaryVideoIndex !== null;
  const workDir = wantIndex ? await fs.mkdtemp(path.join(os.tmpdir(), 'vpipe-index-')) : null;
  try {
    const capture = workDir ? { crcPath: path.join(workDir, 'frames.crc'), keys: new ShowinfoReader() } : undefined;
    const t0 = performance.now();
    const data = await scan({ ...job, signal }, probeData, undefined, (f) => deps.progress('scanning', f * 0.9), capture);
    if (!capture || !workDir) return data;
    if (data.exitCode !== 0) return { ...data, frameIndexError: `the decode failed (ffmpeg exited ${data.exitCode})` };
    const decodeSeconds = (performance.now() - t0) / 1000;
    try {
      const stores = deps.runtime.topology;
      const summary = await buildFrameIndex(
        { path: job.path, probe: probeData, scan: data, capture, workDir, decodeSeconds, signal },
        { contentHash: (p, s) => contentHash(stores, p, s), put: (ix) => putFrameIndex(stores, ix) },
      );
      deps.progress('scanning', 1);
      return { ...data, frameIndex: summary };
    } catch (e) {
      if (signal.aborted) throw e;
      deps.log.warn({ err: e }, 'frame index not built');
      return { ...data, frameIndexError: (e as Error).message.slice(0, 500) };
    }
  } finally {
    if (workDir) await fs.rm(workDir, { recursive: true, force: true });
  }
}
