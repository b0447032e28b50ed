"use strict";
/*
 * A small hand-written SVG chart generator for the benchmarks: line charts (one or more panels
 * side by side, log or linear axes) and grouped horizontal bar charts. No dependency.
 */

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"];

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Compact tick label: 100, 1k, 10k, 0.5, 2.5 ... */
function tickLabel(v) {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Ticks for a log axis over [lo, hi]: 1-2-5 per decade when the range is short, decades otherwise. */
function logTicks(lo, hi) {
  const ticks = [];
  const d0 = Math.floor(Math.log10(lo)), d1 = Math.ceil(Math.log10(hi));
  const steps = d1 - d0 <= 3 ? [1, 2, 5] : [1];
  for (let d = d0; d <= d1; d++) {
    for (const s of steps) {
      const v = s * 10 ** d;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

/** "Nice" linear ticks over [lo, hi]. */
function linTicks(lo, hi, n = 5) {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

function axisRange(vals, log) {
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (log) {
    // Quarter-decade bounds: a little room around the data without wasting a whole decade.
    lo = 10 ** (Math.floor(Math.log10(lo) * 4) / 4);
    hi = 10 ** (Math.ceil(Math.log10(hi) * 4) / 4);
    if (hi <= lo) hi = lo * 10;
  } else {
    lo = Math.min(0, lo);
    const t = linTicks(lo, hi);
    hi = Math.max(hi, t[t.length - 1]);
    if (hi <= lo) hi = lo + 1;
  }
  return [lo, hi];
}

/**
 * Line chart. <opts>: { title, subtitle?, xLabel, yLabel, logX, logY, panels: [{ title, series:
 * [{ name, color?, dash?, points: [[x, y], ...] }] }] }. Every panel shares the y range, so panels
 * compare at a glance. Points with a non-finite or non-positive (log) value are left out. The legend
 * lists each series name once.
 */
function lineChart(opts) {
  const panels = opts.panels;
  const pw = 300, ph = 240, ml = 64, mr = 16, mt = 70, mb = 48, gap = 28, legendH = 22;
  const clean = (v, log) => Number.isFinite(v) && (!log || v > 0);
  const xs = [], ys = [];
  for (const p of panels) {
    for (const s of p.series) {
      s.points = s.points.filter(([x, y]) => clean(x, opts.logX) && clean(y, opts.logY));
      for (const [x, y] of s.points) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  if (xs.length === 0) xs.push(1, 10), ys.push(1, 10);
  const [x0, x1] = axisRange(xs, opts.logX);
  const [y0, y1] = axisRange(ys, opts.logY);
  const names = [];
  for (const p of panels) for (const s of p.series) if (!names.find((n) => n.name === s.name)) names.push(s);
  const legendRows = Math.ceil(names.length / 3);
  const W = ml + panels.length * pw + (panels.length - 1) * (gap + ml) + mr;
  const H = mt + ph + mb + legendRows * legendH + 10;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${W / 2}" y="36" text-anchor="middle" fill="#555">${esc(opts.subtitle)}</text>`);
  const tx = (v) => (opts.logX ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v - x0) / (x1 - x0)) * pw;
  const ty = (v) => ph - (opts.logY ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0)) * ph;
  const xt = opts.logX ? logTicks(x0, x1) : linTicks(x0, x1);
  const yt = opts.logY ? logTicks(y0, y1) : linTicks(y0, y1);
  panels.forEach((p, i) => {
    const ox = ml + i * (pw + gap + ml), oy = mt;
    out.push(`<g transform="translate(${ox},${oy})">`);
    out.push(`<text x="${pw / 2}" y="-6" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    for (const v of yt) {
      const y = ty(v).toFixed(1);
      out.push(`<line x1="0" y1="${y}" x2="${pw}" y2="${y}" stroke="#e5e5e5"/>`);
      out.push(`<text x="-6" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(v)}</text>`);
    }
    for (const v of xt) {
      const x = tx(v).toFixed(1);
      out.push(`<line x1="${x}" y1="0" x2="${x}" y2="${ph}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${x}" y="${ph + 14}" text-anchor="middle">${tickLabel(v)}</text>`);
    }
    out.push(`<rect x="0" y="0" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
    out.push(`<text x="${pw / 2}" y="${ph + 32}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
    out.push(`<text transform="translate(${-46},${ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
    p.series.forEach((s, k) => {
      const color = s.color || COLORS[k % COLORS.length];
      const pts = s.points.map(([x, y]) => `${tx(x).toFixed(1)},${ty(y).toFixed(1)}`);
      if (pts.length > 1) {
        out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
      }
      for (const pt of pts) {
        const [x, y] = pt.split(",");
        out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${s.dash ? "#fff" : color}" stroke="${color}" stroke-width="1.5"/>`);
      }
    });
    out.push(`</g>`);
  });
  names.forEach((s, k) => {
    const col = k % 3, row = Math.floor(k / 3);
    const x = ml + col * 230, y = mt + ph + mb + row * legendH + 6;
    const color = s.color || COLORS[k % COLORS.length];
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
    out.push(`<circle cx="${x + 14}" cy="${y}" r="3" fill="${s.dash ? "#fff" : color}" stroke="${color}" stroke-width="1.5"/>`);
    out.push(`<text x="${x + 34}" y="${y}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * Horizontal bar charts, one panel per metric, laid out in a grid of <columns> (default 2).
 * <opts>: { title, subtitle?, columns?, panels: [{ title, unit, bars: [{ label, value, color? }] }] }.
 * Each panel has its own linear scale from 0; a bar with no value shows "n/a". Give a bar the same
 * color in every panel to let the eye follow one proxy across metrics.
 */
function barChart(opts) {
  const panels = opts.panels;
  const cols = Math.min(opts.columns || 2, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const labelW = 230, pw = 250, gap = 30, barH = 16, barGap = 6, mt = 56, rowGap = 30;
  const nb = Math.max(...panels.map((p) => p.bars.length));
  const ph = 14 + nb * (barH + barGap);
  const W = cols * (labelW + pw + gap) + 10;
  const H = mt + rows * (ph + rowGap) + 10;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${W / 2}" y="36" text-anchor="middle" fill="#555">${esc(opts.subtitle)}</text>`);
  panels.forEach((p, i) => {
    const ox = (i % cols) * (labelW + pw + gap) + 5, oy = mt + Math.floor(i / cols) * (ph + rowGap);
    const vals = p.bars.map((b) => b.value).filter((v) => Number.isFinite(v));
    const max = vals.length ? Math.max(...vals) : 1;
    out.push(`<g transform="translate(${ox},${oy})">`);
    out.push(`<text x="${labelW + pw / 2}" y="0" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    p.bars.forEach((b, k) => {
      const y = 10 + k * (barH + barGap);
      out.push(`<text x="${labelW - 6}" y="${y + barH / 2}" text-anchor="end" dominant-baseline="middle">${esc(b.label)}</text>`);
      if (Number.isFinite(b.value)) {
        const w = Math.max(1, (b.value / max) * (pw - 60));
        out.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color || COLORS[k % COLORS.length]}"/>`);
        out.push(`<text x="${labelW + w + 4}" y="${y + barH / 2}" dominant-baseline="middle">${esc(tickLabel(b.value))}${p.unit ? ` ${esc(p.unit)}` : ""}</text>`);
      } else {
        out.push(`<text x="${labelW + 4}" y="${y + barH / 2}" dominant-baseline="middle" fill="#888">n/a</text>`);
      }
    });
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

module.exports = { lineChart, barChart, COLORS };
