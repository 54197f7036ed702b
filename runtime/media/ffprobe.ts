/** The parts of `ffprobe -of json -show_streams -show_format` that services read, and its rationals. */

export interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface FfprobeJson {
  streams?: FfprobeStream[];
  format?: { duration?: string };
}

/** `30000/1001` or `16:9` as a positive rational; null for `0/0`, `N/A` or anything else. */
export function parseRational(s: string | undefined): { num: number; den: number } | null {
  const m = /^(\d+)[/:](\d+)$/.exec(s ?? '');
  return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? { num: Number(m[1]), den: Number(m[2]) } : null;
}
