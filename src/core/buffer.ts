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
  /**
   * The free buffers are free[0 .. nFree). The array only grows (slots past nFree are cleared, not
   * removed): pop() down to empty and push() again would make V8 shrink then reallocate its backing
   * store, an allocation per keep-alive request.
   */
  free: [] as (Buffer | null)[],
  nFree: 0,
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
  bufPool.nFree = 0;
}

/**
 * HAProxy: pool_gc2(): drop the free buffers, so that their memory can go back to the system (over
 * the -m limit). Returns how many were dropped.
 */
export function bufPoolGc(): number {
  const n = bufPool.nFree;
  bufPool.free.length = 0;
  bufPool.nFree = 0;
  return n;
}

/** HAProxy: b_alloc(). A buffer of bufPool.size bytes, from the pool when possible. */
export function bAlloc(): Buffer {
  bufPool.used++;
  if (bufPool.nFree > 0) {
    const i = --bufPool.nFree;
    const b = bufPool.free[i]!;
    bufPool.free[i] = null;
    return b;
  }
  bufPool.allocated++;
  return Buffer.allocUnsafeSlow(bufPool.size);
}

/** HAProxy: b_free(). Give <b> back to the pool. */
export function bFree(b: Buffer): void {
  bufPool.used--;
  if (b.length !== bufPool.size || bufPool.nFree >= bufPool.maxFree) return;
  if (bufPool.nFree === bufPool.free.length) bufPool.free.push(b);
  else bufPool.free[bufPool.nFree] = b;
  bufPool.nFree++;
}
