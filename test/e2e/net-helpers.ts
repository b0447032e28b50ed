/**
 * Extra helpers for the proxy / timeout e2e suites. Everything here registers what it opens with
 * helpers.ts' `onCleanup()`: the suite's `cleanup()` closes it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as net from "node:net";
import * as path from "node:path";
import { BIN, ROOT, fdCount, freePort, isListening, onCleanup, programPath, sleep, startHapoll, tmpDir, randomBytes, type Hapoll } from "./helpers";

export { isListening };

/** The C++ addon, loaded the way src/native.ts loads it (HAPOLL_ADDON, else bindings with module root = the repo). */
export function loadNative(): any {
  const req = createRequire(path.join(ROOT, "package.json"));
  if (process.env.HAPOLL_ADDON) return req(path.resolve(process.env.HAPOLL_ADDON));
  return req("bindings")({ bindings: "hapoll", module_root: ROOT });
}

/** Track a socket so cleanup() destroys it. */
export function track<T extends net.Socket | net.Server>(x: T): T {
  if (x instanceof net.Server) onCleanup(() => x.close());
  else onCleanup(() => x.destroy());
  return x;
}

/** Start a server on 127.0.0.1:0 whose connections are handed to <onConn>; sockets are tracked. */
export async function server(onConn: (s: net.Socket) => void): Promise<{ port: number; server: net.Server }> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    track(s);
    s.on("error", () => {});
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  track(srv);
  return { port: (srv.address() as net.AddressInfo).port, server: srv };
}

/** A client connection observed from the outside: data received, end/close times, errors. */
export interface Client {
  sock: net.Socket;
  t0: number;
  connected: Promise<number>;
  /** Resolves with the Date.now() of the 'end' event (the peer's FIN), or of 'close' if it never came. */
  ended: Promise<number>;
  /** Resolves with the Date.now() of 'close'. */
  closed: Promise<number>;
  received: () => Buffer;
  bytes: () => number;
  gotEnd: () => boolean;
  error: () => Error | null;
  localPort: () => number;
}

/** Connect to 127.0.0.1:<port> with allowHalfOpen and record everything. */
export function client(port: number, keepData = true): Client {
  const t0 = Date.now();
  const sock = track(net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }));
  const chunks: Buffer[] = [];
  let n = 0;
  let gotEnd = false;
  let err: Error | null = null;
  let lport = 0;
  const connected = new Promise<number>((r) => sock.once("connect", () => {
    lport = sock.localPort ?? 0;
    r(Date.now());
  }));
  const closed = new Promise<number>((r) => sock.once("close", () => r(Date.now())));
  const ended = new Promise<number>((r) => {
    sock.once("end", () => {
      gotEnd = true;
      r(Date.now());
    });
    sock.once("close", () => r(Date.now()));
  });
  sock.on("data", (d: Buffer) => {
    n += d.length;
    if (keepData) chunks.push(d);
  });
  sock.on("error", (e) => (err = e));
  return {
    sock, t0, connected, ended, closed,
    received: () => Buffer.concat(chunks),
    bytes: () => n,
    gotEnd: () => gotEnd,
    error: () => err,
    localPort: () => lport,
  };
}

/** Race <p> against a timeout; resolves to <onTimeout> if <ms> pass first. */
export function within<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(onTimeout), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/**
 * Poll <fn> every 20 ms until it returns a truthy value or <ms> pass, and return its last value
 * (never throws: the caller asserts on the value; helpers.ts' waitFor() throws instead).
 */
export async function pollValue<T>(fn: () => T, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() > deadline) return v;
    await sleep(20);
  }
}

/** Index of the first differing byte of two buffers (-1 when equal). */
export function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** A parsed `option tcplog` line. */
export interface TcpLog {
  line: string;
  ci: string;
  cp: number;
  fe: string;
  be: string;
  srv: string;
  tw: number;
  tc: number;
  tt: number;
  bytes: number;
  ts: string;
  ac: number;
  fc: number;
  bc: number;
  sc: number;
  rc: string;
  sq: number;
  bq: number;
}

