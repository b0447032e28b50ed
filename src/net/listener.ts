/**
 * Listeners. HAProxy 1.8: struct listener (include/types/listener.h), src/listener.c.
 *
 * States and transitions (HAProxy's LI_*):
 *
 *   NEW ──create──▶ INIT ──proto.add──▶ ASSIGNED ──bind──▶ LISTEN ──enable──▶ READY ⇄ FULL
 *                    ▲                     ▲  ▲                                 │  ▲
 *                    └──delete_listener────┘  └──unbind (fd closed)─── PAUSED ◀─┤  │
 *                                                                     LIMITED ◀─┘──┘ (resume)
 *
 * READY listeners have their fd ACTIVE for reading; FULL (own maxconn reached), LIMITED (global
 * or frontend maxconn reached, or out of fds) and PAUSED stop reading. A listener waiting for a
 * slot sits in a queue (global or its frontend's) and is resumed when a connection ends.
 */
import { native, FD_POLL_HUP } from "../native";
import { clock } from "../core/clock";
import { fdtab, fdStopRecv, fdWantRecv, fdCantRecv, fdDoneRecv, fdDelete } from "../core/fd";
import { counters, global } from "../core/global";
import { updateFreqCtr, freqCtrRemain, nextEventDelay } from "../core/freq_ctr";
import { type Task, taskNew, taskSchedule } from "../core/task";
import { tickAdd, TICK_ETERNITY } from "../core/ticks";
import type { BindConfig, LogTarget } from "../config/types";
import { sendProxyLog, LOG_EMERG } from "../core/log";
import { E_AGAIN, E_CONNABORTED, E_INTR, E_INVAL, E_MFILE, E_NFILE, E_NOBUFS, E_NOMEM } from "../core/errno";

/** HAProxy: LI_* listener states, in HAProxy's order. */
export const LI_NEW = 0;
export const LI_INIT = 1;
export const LI_ASSIGNED = 2;
export const LI_PAUSED = 3;
export const LI_ZOMBIE = 4;
export const LI_LISTEN = 5;
export const LI_READY = 6;
export const LI_FULL = 7;
export const LI_LIMITED = 8;
/** Names of the LI_* states. */
export const LI_NAMES = ["NEW", "INIT", "ASSIGNED", "PAUSED", "ZOMBIE", "LISTEN", "READY", "FULL", "LIMITED"];

/** Hook for traces: (listener, from, to). */
export const listenerHooks: { onState: ((l: Listener, from: number, to: number) => void) | null } = { onState: null };

/** The accept callback: build a session/stream for <cfd>. False = failed (the fd is closed by the caller). */
export type AcceptFn = (l: Listener, cfd: number, addr: Buffer, addrLen: number) => boolean;

/**
 * What a listener knows of its frontend (HAProxy: listener->bind_conf->frontend): its name, its
 * connection limit and count, the queue its listeners wait in when it is full, and where it logs.
 * The Proxy of src/proxy/proxy.ts is the one implementation; the layers above get it back with
 * listenerProxy().
 */
export interface ListenerFrontend {
  readonly id: string;
  maxconn: number;
  feconn: number;
  listeners: Listener[];
  listenerQueue: Listener[];
  readonly cfg: { readonly logs: LogTarget[] };
}

/** HAProxy: struct listener. */
export class Listener {
  state: number = LI_NEW;
  fd = -1;
  /** Live connections accepted by this listener. HAProxy: nbconn. */
  nbconn = 0;
  maxconn: number;
  backlog: number;
  /** At most this many accepts per call (HAProxy: maxaccept, -1 unlimited). */
  maxaccept: number;
  /** Sockaddr to bind. */
  addr: Buffer;
  addrLen: number;
  /** "ipv4" | "ipv6" | "unix". */
  family: string;
  /** Printable address as HAProxy prints it in errors: "0.0.0.0:3307" or the unix path. */
  label: string;
  /** Whether this listener is in a wait queue. */
  queued: ListenerFrontend | "global" | null = null;
  /** Unix socket path to unlink on exit. */
  unixPath = "";
  /**
   * HAProxy: LI_O_UNLIMITED. Connections of this listener are not counted in actconn, so neither
   * the global maxconn nor the global rates apply to them (the stats socket's listeners).
   */
  unlimited = false;
  accept: AcceptFn;

