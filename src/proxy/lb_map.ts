/**
 * Map-based algorithms: `balance static-rr` and `balance source` (hash-type map-based). HAProxy
 * 1.8: src/lb_map.c, and get_server_sh() of src/backend.c.
 *
 * The backend keeps a table of tot_weight slots where each usable server appears as many times as
 * its effective weight (weights are divided by their greatest common divisor first), spread out so
 * that a server's slots are not adjacent. static-rr walks the table; source indexes it with a hash
 * of the client address. The table is rebuilt whenever a server changes state.
 *
 * hapoll builds the table as HAProxy 1.8.1+ does: 1.8.0's recalc_server_map() added the total to
 * the chosen server's score instead of subtracting it ("BUG/MAJOR: lb_map: server map calculation
 * broken"), which sent everything to one server.
 */
import { type Proxy } from "./proxy";
import { type Server, srvLbCommitStatus, srvLbStatusChanged, srvWillbeUsable } from "./server";
import { recountServers, updateBackendWeight } from "./lb";
import { srvIsSaturated } from "./lb_fwrr";

/** HAProxy: map_set_server_status_down(). */
function mapSetServerStatusDown(srv: Server): void {
  const p = srv.proxy;
  if (!srvLbStatusChanged(srv)) return;
  if (!srvWillbeUsable(srv)) {
    recountServers(p);
    updateBackendWeight(p);
    recalcServerMap(p);
  }
  srvLbCommitStatus(srv);
}

/** HAProxy: map_set_server_status_up(). */
function mapSetServerStatusUp(srv: Server): void {
  const p = srv.proxy;
  if (!srvLbStatusChanged(srv)) return;
  if (srvWillbeUsable(srv)) {
    recountServers(p);
    updateBackendWeight(p);
    recalcServerMap(p);
  }
  srvLbCommitStatus(srv);
}

/**
 * HAProxy: recalc_server_map(). Fill the table: for each slot, every candidate server gains its
 * weight in score, the best score (declaration order on ties) takes the slot and pays the total.
 * Only active servers, or backup servers when no active one is usable.
 */
export function recalcServerMap(px: Proxy): void {
  const lb = px.lbprm;
  if (lb.totUsed === 0) return;
  const tot = lb.totWeight;
  const wantBackup = px.srvAct === 0;
  const list = px.servers;
  for (const cur of list) cur.wscore = 0;
  if (lb.map.length < tot) lb.map.length = tot;
  for (let o = 0; o < tot; o++) {
    let max = 0;
    let best: Server | null = null;
    for (const cur of list) {
      if (cur.backup !== wantBackup || !srvWillbeUsable(cur)) continue;
      if (tot === 1) {
        // Only one slot: the first candidate, as HAProxy does to avoid its division overflow.
        best = cur;
        break;
      }
      cur.wscore += cur.nextEweight;
      const v = ((cur.wscore + tot) / tot) | 0;
      if (best === null || v > max) {
        max = v;
        best = cur;
      }
    }
    lb.map[o] = best;
    if (best !== null) best.wscore -= tot;
  }
}

/** HAProxy: init_server_map(). */
export function initServerMap(p: Proxy): void {
  const lb = p.lbprm;
  lb.setServerStatusUp = mapSetServerStatusUp;
  lb.setServerStatusDown = mapSetServerStatusDown;
  lb.updateServerEweight = null;
  if (!p.servers.length) return;
  // Reduce the table by the weights' greatest common divisor.
  let pgcd = 1;
  const first = p.servers.find((s) => s.uweight !== 0);
  if (first !== undefined) {
    pgcd = first.uweight;
    for (let i = p.servers.indexOf(first) + 1; i < p.servers.length && pgcd > 1; i++) {
      let w = p.servers[i].uweight;
      while (w) {
        const t = pgcd % w;
        pgcd = w;
        w = t;
      }
    }
  }
  lb.wmult = pgcd;
  let act = 0;
  let bck = 0;
  for (const srv of p.servers) {
    srv.nextEweight = Math.floor((srv.uweight * lb.wdiv + lb.wmult - 1) / lb.wmult);
    if (srv.backup) bck += srv.nextEweight;
    else act += srv.nextEweight;
    srvLbCommitStatus(srv);
  }
  lb.map = new Array(Math.max(act, bck, 1)).fill(null);
  recountServers(p);
  updateBackendWeight(p);
  recalcServerMap(p);
}

/**
 * HAProxy: map_get_server_rr(). The next server of the table from the round-robin index, skipping
 * saturated servers and <srvtoavoid> when possible.
 */
export function mapGetServerRr(px: Proxy, srvtoavoid: Server | null): Server | null {
  const lb = px.lbprm;
  if (lb.totWeight === 0) return null;
  if (lb.rrIdx < 0 || lb.rrIdx >= lb.totWeight) lb.rrIdx = 0;
  let newidx = lb.rrIdx;
  let avoided: Server | null = null;
  let avoididx = 0;
  do {
    const srv = lb.map[newidx++]!;
    if (!srvIsSaturated(srv)) {
      avoided = srv;
      avoididx = newidx;
      if (srv !== srvtoavoid) {
        lb.rrIdx = newidx;
        return srv;
      }
    }
    if (newidx === lb.totWeight) newidx = 0;
  } while (newidx !== lb.rrIdx);
  if (avoided !== null) lb.rrIdx = avoididx;
  return avoided;
}

/** HAProxy: map_get_server_hash(). */
export function mapGetServerHash(px: Proxy, hash: number): Server | null {
  const lb = px.lbprm;
  if (lb.totWeight === 0) return null;
  return lb.map[(hash >>> 0) % lb.totWeight];
}

/**
 * HAProxy: get_server_sh(). `balance source`: XOR of the address's 32-bit big-endian words (the
 * IPv4 address itself, or the four words of an IPv6 one), then the map. No hashing when only one
 * server is in use.
 */
export function getServerSh(px: Proxy, addr: Buffer, off: number, len: number): Server | null {
  const lb = px.lbprm;
  if (lb.totWeight === 0) return null;
  let h = 0;
  if (lb.totUsed !== 1) {
    for (let l = 0; l + 4 <= len; l += 4) h = (h ^ addr.readUInt32BE(off + l)) >>> 0;
  }
  return mapGetServerHash(px, h);
}
