/**
 * Tests of the C++ addon against the contract in src/native.ts: syscall wrappers,
 * every poller backend, signal capture, and robustness against bad arguments.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FD_POLL_ERR,
  FD_POLL_HUP,
  FD_POLL_IN,
  FD_POLL_OUT,
  FD_POLL_RDHUP_SEEN,
  POLL_DIR_R,
  POLL_DIR_W,
  native,
  type NativePoller,
} from "../../src/native";

const E = os.constants.errno;
const S = os.constants.signals;
const C = native.constants;
const ADDON_PATH = path.resolve(__dirname, "../../build/Release/hapoll.node");

/** fds opened by a test, closed at the end so a failing test does not leak. */
const opened: number[] = [];
function track(...fds: number[]): void {
  for (const fd of fds) if (fd >= 0) opened.push(fd);
}
afterAll(() => {
  for (const fd of opened) native.close(fd);
});

function socketpair(type = C.SOCK_STREAM): [number, number] {
  const sv = new Int32Array(2);
  expect(native.socketpair(type, sv)).toBe(0);
  track(sv[0], sv[1]);
  return [sv[0], sv[1]];
}

function sendStr(fd: number, s: string): number {
  const b = Buffer.from(s);
  return native.send(fd, b, 0, b.length, 0);
}

function recvStr(fd: number, max = 4096): string | number {
  const b = Buffer.alloc(max);
  const r = native.recv(fd, b, 0, max);
  return r < 0 ? r : b.toString("utf8", 0, r);
}

/** Collapse the (fd, bits) pairs of one poll() into fd -> OR of bits (kqueue may report an fd twice). */
function events(out: Int32Array, n: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) m.set(out[2 * i], (m.get(out[2 * i]) ?? 0) | out[2 * i + 1]);
  return m;
}

/** A TCP listener on 127.0.0.1 with a kernel-chosen port. */
function tcpListener(): { fd: number; port: number } {
  const fd = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  track(fd);
  expect(native.setNonblock(fd)).toBe(0);
  expect(native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1)).toBe(0);
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom("ipv4", "127.0.0.1", 0, sa);
  expect(native.bind(fd, sa, len)).toBe(0);
  expect(native.listen(fd, 16)).toBe(0);
  const name = Buffer.alloc(C.SOCKADDR_MAX);
  const nlen = native.getsockname(fd, name);
  const info = native.sockaddrInfo(name, nlen);
  expect(info?.family).toBe("ipv4");
  return { fd, port: info!.port };
}

describe("constants and registry", () => {
  it("exposes sane socket constants", () => {
    const keys = [
      "AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEADDR",
      "SO_REUSEPORT", "SO_KEEPALIVE", "SO_ERROR", "SO_RCVBUF", "SO_SNDBUF", "IPPROTO_TCP", "IPPROTO_IPV6",
      "TCP_NODELAY", "IPV6_V6ONLY", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "FD_SETSIZE", "SOCKADDR_MAX", "HAVE_SPLICE",
    ] as const;
    for (const k of keys) expect(Number.isInteger(C[k]), k).toBe(true);
    expect(C.AF_INET).not.toBe(C.AF_INET6);
    expect(C.SOCK_STREAM).not.toBe(C.SOCK_DGRAM);
    expect(new Set([C.SHUT_RD, C.SHUT_WR, C.SHUT_RDWR]).size).toBe(3);
    expect(C.FD_SETSIZE).toBeGreaterThanOrEqual(256);
    expect(C.SOCKADDR_MAX).toBeGreaterThanOrEqual(128);
    expect([0, 1]).toContain(C.HAVE_SPLICE);
    if (process.platform === "linux") {
      expect(C.AF_INET).toBe(2);
      expect(C.AF_INET6).toBe(10);
      expect(C.SO_REUSEPORT).toBe(15);
      expect(C.HAVE_SPLICE).toBe(1);
    }
  });

  it("lists the compiled backends in preference order", () => {
    const names = native.pollerNames();
    expect(names).toContain("poll");
    expect(names).toContain("select");
    // The Linux build against libkqueue (npm run test:kqueue) has kqueue next to epoll.
    if (process.platform === "linux") {
      expect(names).toEqual(process.env.HAPOLL_TEST_LIBKQUEUE === "1" ? ["epoll", "kqueue", "poll", "select"] : ["epoll", "poll", "select"]);
    }
    if (process.platform === "darwin") expect(names).toEqual(["kqueue", "poll", "select"]);
    for (const n of names) expect(native.pollerTest(n, 100)).toBe(0);
    expect(native.pollerTest("nope", 100)).toBeLessThan(0);
    expect(native.pollerTest("poll", 0)).toBe(-E.EINVAL);
  });

  it("select refuses more fds than FD_SETSIZE", () => {
    expect(native.pollerTest("select", C.FD_SETSIZE)).toBe(0);
    expect(native.pollerTest("select", C.FD_SETSIZE + 1)).toBe(-E.EMFILE);
    const p = new native.NativePoller("select", C.FD_SETSIZE + 1);
    expect(p.init()).toBe(-E.EMFILE);
    expect(p.poll(new Int32Array(0), 0, 10, 0, new Int32Array(2))).toBe(-E.EBADF);
    p.term();
  });
});

