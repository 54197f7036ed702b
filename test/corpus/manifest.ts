/**
 * The real-media test corpus: video files shipped inside Debian 12 packages,
 * fetched into a cache by `bash test/corpus/fetch-corpus.sh`. The one source
 * of truth is manifest.tsv next to this file (the script reads its first four
 * columns); this module parses it at import time and types it.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CorpusEntry {
  /** Flat file name in the cache, e.g. `vtest.avi`. */
  name: string;
  /** Debian package the file comes from. */
  pkg: string;
  /** Path inside the package (no leading slash). */
  path: string;
  sha256: string;
  /** Truth: decoded frames of the first video stream (`ffprobe -count_frames` nb_read_frames), not the header's claim. */
  frames: number;
  /** ffprobe codec_name of the first video stream. */
  codec: string;
  width: number;
  height: number;
  hasAudio: boolean;
  /** What is unusual about the file. */
  notes: string;
}

export const MANIFEST_TSV = new URL('./manifest.tsv', import.meta.url);
const FETCH_HINT = 'run `bash test/corpus/fetch-corpus.sh` (or `./quickstart.sh test`) to fetch the corpus';

function parseManifest(text: string): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const cols = line.split('\t');
    const bad = (why: string) => new Error(`manifest.tsv line ${i + 1}: ${why}: ${line}`);
    if (cols.length !== 10) throw bad(`expected 10 tab-separated columns, got ${cols.length}`);
    const [name, pkg, file, sha256, frames, codec, width, height, audio, notes] = cols as [string, string, string, string, string, string, string, string, string, string];
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw bad('name must be a flat file name');
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad('sha256 must be 64 lower-case hex digits');
    const int = (s: string, what: string): number => {
      if (!/^[1-9][0-9]*$/.test(s)) throw bad(`${what} must be a positive integer`);
      return Number(s);
    };
    if (audio !== 'yes' && audio !== 'no') throw bad('audio must be yes or no');
    entries.push({
      name, pkg, path: file, sha256, codec, notes,
      frames: int(frames, 'frames'), width: int(width, 'width'), height: int(height, 'height'),
      hasAudio: audio === 'yes',
    });
  });
  if (new Set(entries.map((e) => e.name)).size !== entries.length) throw new Error('manifest.tsv: duplicate names');
  return entries;
}

export const CORPUS: readonly CorpusEntry[] = Object.freeze(parseManifest(readFileSync(MANIFEST_TSV, 'utf8')));

/** The cache folder: `$VPIPE_CORPUS_DIR`, else `~/.cache/vpipe/corpus` (the same rule as fetch-corpus.sh). */
export function corpusDir(): string {
  return process.env.VPIPE_CORPUS_DIR || path.join(os.homedir(), '.cache', 'vpipe', 'corpus');
}

export function corpusEntry(name: string): CorpusEntry {
  const entry = CORPUS.find((e) => e.name === name);
  if (!entry) throw new Error(`${name} is not in the corpus manifest (${CORPUS.map((e) => e.name).join(', ')})`);
  return entry;
}

/** Absolute path of a corpus file; throws, with the fetch command, when it is not in the cache. */
export function corpusFile(name: string): string {
  corpusEntry(name);
  const file = path.join(corpusDir(), name);
  if (!existsSync(file)) throw new Error(`corpus file ${file} is missing: ${FETCH_HINT}`);
  return file;
}
