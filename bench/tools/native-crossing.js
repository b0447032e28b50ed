#!/usr/bin/env node
"use strict";
/*
 * What one crossing into the addon costs, next to the syscall it wraps: each operation is timed
 * from JavaScript through dist/native.js and from a C loop doing the same syscall (compiled here
 * with cc into a temp dir). The difference is the price of the crossing (N-API call, argument
 * checks, typed-array access, the returned number). Used by the benchmark analysis.
 *
 *   node bench/tools/native-crossing.js [--calls 1000000]
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { median, textTable, fmt, parseFlags, ROOT } = require("../lib/common");

const flags = parseFlags(process.argv.slice(2), { calls: "v" });
const CALLS = Number(flags.calls || 1e6);
const REPS = 7;
const { native } = require(path.join(ROOT, "dist", "native.js"));

const C_SRC = `
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  int sv[2]; socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  int ep = epoll_create1(0); struct epoll_event ev = { .events = EPOLLIN }, out[200];
  ev.data.fd = sv[0]; epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
  char buf[16];
  for (int rep = 0; rep < 1; rep++) {
    double t0 = now();
    for (long i = 0; i < n; i++) recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
    double t1 = now();
    for (long i = 0; i < n; i++) epoll_wait(ep, out, 200, 0);
    double t2 = now();
    for (long i = 0; i < n; i++) close(-1);
    double t3 = now();
    printf("%f %f %f\\n", (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
  }
  return 0;
}
`;

/** Compile the C loop; returns a function running one round of it, or null without cc. */
function buildC(tmp) {
  fs.writeFileSync(path.join(tmp, "c.c"), C_SRC);
  const cc = spawnSync("cc", ["-O2", "-o", path.join(tmp, "c"), path.join(tmp, "c.c")], { encoding: "utf8" });
  if (cc.status !== 0) return null;
  return () => spawnSync(path.join(tmp, "c"), [String(CALLS)], { encoding: "utf8" }).stdout.trim().split(" ").map(Number);
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn(CALLS);
  return Number(process.hrtime.bigint() - t0) / CALLS;
}

const sv = new Int32Array(2);
native.socketpair(native.constants.SOCK_STREAM, sv);
const buf = Buffer.alloc(16);
const np = new native.NativePoller("epoll", 64);
np.init();
const changes = new Int32Array(3);
changes[0] = sv[0];
changes[1] = 0;
changes[2] = 1;
const outArr = new Int32Array(400);
np.poll(changes, 1, 64, 0, outArr);

const sa = Buffer.alloc(native.constants.SOCKADDR_MAX);
const ops = {
  info: (n) => { for (let i = 0; i < n; i++) native.sockaddrInfo(sa, 0); },
  close: (n) => { for (let i = 0; i < n; i++) native.close(-1); },
  recv: (n) => { for (let i = 0; i < n; i++) native.recv(sv[0], buf, 0, 16); },
  poll: (n) => { for (let i = 0; i < n; i++) np.poll(changes, 0, 64, 0, outArr); },
  now: (n) => { let x = 0; for (let i = 0; i < n; i++) x += performance.now(); return x; },
};
// Rounds alternate between the C loop and the JS loops so that load from elsewhere on a shared
// machine hits both alike; each figure is the median over the rounds.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-crossing-"));
const runC = buildC(tmp);
const jsT = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
const cT = { recv: [], epoll: [], close: [] };
for (let rep = 0; rep < REPS; rep++) {
  if (runC) {
    const [r, e, c] = runC();
    cT.recv.push(r);
    cT.epoll.push(e);
    cT.close.push(c);
  }
  for (const k of Object.keys(ops)) jsT[k].push(time(ops[k]));
}
fs.rmSync(tmp, { recursive: true, force: true });
const js = Object.fromEntries(Object.entries(jsT).map(([k, v]) => [k, median(v)]));
const c = runC ? { recv: median(cT.recv), epoll: median(cT.epoll), close: median(cT.close) } : null;
const rows = [
  ["native.sockaddrInfo(Buffer, 0) (no syscall: returns null)", fmt(js.info), "-", fmt(js.info)],
  ["native.close(-1) (EBADF)", fmt(js.close), c ? fmt(c.close) : "-", c ? fmt(js.close - c.close) : "-"],
  ["native.recv() on an empty socket (EAGAIN)", fmt(js.recv), c ? fmt(c.recv) : "-", c ? fmt(js.recv - c.recv) : "-"],
  ["NativePoller.poll(), epoll, 0 changes, timeout 0", fmt(js.poll), c ? fmt(c.epoll) : "-", c ? fmt(js.poll - c.epoll) : "-"],
  ["performance.now() (updateDate)", fmt(js.now), "-", "-"],
];
process.stdout.write(`\nnative crossing cost (ns per call, median of ${REPS} x ${CALLS} calls)\n\n`);
process.stdout.write(textTable(["operation", "from JS", "plain C", "crossing"], rows));
np.term();
