/**
 * The stats socket's proxy and process commands. HAProxy 1.8: src/proxy.c (`disable/enable/shutdown
 * frontend`, `set maxconn frontend`, `show servers state`, `show backend`, `show errors`) and
 * src/cli.c (`set maxconn global`, `set rate-limit`, `show env`).
 *
 * Each command is a function of its arguments and of the caller's access level that returns the
 * text to send back (cli.ts's keyword table calls them).
 */
import { native } from "../native";
import { clock } from "../core/clock";
import { global } from "../core/global";
import { HCHK_STATUS_INI } from "../proxy/check-t";
import { type Proxy, PR_STPAUSED, PR_STSTOPPED, pauseProxy, proxies, resumeProxy, stopProxy } from "../proxy/proxy";
import { nowSec, SRV_ADMF_MAINT, SRV_ST_STOPPED } from "../proxy/server";
import { dequeueAllListeners, globalListenerQueue, resumeListener, LI_FULL } from "../net/listener";
import { ACCESS_LVL_ADMIN, ACCESS_LVL_OPER, PERMISSION_DENIED, atoi, pxUuid, svPuid } from "./stats";


/** HAProxy: cli_find_frontend(). */
function cliFindFrontend(arg: string | undefined): Proxy | string {
  if (!arg) return "A frontend name is expected.\n";
  const id = arg.startsWith("#") ? atoi(arg.slice(1)) : -1;
  const px = proxies.find((p) => p.cfg.cap.fe && pxUuid(p) > 0 && (id >= 0 ? pxUuid(p) === id : p.id === arg));
  return px ?? "No such frontend.\n";
}

/** HAProxy: cli_parse_disable_frontend() (admin level). */
export function disableFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was previously shut down, cannot disable.\n";
  if (px.state === PR_STPAUSED) return "Frontend is already disabled.\n";
  if (!pauseProxy(px)) return "Failed to pause frontend, check logs for precise cause.\n";
  return "";
}

/** HAProxy: cli_parse_enable_frontend() (admin level). */
export function enableFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was previously shut down, cannot enable.\n";
  if (px.state !== PR_STPAUSED) return "Frontend is already enabled.\n";
  if (!resumeProxy(px)) return "Failed to resume frontend, check logs for precise cause (port conflict?).\n";
  return "";
}

/** HAProxy: cli_parse_shutdown_frontend() (admin level). */
export function shutdownFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was already shut down.\n";
  stopProxy(px);
  return "";
}

/** HAProxy: cli_parse_set_maxconn_frontend() (admin level). */
export function setMaxconnFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[3]);
  if (typeof px === "string") return px;
  if (!args[4]) return "Integer value expected.\n";
  const v = atoi(args[4]);
  if (v < 0) return "Value out of range.\n";
  px.maxconn = v;
  for (const l of px.listeners) {
    l.maxconn = v;
    if (l.state === LI_FULL) resumeListener(l);
  }
  if (px.maxconn > px.feconn && px.listenerQueue.length) dequeueAllListeners(px.listenerQueue);
  return "";
}

/** HAProxy: cli_parse_set_maxconn_global() (admin level). */
export function setMaxconnGlobal(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  if (!args[3]) return "Expects an integer value.\n";
  let v = atoi(args[3]);
  if (v > global.hardmaxconn) return "Value out of range.\n";
  if (v <= 0) v = global.hardmaxconn;
  global.maxconn = v;
  if (globalListenerQueue.length) dequeueAllListeners(globalListenerQueue);
  return "";
}

/** HAProxy: cli_parse_set_ratelimit() (admin level): hapoll limits the connection rate only. */
export function setRateLimit(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const usage = "'set rate-limit' only supports :\n" +
    "   - 'connections global' to set the per-process maximum connection rate\n" +
    "   - 'sessions global' to set the per-process maximum session rate\n" +
    "   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n";
  if (args[3] !== "global") return usage;
  if (args[2] === "sessions" || args[2] === "http-compression") return `'set rate-limit ${args[2]} global' is not supported by hapoll.\n`;
  if (args[2] !== "connections") return usage;
  if (!args[4]) return "Expects an integer value.\n";
  const v = atoi(args[4]);
  if (v < 0) return "Value out of range.\n";
  global.cpsLim = v;
  if (globalListenerQueue.length) dequeueAllListeners(globalListenerQueue);
  return "";
}

