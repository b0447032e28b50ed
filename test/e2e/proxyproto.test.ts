/**
 * PROXY protocol end to end (bin/hapoll over loopback): `send-proxy` / `send-proxy-v2` toward a
 * Node backend that decodes the header itself, `accept-proxy` fed by test clients (v1 and v2,
 * split headers, malformed and slow ones), a hapoll -> hapoll chain, and both directions against
 * Debian's HAProxy 2.6 when it is installed.
 */
import * as os from "node:os";
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { anyListening, cleanup, echoServer, hasProgram, skipBecause, randomBytes, sleep, startHapoll, freePort, type Hapoll } from "./helpers";
import { parseTcpLogs, startHaproxy, startProxy, track, pollValue, type TcpLog } from "./net-helpers";

const SIG = Buffer.from("0d0a0d0a000d0a515549540a", "hex");

/* ---- a PROXY header decoder written for the tests, from doc/proxy-protocol.txt ---- */

interface PPInfo {
  version: 1 | 2;
  /** v1: TCP4/TCP6/UNKNOWN; v2: "PROXY"/"LOCAL". */
  kind: string;
  /** v2 family/transport byte. */
  fam?: number;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  /** Header length. */
  len: number;
}

function ip6Text(b: Buffer): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(":");
}

/** Decode a header at the start of <buf>; null when incomplete, throws when invalid. */
function decodePP(buf: Buffer): PPInfo | null {
  if (buf.length >= 6 && buf.toString("latin1", 0, 6) === "PROXY ") {
    const end = buf.indexOf("\r\n");
    if (end < 0) return null;
    const m = /^PROXY (TCP4|TCP6|UNKNOWN)(?: (\S+) (\S+) (\d+) (\d+))?$/.exec(buf.toString("latin1", 0, end));
    if (!m) throw new Error(`bad v1 line ${JSON.stringify(buf.toString("latin1", 0, end))}`);
    return { version: 1, kind: m[1], src: m[2], dst: m[3], sport: m[4] ? Number(m[4]) : undefined, dport: m[5] ? Number(m[5]) : undefined, len: end + 2 };
  }
  if (buf.length < 16) return null;
  if (!buf.subarray(0, 12).equals(SIG)) throw new Error(`not a PROXY header: ${buf.subarray(0, 16).toString("hex")}`);
  const len = 16 + buf.readUInt16BE(14);
  if (buf.length < len) return null;
  const cmd = buf[12];
  const fam = buf[13];
  const info: PPInfo = { version: 2, kind: cmd === 0x21 ? "PROXY" : cmd === 0x20 ? "LOCAL" : `?${cmd}`, fam, len };
  if (cmd === 0x21 && fam === 0x11) {
    Object.assign(info, { src: [...buf.subarray(16, 20)].join("."), dst: [...buf.subarray(20, 24)].join("."), sport: buf.readUInt16BE(24), dport: buf.readUInt16BE(26) });
  } else if (cmd === 0x21 && fam === 0x21) {
    Object.assign(info, { src: ip6Text(buf.subarray(16, 32)), dst: ip6Text(buf.subarray(32, 48)), sport: buf.readUInt16BE(48), dport: buf.readUInt16BE(50) });
  }
  return info;
}

