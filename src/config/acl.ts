/**
 * ACLs as the configuration writes them: sample expressions (fetch + converters), ACL expressions
 * (a sample, flags, patterns), named and anonymous ACLs, and `if`/`unless` conditions.
 * HAProxy 1.8: src/acl.c (parse_acl_expr, parse_acl, parse_acl_cond, build_acl_cond,
 * find_acl_default, acl_cond_conflicts), src/sample.c (sample_parse_expr, fetch/converter keyword
 * lists, fetch_ckp_names), src/payload.c and src/stick_table.c keyword tables.
 *
 * Pure configuration logic: the keyword tables here only describe each fetch (arguments, output
 * type, where its data comes from); src/proxy/sample.ts implements them. Errors use 1.8's words.
 */
import {
  newPatternExpr, patFindMatchName, patParse, patReadFile, canCast, INT_OPERATORS, type PatternExpr,
  PAT_MATCH_BIN, PAT_MATCH_BOOL, PAT_MATCH_FOUND, PAT_MATCH_INT, PAT_MATCH_IP, PAT_MATCH_STR, PAT_MATCH_TYPES,
  PAT_MF_IGNORE_CASE, PAT_MF_NO_DNS, SMP_T_ADDR, SMP_T_BIN, SMP_T_BOOL, SMP_T_IPV4, SMP_T_SINT, SMP_T_STR,
} from "./pattern";

/* Evaluation points ("checkpoints"). HAProxy: SMP_VAL_*, include/types/sample.h (the TCP ones). */
export const CKP_FE_CON_ACC = 1;
export const CKP_FE_REQ_CNT = 2;
export const CKP_FE_SET_BCK = 4;
export const CKP_BE_REQ_CNT = 8;
export const CKP_BE_SET_SRV = 16;
export const CKP_BE_RES_CNT = 32;
export const CKP_FE_RES_CNT = 64;
const CKP_ALL = 127;
const CKP_REQ_BUF = CKP_FE_REQ_CNT | CKP_FE_SET_BCK | CKP_BE_REQ_CNT | CKP_BE_SET_SRV;
const CKP_RES_BUF = CKP_BE_RES_CNT | CKP_FE_RES_CNT;

/** HAProxy: fetch_ckp_names[]. */
export function ckpName(ckp: number): string {
  switch (ckp) {
    case CKP_FE_CON_ACC: return "frontend tcp-request connection rule";
    case CKP_FE_REQ_CNT: return "frontend tcp-request content rule";
    case CKP_FE_SET_BCK: return "frontend use-backend rule";
    case CKP_BE_REQ_CNT: return "backend tcp-request content rule";
    case CKP_BE_SET_SRV: return "backend use-server, balance or stick-match rule";
    case CKP_BE_RES_CNT: return "backend tcp-response content rule";
    case CKP_FE_RES_CNT: return "frontend tcp-response content rule";
  }
  const names: string[] = [];
  for (let b = 1; b <= CKP_FE_RES_CNT; b <<= 1) if (ckp & b) names.push(ckpName(b));
  return names.join(", ");
}

/** Data sources of fetches (HAProxy: fetch_src_names[]). */
const SRC_INTRN = "internal state";
const SRC_L4CLI = "client address";
const SRC_TRACK = "track counters";
const SRC_L6REQ = "request buffer";
const SRC_L6RES = "response buffer";

/** Argument kinds: an integer, a string, a proxy name, a server (`[backend/]server`), a table. */
export type ArgKind = "int" | "str" | "be" | "fe" | "srv" | "tbl";

/** A sample fetch keyword. HAProxy: struct sample_fetch. */
export interface FetchKw {
  /** The keyword as written (aliases share `impl`). */
  kw: string;
  /** The implementation name (src/proxy/sample.ts). */
  impl: string;
  args: ArgKind[];
  /** Mandatory arguments. */
  minArgs: number;
  out: number;
  /** Where its data comes from (for error messages). */
  src: string;
  /** The checkpoints where it can be used. HAProxy: sample_fetch->val. */
  val: number;
  /** Default matching method when used as an ACL (HAProxy: the acl_kw match), or -1. */
  match: number;
  /** Integer patterns are dotted versions ("3.1"): req_ssl_ver. */
  dotted?: boolean;
  /** The stick counter number for sc0_/sc1_/sc2_ fetches, the counter name in <impl>. */
  sc?: number;
}

