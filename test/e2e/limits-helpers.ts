/**
 * Extra helpers for the limits / signals / families / memory e2e suites. Everything started here is
 * registered with helpers.ts' `onCleanup()`: the suite's `cleanup()` closes it.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { fdCount, fdTargets, nofileOf, onCleanup, sleep, tmpDir, waitFor, type Hapoll } from "./helpers";

/** The one throwing waitFor lives in helpers.ts; re-exported for the suites that import it from here. */
export { waitFor };

/** A backend that echoes, counts accepts and keeps track of its live sockets. */
export interface HoldServer {
  port: number;
  path: string;
  server: net.Server;
  /** Connections accepted so far. */
  accepted: () => number;
  /** Connections currently open on the backend side. */
  live: () => number;
  sockets: Set<net.Socket>;
}

/**
 * An echo backend that holds connections open as long as the peer does (TCP on <host>:<port>, or a
 * unix socket at <path>). With <sink>, it accepts and never reads (pauseOnConnect: a slow reader).
 * With <delayMs>, it answers the whole request <delayMs> after the client half-closed.
 */
export async function holdServer(
  opts: { host?: string; port?: number; path?: string; sink?: boolean; delayMs?: number } = {},
): Promise<HoldServer> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: !!opts.sink }, (s) => {
    n++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    if (opts.sink) return;
    if (opts.delayMs) {
      // Slow service: collect the request, answer it all <delayMs> after the client's FIN.
      const chunks: Buffer[] = [];
      s.on("data", (d) => chunks.push(d));
      s.on("end", () => setTimeout(() => s.end(Buffer.concat(chunks)), opts.delayMs));
    } else s.pipe(s);
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (opts.path) server.listen(opts.path, () => resolve());
    else server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : 0,
    path: opts.path ?? "",
    server,
    accepted: () => n,
    live: () => sockets.size,
    sockets,
  };
}

/** A client connection that records what happens to it. */
export class TestClient {
  readonly sock: net.Socket;
  connected = false;
  ended = false;
  closed = false;
  error: (Error & { code?: string }) | null = null;
  private chunks: Buffer[] = [];
  private nbytes = 0;

  constructor(o: net.NetConnectOpts) {
    this.sock = net.connect({ allowHalfOpen: true, ...o } as net.NetConnectOpts);
    this.sock.on("connect", () => (this.connected = true));
    this.sock.on("data", (d) => {
      this.chunks.push(d);
      this.nbytes += d.length;
    });
    this.sock.on("end", () => (this.ended = true));
    this.sock.on("close", () => (this.closed = true));
    this.sock.on("error", (e) => (this.error = e));
    onCleanup(() => this.sock.destroy());
  }

  static tcp(port: number, host = "127.0.0.1"): TestClient {
    return new TestClient({ port, host });
  }

  static unix(p: string): TestClient {
    return new TestClient({ path: p });
  }

  received(): number {
    return this.nbytes;
  }

  data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(b: Buffer | string): void {
    this.sock.write(b);
  }

  destroy(): void {
    this.sock.destroy();
  }

  async waitConnected(ms = 5000): Promise<void> {
    await waitFor(() => this.connected || !!this.error || this.closed, ms, "client connect");
    if (!this.connected) throw new Error(`client did not connect: ${this.error?.message ?? "closed"}`);
  }

  async waitBytes(n: number, ms = 5000): Promise<Buffer> {
    await waitFor(() => this.nbytes >= n, ms, () => `${n} bytes (got ${this.nbytes}, error=${this.error?.message ?? "none"}, closed=${this.closed})`);
    return this.data();
  }
}

/**
 * Try to connect once: "connected" (the TCP handshake completed: accepted or in the backlog),
 * an error code such as "ECONNREFUSED", or "timeout".
 */
export function connectOutcome(o: net.NetConnectOpts, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(o);
    onCleanup(() => c.destroy());
    const t = setTimeout(() => {
      c.destroy();
      resolve("timeout");
    }, ms);
    c.once("connect", () => {
      clearTimeout(t);
      c.destroy();
      resolve("connected");
    });
    c.once("error", (e: Error & { code?: string }) => {
      clearTimeout(t);
      resolve(e.code ?? e.message);
    });
  });
}

/**
 * Connect, send <data>, and wait up to <ms> for the echo of the same bytes without half-closing.
 * Returns "served" when the echo came back byte-exact, or what happened instead.
 */
export async function echoProbe(o: net.NetConnectOpts, data: Buffer, ms = 2000): Promise<string> {
  const c = new TestClient(o);
  try {
    await waitFor(() => c.connected || !!c.error || c.closed, ms, "connect");
    if (!c.connected) return c.error?.code ?? "closed";
    c.send(data);
    await waitFor(() => c.received() >= data.length || !!c.error || c.closed, ms, "echo").catch(() => {});
    if (c.received() >= data.length) return c.data().equals(data) ? "served" : "corrupt";
    if (c.error) return c.error.code ?? c.error.message;
    return c.closed ? "closed" : "not-served";
  } finally {
    c.destroy();
  }
}

