/**
 * `log-format` strings, compiled once at configuration time into literal and variable nodes.
 * HAProxy 1.8: parse_logformat_string() and logformat_keywords[], src/log.c. The runtime renders
 * the nodes for each stream (src/proxy/log.ts, HAProxy's build_logline()).
 */

/** One piece of a compiled log-format. HAProxy: struct logformat_node. */
export type LogFormatNode =
  | { kind: "text"; text: string }
  | { kind: "var"; name: string; quote: boolean };

/** HAProxy 1.8's logformat_keywords[] names (%[sample] expressions are not among them). */
export const LOGFORMAT_VARS = new Set([
  "o", "B", "CC", "CS", "H", "ID", "ST", "T", "Ta", "Tc", "Th", "Ti", "Tl", "Tq", "Tr", "TR", "Td", "Ts", "Tt",
  "Tw", "U", "ac", "b", "bc", "bi", "bp", "bq", "ci", "cp", "f", "fc", "fi", "fp", "ft", "hr", "hrl", "hs", "hsl",
  "HM", "HP", "HQ", "HU", "HV", "lc", "ms", "pid", "r", "rc", "rt", "s", "sc", "si", "sp", "sq", "sslc", "sslv",
  "t", "tr", "trg", "trl", "ts", "tsc", "Bi", "Bp", "Ci", "Cp",
]);

/** HAProxy: default_tcp_log_format, what `option tcplog` logs. */
export const DEFAULT_TCP_LOG_FORMAT = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);

/**
 * HAProxy: parse_logformat_string(). Returns the nodes, or 1.8's error text. Flags in `%{...}`:
 * `+Q` / `-Q` (quote the value) are kept, the others (+X, +E) accepted and ignored. `%[expr]`
 * sample expressions are refused: hapoll has no sample fetches.
 */
export function compileLogFormat(fmt: string): LogFormatNode[] | { error: string } {
  const out: LogFormatNode[] = [];
  let text = "";
  const flush = (): void => {
    if (text) out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i];
    if (c !== "%") {
      text += c;
      i++;
      continue;
    }
    const n = fmt[i + 1];
    if (n === "%") {
      text += "%";
      i += 2;
      continue;
    }
    if (n === undefined) {
      // A lone '%' at the end is kept as text, as 1.8's state machine does.
      text += "%";
      i++;
      continue;
    }
    if (/[0-9 \t]/.test(n)) {
      return {
        error: `unexpected variable name near '${n}' at position ${i + 1} line : '${fmt}'. Maybe you want to write a single '%', use the syntax '%%'`,
      };
    }
    let j = i + 1;
    let quote = false;
    if (fmt[j] === "{") {
      const end = fmt.indexOf("}", j);
      if (end < 0) return { error: `missing '}' after '%{' in '${fmt}'` };
      const arg = fmt.slice(j + 1, end);
      for (const f of arg.split(",")) {
        if (f === "+Q") quote = true;
        else if (f === "-Q") quote = false;
      }
      j = end + 1;
      if (fmt[j] !== "[" && !isAlnum(fmt[j])) return { error: `parse argument modifier without variable name near '%{${arg}}'` };
    }
    if (fmt[j] === "[") {
      const end = fmt.indexOf("]", j);
      const expr = fmt.slice(j + 1, end < 0 ? undefined : end);
      return { error: `sample fetch '%[${expr}]' is not supported by hapoll (no sample fetches)` };
    }
    if (!/[A-Za-z]/.test(fmt[j] ?? "")) {
      // Any other character after '%' is literal text.
      text += "%";
      i++;
      continue;
    }
    let k = j;
    while (isAlnum(fmt[k])) k++;
    const name = fmt.slice(j, k);
    if (!LOGFORMAT_VARS.has(name)) {
      return { error: `no such format variable '${name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'` };
    }
    flush();
    out.push({ kind: "var", name, quote });
    i = k;
  }
  flush();
  return out;
}
