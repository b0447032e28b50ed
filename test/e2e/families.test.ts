/**
 * Address families end to end: IPv6 (bind and server on ::1), unix stream sockets as a bind
 * (`/path`, `unix@/path`) and as a server (`unix@/path`, `/path`). HAProxy 1.8: str2sa_range()
 * (src/standard.c), proto_tcpv6 (src/proto_tcp.c), proto_uxst (src/proto_uxst.c).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, randomBytes, runHapoll, sleep, startHapoll, tmpDir, type Hapoll } from "./helpers";
import {
  connectOutcome, fdList, holdServer, roundTripTo, stableFdCount, tcpConfig, waitFdBaseline, waitFor,
} from "./limits-helpers";

afterEach(async () => {
  await cleanup();
});

/** Whether ::1 can be bound and connected to here. */
async function ipv6Usable(): Promise<boolean> {
  try {
    const s = net.createServer();
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(0, "::1", () => resolve());
    });
    const port = (s.address() as net.AddressInfo).port;
    const r = await connectOutcome({ port, host: "::1" }, 1000);
    s.close();
    return r === "connected";
  } catch {
    return false;
  }
}

/** Wait until <o> accepts connections (or hapoll died). */
async function waitListening(h: Hapoll, o: net.NetConnectOpts): Promise<void> {
  await waitFor(async () => {
    if (h.proc.exitCode !== null) throw new Error(`hapoll exited (${h.proc.exitCode}): ${h.stderr()}`);
    return (await connectOutcome(o, 500)) === "connected";
  }, 10_000, () => `hapoll to listen: ${h.stderr()}`, 50);
}

/**
 * Round trips of several sizes through <o>, byte-exact; then every connection closed and hapoll's
 * fds back to <baseline>.
 */
async function checkRoundTrips(h: Hapoll, o: net.NetConnectOpts, baseline: number, beLive: () => number): Promise<void> {
  for (const [n, seed] of [[1, 1], [1000, 2], [300_000, 3]] as const) {
    const data = randomBytes(n, seed);
    const got = await roundTripTo(o, data, 15_000);
    expect(got.length, `round trip of ${n} bytes`).toBe(n);
    expect(got.equals(data), `round trip of ${n} bytes is byte-exact`).toBe(true);
  }
  // A few in parallel.
  const datas = Array.from({ length: 10 }, (_, i) => randomBytes(10_000 + i, 100 + i));
  const gots = await Promise.all(datas.map((d) => roundTripTo(o, d, 15_000)));
  gots.forEach((g, i) => expect(g.equals(datas[i]), `parallel round trip ${i}`).toBe(true));
  await waitFor(() => beLive() === 0, 3000, "backend connections to close");
  const fds = await waitFdBaseline(h.pid, baseline, 2000);
  expect(fds, `hapoll fds (baseline ${baseline}): ${fdList(h.pid)}`).toBe(baseline);
  expect(h.proc.exitCode).toBe(null);
}

describe("IPv6", () => {
  it("bind [::1]:port and server [::1]:port", async (ctx) => {
    if (!(await ipv6Usable())) ctx.skip("IPv6 loopback (::1) is not usable on this host");
    const be = await holdServer({ host: "::1" });
    const remotes = new Set<string>();
    be.server.on("connection", (s) => remotes.add(s.remoteAddress ?? "?"));
    const port = await freePort();
    const h = await startHapoll(tcpConfig({ bind: `[::1]:${port}`, servers: [`[::1]:${be.port}`] }));
    await waitListening(h, { port, host: "::1" });
    const baseline = await stableFdCount(h.pid);
    // Only ::1 is bound: 127.0.0.1 on that port is not hapoll.
    expect(await connectOutcome({ port, host: "127.0.0.1" }, 1000)).toBe("ECONNREFUSED");
    await checkRoundTrips(h, { port, host: "::1" }, baseline, be.live);
    expect([...remotes]).toEqual(["::1"]);
  });

  it("bind :::port (any IPv6) accepts IPv4 clients too (v6only off) and ipv4 server", async (ctx) => {
    if (!(await ipv6Usable())) ctx.skip("IPv6 loopback (::1) is not usable on this host");
    const be = await holdServer();
    const port = await freePort();
    const h = await startHapoll(tcpConfig({ bind: `:::${port}`, servers: [`127.0.0.1:${be.port}`] }));
    await waitListening(h, { port, host: "::1" });
    const baseline = await stableFdCount(h.pid);
    const d = randomBytes(5000, 9);
    expect((await roundTripTo({ port, host: "127.0.0.1" }, d)).equals(d)).toBe(true);
    await checkRoundTrips(h, { port, host: "::1" }, baseline, be.live);
  });
});

