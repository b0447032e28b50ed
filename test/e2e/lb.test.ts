/**
 * Load balancing end to end (HAProxy 1.8: src/lb_fwrr.c, lb_map.c, lb_fwlc.c, lb_fas.c,
 * src/backend.c, src/queue.c): each algorithm's distribution and order over real backends that
 * name themselves, backups, server maxconn with the backend queue and `timeout queue` (sQ), and a
 * server queue limited by maxqueue (SQ). Run under each poller variant. When Debian's haproxy is
 * installed, the roundrobin, weights, static-rr, source and backup cases also run against it with
 * the same configuration and the results are compared.
 */
import { describe, it, expect, afterEach } from "vitest";
import { POLLER_VARIANTS, cleanup, freePort, hasProgram, skipBecause, sleep } from "./helpers";
import { parseTcpLogs, startHaproxy, startProxy, pollValue } from "./net-helpers";
import {
  fetchNames, holdClient, holdClients, lbConfig, namedServers, tally, type LbServer, type NamedServer,
} from "./lb-helpers";

/** `server` lines for <srvs> with per-server options. */
function lines(srvs: NamedServer[], opts: string[] = []): LbServer[] {
  return srvs.map((s, i) => ({ name: s.name, port: s.port, opts: opts[i] ?? "" }));
}

/** The fwrr order of weights 1/2/3 (s3 never twice in a row), as HAProxy 1.8 (and 2.6) give it. */
const FWRR_123 = ["s3", "s2", "s3", "s1", "s3", "s2"];

/** The server `balance source` gives a client address over 3 equal servers: the IPv4 address mod 3. */
function sourcePick(ip: string): string {
  const v = ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
  return `s${(v % 3) + 1}`;
}

