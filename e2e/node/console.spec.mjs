// Drives moat's web console (/console/) in Debian's Chromium with
// playwright-core, against a real `moat serve` that ../console_test.go
// started and seeded. Every step waits for what the page shows (no sleeps);
// a failed step throws, which exits 1 with the step's name. Screenshots go
// to CONSOLE_ARTIFACTS.
//
// Environment:
//   MOAT_ENDPOINT          http://127.0.0.1:PORT
//   CONSOLE_ACCOUNT        the account the instances belong to
//   CONSOLE_KEY_ID, CONSOLE_KEY_SECRET   its AccessKey pair
//   MOAT_ADMIN_TOKEN       the admin token
//   CONSOLE_EDGE           an instance in service for 48 h, tagged env=prod
//   CONSOLE_OLD1, CONSOLE_OLD2           two instances expired an hour ago
//   CONSOLE_HOOK_URL       a webhook receiver the Go test runs
//   CONSOLE_ARTIFACTS      the directory for screenshots
//   CHROMIUM               the browser (default /usr/bin/chromium)
//
// It prints one JSON line: what the Go test checks against the server.

import { chromium } from 'playwright-core';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env('MOAT_ENDPOINT') + '/console/';
const account = env('CONSOLE_ACCOUNT');
const keyId = env('CONSOLE_KEY_ID');
const keySecret = env('CONSOLE_KEY_SECRET');
const adminToken = env('MOAT_ADMIN_TOKEN');
const edge = env('CONSOLE_EDGE');
const old1 = env('CONSOLE_OLD1');
const old2 = env('CONSOLE_OLD2');
const hookUrl = env('CONSOLE_HOOK_URL');
const artifacts = env('CONSOLE_ARTIFACTS');
const TIMEOUT = 20000;

let step = 'start';
const out = { screenshots: [] };

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function shot(page, name) {
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  out.screenshots.push(file);
}

// signIn fills the sign-in form and submits it with the keyboard.
async function signIn(page, id, secret, token) {
  await page.goto(base);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('AccessKeyId', { exact: true }).fill(id);
  await page.getByLabel('AccessKeySecret').fill(secret);
  if (token) await page.getByLabel(/^Admin token/).fill(token);
  await page.getByLabel('AccessKeySecret').press('Enter');
  await page.getByRole('heading', { name: 'Instances' }).waitFor();
  await page.locator('#count').waitFor();
}

function row(page, id) {
  return page.locator(`tr[data-instance="${id}"]`);
}

async function filterRemark(page, text) {
  await page.getByLabel('Remark contains').fill(text);
  await page.getByRole('button', { name: 'Apply filters' }).click();
}

async function waitState(page, id, re) {
  await row(page, id).locator('td.state', { hasText: re }).waitFor();
}

// moveClock advances the server clock on the admin page, then returns to
// the list filtered to the edge instance.
async function moveClock(page, by) {
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('heading', { name: 'Server clock' }).waitFor();
  const before = await page.locator('#clock-now').textContent();
  const form = page.getByRole('form', { name: 'Move the clock' });
  await form.getByLabel(/^Advance by/).fill(by);
  await form.getByRole('button', { name: 'Move clock' }).click();
  await page.waitForFunction((b) => {
    const t = document.querySelector('#clock-now').textContent;
    return t && t !== b;
  }, before, { timeout: TIMEOUT });
  await page.getByRole('link', { name: 'Instances' }).click();
  await page.getByRole('heading', { name: 'Instances' }).waitFor();
}

// openWebhooks shows the account's webhooks page from the main menu.
async function openWebhooks(page) {
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
  const pick = page.getByRole('form', { name: 'Account' });
  await pick.getByLabel('AccountId').fill(account);
  await pick.getByLabel('AccountId').press('Enter');
  await page.getByRole('heading', { name: new RegExp(`^Webhooks of ${account} \\(\\d+\\)$`) }).waitFor();
}

// createWebhook fills the creation form, ticking the event boxes with the
// keyboard, and returns the new webhook's ID from the notice.
async function createWebhook(page, url, events) {
  const form = page.getByRole('form', { name: 'Create a webhook' });
  await form.getByLabel(/^Url/).fill(url);
  await form.getByLabel(/^Secret/).fill('console-hook-secret');
  for (const e of events) {
    await form.getByLabel(e, { exact: true }).focus();
    await page.keyboard.press('Space');
  }
  await form.getByRole('button', { name: 'Create webhook' }).click();
  const note = page.getByText(/^Webhook wh-[a-z0-9]+ created\.$/);
  await note.waitFor();
  return (await note.textContent()).split(' ')[1];
}

