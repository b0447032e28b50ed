/**
 * What the stats socket reports and changes. HAProxy 1.8: src/stats.c (`show info`, `show stat`,
 * `clear counters`, the field tables and the CSV encoding), and the CLI commands HAProxy keeps next
 * to the objects they act on: src/stream.c (`show sess`, `shutdown session(s)`), src/server.c
 * (`disable/enable server`, `set server`, `get/set weight`), src/proxy.c (`show servers state`,
 * `show backend`).
 *
 * Every command here is a function of its arguments and of the caller's access level that returns
 * the text to send back. The socket side (accepting, reading lines, prompts, timeouts, the keyword
 * table) is in cli.ts. Nothing here runs on the hot path.
 *
 * `show stat` rows are built as arrays of fields indexed by HAProxy's ST_F_* positions; a field
 * left undefined is printed empty, as HAProxy prints the fields that do not apply (FF_EMPTY).
 */
import * as os from "node:os";
import { native, C } from "../native";
import { clock } from "../core/clock";
import { readFreqCtr, swrateAvg, TIME_STATS_SAMPLES } from "../core/freq_ctr";
import { counters, global, haproxyMaxsock } from "../core/global";
import { sched, taskInRq } from "../core/task";
import { protoByFamily } from "../net/proto_tcp";
import { bufPool } from "../core/buffer";
import { cliEnableAgent, cliSetServerAgent } from "./agent_cli";
import { pipesFree, pipesInUse } from "../proxy/channel";
import { CHK_ST_ENABLED, CHK_ST_INPROGRESS, CHK_ST_PAUSED, getCheckStatusDescription, getCheckStatusInfo, HCHK_STATUS_CHECKED, HCHK_STATUS_INI, HCHK_STATUS_L57DATA } from "../proxy/check-t";
import { type Check, setCheckAddr } from "../proxy/checks";
import { type Proxy, PR_STFULL, PR_STPAUSED, PR_STREADY, PR_STSTOPPED } from "../proxy/proxy";
import {
  srvSetRunning, srvSetStopped, serverParseWeightChangeRequest, srvAdmSetDrain, srvAdmSetMaint, srvAdmSetReady,
  srvClrAdminFlag, srvShutdownStreams,
} from "../proxy/server_state";
import { nowSec, type Server, SRV_ADMF_DRAIN, SRV_ADMF_MAINT, SRV_ADMF_RMAINT, SRV_ST_RUNNING, SRV_ST_STARTING, SRV_ST_STOPPED, SRV_ST_STOPPING } from "../proxy/server";
import { dequeueAllListeners, globalListenerQueue, resumeListener, LI_FULL, type Listener } from "../net/listener";
import { SF_ERR_KILLED } from "../types/stream-t";
import { type Stream, streams, streamShutdown } from "../proxy/stream";

/** HAProxy: ACCESS_LVL_* (include/types/global.h). */
export const ACCESS_LVL_NONE = 0;
export const ACCESS_LVL_USER = 1;
export const ACCESS_LVL_OPER = 2;
export const ACCESS_LVL_ADMIN = 3;

/** HAProxy: stats_permission_denied_msg. */
export const PERMISSION_DENIED = "Permission denied\n";

/** The process-wide facts `show info` needs that main.ts knows (set once at start-up). */
export const statsProcess = {
  /** HAProxy: PRODUCT_NAME, HAPROXY_VERSION, HAPROXY_DATE. */
  name: "hapoll",
  version: "",
  releaseDate: "",
  /** HAProxy: global.nbproc. */
  nbproc: 1,
  /** HAProxy: global.node (the host name unless `node` is set). */
  node: os.hostname(),
  /** HAProxy: global.desc, "" when not set. */
  description: "",
  /** Every proxy in HAProxy's proxies_list order (GLOBAL, the stats frontend, first). */
  proxies: [] as Proxy[],
  /**
   * The process' pause_proxy() / resume_proxy() / stop_proxy() (main.ts sets them): false when
   * a listener could not be paused or resumed.
   */
  pauseProxy: ((): boolean => false) as (p: Proxy) => boolean,
  resumeProxy: ((): boolean => false) as (p: Proxy) => boolean,
  stopProxy: ((): void => {}) as (p: Proxy) => void,
};

/* ------------------------------------------------------------------------------------------- */
/* Field tables and encodings (src/stats.c)                                                    */
/* ------------------------------------------------------------------------------------------- */

/**
 * HAProxy: stat_field_names[], in ST_F_* order (include/types/stats.h). Tools read `show stat` by
 * position, so this order is HAProxy 1.8's exactly.
 */
export const STAT_FIELD_NAMES = [
  "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp",
  "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown",
  "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate",
  "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx",
  "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot",
  "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
  "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code", "agent_duration",
  "check_desc", "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
  "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
  "intercepted", "dcon", "dses",
];

/** HAProxy: ST_F_TOTAL_FIELDS. */
export const ST_F_TOTAL_FIELDS = STAT_FIELD_NAMES.length;

/** HAProxy: the ST_F_* positions, by field name. */
export const ST_F: Record<string, number> = Object.fromEntries(STAT_FIELD_NAMES.map((n, i) => [n, i]));

