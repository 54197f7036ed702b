/** Rules about the picture's format: timing, scan, geometry, colour, HDR, orientation (primary video stream only). */
import { rationalToNumber } from '../../../schemas/common.js';
import type { Issue } from '../../../schemas/vis.js';
import { STANDARD_FRAME_RATES, fmtRate, isStandardFrameRate } from './frame-rate.js';
import { issue, type IssueRule } from './issue-kit.js';
import { chromaHalving, describePixelFormat } from './pixel-format.js';
import { isInterlaced } from './scan-type.js';

const vfr: IssueRule = ({ primary, frameRate }) => {
  if (!primary || frameRate?.mode !== 'vfr') return [];
  const avg = primary.avgFrameRate ? rationalToNumber(primary.avgFrameRate) : null;
  const target = avg ? nearestStandard(avg) : null;
  return [
    issue(
      'warning',
      'VARIABLE_FRAME_RATE',
      `Video has a variable frame rate: ${frameRate.evidence}. Editors and encoders may drift out of A/V sync or drop and ` +
        `duplicate frames unpredictably; convert to a constant rate first${target ? ` (e.g. -fps_mode cfr -r ${target})` : ''}.`,
      { streamIndex: primary.index, details: frameRate.details },
    ),
  ];
};

function nearestStandard(fps: number): string {
  const best = STANDARD_FRAME_RATES.reduce((a, b) => (Math.abs(b - fps) < Math.abs(a - fps) ? b : a));
  return Number.isInteger(best) ? String(best) : `${Math.round(best * 1001)}/1001`;
}

const unusualRate: IssueRule = ({ primary, frameRate }) => {
  if (!primary || frameRate?.mode === 'vfr') return [];
  const r = primary.frameRate ?? primary.avgFrameRate;
  if (!r || r.num === 0) return [];
  const fps = rationalToNumber(r);
  if (isStandardFrameRate(fps)) return [];
  return [
    issue(
      'warning',
      'UNUSUAL_FRAME_RATE',
      `Frame rate ${fmtRate(fps)} fps (${r.num}/${r.den}) is not a standard rate (23.976, 24, 25, 29.97, 30, 50, 59.94, 60 …): ` +
        `confirm it is intended, or conform to the nearest standard (${nearestStandard(fps)}) before delivery.`,
      { streamIndex: primary.index, details: { frameRate: `${r.num}/${r.den}` } },
    ),
  ];
};

const interlaced: IssueRule = ({ primary }) => {
  if (!primary || !(isInterlaced(primary.scanType) || primary.scanType === 'mixed')) return [];
  const i = primary.idet;
  const counts = i ? ` (idet: ${i.tff} TFF, ${i.bff} BFF, ${i.progressive} progressive, ${i.undetermined} undetermined)` : ' (from the header)';
  const what =
    primary.scanType === 'mixed'
      ? 'a mix of interlaced and progressive pictures'
      : `interlaced, ${primary.scanType === 'interlaced_tff' ? 'top' : 'bottom'} field first`;
  return [
    issue(
      'warning',
      'INTERLACED',
      `Video is ${what}${counts}: deinterlace (e.g. bwdif) before scaling or delivering to progressive platforms, ` +
        'or keep the field order intact if the delivery is interlaced.',
      { streamIndex: primary.index, details: { scanType: primary.scanType } },
    ),
  ];
};

const scanMismatch: IssueRule = ({ primary, scanTypeFromPictures }) => {
  if (!primary || !scanTypeFromPictures) return [];
  const header = primary.fieldOrderHeader;
  const seen = primary.scanType;
  const headerInterlaced = header === 'tt' || header === 'bb' || header === 'tb' || header === 'bt';
  let message: string | null = null;
  if (header === 'progressive' && seen !== 'progressive') {
    message = `The header says progressive but the pictures look ${seen.replace('_', ' ')}: players and encoders will not deinterlace; fix the flag (setfield=tff/bff) or deinterlace.`;
  } else if (headerInterlaced && seen === 'progressive') {
    message = `The header flags interlaced (${header}) but the pictures look progressive (PsF or a mis-flagged encode): set the field order to progressive (setfield=prog) to avoid needless deinterlacing.`;
  } else if (headerInterlaced && isInterlaced(seen)) {
    const headerTff = header === 'tt' || header === 'bt';
    if (headerTff !== (seen === 'interlaced_tff')) {
      message = `The header field order (${header}) contradicts the pictures (${seen.replace('_', ' ')}): the wrong order makes motion judder; correct the flag (setfield) before processing.`;
    }
  }
  return message ? [issue('warning', 'SCAN_TYPE_MISMATCH', message, { streamIndex: primary.index, details: { header, detected: seen } })] : [];
};

