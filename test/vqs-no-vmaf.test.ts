/**
 * VQS on a node whose metric ffmpeg has no libvmaf: VPIPE_VMAF_FFMPEG names
 * Debian's /usr/bin/ffmpeg. A request that needs VMAF is refused with
 * TOOL_MISSING saying how to get it; one that allows going without gets
 * PSNR and SSIM, and an answer that says VMAF was not measured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricTool } from '../actors/vqs/compute/metric-tool.js';
import { vqsService } from '../actors/vqs/service.js';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { configureTools } from '../runtime/media/mod.js';
import { loadConfig } from '../schemas/config.js';
import type { ServiceDefinition } from '../runtime/jobs/service-definition.js';
import type { MeasureResult } from '../schemas/vqs.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { media } from './helpers/vqs-media.js';

const OS_FFMPEG = '/usr/bin/ffmpeg';
let stack: TestStack;
const files: Record<string, string> = {};

beforeAll(async () => {
  // The environment with VPIPE_VMAF_FFMPEG=/usr/bin/ffmpeg, compiled and handed in as the app does at start.
  configureTools(loadConfig({ ...process.env, VPIPE_VMAF_FFMPEG: OS_FFMPEG }).tools);
  stack = await startTestStack('vqs-novmaf', { services: [vqsService] as ServiceDefinition[], encoderActors: 1 }, async (dir) => {
    [files.reference, files.distorted] = await Promise.all([media.reference(dir), media.crf(dir, 40)]);
  });
});

afterAll(async () => {
  await stack?.cleanup();
  configureTools(null);
});

const body = (extra: object = {}) => ({ reference: { uri: files.reference }, distorted: { uri: files.distorted }, ...extra });

describe('a metric ffmpeg without libvmaf (VPIPE_VMAF_FFMPEG=/usr/bin/ffmpeg)', () => {
  it('is found out by the two-frame libvmaf probe', async () => {
    const t = await metricTool();
    expect(t.binary).toBe(OS_FFMPEG);
    expect(t.vmaf).toEqual({ available: false, reason: expect.stringMatching(/VPIPE_VMAF_FFMPEG=\/usr\/bin\/ffmpeg .*has no libvmaf filter/) });
  });

  it('refuses a request that needs VMAF with TOOL_MISSING naming VPIPE_VMAF_FFMPEG and the fetch script', async () => {
    const e = await stack.client.request('vpipe.vqs.measure', body(), { encoding: 'json' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ServiceRequestError);
    const { statusCode, body: err } = e as ServiceRequestError;
    expect(statusCode).toBe(501);
    expect(err.code).toBe('TOOL_MISSING');
    expect(err.message).toMatch(/VMAF cannot be measured/);
    expect(err.message).toContain('VPIPE_VMAF_FFMPEG=/usr/bin/ffmpeg');
    expect(err.message).toContain('deploy/fetch-vmaf-ffmpeg.sh');
    expect(err.message).toContain('allowWithoutVmaf');
  });

  it('answers PSNR and SSIM only when allowed without VMAF, and says VMAF was not measured', async () => {
    const jobId = await stack.client.submit('vpipe.vqs.measure', body({ allowWithoutVmaf: true }), 'json');
    const ev = await stack.client.waitForResult('vqs', jobId, { timeoutMs: 60_000 });
    expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
    const r = ev.result as MeasureResult;
    expect(Object.keys(r.metrics).sort()).toEqual(['psnr', 'ssim']);
    expect(r.notMeasured).toEqual([{ metric: 'vmaf', reason: expect.stringMatching(/has no libvmaf filter/) }]);
    expect(r.perFrame!.vmaf).toBeUndefined();
    // Measured by the build that was named, and labelled with its version.
    expect(r.metrics.psnr!.ffmpeg).toMatch(/^[5-9]\./);
    expect(r.metrics.psnr!.mean).toBeGreaterThan(20);
    expect(r.metrics.ssim!.mean).toBeLessThan(1);
  });
});
