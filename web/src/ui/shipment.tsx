// Shipment check (出货/装柜): cartons loaded per line against the packing list (scanned
// carton labels or tallies), missing and extra, shipping marks verified with a photo,
// container and seal numbers, photos, verdict and sign-off.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t } from '../i18n';
import { problemCode } from '../i18n/errors';
import type { SyncEngine } from '../sync/engine';
import { newItemId } from '../sync/engine';
import {
  CameraIcon,
  PhotoButton,
  PhotoStrip,
  Section,
  StatusChip,
  Tally,
  Verdict,
  run,
  takePhoto,
  toastError,
  useEngine,
} from './common';
import { OverridePanel, RecordHeader, SignOffPanel } from './record';
import { CameraScanner, barcodeDetector, useWedgeScanner } from './scan';
import type { ShipmentView } from './types';

export type ScanResult = { kind: 'counted'; line: string } | { kind: 'unknown'; code: string } | { kind: 'refused' };

/**
 * One scanned carton label: the core matches it to a packing-list line (its barcode, or
 * PO/STYLE for a line without one) and counts one more carton there. A code on no line is
 * returned as `unknown` (nothing changed); any other refusal is shown as a toast.
 */
export async function scanCarton(engine: SyncEngine, id: string, code: string): Promise<ScanResult> {
  const before = engine.view<ShipmentView>(id)?.record.lines ?? {};
  try {
    await engine.edit(id, { op: 'scan_carton', code });
  } catch (e) {
    if (problemCode(e) === 'unknown_carton') return { kind: 'unknown', code: code.trim() };
    toastError(e);
    return { kind: 'refused' };
  }
  const after = engine.view<ShipmentView>(id)?.record.lines ?? {};
  const line = Object.keys(after).find((k) => after[k].loaded !== before[k]?.loaded) ?? '';
  return { kind: 'counted', line };
}

function TextField({
  id,
  field,
  label,
  value,
  readOnly,
}: {
  id: string;
  field: string;
  label: string;
  value: string;
  readOnly: boolean;
}) {
  const engine = useEngine();
  return (
    <label class="inline">
      {label}
      <input
        value={value}
        disabled={readOnly}
        data-testid={`ship-${field}`}
        autocapitalize="characters"
        onChange={(e) => {
          const v = (e.currentTarget as HTMLInputElement).value.trim();
          if (v !== value) void run(() => engine.edit(id, { op: 'set_text', field, value: v }));
        }}
      />
    </label>
  );
}

