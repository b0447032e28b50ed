/**
 * Server options and the `server` / `default-server` lines of a proxy: the SERVER_KEYWORDS table,
 * its small option builders (srvTime, srvCount, srvFlag, srvInt, srvIgnored) and parse_server().
 *
 * HAProxy: parse_server() and the srv_kws of src/server.c (HAProxy keeps server keywords with the
 * server code), server_healthcheck_validate() of src/server.c.
 */

import { isParseError, parseTime, str2saRange } from "./address";
import { CAP_BE, ERR_ABORT, ERR_ALERT, ERR_FATAL, ERR_WARN, FAIL, OK, atol, invalidChar, noPrototype, timeErr } from "./cfgparse_util";
import {
  curProxy,
  type CfgOptKw,
  type CfgParser,
  type LineCtx,
  type ProxyDraft,
  type ServerSettings,
} from "./cfgparse_state";
import { DIAG_FORM_PARSING, DIAG_FORM_PARSING_TIGHT, type ParsedAddress, type ServerConfig } from "./types";

/** Highest server weight. HAProxy: SRV_UWGHT_MAX, include/types/server.h. */
const SRV_UWGHT_MAX = 256;

/**
 * A server option. Its parse() returns 0 or ERR_*: messages either go straight to p (HAProxy's
 * inline options of parse_server()) or come back in <res.err> and are printed as
 * "'server <name>' : <err>" (HAProxy's display_parser_err()).
 * HAProxy: struct srv_kw (skip -1: the parser moves the cursor itself), include/types/server.h.
 */
interface SrvKw extends CfgOptKw<SrvCtx> {
  /** Accepted on `default-server` lines. HAProxy: srv_kw.default_ok. */
  defaultOk: boolean;
}

/** State of one server/default-server line. */
interface SrvCtx {
  px: ProxyDraft;
  args: string[];
  /** Index of the option word. */
  cur: number;
  srv: ServerSettings;
  /** Server name for messages ("default-server" for default-server lines). */
  name: string;
  /** The server being created (absent on default-server lines). */
  server?: ServerConfig;
  /** Set by options with skip -1: index of the next word to parse. */
  next?: number;
}

/** A positive time (inter, fastinter, downinter). HAProxy: the "inter" branches of parse_server(), src/server.c. */
function srvTime(field: "inter" | "fastinter" | "downinter"): SrvKw {
  return {
    skip: 1,
    defaultOk: true,
    parse(p, { args, cur, srv, name }) {
      const kw = args[cur];
      const res = parseTime(args[cur + 1]);
      if (typeof res !== "number") {
        /* 1.8 prints "parsing [f:l] : " for inter and "parsing [f:l]: " for the two others */
        p.alert(
          timeErr(res, args[cur + 1], kw, (ch) => `unexpected character '${ch}' in '${kw}' argument of server ${name}.`),
          field === "inter" ? DIAG_FORM_PARSING : DIAG_FORM_PARSING_TIGHT,
        );
        return { code: FAIL };
      }
      if (res <= 0) {
        p.alert(`invalid value ${res} for argument '${kw}' of server ${name}.`, DIAG_FORM_PARSING_TIGHT);
        return { code: FAIL };
      }
      srv[field] = res;
      return OK;
    },
  };
}

/** rise / fall: an integer > 0. HAProxy: the "rise"/"fall" branches of parse_server(). */
function srvCount(field: "rise" | "fall"): SrvKw {
  return {
    skip: 1,
    defaultOk: true,
    parse(p, { args, cur, srv }) {
      if (!args[cur + 1]) {
        p.alert(`'${args[cur]}' expects an integer argument.`, DIAG_FORM_PARSING_TIGHT);
        return { code: FAIL };
      }
      const v = atol(args[cur + 1]);
      if (v <= 0) {
        p.alert(`'${args[cur]}' has to be > 0.`, DIAG_FORM_PARSING_TIGHT);
        return { code: FAIL };
      }
      srv[field] = v;
      return OK;
    },
  };
}

/** A boolean option (check, backup, send-proxy, ... and their no- forms). HAProxy: srv_parse_*(), src/server.c. */
function srvFlag(field: "check" | "backup" | "disabled" | "sendProxy" | "sendProxyV2", value: boolean): SrvKw {
  return {
    skip: 0,
    defaultOk: true,
    parse(_p, { srv }) {
      srv[field] = value;
      return OK;
    },
  };
}

/** An integer stored as is, like HAProxy's atol() (maxconn, maxqueue). */
function srvInt(field: "maxconn" | "maxqueue"): SrvKw {
  return {
    skip: 1,
    defaultOk: true,
    parse(_p, { args, cur, srv }) {
      srv[field] = atol(args[cur + 1]);
      return OK;
    },
  };
}

/** An option hapoll accepts and ignores with a warning. */
function srvIgnored(skip: number, defaultOk = true): SrvKw {
  return {
    skip,
    defaultOk,
    parse: (_p, { args, cur }) => ({ code: ERR_WARN, warn: `'${args[cur]}' is not supported by hapoll, ignored.` }),
  };
}

