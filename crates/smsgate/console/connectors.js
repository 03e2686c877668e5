// Connectors: each link to a provider with its health, pause/resume, and
// the PDU trace switch of its binds.

import { get, post, put, del, seg } from './api.js';
import { h, replace, pageHeader, table, badge, button, fmtNum, fmtRate, fmtTime, showNotice, act } from './ui.js';

const REFRESH_MS = 5000;

function statusCell(connector) {
  const health = connector.health ?? {};
  const bound = health.bound ?? 0;
  const configured = health.configured ?? 0;
  const up = configured === 0 ? true : bound > 0;
  return h(
    'span',
    { class: 'stack' },
    connector.paused ? badge('paused', 'warn', { testid: 'connector-paused' }) : up ? badge('up', 'ok', { testid: 'connector-status' }) : badge('down', 'bad', { testid: 'connector-status' }),
    configured ? h('span', { class: 'muted small' }, `${bound} / ${configured} bound`) : null,
  );
}

function lastError(connector) {
  const message = connector.health?.last_error;
  return message ? h('span', { class: 'error-text', title: message }, message) : h('span', { class: 'muted' }, 'none');
}

export async function render(ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(pageHeader('Connectors', button('Refresh', () => load())), list);

  async function setPaused(connector, trigger) {
    const verb = connector.paused ? 'resume' : 'pause';
    const changed = await act(trigger, () => post(`/connectors/${seg(connector.name)}/${verb}`), `${verb} ${connector.name}`);
    if (changed) {
      showNotice(`${connector.name} ${connector.paused ? 'resumed' : 'paused'}.`);
      await load();
    }
  }

  async function setTrace(connector, box) {
    const path = `/trace/connector/${seg(connector.name)}`;
    await act(box, () => (box.checked ? put(path, { minutes: 30 }) : del(path)), `Trace of ${connector.name}`);
    await load();
  }

  async function load() {
    // The connectors are shown even when the trace switches cannot be read.
    const [connectors, switches] = await Promise.all([get('/connectors'), get('/trace').catch(() => null)]);
    if (!ctx.alive()) return;
    const traceOf = (name) => switches?.find((s) => s.kind === 'connector' && s.name === name);
    replace(
      list,
      table(
        [
          { label: 'Name', cell: (c) => h('strong', { class: 'nowrap' }, c.name) },
          { label: 'Kind', cell: (c) => badge(c.kind, 'muted') },
          { label: 'Status', cell: statusCell },
          { label: 'In flight', num: true, cell: (c) => fmtNum(c.in_flight ?? c.health?.in_flight) },
          { label: 'Submitted', num: true, cell: (c) => fmtNum(c.health?.submitted) },
          { label: 'Refused', num: true, cell: (c) => fmtNum(c.health?.refused) },
          { label: 'Failed', num: true, cell: (c) => fmtNum(c.health?.failed) },
          { label: 'Rate /s', num: true, cell: (c) => fmtRate(Number(c.health?.rate ?? 0)) },
          { label: 'Last error', class: 'wrap', cell: lastError },
          {
            label: 'Trace',
            cell: (c) => {
              const on = traceOf(c.name);
              const box = h('input', { type: 'checkbox', checked: Boolean(on), disabled: !switches, role: 'switch', testid: 'trace-toggle', 'aria-label': `PDU trace of ${c.name}` });
              box.addEventListener('change', () => setTrace(c, box));
              const title = !switches ? 'The trace switches could not be read' : on ? `on until ${fmtTime(on.until)}` : 'PDU hex dumps in the log for 30 minutes';
              return h('label', { class: 'switch', title }, box, h('span', { class: 'switch-track' }), on ? h('span', { class: 'small' }, ` until ${fmtTime(on.until).slice(11, 16)}`) : null);
            },
          },
          {
            label: '',
            class: 'row-actions',
            cell: (c) => {
              const trigger = h('button', { type: 'button', class: c.paused ? 'btn btn-small btn-primary' : 'btn btn-small', testid: c.paused ? 'connector-resume' : 'connector-pause' }, c.paused ? 'Resume' : 'Pause');
              trigger.addEventListener('click', () => setPaused(c, trigger));
              return trigger;
            },
          },
        ],
        connectors,
        { testid: 'connectors-table', rowTestid: 'connector-row', rowKey: (c) => c.name, empty: 'No connectors are configured.' },
      ),
      h('p', { class: 'hint' }, 'A paused connector keeps its binds; messages routed to it fail over to the route\'s next connector, or wait when it is the only one. Pause lasts until resume or restart.'),
    );
  }

  await load();
  ctx.every(REFRESH_MS, load);
}
