/**
 * Configuration data model of hapoll: what the configuration parser
 * (src/config/cfgparse.ts) produces and the runtime (listeners, streams,
 * pollers) consumes. Everything here is plain data: no sockets, no timers.
 *
 * The model follows HAProxy 1.8's in-memory structures (struct global in
 * include/types/global.h, struct proxy in include/types/proxy.h, struct
 * server in include/types/server.h, struct bind_conf/listener in
 * include/types/listener.h, struct logsrv in include/types/log.h), reduced to
 * what a TCP-only proxy needs. Times are in milliseconds; 0 means "not set"
 * wherever HAProxy uses TICK_ETERNITY/0 for that.
 */
import type { AclCond, SampleExpr } from "./acl";

/** Address family of a parsed address. "fd" is an inherited file descriptor (`fd@N`). */
import type { LogFormatNode } from "./logformat";

/** Health check types. HAProxy: PR_O2_TCPCHK_CHK, PR_O2_REDIS_CHK, PR_O2_SSL3_CHK, PR_O2_SMTP_CHK, PR_O2_MYSQL_CHK, PR_O2_PGSQL_CHK, PR_O2_LDAP_CHK. */
export type CheckType = "tcp-check" | "redis" | "ssl-hello" | "smtp" | "mysql" | "pgsql" | "ldap";

/** One `tcp-check` rule. HAProxy: struct tcpcheck_rule, include/types/checks.h. */
export interface TcpCheckRule {
  action: "connect" | "send" | "expect" | "comment";
  /** send / send-binary: the bytes; expect string / binary: the bytes looked for. */
  data?: Buffer;
  /** expect rstring / rbinary: the regex (rbinary matches the hex text of the data). */
  regex?: RegExp;
  /** The text given (for the messages: 1.8 prints the expected string). */
  text?: string;
  binary?: boolean;
  inverse?: boolean;
  /** connect port <n>. */
  port?: number;
  comment?: string;
}

export type AddressFamily = "ipv4" | "ipv6" | "unix" | "abns" | "fd";

/**
 * One address as parsed by str2saRange().
 * HAProxy: the sockaddr_storage + port/low/high/fqdn outputs of str2sa_range(), src/standard.c.
 */
export interface ParsedAddress {
  /**
   * Address family. For a DNS name (needsResolve) this is the family forced
   * with `ipv4@`/`ipv6@`, otherwise "ipv4" with familyForced=false: the
   * resolver may then return any family.
   */
  family: AddressFamily;
  /**
   * ipv4/ipv6: the numeric address without brackets ("0.0.0.0" for '' and
   * '*', "::" for '::'), or the DNS name still to resolve (needsResolve).
   * unix/abns: the socket path (abns: the name, without the leading NUL).
   * fd: the file descriptor number, as written.
   */
  host: string;
  /** True when host is a DNS name that the runtime still has to resolve. */
  needsResolve: boolean;
  /** True when the family came from an explicit prefix (ipv4@, ipv6@, unix@, abns@, fd@) or a leading '/'. */
  familyForced: boolean;
  /**
   * First port. For an offset (portOffset) this is the signed offset (+N -> N, -N -> -N).
   * 0 when there is no port.
   */
  portLow: number;
  /** Last port of a range N-M (== portLow for a single port or an offset, 0 when no port). */
  portHigh: number;
  /** True for `+N` / `-N`: the port is relative to the client's destination port (servers only). */
  portOffset: boolean;
  /** False when no port (or port 0) was given; always false for unix/abns/fd. */
  hasPort: boolean;
  /** The text as written in the configuration. */
  raw: string;
}

/**
 * A log target.
 * HAProxy: struct logsrv, include/types/log.h (stdout/stderr targets are the 2.x syntax,
 * `log stdout format raw local0`, which 1.8 did not have).
 */
