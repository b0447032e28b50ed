/**
 * Reloads that drop nothing. HAProxy 1.8: `stats socket ... expose-fd listeners` and `_getsocks`
 * (src/cli.c), `-x <socket>` (get_old_sockets(), src/haproxy.c) with -sf, and the master-worker
 * reload on SIGUSR2 (mworker_reload()). Under continuous load (several clients opening short
 * connections back to back, each checking its echo), every reload must keep every connection:
 * zero refused, reset or wrong replies. Also with HAProxy 1.8.0 itself on either side of the
 * hand-over, when its build is available.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BIN, ROOT, cleanup, echoServer, freePort, randomBytes, roundTrip, skipBecause, sleep, startHapoll, tmpDir, type Hapoll } from "./helpers";
import { loadNative } from "./net-helpers";

afterEach(async () => {
  await cleanup();
});

/** Totals over the whole file, printed at the end (the closing note). */
const totals = { made: 0, failed: 0, bytes: 0, reloads: 0, long: 0 };
const byScenario: string[] = [];
afterAll(() => {
  const lines = [
    `reload totals: ${totals.reloads} reloads, ${totals.made} connections made, ${totals.failed} failed, ` +
      `${totals.bytes} bytes checked (incl. ${totals.long} bytes of long transfers)`,
    ...byScenario,
  ];
  console.log(lines.join("\n"));
});

function cfgText(o: { port: number; be: number; sock: string; expose?: boolean; nbproc?: number; extra?: string; timeout?: string }): string {
  return [
    "global",
    `    stats socket ${o.sock} level admin${o.expose === false ? "" : " expose-fd listeners"}`,
    o.nbproc ? `    nbproc ${o.nbproc}` : "",
    o.extra ?? "",
    "defaults",
    "    mode tcp",
    "    timeout connect 2s",
    `    timeout client ${o.timeout ?? "10s"}`,
    `    timeout server ${o.timeout ?? "10s"}`,
    "listen fe",
    `    bind 127.0.0.1:${o.port}`,
    `    server s1 127.0.0.1:${o.be}`,
    "",
  ].join("\n");
}

/**
 * Continuous load: <n> clients, each opening short connections back to back and checking its echo.
 * A client closes once its whole echo is back (HAProxy 1.8.0 does not pass a client's FIN on to
 * the server, so a half-close would wait for `timeout server` through it).
 */
function startLoad(port: number, n = 4) {
  const st = { made: 0, failed: 0, bytes: 0, errors: [] as string[], phase: "start" };
  let running = true;
  const one = (seed: number): Promise<void> =>
    new Promise((resolve) => {
      const data = randomBytes(200 + (seed % 3800), seed);
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (err: string | null) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        c.destroy();
        st.made++;
        if (err === null) {
          const got = Buffer.concat(chunks);
          if (got.equals(data)) st.bytes += data.length;
          else err = `reply of ${got.length} bytes differs from the ${data.length} sent`;
        }
        if (err !== null) {
          st.failed++;
          if (st.errors.length < 10) st.errors.push(`${err} (${st.phase})`);
        }
        resolve();
      };
      const c = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      const t = setTimeout(() => finish("timeout"), 8000);
      c.on("connect", () => c.write(data));
      let got = 0;
      c.on("data", (d) => {
        chunks.push(d);
        got += d.length;
        if (got >= data.length) finish(null);
      });
      c.on("end", () => finish(got < data.length ? `closed after ${got} of ${data.length} bytes` : null));
      c.on("error", (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
    });
  const loops: Promise<void>[] = [];
  for (let k = 0; k < n; k++) {
    loops.push((async () => {
      let seed = 1 + k * 1_000_003;
      while (running) await one(seed++);
    })());
  }
  return {
    st,
    async stop() {
      running = false;
      await Promise.all(loops);
      totals.made += st.made;
      totals.failed += st.failed;
      totals.bytes += st.bytes;
      return st;
    },
  };
}

/**
 * A long echo transfer of <total> bytes written in paced chunks (so that it spans reloads), read
 * back and compared byte for byte.
 */
function longTransfer(port: number, total: number, chunk = 64 * 1024, paceMs = 25) {
  const data = randomBytes(total, 77);
  let received = 0;
  const p = new Promise<{ ok: boolean; received: number }>((resolve) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const t = setTimeout(() => c.destroy(new Error("timeout")), 30_000);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(t);
      c.destroy();
      const got = Buffer.concat(chunks);
      resolve({ ok: got.equals(data), received: got.length });
    };
    c.on("connect", async () => {
      for (let off = 0; off < total && !ended; off += chunk) {
        c.write(data.subarray(off, Math.min(total, off + chunk)));
        await sleep(paceMs);
      }
    });
    c.on("data", (d) => {
      chunks.push(d);
      received += d.length;
      if (received >= total) end();
    });
    c.on("end", end);
    c.on("error", () => {
      if (ended) return;
      ended = true;
      clearTimeout(t);
      resolve({ ok: false, received });
    });
  });
  return { done: p, progress: () => received, total };
}

