/**
 * Configuration file parser of hapoll: HAProxy 1.8's configuration language,
 * TCP mode only, turned into the data model of ./types.ts.
 *
 * HAProxy originals: readcfgfile(), cfg_parse_global(), cfg_parse_listen()
 * and check_config_validity() in src/cfgparse.c; parse_server() and the
 * srv_kws in src/server.c; the bind_kws of src/listener.c, src/proto_uxst.c
 * and src/cli.c; stats_parse_global() in src/cli.c; proxy_parse_timeout() and
 * proxy_parse_hard_stop_after() in src/proxy.c. Messages keep HAProxy 1.8's
 * text; formatDiag() prints them in HAProxy 2.x's line shape.
 *
 * Flow (like haproxy.c's init()):
 *
 *   for each file:  tokenize each line -> section dispatch -> keyword table
 *                   file had a fatal error -> "Error(s) found in configuration file : <f>"
 *                   abort (ERR_ABORT)      -> stop here
 *   fatal so far    -> "Fatal errors found in configuration."   (no checks)
 *   else            -> post-parse checks (check_config_validity)
 *                      any failure -> "Fatal errors found in configuration."
 *
 * Nothing here throws on bad configuration text: every problem becomes a Diag.
 *
 * Where things are (HAProxy 2.x's split of the same code):
 *
 *   cfgparse.ts          this file: the reader (tokenizeLine, readFile, section dispatch), the final
 *                        checks (checkConfigValidity), parseConfigFiles(), formatDiag(); re-exports
 *                        ERR_*, KWM_* and atol       -- cfgparse.c
 *   cfgparse_state.ts    CfgParser (parser state, alert/warn/tooManyArgs/warnIfNotCap), ProxyDraft,
 *                        LineCtx, and CfgKw / CfgOptKw: the one shape of every keyword table
 *   cfgparse_util.ts     ERR_*, KWM_*, CAP_*, KwResult/OK/FAIL, atol, invalidChar, capStr, timeErr
 *   cfgparse_global.ts   global section: GLOBAL_KEYWORDS, GLOBAL_IGNORED, stats socket
 *                                                     -- cfgparse-global.c
 *   cfgparse_listen.ts   defaults/listen/frontend/backend: PROXY_KEYWORDS, PROXY_IGNORED,
 *                        PROXY_UNSUPPORTED, timeouts, options (OPTIONS*, PROTOCOL_CHECKS_REFUSED),
 *                        log, source, balance, inheritDefaults -- cfgparse-listen.c, proxy.c
 *   cfg_bind.ts          BIND_KEYWORDS, str2listener, the `bind` line  -- listener.c bind_kws
 *   cfg_server.ts        SERVER_KEYWORDS, srv* builders, the `server` line -- server.c srv_kws
 *   cfg_tcpcheck.ts      the `tcp-check` keyword               -- tcpcheck.c (2.2+)
 *   cfg_log.ts           the `log` line of global and proxies  -- log.c parse_logsrv()
 *   cfgparse_rules.ts    acl, tcp-request/-response, use_backend, use-server, stick-table
 *
 * A new keyword goes into its section's table as `name: { parse(p, c) { ... } }` (bind and
 * server options also give `skip`, server ones `defaultOk`); see CfgKw in cfgparse_state.ts.
 * A handler written for the former single file as `name: (p, c) => { ... }` becomes
 * `name: { parse: (p, c) => { ... } }` with its body unchanged; a server option's
 * `parse({ p, args, ... })` becomes `parse(p, { args, ... })`, a bind option's
 * `parse(args, cur, v)` becomes `parse(_p, { args, cur, v })`.
 * Imports go one way: util <- state <- keyword files <- this file; none goes back up.
 */

import { checkRules } from "./cfgparse_rules";
import { cfgParseGlobal } from "./cfgparse_global";
import { cfgParseListen } from "./cfgparse_listen";
import {
  CAP_BE,
  CAP_FE,
  CAP_LISTEN,
  ERR_ABORT,
  ERR_ALERT,
  ERR_FATAL,
  ERR_WARN,
  KWM_DEF,
  KWM_NO,
  KWM_STD,
  atol,
  capStr,
  invalidChar,
  noPrototype,
} from "./cfgparse_util";
import { CfgParser, type LineCtx, type ProxyDraft } from "./cfgparse_state";
import { compileLogFormat } from "./logformat";
import {
  DIAG_FORM_BARE,
  DIAG_FORM_PARSING,
  DIAG_FORM_PARSING_CAPS,
  DIAG_FORM_PARSING_TIGHT,
  type Diag,
  type LogTarget,
  type ParsedConfig,
  type ServerConfig,
} from "./types";

