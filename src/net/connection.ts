/**
 * Connections and the raw socket transport. HAProxy 1.8: struct connection
 * (include/types/connection.h), conn_fd_handler() (src/connection.c), raw_sock_to_buf() /
 * raw_sock_from_buf() (src/raw_sock.c), tcp_connect_probe() (src/proto_tcp.c).
 *
 * A connection owns one fd. Its iocb, connFdHandler(), runs from the fd cache: it sends what the
 * data layer has queued, reads what arrived, finishes a pending connect(), then calls the data
 * layer's wake() so the stream interface can react (forward, stop reading, wake the stream task).
 * The data layer is reached through `conn.data` (HAProxy 1.7's conn->data), which keeps this file
 * free of stream code.
 */
import { native, C } from "../native";
import {
  fdtab, fdCantRecv, fdCantSend, fdDoneRecv, fdRecvActive, fdRecvReady, fdSendActive, fdSendReady,
  fdStopBoth, fdStopRecv, fdStopSend, fdDelete, FD_POLL_ERR, FD_POLL_HUP, FD_POLL_IN, FD_POLL_STICKY,
  FD_F_LINGER_RISK,
} from "../core/fd";
import { HAP_POLL_F_RDHUP, registry } from "../core/poller";
import { global } from "../core/global";
import { Channel } from "../proxy/channel";

/* HAProxy: CO_FL_* connection flags (the ones a TCP proxy needs). */
export const CO_FL_WAIT_L4_CONN = 0x00000001;
export const CO_FL_CONNECTED = 0x00000002;
export const CO_FL_SOCK_RD_SH = 0x00000004;
export const CO_FL_SOCK_WR_SH = 0x00000008;
export const CO_FL_ERROR = 0x00000010;
export const CO_FL_WAIT_ROOM = 0x00000020;
export const CO_FL_ADDR_FROM_SET = 0x00000040;
export const CO_FL_ADDR_TO_SET = 0x00000080;

const EAGAIN = -(require("node:os").constants.errno.EAGAIN as number);
const ENOTCONN = -(require("node:os").constants.errno.ENOTCONN as number);
const EALREADY = -(require("node:os").constants.errno.EALREADY as number);
const EINPROGRESS = -(require("node:os").constants.errno.EINPROGRESS as number);
const EISCONN = -(require("node:os").constants.errno.EISCONN as number);

/** What a connection calls in its data layer. HAProxy 1.7: struct data_cb. */
export interface ConnDataCb {
  recv(conn: Connection): void;
  send(conn: Connection): void;
  wake(conn: Connection): void;
}

/** HAProxy: struct connection. */
export class Connection {
  /** The socket, -1 when none. */
  fd = -1;
  /** The last fd this connection had (kept after close for the -d debug lines). */
  lastFd = -1;
  /** CO_FL_*. */
  flags = 0;
  /** The data layer (a stream interface). */
  data: ConnDataCb | null = null;
  /** The object the data layer hangs on (the stream interface). */
  owner: unknown = null;
  /** Peer (client side) or destination (server side) sockaddr bytes. */
  addr: Buffer | null = null;
  addrLen = 0;
  /** Last socket error seen (-errno), 0 when none. */
  errno = 0;
}

/**
 * HAProxy: conn_sock_read0(). The peer shut its write side: stop reading; a server that closed
 * first leaves no TIME_WAIT on our side, so the close no longer needs to reset.
 */
export function connSockRead0(conn: Connection): void {
  conn.flags |= CO_FL_SOCK_RD_SH;
  fdStopRecv(conn.fd);
  fdtab.flags[conn.fd] &= ~FD_F_LINGER_RISK;
}

/**
 * HAProxy: conn_sock_shutw(), with the 1.8 fix "refine the situations where we don't send shutw()":
 * a clean close sends a real FIN (shutdown(SHUT_WR)) unless the peer already closed its side.
 * 1.8.0 skipped it whenever linger_risk was set, so servers never saw the client's FIN.
 */
export function connSockShutw(conn: Connection, clean: boolean): void {
  if (conn.flags & CO_FL_SOCK_WR_SH) return;
  conn.flags |= CO_FL_SOCK_WR_SH;
  if (conn.fd < 0) return;
  fdStopSend(conn.fd);
  if (!clean) {
    fdtab.flags[conn.fd] |= FD_F_LINGER_RISK;
    return;
  }
  if (!(conn.flags & CO_FL_SOCK_RD_SH)) native.shutdown(conn.fd, C.SHUT_WR);
}

