/**
 * Patterns: how an ACL compares a sample with the values written after it. HAProxy 1.8:
 * src/pattern.c (pat_parse_*, pat_match_*, pattern_read_from_file), include/types/pattern.h.
 *
 * Pure logic (no sockets, no runtime imports): the configuration parser compiles the patterns once,
 * the runtime only calls patternMatch() with a Sample it filled. A pattern expression holds one
 * matching method and its compiled values, pre-digested so that a match allocates nothing for the
 * integer, IPv4 and exact-string methods (a Set / arrays of numbers).
 */
import * as fs from "node:fs";

/* Sample types. HAProxy: SMP_T_*, include/types/sample.h. */
export const SMP_T_ANY = 0;
export const SMP_T_BOOL = 1;
export const SMP_T_SINT = 2;
export const SMP_T_ADDR = 3;
export const SMP_T_IPV4 = 4;
export const SMP_T_IPV6 = 5;
export const SMP_T_STR = 6;
export const SMP_T_BIN = 7;
/** Type names as HAProxy prints them (smp_to_type[]). */
export const SMP_T_NAMES = ["any", "bool", "sint", "addr", "ipv4", "ipv6", "str", "bin"];

/** Sample flag: the value may change with more data (the rule waits). HAProxy: SMP_F_MAY_CHANGE. */
export const SMP_F_MAY_CHANGE = 0x10;

/**
 * One sample, filled by a fetch and rewritten by converters. HAProxy: struct sample. The runtime
 * reuses a single instance: ipv4 in <int> (unsigned), ipv6/bin as a view <bin>[<off>, <off>+<len>),
 * str in <str>.
 */
export interface Sample {
  type: number;
  flags: number;
  int: number;
  str: string;
  bin: Uint8Array | null;
  off: number;
  len: number;
}

/** A fresh empty sample. */
export function newSample(): Sample {
  return { type: SMP_T_ANY, flags: 0, int: 0, str: "", bin: null, off: 0, len: 0 };
}

/* Matching methods. HAProxy: PAT_MATCH_*, include/types/pattern.h (same order). */
export const PAT_MATCH_FOUND = 0;
export const PAT_MATCH_BOOL = 1;
export const PAT_MATCH_INT = 2;
export const PAT_MATCH_IP = 3;
export const PAT_MATCH_BIN = 4;
export const PAT_MATCH_LEN = 5;
export const PAT_MATCH_STR = 6;
export const PAT_MATCH_BEG = 7;
export const PAT_MATCH_SUB = 8;
export const PAT_MATCH_DIR = 9;
export const PAT_MATCH_DOM = 10;
export const PAT_MATCH_END = 11;
export const PAT_MATCH_REG = 12;
/** HAProxy: pat_match_names[]. */
export const PAT_MATCH_NAMES = ["found", "bool", "int", "ip", "bin", "len", "str", "beg", "sub", "dir", "dom", "end", "reg"];
/** The sample type each method expects (HAProxy: pat_match_types[]). */
export const PAT_MATCH_TYPES = [
  SMP_T_ANY, SMP_T_SINT, SMP_T_SINT, SMP_T_ADDR, SMP_T_BIN, SMP_T_STR, SMP_T_STR, SMP_T_STR, SMP_T_STR,
  SMP_T_STR, SMP_T_STR, SMP_T_STR, SMP_T_STR,
];

/**
 * Whether a sample of type <from> can be converted to <to> (HAProxy: sample_casts[][] != NULL).
 * ADDR stands for ipv4 or ipv6.
 */
export function canCast(from: number, to: number): boolean {
  if (from === to || to === SMP_T_ANY) return true;
  if (to === SMP_T_ADDR) return from === SMP_T_IPV4 || from === SMP_T_IPV6 || from === SMP_T_ADDR || from === SMP_T_STR;
  switch (from) {
    case SMP_T_BOOL: case SMP_T_SINT: return to !== SMP_T_IPV6 || from === SMP_T_SINT;
    case SMP_T_ADDR: case SMP_T_IPV4: case SMP_T_IPV6: return to === SMP_T_STR || to === SMP_T_BIN || to === SMP_T_IPV4 || to === SMP_T_IPV6 || (from === SMP_T_IPV4 && to === SMP_T_SINT);
    case SMP_T_STR: return true;
    case SMP_T_BIN: return to === SMP_T_STR;
  }
  return false;
}

