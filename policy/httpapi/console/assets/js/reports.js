// Reports: seed 000's SMS Opt-In Report (tabs With Consent / With
// Disclaimer; filters Keywords, From or To number, Date Range) and seed
// 003's consent status report. The rows are the API's report pages; the
// table sorts and pages the rows loaded (up to a batch of 1000 at a time,
// "Load more" for the next), and the CSV download is the API's CSV of
// exactly the filters applied, whatever was loaded.

import * as api from './api.js';
import { h, fill, when, badge, words, field, select, orgOptions, numberLink, announce, errorBox } from './dom.js';
import { dataTable } from './table.js';

const tabs = [
  ['consent', 'With Consent'],
  ['disclaimer', 'With Disclaimer'],
  ['status', 'Consent status'],
];

// batch is how many rows one load gathers; maxCalls bounds the requests
// it makes for them (an opt-in report page may hold no row and still
// have more).
const batch = 1000, maxCalls = 10;

export function render(root, ctx) {
  const tab = tabs.some(([t]) => t === ctx.args[0]) ? ctx.args[0] : 'consent';
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Reports' }, h('ul', {}, tabs.map(([t, label]) =>
    h('li', {}, h('a', { href: '#/reports/' + t, id: 'tab-' + t, 'aria-current': t === tab ? 'page' : null }, label)))));
  const panel = h('div', { id: 'report-panel' });
  fill(root, h('h1', {}, tab === 'status' ? 'Consent status report' : 'SMS Opt-In Report'),
    h('p', { class: 'lead' }, tab === 'status'
      ? 'Every consent record your token sees: whether the handset provided consent, and since when, how and by whom.'
      : tab === 'consent' ? 'Handsets that opted in while their organization was in consent mode: when, how, and their state now.'
        : 'Handsets that were sent the disclaimer in a disclaimer-mode organization.'),
    nav, panel);
  if (tab === 'status') statusReport(panel, ctx);
  else optInReport(panel, ctx, tab);
}

// filterForm builds the form of inputs (name → control), with Search,
// Reset and Download buttons.
function filterForm(id, fields, onSearch, onReset, onDownload) {
  const form = h('form', { class: 'form filters', id, novalidate: true, role: 'search', 'aria-label': 'Filters' }, fields,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn primary', id: id + '-search' }, 'Search'),
      h('button', { type: 'button', class: 'btn', id: id + '-reset', onclick: onReset }, 'Reset'),
      h('button', { type: 'button', class: 'btn', id: id + '-csv', onclick: onDownload }, 'Download CSV')));
  form.addEventListener('submit', (e) => { e.preventDefault(); onSearch(); });
  return form;
}

function orgSelect(id, ctx, value) {
  return select(id, orgOptions(ctx.orgs, ctx.allowAll() ? 'Every organization I see' : null), value || (ctx.allowAll() ? '' : ctx.defaultOrg()));
}

function optInReport(panel, ctx, tab) {
  const q = ctx.query;
  const keyword = h('input', { id: 'rep-keyword', type: 'search', value: q.get('keyword') || '', maxlength: 100 });
  const number = h('input', { id: 'rep-number', type: 'text', inputmode: 'tel', value: q.get('number') || '' });
  const from = h('input', { id: 'rep-from', type: 'date', value: q.get('from') || '' });
  const to = h('input', { id: 'rep-to', type: 'date', value: q.get('to') || '' });
  const org = orgSelect('rep-org', ctx, q.get('organization'));
  const filters = () => ({ tab, keyword: keyword.value.trim(), number: number.value.trim(), from: from.value, to: to.value, organization: org.value });
  const table = dataTable({
    id: 'report', caption: tab === 'consent' ? 'With Consent' : 'With Disclaimer', pageSize: 25, empty: 'No rows match.',
    columns: [
      { key: 'organization', label: 'Organization', cell: (r) => r.organization_name && r.organization_name !== r.organization ? r.organization_name + ' (' + r.organization + ')' : r.organization },
      { key: 'sender', label: 'Name & number', sort: (r) => (r.sender_name || '') + (r.sender_number || ''), cell: (r) => [r.sender_name || '', r.sender_number ? ' (' + r.sender_number + ')' : ''] },
      { key: 'number', label: 'Guest #', cell: (r) => r.erased ? 'erased' : numberLink(r.number, r.organization) },
      { key: 'timestamp', label: 'Timestamp', cell: (r) => when(r.timestamp) },
      { key: 'method', label: 'How', cell: (r) => words(r.method) },
      { key: 'state', label: 'State now', cell: (r) => r.state ? badge(r.state) : '' },
    ],
  });
  const path = '/api/v1/reports/opt-in';
  const out = results(table, path, filters);
  const form = filterForm('rep-form', [
    field('Keywords', keyword, 'Organization, sender name or sender number.'),
    field('From or To', number, 'A handset or sender number, or its first digits (+1555).'),
    h('fieldset', { class: 'range' }, h('legend', {}, 'Date range (UTC)'), field('From', from), field('To (that whole day)', to)),
    field('Organization', org),
  ], () => { remember(ctx, tab, filters()); out.load(); },
  () => { keyword.value = number.value = from.value = to.value = ''; org.value = ctx.allowAll() ? '' : ctx.defaultOrg(); remember(ctx, tab, {}); out.load(); },
  () => out.download('opt-in-' + tab + '.csv'));
  fill(panel, form, out.el);
  out.load();
}

