/**
 * Poller conformance: the whole TypeScript path (fdtab, update list, NativeBackedPoller.poll,
 * fdProcessCachedEvents, runOneTurn) run in-process against every poller backend compiled into the
 * addon, with real sockets, checked against HAProxy 1.8 (src/ev_epoll.c, src/ev_poll.c,
 * src/ev_select.c, src/fd.c, run_poll_loop() in src/haproxy.c).
 *
 * Expected values are written here from HAProxy's rules (bit values, state transitions, waits),
 * never read back from the code under test. States are in `show fd` notation ("R:PrA W:pra",
 * upper case = set; P polled, R ready, A active), formatted by this file's own helper.
 *
 * What the kernel reports (Linux, AF_UNIX stream socketpairs and TCP loopback), as observed and
 * asserted below:
 *   peer close()                              epoll/poll: IN|HUP (+RDHUP)   select: IN
 *   peer shutdown(SHUT_WR)                    epoll/poll: IN|HUP (RDHUP)    select: IN
 *   peer close() with our data unread, R      epoll/poll: IN|ERR|HUP        select: IN
 *     (AF_UNIX sets ECONNRESET on us)         recv() -ECONNRESET, then 0
 *   same, polled for W                        epoll/poll: OUT|ERR|HUP       select: OUT; send() -EPIPE
 *   TCP peer closed with SO_LINGER {1,0}      epoll/poll: IN|ERR|HUP        select: IN
 *     (RST)                                   recv() -ECONNRESET, then 0
 * select() cannot report ERR or HUP at all (HAProxy's ev_select.c only maps FD_ISSET to IN/OUT).
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { C, native } from "../../src/native";
import { clock, updateDate } from "../../src/core/clock";
import {
  fdCantRecv, fdCantSend, fdDelete, fdInsert, fdMaySend, fdOps, fdProcessCachedEvents, fdRemove,
  fdStopRecv, fdStopSend, fdtab, fdWantRecv, fdWantSend, initFdtab,
} from "../../src/core/fd";
import { counters, global } from "../../src/core/global";
import { runOneTurn } from "../../src/core/loop";
import {
  NativeBackedPoller, POLLER_PREFS, deinitPollers, disablePoller, initPollers, listPollers, pollHooks,
  pollStats, registerPollers, registry,
} from "../../src/core/poller";
import { signalInit, signalQueued, signalRegisterFct, signalUnregister } from "../../src/core/signal";
import {
  TASK_WOKEN_MSG, TASK_WOKEN_TIMER, Task, resetScheduler, taskDelete, taskFree, taskNew, taskQueue, taskWakeup,
} from "../../src/core/task";
import { TICK_ETERNITY, tickAdd } from "../../src/core/ticks";

/* ---- HAProxy 1.8 values (include/types/fd.h, include/common/defaults.h), written out here ---- */
const READY_R = 0x02, POLLED_R = 0x04;
const ACTIVE_W = 0x10, READY_W = 0x20, POLLED_W = 0x40;
const IN = 0x01, OUT = 0x04, ERR = 0x08, HUP = 0x10;
const F_NEW = 0x01, F_UPDATED = 0x02, F_LINGER_RISK = 0x04;
const HAP_POLL_F_RDHUP = 0x01;
const MAX_DELAY_MS = 1000; // 1.8
const SCHEDULER_RESOLUTION = 9; // select adds it; epoll/poll add 1
const DIR_R = 1, DIR_W = 2; // the change triples' polled masks

const E = os.constants.errno;
const SIGUSR2 = os.constants.signals.SIGUSR2;
const MAXSOCK = 1024; // <= FD_SETSIZE so select can run

const NAMES = native.pollerNames();

