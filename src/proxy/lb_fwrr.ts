/**
 * `balance roundrobin`: fast weighted round-robin. HAProxy 1.8: src/lb_fwrr.c.
 *
 * Each group (active servers, backup servers) runs rounds of `curr_weight` positions (the sum of
 * the effective weights). A server of effective weight w is due every curr_weight / w positions
 * (the remainder is carried in rweight), so its turns are spread evenly over the round instead of
 * coming in a burst. Three trees per group:
 *
 *   init  servers not served yet in this round, heaviest first
 *   curr  servers already served, keyed by their next position (npos)
 *   next  servers that will not fit before the round ends, kept for the next round
 *
 * A pick takes the first server of `curr` if its position has come, else the heaviest of `init`;
 * moves it forward by its step and re-queues it. When both are exhausted, `init` and `next` swap
 * and a new round starts. Saturated servers (maxconn reached, or a queue) are skipped and requeued.
 */
import { SrvTree, lbNodeDelete } from "./lb_tree";
import { type FwrrGroup, type Proxy } from "./proxy";
import { type Server, SRV_EWGHT_MAX, SRV_UWGHT_RANGE, BE_WEIGHT_SCALE, srvCurrentlyUsable, srvLbCommitStatus, srvLbStatusChanged, srvWillbeUsable, lbWeightChangeNeedsMove } from "./server";
import { recountServers, updateBackendWeight } from "./lb";
import { srvDynamicMaxconn } from "./queue";

function newGroup(): FwrrGroup {
  const t0 = new SrvTree();
  const t1 = new SrvTree();
  return { curr: new SrvTree(), t0, t1, init: t0, next: t1, currPos: 0, currWeight: 0, nextWeight: 0 };
}

function groupOf(s: Server): FwrrGroup {
  const lb = s.proxy.lbprm;
  return s.backup ? lb.fwrrBck! : lb.fwrrAct!;
}

/** HAProxy: fwrr_queue_by_weight(): heavier servers first. */
function queueByWeight(root: SrvTree, s: Server): void {
  root.insert(s, SRV_EWGHT_MAX - s.nextEweight);
  s.lbTree = root;
}

/** HAProxy: fwrr_get_srv_init(). */
function getSrvInit(s: Server): void {
  s.npos = s.rweight = 0;
}

/** HAProxy: fwrr_get_srv(): prepare <s> when taking it out of its tree. */
function getSrv(s: Server): void {
  const grp = groupOf(s);
  if (s.lbTree === grp.init) getSrvInit(s);
  else if (s.lbTree === grp.next) s.npos += grp.currWeight;
  else if (s.lbTree === null) s.npos = grp.currPos;
}

/**
 * HAProxy: fwrr_queue_srv(). Put <s> back by its next position: in `curr` if it fits in this
 * round, else in `next` (position rebased on the next round); out of the LB if unusable.
 */
function queueSrv(s: Server): void {
  const grp = groupOf(s);
  if (!srvWillbeUsable(s)) {
    s.lbTree = null;
  } else if (s.nextEweight <= 0 || s.npos >= 2 * grp.currWeight || s.npos >= grp.currWeight + grp.nextWeight) {
    s.npos -= grp.currWeight;
    queueByWeight(grp.next, s);
  } else {
    // Position first, then heavier (and less advanced in their remainder) servers first.
    const key = SRV_UWGHT_RANGE * s.npos + Math.floor((SRV_EWGHT_MAX + s.rweight - s.nextEweight) / BE_WEIGHT_SCALE);
    grp.curr.insert(s, key);
    s.lbTree = grp.curr;
  }
}

/** HAProxy: fwrr_switch_trees(): start a new round. */
function switchTrees(grp: FwrrGroup): void {
  const swap = grp.init;
  grp.init = grp.next;
  grp.next = swap;
  grp.currWeight = grp.nextWeight;
  grp.currPos = grp.currWeight;
}

