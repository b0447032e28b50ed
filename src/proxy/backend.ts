/**
 * Server selection, queues and the server connection. HAProxy 1.8: src/backend.c (assign_server,
 * assign_server_and_queue, connect_server), src/queue.c (pendconn_add, process_srv_queue), and the
 * load-balancing algorithms of src/lb_fwrr.c, lb_map.c, lb_fwlc.c, lb_chash.c (simplified: hapoll
 * computes the choice directly over the server list instead of keeping HAProxy's trees).
 */
import { native } from "../native";
import { taskWakeup, TASK_WOKEN_RES } from "../core/task";
import { tcpConnectServer, SF_ERR_NONE, SF_ERR_INTERNAL } from "../net/proto_tcp";
import { connGetToAddr } from "../net/connection";
import { Proxy, Server, SRV_ST_RUNNING, SRV_ADMF_DRAIN, srvIsUsable } from "./server";
import type { Stream } from "./stream";
import { SF_ASSIGNED, SF_CURR_SESS, SF_DIRECT } from "./stream";
import { backendHooks, backendQueueHooks } from "./hooks";
import { SI_ST_QUE } from "./stream_interface";

/** HAProxy: SRV_STATUS_* results of assign_server_and_queue(). */
export const SRV_STATUS_OK = 0;
export const SRV_STATUS_FULL = 1;
export const SRV_STATUS_NOSRV = 2;
export const SRV_STATUS_QUEUED = 3;
export const SRV_STATUS_INTERNAL = 4;

/** Per-backend queue (streams with no server yet) and per-server queues. HAProxy: struct pendconn lists. */
const beQueues = new WeakMap<Proxy, Stream[]>();
const srvQueues = new WeakMap<Server, Stream[]>();

function beQueue(be: Proxy): Stream[] {
  let q = beQueues.get(be);
  if (!q) beQueues.set(be, (q = []));
  return q;
}

function srvQueue(srv: Server): Stream[] {
  let q = srvQueues.get(srv);
  if (!q) srvQueues.set(srv, (q = []));
  return q;
}

/** Whether <srv> can take one more stream now. HAProxy: srv_dynamic_maxconn() test. */
function srvHasSlot(srv: Server): boolean {
  return srv.cfg.maxconn === 0 || srv.curSess < srv.cfg.maxconn;
}

/** Usable servers (srvIsUsable: up, weight > 0, not in maint/drain): primaries, else backups. */
function usableServers(be: Proxy): Server[] {
  const prim = be.servers.filter((s) => !s.cfg.backup && srvIsUsable(s));
  if (prim.length) return prim;
  const backups = be.servers.filter((s) => s.cfg.backup && srvIsUsable(s));
  // HAProxy without `option allbackups` uses only the first backup server.
  return backups.length ? [backups[0]] : [];
}

