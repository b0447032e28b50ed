/**
 * Servers and proxies at run time. HAProxy 1.8: struct server (include/types/server.h),
 * struct proxy and struct lbprm (include/types/proxy.h, include/types/backend.h), the parts a TCP
 * proxy uses, and the state changes of src/server.c (srv_set_stopped, srv_set_running,
 * srv_update_status). The run-time admin commands that feed them are in server_state.ts.
 *
 * A server has a current state and a next state (HAProxy's cur_* / next_* pairs for the state,
 * the admin flags and the effective weight). Checks, the stats socket and the configuration write
 * next_*; srvUpdateStatus() applies them, and the load-balancing code compares both to see what
 * changed and commits next_* into cur_* (srv_lb_commit_status). Operational states:
 *
 *            check passes (health reaches rise)
 *   STOPPED ────────────────────────────────────▶ RUNNING     (STARTING with slowstart,
 *      ▲                                            │          which hapoll does not have)
 *      └────────────────────────────────────────────┘
 *            check fails (health falls to 0)
 *
 * Administrative flags (SRV_ADMF_*), set from the stats socket or the configuration; a server is
 * usable by load balancing only when RUNNING, with no MAINT or DRAIN flag and a non-zero weight:
 *
 *             set maint (FMAINT)                    set drain (FDRAIN)
 *   READY ──────────────────────────▶ MAINT ◀───────────────────────────── DRAIN
 *     ▲  ◀──────────────────────────  (STOPPED,  ──────────────────────▶    │ ▲
 *     │        set ready               check      set drain (UP/DRAIN)      │ │
 *     │                                paused)                              │ │
 *     └──────────────────────────────── set ready ─────────────────────────┘ │
 *     └──────────────────────────────── set drain ───────────────────────────┘
 *
 * Streams already on a server in MAINT or DRAIN continue; the ones queued on it go back to load
 * balancing under `option redispatch`. A `disabled` server starts in configured maintenance
 * (SRV_ADMF_CMAINT|SRV_ADMF_FMAINT), STOPPED, its check paused.
 */
import { clock } from "../core/clock";
import { FreqCtr, updateFreqCtr } from "../core/freq_ctr";
import type { ProxyConfig, ServerConfig } from "../config/types";
import type { Listener } from "../net/listener";
import type { ConnSource } from "../net/proto_tcp";
import { lbInit, setBackendDown } from "./backend";
import { Check, getCheckStatusDescription, CHK_ST_ENABLED, CHK_ST_PAUSED, HCHK_STATUS_L57DATA } from "./checks";
import type { SrvTree } from "./lb_tree";
import { logState, logWarningLine, sendProxyLog, LOG_ALERT, LOG_NOTICE } from "./log";
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
export const SRV_ADMF_RMAINT = 0x20;

