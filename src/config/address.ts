/**
 * Address, time and size parsing for the configuration.
 *
 * HAProxy originals (src/standard.c, 1.8): str2sa_range(), str2ip2(),
 * parse_time_err(), parse_size_err(); dns_hostname_validation() (src/dns.c).
 * This is an independent implementation of the same rules; it never resolves
 * names (a DNS name is returned with needsResolve=true for the runtime).
 */

import { isIPv6 } from "net";
import type { AddressFamily, ParsedAddress } from "./types";

/**
 * Options of str2saRange(): the port checks HAProxy's callers make on str2sa_range()'s
 * results (HAProxy: str2listener() in src/cfgparse.c for binds, parse_server() in src/server.c).
 */
export interface Str2saOptions {
  /** IPv4/IPv6 addresses must carry a port (binds). Error: "missing port number: '%s'". */
  portRequired?: boolean;
  /** Accept a port range N-M (binds, source). */
  allowPortRange?: boolean;
  /** Accept a port offset +N / -N (servers). */
  allowPortOffset?: boolean;
  /**
   * Keyword named in the range/offset errors, e.g. "bind" gives HAProxy's
   * "port offsets are not allowed in 'bind': '%s'".
   */
  kw?: string;
  /** Environment for the "$VAR" / "${VAR}" expansion (default: process.env). */
  env?: Record<string, string | undefined>;
}

/**
 * Expands every "$NAME" and "${NAME}" of <str> from <env>, quoted or not, as HAProxy does for every
 * address before parsing it: an unset variable expands to nothing, a "${" without its "}" still
 * expands, and a '$' followed by no name is dropped.
 * HAProxy: env_expand(), src/standard.c (called by str2sa_range()).
 */
export function envExpand(str: string, env: Record<string, string | undefined> = process.env): string {
  if (!str.includes("$")) return str;
  let out = "";
  let i = 0;
  while (i < str.length) {
    const d = str.indexOf("$", i);
    if (d === -1) {
      out += str.slice(i);
      break;
    }
    out += str.slice(i, d);
    let j = d + 1;
    const braced = str[j] === "{";
    if (braced) j++;
    let k = j;
    while (k < str.length && /[A-Za-z0-9_]/.test(str[k])) k++;
    out += env[str.slice(j, k)] ?? "";
    i = braced && str[k] === "}" ? k + 1 : k;
  }
  return out;
}

/** Error result of the parsers of this module. HAProxy: the <err> message (memprintf) of str2sa_range(). */
export interface ParseError {
  error: string;
}

/** Longest unix socket path: sizeof(sun_path) - 1 on Linux. */
const UNIX_PATH_MAX = 107;
/** HAProxy: DNS_MAX_NAME_SIZE, include/types/dns.h. */
const DNS_MAX_NAME_SIZE = 255;
/** HAProxy: DNS_MAX_LABEL_SIZE, include/types/dns.h. */
const DNS_MAX_LABEL_SIZE = 63;

/**
 * Parses a dotted-quad IPv4 address exactly like glibc's inet_pton(AF_INET):
 * four decimal parts 0..255, no leading zeros, nothing else.
 * HAProxy: the inet_pton(AF_INET) step of str2ip2(), src/standard.c.
 */
export function isIPv4Literal(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return false;
    if (p.length > 1 && p[0] === "0") return false;
    if (Number(p) > 255) return false;
  }
  return true;
}

/**
 * True if <s> is a literal IPv6 address accepted by inet_pton(AF_INET6)
 * (no zone index, no brackets).
 * HAProxy: the inet_pton(AF_INET6) step of str2ip2(), src/standard.c.
 */
export function isIPv6Literal(s: string): boolean {
  return !s.includes("%") && isIPv6(s);
}

/**
 * Checks a host name's syntax: at most 255 characters, labels of at most 63
 * characters made of [A-Za-z0-9_-].
 * HAProxy: dns_hostname_validation(), src/dns.c.
 */
export function isValidHostname(s: string): boolean {
  if (s.length === 0 || s.length > DNS_MAX_NAME_SIZE) return false;
  for (const label of s.split(".")) {
    if (label.length > DNS_MAX_LABEL_SIZE) return false;
    if (!/^[A-Za-z0-9_-]*$/.test(label)) return false;
  }
  return true;
}

