/**
 * Health checks end to end (HAProxy 1.8: src/checks.c, the state changes of src/server.c, the
 * queue moves of src/queue.c): a killed server goes DOWN after `fall` failed checks and gets no
 * traffic, comes back after `rise` passed ones; checked servers start "UP, going down" (a dead one
 * is DOWN after its first check); backups take over only when every primary is down; L4 timeouts;
 * `port`/`addr`; `downinter`/`fastinter`; queued streams moved (or not) when their server goes
 * DOWN; a soft stop is not held up by the check tasks. The messages are 1.8's, on stderr and on the
 * proxy's log target. Run under each poller variant.
 */
import { describe, it, expect, afterEach } from "vitest";
import { POLLER_VARIANTS, cleanup, fdCount, freePort, sleep } from "./helpers";
import { blackholePort, exitWithin, parseTcpLogs, startProxy, pollValue } from "./net-helpers";
import {
  fetchNames, holdClient, lbConfig, linesMatching, namedServer, namedServers, tally, waitUntil,
  type NamedServer,
} from "./lb-helpers";

const W = (pid: number) => `\\[WARNING\\]  \\(${pid}\\) : `;

/**
 * Wait until <re> matches the process' stderr; returns the elapsed ms or -1 (limits-helpers'
 * waitStderr() returns the match and throws instead).
 */
function msUntilStderr(h: { stderr: () => string }, re: RegExp, ms: number): Promise<number> {
  return waitUntil(() => re.test(h.stderr()), ms);
}

function checked(srvs: NamedServer[], opts: string[]): { name: string; port: number; opts: string }[] {
  return srvs.map((s, i) => ({ name: s.name, port: s.port, opts: opts[i] ?? "" }));
}

