#!/usr/bin/env node
"use strict";
/**
 * What do tcp-request rules cost per new connection? The same frontend with 10 rules and without,
 * for hapoll and HAProxy 1.8.0 in the same run: the proxy's own CPU time (utime + stime from
 * /proc/<pid>/stat) over a fixed number of short connections, median of alternating rounds.
 *
 *   node bench/rules.js [--conns 20000] [--rounds 3] [--concurrency 16] [--quick] [--out docs]
 *
 * The 10 rules (a mix of what real configs use): tcp-request connection reject by network, by two
 * networks, by a -f file of 200 networks, track-sc0 src, reject on sc0_conn_rate, an accept for
 * loopback; tcp-request inspect-delay with content rules on req.payload (reject "GET ", accept
 * "SSH-"); use_backend by src and by req.payload. Every client sends "SSH-2.0-bench\r\n" at once
 * (the payload rules match without waiting), the backend answers "pong\n" and closes.
 *
 * Each measurement starts the proxy afresh, warms it (--conns / 10 connections), then counts CPU
 * ticks over --conns connections. Rounds alternate the order of the four rows. Prints the table and
 * writes <out>/rules.md (generated: the table, the machine, the commit) and <out>/rules.svg.
 * Clients and the backend are separate processes, so the proxy's ticks are its own.
 */
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { fmt, fmtRatio, machineInfo, machineMd, mdTable, median, parseFlags, progress, range, textTable, writeOut } = require("./lib/common.js");
const { freePort, isListening } = require("./lib/ports.js");
const { CLK_TCK, pongBackend, pingLoops, firstLine, cpuTicks } = require("./lib/conns.js");
const { barChart } = require("./lib/svg.js");
const { locateHaproxy18 } = require("./proxy/peers.js");

const ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: node bench/rules.js [--conns 20000] [--rounds 3] [--concurrency 16] [--quick] [--out docs]";
const flags = parseFlags(process.argv.slice(2), {
  backend: "bool", client: "bool", port: "v", conns: "v", rounds: "v", concurrency: "v", quick: "bool", out: "v",
}, { usage: USAGE });

/* ---- child roles ---- */

if (flags.backend) {
  pongBackend();
  return;
}

if (flags.client) {
  // <conns> connections, <concurrency> at a time: connect, send the hello, read "pong\n" and the close.
  let left = Number(flags.conns);
  pingLoops(Number(flags.port), Number(flags.concurrency), "SSH-2.0-bench\r\n", () => left-- > 0);
  return;
}

/* ---- the driver ---- */

const QUICK = Boolean(flags.quick);
const CONNS = Number(flags.conns ?? (QUICK ? 400 : 20000));
const ROUNDS = Number(flags.rounds ?? (QUICK ? 1 : 3));
const CONC = Number(flags.concurrency ?? 16);
const OUT = path.resolve(flags.out ?? path.join(ROOT, "docs"));

/** The 10 rules, as written in the frontend (the -f file and the backends are added by config()). */
function ruleLines(listFile) {
  return [
    "    stick-table type ip size 100k expire 30s store conn_rate(10s),conn_cur",
    "    tcp-request connection reject if { src 10.0.0.0/8 }",
    "    tcp-request connection reject if { src 192.168.0.0/16 172.16.0.0/12 }",
    `    tcp-request connection reject if { src -f ${listFile} }`,
    "    tcp-request connection track-sc0 src",
    "    tcp-request connection reject if { sc0_conn_rate gt 1000000 }",
    "    tcp-request connection accept if { src 127.0.0.0/8 }",
    "    tcp-request inspect-delay 2s",
    "    tcp-request content reject if { req.payload(0,4) -m bin 47455420 }",
    "    tcp-request content accept if { req.payload(0,4) -m bin 5353482d }",
    "    use_backend bk_other if { src 10.9.9.9 }",
    "    use_backend bk_ssh if { req.payload(0,4) -m bin 5353482d }",
  ];
}
const RULE_COUNT = ruleLines("x").filter((l) => /tcp-request (connection|content) |use_backend/.test(l)).length;