export interface LogTarget {
  /** "udp" for ipv4/ipv6 syslog servers, "unix" for unix/abns datagram sockets. */
  kind: "stdout" | "stderr" | "udp" | "unix";
  /** Destination for "udp"/"unix" (port 514 is filled in when none was given). */
  addr?: ParsedAddress;
  /** Syslog facility name (kern, user, ..., local0..local7). */
  facility: string;
  /** Maximum level sent (a syslog level name); absent means "debug" (send everything). */
  level?: string;
  /** Minimum level: messages more urgent than this are raised to it; absent means "emerg". */
  minLevel?: string;
  /** Log line format: "rfc3164" (default), "rfc5424", "raw", "short", ... */
  format: string;
  /** Maximum line length (`len`, 80..65535), default 1024. HAProxy: MAX_SYSLOG_LEN. */
  maxlen: number;
}

/** Access level of a stats socket. HAProxy: ACCESS_LVL_USER/OPER/ADMIN, include/types/global.h. */
export type StatsLevel = "user" | "operator" | "admin";

/**
 * One `stats socket` listener of the global section.
 * HAProxy: a bind_conf of global.stats_fe, created by stats_parse_global(), src/cli.c.
 */
export interface StatsSocketConfig {
  addr: ParsedAddress;
  /** `level`, default "operator" (1.8 default). */
  level: StatsLevel;
  /** `expose-fd listeners`: `_getsocks` may take the listening sockets (HAProxy: ACCESS_FD_LISTENERS). */
  exposeFd: boolean;
  /** Unix socket permissions from `mode` (octal in the config), -1 when not set. */
  mode: number;
  /** `uid` (numeric), -1 when not set. */
  uid: number;
  /** `gid` (numeric), -1 when not set. */
  gid: number;
  /** `user` name, still to be resolved by the runtime (the parser does no passwd lookups). */
  user?: string;
  /** `group` name, still to be resolved by the runtime. */
  group?: string;
  file: string;
  line: number;
}

/**
 * The global section.
 * HAProxy: struct global, include/types/global.h; parsed by cfg_parse_global(), src/cfgparse.c.
 */
export interface GlobalConfig {
  /** `maxconn`; 0 = not set (the runtime applies 2000 / -n). */
  maxconn: number;
  /** `maxconnrate`: connections accepted per second at most, 0 = no limit. */
  maxconnrate?: number;
  /** `daemon`. */
  daemon: boolean;
  /** `master-worker`: as -W. */
  masterWorker: boolean;
  /** `nbproc` (1..64), default 1. */
  nbproc: number;
  /** `pidfile`, absent when not set. */
  pidfile?: string;
  /** `log` lines of the global section, in order (used by `log global`). */
  logs: LogTarget[];
  /** `log-tag`: the syslog tag (default: the program name). */
  logTag?: string;
  /** `tune.bufsize`, default 16384. */
  tuneBufsize: number;
  /** `tune.maxrewrite`; -1 = not set (1024, at most half of tune.bufsize). */
  tuneMaxrewrite: number;
  /** `tune.recv_enough`; 0 = not set (MIN_RECV_AT_ONCE_ENOUGH). */
  tuneRecvEnough: number;
  /** `tune.hapoll.read-loops` (hapoll only, not HAProxy): 0 = not set (1, HAProxy's behaviour). */
  tuneReadLoops: number;
  /** `tune.maxaccept`; 0 = not set (the runtime uses 64; -1 means unlimited). */
  tuneMaxaccept: number;
  /** `tune.maxpollevents`, default 200. */
  tuneMaxpollevents: number;
  /** `noepoll`. */
  noepoll: boolean;
  /** `nokqueue`. */
  nokqueue: boolean;
  /** `nopoll`. */
  nopoll: boolean;
  /** `noreuseport`. */
  noreuseport: boolean;
  /** `nosplice`. */
  nosplice: boolean;
  /** `ulimit-n`; 0 = not set (computed by the runtime). */
  ulimitN: number;
  /** `hard-stop-after` in ms; 0 = none. */
  hardStopAfter: number;
  /** `stats socket` lines, one entry per address. */
  statsSockets: StatsSocketConfig[];
  /** `stats timeout` in ms, default 10000. */
  statsTimeout: number;
  /** `quiet`. */
  quiet: boolean;
}

