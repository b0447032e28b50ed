/**
 * The command line: hapoll's version, its options and their parsing, the usage text, -v and -vv.
 * HAProxy 1.8: usage(), display_version(), display_build_opts() and the argument loop of init()
 * in src/haproxy.c.
 */
import { C, native } from "../native";
import { MAX_POLL_EVENTS } from "../core/global";
import { listPollers } from "../core/poller";
import { logWarningLine } from "../core/log";
import { parseTraceSpec } from "../core/trace";
import * as fs from "node:fs";
import * as os from "node:os";

/** hapoll's version, and the HAProxy release it mirrors. */
export const VERSION = "0.1.0";

export const MIRRORS = "HA-Proxy 1.8.0 (TCP mode)";

/** hapoll's release date, in HAProxy's format (`show info`'s Release_date). */
export const RELEASE_DATE = "2026/11/25";

/** HAProxy: DEFAULT_MAXCONN. */
export const DEFAULT_MAXCONN = 2000;

/** What the command line asked for. HAProxy: the arguments of main(). */
export interface CliOptions {
  files: string[];
  check: boolean;
  debug: boolean;
  foreground: boolean;
  daemon: boolean;
  /** -W: master-worker mode (implied by nbproc > 1). */
  masterWorker: boolean;
  /** -Ws: master-worker mode telling systemd when it is ready (sd_notify). */
  systemd: boolean;
  /** -x <socket>: take the listening sockets of the old process from its stats socket. */
  oldUnixSocket: string;
  quiet: boolean;
  verbose: boolean;
  pidfile: string;
  maxconn: number;
  maxpconn: number;
  noEpoll: boolean;
  noKqueue: boolean;
  noPoll: boolean;
  noSplice: boolean;
  noReuseport: boolean;
  oldPids: number[];
  oldPidsSig: string;
  echo: string[];
  /** --trace[=subsystems]: null when off. */
  trace: string | null;
  /** --tour-client <addr>: the tour's in-loop client. */
  tourClient: string;
  /** -dr: a server whose name does not resolve starts in maintenance instead of failing. */
  resolveDontFail: boolean;
  /** -C <dir>: change to <dir> before reading the configuration. */
  changeDir: string;
  /** -m <MB>: the memory limit, in megabytes (0: none). */
  memmax: number;
  /** -L <name>: the local peer name (HAProxy's localpeer; hapoll has no peers section). */
  localPeer: string;
  version: 0 | 1 | 2;
}

/** Writes to stdout/stderr synchronously (the loop never lets Node flush asynchronous streams). */
export function out(s: string): void {
  try {
    fs.writeSync(1, s);
  } catch {
    /* closed stdout */
  }
}

export function err(s: string): void {
  try {
    fs.writeSync(2, s);
  } catch {
    /* closed stderr */
  }
}

export function displayVersion(): void {
  out(`hapoll version ${VERSION}, a TypeScript reimplementation of ${MIRRORS}\n`);
  out(`Node.js ${process.version} on ${process.platform}/${process.arch}\n\n`);
}

export function displayBuildOpts(): void {
  out("Build options :\n  TARGET  = " + process.platform + "\n  NATIVE  = node-addon-api (" +
    native.pollerNames().join(", ") + ")\n  OPTIONS = " + (C.HAVE_SPLICE ? "USE_LINUX_SPLICE=1 " : "") + "USE_TPROXY=0\n\n");
  out(`Default settings :\n  maxconn = ${DEFAULT_MAXCONN}, bufsize = 16384, maxrewrite = 1024, maxpollevents = ${MAX_POLL_EVENTS}\n\n`);
  out(listPollers());
  out("\n");
}

/** HAProxy: usage(). */
export function usageText(): string {
  return "Usage : hapoll [-f <cfgfile>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]\n" +
    "        [ -p <pidfile> ] [ -sf|-st <pid>* ] [-- <cfgfile>*]\n" +
    "        -v displays version ; -vv shows known build options.\n" +
    "        -d enters debug mode ; -db only disables background mode.\n" +
    "        -V enters verbose mode (disables quiet mode)\n" +
    "        -D goes daemon\n" +
    "        -W master-worker mode (implied by nbproc > 1).\n" +
    "        -Ws master-worker mode with systemd notify support.\n" +
    "        -q quiet mode : don't display messages\n" +
    "        -c check mode : only check config files and exit\n" +
    `        -n sets the maximum total # of connections (${DEFAULT_MAXCONN})\n` +
    "        -N sets the default, per-proxy maximum # of connections (2000)\n" +
    "        -p writes pids of all children to this file\n" +
    "        -de disables epoll() usage even when available\n" +
    "        -dk disables kqueue() usage even when available\n" +
    "        -dp disables poll() usage even when available\n" +
    "        -dS disables splice usage (broken on old kernels)\n" +
    "        -dR disables SO_REUSEPORT usage\n" +
    "        -dr ignores server address resolution failures\n" +
    "        -m limits the usable amount of memory (in MB)\n" +
    "        -C changes to directory <dir> before loading files\n" +
    "        -L set local peer name (default to hostname)\n" +
    "        -sf/-st [pid ]* finishes/terminates old pids.\n" +
    "        -x <unix_socket> get listening sockets from a unix socket\n" +
    "        --echo <addr> also serves a built-in echo backend on <addr> (for demos)\n" +
    "        hapoll tour [--port <n>] [--server-port <n>] [--rules] : follow one connection through the machinery, annotated\n" +
    "        hapoll top <stats socket> : live view of a running hapoll (q quits)\n" +
    "        --trace[=fd,updt,poll,cache,task,listener,si,stream,rule] traces internal events to stdout\n\n";
}

