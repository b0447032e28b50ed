import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { buildAclCond, parseAcl, sampleParseExpr, type Acl, type AclCtx } from "../../src/config/acl";
import { newPatternExpr, parseIpv6, patParse, patternMatch, newSample, PAT_MATCH_INT, PAT_MATCH_IP, SMP_T_IPV4, SMP_T_STR } from "../../src/config/pattern";
import { parseConfigFiles } from "../../src/config/cfgparse";
import { aclExecCond, bindCond, condPasses, SmpCtx, SMP_OPT_FINAL, ACL_TEST_MISS, ACL_TEST_PASS, ACL_TEST_FAIL } from "../../src/proxy/sample";
import { Channel } from "../../src/proxy/channel";
import { Proxy } from "../../src/proxy/proxy";
import { clientHello } from "../fixtures/tls-hello";

function actx(): AclCtx {
  return { file: "t.cfg", line: 1, usedIds: new Set(), warnings: [] };
}

function sockaddr4(ip: string, port: number): Buffer {
  const b = Buffer.alloc(128);
  if (process.platform === "linux") b.writeUInt16LE(2, 0);
  else { b[0] = 16; b[1] = 2; }
  b.writeUInt16BE(port, 2);
  ip.split(".").forEach((x, i) => (b[4 + i] = Number(x)));
  return b;
}

const PX = new Proxy({ name: "fe", cap: { fe: true, be: true } } as never, 1);

/** Evaluates condition text against a client address and request bytes. */
function evalCond(text: string, opts: { src?: string; data?: Buffer; final?: boolean; acls?: Map<string, Acl> } = {}): number {
  const acls = opts.acls ?? new Map<string, Acl>();
  const cond = buildAclCond(["if", ...text.split(" ")], acls, actx());
  if ("err" in cond) throw new Error(cond.err);
  expect(bindCond(cond, PX, () => undefined)).toBeNull();
  const c = new SmpCtx();
  c.fe = c.be = c.px = PX;
  c.addr = sockaddr4(opts.src ?? "127.0.0.1", 40000);
  c.addrLen = 16;
  if (opts.data) {
    const ch = new Channel(false);
    ch.buf = Buffer.alloc(16384);
    opts.data.copy(ch.buf, 0);
    ch.p = 0;
    ch.i = opts.data.length;
    c.chn = ch;
  }
  c.opt = opts.final === false ? 0 : SMP_OPT_FINAL;
  return aclExecCond(cond, c);
}

