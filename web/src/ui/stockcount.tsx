// Stock count (库存盘点): count by location/bin, scan (camera BarcodeDetector or a
// keyboard-wedge scanner) or type, blind mode, each clerk's own entries summed by the core,
// lines over the variance threshold flagged for recount, submit.

import { useState } from 'preact/hooks';

import { fmtDate, fmtDateTime, t } from '../i18n';
import { newItemId } from '../sync/engine';
import { CameraIcon, Section, StatusChip, confirmDialog, confirmIfUnsynced, run, toast, useEngine } from './common';
import { RecordHeader } from './record';
import { CameraScanner, barcodeDetector, useWedgeScanner } from './scan';
import type { CountLine, LineDerived, StockCountView } from './types';

/** The line a scanned or typed code points at: a SKU first, then a location/bin. */
export function findByCode(lines: Record<string, CountLine>, code: string): { lineId: string | null; location: string | null } {
  const c = code.trim().toLowerCase();
  if (!c) return { lineId: null, location: null };
  for (const [id, l] of Object.entries(lines)) if (l.sku.toLowerCase() === c) return { lineId: id, location: l.location };
  for (const l of Object.values(lines)) if (l.location.toLowerCase() === c) return { lineId: null, location: l.location };
  return { lineId: null, location: null };
}

/** This user's entry in the line's current round. */
export function myEntry(line: CountLine, user: string): number | null {
  const round = Math.max(1, line.round || 1);
  const e = line.entries[`${round}:${user}`];
  return e ? e.qty : null;
}

