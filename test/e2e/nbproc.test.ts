/**
 * `nbproc N` end to end: a master (Node's event loop) supervising N worker processes that each bind
 * the listeners with SO_REUSEPORT and run their own poller. The pidfile, the spread of connections
 * over the workers (per-worker counters from the SIGHUP dump, which the master forwards), soft stop
 * draining every worker, a worker killed with SIGKILL, a master killed with SIGKILL, a start that
 * fails in a worker, -D, and the connection rate of nbproc 1 vs 2 (printed, not asserted).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { describe, it, expect, afterEach, beforeEach } from "vitest";
import { BIN, HAS_PROC, ROOT, cleanup, echoServer, freePort, roundTrip, sleep, startHapoll, tmpDir, type Hapoll } from "./helpers";
import { track, pollValue, within } from "./net-helpers";

/*
 * Linux only: the workers are found and checked through /proc (stat, environ, net/tcp), and the
 * spread of connections relies on Linux's SO_REUSEPORT balancing (macOS and OpenBSD give every
 * connection to one socket; FreeBSD balances only with SO_REUSEPORT_LB).
 */
beforeEach((ctx) => {
  if (!HAS_PROC) ctx.skip("nbproc: workers are inspected through /proc and spread by Linux's SO_REUSEPORT balancing");
});

/** How many LISTEN sockets 127.0.0.1:<port> has (one per worker with SO_REUSEPORT). */
function listeners(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return fs.readFileSync("/proc/net/tcp", "utf8").split("\n").filter((l) => {
    const f = l.trim().split(/\s+/);
    return f.length > 3 && f[1] === `0100007F:${hex}` && f[3] === "0A";
  }).length;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(st);
  } catch {
    return false;
  }
}

function ppid(pid: number): number {
  const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
}

function workerEnv(pid: number): string | undefined {
  const env = fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
  return env.find((e) => e.startsWith("HAPOLL_WORKER="))?.slice("HAPOLL_WORKER=".length);
}

function readPids(file: string): number[] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const cfg = (port: number, srvPort: number, o: { nbproc?: number; extra?: string[] } = {}) => [
  "global", `    nbproc ${o.nbproc ?? 2}`, "    maxconn 500", ...(o.extra ?? []).map((l) => `    ${l}`),
  "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s",
  "listen fe", `    bind 127.0.0.1:${port}`, `    server s1 127.0.0.1:${srvPort}`, "",
].join("\n");

/** Start a master with nbproc workers and wait until every worker listens and the pidfile is full. */
async function startMaster(port: number, srvPort: number, nbproc = 2, args: string[] = []): Promise<{ h: Hapoll; pids: number[]; pidfile: string }> {
  const pidfile = path.join(tmpDir(), "hapoll.pid");
  const h = await startHapoll(cfg(port, srvPort, { nbproc }), { args: ["-p", pidfile, ...args] });
  await pollValue(() => listeners(port) === nbproc && readPids(pidfile).length === nbproc, 10_000);
  expect(listeners(port), h.stderr()).toBe(nbproc);
  return { h, pids: readPids(pidfile), pidfile };
}

/** SIGHUP the master and read each worker's "Server fe/s1 ... Conn: A act, P pend, T tot." line. */
async function perWorkerCounters(h: Hapoll, pids: number[]): Promise<Map<number, { act: number; tot: number }>> {
  const before = h.stderr().length;
  h.proc.kill("SIGHUP");
  const re = /\[WARNING\]\s+\((\d+)\) : SIGHUP: Server fe\/s1 is UP\. Conn: (\d+) act, \d+ pend, (\d+) tot\./g;
  const read = () => {
    const m = new Map<number, { act: number; tot: number }>();
    for (const x of h.stderr().slice(before).matchAll(re)) m.set(Number(x[1]), { act: Number(x[2]), tot: Number(x[3]) });
    return m;
  };
  await pollValue(() => pids.every((p) => read().has(p)), 5000);
  return read();
}

