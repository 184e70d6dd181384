// Login: online once; the session is then kept on the device for offline use.

import { useState } from 'preact/hooks';

import { ApiError, login } from '../api';
import { t } from '../i18n';
import type { Session } from '../sync/store';
import { LangSwitch } from './app';

export function deviceName(): string {
  let d = globalThis.localStorage?.getItem('gendan.device');
  if (!d) {
    d = `tablet-${Math.random().toString(16).slice(2, 8)}`;
    globalThis.localStorage?.setItem('gendan.device', d);
  }
  return d;
}

export function Login({
  onLogin,
  username: initialUser,
  onCancel,
}: {
  onLogin: (s: Session) => void;
  username?: string;
  onCancel?: () => void;
}) {
  const [username, setUsername] = useState(initialUser ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await login(location.origin, username.trim(), password, deviceName());
      onLogin(s);
    } catch (err) {
      if (err instanceof ApiError) {
        setError(err.status === 401 ? t('login.bad_credentials') : `${t('login.failed')} ${err.message}`);
      } else {
        setError(t('login.offline'));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <form class="card login" onSubmit={submit} data-testid="login-form">
        <div class="login-head">
          <img src="/icons/icon-192.png" alt="" width={64} height={64} />
          <div>
            <h1>{t('app.name')}</h1>
            <p class="muted">{t('login.subtitle')}</p>
          </div>
        </div>
        <label>
          {t('login.username')}
          <input
            name="username"
            autocomplete="username"
            autocapitalize="none"
            value={username}
            onInput={(e) => setUsername((e.currentTarget as HTMLInputElement).value)}
            required
          />
        </label>
        <label>
          {t('login.password')}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
            required
          />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <p class="muted small">{t('login.online_once')}</p>
        {!globalThis.isSecureContext && (
          <p class="warn-text small" data-testid="insecure">
            {t('login.insecure')}
          </p>
        )}
        <div class="row between">
          <LangSwitch />
          <div class="row">
            {onCancel && (
              <button type="button" class="btn" onClick={onCancel}>
                {t('common.cancel')}
              </button>
            )}
            <button type="submit" class="btn btn-primary" disabled={busy} data-testid="login-submit">
              {busy ? t('login.busy') : t('login.submit')}
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
