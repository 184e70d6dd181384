// E2E: a merchandiser follows the demo's deposit order (SO-2026-0904, its PO blocked until
// finance confirms the deposit) in the office pages: the release is refused with the
// server's message, the merchandiser may not confirm the deposit, finance confirms it, the
// PO is released, a sample round recorded and
// a milestone's actual date set; the order's timeline shows each. Then the tracking sheet
// downloads and uploads back with no errors.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { OUT, apiLogin, appLogin, eventually, launchBrowser, newTablet, startServer } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('office-flow');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const ORDER_NO = 'SO-2026-0904';

async function timeline(token) {
  const r = await fetch(`${server.base}/api/v1/orders/${ORDER_NO}/timeline`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return r.json();
}

/** Opens a record's office view, picks an action and returns its form. */
async function openAction(page, id, action) {
  await page.goto(`${server.base}/#/o/${encodeURIComponent(id)}`);
  await page.getByTestId('office-record').waitFor();
  await page.getByTestId(`act-${action}`).click();
  const form = page.locator(`[data-testid=action-form][data-action=${action}]`);
  await form.waitFor();
  return form;
}

/** Submits `form` and waits for the success toast; returns the toasts' text. */
async function submitOk(page, form) {
  const before = await page.getByTestId('toast-info').count();
  const errors = await page.getByTestId('toast-error').allInnerTexts();
  await form.getByTestId('action-submit').click();
  await eventually(async () => (await page.getByTestId('toast-info').count()) > before, 10_000, 'the done toast');
  assert.deepEqual(await page.getByTestId('toast-error').allInnerTexts(), errors, 'no new error toast');
}

test('a merchandiser follows the deposit order through its stages and round-trips the sheet', async () => {
  const { token } = await apiLogin(server.base, 'merch');
  const start = await timeline(token);
  const idOf = (type) => start.records.find((r) => r.record_type === type)?.id;
  const [orderId, commercialId, poId] = [idOf('order'), idOf('order_commercial'), idOf('purchase_order')];
  assert.ok(orderId && commercialId && poId, JSON.stringify(start.records));
  assert.equal(start.gates[0].gate.state, 'blocked', 'the demo PO waits for the deposit');

  const { page } = await newTablet(browser);
  await appLogin(page, server.base, 'merch');
  await page.getByTestId('dashboard').waitFor();

  // Releasing before the deposit is refused, and the server's reason is shown.
  let form = await openAction(page, poId, 'release');
  await form.getByTestId('action-submit').click();
  const refusal = page.getByTestId('toast-error').last();
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /deposit/);

  // Only finance confirms the deposit: the merchandiser is not offered the form but told
  // who confirms it (by their job titles, GET /api/v1/me) ...
  const fillDeposit = async (form) => {
    await form.locator('input[name=amount]').fill('1500');
    await form.locator('input[name=currency]').fill('USD');
    await form.locator('input[name=at]').fill('2026-11-20');
  };
  await page.goto(`${server.base}/#/o/${encodeURIComponent(commercialId)}`);
  await page.getByTestId('office-record').waitFor();
  await page.getByTestId('act-confirm_deposit').click();
  const who = page.locator('[data-testid=action-who][data-action=confirm_deposit]');
  await who.waitFor();
  assert.match(await who.innerText(), /Finance confirms the deposit\./);
  assert.equal(await page.locator('[data-testid=action-form][data-action=confirm_deposit]').count(), 0);
  // ... and the server refuses it by sign-off code all the same (what the catalogues translate).
  const posted = await fetch(`${server.base}/api/v1/records/${commercialId}/ops`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ op: 'confirm_deposit', amount: { minor: 150000, currency: 'USD' }, received_ms: Date.now() }),
  });
  assert.equal(posted.status, 403);
  const refusal2 = await posted.json();
  assert.equal(refusal2.code, 'change_refused', JSON.stringify(refusal2));
  assert.deepEqual(
    refusal2.problems.map((p) => [p.code, p.params]),
    [['deposit.finance_only', { titles: 'finance' }]],
    JSON.stringify(refusal2),
  );
  // ... and finance confirms it from their own browser.
  const financeTab = await newTablet(browser);
  await appLogin(financeTab.page, server.base, 'finance');
  await financeTab.page.getByTestId('dashboard').waitFor();
  form = await openAction(financeTab.page, commercialId, 'confirm_deposit');
  await fillDeposit(form);
  await submitOk(financeTab.page, form);
  await financeTab.context.close();

  form = await openAction(page, poId, 'release');
  await submitOk(page, form);
  await eventually(async () => (await timeline(token)).gates[0].gate.state === 'open', 10_000, 'the gate opens');

  // A PP sample round sent, from the order page itself: its timeline grows at once.
  await page.goto(`${server.base}/#/order/${ORDER_NO}`);
  await page.getByTestId('timeline').waitFor();
  assert.equal(await page.getByTestId('order-act-record').inputValue(), orderId);
  const shown = await page.getByTestId('timeline-event').count();
  await page.getByTestId('act-add_sample').click();
  form = page.locator('[data-testid=action-form][data-action=add_sample]');
  await form.locator('select[name=round]').selectOption('pp');
  await form.locator('input[name=sent]').fill('2026-11-21');
  await submitOk(page, form);
  await eventually(async () => (await page.getByTestId('timeline-event').count()) > shown, 10_000, 'the timeline grows');

  // A milestone done with its actual date and late reason, from the order's record view.
  form = await openAction(page, orderId, 'complete_milestone');
  const milestone = await form.locator('select[name=id] option').first().getAttribute('value');
  await form.locator('input[name=actual]').fill('2026-11-22');
  await form.locator('select[name=late_code]').selectOption('material_late');
  await form.locator('input[name=late_reason]').fill('Yarn arrived late');
  await submitOk(page, form);

  // Shipping marks drafted, then sent to the customer.
  form = await openAction(page, orderId, 'add_packaging');
  await form.locator('select[name=kind]').selectOption('shipping_mark');
  await form.locator('input[name=description]').fill('E2E carton marks');
  await submitOk(page, form);
  const drafted = await (await fetch(`${server.base}/api/v1/records/${orderId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const [markId] = Object.entries(drafted.view.record.packaging).find(([, p]) => p.description === 'E2E carton marks') ?? [];
  assert.ok(markId, JSON.stringify(drafted.view.record.packaging));
  form = await openAction(page, orderId, 'send_packaging');
  await form.locator('select[name=id]').selectOption(markId);
  await form.locator('input[name=at]').fill('2026-11-23');
  await submitOk(page, form);

  // The stored records say so.
  const order = await (await fetch(`${server.base}/api/v1/records/${orderId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const samples = Object.values(order.view.record.samples);
  assert.ok(samples.some((s) => s.round === 'pp' && s.sent_ms > 0), JSON.stringify(samples));
  const m = order.view.record.milestones[milestone];
  assert.ok(m.actual_ms > 0 && m.late_reason === 'Yarn arrived late', JSON.stringify(m));
  assert.ok(order.view.record.packaging[markId].sent_ms > 0, 'the marks are sent');

  // The order page's timeline shows each step, by merch (the deposit by finance).
  await page.goto(`${server.base}/#/order/${ORDER_NO}`);
  await page.getByTestId('timeline').waitFor();
  const events = await page
    .locator('[data-testid=timeline-event]')
    .evaluateAll((es) => es.map((e) => ({ record: e.dataset.record, user: e.dataset.user, text: e.textContent })));
  const after = (await timeline(token)).events.filter((e) => e.user === 'merch').length;
  assert.ok(after > start.events.filter((e) => e.user === 'merch').length, 'new events by merch');
  for (const [id, user] of [
    [commercialId, 'finance'],
    [poId, 'merch'],
    [orderId, 'merch'],
  ]) {
    assert.ok(
      events.some((e) => e.record === id && e.user === user),
      `a timeline event on ${id} by ${user}: ${JSON.stringify(events.slice(0, 8))}`,
    );
  }
  assert.ok(events.some((e) => /pp|sample/i.test(e.text)), 'the sample round is on the timeline');
  await page.screenshot({ path: `${OUT}/office-flow-timeline.png`, fullPage: true });

  // The tracking sheet: download, then upload back; nothing refused.
  await page.goto(`${server.base}/#/`);
  await page.getByTestId('dashboard').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('dash-export').click()]);
  const sheet = await download.path();
  assert.equal(fs.readFileSync(sheet).subarray(0, 2).toString(), 'PK');
  await page.getByTestId('dash-import').setInputFiles(sheet);
  const summary = page.getByTestId('dash-import-summary');
  await summary.waitFor();
  const text = await summary.innerText();
  assert.match(text, /0 rows refused/, text);
  assert.match(text, /0 created/, text);
});
