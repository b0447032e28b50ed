/**
 * ACLs and tcp-request rules end to end, side by side: each scenario runs against hapoll, HAProxy
 * 1.8.0 (the reference build) and HAProxy 2.6 when they are installed, with the same config.
 * Loopback only (several 127.0.0.x source addresses), every wait bounded.
 */
import { describe, it, expect, afterAll, beforeAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { cleanup, freePort, sleep, startHapoll, tmpDir, waitListen } from "./helpers";

const HAPROXY18 = "/root/.cache/hapoll-peers/haproxy-1.8.0/haproxy";
const HAPROXY26 = "/usr/sbin/haproxy";
const IMPLS: { name: string; bin: string | null }[] = [{ name: "hapoll", bin: null }];
for (const [name, bin] of [["haproxy-1.8.0", HAPROXY18], ["haproxy-2.6", HAPROXY26]]) {
  if (fs.existsSync(bin)) IMPLS.push({ name, bin });
  else console.log(`acl e2e: ${name} not found at ${bin}, its side of the comparison is skipped`);
}

const peers: ChildProcess[] = [];
afterAll(async () => {
  for (const p of peers) p.kill("SIGKILL");
  await cleanup();
});

/** Starts implementation <impl> on <cfg> and waits for <port>. */
async function start(impl: { name: string; bin: string | null }, cfg: string, port: number): Promise<void> {
  if (impl.bin === null) {
    await startHapoll(cfg, { waitPort: port });
    return;
  }
  const f = path.join(tmpDir(), "haproxy.cfg");
  fs.writeFileSync(f, cfg);
  const p = spawn(impl.bin, ["-db", "-f", f], { stdio: ["ignore", "ignore", "pipe"] });
  peers.push(p);
  await waitListen(port, 5000);
}

/** Stops the last peer started (hapoll instances are cleaned at the end). */
function stopPeers(): void {
  while (peers.length) peers.pop()!.kill("SIGKILL");
}

/** A backend recording what each connection sent, replying <tag> on connect. */
async function recorder(tag: string): Promise<{ port: number; got: Buffer[]; server: net.Server }> {
  const got: Buffer[] = [];
  const server = net.createServer((c) => {
    const idx = got.push(Buffer.alloc(0)) - 1;
    c.on("data", (d) => (got[idx] = Buffer.concat([got[idx], d])));
    c.on("error", () => {});
    c.write(tag);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, got, server };
}

/** Connects from <local>, sends <data>, returns what came back and how the connection ended. */
function exchange(port: number, local: string, data: Buffer | null, ms = 3000): Promise<{ reply: string; how: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = net.connect({ port, host: "127.0.0.1", localAddress: local });
    let reply = "";
    const done = (how: string) => {
      clearTimeout(timer);
      c.destroy();
      resolve({ reply, how, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => done("timeout"), ms);
    c.on("connect", () => { if (data) c.write(data); });
    c.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.length >= 2) done("data");
    });
    c.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? "error"));
    c.on("end", () => done("end"));
  });
}

const DEFAULTS = "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n";

describe.each(IMPLS)("ACL rules on $name", (impl) => {
  let A: Awaited<ReturnType<typeof recorder>>;
  let B: Awaited<ReturnType<typeof recorder>>;
  let D: Awaited<ReturnType<typeof recorder>>;
  beforeAll(async () => {
    A = await recorder("A:");
    B = await recorder("B:");
    D = await recorder("D:");
  });
  afterAll(() => {
    stopPeers();
    for (const r of [A, B, D]) r.server.close();
  });
  const backends = () =>
    `backend bk_a\n  server a 127.0.0.1:${A.port}\nbackend bk_b\n  server b 127.0.0.1:${B.port}\nbackend bk_d\n  server d 127.0.0.1:${D.port}\n`;

  it("tcp-request connection reject by address, network and file, from several 127.0.0.x sources", async () => {
    const port = await freePort();
    const list = path.join(tmpDir(), "blocklist");
    fs.writeFileSync(list, "# blocked hosts\n127.0.0.5\n\n127.0.0.64/26\n");
    await start(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
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
    stopPeers();
  }, 30_000);

  it("routes TLS by SNI from real ClientHellos (case-insensitive, default backend), forwarding byte-exact", async () => {
    const port = await freePort();
    await start(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n  tcp-request inspect-delay 5s\n` +
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
    stopPeers();
  }, 30_000);

  it("payload routing with inspect-delay: an early match goes at once, no match waits the delay, WAIT_END", async () => {
    const port = await freePort();
    await start(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n  tcp-request inspect-delay 700ms\n` +
      "  tcp-request content accept if { req.payload(0,4) -m bin 5353482d }\n  tcp-request content accept if WAIT_END\n" +
      `  use_backend bk_a if { req.payload(0,4) -m bin 5353482d }\n  default_backend bk_d\n${backends()}`, port);
    const ssh = await exchange(port, "127.0.0.1", Buffer.from("SSH-2.0-test\r\n"));
    expect(ssh.reply).toBe("A:");
    expect(ssh.ms).toBeLessThan(500);
    const other = await exchange(port, "127.0.0.1", Buffer.from("GET / HTTP/1.0\r\n"));
    expect(other.reply).toBe("D:");
    expect(other.ms).toBeGreaterThanOrEqual(600);
    expect(other.ms).toBeLessThan(2500);
    stopPeers();
  }, 30_000);

  it("rate limiting: sc0_conn_rate over a window rejects, a second source address is unaffected", async () => {
    const port = await freePort();
    await start(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  stick-table type ip size 100k expire 30s store conn_rate(10s),conn_cur\n" +
      "  tcp-request connection track-sc0 src\n  tcp-request connection reject if { sc0_conn_rate gt 3 }\n" +
      `  default_backend bk_d\n${backends()}`, port);
    const seq: string[] = [];
    for (let i = 0; i < 5; i++) seq.push((await exchange(port, "127.0.0.2", null)).how);
    expect(seq).toEqual(["data", "data", "data", "ECONNRESET", "ECONNRESET"]);
    expect((await exchange(port, "127.0.0.3", null)).how).toBe("data");
    stopPeers();
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
