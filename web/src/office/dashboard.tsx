// The office dashboard: what to act on now, from GET /api/v1/dashboard.

import { fmtDate, lang, t } from '../i18n';
import { codeLabel } from '../i18n/labels';
import { milestoneLabel } from './actions';
import { Section, run } from '../ui/common';
import { useState } from 'preact/hooks';
import type { Dashboard as Data, ImportSummary, OfficeApi } from './api';
import { LateChart, ParetoChart } from './chart';
import { LoadState, OrderLink, RiskChip, SummaryTable, gateText, importRowText, recordHref, useLoad, useOfficeApi } from './common';

/** Downloads the order tracking sheet, headers in the interface's language. */
async function download(api: OfficeApi): Promise<void> {
  await run(async () => {
    const blob = await api.exportOrders(lang() === 'zh-CN' ? 'zh' : 'en');
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = 'orders.xlsx';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
}

/** The upload of a tracking sheet, and what the server did with it. */
function Upload({ api, onDone }: { api: OfficeApi; onDone: () => void }) {
  const [summary, setSummary] = useState<ImportSummary | null>(null);
  const pick = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    await run(async () => {
      setSummary(await api.importOrders(file));
      onDone();
    });
    input.value = '';
  };
  return (
    <>
      <label class="btn">
        {t('dash.import')}
        <input
          type="file"
          accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          hidden
          data-testid="dash-import"
          onChange={(e) => void pick(e.currentTarget)}
        />
      </label>
      {summary && (
        <div class="import-summary" data-testid="dash-import-summary">
          <p>
            {t('dash.import_summary', { created: summary.created, updated: summary.updated, errors: summary.errors.length })}
          </p>
          {summary.errors.length > 0 && (
            <ul class="reasons">
              {summary.errors.map((e, i) => (
                <li key={i} data-code={e.code}>
                  {t('dash.import_row', { row: e.row, message: importRowText(e) })}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  );
}

export function Dashboard() {
  const api = useOfficeApi();
  const state = useLoad(() => api.dashboard(), [api]);
  return (
    <div class="office" data-testid="dashboard">
      <div class="row between">
        <h1>{t('dash.title')}</h1>
        <div class="row wrap">
          <button type="button" class="btn" onClick={() => void download(api)} data-testid="dash-export">
            {t('dash.export')}
          </button>
          <Upload api={api} onDone={state.reload} />
          <button type="button" class="btn" onClick={state.reload} data-testid="dash-reload">
            {t('office.reload')}
          </button>
        </div>
      </div>
      <LoadState state={state}>{(d) => <DashboardBody d={d} />}</LoadState>
    </div>
  );
}

function DashboardBody({ d }: { d: Data }) {
  return (
    <>
      {d.truncated && <p class="warn-text">{t('dash.truncated')}</p>}
      <div class="office-grid">
        <Section title={t('dash.at_risk', { n: d.at_risk.length })}>
          {d.at_risk.length === 0 ? (
            <p class="muted">{t('dash.none_at_risk')}</p>
          ) : (
            <table class="count-table office-table" data-testid="dash-at-risk">
              <thead>
                <tr>
                  <th>{t('field.order_no')}</th>
                  <th>{t('field.factory')}</th>
                  <th>{t('risk.delivery')}</th>
                  <th>{t('risk.projected')}</th>
                  <th>{t('risk.level')}</th>
                </tr>
              </thead>
              <tbody>
                {d.at_risk.map((r) => (
                  <tr key={r.order_id} data-testid="dash-at-risk-row">
                    <td>
                      <OrderLink orderNo={r.order_no} /> <span class="muted">{r.style_no}</span>
                    </td>
                    <td>{r.factory}</td>
                    <td class="nowrap">{fmtDate(r.delivery_ms)}</td>
                    <td class="nowrap">
                      {fmtDate(r.projected_ship_ms)}
                      {r.slip_days > 0 && <span class="warn-text"> {t('risk.slip', { n: r.slip_days })}</span>}
                    </td>
                    <td>
                      <RiskChip level={r.level} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title={t('dash.my_approvals', { n: d.my_approvals.length })}>
          {d.my_approvals.length === 0 ? (
            <p class="muted">{t('dash.no_approvals')}</p>
          ) : (
            <ul class="plain-list" data-testid="dash-approvals">
              {d.my_approvals.map((a) => (
                <li key={a.id}>
                  <a href="#/approvals">{a.subject || a.id}</a> <span class="muted">{codeLabel('approval_kinds', a.kind)}</span>{' '}
                  <OrderLink orderNo={a.order_no} />
                  {a.overdue && <span class="badge badge-warn">{t('approval.overdue')}</span>}
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title={t('dash.overdue_milestones', { n: d.overdue_milestones.length })}>
          {d.overdue_milestones.length === 0 ? (
            <p class="muted">{t('dash.none_overdue')}</p>
          ) : (
            <table class="count-table office-table" data-testid="dash-overdue">
              <thead>
                <tr>
                  <th>{t('field.order_no')}</th>
                  <th>{t('dash.milestone')}</th>
                  <th>{t('field.factory')}</th>
                  <th class="num">{t('dash.days_overdue')}</th>
                </tr>
              </thead>
              <tbody>
                {d.overdue_milestones.map((m) => (
                  <tr key={`${m.order_id}/${m.milestone}`}>
                    <td>
                      <OrderLink orderNo={m.order_no} />
                    </td>
                    <td>{milestoneLabel(m.milestone, m.name)}</td>
                    <td>{m.factory}</td>
                    <td class="num">{m.days}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title={t('dash.blocked_pos', { n: d.blocked_pos.length })}>
          {d.blocked_pos.length === 0 ? (
            <p class="muted">{t('dash.none_blocked')}</p>
          ) : (
            <table class="count-table office-table" data-testid="dash-blocked">
              <thead>
                <tr>
                  <th>{t('field.po_no')}</th>
                  <th>{t('field.order_no')}</th>
                  <th>{t('field.factory')}</th>
                  <th>{t('gate.title')}</th>
                </tr>
              </thead>
              <tbody>
                {d.blocked_pos.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <a href={recordHref(p.id)}>{p.po_no || p.id}</a>
                    </td>
                    <td>
                      <OrderLink orderNo={p.order_no} />
                    </td>
                    <td>{p.factory}</td>
                    <td class="warn-text">{gateText(p.gate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title={t('dash.failed_inspections', { n: d.failed_inspections.length })}>
          <SummaryTable items={d.failed_inspections} testid="dash-failed" empty="dash.none_failed" />
        </Section>
        <Section title={t('dash.pending_inspections', { n: d.pending_inspections.length })}>
          <SummaryTable items={d.pending_inspections} testid="dash-pending" empty="dash.none_pending" />
        </Section>
        <Section title={t('dash.counts_waiting', { n: d.counts_waiting.length })}>
          <SummaryTable items={d.counts_waiting} testid="dash-counts" empty="dash.none_counts" />
        </Section>
        <Section title={t('chart.late_title')}>
          <LateChart rows={d.late_by_factory} />
        </Section>
        <Section title={t('chart.pareto_title')}>
          <ParetoChart groups={d.defect_pareto} />
        </Section>
      </div>
    </>
  );
}