export { ERR_ABORT, ERR_ALERT, ERR_FATAL, ERR_NONE, ERR_WARN, KWM_DEF, KWM_NO, KWM_STD, atol } from "./cfgparse_util";

/* ------------------------------------------------------------------------ */
/* Small constants                                                          */
/* ------------------------------------------------------------------------ */

/** Most words on a line. HAProxy: MAX_LINE_ARGS, include/common/defaults.h. */
export const MAX_LINE_ARGS = 64;

/** Section kinds. */
const SEC_GLOBAL = 1;
const SEC_PROXY = 2;
const SEC_IGNORED = 3;

/** Section keywords known to HAProxy 1.8. HAProxy: cfg_register_section() calls. */
const SECTIONS: Record<string, number> = {
  global: SEC_GLOBAL,
  defaults: SEC_PROXY,
  listen: SEC_PROXY,
  frontend: SEC_PROXY,
  backend: SEC_PROXY,
  userlist: SEC_IGNORED,
  peers: SEC_IGNORED,
  resolvers: SEC_IGNORED,
  mailers: SEC_IGNORED,
  cache: SEC_IGNORED,
  namespace_list: SEC_IGNORED,
};

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

/** One configuration file: its name (as printed in messages) and its text. HAProxy: an entry of cfg_cfgfiles (-f), src/haproxy.c. */
export interface ConfigFile {
  name: string;
  text: string;
}

/** Options of parseConfigFiles() (hapoll: the parser reads no global state). */
export interface ParseOptions {
  /** Pid printed by the `output` lines (default: process.pid). */
  pid?: number;
  /** Environment for "$VAR" / "${VAR}" expansion inside double quotes (default: process.env). */
  env?: Record<string, string | undefined>;
}

/** Result of parseConfigFiles(). HAProxy: the err_code of readcfgfile()/check_config_validity() plus what ha_alert()/ha_warning() printed. */
export interface ParseResult {
  /** The configuration; still filled as far as possible when fatal. */
  config: ParsedConfig;
  /** Every diagnostic, in HAProxy's order. */
  diags: Diag[];
  /** True when HAProxy would refuse to start (it would exit 1). */
  fatal: boolean;
  /** diags formatted with formatDiag() and opts.pid, one string per diag (may contain newlines). */
  output: string[];
}

/**
 * Formats a diagnostic exactly like HAProxy 2.x prints configuration messages:
 * `[ALERT]    (1234) : config : parsing [f.cfg:3] : unknown keyword 'foo' in 'global' section`.
 * The level tag is padded to 11 columns so that '(' aligns.
 * HAProxy: print_message() / ha_alert() / ha_warning(), src/errors.c (2.x).
 */
export function formatDiag(d: Diag, pid: number): string {
  const tag = d.level === "alert" ? "[ALERT]" : d.level === "warning" ? "[WARNING]" : "[NOTICE]";
  const form = d.form ?? (d.line !== undefined ? DIAG_FORM_PARSING : DIAG_FORM_BARE);
  let loc = "";
  const where = `[${d.file ?? ""}:${d.line ?? 0}]`;
  if (form === DIAG_FORM_PARSING) loc = `parsing ${where} : `;
  else if (form === DIAG_FORM_PARSING_TIGHT) loc = `parsing ${where}: `;
  else if (form === DIAG_FORM_PARSING_CAPS) loc = `Parsing ${where}: `;
  return `${tag.padEnd(11)}(${pid}) : config : ${loc}${d.msg}`;
}

/** Result of tokenizeLine(). HAProxy: the args[] array built by readcfgfile(), src/cfgparse.c. */
export interface TokenizedLine {
  /** The words; empty when the line holds nothing (or was dropped). */
  words: string[];
  /** Alerts raised while splitting (all fatal), with their location form. */
  alerts: { msg: string; form: number }[];
  /** True when the whole line must be ignored (failed variable expansion). */
  dropped: boolean;
  /** Set when the line is a `[scope]` declaration: the text after the first '['. */
  scope?: string;
}

