// The follow-up actions of an order's stages: each a small form that posts one of the
// core's JSON operations (OrderOp, CommercialOp, PurchaseOrderOp) to
// POST /api/v1/records/{id}/ops. The server checks the write and the payment gate; its
// refusal is shown as it says it (translated where the error has a code).
//
// A sign-off (the contract review, the PO's signatures, the deposit confirmation) is
// offered only to a user who may make it, by their job titles (`GET /api/v1/me`, the rule
// in signers.ts); anyone else sees who may instead of the form.

import { useEffect, useState } from 'preact/hooks';

import { t, type MessageKey } from '../i18n';
import { codeLabel, codeOptions } from '../i18n/labels';
import { departmentLabel, titlesText, whoMayText } from '../i18n/titles';
import { Section, run, toast } from '../ui/common';
import type { OfficeApi } from './api';
import { useLoad } from './common';
import {
  PO_SLOTS,
  decisionRoles,
  headedDepartments,
  mayFill,
  reviewSlots,
  signableReviewSteps,
  signerTitles,
  type SignOffSlot,
  type Signer,
} from './signers';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** One input of an action's form. `options` lists a select's values and labels. */
interface Field {
  name: string;
  label: MessageKey;
  kind: 'text' | 'date' | 'number' | 'select';
  options?: [string, string][];
}

/**
 * One action: its label, its inputs, and the op built from their values. A sign-off
 * (`signOff`) knows who may make it once the user is known: `blocked` when this user may
 * not (the form is not shown), and `who` says who may fill the slots this user cannot.
 */
export interface Action {
  key: string;
  label: MessageKey;
  fields: Field[];
  build: (v: Record<string, string>) => Obj;
  signOff?: boolean;
  blocked?: boolean;
  who?: string[];
}

