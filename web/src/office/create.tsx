// Create and assign: an inspection, a stock count or a shipment check for a field user
// (POST /api/v1/records with `assignees`). Only users whose role can work on the record
// type are offered (GET /api/v1/assignees?type=), so the record reaches their device.

import { useState } from 'preact/hooks';

import { t, type MessageKey } from '../i18n';
import { run, toast } from '../ui/common';
import { typeLabel } from '../ui/mywork';
import { LoadState, recordHref, useLoad, useOfficeApi } from './common';

export const CREATABLE = ['inspection', 'stock_count', 'shipment_check'] as const;
export type Creatable = (typeof CREATABLE)[number];

const ITYPES: { value: string; key: MessageKey }[] = [
  { value: 'pre_shipment', key: 'itype.pre_shipment' },
  { value: 'inline', key: 'itype.inline' },
  { value: 'pre_production', key: 'itype.pre_production' },
];

/** Midnight (local) of a `YYYY-MM-DD` date input, in ms; 0 for none. */
export function dateInputMs(value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return 0;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d, 0, 0, 0, 0).getTime();
}

type Line = { location: string; sku: string; expected: string };
type Form = {
  title: string;
  order_no: string;
  style_no: string;
  customer: string;
  factory: string;
  warehouse: string;
  due: string;
  lot_size: string;
  inspection_type: string;
  booking_no: string;
  lines: Line[];
  assignee: string;
};

const EMPTY: Form = {
  title: '',
  order_no: '',
  style_no: '',
  customer: '',
  factory: '',
  warehouse: '',
  due: '',
  lot_size: '',
  inspection_type: 'pre_shipment',
  booking_no: '',
  lines: [{ location: '', sku: '', expected: '' }],
  assignee: '',
};

/** The body of POST /records for the form (validation is the server's and the core's). */
export function createBody(type: Creatable, f: Form): Record<string, unknown> {
  const base: Record<string, unknown> = {
    type,
    title: f.title.trim(),
    due_ms: dateInputMs(f.due),
    assignees: f.assignee ? [f.assignee] : [],
  };
  if (type === 'inspection')
    return {
      ...base,
      order_no: f.order_no.trim(),
      style_no: f.style_no.trim(),
      customer: f.customer.trim(),
      factory: f.factory.trim(),
      inspection_type: f.inspection_type,
      lot_size: Number(f.lot_size) || 0,
    };
  if (type === 'stock_count') {
    const lines: Record<string, unknown> = {};
    f.lines
      .filter((l) => l.location.trim() || l.sku.trim())
      .forEach((l, i) => {
        lines[`l${i + 1}`] = { location: l.location.trim(), sku: l.sku.trim(), expected: Number(l.expected) || 0 };
      });
    return { ...base, warehouse: f.warehouse.trim(), lines };
  }
  return {
    ...base,
    order_no: f.order_no.trim(),
    customer: f.customer.trim(),
    factory: f.factory.trim(),
    warehouse: f.warehouse.trim(),
    booking_no: f.booking_no.trim(),
  };
}

