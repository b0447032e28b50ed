/**
 * Server selection and the server connection. HAProxy 1.8: src/backend.c (recount_servers,
 * update_backend_weight, assign_server, assign_server_and_queue, srv_redispatch_connect,
 * connect_server, set_backend_down) and sess_change_server() of src/stream.c. The algorithms live
 * in lb_fwrr.ts (roundrobin), lb_map.ts (static-rr, source), lb_fwlc.ts (leastconn), lb_fas.ts
 * (first); the queues in queue.ts.
 *
 * Two counters per server, as in HAProxy: `served` counts streams holding a connection slot (taken
 * when the server is assigned and has room, or when a queued stream is handed a freed slot), which
 * is what maxconn limits; `curSess` counts streams with a connection to it (from connect() until
 * the connection fails or closes).
 */
import { native, C } from "../native";
import { clock } from "../core/clock";
import { tickAddIfSet, TICK_ETERNITY, tickAdd } from "../core/ticks";
import {
  SF_ERR_NONE, SF_ERR_INTERNAL, SF_ADDR_SET, SF_ASSIGNED, SF_CURR_SESS, SF_DIRECT, SF_FORCE_PRST, SF_REDISP,
  SF_ERR_CLICL, SF_ERR_MASK, SF_ERR_RESOURCE, SF_ERR_SRVCL, SF_ERR_SRVTO, SF_FINST_C, SF_FINST_MASK, SF_FINST_Q,
} from "../types/stream-t";
import { tcpConnectServer, CO_ER_CANT_BIND } from "../net/proto_tcp";
import { connGetToAddr } from "../net/connection";
import { logAlertLine, sendProxyLog, LOG_EMERG } from "../core/log";
import { fwrrGetNextServer, fwrrInitServerGroups } from "./lb_fwrr";
import { fwlcInitServerTree, treeGetNextServer } from "./lb_fwlc";
import { fasGetNextServer, fasInitServerTree } from "./lb_fas";
import { getServerSh, initServerMap, mapGetServerRr } from "./lb_map";
import { mayDequeueTasks, pendconnAdd, processSrvQueue, srvDynamicMaxconn, pendconnFree } from "./queue";
import { type Proxy } from "./proxy";
import { type Server, srvIncSessCtr, srvSetSessLast, SRV_ST_RUNNING, nowSec } from "./server";
import type { Stream } from "./stream";
import {
  SI_ET_CONN_ERR, SI_ET_CONN_OTHER, SI_ET_QUEUE_ERR, SI_ST_QUE, SI_ET_CONN_ABRT, SI_ET_CONN_RES, SI_ET_CONN_TO,
  SI_ET_DATA_ERR, SI_ET_NONE, SI_ET_QUEUE_ABRT, SI_ET_QUEUE_TO, SI_FL_ERR, SI_FL_EXP, SI_ST_ASS, SI_ST_CER,
  SI_ST_CLO, SI_ST_CON, SI_ST_EST, SI_ST_REQ, SI_ST_TAR, type StreamInterface, siReleaseEndpoint, siShutr, siShutw,
} from "./stream_interface";
import { sessChangeServer } from "./lb";
import { CF_READ_ERROR, CF_SHUTW, CF_SHUTW_NOW, CF_WRITE_ACTIVITY, CF_WRITE_ERROR, CF_WRITE_EVENT, CF_WRITE_TIMEOUT, CF_WROTE_DATA } from "./channel";

/** HAProxy: SRV_STATUS_* results of assign_server() / assign_server_and_queue(). */
export const SRV_STATUS_OK = 0;
export const SRV_STATUS_FULL = 1;
export const SRV_STATUS_NOSRV = 2;
export const SRV_STATUS_QUEUED = 3;
export const SRV_STATUS_INTERNAL = 4;

/**
 * Build <be>'s load-balancing state for its algorithm, once. HAProxy does it in
 * check_config_validity() (fwrr_init_server_groups, init_server_map, fwlc_init_server_tree,
 * fas_init_server_tree).
 */
export function lbInit(be: Proxy): void {
  if (be.lbprm.ready) return;
  be.lbprm.ready = true;
  switch (be.cfg.balance) {
    case "static-rr":
    case "source":
      initServerMap(be);
      break;
    case "leastconn":
      fwlcInitServerTree(be);
      break;
    case "first":
      fasInitServerTree(be);
      break;
    default:
      fwrrInitServerGroups(be);
      break;
  }
}