/** A converter keyword. HAProxy: struct sample_conv. */
export interface ConvKw {
  kw: string;
  args: ArgKind[];
  minArgs: number;
  inType: number;
  out: number;
}

const FETCHES: Record<string, FetchKw> = Object.create(null);

function fetch(kw: string, out: number, src: string, val: number, args: ArgKind[] = [], minArgs = 0, match = -1, impl = kw, extra: Partial<FetchKw> = {}): void {
  FETCHES[kw] = { kw, impl, args, minArgs, out, src, val, match, ...extra };
}

fetch("always_true", SMP_T_BOOL, SRC_INTRN, CKP_ALL);
fetch("always_false", SMP_T_BOOL, SRC_INTRN, CKP_ALL);
fetch("src", SMP_T_IPV4, SRC_L4CLI, CKP_ALL);
fetch("src_port", SMP_T_SINT, SRC_L4CLI, CKP_ALL);
fetch("dst", SMP_T_IPV4, SRC_L4CLI, CKP_ALL);
fetch("dst_port", SMP_T_SINT, SRC_L4CLI, CKP_ALL);
fetch("fe_conn", SMP_T_SINT, SRC_INTRN, CKP_ALL, ["fe"]);
fetch("be_conn", SMP_T_SINT, SRC_INTRN, CKP_ALL, ["be"]);
fetch("nbsrv", SMP_T_SINT, SRC_INTRN, CKP_ALL, ["be"]);
fetch("connslots", SMP_T_SINT, SRC_INTRN, CKP_ALL, ["be"]);
fetch("srv_is_up", SMP_T_BOOL, SRC_INTRN, CKP_ALL, ["srv"], 1);
fetch("wait_end", SMP_T_BOOL, SRC_INTRN, CKP_REQ_BUF | CKP_RES_BUF);
fetch("req.len", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF);
fetch("req_len", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, [], 0, -1, "req.len");
fetch("req.payload", SMP_T_BIN, SRC_L6REQ, CKP_REQ_BUF, ["int", "int"], 2);
fetch("payload", SMP_T_BIN, SRC_L6REQ, CKP_REQ_BUF | CKP_RES_BUF, ["int", "int"], 2, PAT_MATCH_BIN, "payload");
fetch("req.payload_lv", SMP_T_BIN, SRC_L6REQ, CKP_REQ_BUF, ["int", "int", "str"], 2);
fetch("payload_lv", SMP_T_BIN, SRC_L6REQ, CKP_REQ_BUF | CKP_RES_BUF, ["int", "int", "str"], 2, PAT_MATCH_BIN, "payload_lv");
fetch("req.ssl_hello_type", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF);
fetch("req_ssl_hello_type", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, [], 0, -1, "req.ssl_hello_type");
fetch("req.ssl_sni", SMP_T_STR, SRC_L6REQ, CKP_REQ_BUF);
fetch("req_ssl_sni", SMP_T_STR, SRC_L6REQ, CKP_REQ_BUF, [], 0, -1, "req.ssl_sni");
fetch("req.ssl_ver", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, [], 0, PAT_MATCH_INT, "req.ssl_ver", { dotted: true });
fetch("req_ssl_ver", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, [], 0, PAT_MATCH_INT, "req.ssl_ver", { dotted: true });
fetch("req.rdp_cookie", SMP_T_STR, SRC_L6REQ, CKP_REQ_BUF, ["str"]);
fetch("req_rdp_cookie", SMP_T_STR, SRC_L6REQ, CKP_REQ_BUF, ["str"], 0, -1, "req.rdp_cookie");
fetch("req.rdp_cookie_cnt", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, ["str"]);
fetch("req_rdp_cookie_cnt", SMP_T_SINT, SRC_L6REQ, CKP_REQ_BUF, ["str"], 0, -1, "req.rdp_cookie_cnt");
fetch("res.len", SMP_T_SINT, SRC_L6RES, CKP_RES_BUF);
fetch("res.payload", SMP_T_BIN, SRC_L6RES, CKP_RES_BUF, ["int", "int"], 2);
fetch("res.payload_lv", SMP_T_BIN, SRC_L6RES, CKP_RES_BUF, ["int", "int", "str"], 2);

