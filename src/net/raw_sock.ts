/**
 * The raw socket transport: reading into a channel's buffer or pipe and sending from it, with
 * recv/send/splice. HAProxy 1.8: src/raw_sock.c (raw_sock_to_buf, raw_sock_from_buf,
 * raw_sock_to_pipe, raw_sock_from_pipe). Each call updates the connection's flags as HAProxy's do
 * (fdCantRecv/fdCantSend on E_AGAIN, read0 on EOF, CO_FL_ERROR on errors).
 */
import { CO_FL_CTRL_READY, CO_FL_ERROR, CO_FL_SOCK_RD_SH, CO_FL_SOCK_WR_SH, CO_FL_WAIT_L4_CONN, CO_FL_WAIT_ROOM, CO_SFL_MSG_MORE, type Connection, connCondUpdateSockPolling, connRefreshPollingFlags, connSockRead0 } from "./connection";
import { E_BADF, E_INVAL, E_NOSYS, E_AGAIN, E_INTR, E_NOTCONN } from "../core/errno";
import { FD_F_LINGER_RISK, fdCantRecv, fdCantSend, fdDoneRecv, fdRecvReady, fdSendReady, fdtab } from "../core/fd";
import { global } from "../core/global";
import { HAP_POLL_F_RDHUP, registry } from "../core/poller";
import { native, FD_POLL_ERR, FD_POLL_HUP, FD_POLL_IN } from "../native";

/**
 * What the transport reads into and sends from: a channel's buffer (HAProxy 1.8's struct buffer:
 * the storage, p, i, o) and its kernel pipe (struct pipe). The channel of src/proxy/channel.ts is
 * the one implementation; raw_sock sees only these fields, as raw_sock.c sees only the buffer.
 */
export interface XprtChannel {
  buf: Buffer | null;
  p: number;
  i: number;
  o: number;
  pipeR: number;
  pipeW: number;
  pipeData: number;
  /** Offset just past the input (HAProxy: bi_end()). */
  biEnd(): number;
  /** Offset of the first output byte (HAProxy: b_ptr(b, -o)). */
  boPtr(): number;
}

/**
 * HAProxy: raw_sock_to_buf(). One recv() into the free space after the input (a second one when
 * the free space wraps and the first filled its part exactly), at most <count> bytes. Returns the
 * bytes read; sets CO_FL_SOCK_RD_SH on EOF and CO_FL_ERROR on error. A short read on a polled fd
 * means the socket is drained (fd_done_recv()).
 */
export function rawSockToBuf(conn: Connection, ic: XprtChannel, count: number): number {
  if (!(conn.flags & CO_FL_CTRL_READY)) return 0;
  const fd = conn.fd;
  if (!fdRecvReady(fd)) return 0;
  connRefreshPollingFlags(conn);
  let done = 0;
  const ev = fdtab.ev[fd];
  if (!(ev & FD_POLL_IN)) {
    // No data announced: a HUP alone is the end of the stream; an ERR before the connect
    // finished is a connection failure.
    if ((ev & (FD_POLL_ERR | FD_POLL_HUP)) === FD_POLL_HUP) return rawRead0(conn, done);
    if ((ev & FD_POLL_ERR) && (conn.flags & CO_FL_WAIT_L4_CONN)) {
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      connCondUpdateSockPolling(conn);
      return done;
    }
  }
  const buf = ic.buf!;
  const size = buf.length;
  // Realign an empty buffer so that the next reads are as large as possible.
  if (ic.i + ic.o === 0) ic.p = 0;
  while (count > 0) {
    // The room after the input, else the room before the output (channel_recv_max() in <count>
    // keeps either within the free space).
    let tryLen = size - (ic.p + ic.i);
    if (tryLen <= 0) {
      tryLen = ic.p - ic.o;
      if (tryLen <= 0) break;
    }
    if (tryLen > count) tryLen = count;
    const off = ic.biEnd();
    const ret = native.recv(fd, buf, off, tryLen);
    if (ret > 0) {
      ic.i += ret;
      done += ret;
      if (ret < tryLen) {
        // On level-triggered pollers a HUP usually comes once the buffer is drained; unless the
        // poller reports RDHUP, a close is only read when it matters (linger_risk).
        if (fdtab.ev[fd] & FD_POLL_HUP) return rawRead0(conn, done);
        if (!(fdtab.flags[fd] & FD_F_LINGER_RISK) || (registry.cur!.flags & HAP_POLL_F_RDHUP)) {
          fdDoneRecv(fd);
          break;
        }
      }
      count -= ret;
    } else if (ret === 0) {
      return rawRead0(conn, done);
    } else if (ret === E_AGAIN || ret === E_NOTCONN) {
      fdCantRecv(fd);
      break;
    } else if (ret !== E_INTR) {
      conn.errno = ret;
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      break;
    }
  }
  if ((conn.flags & CO_FL_WAIT_L4_CONN) && done) conn.flags &= ~CO_FL_WAIT_L4_CONN;
  connCondUpdateSockPolling(conn);
  return done;
}

