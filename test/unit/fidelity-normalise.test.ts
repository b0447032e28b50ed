/**
 * The fidelity harness's normaliser and differ on canned strace snippets (no strace, no HAProxy needed).
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";

const { normalise, parseLine, RULES } = require("../../scripts/fidelity/normalise.js");
const { unifiedDiff } = require("../../scripts/fidelity/diff.js");

const roles = { "127.0.0.1:23307": "fe", "127.0.0.1:23308": "srv1" };

/** The start of HAProxy 1.8.0's seed journey, as strace -ff prints it (trimmed). */
const HAPROXY = `epoll_create(1012)                = 3
socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
getsockopt(4, SOL_TCP, TCP_MAXSEG, [536], [4]) = 0
close(4)                          = 0
socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
fcntl(4, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
bind(4, {sa_family=AF_INET, sin_port=htons(23307), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
listen(4, 2000)                   = 0
pipe2([5, 6], 0)                  = 0
fcntl(5, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLRDHUP, data={u32=4, u64=4}}) = 0
epoll_wait(3, [], 200, 1000)      = 0
epoll_wait(3, [{events=EPOLLIN, data={u32=4, u64=4}}], 200, 1000) = 1
accept4(4, {sa_family=AF_INET, sin_port=htons(40338), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_NONBLOCK) = 7
recvfrom(7, 0x5597569f2a94, 15360, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)
socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 8
fcntl(8, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
connect(8, {sa_family=AF_INET, sin_port=htons(23308), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
epoll_wait(3, [{events=EPOLLIN, data={u32=7, u64=7}}], 200, 999) = 1
recvfrom(7, "hello\\n", 16384, 0, NULL, NULL) = 6
sendto(8, "hello\\n", 6, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0) = 6
close(7)                          = 0
epoll_wait(3, `;

/** The same journey as hapoll would make it under Node, with pid columns (strace -f), two threads. */
const HAPOLL = `700  epoll_create1(EPOLL_CLOEXEC)      = 3
700  write(2, "[WARNING] config", 16) = 16
700  epoll_create1(EPOLL_CLOEXEC)      = 18
701  epoll_wait(3, [], 1024, -1) = 0
700  socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 19
700  fcntl(19, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
700  bind(19, {sa_family=AF_INET, sin_port=htons(23307), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
700  listen(19, 2000)                  = 0
700  pipe2([20, 21], O_NONBLOCK|O_CLOEXEC) = 0
700  epoll_ctl(18, EPOLL_CTL_ADD, 20, {events=EPOLLIN, data={u32=20, u64=20}}) = 0
700  epoll_ctl(18, EPOLL_CTL_ADD, 19, {events=EPOLLIN|EPOLLRDHUP, data={u32=19, u64=19}}) = 0
701  socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 30
700  epoll_wait(18, [{events=EPOLLIN, data={u32=19, u64=19}}], 200, 1000) = 1
700  accept4(19, {sa_family=AF_INET, sin_port=htons(59652), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 22
700  recvfrom(22, 0x2f6f4c90, 15360, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)
700  socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 23
700  fcntl(23, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
700  connect(23, {sa_family=AF_INET, sin_port=htons(23308), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
700  epoll_wait(18, [{events=EPOLLIN, data={u32=22, u64=22}}], 200, 996) = 1
700  recvfrom(22, "hello\\n", 16384, 0, NULL, NULL) = 6
700  sendto(23, "hello\\n", 6, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0) = 6
700  close(22)                         = 0
700  epoll_wait(18, `;

