/**
 * tcp-request / tcp-response rules, switching and server rules. HAProxy 1.8: src/tcp_rules.c
 * (tcp_exec_l4_rules, tcp_inspect_request, tcp_inspect_response), src/stream.c
 * (process_switching_rules, process_server_rules, stream_set_backend).
 *
 * Evaluation points, as in 1.8:
 *   accept ── tcp-request connection rules (no stream yet; a reject closes with SO_LINGER {1,0})
 *          └─ stream ── AN_REQ_INSPECT_FE (frontend content rules, waiting for data until
 *                        inspect-delay) ── AN_REQ_SWITCHING_RULES (use_backend, default_backend)
 *                        ── AN_REQ_INSPECT_BE (the backend's content rules when it is another
 *                        proxy) ── AN_REQ_SRV_RULES (use-server) ── connect
 *   response ── AN_RES_INSPECT (the backend's tcp-response content rules)
 */
import { native } from "../native";
import { clock } from "../core/clock";
import { TICK_ETERNITY, tickAdd, tickIsExpired, tickIsSet } from "../core/ticks";
import type { TcpRule, UseServerRule } from "../config/types";
import type { AclCond } from "../config/acl";
import { sampleToString, SMP_F_MAY_CHANGE, SMP_T_IPV4, SMP_T_SINT } from "../config/pattern";
import type { Listener } from "../net/listener";
import { global } from "../core/global";
import type { Channel } from "./channel";
import {
  ctx, aclExecCond, bindCond, bindSampleExpr, condPasses, lastSampleFlags, sampleFetch, type ProxyLookup, type SmpCtx,
  type StkCtr, SMP_OPT_FINAL, ACL_TEST_MISS,
} from "./sample";
import type { Proxy } from "./proxy";
import { type Server, SRV_ST_STOPPED } from "./server";
import { StickTable, stktableGetEntry, stkTrackStart, stkTrackStop, tables } from "./stick_table";
import { type Connection } from "../net/connection";

/* Request / response analysers (HAProxy: AN_REQ_*, AN_RES_*, include/types/channel.h; same order). */
export const AN_REQ_INSPECT_FE = 0x01;
export const AN_REQ_SWITCHING_RULES = 0x02;
export const AN_REQ_INSPECT_BE = 0x04;
export const AN_REQ_SRV_RULES = 0x08;
export const AN_RES_INSPECT = 0x01;

/** A rule with its runtime table. */
export interface RtRule {
  cfg: TcpRule;
  tbl: StickTable | null;
}

/** The rules of a proxy, bound to runtime objects. */
export interface ProxyRules {
  l4: RtRule[];
  cont: RtRule[];
  res: RtRule[];
  /** use_backend rules, with where they are written (for --trace=rule). */
  switching: { be: Proxy; cond: AclCond | null; file: string; line: number }[];
  /** use-server rules. */
  servers: { srv: Server; cond: AclCond; file: string; line: number }[];
  /** Request analysers a stream of this frontend starts with (0: the plain TCP path). */
  feReqAna: number;
  /** Analysers this proxy adds as a backend (HAProxy: be_req_ana / be_rsp_ana). */
  beReqAna: number;
  beResAna: number;
}

/* The rule sets, as --trace=rule names them. */
export const RS_TCP_REQ_CONN = 0;
export const RS_TCP_REQ_CONT = 1;
export const RS_TCP_RES_CONT = 2;
export const RS_USE_BACKEND = 3;
export const RS_DEFAULT_BACKEND = 4;
export const RS_USE_SERVER = 5;
export const RULE_SET_NAMES = [
  "tcp-request connection", "tcp-request content", "tcp-response content", "use_backend", "default_backend", "use-server",
];

/** Where a rule is written, and for a tcp rule its text (use_backend / use-server name a target instead). */
export interface RuleRef {
  file: string;
  line: number;
  text?: string;
}

