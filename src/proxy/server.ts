/**
 * Servers and proxies at run time. HAProxy 1.8: struct server (include/types/server.h),
 * struct proxy and struct lbprm (include/types/proxy.h, include/types/backend.h), the parts a TCP
 * proxy uses.
 *
 * A server has a current state and a next state (HAProxy's cur_* / next_* pairs for the state,
 * the admin flags and the effective weight). Checks and the configuration write next_*; the
 * load-balancing code compares both to see what changed and commits next_* into cur_*
 * (srv_lb_commit_status). Operational states:
 *
 *            check passes (health reaches rise)          
 *   STOPPED ────────────────────────────────────▶ RUNNING     (STARTING with slowstart,
 *      ▲                                            │          which hapoll does not have)
 *      └────────────────────────────────────────────┘
 *            check fails (health falls to 0)
 *
 * A `disabled` server starts in configured maintenance (SRV_ADMF_CMAINT|SRV_ADMF_FMAINT), STOPPED,
 * its check paused.
 */
import { clock } from "../core/clock";
import type { ProxyConfig, ServerConfig } from "../config/types";
import type { Listener } from "../net/listener";
import { lbInit, setBackendDown } from "./backend";
import { Check, getCheckStatusDescription, HCHK_STATUS_L57DATA } from "./checks";
import type { SrvTree } from "./lb_tree";
import { logWarningLine, sendLog, LOG_ALERT, LOG_NOTICE } from "./log";
import { pendconnGrabFromPx, pendconnRedistribute } from "./queue";
import type { Stream } from "./stream";

/** HAProxy: SRV_ST_* (enum srv_state, include/types/server.h). */
export const SRV_ST_STOPPED = 0;
export const SRV_ST_STARTING = 1;
export const SRV_ST_RUNNING = 2;
export const SRV_ST_STOPPING = 3;

/** HAProxy: SRV_ADMF_* (enum srv_admin, include/types/server.h). */
export const SRV_ADMF_FMAINT = 0x01;
export const SRV_ADMF_IMAINT = 0x02;
export const SRV_ADMF_MAINT = 0x23;
export const SRV_ADMF_CMAINT = 0x04;
export const SRV_ADMF_FDRAIN = 0x08;
export const SRV_ADMF_IDRAIN = 0x10;
export const SRV_ADMF_DRAIN = 0x18;

/** HAProxy: BE_WEIGHT_SCALE (include/types/backend.h): effective weights are user weights x 16. */
export const BE_WEIGHT_SCALE = 16;
/** HAProxy: SRV_UWGHT_RANGE / SRV_UWGHT_MAX / SRV_EWGHT_MAX (include/types/server.h). */
export const SRV_UWGHT_RANGE = 256;
export const SRV_UWGHT_MAX = SRV_UWGHT_RANGE;
export const SRV_EWGHT_MAX = SRV_UWGHT_MAX * BE_WEIGHT_SCALE;

/**
 * An intrusive FIFO of streams waiting for a connection slot (HAProxy: the pendconns list of a
 * server or a proxy, whose elements are struct pendconn). The links live in the stream itself
 * (pendPrev/pendNext), so queueing allocates nothing.
 */
export class PendList {
  head: Stream | null = null;
  tail: Stream | null = null;
}