/** Server options. HAProxy: the inline options of parse_server() and srv_kws, src/server.c. */
export const SERVER_KEYWORDS: Record<string, SrvKw> = {
  check: srvFlag("check", true),
  "no-check": srvFlag("check", false),
  backup: srvFlag("backup", true),
  "no-backup": srvFlag("backup", false),
  disabled: srvFlag("disabled", true),
  enabled: srvFlag("disabled", false),
  "send-proxy": srvFlag("sendProxy", true),
  "no-send-proxy": srvFlag("sendProxy", false),
  "send-proxy-v2": srvFlag("sendProxyV2", true),
  "no-send-proxy-v2": srvFlag("sendProxyV2", false),
  inter: srvTime("inter"),
  fastinter: srvTime("fastinter"),
  downinter: srvTime("downinter"),
  rise: srvCount("rise"),
  fall: srvCount("fall"),
  maxconn: srvInt("maxconn"),
  maxqueue: srvInt("maxqueue"),
  weight: {
    skip: 1,
    defaultOk: true,
    parse(p, { args, cur, srv, name }) {
      const w = atol(args[cur + 1]);
      if (w < 0 || w > SRV_UWGHT_MAX) {
        p.alert(`weight of server ${name} is not within 0 and ${SRV_UWGHT_MAX} (${w}).`);
        return { code: FAIL };
      }
      srv.weight = w;
      return OK;
    },
  },
  port: {
    skip: 1,
    defaultOk: true,
    parse(p, { args, cur, srv, name }) {
      const v = atol(args[cur + 1]);
      if (v < 0 || v > 65535) {
        /* hapoll addition: 1.8 silently truncated to 16 bits */
        p.alert(`invalid port '${args[cur + 1]}' for argument '${args[cur]}' of server ${name}.`);
        return { code: FAIL };
      }
      srv.checkPort = v;
      return OK;
    },
  },
  addr: {
    skip: 1,
    defaultOk: true,
    parse(p, { args, cur, srv }) {
      const kw = args[cur];
      const arg = args[cur + 1];
      if (!arg) return { code: FAIL, err: `'${kw}' expects <ipv4|ipv6> as argument.` };
      const sk = str2saRange(arg, { allowPortRange: true, allowPortOffset: true, env: p.env });
      if (isParseError(sk)) return { code: FAIL, err: `'${kw}' : ${sk.error}` };
      if (sk.family === "fd") return { code: FAIL, err: `'${kw} ${arg}' : connect() not supported for this address family.` };
      if (sk.portLow !== sk.portHigh || sk.portOffset) {
        return { code: FAIL, err: `'${kw}' : port ranges and offsets are not allowed in '${arg}'` };
      }
      srv.checkAddr = sk;
      return OK;
    },
  },
  source: {
    skip: -1,
    defaultOk: true,
    parse(p, ctx) {
      const { args, cur, srv } = ctx;
      const kw = args[cur];
      const arg = args[cur + 1];
      if (!arg) {
        return {
          code: FAIL,
          err: `'${kw}' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument.`,
        };
      }
      const sk = str2saRange(arg, { allowPortRange: true, allowPortOffset: true, env: p.env });
      if (isParseError(sk)) return { code: FAIL, err: `'${kw} ${arg}' : ${sk.error}` };
      if (sk.family === "fd") return { code: FAIL, err: `'${kw} ${arg}' : connect() not supported for this address family.` };
      if (sk.portOffset) return { code: FAIL, err: `'${kw}' does not support port offsets (found '${arg}').` };
      const next = cur + 2;
      if (sk.family !== "ipv4" && sk.family !== "ipv6") {
        return { code: FAIL, err: `'${kw} ${arg}' : connect() not supported for this address family.` };
      }
      if (args[next] === "usesrc") {
        return { code: FAIL, err: `'usesrc' is refused by hapoll: it has no transparent proxying (TPROXY).` };
      }
      if (args[next] === "interface") {
        return { code: FAIL, err: `'${kw} ${arg}' : 'interface' is not supported by hapoll (SO_BINDTODEVICE).` };
      }
      srv.source = sk;
      ctx.next = next;
      return OK;
    },
  },
  id: {
    skip: 1,
    defaultOk: false,
    parse(_p, { px, args, cur, server }) {
      const kw = args[cur];
      if (!args[cur + 1]) return { code: FAIL, err: `'${kw}' : expects an integer argument` };
      const id = atol(args[cur + 1]);
      if (id <= 0) return { code: FAIL, err: `'${kw}' : custom id has to be > 0` };
      const other = px.usedServerIds.get(id);
      if (other) {
        return {
          code: FAIL,
          err: `'${kw}' : custom id ${id} already used at ${other.file}:${other.line} ('server ${other.name}')`,
        };
      }
      if (server) {
        server.id = id;
        px.usedServerIds.set(id, server);
        px.forcedServerIds.add(server);
      }
      return OK;
    },
  },
  usesrc: {
    skip: 1,
    defaultOk: true,
    parse(p) {
      p.alert(`'usesrc' only allowed after a 'source' statement.`);
      return { code: FAIL };
    },
  },
  // Refused, not ignored: the server would otherwise be judged by a connect check alone.
  "agent-check": {
    skip: 0,
    defaultOk: true,
    parse: (_p, { args, cur }) => ({ code: FAIL, err: `'${args[cur]}' is not supported by hapoll (no agent checks).` }),
  },
  "no-agent-check": srvIgnored(0),
  "agent-inter": srvIgnored(1),
  "agent-addr": srvIgnored(1),
  "agent-port": srvIgnored(1),
  "agent-send": srvIgnored(1),
  "check-send-proxy": srvIgnored(0),
  "no-check-send-proxy": srvIgnored(0),
  cookie: srvIgnored(1),
  "error-limit": srvIgnored(1),
  "init-addr": srvIgnored(1),
  minconn: srvIgnored(1),
  namespace: srvIgnored(1),
  "non-stick": srvIgnored(0),
  observe: srvIgnored(1),
  "on-error": srvIgnored(1),
  "on-marked-down": srvIgnored(1),
  "on-marked-up": srvIgnored(1),
  redir: srvIgnored(1),
  "resolve-net": srvIgnored(1),
  "resolve-prefer": srvIgnored(1),
  resolvers: srvIgnored(1),
  slowstart: srvIgnored(1),
  stick: srvIgnored(0),
  track: srvIgnored(1),
};