/** HAProxy: STATS_TYPE_FE / BE / SV / SO, the `type` column. */
export const STATS_TYPE_FE = 0;
export const STATS_TYPE_BE = 1;
export const STATS_TYPE_SV = 2;
export const STATS_TYPE_SO = 3;

/** HAProxy: info_field_names[], in INF_* order (include/types/stats.h). */
export const INFO_FIELD_NAMES = [
  "Name", "Version", "Release_date", "Nbproc", "Process_num", "Pid", "Uptime", "Uptime_sec", "Memmax_MB",
  "PoolAlloc_MB", "PoolUsed_MB", "PoolFailed", "Ulimit-n", "Maxsock", "Maxconn", "Hard_maxconn", "CurrConns",
  "CumConns", "CumReq", "MaxSslConns", "CurrSslConns", "CumSslConns", "Maxpipes", "PipesUsed", "PipesFree",
  "ConnRate", "ConnRateLimit", "MaxConnRate", "SessRate", "SessRateLimit", "MaxSessRate", "SslRate",
  "SslRateLimit", "MaxSslRate", "SslFrontendKeyRate", "SslFrontendMaxKeyRate", "SslFrontendSessionReuse_pct",
  "SslBackendKeyRate", "SslBackendMaxKeyRate", "SslCacheLookups", "SslCacheMisses", "CompressBpsIn",
  "CompressBpsOut", "CompressBpsRateLim", "ZlibMemUsage", "MaxZlibMemUsage", "Tasks", "Run_queue", "Idle_pct",
  "node", "description",
];

/** One stats value: a number, a string, or undefined for an empty field (HAProxy: FF_EMPTY). */
export type StatField = number | string | undefined;

