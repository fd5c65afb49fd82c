// The xrun viewer: one page, four views chosen by the URL's hash (#/, #/run, #/compare,
// #/sweeps, #/sweep), talking to /api/v1/ only. Everything a run recorded (names, parameters,
// log text, file contents) is untrusted: it reaches the page through textContent and
// attributes, never as markup.
'use strict';

const API = 'api/v1/';
const PAGE_SIZE = 200; // runs fetched per request while scrolling the table
const ROW_HEIGHT = 28; // px; fixed, so the table can place rows it has not fetched yet
const OVERSCAN = 12; // rows rendered above and below the visible ones
const LOG_CHUNK = 65536;
const PREVIEW_LIMIT = 2 * 1024 * 1024; // larger text files are offered as a download only
const FIXED_COLUMNS = ['status', 'name', 'namespace', 'start_time', 'duration', 'host', 'tags'];
const COLUMN_TITLES = { start_time: 'start', end_time: 'end' };
const TEXT_EXTENSIONS = ['txt', 'log', 'csv', 'json', 'jsonl', 'py', 'yaml', 'yml', 'md', 'cfg',
  'ini', 'toml'];
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp'];
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22'];

// ---------------------------------------------------------------------------------------------
// Small helpers

/** An element with properties, attributes, listeners and children (strings become text). */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (typeof value !== 'string' && key in node) node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

const svgNs = 'http://www.w3.org/2000/svg';
function svg(tag, attributes, text) {
  const node = document.createElementNS(svgNs, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** GETs /api/v1/<path> with the given query, returning the JSON body; throws ApiError. */
async function api(path, params, signal) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  let response;
  try {
    response = await fetch(API + path + (text ? `?${text}` : ''), { signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { error: 'the xrun ui server cannot be reached' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function fileUrl(run, path) {
  return `${API}file?${new URLSearchParams({ run, path })}`;
}

function hashFor(view, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return `#/${view}${text ? `?${text}` : ''}`;
}

const runHref = (run) => hashFor('run', { run });

function pad(n) {
  return String(n).padStart(2, '0');
}

function formatTime(epoch) {
  if (epoch === null || epoch === undefined || epoch === '') return '';
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}

function formatBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

function formatValue(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(6)));
  }
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function extensionOf(path) {
  const base = path.split('/').pop();
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function statusBadge(status, title) {
  return el('span', { class: `status status-${String(status).replace(/[^a-z_]/g, '')}`, title },
    status);
}

function panel(title, ...content) {
  return el('section', { class: 'panel' }, el('h2', { text: title }), ...content);
}

function message(text, kind) {
  return el('p', { class: kind === 'error' ? 'error' : 'muted', text });
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Calls `load` once, when `node` first comes near the viewport. */
function whenVisible(ctx, node, load) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      load();
    }
  }, { rootMargin: '200px' });
  observer.observe(node);
  ctx.onCleanup(() => observer.disconnect());
}

function debounce(fn, ms) {
  let timer = 0;
  const call = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

/** The meta's parameter records, in declaration order (the meta keeps them by name). */
function parameterRecords(meta) {
  const records = meta && meta.parameters;
  if (!records || typeof records !== 'object') return [];
  return (Array.isArray(records) ? records : Object.values(records))
    .filter((record) => record && typeof record === 'object' && typeof record.name === 'string');
}

/** The run's parameters as name -> value: the meta's records, else the SDK's params.json. */
function parametersOf(info) {
  const result = {};
  const records = parameterRecords(info.meta);
  for (const record of records) {
    if (record && typeof record.name === 'string') result[record.name] = record.value;
  }
  if (!records.length && info.params && typeof info.params === 'object') {
    Object.assign(result, info.params);
  }
  return result;
}

/** A run id without its date (the time and the random suffix tell runs of a day apart). */
function undatedId(id) {
  const dated = /^\d{4}-\d{2}-\d{2}_(.+)$/.exec(id);
  return dated ? dated[1] : id;
}

/** A short name for a run: its experiment and its id without the date. */
function runLabel(info) {
  const name = (info.meta && info.meta.name) || info.run;
  return `${name} ${undatedId((info.meta && info.meta.id) || String(info.run).split('/').pop())}`;
}

// ---------------------------------------------------------------------------------------------
// The live event stream

let liveSource = null;

function setLiveState(text, title, on) {
  const node = document.getElementById('live-state');
  node.textContent = text;
  node.title = title;
  node.classList.toggle('on', !!on);
}

/** Opens /api/v1/events for the view (closed when the view goes); `handlers` by event type. */
function listen(ctx, runs, handlers) {
  const query = runs && runs.length ? `?${new URLSearchParams({ runs: runs.join(',') })}` : '';
  const source = new EventSource(`${API}events${query}`);
  liveSource = source;
  for (const [type, handler] of Object.entries(handlers)) {
    source.addEventListener(type, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (ctx.alive) handler(data);
    });
  }
  source.onopen = () => setLiveState('● live', 'Receiving changes as they happen', true);
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setLiveState('○ not live', 'The event stream was refused; reload the page to retry');
    } else {
      setLiveState('○ reconnecting', 'The event stream was interrupted');
    }
  };
  ctx.onCleanup(() => {
    source.close();
    if (liveSource === source) setLiveState('', '');
  });
}

function setArchiveTotal(total) {
  if (typeof total === 'number') {
    document.getElementById('archive-info').textContent =
      `${total.toLocaleString()} run${total === 1 ? '' : 's'} in the archive`;
  }
}

// ---------------------------------------------------------------------------------------------
// Charts (uPlot)

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

const X_LABELS = { step: 'step', time: 'time', relative: 'seconds since start' };

/**
 * A uPlot chart in `holder`. `lines` are {label, color, width?, dash?}; `bands` pairs of
 * indexes into `data` (1-based as uPlot counts series) filled between; hidden series hold
 * band edges.
 */
