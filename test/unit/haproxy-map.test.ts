/**
 * docs/haproxy-map.md stays true to the code and complete with respect to HAPROXY-NOTES.md.
 *
 * The map is a set of markdown tables `| HAProxy symbol | HAProxy file | hapoll file | hapoll symbol |
 * note |`, grouped under `## ` headings that name the HAProxy files of their rows. A hapoll cell may
 * hold several entries joined by `<br>` (file i pairs with symbol i); `—` in both cells means "no
 * mirror", and then the note must say why ("No mirror: ...").
 *
 * What "file F declares symbol S" means (the rule this test applies, so that renaming a mapped
 * identifier, or moving it to another file, fails here):
 *
 * TypeScript (F ends in .ts). Comments and string/template/regex literals are blanked first, then
 * brace depth is tracked.
 * - `name`: a declaration at depth 0 that starts `export [declare] [default] [abstract] [async]
 *   function|function*|const|let|var|class|interface|type|enum|namespace name`.
 * - `name` (private): the same declaration without `export` (a module-private function, const, class).
 * - `A.b` (A exported, or `(private)` for a module-private A): A is declared as above, and `b` is
 *   declared directly inside A's body (the first `{...}` after the name: class, interface or object
 *   literal), i.e. at depth 1 of that body: a line that starts (after optional modifiers public,
 *   private, protected, readonly, static, declare, override, abstract, async, get, set) with `b`
 *   followed by `?`, `!`, `:`, `(`, `=` or `<` outside any parentheses; or a constructor parameter
 *   property `public|private|protected|readonly b:` anywhere on a depth-1 line.
 *
 * C++ (F ends in .cc or .h). Comments and string literals are blanked first.
 * - `name`: `#define name`, `class|struct name {`, a function definition `name(...) [const]
 *   [override] [noexcept] {`, or a variable definition `<type> name[...] =` or `;`.
 * - `A::b`: `class|struct A ... {` is defined, and inside its body `b(...) ... {` is defined (or
 *   `A::b(...) {` appears out of line).
 *
 * Completeness: every identifier-like token HAPROXY-NOTES.md names (snake_case with an underscore,
 * CAPS_WITH_UNDERSCORE, and every backticked span) must be covered by a row, or be in an allow-list
 * below with the reason it is not a HAProxy symbol. The allow-lists are exact: an entry that the notes
 * no longer contain, or that a row now covers, fails too. A token T is covered by a row whose HAProxy
 * symbol S (without `()` and `struct `) equals T, ends with `_T`, or whose last field component
 * (after `.`, `[].` or `->`) equals T.
 *
 * The notes live in the project's shared folder, beside the repository: ../shared/HAPROXY-NOTES.md
 * (override with HAPOLL_NOTES). HAPOLL_MAP_ROOT points the hapoll side at another tree (to see this
 * test fail on a copy where a symbol was renamed).
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { skipBecause } from "../e2e/helpers";

const REPO = path.resolve(__dirname, "../..");
const ROOT = process.env.HAPOLL_MAP_ROOT ? path.resolve(process.env.HAPOLL_MAP_ROOT) : REPO;
const MAP = path.join(REPO, "docs/haproxy-map.md");
const NOTES = process.env.HAPOLL_NOTES ? path.resolve(process.env.HAPOLL_NOTES) : path.resolve(REPO, "../shared/HAPROXY-NOTES.md");

/* ------------------------------------------------------------------ parsing the map */

interface Entry {
  file: string;
  symbol: string;
  priv: boolean;
}

interface Row {
  line: number;
  section: string;
  haproxy: string;
  hfile: string;
  entries: Entry[];
  note: string;
}

const NONE = "—";