/** Stick counters stored in tables and readable through scN_/src_ fetches (HAProxy: stktable_data_types). */
export const SC_COUNTERS = [
  "conn_cur", "conn_cnt", "conn_rate", "sess_cnt", "sess_rate", "bytes_in_cnt", "bytes_in_rate",
  "bytes_out_cnt", "bytes_out_rate",
] as const;
/** Fetch suffixes of the counters (kbytes_in reads bytes_in_cnt / 1024 in 1.8). */
const SC_FETCHES: Record<string, string> = {
  conn_cur: "conn_cur", conn_cnt: "conn_cnt", conn_rate: "conn_rate", sess_cnt: "sess_cnt", sess_rate: "sess_rate",
  bytes_in_rate: "bytes_in_rate", bytes_out_rate: "bytes_out_rate", kbytes_in: "bytes_in_cnt", kbytes_out: "bytes_out_cnt",
};
for (let n = 0; n < 3; n++) {
  for (const [suffix, counter] of Object.entries(SC_FETCHES)) {
    fetch(`sc${n}_${suffix}`, SMP_T_SINT, SRC_TRACK, CKP_ALL, ["tbl"], 0, -1, suffix.startsWith("kbytes") ? `k:${counter}` : counter, { sc: n });
  }
  fetch(`sc${n}_tracked`, SMP_T_BOOL, SRC_TRACK, CKP_ALL, ["tbl"], 0, -1, "tracked", { sc: n });
}
for (const [suffix, counter] of Object.entries(SC_FETCHES)) {
  fetch(`src_${suffix}`, SMP_T_SINT, SRC_L4CLI, CKP_ALL, ["tbl"], 0, -1, suffix.startsWith("kbytes") ? `k:${counter}` : counter, { sc: -1 });
}

const CONVS: Record<string, ConvKw> = Object.create(null);
CONVS.lower = { kw: "lower", args: [], minArgs: 0, inType: SMP_T_STR, out: SMP_T_STR };
CONVS.upper = { kw: "upper", args: [], minArgs: 0, inType: SMP_T_STR, out: SMP_T_STR };
CONVS.hex = { kw: "hex", args: [], minArgs: 0, inType: SMP_T_BIN, out: SMP_T_STR };
CONVS.ipmask = { kw: "ipmask", args: ["str"], minArgs: 1, inType: SMP_T_ADDR, out: SMP_T_IPV4 };

/** All converter keywords (for the docs and their test). */
export function convNames(): string[] {
  return Object.keys(CONVS);
}

/** Finds a fetch keyword (no prototype lookups). */
export function findFetch(kw: string): FetchKw | undefined {
  return FETCHES[kw];
}

/** All fetch keywords (for the docs and the fuzz tests). */
export function fetchNames(): string[] {
  return Object.keys(FETCHES);
}

/** One converter applied to a sample. HAProxy: struct sample_conv_expr. */
export interface ConvExpr {
  conv: ConvKw;
  /** ipmask: the unsigned IPv4 mask. */
  mask: number;
}

/** A sample expression. HAProxy: struct sample_expr. */
export interface SampleExpr {
  fetch: FetchKw;
  /** The keyword text (HAProxy: expr->kw in messages). */
  kw: string;
  /** Parsed arguments (numbers for int, strings otherwise). */
  args: (number | string)[];
  convs: ConvExpr[];
  /** Runtime binding slots, filled once when the proxies are built (src/proxy/sample.ts). */
  rt?: unknown;
}

