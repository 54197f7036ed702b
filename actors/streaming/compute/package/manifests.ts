/**
 * What the HLS and DASH writers are given, from the packaged renditions:
 * audio groups and defaults, variant bit rates, adaptation sets.
 */
import type { AudioInput, TextInput, VideoInput } from '../types.js';
import { type DashAdaptation, type DashRepresentation, mpd } from './dash.js';
import { type AudioMedia, mediaPlaylist, multivariantPlaylist, type Variant } from './hls.js';
import { fromManifest, type Packaged } from './rendition.js';

export interface Presentation {
  video: Packaged<VideoInput>[];
  audio: Packaged<AudioInput>[];
  text: { input: TextInput; vtt: string; bytes: number }[];
  /** The earliest video frame's time: the presentation's zero, in every track's media time. */
  originSeconds: number;
  durationSeconds: number;
  maxSegmentSeconds: number;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    out.set(k, out.get(k) ?? []);
    out.get(k)!.push(item);
  }
  return out;
}

/** The member a group plays by default: the first marked so, else (with `fallback`) the first. */
function defaultOf<T extends { input: { default: boolean } }>(members: readonly T[], fallback: boolean): T | undefined {
  return members.find((m) => m.input.default) ?? (fallback ? members[0] : undefined);
}

/** Audio groups hold interchangeable renditions: one codec and channel count each; one member of each is the default. */
function audioGroups(audio: Presentation['audio']): { groups: Map<string, Packaged<AudioInput>[]>; defaults: Set<Packaged<AudioInput>> } {
  const groups = groupBy(audio, (p) => `aud-${p.pkg.codecs}-${p.pkg.channels}ch`);
  return { groups, defaults: new Set([...groups.values()].map((g) => defaultOf(g, true)!)) };
}

/** Every HLS playlist, by its path under hls/. */
export function hlsFiles(p: Presentation): Map<string, string> {
  const files = new Map<string, string>();
  for (const r of [...p.video, ...p.audio]) {
    const map = fromManifest(r.pkg.init);
    files.set(`${r.pkg.id}.m3u8`, mediaPlaylist({ map, entries: r.pkg.segments.map((s) => ({ uri: fromManifest(s.path), seconds: s.durationSeconds })) }));
    if (r.iframes) files.set(`${r.pkg.id}-iframes.m3u8`, mediaPlaylist({ map, entries: r.iframes.entries }));
  }
  // A subtitle playlist is one segment: the whole file, over the whole presentation.
  for (const t of p.text) files.set(`${t.input.id}.m3u8`, mediaPlaylist({ entries: [{ uri: fromManifest(t.vtt), seconds: p.durationSeconds }] }));

  const { groups, defaults } = audioGroups(p.audio);
  const audio: AudioMedia[] = [...groups].flatMap(([groupId, members]) =>
    members.map((m) => ({ groupId, language: m.input.language, name: m.input.name, default: defaults.has(m), channels: m.pkg.channels!, uri: `${m.pkg.id}.m3u8` })),
  );
  const textDefault = defaultOf(p.text, false);
  const text = p.text.map((t) => ({ language: t.input.language, name: t.input.name, default: t === textDefault, forced: t.input.forced, uri: `${t.input.id}.m3u8` }));
  // A variant needs its video and the most demanding audio of its group at once (RFC 8216 §4.3.4.2: the largest sum of any playable combination).
  const variants: Variant[] = p.video.flatMap((v) => {
    const base = { uri: `${v.pkg.id}.m3u8`, width: v.pkg.width!, height: v.pkg.height!, frameRate: v.pkg.frameRate! };
    if (groups.size === 0) return [{ ...base, bandwidth: v.rates.peak, averageBandwidth: v.rates.average, codecs: [v.pkg.codecs] }];
    return [...groups].map(([groupId, members]) => ({
      ...base,
      bandwidth: v.rates.peak + Math.max(...members.map((m) => m.rates.peak)),
      averageBandwidth: v.rates.average + Math.max(...members.map((m) => m.rates.average)),
      codecs: [v.pkg.codecs, members[0]!.pkg.codecs],
      audioGroup: groupId,
    }));
  });
  const iframes = p.video.map((v) => ({
    uri: `${v.pkg.id}-iframes.m3u8`, bandwidth: v.iframes!.rates.peak, averageBandwidth: v.iframes!.rates.average, codecs: v.pkg.codecs, width: v.pkg.width!, height: v.pkg.height!,
  }));
  files.set('main.m3u8', multivariantPlaylist({ audio, text, variants, iframes }));
  return files;
}


/** The MPD: an adaptation set per video sample entry (codec), per audio language and per text track. */
export function dashManifest(p: Presentation): string {
  const representation = (r: Packaged, extra: Partial<DashRepresentation>): DashRepresentation => ({
    id: r.pkg.id,
    bandwidth: r.rates.peak,
    codecs: r.pkg.codecs,
    timescale: r.pkg.timescale,
    initialization: fromManifest(r.pkg.init),
    media: fromManifest(`media/${r.pkg.id}/seg-$Number%05d$.m4s`),
    timeline: r.cut.timed.segments.map((s) => ({ start: s.startTicks, duration: s.durationTicks })),
    presentationTimeOffset: Math.round(p.originSeconds * r.pkg.timescale),
    ...extra,
  });
  const adaptations: DashAdaptation[] = [];
  for (const set of groupBy(p.video, (v) => v.pkg.codecs.split('.')[0]!).values()) {
    const representations = set.map((v) => {
      const rate = v.cut.timed.frameRate!;
      return representation(v, { width: v.pkg.width, height: v.pkg.height, frameRate: rate.den === 1 ? `${rate.num}` : `${rate.num}/${rate.den}` });
    });
    adaptations.push({ contentType: 'video', representations });
  }
  const { defaults } = audioGroups(p.audio);
  for (const [lang, set] of groupBy(p.audio, (a) => a.input.language)) {
    adaptations.push({
      contentType: 'audio',
      lang,
      label: set[0]!.input.name,
      main: set.some((a) => defaults.has(a)),
      representations: set.map((a) => representation(a, { channels: a.pkg.channels, sampleRate: a.pkg.sampleRate })),
    });
  }
  const text = p.text.map((t) => ({
    id: t.input.id, lang: t.input.language, label: t.input.name, forced: t.input.forced, url: fromManifest(t.vtt),
    bandwidth: Math.max(1, Math.ceil((t.bytes * 8) / p.durationSeconds)),
  }));
  return mpd({ durationSeconds: p.durationSeconds, minBufferSeconds: p.maxSegmentSeconds, adaptations, text });
}
