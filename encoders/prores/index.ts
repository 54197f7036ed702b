/**
 * Apple ProRes through FFmpeg's prores_ks (the Kostya encoder: profile-correct bitstreams, the
 * `apco`/`apcs`/`apcn`/`apch`/`ap4h`/`ap4x` sample entries). 4:2:2 profiles at 10 bits, 4444 at
 * 4:4:4 10 bits (no alpha: the sources are video). Vendor `apl0`, as Apple's own files say, so
 * editing applications that check it take the files as native.
 */
import { intraModule } from '../intra.js';

export const prores = intraModule({
  codec: 'prores',
  encoder: 'prores_ks',
  defaultProfile: 'proxy',
  profileFormats: { proxy: 'yuv422p10le', lt: 'yuv422p10le', standard: 'yuv422p10le', hq: 'yuv422p10le', '4444': 'yuv444p10le', '4444xq': 'yuv444p10le' },
  extraArgs: ['-vendor', 'apl0'],
});
