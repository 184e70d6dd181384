// End-to-end harness: a real `gendan serve --demo` on a free port with a fresh data folder,
// and real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
// Environment:
//   GENDAN_BIN      the server binary (default: ../target/debug/gendan from web/)
//   CHROMIUM        the browser (default: /usr/bin/chromium)
//   E2E_OUT         where screenshots and logs go (default: web/e2e-output)
//   GENDAN_LOG      the server's log filter (e.g. `info,gendan_server=debug`; the
//                   server's own default when unset)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(WEB, '..');
export const OUT = process.env.E2E_OUT ?? path.join(WEB, 'e2e-output');
export const PASSWORD = 'gendan-demo';

fs.mkdirSync(OUT, { recursive: true });

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the server; `stop()` kills it and removes its data folder. */
export async function startServer(name = 'e2e') {
  const bin = process.env.GENDAN_BIN ?? path.join(ROOT, 'target', 'debug', 'gendan');
  if (!fs.existsSync(bin)) throw new Error(`no server binary at ${bin}: run cargo build -p gendan-server`);
  const dist = path.join(WEB, 'dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('no web/dist: run npm run build in web/');
  const data = fs.mkdtempSync(path.join(os.tmpdir(), `gendan-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(OUT, `server-${name}.log`), 'w');
  const proc = spawn(bin, ['serve', '--demo', '--bind', `127.0.0.1:${port}`, '--data', data, '--web', dist], {
    stdio: ['ignore', log, log],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let exited = null;
  proc.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`the server exited at start (${JSON.stringify(exited)}); see ${OUT}/server-${name}.log`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('the server did not start within 30 s');
    await sleep(100);
  }
  return {
    base,
    port,
    data,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
        if (!exited) proc.kill('SIGKILL');
      }
      fs.closeSync(log);
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with the flags that work on these machines. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`no browser at ${executablePath}: apt-get install -y chromium`);
  // playwright's launch() runs the browser on a fresh temporary profile (--user-data-dir)
  // of its own, removed on close.
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A tablet-sized context (1280×800), collecting console errors. */
export async function newTablet(browser, { locale = 'en-US' } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale,
    serviceWorkers: 'allow',
  });
  const errors = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    // Kept for the report of a wait that times out (see waitSynced).
    if (m.type() === 'error' || m.type() === 'warning') {
      page.gendanLog ??= [];
      page.gendanLog.push(`${new Date().toISOString()} ${m.type()}: ${m.text()}`);
    }
  });
  return { context, page, errors };
}

// --- REST as the office sees it ---------------------------------------------------------

export async function apiLogin(base, username) {
  const r = await fetch(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  return r.json();
}

export async function getRecord(base, token, id) {
  const r = await fetch(`${base}/api/v1/records/${id}`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET record ${id}: ${r.status} ${await r.text()}`);
  return r.json();
}

export async function getBlob(base, token, sha256) {
  const r = await fetch(`${base}/api/v1/blobs/${sha256}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, type: r.headers.get('content-type'), bytes: r.ok ? new Uint8Array(await r.arrayBuffer()) : null };
}

/** Polls `f` until it returns a truthy value (or throws the last error after `ms`). */
export async function eventually(f, ms = 20_000, what = 'condition') {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(200);
  }
}

// --- the app ----------------------------------------------------------------------------

export async function appLogin(page, base, username) {
  await page.goto(`${base}/`);
  await page.getByTestId('login-form').waitFor();
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('statusbar').waitFor();
}

/**
 * Waits until the app is connected and has nothing left to send. On a timeout the error
 * says what the status bar showed and what the page warned about, so that a failure in CI
 * can be read without rerunning it.
 */
export async function waitSynced(page, ms = 30_000) {
  try {
    await page.waitForFunction(
      () => {
        const bar = document.querySelector('[data-testid=statusbar]');
        const recs = document.querySelector('[data-testid=unsynced-records]');
        const photos = document.querySelector('[data-testid=pending-photos]');
        return (
          bar?.getAttribute('data-socket') === 'joined' &&
          recs?.getAttribute('data-count') === '0' &&
          photos?.getAttribute('data-count') === '0'
        );
      },
      null,
      { timeout: ms },
    );
  } catch (e) {
    const seen = await page
      .evaluate(() => {
        const attr = (sel, a) => document.querySelector(sel)?.getAttribute(a) ?? null;
        return {
          socket: attr('[data-testid=statusbar]', 'data-socket'),
          unsynced_records: attr('[data-testid=unsynced-records]', 'data-count'),
          pending_photos: attr('[data-testid=pending-photos]', 'data-count'),
          statusbar: document.querySelector('[data-testid=statusbar]')?.textContent ?? null,
          url: location.href,
          // The sync engine's own view (app.tsx puts it on window for support and tests).
          engine: (() => {
            const g = window.gendan;
            if (!g) return null;
            return {
              status: g.status,
              ws_ready_state: g.ws?.readyState ?? null,
              stopped: g.stopped,
              watchdog: g.watchdog != null,
              reconnect_pending: g.reconnectTimer != null,
              attempt: g.attempt,
              connect_started_ms_ago: g.connectStartedMs ? Date.now() - g.connectStartedMs : null,
              unsynced: [...(g.unsynced ?? new Map()).entries()],
              unavailable: [...(g.unavailable ?? new Set())],
            };
          })(),
        };
      })
      .catch((err) => ({ evaluate_failed: String(err) }));
    const log = (page.gendanLog ?? []).slice(-20).join('\n  ');
    throw new Error(`waitSynced: ${e.message}\n  saw ${JSON.stringify(seen)}\n  page warnings:\n  ${log || '(none)'}`);
  }
}

/** Waits until the service worker controls the page (the app is precached). */
export async function waitServiceWorker(page, ms = 30_000) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: ms });
  // …and the precache is complete (the worker is activated once installed).
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return reg.active?.state;
  });
}

/** Opens a work item by its title. */
export async function openWork(page, title) {
  const item = page.locator(`[data-testid=work-item][data-title="${title}"]`);
  await item.waitFor();
  const id = await item.getAttribute('data-id');
  await item.click();
  return id;
}

/** A small JPEG made in the page (a photo the camera might have taken). */
export async function makeJpeg(page, seed) {
  const b64 = await page.evaluate(async (s) => {
    const c = document.createElement('canvas');
    c.width = 2400;
    c.height = 1800;
    const ctx = c.getContext('2d');
    ctx.fillStyle = `hsl(${(s * 57) % 360} 60% 55%)`;
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#fff';
    ctx.font = '200px sans-serif';
    ctx.fillText(`photo ${s}`, 200, 900);
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
    const buf = new Uint8Array(await blob.arrayBuffer());
    let bin = '';
    for (const b of buf) bin += String.fromCharCode(b);
    return btoa(bin);
  }, seed);
  return { name: `photo-${seed}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') };
}

/** Draws a signature on the pad. */
export async function drawSignature(page) {
  const pad = page.getByTestId('signature-pad');
  // In the middle of the window: not under the sticky top bar and status bar.
  await pad.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const box = await pad.boundingBox();
  await page.mouse.move(box.x + 20, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) {
    await page.mouse.move(box.x + 20 + i * ((box.width - 40) / 20), box.y + box.height / 2 + Math.sin(i) * 20);
  }
  await page.mouse.up();
}
