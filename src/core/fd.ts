/**
 * fdtab, the fd cache and the update list. HAProxy 1.8: src/fd.c, include/proto/fd.h,
 * include/types/fd.h.
 *
 * Each fd has two 4-bit direction states (read in the low nibble, write in the high one), made of
 * three bits:
 *
 *   ACTIVE  the upper layer wants to do I/O in this direction   (fd_want_* sets, fd_stop_* clears)
 *   READY   the direction is believed ready: I/O may be tried   (fd_may_* sets, fd_cant_* clears)
 *   POLLED  the poller watches the direction                    (only the poller changes it)
 *
 * The states of one direction and what they need:
 *
 *   ACTIVE READY POLLED
 *     0      x     0     idle                      nothing
 *     0      x     1     stopped, still polled     update entry (the poller will stop polling)
 *     1      0     0     wants I/O, not ready      update entry (the poller will start polling)
 *     1      0     1     waiting for the poller    nothing
 *     1      1     x     ready: call the iocb      cache entry (speculative I/O, no syscall to poll)
 *
 * A setter changes a bit and, only if it changed, calls fdUpdateCache(), which appends the fd to the
 * update list when the poller must change something, and gives it a cache entry when a direction
 * is ACTIVE and READY. Pollers read the update list once per turn (computing POLLED), wait, and
 * turn kernel events into READY bits (fdUpdateEvents); they never call an iocb. The loop then
 * walks the cache (fdProcessCachedEvents) and calls each fd's iocb until it reports EAGAIN
 * (fd_cant_*) or stops wanting I/O (fd_stop_*).
 *
 * Storage is structure-of-arrays (typed arrays sized maxsock) so that nothing is allocated per
 * event.
 */
import { FD_POLL_ERR, FD_POLL_HUP, FD_POLL_IN, FD_POLL_OUT, FD_POLL_PRI } from "../native";

/** HAProxy: FD_EV_ACTIVE_R and friends (include/types/fd.h). */
export const FD_EV_ACTIVE = 1;
export const FD_EV_READY = 2;
export const FD_EV_POLLED = 4;
export const FD_EV_STATUS = FD_EV_ACTIVE | FD_EV_READY | FD_EV_POLLED;
export const FD_EV_ACTIVE_R = FD_EV_ACTIVE;
export const FD_EV_READY_R = FD_EV_READY;
export const FD_EV_POLLED_R = FD_EV_POLLED;
export const FD_EV_ACTIVE_W = FD_EV_ACTIVE << 4;
export const FD_EV_READY_W = FD_EV_READY << 4;
export const FD_EV_POLLED_W = FD_EV_POLLED << 4;
export const FD_EV_ACTIVE_RW = FD_EV_ACTIVE_R | FD_EV_ACTIVE_W;
export const FD_EV_READY_RW = FD_EV_READY_R | FD_EV_READY_W;
export const FD_EV_POLLED_RW = FD_EV_POLLED_R | FD_EV_POLLED_W;

/** HAProxy: FD_POLL_STICKY, the event bits (of src/native.ts's FD_POLL_*) that stay once seen. */
export const FD_POLL_STICKY = FD_POLL_ERR | FD_POLL_HUP;

/** fdtab flag bits (HAProxy has them as 1-bit fields: new, updated, linger_risk, cloned). */
export const FD_F_NEW = 0x01;
export const FD_F_UPDATED = 0x02;
export const FD_F_LINGER_RISK = 0x04;
export const FD_F_CLONED = 0x08;

/** An I/O callback: HAProxy's fdtab[fd].iocb. Called with the fd; the owner is in fdtab.owner[fd]. */
export type IoCb = (fd: number) => void;

/**
 * The fd table and its two lists. HAProxy: fdtab[], fd_cache[], fd_cache_num, fd_updt[],
 * fd_nbupdt, maxfd. One object with a stable shape, so that hot-path reads are plain field loads.
 */
