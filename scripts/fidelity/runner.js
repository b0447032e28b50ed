"use strict";
/**
 * Runner of the fidelity harness: starts a scenario's backends, starts the proxy (HAProxy 1.8.0 or
 * hapoll) under strace, drives the clients, stops the proxy and returns the main thread's capture.
 * Backends and clients run in this process, the proxy in its own; everything is on loopback and bounded
 * in time.
 */
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { freePort, isListening } = require("../../bench/lib/ports.js");

const ROOT = path.resolve(__dirname, "../..");
const HAPOLL = path.join(ROOT, "bin/hapoll");
/** Builds the reference: the shared HAProxy 1.8.0 build with 1.8.1's shutw fix (see the script). */
const PEER_SCRIPT = path.join(__dirname, "build-reference.sh");
const DEFAULT_HAPROXY = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "hapoll-peers/haproxy-1.8.0-shutwfix/haproxy");

/** Syscalls traced: sockets, pollers, pipes, and what can touch an fd's flags or bytes. */
const TRACE_SET = [
  "execve",
  "socket", "bind", "listen", "accept", "accept4", "connect", "getsockopt", "setsockopt",
  "getsockname", "getpeername", "recvfrom", "sendto", "recvmsg", "sendmsg", "read", "write",
  "readv", "writev", "shutdown", "close", "fcntl", "ioctl", "dup", "dup2", "dup3",
  "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
  "poll", "ppoll", "select", "pselect6", "splice", "pipe", "pipe2",
].join(",");

/** Poller flags, the same for both programs. */
const POLLER_ARGS = { epoll: [], poll: ["-de"], select: ["-de", "-dp"] };

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Path of the HAProxy 1.8.0 binary, or null with a reason. */
function findHaproxy(build = false) {
  if (process.env.HAPROXY18 && fs.existsSync(process.env.HAPROXY18)) return { path: process.env.HAPROXY18 };
  if (fs.existsSync(DEFAULT_HAPROXY)) return { path: DEFAULT_HAPROXY };
  if (build && fs.existsSync(PEER_SCRIPT)) {
    try {
      const p = execFileSync("bash", [PEER_SCRIPT], { encoding: "utf8", timeout: 300_000 }).trim().split("\n").pop();
      if (p && fs.existsSync(p)) return { path: p };
    } catch (e) {
      return { path: null, reason: `building the HAProxy 1.8.0 reference failed: ${e.message.split("\n")[0]}` };
    }
  }
  return { path: null, reason: `the HAProxy 1.8.0 reference is not built (set HAPROXY18, or run ${PEER_SCRIPT})` };
}

/** Path of strace, or null with a reason. */
function findStrace() {
  try {
    const p = execFileSync("sh", ["-c", "command -v strace"], { encoding: "utf8" }).trim();
    if (!p) throw new Error("none");
    // ptrace may be forbidden (containers without CAP_SYS_PTRACE): try it.
    execFileSync(p, ["-qq", "-e", "trace=none", "true"], { timeout: 10_000, stdio: "ignore" });
    return { path: p };
  } catch {
    return { path: null, reason: "strace is not installed or cannot trace here (apt-get install strace; ptrace allowed)" };
  }
}

/** The pid of the process strace started (the child of <stracePid>). */
function childOf(stracePid) {
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === stracePid) return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}

/**
 * The clients' and backends' toolbox handed to a scenario's drive(). Every wait is bounded.
 */
class Ctx {
  constructor(ports, log) {
    this.ports = ports;
    this.log = log; // client-visible transcript, compared too
    this.closers = [];
    this.proxyPid = null;
    /** Connections each backend role has accepted. */
    this.accepted = {};
  }
  /**
   * Wait (bounded) until the backend of <role> has accepted <n> connections: the proxy's connect got
   * through, so what the client does next finds the proxy asleep, however long the connect took.
   */
  async backendAccepted(role, n = 1, timeoutMs = 3000) {
    const end = Date.now() + timeoutMs;
    while ((this.accepted[role] ?? 0) < n) {
      if (Date.now() > end) throw new Error(`${role} accepted ${this.accepted[role] ?? 0} of ${n} connections`);
      await sleep(2);
    }
  }
  sleep(ms) {
    return sleep(ms);
  }
  /** Sleep until Date.now() reaches <t> (ms). */
  sleepUntil(t) {
    return sleep(Math.max(0, t - Date.now()));
  }
  note(s) {
    this.log.push(s);
  }
  /** Start a backend on the port of <role>; <onConn(sock, ctx)> handles each connection. */
  backend(role, onConn, opts = {}) {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ allowHalfOpen: !!opts.allowHalfOpen }, (s) => {
        this.accepted[role] = (this.accepted[role] ?? 0) + 1;
        s.on("error", () => {});
        onConn(s);
      });
      srv.on("error", reject);
      srv.listen({ port: this.ports[role], host: "127.0.0.1", backlog: opts.backlog ?? 511 }, () => resolve(srv));
      this.closers.push(() => srv.close());
      srv.on("connection", (s) => this.closers.push(() => s.destroy()));
    });
  }
  /** Connect a client to the frontend (or to <role>); returns a Client. */
  client(role = "fe") {
    const c = new Client(net.connect({ port: this.ports[role], host: "127.0.0.1", allowHalfOpen: true }));
    this.closers.push(() => c.sock.destroy());
    return c;
  }
  /** Send <sig> to the proxy process. */
  signal(sig) {
    if (this.proxyPid) process.kill(this.proxyPid, sig);
  }
  close() {
    while (this.closers.length) {
      try {
        this.closers.pop()();
      } catch {
        /* already closed */
      }
    }
  }
}