/** Family selected by a prefix, before looking at the host part. */
const FAM_UNSPEC = 0;
const FAM_INET4 = 1;
const FAM_INET6 = 2;
const FAM_UNIX = 3;
const FAM_ABNS = 4;

/** Port syntax found after the host. */
const PORT_NONE = 0;
const PORT_SINGLE = 1;
const PORT_RANGE = 2;
const PORT_OFFSET = 3;

/**
 * Parses "[prefix@]addr[:port]" into a ParsedAddress.
 *
 * Forms: `unix@path`, `abns@name`, `ipv4@addr[:port]`, `ipv6@addr[:port]`,
 * `fd@N`, `/path` (unix); otherwise `addr[:port]` where the port follows the
 * last ':' (a trailing ']' closes an IPv6 address without port, so
 * `[::1]:80`, `[::1]`, `::1:80` and `::1:` all work). The port is `N`,
 * `N-M` (range) or `+N`/`-N` (offset). The host is '' or '*' (any IPv4
 * address), '::' (any IPv6 address), an IPv6 or IPv4 literal, else a DNS
 * name left for the runtime to resolve.
 *
 * Messages follow HAProxy 1.8 (str2sa_range() and its callers, e.g.
 * str2listener() in src/cfgparse.c).
 *
 * HAProxy: str2sa_range(), src/standard.c.
 */
