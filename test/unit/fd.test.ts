/**
 * fdtab, fd cache and update list (src/core/fd.ts) against HAProxy 1.8's rules
 * (include/proto/fd.h, src/fd.c of v1.8.0).
 *
 * Expected values come from an oracle written here from HAProxy's rules, never from the code
 * under test. States are written in `show fd` notation: "R:pRa W:pra" (P/p polled, R/r ready,
 * A/a active; upper case = set).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FD_POLL_ERR, FD_POLL_HUP, FD_POLL_IN, FD_POLL_OUT, FD_POLL_PRI } from "../../src/native";
import { FD_EV_ACTIVE_R, FD_EV_ACTIVE_W, FD_EV_POLLED_R, FD_EV_POLLED_W, FD_EV_READY_R, FD_EV_READY_W, FD_F_CLONED, FD_F_LINGER_RISK, FD_F_NEW, FD_F_UPDATED, FD_POLL_STICKY, fdAllocCacheEntry, fdCantRecv, fdCantSend, fdComputeNewPolledStatus, fdDelete, fdDoneRecv, fdEvString, fdInsert, fdMayRecv, fdMaySend, fdOps, fdProcessCachedEvents, fdReleaseCacheEntry, fdRemove, fdStateString, fdStopBoth, fdStopRecv, fdStopSend, fdtab, fdUpdateEvents, fdWantRecv, fdWantSend, initFdtab, updtFdPolling } from "../../src/core/fd";

/* ---- HAProxy 1.8 values (include/types/fd.h), written out independently of src/ ---- */
const ACTIVE = 0x1;
const READY = 0x2;
const POLLED = 0x4;
const RSHIFT = 0; // DIR_RD nibble
const WSHIFT = 4; // DIR_WR nibble
const IN = 0x01, PRI = 0x02, OUT = 0x04, ERR = 0x08, HUP = 0x10;

/** "R:pRa W:pra" -> state byte. */
function st(s: string): number {
  const m = /^R:([pP])([rR])([aA]) W:([pP])([rR])([aA])$/.exec(s);
  if (!m) throw new Error(`bad state notation ${s}`);
  const nib = (p: string, r: string, a: string) =>
    (p === "P" ? POLLED : 0) | (r === "R" ? READY : 0) | (a === "A" ? ACTIVE : 0);
  return (nib(m[1], m[2], m[3]) << RSHIFT) | (nib(m[4], m[5], m[6]) << WSHIFT);
}

/** state byte -> "R:pRa W:pra" (the test's own formatter). */
function show(s: number): string {
  const d = (n: number) => (n & POLLED ? "P" : "p") + (n & READY ? "R" : "r") + (n & ACTIVE ? "A" : "a");
  return `R:${d((s >> RSHIFT) & 7)} W:${d((s >> WSHIFT) & 7)}`;
}

/** The 64 combinations of ACTIVE/READY/POLLED for both directions. */
const ALL_STATES: number[] = Array.from({ length: 64 }, (_, i) => ((i & 7) << RSHIFT) | (((i >> 3) & 7) << WSHIFT));

interface Dir { active: boolean; ready: boolean; polled: boolean }
function dir(s: number, shift: number): Dir {
  const n = (s >> shift) & 7;
  return { active: (n & ACTIVE) !== 0, ready: (n & READY) !== 0, polled: (n & POLLED) !== 0 };
}
/** fd_update_cache(): a direction needs a polling update when polled but stopped, or wanted but neither ready nor polled. */
function dirNeedsUpdate(d: Dir): boolean {
  return (d.polled && !d.active) || (d.active && !d.ready && !d.polled);
}
/** fd_update_cache(): a direction needs a cache entry when ACTIVE and READY. */
function dirNeedsCache(d: Dir): boolean {
  return d.active && d.ready;
}
function needsUpdate(s: number): boolean {
  return dirNeedsUpdate(dir(s, RSHIFT)) || dirNeedsUpdate(dir(s, WSHIFT));
}
function needsCache(s: number): boolean {
  return dirNeedsCache(dir(s, RSHIFT)) || dirNeedsCache(dir(s, WSHIFT));
}

