/**
 * --trace: one line per internal event, tagged with the loop turn, in HAProxy's vocabulary.
 *
 *   [   12] fd       fd_want_recv(7)            R:pra W:pra -> R:prA W:pra  +updt
 *   [   12] poll     epoll_ctl(ADD, fd=7, IN|RDHUP)
 *   [   12] poll     epoll_wait(timeout=1000) = 1 event: fd=7 IN
 *   [   12] cache    fd_process_cached_events -> listener_accept(fd=7) ev=I
 *
 * Subsystems: fd, updt, poll, cache, task, listener, si, stream, rule (and "all"). Tracing hooks into
 * the core through nullable hook slots (fdHooks, pollHooks, taskHooks, ...): when tracing is off
 * every slot is null and the hot path pays one null test per event, no formatting.
 * Lines go to the given writer (stdout by default), synchronously.
 */
import * as fs from "node:fs";
import { POLL_DIR_R, POLL_DIR_W, FD_POLL_IN, FD_POLL_OUT, FD_POLL_ERR, FD_POLL_HUP, FD_POLL_PRI } from "../native";
import { counters } from "./global";
import { fdHooks, fdtab, fdStateString, fdEvString, FD_OP_NAMES, type IoCb } from "./fd";
import { loopHooks } from "./loop";
import { pollHooks, registry } from "./poller";
import { taskHooks, type Task, TASK_WOKEN_INIT, TASK_WOKEN_TIMER, TASK_WOKEN_IO, TASK_WOKEN_SIGNAL, TASK_WOKEN_MSG, TASK_WOKEN_RES, TASK_WOKEN_OTHER } from "./task";

/** The subsystems --trace accepts. */
export const TRACE_SUBSYSTEMS = ["fd", "updt", "poll", "cache", "task", "listener", "si", "stream", "rule"] as const;
export type TraceSubsystem = (typeof TRACE_SUBSYSTEMS)[number];

/** Parse "--trace" / "--trace=fd,poll" values. Returns the set, or an error message. */
export function parseTraceSpec(spec: string): Set<TraceSubsystem> | string {
  if (spec === "" || spec === "all") return new Set(TRACE_SUBSYSTEMS);
  const out = new Set<TraceSubsystem>();
  for (const w of spec.split(",")) {
    const x = w.trim();
    if (x === "all") TRACE_SUBSYSTEMS.forEach((s) => out.add(s));
    else if ((TRACE_SUBSYSTEMS as readonly string[]).includes(x)) out.add(x as TraceSubsystem);
    else return `unknown trace subsystem '${x}' (expected ${TRACE_SUBSYSTEMS.join(", ")} or all)`;
  }
  return out;
}

/** HAProxy names of hapoll's iocbs and task handlers, for the trace and `show fd`. */
const HAPROXY_NAMES: Record<string, string> = {
  connFdHandler: "conn_fd_handler",
  listenerAccept: "listener_accept",
  echoAccept: "echo_accept",
  echoIo: "echo_io",
  processStream: "process_stream",
  tourClientIo: "tour_client",
};

/** The HAProxy-style name of a callback (falls back to its JS name). */
export function cbName(f: ((...a: never[]) => unknown) | null | undefined): string {
  if (!f) return "-";
  return HAPROXY_NAMES[f.name] ?? (f.name || "anonymous");
}

/** Register an extra HAProxy name for a callback (modules that add iocbs or tasks). */
export function registerCbName(jsName: string, haproxyName: string): void {
  HAPROXY_NAMES[jsName] = haproxyName;
}

function evNames(ev: number): string {
  const n: string[] = [];
  if (ev & FD_POLL_IN) n.push("IN");
  if (ev & FD_POLL_PRI) n.push("PRI");
  if (ev & FD_POLL_OUT) n.push("OUT");
  if (ev & FD_POLL_ERR) n.push("ERR");
  if (ev & FD_POLL_HUP) n.push("HUP");
  if (ev & 0x20) n.push("RDHUP");
  return n.join("|") || "0";
}

function wokenNames(f: number): string {
  const n: string[] = [];
  if (f & TASK_WOKEN_INIT) n.push("INIT");
  if (f & TASK_WOKEN_TIMER) n.push("TIMER");
  if (f & TASK_WOKEN_IO) n.push("IO");
  if (f & TASK_WOKEN_SIGNAL) n.push("SIGNAL");
  if (f & TASK_WOKEN_MSG) n.push("MSG");
  if (f & TASK_WOKEN_RES) n.push("RES");
  if (f & TASK_WOKEN_OTHER) n.push("OTHER");
  return n.join("|") || "0";
}

/** What the trace writes to. */
export type TraceWriter = (line: string) => void;

const state = {
  on: new Set<TraceSubsystem>(),
  write: ((line: string) => {
    try {
      fs.writeSync(1, line + "\n");
    } catch {
      /* closed stdout */
    }
  }) as TraceWriter,
};

/** Whether <sub> is traced (for modules that format their own trace lines). */
export function traceOn(sub: TraceSubsystem): boolean {
  return state.on.has(sub);
}

/** Emit one trace line for <sub> (callers check traceOn first when formatting costs anything). */
export function trace(sub: TraceSubsystem, msg: string): void {
  if (!state.on.has(sub)) return;
  state.write(`[${String(counters.loops).padStart(5)}] ${sub.padEnd(8)} ${msg}`);
}