/** HAProxy: conn_full_close() / cs_close(): forget and close the fd (RST if linger_risk). */
export function connFullClose(conn: Connection): void {
  if (conn.fd >= 0) {
    fdStopBoth(conn.fd);
    fdDelete(conn.fd);
    conn.fd = -1;
  }
  conn.flags |= CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
}

/**
 * HAProxy: raw_sock_to_buf(). Read into <ic> until EAGAIN, a short read, a full buffer or EOF.
 * Returns the bytes read. Sets CO_FL_SOCK_RD_SH on EOF and CO_FL_ERROR on error.
 */
export function rawSockToBuf(conn: Connection, ic: Channel, maxTotal: number): number {
  const fd = conn.fd;
  let done = 0;
  if (!fdRecvReady(fd)) return 0;
  const ev = fdtab.ev[fd];
  if (!(ev & FD_POLL_IN)) {
    // No data announced: a HUP alone is the end of the stream; an ERR before the connect
    // finished is a connection failure.
    if ((ev & (FD_POLL_ERR | FD_POLL_HUP)) === FD_POLL_HUP) {
      rawRead0(conn);
      return 0;
    }
    if ((ev & FD_POLL_ERR) && (conn.flags & CO_FL_WAIT_L4_CONN)) {
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      return 0;
    }
  }
  while (done < maxTotal) {
    const room = ic.prepareRecv();
    if (room === 0) break;
    const want = room < maxTotal - done ? room : maxTotal - done;
    const ret = native.recv(fd, ic.buf!, ic.tail, want);
    if (ret > 0) {
      ic.tail += ret;
      done += ret;
      if (ret < want) {
        // A short read: the socket is drained. With a HUP pending, this was the last data.
        if (fdtab.ev[fd] & FD_POLL_HUP) {
          rawRead0(conn);
          break;
        }
        if (!(fdtab.flags[fd] & FD_F_LINGER_RISK) || (registry.cur!.flags & HAP_POLL_F_RDHUP)) {
          fdDoneRecv(fd);
          break;
        }
      }
    } else if (ret === 0) {
      rawRead0(conn);
      break;
    } else if (ret === EAGAIN || ret === ENOTCONN) {
      fdCantRecv(fd);
      break;
    } else {
      conn.errno = ret;
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      break;
    }
  }
  return done;
}

/** The read0 path of raw_sock_to_buf(): EOF, plus a late error report if one is queued. */
function rawRead0(conn: Connection): void {
  connSockRead0(conn);
  conn.flags &= ~CO_FL_WAIT_L4_CONN;
  if (fdtab.ev[conn.fd] & FD_POLL_ERR) conn.flags |= CO_FL_ERROR | CO_FL_SOCK_WR_SH;
}

/** HAProxy: SPLICE_FULL_HINT: stop splicing in once the pipe holds about this much. */
const SPLICE_FULL_HINT = 16 * 1448;
const EINVAL = -(require("node:os").constants.errno.EINVAL as number);
const ENOSYS = -(require("node:os").constants.errno.ENOSYS as number);
const EBADF = -(require("node:os").constants.errno.EBADF as number);

/**
 * HAProxy: raw_sock_to_pipe(). Move data from the socket into <ic>'s kernel pipe without copying it
 * through user space. Returns the bytes moved, or -1 when splice() does not work on this fd (the
 * caller falls back to buffers). EAGAIN with data already in the pipe most likely means the pipe is
 * full: stop (CO_FL_WAIT_ROOM) until the other side drains it.
 */
export function rawSockToPipe(conn: Connection, ic: Channel): number {
  const fd = conn.fd;
  let done = 0;
  if (!fdRecvReady(fd)) return 0;
  const ev = fdtab.ev[fd];
  if (!(ev & FD_POLL_IN) && (ev & (FD_POLL_ERR | FD_POLL_HUP)) === FD_POLL_HUP) {
    rawRead0(conn);
    return 0;
  }
  for (;;) {
    const ret = native.splice(fd, ic.pipeW, 1 << 30);
    if (ret > 0) {
      done += ret;
      ic.pipeData += ret;
      if (ic.pipeData >= SPLICE_FULL_HINT || ret >= global.bufsize) {
        conn.flags |= CO_FL_WAIT_ROOM;
        fdDoneRecv(fd);
        break;
      }
      continue;
    }
    if (ret === 0) {
      rawRead0(conn);
      break;
    }
    if (ret === EAGAIN) {
      if (ic.pipeData) conn.flags |= CO_FL_WAIT_ROOM;
      else fdCantRecv(fd);
      break;
    }
    if (ret === ENOSYS || ret === EINVAL || ret === EBADF) return done ? done : -1;
    conn.errno = ret;
    conn.flags |= CO_FL_ERROR;
    break;
  }
  return done;
}

