/**
 * Security and bad input end to end: client data never reaches hapoll's output (tcplog on stdout,
 * stderr and a UDP syslog target, -d debug lines, -V, SIGHUP/SIGQUIT dumps, error paths); binding
 * a privileged port as an unprivileged user, or a taken port, fails with a clear alert naming the
 * address; configurations that hapoll accepts never crash it with a JavaScript stack trace.
 * (The stats socket lands on another branch: not covered here.)
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, cleanup, freePort, HAS_PROC, hasProgram, sleep, startHapoll } from "./helpers";
import { isListening, runHapollFull, startProxy, tcpCfg, within } from "./net-helpers";
import { faultBackend, transfer } from "./fault-helpers";

afterEach(async () => {
  await cleanup();
});

/** A JavaScript stack trace line ("    at fn (file.js:1:2)"). */
const STACK = /^\s+at .*(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

describe("client data never reaches the logs", () => {
  it("a unique marker sent both ways (tcplog on stdout + stderr + UDP syslog, -d, -V, SIGHUP, SIGQUIT, error paths) never appears", async () => {
    const marker = `MARKER-${crypto.randomBytes(12).toString("hex")}`;
    const hexMarker = Buffer.from(marker).toString("hex");
    const b64Marker = Buffer.from(marker).toString("base64");
    // a syslog receiver
    const udp = dgram.createSocket("udp4");
    const datagrams: Buffer[] = [];
    udp.on("message", (m) => datagrams.push(m));
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    const udpPort = (udp.address() as net.AddressInfo).port;
    try {
      // the backend answers with the marker too (server -> client direction)
      const be = net.createServer({ allowHalfOpen: true }, (s) => {
        s.on("error", () => {});
        s.on("data", (d) => s.write(Buffer.concat([d, Buffer.from(`<${marker}>`)])));
        s.on("end", () => s.end());
      });
      await new Promise<void>((r) => be.listen(0, "127.0.0.1", r));
      const bePort = (be.address() as net.AddressInfo).port;
      const deadPort = await freePort(); // nothing listens: the error path (SC)
      const port = await freePort();
      const port2 = await freePort();
      const cfg = [
        "global", "    maxconn 100", `    log 127.0.0.1:${udpPort} local0 debug`, "    log stderr format raw local1 debug",
        "defaults", "    mode tcp", "    log global", "    option tcplog", "    timeout connect 500", "    timeout client 2s",
        "    timeout server 2s", "    retries 0",
        "listen ok", `    bind 127.0.0.1:${port}`, "    log stdout format raw local0", `    server s1 127.0.0.1:${bePort}`,
        "listen broken", `    bind 127.0.0.1:${port2}`, `    server s1 127.0.0.1:${deadPort}`, "",
      ].join("\n");
      const h = await startProxy(cfg, [port, port2], ["-d", "-V"]);
      const payloads = [
        Buffer.from(marker), Buffer.from(`GET /${marker} HTTP/1.0\r\nHost: ${marker}\r\n\r\n`),
        Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(marker), Buffer.alloc(70_000, 0x41)]),
        Buffer.from(`${marker}\n[ALERT]    (1) : fake log line ${marker}\n`),
      ];
      let echoed = 0;
      for (const p of payloads) {
        const got = await new Promise<Buffer>((resolve) => {
          const chunks: Buffer[] = [];
          const c = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
          c.on("connect", () => c.end(p));
          c.on("data", (d) => chunks.push(d));
          c.on("error", () => {});
          c.on("close", () => resolve(Buffer.concat(chunks)));
        });
        expect(got.includes(marker), "the marker went through the proxy").toBe(true);
        echoed++;
      }
      // error paths: refused backend, client reset, client timeout
      for (const mode of ["refused", "reset", "timeout"]) {
        await new Promise<void>((resolve) => {
          const c = net.connect({ port: mode === "refused" ? port2 : port, host: "127.0.0.1" });
          c.on("error", () => {});
          c.on("connect", () => {
            c.write(marker);
            if (mode === "reset") setTimeout(() => c.resetAndDestroy(), 100);
          });
          c.on("close", () => resolve());
          setTimeout(() => c.destroy(), 4000);
        });
      }
      process.kill(h.pid, "SIGHUP");
      process.kill(h.pid, "SIGQUIT");
      await sleep(500);
      process.kill(h.pid, "SIGUSR1");
      await within(h.exited, 5000, "timeout");
      be.close();
      const outputs = { stdout: h.stdout(), stderr: h.stderr(), syslog: Buffer.concat(datagrams).toString("latin1") };
      // the logs did record these streams (the test would prove nothing otherwise)
      expect(outputs.stdout).toMatch(/ ok ok\/s1 /);
      expect(outputs.stdout).toMatch(/\.accept\(/);
      expect(datagrams.length, "syslog datagrams").toBeGreaterThan(0);
      expect(outputs.stderr).toMatch(/SIGHUP/);
      for (const [where, text] of Object.entries(outputs)) {
        for (const needle of [marker, marker.slice(0, 16), marker.slice(-16), hexMarker, b64Marker]) {
          expect(text.includes(needle), `${where} contains client data (${needle})`).toBe(false);
        }
      }
      expect(echoed).toBe(payloads.length);
    } finally {
      udp.close();
    }
  }, 30_000);

  it("--trace does not dump payload bytes either", async () => {
    const marker = `TRACEMARK-${crypto.randomBytes(8).toString("hex")}`;
    const be = await faultBackend();
    const port = await freePort();
    const h = await startProxy(tcpCfg({ port, srvPort: be.port, log: true }), [port], ["--trace"]);
    const c = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    await new Promise<void>((r) => c.on("connect", () => r()));
    c.end(`#0000001${marker}`);
    await new Promise<void>((r) => c.on("close", () => r()).on("data", () => {}).on("end", () => c.end()));
    await sleep(200);
    expect(h.stdout().length, "trace output").toBeGreaterThan(0);
    expect(h.stdout() + h.stderr()).not.toContain(marker);
    expect(h.stdout() + h.stderr()).not.toContain(marker.slice(-12));
  }, 20_000);
});