/**
 * Splits one configuration line into words like HAProxy's reader: blanks
 * separate words, '#' starts a comment, "..." and '...' quote (quotes are
 * removed), backslash escapes \<space> \\ \# \" \' \r \n \t \xHH (and \$
 * inside double quotes), "$VAR"/"${VAR}" expand inside double quotes. At most
 * MAX_LINE_ARGS words are kept.
 * HAProxy: the line splitting loop of readcfgfile(), src/cfgparse.c.
 */
export function tokenizeLine(line: string, env: Record<string, string | undefined> = process.env): TokenizedLine {
  const res: TokenizedLine = { words: [], alerts: [], dropped: false };
  const n = line.length;
  let i = 0;
  while (i < n && isSpace(line[i])) i++;
  if (line[i] === "[") {
    res.scope = line.slice(i + 1);
    return res;
  }

  const words: string[] = [];
  let cur = "";
  let dquote = false;
  let squote = false;
  while (i < n && words.length < MAX_LINE_ARGS) {
    const c = line[i];
    if (c === '"' && !squote) {
      dquote = !dquote;
      i++;
    } else if (c === "'" && !dquote) {
      squote = !squote;
      i++;
    } else if (c === "\\" && !squote) {
      const nx = line[i + 1];
      if (nx === " " || nx === "\\" || nx === "#" || nx === '"' || nx === "'") {
        cur += nx;
        i += 2;
      } else if (nx === "r" || nx === "n" || nx === "t") {
        cur += nx === "r" ? "\r" : nx === "n" ? "\n" : "\t";
        i += 2;
      } else if (nx === "$" && dquote) {
        cur += "$";
        i += 2;
      } else if (nx === "x") {
        const h = line.slice(i + 2, i + 4);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          cur += String.fromCharCode(parseInt(h, 16));
          i += 4;
        } else {
          res.alerts.push({ msg: "invalid or incomplete '\\x' sequence in '%ARG0%'.", form: DIAG_FORM_PARSING });
          cur += c;
          i++;
        }
      } else {
        cur += c;
        i++;
      }
    } else if ((!squote && !dquote && c === "#") || c === "\n" || c === "\r") {
      break;
    } else if (!squote && !dquote && isSpace(c)) {
      while (i < n && isSpace(line[i])) i++;
      words.push(cur);
      cur = "";
    } else if (dquote && c === "$") {
      let j = i + 1;
      let braces = false;
      if (line[j] === "{") {
        braces = true;
        j++;
      }
      const first = line[j] ?? "";
      if (!/^[A-Za-z_]$/.test(first)) {
        res.alerts.push({
          msg: `Variable expansion: Unrecognized character '${first}' in variable name.`,
          form: DIAG_FORM_PARSING,
        });
        res.dropped = true;
        return res;
      }
      let k = j;
      while (k < n && /[A-Za-z0-9_]/.test(line[k])) k++;
      const value = env[line.slice(j, k)] ?? "";
      if (braces) {
        if (line[k] === "}") {
          k++;
        } else {
          res.alerts.push({ msg: "Variable expansion: Mismatched braces.", form: DIAG_FORM_PARSING });
          res.dropped = true;
          return res;
        }
      }
      cur += value;
      i = k;
    } else {
      cur += c;
      i++;
    }
  }
  if (words.length >= MAX_LINE_ARGS) {
    /* stopped on the word limit: anything left is cut */
    if (i < n) {
      let end = i;
      while (end < n && line[end] !== "#" && line[end] !== "\n" && line[end] !== "\r") end++;
      res.alerts.push({
        msg: `line too long, truncating at word ${MAX_LINE_ARGS + 1}, position ${i + 1}: <${line.slice(i, end)}>.`,
        form: DIAG_FORM_PARSING_TIGHT,
      });
    }
  } else {
    words.push(cur);
  }
  if (dquote) res.alerts.push({ msg: "Mismatched double quotes.", form: DIAG_FORM_PARSING });
  if (squote) res.alerts.push({ msg: "Mismatched simple quotes.", form: DIAG_FORM_PARSING });
  for (const a of res.alerts) a.msg = a.msg.replace("%ARG0%", words[0] ?? "");
  /* an empty first word means an empty line for HAProxy */
  res.words = words[0] ? words : [];
  return res;
}

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
}

