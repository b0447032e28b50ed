/**
 * The answers of HAProxy 1.8's protocol health checks and of the agent check: what the server (or
 * the agent) sent back, judged as event_srv_chk_r() judges it (src/checks.c, the PR_O2_SSL3_CHK,
 * SMTP, LB_AGENT, PGSQL, REDIS, MYSQL and LDAP cases), with 1.8's statuses and texts. The requests
 * are built with the configuration (src/config/cfg_checks.ts); the connection, the timeouts and
 * the health counters are the check task's (checks.ts).
 *
 *   connect ──▶ send the request (none for mysql-check without user) ──▶ read ──▶ protoCheckVerdict
 *                      │ timeout check (if set) from here                          │ false: read more
 *                      ▼                                                           ▼
 *               L7TOUT (L6TOUT for ssl-hello-chk) on expiry            status, code, desc set
 *
 * The server's answer is read as 1.8 reads it: a C string (it ends at the first NUL byte), the last
 * byte of a full buffer cut off.
 *
 * An agent answers one line of words: "up", "down", "stopped", "fail" (health), "ready",
 * "drain", "maint" (admin state), "<n>%" (weight, relative to the configured one), "maxconn:<n>",
 * and an optional "# description".
 * (This module and checks.ts import each other: nothing of checks.ts is read at load time here.) The admin state, weight and maxconn apply at once; the health
 * word sets the agent's health (1.8's agent has rise = fall = 1) and its status (L7OK, L7STS, or
 * CHECKED when no health word came), which checks.ts turns into UP/DOWN. Only an agent's "down",
 * "stopped" or "fail" (L7STS) takes a server DOWN: an agent that cannot be reached changes nothing.
 */
import {
  CHK_ST_AGENT, CHK_ST_ENABLED, HCHK_STATUS_CHECKED, HCHK_STATUS_L6OK, HCHK_STATUS_L6RSP, HCHK_STATUS_L7OKD,
  HCHK_STATUS_L7RSP, HCHK_STATUS_L7STS, CHECK_STATUSES, CHK_RES_CONDPASS, CHK_RES_FAILED, CHK_RES_NEUTRAL,
  CHK_RES_PASSED, CHK_RES_UNKNOWN, HCHK_STATUS_HANA, HCHK_STATUS_L57DATA, HCHK_STATUS_START,
} from "./check-t";
import { type Check } from "./checks";
import { mayDequeueTasks, processSrvQueue } from "./queue";
import type { Server } from "./server";
import { srvAdmSetDrain, srvAdmSetMaint, srvAdmSetReady, serverParseWeightChangeRequest } from "./server_state";
import { clock } from "../core/clock";

/** The C string at <from> in <b>[0, end): up to the first NUL byte. */
function cstr(b: Buffer, from: number, end: number): string {
  if (from >= end) return "";
  let i = from;
  while (i < end && b[i] !== 0) i++;
  return b.toString("latin1", from, i);
}

/** HAProxy: cut_crlf(): cut <s> at its first CR or LF. */
function cutCrlf(s: string): string {
  const m = /[\r\n]/.exec(s);
  return m ? s.slice(0, m.index) : s;
}