/**
 * HAProxy: assign_server(). Pick a server for <s> with the backend's algorithm, avoiding the one it
 * had (a retry after a failure) when another is available. Returns SRV_STATUS_OK (SF_ASSIGNED set),
 * NOSRV (no usable server), FULL (all saturated) or INTERNAL.
 */
export function assignServer(s: Stream): number {
  if (s.pendList !== null || (s.flags & SF_ASSIGNED)) return SRV_STATUS_INTERNAL;
  const be = s.be;
  const prevSrv = s.target;
  const connSlot = s.srvConn;
  // Give back our slot first, or the algorithm could find no room.
  if (connSlot !== null) sessChangeServer(s, null);
  let srv: Server | null = null;
  let err: number;
  s.target = null;
  lbInit(be);
  if (!be.lbprm.totWeight) {
    err = SRV_STATUS_NOSRV;
  } else {
    switch (be.cfg.balance) {
      case "first":
        srv = fasGetNextServer(be, prevSrv);
        break;
      case "leastconn":
        srv = treeGetNextServer(be, prevSrv);
        break;
      case "static-rr":
        srv = mapGetServerRr(be, prevSrv);
        break;
      case "source": {
        // HAProxy hashes the IPv4 or IPv6 address; other families (unix) fall back to round robin.
        const fam = sockaddrFamily(s.cliAddr);
        if (fam === 4) srv = getServerSh(be, s.cliAddr, 4, 4);
        else if (fam === 6) srv = getServerSh(be, s.cliAddr, 8, 16);
        if (srv === null) srv = mapGetServerRr(be, prevSrv);
        break;
      }
      default:
        srv = fwrrGetNextServer(be, prevSrv);
        break;
    }
    if (srv === null) {
      err = SRV_STATUS_FULL;
    } else {
      if (srv !== prevSrv) {
        be.beCounters.cumLbconn++;
        srv.counters.cumLbconn++;
      }
      s.target = srv;
      s.flags |= SF_ASSIGNED;
      err = SRV_STATUS_OK;
    }
  }
  // Take our slot back, or offer it to whoever waits for it.
  if (connSlot !== null) {
    if (connSlot === srv) sessChangeServer(s, srv);
    else if (mayDequeueTasks(connSlot, be)) processSrvQueue(connSlot);
  }
  return err;
}

/**
 * The first two bytes of a sockaddr_in / sockaddr_in6 on this platform (the family, preceded by
 * the length on BSD systems), to tell an accepted address's family without decoding it.
 */
const SA_HEAD_V4 = sockaddrHead("ipv4", "127.0.0.1");
const SA_HEAD_V6 = sockaddrHead("ipv6", "::1");

function sockaddrHead(family: string, host: string): number {
  const b = Buffer.alloc(C.SOCKADDR_MAX);
  return native.sockaddrFrom(family, host, 0, b) > 0 ? b.readUInt16LE(0) : -1;
}

/** 4 for an IPv4 sockaddr, 6 for IPv6, 0 otherwise (unix). */
function sockaddrFamily(sa: Buffer): number {
  const h = sa.readUInt16LE(0);
  return h === SA_HEAD_V4 ? 4 : h === SA_HEAD_V6 ? 6 : 0;
}

/**
 * HAProxy: assign_server_and_queue(). Assign a server if needed, then take a slot on it, or queue
 * the stream: on the server when it is full (FULL when its maxqueue is reached too), on the
 * backend when every server is saturated. Returns SRV_STATUS_*.
 */
