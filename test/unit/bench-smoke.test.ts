/**
 * Smoke test of the benches, so that they do not rot: bench/pollers/index.js at a tiny size
 * (N = 100, A = 1, one round, a few iterations) for every poller in this build, with the C floor
 * when a C compiler is there. Checks the shape of the table it prints and of the files it writes.
 * Needs dist/ (npm install / npm run build compiles it) but none of haproxy, nginx, wrk, iperf3.
 * Then the proxy bench's peer logic (which HAProxy rows run, the ratio columns), without measuring;
 * its config check uses HAProxy 1.8.0 (../shared/peers/build-haproxy18.sh, which builds it once in
 * about 30 s) and 2.6 where the machine has them.
 *
 * The expected figures come from libevent's test/bench.c semantics, not from the bench's code:
 * one chain over 100 pairs with W = 100 writes reads A + W = 101 bytes per iteration, one per
 * loop turn (each read writes the next pair's byte, seen at the next wait).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { native } from "../../src/native";
import { hasProgram, programPath } from "../e2e/helpers";

const ROOT = path.resolve(__dirname, "../..");
const POLLERS = native.pollerNames();


const withFloor = hasProgram("cc");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-bench-smoke-"));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe("poller bench (tiny run)", () => {
  const args = [
    path.join(ROOT, "bench/pollers/index.js"), "--sizes", "100", "--active", "1", "--reps", "1",
    "--iters", "3", "--warmup-ms", "10", "--budget-ms", "10", "--out", out,
  ];
  if (!withFloor) args.push("--no-floor");
  let r: ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
  let elapsed = 0;
  beforeAll(() => {
    const t0 = Date.now();
    r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 20_000 }) as typeof r;
    elapsed = Date.now() - t0;
  });

  it("exits 0 within 20 s and reports progress on stderr", () => {
    expect(r.error).toBeUndefined();
    expect(r.stderr).not.toMatch(/cannot load dist/);
    expect(r.status).toBe(0);
    expect(elapsed).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/bench:pollers round 1\/1 +\w+ N=100 A=1 hapoll/);
    expect(r.stderr).toMatch(/bench:pollers done in/);
  });

  it("prints one table row per poller with libevent's event count (A + W = 101) and one wait per event", () => {
    const lines = r.stdout.split("\n");
    const head = lines.findIndex((l) => /^poller\s+N\s+A\s+W\s+events\/iter/.test(l));
    expect(head).toBeGreaterThanOrEqual(0);
    const cols = lines[head].split(/\s{2,}/);
    expect(cols).toEqual([
      "poller", "N", "A", "W", "events/iter", "waits/iter (C, hapoll)", "C µs/iter", "hapoll µs/iter",
      "C µs/event", "hapoll µs/event", "hapoll/C", "paired: median (range)", "added µs/event",
    ]);
    expect(lines[head + 1]).toMatch(/^-+( {2}-+){12}$/);
    const rows = lines.slice(head + 2).filter((l) => /^\w+\s+\d/.test(l)).map((l) => l.trim().split(/\s{2,}/));
    expect(rows.map((c) => c[0])).toEqual(POLLERS);
    for (const c of rows) {
      expect(c.slice(1, 5)).toEqual(["100", "1", "100", "101"]);
      const [waitsC, waitsH] = c[5].split(", ");
      expect(waitsH).toBe("101");
      expect(waitsC).toBe(withFloor ? "101" : "-");
      const hIter = Number(c[7].replace(/,/g, ""));
      const hEv = Number(c[9]);
      expect(hIter).toBeGreaterThan(0);
      // µs per event is µs per iteration over the 101 events (3 significant digits printed).
      expect(Math.abs(hEv - hIter / 101) / hEv).toBeLessThan(0.02);
      if (withFloor) {
        expect(c[10]).toMatch(/^\d+\.\d\dx$/);
        const ratio = Number(c[10].slice(0, -1));
        expect(Math.abs(ratio - hEv / Number(c[8])) / ratio).toBeLessThan(0.03);
        // One round: the paired ratio is that round's, its range a single value.
        expect(c[11]).toMatch(/^(\d+\.\d\d) \(\1-\1\)$/);
      } else {
        expect(c[10]).toBe("-");
        expect(c[11]).toBe("-");
      }
    }
  });

  it("says which configurations it skipped and why", () => {
    expect(r.stdout).not.toMatch(/^errors:/m);
    // N = 100 and A = 1 fit everywhere: nothing is skipped.
    expect(r.stdout).not.toMatch(/^skipped:/m);
  });

  it("writes the Markdown table, the chart and the raw figures", () => {
    const md = fs.readFileSync(path.join(out, "bench-pollers.md"), "utf8");
    expect(md).toMatch(/^# Poller bench/);
    expect(md).toMatch(/\| poller \| N \| A \| W \| events\/iter \|/);
    for (const p of POLLERS) expect(md).toMatch(new RegExp(`^\\| ${p} \\| 100 \\| 1 \\| 100 \\| 101 \\|`, "m"));
    expect(md).toMatch(/## Machine\n\n- date: .*\n- nproc: \d+/);
    const svg = fs.readFileSync(path.join(out, "bench-pollers.svg"), "utf8");
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    for (const p of POLLERS) expect(svg).toContain(`>${p} (hapoll)</text>`);
    // One point per series here (a single N): a circle per poller and implementation.
    expect((svg.match(/<circle /g) || []).length).toBe(POLLERS.length * (withFloor ? 2 : 1) * 2);
    const json = JSON.parse(fs.readFileSync(path.join(out, "bench-pollers.json"), "utf8"));
    expect(json.configs).toHaveLength(POLLERS.length);
    expect(json.configs[0].h).toHaveLength(1);
  });
});

/*
 * The proxy bench's HAProxy 1.8.0 peer (bench/proxy/peers.js, bench/proxy/index.js), without running the
 * bench: where the binary is found, what happens when it is not (its row is dropped with the reason,
 * the targets against it say "not measured"), and the ratio columns it feeds. Fake peers are shell
 * scripts in a temp folder; the real binaries, when the machine has them, check the generated config.
 */
