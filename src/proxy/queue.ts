/**
 * Connection queues. HAProxy 1.8: src/queue.c and include/proto/queue.h.
 *
 * A stream that cannot get a connection slot waits in a queue (HAProxy: a struct pendconn in a
 * pendconns list): the queue of the server it was assigned to when that server is full, or the
 * backend's queue when the load balancer found every server saturated. When a slot frees up,
 * process_srv_queue() hands it to the next stream of the server's queue, else of the backend's
 * queue (server queue first: in TCP mode no request date orders them), marks it assigned and wakes
 * it. When a server goes down with `option redispatch`, its queue is sent back to load balancing
 * (pendconn_redistribute); when a server comes up it takes streams from the backend queue
 * (pendconn_grab_from_px).
 *
 * hapoll links the queued streams through the streams themselves (pendPrev/pendNext), so queueing
 * and dequeueing allocate nothing.
 */
import { taskWakeup, TASK_WOKEN_RES } from "../core/task";
import { type Proxy } from "./proxy";
import { type PendList, type Server, srvCurrentlyUsable } from "./server";
import type { Stream } from "./stream";
import { SF_ADDR_SET, SF_ASSIGNED, SF_DIRECT, SF_FORCE_PRST } from "../types/stream-t";
import { sessChangeServer } from "./lb";

/** HAProxy: srv_dynamic_maxconn(): the server's connection limit (no minconn/fullconn scaling). */
export function srvDynamicMaxconn(s: Server): number {
  return s.maxconn;
}

/** HAProxy: server_has_room(). */
export function serverHasRoom(s: Server): boolean {
  return !s.maxconn || s.curSess < srvDynamicMaxconn(s);
}

/**
 * HAProxy: may_dequeue_tasks(): whether a slot of <s> could go to a queued stream (its own queue,
 * or the backend's when <s> is usable).
 */
export function mayDequeueTasks(s: Server | null, p: Proxy): boolean {
  return s !== null && (s.nbpend !== 0 || (p.nbpend !== 0 && srvCurrentlyUsable(s))) &&
    (!s.maxconn || s.curSess < srvDynamicMaxconn(s));
}

function listAppend(l: PendList, s: Stream): void {
  s.pendNext = null;
  s.pendPrev = l.tail;
  if (l.tail !== null) l.tail.pendNext = s;
  else l.head = s;
  l.tail = s;
  s.pendList = l;
}

function listUnlink(l: PendList, s: Stream): void {
  if (s.pendPrev !== null) s.pendPrev.pendNext = s.pendNext;
  else l.head = s.pendNext;
  if (s.pendNext !== null) s.pendNext.pendPrev = s.pendPrev;
  else l.tail = s.pendPrev;
  s.pendPrev = s.pendNext = null;
  s.pendList = null;
}

/**
 * HAProxy: pendconn_add(). Queue <strm> on its server when it is assigned to one, else on its
 * backend; record the queue length it saw for the log (%sq / %bq).
 */
export function pendconnAdd(strm: Stream): void {
  const srv = strm.target;
  const be = strm.be;
  if ((strm.flags & SF_ASSIGNED) && srv !== null) {
    listAppend(srv.pendconns, strm);
    strm.pendSrv = srv;
    const count = ++srv.nbpend;
    strm.srvQueueSize += count;
    if (count > srv.counters.nbpendMax) srv.counters.nbpendMax = count;
  } else {
    listAppend(be.pendconns, strm);
    strm.pendSrv = null;
    const count = ++be.nbpend;
    strm.prxQueueSize += count;
    if (count > be.beCounters.nbpendMax) be.beCounters.nbpendMax = count;
  }
  be.totpend++;
}

/** HAProxy: pendconn_free(): take <strm> out of the queue it waits in. */
export function pendconnFree(strm: Stream): void {
  const l = strm.pendList;
  if (l === null) return;
  listUnlink(l, strm);
  if (strm.pendSrv !== null) strm.pendSrv.nbpend--;
  else strm.be.nbpend--;
  strm.pendSrv = null;
  strm.be.totpend--;
}

/**
 * HAProxy: pendconn_get_next_strm(). Dequeue the next stream for a slot of <srv>: from its own
 * queue, else from the backend's (only while <srv> is usable). The stream is marked assigned to
 * <srv> and holds the slot.
 */
function pendconnGetNextStrm(srv: Server, px: Proxy): Stream | null {
  let strm = srv.pendconns.head;
  if (strm === null) {
    if (!srvCurrentlyUsable(srv)) return null;
    strm = px.pendconns.head;
    if (strm === null) return null;
  }
  pendconnFree(strm);
  strm.flags |= SF_ASSIGNED;
  strm.target = srv;
  sessChangeServer(strm, srv);
  return strm;
}

/** HAProxy: process_srv_queue(): give <s>'s free slots to queued streams and wake them. */
export function processSrvQueue(s: Server): void {
  const p = s.proxy;
  const maxconn = srvDynamicMaxconn(s);
  // Without maxconn nothing waits for this server's slots (the LB never finds it saturated).
  while (s.served < maxconn) {
    const strm = pendconnGetNextStrm(s, p);
    if (strm === null) break;
    taskWakeup(strm.task, TASK_WOKEN_RES);
  }
}

/**
 * HAProxy: pendconn_redistribute(). <s> went down: with `option redispatch`, send the streams
 * queued on it back to load balancing. Returns how many were moved.
 */
export function pendconnRedistribute(s: Server): number {
  let xferred = 0;
  let strm = s.pendconns.head;
  while (strm !== null) {
    const next: Stream | null = strm.pendNext;
    if (strm.be.cfg.options.redispatch && !(strm.flags & SF_FORCE_PRST)) {
      strm.flags &= ~(SF_DIRECT | SF_ASSIGNED | SF_ADDR_SET);
      pendconnFree(strm);
      taskWakeup(strm.task, TASK_WOKEN_RES);
      xferred++;
    }
    strm = next;
  }
  return xferred;
}

/**
 * HAProxy: pendconn_grab_from_px(). <s> came up: take streams waiting in the backend's queue, as
 * many as its maxconn allows, and send them to load balancing again. Returns how many.
 */
export function pendconnGrabFromPx(s: Server): number {
  if (!srvCurrentlyUsable(s)) return 0;
  const px = s.proxy;
  let xferred = 0;
  for (; !s.maxconn || xferred < srvDynamicMaxconn(s); xferred++) {
    const strm = px.pendconns.head;
    if (strm === null) break;
    strm.target = s;
    pendconnFree(strm);
    taskWakeup(strm.task, TASK_WOKEN_RES);
  }
  return xferred;
}
