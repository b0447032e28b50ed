#!/usr/bin/env node
"use strict";
/**
 * Checks the HAProxy side of docs/haproxy-map.md: every HAProxy symbol occurs, as a whole word, in the
 * HAProxy file named on its row, at tag v1.8.0 (and a `struct X` row's struct is defined there).
 * test/unit/haproxy-map.test.ts checks the hapoll side; this one needs a HAProxy checkout, which CI
 * does not have, so it is a tool to run by hand after editing the map:
 *
 *   node scripts/check-haproxy-map-upstream.js [<haproxy git dir or work tree>] [<tag>]
 *
 * The checkout defaults to $HAPROXY_GIT; the tag to v1.8.0. Exit 0 when every row checks, 1 otherwise.
 * Plain Node, no dependencies.
 */
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
const repo = process.argv[2] || process.env.HAPOLL_HAPROXY_GIT || process.env.HAPROXY_GIT;
const tag = process.argv[3] || "v1.8.0";
if (!repo) {
  process.stderr.write("usage: check-haproxy-map-upstream.js <haproxy git dir> [tag]  (or set HAPROXY_GIT)\n");
  process.exit(2);
}

const cache = new Map();
/** The text of <file> at <tag>, or null when the file does not exist there. */
function upstream(file) {
  if (!cache.has(file)) {
    let text;
    try {
      text = execFileSync("git", ["-C", repo, "show", `${tag}:${file}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
    } catch {
      text = null;
    }
    cache.set(file, text);
  }
  return cache.get(file);
}

function cells(line) {
  const s = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return s.split("|").map((c) => c.trim());
}

const md = fs.readFileSync(path.join(ROOT, "docs/haproxy-map.md"), "utf8");
let bad = 0;
let n = 0;
md.split("\n").forEach((line, i) => {
  if (!line.startsWith("|")) return;
  const c = cells(line);
  if (c.length !== 5 || c[0] === "HAProxy symbol" || /^-+$/.test(c[0])) return;
  const m = /`([^`]+)`/.exec(c[0]);
  if (!m) return;
  n++;
  const sym = m[1].replace(/\(\)$/, "");
  const file = c[1];
  const text = upstream(file);
  if (text === null) {
    process.stdout.write(`line ${i + 1}: ${sym}: ${file} does not exist at ${tag}\n`);
    bad++;
    return;
  }
  const problems = [];
  let rest = sym;
  const st = /^struct ([A-Za-z_]\w*)(.*)$/.exec(sym);
  if (st) {
    if (!new RegExp(`\\bstruct\\s+${st[1]}\\s*\\{`).test(text)) problems.push(`no 'struct ${st[1]} {'`);
    rest = st[2] ? st[2].replace(/^\./, "") : "";
  }
  // The last component of a field path (fdtab[].ev, global.tune.maxpollevents, struct stream.logs.t_connect).
  const last = rest.split(/\[\]\.|\.|->/).filter(Boolean).pop();
  if (last && !new RegExp(`(^|[^A-Za-z0-9_])${last.replace(/[$]/g, "\\$")}([^A-Za-z0-9_]|$)`).test(text)) {
    problems.push(`'${last}' not found`);
  }
  if (problems.length) {
    bad++;
    process.stdout.write(`line ${i + 1}: ${sym} in ${file}@${tag}: ${problems.join(", ")}\n`);
  }
});
process.stdout.write(`${n} rows checked against ${tag}: ${bad ? `${bad} problem(s)` : "all found"}\n`);
process.exit(bad ? 1 : 0);
