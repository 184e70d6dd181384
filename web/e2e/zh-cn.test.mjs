// E2E 4: the zh-CN interface renders without missing strings: the catalogues have the same
// keys and no empty message; a browser whose language is zh-CN gets the Chinese interface
// on every field screen and every office page, with no missing key and no English message
// text left — the core's plan problems and refusals included; screenshots go to the output
// folder.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

import { OUT, apiLogin, appLogin, launchBrowser, newTablet, openWork, startServer, waitSynced } from './harness.mjs';

const I18N = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'i18n');

/** Imports a catalogue module (TypeScript) by transpiling it. */
async function catalogue(file, name) {
  const src = fs.readFileSync(path.join(I18N, file), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
  return mod[name];
}

let server;
let browser;
let en;
let zh;

before(async () => {
  en = await catalogue('en.ts', 'en');
  zh = await catalogue('zh-CN.ts', 'zhCN');
  server = await startServer('zh-cn');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the catalogues have the same keys and no empty message', () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of [...Object.entries(en), ...Object.entries(zh)]) assert.ok(v.trim() !== '', `empty message ${k}`);
});

/** Words of the demo data (record titles) that are also English messages. */
// Words of the demo's data (record titles such as "Inline inspection HL-TS-2231") that are
// also English catalogue messages (the labels of T&A milestones and packaging kinds).
const DATA_WORDS = new Set(['Inline', 'Container', 'Inline inspection', 'Final inspection', 'Hang tag']);

/** English message text (without placeholders) that must not show in the zh-CN interface. */
function englishFragments() {
  const out = new Set();
  for (const k of Object.keys(en)) {
    if (en[k] === zh[k]) continue;
    for (const frag of en[k].split(/\{\w+\}/)) {
      const f = frag.trim().replace(/[:.…]+$/, '');
      if (f.length >= 6 && /[a-z]{3}/.test(f) && !zh[k].includes(f) && !DATA_WORDS.has(f)) out.add(f);
    }
  }
  return [...out];
}

async function checkScreen(page, name) {
  // Wait for any dialog-free, settled render.
  await page.waitForTimeout(300);
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(!text.includes('⟦'), `${name}: a message key has no text: ${text.match(/⟦[^⟧]*⟧/)?.[0]}`);
  const leaks = englishFragments().filter((f) => text.includes(f));
  assert.deepEqual(leaks, [], `${name}: English text in the zh-CN interface`);
  assert.match(text, /[\u4e00-\u9fff]/, `${name}: Chinese text`);
  // Gloved hands: every control is at least 48 px high (a checkbox's target is its label).
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('button, a.btn, label.btn, input, select, textarea, label.toggle')]
      .filter((el) => !(el instanceof HTMLInputElement && el.type === 'checkbox'))
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 2 && r.height > 2 && r.height < 47.5)
      .map(({ el, r }) => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent?.trim().slice(0, 20)}" ${r.height}px`),
  );
  assert.deepEqual(small, [], `${name}: controls under 48 px`);
  await page.screenshot({ path: `${OUT}/4-zh-${name}.png`, fullPage: true });
}

