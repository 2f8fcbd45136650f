// The running configuration, read-only: each organization's mode, scope,
// countries and sender names, its keywords per language, and its
// templates rendered with sample values, with the encoding (GSM-7, or
// UCS-2 and the character that forced it) and the number of SMS parts.

import * as api from './api.js';
import { h, fill, tag, errorBox } from './dom.js';
import { dataTable } from './table.js';

const enc = encodeURIComponent;

export function render(root, ctx) {
  const orgs = ctx.orgs;
  const list = dataTable({
    id: 'orgs', caption: 'Organizations your token sees', rows: orgs, pageSize: 0, empty: 'None.',
    columns: [
      { key: 'name', label: 'Name', cell: (o) => h('button', { type: 'button', class: 'linkish', 'data-org': o.name, onclick: () => openOrg(o.name) }, o.name) },
      { key: 'main', label: 'Account', cell: (o) => (o.main === o.name ? 'main' : 'sub of ' + o.main) },
      { key: 'display_name', label: 'Display name' },
      { key: 'mode', label: 'Mode' },
      { key: 'scope', label: 'Consent kept per' },
      { key: 'revoke_all', label: 'One opt-out stops all', cell: (o) => (o.revoke_all ? 'yes' : 'no') },
      { key: 'allowed_countries', label: 'Countries', sort: (o) => o.allowed_countries.join(','), cell: (o) => o.allowed_countries.length ? o.allowed_countries.join(', ') : 'any' },
      { key: 'default_country', label: 'Default country' },
      { key: 'sender_names', label: 'Sender names', sortable: false, cell: (o) => Object.entries(o.sender_names || {}).map(([n, name]) => name + ' (' + n + ')').join(', ') },
    ],
  });
  const sections = orgs.map((o, i) => {
    const body = h('div', { class: 'org-body' }, h('p', { class: 'muted' }, 'Loading…'));
    const det = h('details', { class: 'card org', id: 'org-' + o.name, open: i === 0 },
      h('summary', {}, h('span', { class: 'org-name' }, o.display_name ? o.display_name + ' (' + o.name + ')' : o.name), ' · ', o.mode), body);
    templates(body, o.name);
    return det;
  });
  fill(root, h('h1', {}, 'Organizations & templates'),
    h('p', { class: 'lead' }, 'The running configuration, as optguard applies it. Change it in the configuration file and reload optguard.'),
    list.el, h('h2', {}, 'Keywords and templates'), sections);
}

// openOrg opens an organization's section below and moves there.
function openOrg(name) {
  const det = document.getElementById('org-' + name);
  det.open = true;
  det.querySelector('summary').focus();
}

async function templates(el, name) {
  try {
    const t = await api.get('/api/v1/organizations/' + enc(name) + '/templates');
    const kw = Object.entries(t.keywords || {});
    const smp = t.sample || {};
    fill(el,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Mode'), h('dd', {}, t.mode),
        h('dt', {}, 'Consent kept per'), h('dd', {}, t.scope),
        h('dt', {}, 'Numeric replies'), h('dd', {}, t.numeric_replies ? '1 opts in, 2 opts out' : 'off'),
        h('dt', {}, 'Opt-out emoji'), h('dd', {}, (t.emoji || []).join(' ')),
        h('dt', {}, 'Sample values'), h('dd', {}, 'sender ', smp.sender_name || '', ' (', smp.sender_number || '', '), PIN ', smp.pin || '',
          smp.help_contact ? ', help ' + smp.help_contact : '')),
      h('h3', {}, 'Keywords'),
      dataTable({
        id: 'kw-' + name, caption: 'Keywords of ' + name + ' by language: whole replies, after normalization', rows: kw.map(([lang, k]) => ({ lang, ...k })), pageSize: 0, sortable: false,
        columns: [
          { key: 'lang', label: 'Language' },
          { key: 'opt_out', label: 'Opt out', cell: (k) => (k.opt_out || []).join(', ') },
          { key: 'opt_in', label: 'Opt in', cell: (k) => (k.opt_in || []).join(', ') },
          { key: 'help', label: 'Help', cell: (k) => (k.help || []).join(', ') },
          { key: 'intent', label: 'Opt-out phrases', cell: (k) => (k.intent || []).length + ' patterns' },
          { key: 'negative', label: 'Not an opt-out', cell: (k) => (k.negative || []).length + ' patterns' },
        ],
      }).el,
      // The phrase patterns are long regular expressions: folded away.
      h('details', { class: 'patterns', id: 'patterns-' + name }, h('summary', {}, 'The phrase patterns'),
        kw.map(([lang, k]) => [
          h('h4', {}, lang + ': opt-out phrases'), h('ul', {}, (k.intent || []).map((p) => h('li', {}, h('code', {}, p)))),
          h('h4', {}, lang + ': not an opt-out'), h('ul', {}, (k.negative || []).map((p) => h('li', {}, h('code', {}, p)))),
        ])),
      h('h3', {}, 'Templates'),
      dataTable({
        id: 'tpl-' + name, caption: 'Templates of ' + name + ', rendered with the sample values', rows: t.templates || [], pageSize: 0,
        columns: [
          { key: 'name', label: 'Template', cell: (x) => [x.name, x.default ? '' : tag('configured', 'ok')] },
          { key: 'to', label: 'To' },
          { key: 'version', label: 'Version' },
          { key: 'rendered', label: 'As sent (sample values)', class: 'text', cell: (x) => x.error ? h('span', { class: 'error' }, x.error) : h('span', { class: 'sms' }, x.rendered) },
          {
            key: 'encoding', label: 'Encoding', cell: (x) => x.encoding === 'ucs2'
              ? [tag('UCS-2', 'warn'), ' forced by “', h('code', {}, x.ucs2_char), '” at character ', String((x.ucs2_at ?? 0) + 1)]
              : tag('GSM-7', 'ok'),
          },
          { key: 'characters', label: 'Characters' },
          { key: 'parts', label: 'SMS parts', cell: (x) => String(x.parts) },
        ],
      }).el);
  } catch (e) {
    const box = h('p', { class: 'error', role: 'alert' });
    errorBox(box, api.explain(e));
    fill(el, box);
  }
}