/** Pattern flags. HAProxy: PAT_MF_IGNORE_CASE, PAT_MF_NO_DNS. */
export const PAT_MF_IGNORE_CASE = 1;
export const PAT_MF_NO_DNS = 2;

/** A compiled pattern list. HAProxy: struct pattern_expr with its patterns. */
export interface PatternExpr {
  match: number;
  flags: number;
  /** Exact strings (lower-cased with -i) for str. */
  strSet: Set<string>;
  /** Strings in order for beg/end/sub/dir/dom (lower-cased with -i). */
  strs: string[];
  regs: RegExp[];
  bins: Uint8Array[];
  /** Integer ranges for int/len/bool: lo[i]..hi[i] inclusive. */
  lo: number[];
  hi: number[];
  /** IPv4 networks (unsigned address and mask). */
  v4net: number[];
  v4mask: number[];
  /**
   * A long IPv4 list indexed by mask: one set of networks per distinct mask, so a lookup costs one
   * set probe per mask length instead of one test per network (HAProxy keeps them in a prefix tree).
   * Built at the first match, dropped when a network is added.
   */
  v4idx: { mask: number; nets: Set<number> }[] | null;
  /** IPv6 networks: 16 bytes and a prefix length. */
  v6net: Uint8Array[];
  v6len: number[];
  /** Number of patterns (0: a non-boolean match never matches). */
  count: number;
}

/** A new empty pattern list for method <match>. */
export function newPatternExpr(match: number, flags: number): PatternExpr {
  return { match, flags, strSet: new Set(), strs: [], regs: [], bins: [], lo: [], hi: [], v4net: [], v4mask: [], v4idx: null, v6net: [], v6len: [], count: 0 };
}

/** Finds a matching method by name; -1 if unknown. HAProxy: pat_find_match_name(). */
export function patFindMatchName(name: string): number {
  return PAT_MATCH_NAMES.indexOf(name);
}

const INT_RE = /^-?[0-9]+$/;

