#!/usr/bin/env node
/*
 * `npm run reliability [-- --records FILE] [-- --print]`: regenerate docs/reliability.md's fault
 * injection table in one command. Compiles the TypeScript (scripts/pretest.js), runs
 * test/e2e/faults.test.ts and test/e2e/soak.test.ts with HAPOLL_RELIABILITY_OUT pointing at a fresh
 * file, renders the records (scripts/reliability-report.js) and writes them into the doc between
 * the `<!-- reliability-table:begin -->` and `<!-- reliability-table:end -->` markers, with the
 * commit measured. About a minute on 2 CPUs. Not part of `npm test` (which runs the same suites
 * without writing anything).
 *
 *   --records FILE   render an existing records file instead of running the suites
 *   --print          print the table instead of editing the doc
 *
 * A failing scenario is written into the table as FAIL (the doc shows what happened) and the exit
 * status is 1. The other figures of the doc (soak runs of several minutes, sanitizers, valgrind,
 * the parser properties) come from the commands listed at its top, run by hand.
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { parseFlags } = require("../bench/lib/common.js");
const { readRecords, render } = require("./reliability-report.js");

const ROOT = path.resolve(__dirname, "..");
const DOC = path.join(ROOT, "docs", "reliability.md");
const BEGIN = "<!-- reliability-table:begin (written by `npm run reliability`; edit outside the markers) -->";
const END = "<!-- reliability-table:end -->";

function git(args) {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

/** The commit measured, and whether the code that runs (not docs/) differed from it. */
function measuredAt() {
  const commit = git(["rev-parse", "--short=10", "HEAD"]) || "unknown commit";
  const dirty = git(["status", "--porcelain", "--", "src", "native", "bin", "binding.gyp", "test", "scripts", "package.json"]);
  return dirty ? `${commit} + uncommitted changes` : commit;
}

function main() {
  const f = parseFlags(process.argv.slice(2), { records: "v", print: "bool" }, {
    usage: "usage: npm run reliability [-- --records FILE] [-- --print]",
  });
  let file = f.records;
  let vitestStatus = 0;
  if (!file) {
    const pre = spawnSync(process.execPath, [path.join(ROOT, "scripts", "pretest.js")], { cwd: ROOT, stdio: "inherit" });
    if (pre.status !== 0) process.exit(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-reliability-"));
    file = path.join(dir, "records.jsonl");
    const started = Date.now();
    const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "vitest"), ["run", "test/e2e/faults.test.ts", "test/e2e/soak.test.ts"], {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, HAPOLL_RELIABILITY_OUT: file },
    });
    vitestStatus = r.status ?? 1;
    console.log(`reliability: suites done in ${((Date.now() - started) / 1000).toFixed(0)} s (vitest exit ${vitestStatus}); records in ${file}`);
    if (!fs.existsSync(file)) {
      console.error("reliability: no record was written: nothing to render");
      process.exit(1);
    }
  }
  const { md, pass, fail } = render(readRecords(file));
  const stamp = `Measured at commit ${measuredAt()} on ${new Date().toISOString().slice(0, 10)} (Linux ${os.release()}, Node ${process.versions.node}, ${os.cpus().length} CPUs).`;
  const block = `${BEGIN}\n\n${stamp}\n\n${md}\n${END}`;
  if (f.print) {
    process.stdout.write(block + "\n");
  } else {
    const doc = fs.readFileSync(DOC, "utf8");
    const b = doc.indexOf(BEGIN);
    const e = doc.indexOf(END);
    if (b < 0 || e < b) {
      console.error(`reliability: the markers are missing from ${path.relative(ROOT, DOC)}:\n  ${BEGIN}\n  ${END}`);
      process.exit(1);
    }
    fs.writeFileSync(DOC, doc.slice(0, b) + block + doc.slice(e + END.length));
    console.log(`reliability: ${path.relative(ROOT, DOC)} updated: ${pass} pass, ${fail} fail`);
  }
  if (fail || vitestStatus !== 0) process.exit(1);
}

main();
