/**
 * The log sender: syslog targets, alerts and warnings. HAProxy 1.8: src/log.c (send_log,
 * __send_log, the RFC3164/RFC5424 headers), ha_alert()/ha_warning()/ha_notice() of src/haproxy.c.
 * What a stream logs when it ends (tcplog, log-format) is built above, in src/proxy/log.ts.
 *
 * Everything is written synchronously (fs.writeSync, or a UDP datagram sent through the native
 * layer), because the loop owns the thread: Node's asynchronous streams would never flush.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { native, C } from "../native";
import { clock } from "./clock";
import { global } from "./global";
import type { LogTarget } from "../config/types";

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
      ? `<${pri}>1 ${rfc5424Date(clock.dateMs)} ${logHostname} ${tag} ${process.pid} - - ${msg}\n`
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

/** The host name in RFC5424 headers and log-format's %H. */
export const logHostname = os.hostname();

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
