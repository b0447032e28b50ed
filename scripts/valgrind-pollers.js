/*
 * The poller workload run under valgrind by scripts/valgrind.sh (node under memcheck is ~50x
 * slower, so this is a small dedicated script rather than the vitest suite): for every backend,
 * the life cycle (init, poll, clo, fork, term, re-init, finalizer), read/write/hang-up events over
 * socketpairs, change lists with skipped and out-of-range fds, capped output arrays, timeouts, and a
 * caught signal ending a wait. Exits non-zero if a result is wrong (memcheck then judges memory).
 *
 *   node --expose-gc scripts/valgrind-pollers.js [rounds] [addon path]
 */
"use strict";
const path = require("node:path");
const os = require("node:os");

const ROUNDS = Number(process.argv[2] ?? 200);
const n = require(process.argv[3] || path.resolve(__dirname, "../build/Release/hapoll.node"));
const C = n.constants;
const E = os.constants.errno;
const FD_POLL_IN = 0x01;
const FD_POLL_HUP = 0x10;
const R = 1;
const W = 2;

let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exitCode = 1;
  }
}
function pair() {
  const sv = new Int32Array(2);
  check(n.socketpair(C.SOCK_STREAM, sv) === 0, "socketpair");
  return [sv[0], sv[1]];
}
function events(out, cnt) {
  const m = new Map();
  for (let i = 0; i < cnt; i++) m.set(out[2 * i], (m.get(out[2 * i]) ?? 0) | out[2 * i + 1]);
  return m;
}

const counts = n.signalInit();
const taken = new Int32Array(65);
check(n.signalMode(os.constants.signals.SIGUSR2, 2) === 0, "signalMode(SIGUSR2, catch)");

let polls = 0;
let eventsSeen = 0;
for (const name of n.pollerNames()) {
  for (let round = 0; round < ROUNDS; round++) {
    const p = new n.NativePoller(name, 512);
    check(p.poll(new Int32Array(3), 0, 10, 0, new Int32Array(2)) === -E.EBADF, `${name}: poll before init`);
    check(p.init() === 0, `${name}: init`);
    const pairs = [pair(), pair(), pair(), pair()];
    const fds = pairs.flat();
    const maxfd = Math.max(...fds) + 1;
    const out = new Int32Array(64);

    // write interest on every fd: all writable
    const ch = new Int32Array(fds.flatMap((fd) => [fd, 0, W]));
    let cnt = p.poll(ch, fds.length, maxfd, 100, out);
    polls++;
    check(cnt === fds.length, `${name}: ${cnt} writable of ${fds.length}`);
    eventsSeen += Math.max(0, cnt);

    // read interest only, data on the first pair, a hang-up on the second
    // (the closing end leaves the polled set first, as fd_delete() does: select() fails with EBADF
    // on a closed fd in its sets)
    const ch2 = new Int32Array(fds.flatMap((fd) => [fd, W, fd === pairs[1][0] ? 0 : R]));
    n.send(pairs[0][0], Buffer.from("x".repeat(100)), 0, 100, 0);
    check(p.clo(pairs[1][0]) === 0, `${name}: clo before close`);
    n.close(pairs[1][0]);
    cnt = p.poll(ch2, fds.length, maxfd, 100, out);
    polls++;
    const ev = events(out, Math.max(0, cnt));
    check(((ev.get(pairs[0][1]) ?? 0) & FD_POLL_IN) !== 0, `${name}: readable`);
    check(((ev.get(pairs[1][1]) ?? 0) & (name === "select" ? FD_POLL_IN : FD_POLL_HUP)) !== 0, `${name}: hang-up`);
    eventsSeen += Math.max(0, cnt);

    // a capped output array, skipped/out-of-range change entries
    const small = new Int32Array(3);
    cnt = p.poll(new Int32Array([-1, 0, R, 512, 0, R, 2 ** 31 - 1, 0, R, pairs[2][0], R, R | W]), 4, 4096, 0, small);
    polls++;
    check(cnt >= 0 && cnt <= 1, `${name}: capped at out.length/2 (${cnt})`);

    // read everything, forget an fd, poll with a timeout
    n.recv(pairs[0][1], Buffer.alloc(200), 0, 200);
    check(p.clo(pairs[0][1]) === 0, `${name}: clo`);
    p.poll(new Int32Array(0), 0, maxfd, 1, out);
    polls++;

    // a caught signal ends a long wait
    if (round % 20 === 0) {
      process.kill(process.pid, "SIGUSR2");
      const t = Date.now();
      p.poll(new Int32Array(0), 0, maxfd, 5000, out);
      polls++;
      check(Date.now() - t < 4000, `${name}: a caught signal ends the wait`);
      n.signalTake(taken);
    }

    check(p.fork() === 0, `${name}: fork`);
    p.poll(new Int32Array(fds.flatMap((fd) => [fd, 0, R])), fds.length, maxfd, 0, out);
    polls++;
    p.term();
    p.term();
    if (round % 3 === 0) {
      check(p.init() === 0, `${name}: re-init`);
      if (round % 2 === 0) p.term(); // else: left to the finalizer
    }
    for (const fd of fds) if (fd !== pairs[1][0]) n.close(fd); // pairs[1][0] is closed (its number may be reused)
    if (round % 25 === 0 && global.gc) global.gc();
  }
}
if (global.gc) global.gc();
check(counts.length === 65, "signal counts");
console.log(JSON.stringify({ pollers: n.pollerNames(), rounds: ROUNDS, polls, eventsSeen, checks, failed: process.exitCode === 1 }));
