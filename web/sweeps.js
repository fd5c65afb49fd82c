// Views #/sweeps (every sweep of the archive) and #/sweep?sweep=REL (one sweep's variations).

import {
  el, formatTime, formatValue, hashFor, message, panel, runHref, statusBadge,
} from './dom.js';
import { api } from './api.js';

export async function sweepsView(app, params, ctx) {
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

export async function sweepView(app, params, ctx) {
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
