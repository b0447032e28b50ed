/**
 * The hapoll command. HAProxy 1.8: main() and init() of src/haproxy.c: parse the arguments, read the
 * configuration, size the process (maxconn, maxsock, RLIMIT_NOFILE), pick a poller, build proxies,
 * servers and listeners, bind, install the signal handlers, then hand the thread to run_poll_loop().
 */
import { proxyRulesInit } from "../proxy/tcp_rules";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { native, C } from "../native";
import { clock, updateDate } from "../core/clock";
import { fdtab, fdStateString } from "../core/fd";
import { counters, global, haproxyMaxsock, MAX_POLL_EVENTS, MIN_RECV_AT_ONCE_ENOUGH } from "../core/global";
import { runPollLoop } from "../core/loop";
import { disablePoller, initPollers, listPollers, registry, deinitPollers } from "../core/poller";
import { signalRegisterFct } from "../core/signal";
import { taskNew, taskSchedule } from "../core/task";
import { tickAdd } from "../core/ticks";
import { parseConfigFiles, formatDiag } from "../config/cfgparse";
import type { ParsedAddress, ParsedConfig, ServerConfig } from "../config/types";
import { Listener, createListener, enableListener, unbindListener, LI_ASSIGNED } from "../net/listener";
import { bindListener, type ConnSource } from "../net/proto_tcp";
import { bufPool, bufPoolGc, initBufPool } from "../core/buffer";
import { logState, logAlertLine, logWarningLine, logNoticeLine, sendProxyLog, LOG_NOTICE, LOG_ALERT } from "../core/log";
import { debugStreamLine, sendConnectLog } from "../proxy/log";
import { Proxy, PR_STREADY, pauseProxies, resumeProxies, softStop, proxyCapStr, proxies } from "../proxy/proxy";
import { Server, SRV_ST_STOPPED, SRV_ADMF_RMAINT } from "../proxy/server";
import { SF_ERR_KILLED } from "../types/stream-t";
import { streamHooks, streamShutdownAll } from "../proxy/stream";
import { sessionAcceptFd } from "../proxy/session";
import { startHealthChecks, serverCheckInit } from "../proxy/checks";
import { agentMaxsock } from "../config/cfg_checks";
import { startEchoServer } from "./echo";
import { enableTrace, parseTraceSpec, type TraceSubsystem } from "../core/trace";
import { enableProxyTrace } from "./trace_proxy";
import { startTourClient } from "./tour_client";
import { runTour } from "./tour";
import { runTop } from "./top";
import { runMaster, workerNumber, workerReady, workerXferSocket, detachStdio, DETACH_ENV, type ReloadCheck } from "./master";
import { getOldSockets, closeUnusedXferSocks } from "../net/xfer_sock";
import { startStatsSockets, statsSocketFds } from "./cli";

/** hapoll's version, and the HAProxy release it mirrors. */
export const VERSION = "0.1.0";
export const MIRRORS = "HA-Proxy 1.8.0 (TCP mode)";
/** hapoll's release date, in HAProxy's format (`show info`'s Release_date). */
export const RELEASE_DATE = "2026/11/25";
/** HAProxy: DEFAULT_MAXCONN. */
const DEFAULT_MAXCONN = 2000;

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
function out(s: string): void {
  try {
    fs.writeSync(1, s);
  } catch {
    /* closed stdout */
  }
}
function err(s: string): void {
  try {
    fs.writeSync(2, s);
  } catch {
    /* closed stderr */
  }
}

function displayVersion(): void {
  out(`hapoll version ${VERSION}, a TypeScript reimplementation of ${MIRRORS}\n`);
  out(`Node.js ${process.version} on ${process.platform}/${process.arch}\n\n`);
}

