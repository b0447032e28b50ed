/**
 * ACLs and tcp-request rules end to end, side by side: each scenario runs against hapoll, HAProxy
 * 1.8.0 (the reference build) and HAProxy 2.6 when they are installed, with the same config.
 * Loopback only (several 127.0.0.x source addresses), every wait bounded.
 */
import { describe, it, expect, afterEach, beforeEach } from "vitest";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { cleanup, freePort, sleep, startHapoll, tmpDir } from "./helpers";
import { DEFAULTS, backendsCfg, exchange, impls, recorder, startImpl } from "./rules-helpers";

const IMPLS = impls("acl e2e", ["1.8.0", "2.6"]);

afterEach(cleanup);

describe.each(IMPLS)("ACL rules on $name", (impl) => {
  let A: Awaited<ReturnType<typeof recorder>>;
  let B: Awaited<ReturnType<typeof recorder>>;
  let D: Awaited<ReturnType<typeof recorder>>;
  // Fresh backends for each test (a few ms): the file's afterEach(cleanup) closes them with the proxy.
  beforeEach(async () => {
    A = await recorder("A:");
    B = await recorder("B:");
    D = await recorder("D:");
  });
  const backends = () => backendsCfg({ a: A.port, b: B.port, d: D.port });

  it("tcp-request connection reject by address, network and file, from several 127.0.0.x sources", async () => {
    const port = await freePort();
    const list = path.join(tmpDir(), "blocklist");
    fs.writeFileSync(list, "# blocked hosts\n127.0.0.5\n\n127.0.0.64/26\n");
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  tcp-request connection reject if { src 127.0.0.2 }\n" +
      "  tcp-request connection reject if { src 127.0.0.16/28 }\n" +
      `  tcp-request connection reject if { src -f ${list} }\n` +
      `  default_backend bk_d\n${backends()}`, port);
    const res: Record<string, string> = {};
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.17", "127.0.0.5", "127.0.0.70", "127.0.0.200"]) {
      res[ip] = (await exchange(port, ip, null)).how;
    }
    expect(res).toEqual({
      "127.0.0.1": "data", "127.0.0.2": "ECONNRESET", "127.0.0.3": "data", "127.0.0.17": "ECONNRESET",
      "127.0.0.5": "ECONNRESET", "127.0.0.70": "ECONNRESET", "127.0.0.200": "data",
    });
  }, 30_000);

  it("routes TLS by SNI from real ClientHellos (case-insensitive, default backend), forwarding byte-exact", async () => {
    const port = await freePort();
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n  tcp-request inspect-delay 5s\n` +
      "  tcp-request content accept if { req_ssl_hello_type 1 }\n" +
      "  use_backend bk_a if { req_ssl_sni -i a.example }\n  use_backend bk_b if { req_ssl_sni -i b.example }\n" +
      `  default_backend bk_d\n${backends()}`, port);
    for (const [sni, tag, rec] of [["A.Example", "A:", A], ["b.example", "B:", B], ["other.example", "D:", D]] as const) {
      const before = rec.got.length;
      const sock = tls.connect({ port, host: "127.0.0.1", servername: sni, rejectUnauthorized: false });
      sock.on("error", () => {});
      // the backend is no TLS server: its tag arrives as garbage to the TLS client, what matters is where the hello went
      await new Promise((r) => setTimeout(r, 300));
      sock.destroy();
      expect(rec.got.length, `${sni} went to ${tag}`).toBe(before + 1);
      const hello = rec.got[rec.got.length - 1];
      expect(hello[0]).toBe(0x16);
      expect(hello.includes(Buffer.from(sni))).toBe(true);
    }
    // byte-exact: a recorded real ClientHello followed by more bytes arrives unchanged
    const hello = A.got[A.got.length - 1];
    const payload = Buffer.concat([hello, Buffer.from("after-the-hello")]);
    const before = A.got.length;
    const r = await exchange(port, "127.0.0.1", payload);
    expect(r.reply).toBe("A:");
    await sleep(100);
    expect(A.got.length).toBe(before + 1);
    expect(A.got[A.got.length - 1].equals(payload)).toBe(true);
  }, 30_000);

  // The second rule waits the delay: WAIT_END until it is over; req.len (always "may change" in 1.8)
  // fails its comparison until then. The first rule's 4 bytes, all there, fail at once without waiting.
  it.each(["WAIT_END", "{ req.len gt 100 }"])("payload routing with inspect-delay: an early match goes at once, no match waits the delay (%s)", async (second) => {
    const port = await freePort();
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n  tcp-request inspect-delay 700ms\n` +
      `  tcp-request content accept if { req.payload(0,4) -m bin 5353482d }\n  tcp-request content accept if ${second}\n` +
      `  use_backend bk_a if { req.payload(0,4) -m bin 5353482d }\n  default_backend bk_d\n${backends()}`, port);
    const ssh = await exchange(port, "127.0.0.1", Buffer.from("SSH-2.0-test\r\n"));
    expect(ssh.reply).toBe("A:");
    expect(ssh.ms).toBeLessThan(500);
    const other = await exchange(port, "127.0.0.1", Buffer.from("GET / HTTP/1.0\r\n"));
    expect(other.reply).toBe("D:");
    expect(other.ms).toBeGreaterThanOrEqual(600);
    expect(other.ms).toBeLessThan(2500);
  }, 30_000);

  it("rate limiting: sc0_conn_rate over a window rejects, a second source address is unaffected", async () => {
    const port = await freePort();
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  stick-table type ip size 100k expire 30s store conn_rate(10s),conn_cur\n" +
      "  tcp-request connection track-sc0 src\n  tcp-request connection reject if { sc0_conn_rate gt 3 }\n" +
      `  default_backend bk_d\n${backends()}`, port);
    const seq: string[] = [];
    for (let i = 0; i < 5; i++) seq.push((await exchange(port, "127.0.0.2", null)).how);
    expect(seq).toEqual(["data", "data", "data", "ECONNRESET", "ECONNRESET"]);
    expect((await exchange(port, "127.0.0.3", null)).how).toBe("data");
  }, 30_000);
});