/** HAProxy: struct server. */
export class Server {
  /** Operational state now / as decided (SRV_ST_*). HAProxy: cur_state, next_state. */
  curState = SRV_ST_RUNNING;
  nextState = SRV_ST_RUNNING;
  /** Administrative flags now / as decided (SRV_ADMF_*). HAProxy: cur_admin, next_admin. */
  curAdmin = 0;
  nextAdmin = 0;
  /** User weight (0..256) and the configured one. HAProxy: uweight, iweight. */
  uweight: number;
  iweight: number;
  /** Effective weight now / next (user weight scaled by the backend's wdiv/wmult). */
  curEweight = 0;
  nextEweight = 0;
  /** Streams holding a connection slot on this server. HAProxy: served. */
  served = 0;
  /** Streams with a connection to this server (counted from connect). HAProxy: cur_sess. */
  curSess = 0;
  /** HAProxy: counters.cur_sess_max. */
  maxSess = 0;
  /** Connections opened to this server. HAProxy: counters.cum_sess. */
  cumSess = 0;
  /** Times the LB picked this server. HAProxy: counters.cum_lbconn. */
  cumLbconn = 0;
  /** HAProxy: counters.failed_conns / retries / redispatches. */
  failedConns = 0;
  retries = 0;
  redispatches = 0;
  /** Streams waiting in this server's queue, and the queue itself. HAProxy: nbpend, pendconns. */
  nbpend = 0;
  nbpendMax = 0;
  readonly pendconns = new PendList();
  /** Destination sockaddr bytes, built at start-up. */
  addr: Buffer = Buffer.alloc(0);
  addrLen = 0;
  /** Numeric address and port, for logs. */
  host = "";
  port = 0;
  /** HAProxy: flags & SRV_F_BACKUP. */
  readonly backup: boolean;
  /** HAProxy: maxconn / maxqueue. */
  maxconn: number;
  maxqueue: number;
  /** Bytes in/out. */
  bytesIn = 0;
  bytesOut = 0;
  /** Numeric id (`id`, else the first free one). HAProxy: puid. */
  puid: number;
  /** The health check, when `check` is set. HAProxy: check (CHK_ST_CONFIGURED). */
  check: Check | null = null;
  /** Last state change (seconds since the epoch) and its counters. HAProxy: last_change, down_trans. */
  lastChange = 0;
  downTrans = 0;
  /** Checks that failed while the server was up. HAProxy: counters.failed_checks. */
  failedChecks = 0;
  /**
   * Reason of the pending operational change. HAProxy: op_st_chg (status -1 = none; otherwise the
   * HCHK_STATUS_* of the check that decided, its code, description and duration).
   */
  opStChgStatus = -1;
  opStChgCode = -1;
  opStChgReason = "";
  opStChgDuration = 0;

  /* Load-balancing state (HAProxy: lb_tree, lb_node, npos, lpos, rweight, wscore, cumulative_weight). */
  /** The tree this server belongs to for its algorithm (null: out of the LB). */
  lbTree: SrvTree | null = null;
  /** The tree its node is linked in right now, its position there, key and insertion number. */
  lbIn: SrvTree | null = null;
  lbIdx = -1;
  lbKey = 0;
  lbSeq = 0;
  npos = 0;
  lpos = 0;
  rweight = 0;
  wscore = 0;
  cumulativeWeight = 0;
  /** Link in the fwrr "saturated servers" chain. HAProxy: next_full. */
  nextFull: Server | null = null;

  constructor(readonly cfg: ServerConfig, readonly proxy: Proxy, puid: number) {
    this.uweight = this.iweight = cfg.weight;
    this.puid = cfg.id || puid;
    this.backup = cfg.backup;
    this.maxconn = cfg.maxconn;
    this.maxqueue = cfg.maxqueue;
    if (cfg.disabled) {
      // HAProxy: srv_parse_disabled(): configured maintenance.
      this.curAdmin = this.nextAdmin = SRV_ADMF_CMAINT | SRV_ADMF_FMAINT;
      this.curState = this.nextState = SRV_ST_STOPPED;
    }
  }

  get id(): string {
    return this.cfg.name;
  }
}

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
  /** Cumulated frontend / backend connections. */
  cumFeconn = 0;
  cumBeconn = 0;
  feconnMax = 0;
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
  nbpendMax = 0;
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
  /** Counters for `show stat` and logs. */
  bytesIn = 0;
  bytesOut = 0;
  cliAborts = 0;
  srvAborts = 0;
  failedConns = 0;
  retries = 0;
  redispatches = 0;
  /** Times the LB picked a server. HAProxy: be_counters.cum_lbconn. */
  cumLbconn = 0;
  /** Times the backend lost its last server. HAProxy: down_trans, last_change. */
  downTrans = 0;
  lastChange = 0;
  /** HAProxy: uuid. */
  uuid: number;

  constructor(readonly cfg: ProxyConfig, uuid: number) {
    this.maxconn = cfg.maxconn;
    this.uuid = uuid;
  }

  get id(): string {
    return this.cfg.name;
  }

  /** HAProxy: srv_act (usable non-backup servers, as counted by the LB). */
  activeServers(): number {
    return this.srvAct;
  }
}