/** HAProxy: fwrr_get_server_from_group(): the server due now, or the heaviest not served yet. */
function getServerFromGroup(grp: FwrrGroup): Server | null {
  let s = grp.curr.first();
  if (s === null || s.npos > grp.currPos) {
    const s2 = grp.init.first();
    if (s2 !== null) {
      s = s2;
      getSrvInit(s);
      if (s.curEweight === 0) s = null;
    }
  }
  return s;
}

/** HAProxy: fwrr_update_position(): move <s> forward by its step, carrying the remainder. */
function updatePosition(grp: FwrrGroup, s: Server): void {
  if (!s.npos) {
    s.lpos = grp.currPos;
    s.npos = grp.currPos + Math.floor(grp.nextWeight / s.curEweight);
  } else {
    s.lpos = s.npos;
    s.npos += Math.floor(grp.nextWeight / s.curEweight);
  }
  s.rweight += grp.nextWeight % s.curEweight;
  if (s.rweight >= s.curEweight) {
    s.rweight -= s.curEweight;
    s.npos++;
  }
}

/** HAProxy: fwrr_set_server_status_down(). */
function fwrrSetServerStatusDown(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!srvLbStatusChanged(srv)) return;
  if (srvWillbeUsable(srv)) {
    srvLbCommitStatus(srv);
    return;
  }
  if (srvCurrentlyUsable(srv)) {
    const grp = groupOf(srv);
    grp.nextWeight -= srv.curEweight;
    if (srv.backup) {
      lb.totWbck = grp.nextWeight;
      p.srvBck--;
      if (srv === lb.fbck) lb.fbck = nextUsableBackup(p, srv);
    } else {
      lb.totWact = grp.nextWeight;
      p.srvAct--;
    }
    lbNodeDelete(srv);
    srv.lbTree = null;
  }
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** The next backup server after <srv> (declaration order) that will be usable. */
export function nextUsableBackup(p: Proxy, srv: Server): Server | null {
  const list = p.servers;
  for (let i = list.indexOf(srv) + 1; i < list.length; i++) {
    const s = list[i];
    if (s.backup && srvWillbeUsable(s)) return s;
  }
  return null;
}

/**
 * HAProxy's fbck update when a backup server comes up without `option allbackups`: it becomes the
 * first backup if there is none, or if it is declared before the current one.
 */
export function updateFbckOnUp(p: Proxy, srv: Server): void {
  const lb = p.lbprm;
  if (p.cfg.options.allbackups) return;
  if (lb.fbck === null) lb.fbck = srv;
  else if (p.servers.indexOf(srv) < p.servers.indexOf(lb.fbck)) lb.fbck = srv;
}

/** HAProxy: fwrr_set_server_status_up(). */
function fwrrSetServerStatusUp(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!srvLbStatusChanged(srv)) return;
  if (!srvWillbeUsable(srv)) {
    srvLbCommitStatus(srv);
    return;
  }
  if (!srvCurrentlyUsable(srv)) {
    const grp = groupOf(srv);
    grp.nextWeight += srv.nextEweight;
    if (srv.backup) {
      lb.totWbck = grp.nextWeight;
      p.srvBck++;
      updateFbckOnUp(p, srv);
    } else {
      lb.totWact = grp.nextWeight;
      p.srvAct++;
    }
    getSrv(srv);
    srv.npos = grp.currPos + Math.floor((grp.nextWeight + grp.currWeight - grp.currPos) / srv.nextEweight);
    queueSrv(srv);
  }
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** HAProxy: fwrr_update_server_weight(): a weight or state change. */
function fwrrUpdateServerWeight(srv: Server): void {
  const p = srv.proxy;
  const lb = p.lbprm;
  if (!lbWeightChangeNeedsMove(srv, fwrrSetServerStatusUp, fwrrSetServerStatusDown)) return;
  const grp = groupOf(srv);
  grp.nextWeight = grp.nextWeight - srv.curEweight + srv.nextEweight;
  lb.totWact = lb.fwrrAct!.nextWeight;
  lb.totWbck = lb.fwrrBck!.nextWeight;
  if (srv.lbTree === grp.init) {
    lbNodeDelete(srv);
    queueByWeight(grp.init, srv);
  } else if (srv.lbTree === null) {
    lbNodeDelete(srv);
    getSrv(srv);
    srv.npos = grp.currPos + Math.floor((grp.nextWeight + grp.currWeight - grp.currPos) / srv.nextEweight);
    queueSrv(srv);
  } else {
    getSrv(srv);
    if (srv.nextEweight > 0) {
      const prevNext = srv.npos;
      const step = Math.floor(grp.nextWeight / srv.nextEweight);
      srv.npos = srv.lpos + step;
      srv.rweight = 0;
      if (srv.npos > prevNext) srv.npos = prevNext;
      if (srv.npos < grp.currPos + 2) srv.npos = grp.currPos + step;
    } else {
      srv.npos = grp.currPos + grp.currWeight;
    }
    lbNodeDelete(srv);
    queueSrv(srv);
  }
  updateBackendWeight(p);
  srvLbCommitStatus(srv);
}

