/**
 * --trace=rule's line format (src/tools/trace_rule.ts) over real conditions evaluated by
 * aclExecCond() with the term recorder on: each term's result after negation, "-" for the terms the
 * evaluation did not reach (an AND suite that failed earlier, an OR already satisfied), "or" between
 * suites, anonymous ACLs as written, and the who / rule set / file:line / verdict parts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildAclCond, type Acl, type AclCond } from "../../src/config/acl";
import { aclExecCond, bindCond, condTrace, SmpCtx, SMP_OPT_FINAL } from "../../src/proxy/sample";
import { Proxy } from "../../src/proxy/proxy";
import { condTermsText, ruleTraceLine } from "../../src/tools/trace_rule";
import { RS_DEFAULT_BACKEND, RS_TCP_REQ_CONN, RS_USE_BACKEND, RS_USE_SERVER, type AnalysedStream } from "../../src/proxy/tcp_rules";
import type { TcpRule } from "../../src/config/types";

const PX = new Proxy({ name: "fe", cap: { fe: true, be: true } } as never, 1);

function cond(text: string, pol = "if"): AclCond {
  const c = buildAclCond([pol, ...text.split(" ")], new Map<string, Acl>(), { file: "t.cfg", line: 7, usedIds: new Set(), warnings: [] });
  if ("err" in c) throw new Error(c.err);
  expect(bindCond(c, PX, () => undefined)).toBeNull();
  return c;
}

/** Evaluates <text> with the recorder on and returns the terms' text. */
function traced(text: string, final = true): string {
  const c = cond(text);
  const ctx = new SmpCtx();
  ctx.fe = ctx.be = ctx.px = PX;
  ctx.opt = final ? SMP_OPT_FINAL : 0;
  condTrace.terms = [];
  aclExecCond(c, ctx);
  return condTermsText(c, condTrace.terms);
}

afterEach(() => {
  condTrace.terms = null;
});

describe("--trace=rule lines", () => {
  it("shows each term's result, '-' for the terms not reached, 'or' between suites", () => {
    expect(traced("TRUE FALSE TRUE || !FALSE TRUE")).toBe("TRUE=PASS FALSE=FAIL TRUE=- or !FALSE=PASS TRUE=PASS");
    expect(traced("TRUE || FALSE")).toBe("TRUE=PASS or FALSE=-");
    expect(traced("!TRUE { always_true }")).toBe("!TRUE=FAIL { always_true }=-");
    expect(traced("WAIT_END", false)).toBe("WAIT_END=MISS");
    expect(traced("WAIT_END", true)).toBe("WAIT_END=PASS");
  });

  it("records nothing when the recorder is off", () => {
    const c = cond("TRUE");
    const ctx = new SmpCtx();
    ctx.opt = SMP_OPT_FINAL;
    condTrace.terms = null;
    aclExecCond(c, ctx);
    expect(condTrace.terms).toBeNull();
  });

  it("names the client fd before a stream exists, the stream id after, the rule's place and its verdict", () => {
    const c = cond("FALSE");
    const ctx = new SmpCtx();
    ctx.opt = SMP_OPT_FINAL;
    condTrace.terms = [];
    aclExecCond(c, ctx);
    const rule: TcpRule = { action: "reject", sc: 0, cond: c, text: "tcp-request connection reject if FALSE", file: "t.cfg", line: 7 };
    expect(ruleTraceLine(RS_TCP_REQ_CONN, PX, null, 12, rule, "", c, "no match"))
      .toBe("fd=12 fe tcp-request connection t.cfg:7: reject if FALSE | FALSE=FAIL -> no match");
    const s = { uniqId: 26 } as AnalysedStream;
    expect(ruleTraceLine(RS_USE_SERVER, PX, s, -1, { file: "t.cfg", line: 9 }, "s1", c, "no match"))
      .toBe("0000001a fe use-server t.cfg:9: s1 if FALSE | FALSE=FAIL -> no match");
    // an unconditional use_backend still says where it is written
    expect(ruleTraceLine(RS_USE_BACKEND, PX, s, -1, { file: "t.cfg", line: 11 }, "bk", null, "backend bk"))
      .toBe("0000001a fe use_backend t.cfg:11: bk | no condition -> backend bk");
    expect(ruleTraceLine(RS_DEFAULT_BACKEND, PX, s, -1, null, "bk", null, "backend bk"))
      .toBe("0000001a fe default_backend: bk -> backend bk");
  });
});
