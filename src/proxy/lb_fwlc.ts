/**
 * `balance leastconn`: fast weighted least connections. HAProxy 1.8: src/lb_fwlc.c.
 *
 * Usable servers sit in one tree per group keyed by served x SRV_EWGHT_MAX / eweight (their load
 * relative to their weight). Each time a server takes or drops a slot it is re-inserted, behind the
 * servers of equal load, so equally loaded servers are used in turn. A pick is the first server of
 * the tree that is not saturated (and not the one to avoid, when another is available).
 *
 * `balance first` (src/lb_fas.c) works the same way with the server id as the key; both share the
 * tree handling here (treeLbInit), each with its own key.
 */
import { SrvTree, lbNodeDelete } from "./lb_tree";
import { type Proxy } from "./proxy";
import { type Server, SRV_EWGHT_MAX, BE_WEIGHT_SCALE, srvCurrentlyUsable, srvLbCommitStatus, srvLbStatusChanged, srvWillbeUsable, lbWeightChangeNeedsMove } from "./server";
import { recountServers, updateBackendWeight } from "./lb";
import { nextUsableBackup, srvIsSaturated, updateFbckOnUp } from "./lb_fwrr";

/** The ordering key of a tree algorithm. */
type KeyFn = (s: Server) => number;

/** HAProxy: fwlc_queue_srv() key: the server's load relative to its weight. */
function fwlcKey(s: Server): number {
  return Math.floor((s.served * SRV_EWGHT_MAX) / s.nextEweight);
}

function queueSrv(s: Server): void {
  s.lbTree!.insert(s, s.proxy.lbprm.treeKey!(s));
}

/** HAProxy: fwlc_srv_reposition() / fas_srv_reposition(): after <s> took or dropped a slot. */
function srvReposition(s: Server): void {
  if (s.lbTree === null) return;
  lbNodeDelete(s);
  queueSrv(s);
}

/** HAProxy: fwlc_set_server_status_down() / fas_set_server_status_down(). */
function setServerStatusDown(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!srvLbStatusChanged(srv)) return;
  if (srvWillbeUsable(srv)) {
    srvLbCommitStatus(srv);
    return;
  }
  if (srvCurrentlyUsable(srv)) {
    if (srv.backup) {
      lb.totWbck -= srv.curEweight;
      p.srvBck--;
      if (srv === lb.fbck) lb.fbck = nextUsableBackup(p, srv);
    } else {
      lb.totWact -= srv.curEweight;
      p.srvAct--;
    }
    lbNodeDelete(srv);
    srv.lbTree = null;
  }
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** HAProxy: fwlc_set_server_status_up() / fas_set_server_status_up(). */
function setServerStatusUp(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!srvLbStatusChanged(srv)) return;
  if (!srvWillbeUsable(srv)) {
    srvLbCommitStatus(srv);
    return;
  }
  if (!srvCurrentlyUsable(srv)) {
    if (srv.backup) {
      srv.lbTree = lb.treeBck;
      lb.totWbck += srv.nextEweight;
      p.srvBck++;
      updateFbckOnUp(p, srv);
    } else {
      srv.lbTree = lb.treeAct;
      lb.totWact += srv.nextEweight;
      p.srvAct++;
    }
    queueSrv(srv);
  }
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** HAProxy: fwlc_update_server_weight() / fas_update_server_weight(). */
function updateServerWeight(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!lbWeightChangeNeedsMove(srv, setServerStatusUp, setServerStatusDown)) return;
  lbNodeDelete(srv);
  if (srv.backup) {
    lb.totWbck += srv.nextEweight - srv.curEweight;
    srv.lbTree = lb.treeBck;
  } else {
    lb.totWact += srv.nextEweight - srv.curEweight;
    srv.lbTree = lb.treeAct;
  }
  queueSrv(srv);
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** HAProxy: fwlc_init_server_tree() / fas_init_server_tree(), with the algorithm's key. */
export function treeLbInit(p: Proxy, key: KeyFn): void {
  const lb = p.lbprm;
  lb.treeKey = key;
  lb.setServerStatusUp = setServerStatusUp;
  lb.setServerStatusDown = setServerStatusDown;
  lb.updateServerEweight = updateServerWeight;
  lb.serverTakeConn = srvReposition;
  lb.serverDropConn = srvReposition;
  lb.wdiv = BE_WEIGHT_SCALE;
  for (const srv of p.servers) {
    srv.nextEweight = Math.floor((srv.uweight * lb.wdiv + lb.wmult - 1) / lb.wmult);
    srvLbCommitStatus(srv);
  }
  recountServers(p);
  updateBackendWeight(p);
  lb.treeAct = new SrvTree();
  lb.treeBck = new SrvTree();
  for (const srv of p.servers) {
    if (!srvCurrentlyUsable(srv)) continue;
    srv.lbTree = srv.backup ? lb.treeBck : lb.treeAct;
    queueSrv(srv);
  }
}

/** HAProxy: fwlc_init_server_tree(). */
export function fwlcInitServerTree(p: Proxy): void {
  treeLbInit(p, fwlcKey);
}

/**
 * HAProxy: fwlc_get_next_server() / fas_get_next_server(). The first unsaturated server of the
 * tree, preferring one other than <srvtoavoid>; the first backup alone when no active server is up
 * and `option allbackups` is off.
 */
export function treeGetNextServer(p: Proxy, srvtoavoid: Server | null): Server | null {
  const lb = p.lbprm;
  let tree: SrvTree;
  if (p.srvAct) tree = lb.treeAct!;
  else if (lb.fbck !== null) return lb.fbck;
  else if (p.srvBck) tree = lb.treeBck!;
  else return null;
  let avoided: Server | null = null;
  for (let s = tree.first(); s !== null; s = tree.next(s)) {
    if (!srvIsSaturated(s)) {
      if (s !== srvtoavoid) return s;
      avoided = s;
    }
  }
  return avoided;
}