function statusReport(panel, ctx) {
  const q = ctx.query;
  const chosen = (q.get('state') || '').split(',').filter(Boolean);
  const states = [['opted_in', 'Opted in'], ['opted_out', 'Opted out'], ['pending', 'Pending'], ['unknown', 'Unknown']].map(([v, l]) => {
    const box = h('input', { type: 'checkbox', id: 'st-' + v, value: v, checked: chosen.includes(v) });
    return { v, box, el: h('div', { class: 'check' }, box, h('label', { for: box.id }, l)) };
  });
  const number = h('input', { id: 'st-number', type: 'text', inputmode: 'tel', value: q.get('number') || '' });
  const org = orgSelect('st-org', ctx, q.get('organization'));
  const filters = () => ({ state: states.filter((s) => s.box.checked).map((s) => s.v).join(','), number: number.value.trim(), organization: org.value });
  const table = dataTable({
    id: 'report', caption: 'Consent status', pageSize: 25, empty: 'No records match.',
    columns: [
      { key: 'number', label: 'Number', cell: (r) => r.erased ? 'erased' : numberLink(r.number, r.organization) },
      { key: 'organization', label: 'Organization' },
      { key: 'sender', label: 'Sender' },
      { key: 'consented', label: 'Provided consent?', sort: (r) => (r.consented ? 1 : 0), cell: (r) => (r.consented ? 'Yes' : 'No') },
      { key: 'state', label: 'State', cell: (r) => badge(r.state) },
      { key: 'mode', label: 'Mode' },
      { key: 'when', label: 'Since', cell: (r) => when(r.when) },
      { key: 'method', label: 'How', cell: (r) => words(r.method) },
      { key: 'changed_by', label: 'Changed by' },
    ],
  });
  const out = results(table, '/api/v1/reports/consent-status', filters);
  const form = filterForm('st-form', [
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Consent status'), states.map((s) => s.el)),
    field('Number', number, 'A number, or its first digits (+1555).'),
    field('Organization', org),
  ], () => { remember(ctx, 'status', filters()); out.load(); },
  () => { states.forEach((s) => { s.box.checked = false; }); number.value = ''; org.value = ctx.allowAll() ? '' : ctx.defaultOrg(); remember(ctx, 'status', {}); out.load(); },
  () => out.download('consent-status.csv'));
  fill(panel, form, out.el);
  out.load();
}

function remember(ctx, tab, f) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v && k !== 'tab') qs.set(k, v);
  const s = qs.toString();
  ctx.remember('#/reports/' + tab + (s ? '?' + s : ''));
}

// results loads rows of path with the filters into table, a batch at a
// time, and downloads the API's CSV of the same filters.
function results(table, path, filters) {
  const count = h('p', { class: 'count', id: 'report-count', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', id: 'report-more', hidden: true }, 'Load more rows');
  let cursor = '', query = {}, gen = 0;

  async function fetchBatch(mine) {
    let rows = [], calls = 0;
    do {
      const page = await api.get(path, { ...query, limit: batch, cursor });
      if (mine !== gen) return null; // a newer search started
      rows = rows.concat(page.items || []);
      cursor = page.next_cursor || '';
    } while (cursor && rows.length < batch && ++calls < maxCalls);
    return rows;
  }
  async function run(first) {
    const mine = first ? ++gen : gen;
    error.hidden = true;
    more.disabled = true;
    if (first) {
      query = filters();
      cursor = '';
      count.textContent = 'Searching…';
    }
    try {
      const rows = await fetchBatch(mine);
      if (rows === null) return;
      if (first) table.set(rows);
      else table.add(rows);
      const n = table.rows.length;
      count.textContent = n + (n === 1 ? ' row' : ' rows') + (cursor ? ' loaded; more match' : '') + '.';
    } catch (e) {
      errorBox(error, api.explain(e));
      count.textContent = '';
    } finally {
      more.hidden = !cursor;
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => run(false));
  return {
    el: h('div', { class: 'results' }, count, error, table.el, h('div', { class: 'actions' }, more)),
    load: () => run(true),
    async download(fallback) {
      try {
        // The filters of the rows shown, not what the form says since.
        const f = await api.download(path, query, fallback);
        announce('Downloaded ' + f.name + ' (' + f.size + ' bytes): every row of these filters.');
      } catch (e) {
        errorBox(error, api.explain(e));
      }
    },
  };
}
