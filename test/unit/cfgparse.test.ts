import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { programPath, skipBecause } from "../e2e/helpers";
import {
  MAX_LINE_ARGS,
  atol,
  formatDiag,
  parseConfigFiles,
  tokenizeLine,
  type ParseResult,
} from "../../src/config/cfgparse";
import {
  DIAG_FORM_BARE,
  DIAG_FORM_PARSING,
  DIAG_FORM_PARSING_CAPS,
  DIAG_FORM_PARSING_TIGHT,
  type GlobalConfig,
  type ProxyConfig,
  type ServerConfig,
} from "../../src/config/types";

const PID = 1234;

function parse(text: string, name = "t.cfg", env: Record<string, string> = {}): ParseResult {
  return parseConfigFiles([{ name, text }], { pid: PID, env });
}

/** Builds a config text from lines (indentation is irrelevant to the parser). */
function cfg(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

const ALERT = (loc: string, msg: string) => `[ALERT]    (${PID}) : config : parsing [${loc}] : ${msg}`;
const WARN = (loc: string, msg: string) => `[WARNING]  (${PID}) : config : parsing [${loc}] : ${msg}`;
const BARE_ALERT = (msg: string) => `[ALERT]    (${PID}) : config : ${msg}`;
const BARE_WARN = (msg: string) => `[WARNING]  (${PID}) : config : ${msg}`;
const ERRORS_IN = (f: string) => BARE_ALERT(`Error(s) found in configuration file : ${f}`);
const FATAL = BARE_ALERT("Fatal errors found in configuration.");

const SEED = readFileSync(join(__dirname, "../../examples/seed.cfg"), "utf8");

/** A complete, warning-free TCP setup around <lines> placed in a listen section. */
function inListen(...lines: string[]): string {
  return cfg(
    "defaults",
    "    mode tcp",
    "    timeout connect 5s",
    "    timeout client 30s",
    "    timeout server 30s",
    "listen app",
    "    bind :8000",
    ...lines,
  );
}

function proxy(r: ParseResult, name: string): ProxyConfig {
  const p = r.config.proxies.find((x) => x.name === name);
  if (!p) throw new Error(`no proxy ${name}`);
  return p;
}

describe("the seed configuration", () => {
  it("is the seed document's text", () => {
    expect(SEED).toBe(
      cfg(
        "global",
        "    maxconn 500",
        "defaults",
        "    mode tcp",
        "    contimeout 1000",
        "    clitimeout 5000",
        "    srvtimeout 5000",
        "listen mysql_1",
        "    bind :3307",
        "    mode tcp",
        "    server srv1 127.0.0.1:10000",
      ),
    );
  });

  it("parses with exactly the 3 deprecation warnings of 1.8 and no alert", () => {
    const r = parse(SEED, "seed.cfg");
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("seed.cfg:5", "the 'contimeout' directive is now deprecated in favor of 'timeout connect', and will not be supported in future versions."),
      WARN("seed.cfg:6", "the 'clitimeout' directive is now deprecated in favor of 'timeout client', and will not be supported in future versions."),
      WARN("seed.cfg:7", "the 'srvtimeout' directive is now deprecated in favor of 'timeout server', and will not be supported in future versions."),
    ]);
    expect(r.diags.filter((d) => d.level === "alert")).toEqual([]);
  });

  it("gives the model the runtime needs", () => {
    const r = parse(SEED, "seed.cfg");
    expect(r.config.global.maxconn).toBe(500);
    expect(r.config.proxies).toHaveLength(1);
    const p = r.config.proxies[0];
    expect(p).toMatchObject({
      name: "mysql_1",
      cap: { fe: true, be: true },
      file: "seed.cfg",
      line: 8,
      mode: "tcp",
      balance: "roundrobin",
      retries: 3,
      maxconn: 0,
      id: 1,
      disabled: false,
      timeouts: { connect: 1000, client: 5000, server: 5000, queue: 0, tunnel: 0, clientFin: 0, serverFin: 0, check: 0 },
    });
    expect(p.binds).toHaveLength(1);
    expect(p.binds[0]).toMatchObject({ acceptProxy: false, file: "seed.cfg", line: 9, raw: ":3307" });
    expect(p.binds[0].addr).toMatchObject({ family: "ipv4", host: "0.0.0.0", portLow: 3307, portHigh: 3307 });
    expect(p.servers).toHaveLength(1);
    expect(p.servers[0]).toMatchObject({
      name: "srv1",
      check: false,
      inter: 2000,
      rise: 2,
      fall: 3,
      weight: 1,
      id: 1,
      file: "seed.cfg",
      line: 11,
    });
    expect(p.servers[0].addr).toMatchObject({ family: "ipv4", host: "127.0.0.1", portLow: 10000, hasPort: true });
  });

  it("warns about each deprecated keyword only once, like already_warned()", () => {
    const r = parse(SEED + cfg("listen two", "    bind :3308", "    contimeout 5000", "    server s 127.0.0.1:1"));
    expect(r.diags.filter((d) => d.level === "warning")).toHaveLength(3);
    /* and a second parse starts with a clean slate */
    expect(parse(SEED).diags).toHaveLength(3);
  });
});

describe("formatDiag() prints HAProxy 2.x's line shape", () => {
  const cases: [Parameters<typeof formatDiag>[0], string][] = [
    [
      { level: "alert", file: "f.cfg", line: 3, msg: "unknown keyword 'foo' in 'global' section" },
      "[ALERT]    (1234) : config : parsing [f.cfg:3] : unknown keyword 'foo' in 'global' section",
    ],
    [
      { level: "warning", file: "f.cfg", line: 7, msg: "x" },
      "[WARNING]  (1234) : config : parsing [f.cfg:7] : x",
    ],
    [{ level: "notice", msg: "hello" }, "[NOTICE]   (1234) : config : hello"],
    [{ level: "alert", file: "f.cfg", line: 2, msg: "m", form: DIAG_FORM_PARSING }, "[ALERT]    (1234) : config : parsing [f.cfg:2] : m"],
    [{ level: "alert", file: "f.cfg", line: 2, msg: "m", form: DIAG_FORM_PARSING_TIGHT }, "[ALERT]    (1234) : config : parsing [f.cfg:2]: m"],
    [{ level: "alert", file: "f.cfg", line: 2, msg: "m", form: DIAG_FORM_PARSING_CAPS }, "[ALERT]    (1234) : config : Parsing [f.cfg:2]: m"],
    [{ level: "alert", file: "f.cfg", line: 2, msg: "m", form: DIAG_FORM_BARE }, "[ALERT]    (1234) : config : m"],
    [{ level: "warning", msg: "a\n   | b" }, "[WARNING]  (1234) : config : a\n   | b"],
  ];
  for (const [d, want] of cases) {
    it(`formats ${JSON.stringify(d)}`, () => expect(formatDiag(d, 1234)).toBe(want));
  }

  it("aligns '(' at column 12 for every level", () => {
    for (const level of ["alert", "warning", "notice"] as const) {
      expect(formatDiag({ level, msg: "x" }, 1).indexOf("(")).toBe(11);
    }
  });

  it("fills ParseResult.output with opts.pid", () => {
    const r = parseConfigFiles([{ name: "x.cfg", text: "global\n  foo\n" }], { pid: 77 });
    expect(r.output[0]).toBe("[ALERT]    (77) : config : parsing [x.cfg:2] : unknown keyword 'foo' in 'global' section");
  });
});

