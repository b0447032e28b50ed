/**
 * Streams: one proxied connection, client side + server side, and the task that drives them.
 * HAProxy 1.8: src/stream.c (stream_new, process_stream, sess_update_stream_int,
 * sess_update_st_con_tcp, sess_update_st_cer, sess_establish, sess_prepare_conn_req,
 * sess_set_term_flags, default_srv_error), src/session.c (session_accept_fd, session_new).
 *
 * process_stream() runs when the task is woken (I/O that needs a decision, a timer, a wake-up at
 * creation). It checks timeouts, reports errors, moves the server side through its states
 * (see stream_interface.ts), propagates shutdowns across (a FIN read on one side becomes a
 * shutdown(SHUT_WR) on the other once the data is flushed), then either re-arms its timers or, when
 * both sides are closed, logs and frees the stream.
 */
import { native } from "../native";
import { clock } from "../core/clock";
import { counters, global } from "../core/global";
import { fdtab } from "../core/fd";
import { swrateAdd, TIME_STATS_SAMPLES, updateFreqCtr } from "../core/freq_ctr";
import {
  type Task, taskDelete, taskFree, taskNew, taskWakeup, TASK_WOKEN_ANY, TASK_WOKEN_INIT, TASK_WOKEN_TIMER, TASK_RUNNING,
} from "../core/task";
import { TICK_ETERNITY, tickAdd, tickIsExpired, tickIsSet } from "../core/ticks";
import {
  type Connection, connCtrlInit, connXprtWantRecv, csWantRecv, CO_FL_CONNECTED, CO_FL_ADDR_FROM_SET,
  CO_FL_ADDR_TO_SET, CO_FL_CTRL_READY, CO_FL_CURR_RD_ENA, CO_FL_CURR_WR_ENA, CO_FL_RCVD_PROXY,
  CO_FL_XPRT_RD_ENA, CO_FL_XPRT_WR_ENA,
} from "../net/connection";
import { type Listener, listenerRelease } from "../net/listener";
import {
  Channel, CF_AUTO_CLOSE, CF_AUTO_CONNECT, CF_READ_ERROR, CF_READ_NOEXP, CF_READ_NULL, CF_READ_PARTIAL, CF_READ_TIMEOUT, CF_SHUTR, CF_SHUTR_NOW, CF_SHUTW, CF_SHUTW_NOW, CF_WRITE_ACTIVITY, CF_WRITE_ERROR, CF_WRITE_EVENT, CF_WRITE_NULL, CF_WRITE_PARTIAL, CF_WRITE_TIMEOUT, CF_READ_ACTIVITY, CF_KERN_SPLICING, CF_STREAMER_FAST, CHN_INFINITE_FORWARD, pipesInUse,
} from "./channel";
import { sessPrepareConnReq, sessReleaseServer, sessUpdateStCer, sessUpdateStConTcp, sessUpdateStreamInt } from "./backend";
import { sendStreamLog } from "./log";
import type { StkCtr } from "./sample";
import {
  l4Tracked, processServerRules, processSwitchingRules, releaseStk, tcpInspectRequest, tcpInspectResponse,
  AN_CLOSE, AN_CONTINUE, AN_REJECT, AN_REQ_INSPECT_BE, AN_REQ_INSPECT_FE, AN_REQ_SRV_RULES, AN_REQ_SWITCHING_RULES,
  AN_RES_INSPECT,
} from "./tcp_rules";
import { pendconnFree } from "./queue";
import { type Proxy, listenerProxy } from "./proxy";
import { type PendList, type Server } from "./server";
import {
  StreamInterface, type StreamTimers, siReleaseEndpoint, siShutr, siShutw, siUpdate, SI_FL_DONT_WAKE, SI_FL_ERR, SI_FL_EXP, SI_FL_NOLINGER, SI_ST_ASS, SI_ST_CLO, SI_ST_CON, SI_ST_DIS, SI_ST_EST, SI_ST_INI, SI_ST_QUE, SI_ST_REQ, streamTimersExpire,
} from "./stream_interface";
import {
  SF_ASSIGNED, SF_BE_ASSIGNED, SF_DIRECT, SF_ERR_CLICL, SF_ERR_CLITO, SF_ERR_MASK, SF_ERR_PRXCOND, SF_ERR_SRVCL, SF_ERR_SRVTO, SF_FINST_C, SF_FINST_D, SF_FINST_L, SF_FINST_MASK, SF_FINST_Q, SF_FINST_R,
} from "../types/stream-t";

/** All live streams, for `show sess`, soft stop and tests. HAProxy: the streams list. */
export const streams = new Set<Stream>();

/** Hook for traces and debug output: (stream, event); null when off. */
export const streamHooks: { onEvent: ((s: Stream, ev: string) => void) | null } = { onEvent: null };