/**
 * Connect with <o>, send <data>, half-close, and collect everything until the peer closes
 * (helpers.roundTrip for any address: unix path, IPv6...).
 */
export function roundTripTo(o: net.NetConnectOpts, data: Buffer, timeoutMs = 15_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ allowHalfOpen: true, ...o } as net.NetConnectOpts);
    onCleanup(() => c.destroy());
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`roundTrip timed out after ${timeoutMs} ms (${chunks.reduce((a, b) => a + b.length, 0)} bytes received)`));
    }, timeoutMs);
    c.on("connect", () => c.end(data));
    c.on("data", (d) => chunks.push(d));
    c.on("end", () => {
      clearTimeout(t);
      c.destroy();
      resolve(Buffer.concat(chunks));
    });
    c.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** The soft fd limit of this (test) process. */
export function ownNofile(): number {
  return nofileOf(process.pid).soft;
}

/** Wait until hapoll's stderr matches <re>. */
export async function waitStderr(h: Hapoll, re: RegExp, ms = 5000): Promise<RegExpExecArray> {
  let m: RegExpExecArray | null = null;
  await waitFor(() => (m = re.exec(h.stderr())) !== null, ms, () => `${re} in stderr:\n${h.stderr()}`);
  return m!;
}

/**
 * fdCount(pid) once it stopped moving: unchanged over <windowMs> (sampled every 100 ms), giving up
 * after ~5 s. Lets a readiness probe's stream finish before a baseline is taken.
 */
export async function stableFdCount(pid: number, windowMs = 700): Promise<number> {
  const deadline = Date.now() + 5000;
  let cur = fdCount(pid);
  let since = Date.now();
  while (Date.now() - since < windowMs && Date.now() < deadline) {
    await sleep(100);
    const n = fdCount(pid);
    if (n !== cur) {
      cur = n;
      since = Date.now();
    }
  }
  return cur;
}

/** Wait (<ms>, default 2 s) for hapoll's fd count to come back to <baseline>; returns the last count. */
export async function waitFdBaseline(pid: number, baseline: number, ms = 2000): Promise<number> {
  const deadline = Date.now() + ms;
  let cur = fdCount(pid);
  while (cur > baseline && Date.now() < deadline) {
    await sleep(25);
    cur = fdCount(pid);
  }
  return cur;
}

/** The list of fd targets of <pid> (for failure messages). */
export function fdList(pid: number): string {
  return fdTargets(pid).join(" ");
}

/** The fd limits (soft, hard) of this shell environment. */
export function shellNofile(): { soft: number; hard: number } {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const soft = execFileSync("sh", ["-c", "ulimit -Sn"]).toString().trim();
  const hard = execFileSync("sh", ["-c", "ulimit -Hn"]).toString().trim();
  const num = (s: string) => (s === "unlimited" ? Infinity : Number(s));
  return { soft: num(soft), hard: num(hard) };
}

/* ------------------------------------------------------------------------------------------------ */
/* Load driver: a child node process (with its own, raised fd limit) that runs an echo backend and   */
/* thousands of client connections, driven by JSON lines on stdin. Keeps the test runner's own fd    */
/* budget small whatever its ulimit is.                                                               */
/* ------------------------------------------------------------------------------------------------ */