export function str2saRange(str: string, opts: Str2saOptions = {}): ParsedAddress | ParseError {
  // Messages quote the text as written (1.8 quotes its argument, not the expansion).
  const orig = str;
  str = envExpand(str, opts.env);
  if (str.length === 0) {
    return { error: `'${orig}' resolves to an empty address (environment variable missing?)` };
  }

  let rest = str;
  let fam = FAM_UNSPEC;
  let forced = true;
  if (rest.startsWith("unix@")) {
    rest = rest.slice(5);
    fam = FAM_UNIX;
  } else if (rest.startsWith("abns@")) {
    rest = rest.slice(5);
    fam = FAM_ABNS;
  } else if (rest.startsWith("ipv4@")) {
    rest = rest.slice(5);
    fam = FAM_INET4;
  } else if (rest.startsWith("ipv6@")) {
    rest = rest.slice(5);
    fam = FAM_INET6;
  } else if (rest.startsWith("/")) {
    fam = FAM_UNIX;
  } else {
    forced = false;
  }

  if (fam === FAM_UNSPEC && rest.startsWith("fd@")) {
    const num = rest.slice(3);
    if (!/^[0-9]+$/.test(num) || Number(num) > 2147483647) {
      return { error: `file descriptor '${num}' is not a valid integer in '${orig}'` };
    }
    return mkAddr("fd", String(Number(num)), str, { forced: true });
  }

  if (fam === FAM_UNIX || fam === FAM_ABNS) {
    if (rest.length > UNIX_PATH_MAX) {
      return { error: `socket path '${orig}' too long (max ${UNIX_PATH_MAX})` };
    }
    if (rest.length === 0) {
      return { error: `empty socket path in '${orig}'` };
    }
    return mkAddr(fam === FAM_UNIX ? "unix" : "abns", rest, str, { forced: true });
  }

  /* IPv4/IPv6: the port follows the last ':' unless a ']' comes after it. */
  let hostPart = rest;
  let portText = "";
  const lastColon = rest.lastIndexOf(":");
  const lastBracket = rest.lastIndexOf("]");
  if (lastColon >= 0 && lastColon > lastBracket) {
    hostPart = rest.slice(0, lastColon);
    portText = rest.slice(lastColon + 1);
  }

  let portKind = PORT_NONE;
  let low = 0;
  let high = 0;
  if (portText.length > 0) {
    const c = portText[0];
    if (c >= "0" && c <= "9") {
      const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(portText);
      if (!m) return badPort(portText, str);
      low = Number(m[1]);
      if (m[2] !== undefined) {
        high = Number(m[2]);
        portKind = PORT_RANGE;
      } else {
        high = low;
        portKind = low === 0 ? PORT_NONE : PORT_SINGLE;
      }
    } else if (c === "+" || c === "-") {
      const digits = portText.slice(1);
      if (!/^[0-9]+$/.test(digits)) return badPort(portText, str, 1);
      const n = Number(digits);
      low = high = c === "-" ? -n : n;
      portKind = n === 0 ? PORT_NONE : PORT_OFFSET;
    } else {
      return {
        error: `invalid character '${c}' in port number '${portText}' in '${orig}'`,
      };
    }
  }

  /* Host part. */
  let host = hostPart;
  if (host.startsWith("[")) {
    if (host.length < 4 || !host.endsWith("]")) {
      return { error: `invalid address: '${hostPart}' in '${orig}'` };
    }
    host = host.slice(1, -1);
  }

  let family: AddressFamily;
  let needsResolve = false;
  if (host === "::") {
    if (fam === FAM_INET4) return { error: `invalid address: '${hostPart}' in '${orig}'` };
    family = "ipv6";
  } else if (host === "" || host === "*") {
    family = fam === FAM_INET6 ? "ipv6" : "ipv4";
    host = family === "ipv6" ? "::" : "0.0.0.0";
  } else if (fam !== FAM_INET4 && isIPv6Literal(host)) {
    family = "ipv6";
  } else if (fam !== FAM_INET6 && isIPv4Literal(host)) {
    family = "ipv4";
  } else if (isValidHostname(host)) {
    family = fam === FAM_INET6 ? "ipv6" : "ipv4";
    needsResolve = true;
  } else {
    return { error: `invalid address: '${hostPart}' in '${orig}'` };
  }

  /* Port checks, as done by the callers of str2sa_range() in HAProxy. */
  if (portKind === PORT_NONE && opts.portRequired) {
    return { error: `missing port number: '${orig}'` };
  }
  if (portKind === PORT_OFFSET && !opts.allowPortOffset) {
    return { error: `port offsets are not allowed ${inKw(opts)}'${orig}'` };
  }
  if (portKind === PORT_RANGE && !opts.allowPortRange) {
    return { error: `port ranges are not allowed ${inKw(opts)}'${orig}'` };
  }
  for (const p of portKind === PORT_RANGE ? [low, high] : [Math.abs(low)]) {
    if ((portKind !== PORT_NONE && p < 1) || p > 65535) {
      return { error: `invalid port '${p}' specified for address '${orig}'.` };
    }
  }
  if (portKind === PORT_RANGE && low > high) {
    return { error: `invalid port range '${portText}' specified for address '${orig}'.` };
  }

  return {
    family,
    host,
    needsResolve,
    familyForced: forced,
    portLow: portKind === PORT_NONE ? 0 : low,
    portHigh: portKind === PORT_NONE ? 0 : high,
    portOffset: portKind === PORT_OFFSET,
    hasPort: portKind !== PORT_NONE,
    raw: str,
  };
}

function inKw(opts: Str2saOptions): string {
  return opts.kw ? `in '${opts.kw}': ` : "in ";
}

function badPort(portText: string, str: string, from = 0): ParseError {
  for (let i = from; i < portText.length; i++) {
    const c = portText[i];
    if (!(c >= "0" && c <= "9") && !(c === "-" && i > 0 && from === 0)) {
      return { error: `invalid character '${c}' in port number '${portText}' in '${str}'` };
    }
  }
  return { error: `invalid port '${portText}' specified for address '${str}'.` };
}

function mkAddr(family: AddressFamily, host: string, raw: string, o: { forced: boolean }): ParsedAddress {
  return {
    family,
    host,
    needsResolve: false,
    familyForced: o.forced,
    portLow: 0,
    portHigh: 0,
    portOffset: false,
    hasPort: false,
    raw,
  };
}

/** True when <r> is an error returned by str2saRange(), parseTime() or parseSize() (hapoll helper: HAProxy returns NULL / an error pointer). */
export function isParseError(r: unknown): r is ParseError {
  return typeof r === "object" && r !== null && "error" in r;
}

/** Unit of a time value. HAProxy: TIME_UNIT_US .. TIME_UNIT_DAY, include/common/standard.h. */
export type TimeUnit = "us" | "ms" | "s" | "m" | "h" | "d";

