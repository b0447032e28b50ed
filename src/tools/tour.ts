/**
 * `hapoll tour`: follow one connection through hapoll, step by step, in the order the seed
 * document tells HAProxy's story (config -> listener -> protocol -> poller -> fdtab -> fd cache ->
 * run_poll_loop -> accept -> connect -> forwarding -> close).
 *
 * It runs the seed configuration with the built-in echo backend and an in-loop client
 * (--tour-client) in a child hapoll with --trace, then prints that trace with a heading before
 * each step, naming the HAProxy function the step mirrors.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { native, C, type NativeBinding } from "../native";

/** The rules `hapoll tour --rules` adds to the seed's proxy: two connection rules, two content rules. */
export const TOUR_RULES = [
  "tcp-request connection reject if { src 10.0.0.0/8 }",
  "tcp-request connection accept if { src 127.0.0.1 }",
  "tcp-request inspect-delay 2s",
  "tcp-request content accept if { req.len gt 0 }",
];

/** The seed document's configuration, with its two ports as parameters (and TOUR_RULES with <rules>). */
export function seedConfig(port: number, srvPort: number, rules = false): string {
  return `global
    maxconn 500
defaults
    mode tcp
    contimeout 1000
    clitimeout 5000
    srvtimeout 5000
listen mysql_1
    bind :${port}
    mode tcp
${rules ? TOUR_RULES.map((r) => `    ${r}\n`).join("") : ""}    server srv1 127.0.0.1:${srvPort}
`;
}