describe("tokenizeLine() splits words like readcfgfile()", () => {
  const cases: [string, string[]][] = [
    ["  bind   :80  ", ["bind", ":80", ""]],
    ["server s1 1.2.3.4:80 # comment", ["server", "s1", "1.2.3.4:80", ""]],
    ["log stdout#nospace", ["log", "stdout"]],
    ["# whole line comment", []],
    ["", []],
    ["   \t ", []],
    ['description "two words" here', ["description", "two words", "here"]],
    ["description 'single # quoted'", ["description", "single # quoted"]],
    ['a "b"c\'d\'', ["a", "bcd"]],
    ["a b\\ c", ["a", "b c"]],
    ["a \\#x", ["a", "#x"]],
    ["a \\\\", ["a", "\\"]],
    ["a \\t\\n\\r", ["a", "\t\n\r"]],
    ["a \\x41\\x62", ["a", "Ab"]],
    ["a \\1", ["a", "\\1"]],
    ["a '\\t'", ["a", "\\t"]],
    ['a "\\""', ["a", '"']],
    ["a 'it'\\''s'", ["a", "it's"]],
    ['a "$HOME"', ["a", "/home/me"]],
    ['a "${HOME}/x"', ["a", "/home/me/x"]],
    ['a "$UNSET."', ["a", "."]],
    ["a $HOME", ["a", "$HOME"]],
    ['a "\\$HOME"', ["a", "$HOME"]],
    ["line\r", ["line"]],
    ['"" rest', []],
  ];
  const env = { HOME: "/home/me" };
  for (const [line, words] of cases) {
    it(`splits ${JSON.stringify(line)}`, () => {
      const t = tokenizeLine(line, env);
      expect(t.alerts).toEqual([]);
      expect(t.words).toEqual(words);
    });
  }

  it("reports mismatched quotes but keeps the words", () => {
    expect(tokenizeLine('a "b c', {})).toEqual({
      words: ["a", "b c"],
      alerts: [{ msg: "Mismatched double quotes.", form: DIAG_FORM_PARSING }],
      dropped: false,
    });
    expect(tokenizeLine("a 'b", {}).alerts).toEqual([{ msg: "Mismatched simple quotes.", form: DIAG_FORM_PARSING }]);
  });

  it("reports a bad \\x sequence and keeps the text", () => {
    const t = tokenizeLine("foo \\xZZ", {});
    expect(t.words).toEqual(["foo", "\\xZZ"]);
    expect(t.alerts).toEqual([{ msg: "invalid or incomplete '\\x' sequence in 'foo'.", form: DIAG_FORM_PARSING }]);
  });

  it("drops a line with a bad variable name or unbalanced braces", () => {
    expect(tokenizeLine('a "$1"', {})).toMatchObject({
      dropped: true,
      alerts: [{ msg: "Variable expansion: Unrecognized character '1' in variable name." }],
    });
    expect(tokenizeLine('a "${X"', { X: "1" })).toMatchObject({
      dropped: true,
      alerts: [{ msg: "Variable expansion: Mismatched braces." }],
    });
  });

  it(`keeps ${MAX_LINE_ARGS} words and reports the rest`, () => {
    const words = Array.from({ length: MAX_LINE_ARGS + 2 }, (_, i) => `w${i}`);
    const t = tokenizeLine(words.join(" "), {});
    expect(t.words).toEqual(words.slice(0, MAX_LINE_ARGS));
    expect(t.alerts).toHaveLength(1);
    expect(t.alerts[0].form).toBe(DIAG_FORM_PARSING_TIGHT);
    expect(t.alerts[0].msg).toMatch(/^line too long, truncating at word 65, position \d+: <w64 w65>\.$/);
  });

  it("reports a [scope] line", () => {
    expect(tokenizeLine("  [mine]", {}).scope).toBe("mine]");
  });

  it("atol() behaves like C's", () => {
    expect(atol("42")).toBe(42);
    expect(atol(" -7x")).toBe(-7);
    expect(atol("4k")).toBe(4);
    expect(atol("abc")).toBe(0);
    expect(atol("")).toBe(0);
  });
});

