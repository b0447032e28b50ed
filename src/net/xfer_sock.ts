/**
 * Listening sockets handed from a running process to the one replacing it (seamless reload).
 * HAProxy 1.8: the `_getsocks` command of src/cli.c (sender), get_old_sockets() and xfer_sock_list
 * of src/haproxy.c (receiver, `-x <socket>`), tcp_find_compatible_fd() of src/proto_tcp.c and
 * uxst_find_compatible_fd() of src/proto_uxst.c (reuse at bind time).
 *
 * The exchange over a unix stream socket (a stats socket with `expose-fd listeners`), every int in
 * the host's byte order, as 1.8 sends it:
 *
 *   new process                                  old process
 *     "_getsocks\n"  ─────────────────────────▶
 *                    ◀─────────────────────────  int N            (no descriptor; N = 0: none)
 *                    ◀─────────────────────────  records + SCM_RIGHTS, at most 253 fds a message
 *     int ack        ─────────────────────────▶  (after each message; the sender waits for it
 *                                                 only after a full batch of 253)
 *   one record per fd: u8 nslen, namespace, u8 iflen, interface, int options (LI_O_*)
 *
 * The address travels in the descriptor itself: the receiver asks getsockname(). A unix socket
 * bound by HAProxy or hapoll reports its temporary name "<path>.<pid>.tmp" (it was renamed into
 * place), which is what the unix match looks for.
 *
 * The sender walks every listener that is bound (state >= LI_ZOMBIE) and is IPv4, IPv6 or unix,
 * including the stats sockets themselves, so the next process can serve `_getsocks` on the same
 * socket for the reload after.
 */
import * as os from "node:os";
import { native, C, type SockAddrInfo } from "../native";
import { fdtab, FD_F_CLONED } from "../core/fd";
import { type Listener, LI_ZOMBIE } from "./listener";

/** HAProxy: LI_O_* listener options that matter here (include/types/listener.h). */
export const LI_O_FOREIGN = 0x0002;
export const LI_O_ACC_PROXY = 0x0080;
export const LI_O_UNLIMITED = 0x0100;
export const LI_O_V6ONLY = 0x0400;
export const LI_O_V4V6 = 0x0800;
/** Options a reused socket must share with its listener (HAProxy: LI_MANDATORY_FLAGS). */
export const LI_MANDATORY_FLAGS = LI_O_FOREIGN | LI_O_V6ONLY | LI_O_V4V6;

/** A socket received from the old process. HAProxy: struct xfer_sock_list. */
export interface XferSock {
  fd: number;
  addr: SockAddrInfo;
  namespace: string;
  iface: string;
  options: number;
}

/** Sockets received and not claimed by a listener yet. HAProxy: xfer_sock_list. */
export const xferSockList: XferSock[] = [];

/** How many listeners took a received socket (for the start-up notice and tests). */
export const xferStats = { received: 0, reused: 0 };

/** Most bytes one record can take: u8 + 255 + u8 + 255 + int. */
const MAX_RECORD = 1 + 255 + 1 + 255 + 4;
/** A count above this is not an old process talking (1.8 would try to allocate for it). */
const MAX_XFER_SOCKS = 65536;
const LE = os.endianness() === "LE";

function readInt(b: Buffer, off: number): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off);
}
function writeInt(b: Buffer, off: number, v: number): void {
  if (LE) b.writeInt32LE(v, off);
  else b.writeInt32BE(v, off);
}

/** The LI_O_* options hapoll's listener <l> would have in HAProxy. */
export function listenerOptions(l: Listener): number {
  let o = 0;
  if (l.bind?.acceptProxy) o |= LI_O_ACC_PROXY;
  if (l.unlimited) o |= LI_O_UNLIMITED;
  return o;
}

/** Whether <l> is one _getsocks hands out. */
export function isTransferable(l: Listener): boolean {
  return l.state >= LI_ZOMBIE && l.fd >= 0 && (l.family === "ipv4" || l.family === "ipv6" || l.family === "unix");
}