/** Largest time value accepted, in the output unit (2^31-1 ms, ~24.8 days). HAProxy 2.x: PARSE_TIME_OVER check of parse_time_err(). */
export const TIME_MAX = 2147483647;

/** Error of parseTime()/parseSize(). HAProxy: the pointer to the offending character returned by parse_time_err()/parse_size_err(). */
export interface ParseTimeError extends ParseError {
  /**
   * The text from the first unexpected character on (HAProxy returns a
   * pointer to it); empty for an overflow.
   */
  at: string;
  /** True when the value does not fit (see TIME_MAX). */
  overflow: boolean;
}

/** Units per second of each time unit, for exact integer scaling. */
const PER_SECOND: Record<TimeUnit, [mult: bigint, div: bigint]> = {
  us: [1000000n, 1n],
  ms: [1000n, 1n],
  s: [1n, 1n],
  m: [1n, 60n],
  h: [1n, 3600n],
  d: [1n, 86400n],
};

/**
 * Parses a time value: digits followed by an optional unit among "us", "ms",
 * "s", "m", "h", "d" (no unit = <unit>, default ms), converted to <unit>,
 * rounded up. Like HAProxy 1.8, characters after a valid unit are ignored
 * ("5sx" is 5 s) and an empty string is 0; a value above TIME_MAX is an
 * overflow error (1.8 silently wrapped; 2.x reports it).
 *
 * Returns the value, or an error whose `at` starts with the unexpected
 * character (callers build HAProxy's "unexpected character '%c' in ..." message).
 *
 * HAProxy: parse_time_err(), src/standard.c.
 */
export function parseTime(text: string, unit: TimeUnit = "ms"): number | ParseTimeError {
  let i = 0;
  let value = 0n;
  while (i < text.length && text[i] >= "0" && text[i] <= "9") {
    value = value * 10n + BigInt(text.charCodeAt(i) - 48);
    i++;
  }
  let inUnit: TimeUnit | null;
  const c = text[i];
  if (c === undefined) {
    inUnit = null;
  } else if (c === "s") {
    inUnit = "s";
  } else if (c === "u" && text[i + 1] === "s") {
    inUnit = "us";
  } else if (c === "m") {
    inUnit = text[i + 1] === "s" ? "ms" : "m";
  } else if (c === "h") {
    inUnit = "h";
  } else if (c === "d") {
    inUnit = "d";
  } else {
    return { error: `unexpected character '${c}'`, at: text.slice(i), overflow: false };
  }

  let out = value;
  if (inUnit !== null) {
    /* value [in units] * (out per second) / (in per second), rounded up */
    const [inMult, inDiv] = PER_SECOND[inUnit];
    const [outMult, outDiv] = PER_SECOND[unit];
    const num = value * outMult * inDiv;
    const den = outDiv * inMult;
    out = (num + den - 1n) / den;
  }
  if (out > BigInt(TIME_MAX)) {
    return {
      error: `timer overflow in argument '${text}' (maximum value is ${TIME_MAX} ms or ~24.8 days)`,
      at: "",
      overflow: true,
    };
  }
  return Number(out);
}

/**
 * Parses a size: digits followed by an optional k, m or g suffix (either
 * case, powers of 1024), nothing after. The result must fit in 32 bits.
 * Returns the value or an error whose `at` starts with the offending character.
 * HAProxy: parse_size_err(), src/standard.c.
 */
export function parseSize(text: string): number | ParseTimeError {
  const MAX = 0xffffffff;
  let i = 0;
  let value = 0;
  const fail = (pos: number, overflow = false): ParseTimeError => ({
    error: pos < text.length ? `unexpected character '${text[pos]}'` : `invalid size '${text}'`,
    at: text.slice(pos),
    overflow,
  });
  while (i < text.length && text[i] >= "0" && text[i] <= "9") {
    value = value * 10 + (text.charCodeAt(i) - 48);
    if (value > MAX) return fail(i, true);
    i++;
  }
  if (i < text.length) {
    const shift = { k: 10, K: 10, m: 20, M: 20, g: 30, G: 30 }[text[i]];
    if (shift === undefined) return fail(i);
    value = value * 2 ** shift;
    if (value > MAX) return fail(i, true);
    if (i + 1 < text.length) return fail(i + 1);
  }
  return value;
}
