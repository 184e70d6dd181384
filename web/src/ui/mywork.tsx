// My work: the records in the user's index, by due date and status, searchable.

import { useState } from 'preact/hooks';

import { fmtDate, t, type MessageKey } from '../i18n';
import type { SyncEngine, Summary } from '../sync/engine';
import { StatusChip, UnsyncedBadge, Verdict, useEngine } from './common';
import { DONE_STATUSES, workList, type WorkItem } from './worklist';

const TYPE_KEYS: Record<string, MessageKey> = {
  inspection: 'type.inspection',
  stock_count: 'type.stock_count',
  shipment_check: 'type.shipment_check',
  order: 'type.order',
  order_commercial: 'type.order_commercial',
  purchase_order: 'type.purchase_order',
  approval: 'type.approval',
};

export function typeLabel(type: string): string {
  const k = TYPE_KEYS[type];
  return k ? t(k) : t('type.other', { value: type });
}

type LocalInfo = { key: string; status: string; verdict: string; extra: string };
const localCache = new Map<string, LocalInfo>();

/** Status, verdict and search text from the device's own copy (cached by heads). */
function localInfo(engine: SyncEngine, id: string): LocalInfo | null {
  const heads = engine.heads(id);
  if (heads.length === 0) return null;
  const key = heads.join(',');
  const cached = localCache.get(id);
  if (cached && cached.key === key) return cached;
  let v: { record: Record<string, unknown>; derived: Record<string, unknown> } | null = null;
  try {
    v = engine.view(id);
  } catch {
    v = null;
  }
  if (!v) return null;
  const lines = (v.record.lines ?? {}) as Record<string, { location?: string; sku?: string; po_no?: string }>;
  const extra = Object.values(lines)
    .map((l) => [l.location, l.sku, l.po_no].filter(Boolean).join(' '))
    .join(' ');
  const info = {
    key,
    status: String(v.derived.status ?? ''),
    verdict: String(v.derived.verdict ?? ''),
    extra,
  };
  localCache.set(id, info);
  return info;
}

export function MyWork() {
  const engine = useEngine();
  const [query, setQuery] = useState('');
  const [type, setType] = useState<string | null>(null);
  const entries = engine.indexEntries();
  const items: WorkItem[] = Object.entries(entries).map(([id, summary]: [string, Summary]) => {
    const local = localInfo(engine, id);
    return {
      id,
      summary,
      status: local?.status || summary.status,
      verdict: local?.verdict ?? summary.verdict,
      extraText: local?.extra ?? '',
      held: local !== null,
    };
  });
  const types = [...new Set(items.map((i) => i.summary.record_type))].sort();
  const list = workList(items, query, type);
  const now = Date.now();
  const status = engine.getStatus();

  return (
    <div class="mywork">
      <div class="toolbar">
        <input
          type="search"
          class="search"
          placeholder={t('work.search')}
          value={query}
          onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
          data-testid="work-search"
          aria-label={t('work.search')}
        />
        <div class="row wrap" role="group" aria-label={t('work.filter')}>
          <button type="button" class={`btn ${type === null ? 'btn-selected' : ''}`} onClick={() => setType(null)}>
            {t('work.all')} ({items.length})
          </button>
          {types.map((ty) => (
            <button
              type="button"
              key={ty}
              class={`btn ${type === ty ? 'btn-selected' : ''}`}
              onClick={() => setType(ty)}
            >
              {typeLabel(ty)} ({items.filter((i) => i.summary.record_type === ty).length})
            </button>
          ))}
        </div>
      </div>
      {items.length === 0 && (
        <p class="empty card" data-testid="work-empty">
          {engine.session.index_id
            ? status.socket === 'joined'
              ? t('work.empty')
              : t('work.empty_offline')
            : t('work.office_user')}
        </p>
      )}
      <ul class="worklist" data-testid="worklist">
        {list.map((i) => {
          const s = i.summary;
          const overdue = s.due_ms > 0 && s.due_ms < now && !DONE_STATUSES.has(i.status);
          return (
            <li key={i.id}>
              <a
                class="card work-item"
                href={`#/r/${encodeURIComponent(i.id)}`}
                data-testid="work-item"
                data-id={i.id}
                data-type={s.record_type}
                data-title={s.title}
              >
                <div class="work-main">
                  <span class={`type-tag type-${s.record_type}`}>{typeLabel(s.record_type)}</span>
                  <strong class="work-title">{s.title || s.order_no || i.id}</strong>
                  <div class="muted work-meta">
                    {[
                      s.order_no && `${t('field.order_no')} ${s.order_no}`,
                      s.style_no && `${t('field.style_no')} ${s.style_no}`,
                      s.po_no && `${t('field.po_no')} ${s.po_no}`,
                      s.factory,
                      s.warehouse,
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </div>
                </div>
                <div class="work-side">
                  {s.due_ms > 0 && (
                    <span class={`due ${overdue ? 'overdue' : ''}`}>
                      {t('work.due', { date: fmtDate(s.due_ms) })}
                    </span>
                  )}
                  <div class="row wrap end">
                    <StatusChip status={i.status} />
                    {i.verdict && i.status !== 'open' && s.record_type !== 'stock_count' && <Verdict verdict={i.verdict} />}
                    <UnsyncedBadge id={i.id} />
                    {!i.held && <span class="badge badge-muted">{t('work.not_downloaded')}</span>}
                  </div>
                </div>
              </a>
            </li>
          );
        })}
      </ul>
      {items.length > 0 && list.length === 0 && <p class="empty">{t('work.no_match')}</p>}
    </div>
  );
}
