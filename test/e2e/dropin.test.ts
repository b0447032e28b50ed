/**
 * Issue 16, "drop-in for the people who run HAProxy": each behaviour is run side by side with
 * HAProxy 1.8.0 (bench/proxy/peers.js locates it; the comparison is skipped, with the reason
 * printed, when it cannot be found) on the same configuration, bad input included. Messages are
 * compared after normalising what legitimately differs: 1.8's date stamp, the pid, hapoll's
 * "config : " prefix and column padding.
 */
import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, cleanup, tmpDir } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { locateHaproxy18 } = require("../../bench/proxy/peers.js");
const H18: { bin?: string; reason?: string } = locateHaproxy18();
if (!H18.bin) console.log(`dropin: HAProxy 1.8.0 comparisons skipped: ${H18.reason}`);

afterEach(cleanup);

/** Run a command to completion: exit code and both outputs. */
export function run(cmd: string, args: string[], o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8", timeout: o.timeoutMs ?? 10_000, cwd: o.cwd, env: { ...process.env, ...(o.env ?? {}) },
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Alert/warning lines without the parts that legitimately differ between 1.8.0 and hapoll. */
export function norm(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => /^\[(ALERT|WARNING|NOTICE)\]/.test(l) || l === "Configuration file is valid")
    .map((l) =>
      l
        .replace(/^\[(ALERT|WARNING|NOTICE)\]\s+(?:\d+\/\d+\s+)?\(\d+\) : (?:config : )?/, "[$1] ")
    );
}

/** Run hapoll and (when found) HAProxy 1.8.0 with the same arguments; cfg files live in one dir. */
function both(files: Record<string, string>, args: string[], env: Record<string, string> = {}) {
  const dir = tmpDir();
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), t);
  const mine = run(process.execPath, [BIN, ...args], { cwd: dir, env });
  const ref = H18.bin ? run(H18.bin, args, { cwd: dir, env }) : null;
  return { mine, ref, dir };
}

const DEFAULTS = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n";

describe("-c resolves server names (item 2)", () => {
  const cfg = DEFAULTS + "listen l\n  bind 127.0.0.1:19001\n  server s1 no.such.host.invalid:80\n";

  it("an unresolvable server name fails -c with 1.8.0's alerts and exit code", () => {
    const { mine, ref } = both({ "r.cfg": cfg }, ["-c", "-f", "r.cfg"]);
    expect(mine.code).toBe(1);
    expect(norm(mine.stderr)).toEqual([
      "[ALERT] parsing [r.cfg:8] : 'server s1' : could not resolve address 'no.such.host.invalid'.",
      "[ALERT] Failed to initialize server(s) addr.",
    ]);
    if (ref) {
      expect(mine.code).toBe(ref.code);
      expect(norm(mine.stderr)).toEqual(norm(ref.stderr));
    }
  });

  it("-dr turns the failure into 1.8.0's warning and the server starts disabled", () => {
    const { mine, ref } = both({ "r.cfg": cfg }, ["-c", "-dr", "-f", "r.cfg"]);
    expect(mine.code).toBe(0);
    expect(norm(mine.stderr + mine.stdout)).toEqual([
      "[WARNING] parsing [r.cfg:8] : 'server s1' : could not resolve address 'no.such.host.invalid', disabling server.",
      "Configuration file is valid",
    ]);
    if (ref) {
      expect(ref.code).toBe(0);
      expect(norm(mine.stderr + mine.stdout)).toEqual(norm(ref.stderr + ref.stdout));
    }
  });

  it("an unresolvable bind name is a parsing error, as in 1.8.0", () => {
    const bad = DEFAULTS + "listen l\n  bind nohost.invalid:19001\n  server s1 127.0.0.1:80\n";
    const { mine, ref } = both({ "b.cfg": bad }, ["-c", "-f", "b.cfg"]);
    expect(mine.code).toBe(1);
    expect(norm(mine.stderr)[0]).toBe("[ALERT] parsing [b.cfg:7] : 'bind' : invalid address: 'nohost.invalid' in 'nohost.invalid:19001'");
    if (ref) {
      expect(ref.code).toBe(1);
      expect(norm(mine.stderr)).toEqual(norm(ref.stderr));
    }
  });

  it("-q -c prints nothing on a valid file; a missing -f file is reported in strerror's words", () => {
    const ok = DEFAULTS + "listen l\n  bind 127.0.0.1:19001\n  server s1 127.0.0.1:80\n";
    const q = both({ "ok.cfg": ok }, ["-q", "-c", "-f", "ok.cfg"]);
    expect(q.mine).toMatchObject({ code: 0, stdout: "", stderr: "" });
    if (q.ref) expect(q.ref).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const m = both({}, ["-c", "-f", "nonexist.cfg"]);
    expect(m.mine.code).toBe(1);
    expect(norm(m.mine.stderr)).toEqual(["[ALERT] Cannot open configuration file/directory nonexist.cfg : No such file or directory"]);
    if (m.ref) expect(norm(m.mine.stderr)).toEqual(norm(m.ref.stderr));
  });

  it("-C <dir> changes directory before reading; -m and -L take their argument", () => {
    const ok = DEFAULTS + "listen l\n  bind 127.0.0.1:19001\n  server s1 127.0.0.1:80\n";
    const { mine, ref, dir } = both({ "ok.cfg": ok }, ["-c", "-f", "ok.cfg"]);
    expect(mine.code).toBe(0);
    const elsewhere = ["-C", dir, "-m", "64", "-L", "peer1", "-c", "-f", "ok.cfg"];
    const m2 = run(process.execPath, [BIN, ...elsewhere]);
    expect(m2).toMatchObject({ code: 0, stdout: "Configuration file is valid\n" });
    const bad = run(process.execPath, [BIN, "-C", "/nonexistent-dir", "-c", "-f", "ok.cfg"]);
    expect(bad.code).toBe(1);
    expect(norm(bad.stderr)).toEqual(["[ALERT] Could not change to directory /nonexistent-dir : No such file or directory"]);
    if (ref && H18.bin) {
      expect(run(H18.bin, elsewhere).code).toBe(0);
      const r2 = run(H18.bin, ["-C", "/nonexistent-dir", "-c", "-f", "ok.cfg"]);
      expect(norm(bad.stderr)).toEqual(norm(r2.stderr));
    }
  });
});