/** `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq` */
export const TCPLOG_RE =
  /^(\S+):(\d+) \[(\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)\/(\S+) (-?\d+)\/(-?\d+)\/(-?\d+) (\d+) (\S\S) (\d+)\/(\d+)\/(\d+)\/(\d+)\/(\+?\d+) (\d+)\/(\d+)$/;

export function parseTcpLogs(text: string): TcpLog[] {
  const out: TcpLog[] = [];
  for (const line of text.split("\n")) {
    const m = TCPLOG_RE.exec(line.trim());
    if (!m) continue;
    out.push({
      line: line.trim(), ci: m[1], cp: Number(m[2]), fe: m[4], be: m[5], srv: m[6],
      tw: Number(m[7]), tc: Number(m[8]), tt: Number(m[9]), bytes: Number(m[10]), ts: m[11],
      ac: Number(m[12]), fc: Number(m[13]), bc: Number(m[14]), sc: Number(m[15]), rc: m[16],
      sq: Number(m[17]), bq: Number(m[18]),
    });
  }
  return out;
}

/** Wait (up to <ms>) for the tcplog line of the client whose source port is <cport>. */
export async function waitLog(h: { stdout: () => string }, cport: number, ms = 5000): Promise<TcpLog | undefined> {
  return pollValue(() => parseTcpLogs(h.stdout()).find((l) => l.cp === cport), ms);
}

/**
 * A black-holed 127.0.0.1 port: a socket made with the addon, listen(fd, 0), and its accept queue
 * filled with plain connections that are never accepted, so later SYNs are dropped and connect()
 * hangs. The setup is verified: a probe connect must not complete within 500 ms.
 */
export async function blackholePort(): Promise<number> {
  const native = loadNative();
  const C = native.constants;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const fd: number = native.socket(C.AF_INET, C.SOCK_STREAM, 0);
    if (fd < 0) throw new Error(`socket() failed: ${fd}`);
    onCleanup(() => native.close(fd));
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    const len: number = native.sockaddrFrom("ipv4", "127.0.0.1", port, sa);
    if (native.bind(fd, sa, len) < 0) continue;
    if (native.listen(fd, 0) < 0) continue;
    // Fill the accept queue (backlog 0 holds one; the others stay in SYN_SENT).
    for (let i = 0; i < 3; i++) {
      const s = track(net.connect({ port, host: "127.0.0.1" }));
      s.on("error", () => {});
    }
    await sleep(100);
    const probe = track(net.connect({ port, host: "127.0.0.1" }));
    probe.on("error", () => {});
    const ok = await within(new Promise<boolean>((r) => probe.once("connect", () => r(true))), 500, false);
    probe.destroy();
    if (ok) throw new Error(`black-hole setup failed: a probe connect to 127.0.0.1:${port} completed`);
    return port;
  }
  throw new Error("could not set up a black-holed port");
}

/** A server that accepts, reads and never answers; <got> counts the bytes per connection. */
export async function silentServer(): Promise<{ port: number; conns: net.Socket[]; got: () => number }> {
  const conns: net.Socket[] = [];
  let got = 0;
  const { port } = await server((s) => {
    conns.push(s);
    s.on("data", (d: Buffer) => (got += d.length));
  });
  return { port, conns, got: () => got };
}

/** Result of one connection to a sink: byte count, sha256, and whether the FIN was seen. */
export interface SinkResult {
  bytes: number;
  sha256: string;
}

