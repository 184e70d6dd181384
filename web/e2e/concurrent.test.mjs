// E2E 2: two inspectors (two browser contexts) edit the same inspection offline —
// different defects, the same tally, different checklist items — then reconnect: both
// see every edit and the tallies are summed.
// E2E 3: two clerks count the same location offline; the totals sum; the line over the
// threshold is flagged for recount.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  OUT,
  apiLogin,
  appLogin,
  eventually,
  getRecord,
  launchBrowser,
  newTablet,
  openWork,
  startServer,
  waitSynced,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('concurrent');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function tabletFor(user, title) {
  const t = await newTablet(browser);
  await appLogin(t.page, server.base, user);
  await waitSynced(t.page);
  t.id = await openWork(t.page, title);
  return t;
}

const tallyOf = (page, description) =>
  page.locator(`[data-testid=defect][data-description="${description}"] [data-testid=defect-tally-value]`);

async function textIs(locator, text, ms = 20_000) {
  await eventually(async () => (await locator.textContent())?.trim() === text, ms, `"${text}"`);
}

test('two inspectors edit the same inspection offline; both see every edit, tallies summed', async () => {
  const TITLE = 'Final inspection HL-TS-2231';
  const a = await tabletFor('qc1', TITLE);
  const b = await tabletFor('qc2', TITLE);
  assert.equal(a.id, b.id);
  for (const t of [a, b]) await t.page.getByTestId('inspection').waitFor();

  // A defect both will tally, recorded while online and seen by both.
  await a.page.getByTestId('new-defect-major').click();
  await a.page.getByTestId('defect-description').fill('Broken stitch');
  await a.page.getByTestId('defect-add').click();
  await textIs(tallyOf(b.page, 'Broken stitch'), '1');

  // --- both offline ---------------------------------------------------------------------
  await a.context.setOffline(true);
  await b.context.setOffline(true);
  for (const t of [a, b]) await t.page.waitForSelector('[data-testid=statusbar][data-socket=offline]');

  // Different defects.
  await a.page.getByTestId('new-defect-critical').click();
  await a.page.getByTestId('defect-description').fill('Needle fragment in collar');
  await a.page.getByTestId('defect-add').click();
  await b.page.getByTestId('new-defect-minor').click();
  await b.page.getByTestId('defect-description').fill('Uneven hem');
  await b.page.getByTestId('defect-add').click();

  // The same tally: qc1 +2, qc2 +3 (1 → 6 once merged).
  for (let i = 0; i < 2; i++) await a.page.locator('[data-testid=defect][data-description="Broken stitch"] [data-testid=defect-tally-plus]').click();
  for (let i = 0; i < 3; i++) await b.page.locator('[data-testid=defect][data-description="Broken stitch"] [data-testid=defect-tally-plus]').click();
  await textIs(tallyOf(a.page, 'Broken stitch'), '3');
  await textIs(tallyOf(b.page, 'Broken stitch'), '4');

  // Different checklist items.
  await a.page.locator('[data-testid=check][data-item=packaging] [data-testid=check-pass]').click();
  await b.page.locator('[data-testid=check][data-item=carton_drop] [data-testid=check-fail]').click();
  await a.page.locator('[data-testid=check][data-item=packaging][data-result=pass]').waitFor();
  await b.page.locator('[data-testid=check][data-item=carton_drop][data-result=fail]').waitFor();

  // Neither sees the other's work yet, and the server has none of it.
  assert.equal(await a.page.locator('[data-testid=defect][data-description="Uneven hem"]').count(), 0);
  assert.equal(await b.page.locator('[data-testid=defect][data-description="Needle fragment in collar"]').count(), 0);
  const merch = await apiLogin(server.base, 'merch');
  const mid = await getRecord(server.base, merch.token, a.id);
  assert.equal(Object.values(mid.view.record.defects).find((d) => d.description === 'Broken stitch').qty, 1);

  // --- reconnect ------------------------------------------------------------------------
  await a.context.setOffline(false);
  await b.context.setOffline(false);
  await waitSynced(a.page);
  await waitSynced(b.page);

  for (const t of [a, b]) {
    await textIs(tallyOf(t.page, 'Broken stitch'), '6');
    await t.page.locator('[data-testid=defect][data-description="Needle fragment in collar"]').waitFor();
    await t.page.locator('[data-testid=defect][data-description="Uneven hem"]').waitFor();
    await t.page.locator('[data-testid=check][data-item=packaging][data-result=pass]').waitFor();
    await t.page.locator('[data-testid=check][data-item=carton_drop][data-result=fail]').waitFor();
    // A critical defect against zero tolerance: the live verdict fails on both.
    await t.page.locator('[data-testid=live-verdict][data-verdict=fail]').waitFor();
  }
  await a.page.screenshot({ path: `${OUT}/2-qc1-merged.png`, fullPage: true });
  await b.page.screenshot({ path: `${OUT}/2-qc2-merged.png`, fullPage: true });

  const rec = await eventually(async () => {
    const r = await getRecord(server.base, merch.token, a.id);
    return Object.keys(r.view.record.defects).length === 3 ? r : null;
  }, 10_000, 'three defects on the server');
  const byDesc = Object.fromEntries(Object.values(rec.view.record.defects).map((d) => [d.description, d]));
  assert.equal(byDesc['Broken stitch'].qty, 6);
  assert.equal(byDesc['Needle fragment in collar'].class, 'critical');
  assert.equal(byDesc['Needle fragment in collar'].by, 'qc1');
  assert.equal(byDesc['Uneven hem'].by, 'qc2');
  assert.equal(rec.view.record.checklist.packaging.result, 'pass');
  assert.equal(rec.view.record.checklist.carton_drop.result, 'fail');
  assert.equal(rec.view.derived.verdict, 'fail');

  await a.context.close();
  await b.context.close();
});

