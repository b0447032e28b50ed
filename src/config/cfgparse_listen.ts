/**
 * The proxy sections (defaults, listen, frontend, backend): the dispatcher of their lines, the
 * start of a section and what it inherits from defaults, the PROXY_KEYWORDS table with its
 * handlers (timeout, option, log, source, balance, ...) and the keywords accepted and ignored
 * (PROXY_IGNORED) or refused (PROXY_UNSUPPORTED). Bind, server, tcp-check and rule keywords are
 * registered here and live in ./cfg_bind.ts, ./cfg_server.ts, ./cfg_tcpcheck.ts and
 * ./cfgparse_rules.ts.
 *
 * HAProxy: cfg_parse_listen() of src/cfgparse.c (src/cfgparse-listen.c in 2.x), the CFG_LISTEN
 * cfg_kws and proxy_parse_timeout() of src/proxy.c, cfg_opts[] / cfg_opts2[].
 */

import { isParseError, parseTime, str2saRange } from "./address";
import { proxyBind } from "./cfg_bind";
import { parseLogLine } from "./cfg_log";
import { proxyServer } from "./cfg_server";
import { proxyTcpCheck } from "./cfg_tcpcheck";
import {
  parseAclLine, parseStickTable, parseTcpRequest, parseTcpResponse, parseUseBackend, parseUseServer,
  type RuleHost,
} from "./cfgparse_rules";
import {
  CAP_BE, CAP_FE, CAP_LISTEN, ERR_ABORT, ERR_ALERT, KWM_DEF, KWM_NO, KWM_STD, atol, capStr, invalidChar, noPrototype, timeErr,
} from "./cfgparse_util";
import { curProxy, newProxyDraft, type CfgKw, type CfgParser, type LineCtx, type ProxyDraft } from "./cfgparse_state";
import {
  DIAG_FORM_PARSING,
  DIAG_FORM_PARSING_CAPS,
  DIAG_FORM_PARSING_TIGHT,
  type BalanceAlgo,
  type ProxyOptions,
  type ProxyTimeouts,
} from "./types";

/** One-shot deprecation warnings. HAProxy: WARN_*_DEPRECATED + already_warned(), include/types/global.h. */
const WARN_REDISPATCH_DEPRECATED = 0x04;
const WARN_CLITO_DEPRECATED = 0x08;
const WARN_SRVTO_DEPRECATED = 0x10;
const WARN_CONTO_DEPRECATED = 0x20;

/* ------------------------------------------------------------------------ */
/* Sections                                                                 */
/* ------------------------------------------------------------------------ */

/** A line of a defaults/listen/frontend/backend section. HAProxy: cfg_parse_listen(), src/cfgparse.c (src/cfgparse-listen.c in 2.x). */
export function cfgParseListen(p: CfgParser, c: LineCtx): void {
  const kw = c.args[0];
  if (kw === "listen" || kw === "frontend" || kw === "backend") {
    newProxy(p, c, kw === "listen" ? CAP_LISTEN : kw === "frontend" ? CAP_FE : CAP_BE);
    return;
  }
  if (kw === "defaults") {
    newDefaults(p, c);
    return;
  }
  if (p.cur === null) {
    p.alert("'listen' or 'defaults' expected.");
    return;
  }
  const h = PROXY_KEYWORDS[kw];
  if (h) {
    p.kwResult(h.parse(p, c));
  } else if (PROXY_IGNORED.has(kw)) {
    p.warn(`'${kw}' is not supported by hapoll, ignored.`);
  } else if (PROXY_UNSUPPORTED.has(kw)) {
    p.alert(`'${kw}' is not supported by hapoll.`);
  } else {
    p.alert(`unknown keyword '${kw}' in '${p.cursection}' section`);
  }
}

