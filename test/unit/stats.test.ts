/**
 * The stats socket's building blocks, in-process: the CSV line builder and encodings of `show stat`
 * (src/stats/stats.ts), the CLI's argument splitting and keyword lookup (src/stats/cli.ts), frequency
 * counters (src/core/freq_ctr.ts), and server admin states / weights (src/proxy/server_state.ts, applied
 * by srvUpdateStatus() in src/proxy/server.ts).
 * Expected values are written from HAProxy 1.8's rules (src/stats.c, src/standard.c, src/cli.c,
 * src/freq_ctr.c, src/server.c), not taken from the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clock } from "../../src/core/clock";
import { FreqCtr, readFreqCtr, swrateAdd, swrateAvg, updateFreqCtr } from "../../src/core/freq_ctr";
import { global } from "../../src/core/global";
import { native, C } from "../../src/native";
import { parseConfigFiles } from "../../src/config/cfgparse";
import { Proxy, proxies } from "../../src/proxy/proxy";
import { Server, srvCurrentlyUsable, SRV_ADMF_CMAINT, SRV_ADMF_FDRAIN, SRV_ADMF_FMAINT, SRV_ST_RUNNING, SRV_ST_STOPPED } from "../../src/proxy/server";
import { lbInit } from "../../src/proxy/backend";
import { logState } from "../../src/core/log";
import { serverParseWeightChangeRequest, srvAdmSetDrain, srvAdmSetMaint, srvAdmSetReady } from "../../src/proxy/server_state";
import {
  csvEnc, csvHeader, csvLine, jsonInfo, jsonSchema, jsonStatRow, ST_F, ST_F_TOTAL_FIELDS, StatField, typedInfoLines, typedStatLines,
} from "../../src/stats/stats_dump";
import {
  fillBeStats, fillFeStats, fillInfo, fillSvStats, fullconn, humanTime, showStat, srvStatus, strtoul, ACCESS_LVL_ADMIN, ACCESS_LVL_USER, ST_SHLGNDS,
} from "../../src/stats/stats";
import { cliFindKw, cliSplitArgs, cliUsageMsg, CLI_KEYWORDS } from "../../src/stats/cli";
import { serverCheckInit } from "../../src/proxy/checks";

/** Proxies and servers built from a configuration text, as main.ts builds them. */
function build(text: string): Proxy[] {
  const r = parseConfigFiles([{ name: "t.cfg", text }], { pid: 1 });
  expect(r.fatal, JSON.stringify(r.diags)).toBe(false);
  const out: Proxy[] = [];
  for (const pc of r.config.proxies) {
    const p = new Proxy(pc, out.length + 1);
    if (!p.maxconn) p.maxconn = 2000;
    for (const sc of pc.servers) {
      const s = new Server(sc, p, p.servers.length + 1);
      serverCheckInit(s);
      s.addr = Buffer.alloc(C.SOCKADDR_MAX);
      s.addrLen = native.sockaddrFrom("ipv4", sc.addr.host, sc.addr.portLow, s.addr);
      s.port = sc.addr.portLow;
      p.servers.push(s);
    }
    // main.ts builds the load-balancing state before the loop runs (startHealthChecks -> lbInit).
    if (p.servers.length) lbInit(p);
    out.push(p);
  }
  proxies.length = 0;
  proxies.push(...out);
  return out;
}

const BASE = [
  "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 5s", "    timeout server 5s",
].join("\n") + "\n";

let quiet: boolean;
let starting: boolean;
beforeAll(() => {
  // The admin state changes log HAProxy's warnings and alerts on stderr; keep the test output clean
  // (alerts are hidden in quiet mode only once the process is past its start).
  quiet = global.quiet;
  starting = logState.starting;
  global.quiet = true;
  logState.starting = false;
});
afterAll(() => {
  global.quiet = quiet;
  logState.starting = starting;
});