/** HAProxy: struct stream (with struct session folded in: TCP mode has one stream per session). */
export class Stream implements StreamTimers {
  /** HAProxy: uniq_id, taken from global.req_count (shared with the stats socket's sessions). */
  readonly uniqId = counters.reqCount++;
  flags = 0;
  readonly req = new Channel(false);
  readonly res = new Channel(true);
  readonly task: Task;
  readonly si: [StreamInterface, StreamInterface];
  /** The backend (the frontend's default backend in TCP mode). */
  be: Proxy;
  /** The server chosen, or null. HAProxy: s->target. */
  target: Server | null = null;
  /** Wake-up reasons not yet handled. */
  pendingEvents = 0;
  /** Timing for logs, in ms since accept (-1 = never reached). HAProxy: s->logs. */
  acceptDateMs: number;
  acceptMono: number;
  tQueue = -1;
  tConnect = -1;
  tClose = -1;
  /** Client address, decoded lazily for logs. */
  cliAddr: Buffer;
  cliAddrLen: number;
  /** Whether the stream has been counted in feconn / actconn (undone at free). */
  private released = false;
  /** The server whose connection slot this stream holds. HAProxy: srv_conn. */
  srvConn: Server | null = null;
  /**
   * Queue position (HAProxy: pend_pos): the queue this stream waits in, the server owning it
   * (null: the backend's queue) and the links of the list.
   */
  pendList: PendList | null = null;
  pendSrv: Server | null = null;
  pendPrev: Stream | null = null;
  pendNext: Stream | null = null;
  /** Queue lengths seen when queued, for %sq / %bq. HAProxy: logs.srv_queue_size, prx_queue_size. */
  srvQueueSize = 0;
  prxQueueSize = 0;
  /** Request / response analysers still to run and their expiry. HAProxy: req.analysers, analyse_exp. */
  reqAn = 0;
  resAn = 0;
  reqAnExp = TICK_ETERNITY;
  resAnExp = TICK_ETERNITY;
  /** Stick counters tracked (connection rules, then content rules). HAProxy: sess/strm->stkctr. */
  stk: (StkCtr | null)[] | null = null;

  constructor(readonly fe: Proxy, readonly listener: Listener, cfd: number, addr: Buffer, addrLen: number) {
    this.task = taskNew(processStream, this);
    this.be = fe.defbe ?? fe;
    const siF = new StreamInterface(0, this.req, this.res, this.task);
    const siB = new StreamInterface(1, this.res, this.req, this.task);
    siF.opposite = siB;
    siB.opposite = siF;
    this.si = [siF, siB];
    this.cliAddr = addr;
    this.cliAddrLen = addrLen;
    this.acceptDateMs = clock.dateMs;
    this.acceptMono = clock.nowMono;
    // Each channel knows the side it writes to (HAProxy: chn_cons()).
    this.req.cons = siB;
    this.res.cons = siF;
    // The client side starts established on the accepted fd (HAProxy: si_reset + EST).
    siF.state = siF.prevState = SI_ST_EST;
    const conn = siF.conn;
    conn.fd = conn.lastFd = cfd;
    conn.flags = CO_FL_ADDR_FROM_SET;
    conn.addr = addr;
    conn.addrLen = addrLen;
  }

  /** The client-side connection (for dst / dst_port). */
  clientConn(): Connection {
    return this.si[0].conn;
  }

  /** Milliseconds since accept (HAProxy: tv_ms_elapsed(&s->logs.tv_accept, &now)). */
  elapsed(): number {
    return Math.floor(clock.nowMono - this.acceptMono);
  }
}

/**
 * HAProxy: session_accept_fd() + session_new() + stream_new(). Build the stream for an accepted
 * fd and wake its task. Returns false when the stream could not be created (the caller closes).
 */
export function streamAccept(l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  sessionCountNew(listenerProxy(l));
  streamNew(l, cfd, addr, addrLen, null);
  return true;
}

/**
 * HAProxy: the counters of session_new(): one more frontend connection, one more job. Counted at
 * accept, before any handshake, so a connection still waiting for its PROXY header already holds
 * its slot and keeps a soft-stopping process alive (session_free() undoes it).
 */
export function sessionCountNew(fe: Proxy): void {
  fe.feconn++;
  fe.feCounters.cumConn++;
  if (fe.feconn > fe.feCounters.connMax) fe.feCounters.connMax = fe.feconn;
  // HAProxy: proxy_inc_fe_conn_ctr() + proxy_inc_fe_sess_ctr() (TCP mode: one session per connection).
  let n = updateFreqCtr(fe.feConnPerSec, 1);
  if (n > fe.feCounters.cpsMax) fe.feCounters.cpsMax = n;
  n = updateFreqCtr(fe.feSessPerSec, 1);
  if (n > fe.feCounters.spsMax) fe.feCounters.spsMax = n;
  counters.jobs++;
  counters.totalconn++;
}

