/**
 * The poller registry and the pollers' common loop. HAProxy 1.8: struct poller (include/types/fd.h),
 * init_pollers(), list_pollers(), disable_poller() (src/fd.c) and _do_poll() of src/ev_*.c.
 *
 * The TypeScript side of every poller is the same: scan the update list, compute each fd's new
 * POLLED bits (fd_compute_new_polled_status), pass the changes to the native backend together with
 * the wait timeout in ONE call, then turn the (fd, events) pairs it returns into READY bits with
 * fdUpdateEvents(). The native backend (native/ev_*.cc) only applies changes and waits, so the
 * kernel API's quirks (EPOLL*, POLL*, fd_set, EVFILT_*) never reach TypeScript.
 */
import { C, native, POLL_DIR_R, POLL_DIR_W, FD_POLL_RDHUP_SEEN, type NativePoller } from "../native";
import { performance } from "node:perf_hooks";
import { clock, measureIdle, updateDateAt } from "./clock";
import {
  fdtab, fdOps, fdComputeNewPolledStatus, fdUpdateEvents, initFdtab,
  FD_EV_POLLED_R, FD_EV_POLLED_W, FD_EV_POLLED_RW, FD_F_NEW, FD_F_UPDATED, FD_F_CLONED,
} from "./fd";
import { global, haproxyMaxsock, MAX_DELAY_MS, SCHEDULER_RESOLUTION } from "./global";
import { tickIsExpired, tickRemain } from "./ticks";

/** HAProxy: HAP_POLL_F_RDHUP: the poller reports the peer's shutdown as HUP. */
export const HAP_POLL_F_RDHUP = 0x01;

/**
 * performance.now() minus process.hrtime() in ms (both read libuv's uv_hrtime() clock, the one the
 * native poll writes): the tightest bracket of a few readings, so that the poll's times land on the
 * loop's clock within a microsecond or so (updateDateAt() keeps the clock from stepping back).
 */
function hrtimeOffset(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const a = performance.now();
    const h = Number(process.hrtime.bigint()) / 1e6;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = (a + b) / 2 - h;
    }
  }
  return offset;
}

/** HAProxy's preference of each backend. */
export const POLLER_PREFS: Record<string, number> = { epoll: 300, kqueue: 300, poll: 200, select: 150 };

/** HAProxy: struct poller. */
export interface Poller {
  readonly name: string;
  /** 0 = disabled. */
  pref: number;
  /** HAP_POLL_F_*. */
  flags: number;
  /** Can this poller work with HAProxy's maxsock (haproxyMaxsock())? HAProxy: p->test. */
  test(): boolean;
  /** HAProxy: p->init. False on failure (the registry then tries the next one). */
  init(): boolean;
  /** HAProxy: p->term. */
  term(): void;
  /** HAProxy: p->fork. */
  fork(): boolean;
  /** HAProxy: p->poll. Apply the update list, wait until about <exp> (a tick), record events. */
  poll(exp: number): void;
  /** HAProxy: p->clo. <closing> is false when the fd stays open (fd_remove). */
  clo(fd: number, closing?: boolean): void;
}

/** Turn the POLLED bits of a state byte into the native POLL_DIR_* mask. */
function polledMask(state: number): number {
  return ((state & FD_EV_POLLED_R) ? POLL_DIR_R : 0) | ((state & FD_EV_POLLED_W) ? POLL_DIR_W : 0);
}

/** Last poll's figures, for traces and `hapoll top`. */
export const pollStats = {
  changes: 0,
  events: 0,
  waitMs: 0,
  lastResult: 0,
  /** Since start: poll calls, events reported, polling changes applied (for `hapoll top`). */
  totalPolls: 0,
  totalEvents: 0,
  totalChanges: 0,
};

/** Hook for traces: called after each wait with (changes array, nchanges, waitMs, out, n). */
export const pollHooks: {
  onPoll: ((ch: Int32Array, nch: number, waitMs: number, out: Int32Array, n: number) => void) | null;
} = { onPoll: null };