function splitCells(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

/** The rows of every 5-column table of <md> (header and separator rows skipped). */
export function parseMap(md: string): Row[] {
  const rows: Row[] = [];
  let section = "";
  md.split("\n").forEach((line, i) => {
    if (line.startsWith("## ")) section = line.slice(3);
    if (!line.startsWith("|")) return;
    const c = splitCells(line);
    if (c.length !== 5 || c[0] === "HAProxy symbol" || /^:?-+:?$/.test(c[0])) return;
    const hs = /^`([^`]+)`$/.exec(c[0]);
    if (!hs || !section) return; // the legend table has no HAProxy symbol in code
    const files = c[2] === NONE ? [] : c[2].split("<br>").map((x) => x.trim());
    const syms = c[3] === NONE ? [] : c[3].split("<br>").map((x) => x.trim());
    const entries: Entry[] = [];
    for (let k = 0; k < Math.max(files.length, syms.length); k++) {
      const sm = /^`([^`]+)`(\s*\(private\))?$/.exec(syms[k] ?? "");
      entries.push({ file: files[k] ?? "", symbol: sm ? sm[1] : `<unparsable: ${syms[k] ?? "missing"}>`, priv: !!(sm && sm[2]) });
    }
    rows.push({ line: i + 1, section, haproxy: hs[1], hfile: c[1], entries, note: c[4] });
  });
  return rows;
}

/* ------------------------------------------------------------------ source scanning */

/**
 * Blank comments and string, template and regex literals of TypeScript source (newlines kept), so
 * that brace counting and declaration matching only see code.
 */
export function stripTs(src: string): string {
  const out: string[] = [];
  let i = 0;
  const n = src.length;
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  let lastSig = "";
  const regexAllowedAfter = "(,=:[!&|?{};+-*%<>~^";
  function skipTemplate(): void {
    // at a backquote
    let j = i + 1;
    let depth = 0;
    while (j < n) {
      const ch = src[j];
      if (ch === "\\") {
        j += 2;
        continue;
      }
      if (depth === 0 && ch === "`") {
        j++;
        break;
      }
      if (ch === "$" && src[j + 1] === "{") {
        depth++;
        j += 2;
        continue;
      }
      if (depth > 0 && ch === "}") depth--;
      else if (depth > 0 && ch === "{") depth++;
      j++;
    }
    out.push(blank(src.slice(i, j)));
    i = j;
  }
  while (i < n) {
    const ch = src[i];
    const nx = src[i + 1];
    if (ch === "/" && nx === "/") {
      const j = src.indexOf("\n", i);
      const end = j < 0 ? n : j;
      out.push(blank(src.slice(i, end)));
      i = end;
      continue;
    }
    if (ch === "/" && nx === "*") {
      const j = src.indexOf("*/", i + 2);
      const end = j < 0 ? n : j + 2;
      out.push(blank(src.slice(i, end)));
      i = end;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < n && src[j] !== ch && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      out.push(blank(src.slice(i, j + 1)));
      i = j + 1;
      lastSig = "a";
      continue;
    }
    if (ch === "`") {
      skipTemplate();
      lastSig = "a";
      continue;
    }
    if (ch === "/" && (lastSig === "" || regexAllowedAfter.includes(lastSig) || /\breturn\s*$/.test(src.slice(Math.max(0, i - 10), i)))) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n") {
        if (src[j] === "\\") {
          j += 2;
          continue;
        }
        if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j++;
      }
      if (src[j] === "/") {
        j++;
        while (j < n && /[a-z]/.test(src[j])) j++;
        out.push(blank(src.slice(i, j)));
        i = j;
        lastSig = "a";
        continue;
      }
    }
    out.push(ch);
    if (!/\s/.test(ch)) lastSig = ch;
    i++;
  }
  return out.join("");
}

/** Blank C/C++ comments and string/char literals (newlines kept). */
export function stripCpp(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, (m) => m.replace(/[^\n]/g, " "));
}

/** For each character of <code>, the brace depth before it. */
const depthCache = new Map<string, Int32Array>();
function depths(code: string): Int32Array {
  const hit = depthCache.get(code);
  if (hit) return hit;
  const d = new Int32Array(code.length + 1);
  depthCache.set(code, d);
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    d[i] = depth;
    if (code[i] === "{") depth++;
    else if (code[i] === "}") depth--;
  }
  d[code.length] = depth;
  return d;
}

