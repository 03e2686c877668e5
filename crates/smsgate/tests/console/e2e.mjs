// The web console end to end, in Debian's Chromium driven by Playwright.
// crates/smsgate/tests/console.rs starts a real node, binds an SMPP session,
// submits a message and runs this script; it can also be run by hand
// against any gateway:
//
//   SMSGATE_URL=http://127.0.0.1:8080 SMSGATE_USER=admin SMSGATE_PASSWORD=… \
//   SMSGATE_SYSTEM_ID=Test1 SMSGATE_DESTINATION=447911123456 node e2e.mjs
//
// It logs in, disconnects the session of SMSGATE_SYSTEM_ID on the sessions
// page, finds the message sent to SMSGATE_DESTINATION and opens its trace,
// gives the account 500 credits and a new API key, pauses and resumes the
// first connector, tests a route, lifts the block of 127.0.0.1 on the
// customer API (the test runner made it), and logs out. Run it against a test
// gateway, not a production one: it changes things. Exit status 0 when all of it
// worked; otherwise 1, with what failed on stderr and a screenshot in
// SMSGATE_SCREENSHOTS (default target/console-e2e). With
// SMSGATE_SCREENSHOTS_ALL=1 it also saves a screenshot of every page.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 20_000;
const TOTAL_TIMEOUT_MS = 150_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: set ${name}`);
    process.exit(2);
  }
  return value;
}

const base = required('SMSGATE_URL').replace(/\/$/, '');
const user = required('SMSGATE_USER');
const password = required('SMSGATE_PASSWORD');
const systemId = required('SMSGATE_SYSTEM_ID');
const destination = required('SMSGATE_DESTINATION');
const messageId = process.env.SMSGATE_MESSAGE_ID ?? null;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = path.resolve(process.env.SMSGATE_SCREENSHOTS ?? 'target/console-e2e');
const everyShot = process.env.SMSGATE_SCREENSHOTS_ALL === '1';

/** What the page threw or failed to load, to fail on at the end of each step. */
const pageErrors = [];
let step = 'start';

const log = (message) => console.log(`e2e: ${message}`);

async function snap(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Runs one named step; a failure names the step. */
async function run(page, name, body) {
  step = name;
  log(name);
  await body();
  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join(' | ')}`);
  const banners = await page.getByTestId('error-banner').allTextContents();
  if (banners.length) throw new Error(`error banner: ${banners.join(' | ')}`);
  if (everyShot) await snap(page, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
}