/** The output type of a sample expression. HAProxy: smp_expr_output_type(). */
export function smpExprOutType(e: SampleExpr): number {
  return e.convs.length ? e.convs[e.convs.length - 1].conv.out : e.fetch.out;
}

/** Splits "a,b" arguments of a fetch/converter. HAProxy: make_arg_list() (no quoting in 1.8's). */
function parseArgs(kw: string, text: string, kinds: ArgKind[], min: number): { args: (number | string)[] } | { err: string } {
  const parts = text === "" ? [] : text.split(",");
  if (parts.length < min) return { err: `missing arguments (got ${parts.length}/${min})` };
  if (parts.length > kinds.length) return { err: `end of arguments expected at position ${kinds.length + 1}, but got '${parts.slice(kinds.length).join(",")}'` };
  const out: (number | string)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (kinds[i] === "int") {
      if (!/^-?[0-9]+$/.test(p)) return { err: `failed to parse '${p}' as type 'signed integer' at position ${i + 1}` };
      out.push(Number(p));
    } else {
      if (p === "") return { err: `failed to parse '' as type '${kinds[i] === "srv" ? "server" : kinds[i] === "tbl" ? "table" : "string"}' at position ${i + 1}` };
      out.push(p);
    }
  }
  void kw;
  return { args: out };
}

/** Parses an IPv4 mask argument ("255.255.0.0" or "16"). HAProxy: ARGT_MSK4. */
function parseMask4(s: string): number | null {
  if (/^[0-9]{1,2}$/.test(s)) {
    const n = Number(s);
    if (n > 32) return null;
    return n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    if (Number(m[i]) > 255) return null;
    v = v * 256 + Number(m[i]);
  }
  return v;
}

/**
 * Parses a sample expression "fetch[(args)][,conv[(args)]]...". HAProxy: sample_parse_expr().
 * Returns the expression or an error in 1.8's words.
 */
export function sampleParseExpr(word: string): SampleExpr | { err: string } {
  if (word === "") return { err: "missing fetch method" };
  let i = 0;
  while (i < word.length && word[i] !== "(" && word[i] !== ",") i++;
  const fkw = word.slice(0, i);
  const f = FETCHES[fkw];
  if (!f) return { err: `unknown fetch method '${fkw}'` };
  let args: (number | string)[] = [];
  if (word[i] === "(") {
    const end = word.indexOf(")", i);
    if (end < 0) return { err: `missing closing ')' after arguments to fetch keyword '${fkw}'` };
    const r = parseArgs(fkw, word.slice(i + 1, end), f.args, f.minArgs);
    if ("err" in r) return { err: `fetch method '${fkw}' : ${r.err}` };
    args = r.args;
    i = end + 1;
  } else if (f.minArgs > 0) {
    return { err: `fetch method '${fkw}' : missing arguments (got 0/${f.minArgs})` };
  }
  if (f.impl === "payload" || f.impl === "payload_lv" || f.impl.endsWith("payload") || f.impl.endsWith("payload_lv")) {
    const len = args[1] as number;
    if ((args[0] as number) < 0 || len < 0) return { err: `invalid args in fetch method '${fkw}' : payload offset and length must be positive` };
  }
  const expr: SampleExpr = { fetch: f, kw: fkw, args, convs: [] };
  let cur = f.out;
  let prev = fkw;
  while (i < word.length) {
    if (word[i] !== ",") {
      return { err: expr.convs.length ? `missing comma after converter '${prev}'` : `missing comma after fetch keyword '${fkw}'` };
    }
    i++;
    let j = i;
    while (j < word.length && word[j] !== "(" && word[j] !== ",") j++;
    const ckw = word.slice(i, j);
    const c = CONVS[ckw];
    if (!c) return { err: `unknown converter '${ckw}'` };
    let cargs: (number | string)[] = [];
    if (word[j] === "(") {
      const end = word.indexOf(")", j);
      if (end < 0) return { err: `syntax error: missing ')' after converter '${ckw}'` };
      if (c.args.length === 0) return { err: `converter '${ckw}' does not support any args` };
      const r = parseArgs(ckw, word.slice(j + 1, end), c.args, c.minArgs);
      if ("err" in r) return { err: `invalid args in converter '${ckw}' : ${r.err}` };
      cargs = r.args;
      j = end + 1;
    } else if (c.minArgs > 0) {
      return { err: `missing args for converter '${ckw}'` };
    }
    if (!canCast(cur, c.inType)) return { err: `converter '${ckw}' cannot be applied` };
    let mask = 0;
    if (ckw === "ipmask") {
      const m = parseMask4(cargs[0] as string);
      if (m === null) return { err: `invalid arg 1 in converter '${ckw}' : failed to parse '${cargs[0]}' as type 'ipv4 mask' at position 1` };
      mask = m;
    }
    expr.convs.push({ conv: c, mask });
    cur = c.out;
    prev = ckw;
    i = j;
  }
  return expr;
}