function makePlot(holder, { data, lines, xKind, logY, sync, onSelect, onReset, legend, height }) {
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

/** Exponential moving average with the start-up bias removed; null and NaN are kept as is. */
function smooth(ys, alpha) {
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

function forLogScale(ys) {
  return ys.map((y) => (y !== null && y !== undefined && y > 0 ? y : null));
}

function colorWithAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// ---------------------------------------------------------------------------------------------
// View: the runs table

const runsState = {
  scrollTop: 0,
  key: '',
};

function loadChosenColumns() {
  try {
    const stored = JSON.parse(localStorage.getItem('xrun.columns') || '[]');
    return Array.isArray(stored) ? stored.filter((c) => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

function saveChosenColumns(columns) {
  try {
    localStorage.setItem('xrun.columns', JSON.stringify(columns));
  } catch {
    // storage refused (private window): the choice lasts until the page is left
  }
}

async function runsView(app, params, ctx) {
  const state = {
    where: params.get('where') || '',
    sort: params.get('sort') || '-start_time',
    group: params.get('group') || '',
    columns: loadChosenColumns(),
  };
  const selected = new Set();
  let query = null; // the table's current answer: pages, total, groups
  let generation = 0;
  let focusedRun = null;

  const filter = el('input', { id: 'filter', type: 'search', value: state.where, spellcheck: false,
    autocomplete: 'off', placeholder: "filter, as --where: LR < 0.01 and status == 'done'",
    'aria-label': 'Filter runs (the --where language)' });
  const filterError = el('div', { id: 'filter-error', class: 'filter-error', role: 'alert',
    hidden: true });
  const groupSelect = el('select', { id: 'group-by', 'aria-label': 'Group by' },
    el('option', { value: '', text: 'no grouping' }));
  const columnsButton = el('button', { type: 'button', id: 'columns-button',
    'aria-expanded': 'false', text: 'Columns' });
  const chooser = el('div', { id: 'column-chooser', class: 'popover', hidden: true });
  const count = el('span', { id: 'runs-count', class: 'muted' });
  const compareButton = el('button', { type: 'button', id: 'compare-button', class: 'primary',
    disabled: true, text: 'Compare' });
  const clearButton = el('button', { type: 'button', text: 'Clear selection', hidden: true });
  const tableError = el('p', { class: 'error', hidden: true });

  const colgroup = el('colgroup');
  const headRow = el('tr');
  const body = el('tbody');
  const table = el('table', { id: 'runs-table', class: 'runs-table' }, colgroup,
    el('thead', {}, headRow), body);
  const scroller = el('div', { class: 'table-scroll', tabindex: '-1' }, table);

  app.append(el('section', { class: 'runs-view' },
    el('div', { class: 'toolbar' },
      el('div', { class: 'filter-box' }, filter, filterError),
      groupSelect, el('div', { class: 'chooser-anchor' }, columnsButton, chooser),
      count, el('span', { class: 'spacer' }), clearButton, compareButton,
      el('a', { href: '#/sweeps', text: 'Sweeps →' })),
    tableError, scroller));

  const columns = () => [...FIXED_COLUMNS, ...state.columns];

  function keepInHash() {
    history.replaceState(null, '', hashFor('', { where: state.where, sort: state.sort,
      group: state.group }));
  }

  // --- header and columns
  function buildHeader() {
    colgroup.replaceChildren(el('col', { class: 'col-check' }),
      ...columns().map((c) => el('col', { class: `col-${FIXED_COLUMNS.includes(c) ? c : 'value'}` })));
    const descending = state.sort.startsWith('-');
    const sortKey = state.sort.replace(/^-/, '');
    headRow.replaceChildren(el('th', { class: 'check', scope: 'col' },
      el('span', { class: 'visually-hidden', text: 'selected' })),
    ...columns().map((column) => {
      const sorted = column === sortKey;
      const button = el('button', { type: 'button', class: 'sort',
        title: `Sort by ${column}` }, COLUMN_TITLES[column] || column,
      sorted ? el('span', { class: 'arrow', text: descending ? ' ▼' : ' ▲' }) : null);
      button.addEventListener('click', () => {
        state.sort = sorted && !descending ? `-${column}` : column;
        keepInHash();
        buildHeader();
        reload();
      });
      return el('th', { scope: 'col', dataset: { column }, class: column === 'duration' ? 'num' : null,
        'aria-sort': sorted ? (descending ? 'descending' : 'ascending') : 'none' }, button);
    }));
  }

  // --- fetching pages
  function reload(keepScroll) {
    generation += 1;
    const previous = query;
    query = { generation, pages: new Map(), total: null, groups: null, starts: [], stale: null };
    // A refresh of the same query shows the rows it had until the new ones arrive (no flicker).
    if (keepScroll && previous && previous.total !== null) {
      query.stale = previous.pages;
      query.total = previous.total;
      query.groups = previous.groups;
      query.starts = previous.starts;
    }
    if (!keepScroll) scroller.scrollTop = 0;
    if (!query.stale) fetchPage(0);
    render();
  }

  async function fetchPage(page) {
    const q = query;
    if (q.pages.has(page)) return;
    q.pages.set(page, null);
    let answer;
    try {
      answer = await api('runs', { where: state.where, sort: state.sort, group: state.group,
        columns: state.columns.join(','), limit: PAGE_SIZE, offset: page * PAGE_SIZE });
    } catch (error) {
      if (q !== query || !ctx.alive) return;
      q.pages.delete(page);
      showQueryError(error);
      return;
    }
    if (q !== query || !ctx.alive) return;
    showQueryError(null);
    q.pages.set(page, answer.rows || []);
    setArchiveTotal(answer.archive_total);
    q.total = answer.total;
    setGroups(q, answer.groups || null);
    count.textContent = `${answer.total.toLocaleString()} of ` +
      `${(answer.archive_total || 0).toLocaleString()} runs`;
    render();
  }

  function setGroups(q, groups) {
    q.groups = groups;
    q.starts = [];
    let index = 0;
    for (const group of groups || []) {
      q.starts.push(index);
      index += group.count + 1;
    }
  }

  function itemCount() {
    if (!query || query.total === null) return 0;
    return query.total + (query.groups ? query.groups.length : 0);
  }

  /** The table's i-th line: a group's header or the run at an offset of the server's order. */
  function itemAt(i) {
    if (!query.groups) return { offset: i };
    let lo = 0;
    let hi = query.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (query.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    if (query.starts[lo] === i) return { group: query.groups[lo] };
    return { offset: i - lo - 1 };
  }

  function rowAt(offset) {
    const index = Math.floor(offset / PAGE_SIZE);
    const page = query.pages.get(index) || (query.stale && query.stale.get(index));
    return page ? page[offset % PAGE_SIZE] : undefined;
  }

  const fetchVisible = debounce((pages) => pages.forEach(fetchPage), 60);

  // --- drawing the visible rows
  let frame = 0;
  function render() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    if (!ctx.alive) return;
    const total = itemCount();
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const span = columns().length + 1;
    const rows = [];
    const missing = new Set();
    rows.push(spacerRow(first * ROW_HEIGHT, span));
    for (let i = first; i < last; i += 1) {
      const item = itemAt(i);
      if (item.group) {
        rows.push(groupRow(item.group, span));
        continue;
      }
      const row = rowAt(item.offset);
      if (!query.pages.has(Math.floor(item.offset / PAGE_SIZE))) {
        missing.add(Math.floor(item.offset / PAGE_SIZE));
      }
      if (!row) {
        rows.push(el('tr', { class: 'placeholder-row' }, el('td', { colspan: span, text: '…' })));
      } else {
        rows.push(runRow(row));
      }
    }
    rows.push(spacerRow((total - last) * ROW_HEIGHT, span));
    if (query && query.total === null && tableError.hidden && filterError.hidden) {
      rows.splice(1, 0, el('tr', {}, el('td', { colspan: span, class: 'empty', text: 'Loading…' })));
    } else if (query && query.total === 0) {
      rows.splice(1, 0, el('tr', {}, el('td', { colspan: span, class: 'empty',
        text: state.where ? 'No run matches the filter.' : 'The archive has no runs yet.' })));
    }
    const hadFocus = body.contains(document.activeElement) && document.activeElement.classList.contains('run-row');
    body.replaceChildren(...rows);
    // Rows are made anew on every scroll: the one the keyboard was on keeps the focus.
    if (hadFocus) {
      const again = [...body.children].find((tr) => tr.dataset.run === focusedRun);
      if (again) again.focus({ preventScroll: true });
    }
    if (missing.size) fetchVisible([...missing]);
  }

  function spacerRow(height, span) {
    const td = el('td', { colspan: span });
    td.style.height = `${height}px`;
    return el('tr', { class: 'spacer-row', 'aria-hidden': 'true' }, td);
  }

  function groupRow(group, span) {
    return el('tr', { class: 'group-row' }, el('td', { colspan: span },
      el('strong', { text: `${state.group} = ${group.value === null ? '(none)' : formatValue(group.value)}` }),
      el('span', { class: 'muted', text: ` — ${group.count.toLocaleString()} run${group.count === 1 ? '' : 's'}` })));
  }

  function cell(column, row) {
    switch (column) {
      case 'status':
        return el('td', {}, statusBadge(row.status, row.problem || row.error_type || undefined));
      case 'name':
        return el('td', { class: 'name', title: row.run }, el('a', { href: runHref(row.run), text: row.name || row.run }),
          el('span', { class: 'run-suffix', text: ` ${undatedId(String(row.run).split('/').pop())}` }),
          row.note ? el('span', { class: 'note', title: row.note, text: ' ✎' }) : null);
      case 'namespace':
        return el('td', { text: row.namespace });
      case 'start_time':
        return el('td', { class: 'time', text: formatTime(row.start_time) });
      case 'duration':
        return el('td', { class: 'num', text: formatDuration(row.duration) });
      case 'host':
        return el('td', { text: row.host });
      case 'tags':
        return el('td', { class: 'tags' }, (row.tags || []).map((t) => el('span', { class: 'tag', text: t })));
      default: {
        const value = row.values ? row.values[column] : undefined;
        return el('td', { class: 'value-cell', text: formatValue(value),
          title: formatValue(value) });
      }
    }
  }

  function runRow(row) {
    const checked = selected.has(row.run);
    const box = el('input', { type: 'checkbox', checked, 'aria-label': `select ${row.name || row.run}` });
    box.addEventListener('click', (event) => event.stopPropagation());
    box.addEventListener('change', () => {
      if (box.checked) selected.add(row.run);
      else selected.delete(row.run);
      tr.classList.toggle('selected', box.checked);
      updateSelection();
    });
    const tr = el('tr', { class: checked ? 'run-row selected' : 'run-row', dataset: { run: row.run },
      tabindex: '0' }, el('td', { class: 'check' }, box), columns().map((c) => cell(c, row)));
    tr.addEventListener('click', (event) => {
      if (event.target.closest('a')) return;
      location.hash = runHref(row.run);
    });
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') location.hash = runHref(row.run);
      if (event.key === ' ') {
        event.preventDefault();
        box.click();
      }
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        let next = event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
        while (next && !next.classList.contains('run-row')) {
          next = event.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling;
        }
        if (next) {
          next.focus();
          next.scrollIntoView({ block: 'nearest' });
        }
      }
    });
    tr.addEventListener('focus', () => {
      focusedRun = row.run;
    });
    return tr;
  }

  function updateSelection() {
    const n = selected.size;
    compareButton.disabled = n < 2;
    compareButton.textContent = n ? `Compare ${n}` : 'Compare';
    clearButton.hidden = n === 0;
  }

  compareButton.addEventListener('click', () => {
    location.hash = hashFor('compare', { runs: [...selected].join(',') });
  });
  clearButton.addEventListener('click', () => {
    selected.clear();
    updateSelection();
    render();
    for (const box of body.querySelectorAll('input[type=checkbox]')) box.checked = false;
  });

  // --- the filter and its error
  function showQueryError(error) {
    filterError.replaceChildren();
    filterError.hidden = true;
    tableError.hidden = true;
    filter.classList.remove('invalid');
    if (!error) return;
    if (error.status === 400 && error.body && typeof error.body.column === 'number') {
      const where = typeof error.body.where === 'string' ? error.body.where : state.where;
      const caret = `${' '.repeat(Math.max(0, error.body.column - 1))}^`;
      filterError.append(el('pre', { class: 'caret', text: `${where}\n${caret}` }),
        el('div', { text: error.message }));
      filterError.hidden = false;
      filter.classList.add('invalid');
      filter.setAttribute('aria-invalid', 'true');
    } else {
      tableError.textContent = error.message;
      tableError.hidden = false;
    }
    query.total = 0;
    count.textContent = '';
    render();
  }

  function applyFilter() {
    const where = filter.value.trim();
    if (where === state.where && query && query.total !== null) return;
    state.where = where;
    filter.removeAttribute('aria-invalid');
    keepInHash();
    reload();
  }
  const applyLater = debounce(applyFilter, 500);
  filter.addEventListener('input', applyLater);
  filter.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      applyLater.cancel();
      applyFilter();
    }
  });
  ctx.onCleanup(applyLater.cancel);

  // --- grouping and the column chooser
  groupSelect.addEventListener('change', () => {
    state.group = groupSelect.value;
    keepInHash();
    reload();
  });

  function buildChooser(names) {
    const search = el('input', { type: 'search', placeholder: 'find a column',
      'aria-label': 'Find a column' });
    const lists = el('div', { class: 'chooser-lists' });
    const sections = [['Parameters', names.parameters], ['Summary', names.summary],
      ['Data', names.data],
      ['Run', (names.meta || []).filter((n) => !FIXED_COLUMNS.includes(n))]];
    function fill() {
      const needle = search.value.trim().toLowerCase();
      lists.replaceChildren();
      for (const [title, list] of sections) {
        const shown = (list || []).filter((n) => !needle || n.toLowerCase().includes(needle));
        if (!shown.length) continue;
        lists.append(el('h3', { text: title }), ...shown.map((name) => {
          const box = el('input', { type: 'checkbox', checked: state.columns.includes(name) });
          box.addEventListener('change', () => {
            state.columns = box.checked ? [...state.columns, name]
              : state.columns.filter((c) => c !== name);
            saveChosenColumns(state.columns);
            buildHeader();
            reload(true);
          });
          return el('label', { class: 'choice' }, box, ` ${name}`);
        }));
      }
      if (!lists.childElementCount) lists.append(message('No column matches.'));
    }
    search.addEventListener('input', fill);
    fill();
    chooser.replaceChildren(search, lists);
  }

  columnsButton.addEventListener('click', () => {
    chooser.hidden = !chooser.hidden;
    columnsButton.setAttribute('aria-expanded', String(!chooser.hidden));
    if (!chooser.hidden) chooser.querySelector('input').focus();
  });
  const closeChooser = (event) => {
    if (!chooser.hidden && !event.target.closest('.chooser-anchor')) {
      chooser.hidden = true;
      columnsButton.setAttribute('aria-expanded', 'false');
    }
  };
  document.addEventListener('click', closeChooser);
  ctx.onCleanup(() => document.removeEventListener('click', closeChooser));

  api('columns').then((names) => {
    if (!ctx.alive) return;
    for (const name of [...(names.parameters || []), 'status', 'namespace', 'host']) {
      groupSelect.append(el('option', { value: name, text: `group by ${name}` }));
    }
    groupSelect.value = state.group;
    buildChooser(names);
  }).catch((error) => chooser.replaceChildren(message(error.message, 'error')));

  // --- scrolling, live changes
  scroller.addEventListener('scroll', () => {
    runsState.scrollTop = scroller.scrollTop;
    render();
  }, { passive: true });
  const resize = new ResizeObserver(render);
  resize.observe(scroller);
  ctx.onCleanup(() => resize.disconnect());

  const refresh = debounce(() => reload(true), 1000);
  ctx.onCleanup(refresh.cancel);
  listen(ctx, [], {
    run: (event) => {
      if (!query) return;
      for (const page of query.pages.values()) {
        const row = page && page.find((r) => r.run === event.run);
        if (row && row.status !== event.status) {
          row.status = event.status;
          render();
        }
      }
    },
    runs: (event) => {
      setArchiveTotal(event.archive_total);
      refresh();
    },
  });

  buildHeader();
  const key = JSON.stringify(state);
  reload();
  if (key === runsState.key) scroller.scrollTop = runsState.scrollTop;
  runsState.key = key;
  filter.focus();
}

