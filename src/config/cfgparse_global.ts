/**
 * The global section: its keyword table (GLOBAL_KEYWORDS), the keywords accepted and ignored
 * (GLOBAL_IGNORED), `stats socket|timeout|maxconn|bind-process`, and the dispatcher of its lines.
 *
 * HAProxy: cfg_parse_global() of src/cfgparse.c (src/cfgparse-global.c in 2.x), the CFG_GLOBAL
 * cfg_kws of src/proxy.c and src/cli.c, stats_parse_global() of src/cli.c.
 */

import { isParseError, parseTime } from "./address";
import { BIND_KEYWORDS, str2listener, type BindOptionValues } from "./cfg_bind";
import { parseLogLine } from "./cfg_log";
import { ERR_ALERT, ERR_FATAL, KWM_NO, OK, atol, noPrototype, timeErr } from "./cfgparse_util";
import type { CfgKw, CfgParser, LineCtx } from "./cfgparse_state";
import { DIAG_FORM_PARSING, DIAG_FORM_PARSING_TIGHT, type GlobalConfig, type StatsSocketConfig } from "./types";

/** Highest nbproc. HAProxy: LONGBITS on 64-bit hosts. */
const LONGBITS = 64;

/** A flag keyword without argument. */
function globalFlag(set: (g: GlobalConfig) => void): CfgKw<LineCtx> {
  return {
    parse(p, c) {
      if (p.tooManyArgs(c, 0)) return;
      set(p.global);
    },
  };
}

/**
 * An integer keyword: `'%s' already specified. Continuing.` when <isSet>,
 * `'%s' expects an integer argument.` when missing, C atol() otherwise.
 */
function globalInt(isSet: ((p: CfgParser) => boolean) | null, set: (p: CfgParser, v: number) => string | null): CfgKw<LineCtx> {
  return {
    parse(p, c) {
      const kw = c.args[0];
      if (p.tooManyArgs(c, 1)) return;
      if (isSet && isSet(p)) {
        p.alert(`'${kw}' already specified. Continuing.`, DIAG_FORM_PARSING, ERR_ALERT);
        return;
      }
      if (!c.args[1]) {
        p.alert(`'${kw}' expects an integer argument.`);
        return;
      }
      const err = set(p, atol(c.args[1]));
      if (err) p.alert(err);
    },
  };
}

/** `stats socket|timeout|maxconn|bind-process`. HAProxy: stats_parse_global(), src/cli.c. */
function globalStats(p: CfgParser, c: LineCtx): void {
  const a = c.args;
  const kw = `${a[0]} ${a[1]}`;
  if (a[1] === "socket") {
    if (!a[2]) {
      p.alert(`'${kw}' in global section expects an address or a path to a UNIX socket`);
      return;
    }
    const addrs = str2listener(a[2], p.env);
    if (isParseError(addrs)) {
      /* HAProxy 1.8 really prints the location twice here */
      p.alert(`parsing [${p.file}:${p.line}] : '${kw}' : ${addrs.error}`);
      return;
    }
    const v: BindOptionValues = { acceptProxy: false };
    let cur = 3;
    while (a[cur]) {
      const bk = BIND_KEYWORDS[a[cur]];
      if (!bk) {
        p.alert(`'${kw}' : unknown keyword '${a[cur]}'.`);
        return;
      }
      const r = bk.parse(p, { args: a, cur, v }) ?? OK;
      if (r.code & ERR_FATAL) {
        p.alert(`'${kw}' : '${r.err ?? `error encountered while processing '${a[cur]}'`}'`);
        return;
      }
      if (r.warn) p.warn(`'${kw}' : ${r.warn}`);
      cur += 1 + bk.skip;
    }
    for (const addr of addrs) {
      const s: StatsSocketConfig = {
        addr,
        level: v.level ?? "operator",
        exposeFd: v.exposeFd ?? false,
        mode: v.unixMode ?? -1,
        uid: v.unixUid ?? -1,
        gid: v.unixGid ?? -1,
        file: p.file,
        line: p.line,
      };
      if (v.unixUser !== undefined) s.user = v.unixUser;
      if (v.unixGroup !== undefined) s.group = v.unixGroup;
      if (p.statsFeAt < 0) p.statsFeAt = p.proxies.length;
      p.global.statsSockets.push(s);
    }
  } else if (a[1] === "timeout") {
    const res = parseTime(a[2]);
    if (typeof res !== "number") {
      p.alert(timeErr(res, a[2], kw, (ch) => `'${kw}' : unexpected character '${ch}'`));
      return;
    }
    if (!res) {
      p.alert(`'${kw}' expects a positive value`);
      return;
    }
    p.global.statsTimeout = res;
  } else if (a[1] === "maxconn") {
    if (atol(a[2]) <= 0) {
      p.alert(`'${kw}' expects a positive value`);
      return;
    }
    p.warn(`'${kw}' is not supported by hapoll, ignored.`);
  } else if (a[1] === "bind-process") {
    p.warn(`'${kw}' is not supported by hapoll, ignored.`);
  } else {
    p.alert(`'${a[0]}' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '${a[1]}')`);
  }
}