const peers = require("../../bench/proxy/peers.js");
const pbench = require("../../bench/proxy/index.js");

describe("proxy bench: the HAProxy 1.8.0 peer", () => {
  const dir = path.join(out, "peers");
  const exe = (name: string, body: string) => {
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, name);
    fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return f;
  };
  const fake18 = () => exe("haproxy18", 'echo "HA-Proxy version 1.8.0 2017/11/26"');
  const fake26 = () => exe("haproxy26", 'echo "HAProxy version 2.6.12-1+deb12u3 2025/10/03 - https://haproxy.org/"');

  it("locateHaproxy18() takes the path the build script prints and checks it is 1.8.0", () => {
    const bin = fake18();
    const script = exe("build-ok.sh", `echo building >&2; echo ${bin}`);
    expect(peers.locateHaproxy18({ env: {}, script })).toEqual({ bin, version: "HA-Proxy version 1.8.0 2017/11/26" });
  });

  it("locateHaproxy18() gives the build script's last stderr line when it fails, and never throws", () => {
    const script = exe("build-fail.sh", 'echo "build-haproxy18: needs make and gcc" >&2; exit 1');
    const r = peers.locateHaproxy18({ env: {}, script });
    expect(r.bin).toBeUndefined();
    expect(r.reason).toBe("build-fail.sh failed: build-haproxy18: needs make and gcc");
  });

  it("locateHaproxy18() says so when the shared peers folder is missing", () => {
    const r = peers.locateHaproxy18({ env: {}, script: path.join(dir, "nowhere", "build-haproxy18.sh") });
    expect(r.reason).toMatch(/build-haproxy18\.sh not found .*HAPOLL_HAPROXY18/);
  });

  it("locateHaproxy18() rejects a binary that is not 1.8.0 or does not exist ($HAPOLL_HAPROXY18 or the script)", () => {
    const script = exe("build-never.sh", "exit 3");
    const r26 = peers.locateHaproxy18({ env: { HAPOLL_HAPROXY18: fake26() }, script });
    expect(r26.reason).toMatch(/haproxy26 is not HAProxy 1\.8\.0 \(HAProxy version 2\.6\.12/);
    const gone = path.join(dir, "gone");
    expect(peers.locateHaproxy18({ env: { HAPOLL_HAPROXY18: gone }, script }).reason)
      .toBe(`$HAPOLL_HAPROXY18 named ${gone}, which does not exist`);
    const lies = exe("build-lies.sh", `echo ${gone}`);
    expect(peers.locateHaproxy18({ env: {}, script: lies }).reason).toBe(`build-lies.sh named ${gone}, which does not exist`);
  });

  const ids = (ps: { id: string }[]) => ps.map((p) => p.id);
  const ALL = pbench.PROXIES as { id: string; kind: string; v18?: boolean }[];

  it("with 1.8.0 found, its row runs that binary and the 2.6 rows run `haproxy`", () => {
    const r = peers.runnableProxies(ALL, () => true, () => ({ bin: "/x/haproxy", version: "HA-Proxy version 1.8.0" }));
    expect(ids(r.proxies)).toEqual(ids(ALL));
    expect(r.notes).toEqual([]);
    const cmd = Object.fromEntries(r.proxies.filter((p: { kind: string }) => p.kind === "haproxy").map((p: { id: string; cmd: string }) => [p.id, p.cmd]));
    expect(cmd).toEqual({ haproxy18: "/x/haproxy", haproxy: "haproxy", "haproxy-splice": "haproxy", "haproxy-splice-forced": "haproxy" });
  });

  it("without 1.8.0, only its row goes, with the reason in the notes; without haproxy 2.6, only the 2.6 rows", () => {
    const no18 = peers.runnableProxies(ALL, () => true, () => ({ reason: "make failed" }));
    expect(ids(no18.proxies)).toEqual(ids(ALL).filter((id) => id !== "haproxy18"));
    expect(no18.notes).toEqual(["HAProxy 1.8.0 skipped: make failed"]);
    const no26 = peers.runnableProxies(ALL, (c: string) => c !== "haproxy", () => ({ bin: "/x/haproxy", version: "1.8.0" }));
    expect(ids(no26.proxies)).toEqual(ids(ALL).filter((id) => !/^haproxy-|^haproxy$/.test(id)));
    expect(no26.notes).toEqual(["haproxy is not installed: no HAProxy 2.6 rows (apt-get install haproxy)"]);
  });

  it("does not look for 1.8.0 (nor build it) when --only leaves it out", () => {
    let asked = 0;
    const r = peers.runnableProxies(ALL.filter((p) => p.id === "hapoll-epoll"), () => true, () => (asked++, { reason: "x" }));
    expect(asked).toBe(0);
    expect(r.notes).toEqual([]);
  });

  /** A saved run: every proxy of <ids> did 3 rounds, CPU per unit = base * scale, sys share <sys>. */
  function savedRun(list: string[], cpu: Record<string, [number, number]>) {
    const results: Record<string, Record<string, object[]>> = {};
    for (const id of list) {
      const [c, sys] = cpu[id] || [10, 0.8];
      const run = (round: number) => ({ round, rps: 1000, requests: 2000, p50: 1, p99: 2, errors: 0, non2xx: 0, sysShare: sys, cpuS: 1 });
      results[id] = {
        ka: [1, 2, 3].map((n) => ({ ...run(n), cpuUsPerReq: c })),
        close: [1, 2, 3].map((n) => ({ ...run(n), cpuUsPerReq: 5 * c })),
        iperf: [1, 2, 3].map((n) => ({ round: n, gbps: 10, bytes: 2.5e9, cpuS: 1, sysShare: sys, cpuPer10GB: c / 2 })),
        idle: [],
      };
    }
    const proxies = ALL.filter((p) => list.includes(p.id));
    const summary = pbench.summarize(proxies, results);
    return {
      machine: { commit: "abc1234", nproc: 2, cpu: "test" }, command: "test", opts: { reps: 3, duration: 2, iperfTime: 2, idleConns: 300 },
      nodeArgs: [], workloads: ["ka", "close", "iperf"], proxies: proxies.map((p) => ({ id: p.id, label: (p as { label?: string }).label })),
      results, summary, targets: pbench.targets(summary, results), strace: {}, errors: [], notes: [] as string[],
    };
  }

  it("prints hapoll's ratios to 1.8.0 and to 2.6, total, user and sys, and judges issue 12's targets on 1.8.0", () => {
    // hapoll: 12 µs, 25% user (3 + 9); 1.8.0: 10 µs, 20% user (2 + 8); 2.6: 8 µs, 10% user (0.8 + 7.2).
    const j = savedRun(["haproxy18", "haproxy", "node-net", "hapoll-epoll"],
      { "hapoll-epoll": [12, 0.75], haproxy18: [10, 0.8], haproxy: [8, 0.9], "node-net": [24, 0.5] });
    const text: string = pbench.renderText(j);
    const row = text.split("\n").find((l) => l.startsWith("CPU per keep-alive request "))!.trim().split(/\s{2,}/);
    expect(row).toEqual(["CPU per keep-alive request", "1.20x", "1.50x", "1.13x", "1.50x", "3.75x", "1.25x", "2.00x"]);
    // Per GB and per new connection scale the same way here, so their ratios are the same.
    for (const wl of ["CPU per new connection", "CPU per GB"]) {
      expect(text.split("\n").find((l) => l.startsWith(`${wl} `))!.trim().split(/\s{2,}/).slice(1)).toEqual(row.slice(1));
    }
    expect(text).toContain("issue 12: CPU per keep-alive request: hapoll / HAProxy 1.8.0 = 1.20x [rounds: 1.20, 1.20, 1.20] (target <= 1.15x): MISSED");
    expect(text).toMatch(/issue 12: user CPU per GB: hapoll \/ HAProxy 1\.8\.0 = 1\.50x .*\(target <= 1\.5x\): MET/);
    expect(text).toContain("issue 12: CPU per keep-alive request: Node net + pipe() / hapoll = 2.00x [rounds: 2.00, 2.00, 2.00] (target >= 1.5x): MET");
    const md: string = pbench.renderMd(j);
    expect(md).toContain("Measured at commit abc1234.");
    expect(md).toMatch(/^\| CPU per keep-alive request \| 1\.20x \| 1\.50x \| 1\.13x \| 1\.50x \| 3\.75x \| 1\.25x \| 2\.00x \|$/m);
  });

  it("without a 1.8.0 row, its ratio columns are '-' and its targets 'not measured'", () => {
    const j = savedRun(["haproxy", "node-net", "hapoll-epoll"], { "hapoll-epoll": [12, 0.75], haproxy: [8, 0.9] });
    const text: string = pbench.renderText(j);
    const row = text.split("\n").find((l) => l.startsWith("CPU per keep-alive request "))!.trim().split(/\s{2,}/);
    expect(row.slice(1, 4)).toEqual(["-", "-", "-"]);
    expect(row[4]).toBe("1.50x");
    expect(j.targets.filter((t: { what: string }) => /1\.8\.0/.test(t.what)).map((t: { ok: boolean | null }) => t.ok)).toEqual([null, null, null, null, null, null]);
    expect(text).toContain("issue 12: user CPU per new connection: hapoll / HAProxy 1.8.0 = - (target <= 1.5x): not measured");
  });

  it("charts each proxy in a color of its own, the same whether 1.8.0 ran or not", () => {
    const fills = (svg: string, label: string) => new Set([...svg.matchAll(new RegExp(`>${label}</text>[\\s\\S]*?fill="(#[0-9a-f]{6})"`, "g"))].map((m) => m[1]));
    const all = savedRun(ALL.map((p) => p.id), {});
    const svg: string = pbench.renderSvg(all);
    const colorOf = Object.fromEntries(all.proxies.map((p) => [p.id, [...fills(svg, p.label!.replace(/[()+]/g, "\\$&"))]]));
    for (const c of Object.values(colorOf)) expect(c).toHaveLength(1);
    expect(new Set(Object.values(colorOf).map((c) => c[0])).size).toBe(ALL.length);
    const some = savedRun(ALL.map((p) => p.id).filter((id) => id !== "haproxy18"), {});
    const svg2: string = pbench.renderSvg(some);
    for (const p of some.proxies) expect([...fills(svg2, p.label!.replace(/[()+]/g, "\\$&"))]).toEqual(colorOf[p.id]);
  });

  it("the HAProxy config parses with HAProxy 1.8.0 and 2.6 (`-c`), where the machine has them", (ctx) => {
    const ports = { http: 18081, iperf: 18082, hold: 18083 }, be = { http: 18091, iperf: 18092, hold: 18093 };
    const bins: string[] = [];
    const h18 = peers.locateHaproxy18();
    if (h18.bin) bins.push(h18.bin);
    const h26 = programPath("haproxy");
    if (h26) bins.push(h26);
    if (!bins.length) ctx.skip("neither HAProxy 1.8.0 (scripts/fidelity/build-reference.sh) nor Debian's haproxy is installed");
    for (const id of ["haproxy18", "haproxy"]) {
      const cfg = path.join(dir, `${id}.cfg`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(cfg, pbench.haproxyCfg(ALL.find((p) => p.id === id), ports, be));
      for (const bin of bins) {
        const r = spawnSync(bin, ["-c", "-f", cfg], { encoding: "utf8" });
        expect(`${bin} ${id}: ${r.status} ${r.stdout}${r.stderr}`).toMatch(/: 0 Configuration file is valid/);
      }
    }
  }, 200_000);
});
