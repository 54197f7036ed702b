/**
 * The audio and timed-text step (the roles of Netflix's audio and timed-text
 * services, here in the workflow process): every source audio stream becomes
 * an AAC-LC stereo rendition with its language, loudness-normalised to the
 * request's EBU R128 target in two passes; every text stream of the source
 * and every sidecar becomes a WebVTT track. All on the video's timeline (0 =
 * the first video frame), so they line up with the rungs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StepDeps } from '../../runtime/jobs/mod.js';
import { AUDIO_DEFAULTS, TrackName } from '../../schemas/streaming.js';
import { encodeAudioRendition, languageName, normaliseLanguage, planAudio, uniqueNames } from './compute/audio.js';
import { extractText, probeTextStreams, sidecarToText } from './compute/text.js';
import { since, workDir } from './steps.js';
import type { SourceFacts, StreamingJobInput, Tracks } from './workflow.js';

/** What a text track of the source or a sidecar brings before it is named. */
interface TextCandidate {
  language: string;
  /** A name given by the request or the stream's title, when it is fit for a playlist. */
  name: string | null;
  default: boolean;
  forced: boolean;
  from: string;
  vtt: { path: string; cues: number };
}

export async function tracks(job: StreamingJobInput, source: SourceFacts, deps: StepDeps, signal: AbortSignal): Promise<Tracks> {
  const t0 = Date.now();
  const dir = workDir(job);
  await fs.mkdir(dir, { recursive: true });
  const notes: string[] = [];
  deps.progress('tracks', 0);

  const plans = job.audio.enabled ? planAudio(source.audio) : [];
  if (!job.audio.enabled && source.audio.length) notes.push('audio renditions left out: the request disabled audio');
  const audio = await Promise.all(
    plans.map(async (p) => {
      const r = await encodeAudioRendition(job.sourcePath, p, path.join(dir, `${p.id}.m4a`), {
        target: job.audio.loudness,
        bitrateKbps: job.audio.bitrateKbps,
        sampleRate: AUDIO_DEFAULTS.sampleRate,
        videoStartSeconds: source.videoStartSeconds,
        durationSeconds: source.durationSeconds,
        signal,
      });
      if (r.note) notes.push(`audio ${p.id}: ${r.note}`);
      return {
        id: p.id,
        path: r.path,
        language: p.language,
        name: p.name,
        default: p.default,
        channels: r.channels,
        report: {
          id: p.id,
          language: p.language,
          name: p.name,
          default: p.default,
          sourceStream: p.sourceStream,
          sourceChannels: p.sourceChannels,
          channels: r.channels,
          bitrateKbps: job.audio.bitrateKbps,
          loudness: {
            target: job.audio.loudness,
            input: { integratedLufs: r.input.integratedLufs, truePeakDb: r.input.truePeakDb, lra: r.input.lra },
            output: r.output,
          },
        },
      };
    }),
  );
  deps.progress('tracks', 0.7);

  const found: TextCandidate[] = [];
  for (const s of await probeTextStreams(job.sourcePath, signal)) {
    if (!s.convertible) {
      notes.push(`text stream ${s.index} (${s.codec}) left out: ${s.reason ?? 'not convertible to WebVTT'}`);
      continue;
    }
    const vtt = await extractText(job.sourcePath, s.index, path.join(dir, `stream-${s.index}.vtt`), { videoStartSeconds: source.videoStartSeconds, signal });
    // A title that would not survive a playlist attribute (quotes, markup) is replaced by the language's name.
    const title = s.title !== null && TrackName.safeParse(s.title).success ? s.title : null;
    // Not on by default: MP4 marks its first text track enabled whatever the author meant, so the flag says nothing.
    found.push({ language: normaliseLanguage(s.language), name: title, default: false, forced: s.forced, from: `stream:${s.index}`, vtt });
  }
  for (const [i, s] of job.subtitles.entries()) {
    const vtt = await sidecarToText(s.path, path.join(dir, `sidecar-${i}.vtt`));
    found.push({ language: s.language, name: s.name ?? null, default: s.default, forced: s.forced, from: s.uri, vtt });
  }
  const names = uniqueNames(found.map((t) => t.name ?? languageName(t.language)));
  const text: Tracks['text'] = found.map((t, i) => {
    const id = `text-${i}`;
    const name = names[i]!;
    return { id, path: t.vtt.path, language: t.language, name, default: t.default, forced: t.forced, report: { id, language: t.language, name, default: t.default, forced: t.forced, from: t.from, cues: t.vtt.cues } };
  });
  deps.progress('tracks', 1);
  return { audio, text, notes, seconds: since(t0) };
}
