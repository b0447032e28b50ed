/**
 * I/O buffers from a pool. HAProxy: struct buffer (include/common/buffer.h), b_alloc()/b_free() and
 * the buffer pool (src/buffer.c, include/common/memory.h).
 *
 * A channel holds a buffer only while it has data: it is taken from the pool when a read starts and
 * given back as soon as it is empty, so an idle connection holds no buffer memory (HAProxy 1.8's
 * stream_release_buffers() does the same). Buffers are allocated outside V8's heap
 * (Buffer.allocUnsafeSlow) and reused, so steady forwarding allocates nothing.
 */

/** The pool of free buffers, all of one size (tune.bufsize). */
export const bufPool = {
  size: 16384,
  free: [] as Buffer[],
  /** Buffers currently handed out. */
  used: 0,
  /** Buffers ever allocated. */
  allocated: 0,
  /** Keep at most this many free buffers; more are left to the GC. */
  maxFree: 1024,
};

/** Set the buffer size (tune.bufsize); drops the free list. */
export function initBufPool(size: number): void {
  bufPool.size = size;
  bufPool.free.length = 0;
}

/** HAProxy: b_alloc(). A buffer of bufPool.size bytes, from the pool when possible. */
export function bAlloc(): Buffer {
  bufPool.used++;
  const b = bufPool.free.pop();
  if (b !== undefined) return b;
  bufPool.allocated++;
  return Buffer.allocUnsafeSlow(bufPool.size);
}

/** HAProxy: b_free(). Give <b> back to the pool. */
export function bFree(b: Buffer): void {
  bufPool.used--;
  if (b.length === bufPool.size && bufPool.free.length < bufPool.maxFree) bufPool.free.push(b);
}
