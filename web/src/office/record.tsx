// One record as the office sees it (GET /api/v1/records/{id}): what it is, its state, the
// details that matter per type, who it is assigned to (and assigning it), and for an
// approval the steps and the decision form.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t } from '../i18n';
import { codeLabel, tOr } from '../i18n/labels';
import { slotLabel, titlesText } from '../i18n/titles';
import { Section, StatusChip, Verdict, run, toast } from '../ui/common';
import { typeLabel } from '../ui/mywork';
import type { OfficeApi, RecordAnswer } from './api';
import { StageActions, milestoneLabel } from './actions';
import { LoadState, OrderLink, gateText, useLoad, useOfficeApi } from './common';
import { PO_SLOTS, signerTitles, type SignOffSlot } from './signers';

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
          {status && r.type === 'purchase_order' ? (
            <span class={`chip status-${status}`} data-testid="po-status">
              {codeLabel('po_statuses', str(d.status) || status)}
            </span>
          ) : (
            status && <StatusChip status={status} />
          )}
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
      {r.type === 'order' && <OrderDetail rec={rec} d={d} />}
      {r.type === 'order_commercial' && <CommercialDetail rec={rec} d={d} />}
      {r.type === 'purchase_order' && <PoDetail rec={rec} />}
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
      <p class="muted" data-testid="approval-chain">
        {t('approval.kind', { kind: codeLabel('approval_kinds', str(rec.kind)) })}
        {str(rec.chain) && ` · ${t('approval.chain', { chain: codeLabel('approval_chains', str(rec.chain)) })}`}
      </p>
      {str(rec.reason) && <p>{str(rec.reason)}</p>}
      <ol class="timeline">
        {steps.map(([sid, s]) => {
          const step = obj(s);
          return (
            <li key={sid}>
              <strong>{str(step.label) || codeLabel('approval_roles', str(step.role))}</strong>{' '}
              <span class="muted">({codeLabel('approval_roles', str(step.role))})</span>
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

/** Rows of a map field, sorted by `by`. */
function rows(v: unknown, by: (x: Obj) => number = () => 0): (Obj & { id: string })[] {
  return Object.entries(obj(v))
    .map(([id, x]) => ({ ...obj(x), id }))
    .sort((a, b) => by(a) - by(b));
}

/** An order's stages as the merchandiser follows them: milestones, samples, packaging. */
function OrderDetail({ rec, d }: { rec: Obj; d: Obj }) {
  const milestones = rows(rec.milestones, (x) => num(x.planned_ms));
  const samples = rows(rec.samples, (x) => num(x.sent_ms));
  const packaging = rows(rec.packaging, (x) => num(x.drafted_ms));
  const packagingState = obj(d.packaging);
  return (
    <>
      {milestones.length > 0 && (
        <Section title={t('order.milestones')}>
          <table class="count-table office-table" data-testid="order-milestones">
            <thead>
              <tr>
                <th>{t('dash.milestone')}</th>
                <th>{t('order.col_planned')}</th>
                <th>{t('order.col_actual')}</th>
                <th>{t('order.col_late')}</th>
              </tr>
            </thead>
            <tbody>
              {milestones.map((m) => (
                <tr key={m.id} data-id={m.id}>
                  <td>{milestoneLabel(str(m.code) || m.id, str(m.name))}</td>
                  <td class="nowrap">{fmtDate(num(m.planned_ms))}</td>
                  <td class="nowrap">{fmtDate(num(m.actual_ms))}</td>
                  <td data-testid="milestone-late">
                    {codeLabel('late_codes', str(m.late_code))}
                    {str(m.late_reason) && <span class="muted"> {str(m.late_reason)}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {samples.length > 0 && (
        <Section title={t('order.samples')}>
          <table class="count-table office-table" data-testid="order-samples">
            <thead>
              <tr>
                <th>{t('order.col_round')}</th>
                <th>{t('order.col_sent')}</th>
                <th>{t('order.col_decision')}</th>
                <th>{t('act.f_comment')}</th>
              </tr>
            </thead>
            <tbody>
              {samples.map((x) => (
                <tr key={x.id} data-id={x.id}>
                  <td data-testid="sample-round">{codeLabel('sample_rounds', str(x.round))}</td>
                  <td class="nowrap">{fmtDate(num(x.sent_ms))}</td>
                  <td>{str(x.result) ? tOr(`code.approval_statuses.${str(x.result)}`, str(x.result)) : ''}</td>
                  <td>
                    {rows(x.comments, (c) => num(c.at_ms)).map((c) => (
                      <div key={c.id} class="muted">
                        {str(c.text)}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {packaging.length > 0 && (
        <Section title={t('order.packaging')}>
          <table class="count-table office-table" data-testid="order-packaging">
            <thead>
              <tr>
                <th>{t('order.col_kind')}</th>
                <th>{t('order.col_description')}</th>
                <th>{t('order.col_state')}</th>
              </tr>
            </thead>
            <tbody>
              {packaging.map((p) => (
                <tr key={p.id} data-id={p.id} data-testid="packaging-row">
                  <td>{codeLabel('packaging_kinds', str(p.kind))}</td>
                  <td>
                    {str(p.description)}
                    {str(p.copied_from) && <span class="muted"> ({t('order.copied_from', { order_no: str(p.copied_from) })})</span>}
                  </td>
                  <td data-testid="packaging-state">{codeLabel('packaging_statuses', str(packagingState[p.id]))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}

/** A sign-off as it stands: who signed it, or not signed and by whom it is to be signed. */
function SignOffLine({ slot, sign, testid }: { slot: SignOffSlot; sign: Obj; testid: string }) {
  return (
    <li data-testid={testid} data-slot={slot.record === 'deposit' ? 'deposit' : slot.key}>
      {slotLabel(slot)}:{' '}
      {str(sign.by) ? (
        t('order.signed_by', { name: str(sign.name) || str(sign.by) })
      ) : (
        <>
          <span class="warn-text">{t('order.not_signed')}</span>{' '}
          <span class="muted">{t('who.by', { titles: titlesText(signerTitles(slot)) })}</span>
        </>
      )}
    </li>
  );
}

/** A PO's signatures: sales' check, then the general manager's. */
function PoDetail({ rec }: { rec: Obj }) {
  const signatures = obj(rec.signatures);
  return (
    <Section title={t('order.po_signatures')}>
      <ul class="plain-list" data-testid="po-signatures">
        {PO_SLOTS.map((k) => (
          <SignOffLine key={k} slot={{ record: 'po', key: k }} sign={obj(signatures[k])} testid="po-signature" />
        ))}
      </ul>
    </Section>
  );
}

/** The commercial side: payment term and gate (without special approvals), the review. */
function CommercialDetail({ rec, d }: { rec: Obj; d: Obj }) {
  const review = obj(rec.review);
  const missingList = obj(d.contract_review).missing;
  const missing = Array.isArray(missingList) ? (missingList as string[]) : [];
  const keys = [...Object.keys(review), ...missing.filter((k) => !(k in review))];
  const gate = d.payment_gate as Parameters<typeof gateText>[0];
  return (
    <Section title={t('order.review')}>
      <p data-testid="commercial-term">
        {t('gate.term', { term: codeLabel('payment_terms', str(rec.payment_term)) })} · {gateText(gate)}
      </p>
      <ul class="plain-list" data-testid="commercial-review">
        {keys.map((k) => (
          <SignOffLine key={k} slot={{ record: 'review', key: k }} sign={obj(review[k])} testid="review-sign-off" />
        ))}
      </ul>
      {str(rec.payment_term) === 'deposit' && (
        <p data-testid="commercial-deposit">
          {num(rec.deposit_confirmed_ms) > 0 ? (
            t('order.deposit_confirmed', { name: str(rec.deposit_confirmed_by), date: fmtDate(num(rec.deposit_confirmed_ms)) })
          ) : (
            <>
              <span class="warn-text">{t('order.deposit_not_confirmed')}</span> <span class="muted">{t('who.deposit')}</span>
            </>
          )}
        </p>
      )}
    </Section>
  );
}