// ---------------------------------------------------------------------------------------------
// View: one run

async function runView(app, params, ctx) {
  const id = params.get('run') || '';
  const info = await api('run', { run: id });
  if (!ctx.alive) return;
  const meta = info.meta || {};
  const page = el('section', { id: 'run-page', dataset: { run: id } });
  app.append(page);

  const status = el('span', {}, statusBadge(info.status));
  page.append(el('div', { class: 'page-head' },
    el('h1', {}, meta.name || id, ' ', status),
    el('code', { class: 'run-id', text: id }),
    el('span', { class: 'spacer' }),
    el('a', { href: '#/', text: '← all runs' })));
  if (info.problem) page.append(message(info.problem, 'error'));

  const heartbeat = { at: Date.now() / 1000 - (info.heartbeat_age || 0), status: info.status };
  const overview = el('div', { class: 'columns' },
    metaPanel(info, heartbeat, ctx), parametersPanel(meta, info.params));
  page.append(overview);

  const charts = new Map();
  const chartGrid = el('div', { class: 'chart-grid' });
  page.append(panel('Series', chartGrid));
  const logView = logPanel(id, info, ctx);
  page.append(logView.node);
  page.append(imagesPanel(id, ctx));
  page.append(el('div', { class: 'columns' },
    panel('Data', dataTree(info.data, 'experiment_data.json')),
    panel('Summary', dataTree(info.summary, 'experiment_summary.json'))));
  page.append(el('div', { class: 'columns' }, filesPanel(id), artifactsPanel(id, info.artifacts)));

  function addChart(entry) {
    if (charts.has(entry.name)) return;
    const chart = runChart(id, entry, ctx);
    charts.set(entry.name, chart);
    const nodes = [...chartGrid.children];
    const before = nodes.find((n) => n.dataset.name > entry.name && !entry.name.startsWith('sys/') ===
      !n.dataset.name.startsWith('sys/'));
    chartGrid.insertBefore(chart.node, before || null);
  }

  try {
    const list = await api('series', { run: id });
    const entries = (list.series || []).slice().sort((a, b) =>
      (a.name.startsWith('sys/') - b.name.startsWith('sys/')) || a.name.localeCompare(b.name));
    for (const entry of entries) addChart(entry);
    if (!entries.length) chartGrid.append(message('This run tracked no series.'));
  } catch (error) {
    chartGrid.append(message(error.message, 'error'));
  }

  listen(ctx, [id], {
    run: (event) => {
      if (event.run !== id) return;
      if (typeof event.heartbeat === 'number') heartbeat.at = event.heartbeat;
      if (event.status && event.status !== heartbeat.status) {
        heartbeat.status = event.status;
        status.replaceChildren(statusBadge(event.status));
        // The run ended: its meta now says when and why.
        api('run', { run: id }).then((fresh) => {
          if (ctx.alive) overview.replaceChild(metaPanel(fresh, heartbeat, ctx), overview.firstChild);
        }).catch(() => {});
      }
    },
    series: (event) => {
      if (event.run !== id) return;
      const chart = charts.get(event.name);
      if (chart) chart.grow(event.bytes);
      else {
        chartGrid.querySelectorAll('p').forEach((p) => p.remove());
        addChart({ name: event.name, bytes: event.bytes });
      }
    },
    log: (event) => {
      if (event.run === id) logView.grow(event.bytes);
    },
  });
}

