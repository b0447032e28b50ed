/**
 * Health checks: pure TCP connect checks. HAProxy 1.8: src/checks.c (process_chk_conn,
 * connect_conn_chk, set_server_check_status, chk_report_conn_err, check_notify_failure,
 * check_notify_success, start_check_task, start_checks, the data_cb check_conn_cb).
 *
 * Each checked server has a check task on the main loop. When it expires the task opens a
 * non-blocking connection to the server (or to its `addr`/`port`), registered in fdtab like any
 * server connection; the connection's callbacks wake the task when connect() succeeds or fails,
 * and the task's own expiry is the check timeout. Then the result moves the server's health:
 *
 *   health  0 ............ rise-1 | rise ............ rise+fall-1
 *           DOWN (going up)       | UP (going down)   UP (fully)
 *
 *   a pass: health+1, and on reaching rise it jumps to rise+fall-1 (the server is UP);
 *   a failure while health >= rise: health-1, and on falling below rise it drops to 0 (DOWN).
 *   Failures while DOWN and passes while fully UP change nothing.
 *
 * A checked server starts UP with health = rise ("UP, going down"): its first failed check takes
 * it DOWN. The next check runs `inter` ms after a check ends when the server is fully UP,
 * `downinter` (default inter) when it is fully DOWN, `fastinter` (default inter) in between.
 * The connect timeout is `inter`, or min(inter, timeout connect) when `timeout check` is set (for a
 * pure TCP check `timeout check` itself, a read timeout, never applies).
 *
 * Check tasks are not jobs: they never keep the process alive after a soft stop.
 *
 *   task expires ──▶ connect() ──▶ (fd: connected | error) or task timeout ──▶ result ──▶ close
 *        ▲                                                                                  │
 *        └──────────────────────── reschedule: now + srv_getinter() ◀──────────────────────┘
 */
import { native, C } from "../native";
import { clock } from "../core/clock";
import { type Task, taskNew, taskQueue, taskWakeup, TASK_WOKEN_IO } from "../core/task";
import { tickAdd, tickFirst, tickIsExpired } from "../core/ticks";
import {
  Connection, type ConnDataCb, CO_FL_CONNECTED, CO_FL_ERROR, CO_FL_SOCK_RD_SH, CO_FL_SOCK_WR_SH,
  CO_FL_WAIT_L4_CONN, CO_FL_CTRL_READY, csClose, csStopBothNoUpdate, connSockDrain, csWantRecvNoUpdate, csWantSendNoUpdate, csUpdateMuxPolling,
} from "../net/connection";
import { SF_ERR_INTERNAL, SF_ERR_NONE, SF_ERR_PRXCOND, SF_ERR_RESOURCE, SF_ERR_SRVCL, SF_ERR_SRVTO } from "../types/stream-t";
import { tcpConnectServer, tcpDrain } from "../net/proto_tcp";
import { lbInit } from "./backend";
import type { TcpCheckRule } from "../config/types";
import { type Proxy, PR_STSTOPPED } from "./proxy";
import { srvSetRunning, srvSetStopped } from "./server_state";
import { type Server, SRV_ADMF_MAINT, SRV_ST_STOPPED } from "./server";
import { CHECK_STATUSES, CHK_RES_CONDPASS, CHK_RES_FAILED, CHK_RES_NEUTRAL, CHK_RES_PASSED, CHK_RES_UNKNOWN, CHK_ST_CONFIGURED, CHK_ST_ENABLED, CHK_ST_INPROGRESS, CHK_ST_PAUSED, CHK_ST_PORT_MISS, HCHK_STATUS_HANA, HCHK_STATUS_INI, HCHK_STATUS_L4CON, HCHK_STATUS_L4OK, HCHK_STATUS_L4TOUT, HCHK_STATUS_L7OKD, HCHK_STATUS_L7RSP, HCHK_STATUS_L7STS, HCHK_STATUS_L7TOUT, HCHK_STATUS_SOCKERR, HCHK_STATUS_START } from "./check-t";
import { E_AGAIN, strerror } from "../core/errno";