async function waitText(get: () => string, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = get().match(re);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got:\n${get()}`);
    await sleep(20);
  }
}

/**
 * Send SIGUSR2 to the master once it takes reloads: a master whose workers have not reported ready
 * yet (a slow start on a loaded machine) ignores it with a warning, so send again then.
 */
async function sigusr2WhenReady(m: { pid: number; stderr: () => string }, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ignored = (m.stderr().match(/Workers not started yet, SIGUSR2 ignored/g) ?? []).length;
    process.kill(m.pid, "SIGUSR2");
    await sleep(300);
    if ((m.stderr().match(/Workers not started yet, SIGUSR2 ignored/g) ?? []).length === ignored) return;
    if (Date.now() > deadline) throw new Error("the master never took the reload");
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(alive);
  }
  return left;
}

/** The HAProxy 1.8.0 binary, or why there is none. */
function haproxy18(): { bin: string } | { why: string } {
  const script = path.resolve(ROOT, "../shared/peers/build-haproxy18.sh");
  if (process.platform !== "linux") return { why: "HAProxy 1.8.0 peer builds on Linux only" };
  if (!fs.existsSync(script)) return { why: `${script} not found (shared/ is not beside the checkout)` };
  const r = spawnSync("bash", [script], { encoding: "utf8", timeout: 240_000 });
  const bin = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !bin || !fs.existsSync(bin)) return { why: `HAProxy 1.8.0 build unavailable: ${(r.stderr || r.stdout).trim().split("\n").pop()}` };
  return { bin };
}

/** Start any process of the hand-over chain (hapoll or haproxy) with stderr captured. */
function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let err = "";
  proc.stdout!.on("data", () => {});
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | string>((r) => proc.on("exit", (c, s) => r(c ?? s ?? -1)));
  return { proc, pid: proc.pid!, stderr: () => err, exited };
}

describe("-x <socket> with -sf: the new process takes the old one's listening sockets", () => {
  it("five reloads under continuous load: no connection refused or reset, every echo exact, old processes gone", async () => {
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const sock = path.join(dir, "admin.sock");
    const cfg = cfgText({ port, be: be.port, sock });
    let cur: Hapoll = await startHapoll(cfg, { waitPort: port });
    const pids = [cur.pid];
    const load = startLoad(port);
    await sleep(300);
    // Started before the first reload, carried by the first process' soft stop.
    const long = longTransfer(port, 6 << 20);
    await sleep(200);
    const rc: (number | string)[] = [];
    for (let i = 0; i < 5; i++) {
      const old = cur;
      cur = await startHapoll(cfg, { args: ["-x", sock, "-sf", String(old.pid)] });
      pids.push(cur.pid);
      // -sf goes out once the new process listens: the old one then stops its proxies.
      await waitText(old.stderr, /Proxy fe stopped/, 10_000);
      if (i === 0) expect(long.progress(), "the long transfer was still running at the first reload").toBeLessThan(long.total);
      void old.exited.then((c) => rc.push(c));
      await sleep(250);
    }
    const st = await load.stop();
    const lt = await long.done;
    totals.reloads += 5;
    totals.long += lt.ok ? lt.received : 0;
    totals.bytes += lt.ok ? lt.received : 0;
    byScenario.push(`  -x/-sf x5 (hapoll->hapoll): ${st.made} connections, ${st.failed} failed, ${st.bytes} bytes + long ${lt.received} bytes ${lt.ok ? "exact" : "WRONG"}`);
    expect(st.errors, "failed connections").toEqual([]);
    expect(st.failed).toBe(0);
    expect(st.made).toBeGreaterThan(100);
    expect(lt.ok, `long transfer: ${lt.received} of ${long.total} bytes, exact`).toBe(true);
    expect(await waitGone(pids.slice(0, -1), 10_000), "old processes still running").toEqual([]);
    expect(rc.every((c) => c === 0), `old processes' exit codes ${rc}`).toBe(true);
    expect(alive(cur.pid)).toBe(true);
    // The same kernel socket all along: the last process' stderr has no bind error, and serves.
    expect(cur.stderr()).not.toMatch(/ALERT/);
    expect((await roundTrip(port, Buffer.from("after"))).toString()).toBe("after");
  }, 60_000);
});

