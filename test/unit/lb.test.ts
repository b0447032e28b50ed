/**
 * Load-balancing algorithms in-process (HAProxy 1.8: src/lb_fwrr.c, lb_map.c, lb_fwlc.c, lb_fas.c,
 * assign_server() of src/backend.c): pick orders, weights, saturated servers, backups, and the
 * state changes a health check makes. The expected orders are HAProxy's (checked against Debian's
 * haproxy 2.6 by test/e2e/lb.test.ts and during development).
 */
import { describe, it, expect, beforeAll } from "vitest";
import { parseConfigFiles } from "../../src/config/cfgparse";
import { global } from "../../src/core/global";
import { native, C } from "../../src/native";
import { sessChangeServer } from "../../src/proxy/lb";
import { assignServer, lbInit, SRV_STATUS_FULL, SRV_STATUS_NOSRV, SRV_STATUS_OK } from "../../src/proxy/backend";
import { Proxy } from "../../src/proxy/proxy";
import { srvSetRunning, srvSetStopped } from "../../src/proxy/server_state";
import { Server } from "../../src/proxy/server";
import { SF_ASSIGNED } from "../../src/types/stream-t";
import { type Stream } from "../../src/proxy/stream";
import { serverCheckInit } from "../../src/proxy/checks";

beforeAll(() => {
  // State changes print 1.8's messages on stderr: keep the test output clean.
  global.quiet = true;
});

/** A backend "be" with <servers> lines ("name opts..."), built as main.ts builds it. */
function backend(balance: string, servers: string[], extra: string[] = []): Proxy {
  const text = [
    "backend be", `  balance ${balance}`, ...extra.map((l) => `  ${l}`),
    ...servers.map((s, i) => {
      const [name, ...opts] = s.split(" ");
      return `  server ${name} 127.0.0.1:${10001 + i} ${opts.join(" ")}`;
    }),
  ].join("\n");
  const r = parseConfigFiles([{ name: "lb.cfg", text }], { pid: 1 });
  expect(r.fatal, r.diags.map((d) => d.msg).join("\n")).toBeFalsy();
  const pc = r.config.proxies[0];
  const p = new Proxy(pc, 1);
  pc.servers.forEach((sc, i) => {
    const s = new Server(sc, p, i + 1);
    serverCheckInit(s);
    p.servers.push(s);
  });
  lbInit(p);
  return p;
}

/** The fields of a stream assign_server() reads and writes. */
function stream(be: Proxy, ip = "127.0.0.1"): Stream {
  const addr = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(ip.includes(":") ? "ipv6" : "ipv4", ip, 40000, addr);
  return { be, flags: 0, target: null, srvConn: null, pendList: null, cliAddr: addr, cliAddrLen: len } as unknown as Stream;
}

/** Assign a server to a fresh stream; "FULL" / "NOSRV" when none. With <hold>, it keeps a slot. */
function pick(be: Proxy, hold = false, ip?: string): string {
  const s = stream(be, ip);
  const r = assignServer(s);
  if (r === SRV_STATUS_FULL) return "FULL";
  if (r === SRV_STATUS_NOSRV) return "NOSRV";
  expect(r).toBe(SRV_STATUS_OK);
  expect(s.flags & SF_ASSIGNED).toBeTruthy();
  if (hold) sessChangeServer(s, s.target);
  held.set(s.target!.id, [...(held.get(s.target!.id) ?? []), s]);
  return s.target!.id;
}
const held = new Map<string, Stream[]>();

function picks(be: Proxy, n: number, hold = false, ip?: string): string[] {
  return Array.from({ length: n }, () => pick(be, hold, ip));
}

function release(name: string): void {
  for (const s of held.get(name) ?? []) sessChangeServer(s, null);
  held.delete(name);
}

function tally(a: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const x of a) t[x] = (t[x] ?? 0) + 1;
  return t;
}

function srv(be: Proxy, name: string): Server {
  return be.servers.find((s) => s.id === name)!;
}