/** HAProxy: SRV_CHK_INTER_THRES: checks faster than this do not set the start-up spreading. */
const SRV_CHK_INTER_THRES = 1000;
/** HAProxy: HCHK_DESC_LEN: a check description is cut to 127 characters. */
const HCHK_DESC_LEN = 128;

/** HAProxy: struct check (the health check of a server). */
export class Check {
  /** CHK_ST_* bits. */
  state = CHK_ST_CONFIGURED | CHK_ST_ENABLED;
  /** Last HCHK_STATUS_* and the CHK_RES_* it gave. */
  status = HCHK_STATUS_INI;
  result = CHK_RES_UNKNOWN;
  /** Health counter (see the file comment). */
  health: number;
  rise: number;
  fall: number;
  /** Intervals in ms (fastinter and downinter 0 = inter). */
  inter: number;
  fastinter: number;
  downinter: number;
  /** Status code (L7 only) and description of the last result. HAProxy: code, desc. */
  code = 0;
  desc = "";
  /** Duration of the last check in ms (-1: unknown) and the start of the running one. */
  duration = -1;
  startMono = -1;
  /** Where to connect: sockaddr bytes, length, family; port 0 with an inet family: none usable. */
  addr: Buffer = Buffer.alloc(0);
  addrLen = 0;
  family = "ipv4";
  port = 0;
  /** The check task and its connection (one, reused for every check). */
  readonly task: Task;
  readonly conn = new Connection();
  /**
   * tcp-check / redis-check rules (null: a pure connect check), the rule being run, what the
   * server sent since the last send, whether it closed, and whether the rules concluded.
   */
  rules: TcpCheckRule[] | null = null;
  step = 0;
  inbuf: Buffer | null = null;
  inLen = 0;
  readDone = false;
  l7Done = false;

  constructor(readonly server: Server) {
    const sc = server.cfg;
    this.rise = sc.rise;
    this.fall = sc.fall;
    this.inter = sc.inter;
    this.fastinter = sc.fastinter;
    this.downinter = sc.downinter;
    // HAProxy: "health: up, but will fall down at first failure"; a disabled server starts down.
    this.health = this.rise;
    if (sc.disabled) {
      this.state |= CHK_ST_PAUSED;
      this.health = 0;
    }
    const pc = server.proxy.cfg;
    if (pc.checkType === "tcp-check") this.rules = pc.tcpCheckRules.length ? pc.tcpCheckRules : [{ action: "connect" }];
    else if (pc.checkType === "redis") {
      // HAProxy: DEF_REDIS_CHECK_REQ, and event_srv_chk_r()'s PR_O2_REDIS_CHK case for the answer.
      this.rules = [{ action: "send", data: Buffer.from("*1\r\n$4\r\nPING\r\n") }, { action: "expect", text: REDIS_EXPECT }];
    }
    this.task = taskNew(processChk, this);
    this.conn.data = checkConnCb;
    this.conn.owner = this;
  }
}

/** HAProxy: srv_getinter(): the interval before the next check of <check>. */
export function srvGetinter(check: Check): number {
  const s = check.server;
  if ((check.state & CHK_ST_CONFIGURED) && check.health === check.rise + check.fall - 1) return check.inter;
  if (s.nextState === SRV_ST_STOPPED && check.health === 0) return check.downinter || check.inter;
  return check.fastinter || check.inter;
}

/**
 * HAProxy: set_server_check_status(). Record <status> (with description <desc>) and its duration,
 * and move the health counter; HCHK_STATUS_START only starts the clock.
 */
