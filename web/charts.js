// Charts: uPlot wrapped for the views (uPlot is a classic script loaded before the modules, hence
// the global), and the series as the server sends them, downsampled by M4 into buckets of equal
// width: smoothing, log scales, one x array for many runs, a group's mean and range.

import { cssVar } from './dom.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22'];

function axisStyle() {
  const text = cssVar('--muted');
  const grid = cssVar('--grid');
  return {
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: '11px system-ui, sans-serif',
  };
}

export const X_LABELS = { step: 'step', time: 'time', relative: 'seconds since start' };

/**
 * A uPlot chart in `holder`. `lines` are {label, color, width?, dash?}; `bands` pairs of
 * indexes into `data` (1-based as uPlot counts series) filled between; hidden series hold
 * band edges.
 */
export function makePlot(holder, { data, lines, xKind, logY, sync, onSelect, onReset, legend, height }) {
  const series = [{ label: X_LABELS[xKind] || 'x' }];
  const bands = [];
  for (const line of lines) {
    if (line.band) {
      series.push({ label: line.label, stroke: 'transparent', width: 0, points: { show: false },
        spanGaps: true });
    } else {
      series.push({ label: line.label, stroke: line.color, width: line.width || 1.25,
        dash: line.dash, points: { show: false }, spanGaps: true });
    }
  }
  for (const line of lines) {
    if (line.bandOf) bands.push({ series: line.bandOf, fill: line.fill });
  }
  const width = Math.max(200, holder.clientWidth || 400);
  const options = {
    width,
    height: height || 170,
    scales: { x: { time: xKind === 'time' }, y: { distr: logY ? 3 : 1 } },
    axes: [{ ...axisStyle() }, { ...axisStyle(), size: 52 }],
    series,
    bands,
    legend: { show: !!legend, live: true },
    cursor: {
      sync: sync ? { key: sync, setSeries: false } : undefined,
      drag: { x: true, y: false, setScale: !onSelect },
      points: { show: false },
    },
    hooks: {
      setSelect: [(u) => {
        if (!onSelect || u.select.width < 4) return;
        const from = u.posToVal(u.select.left, 'x');
        const to = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        onSelect(from, to);
      }],
    },
  };
  const plot = new uPlot(options, data, holder);
  if (onReset) plot.over.addEventListener('dblclick', onReset);
  const resize = new ResizeObserver(() => {
    const w = holder.clientWidth;
    if (w && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: plot.height });
  });
  resize.observe(holder);
  plot.stopResizing = () => resize.disconnect();
  return plot;
}

// The values drawn: smoothed, fit for a log scale, one x array for many runs

/** Exponential moving average with the start-up bias removed; null and NaN are kept as is. */
export function smooth(ys, alpha) {
  if (!alpha) return ys;
  let value = 0;
  let weight = 0;
  return ys.map((y) => {
    if (y === null || y === undefined || !Number.isFinite(y)) return y;
    value = alpha * value + (1 - alpha) * y;
    weight = alpha * weight + (1 - alpha);
    return value / weight;
  });
}

export function forLogScale(ys) {
  return ys.map((y) => (y !== null && y !== undefined && y > 0 ? y : null));
}

export function colorWithAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * How many buckets to ask for: one per pixel column for a few runs; fewer for many, whose lines
 * overlap anyway (the download and the drawing grow with runs x buckets; zooming in brings back
 * every point of the range).
 */
export function bucketCount(pixels, runs) {
  const width = runs > 8 ? Math.max(250, Math.round(pixels * 8 / runs)) : pixels;
  return Math.max(100, Math.min(4000, Math.round(width)));
}

const JOIN_CELLS = 2e6; // above this many cells, a join on exact x values is too slow to draw
const MAX_SLOTS = 16;

/**
 * One x array for all the runs' lines, as uPlot wants. Few points: joined on their exact x
 * values. Many runs of downsampled points: their x values rarely coincide, so a join would
 * hold points x runs cells; instead each of the request's buckets (one pixel column wide) gets
 * a few x slots shared by every run, and a run's points of that bucket fill them in order.
 */
export function joinTables(tables, answer) {
  if (tables.length === 1) return tables[0];
  const points = tables.reduce((n, t) => n + t[0].length, 0);
  const width = answer.width;
  if (points * tables.length <= JOIN_CELLS || !(answer.to > answer.from) || !width) {
    return uPlot.join(tables);
  }
  const from = answer.from;
  const span = answer.to - from;
  const bucketOf = (x) => Math.min(width - 1, Math.max(0, Math.floor((x - from) / span * width)));
  const used = new Uint32Array(width);
  let slots = 1;
  for (const table of tables) {
    used.fill(0);
    for (const x of table[0]) slots = Math.max(slots, ++used[bucketOf(x)]);
  }
  if (slots > MAX_SLOTS) return uPlot.join(tables);
  const xs = new Array(width * slots);
  for (let b = 0; b < width; b += 1) {
    for (let j = 0; j < slots; j += 1) xs[b * slots + j] = from + (b + j / slots) * span / width;
  }
  const data = [xs];
  for (const table of tables) {
    used.fill(0);
    const columns = table.slice(1).map(() => new Array(xs.length).fill(null));
    table[0].forEach((x, i) => {
      const b = bucketOf(x);
      const slot = b * slots + used[b]++;
      columns.forEach((column, c) => {
        column[slot] = table[c + 1][i];
      });
    });
    data.push(...columns);
  }
  return data;
}

/**
 * The mean, min and max over a group's runs per bucket. The server cuts every run of a request
 * into the same buckets, so bucket start x values line up; a run sent whole (exact) is cut here
 * the same way.
 */
export function mergeBuckets(members, answer) {
  const from = answer.from;
  const to = answer.to;
  const width = answer.width || 1000;
  const step = (to - from) / width || 1;
  // Into `into`'s bucket at `x`: a value counted once, with the low and high it stands for.
  const gather = (into, x, value, lo, hi) => {
    let b = into.get(x);
    if (!b) into.set(x, (b = { sum: 0, n: 0, lo: Infinity, hi: -Infinity }));
    b.sum += value;
    b.n += 1;
    b.lo = Math.min(b.lo, lo);
    b.hi = Math.max(b.hi, hi);
  };
  const buckets = new Map();
  const add = (x, mean, lo, hi) => {
    if (mean !== null && mean !== undefined) gather(buckets, x, mean, lo, hi);
  };
  for (const s of members) {
    if (s.band && s.band.x.length && !s.exact) {
      s.band.x.forEach((x, i) => add(x, s.band.mean[i], s.band.lo[i], s.band.hi[i]));
      continue;
    }
    const own = new Map();
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y === null || y === undefined) return;
      const index = Math.min(width - 1, Math.max(0, Math.floor((x - from) / step)));
      gather(own, from + index * step, y, y, y);
    });
    for (const [x, b] of own) add(x, b.sum / b.n, b.lo, b.hi);
  }
  const xs = [...buckets.keys()].sort((a, b) => a - b);
  return {
    x: xs,
    mean: xs.map((x) => buckets.get(x).sum / buckets.get(x).n),
    lo: xs.map((x) => buckets.get(x).lo),
    hi: xs.map((x) => buckets.get(x).hi),
  };
}