describe("sockets", () => {
  it("round-trips data over a socketpair", () => {
    const [a, b] = socketpair();
    expect(sendStr(a, "hello")).toBe(5);
    expect(recvStr(b)).toBe("hello");
    const buf = Buffer.from("xxabcxx");
    expect(native.send(b, buf, 2, 3, 1)).toBe(3);
    const rb = Buffer.alloc(10, 0x2e);
    expect(native.recv(a, rb, 4, 6)).toBe(3);
    expect(rb.toString()).toBe("....abc...");
    expect(native.write(a, Buffer.from("w"), 0, 1)).toBe(1);
    const r1 = Buffer.alloc(1);
    expect(native.read(b, r1, 0, 1)).toBe(1);
    expect(r1.toString()).toBe("w");
  });

  it("returns -EAGAIN on an empty non-blocking socket and 0 at EOF", () => {
    const [a, b] = socketpair();
    expect(native.recv(a, Buffer.alloc(8), 0, 8)).toBe(-E.EAGAIN);
    expect(native.read(a, Buffer.alloc(8), 0, 8)).toBe(-E.EAGAIN);
    expect(native.shutdown(b, C.SHUT_WR)).toBe(0);
    expect(native.recv(a, Buffer.alloc(8), 0, 8)).toBe(0);
  });

  it("send to a closed peer gives -EPIPE without killing the process", () => {
    const sv = new Int32Array(2);
    expect(native.socketpair(C.SOCK_STREAM, sv)).toBe(0);
    expect(native.close(sv[1])).toBe(0);
    expect(sendStr(sv[0], "x")).toBe(-E.EPIPE);
    expect(native.close(sv[0])).toBe(0);
    expect(native.close(sv[0])).toBe(-E.EBADF);
  });

  it("creates non-blocking pipes", () => {
    const p = new Int32Array(2);
    expect(native.pipe(p)).toBe(0);
    track(p[0], p[1]);
    expect(native.read(p[0], Buffer.alloc(4), 0, 4)).toBe(-E.EAGAIN);
    expect(native.write(p[1], Buffer.from("abc"), 0, 3)).toBe(3);
    const b = Buffer.alloc(4);
    expect(native.read(p[0], b, 0, 4)).toBe(3);
    expect(b.toString("utf8", 0, 3)).toBe("abc");
  });

  it("splices from a socket into a pipe (or reports -ENOSYS)", () => {
    const [a, b] = socketpair();
    const p = new Int32Array(2);
    expect(native.pipe(p)).toBe(0);
    track(p[0], p[1]);
    expect(sendStr(a, "spliced")).toBe(7);
    const r = native.splice(b, p[1], 65536);
    if (C.HAVE_SPLICE) {
      expect(r).toBe(7);
      const out = Buffer.alloc(16);
      expect(native.read(p[0], out, 0, 16)).toBe(7);
      expect(out.toString("utf8", 0, 7)).toBe("spliced");
      expect(native.splice(b, p[1], 100)).toBe(-E.EAGAIN);
      expect(native.splice(b, p[1], -1)).toBe(-E.EINVAL);
    } else {
      expect(r).toBe(-E.ENOSYS);
    }
  });

  it("encodes and decodes socket addresses", () => {
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const l4 = native.sockaddrFrom("ipv4", "127.0.0.1", 80, sa);
    expect(l4).toBe(16);
    expect(native.sockaddrInfo(sa, l4)).toEqual({ family: "ipv4", address: "127.0.0.1", port: 80 });
    const l6 = native.sockaddrFrom("ipv6", "::1", 443, sa);
    expect(l6).toBe(28);
    expect(native.sockaddrInfo(sa, l6)).toEqual({ family: "ipv6", address: "::1", port: 443 });
    const l6b = native.sockaddrFrom("ipv6", "2001:db8::ff00:42:8329", 65535, sa);
    expect(native.sockaddrInfo(sa, l6b)).toEqual({ family: "ipv6", address: "2001:db8::ff00:42:8329", port: 65535 });
    const p = "/tmp/hapoll-test.sock";
    const lu = native.sockaddrFrom("unix", p, 0, sa);
    expect(lu).toBeGreaterThan(p.length);
    expect(native.sockaddrInfo(sa, lu)).toEqual({ family: "unix", address: p, port: 0 });
    // a longer salen than needed (e.g. SOCKADDR_MAX after accept) still decodes
    expect(native.sockaddrInfo(sa, C.SOCKADDR_MAX)).toEqual({ family: "unix", address: p, port: 0 });
  });

  it("rejects bad socket addresses", () => {
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    expect(native.sockaddrFrom("ipv4", "localhost", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "1.2.3.256", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "::1", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv6", "127.0.0.1", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv6", "::1%", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipx", "1", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1", 65536, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1", -1, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1", NaN, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1", 1.5, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1\0", 80, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv4", "127.0.0.1", 80, Buffer.alloc(4))).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("ipv6", "::1", 80, Buffer.alloc(16))).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("unix", "", 0, sa)).toBe(-E.EINVAL);
    expect(native.sockaddrFrom("unix", "/x".repeat(200), 0, sa)).toBe(-E.ENAMETOOLONG);
    expect(native.sockaddrFrom("unix", "/tmp/x", 0, Buffer.alloc(3))).toBe(-E.EINVAL);
    expect(native.sockaddrInfo(Buffer.alloc(128), 128)).toBeNull(); // AF_UNSPEC
    expect(native.sockaddrInfo(sa, 1)).toBeNull();
    expect(native.sockaddrInfo(sa, 129)).toBeNull();
    expect(native.sockaddrInfo(sa, -1)).toBeNull();
    expect(native.sockaddrInfo(sa, NaN)).toBeNull();
    const l4 = native.sockaddrFrom("ipv4", "10.0.0.1", 1, sa);
    expect(native.sockaddrInfo(sa, l4 - 1)).toBeNull(); // truncated sockaddr_in
  });

  it("resolves host names", () => {
    expect(native.resolveHost("127.0.0.1", "ipv4")).toBe("127.0.0.1");
    expect(native.resolveHost("::1", "ipv6")).toBe("::1");
    expect(native.resolveHost("localhost", "ipv4")).toBe("127.0.0.1");
    expect(typeof native.resolveHost("localhost", "any")).toBe("string");
    expect(native.resolveHost("localhost", "ipx")).toBe(-E.EINVAL);
    expect(native.resolveHost("", "any")).toBe(-E.ENOENT);
    expect(native.resolveHost("no-such-host.invalid", "any")).toBe(-E.ENOENT);
  }, 30000);

  it("binds, listens, connects and accepts over TCP", () => {
    const { fd: lfd, port } = tcpListener();
    expect(port).toBeGreaterThan(0);
    const cfd = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
    track(cfd);
    expect(native.setNonblock(cfd)).toBe(0);
    expect(native.setsockoptInt(cfd, C.IPPROTO_TCP, C.TCP_NODELAY, 1)).toBe(0);
    expect(native.getsockoptInt(cfd, C.IPPROTO_TCP, C.TCP_NODELAY)).not.toBe(0);
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const len = native.sockaddrFrom("ipv4", "127.0.0.1", port, sa);
    const r = native.connect(cfd, sa, len);
    expect([0, -E.EINPROGRESS]).toContain(r);

    const p = new native.NativePoller(native.pollerNames()[0], 4096);
    expect(p.init()).toBe(0);
    const out = new Int32Array(64);
    const n = p.poll(new Int32Array([lfd, 0, POLL_DIR_R, cfd, 0, POLL_DIR_W]), 2, 4096, 2000, out);
    expect(n).toBeGreaterThan(0);
    p.term();

    const peer = Buffer.alloc(C.SOCKADDR_MAX);
    const afd = native.accept(lfd, peer);
    expect(afd).toBeGreaterThanOrEqual(0);
    track(afd);
    expect(native.recv(afd, Buffer.alloc(4), 0, 4)).toBe(-E.EAGAIN); // accepted socket is non-blocking
    const cname = Buffer.alloc(C.SOCKADDR_MAX);
    const clen = native.getsockname(cfd, cname);
    expect(native.sockaddrInfo(peer, C.SOCKADDR_MAX)).toEqual(native.sockaddrInfo(cname, clen));
    const pn = Buffer.alloc(C.SOCKADDR_MAX);
    const plen = native.getpeername(cfd, pn);
    expect(native.sockaddrInfo(pn, plen)).toEqual({ family: "ipv4", address: "127.0.0.1", port });
    expect(native.getsockoptInt(cfd, C.SOL_SOCKET, C.SO_ERROR)).toBe(0);

    expect(sendStr(cfd, "ping")).toBe(4);
    let got: string | number = -1;
    for (let i = 0; i < 100 && typeof got !== "string"; i++) got = recvStr(afd);
    expect(got).toBe("ping");
    expect(native.setLinger(afd, 1, 0)).toBe(0);
    expect(native.accept(lfd, peer)).toBe(-E.EAGAIN);
    expect(native.accept(lfd, Buffer.alloc(16))).toBe(-E.EINVAL);
    // a short Buffer gets a truncated copy, not an overrun
    expect(native.getsockname(lfd, Buffer.alloc(2))).toBe(16);
  });

  it("reports a refused connection through SO_ERROR", () => {
    const { fd: lfd, port } = tcpListener();
    native.close(lfd); // nothing listens on <port> any more
    const cfd = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
    track(cfd);
    native.setNonblock(cfd);
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const r = native.connect(cfd, sa, native.sockaddrFrom("ipv4", "127.0.0.1", port, sa));
    if (r === -E.ECONNREFUSED) return;
    expect(r).toBe(-E.EINPROGRESS);
    const p = new native.NativePoller("poll", 4096);
    p.init();
    const out = new Int32Array(8);
    expect(p.poll(new Int32Array([cfd, 0, POLL_DIR_W]), 1, 4096, 2000, out)).toBe(1);
    p.term();
    expect(native.getsockoptInt(cfd, C.SOL_SOCKET, C.SO_ERROR)).toBe(E.ECONNREFUSED);
  });

  it("connects over a unix socket", () => {
    const file = path.join(os.tmpdir(), `hapoll-${process.pid}.sock`);
    fs.rmSync(file, { force: true });
    const lfd = native.socket(C.AF_UNIX, C.SOCK_STREAM, 0);
    track(lfd);
    native.setNonblock(lfd);
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const len = native.sockaddrFrom("unix", file, 0, sa);
    expect(native.bind(lfd, sa, len)).toBe(0);
    expect(native.listen(lfd, 4)).toBe(0);
    const cfd = native.socket(C.AF_UNIX, C.SOCK_STREAM, 0);
    track(cfd);
    native.setNonblock(cfd);
    expect(native.connect(cfd, sa, len)).toBe(0);
    const peer = Buffer.alloc(C.SOCKADDR_MAX, 0xff);
    const afd = native.accept(lfd, peer);
    track(afd);
    expect(afd).toBeGreaterThanOrEqual(0);
    expect(native.sockaddrInfo(peer, C.SOCKADDR_MAX)).toEqual({ family: "unix", address: "", port: 0 });
    const name = Buffer.alloc(C.SOCKADDR_MAX);
    expect(native.sockaddrInfo(name, native.getsockname(lfd, name))).toEqual({ family: "unix", address: file, port: 0 });
    fs.rmSync(file, { force: true });
  });

  it("sendFds()/recvFds() pass descriptors over a unix socket (SCM_RIGHTS) with their bytes", () => {
    const sv = new Int32Array(2);
    expect(native.socketpair(C.SOCK_STREAM, sv)).toBe(0);
    track(sv[0]);
    track(sv[1]);
    const p = new Int32Array(2);
    expect(native.pipe(p)).toBe(0);
    track(p[0]);
    track(p[1]);
    const msg = Buffer.from("two fds");
    expect(native.sendFds(sv[0], msg, 0, msg.length, p, 2)).toBe(msg.length);
    const got = Buffer.alloc(32);
    const fds = new Int32Array(4);
    expect(native.recvFds(sv[1], got, 0, got.length, fds, 0)).toBe(msg.length);
    expect(got.toString("latin1", 0, msg.length)).toBe("two fds");
    expect(fds[0]).toBe(2);
    track(fds[1]);
    track(fds[2]);
    // The received write end feeds the original read end: same pipe, new numbers.
    expect(fds[1]).not.toBe(p[0]);
    expect(native.write(fds[2], Buffer.from("z"), 0, 1)).toBe(1);
    expect(native.read(p[0], got, 0, 1)).toBe(1);
    expect(got[0]).toBe(0x7a);
    // More fds than the array holds: the extra ones are closed, not leaked or written past the end.
    expect(native.sendFds(sv[0], msg, 0, 1, p, 2)).toBe(1);
    const small = new Int32Array(2);
    expect(native.recvFds(sv[1], got, 0, 1, small, 0)).toBe(1);
    expect(small[0]).toBe(1);
    track(small[1]);
    // Contract: bad counts are -EINVAL, a non-blocking empty socket -EAGAIN, a timeout bounds a blocking wait.
    expect(native.sendFds(sv[0], msg, 0, 1, p, 3)).toBe(-E.EINVAL);
    expect(native.sendFds(sv[0], msg, 0, 1, new Int32Array(300), 254)).toBe(-E.EINVAL);
    expect(native.recvFds(sv[1], got, 0, 4, new Int32Array(0), 0)).toBe(-E.EINVAL);
    expect(native.recvFds(sv[1], got, 0, 4, fds, 1)).toBe(-E.EAGAIN);
    expect(native.setBlocking(sv[1])).toBe(0);
    expect(native.setRecvTimeout(sv[1], 50)).toBe(0);
    expect(native.setRecvTimeout(sv[1], -1)).toBe(-E.EINVAL);
    const t0 = Date.now();
    expect(native.recvFds(sv[1], got, 0, 4, fds, 1)).toBe(-E.EAGAIN);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(native.sendFds(-1, msg, 0, 1, p, 0)).toBe(-E.EBADF);
  });

  it("reads and sets RLIMIT_NOFILE", () => {
    const lim = new Float64Array(2);
    expect(native.getNofile(lim)).toBe(0);
    expect(lim[0]).toBeGreaterThan(0);
    expect(lim[1]).toBeGreaterThanOrEqual(lim[0]);
    expect(native.setNofile(lim[0], lim[1])).toBe(0);
    expect(native.getNofile(new Float64Array(1))).toBe(-E.EINVAL);
    expect(native.setNofile(-1, lim[1])).toBe(-E.EINVAL);
    expect(native.setNofile(NaN, lim[1])).toBe(-E.EINVAL);
    expect(native.setNofile(lim[1] + 1, lim[1])).toBeLessThan(0); // soft above hard
    if (lim[1] !== Infinity) expect(native.setNofile(Infinity, Infinity)).toBeLessThan(0);
  });
});

describe("bad calls", () => {
  type Kind = "n" | "b" | "s" | "i32" | "f64";
  const sample: Record<Kind, () => unknown> = {
    n: () => -1,
    b: () => Buffer.alloc(C.SOCKADDR_MAX),
    s: () => "ipv4",
    i32: () => new Int32Array(66),
    f64: () => new Float64Array(2),
  };
  const wrong: Record<Kind, unknown[]> = {
    n: ["1", {}, undefined, null, [], 1n, true, () => 1],
    b: ["x", 1, {}, undefined, null, [1, 2], new ArrayBuffer(8)],
    s: [1, {}, undefined, null, Buffer.from("ipv4"), ["ipv4"]],
    i32: [[1, 2, 3], new Uint32Array(66), new Float64Array(66), Buffer.alloc(264), 1, undefined, {}],
    f64: [[1, 2], new Int32Array(2), new Float32Array(2), 1, undefined, null],
  };
  const sigs: Record<string, Kind[]> = {
    socket: ["n", "n", "n"],
    setNonblock: ["n"],
    bind: ["n", "b", "n"],
    listen: ["n", "n"],
    accept: ["n", "b"],
    connect: ["n", "b", "n"],
    recv: ["n", "b", "n", "n"],
    send: ["n", "b", "n", "n", "n"],
    shutdown: ["n", "n"],
    close: ["n"],
    getsockoptInt: ["n", "n", "n"],
    setsockoptInt: ["n", "n", "n", "n"],
    setLinger: ["n", "n", "n"],
    resetLinger: ["n"],
    recvTrunc: ["n"],
    getsockname: ["n", "b"],
    getpeername: ["n", "b"],
    sockaddrFrom: ["s", "s", "n", "b"],
    sockaddrInfo: ["b", "n"],
    resolveHost: ["s", "s"],
    socketpair: ["n", "i32"],
    pipe: ["i32"],
    splice: ["n", "n", "n"],
    getNofile: ["f64"],
    setNofile: ["n", "n"],
    write: ["n", "b", "n", "n"],
    read: ["n", "b", "n", "n"],
    sendFds: ["n", "b", "n", "n", "i32", "n"],
    recvFds: ["n", "b", "n", "n", "i32", "n"],
    setBlocking: ["n"],
    setRecvTimeout: ["n", "n"],
    signalMode: ["n", "n"],
    signalTake: ["i32"],
    pollerTest: ["s", "n"],
  };

  it("covers every exported function", () => {
    const fns = Object.keys(native).filter((k) => typeof (native as any)[k] === "function");
    const covered = new Set([...Object.keys(sigs), "NativePoller", "pollerNames", "signalInit"]);
    for (const f of fns) expect(covered.has(f), f).toBe(true);
  });

  it("throws TypeError for every wrongly typed argument", () => {
    const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const [fn, kinds] of Object.entries(sigs)) {
      for (let i = 0; i < kinds.length; i++) {
        for (const w of wrong[kinds[i]]) {
          const args = kinds.map((k) => sample[k]());
          args[i] = w;
          expect(() => n[fn](...args), `${fn} arg ${i} = ${String(w)}`).toThrow(TypeError);
        }
      }
      expect(() => n[fn](), `${fn}()`).toThrow(TypeError);
    }
  });

  it("throws TypeError for bad NativePoller construction and calls", () => {
    const P = native.NativePoller as unknown as new (...a: unknown[]) => NativePoller;
    expect(() => new P()).toThrow(TypeError);
    expect(() => new P(1, 10)).toThrow(TypeError);
    expect(() => new P("poll", "10")).toThrow(TypeError);
    expect(() => new P("nope", 10)).toThrow(TypeError);
    expect(() => new P("poll", 0)).toThrow(TypeError);
    expect(() => new P("poll", 1.5)).toThrow(TypeError);
    expect(() => new P("poll", NaN)).toThrow(TypeError);
    expect(() => new P("poll", 2 ** 24 + 1)).toThrow(TypeError);
    expect(() => (native.NativePoller as any)("poll", 10)).toThrow(TypeError);
    const p = new native.NativePoller("poll", 64) as any;
    const ch = new Int32Array(3);
    const out = new Int32Array(4);
    expect(() => p.poll()).toThrow(TypeError);
    expect(() => p.poll([0, 0, 1], 1, 10, 0, out)).toThrow(TypeError);
    expect(() => p.poll(ch, "1", 10, 0, out)).toThrow(TypeError);
    expect(() => p.poll(ch, 0, undefined, 0, out)).toThrow(TypeError);
    expect(() => p.poll(ch, 0, 10, null, out)).toThrow(TypeError);
    expect(() => p.poll(ch, 0, 10, 0, new Uint32Array(4))).toThrow(TypeError);
    expect(() => p.clo("3")).toThrow(TypeError);
    expect(() => p.poll.call({}, ch, 0, 10, 0, out)).toThrow(TypeError);
    expect(() => native.NativePoller.prototype.init.call(Object.create(native.NativePoller.prototype))).toThrow();
  });

  it("rejects out-of-range offsets and lengths with -EINVAL", () => {
    const [a, b] = socketpair();
    const buf = Buffer.alloc(16);
    for (const fn of ["recv", "read", "write"] as const) {
      expect(native[fn](a, buf, 0, -1), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, -1, 1), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 17, 0), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 8, 9), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 1, 2 ** 53), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 2 ** 64, 2 ** 64), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, NaN, 1), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 0, Infinity), fn).toBe(-E.EINVAL);
      expect(native[fn](a, buf, 0.5, 1), fn).toBe(-E.EINVAL);
    }
    expect(native.send(a, buf, 0, -1, 0)).toBe(-E.EINVAL);
    expect(native.send(a, buf, 10, 7, 0)).toBe(-E.EINVAL);
    expect(native.send(a, buf, 16, 0, 0)).toBe(0); // empty range at the very end is fine
    expect(native.recv(b, buf, 0, 16)).toBe(-E.EAGAIN); // nothing was sent by the rejected calls
    const sa = Buffer.alloc(16);
    expect(native.bind(a, sa, 17)).toBe(-E.EINVAL);
    expect(native.bind(a, sa, -1)).toBe(-E.EINVAL);
    expect(native.connect(a, sa, 2 ** 40)).toBe(-E.EINVAL);
    expect(native.socketpair(C.SOCK_STREAM, new Int32Array(1))).toBe(-E.EINVAL);
    expect(native.pipe(new Int32Array(1))).toBe(-E.EINVAL);
    expect(native.signalTake(new Int32Array(64))).toBe(-E.EINVAL);
    expect(native.signalMode(0, 2)).toBe(-E.EINVAL);
    expect(native.signalMode(65, 2)).toBe(-E.EINVAL);
    expect(native.signalMode(S.SIGUSR2, 3)).toBe(-E.EINVAL);
    expect(native.signalMode(S.SIGKILL, 2)).toBe(-E.EINVAL);
    expect(native.socket(C.AF_INET, 2 ** 40, 0)).toBe(-E.EINVAL);
  });

  it("returns a negative errno for closed, huge and NaN fds", () => {
    const sv = new Int32Array(2);
    native.socketpair(C.SOCK_STREAM, sv);
    native.close(sv[0]);
    native.close(sv[1]);
    const buf = Buffer.alloc(C.SOCKADDR_MAX);
    const i32 = new Int32Array(2);
    for (const fd of [sv[0], -1, -(2 ** 31), 1e9, 2 ** 31, 2 ** 40, -(2 ** 40), NaN, Infinity, -Infinity, 3.5]) {
      const results: Record<string, unknown> = {
        setNonblock: native.setNonblock(fd),
        bind: native.bind(fd, buf, 16),
        listen: native.listen(fd, 1),
        accept: native.accept(fd, buf),
        connect: native.connect(fd, buf, 16),
        recv: native.recv(fd, buf, 0, 4),
        send: native.send(fd, buf, 0, 4, 0),
        shutdown: native.shutdown(fd, C.SHUT_RDWR),
        close: native.close(fd),
        getsockoptInt: native.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ERROR),
        setsockoptInt: native.setsockoptInt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1),
        setLinger: native.setLinger(fd, 1, 0),
        resetLinger: native.resetLinger(fd),
        recvTrunc: native.recvTrunc(fd),
        getsockname: native.getsockname(fd, buf),
        getpeername: native.getpeername(fd, buf),
        splice: native.splice(fd, fd, 10),
        write: native.write(fd, buf, 0, 4),
        read: native.read(fd, buf, 0, 4),
      };
      for (const [k, v] of Object.entries(results)) {
        expect(typeof v, `${k}(${fd})`).toBe("number");
        expect(v as number, `${k}(${fd})`).toBeLessThan(0);
      }
      expect(results.read, `read(${fd})`).toBe(-E.EBADF);
    }
    expect(native.socketpair(-1, i32)).toBeLessThan(0);
  });

  it("survives thousands of random calls (fuzz in a child process)", () => {
    const script = `
      const n = require(${JSON.stringify(ADDON_PATH)});
      const C = n.constants;
      let seed = 12345;
      const rnd = (k) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
      const pick = (a) => a[rnd(a.length)];
      const own = [];   // fds created here: the only real fds we may close
      const nums = () => pick([0, 1, -1, 2, 16, 100, 65535, 65536, 2**31, -(2**31), 2**40, 2**53, NaN, Infinity, -Infinity, 0.5, -0.0, 1e9]);
      const fd = () => rnd(3) ? (own.length ? pick(own) : -1) : safeNums();
      const buf = () => pick([Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(16), Buffer.alloc(C.SOCKADDR_MAX), Buffer.alloc(70000), new Uint8Array(28).subarray(3)]);
      const junk = () => pick(["x", {}, undefined, null, [], 1n, true, new ArrayBuffer(4)]);
      // never a small integer: dropped into an fd position it could hit one of Node's own fds
      const safeNums = () => pick([-1, -(2**31), 2**31, 2**40, 2**53, NaN, Infinity, -Infinity, 0.5, 1e9]);
      const anyArg = () => { const r = rnd(8); return r < 3 ? safeNums() : r < 4 ? buf() : r < 5 ? junk() : r < 6 ? pick(["ipv4","ipv6","unix","any","127.0.0.1","::1","/tmp/x","", "fe80::1%lo", "\\0abs"]) : r < 7 ? new Int32Array(rnd(70)) : new Float64Array(rnd(3)); };
      const sigs = [require("os").constants.signals.SIGUSR2, 0, 9, 19, 65, 1000, -1, NaN];
      const pollers = [];
      for (const name of n.pollerNames()) { const p = new n.NativePoller(name, 256); if (rnd(4)) p.init(); pollers.push(p); }
      const fns = {
        socket: () => [pick([C.AF_INET, C.AF_INET6, C.AF_UNIX, -1, 9999, NaN]), pick([C.SOCK_STREAM, C.SOCK_DGRAM, 0, 2**40]), pick([0, 6, 17, -1])],
        setNonblock: () => [fd()], bind: () => [fd(), buf(), nums()], listen: () => [fd(), nums()],
        accept: () => [fd(), buf()], connect: () => [fd(), buf(), nums()],
        recv: () => [fd(), buf(), nums(), nums()], send: () => [fd(), buf(), nums(), nums(), nums()],
        read: () => [fd(), buf(), nums(), nums()], write: () => [fd(), buf(), nums(), nums()],
        shutdown: () => [fd(), nums()], close: () => [fd()],
        sendFds: () => [fd(), buf(), nums(), nums(), new Int32Array(rnd(4)).fill(-1), pick([0, 1, 2, 300, -1, NaN])],
        recvFds: () => [fd(), buf(), nums(), nums(), new Int32Array(rnd(4)), pick([0, 1, NaN])],
        setRecvTimeout: () => [fd(), nums()],
        getsockoptInt: () => [fd(), pick([C.SOL_SOCKET, C.IPPROTO_TCP, nums()]), pick([C.SO_ERROR, C.SO_RCVBUF, nums()])],
        setsockoptInt: () => [fd(), pick([C.SOL_SOCKET, C.IPPROTO_TCP, nums()]), pick([C.SO_KEEPALIVE, C.TCP_NODELAY, nums()]), nums()],
        setLinger: () => [fd(), nums(), nums()], resetLinger: () => [fd()], recvTrunc: () => [fd()], getsockname: () => [fd(), buf()], getpeername: () => [fd(), buf()],
        sockaddrFrom: () => [anyArg(), anyArg(), nums(), buf()], sockaddrInfo: () => [buf(), nums()],
        socketpair: () => [pick([C.SOCK_STREAM, C.SOCK_DGRAM, -1, NaN]), new Int32Array(rnd(3))],
        pipe: () => [new Int32Array(rnd(3))], splice: () => [fd(), fd(), nums()],
        getNofile: () => [new Float64Array(rnd(3))], setNofile: () => [pick([NaN, -1, 2**70, 0.5]), pick([NaN, -1, 2**70])],
        signalTake: () => [new Int32Array(rnd(70))], signalMode: () => [pick(sigs), pick([0, 2, 3, -1, NaN])],
        pollerTest: () => [anyArg(), nums()],
      };
      const names = Object.keys(fns);
      let typeErrors = 0, other = 0, calls = 0;
      n.signalInit();
      for (let i = 0; i < 6000; i++) {
        const k = rnd(10);
        try {
          if (k === 0) {
            const p = pick(pollers);
            const m = rnd(6);
            if (m === 0) p.init(); else if (m === 1) p.term(); else if (m === 2) p.fork();
            else if (m === 3) p.clo(rnd(2) ? fd() : anyArg());
            else {
              const ch = new Int32Array(rnd(30));
              for (let j = 0; j < ch.length; j++) ch[j] = rnd(3) === 0 ? fd() | 0 : rnd(3) === 0 ? rnd(300) - 20 : rnd(4);
              p.poll(rnd(10) ? ch : anyArg(), rnd(10) ? rnd(12) : anyArg(), rnd(10) ? rnd(300) - 10 : anyArg(), rnd(10) ? rnd(2) : pick([NaN, -0.5, 0.2, anyArg()]), rnd(10) ? new Int32Array(rnd(40)) : anyArg());
            }
          } else {
            const name = pick(names);
            let args = fns[name]();
            if (rnd(6) === 0) args[rnd(args.length)] = anyArg();
            if (rnd(20) === 0) args = args.slice(0, rnd(args.length));
            const r = n[name](...args);
            if ((name === "socket" || name === "accept") && typeof r === "number" && r >= 0) { own.push(r); n.setNonblock(r); }
            if ((name === "socketpair" || name === "pipe") && r === 0) own.push(args[args.length - 1][0], args[args.length - 1][1]);
            // a closed number may be reused by Node itself (libuv's eventfd): never touch it again
            if (name === "close" && r === 0 && own.includes(args[0])) own.splice(own.indexOf(args[0]), 1);
            if (typeof r !== "number" && typeof r !== "string" && r !== null && typeof r !== "object") throw new Error("bad result " + name);
          }
          calls++;
        } catch (e) {
          if (e instanceof TypeError) typeErrors++; else { other++; console.error(e); }
        }
        if (own.length > 150) { for (const f of own.splice(0, 100)) n.close(f); }
      }
      for (const p of pollers) p.term();
      for (const f of own) n.close(f);
      console.log(JSON.stringify({ calls, typeErrors, other }));
      process.exit(other === 0 ? 0 : 3);
    `;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const stats = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(stats.calls + stats.typeErrors).toBe(6000);
    expect(stats.calls).toBeGreaterThan(3000);
  }, 90000);

  // test/fixtures/native-fuzz.js goes further than the loop above: every export (resolveHost,
  // pollerNames and signalInit included) and every NativePoller method, constructor arguments,
  // foreign receivers, change arrays with real and impossible fds, views with offsets, shared,
  // resizable and detached buffers, valid ranges touching a buffer's end, live traffic, caught
  // signals ending an endless wait, and pollers dropped to the garbage collector.
  const FUZZ = path.resolve(__dirname, "../fixtures/native-fuzz.js");
  const FUZZ_SEEDS = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : [1, 2, 3];
  it.each(FUZZ_SEEDS)("survives 20000 random calls of every export and NativePoller method (seed %i, child process)", (seed) => {
    const r = spawnSync(process.execPath, ["--expose-gc", FUZZ, String(seed), "20000", ADDON_PATH], { encoding: "utf8", timeout: 120000 });
    expect(r.signal, `killed by ${r.signal}: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const stats = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(stats.problems).toEqual([]);
    expect(stats.calls).toBe(20000);
    expect(stats.ok + stats.typeErrors).toBe(20000);
    expect(stats.typeErrors).toBeGreaterThan(500);
    expect(stats.negErrno).toBeGreaterThan(1000);
    expect(stats.pollEvents).toBeGreaterThan(0);
    expect(stats.bytesIn).toBeGreaterThan(0);
    expect(stats.gcs).toBeGreaterThan(0);
    const exportsList = Object.keys(native).filter((k) => typeof (native as any)[k] === "function" && k !== "NativePoller");
    const methods = ["init", "term", "fork", "poll", "clo"].map((m) => `NativePoller.${m}`);
    for (const f of [...exportsList, ...methods, "NativePoller.foreignThis", "NativePoller.poll(forever)+signal"]) {
      expect(stats.called, `the fuzzer never called ${f}`).toContain(f);
    }
  }, 150000);
});

describe.each(native.pollerNames())("poller %s", (name) => {
  const MAXSOCK = 1024;
  const out = new Int32Array(128);

  function newPoller(): NativePoller {
    const p = new native.NativePoller(name, MAXSOCK);
    expect(p.name).toBe(name);
    expect(p.init()).toBe(0);
    return p;
  }

  it("returns -EBADF before init and after term; term is idempotent", () => {
    const p = new native.NativePoller(name, MAXSOCK);
    const ch = new Int32Array(3);
    expect(p.poll(ch, 0, 10, 0, out)).toBe(-E.EBADF);
    expect(p.clo(3)).toBe(-E.EBADF);
    expect(p.fork()).toBe(-E.EBADF);
    expect(p.init()).toBe(0);
    expect(p.poll(ch, 0, 10, 0, out)).toBe(0);
    p.term();
    p.term();
    expect(p.poll(ch, 0, 10, 0, out)).toBe(-E.EBADF);
    expect(p.clo(3)).toBe(-E.EBADF);
    expect(p.init()).toBe(0); // can be brought back
    p.term();
  });

  it("validates nchanges and timeout", () => {
    const p = newPoller();
    const ch = new Int32Array(6);
    expect(p.poll(ch, 3, 10, 0, out)).toBe(-E.EINVAL);
    expect(p.poll(ch, -1, 10, 0, out)).toBe(-E.EINVAL);
    expect(p.poll(ch, NaN, 10, 0, out)).toBe(-E.EINVAL);
    expect(p.poll(ch, 1.5, 10, 0, out)).toBe(-E.EINVAL);
    expect(p.poll(ch, 2, 10, NaN, out)).toBe(-E.EINVAL);
    expect(p.poll(ch, 2, NaN, 0, out)).toBe(0);
    expect(p.poll(ch, 2, -5, 0, out)).toBe(0);
    expect(p.poll(ch, 2, 2 ** 40, 0, new Int32Array(0))).toBe(0);
    // fds outside [0, maxsock) are skipped, not an error
    expect(p.poll(new Int32Array([-1, 0, 1, MAXSOCK, 0, 3, 2 ** 31 - 1, 0, 1]), 3, MAXSOCK, 0, out)).toBe(0);
    expect(p.clo(-1)).toBe(-E.EINVAL);
    expect(p.clo(MAXSOCK)).toBe(-E.EINVAL);
    expect(p.clo(NaN)).toBeLessThan(0);
    p.term();
  });

  it("writes the hrtime clock before and after the wait into an optional 6th argument", () => {
    const p = newPoller();
    const times = new Float64Array(2);
    const before = Number(process.hrtime.bigint()) / 1e6;
    expect(p.poll(new Int32Array(0), 0, 0, 30, out, times)).toBe(0);
    const after = Number(process.hrtime.bigint()) / 1e6;
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect(times[1]).toBeLessThanOrEqual(after);
    // the wait itself lies between the two readings (timeouts are rounded up, never short)
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(29);
    expect(p.poll(new Int32Array(0), 0, 0, 0, out, new Float64Array(1))).toBe(-E.EINVAL);
    expect(p.poll(new Int32Array(0), 0, 0, 0, out, undefined)).toBe(0);
    expect(() => p.poll(new Int32Array(0), 0, 0, 0, out, new Int32Array(2) as any)).toThrow(TypeError);
    p.term();
  });

  it("takes each array as its ArrayBuffer too; a detached one has length 0", () => {
    const p = newPoller();
    const [a, b] = socketpair();
    const maxfd = Math.max(a, b) + 1;
    const ch = new Int32Array([b, 0, POLL_DIR_R]);
    const o = new Int32Array(8);
    const times = new Float64Array(2);
    expect(p.poll(ch.buffer, 1, maxfd, 0, o.buffer, times.buffer)).toBe(0);
    expect(sendStr(a, "x")).toBe(1);
    expect(p.poll(new ArrayBuffer(0), 0, maxfd, 1000, o.buffer, times.buffer)).toBe(1);
    expect([o[0], o[1] & FD_POLL_IN]).toEqual([b, FD_POLL_IN]);
    expect(times[1]).toBeGreaterThanOrEqual(times[0]);
    expect(times[0]).toBeGreaterThan(0);
    // bytes past the last whole entry do not count: 11 bytes hold 2 int32s, not 3
    expect(p.poll(new ArrayBuffer(11), 1, maxfd, 0, o.buffer)).toBe(-E.EINVAL);
    expect(p.poll(new ArrayBuffer(8), 0, maxfd, 0, o.buffer, new ArrayBuffer(15))).toBe(-E.EINVAL);
    const gone = new ArrayBuffer(12);
    structuredClone(gone, { transfer: [gone] });
    expect(p.poll(gone, 1, maxfd, 0, o.buffer)).toBe(-E.EINVAL);
    const goneOut = new ArrayBuffer(64);
    structuredClone(goneOut, { transfer: [goneOut] });
    // no room for any event: none written (the data stays pending, level-triggered)
    expect(p.poll(new ArrayBuffer(0), 0, maxfd, 0, goneOut)).toBe(0);
    expect(p.poll(new ArrayBuffer(0), 0, maxfd, 0, o.buffer)).toBe(1);
    expect(recvStr(b)).toBe("x");
    p.term();
  });

  it("reports read readiness and stops when unsubscribed", () => {
    const p = newPoller();
    const [a, b] = socketpair();
    const maxfd = Math.max(a, b) + 1;
    expect(p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, maxfd, 0, out)).toBe(0);
    expect(sendStr(a, "x")).toBe(1);
    const n = p.poll(new Int32Array(0), 0, maxfd, 1000, out);
    expect(n).toBe(1);
    expect(out[0]).toBe(b);
    expect(out[1] & FD_POLL_IN).toBe(FD_POLL_IN);
    expect(out[1] & FD_POLL_OUT).toBe(0);
    // level-triggered: still readable
    expect(p.poll(new Int32Array(0), 0, maxfd, 0, out)).toBe(1);
    // unsubscribed: silent even though data is pending
    expect(p.poll(new Int32Array([b, POLL_DIR_R, 0]), 1, maxfd, 0, out)).toBe(0);
    expect(recvStr(b)).toBe("x");
    p.term();
  });

  it("reports write readiness and both directions", () => {
    const p = newPoller();
    const [a, b] = socketpair();
    const maxfd = Math.max(a, b) + 1;
    let n = p.poll(new Int32Array([a, 0, POLL_DIR_W]), 1, maxfd, 1000, out);
    expect(n).toBe(1);
    expect(events(out, n).get(a)).toBe(FD_POLL_OUT);
    sendStr(b, "y");
    n = p.poll(new Int32Array([a, POLL_DIR_W, POLL_DIR_R | POLL_DIR_W]), 1, maxfd, 1000, out);
    expect(events(out, n).get(a)).toBe(FD_POLL_IN | FD_POLL_OUT);
    n = p.poll(new Int32Array([a, POLL_DIR_R | POLL_DIR_W, POLL_DIR_R]), 1, maxfd, 1000, out);
    expect(events(out, n).get(a)).toBe(FD_POLL_IN);
    p.term();
  });

  it("reports the peer's close", () => {
    const p = newPoller();
    const sv = new Int32Array(2);
    native.socketpair(C.SOCK_STREAM, sv);
    const [a, b] = [sv[0], sv[1]];
    track(b);
    expect(p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 0, out)).toBe(0);
    native.close(a);
    const n = p.poll(new Int32Array(0), 0, b + 1, 1000, out);
    const ev = events(out, n).get(b) ?? 0;
    if (name === "select") expect(ev).toBe(FD_POLL_IN);
    else expect(ev & FD_POLL_HUP).toBe(FD_POLL_HUP);
    if (name === "epoll" || name === "kqueue") expect(ev & FD_POLL_RDHUP_SEEN).toBe(FD_POLL_RDHUP_SEEN);
    expect(native.recv(b, Buffer.alloc(4), 0, 4)).toBe(0);
    p.term();
  });

  it("reports an error on a refused connection", (ctx) => {
    if (name === "select") ctx.skip("select only has read/write sets: it has no error event to report");
    const { fd: lfd, port } = tcpListener();
    native.close(lfd);
    const cfd = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
    track(cfd);
    native.setNonblock(cfd);
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    if (native.connect(cfd, sa, native.sockaddrFrom("ipv4", "127.0.0.1", port, sa)) !== -E.EINPROGRESS) return;
    const p = newPoller();
    const n = p.poll(new Int32Array([cfd, 0, POLL_DIR_W]), 1, cfd + 1, 2000, out);
    const ev = events(out, n).get(cfd) ?? 0;
    expect(ev & (FD_POLL_ERR | FD_POLL_HUP)).not.toBe(0);
    p.term();
  });

  it("forgets an fd on clo()", () => {
    const p = newPoller();
    const [a, b] = socketpair();
    sendStr(a, "z");
    expect(p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 0, out)).toBe(1);
    expect(p.clo(b)).toBe(0);
    expect(p.poll(new Int32Array(0), 0, b + 1, 0, out)).toBe(0);
    expect(p.clo(b)).toBe(0); // twice is harmless
    p.term();
  });

  it("survives an fd closed without clo() and its number reused", (ctx) => {
    // Not a hapoll bug to hide: under libkqueue the TypeScript poller calls clo() before every close.
    if (name === "kqueue" && C.KQUEUE_IS_LIBKQUEUE === 1) ctx.skip("libkqueue does not see close(): a closed fd's filters outlive it, and an EV_ADD for the new socket with its number is never reported (docs/platforms.md)");
    const p = newPoller();
    const sv = new Int32Array(2);
    native.socketpair(C.SOCK_STREAM, sv);
    expect(p.poll(new Int32Array([sv[1], 0, POLL_DIR_R]), 1, sv[1] + 1, 0, out)).toBe(0);
    native.close(sv[0]);
    native.close(sv[1]);
    const [a, b] = socketpair(); // likely takes the same numbers
    sendStr(a, "r");
    sendStr(b, "r");
    // registering again with old = polled (MOD of a vanished fd) must still work
    const maxfd = Math.max(a, b) + 1;
    const n = p.poll(new Int32Array([a, POLL_DIR_R, POLL_DIR_R | POLL_DIR_W, b, 0, POLL_DIR_R]), 2, maxfd, 1000, out);
    const ev = events(out, n);
    expect((ev.get(a) ?? 0) & FD_POLL_IN).toBe(FD_POLL_IN);
    expect((ev.get(b) ?? 0) & FD_POLL_IN).toBe(FD_POLL_IN);
    p.term();
  });

  it("caps events at out.length / 2", () => {
    const p = newPoller();
    const pairs = [socketpair(), socketpair(), socketpair()];
    const ch = new Int32Array(pairs.flatMap(([a]) => [a, 0, POLL_DIR_W]));
    const maxfd = Math.max(...pairs.flat()) + 1;
    const small = new Int32Array(5);
    small[4] = 777;
    expect(p.poll(ch, 3, maxfd, 1000, small)).toBe(2);
    expect(small[4]).toBe(777);
    expect(p.poll(ch, 0, maxfd, 1000, out)).toBeGreaterThanOrEqual(3);
    p.term();
  });

  it("honours the timeout", () => {
    const p = newPoller();
    const [, b] = socketpair();
    p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 0, out);
    let t = performance.now();
    expect(p.poll(new Int32Array(0), 0, b + 1, 50, out)).toBe(0);
    const dt = performance.now() - t;
    expect(dt).toBeGreaterThanOrEqual(40);
    expect(dt).toBeLessThan(1000);
    t = performance.now();
    expect(p.poll(new Int32Array(0), 0, b + 1, 0, out)).toBe(0);
    expect(performance.now() - t).toBeLessThan(500); // a zero timeout returns at once (the bound is loose: a loaded machine stalls)
    p.term();
  });

  it("re-creates its kernel object on fork()", () => {
    const p = newPoller();
    const [a, b] = socketpair();
    sendStr(a, "f");
    expect(p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 0, out)).toBe(1);
    expect(p.fork()).toBe(0);
    if (name === "epoll" || name === "kqueue") {
      // registrations are gone with the old kernel object
      expect(p.poll(new Int32Array(0), 0, b + 1, 0, out)).toBe(0);
      expect(p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 0, out)).toBe(1);
    } else {
      expect(p.poll(new Int32Array(0), 0, b + 1, 0, out)).toBe(1);
    }
    p.term();
  });

  it("keeps waiting after an unrelated signal interrupts the wait", () => {
    const p = newPoller();
    const taken = new Int32Array(65);
    native.signalInit();
    native.signalTake(taken);
    // the child's exit sends SIGCHLD, whose handler is Node's: the wait must resume
    const child = spawn("sh", ["-c", "sleep 0.05"], { stdio: "ignore" });
    const t = performance.now();
    expect(p.poll(new Int32Array(0), 0, 10, 400, out)).toBe(0);
    expect(performance.now() - t).toBeGreaterThanOrEqual(380);
    child.kill();
    p.term();
  });

  it("ends the wait when a caught signal arrives", () => {
    const p = newPoller();
    const counts = native.signalInit();
    expect(counts).toBeInstanceOf(Int32Array);
    expect(counts.length).toBe(65);
    expect(native.signalInit()).toBe(counts);
    const taken = new Int32Array(65);
    native.signalTake(taken);
    expect(native.signalMode(S.SIGUSR2, 2)).toBe(0);
    const [, b] = socketpair();
    const child = spawn("sh", ["-c", `sleep 0.2; kill -USR2 ${process.pid}`], { stdio: "ignore" });
    const t = performance.now();
    const n = p.poll(new Int32Array([b, 0, POLL_DIR_R]), 1, b + 1, 5000, out);
    const dt = performance.now() - t;
    expect(n).toBe(0);
    expect(dt).toBeLessThan(1000);
    expect(counts[0]).toBeGreaterThanOrEqual(1);
    expect(counts[S.SIGUSR2]).toBeGreaterThanOrEqual(1);
    expect(native.signalTake(taken)).toBe(1);
    expect(taken[S.SIGUSR2]).toBe(1);
    expect(taken[0]).toBe(1);
    expect(counts[0]).toBe(0);
    expect(counts[S.SIGUSR2]).toBe(0);
    // the self-pipe was drained: the next wait is a plain timeout
    expect(p.poll(new Int32Array(0), 0, b + 1, 30, out)).toBe(0);
    expect(native.signalTake(taken)).toBe(0);
    child.kill();
    p.term();
  });

  it("catches a signal sent before the wait and wakes at once", () => {
    const p = newPoller();
    const taken = new Int32Array(65);
    expect(native.signalMode(S.SIGUSR2, 2)).toBe(0);
    native.signalTake(taken);
    process.kill(process.pid, "SIGUSR2");
    const t = performance.now();
    expect(p.poll(new Int32Array(0), 0, 10, 5000, out)).toBe(0);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(native.signalTake(taken)).toBe(1);
    expect(taken[S.SIGUSR2]).toBe(1);
    p.term();
  });
});

describe("signals", () => {
  it("ignores and restores dispositions", () => {
    const taken = new Int32Array(65);
    expect(native.signalMode(S.SIGUSR2, 1)).toBe(0);
    process.kill(process.pid, "SIGUSR2"); // ignored: must not kill us nor count
    expect(native.signalTake(taken)).toBe(0);
    expect(native.signalMode(S.SIGUSR2, 2)).toBe(0);
    process.kill(process.pid, "SIGUSR2");
    process.kill(process.pid, "SIGUSR2");
    expect(native.signalTake(taken)).toBe(1);
    expect(taken[S.SIGUSR2]).toBeGreaterThanOrEqual(1);
    expect(native.signalMode(S.SIGUSR2, 1)).toBe(0);
  });
});
