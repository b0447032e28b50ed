/**
 * The soak test, one minute of it (`npm run soak -- --minutes N` runs it longer): mixed load through
 * bin/hapoll to a Node echo backend (random sizes, half-closes, aborts, slow readers and writers),
 * hapoll's RSS and open fds sampled every second. Fails on a corrupt or hung transfer, fds not back
 * to the baseline, or RSS growth after warm-up (see scripts/soak.js for the thresholds). Only RSS
 * and fds are sampled: hapoll's V8 heap would need a hook inside src/.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers";
import { record } from "./fault-helpers";

describe("soak", () => {
  it("60 s of mixed load: byte-exact, nothing hung, fds back to baseline, no RSS growth after warm-up", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-soak-test-"));
    const json = path.join(dir, "soak.json");
    const proc = spawn(process.execPath, [path.join(ROOT, "scripts/soak.js"), "--minutes", "1", "--json", json], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
    console.log(out.split("\n").filter((l) => !l.startsWith("{")).join("\n"));
    expect(fs.existsSync(json), out).toBe(true);
    const s = JSON.parse(fs.readFileSync(json, "utf8"));
    fs.rmSync(dir, { recursive: true, force: true });
    record({
      suite: "soak", fault: "soak 60 s, mixed load (aborts included)", injected: s.aborted, connections: s.transfers, ok: s.ok,
      bytesVerified: s.bytesVerified, prefixBytesVerified: s.prefixBytesVerified,
      outcomes: { ok: s.ok, reset: s.aborted, hung: s.hung }, fdBefore: s.fdBase, fdAfter: s.fdEnd,
      rssBeforeKiB: s.rssAfterWarmupKiB, rssAfterKiB: s.rssEndKiB, result: s.pass ? "pass" : "FAIL",
      notes: `RSS slope ${s.rssSlopeKiBPerMin} KiB/min after warm-up; peak fds ${s.fdMax}; ${s.failures.join("; ")}`,
    });
    expect(s.failures, out).toEqual([]);
    expect(code).toBe(0);
    expect(s.corrupt).toBe(0);
    expect(s.hung).toBe(0);
    expect(s.fdEnd).toBe(s.fdBase);
    expect(s.ok).toBeGreaterThan(1000);
    for (const k of ["halfclose", "keepopen", "abort-rst", "abort-early", "slowreader", "slowwriter"]) {
      expect(s.kinds[k], `load kind ${k}`).toBeGreaterThan(0);
    }
  }, 90_000);
});