/** Whether <port> can be bound on all addresses right now. */
function portFree(n: NativeBinding, port: number): boolean {
  const fd = n.socket(C.AF_INET, C.SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = n.sockaddrFrom("ipv4", "0.0.0.0", port, sa);
  n.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  const ok = n.bind(fd, sa, len) === 0;
  n.close(fd);
  return ok;
}

/** A port the kernel says is free (bind to 0 and read it back). */
function anyPort(n: NativeBinding): number {
  const fd = n.socket(C.AF_INET, C.SOCK_STREAM, 0);
  const sa = Buffer.alloc(C.SOCKADDR_MAX);
  const len = n.sockaddrFrom("ipv4", "127.0.0.1", 0, sa);
  n.bind(fd, sa, len);
  const l = n.getsockname(fd, sa);
  const info = n.sockaddrInfo(sa, l);
  n.close(fd);
  return info ? info.port : 0;
}

/**
 * The steps of the story: the first trace line matching <match> opens the step. Steps marked
 * <rules> are shown only when the configuration has rules (`hapoll tour --rules`).
 */
export const TOUR_STEPS: { match: RegExp; title: string; text: string; rules?: boolean }[] = [
  {
    match: /listener .* NEW -> INIT/,
    title: "create_listeners(), tcpv4_add_listener()  [src/listener.c, src/proto_tcp.c]",
    text: "The `bind :PORT` line becomes a listener, attached to the tcpv4 protocol. Each listener counts as one job.",
  },
  {
    match: /ASSIGNED -> LISTEN/,
    title: "tcp_bind_listener()  [src/proto_tcp.c]",
    text: "socket(), O_NONBLOCK, SO_REUSEADDR, bind(), listen(); then fd_insert() puts the fd in fdtab with\nlistener_accept() as its iocb. Nothing is polled yet: no direction is ACTIVE.",
  },
  {
    match: /LISTEN -> READY/,
    title: "enable_listener() -> fd_want_recv()  [src/listener.c, include/proto/fd.h]",
    text: "The listener wants to read: ACTIVE_R is set (R:pra -> R:prA). The fd is ACTIVE but neither READY nor\nPOLLED, so fd_update_cache() calls updt_fd_polling(): the fd joins the update list.",
  },
  {
    match: /run_poll_loop turn 1:/,
    title: "run_poll_loop()  [src/haproxy.c]",
    text: "Each turn: process_runnable_tasks(), signal_process_queue(), wake_expired_tasks(), stop if jobs == 0,\nthen cur_poller.poll() and fd_process_cached_events().",
  },
  {
    match: /epoll_ctl\(ADD|poll: fd=\d+ POLLIN\+|select: fd=\d+ rd_set\+|EVFILT_READ, EV_ADD/,
    title: "_do_poll()  [src/ev_epoll.c]",
    text: "The poller walks the update list: fd_compute_new_polled_status() turns ACTIVE-but-not-READY into\nPOLLED, and each change becomes one kernel call. Then it sleeps in epoll_wait() until the next timer.",
  },
  {
    match: /listener_accept\(fd=/,
    title: "fd_update_events() -> fd_process_cached_events() -> listener_accept()  [src/fd.c, src/listener.c]",
    text: "epoll_wait() reported the listening fd readable: fd_may_recv() sets READY, and ACTIVE+READY puts the fd\nin the fd cache. The cache walk calls its iocb: listener_accept() accepts until EAGAIN (fd_cant_recv).",
  },
  {
    match: / rule {5}fd=\d+ /,
    rules: true,
    title: "tcp_exec_l4_rules()  [src/tcp_rules.c, called by session_accept_fd() in src/session.c]",
    text: "The `tcp-request connection` rules run right at accept, before any stream exists: there is no buffer yet,\n" +
      "so they can only look at what the socket knows (src, dst, ports, stick counters). Each line shows the rule,\n" +
      "each ACL term's result and the verdict; the first accept or reject ends the list. A reject closes the fd\n" +
      "at once with SO_LINGER {1,0} (a single RST) and the session is freed without a stream.",
  },
  {
    match: /session_accept_fd/,
    title: "session_accept_fd() -> stream_new()  [src/session.c, src/stream.c]",
    text: "The client fd is registered with conn_fd_handler() as its iocb and marked READY both ways (speculative\nI/O), and conn_xprt_want_recv() makes it ACTIVE for reading: it joins the fd cache behind the listener,\nso in this same cache walk a first recv() is tried before any server exists (up to 15360 bytes: the\nlast tune.maxrewrite bytes wait until data is forwarded). The stream's task is woken with TASK_WOKEN_INIT.",
  },
  {
    match: /process_runnable_tasks -> process_stream/,
    title: "process_stream()  [src/stream.c]",
    text: "The stream task runs. The server side (si_b) starts in SI_ST_INI; with no analysers in TCP mode the\nrequest channel has AUTO_CONNECT, so it moves to REQ.",
  },
  {
    match: / rule {5}[0-9a-f]{8} /,
    rules: true,
    title: "tcp_inspect_request() as the AN_REQ_INSPECT_FE analyser  [src/tcp_rules.c, src/stream.c]",
    text: "The frontend has `tcp-request content` rules, so the stream starts with request analysers instead of\n" +
      "AUTO_CONNECT: process_stream() calls tcp_inspect_request() each time it runs, and no server is chosen\n" +
      "until the analysers are done. A rule whose fetch needs more data (req.len, req.payload...) answers MISS:\n" +
      "the analyser returns and waits for more bytes, at most `tcp-request inspect-delay` (req->analyse_exp).\n" +
      "Once the client's line is in, the rule matches, the analyser is removed and the connect can start.",
  },
  {
    match: /REQ -> ASS/,
    title: "sess_prepare_conn_req() -> assign_server_and_queue()  [src/stream.c, src/backend.c]",
    text: "A server is picked (srv1) and a slot reserved on it: si_b goes to ASS.",
  },
  {
    match: /ASS -> CON/,
    title: "connect_server() -> tcp_connect_server()  [src/backend.c, src/proto_tcp.c]",
    text: "socket(), fcntl(O_NONBLOCK), TCP_NODELAY, connect() -> EINPROGRESS. The fd joins fdtab with\nconn_fd_handler(), READY both ways; while the connect is pending the connection polls by its SOCK flags\n(conn_sock_want_send): write readiness will tell when the connect completes.",
  },
  {
    match: /CON -> EST/,
    title: "tcp_connect_probe() -> sess_establish()  [src/proto_tcp.c, src/stream.c]",
    text: "conn_fd_handler() saw the fd writable and connect() again said it is connected; on its way out it\ncommits the polling once (conn_cond_update_polling). process_stream() moves si_b to EST, switches the\ntimeouts to the server's and schedules both channels for forwarding (channel_forward_forever).",
  },
  {
    match: /echo_io\(fd=/,
    title: "forwarding: conn_fd_handler() -> raw_sock_to_buf() / raw_sock_from_buf()  [src/connection.c, src/raw_sock.c]",
    text: "Bytes read on one side are sent at once on the other by stream_int_notify() -> si_chk_snd(), without\nwaking the stream task: the fast path. The stream interface says what it wants in its conn_stream flags;\nthe mux turns them into CO_FL_XPRT_*, and the fd layer hears only of real changes. Here the echo backend\n(an iocb on the same loop) sends them back.",
  },
  {
    match: /fd_delete\(/,
    title: "closing: stream_sock_read0() -> si_shutw() -> fd_delete()  [src/stream_interface.c, src/fd.c]",
    text: "A FIN read on one side becomes shutdown(SHUT_WR) on the other once its data is flushed; a side that is\nshut both ways is closed: fd_delete() drops the fd from the poller, the cache and fdtab.",
  },
  {
    match: /stream_free/,
    title: "stream_free()  [src/stream.c]",
    text: "Both sides are closed: the stream logs (option tcplog), releases its server slot and its listener slot,\nand its job ends.",
  },
];

/** Annotate <trace> (the child's stdout) with the steps' headings (the rule steps with <rules>). */
export function annotateTour(trace: string, rules = false): string {
  const steps = TOUR_STEPS.filter((s) => rules || !s.rules);
  const out: string[] = [];
  let step = 0;
  for (const line of trace.split("\n")) {
    while (step < steps.length && steps[step].match.test(line)) {
      const s = steps[step];
      out.push("", `=== ${step + 1}. ${s.title}`, ...s.text.split("\n").map((t) => `    ${t}`), "");
      step++;
    }
    if (line) out.push(line);
  }
  return out.join("\n") + "\n";
}

/** The usage of `hapoll tour`. */
export const TOUR_USAGE = "Usage : hapoll tour [--port <listen port>] [--server-port <echo server port>] [--rules]\n" +
  "        (default: the seed's 3307 and 10000, or free ones when those are taken;\n" +
  "        --rules adds tcp-request rules to the seed and shows where they run)\n";

/**
 * Run the tour. <args>: `--port <n>` (the proxy's port) and `--server-port <n>` (the echo server's);
 * a port given that way must be free. Returns the exit code.
 */
export function runTour(binPath: string, args: string[] = []): number {
  const n = native;
  const asked: Record<string, number> = {};
  let rules = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--rules") {
      rules = true;
      continue;
    }
    if (a !== "--port" && a !== "--server-port") {
      process.stderr.write(`tour: unknown option '${a}'\n${TOUR_USAGE}`);
      return 1;
    }
    const v = args[++i];
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
      process.stderr.write(`tour: option '${a}' expects a port number (1-65535), not '${v ?? ""}'\n${TOUR_USAGE}`);
      return 1;
    }
    if (!portFree(n, Number(v))) {
      process.stderr.write(`tour: port ${v} (${a}) is already in use\n`);
      return 1;
    }
    asked[a] = Number(v);
  }
  if (asked["--port"] !== undefined && asked["--port"] === asked["--server-port"]) {
    process.stderr.write("tour: --port and --server-port must differ\n");
    return 1;
  }
  const port = asked["--port"] ?? (portFree(n, 3307) ? 3307 : anyPort(n));
  const srvPort = asked["--server-port"] ?? (portFree(n, 10000) ? 10000 : anyPort(n));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-tour-"));
  const cfg = path.join(dir, "seed.cfg");
  fs.writeFileSync(cfg, seedConfig(port, srvPort, rules));
  const header =
    "hapoll tour: one connection through HAProxy 1.8's machinery, as hapoll reproduces it.\n\n" +
    `The seed configuration (ports ${port} and ${srvPort}${Object.keys(asked).length ? ", as asked" : port !== 3307 || srvPort !== 10000 ? ", moved because the seed's were taken" : ""}):\n\n` +
    seedConfig(port, srvPort, rules).split("\n").map((l) => "    " + l).join("\n") +
    "\nreadcfgfile() -> cfg_parse_global() / cfg_parse_listen()  [src/cfgparse.c]: the file becomes a proxy\n" +
    "`mysql_1` with one listener and one server. A built-in echo server plays srv1, and a client inside the\n" +
    "same loop sends one line through the proxy. Trace columns: [loop turn] subsystem event.\n" +
    (rules ? "The proxy also has tcp-request rules: `rule` lines show each one evaluated (--trace=rule).\n" : "");
  const r = spawnSync(process.execPath, [binPath, "-f", cfg, "--echo", `127.0.0.1:${srvPort}`,
    `--trace=fd,updt,poll,cache,task,listener,si,stream${rules ? ",rule" : ""}`, "--tour-client", `127.0.0.1:${port}`, "-q"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    process.stderr.write(`tour: hapoll exited with ${r.status ?? r.signal}\n${r.stderr}`);
    return 1;
  }
  process.stdout.write(header + annotateTour(r.stdout, rules) +
    "\nThe client got its line back and the process stopped itself (SIGUSR1, soft stop). See docs/internals.md.\n");
  return 0;
}
