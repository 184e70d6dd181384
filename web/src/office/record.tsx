// One record as the office sees it (GET /api/v1/records/{id}): what it is, its state, the
// details that matter per type, who it is assigned to (and assigning it), and for an
// approval the steps and the decision form.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t } from '../i18n';
import { Section, StatusChip, Verdict, run, toast } from '../ui/common';
import { typeLabel } from '../ui/mywork';
import type { OfficeApi, RecordAnswer } from './api';
import { StageActions } from './actions';
import { LoadState, OrderLink, useLoad, useOfficeApi } from './common';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

export function OfficeRecord({ id }: { id: string }) {
  const api = useOfficeApi();
  const state = useLoad(() => api.record(id), [api, id]);
  return (
    <div class="office" data-testid="office-record">
      <LoadState state={state}>{(r) => <RecordBody r={r} api={api} onChange={state.reload} />}</LoadState>
    </div>
  );
}

function RecordBody({ r, api, onChange }: { r: RecordAnswer; api: OfficeApi; onChange: () => void }) {
  const rec = r.view.record;
  const d = r.view.derived;
  const status = str(d.status) || (num(rec.released_ms) > 0 ? 'released' : '');
  const title = str(rec.title) || str(rec.subject) || str(rec.po_no) || str(rec.order_no) || r.id;
  const assignees = Object.entries(obj(rec.assignees))
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  const fields: [string, string][] = [
    [t('field.order_no'), str(rec.order_no)],
    [t('field.po_no'), str(rec.po_no)],
    [t('field.style_no'), str(rec.style_no)],
    [t('field.customer'), str(rec.customer)],
    [t('field.factory'), str(rec.factory)],
    [t('field.warehouse'), str(rec.warehouse)],
    [t('field.due'), fmtDate(num(rec.due_ms) || num(rec.delivery_ms))],
    [t('office.created_by'), str(rec.created_by)],
  ];
  return (
    <>
      <div class="card record-head">
        <span class={`type-tag type-${r.type}`}>{typeLabel(r.type)}</span>
        <h1 data-testid="office-record-title">{title}</h1>
        <div class="row wrap">
          {status && <StatusChip status={status} />}
          {r.type === 'inspection' && status !== 'open' && <Verdict verdict={str(d.verdict)} />}
        </div>
        <dl class="fields">
          {fields
            .filter(([, v]) => v)
            .map(([k, v]) => (
              <div class="field" key={k}>
                <dt>{k}</dt>
                <dd>{k === t('field.order_no') ? <OrderLink orderNo={v} /> : v}</dd>
              </div>
            ))}
        </dl>
      </div>
      {r.type === 'inspection' && <InspectionDetail rec={rec} />}
      {r.type === 'stock_count' && <CountDetail rec={rec} d={d} />}
      {r.type === 'approval' && <ApprovalDetail id={r.id} rec={rec} d={d} api={api} onChange={onChange} />}
      <StageActions id={r.id} type={r.type} rec={rec} api={api} onChange={onChange} />
      {r.type !== 'approval' && (
        <AssignPanel id={r.id} type={r.type} assignees={assignees} api={api} onChange={onChange} />
      )}
    </>
  );
}

