/**
 * Late-bound calls between stream.ts and backend.ts (each needs the other; CommonJS modules that
 * import each other cannot both run top-level code against the other's exports).
 */
import type { Server } from "./server";
import type { Stream } from "./stream";

/** Filled by backend.ts: a slot of <srv> was freed, process its queue (HAProxy: process_srv_queue). */
export const backendHooks: { serverSlotFreed: (srv: Server) => void } = { serverSlotFreed: () => {} };

/** Filled by backend.ts: take a stream out of the queue it waits in (HAProxy: pendconn_free). */
export const backendQueueHooks: { remove: (s: Stream) => void } = { remove: () => {} };