async function openPage(page, name) {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForURL((url) => url.hash === `#/${name}`);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-console-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 768 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    log(`browser console: ${message.text()}`);
    // Something the page needs was refused by its own policy.
    if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
  });
  try {
    await run(page, 'login', async () => {
      await page.goto(`${base}/`);
      await page.waitForURL((url) => url.pathname === '/console/');
      await page.getByTestId('login-form').waitFor();
      await page.getByTestId('login-username').fill(user);
      // Two wrong passwords: one message says so, the second replacing the first.
      for (let attempt = 1; attempt <= 2; attempt += 1) {
        await page.getByTestId('login-password').fill(`not-the-password-${attempt}`);
        await page.getByTestId('login-submit').click();
        await page.getByTestId('error-banner').filter({ hasText: 'wrong user name or password' }).waitFor();
        await page.getByTestId('login-submit').isEnabled();
      }
      await page.waitForFunction(() => !document.querySelector('[data-testid=login-submit]').disabled);
      const banners = await page.getByTestId('error-banner').count();
      if (banners !== 1) throw new Error(`${banners} error messages after two failed logins, expected one`);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('dashboard').waitFor();
      const shown = await page.getByTestId('user').textContent();
      if (shown !== user) throw new Error(`signed in as ${shown}, not ${user}`);
    });

    await run(page, 'dashboard', async () => {
      for (const chart of ['chart-traffic', 'chart-receipts', 'chart-errors', 'chart-queues']) {
        await page.getByTestId(chart).waitFor();
      }
      // Two samples make the first rate.
      await page.locator('[data-testid=chart-traffic] polyline, [data-testid=chart-traffic] circle').first().waitFor();
      const sessions = Number(await page.getByTestId('tile-sessions').locator('.tile-value').textContent());
      if (!(sessions >= 1)) throw new Error(`the dashboard shows ${sessions} SMPP sessions, expected the bound one`);
    });

    const session = page.getByTestId('session-row').filter({
      has: page.getByTestId('session-system-id').getByText(systemId, { exact: true }),
    });
    await run(page, 'sessions', async () => {
      await openPage(page, 'sessions');
      await session.waitFor();
      const row = await session.textContent();
      for (const expected of ['TRX', '127.0.0.1', 'IPv4']) {
        if (!row.includes(expected)) throw new Error(`the session row "${row}" does not show ${expected}`);
      }
    });

    await run(page, 'disconnect', async () => {
      await session.getByTestId('disconnect').click();
      const dialog = page.getByTestId('dialog');
      await dialog.waitFor();
      const question = await dialog.textContent();
      if (!question.includes(systemId)) throw new Error(`the confirm dialog does not name ${systemId}: ${question}`);
      await page.getByTestId('dialog-confirm').click();
      await page.getByTestId('notice-banner').waitFor();
      await session.waitFor({ state: 'detached' });
      log(`session of ${systemId} disconnected`);
    });

    const message = page.getByTestId('message-row');
    await run(page, 'messages', async () => {
      await openPage(page, 'messages');
      await page.getByTestId('message-q').fill(destination);
      await page.getByTestId('message-search').click();
      // The table of this search, not of the page's first (empty) one.
      await page.locator(`[data-testid=message-results][data-state=loaded][data-q=${JSON.stringify(destination)}]`).waitFor();
      const count = await message.count();
      if (count !== 1) throw new Error(`${count} messages to ${destination}, expected 1`);
      const shown = await message.getByTestId('message-destination').textContent();
      if (!shown.includes(destination)) throw new Error(`the row shows destination ${shown}`);
      if (messageId && (await message.getAttribute('data-key')) !== messageId) {
        throw new Error(`the row is message ${await message.getAttribute('data-key')}, not ${messageId}`);
      }
    });

    await run(page, 'message trace', async () => {
      await message.click();
      await page.getByTestId('timeline').waitFor();
      if (messageId) {
        const id = await page.getByTestId('message-id').textContent();
        if (id !== messageId) throw new Error(`the page shows message ${id}, not ${messageId}`);
      }
      await page.locator('[data-testid=trace-event][data-kind=accepted]').first().waitFor();
      const kinds = await page.getByTestId('trace-kind').allTextContents();
      log(`trace: ${kinds.join(' → ')}`);
      // A delivered message's receipt is not shown as a failure, and the
      // data coding is named.
      const failed = await page.locator('[data-testid=trace-event].receipt-failed').count();
      if (failed) throw new Error(`a DELIVRD receipt is drawn as failed`);
      await page.getByText('GSM 7-bit (SMSC default) (0)').first().waitFor();
    });

    await run(page, 'accounts', async () => {
      await openPage(page, 'accounts');
      const account = page.getByTestId('account-row').filter({ hasText: systemId });
      await account.first().waitFor();
      await account.first().click();
      const credits = page.getByTestId('account-credits-value');
      const before = Number((await credits.textContent()).replace(/,/g, ''));
      await page.getByTestId('credits-delta').fill('500');
      await page.getByTestId('credits-delta').press('Enter');
      await page.getByTestId('account-credits-value').getByText((before + 500).toLocaleString('en-US'), { exact: true }).waitFor();
      await page.getByTestId('api-key-label').fill('e2e');
      await page.getByTestId('api-key-create').click();
      const key = await page.getByTestId('secret-value').inputValue();
      if (key.length < 20) throw new Error(`the new API key "${key}" looks wrong`);
      await page.getByTestId('dialog-confirm').click();
      await page.getByTestId('api-key-row').filter({ hasText: 'e2e' }).waitFor();
    });

    await run(page, 'connectors', async () => {
      await openPage(page, 'connectors');
      const row = page.getByTestId('connector-row').first();
      await row.waitFor();
      await row.getByTestId('connector-pause').click();
      await row.getByTestId('connector-paused').waitFor();
      await row.getByTestId('connector-resume').click();
      await row.getByTestId('connector-pause').waitFor();
      // The toggle is disabled when the gateway has no trace switches to read.
      if (await row.getByTestId('trace-toggle').isEnabled()) {
        await row.locator('label.switch').click();
        await row.locator('label.switch[title^="on until"]').waitFor();
        await row.locator('label.switch').click();
        await row.locator('label.switch[title^="PDU hex dumps"]').waitFor();
      } else {
        log('the trace switches are unavailable (GET /admin/api/trace failed): toggle not tried');
      }
    });

    await run(page, 'routes', async () => {
      await openPage(page, 'routes');
      await page.getByTestId('routes-table').waitFor();
      await page.getByTestId('route-test-account').fill(systemId);
      await page.getByTestId('route-test-to').fill(`+${destination}`);
      await page.getByTestId('route-test-submit').click();
      await page.getByTestId('route-test-route').waitFor();
    });

    await run(page, 'queues', async () => {
      await openPage(page, 'queues');
      await page.getByTestId('outbox-table').waitFor();
    });

    await run(page, 'blocked addresses', async () => {
      // The test blocked 127.0.0.1 on the customer API (failed logins
      // there); this console, from the same address, is not blocked.
      await openPage(page, 'security');
      const block = page.getByTestId('block-row').filter({ hasText: 'Customer API' }).filter({ hasText: '127.0.0.1' });
      await block.waitFor();
      await block.getByTestId('unblock').click();
      await page.getByTestId('dialog-confirm').click();
      await block.waitFor({ state: 'detached' });
      await page.getByTestId('notice-banner').filter({ hasText: 'was lifted' }).waitFor();
    });

    await run(page, 'logout', async () => {
      await page.getByTestId('logout').click();
      await page.getByTestId('login-form').waitFor();
    });
    log('passed');
  } catch (error) {
    console.error(`e2e: step "${step}" failed: ${error.message}`);
    try {
      console.error(`e2e: screenshot: ${await snap(page, `failure-${step.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`)}`);
    } catch (shotError) {
      console.error(`e2e: no screenshot: ${shotError.message}`);
    }
    process.exitCode = 1;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error(`e2e: gave up after ${TOTAL_TIMEOUT_MS / 1000} s in step "${step}"`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

main().catch((error) => {
  console.error(`e2e: ${error.stack ?? error}`);
  process.exitCode = 1;
});
