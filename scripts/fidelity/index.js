#!/usr/bin/env node
"use strict";
/**
 * The differential harness of issue 10: runs each scenario through HAProxy 1.8.0 and hapoll under
 * strace, normalises both captures and diffs them, per poller.
 *
 *   npm run fidelity -- [--scenario NAME[,NAME]] [--poller epoll|poll|select] [--keep]
 *                       [--show hapoll|haproxy] [--self] [--jobs N] [--write-doc] [--side-by-side]
 *
 * --self compares HAProxy 1.8.0 against a second run of itself (the determinism check).
 * --write-doc runs both comparisons and rewrites the results section of docs/fidelity.md.
 * --side-by-side prints the first scenario under the first poller as a Markdown table (HAProxy's
 * normalised syscalls beside hapoll's); docs/gen-internals.js quotes it in docs/internals.md.
 * Exits 1 when a diff is non-empty, 2 when HAProxy 1.8.0 or strace is missing.
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { SCENARIOS } = require("./scenarios");
const { runScenario, findHaproxy, findStrace } = require("./runner");
const { normalise, RULES } = require("./normalise");
const { unifiedDiff } = require("./diff");
const { parseFlags } = require("../../bench/lib/common.js");

const POLLERS = ["epoll", "poll", "select"];
const DOC = path.resolve(__dirname, "../../docs/fidelity.md");

/** Run <sc> with <prog> and <poller>; returns the normalised lines (client transcript first). */
async function capture(sc, prog, poller, env) {
  const r = await runScenario(sc, prog, poller, env);
  const n = r.trace ? normalise(r.trace, { roles: r.roles }) : { lines: ["# no capture"], stats: {} };
  const lines = [...r.log.map((l) => (l.startsWith("#") ? l : `# client: ${l}`)), ...n.lines];
  if (env.keep) {
    fs.writeFileSync(path.join(r.dir, "normalised.txt"), lines.join("\n") + "\n");
  } else {
    fs.rmSync(r.dir, { recursive: true, force: true });
  }
  return { lines, dir: r.dir, stats: n.stats };
}

/**
 * Compare two programs on one scenario and poller.
 * @param {"hapoll"|"haproxy"} left  usually "haproxy" (the reference)
 * @param {"hapoll"|"haproxy"} right "hapoll", or "haproxy" for the determinism check
 */
async function compare(sc, poller, left, right, env) {
  const a = await capture(sc, left, poller, env);
  const b = await capture(sc, right, poller, env);
  const tag = (p, x) => `${p}${left === right ? (x === a ? "#1" : "#2") : ""} ${sc.name} ${poller}`;
  const d = unifiedDiff(a.lines, b.lines, tag(left, a), tag(right, b));
  return { scenario: sc.name, poller, left: a, right: b, diff: d.text, changed: d.changed };
}

/** Environment check: returns { haproxy, strace } paths or { skip: reason }. */
function environment(opts = {}) {
  const h = findHaproxy(opts.build);
  if (!h.path) return { skip: h.reason };
  const s = findStrace();
  if (!s.path) return { skip: s.reason };
  return { haproxy: h.path, strace: s.path };
}

/** Run <tasks> (functions returning promises) <jobs> at a time, keeping order of results. */
async function pool(tasks, jobs) {
  const res = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, jobs) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        res[i] = await tasks[i]();
      }
    }),
  );
  return res;
}

function table(results, scenarios, pollers) {
  const cell = (r) => (!r ? "-" : r.changed === 0 ? "identical" : `${r.changed} lines differ`);
  const rows = [`| scenario | ${pollers.join(" | ")} |`, `|---|${pollers.map(() => "---").join("|")}|`];
  for (const sc of scenarios) {
    rows.push(
      `| ${sc.name} | ${pollers.map((p) => cell(results.find((r) => r.scenario === sc.name && r.poller === p))).join(" | ")} |`,
    );
  }
  return rows.join("\n");
}

/**
 * A comparison as a Markdown table, one row per line of the aligned sequences (the unified diff's
 * own alignment), with "=" where both programs made the same call and "≠" where they did not.
 */
function sideBySide(r) {
  const esc = (x) => (x === "" ? "" : "`" + x.replace(/\|/g, "\\|") + "`");
  const rows = ["| | HAProxy 1.8.0 | hapoll |", "|---|---|---|"];
  const a = r.left.lines;
  const b = r.right.lines;
  // Longest common subsequence, then walk it: equal lines side by side, the rest one-sided.
  const n = a.length;
  const m = b.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) rows.push(`| = | ${esc(a[i++])} | ${esc(b[j++])} |`);
    else if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) rows.push(`| ≠ | | ${esc(b[j++])} |`);
    else rows.push(`| ≠ | ${esc(a[i++])} | |`);
  }
  return rows.join("\n") + "\n";
}

/** First changed line of a diff, as a one-line summary. */
function firstChange(r) {
  const l = r.diff.split("\n").find((x) => /^[-+][^-+]/.test(x));
  return l ?? "";
}

