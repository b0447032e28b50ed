/**
 * The stats socket: a command-line interface served on the same loop as the proxy. HAProxy 1.8:
 * src/cli.c (stats_parse_global's listeners, cli_io_handler, cli_parse_request, the keyword table,
 * `show fd`, `set timeout`) and the "GLOBAL" stats frontend of alloc_stats_fe().
 *
 * Each `stats socket` line gives a listener of the GLOBAL frontend (id 0, maxconn 10, client
 * timeout = `stats timeout`). Like HAProxy's, these listeners count in `jobs`, are stopped by a
 * soft stop like any frontend's, and are LI_O_UNLIMITED: their connections are not counted in
 * actconn, so the global maxconn never locks an operator out.
 *
 * A connection runs this state machine (HAProxy: appctx->st0, with the prompt flag in st1):
 *
 *            a full line                 command done, output queued
 *   GETREQ ─────────────────▶ (command) ──────────────────────────▶ prompt "\n" or "\n> "
 *     ▲                                                                  │
 *     └──── prompt mode on, or more input already buffered ◀─────────────┤
 *                                                                        ▼
 *   `quit`, EOF, a line longer than the buffer, or (no prompt) nothing buffered ──▶ END:
 *   flush the output, then close
 *
 * A line may hold several commands separated by ';' (a '\' escapes the next character). Each
 * connection owns its fd directly (fdInsert with cliIoHandler as iocb) and a task for the idle
 * timeout; nothing here blocks, allocates on the proxy's hot path, or uses Node's event loop.
 */
import { stkDumpEntry, tableExpire, tables, type StickTable } from "../proxy/stick_table";
import * as fs from "node:fs";
import { native, C } from "../native";
import { clock } from "../core/clock";
import {
  fdtab, fdInsert, fdDelete, fdWantRecv, fdStopRecv, fdWantSend, fdStopSend, fdCantRecv, fdCantSend,
  fdMayRecv, fdMaySend, fdStateString, fdEvString, FD_F_NEW, FD_F_UPDATED, FD_F_LINGER_RISK, FD_F_CLONED,
  type IoCb,
} from "../core/fd";
import { counters, global } from "../core/global";
import { listPollers, pollStats, registry } from "../core/poller";
import { sched, type Task, taskDelete, taskFree, taskNew, taskQueue } from "../core/task";
import { tickAdd, tickIsExpired, TICK_ETERNITY } from "../core/ticks";
import { parseTime } from "../config/address";
import type { GlobalConfig, ProxyConfig, StatsSocketConfig } from "../config/types";
import { type Connection, connFdHandler } from "../net/connection";
import {
  Listener, createListener, listenerAccept, listenerRelease, LI_ASSIGNED,
} from "../net/listener";
import { bindListener } from "../net/proto_tcp";
import { sendListeners, isTransferable } from "../net/xfer_sock";
import { logAlertLine, logWarningLine } from "../core/log";
import { Proxy, listenerProxy, proxies } from "../proxy/proxy";
import { streams, type Stream } from "../proxy/stream";
import { type StreamInterface, SI_ST_NAMES } from "../proxy/stream_interface";
import { E_AGAIN } from "../core/errno";
import { echoAccept, echoIo } from "../tools/echo";
import { ACCESS_LVL_ADMIN, ACCESS_LVL_OPER, ACCESS_LVL_USER, PERMISSION_DENIED, atoi, clearCounters, pseudoAddr, showInfo, showSchema, showStat, statsProcess } from "./stats";
import { showSess, shutdownSession, shutdownSessionsServer } from "./show_sess";
import { disableServer, enableServer, getWeight, setAgent, setHealth, setServer, setWeight } from "./server_cmds";
import {
  disableFrontend, enableFrontend, setMaxconnFrontend, setMaxconnGlobal, setRateLimit, showBackend, showEnv, showErrors,
  showServersState, shutdownFrontend,
} from "./proxy_cmds";

/** HAProxy: the stats frontend's default maxconn (alloc_stats_fe()). */
export const STATS_FE_MAXCONN = 10;

