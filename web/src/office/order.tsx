// The order page: its risk, payment gates, records and one timeline of what happened.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t, type MessageKey } from '../i18n';
import { Section, StatusChip, Verdict } from '../ui/common';
import { typeLabel } from '../ui/mywork';

import { StageActions, milestoneLabel } from './actions';
import type { Alarm, Timeline } from './api';
import { LoadState, RiskChip, activityText, gateTerm, gateText, recordHref, useLoad, useOfficeApi, whatLabel } from './common';

function alarmText(a: Alarm): string {
  const keys: Record<Alarm['alarm'], MessageKey> = {
    milestone_overdue: 'alarm.milestone_overdue',
    production_behind: 'alarm.production_behind',
    projected_late: 'alarm.projected_late',
    past_delivery: 'alarm.past_delivery',
    shipping_marks_missing: 'alarm.shipping_marks_missing',
  };
  return t(keys[a.alarm], {
    name: a.id ? milestoneLabel(a.id, a.name ?? '') : (a.name ?? ''),
    days: a.days ?? a.days_to_delivery ?? 0,
    planned: a.planned ?? 0,
    actual: a.actual ?? 0,
  });
}

export function OrderPage({ orderNo }: { orderNo: string }) {
  const api = useOfficeApi();
  const state = useLoad(() => api.timeline(orderNo), [api, orderNo]);
  return (
    <div class="office" data-testid="order-page">
      <div class="row between">
        <h1>
          {t('order.title')} {orderNo}
        </h1>
        <button type="button" class="btn" onClick={state.reload}>
          {t('office.reload')}
        </button>
      </div>
      <LoadState state={state}>
        {(d) => (
          <>
            <OrderBody d={d} />
            <OrderActions d={d} onChange={state.reload} />
          </>
        )}
      </LoadState>
    </div>
  );
}

/** The types the office acts on from the order page. */
const ACTION_TYPES = new Set(['order', 'order_commercial', 'purchase_order']);

/** The follow-up actions of one of the order's records, chosen here; after each, the
 *  record and the whole page (timeline, gates, risk) are read again. */
function OrderActions({ d, onChange }: { d: Timeline; onChange: () => void }) {
  const api = useOfficeApi();
  const targets = d.records.filter((r) => ACTION_TYPES.has(r.record_type));
  const [id, setId] = useState(targets[0]?.id ?? '');
  const record = useLoad(() => (id ? api.record(id) : Promise.resolve(null)), [api, id]);
  if (targets.length === 0) return null;
  const r = record.data;
  return (
    <Section title={t('act.on_order')}>
      <label class="field">
        <span>{t('act.f_record')}</span>
        <select data-testid="order-act-record" value={id} onChange={(e) => setId(e.currentTarget.value)}>
          {targets.map((x) => (
            <option key={x.id} value={x.id}>
              {typeLabel(x.record_type)} {x.title}
            </option>
          ))}
        </select>
      </label>
      {r && r.id === id && (
        <StageActions
          id={r.id}
          type={r.type}
          rec={r.view.record}
          api={api}
          onChange={() => {
            record.reload();
            onChange();
          }}
        />
      )}
    </Section>
  );
}

function OrderBody({ d }: { d: Timeline }) {
  const r = d.risk;
  return (
    <>
      {r && (
        <Section title={t('order.position')}>
          <dl class="fields">
            <div class="field">
              <dt>{t('field.style_no')}</dt>
              <dd>{r.style_no}</dd>
            </div>
            <div class="field">
              <dt>{t('field.factory')}</dt>
              <dd>{r.factory}</dd>
            </div>
            <div class="field">
              <dt>{t('risk.delivery')}</dt>
              <dd>{fmtDate(r.delivery_ms)}</dd>
            </div>
            <div class="field">
              <dt>{t('risk.projected')}</dt>
              <dd>{fmtDate(r.projected_ship_ms)}</dd>
            </div>
            <div class="field">
              <dt>{t('risk.level')}</dt>
              <dd>
                <RiskChip level={r.level} />
              </dd>
            </div>
          </dl>
          {r.alarms.length > 0 && (
            <ul class="reasons" data-testid="order-alarms">
              {r.alarms.map((a, i) => (
                <li key={i}>{alarmText(a)}</li>
              ))}
            </ul>
          )}
        </Section>
      )}
      {d.gates.length > 0 && (
        <Section title={t('gate.title')}>
          <ul class="plain-list" data-testid="order-gates">
            {d.gates.map((g) => (
              <li key={g.id}>
                <a href={recordHref(g.id)}>{g.po_no || g.id}</a>:{' '}
                <span class={g.gate?.state === 'blocked' ? 'warn-text' : ''} data-testid="gate-state" data-state={g.gate?.state ?? ''}>
                  {gateText(g.gate)}
                </span>
                {g.gate && <span class="muted"> · {gateTerm(g.gate)}</span>}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title={t('order.records', { n: d.records.length })}>
        <table class="count-table office-table" data-testid="order-records">
          <thead>
            <tr>
              <th>{t('office.col_type')}</th>
              <th>{t('office.col_record')}</th>
              <th>{t('office.col_status')}</th>
              <th>{t('office.col_assignees')}</th>
            </tr>
          </thead>
          <tbody>
            {d.records.map((s) => (
              <tr key={s.id} data-id={s.id}>
                <td>{typeLabel(s.record_type)}</td>
                <td>
                  <a href={recordHref(s.id)}>{s.title || s.id}</a>
                </td>
                <td>
                  <div class="row wrap">
                    <StatusChip status={s.status} />
                    {s.verdict && s.record_type === 'inspection' && s.status !== 'open' && <Verdict verdict={s.verdict} />}
                  </div>
                </td>
                <td>{s.assignees.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title={t('order.timeline')}>
        {d.truncated && <p class="warn-text">{t('order.truncated')}</p>}
        <ol class="timeline" data-testid="timeline">
          {[...d.events].reverse().map((e, i) => (
            <li key={i} data-testid="timeline-event" data-what={e.what} data-user={e.user} data-record={e.record_id}>
              <span class="muted nowrap">{fmtDateTime(e.at_ms)}</span>{' '}
              <strong>{e.user || t('order.unknown_user')}</strong> {whatLabel(e.what)}
{' '}
              <a href={recordHref(e.record_id)}>
                {typeLabel(e.record_type)} {e.title}
              </a>
              {e.count > 1 && <span class="muted"> ×{e.count}</span>}
              {e.text && <div class="muted">{activityText(e.code, e.params, e.text)}</div>}
            </li>
          ))}
        </ol>
      </Section>
    </>
  );
}
