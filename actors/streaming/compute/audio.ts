/**
 * The streaming job's audio step: every source audio stream becomes one
 * AAC-LC stereo rendition (an .m4a the packager segments), EBU R128
 * normalised by ffmpeg's two-pass loudnorm and laid on the video's timeline
 * (t = 0 is the source's first video frame, the end is the video's end).
 * The encoded file is measured again, by ebur128, and must land within 1 LU
 * of the target.
 */
import fs from 'node:fs/promises';
import { ErrorCodes, ToolError, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import { LanguageTag } from '../../../schemas/streaming.js';

/** One source audio stream as VIS reports it (AudioStreamInfo's fields that matter here). */
export interface SourceAudioTrack {
  index: number;
  language: string | null;
  channels: number;
  layout: string | null;
  codec: string;
}

export interface AudioPlan {
  /** `a0`, `a1` … in source order. */
  id: string;
  sourceStream: number;
  /** The container's tag as given (`eng`, `fr`, `pt-BR`); `und` when missing or not a language tag. */
  language: string;
  /** A display name that passes TrackName: `English`, `English 2` for a second English track. */
  name: string;
  default: boolean;
  sourceChannels: number;
}

/** BS.1770 figures: integrated loudness (LUFS), true peak (dBTP), loudness range (LU). */
export interface Loudness {
  integratedLufs: number;
  truePeakDb: number;
  lra: number;
}

export interface AudioEncodeOptions {
  target: Loudness;
  bitrateKbps: number;
  sampleRate: number;
  /** The video stream's start time on the source's timeline (ffprobe start_time): the rendition's t = 0. */
  videoStartSeconds: number;
  /** The video's duration: the rendition is padded with silence or cut to exactly this long. */
  durationSeconds: number;
  signal?: AbortSignal;
}

/** The encoded rendition (AudioInput's `path` and `channels`) and its loudness before and after. */
export interface AudioRendition {
  path: string;
  channels: 2;
  sampleRate: number;
  /** Exactly the video's duration, in whole output samples. */
  durationSeconds: number;
  /**
   * Pass one's measurement of the source stream as it is encoded (on the video's timeline, downmixed), with
   * its gating threshold and the offset pass two was given. Digital silence's −inf is reported as −70 LUFS and
   * −144 dBTP (JSON has no infinities); a near-silent source gets offset 0 (no gain was applied).
   */
  input: Loudness & { threshold: number; offset: number };
  /** ebur128's measurement of the encoded file. */
  output: Loudness;
  /** loudnorm's account of pass two: one gain (`linear`) or its limiter (`dynamic`); `none`: no gain at all (near-silent source). */
  normalization: 'linear' | 'dynamic' | 'none';
  /** Why the rendition is not a plain linear normalisation, for the job's notes. */
  note?: string;
}

const AAC_LC = ['-c:a', 'aac', '-profile:a', 'aac_low'];
/** Below the absolute gate (−70 LUFS) BS.1770 has no integrated loudness: normalising would only amplify noise. */
const NEAR_SILENT_LUFS = -70;
/** Stand-ins for −inf (digital silence), which JSON cannot carry: ebur128's gate floor for loudness, below 24-bit resolution for peaks. */
const SILENT_LUFS = -70;
const SILENT_PEAK_DB = -144;
/** ITU-R BS.775 downmix coefficient for centre and surrounds (−3 dB). */
const MINUS_3DB = Math.SQRT1_2;
const OUTPUT_TOLERANCE_LU = 1;

/** Every source audio stream in order, one rendition each; the first is the default. */
export function planAudio(tracks: readonly SourceAudioTrack[]): AudioPlan[] {
  const languages = tracks.map((t) => normaliseLanguage(t.language));
  const names = uniqueNames(languages.map(languageName));
  return tracks.map((t, i) => ({
    id: `a${i}`,
    sourceStream: t.index,
    language: languages[i]!,
    name: names[i]!,
    default: i === 0,
    sourceChannels: t.channels,
  }));
}

/** The tag when it is one (playlists and the MPD carry it verbatim), else `und`. */
export function normaliseLanguage(tag: string | null | undefined): string {
  return tag && LanguageTag.safeParse(tag).success ? tag : 'und';
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/** An English display name: ICU knows ISO 639-1, both 639-2 forms (`fre`, `fra`) and regions (`pt-BR`); an unknown tag names itself. */
export function languageName(tag: string): string {
  if (tag === 'und') return 'Unknown language';
  try {
    return languageNames.of(tag) ?? tag;
  } catch {
    // A tag that matches LanguageTag's shape but is no valid BCP 47 (ICU throws RangeError).
    return tag;
  }
}

/** Numbers repeats (`English`, `English 2`): HLS wants every NAME in a rendition group different. */
export function uniqueNames(bases: readonly string[]): string[] {
  const taken = new Set<string>();
  return bases.map((base) => {
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} ${n}`;
    taken.add(name);
    return name;
  });
}

/**
 * Two-pass EBU R128 normalisation of one source stream to AAC-LC stereo at `outPath` (written atomically).
 * Throws TOOL_* when ffmpeg fails, VALIDATION_FAILED when the encoded file misses the target by more than 1 LU.
 */
export async function encodeAudioRendition(srcPath: string, plan: AudioPlan, outPath: string, opts: AudioEncodeOptions): Promise<AudioRendition> {
  const { target, signal } = opts;
  const numbers = { videoStartSeconds: opts.videoStartSeconds, durationSeconds: opts.durationSeconds, sampleRate: opts.sampleRate, bitrateKbps: opts.bitrateKbps };
  for (const [name, v] of Object.entries(numbers)) {
    if (!Number.isFinite(v)) throw new VpipeError(ErrorCodes.BadRequest, `audio encode: ${name} must be a finite number, not ${v}`);
  }
  if (opts.durationSeconds <= 0) throw new VpipeError(ErrorCodes.BadRequest, `audio encode: durationSeconds must be positive, not ${opts.durationSeconds}`);
  const samples = Math.round(opts.durationSeconds * opts.sampleRate);
  const prefix = `[0:${plan.sourceStream}]${onVideoTimeline(opts.videoStartSeconds, opts.sampleRate, samples)}`;
  const mediaSeconds = opts.durationSeconds;
  const loudnorm = `loudnorm=I=${num(target.integratedLufs)}:TP=${num(target.truePeakDb)}:LRA=${num(target.lra)}`;

  const first = await ffmpegChecked(
    ['-copyts', ...inputArgs(srcPath), '-filter_complex', `${prefix},${loudnorm}:print_format=json[m]`, '-map', '[m]', '-f', 'null', '-'],
    `loudness measurement of stream ${plan.sourceStream}`,
    { signal, limit: { mediaSeconds, kind: 'measure' } },
  );
  const m = loudnormJson(first.stderr);
  const nearSilent = !(m.input_i >= NEAR_SILENT_LUFS);
  const input = {
    integratedLufs: finite(m.input_i, SILENT_LUFS),
    truePeakDb: finite(m.input_tp, SILENT_PEAK_DB),
    lra: m.input_lra,
    threshold: finite(m.input_thresh, SILENT_LUFS),
    offset: nearSilent ? 0 : m.target_offset,
  };

  let graph = prefix;
  if (!nearSilent) {
    const measured = [
      `measured_I=${num(measuredOption(m.input_i, 0, -99, 0))}`, `measured_TP=${num(measuredOption(m.input_tp, 99, -99, 99))}`,
      `measured_LRA=${num(measuredOption(m.input_lra, 0, 0, 99))}`, `measured_thresh=${num(measuredOption(m.input_thresh, -70, -99, 0))}`,
      `offset=${num(clamp(m.target_offset, -99, 99))}`,
    ].join(':');
    // loudnorm always runs at 192 kHz (its true-peak limiter needs the oversampling); back to the output rate, exactly `samples` long.
    graph += `,${loudnorm}:${measured}:linear=true:print_format=json,aresample=${opts.sampleRate},${exactLength(samples)}`;
  }
  const tmp = `${outPath}.${process.pid}.part`;
  try {
    const second = await ffmpegChecked(
      [
        '-copyts', ...inputArgs(srcPath), '-filter_complex', `${graph}[a]`, '-map', '[a]',
        ...AAC_LC, '-b:a', `${Math.round(opts.bitrateKbps)}k`, '-ar', String(opts.sampleRate), '-ac', '2',
        '-map_metadata', '-1', '-map_chapters', '-1', '-metadata:s:a:0', `language=${plan.language}`,
        '-f', 'mp4', '-y', `file:${tmp}`,
      ],
      `encoding audio rendition ${plan.id}`,
      { signal, limit: { mediaSeconds, kind: 'encode' } },
    );
    const output = await measureLoudness(tmp, mediaSeconds, signal);
    if (!nearSilent && Math.abs(output.integratedLufs - target.integratedLufs) > OUTPUT_TOLERANCE_LU) {
      throw new VpipeError(
        ErrorCodes.ValidationFailed,
        `audio rendition ${plan.id} measures ${output.integratedLufs} LUFS after encoding, not within ${OUTPUT_TOLERANCE_LU} LU of the ${target.integratedLufs} LUFS target (source ${input.integratedLufs} LUFS, true peak ${input.truePeakDb} dBTP; target true peak ${target.truePeakDb} dBTP)`,
      );
    }
    await fs.rename(tmp, outPath);
    const normalization = nearSilent ? 'none' : loudnormJson(second.stderr).normalization_type === 'linear' ? 'linear' : 'dynamic';
    const note =
      normalization === 'none'
        ? `the source is near-silent (${input.integratedLufs} LUFS, at or below the ${NEAR_SILENT_LUFS} LUFS gate): passed through without loudness gain`
        : normalization === 'dynamic'
          ? 'one linear gain would break the true-peak or loudness-range target: loudnorm normalised dynamically'
          : undefined;
    return { path: outPath, channels: 2, sampleRate: opts.sampleRate, durationSeconds: samples / opts.sampleRate, input, output, normalization, ...(note ? { note } : {}) };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * The stream on the video's timeline, stereo, at the output rate, exactly `samples` long.
 *
 * Sync: with -copyts frame times are the source's own, so shifting by the video's start time
 * puts the first video frame at 0, and aresample's async mode with first_pts=0 pads the front
 * with silence when the audio starts later, drops samples when it starts earlier, and fills
 * gaps inside the stream. Frame times (not the stream's start_time) are what count: an AAC
 * stream's first packet sits one priming frame before its first audible sample.
 *
 * Downmix: swresample's matrix with BS.775 coefficients stated here (L = FL + 0.707·FC +
 * 0.707·(BL|SL), R likewise, LFE dropped), rather than a hand-written `pan`: swresample reads
 * the decoded layout, so 5.1 and 5.1(side), 7.1 or 4.0 each get the right channels, where a
 * `pan` expression has to name channels that one layout has and the other lacks. Mono goes to
 * both sides at −3 dB, the same BS.1770 loudness as the mono source. Float samples first, so
 * the summed channels can exceed full scale without clipping (loudnorm sets the level after).
 */
function onVideoTimeline(videoStartSeconds: number, sampleRate: number, samples: number): string {
  return [
    `asetpts=PTS-(${num(videoStartSeconds, 6)})/TB`,
    'aformat=sample_fmts=fltp',
    `aresample=osr=${sampleRate}:async=1:first_pts=0:ochl=stereo:clev=${num(MINUS_3DB, 4)}:slev=${num(MINUS_3DB, 4)}:lfe_mix_level=0`,
    exactLength(samples),
  ].join(',');
}

/** Pads with silence or cuts to exactly `samples`, counted from the first sample. */
function exactLength(samples: number): string {
  return `asetpts=N/SR/TB,apad=whole_len=${samples},atrim=end_sample=${samples}`;
}

interface LoudnormJson {
  input_i: number;
  input_tp: number;
  input_lra: number;
  input_thresh: number;
  target_offset: number;
  normalization_type: string;
}

/** loudnorm's print_format=json block, the last `{…}` it logs; `-inf`/`inf` become numbers. */
function loudnormJson(stderr: string): LoudnormJson {
  const start = stderr.lastIndexOf('{');
  const end = stderr.lastIndexOf('}');
  let raw: Record<string, string>;
  try {
    raw = JSON.parse(stderr.slice(start, end + 1)) as Record<string, string>;
  } catch {
    throw new ToolError('undecodable', `loudnorm printed no measurement: ${stderr.trim().slice(-300)}`);
  }
  const n = (k: string): number => decibels(raw[k]);
  return { input_i: n('input_i'), input_tp: n('input_tp'), input_lra: n('input_lra'), input_thresh: n('input_thresh'), target_offset: n('target_offset'), normalization_type: raw.normalization_type ?? '' };
}

/** The encoded file's loudness by ebur128 (4× oversampled true peak), a measurement independent of loudnorm's. */
async function measureLoudness(file: string, mediaSeconds: number, signal: AbortSignal | undefined): Promise<Loudness> {
  const r = await ffmpegChecked(
    [...inputArgs(file), '-map', '0:a:0', '-af', 'ebur128=peak=true:framelog=verbose', '-f', 'null', '-'],
    'loudness measurement of the encoded rendition',
    { signal, limit: { mediaSeconds, kind: 'measure' } },
  );
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  const i = /Integrated loudness:\s+I:\s+(\S+) LUFS/.exec(summary);
  const lra = /Loudness range:\s+LRA:\s+(\S+) LU/.exec(summary);
  const peak = /True peak:\s+Peak:\s+(\S+) dBFS/.exec(summary);
  if (!i || !lra || !peak) throw new ToolError('undecodable', `ebur128 printed no summary: ${r.stderr.trim().slice(-300)}`);
  return { integratedLufs: finite(decibels(i[1]), SILENT_LUFS), truePeakDb: finite(decibels(peak[1]), SILENT_PEAK_DB), lra: decibels(lra[1]) };
}

type ToolOpts = NonNullable<Parameters<ToolRunner>[2]>;

/** Runs ffmpeg (quiet but for filter summaries); a non-zero exit throws a non-retryable TOOL_FAILED naming `what`. */
export async function ffmpegChecked(args: string[], what: string, opts: ToolOpts): Promise<Awaited<ReturnType<ToolRunner>>> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', ...args], { keepStdout: false, ...opts });
  assertToolRan('ffmpeg', r);
  if (r.code !== 0) throw new ToolError('undecodable', `${what} failed (ffmpeg exit ${r.code}): ${r.stderr.trim().slice(-400)}`);
  return r;
}

/** ffmpeg's decibel strings: `-23.0`, `-inf`, `inf`. */
function decibels(s: string | undefined): number {
  if (s === '-inf') return -Infinity;
  if (s === 'inf' || s === '+inf') return Infinity;
  const v = Number(s);
  if (s === undefined || s === '' || Number.isNaN(v)) throw new ToolError('undecodable', `ffmpeg printed ${JSON.stringify(s)} where a loudness figure belongs`);
  return v;
}

function finite(v: number, floor: number): number {
  return Number.isFinite(v) ? v : floor;
}

/**
 * A pass-one figure as a pass-two option: clamped into the option's range (a full-scale square wave
 * measures above 0 LUFS), at the two decimals it is written with, and moved 0.01 off the option's
 * default. loudnorm reads a default (measured_I 0, measured_LRA 0, measured_thresh −70, measured_TP 99)
 * as "not measured" and then never applies one linear gain; a steady tone's LRA really is 0.
 */
function measuredOption(v: number, unset: number, lo: number, hi: number): number {
  const c = Math.round(clamp(v, lo, hi) * 100) / 100;
  return c !== unset ? c : c === hi ? c - 0.01 : c + 0.01;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** A number as filter-graph text: fixed decimals, never exponent notation. */
function num(v: number, decimals = 2): string {
  return v.toFixed(decimals);
}
