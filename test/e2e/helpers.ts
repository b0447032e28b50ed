/**
 * Helpers for e2e tests: run the real bin/hapoll with a configuration over loopback, start real
 * backends, and drive clients. Everything is bounded in time. The one cleanup list of the e2e
 * harness lives here: every helper module (net-, lb-, limits-, fault-helpers) registers what it opens
 * with `onCleanup()`, and a suite's afterEach/afterAll awaits `cleanup()` alone.
 */
import { spawn, ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "bin/hapoll");

const toClean: (() => void)[] = [];

/** Register <fn> to run at the next `cleanup()` (last registered, first run). */
export function onCleanup(fn: () => void): void {
  toClean.push(fn);
}

/** Kill every process, close every socket and server, remove every temp dir registered so far. */
export async function cleanup(): Promise<void> {
  while (toClean.length) {
    try {
      toClean.pop()!();
    } catch {
      /* already gone */
    }
  }
  await sleep(20);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Poll <cond> every <stepMs> until it holds; throw (naming <what>) after <timeoutMs>. The harness's
 * one waitFor: it fails the test on timeout. (net-helpers' pollValue() returns the last value
 * instead, for a caller that asserts on it; lb-helpers' waitUntil() returns the elapsed ms.)
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), stepMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(stepMs);
  }
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A temporary directory removed at cleanup. */
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-"));
  toClean.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A running hapoll. */
export interface Hapoll {
  proc: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  cfgPath: string;
}

/** Options of startHapoll(). */
export interface StartOptions {
  /** Extra arguments, e.g. ["-de"] or ["-d"]. */
  args?: string[];
  /** Wait until this TCP port (127.0.0.1) or unix path accepts connections. */
  waitPort?: number;
  waitPath?: string;
  /** Run under `sh -c "ulimit -n N; exec ..."`. */
  ulimitN?: number;
  env?: Record<string, string>;
}

/** Write <cfg> to a temp file and start `bin/hapoll -f file ...args`. */
export async function startHapoll(cfg: string, opts: StartOptions = {}): Promise<Hapoll> {
  const dir = tmpDir();
  const cfgPath = path.join(dir, "hapoll.cfg");
  fs.writeFileSync(cfgPath, cfg);
  const args = [BIN, "-f", cfgPath, ...TEST_POLLER_ARGS, ...(opts.args ?? [])];
  const proc = opts.ulimitN
    ? spawn("sh", ["-c", `ulimit -n ${opts.ulimitN} && exec "${process.execPath}" ${args.map((a) => `"${a}"`).join(" ")}`],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  toClean.push(() => proc.kill("SIGKILL"));
  const h: Hapoll = { proc, pid: proc.pid!, stdout: () => out, stderr: () => err, exited, cfgPath };
  if (opts.waitPort || opts.waitPath) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`hapoll exited early (${proc.exitCode}): ${err}`);
      if (await canConnect(opts.waitPort ? { port: opts.waitPort, host: "127.0.0.1" } : { path: opts.waitPath! })) break;
      if (Date.now() > deadline) throw new Error(`hapoll did not listen in time: ${err}`);
      await sleep(25);
    }
  }
  return h;
}

/** Run bin/hapoll to completion (for -c, -vv, bad configs). */
export function runHapoll(args: string[], timeoutMs = 10_000): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [BIN, ...args], { timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] }).toString();
    return { code: 0, stdout, stderr: "" };
  } catch (e) {
    const x = e as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: x.status ?? -1, stdout: x.stdout?.toString() ?? "", stderr: x.stderr?.toString() ?? "" };
  }
}

function canConnect(o: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(o);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** An echo server (sends back what it receives, half-closes when the client does). */
export async function echoServer(port = 0, host = "127.0.0.1"): Promise<{ port: number; server: net.Server; conns: () => number }> {
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    n++;
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  toClean.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, server, conns: () => n };
}

/** Connect to <port>, send <data>, half-close, and collect everything until the proxy closes. */
export function roundTrip(port: number, data: Buffer, timeoutMs = 15_000, host = "127.0.0.1"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ port, host, allowHalfOpen: true });
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

/** Random bytes of length <n> (deterministic per seed, fast). */
export function randomBytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/* ---- Process and socket facts: /proc on Linux, ps / lsof / netstat elsewhere (macOS, BSD) ---- */

