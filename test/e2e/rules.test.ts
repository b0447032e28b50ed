/**
 * Rules end to end, the parts acl.test.ts does not cover: --trace=rule, stick-table expiry and
 * the conn_rate window, use-server (with a down server), tcp-response content rules with
 * inspect-delay, and `tcp-request connection expect-proxy layer4`. The behaviour tests run each
 * scenario against hapoll and HAProxy 1.8.0 (when installed) with the same config and expect the
 * same observable outcome: bytes received, how the connection ended, `show table` lines.
 * Loopback only (several 127.0.0.x source addresses), every wait bounded.
 */
import { describe, it, expect, afterEach } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { BIN, cleanup, freePort, onCleanup, sleep, tmpDir, waitFor, waitListen } from "./helpers";
import { cliQuery } from "./cli-client";
import { DEFAULTS, backendsCfg, exchange, impls, recorder, startImpl } from "./rules-helpers";

const IMPLS = impls("rules e2e", ["1.8.0"]);

afterEach(cleanup);

describe("--trace=rule (hapoll)", () => {
  it("prints each rule evaluated with its rule set, file:line, the ACL terms' results and the verdict", async () => {
    const port = await freePort();
    const A = await recorder("A:");
    const D = await recorder("D:");
    const cfg = `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  acl is_a req.payload(0,1) -m bin 41\n" +
      "  tcp-request connection reject if { src 127.0.0.2 }\n" +
      "  tcp-request connection accept if { src 127.0.0.0/8 } !{ src 127.0.0.3 }\n" +
      "  tcp-request inspect-delay 3s\n" +
      "  tcp-request content accept if { req.len gt 0 }\n" +
      "  use_backend bk_a if is_a\n" +
      `  default_backend bk_d\n${backendsCfg({ a: A.port, d: D.port })}`;
    const h = (await startImpl(IMPLS[0], cfg, port, ["--trace=rule"]))!;
    const f = h.cfgPath;
    expect((await exchange(port, "127.0.0.2", null)).how).toBe("ECONNRESET");
    expect((await exchange(port, "127.0.0.1", Buffer.from("Ahello"))).reply).toBe("A:");
    // this client waits before sending: the content rule first misses data, then matches
    const slow = await new Promise<string>((resolve) => {
      const c = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.4" });
      c.on("connect", () => setTimeout(() => c.write("Bye"), 300));
      c.on("data", (d) => { c.destroy(); resolve(d.toString()); });
      c.on("error", () => resolve("error"));
      setTimeout(() => { c.destroy(); resolve("timeout"); }, 3000);
    });
    expect(slow).toBe("D:");
    await waitFor(() => /default_backend/.test(h.stdout()), 3000, "the default_backend trace line");
    const lines = h.stdout().split("\n").filter((l) => / rule {5}/.test(l)).map((l) => l.replace(/^\[\s*\d+\] rule {5}/, ""));
    const esc = f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const miss = new RegExp(`^([0-9a-f]{8}) fe tcp-request content ${esc}:12: accept if \\{ req\\.len gt 0 \\} \\| \\{ req\\.len gt 0 \\}=MISS -> missing data, waiting \\(inspect-delay 3000 ms\\)$`);
    // [pattern, optional]: "Ahello" may or may not be in when the stream first analyses its request
    const expected: [RegExp, boolean][] = [
      // 127.0.0.2: the first connection rule rejects, the second is not evaluated
      [new RegExp(`^fd=\\d+ fe tcp-request connection ${esc}:9: reject if \\{ src 127\\.0\\.0\\.2 \\} \\| \\{ src 127\\.0\\.0\\.2 \\}=PASS -> reject$`), false],
      // 127.0.0.1, "Ahello"
      [new RegExp(`^fd=\\d+ fe tcp-request connection ${esc}:9: reject if \\{ src 127\\.0\\.0\\.2 \\} \\| \\{ src 127\\.0\\.0\\.2 \\}=FAIL -> no match$`), false],
      [new RegExp(`^fd=\\d+ fe tcp-request connection ${esc}:10: accept if \\{ src 127\\.0\\.0\\.0/8 \\} !\\{ src 127\\.0\\.0\\.3 \\} \\| \\{ src 127\\.0\\.0\\.0/8 \\}=PASS !\\{ src 127\\.0\\.0\\.3 \\}=PASS -> accept$`), false],
      [miss, true],
      [new RegExp(`^([0-9a-f]{8}) fe tcp-request content ${esc}:12: accept if \\{ req\\.len gt 0 \\} \\| \\{ req\\.len gt 0 \\}=PASS -> accept$`), false],
      [new RegExp(`^([0-9a-f]{8}) fe use_backend ${esc}:13: bk_a if is_a \\| is_a=PASS -> backend bk_a$`), false],
      // 127.0.0.4, "Bye" after 300 ms: the content rule waits (MISS), then matches
      [/^fd=\d+ fe tcp-request connection .*=FAIL -> no match$/, false],
      [/^fd=\d+ fe tcp-request connection .* -> accept$/, false],
      [miss, false],
      [/^([0-9a-f]{8}) fe tcp-request content .*=PASS -> accept$/, false],
      [/^([0-9a-f]{8}) fe use_backend .* is_a=FAIL -> no match$/, false],
      [/^([0-9a-f]{8}) fe default_backend: bk_d -> backend bk_d$/, false],
    ];
    // match the lines in order, skipping an optional pattern that does not match; collect stream ids
    const ids: string[] = [];
    let li = 0;
    for (const [re, optional] of expected) {
      const m = li < lines.length ? re.exec(lines[li]) : null;
      if (m === null && optional) continue;
      expect(lines[li], `line ${li} of\n${lines.join("\n")}`).toMatch(re);
      if (m![1]) ids.push(m![1]);
      li++;
    }
    expect(li, lines.join("\n")).toBe(lines.length);
    // the lines of one stream carry its id; the two streams differ
    const first = ids.slice(0, ids.length - 4);
    const second = ids.slice(ids.length - 4);
    expect(new Set(first).size).toBe(1);
    expect(new Set(second).size).toBe(1);
    expect(first[0]).not.toBe(second[0]);
  }, 30_000);

  it("traces use-server (a matching rule whose server is down goes on) and tcp-response content rules", async () => {
    const port = await freePort();
    const dead = await freePort();
    // the server answers "OK..." at once
    const srv = net.createServer((c) => {
      c.on("error", () => {});
      c.once("data", () => c.end("OK-x"));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    onCleanup(() => srv.close());
    const sport = (srv.address() as net.AddressInfo).port;
    const h = (await startImpl(IMPLS[0], `${DEFAULTS}listen li\n  bind 127.0.0.1:${port}\n` +
      "  use-server s1 if { src 127.0.0.1 }\n  use-server s2 if { src 127.0.0.1 }\n" +
      "  tcp-response inspect-delay 1s\n  tcp-response content accept if { res.payload(0,2) -m bin 4f4b }\n" +
      `  server s1 127.0.0.1:${dead} check inter 100 fall 1 rise 1\n  server s2 127.0.0.1:${sport}\n`, port, ["--trace=rule"]))!;
    await sleep(800); // s1 is found down
    const r = await exchange(port, "127.0.0.1", Buffer.from("hi"), 3000, true);
    expect([r.reply, r.how]).toEqual(["OK-x", "end"]);
    await waitFor(() => /tcp-response content .*-> accept/.test(h.stdout()), 3000, "the tcp-response trace line");
    const lines = h.stdout().split("\n").filter((l) => / rule {5}/.test(l)).map((l) => l.replace(/^\[\s*\d+\] rule {5}[0-9a-f]{8} /, ""));
    const f = h.cfgPath;
    expect(lines.filter((l) => !/=MISS/.test(l))).toEqual([
      `li default_backend: li -> backend li`,
      `li use-server ${f}:8: s1 if { src 127.0.0.1 } | { src 127.0.0.1 }=PASS -> server s1 is down, next rule`,
      `li use-server ${f}:9: s2 if { src 127.0.0.1 } | { src 127.0.0.1 }=PASS -> server s2`,
      `li tcp-response content ${f}:11: accept if { res.payload(0,2) -m bin 4f4b } | { res.payload(0,2) -m bin 4f4b }=PASS -> accept`,
    ]);
  }, 30_000);

  it("prints no rule line when the rule subsystem is not asked for", async () => {
    const port = await freePort();
    const D = await recorder("D:");
    const h = (await startImpl(IMPLS[0], `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  tcp-request connection accept if { src 127.0.0.1 }\n" +
      `  default_backend bk_d\nbackend bk_d\n  server d 127.0.0.1:${D.port}\n`, port, ["--trace=stream"]))!;
    expect((await exchange(port, "127.0.0.1", null)).reply).toBe("D:");
    await waitFor(() => /stream_new/.test(h.stdout()), 3000, "the stream trace line");
    expect(h.stdout()).not.toMatch(/ rule {5}/);
  }, 20_000);
});

