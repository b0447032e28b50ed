"use strict";
/**
 * Normaliser of the fidelity harness: turns one strace capture of a proxy (HAProxy 1.8.0 or hapoll)
 * into the canonical sequence of socket and poller syscalls that the differ compares.
 *
 * Every intended difference between the two programs is one named rule of RULES below; docs/fidelity.md
 * lists the same table (a unit test keeps the two in step). Nothing else is masked or dropped.
 */

/**
 * The named rules. `kind` says whether the rule only masks values that differ from run to run
 * ("mask"), or hides a difference between the programs that is intended ("intended").
 */
const RULES = [
  {
    name: "main-thread",
    kind: "intended",
    what: "keeps only the proxy's main thread (pid == tid); other threads' files are not read",
    why: "Node runs V8 and libuv worker threads beside the loop; HAProxy 1.8.0 with nbthread 1 has one thread. The proxy's loop runs on the main thread in both.",
  },
  {
    name: "start-at-listener",
    kind: "intended",
    what: "drops everything before the socket() that creates the first listening socket",
    why: "start-up differs by nature: Node's boot, config parsing, HAProxy's TCP_MAXSEG probes, the poller's creation. The comparison starts where the proxy core starts: binding its listener.",
  },
  {
    name: "proxy-fds-only",
    kind: "intended",
    what: "keeps only syscalls on sockets created after the start (socket/accept/accept4) and on the poller; drops stdio, config and log writes, Node's internal fds, and fds outside these sets in poll()/select() arguments and results",
    why: "Node and libuv own fds (their epoll, eventfds, stdio) that the proxy core never touches; HAProxy writes warnings to stderr. Neither is socket or poller behaviour.",
  },
  {
    name: "internal-pipes",
    kind: "intended",
    what: "drops pipes and every syscall on their fds (including the poller registration and wake-ups of their read end)",
    why: "HAProxy 1.8.0 creates its thread-sync pipe after the listeners; hapoll's addon creates a signal self-pipe (Node cannot take signals on the loop thread, see STYLE.md). Neither moves proxied data: the scenarios do not use splice.",
  },
  {
    name: "signal-wakeup",
    kind: "intended",
    what: "renders a wait that returned EINTR, or whose only events were on dropped fds, as `-> signal`",
    why: "HAProxy's wait is interrupted by the signal (EINTR); hapoll's signal handler may run on another thread and wake the wait through its self-pipe. Both then run the signal queue in the same turn.",
  },
  {
    name: "idle-waits",
    kind: "mask",
    what: "drops a wait that returned no event when the next kept syscall is another wait, or when it is the last one (a loop turn without I/O)",
    why: "how many idle MAX_DELAY_MS (1 s) wake-ups happen, whether a timer rounded to the millisecond costs an extra zero-timeout turn, and whether a wait ends before the harness kills the proxy depend on wall-clock time, not on the code (HAProxy against itself differs there).",
  },
  {
    name: "cloexec",
    kind: "intended",
    what: "removes SOCK_CLOEXEC / O_CLOEXEC from flags",
    why: "Node and libuv create every fd close-on-exec; HAProxy 1.8.0 does not. The proxy never execs, so the flag changes nothing it does.",
  },
  {
    name: "shutw-fix",
    kind: "intended",
    what: "drops a shutdown(F, SHUT_WR) on a socket that has already read its end (a recv() that returned 0)",
    why: "HAProxy 1.8.1 fixed conn_sock_shutw() (\"BUG/MAJOR: connection: refine the situations where we don't send shutw()\"): no shutdown once the peer's close was read, and a real one on every clean close. hapoll keeps the fix; 1.8.0 still shuts a socket it is about to close after the peer closed it.",
  },
  {
    name: "fd-names",
    kind: "mask",
    what: "renames sockets F1, F2, ... in order of creation (a reused number gets a new name); the poller fd is not shown",
    why: "fd numbers depend on how many fds the runtime holds (Node holds ~20 before the proxy starts).",
  },
  {
    name: "addresses",
    kind: "mask",
    what: "replaces addresses the harness chose by their role (fe, srv1, srv2, ...), any other address by ADDR; masks pointers and payload bytes (lengths are kept)",
    why: "ports are picked free per run; client ports are ephemeral; buffers live at random addresses.",
  },
  {
    name: "wait-timeouts",
    kind: "mask",
    what: "keeps only whether a wait's timeout was 0 (`0`) or not (`T`), and only for a wait that returned no event (one that did shows `T`); drops select's nfds and epoll's maxevents",
    why: "the remaining time to the next timer depends on wall-clock time, and a timer that falls due within the millisecond makes a zero-timeout wait depending on how each clock rounds (1.8's gettimeofday ticks, hapoll's monotonic clock); a wait that returned events did the same I/O either way. nfds depends on fd numbers.",
  },
];