/**
 * One listening address of a `bind` line (a comma-separated list or a port
 * range gives one BindConfig per address; the runtime creates one listener per
 * port of a range).
 * HAProxy: struct bind_conf + struct listener, include/types/listener.h; bind_parse_*(), src/listener.c.
 */
export interface BindConfig {
  addr: ParsedAddress;
  /** `accept-proxy`: expect a PROXY protocol header. */
  acceptProxy: boolean;
  /** `name`. */
  name?: string;
  /** `backlog` (> 0). */
  backlog?: number;
  /** `maxconn` (> 0). */
  maxconn?: number;
  /** Unix socket permissions (`mode`, octal in the config), only for unix binds. */
  unixMode?: number;
  /** `v6only` / `v4v6` (IPv6 addresses only): IPV6_V6ONLY set to 1 / 0 before bind(). HAProxy: LI_O_V6ONLY, LI_O_V4V6. */
  v6only?: boolean;
  v4v6?: boolean;
  /** Unix socket owner (`uid`). */
  unixUid?: number;
  /** Unix socket group (`gid`). */
  unixGid?: number;
  /** Unix socket owner name (`user`), resolved by the runtime. */
  unixUser?: string;
  /** Unix socket group name (`group`), resolved by the runtime. */
  unixGroup?: string;
  file: string;
  line: number;
  /** The whole address argument of the bind line (may hold several comma-separated addresses). */
  raw: string;
}

/**
 * A `server` line.
 * HAProxy: struct server, include/types/server.h; parse_server(), src/server.c.
 */
export interface ServerConfig {
  name: string;
  /** Address; no port or a port offset means "use the client's destination port (+offset)". */
  addr: ParsedAddress;
  /** `check`: health checks enabled. */
  check: boolean;
  /** `inter` in ms, default 2000. HAProxy: DEF_CHKINTR. */
  inter: number;
  /** `fastinter` in ms; 0 = same as inter. */
  fastinter: number;
  /** `downinter` in ms; 0 = same as inter. */
  downinter: number;
  /** `rise`, default 2. */
  rise: number;
  /** `fall`, default 3. */
  fall: number;
  /** `weight` 0..256, default 1. */
  weight: number;
  /** `maxconn`; 0 = unlimited. */
  maxconn: number;
  /** `maxqueue`; 0 = unlimited. */
  maxqueue: number;
  /** `backup`. */
  backup: boolean;
  /** `disabled`: starts in maintenance. */
  disabled: boolean;
  /** `send-proxy`: PROXY protocol v1 header to the server. */
  sendProxy: boolean;
  /** `send-proxy-v2`. */
  sendProxyV2: boolean;
  /** `port` for health checks; 0 = the server's port. */
  checkPort: number;
  /** `addr` for health checks. */
  checkAddr?: ParsedAddress;
  /** `source` address (and optional port range) to bind before connecting. */
  source?: ParsedAddress;
  /** `agent-check` (and `agent-port`, `agent-inter`, `agent-addr`, `agent-send`): the auxiliary agent check. */
  agent?: boolean;
  agentPort?: number;
  agentInter?: number;
  /** `agent-addr`, numeric (resolved when parsed). */
  agentAddr?: string;
  agentSend?: string;
  file: string;
  line: number;
  /** Numeric id (`id`, or assigned automatically from 1, skipping used ids, like HAProxy). */
  id: number;
}

/** Load-balancing algorithm. HAProxy: BE_LB_ALGO_*, include/types/backend.h. */
export type BalanceAlgo = "roundrobin" | "static-rr" | "leastconn" | "first" | "source";