export function CreatePage() {
  const api = useOfficeApi();
  const [type, setType] = useState<Creatable>('inspection');
  const [form, setForm] = useState<Form>(EMPTY);
  const [created, setCreated] = useState<{ id: string; title: string; assignee: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const users = useLoad(() => api.assignees(type), [api, type]);

  const set = (k: keyof Form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const setLine = (i: number, k: keyof Line) => (e: Event) => {
    const lines = form.lines.map((l, j) => (j === i ? { ...l, [k]: (e.currentTarget as HTMLInputElement).value } : l));
    setForm({ ...form, lines });
  };
  const text = (k: keyof Form, label: MessageKey, required = false) => (
    <label>
      {t(label)}
      <input value={form[k] as string} onInput={set(k)} required={required} data-testid={`new-${k}`} />
    </label>
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    await run(async () => {
      const { id } = await api.create(createBody(type, form));
      setCreated({ id, title: form.title, assignee: form.assignee });
      toast(t('new.done'));
      setForm({ ...EMPTY, assignee: form.assignee });
    });
    setBusy(false);
  };

  return (
    <div class="office" data-testid="create-page">
      <h1>{t('new.title')}</h1>
      {created && (
        <p class="card" data-testid="new-created">
          {t('new.created')} <a href={recordHref(created.id)}>{created.title || created.id}</a>
          {created.assignee && ` · ${t('new.assigned_to', { user: created.assignee })}`}
        </p>
      )}
      <form class="card new-form" onSubmit={(e) => void submit(e)}>
        <div class="row wrap" role="group" aria-label={t('office.col_type')}>
          {CREATABLE.map((ty) => (
            <button
              type="button"
              key={ty}
              class={`btn ${type === ty ? 'btn-selected' : ''}`}
              aria-pressed={type === ty}
              onClick={() => {
                setType(ty);
                setForm({ ...form, assignee: '' });
              }}
              data-testid={`new-type-${ty}`}
            >
              {typeLabel(ty)}
            </button>
          ))}
        </div>
        <div class="new-fields">
          {text('title', 'new.record_title', true)}
          {type !== 'stock_count' && text('order_no', 'field.order_no')}
          {type === 'inspection' && text('style_no', 'field.style_no')}
          {type !== 'stock_count' && text('customer', 'field.customer')}
          {type !== 'stock_count' && text('factory', 'field.factory')}
          {type !== 'inspection' && text('warehouse', 'field.warehouse')}
          {type === 'shipment_check' && text('booking_no', 'new.booking_no')}
          {type === 'inspection' && (
            <>
              <label>
                {t('field.lot_size')}
                <input type="number" min="0" value={form.lot_size} onInput={set('lot_size')} data-testid="new-lot_size" />
              </label>
              <label>
                {t('field.inspection_type')}
                <select value={form.inspection_type} onChange={set('inspection_type')}>
                  {ITYPES.map((i) => (
                    <option key={i.value} value={i.value}>
                      {t(i.key)}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
          <label>
            {t('field.due')}
            <input type="date" value={form.due} onInput={set('due')} data-testid="new-due" />
          </label>
        </div>
        {type === 'stock_count' && (
          <fieldset class="new-lines">
            <legend>{t('new.lines')}</legend>
            {form.lines.map((l, i) => (
              <div class="row wrap" key={i}>
                <input placeholder={t('new.location')} aria-label={t('new.location')} value={l.location} onInput={setLine(i, 'location')} />
                <input placeholder={t('new.sku')} aria-label={t('new.sku')} value={l.sku} onInput={setLine(i, 'sku')} />
                <input
                  class="num"
                  type="number"
                  min="0"
                  placeholder={t('new.expected')}
                  aria-label={t('new.expected')}
                  value={l.expected}
                  onInput={setLine(i, 'expected')}
                />
              </div>
            ))}
            <button
              type="button"
              class="btn"
              onClick={() => setForm({ ...form, lines: [...form.lines, { location: '', sku: '', expected: '' }] })}
            >
              {t('new.add_line')}
            </button>
          </fieldset>
        )}
        <LoadState state={users}>
          {(u) => (
            <label>
              {t('new.assign_to')}
              <select value={form.assignee} onChange={set('assignee')} data-testid="new-assignee">
                <option value="">{t('new.nobody')}</option>
                {u.items.map((x) => (
                  <option key={x.username} value={x.username}>
                    {x.display_name ? `${x.display_name} (${x.username})` : x.username}
                  </option>
                ))}
              </select>
            </label>
          )}
        </LoadState>
        <button type="submit" class="btn btn-primary btn-large" disabled={busy} data-testid="new-submit">
          {t('new.submit')}
        </button>
      </form>
    </div>
  );
}
