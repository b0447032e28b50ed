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
import { native, C, FD_POLL_ERR, FD_POLL_HUP, FD_POLL_IN } from "../native";
import {
  fdtab, fdCantRecv, fdCantSend, fdRecvActive, fdRecvReady, fdSendActive, fdSendReady, fdStopBoth, fdStopRecv, fdStopSend, fdWantRecv, fdWantSend, fdDelete, fdInsert, fdMayRecv, fdMaySend, FD_POLL_STICKY, FD_F_LINGER_RISK,
} from "../core/fd";
import { E_AGAIN, E_NOTCONN, E_ALREADY, E_INPROGRESS, E_ISCONN, E_INTR } from "../core/errno";
import { global } from "../core/global";
import { bAlloc } from "../core/buffer";
import {
  ProxyHeader, ppParse, makeProxyLine, PP_MAX_SEND, CO_ER_PRX_ABORT, CO_ER_PRX_EMPTY, CO_ER_PRX_TRUNCATED,
} from "./proxy_protocol";

/*
 * HAProxy: CO_FL_* connection flags (include/types/connection.h), with 1.8.0's values.
 *
 * Polling is decided in three layers of flags, as in 1.8: the data layer (the stream interface,
 * through the conn_stream flags CS_FL_DATA_*) says what it wants in CO_FL_XPRT_*; handshakes and
 * the connect() in progress say what they want in CO_FL_SOCK_*; CO_FL_CURR_* is what the fd layer
 * was last told. While a handshake or the connect is pending (CO_FL_POLL_SOCK), the SOCK flags
 * rule; after, the XPRT flags do. conn_cond_update_polling() turns a difference between the
 * ruling flags and CURR into fd_want_*()/fd_stop_*() calls; inside conn_fd_handler() that is
 * deferred to the end (CO_FL_WILL_UPDATE), so a handler that stops then restarts a direction
 * costs no poller update.
 */
export const CO_FL_SOCK_RD_ENA = 0x00000001;
export const CO_FL_XPRT_RD_ENA = 0x00000002;
export const CO_FL_CURR_RD_ENA = 0x00000004;
export const CO_FL_SOCK_WR_ENA = 0x00000010;
export const CO_FL_XPRT_WR_ENA = 0x00000020;
export const CO_FL_CURR_WR_ENA = 0x00000040;
/** The fd is registered in fdtab (fd_delete() needed). HAProxy: conn_ctrl_ready(). */
export const CO_FL_CTRL_READY = 0x00000100;
/** conn_fd_handler() is running and will commit polling changes when it leaves. */
export const CO_FL_WILL_UPDATE = 0x00000400;
export const CO_FL_WAIT_ROOM = 0x00000800;
export const CO_FL_ADDR_FROM_SET = 0x00001000;
export const CO_FL_ADDR_TO_SET = 0x00002000;
export const CO_FL_SOCK_RD_SH = 0x00040000;
export const CO_FL_SOCK_WR_SH = 0x00080000;
export const CO_FL_ERROR = 0x00100000;
/** Changes the data layer must hear of (shutdowns, error). HAProxy: CO_FL_NOTIFY_DATA. */
export const CO_FL_NOTIFY_DATA = 0x001c0000;
export const CO_FL_CONNECTED = 0x00200000;
export const CO_FL_WAIT_L4_CONN = 0x00400000;
/** Handshake: a PROXY protocol header must be sent before anything else (server `send-proxy[-v2]`). */
export const CO_FL_SEND_PROXY = 0x01000000;
/** Handshake: a PROXY protocol header must be read before anything else (bind `accept-proxy`). */
export const CO_FL_ACCEPT_PROXY = 0x04000000;
/** HAProxy: CO_FL_HANDSHAKE: any handshake still pending (no data I/O until it is done). */
export const CO_FL_HANDSHAKE = CO_FL_ACCEPT_PROXY | CO_FL_SEND_PROXY;
/** Polling follows the SOCK flags while any of these is set. HAProxy: CO_FL_POLL_SOCK. */
export const CO_FL_POLL_SOCK = CO_FL_HANDSHAKE | CO_FL_WAIT_L4_CONN;
/** A PROXY protocol header was received on this connection. */
export const CO_FL_RCVD_PROXY = 0x20000000;