/**
 * Parses configuration files, in order, into a ParsedConfig plus diagnostics.
 * Never throws on bad text: every problem is a Diag, and `fatal` tells
 * whether HAProxy would have refused the configuration.
 * HAProxy: readcfgfile() for each file, then check_config_validity(), src/cfgparse.c
 * (driven from init(), src/haproxy.c).
 */
export function parseConfigFiles(files: ConfigFile[], opts: ParseOptions = {}): ParseResult {
  const p = new CfgReader(opts.env ?? process.env);
  let errCode = 0;
  let aborted = false;
  for (const f of files) {
    const ret = p.readFile(f);
    if (ret & (ERR_ABORT | ERR_FATAL)) {
      p.push({ level: "alert", file: f.name, msg: `Error(s) found in configuration file : ${f.name}`, form: DIAG_FORM_BARE });
    }
    errCode |= ret;
    if (errCode & ERR_ABORT) {
      aborted = true;
      break;
    }
  }
  if (!aborted) {
    if (errCode & (ERR_ABORT | ERR_FATAL)) {
      p.push({ level: "alert", msg: "Fatal errors found in configuration.", form: DIAG_FORM_BARE });
    } else {
      errCode |= p.checkConfigValidity();
      if (errCode & (ERR_ABORT | ERR_FATAL)) {
        p.push({ level: "alert", msg: "Fatal errors found in configuration.", form: DIAG_FORM_BARE });
      }
    }
  }
  const config = p.finish();
  const pid = opts.pid ?? process.pid;
  return {
    config,
    diags: p.diags,
    fatal: (errCode & (ERR_ABORT | ERR_FATAL)) !== 0,
    output: p.diags.map((d) => formatDiag(d, pid)),
  };
}

/* ------------------------------------------------------------------------ */
/* The reader                                                               */
/* ------------------------------------------------------------------------ */

/**
 * The parser state (./cfgparse_state.ts) plus what reads: the files, line by line, and the
 * checks once all is read. HAProxy: readcfgfile() and check_config_validity(), src/cfgparse.c.
 */
class CfgReader extends CfgParser {
  /** Reads one file; returns its error code. HAProxy: readcfgfile(), src/cfgparse.c. */
  readFile(f: ConfigFile): number {
    this.file = f.name;
    this.errCode = 0;
    this.cursection = "";
    let section = 0;
    const lines = f.text.split("\n");
    for (let ln = 0; ln < lines.length; ln++) {
      this.line = ln + 1;
      const tok = tokenizeLine(lines[ln], this.env);
      for (const a of tok.alerts) this.alert(a.msg, a.form);
      if (tok.dropped) continue;
      if (tok.scope !== undefined) {
        this.parseScope(tok.scope);
        if (this.errCode & ERR_ABORT) break;
        continue;
      }
      if (tok.words.length === 0) continue;

      const args = tok.words.slice();
      while (args.length <= MAX_LINE_ARGS) args.push("");
      let kwm = KWM_STD;
      if (args[0] === "no" || args[0] === "default") {
        kwm = args[0] === "no" ? KWM_NO : KWM_DEF;
        let k = 0;
        for (; args[k + 1]; k++) args[k] = args[k + 1];
        args[k] = "";
      }
      if (kwm !== KWM_STD && args[0] !== "option" && args[0] !== "log") {
        this.alert("negation/default currently supported only for options and log.", DIAG_FORM_PARSING_TIGHT);
      }

      const sec = SECTIONS[args[0]];
      if (sec !== undefined) {
        section = sec;
        this.cursection = args[0];
        if (sec === SEC_IGNORED) {
          this.warn(`section '${args[0]}' is not supported by hapoll, ignored.`);
        }
      }
      const c: LineCtx = { args, kwm };
      if (section === 0) {
        this.alert(`unknown keyword '${args[0]}' out of section.`, DIAG_FORM_PARSING_TIGHT);
      } else if (section === SEC_GLOBAL) {
        cfgParseGlobal(this, c);
      } else if (section === SEC_PROXY) {
        cfgParseListen(this, c);
      }
      if (this.errCode & ERR_ABORT) break;
    }
    return this.errCode;
  }

