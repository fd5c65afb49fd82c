// View #/: the runs table. It fetches the rows it shows a page at a time (the archive may hold
// many thousands of runs) and draws only the visible ones.

import {
  debounce, el, formatDuration, formatTime, formatValue, hashFor, message, runHref, statusBadge,
  undatedId,
} from './dom.js';
import { api, listen, setArchiveTotal } from './api.js';

const PAGE_SIZE = 200; // runs fetched per request while scrolling the table
const ROW_HEIGHT = 28; // px; fixed, so the table can place rows it has not fetched yet
const OVERSCAN = 12; // rows rendered above and below the visible ones
const FIXED_COLUMNS = ['status', 'name', 'namespace', 'start_time', 'duration', 'host', 'tags'];
const COLUMN_TITLES = { start_time: 'start', end_time: 'end' };

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

export async function runsView(app, params, ctx) {
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
