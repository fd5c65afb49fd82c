// Building the page: element helpers, the formatting of times, sizes and values, links to the
// views, and what a run's answer says (its parameters, a short label). Everything a run
// recorded (names, parameters, log text, file contents) is untrusted: it reaches the page
// through textContent and attributes, never as markup.

/** An element with properties, attributes, listeners and children (strings become text). */
export function el(tag, props, ...children) {
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

export function svg(tag, attributes, text) {
  const node = document.createElementNS(svgNs, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Links to the views

export function hashFor(view, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return `#/${view}${text ? `?${text}` : ''}`;
}

export const runHref = (run) => hashFor('run', { run });

// Formatting

function pad(n) {
  return String(n).padStart(2, '0');
}

export function formatTime(epoch) {
  if (epoch === null || epoch === undefined || epoch === '') return '';
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatValue(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(6)));
  }
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

// Pieces every view uses

export function statusBadge(status, title) {
  return el('span', { class: `status status-${String(status).replace(/[^a-z_]/g, '')}`, title },
    status);
}

export function panel(title, ...content) {
  return el('section', { class: 'panel' }, el('h2', { text: title }), ...content);
}

export function message(text, kind) {
  return el('p', { class: kind === 'error' ? 'error' : 'muted', text });
}

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Calls `load` once, when `node` first comes near the viewport. */
export function whenVisible(ctx, node, load) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      load();
    }
  }, { rootMargin: '200px' });
  observer.observe(node);
  ctx.onCleanup(() => observer.disconnect());
}

export function debounce(fn, ms) {
  let timer = 0;
  const call = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

// What a run's answer says

/** The meta's parameter records, in declaration order (the meta keeps them by name). */
export function parameterRecords(meta) {
  const records = meta && meta.parameters;
  if (!records || typeof records !== 'object') return [];
  return (Array.isArray(records) ? records : Object.values(records))
    .filter((record) => record && typeof record === 'object' && typeof record.name === 'string');
}

/** The run's parameters as name -> value: the meta's records, else the SDK's params.json. */
export function parametersOf(info) {
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
export function undatedId(id) {
  const dated = /^\d{4}-\d{2}-\d{2}_(.+)$/.exec(id);
  return dated ? dated[1] : id;
}

/** A short name for a run: its experiment and its id without the date. */
export function runLabel(info) {
  const name = (info.meta && info.meta.name) || info.run;
  return `${name} ${undatedId((info.meta && info.meta.id) || String(info.run).split('/').pop())}`;
}