  constructor(readonly proxy: ListenerFrontend, readonly bind: BindConfig | null, opts: ListenerOptions) {
    this.addr = opts.addr;
    this.addrLen = opts.addrLen;
    this.family = opts.family;
    this.label = opts.label;
    this.maxconn = opts.maxconn;
    this.backlog = opts.backlog || opts.maxconn;
    this.maxaccept = opts.maxaccept;
    this.accept = opts.accept;
    if (opts.family === "unix") this.unixPath = opts.label;
  }

  setState(st: number): void {
    if (listenerHooks.onState !== null) listenerHooks.onState(this, this.state, st);
    this.state = st;
  }
}

/** What a Listener is built from. */
export interface ListenerOptions {
  addr: Buffer;
  addrLen: number;
  family: string;
  label: string;
  maxconn: number;
  backlog: number;
  maxaccept: number;
  accept: AcceptFn;
}

/** Listeners limited by the global maxconn. HAProxy: global_listener_queue. */
export const globalListenerQueue: Listener[] = [];
/** Every listener created (for unbind at exit, `show fd`). */
export const allListeners: Listener[] = [];

/** HAProxy: create_listeners(): NEW -> INIT, one more job. */
export function createListener(l: Listener): void {
  l.setState(LI_INIT);
  counters.jobs++;
  allListeners.push(l);
}

/** HAProxy: enable_listener(): LISTEN -> READY (or FULL when already at maxconn). */
export function enableListener(l: Listener): void {
  if (l.state !== LI_LISTEN) return;
  if (l.nbconn < l.maxconn) {
    l.setState(LI_READY);
    fdWantRecv(l.fd);
  } else {
    l.setState(LI_FULL);
  }
}

/** HAProxy: disable_listener(): READY/FULL/LIMITED -> LISTEN, stop reading. */
export function disableListener(l: Listener): void {
  if (l.state < LI_READY) return;
  if (l.state === LI_READY) fdStopRecv(l.fd);
  dequeueListener(l);
  l.setState(LI_LISTEN);
}

/**
 * HAProxy: pause_listener() / tcp_pause_listener(): on Linux, shutdown(SHUT_WR), listen() and
 * shutdown(SHUT_RD) leave a TCP socket bound but refusing new connections (and let a new process
 * bound with SO_REUSEPORT receive them); listen() again resumes it. Unix sockets are only
 * stopped from being polled.
 */
export function pauseListener(l: Listener): boolean {
  if (l.state <= LI_ZOMBIE) return true;
  if (l.family !== "unix") {
    if (native.shutdown(l.fd, native.constants.SHUT_WR) === 0 && native.listen(l.fd, l.backlog) === 0) {
      native.shutdown(l.fd, native.constants.SHUT_RD);
    }
  }
  dequeueListener(l);
  fdStopRecv(l.fd);
  l.setState(LI_PAUSED);
  return true;
}

/** HAProxy: resume_listener(): PAUSED/FULL/LIMITED -> READY (or FULL). */
export function resumeListener(l: Listener): boolean {
  if (l.state < LI_PAUSED || l.state === LI_ZOMBIE) return false;
  if (l.state === LI_PAUSED) {
    if (native.listen(l.fd, l.backlog) < 0) return false;
  }
  if (l.state === LI_READY) return true;
  dequeueListener(l);
  if (l.nbconn >= l.maxconn) {
    l.setState(LI_FULL);
    return true;
  }
  fdWantRecv(l.fd);
  l.setState(LI_READY);
  return true;
}

/** HAProxy: listener_full(): READY -> FULL. */
function listenerFull(l: Listener): void {
  if (l.state >= LI_READY) {
    dequeueListener(l);
    if (l.state !== LI_FULL) {
      fdStopRecv(l.fd);
      l.setState(LI_FULL);
    }
  }
}

/** HAProxy: limit_listener(): READY -> LIMITED, waiting in <queue>. */
function limitListener(l: Listener, queue: Listener[], owner: ListenerFrontend | "global"): void {
  if (l.state === LI_READY) {
    queue.push(l);
    l.queued = owner;
    fdStopRecv(l.fd);
    l.setState(LI_LIMITED);
  }
}