export interface FdTab {
  /** Size of every array: HAProxy global.maxsock. */
  maxsock: number;
  /** Highest fd in use + 1. */
  maxfd: number;
  /** Per-fd direction states (FD_EV_*). */
  state: Uint8Array;
  /** Per-fd last events seen (FD_POLL_*; ERR and HUP stick). */
  ev: Uint8Array;
  /** Per-fd index+1 in cache[], 0 when not cached. */
  cacheIdx: Int32Array;
  /** Per-fd FD_F_* flags. */
  flags: Uint8Array;
  /** Per-fd owner (listener, connection, ...); null when the fd is free. */
  owner: unknown[];
  /** Per-fd iocb. */
  iocb: (IoCb | null)[];
  /** The fd cache: fds with a direction ACTIVE and READY. */
  cache: Int32Array;
  cacheNum: number;
  /** The update list: fds whose polling the poller must reconsider. */
  updt: Int32Array;
  nbUpdt: number;
}

/** The process's fd table (HAProxy: globals of src/fd.c). Sized by initFdtab(). */
export const fdtab: FdTab = {
  maxsock: 0,
  maxfd: 0,
  state: new Uint8Array(0),
  ev: new Uint8Array(0),
  cacheIdx: new Int32Array(0),
  flags: new Uint8Array(0),
  owner: [],
  iocb: [],
  cache: new Int32Array(0),
  cacheNum: 0,
  updt: new Int32Array(0),
  nbUpdt: 0,
};

/**
 * Hook called with (fd, what, stateBefore) after every state change; null when tracing is off,
 * so the hot path pays one null test. Set by the trace module.
 */
export const fdHooks: {
  onState: ((fd: number, what: number, before: number) => void) | null;
  /** fd_insert / fd_delete (<closed> false for fd_remove). */
  onInsert: ((fd: number) => void) | null;
  onDelete: ((fd: number, closed: boolean) => void) | null;
  /** An fd was appended to the update list. */
  onUpdt: ((fd: number) => void) | null;
  /** fd_process_cached_events is about to call <fd>'s iocb with <ev>. */
  onIocb: ((fd: number, ev: number) => void) | null;
} = {
  onState: null,
  onInsert: null,
  onDelete: null,
  onUpdt: null,
  onIocb: null,
};

/** Codes passed to fdHooks.onState, indexing FD_OP_NAMES. */
export const FD_OP_WANT_RECV = 0;
export const FD_OP_WANT_SEND = 1;
export const FD_OP_STOP_RECV = 2;
export const FD_OP_STOP_SEND = 3;
export const FD_OP_STOP_BOTH = 4;
export const FD_OP_CANT_RECV = 5;
export const FD_OP_CANT_SEND = 6;
export const FD_OP_MAY_RECV = 7;
export const FD_OP_MAY_SEND = 8;
export const FD_OP_DONE_RECV = 9;
/** HAProxy function names of the FD_OP_* codes. */
export const FD_OP_NAMES = [
  "fd_want_recv", "fd_want_send", "fd_stop_recv", "fd_stop_send", "fd_stop_both",
  "fd_cant_recv", "fd_cant_send", "fd_may_recv", "fd_may_send", "fd_done_recv",
];

/** HAProxy: the allocations of init_pollers(). Sizes every array for <maxsock> fds and empties them. */
export function initFdtab(maxsock: number): void {
  if (!Number.isInteger(maxsock) || maxsock < 1) throw new TypeError(`initFdtab: bad maxsock ${maxsock}`);
  fdtab.maxsock = maxsock;
  fdtab.maxfd = 0;
  fdtab.state = new Uint8Array(maxsock);
  fdtab.ev = new Uint8Array(maxsock);
  fdtab.cacheIdx = new Int32Array(maxsock);
  fdtab.flags = new Uint8Array(maxsock);
  fdtab.owner = new Array(maxsock).fill(null);
  fdtab.iocb = new Array(maxsock).fill(null);
  fdtab.cache = new Int32Array(maxsock);
  fdtab.cacheNum = 0;
  fdtab.updt = new Int32Array(maxsock);
  fdtab.nbUpdt = 0;
}

/** HAProxy: updt_fd_polling(). Append <fd> to the update list unless it is already there. */
export function updtFdPolling(fd: number): void {
  if (fdtab.flags[fd] & FD_F_UPDATED) return;
  fdtab.flags[fd] |= FD_F_UPDATED;
  fdtab.updt[fdtab.nbUpdt++] = fd;
  if (fdHooks.onUpdt !== null) fdHooks.onUpdt(fd);
}

/** HAProxy: fd_alloc_cache_entry(). */
export function fdAllocCacheEntry(fd: number): void {
  if (fdtab.cacheIdx[fd] !== 0) return;
  const n = fdtab.cacheNum++;
  fdtab.cache[n] = fd;
  fdtab.cacheIdx[fd] = n + 1;
}