/** Describe one poller change triple the way the backend applies it. */
function changeText(poller: string, fd: number, o: number, n: number): string {
  const dirs = (m: number) => [m & POLL_DIR_R ? "IN|RDHUP" : "", m & POLL_DIR_W ? "OUT" : ""].filter(Boolean).join("|");
  if (poller === "epoll") {
    const op = n === 0 ? "DEL" : o === 0 ? "ADD" : "MOD";
    return `epoll_ctl(${op}, fd=${fd}${n ? ", " + dirs(n) : ""})`;
  }
  if (poller === "kqueue") {
    const parts: string[] = [];
    if ((o ^ n) & POLL_DIR_R) parts.push(`EV_SET(fd=${fd}, EVFILT_READ, ${n & POLL_DIR_R ? "EV_ADD" : "EV_DELETE"})`);
    if ((o ^ n) & POLL_DIR_W) parts.push(`EV_SET(fd=${fd}, EVFILT_WRITE, ${n & POLL_DIR_W ? "EV_ADD" : "EV_DELETE"})`);
    return parts.join(" ");
  }
  const bit = (m: number, d: number, name: string) => ((o ^ n) & d ? `${name}${m & d ? "+" : "-"}` : "");
  const what = poller === "select" ? ["rd_set", "wr_set"] : ["POLLIN", "POLLOUT"];
  return `${poller}: fd=${fd} ${[bit(n, POLL_DIR_R, what[0]), bit(n, POLL_DIR_W, what[1])].filter(Boolean).join(" ")}`;
}

/**
 * Turn tracing on for <subs>, writing through <write> (default: stdout). Call with an empty set to
 * turn it off again (the hooks go back to null).
 */
export function enableTrace(subs: Set<TraceSubsystem>, write?: TraceWriter): void {
  state.on = subs;
  if (write) state.write = write;
  const on = (s: TraceSubsystem) => subs.has(s);

  fdHooks.onState = on("fd")
    ? (fd, op, before) => {
      const after = fdtab.state[fd];
      const cached = fdtab.cacheIdx[fd] ? " [cache]" : "";
      trace("fd", `${FD_OP_NAMES[op]}(${fd})`.padEnd(22) + ` ${fdStateString(before)} -> ${fdStateString(after)}${cached}`);
    }
    : null;
  fdHooks.onInsert = on("fd")
    ? (fd) => trace("fd", `fd_insert(${fd}) owner=${ownerName(fdtab.owner[fd])} iocb=${cbName(fdtab.iocb[fd] as IoCb)}`)
    : null;
  fdHooks.onDelete = on("fd")
    ? (fd, closed) => trace("fd", `${closed ? "fd_delete" : "fd_remove"}(${fd}) ${fdStateString(fdtab.state[fd])}`)
    : null;
  fdHooks.onUpdt = on("updt") ? (fd) => trace("updt", `updt_fd_polling(${fd}) -> fd_updt[${fdtab.nbUpdt - 1}]`) : null;
  fdHooks.onIocb = on("cache")
    ? (fd, ev) => trace("cache", `fd_process_cached_events -> ${cbName(fdtab.iocb[fd] as IoCb)}(fd=${fd}) ev=${fdEvString(ev)}`)
    : null;
  pollHooks.onPoll = on("poll")
    ? (ch, nch, waitMs, out, n) => {
      const name = registry.cur ? registry.cur.name : "?";
      for (let i = 0; i < nch; i++) trace("poll", changeText(name, ch[3 * i], ch[3 * i + 1], ch[3 * i + 2]));
      const evs: string[] = [];
      for (let i = 0; i < n; i++) evs.push(`fd=${out[2 * i]} ${evNames(out[2 * i + 1])}`);
      const fn = name === "epoll" ? "epoll_wait" : name === "kqueue" ? "kevent" : name;
      trace("poll", `${fn}(timeout=${waitMs}) = ${n < 0 ? n : `${n} event${n === 1 ? "" : "s"}`}${evs.length ? ": " + evs.join(", ") : ""}`);
    }
    : null;
  taskHooks.onWakeup = on("task") ? (t, f) => trace("task", `task_wakeup(${taskName(t)}, ${wokenNames(f)})`) : null;
  taskHooks.onRun = on("task") ? (t) => trace("task", `process_runnable_tasks -> ${cbName(t.process)}(${taskName(t)})`) : null;
  loopHooks.onTurn = subs.size ? (turn) => {
    if (on("poll")) state.write(`[${String(turn).padStart(5)}] loop     run_poll_loop turn ${turn}: cache=${fdtab.cacheNum} updt=${fdtab.nbUpdt}`);
  } : null;
}

const ownerIds = new WeakMap<object, number>();
let nextOwnerId = 1;
/** A short stable name for an fd owner: its class and a sequence number. */
export function ownerName(o: unknown): string {
  if (o === null || o === undefined) return "-";
  if (typeof o !== "object") return String(o);
  let id = ownerIds.get(o as object);
  if (id === undefined) ownerIds.set(o as object, (id = nextOwnerId++));
  return `${(o as object).constructor?.name ?? "object"}#${id}`;
}

/** A task's name for traces: its handler's HAProxy name and a sequence number. */
export function taskName(t: Task): string {
  return `${ownerName(t)}:${cbName(t.process)}`;
}