/** A poller whose wait runs in the native backend of the same name. HAProxy: src/ev_<name>.c. */
export class NativeBackedPoller implements Poller {
  pref: number;
  flags = 0;
  private np: NativePoller | null = null;
  private changes = new Int32Array(0);
  private out = new Int32Array(0);
  /** The clock before and after each wait, written by the native poll (its 6th argument). */
  private readonly times = new Float64Array(2);
  /**
   * The ArrayBuffers under changes, out and times: what poll() is given, because the addon reads an
   * ArrayBuffer's data pointer in one load where a typed array costs V8 a GetBuffer() per call.
   */
  private changesAb: ArrayBuffer = this.changes.buffer as ArrayBuffer;
  private outAb: ArrayBuffer = this.out.buffer as ArrayBuffer;
  private readonly timesAb: ArrayBuffer = this.times.buffer as ArrayBuffer;
  /** performance.now() minus process.hrtime() in ms: maps the times onto the loop's clock. */
  private hrOffset = 0;
  /** select adds SCHEDULER_RESOLUTION to its timeout, the others 1 ms (HAProxy does the same). */
  private readonly slack: number;
  /** poll/select keep bitmaps that must forget a closed fd; epoll/kqueue only for cloned fds. */
  private readonly bitmapBackend: boolean;
  /** libkqueue (the Linux test build of kqueue) does not see close(): told by clo() like a bitmap backend. */
  private readonly blindToClose: boolean;

  constructor(readonly name: string) {
    this.pref = POLLER_PREFS[name] ?? 100;
    this.slack = name === "select" ? SCHEDULER_RESOLUTION : 1;
    this.bitmapBackend = name === "poll" || name === "select";
    this.blindToClose = name === "kqueue" && C.KQUEUE_IS_LIBKQUEUE === 1;
    if (name === "kqueue") this.flags |= HAP_POLL_F_RDHUP;
  }

  test(): boolean {
    return native.pollerTest(this.name, haproxyMaxsock()) === 0;
  }

  init(): boolean {
    // HAProxy 1.8's _do_init() of select fails when global.maxsock > FD_SETSIZE: the same figure
    // as its test, so a config that HAProxy runs with select runs here too.
    if (!this.test()) {
      this.pref = 0;
      return false;
    }
    // select() cannot describe an fd at or above FD_SETSIZE: the fd bound stops there, out of the
    // part kept for Node's fds, so that such an fd takes the "maximum connection limit" path of
    // the accept/connect code instead of reaching select().
    if (this.name === "select" && global.maxsock > C.FD_SETSIZE) {
      global.runtimeFds -= global.maxsock - C.FD_SETSIZE;
      global.maxsock = C.FD_SETSIZE;
      initFdtab(global.maxsock);
    }
    const size = global.maxsock;
    const np = new native.NativePoller(this.name, size);
    if (np.init() < 0) {
      this.pref = 0;
      return false;
    }
    this.np = np;
    // One change triple per fd at most: the update list holds each fd once (see fd.ts).
    this.changes = new Int32Array(3 * size);
    // epoll/kqueue return at most maxpollevents per wait (HAProxy's tune.maxpollevents); poll and
    // select have scanned every fd anyway and report them all, as HAProxy's do.
    this.out = new Int32Array(2 * Math.max(1, this.bitmapBackend ? size : global.maxpollevents));
    this.changesAb = this.changes.buffer as ArrayBuffer;
    this.outAb = this.out.buffer as ArrayBuffer;
    this.hrOffset = hrtimeOffset();
    return true;
  }

  term(): void {
    if (this.np) this.np.term();
    this.np = null;
  }

  fork(): boolean {
    return this.np !== null && this.np.fork() === 0;
  }

  clo(fd: number, closing = true): void {
    if (this.np === null) return;
    const s = fdtab.state[fd];
    // poll/select keep bitmaps that must forget the fd. The kernel drops a closed fd from an epoll
    // or kqueue set by itself, unless it was duplicated (cloned) or is not being closed at all
    // (fd_remove: HAProxy 1.8 leaves it registered there, so a readable removed fd would wake
    // every epoll_wait; hapoll deletes it).
    const need = this.bitmapBackend || this.blindToClose
      ? (s & FD_EV_POLLED_RW) !== 0
      : (s & FD_EV_POLLED_RW) !== 0 && (!closing || (fdtab.flags[fd] & FD_F_CLONED) !== 0);
    if (need) this.np.clo(fd);
  }