describe("global section keywords", () => {
  const cases: [string[], (g: GlobalConfig) => void][] = [
    [["maxconn 4096"], (g) => expect(g.maxconn).toBe(4096)],
    [["daemon"], (g) => expect(g.daemon).toBe(true)],
    [["quiet"], (g) => expect(g.quiet).toBe(true)],
    [["noepoll", "nokqueue", "nopoll"], (g) => expect([g.noepoll, g.nokqueue, g.nopoll]).toEqual([true, true, true])],
    [["noreuseport", "nosplice"], (g) => expect([g.noreuseport, g.nosplice]).toEqual([true, true])],
    [["nbproc 4"], (g) => expect(g.nbproc).toBe(4)],
    [["pidfile /run/hapoll.pid"], (g) => expect(g.pidfile).toBe("/run/hapoll.pid")],
    [["tune.bufsize 32768"], (g) => expect(g.tuneBufsize).toBe(32768)],
    [["tune.maxaccept 100"], (g) => expect(g.tuneMaxaccept).toBe(100)],
    [["tune.maxaccept -1"], (g) => expect(g.tuneMaxaccept).toBe(-1)],
    [["tune.maxpollevents 50"], (g) => expect(g.tuneMaxpollevents).toBe(50)],
    [["ulimit-n 10000"], (g) => expect(g.ulimitN).toBe(10000)],
    [["hard-stop-after 30s"], (g) => expect(g.hardStopAfter).toBe(30000)],
    [["master-worker"], (g) => expect(g.masterWorker).toBe(true)],
    [["master-worker no-exit-on-failure"], (g) => expect(g.masterWorker).toBe(true)],
    [["stats socket /run/h.sock expose-fd listeners"], (g) => expect(g.statsSockets[0].exposeFd).toBe(true)],
    [["stats socket /run/h.sock level admin"], (g) => expect(g.statsSockets[0].exposeFd).toBe(false)],
    [["stats timeout 1m"], (g) => expect(g.statsTimeout).toBe(60000)],
    [
      [],
      (g) =>
        expect(g).toEqual({
          maxconn: 0,
          daemon: false,
          masterWorker: false,
          nbproc: 1,
          logs: [],
          tuneBufsize: 16384,
          tuneMaxaccept: 0,
          tuneMaxrewrite: -1,
          tuneRecvEnough: 0,
          tuneReadLoops: 0,
          tuneMaxpollevents: 200,
          noepoll: false,
          nokqueue: false,
          nopoll: false,
          noreuseport: false,
          nosplice: false,
          ulimitN: 0,
          hardStopAfter: 0,
          statsSockets: [],
          statsTimeout: 10000,
          quiet: false,
        }),
    ],
    [
      ["stats socket /run/hapoll.sock level admin mode 660 uid 10 gid 20"],
      (g) => {
        expect(g.statsSockets).toHaveLength(1);
        expect(g.statsSockets[0]).toMatchObject({ level: "admin", mode: 0o660, uid: 10, gid: 20, file: "t.cfg", line: 2 });
        expect(g.statsSockets[0].addr).toMatchObject({ family: "unix", host: "/run/hapoll.sock" });
      },
    ],
    [
      ["stats socket ipv4@127.0.0.1:9999 user haproxy group haproxy", "stats socket /tmp/a,/tmp/b level user"],
      (g) => {
        expect(g.statsSockets.map((s) => [s.addr.host, s.level, s.mode, s.uid, s.gid])).toEqual([
          ["127.0.0.1", "operator", -1, -1, -1],
          ["/tmp/a", "user", -1, -1, -1],
          ["/tmp/b", "user", -1, -1, -1],
        ]);
        expect([g.statsSockets[0].user, g.statsSockets[0].group]).toEqual(["haproxy", "haproxy"]);
      },
    ],
    [
      ["log 127.0.0.1:5140 local0 info notice", "log /dev/log daemon", "log stdout format raw local0", "log stderr len 200 format rfc5424 user"],
      (g) => {
        expect(g.logs).toHaveLength(4);
        expect(g.logs[0]).toMatchObject({ kind: "udp", facility: "local0", level: "info", minLevel: "notice", format: "rfc3164", maxlen: 1024 });
        expect(g.logs[0].addr).toMatchObject({ family: "ipv4", host: "127.0.0.1", portLow: 5140 });
        expect(g.logs[1]).toMatchObject({ kind: "unix", facility: "daemon" });
        expect(g.logs[1].addr).toMatchObject({ family: "unix", host: "/dev/log" });
        expect(g.logs[1].level).toBeUndefined();
        expect(g.logs[2]).toEqual({ kind: "stdout", facility: "local0", format: "raw", maxlen: 1024 });
        expect(g.logs[3]).toEqual({ kind: "stderr", facility: "user", format: "rfc5424", maxlen: 200 });
      },
    ],
    [["log 10.0.0.1 local7"], (g) => expect(g.logs[0].addr).toMatchObject({ portLow: 514, portHigh: 514, hasPort: true })],
    [["log fd@2 local0"], (g) => expect(g.logs[0].kind).toBe("stderr")],
    [["log 10.0.0.1 local7", "no log", "log 10.0.0.2 local6"], (g) => expect(g.logs.map((l) => l.addr?.host)).toEqual(["10.0.0.2"])],
  ];
  for (const [lines, check] of cases) {
    it(`applies ${JSON.stringify(lines)}`, () => {
      const r = parse(cfg("global", ...lines));
      expect(r.diags.filter((d) => d.level === "alert")).toEqual([]);
      expect(r.fatal).toBe(false);
      check(r.config.global);
    });
  }

  it("warns about user, group, chroot and other unsupported 1.8 keywords", () => {
    const r = parse(cfg("global", "user haproxy", "group haproxy", "chroot /var/empty", "nbthread 4", "tune.rcvbuf.client 8192"));
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("t.cfg:2", "'user' is not supported by hapoll, ignored."),
      WARN("t.cfg:3", "'group' is not supported by hapoll, ignored."),
      WARN("t.cfg:4", "'chroot' is not supported by hapoll, ignored."),
      WARN("t.cfg:5", "'nbthread 4' is not supported by hapoll (one thread per process), ignored: use 'nbproc 4' to run on several cores."),
      WARN("t.cfg:6", "'tune.rcvbuf.client' is not supported by hapoll, ignored."),
    ]);
  });

  it("nbthread: 1 is accepted silently, more warns naming nbproc (out of 1..64: rejected below)", () => {
    expect(parse(cfg("global", "nbthread 1")).output).toEqual([]);
    const r = parse(cfg("global", "nbthread 2"));
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("t.cfg:2", "'nbthread 2' is not supported by hapoll (one thread per process), ignored: use 'nbproc 2' to run on several cores."),
    ]);
    expect(r.config.global.nbproc).toBe(1);
  });

  const errors: [string, string][] = [
    ["foo", "unknown keyword 'foo' in 'global' section"],
    ["daemon 1", "'daemon' cannot handle unexpected argument '1'."],
    ["maxconn", "'maxconn' expects an integer argument."],
    ["nbthread", "'nbthread' expects an integer argument."],
    ["nbthread 0", "'nbthread' must be between 1 and 64 (was 0)."],
    ["nbthread 65", "'nbthread' must be between 1 and 64 (was 65)."],
    ["maxconn 1 2", "'maxconn' cannot handle unexpected argument '2'."],
    ["nbproc 0", "'nbproc' must be between 1 and 64 (was 0)."],
    ["nbproc 65", "'nbproc' must be between 1 and 64 (was 65)."],
    ["pidfile", "'pidfile' expects a file name as an argument."],
    ["tune.bufsize 0", "'tune.bufsize' expects a positive integer argument."],
    ["tune.bufsize", "'tune.bufsize' expects an integer argument."],
    ["tune.maxpollevents", "'tune.maxpollevents' expects an integer argument."],
    ["ulimit-n", "'ulimit-n' expects an integer argument."],
    ["hard-stop-after", "'hard-stop-after' expects <time> as argument."],
    ["hard-stop-after 5q", "unexpected character 'q' in argument to <hard-stop-after>."],
    ["hard-stop-after 40d", "timer overflow in argument '40d' to 'hard-stop-after' (maximum value is 2147483647 ms or ~24.8 days)"],
    ["stats timeout 0", "'stats timeout' expects a positive value"],
    ["stats timeout 5x", "'stats timeout' : unexpected character 'x'"],
    ["stats socket", "'stats socket' in global section expects an address or a path to a UNIX socket"],
    ["stats socket ipv4@127.0.0.1", "parsing [t.cfg:2] : 'stats socket' : missing port number: 'ipv4@127.0.0.1'"],
    ["stats socket /tmp/s level root", "'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got 'root')'"],
    ["stats socket /tmp/s mode 9", "'stats socket' : ''mode' : missing or invalid mode '9' (octal integer expected)'"],
    ["stats socket /tmp/s bogus", "'stats socket' : unknown keyword 'bogus'."],
    ["stats socket /tmp/s expose-fd", "'stats socket' : ''expose-fd' : missing fd type'"],
    ["stats socket /tmp/s expose-fd servers", "'stats socket' : ''expose-fd' only supports 'listeners' (got 'servers')'"],
    ["master-worker always", "'master-worker' only supports 'exit-on-failure' option."],
    ["stats foo", "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got 'foo')"],
    ["log", "'log' expects <address> and <facility> as arguments."],
    ["log 127.0.0.1", "'log' expects <address> and <facility> as arguments."],
    ["log 127.0.0.1 local9", "unknown log facility 'local9'"],
    ["log 127.0.0.1 local0 loud", "unknown optional log level 'loud'"],
    ["log 127.0.0.1 local0 info loud", "unknown optional minimum log level 'loud'"],
    ["log 127.0.0.1 len 10 local0", "invalid log length '10', must be between 80 and 65535."],
    ["log 127.0.0.1 format json local0", "unknown log format 'json'"],
    ["log 127.0.0.1 local0 info err x", "'log 127.0.0.1' cannot handle unexpected argument 'x'."],
    ["log 127.0.0.1:514-515 local0", "'log' : port ranges and offsets are not allowed in '127.0.0.1:514-515'"],
    ["log bad/host local0", "'log': invalid address: 'bad/host' in 'bad/host'"],
    ["log fd@5 local0", "'log' : only fd@1 and fd@2 are supported by hapoll as log targets (got 'fd@5')."],
  ];
  for (const [line, msg] of errors) {
    it(`rejects ${JSON.stringify(line)}`, () => {
      const r = parse(cfg("global", line));
      expect(r.fatal).toBe(true);
      expect(r.output).toEqual([ALERT("t.cfg:2", msg), ERRORS_IN("t.cfg"), FATAL]);
    });
  }

  it("reports a repeated keyword as a non-fatal alert, keeping the first value", () => {
    const r = parse(cfg("global", "maxconn 100", "maxconn 200", "pidfile /a", "pidfile /b", "tune.maxaccept 1", "tune.maxaccept 2"));
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      ALERT("t.cfg:3", "'maxconn' already specified. Continuing."),
      ALERT("t.cfg:5", "'pidfile' already specified. Continuing."),
      ALERT("t.cfg:7", "'tune.maxaccept' already specified. Continuing."),
    ]);
    expect(r.config.global).toMatchObject({ maxconn: 100, pidfile: "/a", tuneMaxaccept: 1 });
  });

  it("uses C atol() for integers, like HAProxy 1.8", () => {
    expect(parse(cfg("global", "maxconn 4k")).config.global.maxconn).toBe(4);
  });
});