describe("roundrobin (fwrr)", () => {
  it("equal weights rotate s1 s2 s3", () => {
    expect(picks(backend("roundrobin", ["s1", "s2", "s3"]), 9)).toEqual(["s1", "s2", "s3", "s1", "s2", "s3", "s1", "s2", "s3"]);
  });

  it("weights 1/2/3 give HAProxy's smooth order, 10/20/30 over 60", () => {
    const be = backend("roundrobin", ["s1 weight 1", "s2 weight 2", "s3 weight 3"]);
    const p = picks(be, 60);
    expect(p.slice(0, 12)).toEqual(["s3", "s2", "s3", "s1", "s3", "s2", "s3", "s2", "s3", "s1", "s3", "s2"]);
    expect(tally(p)).toEqual({ s1: 10, s2: 20, s3: 30 });
  });

  it("weights 5/3/2 keep their ratio over 100 picks and never give the heavy server 3 turns in a row", () => {
    const p = picks(backend("roundrobin", ["s1 weight 5", "s2 weight 3", "s3 weight 2"]), 100);
    expect(tally(p)).toEqual({ s1: 50, s2: 30, s3: 20 });
    expect(p.join(",")).not.toContain("s1,s1,s1");
  });

  it("weight 0 and disabled servers get nothing", () => {
    expect(tally(picks(backend("roundrobin", ["s1", "s2 weight 0", "s3 disabled"]), 6))).toEqual({ s1: 6 });
  });

  it("skips a saturated server and reports FULL when all are saturated", () => {
    const be = backend("roundrobin", ["s1 maxconn 1", "s2 maxconn 1"]);
    expect(picks(be, 2, true)).toEqual(["s1", "s2"]);
    expect(pick(be)).toBe("FULL");
    release("s1");
    expect(pick(be, true)).toBe("s1");
    release("s1");
    release("s2");
  });

  it("a server back UP catches up on the turns it missed (as HAProxy does)", () => {
    const be = backend("roundrobin", ["s1 check", "s2 check"]);
    expect(picks(be, 6)).toEqual(["s1", "s2", "s1", "s2", "s1", "s2"]);
    srvSetStopped(srv(be, "s2"), "test", null);
    expect(be.srvAct).toBe(1);
    expect(tally(picks(be, 10))).toEqual({ s1: 10 });
    srvSetRunning(srv(be, "s2"), "test", null);
    expect(be.srvAct).toBe(2);
    expect(picks(be, 12)).toEqual(["s2", "s2", "s2", "s2", "s2", "s2", "s2", "s2", "s1", "s2", "s1", "s2"]);
  });

  it("backups: only the first one, unless option allbackups; a primary back UP takes over again", () => {
    const be = backend("roundrobin", ["p1 check", "b1 backup", "b2 backup"]);
    expect(tally(picks(be, 4))).toEqual({ p1: 4 });
    srvSetStopped(srv(be, "p1"), "test", null);
    expect([be.srvAct, be.srvBck]).toEqual([0, 2]);
    expect(tally(picks(be, 4))).toEqual({ b1: 4 });
    srvSetStopped(srv(be, "b1"), "test", null);
    expect(tally(picks(be, 4))).toEqual({ b2: 4 });
    srvSetRunning(srv(be, "p1"), "test", null);
    expect(tally(picks(be, 4))).toEqual({ p1: 4 });
    const all = backend("roundrobin", ["p1 disabled", "b1 backup", "b2 backup"], ["option allbackups"]);
    expect(tally(picks(all, 4))).toEqual({ b1: 2, b2: 2 });
  });

  it("no usable server: NOSRV", () => {
    expect(pick(backend("roundrobin", ["s1 disabled", "b1 backup disabled"]))).toBe("NOSRV");
  });
});

describe("static-rr and source (server map)", () => {
  it("static-rr 1/2/3 walks HAProxy's map: s1 s3 s2 s3 s2 s3; weights are divided by their gcd", () => {
    const seq = ["s1", "s3", "s2", "s3", "s2", "s3"];
    expect(picks(backend("static-rr", ["s1 weight 1", "s2 weight 2", "s3 weight 3"]), 12)).toEqual([...seq, ...seq]);
    const be = backend("static-rr", ["s1 weight 10", "s2 weight 20", "s3 weight 30"]);
    expect(be.lbprm.totWeight).toBe(6);
    expect(picks(be, 6)).toEqual(seq);
  });

  it("equal weights give the map s1 s2 s3 (1.8.0's score bug, which sent all to one server, is not reproduced)", () => {
    expect(picks(backend("static-rr", ["s1", "s2", "s3"]), 6)).toEqual(["s1", "s2", "s3", "s1", "s2", "s3"]);
  });

  it("source: the IPv4 address as a number modulo the map size; sticky; IPv6 words XORed", () => {
    const be = backend("source", ["s1", "s2", "s3"]);
    expect(picks(be, 3, false, "127.0.0.1")).toEqual(["s3", "s3", "s3"]);
    expect(pick(be, false, "127.0.0.2")).toBe("s1");
    expect(pick(be, false, "127.0.0.3")).toBe("s2");
    expect(pick(be, false, "10.0.0.7")).toBe(`s${(0x0a000007 % 3) + 1}`);
    // ::1 -> words 0,0,0,1 -> 1 % 3 = 1 -> s2.
    expect(pick(be, false, "::1")).toBe("s2");
    // One server left: no hashing at all.
    srvSetStopped(srv(be, "s1"), "test", null);
    srvSetStopped(srv(be, "s3"), "test", null);
    expect(pick(be, false, "127.0.0.1")).toBe("s2");
  });
});

describe("leastconn (fwlc) and first (fas)", () => {
  it("leastconn rotates over equally loaded servers and prefers the least loaded", () => {
    const be = backend("leastconn", ["s1", "s2", "s3"]);
    expect(picks(be, 6, true)).toEqual(["s1", "s2", "s3", "s1", "s2", "s3"]);
    release("s2");
    expect(picks(be, 2, true)).toEqual(["s2", "s2"]);
    expect(pick(be, true)).toBe("s1");
    release("s1");
    release("s2");
    release("s3");
  });

  it("leastconn weighs the load: a weight 2 server takes twice the connections", () => {
    const be = backend("leastconn", ["s1 weight 2", "s2 weight 1"]);
    expect(tally(picks(be, 9, true))).toEqual({ s1: 6, s2: 3 });
    release("s1");
    release("s2");
  });

  it("first fills servers by id up to their maxconn; a server without maxconn takes everything", () => {
    const be = backend("first", ["s1 maxconn 2", "s2 maxconn 2", "s3"]);
    expect(picks(be, 6, true)).toEqual(["s1", "s1", "s2", "s2", "s3", "s3"]);
    release("s1");
    expect(pick(be, true)).toBe("s1");
    release("s1");
    release("s2");
    release("s3");
    const byId = backend("first", ["a id 3 maxconn 1", "b id 1 maxconn 1"]);
    expect(picks(byId, 2, true)).toEqual(["b", "a"]);
    expect(pick(byId)).toBe("FULL");
    release("a");
    release("b");
  });
});