/** HAProxy: raw_sock_from_pipe(). Drain <oc>'s pipe into the socket. Returns the bytes sent. */
export function rawSockFromPipe(conn: Connection, oc: Channel): number {
  const fd = conn.fd;
  let done = 0;
  if (!fdSendReady(fd)) return 0;
  while (oc.pipeData > 0) {
    const ret = native.splice(oc.pipeR, fd, oc.pipeData);
    if (ret > 0) {
      done += ret;
      oc.pipeData -= ret;
      continue;
    }
    if (ret === 0 || ret === EAGAIN) {
      fdCantSend(fd);
      break;
    }
    conn.errno = ret;
    conn.flags |= CO_FL_ERROR;
    break;
  }
  return done;
}

/**
 * HAProxy: raw_sock_from_buf(). Send <oc>'s pending data until EAGAIN or it is empty. Returns the
 * bytes sent.
 */
export function rawSockFromBuf(conn: Connection, oc: Channel, more: number): number {
  const fd = conn.fd;
  let done = 0;
  if (!fdSendReady(fd)) return 0;
  while (oc.tail > oc.head) {
    const len = oc.tail - oc.head;
    const ret = native.send(fd, oc.buf!, oc.head, len, more);
    if (ret > 0) {
      oc.head += ret;
      done += ret;
      if (oc.head === oc.tail) oc.head = oc.tail = 0;
      if (ret < len) break;
    } else if (ret === 0 || ret === EAGAIN || ret === ENOTCONN) {
      fdCantSend(fd);
      break;
    } else {
      conn.errno = ret;
      conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
      break;
    }
  }
  return done;
}

/**
 * HAProxy: tcp_connect_probe(). Called while CO_FL_WAIT_L4_CONN is set: once the fd is writable,
 * ask connect() again whether the connection is up. Returns true when it is.
 */
export function tcpConnectProbe(conn: Connection): boolean {
  const fd = conn.fd;
  if (conn.flags & CO_FL_ERROR) return false;
  if (!(conn.flags & CO_FL_WAIT_L4_CONN)) return true;
  if (!fdSendReady(fd)) return false;
  const ev = fdtab.ev[fd];
  if ((ev & FD_POLL_ERR) || (ev & (FD_POLL_IN | FD_POLL_HUP)) === FD_POLL_HUP) {
    const skerr = native.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ERROR);
    if (skerr > 0 && -skerr !== EAGAIN) return connectError(conn, -skerr);
  }
  const ret = native.connect(fd, conn.addr!, conn.addrLen);
  if (ret < 0) {
    if (ret === EALREADY || ret === EINPROGRESS) {
      fdStopRecv(fd);
      fdCantSend(fd);
      return false;
    }
    if (ret !== EISCONN) return connectError(conn, ret);
  }
  conn.flags &= ~CO_FL_WAIT_L4_CONN;
  return true;
}

function connectError(conn: Connection, err: number): boolean {
  conn.errno = err;
  fdtab.flags[conn.fd] &= ~FD_F_LINGER_RISK;
  conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
  fdStopBoth(conn.fd);
  return false;
}

/**
 * HAProxy: conn_fd_handler(), the iocb of every connection fd. Send first, then receive, then
 * finish a pending connect; then let the data layer react.
 */
export function connFdHandler(fd: number): void {
  const conn = fdtab.owner[fd] as Connection;
  const data = conn.data!;
  if (!(conn.flags & CO_FL_ERROR)) {
    if (fdSendReady(fd) && fdSendActive(fd)) data.send(conn);
    if (conn.fd >= 0 && !(conn.flags & CO_FL_ERROR) && fdRecvReady(fd) && fdRecvActive(fd)) data.recv(conn);
    if (conn.fd >= 0 && (conn.flags & CO_FL_WAIT_L4_CONN)) tcpConnectProbe(conn);
  }
  if (!(conn.flags & (CO_FL_WAIT_L4_CONN | CO_FL_CONNECTED))) conn.flags |= CO_FL_CONNECTED;
  data.wake(conn);
  if (conn.fd === fd) fdtab.ev[fd] &= FD_POLL_STICKY;
}
