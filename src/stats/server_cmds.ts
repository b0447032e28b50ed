/**
 * The stats socket's server commands. HAProxy 1.8 keeps them next to the servers, in src/server.c:
 * `disable/enable server`, `set server` (state, weight, health, agent, addr), `get/set weight`,
 * `disable/enable health`, `disable/enable agent`, and the "<backend>/<server>" lookup they share.
 *
 * Each command is a function of its arguments and of the caller's access level that returns the
 * text to send back (cli.ts's keyword table calls them).
 */
import { native, C } from "../native";
import { CHK_ST_ENABLED } from "../proxy/check-t";
import { setCheckAddr } from "../proxy/checks";
import { type Proxy, PR_STSTOPPED, proxies } from "../proxy/proxy";
import { type Server, SRV_ADMF_RMAINT } from "../proxy/server";
import {
  serverParseWeightChangeRequest, srvAdmSetDrain, srvAdmSetMaint, srvAdmSetReady, srvClrAdminFlag, srvSetRunning,
  srvSetStopped,
} from "../proxy/server_state";
import { ACCESS_LVL_ADMIN, PERMISSION_DENIED, atoi, pxUuid, svPuid } from "./stats";
import { cliEnableAgent, cliSetServerAgent } from "./agent_cli";

/** HAProxy: get_backend_server(): "<backend>/<server>", each a name or "#<id>". */
function getBackendServer(bk: string, sv: string): { px: Proxy | null; srv: Server | null } {
  const pid = bk.startsWith("#") ? atoi(bk.slice(1)) : -1;
  const sid = sv.startsWith("#") ? atoi(sv.slice(1)) : -1;
  const px = proxies.find((p) => p.cfg.cap.be && (pid >= 0 ? pxUuid(p) === pid : p.id === bk)) ?? null;
  if (!px) return { px: null, srv: null };
  const srv = px.servers.find((s) => (sid >= 0 ? svPuid(s) === sid : s.id === sv)) ?? null;
  return { px, srv };
}

/** HAProxy: cli_find_server(): the server named by "<backend>/<server>", or the error message. */
export function cliFindServer(arg: string): Server | string {
  const slash = arg.indexOf("/");
  const bk = slash >= 0 ? arg.slice(0, slash) : arg;
  const sv = slash >= 0 ? arg.slice(slash + 1) : "";
  if (!sv || !bk) return "Require 'backend/server'.\n";
  const { px, srv } = getBackendServer(bk, sv);
  if (!srv) return px ? "No such server.\n" : "No such backend.\n";
  if (px!.state === PR_STSTOPPED) return "Proxy is disabled.\n";
  return srv;
}

/** HAProxy: cli_parse_disable_server() (admin level). */
export function disableServer(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  srvAdmSetMaint(sv);
  return "";
}

/** HAProxy: cli_parse_enable_server() (admin level). */
export function enableServer(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  srvAdmSetReady(sv);
  return "";
}

/**
 * HAProxy: cli_parse_set_server() (admin level): `state ready|drain|maint` and `weight <w>[%]`.
 * The other subcommands of 1.8 (fqdn, check-port) are not in hapoll.
 */
export function setServer(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  if (args[3] === "weight") return serverParseWeightChangeRequest(sv, args[4]) ?? "";
  if (args[3] === "state") {
    if (args[4] === "ready") srvAdmSetReady(sv);
    else if (args[4] === "drain") srvAdmSetDrain(sv);
    else if (args[4] === "maint") srvAdmSetMaint(sv);
    else return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
    return "";
  }
  if (args[3] === "health") {
    const c = sv.check;
    if (args[4] === "up" || args[4] === "stopping") {
      if (args[4] === "stopping") return "'set server <srv> health stopping' is not supported by hapoll (no stopping state without http-check disable-on-404).\n";
      if (c) c.health = c.rise + c.fall - 1;
      srvSetRunning(sv, "changed from CLI", null);
    } else if (args[4] === "down") {
      if (c) c.health = 0;
      srvSetStopped(sv, "changed from CLI", null);
    } else return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n";
    return "";
  }
  if (args[3] === "agent" || args[3] === "agent-addr" || args[3] === "agent-send") return cliSetServerAgent(sv, args[3], args[4]);
  if (args[3] === "addr") {
    if (!args[4]) return "set server <b>/<s> addr requires an address and optionally a port.\n";
    const msg = updateServerAddrPort(sv, args[4], args[5] === "port" ? args[6] : undefined, "stats socket command");
    srvClrAdminFlag(sv, SRV_ADMF_RMAINT);
    return msg;
  }
  if (["fqdn", "check-port"].includes(args[3])) {
    return `'set server <srv> ${args[3]}' is not supported by hapoll.\n`;
  }
  return "'set server <srv>' only supports 'agent', 'health', 'state', 'weight', 'addr', 'fqdn' and 'check-port'.\n";
}

