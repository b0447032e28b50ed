/**
 * The loop's notion of time. HAProxy: tv_update_date(), now, now_ms, date (src/time.c).
 *
 * HAProxy reads gettimeofday() and corrects backward or too-large forward jumps itself, because 1.8
 * did not rely on a monotonic clock. hapoll reads a monotonic clock (performance.now()), which
 * gives the same guarantee by construction, and keeps the wall clock only for log dates.
 *
 * `nowMs` is the 32-bit tick used by every timer. It may be started at a chosen value (environment
 * variable HAPOLL_NOW_MS, or setNowMs()) so that tests can run the loop across the wrap.
 */
import { performance } from "node:perf_hooks";

/** Mutable clock state, read directly on the hot path (no getter calls). */
export const clock = {
  /** HAProxy: now_ms. int32 tick, refreshed once per loop turn. */
  nowMs: 0,
  /** Monotonic milliseconds (float) at the last update. */
  nowMono: 0,
  /** Wall-clock milliseconds since the epoch at the last update. HAProxy: date. */
  dateMs: 0,
  /** Wall-clock ms at process start. HAProxy: start_date. */
  startDateMs: 0,
  /** Tick offset added to every nowMs. */
  tickOffset: 0,
  /** Wall ms minus monotonic ms, taken once (the wall clock is only used for display). */
  wallDelta: 0,
  /** Share of time spent waiting in the poller, in percent, over the last half second or more. HAProxy: idle_pct. */
  idlePct: 100,
  /** Monotonic ms when the last poll returned, and the sums measureIdle() accumulates. */
  afterPoll: 0,
  idleTime: 0,
  sampTime: 0,
};

/**
 * HAProxy: measure_idle(). Called right after a poll returned, with the monotonic time taken just
 * before it started waiting: the wait counts as idle, the rest of the turn as work. The ratio is
 * published at most twice per second.
 */
export function measureIdle(beforePoll: number): void {
  const now = clock.nowMono;
  clock.idleTime += now - beforePoll;
  clock.sampTime += now - clock.afterPoll;
  clock.afterPoll = now;
  if (clock.sampTime < 500) return;
  clock.idlePct = Math.round((100 * clock.idleTime) / clock.sampTime);
  clock.idleTime = clock.sampTime = 0;
}

/** HAProxy: tv_update_date(). Refresh nowMs / dateMs. */
export function updateDate(): void {
  updateDateAt(performance.now());
}

/**
 * updateDate() with the monotonic time already read (the poller reads it inside its native call, on
 * the same clock, see poller.ts). Never goes backwards: a reading from the other source that is a
 * hair behind the last one keeps the last one.
 */
export function updateDateAt(mono: number): void {
  if (mono < clock.nowMono) mono = clock.nowMono;
  clock.nowMono = mono;
  clock.dateMs = clock.wallDelta + mono;
  clock.nowMs = (Math.floor(clock.dateMs) + clock.tickOffset) | 0;
}

/** Start the tick counter so that nowMs is currently <tick> (tests of wrap-around). */
export function setNowMs(tick: number): void {
  updateDate();
  clock.tickOffset = (clock.tickOffset + ((tick | 0) - clock.nowMs)) | 0;
  updateDate();
}

/** HAProxy: the start-up part of tv_update_date() (start_date, now). */
export function initClock(): void {
  clock.wallDelta = Date.now() - performance.now();
  clock.tickOffset = 0;
  updateDate();
  clock.startDateMs = clock.dateMs;
  // HAPOLL_NOW_MS starts the tick counter at a chosen value, e.g. -2000 to cross the 32-bit wrap
  // (and the TICK_ETERNITY value 0) two seconds after start.
  const start = process.env.HAPOLL_NOW_MS;
  if (start !== undefined && /^-?\d+$/.test(start)) setNowMs(Number(start) | 0);
  clock.afterPoll = clock.nowMono;
}

initClock();