const RULE_NAMES = new Set(RULES.map((r) => r.name));

/** Which rule fired how often (filled in by normalise()). */
function newStats() {
  const s = {};
  for (const r of RULES) s[r.name] = 0;
  return s;
}

/**
 * Parse one strace line into { pid, name, args, ret, err, complete }.
 * Lines may start with a pid (strace -f) or not (strace -ff files). Returns null for non-syscall lines
 * (signals, exit notices).
 */
function parseLine(line) {
  let pid = null;
  let s = line.replace(/^(\d+\s+)?\d\d:\d\d:\d\d\.\d+\s+/, "$1"); // -tt stamps (FIDELITY_TIMES=1)
  const m = /^(\d+)\s+(.*)$/.exec(s);
  if (m && /^[a-z_0-9]+\(/.test(m[2])) {
    pid = Number(m[1]);
    s = m[2];
  }
  const head = /^([a-z_0-9]+)\((.*)$/.exec(s);
  if (!head) return null;
  const name = head[1];
  const rest = head[2];
  // The result is after the last ") = " at depth 0; strace puts " = ret" at the end of the line.
  const eq = /\)\s+=\s+(-?\d+|0x[0-9a-f]+|\?)(?:\s+([A-Z][A-Z0-9_]+))?(?:\s+\((.*)\))?\s*$/.exec(rest);
  if (!eq) return { pid, name, args: rest, ret: null, err: null, extra: null, complete: false };
  const args = rest.slice(0, eq.index);
  const ret = eq[1] === "?" ? null : Number(eq[1]);
  return { pid, name, args, ret, err: eq[2] || null, extra: eq[3] || null, complete: true };
}

/** Split a syscall argument string at depth-0 commas. */
function splitArgs(s) {
  const out = [];
  let depth = 0;
  let cur = "";
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      cur += c;
      if (c === "\\") {
        cur += s[++i] ?? "";
      } else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      inStr = true;
      cur += c;
    } else if (c === "{" || c === "[" || c === "(") {
      depth++;
      cur += c;
    } else if (c === "}" || c === "]" || c === ")") {
      depth--;
      cur += c;
    } else if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

function stripCloexec(flags, stats) {
  const parts = flags.split("|");
  const kept = parts.filter((p) => p !== "SOCK_CLOEXEC" && p !== "O_CLOEXEC");
  if (kept.length !== parts.length) stats.cloexec++;
  return kept.length ? kept.join("|") : "0";
}

/** Render a sockaddr argument as a role name (rule addresses). */
function maskAddr(a, roles) {
  let m = /sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)/.exec(a);
  if (!m) m = /sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]+)"/.exec(a);
  if (m) {
    const role = roles[`${m[2]}:${m[1]}`] ?? roles[`*:${m[1]}`];
    return role ?? "ADDR";
  }
  const u = /sun_path="([^"]*)"/.exec(a);
  if (u) return roles[u[1]] ?? "ADDR";
  return "ADDR";
}