function setServerCheckStatus(check: Check, status: number, desc: string): void {
  const s = check.server;
  if (status === HCHK_STATUS_START) {
    check.result = CHK_RES_UNKNOWN;
    check.desc = "";
    check.startMono = clock.nowMono;
    return;
  }
  if (!check.status) return;
  check.desc = desc.length >= HCHK_DESC_LEN ? desc.slice(0, HCHK_DESC_LEN - 1) : desc;
  check.status = status;
  const res = CHECK_STATUSES[status][0];
  if (res) check.result = res;
  if (status === HCHK_STATUS_HANA) check.duration = -1;
  else if (check.startMono >= 0) {
    check.duration = Math.floor(clock.nowMono - check.startMono);
    check.startMono = -1;
  }
  if (check.result === CHK_RES_NEUTRAL) return;
  if (check.result === CHK_RES_FAILED) {
    if (check.health >= check.rise) {
      s.failedChecks++;
      check.health--;
      if (check.health < check.rise) check.health = 0;
    }
  } else if (check.result === CHK_RES_PASSED || check.result === CHK_RES_CONDPASS) {
    if (check.health < check.rise + check.fall - 1 && (check.result === CHK_RES_PASSED || check.health > 0)) {
      check.health++;
      if (check.health >= check.rise) check.health = check.rise + check.fall - 1;
    }
  }
}

/** HAProxy: check_notify_failure(): a failed check that brought health to 0 marks the server DOWN. */
function checkNotifyFailure(check: Check): void {
  if (check.health > 0) return;
  srvSetStopped(check.server, "", check);
}

/** HAProxy: check_notify_success(): a passed check that reached rise marks the server UP. */
function checkNotifySuccess(check: Check): void {
  const s = check.server;
  if (s.nextAdmin & SRV_ADMF_MAINT) return;
  if ((check.state & CHK_ST_ENABLED) && check.health < check.rise) return;
  srvSetRunning(s, "", check);
}

/**
 * HAProxy: retrieve_errno_from_socket(). The pending socket error of <conn> (a positive errno, 0
 * when none); marks the connection in error when there is one.
 */
function retrieveErrnoFromSocket(conn: Connection): number {
  if (conn.fd < 0) return conn.flags & CO_FL_ERROR ? -conn.errno : 0;
  const skerr = native.getsockoptInt(conn.fd, C.SOL_SOCKET, C.SO_ERROR);
  if (skerr <= 0 || skerr === -E_AGAIN) return 0;
  conn.errno = -skerr;
  conn.flags |= CO_FL_ERROR | CO_FL_SOCK_WR_SH | CO_FL_SOCK_RD_SH;
  return skerr;
}

/**
 * HAProxy: chk_report_conn_err(). Turn a connection error (<errnoBck>, a positive errno or 0 to
 * read it from the socket) or an expiry into a check status, unless a result is already known.
 * <syncErr> is set for an error returned by connect() itself, which HAProxy words as
 * "General socket error (<strerror>)" (conn->err_code CO_ER_SOCK_ERR).
 */
function chkReportConnErr(check: Check, errnoBck: number, expired: boolean, syncErr: boolean): void {
  const conn = check.conn;
  if (check.result !== CHK_RES_UNKNOWN) return;
  let err = errnoBck;
  if (!err || err === -E_AGAIN) err = retrieveErrnoFromSocket(conn);
  if (!(conn.flags & CO_FL_ERROR) && !expired) return;
  let errMsg = "";
  if (syncErr) errMsg = err && err !== -E_AGAIN ? `General socket error (${strerror(err)})` : "General socket error";
  else if (err && err !== -E_AGAIN) errMsg = strerror(err);
  if (check.state & CHK_ST_PORT_MISS) {
    // HAProxy writes this text into the chunk its message points to when there is no errno, so
    // both statuses below carry it.
    if (!errMsg) errMsg = "No port available for the TCP connection";
    setServerCheckStatus(check, HCHK_STATUS_SOCKERR, errMsg);
  }
  if ((conn.flags & (CO_FL_CONNECTED | CO_FL_WAIT_L4_CONN)) === CO_FL_WAIT_L4_CONN) {
    if (conn.flags & CO_FL_ERROR) setServerCheckStatus(check, HCHK_STATUS_L4CON, errMsg);
    else if (expired) setServerCheckStatus(check, HCHK_STATUS_L4TOUT, errMsg);
  } else if (conn.flags & CO_FL_ERROR) {
    setServerCheckStatus(check, HCHK_STATUS_SOCKERR, errMsg);
  } else if (expired) {
    setServerCheckStatus(check, HCHK_STATUS_L7TOUT, errMsg);
  }
}

