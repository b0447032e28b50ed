/**
 * The soak test, 12 s of it inside `npm test` (`npm run soak` runs the 1-minute one, `npm run soak --
 * --minutes N` longer; the RSS slope is only judged from 2 minutes on): mixed load through
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

/**
 * Seconds of load inside `npm test`: long enough for thousands of byte-exact transfers of every kind
 * (12 s: about 10,000 transfers, 8,000 byte-exact, over 1,000 of each kind on this 2-core machine)
 * and a 7 s window after the 5 s warm-up for the RSS growth check.
 */
const SOAK_S = 12;

describe("soak", () => {
  it(`${SOAK_S} s of mixed load: byte-exact, nothing hung, fds back to baseline, no RSS growth after warm-up`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-soak-test-"));
    const json = path.join(dir, "soak.json");
    const proc = spawn(process.execPath, [path.join(ROOT, "scripts/soak.js"), "--minutes", String(SOAK_S / 60), "--json", json], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
    console.log(out.split("\n").filter((l) => !l.startsWith("{")).join("\n"));
    expect(fs.existsSync(json), out).toBe(true);
    const s = JSON.parse(fs.readFileSync(json, "utf8"));
    fs.rmSync(dir, { recursive: true, force: true });
    record({
      suite: "soak", fault: `soak ${SOAK_S} s, mixed load (aborts included)`, injected: s.aborted, connections: s.transfers, ok: s.ok,
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
  }, 60_000);
});
