/**
 * Smoke test of bench/rules.js (so that it does not rot): a --quick run (400 connections, one
 * round) into a temporary folder. Checks the table it prints (hapoll's two rows, and HAProxy
 * 1.8.0's when the machine has it), that the ratio column is the quotient of the medians it
 * prints, and the generated rules.md / rules.svg. Needs dist/ (npm run build).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-bench-rules-smoke-"));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe("rules bench (quick run)", () => {
  it("prints one row per proxy and rule set, the ratios of the medians, and writes rules.md and rules.svg", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bench/rules.js"), "--quick", "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { conns: number; ratios: Record<string, number>; rows: { proxy: string; rules: boolean; us: number[] }[] };
    expect(json.conns).toBe(400);
    const proxies = [...new Set(json.rows.map((x) => x.proxy))];
    expect(proxies[0]).toBe("hapoll");
    for (const p of proxies) {
      const plain = json.rows.find((x) => x.proxy === p && !x.rules)!;
      const rules = json.rows.find((x) => x.proxy === p && x.rules)!;
      expect(plain.us.length).toBe(1);
      // 400 connections are a few clock ticks (10 ms each): a fast proxy may show 0
      expect(plain.us[0]).toBeGreaterThanOrEqual(0);
      if (plain.us[0] > 0) expect(json.ratios[p]).toBeCloseTo(rules.us[0] / plain.us[0], 6);
      expect(r.stdout).toMatch(new RegExp(`^${p.replace(/\./g, "\\.")} +10 +\\S+ +\\S+ - \\S+ +\\S+$`, "m"));
    }
    const md = fs.readFileSync(path.join(out, "rules.md"), "utf8");
    expect(md).toMatch(/^# Rules: CPU per new connection\n/);
    expect(md).toContain("tcp-request connection track-sc0 src");
    expect(md).toMatch(/\| hapoll +\| +10 \|/);
    expect(fs.readFileSync(path.join(out, "rules.svg"), "utf8")).toMatch(/^<svg /);
  }, 70_000);
});