/** A server that hashes everything it receives; each connection resolves <results> at EOF, then closes. */
export async function hashSink(): Promise<{ port: number; next: () => Promise<SinkResult> }> {
  const waiters: ((r: SinkResult) => void)[] = [];
  const done: SinkResult[] = [];
  const { port } = await server((s) => {
    const h = createHash("sha256");
    let n = 0;
    s.on("data", (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    s.on("end", () => {
      const r = { bytes: n, sha256: h.digest("hex") };
      s.end();
      const w = waiters.shift();
      if (w) w(r);
      else done.push(r);
    });
  });
  return {
    port,
    next: () => (done.length ? Promise.resolve(done.shift()!) : new Promise((r) => waiters.push(r))),
  };
}

/** Deterministic 1 MiB chunks (seeded) for big transfers. */
export function chunkOf(i: number, size = 1 << 20): Buffer {
  return randomBytes(size, 0x9e3779b1 ^ (i * 2654435761));
}

/** Write <nChunks> chunks of 1 MiB to <s> with back-pressure, then end(). Resolves with the sha256. */
export async function writeChunks(s: net.Socket, nChunks: number): Promise<string> {
  const h = createHash("sha256");
  for (let i = 0; i < nChunks; i++) {
    const c = chunkOf(i);
    h.update(c);
    if (!s.write(c)) {
      await new Promise<void>((r, j) => {
        const onErr = (e: Error) => j(e);
        s.once("error", onErr);
        s.once("drain", () => {
          s.off("error", onErr);
          r();
        });
      });
    }
  }
  s.end();
  return h.digest("hex");
}

/** A server that sends <nChunks> MiB to each connection then ends; <sent> resolves with the first one's sha256. */
export async function sourceServer(nChunks: number): Promise<{ port: number; sent: () => Promise<string> }> {
  let resolveFirst: (h: string) => void = () => {};
  let rejectFirst: (e: Error) => void = () => {};
  let started = false;
  const first = new Promise<string>((r, j) => {
    resolveFirst = r;
    rejectFirst = j;
  });
  first.catch(() => {});
  const { port } = await server((s) => {
    s.resume();
    const p = writeChunks(s, nChunks);
    if (!started) {
      started = true;
      p.then(resolveFirst, rejectFirst);
    } else p.catch(() => {});
  });
  return { port, sent: () => first };
}

/** spawnSync bin/hapoll: exit code, outputs, and the child's pid (for the `(<pid>)` of alerts). */
export function runHapollFull(args: string[], timeoutMs = 10_000): { code: number | null; stdout: string; stderr: string; pid: number } {
  const r = spawnSync(process.execPath, [BIN, ...args], { timeout: timeoutMs, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", pid: r.pid ?? 0 };
}

/** Write a config file into a fresh temp directory; returns its path. */
export function writeCfg(text: string, name = "hapoll.cfg"): string {
  const p = path.join(tmpDir(), name);
  fs.writeFileSync(p, text);
  return p;
}

/** Escape a string for a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A TCP config: one `listen` proxy on 127.0.0.1:<port> to 127.0.0.1:<srvPort>. */
export function tcpCfg(o: {
  port: number;
  srvPort: number;
  name?: string;
  timeouts?: Record<string, string | number>;
  retries?: number;
  log?: boolean;
  extra?: string[];
  maxconn?: number;
}): string {
  const t = { connect: "5s", client: "30s", server: "30s", ...(o.timeouts ?? {}) };
  const lines = [
    "global",
    `    maxconn ${o.maxconn ?? 300}`,
    "defaults",
    "    mode tcp",
    ...Object.entries(t).map(([k, v]) => `    timeout ${k} ${v}`),
    `listen ${o.name ?? "px"}`,
    `    bind 127.0.0.1:${o.port}`,
    ...(o.log ? ["    log stdout format raw local0", "    option tcplog"] : []),
    ...(o.retries !== undefined ? [`    retries ${o.retries}`] : []),
    ...(o.extra ?? []).map((l) => `    ${l}`),
    `    server s1 127.0.0.1:${o.srvPort}`,
    "",
  ];
  return lines.join("\n");
}

/** Wait for the process to exit (or <ms>); resolves with the exit code/signal or "timeout". */
export function exitWithin(h: Hapoll, ms: number): Promise<number | string> {
  return within(h.exited, ms, "timeout");
}

/**
 * Start bin/hapoll with <cfg> and wait until every port of <ports> listens, without connecting
 * (helpers' waitPort would open a stream that reaches the backend and shows up in logs).
 */
export async function startProxy(cfg: string, ports: number[], args: string[]): Promise<Hapoll> {
  const h = await startHapoll(cfg, { args });
  await waitReady(h, ports);
  return h;
}

async function waitReady(h: { proc: ChildProcess; stderr: () => string }, ports: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (h.proc.exitCode !== null || h.proc.signalCode !== null) throw new Error(`process exited early (${h.proc.exitCode}): ${h.stderr()}`);
    if (ports.every(isListening)) return;
    if (Date.now() > deadline) throw new Error(`process did not listen in time: ${h.stderr()}`);
    await sleep(20);
  }
}

/** Start Debian's haproxy (`haproxy -db -f cfg`) and wait for <ports>; killed by cleanup(). */
export async function startHaproxy(cfg: string, ports: number[]): Promise<{ proc: ChildProcess; stdout: () => string; stderr: () => string }> {
  const cfgPath = writeCfg(cfg, "haproxy.cfg");
  const proc = spawn(programPath("haproxy") ?? "haproxy", ["-db", "-f", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  onCleanup(() => proc.kill("SIGKILL"));
  const h = { proc, stdout: () => out, stderr: () => err };
  await waitReady(h, ports);
  return h;
}

/** Wait (up to <ms>) until the process' open fd count is back to <baseline> or below; returns the last count. */
export async function fdsSettle(pid: number, baseline: number, ms = 3000): Promise<number> {
  let n = fdCount(pid);
  const deadline = Date.now() + ms;
  while (n > baseline && Date.now() < deadline) {
    await sleep(50);
    n = fdCount(pid);
  }
  return n;
}
