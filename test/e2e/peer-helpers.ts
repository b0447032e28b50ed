/**
 * Side-by-side runs of hapoll and HAProxy 1.8.0 (bench/proxy/peers.js locates it; a comparison is
 * skipped, with the reason printed, when it cannot be found): the same configuration and arguments
 * for both, messages normalised for what legitimately differs (1.8's date stamp, the pid, hapoll's
 * "config : " prefix and column padding). Every process is registered with onCleanup().
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, anyListening, freePort, isListening, onCleanup, sleep, tmpDir } from "./helpers";

const { locateHaproxy18 } = require("../../bench/proxy/peers.js");
/** HAProxy 1.8.0's binary, or why it cannot be found (the comparisons are then skipped, saying so). */
export const H18: { bin?: string; reason?: string } = locateHaproxy18();
if (!H18.bin) console.log(`HAProxy 1.8.0 comparisons skipped: ${H18.reason}`);

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
export function both(files: Record<string, string>, args: string[], env: Record<string, string> = {}) {
  const dir = tmpDir();
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), t);
  const mine = run(process.execPath, [BIN, ...args], { cwd: dir, env });
  const ref = H18.bin ? run(H18.bin, args, { cwd: dir, env }) : null;
  return { mine, ref, dir };
}

/** The peers a side-by-side test runs: hapoll, and 1.8.0 when found. */
export function peers(): [string, string[]][] {
  const list: [string, string[]][] = [["hapoll", [process.execPath, BIN]]];
  if (H18.bin) list.push(["1.8.0", [H18.bin]]);
  return list;
}

/**
 * Start <bin> -db -f cfg (written from <cfgText>) in a temp dir, wait until the TCP <ports> and
 * unix <paths> listen (10 s at most), and return the process with its captured outputs.
 */
export async function startPeer(bin: string[], cfgText: string, ports: number[], paths: string[] = [], args: string[] = []) {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "p.cfg"), cfgText);
  const proc = spawn(bin[0], [...bin.slice(1), "-db", ...args, "-f", "p.cfg"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  onCleanup(() => proc.kill("SIGKILL"));
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const deadline = Date.now() + 10_000;
  while (!(ports.every((p) => isListening(p) || anyListening(p)) && paths.every((p) => fs.existsSync(p)))) {
    if (proc.exitCode !== null) throw new Error(`${bin[0]} exited early (${proc.exitCode}): ${err}`);
    if (Date.now() > deadline) throw new Error(`${bin[0]} did not listen in time: ${err}`);
    await sleep(25);
  }
  const stop = async () => {
    proc.kill("SIGKILL");
    for (let i = 0; i < 100 && (ports.some(anyListening) || (proc.exitCode === null && proc.signalCode === null)); i++) await sleep(20);
  };
  return { proc, dir, stdout: () => out, stderr: () => err, stop };
}

/** <n> distinct free ports (as a list: consecutive numbers may be taken). */
export async function freePorts(n: number): Promise<number[]> {
  const got = new Set<number>();
  while (got.size < n) got.add(await freePort());
  return [...got];
}