function metaPanel(info, heartbeat, ctx) {
  const meta = info.meta || {};
  const rows = [];
  const add = (label, value) => {
    if (value === undefined || value === null || value === '' ||
      (Array.isArray(value) && !value.length)) return;
    rows.push(el('dt', { text: label }), el('dd', {}, value));
  };
  add('description', meta.short_description || meta.description);
  add('namespace', meta.namespace);
  add('status', ended(meta, info.status));
  add('started', formatTime(meta.start_time));
  add('ended', formatTime(meta.end_time));
  const duration = el('span');
  const elapsed = () => {
    // A running run's meta holds no duration yet: count from its start.
    duration.textContent = formatDuration(heartbeat.status === 'running' && meta.start_time
      ? Math.max(0, Date.now() / 1000 - meta.start_time) : meta.duration);
  };
  elapsed();
  add('duration', duration);
  const age = el('span');
  const tick = () => {
    elapsed();
    const seconds = Math.max(0, Date.now() / 1000 - heartbeat.at);
    age.textContent = `${formatDuration(seconds)} ago`;
    age.className = heartbeat.status === 'running' && seconds > 60 ? 'warn' : '';
  };
  tick();
  const timer = setInterval(tick, 1000);
  ctx.onCleanup(() => clearInterval(timer));
  add('heartbeat', age);
  add('host', meta.pid ? `${meta.host || ''} (pid ${meta.pid})` : meta.host);
  add('experiment', meta.experiment_path);
  add('config', meta.config_path);
  add('command', Array.isArray(meta.command_line) ? meta.command_line.join(' ') : '');
  add('directory', meta.working_directory);
  if (meta.git) {
    const git = meta.git;
    add('git', el('span', {}, el('code', { text: String(git.commit || '').slice(0, 12) }),
      git.branch ? ` on ${git.branch}` : '',
      git.dirty ? el('span', { class: 'warn', text: ' (uncommitted changes)' }) : '',
      git.diff_file ? el('span', {}, ' ', el('a', { href: fileUrl(info.run, git.diff_file),
        target: '_blank', rel: 'noopener', text: 'diff' })) : ''));
  }
  if (meta.sweep && typeof meta.sweep === 'object' && meta.sweep.id) {
    const folder = String(info.run).split('/').slice(0, -1).join('/');
    add('sweep', el('span', {}, el('a', { href: hashFor('sweep', { sweep: `${folder}/.sweeps/${meta.sweep.id}` }),
      text: meta.sweep.id }), meta.sweep.index !== undefined ? ` (variation ${meta.sweep.index})` : ''));
  }
  add('python', [meta.python_version, meta.python_executable].filter(Boolean).join(' — '));
  if (meta.packages && typeof meta.packages === 'object') {
    const names = Object.keys(meta.packages);
    if (names.length) {
      add('packages', el('details', { class: 'packages' },
        el('summary', { text: `${names.length} Python packages` }),
        el('div', { class: 'package-list' }, names.map((name) =>
          el('span', { class: 'package' }, name, el('span', { class: 'muted', text: ` ${formatValue(meta.packages[name])}` }))))));
    }
  }
  add('xrun', meta.xrun_version);
  add('run hash', meta.run_hash ? el('code', { text: meta.run_hash.slice(0, 16) }) : '');
  add('log', formatBytes(info.log_size));
  return panel('Run', el('dl', { class: 'meta' }, rows));
}

