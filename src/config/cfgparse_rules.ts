/**
 * The proxy keywords of ACLs and rules: `acl`, `tcp-request`, `tcp-response`, `use_backend ...
 * if|unless`, `use-server`, `stick-table`. HAProxy 1.8: cfg_parse_listen() ("acl", "use_backend",
 * "use-server", "stick-table") in src/cfgparse.c, tcp_parse_tcp_req() / tcp_parse_tcp_rep() /
 * tcp_parse_request_rule() in src/tcp_rules.c, and the post-parse checks of
 * check_config_validity(). Messages keep 1.8's words; cfgparse_listen.ts registers these handlers.
 */
import {
  buildAclCond, condConflictWarning, parseAcl, sampleParseExpr, smpExprOutType, type Acl, type AclCond, type AclCtx,
  CKP_BE_REQ_CNT, CKP_BE_RES_CNT, CKP_BE_SET_SRV, CKP_FE_CON_ACC, CKP_FE_REQ_CNT, CKP_FE_RES_CNT, CKP_FE_SET_BCK,
} from "./acl";
import { isParseError, parseTime } from "./address";
import { SMP_T_BIN, SMP_T_BOOL, SMP_T_IPV4, SMP_T_SINT, SMP_T_STR } from "./pattern";
import type { ProxyConfig, StickTableConfig, TcpRule } from "./types";

/** What the handlers need from the parser. */
export interface RuleHost {
  file: string;
  line: number;
  alert(msg: string): void;
  warn(msg: string): void;
  /** `-u` ids in use (HAProxy: pat_ref ids are global). */
  usedPatIds: Set<number>;
}

/** What the handlers need from the proxy being parsed. */
export interface RuleProxy {
  cfg: ProxyConfig;
  /** 1 = frontend capability, 2 = backend. */
  cap: number;
  isDefaults: boolean;
  acls: Map<string, Acl>;
}

const FE = 1;
const BE = 2;

function typeStr(px: RuleProxy): string {
  return px.cap === (FE | BE) ? "proxy" : px.cap & FE ? "frontend" : "backend";
}

/** The words of a line without HAProxy's padding. */
function words(args: string[]): string[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === "") n--;
  return args.slice(0, n);
}

function aclCtx(h: RuleHost): AclCtx {
  return { file: h.file, line: h.line, usedIds: h.usedPatIds, warnings: [] };
}

function flushWarnings(h: RuleHost, c: AclCtx): void {
  for (const w of c.warnings) h.warn(w);
}