describe("show table / clear table (hapoll)", () => {
  it("lists the tracked source with its counters, and clear table empties unreferenced entries", async () => {
    const port = await freePort();
    const sock = path.join(tmpDir(), "stats.sock");
    const bk = await recorder("K:");
    await startHapoll(`global\n  stats socket ${sock} level admin\n${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  stick-table type ip size 1k expire 30s store conn_cnt,conn_rate(10s)\n  tcp-request connection track-sc0 src\n" +
      `  default_backend bk\nbackend bk\n  server k 127.0.0.1:${bk.port}\n`, { waitPort: port });
    await exchange(port, "127.0.0.4", null);
    await exchange(port, "127.0.0.4", null);
    const ask = (cmd: string) => new Promise<string>((resolve) => {
      let out = "";
      const c = net.connect(sock, () => c.write(cmd + "\n"));
      c.on("data", (d) => (out += d));
      c.on("close", () => resolve(out));
      setTimeout(() => c.destroy(), 2000);
    });
    await sleep(100);
    const t = await ask("show table fe");
    // the readiness probe of startHapoll() connected from 127.0.0.1 first. The rate is 1.8's sliding
    // period: 2 when both connections fall in the current 10 s period, 1 when a period boundary fell
    // between them (the previous period's count is weighted by what remains of the current one).
    expect(t).toMatch(/^# table: fe, type: ip, size:1024, used:2\n0x1: key=127\.0\.0\.1 .*\n0x2: key=127\.0\.0\.4 use=0 exp=\d+ conn_cnt=2 conn_rate\(10000\)=[12]\n/);
    expect((await ask("clear table fe")).trim()).toBe("");
    expect(await ask("show table fe")).toMatch(/used:0\n/);
    bk.server.close();
  }, 20_000);
});
