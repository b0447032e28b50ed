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
import { tickAddIfSet } from "../core/ticks";
import {
  SF_ERR_NONE, SF_ERR_INTERNAL, SF_ADDR_SET, SF_ASSIGNED, SF_CURR_SESS, SF_DIRECT, SF_FORCE_PRST, SF_REDISP,
} from "../types/stream-t";
import { tcpConnectServer, CO_ER_CANT_BIND } from "../net/proto_tcp";
import { connGetToAddr } from "../net/connection";
import { logAlertLine, sendProxyLog, LOG_EMERG } from "../core/log";
import { fwrrGetNextServer, fwrrInitServerGroups } from "./lb_fwrr";
import { fwlcInitServerTree, treeGetNextServer } from "./lb_fwlc";
import { fasGetNextServer, fasInitServerTree } from "./lb_fas";
import { getServerSh, initServerMap, mapGetServerRr } from "./lb_map";
import { mayDequeueTasks, pendconnAdd, processSrvQueue, srvDynamicMaxconn } from "./queue";
import { type Proxy } from "./proxy";
import { type Server, srvIncSessCtr, srvSetSessLast } from "./server";
import type { Stream } from "./stream";
import { SI_ET_CONN_ERR, SI_ET_CONN_OTHER, SI_ET_QUEUE_ERR, SI_ST_QUE } from "./stream_interface";
import { sessChangeServer } from "./lb";

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
        be.cumLbconn++;
        srv.cumLbconn++;
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
        prevSrv.redispatches++;
        be.redispatches++;
      } else {
        prevSrv.retries++;
        be.retries++;
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
        if (srv !== null) srv.failedConns++;
        be.failedConns++;
        return 1;
      case SRV_STATUS_NOSRV:
        if (!si.errType) si.errType = SI_ET_CONN_ERR;
        be.failedConns++;
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
          srv.failedConns++;
        }
        be.failedConns++;
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
  if (++srv.curSess > srv.maxSess) srv.maxSess = srv.curSess;
  const take = s.be.lbprm.serverTakeConn;
  if (take !== null) take(srv);
  return SF_ERR_NONE;
}
