// A data table with sortable columns (a button in each header; aria-sort
// says the order) and pages of rows (Previous / Next). It sorts and pages
// the rows it was given; callers load them from the API.

import { h, fill } from './dom.js';

let seq = 0;

// dataTable renders rows into a new element and returns it with a
// method to replace the rows. columns: [{key, label, cell(row) → node
// or text, sort(row) → comparable (default row[key])}]; pageSize 0 shows
// every row.
export function dataTable({ caption, columns, rows = [], pageSize = 25, empty = 'Nothing to show.', sortable = true, id }) {
  const tid = id || 'table' + (++seq);
  let data = rows.slice();
  let sortKey = null, dir = 1, page = 0;
  const thead = h('thead');
  const tbody = h('tbody');
  const info = h('p', { class: 'pager-info', id: tid + '-info', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'btn', id: tid + '-prev', onclick: () => { page--; draw(); } }, 'Previous page');
  const next = h('button', { type: 'button', class: 'btn', id: tid + '-next', onclick: () => { page++; draw(); } }, 'Next page');
  const pager = h('div', { class: 'pager' }, prev, info, next);
  const table = h('table', { class: 'data', id: tid }, caption ? h('caption', {}, caption) : null, thead, tbody);
  const wrap = h('div', { class: 'table-wrap' }, h('div', { class: 'scroll' }, table), pager);

  const value = (col, row) => (col.sort ? col.sort(row) : row[col.key]) ?? '';
  function sorted() {
    if (!sortKey) return data;
    const col = columns.find((c) => c.key === sortKey);
    return data.slice().sort((a, b) => {
      const x = value(col, a), y = value(col, b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return c * dir;
    });
  }
  function head() {
    fill(thead, h('tr', {}, columns.map((col) => {
      const th = h('th', { scope: 'col' });
      if (sortable && col.sortable !== false) {
        const state = sortKey === col.key ? (dir > 0 ? 'ascending' : 'descending') : 'none';
        th.setAttribute('aria-sort', state);
        const arrow = state === 'ascending' ? '▲' : state === 'descending' ? '▼' : '↕';
        th.append(h('button', {
          type: 'button', class: 'sort', id: tid + '-sort-' + col.key,
          onclick: () => {
            dir = sortKey === col.key ? -dir : 1;
            sortKey = col.key;
            page = 0;
            head();
            draw();
            // The header was drawn anew: the focus stays on its button.
            thead.querySelector('#' + CSS.escape(tid + '-sort-' + col.key)).focus();
          },
        }, col.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, ' ' + arrow),
        h('span', { class: 'visually-hidden' }, state === 'none' ? ', sort' : ', sorted ' + state)));
      } else {
        th.textContent = col.label;
      }
      return th;
    })));
  }
  function draw() {
    const all = sorted();
    const size = pageSize || all.length || 1;
    const pages = Math.max(1, Math.ceil(all.length / size));
    page = Math.min(Math.max(0, page), pages - 1);
    const shown = all.slice(page * size, page * size + size);
    if (!shown.length) {
      fill(tbody, h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
    } else {
      fill(tbody, shown.map((row) => h('tr', {}, columns.map((col) => {
        const v = col.cell ? col.cell(row) : row[col.key];
        return h('td', { class: col.class || null }, v ?? '');
      }))));
    }
    info.textContent = all.length ? 'Rows ' + (page * size + 1) + '–' + (page * size + shown.length) + ' of ' + all.length + ' · page ' + (page + 1) + ' of ' + pages : '';
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    pager.hidden = pages <= 1;
  }
  head();
  draw();
  return {
    el: wrap,
    set(rows) { data = rows.slice(); page = 0; draw(); },
    add(rows) { data = data.concat(rows); draw(); },
    get rows() { return data; },
  };
}
