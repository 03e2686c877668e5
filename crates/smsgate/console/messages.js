// Messages: search (#/messages?q=…, the search lives in the address so Back
// works) and one message (#/messages/{id}) with its trace as a timeline.

import { get, seg, query } from './api.js';
import { h, replace, pageHeader, card, table, badge, field, details, stateBadge, fmtTime, fmtNum, text, localToIso, isoToLocal, showError } from './ui.js';

const STATES = ['accepted', 'queued', 'submitted', 'delivered', 'undeliverable', 'expired', 'rejected', 'deleted', 'unknown', 'failed'];
const DIRECTIONS = [
  ['', 'any'],
  ['mt', 'MT (to handsets)'],
  ['mo', 'MO (from handsets)'],
];
const SEARCH_KEYS = ['q', 'account', 'state', 'direction', 'since', 'until', 'limit'];

const address = (value) => (value && typeof value === 'object' ? value.addr : value);
const messageHash = (id) => `#/messages/${encodeURIComponent(id)}`;
/** The last search shown, for the way back from a message. */
let lastSearch = '#/messages';

function select(name, options, value, testid) {
  return h('select', { name, testid }, options.map(([optionValue, label]) => h('option', { value: optionValue, selected: optionValue === value }, label)));
}

// ---- search ----------------------------------------------------------------

async function renderSearch(ctx) {
  lastSearch = location.hash || '#/messages';
  const q = ctx.query;
  const inputs = {
    q: h('input', { name: 'q', type: 'search', value: q.get('q') ?? '', placeholder: 'message id or number', testid: 'message-q' }),
    account: h('input', { name: 'account', value: q.get('account') ?? '', testid: 'message-account' }),
    state: select('state', [['', 'any'], ...STATES.map((s) => [s, s])], q.get('state') ?? '', 'message-state'),
    direction: select('direction', DIRECTIONS, q.get('direction') ?? '', 'message-direction'),
    since: h('input', { name: 'since', type: 'datetime-local', value: isoToLocal(q.get('since')) }),
    until: h('input', { name: 'until', type: 'datetime-local', value: isoToLocal(q.get('until')) }),
    limit: select('limit', [['50', '50'], ['100', '100'], ['200', '200'], ['500', '500']], q.get('limit') ?? '50'),
  };
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'message-search' }, 'Search');
  const form = h(
    'form',
    { class: 'card search-form', testid: 'message-search-form' },
    h(
      'div',
      { class: 'form-row' },
      field('Id or number', inputs.q),
      field('Account', inputs.account),
      field('State', inputs.state),
      field('Direction', inputs.direction),
      field('Since', inputs.since),
      field('Until', inputs.until),
      field('Limit', inputs.limit),
      h('div', { class: 'field field-button' }, submit),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = {
      q: inputs.q.value.trim(),
      account: inputs.account.value.trim(),
      state: inputs.state.value,
      direction: inputs.direction.value,
      since: localToIso(inputs.since.value),
      until: localToIso(inputs.until.value),
      limit: inputs.limit.value === '50' ? '' : inputs.limit.value,
    };
    ctx.navigate(`#/messages${query(params)}`);
  });
  const results = h('div', { testid: 'message-results' });
  ctx.main.append(pageHeader('Messages'), form, results);

  const params = {};
  for (const key of SEARCH_KEYS) params[key] = q.get(key) ?? '';
  replace(results, h('p', { class: 'muted' }, 'Searching…'));
  const found = await get(`/messages${query(params)}`);
  if (!ctx.alive()) return;
  // Marks which search the table shows, for tests waiting on a new search.
  results.dataset.q = params.q;
  results.dataset.state = 'loaded';
  replace(
    results,
    h('p', { class: 'muted', testid: 'message-count' }, found.length === 1 ? '1 message, newest first' : `${found.length} messages, newest first`),
    table(
      [
        { label: 'Accepted', cell: (m) => h('span', { class: 'nowrap' }, fmtTime(m.accepted_at)) },
        { label: 'Id', cell: (m) => h('a', { href: messageHash(m.id), class: 'mono' }, m.id) },
        { label: 'Account', cell: (m) => text(m.account) },
        { label: 'Dir', cell: (m) => badge(String(m.direction ?? '').toUpperCase() || '—', 'muted') },
        { label: 'From', cell: (m) => text(address(m.source)) },
        { label: 'To', cell: (m) => h('span', { testid: 'message-destination' }, text(address(m.destination))) },
        { label: 'State', cell: (m) => stateBadge(m.state) },
        { label: 'Parts', num: true, cell: (m) => fmtNum(m.segments) },
        { label: 'Cost', num: true, cell: (m) => fmtNum(m.cost) },
        { label: 'Connector', cell: (m) => text(m.connector) },
      ],
      found,
      {
        testid: 'messages-table',
        rowTestid: 'message-row',
        rowKey: (m) => m.id,
        onRowClick: (m) => ctx.navigate(messageHash(m.id)),
        empty: 'No messages match.',
      },
    ),
  );
}

// ---- one message -----------------------------------------------------------

/** What a receipt said, for its colour: a failure red, a pending one muted. */
const FAILED_STATS = ['UNDELIV', 'EXPIRED', 'REJECTD', 'DELETED', 'UNKNOWN'];
const PENDING_STATS = ['ENROUTE', 'ACCEPTD'];

function receiptOutcome(event) {
  if (event.kind !== 'receipt') return null;
  const stat = /stat ([A-Z]+)/.exec(event.detail ?? '')?.[1];
  if (FAILED_STATS.includes(stat)) return 'receipt-failed';
  if (PENDING_STATS.includes(stat)) return 'receipt-pending';
  return null;
}