test('two clerks count the same location offline; totals sum; the line over the threshold is flagged', async () => {
  const TITLE = 'Monthly count WH-Shenzhen zone A/B';
  const a = await tabletFor('clerk1', TITLE);
  const b = await tabletFor('clerk2', TITLE);
  assert.equal(a.id, b.id);
  for (const t of [a, b]) await t.page.getByTestId('stockcount').waitFor();

  await a.context.setOffline(true);
  await b.context.setOffline(true);
  for (const t of [a, b]) await t.page.waitForSelector('[data-testid=statusbar][data-socket=offline]');

  // Blind count: no expected quantities before submitting.
  assert.equal((await a.page.locator('[data-sku="HL-TS-2231-NV-M"] [data-testid=count-expected]').textContent()).trim(), '—');

  // Both count bins A-01-1 (expected 240) and A-01-2 (expected 200); clerk1 scans a SKU
  // like a keyboard-wedge scanner does (the code, then Enter).
  const count = async (page, sku, qty, { wedge = false } = {}) => {
    if (wedge) {
      // A scanner typing with the focus outside any field.
      await page.getByTestId('record-title').click();
      await page.keyboard.type(sku, { delay: 5 });
      await page.keyboard.press('Enter');
      await page.locator(`tr.selected[data-sku="${sku}"]`).waitFor();
    } else {
      await page.getByTestId('scan-input').fill(sku);
      await page.getByTestId('scan-input').press('Enter');
    }
    const input = page.locator(`[data-sku="${sku}"] [data-testid=count-input]`);
    await input.fill(String(qty));
    await input.press('Enter');
    await page.locator(`[data-sku="${sku}"] [data-testid=count-total]`).filter({ hasText: String(qty) }).first().waitFor();
  };
  await count(a.page, 'HL-TS-2231-NV-M', 120);
  await count(b.page, 'HL-TS-2231-NV-M', 125); // 245 in all: +5, over ±2 pcs / ±1 %
  await count(a.page, 'HL-TS-2231-NV-L', 100, { wedge: true });
  await count(b.page, 'HL-TS-2231-NV-L', 100); // 200 in all: no variance

  await a.context.setOffline(false);
  await b.context.setOffline(false);
  await waitSynced(a.page);
  await waitSynced(b.page);

  for (const t of [a, b]) {
    await t.page.getByTestId('loc-all').click();
    await eventually(
      async () => (await t.page.locator('[data-sku="HL-TS-2231-NV-M"] [data-testid=count-total]').textContent()).startsWith('245'),
      20_000,
      'total 245',
    );
    await eventually(
      async () => (await t.page.locator('[data-sku="HL-TS-2231-NV-L"] [data-testid=count-total]').textContent()).startsWith('200'),
      20_000,
      'total 200',
    );
  }

  // clerk1 submits (the app warns about nothing: all synced) and then sees expected
  // quantities, variances and the flag.
  await a.page.getByTestId('count-submit').click();
  const confirm = a.page.getByTestId('confirm');
  if (await confirm.isVisible().catch(() => false)) await a.page.getByTestId('confirm-ok').click();
  await a.page.getByTestId('count-submitted').waitFor();
  await a.page.locator('[data-sku="HL-TS-2231-NV-M"][data-recount=true]').waitFor();
  assert.equal(await a.page.locator('[data-sku="HL-TS-2231-NV-L"][data-recount=true]').count(), 0);
  assert.equal((await a.page.locator('[data-sku="HL-TS-2231-NV-M"] [data-testid=count-variance]').textContent()).trim(), '+5');
  await waitSynced(a.page);
  await a.page.screenshot({ path: `${OUT}/3-clerk1-flagged.png`, fullPage: true });

  const merch = await apiLogin(server.base, 'merch');
  const rec = await getRecord(server.base, merch.token, a.id);
  const lines = rec.view.derived.lines;
  assert.equal(lines.l1.total, 245);
  assert.equal(lines.l1.counters, 2);
  assert.equal(lines.l1.variance, 5);
  assert.equal(lines.l1.recount, true);
  assert.equal(lines.l2.total, 200);
  assert.equal(lines.l2.recount, false);
  assert.ok(rec.view.record.submissions.clerk1);

  await a.context.close();
  await b.context.close();
});