  /** `[scope]` lines are validated and otherwise ignored. HAProxy: cfg_parse_scope(), src/cfgparse.c. */
  parseScope(afterBracket: string): void {
    const end = afterBracket.indexOf("]");
    if (end <= 0) {
      this.alert("empty scope name is forbidden.");
      return;
    }
    const bad = invalidChar(afterBracket.slice(0, end));
    if (bad) {
      this.alert(`character '${bad}' is not permitted in a scope name.`, DIAG_FORM_PARSING, ERR_ALERT | ERR_ABORT);
      return;
    }
    const rest = afterBracket.slice(end + 1).replace(/^[ \t\v\f]+/, "");
    if (rest && rest[0] !== "#" && rest[0] !== "\r") {
      this.alert(`character '${rest[0]}' is not permitted after scope declaration.`, DIAG_FORM_PARSING, ERR_ALERT | ERR_ABORT);
    }
  }

  /* -------------------------------------------------------------------- */
  /* Post-parse checks                                                     */
  /* -------------------------------------------------------------------- */

  /** Finds a backend-capable proxy by name or `#id`. HAProxy: proxy_be_by_name(), include/proto/proxy.h. */
  findBackend(name: string): ProxyDraft | undefined {
    if (name.startsWith("#")) {
      const id = atol(name.slice(1));
      return this.proxies.find((px) => px.cfg.id === id && (px.cap & CAP_BE) !== 0);
    }
    return this.proxies.find((px) => px.cfg.name === name && (px.cap & CAP_BE) !== 0);
  }

  /** Gives automatic ids to proxies and servers. HAProxy: the get_next_id() loops of check_config_validity(). */
  assignIds(): void {
    let next = 1;
    for (const [i, px] of this.proxies.entries()) {
      // HAProxy's GLOBAL frontend keeps id 0 but moves next_pxid on, as any proxy with an id.
      if (i === this.statsFeAt) next++;
      if (!px.forcedId) {
        while (this.usedProxyIds.has(next)) next++;
        px.cfg.id = next;
      }
      next++;
      let nextSrv = 1;
      for (const srv of px.cfg.servers) {
        if (!px.forcedServerIds.has(srv)) {
          while (px.usedServerIds.has(nextSrv)) nextSrv++;
          srv.id = nextSrv;
        }
        nextSrv++;
      }
    }
  }