/**
 * Trace hook for --trace=rule, called after each rule's condition is evaluated (the ACL terms'
 * results are then in condTrace, src/proxy/sample.ts): the rule set (RS_*), the proxy whose rule it
 * is, the stream (null for connection rules, which run before any stream: <fd> is the client's),
 * the rule (a TcpRule, a use_backend / use-server entry naming <target>, null for default_backend),
 * the condition, and the verdict. Null when tracing is off: the rule path then tests it and builds
 * nothing.
 */
export type RuleTraceHook = (set: number, px: Proxy, s: AnalysedStream | null, fd: number, rule: RuleRef | null,
  target: string, cond: AclCond | null, verdict: string) => void;
export const ruleHooks: { onRule: RuleTraceHook | null } = { onRule: null };

/** The verdict of a tcp rule whose condition was evaluated, for the trace. */
function tcpVerdict(r: TcpRule, ok: boolean): string {
  if (!ok) return "no match";
  return r.action === "track-sc" ? `track-sc${r.sc}` : r.action;
}

/**
 * Builds tables and binds the rules of <proxies> (after servers exist). Returns alerts.
 * HAProxy: the rule and table parts of check_config_validity() (smp_resolve_args, check_trk_action).
 */
export function proxyRulesInit(proxies: Proxy[], lookup: ProxyLookup): string[] {
  const alerts: string[] = [];
  tables.clear();
  for (const p of proxies) if (p.cfg.stickTable) tables.set(p.id, new StickTable(p.cfg.stickTable, p.id));
  for (const p of proxies) {
    const c = p.cfg;
    const bindRule = (r: TcpRule): RtRule => {
      if (r.cond) {
        const e = bindCond(r.cond, p, lookup);
        if (e) alerts.push(`parsing [${r.file}:${r.line}] : ${e}`);
      }
      let tbl: StickTable | null = null;
      if (r.trackExpr) {
        const e = bindSampleExpr(r.trackExpr, p, lookup, "");
        if (e) alerts.push(`parsing [${r.file}:${r.line}] : ${e}`);
        tbl = tables.get(r.trackTable ?? p.id) ?? null;
      }
      return { cfg: r, tbl };
    };
    const rules: ProxyRules = {
      l4: c.tcpReqConn.map(bindRule),
      cont: c.tcpReqCont.map(bindRule),
      res: c.tcpResCont.map(bindRule),
      switching: [],
      servers: [],
      feReqAna: 0,
      beReqAna: 0,
      beResAna: 0,
    };
    for (const u of c.useBackends) {
      const be = lookup(u.name);
      if (!be) continue;
      if (u.cond) {
        const e = bindCond(u.cond, p, lookup);
        if (e) alerts.push(`parsing [${u.file}:${u.line}] : ${e}`);
      }
      rules.switching.push({ be, cond: u.cond ?? null, file: u.file, line: u.line });
    }
    for (const u of c.useServers as UseServerRule[]) {
      const srv = p.servers.find((s) => s.id === u.name);
      if (!srv) continue;
      const e = bindCond(u.cond, p, lookup);
      if (e) alerts.push(`parsing [${u.file}:${u.line}] : ${e}`);
      rules.servers.push({ srv, cond: u.cond, file: u.file, line: u.line });
    }
    if (c.cap.fe && (rules.cont.length || rules.switching.some((x) => x.cond !== null))) {
      rules.feReqAna = (rules.cont.length ? AN_REQ_INSPECT_FE : 0) | AN_REQ_SWITCHING_RULES;
    }
    if (c.cap.be) {
      rules.beReqAna = (rules.cont.length ? AN_REQ_INSPECT_BE : 0) | (rules.servers.length ? AN_REQ_SRV_RULES : 0);
      rules.beResAna = rules.res.length ? AN_RES_INSPECT : 0;
    }
    p.rules = rules.l4.length || rules.feReqAna || rules.beReqAna || rules.beResAna ? rules : null;
  }
  // A frontend whose backends have analysers needs the analyser path too.
  for (const p of proxies) {
    if (!p.cfg.cap.fe) continue;
    const targets = new Set<Proxy>();
    if (p.defbe) targets.add(p.defbe);
    if (p.rules) for (const s of p.rules.switching) targets.add(s.be);
    for (const be of targets) {
      if (be.rules && (be.rules.beReqAna || be.rules.beResAna) && be !== p) {
        if (p.rules === null) {
          p.rules = { l4: [], cont: [], res: [], switching: [], servers: [], feReqAna: 0, beReqAna: 0, beResAna: 0 };
        }
        p.rules.feReqAna |= AN_REQ_SWITCHING_RULES;
      }
    }
    if (p.rules && (p.rules.beReqAna & AN_REQ_SRV_RULES) && p.cfg.cap.be) p.rules.feReqAna |= AN_REQ_SWITCHING_RULES;
    if (p.rules && p.rules.beResAna && p.cfg.cap.be) p.rules.feReqAna |= AN_REQ_SWITCHING_RULES;
  }
  return alerts;
}

