/**
 * What every load-balancing algorithm shares, and how a stream holds a server's connection slot.
 * HAProxy 1.8: recount_servers(), update_backend_weight() and sess_change_server() of src/backend.c.
 * The algorithms (lb_fwrr.ts, lb_fwlc.ts, lb_fas.ts, lb_map.ts) call the first two after every
 * change of a server's state or weight; backend.ts and queue.ts call the third.
 */
import { type Server, srvWillbeUsable } from "./server";
import { type Stream } from "./stream";
import type { Proxy } from "./proxy";

/**
 * HAProxy: recount_servers(). Count the usable active and backup servers of <px> and their total
 * effective weights (from the next_* values), and find the first usable backup when `option
 * allbackups` is off.
 */
export function recountServers(px: Proxy): void {
  const lb = px.lbprm;
  px.srvAct = px.srvBck = 0;
  lb.totWact = lb.totWbck = 0;
  lb.fbck = null;
  for (const srv of px.servers) {
    if (!srvWillbeUsable(srv)) continue;
    if (srv.backup) {
      if (!px.srvBck && !px.cfg.options.allbackups) lb.fbck = srv;
      px.srvBck++;
      srv.cumulativeWeight = lb.totWbck;
      lb.totWbck += srv.nextEweight;
    } else {
      px.srvAct++;
      srv.cumulativeWeight = lb.totWact;
      lb.totWact += srv.nextEweight;
    }
  }
}

/**
 * HAProxy: update_backend_weight(). The weight and count the LB works with: the active servers,
 * else the first backup alone (no `option allbackups`), else all backups.
 */
export function updateBackendWeight(px: Proxy): void {
  const lb = px.lbprm;
  if (px.srvAct) {
    lb.totWeight = lb.totWact;
    lb.totUsed = px.srvAct;
  } else if (lb.fbck !== null) {
    lb.totWeight = lb.fbck.nextEweight;
    lb.totUsed = 1;
  } else {
    lb.totWeight = lb.totWbck;
    lb.totUsed = px.srvBck;
  }
}

/**
 * HAProxy: sess_change_server(). Move <s>'s connection slot to <newsrv> (null: release it),
 * keeping `served` and the algorithm's view (leastconn repositions the server) up to date.
 */
export function sessChangeServer(s: Stream, newsrv: Server | null): void {
  const old = s.srvConn;
  if (old === newsrv) return;
  if (old !== null) {
    old.served--;
    old.proxy.served--;
    const drop = old.proxy.lbprm.serverDropConn;
    if (drop !== null) drop(old);
    s.srvConn = null;
  }
  if (newsrv !== null) {
    newsrv.served++;
    newsrv.proxy.served++;
    const take = newsrv.proxy.lbprm.serverTakeConn;
    if (take !== null) take(newsrv);
    s.srvConn = newsrv;
  }
}