/** FNV-1a over the client address bytes, for `balance source`. */
function hashAddr(s: Stream): number {
  const info = native.sockaddrInfo(s.cliAddr, s.cliAddrLen);
  const str = info ? info.address : "";
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * HAProxy: assign_server(). Pick a server by the backend's algorithm, ignoring full servers where
 * the algorithm allows it. Returns null when none is usable.
 */
export function assignServer(s: Stream): Server | null {
  const be = s.be;
  const list = usableServers(be);
  if (!list.length) return null;
  switch (be.cfg.balance) {
    case "first": {
      // The first server (by declaration) with a free slot.
      for (const srv of list) if (srvHasSlot(srv)) return srv;
      return null;
    }
    case "leastconn": {
      let best: Server | null = null;
      let bestLoad = Infinity;
      for (const srv of list) {
        const load = (srv.curSess + srv.nbpend) / srv.weight;
        if (load < bestLoad) {
          best = srv;
          bestLoad = load;
        }
      }
      return best;
    }
    case "source": {
      // Map-based: each server appears weight times in the map.
      const total = list.reduce((a, x) => a + x.weight, 0);
      let h = hashAddr(s) % total;
      for (const srv of list) {
        if (h < srv.weight) return srv;
        h -= srv.weight;
      }
      return list[0];
    }
    case "static-rr": {
      const total = list.reduce((a, x) => a + x.weight, 0);
      const pos = be.lbpos++ % total;
      let h = pos;
      for (const srv of list) {
        if (h < srv.weight) return srv;
        h -= srv.weight;
      }
      return list[0];
    }
    default: {
      // roundrobin: smooth weighted round-robin (each pick adds the weights and takes the highest,
      // which spreads a server's turns evenly, as HAProxy's fwrr does), skipping full servers.
      let total = 0;
      let best: Server | null = null;
      for (const srv of list) {
        srv.rrCurrent += srv.weight;
        total += srv.weight;
        if (srvHasSlot(srv) && (best === null || srv.rrCurrent > best.rrCurrent)) best = srv;
      }
      if (best === null) {
        // Everyone is full: undo and let the caller queue on the backend.
        for (const srv of list) srv.rrCurrent -= srv.weight;
        return null;
      }
      best.rrCurrent -= total;
      return best;
    }
  }
}

/**
 * HAProxy: assign_server_and_queue(). Assign a server and reserve a slot on it, or queue the
 * stream (on the server if it is full, on the backend if every server is). Returns SRV_STATUS_*.
 */
export function assignServerAndQueue(s: Stream): number {
  const be = s.be;
  if (!(s.flags & SF_ASSIGNED)) {
    const srv = assignServer(s);
    if (srv === null) {
      if (!usableServers(be).length) return SRV_STATUS_NOSRV;
      // All usable servers are full: wait in the backend's queue.
      return queueStream(s, beQueue(be), null);
    }
    s.target = srv;
    s.flags |= SF_ASSIGNED;
    // HAProxy: cum_lbconn, the `lbtot` of `show stat`.
    srv.lbtot++;
    be.lbtot++;
  }
  const srv = s.target!;
  if (!srvHasSlot(srv)) {
    if (srv.cfg.maxqueue && srv.nbpend >= srv.cfg.maxqueue) return SRV_STATUS_FULL;
    return queueStream(s, srvQueue(srv), srv);
  }
  takeSlot(s, srv);
  return SRV_STATUS_OK;
}

function takeSlot(s: Stream, srv: Server): void {
  if (!(s.flags & SF_CURR_SESS)) {
    s.flags |= SF_CURR_SESS;
    srv.curSess++;
    if (srv.curSess > srv.maxSess) srv.maxSess = srv.curSess;
  }
}

function queueStream(s: Stream, q: Stream[], srv: Server | null): number {
  q.push(s);
  s.pendQueue = q;
  if (srv) srv.nbpend++;
  else s.be.nbpend++;
  return SRV_STATUS_QUEUED;
}

/** HAProxy: pendconn_free(): take <s> out of its queue. */
function dequeueStream(s: Stream): void {
  const q = s.pendQueue;
  if (q === null) return;
  const i = q.indexOf(s);
  if (i >= 0) q.splice(i, 1);
  s.pendQueue = null;
  if (s.target && srvQueues.get(s.target) === q) s.target.nbpend--;
  else s.be.nbpend--;
}
backendQueueHooks.remove = dequeueStream;

/**
 * HAProxy: process_srv_queue(): a slot of <srv> was freed: hand it to the oldest stream waiting on
 * this server, else on its backend, and wake that stream.
 */
export function processSrvQueue(srv: Server): void {
  const be = srv.proxy;
  while (srvHasSlot(srv) && srv.curState === SRV_ST_RUNNING) {
    let s = srvQueue(srv)[0];
    // A draining server serves its own queue but takes nothing from the backend's.
    if (s === undefined && !(srv.adminState & SRV_ADMF_DRAIN)) s = beQueue(be)[0];
    if (s === undefined) return;
    dequeueStream(s);
    s.target = srv;
    s.flags |= SF_ASSIGNED;
    takeSlot(s, srv);
    if (s.si[1].state === SI_ST_QUE) taskWakeup(s.task, TASK_WOKEN_RES);
  }
}
backendHooks.serverSlotFreed = processSrvQueue;

/**
 * HAProxy: connect_server(). Open the server connection of <s> (the server is assigned). Returns
 * SF_ERR_NONE or the SF_ERR_* of the failure.
 */
export function connectServer(s: Stream): number {
  const srv = s.target;
  if (srv === null) return SF_ERR_INTERNAL;
  const conn = s.si[1].conn;
  conn.fd = -1;
  conn.flags = 0;
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
  const r = tcpConnectServer(conn, srv.cfg.addr.family, s.be.cfg.options.srvtcpka);
  if (r === SF_ERR_NONE) {
    srv.cumSess++;
    s.flags &= ~SF_DIRECT;
  }
  return r;
}