/** HAProxy: fd_release_cache_entry(): the last entry moves into the hole. */
export function fdReleaseCacheEntry(fd: number): void {
  const pos = fdtab.cacheIdx[fd];
  if (pos === 0) return;
  fdtab.cacheIdx[fd] = 0;
  const last = --fdtab.cacheNum;
  if (pos <= last) {
    const moved = fdtab.cache[last];
    fdtab.cache[pos - 1] = moved;
    fdtab.cacheIdx[moved] = pos;
  }
}

/** HAProxy: fd_compute_new_polled_status(). What the poller should watch for <state>. */
export function fdComputeNewPolledStatus(state: number): number {
  if (state & FD_EV_ACTIVE_R) {
    if (!(state & FD_EV_READY_R)) state |= FD_EV_POLLED_R;
  } else {
    state &= ~FD_EV_POLLED_R;
  }
  if (state & FD_EV_ACTIVE_W) {
    if (!(state & FD_EV_READY_W)) state |= FD_EV_POLLED_W;
  } else {
    state &= ~FD_EV_POLLED_W;
  }
  return state;
}

/**
 * HAProxy: fd_update_cache(). Called after a state bit changed: queue a polling update when a
 * direction is polled but stopped, or wanted but neither ready nor polled; keep a cache entry
 * exactly while a direction is ACTIVE and READY.
 */
export function fdUpdateCache(fd: number): void {
  const s = fdtab.state[fd];
  if ((s & (FD_EV_POLLED_R | FD_EV_ACTIVE_R)) === FD_EV_POLLED_R ||
      (s & (FD_EV_POLLED_R | FD_EV_READY_R | FD_EV_ACTIVE_R)) === FD_EV_ACTIVE_R ||
      (s & (FD_EV_POLLED_W | FD_EV_ACTIVE_W)) === FD_EV_POLLED_W ||
      (s & (FD_EV_POLLED_W | FD_EV_READY_W | FD_EV_ACTIVE_W)) === FD_EV_ACTIVE_W) {
    updtFdPolling(fd);
  }
  if ((s & (FD_EV_READY_R | FD_EV_ACTIVE_R)) === (FD_EV_READY_R | FD_EV_ACTIVE_R) ||
      (s & (FD_EV_READY_W | FD_EV_ACTIVE_W)) === (FD_EV_READY_W | FD_EV_ACTIVE_W)) {
    fdAllocCacheEntry(fd);
  } else {
    fdReleaseCacheEntry(fd);
  }
}

/* The setters. Each changes one bit and calls fdUpdateCache() only when the bit changed. */

function setBits(fd: number, bits: number, op: number): void {
  const before = fdtab.state[fd];
  fdtab.state[fd] = before | bits;
  fdUpdateCache(fd);
  if (fdHooks.onState !== null) fdHooks.onState(fd, op, before);
}

function clearBits(fd: number, bits: number, op: number): void {
  const before = fdtab.state[fd];
  fdtab.state[fd] = before & ~bits;
  fdUpdateCache(fd);
  if (fdHooks.onState !== null) fdHooks.onState(fd, op, before);
}

/** HAProxy: fd_want_recv(): the upper layer wants to read. */
export function fdWantRecv(fd: number): void {
  if (!(fdtab.state[fd] & FD_EV_ACTIVE_R)) setBits(fd, FD_EV_ACTIVE_R, FD_OP_WANT_RECV);
}

/** HAProxy: fd_want_send(): the upper layer wants to write. */
export function fdWantSend(fd: number): void {
  if (!(fdtab.state[fd] & FD_EV_ACTIVE_W)) setBits(fd, FD_EV_ACTIVE_W, FD_OP_WANT_SEND);
}

/** HAProxy: fd_stop_recv(). */
export function fdStopRecv(fd: number): void {
  if (fdtab.state[fd] & FD_EV_ACTIVE_R) clearBits(fd, FD_EV_ACTIVE_R, FD_OP_STOP_RECV);
}

/** HAProxy: fd_stop_send(). */
export function fdStopSend(fd: number): void {
  if (fdtab.state[fd] & FD_EV_ACTIVE_W) clearBits(fd, FD_EV_ACTIVE_W, FD_OP_STOP_SEND);
}