/** Proxy timeouts in ms; 0 = not set. HAProxy: proxy->timeout, include/types/proxy.h. */
export interface ProxyTimeouts {
  connect: number;
  client: number;
  server: number;
  queue: number;
  tunnel: number;
  clientFin: number;
  serverFin: number;
  check: number;
}

/** `option` flags relevant to TCP mode. HAProxy: PR_O_* / PR_O2_*, include/types/proxy.h. */
export interface ProxyOptions {
  redispatch: boolean;
  /** `option allbackups`: use every backup server (not only the first) when no active one is up. HAProxy: PR_O_USE_ALL_BK. */
  allbackups: boolean;
  tcplog: boolean;
  dontlognull: boolean;
  clitcpka: boolean;
  srvtcpka: boolean;
  spliceAuto: boolean;
  spliceRequest: boolean;
  spliceResponse: boolean;
  abortonclose: boolean;
}

/** A `use_backend <name> [if|unless <cond>]` rule. HAProxy: struct switching_rule. */
export interface UseBackendRule {
  name: string;
  /** The condition; absent for an unconditional rule. */
  cond?: AclCond;
  file: string;
  line: number;
}

/** A `use-server <name> if|unless <cond>` rule. HAProxy: struct server_rule. */
export interface UseServerRule {
  name: string;
  cond: AclCond;
  file: string;
  line: number;
}

/**
 * A tcp-request / tcp-response rule. HAProxy: struct act_rule as built by tcp_parse_request_rule()
 * and tcp_parse_response_rule() (src/tcp_rules.c).
 */
export interface TcpRule {
  action: "accept" | "reject" | "track-sc" | "expect-proxy" | "close";
  /** track-scN: N (0..2). */
  sc: number;
  /** track-scN: the key expression. */
  trackExpr?: SampleExpr;
  /** track-scN table: the table's proxy name (default: the rule's proxy). */
  trackTable?: string;
  cond: AclCond | null;
  /** The rule as written, for --trace=rule. */
  text: string;
  file: string;
  line: number;
}

/** A `stick-table` line. HAProxy: struct stktable, parsed by parse_stick_table() / cfg_parse_listen(). */
export interface StickTableConfig {
  type: "ip" | "ipv6" | "integer" | "string";
  /** `len` for string keys (default 32). */
  keyLen: number;
  size: number;
  /** `expire` in ms; 0 = entries never expire. */
  expire: number;
  /** Stored data types: name -> period in ms for rates, 0 for plain counters. */
  store: Record<string, number>;
  file: string;
  line: number;
}

/**
 * A listen/frontend/backend section (defaults already applied).
 * HAProxy: struct proxy, include/types/proxy.h; cfg_parse_listen(), src/cfgparse.c.
 */