export function StockCountScreen({ id, view }: { id: string; view: StockCountView }) {
  const engine = useEngine();
  const r = view.record;
  const d = view.derived;
  const user = engine.user;
  const approved = !!r.approval;
  const submitted = !!r.submissions[user];
  const [location, setLocation] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [addPerScan, setAddPerScan] = useState(false);
  const [camera, setCamera] = useState(false);
  const locations = [...new Set(Object.values(r.lines).map((l) => l.location))].sort();
  const lines = Object.entries(r.lines)
    .filter(([, l]) => location === null || l.location === location)
    .sort(([, a], [, b]) => a.location.localeCompare(b.location) || a.sku.localeCompare(b.sku));

  const onCode = async (raw: string) => {
    const found = findByCode(r.lines, raw);
    setCode('');
    if (found.lineId) {
      setLocation(found.location);
      setSelected(found.lineId);
      if (addPerScan && !approved) {
        const line = r.lines[found.lineId];
        await run(() => engine.edit(id, { op: 'set_count', line: found.lineId, qty: (myEntry(line, user) ?? 0) + 1 }));
      }
      requestAnimationFrame(() => {
        const el = document.querySelector<HTMLInputElement>(`[data-line="${found.lineId}"] input[data-testid="count-input"]`);
        el?.scrollIntoView({ block: 'center' });
        if (!addPerScan) el?.focus();
      });
    } else if (found.location) {
      setLocation(found.location);
      setSelected(null);
    } else toast(t('count.not_found', { code: raw }), 'error');
  };

  // A keyboard-wedge scanner types the code fast and ends with Enter, wherever the focus
  // is: when it is not in a field, those keystrokes are a scan.
  useWedgeScanner((c) => void onCode(c));

  const submit = async () => {
    if (d.uncounted > 0) {
      const ok = await confirmDialog(t('count.uncounted_title'), t('count.uncounted_body', { n: d.uncounted }), t('count.submit_anyway'));
      if (!ok) return;
    }
    if (!(await confirmIfUnsynced(engine, id, 'count.submit_anyway'))) return;
    if (await run(() => engine.edit(id, { op: 'submit' }))) toast(t('count.submitted_toast'));
  };

  return (
    <div class="record stockcount" data-testid="stockcount">
      <RecordHeader id={id} type="stock_count" title={r.title}>
        <div class="row wrap">
          <span>
            {t('field.warehouse')}: <strong>{r.warehouse}</strong>
          </span>
          {r.due_ms > 0 && <span>{t('work.due', { date: fmtDate(r.due_ms) })}</span>}
          <StatusChip status={d.status} />
          {r.blind && <span class="badge">{view.expected_hidden ? t('count.blind_hidden') : t('count.blind')}</span>}
          <span class="muted">
            {t('count.threshold', {
              qty: r.threshold.qty ?? '—',
              pct: r.threshold.pct ?? '—',
            })}
          </span>
        </div>
        <div class="row wrap summary-nums">
          <span data-testid="count-uncounted">{t('count.uncounted', { n: d.uncounted })}</span>
          {!view.expected_hidden && (
            <span class={d.flagged > 0 ? 'warn-text' : ''} data-testid="count-flagged">
              {t('count.flagged', { n: d.flagged })}
            </span>
          )}
          {d.recount_pending > 0 && <span>{t('count.recount_pending_n', { n: d.recount_pending })}</span>}
          {submitted && (
            <span class="badge badge-ok" data-testid="count-submitted">
              {t('count.you_submitted', { time: fmtDateTime(r.submissions[user].at_ms) })}
            </span>
          )}
        </div>
      </RecordHeader>

      {!approved && (
        <div class="card scanbar">
          <form
            class="row wrap"
            onSubmit={(e) => {
              e.preventDefault();
              if (code.trim()) void onCode(code);
            }}
          >
            <input
              class="grow scan-input"
              placeholder={t('count.scan_placeholder')}
              aria-label={t('count.scan_placeholder')}
              value={code}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
              data-testid="scan-input"
              autocomplete="off"
              autocapitalize="characters"
            />
            <button type="submit" class="btn">
              {t('count.find')}
            </button>
            {barcodeDetector() && (
              <button type="button" class="btn" onClick={() => setCamera(true)} data-testid="scan-camera">
                <CameraIcon /> {t('count.scan_camera')}
              </button>
            )}
            <label class="toggle">
              <input type="checkbox" checked={addPerScan} onChange={(e) => setAddPerScan((e.currentTarget as HTMLInputElement).checked)} />
              {t('count.add_per_scan')}
            </label>
          </form>
        </div>
      )}
      {camera && (
        <CameraScanner
          onCode={(c) => {
            setCamera(false);
            void onCode(c);
          }}
          onClose={() => setCamera(false)}
        />
      )}

      <div class="row wrap loc-chips" role="group" aria-label={t('count.locations')}>
        <button
          type="button"
          class={`btn ${location === null ? 'btn-selected' : ''}`}
          onClick={() => setLocation(null)}
          data-testid="loc-all"
        >
          {t('work.all')}
        </button>
        {locations.map((l) => (
          <button
            type="button"
            key={l}
            class={`btn ${location === l ? 'btn-selected' : ''}`}
            onClick={() => setLocation(l)}
            data-testid="loc-chip"
          >
            {l}
          </button>
        ))}
      </div>

      <Section title={t('count.lines')}>
        <table class="count-table">
          <thead>
            <tr>
              <th>{t('count.location')}</th>
              <th>{t('count.sku')}</th>
              <th class="num">{t('count.expected')}</th>
              <th>{t('count.my_count')}</th>
              <th class="num">{t('count.total')}</th>
              <th class="num">{t('count.variance')}</th>
              <th>{t('count.flags')}</th>
            </tr>
          </thead>
          <tbody>
            {lines.map(([lid, line]) => (
              <CountRow
                key={lid}
                recordId={id}
                lineId={lid}
                line={line}
                derived={d.lines[lid]}
                hidden={view.expected_hidden}
                selected={selected === lid}
                readOnly={approved}
              />
            ))}
          </tbody>
        </table>
      </Section>

      {!approved && <AddLine id={id} defaultLocation={location} />}

      {!approved && (
        <div class="card row between wrap">
          <p class="muted">{submitted ? t('count.resubmit_hint') : t('count.submit_hint')}</p>
          <button type="button" class="btn btn-primary btn-large" onClick={submit} data-testid="count-submit">
            {submitted ? t('count.resubmit') : t('count.submit')}
          </button>
        </div>
      )}
      {approved && (
        <p class="card">
          {t('count.approved', { user: r.approval!.by, time: fmtDateTime(r.approval!.at_ms) })}
        </p>
      )}
    </div>
  );
}

