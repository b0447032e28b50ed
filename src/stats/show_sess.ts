/**
 * `show sess`, `show sess <id>|all`, `shutdown session` and `shutdown sessions server`. HAProxy 1.8
 * keeps them next to the streams, in src/stream.c (cli_io_handler_dump_sess(),
 * stats_dump_full_strm_to_buffer(), cli_parse_shutdown_session*()).
 *
 * Both forms print from one view of a session (SessView): the one-line list form, and the full
 * dump of one session (its stream, frontend, backend, server, task, both stream interfaces, their
 * connections or applet, and both channels with their buffers). A proxied stream and a stats socket
 * connection (HAProxy lists its CLI streams too) each give their view. HAProxy prints pointers;
 * hapoll prints a stable pseudo-address per object (pseudoAddr()), and the members of an object
 * (&strm->si[0], &strm->req) at fixed offsets from it, as in memory.
 */
import { native, C } from "../native";
import { clock } from "../core/clock";
import { fdtab, FD_F_UPDATED } from "../core/fd";
import { taskInRq, type Task } from "../core/task";
import { tickIsExpired } from "../core/ticks";
import { protoByFamily } from "../net/proto_tcp";
import type { Listener } from "../net/listener";
import type { Channel } from "../proxy/channel";
import { listenerProxy, type Proxy } from "../proxy/proxy";
import type { Server } from "../proxy/server";
import { type Stream, streams, streamShutdown } from "../proxy/stream";
import { SF_ERR_KILLED } from "../types/stream-t";
import { SI_ST_EST, SI_ST_NAMES, type StreamInterface } from "../proxy/stream_interface";
import { srvShutdownStreams } from "../proxy/server_state";
import { cliFindServer } from "./server_cmds";
import { ACCESS_LVL_ADMIN, ACCESS_LVL_OPER, PERMISSION_DENIED, humanTime, pseudoAddr, pxUuid, strtoul, svPuid } from "./stats";

/* ------------------------------------------------------------------------------------------- */
/* Views                                                                                        */
/* ------------------------------------------------------------------------------------------- */

/** A channel and its buffer as `show sess` prints them (HAProxy: struct channel + struct buffer). */
interface ChnView {
  /** Its pseudo-address. */
  addr: string;
  flags: number;
  an: number;
  anExp: number;
  rex: number;
  wex: number;
  pipe: number;
  toForward: number;
  total: number;
  /** The buffer: null while the channel holds none (HAProxy: the shared empty buffer, size 0). */
  buf: object | null;
  /** Input, output, the input's offset in the buffer, the buffer's size. */
  i: number;
  o: number;
  p: number;
  size: number;
}

/** A stream interface as `show sess` prints it. */
interface SiView {
  addr: string;
  state: number;
  flags: number;
  exp: number;
  et: number;
  /** The fd of its connection, -1 for none. */
  fd: number;
  /** What it is attached to: a connection's stream ("NONE" in 1.8.0's obj_type_name()) or an applet. */
  endType: string;
  endp: string;
  /** The co<n>=/app<n>= lines of the full dump ("" for none). */
  endLines: string;
}

/** One session as `show sess` sees it. */
export interface SessView {
  obj: object;
  uniqId: number;
  listener: Listener;
  /** The client's address (HAProxy: the origin connection's addr.from). */
  src: Buffer | null;
  srcLen: number;
  /** The address the client connected to, and the server side's local and remote addresses. */
  feAddr: string;
  beAddr: string;
  srvAddr: string;
  fe: Proxy;
  be: Proxy | null;
  srv: Server | null;
  flags: number;
  connRetries: number;
  srvConn: object | null;
  pendPos: string;
  task: Task;
  calls: number;
  acceptDateMs: number;
  si: [SiView, SiView];
  req: ChnView;
  res: ChnView;
}

/** The pseudo-address of the member of <obj> at <off> bytes (HAProxy: &strm->req, &strm->si[1]). */
function memberAddr(obj: object, off: number): string {
  return "0x" + (Number.parseInt(pseudoAddr(obj), 16) + off).toString(16);
}

/** The shared empty buffer a channel without data points to (HAProxy: buf_empty). */
const BUF_EMPTY = {};

/** "ip:port", "unix:<listener id>" (client side) or "unix" (server side) of a sockaddr; "" when none. */
function addrStr(sa: Buffer | null, len: number, unixLabel: string): string {
  const info = sa && len > 0 ? native.sockaddrInfo(sa, len) : null;
  if (!info) return "";
  if (info.family === "unix") return unixLabel;
  return `${info.address}:${info.port}`;
}