export interface ProxyConfig {
  name: string;
  /** Capabilities: listen = both, frontend = fe, backend = be. HAProxy: PR_CAP_FE/PR_CAP_BE. */
  cap: { fe: boolean; be: boolean };
  file: string;
  line: number;
  /** Always "tcp": hapoll rejects `mode http` and `mode health`. */
  mode: "tcp";
  /** Listening addresses (frontend-capable proxies only). */
  binds: BindConfig[];
  /** Servers (backend-capable proxies only), in declaration order. */
  servers: ServerConfig[];
  /** `balance`, default "roundrobin". */
  balance: BalanceAlgo;
  timeouts: ProxyTimeouts;
  /** `retries`, default 3. */
  retries: number;
  options: ProxyOptions;
  /**
   * `option redispatch [<interval>]`: 0 when redispatch is off, -1 for the
   * default (redispatch on the last retry), or the interval given.
   */
  redispatchAfter: number;
  /** Log targets: `log global` expanded to a copy of the global logs, plus direct `log` lines, in order. */
  logs: LogTarget[];
  /** True when a `log global` line applies to this proxy (directly or from defaults). */
  logGlobal: boolean;
  /** `log-format` (compiled), or `option tcplog`'s format; absent: no end-of-stream log line. */
  logFormat?: LogFormatNode[];
  /** `log-tag` of the proxy (else the global one). */
  logTag?: string;
  /**
   * The health check type: "tcp-check" (`option tcp-check`), a protocol check (`option
   * redis-check`, `ssl-hello-chk`, `smtpchk`, `mysql-check`, `pgsql-check`, `ldap-check`), absent:
   * connect only. HAProxy: options2 & PR_O2_CHK_ANY.
   */
  checkType?: CheckType;
  /** What a protocol check sends once connected (empty: nothing). HAProxy: check_req, check_len. */
  checkReq?: Buffer;
  /** `tcp-check` rules, in order (comments kept for the messages). */
  tcpCheckRules: TcpCheckRule[];
  /** `maxconn`; 0 = not set (the runtime applies the default 2000 / -N). */
  maxconn: number;
  /** `fullconn`; 0 = not set. */
  fullconn: number;
  /** `backlog`; 0 = not set (defaults to maxconn). */
  backlog: number;
  /** `default_backend`. */
  defaultBackend?: string;
  /** `use_backend` rules, in order. */
  useBackends: UseBackendRule[];
  /** `use-server` rules, in order. */
  useServers: UseServerRule[];
  /** `tcp-request connection` rules. HAProxy: tcp_req.l4_rules. */
  tcpReqConn: TcpRule[];
  /** `tcp-request content` rules. HAProxy: tcp_req.inspect_rules. */
  tcpReqCont: TcpRule[];
  /** `tcp-response content` rules. HAProxy: tcp_rep.inspect_rules. */
  tcpResCont: TcpRule[];
  /** `tcp-request inspect-delay` in ms (0 = none). */
  inspectDelay: number;
  /** `tcp-response inspect-delay` in ms (0 = none). */
  resInspectDelay: number;
  /** `stick-table`. */
  stickTable?: StickTableConfig;
  /** `disabled` (the proxy is not started). */
  disabled: boolean;
  /** `source <addr>[:<port>]`: the address the backend's connections bind before connecting (a server's own wins). */
  source?: ParsedAddress;
  /** `description`. */
  description?: string;
  /** Numeric id (`id`, or assigned automatically like HAProxy: first free id from 1, in declaration order). */
  id: number;
}

/** The whole configuration. HAProxy: the `global` struct plus `proxies_list`. */
export interface ParsedConfig {
  global: GlobalConfig;
  /** listen/frontend/backend sections in declaration order (defaults sections are not proxies). */
  proxies: ProxyConfig[];
}

/** Severity of a configuration diagnostic. HAProxy: ha_alert()/ha_warning()/ha_notice(). */
export type DiagLevel = "alert" | "warning" | "notice";

/** Location prefix `parsing [file:line] : ` (the most common one). HAProxy: ha_alert("parsing [%s:%d] : ..."). */
export const DIAG_FORM_PARSING = 0;
/** Location prefix `parsing [file:line]: ` (no space before the colon, used by some 1.8 messages). */
export const DIAG_FORM_PARSING_TIGHT = 1;
/** Location prefix `Parsing [file:line]: ` (capitalised, e.g. duplicate proxy names). */
export const DIAG_FORM_PARSING_CAPS = 2;
/** No location prefix: the message stands alone (post-parse checks, file summaries). */
export const DIAG_FORM_BARE = 3;

/**
 * One configuration diagnostic. `file`/`line` tell where it applies; `form`
 * tells how formatDiag() prints the location (HAProxy's messages are not
 * uniform). When `form` is absent: DIAG_FORM_PARSING if `line` is set, else
 * DIAG_FORM_BARE.
 */
export interface Diag {
  level: DiagLevel;
  file?: string;
  line?: number;
  msg: string;
  form?: number;
}
