// The app shell: session, the sync engine's lifetime, routing, header and status bar.

import { useEffect, useState } from 'preact/hooks';

import { logout } from '../api';
import { LANGS, lang, onLangChange, setLang, t, type Lang, type MessageKey } from '../i18n';
import { SyncEngine } from '../sync/engine';
import { LocalStore, type DeviceStore, type Session } from '../sync/store';
import { ConfirmHost, EngineContext, Toasts, confirmDialog, useEngine } from './common';
import { Login } from './login';
import { isOffice } from '../office/api';
import { ApprovalsInbox } from '../office/approvals';
import { CreatePage } from '../office/create';
import { Dashboard } from '../office/dashboard';
import { OrderPage } from '../office/order';
import { OfficeRecord } from '../office/record';
import { SearchPageView } from '../office/search';
import { MyWork } from './mywork';
import { RecordScreen } from './record';
import { SettingsPanel } from './settings';
import { StatusBar } from './status';

export function LangSwitch() {
  const current = lang();
  return (
    <div class="lang-switch" role="group" aria-label={t('lang.switch')}>
      {LANGS.map((l: Lang) => (
        <button
          type="button"
          key={l}
          class={`btn btn-small ${l === current ? 'btn-selected' : ''}`}
          aria-pressed={l === current}
          onClick={() => setLang(l)}
          data-testid={`lang-${l}`}
        >
          {l === 'zh-CN' ? '中文' : 'English'}
        </button>
      ))}
    </div>
  );
}

const ROLE_KEYS: Record<string, MessageKey> = {
  qc: 'role.qc',
  warehouse: 'role.warehouse',
  shipping: 'role.shipping',
  merchandiser: 'role.merchandiser',
  sales: 'role.sales',
  approver: 'role.approver',
  admin: 'role.admin',
  factory: 'role.factory',
};

export function roleLabel(role: string): string {
  const k = ROLE_KEYS[role];
  return k ? t(k) : t('role.other', { value: role });
}

/**
 * `#/` (My work, or the dashboard for office roles), `#/r/<id>`, `#/r/<id>/report`; office
 * pages: `#/order/<order no.>`, `#/o/<id>`, `#/approvals`, `#/search`, `#/new`.
 */
export type Route =
  | { name: 'work' }
  | { name: 'record'; id: string }
  | { name: 'report'; id: string }
  | { name: 'order'; orderNo: string }
  | { name: 'orecord'; id: string }
  | { name: 'approvals' }
  | { name: 'search' }
  | { name: 'new' };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseRoute(hash: string): Route {
  const m = /^#\/r\/([^/]+)(\/report)?$/.exec(hash);
  if (m) {
    const id = decode(m[1]);
    if (id !== null) return m[2] ? { name: 'report', id } : { name: 'record', id };
  }
  const o = /^#\/(order|o)\/([^/]+)$/.exec(hash);
  if (o) {
    const v = decode(o[2]);
    if (v !== null) return o[1] === 'order' ? { name: 'order', orderNo: v } : { name: 'orecord', id: v };
  }
  if (hash === '#/approvals') return { name: 'approvals' };
  if (hash === '#/search') return { name: 'search' };
  if (hash === '#/new') return { name: 'new' };
  return { name: 'work' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const f = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return route;
}

/** One tab per user on a device: two would write the same documents with the same actor. */
function acquireLock(name: string): Promise<(() => void) | null> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((resolve) => {
    void locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise<void>((release) => resolve(release));
    });
  });
}

type EngineState = { kind: 'none' } | { kind: 'opening' } | { kind: 'locked' } | { kind: 'ready'; engine: SyncEngine };