/** SMPP data_coding values by name (SMPP 3.4 section 5.2.19). */
const CODINGS = {
  0: 'GSM 7-bit (SMSC default)',
  1: 'IA5 / ASCII',
  2: '8-bit binary',
  3: 'Latin-1 (ISO-8859-1)',
  4: '8-bit binary',
  5: 'JIS (X 0208-1990)',
  6: 'Cyrillic (ISO-8859-5)',
  7: 'Latin/Hebrew (ISO-8859-8)',
  8: 'UCS-2',
  9: 'Pictogram',
  10: 'ISO-2022-JP',
  13: 'Extended Kanji JIS',
  14: 'KS C 5601',
};

function codingName(value) {
  if (value === null || value === undefined) return '—';
  const name = CODINGS[value] ?? ((value & 0xf0) === 0xf0 ? ((value & 0x04) ? '8-bit binary (message class)' : 'GSM 7-bit (message class)') : null);
  return name ? `${name} (${value})` : String(value);
}

function timeline(trace) {
  if (!trace?.length) return h('p', { class: 'muted' }, 'No trace events.');
  return h(
    'ol',
    { class: 'timeline', testid: 'timeline' },
    trace.map((event, index) => {
      const previous = index ? new Date(trace[index - 1].at).getTime() : null;
      const gap = previous === null ? null : new Date(event.at).getTime() - previous;
      return h(
        'li',
        { class: ['timeline-event', `kind-${String(event.kind).replace(/[^a-z_-]/gi, '')}`, receiptOutcome(event)], testid: 'trace-event', dataset: { kind: event.kind } },
        h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
        h(
          'div',
          { class: 'timeline-body' },
          h('div', { class: 'timeline-head' }, h('strong', { testid: 'trace-kind' }, event.kind), h('span', { class: 'muted' }, fmtTime(event.at)), gap !== null ? h('span', { class: 'muted small' }, `+${gap >= 1000 ? `${(gap / 1000).toFixed(1)} s` : `${gap} ms`}`) : null, event.node ? h('span', { class: 'muted small' }, `on ${event.node}`) : null),
          event.detail ? h('div', { class: 'timeline-detail' }, event.detail) : null,
        ),
      );
    }),
  );
}

function partsCard(message) {
  const parts = message.parts ?? [];
  if (!parts.length) return null;
  return card(
    'The other parts of this message',
    table(
      [
        { label: 'Id', cell: (p) => h('a', { href: messageHash(p.id), class: 'mono' }, p.id) },
        { label: 'State', cell: (p) => stateBadge(p.state) },
        { label: 'Segments', num: true, cell: (p) => fmtNum(p.segments) },
        { label: 'Connector', cell: (p) => text(p.connector) },
      ],
      parts,
      { testid: 'parts-table' },
    ),
  );
}

async function renderMessage(ctx, id) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(h('p', { class: 'crumbs' }, h('a', { href: lastSearch }, '← Back to the search')), body);
  let message;
  try {
    message = await get(`/messages/${seg(id)}`);
  } catch (error) {
    if (error.status === 404) {
      replace(body, card('Not found', h('p', {}, `There is no message ${id}.`)));
      return;
    }
    throw error;
  }
  if (!ctx.alive()) return;
  const origin = message.origin ?? {};
  const providerIds = message.provider_ids ?? [];
  const part = message.part;
  replace(
    body,
    pageHeader(h('span', {}, 'Message ', h('code', { testid: 'message-id' }, message.id), ' ', stateBadge(message.state))),
    h(
      'div',
      { class: 'two-columns' },
      h(
        'div',
        { class: 'column column-wide' },
        card(
          'Message',
          details([
            ['Account', text(message.account)],
            ['Direction', String(message.direction ?? 'mt').toUpperCase()],
            ['From', text(address(message.source))],
            ['To', text(address(message.destination))],
            ['Accepted', fmtTime(message.accepted_at)],
            ['Segments', fmtNum(message.segments)],
            ['Cost', fmtNum(message.cost)],
            ['Connector', h('span', { testid: 'message-connector' }, text(message.connector))],
            ['Provider ids', providerIds.length ? h('ul', { class: 'plain-list', testid: 'provider-ids' }, providerIds.map((p) => h('li', {}, h('code', {}, p.provider_id), h('span', { class: 'muted' }, ` at ${p.connector}`)))) : '—'],
            ['Group', message.group_id && message.group_id !== message.id ? h('a', { href: messageHash(message.group_id), class: 'mono' }, message.group_id) : 'single message'],
            part ? ['Part', `${part.seq} of ${part.total} (reference ${part.reference})`] : null,
            ['Came in', `${text(origin.protocol)}${origin.remote_addr ? ` from ${origin.remote_addr}` : ''}${origin.tls ? ' over TLS' : ''}${origin.session_id != null ? `, session ${origin.session_id}` : ''}`],
            ['Scheduled', message.schedule_at ? fmtTime(message.schedule_at) : 'now'],
            ['Expires', fmtTime(message.expires_at)],
            ['Receipt asked', message.registered_delivery ? `yes (registered_delivery ${message.registered_delivery})` : 'no'],
            ['Data coding', codingName(message.data_coding)],
          ]),
        ),
        card('Text', message.text != null ? h('pre', { class: 'message-text', testid: 'message-text' }, message.text) : h('p', { class: 'muted' }, 'Not shown: binary, or not decodable.')),
        partsCard(message),
      ),
      h('div', { class: 'column' }, card('Trace', timeline(message.trace))),
    ),
  );
}

export function render(ctx) {
  if (ctx.params.length) {
    return renderMessage(ctx, ctx.params[0]).catch((error) => {
      if (ctx.alive()) showError(error);
    });
  }
  return renderSearch(ctx);
}