describe.each(POLLER_VARIANTS)("health checks [$name]", (v) => {
  afterEach(async () => {
    await cleanup();
  });

  it("a killed server is marked DOWN within fall x inter and gets no traffic; it comes back UP after rise x inter", async () => {
    const [s1, s2] = await namedServers(2);
    const port = await freePort();
    const chk = "check inter 200 fall 3 rise 2";
    const h = await startProxy(lbConfig({ port, log: true, servers: checked([s1, s2], [chk, chk]) }), [port], v.args);
    await sleep(500);
    expect(tally(await fetchNames(port, 6))).toEqual({ s1: 3, s2: 3 });

    await s2.kill();
    const down = await msUntilStderr(h, /Server be\/s2 is DOWN/, 4000);
    expect(down, `no DOWN line in stderr:\n${h.stderr()}`).toBeGreaterThan(0);
    // Three failed checks: the next one (<= inter) and two more inter apart.
    expect(down).toBeGreaterThanOrEqual(350);
    expect(down).toBeLessThan(3 * 200 + 1000);
    const re = new RegExp(`^${W(h.pid)}Server be/s2 is DOWN, reason: Layer4 connection problem, ` +
      `info: "(General socket error \\()?Connection refused\\)?", check duration: \\d+ms\\. 1 active and 0 backup servers left\\. ` +
      `0 sessions active, 0 requeued, 0 remaining in queue\\.$`);
    expect(linesMatching(h.stderr(), /is DOWN/), h.stderr()).toHaveLength(1);
    expect(linesMatching(h.stderr(), /is DOWN/)[0]).toMatch(re);
    // The same message goes to the backend's log target (stdout, raw).
    // (stdout is another pipe: its bytes may reach the test after stderr's.)
    const downLog = /^Server be\/s2 is DOWN, reason: Layer4 connection problem, .* 1 active and 0 backup servers left\. /m;
    expect(await pollValue(() => downLog.test(h.stdout()), 2000), h.stdout()).toBe(true);
    expect(tally(await fetchNames(port, 10))).toEqual({ s1: 10 });
    // No client ever reached the dead server: no failed connection in the logs.
    expect(parseTcpLogs(h.stdout()).filter((l) => l.ts !== "--")).toEqual([]);

    await s2.restart();
    const up = await msUntilStderr(h, /Server be\/s2 is UP/, 3000);
    expect(up, `no UP line in stderr:\n${h.stderr()}`).toBeGreaterThan(0);
    expect(up).toBeGreaterThanOrEqual(150);
    expect(up).toBeLessThan(2 * 200 + 1000);
    expect(linesMatching(h.stderr(), /is UP/)[0]).toMatch(new RegExp(`^${W(h.pid)}Server be/s2 is UP, reason: Layer4 check passed, ` +
      `check duration: \\d+ms\\. 2 active and 0 backup servers online\\. 0 sessions requeued, 0 total in queue\\.$`));
    // fwrr places a returning server so that it catches up on the turns it missed (10 picks went to
    // s1 alone): a burst on s2, then the alternation again. HAProxy 2.6 gives the same 12 picks.
    expect(await fetchNames(port, 12)).toEqual(["s2", "s2", "s2", "s2", "s2", "s2", "s2", "s2", "s1", "s2", "s1", "s2"]);
  });

  it("a checked server starts UP-going-down: dead at start, it is DOWN after its first check; no server left alerts", async () => {
    const s1 = await namedServer("s1");
    const deadPort = await freePort();
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, log: true, servers: [
        { name: "s1", port: s1.port, opts: "check inter 1000 fall 3" },
        { name: "s2", port: deadPort, opts: "check inter 1000 fall 3" },
      ],
    }), [port], v.args);
    // One check (started half an inter in, spread by position), far less than fall x inter = 3 s.
    // Counted from the proxy being up, not from its spawn (a loaded machine starts Node slowly).
    const down = await msUntilStderr(h, /Server be\/s2 is DOWN/, 5000);
    expect(down, h.stderr()).toBeGreaterThanOrEqual(0);
    expect(down).toBeLessThan(2500);
    expect(tally(await fetchNames(port, 4))).toEqual({ s1: 4 });

    await s1.kill();
    expect(await msUntilStderr(h, /backend 'be' has no server available!/, 5000)).toBeGreaterThanOrEqual(0);
    expect(h.stderr()).toMatch(new RegExp(`${W(h.pid)}Server be/s1 is DOWN, .* 0 active and 0 backup servers left\\. `));
    expect(h.stderr()).toMatch(new RegExp(`^\\[ALERT\\]    \\(${h.pid}\\) : backend 'be' has no server available!$`, "m"));
    expect(await pollValue(() => /^backend be has no server available!$/m.test(h.stdout()), 2000), h.stdout()).toBe(true);
    expect(await fetchNames(port, 2)).toEqual(["-", "-"]);
    const sc = await pollValue(() => { const l = parseTcpLogs(h.stdout()).filter((x) => x.ts === "SC"); return l.length >= 2 ? l : null; }, 2000);
    expect(sc!.map((l) => l.srv)).toEqual(["<NOSRV>", "<NOSRV>"]);
  });

  it("backups take over only when every primary is down (first backup only), primaries take back when up", async () => {
    const [p1, p2, b1, b2] = await namedServers(4, "x");
    const names = ["p1", "p2", "b1", "b2"];
    const srvs = [p1, p2, b1, b2];
    const chk = "check inter 150 fall 2 rise 2";
    const port = await freePort();
    // The servers answer with their own name (x1..x4): map them to the config names.
    const ids: Record<string, string> = { x1: "p1", x2: "p2", x3: "b1", x4: "b2" };
    const get = async (n: number) => tally((await fetchNames(port, n)).map((x) => ids[x] ?? x));
    const h = await startProxy(lbConfig({
      port, servers: srvs.map((s, i) => ({ name: names[i], port: s.port, opts: `${chk}${i >= 2 ? " backup" : ""}` })),
    }), [port], v.args);
    await sleep(400);
    expect(await get(8)).toEqual({ p1: 4, p2: 4 });

    await p1.kill();
    expect(await msUntilStderr(h, /Server be\/p1 is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    expect(await get(6)).toEqual({ p2: 6 });

    await p2.kill();
    expect(await msUntilStderr(h, /Server be\/p2 is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    expect(h.stderr()).toMatch(/Server be\/p2 is DOWN, .* 0 active and 2 backup servers left\. Running on backup\. 0 sessions active/);
    expect(await get(6)).toEqual({ b1: 6 });

    await p1.restart();
    expect(await msUntilStderr(h, /Server be\/p1 is UP/, 3000)).toBeGreaterThanOrEqual(0);
    expect(h.stderr()).toMatch(/Server be\/p1 is UP, reason: Layer4 check passed, check duration: \d+ms\. 1 active and 2 backup servers online\. 0 sessions requeued/);
    expect(await get(6)).toEqual({ p1: 6 });
    // The backups were checked all along and stayed UP.
    expect(h.stderr()).not.toMatch(/Backup Server/);
  });

  it("a black-holed server fails with Layer4 timeout after inter; with timeout check, after min(inter, timeout connect)", async () => {
    const bh = await blackholePort();
    const port = await freePort();
    const h = await startProxy(lbConfig({ port, servers: [{ name: "s1", port: bh, opts: "check inter 500 fall 1" }] }), [port], v.args);
    expect(await msUntilStderr(h, /Server be\/s1 is DOWN/, 5000)).toBeGreaterThanOrEqual(0);
    const m = /Server be\/s1 is DOWN, reason: Layer4 timeout, check duration: (\d+)ms\. 0 active/.exec(h.stderr());
    expect(m, h.stderr()).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(480);
    expect(Number(m![1])).toBeLessThan(1500);

    const port2 = await freePort();
    const h2 = await startProxy(lbConfig({
      port: port2, defaults: ["timeout check 5s"], servers: [{ name: "s1", port: bh, opts: "check inter 2000 fall 1" }],
    }).replace("timeout connect 2s", "timeout connect 300"), [port2], v.args);
    expect(await msUntilStderr(h2, /Server be\/s1 is DOWN/, 5000)).toBeGreaterThanOrEqual(0);
    const m2 = /reason: Layer4 timeout, check duration: (\d+)ms/.exec(h2.stderr());
    expect(Number(m2![1])).toBeGreaterThanOrEqual(280);
    expect(Number(m2![1])).toBeLessThan(1500);
  });

  it("port and addr: the check probes the given address and port, not the traffic port", async () => {
    const live = await namedServer("live");
    const s1 = await namedServer("s1");
    const closed = await freePort();
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, servers: [
        // Traffic port alive, check port closed: DOWN.
        { name: "a", port: s1.port, opts: `check inter 150 fall 1 port ${closed}` },
        // Traffic port closed, checks sent to the live server: stays UP.
        { name: "b", port: closed, opts: `check inter 150 fall 1 addr 127.0.0.1 port ${live.port}` },
      ],
    }), [port], v.args);
    expect(await msUntilStderr(h, /Server be\/a is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    // A check is invisible to the backend: as in HAProxy 1.8, it connects without a quick ACK and
    // resets as soon as the connect succeeds, so the server never accepts it. That b stays UP for
    // four check intervals with fall 1 is what shows every check reached the live address and port.
    await sleep(600);
    expect(h.stderr()).not.toMatch(/Server be\/b is DOWN/);
    // The checks of b reach <live> and nothing else: b goes DOWN once <live> is gone. (A check is a
    // connect without quick ACK then an RST, as 1.8.0's: the server never accepts it, so a count of
    // accepted connections cannot prove it.)
    await live.kill();
    expect(await msUntilStderr(h, /Server be\/b is DOWN/, 3000), h.stderr()).toBeGreaterThanOrEqual(0);
  });

  it("downinter and fastinter: with inter 10 s, a server dead at start comes UP within ~3 checks of 150 ms", async () => {
    const s1 = await namedServer("s1");
    await s1.kill();
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, servers: [{ name: "s1", port: s1.port, opts: "check inter 10s downinter 150 fastinter 150 rise 3 fall 2" }],
    }), [port], v.args);
    expect(await msUntilStderr(h, /Server be\/s1 is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    await s1.restart();
    // DOWN -> +1 after <= downinter, then +1 and +1 after fastinter each: UP well before inter.
    const up = await msUntilStderr(h, /Server be\/s1 is UP/, 5000);
    expect(up, h.stderr()).toBeGreaterThan(0);
    expect(up).toBeLessThan(2500); // rise 3: three successful checks of s1, each one a fastinter apart
    expect(await fetchNames(port, 2)).toEqual(["s1", "s1"]);
  });

  it("option redispatch: a server going DOWN hands its queued streams back to load balancing", async () => {
    const [s1, s2] = await namedServers(2);
    const port = await freePort();
    const chk = "check inter 150 fall 2 maxconn 1";
    const h = await startProxy(lbConfig({
      port, balance: "source", backend: ["option redispatch"], defaults: ["timeout queue 5s"],
      servers: checked([s1, s2], [chk, chk]),
    }), [port], v.args);
    await sleep(400);
    // 127.0.0.1 hashes to s2; the second client waits in s2's queue.
    const c0 = holdClient(port);
    expect(await c0.name).toBe("s2");
    const c1 = holdClient(port);
    await sleep(100);
    await s2.stopListening();
    expect(await msUntilStderr(h, /Server be\/s2 is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    expect(h.stderr()).toMatch(/Server be\/s2 is DOWN, .* 1 active and 0 backup servers left\. 1 sessions active, 1 requeued, 0 remaining in queue\./);
    expect(await c1.name).toBe("s1");
  });

  it("without option redispatch the queued stream stays on its DOWN server until timeout queue (sQ)", async () => {
    const [s1, s2] = await namedServers(2);
    const port = await freePort();
    const chk = "check inter 150 fall 2 maxconn 1";
    const h = await startProxy(lbConfig({
      port, log: true, balance: "source", defaults: ["timeout queue 1500"], servers: checked([s1, s2], [chk, chk]),
    }), [port], v.args);
    await sleep(400);
    const c0 = holdClient(port);
    expect(await c0.name).toBe("s2");
    const c1 = holdClient(port);
    await sleep(100);
    await s2.stopListening();
    expect(await msUntilStderr(h, /Server be\/s2 is DOWN/, 3000)).toBeGreaterThanOrEqual(0);
    expect(h.stderr()).toMatch(/Server be\/s2 is DOWN, .* 1 sessions active, 0 requeued, 1 remaining in queue\./);
    expect(await c1.name).toBe("-");
    const l = await pollValue(() => parseTcpLogs(h.stdout()).find((x) => x.cp === c1.localPort()), 3000);
    // Tw is the queue timeout (1500 ms), plus however late a loaded machine wakes the loop.
    const m = / fe be\/s2 (\d+)\/-1\/\d+ 0 sQ /.exec(l!.line);
    expect(m, l!.line).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1450);
    expect(Number(m![1])).toBeLessThan(3000);
  });

  it("check tasks do not keep the process alive: SIGUSR1 exits at once, and checks leak no fd", async () => {
    const [s1, s2] = await namedServers(2);
    const dead = await freePort();
    const port = await freePort();
    const h = await startProxy(lbConfig({
      port, servers: [
        { name: "s1", port: s1.port, opts: "check inter 30" },
        { name: "s2", port: s2.port, opts: "check inter 30" },
        { name: "s3", port: dead, opts: "check inter 30" },
      ],
    }), [port], v.args);
    // s3 going DOWN (fall 3) shows the checks run (s1 and s2 never accept one: see "port and addr").
    expect(await msUntilStderr(h, /Server be\/s3 is DOWN/, 3000), h.stderr()).toBeGreaterThanOrEqual(0);
    const fds = fdCount(h.pid);
    await sleep(700);
    // Dozens of checks later, no more fds (one may be in flight).
    expect(fdCount(h.pid)).toBeLessThanOrEqual(fds + 1);
    expect(h.stderr()).not.toMatch(/Server be\/s[12] is DOWN/);
    const t0 = Date.now();
    h.proc.kill("SIGUSR1");
    expect(await exitWithin(h, 3000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
