// The sync status, always on screen: connected or not, last synced, records and photos not
// yet on the server, and a session that needs a new login.

import { fmtDateTime, fmtTime, t } from '../i18n';
import { useEngine } from './common';

function sameDay(a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

export function StatusBar({ onRelogin }: { onRelogin: () => void }) {
  const engine = useEngine();
  const s = engine.getStatus();
  const state = s.socket === 'joined' ? 'online' : s.socket === 'connecting' ? 'connecting' : 'offline';
  const label =
    state === 'online' ? t('sync.online') : state === 'connecting' ? t('sync.connecting') : t('sync.offline');
  const last = s.lastSyncedMs
    ? sameDay(s.lastSyncedMs, Date.now())
      ? fmtTime(s.lastSyncedMs)
      : fmtDateTime(s.lastSyncedMs)
    : t('sync.never');
  return (
    <div class={`statusbar statusbar-${state}`} data-testid="statusbar" data-socket={s.socket}>
      <span class="status-dot" aria-hidden="true" />
      <span class="status-item" data-testid="sync-state">
        {label}
      </span>
      <span class="status-item" data-testid="last-synced">
        {t('sync.last_synced', { time: last })}
      </span>
      <span
        class={`status-item ${s.unsyncedRecords > 0 ? 'warn' : ''}`}
        data-testid="unsynced-records"
        data-count={s.unsyncedRecords}
      >
        {t('sync.unsynced_records', { n: s.unsyncedRecords })}
      </span>
      <span
        class={`status-item ${s.photosPending > 0 ? 'warn' : ''}`}
        data-testid="pending-photos"
        data-count={s.photosPending}
      >
        {t('sync.pending_photos', { n: s.photosPending })}
      </span>
      {s.sessionExpired && (
        <button type="button" class="btn btn-warn" onClick={onRelogin} data-testid="relogin">
          {t('sync.session_expired')}
        </button>
      )}
      {s.error && !s.sessionExpired && (
        <span class="status-item warn" title={s.error}>
          {t('sync.server_error')}
        </span>
      )}
    </div>
  );
}
