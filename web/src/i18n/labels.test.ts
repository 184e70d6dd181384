// Every code the core and the server produce has a label (or, for REST errors, a message)
// in both catalogues; REST refusals come out in the interface's language by their codes.
// The code list is codes.json, written from the core by the server (gendan_server::labels)
// and checked against it by `cargo test -p gendan-server --test office`.

import { afterEach, describe, expect, it } from 'vitest';

import { ApiError } from '../api';
import { OfficeApi } from '../office/api';
import codes from './codes.json';
import { en } from './en';
import { errorText } from './errors';
import { catalogues, setLang, type Lang } from './index';
import { codeLabel, codeOptions, labelKey, type CodeKind } from './labels';
import { zhCN } from './zh-CN';

afterEach(() => setLang('en'));

describe('code labels', () => {
  it('every code of every kind has a label in both catalogues, and zh-CN is not the English', () => {
    const missing: string[] = [];
    for (const [kind, list] of Object.entries(codes)) {
      for (const code of list) {
        const key = kind === 'rest_errors' ? `rest.${code}` : labelKey(kind as CodeKind, code);
        for (const lang of ['en', 'zh-CN'] as Lang[]) {
          const text = (catalogues[lang] as Record<string, string>)[key];
          if (!text || !text.trim()) missing.push(`${lang} ${key}`);
        }
      }
    }
    expect(missing).toEqual([]);
    // A Chinese label differs from the code itself.
    for (const kind of Object.keys(codes).filter((k) => k !== 'rest_errors') as CodeKind[]) {
      for (const code of codes[kind]) {
        expect((zhCN as Record<string, string>)[labelKey(kind, code)]).not.toBe(code);
      }
    }
    expect(Object.keys(en).length).toBe(Object.keys(zhCN).length);
  });

  it('shows labels in the current language and an unknown code as it is', () => {
    setLang('zh-CN');
    expect(codeLabel('sample_rounds', 'pp')).toBe('产前办（PP办）');
    expect(codeLabel('review_steps', 'price_check')).toContain('价格');
    expect(codeLabel('late_codes', 'material_late')).toBe('物料延误');
    expect(codeLabel('approval_chains', 'special_po_release')).toBe('总经理特批先下单');
    expect(codeLabel('milestones', 'ex_factory')).toBe('出货');
    expect(codeLabel('gate_states', 'open_by_special_approval')).toContain('特批');
    expect(codeLabel('sample_rounds', 'mystery')).toBe('mystery');
    expect(codeLabel('late_codes', '')).toBe('');
    setLang('en');
    expect(codeOptions('sample_rounds').map(([v]) => v)).toEqual(['proto', 'pp', 'signed', 'shipping']);
    expect(codeOptions('sample_rounds')[1][1]).toBe('Pre-production (PP) sample');
  });
});

/** A fake server answering one error body. */
function failing(status: number, body: unknown): OfficeApi {
  const fake = (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;
  return new OfficeApi('http://x', 'tok', fake);
}

describe('REST errors by their codes', () => {
  it('keeps the code, params and problems of the answer', async () => {
    const e = await failing(409, {
      error: 'the payment gate is closed: finance has not confirmed the deposit',
      code: 'payment_gate_closed',
      params: { term: 'deposit', reason: 'deposit_not_confirmed' },
      problems: [],
    })
      .op('po1', { op: 'release' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    const a = e as ApiError;
    expect([a.status, a.code, a.params.reason]).toEqual([409, 'payment_gate_closed', 'deposit_not_confirmed']);
    expect(a.message).toContain('deposit');
    setLang('zh-CN');
    expect(errorText(a)).toBe('采购单暂不能下达（生产前付定金）：财务尚未确认定金。');
    setLang('en');
    expect(errorText(a)).toBe('The PO cannot be released yet (Deposit before production): finance has not confirmed the deposit.');
  });

  it('translates REST-only codes with their params, in both languages', () => {
    setLang('zh-CN');
    const cannot = new ApiError(400, 'user qc1 (qc) cannot work on shipment_check records', 'assignee_cannot_work', {
      user: 'qc1',
      role: 'qc',
      type: 'shipment_check',
    });
    expect(errorText(cannot)).toBe('qc1（验货员）不能处理装柜检查：请指派角色合适的人。');
    expect(errorText(new ApiError(404, 'there is no record of order SO-9', 'order_not_found', { order_no: 'SO-9' }))).toBe('没有订单 SO-9。');
    expect(errorText(new ApiError(403, 'the office pages are for office roles', 'forbidden'))).toBe('您的角色无权进行此操作。');
    expect(errorText(new ApiError(400, 'order SO-1 has nothing', 'nothing_to_copy', { order_no: 'SO-1' }))).toContain('SO-1');
    expect(errorText(new ApiError(403, 'you may not decide step s1', 'not_entitled', { step: 's1', role: 'general_manager' }))).toBe(
      '您不能审批步骤 s1：需要职务“总经理”。',
    );
    setLang('en');
    expect(errorText(cannot)).toBe('qc1 (QC inspector) cannot work on Shipment check records: assign someone whose role can.');
  });

  it('says the core’s problems of a refusal in words, and an unknown code with the server’s text', () => {
    setLang('zh-CN');
    const invalid = new ApiError(400, 'invalid input: text: is 100000 bytes long', 'invalid', {}, [
      { field: 'text', message: 'is 100000 bytes long; at most 10000 are allowed', code: 'text_too_long', params: { len: '100000', max: '10000' } },
    ]);
    expect(errorText(invalid)).toContain('100000');
    expect(errorText(invalid)).toContain('太长');
    const refused = new ApiError(403, 'this change is not allowed: x: y', 'change_refused', {}, [{ field: 'status', message: 'may not be changed by you' }]);
    expect(errorText(refused)).toMatch(/^不允许此修改：/);
    const unknown = new ApiError(418, 'a teapot said no', 'teapot');
    expect(errorText(unknown)).toContain('a teapot said no');
  });
});
