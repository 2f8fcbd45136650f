// Number lookup: a handset's consent per scope with how it got there,
// its full audit trail, its message log, and the agent actions (opt-in
// requests, PIN, consent with proof, opt-out), each behind a
// confirmation dialog. Every figure is the API's; every action is its
// POST, and a refusal is the API's words.

import * as api from './api.js';
import { h, fill, when, badge, tag, words, field, select, orgOptions, announce, errorBox } from './dom.js';
import { dataTable } from './table.js';
import { confirmDialog } from './dialog.js';

const enc = encodeURIComponent;

export function render(root, ctx) {
  const number = h('input', { id: 'lookup-number', name: 'number', type: 'text', inputmode: 'tel', autocomplete: 'off', value: ctx.args[0] || '' });
  const org = select('lookup-org', orgOptions(ctx.orgs, 'Every organization I see'), ctx.query.get('organization') || '');
  const results = h('div', { id: 'lookup-results', 'aria-live': 'polite' });
  const form = h('form', { class: 'form inline', id: 'lookup-form', novalidate: true },
    field('Handset number', number, 'Any common form: +1 555 123 0001, (555) 123-0001, 5551230001.'),
    field('Organization', org),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary', id: 'lookup-submit' }, 'Look up')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = number.value.trim();
    if (!n) {
      errorBox(fill(results, h('p', { class: 'error', role: 'alert' })).firstChild, { heading: 'Look up', message: 'type a number first', detail: '' });
      return;
    }
    ctx.remember('#/lookup/' + enc(n) + (org.value ? '?organization=' + enc(org.value) : ''));
    show(results, ctx, n, org.value);
  });
  fill(root, h('h1', {}, 'Number lookup'),
    h('p', { class: 'lead' }, "A handset's consent in each organization, how it got there, and everything optguard recorded and sent."),
    form, results);
  if (ctx.args[0]) show(results, ctx, ctx.args[0], org.value);
}

// show loads the number's consent, audit trail and messages into el.
async function show(el, ctx, input, org) {
  fill(el, h('p', { class: 'muted' }, 'Looking up ' + input + '…'));
  const q = { organization: org };
  const path = '/api/v1/numbers/' + enc(input);
  const [consent, audit, messages, status] = await Promise.allSettled([api.get(path, q), api.get(path + '/audit', q),
    api.get(path + '/messages', { ...q, limit: 100 }), api.get('/api/v1/reports/consent-status', { ...q, number: input, limit: 1000 })]);
  // A number the token sees nothing of is 404 on consent and audit: its
  // state is unknown. Any other failure is shown as it is.
  const notFound = (r) => r.status === 'rejected' && r.reason.status === 404 && r.reason.code === 'not_found';
  for (const r of [consent, audit, messages]) {
    if (r.status === 'rejected' && !notFound(r)) {
      const box = h('p', { class: 'error', role: 'alert' });
      errorBox(box, api.explain(r.reason));
      fill(el, box);
      return;
    }
  }
  const e164 = consent.value?.number || messages.value?.number || input;
  const scopes = consent.value?.scopes || [];
  const rows = audit.value?.items || [];
  // How each scope got its state is the consent status report's row of
  // it (the latest event that set the state: when, how, by whom); the
  // audit row of that event has the handset's words. The report is only
  // a help here: a token that must name an organization for it goes
  // without.
  const setBy = {};
  for (const r of status.value?.items || []) {
    if (r.number !== e164) continue;
    const ev = rows.find((a) => a.when === r.when && a.changed_by === r.changed_by && a.new_value === r.state && a.organization === r.organization);
    setBy[r.organization + '|' + (r.sender || '')] = { ...r, mo_text: ev?.mo_text, event: ev?.event };
  }
  fill(el,
    h('h2', { id: 'lookup-title' }, e164),
    scopesView(scopes, setBy),
    actionsView(ctx, e164, scopes, org, () => show(el, ctx, e164, org)),
    h('h2', {}, 'Audit trail'),
    auditView(rows, e164, q),
    h('h2', {}, 'Messages'),
    messagesView(messages.value, path, q));
}

