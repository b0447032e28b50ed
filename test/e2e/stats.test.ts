/**
 * The stats socket end to end: the real bin/hapoll with `stats socket` lines, real backends, and a
 * client talking to the socket (test/e2e/cli-client.ts). Expected texts are HAProxy 1.8's
 * (src/cli.c, src/stats.c, src/server.c, src/stream.c, src/proxy.c of v1.8.0), written out here.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fdsAreSockets, freePort, HAS_PROC, hasProgram, skipBecause, nofileOf, POLLER_VARIANTS, roundTrip, sleep, tmpDir, type Hapoll } from "./helpers";
import { holdServer, TestClient, waitFor, type HoldServer } from "./limits-helpers";
import { startHaproxy, startProxy, waitLog } from "./net-helpers";
import { CliConn, cliQuery, parseInfo, parseStat, type CliTarget } from "./cli-client";

afterEach(async () => {
  await cleanup();
});

/** HAProxy 1.8's `show stat` columns (include/types/stats.h, stat_field_names[] of src/stats.c). */
const FIELDS_18 =
  "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act," +
  "bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max," +
  "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate," +
  "req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime," +
  "rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health," +
  "agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses";

/** HAProxy 1.8's `show info` keys, in order (info_field_names[], a build with OpenSSL and zlib). */
const INFO_KEYS_18 = [
  "Name", "Version", "Release_date", "Nbproc", "Process_num", "Pid", "Uptime", "Uptime_sec", "Memmax_MB",
  "PoolAlloc_MB", "PoolUsed_MB", "PoolFailed", "Ulimit-n", "Maxsock", "Maxconn", "Hard_maxconn", "CurrConns",
  "CumConns", "CumReq", "MaxSslConns", "CurrSslConns", "CumSslConns", "Maxpipes", "PipesUsed", "PipesFree",
  "ConnRate", "ConnRateLimit", "MaxConnRate", "SessRate", "SessRateLimit", "MaxSessRate", "SslRate", "SslRateLimit",
  "MaxSslRate", "SslFrontendKeyRate", "SslFrontendMaxKeyRate", "SslFrontendSessionReuse_pct", "SslBackendKeyRate",
  "SslBackendMaxKeyRate", "SslCacheLookups", "SslCacheMisses", "CompressBpsIn", "CompressBpsOut",
  "CompressBpsRateLim", "ZlibMemUsage", "MaxZlibMemUsage", "Tasks", "Run_queue", "Idle_pct", "node",
];

/** The `help` answer: 1.8's stats_sock_usage_msg and the usage lines of the commands hapoll has. */
const HELP = [
  "Unknown command. Please enter one of the following commands only :",
  "  help           : this message",
  "  prompt         : toggle interactive mode with prompt",
  "  quit           : disconnect",
  "  show errors    : report last request and response errors for each proxy",
  "  disable agent  : disable agent checks (use 'set server' instead)",
  "  disable health : disable health checks (use 'set server' instead)",
  "  disable server : disable a server for maintenance (use 'set server' instead)",
  "  enable agent   : enable agent checks (use 'set server' instead)",
  "  enable health  : enable health checks (use 'set server' instead)",
  "  enable server  : enable a disabled server (use 'set server' instead)",
  "  set server     : change a server's state, weight or address",
  "  get weight     : report a server's current weight",
  "  set weight     : change a server's weight (deprecated)",
  "  show sess [id] : report the list of current sessions or dump this session",
  "  shutdown session : kill a specific session",
  "  shutdown sessions server : kill sessions on a server",
  "  clear table    : remove an entry from a table",
  "  show table [id]: report table usage stats or dump this table's contents",
  "  clear counters : clear max statistics counters (add 'all' for all counters)",
  "  show info      : report information about the running process",
  "  show stat      : report counters for each proxy and server",
  "  show schema json : report schema used for stats",
  "  set maxconn global : change the per-process maxconn setting",
  "  set rate-limit : change a rate limiting value",
  "  set timeout    : change a timeout setting",
  "  show env [var] : dump environment variables known to the process",
  "  show fd [num] : dump list of file descriptors in use",
  "  disable frontend : temporarily disable specific frontend",
  "  enable frontend : re-enable specific frontend",
  "  set maxconn frontend : change a frontend's maxconn setting",
  "  show servers state [id]: dump volatile server information (for backend <id>)",
  "  show backend   : list backends in the current running config",
  "  shutdown frontend : stop a specific frontend",
  "  show pollers   : list the polling mechanisms and the one in use",
  "",
].join("\n");

interface Env {
  h: Hapoll;
  dir: string;
  port: number;
  cliPort: number;
  /** level admin, mode 600 */
  admin: CliTarget;
  /** level user */
  user: CliTarget;
  /** TCP, default level (operator) */
  oper: CliTarget;
  be1: HoldServer;
  be2: HoldServer;
}

/** hapoll with three stats sockets in front of two echo backends (roundrobin). */
async function setup(o: { global?: string[]; listen?: string[]; s1?: string; s2?: string; args?: string[]; more?: string[] } = {}): Promise<Env> {
  const dir = tmpDir();
  const be1 = await holdServer();
  const be2 = await holdServer();
  const port = await freePort();
  const cliPort = await freePort();
  const cfg = [
    "global",
    `    stats socket ${dir}/admin.sock mode 600 level admin`,
    `    stats socket ${dir}/user.sock level user`,
    `    stats socket 127.0.0.1:${cliPort}`,
    ...(o.global ?? []).map((l) => "    " + l),
    "defaults",
    "    mode tcp",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
    "listen px",
    `    bind 127.0.0.1:${port}`,
    "    balance roundrobin",
    ...(o.listen ?? []).map((l) => "    " + l),
    `    server s1 127.0.0.1:${be1.port}${o.s1 ? " " + o.s1 : ""}`,
    `    server s2 127.0.0.1:${be2.port}${o.s2 ? " " + o.s2 : ""}`,
    ...(o.more ?? []),
    "",
  ].join("\n");
  // The TCP stats socket is bound after the unix ones: once it listens, all of them do.
  const h = await startProxy(cfg, [port, cliPort], o.args ?? []);
  return {
    h, dir, port, cliPort, be1, be2,
    admin: { path: `${dir}/admin.sock` },
    user: { path: `${dir}/user.sock` },
    oper: { port: cliPort },
  };
}

