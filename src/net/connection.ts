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
import { bAlloc } from "../proxy/buffer";
import {
  ProxyHeader, ppParse, makeProxyLine, PP_MAX_SEND, CO_ER_PRX_ABORT, CO_ER_PRX_EMPTY, CO_ER_PRX_TRUNCATED,
} from "./proxy_protocol";

/* HAProxy: CO_FL_* connection flags (the ones a TCP proxy needs). */
export const CO_FL_WAIT_L4_CONN = 0x00000001;
export const CO_FL_CONNECTED = 0x00000002;
export const CO_FL_SOCK_RD_SH = 0x00000004;
export const CO_FL_SOCK_WR_SH = 0x00000008;
export const CO_FL_ERROR = 0x00000010;
export const CO_FL_WAIT_ROOM = 0x00000020;
export const CO_FL_ADDR_FROM_SET = 0x00000040;
export const CO_FL_ADDR_TO_SET = 0x00000080;
/** Handshake: a PROXY protocol header must be read before anything else (bind `accept-proxy`). */
export const CO_FL_ACCEPT_PROXY = 0x00000100;
/** Handshake: a PROXY protocol header must be sent before anything else (server `send-proxy[-v2]`). */
export const CO_FL_SEND_PROXY = 0x00000200;
/** A PROXY protocol header was received on this connection. */
export const CO_FL_RCVD_PROXY = 0x00000400;
/** HAProxy: CO_FL_HANDSHAKE: any handshake still pending (no data I/O until it is done). */
export const CO_FL_HANDSHAKE = CO_FL_ACCEPT_PROXY | CO_FL_SEND_PROXY;

const EAGAIN = -(require("node:os").constants.errno.EAGAIN as number);
const ENOTCONN = -(require("node:os").constants.errno.ENOTCONN as number);
const EALREADY = -(require("node:os").constants.errno.EALREADY as number);
const EINPROGRESS = -(require("node:os").constants.errno.EINPROGRESS as number);
const EISCONN = -(require("node:os").constants.errno.EISCONN as number);
const EINTR = -(require("node:os").constants.errno.EINTR as number);

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
  /**
   * Client side: the source address (HAProxy addr.from: the peer, or what a PROXY header said).
   * Server side: the destination.
   */
  addr: Buffer | null = null;
  addrLen = 0;
  /**
   * Client side: the address the client connected to (HAProxy addr.to), set by a PROXY header or
   * read lazily with getsockname() (connGetToAddr). Valid when CO_FL_ADDR_TO_SET.
   */
  toAddr: Buffer | null = null;
  toAddrLen = 0;
  /** Last socket error seen (-errno), 0 when none. */
  errno = 0;
  /** Set by the data layer when a read filled its whole buffer (more is probably waiting). */
  readFull = false;
  /** HAProxy: err_code: why a handshake failed (CO_ER_*, proxy_protocol.ts), 0 when none. */
  errCode = 0;
  /**
   * accept-proxy: the buffer (from the pool) the header is read into, and how many bytes it holds.
   * Bytes past the header stay there: the buffer becomes the request channel's (no copy).
   */
  hsBuf: Buffer | null = null;
  hsLen = 0;
  /** accept-proxy: the header's length once parsed. */
  hsHdrLen = 0;
  /**
   * HAProxy: send_proxy_ofs: 0 when there is nothing to send, 1 before the first attempt, then
   * minus the number of bytes of the header still to send (it may go out in pieces).
   */
  sendProxyOfs = 0;
  /** send-proxy: 1 or 2 (send-proxy-v2). */
  ppVersion = 0;
  /** send-proxy: the client connection whose addresses the header describes. */
  ppRemote: Connection | null = null;
}

/** The header being decoded (one at a time: the loop is single-threaded). */
const ppHdr = new ProxyHeader();
/** HAProxy: the trash chunk make_proxy_line() writes into. */
const ppOut = Buffer.alloc(PP_MAX_SEND);

/**
 * HAProxy: conn_get_to_addr(): the address the client connected to, read with getsockname() the
 * first time it is needed (a PROXY header sets it instead).
 */
export function connGetToAddr(conn: Connection): void {
  if (conn.flags & CO_FL_ADDR_TO_SET) return;
  if (conn.fd < 0) return;
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.getsockname(conn.fd, sa);
  if (len <= 0) return;
  conn.toAddr = sa;
  conn.toAddrLen = len;
  conn.flags |= CO_FL_ADDR_TO_SET;
}

/** The failure exit of the handshakes: stop polling, flag the error, keep the reason. */
function connHandshakeFail(conn: Connection, code: number): boolean {
  if (code) conn.errCode = code;
  fdStopBoth(conn.fd);
  conn.flags |= CO_FL_ERROR;
  return false;
}

/**
 * HAProxy: conn_recv_proxy(). Read the PROXY header of a freshly accepted connection: returns true
 * once it is complete (the addresses it carries replace the connection's, CO_FL_ACCEPT_PROXY is
 * cleared), false while more bytes are needed (waiting for the poller) or on failure (CO_FL_ERROR,
 * errCode says why).
 *
 * 1.8 peeks at the socket (MSG_PEEK) and re-reads exactly the header once parsed. hapoll reads into
 * a pool buffer instead and keeps whatever follows the header there: that buffer becomes the request
 * channel's, so nothing is copied, the addon needs no peek call, and a header split over several
 * segments can be waited for without the level-triggered spin that makes 1.8 reject it.
 */
