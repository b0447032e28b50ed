/**
 * Channels: one direction of a stream (request: client to server; response: server to client).
 * HAProxy 1.8: struct channel (include/types/channel.h), src/channel.c, include/proto/channel.h.
 *
 * The buffer is allocated on the first read and given back to the pool when it empties.
 */
import type { XprtChannel } from "../net/connection";
import { native } from "../native";
import { bAlloc, bFree } from "../core/buffer";

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
import { global } from "../core/global";

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
/** HAProxy: CF_READ_DONTWAIT: wake the task after every read (HTTP mode; TCP mode never sets it). */
export const CF_READ_DONTWAIT = 0x00400000;
/** HAProxy: CF_DONT_READ, CF_EXPECT_MORE, CF_SEND_DONTWAIT, CF_NEVER_WAIT: HTTP-mode hints, never set in TCP mode. */
export const CF_DONT_READ = 0x01000000 * 8;
export const CF_EXPECT_MORE = 0x10000000;
export const CF_SEND_DONTWAIT = 0x20000000;
export const CF_NEVER_WAIT = 0x40000000;
export const CF_AUTO_CONNECT = 0x00800000;
export const CF_KERN_SPLICING = 0x04000000;
export const CF_ISRESP = 0x80000000 | 0;

/** HAProxy: CHN_INFINITE_FORWARD: to_forward for a channel that forwards everything, forever. */
export const CHN_INFINITE_FORWARD = 0xffffffff;

/** The stream interface a channel writes to, as far as the channel needs to know it (its state). */
export interface ChannelConsumer {
  state: number;
}
/** HAProxy: SI_ST_EST (kept here so the channel needs no import of stream_interface.ts). */
const SI_ST_EST = 7;

/**
 * HAProxy: struct channel, with its struct buffer folded in (include/common/buffer.h). The buffer
 * is a ring of <size> bytes: <o> bytes of output (scheduled for sending) end at <p>, then <i> bytes
 * of input (read, not yet scheduled) start at <p>; both may wrap around the end:
 *
 *     [iii|                |ooooooo|iiiiiii]      p = start of the input
 *         ^bi_end          ^bo_ptr ^p
 *
 * In TCP mode nothing analyses the data: process_stream schedules everything for forwarding
 * (buffer_flush + channel_forward_forever), after which each read goes straight to output. What is
 * read before that (the client's first bytes, read at accept) stays input, and the buffer's last
 * tune.maxrewrite bytes are not used for it (channel_recv_limit()): hence 1.8's first recv() of
 * 15360 bytes, and 16384 afterwards.
 */
export class Channel implements XprtChannel {
  /** CF_* flags. */
  flags = 0;
  /** The buffer's storage; null while the channel holds no data (HAProxy: &buf_empty). */
  buf: Buffer | null = null;
  /** Offset of the start of the input in buf. HAProxy: buf->p. */
  p = 0;
  /** Input bytes (from p on). HAProxy: buf->i. */
  i = 0;
  /** Output bytes (just before p). HAProxy: buf->o. */
  o = 0;
  /** Bytes still to forward without analysis. HAProxy: to_forward. */
  toForward = 0;
  /** The stream interface this channel writes to (set by the stream). HAProxy: chn_cons(). */
  cons: ChannelConsumer | null = null;
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
  /** now_ms of the last read. HAProxy: last_read. */
  lastRead = 0;

  constructor(isResp: boolean) {
    if (isResp) this.flags |= CF_ISRESP;
  }

  /** HAProxy: channel_is_empty(): no output in the buffer nor in the pipe. */
  isEmpty(): boolean {
    return this.o === 0 && this.pipeData === 0;
  }

  /** HAProxy: buffer_not_empty(): input or output in the buffer. */
  bufNotEmpty(): boolean {
    return this.i + this.o !== 0;
  }

  /** HAProxy: channel_may_send(): the consumer is connected. */
  maySend(): boolean {
    return this.cons !== null && this.cons.state === SI_ST_EST;
  }

  /**
   * HAProxy: channel_may_recv(): room left for another read. The last tune.maxrewrite bytes are a
   * reserve that input may only use once the consumer is connected and forwarding covers it.
   */
  mayRecv(): boolean {
    // hapoll keeps spliced and buffered data apart: a pipe holding data counts as full.
    if (this.pipeData !== 0) return false;
    if (this.buf === null) return true;
    const rem = this.buf.length - this.o - this.i;
    if (rem === 0) return false;
    if (rem > global.maxrewrite) return true;
    if (!this.maySend()) return false;
    const over = this.i + global.maxrewrite - this.buf.length;
    return over < 0 || over < this.toForward;
  }

  /**
   * HAProxy: channel_recv_limit(): how far the buffer may fill (its size, less the part of the
   * reserve that output and scheduled forwarding do not already cover).
   */
  recvLimit(): number {
    const size = this.buf === null ? global.bufsize : this.buf.length;
    if (this.buf === null) return size;
    let reserve = global.maxrewrite;
    if (this.maySend()) {
      const transit = this.o + this.toForward;
      if (transit >= reserve) return size;
      reserve -= transit;
    }
    return size - reserve;
  }

  /** HAProxy: channel_recv_max(): the room a read may fill now. */
  recvMax(): number {
    const r = this.recvLimit() - this.i - this.o;
    return r < 0 ? 0 : r;
  }

  /** HAProxy: channel_alloc_buffer(): make sure there is a buffer (from the pool). */
  allocBuffer(): void {
    if (this.buf === null) {
      this.buf = bAlloc();
      this.p = this.i = this.o = 0;
    }
  }

  /** HAProxy: bi_end(): offset where the next input byte goes. */
  biEnd(): number {
    const e = this.p + this.i;
    return e >= this.buf!.length ? e - this.buf!.length : e;
  }

  /** HAProxy: bo_ptr(): offset of the first output byte. */
  boPtr(): number {
    const b = this.p - this.o;
    return b < 0 ? b + this.buf!.length : b;
  }

  /** HAProxy: b_adv(): schedule <n> input bytes for sending (they become output). */
  bAdv(n: number): void {
    this.i -= n;
    this.o += n;
    const q = this.p + n;
    this.p = q >= this.buf!.length ? q - this.buf!.length : q;
  }

  /** HAProxy: buffer_flush(): all input becomes output. */
  flush(): void {
    if (this.i !== 0) this.bAdv(this.i);
  }

  /** HAProxy: channel_forward_forever(): schedule all input, and everything that will come. */
  forwardForever(): void {
    this.flush();
    this.toForward = CHN_INFINITE_FORWARD;
  }

  /** Input was appended at bi_end(): account for it (HAProxy: buf->i += ret in raw_sock_to_buf()). */
  addInput(n: number): void {
    this.i += n;
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

  /** HAProxy: channel_release_buffer(): give the buffer back once it is empty. */
  releaseIfEmpty(): void {
    if (this.buf !== null && this.i === 0 && this.o === 0) {
      bFree(this.buf);
      this.buf = null;
      this.p = 0;
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
    this.p = this.i = this.o = 0;
  }
}
