import { afterEach, describe, expect, it } from 'vitest';

import { ApiError } from '../api';
import { parseRoute } from '../ui/app';
import { OfficeApi, isOffice } from './api';
import { activityText, importRowText } from './common';
import { createBody, dateInputMs } from './create';
import { fmtDate, setLang } from '../i18n';

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

describe('activity entries', () => {
  afterEach(() => setLang('en'));

  it('are worded from their code in the interface language, dates and labels included', () => {
    setLang('zh-CN');
    const replanned = activityText(
      'milestone_replanned',
      { id: 'ex_factory', code: 'ex_factory', name: '出货 ex-factory / ship', planned_ms: String(Date.UTC(2026, 10, 20, 4)) },
      'milestone 出货 ex-factory / ship re-planned to 1795000000000',
    );
    expect(replanned).toBe(`节点 出货 计划日期改为 ${fmtDate(Date.UTC(2026, 10, 20, 4))}`);
    expect(replanned).not.toContain('1795');
    expect(activityText('sample_rejected', { sample: 'pp', round: 'pp' }, 'sample pp rejected')).toBe('产前办（PP办）被退回');
    expect(activityText('handover_added', { kind: 'file' }, 'file handed over')).toContain('交接了');
    expect(activityText('handover_added', { kind: 'file' }, 'file handed over')).not.toContain('file');
    expect(activityText('week_finished', { week: '2026-11-23', qty: '40' }, '')).toBe('2026-11-23 当周完成 40 件');
    setLang('en');
    expect(activityText('packaging_drafted', { id: 'm1', kind: 'shipping_mark' }, 'shipping_mark drafted')).not.toContain(
      'shipping_mark',
    );
  });

  it('without a code, or with one this app does not know, show the English the server kept', () => {
    setLang('zh-CN');
    expect(activityText('', {}, 'line l1 added')).toBe('line l1 added');
    expect(activityText(undefined, undefined, 'line l1 added')).toBe('line l1 added');
    expect(activityText('something_new', { id: 'x' }, 'something new happened')).toBe('something new happened');
  });
});

describe('refused rows of an imported sheet', () => {
  afterEach(() => setLang('en'));

  const bad = {
    row: 7,
    message: '交货期: "next week" is not a date (use YYYY-MM-DD)',
    code: 'not_a_date',
    params: { column: '交货期', column_en: 'Delivery date', value: 'next week' },
  };

  it('are worded in the interface language, the column by its header in that language', () => {
    setLang('zh-CN');
    expect(importRowText(bad)).toBe('交货期：“next week”不是日期（请用 YYYY-MM-DD）');
    setLang('en');
    expect(importRowText(bad)).toBe('Delivery date: “next week” is not a date (use YYYY-MM-DD)');
    setLang('zh-CN');
    const twice = {
      row: 2,
      message: 'row 3: colour "navy" appears twice for this order',
      code: 'colour_twice',
      params: { order_no: 'SO-1', style_no: 'ST-1', other_row: '3', colour: 'navy' },
    };
    expect(importRowText(twice)).toBe('订单 SO-1 / ST-1：颜色“navy”在第 3 行重复');
  });

  it('show the English the server sent for a code this app does not know, or none', () => {
    setLang('zh-CN');
    expect(importRowText({ row: 3, message: 'something new' })).toBe('something new');
    expect(importRowText({ ...bad, code: 'brand_new' })).toBe(bad.message);
  });
});
