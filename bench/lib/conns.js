"use strict";
/*
 * Short-connection load for the benches that count a proxy's CPU per connection (connrate.js,
 * rules.js): a backend that answers "pong\n" and closes, client connection loops, the first line a
 * child process prints, and CPU ticks from /proc.
 */
const fs = require("node:fs");
const net = require("node:net");

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = 100;

/** The backend role: a server on 127.0.0.1:0 answering "pong\n" to the first bytes and closing; prints its port. */
function pongBackend() {
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => s.end("pong\n"));
  });
  srv.listen(0, "127.0.0.1", () => process.stdout.write(`${srv.address().port}\n`));
  process.on("SIGTERM", () => process.exit(0));
}

/**
 * The client role: <concurrency> loops of short connections to 127.0.0.1:<port>, each sending <hello>
 * and expecting "pong\n" then the close. A loop starts another connection while <more>() says so;
 * when all have stopped, prints {"conns","errors"} as JSON and exits.
 */
function pingLoops(port, concurrency, hello, more) {
  let conns = 0;
  let errors = 0;
  let running = concurrency;
  const one = () => {
    if (!more()) {
      if (--running === 0) {
        process.stdout.write(JSON.stringify({ conns, errors }) + "\n");
        process.exit(0);
      }
      return;
    }
    let got = "";
    let done = false;
    const c = net.connect({ port, host: "127.0.0.1" });
    const finish = (ok) => {
      if (done) return;
      done = true;
      if (ok) conns++;
      else errors++;
      c.destroy();
      setImmediate(one);
    };
    c.on("connect", () => c.write(hello));
    c.on("data", (d) => (got += d));
    c.on("end", () => finish(got === "pong\n"));
    c.on("error", () => finish(false));
    c.on("close", () => finish(got === "pong\n"));
  };
  for (let i = 0; i < concurrency; i++) one();
}

/** The first line child process <proc> prints on stdout. */
function firstLine(proc) {
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout.on("data", (d) => {
      buf += d;
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    });
    proc.on("exit", (code) => reject(new Error(`child exited (${code}) before reporting`)));
  });
}

/** CPU time (user + system, in clock ticks) used so far by <pids> (one pid or a list; gone ones count 0). */
function cpuTicks(pids) {
  let t = 0;
  for (const p of [].concat(pids)) {
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      t += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return t;
}

module.exports = { CLK_TCK, pongBackend, pingLoops, firstLine, cpuTicks };