/*
 * HAProxy: CS_FL_* conn_stream flags. 1.8 puts a conn_stream between a connection and its stream
 * interface, and a "mux" between the two; TCP mode only ever uses the pass-through mux (mux_pt.c,
 * one conn_stream per connection), so hapoll keeps the conn_stream's flags on the connection
 * (conn.csFlags) and mux_pt.ts forwards between the layers as mux_pt does.
 */
export const CS_FL_DATA_RD_ENA = 0x00000001;
export const CS_FL_DATA_WR_ENA = 0x00000002;
export const CS_FL_SHRD = 0x00000010;
export const CS_FL_SHRR = 0x00000020;
export const CS_FL_SHR = CS_FL_SHRD | CS_FL_SHRR;
export const CS_FL_SHWN = 0x00000040;
export const CS_FL_SHWS = 0x00000080;
export const CS_FL_SHW = CS_FL_SHWN | CS_FL_SHWS;
export const CS_FL_ERROR = 0x00000100;
export const CS_FL_EOS = 0x00001000;

/** HAProxy: CO_SFL_MSG_MORE / CO_SFL_STREAMER: hints to snd_buf. */
export const CO_SFL_MSG_MORE = 0x0001;
export const CO_SFL_STREAMER = 0x0002;


/**
 * What a connection calls above it: HAProxy 1.8's data_cb of the conn_stream (si_conn_cb: recv,
 * send, wake), reached through the mux (mux_pt.ts).
 */
export interface ConnDataCb {
  recv(conn: Connection): void;
  send(conn: Connection): void;
  /** Returns < 0 when the connection was released and must not be touched any more. */
  wake(conn: Connection): number;
}