/** Starts a listen/frontend/backend section, inheriting from defaults. HAProxy: cfg_parse_listen(). */
function newProxy(p: CfgParser, c: LineCtx, cap: number): void {
  const [kw, name] = c.args;
  if (!name) {
    p.alert(
      `'${kw}' expects an <id> argument and\n  optionally supports [addr1]:port1[-end1]{,[addr]:port[-end]}...`,
      DIAG_FORM_PARSING,
      ERR_ALERT | ERR_ABORT,
    );
    return;
  }
  const bad = invalidChar(name);
  if (bad !== null) {
    p.alert(`character '${bad}' is not permitted in '${kw}' name '${name}'.`);
  }
  const other = p.proxies.find((px) => px.cfg.name === name && (px.cap & (cap & CAP_FE ? CAP_FE : CAP_BE)) !== 0);
  if (other) {
    p.alert(
      `${capStr(cap)} '${name}' has the same name as ${capStr(other.cap)} '${other.cfg.name}' declared at ${other.cfg.file}:${other.cfg.line}.`,
      DIAG_FORM_PARSING_CAPS,
    );
  }
  const px = newProxyDraft(name, cap, p.file, p.line, false);
  p.proxies.push(px);
  p.cur = px;
  if (p.tooManyArgs(c, 1)) {
    if (cap & CAP_FE) p.alert("please use the 'bind' keyword for listening addresses.");
    return;
  }
  inheritDefaults(px, p.defaults);
}

/** Starts (and resets) a defaults section. HAProxy: cfg_parse_listen() "defaults" + init_default_instance(). */
function newDefaults(p: CfgParser, c: LineCtx): void {
  if (p.tooManyArgs(c, 1)) {
    p.errCode |= ERR_ABORT;
    return;
  }
  p.defaults = newProxyDraft(c.args[1] ?? "", CAP_LISTEN, p.file, p.line, true);
  p.cur = p.defaults;
}

/** Copies what a new proxy inherits from defaults, per capability. HAProxy: cfg_parse_listen(), "set default values". */
function inheritDefaults(px: ProxyDraft, def: ProxyDraft): void {
  const c = px.cfg;
  const d = def.cfg;
  px.defsrv = { ...def.defsrv };
  c.disabled = d.disabled;
  c.options = { ...d.options };
  c.redispatchAfter = 0;
  if (px.cap & CAP_FE) {
    c.maxconn = d.maxconn;
    c.backlog = d.backlog;
    c.timeouts.client = d.timeouts.client;
    c.timeouts.clientFin = d.timeouts.clientFin;
    if (d.defaultBackend !== undefined) c.defaultBackend = d.defaultBackend;
  }
  if (px.cap & CAP_BE) {
    c.balance = d.balance;
    c.fullconn = d.fullconn;
    c.retries = d.retries;
    c.redispatchAfter = d.redispatchAfter;
    c.timeouts.connect = d.timeouts.connect;
    c.timeouts.server = d.timeouts.server;
    c.timeouts.serverFin = d.timeouts.serverFin;
    c.timeouts.check = d.timeouts.check;
    c.timeouts.queue = d.timeouts.queue;
    c.timeouts.tunnel = d.timeouts.tunnel;
    if (d.source) c.source = d.source;
    if (d.checkType) c.checkType = d.checkType;
  }
  c.mode = d.mode;
  px.logs = def.logs.slice();
  px.logFormat = def.logFormat;
  px.logFormatString = def.logFormatString;
  px.logFormatAt = def.logFormatAt;
  px.httplogAt = def.httplogAt;
  if (d.logTag !== undefined) c.logTag = d.logTag;
}

/* ------------------------------------------------------------------------ */
/* Keywords                                                                 */
/* ------------------------------------------------------------------------ */