/** Global keywords. HAProxy: cfg_parse_global() and the CFG_GLOBAL cfg_kws of src/proxy.c, src/cli.c. */
const GLOBAL_KEYWORDS: Record<string, CfgKw<LineCtx>> = {
  /* HAProxy: cfg_parse_global() "log-tag": the syslog tag of every log line. */
  "log-tag": {
    parse(p, c) {
      if (p.tooManyArgs(c, 1)) return;
      if (!c.args[1]) {
        p.alert(`'${c.args[0]}' expects a tag for use in syslog.`);
        return;
      }
      p.global.logTag = c.args[1];
    },
  },
  global: {
    parse(p, c) {
      p.tooManyArgs(c, 0);
    },
  },
  daemon: globalFlag((g) => (g.daemon = true)),
  /* HAProxy: "master-worker [no-exit-on-failure]" (src/cfgparse.c); hapoll's master never kills
   * the other workers when one fails, so the option changes nothing. */
  "master-worker": {
    parse(p, c) {
      const a = c.args;
      if (p.tooManyArgs(c, 1)) return;
      if (a[1] && a[1] !== "no-exit-on-failure") {
        p.alert(`'${a[0]}' only supports 'exit-on-failure' option.`);
        return;
      }
      p.global.masterWorker = true;
    },
  },
  quiet: globalFlag((g) => (g.quiet = true)),
  noepoll: globalFlag((g) => (g.noepoll = true)),
  nokqueue: globalFlag((g) => (g.nokqueue = true)),
  nopoll: globalFlag((g) => (g.nopoll = true)),
  nosplice: globalFlag((g) => (g.nosplice = true)),
  noreuseport: globalFlag((g) => (g.noreuseport = true)),
  maxconn: globalInt(
    (p) => p.global.maxconn !== 0,
    (p, v) => {
      p.global.maxconn = v;
      // 1.8 takes any int; a negative one (e.g. a huge value through atol) cannot size anything.
      return v < 0 ? `'maxconn' expects a positive integer argument.` : null;
    },
  ),
  maxconnrate: globalInt(
    (p) => p.global.maxconnrate !== undefined,
    (p, v) => {
      p.global.maxconnrate = v;
      return null;
    },
  ),
  nbproc: globalInt(null, (p, v) => {
    p.global.nbproc = v;
    return v < 1 || v > LONGBITS ? `'nbproc' must be between 1 and ${LONGBITS} (was ${v}).` : null;
  }),
  /* HAProxy 1.8: nbthread <n>, 1 to MAX_THREADS (LONGBITS). hapoll runs one thread per process: 1 is
   * what it does anyway; more is ignored with a warning naming nbproc, hapoll's way to several cores. */
  nbthread: globalInt(null, (p, v) => {
    if (v < 1 || v > LONGBITS) return `'nbthread' must be between 1 and ${LONGBITS} (was ${v}).`;
    if (v > 1) {
      p.warn(`'nbthread ${v}' is not supported by hapoll (one thread per process), ignored: use 'nbproc ${v}' to run on several cores.`);
    }
    return null;
  }),
  "ulimit-n": globalInt(
    (p) => p.global.ulimitN !== 0,
    (p, v) => {
      p.global.ulimitN = v;
      return null;
    },
  ),
  "tune.maxpollevents": globalInt(
    (p) => p.rawMaxpollevents !== 0,
    (p, v) => {
      p.rawMaxpollevents = v;
      return null;
    },
  ),
  "tune.maxaccept": globalInt(
    (p) => p.global.tuneMaxaccept !== 0,
    (p, v) => {
      p.global.tuneMaxaccept = v;
      return null;
    },
  ),
  "tune.maxrewrite": globalInt(null, (p, v) => {
    if (v < 0) return "'tune.maxrewrite' expects a positive integer argument.";
    p.global.tuneMaxrewrite = v;
    return null;
  }),
  "tune.recv_enough": globalInt(null, (p, v) => {
    p.global.tuneRecvEnough = v;
    return null;
  }),
  // hapoll only: HAProxy 1.8 has no such keyword (see global.readLoops).
  "tune.hapoll.read-loops": globalInt(null, (p, v) => {
    if (v < 1 || v > 64) return "'tune.hapoll.read-loops' expects an integer between 1 and 64.";
    p.global.tuneReadLoops = v;
    return null;
  }),
  "tune.bufsize": globalInt(null, (p, v) => {
    if (v <= 0) return "'tune.bufsize' expects a positive integer argument.";
    p.global.tuneBufsize = v;
    return null;
  }),
  pidfile: {
    parse(p, c) {
      if (p.tooManyArgs(c, 1)) return;
      if (p.global.pidfile !== undefined) {
        p.alert(`'${c.args[0]}' already specified. Continuing.`, DIAG_FORM_PARSING, ERR_ALERT);
        return;
      }
      if (!c.args[1]) {
        p.alert(`'${c.args[0]}' expects a file name as an argument.`);
        return;
      }
      p.global.pidfile = c.args[1];
    },
  },
  "hard-stop-after": {
    parse(p, c) {
      const a = c.args;
      if (!a[1]) {
        p.alert(`'${a[0]}' expects <time> as argument.`);
        return;
      }
      const res = parseTime(a[1]);
      if (typeof res !== "number") {
        p.alert(timeErr(res, a[1], a[0], (ch) => `unexpected character '${ch}' in argument to <${a[0]}>.`));
        return;
      }
      p.global.hardStopAfter = res;
    },
  },
  log: {
    parse(p, c) {
      const a = c.args;
      if (c.kwm === KWM_NO) {
        if (a[1]) {
          p.alert("'no log' does not expect arguments.", DIAG_FORM_PARSING_TIGHT);
          return;
        }
        p.global.logs = [];
        return;
      }
      if (p.tooManyArgs(c, 8)) return;
      if (!a[1] || !a[2]) {
        p.alert(`'${a[0]}' expects <address> and <facility> as arguments.`);
        return;
      }
      const t = parseLogLine(p, c, false);
      if (t) p.global.logs.push(t);
    },
  },
  stats: { parse: globalStats },
};