/** Parses a decimal integer as HAProxy's pattern parsers do; null if not one. */
function parseIntStrict(s: string): number | null {
  if (!INT_RE.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** Integer operators usable before a value. HAProxy: the compatibility layer of parse_acl_expr(). */
export const INT_OPERATORS: Record<string, true> = Object.assign(Object.create(null), { eq: true, le: true, lt: true, ge: true, gt: true });

/**
 * Parses an integer pattern "x", "x:y", ":y", "x:" (or a dotted version "M.m" when <dotted>), with
 * the operator <op> (eq/le/lt/ge/gt) written before it. HAProxy: pat_parse_int(),
 * pat_parse_dotted_ver() and the operator layer of parse_acl_expr(). Returns an error or null.
 */
export function patParseInt(text: string, op: string, dotted: boolean, out: PatternExpr): string | null {
  const num = (s: string): number | null => {
    if (!dotted || !s.includes(".")) return parseIntStrict(s);
    const [a, b, ...rest] = s.split(".");
    const M = parseIntStrict(a);
    const m = parseIntStrict(b);
    if (rest.length || M === null || m === null || M < 0 || m < 0 || m > 65535) return null;
    return M * 65536 + m;
  };
  const bad = dotted ? `'${text}' is not a valid dotted number range` : `'${text}' is not a valid number range`;
  if (op !== "eq" && op !== "") {
    const v = num(text);
    if (v === null) return `'${text}' is neither a number nor a supported operator`;
    let lo = -Infinity;
    let hi = Infinity;
    if (op === "le") hi = v;
    else if (op === "lt") hi = v - 1;
    else if (op === "ge") lo = v;
    else if (op === "gt") lo = v + 1;
    out.lo.push(lo);
    out.hi.push(hi);
    out.count++;
    return null;
  }
  const colon = text.indexOf(":");
  let lo: number | null;
  let hi: number | null;
  if (colon < 0) {
    lo = hi = num(text);
    if (lo === null) return dotted ? `'${text}' is not a dotted number` : `'${text}' is not a number`;
  } else {
    const a = text.slice(0, colon);
    const b = text.slice(colon + 1);
    lo = a === "" ? -Infinity : num(a);
    hi = b === "" ? Infinity : num(b);
    if (lo === null || hi === null || (a === "" && b === "")) return bad;
  }
  out.lo.push(lo!);
  out.hi.push(hi!);
  out.count++;
  return null;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted IPv4 address to an unsigned integer; null if not one. */
export function parseIpv4(s: string): number | null {
  const m = V4_RE.exec(s);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return null;
    v = v * 256 + b;
  }
  return v;
}

/** Parses an IPv6 address to 16 bytes; null if not one (an embedded IPv4 tail is allowed). */
export function parseIpv6(s: string): Uint8Array | null {
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let head = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    head = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const dbl = head.indexOf("::");
  if (dbl >= 0 && head.indexOf("::", dbl + 1) >= 0) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === "") return [];
    const out: number[] = [];
    for (const g of t.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const a = parseGroups(head.slice(0, dbl));
    const b = parseGroups(head.slice(dbl + 2));
    if (!a || !b) return null;
    const fill = 8 - a.length - b.length;
    if (fill < 1) return null;
    groups = [...a, ...new Array<number>(fill).fill(0), ...b];
  } else {
    const a = parseGroups(head);
    if (!a) return null;
    groups = a;
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return out;
}

/**
 * Parses an IP pattern: IPv4 with an optional /len or /dotted-mask, or IPv6 with an optional /len.
 * HAProxy: pat_parse_ip() (str2net / str62net). hapoll never resolves host names (1.8 does when
 * -n is not given): a name is an error here.
 */
export function patParseIp(text: string, out: PatternExpr): string | null {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const mask = slash < 0 ? null : text.slice(slash + 1);
  const bad = `'${text}' is not a valid IPv4 or IPv6 address`;
  const v4 = parseIpv4(addr);
  if (v4 !== null) {
    let m = 0xffffffff;
    if (mask !== null) {
      const n = parseIntStrict(mask);
      if (n !== null) {
        if (n < 0 || n > 32) return bad;
        m = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
      } else {
        const mm = parseIpv4(mask);
        if (mm === null) return bad;
        m = mm;
      }
    }
    out.v4net.push((v4 & m) >>> 0);
    out.v4mask.push(m);
    out.v4idx = null;
    out.count++;
    return null;
  }
  const v6 = parseIpv6(addr);
  if (v6 !== null) {
    let len = 128;
    if (mask !== null) {
      const n = parseIntStrict(mask);
      if (n === null || n < 0 || n > 128) return bad;
      len = n;
    }
    out.v6net.push(v6);
    out.v6len.push(len);
    out.count++;
    return null;
  }
  return bad;
}

/**
 * Adds pattern <text> to <out> (its method decides how it is read). <op> is the integer operator
 * in force (int/len only); <dotted> reads "M.m" versions (req_ssl_ver). Returns an error or null.
 * HAProxy: pat_parse_fcts[] through pattern_add / pat_ref_push.
 */
export function patParse(text: string, op: string, dotted: boolean, out: PatternExpr): string | null {
  const ic = (out.flags & PAT_MF_IGNORE_CASE) !== 0;
  switch (out.match) {
    case PAT_MATCH_FOUND:
    case PAT_MATCH_BOOL:
      out.count++;
      return null;
    case PAT_MATCH_INT:
    case PAT_MATCH_LEN:
      return patParseInt(text, op, dotted, out);
    case PAT_MATCH_IP:
      return patParseIp(text, out);
    case PAT_MATCH_BIN: {
      if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return `'${text}' is not a valid hexadecimal binary string`;
      out.bins.push(Uint8Array.from(Buffer.from(text, "hex")));
      out.count++;
      return null;
    }
    case PAT_MATCH_REG: {
      try {
        out.regs.push(new RegExp(text, ic ? "i" : ""));
      } catch (e) {
        return `regex '${text}' is invalid: ${(e as Error).message}`;
      }
      out.count++;
      return null;
    }
    case PAT_MATCH_STR:
      out.strSet.add(ic ? text.toLowerCase() : text);
      out.count++;
      return null;
    default:
      out.strs.push(ic ? text.toLowerCase() : text);
      out.count++;
      return null;
  }
}

/**
 * Reads patterns from <filename>, one a line (leading blanks skipped, '#' lines and empty lines
 * ignored, the rest of the line, spaces included, is the pattern). HAProxy: pat_ref_read_from_file().
 */
export function patReadFile(filename: string, op: string, dotted: boolean, out: PatternExpr): string | null {
  let text: string;
  try {
    text = fs.readFileSync(filename, "latin1");
  } catch {
    return `failed to open pattern file <${filename}>`;
  }
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    let l = lines[n].replace(/^[ \t]+/, "").replace(/[\r\n]+$/, "");
    if (l === "" || l[0] === "#") continue;
    l = l.replace(/[ \t]+$/, (m) => (out.match === PAT_MATCH_IP || out.match === PAT_MATCH_INT ? "" : m));
    const err = patParse(l, op, dotted, out);
    if (err) return `${err} at line ${n + 1} of file '${filename}'`;
  }
  return null;
}

/* --------------------------------------------------------------------- */
/* Matching                                                               */
/* --------------------------------------------------------------------- */

const latin1 = new TextDecoder("latin1");

/** The sample as a string (HAProxy's casts to SMP_T_STR). */
export function sampleToString(s: Sample): string {
  switch (s.type) {
    case SMP_T_STR: return s.str;
    case SMP_T_BOOL: case SMP_T_SINT: return String(s.int);
    case SMP_T_IPV4: return `${s.int >>> 24}.${(s.int >>> 16) & 255}.${(s.int >>> 8) & 255}.${s.int & 255}`;
    case SMP_T_IPV6: return ipv6String(s.bin!, s.off);
    case SMP_T_BIN: return s.len === 0 ? "" : latin1.decode(s.bin!.subarray(s.off, s.off + s.len));
  }
  return "";
}

/** An IPv6 address in its compressed text form. */
export function ipv6String(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

function bytesEqual(a: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

const v4mapped = new Uint8Array(16);

/** Whether <net>/<plen> contains the 16 bytes at <b>[<off>]. */
function v6InNet(b: Uint8Array, off: number, net: Uint8Array, plen: number): boolean {
  let bits = plen;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[off + i] & m) !== (net[i] & m)) return false;
  }
  return true;
}

