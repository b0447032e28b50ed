"use strict";
/*
 * Where the proxy bench finds its HAProxy peers, and which proxies it can run on this machine.
 *
 * HAProxy 2.6 is Debian's `haproxy` on the PATH. HAProxy 1.8.0 (the release hapoll reimplements, the
 * like-for-like peer) is built from the tarball in the project's shared folder beside the checkout:
 * ../shared/peers/build-haproxy18.sh prints the binary's path (building it once, about 30 s, with make
 * and gcc). $HAPOLL_HAPROXY18 names a binary instead. A peer that cannot be found is skipped with the
 * reason, never an error: the bench runs with what the machine has.
 */
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..", "..");
/** The build script of HAProxy 1.8.0, in the shared folder beside the checkout. */
const HAPROXY18_SCRIPT = path.resolve(ROOT, "..", "shared", "peers", "build-haproxy18.sh");

/** First line of `<bin> -v`, or null when it does not run. */
function versionOf(bin) {
  const r = spawnSync(bin, ["-v"], { encoding: "utf8", timeout: 5000 });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout || ""}${r.stderr || ""}`.trim().split("\n")[0] || null;
}

/**
 * Locate HAProxy 1.8.0. <opts>: { env (default process.env), script (default HAPROXY18_SCRIPT),
 * timeoutMs (default 180 s: a first build) }. Resolves { bin, version } or { reason }.
 */
function locateHaproxy18(opts = {}) {
  const env = opts.env || process.env;
  const script = opts.script || HAPROXY18_SCRIPT;
  let bin, from;
  if (env.HAPOLL_HAPROXY18) {
    bin = path.resolve(env.HAPOLL_HAPROXY18);
    from = "$HAPOLL_HAPROXY18";
  } else {
    if (!fs.existsSync(script)) return { reason: `${script} not found (the shared peers folder is not beside the checkout; or set HAPOLL_HAPROXY18)` };
    const r = spawnSync("bash", [script], { encoding: "utf8", timeout: opts.timeoutMs || 180_000 });
    const why = (r.stderr || "").trim().split("\n").pop() || (r.error ? r.error.message : `exit ${r.status ?? r.signal}`);
    if (r.error || r.status !== 0) return { reason: `${path.basename(script)} failed: ${why}` };
    bin = (r.stdout || "").trim().split("\n").pop();
    from = path.basename(script);
  }
  if (!bin || !fs.existsSync(bin)) return { reason: `${from} named ${bin || "nothing"}, which does not exist` };
  const version = versionOf(bin);
  if (!version) return { reason: `${bin} -v does not run` };
  if (!/version 1\.8\.0\b/.test(version)) return { reason: `${bin} is not HAProxy 1.8.0 (${version})` };
  return { bin, version };
}

/**
 * The proxies of <proxies> this machine can run, and a note per one left out. <have>(cmd) says whether
 * a command is on the PATH; <haproxy18> is locateHaproxy18()'s answer (asked only when a 1.8.0 row is
 * wanted). Proxies of kind "haproxy" get a `cmd`: the binary to start.
 */
function runnableProxies(proxies, have, haproxy18) {
  const notes = [];
  let out = proxies;
  if (out.some((p) => p.kind === "haproxy" && !p.v18) && !have("haproxy")) {
    out = out.filter((p) => !(p.kind === "haproxy" && !p.v18));
    notes.push("haproxy is not installed: no HAProxy 2.6 rows (apt-get install haproxy)");
  }
  if (out.some((p) => p.v18)) {
    const h = haproxy18();
    if (h.bin) out = out.map((p) => (p.v18 ? { ...p, cmd: h.bin } : p));
    else {
      out = out.filter((p) => !p.v18);
      notes.push(`HAProxy 1.8.0 skipped: ${h.reason}`);
    }
  }
  return { proxies: out.map((p) => (p.kind === "haproxy" && !p.cmd ? { ...p, cmd: "haproxy" } : p)), notes };
}

module.exports = { HAPROXY18_SCRIPT, locateHaproxy18, runnableProxies, versionOf };
