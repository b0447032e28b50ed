/**
 * Connection limits end to end: listener/frontend maxconn, global maxconn, thousands of
 * simultaneous connections, and a process started under a small fd limit (maxconn derived from it).
 * HAProxy 1.8: listener_accept() / listener_full() / limit_listener() / listener_release()
 * (src/listener.c), maxconn and maxsock sizing in init() (src/haproxy.c).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  cleanup, fdCount, freePort, HAS_PROC, nofileOf, POLLER_VARIANTS, randomBytes, roundTrip, sleep, startHapoll,
} from "./helpers";
import {
  driverNofile, fdList, holdServer, ownNofile, stableFdCount, startDriver, tcpConfig,
  TestClient, waitFdBaseline, waitFor,
} from "./limits-helpers";

afterEach(async () => {
  await cleanup();
});

/** Poller arguments without a `-n <maxconn>` (it would override `global maxconn`). */
function withoutMaxconnArg(args: string[]): string[] {
  const r: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-n") i++;
    else r.push(args[i]);
  }
  return r;
}

/**
 * The common scenario: <total> clients against a proxy allowing <limit> at once. Exactly <limit>
 * reach the backend, the others wait connected in the backlog; closing 2 served clients lets 2
 * waiting ones through; closing everything brings hapoll's fd count back to its baseline.
 */
async function limitScenario(cfgFor: (port: number, bePort: number) => string, args: string[], limit: number, total: number) {
  const be = await holdServer();
  const port = await freePort();
  const h = await startHapoll(cfgFor(port, be.port), { args, waitPort: port });
  // The readiness probe of startHapoll went through to the backend: let it finish.
  await waitFor(() => be.live() === 0, 3000, "the readiness probe to close on the backend");
  const baseline = await stableFdCount(h.pid);
  const acc0 = be.accepted();

  const clients = Array.from({ length: total }, () => TestClient.tcp(port));
  await Promise.all(clients.map((c) => c.waitConnected()));
  clients.forEach((c, i) => c.send(`<${i}>`));
  const isServed = (c: TestClient, i: number) => c.received() >= `<${i}>`.length;
  await waitFor(() => clients.filter(isServed).length >= limit, 5000,
    () => `${limit} served clients (served ${clients.filter(isServed).length}, backend accepted ${be.accepted() - acc0})`);
  // Give hapoll time to (wrongly) serve more.
  await sleep(600);
  let served = clients.filter(isServed);
  const waiting = clients.filter((c, i) => !isServed(c, i));
  expect(be.accepted() - acc0, "backend accepts").toBe(limit);
  expect(be.live(), "live backend connections").toBe(limit);
  expect(served.length, "served clients").toBe(limit);
  clients.forEach((c, i) => {
    if (isServed(c, i)) expect(c.data().toString(), `echo of client ${i}`).toBe(`<${i}>`);
  });
  for (const c of waiting) {
    // Connected at TCP level (in the listener's backlog), not closed, nothing received.
    expect(c.connected).toBe(true);
    expect(c.closed).toBe(false);
    expect(c.error).toBe(null);
    expect(c.received()).toBe(0);
  }

  // Close two served clients: two waiting ones get through.
  served[0].destroy();
  served[1].destroy();
  const expectServed = Math.min(total, limit + 2);
  await waitFor(() => clients.filter(isServed).length >= expectServed, 5000,
    () => `${expectServed} served clients after closing 2 (served ${clients.filter(isServed).length}, backend accepted ${be.accepted() - acc0})`);
  await sleep(600);
  served = clients.filter(isServed);
  expect(served.length).toBe(expectServed);
  expect(be.accepted() - acc0).toBe(expectServed);
  expect(be.live()).toBe(Math.min(limit, total - 2));
  clients.forEach((c, i) => {
    if (isServed(c, i)) expect(c.data().toString()).toBe(`<${i}>`);
    expect(c.error, `client ${i} error`).toBe(null);
  });

  // Close everything: hapoll's fds return to the baseline (fd hygiene).
  for (const c of clients) c.destroy();
  await waitFor(() => be.live() === 0, 3000, "backend connections to close");
  const fds = await waitFdBaseline(h.pid, baseline, 2000);
  expect(fds, `hapoll fds (baseline ${baseline}): ${fdList(h.pid)}`).toBe(baseline);
  expect(h.proc.exitCode).toBe(null);
}