/**
 * HAProxy: check_conn_cb (event_srv_chk_r, event_srv_chk_w, wake_srv_chk) for a pure TCP check:
 * nothing to send or read; once connect() has succeeded or failed, stop polling the fd and let
 * the task conclude.
 */
const checkConnCb: ConnDataCb = {
  recv(conn: Connection): void {
    // A pure TCP check reads nothing; a tcp-check reads what its expect rules look at.
    const check = conn.owner as Check;
    if (!check.rules || check.l7Done) return;
    if (check.inbuf === null) check.inbuf = Buffer.alloc(TCPCHK_BUFSIZE);
    while (check.inLen < check.inbuf.length) {
      const r = native.recv(conn.fd, check.inbuf, check.inLen, check.inbuf.length - check.inLen);
      if (r > 0) check.inLen += r;
      else if (r === 0 || r !== E_AGAIN) {
        check.readDone = true;
        break;
      } else break;
    }
    tcpcheckRun(check);
  },
  send(conn: Connection): void {
    const check = conn.owner as Check;
    if (check.rules && !check.l7Done && (conn.flags & CO_FL_CONNECTED)) tcpcheckRun(check);
  },
  wake(conn: Connection): number {
    const check = conn.owner as Check;
    if (conn.flags & CO_FL_ERROR) {
      chkReportConnErr(check, conn.errno < 0 ? -conn.errno : 0, false, false);
    } else if (!(conn.flags & CO_FL_CONNECTED)) {
      return 0;
    } else if (check.rules && !check.l7Done) {
      tcpcheckRun(check);
      return 0;
    }
    csStopBothNoUpdate(conn);
    taskWakeup(check.task, TASK_WOKEN_IO);
    return 0;
  },
};

/** The answer 1.8's redis-check wants (a marker rule: the redis verdict is not a tcp-check one). */
const REDIS_EXPECT = "\u0000redis";
/** HAProxy: global.tune.chksize (16384 in 1.8). */
const TCPCHK_BUFSIZE = 16384;

/** HAProxy: tcpcheck_get_step_id(): the rule's number, comments left out, from 1. */
function tcpcheckStepId(check: Check): number {
  let n = 0;
  for (let i = 0; i <= check.step && i < check.rules!.length; i++) if (check.rules![i].action !== "comment") n++;
  return n;
}

/** End the rules with <status>/<desc> and let the task conclude. */
function tcpcheckEnd(check: Check, status: number, desc: string): void {
  check.l7Done = true;
  setServerCheckStatus(check, status, desc);
  csStopBothNoUpdate(check.conn);
  taskWakeup(check.task, TASK_WOKEN_IO);
}

/**
 * HAProxy: tcpcheck_main() (and for redis-check, event_srv_chk_r()'s PR_O2_REDIS_CHK case): run
 * the rules from the current one: sends go out at once, an expect waits for enough data (or the
 * server's close, or a full buffer), then matches or fails with 1.8's messages.
 */