/** Field of ProxyTimeouts set by a timeout name, with the capability it needs. */
const TIMEOUTS: Record<string, { field: keyof ProxyTimeouts | null; cap: number }> = {
  client: { field: "client", cap: CAP_FE },
  server: { field: "server", cap: CAP_BE },
  connect: { field: "connect", cap: CAP_BE },
  check: { field: "check", cap: CAP_BE },
  queue: { field: "queue", cap: CAP_BE },
  tunnel: { field: "tunnel", cap: CAP_BE },
  "client-fin": { field: "clientFin", cap: CAP_FE },
  "server-fin": { field: "serverFin", cap: CAP_BE },
  tarpit: { field: null, cap: CAP_LISTEN },
  "http-keep-alive": { field: null, cap: CAP_LISTEN },
  "http-request": { field: null, cap: CAP_LISTEN },
};

/** Old keywords standing for `timeout <name>`, with their one-shot warning bit. */
const OLD_TIMEOUTS: Record<string, { name: string; warn: number }> = {
  clitimeout: { name: "client", warn: WARN_CLITO_DEPRECATED },
  srvtimeout: { name: "server", warn: WARN_SRVTO_DEPRECATED },
  contimeout: { name: "connect", warn: WARN_CONTO_DEPRECATED },
};

/**
 * `timeout <name> <time>` and the deprecated `contimeout`/`clitimeout`/`srvtimeout`.
 * HAProxy: proxy_parse_timeout(), src/proxy.c.
 */
function proxyTimeout(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const args = c.args[0] === "timeout" ? c.args.slice(1).concat([""]) : c.args;
  const old = OLD_TIMEOUTS[args[0]];
  const name = old ? old.name : args[0];
  const t = TIMEOUTS[name];
  if (!t) {
    p.alert(
      "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', " +
        `'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '${args[0]}')`,
    );
    return;
  }
  if (!args[1]) {
    p.alert(`'timeout ${name}' expects an integer value (in milliseconds)`);
    return;
  }
  const res = parseTime(args[1]);
  if (typeof res !== "number") {
    p.alert(timeErr(res, args[1], `timeout ${name}`, (ch) => `unexpected character '${ch}' in 'timeout ${name}'`));
    return;
  }
  const cur = t.field ? px.cfg.timeouts[t.field] : 0;
  const def = t.field ? p.defaults.cfg.timeouts[t.field] : 0;
  let warning: string | null = null;
  if (!(px.cap & t.cap)) {
    warning = `'timeout ${name}' will be ignored because ${capStr(px.cap)} '${px.cfg.name}' has no ${t.cap & CAP_BE ? "backend" : "frontend"} capability`;
  } else if (!px.isDefaults && cur !== def) {
    warning = `overwriting 'timeout ${name}' which was already specified`;
  } else if (old && !p.alreadyWarned(old.warn)) {
    warning = `the '${args[0]}' directive is now deprecated in favor of 'timeout ${name}', and will not be supported in future versions.`;
  }
  if (t.field) px.cfg.timeouts[t.field] = res;
  if (args[2]) {
    p.alert(`'timeout ${name}' : unexpected extra argument '${args[2]}' after value '${args[1]}'.`);
    return;
  }
  if (warning) p.warn(warning);
  if (!t.field) p.warn(`'timeout ${name}' is not supported by hapoll, ignored.`);
}

/** Options hapoll implements: flag in ProxyOptions and capability needed. HAProxy: cfg_opts[] / cfg_opts2[], src/cfgparse.c. */
const OPTIONS: Record<string, { field: keyof ProxyOptions; cap: number }> = {
  abortonclose: { field: "abortonclose", cap: CAP_BE },
  allbackups: { field: "allbackups", cap: CAP_BE },
  clitcpka: { field: "clitcpka", cap: CAP_FE },
  dontlognull: { field: "dontlognull", cap: CAP_FE },
  srvtcpka: { field: "srvtcpka", cap: CAP_BE },
  "splice-auto": { field: "spliceAuto", cap: CAP_LISTEN },
  "splice-request": { field: "spliceRequest", cap: CAP_LISTEN },
  "splice-response": { field: "spliceResponse", cap: CAP_LISTEN },
};

