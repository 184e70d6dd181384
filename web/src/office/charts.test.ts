import { describe, expect, it } from 'vitest';

import { CHART_BARS_MAX, barWidth, cumulativePct, topWithRest } from './charts';

describe('office charts', () => {
  it('scales bars to the largest value, never below one pixel for a non-zero value', () => {
    expect(barWidth(10, 10, 200)).toBe(200);
    expect(barWidth(5, 10, 200)).toBe(100);
    expect(barWidth(1, 1000, 200)).toBe(1);
    expect(barWidth(0, 10, 200)).toBe(0);
    expect(barWidth(3, 0, 200)).toBe(0);
    expect(barWidth(20, 10, 200)).toBe(200);
  });

  it('accumulates a Pareto to 100 %', () => {
    expect(cumulativePct([42, 3])).toEqual([93, 100]);
    expect(cumulativePct([5, 3, 2])).toEqual([50, 80, 100]);
    expect(cumulativePct([0, 0])).toEqual([0, 0]);
  });

  it(`draws at most ${CHART_BARS_MAX} bars, summing the rest into one`, () => {
    const items = Array.from({ length: CHART_BARS_MAX + 2 }, (_, i) => 100 - i);
    const { head, rest } = topWithRest(items, (v) => v);
    expect(head.length).toBe(CHART_BARS_MAX - 1);
    expect(rest).toBe(items.slice(CHART_BARS_MAX - 1).reduce((a, v) => a + v, 0));
    const few = topWithRest(items.slice(0, CHART_BARS_MAX), (v) => v);
    expect(few).toEqual({ head: items.slice(0, CHART_BARS_MAX), rest: 0 });
  });
});