/** A backend that expects a PROXY header, records it and the payload, and echoes the payload. */
async function ppBackend(host = "127.0.0.1"): Promise<{ port: number; got: () => { hdr: PPInfo; payload: Buffer }[]; errors: string[] }> {
  const got: { hdr: PPInfo; payload: Buffer }[] = [];
  const errors: string[] = [];
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    track(s);
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    let hdr: PPInfo | null = null;
    const payload: Buffer[] = [];
    s.on("data", (d) => {
      if (hdr) {
        payload.push(d);
        s.write(d);
        return;
      }
      buf = Buffer.concat([buf, d]);
      try {
        hdr = decodePP(buf);
      } catch (e) {
        errors.push((e as Error).message);
        s.destroy();
        return;
      }
      if (hdr && buf.length > hdr.len) {
        const rest = buf.subarray(hdr.len);
        payload.push(rest);
        s.write(rest);
      }
    });
    s.on("end", () => {
      if (hdr) got.push({ hdr, payload: Buffer.concat(payload) });
      else errors.push(`connection ended without a complete header (${buf.length} bytes)`);
      s.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  track(srv);
  return { port: (srv.address() as net.AddressInfo).port, got: () => got, errors };
}

/** A client that writes <steps> (Buffers, or numbers = pauses in ms), optionally half-closes, and records everything. */
function ppClient(port: number, steps: (Buffer | string | number)[], o: { end?: boolean; host?: string } = {}) {
  const t0 = Date.now();
  const sock = track(net.connect({ port, host: o.host ?? "127.0.0.1", allowHalfOpen: true }));
  const chunks: Buffer[] = [];
  let localPort = 0;
  sock.on("data", (d) => chunks.push(d));
  sock.on("error", () => {});
  // Resolves with the time the proxy closed its side (FIN or reset); our side is then closed too.
  const closed = new Promise<number>((r) => {
    sock.once("end", () => {
      r(Date.now() - t0);
      sock.end();
    });
    sock.once("close", () => r(Date.now() - t0));
  });
  const connected = new Promise<void>((r) => sock.once("connect", () => {
    localPort = sock.localPort ?? 0;
    r();
  }));
  void (async () => {
    await connected;
    for (const st of steps) {
      if (typeof st === "number") await sleep(st);
      else if (!sock.destroyed) sock.write(st);
    }
    if (o.end !== false && !sock.destroyed) sock.end();
  })();
  return { sock, closed, connected, received: () => Buffer.concat(chunks), localPort: () => localPort };
}

/** Whether <port> is listening on some address (the test's ports are free ports: only [::1] or [::] binds them). */
const isListening6 = anyListening;

/** Whether the host has the IPv6 loopback address ::1. */
const hasV6 = Object.values(os.networkInterfaces()).some((l) => (l ?? []).some((a) => a.family === "IPv6" && a.address === "::1"));

const DEFAULTS = (o: { client?: string; tcplog?: boolean; extra?: string[] } = {}) => [
  "global",
  "    maxconn 200",
  "defaults",
  "    mode tcp",
  "    timeout connect 5s",
  `    timeout client ${o.client ?? "30s"}`,
  "    timeout server 30s",
  ...(o.tcplog !== false ? ["    log stdout format raw local0", "    option tcplog"] : []),
  ...(o.extra ?? []).map((l) => `    ${l}`),
];

/** Failure log line of an embryonic session: `ip:port [date] fe/1: message`. */
const HS_LOG_RE = /^(\S+):(\d+) \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] (\S+)\/(\S+): (.*)$/;
function handshakeLogs(text: string): { ip: string; port: number; fe: string; li: string; msg: string }[] {
  const out = [];
  for (const line of text.split("\n")) {
    const m = HS_LOG_RE.exec(line.trim());
    if (m) out.push({ ip: m[1], port: Number(m[2]), fe: m[3], li: m[4], msg: m[5] });
  }
  return out;
}

async function logOf(h: Hapoll | { stdout: () => string }, pred: (l: TcpLog) => boolean, ms = 5000): Promise<TcpLog | undefined> {
  return pollValue(() => parseTcpLogs(h.stdout()).find(pred), ms);
}

describe("PROXY protocol", () => {
  afterEach(async () => {
    await cleanup();
  });

  describe("send-proxy / send-proxy-v2", () => {
    it("send-proxy: the server reads 'PROXY TCP4 <client> <frontend> <cport> <fport>\\r\\n', then the data; the reply comes back", async () => {
      const be = await ppBackend();
      const port = await freePort();
      await startProxy([...DEFAULTS(), "listen fe", `    bind 127.0.0.1:${port}`, `    server s1 127.0.0.1:${be.port} send-proxy`, ""].join("\n"), [port], []);
      const data = randomBytes(200_000, 3);
      const c = ppClient(port, [data]);
      await c.closed;
      expect(c.received().equals(data)).toBe(true);
      expect(be.errors).toEqual([]);
      const g = be.got();
      expect(g.length).toBe(1);
      expect(g[0].hdr).toEqual({ version: 1, kind: "TCP4", src: "127.0.0.1", dst: "127.0.0.1", sport: c.localPort(), dport: port, len: g[0].hdr.len });
      expect(g[0].payload.equals(data)).toBe(true);
    });

    it("send-proxy-v2: a PROXY/TCP4 block (0x21 0x11, 12 address bytes) with the client and frontend addresses", async () => {
      const be = await ppBackend();
      const port = await freePort();
      await startProxy([...DEFAULTS(), "listen fe", `    bind 127.0.0.1:${port}`, `    server s1 127.0.0.1:${be.port} send-proxy-v2`, ""].join("\n"), [port], []);
      const c = ppClient(port, ["hello v2"]);
      await c.closed;
      expect(c.received().toString()).toBe("hello v2");
      const g = be.got();
      expect(be.errors).toEqual([]);
      expect(g[0].hdr).toEqual({ version: 2, kind: "PROXY", fam: 0x11, src: "127.0.0.1", dst: "127.0.0.1", sport: c.localPort(), dport: port, len: 28 });
    });

    it.skipIf(skipBecause(!hasV6, "proxyproto.test.ts: IPv6 loopback (::1) is not usable on this host"))("over ::1: send-proxy sends a TCP6 line and send-proxy-v2 a 0x21 0x21 block", async () => {
      const be = await ppBackend("::1");
      const p1 = await freePort();
      const p2 = await freePort();
      const h = await startHapoll([...DEFAULTS(), "listen f1", `    bind [::1]:${p1}`, `    server s1 [::1]:${be.port} send-proxy`,
        "listen f2", `    bind [::1]:${p2}`, `    server s1 [::1]:${be.port} send-proxy-v2`, ""].join("\n"));
      await pollValue(() => isListening6(p1) && isListening6(p2), 10_000);
      expect(h.proc.exitCode).toBeNull();
      const c1 = ppClient(p1, ["six"], { host: "::1" });
      await c1.closed;
      const c2 = ppClient(p2, ["six-v2"], { host: "::1" });
      await c2.closed;
      expect(c1.received().toString()).toBe("six");
      expect(c2.received().toString()).toBe("six-v2");
      const g = be.got();
      expect(be.errors).toEqual([]);
      expect(g.map((x) => x.hdr)).toEqual([
        { version: 1, kind: "TCP6", src: "::1", dst: "::1", sport: c1.localPort(), dport: p1, len: g[0].hdr.len },
        { version: 2, kind: "PROXY", fam: 0x21, src: "0:0:0:0:0:0:0:1", dst: "0:0:0:0:0:0:0:1", sport: c2.localPort(), dport: p2, len: 52 },
      ]);
    });
  });

  describe("accept-proxy", () => {
    const feCfg = (port: number, srv: string, o: { client?: string; tcplog?: boolean; extra?: string[]; balance?: string } = {}) => [
      ...DEFAULTS(o), "listen fe", `    bind 127.0.0.1:${port} accept-proxy`, ...(o.balance ? [`    balance ${o.balance}`] : []), srv, "",
    ].join("\n");

    it("a v1 header and data in one write: the data is forwarded, the tcplog shows the header's source", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`), [port], []);
      const c = ppClient(port, [Buffer.concat([Buffer.from("PROXY TCP4 192.0.2.7 198.51.100.9 4242 443\r\n"), Buffer.from("payload-1")])]);
      await c.closed;
      expect(c.received().toString()).toBe("payload-1");
      const log = await logOf(h, (l) => l.cp === 4242);
      expect(log, h.stdout()).toBeDefined();
      expect(log!.ci).toBe("192.0.2.7");
      expect(log!.ts).toBe("--");
      expect(log!.bytes).toBe(9);
    });

    it("waits for a header sent one byte every 10 ms, then forwards what follows", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`), [port], []);
      const line = Buffer.from("PROXY TCP4 203.0.113.44 198.51.100.9 5151 80\r\n");
      const steps: (Buffer | number)[] = [];
      for (const byte of line) steps.push(Buffer.from([byte]), 10);
      steps.push(Buffer.from("after"));
      const c = ppClient(port, steps);
      await c.closed;
      expect(c.received().toString()).toBe("after");
      const log = await logOf(h, (l) => l.cp === 5151);
      expect(log?.ci).toBe("203.0.113.44");
      expect(echo.conns()).toBe(1);
    });

    it("v2 TCP4 and TCP6 blocks (with TLVs) give the tcplog the header's source", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`), [port], []);
      const v4 = Buffer.alloc(28 + 7);
      SIG.copy(v4);
      v4[12] = 0x21;
      v4[13] = 0x11;
      v4.writeUInt16BE(12 + 7, 14);
      Buffer.from([10, 9, 8, 7, 10, 0, 0, 1]).copy(v4, 16);
      v4.writeUInt16BE(6001, 24);
      v4.writeUInt16BE(443, 26);
      Buffer.from([0x04, 0x00, 0x04, 0, 0, 0, 0]).copy(v4, 28); // a NOOP TLV
      const v6 = Buffer.alloc(52);
      SIG.copy(v6);
      v6[12] = 0x21;
      v6[13] = 0x21;
      v6.writeUInt16BE(36, 14);
      Buffer.from("20010db8000000000000000000000abc", "hex").copy(v6, 16);
      Buffer.from("20010db8000000000000000000000001", "hex").copy(v6, 32);
      v6.writeUInt16BE(6002, 48);
      v6.writeUInt16BE(443, 50);
      const a = ppClient(port, [v4, "four"]);
      const b = ppClient(port, [v6, "six"]);
      await Promise.all([a.closed, b.closed]);
      expect(a.received().toString()).toBe("four");
      expect(b.received().toString()).toBe("six");
      expect((await logOf(h, (l) => l.cp === 6001))?.ci).toBe("10.9.8.7");
      expect((await logOf(h, (l) => l.cp === 6002))?.ci).toBe("2001:db8::abc");
    });

    it("LOCAL (v2) and UNKNOWN (v1) keep the real client address", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`), [port], []);
      const local = Buffer.alloc(16 + 5);
      SIG.copy(local);
      local[12] = 0x20;
      local.writeUInt16BE(5, 14);
      const a = ppClient(port, [local, "L"]);
      const b = ppClient(port, ["PROXY UNKNOWN\r\nU"]);
      await Promise.all([a.closed, b.closed]);
      expect(a.received().toString()).toBe("L");
      expect(b.received().toString()).toBe("U");
      expect((await logOf(h, (l) => l.cp === a.localPort()))?.ci).toBe("127.0.0.1");
      expect((await logOf(h, (l) => l.cp === b.localPort()))?.ci).toBe("127.0.0.1");
    });

    it("'Connect from' (logging without tcplog) shows the header's source and destination", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`, { tcplog: false, extra: ["log stdout format raw local0"] }), [port], []);
      const c = ppClient(port, ["PROXY TCP4 192.0.2.50 198.51.100.60 7070 8443\r\nx"]);
      await c.closed;
      await pollValue(() => h.stdout().includes("Connect from"), 5000);
      expect(h.stdout()).toContain("Connect from 192.0.2.50:7070 to 198.51.100.60:8443 (fe/TCP)");
    });

    it("balance source hashes the header's address, not the peer's", async () => {
      const seen: string[][] = [[], []];
      const mk = async (i: number) => {
        const srv = net.createServer({ allowHalfOpen: true }, (s) => {
          track(s);
          s.on("error", () => {});
          s.on("data", (d) => seen[i].push(d.toString()));
          s.on("end", () => s.end(`s${i}`));
        });
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        track(srv);
        return (srv.address() as net.AddressInfo).port;
      };
      const b0 = await mk(0);
      const b1 = await mk(1);
      const port = await freePort();
      await startProxy(feCfg(port, `    server s0 127.0.0.1:${b0}\n    server s1 127.0.0.1:${b1}`, { balance: "source" }), [port], []);
      const ask = async (src: string): Promise<string> => {
        const c = ppClient(port, [`PROXY TCP4 ${src} 192.0.2.1 1234 80\r\n${src}`]);
        await c.closed;
        return c.received().toString();
      };
      const first = new Map<string, string>();
      for (let i = 1; i <= 24; i++) first.set(`10.0.0.${i}`, await ask(`10.0.0.${i}`));
      // All the connections come from 127.0.0.1: hashing the peer would send them all to one server.
      expect(new Set(first.values())).toEqual(new Set(["s0", "s1"]));
      // The same header source always lands on the same server.
      for (const [src, srv] of [...first].slice(0, 6)) expect(await ask(src)).toBe(srv);
    });

    it("malformed, truncated, oversized and slow headers close the connection, forward nothing, are logged and counted; the proxy keeps serving", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`, { client: "1s" }), [port], []);
      const v2 = (len: number, body: Buffer) => {
        const x = Buffer.alloc(16);
        SIG.copy(x);
        x[12] = 0x21;
        x[13] = 0x11;
        x.writeUInt16BE(len, 14);
        return Buffer.concat([x, body]);
      };
      const badSig = v2(12, Buffer.alloc(12));
      badSig[6] = 0x0b;
      const cases: { name: string; steps: (Buffer | string | number)[]; end?: boolean; msg: string; slow?: boolean }[] = [
        { name: "garbage", steps: ["GET / HTTP/1.0\r\n\r\n"], end: false, msg: "Received something which does not look like a PROXY protocol header" },
        { name: "truncated v1", steps: ["PROXY TCP4 1.2.3.4 5.6"], msg: "Truncated PROXY protocol header received" },
        { name: "oversized v1", steps: ["PROXY UNKNOWN " + "a".repeat(120) + "\r\nDATA"], end: false, msg: "Received an invalid PROXY protocol header" },
        { name: "bad address", steps: ["PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\nDATA"], end: false, msg: "Received an invalid PROXY protocol header" },
        { name: "unknown protocol", steps: ["PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\nDATA"], end: false, msg: "Received an unhandled protocol in the PROXY protocol header" },
        { name: "bad v2 signature", steps: [badSig, "DATA"], end: false, msg: "Received something which does not look like a PROXY protocol header" },
        { name: "v2 length past the end", steps: [v2(100, Buffer.alloc(12))], msg: "Truncated PROXY protocol header received" },
        { name: "v2 length past the end, client waiting", steps: [v2(100, Buffer.alloc(12))], end: false, slow: true, msg: "Timeout while waiting for PROXY protocol header" },
        { name: "silent client", steps: [], end: false, slow: true, msg: "Timeout while waiting for PROXY protocol header" },
        { name: "empty", steps: [], msg: "Connection closed while waiting for PROXY protocol header" },
      ];
      const runs = cases.map((k) => ({ k, c: ppClient(port, k.steps, { end: k.end }) }));
      for (const { k, c } of runs) {
        const ms = await c.closed;
        expect(c.received().length, k.name).toBe(0);
        if (k.slow) expect(ms, k.name).toBeGreaterThanOrEqual(900);
        else expect(ms, k.name).toBeLessThan(800);
      }
      await pollValue(() => handshakeLogs(h.stdout()).length >= cases.length, 3000);
      const logs = handshakeLogs(h.stdout());
      for (const { k, c } of runs) {
        const l = logs.find((x) => x.port === c.localPort());
        expect(l, `${k.name}: ${h.stdout()}`).toBeDefined();
        expect(l!.ip).toBe("127.0.0.1");
        expect(`${l!.fe}/${l!.li}`).toBe("fe/1");
        expect(l!.msg, k.name).toBe(k.msg);
      }
      expect(echo.conns()).toBe(0);
      expect(parseTcpLogs(h.stdout())).toEqual([]);
      // Still serving.
      const ok = ppClient(port, ["PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\nstill here"]);
      await ok.closed;
      expect(ok.received().toString()).toBe("still here");
      // The counter (SIGQUIT dump).
      h.proc.kill("SIGQUIT");
      await pollValue(() => /failed handshakes/.test(h.stderr()), 3000);
      expect(h.stderr()).toContain(`Frontend fe: ${cases.length} failed handshakes (PROXY protocol), ${cases.length + 1} conns.`);
    });

    it("option dontlognull hides connections that closed before sending anything, not bad headers", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`, { extra: ["option dontlognull"] }), [port], []);
      const empty = ppClient(port, []);
      const bad = ppClient(port, ["HELLO\r\n"], { end: false });
      await Promise.all([empty.closed, bad.closed]);
      await pollValue(() => handshakeLogs(h.stdout()).length >= 1, 3000);
      await sleep(100);
      const logs = handshakeLogs(h.stdout());
      expect(logs.map((l) => l.port)).toEqual([bad.localPort()]);
    });

    it("a soft stop waits for a connection still sending its header, bounded by timeout client", async () => {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startProxy(feCfg(port, `    server s1 127.0.0.1:${echo.port}`, { client: "1500ms" }), [port], []);
      const c = ppClient(port, ["PROXY TCP4 1.2.3.4"], { end: false });
      await c.connected;
      const tConn = Date.now();
      await sleep(100);
      const t0 = Date.now();
      h.proc.kill("SIGUSR1");
      expect(await h.exited).toBe(0);
      // The soft stop waited for the 1500 ms client timeout, counted from the accept (after tConn):
      // measured from the connection, not from the signal, so a slow sleep(100) cannot eat the margin.
      expect(Date.now() - tConn).toBeGreaterThanOrEqual(1400);
      expect(Date.now() - t0).toBeLessThan(5000);
      await c.closed;
      expect(handshakeLogs(h.stdout()).map((l) => l.msg)).toEqual(["Timeout while waiting for PROXY protocol header"]);
    });
  });

  it("chain: client -> hapoll (send-proxy) -> hapoll (accept-proxy, send-proxy-v2) -> server: the far end sees the original client", async () => {
    const be = await ppBackend();
    const pA = await freePort();
    const pB = await freePort();
    const hB = await startProxy([...DEFAULTS(), "listen far", `    bind 127.0.0.1:${pB} accept-proxy`, `    server s1 127.0.0.1:${be.port} send-proxy-v2`, ""].join("\n"), [pB], []);
    const hA = await startProxy([...DEFAULTS(), "listen near", `    bind 127.0.0.1:${pA}`, `    server s1 127.0.0.1:${pB} send-proxy`, ""].join("\n"), [pA], []);
    const data = randomBytes(1 << 20, 9);
    const c = ppClient(pA, [data]);
    await c.closed;
    expect(c.received().equals(data)).toBe(true);
    expect(be.errors).toEqual([]);
    // The header from the far hapoll describes the client's own connection to the near one.
    expect(be.got()[0].hdr).toEqual({ version: 2, kind: "PROXY", fam: 0x11, src: "127.0.0.1", dst: "127.0.0.1", sport: c.localPort(), dport: pA, len: 28 });
    // Both hapolls log the original client port.
    const far = await logOf(hB, (l) => l.fe === "far");
    const near = await logOf(hA, (l) => l.fe === "near");
    expect(near?.cp).toBe(c.localPort());
    expect(far?.cp, hB.stdout()).toBe(c.localPort());
    expect(far?.ci).toBe("127.0.0.1");
    expect(far?.bytes).toBe(data.length);
  });

  describe.skipIf(skipBecause(!hasProgram("haproxy"), "proxyproto.test.ts: Debian's haproxy is not installed (apt-get install haproxy)"))("against HAProxy 2.6", () => {
    const hxCfg = (lines: string[]) => [
      "global", "    log stdout format raw local0", "defaults", "    mode tcp", "    log global", "    option tcplog",
      "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s", ...lines, "",
    ].join("\n");

    it("hapoll send-proxy and send-proxy-v2 -> HAProxy accept-proxy: HAProxy logs the client's address", async () => {
      const echo = await echoServer();
      const [hx1, hx2, p1, p2] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const hx = await startHaproxy(hxCfg([
        "listen hx1", `    bind 127.0.0.1:${hx1} accept-proxy`, `    server s1 127.0.0.1:${echo.port}`,
        "listen hx2", `    bind 127.0.0.1:${hx2} accept-proxy`, `    server s1 127.0.0.1:${echo.port}`,
      ]), [hx1, hx2]);
      await startProxy([...DEFAULTS(), "listen v1", `    bind 127.0.0.1:${p1}`, `    server s1 127.0.0.1:${hx1} send-proxy`,
        "listen v2", `    bind 127.0.0.1:${p2}`, `    server s1 127.0.0.1:${hx2} send-proxy-v2`, ""].join("\n"), [p1, p2], []);
      const a = ppClient(p1, ["through haproxy v1"]);
      const b = ppClient(p2, ["through haproxy v2"]);
      await Promise.all([a.closed, b.closed]);
      expect(a.received().toString()).toBe("through haproxy v1");
      expect(b.received().toString()).toBe("through haproxy v2");
      const la = await logOf(hx, (l) => l.fe === "hx1");
      const lb = await logOf(hx, (l) => l.fe === "hx2");
      expect(la, hx.stdout() + hx.stderr()).toBeDefined();
      expect([la!.ci, la!.cp, la!.ts]).toEqual(["127.0.0.1", a.localPort(), "--"]);
      expect([lb!.ci, lb!.cp, lb!.ts]).toEqual(["127.0.0.1", b.localPort(), "--"]);
    });

    it("HAProxy send-proxy and send-proxy-v2 -> hapoll accept-proxy: hapoll logs the client's address", async () => {
      const echo = await echoServer();
      const [h1, h2, x1, x2] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const hp = await startProxy([...DEFAULTS(), "listen in1", `    bind 127.0.0.1:${h1} accept-proxy`, `    server s1 127.0.0.1:${echo.port}`,
        "listen in2", `    bind 127.0.0.1:${h2} accept-proxy`, `    server s1 127.0.0.1:${echo.port}`, ""].join("\n"), [h1, h2], []);
      await startHaproxy(hxCfg([
        "listen x1", `    bind 127.0.0.1:${x1}`, `    server s1 127.0.0.1:${h1} send-proxy`,
        "listen x2", `    bind 127.0.0.1:${x2}`, `    server s1 127.0.0.1:${h2} send-proxy-v2`,
      ]), [x1, x2]);
      const a = ppClient(x1, ["from haproxy v1"]);
      const b = ppClient(x2, ["from haproxy v2"]);
      await Promise.all([a.closed, b.closed]);
      expect(a.received().toString()).toBe("from haproxy v1");
      expect(b.received().toString()).toBe("from haproxy v2");
      const la = await logOf(hp, (l) => l.fe === "in1");
      const lb = await logOf(hp, (l) => l.fe === "in2");
      expect(la, hp.stdout()).toBeDefined();
      expect([la!.ci, la!.cp, la!.ts]).toEqual(["127.0.0.1", a.localPort(), "--"]);
      expect([lb!.ci, lb!.cp, lb!.ts]).toEqual(["127.0.0.1", b.localPort(), "--"]);
    });
  });
});
