/**
 * A real browser for the playback tests: Debian's Chromium, driven by
 * playwright-core (no browser is downloaded). `playPackage` loads a
 * `vpipe serve` watch page and drives hls.js or dash.js through the page's
 * `window.vpipePlayer` API: play past 3 s, force the other rung and see it
 * shown, seek to the end and see it end.
 */
import { access, constants } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
] as const;
export const CHROMIUM_MISSING = `no Chromium at ${CHROMIUM}: install chromium (apt-get install chromium) — ./quickstart.sh setup does it`;

export async function chromiumAvailable(): Promise<boolean> {
  return access(CHROMIUM, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Launches Chromium headless; fails (never skips) with how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!(await chromiumAvailable())) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
}

export type PlayerKind = 'hls' | 'dash';

/** `window.vpipePlayer.state()` (cli/web/static/player.js). */
export interface PlayerState {
  kind: PlayerKind | null;
  currentTime: number;
  duration: number;
  /** The element ended, or the player reported the end and parked the element there (dash.js). */
  ended: boolean;
  /** The element's own `ended`. */
  videoEnded: boolean;
  paused: boolean;
  readyState: number;
  level: number;
  auto: boolean;
  videoWidth: number;
  videoHeight: number;
}

export interface PlayerLevel {
  index: number;
  id: string;
  width: number;
  height: number;
  bitrate: number;
}

export interface PlayerTrack {
  id: string;
  language: string;
  name: string;
}

export interface PlaybackRun {
  kind: PlayerKind;
  levels: PlayerLevel[];
  audioTracks: PlayerTrack[];
  textTracks: PlayerTrack[];
  /** Once currentTime passed 3 s. */
  playing: PlayerState;
  /** The rung forced, and the states once its width showed and once playback had gone on 1 s more. */
  switchedTo: PlayerLevel;
  switched: PlayerState;
  afterSwitch: PlayerState;
  /** Once `ended` after seeking to duration − 1.5 s. */
  ended: PlayerState;
  errors: string[];
  warnings: string[];
  /** Wall milliseconds per phase. */
  ms: { load: number; play: number; switch: number; end: number };
}

// Narrow typings of the page's globals, for the page.evaluate / waitForFunction bodies.
interface VpipePlayerApi {
  load(kind: PlayerKind): Promise<void>;
  levels(): PlayerLevel[];
  setLevel(i: number): void;
  audioTracks(): PlayerTrack[];
  textTracks(): PlayerTrack[];
  seek(t: number): void;
  errors: string[];
  warnings: string[];
  state(): PlayerState;
}
type PlayerWindow = { vpipePlayer: VpipePlayerApi };
type Method = { [K in keyof VpipePlayerApi]: VpipePlayerApi[K] extends (...a: never[]) => unknown ? K : never }[keyof VpipePlayerApi];

/** Calls `window.vpipePlayer[method](...args)` in the page (awaited there when it returns a promise). */
export function call<M extends Method>(page: Page, method: M, ...args: Parameters<VpipePlayerApi[M]>): Promise<Awaited<ReturnType<VpipePlayerApi[M]>>> {
  return page.evaluate(
    ([m, a]) => {
      const p = (globalThis as unknown as PlayerWindow).vpipePlayer;
      return (p[m] as (...x: unknown[]) => unknown).apply(p, a);
    },
    [method, args] as [M, unknown[]],
  ) as Promise<Awaited<ReturnType<VpipePlayerApi[M]>>>;
}

export function state(page: Page): Promise<PlayerState> {
  return call(page, 'state');
}

/** The player's fatal errors and warnings so far. */
export function problems(page: Page): Promise<{ errors: string[]; warnings: string[] }> {
  return page.evaluate(() => {
    const p = (globalThis as unknown as PlayerWindow).vpipePlayer;
    return { errors: [...p.errors], warnings: [...p.warnings] };
  });
}

/** What `waitForState` waits for: every field given must hold (data, not code: the page's CSP forbids eval). */
export interface StateCondition {
  timeAbove?: number;
  width?: number;
  ended?: boolean;
  playing?: boolean;
}

/** Waits until `cond` holds or a fatal player error shows (then throws with the errors and the last state). */
export async function waitForState(page: Page, what: string, cond: StateCondition, timeoutMs: number): Promise<PlayerState> {
  try {
    await page.waitForFunction(
      (c) => {
        const p = (globalThis as unknown as PlayerWindow).vpipePlayer;
        if (p.errors.length) return true;
        const s = p.state();
        return (
          (c.timeAbove === undefined || s.currentTime > c.timeAbove) &&
          (c.width === undefined || s.videoWidth === c.width) &&
          (c.ended === undefined || s.ended === c.ended) &&
          (c.playing === undefined || !s.paused === c.playing)
        );
      },
      cond,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch (e) {
    throw new Error(`${what}: not reached in ${timeoutMs} ms (${(e as Error).message.split('\n')[0]}); state ${JSON.stringify(await state(page))}`);
  }
  const { errors } = await problems(page);
  if (errors.length) throw new Error(`${what}: player error: ${errors.join('; ')}; state ${JSON.stringify(await state(page))}`);
  return state(page);
}

/**
 * Plays the package at `watchUrl` (a `/watch?pkg=…` URL) with one player:
 * past 3 s, a forced switch to another rung (the one least like the rung
 * shown), 1 s more of playback, then a seek to duration − 1.5 s and `ended`.
 */
export async function playPackage(page: Page, watchUrl: string, kind: PlayerKind, timeoutMs = 20_000): Promise<PlaybackRun> {
  const url = new URL(watchUrl);
  url.searchParams.set('play', 'none');
  const t0 = Date.now();
  await page.goto(url.href, { waitUntil: 'load' });
  await call(page, 'load', kind);
  const t1 = Date.now();
  const playing = await waitForState(page, `${kind}: play past 3 s`, { timeAbove: 3, playing: true }, timeoutMs);
  const t2 = Date.now();

  const levels = await call(page, 'levels');
  if (levels.length < 2) throw new Error(`${kind}: ${levels.length} rung(s) listed, need two to switch`);
  const switchedTo = levels.find((l) => l.width !== playing.videoWidth) ?? levels[0]!;
  await call(page, 'setLevel', switchedTo.index);
  const switched = await waitForState(page, `${kind}: show rung ${switchedTo.width}x${switchedTo.height}`, { width: switchedTo.width }, timeoutMs);
  const afterSwitch = await waitForState(page, `${kind}: play on after the switch`, { timeAbove: switched.currentTime + 1, width: switchedTo.width }, timeoutMs);
  const t3 = Date.now();

  await call(page, 'seek', afterSwitch.duration - 1.5);
  const ended = await waitForState(page, `${kind}: end after seeking to duration - 1.5 s`, { ended: true }, timeoutMs);
  const t4 = Date.now();

  const [audioTracks, textTracks, { errors, warnings }] = [await call(page, 'audioTracks'), await call(page, 'textTracks'), await problems(page)];
  return {
    kind,
    levels,
    audioTracks,
    textTracks,
    playing,
    switchedTo,
    switched,
    afterSwitch,
    ended,
    errors,
    warnings,
    ms: { load: t1 - t0, play: t2 - t1, switch: t3 - t2, end: t4 - t3 },
  };
}