/** HAProxy: MAX_STATS_ARGS. */
const MAX_STATS_ARGS = 64;

/** HAProxy: stats_sock_usage_msg, the head of `help` and of the unknown-command answer. */
export const STATS_SOCK_USAGE_MSG =
  "Unknown command. Please enter one of the following commands only :\n" +
  "  help           : this message\n" +
  "  prompt         : toggle interactive mode with prompt\n" +
  "  quit           : disconnect\n";

/** HAProxy: struct cli_kw: the words that select it, its `help` line, its handler. */
export interface CliKw {
  words: string[];
  usage: string;
  /** Returns the text to send back ("" for none). */
  fn: (args: string[], a: CliAppCtx) => string;
}

/**
 * The keywords, in the order HAProxy 1.8 registers them (its object files' link order: server.c,
 * stream.c, stats.c, cli.c, proxy.c), which is the order of `help`. `show pollers` is hapoll's.
 */
export const CLI_KEYWORDS: CliKw[] = [
  { words: ["show", "errors"], usage: "show errors    : report last request and response errors for each proxy", fn: (x, a) => showErrors(x, a.level) },
  { words: ["disable", "agent"], usage: "disable agent  : disable agent checks (use 'set server' instead)", fn: (x, a) => setAgent(x, a.level, false) },
  { words: ["disable", "health"], usage: "disable health : disable health checks (use 'set server' instead)", fn: (x, a) => setHealth(x, a.level, false) },
  { words: ["disable", "server"], usage: "disable server : disable a server for maintenance (use 'set server' instead)", fn: (x, a) => disableServer(x, a.level) },
  { words: ["enable", "agent"], usage: "enable agent   : enable agent checks (use 'set server' instead)", fn: (x, a) => setAgent(x, a.level, true) },
  { words: ["enable", "health"], usage: "enable health  : enable health checks (use 'set server' instead)", fn: (x, a) => setHealth(x, a.level, true) },
  { words: ["enable", "server"], usage: "enable server  : enable a disabled server (use 'set server' instead)", fn: (x, a) => enableServer(x, a.level) },
  { words: ["set", "server"], usage: "set server     : change a server's state, weight or address", fn: (x, a) => setServer(x, a.level) },
  { words: ["get", "weight"], usage: "get weight     : report a server's current weight", fn: (x) => getWeight(x) },
  { words: ["set", "weight"], usage: "set weight     : change a server's weight (deprecated)", fn: (x, a) => setWeight(x, a.level) },
  { words: ["show", "sess"], usage: "show sess [id] : report the list of current sessions or dump this session", fn: (x, a) => showSess(x, a.level, [...cliSessions]) },
  { words: ["shutdown", "session"], usage: "shutdown session : kill a specific session", fn: (x, a) => shutdownSession(x, a.level) },
  { words: ["shutdown", "sessions", "server"], usage: "shutdown sessions server : kill sessions on a server", fn: (x, a) => shutdownSessionsServer(x, a.level) },
  // 1.8's order: the stick-table commands are registered between the session and the stats ones.
  { words: ["clear", "table"], usage: "clear table    : remove an entry from a table", fn: (x, a) => clearTable(x, a.level) },
  { words: ["show", "table"], usage: "show table [id]: report table usage stats or dump this table's contents", fn: (x, a) => showTable(x, a.level) },
  { words: ["clear", "counters"], usage: "clear counters : clear max statistics counters (add 'all' for all counters)", fn: (x, a) => clearCounters(x, a.level) },
  { words: ["show", "info"], usage: "show info      : report information about the running process", fn: (x) => showInfo(x) },
  { words: ["show", "stat"], usage: "show stat      : report counters for each proxy and server", fn: (x, a) => showStat(x, a.level) },
  { words: ["show", "schema", "json"], usage: "show schema json : report schema used for stats", fn: () => showSchema() },
  { words: ["set", "maxconn", "global"], usage: "set maxconn global : change the per-process maxconn setting", fn: (x, a) => setMaxconnGlobal(x, a.level) },
  { words: ["set", "rate-limit"], usage: "set rate-limit : change a rate limiting value", fn: (x, a) => setRateLimit(x, a.level) },
  { words: ["set", "timeout"], usage: "set timeout    : change a timeout setting", fn: (x, a) => cliSetTimeout(x, a) },
  { words: ["show", "env"], usage: "show env [var] : dump environment variables known to the process", fn: (x, a) => showEnv(x, a.level) },
  { words: ["show", "fd"], usage: "show fd [num] : dump list of file descriptors in use", fn: (x, a) => showFd(x, a.level) },
  { words: ["disable", "frontend"], usage: "disable frontend : temporarily disable specific frontend", fn: (x, a) => disableFrontend(x, a.level) },
  { words: ["enable", "frontend"], usage: "enable frontend : re-enable specific frontend", fn: (x, a) => enableFrontend(x, a.level) },
  { words: ["set", "maxconn", "frontend"], usage: "set maxconn frontend : change a frontend's maxconn setting", fn: (x, a) => setMaxconnFrontend(x, a.level) },
  { words: ["show", "servers", "state"], usage: "show servers state [id]: dump volatile server information (for backend <id>)", fn: (x) => showServersState(x) },
  { words: ["show", "backend"], usage: "show backend   : list backends in the current running config", fn: () => showBackend() },
  { words: ["shutdown", "frontend"], usage: "shutdown frontend : stop a specific frontend", fn: (x, a) => shutdownFrontend(x, a.level) },
  { words: ["show", "pollers"], usage: "show pollers   : list the polling mechanisms and the one in use", fn: (x, a) => showPollers(a.level) },
];