/** The index of the brace closing the one at <open>. */
function matchBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Where top-level <name> is declared (index of the match), or -1; <exported> chooses the form. */
function findTopLevel(code: string, name: string, exported: boolean): number {
  const re = new RegExp(
    `(^|\\n)[ \\t]*${exported ? "export\\s+" : ""}(?:declare\\s+)?(?:default\\s+)?(?:abstract\\s+)?(?:async\\s+)?` +
      `(?:function\\s*\\*?|const|let|var|class|interface|type|enum|namespace)\\s+${esc(name)}(?![\\w$])`,
    "g",
  );
  const d = depths(code);
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    const at = m.index + m[1].length;
    if (d[at] !== 0) continue;
    if (!exported && /^\s*export\b/.test(code.slice(at))) continue;
    return at;
  }
  return -1;
}

const MODIFIERS = "(?:(?:public|private|protected|readonly|static|declare|override|abstract|async|get|set)\\s+)*";

/** Whether <member> is declared at depth 1 of the body that follows position <at>. */
function hasMember(code: string, at: number, member: string): boolean {
  const open = code.indexOf("{", at);
  if (open < 0) return false;
  const close = matchBrace(code, open);
  if (close < 0) return false;
  // Keep depth-1 characters only (deeper blocks blanked), then look line by line.
  let depth1 = "";
  let depth = 0;
  for (let i = open + 1; i < close; i++) {
    const ch = code[i];
    if (ch === "{") depth++;
    if (depth === 0 || ch === "\n") depth1 += ch;
    else depth1 += " ";
    if (ch === "}") depth--;
  }
  const plain = new RegExp(`^\\s*${MODIFIERS}${esc(member)}\\s*[?!]?\\s*[:(=<]`);
  const paramProp = new RegExp(`\\b(?:public|private|protected|readonly)\\s+(?:readonly\\s+)?${esc(member)}\\s*\\??\\s*:`);
  let paren = 0;
  for (const line of depth1.split("\n")) {
    if (paren === 0 && plain.test(line)) return true;
    if (paramProp.test(line)) return true;
    for (const ch of line) {
      if (ch === "(") paren++;
      else if (ch === ")") paren--;
    }
  }
  return false;
}

/** Whether TypeScript source <src> declares <symbol> as the map's rule says (null) or why not. */
const stripped = new Map<string, { src: string; code: string }>();
export function tsDeclares(src: string, symbol: string, priv: boolean, cacheKey?: string): string | null {
  let code: string;
  const hit = cacheKey !== undefined ? stripped.get(cacheKey) : undefined;
  if (hit && hit.src === src) code = hit.code;
  else {
    code = stripTs(src);
    if (cacheKey !== undefined) stripped.set(cacheKey, { src, code });
  }
  const dot = symbol.indexOf(".");
  const top = dot < 0 ? symbol : symbol.slice(0, dot);
  const at = findTopLevel(code, top, !priv);
  if (at < 0) return `no ${priv ? "module-private" : "exported"} top-level declaration of '${top}'`;
  if (dot < 0) return null;
  const member = symbol.slice(dot + 1);
  if (member.includes(".")) return `only one level of members is supported ('${symbol}')`;
  return hasMember(code, at, member) ? null : `'${top}' declares no member '${member}'`;
}

/** Whether C++ source <src> defines <symbol> (null) or why not. */
export function cppDeclares(src: string, symbol: string): string | null {
  const code = stripCpp(src);
  const sep = symbol.indexOf("::");
  if (sep >= 0) {
    const cls = symbol.slice(0, sep);
    const meth = symbol.slice(sep + 2);
    const m = new RegExp(`\\b(?:class|struct)\\s+${esc(cls)}\\b[^;{]*\\{`).exec(code);
    if (!m) return `no definition of class '${cls}'`;
    const open = m.index + m[0].length - 1;
    const close = matchBrace(code, open);
    const body = code.slice(open, close < 0 ? code.length : close);
    const def = new RegExp(`(^|[^\\w~])${esc(meth)}\\s*\\([^;{}]*\\)\\s*(?:const\\s*)?(?:override\\s*)?(?:noexcept\\s*)?(?::[^;{]*)?\\{`);
    if (def.test(body)) return null;
    if (new RegExp(`\\b${esc(cls)}::${esc(meth)}\\s*\\([^;{}]*\\)[^;{]*\\{`).test(code)) return null;
    return `class '${cls}' defines no method '${meth}'`;
  }
  const n = esc(symbol);
  const forms = [
    new RegExp(`#\\s*define\\s+${n}\\b`),
    new RegExp(`\\b(?:class|struct)\\s+${n}\\b[^;{]*\\{`),
    new RegExp(`(^|[^\\w.>])${n}\\s*\\([^;{}]*\\)\\s*(?:const\\s*)?(?:override\\s*)?(?:noexcept\\s*)?\\{`),
    new RegExp(`[\\w>*&]\\s+\\**\\s*${n}\\s*(?:\\[[^\\]]*\\]\\s*)*[=;]`),
  ];
  return forms.some((re) => re.test(code)) ? null : `no definition of '${symbol}'`;
}

