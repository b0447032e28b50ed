/**
 * Proxies at run time: what HAProxy 1.8 keeps in src/proxy.c and include/types/proxy.h. The
 * Proxy type, the list of every proxy in configuration order (HAProxy: proxies_list), and what
 * happens to a whole proxy: soft stop (SIGUSR1), stop, pause (SIGTTOU) and resume (SIGTTIN).
 * A frontend's listeners know it through the ListenerFrontend face of src/net/listener.ts;
 * listenerProxy() gives the Proxy back to the layers above.
 */
import { clock } from "../core/clock";
import { counters } from "../core/global";
import { FreqCtr } from "../core/freq_ctr";
import { logWarningLine, sendProxyLog, LOG_WARNING } from "../core/log";
import { type Task, taskDelete, taskFree, taskNew, taskSchedule, taskWakeup, TASK_WOKEN_MSG } from "../core/task";
import { tickAdd } from "../core/ticks";
import type { ProxyConfig } from "../config/types";
import { capStr, CAP_BE, CAP_FE } from "../config/cfgparse_util";
import {
  deleteListener, pauseListener, resumeListener, unbindListener, type Listener, LI_ASSIGNED, LI_PAUSED,
} from "../net/listener";
import type { ConnSource } from "../net/proto_tcp";
import type { SrvTree } from "./lb_tree";
import { nowSec, PendList, type Server } from "./server";
import type { ProxyRules } from "./tcp_rules";
import { BeCounters, FeCounters } from "./counters";

/** HAProxy: PR_STNEW..PR_STSTOPPED (include/types/proxy.h). */
export const PR_STNEW = 0;
export const PR_STREADY = 1;
export const PR_STFULL = 2;
export const PR_STPAUSED = 3;
export const PR_STSTOPPED = 4;
export const PR_STERROR = 5;

/** One fwrr server group (active or backup). HAProxy: struct fwrr_group (include/types/lb_fwrr.h). */
export interface FwrrGroup {
  /** Servers being served in the current round, by position. */
  curr: SrvTree;
  /** The two weight-ordered trees; init and next point to them and swap at each new round. */
  t0: SrvTree;
  t1: SrvTree;
  init: SrvTree;
  next: SrvTree;
  currPos: number;
  currWeight: number;
  nextWeight: number;
}

/** A proxy's load-balancing parameters. HAProxy: struct lbprm (include/types/backend.h). */
export interface LbParams {
  /** Whether lbInit() ran. */
  ready: boolean;
  /** Total effective weight of the usable active / backup servers. HAProxy: tot_wact, tot_wbck. */
  totWact: number;
  totWbck: number;
  /** Weight and count of the servers the LB uses right now. HAProxy: tot_weight, tot_used. */
  totWeight: number;
  totUsed: number;
  /** The first usable backup server when `option allbackups` is off. HAProxy: fbck. */
  fbck: Server | null;
  /** Effective weight = user weight x wdiv / wmult. */
  wmult: number;
  wdiv: number;
  /** static-rr and source: the server map and the round-robin index. HAProxy: lbprm.map. */
  map: (Server | null)[];
  rrIdx: number;
  /** roundrobin. HAProxy: lbprm.fwrr. */
  fwrrAct: FwrrGroup | null;
  fwrrBck: FwrrGroup | null;
  /** leastconn and first: one tree per group. HAProxy: lbprm.fwlc / lbprm.fas. */
  treeAct: SrvTree | null;
  treeBck: SrvTree | null;
  /** The key of those trees: the load (leastconn) or the server id (first). */
  treeKey: ((srv: Server) => number) | null;
  /** Algorithm callbacks. HAProxy: set_server_status_up/down, update_server_eweight, server_take_conn/drop_conn. */
  setServerStatusUp: ((srv: Server) => void) | null;
  setServerStatusDown: ((srv: Server) => void) | null;
  updateServerEweight: ((srv: Server) => void) | null;
  serverTakeConn: ((srv: Server) => void) | null;
  serverDropConn: ((srv: Server) => void) | null;
}