/** HAProxy: ltrim(s, ' '). */
function ltrimSp(s: string): string {
  let i = 0;
  while (s[i] === " ") i++;
  return s.slice(i);
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** A byte as C's (signed) char. */
const schar = (c: number): number => (c << 24) >> 24;

/** HAProxy: the `(unsigned int) *p + ((unsigned int) *(p+1) << 8) + ...` of the mysql case (chars are signed). */
function mysqlLen(b: Buffer, at: number): number {
  return ((schar(b[at] ?? 0) >>> 0) + ((schar(b[at + 1] ?? 0) << 8) >>> 0) + ((schar(b[at + 2] ?? 0) << 16) >>> 0)) >>> 0;
}

/** smtpchk: a "2xx" reply passes; the code and the text after it are reported. */
function smtpVerdict(check: Check, b: Buffer, end: number, done: boolean): boolean {
  if (!done && end < 4) return false;
  if (end < 4 || (b[3] !== 0x20 && b[3] !== 0x0d) || !isDigit(b[0]) || !isDigit(b[1]) || !isDigit(b[2])) {
    setServerCheckStatus(check, HCHK_STATUS_L7RSP, cutCrlf(cstr(b, 0, end)));
    return true;
  }
  check.code = (b[0] - 0x30) * 100 + (b[1] - 0x30) * 10 + (b[2] - 0x30);
  const desc = cutCrlf(ltrimSp(cstr(b, 3, end)));
  setServerCheckStatus(check, b[0] === 0x32 ? HCHK_STATUS_L7OKD : HCHK_STATUS_L7STS, desc);
  return true;
}

/**
 * mysql-check: without `user` (nothing sent) the server's greeting must not be an error packet and
 * be long enough; with `user`, the greeting and the answer to the authentication must be two
 * whole packets, the second not an error. The text is the server's version, or its error message.
 */
function mysqlVerdict(check: Check, b: Buffer, end: number, done: boolean, oldMode: boolean): boolean {
  if (!done && end < 5) return false;
  if (oldMode) {
    if (b[4] !== 0xff) {
      if (end > 51) setServerCheckStatus(check, HCHK_STATUS_L7OKD, ltrimSp(cstr(b, 5, end)));
      else if (!done) return false;
      else setServerCheckStatus(check, HCHK_STATUS_L7RSP, cstr(b, 0, end));
    } else {
      setServerCheckStatus(check, HCHK_STATUS_L7STS, ltrimSp(cstr(b, 7, end)));
    }
    return true;
  }
  const first = mysqlLen(b, 0);
  if (end === first + 4) {
    if (b[4] !== 0xff) {
      // The greeting alone: wait for the answer to the authentication (1.8 then concludes
      // nothing when the server closes here: the check times out).
      return done;
    }
    setServerCheckStatus(check, HCHK_STATUS_L7STS, cstr(b, 7, end));
  } else if (end > first + 4) {
    const second = mysqlLen(b, first + 4);
    // Two whole packets, or no verdict (1.8 waits no further: the check times out).
    if (end === first + 4 + second + 4) {
      if (b[first + 8] !== 0xff) setServerCheckStatus(check, HCHK_STATUS_L7OKD, cstr(b, 5, end));
      else setServerCheckStatus(check, HCHK_STATUS_L7STS, cstr(b, first + 11, end));
    }
  } else {
    if (!done) return false;
    setServerCheckStatus(check, HCHK_STATUS_L7RSP, cstr(b, 5, end));
  }
  return true;
}

const LDAP_NOT_V3 = "Not LDAPv3 protocol";

/** ldap-check: a BER LDAPMessage with messageID 1 and a bindResponse; resultCode 0 passes. */
function ldapVerdict(check: Check, b: Buffer, end: number, done: boolean): boolean {
  if (!done && end < 14) return false;
  if (end < 14 || b[0] !== 0x30) {
    setServerCheckStatus(check, HCHK_STATUS_L7RSP, LDAP_NOT_V3);
    return true;
  }
  let msglen = b[1] & 0x80 ? b[1] & 0x7f : 0;
  if (msglen > 2 || b[2 + msglen] !== 0x02 || b[3 + msglen] !== 0x01 || b[4 + msglen] !== 0x01 || b[5 + msglen] !== 0x61) {
    setServerCheckStatus(check, HCHK_STATUS_L7RSP, LDAP_NOT_V3);
    return true;
  }
  msglen += b[msglen + 6] & 0x80 ? b[msglen + 6] & 0x7f : 0;
  if (msglen > 4 || b[7 + msglen] !== 0x0a || b[8 + msglen] !== 0x01) {
    setServerCheckStatus(check, HCHK_STATUS_L7RSP, LDAP_NOT_V3);
    return true;
  }
  check.code = schar(b[msglen + 9]);
  if (check.code) setServerCheckStatus(check, HCHK_STATUS_L7STS, "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9");
  else setServerCheckStatus(check, HCHK_STATUS_L7OKD, "Success");
  return true;
}

/** HAProxy: server_parse_maxconn_change_request(). Returns 1.8's message, or null. */
function serverParseMaxconnChangeRequest(s: Server, str: string): string | null {
  if (!str) return "Require <maxconn>.\n";
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)(.*)$/s.exec(str);
  if (!m) return "maxconn string empty or preceded by garbage";
  if (m[2] !== "") return "Trailing garbage in maxconn string";
  // hapoll has no minconn: the maxconn is static.
  s.maxconn = Number(BigInt.asIntN(32, BigInt(m[1])));
  if (mayDequeueTasks(s, s.proxy)) processSrvQueue(s);
  return null;
}