/**
 * HAProxy: stream_new() (reached from conn_complete_session() once handshakes are done). Build the
 * stream for client fd <cfd> from <addr> and wake its task. <origin>, when set, is the connection
 * that ran the accept-proxy handshake: its fd is already registered, its addresses come from the
 * PROXY header, and the bytes read after the header become the request channel's first data.
 * <acceptDateMs>/<acceptMono> keep the accept time for logs (the handshake took some of it).
 */
export function streamNew(l: Listener, cfd: number, addr: Buffer, addrLen: number, origin: Connection | null,
  acceptDateMs = 0, acceptMono = 0): Stream {
  const fe = listenerProxy(l);
  const s = new Stream(fe, l, cfd, addr, addrLen);
  const req = s.req;
  const res = s.res;
  streams.add(s);
  s.stk = l4Tracked.stk;
  l4Tracked.stk = null;
  const ana = fe.rules !== null ? fe.rules.feReqAna : 0;
  // TCP mode without rules: no analysers, so the request channel connects and closes by itself.
  // HAProxy: stream_new(): channel_auto_connect/close only when the frontend has no analysers.
  if (ana === 0) req.flags |= CF_READ_ATTACHED | CF_AUTO_CONNECT | CF_AUTO_CLOSE;
  else {
    req.flags |= CF_READ_ATTACHED;
    s.reqAn = ana;
    s.be = fe;
  }
  res.flags |= CF_AUTO_CLOSE;
  req.rto = fe.cfg.timeouts.client;
  res.wto = fe.cfg.timeouts.client;
  req.wto = s.be.cfg.timeouts.server;
  res.rto = s.be.cfg.timeouts.server;
  s.si[0].hcto = fe.cfg.timeouts.clientFin;
  s.si[1].hcto = s.be.cfg.timeouts.serverFin;
  req.rex = TICK_ETERNITY;
  const conn = s.si[0].conn;
  if (origin === null) {
    // HAProxy: session_accept_fd(): register the fd, ready both ways (speculative I/O: the
    // request has often arrived with the connection), and want to read it at once.
    connCtrlInit(conn);
    connXprtWantRecv(conn);
  } else {
    // The fd keeps its polling state and cache entry; only its owner changes (HAProxy keeps the
    // same connection; hapoll's embryonic session had its own). It may still be readable: the next
    // pass reads into the request channel.
    s.acceptDateMs = acceptDateMs;
    s.acceptMono = acceptMono;
    conn.flags |= (origin.flags & (CO_FL_ADDR_TO_SET | CO_FL_RCVD_PROXY | CO_FL_XPRT_RD_ENA | CO_FL_XPRT_WR_ENA |
      CO_FL_CURR_RD_ENA | CO_FL_CURR_WR_ENA)) | CO_FL_CTRL_READY;
    conn.toAddr = origin.toAddr;
    conn.toAddrLen = origin.toAddrLen;
    fdtab.owner[cfd] = conn;
    const b = origin.hsBuf;
    origin.hsBuf = null;
    if (b !== null) {
      // The bytes after the header are the request's first input.
      req.buf = b;
      req.p = origin.hsHdrLen;
      req.i = origin.hsLen - origin.hsHdrLen;
      req.o = 0;
      if (req.i > 0) {
        req.total += req.i;
        req.flags |= CF_READ_PARTIAL;
      }
      req.releaseIfEmpty();
    }
  }
  // HAProxy: session_accept_fd() sets TCP_NODELAY on the client socket.
  if (l.family !== "unix") native.setsockoptInt(cfd, native.constants.IPPROTO_TCP, native.constants.TCP_NODELAY, 1);
  if (fe.cfg.options.clitcpka) native.setsockoptInt(cfd, native.constants.SOL_SOCKET, native.constants.SO_KEEPALIVE, 1);
  conn.flags |= CO_FL_CONNECTED;
  // HAProxy: stream_new(): the client side wants to read.
  csWantRecv(conn);
  if (ana === 0) streamSetBackend(s, s.be);
  if (streamHooks.onEvent !== null) streamHooks.onEvent(s, "accept");
  taskWakeup(s.task, TASK_WOKEN_INIT);
  return s;
}

/**
 * HAProxy: stream_set_backend(): the stream now belongs to backend <be> (counters, server-side
 * timeouts, the backend's own analysers).
 */
