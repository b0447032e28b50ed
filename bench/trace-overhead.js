#!/usr/bin/env node
/**
 * Does the trace cost anything when it is off? Compares hapoll as built (every trace hook is a
 * nullable slot tested on the hot path) with a copy of dist/ where those tests are replaced by
 * `if (false)` (what a build without tracing would be), on a keep-alive ping-pong workload through
 * the proxy. Reports the proxy's own CPU time per round trip (from /proc/<pid>/stat), median of
 * alternating runs.
 *
 *   node bench/trace-overhead.js [--reps 7] [--conns 20] [--rt 3000]
 */
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const { parseFlags } = require("./lib/common.js");
const { freePort } = require("./lib/ports.js");

const ROOT = path.resolve(__dirname, "..");
const flags = parseFlags(process.argv.slice(2), { reps: "v", conns: "v", rt: "v" },
  { usage: "usage: node bench/trace-overhead.js [--reps 7] [--conns 20] [--rt 3000]" });
const REPS = Number(flags.reps ?? 7);
const CONNS = Number(flags.conns ?? 20);
const RT = Number(flags.rt ?? 3000);
const HOT = ["core/fd.js", "core/poller.js", "core/task.js", "core/loop.js", "proxy/stream_interface.js", "net/listener.js"];

function strippedCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-nohooks-"));
  fs.cpSync(path.join(ROOT, "dist"), path.join(dir, "dist"), { recursive: true });
  let n = 0;
  for (const f of HOT) {
    const p = path.join(dir, "dist", f);
    const s = fs.readFileSync(p, "utf8").replace(/if \(exports\.\w+Hooks\.on\w+ !== null\)/g, () => {
      n++;
      return "if (false)";
    });
    fs.writeFileSync(p, s);
  }
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "hapoll"),
    `process.chdir(${JSON.stringify(ROOT)});\nconst { main } = require("../dist/cli/main.js");\nconst rc = main(process.argv.slice(2));\nif (rc !== null) process.exit(rc);\n`);
  // The addon is found through `bindings`, which looks next to the calling package: link it.
  fs.symlinkSync(path.join(ROOT, "build"), path.join(dir, "build"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  return { dir, bin: path.join(dir, "bin", "hapoll"), n };
}

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
}

async function run(bin) {
  const pport = await freePort();
  const eport = await freePort();
  const cfg = path.join(os.tmpdir(), `hapoll-to-${process.pid}.cfg`);
  fs.writeFileSync(cfg, `global\n    maxconn 200\ndefaults\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten x\n    bind 127.0.0.1:${pport}\n    server s 127.0.0.1:${eport}\n`);
  const echo = net.createServer((s) => s.on("data", (d) => s.write(d)));
  await new Promise((r) => echo.listen(eport, "127.0.0.1", r));
  const p = spawn(process.execPath, [bin, "-f", cfg], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(pport, "127.0.0.1", () => { c.destroy(); r(true); });
      c.on("error", () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  const t0 = cpuTicks(p.pid);
  await Promise.all(Array.from({ length: CONNS }, () => new Promise((resolve) => {
    const c = net.connect(pport, "127.0.0.1", () => { c.setNoDelay(true); c.write(Buffer.alloc(64, 1)); });
    let left = RT;
    let got = 0;
    c.on("data", (d) => {
      got += d.length;
      while (got >= 64) {
        got -= 64;
        if (--left === 0) { c.destroy(); return resolve(); }
        c.write(Buffer.alloc(64, 1));
      }
    });
  })));
  const ticks = cpuTicks(p.pid) - t0;
  p.kill("SIGKILL");
  echo.close();
  return (ticks * 10_000) / (CONNS * RT); // µs per round trip (1 tick = 10 ms)
}

(async () => {
  const s = strippedCopy();
  process.stderr.write(`stripped ${s.n} hook tests into ${s.dir}\n`);
  const withHooks = [];
  const without = [];
  for (let i = 0; i < REPS; i++) {
    withHooks.push(await run(path.join(ROOT, "bin", "hapoll")));
    without.push(await run(s.bin));
    process.stderr.write(`\rrep ${i + 1}/${REPS}`);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const a = med(withHooks);
  const b = med(without);
  process.stderr.write("\n");
  console.log("| build | proxy CPU per round trip (median of " + REPS + ") |");
  console.log("|---|---|");
  console.log(`| hooks compiled in, trace off | ${a.toFixed(2)} µs |`);
  console.log(`| hook tests removed (\`if (false)\`) | ${b.toFixed(2)} µs |`);
  console.log(`| ratio | ${(a / b).toFixed(3)} |`);
  fs.rmSync(s.dir, { recursive: true, force: true });
})();
