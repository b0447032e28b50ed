/**
 * 32-bit wrapping ticks (src/core/ticks.ts) against HAProxy 1.8's include/common/ticks.h, and the
 * tick clock of src/core/clock.ts. Every expected value is a literal worked out by hand from
 * HAProxy's int arithmetic (which wraps at 2^32, ints being 32-bit).
 */
import { describe, expect, it } from "vitest";
import {
  TICK_ETERNITY, tickAdd, tickAddIfSet, tickFirst, tickFirst2nz, tickIsExpired, tickIsLe, tickIsLt,
  tickIsSet, tickRemain,
} from "../../src/core/ticks";
import { clock, setNowMs, updateDate } from "../../src/core/clock";

const INT_MAX = 0x7fffffff;   //  2147483647
const INT_MIN = -0x80000000;  // -2147483648

describe("TICK_ETERNITY / tickIsSet", () => {
  it("TICK_ETERNITY is 0", () => {
    expect(TICK_ETERNITY).toBe(0);
  });

  const cases: [number, boolean][] = [
    [0, false], [1, true], [-1, true], [INT_MAX, true], [INT_MIN, true], [1000, true],
  ];
  for (const [t, e] of cases) {
    it(`tickIsSet(${t}) is ${e}`, () => {
      expect(tickIsSet(t)).toBe(e);
    });
  }
});

describe("tickAdd", () => {
  const cases: [number, number, number, string][] = [
    [1000, 500, 1500, "plain addition"],
    [100, 0, 100, "a 0 timeout is not checked"],
    [-10, 5, -5, "negative ticks are ordinary dates"],
    [-5, 5, 1, "a result of 0 (eternity) is bumped to 1"],
    [-1, 1, 1, "-1 + 1 lands on 0 and is bumped to 1"],
    [0, 0, 1, "0 + 0 is bumped to 1"],
    [5, -5, 1, "a negative timeout landing on 0 is bumped to 1"],
    [-256, 0x100, 1, "0xffffff00 + 0x100 wraps to 0 and is bumped to 1"],
    [-256, 0x101, 1, "0xffffff00 + 0x101 wraps to a genuine 1"],
    [-256, 0x102, 2, "0xffffff00 + 0x102 wraps to 2"],
    [INT_MAX, 1, INT_MIN, "0x7fffffff + 1 wraps to -2^31"],
    [0x7ffffff0, 0x20, -2147483632, "0x7ffffff0 + 0x20 wraps to 0x80000010 (negative)"],
    [INT_MIN, -1, INT_MAX, "-2^31 - 1 wraps to 0x7fffffff"],
    [INT_MAX, INT_MAX, -2, "0x7fffffff + 0x7fffffff wraps to -2"],
  ];
  for (const [now, to, e, why] of cases) {
    it(`tickAdd(${now}, ${to}) === ${e}: ${why}`, () => {
      expect(tickAdd(now, to)).toBe(e);
    });
  }

  it("never returns 0 for any timeout that lands on 0 across the whole int range", () => {
    for (const now of [1, -1, 12345, -12345, INT_MAX, INT_MIN, 0x40000000, -0x40000000]) {
      expect(tickAdd(now, -now)).toBe(1);
    }
  });
});

describe("tickAddIfSet", () => {
  const cases: [number, number, number, string][] = [
    [1000, 0, 0, "a 0 (unset) timeout gives eternity"],
    [INT_MAX, 0, 0, "a 0 timeout gives eternity even at the wrap"],
    [1000, 10, 1010, "a set timeout is added"],
    [-5, 5, 1, "a result of 0 is bumped to 1"],
    [INT_MAX, 1, INT_MIN, "wraps like tickAdd"],
    [-256, 0x100, 1, "0xffffff00 + 0x100 is bumped to 1"],
  ];
  for (const [now, to, e, why] of cases) {
    it(`tickAddIfSet(${now}, ${to}) === ${e}: ${why}`, () => {
      expect(tickAddIfSet(now, to)).toBe(e);
    });
  }
});