function streamSetBackend(s: Stream, be: Proxy): void {
  s.be = be;
  s.flags |= SF_BE_ASSIGNED;
  be.beconn++;
  be.beCounters.cumConn++;
  // HAProxy: proxy_inc_be_ctr() and the be_counters.conn_max update of stream_set_backend().
  if (be.beconn > be.beCounters.connMax) be.beCounters.connMax = be.beconn;
  const bsps = updateFreqCtr(be.beSessPerSec, 1);
  if (bsps > be.beCounters.spsMax) be.beCounters.spsMax = bsps;
  if (s.reqAn !== 0) {
    s.req.wto = be.cfg.timeouts.server;
    s.res.rto = be.cfg.timeouts.server;
    s.si[1].hcto = be.cfg.timeouts.serverFin;
    if (be.rules !== null && be !== s.fe) s.reqAn |= be.rules.beReqAna;
    else if (be.rules !== null) s.reqAn |= be.rules.beReqAna & AN_REQ_SRV_RULES;
  }
}

/**
 * The request analysers of HAProxy's process_stream() for TCP mode, in bit order. Returns when one
 * waits; clears them as they finish; a reject aborts both channels (HAProxy: channel_abort()).
 */
function runReqAnalysers(s: Stream): void {
  if (s.reqAn & AN_REQ_INSPECT_FE) {
    const r = tcpInspectRequest(s, s.fe);
    if (r === AN_REJECT) return streamReject(s, true);
    if (r !== AN_CONTINUE) return;
    s.reqAn &= ~AN_REQ_INSPECT_FE;
  }
  if (s.reqAn & AN_REQ_SWITCHING_RULES) {
    streamSetBackend(s, processSwitchingRules(s));
    s.reqAn &= ~AN_REQ_SWITCHING_RULES;
  }
  if (s.reqAn & AN_REQ_INSPECT_BE) {
    const r = tcpInspectRequest(s, s.be);
    if (r === AN_REJECT) return streamReject(s, true);
    if (r !== AN_CONTINUE) return;
    s.reqAn &= ~AN_REQ_INSPECT_BE;
  }
  if (s.reqAn & AN_REQ_SRV_RULES) {
    if (!(s.flags & SF_ASSIGNED)) {
      const srv = processServerRules(s);
      if (srv !== null) {
        s.flags |= SF_DIRECT | SF_ASSIGNED;
        s.target = srv;
      }
    }
    s.reqAn &= ~AN_REQ_SRV_RULES;
  }
  if (s.reqAn === 0) {
    s.reqAnExp = TICK_ETERNITY;
    s.req.flags |= CF_AUTO_CONNECT | CF_AUTO_CLOSE;
  }
}

/** The response analyser (tcp-response content rules). */
function runResAnalysers(s: Stream): void {
  const r = tcpInspectResponse(s);
  if (r === AN_REJECT) return streamReject(s, false);
  if (r === AN_CLOSE) {
    // HAProxy: ACT_TCP_CLOSE: the server side is closed, what was received is still forwarded.
    s.res.flags |= CF_SHUTR_NOW;
  } else if (r !== AN_CONTINUE) return;
  s.resAn = 0;
  s.resAnExp = TICK_ETERNITY;
}

/**
 * A content rule rejected the stream: both channels are aborted, nothing more is forwarded, the
 * stream ends with the PR termination state (HAProxy: channel_abort() x2, SF_ERR_PRXCOND,
 * SF_FINST_R for a request, SF_FINST_D for a response).
 */
function streamReject(s: Stream, request: boolean): void {
  const siF = s.si[0];
  const siB = s.si[1];
  s.reqAn = s.resAn = 0;
  s.reqAnExp = s.resAnExp = TICK_ETERNITY;
  s.req.flags &= ~CF_AUTO_CONNECT;
  if (!(s.flags & SF_ERR_MASK)) s.flags |= SF_ERR_PRXCOND;
  if (!(s.flags & SF_FINST_MASK)) s.flags |= request ? SF_FINST_R : SF_FINST_D;
  siShutr(siF);
  siShutw(siF);
  if (siB.state === SI_ST_INI) {
    siB.setState(SI_ST_CLO, "rejected before connect");
    s.req.flags |= CF_SHUTW;
    s.res.flags |= CF_SHUTR;
  } else {
    siShutr(siB);
    siShutw(siB);
  }
}

/** HAProxy: CF_READ_ATTACHED (kept local: only streamAccept sets it). */
const CF_READ_ATTACHED = 0x01000000;

/** HAProxy: stream_int_check_timeouts(). */
function siCheckTimeouts(si: StreamInterface, now: number): void {
  if (tickIsExpired(si.exp, now)) si.flags |= SI_FL_EXP;
}

/** HAProxy: sess_set_term_flags(). */
function sessSetTermFlags(s: Stream): void {
  if (s.flags & SF_FINST_MASK) return;
  const b = s.si[1];
  if (b.state < SI_ST_REQ) s.flags |= SF_FINST_R;
  else if (b.state === SI_ST_QUE) s.flags |= SF_FINST_Q;
  else if (b.state < SI_ST_EST) s.flags |= SF_FINST_C;
  else if (b.state === SI_ST_EST || b.prevState === SI_ST_EST) s.flags |= SF_FINST_D;
  else s.flags |= SF_FINST_L;
}