describe("patterns (HAProxy pattern.c)", () => {
  it("a long IPv4 list (indexed by mask) matches exactly as a scan of its networks", () => {
    const ip = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");
    // prefix lengths 12..32 (a short one would cover most addresses and hide a mismatch), and now and then /0
    const net = fc.record({ a: fc.integer({ min: 0, max: 0xffffffff }), len: fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 12, max: 32 }) }, { weight: 1, arbitrary: fc.constant(0) }) });
    fc.assert(fc.property(fc.array(net, { minLength: 17, maxLength: 80 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }), (nets, addrs) => {
      const p = newPatternExpr(PAT_MATCH_IP, 0);
      for (const n of nets) expect(patParse(`${ip(n.a)}/${n.len}`, "", false, p)).toBeNull();
      // probe addresses inside the listed networks too, not only random ones
      const probes = [...addrs, ...nets.map((n) => n.a)];
      const s = newSample();
      s.type = SMP_T_IPV4;
      for (const a of probes) {
        s.int = a;
        const want = nets.some((n) => n.len === 0 || (a >>> (32 - n.len)) === (n.a >>> (32 - n.len)));
        expect(patternMatch(p, s), `${ip(a)} in ${nets.length} networks`).toBe(want);
      }
    }), { numRuns: 300 });
    // a short list is scanned: the same answers
    const p = newPatternExpr(PAT_MATCH_IP, 0);
    for (const n of ["10.0.0.0/8", "192.168.1.7"]) expect(patParse(n, "", false, p)).toBeNull();
    const s = newSample();
    s.type = SMP_T_IPV4;
    for (const [a, want] of [[0x0a0b0c0d, true], [0xc0a80107, true], [0xc0a80108, false]] as const) {
      s.int = a;
      expect(patternMatch(p, s)).toBe(want);
    }
  });

  it("integer ranges and operators: x, x:y, :y, x:, gt/ge/lt/le", () => {
    const p = newPatternExpr(PAT_MATCH_INT, 0);
    expect(patParse("5:10", "", false, p)).toBeNull();
    expect(patParse("100", "gt", false, p)).toBeNull();
    const s = newSample();
    s.type = 2;
    for (const [v, want] of [[4, false], [5, true], [10, true], [11, false], [100, false], [101, true]] as const) {
      s.int = v;
      expect(patternMatch(p, s)).toBe(want);
    }
    expect(patParse("abc", "", false, newPatternExpr(PAT_MATCH_INT, 0))).toBe("'abc' is not a number");
    expect(patParse("1:x", "", false, newPatternExpr(PAT_MATCH_INT, 0))).toBe("'1:x' is not a valid number range");
  });

  it("parses IPv6 forms, compressed and with an IPv4 tail", () => {
    expect(Buffer.from(parseIpv6("::1")!).toString("hex")).toBe("00000000000000000000000000000001");
    expect(Buffer.from(parseIpv6("::ffff:10.1.2.3")!).toString("hex")).toBe("00000000000000000000ffff0a010203");
    expect(Buffer.from(parseIpv6("2001:db8::8:1")!).toString("hex")).toBe("20010db8000000000000000000080001");
    expect(parseIpv6("1::2::3")).toBeNull();
    expect(parseIpv6("10.0.0.1")).toBeNull();
  });

  it("src matches addresses, networks (len and dotted mask) and IPv4-mapped IPv6 networks", () => {
    expect(evalCond("{ src 127.0.0.2 }", { src: "127.0.0.2" })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ src 127.0.0.2 }", { src: "127.0.0.3" })).toBe(ACL_TEST_FAIL);
    expect(evalCond("{ src 10.0.0.0/8 127.0.0.0/255.255.255.0 }", { src: "127.0.0.9" })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ src ::ffff:127.0.0.0/120 }", { src: "127.0.0.9" })).toBe(ACL_TEST_PASS);
    expect(evalCond("LOCALHOST", { src: "127.1.2.3" })).toBe(ACL_TEST_PASS);
    expect(evalCond("LOCALHOST", { src: "10.1.2.3" })).toBe(ACL_TEST_FAIL);
  });

  it("-f reads one pattern a line, skipping comments and blank lines; a missing file is 1.8's error", () => {
    const dir = mkdtempSync(join(tmpdir(), "hapoll-acl-"));
    try {
      const f = join(dir, "block");
      writeFileSync(f, "# blocked\n\n   127.0.0.5\n127.0.0.64/26\r\n");
      expect(evalCond(`{ src -f ${f} }`, { src: "127.0.0.5" })).toBe(ACL_TEST_PASS);
      expect(evalCond(`{ src -f ${f} }`, { src: "127.0.0.70" })).toBe(ACL_TEST_PASS);
      expect(evalCond(`{ src -f ${f} }`, { src: "127.0.0.6" })).toBe(ACL_TEST_FAIL);
      const e = buildAclCond(["if", "{", "src", "-f", join(dir, "nope"), "}"], new Map(), actx());
      expect(e).toEqual({ err: `failed to open pattern file <${join(dir, "nope")}>` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ACL expressions and conditions (HAProxy acl.c)", () => {
  it("named ACLs on several lines OR together; terms AND; || separates; ! negates", () => {
    const acls = new Map<string, Acl>();
    expect(parseAcl("a", ["src", "127.0.0.2"], acls, actx())).toBeNull();
    expect(parseAcl("a", ["src", "127.0.0.3"], acls, actx())).toBeNull();
    expect(parseAcl("t", ["always_true"], acls, actx())).toBeNull();
    expect(evalCond("a", { src: "127.0.0.3", acls })).toBe(ACL_TEST_PASS);
    expect(evalCond("a !t", { src: "127.0.0.3", acls })).toBe(ACL_TEST_FAIL);
    expect(evalCond("!a || t", { src: "127.0.0.3", acls })).toBe(ACL_TEST_PASS);
    expect(evalCond("!a", { src: "127.0.0.4", acls })).toBe(ACL_TEST_PASS);
    expect(evalCond("FALSE or TRUE", {})).toBe(ACL_TEST_PASS);
  });

  it("string matches: -i, -m beg/end/sub/reg/len/found, converters lower/upper/hex", () => {
    const hello = clientHello("Www.A.Example");
    expect(evalCond("{ req_ssl_sni -i www.a.example }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req_ssl_sni www.a.example }", { data: hello })).toBe(ACL_TEST_FAIL);
    expect(evalCond("{ req.ssl_sni,lower -m end .a.example }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_sni,upper -m beg WWW. }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_sni -m sub -i A.EX }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_sni -m reg -i ^www\\.[a-z]\\. }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_sni -m len 13 }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_sni -m found }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_hello_type 1 }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.ssl_ver ge 3.1 }", { data: hello })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.payload(0,3),hex 160301 }", { data: hello })).toBe(ACL_TEST_PASS);
  });

  it("a truncated ClientHello is a MISS before the end, a FAIL once final", () => {
    const hello = clientHello("a.example").subarray(0, 40);
    expect(evalCond("{ req_ssl_sni -i a.example }", { data: hello, final: false })).toBe(ACL_TEST_MISS);
    expect(evalCond("{ req_ssl_sni -i a.example }", { data: hello, final: true })).toBe(ACL_TEST_FAIL);
    expect(evalCond("{ req_ssl_sni -i a.example }", { data: Buffer.from("SSH-2.0-x\r\n"), final: false })).toBe(ACL_TEST_FAIL);
  });

  it("req.payload -m bin, WAIT_END and req.len follow 1.8's MISS rules", () => {
    const ssh = Buffer.from("SSH-2.0-OpenSSH\r\n");
    expect(evalCond("{ req.payload(0,4) -m bin 5353482d }", { data: ssh, final: false })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.payload(0,4) -m bin 5353482d }", { data: ssh.subarray(0, 2), final: false })).toBe(ACL_TEST_MISS);
    // bytes that are all there do not change (1.8's smp_fetch_payload): no match is a FAIL at once
    expect(evalCond("{ req.payload(0,4) -m bin 5353482d }", { data: Buffer.from("GET /"), final: false })).toBe(ACL_TEST_FAIL);
    // "the rest of the buffer" (length 0) may still grow: a MISS until final
    expect(evalCond("{ req.payload(0,0) -m bin 5353482d }", { data: Buffer.from("GET /"), final: false })).toBe(ACL_TEST_MISS);
    expect(evalCond("{ req.payload(0,0) -m bin 5353482d }", { data: Buffer.from("GET /"), final: true })).toBe(ACL_TEST_FAIL);
    // req.len is always "may change" (1.8's smp_fetch_len): a failed comparison waits
    expect(evalCond("{ req.len gt 10 }", { data: Buffer.from("GET /"), final: false })).toBe(ACL_TEST_MISS);
    expect(evalCond("{ req.payload(0,4) -m bin 5353482d }", { data: Buffer.from("GET /"), final: true })).toBe(ACL_TEST_FAIL);
    expect(evalCond("WAIT_END", { data: ssh, final: false })).toBe(ACL_TEST_MISS);
    expect(evalCond("WAIT_END", { data: ssh, final: true })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.len gt 3 }", { data: ssh, final: false })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ req.payload_lv(0,1) -m bin 4142 }", { data: Buffer.from([2, 0x41, 0x42]) })).toBe(ACL_TEST_PASS);
  });

  it("MISS combines as 1.8's acl_exec_cond: a MISS OR a PASS passes, a MISS AND a FAIL fails", () => {
    const part = Buffer.from("SS");
    expect(evalCond("WAIT_END || TRUE", { data: part, final: false })).toBe(ACL_TEST_PASS);
    expect(evalCond("WAIT_END FALSE", { data: part, final: false })).toBe(ACL_TEST_FAIL);
    expect(evalCond("!WAIT_END", { data: part, final: false })).toBe(ACL_TEST_MISS);
    const cond = buildAclCond(["unless", "TRUE"], new Map(), actx());
    expect(condPasses(cond as never, ACL_TEST_PASS)).toBe(false);
  });

  it("errors are 1.8's words", () => {
    const err = (words: string[]) => {
      const r = buildAclCond(["if", ...words], new Map(), actx());
      return "err" in r ? r.err : null;
    };
    expect(err(["{", "foo", "}"])).toBe("unknown fetch method 'foo' in ACL expression 'foo'");
    expect(err(["{", "src", "1.2.3.4"])).toBe("missing closing '}' in condition");
    expect(err(["nope"])).toBe("no such ACL : 'nope'");
    expect(err(["{", "req.payload", "-m", "bin", "00", "}"])).toBe("fetch method 'req.payload' : missing arguments (got 0/2) in ACL expression 'req.payload'");
    expect(err(["{", "req.payload(0,4)", "00", "}"])).toBe("matching method must be specified first (using '-m') when using a sample fetch of this type ('req.payload')");
    expect(err(["{", "src", "-m", "foo", "}"])).toBe("unknown matching method 'foo' when parsing ACL expression");
    expect(err(["{", "src", "-x", "}"])).toBe("'-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'");
    expect(err(["{", "src,ipmask(40)", "}"])).toBe("invalid arg 1 in converter 'ipmask' : failed to parse '40' as type 'ipv4 mask' at position 1 in ACL expression 'src,ipmask(40)'");
    expect(err(["{", "src,foo", "}"])).toBe("unknown converter 'foo' in ACL expression 'src,foo'");
    expect(sampleParseExpr("req.payload(0,x)")).toEqual({ err: "fetch method 'req.payload' : failed to parse 'x' as type 'signed integer' at position 2" });
  });

  it("ipmask keeps the network part", () => {
    expect(evalCond("{ src,ipmask(24) 127.0.0.0 }", { src: "127.0.0.77" })).toBe(ACL_TEST_PASS);
    expect(evalCond("{ src,ipmask(255.255.0.0) 127.0.0.0 }", { src: "127.0.9.77" })).toBe(ACL_TEST_PASS);
    void SMP_T_IPV4;
    void SMP_T_STR;
  });
});

describe("config: rules, tables and their errors", () => {
  const parse = (...lines: string[]) =>
    parseConfigFiles([{ name: "r.cfg", text: ["frontend fe", "  bind :8000", "  timeout client 5s", ...lines, "backend bk", "  timeout connect 1s", "  timeout server 1s", "  server s 127.0.0.1:1"].join("\n") + "\n" }], { pid: 1 });

  it("accepts the issue's TCP configs", () => {
    const r = parse(
      "  tcp-request inspect-delay 5s",
      "  tcp-request content accept if { req_ssl_hello_type 1 }",
      "  tcp-request content accept if WAIT_END",
      "  acl blocked src 10.0.0.0/8",
      "  tcp-request connection reject if blocked",
      "  stick-table type ip size 100k expire 30s store conn_rate(10s),conn_cur",
      "  tcp-request connection track-sc0 src",
      "  tcp-request connection reject if { sc0_conn_rate gt 10 }",
      "  use_backend bk if { req_ssl_sni -i a.example }",
      "  use_backend bk if { req.payload(0,4) -m bin 5353482d }",
      "  default_backend bk",
    );
    expect(r.output.filter((l) => /ALERT/.test(l))).toEqual([]);
    const fe = r.config.proxies[0];
    expect(fe.tcpReqConn.map((x) => x.action)).toEqual(["reject", "track-sc", "reject"]);
    expect(fe.tcpReqCont.length).toBe(2);
    expect(fe.inspectDelay).toBe(5000);
    expect(fe.stickTable).toMatchObject({ type: "ip", size: 102400, expire: 30000, store: { conn_rate: 10000, conn_cur: 0 } });
    expect(fe.useBackends.length).toBe(2);
  });

  it("reports 1.8's errors with file:line", () => {
    const r = parse("  tcp-request connection reject if { src foo }");
    expect(r.fatal).toBe(true);
    expect(r.output[0]).toContain("parsing [r.cfg:4] : 'tcp-request connection reject' : error detected in frontend 'fe' while parsing 'if' condition : 'foo' is not a valid IPv4 or IPv6 address");
    const w = parse("  tcp-request connection reject if { req_ssl_sni a }");
    expect(w.output[0]).toContain("anonymous acl will never match in 'tcp-request connection' because it uses keyword 'req_ssl_sni' which is incompatible with 'frontend tcp-request connection rule'");
    const t = parse("  tcp-request connection track-sc0 src");
    expect(t.fatal).toBe(true);
    expect(t.output.join("\n")).toContain("unable to find table 'fe' referenced by track-sc0");
    const d = parse("  tcp-request inspect-delay 5x");
    expect(d.output[0]).toContain("'tcp-request inspect-delay' expects a positive delay in milliseconds, in frontend 'fe' (unexpected character 'x')");
  });

  it("never crashes on fuzzed conditions and sample arguments: an error string or a condition", () => {
    const word = fc.oneof(
      fc.constantFrom("src", "req.payload(0,4)", "req_ssl_sni", "-i", "-m", "bin", "str", "reg", "int", "-f", "{", "}", "!", "||",
        "or", "gt", "10", "1.2.3.4/8", "::1", "WAIT_END", "TRUE", "req.payload(", "src,ipmask(", "sc0_conn_rate", "lower", ",hex", "(", ")", "-u", "--"),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(fc.property(fc.array(word, { maxLength: 12 }), fc.constantFrom("if", "unless"), (ws, pol) => {
      const r = buildAclCond([pol, ...ws], new Map(), actx());
      if ("err" in r) expect(typeof r.err).toBe("string");
      else {
        expect(r.pol).toBe(pol);
        // a parsed condition can be bound and evaluated without throwing
        const errB = bindCond(r, PX, () => undefined);
        if (errB === null) {
          const c = new SmpCtx();
          c.fe = c.be = c.px = PX;
          c.addr = sockaddr4("127.0.0.1", 1);
          c.addrLen = 16;
          expect([ACL_TEST_PASS, ACL_TEST_MISS, ACL_TEST_FAIL]).toContain(aclExecCond(r, c));
        }
      }
    }), { numRuns: 400 });
  });
});
