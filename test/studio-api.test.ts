/**
 * The studio's API: bad requests refused at once naming the field, with nothing started; a source
 * VIS refuses fails with its issues; detection of an original nobody marked answers "nobody"; the
 * service keeps serving after all of it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics, ServiceRequestError } from '../runtime/core/mod.js';
import type { DetectResult, StudioResult } from '../schemas/studio.js';
import { ffmpeg, makeAudioOnly, motion } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { resultOf, submitStudio } from './helpers/studio.js';

let stack: TestStack;
let clip: string;
let audioOnly: string;

beforeAll(async () => {
  stack = await startTestStack('studio-api', { encoderActors: 1, concurrency: 4 }, async (root) => {
    clip = path.join(root, 'clip.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', motion('320x180', 25, 2), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
    audioOnly = await makeAudioOnly(root);
  });
}, 60_000);

afterAll(async () => {
  await stack?.cleanup();
});

const accepted = async () => (await metrics.jobsAccepted.get()).values.find((v) => v.labels.service === 'studio')?.value ?? 0;

async function refusal(subject: string, body: object) {
  const e = await stack.client.request(subject, body, { encoding: 'json' }).then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ServiceRequestError);
  return (e as ServiceRequestError).body;
}

describe('studio API', () => {
  it('refuses bad requests naming the field, and starts nothing', async () => {
    const before = await accepted();
    const base = { source: { uri: clip }, output: { uri: `${stack.root}/out/` }, recipe: 'proxy-h264-720p' };
    const submit = (b: object) => refusal('vpipe.studio.submit', { ...base, ...b });
    expect(await submit({ recipe: 'mpeg2-proxy' })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'recipe' }] });
    expect(await submit({ watermark: { forensic: { recipient: 'ed\u0007' } } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'watermark.forensic.recipient' }] });
    expect(await submit({ watermark: { forensic: { recipient: 'x'.repeat(129) } } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'watermark.forensic.recipient' }] });
    expect(await submit({ watermark: { visible: { text: 'a', image: { uri: clip } } } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'watermark.visible' }] });
    expect(await submit({ burnIn: { position: 'upper-left' } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'burnIn.position' }] });
    expect(await submit({ burnIn: { timecode: { start: '25:00:00:00' } } })).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'burnIn.timecode.start' }] });
    expect(await submit({ burnIn: { timecode: { start: '00:00:00:25' } } })).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'burnIn.timecode.start' }] });
    expect(await submit({ output: { uri: '/etc/vpipe-proxy.mp4' } })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await submit({ source: { uri: '/etc/passwd' } })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await submit({ recipe: 'prores-proxy', output: { uri: `${stack.root}/p.mp4` } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'output.uri' }] });
    expect(await refusal('vpipe.studio.detect', { leak: { uri: '/etc/passwd' }, original: { uri: clip } })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await refusal('vpipe.studio.detect', { leak: { uri: clip } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'original' }] });
    expect(await accepted()).toBe(before);
  });

  it('fails a source VIS refuses with its issues, then keeps serving', async () => {
    const ev = await submitStudio(stack.client, { source: { uri: audioOnly }, output: { uri: `${stack.root}/out/` }, recipe: 'proxy-h264-720p' });
    expect(ev.state).toBe('failed');
    expect(ev.error?.code).toBe('SOURCE_REJECTED');
    const ok = resultOf<StudioResult>(await submitStudio(stack.client, { source: { uri: clip }, output: { uri: `${stack.root}/out/` }, recipe: 'proxy-h264-720p' }));
    expect(ok.output.uri).toBe(`${stack.root}/out/clip.proxy-h264-720p.mp4`);
    expect(ok.burnIn).toBeNull();
    expect(ok.watermark).toEqual({ visible: false, forensic: null });
  });

  it('attributes a copy of an original nobody marked to nobody', async () => {
    const d = resultOf<DetectResult>(await submitStudio(stack.client, { leak: { uri: clip }, original: { uri: clip } }, 'detect'));
    expect(d).toMatchObject({ recipient: null, detected: false, confidence: 0 });
    expect(d.reason).toMatch(/no forensic copies/);
  });
});
