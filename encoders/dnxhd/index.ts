/**
 * Avid DNxHR through FFmpeg's dnxhd encoder (resolution-independent profiles; the fixed-size,
 * fixed-bit-rate DNxHD table is not offered). LB/SQ/HQ are 8-bit 4:2:2, HQX 10-bit 4:2:2,
 * 444 10-bit 4:4:4.
 */
import { bad } from '../common.js';
import { intraModule } from '../intra.js';

export const dnxhd = intraModule({
  codec: 'dnxhd',
  encoder: 'dnxhd',
  defaultProfile: 'dnxhr_lb',
  profileFormats: { dnxhr_lb: 'yuv422p', dnxhr_sq: 'yuv422p', dnxhr_hq: 'yuv422p', dnxhr_hqx: 'yuv422p10le', dnxhr_444: 'yuv444p10le' },
  // DNxHR codes 16x16 macroblocks of 4:2:2: the width must be even (ffmpeg pads the rest), and the encoder refuses pictures under 256x120.
  check: (spec) => {
    if (spec.width % 2) bad(`DNxHR needs an even width, got ${spec.width}`);
    if (spec.width < 256 || spec.height < 120) bad(`DNxHR needs at least 256x120, got ${spec.width}x${spec.height}`);
  },
  trialSize: '256x120',
});
