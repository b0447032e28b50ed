#!/usr/bin/env node
"use strict";
/*
 * The poller bench: libevent's test/bench.c method, for every poller hapoll has, through hapoll's
 * real event-loop core (bench/pollers/hapoll-run.js), side by side with the same loop written in
 * plain C against the same kernel API (bench/pollers/floor.c, compiled here at run time).
 *
 *   node bench/pollers/index.js [--quick] [--reps R] [--sizes 100,1000] [--active 1,100]
 *        [--pollers epoll,poll] [--no-floor] [--out DIR] [--no-write]
 *
 * Each configuration (poller, N pairs, A active chains) is run R times by each implementation, in
 * fresh processes, rounds interleaved (round 1 of every configuration, then round 2, ...) so that a
 * burst of load from a neighbour on this shared machine hits every configuration alike. A run
 * reports the median of its timed iterations; the tables quote the median of the R runs.
 *
 * Prints a table on stdout, a progress line on stderr, and writes <out>/bench-pollers.md, .svg and
 * .json (out defaults to docs/).
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const {
  median, range, fmt, fmtRatio, textTable, mdTable, machineInfo, machineMd, progress, dur, parseFlags, numList,
  writeOut, ROOT,
} = require("../lib/common");
const { lineChart, COLORS } = require("../lib/svg");

const DEFAULT_SIZES = [100, 1000, 10000, 50000];
const DEFAULT_ACTIVE = [1, 100, 1000];
/** fds kept aside for what the process holds besides the pairs (stdio, libuv, the poller's own). */
const RESERVE_FDS = 64;
/**
 * poll and select scan every watched fd on each call, so a run with one active chain over 10000
 * pairs costs N x W fd scans (10^8: minutes). For them W is capped so that an iteration scans at
 * most this many fds; per-event figures stay comparable, per-iteration ones are for that W.
 */
const SCAN_BUDGET = 2e6;
/** The issue's target: per-event cost <= 1.5x the C loop at N = 10000, A = 100. */
const TARGET = { n: 10000, a: 100, ratio: 1.5 };

function usage(msg) {
  process.stderr.write(`bench:pollers: ${msg}\n`);
  process.exit(2);
}

function loadNative() {
  try {
    return require(path.join(ROOT, "dist", "native.js")).native;
  } catch (e) {
    usage(`cannot load dist/native.js (run \`npm run build\` first): ${e.message}`);
  }
}

/** Compile floor.c into a temp dir. Returns the binary's path, or null with the reason printed. */
function buildFloor(tmp) {
  const bin = path.join(tmp, "floor");
  const r = spawnSync("cc", ["-O2", "-o", bin, path.join(__dirname, "floor.c")], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    process.stderr.write(`bench:pollers: cannot compile floor.c (${r.error ? r.error.message : r.stderr.trim()}); no C floor\n`);
    return null;
  }
  return bin;
}