/** Connect and keep the connection open; resolves once an echo came back. */
async function held(port: number): Promise<net.Socket> {
  const s = track(net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }));
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => s.write("hi"));
    s.once("data", () => resolve());
    s.once("error", reject);
  });
  return s;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: "127.0.0.1" });
    c.on("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

describe("nbproc", () => {
  afterEach(async () => {
    await cleanup();
  });

  it("nbproc 2: two workers under the master, their pids in the pidfile, connections spread over both", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const { h, pids } = await startMaster(port, echo.port);
    expect(pids.length).toBe(2);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(h.pid);
    for (const p of pids) {
      expect(alive(p)).toBe(true);
      expect(ppid(p)).toBe(h.pid);
    }
    expect(pids.map(workerEnv)).toEqual(["1", "2"]);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => roundTrip(port, Buffer.from(`conn ${i}`))));
    results.forEach((r, i) => expect(r.toString()).toBe(`conn ${i}`));
    const c = await perWorkerCounters(h, pids);
    const tots = pids.map((p) => c.get(p)!.tot);
    // SO_REUSEPORT hashes the 4-tuple: 50 connections all on one worker would be a 2^-49 event.
    expect(tots[0] + tots[1]).toBe(50);
    expect(tots[0]).toBeGreaterThan(0);
    expect(tots[1]).toBeGreaterThan(0);
    console.log(`nbproc 2: worker #1 (${pids[0]}) accepted ${tots[0]}, worker #2 (${pids[1]}) accepted ${tots[1]} of 50 connections`);
  });

  it("SIGUSR1 to the master soft-stops both workers: they unbind, finish their connections, exit 0, and so does the master", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const { h, pids, pidfile } = await startMaster(port, echo.port);
    const socks = await Promise.all(Array.from({ length: 20 }, () => held(port)));
    const c = await perWorkerCounters(h, pids);
    expect(pids.map((p) => c.get(p)!.act).every((n) => n > 0), JSON.stringify([...c])).toBe(true);
    h.proc.kill("SIGUSR1");
    await pollValue(() => listeners(port) === 0, 5000);
    expect(listeners(port)).toBe(0);
    expect(await refused(port)).toBe(true);
    // Both workers drain: still alive with their connections, which still work.
    await sleep(200);
    expect(pids.every(alive)).toBe(true);
    expect(h.proc.exitCode).toBeNull();
    const echoes = await Promise.all(socks.map((s, i) => new Promise<string>((resolve) => {
      s.once("data", (d) => resolve(d.toString()));
      s.write(`again ${i}`);
    })));
    echoes.forEach((e, i) => expect(e).toBe(`again ${i}`));
    for (const s of socks) s.end();
    expect(await within(h.exited, 10_000, "timeout")).toBe(0);
    const err = h.stderr();
    expect(err).toContain(`[WARNING]  (${h.pid}) : Exiting Master process...`);
    for (const p of pids) expect(err).toContain(`[WARNING]  (${p}) : Proxy fe stopped (FE: `);
    expect(err).toContain(`[ALERT]    (${h.pid}) : Current worker #1 (${pids[0]}) exited with code 0 (Exit)`);
    expect(err).toContain(`[ALERT]    (${h.pid}) : Current worker #2 (${pids[1]}) exited with code 0 (Exit)`);
    expect(err).toContain(`[WARNING]  (${h.pid}) : All workers are left. Leaving... (0)`);
    expect(fs.existsSync(pidfile)).toBe(false);
  });

  it("a worker killed with SIGKILL is logged by the master and not restarted; the other keeps serving", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const { h, pids } = await startMaster(port, echo.port);
    process.kill(pids[0], "SIGKILL");
    const line = `[ALERT]    (${h.pid}) : Current worker #1 (${pids[0]}) exited with code 137 (Killed)`;
    await pollValue(() => h.stderr().includes(line), 5000);
    expect(h.stderr()).toContain(line);
    await pollValue(() => listeners(port) === 1, 3000);
    expect(listeners(port)).toBe(1);
    expect(h.proc.exitCode).toBeNull();
    expect(alive(pids[1])).toBe(true);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => roundTrip(port, Buffer.from(`after ${i}`))));
    results.forEach((r, i) => expect(r.toString()).toBe(`after ${i}`));
    const c = await perWorkerCounters(h, [pids[1]]);
    expect(c.get(pids[1])!.tot).toBeGreaterThanOrEqual(30);
    // Not restarted: still one worker, no new child of the master.
    const children = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d) && alive(Number(d)) && (() => {
      try {
        return ppid(Number(d)) === h.pid && workerEnv(Number(d)) !== undefined;
      } catch {
        return false;
      }
    })());
    expect(children.map(Number)).toEqual([pids[1]]);
    h.proc.kill("SIGTERM");
    expect(await within(h.exited, 10_000, "timeout")).toBe(0);
    expect(h.stderr()).toContain(`Current worker #2 (${pids[1]}) exited with code 0 (Exit)`);
  });

  it("the workers leave when the master is killed (HAProxy's master pipe)", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const { h, pids } = await startMaster(port, echo.port);
    h.proc.kill("SIGKILL");
    // alive() sees the main thread as a zombie while the worker's other threads may still be in
    // exit and hold its fd table (its listeners): wait for both, under a loaded run too.
    await pollValue(() => !pids.some(alive) && listeners(port) === 0, 10_000);
    expect(pids.filter(alive)).toEqual([]);
    expect(listeners(port)).toBe(0);
  });

  it("a worker that cannot bind fails the whole start: the others are stopped, the master exits 1", async () => {
    const echo = await echoServer();
    // A plain listener without SO_REUSEPORT: every worker's bind() gets EADDRINUSE.
    const blocker = track(net.createServer());
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const h = await startHapoll(cfg(port, echo.port));
    expect(await within(h.exited, 10_000, "timeout")).toBe(1);
    const err = h.stderr();
    expect(err).toMatch(/Starting proxy fe: cannot bind socket \(Address already in use\) \[127\.0\.0\.1:\d+\]/);
    expect(err).toMatch(new RegExp(`\\[ALERT\\]    \\(${h.pid}\\) : Current worker #[12] \\(\\d+\\) exited with code 1 \\(Exit\\)`));
    expect(err).toContain(`All workers are left. Leaving... (1)`);
  });

  it("nbproc 2 with noreuseport is refused (each worker binds its own sockets)", () => {
    const dir = tmpDir();
    const f = path.join(dir, "c.cfg");
    fs.writeFileSync(f, cfg(1, 2, { extra: ["noreuseport"] }));
    const r = spawnSync(process.execPath, [BIN, "-f", f], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("'nbproc 2' needs SO_REUSEPORT");
  });

  it("-D with nbproc 2: the command returns once both workers listen; the daemon master supervises them", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const f = path.join(dir, "d.cfg");
    const pidfile = path.join(dir, "d.pid");
    fs.writeFileSync(f, cfg(port, echo.port));
    // stderr goes to a file, read back for the failure message.
    const errFd = fs.openSync(path.join(dir, "d.err"), "w");
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [BIN, "-D", "-f", f, "-p", pidfile], { stdio: ["ignore", "ignore", errFd], timeout: 20_000 });
    fs.closeSync(errFd);
    const dt = Date.now() - t0;
    const pids = readPids(pidfile);
    const master = pids.length ? ppid(pids[0]) : 0;
    try {
      expect(r.status, fs.readFileSync(path.join(dir, "d.err"), "utf8")).toBe(0);
      expect(dt).toBeLessThan(10_000);
      expect(pids.length).toBe(2);
      expect(listeners(port)).toBe(2);
      expect(ppid(pids[1])).toBe(master);
      expect((await roundTrip(port, Buffer.from("daemon"))).toString()).toBe("daemon");
      process.kill(master, "SIGUSR1");
      await pollValue(() => !alive(master) && !pids.some(alive), 10_000);
      expect(alive(master)).toBe(false);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      for (const p of [master, ...pids]) {
        try {
          if (p) process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  });

  it("connection rate with nbproc 1 and 2 (bench/connrate.js, 1 s each inside npm test; figures printed, not asserted)", async () => {
    const run = (n: number) => new Promise<{ line: string; res: { conns: number; errors: number; rate: number; hapollExit: number | string } }>((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(ROOT, "bench/connrate.js"), "--nbproc", String(n), "--seconds", "1"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (err += d));
      p.on("exit", (code) => {
        const lines = out.trim().split("\n");
        if (code !== 0 || lines.length < 2) reject(new Error(`connrate --nbproc ${n} exited ${code}: ${err}${out}`));
        else resolve({ line: lines[0], res: JSON.parse(lines[lines.length - 1]) });
      });
    });
    const one = await run(1);
    const two = await run(2);
    console.log(`${one.line}\n${two.line}`);
    for (const r of [one, two]) {
      expect(r.res.conns).toBeGreaterThan(0);
      expect(r.res.hapollExit).toBe(0);
    }
  }, 60_000);
});
