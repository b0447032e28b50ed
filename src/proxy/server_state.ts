/**
 * Administrative server states (maintenance, drain) and run-time weight changes. HAProxy 1.8:
 * srv_adm_set_maint() / srv_adm_set_drain() / srv_adm_set_ready() (include/proto/server.h),
 * srv_set_admin_flag(), srv_clr_admin_flag(), the admin part of srv_update_status(),
 * srv_append_status(), server_parse_weight_change_request() (src/server.c), pendconn_redistribute()
 * (src/queue.c) and set_backend_down() (src/backend.c).
 *
 * The states a server goes through by administrative action (the operational state, curState,
 * follows: MAINT forces it to STOPPED, leaving MAINT brings it back up):
 *
 *             set maint                    set drain
 *   READY ───────────────▶ MAINT ◀─────────────────────── DRAIN
 *     ▲  ◀─────────────── (STOPPED) ───────────────────▶  ▲ │
 *     │       set ready                  set drain         │ │
 *     └──────────────────────── set ready ─────────────────┘ │
 *                           (and `set drain` from READY) ────┘
 *
 * A server in MAINT or DRAIN is skipped by load balancing (srvIsUsable()); streams already on it
 * continue. Streams waiting in its queue are sent back to load balancing when the backend has
 * `option redispatch`, as HAProxy does.
 *
 * HAProxy applies these changes from a sync point at the end of the loop turn; hapoll applies them
 * at once (same turn, same messages).
 */
import { taskWakeup, TASK_WOKEN_RES } from "../core/task";
import { backendHooks, backendQueueHooks } from "./hooks";
import { logAlertLine, logWarningLine, sendLog, LOG_ALERT, LOG_EMERG, LOG_NOTICE } from "./log";
import {
  nowSec, Proxy, Server, SRV_ADMF_DRAIN, SRV_ADMF_FDRAIN, SRV_ADMF_FMAINT, SRV_ADMF_MAINT, SRV_ST_RUNNING,
  SRV_ST_STOPPED, SRV_ST_STOPPING,
} from "./server";
import { streams, SF_ADDR_SET, SF_ASSIGNED, SF_DIRECT, SF_FORCE_PRST } from "./stream";
import { SI_ST_QUE } from "./stream_interface";

/** HAProxy: proxy_cap_str() / proxy_type_str(). */
export function proxyCapStr(p: Proxy): string {
  if (p.cfg.cap.fe && p.cfg.cap.be) return "proxy";
  return p.cfg.cap.fe ? "frontend" : "backend";
}

/** HAProxy: BE_LB_PROP_DYN: whether the backend's algorithm accepts any weight at run time. */
export function lbIsDynamic(p: Proxy): boolean {
  const a = p.cfg.balance;
  return a === "roundrobin" || a === "leastconn" || a === "first";
}

/** HAProxy: set_backend_down(): the backend has no usable server left. */
export function setBackendDown(be: Proxy): void {
  be.lastChange = nowSec();
  be.downTrans++;
  logAlertLine(`${proxyCapStr(be)} '${be.id}' has no server available!`);
  sendLog(be.cfg.logs, LOG_EMERG, `${proxyCapStr(be)} ${be.id} has no server available!`);
}

/** A backend that has just regained a usable server accounts the time it spent down. */
function backendMayBeUp(be: Proxy, hadNone: boolean): void {
  if (!hadNone || be.activeServers() + be.backupServers() === 0) return;
  const now = nowSec();
  if (be.lastChange < now) be.downTime += now - be.lastChange;
  be.lastChange = now;
}

/**
 * HAProxy: pendconn_redistribute(). With `option redispatch`, the streams waiting in <s>'s queue
 * go back to load balancing (they are woken and pick another server). Returns how many moved.
 */
export function pendconnRedistribute(s: Server): number {
  const be = s.proxy;
  if (!be.cfg.options.redispatch) return 0;
  let xferred = 0;
  for (const st of streams) {
    if (st.target !== s || st.pendQueue === null || st.si[1].state !== SI_ST_QUE) continue;
    if (st.flags & SF_FORCE_PRST) continue;
    // Out of the server's queue first: the queue accounting looks at the stream's target.
    backendQueueHooks.remove(st);
    st.flags &= ~(SF_DIRECT | SF_ASSIGNED | SF_ADDR_SET);
    taskWakeup(st.task, TASK_WOKEN_RES);
    xferred++;
  }
  return xferred;
}

/** HAProxy: srv_append_status() without check results (hapoll's checks report elsewhere). */
function appendStatus(s: Server, xferred: number): string {
  if (xferred < 0) return "";
  const be = s.proxy;
  const act = be.activeServers();
  const bck = be.backupServers();
  const onBackup = bck && !act ? " Running on backup." : "";
  if (s.curState === SRV_ST_STOPPED) {
    return `. ${act} active and ${bck} backup servers left.${onBackup} ${s.curSess} sessions active, ` +
      `${xferred} requeued, ${s.nbpend} remaining in queue`;
  }
  return `. ${act} active and ${bck} backup servers online.${onBackup} ${xferred} sessions requeued, ${s.nbpend} total in queue`;
}

function notify(s: Server, msg: string, level: number): void {
  logWarningLine(`${msg}.`);
  sendLog(s.proxy.cfg.logs, level, `${msg}.`);
}

function name(s: Server): string {
  return `${s.cfg.backup ? "Backup " : ""}Server ${s.proxy.id}/${s.id}`;
}

/**
 * HAProxy: the administrative part of srv_update_status(): move <s> from its current admin state
 * to <next>, with HAProxy's log lines, queue redistribution and backend up/down accounting.
 */
