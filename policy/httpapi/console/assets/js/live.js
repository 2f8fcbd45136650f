// Live view: the binds, the upstreams' health per route, and PDU,
// opt-out / opt-in and held rates over the last minutes as small charts,
// polled from GET /api/v1/live every few seconds (never by reloading the
// page). Navigating away stops the polling.

import * as api from './api.js';
import { h, fill, when, clock, duration, tag, words, errorBox } from './dom.js';
import { dataTable } from './table.js';
import { lineChart } from './chart.js';

// every is how often the view asks, in milliseconds.
const every = 2000;

// totals are the counters since optguard started (held: now).
const totals = [
  ['submit_sm', 'submit_sm'],
  ['deliver_sm', 'deliver_sm'],
  ['data_sm', 'data_sm'],
  ['submit_multi', 'submit_multi'],
  ['opt_out', 'Opt-outs'],
  ['opt_in', 'Opt-ins'],
  ['held', 'Held now'],
];

export function render(root, ctx) {
  let timer = null, busy = false, stopped = false, paused = false;
  const updated = h('p', { class: 'muted', id: 'live-updated' }, 'Waiting for the first figures…');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const pause = h('button', { type: 'button', class: 'btn', id: 'live-pause', 'aria-pressed': 'false' }, 'Pause');
  const counters = h('dl', { class: 'counters', id: 'live-totals' });
  const charts = h('div', { class: 'charts', id: 'live-charts' });
  const note = h('p', { class: 'muted', id: 'live-withheld', hidden: true },
    'Your token sees some organizations only: the request counters, the held count and the upstreams count every organization, so they are not shown.');
  const binds = dataTable({
    id: 'live-binds', caption: 'Binds', pageSize: 50, empty: 'No ESME is bound.',
    columns: [
      { key: 'system_id', label: 'system_id' },
      { key: 'organization', label: 'Organization' },
      { key: 'remote', label: 'Remote' },
      { key: 'bind_type', label: 'Bind', cell: (b) => words(b.bind_type) },
      { key: 'route', label: 'Route', cell: (b) => [b.route, b.service ? tag("optguard's own", 'warn') : ''] },
      { key: 'bound_at', label: 'Bound at', cell: (b) => when(b.bound_at) },
      { key: 'uptime_seconds', label: 'Up', cell: (b) => duration(b.uptime_seconds) },
      {
        key: 'window', label: 'Window use', sort: (b) => b.window_used / (b.window_size || 1),
        cell: (b) => [h('meter', { min: 0, max: b.window_size || 1, value: b.window_used, 'aria-label': 'window of ' + b.system_id }), ' ', b.window_used + ' / ' + b.window_size],
      },
    ],
  });
  const upstreams = dataTable({
    id: 'live-upstreams', caption: 'Upstream SMSCs by route', pageSize: 0, empty: 'No upstream.',
    columns: [
      { key: 'route', label: 'Route' },
      { key: 'address', label: 'Address' },
      { key: 'healthy', label: 'Health', sort: (u) => (u.healthy ? 1 : 0), cell: (u) => (u.healthy ? tag('healthy', 'ok') : tag('down', 'bad')) },
      { key: 'binds', label: 'Binds' },
      { key: 'connects', label: 'Binds made' },
      { key: 'failures', label: 'Failures' },
      { key: 'last_error', label: 'Last error', cell: (u) => u.last_error ? [u.last_error, ' (', when(u.last_failure_at), ')'] : '' },
    ],
  });

  const upSection = h('section', { 'aria-labelledby': 'live-up-title' }, h('h2', { id: 'live-up-title' }, 'Upstreams'), upstreams.el);

  function draw(d) {
    const minutes = Math.round((d.window_seconds || 0) / 60);
    const withheld = new Set(d.withheld || []);
    updated.textContent = 'Updated ' + when(d.at) + ' · a point every ' + d.step_seconds + ' s over the last ' + (minutes ? minutes + ' min' : d.window_seconds + ' s') + '.';
    fill(counters, totals.map(([k, label]) => h('div', { class: 'counter' },
      h('dt', {}, label), h('dd', { id: 'live-total-' + k }, d.totals?.[k] == null ? '—' : String(d.totals[k])))));
    note.hidden = !withheld.size;
    const s = d.series || {}, t = s.times || [];
    const shown = (key) => !withheld.has('series.' + key);
    const unit = 'per second';
    const pdus = [['submit_sm', 's1'], ['deliver_sm', 's2'], ['data_sm', 's3'], ['submit_multi', 's4']].filter(([k]) => shown(k))
      .map(([k, cls]) => ({ name: k, values: s[k] || [], cls }));
    fill(charts,
      pdus.length ? lineChart({ id: 'chart-pdus', label: 'Requests by command, per second', times: t, unit, clock, series: pdus }) : null,
      lineChart({ id: 'chart-consent', label: 'Opt-outs and opt-ins, per second', times: t, unit, clock, series: [
        { name: 'opt-outs', values: s.opt_out || [], cls: 's5' },
        { name: 'opt-ins', values: s.opt_in || [], cls: 's1' },
      ] }),
      shown('held') ? lineChart({ id: 'chart-held', label: 'Messages held for consent', times: t, unit: 'held', clock, series: [
        { name: 'held', values: s.held || [], cls: 's3' },
      ] }) : null);
    binds.set(d.binds || []);
    upSection.hidden = withheld.has('upstreams');
    upstreams.set(d.upstreams || []);
  }

  async function tick() {
    timer = null;
    busy = true;
    try {
      const d = await api.get('/api/v1/live');
      if (stopped) return;
      error.hidden = true;
      draw(d);
    } catch (e) {
      if (stopped) return;
      errorBox(error, api.explain(e));
      if (e.status === 401) return; // signed out: no more polling
    } finally {
      busy = false;
    }
    if (!stopped && !paused) timer = setTimeout(tick, every);
  }
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused && !timer && !busy) tick();
    if (paused && timer) { clearTimeout(timer); timer = null; }
  });

  fill(root, h('h1', {}, 'Live'),
    h('p', { class: 'lead' }, 'What optguard is doing now: binds, upstream health and traffic, refreshed every few seconds.'),
    h('div', { class: 'toolbar' }, updated, pause), error,
    h('section', { 'aria-labelledby': 'live-totals-title' }, h('h2', { id: 'live-totals-title' }, 'Since optguard started'), note, counters),
    h('section', { 'aria-labelledby': 'live-charts-title' }, h('h2', { id: 'live-charts-title' }, 'Rates'), charts),
    h('section', { 'aria-labelledby': 'live-binds-title' }, h('h2', { id: 'live-binds-title' }, 'Binds'), binds.el),
    upSection);
  tick();
  return () => { stopped = true; if (timer) clearTimeout(timer); };
}
