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
 */

import {
  isParseError,
  parseTime,
  str2saRange,
  type ParseTimeError,
} from "./address";
import type { Acl } from "./acl";
import {
  checkRules, parseAclLine, parseStickTable, parseTcpRequest, parseTcpResponse, parseUseBackend, parseUseServer,
  type RuleHost,
} from "./cfgparse_rules";
import { agentCheckInit, parseAgentKeyword, parseCheckOption } from "./cfg_checks";
import { compileLogFormat } from "./logformat";
import {
  DIAG_FORM_BARE,
  DIAG_FORM_PARSING,
  DIAG_FORM_PARSING_CAPS,
  DIAG_FORM_PARSING_TIGHT,
  type BalanceAlgo,
  type BindConfig,
  type Diag,
  type DiagLevel,
  type GlobalConfig,
  type LogTarget,
  type ParsedAddress,
  type ParsedConfig,
  type ProxyConfig,
  type ProxyOptions,
  type ProxyTimeouts,
  type TcpCheckRule,
  type ServerConfig,
  type StatsLevel,
  type StatsSocketConfig,
} from "./types";

/* ------------------------------------------------------------------------ */
/* Error codes and small constants                                          */
/* ------------------------------------------------------------------------ */

/** No error. HAProxy: ERR_NONE, include/common/errors.h. */
export const ERR_NONE = 0x00;
/** Fatal: parsing goes on but the configuration is rejected. HAProxy: ERR_FATAL. */
export const ERR_FATAL = 0x02;
/** Abort: stop reading the configuration now. HAProxy: ERR_ABORT. */
export const ERR_ABORT = 0x04;
/** A warning was emitted. HAProxy: ERR_WARN. */
export const ERR_WARN = 0x08;
/** An alert was emitted (not fatal by itself). HAProxy: ERR_ALERT. */
export const ERR_ALERT = 0x10;

/** Keyword modifier: plain keyword. HAProxy: KWM_STD, include/common/cfgparse.h. */
export const KWM_STD = 0;
/** Keyword modifier: `no <kw>`. HAProxy: KWM_NO. */
export const KWM_NO = 1;
/** Keyword modifier: `default <kw>`. HAProxy: KWM_DEF. */
export const KWM_DEF = 2;

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

/** Capability bits. HAProxy: PR_CAP_FE / PR_CAP_BE, include/types/proxy.h. */
const CAP_FE = 0x01;
const CAP_BE = 0x02;
const CAP_LISTEN = CAP_FE | CAP_BE;

/** One-shot deprecation warnings. HAProxy: WARN_*_DEPRECATED + already_warned(), include/types/global.h. */
const WARN_REDISPATCH_DEPRECATED = 0x04;
const WARN_CLITO_DEPRECATED = 0x08;
const WARN_SRVTO_DEPRECATED = 0x10;
const WARN_CONTO_DEPRECATED = 0x20;

/** Highest server weight. HAProxy: SRV_UWGHT_MAX, include/types/server.h. */
const SRV_UWGHT_MAX = 256;
/** Highest nbproc. HAProxy: LONGBITS on 64-bit hosts. */
const LONGBITS = 64;
/** Default syslog port. HAProxy: SYSLOG_PORT, include/types/log.h. */
const SYSLOG_PORT = 514;
/** Default log line length. HAProxy: MAX_SYSLOG_LEN, include/common/defaults.h. */
const MAX_SYSLOG_LEN = 1024;

/** Syslog facilities. HAProxy: log_facilities[], src/log.c. */
const LOG_FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
  "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
/** Syslog levels. HAProxy: log_levels[], src/log.c. */
const LOG_LEVELS = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
/** Log formats: 1.8's rfc3164/rfc5424 plus the 2.x ones the runtime may implement. */
const LOG_FORMATS = ["rfc3164", "rfc5424", "short", "raw", "priority", "iso", "timed", "local"];

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
  const p = new CfgParser(opts.env ?? process.env);
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
/* Internal model                                                           */
/* ------------------------------------------------------------------------ */

/** Server settings that `default-server` (and `defaults`) carry over to later servers. */
type ServerSettings = Omit<ServerConfig, "name" | "addr" | "file" | "line" | "id">;

/** `log global` placeholder, expanded once the whole configuration is read. */
interface LogGlobalRef {
  global: true;
}
type LogEntry = LogTarget | LogGlobalRef;

/** A proxy being parsed (also used for the `defaults` section). HAProxy: struct proxy. */
interface ProxyDraft {
  cfg: ProxyConfig;
  /** Capability bits (CAP_FE | CAP_BE). */
  cap: number;
  /** True for the `defaults` section (HAProxy: curproxy == &defproxy). */
  isDefaults: boolean;
  logs: LogEntry[];
  /** `default-server` settings. HAProxy: proxy->defsrv. */
  defsrv: ServerSettings;
  /** Log format selected by `option tcplog`/`option httplog` (for the override warning). */
  logFormat: string | null;
  /** The `log-format` string and where it was given (compiled at the end of the parse). */
  logFormatString: string | null;
  logFormatAt: { file: string; line: number } | null;
  /** Where `option httplog` was given (a TCP proxy falls back to tcplog with a warning). */
  httplogAt: { file: string; line: number } | null;
  /** True when `id` was given. HAProxy: PR_O_FORCED_ID. */
  forcedId: boolean;
  /** Servers with an explicit `id`. HAProxy: conf.used_server_id. */
  usedServerIds: Map<number, ServerConfig>;
  /** Servers whose id was given explicitly. */
  forcedServerIds: Set<ServerConfig>;
  /** Named ACLs of this proxy. HAProxy: proxy->acl. */
  acls: Map<string, Acl>;
}

/** One line being processed: words (padded with "" like HAProxy's args[]) and its modifier. */
interface LineCtx {
  args: string[];
  kwm: number;
}

function newServerSettings(): ServerSettings {
  return {
    check: false,
    inter: 2000,
    fastinter: 0,
    downinter: 0,
    rise: 2,
    fall: 3,
    weight: 1,
    maxconn: 0,
    maxqueue: 0,
    backup: false,
    disabled: false,
    sendProxy: false,
    sendProxyV2: false,
    checkPort: 0,
  };
}

function newTimeouts(): ProxyTimeouts {
  return { connect: 0, client: 0, server: 0, queue: 0, tunnel: 0, clientFin: 0, serverFin: 0, check: 0 };
}

function newOptions(): ProxyOptions {
  return {
    redispatch: false,
    allbackups: false,
    tcplog: false,
    dontlognull: false,
    clitcpka: false,
    srvtcpka: false,
    spliceAuto: false,
    spliceRequest: false,
    spliceResponse: false,
    abortonclose: false,
  };
}

