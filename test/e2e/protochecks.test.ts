/**
 * Issue 16 item 5: HAProxy 1.8.0's protocol health checks (ssl-hello-chk, smtpchk, mysql-check,
 * pgsql-check, ldap-check) and the agent check, each against a small fake server speaking the
 * protocol, side by side with 1.8.0 on the same configuration (skipped, saying why, when 1.8.0
 * cannot be found): the same request bytes on the wire, the same show stat columns, the same
 * DOWN/UP lines, the same -c verdicts on bad arguments. hapoll's own results are also checked
 * against fixed expectations, so the tests fail even without the reference.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { BIN, cleanup, onCleanup, sleep, tmpDir } from "./helpers";
import { cliQuery } from "./cli-client";
import { H18, both, freePorts, norm, peers, startPeer } from "./peer-helpers";

afterEach(cleanup);

const DEFAULTS = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n";

/**
 * A fake server: <greeting> sent on accept (if any), <reply> sent after the first bytes received
 * (null: never answer). Records the first chunk each connection sent.
 */
async function fake(greeting: Buffer | null, reply: Buffer | null): Promise<{ port: number; got: Buffer[] }> {
  const got: Buffer[] = [];
  const srv = net.createServer((c) => {
    c.on("error", () => {});
    if (greeting) c.write(greeting);
    c.once("data", (d) => {
      got.push(d);
      if (reply) c.write(reply);
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  onCleanup(() => srv.close());
  return { port: (srv.address() as net.AddressInfo).port, got };
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const str = (s: string) => Buffer.from(s, "latin1");

/** A MySQL packet: 3-byte length, sequence number, payload. */
const myPkt = (seq: number, payload: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, payload]);
};
/** A MySQL handshake: protocol 10, version string, then enough filler to pass 1.8's "more than 51 bytes". */
const myGreeting = myPkt(0, Buffer.concat([Buffer.from([10]), str("5.5.5-10.1.2-MariaDB\0"), Buffer.alloc(40, 0x41), Buffer.from([0])]));
const myError = (seq: number, msg: string) => myPkt(seq, Buffer.concat([hex("ff1504"), str(`#28000${msg}`)]));
const myOk = myPkt(2, hex("00000002000000"));

/** show stat rows of the servers: pxname,svname,status,check_status,check_code,last_chk,check_desc. */
function checkCols(stat: string): string[] {
  return stat.split("\n").filter((l) => /^[a-z0-9]+,s1,/.test(l)).map((l) => {
    const f = l.split(",");
    return [f[0], f[1], f[17], f[36], f[37], f[56], f[65]].join(",");
  });
}

/** The server state-change lines of stderr, without what differs between runs (date, pid, durations). */
function stateLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /Server \S+ is /.test(l))
    .map((l) => l.replace(/^.*?\) : /, "").replace(/check duration: \d+ms/, "check duration: Nms")).sort();
}

