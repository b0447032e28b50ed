#!/usr/bin/env node
// Layers and import circles under src/ (`npm run lint:circles`).
//
// Reads the import lines of every TypeScript file under src/ (`import ... from`, `import type`,
// `export ... from`, `import("...")`, `require("...")`) and checks two rules:
// - Layers: arrows only downward. src/types, src/config and src/native.ts are the ground; then
//   src/core, src/net, src/proxy, then src/stats (the stats socket) and src/tools (tour, top, echo,
//   traces) side by side, and src/cli (process start-up) on top. No import (value or type) may point to a higher layer,
//   and src/config imports only src/config/* and node's modules.
// - No circle among the value imports: the graph that exists at run time, where a circle is a
//   CommonJS load-order hazard. An import whose every name is marked `type` is erased by the
//   compiler (ESLint's consistent-type-imports keeps the marks honest); such type-only references
//   between the objects of one layer (a Server knows its Proxy, a Proxy its Servers: C's forward
//   declarations) are listed with --types, and fail only with --strict.
// Exit 1 on any failure, with each circle (the shortest through its first file) printed.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SRC = path.join(ROOT, "src");
const CONFIG = path.join(SRC, "config");
const strict = process.argv.includes("--strict") || process.env.CHECK_CIRCLES_STRICT === "1";
const showTypes = strict || process.argv.includes("--types");

/** Layer of a file: 0 ground (types, config, native.ts), 1 core, 2 net, 3 proxy, 4 stats and tools, 5 cli. */
function layerOf(f) {
  const r = path.relative(SRC, f).split(path.sep)[0];
  return { types: 0, config: 0, "native.ts": 0, core: 1, net: 2, proxy: 3, stats: 4, tools: 4, cli: 5 }[r] ?? 5;
}

function listTs(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

/** Whether an import clause (`type X`, `{ type A, type B }`) brings only types. */
function typeOnly(clause) {
  if (/^import\s+type\b/.test(clause) || /^export\s+type\b/.test(clause)) return true;
  const b = /\{([^}]*)\}/.exec(clause);
  if (!b || /^import\s+[\w$]+\s*,/.test(clause)) return false;
  const names = b[1].split(",").map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** The relative specifiers a file imports, comments removed first, each with whether it is type-only. */
function specifiers(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
  const out = [];
  const re = /\b((?:import|export)\s[^;]*?)\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\b(import|require)\s*\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of code.matchAll(re)) {
    if (m[2]) out.push({ spec: m[2], type: typeOnly(m[1].trim()) });
    else if (m[3]) out.push({ spec: m[3], type: false });
    else out.push({ spec: m[5], type: m[4] === "import" });
  }
  return out;
}

function resolve(from, spec) {
  if (!spec.startsWith(".")) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.d.ts`, path.join(base, "index.ts")]) {
    if (c.endsWith(".ts") && fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

const files = listTs(SRC);
const graph = new Map();
const typeGraph = new Map();
const problems = [];
const rel = (f) => path.relative(ROOT, f);
for (const f of files) {
  const deps = new Set();
  const all = new Set();
  for (const { spec, type } of specifiers(fs.readFileSync(f, "utf8"))) {
    const to = resolve(f, spec);
    if (!to || !files.includes(to)) continue;
    all.add(to);
    if (!type) deps.add(to);
    if (f.startsWith(CONFIG + path.sep) && !to.startsWith(CONFIG + path.sep)) {
      problems.push(`${rel(f)} imports ${rel(to)}: the config layer imports only src/config/* and node's modules`);
    } else if (layerOf(to) > layerOf(f)) {
      problems.push(`${rel(f)} imports ${rel(to)}${type ? " (types)" : ""}: an arrow up, from a lower layer to a higher one`);
    }
  }
  graph.set(f, [...deps].sort());
  typeGraph.set(f, [...all].sort());
}

// Tarjan's strongly connected components; a component of two or more files holds a circle.
function components(graph) {
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const sccs = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) || []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), idx.get(w)));
    }
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) || []).includes(v)) sccs.push(comp.sort());
  }
}
for (const f of files) if (!idx.has(f)) strong(f);
return sccs;
}

/** One circle through the component's first file (breadth-first, so the shortest). */
function circleOf(graph, comp) {
  const inComp = new Set(comp);
  const start = comp[0];
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (w === start) {
        const cycle = [start];
        for (let x = v; x !== start; x = prev.get(x)) cycle.splice(1, 0, x);
        return cycle.concat(start);
      }
      if (inComp.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

let failing = problems.length;
const valueSccs = components(graph);
for (const comp of valueSccs) {
  failing++;
  console.log(`circle: ${circleOf(graph, comp).map(rel).join(" -> ")}`);
  if (comp.length > 2) console.log(`  component of ${comp.length} files: ${comp.map(rel).join(", ")}`);
}
const typeSccs = components(typeGraph);
if (strict) failing += typeSccs.length;
if (showTypes) {
  for (const comp of typeSccs) {
    console.log(`type-only references (${strict ? "failing: --strict" : "allowed"}): ${circleOf(typeGraph, comp).map(rel).join(" -> ")}`);
    console.log(`  component of ${comp.length} files: ${comp.map(rel).join(", ")}`);
  }
}
for (const p of problems) console.log(`layer: ${p}`);
console.log(
  `check-circles: ${files.length} files, ${valueSccs.length} value-import circle(s), ${problems.length} layer problem(s); ` +
    `${typeSccs.length} component(s) tied by type-only references${showTypes ? "" : " (--types lists them)"}`,
);
process.exit(failing ? 1 : 0);