describe("hapoll tour --rules", () => {
  /** The tour's step headings ("N. title"), in order. */
  const headings = (out: string) => out.split("\n").filter((l) => l.startsWith("=== ")).map((l) => l.slice(4));
  /** The lines between heading <h> (a prefix of its title) and the next heading. */
  const stepBody = (out: string, h: string) => {
    const lines = out.split("\n");
    const i = lines.findIndex((l) => l.startsWith("=== ") && l.includes(h));
    const j = lines.findIndex((l, k) => k > i && l.startsWith("=== "));
    return i < 0 ? [] : lines.slice(i + 1, j < 0 ? undefined : j);
  };

  it("shows where the rules run, with the rule trace lines of its one connection; the plain tour has no such step", async () => {
    const run = (extra: string[]) => spawnSync(process.execPath, [BIN, "tour", "--port", String(port), "--server-port", String(srv), ...extra],
      { encoding: "utf8", timeout: 30_000 });
    const port = await freePort();
    const srv = await freePort();
    const r = run(["--rules"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("    tcp-request connection accept if { src 127.0.0.1 }\n");
    const h = headings(r.stdout).map((x) => x.replace(/^\d+\. /, "").split("  ")[0]);
    // connection rules between the accept and the stream; content rules inside process_stream, before a server is picked
    const at = (t: string) => h.findIndex((x) => x.startsWith(t));
    expect(at("tcp_exec_l4_rules()")).toBe(at("fd_update_events()") + 1);
    expect(at("session_accept_fd()")).toBe(at("tcp_exec_l4_rules()") + 1);
    expect(at("tcp_inspect_request()")).toBe(at("process_stream()") + 1);
    expect(at("sess_prepare_conn_req()")).toBe(at("tcp_inspect_request()") + 1);
    const l4 = stepBody(r.stdout, "tcp_exec_l4_rules()").filter((l) => / rule {5}/.test(l));
    expect(l4).toHaveLength(2);
    expect(l4[0]).toMatch(/ rule {5}fd=\d+ mysql_1 tcp-request connection \S+:\d+: reject if \{ src 10\.0\.0\.0\/8 \} \| \{ src 10\.0\.0\.0\/8 \}=FAIL -> no match$/);
    expect(l4[1]).toMatch(/ rule {5}fd=\d+ mysql_1 tcp-request connection \S+:\d+: accept if \{ src 127\.0\.0\.1 \} \| \{ src 127\.0\.0\.1 \}=PASS -> accept$/);
    const cont = stepBody(r.stdout, "tcp_inspect_request()").filter((l) => / rule {5}/.test(l));
    // the client's line may or may not be in at the first look: then a MISS comes first
    expect(cont.at(-2)).toMatch(/ rule {5}[0-9a-f]{8} mysql_1 tcp-request content \S+:\d+: accept if \{ req\.len gt 0 \} \| \{ req\.len gt 0 \}=PASS -> accept$/);
    expect(cont.at(-1)).toMatch(/ rule {5}[0-9a-f]{8} mysql_1 default_backend: mysql_1 -> backend mysql_1$/);
    for (const l of cont.slice(0, -2)) expect(l).toMatch(/=MISS -> missing data, waiting \(inspect-delay 2000 ms\)$/);
    const plain = run([]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/ rule {5}|tcp_exec_l4_rules|tcp_inspect_request|tcp-request/);
    expect(headings(plain.stdout)).toHaveLength(h.length - 2);
  }, 60_000);
});

/** The `show table <name>` entry of <key>, its expiry left out (it counts down differently in each run). */
function tableLine(dump: string, key: string): string | null {
  const line = dump.split("\n").find((l) => l.includes(` key=${key} `));
  return line === undefined ? null : line.replace(/^0x[0-9a-f]+: /, "").replace(/ exp=\d+/, " exp=*");
}

/** A PROXY protocol v2 header for TCP over IPv4 (doc/proxy-protocol.txt, section 2.2). */
function proxyV2(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from("0d0a0d0a000d0a515549540a", "hex").copy(b, 0);
  b[12] = 0x21; // version 2, PROXY
  b[13] = 0x11; // AF_INET, STREAM
  b.writeUInt16BE(12, 14);
  src.split(".").forEach((x, i) => (b[16 + i] = Number(x)));
  dst.split(".").forEach((x, i) => (b[20 + i] = Number(x)));
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(dport, 26);
  return b;
}

describe.each(IMPLS)("rules on $name", (impl) => {
  it("stick-table: an entry leaves `show table` after expire, and the conn_rate window resets", async () => {
    const port = await freePort();
    const sock = path.join(tmpDir(), "stats.sock");
    // the backend answers and closes: each stream ends at once and gives its entry back
    const D = net.createServer((c) => {
      c.on("error", () => {});
      c.end("D:");
    });
    await new Promise<void>((r) => D.listen(0, "127.0.0.1", r));
    onCleanup(() => D.close());
    await startImpl(impl, `global\n  stats socket ${sock} level admin\n${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  stick-table type ip size 1k expire 2s store conn_cnt,conn_rate(1s)\n" +
      "  tcp-request connection track-sc0 src\n  tcp-request connection reject if { sc0_conn_rate gt 2 }\n" +
      `  default_backend bk_d\nbackend bk_d\n  server d 127.0.0.1:${(D.address() as net.AddressInfo).port}\n`, port);
    await waitFor(() => fs.existsSync(sock), 5000, "the stats socket");
    const seq: string[] = [];
    for (let i = 0; i < 4; i++) seq.push((await exchange(port, "127.0.0.4", null)).how);
    const lastTouch = Date.now();
    expect(seq).toEqual(["data", "data", "ECONNRESET", "ECONNRESET"]);
    let before = "";
    await waitFor(async () => / use=0 /.test((before = await cliQuery({ path: sock }, "show table fe\n"))), 3000, () => `use=0 in ${before}`, 50);
    expect(before).toMatch(/^# table: fe, type: ip, size:1024, used:1\n/);
    // the rate is 1.8's sliding period: 4 when all four fell in one 1 s period, 3 when a boundary fell between them
    expect(tableLine(before, "127.0.0.4")).toMatch(/^key=127\.0\.0\.4 use=0 exp=\* conn_cnt=4 conn_rate\(1000\)=[34]$/);
    // nothing touches the entry: it leaves once `expire` (2 s, two rate periods) has passed, not before
    let after = "";
    await waitFor(async () => / used:0\n/.test((after = await cliQuery({ path: sock }, "show table fe\n"))), 6000, () => `used:0 in ${after}`, 50);
    expect(Date.now() - lastTouch, "the entry left before its expire").toBeGreaterThanOrEqual(1500);
    expect(after).toMatch(/^# table: fe, type: ip, size:1024, used:0\n/);
    expect(tableLine(after, "127.0.0.4")).toBeNull();
    // a new entry, a new window: accepted again
    expect((await exchange(port, "127.0.0.4", null)).how).toBe("data");
    await sleep(100);
    expect(tableLine(await cliQuery({ path: sock }, "show table fe\n"), "127.0.0.4")).toBe("key=127.0.0.4 use=0 exp=* conn_cnt=1 conn_rate(1000)=1");
  }, 30_000);

  it("use-server with conditions: the first matching rule picks, a down server falls to the next rule or to the balance", async () => {
    const A = await recorder("A:");
    const B = await recorder("B:");
    const D = await recorder("D:");
    const dead = await freePort();
    const rulesCfg = (port: number, s1: string) => `${DEFAULTS}listen li\n  bind 127.0.0.1:${port}\n  balance roundrobin\n` +
      "  use-server s1 if { src 127.0.0.2 }\n  use-server s2 if { src 127.0.0.2 } || { src 127.0.0.3 }\n" +
      `  server s1 ${s1} weight 0\n  server s2 127.0.0.1:${B.port} weight 0\n  server s3 127.0.0.1:${D.port}\n`;
    const port = await freePort();
    await startImpl(impl, rulesCfg(port, `127.0.0.1:${A.port}`), port);
    const got: Record<string, string> = {};
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) got[ip] = (await exchange(port, ip, null)).reply;
    expect(got).toEqual({ "127.0.0.1": "D:", "127.0.0.2": "A:", "127.0.0.3": "B:" });
    // s1 on a port nothing listens on, health-checked: once it is down, 127.0.0.2 goes on to the s2 rule
    const port2 = await freePort();
    await startImpl(impl, rulesCfg(port2, `127.0.0.1:${dead} check inter 100 fall 1 rise 1`), port2);
    await sleep(1000);
    const down: Record<string, string> = {};
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) down[ip] = (await exchange(port2, ip, null)).reply;
    expect(down).toEqual({ "127.0.0.1": "D:", "127.0.0.2": "B:", "127.0.0.3": "B:" });
  }, 30_000);

  it("tcp-response content accept / reject / close with tcp-response inspect-delay", async () => {
    // the server answers what the first request bytes ask for, and keeps its side open
    const srv = net.createServer((c) => {
      c.on("error", () => {});
      c.once("data", (d) => {
        const ask = d.toString();
        if (ask === "ok") c.end("OK-hello");
        else if (ask === "bad") c.write("BAD-secret");
        else if (ask === "cls") c.write("CLS-data");
        else if (ask === "short") c.write("Z");
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    onCleanup(() => srv.close());
    const port = await freePort();
    const port2 = await freePort();
    const sport = (srv.address() as net.AddressInfo).port;
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n  default_backend bk\nbackend bk\n` +
      "  tcp-response inspect-delay 1s\n" +
      "  tcp-response content accept if { res.payload(0,2) -m bin 4f4b }\n" +
      "  tcp-response content reject if { res.payload(0,3) -m bin 424144 }\n" +
      "  tcp-response content close if { res.payload(0,3) -m bin 434c53 }\n" +
      `  server s 127.0.0.1:${sport}\n` +
      // no inspect-delay: a rule missing data waits for the end of the response (here the server timeout)
      `frontend fe2\n  bind 127.0.0.1:${port2}\n  default_backend bk2\nbackend bk2\n  timeout server 1500ms\n` +
      `  tcp-response content accept if { res.payload(0,2) -m bin 4f4b }\n  server s 127.0.0.1:${sport}\n`, port);
    await waitListen(port2, 5000);
    const run = (ask: string) => exchange(port, "127.0.0.1", Buffer.from(ask), 4000, true);
    const ok = await run("ok");
    expect([ok.reply, ok.how]).toEqual(["OK-hello", "end"]);
    // reject: nothing of the response reaches the client, which is closed
    const bad = await run("bad");
    expect(bad.reply).toBe("");
    expect(bad.how).toBe("end");
    // close: what was received is forwarded, then the server side is closed and so is the client's
    const cls = await run("cls");
    expect([cls.reply, cls.how]).toEqual(["CLS-data", "end"]);
    expect(cls.ms).toBeLessThan(900);
    // one byte: every rule misses data until inspect-delay ends, then none matches and it is forwarded
    const short = await exchange(port, "127.0.0.1", Buffer.from("short"), 3000, true);
    expect([short.reply, short.how]).toEqual(["Z", "timeout"]);
    expect(short.firstMs).toBeGreaterThanOrEqual(900);
    expect(short.firstMs).toBeLessThan(2500);
    const nodelay = await exchange(port2, "127.0.0.1", Buffer.from("short"), 4000, true);
    expect([nodelay.reply, nodelay.how]).toEqual(["Z", "end"]);
    expect(nodelay.firstMs).toBeGreaterThanOrEqual(1300);
  }, 30_000);

  it("tcp-request connection expect-proxy layer4: the PROXY v1 / v2 source is what `src` ACLs see", async () => {
    const A = await recorder("A:");
    const D = await recorder("D:");
    const port = await freePort();
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }\n" +
      "  tcp-request content reject if { src 10.1.2.3 }\n" +
      "  use_backend bk_a if { src 192.168.7.0/24 }\n" +
      `  default_backend bk_d\n${backendsCfg({ a: A.port, d: D.port })}`, port);
    const v1 = (src: string) => Buffer.from(`PROXY TCP4 ${src} 127.0.0.1 5555 ${port}\r\nhello`);
    const v2 = (src: string) => Buffer.concat([proxyV2(src, "127.0.0.1", 5555, port), Buffer.from("hello")]);
    const a1 = A.got.length;
    expect((await exchange(port, "127.0.0.1", v1("192.168.7.9"))).reply).toBe("A:");
    expect((await exchange(port, "127.0.0.1", v2("192.168.7.10"))).reply).toBe("A:");
    expect((await exchange(port, "127.0.0.1", v1("172.16.0.1"))).reply).toBe("D:");
    expect((await exchange(port, "127.0.0.1", v2("172.16.0.2"))).reply).toBe("D:");
    expect((await exchange(port, "127.0.0.1", v1("10.1.2.3"), 3000, true)).reply).toBe("");
    expect((await exchange(port, "127.0.0.1", v2("10.1.2.3"), 3000, true)).reply).toBe("");
    await sleep(100);
    // the header is consumed: the backend sees only the data
    expect(A.got.slice(a1).map((b) => b.toString())).toEqual(["hello", "hello"]);
    // from another source the rule does not apply: a header is then data, and src is the real one
    const other = await exchange(port, "127.0.0.2", v1("192.168.7.9"));
    expect(other.reply).toBe("D:");
  }, 30_000);

  it("expect-proxy layer4 after an accept that matched does not apply (the first accept ends the rules)", async () => {
    const A = await recorder("A:");
    const D = await recorder("D:");
    const port = await freePort();
    await startImpl(impl, `${DEFAULTS}frontend fe\n  bind 127.0.0.1:${port}\n` +
      "  tcp-request connection accept if { src 127.0.0.2 }\n" +
      "  tcp-request connection expect-proxy layer4 if { src 127.0.0.0/8 }\n" +
      "  use_backend bk_a if { src 192.168.7.0/24 }\n" +
      `  default_backend bk_d\n${backendsCfg({ a: A.port, d: D.port })}`, port);
    const hdr = `PROXY TCP4 192.168.7.9 127.0.0.1 5555 ${port}\r\n`;
    expect((await exchange(port, "127.0.0.1", Buffer.from(hdr + "one"))).reply).toBe("A:");
    expect((await exchange(port, "127.0.0.2", Buffer.from(hdr + "two"))).reply).toBe("D:");
    await sleep(100);
    expect(A.got.map((x) => x.toString())).toEqual(["one"]);
    expect(D.got.map((x) => x.toString())).toEqual([hdr + "two"]);
  }, 30_000);
});
