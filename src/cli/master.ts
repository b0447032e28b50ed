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
 * Differences from 1.8, on purpose or forced:
 * - 1.8 honours nbproc only with -D or -W; hapoll always supervises (nbproc > 1 implies -W).
 * - 1.8's master kills all workers when one fails ("exit-on-failure"); hapoll keeps the others
 *   serving, as 1.8 does with `no-exit-on-failure`. A worker that fails before the start completed
 *   (it could not bind, say) still aborts the whole start, as a bind error aborts 1.8 before fork.
 * - The pidfile holds the workers' pids, one per line (what 1.8 writes in daemon mode; with -W it
 *   writes the master's).
 * - Workers bind their own sockets, so SO_REUSEPORT is required; a unix socket bind ends up served
 *   by the last worker that renamed its socket into place.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { native } from "../native";
import { fdCantRecv, fdInsert, fdWantRecv } from "../core/fd";
import { logAlertLine, logWarningLine } from "../proxy/log";

/** Environment variable marking a worker, holding its number (1..N). HAProxy: relative_pid. */
export const WORKER_ENV = "HAPOLL_WORKER";
/** The worker's end of its pipe to the master (HAProxy: mworker_pipe[0]). */
const MASTER_PIPE_FD = 3;

/** This process' worker number (1..N), or 0 when it is not a worker. */
export function workerNumber(): number {
  const v = Number(process.env[WORKER_ENV] ?? 0);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

/** Signals the master passes on to its workers (SIGUSR2 is ignored, as the workers do). */
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
}

interface Worker {
  num: number;
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
  const workers: Worker[] = [];
  let started = false;
  let lastStatus = 0;
  /** The status of the first worker that died before the start completed (0: none did). */
  let failStatus = 0;

  const leave = (status: number): void => {
    if (o.pidfile) fs.rmSync(o.pidfile, { force: true });
    process.exit(status);
  };

  const onExit = (w: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    if (!w.alive) return;
    w.alive = false;
    const sigNum = signal ? (os.constants.signals as Record<string, number>)[signal] ?? 0 : 0;
    const status = code ?? (signal ? 128 + sigNum : 255);
    lastStatus = status;
    const why = signal ? SIG_TEXT[signal] ?? signal : "Exit";
    logAlertLine(`Current worker #${w.num} (${w.pid}) exited with code ${status} (${why})`);
    if (!started && !failStatus) {
      // A worker could not start (bind error, bad fd limit...): the start fails as a whole.
      failStatus = status || 1;
      for (const x of workers) if (x.alive) x.proc.kill("SIGTERM");
    }
    if (workers.every((x) => !x.alive)) {
      // HAProxy: the master leaves with the last status it saw; a failed start, with the status
      // of the worker that failed (not of the ones stopped because of it).
      const rc = started ? lastStatus : failStatus;
      logWarningLine(`All workers are left. Leaving... (${rc})`);
      leave(rc);
    }
  };

  const onReady = (): void => {
    if (started || !workers.every((w) => w.ready)) return;
    started = true;
    for (const pid of o.oldPids) {
      try {
        process.kill(pid, o.oldPidsSig);
      } catch {
        /* already gone */
      }
    }
    if (daemonReady) fs.writeFileSync(daemonReady, "ok\n");
  };

  for (let n = 1; n <= o.nbproc; n++) {
    const proc = spawn(process.execPath, [process.argv[1], ...o.argv], {
      stdio: ["ignore", "inherit", "inherit", "pipe"],
      env: { ...env, [WORKER_ENV]: String(n) },
    });
    const w: Worker = { num: n, proc, pid: proc.pid ?? -1, ready: false, alive: proc.pid !== undefined };
    workers.push(w);
    proc.on("error", (e) => {
      logAlertLine(`[${process.argv[1] ?? "hapoll"}.main()] Cannot start worker #${n}: ${e.message}`);
      onExit(w, 1, null);
    });
    proc.on("exit", (code, signal) => onExit(w, code, signal));
    const pipe = proc.stdio[3] as NodeJS.ReadableStream | null;
    if (pipe) {
      pipe.on("error", () => {});
      pipe.on("data", (d: Buffer) => {
        if (!w.ready && d.toString("latin1").includes("ready")) {
          w.ready = true;
          onReady();
        }
      });
    }
    if (pidfd >= 0 && w.pid > 0) fs.writeSync(pidfd, `${w.pid}\n`);
  }
  if (pidfd >= 0) fs.closeSync(pidfd);

  // HAProxy: mworker_register_signals(); the master stays in wait() and passes signals on.
  for (const sig of FORWARDED) {
    process.on(sig, () => {
      if (STOPPING.has(sig)) logWarningLine("Exiting Master process...");
      for (const w of workers) {
        if (!w.alive) continue;
        try {
          w.proc.kill(sig);
        } catch {
          /* gone meanwhile: its exit event will tell */
        }
      }
    });
  }
  process.on("SIGUSR2", () => {});
  process.on("SIGPIPE", () => {});
  return null;
}

const pipeBuf = Buffer.alloc(64);
const EAGAIN = -(os.constants.errno.EAGAIN as number);
const EINTR = -(os.constants.errno.EINTR as number);

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
