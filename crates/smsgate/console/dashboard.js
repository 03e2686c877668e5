// The dashboard: traffic, receipts, errors and queue depths over the last
// five minutes, from GET /admin/api/overview polled every two seconds. The
// node keeps the last five minutes itself (GET /admin/api/overview/history),
// so the charts start full at login; the sampler then runs for as long as
// the operator is logged in.

import { get } from './api.js';
import { h, replace, pageHeader, fmtNum, fmtDuration, showError, clearBanners } from './ui.js';
import { lineChart } from './chart.js';

const INTERVAL_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;

const COLORS = {
  in: '#2563eb',
  out: '#16a34a',
  receipts: '#9333ea',
  mo: '#0891b2',
  rejected: '#dc2626',
  submitErrors: '#ea580c',
  accepted: '#2563eb',
  queued: '#ca8a04',
  outbox: '#9333ea',
};

/** Polls the overview and keeps the last five minutes of it. */
class Sampler {
  constructor() {
    /** [{t: ms, overview | null (the poll failed)}], oldest first. */
    this.samples = [];
    this.listeners = new Set();
    this.timer = null;
    this.busy = false;
    this.lastError = null;
  }

  start() {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
    this.seed().finally(() => this.tick());
  }

  /**
   * Fills the window with the node's own samples, placed on this browser's
   * clock (the node says what its clock reads now). Samples whose queue
   * depths the node could not read are left out. Failing is harmless: the
   * charts then fill as the sampler goes.
   */
  async seed() {
    let history;
    try {
      history = await get('/overview/history');
    } catch {
      return;
    }
    if (!this.timer || !Array.isArray(history?.samples)) return;
    const offset = Date.now() - Date.parse(history.now);
    if (!Number.isFinite(offset)) return;
    const firstLive = this.samples.length ? this.samples[0].t : Infinity;
    const seeded = history.samples
      .filter((s) => s.queues)
      .map((s) => ({ t: Date.parse(s.at) + offset, seeded: true, overview: { counters: s.counters, queues: s.queues } }))
      .filter((s) => Number.isFinite(s.t) && s.t < firstLive);
    this.samples = seeded.concat(this.samples);
    // Listeners take a live overview; without one yet, the first poll
    // (right after this) redraws with the seeded samples too.
    const latest = this.latest();
    if (latest) for (const listener of this.listeners) listener(latest);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.samples = [];
    this.listeners.clear();
  }

  /** Calls listener(overview) after each good poll (and now, if there was one); answers how to stop. */
  onSample(listener) {
    this.listeners.add(listener);
    const latest = this.latest();
    if (latest) listener(latest);
    return () => this.listeners.delete(listener);
  }

  /** The newest live overview (the node's history has no tiles' fields). */
  latest() {
    for (let i = this.samples.length - 1; i >= 0; i -= 1) {
      const sample = this.samples[i];
      if (sample.overview && !sample.seeded) return sample.overview;
    }
    return null;
  }

  async tick() {
    if (this.busy || !this.timer) return;
    this.busy = true;
    let overview = null;
    try {
      overview = await get('/overview');
      this.lastError = null;
    } catch (error) {
      this.lastError = error;
    } finally {
      this.busy = false;
    }
    if (!this.timer) return;
    const now = Date.now();
    this.samples.push({ t: now, overview });
    while (this.samples.length && this.samples[0].t < now - WINDOW_MS - 2 * INTERVAL_MS) this.samples.shift();
    for (const listener of this.listeners) listener(overview);
  }

  /** Per-second rates of a counter between consecutive good samples. */
  rate(pick) {
    const points = [];
    for (let i = 1; i < this.samples.length; i += 1) {
      const a = this.samples[i - 1];
      const b = this.samples[i];
      const seconds = (b.t - a.t) / 1000;
      if (!a.overview || !b.overview || seconds <= 0) {
        points.push({ t: b.t, v: null });
        continue;
      }
      const delta = pick(b.overview) - pick(a.overview);
      // A counter that went down means the node restarted: no rate there.
      points.push({ t: b.t, v: Number.isFinite(delta) && delta >= 0 ? delta / seconds : null });
    }
    return points;
  }

  /** A gauge as it was at each sample. */
  gauge(pick) {
    return this.samples.map((s) => ({ t: s.t, v: s.overview ? Number(pick(s.overview)) || 0 : null }));
  }
}