function srvApplyAdmin(s: Server, next: number): void {
  const cur = s.adminState;
  if (cur === next) return;
  const be = s.proxy;
  const prevCount = be.activeServers() + be.backupServers();
  const wasStopping = s.curState === SRV_ST_STOPPING || (cur & SRV_ADMF_DRAIN) !== 0;

  if (!(cur & SRV_ADMF_MAINT) && (next & SRV_ADMF_MAINT)) {
    if (s.curState === SRV_ST_STOPPED) {
      s.adminState = next;
      notify(s, `${name(s)} was DOWN and now enters maintenance`, LOG_NOTICE);
    } else {
      s.lastChange = nowSec();
      s.curState = SRV_ST_STOPPED;
      s.adminState = next;
      const xferred = pendconnRedistribute(s);
      notify(s, `${name(s)} is going DOWN for maintenance${appendStatus(s, xferred)}`, wasStopping ? LOG_NOTICE : LOG_ALERT);
      if (prevCount && be.activeServers() + be.backupServers() === 0) setBackendDown(be);
      s.downTrans++;
    }
    return;
  }

  if ((cur & SRV_ADMF_MAINT) && !(next & SRV_ADMF_MAINT)) {
    // Nothing keeps it down (hapoll's servers come up at once: no slowstart, checks restart as up).
    const now = nowSec();
    if (s.curState === SRV_ST_STOPPED && s.lastChange < now) s.downTime += now - s.lastChange;
    s.lastChange = now;
    s.curState = SRV_ST_RUNNING;
    s.adminState = next;
    if (cur & SRV_ADMF_FMAINT) {
      notify(s, `${name(s)} is UP/${next & SRV_ADMF_DRAIN ? "DRAIN" : "READY"} (leaving forced maintenance)`, LOG_NOTICE);
    }
    backendMayBeUp(be, prevCount === 0);
    if (prevCount && be.activeServers() + be.backupServers() === 0) setBackendDown(be);
    backendHooks.serverSlotFreed(s);
    return;
  }

  if (next & SRV_ADMF_MAINT) {
    // Staying in maintenance (e.g. the drain flag changed underneath): nothing to report.
    s.adminState = next;
    return;
  }

  if (!(cur & SRV_ADMF_DRAIN) && (next & SRV_ADMF_DRAIN)) {
    s.lastChange = nowSec();
    s.adminState = next;
    const xferred = pendconnRedistribute(s);
    notify(s, `${name(s)} enters drain state${appendStatus(s, xferred)}`, LOG_NOTICE);
    if (prevCount && be.activeServers() + be.backupServers() === 0) setBackendDown(be);
  } else if ((cur & SRV_ADMF_DRAIN) && !(next & SRV_ADMF_DRAIN)) {
    const now = nowSec();
    if (s.lastChange < now) s.downTime += now - s.lastChange;
    s.lastChange = now;
    s.adminState = next;
    notify(s, `${name(s)} is ${s.curState === SRV_ST_STOPPED ? "DOWN" : "UP"} (leaving forced drain)`, LOG_NOTICE);
    backendMayBeUp(be, prevCount === 0);
    backendHooks.serverSlotFreed(s);
  } else {
    s.adminState = next;
  }
}

/** HAProxy: srv_adm_set_maint(): force maintenance (`disable server`, `set server ... state maint`). */
export function srvAdmSetMaint(s: Server): void {
  srvApplyAdmin(s, (s.adminState | SRV_ADMF_FMAINT) & ~SRV_ADMF_FDRAIN);
}

/** HAProxy: srv_adm_set_drain(): force drain (`set server ... state drain`). */
export function srvAdmSetDrain(s: Server): void {
  // HAProxy sets the drain flag first (leaving maintenance shows ".../DRAIN"), then clears FMAINT.
  srvApplyAdmin(s, s.adminState | SRV_ADMF_FDRAIN);
  srvApplyAdmin(s, s.adminState & ~SRV_ADMF_FMAINT);
}

/** HAProxy: srv_adm_set_ready(): leave forced drain and forced maintenance (`enable server`). */
export function srvAdmSetReady(s: Server): void {
  srvApplyAdmin(s, s.adminState & ~SRV_ADMF_FDRAIN);
  srvApplyAdmin(s, s.adminState & ~SRV_ADMF_FMAINT);
}

/**
 * HAProxy: server_parse_weight_change_request(). Set <s>'s weight from "<N>" (absolute, 0..256)
 * or "<N>%" (relative to the configured weight). Returns null, or HAProxy's error message.
 */
export function serverParseWeightChangeRequest(s: Server, str: string): string | null {
  if (!str) return "Require <weight> or <weight%>.\n";
  const m = /^\s*([+-]?\d+)(.*)$/s.exec(str);
  if (!m) return "Empty weight string empty or preceded by garbage";
  let w = Number(m[1]);
  const end = m[2];
  if (end === "%") {
    if (w < 0) return "Relative weight must be positive.\n";
    if (w > 25600) w = 25600;
    w = Math.floor((s.iweight * w) / 100);
    if (w > 256) w = 256;
  } else if (w < 0 || w > 256) {
    return "Absolute weight can only be between 0 and 256 inclusive.\n";
  } else if (end !== "") {
    return "Trailing garbage in weight string";
  }
  const be = s.proxy;
  if (w && w !== s.iweight && !lbIsDynamic(be)) {
    return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  }
  const prevCount = be.activeServers() + be.backupServers();
  s.uweight = w;
  s.weight = w;
  if (prevCount && be.activeServers() + be.backupServers() === 0) setBackendDown(be);
  backendMayBeUp(be, prevCount === 0);
  if (w > 0) backendHooks.serverSlotFreed(s);
  return null;
}
