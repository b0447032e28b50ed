/**
 * The tour's client: one connection made from inside the loop (an iocb like any other), which sends
 * a line through the proxy, reads the echo back until EOF, then asks the process to stop (SIGUSR1:
 * soft stop), so the whole life of one stream shows in the trace.
 */
import { native, C } from "../native";
import { fdtab, fdInsert, fdDelete, fdWantSend, fdStopSend, fdWantRecv, fdCantRecv, fdCantSend } from "../core/fd";
import { trace } from "../core/trace";
import { E_AGAIN, E_INPROGRESS, E_NOTCONN } from "../core/errno";


/** The in-loop client's state. */
class TourClient {
  sent = false;
  received = Buffer.alloc(0);
  constructor(readonly fd: number, readonly msg: Buffer) {}
}

function tourClientIo(fd: number): void {
  const c = fdtab.owner[fd] as TourClient;
  if (!c.sent) {
    const r = native.send(fd, c.msg, 0, c.msg.length, 0);
    if (r === E_AGAIN || r === E_NOTCONN) {
      fdCantSend(fd);
      return;
    }
    c.sent = true;
    trace("stream", `tour client: sent ${JSON.stringify(c.msg.toString())}, shutdown(SHUT_WR)`);
    native.shutdown(fd, C.SHUT_WR);
    fdStopSend(fd);
    fdWantRecv(fd);
    return;
  }
  const buf = Buffer.alloc(4096);
  const r = native.recv(fd, buf, 0, buf.length);
  if (r > 0) {
    c.received = Buffer.concat([c.received, buf.subarray(0, r)]);
    return;
  }
  if (r === E_AGAIN) {
    fdCantRecv(fd);
    return;
  }
  trace("stream", `tour client: received ${JSON.stringify(c.received.toString())} then EOF; closing, soft stop`);
  fdDelete(fd);
  process.kill(process.pid, "SIGUSR1");
}

/** Connect to <addr> ("127.0.0.1:3307") from inside the loop and run the exchange. "" or an error. */
export function startTourClient(addr: string): string {
  const i = addr.lastIndexOf(":");
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom("ipv4", addr.slice(0, i), Number(addr.slice(i + 1)), sa);
  if (len < 0) return `bad address '${addr}'`;
  const fd = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
  if (fd < 0) return "cannot create socket";
  native.setNonblock(fd);
  const r = native.connect(fd, sa, len);
  if (r < 0 && r !== E_INPROGRESS) {
    native.close(fd);
    return `cannot connect to ${addr}`;
  }
  fdInsert(fd, new TourClient(fd, Buffer.from("hello through hapoll\n")), tourClientIo);
  fdWantSend(fd);
  return "";
}