/** Whether /proc describes processes and sockets (Linux); elsewhere the helpers below use ps, lsof, netstat. */
export const HAS_PROC = process.platform === "linux";

/** The numeric fds of <pid>: /proc/<pid>/fd, /dev/fd for this process, else `lsof -p` (macOS, BSD). */
function fdNumbers(pid: number): number[] {
  if (HAS_PROC) return fs.readdirSync(`/proc/${pid}/fd`).map(Number);
  if (pid === process.pid) {
    // readdir opens one fd of its own on /dev/fd, listed while open and closed right after: drop it.
    const fds = fs.readdirSync("/dev/fd").map(Number);
    return fds.filter((fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } });
  }
  // -F f: one "f<fd>" line per open file; cwd, txt, mem entries have no number and are left out.
  const out = execFileSync("lsof", ["-n", "-P", "-p", String(pid), "-F", "f"], { encoding: "utf8", timeout: 10_000 });
  return out.split("\n").filter((l) => /^f\d+$/.test(l)).map((l) => Number(l.slice(1)));
}

/** Number of open fds of <pid>. */
export function fdCount(pid: number): number {
  return fdNumbers(pid).length;
}

/** "fd->target" for every open fd of <pid> (for failure messages): /proc links, else lsof's names. */
export function fdTargets(pid: number): string[] {
  if (HAS_PROC) {
    const dir = `/proc/${pid}/fd`;
    return fs.readdirSync(dir).map((f) => {
      try {
        return `${f}->${fs.readlinkSync(path.join(dir, f))}`;
      } catch {
        return f;
      }
    });
  }
  const out = execFileSync("lsof", ["-n", "-P", "-p", String(pid), "-F", "fn"], { encoding: "utf8", timeout: 10_000 });
  const list: string[] = [];
  for (const l of out.split("\n")) {
    if (/^f\d+$/.test(l)) list.push(l.slice(1));
    else if (l.startsWith("n") && list.length) list[list.length - 1] += "->" + l.slice(1);
  }
  return list;
}

/** Whether every fd of <pid> listed in <fds> is a socket (/proc: "socket:[ino]"; lsof: type IPv4/IPv6/unix). */
export function fdsAreSockets(pid: number, fds: number[]): boolean {
  if (HAS_PROC) return fds.every((fd) => /^socket:/.test(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)));
  const out = execFileSync("lsof", ["-n", "-P", "-p", String(pid), "-F", "ft"], { encoding: "utf8", timeout: 10_000 });
  const type = new Map<number, string>();
  let cur = -1;
  for (const l of out.split("\n")) {
    if (/^f\d+$/.test(l)) cur = Number(l.slice(1));
    else if (l.startsWith("t") && cur >= 0) type.set(cur, l.slice(1));
  }
  return fds.every((fd) => ["IPv4", "IPv6", "unix"].includes(type.get(fd) ?? ""));
}

/** RSS of <pid> in KiB: /proc/<pid>/status VmRSS, else `ps -o rss=` (KiB on macOS and the BSDs). */
export function rssKiB(pid: number): number {
  if (!HAS_PROC) return Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8", timeout: 10_000 }).trim()) || 0;
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** The soft and hard RLIMIT_NOFILE of <pid>: /proc/<pid>/limits, else (this process only) `ulimit` in a child shell. */
export function nofileOf(pid: number): { soft: number; hard: number } {
  const num = (s: string) => (s === "unlimited" ? Infinity : Number(s));
  if (HAS_PROC) {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"));
    if (!m) throw new Error(`no "Max open files" in /proc/${pid}/limits`);
    return { soft: num(m[1]), hard: num(m[2]) };
  }
  if (pid !== process.pid) throw new Error("the fd limits of another process are readable only from /proc (Linux)");
  const sh = (o: string) => execFileSync("sh", ["-c", `ulimit ${o}`], { encoding: "utf8" }).trim();
  return { soft: num(sh("-Sn")), hard: num(sh("-Hn")) };
}

/** TCP ports in LISTEN state as "addr:port" pairs (IPv4 dotted, IPv6 hex from /proc; netstat's text elsewhere). */
function listeningSockets(): { addr: string; port: number }[] {
  const res: { addr: string; port: number }[] = [];
  if (HAS_PROC) {
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text: string;
      try {
        text = fs.readFileSync(f, "utf8");
      } catch {
        continue; // no IPv6
      }
      for (const line of text.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length <= 3 || cols[3] !== "0A") continue;
        const [hexAddr, hexPort] = cols[1].split(":");
        const addr = hexAddr.length === 8
          ? [3, 2, 1, 0].map((i) => parseInt(hexAddr.slice(2 * i, 2 * i + 2), 16)).join(".")
          : hexAddr;
        res.push({ addr, port: parseInt(hexPort, 16) });
      }
    }
    return res;
  }
  // macOS / BSD: "tcp4  0  0  127.0.0.1.8080  *.*  LISTEN"; the port is after the last dot.
  const out = execFileSync("netstat", ["-an", "-p", "tcp"], { encoding: "utf8", timeout: 10_000 });
  for (const line of out.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6 || !cols[0].startsWith("tcp") || cols[cols.length - 1] !== "LISTEN") continue;
    const local = cols[3];
    const dot = local.lastIndexOf(".");
    const addr = local.slice(0, dot);
    res.push({ addr: addr === "*" ? "0.0.0.0" : addr, port: Number(local.slice(dot + 1)) });
  }
  return res;
}

