"use strict";
/*
 * Helpers shared by the benchmarks: statistics, tables (text and Markdown), the machine
 * description, a progress line on stderr and command-line flags. No dependency.
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

/** Median of a list of numbers (mean of the two middle ones for an even count); NaN when empty. */
function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length & 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Smallest and largest finite value, or [NaN, NaN]. */
function range(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return [NaN, NaN];
  return [Math.min(...v), Math.max(...v)];
}

/** A number with <digits> significant digits, thousands kept readable; "-" for NaN/undefined. */
function fmt(x, digits = 3) {
  if (x === undefined || x === null || !Number.isFinite(x)) return "-";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString("en-US");
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(d);
}

/** A ratio as "1.23x"; "-" when undefined. */
function fmtRatio(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : "-";
}

/** Plain-text table with right-aligned columns (the first one left-aligned). */
function textTable(headers, rows) {
  const all = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const w = headers.map((_, i) => Math.max(...all.map((r) => (r[i] || "").length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(all[0]), w.map((n) => "-".repeat(n)).join("  "), ...all.slice(1).map(line)].join("\n") + "\n";
}

/** Markdown table; numeric-looking columns (every column but the first with <allRight>) are right-aligned. */
function mdTable(headers, rows, allRight = false) {
  const esc = (c) => String(c).replace(/\|/g, "\\|");
  const numeric = headers.map((_, i) => i > 0 && (allRight || rows.every((r) => /^[-+0-9.,x%~≈* ]*$|^-$|^n\/a$/.test(String(r[i])))));
  return [
    `| ${headers.map(esc).join(" | ")} |`,
    `|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n") + "\n";
}

function firstLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5000 });
    const out = `${r.stdout || ""}${r.stderr || ""}`.trim().split("\n")[0];
    return r.error ? null : out || null;
  } catch {
    return null;
  }
}

/**
 * The commit measured: `git rev-parse --short HEAD`, plus the paths under src/, native/ and bench/ that
 * differ from it (a measurement of uncommitted code says so). null outside a git checkout.
 */
function commitInfo() {
  const git = (args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8", timeout: 5000 });
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (head.error || head.status !== 0) return null;
  const dirty = git(["status", "--porcelain", "--", "src", "native", "bench"]).stdout || "";
  const files = dirty.split("\n").filter(Boolean).map((l) => l.slice(3));
  return head.stdout.trim() + (files.length ? ` plus uncommitted changes (${files.join(", ")})` : "");
}

/** What the numbers were measured on. */
function machineInfo() {
  let cpu = "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpu = m[1].trim();
  } catch {
    cpu = os.cpus()[0]?.model || cpu;
  }
  let load;
  try {
    load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    load = os.loadavg().map((x) => x.toFixed(2)).join(" ");
  }
  return {
    date: new Date().toISOString(),
    commit: commitInfo(),
    nproc: os.cpus().length,
    cpu,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: load,
    haproxy: firstLine("haproxy", ["-v"]),
    nginx: firstLine("nginx", ["-v"]),
    wrk: firstLine("wrk", ["--version"]),
    iperf3: firstLine("iperf3", ["--version"]),
    cc: firstLine("cc", ["--version"]),
  };
}

/** The machine as Markdown bullet lines. */
function machineMd(m, keys) {
  const names = {
    date: "date", commit: "commit measured", nproc: "nproc", cpu: "CPU", kernel: "kernel", node: "node", memGB: "memory (GB)",
    loadavg: "load average (1, 5, 15 min)", haproxy: "haproxy", haproxy18: "haproxy 1.8.0", nginx: "nginx", wrk: "wrk", iperf3: "iperf3", cc: "cc",
  };
  return (keys || Object.keys(names)).filter((k) => m[k] !== undefined && m[k] !== null)
    .map((k) => `- ${names[k]}: ${m[k]}`).join("\n") + "\n";
}

/** One progress line on stderr, rewritten in place on a terminal, one line per update otherwise. */
function progress(msg) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
  else process.stderr.write(`${msg}\n`);
}
progress.done = () => {
  if (process.stderr.isTTY) process.stderr.write("\n");
};

/** "1m05s" from milliseconds. */
function dur(ms) {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Minimal flag parser: --name value, --name=value, --flag (true). Repeated flags keep the last
 * value. Unknown flags are an error listing <known>. With <opts.usage>, -h/--help prints it and exits 0;
 * with <opts.positional>, arguments that do not start with "-" are collected in out._ (an error otherwise).
 * Values stay strings: the caller converts them.
 */
function parseFlags(argv, known, opts = {}) {
  const out = opts.positional ? { _: [] } : {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (opts.usage && (a === "-h" || a === "--help")) {
      process.stdout.write(opts.usage.endsWith("\n") ? opts.usage : `${opts.usage}\n`);
      process.exit(0);
    }
    if (opts.positional && !a.startsWith("-")) {
      out._.push(a);
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in known)) {
      throw new Error(`unknown argument "${a}"; known: ${Object.keys(known).map((k) => `--${k}`).join(" ")}`);
    }
    if (known[m[1]] === "bool") out[m[1]] = m[2] === undefined ? true : m[2] !== "false";
    else if (m[2] !== undefined) out[m[1]] = m[2];
    else if (i + 1 < argv.length) out[m[1]] = argv[++i];
    else throw new Error(`--${m[1]} needs a value`);
  }
  return out;
}

/** Comma-separated list of numbers. */
function numList(s) {
  return String(s).split(",").filter(Boolean).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bad number "${x}"`);
    return n;
  });
}

/** mkdir -p and write. */
function writeOut(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Repository root (bench/lib/..). */
const ROOT = path.resolve(__dirname, "..", "..");

module.exports = {
  median, range, fmt, fmtRatio, textTable, mdTable, machineInfo, machineMd, commitInfo, progress, dur, parseFlags,
  numList, writeOut, ROOT,
};