/** HAProxy: cli_gen_usage_msg(): the usage head and one line per keyword. */
export function cliUsageMsg(): string {
  let out = STATS_SOCK_USAGE_MSG;
  for (const kw of CLI_KEYWORDS) out += `  ${kw.usage}\n`;
  return out;
}

/**
 * HAProxy: the argument splitting of cli_parse_request(): words separated by blanks, a '\' makes
 * the next character literal ("\\" gives one backslash). Missing arguments are empty strings.
 */
export function cliSplitArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length && /\s/.test(line[i])) i++;
  let cur = "";
  let started = i < line.length;
  while (i < line.length && args.length < MAX_STATS_ARGS) {
    const c = line[i];
    if (c === "\\") {
      i++;
      if (i >= line.length) break;
      cur += line[i++];
      continue;
    }
    if (/\s/.test(c)) {
      args.push(cur);
      cur = "";
      while (i < line.length && /\s/.test(line[i])) i++;
      started = i < line.length;
      continue;
    }
    cur += c;
    i++;
  }
  if (started || cur) args.push(cur);
  while (args.length <= MAX_STATS_ARGS) args.push("");
  return args;
}

/** HAProxy: cli_find_kw(): the first keyword whose words all match the first arguments. */
export function cliFindKw(args: string[]): CliKw | null {
  for (const kw of CLI_KEYWORDS) {
    if (kw.words.every((w, i) => args[i] === w)) return kw;
  }
  return null;
}

/* ------------------------------------------------------------------------------------------- */
/* Connections                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: CLI_ST_GETREQ / CLI_ST_END (the output states are folded into one pass). */
const CLI_ST_GETREQ = 2;
const CLI_ST_END = 1;

/** Stop processing commands while this much output waits (HAProxy: buffer_almost_full()). */
const OUT_HIGH_WATER = 16384;

