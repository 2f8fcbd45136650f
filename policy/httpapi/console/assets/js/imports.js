// Consent list import (seed 003): a dry run first, which decides every
// row and writes nothing (what would change, what stays opted out, the
// bad rows by line), then the import itself of the same file, with its
// progress while it runs. Both are the API's import jobs.

import * as api from './api.js';
import { h, fill, when, today, tag, words, field, select, orgOptions, numberLink, announce, errorBox } from './dom.js';
import { dataTable } from './table.js';
import { confirmDialog } from './dialog.js';

// poll is how often a running job is read.
const poll = 300;

export function render(root, ctx) {
  const file = h('input', { id: 'imp-file', type: 'file', accept: '.csv,text/csv' });
  const cutoff = h('input', { id: 'imp-cutoff', type: 'date', value: today(), max: today() });
  const org = select('imp-org', orgOptions(ctx.orgs, 'None: each row names its organization'), '');
  const preview = h('button', { type: 'submit', class: 'btn primary', id: 'imp-dry' }, 'Preview (dry run)');
  const apply = h('button', { type: 'button', class: 'btn danger', id: 'imp-apply', disabled: true }, 'Apply the import');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const progress = h('div', { class: 'progress', id: 'imp-progress', hidden: true });
  const report = h('div', { id: 'imp-report' });
  const jobs = h('div', { id: 'imp-jobs' });
  let dry = null; // the finished dry run of the chosen file and options

  const reset = () => { dry = null; apply.disabled = true; };
  for (const el of [file, cutoff, org]) el.addEventListener('change', reset);
  const opts = () => ({ cutoff: cutoff.value, organization: org.value });

  async function run(isDry) {
    error.hidden = true;
    const f = file.files[0];
    if (!f) {
      errorBox(error, { heading: 'Choose a file', message: 'pick the CSV file of the consent list first', detail: '' });
      return null;
    }
    preview.disabled = apply.disabled = true;
    try {
      let job = await api.call('POST', '/api/v1/imports', { body: f, query: { ...opts(), dry_run: isDry ? 'true' : 'false' } });
      while (job.status === 'running') {
        showProgress(progress, job);
        await new Promise((r) => setTimeout(r, poll));
        job = await api.get('/api/v1/imports/' + job.id);
      }
      showProgress(progress, job);
      showReport(report, job);
      return job;
    } catch (e) {
      errorBox(error, api.explain(e));
      return null;
    } finally {
      preview.disabled = false;
      apply.disabled = !dry;
      listJobs(jobs);
    }
  }

  const form = h('form', { class: 'form', id: 'imp-form', novalidate: true },
    field('Consent list (CSV)', file, 'A header row naming some of: number, organization, sender, state, consent_type, date (number is required).'),
    field('True as of (cutoff)', cutoff, 'The date the list is true as of; not in the future. The imported events occur then.'),
    field('Organization of rows that name none', org),
    h('div', { class: 'actions' }, preview, apply));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    reset();
    const job = await run(true);
    if (job && job.status === 'done') {
      dry = { job, name: file.files[0].name };
      apply.disabled = false;
      const r = job.report;
      announce('Dry run of ' + dry.name + ': ' + r.changed + ' would change, ' + r.kept + ' kept opted out, ' + r.bad + ' bad. Nothing was written.', 'ok');
    }
  });
  apply.addEventListener('click', async () => {
    const r = dry.job.report;
    const ok = await confirmDialog({
      title: 'Import ' + dry.name + '?',
      intro: h('p', {}, 'The dry run found ' + r.rows + ' rows: ' + r.changed + ' change, ' + r.unchanged + ' unchanged, ' + r.kept +
        ' kept opted out, ' + r.bad + ' bad (skipped). The import writes the changes to the ledger as of ' + cutoff.value + '.' +
        heldSentence(r)),
      confirm: 'Import', danger: true,
      run: async () => true,
    });
    if (!ok) return;
    const name = dry.name;
    const job = await run(false);
    if (job) {
      reset(); // importing it again needs a new dry run
      announce(job.status === 'done' ? 'Imported ' + name + ': ' + job.report.changed + ' changed.' : 'The import failed: ' + job.error, job.status === 'done' ? 'ok' : 'error');
    }
  });

  fill(root, h('h1', {}, 'Import a consent list'),
    h('p', { class: 'lead' }, 'Bring in consent gathered elsewhere. Preview it first: the dry run decides every row and writes nothing. No import lifts an opt-out.'),
    form, error, progress, report,
    h('h2', {}, 'Recent imports'), jobs);
  listJobs(jobs);
}