/** HAProxy: csv_enc_append(str, 1, ...): quote only when the text holds a comma, quote or line break. */
export function csvEnc(s: string): string {
  if (!/[\n\r,"]/.test(s)) return s;
  return `"${s.replace(/"/g, '""')}"`;
}

/** HAProxy: stats_emit_raw_data_field(). */
function emitField(f: StatField): string {
  if (f === undefined) return "";
  if (typeof f === "number") return String(f);
  return csvEnc(f);
}

/** HAProxy: stats_dump_fields_csv(): every field followed by a comma, then a newline. */
export function csvLine(fields: StatField[]): string {
  let out = "";
  for (let i = 0; i < ST_F_TOTAL_FIELDS; i++) out += emitField(fields[i]) + ",";
  return out + "\n";
}

/** HAProxy: stats_dump_csv_header(): "# pxname,svname,...,dses,". */
export function csvHeader(): string {
  return "# " + STAT_FIELD_NAMES.map((n) => n + ",").join("") + "\n";
}

/** HAProxy: human_time(): "3s", "1m12s", "2h5m", "4d3h"; "?" for a negative time. */
export function humanTime(t: number, hzDiv: number): string {
  if (t < 0 || hzDiv <= 0) return "?";
  if (hzDiv > 1) t = Math.trunc(t / hzDiv);
  let out = "";
  let cnt = 2;
  if (t >= 86400) {
    out += `${Math.floor(t / 86400)}d`;
    cnt--;
  }
  if (cnt && Math.floor((t % 86400) / 3600)) {
    out += `${Math.floor((t % 86400) / 3600)}h`;
    cnt--;
  }
  if (cnt && Math.floor((t % 3600) / 60)) {
    out += `${Math.floor((t % 3600) / 60)}m`;
    cnt--;
  }
  if ((cnt && t % 60) || !t) out += `${t % 60}s`;
  return out;
}

/* ------------------------------------------------------------------------------------------- */
/* Pseudo-addresses: HAProxy prints pointers (%p); hapoll prints a stable number per object.    */
/* ------------------------------------------------------------------------------------------- */

const addrIds = new WeakMap<object, number>();
let nextAddrId = 0;
/** Where the numbers start: they look like heap pointers, as HAProxy's do. */
const OBJ_BASE = 0x55d0c0000000;
const CODE_BASE = 0x55d0a0000000;

/** A stable "0x..." address for <obj> (the same object always gets the same one). */
export function pseudoAddr(obj: object | null | undefined): string {
  if (obj === null || obj === undefined) return "(nil)";
  let id = addrIds.get(obj);
  if (id === undefined) {
    id = ++nextAddrId;
    addrIds.set(obj, id);
  }
  const base = typeof obj === "function" ? CODE_BASE + id * 0x1f0 : OBJ_BASE + id * 0x400;
  return "0x" + base.toString(16);
}

/** HAProxy: strtoul(arg, NULL, 0): hexadecimal with 0x, octal with a leading 0, else decimal. */
export function strtoul(arg: string): number {
  const s = arg.trim();
  let m = /^0[xX]([0-9a-fA-F]+)/.exec(s);
  if (m) return parseInt(m[1], 16);
  m = /^0([0-7]+)/.exec(s);
  if (m) return parseInt(m[1], 8);
  m = /^\d+/.exec(s);
  return m ? Number(m[0]) : 0;
}

/* ------------------------------------------------------------------------------------------- */
/* show info (src/stats.c: stats_fill_info)                                                    */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: stats_fill_info(): the `show info` fields in INF_* order, as [name, value]. */
export function fillInfo(): [string, StatField][] {
  const up = Math.max(0, Math.floor(clock.dateMs / 1000) - Math.floor(clock.startDateMs / 1000));
  const nofile = new Float64Array(2);
  const ulimit = native.getNofile(nofile) === 0 && Number.isFinite(nofile[0]) ? nofile[0] : 0;
  const mb = 1048576;
  const v: Record<string, StatField> = {
    Name: statsProcess.name,
    Version: statsProcess.version,
    Release_date: statsProcess.releaseDate,
    Nbproc: statsProcess.nbproc,
    Process_num: 1,
    Pid: process.pid,
    Uptime: `${Math.floor(up / 86400)}d ${Math.floor((up % 86400) / 3600)}h${pad2(Math.floor((up % 3600) / 60))}m${pad2(up % 60)}s`,
    Uptime_sec: up,
    Memmax_MB: global.memmax,
    PoolAlloc_MB: Math.floor((bufPool.allocated * bufPool.size) / mb),
    PoolUsed_MB: Math.floor((bufPool.used * bufPool.size) / mb),
    PoolFailed: 0,
    "Ulimit-n": ulimit,
    Maxsock: haproxyMaxsock(),
    Maxconn: global.maxconn,
    Hard_maxconn: global.hardmaxconn || global.maxconn,
    CurrConns: counters.actconn,
    CumConns: counters.totalconn,
    CumReq: counters.reqCount,
    // hapoll has no TLS and no compression: these report what a build with them reports idle.
    MaxSslConns: 0,
    CurrSslConns: 0,
    CumSslConns: 0,
    Maxpipes: global.maxpipes,
    PipesUsed: pipesInUse() - pipesFree(),
    PipesFree: pipesFree(),
    ConnRate: readFreqCtr(counters.connPerSec),
    ConnRateLimit: global.cpsLim,
    MaxConnRate: counters.cpsMax,
    SessRate: readFreqCtr(counters.sessPerSec),
    SessRateLimit: 0,
    MaxSessRate: counters.spsMax,
    SslRate: 0,
    SslRateLimit: 0,
    MaxSslRate: 0,
    SslFrontendKeyRate: 0,
    SslFrontendMaxKeyRate: 0,
    SslFrontendSessionReuse_pct: 0,
    SslBackendKeyRate: 0,
    SslBackendMaxKeyRate: 0,
    SslCacheLookups: 0,
    SslCacheMisses: 0,
    CompressBpsIn: 0,
    CompressBpsOut: 0,
    CompressBpsRateLim: 0,
    ZlibMemUsage: 0,
    MaxZlibMemUsage: 0,
    Tasks: sched.nbTasks,
    Run_queue: sched.runQueue.size + sched.runQueueBehind.size,
    Idle_pct: clock.idlePct,
    node: statsProcess.node,
    description: statsProcess.description || undefined,
  };
  return INFO_FIELD_NAMES.map((n) => [n, v[n]]);
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** The output formats of 1.8 that hapoll does not produce: it says so instead of printing another one. */
function unsupportedFormat(cmd: string, fmt: string): string | null {
  return fmt === "typed" || fmt === "json" ? `'${cmd} ${fmt}' is not supported by hapoll.\n` : null;
}

/** HAProxy: cli_parse_show_info() + stats_dump_info_fields(): "Name: value" lines, empty fields skipped. */
export function showInfo(args: string[] = []): string {
  const bad = unsupportedFormat("show info", args[2] ?? "");
  if (bad) return bad;
  let out = "";
  for (const [n, val] of fillInfo()) {
    if (val === undefined) continue;
    out += `${n}: ${typeof val === "number" ? val : val}\n`;
  }
  return out;
}

/* ------------------------------------------------------------------------------------------- */
/* show stat (src/stats.c: stats_fill_fe_stats, stats_fill_sv_stats, stats_fill_be_stats)      */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: ST_SHLGNDS: `show stat` from an operator or admin socket adds addresses and algorithms. */
export const ST_SHLGNDS = 0x0001;

/** HAProxy's proxy id (px->uuid): the configured or automatic `id`. */
export function pxUuid(p: Proxy): number {
  return p.cfg.id;
}

/** HAProxy's server id (srv->puid). */
export function svPuid(s: Server): number {
  return s.cfg.id;
}

/** HAProxy: backend_lb_algo_str(). */
function lbAlgoStr(p: Proxy): string {
  return p.cfg.balance;
}

/**
 * HAProxy: px->fullconn, computed when not configured: 10% of the maxconn of the frontends that
 * may send traffic to this backend (cfgparse.c's tot_fe_maxconn), at least 1.
 */
export function fullconn(be: Proxy): number {
  if (be.cfg.fullconn) return be.cfg.fullconn;
  let tot = 0;
  for (const fe of statsProcess.proxies) {
    if (!fe.cfg.cap.fe || pxUuid(fe) === 0) continue;
    const names = new Set<string>();
    for (const r of fe.cfg.useBackends) names.add(r.name);
    if (fe.cfg.defaultBackend) names.add(fe.cfg.defaultBackend);
    else if (fe.cfg.cap.be) names.add(fe.id);
    // HAProxy computes fullconn once, at start-up: `set maxconn frontend` leaves it alone.
    if (names.has(be.id)) tot += fe.initialMaxconn || fe.maxconn;
  }
  return Math.max(1, Math.floor((tot + 9) / 10));
}

function ageSec(lastSess: number): number {
  return lastSess ? nowSec() - lastSess : -1;
}

/** The "ip:port" (IPv6 in brackets) or "unix" of a sockaddr, as the `addr` column prints it. */
function addrField(sa: Buffer, len: number, port?: number): StatField {
  const info = len > 0 ? native.sockaddrInfo(sa, len) : null;
  if (!info) return undefined;
  if (info.family === "unix") return "unix";
  const p = port ?? info.port;
  return info.family === "ipv6" ? `[${info.address}]:${p}` : `${info.address}:${p}`;
}

/** HAProxy: stats_fill_fe_stats(). */
export function fillFeStats(px: Proxy): StatField[] {
  const f: StatField[] = new Array(ST_F_TOTAL_FIELDS);
  const F = ST_F;
  f[F.pxname] = px.id;
  f[F.svname] = "FRONTEND";
  f[F.mode] = px.cfg.mode;
  f[F.scur] = px.feconn;
  f[F.smax] = px.feconnMax;
  f[F.slim] = px.maxconn;
  f[F.stot] = px.cumFeconn;
  f[F.bin] = px.bytesIn;
  f[F.bout] = px.bytesOut;
  f[F.dreq] = px.deniedReq;
  f[F.dresp] = px.deniedResp;
  f[F.ereq] = 0;
  f[F.dcon] = px.deniedConn;
  f[F.dses] = 0;
  f[F.status] = px.state === PR_STREADY ? "OPEN" : px.state === PR_STFULL ? "FULL" : "STOP";
  f[F.pid] = 1;
  f[F.iid] = pxUuid(px);
  f[F.sid] = 0;
  f[F.type] = STATS_TYPE_FE;
  f[F.rate] = readFreqCtr(px.feSessPerSec);
  f[F.rate_lim] = 0;
  f[F.rate_max] = px.feSpsMax;
  f[F.req_rate] = 0;
  f[F.req_rate_max] = 0;
  f[F.req_tot] = 0;
  f[F.comp_in] = 0;
  f[F.comp_out] = 0;
  f[F.comp_byp] = 0;
  f[F.comp_rsp] = 0;
  f[F.conn_rate] = readFreqCtr(px.feConnPerSec);
  f[F.conn_rate_max] = px.feCpsMax;
  f[F.conn_tot] = px.cumFeconn;
  return f;
}

/** HAProxy: srv_downtime(). */
function srvDowntime(s: Server): number {
  const now = nowSec();
  if (s.curState !== SRV_ST_STOPPED && s.lastChange < now) return s.downTime;
  return now - s.lastChange + s.downTime;
}

/** HAProxy: be_downtime(). */
function beDowntime(px: Proxy): number {
  const now = nowSec();
  if (px.lbprm.totWeight && px.lastChange < now) return px.downTime;
  return now - px.lastChange + px.downTime;
}

/** Whether <sv>'s health check is configured and enabled (paused or not). HAProxy: check.state & CHK_ST_ENABLED. */
function checkEnabled(sv: Server): boolean {
  return sv.check !== null && (sv.check.state & CHK_ST_ENABLED) !== 0;
}

/**
 * HAProxy: the status column of a server (srv_hlt_st[] and the MAINT cases of
 * stats_fill_sv_stats()): MAINT; "no check" for an unchecked server that is up; UP, DRAIN, DOWN,
 * with "UP 1/3" (health still in the going-down zone: a checked server starts that way, one
 * failure from DOWN) and "DOWN 1/2" (passes counted towards rise).
 */
export function srvStatus(sv: Server): string {
  const adm = sv.curAdmin;
  // 1.8 also has "MAINT (via b/s)" (tracking) and "MAINT (resolution)" (DNS), not in hapoll.
  if (adm & SRV_ADMF_MAINT) return "MAINT";
  const chk = sv.check;
  const enabled = checkEnabled(sv);
  const health = chk !== null ? chk.health : 0;
  const rise = chk !== null ? chk.rise : 0;
  const fall = chk !== null ? chk.fall : 0;
  // The "%d/%d" of srv_hlt_st[]: health above rise and fall while up, health and rise while down.
  const counts = sv.curState !== SRV_ST_STOPPED ? `${health - rise + 1}/${fall}` : `${health}/${rise}`;
  const agent = sv.agent !== null && (sv.agent.state & CHK_ST_ENABLED) !== 0 ? sv.agent : null;
  if (sv.curState === SRV_ST_RUNNING || sv.curState === SRV_ST_STARTING) {
    const goingDown = enabled && health < rise + fall - 1;
    if (adm & SRV_ADMF_DRAIN) return agent !== null ? "DRAIN (agent)" : goingDown ? `DRAIN ${counts}` : "DRAIN";
    if (goingDown) return `UP ${counts}`;
    return enabled ? "UP" : "no check";
  }
  if (sv.curState === SRV_ST_STOPPING) {
    return !enabled || health === rise + fall - 1 ? "NOLB" : `NOLB ${counts}`;
  }
  if (agent !== null && !agent.health) return "DOWN (agent)";
  if ((enabled && health !== 0) || (agent !== null && !enabled)) return `DOWN ${counts}`;
  return "DOWN";
}

/** The columns of a health check / of an agent check: status, code, duration, desc, last, rise, fall, health. */
const CHECK_STAT_FIELDS = ["check_status", "check_code", "check_duration", "check_desc", "last_chk", "check_rise", "check_fall", "check_health"].map((n) => ST_F[n]);
const AGENT_STAT_FIELDS = ["agent_status", "agent_code", "agent_duration", "agent_desc", "last_agt", "agent_rise", "agent_fall", "agent_health"].map((n) => ST_F[n]);

/** The last result of <chk> in the columns <col>, while it is enabled and not paused by maintenance. */
function fillCheckStats(f: StatField[], chk: Check | null, col: number[]): void {
  if (chk === null || (chk.state & (CHK_ST_ENABLED | CHK_ST_PAUSED)) !== CHK_ST_ENABLED) return;
  f[col[0]] = (chk.state & CHK_ST_INPROGRESS ? "* " : "") + getCheckStatusInfo(chk.status);
  if (chk.status >= HCHK_STATUS_L57DATA) f[col[1]] = chk.code;
  if (chk.status >= HCHK_STATUS_CHECKED) f[col[2]] = chk.duration;
  f[col[3]] = getCheckStatusDescription(chk.status);
  f[col[4]] = chk.desc;
  f[col[5]] = chk.rise;
  f[col[6]] = chk.fall;
  f[col[7]] = chk.health;
}

/**
 * HAProxy: stats_fill_sv_stats(). The weight is the effective weight brought back to the user
 * scale; the check columns (chkfail, chkdown, downtime) appear for a server with an enabled check,
 * and the check's last result (check_status, with "* " while one runs, check_code,
 * check_duration, check_desc, last_chk, rise/fall/health) while it is not paused by maintenance.
 */
export function fillSvStats(px: Proxy, sv: Server, flags: number): StatField[] {
  const f: StatField[] = new Array(ST_F_TOTAL_FIELDS);
  const F = ST_F;
  const lb = px.lbprm;
  const chk = sv.check;
  f[F.pxname] = px.id;
  f[F.svname] = sv.id;
  f[F.mode] = px.cfg.mode;
  f[F.qcur] = sv.nbpend;
  f[F.qmax] = sv.nbpendMax;
  f[F.scur] = sv.curSess;
  f[F.smax] = sv.maxSess;
  if (sv.maxconn) f[F.slim] = sv.maxconn;
  f[F.stot] = sv.cumSess;
  f[F.bin] = sv.bytesIn;
  f[F.bout] = sv.bytesOut;
  f[F.dresp] = 0;
  f[F.econ] = sv.failedConns;
  f[F.eresp] = 0;
  f[F.wretr] = sv.retries;
  f[F.wredis] = sv.redispatches;
  f[F.status] = srvStatus(sv);
  f[F.lastchg] = nowSec() - sv.lastChange;
  f[F.weight] = Math.floor((sv.curEweight * lb.wmult + lb.wdiv - 1) / lb.wdiv);
  f[F.act] = sv.backup ? 0 : 1;
  f[F.bck] = sv.backup ? 1 : 0;
  if (chk !== null && (chk.state & CHK_ST_ENABLED)) {
    f[F.chkfail] = sv.failedChecks;
    f[F.chkdown] = sv.downTrans;
    f[F.downtime] = srvDowntime(sv);
  }
  if (sv.maxqueue) f[F.qlimit] = sv.maxqueue;
  f[F.pid] = 1;
  f[F.iid] = pxUuid(px);
  f[F.sid] = svPuid(sv);
  f[F.lbtot] = sv.cumLbconn;
  f[F.type] = STATS_TYPE_SV;
  f[F.rate] = readFreqCtr(sv.sessPerSec);
  f[F.rate_max] = sv.spsMax;
  fillCheckStats(f, chk, CHECK_STAT_FIELDS);
  fillCheckStats(f, sv.agent, AGENT_STAT_FIELDS);
  f[F.cli_abrt] = sv.cliAborts;
  f[F.srv_abrt] = sv.srvAborts;
  f[F.lastsess] = ageSec(sv.lastSess);
  f[F.qtime] = swrateAvg(sv.qTime, TIME_STATS_SAMPLES);
  f[F.ctime] = swrateAvg(sv.cTime, TIME_STATS_SAMPLES);
  f[F.rtime] = swrateAvg(sv.dTime, TIME_STATS_SAMPLES);
  f[F.ttime] = swrateAvg(sv.tTime, TIME_STATS_SAMPLES);
  if (flags & ST_SHLGNDS) f[F.addr] = addrField(sv.addr, sv.addrLen, sv.port);
  return f;
}

/** HAProxy: stats_fill_be_stats(). */
export function fillBeStats(px: Proxy, flags: number): StatField[] {
  const f: StatField[] = new Array(ST_F_TOTAL_FIELDS);
  const F = ST_F;
  const lb = px.lbprm;
  const tot = lb.totWeight;
  f[F.pxname] = px.id;
  f[F.svname] = "BACKEND";
  f[F.mode] = px.cfg.mode;
  f[F.qcur] = px.nbpend;
  f[F.qmax] = px.nbpendMax;
  f[F.scur] = px.beconn;
  f[F.smax] = px.beconnMax;
  f[F.slim] = fullconn(px);
  f[F.stot] = px.cumBeconn;
  f[F.bin] = px.beBytesIn;
  f[F.bout] = px.beBytesOut;
  f[F.dreq] = px.deniedReq;
  f[F.dresp] = px.deniedResp;
  f[F.econ] = px.failedConns;
  f[F.eresp] = 0;
  f[F.wretr] = px.retries;
  f[F.wredis] = px.redispatches;
  f[F.status] = tot > 0 || !px.servers.length ? "UP" : "DOWN";
  f[F.weight] = Math.floor((tot * lb.wmult + lb.wdiv - 1) / lb.wdiv);
  f[F.act] = px.srvAct;
  f[F.bck] = px.srvBck;
  f[F.chkdown] = px.downTrans;
  f[F.lastchg] = nowSec() - px.lastChange;
  if (px.servers.length) f[F.downtime] = beDowntime(px);
  f[F.pid] = 1;
  f[F.iid] = pxUuid(px);
  f[F.sid] = 0;
  f[F.lbtot] = px.cumLbconn;
  f[F.type] = STATS_TYPE_BE;
  f[F.rate] = readFreqCtr(px.beSessPerSec);
  f[F.rate_max] = px.beSpsMax;
  if (flags & ST_SHLGNDS) f[F.algo] = lbAlgoStr(px);
  f[F.cli_abrt] = px.beCliAborts;
  f[F.srv_abrt] = px.beSrvAborts;
  f[F.comp_in] = 0;
  f[F.comp_out] = 0;
  f[F.comp_byp] = 0;
  f[F.comp_rsp] = 0;
  f[F.lastsess] = ageSec(px.lastSess);
  f[F.qtime] = swrateAvg(px.qTime, TIME_STATS_SAMPLES);
  f[F.ctime] = swrateAvg(px.cTime, TIME_STATS_SAMPLES);
  f[F.rtime] = swrateAvg(px.dTime, TIME_STATS_SAMPLES);
  f[F.ttime] = swrateAvg(px.tTime, TIME_STATS_SAMPLES);
  return f;
}

/** What `show stat <iid> <type> <sid>` restricts the dump to. HAProxy: STAT_BOUND, iid, type, sid. */
interface StatBound {
  iid: number;
  type: number;
  sid: number;
}

/**
 * HAProxy: cli_parse_show_stat() + stats_dump_stat_to_buffer() + stats_dump_proxy_to_buffer(), CSV
 * output: the header, then per proxy its FRONTEND row, its servers, its BACKEND row. The stats
 * frontend (GLOBAL, id 0) and stopped proxies are skipped, as in HAProxy.
 */
export function showStat(args: string[], level: number): string {
  let bound: StatBound | null = null;
  const bad = unsupportedFormat("show stat", args[2] && args[3] && args[4] ? args[5] : args[2]);
  if (bad) return bad;
  if (args[2] && args[3] && args[4]) {
    const px = statsProcess.proxies.find((p) => p.id === args[2]);
    const iid = px ? pxUuid(px) : atoi(args[2]);
    if (!iid) return "No such proxy.\n";
    bound = { iid, type: atoi(args[3]), sid: atoi(args[4]) };
  }
  const flags = level >= ACCESS_LVL_OPER ? ST_SHLGNDS : 0;
  let out = csvHeader();
  for (const px of statsProcess.proxies) {
    if (px.state === PR_STSTOPPED || pxUuid(px) <= 0) continue;
    if (bound && bound.iid !== -1 && pxUuid(px) !== bound.iid) continue;
    if (px.cfg.cap.fe && (!bound || bound.type & (1 << STATS_TYPE_FE))) out += csvLine(fillFeStats(px));
    if (!bound || bound.type & (1 << STATS_TYPE_SV)) {
      for (const sv of px.servers) {
        if (bound && bound.sid !== -1 && svPuid(sv) !== bound.sid) continue;
        out += csvLine(fillSvStats(px, sv, flags));
      }
    }
    if (px.cfg.cap.be && (!bound || bound.type & (1 << STATS_TYPE_BE))) out += csvLine(fillBeStats(px, flags));
  }
  return out;
}

/** C atoi(): leading blanks, optional sign, digits; 0 when none. */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) | 0 : 0;
}

/**
 * HAProxy: cli_parse_clear_counters(). Without "all": reset the maxima (operator level); with
 * "all": every counter (admin level).
 */
export function clearCounters(args: string[], level: number): string {
  const all = args[2] === "all";
  if (level < ACCESS_LVL_OPER || (all && level < ACCESS_LVL_ADMIN)) return PERMISSION_DENIED;
  for (const px of statsProcess.proxies) {
    px.feconnMax = px.beconnMax = 0;
    px.feSpsMax = px.feCpsMax = px.beSpsMax = 0;
    px.nbpendMax = 0;
    if (all) {
      px.cumFeconn = px.cumBeconn = 0;
      px.bytesIn = px.bytesOut = px.beBytesIn = px.beBytesOut = 0;
      px.cliAborts = px.srvAborts = px.beCliAborts = px.beSrvAborts = 0;
      px.failedConns = px.retries = px.redispatches = px.cumLbconn = 0;
      px.lastSess = 0;
      px.qTime = px.cTime = px.dTime = px.tTime = 0;
    }
    for (const sv of px.servers) {
      sv.maxSess = sv.nbpendMax = sv.spsMax = 0;
      if (all) {
        sv.cumSess = sv.bytesIn = sv.bytesOut = sv.failedConns = sv.retries = sv.redispatches = 0;
        sv.cumLbconn = sv.cliAborts = sv.srvAborts = sv.downTrans = sv.failedChecks = sv.lastSess = 0;
        sv.qTime = sv.cTime = sv.dTime = sv.tTime = 0;
      }
    }
  }
  counters.cpsMax = counters.spsMax = 0;
  return "";
}

/* ------------------------------------------------------------------------------------------- */
/* show sess / shutdown session (src/stream.c)                                                  */
/* ------------------------------------------------------------------------------------------- */

/** The values of one `show sess` line; streams and the stats socket's own sessions provide them. */
export interface SessFields {
  /** The object whose pseudo-address identifies the session. */
  obj: object;
  uniqId: number;
  proto: string;
  /** "ip:port", or "unix:<listener id>". */
  src: string;
  fe: string;
  be: string;
  srv: string;
  taskState: number;
  acceptDateMs: number;
  calls: number;
  reqFlags: number;
  reqRex: number;
  reqWex: number;
  resFlags: number;
  resRex: number;
  resWex: number;
  si: [SiFields, SiFields];
  exp: number;
  /** The task's nice value when it waits in the run queue, null when it does not. */
  runNice: number | null;
}

/** The stream-interface part of a `show sess` line. */
export interface SiFields {
  state: number;
  flags: number;
  fd: number;
  exp: number;
}

/** "<delay>" until tick <t> for `show sess` (empty when unset, "?" when past). */
function tickDelay(t: number): string {
  return t ? humanTime((t - clock.nowMs) | 0, 1000) : "";
}

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, "0");
}

