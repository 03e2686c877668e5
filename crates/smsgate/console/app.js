// The console's entry point: login, the shell (left navigation, top bar,
// banners) and hash routing (#/page/param?query) to the pages.

import { get, post, setCsrf, setUnauthorizedHandler } from './api.js';
import { h, replace, setBannerHost, showError, clearBanners, field } from './ui.js';
import * as dashboard from './dashboard.js';
import * as sessions from './sessions.js';
import * as accounts from './accounts.js';
import * as connectors from './connectors.js';
import * as routes from './routes.js';
import * as messages from './messages.js';
import * as queues from './queues.js';
import * as security from './security.js';

const PAGES = [
  { name: 'dashboard', label: 'Dashboard', page: dashboard },
  { name: 'sessions', label: 'Sessions', page: sessions },
  { name: 'accounts', label: 'Accounts', page: accounts },
  { name: 'connectors', label: 'Connectors', page: connectors },
  { name: 'routes', label: 'Routes', page: routes },
  { name: 'messages', label: 'Messages', page: messages },
  { name: 'queues', label: 'Queues', page: queues },
  { name: 'security', label: 'Blocked addresses', page: security },
];

const root = document.getElementById('app');

/** What the current page registered to undo when it is left. */
let cleanups = [];
/** Bumped on every navigation, so late answers do not draw on a new page. */
let generation = 0;
let shell = null;

function runCleanups() {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  cleanups = [];
}

/** '#/messages/ID?q=1' → {name: 'messages', params: ['ID'], query}. */
function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const mark = hash.indexOf('?');
  const path = mark < 0 ? hash : hash.slice(0, mark);
  const search = mark < 0 ? '' : hash.slice(mark + 1);
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const [name = '', ...params] = path.split('/').filter(Boolean).map(decode);
  return { name: name || 'dashboard', params, query: new URLSearchParams(search) };
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// ---- login -----------------------------------------------------------------

function showLogin(message, error) {
  runCleanups();
  generation += 1;
  dashboard.sampler.stop();
  setCsrf(null);
  shell = null;
  const banners = h('div', { class: 'banners' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, testid: 'login-username' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide', testid: 'login-submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'login card', testid: 'login-form' },
    h('div', { class: 'brand brand-login' }, h('span', { class: 'brand-mark' }, 'sms'), 'gate'),
    h('p', { class: 'muted' }, 'Operator console'),
    banners,
    field('User', username),
    field('Password', password),
    submit,
    h('p', { class: 'hint' }, 'First start? The password of the user admin is in the file admin-password in the data directory.'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const me = await post('/login', { username: username.value, password: password.value });
      password.value = '';
      startSession(me);
    } catch (failure) {
      // One message, replacing the last attempt's.
      clearBanners();
      showError(failure, 'Login failed');
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, h('div', { class: 'login-wrap' }, form));
  setBannerHost(banners);
  if (message) showError({ message });
  if (error) showError(error);
  username.focus();
}

async function logout() {
  try {
    await post('/logout');
  } catch (error) {
    console.warn('logout', error);
  }
  showLogin();
}

// ---- the shell -------------------------------------------------------------

function buildShell(user) {
  const links = PAGES.map((entry) =>
    h('a', { href: `#/${entry.name}`, class: 'nav-link', testid: `nav-${entry.name}`, dataset: { page: entry.name } }, entry.label),
  );
  const nodeInfo = h('div', { class: 'node-info', testid: 'node-info' });
  const banners = h('div', { class: 'banners', 'aria-live': 'polite' });
  const main = h('main', { class: 'main', testid: 'main' });
  const logoutButton = h('button', { type: 'button', class: 'btn btn-small', testid: 'logout' }, 'Log out');
  logoutButton.addEventListener('click', logout);
  replace(
    root,
    h(
      'div',
      { class: 'shell' },
      h(
        'aside',
        { class: 'sidebar' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, 'sms'), 'gate'),
        h('nav', { 'aria-label': 'Pages' }, links),
        nodeInfo,
      ),
      h(
        'div',
        { class: 'content' },
        h('div', { class: 'topbar' }, h('span', { class: 'muted' }, 'Signed in as '), h('strong', { testid: 'user' }, user), logoutButton),
        banners,
        main,
      ),
    ),
  );
  setBannerHost(banners);
  dashboard.sampler.onSample((overview) => {
    // `null`: the last poll failed (the node restarts, the network is down).
    if (!overview) {
      replace(nodeInfo, h('div', { class: 'status-bad' }, '● not answering'));
      return;
    }
    replace(
      nodeInfo,
      h('div', {}, overview.node),
      h('div', { class: 'muted' }, `v${overview.version}`),
      h('div', { class: overview.accepting ? 'status-ok' : 'status-bad' }, overview.accepting ? '● accepting' : '● not accepting'),
    );
  });
  return { links, main };
}

function startSession(me) {
  setCsrf(me.csrf);
  shell = buildShell(me.user);
  dashboard.sampler.start();
  if (!location.hash || location.hash === '#' || location.hash === '#/') navigate('#/dashboard');
  else render();
}

function render() {
  if (!shell) return;
  runCleanups();
  clearBanners();
  generation += 1;
  const mine = generation;
  const route = parseHash();
  const entry = PAGES.find((candidate) => candidate.name === route.name);
  for (const link of shell.links) link.classList.toggle('active', link.dataset.page === route.name);
  replace(shell.main);
  if (!entry) {
    shell.main.appendChild(h('div', { class: 'card' }, h('h1', {}, 'Not found'), h('p', {}, 'No such page. Pick one on the left.')));
    return;
  }
  document.title = `${entry.label} · smsgate`;
  const context = {
    main: shell.main,
    params: route.params,
    query: route.query,
    alive: () => mine === generation,
    navigate,
    onCleanup: (cleanup) => cleanups.push(cleanup),
    /** Calls fn every ms while this page is shown and the tab is visible. */
    every: (ms, fn) => {
      let failing = false;
      const timer = setInterval(() => {
        if (document.hidden || mine !== generation) return;
        Promise.resolve()
          .then(fn)
          .then(
            () => {
              failing = false;
            },
            (error) => {
              // One banner per outage, not one every few seconds.
              if (!failing && mine === generation) showError(error, 'Refreshing');
              failing = true;
            },
          );
      }, ms);
      cleanups.push(() => clearInterval(timer));
    },
  };
  Promise.resolve()
    .then(() => entry.page.render(context))
    .catch((error) => {
      if (context.alive()) showError(error);
    });
}

// ---- start -----------------------------------------------------------------

window.addEventListener('hashchange', render);
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError(event.reason ?? 'Something went wrong');
});

setUnauthorizedHandler(() => {
  if (shell) showLogin('Your session has ended. Log in again.');
});

get('/me').then(startSession, (error) => (error.status === 401 ? showLogin() : showLogin(null, error)));
