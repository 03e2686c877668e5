// DOM building blocks for the pages. Everything the server sends is put in
// the page as text (textContent, attribute values), never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';
const BOOLEAN_PROPS = new Set(['disabled', 'checked', 'required', 'selected', 'readOnly', 'multiple', 'hidden']);
const VALUE_PROPS = new Set(['value', 'type', 'name', 'placeholder', 'autocomplete', 'min', 'max', 'step']);

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

function applyAttrs(element, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') element.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'testid') element.dataset.testid = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (BOOLEAN_PROPS.has(key)) element[key] = Boolean(value);
    else if (VALUE_PROPS.has(key) && !(element instanceof SVGElement)) element[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
}

/** An HTML element: h('td', {class: 'num'}, text, otherNode, ...). */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  applyAttrs(element, attrs);
  append(element, children);
  return element;
}

/** An SVG element, like h. */
export function svg(tag, attrs, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  applyAttrs(element, attrs);
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

// ---- formatting ------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** An RFC 3339 time in the browser's local time zone, to the second. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A duration in seconds as "3d 4h", "5h 12m", "12m 3s" or "42s". */
export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d ${hours}h`;
  if (hours) return `${hours}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** How long ago an RFC 3339 time was. */
export function fmtAge(iso) {
  if (!iso) return '—';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return '—';
  return fmtDuration((Date.now() - then) / 1000);
}

const numberFormat = new Intl.NumberFormat('en-US');
export function fmtNum(value) {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  return Number.isFinite(n) ? numberFormat.format(n) : String(value);
}

export function fmtRate(value) {
  if (!Number.isFinite(value)) return '—';
  if (Number.isInteger(value)) return numberFormat.format(value);
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** A value that may be missing, as text. */
export const text = (value) => (value === null || value === undefined || value === '' ? '—' : String(value));

/** A datetime-local input's value as an RFC 3339 UTC time ('' stays ''). */
export function localToIso(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An RFC 3339 time as a datetime-local input's value. */
export function isoToLocal(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A comma or newline separated list as an array of trimmed, non-empty items. */
export const splitList = (value) => String(value ?? '').split(/[\n,]/).map((item) => item.trim()).filter(Boolean);

// ---- small components ------------------------------------------------------

/** A coloured label: kind is one of ok, warn, bad, info, muted. */
export const badge = (label, kind = 'muted', attrs = {}) => h('span', { class: `badge badge-${kind}`, ...attrs }, label);

const STATE_KINDS = {
  delivered: 'ok',
  submitted: 'info',
  accepted: 'muted',
  queued: 'muted',
  undeliverable: 'bad',
  expired: 'warn',
  rejected: 'bad',
  deleted: 'warn',
  unknown: 'warn',
  failed: 'bad',
};
export const stateBadge = (state) => badge(text(state), STATE_KINDS[state] ?? 'muted', { testid: 'state' });

export const yesNo = (value) => (value ? badge('yes', 'ok') : badge('no', 'muted'));

/** A page header with a title and optional actions on the right. */
export function pageHeader(title, ...actions) {
  return h('header', { class: 'page-header' }, h('h1', {}, title), h('div', { class: 'actions' }, actions));
}

/** A white panel with an optional title. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, children);
}

export function button(label, onclick, attrs = {}) {
  return h('button', { type: 'button', class: 'btn', onclick, ...attrs }, label);
}

/**
 * A table. columns: [{label, cell: (row) => node|string, num?: true}];
 * options: {testid, rowTestid, rowKey: (row) => string, onRowClick, empty}.
 */
export function table(columns, rows, options = {}) {
  const head = h('thead', {}, h('tr', {}, columns.map((column) => h('th', { class: column.num ? 'num' : null, scope: 'col' }, column.label))));
  const body = h('tbody');
  if (!rows.length) {
    body.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: String(columns.length) }, options.empty ?? 'Nothing here.')));
  }
  for (const row of rows) {
    const tr = h('tr', {
      testid: options.rowTestid,
      dataset: options.rowKey ? { key: options.rowKey(row) } : undefined,
      class: options.onRowClick ? 'clickable' : null,
    });
    if (options.onRowClick) {
      tr.tabIndex = 0;
      tr.addEventListener('click', (event) => {
        if (event.target.closest('button, a, input, label')) return;
        options.onRowClick(row);
      });
      tr.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && event.target === tr) options.onRowClick(row);
      });
    }
    for (const column of columns) {
      tr.appendChild(h('td', { class: column.num ? 'num' : column.class ?? null }, column.cell(row)));
    }
    body.appendChild(tr);
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: options.testid }, head, body));
}

/** A labelled form field around an input. */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('span', { class: 'field-hint' }, hint) : null);
}

/** A definition list from [label, value] pairs. */
export function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

// ---- banners and dialogs ---------------------------------------------------

let bannerHost = null;

/** Where banners go (the shell's top of the content area). */
export function setBannerHost(element) {
  bannerHost = element;
}

function banner(kind, message, testid) {
  if (!bannerHost) return;
  const close = h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss' }, '×');
  const element = h('div', { class: `banner banner-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid }, h('span', {}, message), close);
  close.addEventListener('click', () => element.remove());
  bannerHost.appendChild(element);
  if (kind !== 'error') setTimeout(() => element.remove(), 6000);
}

/** Shows what went wrong: an ApiError's detail, or any error's message. */
export function showError(error, context) {
  const message = error?.detail ?? error?.message ?? String(error);
  const prefix = context ? `${context}: ` : '';
  const code = error?.status ? ` (${error.status}${error.code ? ` ${error.code}` : ''})` : '';
  banner('error', `${prefix}${message}${code}`, 'error-banner');
}

export function showNotice(message) {
  banner('ok', message, 'notice-banner');
}

export function clearBanners() {
  bannerHost?.replaceChildren();
}

function openDialog(content, onClose) {
  const dialog = h('dialog', { class: 'dialog', testid: 'dialog' }, content);
  dialog.addEventListener('close', () => {
    onClose(dialog.returnValue);
    dialog.remove();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return dialog;
}

/** Asks before doing something that cannot be undone; answers true or false. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', {}, title),
      h('p', {}, message),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'btn', testid: 'dialog-cancel' }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', class: danger ? 'btn btn-danger' : 'btn btn-primary', testid: 'dialog-confirm' }, confirmLabel),
      ),
    );
    openDialog(form, (value) => resolve(value === 'confirm'));
  });
}

/** Shows a secret once (an API key), with a copy button. */
export function secretDialog({ title, message, secret }) {
  return new Promise((resolve) => {
    const value = h('input', { type: 'text', class: 'secret', readOnly: true, value: secret, testid: 'secret-value', 'aria-label': 'Secret' });
    const copy = h('button', { type: 'button', class: 'btn' }, 'Copy');
    copy.addEventListener('click', () => {
      value.select();
      navigator.clipboard?.writeText(secret).then(
        () => (copy.textContent = 'Copied'),
        () => (copy.textContent = 'Select and copy'),
      );
    });
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', {}, title),
      h('p', {}, message),
      h('div', { class: 'secret-row' }, value, copy),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', value: 'ok', class: 'btn btn-primary', testid: 'dialog-confirm' }, 'I have saved it')),
    );
    openDialog(form, () => resolve());
  });
}

/**
 * Runs an action from a button: disables it while running and shows its
 * error in a banner. Answers the action's result, or undefined on error.
 */
export async function act(buttonElement, action, context) {
  if (buttonElement) buttonElement.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error, context);
    return undefined;
  } finally {
    if (buttonElement) buttonElement.disabled = false;
  }
}