/**
 * Global keywords of HAProxy 1.8 that hapoll accepts and ignores with a warning
 * "'%s' is not supported by hapoll, ignored.".
 */
const GLOBAL_IGNORED = new Set([
  "user", "group", "uid", "gid", "chroot", "node", "description", "log-send-hostname",
  "spread-checks", "max-spread-checks", "cpu-map", "debug", "nogetaddrinfo",
  "maxpipes", "maxsessrate", "maxsslrate", "maxcomprate", "maxcompcpuusage", "maxzlibmem",
  "unix-bind", "setenv", "presetenv", "unsetenv", "resetenv", "server-state-base", "server-state-file",
  "external-check", "ca-base", "crt-base", "ssl-server-verify", "ssl-default-bind-ciphers",
  "ssl-default-bind-options", "ssl-default-server-ciphers", "ssl-default-server-options",
  "tune.chksize", "tune.buffers.limit", "tune.buffers.reserve",
  "tune.idletimer", "tune.rcvbuf.client", "tune.rcvbuf.server", "tune.sndbuf.client", "tune.sndbuf.server",
  "tune.pipesize", "tune.http.cookielen", "tune.http.logurilen", "tune.http.maxhdr", "tune.comp.maxlevel",
  "tune.pattern.cache-size", "tune.zlib.memlevel", "tune.zlib.windowsize", "tune.ssl.cachesize",
  "tune.ssl.lifetime", "tune.ssl.maxrecord", "tune.ssl.default-dh-param", "tune.lua.maxmem",
  "tune.vars.global-max-size", "tune.vars.proc-max-size", "tune.vars.reqres-max-size",
  "tune.vars.sess-max-size", "tune.vars.txn-max-size", "tune.h2.header-table-size",
  "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams",
]);

/** A line of the global section. HAProxy: cfg_parse_global(), src/cfgparse.c (src/cfgparse-global.c in 2.x). */
export function cfgParseGlobal(p: CfgParser, c: LineCtx): void {
  const h = GLOBAL_KEYWORDS[c.args[0]];
  if (h) {
    p.kwResult(h.parse(p, c));
  } else if (GLOBAL_IGNORED.has(c.args[0])) {
    p.warn(`'${c.args[0]}' is not supported by hapoll, ignored.`);
  } else {
    p.alert(`unknown keyword '${c.args[0]}' in 'global' section`);
  }
}

noPrototype(GLOBAL_KEYWORDS);