/** HAProxy: the listener's luid (its position in its frontend, from 1). */
function luid(l: Listener): number {
  return listenerProxy(l).listeners.indexOf(l) + 1;
}

/** getsockname() of <fd> as addrStr() prints it. */
function localAddr(fd: number, unixLabel: string): string {
  if (fd < 0) return "";
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  return addrStr(sa, native.getsockname(fd, sa), unixLabel);
}

function chnView(addr: string, c: Channel, an: number, anExp: number): ChnView {
  return {
    addr, flags: c.flags, an, anExp, rex: c.rex, wex: c.wex, pipe: c.pipeData, toForward: c.toForward, total: c.total,
    buf: c.buf, i: c.i, o: c.o, p: c.p, size: c.buf ? c.buf.length : 0,
  };
}

/** The co<n>= lines of a connection (HAProxy: its ctrl, xprt, mux, data layer, target and fd). */
function connLines(n: number, conn: string, fd: number, flags: number, family: string, target: string): string {
  const st = fd >= 0 ? fdtab.state[fd] : 0;
  const cache = fd >= 0 ? fdtab.cacheIdx[fd] : 0;
  const updt = fd >= 0 && fdtab.flags[fd] & FD_F_UPDATED ? 1 : 0;
  return `  co${n}=${conn} ctrl=${protoByFamily(family).name} xprt=RAW mux=PASS data=STRM target=${target}\n` +
    `      flags=0x${hex(flags, 8)} fd=${fd} fd.state=${hex(st, 2)} fd.cache=${cache} updt=${updt} fd.tmask=0x${fd >= 0 ? 1 : 0}\n`;
}

function siView(addr: string, si: StreamInterface, conn: string): SiView {
  return {
    addr, state: si.state, flags: si.flags, exp: si.exp, et: si.errType, fd: si.conn.fd, endType: "NONE", endp: pseudoAddr(si),
    endLines: conn,
  };
}

/** The view of a proxied stream. */
export function streamView(s: Stream): SessView {
  const c0 = s.si[0].conn;
  const c1 = s.si[1].conn;
  const l = s.listener;
  const srvConnected = c1.fd >= 0;
  const feAddr = c0.toAddr ? addrStr(c0.toAddr, c0.toAddrLen, `unix:${luid(l)}`) : localAddr(c0.fd, `unix:${luid(l)}`);
  return {
    obj: s, uniqId: s.uniqId, listener: l, src: s.cliAddr, srcLen: s.cliAddrLen, feAddr,
    beAddr: srvConnected ? localAddr(c1.fd, "unix") : "",
    srvAddr: srvConnected ? addrStr(c1.addr, c1.addrLen, "unix") : "",
    fe: s.fe, be: s.be.cfg.cap.be ? s.be : null, srv: s.target, flags: s.flags, connRetries: s.si[1].connRetries,
    srvConn: s.srvConn, pendPos: s.pendList ? memberAddr(s, 0x300) : "(nil)", task: s.task, calls: s.task.calls,
    acceptDateMs: s.acceptDateMs,
    si: [
      siView(memberAddr(s, 0x248), s.si[0], c0.fd >= 0 ? connLines(0, pseudoAddr(c0), c0.fd, c0.flags, l.family, `LISTENER:${pseudoAddr(l)}`) : ""),
      siView(memberAddr(s, 0x270), s.si[1], srvConnected && s.target
        ? connLines(1, pseudoAddr(c1), c1.fd, c1.flags, s.target.cfg.addr.family, `SERVER:${pseudoAddr(s.target)}`) : ""),
    ],
    req: chnView(memberAddr(s, 0x10), s.req, s.reqAn, s.reqAnExp),
    res: chnView(memberAddr(s, 0x50), s.res, s.resAn, s.resAnExp),
  };
}

/** What the view of a stats socket connection needs from it (cli.ts's CliAppCtx). */
export interface CliSessLike {
  readonly uniqId: number;
  readonly listener: Listener;
  readonly fd: number;
  readonly addr: Buffer;
  readonly addrLen: number;
  readonly acceptDateMs: number;
  readonly task: Task;
  readonly calls: number;
  /** HAProxy: appctx->st0, st1. */
  readonly st: number;
  readonly prompt: boolean;
  readonly inBuf: Buffer;
  readonly inLen: number;
  readonly out: Buffer | null;
  readonly outOff: number;
}

