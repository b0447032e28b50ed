#!/usr/bin/env node
"use strict";
/*
 * docs/benchmarks.md from the last results (docs/bench-pollers.json, docs/bench-proxy.json).
 *
 * The parts between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` are rewritten; everything
 * else in the file (the analysis, written by a person from profiles) is kept as it is. A missing
 * file is created with the generated parts only.
 *
 *   node bench/report.js [--out DIR]
 */
const fs = require("node:fs");
const path = require("node:path");
const { fmt, fmtRatio, mdTable, machineMd, parseFlags, writeOut, ROOT } = require("./lib/common");
const { ratioRows, RATIO_HEADERS } = require("./proxy/index");

function load(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/** The table proposed for the README: one column per proxy, the headline figures. */
function summary(pol, px) {
  let s = "";
  if (px) {
    const cols = ["none", "haproxy18", "haproxy", "hapoll-epoll", "node-net"].filter((id) => px.summary[id]);
    const lab = (id) => px.summary[id].label;
    const S = px.summary;
    const cell = (id, v) => (id === "none" ? "n/a" : fmt(v));
    // Total, then its user + sys parts (medians each, so the parts need not add up exactly).
    const split = (id, wl) => (id === "none" ? "n/a" : `${fmt(S[id][wl].cpu)} (${fmt(S[id][wl].user)} + ${fmt(S[id][wl].sys)})`);
    const spliced = (id, k) => {
      if (id === "haproxy") {
        const a = S["haproxy-splice"], f = S["haproxy-splice-forced"];
        return [a && `auto ${fmt(a.iperf[k])}`, f && `forced ${fmt(f.iperf[k])}`].filter(Boolean).join(", ") || "-";
      }
      if (id === "hapoll-epoll") return S["hapoll-splice"] ? `auto ${fmt(S["hapoll-splice"].iperf[k])}` : "-";
      return "n/a";
    };
    const rows = [
      ["keep-alive requests/s (wrk -t1 -c50)", ...cols.map((id) => fmt(S[id].ka.rps))],
      ["p99 latency, keep-alive (ms)", ...cols.map((id) => fmt(S[id].ka.p99))],
      ["proxy CPU µs per keep-alive request (user + sys)", ...cols.map((id) => split(id, "ka"))],
      ["proxy CPU µs per new connection (user + sys)", ...cols.map((id) => split(id, "close"))],
      ["iperf3 Gbit/s", ...cols.map((id) => fmt(S[id].iperf.gbps))],
      ["proxy CPU s per 10 GB (user + sys)", ...cols.map((id) => split(id, "iperf"))],
      ["iperf3 Gbit/s with splice", ...cols.map((id) => spliced(id, "gbps"))],
      ["proxy CPU s per 10 GB with splice", ...cols.map((id) => spliced(id, "cpu"))],
      ["RSS bytes per idle connection", ...cols.map((id) => cell(id, S[id].idle.bytesPerConn))],
    ];
    s += mdTable(["proxy bench (medians of " + px.opts.reps + " runs)", ...cols.map(lab)], rows, true);
    s += `\nhapoll epoll's CPU per unit of work over each HAProxy's (below 1: hapoll used less), and the Node proxy's over hapoll's:\n\n`;
    s += mdTable(RATIO_HEADERS, ratioRows(px));
    s += `\nOn a shared machine, throughput and latency move a lot between runs and between the rounds of one run; the CPU\n`;
    s += `per unit of work, read from /proc for the proxy process alone, is steadier, and the targets are stated on it.\n`;
  }
  if (pol) {
    const t = pol.configs.filter((c) => c.nReq === 10000 && c.a === 100);
    if (t.length) {
      s += `\n`;
      s += mdTable(["poller bench, N = 10000* pairs, A = 100 active", ...t.map((c) => c.poller)], [
        ["hapoll µs per event", ...t.map((c) => fmt(c.hEv))],
        ["plain C loop µs per event", ...t.map((c) => fmt(c.cEv))],
        ["hapoll / C", ...t.map((c) => fmtRatio(c.ratio))],
      ]);
      const sub = t.find((c) => c.n !== c.nReq);
      if (sub) s += `\n\\* N = ${sub.n}: 10000 pairs need more fds than this machine's RLIMIT_NOFILE hard limit (${pol.hardNofile}) allows.\n`;
    }
  }
  return s || "(no results yet: run `npm run bench`)\n";
}

function targetsMd(pol, px) {
  const lines = [];
  if (pol) for (const v of pol.verdicts) lines.push(`- poller bench: ${v}`);
  if (px) {
    for (const t of px.targets) {
      const r = t.rounds && t.rounds.length ? ` (single rounds: ${t.rounds.map((x) => x.toFixed(2)).join(", ")})` : "";
      lines.push(`- proxy bench${t.source ? ` (${t.source})` : ""}: ${t.what} = ${fmtRatio(t.value)}${r}; target ${t.cmp} ${t.limit}x: ${t.ok === null ? "not measured" : t.ok ? "**met**" : "**missed**"}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "(no results yet)\n";
}

/** A bench-*.md without its title and machine section, headings pushed one level down. */
function embed(file) {
  let t;
  try {
    t = fs.readFileSync(file, "utf8");
  } catch {
    return `(missing: ${path.basename(file)})\n`;
  }
  t = t.replace(/^# .*\n+/, "").replace(/\n## Machine\n[\s\S]*$/, "\n");
  return t.replace(/^## /gm, "### ");
}

function generated(pol, px, out) {
  const machine = (px || pol || {}).machine;
  const parts = {};
  parts.summary = summary(pol, px);
  parts.targets = targetsMd(pol, px);
  parts.machine = machine ? machineMd(machine) : "(no results yet)\n";
  parts.commands = [
    "```sh",
    "apt-get install -y haproxy nginx wrk iperf3   # the peers and the load generators (Debian)",
    "bash ../shared/peers/build-haproxy18.sh       # HAProxy 1.8.0 (make, gcc; ~30 s once; the bench calls it too)",
    "npm install                                   # builds the addon and dist/",
    "npm run bench                                 # both benches, then this file",
    "npm run bench -- --quick                      # shorter runs",
    "npm run bench:pollers                         # the poller bench alone",
    "npm run bench:proxy                           # the proxy bench alone",
    "node bench/proxy/index.js --only hapoll-epoll,haproxy18 --workloads iperf --strace   # syscall counts",
    "node bench/proxy/index.js --only hapoll-epoll --workloads iperf --reps 1 --no-write \\",
    "     --node-args \"--cpu-prof --cpu-prof-dir=/tmp/prof\" && node bench/tools/cpuprofile-top.js /tmp/prof/*.cpuprofile",
    "```",
    "",
    [pol && `\`${pol.command}\``, px && `\`${px.command}\``].filter(Boolean).length
      ? `This run: ${[pol && `\`${pol.command}\``, px && `\`${px.command}\``].filter(Boolean).join(" and ")}.` +
        (px && px.elapsedS ? ` The proxy bench took ${Math.round(px.elapsedS / 60 * 10) / 10} min.` : "")
      : "",
    "",
  ].join("\n");
  parts.pollers = embed(path.join(out, "bench-pollers.md"));
  parts.proxy = embed(path.join(out, "bench-proxy.md"));
  return parts;
}

const SKELETON = `# Benchmarks

Summary (the README quotes it: bench/report.js writes both):

<!-- generated:summary -->
<!-- /generated:summary -->

## Targets

<!-- generated:targets -->
<!-- /generated:targets -->

## Machine

<!-- generated:machine -->
<!-- /generated:machine -->

## Reproduce

<!-- generated:commands -->
<!-- /generated:commands -->

## Poller bench

<!-- generated:pollers -->
<!-- /generated:pollers -->

## Proxy bench

<!-- generated:proxy -->
<!-- /generated:proxy -->

## Analysis

(to be written from profiles)
`;

function main() {
  const flags = parseFlags(process.argv.slice(2), { out: "v" });
  const out = path.resolve(flags.out || path.join(ROOT, "docs"));
  const pol = load(path.join(out, "bench-pollers.json"));
  const px = load(path.join(out, "bench-proxy.json"));
  const file = path.join(out, "benchmarks.md");
  let doc = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : SKELETON;
  const parts = generated(pol, px, out);
  for (const [name, text] of Object.entries(parts)) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(doc)) {
      process.stderr.write(`bench:report: no <!-- generated:${name} --> section in ${file}; left out\n`);
      continue;
    }
    doc = doc.replace(re, (_, a, b) => `${a}${text.endsWith("\n") ? text : text + "\n"}${b}`);
  }
  writeOut(file, doc);
  process.stderr.write(`bench:report: wrote ${path.relative(process.cwd(), file)}\n`);
  // The README quotes the same run (its summary and targets), never figures typed by hand.
  if (out === path.join(ROOT, "docs")) writeReadme(pol, px, parts);
}

/** Rewrite README.md's `<!-- generated:bench -->` section from this run. */
function writeReadme(pol, px, parts) {
  const file = path.join(ROOT, "README.md");
  let doc = fs.readFileSync(file, "utf8");
  const re = /(<!-- generated:bench -->\n)[\s\S]*?(<!-- \/generated:bench -->)/;
  if (!re.test(doc)) {
    process.stderr.write("bench:report: no <!-- generated:bench --> section in README.md; left out\n");
    return;
  }
  const m = (px || pol || {}).machine || {};
  const head =
    `Measured by \`${[pol && pol.command, px && px.command].filter(Boolean).join("` and `")}\` at commit ${m.commit ?? "?"} ` +
    `(${m.date ?? "?"}; ${m.nproc ?? "?"} CPUs; load average ${m.loadavg ?? "?"}): ` +
    "every figure below and in docs/benchmarks.md comes from that one run.\n\n";
  doc = doc.replace(re, (_, a, b) => `${a}${head}${parts.summary}\nTargets (issue 12):\n\n${parts.targets}${b}`);
  writeOut(file, doc);
  process.stderr.write("bench:report: wrote README.md (generated:bench)\n");
}

main();
