/**
 * Logs, alerts and -d debug lines. HAProxy 1.8: src/log.c (send_log, sess_log, the tcplog format),
 * src/frontend.c (the "Connect from" line and the .accept debug line), ha_alert()/ha_warning().
 *
 * Everything is written synchronously (fs.writeSync, or a UDP datagram sent through the native
 * layer), because the loop owns the thread: Node's asynchronous streams would never flush.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { native, C } from "../native";
import { clock } from "../core/clock";
import { counters, global } from "../core/global";
import type { LogTarget } from "../config/types";
import type { LogFormatNode } from "../config/logformat";
import type { Stream } from "./stream";
import { connGetToAddr, CO_FL_ADDR_TO_SET } from "../net/connection";
import { SESS_FIN_STATE, SESS_TERM_COND, SF_ERR_MASK, SF_ERR_SHIFT, SF_FINST_MASK, SF_FINST_SHIFT, SF_REDISP } from "./stream";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** HAProxy's %t date: "25/Nov/2026:15:08:49.665" (local time). */
export function logDate(ms: number): string {
  const d = new Date(ms);
  const m = d.getMilliseconds();
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:` +
    `${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${m < 10 ? "00" + m : m < 100 ? "0" + m : m}`;
}

/** Syslog header date: "Nov 25 15:08:49". */
function syslogDate(ms: number): string {
  const d = new Date(ms);
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? " " + day : day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, auth2: 10,
  ftp: 11, ntp: 12, audit: 13, alert: 14, cron2: 15, local0: 16, local1: 17, local2: 18, local3: 19,
  local4: 20, local5: 21, local6: 22, local7: 23,
};
const LEVELS: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7,
};
/** HAProxy: LOG_EMERG .. LOG_INFO syslog levels. */
export const LOG_EMERG = 0;
export const LOG_INFO = 6;
export const LOG_NOTICE = 5;
export const LOG_WARNING = 4;
export const LOG_ALERT = 1;

/** A UDP socket per target, opened on first use. */
const udpSockets = new Map<LogTarget, { fd: number; sa: Buffer; len: number }>();

/** Writes a whole line to fd 1 or 2, synchronously. */
function writeLine(fd: number, line: string): void {
  try {
    fs.writeSync(fd, line);
  } catch {
    /* a closed stdout must not kill the proxy */
  }
}

function udpTarget(t: LogTarget): { fd: number; sa: Buffer; len: number } | null {
  let u = udpSockets.get(t);
  if (u) return u;
  if (!t.addr) return null;
  const fam = t.addr.family === "ipv6" ? "ipv6" : t.addr.family === "unix" ? "unix" : "ipv4";
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(fam, t.addr.host, t.addr.portLow || 514, sa);
  if (len < 0) return null;
  const fd = native.socket(fam === "ipv6" ? C.AF_INET6 : fam === "unix" ? C.AF_UNIX : C.AF_INET, C.SOCK_DGRAM, 0);
  if (fd < 0) return null;
  native.setNonblock(fd);
  if (native.connect(fd, sa, len) < 0) {
    native.close(fd);
    return null;
  }
  u = { fd, sa, len };
  udpSockets.set(t, u);
  return u;
}

/**
 * HAProxy: send_log() / __send_log(): send <msg> (no trailing newline) at <level> to every
 * target. stdout/stderr get the bare message ("format raw"); syslog targets an RFC3164 line.
 */
export function sendLog(targets: LogTarget[], level: number, msg: string, tag = logState.tag): void {
  for (const t of targets) {
    if (t.level !== undefined && LEVELS[t.level] !== undefined && level > LEVELS[t.level]) continue;
    if (t.kind === "stdout" || t.kind === "stderr") {
      writeLine(t.kind === "stdout" ? 1 : 2, msg + "\n");
      continue;
    }
    const u = udpTarget(t);
    if (!u) continue;
    const pri = (FACILITIES[t.facility] ?? 16) * 8 + level;
    // HAProxy: the RFC3164 header "<pri>Mmm dd hh:mm:ss tag[pid]: ", or RFC5424's
    // "<pri>1 <ISO date> <host> <tag> <pid> - - " (no structured data).
    const line = t.format === "rfc5424"
      ? `<${pri}>1 ${rfc5424Date(clock.dateMs)} ${HOSTNAME} ${tag} ${process.pid} - - ${msg}\n`
      : `<${pri}>${syslogDate(clock.dateMs)} ${tag}[${process.pid}]: ${msg}\n`;
    const b = Buffer.from(line);
    native.send(u.fd, b, 0, Math.min(b.length, t.maxlen || 1024), 0);
  }
}

/**
 * HAProxy: send_log(p, ...): to the log targets of proxy <p>, tagged with its own `log-tag` when it
 * has one (from its section or its defaults), else the global one.
 */
export function sendProxyLog(p: { cfg: { logs: LogTarget[]; logTag?: string } }, level: number, msg: string): void {
  sendLog(p.cfg.logs, level, msg, p.cfg.logTag ?? logState.tag);
}

/** Set once the loop runs: HAProxy's MODE_STARTING ends there. `tag`: the global `log-tag`. */
export const logState = { starting: true, tag: "hapoll" };

const HOSTNAME = os.hostname();

/** RFC5424 date: "2026-11-25T15:08:49+01:00" (local time and its offset, as 1.8 writes it). */
function rfc5424Date(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:` +
    `${pad2(d.getSeconds())}${sign}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

/** ha_alert(): "[ALERT]    (pid) : msg" on stderr (quiet mode hides it, but not while starting). */
export function logAlertLine(msg: string): void {
  if (global.quiet && !global.verbose && !logState.starting) return;
  writeLine(2, `[ALERT]    (${process.pid}) : ${msg}\n`);
}

/** ha_warning(): "[WARNING]  (pid) : msg" on stderr (unless quiet). */
export function logWarningLine(msg: string): void {
  if (global.quiet) return;
  writeLine(2, `[WARNING]  (${process.pid}) : ${msg}\n`);
}

/** ha_notice(): "[NOTICE]   (pid) : msg" on stderr (unless quiet). */
export function logNoticeLine(msg: string): void {
  if (global.quiet) return;
  writeLine(2, `[NOTICE]   (${process.pid}) : ${msg}\n`);
}

/** "ip:port" of a sockaddr, as HAProxy prints %ci:%cp. */
export function addrString(sa: Buffer, len: number): [string, number] {
  const info = native.sockaddrInfo(sa, len);
  if (!info) return ["-", 0];
  if (info.family === "unix") return ["unix", 0];
  return [info.address, info.port];
}

/**
 * HAProxy's TCP log line (option tcplog):
 * `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`.
 */
export function formatTcpLog(s: Stream): string {
  const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
  const srv = s.target;
  const tw = s.tQueue >= 0 ? s.tQueue : -1;
  const tc = s.tConnect >= 0 && s.tQueue >= 0 ? s.tConnect - s.tQueue : -1;
  const tt = s.tClose >= 0 ? s.tClose : s.elapsed();
  const ts = SESS_TERM_COND[(s.flags & SF_ERR_MASK) >>> SF_ERR_SHIFT] + SESS_FIN_STATE[(s.flags & SF_FINST_MASK) >>> SF_FINST_SHIFT];
  // %rc: retries done, "+" when the stream was redispatched (HAProxy: SF_REDISP).
  const left = s.si[1].connRetries;
  const retries = left > 0 ? s.be.cfg.retries - left : s.be.cfg.retries;
  return `${ci}:${cp} [${logDate(s.acceptDateMs)}] ${s.fe.id} ${s.be.id}/${srv ? srv.id : "<NOSRV>"} ` +
    `${tw}/${tc}/${tt} ${s.res.total} ${ts} ` +
    `${counters.actconn}/${s.fe.feconn}/${s.be.beconn}/${srv ? srv.curSess : 0}/${s.flags & SF_REDISP ? "+" : ""}${retries} ` +
    `${s.srvQueueSize}/${s.prxQueueSize}`;
}

/**
 * HAProxy: the end-of-stream log (sess_log via s->do_log) for proxies with `option tcplog`, and the
 * "Connect from" line at accept for proxies that log without a format. `option dontlognull` skips
 * streams that carried no request byte.
 */
export function sendStreamLog(s: Stream): void {
  const fe = s.fe;
  if (!fe.cfg.logs.length || (!fe.cfg.options.tcplog && !fe.cfg.logFormat)) return;
  if (fe.cfg.options.dontlognull && s.req.total === 0) return;
  const line = fe.cfg.logFormat ? buildLogLine(s, fe.cfg.logFormat) : formatTcpLog(s);
  sendProxyLog(fe, LOG_INFO, line);
}

/**
 * HAProxy: build_logline() for the variables that mean something in TCP mode; the HTTP ones
 * (%r, %ST, %hr, %CC, %HM...) and the SSL ones log "-", as they do on a TCP stream.
 */
export function buildLogLine(s: Stream, nodes: LogFormatNode[]): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") {
      out += n.text;
      continue;
    }
    const v = logVar(s, n.name);
    out += n.quote ? `"${v}"` : v;
  }
  return out;
}

const bindAddrBuf = Buffer.alloc(128);

/** The text of one log-format variable for <s>. HAProxy: the LOG_FMT_* cases of build_logline(). */
function logVar(s: Stream, name: string): string {
  const srv = s.target;
  switch (name) {
    case "ci": case "cp": {
      const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
      return name === "ci" ? ci : String(cp);
    }
    case "fi": case "fp": {
      const cc = s.si[0].conn;
      connGetToAddr(cc);
      if (!(cc.flags & CO_FL_ADDR_TO_SET)) return "-";
      const [fi, fp] = addrString(cc.toAddr!, cc.toAddrLen);
      return name === "fi" ? fi : String(fp);
    }
    case "bi": case "bp": {
      // The server connection's own address while its fd is open (hapoll keeps no copy of it).
      const fd = s.si[1].conn.fd;
      if (fd < 0) return "-";
      const len = native.getsockname(fd, bindAddrBuf);
      if (len <= 0) return "-";
      const [bi, bp] = addrString(bindAddrBuf, len);
      return name === "bi" ? bi : String(bp);
    }
    case "si": case "sp":
      if (!srv) return "-";
      return name === "si" ? srv.host : String(srv.port);
    case "f": case "ft": return s.fe.id;
    case "b": return s.be.id;
    case "s": return srv ? srv.id : "<NOSRV>";
    case "t": return logDate(s.acceptDateMs);
    case "Tw": return String(s.tQueue >= 0 ? s.tQueue : -1);
    case "Tc": return String(s.tConnect >= 0 && s.tQueue >= 0 ? s.tConnect - s.tQueue : -1);
    case "Tt": return String(s.tClose >= 0 ? s.tClose : s.elapsed());
    case "Ta": return String(s.tClose >= 0 ? s.tClose : s.elapsed());
    case "B": return String(s.res.total);
    case "U": return String(s.req.total);
    case "ts": case "tsc":
      return SESS_TERM_COND[(s.flags & SF_ERR_MASK) >>> SF_ERR_SHIFT] + SESS_FIN_STATE[(s.flags & SF_FINST_MASK) >>> SF_FINST_SHIFT] +
        (name === "tsc" ? "--" : "");
    case "ac": return String(counters.actconn);
    case "fc": return String(s.fe.feconn);
    case "bc": return String(s.be.beconn);
    case "sc": return String(srv ? srv.curSess : 0);
    case "rc": {
      const left = s.si[1].connRetries;
      const retries = left > 0 ? s.be.cfg.retries - left : s.be.cfg.retries;
      return `${s.flags & SF_REDISP ? "+" : ""}${retries}`;
    }
    case "sq": return String(s.srvQueueSize);
    case "bq": return String(s.prxQueueSize);
    case "pid": return String(process.pid);
    case "H": return HOSTNAME;
    case "ms": return String(new Date(s.acceptDateMs).getMilliseconds()).padStart(3, "0");
    case "Ts": return String(Math.floor(s.acceptDateMs / 1000));
    case "lc": return "0";
    default: return "-";
  }
}

/** HAProxy: frontend_accept()'s "Connect from" line (a proxy that logs without option tcplog). */
export function sendConnectLog(s: Stream): void {
  const fe = s.fe;
  if (!fe.cfg.logs.length || fe.cfg.options.tcplog) return;
  const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
  // HAProxy: conn_get_to_addr(): the PROXY header's destination when there was one.
  const cc = s.si[0].conn;
  connGetToAddr(cc);
  const [li, lp] = cc.flags & CO_FL_ADDR_TO_SET ? addrString(cc.toAddr!, cc.toAddrLen) : ["-", 0];
  if (ci === "unix") sendProxyLog(fe, LOG_INFO, `Connect to unix:${s.listener.fd} (${fe.id}/TCP)`);
  else sendProxyLog(fe, LOG_INFO, `Connect from ${ci}:${cp} to ${li}:${lp} (${fe.id}/TCP)`);
}

function hex4(n: number): string {
  return ((n & 0xffff) >>> 0).toString(16).padStart(4, "0");
}

/** -d debug line for <ev> ("accept", "clicls", "srvcls", "closed"), as HAProxy writes them to stdout. */
export function debugStreamLine(s: Stream, ev: string, cfd: number, sfd: number): string {
  const id = (s.uniqId >>> 0).toString(16).padStart(8, "0");
  if (ev === "accept") {
    const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
    const from = ci === "unix" ? `unix:${s.listener.fd}` : `${ci}:${cp}`;
    return `${id}:${s.fe.id}.accept(${hex4(s.listener.fd)})=${hex4(cfd)} from [${from}] ALPN=<none>\n`;
  }
  return `${id}:${s.be.id}.${ev}[${hex4(cfd)}:${hex4(sfd)}]\n`;
}
