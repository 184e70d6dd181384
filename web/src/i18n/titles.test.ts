// Job titles, departments and sign-off slots in words (zh-CN and en).

import { afterAll, describe, expect, it } from 'vitest';

import { setLang } from './index';
import { slotLabel, slotOfProblem, titleCodes, titleLabel, titlesText, whoMayText } from './titles';

afterAll(() => setLang('en'));

describe('job titles in words', () => {
  it('its own label, an approval role, an access role, a department head, else the code', () => {
    setLang('zh-CN');
    expect(titleLabel('finance')).toBe('财务');
    expect(titleLabel('general_manager')).toBe('总经理');
    expect(titleLabel('product_control_manager')).toBe('产品控制中心经理');
    expect(titleLabel('sales_rep')).toBe('业务员');
    expect(titleLabel('regional_manager')).toBe('大区经理'); // an approval role, not "regional" 's head
    expect(titleLabel('approver')).toBe('审批人');
    expect(titleLabel('finance_manager')).toBe('财务部负责人');
    expect(titleLabel('logistics_manager')).toBe('logistics负责人');
    expect(titleLabel('system_administrator')).toBe('system_administrator');
    setLang('en');
    expect(titleLabel('finance_manager')).toBe('Head of Finance');
    expect(titleLabel('_manager')).toBe('_manager');
  });

  it('lists: each label once, joined by "or" or by the list separator; none when empty', () => {
    setLang('zh-CN');
    expect(titlesText(['sales_rep', 'sales'])).toBe('业务员');
    expect(titlesText(['finance', 'finance_manager', 'approver'], 'and')).toBe('财务、财务部负责人、审批人');
    expect(titlesText([])).toBe('无');
    expect(titleCodes('none')).toEqual([]);
    expect(titleCodes('finance, approver')).toEqual(['finance', 'approver']);
    setLang('en');
    expect(titlesText(['sales_rep', 'sales'])).toBe('Sales representative or Sales');
  });

  it('slots and who may fill them', () => {
    setLang('zh-CN');
    expect(slotLabel({ record: 'review', key: 'cost_sheet:general_manager' })).toBe('成本核算表 · 总经理');
    expect(slotLabel({ record: 'review', key: 'cost_sheet' })).toBe('成本核算表');
    expect(slotOfProblem('review.cost_sheet:finance', 'cost_sheet:finance')).toEqual({ record: 'review', key: 'cost_sheet:finance' });
    expect(slotOfProblem('signatures.sales', undefined)).toEqual({ record: 'po', key: 'sales' });
    expect(slotOfProblem('deposit_amount', undefined)).toEqual({ record: 'deposit' });
    expect(slotOfProblem('department', undefined)).toBeNull();
    expect(whoMayText({ record: 'deposit' }, ['finance'])).toBe('由财务确认定金。');
    expect(whoMayText({ record: 'po', key: 'general_manager' }, ['general_manager'])).toBe('采购单签字（总经理）：由总经理签字。');
    expect(whoMayText({ record: 'po', key: 'x' }, [])).toBe('采购单签字（x）：任何人都不能签。');
    setLang('en');
    expect(whoMayText({ record: 'deposit' }, ['finance'])).toBe('Finance confirms the deposit.');
    expect(whoMayText({ record: 'po', key: 'general_manager' }, ['general_manager'])).toBe('PO signature (General manager): signed by General manager.');
  });
});