/** The status with why the run ended: the exception, the exit code or the signal. */
function ended(meta, status) {
  const parts = [statusBadge(status)];
  if (meta.error_type) {
    parts.push(' ', el('code', { text: meta.error_type }));
    if (meta.error_message) parts.push(el('span', { text: `: ${meta.error_message}` }));
  }
  if (meta.signal) parts.push(el('span', { class: 'muted', text: ` signal ${meta.signal}` }));
  else if (meta.exit_code !== undefined && meta.exit_code !== null && status !== 'running') {
    parts.push(el('span', { class: 'muted', text: ` exit code ${meta.exit_code}` }));
  }
  return el('span', {}, parts);
}

/** Where a parameter's value came from; the file only for a base experiment or a config. */
function sourceOf(record) {
  if (!record.source) return '';
  const fromFile = (record.source === 'base' || record.source === 'config') && record.source_file;
  return fromFile ? `${record.source} (${record.source_file})` : record.source;
}

function parametersPanel(meta, params) {
  const records = parameterRecords(meta);
  const rows = records.map((record) => el('tr', { class: record.name.startsWith('__') ? 'builtin' : null },
    el('td', { title: record.description || '' }, el('code', { text: record.name })),
    el('td', { class: 'value', text: formatValue(record.value) }),
    el('td', { class: 'muted', text: record.type || '' }),
    el('td', { class: 'muted', text: sourceOf(record) })));
  if (!records.length && params && typeof params === 'object') {
    for (const [name, value] of Object.entries(params)) {
      rows.push(el('tr', {}, el('td', {}, el('code', { text: name })),
        el('td', { class: 'value', text: formatValue(value) }), el('td'), el('td', { class: 'muted', text: 'params.json' })));
    }
  }
  if (!rows.length) return panel('Parameters', message('No parameters.'));
  return panel('Parameters', el('table', { class: 'grid params' },
    el('thead', {}, el('tr', {}, ['name', 'value', 'type', 'source'].map((h) => el('th', { text: h })))),
    el('tbody', {}, rows)));
}

