#!/usr/bin/env node
"use strict";
/*
 * Summarise a V8 .cpuprofile (node --cpu-prof): self time and total (inclusive) time per function,
 * as a share of the samples, plus the idle share. Used to find where hapoll spends its CPU under
 * a proxy-bench workload:
 *
 *   node bench/proxy/index.js --only hapoll-epoll --workloads iperf --reps 1 \
 *        --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof" --no-write
 *   node bench/tools/cpuprofile-top.js /tmp/prof/CPU.*.cpuprofile [--top 30]
 *
 * "(program)" is V8/native time outside JS (it includes the native addon's syscalls, which the
 * profile cannot see into); "(idle)" is time blocked in the poller's wait; "(garbage collector)" is GC.
 */
const fs = require("node:fs");
const path = require("node:path");

const args = process.argv.slice(2);
let top = 30;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0) {
  process.stderr.write("usage: cpuprofile-top.js <file.cpuprofile>... [--top N]\n");
  process.exit(2);
}

for (const file of files) {
  const prof = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const selfCount = new Map();
  for (const s of prof.samples) selfCount.set(s, (selfCount.get(s) || 0) + 1);
  const total = prof.samples.length;
  const key = (n) => {
    const cf = n.callFrame;
    const where = cf.url ? `${path.basename(cf.url)}:${cf.lineNumber + 1}` : "";
    return `${cf.functionName || "(anonymous)"} ${where}`.trim();
  };
  const self = new Map();
  const incl = new Map();
  for (const [id, cnt] of selfCount) {
    const n = byId.get(id);
    self.set(key(n), (self.get(key(n)) || 0) + cnt);
    // Inclusive: count once per function on the stack (recursion counted once).
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) || 0) + cnt);
    }
  }
  const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)}%`;
  const durMs = (prof.endTime - prof.startTime) / 1000;
  process.stdout.write(`\n${file}: ${total} samples over ${durMs.toFixed(0)} ms\n`);
  const idle = self.get("(idle)") || 0;
  process.stdout.write(`busy (not idle): ${pct(total - idle)}\n\nself time:\n`);
  for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(c)}  ${k}\n`);
  process.stdout.write(`\ntotal time (inclusive):\n`);
  for (const [k, c] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(c)}  ${k}\n`);
}