/** The configuration: one frontend, with or without the rules, and its backends on <bport>. */
function config(port, bport, withRules, listFile) {
  return [
    "global", "    maxconn 4000",
    "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s",
    "frontend fe", `    bind 127.0.0.1:${port}`, "    maxconn 4000",
    ...(withRules ? ruleLines(listFile) : []),
    "    default_backend bk",
    `backend bk\n    server s 127.0.0.1:${bport}`,
    `backend bk_ssh\n    server s 127.0.0.1:${bport}`,
    `backend bk_other\n    server s 127.0.0.1:${bport}`, "",
  ].join("\n");
}

/** 200 networks none of which holds 127.0.0.1 (the -f file). */
function listText() {
  const out = ["# bench networks"];
  for (let i = 0; i < 200; i++) out.push(`${11 + (i % 100)}.${(i * 7) % 256}.${i % 2 ? 0 : 128}.0/${i % 3 ? 24 : 17}`);
  return out.join("\n") + "\n";
}

/** Runs <n> connections through <port> from one client process. */
async function drive(port, n) {
  const c = child(spawn(process.execPath, [__filename, "--client", "--port", String(port), "--conns", String(n), "--concurrency", String(CONC)],
    { stdio: ["ignore", "pipe", "inherit"] }));
  const r = JSON.parse(await firstLine(c));
  if (r.errors) throw new Error(`${r.errors} of ${n} connections failed`);
  if (r.conns !== n) throw new Error(`${r.conns} of ${n} connections made`);
  return r;
}

/** Child processes alive now (killed on exit, also when the bench is interrupted). */
const live = new Set();
process.on("exit", () => live.forEach((c) => c.kill("SIGKILL")));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(1));
function child(proc) {
  live.add(proc);
  proc.on("exit", () => live.delete(proc));
  return proc;
}