describe("-x: bad input", () => {
  async function oneShot(sock: string, extra: string[] = [], untilListening = false) {
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const cfg = path.join(dir, "new.cfg");
    fs.writeFileSync(cfg, cfgText({ port, be: be.port, sock: path.join(dir, "new.sock") }));
    const p = startProc(process.execPath, [BIN, "-f", cfg, "-x", sock, ...extra]);
    if (untilListening) {
      await waitText(p.stderr, /Failed to get the sockets/, 8000);
      for (let i = 0; i < 200 && !(await new Promise((r) => net.connect(port, "127.0.0.1").on("connect", function (this: net.Socket) { this.destroy(); r(true); }).on("error", () => r(false)))); i++) await sleep(25);
      return { p, port, rc: p.proc.exitCode ?? "running" };
    }
    return { p, port, rc: await Promise.race([p.exited, sleep(8000).then(() => "running")]) };
  }

  it("a missing socket: warning + ALERT, exit 1 (standalone, as 1.8)", async () => {
    const dir = tmpDir();
    const { p, rc } = await oneShot(path.join(dir, "nope.sock"));
    expect(rc).toBe(1);
    expect(p.stderr()).toMatch(/\[WARNING\].*Failed to connect to the old process socket '.*nope\.sock'/);
    expect(p.stderr()).toMatch(/\[ALERT\].*Failed to get the sockets from the old process!/);
  });

  it("a stats socket without expose-fd: nothing is sent, ALERT, exit 1; the old process keeps serving", async () => {
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const sock = path.join(dir, "plain.sock");
    const old = await startHapoll(cfgText({ port, be: be.port, sock, expose: false }), { waitPort: port });
    const p = startProc(process.execPath, [BIN, "-f", old.cfgPath, "-x", sock, "-sf", String(old.pid)]);
    expect(await Promise.race([p.exited, sleep(8000).then(() => "running")])).toBe(1);
    expect(p.stderr()).toMatch(/Failed to get the number of sockets to be transferred/);
    expect(p.stderr()).toMatch(/\[ALERT\].*Failed to get the sockets from the old process!/);
    expect(alive(old.pid)).toBe(true);
    expect((await roundTrip(port, Buffer.from("still"))).toString()).toBe("still");
  });

  /** A fake old process (child node) that answers `_getsocks` with <mode>'s reply. */
  function fakePeer(sockPath: string, mode: "close-mid" | "junk" | "bad-record") {
    const addon = path.join(ROOT, "build/Release/hapoll.node");
    const script = `
      const n = require(${JSON.stringify(addon)}); const C = n.constants;
      const net = require("node:net");
      const srv = net.createServer((s) => {
        s.on("error", () => {});
        s.once("data", () => {
          const mode = ${JSON.stringify(mode)};
          if (mode === "junk") { s.end("HTTP/1.0 400 Bad request\\r\\n\\r\\n"); return; }
          const cnt = Buffer.alloc(4); cnt.writeInt32LE(mode === "close-mid" ? 3 : 1);
          s.write(cnt, () => {
            if (mode === "close-mid") { s.destroy(); return; }
            // one descriptor with a record cut short (a namespace length byte and nothing else)
            const p = new Int32Array(2); n.pipe(p);
            const r = n.sendFds(s._handle.fd, Buffer.from([7]), 0, 1, p, 1);
            setTimeout(() => s.destroy(), 300);
          });
        });
      });
      srv.listen(${JSON.stringify(sockPath)}, () => process.stdout.write("up\\n"));
      setTimeout(() => process.exit(0), 15000);
    `;
    const c = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise<() => void>((resolve) => c.stdout!.once("data", () => resolve(() => c.kill("SIGKILL"))));
  }

  it("a peer that closes mid-transfer: ALERT, exit 1", async () => {
    const dir = tmpDir();
    const sock = path.join(dir, "fake.sock");
    const stop = await fakePeer(sock, "close-mid");
    try {
      const { p, rc } = await oneShot(sock);
      expect(rc).toBe(1);
      expect(p.stderr()).toMatch(/We didn't get the expected number of sockets \(expecting 3 got 0\)/);
      expect(p.stderr()).toMatch(/\[ALERT\].*Failed to get the sockets from the old process!/);
    } finally {
      stop();
    }
  });

  it("a malformed reply (not a count; a record cut short): ALERT, exit 1", async () => {
    const dir = tmpDir();
    const sock = path.join(dir, "junk.sock");
    const stop = await fakePeer(sock, "junk");
    try {
      const { p, rc } = await oneShot(sock);
      expect(rc).toBe(1);
      expect(p.stderr()).toMatch(/Unexpected number of sockets to be transferred \(\d+\)/);
      expect(p.stderr()).toMatch(/\[ALERT\].*Failed to get the sockets from the old process!/);
    } finally {
      stop();
    }
    const sock2 = path.join(dir, "bad.sock");
    const stop2 = await fakePeer(sock2, "bad-record");
    try {
      const { p, rc } = await oneShot(sock2);
      expect(rc).toBe(1);
      expect(p.stderr()).toMatch(/Inconsistency while transferring sockets/);
    } finally {
      stop2();
    }
  });

  it("master-worker mode: the worker warns and binds its sockets itself, as 1.8 does", async () => {
    const dir = tmpDir();
    const { p, port, rc } = await oneShot(path.join(dir, "nope.sock"), ["-W"], true);
    try {
      expect(rc).toBe("running");
      expect(p.stderr()).toMatch(/\[ALERT\].*Failed to get the sockets from the old process!/);
      expect((await roundTrip(port, Buffer.from("bound anyway"))).toString()).toBe("bound anyway");
    } finally {
      p.proc.kill("SIGTERM");
      await p.exited;
    }
  });
});

/** Worker pids of a -W master from its pidfile (rewritten when a reload's workers listen). */
function readPids(file: string): number[] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitNewPids(file: string, prev: number[], n: number, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = readPids(file);
    if (p.length === n && p.every((x) => !prev.includes(x))) return p;
    if (Date.now() > deadline) throw new Error(`no new workers in ${file} (was ${prev}, now ${p})`);
    await sleep(25);
  }
}