function tcpcheckRun(check: Check): void {
  const rules = check.rules!;
  const conn = check.conn;
  while (check.step < rules.length) {
    const r = rules[check.step];
    if (r.action === "connect" || r.action === "comment") {
      check.step++;
      continue;
    }
    if (r.action === "send") {
      const d = r.data!;
      const n = native.send(conn.fd, d, 0, d.length, 0);
      if (n === E_AGAIN) {
        csWantSendNoUpdate(conn);
        csUpdateMuxPolling(conn);
        return;
      }
      if (n !== d.length) {
        tcpcheckEnd(check, HCHK_STATUS_L7RSP, `TCPCHK error sending data at step ${tcpcheckStepId(check)}`);
        return;
      }
      check.inLen = 0;
      check.step++;
      continue;
    }
    // expect
    const buf = check.inbuf;
    const len = check.inLen;
    const done = check.readDone || (buf !== null && len >= buf.length);
    if (r.text === REDIS_EXPECT) {
      if (!done && len < 7) return wantMore(conn);
      const got = buf ? buf.toString("latin1", 0, len) : "";
      if (got === "+PONG\r\n") tcpcheckEnd(check, HCHK_STATUS_L7OKD, "Redis server is ok");
      else tcpcheckEnd(check, HCHK_STATUS_L7STS, got);
      return;
    }
    const id = tcpcheckStepId(check);
    const note = r.comment ? ` comment: '${r.comment}'` : "";
    if (len === 0) {
      if (!done) return wantMore(conn);
      tcpcheckEnd(check, HCHK_STATUS_L7RSP, `TCPCHK got an empty response at step ${id}${note}`);
      return;
    }
    if (!done && r.data && len < r.data.length) return wantMore(conn);
    let match: boolean;
    if (r.data) match = buf!.subarray(0, len).indexOf(r.data) >= 0;
    else {
      const subject = r.binary ? buf!.toString("hex", 0, len) : buf!.toString("latin1", 0, len);
      match = r.regex!.test(subject);
    }
    if (!match && !done) return wantMore(conn);
    if (match && r.inverse) {
      tcpcheckEnd(check, HCHK_STATUS_L7RSP, r.data ? `TCPCHK matched unwanted content '${r.text}' at step ${id}${note}` : `TCPCHK matched unwanted content (regex) at step ${id}${note}`);
      return;
    }
    if (!match && !r.inverse) {
      tcpcheckEnd(check, HCHK_STATUS_L7RSP, r.data ? `TCPCHK did not match content '${r.text}' at step ${id}${note}` : `TCPCHK did not match content (regex) at step ${id}${note}`);
      return;
    }
    check.step++;
  }
  tcpcheckEnd(check, HCHK_STATUS_L7OKD, "(tcp-check)");
}

/** Poll for more of the server's answer (HAProxy: __cs_want_recv() + the mux's polling update). */
function wantMore(conn: Connection): void {
  csWantRecvNoUpdate(conn);
  csUpdateMuxPolling(conn);
}

/** connect_conn_chk()'s result when no port can be found for an inet address. HAProxy: SF_ERR_CHK_PORT. */
const SF_ERR_CHK_PORT = 0x0000c000;

/**
 * HAProxy: connect_conn_chk(). Start the check's connection to the server (or to its check
 * address and port). Returns SF_ERR_NONE while it is in progress, or the SF_ERR_* of a synchronous
 * failure (no fd is left open then).
 */
function connectConnChk(check: Check): number {
  const conn = check.conn;
  conn.fd = -1;
  conn.flags = CO_FL_WAIT_L4_CONN;
  conn.csFlags = 0;
  conn.errno = 0;
  if (check.family !== "unix" && check.port === 0) {
    conn.flags |= CO_FL_ERROR;
    return SF_ERR_CHK_PORT;
  }
  conn.addr = check.addr;
  conn.addrLen = check.addrLen;
  check.step = 0;
  check.inLen = 0;
  check.readDone = false;
  check.l7Done = false;
  const first = check.rules ? check.rules.find((x) => x.action !== "comment") : undefined;
  if (first && first.action === "connect" && first.port && check.family !== "unix") {
    // tcp-check connect port <n>: the check's address with that port.
    const info = native.sockaddrInfo(check.addr, check.addrLen);
    if (info) {
      const sa = Buffer.alloc(C.SOCKADDR_MAX);
      const len = native.sockaddrFrom(check.family, info.address, first.port, sa);
      if (len > 0) {
        conn.addr = sa;
        conn.addrLen = len;
      }
    }
  }
  // HAProxy: connect_conn_chk(): a pure TCP check sends nothing and disables the quick ACK
  // (delack 2); a check with data to send wants to write at once.
  const sendsFirst = check.rules !== null && check.rules.some((x) => x.action === "send");
  const r = tcpConnectServer(conn, check.family, false, sendsFirst, 2, check.server.connSrc ?? check.server.proxy.connSrc);
  if (r !== SF_ERR_NONE) conn.flags |= CO_FL_ERROR;
  return r;
}

