// E2E 5: the office pages against a real `gendan serve --demo`. A merchandiser creates an
// inspection and assigns it to the demo QC inspector; the QC's browser receives it in My
// work, records a critical defect and signs off; the office dashboard then lists it as a
// failed inspection, and its order page shows the timeline (who did what). An approver
// decides an approval from the inbox; search finds the order.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import {
  OUT,
  apiLogin,
  appLogin,
  drawSignature,
  eventually,
  launchBrowser,
  newTablet,
  openWork,
  startServer,
  waitSynced,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('office');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const ORDER_NO = `SO-E2E-${Date.now() % 100000}`;
const TITLE = `Final inspection ${ORDER_NO}`;

test('office assigns an inspection, the QC fails it, the dashboard and order page show it', async () => {
  // The QC inspector is logged in and connected first: the new work must arrive by itself.
  const qc = await newTablet(browser);
  await appLogin(qc.page, server.base, 'qc1');
  await waitSynced(qc.page);

  // --- the office creates and assigns ------------------------------------------------------
  const office = await newTablet(browser);
  await appLogin(office.page, server.base, 'merch');
  await office.page.getByTestId('dashboard').waitFor();
  await office.page.getByTestId('nav-new').click();
  await office.page.getByTestId('create-page').waitFor();
  await office.page.getByTestId('new-type-inspection').click();
  await office.page.getByTestId('new-title').fill(TITLE);
  await office.page.getByTestId('new-order_no').fill(ORDER_NO);
  await office.page.getByTestId('new-style_no').fill('ST-E2E');
  await office.page.getByTestId('new-factory').fill('Dongguan Hengli Garments');
  await office.page.getByTestId('new-lot_size').fill('500');
  // Only users who can work on an inspection are offered: the QC inspectors.
  const offered = await office.page.locator('[data-testid=new-assignee] option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(offered.includes('qc1'), `qc1 is offered: ${offered}`);
  assert.ok(!offered.includes('clerk1') && !offered.includes('dock1'), `only QC users: ${offered}`);
  await office.page.getByTestId('new-assignee').selectOption('qc1');
  await office.page.getByTestId('new-submit').click();
  const created = office.page.getByTestId('new-created');
  await created.waitFor();
  const href = await created.locator('a').getAttribute('href');
  const id = decodeURIComponent(href.replace('#/o/', ''));
  assert.ok(id.length > 10, `a record id: ${href}`);
  await office.page.screenshot({ path: `${OUT}/5-office-created.png`, fullPage: true });

  // --- the QC receives it, fails it and signs off ------------------------------------------
  await qc.page.locator(`[data-testid=work-item][data-title="${TITLE}"]`).waitFor({ timeout: 20_000 });
  assert.equal(await openWork(qc.page, TITLE), id);
  await qc.page.getByTestId('inspection').waitFor();
  await qc.page.getByTestId('new-defect-critical').click();
  await qc.page.getByTestId('defect-description').fill('Broken needle in garment');
  await qc.page.getByTestId('defect-add').click();
  await qc.page.locator('[data-testid=defect][data-description="Broken needle in garment"]').waitFor();
  await qc.page.locator('[data-testid=verdict].verdict-fail').first().waitFor();
  await waitSynced(qc.page);
  await qc.page.getByTestId('sign-name').fill('Li Qiang');
  await drawSignature(qc.page);
  await qc.page.getByTestId('sign-off').click();
  // Asked to confirm only when something is not on the server yet.
  const confirm = qc.page.getByTestId('confirm-ok');
  await Promise.race([
    confirm.waitFor({ timeout: 5_000 }).then(() => confirm.click()),
    qc.page.getByTestId('signed').waitFor({ timeout: 5_000 }),
  ]).catch(() => undefined);
  await qc.page.getByTestId('signed').waitFor();
  await waitSynced(qc.page);
  await qc.page.screenshot({ path: `${OUT}/5-qc-signed.png`, fullPage: true });

  // --- the office dashboard lists it as failed ---------------------------------------------
  await office.page.getByTestId('nav-work').click();
  await office.page.getByTestId('dashboard').waitFor();
  const row = office.page.locator(`[data-testid=dash-failed-row][data-id="${id}"]`);
  await eventually(
    async () => {
      await office.page.getByTestId('dash-reload').click();
      return (await row.count()) === 1;
    },
    20_000,
    'the failed inspection on the dashboard',
  );
  assert.match(await row.textContent(), new RegExp(ORDER_NO));
  // Not among the pending ones any more: it is signed off.
  assert.equal(await office.page.locator(`[data-testid=dash-pending-row][data-id="${id}"]`).count(), 0);
  // The defect Pareto has a bar.
  await office.page.getByTestId('pareto-chart').waitFor();
  await office.page.screenshot({ path: `${OUT}/5-office-dashboard.png`, fullPage: true });
  // The order tracking sheet downloads with the session's token: an .xlsx (a zip).
  const [download] = await Promise.all([
    office.page.waitForEvent('download'),
    office.page.getByTestId('dash-export').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'orders.xlsx');
  const sheet = fs.readFileSync(await download.path());
  assert.equal(sheet.subarray(0, 2).toString(), 'PK');

  // --- dashboard → order page: the timeline says who did what ------------------------------
  await row.getByTestId('order-link').click();
  await office.page.getByTestId('order-page').waitFor();
  const events = office.page.locator(`[data-testid=timeline-event][data-record="${id}"]`);
  await events.first().waitFor();
  const seen = await events.evaluateAll((es) => es.map((e) => `${e.dataset.user}:${e.dataset.what}`));
  for (const want of ['merch:create', 'qc1:add_defect', 'qc1:sign_off']) {
    assert.ok(seen.includes(want), `timeline has ${want}: ${seen}`);
  }
  await office.page.screenshot({ path: `${OUT}/5-office-order.png`, fullPage: true });

  // --- order page → record -----------------------------------------------------------------
  await office.page.locator(`[data-testid=order-records] tr[data-id="${id}"] a`).click();
  await office.page.getByTestId('office-record').waitFor();
  await office.page.getByTestId('office-signed').waitFor();
  assert.match(await office.page.getByTestId('office-defects').textContent(), /Broken needle/);
  assert.match(await office.page.getByTestId('office-assignees').textContent(), /qc1/);

  // --- search and archive ------------------------------------------------------------------
  await office.page.getByTestId('nav-search').click();
  await office.page.getByTestId('search-input').fill(ORDER_NO.toLowerCase());
  await office.page.getByTestId('search-go').click();
  await office.page.locator('[data-testid=search-orders] a', { hasText: ORDER_NO }).waitFor();
  await office.page.locator(`[data-testid=search-records-row][data-id="${id}"]`).waitFor();

  assert.deepEqual(qc.errors, [], 'no errors in the QC browser');
  assert.deepEqual(office.errors, [], 'no errors in the office browser');
  await qc.context.close();
  await office.context.close();
});

test('an approver decides from the inbox; field users get no office pages', async () => {
  const merch = await apiLogin(server.base, 'merch');
  const r = await fetch(`${server.base}/api/v1/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merch.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'approval',
      subject: `Release PO of ${ORDER_NO} before the deposit`,
      order_no: ORDER_NO,
      steps: [['approver', 2]],
    }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  const { id } = await r.json();

  const boss = await newTablet(browser);
  await appLogin(boss.page, server.base, 'boss');
  await boss.page.getByTestId('nav-approvals').click();
  const item = boss.page.locator(`[data-testid=approval-item][data-id="${id}"]`);
  await item.waitFor();
  // A rejection needs a reason: nothing is sent without one.
  await item.getByTestId('reject').click();
  await boss.page.locator('.toast-error').first().waitFor();
  await item.getByTestId('approval-comment').fill('Customer is reliable; release.');
  await item.getByTestId('approve').click();
  await item.waitFor({ state: 'detached' });
  const after = await (
    await fetch(`${server.base}/api/v1/records/${id}`, { headers: { authorization: `Bearer ${merch.token}` } })
  ).json();
  assert.equal(after.view.derived.status, 'approved');
  const decision = Object.values(after.view.record.decisions)[0];
  assert.equal(decision.by, 'boss');
  assert.equal(decision.comment, 'Customer is reliable; release.');
  assert.deepEqual(boss.errors, []);
  await boss.context.close();

  // A QC inspector's app shows My work, and the office API answers 403.
  const qc = await apiLogin(server.base, 'qc1');
  const dash = await fetch(`${server.base}/api/v1/dashboard`, { headers: { authorization: `Bearer ${qc.token}` } });
  assert.equal(dash.status, 403);
  assert.match((await dash.json()).error, /office/);
});