/** Thrown by parseArgs for bad arguments: the message is printed with the usage, exit 1. */
export class UsageError extends Error {}

/** HAProxy: the argument loop of init(). */
export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = {
    files: [], check: false, debug: false, foreground: false, daemon: false, masterWorker: false, systemd: false, oldUnixSocket: "", quiet: false, verbose: false,
    pidfile: "", maxconn: 0, maxpconn: 0, noEpoll: false, noKqueue: false, noPoll: false, noSplice: false,
    noReuseport: false, oldPids: [], oldPidsSig: "", echo: [], trace: null, tourClient: "", version: 0,
    resolveDontFail: false, changeDir: "", memmax: 0, localPeer: os.hostname(),
  };
  const num = (flag: string, v: string | undefined): number => {
    if (v === undefined) throw new UsageError(`option '${flag}' expects an argument`);
    if (!/^\d+$/.test(v)) throw new UsageError(`option '${flag}' expects a positive number, not '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      o.files.push(...argv.slice(i + 1));
      break;
    }
    if (a === "--trace" || a.startsWith("--trace=")) {
      o.trace = a === "--trace" ? "all" : a.slice(8);
      const t = parseTraceSpec(o.trace);
      if (typeof t === "string") throw new UsageError(t);
      continue;
    }
    if (a === "--tour-client") {
      const v = argv[++i];
      if (!v) throw new UsageError("option '--tour-client' expects an address");
      o.tourClient = v;
      continue;
    }
    if (a === "--echo") {
      const v = argv[++i];
      if (!v) throw new UsageError("option '--echo' expects an address");
      o.echo.push(v);
      continue;
    }
    if (!a.startsWith("-") || a.length < 2) throw new UsageError(`unexpected argument '${a}'`);
    const f = a.slice(1);
    if (f === "v") o.version = Math.max(o.version, 1) as 1;
    else if (f === "vv") o.version = 2;
    else if (f === "de") o.noEpoll = true;
    else if (f === "dk") o.noKqueue = true;
    else if (f === "dp") o.noPoll = true;
    else if (f === "dS") o.noSplice = true;
    else if (f === "dR") o.noReuseport = true;
    else if (f === "dr") o.resolveDontFail = true;
    else if (f === "db") o.foreground = true;
    else if (f === "d") o.debug = true;
    else if (f === "V") o.verbose = true;
    else if (f === "c") o.check = true;
    else if (f === "D") o.daemon = true;
    else if (f === "W") o.masterWorker = true;
    else if (f === "Ws") {
      o.masterWorker = true;
      o.systemd = true;
    } else if (f === "x") {
      // HAProxy: the path must follow and must not look like an option.
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("-")) throw new UsageError("Unix socket path expected with the -x flag");
      if (o.oldUnixSocket) logWarningLine("-x option already set, overwriting the value");
      o.oldUnixSocket = v;
      i++;
    }
    else if (f === "q") o.quiet = true;
    else if (f === "sf" || f === "st") {
      o.oldPidsSig = f === "sf" ? "SIGUSR1" : "SIGTERM";
      while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) {
        const pid = Number(argv[++i]);
        if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`invalid pid '${argv[i]}' after -${f}`);
        o.oldPids.push(pid);
      }
    } else if (f === "f") {
      const v = argv[++i];
      if (v === undefined) throw new UsageError("option '-f' expects a file name");
      o.files.push(v);
    } else if (f === "p") {
      const v = argv[++i];
      if (v === undefined) throw new UsageError("option '-p' expects a file name");
      o.pidfile = v;
    } else if (f === "n") o.maxconn = num("-n", argv[++i]);
    else if (f === "N") o.maxpconn = num("-N", argv[++i]);
    else if (f === "m") o.memmax = num("-m", argv[++i]);
    else if (f === "C" || f === "L") {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option '-${f}' expects an argument`);
      if (f === "C") o.changeDir = v;
      else o.localPeer = v;
    }
    else throw new UsageError(`unknown option '${a}'`);
  }
  return o;
}