/** The setters, with the bit change HAProxy's fd_* inline makes (include/proto/fd.h). */
interface Setter { name: string; fn: (fd: number) => void; apply: (s: number) => number }
const SETTERS: Setter[] = [
  { name: "fdWantRecv", fn: fdWantRecv, apply: (s) => s | (ACTIVE << RSHIFT) },
  { name: "fdWantSend", fn: fdWantSend, apply: (s) => s | (ACTIVE << WSHIFT) },
  { name: "fdStopRecv", fn: fdStopRecv, apply: (s) => s & ~(ACTIVE << RSHIFT) },
  { name: "fdStopSend", fn: fdStopSend, apply: (s) => s & ~(ACTIVE << WSHIFT) },
  { name: "fdStopBoth", fn: fdStopBoth, apply: (s) => s & ~((ACTIVE << RSHIFT) | (ACTIVE << WSHIFT)) },
  { name: "fdCantRecv", fn: fdCantRecv, apply: (s) => s & ~(READY << RSHIFT) },
  { name: "fdCantSend", fn: fdCantSend, apply: (s) => s & ~(READY << WSHIFT) },
  { name: "fdMayRecv", fn: fdMayRecv, apply: (s) => s | (READY << RSHIFT) },
  { name: "fdMaySend", fn: fdMaySend, apply: (s) => s | (READY << WSHIFT) },
  {
    // fd_done_recv(): only when the read side is both POLLED and READY.
    name: "fdDoneRecv", fn: fdDoneRecv,
    apply: (s) => (dir(s, RSHIFT).polled && dir(s, RSHIFT).ready ? s & ~(READY << RSHIFT) : s),
  },
];

const FD = 5;          // the fd under test
const BYSTANDER = 9;   // another cached fd, to check the cache's back-references
const owner = { name: "owner" };
const noop = () => {};

/** Put <fd> in the cache by hand (no code under test involved). */
function cacheByHand(fd: number): void {
  fdtab.cache[fdtab.cacheNum] = fd;
  fdtab.cacheNum++;
  fdtab.cacheIdx[fd] = fdtab.cacheNum;
}

/** The cache as a list, checking every back-reference on the way. */
function cacheList(): number[] {
  const out: number[] = [];
  for (let i = 0; i < fdtab.cacheNum; i++) {
    const fd = fdtab.cache[i];
    expect(fdtab.cacheIdx[fd], `back-reference of fd ${fd} at slot ${i}`).toBe(i + 1);
    out.push(fd);
  }
  return out;
}

function updtList(): number[] {
  return Array.from(fdtab.updt.subarray(0, fdtab.nbUpdt));
}

describe("HAProxy constants", () => {
  it("FD_EV_* and FD_POLL_* have HAProxy 1.8's values", () => {
    expect([FD_EV_ACTIVE_R, FD_EV_READY_R, FD_EV_POLLED_R]).toEqual([0x01, 0x02, 0x04]);
    expect([FD_EV_ACTIVE_W, FD_EV_READY_W, FD_EV_POLLED_W]).toEqual([0x10, 0x20, 0x40]);
    expect([FD_POLL_IN, FD_POLL_PRI, FD_POLL_OUT, FD_POLL_ERR, FD_POLL_HUP]).toEqual([0x01, 0x02, 0x04, 0x08, 0x10]);
    expect(FD_POLL_STICKY).toBe(0x18);
  });
});

/* ------------------------------------------------------------------------------------------ */
/* Every setter on every state                                                                */
/* ------------------------------------------------------------------------------------------ */

interface Case {
  setter: Setter;
  before: number;
  after: number;
  update: boolean;
  initiallyCached: boolean;
  cached: boolean;
  title: string;
}

/**
 * Build the expectations for one setter on one state. <consistentCache>: the fd starts with a
 * cache entry iff it is ACTIVE && READY in a direction (as a running process keeps it); otherwise
 * it starts with no cache entry at all (the state was just written into fdtab).
 */
function makeCase(setter: Setter, before: number, consistentCache: boolean): Case {
  const after = setter.apply(before);
  const changed = after !== before;
  const initiallyCached = consistentCache && needsCache(before);
  // fd_update_cache() only runs when the bit changed.
  const update = changed && needsUpdate(after);
  const cached = changed ? needsCache(after) : initiallyCached;
  let what: string;
  if (!changed) {
    what = `changes nothing (${initiallyCached ? "stays in the cache" : "stays out of the cache"}, no update)`;
  } else {
    const cacheWords = cached
      ? (initiallyCached ? "keeps the fd in the cache" : "puts the fd in the cache")
      : (initiallyCached ? "takes the fd out of the cache" : "leaves the fd out of the cache");
    what = `makes it ${show(after)}, ${cacheWords} and ${update ? "queues a polling update" : "queues no update"}`;
  }
  return { setter, before, after, update, initiallyCached, cached, title: `${setter.name}() on ${show(before)} ${what}` };
}

