// The shipment check on the dock: cartons tallied and scanned (keyboard wedge and the scan
// field) per packing-list line, an unknown label recorded as an extra carton, the shipping
// mark verified only after its photo, container and seal numbers, the verdict and a
// signed sign-off — on the server afterwards, photo included.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  OUT,
  apiLogin,
  appLogin,
  drawSignature,
  eventually,
  getBlob,
  getRecord,
  launchBrowser,
  makeJpeg,
  newTablet,
  openWork,
  startServer,
  waitSynced,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('shipment');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a shipment check is tallied, verified, signed and reaches the server', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'dock1');
  await waitSynced(page);
  const id = await openWork(page, 'Container loading SO-2026-0815');
  await page.getByTestId('shipment').waitFor();
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');

  await page.getByTestId('ship-container_no').fill('MSKU1234565');
  await page.getByTestId('ship-container_no').press('Tab');
  await page.getByTestId('ship-seal_no').fill('SL-889900');
  await page.getByTestId('ship-seal_no').press('Tab');
  const p1 = page.locator('[data-testid=ship-line][data-line=p1]');
  const p2 = page.locator('[data-testid=ship-line][data-line=p2]');
  const loaded = async (line, n, what) =>
    eventually(async () => (await line.getByTestId('carton-tally-value').textContent()) === String(n), 5_000, what);
  for (let i = 0; i < 3; i++) await p1.getByTestId('carton-tally-plus').click();
  await loaded(p1, 3, 'tally 3');

  // Carton labels scanned with a keyboard-wedge scanner (the code typed fast, then Enter,
  // the focus on no field): the core matches the label's barcode to its line, in any case.
  const wedge = async (code) => {
    await page.getByTestId('record-title').click();
    await page.keyboard.type(code, { delay: 5 });
    await page.keyboard.press('Enter');
  };
  await wedge('NW0815-NAVY');
  await loaded(p1, 4, 'p1 scanned');
  assert.match(await page.getByTestId('scan-last').textContent(), /Carton counted: PO-2026-0815-01 · HL-TS-2231 \(4 loaded\)/);
  await page.locator('[data-testid=ship-line][data-line=p1][data-scanned=true]').waitFor();
  await wedge('nw0815-grey');
  await loaded(p2, 1, 'p2 scanned');
  // …or typed into the scan field.
  await page.getByTestId('ship-scan-input').fill('NW0815-NAVY');
  await page.getByTestId('ship-scan-input').press('Enter');
  await loaded(p1, 5, 'p1 scanned in the field');
  // A label on no line is reported, counts nowhere, and can be recorded as an extra carton.
  await wedge('ZZ-404-X');
  const unknown = page.locator('[data-testid=scan-unknown][data-code="ZZ-404-X"]');
  await unknown.waitFor();
  assert.match(await unknown.textContent(), /ZZ-404-X.*not on the packing list/);
  await loaded(p1, 5, 'unchanged p1');
  await loaded(p2, 1, 'unchanged p2');
  await unknown.getByTestId('scan-record-extra').click();
  await unknown.waitFor({ state: 'detached' });
  await page.locator('.ship-line', { hasText: 'ZZ-404-X' }).waitFor();

  // Marks can be verified only with a photo of them.
  assert.equal(await p1.getByTestId('verify-mark').isDisabled(), true, 'no photo yet');
  await p1.getByTestId('mark-needs-photo').waitFor();
  await p1.getByTestId('mark-photo-input').setInputFiles(await makeJpeg(page, 7));
  await p1.getByTestId('photo-thumb').waitFor();
  await p1.getByTestId('verify-mark').click();
  await p1.getByTestId('mark-verified').waitFor();
  // 262 + 266 cartons are missing, 1 is not on the list: the derived verdict fails.
  await page.locator('[data-testid=live-verdict][data-verdict=fail]').waitFor();

  await drawSignature(page);
  await page.getByTestId('sign-off').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('signed').waitFor();

  await context.setOffline(false);
  await waitSynced(page);
  await page.screenshot({ path: `${OUT}/5-shipment-signed.png`, fullPage: true });

  const merch = await apiLogin(server.base, 'merch');
  const rec = await eventually(async () => {
    const r = await getRecord(server.base, merch.token, id);
    return r.view.record.sign_off ? r : null;
  }, 10_000, 'signed shipment check');
  const v = rec.view;
  assert.equal(v.record.container_no, 'MSKU1234565');
  assert.equal(v.record.seal_no, 'SL-889900');
  assert.equal(v.record.lines.p1.loaded, 5);
  assert.equal(v.record.lines.p2.loaded, 1);
  assert.equal(v.record.lines.p1.mark_verified.by, 'dock1');
  assert.equal(v.record.lines.p2.mark_verified, null);
  assert.deepEqual(
    Object.values(v.record.extras).map((x) => [x.note, x.count, x.by]),
    [['ZZ-404-X', 1, 'dock1']],
  );
  assert.equal(v.derived.missing, 262 + 266);
  assert.equal(v.derived.unlisted, 1);
  assert.equal(v.derived.verdict, 'fail');
  const photo = Object.values(v.record.lines.p1.photos)[0];
  assert.equal((await getBlob(server.base, merch.token, photo.sha256)).status, 200);
  assert.equal((await getBlob(server.base, merch.token, v.record.sign_off.signature_sha256)).status, 200);
  await context.close();
});