/** HAProxy: cfg_parse_listen() "acl". */
export function parseAclLine(h: RuleHost, px: RuleProxy, args: string[]): void {
  const a = words(args);
  if (px.isDefaults) {
    h.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  const name = a[1] ?? "";
  const bad = /[^A-Za-z0-9\-_.:]/.exec(name);
  if (bad) {
    h.alert(`character '${bad[0]}' is not permitted in acl name '${name}'.`);
    return;
  }
  if (name === "") {
    h.alert("error detected while parsing ACL '' : missing fetch method.");
    return;
  }
  const c = aclCtx(h);
  const err = parseAcl(name, a.slice(2), px.acls, c);
  flushWarnings(h, c);
  if (err) h.alert(`error detected while parsing ACL '${name}' : ${err}.`);
}

/** Builds the condition starting at a[k] ("if"/"unless"); returns it or an error. */
function cond(h: RuleHost, px: RuleProxy, a: string[], k: number): AclCond | { err: string } {
  const c = aclCtx(h);
  const r = buildAclCond(a.slice(k), px.acls, c);
  flushWarnings(h, c);
  return r;
}

/** 1.8's tcp-request / tcp-response actions hapoll refuses (with lua.*), for the README's list and its test. */
export const UNSUPPORTED_ACTIONS = new Set([
  "capture", "silent-drop", "set-var", "unset-var", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0", "set-src",
  "set-src-port", "set-dst", "set-dst-port", "expect-netscaler-cip", "send-spoe-group", "set-mark", "set-tos",
]);

/**
 * Parses the action and condition of a tcp-request rule from a[k]. HAProxy:
 * tcp_parse_request_rule(). Returns the rule or an error message (already in 1.8's form).
 */
function parseRequestRule(px: RuleProxy, a: string[], k: number, where: number, h: RuleHost): TcpRule | string {
  const rule: TcpRule = { action: "accept", sc: 0, cond: null, text: a.slice(0).join(" "), file: h.file, line: h.line };
  const act = a[k] ?? "";
  if (act === "accept") {
    k++;
  } else if (act === "reject") {
    rule.action = "reject";
    k++;
  } else if (/^track-sc[0-9]$/.test(act)) {
    const n = act.charCodeAt(8) - 48;
    if (n > 2) {
      return `'${a[0]} ${a[1]}' expects 'accept', 'reject', 'track-sc0' ... 'track-sc2', ${where === CKP_FE_CON_ACC ? "'expect-proxy' " : ""}in ${typeStr(px)} '${px.cfg.name}' (got '${act}').`;
    }
    k++;
    const e = sampleParseExpr(a[k] ?? "");
    if ("err" in e) return `'${a[0]} ${a[1]} ${act}' : ${e.err}`;
    k++;
    if (!(e.fetch.val & where)) {
      return `'${a[0]} ${a[1]} ${act}' : fetch method '${a[k - 1]}' extracts information from '${e.fetch.src}', none of which is available here`;
    }
    rule.action = "track-sc";
    rule.sc = n;
    rule.trackExpr = e;
    if (a[k] === "table") {
      k++;
      if (!a[k]) return `'${a[0]} ${a[1]} ${act}' : missing table name`;
      rule.trackTable = a[k];
      k++;
    }
  } else if (act === "expect-proxy") {
    if (a[k + 1] !== "layer4") {
      return `'${a[0]} ${a[1]} ${act}' only supports 'layer4' in ${typeStr(px)} '${px.cfg.name}' (got '${a[k + 1] ?? ""}')`;
    }
    if (!(where & CKP_FE_CON_ACC)) {
      return `'${act} ${a[k + 1]}' is not allowed in '${a[0]} ${a[1]}' rules in ${typeStr(px)} '${px.cfg.name}'`;
    }
    rule.action = "expect-proxy";
    k += 2;
  } else if (UNSUPPORTED_ACTIONS.has(act) || act.startsWith("lua.")) {
    return `'${a[0]} ${a[1]} ${act}' is not supported by hapoll.`;
  } else {
    return `'${a[0]} ${a[1]}' expects 'accept', 'reject', 'track-sc0' ... 'track-sc2', ${where === CKP_FE_CON_ACC ? "'expect-proxy' " : ""}in ${typeStr(px)} '${px.cfg.name}' (got '${act}').`;
  }
  if (a[k] === "if" || a[k] === "unless") {
    const c = cond(h, px, a, k);
    if ("err" in c) {
      return `'${a[0]} ${a[1]} ${a[2]}' : error detected in ${typeStr(px)} '${px.cfg.name}' while parsing '${a[k]}' condition : ${c.err}`;
    }
    rule.cond = c;
  } else if (a[k] !== undefined) {
    return `'${a[0]} ${a[1]} ${a[2]}' only accepts 'if' or 'unless', in ${typeStr(px)} '${px.cfg.name}' (got '${a[k]}')`;
  }
  return rule;
}

function parseDelay(h: RuleHost, px: RuleProxy, a: string[]): number | null {
  const res = a[2] ? parseTime(a[2]) : null;
  if (res === null || isParseError(res)) {
    let msg = `'${a[0]} ${a[1]}' expects a positive delay in milliseconds, in ${typeStr(px)} '${px.cfg.name}'`;
    if (res !== null && isParseError(res) && a[2]) {
      const m = /^[0-9]*/.exec(a[2])![0].length;
      if (m < a[2].length) msg += ` (unexpected character '${a[2][m]}')`;
    }
    h.alert(msg);
    return null;
  }
  return res as number;
}

/** Warns for a condition that can never match at <where>. HAProxy: the acl_cond_conflicts() warnings. */
function warnConflicts(h: RuleHost, c: AclCond | null, where: number, rule: string): void {
  if (c === null) return;
  const w = condConflictWarning(c, where, rule);
  if (w) h.warn(w);
}

/** HAProxy: tcp_parse_tcp_req(). */
export function parseTcpRequest(h: RuleHost, px: RuleProxy, args: string[]): void {
  const a = words(args);
  const where0 = `${typeStr(px)} '${px.cfg.name}'`;
  if (!a[1]) {
    h.alert(px.isDefaults ? `missing argument for '${a[0]}' in defaults section` : `missing argument for '${a[0]}' in ${where0}`);
    return;
  }
  if (a[1] === "inspect-delay") {
    if (px.isDefaults) {
      h.alert(`${a[0]} ${a[1]} is not allowed in 'defaults' sections`);
      return;
    }
    const v = parseDelay(h, px, a);
    if (v === null) return;
    if (px.cfg.inspectDelay) {
      h.warn(`ignoring ${a[0]} ${a[1]} (was already defined) in ${where0}`);
      return;
    }
    px.cfg.inspectDelay = v;
    return;
  }
  if (a[1] !== "content" && a[1] !== "connection" && a[1] !== "session") {
    h.alert(px.isDefaults
      ? `'${a[0]}' expects 'inspect-delay', 'connection', or 'content' in defaults section (got '${a[1]}')`
      : `'${a[0]}' expects 'inspect-delay', 'connection', or 'content' in ${where0} (got '${a[1]}')`);
    return;
  }
  if (px.isDefaults) {
    h.alert(`${a[0]} ${a[1]} is not allowed in 'defaults' sections`);
    return;
  }
  if (a[1] === "session") {
    h.alert(`'${a[0]} ${a[1]}' is not supported by hapoll (use 'tcp-request connection': without handshakes both run at accept).`);
    return;
  }
  let where: number;
  if (a[1] === "connection") {
    if (!(px.cap & FE)) {
      h.alert(`${a[0]} ${a[1]} is not allowed because ${typeStr(px)} ${px.cfg.name} is not a frontend`);
      return;
    }
    where = CKP_FE_CON_ACC;
  } else {
    where = (px.cap & FE ? CKP_FE_REQ_CNT : 0) | (px.cap & BE ? CKP_BE_REQ_CNT : 0);
  }
  const r = parseRequestRule(px, a, 2, where, h);
  if (typeof r === "string") {
    h.alert(r);
    return;
  }
  warnConflicts(h, r.cond, where, `${a[0]} ${a[1]}`);
  if (a[1] === "connection") px.cfg.tcpReqConn.push(r);
  else px.cfg.tcpReqCont.push(r);
}

/** HAProxy: tcp_parse_tcp_rep(). */
export function parseTcpResponse(h: RuleHost, px: RuleProxy, args: string[]): void {
  const a = words(args);
  const where0 = `${typeStr(px)} '${px.cfg.name}'`;
  if (!a[1]) {
    h.alert(px.isDefaults ? `missing argument for '${a[0]}' in defaults section` : `missing argument for '${a[0]}' in ${where0}`);
    return;
  }
  if (a[1] === "inspect-delay") {
    if (px.isDefaults || !(px.cap & BE)) {
      h.alert(`${a[0]} ${a[1]} is only allowed in 'backend' sections`);
      return;
    }
    const v = parseDelay(h, px, a);
    if (v === null) return;
    if (px.cfg.resInspectDelay) {
      h.warn(`ignoring ${a[0]} ${a[1]} (was already defined) in ${where0}`);
      return;
    }
    px.cfg.resInspectDelay = v;
    return;
  }
  if (a[1] !== "content") {
    h.alert(`'${a[0]}' expects 'inspect-delay' or 'content' in ${where0} (got '${a[1]}')`);
    return;
  }
  if (px.isDefaults || !(px.cap & BE)) {
    h.alert(`${a[0]} ${a[1]} is only allowed in 'backend' sections`);
    return;
  }
  const where = CKP_BE_RES_CNT | (px.cap & FE ? CKP_FE_RES_CNT : 0);
  const rule: TcpRule = { action: "accept", sc: 0, cond: null, text: a.join(" "), file: h.file, line: h.line };
  const act = a[2] ?? "";
  if (act === "accept" || act === "reject" || act === "close") rule.action = act;
  else if (UNSUPPORTED_ACTIONS.has(act) || act.startsWith("lua.")) {
    h.alert(`'${a[0]} ${a[1]} ${act}' is not supported by hapoll.`);
    return;
  } else {
    h.alert(`'${a[0]} ${a[1]}' expects 'accept', 'close' or 'reject' in ${where0} (got '${act}')`);
    return;
  }
  if (a[3] === "if" || a[3] === "unless") {
    const c = cond(h, px, a, 3);
    if ("err" in c) {
      h.alert(`'${a[0]} ${a[1]} ${a[2]}' : error detected in ${where0} while parsing '${a[3]}' condition : ${c.err}`);
      return;
    }
    rule.cond = c;
  } else if (a[3] !== undefined) {
    h.alert(`'${a[0]} ${a[1]} ${a[2]}' only accepts 'if' or 'unless', in ${where0} (got '${a[3]}')`);
    return;
  }
  warnConflicts(h, rule.cond, where, `${a[0]} ${a[1]}`);
  px.cfg.tcpResCont.push(rule);
}

/** HAProxy: cfg_parse_listen() "use_backend" (the caller has done the defaults/cap/name checks). */
export function parseUseBackend(h: RuleHost, px: RuleProxy, args: string[], ignored: boolean): void {
  const a = words(args);
  let c: AclCond | undefined;
  if (a[2] === "if" || a[2] === "unless") {
    const r = cond(h, px, a, 2);
    if ("err" in r) {
      h.alert(`error detected while parsing switching rule : ${r.err}.`);
      return;
    }
    c = r;
    warnConflicts(h, c, CKP_FE_SET_BCK, a[0]);
  } else if (a[2] !== undefined) {
    h.alert(`unexpected keyword '${a[2]}' after switching rule, only 'if' and 'unless' are allowed.`);
    return;
  }
  if (!ignored) px.cfg.useBackends.push(c ? { name: a[1], cond: c, file: h.file, line: h.line } : { name: a[1], file: h.file, line: h.line });
}

/** HAProxy: cfg_parse_listen() "use-server". */
export function parseUseServer(h: RuleHost, px: RuleProxy, args: string[]): void {
  const a = words(args);
  if (px.isDefaults) {
    h.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  if (!(px.cap & BE)) h.warn(`'${a[0]}' ignored because ${typeStr(px)} '${px.cfg.name}' has no backend capability.`);
  if (!a[1]) {
    h.alert(`'${a[0]}' expects a server name.`);
    return;
  }
  if (a[2] !== "if" && a[2] !== "unless") {
    h.alert(`'${a[0]}' requires either 'if' or 'unless' followed by a condition.`);
    return;
  }
  const r = cond(h, px, a, 2);
  if ("err" in r) {
    h.alert(`error detected while parsing switching rule : ${r.err}.`);
    return;
  }
  warnConflicts(h, r, CKP_BE_SET_SRV, a[0]);
  if (px.cap & BE) px.cfg.useServers.push({ name: a[1], cond: r, file: h.file, line: h.line });
}

/** Parses "100k" / "1m" / "1g" sizes. HAProxy: parse_size_err(). */
function parseSize(s: string): number | null {
  const m = /^([0-9]+)([kmg]?)$/i.exec(s);
  if (!m) return null;
  const mult = { "": 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * mult;
}

/** The stick-table `store` types: rates (with a period), plain counters, and 1.8's that hapoll refuses. */
export const STORE_RATES = new Set(["conn_rate", "sess_rate", "bytes_in_rate", "bytes_out_rate"]);
export const STORE_PLAIN = new Set(["conn_cur", "conn_cnt", "sess_cnt", "bytes_in_cnt", "bytes_out_cnt"]);
export const STORE_1_8 = new Set([
  "server_id", "gpt0", "gpc0", "gpc0_rate", "http_req_cnt", "http_req_rate", "http_err_cnt", "http_err_rate",
]);

/** HAProxy: cfg_parse_listen() "stick-table" (1.8 syntax). */
export function parseStickTable(h: RuleHost, px: RuleProxy, args: string[]): void {
  const a = words(args);
  if (px.isDefaults) {
    h.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  if (px.cfg.stickTable) {
    h.alert(`only one stick-table per proxy is supported (already declared at ${px.cfg.stickTable.file}:${px.cfg.stickTable.line}).`);
    return;
  }
  const t: StickTableConfig = { type: "ip", keyLen: 32, size: 0, expire: 0, store: {}, file: h.file, line: h.line };
  let haveType = false;
  for (let k = 1; k < a.length; k++) {
    const w = a[k];
    if (w === "size") {
      const v = parseSize(a[k + 1] ?? "");
      if (v === null || v <= 0) {
        h.alert(`${a[0]}: missing or invalid size argument '${a[k + 1] ?? ""}'.`);
        return;
      }
      t.size = v;
      k++;
    } else if (w === "expire") {
      const v = a[k + 1] ? parseTime(a[k + 1]) : null;
      if (v === null || isParseError(v)) {
        h.alert(`${a[0]}: unexpected character in argument to <expire> or missing argument '${a[k + 1] ?? ""}'.`);
        return;
      }
      t.expire = v as number;
      k++;
    } else if (w === "nopurge") {
      h.warn(`${a[0]}: 'nopurge' is not supported by hapoll, ignored (a full table purges its oldest unreferenced entries).`);
    } else if (w === "peers") {
      h.warn(`${a[0]}: 'peers' is not supported by hapoll, ignored (no table replication).`);
      k++;
    } else if (w === "type") {
      const ty = a[k + 1] ?? "";
      if (ty === "ip" || ty === "ipv6" || ty === "integer" || ty === "string") {
        t.type = ty;
        haveType = true;
      } else if (ty === "binary") {
        h.alert(`${a[0]}: type 'binary' is not supported by hapoll.`);
        return;
      } else {
        h.alert(`${a[0]}: unknown type '${ty}'.`);
        return;
      }
      k++;
      if (a[k + 1] === "len") {
        const n = Number(a[k + 2]);
        if (!Number.isInteger(n) || n <= 0) {
          h.alert(`${a[0]}: missing or invalid length argument for type '${ty}'.`);
          return;
        }
        t.keyLen = n;
        k += 2;
      }
    } else if (w === "store") {
      for (const item of (a[k + 1] ?? "").split(",")) {
        const m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(item);
        const name = m ? m[1] : item;
        if (m && STORE_RATES.has(name)) {
          const per = m[2] !== undefined ? parseTime(m[2]) : null;
          if (per === null || isParseError(per) || (per as number) <= 0) {
            h.alert(`${a[0]}: missing argument to store option '${name}'.`);
            return;
          }
          t.store[name] = per as number;
        } else if (m && STORE_PLAIN.has(name) && m[2] === undefined) {
          t.store[name] = 0;
        } else if (STORE_1_8.has(name)) {
          h.alert(`${a[0]}: store option '${name}' is not supported by hapoll.`);
          return;
        } else {
          h.alert(`${a[0]}: unknown store option '${name}'.`);
          return;
        }
      }
      k++;
    } else {
      h.alert(`${a[0]}: unknown argument '${w}'.`);
      return;
    }
  }
  if (!t.size) {
    h.alert(`${a[0]}: missing size.`);
    return;
  }
  if (!haveType) {
    h.alert(`${a[0]}: missing type.`);
    return;
  }
  px.cfg.stickTable = t;
}

/** The key type a track-sc expression must produce for a table of <type>. */
function keyTypeOk(type: StickTableConfig["type"], out: number): boolean {
  if (type === "ip" || type === "ipv6") return out === SMP_T_IPV4 || out === SMP_T_STR;
  if (type === "integer") return out === SMP_T_SINT || out === SMP_T_BOOL || out === SMP_T_STR;
  return out === SMP_T_STR || out === SMP_T_BIN || out === SMP_T_SINT || out === SMP_T_IPV4;
}

/**
 * Post-parse checks of the rules of <cfg>: tables referenced by track-sc, servers named by
 * use-server. HAProxy: check_config_validity() (check_trk_action, the use-server loop).
 * Returns the number of errors; <report> prints alerts and warnings.
 */
export function checkRules(cfg: ProxyConfig, all: ProxyConfig[], report: (lvl: "alert" | "warning", msg: string, file: string, line: number) => void): number {
  let errs = 0;
  for (const r of [...cfg.tcpReqConn, ...cfg.tcpReqCont]) {
    if (r.action !== "track-sc") continue;
    const name = r.trackTable ?? cfg.name;
    const owner = all.find((p) => p.name === name && p.stickTable);
    const kind = cfg.tcpReqConn.includes(r) ? "connection" : "content";
    if (!owner) {
      report("alert", `Proxy '${cfg.name}': unable to find table '${name}' referenced by track-sc${r.sc}.`, r.file, r.line);
      errs++;
    } else if (!keyTypeOk(owner.stickTable!.type, smpExprOutType(r.trackExpr!))) {
      report("alert", `Proxy '${cfg.name}': tcp-request ${kind} track-sc${r.sc}: type of fetch method '${r.trackExpr!.kw}' is incompatible with table '${name}' of type '${owner.stickTable!.type}'.`, r.file, r.line);
      errs++;
    }
  }
  for (const u of cfg.useServers) {
    if (!cfg.servers.some((s) => s.name === u.name)) {
      report("alert", `config : ${cfg.cap.fe && cfg.cap.be ? "proxy" : "backend"} '${cfg.name}' : unable to find server '${u.name}' referenced in a 'use-server' rule.`, u.file, u.line);
      errs++;
    }
  }
  // HAProxy: a frontend content rule depending on request contents, with no inspect-delay.
  if (cfg.cap.fe && !cfg.inspectDelay && cfg.tcpReqCont.some((r) =>
    (r.cond && r.cond.suites.some((s) => s.some((x) => x.acl.exprs.some((e) => !(e.smp.fetch.val & CKP_FE_CON_ACC))))) ||
    (r.trackExpr && !(r.trackExpr.fetch.val & CKP_FE_CON_ACC)))) {
    report("warning", `config : ${cfg.cap.be ? "proxy" : "frontend"} '${cfg.name}' : some 'tcp-request content' rules explicitly depending on request` +
      " contents were found in a frontend without any 'tcp-request inspect-delay' setting." +
      " This means that these rules will randomly find their contents. This can be fixed by" +
      " setting the tcp-request inspect-delay.", cfg.file, cfg.line);
  }
  return errs;
}
