/**
 * The DASH MPD (ISO/IEC 23009-1, isoff-live profile, static): one period
 * over the same CMAF segments HLS uses, addressed with SegmentTemplate
 * ($Number$) and an explicit SegmentTimeline, so every segment's real
 * duration is stated rather than a nominal one. Paths are relative to
 * dash/. Every attribute value is XML-escaped.
 */

export interface DashRepresentation {
  id: string;
  bandwidth: number;
  codecs: string;
  timescale: number;
  /** Relative to the MPD: `../media/v0/init.mp4`, `../media/v0/seg-$Number%05d$.m4s`. */
  initialization: string;
  media: string;
  /** Segment start and duration in track ticks. */
  timeline: readonly { start: number; duration: number }[];
  /** The media time (ticks) that is the period's start: the presentation's origin, the same instant for every representation. */
  presentationTimeOffset: number;
  width?: number;
  height?: number;
  /** `30000/1001`, `25`. */
  frameRate?: string;
  channels?: number;
  sampleRate?: number;
}

export interface DashAdaptation {
  contentType: 'video' | 'audio';
  lang?: string;
  label?: string;
  main?: boolean;
  representations: readonly DashRepresentation[];
}

export interface DashText {
  id: string;
  lang: string;
  label: string;
  forced: boolean;
  bandwidth: number;
  /** Relative to the MPD: `../media/text/en.vtt`. */
  url: string;
}

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

/** ` a="1" b="x"`, skipping undefined values. */
function attrs(values: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

/** xs:duration in seconds, to the millisecond. */
const isoDuration = (seconds: number) => `PT${seconds.toFixed(3)}S`;

/** SegmentTimeline S elements: the first with its start, then runs of equal durations as `r` repeats. */
function timeline(t: DashRepresentation['timeline']): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; ) {
    let j = i;
    while (j + 1 < t.length && t[j + 1]!.duration === t[i]!.duration) j++;
    out.push(`<S${attrs({ t: i === 0 ? t[0]!.start : undefined, d: t[i]!.duration, r: j > i ? j - i : undefined })}/>`);
    i = j + 1;
  }
  return out;
}

function representation(r: DashRepresentation, indent: string): string[] {
  const lines = [
    `${indent}<Representation${attrs({ id: r.id, bandwidth: r.bandwidth, codecs: r.codecs, width: r.width, height: r.height, frameRate: r.frameRate, audioSamplingRate: r.sampleRate })}>`,
  ];
  if (r.channels !== undefined) {
    lines.push(`${indent}  <AudioChannelConfiguration${attrs({ schemeIdUri: 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011', value: r.channels })}/>`);
  }
  const template = { timescale: r.timescale, presentationTimeOffset: r.presentationTimeOffset, initialization: r.initialization, media: r.media, startNumber: 1 };
  lines.push(`${indent}  <SegmentTemplate${attrs(template)}>`, `${indent}    <SegmentTimeline>`);
  lines.push(...timeline(r.timeline).map((s) => `${indent}      ${s}`));
  lines.push(`${indent}    </SegmentTimeline>`, `${indent}  </SegmentTemplate>`, `${indent}</Representation>`);
  return lines;
}

const role = (value: string) => `<Role${attrs({ schemeIdUri: 'urn:mpeg:dash:role:2011', value })}/>`;

export function mpd(m: { durationSeconds: number; minBufferSeconds: number; adaptations: readonly DashAdaptation[]; text: readonly DashText[] }): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD${attrs({
      xmlns: 'urn:mpeg:dash:schema:mpd:2011',
      profiles: 'urn:mpeg:dash:profile:isoff-live:2011',
      type: 'static',
      mediaPresentationDuration: isoDuration(m.durationSeconds),
      minBufferTime: isoDuration(m.minBufferSeconds),
    })}>`,
    `  <Period${attrs({ id: '0', start: 'PT0S' })}>`,
  ];
  let id = 0;
  for (const a of m.adaptations) {
    lines.push(
      `    <AdaptationSet${attrs({ id: id++, contentType: a.contentType, mimeType: `${a.contentType}/mp4`, lang: a.lang, segmentAlignment: true, startWithSAP: 1 })}>`,
    );
    if (a.label !== undefined) lines.push(`      <Label>${escapeXml(a.label)}</Label>`);
    if (a.main) lines.push(`      ${role('main')}`);
    for (const r of a.representations) lines.push(...representation(r, '      '));
    lines.push('    </AdaptationSet>');
  }
  for (const t of m.text) {
    lines.push(`    <AdaptationSet${attrs({ id: id++, contentType: 'text', mimeType: 'text/vtt', lang: t.lang })}>`);
    lines.push(`      <Label>${escapeXml(t.label)}</Label>`, `      ${role(t.forced ? 'forced-subtitle' : 'subtitle')}`);
    lines.push(`      <Representation${attrs({ id: t.id, bandwidth: t.bandwidth })}>`, `        <BaseURL>${escapeXml(t.url)}</BaseURL>`, '      </Representation>');
    lines.push('    </AdaptationSet>');
  }
  lines.push('  </Period>', '</MPD>');
  return `${lines.join('\n')}\n`;
}
