/**
 * Issue 16: `-m <MB>` reached at run time. HAProxy 1.8.0 sets RLIMIT_AS and, once allocations fail,
 * closes the connections it cannot allocate a session for (counted in `show info`'s PoolFailed),
 * and goes on. hapoll watches its resident memory instead (V8 cannot live under RLIMIT_AS): this
 * test takes it over the limit for real, with streams whose buffers (tune.bufsize 1 MB) stay full
 * because the backend reads nothing, then checks what a client, the operator and the log see.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, rssKiB, sleep, tmpDir, waitFor } from "./helpers";
import { holdServer } from "./limits-helpers";
import { startProxy } from "./net-helpers";
import { cliQuery, parseInfo, parseStat } from "./cli-client";

afterEach(async () => {
  await cleanup();
});

/** A client that writes <mb> MB (the backend never reads them) and keeps its connection open. */
function filler(port: number, mb: number): { sock: net.Socket; closed: boolean } {
  const f = { sock: net.connect(port, "127.0.0.1"), closed: false };
  const chunk = Buffer.alloc(1 << 20, 0x61);
  f.sock.on("error", () => {});
  f.sock.on("end", () => (f.closed = true));
  f.sock.on("close", () => (f.closed = true));
  f.sock.on("connect", () => {
    for (let i = 0; i < mb; i++) f.sock.write(chunk);
  });
  return f;
}

/** What a new client sees within <ms>: "closed" (no byte received) or "open". */
function fate(port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let got = 0;
    const t = setTimeout(() => {
      s.destroy();
      resolve("open");
    }, ms);
    s.on("connect", () => s.write("hello"));
    s.on("data", (d) => (got += d.length));
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got ? `closed after ${got} bytes` : "closed");
    };
    s.on("end", done);
    s.on("error", done);
    s.on("close", done);
  });
}

describe("-m <MB> at run time", () => {
  it("over the limit: new connections are closed at accept with an alert, PoolFailed counts, live streams and the stats socket go on", async () => {
    const sink = await holdServer({ sink: true });
    const dir = tmpDir();
    const cfg = (port: number) => [
      "global", `    stats socket ${dir}/s${port}.sock level admin`, "    tune.bufsize 1048576", "    maxconn 300",
      "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 60s", "    timeout server 60s",
      "listen px", `    bind 127.0.0.1:${port}`, `    server s1 127.0.0.1:${sink.port}`, "",
    ].join("\n");

    // The start-up footprint, from a first run of the same configuration without a limit.
    const p0 = await freePort();
    const h0 = await startProxy(cfg(p0), [p0], []);
    await sleep(500);
    const base = Math.ceil(rssKiB(h0.pid) / 1024);
    h0.proc.kill("SIGKILL");
    await h0.exited;

    const limit = base + 24;
    const port = await freePort();
    const h = await startProxy(cfg(port), [port], ["-m", String(limit)]);
    const sock = { path: `${dir}/s${port}.sock` };
    // Open streams that each pin a full 1 MB buffer until the watch (once a second) sees the limit.
    const fillers: { sock: net.Socket; closed: boolean }[] = [];
    const deadline = Date.now() + 40_000;
    while (!h.stderr().includes("Memory limit of")) {
      expect(Date.now() < deadline && fillers.length < 150, `no alert after ${fillers.length} streams: RSS ${rssKiB(h.pid)} KiB, limit ${limit} MB\n${h.stderr()}`).toBe(true);
      fillers.push(filler(port, 8));
      await sleep(100);
    }
    expect(h.stderr()).toMatch(new RegExp(`\\[ALERT\\] +\\(${h.pid}\\) : Memory limit of ${limit} MB reached \\(resident: \\d+ MB\\): new connections are closed until memory is freed\\.`));
    const rss = rssKiB(h.pid) / 1024;
    console.log(`-m ${limit}: start-up ${base} MB, limit reached after ${fillers.length} streams, RSS now ${rss.toFixed(0)} MB`);

    // A new client is closed at once, without an answer; the process is alive and still answers.
    expect(await fate(port, 3000)).toBe("closed");
    expect(h.proc.exitCode).toBeNull();
    const info = parseInfo(await cliQuery(sock, "show info\n"));
    expect(info.get("Memmax_MB")).toBe(String(limit));
    expect(Number(info.get("PoolFailed"))).toBeGreaterThanOrEqual(1);
    // The streams already there are still up (none was killed to make room): the frontend counts
    // every filler that was not closed (the last ones may have come after the limit).
    const live = () => fillers.filter((f) => !f.closed).length;
    await waitFor(async () => parseStat(await cliQuery(sock, "show stat\n")).get("px", "FRONTEND").scur === String(live()), 5000, "scur to count the live fillers");
    expect(live()).toBeGreaterThan(fillers.length / 2);
    for (const f of fillers) f.sock.destroy();
    expect(h.proc.exitCode).toBeNull();
  }, 90_000);
});