/** The stick-table key of the sample just fetched, or null. HAProxy: smp_to_stkey(). */
function sampleKey(tbl: StickTable, s: { type: number; int: number }): number | string | null {
  const smp = s as Parameters<typeof sampleToString>[0];
  switch (tbl.cfg.type) {
    case "ip": return smp.type === SMP_T_IPV4 ? smp.int : null;
    case "integer": return smp.type === SMP_T_SINT ? smp.int : Number.isInteger(Number(sampleToString(smp))) ? Number(sampleToString(smp)) : null;
    case "ipv6": return sampleToString(smp);
    default: return sampleToString(smp).slice(0, tbl.cfg.keyLen);
  }
}

/** track-scN: track the key of <r> in its table into <stk>[N] unless already tracked. */
function trackRule(c: SmpCtx, r: RtRule, stk: (StkCtr | null)[]): boolean {
  const n = r.cfg.sc;
  if (stk[n] !== null) return true;
  const tbl = r.tbl;
  if (tbl === null) return true;
  const s = sampleFetch(c, r.cfg.trackExpr!);
  if (s === null) return !((lastSampleFlags() & SMP_F_MAY_CHANGE) && !(c.opt & SMP_OPT_FINAL));
  if ((s.flags & SMP_F_MAY_CHANGE) && !(c.opt & SMP_OPT_FINAL)) return false;
  const key = sampleKey(tbl, s);
  if (key === null) return true;
  const e = stktableGetEntry(tbl, key);
  if (e === null) return true;
  stk[n] = { tbl, e };
  stkTrackStart(tbl, e);
  return true;
}

/**
 * What the last tcpExecL4Rules() call leaves for the session: the stick counters it tracked (null:
 * none), handed to the stream, and whether an `expect-proxy layer4` rule matched before the rules
 * ended (HAProxy: CO_FL_ACCEPT_PROXY set by tcp_exec_l4_rules()).
 */
export const l4Tracked: { stk: (StkCtr | null)[] | null; expectProxy: boolean } = { stk: null, expectProxy: false };

/**
 * HAProxy: tcp_exec_l4_rules(): the frontend's connection rules at accept, before any stream.
 * Returns false when the connection is rejected (the caller closes it: SO_LINGER {1,0} first).
 */
export function tcpExecL4Rules(fe: Proxy, l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  const rules = fe.rules!.l4;
  const c = ctx;
  c.px = c.fe = c.be = fe;
  c.addr = addr;
  c.addrLen = addrLen;
  c.conn = null;
  c.fd = cfd;
  c.chn = null;
  c.opt = SMP_OPT_FINAL;
  l4Tracked.stk = null;
  l4Tracked.expectProxy = false;
  c.stk = null;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    let ok = true;
    if (r.cfg.cond !== null) ok = condPasses(r.cfg.cond, aclExecCond(r.cfg.cond, c));
    if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_TCP_REQ_CONN, fe, null, cfd, r.cfg, "", r.cfg.cond, tcpVerdict(r.cfg, ok));
    if (!ok) continue;
    const a = r.cfg.action;
    if (a === "accept") break;
    if (a === "reject") {
      fe.feCounters.deniedConn++;
      // a rejected connection gives back what it tracked (HAProxy: session_free() -> session_store_counters()).
      if (c.stk !== null) releaseStk(c.stk, 0, 0);
      l4Tracked.stk = null;
      // HAProxy: session_accept_fd(): "let's do a no-linger now to close with a single RST".
      native.setLinger(cfd, 1, 0);
      void l;
      return false;
    }
    if (a === "track-sc") {
      if (c.stk === null) c.stk = [null, null, null];
      trackRule(c, r, c.stk);
    } else if (a === "expect-proxy") {
      // the caller makes the embryonic session that waits for the header
      l4Tracked.expectProxy = true;
    }
  }
  l4Tracked.stk = c.stk;
  return true;
}