describe("unix sockets", () => {
  for (const form of ["path", "unix@"] as const) {
    it(`bind ${form === "path" ? "/path" : "unix@/path"} with a TCP server`, async () => {
      const be = await holdServer();
      const dir = tmpDir();
      const sock = path.join(dir, "s.sock");
      const bind = form === "path" ? sock : `unix@${sock}`;
      const h = await startHapoll(tcpConfig({ bind, servers: [`127.0.0.1:${be.port}`] }), { waitPath: sock });
      expect(fs.statSync(sock).isSocket()).toBe(true);
      const baseline = await stableFdCount(h.pid);
      await checkRoundTrips(h, { path: sock }, baseline, be.live);
    });
  }

  for (const form of ["unix@", "path"] as const) {
    it(`TCP bind with a unix-socket server (${form === "path" ? "server s1 /path" : "server s1 unix@/path"})`, async () => {
      const dir = tmpDir();
      const bsock = path.join(dir, "be.sock");
      const be = await holdServer({ path: bsock });
      const port = await freePort();
      const cfg = tcpConfig({ bind: `127.0.0.1:${port}`, servers: [form === "path" ? bsock : `unix@${bsock}`] });
      // The parser accepts it.
      const cfgFile = path.join(dir, "check.cfg");
      fs.writeFileSync(cfgFile, cfg);
      const chk = runHapoll(["-c", "-f", cfgFile]);
      expect(chk.code, chk.stderr).toBe(0);
      expect(chk.stdout).toMatch(/Configuration file is valid/);
      // And the runtime connects to it.
      const h = await startHapoll(cfg, { waitPort: port });
      const baseline = await stableFdCount(h.pid);
      const acc0 = be.accepted();
      await checkRoundTrips(h, { port, host: "127.0.0.1" }, baseline, be.live);
      expect(be.accepted() - acc0).toBe(13);
    });
  }

  it("unix bind to a unix server", async () => {
    const dir = tmpDir();
    const bsock = path.join(dir, "be.sock");
    const fsock = path.join(dir, "fe.sock");
    const be = await holdServer({ path: bsock });
    const h = await startHapoll(tcpConfig({ bind: fsock, servers: [`unix@${bsock}`] }), { waitPath: fsock });
    const baseline = await stableFdCount(h.pid);
    await checkRoundTrips(h, { path: fsock }, baseline, be.live);
    process.kill(h.pid, "SIGUSR1");
    const code = await Promise.race([h.exited, sleep(5000).then(() => "timeout")]);
    expect(code, h.stderr()).toBe(0);
  });

  it("reload with -sf on a unix bind: the new process's socket stays reachable after the old one stops", async () => {
    // HAProxy 1.8 (proto_uxst.c) binds <path>.<pid>.tmp and renames it over <path>, and never unlinks
    // the path when a listener is unbound: the old process stopping must not remove the socket the
    // new process now serves.
    const dir = tmpDir();
    const fsock = path.join(dir, "fe.sock");
    const be = await holdServer();
    const cfg = tcpConfig({ bind: fsock, servers: [`127.0.0.1:${be.port}`] });
    const h1 = await startHapoll(cfg, { waitPath: fsock });
    const d1 = randomBytes(3000, 1);
    expect((await roundTripTo({ path: fsock }, d1)).equals(d1)).toBe(true);
    const h2 = await startHapoll(cfg, { args: ["-sf", String(h1.pid)] });
    const c1 = await Promise.race([h1.exited, sleep(5000).then(() => "timeout")]);
    expect(c1, `old process: ${h1.stderr()}`).toBe(0);
    expect(h2.proc.exitCode, h2.stderr()).toBe(null);
    expect(fs.existsSync(fsock), "the unix socket path was removed by the old process").toBe(true);
    const d2 = randomBytes(3000, 2);
    expect((await roundTripTo({ path: fsock }, d2, 3000)).equals(d2)).toBe(true);
  });
});