/** Other simple options of HAProxy 1.8 (cfg_opts[] / cfg_opts2[]), accepted and ignored with a warning. */
const OPTIONS_IGNORED: Record<string, number> = {
  checkcache: CAP_BE,
  contstats: CAP_FE,
  http_proxy: CAP_LISTEN,
  "http-buffer-request": CAP_LISTEN,
  "http-ignore-probes": CAP_FE,
  "prefer-last-server": CAP_BE,
  logasap: CAP_FE,
  nolinger: CAP_LISTEN,
  persist: CAP_BE,
  transparent: CAP_BE,
  "accept-invalid-http-request": CAP_FE,
  "accept-invalid-http-response": CAP_BE,
  "dontlog-normal": CAP_FE,
  "log-separate-errors": CAP_FE,
  "log-health-checks": CAP_BE,
  "socket-stats": CAP_FE,
  "tcp-smart-accept": CAP_FE,
  "tcp-smart-connect": CAP_BE,
  "independant-streams": CAP_LISTEN,
  "independent-streams": CAP_LISTEN,
  "http-use-proxy-header": CAP_FE,
  "http-pretend-keepalive": CAP_LISTEN,
  "http-no-delay": CAP_LISTEN,
};

/** HTTP connection modes (1.8 lets `no option` cancel them). */
const OPTIONS_HTTP_MODE = new Set(["httpclose", "forceclose", "http-server-close", "http-keep-alive", "http-tunnel"]);

/** Options with arguments (health checks, HTTP logging...), accepted and ignored with a warning. */
const OPTIONS_IGNORED_ARGS = new Set([
  "httpchk", "forwardfor", "originalto",
]);

/** Protocol health checks of 1.8 that hapoll does not implement (refused, never degraded). */
const PROTOCOL_CHECKS_REFUSED = new Set([
  "ssl-hello-chk", "smtpchk", "pgsql-check", "mysql-check", "ldap-check", "spop-check", "external-check",
]);