describe("environment variables in addresses, quoted or not (item 4)", () => {
  const cfg = DEFAULTS + "listen l\n  bind 127.0.0.1:${PORT}\n  bind $ADDR:19012\n  server s1 \"${ADDR}:80\"\n";

  it("bind 127.0.0.1:${PORT} and bind $ADDR:80 expand as in 1.8.0", () => {
    const { mine, ref } = both({ "e.cfg": cfg }, ["-c", "-f", "e.cfg"], { PORT: "19011", ADDR: "127.0.0.1" });
    expect(mine).toMatchObject({ code: 0, stdout: "Configuration file is valid\n" });
    if (ref) expect(ref).toMatchObject({ code: 0, stdout: "Configuration file is valid\n" });
  });

  it("a missing variable leaves the port empty: both refuse the bind", () => {
    const { mine, ref } = both({ "e.cfg": cfg }, ["-c", "-f", "e.cfg"], { ADDR: "127.0.0.1" });
    expect(mine.code).toBe(1);
    expect(norm(mine.stderr)[0]).toMatch(/^\[ALERT\] parsing \[e\.cfg:7\] : 'bind' : missing port number: '127\.0\.0\.1:/);
    if (ref) expect(ref.code).toBe(1);
  });
});

describe("-D detaches the standard streams (item 3)", () => {
  /** Start `<bin> -D -p pidfile -f cfg` with stdout/stderr on pipes, as `... 2>&1 | cat` does. */
  function daemon(bin: string[], cfgText: string) {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "d.cfg"), cfgText);
    const pidfile = path.join(dir, "d.pid");
    const t0 = Date.now();
    // spawnSync returns only when every holder of the pipes has closed them: a daemon that
    // keeps them makes it time out (status null).
    const r = spawnSync(bin[0], [...bin.slice(1), "-D", "-p", pidfile, "-f", "d.cfg"], { cwd: dir, encoding: "utf8", timeout: 15_000 });
    const pids = fs.existsSync(pidfile) ? fs.readFileSync(pidfile, "utf8").split("\n").filter(Boolean).map(Number) : [];
    return { r, ms: Date.now() - t0, pids };
  }
  const std = (pid: number) => [0, 1, 2].map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));

  it.skipIf(process.platform !== "linux")("returns at once with its pipes closed; the daemon's stdin/stdout/stderr are /dev/null, as 1.8.0's", async () => {
    const port = 19400 + (process.pid % 500);
    const cfgText = DEFAULTS + `listen l\n  bind 127.0.0.1:${port}\n  server s1 127.0.0.1:9\nfrontend f\n  bind 127.0.0.1:${port + 1}\n`;
    const peers: [string, string[]][] = [["hapoll", [process.execPath, BIN]]];
    if (H18.bin) peers.push(["1.8.0", [H18.bin]]);
    for (const [name, bin] of peers) {
      const { r, ms, pids } = daemon(bin, cfgText);
      try {
        expect(r.status, `${name}: ${r.stderr}`).toBe(0);
        expect(ms).toBeLessThan(10_000);
        expect(pids.length).toBe(1);
        // 1.8.0 closes them (its epoll fd and pipes then take the numbers); hapoll opens /dev/null.
        if (name === "hapoll") expect(std(pids[0])).toEqual(["/dev/null", "/dev/null", "/dev/null"]);
      } finally {
        for (const p of pids) process.kill(p, "SIGKILL");
      }
      // Let the port go before the next peer binds it.
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  it("a daemon that cannot start reports it on the caller's stderr and exits 1", () => {
    const bad = DEFAULTS + "listen l\n  bind 127.0.0.1:19001\n  server s1 no.such.host.invalid:80\n";
    const { r, pids } = daemon([process.execPath, BIN], bad);
    expect(pids).toEqual([]);
    expect(r.status).toBe(1);
    expect(norm(r.stderr)).toEqual([
      "[ALERT] parsing [d.cfg:8] : 'server s1' : could not resolve address 'no.such.host.invalid'.",
      "[ALERT] Failed to initialize server(s) addr.",
    ]);
  });
});
