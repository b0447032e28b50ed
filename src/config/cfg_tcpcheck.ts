/**
 * The `tcp-check` keyword of a proxy: connect, send, send-binary, expect and comment rules.
 *
 * HAProxy: the "tcp-check" branch of cfg_parse_listen() in 1.8's src/cfgparse.c, which HAProxy 2.2+
 * moved to src/tcpcheck.c.
 */

import { CAP_BE } from "./cfgparse_util";
import { curProxy, type CfgParser, type LineCtx } from "./cfgparse_state";
import type { TcpCheckRule } from "./types";

/** Parse a hex string for send-binary / expect binary; null when it is not one. */
function parseHex(s: string): Buffer | null {
  if (!/^([0-9A-Fa-f]{2})+$/.test(s)) return null;
  return Buffer.from(s, "hex");
}

/**
 * `tcp-check connect|send|send-binary|expect|comment ...`. HAProxy: the "tcp-check" keyword of
 * cfg_parse_listen(), src/cfgparse.c. hapoll runs one connection per check: a `connect` is only
 * allowed as the first rule (and without ssl / send-proxy).
 */
export function proxyTcpCheck(p: CfgParser, c: LineCtx): void {
  const px = curProxy(p);
  const a = c.args;
  if (p.warnIfNotCap(px, CAP_BE, a[0])) return;
  const rules = px.cfg.tcpCheckRules;
  const act = a[1];
  if (act === "comment") {
    if (!a[2]) {
      p.alert(`'${a[0]}' expects a comment string.`);
      return;
    }
    rules.push({ action: "comment", comment: a[2] });
    return;
  }
  if (act === "connect") {
    if (rules.some((r) => r.action !== "comment")) {
      p.alert(`'${a[0]} connect' is only supported by hapoll as the first rule (one connection per check).`);
      return;
    }
    const rule: TcpCheckRule = { action: "connect" };
    for (let i = 2; a[i]; i++) {
      if (a[i] === "port") {
        const port = Number(a[i + 1]);
        if (!a[i + 1] || !/^\d+$/.test(a[i + 1]) || port < 1 || port > 65535) {
          p.alert(`'${a[0]} ${act}' expects a valid port number.`);
          return;
        }
        rule.port = port;
        i++;
      } else if (a[i] === "comment") {
        rule.comment = a[++i];
      } else if (a[i] === "send-proxy" || a[i] === "ssl") {
        p.alert(`'${a[0]} ${act}' : '${a[i]}' is not supported by hapoll.`);
        return;
      } else {
        p.alert(`'${a[0]} ${act}' expects 'comment', 'port', 'send-proxy' or 'ssl' but got '${a[i]}' as argument.`);
        return;
      }
    }
    rules.push(rule);
    return;
  }
  if (act === "send" || act === "send-binary") {
    if (!a[2]) {
      p.alert(`'${a[0]} ${act}' expects a ${act === "send" ? "string" : "binary string"} as argument.`);
      return;
    }
    const data = act === "send" ? Buffer.from(a[2], "latin1") : parseHex(a[2]);
    if (!data) {
      p.alert(`'${a[0]} ${act}' expects a binary string as argument.`);
      return;
    }
    const rule: TcpCheckRule = { action: "send", data };
    if (a[3] === "comment") rule.comment = a[4];
    rules.push(rule);
    return;
  }
  if (act === "expect") {
    let i = 2;
    const rule: TcpCheckRule = { action: "expect" };
    if (a[i] === "!") {
      rule.inverse = true;
      i++;
    }
    const kind = a[i];
    const pat = a[i + 1];
    if (kind !== "string" && kind !== "rstring" && kind !== "binary" && kind !== "rbinary") {
      p.alert(`'${a[0]} ${act}' only supports 'binary', 'string', 'rstring' and 'rbinary', got '${kind ?? ""}'.`);
      return;
    }
    if (!pat) {
      p.alert(`'${a[0]} ${act} ${kind}' expects <string> as an argument.`);
      return;
    }
    rule.text = pat;
    if (kind === "string") rule.data = Buffer.from(pat, "latin1");
    else if (kind === "binary") {
      const d = parseHex(pat);
      if (!d) {
        p.alert(`'${a[0]} ${act} ${kind}' expects a binary string as argument.`);
        return;
      }
      rule.data = d;
      rule.binary = true;
    } else {
      try {
        rule.regex = new RegExp(pat);
      } catch (e) {
        p.alert(`'${a[0]} ${act} ${kind}' : regular expression '${pat}' : ${(e as Error).message}.`);
        return;
      }
      rule.binary = kind === "rbinary";
    }
    if (a[i + 2] === "comment") rule.comment = a[i + 3];
    rules.push(rule);
    return;
  }
  p.alert(`'${a[0]}' expects 'comment', 'connect', 'send' or 'expect'.`);
}