/** `[no|default] option <name> [args]`. HAProxy: cfg_parse_listen() "option", src/cfgparse.c. */
function proxyOption(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  const opt = a[1];
  if (!opt) {
    p.alert(`'${a[0]}' expects an option name.`, DIAG_FORM_PARSING_TIGHT);
    return;
  }
  const o = OPTIONS[opt];
  if (o) {
    if (p.tooManyArgs(c, 0, 1)) return;
    if (p.warnIfNotCap(px, o.cap, opt)) return;
    px.cfg.options[o.field] = c.kwm === KWM_STD;
    return;
  }
  const ignoredCap = OPTIONS_IGNORED[opt];
  if (ignoredCap !== undefined) {
    if (p.tooManyArgs(c, 0, 1)) return;
    if (p.warnIfNotCap(px, ignoredCap, opt)) return;
    if (c.kwm === KWM_STD) p.warn(`option '${opt}' is not supported by hapoll, ignored.`);
    return;
  }
  if (OPTIONS_HTTP_MODE.has(opt) && c.kwm !== KWM_DEF) {
    if (p.tooManyArgs(c, 0, 1)) return;
    if (c.kwm === KWM_STD) p.warn(`option '${opt}' is not supported by hapoll, ignored.`);
    return;
  }
  if (opt === "redispatch") {
    if (p.warnIfNotCap(px, CAP_BE, opt)) return;
    px.cfg.options.redispatch = c.kwm === KWM_STD;
    px.cfg.redispatchAfter = c.kwm === KWM_STD ? (a[2] ? atol(a[2]) : -1) : 0;
    return;
  }
  if (c.kwm !== KWM_STD) {
    p.alert(`negation/default is not supported for option '${opt}'.`, DIAG_FORM_PARSING_TIGHT);
    return;
  }
  if (opt === "tcplog") {
    if (px.logFormat !== null && px.isDefaults) {
      p.warn(`'option tcplog' overrides previous '${px.logFormat}' in 'defaults' section.`, DIAG_FORM_PARSING_TIGHT);
    }
    px.cfg.options.tcplog = true;
    px.logFormat = "option tcplog";
    px.logFormatString = null;
    px.httplogAt = null;
    p.tooManyArgs(c, 0, 1);
    return;
  }
  if (opt === "httplog") {
    if (px.logFormat !== null && px.isDefaults) {
      p.warn(`'option httplog' overrides previous '${px.logFormat}' in 'defaults' section.`, DIAG_FORM_PARSING_TIGHT);
    }
    if (a[2] && a[2] !== "clf") {
      p.alert(`'option httplog' only supports 'clf' as an optional argument (got '${a[2]}').`);
      return;
    }
    // 1.8 checks the mode once the section is read: every hapoll proxy is TCP, so it falls back.
    px.httplogAt = { file: p.file, line: p.line };
    px.logFormat = a[2] ? "option httplog clf" : "option httplog";
    px.logFormatString = null;
    return;
  }
  if (opt === "tcpka") {
    if (p.tooManyArgs(c, 0, 1)) return;
    if (px.cap & CAP_FE) px.cfg.options.clitcpka = true;
    if (px.cap & CAP_BE) px.cfg.options.srvtcpka = true;
    return;
  }
  if (opt === "tcp-check" || opt === "redis-check") {
    if (p.warnIfNotCap(px, CAP_BE, `option ${opt}`)) return;
    px.cfg.checkType = opt === "tcp-check" ? "tcp-check" : "redis";
    p.tooManyArgs(c, 1, 1);
    return;
  }
  // A health check hapoll cannot perform is refused: a plain connect check in its place would
  // report servers UP that the protocol check would find broken.
  if (PROTOCOL_CHECKS_REFUSED.has(opt)) {
    p.alert(`'option ${opt}' is not supported by hapoll (its health checks are tcp-check, redis-check and plain connect checks).`);
    return;
  }
  if (OPTIONS_IGNORED_ARGS.has(opt)) {
    p.warn(`option '${opt}' is not supported by hapoll, ignored.`);
    return;
  }
  p.alert(`unknown option '${opt}'.`);
}

/** `log global`, `log <target> ...`, `no log`. HAProxy: cfg_parse_listen() "log", src/cfgparse.c. */
function proxyLog(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  if (c.kwm === KWM_NO) {
    if (a[1]) {
      p.alert("'no log' does not expect arguments.", DIAG_FORM_PARSING_TIGHT);
      return;
    }
    px.logs = [];
    return;
  }
  if (a[1] === "global" && !a[2]) {
    px.logs.push({ global: true });
  } else if (a[1] && a[2]) {
    const t = parseLogLine(p, c, true);
    if (t) px.logs.push(t);
  } else {
    p.alert("'log' expects either <address[:port]> and <facility> or 'global' as arguments.");
  }
}

/** An integer proxy setting (maxconn, backlog, fullconn, retries). HAProxy: cfg_parse_listen(). */
function proxyInt(field: "maxconn" | "backlog" | "fullconn", cap: number, hint = ""): CfgKw<LineCtx> {
  return {
    parse(p, c) {
      const px = curProxy(p);
      const a = c.args;
      p.warnIfNotCap(px, cap, a[0], hint);
      if (!a[1]) {
        p.alert(`'${a[0]}' expects an integer argument.`);
        return;
      }
      px.cfg[field] = atol(a[1]);
      if (px.cfg[field] < 0) p.alert(`'${a[0]}' expects a positive integer argument.`);
      p.tooManyArgs(c, 1);
    },
  };
}

/**
 * `source <addr>[:<port>] [usesrc ...] [interface <name>]` in a proxy: the address its connections
 * to servers bind first. The transparent forms (usesrc) and `interface` are refused with an alert
 * (1.8.0 built with TPROXY accepts them). HAProxy: the "source" keyword of cfg_parse_listen().
 */