function parseArgs(argv) {
  const f = parseFlags(argv, { scenario: "v", poller: "v", keep: "bool", show: "v", self: "bool", jobs: "v", "write-doc": "bool", "side-by-side": "bool" },
    { usage: fs.readFileSync(__filename, "utf8").split("\n").slice(3, 13).join("\n") });
  const o = {
    scenarios: f.scenario ? f.scenario.split(",") : null,
    pollers: f.poller ? f.poller.split(",") : POLLERS,
    keep: !!f.keep,
    show: f.show ?? null,
    self: !!f.self,
    jobs: Number(f.jobs ?? 2),
    writeDoc: !!f["write-doc"],
    sideBySide: !!f["side-by-side"],
  };
  for (const p of o.pollers) if (!POLLERS.includes(p)) throw new Error(`unknown poller ${p}`);
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const env = environment({ build: true });
  if (env.skip) {
    console.error(`fidelity: cannot run: ${env.skip}`);
    process.exit(2);
  }
  env.keep = o.keep;
  env.tmpRoot = os.tmpdir();
  const scenarios = o.scenarios ? SCENARIOS.filter((s) => o.scenarios.includes(s.name)) : SCENARIOS;
  if (o.scenarios && scenarios.length !== o.scenarios.length)
    throw new Error(`unknown scenario; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  if (o.sideBySide) {
    // One scenario and poller, as a Markdown table: HAProxy's normalised syscalls beside hapoll's.
    const r = await compare(scenarios[0], o.pollers[0], "haproxy", "hapoll", env);
    process.stdout.write(sideBySide(r));
    process.exit(r.changed ? 1 : 0);
  }
  const t0 = Date.now();
  const runs = o.writeDoc ? [["haproxy", "haproxy"], ["haproxy", "hapoll"]] : [o.self ? ["haproxy", "haproxy"] : ["haproxy", "hapoll"]];
  const all = {};
  let failed = false;
  for (const [l, r] of runs) {
    const tasks = [];
    for (const sc of scenarios) for (const p of o.pollers) tasks.push(() => compare(sc, p, l, r, env));
    const results = await pool(tasks, o.jobs);
    all[`${l}-${r}`] = results;
    for (const res of results) {
      if (o.show) {
        const side = o.show === "hapoll" ? res.right : res.left;
        console.log(`==== ${o.show} ${res.scenario} ${res.poller}\n${side.lines.join("\n")}`);
      }
      if (res.changed) {
        failed = true;
        if (!o.writeDoc) process.stdout.write(res.diff);
      }
      if (o.keep) console.log(`kept: ${res.left.dir} ${res.right.dir}`);
    }
    console.log(`\n${l} vs ${r}:\n${table(results, scenarios, o.pollers)}`);
  }
  console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (o.writeDoc) writeDoc(all, scenarios, o.pollers);
  process.exit(failed ? 1 : 0);
}

/** Rewrite the generated sections of docs/fidelity.md (rules table and results). */
function writeDoc(all, scenarios, pollers) {
  let doc = fs.readFileSync(DOC, "utf8");
  const self = all["haproxy-haproxy"];
  const vs = all["haproxy-hapoll"];
  const summary = scenarios
    .map((sc) => {
      const r = vs.find((x) => x.scenario === sc.name && x.changed) ?? null;
      return `- **${sc.name}** (${sc.title}): ${r ? "`" + firstChange(r).replace(/`/g, "'") + "`" + ` (${r.poller}, first changed line)` : "identical"}`;
    })
    .join("\n");
  const gen =
    `<!-- results:begin (generated by npm run fidelity -- --write-doc) -->\n` +
    `Generated ${new Date().toISOString().slice(0, 10)} on ${os.platform()} ${os.release()}, Node ${process.version}.\n\n` +
    `HAProxy 1.8.0 against itself (determinism):\n\n${table(self, scenarios, pollers)}\n\n` +
    `hapoll against HAProxy 1.8.0:\n\n${table(vs, scenarios, pollers)}\n\n` +
    `First difference per scenario:\n\n${summary}\n` +
    `<!-- results:end -->`;
  doc = doc.replace(/<!-- results:begin[\s\S]*<!-- results:end -->/, gen);
  doc = doc.replace(/<!-- rules:begin[\s\S]*<!-- rules:end -->/, rulesTable());
  fs.writeFileSync(DOC, doc);
  console.log(`wrote ${DOC}`);
}

/** The rules table of docs/fidelity.md, from RULES. */
function rulesTable() {
  const rows = RULES.map((r) => `| \`${r.name}\` | ${r.kind} | ${r.what} | ${r.why} |`);
  return `<!-- rules:begin (generated from scripts/fidelity/normalise.js) -->\n| rule | kind | masks or drops | why |\n|---|---|---|---|\n${rows.join("\n")}\n<!-- rules:end -->`;
}

module.exports = { compare, capture, environment, pool, table, rulesTable, POLLERS, SCENARIOS };

if (require.main === module) {
  main().catch((e) => {
    console.error(`fidelity: ${e.stack ?? e}`);
    process.exit(3);
  });
}