/** Whether 127.0.0.1:<port> or 0.0.0.0:<port> is in LISTEN state (no connection is made). */
export function isListening(port: number): boolean {
  return listeningSockets().some((s) => s.port === port && (s.addr === "127.0.0.1" || s.addr === "0.0.0.0"));
}

/** Whether any address (IPv4 or IPv6) listens on TCP <port>. */
export function anyListening(port: number): boolean {
  return listeningSockets().some((s) => s.port === port);
}

/**
 * The full path of program <name>: from PATH, else from the sbin folders a non-root PATH often lacks
 * (Debian's haproxy is /usr/sbin/haproxy). null when it is nowhere.
 */
export function programPath(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Whether program <name> is installed (see programPath()). */
export function hasProgram(name: string): boolean {
  return programPath(name) !== null;
}

/**
 * For `describe.skipIf()` / `it.skipIf()`, which print no reason: returns <skip>, and when it is true
 * prints "skipped: <why>" on stderr once, so every skip says why.
 */
export function skipBecause(skip: boolean, why: string): boolean {
  if (skip) process.stderr.write(`skipped: ${why}\n`);
  return skip;
}

/**
 * HAPOLL_TEST_POLLER=<name> (set by `npm run test:kqueue`): every e2e proxy runs under that poller.
 * startHapoll() adds TEST_POLLER_ARGS to every start and POLLER_VARIANTS holds that variant alone.
 * The flags disable the other pollers of the same preference (epoll and kqueue are both 300 in the
 * Linux build against libkqueue); test/e2e/platform.test.ts checks that -vv then names that poller.
 */
export const TEST_POLLER = process.env.HAPOLL_TEST_POLLER ?? "";
const FORCE_ARGS: Record<string, string[]> = {
  epoll: ["-dk"],
  kqueue: ["-de"],
  poll: ["-de", "-dk"],
  select: ["-de", "-dk", "-dp", "-n", "400"],
};
if (TEST_POLLER && !FORCE_ARGS[TEST_POLLER]) throw new Error(`HAPOLL_TEST_POLLER=${TEST_POLLER}: not one of ${Object.keys(FORCE_ARGS).join(", ")}`);
export const TEST_POLLER_ARGS: string[] = TEST_POLLER ? FORCE_ARGS[TEST_POLLER] : [];

/** The poller variants every proxy test runs under: default (epoll/kqueue), poll, select; or HAPOLL_TEST_POLLER's alone. */
export const POLLER_VARIANTS: { name: string; args: string[] }[] = TEST_POLLER
  ? [{ name: TEST_POLLER, args: TEST_POLLER_ARGS }]
  : [
    { name: "default", args: [] },
    { name: "poll", args: FORCE_ARGS.poll },
    { name: "select", args: FORCE_ARGS.select },
  ];

/**
 * Wait until <port> is in LISTEN state on any address, without connecting to it (a probe connection
 * would go through the proxy to the backend).
 */
export async function waitListen(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!anyListening(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} not listening after ${ms} ms`);
    await sleep(20);
  }
}
