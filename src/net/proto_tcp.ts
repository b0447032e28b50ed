/**
 * TCP (IPv4, IPv6) and unix stream sockets. HAProxy 1.8: src/proto_tcp.c (tcp_bind_listener,
 * tcp_connect_server, tcpv4/tcpv6 protocols) and src/proto_uxst.c (uxst_bind_listener).
 */
import * as fs from "node:fs";
import { native, C } from "../native";
import { fdCantRecv, fdInsert, fdtab, FD_F_CLONED, FD_F_LINGER_RISK } from "../core/fd";
import { global } from "../core/global";
import {
  type Connection, connCtrlInit, connSockWantSend, connXprtWantSend, CO_FL_ADDR_TO_SET, CO_FL_ERROR, CO_FL_HANDSHAKE,
  CO_FL_SEND_PROXY, CO_FL_WAIT_L4_CONN,
} from "./connection";
import { type Listener, listenerAccept, LI_ASSIGNED, LI_LISTEN } from "./listener";
import { findCompatibleFd, isListening } from "./xfer_sock";
import { SF_ERR_INTERNAL, SF_ERR_NONE, SF_ERR_PRXCOND, SF_ERR_RESOURCE, SF_ERR_SRVCL, SF_ERR_SRVTO } from "../types/stream-t";
import { E_ADDRINUSE, E_ADDRNOTAVAIL, E_AGAIN, E_ALREADY, E_INPROGRESS, E_ISCONN, E_MFILE, E_NFILE, E_NOBUFS, E_NOMEM, E_TIMEDOUT, strerror } from "../core/errno";


/** HAProxy: struct protocol, reduced to what differs between families. */
export interface Protocol {
  name: string;
  family: number;
}
/** HAProxy: proto_tcpv4 / proto_tcpv6 / proto_unix. */
export const protoTcpv4: Protocol = { name: "tcpv4", family: C.AF_INET };
export const protoTcpv6: Protocol = { name: "tcpv6", family: C.AF_INET6 };
export const protoUxst: Protocol = { name: "unix_stream", family: C.AF_UNIX };

/** The protocol of a family name. */
export function protoByFamily(family: string): Protocol {
  return family === "ipv6" ? protoTcpv6 : family === "unix" ? protoUxst : protoTcpv4;
}


/** Options of bindListener(). */
export interface BindOptions {
  /** Set SO_REUSEPORT (HAProxy's default unless `noreuseport`). */
  reuseport: boolean;
  /** Unix socket permissions, -1 to leave them. */
  unixMode?: number;
}

/**
 * HAProxy: tcp_bind_listener() / uxst_bind_listener(). ASSIGNED -> LISTEN: socket, non-blocking,
 * SO_REUSEADDR (+ SO_REUSEPORT), bind, listen; register the fd with listenerAccept() as its iocb.
 * Polling is enabled later by enableListener(). Returns "" or HAProxy's error message.
 */
export function bindListener(l: Listener, opts: BindOptions): string {
  if (l.state !== LI_ASSIGNED) return "";
  // HAProxy: a socket the old process handed over (-x) where this listener binds is used as is.
  const xfd = findCompatibleFd(l);
  if (xfd >= 0) return reuseListenerFd(l, xfd);
  const proto = protoByFamily(l.family);
  const tcp = l.family !== "unix";
  const fd = native.socket(proto.family, C.SOCK_STREAM, tcp ? C.IPPROTO_TCP : 0);
  if (fd < 0) return "cannot create listening socket";
  const err = listenerFdCheck(fd);
  if (err) return err;
  let bindAddr = l.addr;
  let bindLen = l.addrLen;
  let tempName = "";
  if (tcp) {
    // HAProxy: tcp_bind_listener()'s options, in its order: the address may be reused, no linger
    // left over, SO_REUSEPORT, and on Linux no user timeout, no deferred accept, no fast open.
    native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    native.resetLinger(fd);
    if (opts.reuseport && C.SO_REUSEPORT >= 0) native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1);
    if (C.TCP_USER_TIMEOUT >= 0) native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_USER_TIMEOUT, 0);
    if (C.TCP_DEFER_ACCEPT >= 0) native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_DEFER_ACCEPT, 0);
    if (C.TCP_FASTOPEN >= 0 && native.getsockoptInt(fd, C.IPPROTO_TCP, C.TCP_FASTOPEN) > 0) {
      native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_FASTOPEN, 0);
    }
    // HAProxy: IPV6_V6ONLY only when the bind line says v6only (1) or v4v6 (0); else the system's.
    if (l.family === "ipv6" && l.bind?.v6only) native.setsockoptInt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
    else if (l.family === "ipv6" && l.bind?.v4v6) native.setsockoptInt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 0);
  } else if (!l.unixPath.startsWith("\0")) {
    // HAProxy: uxst_bind_listener() binds "<path>.<pid>.tmp" and renames it over <path>, so a
    // running process (a reload's old one) keeps serving until the new socket is in place.
    tempName = `${l.unixPath}.${process.pid}.tmp`;
    try {
      fs.unlinkSync(tempName);
    } catch {
      /* absent */
    }
    bindAddr = Buffer.alloc(C.SOCKADDR_MAX);
    bindLen = native.sockaddrFrom("unix", tempName, 0, bindAddr);
    if (bindLen < 0) {
      native.close(fd);
      return "name too long for UNIX socket (limit usually 97)";
    }
  }
  let r = native.bind(fd, bindAddr, bindLen);
  if (r < 0) {
    native.close(fd);
    return `cannot bind socket (${strerror(-r)})`;
  }
  if (tempName) {
    try {
      if (opts.unixMode !== undefined && opts.unixMode >= 0) fs.chmodSync(tempName, opts.unixMode);
      fs.renameSync(tempName, l.unixPath);
    } catch (e) {
      native.close(fd);
      try {
        fs.unlinkSync(tempName);
      } catch {
        /* gone */
      }
      return `cannot switch final and temporary UNIX sockets (${(e as Error).message})`;
    }
  }
  // HAProxy asks whether the socket already listens (an inherited one may) before listen().
  if (tcp) native.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN);
  r = native.listen(fd, l.backlog);
  if (r < 0) {
    native.close(fd);
    return `cannot listen to socket (${strerror(-r)})`;
  }
  if (tcp && C.TCP_QUICKACK >= 0) native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_QUICKACK, 1);
  l.fd = fd;
  l.setState(LI_LISTEN);
  fdInsert(fd, l, listenerAccept);
  return "";
}

