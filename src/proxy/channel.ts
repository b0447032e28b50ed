/**
 * Channels: one direction of a stream (request: client to server; response: server to client).
 * HAProxy 1.8: struct channel (include/types/channel.h), src/channel.c, include/proto/channel.h.
 *
 * In TCP mode no analyser runs, so every byte read is immediately scheduled for forwarding
 * (HAProxy: channel_forward_forever(), to_forward = CHN_INFINITE_FORWARD): the buffer only holds
 * output data, in [head, tail). It is allocated on the first read and freed when it empties.
 */
import { native } from "../native";
import { bAlloc, bFree } from "./buffer";

/** Empty pipes kept for reuse, and how many pipes exist. HAProxy: src/pipe.c. */
const pipePool: [number, number][] = [];
let pipesUsed = 0;
/** Number of kernel pipes in use or pooled (HAProxy: pipes_used). */
export function pipesInUse(): number {
  return pipesUsed;
}
/** Empty pipes waiting in the pool for reuse (HAProxy: pipes_free). */
export function pipesFree(): number {
  return pipePool.length;
}
import { TICK_ETERNITY } from "../core/ticks";

/* HAProxy: CF_* channel flags (include/types/channel.h), the ones TCP mode uses. */
export const CF_READ_NULL = 0x00000001;
export const CF_READ_PARTIAL = 0x00000002;
export const CF_READ_TIMEOUT = 0x00000004;
export const CF_READ_ERROR = 0x00000008;
export const CF_READ_ACTIVITY = CF_READ_NULL | CF_READ_PARTIAL | CF_READ_ERROR;
export const CF_WAKE_CONNECT = 0x00000010;
export const CF_SHUTR = 0x00000020;
export const CF_SHUTR_NOW = 0x00000040;
export const CF_READ_NOEXP = 0x00000080;
export const CF_WRITE_NULL = 0x00000100;
export const CF_WRITE_PARTIAL = 0x00000200;
export const CF_WRITE_TIMEOUT = 0x00000400;
export const CF_WRITE_ERROR = 0x00000800;
export const CF_WRITE_ACTIVITY = CF_WRITE_NULL | CF_WRITE_PARTIAL | CF_WRITE_ERROR;
export const CF_WAKE_WRITE = 0x00001000;
export const CF_SHUTW = 0x00002000;
export const CF_SHUTW_NOW = 0x00004000;
export const CF_AUTO_CLOSE = 0x00008000;
export const CF_STREAMER = 0x00010000;
export const CF_STREAMER_FAST = 0x00020000;
export const CF_WROTE_DATA = 0x00040000;
export const CF_WRITE_EVENT = 0x00080000;
export const CF_AUTO_CONNECT = 0x00800000;
export const CF_KERN_SPLICING = 0x04000000;
export const CF_ISRESP = 0x80000000 | 0;

/** HAProxy: struct channel. */
export class Channel {
  /** CF_* flags. */
  flags = 0;
  /** Data buffer, null when empty (released to the pool). */
  buf: Buffer | null = null;
  /** Output data is buf[head, tail). */
  head = 0;
  tail = 0;
  /** Read / write expiry ticks. */
  rex = TICK_ETERNITY;
  wex = TICK_ETERNITY;
  /** Read / write timeouts (ms, 0 = none). */
  rto = 0;
  wto = 0;
  /** Bytes that went through. HAProxy: total. */
  total = 0;
  /** Kernel pipe for splicing: [readFd, writeFd] and the bytes in it; -1 when none. */
  pipeR = -1;
  pipeW = -1;
  pipeData = 0;
  /** Splicing policy of this channel: 0 never, 1 always (splice-request/-response), 2 auto. */
  spliceMode = 0;
  /** Consecutive full / small reads (HAProxy's streamer detection for splice-auto). */
  xferLarge = 0;
  xferSmall = 0;

  constructor(isResp: boolean) {
    if (isResp) this.flags |= CF_ISRESP;
  }

  /** HAProxy: channel_is_empty(): no data in the buffer nor in the pipe. */
  isEmpty(): boolean {
    return this.tail === this.head && this.pipeData === 0;
  }

  /** Bytes waiting to be sent. */
  outLen(): number {
    return this.tail - this.head;
  }

  /** HAProxy: channel_may_recv(): room left for another read (a pipe with data counts as full). */
  mayRecv(): boolean {
    if (this.pipeData !== 0) return false;
    return this.buf === null || this.tail < this.buf.length || this.head > 0;
  }

  /** HAProxy: get_pipe(): a kernel pipe for splicing; false when none can be had. */
  getPipe(): boolean {
    if (this.pipeR >= 0) return true;
    if (pipePool.length) {
      const p = pipePool.pop()!;
      this.pipeR = p[0];
      this.pipeW = p[1];
      return true;
    }
    const fds = new Int32Array(2);
    if (native.pipe(fds) < 0) return false;
    pipesUsed++;
    this.pipeR = fds[0];
    this.pipeW = fds[1];
    return true;
  }

  /** HAProxy: put_pipe(): give an empty pipe back; a pipe with data is closed. */
  putPipe(): void {
    if (this.pipeR < 0) return;
    if (this.pipeData === 0 && pipePool.length < 64) pipePool.push([this.pipeR, this.pipeW]);
    else {
      native.close(this.pipeR);
      native.close(this.pipeW);
      pipesUsed--;
    }
    this.pipeR = this.pipeW = -1;
    this.pipeData = 0;
  }

  /**
   * HAProxy: channel_alloc_buffer() + channel_recv_max(): get a buffer and make the free space
   * contiguous at the end (moving the pending output to the front). Returns the free length.
   */
  prepareRecv(): number {
    let b = this.buf;
    if (b === null) {
      b = this.buf = bAlloc();
      this.head = this.tail = 0;
    } else if (this.tail === b.length && this.head > 0) {
      b.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return b.length - this.tail;
  }

  /** HAProxy: channel_release_buffer(): give the buffer back once it is empty. */
  releaseIfEmpty(): void {
    if (this.buf !== null && this.head === this.tail) {
      bFree(this.buf);
      this.buf = null;
      this.head = this.tail = 0;
    }
  }

  /** HAProxy: channel_shutw_now(). */
  shutwNow(): void {
    this.flags |= CF_SHUTW_NOW;
  }

  /** HAProxy: channel_shutr_now(). */
  shutrNow(): void {
    this.flags |= CF_SHUTR_NOW;
  }

  /** HAProxy: channel_check_timeouts(): turn expired rex/wex into READ/WRITE_TIMEOUT. */
  checkTimeouts(now: number): void {
    if (!(this.flags & CF_READ_NOEXP) && this.rex !== 0 && ((this.rex - now) | 0) <= 0) {
      this.flags |= CF_READ_TIMEOUT;
    }
    if (this.wex !== 0 && ((this.wex - now) | 0) <= 0) this.flags |= CF_WRITE_TIMEOUT;
  }

  /** Drop all data (the stream is going away). */
  erase(): void {
    this.putPipe();
    if (this.buf !== null) {
      bFree(this.buf);
      this.buf = null;
    }
    this.head = this.tail = 0;
  }
}