function showProgress(el, job) {
  el.hidden = false;
  const total = job.rows_total || 0;
  const bar = h('progress', { id: 'imp-bar', max: total || 1, value: job.rows_done || 0, 'aria-labelledby': 'imp-progress-label' });
  fill(el, h('p', { id: 'imp-progress-label' },
    (job.dry_run ? 'Dry run ' : 'Import ') + job.id + ': ' + job.status + ', ' + (job.rows_done || 0) + ' of ' + total + ' rows'), bar);
}

// count is one figure of a report's counts: a term and its number, kept
// together when the line wraps.
function count(term, n, id) {
  return h('div', {}, h('dt', {}, term), h('dd', id ? { id } : {}, String(n)));
}

// heldSentence says what the import does to held messages, if anything.
function heldSentence(r) {
  const released = r.held_released || 0, dropped = r.held_dropped || 0;
  if (!released && !dropped) return '';
  return ' Messages held for these numbers go out at once: ' + released + ' released to the SMSC, ' + dropped + ' dropped.';
}

function showReport(el, job) {
  if (job.status === 'failed') {
    fill(el, h('p', { class: 'error', role: 'alert' }, h('strong', {}, 'The import stopped: '), job.error));
    return;
  }
  const r = job.report;
  fill(el,
    h('h2', { id: 'imp-report-title' }, job.dry_run ? 'Dry run: what the import would do' : 'What the import did'),
    h('dl', { class: 'counts', id: 'imp-counts' },
      count('Rows', r.rows),
      count(job.dry_run ? 'Would change' : 'Changed', r.changed, 'imp-changed'),
      count('Unchanged', r.unchanged),
      count('Kept opted out', r.kept),
      count('Bad rows', r.bad, 'imp-bad'),
      count(job.dry_run ? 'Held messages it would release' : 'Held messages released', r.held_released || 0, 'imp-released'),
      count(job.dry_run ? 'Held messages it would drop' : 'Held messages dropped', r.held_dropped || 0, 'imp-dropped')),
    dataTable({
      id: 'imp-lines', caption: 'Rows that change, stay opted out or are bad, by line' + (r.truncated ? ' (the first 10000)' : ''),
      rows: r.lines || [], pageSize: 50, empty: 'No row changes anything.',
      columns: [
        { key: 'line', label: 'Line' },
        { key: 'number', label: 'Number', cell: (l) => (l.outcome === 'bad' ? l.number : numberLink(l.number, l.organization)) },
        { key: 'organization', label: 'Organization' },
        { key: 'outcome', label: 'Outcome', cell: (l) => tag(words(l.outcome), l.outcome) },
        { key: 'change', label: 'Change', sort: (l) => (l.from || '') + (l.to || ''), cell: (l) => l.from || l.to ? words(l.from) + ' → ' + words(l.to) : '' },
        { key: 'reason', label: 'Why' },
      ],
    }).el);
}

async function listJobs(el) {
  try {
    const list = await api.get('/api/v1/imports');
    fill(el, dataTable({
      id: 'imp-list', caption: 'Import jobs, newest first (the store keeps the latest 1000)', rows: list.items, pageSize: 10, empty: 'None yet.',
      columns: [
        { key: 'started_at', label: 'Started', cell: (j) => when(j.started_at) },
        { key: 'id', label: 'Job' },
        { key: 'dry_run', label: 'Kind', cell: (j) => (j.dry_run ? 'dry run' : 'import') },
        { key: 'status', label: 'Status', cell: (j) => tag(j.status, j.status) },
        { key: 'rows', label: 'Rows done', sort: (j) => j.rows_done, cell: (j) => j.rows_done + ' of ' + j.rows_total },
        { key: 'changed', label: 'Changed', sort: (j) => (j.report ? j.report.changed : -1), cell: (j) => (j.report ? String(j.report.changed) : '') },
        { key: 'kept', label: 'Kept opted out', sort: (j) => (j.report ? j.report.kept : -1), cell: (j) => (j.report ? String(j.report.kept) : '') },
        { key: 'bad', label: 'Bad rows', sort: (j) => (j.report ? j.report.bad : -1), cell: (j) => (j.report ? String(j.report.bad) : '') },
        { key: 'held', label: 'Held released / dropped', sort: (j) => (j.report ? j.report.held_released + j.report.held_dropped : -1),
          cell: (j) => (j.report ? j.report.held_released + ' / ' + j.report.held_dropped : '') },
        { key: 'by', label: 'By' },
        { key: 'cutoff', label: 'Cutoff' },
      ],
    }).el);
  } catch (e) {
    const box = h('p', { class: 'error', role: 'alert' });
    errorBox(box, api.explain(e));
    fill(el, box);
  }
}
