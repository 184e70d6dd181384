import { describe, expect, it } from 'vitest';

import type { Summary } from '../sync/engine';
import { compareWork, matches, workList, type WorkItem } from './worklist';

function item(id: string, s: Partial<Summary>, status = 'open', extraText = ''): WorkItem {
  const summary: Summary = {
    record_type: 'inspection',
    title: id,
    status,
    verdict: '',
    order_no: '',
    style_no: '',
    po_no: '',
    customer: '',
    factory: '',
    warehouse: '',
    assignees: [],
    created_by: 'merch',
    due_ms: 0,
    ...s,
  };
  return { id, summary, status, verdict: '', extraText, held: true };
}

describe('work list', () => {
  const a = item('a', { due_ms: 300, order_no: 'SO-1', factory: 'Hengli' });
  const b = item('b', { due_ms: 100, style_no: 'HL-TS-2231' });
  const c = item('c', { due_ms: 50 }, 'signed');
  const d = item('d', { due_ms: 0, record_type: 'stock_count', warehouse: 'WH-Shenzhen' }, 'counting', 'A-01-1 SKU-9');

  it('puts unfinished work first, then by due date, no date last', () => {
    expect([a, b, c, d].sort(compareWork).map((i) => i.id)).toEqual(['b', 'a', 'd', 'c']);
  });

  it('searches order no., style no., factory, warehouse and locations', () => {
    expect(matches(a, 'so-1')).toBe(true);
    expect(matches(a, 'hengli so-1')).toBe(true);
    expect(matches(a, 'hengli so-2')).toBe(false);
    expect(matches(b, 'ts-2231')).toBe(true);
    expect(matches(d, 'a-01-1')).toBe(true);
    expect(matches(d, 'shenzhen')).toBe(true);
    expect(workList([a, b, c, d], '', 'stock_count').map((i) => i.id)).toEqual(['d']);
    expect(workList([a, b, c, d], 'hengli', null).map((i) => i.id)).toEqual(['a']);
  });
});
