// One record: picks the screen by the record's type; shared header, override and sign-off.

import { useRef, useState } from 'preact/hooks';

import { fmtDateTime, t } from '../i18n';
import { errorText } from '../i18n/errors';
import { sha256Hex } from '../photos/process';
import type { SyncEngine } from '../sync/engine';
import {
  SignaturePad,
  UnsyncedBadge,
  Verdict,
  confirmIfUnsynced,
  run,
  toast,
  useEngine,
  type SignaturePadHandle,
} from './common';
import { InspectionScreen } from './inspection';
import { typeLabel } from './mywork';
import { InspectionReport } from './report';
import { ShipmentScreen } from './shipment';
import { StockCountScreen } from './stockcount';
import type { InspectionView, ShipmentView, StockCountView, VerdictOverride, SignOff } from './types';

export function RecordScreen({ id, report }: { id: string; report: boolean }) {
  const engine = useEngine();
  const entry = engine.indexEntries()[id];
  let view: { record: { type?: string } } | null = null;
  let error: string | null = null;
  try {
    view = engine.view(id);
  } catch (e) {
    error = errorText(e);
  }
  if (!view) {
    return (
      <div class="card" data-testid="record-missing">
        <h1>{entry?.title ?? id}</h1>
        <p>
          {error
            ? `${t('record.unreadable')} ${error}`
            : engine.isUnavailable(id)
              ? t('record.unavailable')
              : engine.getStatus().socket === 'joined'
                ? t('record.downloading')
                : t('record.not_on_device')}
        </p>
        <a class="btn" href="#/">
          {t('common.back')}
        </a>
      </div>
    );
  }
  const type = (view.record as { type?: string }).type ?? entry?.record_type;
  if (type === 'inspection') {
    return report ? (
      <InspectionReport id={id} view={view as unknown as InspectionView} />
    ) : (
      <InspectionScreen id={id} view={view as unknown as InspectionView} />
    );
  }
  if (type === 'stock_count') return <StockCountScreen id={id} view={view as unknown as StockCountView} />;
  if (type === 'shipment_check') return <ShipmentScreen id={id} view={view as unknown as ShipmentView} />;
  return (
    <div class="card">
      <h1>{entry?.title ?? id}</h1>
      <p>{t('record.not_field_type', { type: typeLabel(type ?? '') })}</p>
    </div>
  );
}

export function RecordHeader({
  id,
  type,
  title,
  children,
}: {
  id: string;
  type: string;
  title: string;
  children?: preact.ComponentChildren;
}) {
  return (
    <div class="record-head card">
      <div class="row between wrap">
        <div>
          <span class={`type-tag type-${type}`}>{typeLabel(type)}</span>
          <h1 data-testid="record-title">{title}</h1>
        </div>
        <div class="row">
          <UnsyncedBadge id={id} />
          <a class="btn" href="#/">
            {t('common.back')}
          </a>
        </div>
      </div>
      {children}
    </div>
  );
}

/**
 * A verdict set by a person, with the reason. The core requires the reason: without one it
 * refuses, and the refusal is shown in the interface's language (nothing is saved).
 */
export function OverridePanel({
  id,
  derivedVerdict,
  override,
  readOnly,
}: {
  id: string;
  derivedVerdict: string;
  override: VerdictOverride | null;
  readOnly: boolean;
}) {
  const engine = useEngine();
  const [verdict, setVerdict] = useState(derivedVerdict === 'pass' ? 'fail' : 'pass');
  const [reason, setReason] = useState('');
  if (override) {
    return (
      <div class="override" data-testid="override">
        <p>
          {t('verdict.overridden_by', { user: override.by, time: fmtDateTime(override.at_ms) })}{' '}
          <Verdict verdict={override.verdict} />
        </p>
        <p class="quote">{override.reason}</p>
        {!readOnly && (
          <button type="button" class="btn" onClick={() => run(() => engine.edit(id, { op: 'clear_override' }))}>
            {t('verdict.clear_override')}
          </button>
        )}
      </div>
    );
  }
  if (readOnly) return null;
  return (
    <details class="override">
      <summary class="btn">{t('verdict.override')}</summary>
      <div class="row wrap">
        {(['pass', 'fail', 'pending'] as const).map((v) => (
          <button
            type="button"
            key={v}
            class={`btn ${verdict === v ? 'btn-selected' : ''}`}
            onClick={() => setVerdict(v)}
          >
            {t(`verdict.${v}`)}
          </button>
        ))}
      </div>
      <label>
        {t('verdict.reason')}
        <textarea
          rows={2}
          value={reason}
          onInput={(e) => setReason((e.currentTarget as HTMLTextAreaElement).value)}
          data-testid="override-reason"
        />
      </label>
      <button
        type="button"
        class="btn btn-primary"
        data-testid="override-save"
        onClick={() =>
          run(async () => {
            await engine.edit(id, { op: 'override_verdict', verdict, reason: reason.trim() });
            setReason('');
          })
        }
      >
        {t('verdict.override_save')}
      </button>
    </details>
  );
}

/** Keeps the drawn signature as a photo (PNG blob, uploaded like any photo); returns its hash. */
async function saveSignature(engine: SyncEngine, recordId: string, png: Blob): Promise<string> {
  const data = await png.arrayBuffer();
  const sha = await sha256Hex(data);
  await engine.addPhoto(recordId, sha, 'image/png', data);
  return sha;
}

/** Name, drawn signature and the sign-off button (warns first when not all is synced). */
export function SignOffPanel({
  id,
  signed,
  verdict,
  disabledReason,
}: {
  id: string;
  signed: SignOff | null;
  verdict: string;
  disabledReason?: string | null;
}) {
  const engine = useEngine();
  const [name, setName] = useState(engine.session.user.display_name || engine.session.user.username);
  const pad = useRef<SignaturePadHandle | null>(null);
  const [busy, setBusy] = useState(false);
  if (signed) {
    return (
      <div class="signed" data-testid="signed">
        <p>
          {t('sign.signed_by', { name: signed.name, user: signed.by, time: fmtDateTime(signed.at_ms) })}{' '}
          <Verdict verdict={verdict} />
        </p>
      </div>
    );
  }
  const signOff = async () => {
    if (!name.trim()) return toast(t('sign.name_required'), 'error');
    if (!pad.current || pad.current.isEmpty()) return toast(t('sign.draw_first'), 'error');
    if (!(await confirmIfUnsynced(engine, id, 'sign.anyway'))) return;
    setBusy(true);
    await run(async () => {
      const png = await pad.current!.toPng();
      const sha = png ? await saveSignature(engine, id, png) : '';
      await engine.edit(id, { op: 'sign_off', name: name.trim(), signature_sha256: sha });
      toast(t('sign.done'));
    });
    setBusy(false);
  };
  return (
    <div class="signoff">
      <label>
        {t('sign.name')}
        <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} data-testid="sign-name" />
      </label>
      <p class="muted">{t('sign.draw')}</p>
      <SignaturePad onReady={(h) => (pad.current = h)} />
      {disabledReason && <p class="warn-text">{disabledReason}</p>}
      <button
        type="button"
        class="btn btn-primary btn-large"
        disabled={busy || !!disabledReason}
        onClick={signOff}
        data-testid="sign-off"
      >
        {t('sign.submit')}
      </button>
    </div>
  );
}