/** HAProxy: struct connection (with the one conn_stream of the pass-through mux folded in). */
export class Connection {
  /** The socket, -1 when none. */
  fd = -1;
  /** The last fd this connection had (kept after close for the -d debug lines). */
  lastFd = -1;
  /** CO_FL_*. */
  flags = 0;
  /** The conn_stream's CS_FL_* (see above). */
  csFlags = 0;
  /** The data layer (a stream interface, a health check); null until a "mux" is installed. */
  data: ConnDataCb | null = null;
  /** The object the data layer hangs on (the stream interface, the embryonic session). */
  owner: unknown = null;
  /**
   * HAProxy: xprt_done_cb: called once handshakes are over (or failed), before any data moves.
   * conn_complete_session() of an embryonic session uses it. Returns < 0 when <conn> is gone.
   */
  xprtDoneCb: ((conn: Connection) => number) | null = null;
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

/* ---- The polling layer. HAProxy: include/proto/connection.h, conn_update_*_polling() ---- */

/**
 * HAProxy: conn_refresh_polling_flags(): CURR_* from what the fd layer has, unless
 * conn_fd_handler() is running (it refreshed them on entry and owns them until it leaves).
 */
export function connRefreshPollingFlags(c: Connection): void {
  if ((c.flags & (CO_FL_CTRL_READY | CO_FL_WILL_UPDATE)) !== CO_FL_CTRL_READY) return;
  let f = c.flags & ~(CO_FL_CURR_RD_ENA | CO_FL_CURR_WR_ENA | CO_FL_WAIT_ROOM);
  if (fdRecvActive(c.fd)) f |= CO_FL_CURR_RD_ENA;
  if (fdSendActive(c.fd)) f |= CO_FL_CURR_WR_ENA;
  c.flags = f;
}

/** HAProxy: conn_xprt_polling_changes(): the XPRT flags differ from CURR, or an error. */
function connXprtPollingChanges(f: number): boolean {
  return (((f & CO_FL_XPRT_RD_ENA) !== 0) !== ((f & CO_FL_CURR_RD_ENA) !== 0)) ||
    (((f & CO_FL_XPRT_WR_ENA) !== 0) !== ((f & CO_FL_CURR_WR_ENA) !== 0)) || (f & CO_FL_ERROR) !== 0;
}

/** HAProxy: conn_sock_polling_changes(): the SOCK flags differ from CURR, or an error. */
function connSockPollingChanges(f: number): boolean {
  return (((f & CO_FL_SOCK_RD_ENA) !== 0) !== ((f & CO_FL_CURR_RD_ENA) !== 0)) ||
    (((f & CO_FL_SOCK_WR_ENA) !== 0) !== ((f & CO_FL_CURR_WR_ENA) !== 0)) || (f & CO_FL_ERROR) !== 0;
}

/** The body of conn_update_xprt_polling() / conn_update_sock_polling(): <rd>/<wr> rule. */
function connUpdatePolling(c: Connection, rd: number, wr: number): void {
  if (!(c.flags & CO_FL_CTRL_READY)) return;
  let f = c.flags;
  if ((f & (CO_FL_CURR_RD_ENA | rd)) === rd) {
    fdWantRecv(c.fd);
    f |= CO_FL_CURR_RD_ENA;
  } else if ((f & (CO_FL_CURR_RD_ENA | rd)) === CO_FL_CURR_RD_ENA) {
    fdStopRecv(c.fd);
    f &= ~CO_FL_CURR_RD_ENA;
  }
  if ((f & (CO_FL_CURR_WR_ENA | wr)) === wr) {
    fdWantSend(c.fd);
    f |= CO_FL_CURR_WR_ENA;
  } else if ((f & (CO_FL_CURR_WR_ENA | wr)) === CO_FL_CURR_WR_ENA) {
    fdStopSend(c.fd);
    f &= ~CO_FL_CURR_WR_ENA;
  }
  c.flags = f;
}

/** HAProxy: conn_update_xprt_polling(). */
export function connUpdateXprtPolling(c: Connection): void {
  connUpdatePolling(c, CO_FL_XPRT_RD_ENA, CO_FL_XPRT_WR_ENA);
}

/** HAProxy: conn_update_sock_polling(). */
export function connUpdateSockPolling(c: Connection): void {
  connUpdatePolling(c, CO_FL_SOCK_RD_ENA, CO_FL_SOCK_WR_ENA);
}

/** HAProxy: conn_cond_update_xprt_polling(). */
export function connCondUpdateXprtPolling(c: Connection): void {
  const f = c.flags;
  if (!(f & (CO_FL_WILL_UPDATE | CO_FL_POLL_SOCK)) && connXprtPollingChanges(f)) connUpdateXprtPolling(c);
}

/** HAProxy: conn_cond_update_sock_polling(). */
export function connCondUpdateSockPolling(c: Connection): void {
  const f = c.flags;
  if (!(f & CO_FL_WILL_UPDATE) && (f & CO_FL_POLL_SOCK) && connSockPollingChanges(f)) connUpdateSockPolling(c);
}

/** HAProxy: conn_stop_polling(). */
export function connStopPolling(c: Connection): void {
  c.flags &= ~(CO_FL_CURR_RD_ENA | CO_FL_CURR_WR_ENA | CO_FL_SOCK_RD_ENA | CO_FL_SOCK_WR_ENA |
    CO_FL_XPRT_RD_ENA | CO_FL_XPRT_WR_ENA);
  if ((c.flags & (CO_FL_WILL_UPDATE | CO_FL_CTRL_READY)) === CO_FL_CTRL_READY) fdStopBoth(c.fd);
}

/** HAProxy: conn_cond_update_polling(). */
export function connCondUpdatePolling(c: Connection): void {
  const f = c.flags;
  if (f & CO_FL_ERROR) connStopPolling(c);
  else if (!(f & CO_FL_WILL_UPDATE)) {
    if (!(f & CO_FL_POLL_SOCK)) {
      if (connXprtPollingChanges(f)) connUpdateXprtPolling(c);
    } else if (connSockPollingChanges(f)) {
      connUpdateSockPolling(c);
    }
  }
}

/** HAProxy: conn_xprt_want_recv(). */
export function connXprtWantRecv(c: Connection): void {
  c.flags |= CO_FL_XPRT_RD_ENA;
  connCondUpdateXprtPolling(c);
}

/** HAProxy: conn_xprt_want_send(). */
export function connXprtWantSend(c: Connection): void {
  c.flags |= CO_FL_XPRT_WR_ENA;
  connCondUpdateXprtPolling(c);
}

/** HAProxy: conn_xprt_stop_both(). */
export function connXprtStopBoth(c: Connection): void {
  c.flags &= ~(CO_FL_XPRT_RD_ENA | CO_FL_XPRT_WR_ENA);
  connCondUpdateXprtPolling(c);
}

/** HAProxy: conn_sock_want_recv(). */
export function connSockWantRecv(c: Connection): void {
  c.flags |= CO_FL_SOCK_RD_ENA;
  connCondUpdateSockPolling(c);
}

/** HAProxy: conn_sock_want_send(). */
export function connSockWantSend(c: Connection): void {
  c.flags |= CO_FL_SOCK_WR_ENA;
  connCondUpdateSockPolling(c);
}

/** HAProxy: __conn_sock_stop_both() (no propagation: the caller commits). */
function connSockStopBothNoUpdate(c: Connection): void {
  c.flags &= ~(CO_FL_SOCK_RD_ENA | CO_FL_SOCK_WR_ENA);
}

/**
 * HAProxy: conn_ctrl_init(): register the fd with conn_fd_handler() as its iocb and mark it ready
 * both ways, so the first I/O is tried before any polling (speculative I/O).
 */
export function connCtrlInit(c: Connection): void {
  if (c.flags & CO_FL_CTRL_READY) return;
  fdInsert(c.fd, c, connFdHandler);
  fdMayRecv(c.fd);
  fdMaySend(c.fd);
  c.flags |= CO_FL_CTRL_READY;
}

/* ---- conn_stream verbs (HAProxy: __cs_want_recv() ... cs_update_mux_polling()) ---- */

/** HAProxy: __cs_want_recv(). */
export function csWantRecvNoUpdate(c: Connection): void {
  c.csFlags |= CS_FL_DATA_RD_ENA;
}
/** HAProxy: __cs_stop_recv(). */
export function csStopRecvNoUpdate(c: Connection): void {
  c.csFlags &= ~CS_FL_DATA_RD_ENA;
}
/** HAProxy: __cs_want_send(). */
export function csWantSendNoUpdate(c: Connection): void {
  c.csFlags |= CS_FL_DATA_WR_ENA;
}
/** HAProxy: __cs_stop_send(). */
export function csStopSendNoUpdate(c: Connection): void {
  c.csFlags &= ~CS_FL_DATA_WR_ENA;
}
/** HAProxy: __cs_stop_both(). */
export function csStopBothNoUpdate(c: Connection): void {
  c.csFlags &= ~(CS_FL_DATA_RD_ENA | CS_FL_DATA_WR_ENA);
}

/**
 * HAProxy: cs_update_mux_polling() with mux_pt_update_poll(): the conn_stream's wishes become the
 * connection's XPRT flags, then the polling is updated if they changed.
 */
export function csUpdateMuxPolling(c: Connection): void {
  connRefreshPollingFlags(c);
  let f = c.flags & ~(CO_FL_XPRT_RD_ENA | CO_FL_XPRT_WR_ENA);
  if (c.csFlags & CS_FL_DATA_RD_ENA) f |= CO_FL_XPRT_RD_ENA;
  if (c.csFlags & CS_FL_DATA_WR_ENA) f |= CO_FL_XPRT_WR_ENA;
  c.flags = f;
  connCondUpdateXprtPolling(c);
}

/** HAProxy: cs_want_recv(). */
export function csWantRecv(c: Connection): void {
  c.csFlags |= CS_FL_DATA_RD_ENA;
  csUpdateMuxPolling(c);
}

/** HAProxy: cs_stop_recv(). */
export function csStopRecv(c: Connection): void {
  c.csFlags &= ~CS_FL_DATA_RD_ENA;
  csUpdateMuxPolling(c);
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

/** The failure exit of conn_recv_proxy(): stop handshake polling, flag the error, keep the reason. */
function connHandshakeFail(conn: Connection, code: number): boolean {
  if (code) conn.errCode = code;
  connSockStopBothNoUpdate(conn);
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
  if (!(conn.flags & CO_FL_CTRL_READY)) return connHandshakeFail(conn, 0);
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
    if (ret === E_AGAIN) {
      fdCantRecv(fd);
      return false;
    }
    if (ret === E_INTR) continue;
    conn.errno = ret;
    conn.flags |= CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
    return connHandshakeFail(conn, CO_ER_PRX_ABORT);
  }
}

/**
 * HAProxy: conn_si_send_proxy() with conn_sock_send(). Send the PROXY header on a new server
 * connection before any data: returns true once all of it is out (which also proves the connection
 * is established, so CO_FL_WAIT_L4_CONN goes too), false while waiting for the socket (it may take
 * several calls: the header is rebuilt each time and sent from where the last send stopped), or on
 * error (CO_FL_ERROR).
 */
export function connSendProxy(conn: Connection): boolean {
  const fd = conn.fd;
  if ((conn.flags & CO_FL_SOCK_WR_SH) || !(conn.flags & CO_FL_CTRL_READY)) {
    conn.flags |= CO_FL_ERROR;
    return false;
  }
  while (conn.sendProxyOfs !== 0) {
    const rc = conn.ppRemote;
    const n = rc !== null
      ? makeProxyLine(ppOut, conn.ppVersion, rc.addr, rc.addrLen, (rc.flags & CO_FL_ADDR_TO_SET) ? rc.toAddr : null, rc.toAddrLen)
      : makeProxyLine(ppOut, conn.ppVersion, null, 0, null, 0);
    if (n === 0) {
      conn.flags |= CO_FL_ERROR;
      return false;
    }
    if (conn.sendProxyOfs > 0) conn.sendProxyOfs = -n;
    // HAProxy: conn_sock_send(): nothing sent when the fd is not ready; EAGAIN/ENOTCONN mean "later".
    let ret = 0;
    if (fdSendReady(fd)) {
      ret = native.send(fd, ppOut, n + conn.sendProxyOfs, -conn.sendProxyOfs, conn.flags & CO_FL_XPRT_WR_ENA ? 1 : 0);
      if (ret === E_AGAIN || ret === E_NOTCONN) {
        fdCantSend(fd);
        ret = 0;
      } else if (ret < 0) {
        conn.errno = ret;
        conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
        return false;
      }
    }
    conn.sendProxyOfs += ret;
    if (conn.sendProxyOfs !== 0) {
      conn.flags &= ~CO_FL_SOCK_RD_ENA;
      return false;
    }
  }
  conn.flags &= ~(CO_FL_WAIT_L4_CONN | CO_FL_SEND_PROXY);
  return true;
}

/**
 * HAProxy: conn_sock_read0(). The peer shut its write side: stop reading; a peer that closed first
 * leaves no TIME_WAIT on our side, so the close no longer needs to reset.
 */
export function connSockRead0(conn: Connection): void {
  conn.flags |= CO_FL_SOCK_RD_SH;
  conn.flags &= ~CO_FL_SOCK_RD_ENA;
  if (conn.flags & CO_FL_CTRL_READY) fdtab.flags[conn.fd] &= ~FD_F_LINGER_RISK;
}

/**
 * HAProxy: conn_sock_shutw(), with the fix of 1.8.1 "BUG/MAJOR: connection: refine the situations
 * where we don't send shutw()": a clean shutdown sends a real FIN (shutdown(SHUT_WR)) unless the
 * peer already closed its side. 1.8.0 skipped it whenever linger_risk was set, which every server
 * connection has, so a server never saw the client's FIN (docs/fidelity.md, rule "shutw-fix").
 * An unclean one (<clean> false: an abort, a silent close) sends nothing; whether the close then
 * resets is the fd's linger_risk (set on server connections, cleared once the peer's end is read).
 */
export function connSockShutw(conn: Connection, clean: boolean): void {
  conn.flags |= CO_FL_SOCK_WR_SH;
  connRefreshPollingFlags(conn);
  conn.flags &= ~CO_FL_SOCK_WR_ENA;
  connCondUpdateSockPolling(conn);
  if ((conn.flags & (CO_FL_CTRL_READY | CO_FL_SOCK_RD_SH)) === CO_FL_CTRL_READY && clean) {
    native.shutdown(conn.fd, C.SHUT_WR);
  }
}

/**
 * HAProxy: conn_sock_drain(): before closing, read what the peer sent so that the close does not
 * turn into a reset because of unread data; true when the peer's end was read (or need not be).
 * <drain> is the protocol's drain function (tcpDrain() for TCP).
 */
export function connSockDrain(conn: Connection, drain: (fd: number) => boolean): boolean {
  if (!(conn.flags & CO_FL_CTRL_READY)) return true;
  if (conn.flags & (CO_FL_ERROR | CO_FL_SOCK_RD_SH)) return true;
  const fd = conn.fd;
  if (fdtab.ev[fd] & (FD_POLL_ERR | FD_POLL_HUP)) {
    fdtab.flags[fd] &= ~FD_F_LINGER_RISK;
  } else {
    if (!fdRecvReady(fd)) return false;
    if (!drain(fd)) return false;
  }
  conn.flags |= CO_FL_SOCK_RD_SH;
  return true;
}

/** HAProxy: conn_full_close() (conn_xprt_close + conn_ctrl_close): forget and close the fd. */
export function connFullClose(conn: Connection): void {
  if (conn.flags & CO_FL_CTRL_READY) {
    fdDelete(conn.fd);
    conn.fd = -1;
    conn.flags &= ~CO_FL_CTRL_READY;
  }
}

/**
 * HAProxy: tcp_connect_probe(). Called while CO_FL_WAIT_L4_CONN is set: once the fd is writable,
 * ask connect() again whether the connection is up. Returns true when it is.
 */
export function tcpConnectProbe(conn: Connection): boolean {
  if (conn.flags & CO_FL_ERROR) return false;
  if (!(conn.flags & CO_FL_CTRL_READY)) return false;
  if (!(conn.flags & CO_FL_WAIT_L4_CONN)) return true;
  const fd = conn.fd;
  if (!fdSendReady(fd)) return false;
  const ev = fdtab.ev[fd];
  if ((ev & FD_POLL_ERR) || (ev & (FD_POLL_IN | FD_POLL_HUP)) === FD_POLL_HUP) {
    const skerr = native.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ERROR);
    if (skerr > 0 && -skerr !== E_AGAIN) return connectError(conn, -skerr);
  }
  const ret = native.connect(fd, conn.addr!, conn.addrLen);
  if (ret < 0) {
    if (ret === E_ALREADY || ret === E_INPROGRESS) {
      conn.flags &= ~CO_FL_SOCK_RD_ENA;
      fdCantSend(fd);
      return false;
    }
    if (ret !== E_ISCONN) return connectError(conn, ret);
  }
  conn.flags &= ~CO_FL_WAIT_L4_CONN;
  return true;
}