function dequeueListener(l: Listener): void {
  if (l.queued === null) return;
  const q = l.queued === "global" ? globalListenerQueue : l.queued.listenerQueue;
  const i = q.indexOf(l);
  if (i >= 0) q.splice(i, 1);
  l.queued = null;
}

/** HAProxy: dequeue_all_listeners(): resume every listener waiting in <queue>. */
export function dequeueAllListeners(queue: Listener[]): void {
  while (queue.length) {
    const l = queue.shift()!;
    l.queued = null;
    resumeListener(l);
  }
}

/** HAProxy: unbind_listener(): >= PAUSED -> ASSIGNED, fd closed. */
export function unbindListener(l: Listener): void {
  if (l.state === LI_READY) fdStopRecv(l.fd);
  dequeueListener(l);
  if (l.state >= LI_PAUSED) {
    // A unix socket's file is left in place, as HAProxy does: after a reload it belongs to the
    // new process, which renamed its own socket over it.
    fdDelete(l.fd);
    l.fd = -1;
    l.setState(LI_ASSIGNED);
  }
}

/** HAProxy: delete_listener(): ASSIGNED -> INIT, one job less. */
export function deleteListener(l: Listener): void {
  if (l.state !== LI_ASSIGNED) return;
  l.setState(LI_INIT);
  counters.jobs--;
}

/** A task that resumes limited listeners after an fd/memory shortage (HAProxy: global.listener_queue_task). */
let queueTask: Task | null = null;
function getQueueTask(): Task {
  if (queueTask === null) {
    queueTask = taskNew((t) => {
      dequeueAllListeners(globalListenerQueue);
      t.expire = TICK_ETERNITY;
      return t;
    });
  }
  return queueTask;
}

/**
 * HAProxy: listener_accept()'s transient_error / wait_expire: pause <l> in the global queue and let
 * the queue task resume it at <expire> (100 ms after a resource shortage).
 */
function limitGlobally(l: Listener, expire: number): void {
  limitListener(l, globalListenerQueue, "global");
  taskSchedule(getQueueTask(), expire);
}


const acceptAddr = Buffer.alloc(128);

/**
 * HAProxy: listener_accept() (1.8 src/listener.c), the iocb of listening fds. Accept up to
 * maxaccept connections (0: one, negative: no limit, as 1.8's unsigned l->maxaccept), stopping
 * (and queueing the listener) when a limit is reached: the listener's own maxconn (FULL), the
 * global maxconn or the frontend's maxconn (LIMITED), or a shortage of fds or memory (LIMITED,
 * retried 100 ms later; over -m, the connection accepted is closed first). Never spins, never dies.
 */