/** One series of the run page: drawn when it scrolls into view, grown by live events. */
function runChart(run, entry, ctx) {
  const holder = el('div', { class: 'plot' });
  const countLabel = el('span', { class: 'muted' });
  const node = el('div', { class: 'series-chart', dataset: { name: entry.name, points: '0' } },
    el('h3', {}, el('span', { text: entry.name }), ' ', countLabel), holder);
  const chart = { node, plot: null, x: [], y: [], offset: 0, busy: false, wanted: 0, width: 800 };

  function setPoints() {
    node.dataset.points = String(chart.x.length);
    countLabel.textContent = chart.total !== undefined
      ? `${chart.total.toLocaleString()} point${chart.total === 1 ? '' : 's'}` +
        (chart.exact ? '' : `, ${chart.x.length.toLocaleString()} drawn`) : '';
  }

  async function load() {
    chart.busy = true;
    try {
      chart.width = Math.max(200, Math.min(2000, holder.clientWidth || 800));
      const answer = await api('series/data', { runs: run, name: entry.name, x: 'step',
        width: chart.width });
      const s = (answer.series || [])[0] || { x: [], y: [] };
      chart.x = s.x.slice();
      chart.y = s.y.slice();
      chart.offset = s.offset || 0;
      chart.total = s.total;
      chart.exact = s.exact;
      draw();
    } catch (error) {
      holder.replaceChildren(message(error.message, 'error'));
    } finally {
      chart.busy = false;
    }
    if (chart.wanted > chart.offset) chart.grow(chart.wanted);
  }

  function draw() {
    if (!ctx.alive) return;
    if (!chart.plot) {
      holder.replaceChildren();
      chart.plot = makePlot(holder, { data: [chart.x, chart.y],
        lines: [{ label: entry.name, color: PALETTE[0] }], xKind: 'step' });
      ctx.onCleanup(() => {
        chart.plot.stopResizing();
        chart.plot.destroy();
      });
    } else {
      chart.plot.setData([chart.x, chart.y]);
    }
    setPoints();
  }

  /** New bytes in the series file: fetch only the points after what is drawn. */
  chart.grow = async (bytes) => {
    chart.wanted = Math.max(chart.wanted, bytes || 0);
    if (!chart.plot || chart.busy || chart.wanted <= chart.offset) return;
    chart.busy = true;
    try {
      // Drawn downsampled and grown far beyond that: fetch the whole series downsampled again.
      if (!chart.exact && chart.x.length > 4 * chart.width) {
        chart.busy = false;
        await load();
        return;
      }
      const answer = await api('series/data', { runs: run, name: entry.name, x: 'step',
        after: chart.offset });
      const s = (answer.series || [])[0];
      if (s && ctx.alive) {
        for (let i = 0; i < s.x.length; i += 1) {
          chart.x.push(s.x[i]);
          chart.y.push(s.y[i]);
        }
        chart.offset = s.offset;
        chart.total = typeof s.total === 'number' ? s.total : (chart.total || 0) + s.x.length;
        draw();
        if (s.more) chart.wanted = Math.max(chart.wanted, chart.offset + 1);
      }
    } catch {
      // the next event tries again
    } finally {
      chart.busy = false;
    }
    if (chart.wanted > chart.offset) chart.grow(chart.wanted);
  };

  whenVisible(ctx, node, load);
  return chart;
}

function logPanel(run, info, ctx) {
  const pre = el('pre', { id: 'log', class: 'log', tabindex: '0' });
  const earlier = el('button', { type: 'button', text: 'Load earlier', hidden: true });
  const follow = el('input', { type: 'checkbox', id: 'log-follow', checked: info.status === 'running' });
  const size = el('span', { class: 'muted' });
  const state = { start: 0, next: 0, size: 0, busy: false, wanted: 0 };
  const node = panel('Log', el('div', { class: 'toolbar' }, earlier,
    el('label', {}, follow, ' follow'), size), pre);

  function showSize() {
    size.textContent = `${formatBytes(state.size)}${state.start > 0 ? `, from byte ${state.start.toLocaleString()}` : ''}`;
    earlier.hidden = state.start <= 0;
  }
  function scrollDown() {
    if (follow.checked) pre.scrollTop = pre.scrollHeight;
  }

  async function first() {
    state.busy = true;
    try {
      const answer = await api('log', { run, offset: -LOG_CHUNK, limit: LOG_CHUNK });
      state.start = answer.offset;
      state.next = answer.next;
      state.size = answer.size;
      pre.textContent = answer.text;
      showSize();
      pre.scrollTop = pre.scrollHeight;
    } catch (error) {
      pre.textContent = '';
      node.append(message(error.message, 'error'));
    } finally {
      state.busy = false;
    }
    if (state.wanted > state.next) grow(state.wanted);
  }

  earlier.addEventListener('click', async () => {
    const offset = Math.max(0, state.start - LOG_CHUNK);
    try {
      const answer = await api('log', { run, offset, limit: state.start - offset });
      const height = pre.scrollHeight;
      pre.prepend(document.createTextNode(answer.text));
      pre.scrollTop += pre.scrollHeight - height;
      state.start = offset;
      showSize();
    } catch (error) {
      size.textContent = error.message;
    }
  });
  follow.addEventListener('change', scrollDown);

  async function grow(bytes) {
    state.wanted = Math.max(state.wanted, bytes || 0);
    if (state.busy || state.wanted <= state.next) return;
    state.busy = true;
    try {
      while (ctx.alive && state.wanted > state.next) {
        const answer = await api('log', { run, offset: state.next, limit: LOG_CHUNK });
        if (answer.next <= state.next) break;
        pre.append(document.createTextNode(answer.text));
        state.next = answer.next;
        state.size = answer.size;
        state.wanted = Math.max(state.wanted, answer.size);
        showSize();
        scrollDown();
      }
    } catch {
      // the next event tries again
    } finally {
      state.busy = false;
    }
  }

  first();
  return { node, grow };
}

function imagesPanel(run, ctx) {
  const body = el('div', { class: 'images' });
  const node = panel('Images', body);
  api('images', { run }).then((answer) => {
    if (!ctx.alive) return;
    const images = answer.images || [];
    if (!images.length) {
      node.hidden = true;
      return;
    }
    const byKey = new Map();
    for (const image of images) {
      if (!byKey.has(image.key)) byKey.set(image.key, []);
      byKey.get(image.key).push(image);
    }
    for (const [key, list] of byKey) {
      list.sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || (a.time || 0) - (b.time || 0));
      const img = el('img', { alt: key, loading: 'lazy' });
      const caption = el('figcaption');
      const slider = el('input', { type: 'range', min: '0', max: String(list.length - 1), step: '1',
        value: String(list.length - 1), 'aria-label': `${key}: step` });
      const show = () => {
        const image = list[Number(slider.value)];
        img.src = fileUrl(run, image.file);
        caption.textContent = `${image.step === null || image.step === undefined ? 'no step' : `step ${image.step}`}` +
          `${image.caption ? ` — ${image.caption}` : ''}`;
      };
      slider.addEventListener('input', show);
      show();
      body.append(el('figure', { class: 'image-key' }, el('h3', { text: key }), img,
        list.length > 1 ? slider : null, caption));
    }
  }).catch((error) => body.append(message(error.message, 'error')));
  return node;
}

/** A collapsible view of a JSON value (objects and arrays are <details>). */
function dataTree(value, name) {
  if (value === null || value === undefined) return message(`No ${name}.`);
  return el('div', { class: 'tree' }, treeNode(value, name, 0));
}

