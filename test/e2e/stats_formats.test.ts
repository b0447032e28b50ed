/**
 * Issue 16 item 6: the stats socket's typed and JSON forms (`show stat typed|json`, `show info
 * typed|json`, `show schema json`) and the full dump of one session (`show sess <id>`), side by side
 * with HAProxy 1.8.0 on the same configuration (bench/proxy/peers.js locates it; without it the
 * comparisons are skipped with the reason printed, and hapoll's own answers are still checked).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, freePort, isListening, onCleanup, tmpDir, waitFor } from "./helpers";
import { holdServer, TestClient } from "./limits-helpers";
import { blackholePort, startProxy } from "./net-helpers";
import { cliQuery, type CliTarget } from "./cli-client";

const { locateHaproxy18 } = require("../../bench/proxy/peers.js");
const H18: { bin?: string; reason?: string } = locateHaproxy18();
if (!H18.bin) console.log(`stats_formats: HAProxy 1.8.0 comparisons skipped: ${H18.reason}`);

afterEach(async () => {
  await cleanup();
});

/** One running peer: its stats socket and its proxy port. */
interface Peer {
  name: string;
  sock: CliTarget;
  port: number;
}

/**
 * A backend that answers the first bytes it gets and closes: the close comes from the server side,
 * which 1.8.0 forwards at once (it keeps a stream whose client half-closed first open until the
 * server closes, and does not always see a server's FIN that follows).
 */
async function answerAndClose(): Promise<{ port: number }> {
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", (d) => s.end(d));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onCleanup(() => server.close());
  return { port: (server.address() as net.AddressInfo).port };
}

/** The configuration both peers run: one listen section with the given server lines. */
function configText(sock: string, port: number, servers: string[]): string {
  return [
    "global", `    stats socket ${sock} level admin`, "    maxconn 100",
    "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s",
    "listen px", `    bind 127.0.0.1:${port}`, ...servers.map((l) => "    " + l), "",
  ].join("\n");
}

/**
 * Start hapoll, and 1.8.0 when found, each with its own socket and port, in front of the same
 * backends: by default a checked server and an unchecked one that answer and close; with "hold",
 * echo servers that keep streams open; with "blackhole", one server that never answers a SYN.
 */
async function peers(kind: "close" | "hold" | "blackhole" = "close"): Promise<Peer[]> {
  const dir = tmpDir();
  let servers: string[];
  if (kind === "blackhole") servers = [`server s1 127.0.0.1:${await blackholePort()}`];
  else {
    const be1 = kind === "hold" ? await holdServer() : await answerAndClose();
    const be2 = kind === "hold" ? await holdServer() : await answerAndClose();
    servers = [`server s1 127.0.0.1:${be1.port} check inter 500`, `server s2 127.0.0.1:${be2.port}`];
  }
  const config = (sock: string, port: number) => configText(sock, port, servers);
  const out: Peer[] = [];
  const port = await freePort();
  await startProxy(config(`${dir}/hapoll.sock`, port), [port], []);
  out.push({ name: "hapoll", sock: { path: `${dir}/hapoll.sock` }, port });
  if (H18.bin) {
    const p18 = await freePort();
    const cfg = path.join(dir, "h18.cfg");
    fs.writeFileSync(cfg, config(`${dir}/h18.sock`, p18));
    const proc = spawn(H18.bin, ["-db", "-f", cfg], { stdio: "ignore" });
    onCleanup(() => proc.kill("SIGKILL"));
    await waitFor(() => isListening(p18) && fs.existsSync(`${dir}/h18.sock`), 10_000, "HAProxy 1.8.0 to listen");
    out.push({ name: "1.8.0", sock: { path: `${dir}/h18.sock` }, port: p18 });
  }
  // Both have run a health check of s1 (the first one runs within `inter`).
  for (const p of kind === "blackhole" ? [] : out) {
    await waitFor(async () => /S\.2\.1\.36\.check_status\.1:MOP:str:L4OK\n/.test(await cliQuery(p.sock, "show stat typed\n")), 5000, `${p.name}'s first check`);
  }
  return out;
}

/**
 * Two round trips through <p> (one per server with roundrobin), one after the other: each waits
 * until the peer has closed the previous one, so that the maxima are the same in both peers.
 */