/** Close the check's connection if it is still open (HAProxy: conn_sock_drain() + cs_close()). */
function checkCloseConn(check: Check): void {
  const conn = check.conn;
  if (!(conn.flags & CO_FL_CTRL_READY)) return;
  connSockDrain(conn, tcpDrain);
  csClose(conn);
}

/**
 * HAProxy: process_chk_conn(), the check task. Start a check when the task expires; when woken
 * again (connection outcome, or expiry = check timeout) conclude it, update the server, and
 * schedule the next one.
 */
export function processChk(t: Task): Task {
  const check = t.context as Check;
  const s = check.server;
  const conn = check.conn;
  const now = clock.nowMs;
  const expired = tickIsExpired(t.expire, now);
  const to = s.proxy.cfg.timeouts;

  if (!(check.state & CHK_ST_INPROGRESS)) {
    if (!expired) return t;
    if ((check.state & (CHK_ST_ENABLED | CHK_ST_PAUSED)) !== CHK_ST_ENABLED || s.proxy.state === PR_STSTOPPED) {
      return reschedule(t, check);
    }
    setServerCheckStatus(check, HCHK_STATUS_START, "");
    check.state |= CHK_ST_INPROGRESS;
    const ret = connectConnChk(check);
    switch (ret) {
      case SF_ERR_NONE:
        // Up to inter for the connection, or min(inter, timeout connect) when timeout check is set.
        t.expire = tickAdd(now, check.inter);
        if (to.check && to.connect) t.expire = tickFirst(t.expire, tickAdd(now, to.connect));
        return reschedule(t, check);
      case SF_ERR_SRVTO:
      case SF_ERR_SRVCL:
        chkReportConnErr(check, conn.errno < 0 ? -conn.errno : 0, false, true);
        break;
      case SF_ERR_CHK_PORT:
        check.state |= CHK_ST_PORT_MISS;
      // falls through
      case SF_ERR_PRXCOND:
      case SF_ERR_RESOURCE:
      case SF_ERR_INTERNAL:
      default:
        chkReportConnErr(check, 0, false, ret !== SF_ERR_CHK_PORT);
        break;
    }
    // A synchronous error: no fd was kept.
    checkCloseConn(check);
    check.state &= ~CHK_ST_INPROGRESS;
    checkNotifyFailure(check);
    while (tickIsExpired(t.expire, now)) {
      const tCon = tickAdd(t.expire, to.connect);
      t.expire = tickAdd(t.expire, check.inter);
      if (to.check) t.expire = tickFirst(t.expire, tCon);
    }
    return t;
  }

  // A check is running: did it conclude?
  if (check.result === CHK_RES_UNKNOWN && check.rules && !check.l7Done && conn.flags & CO_FL_CONNECTED && !(conn.flags & CO_FL_ERROR)) {
    // tcp-check rules still running: wait for them, or time them out (Layer7 timeout).
    if (!expired) return t;
    const r = check.rules[check.step];
    let desc = `at step ${tcpcheckStepId(check)} of tcp-check`;
    if (r && r.action === "expect" && r.text !== REDIS_EXPECT) desc += r.data ? ` (expect string '${r.text}')` : " (expect regex)";
    if (check.server.proxy.cfg.checkType === "redis") desc = "";
    setServerCheckStatus(check, HCHK_STATUS_L7TOUT, desc);
  }
  if (check.result === CHK_RES_UNKNOWN) {
    if (conn.flags & CO_FL_CONNECTED && !(conn.flags & CO_FL_WAIT_L4_CONN)) {
      setServerCheckStatus(check, HCHK_STATUS_L4OK, "");
    } else if ((conn.flags & CO_FL_ERROR) || expired) {
      chkReportConnErr(check, 0, expired, false);
    } else {
      return t; // woken early: keep waiting
    }
  }
  checkCloseConn(check);
  if (check.result === CHK_RES_FAILED) checkNotifyFailure(check);
  else if (check.result === CHK_RES_PASSED) checkNotifySuccess(check);
  check.state &= ~CHK_ST_INPROGRESS;
  t.expire = tickAdd(clock.nowMs, srvGetinter(check));
  return reschedule(t, check);
}

