/**
 * `balance first`: the first available server. HAProxy 1.8: src/lb_fas.c.
 *
 * Usable servers are ordered by their numeric id (puid); a pick is the first one not saturated, so
 * server 1 takes connections up to its maxconn before server 2 gets any. The tree handling is
 * leastconn's (lb_fwlc.ts) with the id as the key.
 */
import type { Proxy } from "./proxy";
import type { Server } from "./server";
import { treeGetNextServer, treeLbInit } from "./lb_fwlc";

/** HAProxy: fas_queue_srv() key. */
function fasKey(s: Server): number {
  return s.puid;
}

/** HAProxy: fas_init_server_tree(). */
export function fasInitServerTree(p: Proxy): void {
  treeLbInit(p, fasKey);
}

/** HAProxy: fas_get_next_server(). */
export function fasGetNextServer(p: Proxy, srvtoavoid: Server | null): Server | null {
  return treeGetNextServer(p, srvtoavoid);
}
