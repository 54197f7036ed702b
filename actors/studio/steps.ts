/**
 * The studio job's steps. VIS and VES are called only through their NATS APIs, as child jobs;
 * the forensic copy is assembled here from the kept chunk sets of the two variants, and the
 * detector runs here on files under the media root.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encoderFor } from '../../encoders/index.js';
import { CODEWORD_BITS, detect as detectMark, variantFor } from '../../encoders/forensic/index.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { CHILD_TIMEOUT_MS, ChildJobs, childError, jobIdFor, type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { inputArgs, runTool } from '../../runtime/media/mod.js';
import { contentHash } from '../../runtime/nats/mod.js';
import { ChunkManifest, type Chunking, type EncodeRequest, type EncodeResult, type Recipe } from '../../schemas/ves.js';
import type { DetectResult, StudioResult } from '../../schemas/studio.js';
import type { InspectResult } from '../../schemas/vis.js';
import { assemble } from '../ves/compute/assemble.js';
import { countPackets } from '../ves/compute/encode-chunk.js';
import { since, sourceFacts } from '../streaming/steps.js';
import type { SourceFacts } from '../streaming/workflow.js';
import { fitSize, STUDIO_CHUNK_SECONDS, STUDIO_RECIPES } from './recipes.js';
import { payloadHex, registerRecipient, titlesOf, titleSeed, watermarkSecret } from './registry.js';
import type { DetectInput, Encoded, Marked, SubmitInput } from './workflow.js';

/** Shortest chunk the forensic mark uses (a segment of the A/B sequence). */
export const MIN_SEGMENT_SECONDS = 0.2;

/** VIS's inspection; what cannot be processed is refused with VIS's issues (SOURCE_REJECTED). */
export async function inspect(job: SubmitInput, deps: StepDeps, signal: AbortSignal): Promise<SourceFacts> {
  const t0 = Date.now();
  const children = new ChildJobs(deps.runtime, deps.jobId);
  deps.progress('inspecting', 0);
  const r = (await children.run('vis', 'inspect', 'inspect', { source: { uri: job.sourceUri }, priority: job.priority }, 'inspection', signal, (p) => deps.progress('inspecting', p.fraction))) as InspectResult;
  return sourceFacts(job, r, since(t0));
}

/** The VES recipe of the job: the studio recipe fitted to the source, with the request's burn-in and visible watermark. */
export function vesRecipe(job: SubmitInput, source: Pick<SourceFacts, 'width' | 'height'>): Recipe {
  const def = STUDIO_RECIPES[job.recipe];
  const r: Recipe = { ...def.recipe, resolution: fitSize(source, def.box) };
  if (job.burnIn) r.burnIn = job.burnIn;
  if (job.visible) r.watermark = { visible: job.visible };
  return r;
}

/**
 * Chunking of the forensic variants: chunks of a fixed number of frames k (min = max = target, so
 * no boundary moves to a source keyframe), k = the most that still gives one codeword's worth of
 * segments (plus one) over the title, at most the studio's usual chunk length. The target sits half
 * a frame short of k frames: the splitter ends a chunk at the first frame at or after it.
 */
export function segmentChunking(durationSeconds: number, frames: number): Chunking {
  const frameSeconds = durationSeconds / Math.max(1, frames);
  const k = Math.min(Math.floor(frames / (CODEWORD_BITS + 1)), Math.floor(STUDIO_CHUNK_SECONDS / frameSeconds));
  const target = Math.floor((k - 0.5) * frameSeconds * 10_000) / 10_000;
  if (target < MIN_SEGMENT_SECONDS) {
    throw new VpipeError(ErrorCodes.BadRequest, `the forensic watermark needs ${CODEWORD_BITS + 1} segments of at least ${MIN_SEGMENT_SECONDS} s: this title is ${durationSeconds.toFixed(2)} s (${frames} frames), too short for the payload`, {
      details: [{ path: 'watermark.forensic', message: 'title too short for the payload' }],
    });
  }
  return { targetSeconds: target, minSeconds: target, maxSeconds: target };
}

const hash12 = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 12);
const exists = (p: string) => fs.stat(p).then(() => true, () => false);

