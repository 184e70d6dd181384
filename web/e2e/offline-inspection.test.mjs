// E2E 1: log in as qc1, load, go offline, reload — the app opens from the service worker;
// perform a whole inspection offline with defects, a photo, measurements, checklist and a
// signed sign-off; go online; the server has it (REST as the merchandiser), photo included.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
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
  waitServiceWorker,
  waitSynced,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('offline-inspection');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const TITLE = 'Inline inspection HL-TS-2231';

test('an inspection done offline (after an offline reload) reaches the server with its photo', async () => {
  const { context, page, errors } = await newTablet(browser);
  await appLogin(page, server.base, 'qc1');
  await page.locator(`[data-testid=work-item][data-title="${TITLE}"]`).waitFor();
  await waitSynced(page);
  await waitServiceWorker(page);
  // Every listed record is on the device (IndexedDB), not only in memory.
  await eventually(
    () =>
      page.evaluate(
        () =>
          new Promise((resolve) => {
            const req = indexedDB.open('gendan-user-qc1');
            req.onsuccess = () => {
              const tx = req.result.transaction('docs');
              const c = tx.objectStore('docs').count();
              c.onsuccess = () => resolve(c.result >= 3); // index + 2 inspections
            };
            req.onerror = () => resolve(false);
          }),
      ),
    10_000,
    'documents saved in IndexedDB',
  );
  await page.screenshot({ path: `${OUT}/1-online-work.png` });

  // --- offline, and a cold reload ----------------------------------------------------------
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');
  await page.reload();
  await page.getByTestId('statusbar').waitFor({ timeout: 15_000 });
  assert.equal(await page.getByTestId('login-form').count(), 0, 'the session is kept offline');
  assert.equal(await page.getByTestId('statusbar').getAttribute('data-socket'), 'offline');
  const fromSw = await page.evaluate(() => navigator.serviceWorker.controller !== null);
  assert.ok(fromSw, 'the page is served by the service worker');
  await page.screenshot({ path: `${OUT}/1-offline-reload.png` });

  const id = await openWork(page, TITLE);
  await page.getByTestId('inspection').waitFor();
  // The AQL plan comes from the core: lot 1200, level II → code letter J, sample 80.
  assert.equal(await page.getByTestId('aql-plan').getAttribute('data-sample-size'), '80');

  // Defects: a major with a tally of 3 and a photo, a minor.
  await page.getByTestId('new-defect-major').click();
  await page.getByTestId('defect-description').fill('Open seam at left side');
  await page.getByTestId('defect-position').fill('side seam');
  await page.getByTestId('defect-add').click();
  const major = page.locator('[data-testid=defect][data-description="Open seam at left side"]');
  await major.waitFor();
  await major.getByTestId('defect-tally-plus').click();
  await major.getByTestId('defect-tally-plus').click();
  await assertText(major.getByTestId('defect-tally-value'), '3');
  await major.getByTestId('defect-photo-input').setInputFiles(await makeJpeg(page, 1));
  await major.getByTestId('photo-thumb').waitFor();

  await page.getByTestId('new-defect-minor').click();
  await page.getByTestId('defect-description').fill('Loose thread at hem');
  await page.getByTestId('defect-add').click();
  await page.locator('[data-testid=defect][data-description="Loose thread at hem"]').waitFor();
  await assertText(page.getByTestId('found-major'), '3');
  await assertText(page.getByTestId('found-minor'), '1');

  // Measurements: one in tolerance, one out (body length 72 ± 1.5).
  const chest = page.locator('[data-testid=measure-point][data-point=chest]');
  await chest.getByTestId('reading-input').fill('52.5');
  await chest.getByTestId('reading-add').click();
  const length = page.locator('[data-testid=measure-point][data-point=length]');
  await length.getByTestId('reading-input').fill('75');
  await length.getByTestId('reading-add').click();
  await length.locator('[data-testid=reading][data-oot=true]').waitFor();
  assert.equal(await chest.locator('[data-testid=reading][data-oot=false]').count(), 1);

  // Checklist: every item passes.
  for (const item of ['packaging', 'shipping_marks', 'carton_drop', 'colour_vs_sample', 'accessories_vs_list']) {
    await page.locator(`[data-testid=check][data-item=${item}]`).getByTestId('check-pass').click();
    await page.locator(`[data-testid=check][data-item=${item}][data-result=pass]`).waitFor();
  }
  assert.equal(await page.getByTestId('live-verdict').getAttribute('data-verdict'), 'pass');

  // Nothing has reached the server, and the app says so.
  const merch = await apiLogin(server.base, 'merch');
  const before = await getRecord(server.base, merch.token, id);
  assert.deepEqual(Object.keys(before.view.record.defects), []);
  await page.locator('[data-testid=unsynced-records][data-count="1"]').waitFor();
  assert.ok((await page.getByTestId('unsynced-badge').count()) >= 1, 'the record shows "not yet synced"');

  // Sign off: the app warns first (offline, unsynced), then signs.
  await page.getByTestId('sign-name').fill('Li Qiang');
  await drawSignature(page);
  await page.getByTestId('sign-off').click();
  await page.getByTestId('confirm').waitFor();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('signed').waitFor();
  await page.locator('[data-testid=pending-photos][data-count="2"]').waitFor(); // photo + signature
  await page.screenshot({ path: `${OUT}/1-offline-signed.png`, fullPage: true });

  // --- back online --------------------------------------------------------------------------
  await context.setOffline(false);
  await waitSynced(page, 30_000);
  await page.screenshot({ path: `${OUT}/1-online-synced.png` });

  const rec = await eventually(async () => {
    const r = await getRecord(server.base, merch.token, id);
    return r.view.record.sign_off ? r : null;
  }, 15_000, 'the signed inspection on the server');
  const v = rec.view;
  const defects = Object.values(v.record.defects);
  const seam = defects.find((d) => d.description === 'Open seam at left side');
  const thread = defects.find((d) => d.description === 'Loose thread at hem');
  assert.ok(seam && thread, 'both defects are on the server');
  assert.equal(seam.qty, 3);
  assert.equal(seam.class, 'major');
  assert.equal(thread.class, 'minor');
  assert.equal(v.derived.out_of_tolerance.length, 1);
  assert.equal(v.record.checklist.packaging.result, 'pass');
  assert.equal(v.derived.verdict, 'pass');
  assert.equal(v.record.sign_off.person.by, 'qc1');
  assert.equal(v.record.sign_off.person.name, 'Li Qiang');

  // The photo and the signature are on the server, whole and verified by hash.
  const photos = Object.values(seam.photos);
  assert.equal(photos.length, 1);
  for (const [sha, mime, bytes] of [
    [photos[0].sha256, 'image/jpeg', photos[0].bytes],
    [v.record.sign_off.person.signature_sha256, 'image/png', null],
  ]) {
    const blob = await getBlob(server.base, merch.token, sha);
    assert.equal(blob.status, 200, `blob ${sha} is on the server`);
    assert.equal(blob.type, mime);
    if (bytes !== null) assert.equal(blob.bytes.length, bytes);
    assert.equal(crypto.createHash('sha256').update(blob.bytes).digest('hex'), sha);
  }
  // Downscaled on the device: the 2400×1800 picture was stored with its long edge at 1600.
  const dims = await page.evaluate(async (sha) => {
    const r = await fetch(`/api/v1/blobs/${sha}`, { headers: window.gendan.authHeader() });
    const bmp = await createImageBitmap(await r.blob());
    return [bmp.width, bmp.height];
  }, photos[0].sha256);
  assert.deepEqual(dims, [1600, 1200]);

  assert.deepEqual(errors.filter((e) => !/net::ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket/.test(e)), []);
  await context.close();
});