function runCase(c: Case): void {
  initFdtab(64);
  fdInsert(FD, owner, noop);
  fdInsert(BYSTANDER, owner, noop);
  fdtab.state[BYSTANDER] = st("R:pRA W:pra");
  fdtab.state[FD] = c.before;
  if (c.initiallyCached) {
    cacheByHand(FD);        // slot 0: a release moves the bystander into it
    cacheByHand(BYSTANDER);
  } else {
    cacheByHand(BYSTANDER); // slot 0: an alloc appends FD at slot 1
  }

  c.setter.fn(FD);

  expect(show(fdtab.state[FD])).toBe(show(c.after));
  if (c.update) {
    expect(updtList()).toEqual([FD]);
    expect(fdtab.flags[FD] & FD_F_UPDATED).toBe(FD_F_UPDATED);
  } else {
    expect(updtList()).toEqual([]);
    expect(fdtab.flags[FD] & FD_F_UPDATED).toBe(0);
  }
  let expected: number[];
  if (c.cached) expected = c.initiallyCached ? [FD, BYSTANDER] : [BYSTANDER, FD];
  else expected = [BYSTANDER];
  expect(cacheList()).toEqual(expected);
  if (!c.cached) expect(fdtab.cacheIdx[FD]).toBe(0);
  // the bystander is untouched
  expect(show(fdtab.state[BYSTANDER])).toBe("R:pRA W:pra");
}

describe("fd setters on all 64 states, starting with no cache entry", () => {
  for (const setter of SETTERS) {
    describe(setter.name, () => {
      for (const s of ALL_STATES) {
        const c = makeCase(setter, s, false);
        it(c.title, () => runCase(c));
      }
    });
  }
});

describe("fd setters on all 64 states, starting with a cache entry iff a direction is ACTIVE and READY", () => {
  for (const setter of SETTERS) {
    describe(setter.name, () => {
      for (const s of ALL_STATES) {
        const c = makeCase(setter, s, true);
        it(c.title, () => runCase(c));
      }
    });
  }
});

describe("fd setters: spot checks written by hand", () => {
  beforeEach(() => {
    initFdtab(64);
    fdInsert(FD, owner, noop);
  });

  it("fdWantRecv() on a fresh fd (R:pra W:pra) queues an update and does not cache it", () => {
    fdWantRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:prA W:pra");
    expect(updtList()).toEqual([FD]);
    expect(fdtab.cacheNum).toBe(0);
  });

  it("fdWantRecv() on R:pRa (speculative read) puts the fd in the cache without an update", () => {
    fdtab.state[FD] = st("R:pRa W:pra");
    fdWantRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:pRA W:pra");
    expect(updtList()).toEqual([]);
    expect(cacheList()).toEqual([FD]);
  });

  it("fdCantRecv() on R:pRA (EAGAIN) drops the cache entry and queues an update to start polling", () => {
    fdtab.state[FD] = st("R:pRA W:pra");
    cacheByHand(FD);
    fdCantRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:prA W:pra");
    expect(updtList()).toEqual([FD]);
    expect(cacheList()).toEqual([]);
  });

  it("fdStopRecv() on R:PrA (polled) queues an update to stop polling", () => {
    fdtab.state[FD] = st("R:PrA W:pra");
    fdStopRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:Pra W:pra");
    expect(updtList()).toEqual([FD]);
  });

  it("fdDoneRecv() on R:pRA (ready but not polled) does nothing", () => {
    fdtab.state[FD] = st("R:pRA W:pra");
    cacheByHand(FD);
    fdDoneRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:pRA W:pra");
    expect(cacheList()).toEqual([FD]);
  });

  it("fdDoneRecv() on R:PRA clears READY_R and drops the cache entry, with no update (still polled)", () => {
    fdtab.state[FD] = st("R:PRA W:pra");
    cacheByHand(FD);
    fdDoneRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:PrA W:pra");
    expect(cacheList()).toEqual([]);
    expect(updtList()).toEqual([]);
  });

  it("fdStopBoth() on R:pRA W:pRA drops the cache entry, no update", () => {
    fdtab.state[FD] = st("R:pRA W:pRA");
    cacheByHand(FD);
    fdStopBoth(FD);
    expect(show(fdtab.state[FD])).toBe("R:pRa W:pRa");
    expect(cacheList()).toEqual([]);
    expect(updtList()).toEqual([]);
  });

  it("two setters that both need an update leave a single update entry", () => {
    fdWantRecv(FD);
    fdWantSend(FD);
    expect(show(fdtab.state[FD])).toBe("R:prA W:prA");
    expect(updtList()).toEqual([FD]);
  });

  it("a setter does not re-add an fd already cached (one cache entry)", () => {
    fdtab.state[FD] = st("R:pRA W:pra");
    cacheByHand(FD);
    fdWantSend(FD);
    fdMaySend(FD);
    expect(show(fdtab.state[FD])).toBe("R:pRA W:pRA");
    expect(cacheList()).toEqual([FD]);
  });
});