function treeNode(value, key, depth) {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const details = el('details', { open: depth < 2 && entries.length <= 50 },
      el('summary', {}, el('span', { class: 'key', text: key }),
        el('span', { class: 'muted', text: Array.isArray(value) ? ` [${entries.length}]` : ` {${entries.length}}` })));
    const shown = entries.slice(0, 1000);
    for (const [k, v] of shown) details.append(treeNode(v, k, depth + 1));
    if (entries.length > shown.length) {
      details.append(message(`… ${entries.length - shown.length} more`));
    }
    return details;
  }
  return el('div', { class: 'leaf' }, el('span', { class: 'key', text: key }), ': ',
    el('span', { class: `value ${typeof value}`, text: typeof value === 'string' ? JSON.stringify(value) : String(value) }));
}

function filesPanel(run) {
  const list = el('div', { class: 'files' });
  const preview = el('div', { class: 'preview', hidden: true });
  const node = panel('Files', list, preview);
  api('files', { run }).then((answer) => {
    const rows = (answer.files || []).map((file) => {
      const depth = file.path.split('/').length - 1;
      const name = el('span', { class: 'file-name', text: file.path.split('/').pop() });
      name.style.paddingLeft = `${depth * 1.1}em`;
      let action = null;
      if (file.kind === 'file') {
        action = el('button', { type: 'button', class: 'link', text: 'view' });
        action.addEventListener('click', () => showFile(run, file, preview));
      }
      return el('tr', { class: `file-${file.kind}` },
        el('td', {}, name, file.kind === 'dir' ? '/' : '', file.kind === 'link' ? el('span', { class: 'muted', text: ' → link, not followed' }) : ''),
        el('td', { class: 'num', text: file.kind === 'file' ? formatBytes(file.size) : '' }),
        el('td', {}, action));
    });
    if (!rows.length) list.append(message('No files.'));
    else list.append(el('table', { class: 'grid' }, el('tbody', {}, rows)));
    if (answer.truncated) list.append(message('Only the first files are listed.'));
  }).catch((error) => list.append(message(error.message, 'error')));
  return node;
}

async function showFile(run, file, preview) {
  const url = fileUrl(run, file.path);
  const extension = extensionOf(file.path);
  const head = el('div', { class: 'toolbar' }, el('strong', { text: file.path }),
    el('span', { class: 'spacer' }), el('a', { href: url, download: file.path.split('/').pop(), text: 'download' }));
  preview.hidden = false;
  if (IMAGE_EXTENSIONS.includes(extension)) {
    preview.replaceChildren(head, el('img', { src: url, alt: file.path }));
  } else if (TEXT_EXTENSIONS.includes(extension) && file.size <= PREVIEW_LIMIT) {
    const pre = el('pre', { class: 'file-text', text: 'loading…' });
    preview.replaceChildren(head, pre);
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      pre.textContent = await response.text();
    } catch (error) {
      pre.textContent = error.message;
    }
  } else {
    preview.replaceChildren(head, message(TEXT_EXTENSIONS.includes(extension)
      ? `${formatBytes(file.size)}: too large to show here.` : 'No preview for this kind of file.'));
  }
  preview.scrollIntoView({ block: 'nearest' });
}

function artifactsPanel(run, artifacts) {
  const list = Array.isArray(artifacts) ? artifacts.filter((a) => a && typeof a === 'object') : [];
  if (!list.length) return panel('Artifacts', message('No artifacts.'));
  const keys = [];
  for (const artifact of list.slice(0, 20)) {
    for (const key of Object.keys(artifact)) {
      if (!keys.includes(key) && keys.length < 7) keys.push(key);
    }
  }
  return panel('Artifacts', el('div', { class: 'wide' }, el('table', { class: 'grid' },
    el('thead', {}, el('tr', {}, keys.map((k) => el('th', { text: k })))),
    el('tbody', {}, list.map((artifact) => el('tr', {}, keys.map((k) => {
      const value = artifact[k];
      if ((k === 'path' || k === 'file') && typeof value === 'string') {
        return el('td', {}, el('a', { href: fileUrl(run, value), download: value.split('/').pop(), text: value }));
      }
      if (typeof value === 'string' && /^[0-9a-f]{32,}$/.test(value)) {
        return el('td', {}, el('code', { title: value, text: value.slice(0, 12) }));
      }
      return el('td', { text: k === 'size' && typeof value === 'number' ? formatBytes(value) : formatValue(value) });
    })))))));
}

// ---------------------------------------------------------------------------------------------
// View: comparing runs

