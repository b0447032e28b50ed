/**
 * Issue 16: `log-tag` in a proxy section (or its defaults) tags every log line of that proxy, the
 * server UP/DOWN and "no server available" lines included; other proxies keep the global tag.
 * A UDP syslog listener in the test receives the lines; HAProxy 1.8.0 (when found, see
 * bench/proxy/peers.js) runs the same configuration and must tag the same messages the same way.
 */
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, isListening, onCleanup, tmpDir, waitFor } from "./helpers";
import { startProxy } from "./net-helpers";

const { locateHaproxy18 } = require("../../bench/proxy/peers.js");
const H18: { bin?: string; reason?: string } = locateHaproxy18();
if (!H18.bin) console.log(`logtag: HAProxy 1.8.0 comparison skipped: ${H18.reason}`);

afterEach(cleanup);

/** A syslog receiver on 127.0.0.1: the lines received, as { tag, msg }. */
async function syslog(): Promise<{ port: number; lines: { tag: string; msg: string }[] }> {
  const sock = dgram.createSocket("udp4");
  const lines: { tag: string; msg: string }[] = [];
  sock.on("message", (m) => {
    // RFC3164 as 1.8 sends it: "<pri>Mmm dd hh:mm:ss tag[pid]: message".
    const r = /^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^[\s]+)\[\d+\]: (.*?)\n?$/s.exec(m.toString());
    lines.push(r ? { tag: r[1], msg: r[2] } : { tag: "?", msg: m.toString() });
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  onCleanup(() => sock.close());
  return { port: sock.address().port, lines };
}

/** The configuration: px (tagged, checked server, tcplog), other (global tag), dflt (tag from defaults). */
function config(logPort: number, ports: number[], srvPort: number, sock: string): string {
  return [
    "global", "    log-tag gtag", `    log 127.0.0.1:${logPort} local0`, `    stats socket ${sock} level admin`,
    "defaults", "    mode tcp", "    log global", "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
    "listen px", "    log-tag pxtag", "    option tcplog", `    bind 127.0.0.1:${ports[0]}`, `    server s1 127.0.0.1:${srvPort} check inter 100 fall 1 rise 1`,
    "listen other", `    bind 127.0.0.1:${ports[1]}`, `    server o1 127.0.0.1:${srvPort}`,
    "defaults", "    mode tcp", "    log global", "    log-tag dtag", "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
    "listen dflt", `    bind 127.0.0.1:${ports[2]}`, `    server d1 127.0.0.1:${srvPort}`, "",
  ].join("\n");
}

/** Run one peer to the end of the scenario and return the tagged lines it logged. */
async function scenario(which: "hapoll" | "1.8.0"): Promise<{ tag: string; msg: string }[]> {
  const log = await syslog();
  const ports = [await freePort(), await freePort(), await freePort()];
  const srvPort = await freePort();
  const dir = tmpDir();
  const cfg = config(log.port, ports, srvPort, `${dir}/s.sock`);
  if (which === "hapoll") await startProxy(cfg, ports, []);
  else {
    fs.writeFileSync(path.join(dir, "p.cfg"), cfg);
    const proc = spawn(H18.bin!, ["-db", "-f", path.join(dir, "p.cfg")], { stdio: "ignore" });
    onCleanup(() => proc.kill("SIGKILL"));
    await waitFor(() => ports.every(isListening), 10_000, "HAProxy 1.8.0 to listen");
  }
  const has = (re: RegExp) => log.lines.some((l) => re.test(l.msg));
  // Nothing listens on the server's port: the first check takes s1 DOWN, px has no server left.
  await waitFor(() => has(/^Server px\/s1 is DOWN/) && has(/^proxy px has no server available!/), 5000, () => `${which}: DOWN logs in ${JSON.stringify(log.lines)}`);
  // The server comes up: the next check takes it UP.
  const srv = net.createServer((s) => s.end());
  await new Promise<void>((r) => srv.listen(srvPort, "127.0.0.1", r));
  onCleanup(() => srv.close());
  await waitFor(() => has(/^Server px\/s1 is UP/), 5000, () => `${which}: UP log in ${JSON.stringify(log.lines)}`);
  // A connection through px: its tcplog line.
  await new Promise<void>((resolve) => {
    const c = net.connect(ports[0], "127.0.0.1", () => c.end());
    c.on("close", () => resolve());
    c.on("error", () => resolve());
  });
  await waitFor(() => has(/ px px\//), 5000, () => `${which}: tcplog line in ${JSON.stringify(log.lines)}`);
  return log.lines;
}

/** The tag of the first line whose message matches <re>. */
function tagOf(lines: { tag: string; msg: string }[], re: RegExp): string | undefined {
  return lines.find((l) => re.test(l.msg))?.tag;
}

const CASES: [string, RegExp][] = [
  ["px started", /^Proxy px started\.$/],
  ["other started", /^Proxy other started\.$/],
  ["dflt started", /^Proxy dflt started\.$/],
  ["s1 DOWN", /^Server px\/s1 is DOWN/],
  ["no server", /^proxy px has no server available!$/],
  ["s1 UP", /^Server px\/s1 is UP/],
  ["tcplog", / px px\//],
];

describe("log-tag in a proxy section", () => {
  it("tags that proxy's lines, server UP/DOWN included; the defaults' tag is inherited; others keep the global tag", async () => {
    const mine = await scenario("hapoll");
    const tags = Object.fromEntries(CASES.map(([n, re]) => [n, tagOf(mine, re)]));
    expect(tags).toEqual({
      "px started": "pxtag", "other started": "gtag", "dflt started": "dtag", "s1 DOWN": "pxtag", "no server": "pxtag",
      "s1 UP": "pxtag", tcplog: "pxtag",
    });
    if (!H18.bin) return; // no reference to compare with: the reason was printed when the file loaded
    const ref = await scenario("1.8.0");
    expect(tags).toEqual(Object.fromEntries(CASES.map(([n, re]) => [n, tagOf(ref, re)])));
  });
});
