/**
 * The hapoll command. HAProxy 1.8: main() and init() of src/haproxy.c: parse the arguments, read the
 * configuration, size the process (maxconn, maxsock, RLIMIT_NOFILE), pick a poller, build proxies,
 * servers and listeners, bind, install the signal handlers, then hand the thread to run_poll_loop().
 */
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
import type { ParsedConfig } from "../config/types";
import { enableListener, unbindListener } from "../net/listener";
import { bindListener } from "../net/proto_tcp";
import { bufPool, bufPoolGc, initBufPool } from "../core/buffer";
import { logState, logAlertLine, logWarningLine, logNoticeLine, sendProxyLog, LOG_NOTICE, LOG_ALERT } from "../core/log";
import { debugStreamLine, sendConnectLog } from "../proxy/log";
import { PR_STREADY, pauseProxies, resumeProxies, softStop, proxyCapStr, proxies } from "../proxy/proxy";
import { SRV_ST_STOPPED } from "../proxy/server";
import { SF_ERR_KILLED } from "../types/stream-t";
import { streamHooks, streamShutdownAll } from "../proxy/stream";
import { startHealthChecks } from "../proxy/checks";
import { agentMaxsock } from "../config/cfg_checks";
import { startEchoServer } from "../tools/echo";
import { enableTrace, parseTraceSpec, type TraceSubsystem } from "../core/trace";
import { enableProxyTrace } from "../tools/trace_proxy";
import { startTourClient } from "../tools/tour_client";
import { runTour } from "../tools/tour";
import { runTop } from "../tools/top";
import { runMaster, workerNumber, workerReady, workerXferSocket, detachStdio, DETACH_ENV, type ReloadCheck } from "./master";
import { getOldSockets, closeUnusedXferSocks } from "../net/xfer_sock";
import { startStatsSockets, statsSocketFds } from "../stats/cli";
import { type CliOptions, DEFAULT_MAXCONN, RELEASE_DATE, UsageError, VERSION, displayBuildOpts, displayVersion, err, out, parseArgs, usageText } from "./args";
import { buildProxies, initAddrs, readConfigFiles, fileErrText } from "./init";

/** The process being run: proxies by name, in configuration order. */
export const runtime = {
  cfg: null as ParsedConfig | null,
  opts: null as CliOptions | null,
};

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
      const msg = `SIGHUP: Server ${p.id}/${s.id} is ${st}. Conn: ${s.curSess} act, ${s.nbpend} pend, ${s.counters.cumSess} tot.`;
      logWarningLine(msg);
      sendProxyLog(p, LOG_NOTICE, msg);
    }
    const conn = `Conn: act(FE+BE): ${p.feconn}+${p.beconn}, ${totpend} pend (${p.nbpend} unass), tot(FE+BE): ${p.feCounters.cumConn}+${p.beCounters.cumConn}.`;
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
      err(`Frontend ${p.id}: ${p.feCounters.failedHandshakes} failed handshakes (PROXY protocol), ${p.feCounters.cumConn} conns.\n`);
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
      err(`[ALERT]    (${process.pid}) : Could not change to directory ${o.changeDir} : ${fileErrText(e)}\n`);
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
