/**
 * `nbproc N`: N worker processes under a master. HAProxy 1.8: the nbproc fork loop of main(),
 * mworker_wait(), mworker_kill(), mworker_register_signals(), mworker_pipe_register() /
 * mworker_pipe_handler() (src/haproxy.c).
 *
 * Node cannot fork(), so the master starts the same command again N times with HAPOLL_WORKER=<n>
 * in the environment (as daemonize() does for -D). Each worker is a complete hapoll: it reads the
 * configuration, binds every listener itself with SO_REUSEPORT (the kernel spreads incoming
 * connections over the workers' sockets by a hash of the 4-tuple), and runs its own poller and
 * run_poll_loop. The master binds nothing and never runs the proxy loop: it lives on Node's own
 * event loop (child_process events, process.on('SIG...')), which is what 1.8's master does with
 * wait() and sigaction().
 *
 *   master ──spawn──▶ worker #1 … #N      each: fd 3 = a pipe to the master
 *     │  "ready\n" on fd 3 ◀── listeners bound, loop about to start
 *     │  SIGUSR1/TERM/INT/TTOU/TTIN/HUP/QUIT ──forwarded──▶ every live worker
 *     │  worker exit ◀── logged ("Current worker #n (pid) exited with code c"), not restarted
 *     └  last worker gone ──▶ "All workers are left. Leaving... (c)", exit with c
 *
 * Reload (HAProxy: mworker_reload(), SIGUSR2). 1.8 re-executes the master with `-sf <workers>
 * -x <stats socket>`; Node cannot exec(), so the master does the equivalent in place:
 *
 *   SIGUSR2 ──▶ re-read and parse the configuration (ALERTs printed; on error: keep the workers)
 *     ──▶ start generation g+1, worker #n with `-x <private socket of old worker #n>`:
 *         it takes old #n's listening sockets (same kernel sockets, same accept queues), binds
 *         what is new ──▶ all "ready" ──▶ SIGUSR1 (soft stop) to generation g, whose workers
 *         finish their connections and leave ("Former worker #n ... exited").
 *     A new worker that fails before "ready" fails the reload: its generation is stopped and
 *     generation g keeps serving.
 *
 * Each worker serves its own private `_getsocks` socket (HAPOLL_MWORKER_SOCK, mode 0600 in a
 * 0700 directory of the master), so the hand-over needs no `stats socket ... expose-fd` line and
 * works worker by worker with nbproc > 1 (each worker owns its own SO_REUSEPORT sockets).
 * -Ws: sd_notify READY=1 (with MAINPID) once the workers listen, RELOADING=1 / READY=1 around a
 * reload, STOPPING=1 on SIGUSR1/SIGTERM, when NOTIFY_SOCKET is set.
 *
 * Differences from 1.8, on purpose or forced:
 * - 1.8 honours nbproc only with -D or -W; hapoll always supervises (nbproc > 1 implies -W).
 * - 1.8's master kills all workers when one fails ("exit-on-failure"); hapoll keeps the others
 *   serving, as 1.8 does with `no-exit-on-failure`. A worker that fails before the start completed
 *   (it could not bind, say) still aborts the whole start, as a bind error aborts 1.8 before fork.
 * - The pidfile holds the workers' pids, one per line (what 1.8 writes in daemon mode; with -W it
 *   writes the master's); a reload rewrites it with the new workers' pids.
 * - SIGHUP is passed on to the workers (a state dump), where 1.8's master reloads on it too.
 * - Workers bind their own sockets, so SO_REUSEPORT is required; a unix socket bind ends up served
 *   by the last worker that renamed its socket into place.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { native, C } from "../native";
import { fdCantRecv, fdInsert, fdWantRecv } from "../core/fd";
import { logAlertLine, logWarningLine } from "../core/log";
import { global } from "../core/global";
import { E_AGAIN, E_INTR } from "../core/errno";

/** Environment variable marking a worker, holding its number (1..N). HAProxy: relative_pid. */
export const WORKER_ENV = "HAPOLL_WORKER";
/** Environment variable naming a worker's private `_getsocks` socket (see the top of the file). */
const XFER_ENV = "HAPOLL_MWORKER_SOCK";

/** This worker's private hand-over socket path, "" when it is not a master's worker. */
export function workerXferSocket(): string {
  return workerNumber() ? process.env[XFER_ENV] ?? "" : "";
}

/** The worker's end of its pipe to the master (HAProxy: mworker_pipe[0]). */
const MASTER_PIPE_FD = 3;