describe("tickIsLt / tickIsLe", () => {
  const cases: [number, number, boolean, boolean, string][] = [
    // t1, t2, lt, le
    [1, 2, true, true, "1 before 2"],
    [2, 1, false, false, "2 after 1"],
    [5, 5, false, true, "equal ticks"],
    [0x7ffffff0, (0x7ffffff0 + 100) | 0, true, true, "0x7ffffff0 is before 0x7ffffff0 + 100 (wrapped negative)"],
    [(0x7ffffff0 + 100) | 0, 0x7ffffff0, false, false, "0x7ffffff0 + 100 (wrapped) is after 0x7ffffff0"],
    [INT_MAX, INT_MIN, true, true, "0x7fffffff is just before 0x80000000"],
    [INT_MIN, INT_MAX, false, false, "0x80000000 is just after 0x7fffffff"],
    [-1, 1, true, true, "-1 is before 1 (across 0)"],
    [1, -1, false, false, "1 is after -1 (across 0)"],
    [-256, 44, true, true, "0xffffff00 is before 44"],
    [-2, -1, true, true, "-2 before -1"],
  ];
  for (const [a, b, lt, le, why] of cases) {
    it(`tickIsLt(${a}, ${b}) is ${lt} and tickIsLe is ${le}: ${why}`, () => {
      expect(tickIsLt(a, b)).toBe(lt);
      expect(tickIsLe(a, b)).toBe(le);
    });
  }
});

describe("tickIsExpired", () => {
  const cases: [number, number, boolean, string][] = [
    // timer, now
    [0, 100, false, "eternity never expires"],
    [0, INT_MIN, false, "eternity never expires, whatever now is"],
    [100, 100, true, "a timer equal to now is expired"],
    [100, 99, false, "a timer 1 ms ahead is not expired"],
    [100, 101, true, "a timer 1 ms behind is expired"],
    [(INT_MAX + 10) | 0, INT_MAX, false, "a timer after the 2^31 wrap is not expired before it"],
    [(INT_MAX + 10) | 0, (INT_MAX + 20) | 0, true, "a timer after the 2^31 wrap expires after it"],
    [INT_MAX, (INT_MAX + 1) | 0, true, "a timer just before the wrap is expired just after it"],
    [5, -5, false, "a timer after 0 is not expired before 0"],
    [5, 6, true, "a timer after 0 expires after it"],
    [-5, 5, true, "a timer before 0 is expired after 0"],
  ];
  for (const [timer, now, e, why] of cases) {
    it(`tickIsExpired(${timer}, ${now}) is ${e}: ${why}`, () => {
      expect(tickIsExpired(timer, now)).toBe(e);
    });
  }
});

describe("tickFirst / tickFirst2nz", () => {
  const cases: [number, number, number, string][] = [
    [0, 5, 5, "an unset first tick is ignored"],
    [5, 0, 5, "an unset second tick is ignored"],
    [0, 0, 0, "both unset gives eternity"],
    [3, 5, 3, "the earlier one"],
    [5, 3, 3, "the earlier one, either order"],
    [7, 7, 7, "equal ticks"],
    [(0x7ffffff0 + 0x20) | 0, 0x7ffffff0, 0x7ffffff0, "0x7ffffff0 is before 0x80000010 across the wrap"],
    [0x7ffffff0, (0x7ffffff0 + 0x20) | 0, 0x7ffffff0, "either order across the wrap"],
    [-1, 1, -1, "-1 is before 1"],
    [1, -1, -1, "-1 is before 1, either order"],
    [0, INT_MIN, INT_MIN, "an unset tick is ignored even against -2^31"],
  ];
  for (const [a, b, e, why] of cases) {
    it(`tickFirst(${a}, ${b}) === ${e}: ${why}`, () => {
      expect(tickFirst(a, b)).toBe(e);
    });
  }

  const cases2: [number, number, number, string][] = [
    [0, 7, 7, "an unset first tick gives the second"],
    [3, 7, 3, "the earlier one"],
    [7, 3, 3, "the earlier one, either order"],
    [INT_MAX, INT_MIN, INT_MAX, "0x7fffffff is before 0x80000000"],
    [INT_MIN, INT_MAX, INT_MAX, "either order across the wrap"],
    [-3, 2, -3, "across 0"],
  ];
  for (const [a, b, e, why] of cases2) {
    it(`tickFirst2nz(${a}, ${b}) === ${e}: ${why}`, () => {
      expect(tickFirst2nz(a, b)).toBe(e);
    });
  }
});