/**
 * The first steps of tcp_bind_listener() for a new or an inherited socket: an fd below maxsock, made
 * non-blocking. Returns "" or HAProxy's message (the fd is then closed).
 */
function listenerFdCheck(fd: number): string {
  if (fd >= global.maxsock) {
    native.close(fd);
    return "not enough free sockets (raise '-n' parameter)";
  }
  if (native.setNonblock(fd) < 0) {
    native.close(fd);
    return "cannot make socket non-blocking";
  }
  return "";
}

/**
 * HAProxy: the `ext` path of tcp_bind_listener() / uxst_bind_listener(): <fd> is already bound
 * (by the old process); make it non-blocking, listen() only if it does not already, and register
 * it. No bind, no unix rename or chmod: the socket file is the old process' and stays in place.
 */
function reuseListenerFd(l: Listener, fd: number): string {
  const err = listenerFdCheck(fd);
  if (err) return err;
  if (!isListening(fd)) {
    const r = native.listen(fd, l.backlog);
    if (r < 0) {
      native.close(fd);
      return `cannot listen to socket (${strerror(-r)})`;
    }
  }
  l.fd = fd;
  l.setState(LI_LISTEN);
  fdInsert(fd, l, listenerAccept);
  // Shared with the old process: closing our fd will not end the socket, so the epoll set must be
  // told explicitly (see pollerClo).
  fdtab.flags[fd] |= FD_F_CLONED;
  return "";
}

/** HAProxy: CO_ER_PORT_RANGE / CO_ER_CANT_BIND (include/types/connection.h): why a `source` bind failed. */
export const CO_ER_PORT_RANGE = 40;
export const CO_ER_CANT_BIND = 41;

/**
 * A `source` address to bind before connecting (a server's, else its backend's). HAProxy: struct
 * conn_src (source_addr, sport_range), include/types/connection.h.
 */
export interface ConnSource {
  /** The sockaddr to bind (port portLow, 0 for none). */
  addr: Buffer;
  addrLen: number;
  family: string;
  host: string;
  /** A port range portLow..portHigh (servers only): each connection takes the next port of it. */
  portLow: number;
  portHigh: number;
  /** The next port of the range to try. HAProxy: port_range_alloc_port()'s ring. */
  nextPort: number;
  /** False for 0.0.0.0 / :: (HAProxy: is_inet_addr()): nothing is bound, as in 1.8.0. */
  inet: boolean;
}

/**
 * HAProxy: tcp_bind_socket() without the transparent (foreign address) part: SO_REUSEADDR, then
 * bind() when the address is not the wildcard. Returns 0, or 1 when bind() failed.
 */
function tcpBindSocket(fd: number, src: ConnSource, addr: Buffer, len: number): number {
  native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  if (src.inet && native.bind(fd, addr, len) < 0) return 1;
  return 0;
}