/** This process' worker number (1..N), or 0 when it is not a worker. */
export function workerNumber(): number {
  const v = Number(process.env[WORKER_ENV] ?? 0);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

/** Signals the master passes on to its workers (SIGUSR2 reloads instead). */
const FORWARDED = ["SIGUSR1", "SIGTERM", "SIGINT", "SIGTTOU", "SIGTTIN", "SIGHUP", "SIGQUIT"] as const;
/** The ones that mean the end for the master too (1.8 prints "Exiting Master process..."). */
const STOPPING = new Set(["SIGUSR1", "SIGTERM", "SIGINT"]);

/** strsignal() for the usual ones (2.x prints it after the exit code). */
const SIG_TEXT: Record<string, string> = {
  SIGHUP: "Hangup", SIGINT: "Interrupt", SIGQUIT: "Quit", SIGILL: "Illegal instruction", SIGABRT: "Aborted",
  SIGBUS: "Bus error", SIGFPE: "Floating point exception", SIGKILL: "Killed", SIGUSR1: "User defined signal 1",
  SIGSEGV: "Segmentation fault", SIGUSR2: "User defined signal 2", SIGPIPE: "Broken pipe", SIGALRM: "Alarm clock",
  SIGTERM: "Terminated",
};

/** What the master needs from the command line and the configuration. */
export interface MasterOptions {
  /** The arguments to start each worker with (the master's own). */
  argv: string[];
  nbproc: number;
  /** Where to write the workers' pids, "" for none. */
  pidfile: string;
  /** -sf / -st: old pids to signal once every worker listens. */
  oldPids: number[];
  oldPidsSig: string;
  /** -Ws: notify systemd (NOTIFY_SOCKET). */
  systemd: boolean;
  /** Re-read the configuration for a reload; prints its diagnostics. */
  reloadCheck: () => ReloadCheck;
}

/** What the master learns from re-reading the configuration on a reload. */
export interface ReloadCheck {
  ok: boolean;
  /** nbproc of the new configuration. */
  nbproc: number;
}

/**
 * HAProxy: sd_notify() (libsystemd). One datagram to $NOTIFY_SOCKET ('@' = abstract namespace).
 * Nothing happens without it; failures are ignored, as 1.8 ignores sd_notify's result.
 */
export function sdNotify(state: string): number {
  const where = process.env.NOTIFY_SOCKET;
  if (!where) return 0;
  const name = where.startsWith("@") ? "\0" + where.slice(1) : where;
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom("unix", name, 0, sa);
  if (len < 0) return len;
  const fd = native.socket(C.AF_UNIX, C.SOCK_DGRAM, 0);
  if (fd < 0) return fd;
  let r = native.connect(fd, sa, len);
  if (r === 0) {
    const b = Buffer.from(state);
    r = native.send(fd, b, 0, b.length, 0);
  }
  native.close(fd);
  return r < 0 ? r : 0;
}

/** <argv> without -x <socket> and -sf/-st <pid>*: a reload's workers get their own. */
function reloadArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a === "-x") {
      i++;
      continue;
    }
    if (a === "-sf" || a === "-st") {
      while (i + 1 < argv.length && /^\d+$/.test(argv[i + 1])) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

interface Worker {
  num: number;
  /** Generation: 1 at start, one more per reload. */
  gen: number;
  /** Its private `_getsocks` socket. */
  xfer: string;
  proc: ChildProcess;
  pid: number;
  ready: boolean;
  alive: boolean;
}

/**
 * Run the master: start the workers and supervise them on Node's event loop. Returns at once; the
 * process exits from the child-exit handler once the last worker is gone (HAProxy: mworker_wait()).
 * Returns an exit code instead when nothing could be started.
 */
export function runMaster(o: MasterOptions): number | null {
  let pidfd = -1;
  if (o.pidfile) {
    try {
      fs.rmSync(o.pidfile, { force: true });
      pidfd = fs.openSync(o.pidfile, "w", 0o644);
    } catch {
      logAlertLine(`[${process.argv[1] ?? "hapoll"}.main()] Cannot create pidfile ${o.pidfile}`);
      return 1;
    }
  }
  const daemonReady = process.env.HAPOLL_DAEMON_READY;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HAPOLL_DAEMON_READY;
  // A daemon's workers let go of the caller's stdout/stderr once they listen, as the master does.
  if (daemonReady) env[DETACH_ENV] = "1";
  // The workers' private hand-over sockets live here (0700), removed when the master leaves.
  let xferDir = "";
  try {
    xferDir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-mw-"));
  } catch {
    /* no hand-over: a reload's workers then bind new sockets */
  }
  /** Every worker still known, of every generation. */
  const workers: Worker[] = [];
  /** The generation serving (HAProxy: children[]), and the one a reload is starting. */
  let current: Worker[] = [];
  let pending: Worker[] | null = null;
  let gen = 0;
  let started = false;
  let lastStatus = 0;
  /** The status of the first worker that died before the start completed (0: none did). */
  let failStatus = 0;
  const self = process.argv[1] ?? "hapoll";

  const leave = (status: number): void => {
    if (o.pidfile) fs.rmSync(o.pidfile, { force: true });
    if (xferDir) fs.rmSync(xferDir, { recursive: true, force: true });
    process.exit(status);
  };

  const writePidfile = (ws: Worker[]): void => {
    if (!o.pidfile) return;
    try {
      fs.writeFileSync(o.pidfile, ws.filter((w) => w.pid > 0).map((w) => `${w.pid}\n`).join(""), { mode: 0o644 });
    } catch {
      /* the start already checked it could be created */
    }
  };

  const kill = (w: Worker, sig: NodeJS.Signals): void => {
    if (!w.alive) return;
    try {
      w.proc.kill(sig);
    } catch {
      /* gone meanwhile: its exit event will tell */
    }
  };

  const onExit = (w: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    if (!w.alive) return;
    w.alive = false;
    if (w.xfer) fs.rmSync(w.xfer, { force: true });
    const sigNum = signal ? (os.constants.signals as Record<string, number>)[signal] ?? 0 : 0;
    const status = code ?? (signal ? 128 + sigNum : 255);
    lastStatus = status;
    const why = signal ? SIG_TEXT[signal] ?? signal : "Exit";
    if (pending !== null && pending.includes(w)) {
      // A new worker died before it listened: the reload fails, the serving workers stay.
      logAlertLine(`New worker #${w.num} (${w.pid}) exited with code ${status} (${why}) before it was ready`);
      logAlertLine("Reload failed: stopping the new workers; the previous workers keep serving.");
      for (const x of pending) kill(x, "SIGTERM");
      pending = null;
      if (o.systemd) sdNotify("READY=1");
    } else if (current.includes(w)) {
      logAlertLine(`Current worker #${w.num} (${w.pid}) exited with code ${status} (${why})`);
    } else {
      logWarningLine(`Former worker #${w.num} (${w.pid}) exited with code ${status} (${why})`);
    }
    if (!started && !failStatus) {
      // A worker could not start (bind error, bad fd limit...): the start fails as a whole.
      failStatus = status || 1;
      for (const x of workers) kill(x, "SIGTERM");
    }
    const i = workers.indexOf(w);
    if (i >= 0) workers.splice(i, 1);
    if (workers.length === 0) {
      // HAProxy: the master leaves with the last status it saw; a failed start, with the status
      // of the worker that failed (not of the ones stopped because of it).
      const rc = started ? lastStatus : failStatus;
      logWarningLine(`All workers are left. Leaving... (${rc})`);
      leave(rc);
    }
  };

  const onReady = (w: Worker): void => {
    if (pending !== null && pending.includes(w)) {
      if (!pending.every((x) => x.ready)) return;
      // The new generation listens: the previous one finishes its connections and leaves.
      const old = current;
      current = pending;
      pending = null;
      writePidfile(current);
      for (const x of old) kill(x, "SIGUSR1");
      if (o.systemd) sdNotify("READY=1");
      return;
    }
    if (started || !current.every((x) => x.ready)) return;
    started = true;
    for (const pid of o.oldPids) {
      try {
        process.kill(pid, o.oldPidsSig);
      } catch {
        /* already gone */
      }
    }
    if (daemonReady) {
      fs.writeFileSync(daemonReady, "ok\n");
      detachStdio();
    }
    // HAProxy: mworker_wait(): sd_notifyf(0, "READY=1\nMAINPID=%lu", getpid()).
    if (o.systemd) sdNotify(`READY=1\nMAINPID=${process.pid}`);
  };

  /** Start worker #<n> of generation <g> with <args>. HAProxy: the fork loop of main(). */
  const startWorker = (n: number, g: number, args: string[]): Worker => {
    const xfer = xferDir ? path.join(xferDir, `w${g}-${n}.sock`) : "";
    const wenv: NodeJS.ProcessEnv = { ...env, [WORKER_ENV]: String(n) };
    if (xfer) wenv[XFER_ENV] = xfer;
    else delete wenv[XFER_ENV];
    const proc = spawn(process.execPath, [self, ...args], { stdio: ["ignore", "inherit", "inherit", "pipe"], env: wenv });
    const w: Worker = { num: n, gen: g, xfer, proc, pid: proc.pid ?? -1, ready: false, alive: proc.pid !== undefined };
    workers.push(w);
    proc.on("error", (e) => {
      logAlertLine(`[${self}.main()] Cannot start worker #${n}: ${e.message}`);
      onExit(w, 1, null);
    });
    proc.on("exit", (code, signal) => onExit(w, code, signal));
    const pipe = proc.stdio[3] as NodeJS.ReadableStream | null;
    if (pipe) {
      pipe.on("error", () => {});
      pipe.on("data", (d: Buffer) => {
        if (!w.ready && d.toString("latin1").includes("ready")) {
          w.ready = true;
          onReady(w);
        }
      });
    }
    return w;
  };

  /**
   * HAProxy: mworker_reload() (SIGUSR2). See the top of the file: check the configuration, start
   * the next generation on the sockets of this one, soft-stop this one once it listens.
   */
  const reload = (): void => {
    if (pending !== null) {
      logWarningLine("Reload already in progress, SIGUSR2 ignored.");
      return;
    }
    if (!started) {
      logWarningLine("Workers not started yet, SIGUSR2 ignored.");
      return;
    }
    logWarningLine("Reloading: re-reading the configuration and starting new workers.");
    if (o.systemd) sdNotify("RELOADING=1");
    const check = o.reloadCheck();
    if (!check.ok) {
      logAlertLine("Reload failed: the configuration has errors; the current workers keep serving.");
      if (o.systemd) sdNotify("READY=1");
      return;
    }
    const base = reloadArgv(o.argv);
    const next: Worker[] = [];
    gen++;
    pending = next;
    for (let n = 1; n <= Math.max(1, check.nbproc); n++) {
      const old = current.find((x) => x.num === n && x.alive && x.ready && x.xfer);
      next.push(startWorker(n, gen, old ? [...base, "-x", old.xfer] : base));
      if (pending !== next) return; // a spawn error already failed it
    }
  };

  gen = 1;
  for (let n = 1; n <= o.nbproc; n++) {
    const w = startWorker(n, gen, o.argv);
    current.push(w);
    if (pidfd >= 0 && w.pid > 0) fs.writeSync(pidfd, `${w.pid}\n`);
  }
  if (pidfd >= 0) fs.closeSync(pidfd);

  // HAProxy: mworker_register_signals(); the master stays in wait() and passes signals on.
  for (const sig of FORWARDED) {
    process.on(sig, () => {
      if (STOPPING.has(sig)) {
        logWarningLine("Exiting Master process...");
        if (o.systemd && sig !== "SIGINT") sdNotify("STOPPING=1");
      }
      for (const w of workers) kill(w, sig);
    });
  }
  process.on("SIGUSR2", reload);
  process.on("SIGPIPE", () => {});
  return null;
}

const pipeBuf = Buffer.alloc(64);
const EAGAIN = E_AGAIN;
const EINTR = E_INTR;

/** The owner of the master pipe's fdtab entry (HAProxy: fdtab[fd].owner = mworker_pipe). */
const masterPipeOwner = { masterPipe: MASTER_PIPE_FD };

/**
 * HAProxy: mworker_pipe_handler(). Nothing is ever written to the pipe after "ready": it becomes
 * readable only when the master is gone (EOF). A worker without its master leaves at once.
 */
function masterPipeHandler(fd: number): void {
  for (;;) {
    const r = native.read(fd, pipeBuf, 0, pipeBuf.length);
    if (r > 0) continue;
    if (r === EAGAIN) {
      fdCantRecv(fd);
      return;
    }
    if (r === EINTR) continue;
    break;
  }
  process.exit(1);
}

/**
 * A worker is bound and about to enter its loop: tell the master ("ready" on fd 3), then watch the
 * pipe so that the worker exits if the master dies (HAProxy: mworker_pipe_register()).
 */
/** Set in a daemon master's workers: detach the standard streams once ready (detachStdio()). */
export const DETACH_ENV = "HAPOLL_DAEMON_DETACH";

/**
 * A daemon lets go of its caller's terminal, pipes and ssh session once started: stdin, stdout and
 * stderr become /dev/null, and it goes quiet (HAProxy 1.8 main(): fclose(stdin/stdout/stderr),
 * MODE_QUIET, after the fork). Node has no dup2(): closing fd <n> and opening /dev/null gives the
 * lowest free fd, which is <n> (nothing else opens files between the two calls: one thread).
 */
export function detachStdio(): void {
  for (const fd of [0, 1, 2]) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    const got = fs.openSync("/dev/null", fd === 0 ? "r" : "w");
    // Should another fd have been free below <fd>, keep it open rather than close a stranger's.
    if (got !== fd) break;
  }
  global.quiet = true;
  global.verbose = false;
}

export function workerReady(): void {
  try {
    fs.writeSync(MASTER_PIPE_FD, "ready\n");
  } catch (e) {
    // No fd 3 at all: started by hand with HAPOLL_WORKER set, nothing to watch. Any other error
    // (EPIPE...) means the master died while this worker was starting: leave, as the pipe would say.
    if ((e as NodeJS.ErrnoException).code === "EBADF") return;
    process.exit(1);
  }
  native.setNonblock(MASTER_PIPE_FD);
  fdInsert(MASTER_PIPE_FD, masterPipeOwner, masterPipeHandler);
  fdWantRecv(MASTER_PIPE_FD);
}