/* ------------------------------------------------------------------------------------------ */
/* fd_compute_new_polled_status                                                               */
/* ------------------------------------------------------------------------------------------ */

describe("fdComputeNewPolledStatus on all 64 states", () => {
  /** Per direction: ACTIVE && !READY -> POLLED; !ACTIVE -> not POLLED; ACTIVE && READY -> unchanged. */
  function oracle(s: number): number {
    let out = s;
    for (const shift of [RSHIFT, WSHIFT]) {
      const d = dir(s, shift);
      if (d.active && !d.ready) out |= POLLED << shift;
      else if (!d.active) out &= ~(POLLED << shift);
    }
    return out;
  }
  for (const s of ALL_STATES) {
    const e = oracle(s);
    it(`${show(s)} -> ${show(e)}`, () => {
      expect(show(fdComputeNewPolledStatus(s))).toBe(show(e));
    });
  }
});

/* ------------------------------------------------------------------------------------------ */
/* fd_update_events                                                                           */
/* ------------------------------------------------------------------------------------------ */

describe("fdUpdateEvents", () => {
  const iocb = vi.fn();
  beforeEach(() => {
    initFdtab(64);
    iocb.mockClear();
    fdInsert(FD, owner, iocb);
    fdtab.state[FD] = st("R:PrA W:PrA"); // both directions polled, waiting for the poller
  });

  it("IN sets READY_R only and caches the fd", () => {
    fdUpdateEvents(FD, IN);
    expect(show(fdtab.state[FD])).toBe("R:PRA W:PrA");
    expect(fdtab.ev[FD]).toBe(IN);
    expect(cacheList()).toEqual([FD]);
  });

  it("OUT sets READY_W only", () => {
    fdUpdateEvents(FD, OUT);
    expect(show(fdtab.state[FD])).toBe("R:PrA W:PRA");
    expect(fdtab.ev[FD]).toBe(OUT);
    expect(cacheList()).toEqual([FD]);
  });

  it("ERR sets READY on both directions", () => {
    fdUpdateEvents(FD, ERR);
    expect(show(fdtab.state[FD])).toBe("R:PRA W:PRA");
    expect(fdtab.ev[FD]).toBe(ERR);
  });

  it("HUP sets READY_R only", () => {
    fdUpdateEvents(FD, HUP);
    expect(show(fdtab.state[FD])).toBe("R:PRA W:PrA");
    expect(fdtab.ev[FD]).toBe(HUP);
  });

  it("PRI alone sets no readiness", () => {
    fdUpdateEvents(FD, PRI);
    expect(show(fdtab.state[FD])).toBe("R:PrA W:PrA");
    expect(fdtab.ev[FD]).toBe(PRI);
    expect(cacheList()).toEqual([]);
  });

  it("IN and OUT are not sticky: a later report replaces them", () => {
    fdUpdateEvents(FD, IN | OUT);
    fdUpdateEvents(FD, OUT);
    expect(fdtab.ev[FD]).toBe(OUT);
    fdUpdateEvents(FD, 0);
    expect(fdtab.ev[FD]).toBe(0);
  });

  it("HUP is sticky and keeps making the read side ready across calls", () => {
    fdUpdateEvents(FD, IN | HUP);
    fdCantRecv(FD);
    expect(show(fdtab.state[FD])).toBe("R:PrA W:PrA");
    fdUpdateEvents(FD, OUT);
    expect(fdtab.ev[FD]).toBe(HUP | OUT);
    expect(show(fdtab.state[FD])).toBe("R:PRA W:PRA");
  });

  it("ERR is sticky and keeps making both sides ready across calls", () => {
    fdUpdateEvents(FD, ERR);
    fdCantRecv(FD);
    fdCantSend(FD);
    fdUpdateEvents(FD, 0);
    expect(fdtab.ev[FD]).toBe(ERR);
    expect(show(fdtab.state[FD])).toBe("R:PRA W:PRA");
  });

  it("PRI is not sticky", () => {
    fdUpdateEvents(FD, PRI | IN);
    fdUpdateEvents(FD, OUT);
    expect(fdtab.ev[FD]).toBe(OUT);
  });

  it("never calls the iocb", () => {
    fdUpdateEvents(FD, IN | OUT | ERR | HUP);
    expect(iocb).not.toHaveBeenCalled();
  });
});