/**
 * The view of a stats socket connection: its client side is the socket, its server side the CLI
 * applet (HAProxy: an appctx), its request buffer the command buffer, its response the answer.
 */
export function cliSessView(a: CliSessLike): SessView {
  const l = a.listener;
  const unix = `unix:${luid(l)}`;
  const appctx = memberAddr(a, 0x380);
  const outLen = a.out ? a.out.length - a.outOff : 0;
  const si0: SiView = {
    addr: memberAddr(a, 0x248), state: SI_ST_EST, flags: 0, exp: 0, et: 0, fd: a.fd, endType: "NONE", endp: memberAddr(a, 0x300),
    endLines: connLines(0, memberAddr(a, 0x3c0), a.fd, 0, l.family, `LISTENER:${pseudoAddr(l)}`),
  };
  const si1: SiView = {
    addr: memberAddr(a, 0x270), state: SI_ST_EST, flags: 0, exp: 0, et: 0, fd: -1, endType: "APPCTX", endp: appctx,
    endLines: `  app1=${appctx} st0=${a.st} st1=${a.prompt ? 1 : 0} st2=0 applet=<CLI> tmask=0x1\n`,
  };
  const chn = (off: number, buf: Buffer | null, i: number, o: number, rex: number): ChnView => ({
    addr: memberAddr(a, off), flags: 0, an: 0, anExp: 0, rex, wex: 0, pipe: 0, toForward: -1, total: 0, buf, i, o, p: o,
    size: buf ? buf.length : 0,
  });
  return {
    obj: a, uniqId: a.uniqId, listener: l, src: a.addr, srcLen: a.addrLen, feAddr: localAddr(a.fd, unix), beAddr: "",
    srvAddr: "", fe: listenerProxy(l), be: null, srv: null, flags: 0, connRetries: 0, srvConn: null, pendPos: "(nil)",
    task: a.task, calls: a.calls, acceptDateMs: a.acceptDateMs, si: [si0, si1],
    req: chn(0x10, a.inBuf, a.inLen, 0, a.task.expire),
    res: chn(0x50, a.out, 0, outLen, 0),
  };
}

/* ------------------------------------------------------------------------------------------- */
/* Printing                                                                                     */
/* ------------------------------------------------------------------------------------------- */

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, "0");
}

/** "<delay>" until tick <t> for the list form (empty when unset, "?" when past). */
function tickDelay(t: number): string {
  return t ? humanTime((t - clock.nowMs) | 0, 1000) : "";
}

/** The same for the full dump: "<NEVER>" when unset, and "<PAST>" where 1.8 checks for it. */
function tickFull(t: number, past: boolean): string {
  if (!t) return "<NEVER>";
  if (past && tickIsExpired(t, clock.nowMs)) return "<PAST>";
  return humanTime((t - clock.nowMs) | 0, 1000);
}

/** The client's address as the list and the dump print it: "ip:port", "unix:<luid>", or "". */
function srcStr(v: SessView): string {
  return addrStr(v.src, v.srcLen, `unix:${luid(v.listener)}`);
}

