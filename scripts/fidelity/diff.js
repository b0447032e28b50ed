"use strict";
/**
 * Unified diff of two line arrays (an LCS over the lines that differ after the common prefix and
 * suffix are set aside; captures are a few thousand lines at most).
 */

/** Edit script: array of [op, line] with op ' ', '-', '+'. */
function editScript(a, b) {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const n = A.length;
  const m = B.length;
  const ops = a.slice(0, pre).map((l) => [" ", l]);
  if (n * m > 40_000_000) {
    // Too large for the table: show the middle as removed then added.
    for (const l of A) ops.push(["-", l]);
    for (const l of B) ops.push(["+", l]);
  } else {
    const w = m + 1;
    const L = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        L[i * w + j] = A[i] === B[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && A[i] === B[j]) {
        ops.push([" ", A[i++]]);
        j++;
      } else if (j < m && (i === n || L[i * w + j + 1] > L[(i + 1) * w + j])) ops.push(["+", B[j++]]);
      else ops.push(["-", A[i++]]);
    }
  }
  for (const l of a.slice(a.length - suf)) ops.push([" ", l]);
  return ops;
}

/**
 * Unified diff text ("" when equal).
 * @returns {{ text: string, changed: number }} changed = number of - and + lines
 */
function unifiedDiff(a, b, nameA = "a", nameB = "b", context = 3) {
  const ops = editScript(a, b);
  const changed = ops.filter((o) => o[0] !== " ").length;
  if (changed === 0) return { text: "", changed: 0 };
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k][0] === " ") {
      k++;
      continue;
    }
    // A hunk: from <context> lines before this change to <context> lines after the last change near it.
    let s = Math.max(0, k - context);
    let e = k;
    while (e < ops.length) {
      if (ops[e][0] !== " ") {
        e++;
        continue;
      }
      let run = 0;
      while (e + run < ops.length && ops[e + run][0] === " ") run++;
      if (e + run >= ops.length || run > 2 * context) {
        e = Math.min(ops.length, e + context);
        break;
      }
      e += run;
    }
    let ai = 1;
    let bi = 1;
    for (let x = 0; x < s; x++) {
      if (ops[x][0] !== "+") ai++;
      if (ops[x][0] !== "-") bi++;
    }
    const seg = ops.slice(s, e);
    const al = seg.filter((o) => o[0] !== "+").length;
    const bl = seg.filter((o) => o[0] !== "-").length;
    out.push(`@@ -${ai},${al} +${bi},${bl} @@`);
    for (const [op, l] of seg) out.push(op + l);
    k = e;
  }
  return { text: out.join("\n") + "\n", changed };
}

module.exports = { unifiedDiff, editScript };