  /**
   * Checks the whole configuration once read; returns ERR_ALERT|ERR_FATAL on failure.
   * HAProxy: check_config_validity(), src/cfgparse.c (the parts relevant to TCP mode).
   */
  checkConfigValidity(): number {
    let cfgerr = 0;
    let code = 0;
    this.assignIds();
    for (const px of this.proxies) {
      const cfg = px.cfg;
      const where = { file: cfg.file, line: cfg.line };
      if (cfg.disabled) continue;
      const type = capStr(px.cap);

      if ((px.cap & CAP_FE) && cfg.binds.length === 0) {
        this.report("warning", `${type} '${cfg.name}' has no 'bind' directive. Please declare it as a backend if this was intended.`, where);
        code |= ERR_WARN;
      }
      if ((px.cap & CAP_LISTEN) === CAP_FE && cfg.defaultBackend === undefined && cfg.useBackends.length === 0) {
        /* hapoll addition: HAProxy 1.8 says nothing here */
        this.report(
          "warning",
          `frontend '${cfg.name}' has neither 'default_backend' nor 'use_backend': every connection it accepts will be closed.`,
          where,
        );
        code |= ERR_WARN;
      }
      if (cfg.defaultBackend !== undefined) {
        const target = this.findBackend(cfg.defaultBackend);
        if (!target) {
          this.report("alert", `Proxy '${cfg.name}': unable to find required default_backend: '${cfg.defaultBackend}'.`, where);
          cfgerr++;
        } else if (target === px) {
          this.report("alert", `Proxy '${cfg.name}': loop detected for default_backend: '${cfg.defaultBackend}'.`, where);
          cfgerr++;
        } else if (cfg.servers.length > 0) {
          this.report(
            "warning",
            `In proxy '${cfg.name}', the 'default_backend' rule always has precedence over the servers, which will never be used.`,
            where,
          );
          code |= ERR_WARN;
        }
      }
      for (const rule of cfg.useBackends) {
        const target = this.findBackend(rule.name);
        if (!target) {
          this.report("alert", `Proxy '${cfg.name}': unable to find required use_backend: '${rule.name}'.`, where);
          cfgerr++;
        } else if (target === px) {
          this.report("alert", `Proxy '${cfg.name}': loop detected for use_backend: '${rule.name}'.`, where);
          cfgerr++;
        }
      }

      cfgerr += checkRules(cfg, this.proxies.map((x) => x.cfg), (lvl, msg, file, line) => {
        this.report(lvl, msg, { file, line });
        if (lvl === "warning") code |= ERR_WARN;
      });
      // HAProxy: the log format of a frontend: `option httplog` falls back to tcplog in TCP
      // mode, a `log-format` string is compiled now, and either is dropped without a log target.
      if (px.httplogAt) {
        this.report("warning", `'option httplog' not usable with proxy '${cfg.name}' (needs 'mode http'). Falling back to 'option tcplog'.`, px.httplogAt, DIAG_FORM_PARSING);
        cfg.options.tcplog = true;
        code |= ERR_WARN;
      }
      if (px.logFormatString !== null && (px.cap & CAP_FE)) {
        const lf = compileLogFormat(px.logFormatString);
        if ("error" in lf) {
          this.report("alert", `failed to parse log-format : ${lf.error}.`, px.logFormatAt ?? where, DIAG_FORM_PARSING_CAPS);
          cfgerr++;
        } else cfg.logFormat = lf;
      }
      const hasLog = px.logs.some((e) => !("global" in e) || this.global.logs.length > 0);
      if ((cfg.logFormat || (px.logFormatString !== null && (px.cap & CAP_FE))) && !hasLog) {
        this.report("warning", `log format ignored for proxy '${cfg.name}' since it has no log address.`);
        cfg.logFormat = undefined;
        code |= ERR_WARN;
      }

      const t = cfg.timeouts;
      if (((px.cap & CAP_FE) && !t.client) || ((px.cap & CAP_BE) && cfg.servers.length > 0 && (!t.connect || (!t.server && !t.tunnel)))) {
        this.report(
          "warning",
          `missing timeouts for ${type} '${cfg.name}'.\n` +
            "   | While not properly invalid, you will certainly encounter various problems\n" +
            "   | with such a configuration. To fix this, please ensure that all following\n" +
            "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
          where,
        );
        code |= ERR_WARN;
      }

      /* server names must not collide when no explicit id tells them apart */
      const seen = new Map<string, ServerConfig>();
      for (const srv of cfg.servers) {
        if (px.forcedServerIds.has(srv)) continue;
        const other = seen.get(srv.name);
        if (other) {
          this.report(
            "warning",
            `${type} '${cfg.name}', another server named '${srv.name}' was defined without an explicit ID at line ${other.line}, this is not recommended.`,
            { file: srv.file, line: srv.line },
            DIAG_FORM_PARSING,
          );
          code |= ERR_WARN;
        } else {
          seen.set(srv.name, srv);
        }
      }
    }
    if (cfgerr > 0) code |= ERR_ALERT | ERR_FATAL;
    return code;
  }

  /** Builds the final model: ids, `log global` expanded, defaults for unset tunables. */
  finish(): ParsedConfig {
    this.assignIds();
    const g = this.global;
    g.tuneMaxpollevents = this.rawMaxpollevents || 200;
    const proxies = this.proxies.map((px) => {
      const logs: LogTarget[] = [];
      let logGlobal = false;
      for (const e of px.logs) {
        if ("global" in e) {
          logGlobal = true;
          for (const gl of g.logs) logs.push({ ...gl });
        } else {
          logs.push(e);
        }
      }
      px.cfg.logs = logs;
      px.cfg.logGlobal = logGlobal;
      return px.cfg;
    });
    return { global: g, proxies };
  }
}

noPrototype(SECTIONS);