function retStr(c, fdName) {
  if (c.ret === -1) return `-1 ${c.err ?? ""}`.trim();
  if (fdName) return fdName;
  return String(c.ret);
}

function evNames(ev, prefix) {
  return ev
    .split("|")
    .map((e) => e.replace(prefix, ""))
    .join("|");
}

/**
 * Normalise one capture.
 * @param {string} text        the strace output of the main thread (or a -f capture with pid columns)
 * @param {object} opts        { roles: { "127.0.0.1:PORT": "fe", ... }, mainPid?: number }
 * @returns {{ lines: string[], stats: object }}
 */
function normalise(text, opts = {}) {
  const roles = opts.roles ?? {};
  const stats = newStats();
  const raw = text.split("\n");
  let calls = [];
  let mainPid = opts.mainPid ?? null;
  for (const line of raw) {
    if (line.trim() === "") continue;
    const c = parseLine(line);
    if (!c) continue; // signals, "+++ exited" notices
    if (c.pid !== null) {
      if (mainPid === null) mainPid = c.pid;
      if (c.pid !== mainPid) {
        stats["main-thread"]++;
        continue;
      }
    }
    if (!c.complete) continue; // the wait the proxy was killed in
    calls.push(c);
  }

  // Rule start-at-listener: the socket() of the first listen()ed fd.
  const li = calls.findIndex((c) => c.name === "listen" && c.ret === 0);
  if (li === -1) return { lines: ["# no listen() in the capture: the proxy did not start"], stats };
  const lfd = Number(splitArgs(calls[li].args)[0]);
  let start = li;
  for (let i = li; i >= 0; i--) {
    if (calls[i].name === "socket" && calls[i].ret === lfd) {
      start = i;
      break;
    }
  }
  stats["start-at-listener"] += start;
  calls = calls.slice(start);

  const names = new Map(); // fd number -> Fn
  const readEnd = new Set(); // Fn of sockets that read their end (rule shutw-fix)
  let next = 1;
  let pollerFd = null;
  const out = []; // { text, wait: bool, empty: bool, nonzero: bool }
  const nameOf = (fd) => names.get(Number(fd));
  const drop = (rule) => {
    stats[rule]++;
  };
  const newName = (fd) => {
    const n = `F${next++}`;
    names.set(fd, n);
    stats["fd-names"]++;
    return n;
  };
  const timeoutStr = (t, evs) => {
    stats["wait-timeouts"]++;
    return t === 0 && !(evs && evs.length) ? "0" : "T";
  };

  for (const c of calls) {
    const a = splitArgs(c.args);
    switch (c.name) {
      case "socket": {
        if (c.ret === -1) {
          out.push({ text: `socket(${a[0]}, ${stripCloexec(a[1], stats)}, ${a[2]}) = ${retStr(c)}` });
          break;
        }
        const type = stripCloexec(a[1], stats);
        const n = newName(c.ret);
        out.push({ text: `socket(${a[0]}, ${type}, ${a[2]}) = ${n}` });
        break;
      }
      case "accept":
      case "accept4": {
        const lf = nameOf(a[0]);
        if (!lf) {
          drop("proxy-fds-only");
          break;
        }
        const flags = c.name === "accept4" ? stripCloexec(a[3] ?? "0", stats) : null;
        const r = c.ret >= 0 ? newName(c.ret) : null;
        out.push({ text: `${c.name}(${lf}${flags !== null ? ", " + flags : ""}) = ${retStr(c, r)}` });
        if (r) stats.addresses++;
        break;
      }
      case "pipe":
      case "pipe2": {
        drop("internal-pipes");
        break;
      }
      case "epoll_create":
      case "epoll_create1":
        break; // before the start in both programs; a later one is not the proxy's (libuv).
      case "epoll_ctl": {
        const fd = nameOf(a[2]);
        if (!fd) {
          drop(names.has(Number(a[2])) ? "proxy-fds-only" : "internal-pipes");
          break;
        }
        if (pollerFd === null) pollerFd = Number(a[0]);
        if (Number(a[0]) !== pollerFd) {
          drop("proxy-fds-only");
          break;
        }
        const op = a[1].replace("EPOLL_CTL_", "");
        const ev = /events=([A-Z|0-9]+)/.exec(a[3] ?? "");
        out.push({ text: `epoll_ctl(${op}, ${fd}${ev ? ", " + evNames(ev[1], /^EPOLL/) : ""}) = ${retStr(c)}` });
        break;
      }
      case "epoll_wait":
      case "epoll_pwait": {
        if (pollerFd === null || Number(a[0]) !== pollerFd) {
          drop("proxy-fds-only");
          break;
        }
        const t = Number(a[3]);
        const evs = [];
        let dropped = 0;
        const re = /\{events=([A-Z|0-9]+), data=\{u32=(\d+)/g;
        let m;
        while ((m = re.exec(a[1]))) {
          const n = nameOf(m[2]);
          if (n) evs.push(`${n}:${evNames(m[1], /^EPOLL/)}`);
          else dropped++;
        }
        pushWait(out, stats, `epoll_wait(${timeoutStr(t, evs)})`, c, evs, dropped);
        break;
      }
      case "poll":
      case "ppoll": {
        const set = [];
        let dropped = 0;
        for (const m of a[0].matchAll(/\{fd=(\d+), events=([A-Z|0-9]+)\}/g)) {
          const n = nameOf(m[1]);
          if (n) set.push(`${n}:${evNames(m[2], /^POLL/)}`);
          else dropped++;
        }
        if (set.length === 0 && dropped > 0 && c.name === "ppoll") {
          drop("proxy-fds-only");
          break;
        }
        if (dropped) stats["proxy-fds-only"]++;
        let t;
        if (c.name === "poll") t = Number(a[2]);
        else t = /tv_sec=0, tv_nsec=0\}/.test(a[2]) ? 0 : 1;
        const evs = [];
        let rdropped = 0;
        if (c.extra && c.ret > 0) {
          for (const m of c.extra.matchAll(/\{fd=(\d+), revents=([A-Z|0-9]+)\}/g)) {
            const n = nameOf(m[1]);
            if (n) evs.push(`${n}:${evNames(m[2], /^POLL/)}`);
            else rdropped++;
          }
        }
        pushWait(out, stats, `poll([${set.join(" ")}], ${timeoutStr(t, evs)})`, c, evs, rdropped);
        break;
      }
      case "select":
      case "pselect6": {
        const setOf = (s) => {
          if (!s || s === "NULL") return [];
          const r = [];
          for (const m of s.matchAll(/\d+/g)) {
            const n = nameOf(m[0]);
            if (n) r.push(n);
            else stats["proxy-fds-only"]++;
          }
          return r;
        };
        const rd = setOf(a[1]);
        const wr = setOf(a[2]);
        const tv = a[4] ?? "NULL";
        const t = /tv_sec=0, tv_u?n?sec=0\}/.test(tv) ? 0 : 1;
        stats["wait-timeouts"]++;
        const evs = [];
        let rdropped = 0;
        if (c.extra && c.ret > 0) {
          for (const m of c.extra.matchAll(/(in|out) \[([\d ]+)\]/g)) {
            for (const fd of m[2].split(" ")) {
              const n = nameOf(fd);
              if (n) evs.push(`${n}:${m[1] === "in" ? "IN" : "OUT"}`);
              else rdropped++;
            }
          }
        }
        pushWait(out, stats, `select(r=[${rd.join(" ")}], w=[${wr.join(" ")}], ${timeoutStr(t, evs)})`, c, evs, rdropped);
        break;
      }
      case "close": {
        const n = nameOf(a[0]);
        if (!n) {
          if (Number(a[0]) !== pollerFd) drop("proxy-fds-only");
          break;
        }
        names.delete(Number(a[0]));
        out.push({ text: `close(${n}) = ${retStr(c)}` });
        break;
      }
      case "fcntl": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        let rest = a.slice(1);
        if (rest[0] === "F_SETFL" && rest[1]) rest = [rest[0], stripCloexec(rest[1], stats)];
        // F_GETFL returns flags in hex; keep the call, not the value.
        const r = rest[0] === "F_GETFL" && c.ret !== -1 ? "FLAGS" : retStr(c);
        out.push({ text: `fcntl(${n}, ${rest.join(", ")}) = ${r}` });
        break;
      }
      case "setsockopt":
      case "getsockopt": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        out.push({ text: `${c.name}(${n}, ${a[1]}, ${a[2]}, ${a[3]}) = ${retStr(c)}` });
        break;
      }
      case "bind":
      case "connect": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        stats.addresses++;
        out.push({ text: `${c.name}(${n}, ${maskAddr(a[1], roles)}) = ${retStr(c)}` });
        break;
      }
      case "listen":
      case "shutdown": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        if (a[1] === "SHUT_WR" && readEnd.has(n)) {
          drop("shutw-fix");
          break;
        }
        out.push({ text: `${c.name}(${n}, ${a[1]}) = ${retStr(c)}` });
        break;
      }
      case "getsockname":
      case "getpeername": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        stats.addresses++;
        out.push({ text: `${c.name}(${n}) = ${retStr(c)}` });
        break;
      }
      case "recvfrom":
      case "sendto":
      case "recv":
      case "send":
      case "read":
      case "write": {
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        const base = c.name === "recvfrom" ? "recv" : c.name === "sendto" ? "send" : c.name;
        if (base === "recv" && c.ret === 0) readEnd.add(n);
        const flags = base === "recv" || base === "send" ? `, ${a[3]}` : "";
        stats.addresses++;
        out.push({ text: `${base}(${n}, ${a[2]}${flags}) = ${retStr(c)}` });
        break;
      }
      case "splice": {
        const n = nameOf(a[0]) ?? nameOf(a[2]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        out.push({ text: `splice(${nameOf(a[0]) ?? "PIPE"}, ${nameOf(a[2]) ?? "PIPE"}, ${a[4]}) = ${retStr(c)}` });
        break;
      }
      default: {
        // Any other traced call (recvmsg, sendmsg, readv, ioctl, dup...) on a proxy socket is shown with
        // its fd renamed and pointers masked; on other fds it is dropped.
        const n = nameOf(a[0]);
        if (!n) {
          drop("proxy-fds-only");
          break;
        }
        const rest = a
          .slice(1)
          .map((x) => x.replace(/0x[0-9a-f]+/g, "PTR").replace(/"(?:[^"\\]|\\.)*"(\.\.\.)?/g, '"..."'));
        out.push({ text: `${c.name}(${[n, ...rest].join(", ")}) = ${retStr(c)}` });
      }
    }
  }

  // Rule idle-waits: drop an empty, non-zero-timeout wait directly followed by another wait.
  const lines = [];
  for (let i = 0; i < out.length; i++) {
    const o = out[i];
    if (o.wait && o.idle && (i + 1 === out.length || out[i + 1].wait)) {
      stats["idle-waits"]++;
      continue;
    }
    lines.push(o.text);
  }
  return { lines, stats };
}

function pushWait(out, stats, call, c, evs, dropped) {
  let res;
  let idle = false;
  if (c.ret === -1 && c.err === "EINTR") {
    stats["signal-wakeup"]++;
    res = "signal";
  } else if (c.ret === -1) {
    res = `-1 ${c.err}`;
  } else if (evs.length === 0 && dropped > 0) {
    stats["signal-wakeup"]++;
    res = "signal";
  } else {
    res = `[${evs.join(" ")}]`;
    idle = evs.length === 0;
  }
  out.push({ text: `${call} -> ${res}`, wait: true, idle });
}

module.exports = { RULES, RULE_NAMES, normalise, parseLine, splitArgs, maskAddr };
