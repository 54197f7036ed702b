/**
 * Which ffmpeg VQS measures with, and whether it can measure VMAF. Encoding
 * keeps the OS ffmpeg (VPIPE_FFMPEG); only the metric path runs this one:
 * VPIPE_VMAF_FFMPEG (the configuration's `tools.vmafFfmpeg`) when set, else
 * `.tools/bin/ffmpeg-vmaf` (what deploy/fetch-vmaf-ffmpeg.sh installs), else
 * the OS ffmpeg. The build is
 * probed once per process and binary with a two-frame libvmaf run (lavfi
 * testsrc against itself), so "has libvmaf" means "libvmaf ran here".
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { runTool, toolOptions, type ToolRunner } from '../../../runtime/media/mod.js';
import { REPO_ROOT } from '../../../runtime/nats/mod.js';
import { vqsMetrics } from '../metrics.js';

export const FETCH_SCRIPT = 'deploy/fetch-vmaf-ffmpeg.sh';
export const FETCHED_BINARY = path.join(REPO_ROOT, '.tools/bin/ffmpeg-vmaf');

export interface MetricTool {
  /** The ffmpeg to run metric graphs with; undefined: the OS ffmpeg (VPIPE_FFMPEG). */
  binary: string | undefined;
  /** Its version as it prints it (`7.0.2-static`, `5.1.9-0+deb12u1`). */
  ffmpeg: string;
  vmaf: { available: true; libvmaf: string } | { available: false; reason: string };
}

interface Candidate {
  binary: string | undefined;
  /** How it was chosen, for messages. */
  label: string;
  /** Named explicitly (VPIPE_VMAF_FFMPEG): never replaced by another build behind the user's back. */
  explicit: boolean;
}

/** The metric ffmpeg to try: the one named (VPIPE_VMAF_FFMPEG), else the fetched one, else the OS ffmpeg. */
function candidate(named: string | null): Candidate {
  if (named) return { binary: named, label: `VPIPE_VMAF_FFMPEG=${named}`, explicit: true };
  if (fs.existsSync(FETCHED_BINARY)) return { binary: FETCHED_BINARY, label: '.tools/bin/ffmpeg-vmaf', explicit: false };
  return { binary: undefined, label: 'the OS ffmpeg (no VPIPE_VMAF_FFMPEG, no .tools/bin/ffmpeg-vmaf)', explicit: false };
}

const PROBE_TIMEOUT_MS = 30_000;

async function versionOf(binary: string | undefined, run: ToolRunner): Promise<string> {
  const r = await run('ffmpeg', ['-hide_banner', '-version'], { binary, timeoutMs: PROBE_TIMEOUT_MS });
  const m = /^ffmpeg version (\S+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new VpipeError(ErrorCodes.ToolFailed, `ffmpeg -version failed (exit ${r.code}): ${r.stderr.trim().slice(-200)}`);
  return m[1]!;
}

/** libvmaf's version from a two-frame run, or why it did not run. */
async function libvmafProbe(binary: string | undefined, run: ToolRunner): Promise<{ libvmaf: string } | { reason: string }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'vpipe-vmaf-probe-'));
  try {
    const log = path.join(dir, 'vmaf.json');
    const src = ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=0.08'];
    const r = await run(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', ...src, ...src, '-lavfi', `[0:v][1:v]libvmaf=log_fmt=json:log_path=${log}`, '-f', 'null', '-'],
      { binary, timeoutMs: PROBE_TIMEOUT_MS },
    );
    if (r.code !== 0) {
      if (/No such filter: 'libvmaf'/.test(r.stderr)) return { reason: 'it has no libvmaf filter (built without --enable-libvmaf)' };
      return { reason: `a two-frame libvmaf run failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300)}` };
    }
    const j = JSON.parse(await fsp.readFile(log, 'utf8')) as { version?: string; frames?: unknown[] };
    if (!j.version || j.frames?.length !== 2) return { reason: 'a two-frame libvmaf run wrote no scores' };
    return { libvmaf: j.version };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function probe(c: Candidate, run: ToolRunner): Promise<MetricTool> {
  let binary = c.binary;
  let ffmpeg: string;
  let unusable: string | null = null;
  try {
    ffmpeg = await versionOf(binary, run);
  } catch (e) {
    // A fetched build that cannot run here (another CPU, a broken download) leaves the OS ffmpeg; a named one is the user's choice.
    unusable = `${c.label} cannot be run: ${(e as Error).message}`;
    binary = undefined;
    ffmpeg = await versionOf(undefined, run);
  }
  if (unusable && c.explicit) return { binary, ffmpeg, vmaf: { available: false, reason: unusable } };
  const p = await libvmafProbe(binary, run);
  const label = binary === c.binary ? c.label : 'the OS ffmpeg';
  if ('reason' in p) return { binary, ffmpeg, vmaf: { available: false, reason: `${unusable ? `${unusable}; ` : ''}${label} (ffmpeg ${ffmpeg}): ${p.reason}` } };
  return { binary, ffmpeg, vmaf: { available: true, libvmaf: p.libvmaf } };
}

const cache = new WeakMap<ToolRunner, Map<string, Promise<MetricTool>>>();

/**
 * The metric ffmpeg of this process, probed once per binary (a failed probe is not kept); `named` is
 * VPIPE_VMAF_FFMPEG (default: the tool options in force). Throws TOOL_MISSING when no ffmpeg runs at all.
 */
export function metricTool(run: ToolRunner = runTool, named: string | null = toolOptions().vmafFfmpeg): Promise<MetricTool> {
  const c = candidate(named);
  let byRunner = cache.get(run);
  if (!byRunner) cache.set(run, (byRunner = new Map()));
  const key = c.binary ?? '';
  let pending = byRunner.get(key);
  if (!pending) {
    const entries = byRunner;
    pending = probe(c, run).then((t) => {
      vqsMetrics.vmafAvailable.set(t.vmaf.available ? 1 : 0);
      return t;
    });
    pending.catch(() => entries.delete(key));
    entries.set(key, pending);
  }
  return pending;
}

/** The error a request that needs VMAF gets where the metric ffmpeg has none: what is wrong, and the three ways out. */
export function vmafMissingError(reason: string): VpipeError {
  return new VpipeError(
    ErrorCodes.ToolMissing,
    `VMAF cannot be measured on this node: ${reason}. Run ${FETCH_SCRIPT} (it installs a static ffmpeg 7.0.2 with libvmaf as .tools/bin/ffmpeg-vmaf), ` +
      'or set VPIPE_VMAF_FFMPEG to an ffmpeg built with --enable-libvmaf, or send allowWithoutVmaf: true to measure PSNR and SSIM only',
    { details: [{ path: 'metrics', message: 'vmaf is not available: libvmaf missing from the metric ffmpeg' }] },
  );
}