/** Word separators of an agent's line, and the health words with the status each gives. */
const AGENT_SEP = new Set([" ", "\t", ","]);
const AGENT_HEALTH = new Set(["up", "down", "stopped", "fail"]);

/** The agent's answer: see the file comment. HAProxy: event_srv_chk_r()'s PR_O2_LB_AGENT_CHK case. */
function agentVerdict(check: Check, b: Buffer, end: number, done: boolean): boolean {
  const s = check.server;
  // A reply to a check started before the agent was disabled is ignored.
  if (!(check.state & CHK_ST_ENABLED)) return true;
  let eol = 0;
  while (eol < end && b[eol] !== 0 && b[eol] !== 0x0a && b[eol] !== 0x0d) eol++;
  if (eol === end || b[eol] === 0) {
    if (!done) return false;
    setServerCheckStatus(check, check.status, "Ignoring incomplete line from agent");
    return true;
  }
  const line = b.toString("latin1", 0, eol);
  let status = HCHK_STATUS_CHECKED;
  let hs = "";
  let as = "";
  let ps = "";
  let cs = "";
  let err = "";
  let wrn: string | null = null;
  let i = 0;
  while (i < line.length) {
    if (AGENT_SEP.has(line[i])) {
      i++;
      continue;
    }
    if (line[i] === "#") {
      // A description, kept for the health word: skip the sharp and the blanks after it.
      i++;
      while (line[i] === "\t" || line[i] === " ") i++;
      break;
    }
    let j = i + 1;
    while (j < line.length && !AGENT_SEP.has(line[j])) j++;
    const word = line.slice(i, j);
    const lw = word.toLowerCase();
    i = j < line.length ? j + 1 : j;
    if (AGENT_HEALTH.has(lw)) {
      check.health = lw === "up" ? check.rise + check.fall - 1 : 0;
      status = lw === "up" ? HCHK_STATUS_L7OKD : HCHK_STATUS_L7STS;
      hs = word;
    } else if (lw === "ready" || lw === "drain" || lw === "maint") as = lw;
    else if (isDigit(word.charCodeAt(0)) && word.includes("%")) ps = word;
    else if (lw.startsWith("maxconn:")) cs = word;
    else if (!err) err = word;
  }
  let desc = line.slice(i);
  while (desc[0] === " " || desc[0] === "\n") desc = desc.slice(1);

  // The admin state first, then the weight and maxconn, then the health.
  if (as === "drain") srvAdmSetDrain(s);
  else if (as === "maint") srvAdmSetMaint(s);
  else if (as) srvAdmSetReady(s);
  if (ps) {
    const msg = serverParseWeightChangeRequest(s, ps);
    if (!wrn) wrn = msg;
  }
  if (cs) {
    const msg = serverParseMaxconnChangeRequest(s, cs.slice("maxconn:".length));
    if (!wrn) wrn = msg;
  }
  if (hs) {
    // A "down" keeps its own description; an "up" (or none) leaves room for an error, then a warning.
    let msg = desc;
    if (!msg || status === HCHK_STATUS_L7OKD) {
      if (err) msg = err;
      else if (wrn) msg = wrn;
    }
    setServerCheckStatus(check, status, `via agent : ${hs}${msg ? ` (${msg})` : ""}`);
  } else if (err) {
    setServerCheckStatus(check, status, `agent reports an error : ${err}`);
  } else if (wrn) {
    setServerCheckStatus(check, status, `agent warns : ${wrn}`);
  } else {
    setServerCheckStatus(check, status, "");
  }
  return true;
}

