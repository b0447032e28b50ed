/**
 * Smoke test of the poller bench, so that it does not rot: bench/pollers/index.js at a tiny size
 * (N = 100, A = 1, one round, a few iterations) for every poller in this build, with the C floor
 * when a C compiler is there. Checks the shape of the table it prints and of the files it writes.
 * Needs dist/ (npm install / npm run build compiles it) but none of haproxy, nginx, wrk, iperf3.
 *
 * The expected figures come from libevent's test/bench.c semantics, not from the bench's code:
 * one chain over 100 pairs with W = 100 writes reads A + W = 101 bytes per iteration, one per
 * loop turn (each read writes the next pair's byte, seen at the next wait).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { native } from "../../src/native";

const ROOT = path.resolve(__dirname, "../..");
const POLLERS = native.pollerNames();

function hasProgram(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

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
    expect(lines[head + 1]).toMatch(/^-+(  -+){12}$/);
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