/** One stats socket connection. HAProxy: the CLI stream and its struct appctx. */
export class CliAppCtx {
  /** HAProxy: appctx->st0. */
  st = CLI_ST_GETREQ;
  /** HAProxy: appctx->st1, interactive mode. */
  prompt = false;
  /** The client shut its side. */
  eof = false;
  /** Received bytes not yet consumed. */
  readonly inBuf: Buffer;
  inLen = 0;
  /** Output waiting to be sent. */
  out: Buffer | null = null;
  outOff = 0;
  /** Idle timeout (HAProxy: the stream's req.rto / res.wto = `stats timeout`), ms. */
  timeout: number;
  readonly task: Task;
  /** HAProxy: uniq_id, shared with streams. */
  readonly uniqId = counters.reqCount++;
  readonly acceptDateMs = clock.dateMs;
  /** I/O callbacks run (HAProxy: the CLI task's calls). */
  calls = 0;

  constructor(
    readonly fd: number,
    readonly listener: Listener,
    /** HAProxy: bind_conf->level & ACCESS_LVL_MASK. */
    readonly level: number,
    readonly addr: Buffer,
    readonly addrLen: number,
  ) {
    this.inBuf = Buffer.alloc(global.bufsize || 16384);
    this.timeout = listenerProxy(listener).cfg.timeouts.client;
    this.task = taskNew(cliTimeoutTask, this);
  }
}

/** Live stats socket connections, oldest first. */
export const cliSessions = new Set<CliAppCtx>();

/** Re-arm the idle timeout after some I/O. */
function cliRenew(a: CliAppCtx): void {
  a.task.expire = a.timeout ? tickAdd(clock.nowMs, a.timeout) : TICK_ETERNITY;
  taskQueue(a.task);
}

/** The timeout task: close a connection idle for longer than its timeout. */
function cliTimeoutTask(t: Task): Task | null {
  const a = t.context as CliAppCtx;
  if (!tickIsExpired(t.expire, clock.nowMs)) return t;
  cliClose(a, false);
  return null;
}

/** HAProxy: session_free() for a CLI stream: close the fd, give back the job and the slots. */
function cliClose(a: CliAppCtx, graceful: boolean): void {
  if (!cliSessions.delete(a)) return;
  if (graceful) {
    // Read what the client sent after its last command, or close() would send an RST that may
    // destroy the answer still queued in the kernel.
    const scratch = a.inBuf;
    for (let i = 0; i < 64 && native.recv(a.fd, scratch, 0, scratch.length) > 0; i++) { /* drop */ }
    native.shutdown(a.fd, C.SHUT_WR);
  }
  fdDelete(a.fd);
  taskDelete(a.task);
  taskFree(a.task);
  counters.jobs--;
  a.listener.proxy.feconn--;
  listenerRelease(a.listener);
}

/** Queue <s> for sending. */
function cliPut(a: CliAppCtx, s: string): void {
  if (!s) return;
  const b = Buffer.from(s, "utf8");
  if (a.out === null) {
    a.out = b;
    a.outOff = 0;
  } else {
    a.out = Buffer.concat([a.out.subarray(a.outOff), b]);
    a.outOff = 0;
  }
}

function outLen(a: CliAppCtx): number {
  return a.out === null ? 0 : a.out.length - a.outOff;
}

const EAGAIN = E_AGAIN;

/** Send queued output. False when the connection failed (it is closed). */
function cliFlush(a: CliAppCtx): boolean {
  while (a.out !== null) {
    const n = a.out.length - a.outOff;
    const r = native.send(a.fd, a.out, a.outOff, n, 0);
    if (r > 0) {
      a.outOff += r;
      cliRenew(a);
      if (a.outOff === a.out.length) a.out = null;
      continue;
    }
    if (r === EAGAIN) {
      fdCantSend(a.fd);
      return true;
    }
    cliClose(a, false);
    return false;
  }
  return true;
}

/**
 * HAProxy: the CLI_ST_GETREQ part of cli_io_handler(). Take the complete lines (cut at the first
 * unescaped ';'), run them, queue the answers and prompts; decide when the connection ends.
 */