describe("binding errors name the address", () => {
  /** A directory and config nobody can read (mkdtemp dirs are 0700 root). */
  function worldReadableCfg(text: string): { dir: string; file: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-sec-"));
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, "p.cfg");
    fs.writeFileSync(file, text);
    fs.chmodSync(file, 0o644);
    return { dir, file };
  }

  it("an unprivileged user binding 127.0.0.1:80 gets 'cannot bind socket [127.0.0.1:80]' and exit 1", (ctx) => {
    if (process.getuid?.() !== 0 || !hasProgram("setpriv")) ctx.skip("needs root and setpriv (util-linux) to drop to nobody");
    if (!HAS_PROC) ctx.skip("the privileged-port limit is read from /proc/sys (Linux)");
    const unpriv = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
    if (unpriv <= 80) ctx.skip(`port 80 is not privileged on this host (ip_unprivileged_port_start = ${unpriv})`);
    const { dir, file } = worldReadableCfg([
      "defaults", "    mode tcp", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
      "listen px", "    bind 127.0.0.1:80", "    server s1 127.0.0.1:9", "",
    ].join("\n"));
    try {
      const who = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "id", "-u"], { encoding: "utf8" });
      if (who.status !== 0) ctx.skip(`setpriv cannot switch to nobody here: ${who.stderr.trim()}`);
      expect(who.stdout.trim()).not.toBe("0");
      const r = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, BIN, "-f", file],
        { encoding: "utf8", timeout: 10_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^\[ALERT\] {4}\(\d+\) : Starting proxy px: cannot bind socket.*\[127\.0\.0\.1:80\]$/m);
      expect(r.stderr).not.toMatch(STACK);
      expect(isListening(80)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.for([
    ["IPv4", "127.0.0.1", (p: number) => `127.0.0.1:${p}`],
    ["IPv6", "::1", (p: number) => `[::1]:${p}`],
  ] as [string, string, (p: number) => string][])("a taken %s port: exit 1 with an alert naming the address, the holder keeps serving", async ([fam, host, label], ctx) => {
    const holder = net.createServer((s) => s.end("holder\n"));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.once("error", reject);
        holder.listen(0, host, () => resolve());
      });
    } catch {
      ctx.skip(`security.test.ts: cannot listen on ${host} here (no ${fam} loopback)`);
    }
    const port = (holder.address() as net.AddressInfo).port;
    const cfg = tcpCfg({ port, srvPort: 9 }).replace(`bind 127.0.0.1:${port}`, `bind ${label(port)}`);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-sec-")), "p.cfg");
    fs.writeFileSync(f, cfg);
    const r = runHapollFull(["-f", f], 10_000);
    expect(r.code, r.stderr).toBe(1);
    const shown = label(port).replace(/[[\]]/g, "");
    const alert = r.stderr.split("\n").find((l) => l.includes("cannot bind socket"));
    expect(alert, r.stderr).toBeDefined();
    expect(alert!).toMatch(/^\[ALERT\] {4}\(\d+\) : Starting proxy px: cannot bind socket/);
    expect(alert!.includes(`[${shown}]`) || alert!.includes(`[${label(port)}]`), alert).toBe(true);
    expect(r.stderr).not.toMatch(STACK);
    // the holder was not disturbed
    const reply = await new Promise<string>((resolve) => {
      let s = "";
      const c = net.connect({ port, host }).on("data", (d) => (s += d)).on("close", () => resolve(s)).on("error", () => resolve("error"));
      setTimeout(() => c.destroy(), 3000);
    });
    expect(reply).toBe("holder\n");
    holder.close();
    fs.rmSync(path.dirname(f), { recursive: true, force: true });
  });
});