/** Bind <fd> to <src> (HAProxy: the conn_src part of tcp_connect_server()); 0 or a CO_ER_* code. */
function tcpBindSource(fd: number, src: ConnSource): number {
  if (src.portHigh > src.portLow) {
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    for (let attempts = 10; attempts > 0; attempts--) {
      const port = src.nextPort;
      src.nextPort = port >= src.portHigh ? src.portLow : port + 1;
      const len = native.sockaddrFrom(src.family, src.host, port, sa);
      if (len < 0) return CO_ER_CANT_BIND;
      if (tcpBindSocket(fd, src, sa, len) === 0) return 0;
    }
    return CO_ER_CANT_BIND;
  }
  // No port given: Linux picks one at connect() time, so the same port may serve several servers.
  if (C.IP_BIND_ADDRESS_NO_PORT >= 0) native.setsockoptInt(fd, C.IPPROTO_IP, C.IP_BIND_ADDRESS_NO_PORT, 1);
  return tcpBindSocket(fd, src, src.addr, src.addrLen) === 0 ? 0 : CO_ER_CANT_BIND;
}

/**
 * HAProxy: tcp_connect_server(). Create a socket, make it non-blocking, connect it to conn.addr and
 * register it; returns SF_ERR_NONE with CO_FL_WAIT_L4_CONN set while the connect is in progress, or
 * the SF_ERR_* of the failure (the fd is then closed). <data>: there is data to send, so the data
 * layer wants to write as soon as the connection is up. <delack> 2: no quick ACK (health checks, so
 * that the connect's ACK and the check's first bytes may share a segment). <src>: the `source` to
 * bind first; a failure gives SF_ERR_RESOURCE with conn.errCode CO_ER_CANT_BIND.
 */
export function tcpConnectServer(conn: Connection, family: string, keepalive: boolean, data: boolean, delack = 0, src: ConnSource | null = null): number {
  const proto = protoByFamily(family);
  const fd = native.socket(proto.family, C.SOCK_STREAM, family !== "unix" ? C.IPPROTO_TCP : 0);
  if (fd < 0) {
    const e = -fd;
    if (e === -E_MFILE || e === -E_NFILE || e === -E_NOBUFS || e === -E_NOMEM) return SF_ERR_RESOURCE;
    return SF_ERR_INTERNAL;
  }
  if (fd >= global.maxsock) {
    native.close(fd);
    return SF_ERR_PRXCOND;
  }
  if (native.setNonblock(fd) < 0 ||
      (family !== "unix" && native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1) < 0)) {
    native.close(fd);
    return SF_ERR_INTERNAL;
  }
  if (keepalive) native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
  // HAProxy: bind to the `source` address (the server's, else the backend's) before connect().
  if (src !== null && family !== "unix") {
    const e = tcpBindSource(fd, src);
    if (e) {
      native.close(fd);
      conn.errCode = e;
      conn.errno = 0;
      conn.flags |= CO_FL_ERROR;
      return SF_ERR_RESOURCE;
    }
  }
  if (delack === 2 && C.TCP_QUICKACK >= 0) native.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_QUICKACK, 0);
  const r = native.connect(fd, conn.addr!, conn.addrLen);
  if (r === 0 || r === E_ISCONN) {
    conn.flags &= ~CO_FL_WAIT_L4_CONN;
  } else if (r === E_INPROGRESS || r === E_ALREADY) {
    conn.flags |= CO_FL_WAIT_L4_CONN;
  } else {
    native.close(fd);
    conn.errno = r;
    conn.flags |= CO_FL_ERROR;
    if (r === E_AGAIN || r === E_ADDRINUSE || r === E_ADDRNOTAVAIL) return SF_ERR_RESOURCE;
    if (r === E_TIMEDOUT) return SF_ERR_SRVTO;
    return SF_ERR_SRVCL;
  }
  conn.fd = conn.lastFd = fd;
  conn.flags |= CO_FL_ADDR_TO_SET;
  // A PROXY header to send first: a handshake, done by conn_fd_handler() before any data.
  if (conn.sendProxyOfs) conn.flags |= CO_FL_SEND_PROXY;
  connCtrlInit(conn);
  // Closing a server connection we did not see closed resets it, so our ports never sit in TIME_WAIT.
  fdtab.flags[fd] |= FD_F_LINGER_RISK;
  if (conn.flags & (CO_FL_HANDSHAKE | CO_FL_WAIT_L4_CONN)) {
    // The connect's completion (or the PROXY header's turn) comes as write readiness.
    connSockWantSend(conn);
  } else {
    // Already connected: the data layer must hear of it, there will be no other occasion.
    data = true;
  }
  if (data) connXprtWantSend(conn);
  return SF_ERR_NONE;
}

/**
 * HAProxy: tcp_drain(). Discard what the socket holds: true once its end was read (or it is dead),
 * false while data or nothing is left to read (EAGAIN stops reading until the poller says more).
 */
export function tcpDrain(fd: number): boolean {
  for (let turns = 2; turns > 0;) {
    const len = native.recvTrunc(fd);
    if (len === 0) {
      fdtab.flags[fd] &= ~FD_F_LINGER_RISK;
      return true;
    }
    if (len < 0) {
      if (len === E_AGAIN) {
        fdCantRecv(fd);
        return false;
      }
      // Any other error: a dead connection, which is fine.
      fdtab.flags[fd] &= ~FD_F_LINGER_RISK;
      return true;
    }
    turns--;
  }
  return false;
}