test('every field screen renders in zh-CN with no missing string', async () => {
  // The interface language follows the browser's.
  const qc = await newTablet(browser, { locale: 'zh-CN' });
  await qc.page.goto(`${server.base}/`);
  await qc.page.getByTestId('login-form').waitFor();
  assert.equal(await qc.page.evaluate(() => document.documentElement.lang), 'zh-CN');
  await checkScreen(qc.page, 'login');

  await appLogin(qc.page, server.base, 'qc1');
  await waitSynced(qc.page);
  await qc.page.getByTestId('work-item').first().waitFor();
  assert.match(await qc.page.getByTestId('sync-state').textContent(), /在线/);
  await checkScreen(qc.page, 'work');
  const id = await openWork(qc.page, 'Final inspection HL-TS-2231');
  await qc.page.getByTestId('inspection').waitFor();
  // Something in every section: a defect, an out-of-tolerance reading, a failed check.
  await qc.page.getByTestId('defect-description').fill('污渍');
  await qc.page.getByTestId('defect-add').click();
  await qc.page.locator('[data-testid=defect][data-description="污渍"]').waitFor();
  const length = qc.page.locator('[data-testid=measure-point][data-point=length]');
  await length.getByTestId('reading-input').fill('80');
  await length.getByTestId('reading-add').click();
  await length.locator('[data-testid=reading][data-oot=true]').waitFor();
  await qc.page.locator('[data-testid=check][data-item=packaging] [data-testid=check-fail]').click();
  await qc.page.locator('[data-testid=check][data-item=packaging][data-result=fail]').waitFor();
  await checkScreen(qc.page, 'inspection');
  // What the core says, in zh-CN too: a plan problem and a refused edit (an override with
  // no reason), from the core's codes.
  await qc.page.getByTestId('lot-size').fill('1');
  await qc.page.getByTestId('lot-size').press('Tab');
  const missing = qc.page.getByTestId('aql-plan-missing');
  await missing.waitFor();
  assert.match(await missing.textContent(), /批量 1 太小：AQL 表从 2 件开始。/);
  await qc.page.locator('details.override > summary').click();
  await qc.page.getByTestId('override-save').click();
  await qc.page.getByTestId('toast-error').filter({ hasText: '原因为必填项。' }).waitFor();
  await checkScreen(qc.page, 'inspection-errors');
  await qc.page.getByTestId('lot-size').fill('1200');
  await qc.page.getByTestId('lot-size').press('Tab');
  await qc.page.getByTestId('aql-plan').waitFor();
  await qc.page.goto(`${server.base}/#/r/${id}/report`);
  await qc.page.getByTestId('report').waitFor();
  await checkScreen(qc.page, 'report');
  await qc.context.close();

  const clerk = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(clerk.page, server.base, 'clerk1');
  await waitSynced(clerk.page);
  await openWork(clerk.page, 'Monthly count WH-Shenzhen zone A/B');
  await clerk.page.getByTestId('stockcount').waitFor();
  await checkScreen(clerk.page, 'stockcount');
  await clerk.context.close();

  const dock = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(dock.page, server.base, 'dock1');
  await waitSynced(dock.page);
  await openWork(dock.page, 'Container loading SO-2026-0815');
  await dock.page.getByTestId('shipment').waitFor();
  await checkScreen(dock.page, 'shipment');
  // Switching to English and back works without a reload.
  await dock.page.getByTestId('lang-en').click();
  assert.match(await dock.page.getByTestId('sync-state').textContent(), /Online/);
  await dock.page.getByTestId('lang-zh-CN').click();
  assert.match(await dock.page.getByTestId('sync-state').textContent(), /在线/);
  await dock.context.close();
});

test('every office page renders in zh-CN with no missing string', async () => {
  // Something on every list: a failed inspection with a defect, an approval waiting.
  const merch = await apiLogin(server.base, 'merch');
  const qc = await apiLogin(server.base, 'qc1');
  const post = async (token, path, body) => {
    const r = await fetch(`${server.base}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
    return r.json();
  };
  const { id } = await post(merch.token, '/records', {
    type: 'inspection', title: '终检 SO-ZH-1', order_no: 'SO-ZH-1', style_no: 'ST-ZH',
    factory: '东莞恒利', lot_size: 500, assignees: ['qc1'],
  });
  await post(qc.token, `/records/${id}/ops`, { op: 'add_defect', id: 'd1', class: 'critical', description: '断针' });
  await post(qc.token, `/records/${id}/ops`, { op: 'tally_defect', id: 'd1', delta: 2 });
  await post(merch.token, '/records', {
    type: 'approval', subject: '提前下达采购合同 SO-ZH-1', order_no: 'SO-ZH-1', steps: [['approver', 2]],
  });

  const boss = await newTablet(browser, { locale: 'zh-CN' });
  await appLogin(boss.page, server.base, 'boss');
  await boss.page.getByTestId('dash-failed-row').first().waitFor();
  await boss.page.getByTestId('pareto-chart').waitFor();
  await checkScreen(boss.page, 'office-dashboard');
  await boss.page.getByTestId('nav-approvals').click();
  await boss.page.getByTestId('approval-item').first().waitFor();
  await checkScreen(boss.page, 'office-approvals');
  await boss.page.goto(`${server.base}/#/order/SO-ZH-1`);
  await boss.page.getByTestId('timeline-event').first().waitFor();
  await checkScreen(boss.page, 'office-order');
  await boss.page.goto(`${server.base}/#/o/${id}`);
  await boss.page.getByTestId('office-defects').waitFor();
  await checkScreen(boss.page, 'office-record');
  await boss.page.getByTestId('nav-search').click();
  await boss.page.getByTestId('search-input').fill('SO-ZH');
  await boss.page.getByTestId('search-go').click();
  await boss.page.getByTestId('search-orders').waitFor();
  await checkScreen(boss.page, 'office-search');
  await boss.page.getByTestId('nav-new').click();
  for (const type of ['inspection', 'stock_count', 'shipment_check']) {
    await boss.page.getByTestId(`new-type-${type}`).click();
    await boss.page.getByTestId('new-assignee').waitFor();
    await checkScreen(boss.page, `office-new-${type}`);
  }
  await boss.context.close();
});