/** One ACL expression. HAProxy: struct acl_expr. */
export interface AclExpr {
  smp: SampleExpr;
  pat: PatternExpr;
  kw: string;
}

/** A named or anonymous ACL (several `acl` lines with one name are OR'ed). HAProxy: struct acl. */
export interface Acl {
  /** The name ("" for an anonymous ACL). */
  name: string;
  /** An anonymous ACL's expression as written between the braces (for --trace=rule). */
  text?: string;
  exprs: AclExpr[];
  /** Union / intersection of the expressions' checkpoints (HAProxy: acl->val). */
  val: number;
}

/** A term of a condition. HAProxy: struct acl_term. */
export interface AclTerm {
  acl: Acl;
  neg: boolean;
}

/** A condition: OR of suites, each an AND of terms. HAProxy: struct acl_cond. */
export interface AclCond {
  pol: "if" | "unless";
  suites: AclTerm[][];
  /** The condition as written (for --trace=rule). */
  text: string;
  file: string;
  line: number;
}

/** Where an ACL line is (for -f file messages). */
export interface AclCtx {
  file: string;
  line: number;
  /** Pattern ids already used with -u (HAProxy: pat_ref_lookupid). */
  usedIds: Set<number>;
  /** Warnings emitted while parsing (the "no pattern" warning). */
  warnings: string[];
}

/**
 * Parses one ACL expression: "<sample> [flags] [patterns...]". HAProxy: parse_acl_expr().
 * <words> stops at the end of the expression (the caller cut it).
 */
