// Shipment check (出货/装柜): cartons loaded per line against the packing list (tally),
// missing and extra, shipping marks verified with a photo, container and seal numbers,
// photos, verdict and sign-off.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t } from '../i18n';
import { newItemId } from '../sync/engine';
import { PhotoButton, PhotoStrip, Section, StatusChip, Tally, Verdict, run, takePhoto, useEngine } from './common';
import { OverridePanel, RecordHeader, SignOffPanel } from './record';
import type { ShipmentView } from './types';

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

      <div class="columns">
        <div class="col-main">
          <Section title={t('ship.lines')}>
            {Object.entries(r.lines).map(([lid, l]) => {
              const ld = d.lines[lid];
              return (
                <div class="ship-line" key={lid} data-testid="ship-line" data-line={lid}>
                  <div class="ship-line-head">
                    <div>
                      <strong>
                        {l.po_no} · {l.style_no}
                      </strong>{' '}
                      <span class="muted">{l.description}</span>
                      <div class="muted small">
                        {t('ship.per_carton', { n: l.qty_per_carton })}
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
                        <button
                          type="button"
                          class="btn"
                          onClick={() => run(() => engine.edit(id, { op: 'verify_mark', line: lid }))}
                          data-testid="verify-mark"
                        >
                          {t('ship.verify_mark')}
                        </button>
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