/** HAProxy: sess_establish(): the server connection is up. */
function sessEstablish(s: Stream): void {
  const si = s.si[1];
  const req = s.req;
  const res = s.res;
  s.tConnect = s.elapsed();
  si.exp = TICK_ETERNITY;
  res.flags |= CF_READ_ATTACHED;
  // HAProxy: sess_establish(): the response analysers of the backend.
  if (s.be.rules !== null && s.be.rules.beResAna) s.resAn = AN_RES_INSPECT;
  req.wto = s.be.cfg.timeouts.server;
  res.rto = s.be.cfg.timeouts.server;
  req.wex = TICK_ETERNITY;
  const tunnel = s.be.cfg.timeouts.tunnel;
  if (tunnel) {
    // HAProxy: once both channels forward forever, `timeout tunnel` replaces client/server.
    req.rto = req.wto = res.rto = res.wto = tunnel;
    const now = clock.nowMs;
    if (tickIsSet(req.rex)) req.rex = tickAdd(now, req.rto);
    if (tickIsSet(res.wex)) res.wex = tickAdd(now, res.wto);
  }
  if (streamHooks.onEvent !== null) streamHooks.onEvent(s, "established");
}


/**
 * HAProxy's splice decision: splice a channel when both ends are connections, pipes are left, and
 * `option splice-request`/`splice-response` asks for it, or `option splice-auto` and the channel
 * was seen streaming fast.
 */
function streamSpliceDecide(s: Stream): void {
  if (s.si[0].state !== SI_ST_EST || s.si[1].state !== SI_ST_EST) return;
  const fo = s.fe.cfg.options;
  const bo = s.be.cfg.options;
  const req = s.req;
  const res = s.res;
  if (req.spliceMode === 0) req.spliceMode = fo.spliceRequest || bo.spliceRequest ? 1 : fo.spliceAuto || bo.spliceAuto ? 2 : -1;
  if (res.spliceMode === 0) res.spliceMode = fo.spliceResponse || bo.spliceResponse ? 1 : fo.spliceAuto || bo.spliceAuto ? 2 : -1;
  if (pipesInUse() >= global.maxpipes) return;
  if (!(req.flags & (CF_KERN_SPLICING | CF_SHUTR)) &&
      (req.spliceMode === 1 || (req.spliceMode === 2 && (req.flags & CF_STREAMER_FAST)))) {
    req.flags |= CF_KERN_SPLICING;
  }
  if (!(res.flags & (CF_KERN_SPLICING | CF_SHUTR)) &&
      (res.spliceMode === 1 || (res.spliceMode === 2 && (res.flags & CF_STREAMER_FAST)))) {
    res.flags |= CF_KERN_SPLICING;
  }
}

/** The stream's expiry from its channels and interfaces (the tail of process_stream). */
function streamComputeExpire(s: Stream): number {
  const t = s.task;
  const now = clock.nowMs;
  return streamTimersExpire(s, tickIsExpired(t.expire, now) ? TICK_ETERNITY : t.expire);
}

/**
 * HAProxy: process_stream(). The stream's task handler. Returns the task to keep it, or null once
 * the stream is freed.
 */
