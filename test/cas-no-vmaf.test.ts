/**
 * CAS where VQS has no libvmaf (VPIPE_VMAF_FFMPEG names Debian's
 * /usr/bin/ffmpeg): an analysis fails with VQS's own TOOL_MISSING answer,
 * unless it allows going without VMAF — then its points carry PSNR, the
 * result says so, and that analysis is stored and reused like any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casService, WORK_AREA } from '../actors/cas/service.js';
import { vesService } from '../actors/ves/service.js';
import { visService } from '../actors/vis/service.js';
import { vqsService } from '../actors/vqs/service.js';
import { configureTools } from '../runtime/media/mod.js';
import type { ServiceDefinition } from '../runtime/jobs/service-definition.js';
import type { AnalyzeResult } from '../schemas/cas.js';
import { loadConfig } from '../schemas/config.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let source: string;

beforeAll(async () => {
  configureTools(loadConfig({ ...process.env, VPIPE_VMAF_FFMPEG: '/usr/bin/ffmpeg' }).tools);
  stack = await startTestStack('cas-novmaf', { services: [visService, vesService, vqsService, casService] as ServiceDefinition[], encoderActors: 1, concurrency: 4 }, async (dir) => {
    source = path.join(dir, 'src.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=128x72:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-f', 'mp4', source]);
  });
});

afterAll(async () => {
  await stack?.cleanup();
  configureTools(null);
});

const body = (extra: object = {}) => ({ source: { uri: source }, codec: 'h264', grid: { heights: [72], crfs: [23, 38] }, ...extra });

async function analyse(extra: object = {}) {
  const jobId = await stack.client.submit('vpipe.cas.analyze', body(extra), 'json');
  return stack.client.waitForResult('cas', jobId, { timeoutMs: 120_000 });
}

describe('an analysis where VQS has no VMAF', () => {
  it('fails with VQS’s TOOL_MISSING, which says how to get VMAF or go without', async () => {
    const ev = await analyse();
    expect(ev.state).toBe('failed');
    expect(ev.error).toMatchObject({ code: 'TOOL_MISSING', message: expect.stringMatching(/vpipe\.vqs\.measure refused it: .*VMAF cannot be measured.*allowWithoutVmaf/) });
    // The failed analysis removes its work directory and child records (the clean-up follows the result event).
    await expect.poll(() => fs.existsSync(path.join(stack.root, WORK_AREA, ev.jobId)), { timeout: 10_000 }).toBe(false);
    await expect
      .poll(async () => {
        const left: string[] = [];
        for await (const k of await stack.node.ctx.topology.chunks.keys(`${ev.jobId}.>`)) left.push(k);
        return left;
      })
      .toEqual([]);
  });

  it('with allowWithoutVmaf, measures PSNR, says so, and is reused from the store', async () => {
    const ev = await analyse({ allowWithoutVmaf: true });
    expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
    const r = ev.result as AnalyzeResult;
    expect(r).toMatchObject({ cached: false, metric: 'psnr', notMeasured: [{ metric: 'vmaf', reason: expect.stringMatching(/no libvmaf/) }] });
    expect(r.vmaf).toBeUndefined();
    const [lo, hi] = r.points;
    expect([lo!.vmaf, hi!.vmaf]).toEqual([undefined, undefined]);
    expect([lo!.quality, hi!.quality]).toEqual([lo!.psnr, hi!.psnr]);
    expect(hi!.psnr!).toBeLessThan(lo!.psnr!);
    expect(hi!.kbps).toBeLessThan(lo!.kbps);

    const again = await analyse({ allowWithoutVmaf: true });
    expect(again.state).toBe('succeeded');
    expect(again.result).toEqual({ ...r, cached: true });
  });
});