/** HAProxy: one line of cli_io_handler_dump_sess(). */
export function sessLine(o: SessFields): string {
  const age = humanTime(Math.floor(clock.dateMs / 1000) - Math.floor(o.acceptDateMs / 1000), 1);
  let out = `${pseudoAddr(o.obj)}: proto=${o.proto}`;
  if (o.src) out += ` src=${o.src} fe=${o.fe} be=${o.be} srv=${o.srv}`;
  out += ` ts=${hex(o.taskState, 2)} age=${age} calls=${o.calls}`;
  out += ` rq[f=${hex(o.reqFlags, 6)}h,i=0,an=00h,rx=${tickDelay(o.reqRex)},wx=${tickDelay(o.reqWex)},ax=]`;
  out += ` rp[f=${hex(o.resFlags, 6)}h,i=0,an=00h,rx=${tickDelay(o.resRex)},wx=${tickDelay(o.resWex)},ax=]`;
  for (let i = 0; i < 2; i++) {
    const si = o.si[i];
    out += ` s${i}=[${si.state},${si.flags.toString(16)}h,fd=${si.fd},ex=${tickDelay(si.exp)}]`;
  }
  out += ` exp=${tickDelay(o.exp)}`;
  if (o.runNice !== null) out += ` run(nice=${o.runNice})`;
  return out + "\n";
}

