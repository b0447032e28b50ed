/**
 * Bind options and the `bind` keyword: the BIND_KEYWORDS table (shared with `stats socket` in the
 * global section), str2listener() and the `bind` line of a proxy.
 *
 * HAProxy: the bind_kws of src/listener.c, src/proto_uxst.c, src/proto_tcp.c and src/cli.c
 * (HAProxy keeps bind keywords with the listener code), str2listener() of src/cfgparse.c, and the
 * "bind" branch of cfg_parse_listen() (src/cfgparse-listen.c in 2.x).
 */

import { isParseError, str2saRange } from "./address";
import { CAP_FE, ERR_FATAL, ERR_WARN, FAIL, OK, atol, noPrototype } from "./cfgparse_util";
import { curProxy, type CfgOptKw, type CfgParser, type LineCtx } from "./cfgparse_state";
import type { BindConfig, ParsedAddress, StatsLevel } from "./types";

/** Values collected from bind options. HAProxy: fields of struct bind_conf / struct listener. */
export interface BindOptionValues {
  acceptProxy: boolean;
  name?: string;
  backlog?: number;
  maxconn?: number;
  unixMode?: number;
  unixUid?: number;
  unixGid?: number;
  unixUser?: string;
  unixGroup?: string;
  level?: StatsLevel;
  /** `expose-fd listeners`. */
  exposeFd?: boolean;
  v6only?: boolean;
  v4v6?: boolean;
}

/** What a bind option parser sees: the words, the index of the option word, the values collected so far. */
export interface BindCtx {
  args: string[];
  cur: number;
  v: BindOptionValues;
}

/** A bind option. HAProxy: struct bind_kw (kw, parse, skip), include/types/listener.h. */
export type BindKw = CfgOptKw<BindCtx>;

/** backlog / maxconn: a positive integer. HAProxy: bind_parse_backlog()/bind_parse_maxconn(), src/listener.c. */
function bindPositive(field: "backlog" | "maxconn"): BindKw {
  return {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      const val = atol(args[cur + 1]);
      if (val <= 0) return { code: FAIL, err: `'${args[cur]}' : invalid value ${val}, must be > 0` };
      v[field] = val;
      return OK;
    },
  };
}

/** An option hapoll accepts and ignores with a warning. */
function bindIgnored(skip: number): BindKw {
  return { skip, parse: (_p, { args, cur }) => ({ code: ERR_WARN, warn: `'${args[cur]}' is not supported by hapoll, ignored.` }) };
}