describe("proxy keywords", () => {
  it("parses bind lines and their options", () => {
    const r = parse(
      cfg(
        "frontend fe",
        "    timeout client 5s",
        "    default_backend be",
        "    bind 127.0.0.1:8001 accept-proxy name first backlog 100 maxconn 50",
        "    bind :8002-8004,[::1]:8005",
        "    bind /tmp/fe.sock mode 600 uid 1 gid 2 user u group g",
        "backend be",
      ),
    );
    expect(r.fatal).toBe(false);
    expect(r.diags).toEqual([]);
    const b = proxy(r, "fe").binds;
    expect(b).toHaveLength(4);
    expect(b[0]).toMatchObject({ acceptProxy: true, name: "first", backlog: 100, maxconn: 50, line: 4, raw: "127.0.0.1:8001" });
    expect(b[1]).toMatchObject({ acceptProxy: false, raw: ":8002-8004,[::1]:8005" });
    expect(b[1].addr).toMatchObject({ portLow: 8002, portHigh: 8004, raw: ":8002-8004" });
    expect(b[2].addr).toMatchObject({ family: "ipv6", host: "::1", portLow: 8005 });
    expect(b[3]).toMatchObject({ unixMode: 0o600, unixUid: 1, unixGid: 2, unixUser: "u", unixGroup: "g" });
    expect(b[0].name).toBe("first");
    expect(b[1].name).toBeUndefined();
  });

  it("parses server lines and every server option", () => {
    const r = parse(
      inListen(
        "    server a 10.0.0.1:3306 check inter 5s fastinter 1s downinter 10s rise 4 fall 5 weight 20 maxconn 30 maxqueue 40",
        "    server b 10.0.0.2:3306 backup disabled send-proxy send-proxy-v2 port 9000 addr 10.0.0.20 source 10.0.0.100:2000-3000",
        "    server c 10.0.0.3 check port 3306",
        "    server d 10.0.0.4:+1000",
        "    server e db.example.com:3306 id 7",
        "    server f unix@/tmp/db.sock check",
        "    server g 10.0.0.7:1 check no-check enabled no-backup no-send-proxy",
      ),
    );
    expect(r.diags).toEqual([]);
    const s = proxy(r, "app").servers;
    expect(s.map((x) => x.name)).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    expect(s[0]).toMatchObject({
      check: true, inter: 5000, fastinter: 1000, downinter: 10000, rise: 4, fall: 5, weight: 20, maxconn: 30, maxqueue: 40,
    });
    expect(s[1]).toMatchObject({ backup: true, disabled: true, sendProxy: true, sendProxyV2: true, checkPort: 9000 });
    expect(s[1].checkAddr).toMatchObject({ host: "10.0.0.20", hasPort: false });
    expect(s[1].source).toMatchObject({ host: "10.0.0.100", portLow: 2000, portHigh: 3000 });
    expect(s[2]).toMatchObject({ check: true, checkPort: 3306 });
    expect(s[2].addr.hasPort).toBe(false);
    expect(s[3].addr).toMatchObject({ portOffset: true, portLow: 1000 });
    expect(s[4].addr).toMatchObject({ needsResolve: true, host: "db.example.com" });
    expect(s[5].addr.family).toBe("unix");
    expect(s[6]).toMatchObject({ check: false, disabled: false, backup: false, sendProxy: false });
    expect(s.map((x) => x.id)).toEqual([1, 2, 3, 4, 7, 6, 8]);
  });

  it("applies default-server settings to the servers that follow", () => {
    const r = parse(
      inListen(
        "    server before 10.0.0.1:1",
        "    default-server inter 3s rise 5 check weight 9",
        "    server after 10.0.0.2:1",
        "    server override 10.0.0.3:1 rise 1 no-check",
      ),
    );
    expect(r.diags).toEqual([]);
    const s = proxy(r, "app").servers;
    expect(s[0]).toMatchObject({ inter: 2000, rise: 2, check: false, weight: 1 });
    expect(s[1]).toMatchObject({ inter: 3000, rise: 5, check: true, weight: 9 });
    expect(s[2]).toMatchObject({ inter: 3000, rise: 1, check: false });
  });

  const values: [string[], (p: ProxyConfig) => void][] = [
    [["    balance leastconn"], (p) => expect(p.balance).toBe("leastconn")],
    [["    balance static-rr"], (p) => expect(p.balance).toBe("static-rr")],
    [["    balance first"], (p) => expect(p.balance).toBe("first")],
    [["    balance source"], (p) => expect(p.balance).toBe("source")],
    [["    balance source", "    balance"], (p) => expect(p.balance).toBe("roundrobin")],
    [["    retries 7"], (p) => expect(p.retries).toBe(7)],
    [["    maxconn 500", "    fullconn 400", "    backlog 300"], (p) => expect([p.maxconn, p.fullconn, p.backlog]).toEqual([500, 400, 300])],
    [
      ["    timeout queue 1s", "    timeout tunnel 1h", "    timeout client-fin 2s", "    timeout server-fin 3s", "    timeout check 4s"],
      (p) => expect(p.timeouts).toMatchObject({ queue: 1000, tunnel: 3600000, clientFin: 2000, serverFin: 3000, check: 4000 }),
    ],
    [
      [
        "    option redispatch", "    option tcplog", "    option dontlognull", "    option clitcpka", "    option srvtcpka",
        "    option splice-auto", "    option splice-request", "    option splice-response", "    option abortonclose",
        "    option allbackups",
      ],
      (p) =>
        expect(p.options).toEqual({
          redispatch: true, tcplog: true, dontlognull: true, clitcpka: true, srvtcpka: true,
          spliceAuto: true, spliceRequest: true, spliceResponse: true, abortonclose: true, allbackups: true,
        }),
    ],
    [["    option allbackups", "    no option allbackups"], (p) => expect(p.options.allbackups).toBe(false)],
    [["    option tcpka"], (p) => expect([p.options.clitcpka, p.options.srvtcpka]).toEqual([true, true])],
    [["    option redispatch"], (p) => expect(p.redispatchAfter).toBe(-1)],
    [["    option redispatch 2"], (p) => expect(p.redispatchAfter).toBe(2)],
    [["    option redispatch", "    no option redispatch"], (p) => expect([p.options.redispatch, p.redispatchAfter]).toEqual([false, 0])],
    [["    option abortonclose", "    no option abortonclose"], (p) => expect(p.options.abortonclose).toBe(false)],
    [["    option dontlognull", "    default option dontlognull"], (p) => expect(p.options.dontlognull).toBe(false)],
    [["    description My  MySQL pool"], (p) => expect(p.description).toBe("My MySQL pool")],
    [["    id 42"], (p) => expect(p.id).toBe(42)],
    [["    disabled"], (p) => expect(p.disabled).toBe(true)],
    [["    disabled", "    enabled"], (p) => expect(p.disabled).toBe(false)],
    [["    mode tcp"], (p) => expect(p.mode).toBe("tcp")],
  ];
  for (const [lines, check] of values) {
    it(`applies ${JSON.stringify(lines.map((l) => l.trim()))}`, () => {
      const r = parse(inListen(...lines, "    server s 127.0.0.1:1"));
      expect(r.diags).toEqual([]);
      check(proxy(r, "app"));
    });
  }

  it("keeps unconditional use_backend rules in order and default_backend", () => {
    const r = parse(
      cfg(
        "defaults",
        "  timeout client 1s",
        "  timeout connect 1s",
        "  timeout server 1s",
        "frontend fe",
        "  bind :80",
        "  use_backend b1",
        "  use_backend b2",
        "  default_backend b3",
        "backend b1",
        "backend b2",
        "backend b3",
      ),
    );
    expect(r.diags).toEqual([]);
    const fe = proxy(r, "fe");
    expect(fe.useBackends).toEqual([
      { name: "b1", file: "t.cfg", line: 7 },
      { name: "b2", file: "t.cfg", line: 8 },
    ]);
    expect(fe.defaultBackend).toBe("b3");
    expect(r.config.proxies.map((p) => [p.name, p.cap, p.id])).toEqual([
      ["fe", { fe: true, be: false }, 1],
      ["b1", { fe: false, be: true }, 2],
      ["b2", { fe: false, be: true }, 3],
      ["b3", { fe: false, be: true }, 4],
    ]);
  });

  it("resolves `log global` to a copy of the global logs, in place", () => {
    const r = parse(
      inListen("    log 10.0.0.9 local1", "    log global", "    server s 127.0.0.1:1") +
        cfg("global", "    log 10.0.0.1 local0", "    log stdout local2"),
    );
    expect(r.diags).toEqual([]);
    const p = proxy(r, "app");
    expect(p.logGlobal).toBe(true);
    expect(p.logs.map((l) => l.addr?.host ?? l.kind)).toEqual(["10.0.0.9", "10.0.0.1", "stdout"]);
    expect(p.logs[1]).not.toBe(r.config.global.logs[0]);
  });

  it("`no log` drops inherited and earlier log lines", () => {
    const r = parse(
      cfg("global", "  log 10.0.0.1 local0", "defaults", "  log global", "  timeout client 1s", "listen a", "  bind :1", "  no log"),
    );
    expect(r.diags).toEqual([]);
    expect(proxy(r, "a")).toMatchObject({ logs: [], logGlobal: false });
  });

  it("accepts known but unsupported 1.8 keywords and options with a warning", () => {
    const r = parse(
      inListen(
        "    hash-type consistent",
        "    option nolinger",
        "    no option nolinger",
        "    option httpchk GET /",
        "    option httpclose",
        "    timeout tarpit 5s",
        "    bind :8001 nice 10",
        "    server s 127.0.0.1:1 slowstart 10s check",
      ),
    );
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("t.cfg:8", "'hash-type' is not supported by hapoll, ignored."),
      WARN("t.cfg:9", "option 'nolinger' is not supported by hapoll, ignored."),
      WARN("t.cfg:11", "option 'httpchk' is not supported by hapoll, ignored."),
      WARN("t.cfg:12", "option 'httpclose' is not supported by hapoll, ignored."),
      WARN("t.cfg:13", "'timeout tarpit' is not supported by hapoll, ignored."),
      WARN("t.cfg:14", "'bind :8001' : 'nice' is not supported by hapoll, ignored."),
      WARN("t.cfg:15", "'server s' : 'slowstart' is not supported by hapoll, ignored."),
    ]);
    expect(proxy(r, "app").servers[0].check).toBe(true);
  });

  it("warns for keywords used where the proxy lacks the capability, like warnifnotcap()", () => {
    const r = parse(
      cfg(
        "defaults",
        "  timeout client 1s",
        "  timeout connect 1s",
        "  timeout server 1s",
        "frontend fe",
        "  bind :80",
        "  default_backend be",
        "  timeout server 5s",
        "  option srvtcpka",
        "  retries 5",
        "  balance leastconn",
        "  fullconn 10",
        "backend be",
        "  bind :81",
        "  option clitcpka",
        "  maxconn 10",
        "  backlog 10",
        "  default_backend x",
        "  use_backend y",
      ),
    );
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("t.cfg:8", "'timeout server' will be ignored because frontend 'fe' has no backend capability"),
      WARN("t.cfg:9", "'srvtcpka' ignored because frontend 'fe' has no backend capability."),
      WARN("t.cfg:10", "'retries' ignored because frontend 'fe' has no backend capability."),
      WARN("t.cfg:11", "'balance' ignored because frontend 'fe' has no backend capability."),
      WARN("t.cfg:12", "'fullconn' ignored because frontend 'fe' has no backend capability. Maybe you want 'maxconn' instead ?"),
      WARN("t.cfg:14", "'bind' ignored because backend 'be' has no frontend capability."),
      WARN("t.cfg:15", "'clitcpka' ignored because backend 'be' has no frontend capability."),
      WARN("t.cfg:16", "'maxconn' ignored because backend 'be' has no frontend capability. Maybe you want 'fullconn' instead ?"),
      WARN("t.cfg:17", "'backlog' ignored because backend 'be' has no frontend capability."),
      WARN("t.cfg:18", "'default_backend' ignored because backend 'be' has no frontend capability."),
      WARN("t.cfg:19", "'use_backend' ignored because backend 'be' has no frontend capability."),
    ]);
    expect(proxy(r, "be").binds).toEqual([]);
    expect(proxy(r, "fe").options.srvtcpka).toBe(false);
  });

  it("refuses a server in a frontend: 1.8 prints a warning but the configuration is fatal", () => {
    const r = parse(cfg("frontend fe", "  bind :80", "  server s 127.0.0.1:1"));
    expect(r.fatal).toBe(true);
    expect(r.output).toEqual([
      WARN("t.cfg:3", "'server' ignored because frontend 'fe' has no backend capability."),
      ERRORS_IN("t.cfg"),
      FATAL,
    ]);
  });

  const errors: [string, string][] = [
    ["bogus 1", "unknown keyword 'bogus' in 'listen' section"],
    ["mode http", "'mode http' is not supported: hapoll only supports 'mode tcp'."],
    ["mode health", "'mode health' is not supported: hapoll only supports 'mode tcp'."],
    ["mode udp", "unknown proxy mode 'udp'."],
    ["mode tcp x", "'mode' cannot handle unexpected argument 'x'."],
    ["bind", "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments."],
    ["bind 1.2.3.4", "'bind' : missing port number: '1.2.3.4'"],
    ["bind :70000", "'bind' : invalid port '70000' specified for address ':70000'."],
    ["bind :+5", "'bind' : port offsets are not allowed in 'bind': ':+5'"],
    ["bind :80,,:81", "'bind' : '' resolves to an empty address (environment variable missing?)"],
    ["bind :80 bogus", "'bind :80' unknown keyword 'bogus'."],
    ["bind :80 backlog", "'bind :80' : 'backlog' : missing value"],
    ["bind :80 backlog 0", "'bind :80' : 'backlog' : invalid value 0, must be > 0"],
    ["bind :80 maxconn -1", "'bind :80' : 'maxconn' : invalid value -1, must be > 0"],
    ["bind :80 name", "'bind :80' : 'name' : missing name"],
    ["bind /tmp/x mode abc", "'bind /tmp/x' : 'mode' : missing or invalid mode 'abc' (octal integer expected)"],
    ["server", "'server' expects <name> and <addr>[:<port>] as arguments."],
    ["server s", "'server' expects <name> and <addr>[:<port>] as arguments."],
    ["server a/b 1.2.3.4:1", "character '/' is not permitted in server name 'a/b'."],
    ["server s bad/host:1", "'server s' : invalid address: 'bad/host' in 'bad/host:1'"],
    ["server s 1.2.3.4:80-90", "'server s' : port ranges are not allowed in '1.2.3.4:80-90'"],
    ["server s fd@3", "'server s' : connect() not supported for this address family."],
    ["server s 1.2.3.4:1 bogus", "'server s' unknown keyword 'bogus'."],
    ["server s 1.2.3.4:1 weight 257", "weight of server s is not within 0 and 256 (257)."],
    ["server s 1.2.3.4:1 weight -1", "weight of server s is not within 0 and 256 (-1)."],
    ["server s 1.2.3.4:1 inter 5x", "unexpected character 'x' in 'inter' argument of server s."],
    ["server s 1.2.3.4:1 port 70000", "invalid port '70000' for argument 'port' of server s."],
    ["server s 1.2.3.4:1 addr", "'server s' : 'addr' expects <ipv4|ipv6> as argument."],
    ["server s 1.2.3.4:1 addr 1.1.1.1:5-6", "'server s' : 'addr' : port ranges and offsets are not allowed in '1.1.1.1:5-6'"],
    ["server s 1.2.3.4:1 source", "'server s' : 'source' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument."],
    ["server s 1.2.3.4:1 source 1.1.1.1:+5", "'server s' : 'source' does not support port offsets (found '1.1.1.1:+5')."],
    ["server s 1.2.3.4:1 source 1.1.1.1 usesrc client", "'server s' : 'usesrc' is refused by hapoll: it has no transparent proxying (TPROXY)."],
    ["server s 1.2.3.4:1 usesrc client", "'usesrc' only allowed after a 'source' statement."],
    ["server s 1.2.3.4:1 id 0", "'server s' : 'id' : custom id has to be > 0"],
    ["server s 1.2.3.4:1 id", "'server s' : 'id' : expects an integer argument"],
    ["timeout", "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '')"],
    ["timeout foo 5s", "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got 'foo')"],
    ["timeout queue", "'timeout queue' expects an integer value (in milliseconds)"],
    ["timeout queue 5z", "unexpected character 'z' in 'timeout queue'"],
    ["timeout queue 5s 6s", "'timeout queue' : unexpected extra argument '6s' after value '5s'."],
    ["timeout tunnel 25d", "timer overflow in argument '25d' to 'timeout tunnel' (maximum value is 2147483647 ms or ~24.8 days)"],
    ["retries", "'retries' expects an integer argument (dispatch counts for one)."],
    ["maxconn", "'maxconn' expects an integer argument."],
    ["maxconn 1 2", "'maxconn' cannot handle unexpected argument '2'."],
    ["balance uri", "balance 'uri' is not supported by hapoll."],
    ["balance random", "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options."],
    ["default_backend", "'default_backend' expects a backend name."],
    ["use_backend", "'use_backend' expects a backend name."],
    ["use_backend b if foo", "error detected while parsing switching rule : no such ACL : 'foo'."],
    ["use_backend b unless { bar }", "error detected while parsing switching rule : unknown fetch method 'bar' in ACL expression 'bar'."],
    ["use_backend b foo", "unexpected keyword 'foo' after switching rule, only 'if' and 'unless' are allowed."],
    ["option foo", "unknown option 'foo'."],
    ["option clitcpka x", "'option clitcpka' cannot handle unexpected argument 'x'."],
    ["log", "'log' expects either <address[:port]> and <facility> or 'global' as arguments."],
    ["log 1.1.1.1 local99", "unknown log facility 'local99'"],
    ["disabled now", "'disabled' cannot handle unexpected argument 'now'."],
    ["acl a src 1.2.3.4.5", "error detected while parsing ACL 'a' : '1.2.3.4.5' is not a valid IPv4 or IPv6 address."],
    ["tcp-request content foo", "'tcp-request content' expects 'accept', 'reject', 'track-sc0' ... 'track-sc2', in proxy 'app' (got 'foo')."],
  ];
  for (const [line, msg] of errors) {
    it(`rejects ${JSON.stringify(line)}`, () => {
      const r = parse(inListen(`    ${line}`, "    server ok 127.0.0.1:1"));
      expect(r.fatal).toBe(true);
      expect(r.output).toEqual([ALERT("t.cfg:8", msg), ERRORS_IN("t.cfg"), FATAL]);
    });
  }

  const tightErrors: [string, string][] = [
    ["option", "'option' expects an option name."],
    ["no option tcplog", "negation/default is not supported for option 'tcplog'."],
    ["no option tcpka", "negation/default is not supported for option 'tcpka'."],
    ["server s 1.2.3.4:1 rise 0", "'rise' has to be > 0."],
    ["server s 1.2.3.4:1 fall", "'fall' expects an integer argument."],
    ["server s 1.2.3.4:1 inter 0", "invalid value 0 for argument 'inter' of server s."],
    ["server s 1.2.3.4:1 fastinter 1q", "unexpected character 'q' in 'fastinter' argument of server s."],
    ["description", "'description' expects a string argument."],
    ["id", "'id' expects an integer argument."],
    ["id -3", "custom id has to be > 0."],
    ["no bind :81", "negation/default currently supported only for options and log."],
  ];
  for (const [line, msg] of tightErrors) {
    it(`rejects ${JSON.stringify(line)} (1.8's "parsing [f:l]: " form)`, () => {
      const r = parse(inListen(`    ${line}`, "    server ok 127.0.0.1:1"));
      expect(r.fatal).toBe(true);
      expect(r.output[0]).toBe(`[ALERT]    (${PID}) : config : parsing [t.cfg:8]: ${msg}`);
      expect(r.output.slice(-2)).toEqual([ERRORS_IN("t.cfg"), FATAL]);
    });
  }

  it("rejects a checked server without any port, aborting like 1.8 (ERR_ABORT)", () => {
    const r = parseConfigFiles(
      [
        { name: "a.cfg", text: inListen("    server s 10.0.0.1 check") },
        { name: "b.cfg", text: cfg("global", "    bogus") },
      ],
      { pid: PID },
    );
    expect(r.fatal).toBe(true);
    expect(r.output).toEqual([
      ALERT("a.cfg:8", "server s has neither service port nor check port. Check has been disabled."),
      ERRORS_IN("a.cfg"),
    ]);
  });

  it("a port offset is no check port (1.8's SRV_F_MAPPORTS); a check address with a port is", () => {
    const off = parseConfigFiles([{ name: "a.cfg", text: inListen("    server s 10.0.0.1:+1 check") }], { pid: PID });
    expect(off.fatal).toBe(true);
    expect(off.output[0]).toBe(ALERT("a.cfg:8", "server s has neither service port nor check port. Check has been disabled."));
    for (const line of ["    server s 10.0.0.1:+1 check port 80", "    server s 10.0.0.1 check addr 10.0.0.2:81"]) {
      const ok = parseConfigFiles([{ name: "a.cfg", text: inListen(line) }], { pid: PID });
      expect(ok.fatal, line).toBe(false);
    }
  });

  it("aborts on a proxy without a name", () => {
    const r = parse(cfg("listen", "    bind :1", "global", "    bogus"));
    expect(r.output).toEqual([
      ALERT("t.cfg:1", "'listen' expects an <id> argument and\n  optionally supports [addr1]:port1[-end1]{,[addr]:port[-end]}..."),
      ERRORS_IN("t.cfg"),
    ]);
  });

  it("rejects keywords that are not allowed in defaults", () => {
    const r = parse(
      cfg("defaults", "  bind :80", "  server s 1.2.3.4:1", "  use_backend x", "  id 3", "  description x", "  default-server inter 1s"),
    );
    expect(r.output).toEqual([
      ALERT("t.cfg:2", "'bind' not allowed in 'defaults' section."),
      ALERT("t.cfg:3", "'server' not allowed in 'defaults' section."),
      ALERT("t.cfg:4", "'use_backend' not allowed in 'defaults' section."),
      `[ALERT]    (${PID}) : config : parsing [t.cfg:5]: 'id' not allowed in 'defaults' section.`,
      `[ALERT]    (${PID}) : config : parsing [t.cfg:6]: 'description' not allowed in 'defaults' section.`,
      ERRORS_IN("t.cfg"),
      FATAL,
    ]);
  });

  it("rejects bad and duplicate proxy names and ids", () => {
    const r = parse(
      cfg(
        "listen a/b",
        "  bind :1",
        "listen x",
        "  id 5",
        "  bind :2",
        "frontend x",
        "  id 5",
        "  bind :3",
        "backend x",
        "backend y",
        "  server a 1.1.1.1:1 id 3",
        "  server b 1.1.1.1:1 id 3",
      ),
    );
    expect(r.output).toEqual([
      ALERT("t.cfg:1", "character '/' is not permitted in 'listen' name 'a/b'."),
      `[ALERT]    (${PID}) : config : Parsing [t.cfg:6]: frontend 'x' has the same name as proxy 'x' declared at t.cfg:3.`,
      `[ALERT]    (${PID}) : config : parsing [t.cfg:7]: frontend x reuses same custom id as proxy x (declared at t.cfg:3).`,
      `[ALERT]    (${PID}) : config : Parsing [t.cfg:9]: backend 'x' has the same name as proxy 'x' declared at t.cfg:3.`,
      ALERT("t.cfg:12", "'server b' : 'id' : custom id 3 already used at t.cfg:11 ('server a')"),
      ERRORS_IN("t.cfg"),
      FATAL,
    ]);
  });

  it("allows a frontend and a backend with the same name", () => {
    const r = parse(
      cfg("defaults", "  timeout client 1s", "frontend web", "  bind :80", "  default_backend web", "backend web"),
    );
    expect(r.fatal).toBe(false);
    expect(r.diags).toEqual([]);
  });

  it("accepts `option tcplog` twice in defaults with 1.8's override warning", () => {
    const r = parse(cfg("defaults", "  option tcplog", "  option tcplog"));
    expect(r.output).toEqual([
      `[WARNING]  (${PID}) : config : parsing [t.cfg:3]: 'option tcplog' overrides previous 'option tcplog' in 'defaults' section.`,
    ]);
  });

  it("warns when a timeout overrides one the proxy already set", () => {
    const r = parse(inListen("    timeout client 10s", "    timeout client 20s", "    server s 127.0.0.1:1"));
    expect(r.output).toEqual([WARN("t.cfg:9", "overwriting 'timeout client' which was already specified")]);
    expect(proxy(r, "app").timeouts.client).toBe(20000);
  });

  it("accepts the deprecated `redispatch` keyword with its 1.8 warning", () => {
    const r = parse(inListen("    redispatch", "    server s 127.0.0.1:1"));
    expect(r.output).toEqual([
      `[WARNING]  (${PID}) : config : parsing [t.cfg:8]: keyword 'redispatch' is deprecated in favor of 'option redispatch', and will not be supported by future versions.`,
    ]);
    expect(proxy(r, "app").options.redispatch).toBe(true);
  });

  it("reports an unknown keyword before any section", () => {
    const r = parse(cfg("maxconn 10", "global"));
    expect(r.output).toEqual([
      `[ALERT]    (${PID}) : config : parsing [t.cfg:1]: unknown keyword 'maxconn' out of section.`,
      ERRORS_IN("t.cfg"),
      FATAL,
    ]);
  });

  it("ignores unsupported sections and their content with a warning", () => {
    const r = parse(cfg("userlist admins", "  user admin password x", "peers p", "  peer a 1.1.1.1:1", "global", "  daemon"));
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      WARN("t.cfg:1", "section 'userlist' is not supported by hapoll, ignored."),
      WARN("t.cfg:3", "section 'peers' is not supported by hapoll, ignored."),
    ]);
    expect(r.config.global.daemon).toBe(true);
  });

  it("accepts [scope] lines and rejects bad ones", () => {
    expect(parse(cfg("[one]", "global", "[two] # c", "  daemon")).diags).toEqual([]);
    expect(parse(cfg("[]", "global")).output[0]).toBe(ALERT("t.cfg:1", "empty scope name is forbidden."));
    expect(parse(cfg("[a b]", "global")).output).toEqual([
      ALERT("t.cfg:1", "character ' ' is not permitted in a scope name."),
      ERRORS_IN("t.cfg"),
    ]);
  });
});

