"use strict";
/*
 * TCP port helpers shared by the benchmarks and the scripts (soak, fidelity, connrate, trace-overhead).
 * No dependency.
 */
const fs = require("node:fs");
const net = require("node:net");

/** A free TCP port on 127.0.0.1 (bound to port 0, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Whether something listens on 127.0.0.1:<port>, read from /proc/net/tcp without connecting (a probe
 * connection would count as traffic in the measured process). false where /proc is not readable.
 */
function isListening(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let t;
  try {
    t = fs.readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return false;
  }
  return t.split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f.length > 3 && f[1] === `0100007F:${hex}` && f[3] === "0A";
  });
}

/** Resolves once 127.0.0.1:<port> accepts a connection; rejects after <ms>. */
async function waitPort(port, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect({ host: "127.0.0.1", port });
      c.on("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} never accepted a connection`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

module.exports = { freePort, isListening, waitPort };
