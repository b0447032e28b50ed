#!/usr/bin/env node
/*
 * Render the reliability records written by the fault-injection and soak suites
 * (test/e2e/fault-helpers.ts record(), one JSON object per line) as the markdown table of
 * docs/reliability.md. `npm run reliability` (scripts/reliability.js) runs the suites and writes the
 * table into the doc; by hand:
 *
 *   rm -f /tmp/rel.jsonl
 *   HAPOLL_RELIABILITY_OUT=/tmp/rel.jsonl npx vitest run test/e2e/faults.test.ts test/e2e/soak.test.ts
 *   node scripts/reliability-report.js /tmp/rel.jsonl
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

/** The records of a JSON-lines file. */
function readRecords(file) {
  return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * The table and the notes, as markdown. The two suites run in parallel and append as they finish,
 * so the rows are put back in a stable order: the fault scenarios as they ran, the soak last.
 */
function render(records) {
  const rows = [...records.filter((r) => r.suite !== "soak"), ...records.filter((r) => r.suite === "soak")];
  const mib = (b) => (b / 1048576).toFixed(b >= 10 * 1048576 ? 0 : 1);
  const outcomes = (o) => Object.entries(o || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  const arrow = (a, b) => (a === undefined ? "n/a" : `${a} → ${b}`);

  const head = "| fault | times injected | connections | outcomes | bytes verified (completed, exact) | cut transfers: exact-prefix bytes | hapoll fds before → after | hapoll RSS KiB before → after | result |";
  const sep = "|---|---:|---:|---|---:|---:|---|---|---|";
  const lines = [head, sep];
  const tot = { injected: 0, connections: 0, bytes: 0, prefix: 0, pass: 0, fail: 0 };
  for (const r of rows) {
    lines.push(`| ${r.fault} | ${r.injected} | ${r.connections} | ${outcomes(r.outcomes)} | ${mib(r.bytesVerified)} MiB | ${mib(r.prefixBytesVerified)} MiB | ${arrow(r.fdBefore, r.fdAfter)} | ${arrow(r.rssBeforeKiB, r.rssAfterKiB)} | ${r.result} |`);
    tot.injected += r.injected;
    tot.connections += r.connections;
    tot.bytes += r.bytesVerified;
    tot.prefix += r.prefixBytesVerified;
    if (r.result === "pass") tot.pass++;
    else tot.fail++;
  }
  lines.push(`| **total** | **${tot.injected}** | **${tot.connections}** | | **${mib(tot.bytes)} MiB** | **${mib(tot.prefix)} MiB** | | | **${tot.pass} pass, ${tot.fail} fail** |`);
  let md = lines.join("\n") + "\n";
  const notes = rows.filter((r) => r.notes).map((r) => `- ${r.fault}: ${r.notes.replace(/;\s*$/, "")}`);
  if (notes.length) md += "\nNotes per scenario:\n\n" + notes.join("\n") + "\n";
  return { md, pass: tot.pass, fail: tot.fail };
}

module.exports = { readRecords, render };

if (require.main === module) {
  const file = process.argv[2] || process.env.HAPOLL_RELIABILITY_OUT || path.join(os.tmpdir(), "hapoll-reliability.jsonl");
  process.stdout.write(render(readRecords(file)).md);
}