/** HAProxy: fd_stop_both(). */
export function fdStopBoth(fd: number): void {
  if (fdtab.state[fd] & FD_EV_ACTIVE_RW) clearBits(fd, FD_EV_ACTIVE_RW, FD_OP_STOP_BOTH);
}

/** HAProxy: fd_cant_recv(): recv() said EAGAIN. */
export function fdCantRecv(fd: number): void {
  if (fdtab.state[fd] & FD_EV_READY_R) clearBits(fd, FD_EV_READY_R, FD_OP_CANT_RECV);
}

/** HAProxy: fd_cant_send(): send() said EAGAIN. */
export function fdCantSend(fd: number): void {
  if (fdtab.state[fd] & FD_EV_READY_W) clearBits(fd, FD_EV_READY_W, FD_OP_CANT_SEND);
}

/** HAProxy: fd_may_recv(): the fd may be read without polling. */
export function fdMayRecv(fd: number): void {
  if (!(fdtab.state[fd] & FD_EV_READY_R)) setBits(fd, FD_EV_READY_R, FD_OP_MAY_RECV);
}

/** HAProxy: fd_may_send(). */
export function fdMaySend(fd: number): void {
  if (!(fdtab.state[fd] & FD_EV_READY_W)) setBits(fd, FD_EV_READY_W, FD_OP_MAY_SEND);
}

/**
 * HAProxy: fd_done_recv(): after a short read on a polled fd, assume the data is drained and let
 * the poller confirm, instead of trying a recv() that would say EAGAIN. Only for level-triggered
 * pollers, which all of hapoll's are.
 */
export function fdDoneRecv(fd: number): void {
  if ((fdtab.state[fd] & (FD_EV_POLLED_R | FD_EV_READY_R)) === (FD_EV_POLLED_R | FD_EV_READY_R)) {
    clearBits(fd, FD_EV_READY_R, FD_OP_DONE_RECV);
  }
}

/** HAProxy: fd_recv_ready(). */
export function fdRecvReady(fd: number): boolean {
  return (fdtab.state[fd] & FD_EV_READY_R) !== 0;
}

/** HAProxy: fd_send_ready(). */
export function fdSendReady(fd: number): boolean {
  return (fdtab.state[fd] & FD_EV_READY_W) !== 0;
}

/** HAProxy: fd_recv_active(). */
export function fdRecvActive(fd: number): boolean {
  return (fdtab.state[fd] & FD_EV_ACTIVE_R) !== 0;
}

/** HAProxy: fd_send_active(). */
export function fdSendActive(fd: number): boolean {
  return (fdtab.state[fd] & FD_EV_ACTIVE_W) !== 0;
}

/**
 * HAProxy: fd_update_events(). Called by a poller for each reported fd: keep the sticky bits, add
 * <evts>, and turn them into readiness. It never calls the iocb: callbacks run from the cache.
 */
export function fdUpdateEvents(fd: number, evts: number): void {
  const ev = (fdtab.ev[fd] & FD_POLL_STICKY) | evts;
  fdtab.ev[fd] = ev;
  if (ev & (FD_POLL_IN | FD_POLL_HUP | FD_POLL_ERR)) fdMayRecv(fd);
  if (ev & (FD_POLL_OUT | FD_POLL_ERR)) fdMaySend(fd);
}

/**
 * HAProxy: fd_insert(), with the caller's preceding owner/iocb assignments folded in. The fd starts
 * with no direction active; the caller enables what it needs.
 */
export function fdInsert(fd: number, owner: unknown, iocb: IoCb): void {
  fdtab.owner[fd] = owner;
  fdtab.iocb[fd] = iocb;
  fdtab.ev[fd] = 0;
  // An update-list entry left by a previous user of this fd number stays valid (it is processed
  // with the new state), so the list never holds an fd twice and fits in maxsock entries.
  fdtab.flags[fd] = FD_F_NEW | (fdtab.flags[fd] & FD_F_UPDATED);
  fdtab.cacheIdx[fd] = 0;
  if (fd + 1 > fdtab.maxfd) fdtab.maxfd = fd + 1;
  if (fdHooks.onInsert !== null) fdHooks.onInsert(fd);
}

/**
 * The poller's clo() and the close() itself, supplied by the poller registry and the native layer
 * (kept as hooks so this file has no native dependency and can be tested in-process).
 */
