/**
 * A built-in echo backend on the same loop, for `npm start` and the tour: a listener whose iocb
 * accepts, and connections whose iocb sends back what they read. It shows the fdtab / cache /
 * update-list machinery on a second kind of owner. It is not counted in `jobs`, so it never keeps
 * the process alive on its own.
 */
import { native, C } from "../native";
import {
  fdtab, fdInsert, fdDelete, fdWantRecv, fdStopRecv, fdWantSend, fdStopSend, fdCantRecv, fdCantSend,
  fdMayRecv, fdMaySend,
} from "../core/fd";
import { global } from "../core/global";
import { str2saRange, isParseError } from "../config/address";
import { E_AGAIN } from "../core/errno";

const EAGAIN = E_AGAIN;

/** One echo connection: a buffer and what is left to send back. */
class EchoConn {
  buf = Buffer.allocUnsafe(16384);
  head = 0;
  tail = 0;
  eof = false;
  constructor(readonly fd: number) {}
}

const acceptAddr = Buffer.alloc(128);

/** The echo server's listening socket (the fd owner). */
class EchoListener {
  constructor(readonly addr: string) {}
}

function echoClose(c: EchoConn): void {
  fdDelete(c.fd);
}

/** iocb of an echo connection: write back what is pending, then read more. */
export function echoIo(fd: number): void {
  const c = fdtab.owner[fd] as EchoConn;
  while (c.tail > c.head) {
    const r = native.send(fd, c.buf, c.head, c.tail - c.head, 0);
    if (r > 0) {
      c.head += r;
    } else if (r === EAGAIN) {
      fdCantSend(fd);
      break;
    } else {
      echoClose(c);
      return;
    }
  }
  if (c.head === c.tail) {
    c.head = c.tail = 0;
    fdStopSend(fd);
    if (c.eof) {
      echoClose(c);
      return;
    }
    fdWantRecv(fd);
  } else {
    fdWantSend(fd);
    fdStopRecv(fd);
    return;
  }
  const r = native.recv(fd, c.buf, 0, c.buf.length);
  if (r > 0) {
    c.tail = r;
    fdWantSend(fd);
  } else if (r === 0) {
    c.eof = true;
    echoClose(c);
  } else if (r === EAGAIN) {
    fdCantRecv(fd);
  } else {
    echoClose(c);
  }
}

/** iocb of the echo listener. */
export function echoAccept(fd: number): void {
  for (let i = 0; i < 64; i++) {
    const cfd = native.accept(fd, acceptAddr);
    if (cfd === EAGAIN) {
      fdCantRecv(fd);
      return;
    }
    if (cfd < 0) return;
    if (cfd >= global.maxsock) {
      native.close(cfd);
      continue;
    }
    fdInsert(cfd, new EchoConn(cfd), echoIo);
    fdMayRecv(cfd);
    fdMaySend(cfd);
    fdWantRecv(cfd);
  }
}

/** Start an echo listener on <addr> ("127.0.0.1:10000"). Returns "" or an error message. */
export function startEchoServer(addr: string): string {
  const a = str2saRange(addr, { portRequired: true });
  if (isParseError(a)) return a.error;
  const fam = a.family === "ipv6" ? "ipv6" : a.family === "unix" ? "unix" : "ipv4";
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(fam, a.host, a.portLow, sa);
  if (len < 0) return `invalid echo address '${addr}'`;
  const fd = native.socket(fam === "ipv6" ? C.AF_INET6 : fam === "unix" ? C.AF_UNIX : C.AF_INET, C.SOCK_STREAM, 0);
  if (fd < 0) return "cannot create socket";
  native.setNonblock(fd);
  native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  if (native.bind(fd, sa, len) < 0 || native.listen(fd, 1024) < 0) {
    native.close(fd);
    return `cannot bind socket [${addr}]`;
  }
  fdInsert(fd, new EchoListener(addr), echoAccept);
  fdMayRecv(fd);
  fdWantRecv(fd);
  return "";
}