export function connRecvProxy(conn: Connection): boolean {
  const fd = conn.fd;
  if (conn.flags & CO_FL_SOCK_RD_SH) return connHandshakeFail(conn, CO_ER_PRX_ABORT);
  if (!fdRecvReady(fd)) return false;
  let buf = conn.hsBuf;
  if (buf === null) {
    buf = conn.hsBuf = bAlloc();
    conn.hsLen = 0;
  }
  for (;;) {
    const room = buf.length - conn.hsLen;
    if (room === 0) return connHandshakeFail(conn, CO_ER_PRX_TRUNCATED);
    const ret = native.recv(fd, buf, conn.hsLen, room);
    if (ret > 0) {
      conn.hsLen += ret;
      const r = ppParse(buf, conn.hsLen, buf.length, ppHdr);
      if (r < 0) return connHandshakeFail(conn, -r);
      if (r === 0) continue;
      conn.hsHdrLen = r;
      if (ppHdr.addrSet) {
        conn.addr = Buffer.from(ppHdr.from.subarray(0, ppHdr.fromLen));
        conn.addrLen = ppHdr.fromLen;
        conn.toAddr = Buffer.from(ppHdr.to.subarray(0, ppHdr.toLen));
        conn.toAddrLen = ppHdr.toLen;
        conn.flags |= CO_FL_ADDR_FROM_SET | CO_FL_ADDR_TO_SET;
      }
      conn.flags = (conn.flags & ~CO_FL_ACCEPT_PROXY) | CO_FL_RCVD_PROXY;
      return true;
    }
    if (ret === 0) {
      // The client closed: before sending anything, or in the middle of the header.
      conn.flags |= CO_FL_SOCK_RD_SH;
      return connHandshakeFail(conn, conn.hsLen ? CO_ER_PRX_TRUNCATED : CO_ER_PRX_EMPTY);
    }
    if (ret === EAGAIN) {
      fdCantRecv(fd);
      return false;
    }
    if (ret === EINTR) continue;
    conn.errno = ret;
    conn.flags |= CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
    return connHandshakeFail(conn, CO_ER_PRX_ABORT);
  }
}

/**
 * HAProxy: conn_si_send_proxy(). Send the PROXY header on a new server connection before any data:
 * returns true once all of it is out (which also proves the connection is established, so
 * CO_FL_WAIT_L4_CONN goes too), false while waiting for the socket (it may take several calls:
 * the header is rebuilt each time and sent from where the last send stopped), or on error.
 */
export function connSendProxy(conn: Connection): boolean {
  const fd = conn.fd;
  if (conn.flags & CO_FL_SOCK_WR_SH) return connHandshakeFail(conn, 0);
  while (conn.sendProxyOfs !== 0) {
    const rc = conn.ppRemote;
    const n = rc !== null
      ? makeProxyLine(ppOut, conn.ppVersion, rc.addr, rc.addrLen, (rc.flags & CO_FL_ADDR_TO_SET) ? rc.toAddr : null, rc.toAddrLen)
      : makeProxyLine(ppOut, conn.ppVersion, null, 0, null, 0);
    if (n === 0) return connHandshakeFail(conn, 0);
    if (conn.sendProxyOfs > 0) conn.sendProxyOfs = -n;
    const ret = native.send(fd, ppOut, n + conn.sendProxyOfs, -conn.sendProxyOfs, 0);
    if (ret > 0) {
      conn.sendProxyOfs += ret;
      continue;
    }
    if (ret === 0 || ret === EAGAIN || ret === ENOTCONN) {
      fdCantSend(fd);
      return false;
    }
    conn.errno = ret;
    conn.flags |= CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
    return connHandshakeFail(conn, 0);
  }
  conn.flags &= ~(CO_FL_WAIT_L4_CONN | CO_FL_SEND_PROXY);
  return true;
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
  // A read that filled the buffer was forwarded by wake(); the socket most likely holds more. Read
  // again now (at most MAX_READ_LOOPS times) instead of after another poll: HAProxy 1.8 takes one
  // loop turn (one epoll_wait) per buffer here, which dominates the cost of bulk transfers.
  for (let loops = 0; ; loops++) {
    conn.readFull = false;
    // HAProxy's process_handshake loop: a pending handshake (PROXY header to read or to send) comes
    // first, and no data moves, nor is the connect probed, until it is done.
    if (!(conn.flags & CO_FL_HANDSHAKE) || connHandshakes(conn)) {
      if (!(conn.flags & CO_FL_ERROR)) {
        if (fdSendReady(fd) && fdSendActive(fd)) data.send(conn);
        if (conn.fd >= 0 && !(conn.flags & CO_FL_ERROR) && fdRecvReady(fd) && fdRecvActive(fd)) data.recv(conn);
        if (conn.fd >= 0 && (conn.flags & CO_FL_WAIT_L4_CONN)) tcpConnectProbe(conn);
      }
    }
    if (!(conn.flags & (CO_FL_WAIT_L4_CONN | CO_FL_CONNECTED | CO_FL_HANDSHAKE))) conn.flags |= CO_FL_CONNECTED;
    data.wake(conn);
    if (!conn.readFull || loops + 1 >= MAX_READ_LOOPS || conn.fd !== fd || (conn.flags & CO_FL_ERROR) ||
        !fdRecvReady(fd) || !fdRecvActive(fd)) {
      break;
    }
  }
  if (conn.fd === fd) fdtab.ev[fd] &= FD_POLL_STICKY;
}

/** Reads of a full buffer that connFdHandler() chains without going back to the poller. */
export const MAX_READ_LOOPS = 4;

/** Run the pending handshakes in order; true when none is left. */
function connHandshakes(conn: Connection): boolean {
  if (conn.flags & CO_FL_ERROR) return false;
  if ((conn.flags & CO_FL_ACCEPT_PROXY) && !connRecvProxy(conn)) return false;
  if ((conn.flags & CO_FL_SEND_PROXY) && !connSendProxy(conn)) return false;
  return true;
}
