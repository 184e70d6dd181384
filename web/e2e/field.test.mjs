// Field details in real Chromium against a real server: the sync status stays on screen on
// a long page; the photo size setting changes the size of the photo stored; the AQL plan
// follows the lot size; an override needs a reason; a count submitted with unsynced data
// warns first.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  OUT,
  apiLogin,
  appLogin,
  eventually,
  getRecord,
  launchBrowser,
  makeJpeg,
  newTablet,
  openWork,
  startServer,
  waitSynced,
} from './harness.mjs';

const INSPECTION = 'Final inspection HL-TS-2231';

let server;
let browser;

before(async () => {
  server = await startServer('field');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Where an element is in the viewport. */
const box = (page, testid) =>
  page.evaluate((id) => {
    const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, vh: window.innerHeight };
  }, testid);

test('the status bar and top bar stay on screen at the bottom of the long inspection page', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'qc1');
  await waitSynced(page);
  await openWork(page, INSPECTION);
  await page.getByTestId('inspection').waitFor();
  const { height, vh } = await page.evaluate(() => ({ height: document.documentElement.scrollHeight, vh: window.innerHeight }));
  assert.ok(height > 2 * vh, `the inspection page is long (${height} px in a ${vh} px window)`);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await eventually(async () => (await page.evaluate(() => window.scrollY)) > height - 2 * vh, 5_000, 'scrolled to the bottom');
  for (const id of ['statusbar', 'sign-out']) {
    const b = await box(page, id);
    assert.ok(b.top >= 0 && b.bottom <= b.vh, `${id} is within the viewport after scrolling: ${JSON.stringify(b)}`);
  }
  // …and still tells the truth: offline shows at once.
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');
  const b = await box(page, 'statusbar');
  assert.ok(b.top >= 0 && b.bottom <= b.vh, 'still on screen');
  await page.screenshot({ path: `${OUT}/6-status-bar-at-bottom.png` });
  await context.close();
});

test('the AQL plan follows the lot size; an override is refused without a reason and shown with one', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'qc2');
  await waitSynced(page);
  const id = await openWork(page, INSPECTION);
  await page.getByTestId('inspection').waitFor();

  // ISO 2859-1, level II, the demo's AQLs (critical 0, major 2.5, minor 4.0), one sample
  // for all classes: 5,000 → L (200); 90 → E, whose largest class plan samples 20;
  // 1,200 → J (80); 1 → below Table 1: no plan, and the core says why.
  const plan = page.getByTestId('aql-plan');
  const setLot = async (n) => {
    await page.getByTestId('lot-size').fill(String(n));
    await page.getByTestId('lot-size').press('Tab');
  };
  for (const [lot, sample] of [
    [5000, '200'],
    [90, '20'],
    [1200, '80'],
  ]) {
    await setLot(lot);
    await eventually(
      async () => (await plan.getAttribute('data-sample-size')) === sample,
      5_000,
      `sample ${sample} for lot ${lot} (shown: ${await page.getByTestId('aql-plan').textContent().catch(() => '?')})`,
    );
    assert.match(await plan.textContent(), new RegExp(`Lot ${lot} pcs`));
  }
  await setLot(1);
  const missing = page.getByTestId('aql-plan-missing');
  await missing.waitFor();
  assert.match(await missing.textContent(), /Lot size 1 is too small: the AQL tables start at 2 pcs/);
  // Not a whole number: said so, kept as typed to correct, nothing saved.
  await page.getByTestId('lot-size').fill('12.5');
  await page.getByTestId('lot-size').press('Tab');
  await page.getByTestId('toast-error').filter({ hasText: 'Lot size must be a whole number.' }).waitFor();
  assert.equal(await page.getByTestId('lot-size').inputValue(), '12.5', 'kept as typed');
  assert.match(await missing.textContent(), /Lot size 1 is too small/, 'the stored lot size is unchanged');
  await setLot(1200);
  await plan.waitFor();

  // Override: the core refuses it without a reason; nothing is saved.
  const derived = await page.getByTestId('live-verdict').getAttribute('data-verdict');
  await page.locator('details.override > summary').click();
  await page.getByTestId('override-save').click();
  const toast = page.getByTestId('toast-error').filter({ hasText: 'The reason is required.' });
  await toast.waitFor();
  assert.equal(await page.getByTestId('override').count(), 0, 'no override without a reason');
  assert.equal(await page.getByTestId('live-verdict').getAttribute('data-verdict'), derived);

  // With a reason: saved, shown with who and why, and the verdict is the person's.
  const reason = 'Customer accepts: shade band approved by e-mail';
  await page.getByTestId('override-reason').fill(reason);
  await page.getByTestId('override-save').click();
  const shown = page.getByTestId('override');
  await shown.waitFor();
  assert.match(await shown.textContent(), new RegExp(reason));
  assert.match(await shown.textContent(), /qc2/);
  await waitSynced(page);
  const merch = await apiLogin(server.base, 'merch');
  const rec = await eventually(async () => {
    const r = await getRecord(server.base, merch.token, id);
    return r.view.record.override ? r : null;
  }, 10_000, 'override on the server');
  assert.equal(rec.view.record.override.reason, reason);
  assert.equal(rec.view.record.lot_size, 1200);
  await context.close();
});