describe.each(POLLER_VARIANTS)("load balancing [$name]", (v) => {
  afterEach(async () => {
    await cleanup();
  });

  it("roundrobin: 30 connections over 3 servers go 10 each, in turn", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, balance: "roundrobin", servers: lines(srvs) }), [port], v.args);
    const names = await fetchNames(port, 30);
    expect(tally(names)).toEqual({ s1: 10, s2: 10, s3: 10 });
    // Equal weights: a plain rotation, each server once per round of three.
    for (let i = 0; i < 30; i += 3) expect(new Set(names.slice(i, i + 3)).size).toBe(3);
  });

  it("roundrobin with weights 1/2/3: 60 connections go 10/20/30, spread smoothly as fwrr does", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, servers: lines(srvs, ["weight 1", "weight 2", "weight 3"]) }), [port], v.args);
    const names = await fetchNames(port, 60);
    expect(tally(names)).toEqual({ s1: 10, s2: 20, s3: 30 });
    expect(names.slice(0, 12)).toEqual([...FWRR_123, ...FWRR_123]);
  });

  it("static-rr with weights 1/2/3: 60 connections go 10/20/30 from the server map", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, balance: "static-rr", servers: lines(srvs, ["weight 1", "weight 2", "weight 3"]) }), [port], v.args);
    const names = await fetchNames(port, 60);
    expect(tally(names)).toEqual({ s1: 10, s2: 20, s3: 30 });
    // The map HAProxy builds for 1/2/3 (first declared server first on ties).
    expect(names.slice(0, 6)).toEqual(["s1", "s3", "s2", "s3", "s2", "s3"]);
  });

  it("leastconn: 9 held connections spread 3/3/3; freed slots on s1 get the next ones", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, balance: "leastconn", servers: lines(srvs) }), [port], v.args);
    const held = await holdClients(port, 9);
    const names = await Promise.all(held.map((c) => c.name));
    expect(tally(names)).toEqual({ s1: 3, s2: 3, s3: 3 });
    // Close the three on s1: the next three go there (it is the least loaded until it has 3 again).
    for (const c of held.filter((_, i) => names[i] === "s1")) c.close();
    await sleep(200);
    const more = await holdClients(port, 3);
    expect(await Promise.all(more.map((c) => c.name))).toEqual(["s1", "s1", "s1"]);
  });

  it("first: server 1 is filled to its maxconn before server 2 gets any", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, balance: "first", servers: lines(srvs, ["maxconn 3", "maxconn 3", "maxconn 3"]) }), [port], v.args);
    const held = await holdClients(port, 5);
    expect(await Promise.all(held.map((c) => c.name))).toEqual(["s1", "s1", "s1", "s2", "s2"]);
    // A slot freed on s1 is taken again by s1 (it comes first).
    held[0].close();
    await sleep(200);
    const next = await holdClients(port, 1);
    expect(await next[0].name).toBe("s1");
  });

  it("source: a client address always reaches the same server; 127.0.0.1/.2/.3 spread over all three", async () => {
    const srvs = await namedServers(3);
    const port = await freePort();
    await startProxy(lbConfig({ port, balance: "source", servers: lines(srvs) }), [port], v.args);
    const seen: string[] = [];
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) {
      const names = await fetchNames(port, 6, ip);
      expect(new Set(names).size, `${ip} went to ${names.join(",")}`).toBe(1);
      // HAProxy's map-based source hash: the address as a 32-bit number, modulo the total weight.
      expect(names[0]).toBe(sourcePick(ip));
      seen.push(names[0]);
    }
    expect(new Set(seen).size).toBe(3);
  });

  it("backup: unused while a primary is up; with every primary disabled only the first backup serves", async () => {
    const srvs = await namedServers(4);
    const port = await freePort();
    await startProxy(lbConfig({ port, servers: lines(srvs, ["", "", "backup", "backup"]) }), [port], v.args);
    expect(tally(await fetchNames(port, 20))).toEqual({ s1: 10, s2: 10 });
    const port2 = await freePort();
    await startProxy(lbConfig({ port: port2, servers: lines(srvs, ["disabled", "disabled", "backup", "backup"]) }), [port2], v.args);
    expect(tally(await fetchNames(port2, 10))).toEqual({ s3: 10 });
    // option allbackups: the backups share the load.
    const port3 = await freePort();
    await startProxy(lbConfig({
      port: port3, backend: ["option allbackups"], servers: lines(srvs, ["disabled", "disabled", "backup", "backup"]),
    }), [port3], v.args);
    expect(tally(await fetchNames(port3, 10))).toEqual({ s3: 5, s4: 5 });
  });

  it("no usable server: the client is closed at once, log SC with <NOSRV>", async () => {
    const srvs = await namedServers(2);
    const port = await freePort();
    const h = await startProxy(lbConfig({ port, log: true, servers: lines(srvs, ["disabled", "disabled"]) }), [port], v.args);
    expect(await fetchNames(port, 2)).toEqual(["-", "-"]);
    const logs = await pollValue(() => { const l = parseTcpLogs(h.stdout()); return l.length >= 2 ? l : null; }, 3000);
    expect(logs!.map((l) => `${l.srv} ${l.ts}`)).toEqual(["<NOSRV> SC", "<NOSRV> SC"]);
  });

  it("server maxconn 1: extra clients wait in the backend queue, get the slot in turn, or expire after timeout queue (sQ)", async () => {
    const srvs = await namedServers(1);
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, log: true, defaults: ["timeout queue 400"], servers: lines(srvs, ["maxconn 1"]),
    }), [port], v.args);
    const c0 = holdClient(port);
    expect(await c0.name).toBe("s1");
    // c1 waits for c0's slot, which is freed after 150 ms: c1 is served from the queue.
    const c1 = holdClient(port);
    await sleep(150);
    c0.close();
    expect(await c1.name).toBe("s1");
    // c2 and c3 wait behind c1, which keeps its slot: both expire after ~400 ms, closed by hapoll.
    const t0 = Date.now();
    const c2 = holdClient(port);
    const c3 = holdClient(port);
    expect(await c2.name).toBe("-");
    expect(await c3.name).toBe("-");
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(350);
    expect(waited).toBeLessThan(2500);
    c1.close();
    const logs = await pollValue(() => { const l = parseTcpLogs(h.stdout()); return l.length >= 4 ? l : null; }, 3000);
    expect(logs, h.stdout()).not.toBeNull();
    const byPort = (c: { localPort: () => number }) => logs!.find((l) => l.cp === c.localPort())!;
    const l1 = byPort(c1);
    expect(l1.srv).toBe("s1");
    expect(l1.ts).toBe("--");
    expect(l1.tw).toBeGreaterThanOrEqual(100); // it waited in the queue for c0's slot
    expect(l1.bq).toBe(1); // the backend queue held 1 stream (itself) when it was queued
    for (const c of [c2, c3]) {
      const l = byPort(c);
      expect(l.line).toMatch(/ fe be\/<NOSRV> \d+\/-1\/\d+ 0 sQ /);
      expect(l.tw).toBeGreaterThanOrEqual(350);
    }
    expect([byPort(c2).bq, byPort(c3).bq].sort()).toEqual([1, 2]);
  });

  it("maxqueue: with source hashing a full server queues one stream, the next one is refused (SQ)", async () => {
    const srvs = await namedServers(2);
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, log: true, balance: "source", defaults: ["timeout queue 2s"],
      servers: lines(srvs, ["maxconn 1 maxqueue 1", "maxconn 1 maxqueue 1"]),
    }), [port], v.args);
    // 127.0.0.1 hashes to s2 of two servers.
    const c0 = holdClient(port);
    expect(await c0.name).toBe("s2");
    const c1 = holdClient(port); // queued on s2
    await sleep(100);
    const c2 = holdClient(port); // s2's queue is full: refused at once
    expect(await c2.name).toBe("-");
    c0.close();
    expect(await c1.name).toBe("s2");
    c1.close();
    const logs = await pollValue(() => { const l = parseTcpLogs(h.stdout()); return l.length >= 3 ? l : null; }, 3000);
    const l2 = logs!.find((l) => l.cp === c2.localPort())!;
    // Refused before any queueing or connecting: %Tw and %Tc are -1 (HAProxy 2.6 logs the same line).
    expect(l2.line).toMatch(/ fe be\/s2 -1\/-1\/\d+ 0 SQ \d+\/\d+\/\d+\/1\/0 0\/0$/);
    const l1 = logs!.find((l) => l.cp === c1.localPort())!;
    expect(l1.sq).toBe(1);
  });
});