describe("defaults inheritance", () => {
  const DEF = cfg(
    "defaults",
    "  mode tcp",
    "  balance leastconn",
    "  retries 5",
    "  maxconn 1000",
    "  backlog 100",
    "  fullconn 900",
    "  timeout connect 1s",
    "  timeout client 2s",
    "  timeout server 3s",
    "  timeout queue 4s",
    "  timeout tunnel 5s",
    "  timeout client-fin 6s",
    "  timeout server-fin 7s",
    "  timeout check 8s",
    "  option redispatch",
    "  option dontlognull",
    "  option tcplog",
    "  default_backend be",
    "  log 10.0.0.1 local0",
    "  default-server inter 9s fall 9",
  );

  it("copies everything into a listen section", () => {
    const r = parse(DEF + cfg("listen li", "  bind :1", "  server s 1.1.1.1:1", "backend be"));
    expect(r.output).toEqual([
      BARE_WARN("In proxy 'li', the 'default_backend' rule always has precedence over the servers, which will never be used."),
    ]);
    const p = proxy(r, "li");
    expect(p).toMatchObject({
      balance: "leastconn",
      retries: 5,
      maxconn: 1000,
      backlog: 100,
      fullconn: 900,
      defaultBackend: "be",
      redispatchAfter: -1,
      timeouts: { connect: 1000, client: 2000, server: 3000, queue: 4000, tunnel: 5000, clientFin: 6000, serverFin: 7000, check: 8000 },
      options: { redispatch: true, dontlognull: true, tcplog: true },
    });
    expect(p.logs.map((l) => l.addr?.host)).toEqual(["10.0.0.1"]);
    expect(p.servers[0]).toMatchObject({ inter: 9000, fall: 9 });
  });

  it("copies only frontend settings into a frontend and backend settings into a backend", () => {
    const r = parse(DEF + cfg("frontend fe", "  bind :1", "backend be", "  server s 1.1.1.1:1"));
    expect(r.diags).toEqual([]);
    expect(proxy(r, "fe")).toMatchObject({
      maxconn: 1000,
      backlog: 100,
      defaultBackend: "be",
      fullconn: 0,
      retries: 3,
      balance: "roundrobin",
      timeouts: { client: 2000, clientFin: 6000, connect: 0, server: 0, queue: 0, tunnel: 0, serverFin: 0, check: 0 },
    });
    expect(proxy(r, "be")).toMatchObject({
      maxconn: 0,
      backlog: 0,
      fullconn: 900,
      retries: 5,
      balance: "leastconn",
      timeouts: { client: 0, clientFin: 0, connect: 1000, server: 3000, queue: 4000, tunnel: 5000, serverFin: 7000, check: 8000 },
    });
    expect(proxy(r, "be").defaultBackend).toBeUndefined();
  });

  it("starts over at each new defaults section", () => {
    const r = parse(
      DEF + cfg("backend b1", "  server s 1.1.1.1:1", "defaults", "  timeout client 1s", "backend be", "  server s 1.1.1.1:1"),
    );
    expect(proxy(r, "b1").retries).toBe(5);
    const be = proxy(r, "be");
    expect(be).toMatchObject({ retries: 3, balance: "roundrobin", timeouts: { connect: 0, server: 0 }, options: { redispatch: false } });
    expect(be.logs).toEqual([]);
    expect(be.servers[0]).toMatchObject({ inter: 2000, fall: 3 });
  });

  it("carries `disabled` from defaults, and `enabled` reverts it", () => {
    const r = parse(cfg("defaults", "  disabled", "backend a", "backend b", "  enabled"));
    expect(r.config.proxies.map((p) => p.disabled)).toEqual([true, false]);
  });

  it("applies across files, in order", () => {
    const r = parseConfigFiles(
      [
        { name: "1.cfg", text: cfg("defaults", "  retries 9") },
        { name: "2.cfg", text: cfg("backend be") },
      ],
      { pid: PID },
    );
    expect(proxy(r, "be").retries).toBe(9);
  });

  it("does not inherit from defaults declared later", () => {
    const r = parse(cfg("backend be", "defaults", "  retries 9"));
    expect(proxy(r, "be").retries).toBe(3);
  });
});