function displayBuildOpts(): void {
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

/**
 * The C library's words for a failed file system call (HAProxy prints strerror(errno)): Node's
 * "ENOENT: no such file or directory, stat 'x'" becomes "No such file or directory".
 */
function strerror(e: unknown): string {
  const m = /^[A-Z0-9]+: ([^,]*)/.exec((e as Error).message ?? "");
  const t = m ? m[1] : String((e as Error).message ?? e);
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Read the configuration files; a directory contributes its *.cfg files in order (HAProxy 1.7+). */
function readConfigFiles(names: string[]): { name: string; text: string }[] | string {
  const files: { name: string; text: string }[] = [];
  for (const n of names) {
    let st: fs.Stats;
    try {
      st = fs.statSync(n);
    } catch (e) {
      return `Cannot open configuration file/directory ${n} : ${strerror(e)}`;
    }
    const list = st.isDirectory()
      ? fs.readdirSync(n).filter((x) => x.endsWith(".cfg")).sort().map((x) => `${n}/${x}`)
      : [n];
    for (const f of list) {
      try {
        files.push({ name: f, text: fs.readFileSync(f, "utf8") });
      } catch (e) {
        return `Could not open configuration file ${f} : ${strerror(e)}`;
      }
    }
  }
  return files;
}

/** The names resolved by initAddrs(), and the servers -dr put in maintenance. */
const resolved = new Map<ParsedAddress, string>();
const unresolvedServers = new Set<ServerConfig>();

/** The numeric address of a parsed address (resolving a DNS name at start-up, as HAProxy does). */
function resolveAddr(a: ParsedAddress): string | null {
  if (a.family === "unix") return a.host;
  if (!a.needsResolve) return a.host;
  const done = resolved.get(a);
  if (done !== undefined) return done;
  const r = native.resolveHost(a.host, a.family === "ipv6" ? "ipv6" : a.familyForced ? "ipv4" : "any");
  if (typeof r !== "string") return null;
  resolved.set(a, r);
  return r;
}

/**
 * Resolve the names of the bind and server lines, before -c says anything: -c fails where start-up
 * would. Returns the fatal messages (empty when all resolved). A bind name that does not resolve
 * is a parsing error (HAProxy resolves it in str2sa_range()); a server's fails the start
 * ("Failed to initialize server(s) addr.", srv_init_addr()) unless -dr puts the server in
 * maintenance with a warning.
 */
function initAddrs(cfg: ParsedConfig, o: CliOptions): string[] {
  const fatal: string[] = [];
  const badFiles: string[] = [];
  for (const pc of cfg.proxies) {
    if (pc.disabled || !pc.cap.fe) continue;
    for (const bc of pc.binds) {
      if (resolveAddr(bc.addr) !== null) continue;
      const port = bc.addr.raw.slice(bc.addr.raw.lastIndexOf(":"));
      fatal.push(`parsing [${bc.file}:${bc.line}] : 'bind' : invalid address: '${bc.addr.host}' in '${bc.addr.host}${port}'`);
      if (!badFiles.includes(bc.file)) badFiles.push(bc.file);
    }
  }
  for (const f of badFiles) fatal.push(`Error(s) found in configuration file : ${f}`);
  if (badFiles.length) fatal.push("Fatal errors found in configuration.");
  let srvFail = false;
  for (const pc of cfg.proxies) {
    if (pc.disabled) continue;
    for (const sc of pc.servers) {
      if (resolveAddr(sc.addr) !== null) continue;
      const where = `parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : could not resolve address '${sc.addr.host}'`;
      if (o.resolveDontFail) {
        logWarningLine(`${where}, disabling server.`);
        unresolvedServers.add(sc);
      } else {
        fatal.push(`${where}.`);
        srvFail = true;
      }
    }
  }
  if (srvFail) fatal.push("Failed to initialize server(s) addr.");
  return fatal;
}

/** Build a sockaddr for <host>/<port>; the family is taken from the numeric address. */
function makeSockaddr(fam: string, host: string, port: number): { buf: Buffer; len: number; family: string } | null {
  const family = fam === "unix" ? "unix" : host.includes(":") ? "ipv6" : "ipv4";
  const buf = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(family, host, port, buf);
  if (len < 0) return null;
  return { buf, len, family };
}

/** The process being run: proxies by name, in configuration order. */
export const runtime = {
  cfg: null as ParsedConfig | null,
  opts: null as CliOptions | null,
};

/**
 * The ConnSource of a `source` address (HAProxy: struct conn_src filled by the parser), or an
 * error message.
 */
function makeConnSource(a: ParsedAddress): ConnSource | string {
  const host = resolveAddr(a);
  if (host === null) return `could not resolve address '${a.host}'`;
  const sa = makeSockaddr(a.family, host, a.portLow);
  if (!sa) return `invalid address '${a.raw}'`;
  return {
    addr: sa.buf, addrLen: sa.len, family: sa.family, host, portLow: a.portLow, portHigh: a.portHigh,
    nextPort: a.portLow, inet: host !== "0.0.0.0" && host !== "::" && !/^[0:]+$/.test(host),
  };
}

/**
 * Build proxies, servers and listeners from the configuration. Returns the alerts (empty when all
 * went well).
 */
function buildProxies(cfg: ParsedConfig, o: CliOptions): string[] {
  const alerts: string[] = [];
  const byName = new Map<string, Proxy>();
  let uuid = 1;
  for (const pc of cfg.proxies) {
    if (pc.disabled) continue;
    const p = new Proxy(pc, uuid++);
    if (!p.maxconn) p.maxconn = o.maxpconn || DEFAULT_MAXCONN;
    p.initialMaxconn = p.maxconn;
    byName.set(pc.name, p);
    proxies.push(p);
    if (pc.source) {
      const src = makeConnSource(pc.source);
      if (typeof src === "string") alerts.push(`parsing [${pc.file}:${pc.line}] : 'source ${pc.source.raw}' : ${src}.`);
      else p.connSrc = src;
    }
  }
  for (const p of proxies) {
    const pc = p.cfg;
    if (pc.cap.fe) {
      // The first unconditional use_backend (HAProxy evaluates the switching rules in order; the
      // conditional ones run as the AN_REQ_SWITCHING_RULES analyser, src/proxy/tcp_rules.ts).
      const uncond = pc.useBackends.find((u) => !u.cond);
      const target = !pc.useBackends.some((u) => u.cond) && uncond ? uncond.name : pc.defaultBackend;
      p.defbe = target ? byName.get(target) ?? null : pc.cap.be ? p : null;
      if (target && !p.defbe) alerts.push(`Proxy '${pc.name}': unable to find required default_backend: '${target}'.`);
    }
    let puid = 1;
    for (const sc of pc.servers) {
      const srv = new Server(sc, p, puid++);
      serverCheckInit(srv);
      if (unresolvedServers.has(sc)) {
        // HAProxy -dr: no address (0.0.0.0), in maintenance until an address is set.
        srv.curAdmin |= SRV_ADMF_RMAINT;
        srv.nextAdmin |= SRV_ADMF_RMAINT;
        srv.curState = srv.nextState = SRV_ST_STOPPED;
      }
      const host = unresolvedServers.has(sc) ? "0.0.0.0" : resolveAddr(sc.addr);
      if (host === null) {
        alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : could not resolve address '${sc.addr.host}'.`);
        continue;
      }
      const sa = makeSockaddr(sc.addr.family, host, sc.addr.portLow);
      if (!sa) {
        alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : invalid address '${sc.addr.raw}'.`);
        continue;
      }
      if (sc.source) {
        const src = makeConnSource(sc.source);
        if (typeof src === "string") {
          alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : 'source ${sc.source.raw}' : ${src}.`);
          continue;
        }
        srv.connSrc = src;
      }
      srv.addr = sa.buf;
      srv.addrLen = sa.len;
      srv.host = host;
      srv.port = sc.addr.portLow;
      // The server's family follows its numeric address (a DNS name may give either).
      (sc.addr as { family: string }).family = sa.family;
      p.servers.push(srv);
    }
    if (!pc.cap.fe) continue;
    for (const bc of pc.binds) {
      const host = resolveAddr(bc.addr);
      if (host === null) {
        alerts.push(`parsing [${bc.file}:${bc.line}] : 'bind ${bc.raw}' : could not resolve address '${bc.addr.host}'.`);
        continue;
      }
      for (let port = bc.addr.portLow; port <= Math.max(bc.addr.portLow, bc.addr.portHigh); port++) {
        const sa = makeSockaddr(bc.addr.family, host, port);
        if (!sa) {
          alerts.push(`parsing [${bc.file}:${bc.line}] : 'bind ${bc.raw}' : invalid address.`);
          break;
        }
        const label = sa.family === "unix" ? host : sa.family === "ipv6" ? `${host}:${port}` : `${host}:${port}`;
        const l = new Listener(p, bc, {
          addr: sa.buf, addrLen: sa.len, family: sa.family, label,
          maxconn: bc.maxconn || p.maxconn, backlog: bc.backlog || pc.backlog || 0,
          maxaccept: listenerMaxaccept(cfg.global.tuneMaxaccept || 64, cfg.global.nbproc),
          accept: acceptStream,
        });
        createListener(l);
        l.setState(LI_ASSIGNED);
        p.listeners.push(l);
      }
    }
  }
  // ACL-based rules: stick tables, then each rule bound to its proxies, servers and tables.
  alerts.push(...proxyRulesInit(proxies, (n) => byName.get(n)));
  return alerts;
}

/**
 * HAProxy's per-listener maxaccept (check_config_validity()): with several processes, each takes a
 * share of half of it, for fairness between processes; -1 (unlimited) stays.
 */
function listenerMaxaccept(maxaccept: number, nbproc: number): number {
  if (maxaccept <= 0) return maxaccept;
  if (nbproc > 1) maxaccept = Math.floor((maxaccept + 1) / 2);
  return Math.floor((maxaccept + nbproc - 1) / nbproc);
}

/**
 * l->accept for proxy listeners (HAProxy: session_accept_fd): a stream, or first an embryonic
 * session waiting for its PROXY header (accept-proxy).
 */
function acceptStream(l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  return sessionAcceptFd(l, cfd, addr, addrLen);
}

/** -d output: HAProxy's per-stream debug lines on stdout. */
function installDebugHooks(o: CliOptions): void {
  const debug = o.debug && (!o.quiet || o.verbose);
  streamHooks.onEvent = (s, ev) => {
    if (ev === "accept") sendConnectLog(s);
    if (!debug || ev === "established") return;
    out(debugStreamLine(s, ev, s.si[0].conn.lastFd, s.si[1].conn.lastFd));
  };
}

/**
 * -m <MB>: once a second, compare the resident memory with the limit. Over it, the free buffers are
 * dropped (pool_gc2()), each new connection is closed at accept as 1.8.0 closes those it cannot
 * allocate a session for (listenerAccept(), counted in PoolFailed), and an alert says so once; back
 * under it, a notice. Live streams go on: nothing is killed, nothing crashes.
 */
function startMemoryWatch(): void {
  const t = taskNew((task) => {
    const rss = Math.ceil(process.memoryUsage.rss() / 1048576);
    const full = rss >= global.memmax;
    if (full) bufPoolGc();
    if (full && !global.memFull) {
      logAlertLine(`Memory limit of ${global.memmax} MB reached (resident: ${rss} MB): new connections are closed until memory is freed.`);
      for (const p of proxies) sendProxyLog(p, LOG_ALERT, `Memory limit of ${global.memmax} MB reached (resident: ${rss} MB): new connections are closed.`);
    } else if (!full && global.memFull) {
      logNoticeLine(`Memory back under the limit of ${global.memmax} MB (resident: ${rss} MB): accepting again.`);
    }
    global.memFull = full;
    task.expire = tickAdd(clock.nowMs, 1000);
    return task;
  });
  taskSchedule(t, tickAdd(clock.nowMs, 1000));
}

/** HAProxy: sig_dump_state() (SIGHUP). */
function dumpState(): void {
  logWarningLine("SIGHUP received, dumping servers states.");
  for (const p of proxies) {
    sendProxyLog(p, LOG_NOTICE, `SIGHUP received, dumping servers states for proxy ${p.id}.`);
    let totpend = p.nbpend;
    for (const s of p.servers) {
      totpend += s.nbpend;
      const st = s.curState !== SRV_ST_STOPPED ? "UP" : "DOWN";
      const msg = `SIGHUP: Server ${p.id}/${s.id} is ${st}. Conn: ${s.curSess} act, ${s.nbpend} pend, ${s.cumSess} tot.`;
      logWarningLine(msg);
      sendProxyLog(p, LOG_NOTICE, msg);
    }
    const conn = `Conn: act(FE+BE): ${p.feconn}+${p.beconn}, ${totpend} pend (${p.nbpend} unass), tot(FE+BE): ${p.cumFeconn}+${p.cumBeconn}.`;
    const act = p.srvAct;
    const bck = p.srvBck;
    let msg: string;
    if (!p.servers.length) msg = `SIGHUP: Proxy ${p.id} has no servers. ${conn}`;
    else if (act === 0) msg = `SIGHUP: Proxy ${p.id} ${bck ? "is running on backup servers" : "has no server available"} ! ${conn}`;
    else msg = `SIGHUP: Proxy ${p.id} has ${act} active servers and ${bck} backup servers available. ${conn}`;
    logWarningLine(msg);
    sendProxyLog(p, LOG_NOTICE, msg);
  }
}

/** SIGQUIT: HAProxy dumps its memory pools; hapoll dumps its buffer pool and fdtab summary. */
function dumpPools(): void {
  err(`Dumping pools usage.\n  - Pool buffer (${bufPool.size} bytes) : ${bufPool.allocated} allocated (${bufPool.allocated * bufPool.size} bytes), ${bufPool.used} used.\n`);
  err(`Total: 1 pools, ${bufPool.allocated * bufPool.size} bytes allocated, ${bufPool.used * bufPool.size} used.\n`);
  let n = 0;
  for (let fd = 0; fd < fdtab.maxfd; fd++) if (fdtab.owner[fd] !== null) n++;
  err(`fdtab: ${n} fds in use, maxfd=${fdtab.maxfd}, cache=${fdtab.cacheNum}; example state ${fdStateString(0)}\n`);
  for (const p of proxies) {
    if (p.cfg.cap.fe && p.listeners.some((l) => l.bind?.acceptProxy)) {
      err(`Frontend ${p.id}: ${p.failedHandshakes} failed handshakes (PROXY protocol), ${p.cumFeconn} conns.\n`);
    }
  }
}

/** Install HAProxy's signal handlers. */
function installSignals(): void {
  const S = os.constants.signals as Record<string, number>;
  signalRegisterFct(S.SIGUSR1, () => softStop(runtime.cfg!.global.hardStopAfter, () => streamShutdownAll(SF_ERR_KILLED)));
  signalRegisterFct(S.SIGTTOU, () => pauseProxies());
  signalRegisterFct(S.SIGTTIN, () => resumeProxies());
  signalRegisterFct(S.SIGHUP, () => dumpState());
  signalRegisterFct(S.SIGQUIT, () => dumpPools());
  signalRegisterFct(S.SIGPIPE, null);
  signalRegisterFct(S.SIGUSR2, null);
  const hard = () => {
    streamShutdownAll(SF_ERR_KILLED);
    counters.hardStop = true;
  };
  signalRegisterFct(S.SIGTERM, hard);
  signalRegisterFct(S.SIGINT, hard);
}

/** The fd budget: RLIMIT_NOFILE soft, hard. */
function getNofile(): [number, number] {
  const a = new Float64Array(2);
  if (native.getNofile(a) < 0) return [1024, 1024];
  return [a[0], a[1]];
}

/**
 * Node itself holds fds (stdio, libuv's epoll fd, pipes, eventfds: about 20) below hapoll's first
 * one. global.maxsock (fdtab, RLIMIT_NOFILE) makes room for them; HAProxy's figure leaves them out
 * (global.runtimeFds, haproxyMaxsock()).
 */
const NODE_FD_RESERVE = 64;
/** HAProxy 1.8 init(): "global.maxsock = 10; reserve 10 fds ; will be incremented by socket eaters". */
const MAXSOCK_RESERVE = 10;

/**
 * HAProxy's -D. Node cannot fork() safely (it runs threads), so the command starts itself again,
 * detached, with its stdout/stderr on pipes to this process, which relays what the copy prints
 * while it starts (warnings, alerts). Once bound, the copy writes "ok" to the file named in
 * HAPOLL_DAEMON_READY and swaps its standard streams for /dev/null (detachStdio()); when every
 * holder of the pipes has let go (or the copy died) this process exits: 0 when the copy is
 * running. The caller's terminal, pipe or ssh session is thus never held by the daemon, as with
 * HAProxy's fork. Returns null: the relay runs on Node's event loop and exits by itself.
 */
function daemonize(argv: string[]): null {
  const ready = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-d-")), "ready");
  const child = spawn(process.execPath, [process.argv[1], ...argv], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HAPOLL_DAEMON_READY: ready },
  });
  let open = 2;
  const finish = (): void => {
    let ok = false;
    try {
      ok = fs.readFileSync(ready, "utf8").startsWith("ok");
    } catch {
      /* never started */
    }
    fs.rmSync(path.dirname(ready), { recursive: true, force: true });
    process.exit(ok ? 0 : 1);
  };
  for (const [from, to] of [[child.stdout!, 1], [child.stderr!, 2]] as const) {
    from.on("data", (d: Buffer) => {
      try {
        fs.writeSync(to, d);
      } catch {
        /* the caller closed it */
      }
    });
    from.on("close", () => {
      if (--open === 0) finish();
    });
  }
  // A copy that neither starts nor fails within 30 s: give up on it, as the old wait did.
  setTimeout(finish, 30_000).unref();
  child.unref();
  return null;
}

/**
 * The master's check of the configuration on a reload (SIGUSR2): read and parse the same files
 * again and print the diagnostics, as the re-executed 1.8 master does. The workers will find what
 * only building and binding can show (they fail to start and the master keeps the old ones).
 */
function reloadCheck(o: CliOptions): ReloadCheck {
  const files = readConfigFiles(o.files);
  if (typeof files === "string") {
    err(`[ALERT]    (${process.pid}) : ${files}\n`);
    return { ok: false, nbproc: 0 };
  }
  const parsed = parseConfigFiles(files, { pid: process.pid });
  for (const d of parsed.diags) if (d.level === "alert" || !o.quiet) err(formatDiag(d, process.pid) + "\n");
  if (parsed.fatal) return { ok: false, nbproc: 0 };
  return { ok: true, nbproc: parsed.config.global.nbproc };
}

/**
 * Run the command. Returns the exit code (the loop has ended, or it never started), or null when
 * this process became the master of `nbproc` workers: it then lives on Node's event loop and exits
 * by itself once the last worker is gone.
 */
export function main(argv: string[]): number | null {
  if (argv[0] === "tour") return runTour(process.argv[1], argv.slice(1));
  if (argv[0] === "top") {
    // An ordinary Node program on Node's own loop: it exits by itself when the user quits.
    void runTop(argv[1]).then((code) => process.exit(code));
    return null;
  }
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      displayVersion();
      err(`[ALERT]    (${process.pid}) : ${e.message}\n` + usageText());
      return 1;
    }
    throw e;
  }
  runtime.opts = o;
  if (o.version) {
    displayVersion();
    if (o.version === 2) {
      global.maxsock = 10;
      if (o.noEpoll) disablePoller("epoll");
      if (o.noKqueue) disablePoller("kqueue");
      if (o.noPoll) disablePoller("poll");
      displayBuildOpts();
    }
    return 0;
  }
  if (!o.files.length && !o.echo.length) {
    displayVersion();
    err(usageText());
    return 1;
  }
  if (o.changeDir) {
    try {
      process.chdir(o.changeDir);
    } catch (e) {
      err(`[ALERT]    (${process.pid}) : Could not change to directory ${o.changeDir} : ${strerror(e)}\n`);
      return 1;
    }
  }
  if (o.daemon && !o.debug && !o.foreground && !o.check && !process.env.HAPOLL_DAEMON_READY && !workerNumber()) return daemonize(argv);

  const files = readConfigFiles(o.files);
  if (typeof files === "string") {
    err(`[ALERT]    (${process.pid}) : ${files}\n`);
    return 1;
  }
  const parsed = parseConfigFiles(files, { pid: process.pid });
  // A worker's master has already shown the warnings of the same files.
  const worker = workerNumber();
  for (const d of parsed.diags) {
    if (d.level === "alert" || (!o.quiet && !worker)) err(formatDiag(d, process.pid) + "\n");
  }
  if (parsed.fatal) return 1;
  const cfg = parsed.config;
  runtime.cfg = cfg;
  const g = cfg.global;
  if (g.logTag) logState.tag = g.logTag;
  global.quiet = (o.quiet || g.quiet) && !o.verbose;
  global.debug = o.debug;
  global.verbose = o.verbose;
  global.bufsize = g.tuneBufsize || 16384;
  // HAProxy: MAXREWRITE (1024) by default, never more than half a buffer.
  global.maxrewrite = g.tuneMaxrewrite < 0 ? 1024 : g.tuneMaxrewrite;
  if (global.maxrewrite >= global.bufsize / 2) global.maxrewrite = Math.floor(global.bufsize / 2);
  global.recvEnough = g.tuneRecvEnough || MIN_RECV_AT_ONCE_ENOUGH;
  global.readLoops = g.tuneReadLoops || 1;
  global.maxpollevents = g.tuneMaxpollevents || MAX_POLL_EVENTS;
  global.maxaccept = g.tuneMaxaccept;
  initBufPool(global.bufsize);
  global.splice = C.HAVE_SPLICE === 1 && !o.noSplice && !g.nosplice;

  const addrAlerts = initAddrs(cfg, o);
  if (addrAlerts.length) {
    for (const a of addrAlerts) logAlertLine(a);
    return 1;
  }

  const nListeners = cfg.proxies.reduce((n, p) => n + (p.cap.fe && !p.disabled ? p.binds.reduce((m, b) => m + 1 + Math.max(0, b.addr.portHigh - b.addr.portLow), 0) : 0), 0);
  if (o.check) {
    // HAProxy: a disabled proxy's listeners do not count; the GLOBAL frontend's (stats socket) do.
    if (nListeners === 0 && !o.echo.length && !g.statsSockets.length) {
      if (!global.quiet) out("Configuration file has no error but will not start (no listener) => exit(2).\n");
      return 2;
    }
    // HAProxy: qfprintf(), silent under -q.
    if (!global.quiet) out("Configuration file is valid\n");
    return 0;
  }

  // HAProxy: nbproc > 1 (or -W): this process becomes the master of the workers (master.ts).
  if (!worker && (g.nbproc > 1 || o.masterWorker || g.masterWorker)) {
    global.quiet = (o.quiet || g.quiet) && !o.verbose;
    if (g.nbproc > 1 && (o.noReuseport || g.noreuseport)) {
      logAlertLine(`config : 'nbproc ${g.nbproc}' needs SO_REUSEPORT: each worker binds its own listeners (remove 'noreuseport' / -dR).`);
      return 1;
    }
    return runMaster({
      argv, nbproc: g.nbproc, pidfile: o.pidfile || g.pidfile || "", oldPids: o.oldPids, oldPidsSig: o.oldPidsSig,
      systemd: o.systemd, reloadCheck: () => reloadCheck(o),
    });
  }

  // A worker's private socket for the next reload's hand-over (master.ts).
  const xferPath = worker ? workerXferSocket() : "";
  if (xferPath) {
    g.statsSockets.push({
      addr: { family: "unix", host: xferPath, needsResolve: false, familyForced: true, portLow: 0, portHigh: 0, portOffset: false, hasPort: false, raw: xferPath },
      level: "user", exposeFd: true, mode: 0o600, uid: -1, gid: -1, file: "(master-worker)", line: 0,
    });
  }
  // HAProxy: global.maxconn from the config, -n, or the fd limit; maxsock follows.
  const [soft, hard] = getNofile();
  // HAProxy: each health check adds one to maxsock (do_health_check_init()).
  const nChecks = cfg.proxies.reduce((n, p) => n + p.servers.reduce((k, sc) => k + (sc.check ? 1 : 0) + agentMaxsock(sc), 0), 0);
  // HAProxy 1.8: the 10 reserved fds (its log sockets come out of them, hence no count for `log`),
  // one per listener (cfg_parse_listen()), one per check (server.c), the stats sockets' (cli.c
  // and init()). The echo listeners are hapoll's own and count like listeners.
  const extra = MAXSOCK_RESERVE + nListeners + o.echo.length + statsSocketFds(g) + nChecks;
  global.runtimeFds = NODE_FD_RESERVE;
  if (o.maxconn) global.maxconn = o.maxconn;
  else if (g.maxconn) global.maxconn = g.maxconn;
  else {
    const lim = g.ulimitN || (Number.isFinite(hard) ? hard : soft);
    global.maxconn = Math.max(1, Math.min(DEFAULT_MAXCONN, Math.floor((lim - extra - global.runtimeFds) / 2)));
    if (o.debug || o.verbose) out(`Note: setting global.maxconn to ${global.maxconn}.\n`);
  }
  global.hardmaxconn = global.maxconn;
  global.cpsLim = g.maxconnrate ?? 0;
  // HAProxy: -m sets RLIMIT_AS, which V8 cannot live under (it reserves address space): hapoll
  // watches its resident memory instead and stops accepting while it is over the limit.
  global.memmax = o.memmax;
  if (global.memmax && !o.check) {
    const rss = Math.ceil(process.memoryUsage.rss() / 1048576);
    if (rss >= global.memmax) {
      logAlertLine(`[${process.argv[1] ?? "hapoll"}.main()] Cannot fix MEM limit to ${global.memmax} megs: hapoll already uses ${rss} MB (Node.js and V8 need about 40 MB to start).`);
      return 1;
    }
  }
  global.maxsock = 2 * global.maxconn + extra;
  // HAProxy: maxpipes = maxconn / 4 when splicing is used; each pipe costs two fds.
  const usesSplice = global.splice && cfg.proxies.some((p) => p.options.spliceAuto || p.options.spliceRequest || p.options.spliceResponse);
  global.maxpipes = usesSplice ? Math.max(1, Math.floor(global.maxconn / 4)) : 0;
  global.maxsock += 2 * global.maxpipes + global.runtimeFds;
  // HAProxy sets RLIMIT_NOFILE to maxsock; Node's own fds are part of it here.
  const wantFds = g.ulimitN || global.maxsock;
  if (wantFds > soft) {
    const r = native.setNofile(Math.min(wantFds, hard), hard);
    if (r < 0 || wantFds > hard) {
      logWarningLine(`[${process.argv[1] ?? "hapoll"}.main()] Cannot raise FD limit to ${wantFds}, limit is ${Math.min(soft, hard) === soft && r < 0 ? soft : hard}.`);
    }
  }
  if (g.ulimitN && g.ulimitN < global.maxsock) {
    global.runtimeFds = Math.max(0, global.runtimeFds - (global.maxsock - g.ulimitN));
    global.maxsock = g.ulimitN;
  }

  if (o.noEpoll || g.noepoll) disablePoller("epoll");
  if (o.noKqueue || g.nokqueue) disablePoller("kqueue");
  if (o.noPoll || g.nopoll) disablePoller("poll");
  if (o.verbose || o.debug) err(listPollers() + "\n");
  const poller = initPollers();
  if (!poller) {
    logAlertLine("No polling mechanism available.\n  It is likely that haproxy was built with TARGET=generic and that FD_SETSIZE\n" +
      "  is too low on this platform to support maxconn and the number of listeners\n" +
      "  and servers. You should rebuild haproxy specifying your system using TARGET=\n" +
      "  in order to support other polling systems (poll, epoll, kqueue) or reduce the\n" +
      "  global maxconn setting to accommodate the system's limitation. For reference,\n" +
      `  FD_SETSIZE=${C.FD_SETSIZE} on this system, global.maxconn=${global.maxconn} resulting in a maximum of\n` +
      `  ${haproxyMaxsock()} file descriptors. You should thus reduce global.maxconn by ${Math.ceil((haproxyMaxsock() - C.FD_SETSIZE) / 2)}. Also,\n` +
      "  check build settings using 'hapoll -vv'.\n");
    return 1;
  }
  if (o.verbose || o.debug) out(`Using ${poller.name}() as the polling mechanism.\n`);

  installDebugHooks(o);
  if (o.trace !== null) {
    enableTrace(parseTraceSpec(o.trace) as Set<TraceSubsystem>);
    enableProxyTrace();
  }
  const alerts = buildProxies(cfg, o);
  if (alerts.length) {
    for (const a of alerts) logAlertLine(`config : ${a}`);
    logAlertLine("config : Fatal errors found in configuration.");
    return 1;
  }

  // HAProxy: -x: get the old process' listening sockets before binding anything. A standalone
  // process that cannot get them exits; a master-worker's worker binds new ones, as 1.8 does.
  if (o.oldUnixSocket && o.oldUnixSocket !== "/dev/null") {
    const w = getOldSockets(o.oldUnixSocket);
    if (w) {
      logWarningLine(w);
      logAlertLine("Failed to get the sockets from the old process!");
      if (!worker) return 1;
    }
  }

  // Bind every listener; a failure names the address, as HAProxy does.
  let bindErr = false;
  for (const p of proxies) {
    let pxErr = false;
    for (const l of p.listeners) {
      const e = bindListener(l, { reuseport: !(o.noReuseport || g.noreuseport), unixMode: l.bind?.unixMode });
      if (e) {
        logAlertLine(`Starting ${proxyCapStr(p.cfg)} ${p.id}: ${e} [${l.label}]`);
        bindErr = pxErr = true;
      }
    }
    // HAProxy: start_proxies(): each proxy whose listeners are bound logs that it started.
    if (!pxErr) sendProxyLog(p, LOG_NOTICE, `Proxy ${p.id} started.`);
  }
  // The stats sockets: the GLOBAL frontend goes first in proxies, as in HAProxy.
  if (!startStatsSockets(g, { reuseport: !(o.noReuseport || g.noreuseport), version: VERSION, releaseDate: RELEASE_DATE })) bindErr = true;
  // The built-in echo backend binds without SO_REUSEPORT: with nbproc, worker #1 serves it.
  for (const a of worker > 1 ? [] : o.echo) {
    const e = startEchoServer(a);
    if (e) {
      logAlertLine(`Starting echo server: ${e}`);
      bindErr = true;
    }
  }
  // HAProxy: the received sockets no bind line wanted are closed.
  closeUnusedXferSocks();
  if (bindErr) return 1;
  if (o.tourClient) {
    const e = startTourClient(o.tourClient);
    if (e) {
      logAlertLine(`tour client: ${e}`);
      return 1;
    }
  }

  installSignals();

  // HAProxy: -sf/-st tell the old processes to finish / terminate once we listen (a worker's
  // master does it once every worker listens).
  if (o.oldPids.length && !worker) {
    for (const pid of o.oldPids) {
      try {
        process.kill(pid, o.oldPidsSig);
      } catch {
        /* already gone */
      }
    }
  }
  const pidfile = worker ? "" : o.pidfile || g.pidfile;
  if (pidfile) {
    try {
      fs.writeFileSync(pidfile, `${process.pid}\n`);
    } catch {
      logAlertLine(`[${process.argv[1] ?? "hapoll"}.main()] Cannot create pidfile ${pidfile}`);
      return 1;
    }
  }

  for (const p of proxies) {
    p.state = PR_STREADY;
    for (const l of p.listeners) enableListener(l);
  }
  startHealthChecks(proxies);
  if (global.memmax) startMemoryWatch();
  if (counters.jobs === 0) {
    logAlertLine("[hapoll.main()] No enabled listener found (check for 'bind' directives) ! Exiting.");
    return 1;
  }
  if (process.env.HAPOLL_DAEMON_READY) {
    fs.writeFileSync(process.env.HAPOLL_DAEMON_READY, "ok\n");
    delete process.env.HAPOLL_DAEMON_READY;
    detachStdio();
  }
  if (worker) {
    workerReady();
    if (process.env[DETACH_ENV]) detachStdio();
  }
  if (o.debug && !o.quiet) logNoticeLine(`hapoll ${VERSION} started with ${counters.jobs} listener(s), ${registry.cur!.name} poller, maxconn ${global.maxconn}, maxsock ${haproxyMaxsock()}.`);
  logState.starting = false;
  updateDate();
  runPollLoop();

  // HAProxy: deinit().
  for (const p of proxies) for (const l of p.listeners) unbindListener(l);
  deinitPollers();
  if (pidfile) {
    try {
      fs.unlinkSync(pidfile);
    } catch {
      /* gone */
    }
  }
  return 0;
}
