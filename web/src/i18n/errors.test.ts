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

// The sign-off refusals of the write check (`access::check_sign_offs`), as the REST API
// returns them (`change_refused` with the core's problems, their codes and params exactly
// as the core sets them), and the cost-sheet department the core's op refuses.
describe('sign-off refusals name the slot and the job title it needs', () => {
  // `held` is `decision_roles`: the titles, then the access role.
  const titleRequired = (field: string, slot: string, titles: string, held: string): CoreProblem => ({
    field,
    message: `you may not sign ${slot}: it needs the job title ${titles}; you hold: ${held}`,
    code: 'sign_off.title_required',
    params: { slot, titles, held },
  });
  const refused = (...problems: CoreProblem[]): CoreError => ({
    code: 'change_refused',
    message: 'this change is not allowed: …',
    params: {},
    problems,
  });

  it('sign_off.title_required: the price check, the tracking sheet, a cost-sheet line, the GM line', () => {
    setLang('zh-CN');
    expect(problemText(titleRequired('review.price_check', 'price_check', 'product_control_manager', 'merchandiser, merchandiser'))).toBe(
      '您不能签价格确认：需要产品控制中心经理（您的职务：跟单员）。',
    );
    expect(problemText(titleRequired('review.tracking_sheet', 'tracking_sheet', 'merchandiser', 'sales_rep, sales'))).toBe(
      '您不能签订单跟踪表：需要跟单员（您的职务：业务员）。',
    );
    expect(problemText(titleRequired('review.cost_sheet:finance', 'cost_sheet:finance', 'finance_manager', 'finance, approver'))).toBe(
      '您不能签成本核算表 · 财务部：需要财务部负责人（您的职务：财务、审批人）。',
    );
    expect(
      problemText(titleRequired('review.cost_sheet:general_manager', 'cost_sheet:general_manager', 'general_manager', 'sales_manager, approver')),
    ).toBe('您不能签成本核算表 · 总经理：需要总经理（您的职务：业务部负责人、审批人）。');
    setLang('en');
    expect(problemText(titleRequired('review.price_check', 'price_check', 'product_control_manager', 'merchandiser, merchandiser'))).toBe(
      'You may not sign Price check: it needs Product control manager (you hold: Merchandiser).',
    );
  });

  it('sign_off.title_required: the PO signatures (sales rep or sales; the GM), and a slot nobody may sign', () => {
    setLang('zh-CN');
    expect(problemText(titleRequired('signatures.sales', 'sales', 'sales_rep, sales', 'merchandiser, merchandiser'))).toBe(
      '您不能签采购单签字（业务）：需要业务员（您的职务：跟单员）。',
    );
    expect(problemText(titleRequired('signatures.general_manager', 'general_manager', 'general_manager', 'sales_rep, sales'))).toBe(
      '您不能签采购单签字（总经理）：需要总经理（您的职务：业务员）。',
    );
    expect(problemText(titleRequired('review.quality', 'quality', '', 'none'))).toBe('quality不是已知的签字项，任何人都不能签。');
    setLang('en');
    expect(problemText(titleRequired('signatures.sales', 'sales', 'sales_rep, sales', 'merchandiser, merchandiser'))).toBe(
      'You may not sign PO signature (Sales): it needs Sales representative or Sales (you hold: Merchandiser).',
    );
  });

  it('sign_off.not_own: a review slot, a PO slot, the deposit (no slot param)', () => {
    setLang('zh-CN');
    const notOwn = (field: string, params?: Record<string, string>): CoreProblem => ({
      field,
      message: 'is signed as "li": a sign-off is made only under your own name',
      code: 'sign_off.not_own',
      params,
    });
    expect(problemText(notOwn('review.price_check', { slot: 'price_check' }))).toBe('只能以本人名义签字：价格确认。');
    expect(problemText(notOwn('signatures.general_manager', { slot: 'general_manager' }))).toBe('只能以本人名义签字：采购单签字（总经理）。');
    expect(problemText(notOwn('deposit_confirmed_by'))).toBe('只能以本人名义签字：定金确认。');
  });

  it('sign_off.removed', () => {
    const removed: CoreProblem = {
      field: 'signatures.general_manager',
      message: 'a sign-off is never removed',
      code: 'sign_off.removed',
      params: { slot: 'general_manager' },
    };
    setLang('zh-CN');
    expect(problemText(removed)).toBe('采购单签字（总经理）已签字，签字不能撤销。');
    expect(problemText({ ...removed, field: 'review.cost_sheet:sales', params: { slot: 'cost_sheet:sales' } })).toBe(
      '成本核算表 · 业务部已签字，签字不能撤销。',
    );
    setLang('en');
    expect(problemText(removed)).toBe('PO signature (General manager) is signed; a sign-off is never removed.');
  });

  it('deposit.finance_only, inside the REST refusal', () => {
    const e = refused({
      field: 'deposit_confirmed_by',
      message: 'only finance confirms a deposit: it needs the job title finance; you hold: merchandiser, merchandiser',
      code: 'deposit.finance_only',
      params: { titles: 'finance' },
    });
    setLang('zh-CN');
    expect(errorText(e)).toBe('不允许此修改：定金只能由财务确认：需要职务“财务”。');
    setLang('en');
    expect(errorText(e)).toBe('This change is not allowed: Only finance confirms the deposit: it needs the job title Finance.');
  });

  it('po.correction_by_sales: only sales returns a PO for correction', () => {
    const e = refused({
      field: 'corrections.c1',
      message: 'only sales returns a PO for correction: it needs the job title sales_rep or sales; you hold: merchandiser',
      code: 'po.correction_by_sales',
      params: { titles: 'sales_rep, sales', held: 'merchandiser' },
    });
    setLang('zh-CN');
    expect(errorText(e)).toBe('不允许此修改：采购合同只能由业务员退回修改：需要业务员（您的职务：跟单员）。');
    setLang('en');
    expect(errorText(e)).toMatch(/^This change is not allowed: Only sales returns a PO for correction: it needs .+ \(you hold: Merchandiser\)\.$/);
  });

  it('several problems of one refusal are each said', () => {
    setLang('zh-CN');
    const e = refused(
      { field: 'deposit_confirmed_by', message: 'x', code: 'deposit.finance_only', params: { titles: 'finance' } },
      { field: 'deposit_confirmed_by', message: 'y', code: 'sign_off.not_own' },
    );
    expect(errorText(e)).toBe('不允许此修改：定金只能由财务确认：需要职务“财务”。；只能以本人名义签字：定金确认。');
  });

  it('bad_department: the core refuses a cost-sheet department not spelled like a job title', () => {
    const rec = WasmRecord.create(
      'order_commercial',
      JSON.stringify({ order_id: 'order-1', order_no: 'SO-1', payment_term: 'deposit' }),
      randomBytes16(),
      'merch',
      NOW,
    );
    const e = refusal(() => rec.apply(JSON.stringify({ op: 'require_cost_sheet_signer', department: 'Finance Dept' }), 'merch', NOW)) as CoreError;
    expect(e.problems?.map((p) => [p.field, p.code, p.params])).toEqual([['department', 'bad_department', { max: '56' }]]);
    setLang('zh-CN');
    expect(errorText(e)).toBe('部门须为 1 至 56 个字符，只能用 a-z、0-9 和 _（如 finance）：部门负责人以职务“<部门>_manager”签字。');
    setLang('en');
    expect(errorText(e)).toBe(
      'The department must be 1 to 56 characters of a-z, 0-9 and _ (e.g. finance): its head signs with the job title <department>_manager.',
    );
    rec.free();
  });
});
