/** What the studio tests share: submitting a job and waiting, per-frame crop PSNR by the test's own ffmpeg pass, stream facts by ffprobe. */
import { expect } from 'vitest';
import type { JobEvent } from '../../schemas/api.js';
import { runTool } from '../../runtime/media/tools.js';
import type { VpipeClient } from '../../runtime/jobs/client.js';

export async function submitStudio(client: VpipeClient, body: Record<string, unknown>, endpoint: 'submit' | 'detect' = 'submit', timeoutMs = 600_000): Promise<JobEvent & { jobId: string }> {
  const { jobId } = await client.request<{ jobId: string }>(`vpipe.studio.${endpoint}`, body, { encoding: 'json' });
  const ev = await client.waitForResult('studio', jobId, { timeoutMs });
  return { ...ev, jobId };
}

/** A succeeded job's result; fails the test with the job's error otherwise. */
export function resultOf<T>(ev: JobEvent): T {
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as T;
}

export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Per-frame PSNR (average over planes) of `a` against `b`, frames paired by count; each side's
 * `filters` (e.g. a drawtext pass rendering the reference) run before an optional crop. Both
 * decoded to yuv420p at their own size.
 */
export async function framePsnr(a: string, b: string, o: { filtersA?: string; filtersB?: string; crop?: Crop } = {}): Promise<number[]> {
  const crop = o.crop ? `,crop=${o.crop.width}:${o.crop.height}:${o.crop.x}:${o.crop.y}` : '';
  const side = (i: number, f?: string) => `[${i}:v:0]settb=1/25,setpts=N${f ? `,${f}` : ''},format=yuv420p${crop}[s${i}]`;
  const graph = `${side(0, o.filtersA)};${side(1, o.filtersB)};[s0][s1]psnr=stats_file=-:shortest=1`;
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', `file:${a}`, '-i', `file:${b}`, '-filter_complex', graph, '-f', 'null', '-'], { timeoutMs: 300_000, maxStdoutBytes: 64 * 1024 * 1024 });
  expect(r.code, r.stderr).toBe(0);
  const out: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /\bn:(\d+)\b.*\bpsnr_avg:(inf|[-0-9.]+)/.exec(line);
    if (m) out[Number(m[1]) - 1] = m[2] === 'inf' ? 100 : Number(m[2]);
  }
  return out;
}

export interface VideoFacts {
  codec: string;
  profile: string;
  pixFmt: string;
  width: number;
  height: number;
  frames: number;
  keyframes: number;
  formatName: string;
  audio: { codec: string; channels: number; sampleRate: number } | null;
}

/** Codec, profile, pixel format, size, frame and keyframe counts (a packet pass) and the first audio stream, by ffprobe. */
export async function videoFacts(file: string): Promise<VideoFacts> {
  const r = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name:stream=codec_type,codec_name,profile,pix_fmt,width,height,channels,sample_rate', '-of', 'json', `file:${file}`], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { format: { format_name: string }; streams: Record<string, string | number>[] };
  const v = j.streams.find((s) => s.codec_type === 'video')!;
  const a = j.streams.find((s) => s.codec_type === 'audio');
  const p = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', `file:${file}`], { timeoutMs: 60_000, maxStdoutBytes: 64 * 1024 * 1024 });
  const flags = p.stdout.trim().split('\n').filter(Boolean);
  return {
    codec: String(v.codec_name),
    profile: String(v.profile),
    pixFmt: String(v.pix_fmt),
    width: Number(v.width),
    height: Number(v.height),
    frames: flags.length,
    keyframes: flags.filter((f) => f.includes('K')).length,
    formatName: j.format.format_name,
    audio: a ? { codec: String(a.codec_name), channels: Number(a.channels), sampleRate: Number(a.sample_rate) } : null,
  };
}
