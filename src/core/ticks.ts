/**
 * Ticks: 32-bit wrapping millisecond dates, as HAProxy 1.8 keeps them (include/common/ticks.h).
 *
 * A tick is a signed 32-bit integer that wraps every 49.7 days. 0 is TICK_ETERNITY ("not set"), so a
 * computed date that lands on 0 is moved to 1. Two ticks compare by the sign of their difference,
 * which is right as long as they are less than 2^31 ms (24.8 days) apart.
 *
 * All functions take and return int32 values (`| 0`), so they stay correct across the wrap.
 */

/** HAProxy: TICK_ETERNITY. */
export const TICK_ETERNITY = 0;

/** HAProxy: tick_isset(). */
export function tickIsSet(t: number): boolean {
  return t !== 0;
}

/** HAProxy: tick_add(): <now> + <timeout>, never 0. */
export function tickAdd(now: number, timeout: number): number {
  const t = (now + timeout) | 0;
  return t === 0 ? 1 : t;
}

/** HAProxy: tick_add_ifset(): eternity when <timeout> is 0 (not set). */
export function tickAddIfSet(now: number, timeout: number): number {
  return timeout === 0 ? TICK_ETERNITY : tickAdd(now, timeout);
}

/** HAProxy: tick_is_lt(): <t1> before <t2>. */
export function tickIsLt(t1: number, t2: number): boolean {
  return ((t1 - t2) | 0) < 0;
}

/** HAProxy: tick_is_le(). */
export function tickIsLe(t1: number, t2: number): boolean {
  return ((t1 - t2) | 0) <= 0;
}

/** HAProxy: tick_is_expired(): set and not after <now>. */
export function tickIsExpired(timer: number, now: number): boolean {
  return timer !== 0 && ((timer - now) | 0) <= 0;
}

/** HAProxy: tick_first(): the earlier of two ticks, ignoring unset ones. */
export function tickFirst(t1: number, t2: number): number {
  if (t1 === 0) return t2;
  if (t2 === 0) return t1;
  return ((t1 - t2) | 0) <= 0 ? t1 : t2;
}

/** HAProxy: tick_first_2nz(): like tickFirst but <t2> is known to be set. */
export function tickFirst2nz(t1: number, t2: number): number {
  if (t1 === 0) return t2;
  return ((t1 - t2) | 0) <= 0 ? t1 : t2;
}

/** HAProxy: tick_remain(): ms from <now> to <exp>, 0 when expired. */
export function tickRemain(now: number, exp: number): number {
  if (tickIsExpired(exp, now)) return 0;
  return (exp - now) | 0;
}