export function App({ device }: { device: DeviceStore }) {
  const [, setLangVersion] = useState(0);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [engineState, setEngineState] = useState<EngineState>({ kind: 'none' });
  const [relogin, setRelogin] = useState(false);
  const route = useRoute();
  const username = session?.user.username;

  useEffect(() => onLangChange(() => setLangVersion((v) => v + 1)), []);
  useEffect(() => {
    document.documentElement.lang = lang();
    void device.session().then((s) => setSession(s ?? null));
  }, []);

  // The engine lives as long as the same user is logged in on this device.
  useEffect(() => {
    if (!session) {
      setEngineState({ kind: 'none' });
      return;
    }
    let alive = true;
    let engine: SyncEngine | null = null;
    let detach: (() => void) | null = null;
    let release: (() => void) | null = null;
    setEngineState({ kind: 'opening' });
    (async () => {
      release = await acquireLock(`gendan-user-${session.user.username}`);
      if (!alive) return release?.();
      if (!release) return setEngineState({ kind: 'locked' });
      const store = await LocalStore.open(session.user.username);
      engine = await SyncEngine.open({ store, session, base: location.origin });
      if (!alive) {
        store.close();
        return release();
      }
      (window as unknown as { gendan?: SyncEngine }).gendan = engine; // for support and tests
      detach = engine.attach(window);
      engine.start();
      setEngineState({ kind: 'ready', engine });
    })().catch((e) => {
      console.error(e);
      setEngineState({ kind: 'none' });
    });
    return () => {
      alive = false;
      detach?.();
      void engine?.stop();
      release?.();
    };
  }, [username]);

  const onLogin = async (s: Session) => {
    await device.setSession(s);
    setRelogin(false);
    if (engineState.kind === 'ready' && engineState.engine.user === s.user.username) {
      engineState.engine.updateSession(s);
    }
    setSession(s);
  };

  const signOut = async () => {
    if (engineState.kind === 'ready') {
      const e = engineState.engine;
      const st = e.getStatus();
      if (st.unsyncedRecords > 0 || st.photosPending > 0) {
        const ok = await confirmDialog(
          t('signout.unsynced_title'),
          t('signout.unsynced_body', { n: st.unsyncedRecords, p: st.photosPending }),
          t('signout.anyway'),
        );
        if (!ok) return;
      }
      await e.flushSaves();
    }
    if (session) void logout(location.origin, session.token).catch(() => undefined);
    await device.clearSession();
    location.hash = '#/';
    setSession(null);
  };

  let body;
  if (session === undefined) body = <p class="boot">{t('app.loading')}</p>;
  else if (!session || relogin)
    body = (
      <Login
        onLogin={onLogin}
        username={relogin ? session?.user.username : undefined}
        onCancel={relogin ? () => setRelogin(false) : undefined}
      />
    );
  else if (engineState.kind === 'locked') body = <p class="boot">{t('app.other_tab')}</p>;
  else if (engineState.kind !== 'ready') body = <p class="boot">{t('app.loading')}</p>;
  else
    body = (
      <EngineContext.Provider value={engineState.engine}>
        <Shell route={route} onRelogin={() => setRelogin(true)} onSignOut={signOut} />
      </EngineContext.Provider>
    );

  return (
    <>
      {body}
      <ConfirmHost />
      <Toasts />
    </>
  );
}

const OFFICE_NAV: [string, Route['name'], MessageKey][] = [
  ['#/', 'work', 'nav.dashboard'],
  ['#/approvals', 'approvals', 'nav.approvals'],
  ['#/search', 'search', 'nav.search'],
  ['#/new', 'new', 'nav.new'],
];

function Page({ route, office }: { route: Route; office: boolean }) {
  switch (route.name) {
    case 'work':
      return office ? <Dashboard /> : <MyWork />;
    case 'record':
    case 'report':
      return office ? <OfficeRecord id={route.id} /> : <RecordScreen id={route.id} report={route.name === 'report'} />;
    case 'order':
      return office ? <OrderPage orderNo={route.orderNo} /> : <MyWork />;
    case 'orecord':
      return office ? <OfficeRecord id={route.id} /> : <RecordScreen id={route.id} report={false} />;
    case 'approvals':
      return office ? <ApprovalsInbox /> : <MyWork />;
    case 'search':
      return office ? <SearchPageView /> : <MyWork />;
    case 'new':
      return office ? <CreatePage /> : <MyWork />;
  }
}

function Shell({ route, onRelogin, onSignOut }: { route: Route; onRelogin: () => void; onSignOut: () => void }) {
  const engine = useEngine();
  const user = engine.session.user;
  const office = isOffice(user.role);
  const [settings, setSettings] = useState(false);
  return (
    <div class={`shell route-${route.name}`}>
      {/* The top bar and the sync status stay on screen however long the page is. */}
      <div class="shell-head no-print" data-testid="shell-head">
      <header class="topbar">
        <a href="#/" class="brand" data-testid="home">
          <img src="/icons/icon-192.png" alt="" width={40} height={40} />
          <span>{t('app.name')}</span>
        </a>
        <nav class="row wrap">
          {office ? (
            OFFICE_NAV.map(([href, name, key]) => (
              <a
                key={href}
                href={href}
                class={`btn btn-nav ${route.name === name ? 'btn-selected' : ''}`}
                data-testid={`nav-${name}`}
              >
                {t(key)}
              </a>
            ))
          ) : (
            <a href="#/" class={`btn btn-nav ${route.name === 'work' ? 'btn-selected' : ''}`}>
              {t('nav.my_work')}
            </a>
          )}
        </nav>
        <div class="row user">
          <span class="muted" data-testid="user-name">
            {user.display_name || user.username} · {roleLabel(user.role)}
          </span>
          <LangSwitch />
          <button type="button" class="btn btn-nav" onClick={() => setSettings(true)} data-testid="settings-open">
            {t('settings.open')}
          </button>
          <button type="button" class="btn" onClick={onSignOut} data-testid="sign-out">
            {t('nav.sign_out')}
          </button>
        </div>
      </header>
      <StatusBar onRelogin={onRelogin} />
      </div>
      {settings && <SettingsPanel onClose={() => setSettings(false)} />}
      <main class="content">
        <Page route={route} office={office} />
      </main>
    </div>
  );
}