/** Where a title's two variants live: next to the output, named by content, studio recipe and the exact VES recipe (burn-ins included). */
export function variantPaths(job: SubmitInput, hash: string, recipe: Recipe): string[] {
  const ext = STUDIO_RECIPES[job.recipe].container;
  const dir = path.join(path.dirname(job.outputPath), '.vpipe-variants', `${hash.slice(0, 16)}-${job.recipe}-${hash12(recipe)}`);
  return [0, 1].map((v) => path.join(dir, `variant-${v}.${ext}`));
}

/** One VES job, or the two forensic variants (reused when an earlier recipient's are still there). */
export async function encode(job: SubmitInput, source: SourceFacts, deps: StepDeps, signal: AbortSignal): Promise<Encoded> {
  const t0 = Date.now();
  const children = new ChildJobs(deps.runtime, deps.jobId);
  const def = STUDIO_RECIPES[job.recipe];
  const recipe = vesRecipe(job, source);
  const onProgress = (p: { fraction: number }) => deps.progress('encoding', p.fraction);
  if (!job.recipient) {
    const body: EncodeRequest = { source: { uri: job.sourceUri }, recipe, output: { uri: job.outputUri, container: def.container }, priority: job.priority };
    const jobId = await children.submit('ves', 'encode', 'encode', body, 'the encode');
    const result = (await children.result('ves', jobId, 'the encode', signal, onProgress)) as EncodeResult;
    return { results: [{ jobId, result }], variantPaths: [], reused: false, seconds: since(t0) };
  }
  const hash = await contentHash(deps.runtime.topology, job.sourcePath, signal);
  const seed = titleSeed(await watermarkSecret(deps.runtime.topology.watermarks), hash, job.recipe);
  const marked: Recipe = { ...recipe, chunking: segmentChunking(source.durationSeconds, source.frames) };
  const paths = variantPaths(job, hash, marked);
  const reused = (await Promise.all(paths.map((p) => exists(path.join(`${p}.chunks`, 'chunks.json'))))).every(Boolean);
  if (reused) {
    deps.log.info({ variants: path.dirname(paths[0]!) }, 'both forensic variants of this title are already encoded: reusing them');
    return { results: [], variantPaths: paths, reused: true, seconds: since(t0) };
  }
  await fs.mkdir(path.dirname(paths[0]!), { recursive: true });
  const results = await Promise.all(
    ([0, 1] as const).map(async (variant) => {
      const body: EncodeRequest = {
        source: { uri: job.sourceUri },
        recipe: { ...marked, watermark: { ...marked.watermark, forensic: { seed, variant } } },
        output: { uri: paths[variant]!, container: def.container, keepChunks: true },
        priority: job.priority,
      };
      return sharedVariant(deps, path.basename(path.dirname(paths[variant]!)), variant, body, signal, variant === 0 ? onProgress : undefined);
    }),
  );
  return { results, variantPaths: paths, reused: false, seconds: since(t0) };
}

/**
 * A title's variant is one VES job shared by every studio job that needs it (recipients submitted
 * at once wait on the same encode instead of writing the same files twice): its idempotency key is
 * the variant set's name, with a generation number passed over while that generation's job failed
 * or was cancelled. It is not a child of any one studio job, so cancelling one recipient's job
 * leaves the others' encode running.
 */
async function sharedVariant(deps: StepDeps, set: string, variant: 0 | 1, body: EncodeRequest, signal: AbortSignal, onProgress?: (p: { fraction: number }) => void): Promise<{ jobId: string; result: EncodeResult }> {
  const client = new VpipeClient(deps.runtime.nc);
  for (let generation = 0; generation < MAX_VARIANT_GENERATIONS; generation++) {
    const key = `studio-variants.${set}.${variant}.${generation}`;
    const existing = await client.status('ves', jobIdFor('ves', key)).catch(() => null);
    if (existing && (existing.state === 'failed' || existing.state === 'cancelled')) continue;
    const { jobId } = await client.request<{ jobId: string }>('vpipe.ves.encode', body, { idempotencyKey: key, timeoutMs: 60_000 });
    const ev = await client.waitForResult('ves', jobId, { timeoutMs: CHILD_TIMEOUT_MS, signal, ...(onProgress ? { onProgress } : {}) });
    if (ev.state !== 'succeeded') throw childError(`forensic variant ${variant} (ves job ${jobId}) ${ev.state}`, ev.error);
    return { jobId, result: ev.result as EncodeResult };
  }
  throw new VpipeError(ErrorCodes.ToolFailed, `forensic variant ${variant} of ${set} failed ${MAX_VARIANT_GENERATIONS} times; see its VES jobs`);
}