function cliProcess(a: CliAppCtx): void {
  const buf = a.inBuf;
  while (a.st === CLI_ST_GETREQ && outLen(a) < OUT_HIGH_WATER) {
    const nl = buf.subarray(0, a.inLen).indexOf(10);
    if (nl < 0) {
      // No full line: wait for more, unless none can come (closed) or fit (buffer full).
      if (a.eof || a.inLen === buf.length) a.st = CLI_ST_END;
      return;
    }
    let reql = nl + 1;
    for (let i = 0; i < reql; i++) {
      if (buf[i] === 0x5c /* \ */) {
        i++;
        continue;
      }
      if (buf[i] === 0x3b /* ; */) {
        buf[i] = 10;
        reql = i + 1;
        break;
      }
    }
    let len = reql - 1;
    if (len && buf[len - 1] === 13) len--;
    const line = buf.toString("utf8", 0, len);
    buf.copy(buf, 0, reql, a.inLen);
    a.inLen -= reql;
    if (len) {
      if (line === "quit") {
        a.st = CLI_ST_END;
        return;
      }
      if (line === "_getsocks") {
        // HAProxy: _getsocks answers with descriptors only, then the connection ends.
        cliGetsocks(a);
        a.st = CLI_ST_END;
        return;
      }
      if (line === "prompt") a.prompt = !a.prompt;
      else if (line === "help" || !cliParseRequest(a, line)) cliPut(a, cliUsageMsg());
    } else if (!a.prompt) {
      // Without prompt, an empty line shows the help, so that the user learns about `prompt`.
      cliPut(a, cliUsageMsg());
    }
    cliPut(a, a.prompt ? "\n> " : "\n");
    // Not interactive: the connection ends once no further request is already waiting.
    if (!a.prompt && a.inLen === 0) a.st = CLI_ST_END;
  }
}

/**
 * HAProxy: _getsocks (src/cli.c): on a socket with `expose-fd listeners`, hand every bound
 * listener of the process to the client (a new process started with -x). Anywhere else, nothing
 * is sent and the connection just ends, as in 1.8.
 */
function cliGetsocks(a: CliAppCtx): void {
  if (!(a.listener as StatsListener).exposeFd) return;
  const ls: Listener[] = [];
  for (const p of proxies) for (const l of p.listeners) if (isTransferable(l)) ls.push(l);
  const w = sendListeners(a.fd, ls);
  if (w) logWarningLine(w);
}

/** HAProxy: cli_parse_request(). False when no keyword matches (the caller prints the help). */
function cliParseRequest(a: CliAppCtx, line: string): boolean {
  const args = cliSplitArgs(line);
  const kw = cliFindKw(args);
  if (kw === null) return false;
  cliPut(a, kw.fn(args, a));
  return true;
}

/**
 * HAProxy: cli_io_handler() as the iocb of a stats socket connection: send what is queued, read,
 * run complete requests, then poll for what is needed next, or close once the answer is out.
 */
export function cliIoHandler(fd: number): void {
  const a = fdtab.owner[fd] as CliAppCtx;
  a.calls++;
  if (!cliFlush(a)) return;
  if (outLen(a) === 0 && a.st === CLI_ST_GETREQ) {
    if (!a.eof && a.inLen < a.inBuf.length) {
      const r = native.recv(fd, a.inBuf, a.inLen, a.inBuf.length - a.inLen);
      if (r > 0) {
        a.inLen += r;
        cliRenew(a);
      } else if (r === 0) {
        a.eof = true;
      } else if (r === EAGAIN) {
        fdCantRecv(fd);
      } else {
        cliClose(a, false);
        return;
      }
    }
    cliProcess(a);
    if (!cliFlush(a)) return;
  }
  if (outLen(a) !== 0) {
    // Answer first; requests already buffered are run once it is out.
    fdStopRecv(fd);
    fdWantSend(fd);
    return;
  }
  fdStopSend(fd);
  if (a.st === CLI_ST_END) {
    cliClose(a, true);
    return;
  }
  fdWantRecv(fd);
}