/** A client with an established stream: it connected and got one echo back. */
async function liveClient(port: number, msg = "ping"): Promise<TestClient> {
  const c = TestClient.tcp(port);
  await c.waitConnected();
  c.send(msg);
  await c.waitBytes(msg.length);
  return c;
}

async function stat(t: CliTarget) {
  return parseStat(await cliQuery(t, "show stat\n"));
}

/** Wait until hapoll's stderr (read asynchronously by the test) holds <text>. */
async function stderrHas(h: Hapoll, text: string): Promise<void> {
  await waitFor(() => h.stderr().includes(text), 3000, () => `${JSON.stringify(text)} in stderr:\n${h.stderr()}`);
}

/** One command, non-interactive: its answer without the final empty line. */
async function cmd(t: CliTarget, line: string): Promise<string> {
  const out = await cliQuery(t, line + "\n");
  expect(out.endsWith("\n"), `answer of '${line}' must end with the prompt newline: ${JSON.stringify(out)}`).toBe(true);
  return out.slice(0, -1);
}

describe("show stat", () => {
  it("HAProxy 1.8's CSV: the full header, a trailing comma on every line, rows FRONTEND, servers, BACKEND", async () => {
    const e = await setup();
    const text = await cliQuery(e.admin, "show stat\n");
    const lines = text.split("\n");
    expect(lines[0]).toBe("# " + FIELDS_18 + ",");
    expect(lines.slice(1, -2).every((l) => l.endsWith(","))).toBe(true);
    // The answer ends with the row's newline and the CLI's empty line.
    expect(text.endsWith(",\n\n")).toBe(true);
    const t = parseStat(text);
    expect(t.rows.map((r) => `${r.pxname}/${r.svname}`)).toEqual(["px/FRONTEND", "px/s1", "px/s2", "px/BACKEND"]);
    expect(t.rows.map((r) => r.type)).toEqual(["0", "2", "2", "1"]);
    // The stats frontend (GLOBAL, id 0) is never shown.
    expect(text).not.toMatch(/GLOBAL/);
  });

  it("counts real traffic per row: stot, bin, bout, scur, lbtot, status, weight, addr", async () => {
    const e = await setup();
    const msg = Buffer.from("hello stats");
    for (let i = 0; i < 4; i++) expect((await roundTrip(e.port, msg)).toString()).toBe("hello stats");
    await waitFor(async () => (await stat(e.admin)).get("px", "FRONTEND").stot === "4", 3000, "4 sessions in stot");
    let t = await stat(e.admin);
    const fe = t.get("px", "FRONTEND");
    expect(fe).toMatchObject({ scur: "0", stot: "4", bin: String(4 * msg.length), bout: String(4 * msg.length), slim: "2000", status: "OPEN", pid: "1", iid: "2", sid: "0", mode: "tcp", conn_tot: "4" });
    expect(fe.smax).toBe("1");
    for (const [sv, be] of [["s1", e.be1], ["s2", e.be2]] as const) {
      const r = t.get("px", sv);
      expect(r, sv).toMatchObject({ scur: "0", stot: "2", bin: String(2 * msg.length), bout: String(2 * msg.length), lbtot: "2", status: "no check", weight: "1", act: "1", bck: "0", addr: `127.0.0.1:${be.port}`, econ: "0", wretr: "0" });
      expect(Number(r.lastsess), "lastsess").toBeGreaterThanOrEqual(0);
    }
    const bk = t.get("px", "BACKEND");
    expect(bk).toMatchObject({ scur: "0", stot: "4", bin: String(4 * msg.length), bout: String(4 * msg.length), lbtot: "4", status: "UP", weight: "2", act: "2", bck: "0", algo: "roundrobin", slim: "200" });

    // Live connections show in scur on the frontend, the backend and the chosen server.
    const c1 = await liveClient(e.port);
    const c2 = await liveClient(e.port);
    t = await stat(e.admin);
    expect(t.get("px", "FRONTEND").scur).toBe("2");
    expect(t.get("px", "BACKEND").scur).toBe("2");
    expect(Number(t.get("px", "s1").scur) + Number(t.get("px", "s2").scur)).toBe(2);
    expect(t.get("px", "s1").scur).toBe("1");
    c1.destroy();
    c2.destroy();
    await waitFor(async () => (await stat(e.admin)).get("px", "FRONTEND").scur === "0", 3000, "scur back to 0");
  });

  it("from a user-level socket: no addr nor algo (HAProxy's ST_SHLGNDS needs operator)", async () => {
    const e = await setup();
    const t = await stat(e.user);
    expect(t.get("px", "s1").addr).toBe("");
    expect(t.get("px", "BACKEND").algo).toBe("");
    const o = await stat(e.oper);
    expect(o.get("px", "s1").addr).toBe(`127.0.0.1:${e.be1.port}`);
  });

  it("show stat <iid> <type> <sid> restricts the rows", async () => {
    const e = await setup();
    // type mask 4 = servers only, sid 2.
    const t = parseStat(await cliQuery(e.user, "show stat 2 4 2\n"));
    expect(t.rows.map((r) => r.svname)).toEqual(["s2"]);
    const b = parseStat(await cliQuery(e.user, "show stat px 2 -1\n"));
    expect(b.rows.map((r) => r.svname)).toEqual(["BACKEND"]);
    expect(await cmd(e.user, "show stat nope 1 -1")).toBe("No such proxy.\n");
    // The format word comes after the bounds (stats_formats.test.ts compares the forms with 1.8.0).
    expect(JSON.parse(await cmd(e.user, "show stat 2 4 2 json")).map((r: { value: { value: unknown } }[]) => r[1].value.value)).toEqual(["s2"]);
  });
});

