/**
 * Run-time administrative changes of a server: maintenance, drain and weight, as the stats socket
 * requests them (`disable/enable server`, `set server ... state|weight`, `set weight`, `shutdown
 * sessions server`). HAProxy 1.8: srv_set_admin_flag(), srv_clr_admin_flag(),
 * server_parse_weight_change_request(), srv_shutdown_streams() (src/server.c) and
 * srv_adm_set_maint() / srv_adm_set_drain() / srv_adm_set_ready() (include/proto/server.h).
 *
 * These only write the server's next state (next_admin, uweight -> next_eweight); srvUpdateStatus()
 * in server.ts applies it: the load balancer, the queues (a server entering MAINT or DRAIN gives its
 * queue back to load balancing under `option redispatch`; one coming back takes streams from the
 * backend's queue), the health check (paused in MAINT), and 1.8's log lines. HAProxy applies the
 * change at the next sync point of the loop; hapoll at once, one flag at a time, as HAProxy 1.9
 * does again (so `set server ... state drain` from MAINT logs the leaving-maintenance line with
 * "UP/DRAIN", exactly as 1.8 does).
 */
import { type Proxy, proxyCapStr } from "./proxy";
import {
  type Server, serverRecalcEweight, SRV_ADMF_FDRAIN, SRV_ADMF_FMAINT, SRV_ADMF_DRAIN, SRV_ADMF_MAINT, SRV_ST_RUNNING,
  SRV_ST_STARTING, SRV_ST_STOPPED, SRV_ST_STOPPING, nowSec, srvWillbeUsable,
} from "./server";
import { streams, streamShutdown } from "./stream";
import { CHK_ST_ENABLED, CHK_ST_PAUSED, HCHK_STATUS_L57DATA, getCheckStatusDescription } from "./check-t";
import { type Check } from "./checks";
import { LOG_ALERT, LOG_EMERG, LOG_NOTICE, logAlertLine, logState, logWarningLine, sendProxyLog } from "../core/log";
import { lbInit } from "./backend";
import { pendconnGrabFromPx, pendconnRedistribute } from "./queue";

/**
 * HAProxy: srv_set_admin_flag(). Set admin flag <mode> (one SRV_ADMF_* flag) on <s> and apply the
 * change. Nothing happens when the flag is already set. The propagation to tracking servers
 * (IMAINT/IDRAIN) has no object in hapoll, which has no `track`.
 */
export function srvSetAdminFlag(s: Server, mode: number): void {
  if (!mode) return;
  if (s.nextAdmin & mode) return;
  s.nextAdmin |= mode;
  srvUpdateStatus(s);
}

/** HAProxy: srv_clr_admin_flag(). Clear admin flag <mode> of <s> and apply the change. */
export function srvClrAdminFlag(s: Server, mode: number): void {
  if (!mode) return;
  if (!(s.nextAdmin & mode)) return;
  s.nextAdmin &= ~mode;
  srvUpdateStatus(s);
}

/** HAProxy: srv_adm_set_maint(): forced maintenance (`disable server`, `set server ... state maint`). */
export function srvAdmSetMaint(s: Server): void {
  srvSetAdminFlag(s, SRV_ADMF_FMAINT);
  srvClrAdminFlag(s, SRV_ADMF_FDRAIN);
}

/** HAProxy: srv_adm_set_drain(): forced drain (`set server ... state drain`). */
export function srvAdmSetDrain(s: Server): void {
  srvSetAdminFlag(s, SRV_ADMF_FDRAIN);
  srvClrAdminFlag(s, SRV_ADMF_FMAINT);
}

/** HAProxy: srv_adm_set_ready(): out of forced drain and forced maintenance (`enable server`). */
export function srvAdmSetReady(s: Server): void {
  srvClrAdminFlag(s, SRV_ADMF_FDRAIN);
  srvClrAdminFlag(s, SRV_ADMF_FMAINT);
}

/**
 * HAProxy: BE_LB_PROP_DYN: whether the backend's algorithm takes any weight at run time (the map
 * algorithms, static-rr and source, only take 0% and 100%).
 */
export function lbIsDynamic(p: Proxy): boolean {
  const a = p.cfg.balance;
  return a === "roundrobin" || a === "leastconn" || a === "first";
}

/**
 * HAProxy: server_parse_weight_change_request(). Set <s>'s user weight from "<N>" (absolute,
 * 0..256) or "<N>%" (relative to the configured weight, capped at 256), then recompute its
 * effective weight and apply it (server_recalc_eweight() registers the update). Returns null, or
 * HAProxy's error message.
 */
export function serverParseWeightChangeRequest(s: Server, str: string | undefined): string | null {
  if (!str) return "Require <weight> or <weight%>.\n";
  // strtol(): leading blanks, a sign, digits.
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)(.*)$/s.exec(str);
  if (!m) return "Empty weight string empty or preceded by garbage";
  let w = Number(m[1]);
  const end = m[2];
  if (end === "%") {
    if (w < 0) return "Relative weight must be positive.\n";
    if (w > 25600) w = 25600;
    w = Math.trunc((s.iweight * w) / 100);
    if (w > 256) w = 256;
  } else if (w < 0 || w > 256) {
    return "Absolute weight can only be between 0 and 256 inclusive.\n";
  } else if (end !== "") {
    return "Trailing garbage in weight string";
  }
  if (w && w !== s.iweight && !lbIsDynamic(s.proxy)) {
    return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  }
  s.uweight = w;
  serverRecalcEweight(s);
  srvUpdateStatus(s);
  return null;
}

/**
 * HAProxy: srv_shutdown_streams(): shut every stream holding a connection slot on <srv> (its
 * actconns list), with termination code <why> (SF_ERR_*).
 */
export function srvShutdownStreams(srv: Server, why: number): void {
  for (const s of [...streams]) if (s.srvConn === srv) streamShutdown(s, why);
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
      s.counters.downTrans++;
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
      s.counters.downTrans++;
    }
  } else if ((s.curAdmin & SRV_ADMF_MAINT) && !(s.nextAdmin & SRV_ADMF_MAINT)) {
    // Leaving maintenance: UP at once when nothing says otherwise (no check, or a check that
    // restarts at rise); the server may still be draining, which the LB deals with.
    if (check !== null && (check.state & CHK_ST_ENABLED)) {
      check.state &= ~CHK_ST_PAUSED;
      check.health = check.rise;
    }
    const agent = s.agent;
    if ((check === null || !(check.state & CHK_ST_ENABLED) || check.health >= check.rise) &&
        (agent === null || !(agent.state & CHK_ST_ENABLED) || agent.health >= agent.rise)) {
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

/** HAProxy: set_backend_down(): <be> lost its last usable server. */
export function setBackendDown(be: Proxy): void {
  be.lastChange = nowSec();
  be.downTrans++;
  logAlertLine(`${proxyCapStr(be.cfg)} '${be.id}' has no server available!`);
  sendProxyLog(be, LOG_EMERG, `${proxyCapStr(be.cfg)} ${be.id} has no server available!`);
}