/** l->accept of the stats socket listeners (HAProxy: session_accept_fd() on the GLOBAL frontend). */
function cliAccept(l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  const level = (l as StatsListener).cliLevel;
  const a = new CliAppCtx(cfd, l, level, addr, addrLen);
  const px = listenerProxy(l);
  px.feconn++;
  px.feCounters.cumConn++;
  if (px.feconn > px.feCounters.connMax) px.feCounters.connMax = px.feconn;
  counters.totalconn++;
  counters.jobs++;
  cliSessions.add(a);
  fdInsert(cfd, a, cliIoHandler);
  fdMayRecv(cfd);
  fdMaySend(cfd);
  fdWantRecv(cfd);
  cliRenew(a);
  return true;
}

/* ------------------------------------------------------------------------------------------- */
/* cli.c's own commands                                                                         */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: cli_parse_set_timeout(): `set timeout cli <delay>` (seconds by default), any level. */
function cliSetTimeout(args: string[], a: CliAppCtx): string {
  if (args[2] !== "cli") return "'set timeout' only supports 'cli'.\n";
  if (!args[3]) return "Expects an integer value.\n";
  const t = parseTime(args[3], "s");
  if (typeof t !== "number" || t < 1) return "Invalid timeout value.\n";
  a.timeout = 1 + t * 1000;
  cliRenew(a);
  return "";
}

/** The HAProxy name `show fd` prints for an iocb. */
const IOCB_NAMES = new Map<IoCb, string>([
  [connFdHandler, "conn_fd_handler"],
  [listenerAccept, "listener_accept"],
  [cliIoHandler, "cli"],
  [echoAccept, "echo"],
  [echoIo, "echo"],
]);

/** HAProxy: listener_state_str(). */
const LI_SHORT = ["NEW", "INI", "ASS", "PAU", "ZOM", "LIS", "RDY", "FUL", "LIM"];

/** One `show fd` line. HAProxy: the body of cli_io_handler_show_fd(). */
export function showFdLine(fd: number): string {
  const st = fdtab.state[fd];
  const ev = fdtab.ev[fd];
  const fl = fdtab.flags[fd];
  const owner = fdtab.owner[fd] as object;
  const iocb = fdtab.iocb[fd];
  const name = (iocb && IOCB_NAMES.get(iocb)) ?? "unknown";
  let out = `  ${String(fd).padStart(5)} : st=0x${st.toString(16).padStart(2, "0")}(${fdStateString(st)}) ` +
    `ev=0x${ev.toString(16).padStart(2, "0")}(${fdEvString(ev)}) ` +
    `[${fl & FD_F_NEW ? "N" : "n"}${fl & FD_F_UPDATED ? "U" : "u"}${fl & FD_F_LINGER_RISK ? "L" : "l"}${fl & FD_F_CLONED ? "C" : "c"}] ` +
    `cache=${fdtab.cacheIdx[fd]} owner=${pseudoAddr(owner)} iocb=${pseudoAddr(iocb)}(${name}) tmask=0x1`;
  if (iocb === connFdHandler) {
    const conn = owner as Connection;
    out += ` cflg=0x${(conn.flags >>> 0).toString(16).padStart(8, "0")}`;
    const si = conn.data as StreamInterface | null;
    const s = si ? (si.task.context as Stream) : null;
    if (s && si!.side === 0) out += ` fe=${s.fe.id}`;
    else if (s && s.target) out += ` sv=${s.target.id}/${s.be.id}`;
    else if (s) out += ` px=${s.be.id}`;
  } else if (iocb === listenerAccept) {
    const l = owner as Listener;
    out += ` l.st=${LI_SHORT[l.state] ?? "INVALID"} fe=${l.proxy.id}`;
  }
  return out + "\n";
}

/** HAProxy: cli_parse_show_fd() + cli_io_handler_show_fd() (operator level). */
/** The table header line. HAProxy: table_dump_head_to_buffer(). */
function tableHead(t: StickTable): string {
  tableExpire(t);
  return `# table: ${t.proxyName}, type: ${t.cfg.type}, size:${t.cfg.size}, used:${t.entries.size}\n`;
}