function scopesView(scopes, setBy) {
  if (!scopes.length) {
    return h('div', { class: 'scopes' }, h('div', { class: 'card scope', id: 'scope-0' },
      h('p', { class: 'scope-state' }, badge('unknown')),
      h('p', {}, 'No consent record in the organizations your token sees: the state is unknown. In consent mode a first message to it is held until the handset replies YES.')));
  }
  return h('div', { class: 'scopes' }, scopes.map((s, i) => {
    const ev = s.latest_event;
    const set = setBy[s.organization + '|' + (s.sender || '')];
    const how = set && set.when ? [words(set.event || s.state), ' on ', when(set.when), ' by ', set.changed_by, ' (', words(set.method), ')',
      set.mo_text ? [': ', h('q', { class: 'mo' }, set.mo_text)] : ''] : null;
    const latest = ev ? [words(ev.type), ' on ', when(ev.occurred_at), ' by ', ev.actor, ' (', words(ev.method), ')',
      ev.mo ? [': ', h('q', { class: 'mo' }, ev.mo.text)] : '',
      ev.template ? [', sent ', ev.template, ' v', ev.template_version] : '', ev.note ? [' — ', ev.note] : ''] : null;
    return h('section', { class: 'card scope', id: 'scope-' + i, 'aria-label': 'Consent in ' + s.organization + (s.sender ? ' with sender ' + s.sender : '') },
      h('h3', {}, s.organization, s.sender ? h('span', { class: 'muted' }, ' · sender ' + s.sender) : ''),
      h('p', { class: 'scope-state' }, badge(s.state), s.erased ? tag('erased: a suppression entry', 'warn') : ''),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Mode'), h('dd', {}, s.mode),
        how ? [h('dt', {}, 'How it got there'), h('dd', { class: 'how' }, how)] : null,
        latest ? [h('dt', {}, 'Latest event'), h('dd', {}, latest)] : null,
        s.opted_in_at ? [h('dt', {}, 'Opted in'), h('dd', {}, when(s.opted_in_at), ' (', words(s.opted_in_method), ')')] : null,
        s.opted_out_at ? [h('dt', {}, 'Opted out'), h('dd', {}, when(s.opted_out_at), ' (', words(s.opted_out_method), ')')] : null,
        s.created_at ? [h('dt', {}, 'First seen'), h('dd', {}, when(s.created_at))] : null,
        ev && ev.via ? [h('dt', {}, 'Conversation with'), h('dd', {}, ev.via)] : null));
  }));
}

function auditView(rows, e164, q) {
  const t = dataTable({
    id: 'audit', caption: 'Every ledger event of ' + e164 + ', oldest first', rows, pageSize: 50, empty: 'No events.',
    columns: [
      { key: 'seq', label: '#', sort: (r) => r.seq || 0 },
      { key: 'when', label: 'When', class: 'nowrap', cell: (r) => when(r.when) },
      { key: 'organization', label: 'Organization' },
      { key: 'sender', label: 'Sender' },
      { key: 'event', label: 'Event', cell: (r) => words(r.event) },
      { key: 'change', label: 'Change', class: 'nowrap', sort: (r) => r.old_value + r.new_value, cell: (r) => [r.old_value ? badge(r.old_value) : '', ' → ', badge(r.new_value)] },
      { key: 'changed_by', label: 'Who' },
      { key: 'channel', label: 'Channel', cell: (r) => words(r.channel) },
      { key: 'mo_text', label: "Handset's text", cell: (r) => r.mo_text ? h('q', { class: 'mo' }, r.mo_text) : '' },
      { key: 'template', label: 'Template sent', cell: (r) => r.template ? r.template + ' v' + r.template_version : '' },
      { key: 'note', label: 'Note' },
    ],
  });
  const dl = h('button', { type: 'button', class: 'btn', id: 'audit-csv' }, 'Download the audit trail (CSV)');
  dl.addEventListener('click', () => save(dl, '/api/v1/numbers/' + enc(e164) + '/audit', q, 'audit.csv'));
  return h('div', {}, t.el, rows.length ? h('div', { class: 'actions' }, dl) : null);
}

function messagesView(page, path, q) {
  const t = dataTable({
    id: 'messages', caption: 'The message log', rows: page?.items || [], pageSize: 25,
    empty: page?.erased ? 'The number was erased: its log before the erasure is gone.' : 'No messages logged.',
    columns: [
      { key: 'at', label: 'When', class: 'nowrap', cell: (m) => when(m.at) },
      { key: 'id', label: 'Message id' },
      { key: 'organization', label: 'Organization' },
      { key: 'sender', label: 'Sender' },
      { key: 'status', label: 'Status', cell: (m) => tag(m.status, m.status) },
      { key: 'history', label: 'History', sortable: false, cell: (m) => m.history.map((s) => s.status + ' ' + when(s.at)).join(' → ') },
    ],
  });
  const out = h('div', {}, t.el);
  let cursor = page?.next_cursor;
  if (cursor) {
    const more = h('button', { type: 'button', class: 'btn', id: 'messages-more' }, 'Load older messages');
    more.addEventListener('click', async () => {
      try {
        const p = await api.get(path + '/messages', { ...q, limit: 100, cursor });
        t.add(p.items);
        cursor = p.next_cursor;
        if (!cursor) more.remove();
      } catch (e) {
        const x = api.explain(e);
        announce(x.heading + ': ' + x.message, 'error');
      }
    });
    out.append(h('div', { class: 'actions' }, more));
  }
  return out;
}

async function save(button, path, query, fallback) {
  button.disabled = true;
  try {
    const f = await api.download(path, query, fallback);
    announce('Downloaded ' + f.name + ' (' + f.size + ' bytes).');
  } catch (e) {
    const x = api.explain(e);
    announce(x.heading + ': ' + x.message, 'error');
  } finally {
    button.disabled = false;
  }
}

