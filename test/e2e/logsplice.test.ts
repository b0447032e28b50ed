/**
 * Syslog over UDP, the "Connect from" line, and kernel splicing (option splice-*): bytes stay exact.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as dgram from "node:dgram";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { cleanup, echoServer, freePort, randomBytes, roundTrip, sleep, startHapoll, waitListen } from "./helpers";

afterEach(cleanup);

/** A UDP syslog collector on 127.0.0.1. */
async function syslogServer(): Promise<{ port: number; lines: string[]; close: () => void }> {
  const sock = dgram.createSocket("udp4");
  const lines: string[] = [];
  sock.on("message", (m) => lines.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return { port: sock.address().port, lines, close: () => sock.close() };
}

describe("logs", () => {
  it("option tcplog sends an RFC3164 line to a UDP syslog target with the termination flags", async () => {
    const sys = await syslogServer();
    try {
      const be = await echoServer();
      const port = await freePort();
      await startHapoll(`global
    log 127.0.0.1:${sys.port} local0
defaults
    log global
    option tcplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen px
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${be.port}
`, { waitPort: port });
      const got = await roundTrip(port, Buffer.from("hello"));
      expect(got.toString()).toBe("hello");
      // "Proxy px started." (start_proxies()), the readiness probe's line, then ours.
      for (let i = 0; i < 100 && sys.lines.length < 3; i++) await sleep(20);
      expect(sys.lines[0]).toMatch(/^<133>.* hapoll\[\d+\]: Proxy px started\.\n$/);
      // The readiness probe of startHapoll is a stream too: take the line with 5 bytes out.
      const line = sys.lines.find((l) => / px px\/s1 \d+\/\d+\/\d+ 5 -- /.test(l));
      expect(line, sys.lines.join("\n")).toBeDefined();
      // <134> = local0 (16) * 8 + info (6)
      expect(line!).toMatch(/^<134>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d hapoll\[\d+\]: 127\.0\.0\.1:\d+ \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] px px\/s1 /);
    } finally {
      sys.close();
    }
  });

  it("without option tcplog a logging proxy sends HAProxy's 'Connect from' line at accept", async () => {
    const sys = await syslogServer();
    try {
      const be = await echoServer();
      const port = await freePort();
      await startHapoll(`defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen px
    log 127.0.0.1:${sys.port} local1 info
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${be.port}
`, { waitPort: port });
      await roundTrip(port, Buffer.from("x"));
      for (let i = 0; i < 100 && sys.lines.length < 2; i++) await sleep(20);
      expect(sys.lines.length).toBeGreaterThan(1);
      // <141> = local1 (17) * 8 + notice (5): HAProxy's start_proxies() line comes first.
      expect(sys.lines[0]).toMatch(/^<141>.* hapoll\[\d+\]: Proxy px started\.\n$/);
      // <142> = local1 (17) * 8 + info (6)
      // HAProxy ends each syslog datagram with a newline.
      expect(sys.lines[1]).toMatch(/^<142>.* hapoll\[\d+\]: Connect from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(px\/TCP\)\n$/);
    } finally {
      sys.close();
    }
  });
});

/** A sink that hashes everything it receives and reports it when the client half-closes. */
async function hashSink(): Promise<{ port: number; done: Promise<{ bytes: number; sha: string }> }> {
  let resolve!: (v: { bytes: number; sha: string }) => void;
  const done = new Promise<{ bytes: number; sha: string }>((r) => (resolve = r));
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    const h = crypto.createHash("sha256");
    let n = 0;
    s.on("data", (d) => {
      h.update(d);
      n += d.length;
    });
    s.on("end", () => {
      resolve({ bytes: n, sha: h.digest("hex") });
      s.end();
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return { port, done };
}

describe.each(["splice-auto", "splice-request", "splice-response"])("option %s", (opt) => {
  it("forwards 32 MiB each way byte-exact", async () => {
    const up = randomBytes(32 * 1024 * 1024, 7);
    // No waitPort here: its probe connection would reach the sink before the real transfer.
    const sink2 = await hashSink();
    const port2 = await freePort();
    await startHapoll(`defaults
    timeout connect 1s
    timeout client 20s
    timeout server 20s
listen up
    bind 127.0.0.1:${port2}
    option ${opt}
    server s1 127.0.0.1:${sink2.port}
`);
    await waitListen(port2);
    const c = net.connect({ port: port2, host: "127.0.0.1" });
    await new Promise<void>((r, j) => {
      c.once("connect", () => r());
      c.once("error", j);
    });
    c.end(up);
    const r = await sink2.done;
    c.destroy();
    expect(r.bytes).toBe(up.length);
    expect(r.sha).toBe(crypto.createHash("sha256").update(up).digest("hex"));

    // The other way: the echo backend returns what it receives.
    const be = await echoServer();
    const port3 = await freePort();
    await startHapoll(`defaults
    timeout connect 1s
    timeout client 20s
    timeout server 20s
listen echo
    bind 127.0.0.1:${port3}
    option ${opt}
    server s1 127.0.0.1:${be.port}
`, { waitPort: port3 });
    const back = await roundTrip(port3, up, 30_000);
    expect(back.length).toBe(up.length);
    expect(back.equals(up)).toBe(true);
  }, 60_000);
});