/** The source of a session as `show sess` prints it. */
export function sessSrc(l: Listener, addr: Buffer | null, addrLen: number): string {
  const info = addr && addrLen > 0 ? native.sockaddrInfo(addr, addrLen) : null;
  if (!info) return "";
  if (info.family === "unix") return `unix:${l.proxy.listeners.indexOf(l) + 1}`;
  return `${info.address}:${info.port}`;
}

/** The `show sess` fields of a proxied stream. */
export function streamSessFields(s: Stream): SessFields {
  const t = s.task;
  return {
    obj: s,
    uniqId: s.uniqId,
    proto: protoByFamily(s.listener.family).name,
    src: sessSrc(s.listener, s.cliAddr, s.cliAddrLen),
    fe: s.fe.id,
    be: s.be.cfg.cap.be ? s.be.id : "<NONE>",
    srv: s.target ? s.target.id : "<none>",
    taskState: t.state,
    acceptDateMs: s.acceptDateMs,
    calls: t.calls,
    reqFlags: s.req.flags,
    reqRex: s.req.rex,
    reqWex: s.req.wex,
    resFlags: s.res.flags,
    resRex: s.res.rex,
    resWex: s.res.wex,
    si: [
      { state: s.si[0].state, flags: s.si[0].flags, fd: s.si[0].conn.fd, exp: s.si[0].exp },
      { state: s.si[1].state, flags: s.si[1].flags, fd: s.si[1].conn.fd, exp: s.si[1].exp },
    ],
    exp: t.expire,
    runNice: taskInRq(t) ? t.nice : null,
  };
}