test('the photo size setting changes the size of the photo stored', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'qc1');
  await waitSynced(page);
  await openWork(page, INSPECTION);
  await page.getByTestId('inspection').waitFor();
  await page.getByTestId('defect-description').fill('Photo size check');
  await page.getByTestId('defect-add').click();
  const defect = page.locator('[data-testid=defect][data-description="Photo size check"]');
  await defect.waitFor();

  /** Adds a 2400×1800 camera photo; returns the long edge and bytes of what was stored. */
  const addPhoto = async (seed) => {
    const shas = () => defect.getByTestId('photo-thumb').evaluateAll((els) => els.map((e) => e.dataset.sha256));
    const before = await shas();
    await defect.getByTestId('defect-photo-input').setInputFiles(await makeJpeg(page, seed));
    await eventually(async () => (await shas()).length === before.length + 1, 10_000, 'photo shown');
    const sha = (await shas()).find((s) => !before.includes(s));
    return page.evaluate(async (s) => {
      const entry = await window.gendan.photoData(s);
      const bmp = await createImageBitmap(new Blob([entry.data], { type: entry.mime }));
      return { edge: Math.max(bmp.width, bmp.height), bytes: entry.data.byteLength };
    }, sha);
  };

  const atDefault = await addPhoto(11);
  assert.equal(atDefault.edge, 1600, 'the default long edge');

  // A value outside 800–4000 px is refused with a message and nothing changes.
  await page.getByTestId('settings-open').click();
  const edge = page.getByTestId('settings-photo-edge');
  assert.equal(await edge.inputValue(), '1600');
  await edge.fill('4001');
  await page.getByTestId('settings-save').click();
  assert.match(await page.getByTestId('settings-error').textContent(), /whole number from 800 to 4000/);
  await page.getByTestId('settings-cancel').click();
  assert.equal((await addPhoto(12)).edge, 1600, 'a refused setting does not apply');

  await page.getByTestId('settings-open').click();
  await edge.fill('800');
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings').waitFor({ state: 'detached' });
  const small = await addPhoto(13);
  assert.equal(small.edge, 800, 'the long edge set');
  assert.ok(small.bytes < atDefault.bytes, `a smaller photo is fewer bytes (${small.bytes} < ${atDefault.bytes})`);

  // The setting is kept on the device.
  await page.reload();
  await page.getByTestId('settings-open').click();
  assert.equal(await page.getByTestId('settings-photo-edge').inputValue(), '800');
  await context.close();
});

test('submitting a count with unsynced data warns first; cancelling does not submit', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'clerk2');
  await waitSynced(page);
  const id = await openWork(page, 'Monthly count WH-Shenzhen zone A/B');
  await page.getByTestId('stockcount').waitFor();
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');
  const input = page.locator('[data-sku="HL-TS-2231-NV-M"] [data-testid=count-input]');
  await input.fill('118');
  await input.press('Enter');
  await page.locator('[data-sku="HL-TS-2231-NV-M"] [data-testid=count-total]').filter({ hasText: '118' }).first().waitFor();

  const submit = async () => {
    await page.getByTestId('count-submit').click();
    // The other lines are not counted: that is asked first.
    await page.getByTestId('confirm').filter({ hasText: 'Lines not counted' }).waitFor();
    await page.getByTestId('confirm-ok').click();
    const warn = page.getByTestId('confirm').filter({ hasText: 'Not yet on the server' });
    await warn.waitFor();
    const text = await warn.textContent();
    assert.match(text, /This record has [1-9]\d* change\(s\) the server has not received/);
    assert.match(text, /The device is offline/);
  };
  await submit();
  await page.getByTestId('confirm-cancel').click();
  await page.getByTestId('confirm').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('count-submitted').count(), 0, 'cancelled: not submitted');

  await submit();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('count-submitted').waitFor();
  await context.setOffline(false);
  await waitSynced(page);
  const merch = await apiLogin(server.base, 'merch');
  const rec = await eventually(async () => {
    const r = await getRecord(server.base, merch.token, id);
    return r.view.record.submissions?.clerk2 ? r : null;
  }, 10_000, 'submission on the server');
  assert.ok(rec.view.record.submissions.clerk2.at_ms > 0);
  await context.close();
});