describe("fidelity normaliser", () => {
  it("starts at the listener's socket(), renames fds in order of creation and masks addresses", () => {
    const { lines } = normalise(HAPROXY, { roles });
    expect(lines).toEqual([
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = F1",
      "fcntl(F1, F_SETFL, O_RDONLY|O_NONBLOCK) = 0",
      "bind(F1, fe) = 0",
      "listen(F1, 2000) = 0",
      "epoll_ctl(ADD, F1, IN|RDHUP) = 0",
      "epoll_wait(T) -> [F1:IN]",
      "accept4(F1, SOCK_NONBLOCK) = F2",
      "recv(F2, 15360, 0) = -1 EAGAIN",
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = F3",
      "fcntl(F3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0",
      "connect(F3, srv1) = -1 EINPROGRESS",
      "epoll_wait(T) -> [F2:IN]",
      "recv(F2, 16384, 0) = 6",
      "send(F3, 6, MSG_DONTWAIT|MSG_NOSIGNAL) = 6",
      "close(F2) = 0",
    ]);
  });

  it("keeps only the main thread, drops the self-pipe, CLOEXEC and Node's fds: same lines as HAProxy", () => {
    const h = normalise(HAPROXY, { roles });
    const p = normalise(HAPOLL, { roles });
    expect(p.lines).toEqual(h.lines);
    expect(p.stats["main-thread"]).toBe(2);
    expect(p.stats["internal-pipes"]).toBeGreaterThan(0);
    expect(p.stats.cloexec).toBeGreaterThan(0);
  });

  it("a reused fd number gets a new name, and an unknown address is ADDR", () => {
    const t = `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
listen(4, 10) = 0
accept4(4, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_NONBLOCK) = 5
close(5) = 0
accept4(4, NULL, NULL, SOCK_NONBLOCK) = 5
connect(5, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("10.0.0.1")}, 16) = 0
`;
    expect(normalise(t, { roles }).lines).toEqual([
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = F1",
      "listen(F1, 10) = 0",
      "accept4(F1, SOCK_NONBLOCK) = F2",
      "close(F2) = 0",
      "accept4(F1, SOCK_NONBLOCK) = F3",
      "connect(F3, ADDR) = 0",
    ]);
  });

  it("renders poll() and select() sets and results on proxy fds only, timeouts as 0 or T", () => {
    const t = `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
listen(4, 10) = 0
poll([{fd=4, events=POLLIN}, {fd=20, events=POLLIN}], 2, 977) = 1 ([{fd=4, revents=POLLIN}])
select(21, [4 20], [], NULL, {tv_sec=0, tv_usec=0}) = 1 (in [4], left {tv_sec=0, tv_usec=0})
select(21, [4 20], [], NULL, {tv_sec=1, tv_usec=0}) = 1 (in [20], left {tv_sec=0, tv_usec=3})
poll([{fd=4, events=POLLIN}], 1, 1000) = -1 EINTR (Interrupted system call)
`;
    expect(normalise(t, { roles }).lines).toEqual([
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = F1",
      "listen(F1, 10) = 0",
      "poll([F1:IN], T) -> [F1:IN]",
      "select(r=[F1], w=[], T) -> [F1:IN]",
      "select(r=[F1], w=[], T) -> signal",
      "poll([F1:IN], T) -> signal",
    ]);
  });

  it("drops an empty wait followed by another wait or at the end, not one followed by work", () => {
    const t = `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
listen(4, 10) = 0
epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}}) = 0
epoll_wait(3, [], 200, 1000) = 0
epoll_wait(3, [], 200, 0) = 0
epoll_wait(3, [], 200, 200) = 0
close(4) = 0
epoll_wait(3, [], 200, 1000) = 0
`;
    const r = normalise(t, { roles });
    expect(r.lines).toEqual([
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = F1",
      "listen(F1, 10) = 0",
      "epoll_ctl(ADD, F1, IN) = 0",
      "epoll_wait(T) -> []",
      "close(F1) = 0",
    ]);
    expect(r.stats["idle-waits"]).toBe(3);
  });

  it("says so when the capture has no listener (the proxy did not start)", () => {
    expect(normalise("execve(\"/x\", [], 0x0 /* 0 vars */) = 0\n", { roles }).lines[0]).toMatch(/did not start/);
  });

  it("parseLine() reads pid, name, result and errno", () => {
    expect(parseLine('12  connect(8, {sa_family=AF_INET}, 16) = -1 ECONNREFUSED (Connection refused)')).toMatchObject({
      pid: 12,
      name: "connect",
      ret: -1,
      err: "ECONNREFUSED",
      complete: true,
    });
    expect(parseLine("epoll_wait(18, ")).toMatchObject({ complete: false });
    expect(parseLine("--- SIGUSR1 {si_signo=SIGUSR1} ---")).toBeNull();
  });

  it("shutw-fix drops a SHUT_WR only on a socket that already read its end", () => {
    const trace = [
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4",
      "bind(4, {sa_family=AF_INET, sin_port=htons(1000), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0",
      "listen(4, 10) = 0",
      "accept4(4, NULL, NULL, SOCK_NONBLOCK) = 5",
      "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 6",
      "recvfrom(6, \"\", 16384, 0, NULL, NULL) = 0",
      "shutdown(5, SHUT_WR) = 0",
      "shutdown(6, SHUT_WR) = 0",
      "close(6) = 0",
    ].join("\n");
    const { lines, stats } = normalise(trace, {});
    expect(lines.filter((l: string) => l.startsWith("shutdown("))).toEqual(["shutdown(F2, SHUT_WR) = 0"]);
    expect(stats["shutw-fix"]).toBe(1);
  });

  it("docs/fidelity.md lists exactly the rules the normaliser applies", () => {
    const doc = fs.readFileSync(path.join(__dirname, "../../docs/fidelity.md"), "utf8");
    const listed = [...doc.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(RULES.map((r: { name: string }) => r.name));
  });
});

describe("fidelity differ", () => {
  it("is empty for equal sequences and a unified diff otherwise", () => {
    expect(unifiedDiff(["a", "b"], ["a", "b"]).text).toBe("");
    const d = unifiedDiff(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"], "ref", "new");
    expect(d.changed).toBe(3);
    expect(d.text).toBe("--- ref\n+++ new\n@@ -1,4 +1,5 @@\n a\n-b\n+x\n c\n d\n+e\n");
  });
});
