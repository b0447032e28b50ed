/**
 * What the stats socket reports: HAProxy 1.8's src/stats.c (`show info`, `show stat`, `show schema
 * json`, `clear counters`): the values of each row (stats_fill_*()), which rows a command prints,
 * and the helpers every stats socket command shares (access levels, pseudo-addresses, number
 * parsing). The field tables and the CSV, typed and JSON printers are in stats_dump.ts; the
 * commands HAProxy keeps next to the objects they act on are in show_sess.ts (src/stream.c),
 * server_cmds.ts (src/server.c) and proxy_cmds.ts (src/proxy.c); the socket itself is cli.ts.
 *
 * Every command is a function of its arguments and of the caller's access level that returns the
 * text to send back. Nothing here runs on the hot path.
 *
 * `show stat` rows are built as arrays of fields indexed by HAProxy's ST_F_* positions; a field
 * left undefined is printed empty, as HAProxy prints the fields that do not apply (FF_EMPTY).
 */
import * as os from "node:os";
import { native } from "../native";
import { clock } from "../core/clock";
import { readFreqCtr, swrateAvg, TIME_STATS_SAMPLES } from "../core/freq_ctr";
import { counters, global, haproxyMaxsock } from "../core/global";
import { sched } from "../core/task";
import { bufPool } from "../core/buffer";
import { pipesFree, pipesInUse } from "../proxy/channel";
import {
  CHK_ST_ENABLED, CHK_ST_INPROGRESS, CHK_ST_PAUSED, getCheckStatusDescription, getCheckStatusInfo,
  HCHK_STATUS_CHECKED, HCHK_STATUS_L57DATA,
} from "../proxy/check-t";
import { type Proxy, PR_STFULL, PR_STREADY, PR_STSTOPPED, proxies } from "../proxy/proxy";
import {
  nowSec, type Server, SRV_ADMF_DRAIN, SRV_ADMF_MAINT, SRV_ST_RUNNING, SRV_ST_STARTING, SRV_ST_STOPPED, SRV_ST_STOPPING,
} from "../proxy/server";
import {
  csvHeader, csvLine, INFO_FIELD_NAMES, emitRawField, jsonInfo, jsonSchema, jsonStatRow, ST_F, ST_F_TOTAL_FIELDS,
  STATS_TYPE_BE, STATS_TYPE_FE, STATS_TYPE_SV, type StatField, typedInfoLines, typedStatLines,
} from "./stats_dump";
import { type Check } from "../proxy/checks";

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
};

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