function proxySource(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  p.warnIfNotCap(px, CAP_BE, a[0]);
  if (!a[1]) {
    p.alert(`'source' expects <addr>[:<port>], and optionally 'usesrc' <addr>, and 'interface' <name>.`);
    return;
  }
  const sk = str2saRange(a[1], { allowPortRange: true, allowPortOffset: true, env: p.env });
  if (isParseError(sk)) {
    p.alert(`'${a[0]} ${a[1]}' : ${sk.error}`);
    return;
  }
  if (sk.family !== "ipv4" && sk.family !== "ipv6") {
    p.alert(`'${a[0]} ${a[1]}' : connect() not supported for this address family.`);
    return;
  }
  if (sk.portLow !== sk.portHigh || sk.portOffset) {
    p.alert(`'${a[0]}' : port ranges and offsets are not allowed in '${a[1]}'`);
    return;
  }
  for (let i = 2; a[i]; i += 2) {
    if (a[i] === "usesrc") {
      p.alert(`'usesrc' is refused by hapoll: it has no transparent proxying (TPROXY).`);
      return;
    }
    if (a[i] === "interface") {
      p.alert(`'${a[0]}' : 'interface' is not supported by hapoll (SO_BINDTODEVICE).`);
      return;
    }
    p.alert(`'${a[0]}' only supports optional keywords 'interface' and 'usesrc'.`);
    return;
  }
  px.cfg.source = sk;
}

/** Accepted balance algorithms. HAProxy: backend_parse_balance(), src/backend.c. */
const BALANCE_ALGOS = new Set<string>(["roundrobin", "static-rr", "leastconn", "first", "source"]);

