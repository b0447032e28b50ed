/**
 * The pass-through multiplexer's data-side entry points: one conn_stream per connection (folded into
 * Connection.csFlags), receiving with EOS/error reporting, and the shutdowns. HAProxy 1.8:
 * src/mux_pt.c (mux_pt_rcv_buf, mux_pt_rcv_pipe, mux_pt_shutr, mux_pt_shutw, mux_pt_detach) and
 * cs_shutr()/cs_shutw()/cs_close() of include/proto/connection.h. Its I/O callbacks (mux_pt_recv,
 * mux_pt_send, mux_pt_wake) stay in connection.ts beside conn_fd_handler, their only caller.
 */
import { CO_FL_ERROR, CO_FL_SOCK_RD_SH, CS_FL_DATA_RD_ENA, CS_FL_DATA_WR_ENA, CS_FL_EOS, CS_FL_ERROR, CS_FL_SHR, CS_FL_SHRR, CS_FL_SHW, CS_FL_SHWN, CS_FL_SHWS, type Connection, connFullClose, connSockShutw } from "./connection";
import { type XprtChannel, rawSockToBuf, rawSockToPipe } from "./raw_sock";

/** HAProxy: mux_pt_rcv_buf(): read, then report EOS/errors on the conn_stream. */
export function muxPtRcvBuf(conn: Connection, ic: XprtChannel, count: number): number {
  const ret = rawSockToBuf(conn, ic, count);
  if (conn.flags & CO_FL_SOCK_RD_SH) conn.csFlags |= CS_FL_EOS;
  if (conn.flags & CO_FL_ERROR) conn.csFlags |= CS_FL_ERROR;
  return ret;
}

/** HAProxy: mux_pt_rcv_pipe(). */
export function muxPtRcvPipe(conn: Connection, ic: XprtChannel): number {
  const ret = rawSockToPipe(conn, ic);
  if (conn.flags & CO_FL_SOCK_RD_SH) conn.csFlags |= CS_FL_EOS;
  if (conn.flags & CO_FL_ERROR) conn.csFlags |= CS_FL_ERROR;
  return ret;
}

/**
 * HAProxy: mux_pt_shutr() (through cs_shutr()): stop reading; close everything when the write side
 * is already shut.
 */
export function csShutr(conn: Connection, mode: number): void {
  conn.csFlags &= ~CS_FL_DATA_RD_ENA;
  if (!(conn.csFlags & CS_FL_SHR) && (conn.csFlags & CS_FL_SHW)) connFullClose(conn);
  conn.csFlags |= mode;
}

/**
 * HAProxy: mux_pt_shutw() (through cs_shutw()): shut the socket's write side (a FIN, or nothing
 * with <mode> CS_FL_SHWS before a reset), or close it all when the read side is already shut.
 */
export function csShutw(conn: Connection, mode: number): void {
  conn.csFlags &= ~CS_FL_DATA_WR_ENA;
  if (!(conn.csFlags & CS_FL_SHW)) {
    if (!(conn.csFlags & CS_FL_SHR)) connSockShutw(conn, mode === CS_FL_SHWN);
    else connFullClose(conn);
  }
  conn.csFlags |= mode;
}

/** HAProxy: cs_close(): shut both ways silently (the close then resets if data was left unread). */
export function csClose(conn: Connection): void {
  csShutw(conn, CS_FL_SHWS);
  csShutr(conn, CS_FL_SHRR);
  conn.csFlags = 0;
}