/** A fresh proxy. HAProxy: init_new_proxy(), src/proxy.c, plus init_default_instance() for defaults. */
function newProxyDraft(name: string, cap: number, file: string, line: number, isDefaults: boolean): ProxyDraft {
  return {
    cfg: {
      name,
      cap: { fe: (cap & CAP_FE) !== 0, be: (cap & CAP_BE) !== 0 },
      file,
      line,
      mode: "tcp",
      binds: [],
      servers: [],
      balance: "roundrobin",
      timeouts: newTimeouts(),
      retries: 3,
      options: newOptions(),
      redispatchAfter: 0,
      logs: [],
      logGlobal: false,
      maxconn: 0,
      fullconn: 0,
      backlog: 0,
      tcpCheckRules: [],
      useBackends: [],
      useServers: [],
      tcpReqConn: [],
      tcpReqCont: [],
      tcpResCont: [],
      inspectDelay: 0,
      resInspectDelay: 0,
      disabled: false,
      id: 0,
    },
    cap,
    isDefaults,
    logs: [],
    defsrv: newServerSettings(),
    logFormat: null,
    logFormatString: null,
    logFormatAt: null,
    httplogAt: null,
    forcedId: false,
    usedServerIds: new Map(),
    forcedServerIds: new Set(),
    acls: new Map(),
  };
}

function newGlobal(): GlobalConfig {
  return {
    maxconn: 0,
    daemon: false,
    masterWorker: false,
    nbproc: 1,
    logs: [],
    tuneBufsize: 16384,
    tuneMaxaccept: 0,
    tuneMaxrewrite: -1,
    tuneRecvEnough: 0,
    tuneReadLoops: 0,
    tuneMaxpollevents: 200,
    noepoll: false,
    nokqueue: false,
    nopoll: false,
    noreuseport: false,
    nosplice: false,
    ulimitN: 0,
    hardStopAfter: 0,
    statsSockets: [],
    statsTimeout: 10000,
    quiet: false,
  };
}

/** C's atol() as HAProxy 1.8 uses it for integer arguments: optional blanks and sign, then digits; anything else stops the number (0 if none). */
export function atol(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  if (!m) return 0;
  // C's atol() saturates at LONG_MIN/LONG_MAX (64-bit) and HAProxy stores the result in an int:
  // keep exactly that, so a huge value becomes what 1.8 would see (e.g. 99999999999999999999 -> -1)
  // and is refused by the handlers' range checks instead of reaching the runtime.
  let v = BigInt(m[1]);
  const LMAX = (1n << 63n) - 1n;
  if (v > LMAX) v = LMAX;
  else if (v < -LMAX - 1n) v = -LMAX - 1n;
  return Number(BigInt.asIntN(32, v));
}

/** First character outside [A-Za-z0-9_:.-], or null. HAProxy: invalid_char(), src/standard.c. */
function invalidChar(name: string): string | null {
  if (name === "") return "";
  const m = /[^A-Za-z0-9_:.-]/.exec(name);
  return m ? m[0] : null;
}

/** Name of a proxy's type for messages. HAProxy: proxy_cap_str(), src/proxy.c. */
function capStr(cap: number): string {
  if ((cap & CAP_LISTEN) !== CAP_LISTEN) {
    if (cap & CAP_FE) return "frontend";
    if (cap & CAP_BE) return "backend";
  }
  return "proxy";
}

/** Message of parseTime() errors for keyword <kw>, built by <charMsg> for a bad character. */
function timeErr(res: ParseTimeError, value: string, kw: string, charMsg: (c: string) => string): string {
  if (res.overflow) {
    return `timer overflow in argument '${value}' to '${kw}' (maximum value is 2147483647 ms or ~24.8 days)`;
  }
  return charMsg(res.at[0] ?? "");
}

/* ------------------------------------------------------------------------ */
/* The parser                                                               */
/* ------------------------------------------------------------------------ */

/** Handler of one keyword: reads the line, updates the model, reports through the parser. */
type KwHandler = (p: CfgParser, c: LineCtx) => void;

/**
 * Parser state: what HAProxy keeps in globals (global, defproxy, proxies_list,
 * the static curproxy of cfg_parse_listen(), the warned bits).
 */
class CfgParser {
  readonly diags: Diag[] = [];
  readonly global = newGlobal();
  readonly proxies: ProxyDraft[] = [];
  /** HAProxy: defproxy. */
  defaults: ProxyDraft = newProxyDraft("", CAP_LISTEN, "", 0, true);
  /** HAProxy: the static curproxy of cfg_parse_listen(); survives from one file to the next. */
  cur: ProxyDraft | null = null;
  /** Raw values whose "already specified" test is on the value, like HAProxy's. */
  rawMaxpollevents = 0;
  /** HAProxy: the `warned` bit field of already_warned(). */
  warned = 0;
  /** Proxies with an explicit `id`. HAProxy: used_proxy_id. */
  usedProxyIds = new Map<number, ProxyDraft>();
  /** `-u` pattern ids in use (HAProxy: pat_ref ids, global). */
  usedPatIds = new Set<number>();
  /**
   * How many proxies were declared before the first `stats socket`: HAProxy puts its GLOBAL
   * frontend (id 0) in the proxy list there, and it takes one step of the automatic numbering.
   */
  statsFeAt = -1;
  /** Current position. */
  file = "";
  line = 0;
  /** Error code of the file being read. */
  errCode = 0;
  /** Name of the current section keyword. HAProxy: cursection. */
  cursection = "";

  constructor(readonly env: Record<string, string | undefined>) {}

  push(d: Diag): void {
    this.diags.push(d);
  }

  /** Reports an alert at the current line and merges <code> into the file's error code. */
  alert(msg: string, form: number = DIAG_FORM_PARSING, code: number = ERR_ALERT | ERR_FATAL): void {
    this.diags.push({ level: "alert", file: this.file, line: this.line, msg, form });
    this.errCode |= code;
  }

  /** Reports a warning at the current line. */
  warn(msg: string, form: number = DIAG_FORM_PARSING): void {
    this.diags.push({ level: "warning", file: this.file, line: this.line, msg, form });
    this.errCode |= ERR_WARN;
  }

  /** Reports a diagnostic not tied to the current line (post-parse checks). */
  report(level: DiagLevel, msg: string, where?: { file: string; line: number }, form = DIAG_FORM_BARE): void {
    this.diags.push({ level, file: where?.file, line: where?.line, msg, form });
  }

  /** HAProxy: already_warned(), include/types/global.h. */
  alreadyWarned(bit: number): boolean {
    const was = (this.warned & bit) !== 0;
    this.warned |= bit;
    return was;
  }