export function processStream(t: Task): Task | null {
  const s = t.context as Stream;
  const req = s.req;
  const res = s.res;
  const siF = s.si[0];
  const siB = s.si[1];
  const now = clock.nowMs;

  req.flags &= ~CF_READ_NOEXP;
  res.flags &= ~CF_READ_NOEXP;
  siF.flags |= SI_FL_DONT_WAKE;
  siB.flags |= SI_FL_DONT_WAKE;
  s.pendingEvents |= t.state & TASK_WOKEN_ANY;

  if (s.pendingEvents & TASK_WOKEN_TIMER) {
    siCheckTimeouts(siF, now);
    siCheckTimeouts(siB, now);
    req.checkTimeouts(now);
    if ((req.flags & (CF_SHUTW | CF_WRITE_TIMEOUT)) === CF_WRITE_TIMEOUT) {
      siB.flags |= SI_FL_NOLINGER;
      siShutw(siB);
    }
    if ((req.flags & (CF_SHUTR | CF_READ_TIMEOUT)) === CF_READ_TIMEOUT) siShutr(siF);
    res.checkTimeouts(now);
    if ((res.flags & (CF_SHUTW | CF_WRITE_TIMEOUT)) === CF_WRITE_TIMEOUT) {
      siF.flags |= SI_FL_NOLINGER;
      siShutw(siF);
    }
    if ((res.flags & (CF_SHUTR | CF_READ_TIMEOUT)) === CF_READ_TIMEOUT) siShutr(siB);
    if (!((req.flags | res.flags) & (CF_SHUTR | CF_READ_ACTIVITY | CF_READ_TIMEOUT | CF_SHUTW |
          CF_WRITE_ACTIVITY | CF_WRITE_EVENT | CF_WRITE_TIMEOUT)) &&
        !((siF.flags | siB.flags) & (SI_FL_EXP | SI_FL_ERR)) &&
        (s.reqAn | s.resAn) === 0 &&
        (s.pendingEvents & TASK_WOKEN_ANY) === TASK_WOKEN_TIMER) {
      // A timer fired early (lazy queueing): nothing to do but re-arm.
      siF.flags &= ~SI_FL_DONT_WAKE;
      siB.flags &= ~SI_FL_DONT_WAKE;
      return updateExpAndLeave(s);
    }
  }

  if (siF.flags & SI_FL_ERR) {
    if (siF.state === SI_ST_EST || siF.state === SI_ST_DIS) {
      siShutr(siF);
      siShutw(siF);
      s.be.beCounters.cliAborts++;
      s.fe.feCounters.cliAborts++;
      if (s.target) s.target.counters.cliAborts++;
      if (!(s.flags & SF_ERR_MASK)) s.flags |= SF_ERR_CLICL;
      if (!(s.flags & SF_FINST_MASK)) s.flags |= SF_FINST_D;
    }
  }
  if (siB.flags & SI_FL_ERR) {
    if (siB.state === SI_ST_EST || siB.state === SI_ST_DIS) {
      siShutr(siB);
      siShutw(siB);
      s.be.beCounters.srvAborts++;
      s.fe.feCounters.srvAborts++;
      if (s.target) s.target.counters.srvAborts++;
      if (!(s.flags & SF_ERR_MASK)) s.flags |= SF_ERR_SRVCL;
      if (!(s.flags & SF_FINST_MASK)) s.flags |= SF_FINST_D;
    }
  }

  if (siB.state === SI_ST_CON) {
    if (!sessUpdateStConTcp(s)) sessUpdateStCer(s);
    else if ((siB.state as number) === SI_ST_EST) sessEstablish(s);
  }

  // The loop below is HAProxy's resync_stream_interface / resync_request / resync_response, reduced
  // to what TCP mode (no analysers) needs; it repeats until no state or flag changes.
  for (let loops = 0; loops < 100; loops++) {
    if (siF.state === SI_ST_DIS) siF.setState(SI_ST_CLO, "disconnected");
    if (siB.state === SI_ST_DIS) {
      siB.setState(SI_ST_CLO, "disconnected");
      sessReleaseServer(s);
    }
    const rqf = req.flags;
    const rpf = res.flags;
    const stF = siF.state;
    const stB = siB.state;

    // Errors and timeouts become termination flags once.
    if (!(s.flags & SF_ERR_MASK)) {
      if (req.flags & (CF_READ_ERROR | CF_READ_TIMEOUT | CF_WRITE_ERROR | CF_WRITE_TIMEOUT)) {
        if (req.flags & CF_READ_ERROR) { s.flags |= SF_ERR_CLICL; s.fe.feCounters.cliAborts++; }
        else if (req.flags & CF_READ_TIMEOUT) { s.flags |= SF_ERR_CLITO; s.fe.feCounters.cliAborts++; }
        else if (req.flags & CF_WRITE_ERROR) { s.flags |= SF_ERR_SRVCL; s.be.beCounters.srvAborts++; }
        else { s.flags |= SF_ERR_SRVTO; s.be.beCounters.srvAborts++; }
        sessSetTermFlags(s);
      } else if (res.flags & (CF_READ_ERROR | CF_READ_TIMEOUT | CF_WRITE_ERROR | CF_WRITE_TIMEOUT)) {
        if (res.flags & CF_READ_ERROR) { s.flags |= SF_ERR_SRVCL; s.be.beCounters.srvAborts++; }
        else if (res.flags & CF_READ_TIMEOUT) { s.flags |= SF_ERR_SRVTO; s.be.beCounters.srvAborts++; }
        else if (res.flags & CF_WRITE_ERROR) { s.flags |= SF_ERR_CLICL; s.fe.feCounters.cliAborts++; }
        else { s.flags |= SF_ERR_CLITO; s.fe.feCounters.cliAborts++; }
        sessSetTermFlags(s);
      }
    }

    // Request analysers (tcp-request content rules, switching and server rules) run first.
    if (s.reqAn !== 0 && siF.state >= SI_ST_EST) runReqAnalysers(s);

    // No analyser left in TCP mode: once the client side is up, everything is forwarded, what was
    // read before included (HAProxy: buffer_flush() + channel_forward_forever()).
    if (s.reqAn === 0 && !(req.flags & (CF_SHUTW | CF_SHUTR_NOW)) && siF.state >= SI_ST_EST && req.toForward !== CHN_INFINITE_FORWARD) {
      req.flush();
      if (!(req.flags & (CF_SHUTR | CF_SHUTW_NOW))) req.forwardForever();
    }

    // Request side: a client FIN becomes a pending shutw toward the server, done once flushed.
    if ((req.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_AUTO_CLOSE | CF_SHUTR)) === (CF_AUTO_CLOSE | CF_SHUTR)) {
      req.shutwNow();
    }
    if ((req.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW && req.isEmpty() && siB.state >= SI_ST_EST) {
      if (req.flags & CF_READ_ERROR) siB.flags |= SI_FL_NOLINGER;
      siShutw(siB);
    }
    if ((req.flags & (CF_SHUTW | CF_SHUTR | CF_SHUTR_NOW)) === CF_SHUTW) req.shutrNow();
    if ((req.flags & (CF_SHUTR | CF_SHUTR_NOW)) === CF_SHUTR_NOW) siShutr(siF);

    // Server side connection setup.
    if (siB.state === SI_ST_INI) {
      if (!(req.flags & CF_SHUTW)) {
        if ((req.flags & CF_AUTO_CONNECT) || !req.isEmpty()) {
          siB.setState(SI_ST_REQ, "auto-connect");
          siB.connRetries = s.be.cfg.retries;
        }
      } else {
        siReleaseEndpoint(siB);
        siB.setState(SI_ST_CLO, "shutw before connect");
        req.shutwNow();
        res.shutrNow();
      }
    }
    if (siB.state >= SI_ST_REQ && siB.state < SI_ST_CON) {
      do {
        if (siB.state !== SI_ST_REQ) sessUpdateStreamInt(s);
        if (siB.state === SI_ST_REQ) sessPrepareConnReq(s);
        if (siB.state === SI_ST_EST) sessEstablish(s);
      } while (siB.state === SI_ST_ASS);
    }
    if (siF.state === SI_ST_DIS || siB.state === SI_ST_DIS) continue;

    // Kernel splicing (HAProxy: the CF_KERN_SPLICING decisions of process_stream).
    if (global.splice) streamSpliceDecide(s);

    // Response side: mirror of the request side, forwarding included.
    if (s.resAn !== 0 && siB.state >= SI_ST_EST) runResAnalysers(s);
    if (s.resAn === 0 && !(res.flags & (CF_SHUTW | CF_SHUTR_NOW)) && siB.state >= SI_ST_EST && res.toForward !== CHN_INFINITE_FORWARD) {
      res.flush();
      if (!(res.flags & (CF_SHUTR | CF_SHUTW_NOW))) res.forwardForever();
    }
    if ((res.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_AUTO_CLOSE | CF_SHUTR)) === (CF_AUTO_CLOSE | CF_SHUTR)) {
      res.shutwNow();
    }
    if ((res.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW && res.isEmpty()) siShutw(siF);
    if ((res.flags & (CF_SHUTW | CF_SHUTR | CF_SHUTR_NOW)) === CF_SHUTW) res.shutrNow();
    if ((res.flags & (CF_SHUTR | CF_SHUTR_NOW)) === CF_SHUTR_NOW) siShutr(siB);

    if (siF.state === SI_ST_DIS || siB.state === SI_ST_DIS) continue;
    if (req.flags === rqf && res.flags === rpf && siF.state === stF && siB.state === stB) break;
  }

  siF.flags &= ~SI_FL_DONT_WAKE;
  siB.flags &= ~SI_FL_DONT_WAKE;

  if (siF.state !== SI_ST_CLO || (siB.state > SI_ST_INI && siB.state < SI_ST_CLO)) {
    // Debug lines, as HAProxy prints them with -d.
    if (streamHooks.onEvent !== null) {
      if (siB.state === SI_ST_CLO && siB.prevState === SI_ST_EST) streamHooks.onEvent(s, "srvcls");
      if (siF.state === SI_ST_CLO && siF.prevState === SI_ST_EST) streamHooks.onEvent(s, "clicls");
    }
    if (siF.state === SI_ST_EST) siUpdate(siF);
    if (siB.state === SI_ST_EST) siUpdate(siB);
    const clr = ~(CF_READ_NULL | CF_READ_PARTIAL | CF_WRITE_NULL | CF_WRITE_PARTIAL | CF_READ_ATTACHED | CF_WRITE_EVENT);
    req.flags &= clr;
    res.flags &= clr;
    siF.prevState = siF.state;
    siB.prevState = siB.state;
    siF.flags &= ~(SI_FL_ERR | SI_FL_EXP);
    siB.flags &= ~(SI_FL_ERR | SI_FL_EXP);
    // HAProxy: when the response cannot end (no auto-close, no shutr) and a write or response read
    // timer runs, the request's read timer is suspended.
    if ((res.flags & (CF_AUTO_CLOSE | CF_SHUTR)) === 0 && (tickIsSet(req.wex) || tickIsSet(res.rex))) {
      req.flags |= CF_READ_NOEXP;
      req.rex = TICK_ETERNITY;
    }
    s.pendingEvents = 0;
    // Give back empty buffers (HAProxy: stream_release_buffers()).
    req.releaseIfEmpty();
    res.releaseIfEmpty();
    return updateExpAndLeave(s);
  }

  // Both sides closed: log and free.
  if (streamHooks.onEvent !== null) {
    if (siB.prevState === SI_ST_EST) streamHooks.onEvent(s, "srvcls");
    if (siF.prevState === SI_ST_EST) streamHooks.onEvent(s, "clicls");
    streamHooks.onEvent(s, "closed");
  }
  // HAProxy: beconn drops before the log line, so %bc does not count the stream being logged.
  if (s.flags & SF_BE_ASSIGNED) {
    s.flags &= ~SF_BE_ASSIGNED;
    s.be.beconn--;
  }
  s.tClose = s.elapsed();
  sendStreamLog(s);
  streamUpdateTimeStats(s);
  streamFree(s);
  taskDelete(t);
  taskFree(t);
  return null;
}

