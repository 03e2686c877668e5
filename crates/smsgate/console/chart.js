// A small SVG line chart over a fixed time window (the dashboard's last
// five minutes). Drawn from scratch each time: a few hundred points at most.

import { h, svg, fmtRate } from './ui.js';

const WIDTH = 560;
const HEIGHT = 170;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

/**
 * The y axis: four equal steps of a round size (1, 2, 2.5 or 5 times a
 * power of ten) reaching at least `max`. Gauges that count things step by
 * whole numbers.
 */
function yAxis(max, integer) {
  const least = max > 0 ? max / 4 : 0.25;
  const magnitude = 10 ** Math.floor(Math.log10(least));
  let step = 10 * magnitude;
  for (const factor of [1, 2, 2.5, 5]) {
    if (factor * magnitude >= least) {
      step = factor * magnitude;
      break;
    }
  }
  if (integer) step = Math.max(1, Math.ceil(step));
  return { top: step * 4, step };
}

function axisLabel(value) {
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)}k`;
  return String(Number(value.toFixed(2)));
}

/**
 * series: [{label, color, points: [{t (ms), v (number|null)}]}];
 * windowMs: the x axis spans [now - windowMs, now]. A null value breaks the line.
 * integer: the values are counts (the y axis steps by whole numbers).
 */
export function lineChart({ title, series, windowMs, now = Date.now(), unit = '', integer = false, testid }) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const start = now - windowMs;
  let max = 0;
  for (const s of series) for (const p of s.points) if (p.v !== null && p.t >= start && p.v > max) max = p.v;
  const { top, step } = yAxis(max, integer);
  const x = (t) => PAD.left + ((t - start) / windowMs) * plotW;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'chart-svg',
    role: 'img',
    'aria-label': title,
  });
  for (let i = 0; i <= 4; i += 1) {
    const value = step * i;
    const gy = y(value);
    chart.appendChild(svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: gy, y2: gy, class: i === 0 ? 'axis' : 'grid' }));
    chart.appendChild(svg('text', { x: PAD.left - 6, y: gy + 4, class: 'tick', 'text-anchor': 'end' }, axisLabel(value)));
  }
  for (let minutes = 5; minutes >= 0; minutes -= 1) {
    const gx = x(now - minutes * 60000);
    chart.appendChild(svg('text', { x: gx, y: HEIGHT - 6, class: 'tick', 'text-anchor': minutes === 0 ? 'end' : minutes === 5 ? 'start' : 'middle' }, minutes === 0 ? 'now' : `-${minutes}m`));
  }
  for (const s of series) {
    let run = [];
    const flush = () => {
      if (run.length > 1) chart.appendChild(svg('polyline', { points: run.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
      else if (run.length === 1) {
        const [px, py] = run[0].split(',');
        chart.appendChild(svg('circle', { cx: px, cy: py, r: 2, fill: s.color }));
      }
      run = [];
    };
    for (const p of s.points) {
      if (p.t < start) continue;
      if (p.v === null) flush();
      else run.push(`${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    }
    flush();
  }

  const legend = h(
    'div',
    { class: 'legend' },
    series.map((s) => {
      const last = [...s.points].reverse().find((p) => p.v !== null);
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = s.color;
      return h('span', { class: 'legend-item' }, swatch, s.label, ' ', h('strong', {}, last ? `${fmtRate(last.v)}${unit}` : '—'));
    }),
  );
  return h('section', { class: 'card chart', testid }, h('h2', {}, title), legend, chart);
}