export function ShipmentScreen({ id, view }: { id: string; view: ShipmentView }) {
  const engine = useEngine();
  const r = view.record;
  const d = view.derived;
  const signed = !!r.sign_off;
  const [extraNote, setExtraNote] = useState('');
  const [extraCount, setExtraCount] = useState('1');
  const [code, setCode] = useState('');
  const [camera, setCamera] = useState(false);
  const [unknown, setUnknown] = useState<string | null>(null);
  const [lastLine, setLastLine] = useState<string | null>(null);
  const [lastText, setLastText] = useState('');

  const onScan = async (raw: string) => {
    if (signed || !raw.trim()) return;
    setCode('');
    const res = await scanCarton(engine, id, raw);
    if (res.kind === 'unknown') {
      setUnknown(res.code);
      setLastLine(null);
    } else if (res.kind === 'counted') {
      setUnknown(null);
      setLastLine(res.line);
      // Shown in the scan bar (not a toast each: a dock scans hundreds of cartons).
      const l = engine.view<ShipmentView>(id)?.record.lines[res.line];
      setLastText(l ? t('ship.scanned', { po: l.po_no, style: l.style_no, n: l.loaded }) : '');
    }
  };
  useWedgeScanner((c) => void onScan(c));

  const recordUnknownAsExtra = async (c: string) => {
    const existing = Object.entries(r.extras).find(([, x]) => x.note === c);
    const ok = await run(() =>
      existing
        ? engine.edit(id, { op: 'tally_extra', id: existing[0], delta: 1 })
        : engine.edit(id, { op: 'add_extra', id: newItemId('x'), note: c, count: 1 }),
    );
    if (ok) setUnknown(null);
  };

  return (
    <div class="record shipment" data-testid="shipment">
      <RecordHeader id={id} type="shipment_check" title={r.title}>
        <div class="row wrap">
          <span>
            {t('field.order_no')}: <strong>{r.order_no}</strong>
          </span>
          <span>
            {t('field.customer')}: <strong>{r.customer}</strong>
          </span>
          <span>
            {t('ship.booking')}: <strong>{r.booking_no}</strong>
          </span>
          <span>
            {t('ship.container_type')}: <strong>{r.container_type}</strong>
          </span>
          {r.due_ms > 0 && <span>{t('work.due', { date: fmtDate(r.due_ms) })}</span>}
          <StatusChip status={d.status} />
        </div>
        <div class="row wrap">
          <TextField id={id} field="container_no" label={t('ship.container_no')} value={r.container_no} readOnly={signed} />
          <TextField id={id} field="seal_no" label={t('ship.seal_no')} value={r.seal_no} readOnly={signed} />
        </div>
      </RecordHeader>

      {!signed && (
        <div class="card scanbar">
          <form
            class="row wrap"
            onSubmit={(e) => {
              e.preventDefault();
              void onScan(code);
            }}
          >
            <input
              class="grow scan-input"
              placeholder={t('ship.scan_placeholder')}
              aria-label={t('ship.scan_placeholder')}
              value={code}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
              data-testid="ship-scan-input"
              autocomplete="off"
              autocapitalize="characters"
            />
            <button type="submit" class="btn" data-testid="ship-scan-add">
              {t('ship.scan_add')}
            </button>
            {barcodeDetector() && (
              <button type="button" class="btn" onClick={() => setCamera(true)} data-testid="ship-scan-camera">
                <CameraIcon /> {t('ship.scan_camera')}
              </button>
            )}
          </form>
          {lastText && unknown === null && (
            <p class="scan-last" role="status" data-testid="scan-last">
              {lastText}
            </p>
          )}
          {unknown !== null && (
            <div class="scan-unknown" role="alert" data-testid="scan-unknown" data-code={unknown}>
              <strong>{t('ship.scan_unknown_title')}</strong> <span>{t('err.unknown_carton', { code: unknown })}</span>
              <div class="row wrap">
                <button type="button" class="btn btn-primary" onClick={() => void recordUnknownAsExtra(unknown)} data-testid="scan-record-extra">
                  {t('ship.scan_record_extra')}
                </button>
                <button type="button" class="btn" onClick={() => setUnknown(null)} data-testid="scan-dismiss">
                  {t('ship.scan_dismiss')}
                </button>
              </div>
            </div>
          )}
        </div>
      )}
      {camera && (
        <CameraScanner
          onCode={(c) => {
            setCamera(false);
            void onScan(c);
          }}
          onClose={() => setCamera(false)}
        />
      )}

      <div class="columns">
        <div class="col-main">
          <Section title={t('ship.lines')}>
            {Object.entries(r.lines).map(([lid, l]) => {
              const ld = d.lines[lid];
              return (
                <div
                  class={`ship-line ${lastLine === lid ? 'ship-line-scanned' : ''}`}
                  key={lid}
                  data-testid="ship-line"
                  data-line={lid}
                  data-scanned={lastLine === lid}
                >
                  <div class="ship-line-head">
                    <div>
                      <strong>
                        {l.po_no} · {l.style_no}
                      </strong>{' '}
                      <span class="muted">{l.description}</span>
                      <div class="muted small">
                        {t('ship.per_carton', { n: l.qty_per_carton })}
                        {l.barcode ? ` · ${t('ship.barcode', { code: l.barcode })}` : ''}
                      </div>
                    </div>
                    <Tally
                      value={l.loaded}
                      label={`${l.po_no} ${l.style_no}`}
                      disabled={signed}
                      testid="carton-tally"
                      onDelta={(delta) => run(() => engine.edit(id, { op: 'tally_cartons', line: lid, delta }))}
                    />
                  </div>
                  <div class="row wrap">
                    <span>{t('ship.expected', { n: l.cartons_expected })}</span>
                    <span>{t('ship.loaded', { n: ld?.loaded ?? l.loaded })}</span>
                    {ld && ld.missing > 0 && <span class="badge badge-warn">{t('ship.missing', { n: ld.missing })}</span>}
                    {ld && ld.extra > 0 && <span class="badge badge-warn">{t('ship.extra', { n: ld.extra })}</span>}
                  </div>
                  <div class="mark">
                    <span class="muted">{t('ship.mark')}:</span> <code>{l.shipping_mark}</code>
                    {l.mark_verified ? (
                      <span class="badge badge-ok" data-testid="mark-verified">
                        {t('ship.mark_verified', { user: l.mark_verified.by, time: fmtDateTime(l.mark_verified.at_ms) })}
                      </span>
                    ) : (
                      !signed && (
                        <>
                          <button
                            type="button"
                            class="btn"
                            disabled={Object.keys(l.photos ?? {}).length === 0}
                            title={Object.keys(l.photos ?? {}).length === 0 ? t('ship.mark_needs_photo') : undefined}
                            onClick={() => run(() => engine.edit(id, { op: 'verify_mark', line: lid }))}
                            data-testid="verify-mark"
                          >
                            {t('ship.verify_mark')}
                          </button>
                          {Object.keys(l.photos ?? {}).length === 0 && (
                            <span class="muted small" data-testid="mark-needs-photo">
                              {t('ship.mark_needs_photo')}
                            </span>
                          )}
                        </>
                      )
                    )}
                    {!signed && (
                      <PhotoButton
                        testid="mark-photo"
                        label={t('ship.mark_photo')}
                        onPhoto={async (f) => {
                          const photo = await takePhoto(engine, id, f);
                          await engine.edit(id, { op: 'add_line_photo', line: lid, photo });
                        }}
                      />
                    )}
                  </div>
                  <PhotoStrip photos={l.photos} />
                </div>
              );
            })}
          </Section>

          <Section title={t('ship.extras')}>
            {Object.entries(r.extras).map(([xid, x]) => (
              <div class="ship-line" key={xid}>
                <div class="ship-line-head">
                  <div>
                    <strong>{[x.po_no, x.style_no].filter(Boolean).join(' · ') || t('ship.unlisted')}</strong>
                    <div class="muted small">
                      {x.note} · {x.by}
                    </div>
                  </div>
                  <Tally
                    value={x.count}
                    label={x.note}
                    disabled={signed}
                    onDelta={(delta) => run(() => engine.edit(id, { op: 'tally_extra', id: xid, delta }))}
                  />
                </div>
              </div>
            ))}
            {!signed && (
              <form
                class="row wrap"
                onSubmit={async (e) => {
                  e.preventDefault();
                  const count = Number(extraCount);
                  if (!Number.isInteger(count) || count < 1) return;
                  const ok = await run(() =>
                    engine.edit(id, { op: 'add_extra', id: newItemId('x'), note: extraNote.trim(), count }),
                  );
                  if (ok) {
                    setExtraNote('');
                    setExtraCount('1');
                  }
                }}
              >
                <input
                  class="grow"
                  placeholder={t('ship.extra_note')}
                  value={extraNote}
                  onInput={(e) => setExtraNote((e.currentTarget as HTMLInputElement).value)}
                />
                <input
                  class="num"
                  type="number"
                  min={1}
                  value={extraCount}
                  onInput={(e) => setExtraCount((e.currentTarget as HTMLInputElement).value)}
                  aria-label={t('ship.extra_count')}
                />
                <button type="submit" class="btn">
                  {t('ship.add_extra')}
                </button>
              </form>
            )}
          </Section>

          <Section title={t('ship.photos')}>
            <PhotoStrip photos={r.photos} />
            {!signed && (
              <PhotoButton
                onPhoto={async (f) => {
                  const photo = await takePhoto(engine, id, f);
                  await engine.edit(id, { op: 'add_photo', photo });
                }}
              />
            )}
          </Section>
        </div>
        <aside class="col-side">
          <Section title={t('insp.verdict')}>
            <div class="verdict-big" data-testid="live-verdict" data-verdict={d.verdict}>
              <Verdict verdict={d.verdict} />
            </div>
            <ul class="reasons">
              <li>{t('ship.total_missing', { n: d.missing })}</li>
              <li>{t('ship.total_extra', { n: d.extra })}</li>
              {d.marks_unverified.length > 0 && <li>{t('ship.marks_open', { n: d.marks_unverified.length })}</li>}
              {!r.container_no && <li>{t('ship.need_container')}</li>}
              {!r.seal_no && <li>{t('ship.need_seal')}</li>}
            </ul>
            <OverridePanel id={id} derivedVerdict={d.derived_verdict} override={r.override} readOnly={signed} />
          </Section>
          <Section title={t('sign.title')}>
            <SignOffPanel id={id} signed={r.sign_off} verdict={d.verdict} />
          </Section>
        </aside>
      </div>
    </div>
  );
}