/** Run one child; returns its JSON result or { error }. */
function runChild(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 180_000, maxBuffer: 1 << 24 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}: ${(r.stderr || "").trim().slice(0, 300)}` };
  const line = r.stdout.trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    return { error: `bad output: ${line.slice(0, 200)}` };
  }
}

function main() {
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2), {
      quick: "bool", reps: "v", sizes: "v", active: "v", pollers: "v", "no-floor": "bool", out: "v", "no-write": "bool",
      iters: "v", "warmup-ms": "v", "budget-ms": "v",
    });
  } catch (e) {
    return usage(e.message);
  }
  const quick = !!flags.quick;
  const reps = flags.reps ? numList(flags.reps)[0] : quick ? 3 : 5;
  const sizes = flags.sizes ? numList(flags.sizes) : DEFAULT_SIZES;
  const actives = flags.active ? numList(flags.active) : DEFAULT_ACTIVE;
  const iters = flags.iters ? numList(flags.iters)[0] : quick ? 10 : 25;
  const warmupMs = flags["warmup-ms"] !== undefined ? Number(flags["warmup-ms"]) : quick ? 150 : 250;
  const budgetMs = flags["budget-ms"] !== undefined ? Number(flags["budget-ms"]) : quick ? 150 : 400;
  const outDir = path.resolve(flags.out || path.join(ROOT, "docs"));

  const loadStart = machineInfo().loadavg;
  const native = loadNative();
  const available = native.pollerNames();
  const pollers = flags.pollers ? flags.pollers.split(",").filter(Boolean) : available;
  for (const p of pollers) if (!available.includes(p)) usage(`poller "${p}" is not in this build (have: ${available.join(", ")})`);

  const lim = new Float64Array(2);
  native.getNofile(lim);
  const hard = lim[1];
  const fdSetSize = native.constants.FD_SETSIZE;
  const maxPairs = (limit) => Math.floor((limit - RESERVE_FDS) / 2);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-bench-pollers-"));
  const floor = flags["no-floor"] ? null : buildFloor(tmp);

  // The configurations, and what could not run and why.
  const configs = [];
  const skipped = [];
  for (const poller of pollers) {
    const limit = poller === "select" ? Math.min(fdSetSize, hard) : hard;
    const why = poller === "select" ? `select's FD_SETSIZE (${fdSetSize})` : `RLIMIT_NOFILE hard limit (${hard})`;
    const fit = maxPairs(limit);
    for (const nReq of sizes) {
      let n = nReq;
      let note = "";
      if (nReq > fit) {
        // A size within 5% of what fits runs at the largest size that fits (the issue's N = 10000
        // needs 20000 fds plus the process's own, one more than a 20000 hard limit allows).
        if (fit >= 0.95 * nReq) {
          n = fit;
          note = `N=${nReq} needs ${2 * nReq}+ fds, over ${why}: ran N=${fit}`;
        } else {
          skipped.push(`${poller} N=${nReq}: needs ${2 * nReq} fds plus the process's own; ${why} allows ${fit} pairs`);
          continue;
        }
      }
      for (const a of actives) {
        if (a > n) {
          skipped.push(`${poller} N=${nReq} A=${a}: more active chains than pairs`);
          continue;
        }
        const scans = poller === "poll" || poller === "select";
        const w = scans ? Math.min(n, Math.max(a, Math.floor((SCAN_BUDGET * a) / n))) : n;
        configs.push({ poller, nReq, n, a, w, note, c: [], h: [], events: 0, waitsC: 0, waitsH: 0, errors: [] });
      }
    }
  }
  if (configs.length === 0) usage("nothing to run");

  const impls = floor ? ["c", "hapoll"] : ["hapoll"];
  // Which implementation of a pair runs first alternates by round: the first of two back-to-back
  // processes that each create 2N sockets does not meet the kernel in the same state as the second.
  const order = (rep) => (rep % 2 === 0 ? [...impls].reverse() : impls);
  const total = configs.length * reps * impls.length;
  const t0 = Date.now();
  let done = 0;
  for (let rep = 1; rep <= reps; rep++) {
    for (const cfg of configs) {
      for (const impl of order(rep)) {
        const el = Date.now() - t0;
        const eta = done ? ((el / done) * (total - done)) : 0;
        progress(`bench:pollers round ${rep}/${reps}  ${cfg.poller} N=${cfg.n} A=${cfg.a} ${impl === "c" ? "C floor" : "hapoll"}` +
          `  [${done + 1}/${total}, ${dur(el)} elapsed${done ? `, ~${dur(eta)} left` : ""}]`);
        const args = [cfg.poller, cfg.n, cfg.a, cfg.w, iters, warmupMs, budgetMs].map(String);
        const r = impl === "c"
          ? runChild(floor, args)
          : runChild(process.execPath, [path.join(__dirname, "hapoll-run.js"), ...args]);
        done++;
        if (r.error) {
          cfg.errors.push(`${impl}: ${r.error}`);
          continue;
        }
        const m = median(r.usPerIter);
        // Indexed by round, so that paired ratios pair the runs of the same round.
        if (impl === "c") {
          cfg.c[rep - 1] = m;
          cfg.waitsC = r.waits;
        } else {
          cfg.h[rep - 1] = m;
          cfg.waitsH = r.waits;
        }
        cfg.events = r.events;
      }
    }
  }
  progress(`bench:pollers done in ${dur(Date.now() - t0)}`);
  progress.done();
  fs.rmSync(tmp, { recursive: true, force: true });

  // Figures per configuration.
  for (const cfg of configs) {
    cfg.cIter = median(cfg.c);
    cfg.hIter = median(cfg.h);
    cfg.cEv = cfg.cIter / cfg.events;
    cfg.hEv = cfg.hIter / cfg.events;
    cfg.ratio = cfg.hEv / cfg.cEv;
    const paired = cfg.h.map((h, i) => h / cfg.c[i]).filter(Number.isFinite);
    cfg.pairedRatio = median(paired);
    cfg.ratioRange = range(paired);
  }

  const machine = machineInfo();
  machine.loadavg = `${loadStart} at start, ${machine.loadavg} at the end`;
  const cmd = `node bench/pollers/index.js ${process.argv.slice(2).join(" ")}`.trim();
  const headers = ["poller", "N", "A", "W", "events/iter", "waits/iter (C, hapoll)", "C µs/iter", "hapoll µs/iter",
    "C µs/event", "hapoll µs/event", "hapoll/C", "paired: median (range)", "added µs/event"];
  const rows = configs.map((c) => [
    c.poller, c.n !== c.nReq ? `${c.n}*` : String(c.n), String(c.a), String(c.w), String(c.events),
    `${c.waitsC || "-"}, ${c.waitsH || "-"}`,
    fmt(c.cIter), fmt(c.hIter), fmt(c.cEv), fmt(c.hEv), fmtRatio(c.ratio),
    Number.isFinite(c.pairedRatio) ? `${c.pairedRatio.toFixed(2)} (${c.ratioRange[0].toFixed(2)}-${c.ratioRange[1].toFixed(2)})` : "-",
    fmt(c.hEv - c.cEv),
  ]);

  // The target: N = 10000 (or the size that replaced it), A = 100.
  const verdicts = configs.filter((c) => c.nReq === TARGET.n && c.a === TARGET.a && Number.isFinite(c.ratio)).map((c) =>
    `${c.poller} at N=${c.n}${c.n !== c.nReq ? "*" : ""}, A=${c.a}: hapoll/C = ${fmtRatio(c.ratio)} ` +
    `(${fmt(c.hEv)} vs ${fmt(c.cEv)} µs/event), paired per-round ratios ${c.pairedRatio.toFixed(2)} ` +
    `(${c.ratioRange[0].toFixed(2)}-${c.ratioRange[1].toFixed(2)}): target <= ${TARGET.ratio}x ` +
    `${c.ratio <= TARGET.ratio ? "MET" : "MISSED"}` +
    (c.ratioRange[0] <= TARGET.ratio && c.ratioRange[1] > TARGET.ratio ? " (rounds on both sides of it: noisy)" : ""));

  const notes = [...new Set(configs.filter((c) => c.note).map((c) => `${c.poller}: ${c.note}`))];
  const errors = configs.flatMap((c) => c.errors.map((e) => `${c.poller} N=${c.n} A=${c.a} ${e}`));

  let text = `\nPoller bench (libevent test/bench.c method): medians of ${reps} runs per configuration\n\n`;
  text += textTable(headers, rows);
  if (notes.length) text += `\n* ${notes.join("\n* ")}\n`;
  if (skipped.length) text += `\nskipped:\n  ${skipped.join("\n  ")}\n`;
  if (errors.length) text += `\nerrors:\n  ${errors.join("\n  ")}\n`;
  if (!floor) text += `\nno C floor in this run (hapoll/C ratios need it)\n`;
  if (verdicts.length) text += `\ntarget: ${verdicts.join("\n        ")}\n`;
  process.stdout.write(text);

  if (flags["no-write"]) return;
  const json = { machine, command: cmd, reps, iters, warmupMs, budgetMs, scanBudget: SCAN_BUDGET, hardNofile: hard,
    fdSetSize, configs, skipped, errors, verdicts, floor: !!floor };
  writeOut(path.join(outDir, "bench-pollers.json"), JSON.stringify(json, null, 1) + "\n");
  writeOut(path.join(outDir, "bench-pollers.md"), renderMd(json, headers, rows, notes));
  writeOut(path.join(outDir, "bench-pollers.svg"), renderSvg(json));
  process.stderr.write(`bench:pollers: wrote ${path.relative(process.cwd(), outDir) || "."}/bench-pollers.{md,svg,json}\n`);
}

