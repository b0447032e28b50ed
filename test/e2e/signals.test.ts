/**
 * Signals end to end. HAProxy 1.8 (src/haproxy.c, src/proxy.c): SIGUSR1 soft stop (unbind the
 * listeners, let live sessions end, exit when jobs == 0, bounded by hard-stop-after), SIGTTOU /
 * SIGTTIN pause / resume the listeners, SIGHUP dumps the servers' states; SIGTERM / SIGINT stop
 * hapoll at once (exit 0).
 */
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, sleep, startHapoll, type Hapoll } from "./helpers";
import {
  connectOutcome, echoProbe, fdList, holdServer, stableFdCount, tcpConfig,
  TestClient, waitFdBaseline, waitFor, waitStderr,
} from "./limits-helpers";
import { exitWithin } from "./net-helpers";

afterEach(async () => {
  await cleanup();
});

/** hapoll in front of a holding echo backend, with <n> established clients that did one echo each. */
async function setup(n: number, global: string[] = []) {
  const be = await holdServer();
  const port = await freePort();
  const h = await startHapoll(tcpConfig({ global, bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${be.port}`] }), { waitPort: port });
  const baseline = await stableFdCount(h.pid);
  const clients: TestClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = TestClient.tcp(port);
    await c.waitConnected();
    c.send(`hello${i}`);
    expect((await c.waitBytes(`hello${i}`.length)).toString()).toBe(`hello${i}`);
    clients.push(c);
  }
  return { be, port, h, clients, baseline };
}

/** An echo round trip on an established client (without closing it). */
async function echoOn(c: TestClient, msg: string): Promise<void> {
  const before = c.received();
  c.send(msg);
  const all = await c.waitBytes(before + msg.length, 3000);
  expect(all.subarray(before).toString()).toBe(msg);
}

function kill(h: Hapoll, sig: NodeJS.Signals): void {
  process.kill(h.pid, sig);
}

describe("SIGUSR1 soft stop", () => {
  it("refuses new connections at once, keeps live ones, exits 0 after the last one closes", async () => {
    const { be, port, h, clients } = await setup(2);
    kill(h, "SIGUSR1");
    await waitStderr(h, /Stopping proxy px in 0 ms\./, 3000);
    const m = await waitStderr(h, /Proxy px stopped \(FE: (\d+) conns, BE: (\d+) conns\)\./, 3000);
    // The readiness probe of startHapoll + the 2 clients.
    expect(Number(m[1]), "FE total").toBe(3);
    expect(Number(m[2]), "BE total").toBe(3);
    // The listener is closed: connect is refused.
    expect(await connectOutcome({ port, host: "127.0.0.1" }, 2000)).toBe("ECONNREFUSED");
    // Live connections keep working.
    await echoOn(clients[0], "still-there-0");
    await echoOn(clients[1], "still-there-1");
    expect(await exitWithin(h, 1000), "must not exit with live connections").toBe("timeout");
    clients[0].destroy();
    await waitFor(() => be.live() === 1, 3000, "first backend connection to close");
    expect(await exitWithin(h, 800), "must not exit with one live connection").toBe("timeout");
    await echoOn(clients[1], "last-one");
    clients[1].destroy();
    expect(await exitWithin(h, 5000), `exit after the last connection: ${h.stderr()}`).toBe(0);
    expect(h.stderr()).not.toMatch(/\n\s+at |Error/);
  });

  it("frontend + backend sections: each proxy is stopped and logged with its own counters", async () => {
    const be = await holdServer();
    const port = await freePort();
    const cfg = [
      "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 60s", "    timeout server 60s",
      "frontend fe", `    bind 127.0.0.1:${port}`, "    default_backend bk",
      "backend bk", `    server s1 127.0.0.1:${be.port}`, "",
    ].join("\n");
    const h = await startHapoll(cfg, { waitPort: port });
    await stableFdCount(h.pid);
    const c = TestClient.tcp(port);
    await c.waitConnected();
    await echoOn(c, "x");
    kill(h, "SIGUSR1");
    await waitStderr(h, /Proxy bk stopped/, 3000);
    const err = h.stderr();
    expect(err).toMatch(/Stopping frontend fe in 0 ms\./);
    expect(err).toMatch(/Stopping backend bk in 0 ms\./);
    // 2 = the readiness probe + the client.
    expect(err).toMatch(/Proxy fe stopped \(FE: 2 conns, BE: 0 conns\)\./);
    expect(err).toMatch(/Proxy bk stopped \(FE: 0 conns, BE: 2 conns\)\./);
    expect(await connectOutcome({ port, host: "127.0.0.1" }, 2000)).toBe("ECONNREFUSED");
    await echoOn(c, "y");
    c.destroy();
    expect(await exitWithin(h, 5000)).toBe(0);
  });

  it("soft stop with no live connection exits 0 promptly", async () => {
    const { h } = await setup(0);
    const t0 = Date.now();
    kill(h, "SIGUSR1");
    expect(await exitWithin(h, 3000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(h.stderr()).toMatch(/Proxy px stopped/);
  });

  it("hard-stop-after 500: a connection left open is cut and the process exits 0 in ~0.5-5 s", async () => {
    const { h, clients } = await setup(1, ["hard-stop-after 500"]);
    const t0 = Date.now();
    kill(h, "SIGUSR1");
    await waitStderr(h, /Proxy px stopped/, 3000);
    await echoOn(clients[0], "before-hard-stop");
    const code = await exitWithin(h, 5000);
    const dt = Date.now() - t0;
    console.log(`hard-stop-after 500: exited ${code} after ${dt} ms`);
    expect(code, h.stderr()).toBe(0);
    expect(dt).toBeGreaterThanOrEqual(400);
    expect(dt).toBeLessThan(5000);
    await waitFor(() => clients[0].closed || clients[0].ended, 2000, "client connection to be closed");
    expect(h.stderr()).toMatch(/soft-stop running for too long, performing a hard-stop\./);
  });
});

describe("hard stop", () => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`${sig} with open connections: exits 0 in < 3 s and the clients are closed`, async () => {
      const { h, clients } = await setup(3);
      const t0 = Date.now();
      kill(h, sig);
      const code = await exitWithin(h, 3000);
      expect(code, h.stderr()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000);
      await waitFor(() => clients.every((c) => c.closed || c.ended), 2000, "clients to be closed");
    });
  }
});

describe("SIGTTOU / SIGTTIN", () => {
  it("pause stops serving new connections, resume serves them again; live ones are untouched", async () => {
    const { port, h, clients } = await setup(1);
    kill(h, "SIGTTOU");
    await waitStderr(h, /Pausing proxy px\./, 3000);
    await sleep(100);
    const paused = await echoProbe({ port, host: "127.0.0.1" }, Buffer.from("paused?"), 1500);
    console.log(`SIGTTOU: a new connection -> ${paused}`);
    expect(["ECONNREFUSED", "not-served", "ECONNRESET", "closed"]).toContain(paused);
    await echoOn(clients[0], "live-during-pause");
    kill(h, "SIGTTIN");
    await waitStderr(h, /Enabling proxy px\./, 3000);
    expect(await echoProbe({ port, host: "127.0.0.1" }, Buffer.from("resumed"), 3000)).toBe("served");
    await echoOn(clients[0], "live-after-resume");
    expect(h.proc.exitCode).toBe(null);
  });

  it("paused listener refuses connections as HAProxy's tcp_pause_listener does (shutdown, listen, shutdown)", async () => {
    // HAProxy 1.8 pauses with shutdown(SHUT_WR); listen(); shutdown(SHUT_RD): on Linux the socket is
    // left disconnected, so new connects get ECONNREFUSED instead of piling up in a backlog nobody
    // accepts (with SO_REUSEPORT during a reload, the kernel would hand them to the paused process).
    const { port, h } = await setup(0);
    kill(h, "SIGTTOU");
    await waitStderr(h, /Pausing proxy px\./, 3000);
    await sleep(100);
    expect(await connectOutcome({ port, host: "127.0.0.1" }, 1500)).toBe("ECONNREFUSED");
    kill(h, "SIGTTIN");
    await waitStderr(h, /Enabling proxy px\./, 3000);
    expect(await echoProbe({ port, host: "127.0.0.1" }, Buffer.from("resumed"), 3000)).toBe("served");
  });
});

describe("SIGHUP", () => {
  it("logs each server's state with its connection counts", async () => {
    const { be, h, clients } = await setup(1);
    kill(h, "SIGHUP");
    const m = await waitStderr(h, /SIGHUP: Server px\/s1 is UP\. Conn: (\d+) act, (\d+) pend, (\d+) tot\./, 3000);
    expect(Number(m[1]), "act").toBe(1);
    expect(Number(m[2]), "pend").toBe(0);
    // The client, plus the readiness probe when it lived long enough to reach the server (on a loaded
    // machine it may close first): the backend's own count of accepted connections says which.
    expect(Number(m[3]), "tot").toBe(be.accepted());
    expect(be.accepted()).toBeGreaterThanOrEqual(1);
    await echoOn(clients[0], "after-sighup");
    expect(h.proc.exitCode).toBe(null);
  });

  it("prints HAProxy 1.8's header and per-proxy line", async () => {
    const { h } = await setup(1);
    kill(h, "SIGHUP");
    await waitStderr(h, /SIGHUP: Server px\/s1 is UP/, 3000);
    await sleep(200);
    // src/haproxy.c sig_dump_state() in 1.8.0.
    expect(h.stderr()).toMatch(/SIGHUP received, dumping servers states\./);
    expect(h.stderr()).toMatch(
      /SIGHUP: Proxy px has 1 active servers and 0 backup servers available\. Conn: act\(FE\+BE\): 1\+1, 0 pend \(0 unass\), tot\(FE\+BE\): 2\+2\./);
  });
});

describe("fd hygiene after signals", () => {
  it("pause/resume and SIGHUP leave no fd behind once connections close", async () => {
    const { be, h, clients, baseline } = await setup(2);
    kill(h, "SIGTTOU");
    await waitStderr(h, /Pausing proxy px\./, 3000);
    kill(h, "SIGTTIN");
    await waitStderr(h, /Enabling proxy px\./, 3000);
    kill(h, "SIGHUP");
    await waitStderr(h, /SIGHUP: Server/, 3000);
    for (const c of clients) c.destroy();
    await waitFor(() => be.live() === 0, 3000, "backend connections to close");
    const fds = await waitFdBaseline(h.pid, baseline, 2000);
    expect(fds, `hapoll fds (baseline ${baseline}): ${fdList(h.pid)}`).toBe(baseline);
  });
});
