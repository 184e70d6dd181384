// Two small charts as inline SVG: late milestones per factory (stacked bars) and a defect
// Pareto (bars, most first, with the cumulative share).

import { useState } from 'preact/hooks';

import { t } from '../i18n';
import { codeLabel } from '../i18n/labels';
import type { Dashboard, DefectPareto } from './api';
import { barWidth, cumulativePct, topWithRest } from './charts';

const ROW = 28;
const LABEL_W = 210;
const BAR_W = 300;
const NUM_W = 60;

function clip(text: string, n = 24): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

export function LateChart({ rows }: { rows: Dashboard['late_by_factory'] }) {
  if (rows.length === 0) return <p class="muted">{t('chart.no_late')}</p>;
  const { head, rest } = topWithRest(
    [...rows].sort((a, b) => b.done_late + b.overdue - (a.done_late + a.overdue)),
    (r) => r.done_late + r.overdue,
  );
  const max = Math.max(...head.map((r) => r.done_late + r.overdue), rest);
  const lines = head.length + (rest > 0 ? 1 : 0);
  const height = lines * ROW + 30;
  return (
    <figure class="chart" data-testid="late-chart">
      <svg viewBox={`0 0 ${LABEL_W + BAR_W + NUM_W} ${height}`} width="100%" role="img" aria-label={t('chart.late_title')}>
        {head.map((r, i) => {
          const y = i * ROW;
          const w1 = barWidth(r.done_late, max, BAR_W);
          const w2 = barWidth(r.overdue, max, BAR_W);
          return (
            <g key={r.factory} data-testid="late-bar" data-factory={r.factory}>
              <title>
                {t('chart.late_tip', { factory: r.factory, late: r.done_late, overdue: r.overdue })}
                {Object.entries(r.by_code ?? {})
                  .map(([code, n]) => `\n${codeLabel('late_codes', code) || '—'}: ${n}`)
                  .join('')}
              </title>
              <text x={LABEL_W - 8} y={y + 18} text-anchor="end" class="chart-label">
                {clip(r.factory)}
              </text>
              <rect x={LABEL_W} y={y + 4} width={w1} height={ROW - 8} class="bar-late" />
              <rect x={LABEL_W + w1} y={y + 4} width={w2} height={ROW - 8} class="bar-overdue" />
              <text x={LABEL_W + w1 + w2 + 6} y={y + 18} class="chart-num">
                {r.done_late + r.overdue}
              </text>
            </g>
          );
        })}
        {rest > 0 && (
          <g>
            <text x={LABEL_W - 8} y={head.length * ROW + 18} text-anchor="end" class="chart-label">
              {t('chart.others')}
            </text>
            <rect x={LABEL_W} y={head.length * ROW + 4} width={barWidth(rest, max, BAR_W)} height={ROW - 8} class="bar-late" />
          </g>
        )}
        <g transform={`translate(${LABEL_W}, ${lines * ROW + 8})`}>
          <rect width="12" height="12" class="bar-late" />
          <text x="18" y="11" class="chart-num">
            {t('chart.done_late')}
          </text>
          <rect x="150" width="12" height="12" class="bar-overdue" />
          <text x="168" y="11" class="chart-num">
            {t('chart.overdue')}
          </text>
        </g>
      </svg>
    </figure>
  );
}

const CLASS_KEYS = { critical: 'class.critical', major: 'class.major', minor: 'class.minor' } as const;

export function ParetoChart({ groups }: { groups: DefectPareto[] }) {
  const [pick, setPick] = useState(0);
  if (groups.length === 0) return <p class="muted">{t('chart.no_defects')}</p>;
  const g = groups[Math.min(pick, groups.length - 1)];
  const { head, rest } = topWithRest(g.defects, (d) => d.qty);
  const values = [...head.map((d) => d.qty), ...(rest > 0 ? [rest] : [])];
  const cum = cumulativePct(values);
  const max = Math.max(...values);
  const height = values.length * ROW + 4;
  return (
    <figure class="chart" data-testid="pareto-chart">
      <label>
        {t('chart.pareto_of')}
        <select
          value={String(pick)}
          onChange={(e) => setPick(Number((e.currentTarget as HTMLSelectElement).value))}
          data-testid="pareto-pick"
        >
          {groups.map((x, i) => (
            <option key={`${x.factory}/${x.style_no}`} value={String(i)}>
              {[x.factory, x.style_no].filter(Boolean).join(' · ')} ({t('chart.inspections', { n: x.inspections })})
            </option>
          ))}
        </select>
      </label>
      <svg
        viewBox={`0 0 ${LABEL_W + BAR_W + NUM_W + 50} ${height}`}
        width="100%"
        role="img"
        aria-label={t('chart.pareto_title')}
      >
        {values.map((v, i) => {
          const y = i * ROW;
          const d = head[i];
          const label = d ? `${d.description} (${t(CLASS_KEYS[d.class] ?? 'class.major')})` : t('chart.others');
          return (
            <g key={i} data-testid="pareto-bar" data-qty={v}>
              <title>{`${label}: ${v}`}</title>
              <text x={LABEL_W - 8} y={y + 18} text-anchor="end" class="chart-label">
                {clip(label)}
              </text>
              <rect x={LABEL_W} y={y + 4} width={barWidth(v, max, BAR_W)} height={ROW - 8} class={`bar-${d?.class ?? 'minor'}`} />
              <text x={LABEL_W + barWidth(v, max, BAR_W) + 6} y={y + 18} class="chart-num">
                {v}
              </text>
              <text x={LABEL_W + BAR_W + NUM_W + 45} y={y + 18} text-anchor="end" class="chart-num muted">
                {cum[i]}%
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