describe("bad configuration input never crashes hapoll with a JavaScript stack trace", () => {
  /**
   * What HAProxy does with each: atol() saturates and the value is stored in an int, so
   * 99999999999999999999 becomes -1 (tune.bufsize: "expects a positive integer argument") or a
   * negative maxconn. Either a clean alert + exit 1, or a proxy that starts and serves, is fine;
   * a JavaScript exception is not.
   */
  it.each([
    ["global", "tune.bufsize 99999999999999999999"],
    ["global", "maxconn 99999999999999999999"],
    ["global", "tune.maxpollevents 99999999999999999999"],
    ["global", "tune.bufsize 2147483648"],
    ["listen", "bind 127.0.0.1:PORT2 toString"],
    ["listen", "server s2 127.0.0.1:9 constructor"],
    ["listen", "maxconn 99999999999999999999"],
    ["listen", "backlog 99999999999999999999"],
  ])("%s '%s': alert and exit 1, or starts and proxies a round trip", async (sec, line) => {
    const be = await faultBackend();
    const port = await freePort();
    const port2 = await freePort();
    const l = line.replace("PORT2", String(port2));
    let cfg = tcpCfg({ port, srvPort: be.port, maxconn: 100, extra: sec === "listen" ? [l] : [] });
    if (sec === "global") cfg = cfg.replace("    maxconn 100\n", l.startsWith("maxconn") ? `    ${l}\n` : `    maxconn 100\n    ${l}\n`);
    const h = await startHapoll(cfg);
    const deadline = Date.now() + 10_000;
    while (!isListening(port) && h.proc.exitCode === null && Date.now() < deadline) await sleep(20);
    if (h.proc.exitCode !== null || !isListening(port)) {
      const code = await within(h.exited, 5000, "timeout");
      expect(h.stderr(), "a rejected configuration ends with a clean alert").not.toMatch(STACK);
      expect(h.stderr()).toMatch(/^\[ALERT\]/m);
      expect(code).toBe(1);
      return;
    }
    const t = await transfer(port, 1, 64 * 1024, { deadlineMs: 5000 });
    await sleep(200);
    expect(h.stderr(), "hapoll threw").not.toMatch(STACK);
    expect(h.proc.exitCode, `hapoll died serving the first connection: ${h.stderr().slice(0, 1500)}`).toBe(null);
    expect(t.outcome, `round trip through a proxy started with '${l}'`).toBe("ok");
  }, 30_000);
});