/** HAProxy: srv_willbe_usable(): whether <srv> will take traffic once its pending change is committed. */
export function srvWillbeUsable(srv: Server): boolean {
  if (!srv.nextEweight) return false;
  if (srv.nextAdmin & (SRV_ADMF_MAINT | SRV_ADMF_DRAIN)) return false;
  return srv.nextState === SRV_ST_STARTING || srv.nextState === SRV_ST_RUNNING;
}

/** HAProxy: srv_currently_usable(): whether <srv> takes traffic now. */
export function srvCurrentlyUsable(srv: Server): boolean {
  if (!srv.curEweight) return false;
  if (srv.curAdmin & (SRV_ADMF_MAINT | SRV_ADMF_DRAIN)) return false;
  return srv.curState === SRV_ST_STARTING || srv.curState === SRV_ST_RUNNING;
}

/** HAProxy: srv_lb_status_changed(). */
export function srvLbStatusChanged(srv: Server): boolean {
  return srv.nextState !== srv.curState || srv.nextAdmin !== srv.curAdmin || srv.nextEweight !== srv.curEweight;
}

/** HAProxy: srv_lb_commit_status(). */
export function srvLbCommitStatus(srv: Server): void {
  srv.curState = srv.nextState;
  srv.curAdmin = srv.nextAdmin;
  srv.curEweight = srv.nextEweight;
}

/** HAProxy: server_recalc_eweight() without slowstart: next_eweight from the user weight. */
export function serverRecalcEweight(srv: Server): void {
  const lb = srv.proxy.lbprm;
  srv.nextEweight = Math.floor((srv.uweight * lb.wdiv + lb.wmult - 1) / lb.wmult);
}

/** HAProxy: chunk_asciiencode(): non-printable characters, '<', '>' and <qc> as <XX>. */
function asciiEncode(s: string, qc: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (c < 0x20 || c > 0x7e || ch === "<" || ch === ">" || ch === qc) out += "<" + (c & 0xff).toString(16).toUpperCase().padStart(2, "0") + ">";
    else out += ch;
  }
  return out;
}

/**
 * HAProxy: srv_append_status(). The tail of a server state-change message: the reason (the check
 * result that decided: ", reason: ..., info: \"...\", check duration: Nms"), then, when
 * <xferred> >= 0, the servers left or online and the queue figures.
 */
export function srvAppendStatus(s: Server, xferred: number): string {
  let msg = "";
  const status = s.opStChgStatus;
  const desc = s.opStChgReason;
  if (status !== -1) {
    msg += `, reason: ${getCheckStatusDescription(status)}`;
    if (status >= HCHK_STATUS_L57DATA) msg += `, code: ${s.opStChgCode}`;
    if (desc) msg += `, info: "${asciiEncode(desc, '"')}"`;
    if (s.opStChgDuration >= 0) msg += `, check duration: ${s.opStChgDuration}ms`;
  } else if (desc) {
    msg += `, ${desc}`;
  }
  if (xferred >= 0) {
    const px = s.proxy;
    const onBackup = px.srvBck && !px.srvAct ? " Running on backup." : "";
    if (s.nextState === SRV_ST_STOPPED) {
      msg += `. ${px.srvAct} active and ${px.srvBck} backup servers left.${onBackup}` +
        ` ${s.curSess} sessions active, ${xferred} requeued, ${s.nbpend} remaining in queue`;
    } else {
      msg += `. ${px.srvAct} active and ${px.srvBck} backup servers online.${onBackup}` +
        ` ${xferred} sessions requeued, ${s.nbpend} total in queue`;
    }
  }
  return msg;
}

/** Record why the server changes state: <reason>, else the result of <check>. HAProxy: op_st_chg. */
function setOpStChg(s: Server, reason: string, check: Check | null): void {
  s.opStChgReason = "";
  s.opStChgStatus = -1;
  if (reason) {
    s.opStChgReason = reason;
  } else if (check !== null) {
    s.opStChgReason = check.desc;
    s.opStChgCode = check.code;
    s.opStChgStatus = check.status;
    s.opStChgDuration = check.duration;
  }
}