/** Check one map entry against the tree at <root>: null when it holds, else the problem. */
export function checkEntry(root: string, e: Entry): string | null {
  if (!e.file) return "hapoll file cell has fewer entries than the symbol cell";
  if (e.symbol.startsWith("<unparsable")) return `hapoll symbol cell: ${e.symbol}`;
  const f = path.join(root, e.file);
  if (!fs.existsSync(f)) return `${e.file} does not exist`;
  const src = fs.readFileSync(f, "utf8");
  if (e.file.endsWith(".ts")) return tsDeclares(src, e.symbol, e.priv, f);
  if (e.file.endsWith(".cc") || e.file.endsWith(".h")) {
    if (e.priv) return "(private) is for TypeScript entries";
    return cppDeclares(src, e.symbol);
  }
  return `${e.file}: unsupported file type`;
}

/* ------------------------------------------------------------------ completeness */

/** Backticked spans of the notes that are not HAProxy symbols, each with the reason. */
const BACKTICK_PROSE: Record<string, string> = {
  "timeout tunnel": "configuration keyword",
  "timeout server": "configuration keyword",
  noepoll: "configuration keyword (global section)",
  nokqueue: "configuration keyword (global section)",
  nopoll: "configuration keyword (global section)",
  "-d": "command-line flag",
  "-c": "command-line flag",
  "-de": "command-line flag",
  "-dk": "command-line flag",
  "-dp": "command-line flag",
  "-N": "command-line flag",
  "show fd": "stats socket command",
  "show stat": "stats socket command",
  "show sess": "stats socket command",
  "show servers state": "stats socket command",
  "show info": "stats socket command",
  "shutdown session": "stats socket command",
  "set weight b/s N": "stats socket command",
  "set server b/s state ready|drain|maint": "stats socket command",
  "enable server b/s": "stats socket command",
  "disable server b/s": "stats socket command",
  help: "stats socket command",
  prompt: "stats socket command",
  "Key: value": "output format of `show info`",
  "Total: 3 (3 usable), will use epoll.": "output of list_pollers()",
  "      epoll : pref=300,  test result OK": "output of list_pollers()",
  "[ALERT]    (pid) : config : parsing [file:line] : unknown keyword 'foo' in 'global' section": "message text",
  "parsing [f:l] : 'bind' : <msg>": "message text",
  "Error(s) found in configuration file : f": "message text",
  "Fatal errors found in configuration.": "message text",
  "127.0.0.1:52960 [25/Nov/2026:15:08:49.665] fe fe/s1 1/0/3002 5 sD 2/2/1/1/0 0/0": "example log line",
  "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq": "log format string",
  "%08x:%s.accept(%04x)=%04x from [ip:port] ALPN=<none>": "-d debug line format",
  "%08x:%s.srvcls[%04x:%04x]": "-d debug line format",
  ".clicls[...]": "-d debug line format",
  ".closed[...]": "-d debug line format",
  "-LcCsSPRIDKU": "termination-flag letters (sess_term_cond, which has a row)",
  "-RCHDLQT": "termination-flag letters (sess_fin_state, which has a row)",
  "peers/haproxy-1.8.0.tar.gz": "a file of shared/ (the 1.8.0 source tarball)",
  "tar -xzf": "a shell command",
  "peers/build-haproxy18.sh": "a script of shared/ (builds the 1.8.0 peer)",
};