describe("CSV encoding (HAProxy: csv_enc_append, stats_dump_fields_csv)", () => {
  it("quotes only fields holding a comma, a quote or a line break; doubles quotes", () => {
    expect(csvEnc("px")).toBe("px");
    expect(csvEnc("no check")).toBe("no check");
    expect(csvEnc("a,b")).toBe('"a,b"');
    expect(csvEnc('say "hi"')).toBe('"say ""hi"""');
    expect(csvEnc("two\nlines")).toBe('"two\nlines"');
    expect(csvEnc("cr\r")).toBe('"cr\r"');
  });

  it("a line has one field per column, each followed by a comma; undefined is empty, 0 is 0", () => {
    const f: StatField[] = new Array(ST_F_TOTAL_FIELDS);
    f[0] = "px";
    f[1] = "FRONTEND";
    f[3] = 0;
    f[ST_F_TOTAL_FIELDS - 1] = "x,y";
    expect(csvLine(f)).toBe("px,FRONTEND,,0," + ",".repeat(ST_F_TOTAL_FIELDS - 5) + '"x,y",\n');
    expect(csvLine(new Array(ST_F_TOTAL_FIELDS))).toBe(",".repeat(83) + "\n");
  });

  it("the header is '# ' and the 83 1.8 names, each followed by a comma", () => {
    expect(ST_F_TOTAL_FIELDS).toBe(83);
    const h = csvHeader();
    expect(h.startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,")).toBe(true);
    expect(h.endsWith(",mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,\n")).toBe(true);
    expect(h.split(",").length).toBe(84);
    expect([ST_F.pxname, ST_F.status, ST_F.type, ST_F.rate, ST_F.lbtot, ST_F.addr, ST_F.dses]).toEqual([0, 17, 32, 33, 30, 73, 82]);
  });
});

describe("human_time()", () => {
  it("prints at most two units, 0s for zero, ? for negative; divides by hz", () => {
    const cases: [number, number, string][] = [
      [0, 1, "0s"], [59, 1, "59s"], [60, 1, "1m"], [61, 1, "1m1s"], [3600, 1, "1h"], [3661, 1, "1h1m"],
      [86400, 1, "1d"], [90061, 1, "1d1h"], [-1, 1, "?"], [29999, 1000, "29s"], [1500, 1000, "1s"], [999, 1000, "0s"],
    ];
    for (const [t, hz, s] of cases) expect(humanTime(t, hz), `${t}/${hz}`).toBe(s);
  });
});

describe("CLI parsing (HAProxy: cli_parse_request, cli_find_kw)", () => {
  it("splits on blanks, '\\' makes the next character literal, missing arguments are empty", () => {
    const a = cliSplitArgs("  show   stat ");
    expect(a.slice(0, 3)).toEqual(["show", "stat", ""]);
    expect(a.length).toBe(65);
    expect(cliSplitArgs("get weight a\\ b").slice(0, 4)).toEqual(["get", "weight", "a b", ""]);
    expect(cliSplitArgs("x a\\\\b")[1]).toBe("a\\b");
    expect(cliSplitArgs("x a\\;b")[1]).toBe("a;b");
    expect(cliSplitArgs("")[0]).toBe("");
  });

  it("finds the first keyword whose words all match", () => {
    const w = (line: string) => cliFindKw(cliSplitArgs(line))?.words.join(" ") ?? null;
    expect(w("show stat")).toBe("show stat");
    expect(w("show stat 1 2 3")).toBe("show stat");
    expect(w("show servers state be")).toBe("show servers state");
    expect(w("show servers")).toBe(null);
    expect(w("shutdown session 0x1")).toBe("shutdown session");
    expect(w("shutdown sessions server a/b")).toBe("shutdown sessions server");
    expect(w("set server a/b state ready")).toBe("set server");
    expect(w("show")).toBe(null);
    expect(w("quit")).toBe(null);
  });

  it("the usage lists every keyword once, after 1.8's three fixed lines", () => {
    const u = cliUsageMsg().split("\n");
    expect(u[0]).toBe("Unknown command. Please enter one of the following commands only :");
    expect(u.slice(1, 4)).toEqual(["  help           : this message", "  prompt         : toggle interactive mode with prompt", "  quit           : disconnect"]);
    expect(u.length).toBe(4 + CLI_KEYWORDS.length + 1);
  });

  it("strtoul(..., 0): 0x hex, leading-0 octal, decimal", () => {
    expect(strtoul("0x1f")).toBe(31);
    expect(strtoul("0X55d0c0000400")).toBe(0x55d0c0000400);
    expect(strtoul("017")).toBe(15);
    expect(strtoul("42")).toBe(42);
    expect(strtoul("zz")).toBe(0);
  });
});

describe("frequency counters (HAProxy: update_freq_ctr, read_freq_ctr, swrate_*)", () => {
  const saved = clock.dateMs;
  afterAll(() => {
    clock.dateMs = saved;
  });

  it("the rate is this second's count plus the unexpired share of the previous second's", () => {
    const c = new FreqCtr();
    clock.dateMs = 1_000_000; // second 1000, ms 0
    expect(updateFreqCtr(c, 1)).toBe(1);
    expect(updateFreqCtr(c, 2)).toBe(3);
    expect(readFreqCtr(c)).toBe(3);
    clock.dateMs = 1_001_500; // next second, half of it gone
    expect(readFreqCtr(c)).toBe(1); // 0 + 3 * 499 / 1000
    expect(updateFreqCtr(c, 1)).toBe(1);
    expect(readFreqCtr(c)).toBe(2);
    clock.dateMs = 1_003_000; // two seconds later: nothing recent
    expect(readFreqCtr(c)).toBe(0);
    expect(updateFreqCtr(c, 1)).toBe(1);
    expect(readFreqCtr(c)).toBe(1); // very low rate: reported as is
  });

  it("a sliding average converges to a constant sample", () => {
    let sum = 0;
    for (let i = 0; i < 5000; i++) sum = swrateAdd(sum, 512, 100);
    expect(swrateAvg(sum, 512)).toBe(100);
    expect(swrateAvg(0, 512)).toBe(0);
  });
});

describe("show stat rows (HAProxy: stats_fill_fe/sv/be_stats)", () => {
  const cfg = BASE + [
    "listen px", "    bind 127.0.0.1:1", "    maxconn 500",
    "    server s1 127.0.0.1:81", "    server s2 127.0.0.1:82 check weight 3 maxconn 7 maxqueue 9",
    "    server s3 127.0.0.1:83 backup", "    server s4 127.0.0.1:84 disabled",
  ].join("\n") + "\n";

  it("FRONTEND: connections, limits, status; fields that do not apply stay empty", () => {
    const [px] = build(cfg);
    px.state = 1;
    px.feconn = 2;
    px.feCounters.cumConn = 5;
    px.feCounters.bytesIn = 10;
    const f = fillFeStats(px);
    expect([f[ST_F.pxname], f[ST_F.svname], f[ST_F.scur], f[ST_F.slim], f[ST_F.stot], f[ST_F.bin], f[ST_F.status], f[ST_F.type], f[ST_F.mode]])
      .toEqual(["px", "FRONTEND", 2, 500, 5, 10, "OPEN", 0, "tcp"]);
    for (const n of ["qcur", "qmax", "econ", "weight", "act", "lbtot", "addr", "algo", "hrsp_1xx"]) expect(f[ST_F[n]], n).toBeUndefined();
    px.state = 3;
    expect(fillFeStats(px)[ST_F.status]).toBe("STOP");
  });

  it("servers: status from state and admin flags, weight, slim/qlimit only when set, addr only for operators", () => {
    const [px] = build(cfg);
    const [s1, s2, s3, s4] = px.servers;
    // A checked server starts "UP, going down" (health = rise): 1.8 shows it as UP 1/3 until a check passes.
    expect([srvStatus(s1), srvStatus(s2), srvStatus(s3), srvStatus(s4)]).toEqual(["no check", "UP 1/3", "no check", "MAINT"]);
    const f1 = fillSvStats(px, s1, ST_SHLGNDS);
    expect([f1[ST_F.weight], f1[ST_F.act], f1[ST_F.bck], f1[ST_F.slim], f1[ST_F.qlimit], f1[ST_F.addr], f1[ST_F.lastsess], f1[ST_F.chkfail]])
      .toEqual([1, 1, 0, undefined, undefined, "127.0.0.1:81", -1, undefined]);
    for (const n of ["chkdown", "downtime", "check_status", "check_desc", "check_rise", "check_health"]) expect(f1[ST_F[n]], n).toBeUndefined();
    let f2 = fillSvStats(px, s2, 0);
    expect([f2[ST_F.check_status], f2[ST_F.check_desc], f2[ST_F.check_duration], f2[ST_F.check_health]]).toEqual(["INI", "Initializing", undefined, 2]);
    // The check passed: health jumps to rise + fall - 1.
    s2.check!.health = 4;
    f2 = fillSvStats(px, s2, 0);
    expect(srvStatus(s2)).toBe("UP");
    expect([f2[ST_F.weight], f2[ST_F.slim], f2[ST_F.qlimit], f2[ST_F.addr], f2[ST_F.chkfail], f2[ST_F.chkdown], f2[ST_F.check_rise], f2[ST_F.check_fall], f2[ST_F.check_health]])
      .toEqual([3, 7, 9, undefined, 0, 0, 2, 3, 4]);
    expect(fillSvStats(px, s3, 0)[ST_F.bck]).toBe(1);
    // A disabled checked server: its check is paused, so only chkfail/chkdown/downtime show.
    const f4 = fillSvStats(px, s4, 0);
    expect([f4[ST_F.chkfail], f4[ST_F.check_status], f4[ST_F.check_health]]).toEqual([undefined, undefined, undefined]);
    // Going down after a failure (health - rise + 1 failures left, of fall), going up (health of rise).
    s2.check!.health = 3;
    expect(srvStatus(s2)).toBe("UP 2/3");
    s2.curAdmin = SRV_ADMF_FDRAIN;
    expect(srvStatus(s2)).toBe("DRAIN 2/3");
    s2.curAdmin = 0;
    s2.curState = SRV_ST_STOPPED;
    s2.check!.health = 1;
    expect(srvStatus(s2)).toBe("DOWN 1/2");
    s2.check!.health = 0;
    expect(srvStatus(s2)).toBe("DOWN");
    s1.curState = SRV_ST_STOPPED;
    expect(srvStatus(s1)).toBe("DOWN");
    s1.curState = SRV_ST_RUNNING;
    s1.curAdmin = SRV_ADMF_FDRAIN;
    expect(srvStatus(s1)).toBe("DRAIN");
  });

  it("BACKEND: weight is the usable active servers' total, act/bck count usable servers, UP/DOWN, algo for operators", () => {
    const [px] = build(cfg);
    let f = fillBeStats(px, ST_SHLGNDS);
    expect([f[ST_F.weight], f[ST_F.act], f[ST_F.bck], f[ST_F.status], f[ST_F.algo], f[ST_F.slim]]).toEqual([4, 2, 1, "UP", "roundrobin", 50]);
    srvAdmSetMaint(px.servers[0]);
    srvAdmSetDrain(px.servers[1]);
    f = fillBeStats(px, 0);
    // No active server left: the first backup carries the weight.
    expect([f[ST_F.weight], f[ST_F.act], f[ST_F.bck], f[ST_F.status], f[ST_F.algo]]).toEqual([1, 0, 1, "UP", undefined]);
    expect(serverParseWeightChangeRequest(px.servers[2], "0")).toBeNull();
    f = fillBeStats(px, 0);
    expect([f[ST_F.weight], f[ST_F.act], f[ST_F.bck], f[ST_F.status], f[ST_F.chkdown]]).toEqual([0, 0, 0, "DOWN", 1]);
  });

  it("fullconn defaults to 10% of the maxconn of the frontends using the backend, at least 1", () => {
    const ps = build(BASE + [
      "frontend f1", "    bind 127.0.0.1:1", "    maxconn 1000", "    default_backend b",
      "frontend f2", "    bind 127.0.0.1:2", "    maxconn 2000", "    use_backend b", "    default_backend c",
      "backend b", "    server s 127.0.0.1:1", "backend c", "    fullconn 77", "    server s 127.0.0.1:1",
      "backend unused", "    server s 127.0.0.1:1",
    ].join("\n") + "\n");
    const by = (n: string) => ps.find((p) => p.id === n)!;
    expect(fullconn(by("b"))).toBe(300);
    expect(fullconn(by("c"))).toBe(77);
    expect(fullconn(by("unused"))).toBe(1);
  });

  it("show stat: header, then per proxy FRONTEND / servers / BACKEND; stopped proxies skipped", () => {
    const ps = build(BASE + ["frontend f", "    bind 127.0.0.1:1", "    default_backend b", "backend b", "    server s 127.0.0.1:1"].join("\n") + "\n");
    for (const p of ps) p.state = 1;
    const rows = (lvl: number) => showStat(cliSplitArgs("show stat"), lvl).split("\n").slice(1, -1).map((l) => l.split(",").slice(0, 2).join("/"));
    expect(rows(ACCESS_LVL_USER)).toEqual(["f/FRONTEND", "b/s", "b/BACKEND"]);
    ps[0].state = 4;
    expect(rows(ACCESS_LVL_ADMIN)).toEqual(["b/s", "b/BACKEND"]);
  });
});

describe("server admin states and weights (HAProxy: srv_adm_set_*, server_parse_weight_change_request)", () => {
  const cfg = BASE + ["listen px", "    bind 127.0.0.1:1", "    server a 127.0.0.1:1 weight 10", "    server b 127.0.0.1:2 disabled"].join("\n") + "\n";

  it("maint stops the server and takes it out of load balancing; ready brings it back; drain keeps it up but unused", () => {
    const [px] = build(cfg);
    const [a, b] = px.servers;
    expect(srvCurrentlyUsable(a)).toBe(true);
    srvAdmSetMaint(a);
    expect([a.curAdmin, a.curState, srvCurrentlyUsable(a), a.counters.downTrans]).toEqual([SRV_ADMF_FMAINT, SRV_ST_STOPPED, false, 1]);
    expect([px.srvAct, px.downTrans]).toEqual([0, 1]); // the backend had no server left
    srvAdmSetReady(a);
    expect([a.curAdmin, a.curState, srvCurrentlyUsable(a), px.srvAct]).toEqual([0, SRV_ST_RUNNING, true, 1]);
    srvAdmSetDrain(a);
    expect([a.curAdmin, a.curState, srvCurrentlyUsable(a), px.srvAct]).toEqual([SRV_ADMF_FDRAIN, SRV_ST_RUNNING, false, 0]);
    srvAdmSetMaint(a);
    expect([a.curAdmin, a.curState]).toEqual([SRV_ADMF_FMAINT, SRV_ST_STOPPED]);
    srvAdmSetReady(a);
    expect([a.curAdmin, a.curState, srvCurrentlyUsable(a)]).toEqual([0, SRV_ST_RUNNING, true]);
    // `disabled` is configuration maintenance plus forced maintenance; ready clears the forced part.
    expect(b.curAdmin).toBe(SRV_ADMF_CMAINT | SRV_ADMF_FMAINT);
    srvAdmSetReady(b);
    expect([b.curAdmin, b.curState, srvCurrentlyUsable(b), px.srvAct]).toEqual([SRV_ADMF_CMAINT, SRV_ST_RUNNING, true, 2]);
  });

  it("weights: absolute 0..256, relative to the configured weight (capped at 256), 1.8's messages", () => {
    const [px] = build(cfg);
    const a = px.servers[0];
    // The effective weight, as `show stat` reports it.
    const weight = (s: Server) => fillSvStats(px, s, 0)[ST_F.weight];
    expect(serverParseWeightChangeRequest(a, "20")).toBeNull();
    expect([a.uweight, weight(a), a.iweight]).toEqual([20, 20, 10]);
    expect(serverParseWeightChangeRequest(a, "50%")).toBeNull();
    expect(weight(a)).toBe(5);
    expect(serverParseWeightChangeRequest(a, "5000%")).toBeNull();
    expect(weight(a)).toBe(256);
    expect(serverParseWeightChangeRequest(a, "0")).toBeNull();
    expect([srvCurrentlyUsable(a), px.srvAct]).toEqual([false, 0]);
    expect(serverParseWeightChangeRequest(a, "")).toBe("Require <weight> or <weight%>.\n");
    expect(serverParseWeightChangeRequest(a, "257")).toBe("Absolute weight can only be between 0 and 256 inclusive.\n");
    expect(serverParseWeightChangeRequest(a, "-1")).toBe("Absolute weight can only be between 0 and 256 inclusive.\n");
    expect(serverParseWeightChangeRequest(a, "-1%")).toBe("Relative weight must be positive.\n");
    expect(serverParseWeightChangeRequest(a, "x")).toBe("Empty weight string empty or preceded by garbage");
    expect(serverParseWeightChangeRequest(a, "3x")).toBe("Trailing garbage in weight string");
    const [sp] = build(BASE + ["listen px", "    bind 127.0.0.1:1", "    balance source", "    server a 127.0.0.1:1 weight 10"].join("\n") + "\n");
    expect(serverParseWeightChangeRequest(sp.servers[0], "3")).toBe("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n");
    expect(serverParseWeightChangeRequest(sp.servers[0], "100%")).toBeNull();
  });
});

describe("typed and JSON forms (HAProxy: stats_dump_fields_typed/json, stats_dump_*info_fields)", () => {
  /** A FRONTEND row with a few fields set, the others empty. */
  function feRow(): StatField[] {
    const f: StatField[] = new Array(ST_F_TOTAL_FIELDS);
    f[ST_F.pxname] = "px";
    f[ST_F.scur] = 3;
    f[ST_F.stot] = 12;
    f[ST_F.pid] = 1;
    f[ST_F.iid] = 2;
    f[ST_F.sid] = 0;
    f[ST_F.type] = 0;
    return f;
  }

  it("typed: '<F|B|S>.<iid>.<sid>.<pos>.<name>.<pid>:<tags>:<type>:<value>', empty fields left out", () => {
    expect(typedStatLines(feRow())).toBe([
      "F.2.0.0.pxname.1:KNS:str:px", "F.2.0.4.scur.1:MGP:u32:3", "F.2.0.7.stot.1:MCP:u64:12", "F.2.0.26.pid.1:KGP:u32:1",
      "F.2.0.27.iid.1:KGS:u32:2", "F.2.0.28.sid.1:KGS:u32:0", "F.2.0.32.type.1:CGS:u32:0", "",
    ].join("\n"));
    // The same field is tagged by the kind of row: act is a status for a server, a metric for a backend.
    const sv: StatField[] = new Array(ST_F_TOTAL_FIELDS);
    Object.assign(sv, { [ST_F.act]: 1, [ST_F.lastsess]: -1, [ST_F.pid]: 1, [ST_F.iid]: 2, [ST_F.sid]: 5, [ST_F.type]: 2 });
    expect(typedStatLines(sv).split("\n")[0]).toBe("S.2.5.19.act.1:SGP:u32:1");
    expect(typedStatLines(sv)).toContain("S.2.5.55.lastsess.1:MAP:s32:-1\n");
    const be = [...sv];
    be[ST_F.type] = 1;
    be[ST_F.sid] = 0;
    expect(typedStatLines(be).split("\n")[0]).toBe("B.2.0.19.act.1:MGP:u32:1");
  });

  it("JSON: one object per field with its tags in words and its typed value; strings stay valid JSON", () => {
    const f = feRow();
    f[ST_F.mode] = 'a"b\\c';
    const row = JSON.parse(jsonStatRow(f));
    expect(row.length).toBe(8);
    expect(row[0]).toEqual({
      objType: "Frontend", proxyId: 2, id: 0, field: { pos: 0, name: "pxname" }, processNum: 1,
      tags: { origin: "Key", nature: "Name", scope: "Service" }, value: { type: "str", value: "px" },
    });
    expect(row[2].value).toEqual({ type: "u64", value: 12 });
    expect(row[7].value.value).toBe('a"b\\c');
    // A 64-bit counter past 2^53 - 1 cannot be written: 1.8's error object replaces the row.
    f[ST_F.stot] = 2 ** 53;
    expect(jsonStatRow(f)).toBe('{"errorStr":"output buffer too short"}');
  });

  it("every field the fill functions set has a type (all kinds of rows, all check states)", () => {
    const [px] = build(BASE + ["listen px", "    bind 127.0.0.1:1", "    server s1 127.0.0.1:81 check maxconn 3 maxqueue 4", "    server s2 127.0.0.1:82"].join("\n") + "\n");
    for (const f of [fillFeStats(px), fillBeStats(px, ST_SHLGNDS), ...px.servers.map((s) => fillSvStats(px, s, ST_SHLGNDS))]) {
      const n = f.filter((v) => v !== undefined).length;
      expect(typedStatLines(f).split("\n").length - 1).toBe(n);
      expect(JSON.parse(jsonStatRow(f)).length).toBe(n);
    }
    const info = fillInfo();
    expect(typedInfoLines(info)).toMatch(/^0\.Name\.1:POS:str:hapoll\n1\.Version\.1:POS:str:/);
    expect(JSON.parse(jsonInfo(info)).length).toBe(info.filter((v) => v !== undefined).length);
  });

  it("show schema json is one compact JSON document", () => {
    const s = JSON.parse(jsonSchema());
    expect(s.oneOf.map((o: { title: string }) => o.title)).toEqual(["Info", "Stat", "Error"]);
    expect(s.definitions.tags.nature.enum).toEqual(["Gauge", "Limit", "Min", "Max", "Rate", "Counter", "Duration", "Age", "Time", "Name", "Output", "Avg", "Unknown"]);
  });
});
