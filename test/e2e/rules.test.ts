/**
 * Rules end to end, the parts acl.test.ts does not cover: --trace=rule, stick-table expiry and
 * the conn_rate window, use-server (with a down server), tcp-response content rules with
 * inspect-delay, and `tcp-request connection expect-proxy layer4`. The behaviour tests run each
 * scenario against hapoll and HAProxy 1.8.0 (when installed) with the same config and expect the
 * same observable outcome: bytes received, how the connection ended, `show table` lines.
 * Loopback only (several 127.0.0.x source addresses), every wait bounded.
 */
import { describe, it, expect, afterAll, afterEach } from "vitest";
import * as net from "node:net";
import { cleanup, freePort, waitFor } from "./helpers";
import { DEFAULTS, exchange, impls, recorder, startImpl, stopImpls } from "./rules-helpers";

const IMPLS = impls("rules e2e", ["1.8.0"]);

afterEach(() => stopImpls());
afterAll(async () => {
  await cleanup();
});

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
      `  default_backend bk_d\nbackend bk_a\n  server a 127.0.0.1:${A.port}\nbackend bk_d\n  server d 127.0.0.1:${D.port}\n`;
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
