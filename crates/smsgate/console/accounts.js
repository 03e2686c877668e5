// Accounts: the list with a create form (#/accounts), and one account
// (#/accounts/{system_id}) with its settings, credits, enable/disable,
// API keys and trace switch.

import { get, post, patch, del, put, seg } from './api.js';
import {
  h, replace, pageHeader, card, table, badge, field, details, button, fmtTime, fmtNum, fmtAge, text, splitList,
  confirmDialog, secretDialog, showNotice, showError, act,
} from './ui.js';

const BIND_TYPES = [
  ['transmitter', 'TX'],
  ['receiver', 'RX'],
  ['transceiver', 'TRX'],
];

const enabledBadge = (account) => (account.enabled ? badge('enabled', 'ok', { testid: 'account-enabled' }) : badge('disabled', 'bad', { testid: 'account-enabled' }));

const numberOrNull = (input) => (input.value.trim() === '' ? null : Number(input.value));
const textOrNull = (input) => (input.value.trim() === '' ? null : input.value.trim());

/**
 * The fields an account is created or edited with. read() answers the JSON
 * body: for a new account only what was filled in, for an edit every field
 * (null removes an optional one) and the password only when typed.
 */
function accountForm(account) {
  const creating = !account;
  const inputs = {
    system_id: h('input', { name: 'system_id', required: true, maxlength: '64', autocomplete: 'off', testid: 'account-system-id' }),
    password: h('input', { name: 'password', type: 'password', required: creating, autocomplete: 'new-password', testid: 'account-password' }),
    credits: h('input', { name: 'credits', type: 'number', step: '1', value: '0', testid: 'account-credits' }),
    max_binds: h('input', { name: 'max_binds', type: 'number', min: '1', step: '1', value: String(account?.max_binds ?? '') }),
    tps: h('input', { name: 'tps', type: 'number', min: '1', step: '1', value: account?.tps == null ? '' : String(account.tps), placeholder: 'no limit' }),
    window: h('input', { name: 'window', type: 'number', min: '1', step: '1', value: String(account?.window ?? '') }),
    deliver_window: h('input', { name: 'deliver_window', type: 'number', min: '1', max: '1000', step: '1', value: String(account?.deliver_window ?? '') }),
    default_sender: h('input', { name: 'default_sender', value: account?.default_sender ?? '', placeholder: 'none' }),
    group: h('input', { name: 'group', value: account?.group ?? '', placeholder: 'none' }),
    callback_url: h('input', { name: 'callback_url', type: 'url', value: account?.callback_url ?? '', placeholder: 'none' }),
    allowed_ips: h('textarea', { name: 'allowed_ips', rows: '2', placeholder: 'any address' }, (account?.allowed_ips ?? []).join('\n')),
    allowed_senders: h('textarea', { name: 'allowed_senders', rows: '2', placeholder: 'any sender' }, (account?.allowed_senders ?? []).join('\n')),
    address_ranges: h('textarea', { name: 'address_ranges', rows: '2', placeholder: 'none' }, (account?.address_ranges ?? []).join('\n')),
  };
  // SMPP 3.4 carries at most 8 password characters and many clients cut
  // longer ones: such an account could never bind from them.
  const passwordWarning = h('p', { class: 'field-warning', testid: 'password-warning', hidden: true });
  inputs.password.addEventListener('input', () => {
    const length = [...inputs.password.value].length;
    passwordWarning.hidden = length <= 8;
    passwordWarning.textContent = `${length} characters: SMPP clients that cut passwords at 8 (smpplib, many carrier platforms) could never bind with it; the HTTP API takes it whole.`;
  });
  const current = new Set(account?.bind_types ?? BIND_TYPES.map(([name]) => name));
  const bindBoxes = BIND_TYPES.map(([name, short]) => {
    const box = h('input', { type: 'checkbox', name: 'bind_types', value: name, checked: current.has(name) });
    return { name, box, label: h('label', { class: 'check' }, box, ` ${short} (${name})`) };
  });
  if (creating) {
    for (const key of ['max_binds', 'window', 'deliver_window']) inputs[key].placeholder = 'default';
  }

  const elements = h(
    'div',
    { class: 'form-grid' },
    creating ? field('System id', inputs.system_id, 'The SMPP system_id and HTTP API login.') : null,
    field(creating ? 'Password' : 'New password', inputs.password, creating ? 'SMPP carries at most 8 characters.' : 'Leave empty to keep the current one. SMPP carries at most 8 characters.'),
    passwordWarning,
    creating ? field('Credits', inputs.credits) : null,
    field('Max binds', inputs.max_binds),
    field('Messages per second', inputs.tps, 'Empty for no limit.'),
    field('Window', inputs.window, 'Requests in flight per session.'),
    field('Deliver window', inputs.deliver_window, 'Receipts and MO a session may leave unanswered.'),
    field('Default sender', inputs.default_sender),
    field('Group', inputs.group),
    field('Callback URL', inputs.callback_url, 'Status events of HTTP API messages sent without their own callback_url.'),
    h('fieldset', { class: 'field field-wide' }, h('legend', { class: 'field-label' }, 'Bind types'), h('div', { class: 'checks' }, bindBoxes.map((b) => b.label))),
    field('Allowed IPs', inputs.allowed_ips, 'Addresses or CIDR ranges, one per line.'),
    field('Allowed senders', inputs.allowed_senders, 'Exact or with * and ?, one per line.'),
    field('Address ranges (MO)', inputs.address_ranges, 'Numbers, prefixes ending in *, or /regex/.'),
  );

  function read() {
    const body = {
      max_binds: numberOrNull(inputs.max_binds),
      tps: numberOrNull(inputs.tps),
      window: numberOrNull(inputs.window),
      deliver_window: numberOrNull(inputs.deliver_window),
      default_sender: textOrNull(inputs.default_sender),
      group: textOrNull(inputs.group),
      callback_url: textOrNull(inputs.callback_url),
      bind_types: bindBoxes.filter((b) => b.box.checked).map((b) => b.name),
      allowed_ips: splitList(inputs.allowed_ips.value),
      allowed_senders: splitList(inputs.allowed_senders.value),
      address_ranges: splitList(inputs.address_ranges.value),
    };
    if (inputs.password.value) body.password = inputs.password.value;
    if (!creating) return body;
    body.system_id = inputs.system_id.value.trim();
    body.credits = numberOrNull(inputs.credits) ?? 0;
    // Leave out what was not filled in, so the gateway's defaults apply.
    for (const key of Object.keys(body)) {
      const value = body[key];
      if (value === null || (Array.isArray(value) && value.length === 0)) delete body[key];
    }
    return body;
  }

  return { elements, read, inputs };
}