/** Proxy keywords. HAProxy: cfg_parse_listen() and the CFG_LISTEN cfg_kws of src/proxy.c. */
const PROXY_KEYWORDS: Record<string, CfgKw<LineCtx>> = {
  bind: { parse: proxyBind },
  server: { parse: proxyServer },
  "default-server": { parse: proxyServer },
  timeout: { parse: proxyTimeout },
  contimeout: { parse: proxyTimeout },
  clitimeout: { parse: proxyTimeout },
  srvtimeout: { parse: proxyTimeout },
  option: { parse: proxyOption },
  log: { parse: proxyLog },
  maxconn: proxyInt("maxconn", CAP_FE, " Maybe you want 'fullconn' instead ?"),
  backlog: proxyInt("backlog", CAP_FE),
  fullconn: proxyInt("fullconn", CAP_BE, " Maybe you want 'maxconn' instead ?"),
  source: { parse: proxySource },
  "tcp-check": { parse: proxyTcpCheck },
  /* HAProxy: cfg_parse_listen() "log-format". */
  "log-format": {
    parse(p, c) {
      const px = curProxy(p);
      const a = c.args;
      if (!a[1]) {
        p.alert(`${a[0]} expects an argument.`);
        return;
      }
      if (a[2]) {
        p.alert(`${a[0]} expects only one argument, don't forget to escape spaces!`);
        return;
      }
      if (px.logFormat !== null && px.isDefaults) {
        p.warn(`'log-format' overrides previous '${px.logFormat}' in 'defaults' section.`, DIAG_FORM_PARSING_TIGHT);
      }
      px.logFormat = "log-format";
      px.logFormatString = a[1];
      px.logFormatAt = { file: p.file, line: p.line };
      px.httplogAt = null;
      px.cfg.options.tcplog = false;
      if (!px.isDefaults && !(px.cap & CAP_FE)) {
        p.warn(`backend '${px.cfg.name}' : 'log-format' directive is ignored in backends.`);
      }
    },
  },
  /* HAProxy: cfg_parse_listen() "log-tag". */
  "log-tag": {
    parse(p, c) {
      const px = curProxy(p);
      if (p.tooManyArgs(c, 1)) return;
      if (!c.args[1]) {
        p.alert(`'${c.args[0]}' requires an argument.`);
        return;
      }
      px.cfg.logTag = c.args[1];
    },
  },
  mode: {
    parse(p, c) {
      const px = curProxy(p);
      if (p.tooManyArgs(c, 1)) return;
      const m = c.args[1];
      if (m === "tcp") px.cfg.mode = "tcp";
      else if (m === "http" || m === "health") p.alert(`'mode ${m}' is not supported: hapoll only supports 'mode tcp'.`);
      else p.alert(`unknown proxy mode '${m}'.`);
    },
  },
  retries: {
    parse(p, c) {
      const px = curProxy(p);
      p.warnIfNotCap(px, CAP_BE, c.args[0]);
      if (p.tooManyArgs(c, 1)) return;
      if (!c.args[1]) {
        p.alert(`'${c.args[0]}' expects an integer argument (dispatch counts for one).`);
        return;
      }
      px.cfg.retries = atol(c.args[1]);
    },
  },
  balance: {
    parse(p, c) {
      const px = curProxy(p);
      p.warnIfNotCap(px, CAP_BE, c.args[0]);
      const algo = c.args[1] || "roundrobin";
      if (BALANCE_ALGOS.has(algo)) {
        px.cfg.balance = algo as BalanceAlgo;
      } else if (/^(uri|url_param|hdr\(.*\)|rdp-cookie(\(.*\))?)$/.test(algo)) {
        p.alert(`${c.args[0]} '${algo}' is not supported by hapoll.`);
      } else {
        p.alert(
          `${c.args[0]} only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.`,
        );
      }
    },
  },
  default_backend: {
    parse(p, c) {
      const px = curProxy(p);
      const ignored = p.warnIfNotCap(px, CAP_FE, c.args[0]);
      if (!c.args[1]) {
        p.alert(`'${c.args[0]}' expects a backend name.`);
        return;
      }
      if (!ignored) px.cfg.defaultBackend = c.args[1];
      p.tooManyArgs(c, 1);
    },
  },
  use_backend: {
    parse(p, c) {
      const px = curProxy(p);
      const a = c.args;
      if (px.isDefaults) {
        p.alert(`'${a[0]}' not allowed in 'defaults' section.`);
        return;
      }
      const ignored = p.warnIfNotCap(px, CAP_FE, a[0]);
      if (!a[1]) {
        p.alert(`'${a[0]}' expects a backend name.`);
        return;
      }
      parseUseBackend(ruleHost(p), px, a, ignored);
    },
  },
  acl: { parse: (p, c) => parseAclLine(ruleHost(p), curProxy(p), c.args) },
  "tcp-request": { parse: (p, c) => parseTcpRequest(ruleHost(p), curProxy(p), c.args) },
  "tcp-response": { parse: (p, c) => parseTcpResponse(ruleHost(p), curProxy(p), c.args) },
  "use-server": { parse: (p, c) => parseUseServer(ruleHost(p), curProxy(p), c.args) },
  "stick-table": { parse: (p, c) => parseStickTable(ruleHost(p), curProxy(p), c.args) },
  redispatch: { parse: proxyRedispatch },
  redisp: { parse: proxyRedispatch },
  disabled: {
    parse(p, c) {
      if (p.tooManyArgs(c, 0)) return;
      curProxy(p).cfg.disabled = true;
    },
  },
  enabled: {
    parse(p, c) {
      if (p.tooManyArgs(c, 0)) return;
      curProxy(p).cfg.disabled = false;
    },
  },
  description: {
    parse(p, c) {
      const px = curProxy(p);
      const a = c.args;
      if (px.isDefaults) {
        p.alert(`'${a[0]}' not allowed in 'defaults' section.`, DIAG_FORM_PARSING_TIGHT);
        return;
      }
      if (!a[1]) {
        p.alert(`'${a[0]}' expects a string argument.`, DIAG_FORM_PARSING_TIGHT);
        return;
      }
      const words: string[] = [];
      for (let i = 1; a[i]; i++) words.push(a[i]);
      px.cfg.description = words.join(" ");
    },
  },
  id: {
    parse(p, c) {
      const px = curProxy(p);
      const a = c.args;
      if (px.isDefaults) {
        p.alert(`'${a[0]}' not allowed in 'defaults' section.`, DIAG_FORM_PARSING_TIGHT);
        return;
      }
      if (p.tooManyArgs(c, 1)) return;
      if (!a[1]) {
        p.alert(`'${a[0]}' expects an integer argument.`, DIAG_FORM_PARSING_TIGHT);
        return;
      }
      const id = atol(a[1]);
      px.cfg.id = id;
      px.forcedId = true;
      if (id <= 0) {
        p.alert("custom id has to be > 0.", DIAG_FORM_PARSING_TIGHT);
        return;
      }
      const other = p.usedProxyIds.get(id);
      if (other) {
        p.alert(
          `${capStr(px.cap)} ${px.cfg.name} reuses same custom id as ${capStr(other.cap)} ${other.cfg.name} (declared at ${other.cfg.file}:${other.cfg.line}).`,
          DIAG_FORM_PARSING_TIGHT,
        );
        return;
      }
      p.usedProxyIds.set(id, px);
    },
  },
};

