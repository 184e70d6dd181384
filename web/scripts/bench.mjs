// Benchmark of the field app in real headless Chromium (not a timed test: it prints).
//
//   - p50/p95 time to record a defect (click "Add defect" → the row is on screen and the
//     document is in IndexedDB) with 1,000 records stored on the device;
//   - time to open the app offline (cold reload from the service worker → the work list);
//   - the WASM + JS bytes shipped (gzip).
//
// usage (after `make build` or `cargo build -p gendan-server` and `npm run build`):
//   node web/scripts/bench.mjs [records=1000] [defects=60]

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { appLogin, launchBrowser, newTablet, openWork, startServer, waitServiceWorker, waitSynced } from '../e2e/harness.mjs';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RECORDS = Number(process.argv[2] ?? 1000);
const DEFECTS = Number(process.argv[3] ?? 60);

// Records to store on the device, made with the real core in node.
const core = await import(path.join(WEB, 'pkg', 'gendan_core.js'));
await core.default({ module_or_path: fs.readFileSync(path.join(WEB, 'pkg', 'gendan_core_bg.wasm')) });
const docs = [];
for (let i = 0; i < RECORDS; i++) {
  const rec = core.WasmRecord.create(
    'inspection',
    JSON.stringify({ title: `Bench ${i}`, order_no: `SO-B-${i}`, style_no: `ST-${i % 50}`, lot_size: 500 + i, assignees: ['qc1'] }),
    crypto.getRandomValues(new Uint8Array(16)),
    'merch',
    Date.now(),
  );
  for (let d = 0; d < 5; d++)
    rec.apply(JSON.stringify({ op: 'add_defect', id: `d${d}`, class: 'minor', description: `defect ${d}` }), 'qc1', Date.now());
  docs.push({ id: core.documentId(crypto.getRandomValues(new Uint8Array(16))), b64: Buffer.from(rec.save()).toString('base64') });
  rec.free();
}
const docBytes = docs.reduce((s, d) => s + (d.b64.length * 3) / 4, 0);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x.toFixed(1)} ms`;

const server = await startServer('bench');
const browser = await launchBrowser();
try {
  const { context, page } = await newTablet(browser);
  await appLogin(page, server.base, 'qc1');
  await waitSynced(page);
  await waitServiceWorker(page);
  await page.locator('[data-testid=work-item]').first().waitFor();

  // Store the records on the device the way the engine does (docs store of the user's DB).
  await page.evaluate(
    (list) =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('gendan-user-qc1');
        req.onsuccess = () => {
          const tx = req.result.transaction('docs', 'readwrite');
          for (const d of list) {
            const bin = atob(d.b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            tx.objectStore('docs').put({ id: d.id, bytes, saved_ms: Date.now() });
          }
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        };
        req.onerror = () => reject(req.error);
      }),
    docs,
  );

  // --- open offline -------------------------------------------------------------------------
  await context.setOffline(true);
  await page.waitForSelector('[data-testid=statusbar][data-socket=offline]');
  const opens = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await page.reload();
    await page.locator('[data-testid=work-item]').first().waitFor({ timeout: 60_000 });
    opens.push(Date.now() - t0);
  }
  const held = await page.evaluate(() => window.gendan.client.docIds().length);

  // --- record a defect -----------------------------------------------------------------------
  await openWork(page, 'Inline inspection HL-TS-2231');
  await page.getByTestId('inspection').waitFor();
  const times = [];
  for (let i = 0; i < DEFECTS; i++) {
    const description = `bench defect ${i}`;
    await page.getByTestId('defect-description').fill(description);
    const t = await page.evaluate(async (desc) => {
      const t0 = performance.now();
      document.querySelector('[data-testid=defect-add]').click();
      await new Promise((resolve) => {
        const check = () =>
          document.querySelector(`[data-testid=defect][data-description="${desc}"]`) ? resolve() : requestAnimationFrame(check);
        check();
      });
      return performance.now() - t0;
    }, description);
    times.push(t);
  }

  console.log(`records stored on the device: ${held} (${RECORDS} added, ${(docBytes / 1e6).toFixed(1)} MB of documents)`);
  console.log(`open the app offline (cold reload, service worker → work list): ${opens.map((x) => `${x} ms`).join(', ')}`);
  console.log(
    `record a defect (click → on screen, saved to IndexedDB), ${DEFECTS} times: p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, max ${ms(Math.max(...times))}`,
  );
} finally {
  await browser.close();
  await server.stop();
}
console.log(execFileSync('node', [path.join(WEB, 'scripts', 'size.mjs')]).toString().trim().split('\n').at(-1));
