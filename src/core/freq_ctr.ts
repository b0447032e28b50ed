/**
 * Event-rate counters and sliding averages for the statistics. HAProxy 1.8: struct freq_ctr
 * (include/types/freq_ctr.h), update_freq_ctr() / swrate_add() / swrate_avg()
 * (include/proto/freq_ctr.h) and read_freq_ctr() (src/freq_ctr.c).
 *
 * A frequency counter counts events in the current wall-clock second and remembers the count of
 * the previous one. The rate it reports is the current count plus the share of the previous
 * second's count that still falls inside the last 1000 ms (assuming the previous second's events
 * were spread evenly), so it moves smoothly instead of dropping to zero on each new second.
 *
 * Updating is a few integer operations and never allocates: it runs once per accepted connection.
 */
import { clock } from "./clock";

/** HAProxy: struct freq_ctr. */
export class FreqCtr {
  /** The second the current count belongs to. HAProxy: curr_sec. */
  currSec = 0;
  /** Events counted in currSec. HAProxy: curr_ctr. */
  currCtr = 0;
  /** Events counted in the second before. HAProxy: prev_ctr. */
  prevCtr = 0;
}

/**
 * HAProxy: update_freq_ctr(). Count <inc> events now (rotating the counter when a new second has
 * started) and return the current second's count, which callers use to track maxima.
 */
export function updateFreqCtr(ctr: FreqCtr, inc: number): number {
  const sec = Math.floor(clock.dateMs / 1000);
  const elapsed = sec - ctr.currSec;
  if (elapsed > 0) {
    // More than one second without events: the previous second saw none.
    ctr.prevCtr = elapsed === 1 ? ctr.currCtr : 0;
    ctr.currCtr = 0;
    ctr.currSec = sec;
  }
  ctr.currCtr += inc;
  return ctr.currCtr;
}

/**
 * HAProxy: read_freq_ctr(). The event rate over the last second: the current count plus the part
 * of the previous second's count that is still within the last 1000 ms. Very low rates (at most
 * one event in the previous second and none yet) are returned as they are, to avoid flapping.
 */
export function readFreqCtr(ctr: FreqCtr): number {
  const sec = Math.floor(clock.dateMs / 1000);
  const age = sec - ctr.currSec;
  if (age > 1) return 0;
  let curr = ctr.currCtr;
  let past = ctr.prevCtr;
  if (age > 0) {
    past = curr;
    curr = 0;
  }
  if (past <= 1 && curr === 0) return past;
  const msLeft = 999 - (Math.floor(clock.dateMs) % 1000);
  return curr + Math.floor((past * msLeft) / 1000);
}

/**
 * HAProxy: swrate_add(). Add sample <v> to the sliding sum <sum> of <n> samples (each new sample
 * evicts an average one) and return the new sum.
 */
export function swrateAdd(sum: number, n: number, v: number): number {
  return sum - Math.floor((sum + n - 1) / n) + v;
}

/** HAProxy: swrate_avg(). The average of a sliding sum of <n> samples. */
export function swrateAvg(sum: number, n: number): number {
  return Math.floor((sum + n - 1) / n);
}

/** HAProxy: TIME_STATS_SAMPLES, the window of the queue/connect/data/total time averages. */
export const TIME_STATS_SAMPLES = 512;

/** The count over the last second as freq_ctr_remain() / next_event_delay() see it, plus <pend>. */
function freqCtrCurr(ctr: FreqCtr, pend: number): number {
  const sec = Math.floor(clock.dateMs / 1000);
  const age = sec - ctr.currSec;
  let curr = ctr.currCtr;
  let past = ctr.prevCtr;
  if (age > 1) curr = 0;
  else {
    if (age === 1) {
      past = curr;
      curr = 0;
    }
    curr += Math.floor((past * (999 - (Math.floor(clock.dateMs) % 1000))) / 1000);
  }
  return curr + pend;
}

/**
 * HAProxy: freq_ctr_remain(): how many events may still happen in the current second without
 * exceeding <freq>, <pend> being already pending. 0 when the limit is reached.
 */
export function freqCtrRemain(ctr: FreqCtr, freq: number, pend: number): number {
  const curr = freqCtrCurr(ctr, pend);
  return curr >= freq ? 0 : freq - curr;
}

/**
 * HAProxy: next_event_delay(): the wait in ms before the next event may occur at <freq> (0: now),
 * at least 1 ms.
 */
export function nextEventDelay(ctr: FreqCtr, freq: number, pend: number): number {
  const curr = freqCtrCurr(ctr, pend);
  if (curr < freq) return 0;
  const wait = Math.floor(999 / curr);
  return Math.max(1, wait);
}