/* ------------------------------------------------------------------------------------------ */
/* update list, cache entries                                                                 */
/* ------------------------------------------------------------------------------------------ */

describe("updtFdPolling", () => {
  beforeEach(() => initFdtab(64));

  it("adds an fd once and sets FD_F_UPDATED", () => {
    updtFdPolling(7);
    updtFdPolling(7);
    expect(updtList()).toEqual([7]);
    expect(fdtab.flags[7] & FD_F_UPDATED).toBe(FD_F_UPDATED);
  });

  it("keeps fds in the order they were added", () => {
    updtFdPolling(7);
    updtFdPolling(3);
    updtFdPolling(7);
    updtFdPolling(12);
    expect(updtList()).toEqual([7, 3, 12]);
  });

  it("does not add an fd whose FD_F_UPDATED flag is already set", () => {
    fdtab.flags[4] |= FD_F_UPDATED;
    updtFdPolling(4);
    expect(updtList()).toEqual([]);
  });
});

describe("fdAllocCacheEntry / fdReleaseCacheEntry", () => {
  beforeEach(() => {
    initFdtab(64);
    for (const fd of [3, 4, 5, 6]) cacheByHand(fd);
  });

  it("alloc appends the fd once", () => {
    fdAllocCacheEntry(10);
    fdAllocCacheEntry(10);
    expect(cacheList()).toEqual([3, 4, 5, 6, 10]);
  });

  it("release moves the last entry into the hole and fixes its back-reference", () => {
    fdReleaseCacheEntry(4);
    expect(cacheList()).toEqual([3, 6, 5]);
    expect(fdtab.cacheIdx[6]).toBe(2);
    expect(fdtab.cacheIdx[4]).toBe(0);
  });

  it("release of the first entry moves the last one to slot 0", () => {
    fdReleaseCacheEntry(3);
    expect(cacheList()).toEqual([6, 4, 5]);
    expect(fdtab.cacheIdx[6]).toBe(1);
  });

  it("release of the last entry moves nothing", () => {
    fdReleaseCacheEntry(6);
    expect(cacheList()).toEqual([3, 4, 5]);
    expect(fdtab.cacheIdx[6]).toBe(0);
  });

  it("release of an fd without an entry changes nothing", () => {
    fdReleaseCacheEntry(20);
    expect(cacheList()).toEqual([3, 4, 5, 6]);
  });

  it("releasing everything empties the cache", () => {
    for (const fd of [5, 3, 6, 4]) fdReleaseCacheEntry(fd);
    expect(fdtab.cacheNum).toBe(0);
    for (const fd of [3, 4, 5, 6]) expect(fdtab.cacheIdx[fd]).toBe(0);
  });
});

/* ------------------------------------------------------------------------------------------ */
/* fd_insert, fd_delete, fd_remove                                                            */
/* ------------------------------------------------------------------------------------------ */

describe("fdInsert", () => {
  beforeEach(() => initFdtab(64));

  it("raises maxfd to the highest fd + 1 and never lowers it", () => {
    expect(fdtab.maxfd).toBe(0);
    fdInsert(5, owner, noop);
    expect(fdtab.maxfd).toBe(6);
    fdInsert(2, owner, noop);
    expect(fdtab.maxfd).toBe(6);
    fdInsert(10, owner, noop);
    expect(fdtab.maxfd).toBe(11);
  });

  it("sets owner and iocb, resets ev and the cache index, sets new and clears linger_risk/cloned", () => {
    const cb = () => {};
    fdtab.ev[8] = ERR | HUP;
    fdtab.flags[8] = FD_F_LINGER_RISK | FD_F_CLONED;
    fdtab.cacheIdx[8] = 3;
    fdInsert(8, owner, cb);
    expect(fdtab.owner[8]).toBe(owner);
    expect(fdtab.iocb[8]).toBe(cb);
    expect(fdtab.ev[8]).toBe(0);
    expect(fdtab.cacheIdx[8]).toBe(0);
    expect(fdtab.flags[8] & FD_F_NEW).toBe(FD_F_NEW);
    expect(fdtab.flags[8] & (FD_F_LINGER_RISK | FD_F_CLONED)).toBe(0);
  });
});