/** HAProxy: struct proxy. */
export class Proxy {
  state = PR_STNEW;
  /** Live frontend sessions. HAProxy: feconn. */
  feconn = 0;
  /** Live backend streams. HAProxy: beconn. */
  beconn = 0;
  /** Frontend connection limit. HAProxy: maxconn. */
  maxconn: number;
  /** Listeners of this frontend. */
  listeners: Listener[] = [];
  /** Servers of this backend, in declaration order. */
  servers: Server[] = [];
  /** The backend a frontend sends its traffic to. HAProxy: defbe.be. */
  defbe: Proxy | null = null;
  /** Listeners waiting for a slot (LI_LIMITED on this frontend). HAProxy: listener_queue. */
  listenerQueue: Listener[] = [];
  /** Streams waiting for any server of this backend, and the queue. HAProxy: nbpend, pendconns. */
  nbpend = 0;
  readonly pendconns = new PendList();
  /** Streams queued on this backend or its servers. HAProxy: totpend. */
  totpend = 0;
  /** Streams holding a server slot. HAProxy: served. */
  served = 0;
  /** Usable active / backup servers. HAProxy: srv_act, srv_bck. */
  srvAct = 0;
  srvBck = 0;
  /** Load-balancing state. HAProxy: lbprm. */
  readonly lbprm: LbParams = {
    ready: false, totWact: 0, totWbck: 0, totWeight: 0, totUsed: 0, fbck: null, wmult: 1, wdiv: 1,
    map: [], rrIdx: 0, fwrrAct: null, fwrrBck: null, treeAct: null, treeBck: null, treeKey: null,
    setServerStatusUp: null, setServerStatusDown: null, updateServerEweight: null,
    serverTakeConn: null, serverDropConn: null,
  };
  /**
   * Activity counters of the frontend side and of the backend side (a `listen` proxy is both and
   * `show stat` reports each side from its own). HAProxy: fe_counters, be_counters.
   */
  readonly feCounters = new FeCounters();
  readonly beCounters = new BeCounters();
  /** Frontend connection and session rates. HAProxy: fe_conn_per_sec, fe_sess_per_sec. */
  readonly feConnPerSec = new FreqCtr();
  readonly feSessPerSec = new FreqCtr();
  /** ACL-based rules bound to runtime objects; null for a proxy without rules (the plain TCP path). */
  rules: ProxyRules | null = null;
  /** Backend session rate. HAProxy: be_sess_per_sec. */
  readonly beSessPerSec = new FreqCtr();
  /**
   * Last time the backend lost its last server or got one back, the seconds it spent without one
   * before that, and how many times it lost its last server. HAProxy: last_change, down_time,
   * down_trans.
   */
  lastChange = nowSec();
  downTime = 0;
  downTrans = 0;
  /** HAProxy: uuid. */
  uuid: number;
  /** The maxconn the proxy started with (the backends' default fullconn is computed from it). */
  initialMaxconn = 0;
  /** `source` in the proxy: bound before connecting when the server has none (HAProxy: px->conn_src). */
  connSrc: ConnSource | null = null;

  constructor(readonly cfg: ProxyConfig, uuid: number) {
    this.maxconn = cfg.maxconn;
    this.uuid = uuid;
  }

  get id(): string {
    return this.cfg.name;
  }
}


/** Every proxy, in configuration order (the stats socket's GLOBAL frontend first). HAProxy: proxies_list. */
export const proxies: Proxy[] = [];

/** HAProxy: proxy_cap_str(): "proxy" (listen), "frontend" or "backend". */
export function proxyCapStr(p: ProxyConfig): string {
  return capStr((p.cap.fe ? CAP_FE : 0) | (p.cap.be ? CAP_BE : 0));
}

