// Sessions: the SMPP sessions bound on this node, like a "Manage SMPP
// clients" screen, each with a Disconnect button (DELETE /admin/api/sessions/{id}).

import { get, del, seg } from './api.js';
import { h, replace, pageHeader, table, badge, yesNo, fmtTime, fmtAge, fmtNum, button, confirmDialog, showNotice, act } from './ui.js';

const REFRESH_MS = 2000;

const BIND_LABELS = { transmitter: 'TX', receiver: 'RX', transceiver: 'TRX' };

function remoteCell(session) {
  const version = session.ip_version === 6 ? 'IPv6' : session.ip_version === 4 ? 'IPv4' : null;
  return h('span', { class: 'nowrap' }, h('code', {}, session.remote ?? '—'), ' ', version ? badge(version, 'info') : null);
}

function windowCell(window) {
  const used = window?.in_use ?? 0;
  const size = window?.size ?? 0;
  const meter = h('span', { class: 'meter' }, h('span', { class: 'meter-fill' }));
  meter.firstChild.style.width = `${size ? Math.min(100, (used / size) * 100) : 0}%`;
  return h('span', { class: 'nowrap' }, meter, ` ${used} / ${size}`);
}

export async function render(ctx) {
  const list = h('div', { testid: 'sessions' }, h('p', { class: 'muted' }, 'Loading…'));
  const count = h('span', { class: 'muted', testid: 'session-count' });
  const refresh = button('Refresh', () => load());
  ctx.main.append(pageHeader('SMPP sessions', count, refresh), list);

  async function disconnect(session, trigger) {
    const sure = await confirmDialog({
      title: `Disconnect ${session.system_id}?`,
      message: `Session ${session.id} from ${session.remote} gets an unbind and its connection closes. The customer may bind again.`,
      confirmLabel: 'Disconnect',
      danger: true,
    });
    if (!sure) return;
    const done = await act(trigger, async () => {
      await del(`/sessions/${seg(session.id)}`);
      return true;
    }, `Disconnecting session ${session.id}`);
    if (done) {
      showNotice(`Session ${session.id} (${session.system_id}) was unbound.`);
      await load();
    }
  }

  async function load() {
    const sessions = await get('/sessions');
    if (!ctx.alive()) return;
    count.textContent = `${sessions.length} bound`;
    replace(
      list,
      table(
        [
          { label: 'System id', cell: (s) => h('strong', { testid: 'session-system-id' }, s.system_id) },
          { label: 'Bind', cell: (s) => badge(BIND_LABELS[s.bind_type] ?? s.bind_type, 'muted', { title: s.bind_type }) },
          { label: 'Remote address', cell: remoteCell },
          { label: 'TLS', cell: (s) => yesNo(s.tls) },
          { label: 'Bound since', cell: (s) => h('span', { class: 'stack nowrap' }, fmtTime(s.since), h('span', { class: 'muted small', testid: 'session-age' }, `for ${fmtAge(s.since)}`)) },
          { label: 'Window', cell: (s) => windowCell(s.window) },
          { label: 'Deliver window', cell: (s) => windowCell(s.deliver_window) },
          { label: 'In', num: true, cell: (s) => fmtNum(s.messages_in) },
          { label: 'Out', num: true, cell: (s) => fmtNum(s.messages_out) },
          {
            label: '',
            class: 'row-actions',
            cell: (s) => {
              const trigger = h('button', { type: 'button', class: 'btn btn-small btn-danger', testid: 'disconnect' }, 'Disconnect');
              trigger.addEventListener('click', () => disconnect(s, trigger));
              return trigger;
            },
          },
        ],
        sessions,
        {
          testid: 'sessions-table',
          rowTestid: 'session-row',
          rowKey: (s) => s.system_id,
          empty: 'No SMPP session is bound to this node.',
        },
      ),
    );
  }

  await load();
  ctx.every(REFRESH_MS, () => (document.querySelector('dialog[open]') ? null : load()));
}
