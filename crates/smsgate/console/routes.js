// Routes: the routing table in evaluation order, and "which route would
// this message take" (POST /admin/api/routes/test).

import { get, post } from './api.js';
import { h, replace, pageHeader, card, table, badge, field, details, text, act } from './ui.js';

function connectorsCell(route) {
  const weights = route.weights ? ` (weights ${route.weights.join(':')})` : '';
  return h('span', {}, (route.connectors ?? []).join(', '), h('span', { class: 'muted' }, ` · ${route.strategy ?? ''}${weights}`));
}

function list(items) {
  return h('ul', { class: 'plain-list' }, items.map((item) => h('li', {}, item)));
}

/** A connector of the test answer, with its status from `connector_status`. */
function connectorLine(name, statuses) {
  const status = statuses.find((candidate) => candidate.name === name);
  if (!status) return h('strong', {}, name);
  const health = status.health ?? {};
  const up = (health.configured ?? 0) === 0 || (health.bound ?? 0) > 0;
  return h(
    'span',
    {},
    h('strong', {}, name),
    ' ',
    status.paused ? badge('paused', 'warn') : up ? badge('up', 'ok') : badge('down', 'bad'),
    health.last_error ? h('span', { class: 'muted' }, ` last error: ${health.last_error}`) : null,
  );
}

function testResult(answer) {
  const connectors = answer.connectors ?? [];
  const statuses = answer.connector_status ?? [];
  const explanation = answer.explanation ?? [];
  return card(
    'Result',
    details([
      ['Destination', h('span', {}, `+${answer.destination ?? ''} `, answer.destination_valid ? badge('valid number', 'ok') : badge('not a valid number', 'warn'))],
      ['Route', answer.route ? h('strong', { testid: 'route-test-route' }, answer.route) : badge('no route: the message would fail', 'bad', { testid: 'route-test-route' })],
      ['Strategy', text(answer.strategy)],
      ['Connectors, in order', connectors.length ? h('ol', { class: 'plain-list numbered' }, connectors.map((name) => h('li', {}, connectorLine(name, statuses)))) : '—'],
      answer.actions ? ['Changes', text(Object.entries(answer.actions).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none')] : null,
    ]),
    explanation.length ? [h('h3', {}, 'Why'), h('pre', { class: 'explanation', testid: 'route-test-explanation' }, explanation.join('\n'))] : null,
  );
}

export async function render(ctx) {
  const routesHost = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const resultHost = h('div', { testid: 'route-test-result' });
  const inputs = {
    account: h('input', { name: 'account', required: true, testid: 'route-test-account' }),
    to: h('input', { name: 'to', required: true, placeholder: '+447911123456', testid: 'route-test-to' }),
    from: h('input', { name: 'from', placeholder: 'optional' }),
    text: h('input', { name: 'text', placeholder: 'optional' }),
  };
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'route-test-submit' }, 'Find the route');
  const form = h(
    'form',
    { class: 'card', testid: 'route-test-form' },
    h('h2', {}, 'Which route would this take?'),
    h('div', { class: 'form-row' }, field('Account', inputs.account), field('To', inputs.to), field('From', inputs.from), field('Text', inputs.text), h('div', { class: 'field field-button' }, submit)),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { account: inputs.account.value.trim(), to: inputs.to.value.trim() };
    if (inputs.from.value.trim()) body.from = inputs.from.value.trim();
    if (inputs.text.value) body.text = inputs.text.value;
    const answer = await act(submit, () => post('/routes/test', body), 'Route test');
    if (answer && ctx.alive()) replace(resultHost, testResult(answer));
  });
  ctx.main.append(pageHeader('Routes'), form, resultHost, h('h2', { class: 'section-title' }, 'Routes in evaluation order'), routesHost);

  const routes = await get('/routes');
  if (!ctx.alive()) return;
  replace(
    routesHost,
    table(
      [
        { label: '#', num: true, cell: (r) => String(routes.indexOf(r) + 1) },
        { label: 'Name', cell: (r) => h('strong', {}, r.name) },
        { label: 'Order', num: true, cell: (r) => text(r.order) },
        { label: 'Filters', class: 'wrap', cell: (r) => (r.filters?.length ? list(r.filters) : h('span', { class: 'muted' }, 'none (default route)')) },
        { label: 'Connectors', cell: connectorsCell },
        { label: 'Price tables', class: 'wrap', cell: (r) => (r.price_tables?.length ? list(r.price_tables) : '—') },
        { label: 'Actions', class: 'wrap', cell: (r) => text(r.actions) },
      ],
      routes,
      { testid: 'routes-table', rowTestid: 'route-row', rowKey: (r) => r.name, empty: 'No routes: every message would fail with "no route".' },
    ),
  );
}
