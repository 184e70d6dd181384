// E2E: the office in zh-CN through the stages the demo leaves open. A refused release (the
// L/C order SO-2026-0903, its gate closed) shows the server's refusal in Chinese, by its
// code; the merchandiser asks the general manager's special approval from the PO, the GM
// (boss) approves it in the inbox, and the order page shows the gate open by special
// approval, so the PO releases. A repeat order of Northwind (SO-2026-0904) copies the
// packaging data and shipping marks of the archived SO-2026-0908 to adjust.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { OUT, apiLogin, appLogin, eventually, launchBrowser, newTablet, startServer } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('office-repeat');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function timeline(token, orderNo) {
  const r = await fetch(`${server.base}/api/v1/orders/${orderNo}/timeline`, { headers: { authorization: `Bearer ${token}` } });
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

/** The console errors of a page, but the failed requests of refusals the test expects. */
const unexpected = (errors) => errors.filter((e) => !/Failed to load resource: the server responded with a status of (400|409)/.test(e));

/** Submits `form` and waits for the success toast; no new error toast. */
async function submitOk(page, form) {
  const before = await page.getByTestId('toast-info').count();
  const errors = await page.getByTestId('toast-error').allInnerTexts();
  await form.getByTestId('action-submit').click();
  await eventually(
    async () => {
      const now = await page.getByTestId('toast-error').allInnerTexts();
      if (now.length > errors.length) throw new Error(`refused: ${now.slice(errors.length).join(' | ')}`);
      return (await page.getByTestId('toast-info').count()) > before;
    },
    20_000,
    'the done toast',
  );
}

test('zh-CN: a refused release is said in Chinese; the GM’s special approval opens the gate', async () => {
  const { token } = await apiLogin(server.base, 'merch');
  const start = await timeline(token, 'SO-2026-0903');
  const po = start.records.find((r) => r.record_type === 'purchase_order');
  assert.ok(po, JSON.stringify(start.records));
  assert.equal(start.gates[0].gate.state, 'blocked', 'the L/C has not been received');

  const merch = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(merch.page, server.base, 'merch');
  await merch.page.getByTestId('dashboard').waitFor();

  // Refused: the server's code in Chinese, not its English text.
  let form = await openAction(merch.page, po.id, 'release');
  await form.getByTestId('action-submit').click();
  const refusal = merch.page.getByTestId('toast-error').last();
  await refusal.waitFor();
  const text = await refusal.innerText();
  assert.match(text, /采购单暂不能下达（信用证）：尚未收到信用证/, text);
  assert.doesNotMatch(text, /payment gate|not been received/, text);

  // Signing the PO is not the merchandiser's: instead of the form, who signs, in Chinese.
  await merch.page.getByTestId('act-sign').click();
  const who = merch.page.locator('[data-testid=action-who][data-action=sign]');
  await who.waitFor();
  assert.match(await who.innerText(), /采购单签字（业务）：由业务员签字。[\s\S]*采购单签字（总经理）：由总经理签字。/);
  assert.equal(await merch.page.locator('[data-testid=action-form][data-action=sign]').count(), 0);

  // Ask the GM's special approval, with the reason.
  form = await openAction(merch.page, po.id, 'request_special');
  await form.locator('input[name=reason]').fill('客户急单，工厂周一排产；信用证周四到');
  await submitOk(merch.page, form);
  const pending = await timeline(token, 'SO-2026-0903');
  const request = pending.records.find((r) => r.record_type === 'approval');
  assert.ok(request, 'the request is one of the order’s records');

  // The general manager approves it from the inbox.
  const boss = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(boss.page, server.base, 'boss');
  await boss.page.goto(`${server.base}/#/approvals`);
  const item = boss.page.locator(`[data-testid=approval-item][data-id="${request.id}"]`);
  await item.waitFor();
  assert.match(await item.innerText(), /特批/);
  await item.getByTestId('approval-comment').fill('同意，仅此一次');
  await item.getByTestId('approve').click();
  await eventually(async () => (await boss.page.locator(`[data-testid=approval-item][data-id="${request.id}"]`).count()) === 0, 10_000, 'the item leaves the inbox');
  // The GM is offered the PO's signature as general manager only (labels, not codes).
  form = await openAction(boss.page, po.id, 'sign');
  assert.deepEqual(await form.locator('select[name=role] option').allInnerTexts(), ['总经理']);

  // The merchandiser sees the gate open by special approval, and the PO releases.
  await merch.page.goto(`${server.base}/#/order/SO-2026-0903`);
  const gate = merch.page.getByTestId('gate-state').first();
  await gate.waitFor();
  assert.equal(await gate.getAttribute('data-state'), 'open_by_special_approval');
  assert.match(await gate.innerText(), /总经理特批/);
  await merch.page.screenshot({ path: `${OUT}/office-special-approval.png`, fullPage: true });
  form = await openAction(merch.page, po.id, 'release');
  await submitOk(merch.page, form);
  const released = await (await fetch(`${server.base}/api/v1/records/${po.id}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.ok(released.view.record.released_ms > 0, 'released');
  assert.deepEqual(unexpected(merch.errors), []);
  await merch.context.close();
  await boss.context.close();
});

test('a repeat order copies the previous order’s packaging and shipping marks to adjust', async () => {
  const { token } = await apiLogin(server.base, 'merch');
  const repeat = (await timeline(token, 'SO-2026-0904')).records.find((r) => r.record_type === 'order');
  assert.ok(repeat);
  const { page, context, errors } = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(page, server.base, 'merch');
  await page.getByTestId('dashboard').waitFor();

  const form = await openAction(page, repeat.id, 'copy_packaging');
  assert.match(await page.getByTestId('act-copy_packaging').innerText(), /选择上一订单复制包装资料/);
  // The other orders of the customer are offered.
  await eventually(async () => (await page.locator('[data-testid=previous-orders] option[value="SO-2026-0908"]').count()) > 0, 10_000, 'SO-2026-0908 offered');
  await form.locator('input[name=from]').fill('SO-2026-0908');
  await submitOk(page, form);

  await page.getByTestId('order-packaging').waitFor();
  const rows = page.getByTestId('packaging-row');
  assert.equal(await rows.count(), 3);
  const table = await page.getByTestId('order-packaging').innerText();
  assert.match(table, /唛头/);
  assert.match(table, /复制自 SO-2026-0908/);
  assert.deepEqual([...new Set(await page.getByTestId('packaging-state').allInnerTexts())], ['草稿'], 'each a draft to confirm again');
  await page.screenshot({ path: `${OUT}/office-repeat-packaging.png`, fullPage: true });

  // Copying again adds nothing; an order with nothing to copy is refused in Chinese.
  const again = await openAction(page, repeat.id, 'copy_packaging');
  await again.locator('input[name=from]').fill('SO-2026-0903');
  await again.getByTestId('action-submit').click();
  const refusal = page.getByTestId('toast-error').last();
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /订单 SO-2026-0903 没有可复制的包装资料或唛头/);

  const order = await (await fetch(`${server.base}/api/v1/records/${repeat.id}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const marks = Object.values(order.view.record.packaging).find((p) => p.kind === 'shipping_mark');
  assert.equal(marks.copied_from, 'SO-2026-0908');
  assert.equal(marks.confirmed_ms, 0);
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});