/** Whether <s> matches one of the dom/dir patterns (delimited sub-strings). HAProxy: match_word(). */
function matchWord(str: string, pat: string, delim: string): boolean {
  const trim = (x: string): string => {
    let a = 0;
    let b = x.length;
    while (a < b && x[a] === delim) a++;
    while (b > a && x[b - 1] === delim) b--;
    return x.slice(a, b);
  };
  const p = trim(pat);
  if (p === "") return false;
  let at = str.indexOf(p);
  while (at >= 0) {
    const before = at === 0 || str[at - 1] === delim || (delim === "/" && str[at - 1] === "?");
    const end = at + p.length;
    const after = end === str.length || str[end] === delim || (delim === "/" && str[end] === "?");
    if (before && after) return true;
    at = str.indexOf(p, at + 1);
  }
  return false;
}

/** Lists up to this long are scanned; longer ones go through the mask index. */
const V4_SCAN_MAX = 16;

/** Builds <p>'s IPv4 mask index (distinct masks, longest first). */
function buildV4Index(p: PatternExpr): { mask: number; nets: Set<number> }[] {
  const byMask = new Map<number, Set<number>>();
  for (let i = 0; i < p.v4net.length; i++) {
    let set = byMask.get(p.v4mask[i]);
    if (set === undefined) byMask.set(p.v4mask[i], (set = new Set()));
    set.add(p.v4net[i]);
  }
  return (p.v4idx = [...byMask].sort((x, y) => y[0] - x[0]).map(([mask, nets]) => ({ mask, nets })));
}

/** Whether unsigned IPv4 address <a> is in one of <p>'s networks. */
function matchV4(p: PatternExpr, a: number): boolean {
  const net = p.v4net;
  if (net.length <= V4_SCAN_MAX) {
    const mask = p.v4mask;
    for (let i = 0; i < net.length; i++) if (((a & mask[i]) >>> 0) === net[i]) return true;
    return false;
  }
  const idx = p.v4idx ?? buildV4Index(p);
  for (let i = 0; i < idx.length; i++) if (idx[i].nets.has((a & idx[i].mask) >>> 0)) return true;
  return false;
}