async function traffic(p: Peer): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const c = TestClient.tcp(p.port);
    await c.waitConnected();
    c.send("abc");
    await waitFor(() => c.ended, 5000, `${p.name} to close the client`);
    expect(c.data().toString()).toBe("abc");
    c.destroy();
    await waitFor(async () => /\nB\.2\.0\.4\.scur\.1:MGP:u32:0\n/.test(await cliQuery(p.sock, "show stat typed\n")), 5000, `${p.name} to close the stream`);
  }
}

/** Typed lines as { key: "S.2.1.4.scur.1:MGP:u32", value }. */
function typed(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split("\n").filter((x) => x)) {
    const parts = /^([^:]+:[^:]+:[^:]+):(.*)$/.exec(l);
    expect(parts, `typed line: ${l}`).not.toBeNull();
    m.set(parts![1], parts![2]);
  }
  return m;
}

/** The 1.8 `show info` fields of a build with OpenSSL and zlib (hapoll reports them; this 1.8.0 lacks them). */
const SSL_ZLIB = new Set([19, 20, 21, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 44, 45]);

/** The fields whose values are the same in two processes of the same state (the rest are times, pids, names). */
const SAME_STAT = ["pxname", "svname", "status", "scur", "smax", "slim", "stot", "lbtot", "weight", "act", "bck", "pid", "iid", "sid", "type", "mode", "addr", "algo", "check_rise", "check_fall", "check_health", "econ", "qcur", "qlimit"];
const SAME_INFO = ["Nbproc", "Process_num", "Memmax_MB", "PoolFailed", "Maxconn", "Hard_maxconn", "CurrConns", "Maxpipes", "ConnRateLimit", "SessRateLimit", "CompressBpsIn", "CompressBpsRateLim"];