describe("master-worker reload (-W / -Ws, SIGUSR2)", () => {
  it("five SIGUSR2 reloads of a 2-worker master under load: nothing dropped, old workers gone, systemd told", async () => {
    const native = loadNative();
    const C = native.constants;
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const sock = path.join(dir, "admin.sock");
    const pidfile = path.join(dir, "pids");
    // NOTIFY_SOCKET: a unix datagram socket read here (what systemd listens on).
    const notifyPath = path.join(dir, "notify");
    const nfd = native.socket(C.AF_UNIX, C.SOCK_DGRAM, 0);
    native.setNonblock(nfd);
    const sa = Buffer.alloc(C.SOCKADDR_MAX);
    expect(native.bind(nfd, sa, native.sockaddrFrom("unix", notifyPath, 0, sa))).toBe(0);
    const notes: string[] = [];
    const drain = () => {
      const b = Buffer.alloc(512);
      for (let r; (r = native.recv(nfd, b, 0, b.length)) > 0;) notes.push(b.toString("utf8", 0, r));
    };
    try {
      const m = await startHapoll(cfgText({ port, be: be.port, sock, nbproc: 2 }), {
        args: ["-Ws", "-p", pidfile], waitPort: port, env: { NOTIFY_SOCKET: notifyPath },
      });
      let pids = await waitNewPids(pidfile, [], 2, 10_000);
      await waitText(() => (drain(), notes.join("|")), /READY=1\nMAINPID=\d+/, 5000);
      expect(notes[0]).toBe(`READY=1\nMAINPID=${m.pid}`);
      const all = [...pids];
      const load = startLoad(port);
      await sleep(300);
      const long = longTransfer(port, 6 << 20);
      await sleep(200);
      for (let i = 0; i < 5; i++) {
        process.kill(m.pid, "SIGUSR2");
        pids = await waitNewPids(pidfile, pids, 2, 15_000);
        all.push(...pids);
        if (i === 0) expect(long.progress(), "the long transfer was still running at the first reload").toBeLessThan(long.total);
        await sleep(250);
      }
      const st = await load.stop();
      const lt = await long.done;
      totals.reloads += 5;
      totals.long += lt.ok ? lt.received : 0;
      totals.bytes += lt.ok ? lt.received : 0;
      byScenario.push(`  -Ws SIGUSR2 x5 (nbproc 2): ${st.made} connections, ${st.failed} failed, ${st.bytes} bytes + long ${lt.received} bytes ${lt.ok ? "exact" : "WRONG"}`);
      expect(st.errors, "failed connections").toEqual([]);
      expect(st.failed).toBe(0);
      expect(st.made).toBeGreaterThan(100);
      expect(lt.ok, `long transfer: ${lt.received} of ${long.total} bytes`).toBe(true);
      const former = all.filter((p) => !pids.includes(p));
      expect(former.length).toBe(10);
      expect(await waitGone(former, 10_000), "former workers still running").toEqual([]);
      expect(m.stderr()).toMatch(/Former worker #1 \(\d+\) exited with code 0/);
      expect(m.stderr()).not.toMatch(/ALERT/);
      drain();
      expect(notes.filter((s) => s === "RELOADING=1").length).toBe(5);
      expect(notes.filter((s) => s === "READY=1").length).toBe(5);
      // SIGTERM: STOPPING=1, then everyone leaves.
      process.kill(m.pid, "SIGTERM");
      expect(await Promise.race([m.exited, sleep(8000).then(() => "running")])).not.toBe("running");
      drain();
      expect(notes[notes.length - 1]).toBe("STOPPING=1");
      expect(await waitGone(pids, 5000)).toEqual([]);
    } finally {
      native.close(nfd);
    }
  }, 60_000);

  it("a reload with a broken configuration prints its ALERT and the old workers keep serving; so does one that cannot bind", async () => {
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const sock = path.join(dir, "admin.sock");
    const pidfile = path.join(dir, "pids");
    const m = await startHapoll(cfgText({ port, be: be.port, sock }), { args: ["-W", "-p", pidfile], waitPort: port });
    const pids = await waitNewPids(pidfile, [], 1, 10_000);
    // 1. A syntax error: the master's own check refuses it.
    fs.writeFileSync(m.cfgPath, cfgText({ port, be: be.port, sock }) + "frontend\n    bogus-keyword 1\n");
    await sigusr2WhenReady(m);
    await waitText(m.stderr, /Reload failed: the configuration has errors/, 8000);
    expect(m.stderr()).toMatch(/\[ALERT\].*parsing \[.*hapoll\.cfg:\d+\]/);
    expect(readPids(pidfile)).toEqual(pids);
    expect(alive(pids[0])).toBe(true);
    expect((await roundTrip(port, Buffer.from("old worker 1"))).toString()).toBe("old worker 1");
    // 2. Valid, but a new bind line cannot be bound: the new worker fails, the reload with it.
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      fs.writeFileSync(m.cfgPath, cfgText({ port, be: be.port, sock }) + `listen other\n    bind 127.0.0.1:${takenPort}\n    server s 127.0.0.1:${be.port}\n`);
      process.kill(m.pid, "SIGUSR2");
      await waitText(m.stderr, /Reload failed: stopping the new workers/, 10_000);
      expect(m.stderr()).toMatch(/\[ALERT\].*cannot bind socket/);
      expect(readPids(pidfile)).toEqual(pids);
      expect((await roundTrip(port, Buffer.from("old worker 2"))).toString()).toBe("old worker 2");
      // 3. Fixed: the next reload goes through.
      fs.writeFileSync(m.cfgPath, cfgText({ port, be: be.port, sock }));
      process.kill(m.pid, "SIGUSR2");
      const next = await waitNewPids(pidfile, pids, 1, 10_000);
      expect(await waitGone(pids, 8000)).toEqual([]);
      expect((await roundTrip(port, Buffer.from("new worker"))).toString()).toBe("new worker");
      expect(alive(next[0])).toBe(true);
      totals.reloads += 1;
    } finally {
      taken.close();
    }
  }, 40_000);

  it("the workers leave when the master dies, whichever generation they belong to", async () => {
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const pidfile = path.join(dir, "pids");
    const m = await startHapoll(cfgText({ port, be: be.port, sock: path.join(dir, "s.sock") }), { args: ["-W", "-p", pidfile], waitPort: port });
    const first = await waitNewPids(pidfile, [], 1, 10_000);
    // Not a bare kill: a master whose worker has not reported ready yet ignores the reload.
    await sigusr2WhenReady(m);
    const second = await waitNewPids(pidfile, first, 1, 10_000);
    process.kill(m.pid, "SIGKILL");
    expect(await waitGone([...first, ...second], 8000)).toEqual([]);
  }, 30_000);
});