export function listenerAccept(fd: number): void {
  const l = fdtab.owner[fd] as Listener;
  const p = l.proxy;
  if (l.state < LI_READY) return;
  if (l.nbconn >= l.maxconn) {
    listenerFull(l);
    return;
  }
  let maxAccept = l.maxaccept > 0 ? l.maxaccept : l.maxaccept < 0 ? 0x7fffffff : 1;
  // HAProxy: the global connection rate limit: accept no more than what is left of this second.
  if (global.cpsLim && !l.unlimited) {
    const max = freqCtrRemain(counters.connPerSec, global.cpsLim, 0);
    if (max === 0) {
      limitGlobally(l, tickAdd(clock.nowMs, nextEventDelay(counters.connPerSec, global.cpsLim, 0)));
      return;
    }
    if (maxAccept > max) maxAccept = max;
  }
  while (maxAccept--) {
    if (global.maxconn && counters.actconn >= global.maxconn && !l.unlimited) {
      // Try again in 1 second at worst (a slot freeing resumes it at once: listenerRelease()).
      limitGlobally(l, tickAdd(clock.nowMs, 1000));
      return;
    }
    if (p.maxconn && p.feconn >= p.maxconn) {
      limitListener(l, p.listenerQueue, p);
      return;
    }
    const cfd = native.accept(fd, acceptAddr);
    if (cfd < 0) {
      if (cfd === E_AGAIN) {
        if (fdtab.ev[fd] & FD_POLL_HUP) {
          // The listening socket may have been shut down by another process sharing it (a
          // reload's pause): pause too, in case it comes back, and forget the sticky HUP.
          fdtab.ev[fd] &= ~FD_POLL_HUP;
          limitGlobally(l, tickAdd(clock.nowMs, 100));
          return;
        }
        fdCantRecv(fd);
        return;
      }
      if (cfd === E_INTR || cfd === E_CONNABORTED) continue;
      if (cfd === E_INVAL) {
        // Accepting on a shut fd (a pause by another process, a soft stop): retry soon.
        limitGlobally(l, tickAdd(clock.nowMs, 100));
        return;
      }
      if (cfd === E_NFILE || cfd === E_MFILE || cfd === E_NOBUFS || cfd === E_NOMEM) {
        // HAProxy sends these to the proxy's log servers only (send_log, not ha_alert).
        sendProxyLog(p, LOG_EMERG, cfd === E_NFILE
          ? `Proxy ${p.id} reached system FD limit at ${fdtab.maxfd}. Please check system tunables.`
          : cfd === E_MFILE
            ? `Proxy ${p.id} reached process FD limit at ${fdtab.maxfd}. Please check 'ulimit-n' and restart.`
            : `Proxy ${p.id} reached system memory limit at ${fdtab.maxfd} sockets. Please check system tunables.`);
        limitGlobally(l, tickAdd(clock.nowMs, 100));
        return;
      }
      // Any other error: let the poller confirm before trying again (no spinning on a bad socket).
      fdDoneRecv(fd);
      return;
    }
    if (cfd >= global.maxsock) {
      sendProxyLog(p, LOG_EMERG, `Proxy ${p.id} reached the configured maximum connection limit. Please check the global 'maxconn' value.`);
      native.close(cfd);
      limitGlobally(l, tickAdd(clock.nowMs, 1000));
      return;
    }
    if (global.memFull && !l.unlimited) {
      // hapoll's -m, over the memory limit: the session cannot be had (1.8.0: its pool_alloc()
      // fails in session_accept_fd(), counted in PoolFailed), so the connection is closed at once
      // and the listener rests 100 ms (transient_error). The stats sockets still answer.
      counters.poolFailed++;
      native.close(cfd);
      limitGlobally(l, tickAdd(clock.nowMs, 100));
      return;
    }
    if (!l.unlimited) {
      const n = updateFreqCtr(counters.connPerSec, 1);
      if (n > counters.cpsMax) counters.cpsMax = n;
      counters.actconn++;
    }
    l.nbconn++;
    const addr = Buffer.from(acceptAddr.subarray(0, 128));
    if (!l.accept(l, cfd, addr, 128)) {
      // HAProxy: ret == 0, the connection was closed by the accept function: next one.
      native.close(cfd);
      if (!l.unlimited) counters.actconn--;
      l.nbconn--;
      continue;
    }
    // HAProxy 1.8.0 counts the session after the FULL test, so the one that fills the listener is
    // missed; hapoll counts every accepted session, as HAProxy 1.9+ does (accept_queue_process()
    // and listener_accept() count it right after l->accept()).
    if (!l.unlimited) {
      const n = updateFreqCtr(counters.sessPerSec, 1);
      if (n > counters.spsMax) counters.spsMax = n;
    }
    if (l.nbconn >= l.maxconn) {
      listenerFull(l);
      return;
    }
  }
  // maxaccept exhausted (HAProxy: "stop:"): drop the readiness so that the next accepts wait for
  // the poller, letting the other fds run first.
  fdDoneRecv(fd);
}

/**
 * HAProxy: listener_release(): a connection of <l> ended: free its slots and resume listeners
 * waiting for them.
 */
export function listenerRelease(l: Listener): void {
  if (!l.unlimited) counters.actconn--;
  l.nbconn--;
  if (l.state === LI_FULL) resumeListener(l);
  if (globalListenerQueue.length && (!global.maxconn || counters.actconn < global.maxconn)) {
    dequeueAllListeners(globalListenerQueue);
  }
  const p = l.proxy;
  if (p.listenerQueue.length && (!p.maxconn || p.feconn < p.maxconn)) dequeueAllListeners(p.listenerQueue);
}
