/**
 * Ordered server sets for the load-balancing algorithms. HAProxy 1.8 keeps servers in eb32 trees
 * (ebtree/eb32tree.h: eb32_insert, eb32_delete, eb32_first, eb32_next) keyed by an unsigned 32-bit
 * value; servers with equal keys come out in insertion order. A backend has a handful of servers, so
 * hapoll keeps each tree as a sorted array: same order, same tie-breaking, no allocation once the
 * array has grown to the number of servers.
 */
import type { Server } from "./server";

/** HAProxy: struct eb_root holding struct server lb_node entries. */
export class SrvTree {
  /** The servers, ordered by (lbKey unsigned, lbSeq). */
  readonly nodes: Server[] = [];
  /** Insertion counter: equal keys keep insertion order, like ebtree duplicates. */
  private seq = 0;

  /** Number of servers linked. */
  get size(): number {
    return this.nodes.length;
  }

  /** HAProxy: eb32_insert(root, &srv->lb_node) with srv->lb_node.key = <key>. */
  insert(srv: Server, key: number): void {
    if (srv.lbIn !== null) srv.lbIn.delete(srv);
    const k = key >>> 0;
    srv.lbKey = k;
    srv.lbSeq = this.seq++;
    srv.lbIn = this;
    const a = this.nodes;
    // After every node with a key <= k: the newcomer is the last of its duplicates.
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid].lbKey <= k) lo = mid + 1;
      else hi = mid;
    }
    a.push(srv);
    for (let i = a.length - 1; i > lo; i--) {
      a[i] = a[i - 1];
      a[i].lbIdx = i;
    }
    a[lo] = srv;
    srv.lbIdx = lo;
  }

  /** HAProxy: eb32_delete(&srv->lb_node); nothing when <srv> is not linked here. */
  delete(srv: Server): void {
    if (srv.lbIn !== this) return;
    const a = this.nodes;
    for (let i = srv.lbIdx; i < a.length - 1; i++) {
      a[i] = a[i + 1];
      a[i].lbIdx = i;
    }
    a.pop();
    srv.lbIn = null;
    srv.lbIdx = -1;
  }

  /** HAProxy: eb32_first(). */
  first(): Server | null {
    return this.nodes.length ? this.nodes[0] : null;
  }

  /** HAProxy: eb32_next(&srv->lb_node). */
  next(srv: Server): Server | null {
    const i = srv.lbIdx + 1;
    return srv.lbIn === this && i < this.nodes.length ? this.nodes[i] : null;
  }
}

/** HAProxy: eb32_delete(&srv->lb_node) on whatever tree holds the node. */
export function lbNodeDelete(srv: Server): void {
  if (srv.lbIn !== null) srv.lbIn.delete(srv);
}