describe("show info", () => {
  it("1.8's keys in order, with the process' real values", async () => {
    const e = await setup();
    const info = parseInfo((await cliQuery(e.user, "show info\n")).trimEnd() + "\n");
    expect([...info.keys()]).toEqual(INFO_KEYS_18);
    expect(info.get("Name")).toBe("hapoll");
    expect(info.get("Version")).toBe(JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")).version);
    expect(info.get("Release_date")).toMatch(/^\d{4}\/\d\d\/\d\d$/);
    expect(info.get("Pid")).toBe(String(e.h.pid));
    expect(info.get("Nbproc")).toBe("1");
    expect(info.get("Process_num")).toBe("1");
    expect(info.get("Uptime")).toMatch(/^0d 0h00m\d\ds$/);
    expect(Number(info.get("Maxconn"))).toBeGreaterThan(0);
    expect(info.get("Hard_maxconn")).toBe(info.get("Maxconn"));
    // Another process's fd limit is readable only from /proc; elsewhere hapoll's is checked as a number.
    if (HAS_PROC) expect(info.get("Ulimit-n")).toBe(String(nofileOf(e.h.pid).soft));
    else expect(Number(info.get("Ulimit-n"))).toBeGreaterThan(0);
    expect(Number(info.get("Maxsock"))).toBeGreaterThan(2 * Number(info.get("Maxconn")));
    expect(info.get("node")).toBe(os.hostname());
    expect(Number(info.get("Tasks"))).toBeGreaterThanOrEqual(1);
    const idle = Number(info.get("Idle_pct"));
    expect(idle >= 0 && idle <= 100).toBe(true);
  });

  it("CurrConns follows live proxied connections (the stats socket's own are not counted); CumConns and CumReq count", async () => {
    const e = await setup();
    const info = async () => parseInfo((await cliQuery(e.admin, "show info\n")).trimEnd() + "\n");
    const i0 = await info();
    expect(i0.get("CurrConns")).toBe("0");
    const c1 = await liveClient(e.port);
    const c2 = await liveClient(e.port);
    const i1 = await info();
    expect(i1.get("CurrConns")).toBe("2");
    // Each query is one more session (CumConns) and one more stream id (CumReq).
    expect(Number(i1.get("CumConns")) - Number(i0.get("CumConns"))).toBe(3);
    expect(Number(i1.get("CumReq")) - Number(i0.get("CumReq"))).toBe(3);
    c1.destroy();
    await waitFor(async () => (await info()).get("CurrConns") === "1", 3000, "CurrConns 1");
    c2.destroy();
    await waitFor(async () => (await info()).get("CurrConns") === "0", 3000, "CurrConns 0");
  });

  it("the stats socket answers when the global maxconn is reached (LI_O_UNLIMITED)", async () => {
    const e = await setup({ global: ["maxconn 1"] });
    const c = await liveClient(e.port);
    const info = parseInfo((await cliQuery(e.admin, "show info\n")).trimEnd() + "\n");
    expect(info.get("Maxconn")).toBe("1");
    expect(info.get("CurrConns")).toBe("1");
    c.destroy();
  });
});

describe("show fd", () => {
  const LINE = /^ {2}([ \d]{5}) : st=0x([0-9a-f]{2})\(R:[Pp][Rr][Aa] W:[Pp][Rr][Aa]\) ev=0x[0-9a-f]{2}\([Hh][Ee][Oo][Pp][Ii]\) \[[Nn][Uu][Ll][Cc]\] cache=\d+ owner=0x[0-9a-f]+ iocb=0x[0-9a-f]+\((\w+)\) tmask=0x1(.*)$/;

  it("lists the listeners, a live stream's two connections and the CLI connection, with their iocb names", async () => {
    const e = await setup();
    const c = await liveClient(e.port);
    const out = await cliQuery(e.oper, "show fd\n");
    const lines = out.split("\n").filter((l) => l);
    const parsed = lines.map((l) => {
      const m = LINE.exec(l);
      expect(m, `bad show fd line: ${l}`).not.toBeNull();
      return { fd: Number(m![1]), st: m![2], iocb: m![3], rest: m![4] };
    });
    // Every fd listed is a socket of the process (but the CLI's own, closed once it answered).
    expect(fdsAreSockets(e.h.pid, parsed.filter((p) => p.iocb !== "cli").map((p) => p.fd))).toBe(true);
    const listeners = parsed.filter((p) => p.iocb === "listener_accept");
    expect(listeners.map((p) => p.rest).sort()).toEqual([" l.st=RDY fe=GLOBAL", " l.st=RDY fe=GLOBAL", " l.st=RDY fe=GLOBAL", " l.st=RDY fe=px"]);
    const conns = parsed.filter((p) => p.iocb === "conn_fd_handler");
    expect(conns.length).toBe(2);
    expect(conns[0].rest).toMatch(/^ cflg=0x[0-9a-f]{8} fe=px$/);
    expect(conns[1].rest).toMatch(/^ cflg=0x[0-9a-f]{8} sv=s1\/px$/);
    expect(parsed.filter((p) => p.iocb === "cli").length).toBe(1);
    // `show fd <n>` shows that fd only.
    const one = await cliQuery(e.oper, `show fd ${conns[0].fd}\n`);
    expect(one.split("\n").filter((l) => l)).toEqual([lines[parsed.indexOf(conns[0])]]);
    c.destroy();
    await waitFor(async () => !(await cliQuery(e.oper, "show fd\n")).includes("conn_fd_handler"), 3000, "the stream's fds to go");
  });

  it("is refused at level user", async () => {
    const e = await setup();
    expect(await cliQuery(e.user, "show fd\n")).toBe("Permission denied\n\n");
  });
});

describe("show sess and shutdown session", () => {
  const SESS = /^(0x[0-9a-f]+): proto=(\S+) src=(\S+) fe=(\S+) be=(\S+) srv=(\S+) ts=[0-9a-f]{2} age=\d+s calls=\d+ rq\[f=[0-9a-f]{6,}h,i=0,an=00h,rx=[^,]*,wx=[^,]*,ax=\] rp\[f=[0-9a-f]{6,}h,i=0,an=00h,rx=[^,]*,wx=[^,]*,ax=\] s0=\[(\d+),[0-9a-f]+h,fd=(-?\d+),ex=[^\]]*\] s1=\[(\d+),[0-9a-f]+h,fd=(-?\d+),ex=[^\]]*\] exp=\S*( run\(nice=-?\d+\))?$/;

  it("one line per stream (and for the CLI's own session), as 1.8 prints it", async () => {
    const e = await setup();
    const c = await liveClient(e.port);
    const lines = (await cliQuery(e.oper, "show sess\n")).split("\n").filter((l) => l);
    expect(lines.length).toBe(2);
    const m = SESS.exec(lines[0]);
    expect(m, lines[0]).not.toBeNull();
    expect(m!.slice(2, 7)).toEqual(["tcpv4", `127.0.0.1:${c.sock.localPort}`, "px", "px", "s1"]);
    // Both sides established (SI_ST_EST = 7) on real fds.
    expect([m![7], m![9]]).toEqual(["7", "7"]);
    expect(Number(m![8])).toBeGreaterThan(2);
    expect(Number(m![10])).toBeGreaterThan(2);
    expect(lines[0]).toMatch(/ rq\[f=[0-9a-f]+h,i=0,an=00h,rx=(59|1m)s?/);
    const cli = SESS.exec(lines[1]);
    expect(cli, lines[1]).not.toBeNull();
    expect(cli!.slice(2, 7)).toEqual(["tcpv4", expect.stringMatching(/^127\.0\.0\.1:\d+$/), "GLOBAL", "<NONE>", "<none>"]);
    const viaUnix = (await cliQuery(e.admin, "show sess\n")).split("\n").filter((l) => l);
    expect(viaUnix[1]).toMatch(/ proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> /);
    c.destroy();
  });

  it("shutdown session kills the stream: the client is closed, the log says K", async () => {
    const e = await setup({ listen: ["log stdout format raw local0", "option tcplog"] });
    const c = await liveClient(e.port);
    const line = (await cliQuery(e.admin, "show sess\n")).split("\n").find((l) => l.includes(`src=127.0.0.1:${c.sock.localPort} `))!;
    const ptr = line.split(":")[0];
    expect(await cliQuery(e.admin, `shutdown session ${ptr}\n`)).toBe("\n");
    await waitFor(() => c.ended || c.closed, 3000, "the client to be closed");
    const log = await waitLog(e.h, c.sock.localPort!, 3000);
    expect(log?.ts[0], log?.line).toBe("K");
    expect(await cliQuery(e.admin, "show sess\n")).not.toContain(`src=127.0.0.1:${c.sock.localPort} `);
    expect(await cliQuery(e.admin, `shutdown session ${ptr}\n`)).toBe("No such session (use 'show sess').\n\n");
    expect(await cliQuery(e.admin, "shutdown session\n")).toBe("Session pointer expected (use 'show sess').\n\n");
  });

  it("shutdown sessions server kills the streams of one server only", async () => {
    const e = await setup();
    const c1 = await liveClient(e.port);
    const c2 = await liveClient(e.port);
    expect(await cmd(e.admin, "shutdown sessions server px/s2")).toBe("");
    await waitFor(() => c2.ended || c2.closed, 3000, "the s2 client to be closed");
    await sleep(100);
    expect(c1.ended || c1.closed).toBe(false);
    c1.send("still");
    await c1.waitBytes("ping".length + "still".length);
  });
});

