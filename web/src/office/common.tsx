// Shared pieces of the office pages: the API client of the session, loading, labels.

import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { fmtDate, lang, t, type MessageKey } from '../i18n';
import { errorText } from '../i18n/errors';
import { useEngine } from '../ui/common';
import { codeLabel, tOr } from '../i18n/labels';
import { OfficeApi, type Gate, type ImportRowError, type Summary } from './api';

export function useOfficeApi(): OfficeApi {
  const engine = useEngine();
  const token = engine.session.token;
  return useMemo(() => new OfficeApi(location.origin, token), [token]);
}

export type Loaded<T> = { data: T | null; error: string | null; loading: boolean; reload: () => void };

/** Runs `load` when `deps` change (and on `reload`); keeps the last answer while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let alive = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!alive) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (alive) setError(errorText(e));
      })
      .finally(() => {
        if (alive) setLoading(false);
      });
    return () => {
      alive = false;
    };
  }, [...deps, version]);
  return { data, error, loading, reload: () => setVersion((v) => v + 1) };
}

/** Loading, or the error, or the page. */
export function LoadState<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.error && !state.data)
    return (
      <p class="card warn-text" data-testid="office-error">
        {t('office.load_failed')} {state.error}
      </p>
    );
  if (!state.data) return <p class="boot">{t('app.loading')}</p>;
  return <>{children(state.data)}</>;
}

export function orderHref(orderNo: string): string {
  return `#/order/${encodeURIComponent(orderNo)}`;
}

export function recordHref(id: string): string {
  return `#/o/${encodeURIComponent(id)}`;
}

export function OrderLink({ orderNo }: { orderNo: string | null | undefined }) {
  if (!orderNo) return null;
  return (
    <a href={orderHref(orderNo)} data-testid="order-link">
      {orderNo}
    </a>
  );
}

const LEVEL_KEYS: Record<string, MessageKey> = {
  shipped: 'risk.shipped',
  on_track: 'risk.on_track',
  watch: 'risk.watch',
  at_risk: 'risk.at_risk',
  late: 'risk.late',
};

export function RiskChip({ level }: { level: string }) {
  const k = LEVEL_KEYS[level];
  return (
    <span class={`chip risk-${level}`} data-testid="risk-level">
      {k ? t(k) : level}
    </span>
  );
}

const GATE_KEYS: Record<string, MessageKey> = {
  lc_not_received: 'gate.lc_not_received',
  lc_not_checked: 'gate.lc_not_checked',
  lc_discrepant: 'gate.lc_discrepant',
  deposit_not_confirmed: 'gate.deposit_not_confirmed',
};

/** A payment gate in words: open, open by the GM's special approval (who, why), or why blocked. */
export function gateText(gate: Gate | { state: string; reason?: string } | null): string {
  if (!gate) return t('gate.unknown');
  if (gate.state === 'open') return t('gate.open');
  if (gate.state === 'open_by_special_approval') {
    const g = gate as Gate;
    const who = (g.approved_by ?? []).join(', ');
    return who || g.reason
      ? `${t('gate.open_special')} — ${t('gate.special_by', { who: who || '—', reason: g.reason ?? '' })}`
      : t('gate.open_special');
  }
  const k = gate.reason ? GATE_KEYS[gate.reason] : undefined;
  return k ? t(k) : t('gate.blocked');
}

/** The payment term of a gate in words. */
export function gateTerm(gate: Gate | null): string {
  return gate?.term ? t('gate.term', { term: codeLabel('payment_terms', gate.term) }) : '';
}

/** A small table of record summaries, each linked to its office page. */
export function SummaryTable({ items, testid, empty }: { items: Summary[]; testid: string; empty: MessageKey }) {
  if (items.length === 0)
    return (
      <p class="muted" data-testid={`${testid}-empty`}>
        {t(empty)}
      </p>
    );
  return (
    <table class="count-table office-table" data-testid={testid}>
      <thead>
        <tr>
          <th>{t('office.col_record')}</th>
          <th>{t('field.order_no')}</th>
          <th>{t('field.factory')}</th>
          <th>{t('field.due')}</th>
          <th>{t('office.col_assignees')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((s) => (
          <tr key={s.id} data-id={s.id} data-testid={`${testid}-row`}>
            <td>
              <a href={recordHref(s.id)}>{s.title || s.id}</a>
            </td>
            <td>
              <OrderLink orderNo={s.order_no} />
            </td>
            <td>{s.factory || s.warehouse || ''}</td>
            <td class="nowrap">{s.due_ms ? fmtDate(s.due_ms) : ''}</td>
            <td>{s.assignees.join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const WHAT_KEYS: Record<string, MessageKey> = {
  create: 'what.create',
  assign: 'what.assign',
  unassign: 'what.unassign',
  activity: 'what.activity',
  add_defect: 'what.add_defect',
  tally_defect: 'what.tally_defect',
  edit_defect: 'what.edit_defect',
  void_defect: 'what.void_defect',
  add_defect_photo: 'what.add_photo',
  add_check_photo: 'what.add_photo',
  add_photo: 'what.add_photo',
  record_reading: 'what.record_reading',
  set_check: 'what.set_check',
  override_verdict: 'what.override_verdict',
  clear_override: 'what.clear_override',
  sign_off: 'what.sign_off',
  set_count: 'what.set_count',
  submit: 'what.submit',
  request_recount: 'what.request_recount',
  approve: 'what.approve',
  reject: 'what.reject',
  purchase_order: 'what.purchase_order',
  commercial: 'what.commercial',
  shipment_check: 'what.shipment_check',
};

/**
 * An order's activity-log entry in the interface's language, from its code and the values
 * it names (dates as dates, milestones, kinds and sample rounds by their labels); an entry
 * without a known code shows the English the server kept.
 */
export function activityText(code: string | undefined, params: Record<string, string> | undefined, english: string): string {
  if (!code) return english;
  const p: Record<string, string> = { ...params };
  for (const [ms, as] of [['delivery_ms', 'delivery'], ['planned_ms', 'planned']]) {
    if (p[ms]) p[as] = fmtDate(Number(p[ms]));
  }
  if (p.code) p.name = codeLabel('milestones', p.code) || p.name;
  if (p.kind) p.kind = codeLabel(code.startsWith('packaging') ? 'packaging_kinds' : 'handover_kinds', p.kind);
  if (p.round) p.round = codeLabel('sample_rounds', p.round);
  return tOr(`code.activities.${code}`, english, p);
}

/**
 * Why a row of an imported sheet was refused, in the interface's language (the column by
 * its header in that language); the server's English for a code this app does not know.
 */
export function importRowText(e: ImportRowError): string {
  if (!e.code) return e.message;
  const p: Record<string, string> = { ...e.params };
  if (lang() !== 'zh-CN' && p.column_en) p.column = p.column_en;
  return tOr(`code.import_errors.${e.code}`, e.message, p);
}

/** What a timeline event did, in words; an operation without a message shows its code. */
export function whatLabel(what: string): string {
  const k = WHAT_KEYS[what];
  return k ? t(k) : t('what.other', { op: what });
}