export function assignServerAndQueue(s: Stream): number {
  if (s.pendList !== null) return SRV_STATUS_INTERNAL;
  const be = s.be;
  let err = SRV_STATUS_OK;
  if (!(s.flags & SF_ASSIGNED)) {
    const prevSrv = s.target;
    err = assignServer(s);
    if (prevSrv !== null) {
      if (prevSrv !== s.target) {
        s.flags |= SF_REDISP;
        prevSrv.counters.redispatches++;
        be.beCounters.redispatches++;
      } else {
        prevSrv.counters.retries++;
        be.beCounters.retries++;
      }
    }
  }
  switch (err) {
    case SRV_STATUS_OK: {
      const srv = s.target;
      if (srv === null) return SRV_STATUS_OK;
      if (s.srvConn === srv) return SRV_STATUS_OK;
      if (srv.maxconn && (srv.nbpend || srv.served >= srvDynamicMaxconn(srv))) {
        if (srv.maxqueue > 0 && srv.nbpend >= srv.maxqueue) return SRV_STATUS_FULL;
        pendconnAdd(s);
        return SRV_STATUS_QUEUED;
      }
      sessChangeServer(s, srv);
      return SRV_STATUS_OK;
    }
    case SRV_STATUS_FULL:
      pendconnAdd(s);
      return SRV_STATUS_QUEUED;
    case SRV_STATUS_NOSRV:
      return SRV_STATUS_NOSRV;
    default:
      return SRV_STATUS_INTERNAL;
  }
}

/**
 * HAProxy: srv_redispatch_connect(). Get <s> a server and a slot. Returns 0 when it has both, 1
 * otherwise: queued (the server side is then in QUE, expiring after `timeout queue`, which
 * defaults to `timeout connect`) or failed (si->err_type says why).
 */
export function srvRedispatchConnect(s: Stream): number {
  const si = s.si[1];
  const be = s.be;
  for (;;) {
    const err = assignServerAndQueue(s);
    const srv = s.target;
    switch (err) {
      case SRV_STATUS_OK:
        return 0;
      case SRV_STATUS_FULL:
        // The server's queue is full. Only a persistent (direct) assignment may go elsewhere.
        if ((s.flags & (SF_DIRECT | SF_FORCE_PRST)) === SF_DIRECT && be.cfg.options.redispatch) {
          s.flags &= ~(SF_DIRECT | SF_ASSIGNED | SF_ADDR_SET);
          continue;
        }
        if (!si.errType) si.errType = SI_ET_QUEUE_ERR;
        if (srv !== null) srv.counters.failedConns++;
        be.beCounters.failedConns++;
        return 1;
      case SRV_STATUS_NOSRV:
        if (!si.errType) si.errType = SI_ET_CONN_ERR;
        be.beCounters.failedConns++;
        return 1;
      case SRV_STATUS_QUEUED:
        si.exp = tickAddIfSet(clock.nowMs, be.cfg.timeouts.queue || be.cfg.timeouts.connect);
        si.setState(SI_ST_QUE, "queued");
        return 1;
      default:
        if (!si.errType) si.errType = SI_ET_CONN_OTHER;
        if (srv !== null) {
          srvIncSessCtr(srv);
          srvSetSessLast(srv);
          srv.counters.failedConns++;
        }
        be.beCounters.failedConns++;
        if (mayDequeueTasks(srv, be)) processSrvQueue(srv!);
        return 1;
    }
  }
}

/**
 * HAProxy: connect_server(). Open the server connection of <s> (the server is assigned). Returns
 * SF_ERR_NONE or the SF_ERR_* of the failure. On success the stream counts in the server's
 * cur_sess.
 */
export function connectServer(s: Stream): number {
  const srv = s.target;
  if (srv === null) return SF_ERR_INTERNAL;
  const conn = s.si[1].conn;
  // HAProxy: a new connection for each attempt (conn_init()).
  conn.fd = -1;
  conn.flags = 0;
  conn.csFlags = 0;
  conn.errno = 0;
  conn.addr = srv.addr;
  conn.addrLen = srv.addrLen;
  // The server expects a PROXY header first (send-proxy / send-proxy-v2; v2 wins when both are
  // set, as in HAProxy): it describes the client connection, whose destination is read now.
  conn.sendProxyOfs = 0;
  conn.ppRemote = null;
  if (srv.cfg.sendProxy || srv.cfg.sendProxyV2) {
    const cli = s.si[0].conn;
    conn.sendProxyOfs = 1;
    conn.ppVersion = srv.cfg.sendProxyV2 ? 2 : 1;
    conn.ppRemote = cli;
    connGetToAddr(cli);
  }
  // HAProxy: si_connect(): the data layer wants to write at once when the request has data.
  // HAProxy: the server's `source`, else the backend's, is bound before connect().
  const src = srv.connSrc ?? s.be.connSrc;
  const r = tcpConnectServer(conn, srv.cfg.addr.family, s.be.cfg.options.srvtcpka, !s.req.isEmpty(), 0, src);
  if (r !== SF_ERR_NONE) {
    if (conn.errCode === CO_ER_CANT_BIND) {
      logAlertLine(`Cannot bind to source address before connect() for backend ${s.be.id}. Aborting.`);
      sendProxyLog(s.be, LOG_EMERG, `Cannot bind to source address before connect() for backend ${s.be.id}.`);
    }
    return r;
  }
  s.flags &= ~SF_DIRECT;
  s.flags |= SF_CURR_SESS;
  if (++srv.curSess > srv.counters.curSessMax) srv.counters.curSessMax = srv.curSess;
  const take = s.be.lbprm.serverTakeConn;
  if (take !== null) take(srv);
  return SF_ERR_NONE;
}