/**
 * HAProxy: update_server_addr_port(): move <sv> to <addr> (same family) and, when given, <port>
 * ("+N"/"-N" port maps are refused: hapoll keeps offsets to the configuration). The check follows
 * the server unless it has its own address/port. Returns 1.8's report line.
 */
function updateServerAddrPort(sv: Server, addr: string, port: string | undefined, updater: string): string {
  const family = addr.includes(":") ? "ipv6" : "ipv4";
  const probe = Buffer.alloc(C.SOCKADDR_MAX);
  if (!/^[0-9a-fA-F.:]+$/.test(addr) || native.sockaddrFrom(family, addr, 0, probe) < 0) return `Invalid addr '${addr}' by '${updater}'\n`;
  if (sv.cfg.addr.family === "unix") return `Update for the current server address family is only supported through configuration file by '${updater}'\n`;
  let msg: string;
  let host = sv.host;
  if (addr === sv.host) msg = "no need to change the addr";
  else {
    msg = `IP changed from '${sv.host}' to '${addr}'`;
    host = addr;
  }
  let newPort = sv.port;
  if (port !== undefined) {
    msg += ", ";
    const m = /^\s*([+-]?)(\d+)/.exec(port);
    if (!m) return `${msg}problem converting port '${port}' to an int by '${updater}'\n`;
    if (m[1]) return `${msg}port maps ('${port}') are only supported through the configuration file in hapoll by '${updater}'\n`;
    const p = Number(m[2]) & 0xffff;
    if (p !== sv.port) {
      msg += `port changed from '${sv.port}' to '${p}'`;
      newPort = p;
    } else msg += "no need to change the port";
  }
  const buf = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(family, host, newPort, buf);
  if (len > 0) {
    sv.addr = buf;
    sv.addrLen = len;
    sv.host = host;
    sv.port = newPort;
    (sv.cfg.addr as { family: string }).family = family;
    if (sv.check) setCheckAddr(sv.check, sv);
    if (sv.agent) setCheckAddr(sv.agent, sv);
  }
  return `${msg} by '${updater}'\n`;
}

/** HAProxy: cli_parse_enable_health() / cli_parse_disable_health() (admin level). */
export function setHealth(args: string[], level: number, enable: boolean): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  if (sv.check) {
    if (enable) sv.check.state |= CHK_ST_ENABLED;
    else sv.check.state &= ~CHK_ST_ENABLED;
  }
  return "";
}

/** HAProxy: cli_parse_enable_agent() / cli_parse_disable_agent(). */
export function setAgent(args: string[], level: number, enable: boolean): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  return cliEnableAgent(sv, enable);
}


/** HAProxy: cli_parse_set_weight() (admin level). */
export function setWeight(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const sv = cliFindServer(args[2]);
  if (typeof sv === "string") return sv;
  return serverParseWeightChangeRequest(sv, args[3]) ?? "";
}

/** HAProxy: cli_parse_get_weight() (any level): "<current> (initial <configured>)". */
export function getWeight(args: string[]): string {
  const arg = args[2];
  const slash = arg.indexOf("/");
  if (slash < 0 || slash === arg.length - 1) return "Require 'backend/server'.\n";
  const { px, srv } = getBackendServer(arg.slice(0, slash), arg.slice(slash + 1));
  if (!srv) return px ? "No such server.\n" : "No such backend.\n";
  return `${srv.uweight} (initial ${srv.iweight})\n`;
}