async function assertText(locator, text) {
  await eventually(async () => (await locator.textContent())?.trim() === text, 5_000, `text ${text}`);
}

test('a session revoked while offline: work goes on, the app asks for a login, then syncs', async () => {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'qc2');
  await waitSynced(page);
  const id = await openWork(page, 'Final inspection HL-TS-2231');
  await page.getByTestId('inspection').waitFor();
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');

  // The office revokes every session of qc2 meanwhile.
  const admin = await apiLogin(server.base, 'admin');
  const r = await fetch(`${server.base}/api/v1/users/qc2/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}` },
  });
  assert.equal(r.status, 200);

  await page.getByTestId('defect-description').fill('Shade variation between panels');
  await page.getByTestId('defect-add').click();
  await page.locator('[data-testid=defect][data-description="Shade variation between panels"]').waitFor();

  // Back online: the socket is refused, `me` says 401, the app asks for a new login and
  // keeps the work (still counted as not synced).
  await context.setOffline(false);
  await page.getByTestId('relogin').waitFor({ timeout: 20_000 });
  await page.locator('[data-testid=unsynced-records][data-count="1"]').waitFor();
  await page.screenshot({ path: `${OUT}/1-session-expired.png` });

  await page.getByTestId('relogin').click();
  await page.locator('input[name=password]').fill('gendan-demo');
  await page.getByTestId('login-submit').click();
  await waitSynced(page);
  // Still on the same record, nothing lost.
  await page.locator('[data-testid=defect][data-description="Shade variation between panels"]').waitFor();
  const merch = await apiLogin(server.base, 'merch');
  const rec = await getRecord(server.base, merch.token, id);
  const d = Object.values(rec.view.record.defects).find((x) => x.description === 'Shade variation between panels');
  assert.ok(d, 'the defect recorded with a revoked session reached the server');
  assert.equal(d.by, 'qc2');
  await context.close();
});