const DRIVER_JS = String.raw`
"use strict";
const net = require("net");
const readline = require("readline");
function out(o) { process.stdout.write(JSON.stringify(o) + "\n"); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let accepted = 0;
const bsocks = new Set();
const backend = net.createServer({ allowHalfOpen: true }, (s) => {
  accepted++;
  bsocks.add(s);
  s.on("error", () => {});
  s.on("close", () => bsocks.delete(s));
  s.pipe(s);
});
let clients = [];
function payload(i, size) {
  const b = Buffer.alloc(size);
  const tag = Buffer.from("<" + i + ">");
  for (let k = 0; k < size; k++) b[k] = k < tag.length ? tag[k] : (i * 31 + k * 7) & 0xff;
  return b;
}
async function until(cond, ms) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
  return cond();
}
const ops = {
  async open({ n, port, host, timeoutMs }) {
    const batch = [];
    for (let i = 0; i < n; i++) {
      const c = { i: clients.length, sock: null, connected: false, err: null, closed: false, got: [], n: 0 };
      c.sock = net.connect({ port, host: host || "127.0.0.1", allowHalfOpen: true });
      c.sock.on("connect", () => (c.connected = true));
      c.sock.on("data", (d) => { c.got.push(d); c.n += d.length; });
      c.sock.on("error", (e) => (c.err = e.code || e.message));
      c.sock.on("close", () => (c.closed = true));
      clients.push(c);
      batch.push(c);
    }
    await until(() => batch.every((c) => c.connected || c.err || c.closed), timeoutMs || 20000);
    const errs = batch.filter((c) => c.err);
    return { connected: batch.filter((c) => c.connected).length, errors: errs.length,
      errSample: errs.slice(0, 5).map((c) => c.err), accepted, live: bsocks.size };
  },
  async waitBackend({ n, timeoutMs }) {
    await until(() => bsocks.size >= n, timeoutMs || 20000);
    return { accepted, live: bsocks.size };
  },
  async roundtrip({ size, timeoutMs }) {
    const t0 = Date.now();
    const live = clients.filter((c) => !c.closed);
    for (const c of live) { c.got = []; c.n = 0; c.sock.write(payload(c.i, size)); }
    await until(() => live.every((c) => c.n >= size || c.err || c.closed), timeoutMs || 30000);
    let ok = 0, bad = 0, short = 0, errors = 0;
    for (const c of live) {
      if (c.err) errors++;
      else if (c.n < size) short++;
      else if (Buffer.concat(c.got).equals(payload(c.i, size))) ok++;
      else bad++;
    }
    return { clients: live.length, ok, bad, short, errors, ms: Date.now() - t0 };
  },
  async close({ timeoutMs }) {
    for (const c of clients) c.sock.destroy();
    clients = [];
    await until(() => bsocks.size === 0, timeoutMs || 10000);
    return { live: bsocks.size, accepted };
  },
  async stats() {
    return { accepted, live: bsocks.size, clients: clients.length };
  },
};
backend.listen(0, "127.0.0.1", 4096, () => {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    const cmd = JSON.parse(line);
    try {
      out({ id: cmd.id, ...(await ops[cmd.op](cmd)) });
    } catch (e) {
      out({ id: cmd.id, error: String(e && e.stack || e) });
    }
  });
  out({ ready: true, port: backend.address().port });
});
`;

/** A running load driver. */
export interface Driver {
  /** Port of the driver's echo backend (127.0.0.1). */
  backendPort: number;
  proc: ChildProcess;
  call: (op: string, args?: Record<string, unknown>) => Promise<Record<string, any>>;
  stderr: () => string;
}

/**
 * Start the load driver under `ulimit -n <nofile>` (or the hard limit, if lower). The child's
 * limit is its own: the test runner's fd budget only pays for the pipes.
 */
export async function startDriver(nofile = 20000): Promise<Driver> {
  const dir = tmpDir();
  const script = path.join(dir, "driver.js");
  fs.writeFileSync(script, DRIVER_JS);
  const proc = spawn("sh", ["-c",
    `h=$(ulimit -Hn); n=${nofile}; if [ "$h" != unlimited ] && [ "$h" -lt "$n" ]; then n=$h; fi; ulimit -n "$n" && exec "${process.execPath}" "${script}"`],
  { stdio: ["pipe", "pipe", "pipe"] });
  onCleanup(() => proc.kill("SIGKILL"));
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  let buf = "";
  const waiting = new Map<number, (v: Record<string, any>) => void>();
  proc.on("exit", (c) => {
    for (const w of waiting.values()) w({ error: `driver exited (${c}): ${err}` });
    waiting.clear();
  });
  let readyResolve: (v: Record<string, any>) => void;
  const ready = new Promise<Record<string, any>>((r) => (readyResolve = r));
  proc.stdout!.on("data", (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const msg = JSON.parse(line);
      if (msg.ready) readyResolve(msg);
      else if (waiting.has(msg.id)) {
        waiting.get(msg.id)!(msg);
        waiting.delete(msg.id);
      }
    }
  });
  const r = await Promise.race([ready, sleep(10_000).then(() => null)]);
  if (!r) throw new Error(`load driver did not start: ${err}`);
  let nextId = 1;
  const call = (op: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, (v) => (v.error ? reject(new Error(`driver ${op}: ${v.error}`)) : resolve(v)));
      proc.stdin!.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
  };
  return { backendPort: r.port, proc, call, stderr: () => err };
}

/** The nofile limit a driver would get (min of 20000 and the hard limit). */
export function driverNofile(nofile = 20000): number {
  return Math.min(nofile, shellNofile().hard);
}

/** A config with a `global` section <g> (lines), defaults with timeouts, and one listen section. */
export function tcpConfig(o: {
  global?: string[]; defaults?: string[]; listen?: string[]; name?: string; bind: string; servers: string[];
}): string {
  return [
    "global",
    ...(o.global ?? []).map((l) => "    " + l),
    "defaults",
    "    mode tcp",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
    ...(o.defaults ?? []).map((l) => "    " + l),
    `listen ${o.name ?? "px"}`,
    `    bind ${o.bind}`,
    ...(o.listen ?? []).map((l) => "    " + l),
    ...o.servers.map((s, i) => `    server s${i + 1} ${s}`),
    "",
  ].join("\n");
}