/**
 * HAProxy: cli_parse_show_sess() + cli_io_handler_dump_sess() (operator level): one line per live
 * session, oldest first. <others> are the stats socket's own sessions, which HAProxy lists too.
 * With an id, only that session is shown ("Session not found." when it is gone); hapoll prints
 * its one-line form, not HAProxy's multi-line dump.
 */
export function showSess(args: string[], level: number, others: SessFields[]): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  const all: SessFields[] = [];
  for (const s of streams) all.push(streamSessFields(s));
  all.push(...others);
  all.sort((a, b) => a.uniqId - b.uniqId);
  const target = args[2] && args[2] !== "all" ? strtoul(args[2]) : 0;
  let out = "";
  for (const o of all) {
    if (target && Number.parseInt(pseudoAddr(o.obj), 16) !== target) continue;
    out += sessLine(o);
  }
  if (target && !out) out = "Session not found.\n";
  return out;
}

/** HAProxy: cli_parse_shutdown_session() (admin level). */
export function shutdownSession(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  if (!args[2]) return "Session pointer expected (use 'show sess').\n";
  const ptr = strtoul(args[2]);
  for (const s of streams) {
    if (Number.parseInt(pseudoAddr(s), 16) === ptr) {
      streamShutdown(s, SF_ERR_KILLED);
      return "";
    }
  }
  return "No such session (use 'show sess').\n";
}