describe("show stat typed / json, show info typed / json, show schema json", () => {
  it("typed: the same lines (position, name, tags, type) as 1.8.0, equal values where the state is the same", async () => {
    const ps = await peers();
    const got = new Map<string, { stat: Map<string, string>; info: Map<string, string> }>();
    for (const p of ps) {
      await traffic(p);
      got.set(p.name, { stat: typed(await cliQuery(p.sock, "show stat typed\n")), info: typed(await cliQuery(p.sock, "show info typed\n")) });
    }
    const mine = got.get("hapoll")!;
    expect(mine.stat.get("F.2.0.0.pxname.1:KNS:str")).toBe("px");
    expect(mine.stat.get("S.2.2.17.status.1:SGP:str")).toBe("no check");
    expect(mine.stat.get("B.2.0.7.stot.1:MCP:u64")).toBe("2");
    expect(mine.info.get("0.Name.1:POS:str")).toBe("hapoll");
    expect(mine.info.get("14.Maxconn.1:CLP:u32")).toBe("100");
    if (!H18.bin) return; // no reference to compare with: the reason was printed when the file loaded
    const ref = got.get("1.8.0")!;
    expect([...mine.stat.keys()]).toEqual([...ref.stat.keys()]);
    for (const [k, v] of ref.stat) if (SAME_STAT.includes(k.split(".")[4].split(":")[0]) && !k.includes(".addr.")) expect(mine.stat.get(k), k).toBe(v);
    // hapoll also prints the SSL and zlib fields of a build with them; the rest is 1.8.0's list.
    const extra = [...mine.info.keys()].filter((k) => !ref.info.has(k));
    expect(extra.map((k) => Number(k.split(".")[0])).every((n) => SSL_ZLIB.has(n))).toBe(true);
    expect([...mine.info.keys()].filter((k) => !extra.includes(k))).toEqual([...ref.info.keys()]);
    for (const [k, v] of ref.info) if (SAME_INFO.includes(k.split(".")[1])) expect(mine.info.get(k), k).toBe(v);
  });

  it("json: the same rows and fields (tags, types) as 1.8.0; the schema is 1.8.0's byte for byte", async () => {
    const ps = await peers();
    const got = new Map<string, { stat: any[][]; info: any[]; schema: string; bound: any[][] }>();
    for (const p of ps) {
      await traffic(p);
      const stat = await cliQuery(p.sock, "show stat json\n");
      // The answer is one JSON document followed by the CLI's empty line.
      expect(stat.endsWith("]\n")).toBe(true);
      got.set(p.name, {
        stat: JSON.parse(stat), info: JSON.parse(await cliQuery(p.sock, "show info json\n")),
        schema: await cliQuery(p.sock, "show schema json\n"), bound: JSON.parse(await cliQuery(p.sock, "show stat px 4 2 json\n")),
      });
    }
    const mine = got.get("hapoll")!;
    expect(mine.stat.map((r) => `${r[0].objType}/${r[1].value.value}`)).toEqual(["Frontend/FRONTEND", "Server/s1", "Server/s2", "Backend/BACKEND"]);
    expect(mine.bound.length).toBe(1);
    expect(mine.bound[0][1].value).toEqual({ type: "str", value: "s2" });
    expect(mine.info[0]).toEqual({ field: { pos: 0, name: "Name" }, processNum: 1, tags: { origin: "Product", nature: "Output", scope: "Service" }, value: { type: "str", value: "hapoll" } });
    const schema = JSON.parse(mine.schema);
    expect(schema.$schema).toBe("http://json-schema.org/draft-04/schema#");
    if (!H18.bin) return; // no reference to compare with: the reason was printed when the file loaded
    const ref = got.get("1.8.0")!;
    const shape = (rows: any[][]) => rows.map((r) => r.map((f) => [f.objType, f.proxyId, f.id, f.field.pos, f.field.name, f.processNum, f.tags, f.value.type]));
    expect(shape(mine.stat)).toEqual(shape(ref.stat));
    expect(shape(mine.bound)).toEqual(shape(ref.bound));
    const vals = (rows: any[][]) => rows.map((r) => r.filter((f) => SAME_STAT.includes(f.field.name) && f.field.name !== "addr").map((f) => f.value.value));
    expect(vals(mine.stat)).toEqual(vals(ref.stat));
    const infoShape = (a: any[]) => a.filter((f) => !SSL_ZLIB.has(f.field.pos)).map((f) => [f.field, f.processNum, f.tags, f.value.type]);
    expect(infoShape(mine.info)).toEqual(infoShape(ref.info));
    expect(mine.schema).toBe(ref.schema);
  });

  it("arguments: 1.8.0's answers for a bad proxy, an unknown format word, formats after bounds", async () => {
    const ps = await peers();
    const answers: Record<string, string[]> = {};
    const cmds = ["show stat nope 1 1 typed", "show stat typed json", "show stat 2 1 typed", "show stat -1 1 -1 typed", "show info foo", "show stat 2 2 -1 xml"];
    for (const p of ps) {
      const out: string[] = [];
      for (const c of cmds) {
        // Only the structure is compared: values that move (uptime, pids, times) are blanked.
        const a = await cliQuery(p.sock, c + "\n");
        out.push(a.split("\n").map((l) => l.replace(/:[^:]*$/, ":").replace(/^([A-Za-z_-]+): .*/, "$1:").replace(/^(#.*|[^,]*,[^,]*),.*/, "$1")).join("\n"));
      }
      answers[p.name] = out;
    }
    const mine = answers.hapoll;
    expect(mine[0]).toBe("No such proxy.\n\n");
    expect(mine[1].startsWith("F.2.0.0.pxname.1:KNS:str:\n")).toBe(true);
    // "show stat 2 1 typed" has no third bound: "2" is the format word, CSV it is.
    expect(mine[2].startsWith("# pxname,svname")).toBe(true);
    expect(mine[3].split("\n").filter((l) => l).every((l) => l.startsWith("F."))).toBe(true);
    expect(mine[4]).toMatch(/^Name:\nVersion:\n/);
    if (H18.bin) {
      // show info's keys differ by the SSL and zlib lines only (see above).
      const noSsl = (t: string) => t.split("\n").filter((l) => !/^(Max|Curr|Cum)?Ssl|Zlib/.test(l)).join("\n");
      expect(mine.map(noSsl)).toEqual(answers["1.8.0"].map(noSsl));
    }
  });
});

describe("show sess <id>", () => {
  /** The keys of each line of a dump, in order ("flags", "conn_retries", ...). */
  function keys(dump: string): string[][] {
    return dump.split("\n").filter((l) => l).map((l) => [...l.matchAll(/([a-z_.0-9[\]]+)=/g)].map((m) => m[1]));
  }

  /** key=value pairs of a dump, first occurrence of each key per line prefix. */
  function values(dump: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const l of dump.split("\n").filter((x) => x)) {
      const head = l.trim().split(/[=: ]/)[0];
      for (const x of l.matchAll(/([a-z_.0-9[\]]+)=([^ ,)]+)/g)) if (!m.has(`${head}/${x[1]}`)) m.set(`${head}/${x[1]}`, x[2]);
    }
    return m;
  }

  /**
   * A client through <p> that sent "ping"; once its `show sess` line matches <ready>, the id of its
   * stream and `show sess <id>`.
   */
  async function dumpOf(p: Peer, ready: RegExp): Promise<{ c: TestClient; id: string; dump: string }> {
    const c = TestClient.tcp(p.port);
    await c.waitConnected();
    c.send("ping");
    let line: string | undefined;
    await waitFor(async () => {
      line = (await cliQuery(p.sock, "show sess\n")).split("\n").find((l) => l.includes(`src=127.0.0.1:${c.sock.localPort} `));
      return line !== undefined && ready.test(line);
    }, 5000, `${p.name}: a show sess line matching ${ready}`);
    const id = line!.split(":")[0];
    const dump = await cliQuery(p.sock, `show sess ${id}\n`);
    expect(dump.startsWith(`${id}: [`), dump).toBe(true);
    return { c, id, dump };
  }

  it("dumps a proxied stream with 1.8.0's lines and keys, in its order; unknown ids are not found", async () => {
    const ps = await peers("hold");
    const dumps = new Map<string, string>();
    for (const p of ps) {
      const { c, id, dump } = await dumpOf(p, / s1=\[7,/);
      await c.waitBytes(4);
      dumps.set(p.name, dump);
      expect(await cliQuery(p.sock, "show sess 0x1234\n")).toBe("Session not found.\n\n");
      // "all" dumps every session: this stream and the stats socket's own.
      const all = await cliQuery(p.sock, "show sess all\n");
      expect(all).toContain(`${id}: [`);
      expect(all).toMatch(/frontend=GLOBAL \(id=0 mode=tcp\)/);
      c.destroy();
    }
    const mine = dumps.get("hapoll")!;
    const v = values(mine);
    expect(mine).toMatch(new RegExp(`^0x[0-9a-f]+: \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{6}\\] id=\\d+ proto=tcpv4 source=127\\.0\\.0\\.1:\\d+\\n`));
    expect(mine).toContain(`  frontend=px (id=2 mode=tcp), listener=? (id=1) addr=127.0.0.1:${ps[0].port}\n`);
    expect(mine).toMatch(/\n {2}server=s[12] \(id=[12]\) addr=127\.0\.0\.1:\d+\n/);
    expect([v.get("si[0]/state"), v.get("si[1]/state"), v.get("co0/ctrl"), v.get("co1/target")?.split(":")[0]]).toEqual(["EST", "EST", "tcpv4", "SERVER"]);
    if (!H18.bin) return; // no reference to compare with: the reason was printed when the file loaded
    const ref = dumps.get("1.8.0")!;
    expect(keys(mine)).toEqual(keys(ref));
    const r = values(ref);
    for (const k of ["task/state", "si[0]/state", "si[1]/state", "co0/ctrl", "co0/xprt", "co0/mux", "co0/data", "co1/ctrl", "req/tofwd", "res/tofwd", "req/an", "req/pipe", "flags/conn_retries", "frontend/frontend", "backend/backend", "req/an_exp", "an_exp/an_exp"]) {
      expect(v.get(k), k).toBe(r.get(k));
    }
  });

  it("a stream still connecting to a server that never answers: the same lines and keys as 1.8.0", async () => {
    const ps = await peers("blackhole");
    const dumps = new Map<string, string>();
    for (const p of ps) {
      const { c, dump } = await dumpOf(p, / s1=\[5,/);
      dumps.set(p.name, dump);
      c.destroy();
    }
    const mine = dumps.get("hapoll")!;
    expect(mine).toMatch(/\n {2}si\[1\]=0x[0-9a-f]+ \(state=CON flags=0x[0-9a-f]{2} endp1=NONE:0x[0-9a-f]+ exp=\d+s, et=0x000\)\n/);
    expect(mine).toMatch(/\n {2}co1=0x[0-9a-f]+ ctrl=tcpv4 xprt=RAW mux=PASS data=STRM target=SERVER:0x[0-9a-f]+\n/);
    // Nothing came back yet: the response buffer is the shared empty one.
    expect(mine).toMatch(/\n {6}buf=(0x[0-9a-f]+) data=0x[0-9a-f]+ o=0 p=0 rsp\.next=0 i=0 size=0\n\n$/);
    const ref = dumps.get("1.8.0");
    if (ref) expect(keys(mine)).toEqual(keys(ref));
  });
});
