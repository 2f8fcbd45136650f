// Small line charts drawn as inline SVG: a few series over the same
// times, a scale from zero to the largest value, the first and last time,
// and a legend with each series' latest value. The colours come from the
// stylesheet (classes), the words from the legend, so a chart reads
// without colour too, and the SVG's title and description say the same
// for a screen reader.

const NS = 'http://www.w3.org/2000/svg';
const W = 600, H = 170, L = 44, R = 8, T = 10, B = 24;

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// lineChart returns a <figure>: id names it, series is [{name, values,
// cls}] over times (RFC 3339), label is the figure's caption.
export function lineChart({ id, label, times, series, unit, clock }) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  fig.id = id;
  const n = Math.max(times.length, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const last = series.map((s) => s.name + ' ' + (s.values.length ? s.values[s.values.length - 1] : 0)).join(', ');
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id + '-t ' + id + '-d', class: 'chart-svg' });
  root.append(svg('title', { id: id + '-t' }, label), svg('desc', { id: id + '-d' }, 'Latest, ' + unit + ': ' + last + '. Largest: ' + max + '.'));
  for (const v of [0, max / 2, max]) {
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
  }
  if (times.length) {
    root.append(svg('text', { x: L, y: H - 6, class: 'axis', 'text-anchor': 'start' }, clock(times[0])));
    root.append(svg('text', { x: W - R, y: H - 6, class: 'axis', 'text-anchor': 'end' }, clock(times[times.length - 1])));
  }
  for (const s of series) {
    const pts = s.values.map((v, i) => x(i).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
    root.append(svg('polyline', { points: pts, class: 'line ' + s.cls }));
  }
  const cap = document.createElement('figcaption');
  const title = document.createElement('span');
  title.className = 'chart-title';
  title.textContent = label;
  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const s of series) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch ' + s.cls;
    sw.setAttribute('aria-hidden', 'true');
    li.append(sw, s.name + ': ' + (s.values.length ? s.values[s.values.length - 1] : 0));
    legend.append(li);
  }
  cap.append(title, legend);
  fig.append(root, cap);
  return fig;
}

function fmt(v) {
  return v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}