  /**
   * Alerts when args[index + maxarg + 1] is present.
   * HAProxy: alertif_too_many_args_idx(), src/cfgparse.c.
   */
  tooManyArgs(c: LineCtx, maxarg: number, index = 0): boolean {
    const extra = c.args[index + maxarg + 1];
    if (!extra) return false;
    const kw = c.args.slice(0, index + 1).join(" ");
    this.alert(`'${kw}' cannot handle unexpected argument '${extra}'.`);
    return true;
  }

  /**
   * Warns when the current proxy lacks capability <cap>; true if so.
   * HAProxy: warnifnotcap(), include/common/cfgparse.h.
   */
  warnIfNotCap(px: ProxyDraft, cap: number, arg: string, hint = ""): boolean {
    if (px.cap & cap) return false;
    const what =
      cap === CAP_BE ? "no backend" : cap === CAP_FE ? "no frontend" : cap === CAP_LISTEN ? "neither frontend nor backend" : "not enough";
    this.warn(`'${arg}' ignored because ${capStr(px.cap)} '${px.cfg.name}' has ${what} capability.${hint}`);
    return true;
  }

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
        this.parseGlobalLine(c);
      } else if (section === SEC_PROXY) {
        this.parseProxyLine(c);
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

  /** HAProxy: cfg_parse_global(), src/cfgparse.c. */
  parseGlobalLine(c: LineCtx): void {
    const h = GLOBAL_KEYWORDS[c.args[0]];
    if (h) {
      h(this, c);
    } else if (GLOBAL_IGNORED.has(c.args[0])) {
      this.warn(`'${c.args[0]}' is not supported by hapoll, ignored.`);
    } else {
      this.alert(`unknown keyword '${c.args[0]}' in 'global' section`);
    }
  }

  /** HAProxy: cfg_parse_listen(), src/cfgparse.c. */
  parseProxyLine(c: LineCtx): void {
    const kw = c.args[0];
    if (kw === "listen" || kw === "frontend" || kw === "backend") {
      this.newProxy(c, kw === "listen" ? CAP_LISTEN : kw === "frontend" ? CAP_FE : CAP_BE);
      return;
    }
    if (kw === "defaults") {
      this.newDefaults(c);
      return;
    }
    if (this.cur === null) {
      this.alert("'listen' or 'defaults' expected.");
      return;
    }
    const h = PROXY_KEYWORDS[kw];
    if (h) {
      h(this, c);
    } else if (PROXY_IGNORED.has(kw)) {
      this.warn(`'${kw}' is not supported by hapoll, ignored.`);
    } else if (PROXY_UNSUPPORTED.has(kw)) {
      this.alert(`'${kw}' is not supported by hapoll.`);
    } else {
      this.alert(`unknown keyword '${kw}' in '${this.cursection}' section`);
    }
  }

  /** Starts a listen/frontend/backend section, inheriting from defaults. HAProxy: cfg_parse_listen(). */
  newProxy(c: LineCtx, cap: number): void {
    const [kw, name] = c.args;
    if (!name) {
      this.alert(
        `'${kw}' expects an <id> argument and\n  optionally supports [addr1]:port1[-end1]{,[addr]:port[-end]}...`,
        DIAG_FORM_PARSING,
        ERR_ALERT | ERR_ABORT,
      );
      return;
    }
    const bad = invalidChar(name);
    if (bad !== null) {
      this.alert(`character '${bad}' is not permitted in '${kw}' name '${name}'.`);
    }
    const other = this.proxies.find((px) => px.cfg.name === name && (px.cap & (cap & CAP_FE ? CAP_FE : CAP_BE)) !== 0);
    if (other) {
      this.alert(
        `${capStr(cap)} '${name}' has the same name as ${capStr(other.cap)} '${other.cfg.name}' declared at ${other.cfg.file}:${other.cfg.line}.`,
        DIAG_FORM_PARSING_CAPS,
      );
    }
    const px = newProxyDraft(name, cap, this.file, this.line, false);
    this.proxies.push(px);
    this.cur = px;
    if (this.tooManyArgs(c, 1)) {
      if (cap & CAP_FE) this.alert("please use the 'bind' keyword for listening addresses.");
      return;
    }
    inheritDefaults(px, this.defaults);
  }

  /** Starts (and resets) a defaults section. HAProxy: cfg_parse_listen() "defaults" + init_default_instance(). */
  newDefaults(c: LineCtx): void {
    if (this.tooManyArgs(c, 1)) {
      this.errCode |= ERR_ABORT;
      return;
    }
    this.defaults = newProxyDraft(c.args[1] ?? "", CAP_LISTEN, this.file, this.line, true);
    this.cur = this.defaults;
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
    if (d.checkReq) c.checkReq = d.checkReq;
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
/* Shared helpers for keywords                                              */
/* ------------------------------------------------------------------------ */

/**
 * Parses `log <target> [len N] [format F] <facility> [level [minlevel]]`
 * starting at args[1]. <stopEarly> reproduces the proxy version, which stops
 * at the first bad facility/level (the global one reports them all).
 * HAProxy: the "log" branches of cfg_parse_global() and cfg_parse_listen(), src/cfgparse.c.
 */
function parseLogLine(p: CfgParser, c: LineCtx, stopEarly: boolean): LogTarget | null {
  const a = c.args;
  let arg = 0;
  let maxlen = MAX_SYSLOG_LEN;
  let format = "rfc3164";
  let ok = true;
  if (a[arg + 2] === "len") {
    const len = atol(a[arg + 3]);
    if (len < 80 || len > 65535) {
      p.alert(`invalid log length '${a[arg + 3]}', must be between 80 and 65535.`);
      return null;
    }
    maxlen = len;
    arg += 2;
  }
  if (a[arg + 2] === "format") {
    if (!LOG_FORMATS.includes(a[arg + 3])) {
      p.alert(`unknown log format '${a[arg + 3]}'`);
      return null;
    }
    format = a[arg + 3];
    arg += 2;
  }
  if (p.tooManyArgs(c, 3, arg + 1)) return null;

  const facility = a[arg + 2];
  if (!LOG_FACILITIES.includes(facility)) {
    p.alert(`unknown log facility '${facility}'`);
    ok = false;
    if (stopEarly) return null;
  }
  let level: string | undefined;
  if (a[arg + 3]) {
    if (!LOG_LEVELS.includes(a[arg + 3])) {
      p.alert(`unknown optional log level '${a[arg + 3]}'`);
      ok = false;
      if (stopEarly) return null;
    } else level = a[arg + 3];
  }
  let minLevel: string | undefined;
  if (a[arg + 4]) {
    if (!LOG_LEVELS.includes(a[arg + 4])) {
      p.alert(`unknown optional minimum log level '${a[arg + 4]}'`);
      ok = false;
      if (stopEarly) return null;
    } else minLevel = a[arg + 4];
  }

  const target: LogTarget = { kind: "udp", facility, format, maxlen };
  if (level !== undefined) target.level = level;
  if (minLevel !== undefined) target.minLevel = minLevel;

  const where = a[1];
  if (where === "stdout" || where === "stderr") {
    target.kind = where;
    return ok ? target : null;
  }
  const addr = str2saRange(where, { allowPortRange: true, allowPortOffset: true, env: p.env });
  if (isParseError(addr)) {
    p.alert(`'${a[0]}': ${addr.error}`);
    return null;
  }
  if (addr.family === "fd") {
    if (addr.host === "1" || addr.host === "2") {
      target.kind = addr.host === "1" ? "stdout" : "stderr";
      return ok ? target : null;
    }
    p.alert(`'${a[0]}' : only fd@1 and fd@2 are supported by hapoll as log targets (got '${where}').`);
    return null;
  }
  if (addr.family === "ipv4" || addr.family === "ipv6") {
    if (addr.portLow !== addr.portHigh || addr.portOffset) {
      p.alert(`'${a[0]}' : port ranges and offsets are not allowed in '${where}'`);
      return null;
    }
    if (!addr.hasPort) {
      addr.portLow = addr.portHigh = SYSLOG_PORT;
      addr.hasPort = true;
    }
    target.kind = "udp";
  } else {
    target.kind = "unix";
  }
  target.addr = addr;
  return ok ? target : null;
}

/** Values collected from bind options. HAProxy: fields of struct bind_conf / struct listener. */
interface BindOptionValues {
  acceptProxy: boolean;
  name?: string;
  backlog?: number;
  maxconn?: number;
  unixMode?: number;
  unixUid?: number;
  unixGid?: number;
  unixUser?: string;
  unixGroup?: string;
  level?: StatsLevel;
  /** `expose-fd listeners`. */
  exposeFd?: boolean;
  v6only?: boolean;
  v4v6?: boolean;
}

/** Result of one bind option parser: 0 or ERR_* with an optional message (HAProxy's <err>). */
interface KwResult {
  code: number;
  err?: string;
  /** Set for a warning-only result (hapoll: option accepted and ignored). */
  warn?: string;
}

/** A bind option. HAProxy: struct bind_kw (kw, parse, skip), include/types/listener.h. */
interface BindKw {
  /** Number of argument words the option takes. */
  skip: number;
  parse: (args: string[], cur: number, v: BindOptionValues) => KwResult;
}

const OK: KwResult = { code: 0 };
const FAIL = ERR_ALERT | ERR_FATAL;

/** backlog / maxconn: a positive integer. HAProxy: bind_parse_backlog()/bind_parse_maxconn(), src/listener.c. */
function bindPositive(field: "backlog" | "maxconn"): BindKw {
  return {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      const val = atol(args[cur + 1]);
      if (val <= 0) return { code: FAIL, err: `'${args[cur]}' : invalid value ${val}, must be > 0` };
      v[field] = val;
      return OK;
    },
  };
}

/** An option hapoll accepts and ignores with a warning. */
function bindIgnored(skip: number): BindKw {
  return { skip, parse: (args, cur) => ({ code: ERR_WARN, warn: `'${args[cur]}' is not supported by hapoll, ignored.` }) };
}

/** Bind options. HAProxy: bind_kws of src/listener.c, src/proto_uxst.c, src/proto_tcp.c, src/cli.c. */
const BIND_KEYWORDS: Record<string, BindKw> = {
  "accept-proxy": {
    skip: 0,
    parse(_a, _c, v) {
      v.acceptProxy = true;
      return OK;
    },
  },
  backlog: bindPositive("backlog"),
  maxconn: bindPositive("maxconn"),
  name: {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing name` };
      v.name = args[cur + 1];
      return OK;
    },
  },
  mode: {
    skip: 1,
    parse(args, cur, v) {
      const s = args[cur + 1];
      if (!s || !/^[ \t]*[+-]?[0-7]+$/.test(s)) {
        return { code: FAIL, err: `'${args[cur]}' : missing or invalid mode '${s}' (octal integer expected)` };
      }
      v.unixMode = parseInt(s.trim(), 8);
      return OK;
    },
  },
  uid: {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      v.unixUid = atol(args[cur + 1]);
      return OK;
    },
  },
  gid: {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      v.unixGid = atol(args[cur + 1]);
      return OK;
    },
  },
  user: {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing user name` };
      v.unixUser = args[cur + 1];
      return OK;
    },
  },
  group: {
    skip: 1,
    parse(args, cur, v) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing group name` };
      v.unixGroup = args[cur + 1];
      return OK;
    },
  },
  level: {
    skip: 1,
    parse(args, cur, v) {
      const s = args[cur + 1];
      if (!s) return { code: FAIL, err: `'${args[cur]}' : missing level` };
      if (s !== "user" && s !== "operator" && s !== "admin") {
        return { code: FAIL, err: `'${args[cur]}' only supports 'user', 'operator', and 'admin' (got '${s}')` };
      }
      v.level = s;
      return OK;
    },
  },
  "accept-netscaler-cip": bindIgnored(1),
  id: bindIgnored(1),
  nice: bindIgnored(1),
  process: bindIgnored(1),
  /* HAProxy: bind_parse_expose_fd(), src/cli.c: lets `_getsocks` hand out the listening sockets. */
  "expose-fd": {
    skip: 1,
    parse(args, cur, v) {
      const s = args[cur + 1];
      if (!s) return { code: FAIL, err: `'${args[cur]}' : missing fd type` };
      if (s !== "listeners") return { code: FAIL, err: `'${args[cur]}' only supports 'listeners' (got '${s}')` };
      v.exposeFd = true;
      return OK;
    },
  },
  "severity-output": bindIgnored(1),
  interface: bindIgnored(1),
  mss: bindIgnored(1),
  namespace: bindIgnored(1),
  "defer-accept": bindIgnored(0),
  tfo: bindIgnored(0),
  transparent: bindIgnored(0),
  /* HAProxy: bind_parse_v4v6() / bind_parse_v6only(), src/proto_tcp.c: IPv6 listeners only. */
  v4v6: {
    skip: 0,
    parse(_a, _c, v) {
      v.v4v6 = true;
      return OK;
    },
  },
  v6only: {
    skip: 0,
    parse(_a, _c, v) {
      v.v6only = true;
      return OK;
    },
  },
};

/**
 * Parses the addresses of a bind/stats socket argument (comma-separated).
 * HAProxy: str2listener(), src/cfgparse.c.
 */
function str2listener(arg: string, env?: Record<string, string | undefined>): ParsedAddress[] | { error: string } {
  const pieces = arg.split(",");
  if (pieces.length > 1 && pieces[pieces.length - 1] === "") pieces.pop();
  const out: ParsedAddress[] = [];
  for (const piece of pieces) {
    const addr = str2saRange(piece, { portRequired: true, allowPortRange: true, allowPortOffset: false, kw: "bind", env });
    if (isParseError(addr)) return addr;
    out.push(addr);
  }
  return out;
}

/* ------------------------------------------------------------------------ */
/* Global section                                                           */
/* ------------------------------------------------------------------------ */

/** A flag keyword without argument. */
function globalFlag(set: (g: GlobalConfig) => void): KwHandler {
  return (p, c) => {
    if (p.tooManyArgs(c, 0)) return;
    set(p.global);
  };
}

/**
 * An integer keyword: `'%s' already specified. Continuing.` when <isSet>,
 * `'%s' expects an integer argument.` when missing, C atol() otherwise.
 */
function globalInt(isSet: ((p: CfgParser) => boolean) | null, set: (p: CfgParser, v: number) => string | null): KwHandler {
  return (p, c) => {
    const kw = c.args[0];
    if (p.tooManyArgs(c, 1)) return;
    if (isSet && isSet(p)) {
      p.alert(`'${kw}' already specified. Continuing.`, DIAG_FORM_PARSING, ERR_ALERT);
      return;
    }
    if (!c.args[1]) {
      p.alert(`'${kw}' expects an integer argument.`);
      return;
    }
    const err = set(p, atol(c.args[1]));
    if (err) p.alert(err);
  };
}

/** `stats socket|timeout|maxconn|bind-process`. HAProxy: stats_parse_global(), src/cli.c. */
function globalStats(p: CfgParser, c: LineCtx): void {
  const a = c.args;
  const kw = `${a[0]} ${a[1]}`;
  if (a[1] === "socket") {
    if (!a[2]) {
      p.alert(`'${kw}' in global section expects an address or a path to a UNIX socket`);
      return;
    }
    const addrs = str2listener(a[2], p.env);
    if (isParseError(addrs)) {
      /* HAProxy 1.8 really prints the location twice here */
      p.alert(`parsing [${p.file}:${p.line}] : '${kw}' : ${addrs.error}`);
      return;
    }
    const v: BindOptionValues = { acceptProxy: false };
    let cur = 3;
    while (a[cur]) {
      const bk = BIND_KEYWORDS[a[cur]];
      if (!bk) {
        p.alert(`'${kw}' : unknown keyword '${a[cur]}'.`);
        return;
      }
      const r = bk.parse(a, cur, v);
      if (r.code & ERR_FATAL) {
        p.alert(`'${kw}' : '${r.err ?? `error encountered while processing '${a[cur]}'`}'`);
        return;
      }
      if (r.warn) p.warn(`'${kw}' : ${r.warn}`);
      cur += 1 + bk.skip;
    }
    for (const addr of addrs) {
      const s: StatsSocketConfig = {
        addr,
        level: v.level ?? "operator",
        exposeFd: v.exposeFd ?? false,
        mode: v.unixMode ?? -1,
        uid: v.unixUid ?? -1,
        gid: v.unixGid ?? -1,
        file: p.file,
        line: p.line,
      };
      if (v.unixUser !== undefined) s.user = v.unixUser;
      if (v.unixGroup !== undefined) s.group = v.unixGroup;
      if (p.statsFeAt < 0) p.statsFeAt = p.proxies.length;
      p.global.statsSockets.push(s);
    }
  } else if (a[1] === "timeout") {
    const res = parseTime(a[2]);
    if (typeof res !== "number") {
      p.alert(timeErr(res, a[2], kw, (ch) => `'${kw}' : unexpected character '${ch}'`));
      return;
    }
    if (!res) {
      p.alert(`'${kw}' expects a positive value`);
      return;
    }
    p.global.statsTimeout = res;
  } else if (a[1] === "maxconn") {
    if (atol(a[2]) <= 0) {
      p.alert(`'${kw}' expects a positive value`);
      return;
    }
    p.warn(`'${kw}' is not supported by hapoll, ignored.`);
  } else if (a[1] === "bind-process") {
    p.warn(`'${kw}' is not supported by hapoll, ignored.`);
  } else {
    p.alert(`'${a[0]}' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '${a[1]}')`);
  }
}

/** Global keywords. HAProxy: cfg_parse_global() and the CFG_GLOBAL cfg_kws of src/proxy.c, src/cli.c. */
const GLOBAL_KEYWORDS: Record<string, KwHandler> = {
  /* HAProxy: cfg_parse_global() "log-tag": the syslog tag of every log line. */
  "log-tag": (p, c) => {
    if (p.tooManyArgs(c, 1)) return;
    if (!c.args[1]) {
      p.alert(`'${c.args[0]}' expects a tag for use in syslog.`);
      return;
    }
    p.global.logTag = c.args[1];
  },
  global: (p, c) => {
    p.tooManyArgs(c, 0);
  },
  daemon: globalFlag((g) => (g.daemon = true)),
  /* HAProxy: "master-worker [no-exit-on-failure]" (src/cfgparse.c); hapoll's master never kills
   * the other workers when one fails, so the option changes nothing. */
  "master-worker": (p, c) => {
    const a = c.args;
    if (p.tooManyArgs(c, 1)) return;
    if (a[1] && a[1] !== "no-exit-on-failure") {
      p.alert(`'${a[0]}' only supports 'exit-on-failure' option.`);
      return;
    }
    p.global.masterWorker = true;
  },
  quiet: globalFlag((g) => (g.quiet = true)),
  noepoll: globalFlag((g) => (g.noepoll = true)),
  nokqueue: globalFlag((g) => (g.nokqueue = true)),
  nopoll: globalFlag((g) => (g.nopoll = true)),
  nosplice: globalFlag((g) => (g.nosplice = true)),
  noreuseport: globalFlag((g) => (g.noreuseport = true)),
  maxconn: globalInt(
    (p) => p.global.maxconn !== 0,
    (p, v) => {
      p.global.maxconn = v;
      // 1.8 takes any int; a negative one (e.g. a huge value through atol) cannot size anything.
      return v < 0 ? `'maxconn' expects a positive integer argument.` : null;
    },
  ),
  maxconnrate: globalInt(
    (p) => p.global.maxconnrate !== undefined,
    (p, v) => {
      p.global.maxconnrate = v;
      return null;
    },
  ),
  nbproc: globalInt(null, (p, v) => {
    p.global.nbproc = v;
    return v < 1 || v > LONGBITS ? `'nbproc' must be between 1 and ${LONGBITS} (was ${v}).` : null;
  }),
  /* HAProxy 1.8: nbthread <n>, 1 to MAX_THREADS (LONGBITS). hapoll runs one thread per process: 1 is
   * what it does anyway; more is ignored with a warning naming nbproc, hapoll's way to several cores. */
  nbthread: globalInt(null, (p, v) => {
    if (v < 1 || v > LONGBITS) return `'nbthread' must be between 1 and ${LONGBITS} (was ${v}).`;
    if (v > 1) {
      p.warn(`'nbthread ${v}' is not supported by hapoll (one thread per process), ignored: use 'nbproc ${v}' to run on several cores.`);
    }
    return null;
  }),
  "ulimit-n": globalInt(
    (p) => p.global.ulimitN !== 0,
    (p, v) => {
      p.global.ulimitN = v;
      return null;
    },
  ),
  "tune.maxpollevents": globalInt(
    (p) => p.rawMaxpollevents !== 0,
    (p, v) => {
      p.rawMaxpollevents = v;
      return null;
    },
  ),
  "tune.maxaccept": globalInt(
    (p) => p.global.tuneMaxaccept !== 0,
    (p, v) => {
      p.global.tuneMaxaccept = v;
      return null;
    },
  ),
  "tune.maxrewrite": globalInt(null, (p, v) => {
    if (v < 0) return "'tune.maxrewrite' expects a positive integer argument.";
    p.global.tuneMaxrewrite = v;
    return null;
  }),
  "tune.recv_enough": globalInt(null, (p, v) => {
    p.global.tuneRecvEnough = v;
    return null;
  }),
  // hapoll only: HAProxy 1.8 has no such keyword (see global.readLoops).
  "tune.hapoll.read-loops": globalInt(null, (p, v) => {
    if (v < 1 || v > 64) return "'tune.hapoll.read-loops' expects an integer between 1 and 64.";
    p.global.tuneReadLoops = v;
    return null;
  }),
  "tune.bufsize": globalInt(null, (p, v) => {
    if (v <= 0) return "'tune.bufsize' expects a positive integer argument.";
    p.global.tuneBufsize = v;
    return null;
  }),
  pidfile: (p, c) => {
    if (p.tooManyArgs(c, 1)) return;
    if (p.global.pidfile !== undefined) {
      p.alert(`'${c.args[0]}' already specified. Continuing.`, DIAG_FORM_PARSING, ERR_ALERT);
      return;
    }
    if (!c.args[1]) {
      p.alert(`'${c.args[0]}' expects a file name as an argument.`);
      return;
    }
    p.global.pidfile = c.args[1];
  },
  "hard-stop-after": (p, c) => {
    const a = c.args;
    if (!a[1]) {
      p.alert(`'${a[0]}' expects <time> as argument.`);
      return;
    }
    const res = parseTime(a[1]);
    if (typeof res !== "number") {
      p.alert(timeErr(res, a[1], a[0], (ch) => `unexpected character '${ch}' in argument to <${a[0]}>.`));
      return;
    }
    p.global.hardStopAfter = res;
  },
  log: (p, c) => {
    const a = c.args;
    if (c.kwm === KWM_NO) {
      if (a[1]) {
        p.alert("'no log' does not expect arguments.", DIAG_FORM_PARSING_TIGHT);
        return;
      }
      p.global.logs = [];
      return;
    }
    if (p.tooManyArgs(c, 8)) return;
    if (!a[1] || !a[2]) {
      p.alert(`'${a[0]}' expects <address> and <facility> as arguments.`);
      return;
    }
    const t = parseLogLine(p, c, false);
    if (t) p.global.logs.push(t);
  },
  stats: globalStats,
};

/**
 * Global keywords of HAProxy 1.8 that hapoll accepts and ignores with a warning
 * "'%s' is not supported by hapoll, ignored.".
 */
const GLOBAL_IGNORED = new Set([
  "user", "group", "uid", "gid", "chroot", "node", "description", "log-send-hostname",
  "spread-checks", "max-spread-checks", "cpu-map", "debug", "nogetaddrinfo",
  "maxpipes", "maxsessrate", "maxsslrate", "maxcomprate", "maxcompcpuusage", "maxzlibmem",
  "unix-bind", "setenv", "presetenv", "unsetenv", "resetenv", "server-state-base", "server-state-file",
  "external-check", "ca-base", "crt-base", "ssl-server-verify", "ssl-default-bind-ciphers",
  "ssl-default-bind-options", "ssl-default-server-ciphers", "ssl-default-server-options",
  "tune.chksize", "tune.buffers.limit", "tune.buffers.reserve",
  "tune.idletimer", "tune.rcvbuf.client", "tune.rcvbuf.server", "tune.sndbuf.client", "tune.sndbuf.server",
  "tune.pipesize", "tune.http.cookielen", "tune.http.logurilen", "tune.http.maxhdr", "tune.comp.maxlevel",
  "tune.pattern.cache-size", "tune.zlib.memlevel", "tune.zlib.windowsize", "tune.ssl.cachesize",
  "tune.ssl.lifetime", "tune.ssl.maxrecord", "tune.ssl.default-dh-param", "tune.lua.maxmem",
  "tune.vars.global-max-size", "tune.vars.proc-max-size", "tune.vars.reqres-max-size",
  "tune.vars.sess-max-size", "tune.vars.txn-max-size", "tune.h2.header-table-size",
  "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams",
]);

/* ------------------------------------------------------------------------ */
/* Proxy sections                                                           */
/* ------------------------------------------------------------------------ */

/** Current proxy (the dispatcher guarantees there is one). */
function curProxy(p: CfgParser): ProxyDraft {
  if (p.cur === null) throw new Error("cfgparse: no current proxy");
  return p.cur;
}

/** `bind <addr>[,<addr>...] [options]`. HAProxy: cfg_parse_listen() "bind" + str2listener() + bind_kws. */
function proxyBind(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  if (px.isDefaults) {
    p.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  const ignored = p.warnIfNotCap(px, CAP_FE, a[0]);
  if (!a[1]) {
    p.alert(`'${a[0]}' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.`);
    return;
  }
  const addrs = str2listener(a[1], p.env);
  if (isParseError(addrs)) {
    p.alert(`'${a[0]}' : ${addrs.error}`);
    return;
  }
  const v: BindOptionValues = { acceptProxy: false };
  let cur = 2;
  while (a[cur]) {
    const bk = BIND_KEYWORDS[a[cur]];
    if (!bk) {
      p.alert(`'${a[0]} ${a[1]}' unknown keyword '${a[cur]}'.`);
      return;
    }
    const r = bk.parse(a, cur, v);
    if (r.code & ERR_FATAL) {
      p.alert(`'${a[0]} ${a[1]}' : ${r.err ?? `error encountered while processing '${a[cur]}'.`}`);
      return;
    }
    if (r.warn) p.warn(`'${a[0]} ${a[1]}' : ${r.warn}`);
    cur += 1 + bk.skip;
  }
  if (ignored) return;
  for (const addr of addrs) {
    const b: BindConfig = { addr, acceptProxy: v.acceptProxy, file: p.file, line: p.line, raw: a[1] };
    if (v.name !== undefined) b.name = v.name;
    if (v.backlog !== undefined) b.backlog = v.backlog;
    if (v.maxconn !== undefined) b.maxconn = v.maxconn;
    if (addr.family === "ipv6" || (addr.needsResolve && !addr.familyForced)) {
      if (v.v6only) b.v6only = true;
      if (v.v4v6) b.v4v6 = true;
    }
    if (addr.family === "unix" || addr.family === "abns") {
      if (v.unixMode !== undefined) b.unixMode = v.unixMode;
      if (v.unixUid !== undefined) b.unixUid = v.unixUid;
      if (v.unixGid !== undefined) b.unixGid = v.unixGid;
      if (v.unixUser !== undefined) b.unixUser = v.unixUser;
      if (v.unixGroup !== undefined) b.unixGroup = v.unixGroup;
    }
    px.cfg.binds.push(b);
  }
}

/** A server option. HAProxy: struct srv_kw (skip -1: the parser moves the cursor itself), include/types/server.h. */
interface SrvKw {
  skip: number;
  /** Accepted on `default-server` lines. HAProxy: srv_kw.default_ok. */
  defaultOk: boolean;
  /**
   * Returns 0 or ERR_*. Messages either go straight to p (HAProxy's inline
   * options of parse_server()) or come back in <res.err> and are printed as
   * "'server <name>' : <err>" (HAProxy's display_parser_err()).
   */
  parse: (ctx: SrvCtx) => KwResult;
}

/** State of one server/default-server line. */
interface SrvCtx {
  p: CfgParser;
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
function srvTime(field: "inter" | "fastinter" | "downinter" | "agentInter"): SrvKw {
  return {
    skip: 1,
    defaultOk: true,
    parse({ p, args, cur, srv, name }) {
      const kw = args[cur];
      const res = parseTime(args[cur + 1]);
      if (typeof res !== "number") {
        /* 1.8 prints "parsing [f:l] : " for inter and "parsing [f:l]: " for the two others */
        p.alert(
          timeErr(res, args[cur + 1], kw, (ch) => `unexpected character '${ch}' in '${kw}' argument of server ${name}.`),
          field === "inter" || field === "agentInter" ? DIAG_FORM_PARSING : DIAG_FORM_PARSING_TIGHT,
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
    parse({ p, args, cur, srv }) {
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
    parse({ srv }) {
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
    parse({ args, cur, srv }) {
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
    parse: ({ args, cur }) => ({ code: ERR_WARN, warn: `'${args[cur]}' is not supported by hapoll, ignored.` }),
  };
}

/** The agent-check keywords (src/config/cfg_checks.ts). */
function agentKw(skip: number): SrvKw {
  return {
    skip,
    defaultOk: true,
    parse(ctx) {
      const err = parseAgentKeyword(ctx);
      if (err !== null) ctx.p.alert(err);
      return err !== null ? { code: FAIL } : OK;
    },
  };
}

/** Server options. HAProxy: the inline options of parse_server() and srv_kws, src/server.c. */
const SERVER_KEYWORDS: Record<string, SrvKw> = {
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
    parse({ p, args, cur, srv, name }) {
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
    parse({ p, args, cur, srv, name }) {
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
    parse({ p, args, cur, srv }) {
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
    parse(ctx) {
      const { args, cur, srv } = ctx;
      const kw = args[cur];
      const arg = args[cur + 1];
      if (!arg) {
        return {
          code: FAIL,
          err: `'${kw}' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument.`,
        };
      }
      const sk = str2saRange(arg, { allowPortRange: true, allowPortOffset: true, env: ctx.p.env });
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
    parse({ px, args, cur, server }) {
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
    parse({ p }) {
      p.alert(`'usesrc' only allowed after a 'source' statement.`);
      return { code: FAIL };
    },
  },
  "agent-check": agentKw(0),
  "no-agent-check": agentKw(0),
  "agent-inter": srvTime("agentInter"),
  "agent-addr": agentKw(1),
  "agent-port": agentKw(1),
  "agent-send": agentKw(1),
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
function proxyServer(p: CfgParser, c: LineCtx): void {
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
    const ctx: SrvCtx = { p, px, args: a, cur, srv, name, server };
    const r = kw.parse(ctx);
    if (r.err !== undefined) p.alert(`'${a[0]} ${a[1]}' : ${r.err}`, DIAG_FORM_PARSING, r.code);
    if (r.warn !== undefined) p.warn(`'${a[0]} ${a[1]}' : ${r.warn}`);
    if (r.code & ERR_FATAL) return;
    cur = ctx.next ?? cur + 1 + kw.skip;
  }

  if (!server) return;
  if (server.check && !serverHasCheckPort(server)) {
    p.alert(`server ${server.name} has neither service port nor check port. Check has been disabled.`, DIAG_FORM_PARSING, ERR_ALERT | ERR_ABORT);
    return;
  }
  const agentErr = agentCheckInit(server);
  if (agentErr !== null) return p.alert(agentErr);
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
  "spop-check", "external-check",
]);

/** Parse a hex string for send-binary / expect binary; null when it is not one. */
function parseHex(s: string): Buffer | null {
  if (!/^([0-9A-Fa-f]{2})+$/.test(s)) return null;
  return Buffer.from(s, "hex");
}

/**
 * `tcp-check connect|send|send-binary|expect|comment ...`. HAProxy: the "tcp-check" keyword of
 * cfg_parse_listen(), src/cfgparse.c. hapoll runs one connection per check: a `connect` is only
 * allowed as the first rule (and without ssl / send-proxy).
 */
function proxyTcpCheck(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  if (p.warnIfNotCap(px, CAP_BE, a[0])) return;
  const rules = px.cfg.tcpCheckRules;
  const act = a[1];
  if (act === "comment") {
    if (!a[2]) {
      p.alert(`'${a[0]}' expects a comment string.`);
      return;
    }
    rules.push({ action: "comment", comment: a[2] });
    return;
  }
  if (act === "connect") {
    if (rules.some((r) => r.action !== "comment")) {
      p.alert(`'${a[0]} connect' is only supported by hapoll as the first rule (one connection per check).`);
      return;
    }
    const rule: TcpCheckRule = { action: "connect" };
    for (let i = 2; a[i]; i++) {
      if (a[i] === "port") {
        const port = Number(a[i + 1]);
        if (!a[i + 1] || !/^\d+$/.test(a[i + 1]) || port < 1 || port > 65535) {
          p.alert(`'${a[0]} ${act}' expects a valid port number.`);
          return;
        }
        rule.port = port;
        i++;
      } else if (a[i] === "comment") {
        rule.comment = a[++i];
      } else if (a[i] === "send-proxy" || a[i] === "ssl") {
        p.alert(`'${a[0]} ${act}' : '${a[i]}' is not supported by hapoll.`);
        return;
      } else {
        p.alert(`'${a[0]} ${act}' expects 'comment', 'port', 'send-proxy' or 'ssl' but got '${a[i]}' as argument.`);
        return;
      }
    }
    rules.push(rule);
    return;
  }
  if (act === "send" || act === "send-binary") {
    if (!a[2]) {
      p.alert(`'${a[0]} ${act}' expects a ${act === "send" ? "string" : "binary string"} as argument.`);
      return;
    }
    const data = act === "send" ? Buffer.from(a[2], "latin1") : parseHex(a[2]);
    if (!data) {
      p.alert(`'${a[0]} ${act}' expects a binary string as argument.`);
      return;
    }
    const rule: TcpCheckRule = { action: "send", data };
    if (a[3] === "comment") rule.comment = a[4];
    rules.push(rule);
    return;
  }
  if (act === "expect") {
    let i = 2;
    const rule: TcpCheckRule = { action: "expect" };
    if (a[i] === "!") {
      rule.inverse = true;
      i++;
    }
    const kind = a[i];
    const pat = a[i + 1];
    if (kind !== "string" && kind !== "rstring" && kind !== "binary" && kind !== "rbinary") {
      p.alert(`'${a[0]} ${act}' only supports 'binary', 'string', 'rstring' and 'rbinary', got '${kind ?? ""}'.`);
      return;
    }
    if (!pat) {
      p.alert(`'${a[0]} ${act} ${kind}' expects <string> as an argument.`);
      return;
    }
    rule.text = pat;
    if (kind === "string") rule.data = Buffer.from(pat, "latin1");
    else if (kind === "binary") {
      const d = parseHex(pat);
      if (!d) {
        p.alert(`'${a[0]} ${act} ${kind}' expects a binary string as argument.`);
        return;
      }
      rule.data = d;
      rule.binary = true;
    } else {
      try {
        rule.regex = new RegExp(pat);
      } catch (e) {
        p.alert(`'${a[0]} ${act} ${kind}' : regular expression '${pat}' : ${(e as Error).message}.`);
        return;
      }
      rule.binary = kind === "rbinary";
    }
    if (a[i + 2] === "comment") rule.comment = a[i + 3];
    rules.push(rule);
    return;
  }
  p.alert(`'${a[0]}' expects 'comment', 'connect', 'send' or 'expect'.`);
}

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
  if (parseCheckOption(p, c, px, CAP_BE)) return;
  // A health check hapoll cannot perform is refused: a plain connect check in its place would
  // report servers UP that the protocol check would find broken.
  if (PROTOCOL_CHECKS_REFUSED.has(opt)) {
    p.alert(`'option ${opt}' is not supported by hapoll (${opt === "spop-check" ? "it has no SPOE" : "it runs no external programs"}).`);
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
function proxyInt(field: "maxconn" | "backlog" | "fullconn", cap: number, hint = ""): KwHandler {
  return (p, c) => {
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
const PROXY_KEYWORDS: Record<string, KwHandler> = {
  bind: proxyBind,
  server: proxyServer,
  "default-server": proxyServer,
  timeout: proxyTimeout,
  contimeout: proxyTimeout,
  clitimeout: proxyTimeout,
  srvtimeout: proxyTimeout,
  option: proxyOption,
  log: proxyLog,
  maxconn: proxyInt("maxconn", CAP_FE, " Maybe you want 'fullconn' instead ?"),
  backlog: proxyInt("backlog", CAP_FE),
  fullconn: proxyInt("fullconn", CAP_BE, " Maybe you want 'maxconn' instead ?"),
  source: proxySource,
  "tcp-check": proxyTcpCheck,
  /* HAProxy: cfg_parse_listen() "log-format". */
  "log-format": (p, c) => {
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
  /* HAProxy: cfg_parse_listen() "log-tag". */
  "log-tag": (p, c) => {
    const px = curProxy(p);
    if (p.tooManyArgs(c, 1)) return;
    if (!c.args[1]) {
      p.alert(`'${c.args[0]}' requires an argument.`);
      return;
    }
    px.cfg.logTag = c.args[1];
  },
  mode: (p, c) => {
    const px = curProxy(p);
    if (p.tooManyArgs(c, 1)) return;
    const m = c.args[1];
    if (m === "tcp") px.cfg.mode = "tcp";
    else if (m === "http" || m === "health") p.alert(`'mode ${m}' is not supported: hapoll only supports 'mode tcp'.`);
    else p.alert(`unknown proxy mode '${m}'.`);
  },
  retries: (p, c) => {
    const px = curProxy(p);
    p.warnIfNotCap(px, CAP_BE, c.args[0]);
    if (p.tooManyArgs(c, 1)) return;
    if (!c.args[1]) {
      p.alert(`'${c.args[0]}' expects an integer argument (dispatch counts for one).`);
      return;
    }
    px.cfg.retries = atol(c.args[1]);
  },
  balance: (p, c) => {
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
  default_backend: (p, c) => {
    const px = curProxy(p);
    const ignored = p.warnIfNotCap(px, CAP_FE, c.args[0]);
    if (!c.args[1]) {
      p.alert(`'${c.args[0]}' expects a backend name.`);
      return;
    }
    if (!ignored) px.cfg.defaultBackend = c.args[1];
    p.tooManyArgs(c, 1);
  },
  use_backend: (p, c) => {
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
  acl: (p, c) => parseAclLine(ruleHost(p), curProxy(p), c.args),
  "tcp-request": (p, c) => parseTcpRequest(ruleHost(p), curProxy(p), c.args),
  "tcp-response": (p, c) => parseTcpResponse(ruleHost(p), curProxy(p), c.args),
  "use-server": (p, c) => parseUseServer(ruleHost(p), curProxy(p), c.args),
  "stick-table": (p, c) => parseStickTable(ruleHost(p), curProxy(p), c.args),
  redispatch: proxyRedispatch,
  redisp: proxyRedispatch,
  disabled: (p, c) => {
    if (p.tooManyArgs(c, 0)) return;
    curProxy(p).cfg.disabled = true;
  },
  enabled: (p, c) => {
    if (p.tooManyArgs(c, 0)) return;
    curProxy(p).cfg.disabled = false;
  },
  description: (p, c) => {
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
  id: (p, c) => {
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

// The keyword tables are looked up with words from the configuration: without a prototype, names
// such as "constructor" or "toString" are unknown keywords, not Object.prototype members.
for (const t of [SECTIONS, BIND_KEYWORDS, GLOBAL_KEYWORDS, SERVER_KEYWORDS, TIMEOUTS, OLD_TIMEOUTS, OPTIONS,
  OPTIONS_IGNORED, PROXY_KEYWORDS]) {
  Object.setPrototypeOf(t, null);
}
