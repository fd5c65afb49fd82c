// The xrun viewer: one page, views chosen by the URL's hash (#/, #/run, #/compare, #/sweeps,
// #/sweep), each drawn by its own module, talking to /api/v1/ only (api.js). This module is the
// router: it gives each view a fresh context and tears the previous one down.

import { el, message } from './dom.js';
import { runsView } from './runs.js';
import { runView } from './run.js';
import { compareView } from './compare.js';
import { sweepsView, sweepView } from './sweeps.js';

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
// A token in the URL has been turned into this server's cookie by now: it leaves the address
// bar and the history, where it would be seen and kept.
if (new URLSearchParams(location.search).has('token')) {
  history.replaceState(null, '', location.pathname + location.hash);
}
if (typeof uPlot === 'undefined') {
  document.getElementById('app').replaceChildren(message('The chart library did not load.', 'error'));
} else {
  route();
}