describe.each(POLLER_VARIANTS)("maxconn limits ($name poller)", (v) => {
  it("listen-section maxconn 5: 5 of 8 clients served, the rest wait in the backlog until slots free", async () => {
    await limitScenario(
      (port, bePort) => tcpConfig({ bind: `127.0.0.1:${port}`, listen: ["maxconn 5"], servers: [`127.0.0.1:${bePort}`] }),
      v.args, 5, 8);
  });

  it("global maxconn 4: 4 of 8 clients served, the rest wait until slots free", async () => {
    await limitScenario(
      (port, bePort) => tcpConfig({ global: ["maxconn 4"], bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${bePort}`] }),
      withoutMaxconnArg(v.args), 4, 8);
  });
});

describe("many connections", () => {
  it("3000 simultaneous proxied connections, each doing a round trip (default poller)", async (ctx) => {
    const nofile = driverNofile();
    if (nofile < 6500) ctx.skip(`the client driver needs 2 x 3000 fds (clients + backend); ulimit -Hn allows ${nofile}`);
    const drv = await startDriver();
    const port = await freePort();
    // `maxconn 4000` in defaults too: the per-proxy default (2000) would otherwise hold 1000 back.
    const cfg = tcpConfig({
      global: ["maxconn 4000"], defaults: ["maxconn 4000"],
      bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${drv.backendPort}`],
    });
    const h = await startHapoll(cfg, { waitPort: port });
    await waitFor(async () => (await drv.call("stats")).live === 0, 3000, "probe to close");
    const baseline = await stableFdCount(h.pid);

    const t0 = Date.now();
    const open = await drv.call("open", { n: 3000, port, timeoutMs: 30_000 });
    expect(open.errors, `client errors: ${JSON.stringify(open.errSample)}`).toBe(0);
    expect(open.connected).toBe(3000);
    // All 3000 proxied at the same time: 3000 live backend connections.
    const be = await drv.call("waitBackend", { n: 3000, timeoutMs: 30_000 });
    expect(be.live).toBe(3000);
    expect(fdCount(h.pid)).toBeGreaterThanOrEqual(baseline + 6000);
    const rt = await drv.call("roundtrip", { size: 200, timeoutMs: 30_000 });
    console.log(`3000 connections: opened+proxied in ${Date.now() - t0 - rt.ms} ms, round trips in ${rt.ms} ms`);
    expect(rt).toMatchObject({ clients: 3000, ok: 3000, bad: 0, short: 0, errors: 0 });

    const closed = await drv.call("close", { timeoutMs: 15_000 });
    expect(closed.live).toBe(0);
    const fds = await waitFdBaseline(h.pid, baseline, 2000);
    expect(fds, `hapoll fds (baseline ${baseline})`).toBe(baseline);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);

  it("ulimit -n 256, no maxconn: 300 parallel round trips all served, hapoll survives", async (ctx) => {
    // This process holds 2 fds per client (client + backend side): 600 plus its own.
    if (ownNofile() < 800) ctx.skip(`this process needs 800 fds (2 per client); it has ${ownNofile()}`);
    // A slow backend (answers 400 ms after the request ended) so that the connections overlap and
    // the derived maxconn is really reached: the excess waits in hapoll's listen backlog.
    const be = await holdServer({ delayMs: 400 });
    const port = await freePort();
    const cfg = tcpConfig({ bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${be.port}`] });
    const h = await startHapoll(cfg, { ulimitN: 256, waitPort: port, args: ["-V"] });
    await waitFor(() => be.live() === 0, 3000, "probe to close");
    const baseline = await stableFdCount(h.pid);
    // hapoll's own limit is readable only from /proc (Linux); elsewhere `ulimit -n 256` is trusted.
    const lim = HAS_PROC ? nofileOf(h.pid) : { soft: 256, hard: NaN };
    expect(lim.soft, "hapoll's soft fd limit").toBeLessThanOrEqual(256);
    const note = /setting global\.maxconn to (\d+)/.exec(h.stdout());
    console.log(`ulimit 256: hapoll derived maxconn=${note?.[1] ?? "?"}, fd baseline ${baseline}, limits ${lim.soft}/${lim.hard}`);

    let maxFds = 0;
    let maxBackend = 0;
    const sampler = setInterval(() => {
      try {
        maxFds = Math.max(maxFds, fdCount(h.pid));
      } catch {
        /* exited */
      }
      maxBackend = Math.max(maxBackend, be.live());
    }, 10);
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) =>
      roundTrip(port, randomBytes(2000 + i, i + 1), 60_000)));
    clearInterval(sampler);
    const failed = results.map((r, i) => [r, i] as const).filter(([r, i]) =>
      r.status === "rejected" || !r.value.equals(randomBytes(2000 + i, i + 1)));
    console.log(`ulimit 256: peak hapoll fds ${maxFds}, peak live backend connections ${maxBackend}`);
    expect(failed.map(([r, i]) => `#${i}: ${r.status === "rejected" ? String(r.reason) : `${r.value.length} bytes`}`).slice(0, 10)).toEqual([]);
    expect(h.proc.exitCode, `hapoll died: ${h.stderr()}`).toBe(null);
    expect(h.stderr()).not.toMatch(/Error|\n\s+at |ALERT/);
    const derived = Number(note?.[1] ?? 0);
    expect(derived, "derived maxconn").toBeGreaterThan(0);
    expect(2 * derived, "2 fds per connection fit in 256").toBeLessThan(256);
    // The limit was reached (clients had to wait) and never exceeded.
    expect(maxBackend).toBeLessThanOrEqual(derived);
    expect(maxBackend).toBeGreaterThanOrEqual(Math.floor(derived / 2));
    const fds = await waitFdBaseline(h.pid, baseline, 2000);
    expect(fds, `hapoll fds (baseline ${baseline})`).toBe(baseline);
  }, 90_000);
});
