// Small DOM helpers. Everything is built with createElement and
// textContent, never innerHTML, so what the API returns (a handset's
// text, a note, a template) is always shown as text.

// h makes an element: props sets attributes (class, for, boolean ones),
// "on…" functions become listeners; children are nodes or strings (null,
// false and undefined are skipped, arrays flattened).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'value') {
      el.value = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear empties el and appends children.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const pad = (n) => String(n).padStart(2, '0');

// when is an RFC 3339 time as the CSV files have it, to the second, in UTC.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
    pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
}

// clock is the time of day of an RFC 3339 time (UTC), for charts.
export function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
}

export function today() {
  const d = new Date();
  return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
}

// duration is seconds as "3 h 4 min" / "5 min 6 s" / "7 s".
export function duration(s) {
  s = Math.max(0, Math.floor(s || 0));
  const d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  if (d) return d + ' d ' + hr + ' h';
  if (hr) return hr + ' h ' + m + ' min';
  if (m) return m + ' min ' + sec + ' s';
  return sec + ' s';
}

const stateWords = { opted_in: 'opted in', opted_out: 'opted out', pending: 'pending', unknown: 'unknown' };
const stateMarks = { opted_in: '✓', opted_out: '✕', pending: '…', unknown: '?' };

// badge is a consent state as a labelled badge: the words carry the
// meaning, the colour and mark only repeat it.
export function badge(state) {
  const s = stateWords[state] ? state : 'unknown';
  return h('span', { class: 'badge badge-' + s }, h('span', { 'aria-hidden': 'true' }, stateMarks[s] + ' '), stateWords[s]);
}

// tag is a small neutral label (a status, an outcome, an encoding).
export function tag(text, kind) {
  return h('span', { class: 'tag' + (kind ? ' tag-' + kind : '') }, text);
}

export function words(s) {
  return String(s || '').replaceAll('_', ' ');
}

// numberLink links a number to its lookup.
export function numberLink(number, org) {
  if (!number) return '';
  const q = org ? '?organization=' + encodeURIComponent(org) : '';
  return h('a', { href: '#/lookup/' + encodeURIComponent(number) + q }, number);
}

// field is a labelled form control: control is an element (input,
// select, textarea) whose id the label names; hint is read with it.
export function field(label, control, hint) {
  const kids = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = control.id + '-hint';
    control.setAttribute('aria-describedby', hid);
    kids.push(h('p', { class: 'hint', id: hid }, hint));
  }
  return h('div', { class: 'field' }, kids);
}

// select makes a <select> of options [value, label].
export function select(id, options, selected) {
  return h('select', { id, name: id }, options.map(([v, l]) => h('option', { value: v, selected: v === selected }, l)));
}

// orgOptions are the organizations a select offers; with all, first an
// option for every organization the token sees.
export function orgOptions(orgs, all) {
  const opts = orgs.map((o) => [o.name, o.display_name ? o.display_name + ' (' + o.name + ')' : o.name]);
  return all ? [['', all], ...opts] : opts;
}

let statusTimer;

// announce puts a message in the page's live region, which screen
// readers read out, and shows it.
export function announce(msg, kind) {
  const st = document.getElementById('status');
  st.className = 'status' + (kind ? ' status-' + kind : '');
  st.textContent = msg;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { st.textContent = ''; st.className = 'status'; }, 15000);
}

// errorBox shows an explained error in el (role alert, so it is read at once).
export function errorBox(el, ex) {
  el.hidden = false;
  fill(el, h('strong', {}, ex.heading + ': '), ex.message, ex.detail ? h('span', { class: 'muted' }, ' (' + ex.detail + ')') : '');
}