// ---- the list --------------------------------------------------------------

async function renderList(ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const createHost = h('div');
  const newButton = button('New account', () => toggleCreate(), { class: 'btn btn-primary', testid: 'account-new' });
  ctx.main.append(pageHeader('Accounts', newButton), createHost, list);

  function toggleCreate() {
    if (createHost.firstChild) {
      replace(createHost);
      return;
    }
    const form = accountForm(null);
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'account-create' }, 'Create account');
    const cancel = button('Cancel', () => replace(createHost));
    const element = h('form', { class: 'card', testid: 'account-create-form' }, h('h2', {}, 'New account'), form.elements, h('div', { class: 'form-actions' }, cancel, submit));
    element.addEventListener('submit', async (event) => {
      event.preventDefault();
      const created = await act(submit, () => post('/accounts', form.read()), 'Creating the account');
      if (created) {
        showNotice(`Account ${created.system_id} created.`);
        ctx.navigate(`#/accounts/${encodeURIComponent(created.system_id)}`);
      }
    });
    replace(createHost, element);
    form.inputs.system_id.focus();
  }

  const accounts = await get('/accounts');
  if (!ctx.alive()) return;
  replace(
    list,
    table(
      [
        { label: 'System id', cell: (a) => h('a', { href: `#/accounts/${encodeURIComponent(a.system_id)}` }, a.system_id) },
        { label: 'Status', cell: enabledBadge },
        { label: 'Credits', num: true, cell: (a) => fmtNum(a.credits) },
        { label: 'Sessions', num: true, cell: (a) => fmtNum(a.sessions ?? 0) },
        { label: 'Max binds', num: true, cell: (a) => fmtNum(a.max_binds) },
        { label: 'Msg/s', num: true, cell: (a) => (a.tps == null ? '∞' : fmtNum(a.tps)) },
        { label: 'Window', num: true, cell: (a) => fmtNum(a.window) },
        { label: 'Bind types', cell: (a) => (a.bind_types ?? []).map((t) => BIND_TYPES.find(([name]) => name === t)?.[1] ?? t).join(' ') },
        { label: 'Group', cell: (a) => text(a.group) },
        { label: 'Created', cell: (a) => fmtTime(a.created_at) },
      ],
      accounts,
      {
        testid: 'accounts-table',
        rowTestid: 'account-row',
        rowKey: (a) => a.system_id,
        onRowClick: (a) => ctx.navigate(`#/accounts/${encodeURIComponent(a.system_id)}`),
        empty: 'No accounts yet. Create one with "New account".',
      },
    ),
  );
}