/* ------------------------------------------------------------------------------------------- */
/* The server side of a stream, from a connection request to an established connection.        */
/* HAProxy 1.8 keeps these in src/stream.c (sess_update_st_*); 2.x moved them to backend.c      */
/* (back_handle_st_*), beside the connect they drive.                                           */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: default_srv_error(): turn the server side's error type into termination flags. */
export function defaultSrvError(s: Stream, si: StreamInterface): void {
  const e = si.errType;
  let err: number;
  let fin: number;
  if (e & SI_ET_QUEUE_ABRT) { err = SF_ERR_CLICL; fin = SF_FINST_Q; }
  else if (e & SI_ET_CONN_ABRT) { err = SF_ERR_CLICL; fin = SF_FINST_C; }
  else if (e & SI_ET_QUEUE_TO) { err = SF_ERR_SRVTO; fin = SF_FINST_Q; }
  else if (e & SI_ET_QUEUE_ERR) { err = SF_ERR_SRVCL; fin = SF_FINST_Q; }
  else if (e & SI_ET_CONN_TO) { err = SF_ERR_SRVTO; fin = SF_FINST_C; }
  else if (e & SI_ET_CONN_ERR) { err = SF_ERR_SRVCL; fin = SF_FINST_C; }
  else if (e & SI_ET_CONN_RES) { err = SF_ERR_RESOURCE; fin = SF_FINST_C; }
  else { err = SF_ERR_INTERNAL; fin = SF_FINST_C; }
  if (!(s.flags & SF_ERR_MASK)) s.flags |= err;
  if (!(s.flags & SF_FINST_MASK)) s.flags |= fin;
}

/**
 * HAProxy: the DIS bookkeeping of process_stream(): the server connection is gone, so the stream
 * leaves the server's cur_sess, gives back its slot, and the slot goes to a queued stream.
 */
export function sessReleaseServer(s: Stream): void {
  const srv = s.target;
  if (srv === null) return;
  if (s.flags & SF_CURR_SESS) {
    s.flags &= ~SF_CURR_SESS;
    srv.curSess--;
  }
  sessChangeServer(s, null);
  if (mayDequeueTasks(srv, s.be)) processSrvQueue(srv);
}

/**
 * HAProxy: sess_update_st_con_tcp(). The server side is connecting: a timeout or error turns it
 * into CER; a client that gave up before anything was written aborts it; write activity means the
 * connection is established. Returns false when the caller must handle CER.
 */
export function sessUpdateStConTcp(s: Stream): boolean {
  const si = s.si[1];
  const req = s.req;
  const res = s.res;
  if (si.flags & (SI_FL_EXP | SI_FL_ERR)) {
    if (req.flags & CF_WROTE_DATA) {
      // Data went out: the connection worked, the error is a data error.
      si.setState(SI_ST_EST, "error after data was sent");
      si.errType = SI_ET_DATA_ERR;
      res.flags |= CF_READ_ERROR | CF_WRITE_ERROR;
      return true;
    }
    si.exp = TICK_ETERNITY;
    si.setState(SI_ST_CER, si.flags & SI_FL_ERR ? "connect error" : "connect timeout");
    siReleaseEndpoint(si);
    if (si.errType) return false;
    si.errType = si.flags & SI_FL_ERR ? SI_ET_CONN_ERR : SI_ET_CONN_TO;
    return false;
  }
  if (!(req.flags & CF_WROTE_DATA) &&
      ((res.flags & CF_SHUTW) ||
       ((req.flags & CF_SHUTW_NOW) &&
        ((!(req.flags & (CF_WRITE_ACTIVITY | CF_WRITE_EVENT)) && req.isEmpty()) || s.be.cfg.options.abortonclose)))) {
    siShutw(si);
    si.errType |= SI_ET_CONN_ABRT;
    defaultSrvError(s, si);
    return true;
  }
  if (!(req.flags & (CF_WRITE_ACTIVITY | CF_WRITE_EVENT))) return true;
  si.setState(SI_ST_EST, "connected");
  si.errType = SI_ET_NONE;
  return true;
}