function InspectionDetail({ rec }: { rec: Obj }) {
  const defects: (Obj & { id: string })[] = Object.entries(obj(rec.defects)).map(([id, v]) => ({ ...obj(v), id }));
  const sign = obj(obj(rec.sign_off).person);
  return (
    <Section title={t('insp.defects')}>
      {defects.length === 0 ? (
        <p class="muted">{t('office.no_defects')}</p>
      ) : (
        <table class="count-table office-table" data-testid="office-defects">
          <tbody>
            {defects.map((x) => (
              <tr key={x.id} class={x.voided ? 'voided' : ''}>
                <td>{t(`class.${str(x.class) || 'major'}` as 'class.major')}</td>
                <td>{str(x.description)}</td>
                <td class="num">{num(x.qty)}</td>
                <td class="muted">{str(x.by)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {str(sign.by) && (
        <p data-testid="office-signed">
          {t('office.signed_by', { user: str(sign.name) || str(sign.by), time: fmtDateTime(num(sign.at_ms)) })}
        </p>
      )}
    </Section>
  );
}

function CountDetail({ rec, d }: { rec: Obj; d: Obj }) {
  const lines = obj(rec.lines);
  const derived = obj(d.lines);
  return (
    <Section title={t('new.lines')}>
      <table class="count-table office-table">
        <thead>
          <tr>
            <th>{t('new.location')}</th>
            <th>{t('new.sku')}</th>
            <th class="num">{t('new.expected')}</th>
            <th class="num">{t('office.counted')}</th>
            <th class="num">{t('office.variance')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(lines).map(([id, v]) => {
            const l = obj(v);
            const x = obj(derived[id]);
            return (
              <tr key={id}>
                <td>{str(l.location)}</td>
                <td>{str(l.sku)}</td>
                <td class="num">{num(l.expected)}</td>
                <td class="num">{x.total == null ? '' : num(x.total)}</td>
                <td class="num">{x.variance == null ? '' : num(x.variance)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Section>
  );
}

function ApprovalDetail({ id, rec, d, api, onChange }: { id: string; rec: Obj; d: Obj; api: OfficeApi; onChange: () => void }) {
  const [comment, setComment] = useState('');
  const steps = Object.entries(obj(rec.steps)).sort(([, a], [, b]) => num(obj(a).order) - num(obj(b).order));
  const decisions = Object.values(obj(rec.decisions)).map(obj);
  const current = str(d.current_step);
  const decide = async (approved: boolean) => {
    if (await run(() => api.decide(id, current, approved, comment.trim()).then(() => undefined))) {
      toast(approved ? t('approval.approved_done') : t('approval.rejected_done'));
      onChange();
    }
  };
  return (
    <Section title={t('approval.steps')}>
      {str(rec.reason) && <p>{str(rec.reason)}</p>}
      <ol class="timeline">
        {steps.map(([sid, s]) => {
          const step = obj(s);
          return (
            <li key={sid}>
              <strong>{str(step.label) || str(step.role)}</strong> <span class="muted">({str(step.role)})</span>
              {sid === current && <span class="badge badge-warn">{t('approval.waiting')}</span>}
              <ul class="plain-list">
                {decisions
                  .filter((x) => x.step === sid)
                  .map((x, i) => (
                    <li key={i} class="muted">
                      {x.approved ? t('approval.was_approved') : t('approval.was_rejected')} · {str(x.by)} · {fmtDateTime(num(x.at_ms))}
                      {str(x.comment) && ` · ${str(x.comment)}`}
                    </li>
                  ))}
              </ul>
            </li>
          );
        })}
      </ol>
      {current && str(d.status) === 'pending' && (
        <>
          <label>
            {t('approval.comment')}
            <textarea rows={2} value={comment} onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)} />
          </label>
          <div class="row wrap">
            <button type="button" class="btn btn-primary" onClick={() => void decide(true)}>
              {t('approval.approve')}
            </button>
            <button type="button" class="btn btn-warn" onClick={() => void decide(false)}>
              {t('approval.reject')}
            </button>
          </div>
        </>
      )}
    </Section>
  );
}

function AssignPanel({
  id,
  type,
  assignees,
  api,
  onChange,
}: {
  id: string;
  type: string;
  assignees: string[];
  api: OfficeApi;
  onChange: () => void;
}) {
  const users = useLoad(() => api.assignees(type), [api, type]);
  const [user, setUser] = useState('');
  return (
    <Section title={t('office.col_assignees')}>
      <p data-testid="office-assignees">{assignees.length ? assignees.join(', ') : t('new.nobody')}</p>
      <LoadState state={users}>
        {(u) => {
          const free = u.items.filter((x) => !assignees.includes(x.username));
          if (free.length === 0) return null;
          return (
            <div class="row wrap">
              <select value={user} onChange={(e) => setUser((e.currentTarget as HTMLSelectElement).value)} aria-label={t('new.assign_to')}>
                <option value="">{t('new.assign_to')}</option>
                {free.map((x) => (
                  <option key={x.username} value={x.username}>
                    {x.display_name ? `${x.display_name} (${x.username})` : x.username}
                  </option>
                ))}
              </select>
              <button
                type="button"
                class="btn"
                disabled={!user}
                onClick={() =>
                  void run(async () => {
                    await api.assign(id, user);
                    toast(t('new.assigned_to', { user }));
                    setUser('');
                    onChange();
                  })
                }
              >
                {t('office.assign')}
              </button>
            </div>
          );
        }}
      </LoadState>
    </Section>
  );
}