/** The parser as the rule keywords see it (src/config/cfgparse_rules.ts). */
function ruleHost(p: CfgParser): RuleHost {
  return {
    file: p.file,
    line: p.line,
    alert: (m) => p.alert(m),
    warn: (m) => p.warn(m),
    usedPatIds: p.usedPatIds,
  };
}

/** Deprecated `redispatch` keyword. HAProxy: cfg_parse_listen() "redispatch"/"redisp". */
function proxyRedispatch(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  p.warnIfNotCap(px, CAP_BE, c.args[0]);
  if (!p.alreadyWarned(WARN_REDISPATCH_DEPRECATED)) {
    p.warn(
      `keyword '${c.args[0]}' is deprecated in favor of 'option redispatch', and will not be supported by future versions.`,
      DIAG_FORM_PARSING_TIGHT,
    );
  }
  px.cfg.options.redispatch = true;
  px.cfg.redispatchAfter = -1;
  p.tooManyArgs(c, 1);
}

/** Proxy keywords of HAProxy 1.8 that hapoll accepts and ignores with a warning (no effect on TCP forwarding). */
const PROXY_IGNORED = new Set([
  "bind-process", "hash-type", "hash-balance-factor", "log-format-sd", "grace",
  "rate-limit", "max-keep-alive-queue", "load-server-state-from-file", "server-state-file-name",
  "email-alert", "unique-id-format", "unique-id-header", "monitor-net", "monitor-uri", "monitor",
  "errorfile", "errorloc", "errorloc302", "errorloc303", "http-reuse", "http-check", "http-send-name-header",
  "declare", "dynamic-cookie-key", "persist", "external-check", "compression", "stats",
]);

/** Proxy keywords of HAProxy 1.8 that hapoll rejects: ignoring them would change what traffic is accepted or where it goes. */
const PROXY_UNSUPPORTED = new Set([
  "force-persist", "ignore-persist", "stick", "http-request", "http-response", "redirect", "block", "capture", "cookie", "appsession",
  "dispatch", "transparent", "usesrc", "server-template", "filter",
  "reqrep", "reqirep", "reqdel", "reqidel", "reqdeny", "reqideny", "reqpass", "reqipass", "reqallow",
  "reqiallow", "reqtarpit", "reqitarpit", "reqadd", "rsprep", "rspirep", "rspdel", "rspidel", "rspdeny",
  "rspideny", "rspadd", "cliexp", "srvexp",
]);

noPrototype(TIMEOUTS, OLD_TIMEOUTS, OPTIONS, OPTIONS_IGNORED, PROXY_KEYWORDS);