/** Seconds of the wall clock, as HAProxy's now.tv_sec (for last_change, last_sess). */
export function nowSec(): number {
  return Math.floor(clock.dateMs / 1000);
}

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
  /** `source` on the server line: bound before connecting (HAProxy: srv->conn_src). */
  connSrc: ConnSource | null = null;
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
  /** Wall-clock second of the last state change, and the seconds spent down before it. HAProxy: last_change, down_time. */
  lastChange = nowSec();
  downTime = 0;
  /** Transitions to DOWN (checks or maintenance). HAProxy: counters.down_trans. */
  downTrans = 0;
  /** Checks that failed while the server was up. HAProxy: counters.failed_checks. */
  failedChecks = 0;
  /** Aborts by the client / the server in data phase. HAProxy: counters.cli_aborts / srv_aborts. */
  cliAborts = 0;
  srvAborts = 0;
  /** Wall-clock second of the last connection sent here, 0 = never. HAProxy: counters.last_sess. */
  lastSess = 0;
  /** Connection rate and its maximum. HAProxy: sess_per_sec, counters.sps_max. */
  readonly sessPerSec = new FreqCtr();
  spsMax = 0;
  /** Sliding sums of queue / connect / data / total times. HAProxy: counters.q_time ... t_time. */
  qTime = 0;
  cTime = 0;
  dTime = 0;
  tTime = 0;
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
    // HAProxy configures the check with the server (CHK_ST_CONFIGURED | CHK_ST_ENABLED), so the
    // stats report it before it first runs; start_checks() starts its task (startHealthChecks).
    if (cfg.check) this.check = new Check(this);
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
  /** Frontend counters for `show stat` and logs. HAProxy: fe_counters.bytes_in/out, cli/srv_aborts. */
  bytesIn = 0;
  bytesOut = 0;
  cliAborts = 0;
  srvAborts = 0;
  /** Frontend connection and session rates and their maxima. HAProxy: fe_conn_per_sec, fe_sess_per_sec. */
  readonly feConnPerSec = new FreqCtr();
  readonly feSessPerSec = new FreqCtr();
  feCpsMax = 0;
  feSpsMax = 0;
  /**
   * Backend counters (HAProxy: be_counters). Kept apart from the frontend ones because a `listen`
   * proxy is both and HAProxy reports each side with its own counters.
   */
  beBytesIn = 0;
  beBytesOut = 0;
  beCliAborts = 0;
  beSrvAborts = 0;
  /** Backend connection failures, retries, redispatches. HAProxy: be_counters.failed_conns ... */
  failedConns = 0;
  /**
   * Connections closed before becoming a stream because their handshake failed: a PROXY header
   * that was malformed, truncated, or not received within `timeout client` (accept-proxy).
   */
  failedHandshakes = 0;
  /** Connections / requests / responses denied by tcp-request and tcp-response rules. HAProxy: denied_conn, denied_req, denied_resp. */
  deniedConn = 0;
  deniedReq = 0;
  deniedResp = 0;
  /** ACL-based rules bound to runtime objects; null for a proxy without rules (the plain TCP path). */
  rules: import("./tcp_rules").ProxyRules | null = null;
  retries = 0;
  redispatches = 0;
  /** Highest beconn seen. HAProxy: be_counters.conn_max (nbpend_max is with the queue above). */
  beconnMax = 0;
  /** Times the LB picked a server. HAProxy: be_counters.cum_lbconn (`lbtot`). */
  cumLbconn = 0;
  /** Backend session rate and its maximum. HAProxy: be_sess_per_sec, be_counters.sps_max. */
  readonly beSessPerSec = new FreqCtr();
  beSpsMax = 0;
  /** Wall-clock second of the last session, 0 = never. HAProxy: be_counters.last_sess. */
  lastSess = 0;
  /**
   * Last time the backend lost its last server or got one back, the seconds it spent without one
   * before that, and how many times it lost its last server. HAProxy: last_change, down_time,
   * down_trans.
   */
  lastChange = nowSec();
  downTime = 0;
  downTrans = 0;
  /** Sliding sums of queue / connect / data / total times. HAProxy: be_counters.q_time ... t_time. */
  qTime = 0;
  cTime = 0;
  dTime = 0;
  tTime = 0;
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

/**
 * The common start of every algorithm's update_server_eweight (fwrr, fwlc, fas): nothing changed ->
 * done; unusable before and after -> commit; becoming usable / unusable -> <up> / <down>. Returns
 * true when the server stays usable with a new weight and the algorithm must reposition it.
 */