/** `server <name> <addr> [options]` and `default-server [options]`. HAProxy: parse_server(), src/server.c. */
export function proxyServer(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  const isDef = a[0] === "default-server";
  if (!isDef && px.isDefaults) {
    p.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  if (p.warnIfNotCap(px, CAP_BE, a[0])) {
    /* 1.8 only warns, but the configuration is refused */
    p.errCode |= ERR_ALERT | ERR_FATAL;
  }

  let srv: ServerSettings;
  let server: ServerConfig | undefined;
  let cur: number;
  if (!isDef) {
    if (!a[2]) {
      p.alert(`'${a[0]}' expects <name> and <addr>[:<port>] as arguments.`);
      return;
    }
    const bad = invalidChar(a[1]);
    if (bad !== null) {
      p.alert(`character '${bad}' is not permitted in ${a[0]} name '${a[1]}'.`);
      return;
    }
    const addr = str2saRange(a[2], { allowPortRange: true, allowPortOffset: true, env: p.env });
    if (isParseError(addr)) {
      p.alert(`'${a[0]} ${a[1]}' : ${addr.error}`);
      return;
    }
    if (addr.family === "fd") {
      p.alert(`'${a[0]} ${a[1]}' : connect() not supported for this address family.`);
      return;
    }
    if (!addr.portOffset && addr.portLow !== addr.portHigh) {
      p.alert(`'${a[0]} ${a[1]}' : port ranges are not allowed in '${a[2]}'`);
      return;
    }
    server = { ...px.defsrv, name: a[1], addr, file: p.file, line: p.line, id: 0 };
    srv = server;
    cur = 3;
  } else {
    srv = px.defsrv;
    cur = 1;
  }
  const name = server ? server.name : "default-server";

  while (a[cur]) {
    const kw = SERVER_KEYWORDS[a[cur]];
    if (!kw) {
      p.alert(`'${a[0]} ${a[1]}' unknown keyword '${a[cur]}'.`);
      return;
    }
    if (isDef && !kw.defaultOk) {
      p.alert(`'${a[0]} ${a[1]}' : '${a[cur]}' option is not accepted in default-server sections.`, DIAG_FORM_PARSING, ERR_ALERT);
      cur += 1 + Math.max(kw.skip, 0);
      continue;
    }
    const ctx: SrvCtx = { px, args: a, cur, srv, name, server };
    if (p.kwResult(kw.parse(p, ctx), `'${a[0]} ${a[1]}' : `) & ERR_FATAL) return;
    cur = ctx.next ?? cur + 1 + kw.skip;
  }

  if (!server) return;
  if (server.check && !serverHasCheckPort(server)) {
    p.alert(`server ${server.name} has neither service port nor check port. Check has been disabled.`, DIAG_FORM_PARSING, ERR_ALERT | ERR_ABORT);
    return;
  }
  if (px.cap & CAP_BE) px.cfg.servers.push(server);
}

/**
 * A checked server needs a port to probe: its check port, the port of its
 * check address, its own port (not a port offset, which depends on the
 * client), or an address that has no port (unix socket).
 * HAProxy: server_healthcheck_validate() and srv_check_healthcheck_port(),
 * src/server.c and src/checks.c (without tcp-check rules).
 */
function serverHasCheckPort(s: ServerConfig): boolean {
  if (s.checkPort !== 0 || (s.checkAddr && s.checkAddr.hasPort)) return true;
  if (s.addr.hasPort && !s.addr.portOffset) return true;
  const inet = (a: ParsedAddress) => a.family === "ipv4" || a.family === "ipv6";
  if (s.checkAddr) return !inet(s.checkAddr);
  return !inet(s.addr);
}

noPrototype(SERVER_KEYWORDS);