describe("fdDelete / fdRemove", () => {
  const saved = { ...fdOps };
  let calls: string[];

  beforeEach(() => {
    initFdtab(64);
    calls = [];
    fdOps.clo = vi.fn((fd: number) => { calls.push(`clo(${fd})`); });
    fdOps.close = vi.fn((fd: number) => { calls.push(`close(${fd})`); });
    fdOps.nolinger = vi.fn((fd: number) => { calls.push(`nolinger(${fd})`); });
  });
  afterEach(() => {
    fdOps.clo = saved.clo;
    fdOps.close = saved.close;
    fdOps.nolinger = saved.nolinger;
  });

  it("fdDelete shrinks maxfd past every free fd at the top", () => {
    fdInsert(1, owner, noop);
    fdInsert(3, owner, noop);
    fdInsert(7, owner, noop);
    expect(fdtab.maxfd).toBe(8);
    fdDelete(3);
    expect(fdtab.maxfd).toBe(8);
    fdDelete(7);
    expect(fdtab.maxfd).toBe(2);
    fdDelete(1);
    expect(fdtab.maxfd).toBe(0);
  });

  it("fdDelete releases the cache entry (the last entry moves into its slot)", () => {
    for (const fd of [3, 4, 5]) {
      fdInsert(fd, owner, noop);
      fdtab.state[fd] = st("R:pRA W:pra");
      cacheByHand(fd);
    }
    fdDelete(3);
    expect(cacheList()).toEqual([5, 4]);
    expect(fdtab.cacheIdx[3]).toBe(0);
  });

  it("fdDelete clears owner, iocb, state and the new flag", () => {
    fdInsert(4, owner, noop);
    fdtab.state[4] = st("R:PRA W:PrA");
    fdDelete(4);
    expect(fdtab.owner[4]).toBeNull();
    expect(fdtab.iocb[4]).toBeNull();
    expect(fdtab.state[4]).toBe(0);
    expect(fdtab.flags[4] & FD_F_NEW).toBe(0);
  });

  it("fdDelete calls the poller's clo() then close(), and not nolinger without linger_risk", () => {
    fdInsert(4, owner, noop);
    fdDelete(4);
    expect(calls).toEqual(["clo(4)", "close(4)"]);
    expect(fdOps.nolinger).not.toHaveBeenCalled();
  });

  it("fdDelete with linger_risk sets nolinger first, then clo(), then close(), and clears the flag", () => {
    fdInsert(4, owner, noop);
    fdtab.flags[4] |= FD_F_LINGER_RISK;
    fdDelete(4);
    expect(calls).toEqual(["nolinger(4)", "clo(4)", "close(4)"]);
    expect(fdtab.flags[4] & FD_F_LINGER_RISK).toBe(0);
  });

  it("fdRemove does the same but does not close the fd", () => {
    fdInsert(4, owner, noop);
    fdtab.state[4] = st("R:pRA W:pra");
    cacheByHand(4);
    fdRemove(4);
    expect(calls).toEqual(["clo(4)"]);
    expect(fdOps.close).not.toHaveBeenCalled();
    expect(fdtab.owner[4]).toBeNull();
    expect(fdtab.state[4]).toBe(0);
    expect(fdtab.cacheNum).toBe(0);
    expect(fdtab.maxfd).toBe(0);
  });

  it("fdRemove with linger_risk still sets nolinger before clo()", () => {
    fdInsert(4, owner, noop);
    fdtab.flags[4] |= FD_F_LINGER_RISK;
    fdRemove(4);
    expect(calls).toEqual(["nolinger(4)", "clo(4)"]);
  });

  it("a pending update entry is not duplicated when the fd number is reused (hapoll keeps FD_F_UPDATED, see fd.ts)", () => {
    fdInsert(4, owner, noop);
    fdWantRecv(4);
    expect(updtList()).toEqual([4]);
    fdDelete(4);
    fdInsert(4, owner, noop);
    fdWantRecv(4);
    expect(updtList()).toEqual([4]);
  });
});

/* ------------------------------------------------------------------------------------------ */
/* fd_process_cached_events                                                                   */
/* ------------------------------------------------------------------------------------------ */

