/** Renders an inspection result as a readable terminal report. */
import type { Rational } from '../schemas/common.js';
import type { InspectResult, Issue } from '../schemas/vis.js';

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => paint(1, s);
const SEVERITY_MARK: Record<Issue['severity'], string> = {
  error: paint(31, 'ERROR  '),
  warning: paint(33, 'WARNING'),
  info: paint(36, 'INFO   '),
};

function rate(r: Rational | null): string {
  if (!r || r.den === 0) return 'n/a';
  const v = r.num / r.den;
  return `${Number.isInteger(v) ? v : v.toFixed(3)} (${r.num}/${r.den})`;
}

function num(v: number | null | undefined, unit = '', digits = 3): string {
  return v === null || v === undefined ? 'n/a' : `${Number.isInteger(v) ? v : v.toFixed(digits)}${unit}`;
}

function kbps(bps: number | null): string {
  return bps === null ? 'n/a' : `${Math.round(bps / 1000)} kb/s`;
}

function rows(pairs: [string, string][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `    ${k.padEnd(w)}  ${v}`).join('\n');
}

export function renderInspection(r: InspectResult): string {
  const out: string[] = [];
  out.push(bold(`Inspection of ${r.source.uri}`) + `   verdict: ${r.verdict === 'ok' ? paint(32, 'ok') : r.verdict === 'warnings' ? paint(33, 'warnings') : paint(31, 'errors')}`);
  if (r.container) {
    const c = r.container;
    out.push(bold('  Container'));
    out.push(rows([
      ['format', `${c.format}${c.formatLongName ? ` (${c.formatLongName})` : ''}`],
      ['duration', num(c.durationSeconds, ' s')],
      ['bit rate', kbps(c.bitRate)],
      ['start time', num(c.startTimeSeconds, ' s')],
      ['size', c.sizeBytes === null ? 'n/a' : `${c.sizeBytes} bytes`],
      ['timecode', r.timecode ?? 'none'],
    ]));
  }
  for (const v of r.video) {
    out.push(bold(`  Video stream #${v.index}`));
    out.push(rows([
      ['codec', `${v.codec}${v.profile ? ` ${v.profile}` : ''}${v.level !== null ? ` level ${v.level}` : ''}`],
      ['resolution', `${v.resolution.width}x${v.resolution.height}  SAR ${v.sar ? `${v.sar.num}:${v.sar.den}` : 'n/a'}  DAR ${v.dar ? `${v.dar.num}:${v.dar.den}` : 'n/a'}`],
      ['frame rate', `${rate(v.frameRate)}  avg ${rate(v.avgFrameRate)}  ${v.frameRateMode.toUpperCase()}`],
      ['frames', `${num(v.frameCount)} decoded${v.frameCountHeader !== null ? `, ${v.frameCountHeader} in header` : ''}`],
      ['pixels', `${v.pixelFormat ?? 'n/a'}  ${num(v.bitDepth)}-bit  ${v.chromaSubsampling}`],
      ['scan', `${v.scanType}${v.idet ? `  (idet TFF ${v.idet.tff} BFF ${v.idet.bff} progressive ${v.idet.progressive} undetermined ${v.idet.undetermined})` : ''}`],
      ['colour', `primaries ${v.colour.primaries ?? '?'}  transfer ${v.colour.transfer ?? '?'}  matrix ${v.colour.matrix ?? '?'}  range ${v.colour.range ?? '?'}`],
      ['HDR', v.hdr.format + (v.hdr.masteringDisplay ? `  mastering ${v.hdr.masteringDisplay.minLuminance}-${v.hdr.masteringDisplay.maxLuminance} cd/m²` : '') + (v.hdr.contentLightLevel ? `  MaxCLL ${v.hdr.contentLightLevel.maxCll} MaxFALL ${v.hdr.contentLightLevel.maxFall}` : '')],
      ['rotation', `${v.rotationDegrees}°`],
      ['duration', num(v.durationSeconds, ' s')],
      ['bit rate', kbps(v.bitRate)],
      ['decode errors', num(v.decodeErrors)],
    ]));
  }
  for (const a of r.audio) {
    out.push(bold(`  Audio stream #${a.index}`));
    out.push(rows([
      ['codec', `${a.codec}${a.profile ? ` ${a.profile}` : ''}`],
      ['layout', `${a.layout.channels} ch${a.layout.layout ? ` (${a.layout.layout})` : ''}  ${num(a.sampleRate, ' Hz')}`],
      ['duration', num(a.durationSeconds, ' s')],
      ['language', a.language ?? 'n/a'],
    ]));
  }
  out.push(bold(`  Issues (${r.issues.length})`));
  if (!r.issues.length) out.push('    none');
  for (const i of r.issues) out.push(`    ${SEVERITY_MARK[i.severity]} ${i.code}: ${i.message}`);
  out.push(`  ${paint(2, r.tools.ffprobe)}`);
  return out.join('\n');
}