/** Identifier-like tokens of the notes that are not HAProxy symbols, each with the reason. */
const TOKEN_NOT_HAPROXY: Record<string, string> = {
  AF_INET: "socket API", IPPROTO_TCP: "socket API", SOCK_STREAM: "socket API", SOCK_NONBLOCK: "socket API",
  O_NONBLOCK: "fcntl API", SO_ERROR: "socket option", SO_LINGER: "socket option", SO_REUSEADDR: "socket option",
  SO_REUSEPORT: "socket option", TCP_NODELAY: "socket option", SHUT_WR: "shutdown() argument",
  EPOLL_CTL_ADD: "epoll API", EPOLL_CTL_DEL: "epoll API", EPOLL_CTL_MOD: "epoll API", epoll_wait: "epoll API",
  EVFILT_READ: "kqueue API", EVFILT_WRITE: "kqueue API", EV_ADD: "kqueue API", EV_DELETE: "kqueue API",
  EV_EOF: "kqueue API", EV_SET: "kqueue API", FD_ISSET: "select API", FD_SETSIZE: "select API",
  fd_sets: "select API (prose plural of fd_set)", CLOSE_WAIT: "TCP state",
  default_backend: "configuration keyword", use_backend: "configuration keyword",
  proto_tcp: "a file name (src/proto_tcp.c)",
  si_b: "the notes' name for s->si[1] (row: struct stream.si)",
  max_accept: "local variable of listener_accept() (row: struct listener.maxaccept)",
  raw_sock: "a file name (src/raw_sock.c)",
};

function normalizeHaproxy(s: string): string {
  return s.replace(/\(\)$/, "").replace(/^struct\s+/, "");
}

function covers(rowSym: string, rawToken: string): boolean {
  const s = normalizeHaproxy(rowSym);
  const token = normalizeHaproxy(rawToken);
  if (s === token || s.endsWith("_" + token)) return true;
  const last = s.split(/\[\]\.|\.|->/).filter(Boolean).pop();
  return last === token;
}

/** Tokens of the notes: snake_case and CAPS identifiers with an underscore. */
export function notesTokens(notes: string): Set<string> {
  const out = new Set<string>();
  for (const m of notes.matchAll(/(?<![\w.%-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w])/g)) out.add(m[0]);
  for (const m of notes.matchAll(/(?<![\w])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w])/g)) out.add(m[0]);
  return out;
}

