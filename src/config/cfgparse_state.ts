/**
 * The parser's state and the shapes every keyword file shares: the CfgParser class (what HAProxy
 * keeps in globals while it reads: global, defproxy, the proxy list, curproxy, the warned bits,
 * plus the ha_alert()/ha_warning() of a parsing line), the proxy being parsed (ProxyDraft), the
 * line a keyword sees (LineCtx), and the one handler shape of every keyword table (CfgKw).
 * The reader (./cfgparse.ts) extends CfgParser with the reading and the final checks; keyword
 * files see only this class, so they never import the reader.
 *
 * HAProxy: the globals of src/cfgparse.c and src/haproxy.c, struct cfg_kw / bind_kw / srv_kw
 * (include/types/cfgparse.h, listener.h, server.h), alertif_too_many_args_idx() of src/cfgparse.c,
 * warnifnotcap() of include/common/cfgparse.h, init_new_proxy() of src/proxy.c.
 */

import type { Acl } from "./acl";
import {
  CAP_BE,
  CAP_FE,
  CAP_LISTEN,
  ERR_ALERT,
  ERR_FATAL,
  ERR_WARN,
  capStr,
  type KwResult,
} from "./cfgparse_util";
import {
  DIAG_FORM_BARE,
  DIAG_FORM_PARSING,
  type Diag,
  type DiagLevel,
  type GlobalConfig,
  type LogTarget,
  type ProxyConfig,
  type ProxyOptions,
  type ProxyTimeouts,
  type ServerConfig,
} from "./types";

/* ------------------------------------------------------------------------ */
/* Internal model                                                           */
/* ------------------------------------------------------------------------ */

/** Server settings that `default-server` (and `defaults`) carry over to later servers. */
export type ServerSettings = Omit<ServerConfig, "name" | "addr" | "file" | "line" | "id">;

/** `log global` placeholder, expanded once the whole configuration is read. */
interface LogGlobalRef {
  global: true;
}
export type LogEntry = LogTarget | LogGlobalRef;

/** A proxy being parsed (also used for the `defaults` section). HAProxy: struct proxy. */
export interface ProxyDraft {
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
export interface LineCtx {
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
export function newProxyDraft(name: string, cap: number, file: string, line: number, isDefaults: boolean): ProxyDraft {
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

/* ------------------------------------------------------------------------ */
/* The one keyword handler shape                                            */
/* ------------------------------------------------------------------------ */

/**
 * A keyword: the one shape of every keyword table (global, proxy, bind and server keywords).
 * parse() gets the parser and its table's context: the whole line (LineCtx) for section keywords,
 * the line and the cursor for bind and server options. It either reports through the parser
 * itself (HAProxy 1.8's inline branches calling ha_alert()), or returns a KwResult that its
 * dispatcher reports with the table's own prefix (HAProxy's ERR_* return and <err> message);
 * nothing returned means it went well or was reported already.
 * HAProxy: the parse() member of struct cfg_kw, bind_kw and srv_kw.
 */
export interface CfgKw<Ctx> {
  parse(p: CfgParser, ctx: Ctx): KwResult | void;
}

/** An option keyword on a line of options (bind, server), which also says how many words it takes. HAProxy: bind_kw.skip / srv_kw.skip. */
export interface CfgOptKw<Ctx> extends CfgKw<Ctx> {
  /** Number of argument words the option takes (-1: the handler moves the cursor itself). */
  skip: number;
}

/* ------------------------------------------------------------------------ */
/* The parser state                                                         */
/* ------------------------------------------------------------------------ */

/**
 * Parser state: what HAProxy keeps in globals (global, defproxy, proxies_list,
 * the static curproxy of cfg_parse_listen(), the warned bits). The reader
 * (CfgReader, ./cfgparse.ts) extends it; keyword handlers see only this class.
 */
export class CfgParser {
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

  /**
   * Reports what a keyword handler returned (nothing: it reported itself, or went well): the error
   * as an alert that carries the handler's code, then the warning, both after <prefix>. Returns the
   * code (0 for nothing). HAProxy: the callers of cfg_kw/srv_kw parse() printing <err>.
   */
  kwResult(r: KwResult | void, prefix = ""): number {
    if (!r) return 0;
    if (r.err !== undefined) this.alert(prefix + r.err, DIAG_FORM_PARSING, r.code);
    if (r.warn !== undefined) this.warn(prefix + r.warn);
    return r.code;
  }
}

/** Current proxy (the dispatcher guarantees there is one). */
export function curProxy(p: CfgParser): ProxyDraft {
  if (p.cur === null) throw new Error("cfgparse: no current proxy");
  return p.cur;
}
