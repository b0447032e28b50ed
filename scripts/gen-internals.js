#!/usr/bin/env node
"use strict";
/**
 * Generates docs/internals.md from docs/internals.template.md and a real run of `hapoll tour`, so the
 * walk-through quotes the trace the code produces today.
 *
 *   node scripts/gen-internals.js [<output>] [--template <file>] [--from <tour output>] [--save-tour <file>]
 *
 * <output> defaults to docs/internals.md. --from reads a saved `hapoll tour` output instead of running
 * the tour (the tour needs dist/ built: `npx tsc -p .`); --save-tour keeps the output of the tour it ran. Exit 0 on success; exit 1, naming the
 * markers, when the trace lacks what a marker needs (so a change that breaks the tour or the trace is
 * caught), or when the template uses an unknown marker or placeholder.
 *
 * Template syntax:
 *   <!-- trace:NAME -->   replaced by the marker line followed by a ```text block of trace lines,
 *                          selected by SECTIONS[NAME] below (at least one line, or it is an error)
 *   <!-- config:seed -->  the seed configuration the tour ran, as printed by the tour
 *   <!-- fidelity:NAME --> the fidelity scenario NAME under HAProxy 1.8.0 and hapoll, side by side
 *                          (scripts/fidelity/index.js --side-by-side), closed by <!-- fidelity:end -->
 *   {{name}}              a fact taken from the run (fd numbers, ports, the poller): see facts()
 *
 * Plain Node, no dependencies.
 */
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const { parseFlags } = require("../bench/lib/common.js");

const ROOT = path.resolve(__dirname, "..");

/** A trace line: "[   12] fd       fd_want_recv(7) ..." */
const TRACE_RE = /^\[\s*(\d+)\] (\S+)\s+(.*)$/;

function parseArgs(argv) {
  const f = parseFlags(argv, { template: "v", from: "v", "save-tour": "v" }, {
    positional: true,
    usage: "usage: node scripts/gen-internals.js [<output>] [--template <file>] [--from <tour output>] [--save-tour <file>]",
  });
  return {
    out: f._.length ? path.resolve(f._[f._.length - 1]) : path.join(ROOT, "docs/internals.md"),
    template: f.template ? path.resolve(f.template) : path.join(ROOT, "docs/internals.template.md"),
    from: f.from ? path.resolve(f.from) : "",
    save: f["save-tour"] ? path.resolve(f["save-tour"]) : "",
  };
}

/**
 * Run `hapoll tour` and return its stdout. Tried twice: the tour checks that its ports are free before
 * its child binds them, so two tours started at the same moment can collide.
 */
function runTour() {
  let last = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin/hapoll"), "tour"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    if (r.status === 0) return r.stdout;
    last = `hapoll tour exited with ${r.status ?? r.signal}\n${r.stderr}`;
  }
  throw new Error(last);
}

/** Split the tour output into trace lines and the seed configuration it printed. */
function parseTour(text) {
  const lines = text.split("\n");
  const trace = [];
  for (const raw of lines) {
    const m = TRACE_RE.exec(raw);
    if (m) trace.push({ turn: Number(m[1]), sub: m[2], msg: m[3], text: raw });
  }
  // The configuration: the indented block after "The seed configuration", up to the blank line.
  const config = [];
  const start = lines.findIndex((l) => l.startsWith("The seed configuration"));
  if (start >= 0) {
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i];
      if (l.trim() === "" && config.length) break;
      if (l.startsWith("    ")) config.push(l.slice(4));
    }
    while (config.length && config[config.length - 1].trim() === "") config.pop();
  }
  return { trace, config };
}

const num = (re, trace) => {
  for (const t of trace) {
    const m = re.exec(t.msg);
    if (m) return m[1];
  }
  return null;
};