/** One measurement: start <impl> on the config, warm it, count its CPU over CONNS connections. */
async function measure(impl, withRules, bport, dir) {
  const port = await freePort();
  const cfg = path.join(dir, `${impl.name}-${withRules ? "rules" : "plain"}.cfg`);
  fs.writeFileSync(cfg, config(port, bport, withRules, path.join(dir, "nets.lst")));
  const p = child(impl.bin === null
    ? spawn(process.execPath, [path.join(ROOT, "bin/hapoll"), "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] })
    : spawn(impl.bin, ["-db", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] }));
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  try {
    const deadline = Date.now() + 10_000;
    while (!isListening(port)) {
      if (p.exitCode !== null || Date.now() > deadline) throw new Error(`${impl.name} did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await drive(port, Math.max(50, Math.round(CONNS / 10)));
    const t0 = cpuTicks(p.pid);
    await drive(port, CONNS);
    const ticks = cpuTicks(p.pid) - t0;
    return (ticks / CLK_TCK / CONNS) * 1e6;
  } finally {
    p.kill("SIGKILL");
  }
}

async function main() {
  const impls = [{ name: "hapoll", bin: null }];
  const h18 = locateHaproxy18();
  if (h18.bin) impls.push({ name: "haproxy-1.8.0", bin: h18.bin });
  else process.stderr.write(`bench:rules: HAProxy 1.8.0 skipped: ${h18.reason}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-bench-rules-"));
  fs.writeFileSync(path.join(dir, "nets.lst"), listText());
  const backend = child(spawn(process.execPath, [__filename, "--backend"], { stdio: ["ignore", "pipe", "inherit"] }));
  const bport = Number(await firstLine(backend));

  const rows = [];
  for (const impl of impls) for (const withRules of [false, true]) rows.push({ impl, withRules, us: [] });
  for (let r = 0; r < ROUNDS; r++) {
    // alternate: forward on even rounds, backward on odd ones
    const order = r % 2 === 0 ? rows : [...rows].reverse();
    for (const row of order) {
      progress(`bench:rules round ${r + 1}/${ROUNDS} ${row.impl.name} ${row.withRules ? `${RULE_COUNT} rules` : "no rules"}`);
      row.us.push(await measure(row.impl, row.withRules, bport, dir));
    }
  }
  backend.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });

  const headers = ["proxy", "rules", "CPU µs / connection (median)", "range", "with rules / without"];
  const table = [];
  const ratios = {};
  for (const impl of impls) {
    const plain = rows.find((x) => x.impl === impl && !x.withRules);
    const rules = rows.find((x) => x.impl === impl && x.withRules);
    ratios[impl.name] = median(rules.us) / median(plain.us);
    for (const row of [plain, rules]) {
      const [lo, hi] = range(row.us);
      table.push([impl.name, row.withRules ? String(RULE_COUNT) : "0", fmt(median(row.us)), `${fmt(lo)} - ${fmt(hi)}`,
        row.withRules ? fmtRatio(ratios[impl.name]) : ""]);
    }
  }
  process.stdout.write("\n" + textTable(headers, table) + "\n");
  const target = 1.3;
  const verdict = `hapoll with rules / without: ${fmtRatio(ratios.hapoll)} (target <= ${target}x: ${ratios.hapoll <= target ? "met" : "missed"})` +
    (ratios["haproxy-1.8.0"] !== undefined ? `; HAProxy 1.8.0's same ratio: ${fmtRatio(ratios["haproxy-1.8.0"])}` : "");
  process.stdout.write(verdict + "\n");
  process.stdout.write(JSON.stringify({ conns: CONNS, rounds: ROUNDS, ratios, rows: rows.map((x) => ({ proxy: x.impl.name, rules: x.withRules, us: x.us })) }) + "\n");

  const m = machineInfo();
  if (h18.bin) m.haproxy18 = h18.version;
  const md = [
    "# Rules: CPU per new connection",
    "",
    "Generated by `npm run bench:rules` (bench/rules.js); do not edit by hand.",
    "",
    `The same frontend with ${RULE_COUNT} tcp-request / use_backend rules and without, for hapoll and HAProxy 1.8.0 in the`,
    `same run: the proxy's own CPU time (utime + stime from /proc/<pid>/stat) over ${CONNS} short connections`,
    `(${CONC} at a time: connect, send \`SSH-2.0-bench\\r\\n\`, read \`pong\\n\` and the close), after a warm-up;`,
    `median of ${ROUNDS} alternating round${ROUNDS === 1 ? "" : "s"}, each measurement on a fresh process. /proc counts CPU in`,
    `${1000 / CLK_TCK} ms ticks: ${fmt(1e6 / (CLK_TCK * CONNS))} µs per connection at this count.`,
    "",
    mdTable(headers, table),
    "",
    verdict + ".",
    "",
    "The rules:",
    "",
    "```",
    ...ruleLines("nets.lst (200 networks)").map((l) => l.trim()),
    "```",
    "",
    "![CPU per connection](rules.svg)",
    "",
    "Measured on:",
    "",
    machineMd(m, ["date", "commit", "nproc", "cpu", "kernel", "node", "loadavg", "haproxy18"]),
  ].join("\n");
  writeOut(path.join(OUT, "rules.md"), md);
  writeOut(path.join(OUT, "rules.svg"), barChart({
    title: "CPU per new connection, with and without rules",
    subtitle: `${RULE_COUNT} rules, ${CONNS} connections, median of ${ROUNDS}`,
    columns: 1,
    panels: [{
      title: "µs of proxy CPU per connection",
      unit: "µs",
      bars: rows.map((x) => ({ label: `${x.impl.name}, ${x.withRules ? `${RULE_COUNT} rules` : "no rules"}`, value: median(x.us) })),
    }],
  }));
  process.stderr.write(`bench:rules: wrote ${path.join(OUT, "rules.md")} and rules.svg\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:rules: ${e.stack || e}\n`);
  process.exit(1);
});
