// Inspection (验货): header, the AQL plan the core derives, defects with a fast tally and
// photos, measurements against the size spec, checklist, live verdict, override, sign-off.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t, type MessageKey } from '../i18n';
import { problemsText } from '../i18n/errors';
import { newItemId } from '../sync/engine';
import {
  PhotoButton,
  PhotoStrip,
  Section,
  Tally,
  Verdict,
  confirmDialog,
  run,
  takePhoto,
  toastError,
  useEngine,
} from './common';
import { OverridePanel, RecordHeader, SignOffPanel } from './record';
import type { Defect, InspectionView, MeasurementPoint, Reading } from './types';

export const DEFECT_CLASSES = ['critical', 'major', 'minor'] as const;
export type DefectClassName = (typeof DEFECT_CLASSES)[number];

export const LEVELS = ['S-1', 'S-2', 'S-3', 'S-4', 'I', 'II', 'III'];
export const AQL_VALUES = ['0', '0.065', '0.10', '0.15', '0.25', '0.40', '0.65', '1.0', '1.5', '2.5', '4.0', '6.5', 'none'];

const CHECK_KEYS: Record<string, MessageKey> = {
  packaging: 'check.packaging',
  shipping_marks: 'check.shipping_marks',
  carton_drop: 'check.carton_drop',
  colour_vs_sample: 'check.colour_vs_sample',
  accessories_vs_list: 'check.accessories_vs_list',
};

export function checkLabel(key: string, stored: string): string {
  const k = CHECK_KEYS[key];
  return k ? t(k) : stored || key;
}