describe("protocol health checks (issue 16 item 5)", () => {
  it("each check sends 1.8.0's request and judges good and bad answers as 1.8.0 does", async () => {
    // One set of fake servers per peer (they record the requests).
    const makeSrvs = async () => ({
      smtpok: await fake(str("220 mail.example ESMTP ready\r\n"), null),
      smtpbad: await fake(str("554 5.3.2 no service here\r\n"), null),
      smtpodd: await fake(str("hello there\r\n"), null),
      sslok: await fake(null, hex("15 0301 0002 0228")),
      sslbad: await fake(null, str("HTTP/1.0 400 Bad request\r\n\r\n")),
      ldapok: await fake(null, hex("300c 020101 6107 0a0100 0400 0400")),
      ldapbad: await fake(null, hex("300c 020101 6107 0a0131 0400 0400")),
      ldapodd: await fake(null, str("not an LDAP server at all")),
      myold: await fake(myGreeting, null),
      myolderr: await fake(myError(0, "Host '127.0.0.1' is not allowed to connect"), null),
      myuser: await fake(myGreeting, myOk),
      myusererr: await fake(myGreeting, myError(2, "Access denied for user 'hc'@'localhost'")),
      pgok: await fake(null, hex("52 00000008 00000000")),
      pgbad: await fake(null, Buffer.concat([str("E"), hex("00000030"), str("SFATAL\0C28000\0Mno pg_hba.conf entry\0\0")])),
    });
    const opts: Record<keyof Awaited<ReturnType<typeof makeSrvs>>, string> = {
      smtpok: "option smtpchk", smtpbad: "option smtpchk EHLO check.example", smtpodd: "option smtpchk HELO",
      sslok: "option ssl-hello-chk", sslbad: "option ssl-hello-chk",
      ldapok: "option ldap-check", ldapbad: "option ldap-check", ldapodd: "option ldap-check",
      myold: "option mysql-check", myolderr: "option mysql-check",
      myuser: "option mysql-check user hc", myusererr: "option mysql-check user hc post-41",
      pgok: "option pgsql-check user pguser", pgbad: "option pgsql-check user pguser",
    };
    const cols: Record<string, string[]> = {};
    const lines: Record<string, string[]> = {};
    const requests: Record<string, Record<string, string>> = {};
    for (const [name, bin] of peers()) {
      const srvs = await makeSrvs();
      const [p0] = await freePorts(1);
      const sock = path.join(tmpDir(), "s.sock");
      // Generous intervals: a loaded machine may stall the first checks (fall 1 would show it).
      let cfg = `global\n  stats socket ${sock} level admin\n` + DEFAULTS + "  timeout check 3s\n";
      for (const [be, s] of Object.entries(srvs)) {
        cfg += `backend ${be}\n  ${opts[be as keyof typeof opts]}\n  server s1 127.0.0.1:${s.port} check inter 3s fall 1 rise 1\n`;
      }
      cfg += `frontend f\n  bind 127.0.0.1:${p0}\n  default_backend smtpok\n`;
      const h = await startPeer(bin, cfg, [p0], [sock]);
      // The first checks are spread over inter; eight backends go DOWN.
      for (let i = 0; i < 60 && stateLines(h.stderr()).length < 8; i++) await sleep(100);
      // A check in progress ("* " before check_status) has cleared its last text: ask again.
      let stat = "";
      for (let i = 0; i < 20; i++) {
        stat = await cliQuery({ path: sock }, "show stat\n");
        if (!stat.split("\n").some((l) => /^[a-z0-9]+,s1,/.test(l) && l.split(",")[36].startsWith("* "))) break;
        await sleep(15);
      }
      cols[name] = checkCols(stat);
      // Eight backends go DOWN; stderr is another pipe, its bytes may come after the socket's answer.
      for (let i = 0; i < 30 && stateLines(h.stderr()).length < 8; i++) await sleep(100);
      lines[name] = stateLines(h.stderr());
      // The first request of each, the SSL hello's Unix time masked.
      requests[name] = Object.fromEntries(Object.entries(srvs).map(([be, s]) => {
        const r = Buffer.from(s.got[0] ?? Buffer.alloc(0));
        if (be.startsWith("ssl") && r.length > 15) r.fill(0, 11, 15);
        return [be, r.toString("hex")];
      }));
      await h.stop();
    }
    expect(cols.hapoll).toEqual([
      "smtpok,s1,UP,L7OK,220,mail.example ESMTP ready,Layer7 check passed",
      "smtpbad,s1,DOWN,L7STS,554,5.3.2 no service here,Layer7 wrong status",
      "smtpodd,s1,DOWN,L7RSP,,hello there,Layer7 invalid response",
      "sslok,s1,UP,L6OK,,,Layer6 check passed",
      "sslbad,s1,DOWN,L6RSP,,,Layer6 invalid response",
      "ldapok,s1,UP,L7OK,0,Success,Layer7 check passed",
      "ldapbad,s1,DOWN,L7STS,49,See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9,Layer7 wrong status",
      "ldapodd,s1,DOWN,L7RSP,,Not LDAPv3 protocol,Layer7 invalid response",
      "myold,s1,UP,L7OK,0,5.5.5-10.1.2-MariaDB,Layer7 check passed",
      "myolderr,s1,DOWN,L7STS,0,#28000Host '127.0.0.1' is not allowed to connect,Layer7 wrong status",
      "myuser,s1,UP,L7OK,0,5.5.5-10.1.2-MariaDB,Layer7 check passed",
      "myusererr,s1,DOWN,L7STS,0,#28000Access denied for user 'hc'@'localhost',Layer7 wrong status",
      "pgok,s1,UP,L7OK,0,PostgreSQL server is ok,Layer7 check passed",
      "pgbad,s1,DOWN,L7STS,0,FATAL,Layer7 wrong status",
    ]);
    expect(lines.hapoll, lines.hapoll.join("\n")).toContain(
      "Server smtpbad/s1 is DOWN, reason: Layer7 wrong status, code: 554, info: \"5.3.2 no service here\", check duration: Nms. " +
      "0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
    expect(requests.hapoll.smtpok).toBe(str("HELO localhost\r\n").toString("hex"));
    expect(requests.hapoll.smtpbad).toBe(str("EHLO check.example\r\n").toString("hex"));
    expect(requests.hapoll.ldapok).toBe("300c020101600702010304008000");
    expect(requests.hapoll.pgok).toBe("0000001500030000" + "7573657200" + "70677573657200" + "00");
    expect(requests.hapoll.myold).toBe(""); // without user, mysql-check only reads the greeting
    expect(requests.hapoll.sslok.slice(0, 22)).toBe("1603000079010000750300");
    if (H18.bin) {
      expect(cols.hapoll).toEqual(cols["1.8.0"]);
      expect(lines.hapoll).toEqual(lines["1.8.0"]);
      expect(requests.hapoll).toEqual(requests["1.8.0"]);
    }
  });

  it("a server that never answers: Layer6 timeout for ssl-hello-chk, Layer7 timeout for smtpchk, after timeout check", async () => {
    const mute = await fake(null, null);
    const got: Record<string, string[]> = {};
    for (const [name, bin] of peers()) {
      const [p0] = await freePorts(1);
      const sock = path.join(tmpDir(), "s.sock");
      const cfg = `global\n  stats socket ${sock} level admin\n` + DEFAULTS + "  timeout check 300\n" +
        `backend ssl\n  option ssl-hello-chk\n  server s1 127.0.0.1:${mute.port} check inter 2s fall 1\n` +
        `backend smtp\n  option smtpchk\n  server s1 127.0.0.1:${mute.port} check inter 2s fall 1\n` +
        `frontend f\n  bind 127.0.0.1:${p0}\n  default_backend ssl\n`;
      const h = await startPeer(bin, cfg, [p0], [sock]);
      // The two checks start inter / 2 apart, and each times out after timeout check.
      for (let i = 0; i < 50 && stateLines(h.stderr()).length < 2; i++) await sleep(100);
      got[name] = stateLines(h.stderr());
      await h.stop();
    }
    expect(got.hapoll).toEqual([
      "Server smtp/s1 is DOWN, reason: Layer7 timeout, check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
      "Server ssl/s1 is DOWN, reason: Layer6 timeout, check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
    ]);
    if (H18.bin) expect(got.hapoll).toEqual(got["1.8.0"]);
  });

  it("bad arguments get 1.8.0's alerts and -c exit codes", () => {
    const cases: [string, number][] = [
      ["backend b\n  option pgsql-check user\n", 1],
      ["backend b\n  option pgsql-check foo\n", 1],
      ["backend b\n  option pgsql-check\n", 2],
      ["backend b\n  option mysql-check user\n", 1],
      ["backend b\n  option mysql-check user a b\n", 1],
      ["backend b\n  option mysql-check user a post-41 x\n", 1],
      ["backend b\n  option smtpchk EHLO a b\n", 1],
      ["backend b\n  option ssl-hello-chk x\n", 1],
      ["backend b\n  option ldap-check x\n", 1],
      ["frontend f\n  bind 127.0.0.1:1\n  option ssl-hello-chk\n  default_backend b\nbackend b\n", 0],
      ["backend b\n  server s 127.0.0.1:1 agent-check\n", 1],
      ["backend b\n  server s 127.0.0.1:1 agent-check agent-port 5 agent-inter 1x\n", 1],
      ["backend b\n  server s 127.0.0.1:1 agent-check agent-port 5 agent-inter 0\n", 1],
      ["backend b\n  server s 127.0.0.1:1 agent-inter\n", 1],
      ["backend b\n  server s 127.0.0.1:1 agent-check agent-port x\n", 1],
    ];
    for (const [body, code] of cases) {
      const { mine, ref } = both({ "t.cfg": DEFAULTS + body }, ["-c", "-f", "t.cfg"]);
      expect(mine.code, `${body}\n${mine.stderr}`).toBe(code);
      if (ref) {
        expect(mine.code, body).toBe(ref.code);
        expect(norm(mine.stderr), body).toEqual(norm(ref.stderr));
      }
    }
    const { mine } = both({ "t.cfg": DEFAULTS + "backend b\n  option pgsql-check user\n  server s 127.0.0.1:1 agent-check agent-port 5 agent-inter 1x\n" }, ["-c", "-f", "t.cfg"]);
    expect(norm(mine.stderr).slice(0, 2)).toEqual([
      "[ALERT] parsing [t.cfg:7] : 'option pgsql-check user' expects <username> as argument.",
      "[ALERT] parsing [t.cfg:8] : unexpected character 'x' in 'agent-inter' argument of server s.",
    ]);
    // 1.8.0 dies of a segmentation fault on this one (no-agent-check frees the agent copied from
    // default-server); hapoll just turns the agent off.
    const off = both({ "t.cfg": DEFAULTS + "backend b\n  default-server agent-check agent-port 5\n  server s 127.0.0.1:1 no-agent-check\n" }, ["-c", "-f", "t.cfg"]);
    expect(off.mine.code).toBe(2);
    expect(norm(off.mine.stderr)).toEqual([]);
    // hapoll refuses what 1.8.0 half-parsed after its alert (a name, or nothing, for agent-addr).
    const bad = both({ "t.cfg": DEFAULTS + "backend b\n  server s 127.0.0.1:1 agent-check agent-port 5 agent-addr no.such.invalid\n" }, ["-c", "-f", "t.cfg"]);
    expect(bad.mine.code).toBe(1);
    expect(norm(bad.mine.stderr)[0]).toBe("[ALERT] parsing [t.cfg:7] : parsing agent-addr failed. Check if no.such.invalid is correct address.");
    fs.rmSync(bad.dir, { recursive: true, force: true });
    expect(BIN).toMatch(/hapoll$/);
  });
});

describe("agent check (issue 16 item 5)", () => {
  it("the agent's words move state, weight and maxconn as in 1.8.0; an unreachable agent changes nothing", async () => {
    const [deadAgent] = await freePorts(1);
    const backend = await fake(null, null);
    const steps = ["down # it is broken", "up", "50%", "maxconn:3", "drain", "ready 75% foo", "maint", "ready up", "fail", "garbage", "300%", "maxconn:x", "up 100%"];
    const got: Record<string, string[]> = {};
    const states: Record<string, string[]> = {};
    const lines: Record<string, string[]> = {};
    // Each peer gets its own agent (its answer is the step being tested).
    for (const [name, bin] of peers()) {
      let answer = "up\n";
      const agent = net.createServer((c) => {
        c.on("error", () => {});
        c.end(answer);
      });
      await new Promise<void>((r) => agent.listen(0, "127.0.0.1", r));
      onCleanup(() => agent.close());
      const agentPort = (agent.address() as net.AddressInfo).port;
      const [p0] = await freePorts(1);
      const sock = path.join(tmpDir(), "s.sock");
      const cfg = `global\n  stats socket ${sock} level admin\n` + DEFAULTS +
        `backend b\n  server s1 127.0.0.1:${backend.port} weight 10 agent-check agent-port ${agentPort} agent-inter 100\n` +
        `  server s2 127.0.0.1:${backend.port} weight 10 check inter 100 agent-check agent-port ${deadAgent} agent-inter 100\n` +
        `frontend f\n  bind 127.0.0.1:${p0}\n  default_backend b\n`;
      const h = await startPeer(bin, cfg, [p0], [sock]);
      got[name] = [];
      for (const step of steps) {
        answer = `${step}\n`;
        await sleep(600);
        // A check in progress ("* " before agent_status) has cleared its last text: ask again.
        let st: string[] = [];
        for (let i = 0; i < 20; i++) {
          st = (await cliQuery({ path: sock }, "show stat\n")).split("\n").filter((x) => /^b,s[12],/.test(x));
          if (!st.some((x) => x.split(",")[62].startsWith("* "))) break;
          await sleep(15);
        }
        // slim, status, weight, last_agt, agent_status, agent_code, agent_desc
        for (const l of st) {
          const f = l.split(",");
          got[name].push([step, f[1], f[6], f[17], f[18], f[57], f[62], f[63], f[66]].join(","));
        }
      }
      // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
      // (time since last change left out) check status/result/health/state, agent state ...
      states[name] = (await cliQuery({ path: sock }, "show servers state b\n")).split("\n").filter((l) => /^\d+ b /.test(l))
        .map((l) => { const f = l.split(" "); f.splice(9, 1); return f.join(" "); });
      // Two DOWN -> UP transitions by the agent ("up" after "down", "up 100%" after "fail").
      for (let i = 0; i < 30 && (h.stderr().match(/info: "via agent : up"/g) ?? []).length < 2; i++) await sleep(100);
      lines[name] = stateLines(h.stderr()).filter((l) => l.includes("s1"));
      await h.stop();
    }
    const s1 = got.hapoll.filter((l) => l.split(",")[1] === "s1");
    expect(s1).toEqual([
      "down # it is broken,s1,,DOWN (agent),10,via agent : down (it is broken),L7STS,0,Layer7 wrong status",
      "up,s1,,no check,10,via agent : up,L7OK,0,Layer7 check passed",
      "50%,s1,,no check,5,,CHECKED,,No status change",
      "maxconn:3,s1,3,no check,5,,CHECKED,,No status change",
      "drain,s1,3,DRAIN (agent),5,,CHECKED,,No status change",
      "ready 75% foo,s1,3,no check,7,agent reports an error : foo,CHECKED,,No status change",
      "maint,s1,3,MAINT,7,,CHECKED,,No status change",
      "ready up,s1,3,no check,7,via agent : up,L7OK,0,Layer7 check passed",
      "fail,s1,3,DOWN (agent),7,via agent : fail,L7STS,0,Layer7 wrong status",
      "garbage,s1,3,DOWN (agent),7,agent reports an error : garbage,CHECKED,,No status change",
      "300%,s1,3,DOWN (agent),30,,CHECKED,,No status change",
      "maxconn:x,s1,3,DOWN (agent),30,agent warns : maxconn string empty or preceded by garbage,CHECKED,,No status change",
      "up 100%,s1,3,no check,10,via agent : up,L7OK,0,Layer7 check passed",
    ]);
    // s2's agent cannot be reached: Layer4 connection problem, and s2 stays UP on its health check.
    for (const l of got.hapoll.filter((x) => x.split(",")[1] === "s2")) expect(l).toMatch(/^[^,]+(,[^,]+)*,s2,,UP,10,.*,L4CON,,Layer4 connection problem$/);
    // srv_agent_state: CONFIGURED | ENABLED | AGENT.
    expect(states.hapoll.map((l) => l.split(" ")[13])).toEqual(["22", "22"]);
    expect(lines.hapoll).toContain("Server b/s1 is DOWN, reason: Layer7 wrong status, code: 0, info: \"via agent : down (it is broken)\", " +
      "check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
    if (H18.bin) {
      expect(got.hapoll).toEqual(got["1.8.0"]);
      // Known difference, not the agent's: s1 has no health check, and 1.8.0 keeps the health its
      // idle check struct was left with by the maintenance (0), which hapoll (no struct) shows as rise.
      const maskIdle = (l: string) => (l.includes(" s1 ") ? l.split(" ").map((x, i) => (i === 11 ? "*" : x)).join(" ") : l);
      expect(states.hapoll.map(maskIdle)).toEqual(states["1.8.0"].map(maskIdle));
      expect(lines.hapoll).toEqual(lines["1.8.0"]);
    }
  });
});

describe("agent commands on the stats socket (issue 16 item 5)", () => {
  it("set server agent up|down, agent-send, disable|enable agent answer and act as 1.8.0's", async () => {
    const said: string[] = [];
    const agent = net.createServer((c) => {
      c.on("error", () => {});
      c.once("data", (d) => said.push(d.toString("latin1")));
      setTimeout(() => c.end("ready\n"), 20);
    });
    await new Promise<void>((r) => agent.listen(0, "127.0.0.1", r));
    onCleanup(() => agent.close());
    const agentPort = (agent.address() as net.AddressInfo).port;
    const backend = await fake(null, null);
    const cmds = ["set server b/s1 agent down", "set server b/s1 agent sideways", "set server b/s2 agent up", "set server b/s1 agent up",
      "set server b/s1 agent-addr not-an-ip", "set server b/s1 agent-send hello", "disable agent b/s1", "enable agent b/s2", "enable agent b/s1"];
    const got: Record<string, string[]> = {};
    for (const [name, bin] of peers()) {
      said.length = 0;
      const [p0] = await freePorts(1);
      const sock = path.join(tmpDir(), "s.sock");
      const cfg = `global\n  stats socket ${sock} level admin\n` + DEFAULTS +
        `backend b\n  server s1 127.0.0.1:${backend.port} agent-check agent-port ${agentPort} agent-inter 100\n` +
        `  server s2 127.0.0.1:${backend.port}\n` +
        `frontend f\n  bind 127.0.0.1:${p0}\n  default_backend b\n`;
      const h = await startPeer(bin, cfg, [p0], [sock]);
      got[name] = [];
      for (const cmd of cmds) {
        const answer = await cliQuery({ path: sock }, `${cmd}\n`);
        await sleep(cmd.includes("agent-send") ? 400 : 50);
        const row = (await cliQuery({ path: sock }, "show stat\n")).split("\n").find((l) => l.startsWith("b,s1,"))!.split(",");
        got[name].push(`${cmd} => ${JSON.stringify(answer)} ${row[17]} ${row[62] ? "agent" : "no-agent"}`);
      }
      got[name].push(`sent: ${JSON.stringify(said.at(-1))}`);
      await h.stop();
    }
    expect(got.hapoll).toEqual([
      "set server b/s1 agent down => \"\\n\" DOWN (agent) agent",
      "set server b/s1 agent sideways => \"'set server <srv> agent' expects 'up' or 'down'.\\n\\n\" DOWN (agent) agent",
      "set server b/s2 agent up => \"agent checks are not enabled on this server.\\n\\n\" DOWN (agent) agent",
      "set server b/s1 agent up => \"\\n\" no check agent",
      "set server b/s1 agent-addr not-an-ip => \"incorrect addr address given for agent.\\n\\n\" no check agent",
      "set server b/s1 agent-send hello => \"\\n\" no check agent",
      "disable agent b/s1 => \"\\n\" no check no-agent",
      "enable agent b/s2 => \"Agent was not configured on this server, cannot enable.\\n\\n\" no check no-agent",
      "enable agent b/s1 => \"\\n\" no check agent",
      "sent: \"hello\"",
    ]);
    if (H18.bin) expect(got.hapoll).toEqual(got["1.8.0"]);
  });
});