function updateExpAndLeave(s: Stream): Task {
  const t = s.task;
  t.expire = streamComputeExpire(s);
  s.pendingEvents &= ~TASK_WOKEN_TIMER;
  return t;
}

/** HAProxy: stream_free() + session_free(): close what is left, release counters and slots. */
export function streamFree(s: Stream): void {
  const siF = s.si[0];
  const siB = s.si[1];
  siReleaseEndpoint(siF);
  siReleaseEndpoint(siB);
  pendconnFree(s);
  sessReleaseServer(s);
  s.req.erase();
  s.res.erase();
  s.fe.feCounters.bytesIn += s.req.total;
  s.fe.feCounters.bytesOut += s.res.total;
  s.be.beCounters.bytesIn += s.req.total;
  s.be.beCounters.bytesOut += s.res.total;
  if (s.target) {
    s.target.counters.bytesIn += s.req.total;
    s.target.counters.bytesOut += s.res.total;
  }
  if (s.flags & SF_BE_ASSIGNED) s.be.beconn--;
  if (s.stk !== null) releaseStk(s.stk, s.req.total, s.res.total);
  streams.delete(s);
  s.fe.feconn--;
  counters.jobs--;
  listenerRelease(s.listener);
}

/**
 * HAProxy: stream_update_time_stats(). Feed the queue / connect / data / total times of a finished
 * stream that reached a server into the sliding averages of `show stat` (qtime, ctime, rtime,
 * ttime). In TCP mode the data time is the connect time, so rtime stays 0, as in HAProxy.
 */