export const fdOps: {
  /** The poller's clo(); <closing> is false for fd_remove (the fd stays open elsewhere). */
  clo: (fd: number, closing: boolean) => void;
  close: (fd: number) => void;
  nolinger: (fd: number) => void;
} = {
  clo: () => {},
  close: () => {},
  nolinger: () => {},
};

/**
 * HAProxy: fd_dodelete(). Forget <fd>: RST on close if linger_risk, tell the poller, drop the cache
 * entry and the state; close it when <doClose>. A pending update-list entry stays; the poller skips
 * it because the owner is gone (or applies it to the fd's next user).
 */
function fdDoDelete(fd: number, doClose: boolean): void {
  if (fdHooks.onDelete !== null) fdHooks.onDelete(fd, doClose);
  if (fdtab.flags[fd] & FD_F_LINGER_RISK) fdOps.nolinger(fd);
  fdOps.clo(fd, doClose);
  fdReleaseCacheEntry(fd);
  fdtab.state[fd] = 0;
  fdtab.owner[fd] = null;
  fdtab.iocb[fd] = null;
  // FD_F_UPDATED is kept with its update-list entry: the poller clears it when it skips the entry
  // (owner gone) or processes it for the fd's next user. HAProxy clears it here, which lets a
  // quickly reused fd appear twice in the list.
  fdtab.flags[fd] &= ~(FD_F_NEW | FD_F_LINGER_RISK | FD_F_CLONED);
  if (doClose) fdOps.close(fd);
  let m = fdtab.maxfd;
  while (m - 1 >= 0 && fdtab.owner[m - 1] === null) m--;
  fdtab.maxfd = m;
}

/** HAProxy: fd_delete(): forget and close <fd>. */
export function fdDelete(fd: number): void {
  fdDoDelete(fd, true);
}

/** HAProxy: fd_remove(): forget <fd> without closing it (it is handed elsewhere). */
export function fdRemove(fd: number): void {
  fdDoDelete(fd, false);
}

/**
 * HAProxy: fd_process_cached_events(). Call the iocb of every cached fd. The count is re-read on
 * each step, so fds cached during the walk (a freshly accepted one) run in the same pass; when an
 * iocb removes its own entry, the last entry has moved into its slot and is processed next.
 */
export function fdProcessCachedEvents(): void {
  const t = fdtab;
  for (let entry = 0; entry < t.cacheNum;) {
    const fd = t.cache[entry];
    const e = t.state[fd];
    let ev = t.ev[fd] & FD_POLL_STICKY;
    if ((e & (FD_EV_READY_R | FD_EV_ACTIVE_R)) === (FD_EV_READY_R | FD_EV_ACTIVE_R)) ev |= FD_POLL_IN;
    if ((e & (FD_EV_READY_W | FD_EV_ACTIVE_W)) === (FD_EV_READY_W | FD_EV_ACTIVE_W)) ev |= FD_POLL_OUT;
    t.ev[fd] = ev;
    const cb = t.iocb[fd];
    if (cb !== null && t.owner[fd] !== null && ev !== 0) {
      if (fdHooks.onIocb !== null) fdHooks.onIocb(fd, ev);
      cb(fd);
    } else {
      fdReleaseCacheEntry(fd);
    }
    if (entry < t.cacheNum && t.cache[entry] !== fd) continue;
    entry++;
  }
}

/** Letters of one direction for `show fd` / traces: P/p polled, R/r ready, A/a active. */
function dirString(s: number): string {
  return (s & FD_EV_POLLED ? "P" : "p") + (s & FD_EV_READY ? "R" : "r") + (s & FD_EV_ACTIVE ? "A" : "a");
}

/** HAProxy's `show fd` notation of a state byte: "R:PRa W:pRa". */
export function fdStateString(state: number): string {
  return `R:${dirString(state & 0xf)} W:${dirString(state >> 4)}`;
}

/** HAProxy's `show fd` notation of an ev byte: "Heopi" (upper case = set: H E O P I). */
export function fdEvString(ev: number): string {
  return (ev & FD_POLL_HUP ? "H" : "h") + (ev & FD_POLL_ERR ? "E" : "e") + (ev & FD_POLL_OUT ? "O" : "o") +
    (ev & FD_POLL_PRI ? "P" : "p") + (ev & FD_POLL_IN ? "I" : "i");
}
