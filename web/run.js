// View #/run?run=ID: one run's metadata, parameters, series, log, images, data and files; its
// charts and log follow a running run through the event stream.

import {
  el, formatBytes, formatDuration, formatTime, formatValue, hashFor, message, panel,
  parameterRecords, statusBadge, whenVisible,
} from './dom.js';
import { api, fileUrl, listen } from './api.js';
import { makePlot, PALETTE } from './charts.js';

const LOG_CHUNK = 65536;
const PREVIEW_LIMIT = 2 * 1024 * 1024; // larger text files are offered as a download only
const TEXT_EXTENSIONS = ['txt', 'log', 'csv', 'json', 'jsonl', 'py', 'yaml', 'yml', 'md', 'cfg',
  'ini', 'toml'];
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp'];

export async function runView(app, params, ctx) {
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

function extensionOf(path) {
  const base = path.split('/').pop();
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
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
