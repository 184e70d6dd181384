// The core's refusals and plan problems in both languages: real errors thrown by the real
// WASM core (web/pkg), turned into catalogue messages by their codes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WasmRecord, randomBytes16 } from '../core';
import { loadCoreForTests } from '../test/wasm';
import { errorText, problemCode, problemText, problemsText, type CoreError, type CoreProblem } from './errors';
import { setLang } from './index';

beforeAll(loadCoreForTests);
afterAll(() => setLang('en'));

function refusal(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('the core did not refuse');
}

const NOW = 1_700_000_000_000;

function inspection(lotSize: number): WasmRecord {
  return WasmRecord.create(
    'inspection',
    JSON.stringify({ title: 'T', order_no: 'SO-1', lot_size: lotSize, assignees: ['qc1'] }),
    randomBytes16(),
    'merch',
    NOW,
  );
}

function shipment(): WasmRecord {
  return WasmRecord.create(
    'shipment_check',
    JSON.stringify({
      title: 'C1',
      assignees: ['dock1'],
      lines: { p1: { po_no: 'PO-1', style_no: 'ST-1', cartons_expected: 2, barcode: 'CTN-1' } },
    }),
    randomBytes16(),
    'merch',
    NOW,
  );
}

describe('core refusals carry codes', () => {
  it('an override without a reason: code, field and the message in zh-CN and en', () => {
    const rec = inspection(500);
    const e = refusal(() => rec.apply(JSON.stringify({ op: 'override_verdict', verdict: 'pass', reason: ' ' }), 'qc1', NOW)) as CoreError;
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toContain('reason: is required'); // the core's English stays the message
    expect(e.code).toBe('invalid');
    expect(e.problems?.map((p) => [p.field, p.code])).toEqual([['reason', 'required']]);
    setLang('en');
    expect(errorText(e)).toBe('The reason is required.');
    setLang('zh-CN');
    expect(errorText(e)).toBe('原因为必填项。');
    rec.free();
  });

  it('an unknown carton scan names the code; a known one is counted', () => {
    const rec = shipment();
    rec.apply(JSON.stringify({ op: 'scan_carton', code: 'ctn-1' }), 'dock1', NOW);
    expect((rec.view('dock1', false) as { record: { lines: { p1: { loaded: number } } } }).record.lines.p1.loaded).toBe(1);
    const e = refusal(() => rec.apply(JSON.stringify({ op: 'scan_carton', code: 'XYZ-9' }), 'dock1', NOW));
    expect(problemCode(e)).toBe('unknown_carton');
    setLang('zh-CN');
    expect(errorText(e)).toBe('箱号“XYZ-9”不在装箱单上。');
    setLang('en');
    expect(errorText(e)).toBe('Carton “XYZ-9” is not on the packing list.');
    rec.free();
  });

  it('verifying marks without a photo is refused with its own message', () => {
    const rec = shipment();
    const e = refusal(() => rec.apply(JSON.stringify({ op: 'verify_mark', line: 'p1' }), 'dock1', NOW));
    expect(problemCode(e)).toBe('mark_photo_required');
    setLang('zh-CN');
    expect(errorText(e)).toBe('请先拍摄唛头照片，再标记唛头已核对。');
    rec.free();
  });

  it('plan problems of the derived view: lot size not set, too small', () => {
    const view = (r: WasmRecord) => r.view('qc1', false) as { derived: { plan: unknown; plan_problems: CoreProblem[] } };
    const none = inspection(0);
    const small = inspection(1);
    setLang('zh-CN');
    expect(view(none).derived.plan).toBeNull();
    expect(problemsText(view(none).derived.plan_problems)).toBe('批量未设置。');
    expect(problemsText(view(small).derived.plan_problems)).toBe('批量 1 太小：AQL 表从 2 件开始。');
    setLang('en');
    expect(problemsText(view(small).derived.plan_problems)).toBe('Lot size 1 is too small: the AQL tables start at 2 pcs.');
    none.free();
    small.free();
  });

  it('an edit of a signed record is refused with a stable code, said in each language', () => {
    const rec = inspection(500);
    rec.apply(JSON.stringify({ op: 'sign_off', name: 'Li' }), 'qc1', NOW);
    const e = refusal(() => rec.apply(JSON.stringify({ op: 'set_text', field: 'remarks', value: 'late' }), 'qc1', NOW)) as CoreError;
    expect(e.code).toBe('not_allowed');
    expect(e.message).toBe('the inspection is signed off; it can no longer be changed');
    expect(e.problems?.map((p) => [p.code, p.params])).toEqual([['record.signed', { record_type: 'inspection' }]]);
    setLang('en');
    expect(errorText(e)).toBe('This record is signed off; it can no longer be changed.');
    setLang('zh-CN');
    expect(errorText(e)).toBe('此记录已签字确认，不能再修改。');
    rec.free();
  });

  it('a not-allowed code the catalogue does not know keeps the kind sentence with the core words', () => {
    const e = { code: 'not_allowed', message: 'the moon is full', problems: [{ field: 'record', message: 'the moon is full', code: 'record.not_allowed.moon' }] };
    setLang('en');
    expect(errorText(e)).toBe('This change is not allowed now: the moon is full');
    const packaging = {
      code: 'not_allowed',
      message: 'x',
      problems: [{ field: 'record', message: 'x', code: 'record.not_allowed.packaging_not_sent', params: { id: 'box1' } }],
    };
    setLang('zh-CN');
    expect(errorText(packaging)).toBe('包装资料“box1”尚未寄给客户；客户只能确认已寄出的资料。');
  });

  it('a code the catalogue does not know falls back to a generic message with the core words', () => {
    setLang('en');
    expect(problemText({ field: 'x.y_z', message: 'is odd', code: 'brand_new_code' })).toBe('Field “x.y_z”: is odd');
    setLang('zh-CN');
    expect(problemText({ field: 'lines.p1.loaded', message: 'is odd' })).toBe('已装箱数：is odd');
    expect(errorText(new Error('socket closed'))).toBe('意外问题：socket closed');
    expect(errorText({ code: 'not_here', message: 'x' })).toBe('此记录尚未同步到本设备。');
  });
});