/** A client socket with bounded, promise-based reads. */
class Client {
  constructor(sock) {
    this.sock = sock;
    this.buf = "";
    this.bytes = 0;
    this.ended = false;
    this.error = null;
    this.waiters = [];
    sock.on("data", (d) => {
      this.bytes += d.length;
      if (this.buf.length < 65536) this.buf += d.toString("latin1");
      this.wake();
    });
    sock.on("end", () => {
      this.ended = true;
      this.wake();
    });
    sock.on("error", (e) => {
      this.error = e.code;
      this.ended = true;
      this.wake();
    });
    sock.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Resolve when <pred>() holds; reject after <ms>. */
  until(pred, ms = 5000, what = "condition") {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms);
      const check = () => {
        if (pred()) {
          clearTimeout(t);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
  connected(ms = 5000) {
    if (!this.sock.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timeout waiting for connect")), ms);
      this.sock.once("connect", () => {
        clearTimeout(t);
        resolve();
      });
      this.sock.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }
  write(s) {
    this.sock.write(s);
  }
  /** Read until <n> bytes in total have arrived. */
  bytesAtLeast(n, ms) {
    return this.until(() => this.bytes >= n || this.ended, ms, `${n} bytes`);
  }
  /** Read until the buffered text contains <s>; returns and consumes up to it. */
  async line(s = "\n", ms) {
    await this.until(() => this.buf.includes(s) || this.ended, ms, JSON.stringify(s));
    const i = this.buf.indexOf(s);
    if (i === -1) return null;
    const r = this.buf.slice(0, i + s.length);
    this.buf = this.buf.slice(i + s.length);
    return r;
  }
  /** Wait for the peer's close. */
  closed(ms) {
    return this.until(() => this.ended, ms, "close");
  }
  end() {
    this.sock.end();
  }
  destroy() {
    this.sock.destroy();
  }
}

/**
 * Run one scenario for one program and poller.
 * @param {object} sc       the scenario (scenarios.js)
 * @param {"haproxy"|"hapoll"} prog
 * @param {"epoll"|"poll"|"select"} poller
 * @param {object} env      { haproxy, strace, tmpRoot, keep }
 * @returns {Promise<{ trace: string, mainPid: number|null, roles: object, log: string[], dir: string, exit: any, stderr: string }>}
 */
async function runScenario(sc, prog, poller, env) {
  const dir = fs.mkdtempSync(path.join(env.tmpRoot ?? os.tmpdir(), `fid-${sc.name}-${poller}-${prog}-`));
  const roles = ["fe", ...(sc.servers ?? ["srv1"])];
  const ports = {};
  for (const r of roles) ports[r] = await freePort();
  const roleOf = {};
  for (const r of roles) roleOf[`127.0.0.1:${ports[r]}`] = r;
  const cfgPath = path.join(dir, "proxy.cfg");
  fs.writeFileSync(cfgPath, sc.config(ports));
  const log = [];
  const ctx = new Ctx(ports, log);
  let proc = null;
  let stderr = "";
  let exit = null;
  try {
    if (sc.setup) await sc.setup(ctx);
    const cmd =
      prog === "haproxy"
        ? [env.haproxy, "-db", "-f", cfgPath, ...POLLER_ARGS[poller]]
        : [process.execPath, HAPOLL, "-db", "-f", cfgPath, ...POLLER_ARGS[poller]];
    const args = ["-ff", "-qq", "--seccomp-bpf", ...(process.env.FIDELITY_TIMES ? ["-tt"] : []), "-e", `trace=${TRACE_SET}`, "-o", path.join(dir, "tr"), ...cmd];
    proc = spawn(env.strace, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr.on("data", (d) => {
      if (stderr.length < 8192) stderr += d;
    });
    proc.on("exit", (code, sig) => (exit = sig ?? code));
    // Ready when the frontend listens (seen in /proc, no probe connection).
    const t0 = Date.now();
    while (!isListening(ports.fe) && exit === null && Date.now() - t0 < 15_000) await sleep(5);
    ctx.t0 = Date.now();
    if (!isListening(ports.fe)) {
      log.push(`# proxy did not start: exit=${exit} stderr=${(stderr.split("\n").find((l) => /ALERT|rror/.test(l)) ?? stderr.split("\n")[0] ?? "").trim()}`);
    } else {
      ctx.proxyPid = childOf(proc.pid);
      await sleep(sc.startDelay ?? 100);
      try {
        await withTimeout(sc.drive(ctx), sc.budgetMs ?? 15_000, "scenario");
      } catch (e) {
        log.push(`# client error: ${e.message}`);
      }
      await sleep(sc.settleMs ?? 150);
    }
  } finally {
    // Kill the proxy before closing backends and clients: a close it saw would race with the kill.
    if (proc && exit === null) {
      const pid = ctx.proxyPid ?? childOf(proc.pid);
      try {
        if (pid) process.kill(pid, "SIGKILL");
        else proc.kill("SIGKILL");
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => proc.on("exit", r)), sleep(5000)]);
      if (exit === null) proc.kill("SIGKILL");
    }
    ctx.close();
  }
  // The main thread's file: the one holding the execve of the proxy.
  let trace = "";
  let mainPid = null;
  const files = fs.readdirSync(dir).filter((f) => /^tr\.\d+$/.test(f));
  for (const f of files.sort((x, y) => Number(x.slice(3)) - Number(y.slice(3)))) {
    const t = fs.readFileSync(path.join(dir, f), "utf8");
    if (/^execve\(/m.test(t)) {
      trace = t;
      mainPid = Number(f.slice(3));
      break;
    }
  }
  return { trace, mainPid, roles: roleOf, log, dir, exit, stderr, threads: files.length };
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]);
}

module.exports = { runScenario, findHaproxy, findStrace, TRACE_SET, POLLER_ARGS, sleep, isListening };
