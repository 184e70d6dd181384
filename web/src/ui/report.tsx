// The inspection report (验货报告), laid out for print: the browser's "Save as PDF" makes
// the document the office and the customer receive.

import { fmtDate, fmtDateTime, t } from '../i18n';
import { PhotoThumb, Verdict, useEngine } from './common';
import { DEFECT_CLASSES, aqlLabel, checkLabel, classLabel, fmtNum, inspectionTypeLabel, sortedChecklist } from './inspection';
import type { InspectionView } from './types';

export function InspectionReport({ id, view }: { id: string; view: InspectionView }) {
  const engine = useEngine();
  const r = view.record;
  const d = view.derived;
  const p = d.plan;
  const oot = new Set(d.out_of_tolerance.map((o) => o.reading));
  const defects = Object.values(r.defects).filter((x) => !x.voided);
  const signature = r.sign_off?.person.signature_sha256;
  return (
    <article class="report" data-testid="report">
      <div class="row between no-print">
        <a class="btn" href={`#/r/${encodeURIComponent(id)}`}>
          {t('common.back')}
        </a>
        <button type="button" class="btn btn-primary" onClick={() => window.print()} data-testid="print">
          {t('report.print')}
        </button>
      </div>
      <header class="report-head">
        <h1>{t('report.title')}</h1>
        <p>
          {r.title} · <Verdict verdict={d.verdict} />
        </p>
      </header>
      <table class="report-table">
        <tbody>
          <tr>
            <th>{t('field.order_no')}</th>
            <td>{r.order_no}</td>
            <th>{t('field.po_no')}</th>
            <td>{r.po_no}</td>
          </tr>
          <tr>
            <th>{t('field.style_no')}</th>
            <td>{r.style_no}</td>
            <th>{t('field.customer')}</th>
            <td>{r.customer}</td>
          </tr>
          <tr>
            <th>{t('field.factory')}</th>
            <td>{r.factory}</td>
            <th>{t('field.inspection_type')}</th>
            <td>{inspectionTypeLabel(r.inspection_type)}</td>
          </tr>
          <tr>
            <th>{t('field.lot_size')}</th>
            <td>{r.lot_size}</td>
            <th>{t('field.due')}</th>
            <td>{fmtDate(r.due_ms)}</td>
          </tr>
        </tbody>
      </table>

      <h2>{t('aql.plan')}</h2>
      {p ? (
        <>
          <p>
            {t('aql.summary', { lot: p.lot_size, level: p.level, letter: p.lot_code_letter, n: p.sample_size })}
          </p>
          <table class="report-table">
            <thead>
              <tr>
                <th>{t('aql.class')}</th>
                <th>AQL</th>
                <th>{t('aql.found')}</th>
                <th>Ac</th>
                <th>Re</th>
                <th>{t('report.result')}</th>
              </tr>
            </thead>
            <tbody>
              {d.classes.map((c) => (
                <tr key={c.class}>
                  <td>{classLabel(c.class)}</td>
                  <td>{aqlLabel(r.aql[c.class as 'critical'] ?? '')}</td>
                  <td>{c.found}</td>
                  <td>{c.accept ?? '—'}</td>
                  <td>{c.reject ?? '—'}</td>
                  <td>{c.rejected ? t('verdict.fail') : t('verdict.pass')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p>{t('aql.no_plan')}</p>
      )}

      <h2>{t('insp.defects')}</h2>
      {defects.length === 0 ? (
        <p>{t('defect.none')}</p>
      ) : (
        <table class="report-table">
          <thead>
            <tr>
              <th>{t('aql.class')}</th>
              <th>{t('defect.description')}</th>
              <th>{t('defect.position')}</th>
              <th>{t('defect.qty')}</th>
            </tr>
          </thead>
          <tbody>
            {DEFECT_CLASSES.flatMap((c) =>
              defects
                .filter((x) => x.class === c)
                .map((x, i) => (
                  <tr key={`${c}${i}`}>
                    <td>{classLabel(c)}</td>
                    <td>{x.description}</td>
                    <td>{x.position}</td>
                    <td>{x.qty}</td>
                  </tr>
                )),
            )}
          </tbody>
        </table>
      )}
      <div class="report-photos">
        {defects.flatMap((x) => Object.values(x.photos)).map((ph) => (
          <PhotoThumb key={ph.sha256} photo={ph} />
        ))}
      </div>

      <h2>{t('insp.measurements')}</h2>
      <table class="report-table">
        <thead>
          <tr>
            <th>{t('measure.point')}</th>
            <th>{t('measure.spec')}</th>
            <th>{t('measure.readings')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(r.points).map(([pid, pt]) => (
            <tr key={pid}>
              <td>
                {pt.name} {pt.size && `(${pt.size})`}
              </td>
              <td>
                {fmtNum(pt.target)} {pt.unit} −{fmtNum(pt.tol_minus)}/+{fmtNum(pt.tol_plus)}
              </td>
              <td>
                {Object.entries(r.readings)
                  .filter(([, x]) => x.point === pid)
                  .sort(([, a], [, b]) => a.piece - b.piece)
                  .map(([rid, x]) => (
                    <span key={rid} class={`reading ${oot.has(rid) ? 'oot' : 'ok'}`}>
                      #{x.piece}: {fmtNum(x.value)}
                    </span>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>{t('insp.checklist')}</h2>
      <table class="report-table">
        <tbody>
          {sortedChecklist(r.checklist).map(([k, c]) => (
            <tr key={k}>
              <th>{checkLabel(k, c.name)}</th>
              <td>{c.result ? t(`check.${c.result}`) : t('check.unset')}</td>
              <td>{c.note}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {r.remarks && (
        <>
          <h2>{t('insp.remarks')}</h2>
          <p class="quote">{r.remarks}</p>
        </>
      )}

      <h2>{t('insp.verdict')}</h2>
      <p>
        <Verdict verdict={d.verdict} />
        {r.override && ` — ${t('verdict.overridden_by', { user: r.override.by, time: fmtDateTime(r.override.at_ms) })}: ${r.override.reason}`}
      </p>
      {r.sign_off ? (
        <div class="report-sign">
          <p>{t('sign.signed_by', { name: r.sign_off.person.name, user: r.sign_off.person.by, time: fmtDateTime(r.sign_off.person.at_ms) })}</p>
          {signature && <PhotoThumb photo={{ sha256: signature, mime: 'image/png', bytes: 0 }} />}
          <p class="muted small">
            {t('report.heads')} {r.sign_off.heads.map((h) => h.slice(0, 12)).join(', ')}
          </p>
        </div>
      ) : (
        <p class="muted">{t('report.not_signed')}</p>
      )}
      <p class="muted small">
        {t('report.generated', { time: fmtDateTime(Date.now()), user: engine.user })}
      </p>
    </article>
  );
}
