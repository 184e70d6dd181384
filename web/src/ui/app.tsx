// The app shell: session, the sync engine's lifetime, routing, header and status bar.

import { useEffect, useState } from 'preact/hooks';

import { logout } from '../api';
import { LANGS, lang, onLangChange, setLang, t, type Lang, type MessageKey } from '../i18n';
import { SyncEngine } from '../sync/engine';
import { LocalStore, type DeviceStore, type Session } from '../sync/store';
import { ConfirmHost, EngineContext, Toasts, confirmDialog, useEngine } from './common';
import { Login } from './login';
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

/** `#/`, `#/r/<id>`, `#/r/<id>/report`. */
export type Route = { name: 'work' } | { name: 'record'; id: string } | { name: 'report'; id: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/r\/([^/]+)(\/report)?$/.exec(hash);
  if (m) return m[2] ? { name: 'report', id: decodeURIComponent(m[1]) } : { name: 'record', id: decodeURIComponent(m[1]) };
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

function Shell({ route, onRelogin, onSignOut }: { route: Route; onRelogin: () => void; onSignOut: () => void }) {
  const engine = useEngine();
  const user = engine.session.user;
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
        <nav class="row">
          <a href="#/" class={`btn btn-nav ${route.name === 'work' ? 'btn-selected' : ''}`}>
            {t('nav.my_work')}
          </a>
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
        {route.name === 'work' ? <MyWork /> : <RecordScreen id={route.id} report={route.name === 'report'} />}
      </main>
    </div>
  );
}