function streamUpdateTimeStats(s: Stream): void {
  const tConnect = s.tConnect;
  if (tConnect < 0) return;
  const tQueue = s.tQueue < 0 ? 0 : s.tQueue;
  const q = tQueue;
  const c = tConnect - tQueue;
  const d = 0;
  const t = s.tClose;
  const srv = s.target;
  if (srv) {
    srv.counters.qTime = swrateAdd(srv.counters.qTime, TIME_STATS_SAMPLES, q);
    srv.counters.cTime = swrateAdd(srv.counters.cTime, TIME_STATS_SAMPLES, c);
    srv.counters.dTime = swrateAdd(srv.counters.dTime, TIME_STATS_SAMPLES, d);
    srv.counters.tTime = swrateAdd(srv.counters.tTime, TIME_STATS_SAMPLES, t);
  }
  const be = s.be;
  be.beCounters.qTime = swrateAdd(be.beCounters.qTime, TIME_STATS_SAMPLES, q);
  be.beCounters.cTime = swrateAdd(be.beCounters.cTime, TIME_STATS_SAMPLES, c);
  be.beCounters.dTime = swrateAdd(be.beCounters.dTime, TIME_STATS_SAMPLES, d);
  be.beCounters.tTime = swrateAdd(be.beCounters.tTime, TIME_STATS_SAMPLES, t);
}

/** Kill a stream now (SIGTERM-like `shutdown session`, hard stop): both sides shut. */
export function streamShutdown(s: Stream, why: number): void {
  const siF = s.si[0];
  const siB = s.si[1];
  if (siF.state >= SI_ST_CLO && siB.state >= SI_ST_CLO) return;
  if (!(s.flags & SF_ERR_MASK)) s.flags |= why;
  siShutw(siF);
  siShutr(siF);
  siShutw(siB);
  siShutr(siB);
  sessSetTermFlags(s);
  if (!(s.task.state & TASK_RUNNING)) taskWakeup(s.task, 0x80 /* TASK_WOKEN_OTHER */);
}

/** Shut every live stream down with <why> (hard-stop-after, `shutdown sessions`). */
export function streamShutdownAll(why: number): void {
  for (const s of [...streams]) streamShutdown(s, why);
}