/** Checklist items in the standard order, then any added ones by key. */
export function sortedChecklist<T>(checklist: Record<string, T>): Array<[string, T]> {
  const order = Object.keys(CHECK_KEYS);
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  return Object.entries(checklist).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

export function classLabel(c: string): string {
  return (DEFECT_CLASSES as readonly string[]).includes(c) ? t(`class.${c as DefectClassName}`) : t('class.other', { value: c });
}

export function inspectionTypeLabel(v: string): string {
  const keys: Record<string, MessageKey> = {
    pre_production: 'itype.pre_production',
    inline: 'itype.inline',
    pre_shipment: 'itype.pre_shipment',
  };
  return keys[v] ? t(keys[v]) : t('itype.other', { value: v });
}

/** The stored AQL text (`0`, `none`, `2.5`) as the core's ClassAql JSON. */
export function classAqlJson(stored: string): unknown {
  const v = stored.trim();
  if (v === '' || v === '0' || v === 'zero') return 'zero_tolerance';
  if (v === 'none') return 'not_inspected';
  return { aql: v };
}

export function aqlLabel(v: string): string {
  if (v === '0') return t('aql.zero');
  if (v === 'none') return t('aql.none');
  return v;
}

export function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

export function InspectionScreen({ id, view }: { id: string; view: InspectionView }) {
  const engine = useEngine();
  const r = view.record;
  const d = view.derived;
  const signed = r.sign_off !== null && r.sign_off !== undefined;
  const edit = (op: { op: string; [k: string]: unknown }) => run(() => engine.edit(id, op));
  // What is being typed into the lot size, until it is saved (a re-render from sync must
  // not put the stored value back under the user's fingers).
  const [lotDraft, setLotDraft] = useState<string | null>(null);

  const setAql = (field: 'level' | 'critical' | 'major' | 'minor', value: string) => {
    const a = { ...r.aql, [field]: value };
    return edit({
      op: 'set_aql',
      settings: {
        level: a.level || 'II',
        critical: classAqlJson(a.critical || '0'),
        major: classAqlJson(a.major || '2.5'),
        minor: classAqlJson(a.minor || '4.0'),
        sample_size_rule: a.sample_size_rule || 'largest_for_all',
      },
    });
  };

  return (
    <div class="record inspection" data-testid="inspection">
      <RecordHeader id={id} type="inspection" title={r.title || `${r.order_no} / ${r.style_no}`}>
        <dl class="fields">
          <Field label={t('field.order_no')} value={r.order_no} />
          <Field label={t('field.po_no')} value={r.po_no} />
          <Field label={t('field.style_no')} value={r.style_no} />
          <Field label={t('field.customer')} value={r.customer} />
          <Field label={t('field.factory')} value={r.factory} />
          <Field label={t('field.due')} value={fmtDate(r.due_ms)} />
        </dl>
        <div class="row wrap">
          <label class="inline">
            {t('field.inspection_type')}
            <select
              value={r.inspection_type}
              disabled={signed}
              onChange={(e) =>
                edit({ op: 'set_inspection_type', inspection_type: (e.currentTarget as HTMLSelectElement).value })
              }
            >
              {['pre_production', 'inline', 'pre_shipment'].map((v) => (
                <option value={v} key={v}>
                  {inspectionTypeLabel(v)}
                </option>
              ))}
            </select>
          </label>
          <label class="inline">
            {t('field.lot_size')}
            <input
              type="number"
              inputMode="numeric"
              min={0}
              class="num"
              value={lotDraft ?? (r.lot_size || '')}
              disabled={signed}
              data-testid="lot-size"
              aria-invalid={lotDraft !== null && !/^\d*$/.test(lotDraft.trim())}
              onInput={(e) => setLotDraft((e.currentTarget as HTMLInputElement).value)}
              onChange={async (e) => {
                const text = (e.currentTarget as HTMLInputElement).value.trim();
                if (!/^\d*$/.test(text)) {
                  // Kept as typed, so it can be corrected.
                  toastError({ code: 'invalid', message: text, problems: [{ field: 'lot_size', message: 'must be a whole number', code: 'not_whole_number' }] });
                  return;
                }
                const v = Number(text);
                if (v === r.lot_size || (await edit({ op: 'set_lot_size', lot_size: v }))) setLotDraft(null);
              }}
            />
          </label>
          <label class="inline">
            {t('aql.level')}
            <select
              value={r.aql.level || 'II'}
              disabled={signed}
              onChange={(e) => setAql('level', (e.currentTarget as HTMLSelectElement).value)}
            >
              {LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          {DEFECT_CLASSES.map((c) => (
            <label class="inline" key={c}>
              {t('aql.for_class', { class: classLabel(c) })}
              <select
                value={r.aql[c] || (c === 'critical' ? '0' : c === 'major' ? '2.5' : '4.0')}
                disabled={signed}
                data-testid={`aql-${c}`}
                onChange={(e) => setAql(c, (e.currentTarget as HTMLSelectElement).value)}
              >
                {AQL_VALUES.map((v) => (
                  <option key={v} value={v}>
                    {aqlLabel(v)}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
      </RecordHeader>

      <div class="columns">
        <div class="col-main">
          <DefectsSection id={id} view={view} signed={signed} />
          <MeasurementsSection id={id} view={view} signed={signed} />
          <ChecklistSection id={id} view={view} signed={signed} />
          <Section title={t('insp.photos')}>
            <PhotoStrip photos={r.photos} />
            {!signed && (
              <PhotoButton
                testid="general-photo"
                onPhoto={async (f) => {
                  const photo = await takePhoto(engine, id, f);
                  await engine.edit(id, { op: 'add_photo', photo });
                }}
              />
            )}
            <label>
              {t('insp.remarks')}
              <textarea
                rows={3}
                value={r.remarks}
                disabled={signed}
                onChange={(e) =>
                  edit({ op: 'set_text', field: 'remarks', value: (e.currentTarget as HTMLTextAreaElement).value })
                }
              />
            </label>
          </Section>
        </div>

        <aside class="col-side">
          <PlanCard view={view} />
          <Section title={t('insp.verdict')} id="verdict">
            <div class="verdict-big" data-testid="live-verdict" data-verdict={d.verdict}>
              <Verdict verdict={d.verdict} />
              {d.overridden && <span class="muted">{t('verdict.by_person')}</span>}
            </div>
            {d.overridden && (
              <p class="muted">
                {t('verdict.derived_was')} <Verdict verdict={d.derived_verdict} />
              </p>
            )}
            <VerdictReasons view={view} />
            <OverridePanel id={id} derivedVerdict={d.derived_verdict} override={r.override} readOnly={signed} />
          </Section>
          <Section title={t('sign.title')} id="signoff">
            <SignOffPanel
              id={id}
              signed={r.sign_off?.person ?? null}
              verdict={r.sign_off?.verdict ?? d.verdict}
              disabledReason={d.plan ? null : t('sign.need_plan')}
            />
          </Section>
          <a class="btn btn-block" href={`#/r/${encodeURIComponent(id)}/report`} data-testid="open-report">
            {t('report.open')}
          </a>
        </aside>
      </div>
    </div>
  );
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{value || '—'}</dd>
    </div>
  );
}

export function PlanCard({ view }: { view: InspectionView }) {
  const d = view.derived;
  const p = d.plan;
  return (
    <Section title={t('aql.plan')} id="plan">
      {p ? (
        <div data-testid="aql-plan" data-sample-size={p.sample_size}>
          <p class="plan-summary">
            {t('aql.summary', {
              lot: p.lot_size,
              level: p.level,
              letter: p.lot_code_letter,
              n: p.sample_size,
            })}
            {p.inspect_all ? ` ${t('aql.inspect_all')}` : ''}
          </p>
          <table class="plan-table">
            <thead>
              <tr>
                <th>{t('aql.class')}</th>
                <th>{t('aql.found')}</th>
                <th>Ac</th>
                <th>Re</th>
              </tr>
            </thead>
            <tbody>
              {d.classes.map((c) => (
                <tr key={c.class} class={c.rejected ? 'rejected' : ''} data-testid={`class-${c.class}`}>
                  <td>{classLabel(c.class)}</td>
                  <td data-testid={`found-${c.class}`}>{c.found}</td>
                  <td>{c.accept ?? '—'}</td>
                  <td>{c.reject ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small">{t('aql.derived_note')}</p>
        </div>
      ) : (
        <p class="warn-text" data-testid="aql-plan-missing">
          {t('aql.no_plan')} {problemsText(d.plan_problems)}
        </p>
      )}
    </Section>
  );
}

function VerdictReasons({ view }: { view: InspectionView }) {
  const d = view.derived;
  const items: string[] = [];
  for (const c of d.classes) if (c.rejected) items.push(t('verdict.reason_class', { class: classLabel(c.class), n: c.found, re: c.reject ?? 0 }));
  if (d.failed_checks.length > 0)
    items.push(t('verdict.reason_checks', { items: d.failed_checks.map((k) => checkLabel(k, view.record.checklist[k]?.name ?? k)).join(', ') }));
  if (d.open_checks.length > 0) items.push(t('verdict.open_checks', { n: d.open_checks.length }));
  if (d.out_of_tolerance.length > 0) items.push(t('verdict.out_of_tolerance', { n: d.out_of_tolerance.length }));
  if (items.length === 0) return null;
  return (
    <ul class="reasons">
      {items.map((x) => (
        <li key={x}>{x}</li>
      ))}
    </ul>
  );
}

function DefectsSection({ id, view, signed }: { id: string; view: InspectionView; signed: boolean }) {
  const engine = useEngine();
  const [cls, setCls] = useState<DefectClassName>('major');
  const [description, setDescription] = useState('');
  const [position, setPosition] = useState('');
  const defects = Object.entries(view.record.defects).sort(([, a], [, b]) => a.at_ms - b.at_ms);

  const add = async (e: Event) => {
    e.preventDefault();
    if (!description.trim()) return;
    const ok = await run(() =>
      engine.edit(id, {
        op: 'add_defect',
        id: newItemId('d'),
        class: cls,
        description: description.trim(),
        position: position.trim(),
        qty: 1,
      }),
    );
    if (ok) {
      setDescription('');
      setPosition('');
    }
  };

  return (
    <Section title={t('insp.defects')} id="defects">
      {!signed && (
        <form class="add-defect" onSubmit={add} data-testid="add-defect">
          <div class="row wrap" role="group" aria-label={t('aql.class')}>
            {DEFECT_CLASSES.map((c) => (
              <button
                type="button"
                key={c}
                class={`btn class-btn class-${c} ${cls === c ? 'btn-selected' : ''}`}
                aria-pressed={cls === c}
                onClick={() => setCls(c)}
                data-testid={`new-defect-${c}`}
              >
                {classLabel(c)}
              </button>
            ))}
          </div>
          <div class="row wrap">
            <input
              class="grow"
              placeholder={t('defect.description')}
              aria-label={t('defect.description')}
              value={description}
              onInput={(e) => setDescription((e.currentTarget as HTMLInputElement).value)}
              data-testid="defect-description"
            />
            <input
              placeholder={t('defect.position')}
              aria-label={t('defect.position')}
              value={position}
              onInput={(e) => setPosition((e.currentTarget as HTMLInputElement).value)}
              data-testid="defect-position"
            />
            <button type="submit" class="btn btn-primary" disabled={!description.trim()} data-testid="defect-add">
              {t('defect.add')}
            </button>
          </div>
        </form>
      )}
      {DEFECT_CLASSES.map((c) => {
        const list = defects.filter(([, x]) => x.class === c);
        if (list.length === 0) return null;
        return (
          <div key={c} class={`defect-group class-${c}`}>
            <h3>{classLabel(c)}</h3>
            {list.map(([did, x]) => (
              <DefectRow key={did} recordId={id} defectId={did} defect={x} signed={signed} />
            ))}
          </div>
        );
      })}
      {defects.length === 0 && <p class="muted">{t('defect.none')}</p>}
    </Section>
  );
}

function DefectRow({ recordId, defectId, defect, signed }: { recordId: string; defectId: string; defect: Defect; signed: boolean }) {
  const engine = useEngine();
  const voided = !!defect.voided;
  return (
    <div class={`defect ${voided ? 'voided' : ''}`} data-testid="defect" data-description={defect.description} data-id={defectId}>
      <div class="defect-text">
        <strong>{defect.description}</strong>
        {defect.position && <span class="muted"> · {defect.position}</span>}
        <div class="muted small">
          {defect.by} · {fmtDateTime(defect.at_ms)}
          {voided && ` · ${t('defect.voided', { reason: defect.voided!.reason })}`}
        </div>
        <PhotoStrip photos={defect.photos} />
      </div>
      <div class="defect-actions">
        <Tally
          value={defect.qty}
          label={defect.description}
          disabled={signed || voided}
          testid="defect-tally"
          onDelta={(delta) => run(() => engine.edit(recordId, { op: 'tally_defect', id: defectId, delta }))}
        />
        {!signed && !voided && (
          <div class="row">
            <PhotoButton
              testid="defect-photo"
              onPhoto={async (f) => {
                const photo = await takePhoto(engine, recordId, f);
                await engine.edit(recordId, { op: 'add_defect_photo', id: defectId, photo });
              }}
            />
            <button
              type="button"
              class="btn btn-quiet"
              onClick={async () => {
                const ok = await confirmDialog(t('defect.void_title'), defect.description, t('defect.void'));
                if (ok) await run(() => engine.edit(recordId, { op: 'void_defect', id: defectId, reason: t('defect.void_reason') }));
              }}
            >
              {t('defect.void')}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}

function MeasurementsSection({ id, view, signed }: { id: string; view: InspectionView; signed: boolean }) {
  const points = Object.entries(view.record.points);
  const oot = new Set(view.derived.out_of_tolerance.map((o) => o.reading));
  const readings = Object.entries(view.record.readings);
  return (
    <Section title={t('insp.measurements')} id="measurements">
      {points.length === 0 && <p class="muted">{t('measure.no_spec')}</p>}
      {points.length > 0 && (
        <table class="measure-table">
          <thead>
            <tr>
              <th>{t('measure.point')}</th>
              <th>{t('measure.spec')}</th>
              <th>{t('measure.readings')}</th>
              {!signed && <th>{t('measure.new')}</th>}
            </tr>
          </thead>
          <tbody>
            {points.map(([pid, p]) => (
              <PointRow
                key={pid}
                recordId={id}
                pointId={pid}
                point={p}
                readings={readings.filter(([, r]) => r.point === pid).sort(([, a], [, b]) => a.piece - b.piece || a.at_ms - b.at_ms)}
                oot={oot}
                signed={signed}
              />
            ))}
          </tbody>
        </table>
      )}
      {view.derived.out_of_tolerance.length > 0 && (
        <p class="warn-text" data-testid="oot-summary">
          {t('verdict.out_of_tolerance', { n: view.derived.out_of_tolerance.length })}
        </p>
      )}
    </Section>
  );
}

function PointRow({
  recordId,
  pointId,
  point,
  readings,
  oot,
  signed,
}: {
  recordId: string;
  pointId: string;
  point: MeasurementPoint;
  readings: Array<[string, Reading]>;
  oot: Set<string>;
  signed: boolean;
}) {
  const engine = useEngine();
  const [value, setValue] = useState('');
  const nextPiece = readings.reduce((m, [, r]) => Math.max(m, r.piece), 0) + 1;
  const save = async () => {
    const v = Number(value.replace(',', '.'));
    if (!value.trim() || !Number.isFinite(v)) return;
    const ok = await run(() =>
      engine.edit(recordId, { op: 'record_reading', id: newItemId('m'), point: pointId, piece: nextPiece, value: v }),
    );
    if (ok) setValue('');
  };
  return (
    <tr data-testid="measure-point" data-point={pointId}>
      <td>
        <strong>{point.name}</strong>
        {point.size && <span class="muted"> ({point.size})</span>}
      </td>
      <td class="nowrap">
        {fmtNum(point.target)} {point.unit}{' '}
        <span class="muted">
          −{fmtNum(point.tol_minus)}/+{fmtNum(point.tol_plus)}
        </span>
      </td>
      <td>
        <div class="row wrap">
          {readings.map(([rid, r]) => (
            <span
              key={rid}
              class={`reading ${oot.has(rid) ? 'oot' : 'ok'}`}
              data-testid="reading"
              data-oot={oot.has(rid) ? 'true' : 'false'}
              title={`${r.by} ${fmtDateTime(r.at_ms)}`}
            >
              #{r.piece}: {fmtNum(r.value)}
            </span>
          ))}
        </div>
      </td>
      {!signed && (
        <td>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <input
              class="num"
              inputMode="decimal"
              placeholder={`#${nextPiece}`}
              aria-label={t('measure.value_for', { point: point.name, piece: nextPiece })}
              value={value}
              onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
              data-testid="reading-input"
            />
            <button type="submit" class="btn" data-testid="reading-add">
              {t('measure.add')}
            </button>
          </form>
        </td>
      )}
    </tr>
  );
}

function ChecklistSection({ id, view, signed }: { id: string; view: InspectionView; signed: boolean }) {
  const engine = useEngine();
  const items = sortedChecklist(view.record.checklist);
  return (
    <Section title={t('insp.checklist')} id="checklist">
      {items.map(([key, item]) => (
        <div class={`check result-${item.result || 'unset'}`} key={key} data-testid="check" data-item={key} data-result={item.result}>
          <div class="check-name">
            <strong>{checkLabel(key, item.name)}</strong>
            {item.by && (
              <div class="muted small">
                {item.by} · {fmtDateTime(item.at_ms)}
              </div>
            )}
          </div>
          <div class="row wrap">
            {(['pass', 'fail', 'na'] as const).map((res) => (
              <button
                type="button"
                key={res}
                class={`btn check-btn check-${res} ${item.result === res ? 'btn-selected' : ''}`}
                aria-pressed={item.result === res}
                disabled={signed}
                data-testid={`check-${res}`}
                onClick={() =>
                  run(() => engine.edit(id, { op: 'set_check', item: key, result: item.result === res ? '' : res, note: item.note }))
                }
              >
                {t(`check.${res}`)}
              </button>
            ))}
            <input
              class="grow"
              placeholder={t('check.note')}
              aria-label={t('check.note')}
              value={item.note}
              disabled={signed}
              onChange={(e) =>
                run(() =>
                  engine.edit(id, { op: 'set_check', item: key, result: item.result, note: (e.currentTarget as HTMLInputElement).value }),
                )
              }
            />
            {!signed && (
              <PhotoButton
                onPhoto={async (f) => {
                  const photo = await takePhoto(engine, id, f);
                  await engine.edit(id, { op: 'add_check_photo', item: key, photo });
                }}
              />
            )}
          </div>
          <PhotoStrip photos={item.photos} />
        </div>
      ))}
    </Section>
  );
}