/** The frontend <l> belongs to: every listener hapoll makes is built with a Proxy (see ListenerFrontend). */
export function listenerProxy(l: Listener): Proxy {
  return l.proxy as Proxy;
}

/**
 * HAProxy: soft_stop(): stop accepting, let live streams end, exit when none is left. After
 * <hardStopAfter> ms (0 = never; HAProxy: hard-stop-after), <killStreams> ends the streams still
 * there (the stream layer, above this file, knows how).
 */
export function softStop(hardStopAfter: number, killStreams: () => void): void {
  if (counters.stopping) return;
  counters.stopping = true;
  if (hardStopAfter) {
    const t = taskNew((task) => {
      logWarningLine("soft-stop running for too long, performing a hard-stop.");
      killStreams();
      counters.hardStop = true;
      return task;
    });
    taskSchedule(t, tickAdd(clock.nowMs, hardStopAfter));
  }
  for (const p of proxies) {
    if (p.state === PR_STSTOPPED) continue;
    const msg = `Stopping ${proxyCapStr(p.cfg)} ${p.id} in 0 ms.`;
    logWarningLine(msg);
    sendProxyLog(p, LOG_WARNING, msg);
    // HAProxy: the proxy's own task (manage_proxy()) stops it once its grace time is over (hapoll
    // has no `grace`: at once), in the next turn of the loop, not from the signal handler.
    taskWakeup(taskNew(manageProxy, p), TASK_WOKEN_MSG);
  }
}

/** HAProxy: manage_proxy() (the part a soft stop uses): stop the proxy when its grace time is over. */
function manageProxy(t: Task): Task | null {
  const p = t.context as Proxy;
  if (counters.stopping && p.state !== PR_STSTOPPED) stopProxy(p);
  taskDelete(t);
  taskFree(t);
  return null;
}

/** HAProxy: stop_proxy(): close the proxy's listeners. */
export function stopProxy(p: Proxy): void {
  for (const l of p.listeners) {
    unbindListener(l);
    if (l.state === LI_ASSIGNED) deleteListener(l);
  }
  p.state = PR_STSTOPPED;
  const msg = `Proxy ${p.id} stopped (FE: ${p.feCounters.cumConn} conns, BE: ${p.beCounters.cumConn} conns).`;
  logWarningLine(msg);
  sendProxyLog(p, LOG_WARNING, msg);
}

/** HAProxy: pause_proxy(): stop accepting on <p>'s listeners; false when one could not pause. */
export function pauseProxy(p: Proxy): boolean {
  if (!p.cfg.cap.fe || p.state === PR_STSTOPPED || p.state === PR_STPAUSED) return true;
  logWarningLine(`Pausing ${proxyCapStr(p.cfg)} ${p.id}.`);
  sendProxyLog(p, LOG_WARNING, `Pausing ${proxyCapStr(p.cfg)} ${p.id}.`);
  let ok = true;
  for (const l of p.listeners) if (pauseListener(l) === false) ok = false;
  p.state = PR_STPAUSED;
  return ok;
}

/** HAProxy: resume_proxy(): accept again on <p>'s paused listeners; false when one failed. */
export function resumeProxy(p: Proxy): boolean {
  if (p.state !== PR_STPAUSED) return true;
  logWarningLine(`Enabling ${proxyCapStr(p.cfg)} ${p.id}.`);
  sendProxyLog(p, LOG_WARNING, `Enabling ${proxyCapStr(p.cfg)} ${p.id}.`);
  let ok = true;
  for (const l of p.listeners) if (l.state === LI_PAUSED && resumeListener(l) === false) ok = false;
  p.state = PR_STREADY;
  return ok;
}

/** HAProxy: pause_proxies() (SIGTTOU). */
export function pauseProxies(): void {
  for (const p of proxies) pauseProxy(p);
}

/** HAProxy: resume_proxies() (SIGTTIN). */
export function resumeProxies(): void {
  for (const p of proxies) resumeProxy(p);
}