describe.skipIf(skipBecause(!hasProgram("haproxy"), "lb.test.ts: Debian's haproxy is not installed (apt-get install haproxy)"))("load balancing compared with Debian's haproxy", () => {
  afterEach(async () => {
    await cleanup();
  });

  /**
   * Run <n> sequential connections (from <ip>) through hapoll and through haproxy with the same config.
   * The two proxies run at the same time (each its own port; the servers only answer their name).
   */
  async function both(cfgOf: (port: number) => string, n: number, ip?: string): Promise<{ hapoll: string[]; haproxy: string[] }> {
    const p1 = await freePort();
    const p2 = await freePort();
    const [hapoll, [ha, haproxy]] = await Promise.all([
      startProxy(cfgOf(p1), [p1], []).then(() => fetchNames(p1, n, ip)),
      startHaproxy(cfgOf(p2), [p2]).then(async (h) => [h, await fetchNames(p2, n, ip)] as const),
    ]);
    expect(ha.proc.exitCode).toBeNull();
    return { hapoll, haproxy };
  }

  it("roundrobin over 3 servers: same 30 picks", async () => {
    const srvs = await namedServers(3);
    const r = await both((port) => lbConfig({ port, servers: lines(srvs) }), 30);
    expect(tally(r.haproxy)).toEqual({ s1: 10, s2: 10, s3: 10 });
    expect(r.hapoll).toEqual(r.haproxy);
  });

  it("weights 1/2/3 (roundrobin): same 60 picks, 10/20/30", async () => {
    const srvs = await namedServers(3);
    const r = await both((port) => lbConfig({ port, servers: lines(srvs, ["weight 1", "weight 2", "weight 3"]) }), 60);
    expect(tally(r.haproxy)).toEqual({ s1: 10, s2: 20, s3: 30 });
    expect(r.hapoll).toEqual(r.haproxy);
  });

  it("weights 1/2/3 (static-rr): same picks", async () => {
    const srvs = await namedServers(3);
    const r = await both((port) => lbConfig({ port, balance: "static-rr", servers: lines(srvs, ["weight 1", "weight 2", "weight 3"]) }), 24);
    expect(r.hapoll).toEqual(r.haproxy);
  });

  it("source from 127.0.0.1/.2/.3: same server for each address", async () => {
    const srvs = await namedServers(3);
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) {
      const r = await both((port) => lbConfig({ port, balance: "source", servers: lines(srvs) }), 3, ip);
      expect(r.hapoll).toEqual(r.haproxy);
    }
  });

  it("backup: same picks with primaries up, with primaries disabled, and with option allbackups", async () => {
    const srvs = await namedServers(4);
    const up = await both((port) => lbConfig({ port, servers: lines(srvs, ["", "", "backup", "backup"]) }), 12);
    expect(up.hapoll).toEqual(up.haproxy);
    expect(tally(up.haproxy)).toEqual({ s1: 6, s2: 6 });
    const down = await both((port) => lbConfig({ port, servers: lines(srvs, ["disabled", "disabled", "backup", "backup"]) }), 6);
    expect(down.hapoll).toEqual(down.haproxy);
    expect(tally(down.haproxy)).toEqual({ s3: 6 });
    const all = await both((port) => lbConfig({
      port, backend: ["option allbackups"], servers: lines(srvs, ["disabled", "disabled", "backup weight 2", "backup"]),
    }), 9);
    expect(all.hapoll).toEqual(all.haproxy);
    expect(tally(all.haproxy)).toEqual({ s3: 6, s4: 3 });
  });
});
