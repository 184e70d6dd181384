// The approvals inbox: the steps waiting for me (GET /dashboard's my_approvals, derived by
// the core's `waiting_for`), decided here through POST /records/{id}/decide.

import { useState } from 'preact/hooks';

import { fmtDateTime, t } from '../i18n';
import { codeLabel } from '../i18n/labels';
import { run, toast } from '../ui/common';
import type { MyApproval, OfficeApi } from './api';
import { LoadState, OrderLink, recordHref, useLoad, useOfficeApi } from './common';

export function ApprovalsInbox() {
  const api = useOfficeApi();
  const state = useLoad(() => api.dashboard(), [api]);
  return (
    <div class="office" data-testid="approvals">
      <h1>{t('approval.inbox')}</h1>
      <LoadState state={state}>
        {(d) =>
          d.my_approvals.length === 0 ? (
            <p class="card muted" data-testid="approvals-empty">
              {t('dash.no_approvals')}
            </p>
          ) : (
            <ul class="plain-list">
              {d.my_approvals.map((a) => (
                <ApprovalItem key={a.id} a={a} api={api} onDone={state.reload} />
              ))}
            </ul>
          )
        }
      </LoadState>
    </div>
  );
}

function ApprovalItem({ a, api, onDone }: { a: MyApproval; api: OfficeApi; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const decide = async (approved: boolean) => {
    if (!approved && !comment.trim()) {
      toast(t('approval.reason_needed'), 'error');
      return;
    }
    setBusy(true);
    const ok = await run(async () => {
      await api.decide(a.id, a.step, approved, comment.trim());
    });
    setBusy(false);
    if (ok) {
      toast(approved ? t('approval.approved_done') : t('approval.rejected_done'));
      onDone();
    }
  };
  return (
    <li class="card" data-testid="approval-item" data-id={a.id}>
      <h2>
        <a href={recordHref(a.id)}>{a.subject || a.id}</a>
      </h2>
      <p class="muted">
        {codeLabel('approval_kinds', a.kind)} · {t('approval.step', { step: a.step })} <OrderLink orderNo={a.order_no} />
        {a.deadline_ms && ` · ${t('approval.deadline', { time: fmtDateTime(a.deadline_ms) })}`}
        {a.overdue && <span class="badge badge-warn">{t('approval.overdue')}</span>}
      </p>
      <label>
        {t('approval.comment')}
        <textarea
          rows={2}
          value={comment}
          onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)}
          data-testid="approval-comment"
        />
      </label>
      <div class="row wrap">
        <button type="button" class="btn btn-primary" disabled={busy} onClick={() => void decide(true)} data-testid="approve">
          {t('approval.approve')}
        </button>
        <button type="button" class="btn btn-warn" disabled={busy} onClick={() => void decide(false)} data-testid="reject">
          {t('approval.reject')}
        </button>
      </div>
    </li>
  );
}
