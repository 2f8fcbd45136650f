// The review queue: replies that contain an opt-out word but match no
// keyword list (possible_opt_out), with the handset's words, waiting for
// a person. An admin decides each: opt out (what it held is refused) or
// dismiss (what it held is sent on).

import * as api from './api.js';
import { h, fill, when, field, select, orgOptions, numberLink, announce, errorBox } from './dom.js';
import { dataTable } from './table.js';
import { confirmDialog } from './dialog.js';

export function render(root, ctx) {
  const canDecide = ctx.can('POST', '/api/v1/review/decisions');
  const org = select('rev-org', orgOptions(ctx.orgs, ctx.allowAll() ? 'Every organization I see' : null), ctx.query.get('organization') || (ctx.allowAll() ? '' : ctx.defaultOrg()));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const count = h('p', { class: 'count', id: 'rev-count', 'aria-live': 'polite' });
  const columns = [
    { key: 'received_at', label: 'Received', cell: (r) => when(r.received_at) },
    { key: 'number', label: 'Number', cell: (r) => numberLink(r.number, r.organization) },
    { key: 'organization', label: 'Organization' },
    { key: 'sender', label: 'Sender' },
    { key: 'mo_text', label: "Handset's words", cell: (r) => h('q', { class: 'mo' }, r.mo_text) },
    { key: 'holding', label: 'Holding messages?', cell: (r) => (r.holding ? 'Yes: later messages wait' : 'No') },
  ];
  if (canDecide) {
    columns.push({
      key: 'decide', label: 'Decision', sortable: false, cell: (r) => h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'btn small danger', 'data-seq': r.seq, 'data-decision': 'opt_out', onclick: () => decide(r, 'opt_out', load) }, 'Opt out',
          h('span', { class: 'visually-hidden' }, ' ' + r.number)),
        h('button', { type: 'button', class: 'btn small', 'data-seq': r.seq, 'data-decision': 'dismiss', onclick: () => decide(r, 'dismiss', load) }, 'Dismiss',
          h('span', { class: 'visually-hidden' }, ' ' + r.number))),
    });
  }
  const table = dataTable({ id: 'review', caption: 'Possible opt-outs waiting for a decision, oldest first', columns, pageSize: 25, empty: 'Nothing waits for review.' });

  async function load() {
    error.hidden = true;
    try {
      const list = await api.get('/api/v1/review', { organization: org.value });
      table.set(list.items);
      count.textContent = list.items.length + (list.items.length === 1 ? ' item waits.' : ' items wait.');
    } catch (e) {
      errorBox(error, api.explain(e));
    }
  }
  org.addEventListener('change', () => {
    ctx.remember('#/review' + (org.value ? '?organization=' + encodeURIComponent(org.value) : ''));
    load();
  });
  const refresh = h('button', { type: 'button', class: 'btn', id: 'rev-refresh', onclick: load }, 'Refresh');
  fill(root, h('h1', {}, 'Review queue'),
    h('p', { class: 'lead' }, 'Replies that contain an opt-out word but match no keyword: a person reads each and decides.'),
    canDecide ? null : h('p', { class: 'muted', id: 'rev-readonly' }, 'Your token (' + ctx.me.role + ') may look only: decisions need an admin token.'),
    h('div', { class: 'form inline' }, field('Organization', org), h('div', { class: 'actions' }, refresh)),
    error, count, table.el);
  load();
}

async function decide(item, decision, reload) {
  const note = h('textarea', { id: 'rev-note', rows: 2, maxlength: 1000 });
  const optOut = decision === 'opt_out';
  const out = await confirmDialog({
    title: (optOut ? 'Opt out ' : 'Dismiss the review of ') + item.number + '?',
    intro: [h('p', {}, 'The handset wrote: ', h('q', { class: 'mo' }, item.mo_text)),
      h('p', {}, optOut ? 'It is opted out of ' + item.organization + ' and the messages held for this review are refused.'
        : 'It stays as it is, and the messages held for this review are sent on.')],
    fields: [field('Note (recorded in the ledger)', note)],
    confirm: optOut ? 'Opt out' : 'Dismiss', danger: optOut,
    run: () => api.post('/api/v1/review/decisions', { organization: item.organization, sender: item.sender || '', number: item.number, decision, note: note.value }),
  });
  if (!out) return;
  announce(item.number + ': ' + out.detail + '.', 'ok');
  await reload();
  document.getElementById('rev-refresh')?.focus();
}