export function parseAclExpr(words: string[], ctx: AclCtx): AclExpr | { err: string } {
  const smpr = sampleParseExpr(words[0] ?? "");
  if ("err" in smpr) return { err: `${smpr.err} in ACL expression '${words[0] ?? ""}'` };
  const smp = smpr;
  const kw = smp.kw;
  const type = smpExprOutType(smp);
  let match = smp.convs.length === 0 ? smp.fetch.match : -1;
  if (match < 0) {
    if (type === SMP_T_BOOL) match = PAT_MATCH_BOOL;
    else if (type === SMP_T_SINT) match = PAT_MATCH_INT;
    else if (type === SMP_T_IPV4 || type === SMP_T_ADDR) match = PAT_MATCH_IP;
    else if (type === SMP_T_STR) match = PAT_MATCH_STR;
  }
  if (match >= 0 && type !== SMP_T_BOOL && words.length < 2) {
    ctx.warnings.push(
      `parsing acl keyword '${words[0]}' :\n` +
      "  no pattern to match against were provided, so this ACL will never match.\n" +
      "  If this is what you intended, please add '--' to get rid of this warning.\n" +
      "  If you intended to match only for existence, please use '-m found'.\n" +
      "  If you wanted to force an int to match as a bool, please use '-m bool'.\n",
    );
  }
  let flags = 0;
  let k = 1;
  let loaded = false;
  let pat: PatternExpr | null = match >= 0 ? newPatternExpr(match, 0) : null;
  const dotted = smp.convs.length === 0 && smp.fetch.dotted === true;
  while (k < words.length && words[k][0] === "-") {
    const w = words[k];
    if (w === "-i") flags |= PAT_MF_IGNORE_CASE;
    else if (w === "-n") flags |= PAT_MF_NO_DNS;
    else if (w === "-u") {
      const v = words[k + 1] ?? "";
      if (!/^-?[0-9]+$/.test(v)) return { err: "the argument of -u must be an integer" };
      if (ctx.usedIds.has(Number(v))) return { err: "the id is already used" };
      ctx.usedIds.add(Number(v));
      k++;
    } else if (w === "-f") {
      if (pat === null) return { err: `matching method must be specified first (using '-m') when using a sample fetch of this type ('${kw}')` };
      pat.flags = flags;
      const e = patReadFile(words[k + 1] ?? "", "", dotted, pat);
      if (e) return { err: e };
      loaded = true;
      k++;
    } else if (w === "-m") {
      if (loaded) return { err: "'-m' must only be specified before patterns and files in parsing ACL expression" };
      const idx = patFindMatchName(words[k + 1] ?? "");
      if (idx < 0) return { err: `unknown matching method '${words[k + 1] ?? ""}' when parsing ACL expression` };
      if (idx !== PAT_MATCH_FOUND && !canCast(type, PAT_MATCH_TYPES[idx]) &&
          !(PAT_MATCH_TYPES[idx] === SMP_T_SINT && type === SMP_T_BOOL)) {
        return { err: `matching method '${words[k + 1]}' cannot be used with fetch keyword '${kw}'` };
      }
      match = idx;
      pat = newPatternExpr(match, flags);
      k++;
    } else if (w === "-M") {
      /* maps are loaded as ACL patterns (first column) */
    } else if (w === "--") {
      k++;
      break;
    } else {
      return { err: `'${w}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'` };
    }
    k++;
  }
  if (pat === null) return { err: `matching method must be specified first (using '-m') when using a sample fetch of this type ('${kw}')` };
  pat.flags = flags;
  let op = "";
  const intLike = pat.match === PAT_MATCH_INT || pat.match === 5;
  for (; k < words.length; k++) {
    const w = words[k];
    if (intLike && INT_OPERATORS[w]) {
      op = w;
      continue;
    }
    const e = patParse(w, op, dotted, pat);
    if (e) return { err: e };
  }
  void PAT_MATCH_STR;
  return { smp, pat, kw };
}

/** The predefined ACLs of TCP mode. HAProxy: default_acl_list[], src/acl.c. */
const DEFAULT_ACLS: Record<string, string[]> = Object.assign(Object.create(null), {
  TRUE: ["always_true"],
  FALSE: ["always_false"],
  LOCALHOST: ["src", "127.0.0.1/8"],
  REQ_CONTENT: ["req_len", "gt", "0"],
  RDP_COOKIE: ["req_rdp_cookie_cnt", "gt", "0"],
  WAIT_END: ["wait_end"],
});
/** Predefined ACLs of HTTP mode: known to 1.8, refused by hapoll (TCP only). */
const HTTP_DEFAULT_ACLS = new Set([
  "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_CONTENT", "HTTP_URL_ABS", "HTTP_URL_SLASH", "HTTP_URL_STAR",
  "METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE",
]);

/** The predefined ACL names (for docs and tests). */
export function defaultAclNames(): string[] {
  return Object.keys(DEFAULT_ACLS);
}

function aclVal(a: Acl): number {
  let v = 0;
  for (const e of a.exprs) v |= e.smp.fetch.val;
  return v;
}

/**
 * Parses an `acl <name> <expr...>` line into <acls> (the proxy's list): an existing name gets
 * one more expression. HAProxy: parse_acl(). Returns an error or null.
 */