const geometry: IssueRule = ({ primary }) => {
  if (!primary) return [];
  const { width, height } = primary.resolution;
  if (width % 2 === 0 && height % 2 === 0) return [];
  const size = `${width}x${height}`;
  const out: Issue[] = [
    issue(
      'warning',
      'ODD_DIMENSIONS',
      `Video is ${size}: odd dimensions are rejected by most encoders (x264/x265 at 4:2:0, NVENC) and mis-rendered by some players; ` +
        `crop or pad to even dimensions (e.g. crop=${width - (width % 2)}:${height - (height % 2)}).`,
      { streamIndex: primary.index, details: { width, height } },
    ),
  ];
  const halving = chromaHalving(primary.chromaSubsampling);
  const oddW = width % 2 === 1 && halving.horizontal;
  const oddH = height % 2 === 1 && halving.vertical;
  if (oddW || oddH) {
    out.push(
      issue(
        'error',
        'CHROMA_SUBSAMPLING_MISMATCH',
        `Video is ${size} with ${primary.chromaSubsampling} chroma (${primary.pixelFormat}): an odd ${oddW && oddH ? 'width and height' : oddW ? 'width' : 'height'} ` +
          'cannot be represented with subsampled chroma (the last column/row has no chroma sample of its own); crop or pad to even dimensions before encoding.',
        { streamIndex: primary.index, details: { width, height, chroma: primary.chromaSubsampling } },
      ),
    );
  }
  return out;
};

/** SD/HDV/DVCPRO frame sizes that are anamorphic by design. */
const ANAMORPHIC_SIZES = ['720x480', '720x486', '704x480', '720x576', '704x576', '352x480', '352x576', '1440x1080', '960x720', '1280x1080'];
/** ITU-R BT.601 SARs put 720-wide SD up to 2.3% off the nominal 4:3/16:9, so allow 3%. */
const ASPECT_TOLERANCE = 0.03;

const pixelAspect: IssueRule = ({ primary }) => {
  if (!primary?.sar || primary.sar.num === primary.sar.den) return [];
  const { width, height } = primary.resolution;
  const sar = `${primary.sar.num}:${primary.sar.den}`;
  const display = (width * rationalToNumber(primary.sar)) / height;
  const nominal = [4 / 3, 16 / 9].find((a) => Math.abs(display - a) / a < ASPECT_TOLERANCE);
  const details = { sar, width, height, displayAspect: Math.round(display * 1000) / 1000 };
  if (nominal && ANAMORPHIC_SIZES.includes(`${width}x${height}`)) {
    return [
      issue(
        'info',
        'NON_SQUARE_PIXELS',
        `Pixels are non-square (SAR ${sar}: ${width}x${height} displays as ${nominal > 1.5 ? '16:9' : '4:3'}), standard for anamorphic SD/HDV; ` +
          'apply the SAR when converting to square-pixel formats (e.g. scale=iw*sar:ih,setsar=1).',
        { streamIndex: primary.index, details },
      ),
    ];
  }
  return [
    issue(
      'warning',
      'UNEXPECTED_SAR',
      `Sample aspect ratio ${sar} on ${width}x${height} stretches the picture to ${display.toFixed(3)}:1 on display, which matches no ` +
        'standard anamorphic format: if the pixels are meant to be square, set SAR 1:1 (setsar=1) without rescaling; otherwise scale with the SAR applied.',
      { streamIndex: primary.index, details },
    ),
  ];
};

const colour: IssueRule = ({ primary }) => {
  if (!primary) return [];
  const c = primary.colour;
  const family = describePixelFormat(primary.pixelFormat).family;
  // RGB and gray have no YUV matrix to declare.
  const needed: [string, string | null][] = [['primaries', c.primaries], ['transfer', c.transfer]];
  if (family !== 'rgb' && family !== 'gray') needed.push(['matrix', c.matrix]);
  const missing = needed.filter(([, v]) => v === null).map(([k]) => k);
  if (missing.length === 0) return [];
  const h = primary.resolution.height;
  const [p, t, m] = h >= 720 ? ['bt709', 'bt709', 'bt709'] : h === 576 ? ['bt470bg', 'smpte170m', 'bt470bg'] : ['smpte170m', 'smpte170m', 'smpte170m'];
  return [
    issue(
      'warning',
      'MISSING_COLOUR_METADATA',
      `Colour ${missing.join(', ')} not declared: players guess (BT.709 for HD, BT.601 for SD) and colours shift when they guess wrong; ` +
        `tag the stream from the source's real colour space (for ${h}-line SDR usually -color_primaries ${p} -color_trc ${t} -colorspace ${m}).`,
      { streamIndex: primary.index, details: { missing } },
    ),
  ];
};

const hdr: IssueRule = ({ primary }) => {
  if (!primary || primary.colour.transfer !== 'smpte2084') return [];
  const missing = [
    primary.hdr.masteringDisplay ? null : 'SMPTE ST 2086 mastering display',
    primary.hdr.contentLightLevel ? null : 'MaxCLL/MaxFALL content light level',
  ].filter((m): m is string => m !== null);
  if (missing.length === 0) return [];
  return [
    issue(
      'warning',
      'HDR_METADATA_MISSING',
      `PQ (HDR10) video without ${missing.join(' or ')} metadata: displays tone-map with guesses; add it at encode from the grade ` +
        '(x265 master-display=… max-cll=…) or from the mastering report.',
      { streamIndex: primary.index, details: { missing } },
    ),
  ];
};

const rotated: IssueRule = ({ primary }) =>
  primary && primary.rotationDegrees !== 0
    ? [
        issue(
          'info',
          'ROTATED',
          `The display matrix rotates the picture ${primary.rotationDegrees}° clockwise on playback: tools that ignore it show it ` +
            'sideways; bake the rotation in (ffmpeg autorotates when re-encoding) or make sure every downstream tool honours it.',
          { streamIndex: primary.index, details: { degrees: primary.rotationDegrees } },
        ),
      ]
    : [];

export const pictureRules: IssueRule[] = [vfr, unusualRate, interlaced, scanMismatch, geometry, pixelAspect, colour, hdr, rotated];