/** HAProxy: fwrr_init_server_groups(). */
export function fwrrInitServerGroups(p: Proxy): void {
  const lb = p.lbprm;
  lb.setServerStatusUp = fwrrSetServerStatusUp;
  lb.setServerStatusDown = fwrrSetServerStatusDown;
  lb.updateServerEweight = fwrrUpdateServerWeight;
  lb.wdiv = BE_WEIGHT_SCALE;
  for (const srv of p.servers) {
    srv.nextEweight = Math.floor((srv.uweight * lb.wdiv + lb.wmult - 1) / lb.wmult);
    srvLbCommitStatus(srv);
  }
  recountServers(p);
  updateBackendWeight(p);
  const act = (lb.fwrrAct = newGroup());
  act.currPos = act.currWeight = act.nextWeight = lb.totWact;
  const bck = (lb.fwrrBck = newGroup());
  bck.currPos = bck.currWeight = bck.nextWeight = lb.totWbck;
  for (const srv of p.servers) {
    if (!srvCurrentlyUsable(srv)) continue;
    queueByWeight(srv.backup ? bck.init : act.init, srv);
  }
}

/** HAProxy's saturation test of the LB walks: maxconn set and (a queue, or no free slot). */
export function srvIsSaturated(s: Server): boolean {
  return s.maxconn !== 0 && (s.nbpend !== 0 || s.served >= srvDynamicMaxconn(s));
}

/**
 * HAProxy: fwrr_get_next_server(). The next server of <p>'s rotation, skipping saturated ones and
 * <srvtoavoid> when another one is available. Returns null when all are saturated.
 */
export function fwrrGetNextServer(p: Proxy, srvtoavoid: Server | null): Server | null {
  const lb = p.lbprm;
  let grp: FwrrGroup;
  if (p.srvAct) grp = lb.fwrrAct!;
  else if (lb.fbck !== null) return lb.fbck;
  else if (p.srvBck) grp = lb.fwrrBck!;
  else return null;

  let switched = false;
  let avoided: Server | null = null;
  let full: Server | null = null;
  let srv: Server | null;
  let requeueOnly = false;
  for (;;) {
    if (!grp.currWeight) grp.currPos = grp.currWeight = grp.nextWeight;
    for (;;) {
      srv = getServerFromGroup(grp);
      if (srv !== null) break;
      if (switched) {
        if (avoided !== null) {
          srv = avoided;
          break;
        }
        requeueOnly = true;
        break;
      }
      switched = true;
      switchTrees(grp);
    }
    if (requeueOnly) break;
    updatePosition(grp, srv!);
    lbNodeDelete(srv!);
    grp.currPos++;
    if (!srvIsSaturated(srv!)) {
      if (srv !== srvtoavoid || avoided !== null) break;
      avoided = srv;
    }
    srv!.nextFull = full;
    full = srv;
  }
  if (!requeueOnly) queueSrv(srv!);
  else srv = null;

  // Requeue the servers skipped on the way (the chosen one, if it was chained, is already placed).
  while (full !== null) {
    const f: Server = full;
    full = f.nextFull;
    f.nextFull = null;
    if (f === srv) continue;
    if (switched) queueByWeight(grp.init, f);
    else queueSrv(f);
  }
  return srv;
}