/** HAProxy: one line of cli_io_handler_dump_sess(). */
export function sessLine(v: SessView): string {
  const age = humanTime(Math.floor(clock.dateMs / 1000) - Math.floor(v.acceptDateMs / 1000), 1);
  let out = `${pseudoAddr(v.obj)}: proto=${protoByFamily(v.listener.family).name}`;
  const src = srcStr(v);
  if (src) out += ` src=${src} fe=${v.fe.id} be=${v.be ? v.be.id : "<NONE>"} srv=${v.srv ? v.srv.id : "<none>"}`;
  out += ` ts=${hex(v.task.state, 2)} age=${age} calls=${v.calls}`;
  for (const [n, c] of [["rq", v.req], ["rp", v.res]] as const) {
    out += ` ${n}[f=${hex(c.flags, 6)}h,i=${c.i},an=${hex(c.an, 2)}h,rx=${tickDelay(c.rex)},wx=${tickDelay(c.wex)},ax=${tickDelay(c.anExp)}]`;
  }
  for (let i = 0; i < 2; i++) {
    const si = v.si[i];
    out += ` s${i}=[${si.state},${si.flags.toString(16)}h,fd=${si.fd},ex=${tickDelay(si.exp)}]`;
  }
  out += ` exp=${tickDelay(v.task.expire)}`;
  if (taskInRq(v.task)) out += ` run(nice=${v.task.nice})`;
  return out + "\n";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/** The req=/res= lines of a channel. */
function chnLines(name: string, next: string, c: ChnView): string {
  const buf = c.buf ?? BUF_EMPTY;
  return `  ${name}=${c.addr} (f=0x${hex(c.flags, 6)} an=0x${c.an.toString(16)} pipe=${c.pipe} tofwd=${c.toForward | 0} total=${c.total})\n` +
    `      an_exp=${tickFull(c.anExp, false)} rex=${tickFull(c.rex, false)} wex=${tickFull(c.wex, false)}\n` +
    `      buf=${pseudoAddr(buf)} data=${memberAddr(buf, 0x14)} o=${c.o} p=${c.p} ${next}=0 i=${c.i} size=${c.size}\n`;
}

/** HAProxy: stats_dump_full_strm_to_buffer(): the full dump of one session. */
export function sessFullDump(v: SessView): string {
  const d = new Date(v.acceptDateMs);
  const date = `${pad(d.getDate(), 2)}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours(), 2)}:` +
    `${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds() * 1000, 6)}`;
  const src = srcStr(v);
  const l = v.listener;
  const t = v.task;
  const sp = (s: string) => (s ? " addr=" + s : "");
  let out = `${pseudoAddr(v.obj)}: [${date}] id=${v.uniqId} proto=${protoByFamily(l.family).name}` +
    `${src ? " source=" + src : ""}\n`;
  out += `  flags=0x${v.flags.toString(16)}, conn_retries=${v.connRetries}, srv_conn=${pseudoAddr(v.srvConn)}, pend_pos=${v.pendPos}\n`;
  out += `  frontend=${v.fe.id} (id=${pxUuid(v.fe)} mode=tcp), listener=${l.bind?.name ?? "?"} (id=${luid(l)})${sp(v.feAddr)}\n`;
  out += v.be ? `  backend=${v.be.id} (id=${pxUuid(v.be)} mode=tcp)` : "  backend=<NONE> (id=-1 mode=-)";
  out += `${sp(v.beAddr)}\n`;
  out += v.be ? `  server=${v.srv ? v.srv.id : "<none>"} (id=${v.srv ? svPuid(v.srv) : 0})` : "  server=<NONE> (id=-1)";
  out += `${sp(v.srvAddr)}\n`;
  out += `  task=${pseudoAddr(t)} (state=0x${hex(t.state, 2)} nice=${t.nice} calls=${v.calls} exp=${tickFull(t.expire, true)} ` +
    `tmask=0x1${taskInRq(t) ? ", running" : ""} age=${humanTime(Math.floor(clock.dateMs / 1000) - Math.floor(v.acceptDateMs / 1000), 1)})\n`;
  for (let i = 0; i < 2; i++) {
    const si = v.si[i];
    out += `  si[${i}]=${si.addr} (state=${SI_ST_NAMES[si.state]} flags=0x${hex(si.flags, 2)} endp${i}=${si.endType}:${si.endp} ` +
      `exp=${tickFull(si.exp, true)}, et=0x${hex(si.et, 3)})\n`;
  }
  out += v.si[0].endLines + v.si[1].endLines;
  return out + chnLines("req", "req.next", v.req) + chnLines("res", "rsp.next", v.res);
}

/* ------------------------------------------------------------------------------------------- */
/* Commands                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/**
 * HAProxy: cli_parse_show_sess() + cli_io_handler_dump_sess() (operator level). Without argument,
 * one line per live session, oldest first; <others> are the stats socket's own sessions, which
 * HAProxy lists too. With an id, the full dump of that session ("Session not found." when it is
 * gone); with "all", the full dump of every session. An id that is not a number is 0: the list.
 */
export function showSess(args: string[], level: number, others: CliSessLike[]): string {
  if (level < ACCESS_LVL_OPER) return PERMISSION_DENIED;
  const all: SessView[] = [];
  for (const s of streams) all.push(streamView(s));
  for (const a of others) all.push(cliSessView(a));
  all.sort((a, b) => a.uniqId - b.uniqId);
  if (args[2] === "all") return all.map(sessFullDump).join("");
  const target = args[2] ? strtoul(args[2]) : 0;
  if (!target) return all.map(sessLine).join("");
  const v = all.find((o) => Number.parseInt(pseudoAddr(o.obj), 16) === target);
  return v ? sessFullDump(v) : "Session not found.\n";
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