/**
 * HAProxy: srv_set_stopped(). Mark <s> DOWN (not if in maintenance or already down), giving
 * <reason> or the result of <check> as the cause. HAProxy registers the change and applies it at
 * the end of the loop turn (servers_update_status); hapoll applies it at once.
 */
export function srvSetStopped(s: Server, reason: string, check: Check | null): void {
  if ((s.curAdmin & SRV_ADMF_MAINT) || s.nextState === SRV_ST_STOPPED) return;
  s.nextState = SRV_ST_STOPPED;
  setOpStChg(s, reason, check);
  srvUpdateStatus(s);
}

/** HAProxy: srv_set_running(). Mark <s> UP (hapoll has no slowstart: RUNNING at once). */
export function srvSetRunning(s: Server, reason: string, check: Check | null): void {
  if (s.curAdmin & SRV_ADMF_MAINT) return;
  if (s.nextState === SRV_ST_STARTING || s.nextState === SRV_ST_RUNNING) return;
  s.nextState = SRV_ST_RUNNING;
  setOpStChg(s, reason, check);
  srvUpdateStatus(s);
}

/**
 * HAProxy: srv_update_status(), the operational part. Apply <s>'s pending state: update the load
 * balancer, move queued streams (a server going DOWN gives its queue back to load balancing under
 * `option redispatch`; a server coming UP takes streams from the backend's queue), and report the
 * change on stderr and to the backend's log targets, with "backend 'b' has no server available!"
 * when the last server went away.
 */
export function srvUpdateStatus(s: Server): void {
  const px = s.proxy;
  const lb = px.lbprm;
  lbInit(px);
  const prevSrvCount = px.srvBck + px.srvAct;
  const srvWasStopping = s.curState === SRV_ST_STOPPING || (s.curAdmin & SRV_ADMF_DRAIN) !== 0;
  const nowSec = Math.floor(clock.dateMs / 1000);
  if (!(s.curAdmin & SRV_ADMF_MAINT)) {
    const nextAdmin = s.nextAdmin;
    s.nextAdmin = s.curAdmin;
    if (s.curState !== SRV_ST_STOPPED && s.nextState === SRV_ST_STOPPED) {
      s.lastChange = nowSec;
      if (lb.setServerStatusDown !== null) lb.setServerStatusDown(s);
      const xferred = pendconnRedistribute(s);
      const msg = `${s.backup ? "Backup " : ""}Server ${px.id}/${s.id} is DOWN${srvAppendStatus(s, xferred)}.`;
      logWarningLine(msg);
      sendLog(px.cfg.logs, srvWasStopping ? LOG_NOTICE : LOG_ALERT, msg);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
      s.downTrans++;
    } else if ((s.curState !== SRV_ST_RUNNING && s.nextState === SRV_ST_RUNNING) ||
               (s.curState !== SRV_ST_STARTING && s.nextState === SRV_ST_STARTING)) {
      if (px.srvBck === 0 && px.srvAct === 0) px.lastChange = nowSec;
      s.lastChange = nowSec;
      serverRecalcEweight(s);
      if (lb.updateServerEweight !== null) lb.updateServerEweight(s);
      else if (srvWillbeUsable(s)) lb.setServerStatusUp!(s);
      else lb.setServerStatusDown!(s);
      const xferred = pendconnGrabFromPx(s);
      const msg = `${s.backup ? "Backup " : ""}Server ${px.id}/${s.id} is UP${srvAppendStatus(s, xferred)}.`;
      logWarningLine(msg);
      sendLog(px.cfg.logs, LOG_NOTICE, msg);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
    } else if (s.curEweight !== s.nextEweight) {
      if (lb.updateServerEweight !== null) lb.updateServerEweight(s);
      else if (srvWillbeUsable(s)) lb.setServerStatusUp!(s);
      else lb.setServerStatusDown!(s);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
    }
    s.nextAdmin = nextAdmin;
  }
  s.opStChgReason = "";
  s.opStChgStatus = s.opStChgCode = -1;
  s.opStChgDuration = 0;
}