export function lbWeightChangeNeedsMove(srv: Server, up: (srv: Server) => void, down: (srv: Server) => void): boolean {
  if (!srvLbStatusChanged(srv)) return false;
  const oldState = srvCurrentlyUsable(srv);
  const newState = srvWillbeUsable(srv);
  if (!oldState && !newState) {
    srvLbCommitStatus(srv);
    return false;
  }
  if (!oldState && newState) {
    up(srv);
    return false;
  }
  if (oldState && !newState) {
    down(srv);
    return false;
  }
  return true;
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

/** HAProxy: srv_inc_sess_ctr(): one more connection to <s> (cum_sess, the session rate and its max). */
export function srvIncSessCtr(s: Server): void {
  s.cumSess++;
  const n = updateFreqCtr(s.sessPerSec, 1);
  if (n > s.spsMax) s.spsMax = n;
}

/** HAProxy: srv_set_sess_last(). */
export function srvSetSessLast(s: Server): void {
  s.lastSess = nowSec();
}

/** The load-balancing propagation srv_update_status() does after a state or weight change. */
function srvLbPropagate(s: Server): void {
  const lb = s.proxy.lbprm;
  if (lb.updateServerEweight !== null) lb.updateServerEweight(s);
  else if (srvWillbeUsable(s)) {
    if (lb.setServerStatusUp !== null) lb.setServerStatusUp(s);
  } else if (lb.setServerStatusDown !== null) {
    lb.setServerStatusDown(s);
  }
}

/** ha_warning() plus send_log() of a state-change message (HAProxy adds the final "."). */
function srvNotify(px: Proxy, level: number, msg: string): void {
  logWarningLine(`${msg}.`);
  sendProxyLog(px, level, `${msg}.`);
}

/** "Backup Server px/s" or "Server px/s", the subject of every state-change message. */
function srvName(s: Server): string {
  return `${s.backup ? "Backup " : ""}Server ${s.proxy.id}/${s.id}`;
}

/**
 * HAProxy: srv_update_status(). Apply <s>'s pending changes (next_state, next_admin, next_eweight)
 * in 1.8's order, with 1.8's messages on stderr and to the backend's log targets:
 *
 * - operational (skipped while in maintenance): DOWN (the queue goes back to load balancing under
 *   `option redispatch`), UP (the server takes streams from the backend's queue), or a weight
 *   change;
 * - administrative: entering maintenance (the check is paused, the server is forced DOWN, its queue
 *   redistributed), leaving it (the check restarts at `rise`, "start OK but check immediately";
 *   the server is UP at once unless its check says otherwise), entering drain (out of load
 *   balancing, queue redistributed, live streams kept), leaving it.
 *
 * "proxy 'b' has no server available!" follows when the last usable server went away. HAProxy
 * registers the change and applies it at a sync point of the loop (servers_update_status); hapoll
 * applies it at once, as HAProxy 1.9 does again. Entering maintenance commits the admin flags and
 * the STOPPED state as 1.8.3 does (the 1.8.0 code left a DOWN server's flags uncommitted and a
 * running server's state RUNNING: fixed upstream by 8f29829e and e3114803, backported to 1.8).
 * STOPPING (NOLB), slowstart, tracking and agents are not in hapoll, so their branches are not
 * either.
 */
export function srvUpdateStatus(s: Server): void {
  const px = s.proxy;
  lbInit(px);
  const check = s.check;
  const prevSrvCount = px.srvBck + px.srvAct;
  const srvWasStopping = s.curState === SRV_ST_STOPPING || (s.curAdmin & SRV_ADMF_DRAIN) !== 0;
  const now = nowSec();
  let xferred: number;

  // Pending operational changes, unless in maintenance.
  if (!(s.curAdmin & SRV_ADMF_MAINT)) {
    const nextAdmin = s.nextAdmin;
    // The LB sees the current admin flags here; the admin part below applies the new ones.
    s.nextAdmin = s.curAdmin;
    if (s.curState !== SRV_ST_STOPPED && s.nextState === SRV_ST_STOPPED) {
      s.lastChange = now;
      const down = px.lbprm.setServerStatusDown;
      if (down !== null) down(s);
      xferred = pendconnRedistribute(s);
      const msg = `${srvName(s)} is DOWN${srvAppendStatus(s, xferred)}`;
      // No alert when the server was draining or stopping.
      srvNotify(px, srvWasStopping ? LOG_NOTICE : LOG_ALERT, msg);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
      s.downTrans++;
    } else if ((s.curState !== SRV_ST_RUNNING && s.nextState === SRV_ST_RUNNING) ||
               (s.curState !== SRV_ST_STARTING && s.nextState === SRV_ST_STARTING)) {
      if (px.srvBck === 0 && px.srvAct === 0) {
        if (px.lastChange < now) px.downTime += now - px.lastChange;
        px.lastChange = now;
      }
      // 1.8 adds the time spent down to down_time only when next_state is STOPPED, never true
      // here: a server coming UP keeps its down_time (srv_downtime() then stops counting).
      s.lastChange = now;
      serverRecalcEweight(s);
      srvLbPropagate(s);
      xferred = pendconnGrabFromPx(s);
      srvNotify(px, LOG_NOTICE, `${srvName(s)} is UP${srvAppendStatus(s, xferred)}`);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
    } else if (s.curEweight !== s.nextEweight) {
      srvLbPropagate(s);
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
    }
    s.nextAdmin = nextAdmin;
  }
  s.opStChgReason = "";
  s.opStChgStatus = s.opStChgCode = -1;
  s.opStChgDuration = 0;

  // Pending administrative changes. Maintenance also pauses the health check.
  if (!(s.curAdmin & SRV_ADMF_MAINT) && (s.nextAdmin & SRV_ADMF_MAINT)) {
    if (check !== null && (check.state & CHK_ST_ENABLED)) {
      check.state |= CHK_ST_PAUSED;
      check.health = 0;
    }
    if (s.curState === SRV_ST_STOPPED) {
      if (!logState.starting) {
        srvNotify(px, LOG_NOTICE, `${srvName(s)} was DOWN and now enters maintenance${srvAppendStatus(s, -1)}`);
      }
      s.curAdmin = s.nextAdmin;
    } else {
      if (check !== null) check.health = 0;
      s.lastChange = now;
      s.nextState = SRV_ST_STOPPED;
      const down = px.lbprm.setServerStatusDown;
      if (down !== null) down(s);
      // Streams queued on this server go back to load balancing (option redispatch).
      xferred = pendconnRedistribute(s);
      if (!logState.starting) {
        srvNotify(px, srvWasStopping ? LOG_NOTICE : LOG_ALERT,
          `${srvName(s)} is going DOWN for maintenance${srvAppendStatus(s, xferred)}`);
      }
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
      s.downTrans++;
    }
  } else if ((s.curAdmin & SRV_ADMF_MAINT) && !(s.nextAdmin & SRV_ADMF_MAINT)) {
    // Leaving maintenance: UP at once when nothing says otherwise (no check, or a check that
    // restarts at rise); the server may still be draining, which the LB deals with.
    if (check !== null && (check.state & CHK_ST_ENABLED)) {
      check.state &= ~CHK_ST_PAUSED;
      check.health = check.rise;
    }
    if (check === null || !(check.state & CHK_ST_ENABLED) || check.health >= check.rise) {
      s.nextState = SRV_ST_RUNNING;
    }
    if (!(s.nextAdmin & SRV_ADMF_FMAINT) && (s.curAdmin & SRV_ADMF_FMAINT)) {
      srvNotify(px, LOG_NOTICE, `${srvName(s)} is ${s.nextState === SRV_ST_STOPPED ? "DOWN" : "UP"}/` +
        `${s.nextAdmin & SRV_ADMF_DRAIN ? "DRAIN" : "READY"} (leaving forced maintenance)`);
    }
    serverRecalcEweight(s);
    srvLbPropagate(s);
    if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
  } else if (s.nextAdmin & SRV_ADMF_MAINT) {
    // Remaining in maintenance (e.g. the drain flag changed underneath): nothing to report
    // without tracking or DNS, which are the other sources of maintenance.
    s.curAdmin = s.nextAdmin;
  }

  if (!(s.nextAdmin & SRV_ADMF_MAINT)) {
    if (!(s.curAdmin & SRV_ADMF_DRAIN) && (s.nextAdmin & SRV_ADMF_DRAIN)) {
      s.lastChange = now;
      const down = px.lbprm.setServerStatusDown;
      if (down !== null) down(s);
      xferred = pendconnRedistribute(s);
      if (!logState.starting) {
        srvNotify(px, LOG_NOTICE, `${srvName(s)} enters drain state${srvAppendStatus(s, xferred)}`);
      }
      if (prevSrvCount && px.srvBck === 0 && px.srvAct === 0) setBackendDown(px);
    } else if ((s.curAdmin & SRV_ADMF_DRAIN) && !(s.nextAdmin & SRV_ADMF_DRAIN)) {
      if (px.srvBck === 0 && px.srvAct === 0) {
        if (px.lastChange < now) px.downTime += now - px.lastChange;
        px.lastChange = now;
      }
      if (s.lastChange < now) s.downTime += now - s.lastChange;
      s.lastChange = now;
      serverRecalcEweight(s);
      const st = s.nextState === SRV_ST_STOPPED ? "DOWN" : "UP";
      srvNotify(px, LOG_NOTICE, !(s.nextAdmin & SRV_ADMF_FDRAIN)
        ? `${srvName(s)} is ${st} (leaving forced drain)`
        : `${srvName(s)} is ${st} (leaving drain)`);
      srvLbPropagate(s);
    } else if (s.nextAdmin & SRV_ADMF_DRAIN) {
      srvNotify(px, LOG_NOTICE, !(s.nextAdmin & SRV_ADMF_FDRAIN)
        ? `${srvName(s)} is leaving forced drain but remains in drain mode`
        : `${srvName(s)} remains in forced drain mode`);
      s.curAdmin = s.nextAdmin;
    }
  }
}
