/**
 * Small shared pieces of the configuration parser, imported by the reader and by every keyword
 * file: error codes, keyword modifiers, capability bits, the result a keyword handler may return,
 * and the C helpers the keyword files share (atol(), invalid_char(), proxy_cap_str(), the
 * parse_time() error message). Of the parser's files it imports none (only a type of ./address.ts),
 * so that every other one can import it.
 *
 * HAProxy: include/common/errors.h (ERR_*), include/common/cfgparse.h (KWM_*),
 * include/types/proxy.h (PR_CAP_*), invalid_char() of src/standard.c, proxy_cap_str() of src/proxy.c.
 */

import type { ParseTimeError } from "./address";

/** No error. HAProxy: ERR_NONE, include/common/errors.h. */
export const ERR_NONE = 0x00;
/** Fatal: parsing goes on but the configuration is rejected. HAProxy: ERR_FATAL. */
export const ERR_FATAL = 0x02;
/** Abort: stop reading the configuration now. HAProxy: ERR_ABORT. */
export const ERR_ABORT = 0x04;
/** A warning was emitted. HAProxy: ERR_WARN. */
export const ERR_WARN = 0x08;
/** An alert was emitted (not fatal by itself). HAProxy: ERR_ALERT. */
export const ERR_ALERT = 0x10;

/** Keyword modifier: plain keyword. HAProxy: KWM_STD, include/common/cfgparse.h. */
export const KWM_STD = 0;
/** Keyword modifier: `no <kw>`. HAProxy: KWM_NO. */
export const KWM_NO = 1;
/** Keyword modifier: `default <kw>`. HAProxy: KWM_DEF. */
export const KWM_DEF = 2;

/** Capability bits. HAProxy: PR_CAP_FE / PR_CAP_BE, include/types/proxy.h. */
export const CAP_FE = 0x01;
export const CAP_BE = 0x02;
export const CAP_LISTEN = CAP_FE | CAP_BE;

/** The result a keyword handler returns: 0 or ERR_* with an optional message (HAProxy's <err>). */
export interface KwResult {
  code: number;
  err?: string;
  /** Set for a warning-only result (hapoll: option accepted and ignored). */
  warn?: string;
}

/** A handler's success. */
export const OK: KwResult = { code: 0 };
/** A handler's failure code: alert, configuration refused. */
export const FAIL = ERR_ALERT | ERR_FATAL;

/** C's atol() as HAProxy 1.8 uses it for integer arguments: optional blanks and sign, then digits; anything else stops the number (0 if none). */
export function atol(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  if (!m) return 0;
  // C's atol() saturates at LONG_MIN/LONG_MAX (64-bit) and HAProxy stores the result in an int:
  // keep exactly that, so a huge value becomes what 1.8 would see (e.g. 99999999999999999999 -> -1)
  // and is refused by the handlers' range checks instead of reaching the runtime.
  let v = BigInt(m[1]);
  const LMAX = (1n << 63n) - 1n;
  if (v > LMAX) v = LMAX;
  else if (v < -LMAX - 1n) v = -LMAX - 1n;
  return Number(BigInt.asIntN(32, v));
}

/** First character outside [A-Za-z0-9_:.-], or null. HAProxy: invalid_char(), src/standard.c. */
export function invalidChar(name: string): string | null {
  if (name === "") return "";
  const m = /[^A-Za-z0-9_:.-]/.exec(name);
  return m ? m[0] : null;
}

/** Name of a proxy's type for messages. HAProxy: proxy_cap_str(), src/proxy.c. */
export function capStr(cap: number): string {
  if ((cap & CAP_LISTEN) !== CAP_LISTEN) {
    if (cap & CAP_FE) return "frontend";
    if (cap & CAP_BE) return "backend";
  }
  return "proxy";
}

/** Message of parseTime() errors for keyword <kw>, built by <charMsg> for a bad character. */
export function timeErr(res: ParseTimeError, value: string, kw: string, charMsg: (c: string) => string): string {
  if (res.overflow) {
    return `timer overflow in argument '${value}' to '${kw}' (maximum value is 2147483647 ms or ~24.8 days)`;
  }
  return charMsg(res.at[0] ?? "");
}

/**
 * Removes the prototype of keyword tables. The tables are looked up with words from the
 * configuration: without a prototype, names such as "constructor" or "toString" are unknown
 * keywords, not Object.prototype members.
 */
export function noPrototype(...tables: object[]): void {
  for (const t of tables) Object.setPrototypeOf(t, null);
}
