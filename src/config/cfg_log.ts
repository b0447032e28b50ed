/**
 * The `log` line shared by the global and proxy sections: `log <target> [len N] [format F]
 * <facility> [level [minlevel]]`, with the syslog facility, level and format names.
 *
 * HAProxy: the "log" branches of cfg_parse_global() and cfg_parse_listen() in 1.8's src/cfgparse.c,
 * which HAProxy 2.x merged into parse_logsrv() of src/log.c.
 */

import { isParseError, str2saRange } from "./address";
import { atol } from "./cfgparse_util";
import type { CfgParser, LineCtx } from "./cfgparse_state";
import type { LogTarget } from "./types";

/** Default syslog port. HAProxy: SYSLOG_PORT, include/types/log.h. */
const SYSLOG_PORT = 514;
/** Default log line length. HAProxy: MAX_SYSLOG_LEN, include/common/defaults.h. */
const MAX_SYSLOG_LEN = 1024;

/** Syslog facilities. HAProxy: log_facilities[], src/log.c. */
const LOG_FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
  "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
/** Syslog levels. HAProxy: log_levels[], src/log.c. */
const LOG_LEVELS = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
/** Log formats: 1.8's rfc3164/rfc5424 plus the 2.x ones the runtime may implement. */
const LOG_FORMATS = ["rfc3164", "rfc5424", "short", "raw", "priority", "iso", "timed", "local"];

/**
 * Parses `log <target> [len N] [format F] <facility> [level [minlevel]]`
 * starting at args[1]. <stopEarly> reproduces the proxy version, which stops
 * at the first bad facility/level (the global one reports them all).
 * HAProxy: the "log" branches of cfg_parse_global() and cfg_parse_listen(), src/cfgparse.c.
 */
export function parseLogLine(p: CfgParser, c: LineCtx, stopEarly: boolean): LogTarget | null {
  const a = c.args;
  let arg = 0;
  let maxlen = MAX_SYSLOG_LEN;
  let format = "rfc3164";
  let ok = true;
  if (a[arg + 2] === "len") {
    const len = atol(a[arg + 3]);
    if (len < 80 || len > 65535) {
      p.alert(`invalid log length '${a[arg + 3]}', must be between 80 and 65535.`);
      return null;
    }
    maxlen = len;
    arg += 2;
  }
  if (a[arg + 2] === "format") {
    if (!LOG_FORMATS.includes(a[arg + 3])) {
      p.alert(`unknown log format '${a[arg + 3]}'`);
      return null;
    }
    format = a[arg + 3];
    arg += 2;
  }
  if (p.tooManyArgs(c, 3, arg + 1)) return null;

  const facility = a[arg + 2];
  if (!LOG_FACILITIES.includes(facility)) {
    p.alert(`unknown log facility '${facility}'`);
    ok = false;
    if (stopEarly) return null;
  }
  let level: string | undefined;
  if (a[arg + 3]) {
    if (!LOG_LEVELS.includes(a[arg + 3])) {
      p.alert(`unknown optional log level '${a[arg + 3]}'`);
      ok = false;
      if (stopEarly) return null;
    } else level = a[arg + 3];
  }
  let minLevel: string | undefined;
  if (a[arg + 4]) {
    if (!LOG_LEVELS.includes(a[arg + 4])) {
      p.alert(`unknown optional minimum log level '${a[arg + 4]}'`);
      ok = false;
      if (stopEarly) return null;
    } else minLevel = a[arg + 4];
  }

  const target: LogTarget = { kind: "udp", facility, format, maxlen };
  if (level !== undefined) target.level = level;
  if (minLevel !== undefined) target.minLevel = minLevel;

  const where = a[1];
  if (where === "stdout" || where === "stderr") {
    target.kind = where;
    return ok ? target : null;
  }
  const addr = str2saRange(where, { allowPortRange: true, allowPortOffset: true, env: p.env });
  if (isParseError(addr)) {
    p.alert(`'${a[0]}': ${addr.error}`);
    return null;
  }
  if (addr.family === "fd") {
    if (addr.host === "1" || addr.host === "2") {
      target.kind = addr.host === "1" ? "stdout" : "stderr";
      return ok ? target : null;
    }
    p.alert(`'${a[0]}' : only fd@1 and fd@2 are supported by hapoll as log targets (got '${where}').`);
    return null;
  }
  if (addr.family === "ipv4" || addr.family === "ipv6") {
    if (addr.portLow !== addr.portHigh || addr.portOffset) {
      p.alert(`'${a[0]}' : port ranges and offsets are not allowed in '${where}'`);
      return null;
    }
    if (!addr.hasPort) {
      addr.portLow = addr.portHigh = SYSLOG_PORT;
      addr.hasPort = true;
    }
    target.kind = "udp";
  } else {
    target.kind = "unix";
  }
  target.addr = addr;
  return ok ? target : null;
}