describe("fdProcessCachedEvents", () => {
  let log: number[];

  beforeEach(() => {
    initFdtab(64);
    log = [];
  });

  /** Insert <fd> with <iocb>, write <state> and give it a cache entry by hand. */
  function cachedFd(fd: number, state: string, iocb: (fd: number) => void): void {
    fdInsert(fd, { fd }, iocb);
    fdtab.state[fd] = st(state);
    cacheByHand(fd);
  }

  it("calls the iocb with the fd number", () => {
    const cb = vi.fn();
    cachedFd(6, "R:pRA W:pra", cb);
    fdProcessCachedEvents();
    expect(cb).toHaveBeenCalledTimes(1);
    expect(cb).toHaveBeenCalledWith(6);
  });

  const evCases: [string, number, number][] = [
    // state, ev before, ev seen by the iocb
    ["R:pRA W:pra", 0, IN],
    ["R:pra W:pRA", 0, OUT],
    ["R:pRA W:pRA", 0, IN | OUT],
    ["R:PRA W:pRa", 0, IN],         // write ready but not active: no OUT
    ["R:pRa W:PRA", 0, OUT],        // read ready but not active: no IN
    ["R:pRA W:prA", 0, IN],         // write active but not ready: no OUT
    ["R:pRa W:pRA", IN | PRI | HUP, OUT | HUP], // HUP sticks, IN/PRI are recomputed
    ["R:pRA W:pRA", ERR | OUT, IN | OUT | ERR],
  ];
  for (const [state, evBefore, evSeen] of evCases) {
    it(`the iocb of an fd in ${state} with ev ${fdEvName(evBefore)} sees ev ${fdEvName(evSeen)}`, () => {
      let seen = -1;
      cachedFd(6, state, (fd) => { seen = fdtab.ev[fd]; });
      fdtab.ev[6] = evBefore;
      fdProcessCachedEvents();
      expect(fdEvName(seen)).toBe(fdEvName(evSeen));
    });
  }

  it("an fd in the cache that is no longer ACTIVE+READY but has a sticky ERR still gets its iocb called", () => {
    const cb = vi.fn();
    cachedFd(6, "R:PrA W:pra", cb);
    fdtab.ev[6] = ERR;
    fdProcessCachedEvents();
    expect(cb).toHaveBeenCalledWith(6);
  });

  it("an fd in the cache with no event at all is dropped without calling the iocb", () => {
    const cb = vi.fn();
    cachedFd(6, "R:PrA W:pRa", cb);
    fdProcessCachedEvents();
    expect(cb).not.toHaveBeenCalled();
    expect(cacheList()).toEqual([]);
  });

  it("an iocb that calls fdCantRecv on itself is removed, and the entry moved into its slot runs in the same pass", () => {
    for (const fd of [3, 4, 5]) cachedFd(fd, "R:pRA W:pra", (f) => { log.push(f); fdCantRecv(f); });
    fdProcessCachedEvents();
    // 3 leaves slot 0, 5 (the last) moves in and runs next, then 4
    expect(log).toEqual([3, 5, 4]);
    expect(cacheList()).toEqual([]);
    for (const fd of [3, 4, 5]) expect(show(fdtab.state[fd])).toBe("R:prA W:pra");
    expect(updtList()).toEqual([3, 5, 4]);
  });

  it("an fd cached during the walk (inserted, wanted and made ready by an iocb) is processed in the same pass", () => {
    const newIocb = (f: number) => { log.push(f); fdCantRecv(f); };
    cachedFd(3, "R:pRA W:pra", (f) => {
      log.push(f);
      fdInsert(7, { fd: 7 }, newIocb);
      fdWantRecv(7);
      fdMayRecv(7);
      fdCantRecv(f);
    });
    fdProcessCachedEvents();
    expect(log).toEqual([3, 7]);
    expect(cacheList()).toEqual([]);
  });

  it("an fd cached by an iocb that stays cached itself runs after it in the same pass", () => {
    let first = true;
    cachedFd(3, "R:pRA W:pra", (f) => {
      log.push(f);
      if (first) {
        first = false;
        fdInsert(7, { fd: 7 }, (g) => { log.push(g); });
        fdWantSend(7);
        fdMaySend(7);
      }
    });
    fdProcessCachedEvents();
    expect(log).toEqual([3, 7]);
    expect(cacheList()).toEqual([3, 7]);
  });

  it("an iocb that fdDelete()s the last cached fd prevents that fd's iocb from ever being called", () => {
    const victim = vi.fn();
    cachedFd(3, "R:pRA W:pra", (f) => { log.push(f); fdDelete(4); });
    cachedFd(4, "R:pRA W:pra", victim);
    fdProcessCachedEvents();
    fdProcessCachedEvents();
    expect(victim).not.toHaveBeenCalled();
    expect(log).toEqual([3, 3]);
    expect(cacheList()).toEqual([3]);
  });

  it("an iocb that fdDelete()s a cached fd in the middle skips it but still runs the fd moved into its slot", () => {
    const victim = vi.fn();
    cachedFd(3, "R:pRA W:pra", (f) => { log.push(f); fdDelete(4); fdCantRecv(f); });
    cachedFd(4, "R:pRA W:pra", victim);
    cachedFd(5, "R:pRA W:pra", (f) => { log.push(f); fdCantRecv(f); });
    fdProcessCachedEvents();
    expect(victim).not.toHaveBeenCalled();
    expect(log).toEqual([3, 5]);
    expect(cacheList()).toEqual([]);
  });

  it("an fd with no owner is dropped from the cache without calling its iocb", () => {
    const cb = vi.fn();
    cachedFd(6, "R:pRA W:pra", cb);
    cachedFd(8, "R:pRA W:pra", (f) => { log.push(f); });
    fdtab.owner[6] = null;
    fdProcessCachedEvents();
    expect(cb).not.toHaveBeenCalled();
    expect(log).toEqual([8]);
    expect(cacheList()).toEqual([8]);
  });

  it("an fd with no iocb is dropped from the cache", () => {
    cachedFd(6, "R:pRA W:pra", noop);
    fdtab.iocb[6] = null;
    fdProcessCachedEvents();
    expect(cacheList()).toEqual([]);
  });

  it("an fd stays cached and is called on every walk until it calls fdCantRecv", () => {
    let n = 0;
    cachedFd(6, "R:pRA W:pra", (f) => { n++; if (n === 4) fdCantRecv(f); });
    for (let i = 0; i < 3; i++) fdProcessCachedEvents();
    expect(n).toBe(3);
    expect(cacheList()).toEqual([6]);
    fdProcessCachedEvents();
    expect(n).toBe(4);
    expect(cacheList()).toEqual([]);
    fdProcessCachedEvents();
    expect(n).toBe(4);
  });

  it("an fd stays cached and is called on every walk until it calls fdStopRecv", () => {
    let n = 0;
    cachedFd(6, "R:pRA W:pra", (f) => { n++; if (n === 2) fdStopRecv(f); });
    fdProcessCachedEvents();
    expect(n).toBe(1);
    expect(cacheList()).toEqual([6]);
    fdProcessCachedEvents();
    expect(n).toBe(2);
    expect(show(fdtab.state[6])).toBe("R:pRa W:pra");
    expect(cacheList()).toEqual([]);
    fdProcessCachedEvents();
    expect(n).toBe(2);
  });

  it("does nothing on an empty cache", () => {
    const cb = vi.fn();
    fdInsert(6, owner, cb);
    fdtab.state[6] = st("R:pRA W:pra"); // inconsistent on purpose: not in the cache, so not called
    fdProcessCachedEvents();
    expect(cb).not.toHaveBeenCalled();
  });
});