/**
 * HAProxy: sess_update_st_cer(). A connection attempt failed: retry (same server, or another with
 * redispatch) after a turn-around delay, or give up when retries are exhausted.
 */
export function sessUpdateStCer(s: Stream): void {
  const si = s.si[1];
  const be = s.be;
  const srv = s.target;
  if (srv !== null && (s.flags & SF_CURR_SESS)) {
    s.flags &= ~SF_CURR_SESS;
    srv.curSess--;
  }
  si.connRetries--;
  if (si.connRetries < 0) {
    if (!si.errType) si.errType = SI_ET_CONN_ERR;
    if (srv !== null) srv.counters.failedConns++;
    be.beCounters.failedConns++;
    sessChangeServer(s, null);
    if (mayDequeueTasks(srv, be)) processSrvQueue(srv!);
    siShutw(si);
    s.req.flags |= CF_WRITE_ERROR;
    s.res.flags |= CF_READ_ERROR;
    si.setState(SI_ST_CLO, "retries exhausted");
    defaultSrvError(s, si);
    return;
  }
  // Redispatch (option redispatch): when the server is down, on every <redispatch_after>th retry
  // (by default the last one), or at once when the algorithm is a round robin over several servers.
  const retried = be.cfg.retries - si.connRetries;
  const after = be.cfg.redispatchAfter;
  if (srv !== null && be.cfg.options.redispatch && !(s.flags & SF_FORCE_PRST) &&
      (srv.curState < SRV_ST_RUNNING ||
       (after > 0 && retried % after === 0) ||
       (after < 0 && retried % (be.cfg.retries + 1 + after) === 0) ||
       (!(s.flags & SF_DIRECT) && be.srvAct > 1 && isRoundRobin(be)))) {
    sessChangeServer(s, null);
    if (mayDequeueTasks(srv, be)) processSrvQueue(srv);
    s.flags &= ~(SF_DIRECT | SF_ASSIGNED | SF_ADDR_SET);
    si.setState(SI_ST_REQ, "redispatch");
  } else {
    if (srv !== null) srv.counters.retries++;
    be.beCounters.retries++;
    si.setState(SI_ST_ASS, "retry");
  }
  if (si.flags & SI_FL_ERR) {
    // An asynchronous error: wait min(1 s, timeout connect) before retrying the same server.
    let delay = 1000;
    if (be.cfg.timeouts.connect && be.cfg.timeouts.connect < delay) delay = be.cfg.timeouts.connect;
    if (!si.errType) si.errType = SI_ET_CONN_ERR;
    if (si.state === SI_ST_ASS || !isRoundRobin(be) || be.srvAct <= 1) {
      si.setState(SI_ST_TAR, "turn-around before retry");
      si.exp = tickAdd(clock.nowMs, delay);
    }
  }
}

/** HAProxy: (lbprm.algo & BE_LB_KIND) == BE_LB_KIND_RR: roundrobin and static-rr. */
function isRoundRobin(be: Proxy): boolean {
  return be.cfg.balance === "roundrobin" || be.cfg.balance === "static-rr";
}

/**
 * HAProxy: sess_update_stream_int(). Drive the server side from ASS (connect), QUE (wait for a
 * slot) and TAR (turn-around before retrying).
 */