/** HAProxy: cli_parse_shutdown_sessions_server() (admin level). */
export function shutdownSessionsServer(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const r = cliFindServer(args[3]);
  if (typeof r === "string") return r;
  srvShutdownStreams(r, SF_ERR_KILLED);
  return "";
}

/* ------------------------------------------------------------------------------------------- */
/* Server commands (src/server.c)                                                               */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: get_backend_server(): "<backend>/<server>", each a name or "#<id>". */
function getBackendServer(bk: string, sv: string): { px: Proxy | null; srv: Server | null } {
  const pid = bk.startsWith("#") ? atoi(bk.slice(1)) : -1;
  const sid = sv.startsWith("#") ? atoi(sv.slice(1)) : -1;
  const px = statsProcess.proxies.find((p) => p.cfg.cap.be && (pid >= 0 ? pxUuid(p) === pid : p.id === bk)) ?? null;
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
 * The other subcommands of 1.8 (health, agent, addr, fqdn, check-port) are not in hapoll.
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

/* ------------------------------------------------------------------------------------------- */
/* Frontend and global commands (src/proxy.c, src/cli.c)                                        */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: cli_find_frontend(). */
function cliFindFrontend(arg: string | undefined): Proxy | string {
  if (!arg) return "A frontend name is expected.\n";
  const id = arg.startsWith("#") ? atoi(arg.slice(1)) : -1;
  const px = statsProcess.proxies.find((p) => p.cfg.cap.fe && pxUuid(p) > 0 && (id >= 0 ? pxUuid(p) === id : p.id === arg));
  return px ?? "No such frontend.\n";
}

/** HAProxy: cli_parse_disable_frontend() (admin level). */
export function disableFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was previously shut down, cannot disable.\n";
  if (px.state === PR_STPAUSED) return "Frontend is already disabled.\n";
  if (!statsProcess.pauseProxy(px)) return "Failed to pause frontend, check logs for precise cause.\n";
  return "";
}

