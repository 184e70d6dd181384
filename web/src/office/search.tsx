// Search and archive: every record by order no., style no., customer or factory, and the
// orders they belong to (GET /api/v1/search), in pages.

import { useState } from 'preact/hooks';

import { t } from '../i18n';
import { Section, toastError } from '../ui/common';
import { typeLabel } from '../ui/mywork';
import type { SearchPage } from './api';
import { SummaryTable, orderHref, useOfficeApi } from './common';

const TYPES = ['order', 'purchase_order', 'inspection', 'stock_count', 'shipment_check', 'approval'];

export function SearchPageView() {
  const api = useOfficeApi();
  const [q, setQ] = useState('');
  const [type, setType] = useState('');
  const [page, setPage] = useState<SearchPage | null>(null);
  const [busy, setBusy] = useState(false);

  const go = async (after?: string) => {
    if (!q.trim()) return;
    setBusy(true);
    try {
      const next = await api.search(q.trim(), { type: type || undefined, after });
      setPage(
        after && page
          ? { items: [...page.items, ...next.items], orders: mergeOrders(page.orders, next.orders), next: next.next }
          : next,
      );
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="office" data-testid="search-page">
      <h1>{t('search.title')}</h1>
      <form
        class="card row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <input
          type="search"
          class="search grow"
          value={q}
          maxLength={100}
          placeholder={t('search.placeholder')}
          aria-label={t('search.placeholder')}
          onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
          data-testid="search-input"
        />
        <select
          value={type}
          onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value)}
          aria-label={t('work.filter')}
        >
          <option value="">{t('work.all')}</option>
          {TYPES.map((ty) => (
            <option key={ty} value={ty}>
              {typeLabel(ty)}
            </option>
          ))}
        </select>
        <button type="submit" class="btn btn-primary" disabled={busy || !q.trim()} data-testid="search-go">
          {t('search.go')}
        </button>
      </form>
      {page && (
        <>
          <Section title={t('search.orders', { n: page.orders.length })}>
            {page.orders.length === 0 ? (
              <p class="muted">{t('search.no_orders')}</p>
            ) : (
              <table class="count-table office-table" data-testid="search-orders">
                <thead>
                  <tr>
                    <th>{t('field.order_no')}</th>
                    <th>{t('field.style_no')}</th>
                    <th>{t('field.customer')}</th>
                    <th>{t('field.factory')}</th>
                    <th class="num">{t('search.records')}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.orders.map((o) => (
                    <tr key={o.order_no}>
                      <td>
                        <a href={orderHref(o.order_no)}>{o.order_no}</a>
                      </td>
                      <td>{o.style_no}</td>
                      <td>{o.customer}</td>
                      <td>{o.factory}</td>
                      <td class="num">{o.records}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title={t('search.records_found', { n: page.items.length })}>
            <SummaryTable items={page.items} testid="search-records" empty="work.no_match" />
            {page.next && (
              <button type="button" class="btn" disabled={busy} onClick={() => void go(page.next ?? undefined)}>
                {t('search.more')}
              </button>
            )}
          </Section>
        </>
      )}
    </div>
  );
}

function mergeOrders(a: SearchPage['orders'], b: SearchPage['orders']): SearchPage['orders'] {
  const out = new Map(a.map((o) => [o.order_no, { ...o }]));
  for (const o of b) {
    const have = out.get(o.order_no);
    if (have) have.records += o.records;
    else out.set(o.order_no, { ...o });
  }
  return [...out.values()].sort((x, y) => x.order_no.localeCompare(y.order_no));
}