export function parseAcl(name: string, words: string[], acls: Map<string, Acl>, ctx: AclCtx): string | null {
  const e = parseAclExpr(words, ctx);
  if ("err" in e) return e.err;
  let a = acls.get(name);
  if (!a) {
    a = { name, exprs: [], val: 0 };
    acls.set(name, a);
  }
  a.exprs.push(e);
  a.val = aclVal(a);
  return null;
}

/**
 * Builds a condition from words starting with "if"/"unless". HAProxy: build_acl_cond() +
 * parse_acl_cond(). Named ACLs are looked up in <acls>, then among the predefined ones.
 */
export function buildAclCond(words: string[], acls: Map<string, Acl>, ctx: AclCtx): AclCond | { err: string } {
  const pol = words[0];
  if (pol !== "if" && pol !== "unless") return { err: "conditions must start with either 'if' or 'unless'" };
  const cond: AclCond = { pol, suites: [[]], text: words.slice(1).join(" "), file: ctx.file, line: ctx.line };
  let neg = false;
  for (let k = 1; k < words.length; k++) {
    let w = words[k];
    while (w[0] === "!") {
      neg = !neg;
      w = w.slice(1);
    }
    if (w === "") continue;
    if (w.toLowerCase() === "or" || w === "||") {
      cond.suites.push([]);
      neg = false;
      continue;
    }
    let acl: Acl;
    if (w === "{") {
      let end = k + 1;
      while (end < words.length && words[end] !== "}") end++;
      if (end >= words.length) return { err: "missing closing '}' in condition" };
      const e = parseAclExpr(words.slice(k + 1, end), ctx);
      if ("err" in e) return e;
      acl = { name: "", text: words.slice(k + 1, end).join(" "), exprs: [e], val: 0 };
      acl.val = aclVal(acl);
      k = end;
    } else {
      const found = acls.get(w);
      if (found) acl = found;
      else if (DEFAULT_ACLS[w]) {
        const e = parseAclExpr(DEFAULT_ACLS[w], ctx);
        if ("err" in e) return e;
        acl = { name: w, exprs: [e], val: 0 };
        acl.val = aclVal(acl);
        acls.set(w, acl);
      } else if (HTTP_DEFAULT_ACLS.has(w)) {
        return { err: `no such ACL : '${w}' (HTTP predefined ACLs are not supported by hapoll, which only runs mode tcp)` };
      } else {
        return { err: `no such ACL : '${w}'` };
      }
    }
    cond.suites[cond.suites.length - 1].push({ acl, neg });
    neg = false;
  }
  return cond;
}

/**
 * Finds an ACL of <cond> that can never match at checkpoint <where>, with the keyword to name for
 * an anonymous one. HAProxy: acl_cond_conflicts().
 */
export function aclCondConflicts(cond: AclCond, where: number): { acl: Acl; kw: string } | null {
  for (const suite of cond.suites) {
    for (const t of suite) {
      if (!(t.acl.val & where)) return { acl: t.acl, kw: t.acl.exprs[0]?.kw ?? "" };
    }
  }
  return null;
}

/** The 1.8 warning text for a condition using an ACL unusable at <where> in rule <rule>; null if none. */
export function condConflictWarning(cond: AclCond, where: number, rule: string): string | null {
  const c = aclCondConflicts(cond, where);
  if (!c) return null;
  if (c.acl.name) {
    return `acl '${c.acl.name}' will never match in '${rule}' because it only involves keywords that are incompatible with '${ckpName(where)}'`;
  }
  return `anonymous acl will never match in '${rule}' because it uses keyword '${c.kw}' which is incompatible with '${ckpName(where)}'`;
}

/** Every sample expression of <cond> (for resolving proxy/table arguments). */
export function condExprs(cond: AclCond): SampleExpr[] {
  const out: SampleExpr[] = [];
  for (const suite of cond.suites) for (const t of suite) for (const e of t.acl.exprs) out.push(e.smp);
  return out;
}

void SMP_T_BIN;
void PAT_MATCH_IP;