async function run(browser) {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await desktop.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  step = 'sign in';
  await signIn(page, keyId, keySecret, adminToken);
  await page.locator('#count', { hasText: /^14 instances$/ }).waitFor();
  check(await page.locator('#who').textContent() === `Signed in: ${keyId} · cn-hangzhou · admin`, 'the header names the signed-in key');

  step = 'paging';
  await page.getByText('Page 1 of 2').waitFor();
  check(await page.locator('tbody tr').count() === 10, 'page 1 shows 10 rows');
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Page 2 of 2').waitFor();
  check(await page.locator('tbody tr').count() === 4, 'page 2 shows 4 rows');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.getByText('Page 1 of 2').waitFor();
  await shot(page, 'instances-desktop.png');

  step = 'filter by tag';
  await page.getByLabel('Tag key').fill('env');
  await page.getByLabel('Tag value').fill('prod');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#count', { hasText: /^1 instance$/ }).waitFor();
  await row(page, edge).locator('.tag', { hasText: 'env=prod' }).waitFor();
  await waitState(page, edge, /^in service until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.locator('#count', { hasText: /^14 instances$/ }).waitFor();

  step = 'filter by status';
  await page.getByLabel('Status').selectOption('2');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#count', { hasText: /^2 instances$/ }).waitFor();
  await waitState(page, old1, /^expired: mitigation off; forwarding stops in 6 d 2[23] h$/);
  await page.getByLabel('Status').selectOption('');

  step = 'rename';
  await filterRemark(page, 'edge');
  await page.locator('#count', { hasText: /^1 instance$/ }).waitFor();
  check(await row(page, edge).getByRole('button', { name: `Release ${edge}` }).count() === 0, 'no release button while in service');
  await page.getByRole('button', { name: `Rename ${edge}` }).click();
  const rename = page.getByRole('dialog', { name: `Rename ${edge}` });
  await rename.getByLabel('Remark').fill('edge renamed in the console');
  await rename.getByRole('button', { name: 'Save' }).click();
  await rename.waitFor({ state: 'detached' });
  await row(page, edge).locator('td.remark', { hasText: /^edge renamed in the console$/ }).waitFor();
  await page.getByText(`Remark of ${edge} saved.`).waitFor();

  step = 'webhooks';
  await openWebhooks(page);
  await page.getByText('No webhooks.').waitFor();
  const hook = await createWebhook(page, hookUrl, ['expiring']);
  const hookRow = page.locator(`tr[data-webhook="${hook}"]`);
  await hookRow.locator('td', { hasText: /^expiring$/ }).waitFor();
  const extra = await createWebhook(page, hookUrl + '/unused', ['All events (*)']);
  await page.locator(`tr[data-webhook="${extra}"]`).locator('td', { hasText: /^all \(\*\)$/ }).waitFor();
  await page.getByRole('heading', { name: `Webhooks of ${account} (2)` }).waitFor();
  await shot(page, 'webhooks-desktop.png');
  await page.getByRole('button', { name: `Delete ${extra}` }).click();
  const del = page.getByRole('dialog', { name: `Delete ${extra}` });
  await del.getByRole('button', { name: 'Delete' }).click();
  await del.waitFor({ state: 'detached' });
  await page.getByText(`Webhook ${extra} deleted.`).waitFor();
  await page.getByRole('heading', { name: `Webhooks of ${account} (1)` }).waitFor();
  out.webhookId = hook;
  out.deletedWebhookId = extra;
  await page.getByRole('link', { name: 'Instances' }).click();
  await page.getByRole('heading', { name: 'Instances' }).waitFor();

  step = 'expired';
  await moveClock(page, '49h');
  await filterRemark(page, 'edge renamed');
  await waitState(page, edge, /^expired: mitigation off; forwarding stops in 6 d 2[23] h$/);
  await row(page, edge).getByRole('button', { name: `Release ${edge}` }).waitFor();

  step = 'expiring notice in the delivery log';
  // The clock move passed the edge instance's 1-day notice: the page's
  // log shows it delivered once the receiver has acknowledged it (each
  // look reloads the log).
  await openWebhooks(page);
  await page.getByRole('link', { name: `Delivery log of ${hook}` }).click();
  await page.getByRole('heading', { name: `Delivery log of ${hook}` }).waitFor();
  const delivered = page.locator('tr[data-type="expiring"][data-status="delivered"]');
  for (const deadline = Date.now() + TIMEOUT; await delivered.count() === 0;) {
    check(Date.now() < deadline, 'the expiring notice shows as delivered');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#view:not([aria-busy])').waitFor();
  }
  check(await page.locator('tbody tr').count() === 1, 'the log holds one delivery');
  await delivered.locator('td', { hasText: /^1$/ }).first().waitFor(); // attempts
  await delivered.locator('td', { hasText: /^204$/ }).waitFor(); // the receiver answers 204
  out.deliveredEventId = await delivered.getAttribute('data-event');
  await shot(page, 'deliveries-desktop.png');
  await page.getByRole('link', { name: 'Instances' }).click();
  await page.getByRole('heading', { name: 'Instances' }).waitFor();
  await filterRemark(page, 'edge renamed');
  await waitState(page, edge, /^expired: /);

  step = 'instance page';
  await row(page, edge).getByRole('link', { name: edge }).click();
  await page.getByRole('heading', { name: edge }).waitFor();
  await page.locator('#instance-state', { hasText: /^expired: mitigation off/ }).waitFor();
  await page.locator('ol.timeline li[data-type="expired"]').waitFor();
  const rules = page.getByRole('form', { name: 'Add a port rule' });
  await rules.getByLabel('Port', { exact: true }).fill('8080');
  await rules.getByLabel('Origin port').fill('80');
  await rules.getByLabel(/^Origins/).fill('203.0.113.10, 203.0.113.11');
  await rules.getByRole('button', { name: 'Add rule' }).click();
  await page.getByRole('button', { name: 'Delete rule tcp 8080' }).waitFor();
  await page.getByRole('heading', { name: 'Port rules (1)' }).waitFor();
  await page.getByRole('heading', { name: 'Websites (0)' }).waitFor();
  await page.getByText('No traffic recorded in this span.').waitFor();
  await shot(page, 'instance-desktop.png');

  step = 'forwarding stopped';
  await moveClock(page, '168h');
  await filterRemark(page, 'edge renamed');
  await waitState(page, edge, /^forwarding stopped$/);

  step = 'renew';
  await page.getByRole('button', { name: `Renew ${edge}` }).click();
  const renew = page.getByRole('dialog', { name: `Renew ${edge}` });
  await renew.getByLabel('Months').selectOption('1');
  await renew.getByRole('button', { name: 'Renew' }).click();
  await renew.waitFor({ state: 'detached' });
  await waitState(page, edge, /^in service until /);
  await page.getByText(new RegExp(`^${edge} renewed \\(order .+\\)\\.$`)).waitFor();

  step = 'release';
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Instance ID').fill(old1);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitState(page, old1, /^forwarding stopped$/);
  await row(page, old1).getByRole('button', { name: `Release ${old1}` }).click();
  const release = page.getByRole('dialog', { name: `Release ${old1}` });
  await release.getByText(/^No traffic went through this instance in the last hour/).waitFor();
  const go = release.getByRole('button', { name: 'Release' });
  check(await go.isDisabled(), 'Release is disabled until the user confirms');
  await shot(page, 'release-desktop.png');
  await release.getByLabel(/^Traffic is back on the origin/).check();
  check(await go.isEnabled(), 'Release is enabled once confirmed');
  await go.click();
  await release.waitFor({ state: 'detached' });
  await page.locator('#instance-state', { hasText: /^released$/ }).waitFor();
  await page.getByText(`${old1} released.`).waitFor();
  await page.locator('ol.timeline li[data-type="released"]').waitFor();

  step = 'RAM user created on the admin page';
  await page.getByRole('link', { name: 'Admin' }).click();
  const user = page.getByRole('form', { name: 'Create RAM user' });
  await user.getByLabel('AccountId').fill(account);
  await user.getByLabel('UserName').fill('reader');
  await user.getByRole('button', { name: 'Create user' }).click();
  await user.locator('pre.result', { hasText: '"UserName": "reader"' }).waitFor();
  const keyForm = page.getByRole('form', { name: 'Create user AccessKey' });
  await keyForm.getByLabel('AccountId').fill(account);
  await keyForm.getByLabel('UserName').fill('reader');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  await keyForm.locator('pre.result', { hasText: 'AccessKeySecret' }).waitFor();
  const readerKey = JSON.parse(await keyForm.locator('pre.result').textContent());
  const policy = page.getByRole('form', { name: 'Attach policy' });
  await policy.getByLabel('AccountId').fill(account);
  await policy.getByLabel('UserName').fill('reader');
  await policy.getByLabel('PolicyName').fill('read-only');
  await policy.getByRole('button', { name: 'Attach policy' }).click();
  await policy.locator('pre.result', { hasText: '"PolicyName": "read-only"' }).waitFor();
  out.readerKeyId = readerKey.AccessKeyId;

  step = 'audit log';
  const audit = page.getByRole('form', { name: 'Audit log' });
  await audit.getByLabel(/^Action/).fill('ReleaseInstance');
  await audit.getByLabel('InstanceId').fill(old1);
  await audit.getByRole('button', { name: 'Show audit log' }).click();
  await audit.getByRole('table', { name: 'Audit records' }).locator('td', { hasText: /^ddoscoo:ReleaseInstance$/ }).first().waitFor();

  step = 'sign out';
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  check(await page.getByLabel('AccessKeySecret').inputValue() === '', 'the secret field is empty after sign-out');

  step = 'read-only RAM user';
  await signIn(page, readerKey.AccessKeyId, readerKey.AccessKeySecret, '');
  await page.getByLabel('Instance ID').fill(old2);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await waitState(page, old2, /^forwarding stopped$/);
  check(await row(page, old2).getByRole('button', { name: `Rename ${old2}` }).count() === 1, 'the reader sees the row actions');
  check(await row(page, old2).getByRole('button', { name: `Release ${old2}` }).count() === 0, 'the reader sees no release button');
  await page.goto(base + '#/release/' + old2);
  const forced = page.getByRole('dialog', { name: `Release ${old2}` });
  await forced.getByLabel(/^Traffic is back on the origin/).check();
  await forced.getByRole('button', { name: 'Release' }).click();
  await forced.locator('.error', { hasText: /^Forbidden\.RAM: .+/ }).waitFor();
  out.forbiddenText = await forced.locator('.error').textContent();
  await shot(page, 'forbidden-desktop.png');
  await forced.getByRole('button', { name: 'Cancel' }).click();
  await forced.waitFor({ state: 'detached' });
  await page.locator('#instance-state', { hasText: /^forwarding stopped$/ }).waitFor();
  check(await page.getByRole('button', { name: `Release ${old2}` }).count() === 0, 'no release button on the reader\'s instance page');
  await desktop.close();

  step = 'phone width';
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  p2.setDefaultTimeout(TIMEOUT);
  p2.on('pageerror', (e) => pageErrors.push(String(e)));
  await signIn(p2, keyId, keySecret, adminToken);
  await p2.locator('#count', { hasText: /^13 instances$/ }).waitFor();
  const width = await p2.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the list fits the phone width (scrollWidth ${width})`);
  await shot(p2, 'instances-phone.png');
  await p2.getByLabel('Instance ID').fill(edge);
  await p2.getByRole('button', { name: 'Apply filters' }).click();
  await p2.locator(`tr[data-instance="${edge}"]`).getByRole('link', { name: edge }).click();
  await p2.getByRole('heading', { name: 'Port rules (1)' }).waitFor();
  await shot(p2, 'instance-phone.png');
  await openWebhooks(p2);
  await p2.getByRole('link', { name: `Delivery log of ${out.webhookId}` }).click();
  await p2.locator('tr[data-type="expiring"]').waitFor();
  const hookWidth = await p2.evaluate(() => document.documentElement.scrollWidth);
  check(hookWidth <= 390, `the delivery log fits the phone width (scrollWidth ${hookWidth})`);
  await shot(p2, 'deliveries-phone.png');
  await phone.close();

  check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking'],
});
try {
  await run(browser);
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (err) {
  process.stderr.write(`console.spec.mjs: step "${step}": ${err.stack || err}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