describe("hand-over with HAProxy 1.8.0 (both directions)", () => {
  const peer = haproxy18();
  const noPeer = skipBecause(!("bin" in peer), `reload.test.ts: HAProxy 1.8.0 interop skipped: ${"why" in peer ? peer.why : ""}`);
  it.skipIf(noPeer)("hapoll takes over from HAProxy 1.8.0, then 1.8.0 from hapoll, and back, under load: nothing dropped", async () => {
    const bin = (peer as { bin: string }).bin;
    const be = await echoServer();
    const port = await freePort();
    const dir = tmpDir();
    const sock = path.join(dir, "admin.sock");
    const cfgPath = path.join(dir, "both.cfg");
    // 1.8.0 never passes a client's close on to the server (see HAPROXY-NOTES): its soft-stopped
    // process keeps each finished connection until `timeout server`, so keep that short here.
    fs.writeFileSync(cfgPath, cfgText({ port, be: be.port, sock, timeout: "1s" }));
    const procs: ReturnType<typeof startProc>[] = [];
    const start = (who: "haproxy" | "hapoll", args: string[]) => {
      const p = who === "haproxy" ? startProc(bin, ["-db", "-f", cfgPath, ...args]) : startProc(process.execPath, [BIN, "-f", cfgPath, ...args]);
      procs.push(p);
      return p;
    };
    try {
      let cur = start("haproxy", []);
      await waitText(() => (fs.existsSync(sock) ? "up" : ""), /up/, 5000);
      await sleep(200);
      const load = startLoad(port);
      await sleep(300);
      const long = longTransfer(port, 4 << 20);
      await sleep(100);
      const chain: ("haproxy" | "hapoll")[] = ["hapoll", "haproxy", "hapoll", "haproxy", "hapoll"];
      for (const who of chain) {
        const old = cur;
        load.st.phase = `starting ${who}`;
        cur = start(who, ["-x", sock, "-sf", String(old.pid)]);
        await waitText(old.stderr, /Proxy fe stopped/, 10_000);
        load.st.phase = `${who} took over, old stopping`;
        expect(await Promise.race([old.exited, sleep(10_000).then(() => "running")]), `${who} took over; the old one left`).toBe(0);
        load.st.phase = `${who} alone`;
        await sleep(250);
      }
      const st = await load.stop();
      const lt = await long.done;
      totals.reloads += chain.length;
      totals.long += lt.ok ? lt.received : 0;
      totals.bytes += lt.ok ? lt.received : 0;
      byScenario.push(`  HAProxy 1.8.0 <-> hapoll x${chain.length}: ${st.made} connections, ${st.failed} failed, ${st.bytes} bytes + long ${lt.received} bytes ${lt.ok ? "exact" : "WRONG"}`);
      expect(st.errors, "failed connections").toEqual([]);
      expect(st.failed).toBe(0);
      expect(st.made).toBeGreaterThan(50);
      expect(lt.ok).toBe(true);
      for (const p of procs.slice(0, -1)) expect(p.stderr()).not.toMatch(/ALERT|Failed/);
      expect(cur.stderr()).not.toMatch(/ALERT|Failed/);
    } finally {
      for (const p of procs) p.proc.kill("SIGKILL");
    }
  }, 60_000);
});
