/**
 * The configuration of HAProxy 1.8's protocol health checks and of the agent check: the `option
 * ssl-hello-chk|smtpchk|mysql-check|pgsql-check|ldap-check` branches of cfg_parse_listen()
 * (src/cfgparse.c), which build the request each check sends (HAProxy: check_req / check_len), and
 * the `agent-*` server keywords of parse_server() with server_agent_check_init() (src/server.c).
 * The checks themselves run in src/proxy/checks.ts and src/proxy/checks_proto.ts.
 *
 * Still refused with an ALERT: `option spop-check` (it speaks SPOE's HAPROXY-HELLO/AGENT-HELLO
 * frames, and hapoll has no SPOE to go with it) and `option external-check` (it forks a program
 * per check, which the single event loop of hapoll does not do).
 */
import { isIP } from "node:net";
import type { CheckType, ProxyConfig, ServerConfig } from "./types";
import { noPrototype } from "./cfgparse_util";

/** DEF_SMTP_CHECK_REQ / DEF_LDAP_CHECK_REQ (include/common/defaults.h). */
const SMTP_DEFAULT_REQ = "HELO localhost\r\n";
/** An LDAPv3 anonymous simple bind: messageID 1, bindRequest, version 3, empty name and password. */
const LDAP_REQ = Buffer.from("300c020101600702010304008000", "hex");
/** Where the Unix time goes in the SSL hello (filled at each check). */
export const SSL_HELLO_TIME_OFS = 11;

/**
 * An SSLv3 CLIENT HELLO: record header (handshake, SSLv3, 0x79 bytes), handshake header
 * (CLIENT HELLO, 0x75 bytes), version 3.0, 4 bytes of Unix time (at SSL_HELLO_TIME_OFS), 28 bytes
 * of "random", no session id, 39 cipher suites (0x0001..0x001B, 0x002F..0x003A), NULL compression.
 * HAProxy: sslv3_client_hello_pkt[].
 */
function sslHello(): Buffer {
  const ciphers: number[] = [];
  for (let c = 0x01; c <= 0x1b; c++) ciphers.push(c);
  for (let c = 0x2f; c <= 0x3a; c++) ciphers.push(c);
  const head = Buffer.from("160300007901000075030000000000", "hex");
  const random = Buffer.from("HAPROXYSSLCHK\nHAPROXYSSLCHK\n", "latin1");
  const suites = Buffer.alloc(3 + ciphers.length * 2);
  suites.writeUInt16BE(ciphers.length * 2, 1);
  ciphers.forEach((c, i) => suites.writeUInt16BE(c, 3 + i * 2));
  return Buffer.concat([head, random, suites, Buffer.from([0x01, 0x00])]);
}

/** A PostgreSQL v3.0 StartupPacket with the one parameter user=<user>. */
function pgsqlStartup(user: string): Buffer {
  const u = Buffer.from(user, "latin1");
  const b = Buffer.alloc(4 + 4 + 5 + u.length + 1 + 1);
  b.writeUInt32BE(b.length, 0);
  b.writeUInt32BE(0x30000, 4);
  b.write("user", 8, "latin1");
  u.copy(b, 13);
  return b;
}

/**
 * A MySQL client authentication packet for <user> (no password) followed by COM_QUIT: the
 * pre-4.1 form (2-byte capabilities, 3-byte max packet), or with <post41> the 4.1 form (4-byte
 * capabilities with CLIENT_PROTOCOL_41, max packet, charset 33, 23 zero bytes).
 */
function mysqlAuth(user: string, post41: boolean): Buffer {
  const u = Buffer.from(user, "latin1");
  const at = post41 ? 36 : 9;
  const packetLen = u.length + (post41 ? 34 : 7);
  const b = Buffer.alloc(packetLen + 9);
  b.writeUIntLE(packetLen, 0, 3);
  b[3] = 1;
  if (post41) {
    b[5] = 130;
    b[11] = 1;
    b[12] = 33;
  } else {
    b[5] = 128;
    b[8] = 1;
  }
  u.copy(b, at);
  b[at + u.length + 2] = 1; // COM_QUIT's packet length
  b[at + u.length + 6] = 1; // COM_QUIT
  return b;
}

/** The part of the configuration parser these options use. */
export interface CheckOptionHost<P> {
  alert(msg: string, form?: number, code?: number): void;
  tooManyArgs(c: { args: string[] }, maxarg: number, index?: number): boolean;
  warnIfNotCap(px: P, cap: number, arg: string): boolean;
}

/** `option <opt>` names handled here, with the check type each selects. */
const CHECK_OPTIONS: Record<string, CheckType> = {
  "ssl-hello-chk": "ssl-hello",
  smtpchk: "smtp",
  "pgsql-check": "pgsql",
  "mysql-check": "mysql",
  "ldap-check": "ldap",
};
noPrototype(CHECK_OPTIONS);