/* ------------------------------------------------------------------------------------------ */
/* show fd notation                                                                           */
/* ------------------------------------------------------------------------------------------ */

/** The test's own ev formatter (HUP ERR OUT PRI IN, upper case when set). */
function fdEvName(ev: number): string {
  return (ev & HUP ? "H" : "h") + (ev & ERR ? "E" : "e") + (ev & OUT ? "O" : "o") + (ev & PRI ? "P" : "p") + (ev & IN ? "I" : "i");
}

describe("fdStateString / fdEvString", () => {
  it("0x26 is R:PRa W:pRa (the example of HAProxy's `show fd`)", () => {
    expect(fdStateString(0x26)).toBe("R:PRa W:pRa");
  });

  it("0x00 is R:pra W:pra and 0x77 is R:PRA W:PRA", () => {
    expect(fdStateString(0x00)).toBe("R:pra W:pra");
    expect(fdStateString(0x77)).toBe("R:PRA W:PRA");
  });

  it("0x51 is R:prA W:PrA and 0x14 is R:Pra W:prA", () => {
    expect(fdStateString(0x51)).toBe("R:prA W:PrA");
    expect(fdStateString(0x14)).toBe("R:Pra W:prA");
  });

  for (const s of ALL_STATES) {
    it(`state 0x${s.toString(16).padStart(2, "0")} is written ${show(s)}`, () => {
      expect(fdStateString(s)).toBe(show(s));
    });
  }

  const evs: [number, string][] = [
    [0x10, "Heopi"],
    [0x00, "heopi"],
    [0x1f, "HEOPI"],
    [0x05, "heOpI"],
    [0x0a, "hEoPi"],
    [0x01, "heopI"],
    [0x02, "heoPi"],
    [0x04, "heOpi"],
    [0x08, "hEopi"],
  ];
  for (const [ev, s] of evs) {
    it(`ev 0x${ev.toString(16).padStart(2, "0")} is written ${s}`, () => {
      expect(fdEvString(ev)).toBe(s);
    });
  }
});