describe("multiple files and error reporting", () => {
  it("reports every error of every file, with a summary line per failing file", () => {
    const r = parseConfigFiles(
      [
        { name: "a.cfg", text: cfg("global", "  bogus1", "  maxconn", "  bogus2") },
        { name: "ok.cfg", text: cfg("global", "  daemon") },
        { name: "b.cfg", text: cfg("defaults", "  bogus3", "  timeout client 1x") },
      ],
      { pid: PID },
    );
    expect(r.fatal).toBe(true);
    expect(r.output).toEqual([
      ALERT("a.cfg:2", "unknown keyword 'bogus1' in 'global' section"),
      ALERT("a.cfg:3", "'maxconn' expects an integer argument."),
      ALERT("a.cfg:4", "unknown keyword 'bogus2' in 'global' section"),
      ERRORS_IN("a.cfg"),
      ALERT("b.cfg:2", "unknown keyword 'bogus3' in 'defaults' section"),
      ALERT("b.cfg:3", "unexpected character 'x' in 'timeout client'"),
      ERRORS_IN("b.cfg"),
      FATAL,
    ]);
    expect(r.diags[3]).toEqual({ level: "alert", file: "a.cfg", msg: "Error(s) found in configuration file : a.cfg", form: DIAG_FORM_BARE });
  });

  it("restarts sections per file but keeps the current proxy", () => {
    const r = parseConfigFiles(
      [
        { name: "a.cfg", text: cfg("listen a", "  bind :1") },
        { name: "b.cfg", text: cfg("  server s 1.1.1.1:1") },
      ],
      { pid: PID },
    );
    expect(r.output[0]).toBe(`[ALERT]    (${PID}) : config : parsing [b.cfg:1]: unknown keyword 'server' out of section.`);
  });

  it("reports many problems of one section, not only the first", () => {
    const r = parse(
      inListen("    bind 1.1.1.1", "    server s 1.1.1.1:1 weight 999", "    balance nope", "    option nope", "    retries"),
    );
    expect(r.diags.filter((d) => d.level === "alert")).toHaveLength(7);
  });

  it("returns no diagnostics and an empty model for no file", () => {
    const r = parseConfigFiles([]);
    expect(r).toMatchObject({ diags: [], fatal: false, output: [] });
    expect(r.config.proxies).toEqual([]);
  });

  it("never throws on garbage", () => {
    const garbage = ["\u0000\u0001", "listen", "backend \\", 'server "', "frontend x\n  bind [", "defaults a b c", "option", "no", "default"];
    for (const g of garbage) {
      expect(() => parse(g)).not.toThrow();
    }
  });
});