/** HAProxy: "show table [<name>]" (cli_io_handler_table). */
function showTable(args: string[], level: number): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  if (!args[2]) {
    let out = "";
    for (const t of tables.values()) out += tableHead(t);
    return out;
  }
  const t = tables.get(args[2]);
  if (!t) return "No such table\n";
  let out = tableHead(t);
  let id = 1;
  for (const e of t.entries.values()) out += stkDumpEntry(t, e, id++) + "\n";
  return out + "\n";
}

/** HAProxy: "clear table <name> [key <k>]": removes unreferenced entries (all, or the one of <k>). */
function clearTable(args: string[], level: number): string {
  if (level < ACCESS_LVL_ADMIN) return PERMISSION_DENIED;
  const t = args[2] ? tables.get(args[2]) : undefined;
  if (!t) return args[2] ? "No such table\n" : "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n";
  if (args[3] === "key") {
    const k = args[4] ?? "";
    const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(k);
    const key = t.cfg.type === "ip" && v4 ? ((+v4[1] << 24) | (+v4[2] << 16) | (+v4[3] << 8) | +v4[4]) >>> 0 : t.cfg.type === "integer" ? Number(k) : k;
    const e = t.entries.get(key);
    if (e && e.refCnt === 0) t.entries.delete(key);
    return "";
  }
  for (const [k, e] of t.entries) if (e.refCnt === 0) t.entries.delete(k);
  return "";
}

function showFd(args: string[], level: number): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  let out = "";
  if (args[2]) {
    const fd = atoi(args[2]);
    if (fd >= 0 && fd < fdtab.maxfd && fdtab.owner[fd] !== null) out = showFdLine(fd);
    return out;
  }
  for (let fd = 0; fd < fdtab.maxfd; fd++) if (fdtab.owner[fd] !== null) out += showFdLine(fd);
  return out;
}

/** hapoll's `show pollers` (operator level): list_pollers() and the poller running. */
function showPollers(level: number): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  // hapoll's loop figures (cumulative counters: `hapoll top` turns them into rates).
  const byState = new Map<string, number>();
  for (const st of streams) {
    const k = SI_ST_NAMES[st.si[1].state];
    byState.set(k, (byState.get(k) ?? 0) + 1);
  }
  return listPollers() + `current: ${registry.cur ? registry.cur.name : "none"}\n` +
    `loops: ${counters.loops}\npolls: ${pollStats.totalPolls}\nevents: ${pollStats.totalEvents}\n` +
    `changes: ${pollStats.totalChanges}\nfd_cache: ${fdtab.cacheNum}\nfd_updt: ${fdtab.nbUpdt}\n` +
    `maxfd: ${fdtab.maxfd}\ntasks: ${sched.nbTasks}\nrun_queue: ${sched.runQueue.size + sched.runQueueBehind.size}\n` +
    `streams: ${streams.size}${[...byState].map(([k, v]) => ` ${k}=${v}`).join("")}\n`;
}

/* ------------------------------------------------------------------------------------------- */
/* Start-up                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/** A stats socket listener: a Listener that remembers its socket's access level. */
interface StatsListener extends Listener {
  cliLevel: number;
  /** `expose-fd listeners`. */
  exposeFd: boolean;
}

/** HAProxy: ACCESS_LVL_* of a `level` word. */
function levelOf(s: StatsSocketConfig): number {
  return s.level === "admin" ? ACCESS_LVL_ADMIN : s.level === "user" ? ACCESS_LVL_USER : ACCESS_LVL_OPER;
}

/**
 * The fds the stats sockets may use, for maxsock: each listener's maxconn, plus the frontend's
 * maxconn once (HAProxy 1.8: stats_parse_global() adds l->maxconn per listener, not the listener
 * itself, and init() adds stats_fe->maxconn).
 */
export function statsSocketFds(g: GlobalConfig): number {
  const n = g.statsSockets.length;
  return n ? n * STATS_FE_MAXCONN + STATS_FE_MAXCONN : 0;
}