export function sessUpdateStreamInt(s: Stream): void {
  const si = s.si[1];
  const req = s.req;
  if (si.state === SI_ST_ASS) {
    if (checkReqMayAbort(s)) {
      si.errType |= SI_ET_CONN_ABRT;
      abortConnection(s);
      return;
    }
    const err = connectServer(s);
    if (err === SF_ERR_NONE) {
      // HAProxy: srv_inc_sess_ctr() + srv_set_sess_last() once connect_server() worked.
      const srv = s.target;
      if (srv !== null) {
        srvIncSessCtr(srv);
        srvSetSessLast(srv);
      }
      si.setState(SI_ST_CON, "connect() in progress");
      si.exp = tickAddIfSet(clock.nowMs, s.be.cfg.timeouts.connect);
      return;
    }
    if (err === SF_ERR_INTERNAL) {
      if (!si.errType) si.errType = SI_ET_CONN_OTHER;
      const srv = s.target;
      if (srv !== null) {
        srvIncSessCtr(srv);
        srvSetSessLast(srv);
        srv.counters.failedConns++;
      }
      s.be.beCounters.failedConns++;
      sessChangeServer(s, null);
      if (mayDequeueTasks(srv, s.be)) processSrvQueue(srv!);
      siShutr(si);
      siShutw(si);
      req.flags |= CF_WRITE_ERROR;
      s.tQueue = s.elapsed();
      si.setState(SI_ST_CLO, "internal error on connect");
      defaultSrvError(s, si);
      return;
    }
    si.setState(SI_ST_CER, "connect() failed");
    si.flags &= ~SI_FL_ERR;
    sessUpdateStCer(s);
    return;
  }
  if (si.state === SI_ST_QUE) {
    if (s.pendList === null) {
      si.exp = TICK_ETERNITY;
      if (!(s.flags & SF_ASSIGNED)) si.setState(SI_ST_REQ, "dequeued");
      else {
        s.tQueue = s.elapsed();
        si.setState(SI_ST_ASS, "dequeued");
      }
      return;
    }
    if (si.flags & SI_FL_EXP) {
      si.exp = TICK_ETERNITY;
      s.tQueue = s.elapsed();
      if (s.target !== null) s.target.counters.failedConns++;
      s.be.beCounters.failedConns++;
      pendconnFree(s);
      siShutr(si);
      siShutw(si);
      req.flags |= CF_WRITE_TIMEOUT;
      if (!si.errType) si.errType = SI_ET_QUEUE_TO;
      si.setState(SI_ST_CLO, "queue timeout");
      defaultSrvError(s, si);
      return;
    }
    if (checkReqMayAbort(s)) {
      s.tQueue = s.elapsed();
      pendconnFree(s);
      si.errType |= SI_ET_QUEUE_ABRT;
      abortConnection(s);
    }
    return;
  }
  if (si.state === SI_ST_TAR) {
    if (checkReqMayAbort(s)) {
      si.errType |= SI_ET_CONN_ABRT;
      abortConnection(s);
      return;
    }
    if (!(si.flags & SI_FL_EXP)) return;
    si.exp = TICK_ETERNITY;
    si.setState(s.flags & SF_ASSIGNED ? SI_ST_ASS : SI_ST_REQ, "turn-around over");
  }
}

function abortConnection(s: Stream): void {
  const si = s.si[1];
  si.exp = TICK_ETERNITY;
  siShutr(si);
  siShutw(si);
  si.setState(SI_ST_CLO, "client aborted");
  defaultSrvError(s, si);
}

/** HAProxy: check_req_may_abort(): the client left and nothing was sent yet. */
function checkReqMayAbort(s: Stream): boolean {
  const req = s.req;
  return !!((req.flags & CF_SHUTW_NOW) && !(req.flags & CF_WROTE_DATA) &&
    ((req.isEmpty() && !(req.flags & (CF_WRITE_ACTIVITY | CF_WRITE_EVENT))) || s.be.cfg.options.abortonclose)) ||
    !!(s.res.flags & CF_SHUTW);
}

/**
 * HAProxy: sess_prepare_conn_req(). Get a server and a slot: ASS on success, QUE when queued, CLO
 * otherwise (SC "no server available", SQ "server queue full").
 */
export function sessPrepareConnReq(s: Stream): void {
  const si = s.si[1];
  if (si.state !== SI_ST_REQ) return;
  if (srvRedispatchConnect(s) !== 0) {
    if ((si.state as number) === SI_ST_QUE) return;
    siShutr(si);
    siShutw(si);
    s.req.flags |= CF_WRITE_ERROR;
    if (!si.errType) si.errType = SI_ET_CONN_OTHER;
    si.setState(SI_ST_CLO, "no server available");
    defaultSrvError(s, si);
    return;
  }
  s.tQueue = s.elapsed();
  si.setState(SI_ST_ASS, "server assigned");
  s.be.beCounters.lastSess = nowSec();
}