/** HAProxy: stats_fill_info(): the `show info` values in INF_* order (INFO_FIELD_NAMES). */
export function fillInfo(): StatField[] {
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
    PoolFailed: counters.poolFailed,
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
  return INFO_FIELD_NAMES.map((n) => v[n]);
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** HAProxy: STAT_FMT_TYPED / STAT_FMT_JSON of a `show info` / `show stat` argument, else CSV. */
type StatFmt = "csv" | "typed" | "json";

function statFmt(arg: string | undefined): StatFmt {
  return arg === "typed" ? "typed" : arg === "json" ? "json" : "csv";
}

/**
 * HAProxy: cli_parse_show_info() + stats_dump_info_to_buffer(): "Name: value" lines (empty fields
 * skipped), or with "typed" or "json" the typed lines or the JSON array. Any other argument is
 * ignored, as in 1.8.
 */
export function showInfo(args: string[] = []): string {
  const info = fillInfo();
  const fmt = statFmt(args[2]);
  if (fmt === "typed") return typedInfoLines(info);
  if (fmt === "json") return jsonInfo(info);
  let out = "";
  for (let i = 0; i < INFO_FIELD_NAMES.length; i++) {
    if (info[i] !== undefined) out += `${INFO_FIELD_NAMES[i]}: ${emitRawField(info[i])}\n`;
  }
  return out;
}

/** HAProxy: `show schema json` (stats_dump_json_schema_to_buffer()), any level. */
export function showSchema(): string {
  return jsonSchema();
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
  for (const fe of proxies) {
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
  f[F.smax] = px.feCounters.connMax;
  f[F.slim] = px.maxconn;
  f[F.stot] = px.feCounters.cumConn;
  f[F.bin] = px.feCounters.bytesIn;
  f[F.bout] = px.feCounters.bytesOut;
  f[F.dreq] = px.feCounters.deniedReq;
  f[F.dresp] = px.feCounters.deniedResp;
  f[F.ereq] = 0;
  f[F.dcon] = px.feCounters.deniedConn;
  f[F.dses] = 0;
  f[F.status] = px.state === PR_STREADY ? "OPEN" : px.state === PR_STFULL ? "FULL" : "STOP";
  f[F.pid] = 1;
  f[F.iid] = pxUuid(px);
  f[F.sid] = 0;
  f[F.type] = STATS_TYPE_FE;
  f[F.rate] = readFreqCtr(px.feSessPerSec);
  f[F.rate_lim] = 0;
  f[F.rate_max] = px.feCounters.spsMax;
  f[F.req_rate] = 0;
  f[F.req_rate_max] = 0;
  f[F.req_tot] = 0;
  f[F.comp_in] = 0;
  f[F.comp_out] = 0;
  f[F.comp_byp] = 0;
  f[F.comp_rsp] = 0;
  f[F.conn_rate] = readFreqCtr(px.feConnPerSec);
  f[F.conn_rate_max] = px.feCounters.cpsMax;
  f[F.conn_tot] = px.feCounters.cumConn;
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
  f[F.qmax] = sv.counters.nbpendMax;
  f[F.scur] = sv.curSess;
  f[F.smax] = sv.counters.curSessMax;
  if (sv.maxconn) f[F.slim] = sv.maxconn;
  f[F.stot] = sv.counters.cumSess;
  f[F.bin] = sv.counters.bytesIn;
  f[F.bout] = sv.counters.bytesOut;
  f[F.dresp] = 0;
  f[F.econ] = sv.counters.failedConns;
  f[F.eresp] = 0;
  f[F.wretr] = sv.counters.retries;
  f[F.wredis] = sv.counters.redispatches;
  f[F.status] = srvStatus(sv);
  f[F.lastchg] = nowSec() - sv.lastChange;
  f[F.weight] = Math.floor((sv.curEweight * lb.wmult + lb.wdiv - 1) / lb.wdiv);
  f[F.act] = sv.backup ? 0 : 1;
  f[F.bck] = sv.backup ? 1 : 0;
  if (chk !== null && (chk.state & CHK_ST_ENABLED)) {
    f[F.chkfail] = sv.counters.failedChecks;
    f[F.chkdown] = sv.counters.downTrans;
    f[F.downtime] = srvDowntime(sv);
  }
  if (sv.maxqueue) f[F.qlimit] = sv.maxqueue;
  f[F.pid] = 1;
  f[F.iid] = pxUuid(px);
  f[F.sid] = svPuid(sv);
  f[F.lbtot] = sv.counters.cumLbconn;
  f[F.type] = STATS_TYPE_SV;
  f[F.rate] = readFreqCtr(sv.sessPerSec);
  f[F.rate_max] = sv.counters.spsMax;
  fillCheckStats(f, chk, CHECK_STAT_FIELDS);
  fillCheckStats(f, sv.agent, AGENT_STAT_FIELDS);
  f[F.cli_abrt] = sv.counters.cliAborts;
  f[F.srv_abrt] = sv.counters.srvAborts;
  f[F.lastsess] = ageSec(sv.counters.lastSess);
  f[F.qtime] = swrateAvg(sv.counters.qTime, TIME_STATS_SAMPLES);
  f[F.ctime] = swrateAvg(sv.counters.cTime, TIME_STATS_SAMPLES);
  f[F.rtime] = swrateAvg(sv.counters.dTime, TIME_STATS_SAMPLES);
  f[F.ttime] = swrateAvg(sv.counters.tTime, TIME_STATS_SAMPLES);
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
  f[F.qmax] = px.beCounters.nbpendMax;
  f[F.scur] = px.beconn;
  f[F.smax] = px.beCounters.connMax;
  f[F.slim] = fullconn(px);
  f[F.stot] = px.beCounters.cumConn;
  f[F.bin] = px.beCounters.bytesIn;
  f[F.bout] = px.beCounters.bytesOut;
  f[F.dreq] = px.feCounters.deniedReq;
  f[F.dresp] = px.feCounters.deniedResp;
  f[F.econ] = px.beCounters.failedConns;
  f[F.eresp] = 0;
  f[F.wretr] = px.beCounters.retries;
  f[F.wredis] = px.beCounters.redispatches;
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
  f[F.lbtot] = px.beCounters.cumLbconn;
  f[F.type] = STATS_TYPE_BE;
  f[F.rate] = readFreqCtr(px.beSessPerSec);
  f[F.rate_max] = px.beCounters.spsMax;
  if (flags & ST_SHLGNDS) f[F.algo] = lbAlgoStr(px);
  f[F.cli_abrt] = px.beCounters.cliAborts;
  f[F.srv_abrt] = px.beCounters.srvAborts;
  f[F.comp_in] = 0;
  f[F.comp_out] = 0;
  f[F.comp_byp] = 0;
  f[F.comp_rsp] = 0;
  f[F.lastsess] = ageSec(px.beCounters.lastSess);
  f[F.qtime] = swrateAvg(px.beCounters.qTime, TIME_STATS_SAMPLES);
  f[F.ctime] = swrateAvg(px.beCounters.cTime, TIME_STATS_SAMPLES);
  f[F.rtime] = swrateAvg(px.beCounters.dTime, TIME_STATS_SAMPLES);
  f[F.ttime] = swrateAvg(px.beCounters.tTime, TIME_STATS_SAMPLES);
  return f;
}

/** What `show stat <iid> <type> <sid>` restricts the dump to. HAProxy: STAT_BOUND, iid, type, sid. */
interface StatBound {
  iid: number;
  type: number;
  sid: number;
}

/**
 * HAProxy: cli_parse_show_stat() + stats_dump_stat_to_buffer() + stats_dump_proxy_to_buffer(): per
 * proxy its FRONTEND row, its servers, its BACKEND row; in CSV after the header line, in typed
 * lines, or as one JSON array of rows. The format word follows the bounds when they are given
 * (`show stat <iid> <type> <sid> [typed|json]`), else comes first. The stats frontend (GLOBAL, id
 * 0) and stopped proxies are skipped, as in HAProxy.
 */
export function showStat(args: string[], level: number): string {
  let bound: StatBound | null = null;
  const bounded = Boolean(args[2] && args[3] && args[4]);
  const fmt = statFmt(bounded ? args[5] : args[2]);
  if (bounded) {
    const px = proxies.find((p) => p.id === args[2]);
    const iid = px ? pxUuid(px) : atoi(args[2]);
    if (!iid) return "No such proxy.\n";
    bound = { iid, type: atoi(args[3]), sid: atoi(args[4]) };
  }
  const flags = level >= ACCESS_LVL_OPER ? ST_SHLGNDS : 0;
  const rows: StatField[][] = [];
  for (const px of proxies) {
    if (px.state === PR_STSTOPPED || pxUuid(px) <= 0) continue;
    if (bound && bound.iid !== -1 && pxUuid(px) !== bound.iid) continue;
    if (px.cfg.cap.fe && (!bound || bound.type & (1 << STATS_TYPE_FE))) rows.push(fillFeStats(px));
    if (!bound || bound.type & (1 << STATS_TYPE_SV)) {
      for (const sv of px.servers) {
        if (bound && bound.sid !== -1 && svPuid(sv) !== bound.sid) continue;
        rows.push(fillSvStats(px, sv, flags));
      }
    }
    if (px.cfg.cap.be && (!bound || bound.type & (1 << STATS_TYPE_BE))) rows.push(fillBeStats(px, flags));
  }
  if (fmt === "typed") return rows.map(typedStatLines).join("");
  if (fmt === "json") return `[${rows.map(jsonStatRow).join(",")}]`;
  return csvHeader() + rows.map(csvLine).join("");
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
  for (const px of proxies) {
    if (all) {
      px.feCounters.reset();
      px.beCounters.reset();
    } else {
      px.feCounters.resetMax();
      px.beCounters.resetMax();
    }
    for (const sv of px.servers) {
      if (all) sv.counters.reset();
      else sv.counters.resetMax();
    }
  }
  counters.cpsMax = counters.spsMax = 0;
  return "";
}