describe("server administration", () => {
  it("disable server moves the traffic to the other server; enable server brings it back", async () => {
    const e = await setup();
    expect(await cmd(e.admin, "disable server px/s1")).toBe("");
    await stderrHas(e.h, `[WARNING]  (${e.h.pid}) : Server px/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n`);
    let t = await stat(e.admin);
    expect(t.get("px", "s1").status).toBe("MAINT");
    expect(t.get("px", "BACKEND")).toMatchObject({ weight: "1", act: "1", status: "UP" });
    for (let i = 0; i < 4; i++) await roundTrip(e.port, Buffer.from("x"));
    expect([e.be1.accepted(), e.be2.accepted()]).toEqual([0, 4]);

    expect(await cmd(e.admin, "enable server px/s1")).toBe("");
    await stderrHas(e.h, "Server px/s1 is UP/READY (leaving forced maintenance).");
    t = await stat(e.admin);
    expect(t.get("px", "s1").status).toBe("no check");
    for (let i = 0; i < 4; i++) await roundTrip(e.port, Buffer.from("x"));
    expect([e.be1.accepted(), e.be2.accepted()]).toEqual([2, 6]);
  });

  it("disabling every server: the backend is DOWN, 1.8's alert, connections are refused (SC)", async () => {
    const e = await setup();
    await cmd(e.admin, "disable server px/s1");
    await cmd(e.admin, "disable server px/s2");
    await stderrHas(e.h, `[ALERT]    (${e.h.pid}) : proxy 'px' has no server available!`);
    const t = await stat(e.admin);
    expect(t.get("px", "BACKEND")).toMatchObject({ status: "DOWN", weight: "0", act: "0", chkdown: "1" });
    expect((await roundTrip(e.port, Buffer.from("x"))).length).toBe(0);
    expect(e.be1.accepted() + e.be2.accepted()).toBe(0);
  });

  it("set server state maint, drain, ready: status, traffic, live streams kept", async () => {
    const e = await setup();
    const live = await liveClient(e.port); // on s1
    expect(await cmd(e.admin, "set server px/s1 state maint")).toBe("");
    expect((await stat(e.admin)).get("px", "s1").status).toBe("MAINT");
    expect(await cmd(e.admin, "set server px/s1 state drain")).toBe("");
    await stderrHas(e.h, "Server px/s1 is UP/DRAIN (leaving forced maintenance).");
    expect((await stat(e.admin)).get("px", "s1").status).toBe("DRAIN");
    for (let i = 0; i < 3; i++) await roundTrip(e.port, Buffer.from("x"));
    expect(e.be1.accepted()).toBe(1);
    // The stream that was already on s1 still works.
    live.send("again");
    await live.waitBytes("ping".length + "again".length);
    expect(await cmd(e.admin, "set server px/s1 state ready")).toBe("");
    await stderrHas(e.h, "Server px/s1 is UP (leaving forced drain).");
    expect((await stat(e.admin)).get("px", "s1").status).toBe("no check");
    for (let i = 0; i < 2; i++) await roundTrip(e.port, Buffer.from("x"));
    expect(e.be1.accepted()).toBe(2);
    // Drain from ready logs 1.8's line.
    expect(await cmd(e.admin, "set server px/s2 state drain")).toBe("");
    await stderrHas(e.h, "Server px/s2 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
    expect(await cmd(e.admin, "set server px/s1 state up")).toBe("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
    live.destroy();
  });

  it("errors name what is wrong, as in 1.8", async () => {
    const e = await setup();
    expect(await cmd(e.admin, "disable server px")).toBe("Require 'backend/server'.\n");
    expect(await cmd(e.admin, "disable server nope/s1")).toBe("No such backend.\n");
    expect(await cmd(e.admin, "disable server px/nope")).toBe("No such server.\n");
    expect(await cmd(e.admin, "enable server px/")).toBe("Require 'backend/server'.\n");
    expect(await cmd(e.admin, "set server px/s1")).toBe("'set server <srv>' only supports 'agent', 'health', 'state', 'weight', 'addr', 'fqdn' and 'check-port'.\n");
    expect(await cmd(e.admin, "get weight px")).toBe("Require 'backend/server'.\n");
    expect(await cmd(e.admin, "get weight px/zz")).toBe("No such server.\n");
    // A numeric id works as in HAProxy ("#<id>").
    expect(await cmd(e.admin, "get weight #2/#2")).toBe("1 (initial 1)\n");
  });

  it("set weight (absolute and %) changes the traffic split; get weight reports it", async () => {
    const e = await setup({ s1: "weight 10", s2: "weight 10" });
    expect(await cmd(e.admin, "get weight px/s1")).toBe("10 (initial 10)\n");
    expect(await cmd(e.admin, "set weight px/s1 30")).toBe("");
    expect(await cmd(e.admin, "get weight px/s1")).toBe("30 (initial 10)\n");
    let t = await stat(e.admin);
    expect(t.get("px", "s1").weight).toBe("30");
    expect(t.get("px", "BACKEND").weight).toBe("40");
    for (let i = 0; i < 8; i++) await roundTrip(e.port, Buffer.from("x"));
    expect([e.be1.accepted(), e.be2.accepted()]).toEqual([6, 2]);
    expect(await cmd(e.admin, "set weight px/s1 50%")).toBe("");
    expect(await cmd(e.admin, "get weight px/s1")).toBe("5 (initial 10)\n");
    expect(await cmd(e.admin, "set server px/s1 weight 0")).toBe("");
    t = await stat(e.admin);
    expect(t.get("px", "s1").weight).toBe("0");
    expect(t.get("px", "BACKEND")).toMatchObject({ weight: "10", act: "1" });
    for (let i = 0; i < 3; i++) await roundTrip(e.port, Buffer.from("x"));
    expect(e.be1.accepted()).toBe(6);
    expect(await cmd(e.admin, "set weight px/s1 300")).toBe("Absolute weight can only be between 0 and 256 inclusive.\n");
    expect(await cmd(e.admin, "set weight px/s1 -5%")).toBe("Relative weight must be positive.\n");
    expect(await cmd(e.admin, "set weight px/s1")).toBe("Require <weight> or <weight%>.\n");
    expect(await cmd(e.admin, "set weight px/s1 abc")).toBe("Empty weight string empty or preceded by garbage");
  });

  it("a static algorithm only accepts 0% and 100%", async () => {
    const e = await setup({ listen: ["balance static-rr"] });
    expect(await cmd(e.admin, "set weight px/s1 3")).toBe("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n");
    expect(await cmd(e.admin, "set weight px/s1 0%")).toBe("");
    expect(await cmd(e.admin, "set weight px/s1 100%")).toBe("");
    expect(await cmd(e.admin, "get weight px/s1")).toBe("1 (initial 1)\n");
  });

  it("show servers state: version line, header, one line per server; admin state and weights follow", async () => {
    const e = await setup({ s2: "weight 7" });
    const head = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight " +
      "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state " +
      "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port\n";
    let out = await cliQuery(e.user, "show servers state\n");
    expect(out.startsWith(head)).toBe(true);
    const re = (n: number, s: string, port: number, op: number, adm: number, uw: number, iw: number) =>
      new RegExp(`^2 px ${n} ${s} 127\\.0\\.0\\.1 ${op} ${adm} ${uw} ${iw} \\d+ 1 0 ${op ? 2 : 0} 0 0 0 0 - ${port}$`);
    let lines = out.slice(head.length).split("\n").filter((l) => l);
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(re(1, "s1", e.be1.port, 2, 0, 1, 1));
    expect(lines[1]).toMatch(re(2, "s2", e.be2.port, 2, 0, 7, 7));
    await cmd(e.admin, "disable server px/s1");
    await cmd(e.admin, "set weight px/s2 3");
    out = await cliQuery(e.user, "show servers state px\n");
    lines = out.slice(head.length).split("\n").filter((l) => l);
    expect(lines[0]).toMatch(re(1, "s1", e.be1.port, 0, 1, 1, 1));
    expect(lines[1]).toMatch(re(2, "s2", e.be2.port, 2, 0, 3, 7));
    expect(await cmd(e.user, "show servers state nope")).toBe("Can't find backend.\n");
  });
});

describe("health checks in show stat (1.8's check columns)", () => {
  /** The check columns of a server row. */
  const chk = (r: Record<string, string>) => ({
    status: r.status, check_status: r.check_status, check_desc: r.check_desc, last_chk: r.last_chk,
    chkfail: r.chkfail, chkdown: r.chkdown, check_rise: r.check_rise, check_fall: r.check_fall, check_health: r.check_health,
  });

  it("UP with L4OK after a pass; DOWN with L4CON, chkfail, chkdown, downtime once the server dies; UP again when it returns", async () => {
    const opts = "check inter 200 fall 2 rise 2";
    const e = await setup({ s1: opts, s2: opts });
    await waitFor(async () => (await stat(e.admin)).get("px", "s2").check_status === "L4OK", 3000, "a first check of s2");
    let t = await stat(e.admin);
    for (const sv of ["s1", "s2"]) {
      // A pass takes health from rise (the start, "UP 1/2") to rise + fall - 1.
      expect(chk(t.get("px", sv)), sv).toEqual({
        status: "UP", check_status: "L4OK", check_desc: "Layer4 check passed", last_chk: "", chkfail: "0", chkdown: "0",
        check_rise: "2", check_fall: "2", check_health: "3",
      });
      expect(t.get("px", sv).check_duration, sv).toMatch(/^\d+$/);
      expect(t.get("px", sv).downtime, sv).toBe("0");
      expect(t.get("px", sv).check_code, sv).toBe("");
    }
    // An unchecked row has none of these (the other tests' servers): see "counts real traffic per row".

    e.be2.server.close();
    for (const s of e.be2.sockets) s.destroy();
    await stderrHas(e.h, "Server px/s2 is DOWN, reason: Layer4 connection problem");
    t = await stat(e.admin);
    const s2 = t.get("px", "s2");
    // Two failures while UP (each counted in chkfail) took health 3 -> 2 -> 0; later failures count no more.
    expect(chk(s2)).toMatchObject({
      status: "DOWN", check_status: "L4CON", check_desc: "Layer4 connection problem", chkfail: "2", chkdown: "1", check_health: "0",
    });
    expect(s2.last_chk).toMatch(/^(General socket error \()?Connection refused\)?$/);
    expect(Number(s2.downtime)).toBeGreaterThanOrEqual(0);
    expect(Number(s2.lastchg)).toBeGreaterThanOrEqual(0);
    expect(s2.weight).toBe("1");
    expect(t.get("px", "BACKEND")).toMatchObject({ status: "UP", act: "1", bck: "0", weight: "1", chkdown: "0" });
    expect(t.get("px", "s1").status).toBe("UP");
    // Load balancing skips s2 (no redispatch here: a connection sent to it would fail).
    for (let i = 0; i < 4; i++) expect((await roundTrip(e.port, Buffer.from("x"))).toString()).toBe("x");

    e.be2 = await holdServer({ port: e.be2.port });
    await stderrHas(e.h, "Server px/s2 is UP, reason: Layer4 check passed");
    t = await stat(e.admin);
    expect(chk(t.get("px", "s2"))).toMatchObject({ status: "UP", check_status: "L4OK", chkfail: "2", chkdown: "1", check_health: "3" });
    expect(t.get("px", "BACKEND")).toMatchObject({ act: "2", weight: "2" });
  });

  it("maintenance pauses the check (MAINT, no check_status); leaving it restarts the check at rise: UP 1/2 until the next pass", async () => {
    // A long inter: the state right after `enable server` is seen before the next check runs.
    const e = await setup({ s1: "check inter 3000 fall 2 rise 2" });
    await waitFor(async () => (await stat(e.admin)).get("px", "s1").check_status === "L4OK", 3000, "a first check of s1");
    expect(await cmd(e.admin, "disable server px/s1")).toBe("");
    await stderrHas(e.h, "Server px/s1 is going DOWN for maintenance. 1 active and 0 backup servers left.");
    let s1 = (await stat(e.admin)).get("px", "s1");
    expect(chk(s1)).toEqual({
      status: "MAINT", check_status: "", check_desc: "", last_chk: "", chkfail: "0", chkdown: "1",
      check_rise: "", check_fall: "", check_health: "",
    });
    // show servers state: op state STOPPED, admin FMAINT, the check CONFIGURED|ENABLED|PAUSED (0x0e).
    const line = (await cliQuery(e.user, "show servers state px\n")).split("\n").find((l) => / s1 /.test(l))!;
    expect(line).toMatch(/^2 px 1 s1 127\.0\.0\.1 0 1 1 1 \d+ 6 3 \d+ 14 0 0 0 - \d+$/);

    expect(await cmd(e.admin, "enable server px/s1")).toBe("");
    await stderrHas(e.h, "Server px/s1 is UP/READY (leaving forced maintenance).");
    s1 = (await stat(e.admin)).get("px", "s1");
    expect(chk(s1)).toMatchObject({ status: "UP 1/2", check_status: "L4OK", chkdown: "1", check_health: "2" });
    await waitFor(async () => (await stat(e.admin)).get("px", "s1").status === "UP", 4000, "the next check to pass");
    expect((await stat(e.admin)).get("px", "s1").check_health).toBe("3");
  });
});

describe("levels", () => {
  const ADMIN_ONLY = [
    "disable server px/s1", "enable server px/s1", "set server px/s1 state maint", "set weight px/s1 2",
    "shutdown session 0x1", "shutdown sessions server px/s1", "clear counters all",
  ];
  const OPER = ["show sess", "show fd", "clear counters", "show pollers"];
  const ANY = ["show info", "show stat", "show servers state", "show backend", "get weight px/s1", "help"];

  it("a `level user` socket refuses operator and admin commands with 1.8's message; `operator` refuses admin ones", async () => {
    const e = await setup();
    for (const c of [...ADMIN_ONLY, ...OPER]) expect(await cliQuery(e.user, c + "\n"), `user: ${c}`).toBe("Permission denied\n\n");
    for (const c of ADMIN_ONLY) expect(await cliQuery(e.oper, c + "\n"), `operator: ${c}`).toBe("Permission denied\n\n");
    for (const c of OPER) expect(await cliQuery(e.oper, c + "\n"), `operator: ${c}`).not.toContain("Permission denied");
    for (const c of ANY) expect(await cliQuery(e.user, c + "\n"), `user: ${c}`).not.toContain("Permission denied");
    // Nothing was changed by the refused commands.
    expect((await stat(e.admin)).get("px", "s1").status).toBe("no check");
    expect(await cmd(e.admin, "get weight px/s1")).toBe("1 (initial 1)\n");
  });

  it("clear counters resets the maxima; clear counters all resets everything (admin)", async () => {
    const e = await setup();
    await roundTrip(e.port, Buffer.from("abc"));
    await waitFor(async () => (await stat(e.admin)).get("px", "FRONTEND").stot === "1", 3000, "stot 1");
    expect(await cmd(e.oper, "clear counters")).toBe("");
    let t = await stat(e.admin);
    expect(t.get("px", "FRONTEND")).toMatchObject({ smax: "0", stot: "1", bin: "3" });
    expect(await cmd(e.admin, "clear counters all")).toBe("");
    t = await stat(e.admin);
    expect(t.get("px", "FRONTEND")).toMatchObject({ stot: "0", bin: "0", bout: "0" });
    expect(t.get("px", "s1")).toMatchObject({ stot: "0", lbtot: "0" });
  });
});

describe("the CLI protocol", () => {
  it("help, an unknown command and an empty line print 1.8's usage", async () => {
    const e = await setup();
    expect(await cliQuery(e.user, "help\n")).toBe(HELP + "\n");
    expect(await cliQuery(e.user, "show nothing\n")).toBe(HELP + "\n");
    expect(await cliQuery(e.user, "\n")).toBe(HELP + "\n");
  });

  it("without prompt: one answer then close; requests already sent are all answered; later ones are not", async () => {
    const e = await setup();
    expect(await cliQuery(e.user, "show backend\n", { halfClose: false })).toBe("# name\npx\n\n");
    expect(await cliQuery(e.user, "show backend\nget weight px/s2\n")).toBe("# name\npx\n\n1 (initial 1)\n\n");
    const c = new CliConn(e.user);
    await c.ready;
    c.send("show backend\n");
    await c.readUntil("\n\n");
    expect(await c.waitClosed(2000)).toBe(true);
  });

  it("';' chains commands on one line; '\\' escapes", async () => {
    const e = await setup();
    expect(await cliQuery(e.user, "show backend;get weight px/s1;get weight px/s2\n")).toBe("# name\npx\n\n1 (initial 1)\n\n1 (initial 1)\n\n");
    // An escaped ';' is not a separator: it stays in the argument (here an unknown server name).
    expect(await cliQuery(e.user, "get weight px/s1\\;x\n")).toBe("No such server.\n\n");
    expect(await cliQuery(e.user, "show backend\r\n")).toBe("# name\npx\n\n");
  });

  it("prompt mode: '\\n> ' after each answer, the connection stays open for several commands until quit", async () => {
    const e = await setup();
    const c = new CliConn(e.admin);
    await c.ready;
    c.send("prompt\n");
    expect(await c.readUntil("> ")).toBe("\n> ");
    c.send("show backend\n");
    expect(await c.readUntil("\n> ")).toBe("# name\npx\n\n> ");
    c.send("disable server px/s2\n");
    expect(await c.readUntil("\n> ")).toBe("\n> ");
    c.send("get weight px/s1\n");
    expect(await c.readUntil("\n> ")).toBe("1 (initial 1)\n\n> ");
    c.send("\n");
    expect(await c.readUntil("\n> ")).toBe("\n> ");
    expect(c.closed).toBe(false);
    c.send("quit\n");
    expect(await c.waitClosed(2000)).toBe(true);
    expect((await stat(e.user)).get("px", "s2").status).toBe("MAINT");
  });

  it("socket file permissions follow `mode`", async () => {
    const e = await setup();
    expect(fs.statSync(`${e.dir}/admin.sock`).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${e.dir}/admin.sock`).isSocket()).toBe(true);
    const dir = tmpDir();
    const port = await freePort();
    const h = await startProxy(["global", `    stats socket ${dir}/s.sock mode 640`, "listen px", `    bind 127.0.0.1:${port}`, "    server s1 127.0.0.1:9", ""].join("\n"), [port], []);
    await waitFor(() => fs.existsSync(`${dir}/s.sock`), 2000, "the socket file");
    expect(fs.statSync(`${dir}/s.sock`).mode & 0o777).toBe(0o640);
    expect(h.stderr()).not.toMatch(/ALERT/);
  });

  it("`stats timeout` (1000 here) closes an idle connection, with or without prompt; activity re-arms it", async () => {
    // 1000 ms: long enough that the 300 ms gaps below stay well inside it on a loaded machine.
    const e = await setup({ global: ["stats timeout 1000"] });
    const idle = new CliConn(e.user);
    await idle.ready;
    const t0 = Date.now();
    expect(await idle.waitClosed(4000)).toBe(true);
    expect(idle.closedAt - t0).toBeGreaterThanOrEqual(900);
    expect(idle.closedAt - t0).toBeLessThan(3000);

    const p = new CliConn(e.user);
    await p.ready;
    p.send("prompt\n");
    await p.readUntil("> ");
    for (let i = 0; i < 4; i++) {
      await sleep(300);
      p.send("show backend\n");
      await p.readUntil("\n> ");
    }
    expect(p.closed, "activity keeps it open").toBe(false);
    const t1 = Date.now();
    expect(await p.waitClosed(4000)).toBe(true);
    expect(p.closedAt - t1).toBeLessThan(3000);
  });

  it("`set timeout cli` changes this connection's idle timeout", async () => {
    const e = await setup({ global: ["stats timeout 300"] });
    const c = new CliConn(e.user);
    await c.ready;
    c.send("prompt\nset timeout cli 2\n");
    await c.readUntil("\n> \n> ");
    await sleep(900);
    expect(c.closed).toBe(false);
    expect(await c.waitClosed(3000)).toBe(true);
    expect(await cliQuery(e.user, "set timeout cli\n")).toBe("Expects an integer value.\n\n");
    expect(await cliQuery(e.user, "set timeout cli x\n")).toBe("Invalid timeout value.\n\n");
    expect(await cliQuery(e.user, "set timeout client 2\n")).toBe("'set timeout' only supports 'cli'.\n\n");
  });

  it("show pollers lists the pollers and the one running", async () => {
    const e = await setup({ args: ["-de"] });
    const out = await cliQuery(e.oper, "show pollers\n");
    expect(out).toMatch(/^Available polling systems :\n/);
    expect(out).toMatch(/\n {6}epoll : disabled, {2}test result OK\n/);
    // Then hapoll's loop figures (cumulative counters that `hapoll top` turns into rates), one per line.
    expect(out).toMatch(new RegExp("Total: \\d+ \\(\\d+ usable\\), will use poll\\.\ncurrent: poll\n" +
      "loops: \\d+\npolls: \\d+\nevents: \\d+\nchanges: \\d+\nfd_cache: \\d+\nfd_updt: \\d+\nmaxfd: \\d+\n" +
      "tasks: \\d+\nrun_queue: \\d+\nstreams: \\d+( [A-Z]+=\\d+)*\n\n$"));
  });
});

describe.each(POLLER_VARIANTS)("with the $name poller", ({ args }) => {
  it("a prompt session, a one-shot query and show stat after traffic", async () => {
    const e = await setup({ args });
    const c = new CliConn(e.admin);
    await c.ready;
    c.send("prompt\n");
    await c.readUntil("> ");
    c.send("disable server px/s2\n");
    expect(await c.readUntil("\n> ")).toBe("\n> ");
    for (let i = 0; i < 3; i++) await roundTrip(e.port, Buffer.from("abc"));
    await waitFor(async () => (await stat(e.user)).get("px", "s1").stot === "3", 3000, "3 sessions on s1");
    c.send("show servers state px\n");
    expect(await c.readUntil("\n> ")).toMatch(/\n2 px 2 s2 127\.0\.0\.1 0 1 1 1 /);
    c.send("quit\n");
    expect(await c.waitClosed(2000)).toBe(true);
  });
});

describe("process life", () => {
  it("SIGUSR1 with no connection: GLOBAL and the proxies are stopped and the process exits at once", async () => {
    const e = await setup();
    await cliQuery(e.admin, "show info\n");
    const t0 = Date.now();
    process.kill(e.h.pid, "SIGUSR1");
    expect(await e.h.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1500);
    await stderrHas(e.h, "Stopping frontend GLOBAL in 0 ms.");
    await stderrHas(e.h, "Proxy GLOBAL stopped (FE: 1 conns, BE: 0 conns).");
  });

  it("SIGUSR1 with an interactive session open: the process waits for it (it is a job), then exits", async () => {
    const e = await setup();
    const c = new CliConn(e.admin);
    await c.ready;
    c.send("prompt\n");
    await c.readUntil("> ");
    process.kill(e.h.pid, "SIGUSR1");
    const r = await Promise.race([e.h.exited, sleep(700).then(() => "running")]);
    expect(r).toBe("running");
    // The session still answers during the soft stop.
    c.send("show backend\n");
    expect(await c.readUntil("\n> ")).toBe("# name\npx\n\n> ");
    c.send("quit\n");
    expect(await e.h.exited).toBe(0);
  });

  it("a stats socket that cannot be bound stops the start with HAProxy's alert", async () => {
    const dir = tmpDir();
    const port = await freePort();
    const cfg = ["global", `    stats socket ${dir}/nodir/s.sock`, "listen px", `    bind 127.0.0.1:${port}`, "    server s1 127.0.0.1:9", ""].join("\n");
    const cfgPath = path.join(dir, "h.cfg");
    fs.writeFileSync(cfgPath, cfg);
    let code = 0;
    let stderr = "";
    try {
      execFileSync(process.execPath, [path.resolve(__dirname, "../../bin/hapoll"), "-f", cfgPath], { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    } catch (x) {
      code = (x as { status: number }).status;
      stderr = String((x as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(1);
    expect(stderr).toContain(`Starting frontend GLOBAL: cannot bind socket (No such file or directory) [${dir}/nodir/s.sock]`);
  });
});

describe.skipIf(skipBecause(!hasProgram("haproxy"), "stats.test.ts: Debian's haproxy is not installed (apt-get install haproxy)"))("side by side with Debian's haproxy (2.6 only appended columns)", () => {
  it("the `show stat` header's first 83 columns, and which columns are filled per row type, equal HAProxy's", async () => {
    const dir = tmpDir();
    const be = await holdServer();
    const rows: Record<string, { header: string[]; filled: Record<string, string[]> }> = {};
    for (const which of ["haproxy", "hapoll"]) {
      const port = await freePort();
      const sock = `${dir}/${which}.sock`;
      const cfg = [
        "global", `    stats socket ${sock} level admin`,
        "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s",
        "listen px", `    bind 127.0.0.1:${port}`, `    server s1 127.0.0.1:${be.port}`, "",
      ].join("\n");
      if (which === "haproxy") await startHaproxy(cfg, [port]);
      else await startProxy(cfg, [port], []);
      await waitFor(() => fs.existsSync(sock), 3000, `${which}'s socket`);
      const text = await cliQuery({ path: sock }, "show stat\n");
      const t = parseStat(text);
      const filled: Record<string, string[]> = {};
      for (const r of t.rows) filled[r.svname] = t.header.slice(0, 83).filter((h) => r[h] !== "");
      rows[which] = { header: t.header, filled };
    }
    expect(rows.hapoll.header.length).toBe(83);
    expect(rows.hapoll.header).toEqual(rows.haproxy.header.slice(0, 83));
    expect(rows.hapoll.header.slice(0, 33)).toEqual(FIELDS_18.split(",").slice(0, 33));
    for (const sv of ["FRONTEND", "s1", "BACKEND"]) expect(rows.hapoll.filled[sv], sv).toEqual(rows.haproxy.filled[sv]);
  });
});