/**
 * Whether sample <s> matches one of the patterns of <p>. HAProxy: pattern_exec_match() with the
 * pat_match_* function of the method.
 */
export function patternMatch(p: PatternExpr, s: Sample): boolean {
  const m = p.match;
  if (m === PAT_MATCH_FOUND) return true;
  if (m === PAT_MATCH_BOOL) {
    if (s.type === SMP_T_BOOL || s.type === SMP_T_SINT) return s.int !== 0;
    return false;
  }
  if (p.count === 0) return false;
  if (m === PAT_MATCH_INT || m === PAT_MATCH_LEN) {
    let v: number;
    if (m === PAT_MATCH_LEN) {
      v = s.type === SMP_T_STR ? s.str.length : s.type === SMP_T_BIN ? s.len : sampleToString(s).length;
    } else if (s.type === SMP_T_SINT || s.type === SMP_T_BOOL || s.type === SMP_T_IPV4) {
      v = s.int;
    } else if (s.type === SMP_T_STR) {
      const n = parseIntStrict(s.str);
      if (n === null) return false;
      v = n;
    } else return false;
    const lo = p.lo;
    const hi = p.hi;
    for (let i = 0; i < lo.length; i++) if (v >= lo[i] && v <= hi[i]) return true;
    return false;
  }
  if (m === PAT_MATCH_IP) {
    if (s.type === SMP_T_IPV4) {
      const a = s.int;
      if (matchV4(p, a)) return true;
      if (p.v6net.length) {
        v4mapped.fill(0);
        v4mapped[10] = v4mapped[11] = 0xff;
        v4mapped[12] = a >>> 24; v4mapped[13] = (a >>> 16) & 255; v4mapped[14] = (a >>> 8) & 255; v4mapped[15] = a & 255;
        for (let i = 0; i < p.v6net.length; i++) if (v6InNet(v4mapped, 0, p.v6net[i], p.v6len[i])) return true;
      }
      return false;
    }
    if (s.type === SMP_T_IPV6) {
      const b = s.bin!;
      const o = s.off;
      for (let i = 0; i < p.v6net.length; i++) if (v6InNet(b, o, p.v6net[i], p.v6len[i])) return true;
      // an IPv4-mapped IPv6 address matches the IPv4 networks (HAProxy: v6tov4()).
      if (p.v4net.length) {
        for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
        if (b[o + 10] !== 0xff || b[o + 11] !== 0xff) return false;
        const a = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
        if (matchV4(p, a)) return true;
      }
      return false;
    }
    if (s.type === SMP_T_STR) {
      const a = parseIpv4(s.str);
      if (a !== null && matchV4(p, a)) return true;
    }
    return false;
  }
  if (m === PAT_MATCH_BIN) {
    let b: Uint8Array;
    let off = 0;
    let len: number;
    if (s.type === SMP_T_BIN) {
      b = s.bin!;
      off = s.off;
      len = s.len;
    } else {
      b = Buffer.from(sampleToString(s), "latin1");
      len = b.length;
    }
    for (const pat of p.bins) if (bytesEqual(pat, b, off, len)) return true;
    return false;
  }
  let str = sampleToString(s);
  if (p.flags & PAT_MF_IGNORE_CASE) str = str.toLowerCase();
  switch (m) {
    case PAT_MATCH_STR: return p.strSet.has(str);
    case PAT_MATCH_REG:
      for (const r of p.regs) if (r.test(str)) return true;
      return false;
    case PAT_MATCH_BEG:
      for (const x of p.strs) if (str.startsWith(x)) return true;
      return false;
    case PAT_MATCH_END:
      for (const x of p.strs) if (str.endsWith(x)) return true;
      return false;
    case PAT_MATCH_SUB:
      for (const x of p.strs) if (str.includes(x)) return true;
      return false;
    case PAT_MATCH_DIR:
      for (const x of p.strs) if (matchWord(str, x, "/")) return true;
      return false;
    case PAT_MATCH_DOM:
      for (const x of p.strs) if (matchWord(str, x, ".")) return true;
      return false;
  }
  return false;
}
