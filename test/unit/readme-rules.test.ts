/**
 * README.md's closing list of what the rules support and leave out ("What is supported, and what is
 * left out" under "ACLs, tcp-request rules and stick tables") must be true: each bullet is read back
 * and compared with the keyword tables the parser uses, and every action it lists is parsed (the
 * supported ones without an alert, the refused ones with one). A keyword added or removed in the code
 * without the README (or the other way round) fails here.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { convNames, defaultAclNames, fetchNames } from "../../src/config/acl";
import { PAT_MATCH_NAMES } from "../../src/config/pattern";
import { STORE_1_8, STORE_PLAIN, STORE_RATES, UNSUPPORTED_ACTIONS } from "../../src/config/cfgparse_rules";
import { parseConfigFiles } from "../../src/config/cfgparse";

const README = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");

/** The bullets of the closing list, by their first word ("fetches", "converters", ...). */
function bullets(): Map<string, string> {
  const start = README.indexOf("**What is supported, and what is left out**");
  expect(start, "the closing list in README.md").toBeGreaterThan(0);
  const end = README.indexOf("\n## ", start);
  const out = new Map<string, string>();
  for (const b of README.slice(start, end).split("\n- ").slice(1)) {
    const text = b.replace(/\n\s*/g, " ");
    out.set(text.slice(0, text.indexOf(":")), text);
  }
  return out;
}

/** The words inside the backquoted spans of <text>, from span <from> on. */
function words(text: string, from = 0, to?: number): string[] {
  const spans = [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]).slice(from, to);
  return spans.flatMap((s) => s.split(/[\s|]+/)).filter(Boolean);
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe("README: the rules' closing list", () => {
  const b = bullets();

  it("lists every fetch the parser knows, and only those", () => {
    const t = b.get("fetches")!;
    const spans = [...t.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const plain = spans[0].split(/\s+/);
    const aliases = spans[1].split(/\s+/);
    const prefixes = spans[2].split(/\s+/);
    const counters = spans[3].split(/\s+/);
    const tracked = spans[4].split(/\s+/);
    const listed = [...plain, ...aliases, ...prefixes.flatMap((p) => counters.map((c) => p + c)), ...tracked];
    expect(sorted(listed)).toEqual(sorted(fetchNames()));
  });

  it("lists the converters, match methods and predefined ACLs", () => {
    expect(sorted(words(b.get("converters")!))).toEqual(sorted(convNames()));
    const m = b.get("match methods")!;
    expect(sorted(words(m, 0, 1).slice(1))).toEqual(sorted(PAT_MATCH_NAMES));
    expect(sorted(words(m, 2, 3))).toEqual(sorted(defaultAclNames()));
  });

  it("lists the store types, supported and refused", () => {
    const st = b.get("stick tables")!;
    const spans = [...st.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    expect(sorted([...spans[1].split(/\s+/), ...spans[2].split(/\s+/)])).toEqual(sorted([...STORE_PLAIN, ...STORE_RATES]));
    const refused = b.get("refused with an ALERT")!;
    const rs = [...refused.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    expect(sorted(rs[0].split(/\s+/))).toEqual(sorted([...UNSUPPORTED_ACTIONS, "lua.*"]));
    expect(sorted(rs[2].split(/\s+/))).toEqual(sorted(STORE_1_8));
  });

  const parse = (...lines: string[]) =>
    parseConfigFiles([{ name: "r.cfg", text: ["frontend fe", "  bind :8000", "  timeout client 5s", "  stick-table type ip size 1k store conn_cur",
      ...lines, "  default_backend bk", "backend bk", "  timeout connect 1s", "  timeout server 1s", "  server s 127.0.0.1:1"].join("\n") + "\n" }], { pid: 1 });
  const alerts = (r: ReturnType<typeof parse>) => r.output.filter((l) => /ALERT/.test(l));

  it("every listed action parses, and every refused one is refused", () => {
    const t = b.get("actions")!;
    const spans = [...t.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    const rules: string[] = [];
    for (const s of spans.slice(0, 3)) {
      const m = /^(tcp-request connection|tcp-request content|tcp-response content) (.*)$/.exec(s)!;
      expect(m, s).not.toBeNull();
      for (const act of m[2].split("|")) rules.push(`${m[1]} ${act} if TRUE`);
    }
    for (const r of rules) {
      // tcp-response rules belong to a backend: put them in a listen section
      const res = r.startsWith("tcp-response")
        ? parseConfigFiles([{ name: "r.cfg", text: `listen li\n  bind :8000\n  timeout client 5s\n  timeout connect 1s\n  timeout server 1s\n  ${r}\n  server s 127.0.0.1:1\n` }], { pid: 1 })
        : parse(`  ${r.replace(/^(tcp-request \w+ track-sc\d)/, "$1 src")}`);
      expect(alerts(res), r).toEqual([]);
    }
    expect(rules.length).toBe(6 + 5 + 3);
    const refused = [...b.get("refused with an ALERT")!.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    for (const act of refused[0].split(/\s+/)) {
      const r = parse(`  tcp-request content ${act.replace("*", "x")} if TRUE`);
      expect(alerts(r).join("\n"), act).toMatch(/not supported by hapoll/);
    }
    expect(alerts(parse("  tcp-request session accept")).join("\n")).toMatch(/not supported by hapoll/);
  });

  it("the ignored stick-table options warn", () => {
    for (const opt of ["peers", "nopurge"]) {
      expect(b.get("ignored with a warning")).toContain(`\`${opt}\``);
      const r = parseConfigFiles([{ name: "r.cfg", text: `backend bk\n  stick-table type ip size 1k ${opt}${opt === "peers" ? " mypeers" : ""}\n  server s 127.0.0.1:1\n` }], { pid: 1 });
      expect(r.output.join("\n"), opt).toMatch(new RegExp(`WARNING.*'${opt}' is not supported by hapoll`));
    }
  });
});