function CountRow({
  recordId,
  lineId,
  line,
  derived,
  hidden,
  selected,
  readOnly,
}: {
  recordId: string;
  lineId: string;
  line: CountLine;
  derived: LineDerived | undefined;
  hidden: boolean;
  selected: boolean;
  readOnly: boolean;
}) {
  const engine = useEngine();
  const mine = myEntry(line, engine.user);
  const [draft, setDraft] = useState<string | null>(null);
  const value = draft ?? (mine === null ? '' : String(mine));
  const save = async () => {
    if (draft === null) return;
    const v = Number(draft);
    if (draft.trim() === '' || !Number.isInteger(v) || v < 0) {
      setDraft(null);
      return;
    }
    if (v !== mine) await run(() => engine.edit(recordId, { op: 'set_count', line: lineId, qty: v }));
    setDraft(null);
  };
  const flags: string[] = [];
  if (derived?.recount) flags.push(t('count.flag_recount'));
  if (derived?.recount_pending) flags.push(t('count.flag_recount_pending'));
  if (derived?.below_safety_stock && !hidden) flags.push(t('count.flag_below_safety'));
  const others = Object.values(line.entries).filter((e) => e.round === derived?.counted_round && e.by !== engine.user);
  return (
    <tr
      class={`${selected ? 'selected' : ''} ${derived?.recount ? 'flagged' : ''}`}
      data-testid="count-line"
      data-line={lineId}
      data-sku={line.sku}
      data-location={line.location}
      data-recount={derived?.recount ? 'true' : 'false'}
    >
      <td>{line.location}</td>
      <td>
        <strong>{line.sku}</strong>
        <div class="muted small">{line.description}</div>
        {(line.round || 1) > 1 && <div class="small">{t('count.round', { n: line.round })}</div>}
      </td>
      <td class="num" data-testid="count-expected">
        {hidden ? '—' : line.expected}
      </td>
      <td>
        <div class="row nowrap">
          <input
            class="num count-input"
            type="number"
            inputMode="numeric"
            min={0}
            value={value}
            disabled={readOnly}
            aria-label={t('count.my_count_for', { sku: line.sku })}
            data-testid="count-input"
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
            onBlur={() => void save()}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void save();
              }
            }}
          />
          {!readOnly && (
            <button
              type="button"
              class="btn tally-btn"
              aria-label={`${line.sku} +1`}
              onClick={() => run(() => engine.edit(recordId, { op: 'set_count', line: lineId, qty: (mine ?? 0) + 1 }))}
              data-testid="count-plus"
            >
              +1
            </button>
          )}
        </div>
      </td>
      <td class="num" data-testid="count-total">
        {derived?.total ?? '—'}
        {derived && derived.counters > 1 && <div class="muted small">{t('count.counters', { n: derived.counters })}</div>}
        {others.length > 0 && (
          <div class="muted small">{others.map((e) => `${e.by}: ${e.qty}`).join(', ')}</div>
        )}
      </td>
      <td class="num" data-testid="count-variance">
        {hidden || derived?.variance === null || derived?.variance === undefined
          ? '—'
          : `${derived.variance > 0 ? '+' : ''}${derived.variance}`}
      </td>
      <td data-testid="count-flags">
        {flags.map((f) => (
          <span key={f} class="badge badge-warn">
            {f}
          </span>
        ))}
      </td>
    </tr>
  );
}

function AddLine({ id, defaultLocation }: { id: string; defaultLocation: string | null }) {
  const engine = useEngine();
  const [open, setOpen] = useState(false);
  const [loc, setLoc] = useState(defaultLocation ?? '');
  const [sku, setSku] = useState('');
  const [desc, setDesc] = useState('');
  if (!open)
    return (
      <button type="button" class="btn" onClick={() => setOpen(true)}>
        {t('count.add_line')}
      </button>
    );
  return (
    <form
      class="card row wrap"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await run(() =>
          engine.edit(id, {
            op: 'add_line',
            id: newItemId('l'),
            line: { location: loc.trim(), sku: sku.trim(), description: desc.trim(), unit: 'pcs', expected: 0, safety_stock: 0 },
          }),
        );
        if (ok) {
          setSku('');
          setDesc('');
          setOpen(false);
        }
      }}
    >
      <input placeholder={t('count.location')} value={loc} onInput={(e) => setLoc((e.currentTarget as HTMLInputElement).value)} />
      <input placeholder={t('count.sku')} value={sku} required onInput={(e) => setSku((e.currentTarget as HTMLInputElement).value)} />
      <input
        class="grow"
        placeholder={t('count.description')}
        value={desc}
        onInput={(e) => setDesc((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit" class="btn btn-primary">
        {t('count.add_line_save')}
      </button>
      <button type="button" class="btn" onClick={() => setOpen(false)}>
        {t('common.cancel')}
      </button>
    </form>
  );
}