/** Backticked spans of the notes, as written, plus the symbol each names (args stripped). */
export function notesBackticks(notes: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of notes.matchAll(/`([^`\n]+)`/g)) out.set(m[1], m[1].replace(/\([^)]*\)$/, ""));
  return out;
}

/* ------------------------------------------------------------------ tests */

const md = fs.readFileSync(MAP, "utf8");
const rows = parseMap(md);

describe("docs/haproxy-map.md", () => {
  it("parses into rows, each with a HAProxy file named in its section heading", () => {
    expect(rows.length).toBeGreaterThan(100);
    const bad = rows.filter((r) => !r.section.includes(r.hfile)).map((r) => `line ${r.line}: ${r.hfile} not in '## ${r.section}'`);
    expect(bad).toEqual([]);
  });

  it("has no duplicate (HAProxy symbol, HAProxy file) row", () => {
    const seen = new Map<string, number>();
    const dups: string[] = [];
    for (const r of rows) {
      const k = `${r.haproxy} @ ${r.hfile}`;
      if (seen.has(k)) dups.push(`${k}: lines ${seen.get(k)} and ${r.line}`);
      seen.set(k, r.line);
    }
    expect(dups).toEqual([]);
  });

  it("says why for every row without a mirror, and pairs files with symbols elsewhere", () => {
    const bad: string[] = [];
    for (const r of rows) {
      if (r.entries.length === 0) {
        if (!/^No mirror/.test(r.note)) bad.push(`line ${r.line}: ${r.haproxy}: no mirror but the note does not start with "No mirror"`);
      } else if (r.entries.some((e) => !e.file || e.symbol.startsWith("<unparsable"))) {
        bad.push(`line ${r.line}: ${r.haproxy}: file and symbol cells do not pair up`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("every hapoll file it names exists", () => {
    const named = new Set<string>();
    for (const r of rows) for (const e of r.entries) named.add(e.file);
    // Paths quoted anywhere in the map (notes, introduction) count too.
    for (const m of md.matchAll(/\b(?:src|native|test|docs|tools|bin|examples)\/[\w./-]+\.(?:ts|cc|h|js|md|cfg)\b/g)) named.add(m[0]);
    const missing = [...named].filter((f) => !fs.existsSync(path.join(ROOT, f)));
    expect(missing).toEqual([]);
  });

  it("every mapped hapoll symbol is declared where the map says", () => {
    const bad: string[] = [];
    for (const r of rows) {
      for (const e of r.entries) {
        const why = checkEntry(ROOT, e);
        if (why) bad.push(`line ${r.line}: ${r.haproxy} -> ${e.file} ${e.symbol}${e.priv ? " (private)" : ""}: ${why}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe("the map's declaration rule", () => {
  // Prove on temporary copies that renaming a mapped identifier breaks the check (src/ is untouched).
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "hapoll-map-"));
  const copyWith = (dir: string, rel: string, edit: (s: string) => string) => {
    const dst = path.join(dir, rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.writeFileSync(dst, edit(fs.readFileSync(path.join(REPO, rel), "utf8")));
  };
  const rowOf = (haproxy: string, file?: string) => {
    const r = rows.find((x) => x.haproxy === haproxy && (file === undefined || x.hfile === file));
    if (!r) throw new Error(`no row for ${haproxy}`);
    return r;
  };

  const cases: { haproxy: string; hfile?: string; file: string; from: RegExp; to: string }[] = [
    { haproxy: "fd_want_recv()", file: "src/core/fd.ts", from: /\bfdWantRecv\b/g, to: "fdWantRecvRenamed" },
    { haproxy: "fd_cache_num", file: "src/core/fd.ts", from: /\bcacheNum\b/g, to: "cacheCount" },
    { haproxy: "cur_poller", file: "src/core/poller.ts", from: /\bcur:/g, to: "current:" },
    { haproxy: "struct task.process", file: "src/core/task.ts", from: /public process\b/g, to: "public handler" },
    { haproxy: "sess_establish()", file: "src/proxy/stream.ts", from: /\bsessEstablish\b/g, to: "sessEstablished" },
    { haproxy: "limit_listener()", file: "src/net/listener.ts", from: /\blimitListener\b/g, to: "limitTheListener" },
    { haproxy: "SI_ST_CON", file: "src/proxy/stream_interface.ts", from: /\bSI_ST_CON\b/g, to: "SI_ST_CONNECTING" },
    { haproxy: "_do_poll()", hfile: "src/ev_epoll.c", file: "native/ev_epoll.cc", from: /\bint poll\(/g, to: "int wait_events(" },
    { haproxy: "signal_handler()", file: "native/signal.cc", from: /\bon_signal\b/g, to: "on_sig" },
  ];

  for (const c of cases) {
    it(`fails for ${c.haproxy} once ${c.file} renames it, and passes on an unchanged copy`, () => {
      const row = rowOf(c.haproxy, c.hfile);
      const entry = row.entries.find((e) => e.file === c.file)!;
      expect(entry).toBeDefined();
      const same = tmp();
      const renamed = tmp();
      try {
        copyWith(same, c.file, (s) => s);
        expect(checkEntry(same, entry)).toBeNull();
        copyWith(renamed, c.file, (s) => {
          const t = s.replace(c.from, c.to);
          expect(t).not.toBe(s);
          return t;
        });
        expect(checkEntry(renamed, entry)).not.toBeNull();
      } finally {
        fs.rmSync(same, { recursive: true, force: true });
        fs.rmSync(renamed, { recursive: true, force: true });
      }
    });
  }

  it("does not take a non-exported declaration for an exported one, nor a deeper one for a member", () => {
    expect(tsDeclares("function foo() {}\n", "foo", false)).not.toBeNull();
    expect(tsDeclares("function foo() {}\n", "foo", true)).toBeNull();
    expect(tsDeclares("export function foo() {}\n", "foo", true)).not.toBeNull();
    expect(tsDeclares("export class A {\n  m(): void {\n    const b = 1;\n  }\n}\n", "A.b", false)).not.toBeNull();
    expect(tsDeclares("export class A {\n  b = 1;\n}\n", "A.b", false)).toBeNull();
    expect(tsDeclares("// export function foo() {}\n", "foo", false)).not.toBeNull();
    expect(tsDeclares("const s = `export function foo() {}`;\n", "foo", false)).not.toBeNull();
    expect(tsDeclares("export function f(x: number) {\n  return x;\n}\nexport const g = 1;\n", "g", false)).toBeNull();
    expect(cppDeclares("// int foo() {}\n", "foo")).not.toBeNull();
    expect(cppDeclares("static int foo(int a) {\n  return a;\n}\n", "foo")).toBeNull();
    expect(cppDeclares("void g() { foo(1); }\n", "foo")).not.toBeNull();
  });
});