describe("post-parse checks (check_config_validity)", () => {
  it("reports missing backends, loops, and missing binds in HAProxy's order", () => {
    const r = parse(
      cfg(
        "defaults",
        "  mode tcp",
        "frontend fe",
        "  default_backend nope",
        "  use_backend nope2",
        "frontend fe2",
        "  bind :4444",
        "  timeout client 5s",
        "  default_backend be",
        "backend be",
        "  server s1 127.0.0.1:80",
        "listen li",
        "  bind :4445",
        "  server s1 127.0.0.1:80",
        "  use_backend li",
        "backend li2",
        "  server s 127.0.0.1",
      ),
    );
    const TMO = (what: string) =>
      BARE_WARN(
        `missing timeouts for ${what}.\n` +
          "   | While not properly invalid, you will certainly encounter various problems\n" +
          "   | with such a configuration. To fix this, please ensure that all following\n" +
          "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
      );
    expect(r.fatal).toBe(true);
    expect(r.output).toEqual([
      BARE_WARN("frontend 'fe' has no 'bind' directive. Please declare it as a backend if this was intended."),
      BARE_ALERT("Proxy 'fe': unable to find required default_backend: 'nope'."),
      BARE_ALERT("Proxy 'fe': unable to find required use_backend: 'nope2'."),
      TMO("frontend 'fe'"),
      TMO("backend 'be'"),
      BARE_ALERT("Proxy 'li': loop detected for use_backend: 'li'."),
      TMO("proxy 'li'"),
      TMO("backend 'li2'"),
      FATAL,
    ]);
    const tmo = r.diags.find((d) => d.msg.startsWith("missing timeouts for frontend"));
    expect(tmo).toMatchObject({ level: "warning", file: "t.cfg", line: 3, form: DIAG_FORM_BARE });
  });

  it("finds backends by #id and warns when a default_backend hides servers", () => {
    const r = parse(
      cfg(
        "defaults",
        "  timeout client 1s",
        "  timeout connect 1s",
        "  timeout server 1s",
        "listen li",
        "  bind :1",
        "  default_backend \\#7", /* '#' starts a comment unless escaped */
        "  server s 1.1.1.1:1",
        "backend be",
        "  id 7",
      ),
    );
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      BARE_WARN("In proxy 'li', the 'default_backend' rule always has precedence over the servers, which will never be used."),
    ]);
  });

  it("accepts a listen without servers and without timeouts: it is valid (503 at runtime)", () => {
    const r = parse(cfg("listen li", "  bind :1", "  timeout client 1s"));
    expect(r.fatal).toBe(false);
    expect(r.diags).toEqual([]);
    const r2 = parse(cfg("listen li", "  bind :1", "  server s 1.1.1.1:1"));
    expect(r2.fatal).toBe(false);
    expect(r2.diags.map((d) => d.level)).toEqual(["warning"]);
  });

  it("accepts timeout tunnel in place of timeout server", () => {
    const r = parse(cfg("backend be", "  timeout connect 1s", "  timeout tunnel 1h", "  server s 1.1.1.1:1"));
    expect(r.diags).toEqual([]);
  });

  it("warns about a frontend that has no backend at all (hapoll addition)", () => {
    const r = parse(cfg("frontend fe", "  bind :1", "  timeout client 1s"));
    expect(r.fatal).toBe(false);
    expect(r.output).toEqual([
      BARE_WARN("frontend 'fe' has neither 'default_backend' nor 'use_backend': every connection it accepts will be closed."),
    ]);
  });

  it("warns about duplicate server names without explicit ids", () => {
    const r = parse(inListen("    server s 1.1.1.1:1", "    server s 1.1.1.1:2", "    server t 1.1.1.1:3 id 9", "    server t 1.1.1.1:4 id 10"));
    expect(r.output).toEqual([WARN("t.cfg:9", "proxy 'app', another server named 's' was defined without an explicit ID at line 8, this is not recommended.")]);
  });

  it("skips disabled proxies, like 1.8", () => {
    const r = parse(cfg("frontend fe", "  disabled", "  default_backend nope"));
    expect(r.fatal).toBe(false);
    expect(r.diags).toEqual([]);
  });

  it("does not run the checks when parsing already failed", () => {
    const r = parse(cfg("frontend fe", "  bogus"));
    expect(r.output).toEqual([ALERT("t.cfg:2", "unknown keyword 'bogus' in 'frontend' section"), ERRORS_IN("t.cfg"), FATAL]);
  });

  it("assigns proxy and server ids like get_next_id()", () => {
    const r = parse(
      cfg(
        "backend a",
        "  id 2",
        "backend b",
        "backend c",
        "backend d",
        "  server s1 1.1.1.1:1 id 1",
        "  server s2 1.1.1.1:1",
        "  server s3 1.1.1.1:1 id 3",
        "  server s4 1.1.1.1:1",
      ),
    );
    expect(r.config.proxies.map((p) => p.id)).toEqual([2, 3, 4, 5]);
    expect(r.config.proxies[3].servers.map((s: ServerConfig) => s.id)).toEqual([1, 2, 3, 4]);
  });
});