describe("tickRemain", () => {
  const cases: [number, number, number, string][] = [
    // now, exp
    [100, 150, 50, "50 ms to go"],
    [150, 100, 0, "expired: 0"],
    [100, 100, 0, "due now: 0"],
    [100, 101, 1, "1 ms to go"],
    [0x7ffffff6, (0x7ffffff6 + 30) | 0, 30, "30 ms to go across the 2^31 wrap"],
    [(INT_MAX + 5) | 0, INT_MAX, 0, "expired across the 2^31 wrap: 0"],
    [-5, 5, 10, "10 ms to go across 0"],
    [5, -5, 0, "expired across 0: 0"],
    [INT_MIN, INT_MAX, 0, "0x7fffffff is 1 ms before 0x80000000: expired"],
  ];
  for (const [now, exp, e, why] of cases) {
    it(`tickRemain(${now}, ${exp}) === ${e}: ${why}`, () => {
      expect(tickRemain(now, exp)).toBe(e);
    });
  }
});

/* ------------------------------------------------------------------------------------------ */
/* clock                                                                                      */
/* ------------------------------------------------------------------------------------------ */

function sleepMs(ms: number): void {
  // Busy wait: keeps the test synchronous and independent of clock.ts. clock.ts floors a
  // monotonic float, so allow SLACK ms of rounding when checking elapsed ticks.
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}
const SLACK = 3;

/** Signed 32-bit distance from a to b (the test's own arithmetic). */
function dist(a: number, b: number): number {
  return (b - a) | 0;
}

describe("setNowMs / updateDate", () => {
  const starts: [number, string][] = [
    [1000, "1000"],
    [0x7fffff00, "0x7fffff00 (before the 2^31 wrap)"],
    [0xffffff00 | 0, "0xffffff00|0 = -256 (before the 2^32 wrap)"],
    [INT_MIN, "-2^31"],
  ];
  for (const [tick, name] of starts) {
    it(`setNowMs(${name}) moves clock.nowMs to that tick`, () => {
      setNowMs(tick);
      const d = dist(tick, clock.nowMs);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(50);
      expect(clock.nowMs).toBe(clock.nowMs | 0); // stays an int32
    });
  }

  it("setNowMs takes the tick modulo 2^32 (0x100000005 is 5)", () => {
    setNowMs(0x100000005);
    const d = dist(5, clock.nowMs);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(50);
  });

  it("updateDate keeps nowMs advancing with real time", () => {
    setNowMs(1000);
    const t0 = clock.nowMs;
    sleepMs(25);
    updateDate();
    const d = dist(t0, clock.nowMs);
    expect(d).toBeGreaterThanOrEqual(25 - SLACK);
    expect(d).toBeLessThan(1000);
  });

  it("updateDate crosses the 2^31 wrap: nowMs goes from 0x7ffffff8 to negative", () => {
    setNowMs(0x7ffffff8);
    expect(clock.nowMs).toBeGreaterThan(0);
    sleepMs(30);
    updateDate();
    expect(clock.nowMs).toBeLessThan(0);
    const d = dist(0x7ffffff8, clock.nowMs);
    expect(d).toBeGreaterThanOrEqual(30 - SLACK);
    expect(d).toBeLessThan(1000);
  });

  it("updateDate crosses 0: nowMs goes from -8 to positive", () => {
    setNowMs(-8);
    expect(clock.nowMs).toBeLessThan(0);
    sleepMs(30);
    updateDate();
    expect(clock.nowMs).toBeGreaterThan(0);
    const d = dist(-8, clock.nowMs);
    expect(d).toBeGreaterThanOrEqual(30 - SLACK);
    expect(d).toBeLessThan(1000);
  });

  it("setNowMs does not move the wall-clock date (dateMs stays close to Date.now())", () => {
    setNowMs(0x7fffff00);
    expect(Math.abs(clock.dateMs - Date.now())).toBeLessThan(1000);
  });

  it("consecutive updateDate calls never go backwards", () => {
    setNowMs(0x7fffffe0);
    let prev = clock.nowMs;
    let backwards = 0;
    const end = Date.now() + 60;
    while (Date.now() < end) {
      updateDate();
      if (dist(prev, clock.nowMs) < 0) backwards++;
      prev = clock.nowMs;
    }
    expect(backwards).toBe(0);
    updateDate();
    expect(dist(0x7fffffe0, clock.nowMs)).toBeGreaterThanOrEqual(60 - SLACK);
    expect(clock.nowMs).toBeLessThan(0); // crossed 2^31 (started 32 ms before it)
  });
});
