#!/usr/bin/env node
"use strict";
/*
 * `npm run bench`: the poller bench, then the proxy bench, then docs/benchmarks.md.
 *
 *   npm run bench [-- --quick] [-- --out DIR]
 *
 * --quick and --out are passed to both benches; without --quick the proxy bench also counts
 * syscalls (strace) of the main proxies. Each bench runs in its own process (the poller
 * bench's children raise RLIMIT_NOFILE; the proxy bench starts servers), one after the other so
 * they never compete for the CPU.
 */
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { dur, parseFlags } = require("./lib/common");

let flags;
try {
  flags = parseFlags(process.argv.slice(2), { quick: "bool", out: "v" });
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(2);
}
const pass = [];
if (flags.quick) pass.push("--quick");
if (flags.out) pass.push("--out", flags.out);

const t0 = Date.now();
let failed = 0;
// The full run also counts the syscalls of the main proxies (a short extra pass, not timed).
const STRACE = ["--strace", "--strace-only", "haproxy18,haproxy,haproxy-splice-forced,node-net,hapoll-epoll,hapoll-splice"];
for (const script of ["pollers/index.js", "proxy/index.js"]) {
  const extra = script.startsWith("proxy") && !flags.quick ? STRACE : [];
  const r = spawnSync(process.execPath, [path.join(__dirname, script), ...pass, ...extra], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${script} failed (${r.status ?? r.signal})\n`);
    failed++;
  }
}
const rep = spawnSync(process.execPath, [path.join(__dirname, "report.js"), ...(flags.out ? ["--out", flags.out] : [])], { stdio: "inherit" });
if (rep.status !== 0) failed++;
process.stderr.write(`bench: done in ${dur(Date.now() - t0)}\n`);
process.exit(failed ? 1 : 0);