/**
 * Judge what the server sent so far (<len> bytes of <buf>; <done> once it closed, failed, or
 * filled the buffer): false to read more, true once concluded (the status is set, except where
 * 1.8 concludes without one and lets the check time out). HAProxy: event_srv_chk_r().
 */
export function protoCheckVerdict(check: Check, buf: Buffer | null, len: number, done: boolean): boolean {
  const b = buf ?? Buffer.alloc(0);
  // A full buffer loses its last byte to the C string's terminator.
  const end = buf !== null && len >= buf.length ? len - 1 : len;
  if (check.state & CHK_ST_AGENT) return agentVerdict(check, b, end, done);
  switch (check.server.proxy.cfg.checkType) {
    case "ssl-hello":
      if (!done && end < 5) return false;
      // An SSL alert or handshake record is enough to tell an SSL server from a TCP relay.
      setServerCheckStatus(check, end >= 5 && (b[0] === 0x15 || b[0] === 0x16) ? HCHK_STATUS_L6OK : HCHK_STATUS_L6RSP, "");
      return true;
    case "smtp":
      return smtpVerdict(check, b, end, done);
    case "pgsql":
      if (!done && end < 9) return false;
      if (b[0] === 0x52) setServerCheckStatus(check, HCHK_STATUS_L7OKD, "PostgreSQL server is ok");
      else if (b[0] === 0x45 && b[5] && b[6]) setServerCheckStatus(check, HCHK_STATUS_L7STS, cstr(b, 6, end));
      else setServerCheckStatus(check, HCHK_STATUS_L7STS, "PostgreSQL unknown error");
      return true;
    case "redis": {
      if (!done && end < 7) return false;
      const got = cstr(b, 0, end);
      if (got === "+PONG\r\n") setServerCheckStatus(check, HCHK_STATUS_L7OKD, "Redis server is ok");
      else setServerCheckStatus(check, HCHK_STATUS_L7STS, got);
      return true;
    }
    case "mysql":
      return mysqlVerdict(check, b, end, done, !check.server.proxy.cfg.checkReq?.length);
    default: // ldap
      return ldapVerdict(check, b, end, done);
  }
}

/** HAProxy: HCHK_DESC_LEN: a check description is cut to 127 characters. */
const HCHK_DESC_LEN = 128;

/**
 * HAProxy: set_server_check_status(). Record <status> (with description <desc>) and its duration,
 * and move the health counter; HCHK_STATUS_START only starts the clock.
 */
export function setServerCheckStatus(check: Check, status: number, desc: string): void {
  const s = check.server;
  if (status === HCHK_STATUS_START) {
    check.result = CHK_RES_UNKNOWN;
    check.desc = "";
    check.startMono = clock.nowMono;
    return;
  }
  if (!check.status) return;
  check.desc = desc.length >= HCHK_DESC_LEN ? desc.slice(0, HCHK_DESC_LEN - 1) : desc;
  check.status = status;
  const res = CHECK_STATUSES[status][0];
  if (res) check.result = res;
  if (status === HCHK_STATUS_HANA) check.duration = -1;
  else if (check.startMono >= 0) {
    check.duration = Math.floor(clock.nowMono - check.startMono);
    check.startMono = -1;
  }
  if (check.result === CHK_RES_NEUTRAL) return;
  if (check.result === CHK_RES_FAILED) {
    // An agent that cannot be reached (a status below L57DATA) does not count as a failure.
    if ((!(check.state & CHK_ST_AGENT) || check.status >= HCHK_STATUS_L57DATA) && check.health >= check.rise) {
      s.counters.failedChecks++;
      check.health--;
      if (check.health < check.rise) check.health = 0;
    }
  } else if (check.result === CHK_RES_PASSED || check.result === CHK_RES_CONDPASS) {
    if (check.health < check.rise + check.fall - 1 && (check.result === CHK_RES_PASSED || check.health > 0)) {
      check.health++;
      if (check.health >= check.rise) check.health = check.rise + check.fall - 1;
    }
  }
}