function renderMd(j, headers, rows, notes) {
  let s = `# Poller bench\n\n`;
  s += `libevent's test/bench.c method, run through hapoll's event-loop core (fdtab, fd cache, update list,\n`;
  s += `NativeBackedPoller, runOneTurn) and, as the floor, through a plain C loop calling the same kernel API.\n\n`;
  s += `![cost per event vs N](bench-pollers.svg)\n\n`;
  s += `Command: \`${j.command}\` (part of \`npm run bench\`). Medians of ${j.reps} runs per configuration, each run the\n`;
  s += `median of up to ${j.iters} timed iterations after ${j.warmupMs} ms of warm-up; runs are fresh processes, rounds interleaved.\n\n`;
  s += mdTable(headers, rows);
  if (notes.length) s += `\n${notes.map((n) => `\\* ${n}`).join("  \n")}\n`;
  if (j.verdicts.length) s += `\n**Target** (per-event cost <= ${TARGET.ratio}x the C loop at N = 10000, A = 100):\n\n${j.verdicts.map((v) => `- ${v}`).join("\n")}\n`;
  if (j.skipped.length) s += `\nNot run:\n\n${j.skipped.map((x) => `- ${x}`).join("\n")}\n`;
  if (j.errors.length) s += `\nErrors:\n\n${j.errors.map((x) => `- ${x}`).join("\n")}\n`;
  s += `\n## What is measured\n\n`;
  s += `- N AF_UNIX stream socketpairs (non-blocking); every read end is watched for reading for the whole run.\n`;
  s += `- One iteration: write 1 byte into A pairs spaced N/A apart, then turn the loop with a zero timeout until\n`;
  s += `  every byte written has been read. The read callback of pair i reads 1 byte and, while writes remain\n`;
  s += `  (W of them), writes 1 byte into pair i+1. An iteration handles A + W events (\`events/iter\`).\n`;
  s += `- W = N (libevent's default) for epoll. poll and select scan all N fds per call, so for them W is capped at\n`;
  s += `  ${j.scanBudget.toExponential(0)} x A / N (only N ~ 10000, A = 1 is affected): µs/event stays comparable, µs/iter is for that W.\n`;
  s += `- hapoll: \`bench/pollers/hapoll-run.js\`: the read end's iocb is registered with fdInsert + fdWantRecv;\n`;
  s += `  each turn is runOneTurn(0) (tasks, signals, timers, NativeBackedPoller.poll, fdProcessCachedEvents).\n`;
  s += `  The iocb calls fdDoneRecv after its 1-byte read (HAProxy's short-read rule), so the fd stays polled.\n`;
  s += `  Before each iteration every event is re-armed (fdStopRecv + fdWantRecv, libevent's event_del + event_add), untimed.\n`;
  s += `- C floor: \`bench/pollers/floor.c\`, compiled with \`cc -O2\` at run time: epoll_wait with 200 events\n`;
  s += `  (HAProxy's tune.maxpollevents, also hapoll's), poll over a persistent pollfd array, select over a copied fd_set.\n`;
  s += `- \`hapoll/C\`: ratio of the medians of µs/event; \`paired\`: the per-round ratios (the two runs of a round are\n`;
  s += `  back to back, which they run first alternates by round), their median and range: how much the noise moved it;\n`;
  s += `  \`added µs/event\`: what hapoll's TypeScript core and native crossings add to each event.\n`;
  s += `- RLIMIT_NOFILE: hard limit ${j.hardNofile}; select is limited to fds < FD_SETSIZE (${j.fdSetSize}).\n`;
  s += `\n## Machine\n\n${machineMd(j.machine, ["date", "nproc", "cpu", "kernel", "node", "cc", "memGB", "loadavg"])}`;
  return s;
}

function renderSvg(j) {
  const pollers = [...new Set(j.configs.map((c) => c.poller))];
  const actives = [...new Set(j.configs.map((c) => c.a))].sort((a, b) => a - b);
  const panels = actives.map((a) => {
    const series = [];
    pollers.forEach((p, k) => {
      const cs = j.configs.filter((c) => c.poller === p && c.a === a).sort((x, y) => x.n - y.n);
      if (cs.length === 0) return;
      series.push({ name: `${p} (hapoll)`, color: COLORS[k], points: cs.map((c) => [c.n, c.hEv]) });
      if (j.floor) series.push({ name: `${p} (C loop)`, color: COLORS[k], dash: "5,4", points: cs.map((c) => [c.n, c.cEv]) });
    });
    return { title: `A = ${a} active`, series };
  });
  return lineChart({
    title: "Poller bench: µs per event vs number of socketpairs",
    subtitle: `libevent bench.c method; solid: hapoll's core, dashed: plain C loop; medians of ${j.reps} runs; ${j.machine.nproc} x ${j.machine.cpu}`,
    xLabel: "N socketpairs (log)", yLabel: "µs per event (log)", logX: true, logY: true, panels,
  });
}

main();
