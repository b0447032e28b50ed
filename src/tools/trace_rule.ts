/**
 * --trace=rule: one line per rule evaluated, with its rule set, where it is written, the result
 * of each ACL term of its condition and the rule's verdict:
 *
 *   [    3] rule     fd=9 fe tcp-request connection t.cfg:7: reject if { src 127.0.0.2 } | { src 127.0.0.2 }=PASS -> reject
 *   [    5] rule     00000003 fe use_backend t.cfg:10: bk_a if is_a !local | is_a=PASS !local=FAIL -> no match
 *   [    5] rule     00000003 fe default_backend: bk_d -> backend bk_d
 *
 * Connection rules run before any stream exists: they name the client fd. The others name the
 * stream as the si/stream lines do. A term the evaluation did not reach (an AND suite that failed
 * earlier, an OR already satisfied) shows "-". HAProxy 1.8 has no such trace; the rule sets and
 * their order are those of tcp_exec_l4_rules(), tcp_inspect_request(), process_switching_rules(),
 * process_server_rules() and tcp_inspect_response().
 */
import { trace, traceOn } from "../core/trace";
import type { AclCond } from "../config/acl";
import { ACL_TEST_MISS, ACL_TEST_PASS, condTrace } from "../proxy/sample";
import type { Proxy } from "../proxy/proxy";
import { type AnalysedStream, RS_DEFAULT_BACKEND, RULE_SET_NAMES, type RuleRef, ruleHooks } from "../proxy/tcp_rules";

/** A term's result word. */
function resName(r: number): string {
  return r === ACL_TEST_PASS ? "PASS" : r === ACL_TEST_MISS ? "MISS" : "FAIL";
}

/** Each term of <cond> with the result recorded for it by the last evaluation ("-": not evaluated). */
export function condTermsText(cond: AclCond, recorded: readonly number[]): string {
  const suites: string[] = [];
  for (let si = 0; si < cond.suites.length; si++) {
    const terms: string[] = [];
    for (let ti = 0; ti < cond.suites[si].length; ti++) {
      const t = cond.suites[si][ti];
      const name = t.acl.name || `{ ${t.acl.text ?? t.acl.exprs[0]?.kw ?? ""} }`;
      const rec = recorded.find((x) => x >> 16 === si && ((x >> 2) & 0x3fff) === ti);
      terms.push(`${t.neg ? "!" : ""}${name}=${rec === undefined ? "-" : resName(rec & 3)}`);
    }
    suites.push(terms.join(" "));
  }
  return suites.join(" or ");
}

/** The rule as written, without its rule-set words. */
function ruleText(set: number, rule: RuleRef | null, target: string, cond: AclCond | null): string {
  if (rule !== null && rule.text !== undefined) {
    const prefix = RULE_SET_NAMES[set] + " ";
    return rule.text.startsWith(prefix) ? rule.text.slice(prefix.length) : rule.text;
  }
  return cond === null ? target : `${target} ${cond.pol} ${cond.text}`;
}

/** The trace line of one rule evaluated (the hook's arguments, see RuleTraceHook). */
export function ruleTraceLine(set: number, px: Proxy, s: AnalysedStream | null, fd: number, rule: RuleRef | null,
  target: string, cond: AclCond | null, verdict: string): string {
  const who = s === null ? `fd=${fd}` : (s.uniqId >>> 0).toString(16).padStart(8, "0");
  const where = rule !== null ? ` ${rule.file}:${rule.line}` : "";
  const terms = cond !== null ? condTermsText(cond, condTrace.terms ?? []) : set === RS_DEFAULT_BACKEND ? "" : "no condition";
  return `${who} ${px.id} ${RULE_SET_NAMES[set]}${where}: ${ruleText(set, rule, target, cond)}${terms ? ` | ${terms}` : ""} -> ${verdict}`;
}

/** Wire the rule hook (and the ACL term recorder) according to what traceOn("rule") says. */
export function enableRuleTrace(): void {
  if (!traceOn("rule")) {
    ruleHooks.onRule = null;
    condTrace.terms = null;
    return;
  }
  condTrace.terms = [];
  ruleHooks.onRule = (set, px, s, fd, rule, target, cond, verdict) =>
    trace("rule", ruleTraceLine(set, px, s, fd, rule, target, cond, verdict));
}
