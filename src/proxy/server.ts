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
import type { ServerConfig } from "../config/types";
import type { ConnSource } from "../net/proto_tcp";
import { type Check } from "./checks";
import type { SrvTree } from "./lb_tree";
import type { Proxy } from "./proxy";
import type { Stream } from "./stream";
import { BeCounters } from "./counters";

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
  /** Streams waiting in this server's queue, and the queue itself. HAProxy: nbpend, pendconns. */
  nbpend = 0;
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
  /** Numeric id (`id`, else the first free one). HAProxy: puid. */
  puid: number;
  /**
   * The health check, when `check` is set. HAProxy configures it with the server (CHK_ST_CONFIGURED |
   * CHK_ST_ENABLED), so the stats report it before it first runs: serverCheckInit() (checks.ts) makes
   * it where the servers are built, and start_checks() starts its task (startHealthChecks).
   */
  check: Check | null = null;
  /** The agent check, when `agent-check` is set. HAProxy: agent. */
  agent: Check | null = null;
  /** Wall-clock second of the last state change, and the seconds spent down before it. HAProxy: last_change, down_time. */
  lastChange = nowSec();
  downTime = 0;
  /** Activity counters. HAProxy: counters (a struct be_counters). */
  readonly counters = new BeCounters();
  /** Connection rate. HAProxy: sess_per_sec. */
  readonly sessPerSec = new FreqCtr();
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

/** HAProxy: srv_inc_sess_ctr(): one more connection to <s> (cum_sess, the session rate and its max). */
export function srvIncSessCtr(s: Server): void {
  s.counters.cumSess++;
  const n = updateFreqCtr(s.sessPerSec, 1);
  if (n > s.counters.spsMax) s.counters.spsMax = n;
}

/** HAProxy: srv_set_sess_last(). */
export function srvSetSessLast(s: Server): void {
  s.counters.lastSess = nowSec();
}
