// View #/compare?runs=A,B&metric=M: runs' series overlaid (or their groups' mean and range),
// the parameters that differ, and parallel coordinates.

import {
  debounce, el, formatTime, formatValue, message, panel, parametersOf, runHref, runLabel,
  statusBadge, svg, whenVisible,
} from './dom.js';
import { api, listen } from './api.js';
import {
  bucketCount, colorWithAlpha, forLogScale, joinTables, makePlot, mergeBuckets, PALETTE, smooth,
  X_LABELS,
} from './charts.js';

const MOST_RUNS = 256;

export async function compareView(app, params, ctx) {
  const named = [...new Set((params.get('runs') || '').split(',').filter(Boolean))];
  // The server draws at most this many runs in one request (each holds a file open).
  const ids = named.slice(0, MOST_RUNS);
  const page = el('section', { id: 'compare-page' });
  app.append(page);
  if (!ids.length) {
    page.append(message('Choose runs in the table, then "Compare".'));
    return;
  }
  if (named.length > ids.length) {
    page.append(message(`Comparing the first ${ids.length} of the ${named.length} runs chosen.`));
  }
  // The metrics named in the URL are fetched at once, beside the runs' metadata.
  const prefetched = new Map();
  if (params.get('metric')) {
    const width = bucketCount(Math.max(300, window.innerWidth - 60), ids.length);
    for (const name of params.get('metric').split(',').filter(Boolean)) {
      const request = api('series/data', { runs: ids.join(','), name, x: 'step', width });
      request.catch(() => {});
      prefetched.set(name, request);
    }
  }
  const infosLoaded = Promise.all(ids.map((run) => api('run', { run }).catch((error) => ({ run, failed: error.message }))));
  const listsLoaded = Promise.all(ids.map((run) => api('series', { run }).catch(() => ({ series: [] }))));
  const infos = await infosLoaded;
  if (!ctx.alive) return;
  const runs = infos.map((info, i) => ({ id: ids[i], info, color: PALETTE[i % PALETTE.length],
    dash: i >= PALETTE.length ? [4, 3] : undefined, params: parametersOf(info) }));
  // Metrics named in the URL are drawn without waiting for every run's list of series.
  const requested = (params.get('metric') || '').split(',').filter(Boolean);
  const seriesNames = (lists) => [...new Set([...requested,
    ...lists.flatMap((l) => (l.series || []).map((s) => s.name))])].sort((a, b) =>
    (a.startsWith('sys/') - b.startsWith('sys/')) || a.localeCompare(b));
  let names = requested.length ? seriesNames([]) : seriesNames(await listsLoaded);
  if (!ctx.alive) return;
  const state = {
    chosen: new Set(requested.length ? requested : names.filter((n) => !n.startsWith('sys/')).slice(0, 8)),
    x: 'step', logY: false, alpha: 0, band: true, group: '', range: null,
  };

  const allParams = [...new Set(runs.flatMap((r) => Object.keys(r.params)))];
  const ownParams = allParams.filter((name) => !name.startsWith('__'));
  const differing = allParams.filter((name) => new Set(runs.map((r) => JSON.stringify(r.params[name] ?? null))).size > 1);

  // Runs are told apart by what differs between them, when something does.
  for (const run of runs) {
    run.label = differing.length && !run.info.failed
      ? differing.slice(0, 3).map((name) => `${name}=${formatValue(run.params[name] ?? null)}`).join(' ')
      : runLabel(run.info);
  }
  page.append(el('div', { class: 'page-head' }, el('h1', { text: `Comparing ${ids.length} runs` }),
    el('span', { class: 'spacer' }), el('a', { href: '#/', text: '← all runs' })));
  page.append(el('details', { class: 'legend-box', open: runs.length <= 12 },
    el('summary', { class: 'muted', text: `Runs (${runs.length})` }),
    el('div', { class: 'legend' }, runs.map((r) => el('a', { href: runHref(r.id), class: 'legend-run', title: r.id },
      swatch(r.color), r.info.failed ? `${r.id} (${r.info.failed})` : r.label,
      r.info.status ? statusBadge(r.info.status) : null)))));

  // --- controls
  const xSelect = el('select', { 'aria-label': 'x axis' }, ['step', 'time', 'relative'].map((x) =>
    el('option', { value: x, text: `x: ${X_LABELS[x]}` })));
  const logBox = el('input', { type: 'checkbox' });
  const bandBox = el('input', { type: 'checkbox', checked: true });
  const alphaSlider = el('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: '0', 'aria-label': 'smoothing' });
  const alphaLabel = el('output', { text: '0' });
  const groupSelect = el('select', { 'aria-label': 'group runs by' }, el('option', { value: '', text: 'no grouping' }),
    (differing.length ? differing : ownParams).map((p) => el('option', { value: p, text: `group by ${p}` })));
  const metricBoxes = el('div', { class: 'metric-choices' });
  const metricCount = el('summary');
  const fillPicker = () => {
    metricCount.textContent = `Metrics (${names.length})`;
    metricBoxes.replaceChildren(...names.map((name) => {
      const box = el('input', { type: 'checkbox', checked: state.chosen.has(name) });
      box.addEventListener('change', () => {
        if (box.checked) state.chosen.add(name);
        else state.chosen.delete(name);
        buildCharts();
      });
      return el('label', { class: 'choice' }, box, ` ${name}`);
    }));
  };
  fillPicker();
  page.append(el('div', { class: 'toolbar controls' }, xSelect,
    el('label', {}, logBox, ' log y'), el('label', {}, bandBox, ' min/max band'),
    el('label', {}, 'smoothing ', alphaSlider, ' ', alphaLabel), groupSelect,
    el('span', { class: 'muted hint', text: 'drag to zoom, double-click to reset' })));
  page.append(el('details', { class: 'metric-picker', open: names.length <= 24 }, metricCount, metricBoxes));

  const chartGrid = el('div', { class: 'chart-grid' });
  page.append(chartGrid);
  let charts = [];

  function buildCharts() {
    for (const chart of charts) chart.destroy();
    chartGrid.replaceChildren();
    charts = names.filter((n) => state.chosen.has(n)).map((name) => compareChart(name, runs, state, ctx, zoom, prefetched));
    for (const chart of charts) chartGrid.append(chart.node);
    if (!charts.length) chartGrid.append(message(names.length ? 'Choose a metric above.' : 'These runs tracked no series.'));
  }
  function zoom(range) {
    state.range = range;
    for (const chart of charts) chart.reload();
  }
  function redrawAll() {
    for (const chart of charts) chart.redraw();
  }
  xSelect.addEventListener('change', () => {
    state.x = xSelect.value;
    state.range = null;
    buildCharts();
  });
  logBox.addEventListener('change', () => {
    state.logY = logBox.checked;
    buildCharts();
  });
  bandBox.addEventListener('change', () => {
    state.band = bandBox.checked;
    redrawAll();
  });
  alphaSlider.addEventListener('input', () => {
    state.alpha = Number(alphaSlider.value);
    alphaLabel.textContent = alphaSlider.value;
    redrawAll();
  });
  const groupLegend = el('div', { class: 'legend group-legend', hidden: true });
  page.insertBefore(groupLegend, page.querySelector('.controls'));
  groupSelect.addEventListener('change', () => {
    state.group = groupSelect.value;
    groupLegend.replaceChildren(...groupsOf(runs, state.group).map((g, i) =>
      el('span', { class: 'legend-run' }, swatch(PALETTE[i % PALETTE.length]),
        `${state.group} = ${formatValue(g.value)}: mean of ${g.runs.length}, band min–max`)));
    groupLegend.hidden = !state.group;
    redrawAll();
  });
  ctx.onCleanup(() => charts.forEach((c) => c.destroy()));
  buildCharts();

  const parallel = () => parallelPanel(runs, differing.length ? differing : ownParams, names,
    [...state.chosen][0], ctx);
  const bottom = el('div', { class: 'columns' }, differencesPanel(runs, differing), parallel());
  page.append(bottom);
  if (requested.length) {
    listsLoaded.then((lists) => {
      if (!ctx.alive) return;
      names = seriesNames(lists);
      fillPicker();
      bottom.replaceChild(parallel(), bottom.lastChild);
    });
  }

  const refresh = debounce(() => {
    if (!state.range) charts.forEach((c) => c.reload());
  }, 2000);
  ctx.onCleanup(refresh.cancel);
  listen(ctx, ids, {
    series: (event) => {
      const chart = charts.find((c) => c.name === event.name);
      if (chart && ids.includes(event.run)) refresh();
    },
  });
}

function swatch(color) {
  const node = el('span', { class: 'swatch' });
  node.style.background = color;
  return node;
}

/** One metric of the compare view: all runs overlaid, or their groups' mean and range. */
function compareChart(name, runs, state, ctx, zoom, prefetched) {
  const holder = el('div', { class: 'plot' });
  const readout = el('span', { class: 'readout muted' });
  const node = el('div', { class: 'series-chart', dataset: { name, points: '0', runs: '0',
    expected: String(runs.length) } }, el('h3', {}, el('span', { text: name }), ' ', readout), holder);
  const chart = { name, node, answer: null, plot: null, loading: 0 };

  chart.reload = async () => {
    const ticket = ++chart.loading;
    const width = bucketCount(holder.clientWidth || 800, runs.length);
    const early = state.x === 'step' && !state.range ? prefetched.get(name) : undefined;
    prefetched.delete(name);
    try {
      const answer = await (early || api('series/data', { runs: runs.map((r) => r.id).join(','), name,
        x: state.x, width, from: state.range ? state.range[0] : undefined,
        to: state.range ? state.range[1] : undefined }));
      if (ticket !== chart.loading || !ctx.alive) return;
      chart.answer = answer;
      chart.redraw();
    } catch (error) {
      if (ticket === chart.loading) holder.replaceChildren(message(error.message, 'error'));
    }
  };

  chart.redraw = () => {
    if (!chart.answer || !ctx.alive) return;
    const { data, lines, points } = compareData(chart.answer, runs, state);
    if (chart.plot) {
      chart.plot.stopResizing();
      chart.plot.destroy();
    }
    holder.replaceChildren();
    chart.plot = makePlot(holder, { data, lines, xKind: state.x, logY: state.logY, sync: 'compare',
      onSelect: (from, to) => zoom([from, to]), onReset: () => zoom(null), height: 200 });
    chart.lines = lines;
    node.dataset.points = String(points);
    node.dataset.runs = String((chart.answer.series || []).length);
  };
  holder.addEventListener('mousemove', () => {
    if (chart.plot) showReadout(chart.plot, chart.lines, readout, state.x);
  });
  holder.addEventListener('mouseleave', () => {
    readout.textContent = '';
  });

  chart.destroy = () => {
    chart.loading += 1;
    if (chart.plot) {
      chart.plot.stopResizing();
      chart.plot.destroy();
      chart.plot = null;
    }
  };

  whenVisible(ctx, node, chart.reload);
  return chart;
}

function showReadout(plot, lines, readout, xKind) {
  const i = plot.cursor.idx;
  if (i === null || i === undefined) return;
  const indexes = lines.map((l, n) => (l.band ? -1 : n + 1)).filter((n) => n > 0);
  const x = plot.data[0][i];
  readout.replaceChildren(`${X_LABELS[xKind]} ${xKind === 'time' ? formatTime(x) : formatValue(x)}`);
  for (const index of indexes.slice(0, 12)) {
    const y = plot.data[index][i];
    if (y === null || y === undefined) continue;
    const part = el('span', { class: 'readout-value', text: ` ${formatValue(y)}` });
    part.style.color = lines[index - 1].color;
    readout.append(part);
  }
}

/** The uPlot data of a compare chart from a series/data answer and the view's settings. */
function compareData(answer, runs, state) {
  const entries = (answer.series || []).filter((s) => !s.missing);
  const byRun = new Map(entries.map((s) => [s.run, s]));
  const transform = (ys) => (state.logY ? forLogScale(smooth(ys, state.alpha)) : smooth(ys, state.alpha));
  const tables = [];
  const lines = [];
  let points = 0;
  if (!state.group) {
    for (const run of runs) {
      const s = byRun.get(run.id);
      if (!s) continue;
      tables.push([s.x, transform(s.y)]);
      lines.push({ label: run.label, color: run.color, dash: run.dash });
      points += s.x.length;
      if (state.band && s.band && s.band.x.length && !s.exact) {
        const lo = state.logY ? forLogScale(s.band.lo) : s.band.lo;
        const hi = state.logY ? forLogScale(s.band.hi) : s.band.hi;
        tables.push([s.band.x, hi, lo]);
        const hiIndex = lines.length + 1;
        lines.push({ band: true, label: 'max' }, { band: true, label: 'min' });
        lines[lines.length - 1].bandOf = [hiIndex, hiIndex + 1];
        lines[lines.length - 1].fill = colorWithAlpha(run.color, 0.15);
      }
    }
  } else {
    groupsOf(runs, state.group).forEach((group, g) => {
      const members = group.runs.map((run) => byRun.get(run.id)).filter(Boolean);
      if (!members.length) return;
      const color = PALETTE[g % PALETTE.length];
      const merged = mergeBuckets(members, answer);
      tables.push([merged.x, transform(merged.mean)]);
      points += merged.x.length;
      lines.push({ label: `${state.group}=${formatValue(group.value)} (${members.length})`, color, width: 2 });
      if (state.band) {
        tables.push([merged.x, state.logY ? forLogScale(merged.hi) : merged.hi,
          state.logY ? forLogScale(merged.lo) : merged.lo]);
        const hiIndex = lines.length + 1;
        lines.push({ band: true, label: 'max' }, { band: true, label: 'min', bandOf: [hiIndex, hiIndex + 1],
          fill: colorWithAlpha(color, 0.18) });
      }
    });
  }
  if (!tables.length) return { data: [[]], lines: [], points: 0 };
  return { data: joinTables(tables, answer), lines, points };
}

/** The runs grouped by the value of a parameter, in the order the values first appear. */
function groupsOf(runs, parameter) {
  const groups = new Map();
  for (const run of runs) {
    const value = run.params[parameter] ?? null;
    const key = JSON.stringify(value);
    if (!groups.has(key)) groups.set(key, { value, runs: [] });
    groups.get(key).runs.push(run);
  }
  return [...groups.values()];
}

function differencesPanel(runs, differing) {
  if (!differing.length) return panel('Parameter differences', message('The runs share all their parameters.'));
  return panel('Parameter differences', el('div', { class: 'wide' }, el('table', { class: 'grid diff' },
    el('thead', {}, el('tr', {}, el('th', { text: 'parameter' }), runs.map((r) =>
      el('th', { title: r.id }, swatch(r.color), runLabel(r.info))))),
    el('tbody', {}, differing.map((name) => el('tr', {}, el('td', {}, el('code', { text: name })),
      runs.map((r) => el('td', { class: 'value', text: name in r.params ? formatValue(r.params[name]) : '—' }))))))));
}

/** Parallel coordinates: one axis per parameter and one for the chosen metric, a line per run. */
function parallelPanel(runs, paramNames, seriesNames, preferred, ctx) {
  const summaryNames = [...new Set(runs.flatMap((r) => {
    const summary = r.info.summary && r.info.summary.summary;
    return summary && typeof summary === 'object' ? Object.keys(summary).filter((k) => typeof summary[k] === 'number') : [];
  }))];
  const metrics = [...new Set([...summaryNames, ...seriesNames])];
  const select = el('select', { 'aria-label': 'metric' }, metrics.map((m) => el('option', { value: m, text: m })));
  if (preferred && metrics.includes(preferred)) select.value = preferred;
  const holder = el('div', { class: 'parallel' });
  const node = panel('Parallel coordinates', el('div', { class: 'toolbar' }, el('label', {}, 'metric ', select)), holder);
  if (!metrics.length || !paramNames.length) {
    holder.append(message('Needs parameters and a metric.'));
    return node;
  }

  async function metricValues(metric) {
    const values = new Map();
    const rest = [];
    for (const run of runs) {
      const summary = run.info.summary && run.info.summary.summary;
      if (summary && typeof summary[metric] === 'number') values.set(run.id, summary[metric]);
      else rest.push(run.id);
    }
    if (rest.length && seriesNames.includes(metric)) {
      // The last value of the series: a width of 1 keeps the bucket's last point.
      const answer = await api('series/data', { runs: rest.join(','), name: metric, width: 1 });
      for (const s of answer.series || []) {
        const ys = (s.y || []).filter((y) => y !== null);
        if (ys.length) values.set(s.run, ys[ys.length - 1]);
      }
    }
    return values;
  }

  async function draw() {
    const metric = select.value;
    let values;
    try {
      values = await metricValues(metric);
    } catch (error) {
      holder.replaceChildren(message(error.message, 'error'));
      return;
    }
    if (!ctx.alive) return;
    holder.replaceChildren(parallelSvg(runs, paramNames.slice(0, 12), metric, values));
  }
  select.addEventListener('change', draw);
  draw();
  return node;
}

function parallelSvg(runs, paramNames, metric, values) {
  const axes = [...paramNames.map((name) => ({ name, value: (r) => r.params[name] })),
    { name: metric, value: (r) => values.get(r.id), metric: true }];
  const width = Math.max(640, 160 + axes.length * 110);
  const height = 260;
  const top = 30;
  const bottom = height - 30;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'parallel-svg', role: 'img',
    'aria-label': `parallel coordinates of ${paramNames.join(', ')} against ${metric}` });
  const scales = axes.map((axis) => {
    const raw = runs.map(axis.value).filter((v) => v !== undefined && v !== null);
    const numeric = raw.length > 0 && raw.every((v) => typeof v === 'number');
    if (numeric) {
      const lo = Math.min(...raw);
      const hi = Math.max(...raw);
      // Values spanning decades (learning rates) spread evenly on a log scale.
      const log = lo > 0 && hi / lo >= 50;
      const t = log ? (v) => Math.log10(v) : (v) => v;
      const position = (v) => (hi === lo ? (top + bottom) / 2
        : bottom - (t(v) - t(lo)) / (t(hi) - t(lo)) * (bottom - top));
      const ticks = hi === lo ? [lo] : log ? [...new Set(raw)].sort((a, b) => a - b) : [lo, (lo + hi) / 2, hi];
      return { position, ticks: ticks.length > 8 ? [lo, hi] : ticks, numeric: true, lo, hi };
    }
    const categories = [...new Set(raw.map((v) => formatValue(v)))].sort();
    const position = (v) => (categories.length < 2 ? (top + bottom) / 2
      : bottom - categories.indexOf(formatValue(v)) / (categories.length - 1) * (bottom - top));
    return { position, ticks: categories, numeric: false };
  });
  const xOf = (i) => 80 + i * ((width - 160) / Math.max(1, axes.length - 1));
  const metricScale = scales[scales.length - 1];
  runs.forEach((run) => {
    const points = [];
    axes.forEach((axis, i) => {
      const v = axis.value(run);
      if (v === undefined || v === null) return;
      points.push(`${xOf(i).toFixed(1)},${scales[i].position(v).toFixed(1)}`);
    });
    if (points.length < 2) return;
    const v = values.get(run.id);
    let color = run.color;
    if (metricScale.numeric && v !== undefined && metricScale.hi > metricScale.lo) {
      const t = (v - metricScale.lo) / (metricScale.hi - metricScale.lo);
      color = `hsl(${(220 - 200 * t).toFixed(0)}, 70%, 48%)`;
    }
    const line = svg('polyline', { points: points.join(' '), fill: 'none', stroke: color, 'stroke-width': '1.6',
      class: 'parallel-line' });
    line.append(svg('title', {}, `${runLabel(run.info)}: ${metric} = ${formatValue(v)}`));
    root.append(line);
  });
  axes.forEach((axis, i) => {
    const x = xOf(i);
    root.append(svg('line', { x1: x, x2: x, y1: top, y2: bottom, class: 'parallel-axis' }));
    root.append(svg('text', { x, y: top - 12, 'text-anchor': 'middle', class: axis.metric ? 'parallel-title metric' : 'parallel-title' }, axis.name));
    for (const tick of scales[i].ticks) {
      const y = scales[i].numeric ? scales[i].position(tick) : scales[i].position(tick);
      root.append(svg('text', { x: x + 5, y: y + 4, class: 'parallel-tick' }, formatValue(tick)));
    }
  });
  return root;
}