// The notes live in the steering repo's shared/ folder, beside the checkout (CI lays a copy there). A
// checkout without it (a plain clone elsewhere) skips the coverage checks instead of failing them.
describe.skipIf(skipBecause(!fs.existsSync(NOTES), `haproxy-map.test.ts: coverage of HAPROXY-NOTES.md skipped: ${NOTES} is not there`))("coverage of HAPROXY-NOTES.md", () => {
  const haveNotes = fs.existsSync(NOTES);

  it("the notes are where the test expects them (../shared/HAPROXY-NOTES.md or $HAPOLL_NOTES)", () => {
    expect(haveNotes, `cannot read ${NOTES}`).toBe(true);
  });

  const notes = haveNotes ? fs.readFileSync(NOTES, "utf8") : "";
  const covered = (t: string) => rows.some((r) => covers(r.haproxy, t));

  it("every backticked HAProxy symbol of the notes has a row; the rest is the exact prose allow-list", () => {
    const spans = notesBackticks(notes);
    const uncovered = [...spans].filter(([raw, sym]) => !covered(sym) && !(raw in BACKTICK_PROSE)).map(([raw]) => raw);
    expect(uncovered).toEqual([]);
    const stale = Object.keys(BACKTICK_PROSE).filter((k) => !spans.has(k) || covered(spans.get(k)!));
    expect(stale).toEqual([]);
  });

  it("every identifier the notes name has a row, except the non-HAProxy ones listed here", () => {
    const tokens = notesTokens(notes);
    expect(tokens.size).toBeGreaterThan(50);
    const uncovered = [...tokens].filter((t) => !covered(t) && !(t in TOKEN_NOT_HAPROXY)).sort();
    expect(uncovered).toEqual([]);
    const stale = Object.keys(TOKEN_NOT_HAPROXY).filter((k) => !tokens.has(k) || covered(k));
    expect(stale).toEqual([]);
  });

  it("covers the symbols the documentation brief lists", () => {
    const brief = [
      "fd_want_recv", "fd_update_cache", "updt_fd_polling", "fd_process_cached_events", "init_pollers", "list_pollers",
      "disable_poller", "_do_poll", "run_poll_loop", "process_runnable_tasks", "wake_expired_tasks", "task_wakeup",
      "task_queue", "task_schedule", "tick_add", "signal_process_queue", "listener_accept", "enable_listener",
      "limit_listener", "tcp_bind_listener", "tcp_connect_server", "tcp_connect_probe", "conn_fd_handler",
      "raw_sock_to_buf", "session_accept_fd", "stream_new", "process_stream", "sess_update_stream_int",
      "sess_update_st_con_tcp", "sess_update_st_cer", "sess_establish", "str2sa_range",
    ];
    expect(brief.filter((b) => !rows.some((r) => normalizeHaproxy(r.haproxy) === b))).toEqual([]);
    for (const prefix of ["SI_ST_", "LI_", "FD_EV_", "FD_POLL_", "SF_ERR_"]) {
      expect(rows.filter((r) => r.haproxy.startsWith(prefix)).length, prefix).toBeGreaterThan(3);
    }
  });
});