/**
 * HAProxy: the sending half of _getsocks (src/cli.c). Sends the listeners <ls> over the unix
 * stream connection <fd>: the count, then the records with their descriptors. The connection is
 * made blocking with a 1 s receive timeout for the exchange (as 1.8 does: a short, bounded pause
 * of the loop) and non-blocking again after. Returns "" or the warning 1.8 prints.
 */
export function sendListeners(fd: number, ls: Listener[]): string {
  if (native.setBlocking(fd) < 0) return "Cannot make the unix socket blocking";
  native.setRecvTimeout(fd, 1000);
  try {
    const count = Buffer.alloc(4);
    writeInt(count, 0, ls.length);
    const none = new Int32Array(1);
    if (ls.length === 0) return "";
    if (native.sendFds(fd, count, 0, 4, none, 0) !== 4) return "Failed to send the number of sockets to send";
    const max = C.MAX_SEND_FD;
    const rec = Buffer.alloc(max * MAX_RECORD);
    const fds = new Int32Array(max);
    const ack = Buffer.alloc(4);
    const ackFds = new Int32Array(2);
    let n = 0;
    let off = 0;
    for (let i = 0; i < ls.length; i++) {
      fds[n++] = ls[i].fd;
      rec[off++] = 0; // no namespace (hapoll has no `namespace`)
      rec[off++] = 0; // no interface (hapoll has no `interface`)
      writeInt(rec, off, listenerOptions(ls[i]));
      off += 4;
      if (n < max && i < ls.length - 1) continue;
      if (native.sendFds(fd, rec, 0, off, fds, n) !== off) return "Failed to transfer sockets";
      // Now shared with another process: when this one closes them at its soft stop, the kernel
      // keeps the sockets and would keep them in our epoll set too (reporting events for a closed,
      // maybe reused, fd number) unless they are deleted from it explicitly.
      for (let j = 0; j < n; j++) fdtab.flags[fds[j]] |= FD_F_CLONED;
      if (n === max && i < ls.length - 1) {
        // A full batch: wait for the receiver's ack before the next one.
        const r = native.recvFds(fd, ack, 0, 4, ackFds, 0);
        for (let j = 1; j <= ackFds[0]; j++) native.close(ackFds[j]);
        if (r <= 0) return "Unexpected error while transferring sockets";
      }
      n = 0;
      off = 0;
    }
    return "";
  } finally {
    native.setNonblock(fd);
  }
}

/** Close every descriptor in <fds>[from..to). */
function closeAll(fds: number[], from = 0): void {
  for (let i = from; i < fds.length; i++) native.close(fds[i]);
}

/**
 * HAProxy: get_old_sockets(). Connect to the old process' socket <path>, ask `_getsocks`, and fill
 * xferSockList with what comes back. Blocking, with a 1 s receive timeout, at start-up only.
 * Returns "" on success (possibly with nothing received) or the warning that says why not; on
 * failure every descriptor received is closed.
 */