const MAX_VARIANT_GENERATIONS = 20;

async function readManifest(variantPath: string): Promise<ChunkManifest> {
  const text = await fs.readFile(path.join(`${variantPath}.chunks`, 'chunks.json'), 'utf8').catch(() => null);
  if (text === null) throw new VpipeError(ErrorCodes.ToolFailed, `the chunk set of ${variantPath} is gone`, { retryable: false });
  return ChunkManifest.parse(JSON.parse(text));
}

/**
 * The recipient's copy: registered (its payload), then assembled by stream copy from the chunk of
 * variant 0 or 1 that each segment's codeword bit names; checked to have every frame.
 */
export async function mark(job: SubmitInput, encoded: Encoded, deps: StepDeps, signal: AbortSignal): Promise<Marked | null> {
  if (!job.recipient) return null;
  const t0 = Date.now();
  const [m0, m1] = await Promise.all(encoded.variantPaths.map(readManifest)) as [ChunkManifest, ChunkManifest];
  const same = m0.chunks.length === m1.chunks.length && m0.chunks.every((c, i) => c.startFrame === m1.chunks[i]!.startFrame && c.endFrame === m1.chunks[i]!.endFrame);
  if (!same) throw new VpipeError(ErrorCodes.Internal, 'the two forensic variants were chunked differently');
  if (m0.chunks.length < CODEWORD_BITS) {
    throw new VpipeError(ErrorCodes.BadRequest, `the forensic watermark needs at least ${CODEWORD_BITS} segments; this title was cut into ${m0.chunks.length}`, { details: [{ path: 'watermark.forensic', message: 'too few segments' }] });
  }
  const hash = await contentHash(deps.runtime.topology, job.sourcePath, signal);
  const kv = deps.runtime.topology.watermarks;
  const seed = titleSeed(await watermarkSecret(kv), hash, job.recipe);
  const size = await frameSize(encoded.variantPaths[0]!);
  const payload = await registerRecipient(
    kv,
    { contentHash: hash, recipe: job.recipe, segments: m0.chunks.map((c) => ({ startFrame: c.startFrame, endFrame: c.endFrame })), markSize: size, variants: encoded.variantPaths.map((p) => `${p}.chunks`) },
    seed,
    job.recipient,
  );
  const def = STUDIO_RECIPES[job.recipe];
  const codec = encoderFor(def.recipe.codec);
  const workDir = await fs.mkdtemp(path.join(path.dirname(job.outputPath), '.vpipe-mark-'));
  try {
    await assemble({
      chunks: m0.chunks.map((c, i) => {
        const v = variantFor(payload, i);
        const m = v === 0 ? m0 : m1;
        const chunk = m.chunks[i]!;
        return { path: path.join(`${encoded.variantPaths[v]!}.chunks`, chunk.file), durationSeconds: chunk.durationSeconds, startSeconds: chunk.startSeconds, durationMicros: chunk.durationMicros };
      }),
      outPath: job.outputPath,
      container: def.container,
      raw: codec.rawFormat,
      mp4Tag: codec.mp4Tag,
      audioFrom: def.recipe.audio && def.recipe.audio.mode !== 'none' ? job.sourcePath : undefined,
      audio: def.recipe.audio,
      audioOffsetSeconds: m0.audioOffsetSeconds,
      mediaSeconds: m0.durationSeconds,
      workDir,
      signal,
    });
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  const frames = await countPackets(job.outputPath);
  if (frames !== m0.frames) throw new VpipeError(ErrorCodes.ValidationFailed, `the recipient's copy has ${frames ?? 'no readable'} frames, the source ${m0.frames}`);
  deps.log.info({ recipient: job.recipient, payload: payloadHex(payload), segments: m0.chunks.length }, 'forensic copy assembled');
  return { recipient: job.recipient, payload, segments: m0.chunks.length, seconds: since(t0) };
}

interface OutputFacts {
  codec: string;
  profile: string | null;
  width: number;
  height: number;
}

async function frameSize(file: string): Promise<{ width: number; height: number }> {
  const f = await outputFacts(file);
  return { width: f.width, height: f.height };
}

async function outputFacts(file: string): Promise<OutputFacts> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,width,height', '-of', 'json', ...inputArgs(file)], { limit: { mediaSeconds: null, kind: 'probe' } });
  const s = (JSON.parse(r.stdout || '{}') as { streams?: { codec_name?: string; profile?: string; width?: number; height?: number }[] }).streams?.[0];
  if (r.code !== 0 || !s?.width || !s.height) throw new VpipeError(ErrorCodes.ToolFailed, `cannot read ${file}: ${r.stderr.trim().slice(-200)}`);
  return { codec: s.codec_name ?? 'unknown', profile: s.profile ?? null, width: s.width, height: s.height };
}