/** Facts of this run, for {{placeholders}} and for the selectors. */
function facts(trace) {
  const f = {
    listenerFd: num(/^fd_insert\((\d+)\) owner=Listener#/, trace),
    echoListenerFd: num(/^fd_insert\((\d+)\) owner=EchoListener#/, trace),
    tourFd: num(/^fd_insert\((\d+)\) owner=TourClient#/, trace),
    clientFd: num(/session_accept_fd -> stream_new: \S+ fd=(\d+)/, trace),
    serverFd: num(/sess_establish: \S+ fd=(\d+)/, trace),
    echoConnFd: num(/^fd_insert\((\d+)\) owner=EchoConn#/, trace),
    bindAddr: num(/^\S+ (\S+) NEW -> INIT/, trace),
    listenPort: num(/^\S+ \S*:(\d+) NEW -> INIT/, trace),
    proxy: num(/^(\S+) \S+ NEW -> INIT/, trace),
    streamId: num(/^([0-9a-f]{8}) session_accept_fd/, trace),
    bytes: num(/stream_free: (\d+) bytes in/, trace),
    connectMs: num(/connected in (\d+) ms/, trace),
    turns: String(trace.reduce((m, t) => Math.max(m, t.turn), 0)),
  };
  const pl = trace.find((t) => t.sub === "poll" && !/^run_poll_loop/.test(t.msg));
  f.poller = !pl ? null : /^epoll_/.test(pl.msg) ? "epoll" : /^(EV_SET|kevent)/.test(pl.msg) ? "kqueue" : /^select/.test(pl.msg) ? "select" : /^poll/.test(pl.msg) ? "poll" : null;
  f.waitCall = { epoll: "epoll_wait", kqueue: "kevent", select: "select", poll: "poll" }[f.poller] || null;
  return f;
}

/* ---------------------------------------------------------------- selectors */

const mentionsFd = (t, fd) => fd !== null && new RegExp(`\\(${fd}\\)|fd=${fd}\\b`).test(t.msg);
/** Index of the first line at or after <from> that satisfies <pred>; -1 when none (or <from> < 0). */
const idx = (trace, pred, from = 0) => {
  if (from < 0) return -1;
  for (let i = from; i < trace.length; i++) if (pred(trace[i])) return i;
  return -1;
};
const range = (trace, a, b) => (a < 0 || b < 0 || b < a ? [] : trace.slice(a, b + 1));

/**
 * One selector per marker: (trace, facts) -> trace lines. Each is written against what the code
 * does (a state change, an iocb call), not against line positions, so it survives timing changes.
 */
const SECTIONS = {
  // create_listeners(), and the move to ASSIGNED that HAProxy's tcpv4_add_listener() does.
  "listener-create": (tr) => tr.filter((t) => t.sub === "listener" && / (NEW -> INIT|INIT -> ASSIGNED) /.test(t.msg)),

  // tcp_bind_listener(): LISTEN, then fd_insert() of the listening socket.
  "protocol-bind": (tr, f) =>
    tr.filter((t) => (t.sub === "listener" && / ASSIGNED -> LISTEN /.test(t.msg)) || (t.sub === "fd" && t.msg.startsWith(`fd_insert(${f.listenerFd})`))),

  // enable_listener() -> fd_want_recv(): the fd joins the update list.
  "listener-enable": (tr, f) => {
    const a = idx(tr, (t) => t.sub === "listener" && / LISTEN -> READY /.test(t.msg));
    if (a < 0) return [];
    const b = idx(tr, (t) => t.sub === "fd" && t.msg.startsWith(`fd_want_recv(${f.listenerFd})`), a);
    return range(tr, a, b).filter((t) => t.sub === "listener" || mentionsFd(t, f.listenerFd));
  },

  // The first turn up to the cache walk: update list -> kernel changes -> wait -> READY bits.
  "first-poll": (tr) => {
    const a = idx(tr, (t) => t.sub === "loop" && / turn 1:/.test(t.msg));
    const w = idx(tr, (t) => t.sub === "poll" && /\(timeout=/.test(t.msg), a);
    const c = idx(tr, (t) => t.sub === "cache" || t.sub === "task" || t.sub === "loop", w + 1);
    return w < 0 ? [] : range(tr, a, (c < 0 ? tr.length : c) - 1);
  },

  // Every state the listening fd goes through, from fd_insert() to fd_delete().
  "listener-fd": (tr, f) => tr.filter((t) => ["fd", "updt", "poll", "cache"].includes(t.sub) && mentionsFd(t, f.listenerFd)),

  // Every iocb call: all of them come from fd_process_cached_events().
  "fd-cache": (tr) => tr.filter((t) => t.sub === "cache"),

  // The loop's skeleton, turn by turn: tasks, the wait (and its timeout), the cached iocbs.
  loop: (tr) =>
    tr.filter((t) => t.sub === "loop" || (t.sub === "task" && t.msg.startsWith("process_runnable_tasks")) ||
      (t.sub === "poll" && /\(timeout=/.test(t.msg)) || t.sub === "cache"),

  // listener_accept() -> session_accept_fd() -> stream_new() -> task_wakeup(INIT) ... EAGAIN.
  accept: (tr, f) => {
    const a = idx(tr, (t) => t.sub === "cache" && t.msg.includes(`listener_accept(fd=${f.listenerFd})`));
    const b = idx(tr, (t) => t.sub === "fd" && t.msg.startsWith(`fd_cant_recv(${f.listenerFd})`), a);
    return range(tr, a, b);
  },

  // The stream task's first run: INI -> REQ -> ASS -> CON, the server socket in fdtab.
  "process-stream": (tr) => {
    const a = idx(tr, (t) => t.sub === "task" && t.msg.startsWith("process_runnable_tasks -> process_stream"));
    const b = idx(tr, (t) => t.sub === "si" && / ASS -> CON /.test(t.msg), a);
    return range(tr, a, b);
  },

  // From connect() in progress to sess_establish(): the server fd, the task, the si states.
  connect: (tr, f) => {
    const a = idx(tr, (t) => t.sub === "si" && / ASS -> CON /.test(t.msg));
    const b = idx(tr, (t) => t.sub === "stream" && /sess_establish/.test(t.msg), a);
    return range(tr, a, b).filter((t) => mentionsFd(t, f.serverFd) || t.sub === "si" || t.sub === "stream" || t.sub === "task");
  },

  // The fast path: the client's data read and sent to the server inside one conn_fd_handler() call.
  forwarding: (tr, f) => {
    const a = idx(tr, (t) => t.sub === "cache" && new RegExp(`conn_fd_handler\\(fd=${f.clientFd}\\) ev=\\w*I$`).test(t.msg));
    const b = idx(tr, (t) => t.sub === "task" || (t.sub === "cache" && !mentionsFd(t, f.clientFd)), a < 0 ? -1 : a + 1);
    return range(tr, a, (b < 0 ? tr.length : b) - (b >= 0 && tr[b].sub === "cache" ? 1 : 0));
  },

  // Half-closes both ways, fd_delete(), DIS -> CLO, stream_free().
  close: (tr, f) => {
    const r0 = idx(tr, (t) => t.sub === "fd" && t.msg.startsWith(`fd_stop_recv(${f.clientFd})`));
    let a = r0;
    for (let i = r0; i >= 0; i--) {
      if (tr[i].sub === "cache" && mentionsFd(tr[i], f.clientFd)) {
        a = i;
        break;
      }
    }
    const b = idx(tr, (t) => t.sub === "stream" && /stream_free/.test(t.msg), r0);
    return range(tr, a, b).filter((t) => !mentionsFd(t, f.tourFd) && !/^tour client/.test(t.msg));
  },

  // Every stream-interface transition of the stream, with its reason.
  si: (tr) => tr.filter((t) => t.sub === "si"),

  // The soft stop (SIGUSR1 from the tour client): unbind, delete, jobs reach 0.
  stop: (tr) => {
    const a = idx(tr, (t) => /^tour client: received/.test(t.msg));
    return a < 0 ? [] : tr.slice(a);
  },
};

/* ---------------------------------------------------------------- template */

function render(template, tour, f) {
  const problems = [];
  const out = [];
  for (const line of template.split("\n")) {
    const tm = /^<!-- trace:([\w-]+) -->\s*$/.exec(line);
    const cm = /^<!-- config:([\w-]+) -->\s*$/.exec(line);
    const fm = /^<!-- fidelity:([\w-]+) -->\s*$/.exec(line);
    if (fm) {
      out.push(line, ...fidelityTable(fm[1]), "<!-- fidelity:end -->");
    } else if (tm) {
      const sel = SECTIONS[tm[1]];
      if (!sel) {
        problems.push(`unknown marker trace:${tm[1]}`);
        continue;
      }
      let got = [];
      try {
        got = sel(tour.trace, f);
      } catch (e) {
        problems.push(`trace:${tm[1]}: selector failed: ${e && e.message ? e.message : e}`);
      }
      if (!got.length) problems.push(`trace:${tm[1]}: no matching trace line`);
      out.push(line, "```text", ...got.map((t) => t.text), "```");
    } else if (cm) {
      if (cm[1] !== "seed") problems.push(`unknown marker config:${cm[1]}`);
      if (!tour.config.length) problems.push("config:seed: the tour printed no configuration");
      out.push(line, "```", ...tour.config, "```");
    } else {
      out.push(line.replace(/\{\{(\w+)\}\}/g, (m, k) => {
        if (!(k in f)) {
          problems.push(`unknown placeholder {{${k}}}`);
          return m;
        }
        if (f[k] === null) {
          problems.push(`placeholder {{${k}}}: not found in the trace`);
          return m;
        }
        return f[k];
      }));
    }
  }
  return { text: out.join("\n"), problems };
}

/**
 * `<!-- fidelity:SCENARIO -->`: the scenario's normalised syscalls under HAProxy 1.8.0 and hapoll,
 * side by side (scripts/fidelity, epoll). Where strace or the HAProxy 1.8.0 reference is missing, a
 * line says so instead: the rest of the document does not depend on them.
 */
function fidelityTable(scenario) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/fidelity/index.js"), "--side-by-side", "--scenario", scenario,
    "--poller", "epoll"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.status === 0 || r.status === 1) return r.stdout.trimEnd().split("\n");
  const why = (r.stderr || String(r.error || "")).trim().split("\n").pop();
  return [`(Not generated on this machine: ${why}. Run \`npm run docs\` where strace and the HAProxy 1.8.0 reference are available.)`];
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const template = fs.readFileSync(o.template, "utf8");
  const tourText = o.from ? fs.readFileSync(o.from, "utf8") : runTour();
  if (o.save) fs.writeFileSync(o.save, tourText);
  const tour = parseTour(tourText);
  if (!tour.trace.length) {
    process.stderr.write("gen-internals: the tour printed no trace line\n");
    return 1;
  }
  const f = facts(tour.trace);
  const { text, problems } = render(template, tour, f);
  if (problems.length) {
    process.stderr.write(`gen-internals: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}\n`).join("")}`);
    return 1;
  }
  const header = `<!-- Generated by scripts/gen-internals.js from docs/internals.template.md and one run of \`hapoll tour\`` +
    ` (${f.poller} poller). Edit the template, then run \`npm run docs\`. -->\n`;
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, header + text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), o.out) || o.out} (${tour.trace.length} trace lines, ${Object.keys(SECTIONS).length} selectors)\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main());
  } catch (e) {
    process.stderr.write(`gen-internals: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  }
}

module.exports = { parseTour, facts, SECTIONS, render, TRACE_RE };
