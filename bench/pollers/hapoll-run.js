#!/usr/bin/env node
"use strict";
/*
 * One run of the poller bench for hapoll, in-process, through the real event-loop core: fdtab,
 * the fd cache, the update list, NativeBackedPoller and runOneTurn() (run_poll_loop's body).
 * Same loop as floor.c (libevent's test/bench.c): N socketpairs, A active chains, W writes.
 *
 * usage: node hapoll-run.js <poller> <npairs> <nactive> <nwrites> <iters> <warmup_ms> <budget_ms>
 * prints one JSON line like floor.c's (impl "hapoll"), plus turns per iteration.
 *
 * The read callback is the iocb of the pair's read end. It reads 1 byte (as libevent's read_cb)
 * and then calls fdDoneRecv(): the fd stays polled and level-triggered polling reports it again if
 * more is there, which is what HAProxy's raw_sock does after a short read. Without it the next turn
 * would retry recv() speculatively, get EAGAIN and only then go back to polling (one more syscall
 * per event). The write ends are not in fdtab: the bench only writes to them.
 */
const path = require("node:path");
const os = require("node:os");
const util = require("node:util");

const dist = path.join(__dirname, "..", "..", "dist");
const { native } = require(path.join(dist, "native.js"));
const fdm = require(path.join(dist, "core", "fd.js"));
const { global, counters } = require(path.join(dist, "core", "global.js"));
const { NativeBackedPoller, registry } = require(path.join(dist, "core", "poller.js"));
const { runOneTurn } = require(path.join(dist, "core", "loop.js"));
const { updateDate } = require(path.join(dist, "core", "clock.js"));

const EAGAIN = -os.constants.errno.EAGAIN;

function die(msg) {
  process.stderr.write(`hapoll-run: ${msg}\n`);
  process.exit(1);
}

const [poller, sN, sA, sW, sIters, sWarm, sBudget] = process.argv.slice(2);
const N = Number(sN), A = Number(sA), W = Number(sW);
const iters = Number(sIters), warmupUs = Number(sWarm) * 1000, budgetUs = Number(sBudget) * 1000;
if (!poller || !(N >= 1) || !(A >= 1) || A > N || !(iters >= 1)) {
  die("usage: hapoll-run.js <poller> <npairs> <nactive> <nwrites> <iters> <warmup_ms> <budget_ms>");
}
if (!native.pollerNames().includes(poller)) die(`poller ${poller} is not in this build`);

// RLIMIT_NOFILE: soft up to the hard limit (the parent checked that N pairs fit).
const lim = new Float64Array(2);
native.getNofile(lim);
if (lim[0] < lim[1]) native.setNofile(lim[1], lim[1]);

const rfd = new Int32Array(N);
const wfd = new Int32Array(N);
const sv = new Int32Array(2);
let maxFd = 0;
for (let i = 0; i < N; i++) {
  const r = native.socketpair(1 /* SOCK_STREAM */, sv);
  if (r < 0) die(`socketpair #${i}: ${util.getSystemErrorName(r)}`);
  rfd[i] = sv[0];
  wfd[i] = sv[1];
  if (sv[1] > maxFd) maxFd = sv[1];
  if (sv[0] > maxFd) maxFd = sv[0];
}

// fdtab sized like HAProxy's maxsock: every fd the bench holds, plus a margin.
global.maxsock = maxFd + 16;
if (poller === "select") global.maxsock = Math.min(global.maxsock, native.constants.FD_SETSIZE);
if (maxFd >= global.maxsock) die(`fd ${maxFd} does not fit ${poller}'s limit`);
fdm.initFdtab(global.maxsock);
const p = new NativeBackedPoller(poller);
if (!p.test() || !p.init()) die(`${poller} init failed`);
registry.cur = p;
fdm.fdOps.clo = (fd) => p.clo(fd);
counters.jobs = 1; // runOneTurn() ends the loop when no job is left

let count = 0, fired = 0, writes = 0, failures = 0;
const rbuf = Buffer.alloc(1);
const ebuf = Buffer.from("e");
const fdtab = fdm.fdtab;
const fdDoneRecv = fdm.fdDoneRecv;
const fdCantRecv = fdm.fdCantRecv;

/** libevent bench.c's read_cb(), as an hapoll iocb. The owner is the pair's index. */
function readCb(fd) {
  const n = native.recv(fd, rbuf, 0, 1);
  if (n > 0) {
    count += n;
    fdDoneRecv(fd);
  } else if (n === EAGAIN) {
    fdCantRecv(fd);
  } else {
    failures++;
  }
  if (writes > 0) {
    let widx = fdtab.owner[fd] + 1;
    if (widx >= N) widx -= N;
    if (native.send(wfd[widx], ebuf, 0, 1, 0) !== 1) failures++;
    writes--;
    fired++;
  }
}

for (let i = 0; i < N; i++) {
  fdm.fdInsert(rfd[i], i, readCb);
  fdm.fdWantRecv(rfd[i]);
}
updateDate();
runOneTurn(0); // apply the update list: every read end is now polled

const times = [];
let spent = 0, warm = 0, turns = 0;
const space = Math.floor(N / A);
// Warm-up iterations (untimed: the JIT compiles the hot path) until <warmup_ms> went by, at least
// one; then <iters> timed ones, stopping early once <budget_ms> is spent and 3 are done.
for (let it = 0; times.length < iters; it++) {
  // libevent re-arms every event before each run (event_del + event_add). In hapoll's terms that
  // is fd_stop_recv + fd_want_recv, which meet in the update list and cancel out at the next poll.
  for (let i = 0; i < N; i++) {
    fdm.fdStopRecv(rfd[i]);
    fdm.fdWantRecv(rfd[i]);
  }
  runOneTurn(0);

  fired = 0;
  for (let i = 0; i < A; i++, fired++) native.send(wfd[i * space], ebuf, 0, 1, 0);
  count = 0;
  writes = W;
  turns = 0;
  const t0 = process.hrtime.bigint();
  do {
    runOneTurn(0);
    turns++;
  } while (count !== fired && failures === 0);
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  if (failures) die(`${failures} failures`);
  if (it === 0 || warm < warmupUs) {
    warm += us;
  } else {
    times.push(Math.round(us * 1000) / 1000);
    spent += us;
    if (spent > budgetUs && times.length >= 3) break;
  }
}

process.stdout.write(JSON.stringify({
  impl: "hapoll", poller, n: N, a: A, w: W, events: count, waits: turns, usPerIter: times,
}) + "\n");
p.term();