/** The job's result, also written next to the output as `<output>.studio.json`. */
export async function report(job: SubmitInput, source: SourceFacts, encoded: Encoded, marked: Marked | null): Promise<StudioResult> {
  const def = STUDIO_RECIPES[job.recipe];
  const facts = await outputFacts(job.outputPath);
  const { size } = await fs.stat(job.outputPath);
  const ves = encoded.results[0]?.result;
  const frames = ves?.frames ?? source.frames;
  const durationSeconds = ves?.durationSeconds ?? source.durationSeconds;
  const total = Math.round((Date.now() - job.admittedAt) / 10) / 100;
  const notes = [...source.notes];
  if (encoded.reused) notes.push('forensic variants reused from an earlier recipient of this title and recipe');
  const result: StudioResult = {
    output: { uri: job.outputUri, container: def.container, codec: facts.codec, profile: facts.profile, width: facts.width, height: facts.height, frames, durationSeconds, sizeBytes: size },
    recipe: job.recipe,
    burnIn: ves?.burnIn ?? null,
    watermark: {
      visible: job.visible !== undefined,
      forensic: marked ? { recipient: marked.recipient, payload: payloadHex(marked.payload), segments: marked.segments, variantsReused: encoded.reused } : null,
    },
    seconds: { inspect: source.seconds, encode: encoded.seconds, mark: marked?.seconds ?? 0, total },
    ves: encoded.results.map((r) => ({ jobId: r.jobId, chunks: r.result.chunks, encodeSeconds: r.result.encodeSeconds })),
    notes,
    report: { uri: `${job.outputUri}.studio.json` },
  };
  await fs.writeFile(`${job.outputPath}.studio.json`, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** Finds the recipient of a leaked copy among the title's registered recipients (every recipe it was marked under). */
export async function detect(job: DetectInput, deps: StepDeps, signal: AbortSignal): Promise<DetectResult> {
  const kv = deps.runtime.topology.watermarks;
  const hash = await contentHash(deps.runtime.topology, job.originalPath, signal);
  const titles = await titlesOf(kv, hash);
  const none = (reason: string, framesCompared = 0, segments = 0): DetectResult => ({ recipient: null, confidence: 0, detected: false, payload: null, recipe: null, framesCompared, segments, reason });
  if (titles.length === 0) return none('no forensic copies of this original are on record');
  const secret = await watermarkSecret(kv);
  let best: DetectResult | null = null;
  for (const [i, t] of titles.entries()) {
    deps.progress('detecting', i / titles.length);
    const d = await detectMark({
      leakPath: job.leakPath,
      originalPath: job.originalPath,
      segments: t.segments,
      titleSeed: titleSeed(secret, hash, t.recipe),
      markSize: t.markSize,
      ...(t.strength !== undefined ? { strength: t.strength } : {}),
      candidates: Object.keys(t.recipients).map((p) => Number.parseInt(p, 16)),
      signal,
    });
    const recipient = d.detected && d.payload !== null ? (t.recipients[payloadHex(d.payload)] ?? null) : null;
    const r: DetectResult = {
      recipient,
      confidence: d.confidence,
      detected: d.detected,
      payload: d.payload === null ? null : payloadHex(d.payload),
      recipe: t.recipe,
      framesCompared: d.framesCompared,
      segments: d.segments.length,
      ...(d.reason ? { reason: d.reason } : d.detected && !recipient ? { reason: 'a mark was found whose payload no recipient of this title has' } : {}),
    };
    if (!best || (r.detected && !best.detected) || (r.detected === best.detected && r.confidence > best.confidence)) best = r;
  }
  return best!;
}
