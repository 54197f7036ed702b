/**
 * RFC 6381 `codecs` strings from a sample entry's configuration box, the
 * spelling HLS CODECS and DASH @codecs need: avc1/avc3 (avcC), hvc1/hev1
 * (hvcC, ISO/IEC 14496-15 Annex E), av01 (av1C, AV1-ISOBMFF §5), vp09 (vpcC,
 * VP9 codec string §Codecs Parameter String) and mp4a (esds). The prefix is
 * the sample entry's own four-character code: players pick a decoder
 * configuration by it (hev1 carries parameter sets in-band, hvc1 need not).
 */
import { ErrorCodes, VpipeError } from '../../../../runtime/core/mod.js';

/** The configuration box each supported sample entry carries. */
export const CONFIG_BOX: Readonly<Record<string, string>> = {
  avc1: 'avcC', avc3: 'avcC', hvc1: 'hvcC', hev1: 'hvcC', av01: 'av1C', vp09: 'vpcC', mp4a: 'esds',
};

function unsupported(what: string): never {
  throw new VpipeError(ErrorCodes.Internal, `codecs string: ${what}`);
}

function need(config: Buffer, bytes: number, box: string): void {
  if (config.length < bytes) unsupported(`${box} is ${config.length} bytes, needs ${bytes}`);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const dec2 = (n: number): string => String(n).padStart(2, '0');

/** `avc1.PPCCLL`: profile_idc, the constraint-flags byte and level_idc from the AVCDecoderConfigurationRecord. */
function avc(entry: string, c: Buffer): string {
  need(c, 4, 'avcC');
  return `${entry}.${hex2(c[1]!)}${hex2(c[2]!)}${hex2(c[3]!)}`;
}

/**
 * `hvc1.[A-C]<profile>.<compat>.<L|H><level>.<constraint bytes>`: the 32 compatibility flags
 * bit-reversed in hex without leading zeros, the six constraint bytes in hex with trailing zero bytes left out.
 */
function hevc(entry: string, c: Buffer): string {
  need(c, 13, 'hvcC');
  const space = c[1]! >> 6;
  const tier = (c[1]! >> 5) & 1;
  const profile = c[1]! & 0x1f;
  const flags = c.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (flags & (1 << i)) reversed |= 1 << (31 - i);
  const constraints = [...c.subarray(6, 12)];
  while (constraints.length && constraints.at(-1) === 0) constraints.pop();
  const parts = [entry, `${['', 'A', 'B', 'C'][space]}${profile}`, (reversed >>> 0).toString(16).toUpperCase(), `${tier ? 'H' : 'L'}${c[12]}`];
  return [...parts, ...constraints.map((b) => b.toString(16).toUpperCase())].join('.');
}

/** `av01.P.LLT.DD`: seq_profile, seq_level_idx_0 with tier M/H, bit depth (the optional colour fields are left out). */
function av1(entry: string, c: Buffer): string {
  need(c, 3, 'av1C');
  const profile = c[1]! >> 5;
  const level = c[1]! & 0x1f;
  const tier = c[2]! >> 7;
  const high = (c[2]! >> 6) & 1;
  const twelve = (c[2]! >> 5) & 1;
  const depth = high ? (profile === 2 && twelve ? 12 : 10) : 8;
  return `${entry}.${profile}.${dec2(level)}${tier ? 'H' : 'M'}.${dec2(depth)}`;
}

/** `vp09.PP.LL.DD` from a VPCodecConfigurationRecord (a full box: 4 bytes of version and flags first). */
function vp9(entry: string, c: Buffer): string {
  need(c, 7, 'vpcC');
  return `${entry}.${dec2(c[4]!)}.${dec2(c[5]!)}.${dec2(c[6]! >> 4)}`;
}

/** An MPEG-4 descriptor's tag, payload start and end (the size is 1–4 bytes of 7 bits each). */
function descriptor(c: Buffer, p: number): { tag: number; body: number; end: number } {
  if (p + 2 > c.length) unsupported('esds descriptor is truncated');
  const tag = c[p]!;
  let size = 0;
  let q = p + 1;
  for (let i = 0; i < 4; i++) {
    const b = c[q++] ?? unsupported('esds descriptor size is truncated');
    size = (size << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  if (q + size > c.length) unsupported('esds descriptor overruns its box');
  return { tag, body: q, end: q + size };
}

/**
 * `mp4a.OO[.A]`: the DecoderConfigDescriptor's objectTypeIndication in hex and, for MPEG-4 audio (0x40),
 * the AudioSpecificConfig's audioObjectType in decimal (2 = AAC-LC, 5 = HE-AAC …; 31 escapes to 32 + 6 bits).
 */
function mp4a(entry: string, c: Buffer): string {
  const es = descriptor(c, 4);
  if (es.tag !== 0x03) unsupported(`esds starts with descriptor tag ${es.tag}, not ES_Descriptor`);
  const esFlags = c[es.body + 2]!;
  let p = es.body + 3;
  if (esFlags & 0x80) p += 2; // dependsOn_ES_ID
  if (esFlags & 0x40) p += 1 + c[p]!; // URL
  if (esFlags & 0x20) p += 2; // OCR_ES_Id
  const dcd = descriptor(c, p);
  if (dcd.tag !== 0x04) unsupported(`ES_Descriptor holds tag ${dcd.tag}, not DecoderConfigDescriptor`);
  const oti = c[dcd.body]!;
  if (oti !== 0x40) return `${entry}.${hex2(oti)}`;
  const dsi = descriptor(c, dcd.body + 13);
  if (dsi.tag !== 0x05 || dsi.end - dsi.body < 1) unsupported('MPEG-4 audio without an AudioSpecificConfig');
  let aot = c[dsi.body]! >> 3;
  if (aot === 31) {
    if (dsi.end - dsi.body < 2) unsupported('AudioSpecificConfig is truncated');
    aot = 32 + (((c[dsi.body]! & 0x07) << 3) | (c[dsi.body + 1]! >> 5));
  }
  return `${entry}.40.${aot}`;
}

const BUILDERS: Readonly<Record<string, (entry: string, config: Buffer) => string>> = {
  avcC: avc, hvcC: hevc, av1C: av1, vpcC: vp9, esds: mp4a,
};

/** The codecs string for sample entry `entry` (`avc1` …) whose configuration box body is `config`; throws INTERNAL for other entries. */
export function codecsString(entry: string, config: Buffer): string {
  const box = CONFIG_BOX[entry] ?? unsupported(`sample entry ${JSON.stringify(entry)} is not one of ${Object.keys(CONFIG_BOX).join(', ')}`);
  return BUILDERS[box]!(entry, config);
}
