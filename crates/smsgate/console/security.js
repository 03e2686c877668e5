// Blocked addresses: where too many logins failed, per surface (SMPP binds,
// the customer API, this console), with the time left and a button that
// lifts the block (DELETE /admin/api/security/blocks/{address}?surface=…).

import { get, del, seg } from './api.js';
import { h, replace, pageHeader, table, badge, fmtTime, button, confirmDialog, showNotice, act } from './ui.js';

const REFRESH_MS = 5000;

const SURFACE_LABELS = { smpp: 'SMPP binds', api: 'Customer API', console: 'Console' };

function left(seconds) {
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${seconds} s`;
}

export async function render(ctx) {
  const list = h('div', { testid: 'blocks' }, h('p', { class: 'muted' }, 'Loading…'));
  const count = h('span', { class: 'muted', testid: 'block-count' });
  const refresh = button('Refresh', () => load());
  ctx.main.append(
    pageHeader('Blocked addresses', count, refresh),
    h('p', { class: 'muted' }, 'An address is blocked on one surface after too many failed logins there; the others stay open to it. Networks in [security] trusted_ips are never blocked.'),
    list,
  );

  async function lift(block, trigger) {
    const sure = await confirmDialog({
      title: `Lift the block of ${block.address}?`,
      message: `${block.address} may log in to ${SURFACE_LABELS[block.surface] ?? block.surface} again at once; its failed logins are forgotten.`,
      confirmLabel: 'Lift the block',
    });
    if (!sure) return;
    const address = block.address.replace(/\/64$/, '');
    const done = await act(trigger, async () => {
      await del(`/security/blocks/${seg(address)}?surface=${encodeURIComponent(block.surface)}`);
      return true;
    }, `Lifting the block of ${block.address}`);
    if (done) {
      showNotice(`The block of ${block.address} (${SURFACE_LABELS[block.surface] ?? block.surface}) was lifted.`);
      await load();
    }
  }

  async function load() {
    const blocks = await get('/security/blocks');
    if (!ctx.alive()) return;
    count.textContent = `${blocks.length} blocked`;
    replace(
      list,
      table(
        [
          { label: 'Address', cell: (b) => h('code', { testid: 'block-address' }, b.address) },
          { label: 'Surface', cell: (b) => badge(SURFACE_LABELS[b.surface] ?? b.surface, 'warn', { testid: 'block-surface' }) },
          { label: 'Left', cell: (b) => left(b.remaining_seconds) },
          { label: 'Until', cell: (b) => fmtTime(b.until) },
          {
            label: '',
            class: 'row-actions',
            cell: (b) => {
              const trigger = h('button', { type: 'button', class: 'btn btn-small', testid: 'unblock' }, 'Lift');
              trigger.addEventListener('click', () => lift(b, trigger));
              return trigger;
            },
          },
        ],
        blocks,
        {
          testid: 'blocks-table',
          rowTestid: 'block-row',
          rowKey: (b) => `${b.surface} ${b.address}`,
          empty: 'No address is blocked.',
        },
      ),
    );
  }

  await load();
  ctx.every(REFRESH_MS, () => (document.querySelector('dialog[open]') ? null : load()));
}
