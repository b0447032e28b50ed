/**
 * Sessions: what an accepted connection is before it becomes a stream. HAProxy 1.8: src/session.c
 * (session_accept_fd, session_expire_embryonic, session_kill_embryonic, conn_complete_session,
 * session_prepare_log_prefix).
 *
 * Most connections have no handshake and become a stream at once (streamAccept). A listener with
 * `accept-proxy` first needs the PROXY header: the connection then lives as an embryonic session,
 * with its own task bounded by the frontend's `timeout client`, as 1.8 does:
 *
 *   accept ──▶ embryonic (CO_FL_ACCEPT_PROXY: conn_fd_handler reads the header)
 *                 │ header complete ──────────────▶ stream (addresses from the header)
 *                 │ bad header, close, error ────▶ killed (logged, counted in failedHandshakes)
 *                 └ timeout client ──────────────▶ killed ("Timeout while waiting for PROXY ...")
 *
 * No server connection is attempted and no byte is forwarded before the header is complete.
 */
import { clock } from "../core/clock";
import { counters } from "../core/global";
import { type Task, taskDelete, taskFree, taskNew, taskQueue, TASK_WOKEN_TIMER } from "../core/task";
import { tickAddIfSet } from "../core/ticks";
import {
  Connection, connCtrlInit, connFullClose, connSockWantRecv, connXprtWantRecv, CO_FL_ACCEPT_PROXY,
  CO_FL_ADDR_FROM_SET, CO_FL_CTRL_READY, CO_FL_ERROR,
} from "../net/connection";
import { connErrCodeStr, CO_ER_NONE, CO_ER_PRX_ABORT, CO_ER_PRX_EMPTY, CO_ER_PRX_TIMEOUT } from "../net/proxy_protocol";
import { type Listener, listenerRelease } from "../net/listener";
import { bFree } from "../core/buffer";
import { logDate, sendProxyLog, LOG_INFO } from "../core/log";
import { addrString } from "./log";
import { type Proxy, listenerProxy } from "./proxy";
import { sessionCountNew, streamAccept, streamNew } from "./stream";
import { l4Tracked, releaseStk, tcpExecL4Rules } from "./tcp_rules";
import type { StkCtr } from "./sample";

/** Embryonic sessions alive (for tests and the SIGQUIT dump). */
export const embryonic = { count: 0 };

/** HAProxy: struct session while it has no stream yet (sess->task set). */
export class Session {
  readonly conn = new Connection();
  readonly task: Task;
  /** Accept time, kept for the stream's logs. HAProxy: accept_date / tv_accept. */
  readonly acceptDateMs = clock.dateMs;
  readonly acceptMono = clock.nowMono;
  /** Stick counters tracked by the connection rules, handed to the stream. HAProxy: sess->stkctr. */
  stk: (StkCtr | null)[] | null = l4Tracked.stk;

  constructor(readonly fe: Proxy, readonly listener: Listener, cfd: number, addr: Buffer, addrLen: number) {
    const conn = this.conn;
    conn.fd = conn.lastFd = cfd;
    conn.addr = addr;
    conn.addrLen = addrLen;
    conn.flags = CO_FL_ADDR_FROM_SET;
    // No data layer until the handshake is done: conn_complete_session() then hands the
    // connection to a stream.
    conn.data = null;
    conn.owner = this;
    conn.xprtDoneCb = sessionXprtDone;
    this.task = taskNew(sessionExpireEmbryonic, this);
  }
}

/**
 * HAProxy: conn_complete_session() as the connection's xprt_done_cb: the handshake is over (the
 * stream takes the connection) or failed (the session dies). Returns -1 either way: this connection
 * object is done with, conn_fd_handler() must not touch it again.
 */
function sessionXprtDone(conn: Connection): number {
  const sess = conn.owner as Session;
  conn.xprtDoneCb = null;
  if (conn.flags & CO_FL_ERROR) sessionKillEmbryonic(sess);
  else connCompleteSession(sess);
  return -1;
}

/**
 * HAProxy: session_accept_fd(). The l->accept of proxy listeners: a stream right away, or an
 * embryonic session waiting for the PROXY header when the bind has `accept-proxy`. Returns false
 * when nothing was created (the caller closes <cfd>).
 */