/** The `reschedule:` tail of process_chk_conn(): never leave the task with a past expiry. */
function reschedule(t: Task, check: Check): Task {
  while (tickIsExpired(t.expire, clock.nowMs)) t.expire = tickAdd(t.expire, check.inter);
  return t;
}

/** Resolve <host> of a configured address the way the start-up does (a DNS name once). */
function resolve(host: string, needsResolve: boolean, family: string): string | null {
  if (!needsResolve) return host;
  const r = native.resolveHost(host, family === "ipv6" ? "ipv6" : "any");
  return typeof r === "string" ? r : null;
}

/**
 * Where the check of <srv> connects: its `addr` (else the server's address) and its `port` (else
 * the port of `addr`, else the server's). HAProxy: the address part of connect_conn_chk() and
 * srv_check_healthcheck_port().
 */
export function setCheckAddr(check: Check, srv: Server): void {
  const sc = srv.cfg;
  let host = srv.host;
  let family: string = sc.addr.family;
  if (sc.checkAddr) {
    const h = resolve(sc.checkAddr.host, sc.checkAddr.needsResolve, sc.checkAddr.family);
    if (h !== null) {
      host = h;
      family = sc.checkAddr.family === "unix" ? "unix" : h.includes(":") ? "ipv6" : "ipv4";
    }
  }
  let port = 0;
  if (family !== "unix") {
    if (sc.checkPort > 0) port = sc.checkPort;
    else if (sc.checkAddr && sc.checkAddr.portLow > 0) port = sc.checkAddr.portLow;
    else if (!sc.addr.portOffset) port = srv.port;
  }
  const buf = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(family, host, port, buf);
  check.family = family;
  check.port = port;
  if (len > 0) {
    check.addr = buf;
    check.addrLen = len;
  } else {
    check.port = 0;
  }
}

/** HAProxy: start_check_task(): first run spread over the smallest interval by server position. */
function startCheckTask(check: Check, mininter: number, nbcheck: number, srvpos: number): void {
  const t = check.task;
  const inter = srvGetinter(check);
  if (mininter < inter) mininter = inter;
  t.expire = tickAdd(clock.nowMs, Math.floor((mininter * srvpos) / nbcheck));
  check.startMono = clock.nowMono;
  taskQueue(t);
}

/**
 * HAProxy: start_checks(). Resolve where the check of every server configured with `check` (its
 * Check is built with the server) connects, and start the check tasks, their first runs spread over the smallest check interval. Also builds each
 * backend's load-balancing state. Returns the number of checks started.
 */
export function startHealthChecks(proxies: Proxy[]): number {
  let nbcheck = 0;
  let mininter = 0;
  for (const px of proxies) {
    if (px.servers.length) lbInit(px);
    for (const srv of px.servers) {
      const check = srv.check;
      if (check === null) continue;
      setCheckAddr(check, srv);
      nbcheck++;
      const inter = srvGetinter(check);
      if (inter >= SRV_CHK_INTER_THRES && (!mininter || mininter > inter)) mininter = inter;
    }
  }
  if (!nbcheck) return 0;
  let srvpos = 0;
  for (const px of proxies) {
    for (const srv of px.servers) {
      if (srv.check === null) continue;
      startCheckTask(srv.check, mininter, nbcheck, srvpos);
      srvpos++;
    }
  }
  return nbcheck;
}

/** Give <srv> its health check when its configuration asks for one (`check`). Called as servers are built. */
export function serverCheckInit(srv: Server): void {
  if (srv.cfg.check) srv.check = new Check(srv);
}
