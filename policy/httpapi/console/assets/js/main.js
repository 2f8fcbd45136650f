// The console's shell: sign-in, the page router (#/page/arg?query), and
// what the signed-in token may do. The role comes from GET /api/v1/me and
// each operation's least role from x-optguard-role in /openapi.json, so
// the console offers an action exactly when the API would take it.

import * as api from './api.js';
import { h, fill, announce, errorBox } from './dom.js';
import * as lookup from './lookup.js';
import * as reports from './reports.js';
import * as dnc from './dnc.js';
import * as imports from './imports.js';
import * as review from './review.js';
import * as config from './config.js';
import * as live from './live.js';

// pages by route: each renders into the page element and may return a
// function that stops it (the live view's polling). need is the call a
// page cannot do without: the nav leaves out a page the role cannot use.
const pages = {
  lookup: { title: 'Number lookup', mod: lookup, need: ['GET', '/api/v1/numbers/{number}'] },
  reports: { title: 'Reports', mod: reports, need: ['GET', '/api/v1/reports/opt-in'] },
  dnc: { title: 'Do-not-contact list', mod: dnc, need: ['GET', '/api/v1/dnc'] },
  import: { title: 'Import', mod: imports, need: ['GET', '/api/v1/imports'] },
  review: { title: 'Review queue', mod: review, need: ['GET', '/api/v1/review'] },
  config: { title: 'Organizations & templates', mod: config, need: ['GET', '/api/v1/organizations'] },
  live: { title: 'Live', mod: live, need: ['GET', '/api/v1/live'] },
};

const rank = { auditor: 1, agent: 2, admin: 3 };

let session = null; // {me, ops, orgs} once signed in
let stop = null; // the current page's stop function

const $ = (id) => document.getElementById(id);

// can reports whether the token's role reaches the least role of the
// operation (method, path template). An operation the document does not
// list is tried, if it is a read: the API's answer then says.
function can(method, path) {
  const need = session && session.ops[method + ' ' + path];
  if (!need) return method === 'GET';
  return rank[session.me.role] >= rank[need];
}

async function signIn(tok) {
  api.setToken(tok);
  const me = await api.get('/api/v1/me');
  const [doc, orgs] = await Promise.all([api.get('/openapi.json'), api.get('/api/v1/organizations')]);
  const ops = {};
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [m, op] of Object.entries(item)) {
      if (op && op['x-optguard-role']) ops[m.toUpperCase() + ' ' + path] = op['x-optguard-role'];
    }
  }
  session = { me, ops, orgs: orgs.items || [] };
}

function signOut(why) {
  if (stop) stop();
  stop = null;
  session = null;
  api.clearToken();
  showSignIn(why);
}

function showSignIn(why) {
  $('nav').hidden = true;
  $('who').hidden = true;
  fill($('page'));
  $('signin').hidden = false;
  $('token').value = '';
  const err = $('signin-error');
  if (why) {
    errorBox(err, why);
  } else {
    err.hidden = true;
  }
  document.title = 'Sign in · optguard console';
  $('token').focus();
}

function showShell() {
  const { me } = session;
  $('signin').hidden = true;
  $('who').hidden = false;
  $('who-name').textContent = me.name;
  $('who-role').textContent = me.role;
  $('who-orgs').textContent = me.organizations.length ? ', ' + me.organizations.join(', ') : ', every organization';
  for (const a of $('nav').querySelectorAll('a[data-page]')) {
    const p = pages[a.dataset.page];
    a.parentElement.hidden = !can(...p.need);
  }
  $('nav').hidden = false;
}

// parse reads the hash: #/page/arg?query.
function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const [page, ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: page || 'lookup', args: rest, query: new URLSearchParams(qs || '') };
}

function route() {
  if (!session) return;
  if (stop) stop();
  stop = null;
  const r = parse();
  const p = pages[r.page] && can(...pages[r.page].need) ? pages[r.page] : null;
  for (const a of $('nav').querySelectorAll('a[data-page]')) {
    if (a.dataset.page === r.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = $('page');
  if (!p) {
    fill(root, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, 'There is no page ' + r.page + ' for your token. Choose one in the menu.'));
    root.querySelector('h1').focus();
    return;
  }
  document.title = p.title + ' · optguard console';
  fill(root);
  const ctx = {
    me: session.me, orgs: session.orgs, can, args: r.args, query: r.query,
    // remember puts the page's filters in the address (a bookmark, the
    // back button) without rendering the page again.
    remember: (hash) => history.replaceState(null, '', hash),
    // defaultOrg is the organization a form starts with.
    defaultOrg: () => session.me.organizations[0] || (session.orgs.find((o) => o.name !== 'default') || session.orgs[0] || {}).name || '',
    // allowAll: whether lists may ask for every organization at once
    // (a token of several organizations must name one).
    allowAll: () => session.me.organizations.length <= 1,
  };
  stop = p.mod.render(root, ctx) || null;
  const title = root.querySelector('h1');
  if (title) {
    title.setAttribute('tabindex', '-1');
    title.focus();
  }
}


async function start() {
  $('skip').addEventListener('click', (e) => {
    e.preventDefault();
    const t = $('page').querySelector('h1') || $('main');
    t.setAttribute('tabindex', '-1');
    t.focus();
  });
  $('sign-out').addEventListener('click', () => {
    signOut(null);
    announce('Signed out: the token is gone from this tab.');
  });
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const tok = $('token').value.trim();
    if (!tok) {
      errorBox($('signin-error'), { heading: 'Sign in', message: 'paste an API token first', detail: '' });
      return;
    }
    $('signin-button').disabled = true;
    try {
      await signIn(tok);
      showShell();
      announce('Signed in as ' + session.me.name + ' (' + session.me.role + ').');
      if (!location.hash || location.hash === '#' || location.hash === '#main') location.hash = '#/lookup';
      else route();
    } catch (err) {
      api.clearToken();
      session = null;
      showSignIn(api.explain(err));
    } finally {
      $('signin-button').disabled = false;
    }
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('optguard:unauthorized', (e) => {
    if (session) signOut({ heading: 'Signed out', message: 'the API no longer takes this token (' + e.detail.message + ')', detail: '' });
  });
  const tok = api.token();
  if (!tok) {
    showSignIn(null);
    return;
  }
  try {
    await signIn(tok);
    showShell();
    if (!location.hash || location.hash === '#') location.hash = '#/lookup';
    else route();
  } catch (err) {
    api.clearToken();
    session = null;
    showSignIn(api.explain(err));
  }
}

start();