export const sampler = new Sampler();

const counter = (name) => (overview) => Number(overview.counters?.[name] ?? 0);
const queue = (name) => (overview) => overview.queues?.[name] ?? 0;

function tile(label, value, note, testid, kind) {
  return h('div', { class: ['tile', kind ? `tile-${kind}` : null], testid }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value', title: String(value) }, value), note ? h('div', { class: 'tile-note' }, note) : null);
}

function tiles(overview) {
  if (!overview) return h('div', { class: 'tiles' }, tile('Status', 'waiting for the first sample…'));
  const connectors = overview.connectors ?? {};
  const counters = overview.counters ?? {};
  const uptime = (Date.now() - new Date(overview.started_at).getTime()) / 1000;
  const down = (connectors.total ?? 0) - (connectors.up ?? 0);
  return h(
    'div',
    { class: 'tiles' },
    tile('Node', overview.node, `v${overview.version} · up ${fmtDuration(uptime)}`, 'tile-node'),
    tile('Accepting', overview.accepting ? 'yes' : 'no', overview.accepting ? 'taking traffic' : 'refusing new messages', 'tile-accepting', overview.accepting ? 'ok' : 'bad'),
    tile('SMPP sessions', fmtNum(overview.sessions), 'bound on this node', 'tile-sessions'),
    tile('Connectors up', `${fmtNum(connectors.up)} / ${fmtNum(connectors.total)}`, connectors.paused ? `${connectors.paused} paused` : 'none paused', 'tile-connectors', down > 0 ? 'warn' : null),
    tile('Accepted', fmtNum(counters.accepted), `${fmtNum(counters.rejected)} rejected since start`, 'tile-accepted'),
    tile('Submitted', fmtNum(counters.submitted), `${fmtNum(counters.submit_errors)} submit errors`, 'tile-submitted', counters.submit_errors ? 'warn' : null),
  );
}

function charts() {
  const now = Date.now();
  const common = { windowMs: WINDOW_MS, now };
  return h(
    'div',
    { class: 'charts' },
    lineChart({
      ...common,
      title: 'Messages per second',
      testid: 'chart-traffic',
      unit: '/s',
      series: [
        { label: 'In (accepted)', color: COLORS.in, points: sampler.rate(counter('accepted')) },
        { label: 'Out (submitted)', color: COLORS.out, points: sampler.rate(counter('submitted')) },
      ],
    }),
    lineChart({
      ...common,
      title: 'Receipts and MO per second',
      testid: 'chart-receipts',
      unit: '/s',
      series: [
        { label: 'Receipts', color: COLORS.receipts, points: sampler.rate(counter('receipts')) },
        { label: 'MO', color: COLORS.mo, points: sampler.rate(counter('mo')) },
      ],
    }),
    lineChart({
      ...common,
      title: 'Errors per second',
      testid: 'chart-errors',
      unit: '/s',
      series: [
        { label: 'Rejected', color: COLORS.rejected, points: sampler.rate(counter('rejected')) },
        { label: 'Submit errors', color: COLORS.submitErrors, points: sampler.rate(counter('submit_errors')) },
      ],
    }),
    lineChart({
      ...common,
      title: 'Queue depth',
      testid: 'chart-queues',
      integer: true,
      series: [
        { label: 'Accepted', color: COLORS.accepted, points: sampler.gauge(queue('accepted')) },
        { label: 'Queued', color: COLORS.queued, points: sampler.gauge(queue('queued')) },
        { label: 'Outbox', color: COLORS.outbox, points: sampler.gauge(queue('outbox')) },
      ],
    }),
  );
}

export function render(ctx) {
  const body = h('div', { class: 'dashboard', testid: 'dashboard' });
  ctx.main.append(pageHeader('Dashboard', h('span', { class: 'muted' }, 'last 5 minutes, every 2 s')), body);
  let showingError = false;
  const draw = () => {
    if (!ctx.alive()) return;
    replace(body, tiles(sampler.latest()), charts());
    if (sampler.lastError && !showingError) {
      showError(sampler.lastError, 'Overview');
      showingError = true;
    } else if (!sampler.lastError && showingError) {
      clearBanners();
      showingError = false;
    }
  };
  draw();
  ctx.onCleanup(sampler.onSample(draw));
}