function connectError(conn: Connection, err: number): boolean {
  conn.errno = err;
  fdtab.flags[conn.fd] &= ~FD_F_LINGER_RISK;
  conn.flags |= CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_SOCK_WR_SH;
  connSockStopBothNoUpdate(conn);
  return false;
}

/**
 * HAProxy: conn_fd_handler(), the iocb of every connection fd. Handshakes first (the PROXY header
 * to read or to send), then send, then receive, then the connect() probe; then wake the data layer
 * when something changed, and commit the polling changes once, on the way out.
 *
 * With `tune.hapoll.read-loops N` (N > 1, not HAProxy), a read that left the data layer waiting
 * for room (a full buffer, forwarded at once by wake()) is followed by up to N-1 more rounds before
 * going back to the poller.
 */
export function connFdHandler(fd: number): void {
  const conn = fdtab.owner[fd] as Connection;
  connRefreshPollingFlags(conn);
  conn.flags |= CO_FL_WILL_UPDATE;
  let flags = conn.flags & ~CO_FL_ERROR;
  let rounds = global.readLoops;
  for (;;) {
    connFdHandlerRound(conn, fd, flags);
    // The data layer's wake() may have released the connection.
    if (fdtab.owner[fd] !== conn) {
      conn.flags &= ~(CO_FL_WILL_UPDATE | CO_FL_WAIT_ROOM_AGAIN);
      return;
    }
    if (conn.flags & CO_FL_ERROR) break;
    if (--rounds <= 0 || !(conn.flags & CO_FL_WAIT_ROOM_AGAIN)) break;
    conn.flags &= ~CO_FL_WAIT_ROOM_AGAIN;
    flags = conn.flags & ~CO_FL_ERROR;
    if (!fdRecvReady(fd) || !(conn.flags & CO_FL_XPRT_RD_ENA)) break;
  }
  fdtab.ev[fd] &= FD_POLL_STICKY;
  conn.flags &= ~(CO_FL_WILL_UPDATE | CO_FL_WAIT_ROOM_AGAIN);
  connCondUpdatePolling(conn);
}