async function compareView(app, params, ctx) {
  const ids = (params.get('runs') || '').split(',').filter(Boolean);
  const page = el('section', { id: 'compare-page' });
  app.append(page);
  if (!ids.length) {
    page.append(message('Choose runs in the table, then "Compare".'));
    return;
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
/**
 * How many buckets to ask for: one per pixel column for a few runs; fewer for many, whose lines
 * overlap anyway (the download and the drawing grow with runs x buckets; zooming in brings back
 * every point of the range).
 */
function bucketCount(pixels, runs) {
  const width = runs > 8 ? Math.max(250, Math.round(pixels * 8 / runs)) : pixels;
  return Math.max(100, Math.min(4000, Math.round(width)));
}

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

const JOIN_CELLS = 2e6; // above this many cells, a join on exact x values is too slow to draw
const MAX_SLOTS = 16;

/**
 * One x array for all the runs' lines, as uPlot wants. Few points: joined on their exact x
 * values. Many runs of downsampled points: their x values rarely coincide, so a join would
 * hold points x runs cells; instead each of the request's buckets (one pixel column wide) gets
 * a few x slots shared by every run, and a run's points of that bucket fill them in order.
 */
function joinTables(tables, answer) {
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

/**
 * The mean, min and max over a group's runs per bucket. The server cuts every run of a request
 * into the same buckets, so bucket start x values line up; a run sent whole (exact) is cut here
 * the same way.
 */
function mergeBuckets(members, answer) {
  const from = answer.from;
  const to = answer.to;
  const width = answer.width || 1000;
  const step = (to - from) / width || 1;
  const buckets = new Map();
  const add = (x, mean, lo, hi) => {
    if (mean === null || mean === undefined) return;
    let b = buckets.get(x);
    if (!b) buckets.set(x, (b = { sum: 0, n: 0, lo: Infinity, hi: -Infinity }));
    b.sum += mean;
    b.n += 1;
    b.lo = Math.min(b.lo, lo);
    b.hi = Math.max(b.hi, hi);
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
      const start = from + index * step;
      let b = own.get(start);
      if (!b) own.set(start, (b = { sum: 0, n: 0, lo: Infinity, hi: -Infinity }));
      b.sum += y;
      b.n += 1;
      b.lo = Math.min(b.lo, y);
      b.hi = Math.max(b.hi, y);
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

// ---------------------------------------------------------------------------------------------
// Views: sweeps

async function sweepsView(app, params, ctx) {
  const answer = await api('sweeps');
  if (!ctx.alive) return;
  const sweeps = answer.sweeps || [];
  const page = el('section', { id: 'sweeps-page' }, el('div', { class: 'page-head' },
    el('h1', { text: 'Sweeps' }), el('span', { class: 'spacer' }), el('a', { href: '#/', text: '← all runs' })));
  app.append(page);
  if (!sweeps.length) {
    page.append(message('No sweeps in this archive (xrun sweep ... makes one).'));
    return;
  }
  page.append(el('table', { class: 'grid sweeps' },
    el('thead', {}, el('tr', {}, ['sweep', 'namespace', 'state', 'variations', 'statuses', 'started'].map((h) => el('th', { text: h })))),
    el('tbody', {}, sweeps.map((s) => {
      const href = hashFor('sweep', { sweep: s.sweep });
      const row = el('tr', { class: 'sweep-row', dataset: { sweep: s.sweep } },
        el('td', {}, el('a', { href, text: s.id || s.sweep })),
        el('td', { text: s.namespace }),
        el('td', {}, statusBadge(s.state || '')),
        el('td', { class: 'num', text: formatValue(s.rows) }),
        el('td', {}, Object.entries(s.counts || {}).map(([k, n]) => el('span', { class: 'count' }, statusBadge(k), ` ${n}`))),
        el('td', { class: 'num', text: formatTime(s.start_time) }));
      row.addEventListener('click', (event) => {
        if (!event.target.closest('a')) location.hash = href;
      });
      return row;
    }))));
}

function manifestValue(key, value) {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return el('code', { text: key === 'command_line' ? value.join(' ') : value.join(', ') });
  }
  if (typeof value === 'number' && value > 1e9 && /time|created|started|ended/.test(key)) {
    return formatTime(value);
  }
  if (value !== null && typeof value === 'object') return el('code', { text: JSON.stringify(value) });
  return formatValue(value);
}

async function sweepView(app, params, ctx) {
  const answer = await api('sweep', { sweep: params.get('sweep') || '' });
  if (!ctx.alive) return;
  const rows = answer.rows || [];
  const settingNames = [...new Set(rows.flatMap((r) => Object.keys(r.settings || {})))];
  const page = el('section', { id: 'sweep-page' }, el('div', { class: 'page-head' },
    el('h1', {}, `Sweep ${answer.sweep} `, statusBadge(answer.state || '')), el('span', { class: 'spacer' }),
    el('a', { href: '#/sweeps', text: '← all sweeps' })));
  app.append(page);
  const command = el('code', { text: answer.resume || '' });
  const copy = el('button', { type: 'button', text: 'copy' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(answer.resume);
      copy.textContent = 'copied';
    } catch {
      copy.textContent = 'select and copy';
    }
  });
  const manifest = answer.manifest && typeof answer.manifest === 'object' ? answer.manifest : {};
  page.append(el('div', { class: 'columns' },
    panel('Manifest', el('dl', { class: 'meta' }, Object.entries(manifest).map(([k, v]) =>
      [el('dt', { text: k.replace(/_/g, ' ') }), el('dd', {}, manifestValue(k, v))]))),
    panel('Resume', answer.resume ? el('p', {}, command, ' ', copy) : message('Nothing to resume.'))));
  const withRuns = rows.filter((r) => r.run).map((r) => r.run);
  page.append(panel(`Variations (${rows.length})`,
    withRuns.length > 1 ? el('p', {}, el('a', { href: hashFor('compare', { runs: withRuns.join(',') }), text: `Compare the ${withRuns.length} runs` })) : null,
    el('table', { class: 'grid variations' },
      el('thead', {}, el('tr', {}, ['#', 'status', 'run', ...settingNames].map((h) => el('th', { text: h })))),
      el('tbody', {}, rows.map((r) => el('tr', { class: 'variation-row' },
        el('td', { class: 'num', text: formatValue(r.index) }),
        el('td', {}, statusBadge(r.status || '')),
        el('td', {}, r.run ? el('a', { href: runHref(r.run), text: r.run }) : el('span', { class: 'muted', text: 'not started' })),
        settingNames.map((n) => el('td', { class: 'value', text: formatValue((r.settings || {})[n]) }))))))));
}

// ---------------------------------------------------------------------------------------------
// The router

const VIEWS = { '': runsView, run: runView, compare: compareView, sweeps: sweepsView, sweep: sweepView };

class ViewContext {
  constructor() {
    this.alive = true;
    this.cleanups = [];
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  close() {
    this.alive = false;
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // a view's teardown failing must not keep the next view from showing
      }
    }
  }
}

let currentView = null;

function route() {
  if (currentView) currentView.close();
  const hash = location.hash.replace(/^#\/?/, '');
  const question = hash.indexOf('?');
  const path = question < 0 ? hash : hash.slice(0, question);
  const params = new URLSearchParams(question < 0 ? '' : hash.slice(question + 1));
  const view = VIEWS[path];
  const app = document.getElementById('app');
  app.replaceChildren();
  app.className = `view-${path || 'runs'}`;
  for (const link of document.querySelectorAll('[data-nav]')) {
    const active = link.dataset.nav === (path.startsWith('sweep') ? 'sweeps' : path === '' ? 'runs' : '');
    link.classList.toggle('active', active);
  }
  const ctx = new ViewContext();
  currentView = ctx;
  if (!view) {
    app.append(message(`No view "${path}".`, 'error'), el('a', { href: '#/', text: 'Back to the runs' }));
    return;
  }
  window.scrollTo(0, 0);
  document.title = `xrun — ${path || 'runs'}`;
  view(app, params, ctx).catch((error) => {
    if (!ctx.alive) return;
    app.append(el('div', { class: 'panel' }, message(error.message, 'error'),
      el('a', { href: '#/', text: 'Back to the runs' })));
  });
}

window.addEventListener('hashchange', route);
if (typeof uPlot === 'undefined') {
  document.getElementById('app').replaceChildren(message('The chart library did not load.', 'error'));
} else {
  route();
}