/** The read0 exit of raw_sock_to_buf()/raw_sock_to_pipe(): EOF, plus a late error if one is queued. */
function rawRead0(conn: Connection, done: number): number {
  connSockRead0(conn);
  conn.flags &= ~CO_FL_WAIT_L4_CONN;
  if (fdtab.ev[conn.fd] & FD_POLL_ERR) conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
  connCondUpdateSockPolling(conn);
  return done;
}

/** HAProxy: SPLICE_FULL_HINT: stop splicing in once the pipe holds about this much. */
const SPLICE_FULL_HINT = 16 * 1448;


/**
 * HAProxy: raw_sock_to_pipe(). Move data from the socket into <ic>'s kernel pipe without copying it
 * through user space. Returns the bytes moved, or -1 when splice() does not work on this fd (the
 * caller falls back to buffers). E_AGAIN with data already in the pipe most likely means the pipe is
 * full: stop (CO_FL_WAIT_ROOM) until the other side drains it.
 */
export function rawSockToPipe(conn: Connection, ic: XprtChannel): number {
  if (!(conn.flags & CO_FL_CTRL_READY)) return 0;
  const fd = conn.fd;
  let done = 0;
  if (!fdRecvReady(fd)) return 0;
  connRefreshPollingFlags(conn);
  const ev = fdtab.ev[fd];
  if (!(ev & FD_POLL_IN) && (ev & (FD_POLL_ERR | FD_POLL_HUP)) === FD_POLL_HUP) return rawRead0(conn, 0);
  for (;;) {
    const ret = native.splice(fd, ic.pipeW, 1 << 30);
    if (ret > 0) {
      done += ret;
      ic.pipeData += ret;
      if (ic.pipeData >= SPLICE_FULL_HINT || ret >= global.recvEnough) {
        conn.flags |= CO_FL_WAIT_ROOM;
        fdDoneRecv(fd);
        break;
      }
      continue;
    }
    if (ret === 0) return rawRead0(conn, done);
    if (ret === E_AGAIN) {
      if (ic.pipeData) conn.flags |= CO_FL_WAIT_ROOM;
      else fdCantRecv(fd);
      break;
    }
    if (ret === E_NOSYS || ret === E_INVAL || ret === E_BADF) return done ? done : -1;
    conn.errno = ret;
    conn.flags |= CO_FL_ERROR;
    break;
  }
  if ((conn.flags & CO_FL_WAIT_L4_CONN) && done) conn.flags &= ~CO_FL_WAIT_L4_CONN;
  connCondUpdateSockPolling(conn);
  return done;
}

/** HAProxy: raw_sock_from_pipe(). Drain <oc>'s pipe into the socket. Returns the bytes sent. */
export function rawSockFromPipe(conn: Connection, oc: XprtChannel): number {
  if (!(conn.flags & CO_FL_CTRL_READY)) return 0;
  const fd = conn.fd;
  let done = 0;
  if (!fdSendReady(fd)) return 0;
  connRefreshPollingFlags(conn);
  while (oc.pipeData > 0) {
    const ret = native.splice(oc.pipeR, fd, oc.pipeData);
    if (ret > 0) {
      done += ret;
      oc.pipeData -= ret;
      continue;
    }
    if (ret === 0 || ret === E_AGAIN) {
      fdCantSend(fd);
      break;
    }
    conn.errno = ret;
    conn.flags |= CO_FL_ERROR;
    break;
  }
  if ((conn.flags & CO_FL_WAIT_L4_CONN) && done) conn.flags &= ~CO_FL_WAIT_L4_CONN;
  connCondUpdateSockPolling(conn);
  return done;
}

/**
 * HAProxy: raw_sock_from_buf(). Send <oc>'s output: one send() of the contiguous part (a second one
 * when the output wraps and the first went out whole). MSG_MORE when more follows (the wrapped
 * part) or when <flags> has CO_SFL_MSG_MORE. Returns the bytes sent.
 */
export function rawSockFromBuf(conn: Connection, oc: XprtChannel, flags: number): number {
  if (!(conn.flags & CO_FL_CTRL_READY)) return 0;
  const fd = conn.fd;
  if (!fdSendReady(fd)) return 0;
  connRefreshPollingFlags(conn);
  let done = 0;
  while (oc.o !== 0) {
    const start = oc.boPtr();
    const size = oc.buf!.length;
    const tryLen = start + oc.o > size ? size - start : oc.o;
    const more = tryLen < oc.o || (flags & CO_SFL_MSG_MORE) ? 1 : 0;
    const ret = native.send(fd, oc.buf!, start, tryLen, more);
    if (ret > 0) {
      oc.o -= ret;
      done += ret;
      if (oc.i + oc.o === 0) oc.p = 0;
      if (ret < tryLen) break;
    } else if (ret === 0 || ret === E_AGAIN || ret === E_NOTCONN) {
      fdCantSend(fd);
      break;
    } else if (ret !== E_INTR) {
      conn.errno = ret;
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      break;
    }
  }
  if ((conn.flags & CO_FL_WAIT_L4_CONN) && done) conn.flags &= ~CO_FL_WAIT_L4_CONN;
  connCondUpdateSockPolling(conn);
  return done;
}
