import { describe, expect, it } from 'vitest';

import { findByCode, myEntry } from './stockcount';
import type { CountLine } from './types';

const line = (location: string, sku: string, round = 1, entries: CountLine['entries'] = {}): CountLine => ({
  location,
  sku,
  description: '',
  unit: 'pcs',
  expected: 10,
  safety_stock: 0,
  round,
  entries,
});

describe('stock count helpers', () => {
  const lines = { l1: line('A-01-1', 'SKU-1'), l2: line('A-01-2', 'SKU-2'), l3: line('A-01-2', 'SKU-3') };

  it('finds a scanned SKU, else a scanned bin (scanners send any case)', () => {
    expect(findByCode(lines, 'sku-2')).toEqual({ lineId: 'l2', location: 'A-01-2' });
    expect(findByCode(lines, ' A-01-2\n')).toEqual({ lineId: null, location: 'A-01-2' });
    expect(findByCode(lines, 'nope')).toEqual({ lineId: null, location: null });
  });

  it("reads this clerk's own entry in the line's current round", () => {
    const l = line('A', 'S', 2, {
      '1:clerk1': { qty: 5, round: 1, by: 'clerk1', at_ms: 1 },
      '2:clerk2': { qty: 7, round: 2, by: 'clerk2', at_ms: 2 },
    });
    expect(myEntry(l, 'clerk1')).toBeNull(); // counted in round 1 only: the recount is open
    expect(myEntry(l, 'clerk2')).toBe(7);
  });
});
