#!/usr/bin/env node
"use strict";
/**
 * Connection rate through hapoll: short TCP connections (connect, "ping\n", wait for "pong\n" and
 * the close) for a few seconds, with hapoll running `nbproc N`.
 *
 *   node bench/connrate.js [--nbproc 1] [--seconds 3] [--clients 2] [--concurrency 32] [--backends 2]
 *
 * Starts <backends> backend processes (each answers "pong\n" and closes), hapoll (bin/hapoll, built
 * dist/) with one `listen` proxy round-robining over them, then <clients> client processes running
 * <concurrency> connection loops each. Prints one line and a JSON summary on the last line:
 *   {"nbproc":2,"seconds":3.0,"conns":12345,"errors":0,"rate":4115}
 * Everything started is stopped at the end (hapoll by SIGUSR1, its soft stop).
 */
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { parseFlags } = require("./lib/common.js");
const { freePort, isListening } = require("./lib/ports.js");
const { CLK_TCK, pongBackend, pingLoops, firstLine, cpuTicks } = require("./lib/conns.js");

const ROOT = path.resolve(__dirname, "..");

const flags = parseFlags(process.argv.slice(2), {
  backend: "bool", client: "bool", port: "v", ms: "v", nbproc: "v", seconds: "v", clients: "v", concurrency: "v", backends: "v",
}, { usage: "usage: node bench/connrate.js [--nbproc 1] [--seconds 3] [--clients 2] [--concurrency 32] [--backends 2]" });
const arg = (name, def) => flags[name] ?? def;

/* ---- child roles ---- */

if (flags.backend) {
  pongBackend();
  return;
}

if (flags.client) {
  const until = Date.now() + Number(arg("ms", "3000"));
  pingLoops(Number(arg("port")), Number(arg("concurrency", "32")), "ping\n", () => Date.now() < until);
  return;
}

/* ---- the driver ---- */

/** <root> and all its descendants (from /proc). */
function procTree(root) {
  const kids = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const pp = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(pp)) kids.set(pp, []);
      kids.get(pp).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

async function main() {
  const nbproc = Number(arg("nbproc", "1"));
  const seconds = Number(arg("seconds", "3"));
  const clients = Number(arg("clients", "2"));
  const concurrency = Number(arg("concurrency", "32"));
  const nBackends = Number(arg("backends", "2"));
  const self = __filename;
  const children = [];
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.on("exit", stopAll);

  const backendPorts = [];
  for (let i = 0; i < nBackends; i++) {
    const b = spawn(process.execPath, [self, "--backend"], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(b);
    backendPorts.push(Number(await firstLine(b)));
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-bench-"));
  const cfg = path.join(dir, "bench.cfg");
  fs.writeFileSync(cfg, [
    "global", `    nbproc ${nbproc}`, "    maxconn 4000",
    "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s",
    "listen bench", `    bind 127.0.0.1:${port}`, "    maxconn 4000",
    ...backendPorts.map((p, i) => `    server b${i} 127.0.0.1:${p}`), "",
  ].join("\n"));
  const hp = spawn(process.execPath, [path.join(ROOT, "bin/hapoll"), "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  children.push(hp);
  let hpErr = "";
  hp.stderr.on("data", (d) => (hpErr += d));
  const deadline = Date.now() + 10_000;
  while (!isListening(port)) {
    if (hp.exitCode !== null || Date.now() > deadline) throw new Error(`hapoll did not start: ${hpErr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // With nbproc, give every worker time to bind (they join the SO_REUSEPORT group one by one).
  await new Promise((r) => setTimeout(r, 300));

  const hpPids = procTree(hp.pid);
  const cpu0 = cpuTicks(hpPids);
  const t0 = process.hrtime.bigint();
  const runs = [];
  for (let i = 0; i < clients; i++) {
    const c = spawn(process.execPath, [self, "--client", "--port", String(port), "--concurrency", String(concurrency), "--ms", String(seconds * 1000)],
      { stdio: ["ignore", "pipe", "inherit"] });
    children.push(c);
    runs.push(firstLine(c).then((l) => JSON.parse(l)));
  }
  const res = await Promise.all(runs);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const conns = res.reduce((a, r) => a + r.conns, 0);
  const errors = res.reduce((a, r) => a + r.errors, 0);
  // hapoll's own cost, whatever else competes for the CPUs: CPU time of the master and workers.
  const cpuMs = ((cpuTicks(hpPids) - cpu0) * 1000) / CLK_TCK;
  const usPerConn = conns ? Math.round((cpuMs * 1000) / conns) : 0;

  hp.kill("SIGUSR1");
  const code = await new Promise((r) => {
    const t = setTimeout(() => r("timeout"), 10_000);
    hp.on("exit", (c, s) => {
      clearTimeout(t);
      r(c ?? s);
    });
  });
  stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
  const rate = Math.round(conns / elapsed);
  const load = os.loadavg()[0].toFixed(2);
  process.stdout.write(`nbproc ${nbproc}: ${rate} conn/s (${conns} connections in ${elapsed.toFixed(2)} s, ${errors} errors, ` +
    `${clients}x${concurrency} client loops, ${nBackends} backends, ${os.cpus().length} CPUs, load ${load}); ` +
    `hapoll used ${Math.round(cpuMs)} ms CPU = ${usPerConn} us/conn; exit ${code}\n`);
  process.stdout.write(JSON.stringify({ nbproc, seconds: Number(elapsed.toFixed(2)), conns, errors, rate, hapollCpuMs: Math.round(cpuMs), usPerConn, load: Number(load), hapollExit: code }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
