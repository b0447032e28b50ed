/**
 * Memory end to end (RSS from /proc on Linux, `ps` elsewhere): the cost of an idle proxied connection, and backpressure with a
 * backend that reads nothing (buffers are tune.bufsize and bounded: HAProxy's channels never grow).
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, rssKiB, sleep, startHapoll } from "./helpers";
import {
  driverNofile, fdList, holdServer, stableFdCount, startDriver, tcpConfig, waitFdBaseline, waitFor,
} from "./limits-helpers";

afterEach(async () => {
  await cleanup();
});

/** Median of a few RSS samples <gapMs> apart (RSS moves a little as V8 and malloc settle). */
async function rssSample(pid: number, n = 5, gapMs = 100): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    v.push(rssKiB(pid));
    await sleep(gapMs);
  }
  v.sort((a, b) => a - b);
  return v[Math.floor(n / 2)];
}

describe("memory", () => {
  it("2000 idle proxied connections cost < 8 KiB each", async (ctx) => {
    if (driverNofile() < 4500) ctx.skip(`the driver holds 2 x 2000 fds; ulimit -Hn allows ${driverNofile()}`);
    const drv = await startDriver();
    const port = await freePort();
    const cfg = tcpConfig({
      global: ["maxconn 3000"], defaults: ["maxconn 3000"],
      bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${drv.backendPort}`],
    });
    const h = await startHapoll(cfg, { waitPort: port });
    await waitFor(async () => (await drv.call("stats")).live === 0, 3000, "probe to close");
    const fdBase = await stableFdCount(h.pid);

    // Warm-up: connections opened, used and closed, so that code paths are compiled and pools exist.
    for (let round = 0; round < 2; round++) {
      const o = await drv.call("open", { n: 50, port, timeoutMs: 10_000 });
      expect(o.errors).toBe(0);
      await drv.call("waitBackend", { n: 50, timeoutMs: 10_000 });
      const rt = await drv.call("roundtrip", { size: 1000, timeoutMs: 10_000 });
      expect(rt.ok).toBe(50);
      await drv.call("close", { timeoutMs: 5000 });
    }
    await sleep(500);
    const before = await rssSample(h.pid);

    const o = await drv.call("open", { n: 2000, port, timeoutMs: 30_000 });
    expect(o.errors, JSON.stringify(o.errSample)).toBe(0);
    const be = await drv.call("waitBackend", { n: 2000, timeoutMs: 30_000 });
    expect(be.live).toBe(2000);
    await sleep(1000);
    const after = await rssSample(h.pid);
    const perConn = (after - before) / 2000;
    console.log(`idle connections: RSS before ${before} KiB, after 2000 idle proxied connections ${after} KiB ` +
      `=> ${perConn.toFixed(2)} KiB/connection (HAProxy 2.6: ~4.4)`);
    expect(perConn).toBeLessThan(8);

    // They all still work, then everything is released.
    const rt = await drv.call("roundtrip", { size: 64, timeoutMs: 20_000 });
    expect(rt.ok).toBe(2000);
    const closed = await drv.call("close", { timeoutMs: 15_000 });
    expect(closed.live).toBe(0);
    const fds = await waitFdBaseline(h.pid, fdBase, 2000);
    expect(fds, `hapoll fds (baseline ${fdBase})`).toBe(fdBase);
  }, 90_000);

  it("slow reader: 20 MiB toward a backend that reads nothing stalls the client, RSS grows < 4 MiB", async () => {
    const sink = await holdServer({ sink: true });
    const port = await freePort();
    const cfg = tcpConfig({ bind: `127.0.0.1:${port}`, servers: [`127.0.0.1:${sink.port}`] });
    const h = await startHapoll(cfg, { waitPort: port });
    // The readiness probe's FIN is never read by the sink: cut it so that it does not linger.
    await sleep(300);
    for (const s of sink.sockets) s.destroy();
    await waitFor(() => sink.live() === 0, 3000, "probe to close");
    const fdBase = await stableFdCount(h.pid);
    await sleep(300);
    const before = await rssSample(h.pid);

    const TOTAL = 20 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const c = net.connect({ port, host: "127.0.0.1" });
    c.on("error", () => {});
    await new Promise<void>((r) => c.once("connect", () => r()));
    let acked = 0;
    let queued = 0;
    let maxRss = before;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, rssKiB(h.pid));
      } catch {
        /* gone */
      }
    }, 25);
    const t0 = Date.now();
    // Write as fast as the socket takes it, for at most 4 s.
    while (queued < TOTAL && Date.now() - t0 < 4000) {
      queued += chunk.length;
      const ok = c.write(chunk, (e) => {
        if (!e) acked += chunk.length;
      });
      if (!ok) await Promise.race([new Promise((r) => c.once("drain", r)), sleep(Math.max(1, 4000 - (Date.now() - t0)))]);
    }
    await sleep(Math.max(0, 4000 - (Date.now() - t0)));
    clearInterval(sampler);
    const growth = maxRss - before;
    console.log(`slow reader: client pushed ${(acked / 1048576).toFixed(2)} MiB of 20 MiB in 4 s; ` +
      `hapoll RSS ${before} KiB -> peak ${maxRss} KiB (+${growth} KiB)`);
    expect(sink.accepted(), "the backend got the connection").toBeGreaterThanOrEqual(1);
    expect(acked, "the client's writes stall").toBeLessThan(TOTAL);
    expect(growth, "hapoll RSS growth (KiB)").toBeLessThan(4096);
    expect(h.proc.exitCode).toBe(null);

    c.destroy();
    for (const s of sink.sockets) s.destroy();
    await waitFor(() => sink.live() === 0, 3000, "sink connection to close");
    const fds = await waitFdBaseline(h.pid, fdBase, 2000);
    expect(fds, `hapoll fds (baseline ${fdBase}): ${fdList(h.pid)}`).toBe(fdBase);
  }, 60_000);
});
