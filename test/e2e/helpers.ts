/**
 * Helpers for e2e tests: run the real bin/hapoll with a configuration over loopback, start real
 * backends, and drive clients. Everything is bounded in time; every process started is killed in
 * the suite's afterEach/afterAll through `cleanup()`.
 */
import { spawn, ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "bin/hapoll");

const toKill: (() => void)[] = [];

/** Kill every process and close every server started by these helpers. */
export async function cleanup(): Promise<void> {
  while (toKill.length) {
    try {
      toKill.pop()!();
    } catch {
      /* already gone */
    }
  }
  await sleep(20);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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
  toKill.push(() => fs.rmSync(d, { recursive: true, force: true }));
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
  const args = [BIN, "-f", cfgPath, ...(opts.args ?? [])];
  const proc = opts.ulimitN
    ? spawn("sh", ["-c", `ulimit -n ${opts.ulimitN} && exec "${process.execPath}" ${args.map((a) => `"${a}"`).join(" ")}`],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  toKill.push(() => proc.kill("SIGKILL"));
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
  toKill.push(() => server.close());
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

/** Number of open fds of <pid> (Linux /proc). */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** RSS of <pid> in KiB (Linux /proc). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The poller variants every proxy test runs under: default (epoll/kqueue), poll, select. */
export const POLLER_VARIANTS: { name: string; args: string[] }[] = [
  { name: "default", args: [] },
  { name: "poll", args: ["-de", "-dk"] },
  { name: "select", args: ["-de", "-dk", "-dp", "-n", "400"] },
];

/**
 * Wait until 127.0.0.1:<port> (or any address) is in LISTEN state, without connecting to it (a probe
 * connection would go through the proxy to the backend). Linux /proc/net/tcp and tcp6.
 */
export async function waitListen(port: number, ms = 10_000): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const deadline = Date.now() + ms;
  for (;;) {
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text = "";
      try {
        text = fs.readFileSync(f, "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 3 && cols[1].endsWith(":" + hex) && cols[3] === "0A") return;
      }
    }
    if (Date.now() > deadline) throw new Error(`port ${port} not listening after ${ms} ms`);
    await sleep(20);
  }
}