/** Gives back tracked entries (end of a stream). */
export function releaseStk(stk: (StkCtr | null)[], bytesIn: number, bytesOut: number): void {
  for (let i = 0; i < stk.length; i++) {
    const t = stk[i];
    if (t === null) continue;
    stkTrackStop(t.tbl, t.e, bytesIn, bytesOut);
    stk[i] = null;
  }
}

/** What a stream exposes to the analysers (stream.ts implements it). */
export interface AnalysedStream {
  fe: Proxy;
  be: Proxy;
  req: Channel;
  res: Channel;
  cliAddr: Buffer;
  cliAddrLen: number;
  reqAnExp: number;
  resAnExp: number;
  stk: (StkCtr | null)[] | null;
  target: Server | null;
  flags: number;
  readonly uniqId: number;
  clientConn(): Connection;
}

function fillCtx(s: AnalysedStream, px: Proxy, chn: Channel, opt: number): SmpCtx {
  const c = ctx;
  c.px = px;
  c.fe = s.fe;
  c.be = s.be;
  c.addr = s.cliAddr;
  c.addrLen = s.cliAddrLen;
  c.conn = s.clientConn();
  c.fd = -1;
  c.chn = chn;
  c.opt = opt;
  c.stk = s.stk;
  return c;
}

/** Result of a content analyser: go on, wait for more data, or the stream was rejected. */
export const AN_CONTINUE = 1;
export const AN_WAIT = 0;
export const AN_REJECT = -1;
export const AN_CLOSE = -2;

/**
 * HAProxy: tcp_inspect_request(): the content rules of <px> (the frontend, then the backend).
 * AN_WAIT: a rule needs more data (the caller keeps the analyser and the connection unconnected;
 * reqAnExp is armed once to inspect-delay); AN_REJECT: reject matched (counted here).
 */
export function tcpInspectRequest(s: AnalysedStream, px: Proxy): number {
  const req = s.req;
  const delay = px.cfg.inspectDelay;
  const full = req.buf !== null && req.i + req.o >= req.buf.length - global.maxrewrite;
  const partial = (req.flags & 0x20 /* CF_SHUTR */) || full || !delay || (tickIsSet(s.reqAnExp) && tickIsExpired(s.reqAnExp, clock.nowMs))
    ? SMP_OPT_FINAL : 0;
  const c = fillCtx(s, px, req, partial);
  const rules = px.rules!.cont;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    let ok = true;
    if (r.cfg.cond !== null) {
      const res = aclExecCond(r.cfg.cond, c);
      if (res === ACL_TEST_MISS) {
        if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_TCP_REQ_CONT, px, s, -1, r.cfg, "", r.cfg.cond, `missing data, waiting (inspect-delay ${delay} ms)`);
        return missingData(s, delay);
      }
      ok = condPasses(r.cfg.cond, res);
    }
    if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_TCP_REQ_CONT, px, s, -1, r.cfg, "", r.cfg.cond, tcpVerdict(r.cfg, ok));
    if (!ok) continue;
    const a = r.cfg.action;
    if (a === "accept") break;
    if (a === "reject") {
      s.be.feCounters.deniedReq++;
      if (s.fe !== s.be) s.fe.feCounters.deniedReq++;
      return AN_REJECT;
    }
    if (a === "track-sc") {
      if (s.stk === null) s.stk = c.stk = [null, null, null];
      if (!trackRule(c, r, s.stk)) return missingData(s, delay);
    }
  }
  s.reqAnExp = TICK_ETERNITY;
  return AN_CONTINUE;
}