// actionsView offers the agent actions the token's role allows.
function actionsView(ctx, e164, scopes, org, reload) {
  const base = '/api/v1/numbers/{number}';
  const acts = [
    ['opt-in', 'Request opt-in', base + '/opt-in-requests'],
    ['double', 'Request double opt-in', base + '/opt-in-requests'],
    ['pin', 'Enter PIN', base + '/pin'],
    ['consent', 'Record consent', base + '/consents'],
    ['opt-out', 'Opt out', base + '/opt-out'],
  ].filter(([, , p]) => ctx.can('POST', p));
  if (!acts.length) {
    return h('p', { class: 'muted', id: 'actions-none' }, 'Your token (' + ctx.me.role + ') may look only: consent actions need an agent or admin token.');
  }
  const first = scopes[0] || {};
  const defaults = {
    org: first.organization || org || ctx.defaultOrg(),
    sender: first.sender || first.latest_event?.via || '',
  };
  return h('section', { class: 'actions-panel', 'aria-labelledby': 'actions-title' },
    h('h2', { id: 'actions-title' }, 'Agent actions'),
    h('div', { class: 'actions' }, acts.map(([id, label]) => {
      const b = h('button', { type: 'button', class: 'btn' + (id === 'opt-out' ? ' danger' : ''), id: 'act-' + id }, label);
      b.addEventListener('click', () => act(ctx, id, e164, defaults, reload));
      return b;
    })));
}

// The dialogs of the actions: fields, the confirmation words, and the
// API call. The API checks everything (the override rules, countries,
// the PIN); the dialog shows what it says.
async function act(ctx, id, e164, d, reload) {
  const orgSel = select('act-org', orgOptions(ctx.orgs), d.org);
  const sender = h('input', { id: 'act-sender', type: 'text', autocomplete: 'off', value: d.sender });
  const note = h('textarea', { id: 'act-note', rows: 2, maxlength: 1000 });
  const orgField = field('Organization', orgSel);
  const noteField = field('Note (recorded in the ledger)', note);
  const path = '/api/v1/numbers/' + enc(e164);
  let spec;
  switch (id) {
    case 'opt-in':
    case 'double': {
      const reason = select('act-reason', [['agent', 'Agent request'], ['quick', 'Quick opt-in'], ['payment_plan', 'Payment plan'], ['supervisor', 'Supervisor']], 'agent');
      const dbl = id === 'double';
      spec = {
        title: dbl ? 'Request a double opt-in' : 'Request an opt-in',
        intro: dbl ? 'optguard texts ' + e164 + ' a consent request; its YES is answered with a PIN, which you then enter with “Enter PIN”.'
          : 'optguard texts ' + e164 + ' a consent request; its YES opts it in.',
        fields: [orgField, field('Sender (the line the request is texted from)', sender), field('Reason', reason), noteField],
        confirm: 'Text the consent request',
        run: () => api.post(path + '/opt-in-requests', { organization: orgSel.value, sender: sender.value.trim(), reason: reason.value, double: dbl, note: note.value }),
      };
      break;
    }
    case 'pin': {
      const pin = h('input', { id: 'act-pin-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 10 });
      spec = {
        title: 'Enter the PIN',
        intro: 'The digits texted to ' + e164 + ' after its YES. The right PIN opts it in.',
        fields: [orgField, field('Sender', sender, 'Needed for accounts that keep consent per sender.'), field('PIN', pin)],
        confirm: 'Check the PIN',
        run: () => api.post(path + '/pin', { organization: orgSel.value, sender: sender.value.trim(), pin: pin.value.trim() }),
      };
      break;
    }
    case 'consent': {
      const type = select('act-type', [['phone', 'Phone'], ['email', 'Email'], ['paper', 'Paper'], ['web', 'Web'], ['sms_response', 'SMS response']], 'phone');
      const proof = h('textarea', { id: 'act-proof', rows: 2, maxlength: 1000 });
      spec = {
        title: 'Record consent',
        intro: e164 + ' gave consent outside SMS. Say how, and where the proof is: it must be produced on demand.',
        fields: [orgField, field('Consent type', type), field('Proof (where it is: a recording, a form, a reference)', proof),
          field('Sender (optional: texts the confirmation from it)', sender), noteField],
        confirm: 'Record consent',
        run: () => api.post(path + '/consents', { organization: orgSel.value, sender: sender.value.trim(), consent_type: type.value, proof: proof.value, note: note.value }),
      };
      break;
    }
    case 'opt-out':
      spec = {
        title: 'Opt out ' + e164,
        intro: 'The handset gets the final opt-out confirmation from the sender, and no message after it.',
        fields: [orgField, field('Sender (the line the confirmation is texted from)', sender), noteField],
        confirm: 'Opt out', danger: true,
        run: () => api.post(path + '/opt-out', { organization: orgSel.value, sender: sender.value.trim(), note: note.value }),
      };
      break;
  }
  const out = await confirmDialog(spec);
  if (!out) return;
  announce('Done: ' + out.detail + ' — now ' + words(out.state) + (out.sent && out.sent.length ? '; texted: ' + out.sent.join(', ') : '') + '.', 'ok');
  // The page is drawn again with the new state: focus goes back to the
  // button, which is a new one.
  await reload();
  document.getElementById('act-' + id)?.focus();
}