/** state byte -> "R:PrA W:pra" (the test's own formatter). */
function show(s: number): string {
  const d = (n: number) => (n & 4 ? "P" : "p") + (n & 2 ? "R" : "r") + (n & 1 ? "A" : "a");
  return `R:${d(s & 7)} W:${d((s >> 4) & 7)}`;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe.each(NAMES)("poller %s", (name) => {
  /** HAProxy's own reporting abilities, per backend. */
  const reportsHup = name !== "select";
  const reportsErr = name === "epoll" || name === "poll";
  const slack = name === "select" ? SCHEDULER_RESOLUTION : 1;
  /** HAProxy 1.8's ev_kqueue.c registers with HAP_POLL_F_RDHUP; epoll/poll set it on the first RDHUP seen. */
  const rdhupFromStart = name === "kqueue";
  /**
   * kqueue under libkqueue (npm run test:kqueue on Linux sets HAPOLL_TEST_LIBKQUEUE=1): libkqueue reads
   * SO_ERROR to fill a read filter's fflags on EV_EOF, which clears the socket's pending error, so the
   * ECONNRESET a real kernel hands to the next recv() is gone (docs/platforms.md).
   */
  const libkqueueEatsSoError = name === "kqueue" && process.env.HAPOLL_TEST_LIBKQUEUE === "1";
  const LIBKQUEUE_SO_ERROR = "libkqueue clears SO_ERROR when it reports EV_EOF: recv() gives 0, not -ECONNRESET (docs/platforms.md)";

  let poller: NativeBackedPoller;
  /** Every fd this test opened and has not closed yet. */
  const open = new Set<number>();
  /** Every poll() of the test: the change triples passed and the (fd, ev) pairs reported. */
  let polls: { changes: [number, number, number][]; wait: number; events: [number, number][] }[];

  function rawPair(): [number, number] {
    const sv = new Int32Array(2);
    expect(native.socketpair(C.SOCK_STREAM, sv)).toBe(0);
    open.add(sv[0]);
    open.add(sv[1]);
    return [sv[0], sv[1]];
  }
  const pair = rawPair;

  function closeFd(fd: number): void {
    expect(native.close(fd)).toBe(0);
    open.delete(fd);
  }

  /** A socketpair one of whose fds has number <target> (the lowest free fd is handed out first). */
  function pairWithFd(target: number): [number, number] {
    const extra: number[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const [x, y] = rawPair();
        if (x === target) return [x, y];
        if (y === target) return [y, x];
        extra.push(x, y);
      }
      throw new Error(`could not get fd ${target} back`);
    } finally {
      for (const fd of extra) closeFd(fd);
    }
  }

  function sendStr(fd: number, s: string): void {
    const b = Buffer.from(s);
    expect(native.send(fd, b, 0, b.length, 0)).toBe(b.length);
  }

  /** recv until EAGAIN / EOF / error; returns the data and the last result. */
  function drain(fd: number): { data: string; last: number; results: number[] } {
    const b = Buffer.alloc(65536);
    let data = "";
    const results: number[] = [];
    for (let i = 0; i < 10000; i++) {
      const r = native.recv(fd, b, 0, b.length);
      results.push(r);
      if (r <= 0) return { data, last: r, results };
      data += b.toString("latin1", 0, r);
    }
    throw new Error("drain: never ended");
  }

  /** Two recv() results (an error is reported once, then EOF). */
  function recvTwice(fd: number): number[] {
    const b = Buffer.alloc(64);
    return [native.recv(fd, b, 0, b.length), native.recv(fd, b, 0, b.length)];
  }

  interface Call { fd: number; ev: number; state: number }
  /** An iocb recording (fd, fdtab.ev, state) at each call, then running <action>. */
  function recorder(action?: (fd: number) => void): { calls: Call[]; cb: (fd: number) => void } {
    const calls: Call[] = [];
    return {
      calls,
      cb: (fd: number) => {
        calls.push({ fd, ev: fdtab.ev[fd], state: fdtab.state[fd] });
        if (action) action(fd);
      },
    };
  }

  /** An iocb body that reads until EAGAIN and then says fd_cant_recv, as raw_sock does. */
  const readAll = (got: string[]) => (fd: number) => {
    const r = drain(fd);
    got.push(r.data);
    if (r.last === -E.EAGAIN) fdCantRecv(fd);
  };

  /** Events the poller reported for <fd> over every poll of this test since index <from>. */
  function reportedFor(fd: number, from = 0): number[] {
    const r: number[] = [];
    for (const p of polls.slice(from)) for (const [f, e] of p.events) if (f === fd) r.push(e);
    return r;
  }

  /** Turn the loop (each turn sleeping at most 20 ms) until <pred>, for at most <ms>. */
  function turnUntil(pred: () => boolean, ms = 2000): number {
    const t0 = performance.now();
    let turns = 0;
    while (!pred()) {
      if (performance.now() - t0 > ms) throw new Error(`condition not met after ${turns} turns`);
      expect(runOneTurn(20)).toBe(true);
      turns++;
    }
    return turns;
  }

  beforeEach(() => {
    global.maxsock = MAXSOCK;
    initFdtab(MAXSOCK);
    resetScheduler();
    counters.jobs = 1;
    counters.hardStop = false;
    poller = new NativeBackedPoller(name);
    expect(poller.init()).toBe(true);
    registry.cur = poller;
    // wireFdOps() of poller.ts, replicated (the close also untracks the fd). clo gets <closing>:
    // false for fd_remove (the fd stays open).
    fdOps.clo = (fd, closing) => poller.clo(fd, closing);
    fdOps.close = (fd) => { native.close(fd); open.delete(fd); };
    fdOps.nolinger = (fd) => { native.setLinger(fd, 1, 0); };
    polls = [];
    pollHooks.onPoll = (ch, nch, wait, out, n) => {
      const changes: [number, number, number][] = [];
      for (let i = 0; i < nch; i++) changes.push([ch[3 * i], ch[3 * i + 1], ch[3 * i + 2]]);
      const events: [number, number][] = [];
      for (let i = 0; i < n; i++) events.push([out[2 * i], out[2 * i + 1]]);
      polls.push({ changes, wait, events });
    };
    updateDate();
  });

  afterEach(() => {
    pollHooks.onPoll = null;
    poller.term();
    registry.cur = null;
    fdOps.clo = () => {};
    fdOps.close = () => {};
    fdOps.nolinger = () => {};
    for (const fd of open) native.close(fd);
    open.clear();
    initFdtab(MAXSOCK);
    resetScheduler();
    counters.jobs = 0;
  });

  /* ------------------------------------------------------------------ read readiness */
  describe("read readiness", () => {
    it("polls an fd that wants to read, calls its iocb with IN only once data arrives, and not after fd_cant_recv", () => {
      const [a, b] = pair();
      const got: string[] = [];
      const io = recorder(readAll(got));
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      expect(show(fdtab.state[a])).toBe("R:prA W:pra");

      // Nothing readable: the turn makes the fd polled for reading, and nobody is called.
      expect(runOneTurn(20)).toBe(true);
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
      expect(fdtab.state[a] & POLLED_R).toBe(POLLED_R);
      expect(io.calls).toHaveLength(0);
      expect(fdtab.cacheNum).toBe(0);
      expect(reportedFor(a)).toEqual([]);

      // Data arrives: the next turn reports IN and calls the iocb, which drains and says EAGAIN.
      sendStr(b, "hello");
      expect(runOneTurn(0)).toBe(true);
      expect(io.calls).toHaveLength(1);
      expect(io.calls[0].fd).toBe(a);
      expect(io.calls[0].ev & IN).toBe(IN);
      expect(io.calls[0].ev & (OUT | ERR | HUP)).toBe(0);
      expect(show(io.calls[0].state)).toBe("R:PRA W:pra");
      expect(got).toEqual(["hello"]);
      expect(reportedFor(a).every((e) => (e & IN) !== 0)).toBe(true);
      // fd_cant_recv on a polled fd: ready cleared, still polled, no cache entry, no update.
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
      expect(fdtab.cacheIdx[a]).toBe(0);
      expect(fdtab.nbUpdt).toBe(0);

      // Nothing more to read: not called again.
      expect(runOneTurn(20)).toBe(true);
      expect(runOneTurn(20)).toBe(true);
      expect(io.calls).toHaveLength(1);

      // More data: called again.
      sendStr(b, "again");
      expect(runOneTurn(0)).toBe(true);
      expect(io.calls).toHaveLength(2);
      expect(io.calls[1].ev & IN).toBe(IN);
      expect(got).toEqual(["hello", "again"]);
    });

    it("driven by hand: poll() only turns events into READY bits; fdProcessCachedEvents() calls the iocb", () => {
      const [a, b] = pair();
      const got: string[] = [];
      const io = recorder(readAll(got));
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      sendStr(b, "by hand");
      updateDate();
      poller.poll(tickAdd(clock.nowMs, 100));
      // The poller never calls an iocb (HAProxy: fd_update_events() only sets READY).
      expect(io.calls).toHaveLength(0);
      expect(show(fdtab.state[a])).toBe("R:PRA W:pra");
      expect(fdtab.ev[a] & IN).toBe(IN);
      expect(fdtab.cacheNum).toBe(1);
      expect(fdtab.cache[0]).toBe(a);
      fdProcessCachedEvents();
      expect(io.calls).toHaveLength(1);
      expect(io.calls[0].ev).toBe(IN);
      expect(got).toEqual(["by hand"]);
      expect(fdtab.cacheNum).toBe(0);
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
    });

    it("keeps calling a ready fd on every turn until it reports EAGAIN (HAProxy's fd cache)", () => {
      const [a, b] = pair();
      let n = 0;
      const got: string[] = [];
      // The first two calls do not read (e.g. the buffer is full); the third one drains.
      const io = recorder((fd) => { if (++n === 3) readAll(got)(fd); });
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      sendStr(b, "xyz");
      runOneTurn(0);
      runOneTurn(0);
      runOneTurn(0);
      expect(io.calls.map((c) => c.ev & IN)).toEqual([IN, IN, IN]);
      expect(got).toEqual(["xyz"]);
      runOneTurn(20);
      expect(io.calls).toHaveLength(3);
    });
  });

  /* ------------------------------------------------------------------ write readiness */
  describe("write readiness", () => {
    it("fd_want_send on a fresh fd: the poller reports OUT in the same turn; fd_stop_send stops the calls", () => {
      const [a] = pair();
      const io = recorder((fd) => fdStopSend(fd));
      fdInsert(a, "A", io.cb);
      fdWantSend(a);
      // fd_insert() does not set READY: the fd must be polled first.
      expect(show(fdtab.state[a])).toBe("R:pra W:prA");
      expect(fdtab.nbUpdt).toBe(1);
      expect(fdtab.cacheNum).toBe(0);

      expect(runOneTurn(0)).toBe(true);
      expect(polls[0].changes).toEqual([[a, 0, DIR_W]]);
      expect(io.calls).toHaveLength(1);
      expect(io.calls[0].ev & OUT).toBe(OUT);
      expect(io.calls[0].ev & IN).toBe(0);
      expect(show(io.calls[0].state)).toBe("R:pra W:PRA");
      // Stopped while polled: an update is queued to stop polling.
      expect(show(fdtab.state[a])).toBe("R:pra W:PRa");
      expect(fdtab.nbUpdt).toBe(1);

      const from = polls.length;
      expect(runOneTurn(20)).toBe(true);
      expect(polls[from].changes).toEqual([[a, DIR_W, 0]]);
      expect(fdtab.state[a] & (POLLED_W | ACTIVE_W)).toBe(0);
      expect(runOneTurn(20)).toBe(true);
      expect(io.calls).toHaveLength(1);
      expect(reportedFor(a, from)).toEqual([]);
    });

    it("fd_may_send (speculative I/O): the iocb runs from the cache without the fd ever being polled", () => {
      const [a, b] = pair();
      const io = recorder((fd) => {
        sendStr(fd, "spec");
        fdStopSend(fd);
      });
      fdInsert(a, "A", io.cb);
      fdMaySend(a);
      fdWantSend(a);
      expect(show(fdtab.state[a])).toBe("R:pra W:pRA");
      expect(fdtab.nbUpdt).toBe(0);
      expect(fdtab.cacheNum).toBe(1);

      const t0 = performance.now();
      expect(runOneTurn(5000)).toBe(true); // a cached fd means no sleep
      expect(performance.now() - t0).toBeLessThan(2500); // no 5 s sleep (a loaded machine can stall 200 ms)
      expect(polls[0].changes).toEqual([]);
      expect(polls[0].wait).toBe(0);
      expect(io.calls).toHaveLength(1);
      expect(io.calls[0].ev).toBe(OUT);
      expect(drain(b).data).toBe("spec");
      expect(fdtab.state[a] & POLLED_W).toBe(0);
      runOneTurn(20);
      expect(io.calls).toHaveLength(1);
    });

    it("fd_cant_send on a full socket: polled, not called until the peer drains, then called with OUT", () => {
      const [a, b] = pair();
      let filled = false;
      const io = recorder((fd) => {
        if (filled) { fdStopSend(fd); return; }
        const chunk = Buffer.alloc(65536, 0x61);
        for (let i = 0; i < 10000; i++) {
          const r = native.send(fd, chunk, 0, chunk.length, 0);
          if (r === -E.EAGAIN) { filled = true; fdCantSend(fd); return; }
          expect(r).toBeGreaterThan(0);
        }
        throw new Error("socket never filled");
      });
      fdInsert(a, "A", io.cb);
      fdMaySend(a);
      fdWantSend(a);
      runOneTurn(0);
      expect(io.calls).toHaveLength(1);
      expect(filled).toBe(true);
      // Not ready, wanted, not polled yet: an update is queued.
      expect(show(fdtab.state[a])).toBe("R:pra W:prA");
      expect(fdtab.nbUpdt).toBe(1);

      runOneTurn(20);
      runOneTurn(20);
      expect(show(fdtab.state[a])).toBe("R:pra W:PrA");
      expect(io.calls).toHaveLength(1);

      drain(b);
      turnUntil(() => io.calls.length === 2);
      expect(io.calls[1].ev & OUT).toBe(OUT);
      expect(show(io.calls[1].state)).toBe("R:pra W:PRA");
    });
  });

  /* ------------------------------------------------------------------ HUP / ERR */
  describe("hang-up and errors", () => {
    it("peer close: iocb called with IN" + (reportsHup ? "|HUP" : " (select cannot report HUP)") + ", recv() gives 0", () => {
      const [a, b] = pair();
      const results: number[][] = [];
      const io = recorder((fd) => {
        const r = drain(fd);
        results.push(r.results);
        fdStopRecv(fd);
      });
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      runOneTurn(20);
      expect(io.calls).toHaveLength(0);
      expect(poller.flags & HAP_POLL_F_RDHUP).toBe(rdhupFromStart ? HAP_POLL_F_RDHUP : 0);

      closeFd(b);
      turnUntil(() => io.calls.length > 0);
      expect(io.calls).toHaveLength(1);
      const ev = io.calls[0].ev;
      expect(ev & IN).toBe(IN);
      expect(ev & HUP).toBe(reportsHup ? HUP : 0);
      expect(ev & ERR).toBe(0);
      expect(results[0]).toEqual([0]);
      // fd_update_events(): HUP makes the fd read-ready only (no ERR: not write-ready).
      expect(io.calls[0].state & (READY_R | READY_W)).toBe(READY_R);
      // epoll and Linux poll() report POLLRDHUP, which sets the poller's RDHUP flag (HAProxy does
      // the same in ev_epoll.c/ev_poll.c); select() never can.
      expect(poller.flags & HAP_POLL_F_RDHUP).toBe(reportsHup ? HAP_POLL_F_RDHUP : 0);
    });

    it("peer shutdown(SHUT_WR): IN" + (reportsHup ? "|HUP (RDHUP remapped)" : "") + ", recv() gives 0", () => {
      const [a, b] = pair();
      const io = recorder((fd) => { drain(fd); fdStopRecv(fd); });
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      runOneTurn(20);
      expect(native.shutdown(b, C.SHUT_WR)).toBe(0);
      turnUntil(() => io.calls.length > 0);
      expect(io.calls[0].ev & (IN | HUP | ERR)).toBe(IN | (reportsHup ? HUP : 0));
    });

    it("peer closed with our data unread (read side): " + (reportsErr ? "IN|ERR|HUP" : "IN only") + ", recv() gives -ECONNRESET then 0", (ctx) => {
      if (libkqueueEatsSoError) ctx.skip(LIBKQUEUE_SO_ERROR);
      const [a, b] = pair();
      const results: number[][] = [];
      const io = recorder((fd) => { results.push(recvTwice(fd)); fdStopRecv(fd); });
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      runOneTurn(20);
      sendStr(a, "unread"); // sits in b's receive queue
      closeFd(b); // AF_UNIX: closing with unread data sets ECONNRESET on the peer
      turnUntil(() => io.calls.length > 0);
      const ev = io.calls[0].ev;
      expect(ev & IN).toBe(IN);
      expect(ev & ERR).toBe(reportsErr ? ERR : 0);
      expect(ev & HUP).toBe(reportsHup ? HUP : 0);
      expect(results[0]).toEqual([-E.ECONNRESET, 0]);
      // fd_update_events(): ERR makes both directions ready (fd_may_recv + fd_may_send), although
      // only reading was wanted; select reports IN only, so only READY_R.
      expect(io.calls[0].state & (READY_R | READY_W)).toBe(reportsErr ? READY_R | READY_W : READY_R);
    });

    // HAProxy 1.8's ev_kqueue.c: a write filter's EV_EOF is FD_POLL_ERR (never HUP, which is the read filter's).
    const errOnW = reportsErr || name === "kqueue";
    const hupOnW = reportsHup && name !== "kqueue";
    it("peer closed with our data unread (write side): " + (reportsErr ? "OUT|ERR|HUP" : errOnW ? "OUT|ERR" : "OUT only") + ", send() gives -EPIPE", () => {
      const [a, b] = pair();
      const sendRes: number[] = [];
      const io = recorder((fd) => {
        sendRes.push(native.send(fd, Buffer.from("x"), 0, 1, 0));
        fdStopSend(fd);
      });
      sendStr(a, "unread");
      closeFd(b);
      fdInsert(a, "A", io.cb);
      fdWantSend(a);
      turnUntil(() => io.calls.length > 0);
      const ev = io.calls[0].ev;
      expect(ev & OUT).toBe(OUT);
      expect(ev & IN).toBe(0); // not ACTIVE_R: IN is never passed to the iocb
      expect(ev & ERR).toBe(errOnW ? ERR : 0);
      expect(ev & HUP).toBe(hupOnW ? HUP : 0);
      expect(sendRes).toEqual([-E.EPIPE]);
      if (errOnW) {
        // fd_update_events(): ERR makes both directions ready (HAProxy: fd_may_recv + fd_may_send).
        expect(io.calls[0].state & READY_R).toBe(READY_R);
        // ERR and HUP are sticky (FD_POLL_STICKY).
        expect(fdtab.ev[a] & (ERR | HUP)).toBe(ERR | (hupOnW ? HUP : 0));
      }
    });

    it("TCP: fd_delete() of a linger_risk fd resets the connection; the peer sees " + (reportsErr ? "IN|ERR|HUP" : "IN") + " and -ECONNRESET", (ctx) => {
      if (libkqueueEatsSoError) ctx.skip(LIBKQUEUE_SO_ERROR);
      const sa = Buffer.alloc(C.SOCKADDR_MAX);
      const salen = native.sockaddrFrom("ipv4", "127.0.0.1", 0, sa);
      expect(salen).toBeGreaterThan(0);
      const l = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
      expect(l).toBeGreaterThanOrEqual(0);
      open.add(l);
      expect(native.bind(l, sa, salen)).toBe(0);
      expect(native.listen(l, 16)).toBe(0);
      expect(native.setNonblock(l)).toBe(0);
      const la = Buffer.alloc(C.SOCKADDR_MAX);
      const lalen = native.getsockname(l, la);
      const c = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
      open.add(c);
      expect(native.setNonblock(c)).toBe(0);
      const cr = native.connect(c, la, lalen);
      expect([0, -E.EINPROGRESS]).toContain(cr);
      let s = -1;
      for (let i = 0; i < 400 && s < 0; i++) {
        s = native.accept(l, Buffer.alloc(C.SOCKADDR_MAX));
        if (s < 0) sleepMs(5);
      }
      expect(s).toBeGreaterThanOrEqual(0);
      open.add(s);

      const results: number[][] = [];
      const io = recorder((fd) => { results.push(recvTwice(fd)); fdStopRecv(fd); });
      fdInsert(c, "client", io.cb);
      fdWantRecv(c);
      const srv = recorder();
      fdInsert(s, "server", srv.cb);
      fdtab.flags[s] |= F_LINGER_RISK; // as tcp_connect_server() marks server sockets
      runOneTurn(20);
      expect(io.calls).toHaveLength(0);

      fdDelete(s); // linger_risk: SO_LINGER {1,0} then close -> RST instead of FIN
      expect(open.has(s)).toBe(false);
      turnUntil(() => io.calls.length > 0);
      const ev = io.calls[0].ev;
      expect(ev & IN).toBe(IN);
      expect(ev & ERR).toBe(reportsErr ? ERR : 0);
      expect(ev & HUP).toBe(reportsHup ? HUP : 0);
      expect(results[0]).toEqual([-E.ECONNRESET, 0]);
      expect(srv.calls).toHaveLength(0);
    });
  });

  /* ------------------------------------------------------------------ update list */
  describe("add / modify / delete through the update list", () => {
    it("fd_want_recv queues one update; the turn applies it (ADD) and empties the list", () => {
      const [a] = pair();
      const io = recorder();
      fdInsert(a, "A", io.cb);
      expect(fdtab.flags[a] & F_NEW).toBe(F_NEW);
      expect(fdtab.nbUpdt).toBe(0);
      fdWantRecv(a);
      fdWantRecv(a); // no change, no second entry
      expect(fdtab.nbUpdt).toBe(1);
      expect(fdtab.updt[0]).toBe(a);
      expect(fdtab.flags[a] & F_UPDATED).toBe(F_UPDATED);

      runOneTurn(0);
      expect(fdtab.nbUpdt).toBe(0);
      expect(fdtab.flags[a] & (F_UPDATED | F_NEW)).toBe(0);
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
      expect(polls[0].changes).toEqual([[a, 0, DIR_R]]);
      expect(io.calls).toHaveLength(0);
    });

    it("fd_stop_recv on a polled fd queues an update; after the turn it is no longer polled and pending data is not reported", () => {
      const [a, b] = pair();
      const io = recorder();
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      runOneTurn(0);
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");

      fdStopRecv(a);
      expect(show(fdtab.state[a])).toBe("R:Pra W:pra");
      expect(fdtab.nbUpdt).toBe(1);
      expect(fdtab.updt[0]).toBe(a);

      sendStr(b, "pending"); // readable before the turn that stops polling it
      const from = polls.length;
      runOneTurn(20);
      expect(fdtab.nbUpdt).toBe(0);
      expect(polls[from].changes).toEqual([[a, DIR_R, 0]]);
      expect(show(fdtab.state[a])).toBe("R:pra W:pra");
      runOneTurn(20);
      runOneTurn(20);
      // The kernel must not report it any more (a stale registration would set READY_R and ev).
      expect(reportedFor(a, from)).toEqual([]);
      expect(fdtab.ev[a]).toBe(0);
      expect(show(fdtab.state[a])).toBe("R:pra W:pra");
      expect(io.calls).toHaveLength(0);
    });

    it("switching read -> write (MOD): one update, OUT reported without IN although data is pending; then back to read", () => {
      const [a, b] = pair();
      const got: string[] = [];
      const io = recorder((fd) => {
        if (fdtab.ev[fd] & OUT) fdStopSend(fd);
        if (fdtab.ev[fd] & IN) readAll(got)(fd);
      });
      fdInsert(a, "A", io.cb);
      fdWantRecv(a);
      runOneTurn(20);
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");

      fdStopRecv(a);
      fdWantSend(a);
      expect(fdtab.nbUpdt).toBe(1);
      sendStr(b, "data");
      const from = polls.length;
      runOneTurn(0);
      expect(polls[from].changes).toEqual([[a, DIR_R, DIR_W]]);
      for (const e of reportedFor(a, from)) expect(e & IN).toBe(0);
      expect(io.calls).toHaveLength(1);
      expect(io.calls[0].ev).toBe(OUT);
      expect(show(io.calls[0].state)).toBe("R:pra W:PRA");
      expect(got).toEqual([]);

      // Back to reading: the pending data is reported now.
      fdWantRecv(a);
      const from2 = polls.length;
      turnUntil(() => got.length > 0);
      expect(polls[from2].changes).toEqual([[a, DIR_W, DIR_R]]);
      expect(got).toEqual(["data"]);
      const last = io.calls[io.calls.length - 1];
      expect(last.ev & (IN | OUT)).toBe(IN);
      expect(fdtab.state[a] & (POLLED_W | ACTIVE_W)).toBe(0);
    });
  });

  /* ------------------------------------------------------------------ closed fds */
  describe("a closed fd's pending event never reaches its iocb", () => {
    /** <n> socketpairs whose local ends want to read and all have data, polled in one turn. */
    function readableSet(n: number, make: (i: number) => (fd: number) => void): { fds: number[]; peers: number[] } {
      const fds: number[] = [];
      const peers: number[] = [];
      for (let i = 0; i < n; i++) {
        const [a, b] = pair();
        fds.push(a);
        peers.push(b);
        fdInsert(a, `fd${i}`, make(i));
        fdWantRecv(a);
      }
      runOneTurn(20);
      for (const a of fds) expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
      for (const b of peers) sendStr(b, "x");
      return { fds, peers };
    }

    it("two fds readable in the same turn: the first iocb fd_delete()s the other, whose iocb is never called", () => {
      const calls: number[] = [];
      let deleted = -1;
      const set = readableSet(2, (i) => (fd) => {
        calls.push(fd);
        if (deleted < 0) {
          deleted = set.fds[1 - i];
          fdDelete(deleted);
        }
        readAll([])(fd);
      });
      const from = polls.length;
      runOneTurn(0);
      // Both were reported by the same poll; only one iocb ran.
      expect(reportedFor(set.fds[0], from).length).toBeGreaterThan(0);
      expect(reportedFor(set.fds[1], from).length).toBeGreaterThan(0);
      expect(calls).toHaveLength(1);
      expect(calls).not.toContain(deleted);
      expect(fdtab.owner[deleted]).toBeNull();
      expect(fdtab.state[deleted]).toBe(0);
      expect(fdtab.cacheNum).toBe(0);
      runOneTurn(20);
      expect(calls).toHaveLength(1);
    });

    it("three fds: deleting the next cache entry moves the last one into its slot, which still runs once", () => {
      const calls: number[] = [];
      let victim = -1;
      const set = readableSet(3, () => (fd) => {
        calls.push(fd);
        if (victim < 0) {
          const idx = fdtab.cacheIdx[fd] - 1;
          expect(idx).toBe(0); // the walk starts at entry 0
          expect(fdtab.cacheNum).toBe(3);
          victim = fdtab.cache[idx + 1];
          fdDelete(victim);
        }
        readAll([])(fd);
      });
      runOneTurn(0);
      expect(victim).toBeGreaterThanOrEqual(0);
      expect(calls).toHaveLength(2);
      expect(calls).not.toContain(victim);
      expect(new Set(calls)).toEqual(new Set(set.fds.filter((f) => f !== victim)));
      expect(fdtab.cacheNum).toBe(0);
    });

    it("an iocb that fd_delete()s its own fd: the other ready fds still run once in the same pass", () => {
      const calls: number[] = [];
      let self = -1;
      const set = readableSet(3, () => (fd) => {
        calls.push(fd);
        if (self < 0) {
          self = fd;
          fdDelete(fd);
          return;
        }
        readAll([])(fd);
      });
      runOneTurn(0);
      expect(calls).toHaveLength(3);
      expect(new Set(calls)).toEqual(new Set(set.fds));
      expect(fdtab.cacheNum).toBe(0);
    });

    it("an iocb deletes another ready fd and a new socket takes its number in the same pass: the newcomer is not called", () => {
      const calls: number[] = [];
      let victim = -1;
      let newcomer: { fd: number; peer: number; io: ReturnType<typeof recorder> } | null = null;
      const set = readableSet(2, (i) => (fd) => {
        calls.push(fd);
        if (victim < 0) {
          victim = set.fds[1 - i];
          fdDelete(victim);
          const [x, y] = pairWithFd(victim);
          const io = recorder();
          fdInsert(x, "newcomer", io.cb);
          fdWantRecv(x);
          newcomer = { fd: x, peer: y, io };
        }
        readAll([])(fd);
      });
      runOneTurn(0);
      expect(calls).toHaveLength(1);
      const nc = newcomer as unknown as { fd: number; peer: number; io: ReturnType<typeof recorder> };
      expect(nc.fd).toBe(victim);
      expect(nc.io.calls).toHaveLength(0);
      expect(fdtab.ev[nc.fd]).toBe(0);
      const from = polls.length;
      runOneTurn(20);
      runOneTurn(20);
      expect(nc.io.calls).toHaveLength(0);
      expect(reportedFor(nc.fd, from)).toEqual([]);
      expect(show(fdtab.state[nc.fd])).toBe("R:PrA W:pra");
      // and it works for its own data
      sendStr(nc.peer, "mine");
      turnUntil(() => nc.io.calls.length > 0);
      expect(nc.io.calls[0].ev & IN).toBe(IN);
    });

    it("fd_delete() between turns with unreported pending data, fd number reused: no stale event for the new owner", () => {
      const [a, b] = pair();
      const old = recorder();
      fdInsert(a, "old", old.cb);
      fdWantRecv(a);
      runOneTurn(20);
      sendStr(b, "stale");
      fdDelete(a); // before any turn saw the data
      expect(open.has(a)).toBe(false);

      const [x, y] = pairWithFd(a);
      expect(x).toBe(a);
      const got: string[] = [];
      const neu = recorder(readAll(got));
      fdInsert(x, "new", neu.cb);
      expect(fdtab.ev[x]).toBe(0);
      fdWantRecv(x);
      const from = polls.length;
      runOneTurn(20);
      runOneTurn(20);
      expect(old.calls).toHaveLength(0);
      expect(neu.calls).toHaveLength(0);
      expect(reportedFor(x, from)).toEqual([]);
      expect(show(fdtab.state[x])).toBe("R:PrA W:pra");

      sendStr(y, "fresh");
      turnUntil(() => neu.calls.length > 0);
      expect(got).toEqual(["fresh"]);
      expect(old.calls).toHaveLength(0);
    });

    it("fd_delete() of a reported, cached fd, fd number reused: the new owner is not called from the stale cache entry", () => {
      const [a, b] = pair();
      const old = recorder(); // does not read: stays READY in the cache
      fdInsert(a, "old", old.cb);
      fdWantRecv(a);
      sendStr(b, "stale");
      runOneTurn(0);
      expect(old.calls).toHaveLength(1);
      expect(show(fdtab.state[a])).toBe("R:PRA W:pra");
      expect(fdtab.cacheNum).toBe(1);

      fdDelete(a);
      expect(fdtab.cacheNum).toBe(0);
      const [x] = pairWithFd(a);
      const neu = recorder();
      fdInsert(x, "new", neu.cb);
      fdWantRecv(x);
      runOneTurn(20);
      runOneTurn(20);
      expect(neu.calls).toHaveLength(0);
      expect(old.calls).toHaveLength(1);
    });

    it("fd_delete() of a polled fd: the poller forgets it (an idle turn still sleeps; a reuse of the number that wants nothing gets nothing)", () => {
      const [a, b] = pair();
      const old = recorder();
      fdInsert(a, "old", old.cb);
      fdWantRecv(a);
      runOneTurn(0);
      sendStr(b, "pending");
      // polled for reading, with data pending, when it is deleted
      expect(show(fdtab.state[a])).toBe("R:PrA W:pra");
      fdDelete(a);
      // poll/select must drop the closed fd from their sets (clo), or the wait fails at once
      // (POLLNVAL / EBADF) on every turn.
      updateDate();
      const t0 = performance.now();
      expect(runOneTurn(100)).toBe(true);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(80);

      const [x, y] = pairWithFd(a);
      sendStr(y, "new data"); // readable, but its new owner does not want to read
      const neu = recorder();
      fdInsert(x, "new", neu.cb);
      const from = polls.length;
      runOneTurn(20);
      runOneTurn(20);
      expect(reportedFor(x, from)).toEqual([]);
      expect(fdtab.state[x]).toBe(0);
      expect(fdtab.ev[x]).toBe(0);
      expect(neu.calls).toHaveLength(0);
    });

    it("fd_remove() of a polled fd (left open): its events never reach fdtab", () => {
      const [a, b] = pair();
      const old = recorder();
      fdInsert(a, "old", old.cb);
      fdWantRecv(a);
      runOneTurn(0);
      sendStr(b, "pending");
      fdRemove(a);
      expect(open.has(a)).toBe(true); // not closed
      runOneTurn(0);
      runOneTurn(0);
      expect(fdtab.state[a]).toBe(0);
      expect(fdtab.ev[a]).toBe(0);
      expect(old.calls).toHaveLength(0);
    });

    it("fd_remove() of a polled fd (left open): the poller stops watching it (an idle turn sleeps, a re-insert is not reported)", () => {
      const [a, b] = pair();
      fdInsert(a, "old", recorder().cb);
      fdWantRecv(a);
      runOneTurn(0);
      sendStr(b, "pending");
      fdRemove(a);
      updateDate();
      const t0 = performance.now();
      expect(runOneTurn(100)).toBe(true);
      const dt = performance.now() - t0;
      // HAProxy 1.8's epoll leaves a removed fd registered (ev_epoll.c __fd_clo() only DELs cloned
      // fds), so a readable removed fd ends every epoll_wait() at once; hapoll's clo(fd, false)
      // deletes it (commit 54c9d7e). Without that, this turn takes 0 ms and reports the fd.
      expect(reportedFor(a)).toEqual([]);
      expect(dt).toBeGreaterThanOrEqual(80);

      // The same open fd given back to fdtab, by an owner that does not want to read (yet):
      // fdtab says "not polled", so the poller must not report it either.
      const neu = recorder();
      fdInsert(a, "new", neu.cb);
      const from = polls.length;
      runOneTurn(0);
      runOneTurn(0);
      expect(reportedFor(a, from)).toEqual([]);
      expect(show(fdtab.state[a])).toBe("R:pra W:pra");
      expect(fdtab.ev[a]).toBe(0);
      expect(neu.calls).toHaveLength(0);
    });

    it("a deleted fd's queued update is applied to the fd's next user with its own state (one list entry)", () => {
      const [a] = pair();
      const old = recorder();
      fdInsert(a, "old", old.cb);
      fdWantRecv(a); // update queued, not applied yet
      expect(fdtab.nbUpdt).toBe(1);
      fdDelete(a);

      const [x, y] = pairWithFd(a);
      const neu = recorder((fd) => fdStopSend(fd));
      fdInsert(x, "new", neu.cb);
      fdWantSend(x); // the new user only wants to write
      expect(fdtab.nbUpdt).toBe(1);
      sendStr(y, "readable"); // x is readable too, but nobody asked to read it
      const from = polls.length;
      runOneTurn(0);
      expect(polls[from].changes).toEqual([[x, 0, DIR_W]]);
      for (const e of reportedFor(x, from)) expect(e & IN).toBe(0);
      expect(neu.calls).toHaveLength(1);
      expect(neu.calls[0].ev).toBe(OUT);
      expect(old.calls).toHaveLength(0);
    });
  });

  /* ------------------------------------------------------------------ timeouts */
  describe("timeouts", () => {
    it("waits about 100 ms for an expiry 100 ms ahead (remaining + " + slack + " ms)", () => {
      updateDate();
      const exp = tickAdd(clock.nowMs, 100);
      const t0 = performance.now();
      registry.cur!.poll(exp);
      const dt = performance.now() - t0;
      expect(pollStats.waitMs).toBe(100 + slack);
      expect(dt).toBeGreaterThanOrEqual(80);
      expect(dt).toBeLessThan(1000);
      // the poller refreshed the clock after the wait
      expect(((clock.nowMs - exp) | 0)).toBeGreaterThanOrEqual(-5);
    });

    it("returns at once for an expired expiry", () => {
      updateDate();
      for (const exp of [tickAdd(clock.nowMs, -50), clock.nowMs]) {
        const t0 = performance.now();
        registry.cur!.poll(exp);
        expect(performance.now() - t0).toBeLessThan(1000); // waitMs below says no sleep; wall time only bounds it
        expect(pollStats.waitMs).toBe(0);
      }
    });

    it("caps an eternal wait (TICK_ETERNITY) at MAX_DELAY_MS = 1000", () => {
      const t0 = performance.now();
      registry.cur!.poll(TICK_ETERNITY);
      const dt = performance.now() - t0;
      expect(pollStats.waitMs).toBe(MAX_DELAY_MS);
      expect(dt).toBeGreaterThanOrEqual(900);
      expect(dt).toBeLessThan(2000);
    });

    it("runOneTurn(cap) sleeps about <cap> when idle, and runOneTurn(0) does not sleep", () => {
      let t0 = performance.now();
      expect(runOneTurn(100)).toBe(true);
      let dt = performance.now() - t0;
      expect(dt).toBeGreaterThanOrEqual(80);
      expect(dt).toBeLessThan(500);
      t0 = performance.now();
      expect(runOneTurn(0)).toBe(true);
      dt = performance.now() - t0;
      expect(dt).toBeLessThan(1000); // waitMs below says no sleep; wall time only bounds it
      expect(pollStats.waitMs).toBe(0);
    });

    it("a signal ends the wait; its handler runs at the start of the NEXT turn, after the tasks and before the poll", async () => {
      signalInit();
      const order: string[] = [];
      const sigs: number[] = [];
      signalRegisterFct(SIGUSR2, (sig) => { sigs.push(sig); order.push("signal"); });
      // A wake-up byte left in the self-pipe by an earlier signal would end the first wait at once:
      // let one non-sleeping turn drain it.
      runOneTurn(0);
      let exited: Promise<void> | null = null;
      try {
        const child = spawn("sh", ["-c", `sleep 0.2; kill -USR2 ${process.pid}`], { stdio: "ignore" });
        exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
        const t0 = performance.now();
        expect(runOneTurn(5000)).toBe(true); // would sleep MAX_DELAY_MS = 1000 without the signal
        const dt = performance.now() - t0;
        expect(dt).toBeGreaterThanOrEqual(100);
        expect(dt).toBeLessThan(800);
        expect(pollStats.lastResult).toBe(0); // no fd event: the signal ended the wait
        expect(sigs).toEqual([]); // not handled within the interrupted turn
        expect(signalQueued()).toBe(true);

        // HAProxy's run_poll_loop(): process_runnable_tasks(), signal_process_queue(), ..., poll.
        const t = taskNew((tt) => { order.push("task"); return tt; });
        taskWakeup(t, TASK_WOKEN_MSG);
        pollHooks.onPoll = () => { order.push("poll"); };
        const t1 = performance.now();
        expect(runOneTurn(0)).toBe(true);
        expect(performance.now() - t1).toBeLessThan(1000); // a zero-timeout turn; wall time only bounds it
        expect(sigs).toEqual([SIGUSR2]);
        expect(order).toEqual(["task", "signal", "poll"]);
        expect(signalQueued()).toBe(false);

        // handled once
        runOneTurn(0);
        expect(sigs).toEqual([SIGUSR2]);
      } finally {
        // Never restore the default action (terminate) before the child's signal has arrived.
        if (exited) await exited;
        native.signalTake(new Int32Array(65));
        signalUnregister(SIGUSR2);
      }
    });
  });

  /* ------------------------------------------------------------------ the loop */
  describe("run_poll_loop turn", () => {
    it("returns false without polling when jobs == 0 (tasks still run first)", () => {
      const ran: string[] = [];
      const t = taskNew((tt) => { ran.push("task"); return tt; });
      taskWakeup(t, TASK_WOKEN_MSG);
      counters.jobs = 0;
      expect(runOneTurn(0)).toBe(false);
      expect(ran).toEqual(["task"]);
      expect(polls).toHaveLength(0);
      counters.jobs = 1;
      expect(runOneTurn(0)).toBe(true);
      expect(polls).toHaveLength(1);
    });

    it("runs woken tasks before the poll, then sleeps until the cap", () => {
      const order: string[] = [];
      pollHooks.onPoll = (_c, _n, wait) => { order.push(`poll(${wait})`); };
      const t = taskNew((tt) => { order.push("task"); return tt; });
      taskWakeup(t, TASK_WOKEN_MSG);
      updateDate();
      expect(runOneTurn(20)).toBe(true);
      expect(order).toEqual(["task", `poll(${20 + slack})`]);
    });

    it("does not sleep when wake_expired_tasks() made a task runnable (run queue not empty at poll time)", () => {
      const order: string[] = [];
      pollHooks.onPoll = (_c, _n, wait) => { order.push(`poll(${wait})`); };
      updateDate();
      const t = taskNew((tt) => { order.push("task"); tt.expire = TICK_ETERNITY; return tt; });
      t.expire = tickAdd(clock.nowMs, -1);
      taskQueue(t);
      const t0 = performance.now();
      expect(runOneTurn(5000)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(2500); // no 5 s sleep (a loaded machine can stall 200 ms)
      // HAProxy's order: tasks ran (none runnable yet), then the timer woke t, so no sleep.
      expect(order).toEqual(["poll(0)"]);
      expect(runOneTurn(20)).toBe(true);
      expect(order[1]).toBe("task");
    });

    it("runs at most 200 tasks per turn; a task still runnable means the poll does not sleep", () => {
      // HAProxy 1.8 single-threaded process_runnable_tasks(): a task woken while running goes back
      // into the run queue and is found again by the same walk, until max_processed (200) runs.
      let calls = 0;
      const waits: number[] = [];
      pollHooks.onPoll = (_c, _n, wait) => { waits.push(wait); };
      const t = taskNew((tt) => { calls++; taskWakeup(tt, TASK_WOKEN_MSG); return tt; });
      taskWakeup(t, TASK_WOKEN_MSG);
      const t0 = performance.now();
      expect(runOneTurn(5000)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(2500); // no 5 s sleep (a loaded machine can stall 200 ms)
      expect(calls).toBe(200);
      expect(waits).toEqual([0]);
      expect(runOneTurn(5000)).toBe(true);
      expect(calls).toBe(400);
      expect(waits).toEqual([0, 0]);
      taskDelete(t);
    });

    it("a task expiring 50 ms ahead wakes after about 50 ms with TASK_WOKEN_TIMER, in a few turns", () => {
      updateDate();
      let wokenAt = -1;
      let state = 0;
      const t0 = performance.now();
      const t: Task = taskNew((tt) => {
        wokenAt = performance.now();
        state = tt.state;
        tt.expire = TICK_ETERNITY;
        counters.jobs = 0; // the loop ends at this turn's jobs check instead of sleeping 1 s
        return tt;
      });
      t.expire = tickAdd(clock.nowMs, 50);
      taskQueue(t);
      let turns = 0;
      while (turns < 50 && runOneTurn()) turns++;
      const total = performance.now() - t0;
      expect(wokenAt).toBeGreaterThan(0);
      expect(state & TASK_WOKEN_TIMER).toBe(TASK_WOKEN_TIMER);
      const dt = wokenAt - t0;
      expect(dt).toBeGreaterThanOrEqual(45);
      expect(dt).toBeLessThan(500);
      expect(total).toBeLessThan(500);
      // sleep until the expiry (turn 1), wake it (turn 2), run it (turn 3, which returns false):
      // no busy loop
      expect(turns).toBeGreaterThanOrEqual(1);
      expect(turns).toBeLessThanOrEqual(4);
      taskFree(t);
    });

    it("the earlier of the task expiry and the cap bounds the sleep", () => {
      updateDate();
      const t = taskNew((tt) => tt);
      t.expire = tickAdd(clock.nowMs, 30);
      taskQueue(t);
      let t0 = performance.now();
      runOneTurn(500);
      let dt = performance.now() - t0;
      expect(dt).toBeGreaterThanOrEqual(25);
      expect(dt).toBeLessThan(300);
      t.expire = tickAdd(clock.nowMs, 2000);
      taskQueue(t);
      t0 = performance.now();
      runOneTurn(60);
      dt = performance.now() - t0;
      expect(dt).toBeGreaterThanOrEqual(50);
      expect(dt).toBeLessThan(500);
    });
  });
});

/* ====================================================================== the registry */

/** HAProxy's list_pollers() (src/fd.c), written out here as the oracle. */
function haproxyListPollers(ps: { name: string; pref: number; ok: boolean }[]): string {
  let out = "Available polling systems :\n";
  let usable = 0;
  let bp: (typeof ps)[number] | null = null;
  let last = -1, next = -1;
  for (;;) {
    for (const p of ps) {
      if ((next < 0 || p.pref > next) && (last < 0 || p.pref < last)) {
        next = p.pref;
        if (!bp || p.pref > bp.pref) bp = p;
      }
    }
    if (next === -1) break;
    for (const p of ps) {
      if (p.pref !== next) continue;
      out += " " + p.name.padStart(10) + " : " + (p.pref === 0 ? "disabled, " : "pref=" + String(p.pref).padStart(3) + ", ");
      if (p.ok) {
        out += " test result OK";
        if (next > 0) usable++;
      } else {
        out += " test result FAILED";
        if (bp === p) bp = null;
      }
      out += "\n";
    }
    last = next;
    next = -1;
  }
  return out + `Total: ${ps.length} (${usable} usable), will use ${bp ? bp.name : "none"}.\n`;
}

describe("poller registry: list_pollers / disable_poller / init_pollers", () => {
  const HAP_PREFS: Record<string, number> = { epoll: 300, kqueue: 300, poll: 200, select: 150 };

  beforeEach(() => {
    registerPollers();
    global.maxsock = MAXSOCK;
  });
  afterEach(() => {
    deinitPollers();
    for (const p of registry.pollers) p.pref = POLLER_PREFS[p.name];
    global.maxsock = MAXSOCK;
    fdOps.clo = () => {};
    fdOps.close = () => {};
    fdOps.nolinger = () => {};
    initFdtab(MAXSOCK);
  });

  it("registers every compiled backend in order with HAProxy's preferences", () => {
    expect(registry.pollers.map((p) => p.name)).toEqual(NAMES);
    for (const p of registry.pollers) expect(p.pref).toBe(HAP_PREFS[p.name]);
  });

  it("lists pollers in HAProxy's format", () => {
    const text = listPollers();
    const expected = haproxyListPollers(NAMES.map((n) => ({ name: n, pref: HAP_PREFS[n], ok: true })));
    expect(text).toBe(expected);
    if (NAMES.includes("epoll")) expect(text).toContain("\n      epoll : pref=300,  test result OK\n");
    if (NAMES.includes("poll")) expect(text).toContain("\n       poll : pref=200,  test result OK\n");
    expect(text).toContain("\n     select : pref=150,  test result OK\n");
    expect(text).toMatch(new RegExp(`\\nTotal: ${NAMES.length} \\(${NAMES.length} usable\\), will use ${NAMES[0]}\\.\\n$`));
  });

  it.each(NAMES)("disablePoller(%s) shows it as disabled (still tested), one usable less", (name) => {
    expect(disablePoller(name)).toBe(true);
    const text = listPollers();
    expect(text).toContain(`\n ${name.padStart(10)} : disabled,  test result OK\n`);
    expect(text).toContain(`Total: ${NAMES.length} (${NAMES.length - 1} usable)`);
    const prefs = NAMES.map((n) => ({ name: n, pref: n === name ? 0 : HAP_PREFS[n], ok: true }));
    expect(text).toBe(haproxyListPollers(prefs));
  });

  it("disablePoller() of an unknown name returns false", () => {
    expect(disablePoller("devpoll")).toBe(false);
  });

  it("select's test FAILS when maxsock > FD_SETSIZE", () => {
    global.maxsock = C.FD_SETSIZE + 1;
    const text = listPollers();
    expect(text).toContain("\n     select : pref=150,  test result FAILED\n");
    const prefs = NAMES.map((n) => ({ name: n, pref: HAP_PREFS[n], ok: n !== "select" }));
    expect(text).toBe(haproxyListPollers(prefs));
    expect(text).toContain(`(${NAMES.length - 1} usable), will use ${NAMES[0]}.`);
    global.maxsock = C.FD_SETSIZE;
    expect(listPollers()).toContain("\n     select : pref=150,  test result OK\n");
  });

  it("initPollers() picks the highest preference (first registered on a tie) and sizes fdtab", () => {
    const p = initPollers();
    expect(p).not.toBeNull();
    expect(p!.name).toBe(NAMES[0]);
    expect(registry.cur).toBe(p);
    expect(fdtab.maxsock).toBe(MAXSOCK);
  });

  it("initPollers() with epoll and poll disabled picks select, which works", () => {
    disablePoller("epoll");
    disablePoller("kqueue");
    disablePoller("poll");
    const p = initPollers();
    expect(p).not.toBeNull();
    expect(p!.name).toBe("select");
    // the wiring works: a socketpair becomes readable through the chosen poller
    const sv = new Int32Array(2);
    expect(native.socketpair(C.SOCK_STREAM, sv)).toBe(0);
    const calls: number[] = [];
    fdInsert(sv[0], "x", (fd) => { calls.push(fdtab.ev[fd]); fdStopRecv(fd); });
    fdWantRecv(sv[0]);
    native.send(sv[1], Buffer.from("z"), 0, 1, 0);
    counters.jobs = 1;
    updateDate();
    for (let i = 0; i < 5 && calls.length === 0; i++) runOneTurn(20);
    counters.jobs = 0;
    expect(calls).toEqual([IN]);
    fdDelete(sv[0]);
    native.close(sv[1]);
  });

  it("initPollers() with epoll and poll disabled and maxsock > FD_SETSIZE finds nothing (select's init fails, pref 0)", () => {
    disablePoller("epoll");
    disablePoller("kqueue");
    disablePoller("poll");
    global.maxsock = C.FD_SETSIZE + 1;
    expect(initPollers()).toBeNull();
    expect(registry.pollers.find((p) => p.name === "select")!.pref).toBe(0);
  });
});
