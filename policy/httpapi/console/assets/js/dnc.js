// The do-not-contact list (seed 004: "visible and changeable"): every
// opted-out scope with when, how and by whom; admins add a number and
// take one off, where the override rules allow (an opt-out the handset
// texted itself is refused, and the refusal is shown in words).

import * as api from './api.js';
import { h, fill, when, words, field, select, orgOptions, numberLink, announce, errorBox } from './dom.js';
import { dataTable } from './table.js';
import { confirmDialog } from './dialog.js';

const enc = encodeURIComponent;

export function render(root, ctx) {
  const canAdd = ctx.can('POST', '/api/v1/dnc');
  const canRemove = ctx.can('DELETE', '/api/v1/dnc/{number}');
  const org = select('dnc-org', orgOptions(ctx.orgs, ctx.allowAll() ? 'Every organization I see' : null), ctx.query.get('organization') || (ctx.allowAll() ? '' : ctx.defaultOrg()));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const count = h('p', { class: 'count', id: 'dnc-count', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'btn', id: 'dnc-more', hidden: true }, 'Load more');
  const columns = [
    { key: 'number', label: 'Number', cell: (r) => r.erased ? 'erased' : numberLink(r.number, r.organization) },
    { key: 'organization', label: 'Organization' },
    { key: 'sender', label: 'Sender' },
    { key: 'opted_out_at', label: 'Opted out', cell: (r) => when(r.opted_out_at) },
    { key: 'method', label: 'How', cell: (r) => words(r.method) },
    { key: 'by', label: 'By' },
  ];
  if (canRemove) {
    columns.push({
      key: 'remove', label: 'Change', sortable: false, cell: (r) => r.erased ? '' : h('button', {
        type: 'button', class: 'btn small', 'data-number': r.number, 'aria-label': 'Take ' + r.number + ' (' + r.organization + ') off the list',
        onclick: () => remove(ctx, r, load),
      }, 'Remove'),
    });
  }
  const table = dataTable({ id: 'dnc', caption: 'Opted-out numbers', columns, pageSize: 50, empty: 'The list is empty.' });
  let cursor = '';

  async function load(next) {
    error.hidden = true;
    try {
      const page = await api.get('/api/v1/dnc', { organization: org.value, limit: 500, cursor: next ? cursor : '' });
      if (next) table.add(page.items);
      else table.set(page.items);
      cursor = page.next_cursor || '';
      more.hidden = !cursor;
      count.textContent = table.rows.length + (table.rows.length === 1 ? ' entry' : ' entries') + (cursor ? ' loaded; more follow' : '') + '.';
    } catch (e) {
      errorBox(error, api.explain(e));
    }
  }
  more.addEventListener('click', () => load(true));
  org.addEventListener('change', () => {
    ctx.remember('#/dnc' + (org.value ? '?organization=' + enc(org.value) : ''));
    load(false);
  });
  const csv = h('button', { type: 'button', class: 'btn', id: 'dnc-csv' }, 'Download CSV');
  csv.addEventListener('click', async () => {
    try {
      const f = await api.download('/api/v1/dnc', { organization: org.value }, 'do-not-contact.csv');
      announce('Downloaded ' + f.name + ' (' + f.size + ' bytes).');
    } catch (e) {
      errorBox(error, api.explain(e));
    }
  });

  fill(root, h('h1', {}, 'Do-not-contact list'),
    h('p', { class: 'lead' }, 'Every opted-out number, with when, how and by whom. optguard refuses every message to them.'),
    canAdd ? addForm(ctx, load) : h('p', { class: 'muted', id: 'dnc-readonly' }, 'Your token (' + ctx.me.role + ') may look only: changing the list needs an admin token.'),
    h('section', { 'aria-labelledby': 'dnc-list-title' },
      h('h2', { id: 'dnc-list-title' }, 'The list'),
      h('div', { class: 'form inline' }, field('Organization', org), h('div', { class: 'actions' }, csv)),
      error, count, table.el, h('div', { class: 'actions' }, more)));
  load(false);
}

function addForm(ctx, reload) {
  const number = h('input', { id: 'dnc-number', type: 'text', inputmode: 'tel', autocomplete: 'off' });
  const org = select('dnc-add-org', orgOptions(ctx.orgs), ctx.defaultOrg());
  const sender = h('input', { id: 'dnc-sender', type: 'text', autocomplete: 'off' });
  const note = h('input', { id: 'dnc-note', type: 'text', maxlength: 1000 });
  const form = h('form', { class: 'form inline', id: 'dnc-add', novalidate: true, 'aria-labelledby': 'dnc-add-title' },
    h('h2', { id: 'dnc-add-title' }, 'Add a number'),
    field('Number', number), field('Organization', org),
    field('Sender (optional)', sender, 'With one, the handset is texted the opt-out confirmation from it; without, nothing is sent.'),
    field('Note', note),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn danger', id: 'dnc-add-submit' }, 'Add to the list')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = number.value.trim();
    const out = await confirmDialog({
      title: 'Add ' + (n || 'the number') + ' to the do-not-contact list?',
      intro: 'It is opted out of ' + org.value + ' at once: optguard refuses every message to it, and only the override rules can lift it.',
      confirm: 'Add to the list', danger: true,
      run: () => api.post('/api/v1/dnc', { organization: org.value, number: n, sender: sender.value.trim(), note: note.value }),
    });
    if (!out) return;
    announce('Added ' + out.number + ' to the list of ' + out.organization + ': ' + out.detail + '.', 'ok');
    number.value = note.value = '';
    await reload(false);
  });
  return form;
}

async function remove(ctx, row, reload) {
  const note = h('textarea', { id: 'dnc-remove-note', rows: 2, maxlength: 1000 });
  const out = await confirmDialog({
    title: 'Take ' + row.number + ' off the list?',
    intro: 'Its opt-out in ' + row.organization + (row.sender ? ' (sender ' + row.sender + ')' : '') + ' is lifted where the override rules allow it; where they do not, optguard says which rule.',
    fields: [field('Note (why; recorded in the ledger)', note)],
    confirm: 'Take it off', danger: true,
    run: () => api.call('DELETE', '/api/v1/dnc/' + enc(row.number), { query: { organization: row.organization, sender: row.sender, note: note.value } }),
  });
  if (!out) return;
  announce('Took ' + out.number + ' off the list: ' + out.detail + '.', 'ok');
  await reload(false);
  document.getElementById('dnc-org')?.focus();
}