export function sessionAcceptFd(l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  const fe = listenerProxy(l);
  let expectProxy = false;
  if (fe.rules !== null && fe.rules.l4.length) {
    // HAProxy: session_new() counts the session, then tcp_exec_l4_rules() runs before any stream;
    // a reject frees the session (session_free) and the caller closes the fd.
    fe.feconn++;
    const ok = tcpExecL4Rules(fe, l, cfd, addr, addrLen);
    fe.feconn--;
    if (!ok) {
      sessionCountNew(fe);
      fe.feconn--;
      counters.jobs--;
      return false;
    }
    expectProxy = l4Tracked.expectProxy;
  } else {
    l4Tracked.stk = null;
  }
  if (!expectProxy && (l.bind === null || !l.bind.acceptProxy)) return streamAccept(l, cfd, addr, addrLen);
  const sess = new Session(fe, l, cfd, addr, addrLen);
  sessionCountNew(fe);
  embryonic.count++;
  const conn = sess.conn;
  // HAProxy: conn_ctrl_init() (speculative: the header has often arrived with the connection),
  // then wait for the header (conn_sock_want_recv) before the data (conn_xprt_want_recv).
  connCtrlInit(conn);
  conn.flags |= CO_FL_ACCEPT_PROXY;
  connSockWantRecv(conn);
  connXprtWantRecv(conn);
  // HAProxy: the handshake is bounded by the frontend's client timeout.
  sess.task.expire = tickAddIfSet(clock.nowMs, fe.cfg.timeouts.client);
  taskQueue(sess.task);
  return true;
}

/** HAProxy: conn_complete_session(): the header is in; the session becomes a stream. */
function connCompleteSession(sess: Session): void {
  const conn = sess.conn;
  const fd = conn.fd;
  embryonic.count--;
  taskDelete(sess.task);
  taskFree(sess.task);
  // The connection is handed over to the stream: this object must no longer touch the fd.
  conn.fd = -1;
  conn.flags &= ~CO_FL_CTRL_READY;
  l4Tracked.stk = sess.stk;
  streamNew(sess.listener, fd, conn.addr!, conn.addrLen, conn, sess.acceptDateMs, sess.acceptMono);
}

/** HAProxy: session_expire_embryonic(): `timeout client` struck before the header was complete. */
function sessionExpireEmbryonic(t: Task): Task | null {
  if (!(t.state & TASK_WOKEN_TIMER)) return t;
  const sess = t.context as Session;
  if (!sess.conn.errCode) sess.conn.errCode = CO_ER_PRX_TIMEOUT;
  sessionKillEmbryonic(sess);
  return null;
}

/**
 * HAProxy: session_prepare_log_prefix(): "ip:port [date] frontend/listener" where the listener is
 * named by its `name` or its numeric id (1.8 numbers a frontend's listeners from 1).
 */
function sessionLogPrefix(sess: Session): string {
  const conn = sess.conn;
  const l = sess.listener;
  const [ip, port] = addrString(conn.addr!, conn.addrLen);
  const luid = sess.fe.listeners.indexOf(l) + 1;
  const who = ip === "unix" ? `unix:${luid}` : ip === "-" ? "unknown" : `${ip}:${port}`;
  return `${who} [${logDate(sess.acceptDateMs)}] ${sess.fe.id}/${l.bind?.name ?? luid}`;
}

/**
 * HAProxy: session_kill_embryonic(). Log why the handshake failed (frontends that log with a
 * format, i.e. `option tcplog`; `option dontlognull` hides connections that sent nothing), close
 * the connection, release the session's slot.
 */
function sessionKillEmbryonic(sess: Session): void {
  const fe = sess.fe;
  const conn = sess.conn;
  fe.feCounters.failedHandshakes++;
  embryonic.count--;
  let log = fe.cfg.logs.length > 0 && fe.cfg.options.tcplog;
  const code = conn.errCode;
  if (log && fe.cfg.options.dontlognull &&
      (code === CO_ER_NONE || code === CO_ER_PRX_EMPTY || code === CO_ER_PRX_ABORT)) {
    log = false;
  }
  if (log) {
    const msg = connErrCodeStr(code);
    sendProxyLog(fe, LOG_INFO, msg !== null
      ? `${sessionLogPrefix(sess)}: ${msg}`
      : `${sessionLogPrefix(sess)}: unknown connection error (code=${code} flags=${(conn.flags >>> 0).toString(16).padStart(8, "0")})`);
  }
  if (sess.stk !== null) releaseStk(sess.stk, 0, 0);
  connFullClose(conn);
  if (conn.hsBuf !== null) {
    bFree(conn.hsBuf);
    conn.hsBuf = null;
  }
  taskDelete(sess.task);
  taskFree(sess.task);
  // HAProxy: session_free().
  fe.feconn--;
  counters.jobs--;
  listenerRelease(sess.listener);
}