/**
 * hapoll only: set by the data layer when a read stopped on a full buffer that wake() may empty;
 * read by connFdHandler() when `tune.hapoll.read-loops` allows another round. Not an HAProxy flag
 * (0x00000008 is unused in 1.8).
 */
export const CO_FL_WAIT_ROOM_AGAIN = 0x00000008;

/** One pass of conn_fd_handler()'s body: handshakes, send, recv, probe, then wake(). */
function connFdHandlerRound(conn: Connection, fd: number, flags: number): void {
  process: for (;;) {
    while (conn.flags & (CO_FL_HANDSHAKE | CO_FL_ERROR)) {
      if (conn.flags & CO_FL_ERROR) break process;
      if ((conn.flags & CO_FL_ACCEPT_PROXY) && !connRecvProxy(conn)) break process;
      if ((conn.flags & CO_FL_SEND_PROXY) && !connSendProxy(conn)) break process;
    }
    // Purely in the data phase now: handshake polling goes.
    if (!(conn.flags & CO_FL_POLL_SOCK)) connSockStopBothNoUpdate(conn);
    if (conn.xprtDoneCb !== null && conn.xprtDoneCb(conn) < 0) return;
    const data = conn.data!;
    if ((conn.flags & CO_FL_CTRL_READY) && fdSendReady(fd) &&
        (conn.flags & (CO_FL_XPRT_WR_ENA | CO_FL_ERROR | CO_FL_HANDSHAKE)) === CO_FL_XPRT_WR_ENA) {
      // Clearing <flags> forces wake() below: there was I/O activity.
      flags = 0;
      muxPtSend(conn, data);
    }
    if ((conn.flags & CO_FL_CTRL_READY) && fdRecvReady(fd) &&
        (conn.flags & (CO_FL_XPRT_RD_ENA | CO_FL_WAIT_ROOM | CO_FL_ERROR | CO_FL_HANDSHAKE)) === CO_FL_XPRT_RD_ENA) {
      flags = 0;
      muxPtRecv(conn, data);
    }
    // A handshake may come back during the data phase (not in TCP mode), and errors go the same way.
    if (conn.flags & (CO_FL_HANDSHAKE | CO_FL_ERROR)) continue;
    if (conn.flags & CO_FL_WAIT_L4_CONN) tcpConnectProbe(conn);
    break;
  }
  // leave:
  if (!(conn.flags & (CO_FL_WAIT_L4_CONN | CO_FL_CONNECTED))) conn.flags |= CO_FL_CONNECTED;
  if (((conn.flags ^ flags) & CO_FL_NOTIFY_DATA) && conn.xprtDoneCb !== null && conn.xprtDoneCb(conn) < 0) return;
  if ((((conn.flags ^ flags) & CO_FL_NOTIFY_DATA) ||
       ((flags & (CO_FL_CONNECTED | CO_FL_HANDSHAKE)) !== CO_FL_CONNECTED &&
        (conn.flags & (CO_FL_CONNECTED | CO_FL_HANDSHAKE)) === CO_FL_CONNECTED)) &&
      conn.data !== null) {
    muxPtWake(conn, conn.data);
  }
}

/* ---- The pass-through mux. HAProxy: src/mux_pt.c ---- */

/** HAProxy: mux_pt_recv(): report EOS/errors on the conn_stream, call the data layer, update polling. */
function muxPtRecv(conn: Connection, data: ConnDataCb): void {
  if (conn.flags & CO_FL_ERROR) conn.csFlags |= CS_FL_ERROR;
  if (conn.flags & CO_FL_SOCK_RD_SH) conn.csFlags |= CS_FL_EOS;
  data.recv(conn);
  csUpdateMuxPolling(conn);
}

/** HAProxy: mux_pt_send(). */
function muxPtSend(conn: Connection, data: ConnDataCb): void {
  if (conn.flags & CO_FL_ERROR) conn.csFlags |= CS_FL_ERROR;
  data.send(conn);
  csUpdateMuxPolling(conn);
}

/** HAProxy: mux_pt_wake(). */
function muxPtWake(conn: Connection, data: ConnDataCb): number {
  const ret = data.wake(conn);
  if (ret >= 0) csUpdateMuxPolling(conn);
  return ret;
}
