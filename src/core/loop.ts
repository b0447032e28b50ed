/**
 * The main loop. HAProxy 1.8: run_poll_loop() in src/haproxy.c.
 *
 * Each turn: run tasks, handle signals, wake expired timers (which gives the next expiry), leave
 * when no job is left, sleep in the poller until that expiry (not at all when work is pending), then
 * call the iocbs of the cached fds. The loop owns the JS thread, as HAProxy's owns its thread: while
 * it runs, Node's own event loop does not turn (no timers, promises or async I/O inside).
 */
import { clock, updateDate } from "./clock";
import { fdtab, fdProcessCachedEvents } from "./fd";
import { counters } from "./global";
import { registry } from "./poller";
import { signalProcessQueue, signalQueued } from "./signal";
import { processRunnableTasks, runQueueNonEmpty, wakeExpiredTasks } from "./task";

/** Hook for traces: called at the start of each turn; null when off. */
export const loopHooks: { onTurn: ((turn: number) => void) | null } = { onTurn: null };

/**
 * One turn of run_poll_loop(). Returns false when the loop must end (no job left, or a hard stop).
 * <maxWaitMs>, when >= 0, caps the poller's sleep (tests use 0 to turn without sleeping).
 */
export function runOneTurn(maxWaitMs = -1): boolean {
  counters.loops++;
  if (loopHooks.onTurn !== null) loopHooks.onTurn(counters.loops);
  processRunnableTasks();
  signalProcessQueue();
  let next = wakeExpiredTasks();
  if (counters.jobs === 0 || counters.hardStop) return false;
  // Work is pending: do not sleep. A now_ms of exactly 0 would read as TICK_ETERNITY (HAProxy has
  // that quirk: a 1 s sleep once every 49.7 days); a tick just before now says "expired" instead.
  if (fdtab.cacheNum !== 0 || runQueueNonEmpty() || signalQueued()) next = clock.nowMs || -1;
  if (maxWaitMs >= 0) {
    const cap = (clock.nowMs + maxWaitMs) | 0 || 1;
    if (next === 0 || ((cap - next) | 0) < 0) next = maxWaitMs === 0 ? clock.nowMs || -1 : cap;
  }
  registry.cur!.poll(next);
  fdProcessCachedEvents();
  return true;
}

/** HAProxy: run_poll_loop(). Returns when jobs reaches 0 (or on a hard stop). */
export function runPollLoop(): void {
  updateDate();
  while (runOneTurn()) {
    /* each turn does the work */
  }
}
