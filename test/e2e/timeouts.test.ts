/**
 * End-to-end timeouts of bin/hapoll under every poller variant: connect timeout against a
 * black-holed backend (with a retry), client and server inactivity timeouts, and `timeout tunnel`
 * replacing client/server once the connection is established. Wall-clock checks use wide margins.
 */
import { describe, it, expect, afterEach } from "vitest";
import { POLLER_VARIANTS, cleanup, echoServer, fdCount, freePort, sleep } from "./helpers";
import { blackholePort, client, fdsSettle, silentServer, startProxy, tcpCfg, pollValue, waitLog, within } from "./net-helpers";

describe.each(POLLER_VARIANTS)("timeouts [$name]", (v) => {
  afterEach(async () => {
    await cleanup();
  });

  it("black-holed backend: timeout connect 300 + retries 1 closes the client after ~2 attempts, log sC", async () => {
    const bh = await blackholePort();
    const port = await freePort();
    const h = await startProxy(tcpCfg({
      port, srvPort: bh, name: "fe", log: true, retries: 1,
      timeouts: { connect: "300", client: "10s", server: "10s" },
    }), [port], v.args);
    const fd0 = fdCount(h.pid);
    const c = client(port);
    expect(await within(c.connected, 5000, -1)).toBeGreaterThan(0);
    c.sock.write("hello");
    const endAt = await within(c.ended, 8000, -1);
    expect(endAt, "the client was not closed within 8 s").toBeGreaterThan(0);
    expect(c.gotEnd()).toBe(true);
    const elapsed = endAt - c.t0;
    // Two attempts of 300 ms each (the connect timeout does not wait for a turn-around).
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(5000);
    expect(c.bytes()).toBe(0);
    const log = await waitLog(h, c.localPort(), 3000);
    expect(log, `no tcplog line for port ${c.localPort()} in stdout:\n${h.stdout()}`).toBeDefined();
    expect(log!.ts).toBe("sC");
    expect(log!.srv).toBe("s1");
    expect(log!.tc).toBe(-1);
    expect(log!.rc).toBe("1");
    expect(log!.tt).toBeGreaterThanOrEqual(500);
    c.sock.end();
    // Both timed-out server sockets and the client socket are closed.
    expect(await fdsSettle(h.pid, fd0)).toBeLessThanOrEqual(fd0);
  }, 30_000);

  it("client timeout: an idle client is closed after ~timeout client (300 ms), log cD", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const h = await startProxy(tcpCfg({
      port, srvPort: echo.port, log: true, timeouts: { connect: "5s", client: "300", server: "10s" },
    }), [port], v.args);
    const c = client(port);
    expect(await within(c.connected, 5000, -1)).toBeGreaterThan(0);
    const endAt = await within(c.ended, 6000, -1);
    expect(endAt, "the idle client was not closed within 6 s").toBeGreaterThan(0);
    const elapsed = endAt - c.t0;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    const log = await waitLog(h, c.localPort(), 3000);
    expect(log, `no tcplog line in stdout:\n${h.stdout()}`).toBeDefined();
    expect(log!.ts).toBe("cD");
    expect(log!.srv).toBe("s1");
    expect(log!.tc).toBeGreaterThanOrEqual(0);
  }, 30_000);

  it("server timeout: a backend that never answers is cut after ~timeout server (300 ms), log sD", async () => {
    const silent = await silentServer();
    const port = await freePort();
    const h = await startProxy(tcpCfg({
      port, srvPort: silent.port, log: true, timeouts: { connect: "5s", client: "10s", server: "300" },
    }), [port], v.args);
    const c = client(port);
    expect(await within(c.connected, 5000, -1)).toBeGreaterThan(0);
    c.sock.write("GET something\n");
    const endAt = await within(c.ended, 6000, -1);
    expect(endAt, "the client was not closed within 6 s").toBeGreaterThan(0);
    const elapsed = endAt - c.t0;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    // As in HAProxy, the server timeout only half-closes toward the client (shutw); the client may
    // still send until its own timeout. A regular client closes on EOF, which ends the stream.
    c.sock.end();
    // The request did reach the backend.
    expect(await pollValue(() => silent.got(), 2000)).toBe("GET something\n".length);
    const log = await waitLog(h, c.localPort(), 3000);
    expect(log, `no tcplog line in stdout:\n${h.stdout()}`).toBeDefined();
    expect(log!.ts).toBe("sD");
    expect(log!.srv).toBe("s1");
    expect(log!.tc).toBeGreaterThanOrEqual(0);
    expect(log!.bytes).toBe(0);
  }, 30_000);

  it("timeout tunnel 1500 overrides client/server 200: idle 600 ms survives, then closed after ~1.5 s idle", async () => {
    const echo = await echoServer();
    const port = await freePort();
    const h = await startProxy(tcpCfg({
      port, srvPort: echo.port, log: true, timeouts: { connect: "5s", client: "200", server: "200", tunnel: "1500" },
    }), [port], v.args);
    const c = client(port);
    expect(await within(c.connected, 5000, -1)).toBeGreaterThan(0);
    await sleep(600);
    expect(c.gotEnd(), "closed during the first 600 ms of idleness (client/server timeout applied?)").toBe(false);
    c.sock.write("x");
    const echoed = await pollValue(() => c.bytes() >= 1, 1000);
    expect(echoed, "the byte sent after 600 ms idle was not echoed").toBe(true);
    expect(c.received().toString()).toBe("x");
    const lastActivity = Date.now();
    const endAt = await within(c.ended, 8000, -1);
    expect(endAt, "the idle tunnel was not closed within 8 s").toBeGreaterThan(0);
    const idle = endAt - lastActivity;
    expect(idle).toBeGreaterThanOrEqual(1000);
    expect(idle).toBeLessThan(5000);
    const log = await waitLog(h, c.localPort(), 3000);
    expect(log, `no tcplog line in stdout:\n${h.stdout()}`).toBeDefined();
    expect(log!.ts).toMatch(/^[cs]D$/);
    expect(log!.tt).toBeGreaterThanOrEqual(1600);
  }, 30_000);
});
