import { describe, expect, it } from 'vitest';

import { ApiError } from '../api';
import { parseRoute } from '../ui/app';
import { OfficeApi, isOffice } from './api';
import { createBody, dateInputMs } from './create';

describe('office routes', () => {
  it('parses the office pages and keeps the field routes', () => {
    expect(parseRoute('#/order/SO-2026%2F01')).toEqual({ name: 'order', orderNo: 'SO-2026/01' });
    expect(parseRoute('#/o/abc')).toEqual({ name: 'orecord', id: 'abc' });
    expect(parseRoute('#/approvals')).toEqual({ name: 'approvals' });
    expect(parseRoute('#/search')).toEqual({ name: 'search' });
    expect(parseRoute('#/new')).toEqual({ name: 'new' });
    expect(parseRoute('#/r/abc')).toEqual({ name: 'record', id: 'abc' });
    expect(parseRoute('#/r/abc/report')).toEqual({ name: 'report', id: 'abc' });
    expect(parseRoute('#/')).toEqual({ name: 'work' });
    // A broken escape is no route, not an exception.
    expect(parseRoute('#/order/%E0%A4%A')).toEqual({ name: 'work' });
  });

  it('knows the office roles', () => {
    expect(['admin', 'merchandiser', 'sales', 'approver'].every(isOffice)).toBe(true);
    expect(['qc', 'warehouse', 'shipping', 'factory'].some(isOffice)).toBe(false);
  });
});

describe('create and assign', () => {
  const form = {
    title: ' Final SO-1 ',
    order_no: 'SO-1',
    style_no: 'ST-1',
    customer: 'Northwind',
    factory: 'F1',
    warehouse: 'W1',
    due: '2026-12-01',
    lot_size: '500',
    inspection_type: 'inline',
    booking_no: 'BK-1',
    lines: [
      { location: 'A-01', sku: 'SKU-1', expected: '10' },
      { location: '', sku: '', expected: '' },
    ],
    assignee: 'qc1',
  };

  it('reads a date input as local midnight, and nothing as 0', () => {
    expect(dateInputMs('2026-12-01')).toBe(new Date(2026, 11, 1).getTime());
    expect(dateInputMs('')).toBe(0);
    expect(dateInputMs('1.12.2026')).toBe(0);
  });

  it('builds the body of each record type with the assignee', () => {
    expect(createBody('inspection', form)).toEqual({
      type: 'inspection',
      title: 'Final SO-1',
      due_ms: new Date(2026, 11, 1).getTime(),
      assignees: ['qc1'],
      order_no: 'SO-1',
      style_no: 'ST-1',
      customer: 'Northwind',
      factory: 'F1',
      inspection_type: 'inline',
      lot_size: 500,
    });
    const count = createBody('stock_count', form);
    expect(count.lines).toEqual({ l1: { location: 'A-01', sku: 'SKU-1', expected: 10 } });
    expect(count.warehouse).toBe('W1');
    expect(createBody('shipment_check', { ...form, assignee: '' }).assignees).toEqual([]);
  });
});

describe('office API client', () => {
  it('sends the token and turns a JSON error into an ApiError with its message', async () => {
    const seen: { url: string; auth: string }[] = [];
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url, auth: (init.headers as Record<string, string>).authorization });
      return new Response(JSON.stringify({ error: 'the office pages are for office roles' }), { status: 403 });
    }) as unknown as typeof fetch;
    const api = new OfficeApi('http://x', 'tok', fake);
    const e = await api.search('SO 1', { type: 'order', limit: 5 }).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(403);
    expect((e as ApiError).message).toBe('the office pages are for office roles');
    expect(seen).toEqual([{ url: 'http://x/api/v1/search?q=SO+1&type=order&limit=5', auth: 'Bearer tok' }]);
  });
});