/** HAProxy: alloc_stats_fe(): the "GLOBAL" frontend (id 0) that owns the stats sockets. */
function allocStatsFe(g: GlobalConfig): Proxy {
  const first = g.statsSockets[0];
  const pc: ProxyConfig = {
    name: "GLOBAL", cap: { fe: true, be: false }, tcpCheckRules: [], file: first.file, line: first.line, mode: "tcp",
    binds: [], servers: [], balance: "roundrobin",
    timeouts: { connect: 0, client: g.statsTimeout, server: 0, queue: 0, tunnel: 0, clientFin: 0, serverFin: 0, check: 0 },
    retries: 0,
    options: {
      redispatch: false, allbackups: false, tcplog: false, dontlognull: false, clitcpka: false, srvtcpka: false, spliceAuto: false,
      spliceRequest: false, spliceResponse: false, abortonclose: false,
    },
    redispatchAfter: 0, logs: [], logGlobal: false, maxconn: STATS_FE_MAXCONN, fullconn: 0, backlog: 0,
    useBackends: [], useServers: [], tcpReqConn: [], tcpReqCont: [], tcpResCont: [], inspectDelay: 0, resInspectDelay: 0,
    disabled: false, id: 0,
  };
  return new Proxy(pc, 0);
}

/** Options of startStatsSockets(). */
export interface StatsSocketOptions {
  /** SO_REUSEPORT on TCP stats sockets (HAProxy's default unless `noreuseport`). */
  reuseport: boolean;
  version: string;
  releaseDate: string;
}

/**
 * Create and bind the stats socket listeners of the `global` section, and put the GLOBAL frontend
 * first in the proxy list (HAProxy's proxies_list order), so that enabling, pausing, soft-stopping and
 * SIGHUP dumps treat it as HAProxy treats it. Logs HAProxy's alert and returns false when a socket
 * cannot be bound. Without `stats socket` lines it only records the process facts `show info` uses.
 */
export function startStatsSockets(g: GlobalConfig, o: StatsSocketOptions): boolean {
  statsProcess.version = o.version;
  statsProcess.releaseDate = o.releaseDate;
  statsProcess.nbproc = g.nbproc || 1;
  global.hardmaxconn = global.maxconn;
  if (!g.statsSockets.length) return true;
  const px = allocStatsFe(g);
  let ok = true;
  for (const sc of g.statsSockets) {
    const a = sc.addr;
    if (a.family !== "unix" && a.family !== "ipv4" && a.family !== "ipv6") {
      logAlertLine(`parsing [${sc.file}:${sc.line}] : 'stats socket ${a.raw}' : address family not supported by hapoll.`);
      ok = false;
      continue;
    }
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const len = native.sockaddrFrom(a.family, a.host, a.portLow, sa);
    if (len < 0) {
      logAlertLine(`parsing [${sc.file}:${sc.line}] : 'stats socket ${a.raw}' : invalid address.`);
      ok = false;
      continue;
    }
    const label = a.family === "unix" ? a.host : `${a.host}:${a.portLow}`;
    const l = new Listener(px, null, {
      addr: sa, addrLen: len, family: a.family, label, maxconn: STATS_FE_MAXCONN, backlog: 0,
      maxaccept: g.tuneMaxaccept || 64, accept: cliAccept,
    }) as StatsListener;
    l.cliLevel = levelOf(sc);
    l.exposeFd = sc.exposeFd;
    l.unlimited = true;
    createListener(l);
    l.setState(LI_ASSIGNED);
    px.listeners.push(l);
    const e = bindListener(l, { reuseport: o.reuseport, unixMode: sc.mode });
    if (e) {
      logAlertLine(`Starting frontend GLOBAL: ${e} [${label}]`);
      ok = false;
      continue;
    }
    if (a.family === "unix" && (sc.uid >= 0 || sc.gid >= 0)) {
      try {
        fs.chownSync(a.host, sc.uid, sc.gid);
      } catch (err) {
        logAlertLine(`Starting frontend GLOBAL: cannot change UNIX socket ownership (${(err as Error).message}) [${label}]`);
        ok = false;
      }
    }
  }
  proxies.unshift(px);
  return ok;
}