/** HAProxy: cli_parse_enable_frontend() (admin level). */
export function enableFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was previously shut down, cannot enable.\n";
  if (px.state !== PR_STPAUSED) return "Frontend is already enabled.\n";
  if (!statsProcess.resumeProxy(px)) return "Failed to resume frontend, check logs for precise cause (port conflict?).\n";
  return "";
}

/** HAProxy: cli_parse_shutdown_frontend() (admin level). */
export function shutdownFrontend(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const px = cliFindFrontend(args[2]);
  if (typeof px === "string") return px;
  if (px.state === PR_STSTOPPED) return "Frontend was already shut down.\n";
  statsProcess.stopProxy(px);
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
  if (args[2] && args[2] !== "-1" && !statsProcess.proxies.some((p) => p.id === args[2] || String(pxUuid(p)) === args[2])) {
    return "No such proxy.\n";
  }
  const d = new Date(clock.dateMs);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getMonth()];
  return `Total events captured on [${p2(d.getDate())}/${mon}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}] : 0\n`;
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
    only = statsProcess.proxies.find((p) => p.cfg.cap.be && p.id === args[3]) ?? null;
    if (!only) return "Can't find backend.\n";
  }
  let out = `${SRV_STATE_FILE_VERSION}\n# ${SRV_STATE_FILE_FIELD_NAMES}\n`;
  for (const px of only ? [only] : statsProcess.proxies) if (px.cfg.cap.be) out += dumpServersState(px);
  return out;
}

/** HAProxy: cli_io_handler_show_backend(). */
export function showBackend(): string {
  let out = "# name\n";
  for (const px of statsProcess.proxies) if (px.cfg.cap.be) out += `${px.id}\n`;
  return out;
}