function missingData(s: AnalysedStream, delay: number): number {
  if (!tickIsSet(s.reqAnExp) && delay) s.reqAnExp = tickAdd(clock.nowMs, delay);
  return AN_WAIT;
}

/**
 * HAProxy: process_switching_rules(): the first use_backend whose condition passes, else the
 * default backend. Returns the backend.
 */
export function processSwitchingRules(s: AnalysedStream): Proxy {
  const fe = s.fe;
  const rules = fe.rules;
  if (rules !== null) {
    const c = fillCtx(s, fe, s.req, SMP_OPT_FINAL);
    for (const sw of rules.switching) {
      let ok = true;
      if (sw.cond !== null) ok = condPasses(sw.cond, aclExecCond(sw.cond, c));
      if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_USE_BACKEND, fe, s, -1, sw, sw.be.id, sw.cond, ok ? `backend ${sw.be.id}` : "no match");
      if (ok) return sw.be;
    }
  }
  const be = fe.defbe ?? fe;
  if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_DEFAULT_BACKEND, fe, s, -1, null, be.id, null, `backend ${be.id}`);
  return be;
}

/** HAProxy: process_server_rules(): the first use-server whose condition passes and server is not down. */
export function processServerRules(s: AnalysedStream): Server | null {
  const be = s.be;
  if (be.rules === null) return null;
  const c = fillCtx(s, be, s.req, SMP_OPT_FINAL);
  for (const sr of be.rules.servers) {
    const ok = condPasses(sr.cond, aclExecCond(sr.cond, c));
    if (ruleHooks.onRule !== null) {
      const v = !ok ? "no match" : sr.srv.curState !== SRV_ST_STOPPED ? `server ${sr.srv.id}` : `server ${sr.srv.id} is down, next rule`;
      ruleHooks.onRule(RS_USE_SERVER, be, s, -1, sr, sr.srv.id, sr.cond, v);
    }
    if (ok && sr.srv.curState !== SRV_ST_STOPPED) return sr.srv;
  }
  return null;
}

/**
 * HAProxy: tcp_inspect_response(): the backend's tcp-response content rules.
 */
export function tcpInspectResponse(s: AnalysedStream): number {
  const res = s.res;
  const be = s.be;
  // HAProxy: unlike requests, no inspect-delay does not make the data final: a rule missing data
  // waits for more, or for the end of the response (shutr, which a server timeout also brings).
  const partial = (res.flags & 0x20) || (tickIsSet(s.resAnExp) && tickIsExpired(s.resAnExp, clock.nowMs))
    ? SMP_OPT_FINAL : 0;
  const c = fillCtx(s, be, res, partial);
  const rules = be.rules!.res;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    let ok = true;
    if (r.cfg.cond !== null) {
      const ret = aclExecCond(r.cfg.cond, c);
      if (ret === ACL_TEST_MISS) {
        if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_TCP_RES_CONT, be, s, -1, r.cfg, "", r.cfg.cond, `missing data, waiting (inspect-delay ${be.cfg.resInspectDelay} ms)`);
        if (!tickIsSet(s.resAnExp) && be.cfg.resInspectDelay) s.resAnExp = tickAdd(clock.nowMs, be.cfg.resInspectDelay);
        return AN_WAIT;
      }
      ok = condPasses(r.cfg.cond, ret);
    }
    if (ruleHooks.onRule !== null) ruleHooks.onRule(RS_TCP_RES_CONT, be, s, -1, r.cfg, "", r.cfg.cond, tcpVerdict(r.cfg, ok));
    if (!ok) continue;
    if (r.cfg.action === "accept") break;
    if (r.cfg.action === "reject") {
      be.feCounters.deniedResp++;
      if (s.fe !== be) s.fe.feCounters.deniedResp++;
      return AN_REJECT;
    }
    if (r.cfg.action === "close") {
      s.resAnExp = TICK_ETERNITY;
      return AN_CLOSE;
    }
  }
  s.resAnExp = TICK_ETERNITY;
  return AN_CONTINUE;
}