  poll(exp: number): void {
    const t = fdtab;
    const ch = this.changes;
    let nch = 0;
    for (let i = 0; i < t.nbUpdt; i++) {
      const fd = t.updt[i];
      t.flags[fd] &= ~(FD_F_UPDATED | FD_F_NEW);
      if (t.owner[fd] === null) continue;
      const eo = t.state[fd];
      const en = fdComputeNewPolledStatus(eo);
      t.state[fd] = en;
      if ((eo ^ en) & FD_EV_POLLED_RW) {
        ch[3 * nch] = fd;
        ch[3 * nch + 1] = polledMask(eo);
        ch[3 * nch + 2] = polledMask(en);
        nch++;
      }
    }
    t.nbUpdt = 0;

    let wait: number;
    if (exp === 0) wait = MAX_DELAY_MS;
    else if (tickIsExpired(exp, clock.nowMs)) wait = 0;
    else {
      wait = tickRemain(clock.nowMs, exp) + this.slack;
      if (wait > MAX_DELAY_MS) wait = MAX_DELAY_MS;
    }

    const out = this.out;
    const times = this.times;
    const n = this.np!.poll(this.changesAb, nch, t.maxfd, wait, this.outAb, this.timesAb);
    updateDateAt(times[1] + this.hrOffset);
    measureIdle(times[0] + this.hrOffset);
    pollStats.changes = nch;
    pollStats.waitMs = wait;
    pollStats.lastResult = n;
    pollStats.events = n > 0 ? n : 0;
    pollStats.totalPolls++;
    pollStats.totalEvents += pollStats.events;
    pollStats.totalChanges += nch;
    if (pollHooks.onPoll !== null) pollHooks.onPoll(ch, nch, wait, out, n);
    for (let i = 0; i < n; i++) {
      const fd = out[2 * i];
      if (t.owner[fd] === null) continue;
      const e = out[2 * i + 1];
      if (e & FD_POLL_RDHUP_SEEN) this.flags |= HAP_POLL_F_RDHUP;
      fdUpdateEvents(fd, e & 0x1f);
    }
  }
}

/** HAProxy: pollers[] (registration order) and cur_poller. */
export const registry = {
  pollers: [] as Poller[],
  cur: null as Poller | null,
};

/** HAProxy: the constructors of src/ev_*.c: register every backend compiled into the addon. */
export function registerPollers(): void {
  if (registry.pollers.length) return;
  for (const name of native.pollerNames()) registry.pollers.push(new NativeBackedPoller(name));
}

/** HAProxy: disable_poller(): pref = 0. Returns false when no poller has that name. */
export function disablePoller(name: string): boolean {
  registerPollers();
  const p = registry.pollers.find((x) => x.name === name);
  if (!p) return false;
  p.pref = 0;
  return true;
}

/** Wire fd.ts's deletion hooks to the chosen poller and the native close. */
function wireFdOps(p: Poller): void {
  fdOps.clo = (fd, closing) => p.clo(fd, closing);
  fdOps.close = (fd) => { native.close(fd); };
  fdOps.nolinger = (fd) => { native.setLinger(fd, 1, 0); };
}

/**
 * HAProxy: init_pollers(). Size fdtab for global.maxsock, then try the pollers by decreasing
 * preference (the first registered wins a tie); a poller whose init fails gets pref 0 and the next
 * one is tried. Returns the chosen poller, or null ("No polling mechanism available.").
 */
export function initPollers(): Poller | null {
  registerPollers();
  initFdtab(global.maxsock);
  for (;;) {
    let bp: Poller | null = null;
    for (const p of registry.pollers) if (!bp || p.pref > bp.pref) bp = p;
    if (!bp || bp.pref === 0) return null;
    if (bp.init()) {
      registry.cur = bp;
      wireFdOps(bp);
      return bp;
    }
    bp.pref = 0;
  }
}

/** HAProxy: deinit_pollers(). */
export function deinitPollers(): void {
  for (const p of registry.pollers) p.term();
  registry.cur = null;
}

/**
 * HAProxy: list_pollers(): "Available polling systems :", one line per poller by decreasing
 * preference, then "Total: N (M usable), will use X.".
 */
export function listPollers(): string {
  registerPollers();
  const ps = registry.pollers;
  const lines = ["Available polling systems :"];
  let usable = 0;
  let bp: Poller | null = null;
  for (const p of ps) if (!bp || p.pref > bp.pref) bp = p;
  const prefs = [...new Set(ps.map((p) => p.pref))].sort((a, b) => b - a);
  for (const pref of prefs) {
    for (const p of ps) {
      if (p.pref !== pref) continue;
      let line = ` ${p.name.padStart(10)} : ` + (p.pref === 0 ? "disabled, " : `pref=${String(p.pref).padStart(3)}, `);
      if (p.test()) {
        line += " test result OK";
        if (pref > 0) usable++;
      } else {
        line += " test result FAILED";
        if (bp === p) bp = null;
      }
      lines.push(line);
    }
  }
  lines.push(`Total: ${ps.length} (${usable} usable), will use ${bp && bp.pref > 0 ? bp.name : "none"}.`);
  return lines.join("\n") + "\n";
}