export function getOldSockets(path: string): string {
  const failConnect = `Failed to connect to the old process socket '${path}'`;
  const sock = native.socket(C.AF_UNIX, C.SOCK_STREAM, 0);
  if (sock < 0) return failConnect;
  const got: number[] = [];
  try {
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const salen = native.sockaddrFrom("unix", path, 0, sa);
    if (salen < 0 || native.connect(sock, sa, salen) < 0) return failConnect;
    native.setRecvTimeout(sock, 1000);
    const req = Buffer.from("_getsocks\n");
    native.send(sock, req, 0, req.length, 0);
    const cnt = Buffer.alloc(4);
    const fds = new Int32Array(1 + C.MAX_SEND_FD);
    const r0 = native.recvFds(sock, cnt, 0, 4, fds, 1);
    for (let j = 1; j <= fds[0]; j++) native.close(fds[j]);
    if (r0 !== 4 || fds[0] !== 0) return "Failed to get the number of sockets to be transferred !";
    const count = readInt(cnt, 0);
    if (count === 0) return "";
    if (count < 0 || count > MAX_XFER_SOCKS) return `Unexpected number of sockets to be transferred (${count}) !`;
    const buf = Buffer.alloc(count * MAX_RECORD);
    const ack = Buffer.alloc(4);
    let curoff = 0;
    while (got.length < count && curoff < buf.length) {
      const r = native.recvFds(sock, buf, curoff, buf.length - curoff, fds, 0);
      if (r <= 0) break;
      // The ack lets the sender go on with its next batch.
      writeInt(ack, 0, got.length);
      native.send(sock, ack, 0, 4, 0);
      for (let j = 1; j <= fds[0]; j++) got.push(fds[j]);
      if (got.length > count) return "Got too many sockets !";
      curoff += r;
    }
    if (got.length !== count) return `We didn't get the expected number of sockets (expecting ${count} got ${got.length})`;
    const maxoff = curoff;
    curoff = 0;
    const list: XferSock[] = [];
    const name = Buffer.alloc(C.SOCKADDR_MAX);
    for (let i = 0; i < got.length; i++) {
      const fd = got[i];
      // The record first, so that a socket without an address does not shift the ones after.
      if (curoff >= maxoff) return "Inconsistency while transferring sockets";
      let len = buf[curoff++];
      if (curoff + len > maxoff) return "Inconsistency while transferring sockets";
      const namespace = buf.toString("latin1", curoff, curoff + len);
      curoff += len;
      if (curoff >= maxoff) return "Inconsistency while transferring sockets";
      len = buf[curoff++];
      if (curoff + len > maxoff) return "Inconsistency while transferring sockets";
      const iface = buf.toString("latin1", curoff, curoff + len);
      curoff += len;
      if (curoff + 4 > maxoff) return "Inconsistency while transferring sockets";
      const options = readInt(buf, curoff);
      curoff += 4;
      const nlen = native.getsockname(fd, name);
      const addr = nlen >= 0 ? native.sockaddrInfo(name, nlen) : null;
      list.push({ fd, addr: addr ?? { family: "unix", address: "", port: -1 }, namespace, iface, options });
    }
    got.length = 0;
    xferSockList.push(...list);
    xferStats.received += list.length;
    return "";
  } finally {
    closeAll(got);
    native.close(sock);
  }
}

/**
 * HAProxy: uxst_find_compatible_fd(): the bound name of a transferred unix socket is its
 * temporary one, "<path>.<digits>.tmp".
 */
function unixMatches(path: string, bound: string): boolean {
  if (!path || path.startsWith("\0") || !bound.startsWith(path)) return false;
  return /^\.\d*\.tmp$/.test(bound.slice(path.length));
}

/**
 * HAProxy: tcp_find_compatible_fd() / uxst_find_compatible_fd(). Take from xferSockList a socket
 * bound where <l> binds, with the same interface, namespace and mandatory options (hapoll has no
 * interface, namespace, transparent, v4v6 or v6only: a socket with any of them is not taken).
 * Returns its fd (now owned by the caller) or -1.
 */
export function findCompatibleFd(l: Listener): number {
  if (!xferSockList.length) return -1;
  const mine = l.family === "unix" ? null : native.sockaddrInfo(l.addr, l.addrLen);
  const opts = listenerOptions(l) & LI_MANDATORY_FLAGS;
  for (let i = 0; i < xferSockList.length; i++) {
    const x = xferSockList[i];
    if (x.iface || x.namespace || (x.options & LI_MANDATORY_FLAGS) !== opts) continue;
    if (l.family === "unix") {
      if (x.addr.family !== "unix" || !unixMatches(l.unixPath, x.addr.address)) continue;
    } else if (!mine || x.addr.family !== mine.family || x.addr.address !== mine.address || x.addr.port !== mine.port) {
      continue;
    }
    xferSockList.splice(i, 1);
    xferStats.reused++;
    return x.fd;
  }
  return -1;
}

/** Close the received sockets no listener took (HAProxy: the end of init()). */
export function closeUnusedXferSocks(): number {
  const n = xferSockList.length;
  for (const x of xferSockList) native.close(x.fd);
  xferSockList.length = 0;
  return n;
}

/** Whether <fd> is already listening (HAProxy checks SO_ACCEPTCONN before listen() on a reused fd). */
export function isListening(fd: number): boolean {
  return native.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN) === 1;
}