/** Bind options. HAProxy: bind_kws of src/listener.c, src/proto_uxst.c, src/proto_tcp.c, src/cli.c. */
export const BIND_KEYWORDS: Record<string, BindKw> = {
  "accept-proxy": {
    skip: 0,
    parse(_p, { v }) {
      v.acceptProxy = true;
      return OK;
    },
  },
  backlog: bindPositive("backlog"),
  maxconn: bindPositive("maxconn"),
  name: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing name` };
      v.name = args[cur + 1];
      return OK;
    },
  },
  mode: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      const s = args[cur + 1];
      if (!s || !/^[ \t]*[+-]?[0-7]+$/.test(s)) {
        return { code: FAIL, err: `'${args[cur]}' : missing or invalid mode '${s}' (octal integer expected)` };
      }
      v.unixMode = parseInt(s.trim(), 8);
      return OK;
    },
  },
  uid: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      v.unixUid = atol(args[cur + 1]);
      return OK;
    },
  },
  gid: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing value` };
      v.unixGid = atol(args[cur + 1]);
      return OK;
    },
  },
  user: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing user name` };
      v.unixUser = args[cur + 1];
      return OK;
    },
  },
  group: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      if (!args[cur + 1]) return { code: FAIL, err: `'${args[cur]}' : missing group name` };
      v.unixGroup = args[cur + 1];
      return OK;
    },
  },
  level: {
    skip: 1,
    parse(_p, { args, cur, v }) {
      const s = args[cur + 1];
      if (!s) return { code: FAIL, err: `'${args[cur]}' : missing level` };
      if (s !== "user" && s !== "operator" && s !== "admin") {
        return { code: FAIL, err: `'${args[cur]}' only supports 'user', 'operator', and 'admin' (got '${s}')` };
      }
      v.level = s;
      return OK;
    },
  },
  "accept-netscaler-cip": bindIgnored(1),
  id: bindIgnored(1),
  nice: bindIgnored(1),
  process: bindIgnored(1),
  /* HAProxy: bind_parse_expose_fd(), src/cli.c: lets `_getsocks` hand out the listening sockets. */
  "expose-fd": {
    skip: 1,
    parse(_p, { args, cur, v }) {
      const s = args[cur + 1];
      if (!s) return { code: FAIL, err: `'${args[cur]}' : missing fd type` };
      if (s !== "listeners") return { code: FAIL, err: `'${args[cur]}' only supports 'listeners' (got '${s}')` };
      v.exposeFd = true;
      return OK;
    },
  },
  "severity-output": bindIgnored(1),
  interface: bindIgnored(1),
  mss: bindIgnored(1),
  namespace: bindIgnored(1),
  "defer-accept": bindIgnored(0),
  tfo: bindIgnored(0),
  transparent: bindIgnored(0),
  /* HAProxy: bind_parse_v4v6() / bind_parse_v6only(), src/proto_tcp.c: IPv6 listeners only. */
  v4v6: {
    skip: 0,
    parse(_p, { v }) {
      v.v4v6 = true;
      return OK;
    },
  },
  v6only: {
    skip: 0,
    parse(_p, { v }) {
      v.v6only = true;
      return OK;
    },
  },
};

/**
 * Parses the addresses of a bind/stats socket argument (comma-separated).
 * HAProxy: str2listener(), src/cfgparse.c.
 */
export function str2listener(arg: string, env?: Record<string, string | undefined>): ParsedAddress[] | { error: string } {
  const pieces = arg.split(",");
  if (pieces.length > 1 && pieces[pieces.length - 1] === "") pieces.pop();
  const out: ParsedAddress[] = [];
  for (const piece of pieces) {
    const addr = str2saRange(piece, { portRequired: true, allowPortRange: true, allowPortOffset: false, kw: "bind", env });
    if (isParseError(addr)) return addr;
    out.push(addr);
  }
  return out;
}

/** `bind <addr>[,<addr>...] [options]`. HAProxy: cfg_parse_listen() "bind" + str2listener() + bind_kws. */
export function proxyBind(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  if (px.isDefaults) {
    p.alert(`'${a[0]}' not allowed in 'defaults' section.`);
    return;
  }
  const ignored = p.warnIfNotCap(px, CAP_FE, a[0]);
  if (!a[1]) {
    p.alert(`'${a[0]}' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.`);
    return;
  }
  const addrs = str2listener(a[1], p.env);
  if (isParseError(addrs)) {
    p.alert(`'${a[0]}' : ${addrs.error}`);
    return;
  }
  const v: BindOptionValues = { acceptProxy: false };
  let cur = 2;
  while (a[cur]) {
    const bk = BIND_KEYWORDS[a[cur]];
    if (!bk) {
      p.alert(`'${a[0]} ${a[1]}' unknown keyword '${a[cur]}'.`);
      return;
    }
    const r = bk.parse(p, { args: a, cur, v }) ?? OK;
    if (r.code & ERR_FATAL) {
      p.alert(`'${a[0]} ${a[1]}' : ${r.err ?? `error encountered while processing '${a[cur]}'.`}`);
      return;
    }
    if (r.warn) p.warn(`'${a[0]} ${a[1]}' : ${r.warn}`);
    cur += 1 + bk.skip;
  }
  if (ignored) return;
  for (const addr of addrs) {
    const b: BindConfig = { addr, acceptProxy: v.acceptProxy, file: p.file, line: p.line, raw: a[1] };
    if (v.name !== undefined) b.name = v.name;
    if (v.backlog !== undefined) b.backlog = v.backlog;
    if (v.maxconn !== undefined) b.maxconn = v.maxconn;
    if (addr.family === "ipv6" || (addr.needsResolve && !addr.familyForced)) {
      if (v.v6only) b.v6only = true;
      if (v.v4v6) b.v4v6 = true;
    }
    if (addr.family === "unix" || addr.family === "abns") {
      if (v.unixMode !== undefined) b.unixMode = v.unixMode;
      if (v.unixUid !== undefined) b.unixUid = v.unixUid;
      if (v.unixGid !== undefined) b.unixGid = v.unixGid;
      if (v.unixUser !== undefined) b.unixUser = v.unixUser;
      if (v.unixGroup !== undefined) b.unixGroup = v.unixGroup;
    }
    px.cfg.binds.push(b);
  }
}

noPrototype(BIND_KEYWORDS);