/** Parse the user arguments of pgsql-check / mysql-check (from args[2]); null after an alert. */
function checkUserReq<P>(p: CheckOptionHost<P>, a: string[], mysql: boolean): Buffer | null {
  let req: Buffer = Buffer.alloc(0);
  let cur = 2;
  while (a[cur]) {
    if (a[cur] !== "user") {
      p.alert(`'${a[0]} ${a[1]}' only supports optional values: 'user'.`);
      return null;
    }
    if (!a[cur + 1]) {
      p.alert(`'${a[0]} ${a[1]} ${a[cur]}' expects <username> as argument.`);
      return null;
    }
    if (!mysql) {
      req = pgsqlStartup(a[cur + 1]);
      cur += 2;
    } else if (!a[cur + 2]) {
      req = mysqlAuth(a[cur + 1], false);
      cur += 2;
    } else if (a[cur + 2] === "post-41") {
      req = mysqlAuth(a[cur + 1], true);
      cur += 3;
    } else {
      p.alert(`keyword '${a[cur + 2]}' only supports option 'post-41'.`);
      return null;
    }
  }
  return req;
}

/**
 * `option ssl-hello-chk|smtpchk|pgsql-check|mysql-check|ldap-check ...` in the proxy <px>:
 * select the check type and build its request, with 1.8's alerts. Returns false for any other
 * option. HAProxy: the matching branches of cfg_parse_listen().
 */
export function parseCheckOption<P extends { cfg: ProxyConfig }>(
  p: CheckOptionHost<P>, c: { args: string[] }, px: P, capBe: number,
): boolean {
  const a = c.args;
  const type = CHECK_OPTIONS[a[1]];
  if (type === undefined) return false;
  // 1.8 only warns for a proxy without a backend, and goes on.
  if (type !== "smtp" && type !== "ldap") p.warnIfNotCap(px, capBe, a[1]);
  px.cfg.checkType = type;
  px.cfg.checkReq = Buffer.alloc(0);
  let req: Buffer | null;
  if (type === "ssl-hello") {
    req = sslHello();
    p.tooManyArgs(c, 0, 1);
  } else if (type === "ldap") {
    req = LDAP_REQ;
    p.tooManyArgs(c, 0, 1);
  } else if (type === "smtp") {
    // An incomplete or unknown greeting falls back to the default one.
    const custom = a[2] && a[3] && (a[2] === "EHLO" || a[2] === "HELO");
    req = Buffer.from(custom ? `${a[2]} ${a[3]}\r\n` : SMTP_DEFAULT_REQ, "latin1");
    p.tooManyArgs(c, 2, 1);
  } else {
    req = checkUserReq(p, a, type === "mysql");
    if (req === null) return true;
    if (type === "pgsql") p.tooManyArgs(c, 2, 1);
  }
  px.cfg.checkReq = req;
  return true;
}

/** What the agent keywords need of a server line. */
export interface AgentKwCtx {
  args: string[];
  cur: number;
  srv: Omit<ServerConfig, "name" | "addr" | "file" | "line" | "id">;
}

/**
 * `agent-check`, `no-agent-check`, `agent-port`, `agent-addr`, `agent-send` (agent-inter is a time,
 * parsed as `inter` is). Returns an alert, or null.
 */
export function parseAgentKeyword(ctx: AgentKwCtx): string | null {
  const { args, cur, srv } = ctx;
  const arg = args[cur + 1];
  switch (args[cur]) {
    case "agent-check":
      srv.agent = true;
      return null;
    case "no-agent-check":
      // HAProxy: srv_parse_no_agent_check(): also forgets the agent's interval and port.
      srv.agent = false;
      srv.agentInter = 0;
      srv.agentPort = 0;
      return null;
    case "agent-port": {
      // atol(), unchecked, like 1.8.
      const m = /^[ \t]*([+-]?[0-9]+)/.exec(arg);
      srv.agentPort = m ? Number(BigInt.asIntN(32, BigInt(m[1]))) : 0;
      return null;
    }
    case "agent-send":
      srv.agentSend = arg;
      return null;
    default: // agent-addr
      // 1.8's str2ip() would also resolve a name; hapoll takes a numeric address, and refuses the
      // line where 1.8 printed this alert and went on with a half-parsed server.
      if (!isIP(arg)) return `parsing agent-addr failed. Check if ${arg} is correct address.`;
      srv.agentAddr = arg;
      return null;
  }
}

/**
 * HAProxy: server_agent_check_init(): an agent check needs a port. Returns 1.8's alert, or null.
 * Also sets the agent's interval when `no-agent-check` cleared it (the server's `inter` then).
 */
export function agentCheckInit(s: ServerConfig): string | null {
  if (!s.agent) return null;
  if (!s.agentPort) return `server ${s.name} does not have agent port. Agent check has been disabled.`;
  if (s.agentInter === 0) s.agentInter = s.inter;
  return null;
}

/** The fds 1.8 adds to maxsock for a server's agent: one each for agent-port, agent-send and the check. */
export function agentMaxsock(s: ServerConfig): number {
  return (s.agentPort !== undefined ? 1 : 0) + (s.agentSend !== undefined ? 1 : 0) + (s.agent && s.agentPort ? 1 : 0);
}