const HAPROXY = programPath("haproxy");
const hasHaproxy = HAPROXY !== null && spawnSync(HAPROXY, ["-v"]).status === 0;
const noHaproxy = skipBecause(!hasHaproxy, "cfgparse.test.ts: the `haproxy -c` comparisons need Debian's haproxy (apt-get install haproxy)");

describe("same text as a real HAProxy 2.x for messages 1.8 and 2.x share", () => {
  /** Runs `haproxy -c` (check only: it never binds) and keeps the config lines, pid normalized. */
  function haproxyCheck(files: { name: string; text: string }[]): string[] {
    const dir = mkdtempSync(join(tmpdir(), "hapoll-cfg-"));
    try {
      const args = ["-c"];
      for (const f of files) {
        writeFileSync(join(dir, f.name), f.text);
        args.push("-f", f.name);
      }
      const res = spawnSync(HAPROXY!, args, { cwd: dir, encoding: "utf8" });
      return (res.stdout + res.stderr)
        .split(/\n(?=\[)/)
        .map((l) => l.replace(/\n$/, ""))
        .filter((l) => l.includes(" : config : "))
        .map((l) => l.replace(/\(\d+\)/, `(${PID})`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const configs: [string, { name: string; text: string }[]][] = [
    [
      "parse errors and capability warnings",
      [
        {
          name: "t1.cfg",
          text: cfg(
            "global",
            "    maxconn 4096",
            "    foo bar",
            "    maxconn 10",
            "defaults",
            "    mode tcp",
            "    timeout client 1x",
            "frontend fe",
            "    bind :3307",
            "    bogus 1",
            "backend be",
            "    bind :81",
            "    timeout client 5s",
            "    option clitcpka",
            "    option foo",
          ),
        },
      ],
    ],
    [
      "errors in two files",
      [
        { name: "a.cfg", text: cfg("global", "    bogus") },
        { name: "b.cfg", text: cfg("defaults", "    mode tcp", "frontend fe", "    bogus2") },
      ],
    ],
    [
      "post-parse checks",
      [
        {
          name: "c.cfg",
          text: cfg(
            "defaults",
            "    mode tcp",
            "frontend fe",
            "    default_backend nope",
            "    use_backend nope2",
            "frontend fe2",
            "    bind :4444",
            "    timeout client 5s",
            "    default_backend be",
            "backend be",
            "    server s1 127.0.0.1:80",
            "listen li",
            "    bind :4445",
            "    server s1 127.0.0.1:80",
          ),
        },
      ],
    ],
    ["duplicate proxy", [{ name: "d.cfg", text: cfg("listen li", "    bind :1", "listen li", "    bind :2") }]],
  ];

  for (const [what, files] of configs) {
    it.skipIf(noHaproxy)(`prints what haproxy -c prints: ${what}`, () => {
      const ours = parseConfigFiles(files, { pid: PID }).output;
      expect(ours).toEqual(haproxyCheck(files));
    });
  }
});