/** HAProxy: cli_parse_show_env() + cli_io_handler_show_env(): "NAME=value" lines, or one variable. */
export function showEnv(args: string[], level: number): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  const env = Object.entries(process.env).filter(([k]) => !k.startsWith("HAPOLL_"));
  if (args[2]) {
    const hit = env.find(([k]) => k === args[2]);
    return hit ? `${hit[0]}=${hit[1]}\n` : "Variable not found\n";
  }
  return env.map(([k, v]) => `${k}=${v}\n`).join("");
}

/**
 * HAProxy: cli_parse_show_errors(): the last invalid HTTP request/response of each proxy. hapoll
 * proxies TCP only, where 1.8 captures nothing: the header with 0 events.
 */
export function showErrors(args: string[], level: number): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  if (args[2] && args[2] !== "-1" && !proxies.some((p) => p.id === args[2] || String(pxUuid(p)) === args[2])) {
    return "No such proxy.\n";
  }
  const d = new Date(clock.dateMs);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getMonth()];
  return `Total events captured on [${p2(d.getDate())}/${mon}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}] : 0\n`;
}

/* ------------------------------------------------------------------------------------------- */
/* show servers state, show backend (src/proxy.c)                                               */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: SRV_STATE_FILE_VERSION and SRV_STATE_FILE_FIELD_NAMES (include/types/server.h). */
export const SRV_STATE_FILE_VERSION = 1;
export const SRV_STATE_FILE_FIELD_NAMES =
  "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight " +
  "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state " +
  "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port";

/**
 * HAProxy: dump_servers_state(): one line per server of <px>. A checked server reports its check
 * (status, result, health, CHK_ST_* state); an unchecked one reports what 1.8's idle check struct
 * holds: status INI, result 0, state 0, health `rise` while up and 0 once down.
 */
function dumpServersState(px: Proxy): string {
  let out = "";
  const now = nowSec();
  for (const s of px.servers) {
    const info = s.addrLen > 0 ? native.sockaddrInfo(s.addr, s.addrLen) : null;
    const addr = info && info.family !== "unix" ? info.address : "";
    const c = s.check;
    const chk = c !== null
      ? `${c.status} ${c.result} ${c.health} ${c.state}`
      : `${HCHK_STATUS_INI} 0 ${s.curAdmin & SRV_ADMF_MAINT || s.curState === SRV_ST_STOPPED ? 0 : s.cfg.rise} 0`;
    const fqdn = s.cfg.addr.needsResolve ? s.cfg.addr.host : "-";
    out += `${pxUuid(px)} ${px.id} ${svPuid(s)} ${s.id} ${addr} ${s.curState} ${s.curAdmin} ${s.uweight} ` +
      `${s.iweight} ${now - s.lastChange} ${chk} ${s.agent !== null ? s.agent.state : 0} 0 0 ${fqdn} ${s.port}\n`;
  }
  return out;
}

/**
 * HAProxy: cli_parse_show_servers() + cli_io_handler_servers_state(): the state-file version line,
 * the field names, then the servers of every backend (or of the one named). The forced-id flags
 * are printed 0: hapoll's configuration does not keep whether an `id` was explicit.
 */
export function showServersState(args: string[]): string {
  let only: Proxy | null = null;
  if (args[3]) {
    only = proxies.find((p) => p.cfg.cap.be && p.id === args[3]) ?? null;
    if (!only) return "Can't find backend.\n";
  }
  let out = `${SRV_STATE_FILE_VERSION}\n# ${SRV_STATE_FILE_FIELD_NAMES}\n`;
  for (const px of only ? [only] : proxies) if (px.cfg.cap.be) out += dumpServersState(px);
  return out;
}

/** HAProxy: cli_io_handler_show_backend(). */
export function showBackend(): string {
  let out = "# name\n";
  for (const px of proxies) if (px.cfg.cap.be) out += `${px.id}\n`;
  return out;
}