// ---- one account -----------------------------------------------------------

function traceCard(kind, name, switches, reload) {
  const on = switches?.find((s) => s.kind === kind && s.name === name);
  const box = h('input', { type: 'checkbox', checked: Boolean(on), disabled: !switches, testid: 'trace-toggle', role: 'switch', 'aria-label': 'PDU trace' });
  box.addEventListener('change', async () => {
    const path = `/trace/${kind}/${seg(name)}`;
    await act(box, () => (box.checked ? put(path, { minutes: 30 }) : del(path)), 'Trace');
    await reload();
  });
  return card(
    'PDU trace',
    h('label', { class: 'switch' }, box, h('span', { class: 'switch-track' }), !switches ? ' unavailable' : on ? ` on until ${fmtTime(on.until)}` : ' off'),
    h('p', { class: 'hint' }, 'Writes hex dumps of every PDU of its sessions to the log for 30 minutes.'),
  );
}

async function renderAccount(ctx, systemId) {
  const path = `/accounts/${seg(systemId)}`;
  const head = h('div');
  const body = h('div', { class: 'account' }, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(h('p', { class: 'crumbs' }, h('a', { href: '#/accounts' }, '← Accounts')), head, body);

  async function load() {
    const [account, keys, switches] = await Promise.all([get(path), get(`${path}/api-keys`), get('/trace').catch(() => null)]);
    if (!ctx.alive()) return;
    draw(account, keys, switches);
  }

  function draw(account, keys, switches) {
    const toggle = button(account.enabled ? 'Disable' : 'Enable', async () => {
      const changed = await act(toggle, () => patch(path, { enabled: !account.enabled }), 'Changing the account');
      if (changed) {
        showNotice(`Account ${systemId} ${changed.enabled ? 'enabled' : 'disabled'}.`);
        await load();
      }
    }, { testid: 'account-toggle', class: account.enabled ? 'btn' : 'btn btn-primary' });
    const remove = button('Delete', async () => {
      const sure = await confirmDialog({
        title: `Delete account ${systemId}?`,
        message: 'Its API keys stop working and it can no longer bind. Its messages stay in the store.',
        confirmLabel: 'Delete',
        danger: true,
      });
      if (!sure) return;
      const done = await act(remove, async () => (await del(path), true), 'Deleting the account');
      if (done) {
        showNotice(`Account ${systemId} deleted.`);
        ctx.navigate('#/accounts');
      }
    }, { class: 'btn btn-danger', testid: 'account-delete' });
    replace(head, pageHeader(h('span', {}, account.system_id, ' ', enabledBadge(account)), toggle, remove));

    // Credits
    const delta = h('input', { type: 'number', step: '1', required: true, placeholder: '500 or -500', testid: 'credits-delta', 'aria-label': 'Credits to add' });
    const add = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add');
    const creditsForm = h('form', { class: 'inline-form' }, delta, add);
    creditsForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const answer = await act(add, () => post(`${path}/credits`, { delta: Number(delta.value) }), 'Credits');
      if (answer) {
        showNotice(`Credits of ${systemId}: ${fmtNum(answer.credits)}.`);
        await load();
      }
    });
    const credits = card('Credits', h('div', { class: 'big-number', testid: 'account-credits-value' }, fmtNum(account.credits)), creditsForm, h('p', { class: 'hint' }, 'A negative number takes credits away (never below zero).'));

    // Settings
    const form = accountForm(account);
    const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'account-save' }, 'Save');
    const settings = h('form', { class: 'card' }, h('h2', {}, 'Settings'), form.elements, h('div', { class: 'form-actions' }, save));
    settings.addEventListener('submit', async (event) => {
      event.preventDefault();
      const saved = await act(save, () => patch(path, form.read()), 'Saving');
      if (saved) {
        showNotice(`Account ${systemId} saved.`);
        await load();
      }
    });

    // API keys
    const label = h('input', { placeholder: 'label, e.g. "shop backend"', testid: 'api-key-label', 'aria-label': 'Key label' });
    const create = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'api-key-create' }, 'Create key');
    const keyForm = h('form', { class: 'inline-form' }, label, create);
    keyForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const created = await act(create, () => post(`${path}/api-keys`, label.value.trim() ? { label: label.value.trim() } : {}), 'Creating the key');
      if (!created) return;
      await secretDialog({
        title: 'New API key',
        message: 'This is the only time the key is shown. Give it to the customer now; the gateway keeps only a hash of it.',
        secret: created.key,
      });
      await load();
    });
    const keysTable = table(
      [
        { label: 'Id', cell: (k) => h('code', {}, k.id) },
        { label: 'Label', cell: (k) => text(k.label) },
        { label: 'Created', cell: (k) => fmtTime(k.created_at) },
        { label: 'Last used', cell: (k) => (k.last_used_at ? `${fmtAge(k.last_used_at)} ago` : 'never') },
        {
          label: '',
          class: 'row-actions',
          cell: (k) => {
            const revoke = h('button', { type: 'button', class: 'btn btn-small btn-danger' }, 'Revoke');
            revoke.addEventListener('click', async () => {
              const sure = await confirmDialog({ title: 'Revoke this key?', message: `Requests with key ${k.id} are refused from now on.`, confirmLabel: 'Revoke', danger: true });
              if (!sure) return;
              const done = await act(revoke, async () => (await del(`${path}/api-keys/${seg(k.id)}`), true), 'Revoking the key');
              if (done) await load();
            });
            return revoke;
          },
        },
      ],
      keys,
      { testid: 'api-keys-table', rowTestid: 'api-key-row', empty: 'No API keys.' },
    );

    replace(
      body,
      h(
        'div',
        { class: 'two-columns' },
        h(
          'div',
          { class: 'column' },
          credits,
          card('Account', details([
            ['Sessions bound', fmtNum(account.sessions ?? 0)],
            ['Created', fmtTime(account.created_at)],
            ['Group', text(account.group)],
          ])),
          traceCard('account', account.system_id, switches, load),
        ),
        h('div', { class: 'column column-wide' }, settings),
      ),
      card('API keys', keysTable, keyForm),
    );
  }

  try {
    await load();
  } catch (error) {
    if (error.status === 404) replace(body, card('Not found', h('p', {}, `There is no account ${systemId}.`)));
    else showError(error);
  }
}

export function render(ctx) {
  return ctx.params.length ? renderAccount(ctx, ctx.params[0]) : renderList(ctx);
}
