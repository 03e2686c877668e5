// Queues: messages waiting for dispatch, and receipts and MO waiting in the
// outbox for each account.

import { get } from './api.js';
import { h, replace, pageHeader, table, badge, button, fmtTime, fmtAge, fmtNum } from './ui.js';

const REFRESH_MS = 5000;

function tile(label, value, note, testid) {
  return h('div', { class: 'tile', testid }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, fmtNum(value)), h('div', { class: 'tile-note' }, note));
}

export async function render(ctx) {
  const body = h('div', { testid: 'queues' }, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(pageHeader('Queues', button('Refresh', () => load())), body);

  async function load() {
    const queues = await get('/queues');
    if (!ctx.alive()) return;
    const outbox = queues.outbox ?? [];
    const waiting = outbox.reduce((sum, entry) => sum + (entry.count ?? 0), 0);
    replace(
      body,
      h(
        'div',
        { class: 'tiles' },
        tile('Accepted', queues.accepted, 'stored, waiting for dispatch', 'queue-accepted'),
        tile('Queued', queues.queued, 'claimed, being submitted', 'queue-queued'),
        tile('Outbox', waiting, 'receipts and MO for accounts', 'queue-outbox'),
      ),
      h('h2', { class: 'section-title' }, 'Outbox by account'),
      table(
        [
          { label: 'Account', cell: (e) => h('a', { href: `#/accounts/${encodeURIComponent(e.account)}` }, e.account) },
          { label: 'Kind', cell: (e) => badge(e.kind, e.kind === 'mo' ? 'info' : 'muted') },
          { label: 'Waiting', num: true, cell: (e) => fmtNum(e.count) },
          { label: 'Oldest', cell: (e) => h('span', { class: 'nowrap' }, fmtTime(e.oldest), h('span', { class: 'muted' }, ` (${fmtAge(e.oldest)} ago)`)) },
        ],
        outbox,
        { testid: 'outbox-table', rowTestid: 'outbox-row', empty: 'Nothing waiting: every receipt and MO has been delivered.' },
      ),
    );
  }

  await load();
  ctx.every(REFRESH_MS, load);
}
