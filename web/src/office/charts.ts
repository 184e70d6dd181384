// The arithmetic of the office charts (kept apart from the SVG so it is unit-tested).

/** A bar scale: the width in px of `value` when `max` fills `width` (0 for nothing). */
export function barWidth(value: number, max: number, width: number): number {
  if (max <= 0 || value <= 0) return 0;
  return Math.max(1, Math.round((Math.min(value, max) / max) * width));
}

/** The cumulative share (0–100, rounded) after each value of a Pareto, in the order given. */
export function cumulativePct(values: number[]): number[] {
  const total = values.reduce((a, v) => a + Math.max(0, v), 0);
  if (total === 0) return values.map(() => 0);
  let run = 0;
  return values.map((v) => {
    run += Math.max(0, v);
    return Math.round((run / total) * 100);
  });
}

/** The most bars a chart draws; the rest are summed into one "others" bar. */
export const CHART_BARS_MAX = 8;

/** The first `max - 1` items, and the sum of the rest as one more (when more than `max`). */
export function topWithRest<T>(items: T[], value: (t: T) => number, max = CHART_BARS_MAX): { head: T[]; rest: number } {
  if (items.length <= max) return { head: items, rest: 0 };
  const head = items.slice(0, max - 1);
  const rest = items.slice(max - 1).reduce((a, t) => a + value(t), 0);
  return { head, rest };
}