/** A new id for an item an op adds (unique enough within one record). */
const newId = (): string => `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Midday (local) of an `<input type=date>` value, in ms; today when empty. */
function dayMs(v: string | undefined): number {
  if (!v) return Date.now();
  const [y, m, d] = v.split('-').map(Number);
  return new Date(y, m - 1, d, 12).getTime();
}

/** The entries of a map field as select options: key and a readable label. */
function optionsOf(rec: Obj, field: string, label: (v: Obj, k: string) => string): [string, string][] {
  return Object.entries(obj(rec[field])).map(([k, v]) => [k, label(obj(v), k) || k]);
}

/** A milestone in words: its template code's label, else the name it was given. */
export function milestoneLabel(code: string, name: string): string {
  const label = codeLabel('milestones', code);
  return label && label !== code ? label : name || code;
}

function orderActions(rec: Obj): Action[] {
  // The labels are read when the form is built, so they follow the language.
  const ROUNDS = codeOptions('sample_rounds');
  const PACKAGING_KINDS = codeOptions('packaging_kinds');
  const LATE_CODES: [string, string][] = [['', '—'], ...codeOptions('late_codes')];
  const samples = optionsOf(rec, 'samples', (v, k) => `${codeLabel('sample_rounds', str(v.round))} ${k}`);
  const packaging = optionsOf(rec, 'packaging', (v, k) => `${codeLabel('packaging_kinds', str(v.kind))} ${str(v.description) || k}`.trim());
  const milestones = optionsOf(rec, 'milestones', (v, k) => milestoneLabel(str(v.code) || k, str(v.name)));
  return [
    {
      key: 'accept_handover',
      label: 'act.accept_handover',
      fields: [],
      build: () => ({ op: 'accept_handover', id: newId() }),
    },
    {
      key: 'refuse_handover',
      label: 'act.refuse_handover',
      fields: [{ name: 'missing', label: 'act.f_missing', kind: 'text' }],
      build: (v) => ({ op: 'refuse_handover', id: newId(), missing: v.missing ?? '' }),
    },
    {
      key: 'add_sample',
      label: 'act.add_sample',
      fields: [
        { name: 'round', label: 'act.f_round', kind: 'select', options: ROUNDS },
        { name: 'sent', label: 'act.f_sent', kind: 'date' },
      ],
      build: (v) => ({ op: 'add_sample', id: newId(), round: v.round, sent_ms: dayMs(v.sent) }),
    },
    {
      key: 'comment_sample',
      label: 'act.comment_sample',
      fields: [
        { name: 'sample', label: 'act.f_sample', kind: 'select', options: samples },
        { name: 'text', label: 'act.f_comment', kind: 'text' },
      ],
      build: (v) => ({ op: 'comment_sample', sample: v.sample, id: newId(), text: v.text ?? '' }),
    },
    {
      key: 'decide_sample',
      label: 'act.decide_sample',
      fields: [
        { name: 'sample', label: 'act.f_sample', kind: 'select', options: samples },
        {
          name: 'approved',
          label: 'act.f_decision',
          kind: 'select',
          options: [
            ['yes', t('act.approve')],
            ['no', t('act.reject')],
          ],
        },
        { name: 'signed_by', label: 'act.f_signed_by', kind: 'text' },
      ],
      build: (v) => ({ op: 'decide_sample', sample: v.sample, approved: v.approved !== 'no', signed_by: v.signed_by ?? '' }),
    },
    {
      // A repeat order (翻单): the previous order's packaging and shipping marks, to adjust.
      // Its own form (CopyPackagingForm) and endpoint, not an op.
      key: 'copy_packaging',
      label: 'act.copy_packaging',
      fields: [],
      build: () => ({}),
    },
    {
      key: 'add_packaging',
      label: 'act.add_packaging',
      fields: [
        { name: 'kind', label: 'act.f_kind', kind: 'select', options: PACKAGING_KINDS },
        { name: 'description', label: 'act.f_description', kind: 'text' },
      ],
      build: (v) => ({ op: 'add_packaging', id: newId(), item: { kind: v.kind, description: v.description ?? '' } }),
    },
    {
      key: 'send_packaging',
      label: 'act.send_packaging',
      fields: [
        { name: 'id', label: 'act.f_item', kind: 'select', options: packaging },
        { name: 'at', label: 'act.f_sent', kind: 'date' },
      ],
      build: (v) => ({ op: 'send_packaging', id: v.id, sent_ms: dayMs(v.at) }),
    },
    {
      key: 'confirm_packaging',
      label: 'act.confirm_packaging',
      fields: [
        { name: 'id', label: 'act.f_item', kind: 'select', options: packaging },
        { name: 'at', label: 'act.f_date', kind: 'date' },
      ],
      build: (v) => ({ op: 'confirm_packaging', id: v.id, confirmed_ms: dayMs(v.at) }),
    },
    {
      key: 'reject_packaging',
      label: 'act.reject_packaging',
      fields: [
        { name: 'id', label: 'act.f_item', kind: 'select', options: packaging },
        { name: 'comment', label: 'act.f_comment', kind: 'text' },
      ],
      build: (v) => ({ op: 'reject_packaging', id: v.id, comment: v.comment ?? '' }),
    },
    {
      key: 'complete_milestone',
      label: 'act.complete_milestone',
      fields: [
        { name: 'id', label: 'act.f_milestone', kind: 'select', options: milestones },
        { name: 'actual', label: 'act.f_actual', kind: 'date' },
        { name: 'late_code', label: 'act.f_late_code', kind: 'select', options: LATE_CODES },
        { name: 'late_reason', label: 'act.f_late_reason', kind: 'text' },
      ],
      build: (v) => ({
        op: 'complete_milestone',
        id: v.id,
        actual_ms: dayMs(v.actual),
        late_code: v.late_code ?? '',
        late_reason: v.late_reason ?? '',
      }),
    },
    {
      key: 'set_week_actual',
      label: 'act.set_week_actual',
      fields: [
        { name: 'week', label: 'act.f_week', kind: 'date' },
        { name: 'qty', label: 'act.f_qty', kind: 'number' },
      ],
      build: (v) => ({ op: 'set_week_actual', week_ms: dayMs(v.week), qty: Number(v.qty ?? 0) }),
    },
  ];
}

const commercialActions = (rec: Obj, me: Signer | null): Action[] => [
  signReviewAction(rec, me),
  {
    key: 'confirm_deposit',
    label: 'act.confirm_deposit',
    signOff: true,
    ...(me && !mayFill(me, { record: 'deposit' })
      ? { blocked: true, who: [whoMayText({ record: 'deposit' }, signerTitles({ record: 'deposit' })), notYours(me)] }
      : {}),
    fields: [
      { name: 'amount', label: 'act.f_amount', kind: 'number' },
      { name: 'currency', label: 'act.f_currency', kind: 'text' },
      { name: 'at', label: 'act.f_received', kind: 'date' },
    ],
    build: (v) => ({
      op: 'confirm_deposit',
      amount: { minor: Math.round(Number(v.amount ?? 0) * 100), currency: (v.currency || 'USD').toUpperCase() },
      received_ms: dayMs(v.at),
    }),
  },
  {
    key: 'record_lc_received',
    label: 'act.record_lc',
    fields: [
      { name: 'lc_no', label: 'act.f_lc_no', kind: 'text' },
      { name: 'at', label: 'act.f_received', kind: 'date' },
    ],
    build: (v) => ({ op: 'record_lc_received', lc_no: v.lc_no ?? '', received_ms: dayMs(v.at) }),
  },
  {
    key: 'check_lc',
    label: 'act.check_lc',
    fields: [
      {
        name: 'matches',
        label: 'act.f_matches',
        kind: 'select',
        options: [
          ['yes', t('act.yes')],
          ['no', t('act.no')],
        ],
      },
      { name: 'discrepancies', label: 'act.f_discrepancies', kind: 'text' },
    ],
    build: (v) => ({ op: 'check_lc', matches: v.matches !== 'no', discrepancies: v.discrepancies ?? '' }),
  },
];

/** Who may fill each of `slots` this user may not, and is not filled yet (`filled`). */
function othersWho(slots: SignOffSlot[], me: Signer, filled: Obj): string[] {
  return slots
    .filter((s) => s.record !== 'deposit' && !(s.key in filled) && !mayFill(me, s))
    .map((s) => whoMayText(s, signerTitles(s)));
}

/** The line said to a user who may fill none of an action's slots: what they hold. */
const notYours = (me: Signer): string => t('who.not_yours', { held: titlesText(decisionRoles(me), 'and') });

/**
 * The contract review's sign-off: the steps offered are those the user may sign; a
 * cost-sheet line is offered for the departments the user heads (the required ones not yet
 * signed first). Unknown user (`me` null): every step, the department typed.
 */
function signReviewAction(rec: Obj, me: Signer | null): Action {
  const build = (v: Record<string, string>) => ({ op: 'sign_review', step: v.step, department: v.department ?? '', name: v.name ?? '' });
  const base = { key: 'sign_review', label: 'act.sign_review' as const, signOff: true, build };
  const name: Field = { name: 'name', label: 'act.f_name', kind: 'text' };
  if (!me) {
    return {
      ...base,
      fields: [
        { name: 'step', label: 'act.f_step', kind: 'select', options: codeOptions('review_steps') },
        { name: 'department', label: 'act.f_department', kind: 'text' },
        name,
      ],
    };
  }
  const review = obj(rec.review);
  const slots: SignOffSlot[] = reviewSlots(obj(rec.cost_sheet_signers)).map((key) => ({ record: 'review', key }));
  const who = othersWho(slots, me, review);
  const steps = signableReviewSteps(me);
  if (steps.length === 0) {
    return { ...base, fields: [], blocked: true, who: [...slots.map((s) => whoMayText(s, signerTitles(s))), notYours(me)] };
  }
  const fields: Field[] = [
    { name: 'step', label: 'act.f_step', kind: 'select', options: codeOptions('review_steps').filter(([c]) => steps.includes(c)) },
  ];
  if (steps.includes('cost_sheet')) {
    const required = new Set(slots.map((s) => (s.record === 'review' ? s.key : '')).filter((k) => !(k in review)));
    const departments = headedDepartments(me).sort(
      (a, b) => Number(required.has(`cost_sheet:${b}`)) - Number(required.has(`cost_sheet:${a}`)),
    );
    fields.push({
      name: 'department',
      label: 'act.f_department',
      kind: 'select',
      options: departments.map((d) => [d, departmentLabel(d)]),
    });
  }
  fields.push(name);
  return { ...base, fields, who };
}

/** The PO's signature: only the slots the user may sign are offered. */
function signPoAction(rec: Obj, me: Signer | null): Action {
  const base = {
    key: 'sign',
    label: 'act.sign_po' as const,
    signOff: true,
    build: (v: Record<string, string>) => ({ op: 'sign', role: v.role, name: v.name ?? '' }),
  };
  const name: Field = { name: 'name', label: 'act.f_name', kind: 'text' };
  const slots: SignOffSlot[] = PO_SLOTS.map((key) => ({ record: 'po', key }));
  const mine = me ? codeOptions('po_signatures').filter(([c]) => mayFill(me, { record: 'po', key: c })) : codeOptions('po_signatures');
  if (me && mine.length === 0) {
    return { ...base, fields: [], blocked: true, who: [...slots.map((s) => whoMayText(s, signerTitles(s))), notYours(me)] };
  }
  return {
    ...base,
    fields: [{ name: 'role', label: 'act.f_role', kind: 'select', options: mine }, name],
    who: me ? othersWho(slots, me, obj(rec.signatures)) : undefined,
  };
}

const poActions = (rec: Obj, me: Signer | null): Action[] => [
  signPoAction(rec, me),
  {
    key: 'release',
    label: 'act.release_po',
    fields: [],
    build: () => ({ op: 'release', released_ms: Date.now() }),
  },
  {
    // An exception to the payment gate: the general manager's special approval, opened
    // through the shipped chain (its own form, RequestSpecialForm, creates the request).
    key: 'request_special',
    label: 'act.request_special',
    fields: [],
    build: () => ({}),
  },
];

/**
 * The actions of a record of `type`, or none for the types without office actions. `me`:
 * the logged-in user, whose job titles decide which sign-offs are offered; null when not
 * known (every form is offered; the server decides).
 */
export function actionsFor(type: string, rec: Obj, me: Signer | null = null): Action[] {
  if (type === 'order') return orderActions(rec);
  if (type === 'order_commercial') return commercialActions(rec, me);
  if (type === 'purchase_order') return poActions(rec, me);
  return [];
}

/** Who may sign what, in place of a sign-off's form (or under it, for the other slots). */
function WhoMay({ action }: { action: Action }) {
  if (!action.who || action.who.length === 0) return null;
  return (
    <div class={action.blocked ? undefined : 'muted'} data-testid="action-who" data-action={action.key}>
      {!action.blocked && <p>{t('who.others')}</p>}
      <ul class="plain-list">
        {action.who.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}

export function StageActions({ id, type, rec, api, onChange }: { id: string; type: string; rec: Obj; api: OfficeApi; onChange: () => void }) {
  // The user's titles as the account is now (they may change while a session lasts).
  const me = useLoad(() => (type === 'order_commercial' || type === 'purchase_order' ? api.me() : Promise.resolve(null)), [api, type]);
  const user = me.data?.user ?? null;
  const actions = actionsFor(type, rec, user);
  const [open, setOpen] = useState(actions[0]?.key ?? '');
  if (actions.length === 0) return null;
  const action = actions.find((a) => a.key === open) ?? actions[0];
  // Until the user is known, a sign-off waits (failing that, it is offered: the server decides).
  const waiting = action.signOff && me.loading && !me.data;
  return (
    <Section title={t('act.title')}>
      <div class="row wrap" data-testid="stage-actions">
        {actions.map((a) => (
          <button
            type="button"
            key={a.key}
            class={a.key === action.key ? 'btn btn-primary' : 'btn'}
            data-testid={`act-${a.key}`}
            onClick={() => setOpen(a.key)}
          >
            {t(a.label)}
          </button>
        ))}
      </div>
      {waiting ? (
        <p class="boot">{t('app.loading')}</p>
      ) : action.key === 'copy_packaging' ? (
        <CopyPackagingForm key={action.key} id={id} rec={rec} api={api} onChange={onChange} />
      ) : action.key === 'request_special' ? (
        <RequestSpecialForm key={action.key} rec={rec} api={api} onChange={onChange} />
      ) : action.blocked ? (
        <WhoMay action={action} />
      ) : (
        <>
          <ActionForm key={action.key} action={action} id={id} api={api} onChange={onChange} />
          <WhoMay action={action} />
        </>
      )}
    </Section>
  );
}

function ActionForm({ action, id, api, onChange }: { action: Action; id: string; api: OfficeApi; onChange: () => void }) {
  const initial = Object.fromEntries(action.fields.filter((f) => f.kind === 'select').map((f) => [f.name, f.options?.[0]?.[0] ?? '']));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const ok = await run(async () => {
      await api.op(id, action.build(values));
    });
    setBusy(false);
    if (ok) {
      toast(t('act.done'));
      onChange();
    }
  };
  return (
    <form class="stack" data-testid="action-form" data-action={action.key} onSubmit={(e) => void submit(e)}>
      {action.fields.map((f) => (
        <label key={f.name} class="field">
          <span>{t(f.label)}</span>
          {f.kind === 'select' ? (
            <select
              name={f.name}
              value={values[f.name] ?? ''}
              onChange={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
            >
              {(f.options ?? []).map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          ) : (
            <input
              name={f.name}
              type={f.kind}
              value={values[f.name] ?? ''}
              onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
            />
          )}
        </label>
      ))}
      <button type="submit" class="btn btn-primary" disabled={busy} data-testid="action-submit">
        {t(action.label)}
      </button>
    </form>
  );
}

/**
 * Copies a previous order's packaging data and shipping marks onto this (repeat) order:
 * the previous order is chosen from the orders of the same customer (or style), or typed.
 * Each item comes over as a draft to adjust and confirm with the customer again.
 */
function CopyPackagingForm({ id, rec, api, onChange }: { id: string; rec: Obj; api: OfficeApi; onChange: () => void }) {
  const own = str(rec.order_no);
  const [choices, setChoices] = useState<string[]>([]);
  const [from, setFrom] = useState('');
  const [busy, setBusy] = useState(false);
  const q = str(rec.customer) || str(rec.style_no);
  useEffect(() => {
    if (!q) return;
    let alive = true;
    api
      .search(q, { type: 'order', limit: 50 })
      .then((page) => {
        if (!alive) return;
        const nos = [...new Set(page.items.map((s) => s.order_no ?? '').filter((n) => n && n !== own))];
        setChoices(nos);
        setFrom((f) => f || nos[0] || '');
      })
      .catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [api, q, own]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    let answer: { copied: number; skipped: number } | null = null;
    const ok = await run(async () => {
      answer = await api.copyPackaging(id, from.trim());
    });
    setBusy(false);
    if (ok && answer) {
      const a: { copied: number; skipped: number } = answer;
      toast(t('act.copied', { n: a.copied, skipped: a.skipped, from: from.trim() }));
      onChange();
    }
  };
  return (
    <form class="stack" data-testid="action-form" data-action="copy_packaging" onSubmit={(e) => void submit(e)}>
      <p class="muted">{t('act.copy_packaging_hint')}</p>
      <label class="field">
        <span>{t('act.f_previous_order')}</span>
        <input name="from" list={`prev-orders-${id}`} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        <datalist id={`prev-orders-${id}`} data-testid="previous-orders">
          {choices.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </label>
      <button type="submit" class="btn btn-primary" disabled={busy || !from.trim()} data-testid="action-submit">
        {t('act.copy_packaging')}
      </button>
    </form>
  );
}

/**
 * Asks the general manager's special approval to release this PO before its payment gate
 * opens: an approval request of the shipped chain `special_po_release` naming the PO's
 * order, with the reason. The server fills in the chain's steps; once the general manager
 * approves it in the inbox, the order's gate reads "open by special approval".
 */
function RequestSpecialForm({ rec, api, onChange }: { rec: Obj; api: OfficeApi; onChange: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) {
      toast(t('act.reason_needed'), 'error');
      return;
    }
    setBusy(true);
    const ok = await run(async () => {
      await api.create({
        type: 'approval',
        chain: 'special_po_release',
        subject: `${codeLabel('approval_chains', 'special_po_release')}: ${str(rec.po_no)}`,
        order_no: str(rec.order_no),
        record_id: str(rec.order_id),
        reason: reason.trim(),
      });
    });
    setBusy(false);
    if (ok) {
      toast(t('act.special_requested'));
      setReason('');
      onChange();
    }
  };
  return (
    <form class="stack" data-testid="action-form" data-action="request_special" onSubmit={(e) => void submit(e)}>
      <p class="muted">{t('act.request_special_hint')}</p>
      <label class="field">
        <span>{t('act.f_reason')}</span>
        <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <button type="submit" class="btn btn-primary" disabled={busy} data-testid="action-submit">
        {t('act.request_special')}
      </button>
    </form>
  );
}
