// The who-may-sign rule of the office forms, slot by slot, for the demo's users and a few
// edge cases; and the names it mirrors checked against the core's source, so a change
// there fails here until the mirror is looked at again.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  decisionRoles,
  departmentHeadTitle,
  headedDepartments,
  isDepartment,
  mayFill,
  reviewKey,
  reviewSlots,
  signableReviewSteps,
  signerTitles,
  type SignOffSlot,
  type Signer,
} from './signers';

// The demo's office users (server/src/demo.rs) and a few more.
const USERS: Record<string, Signer> = {
  merch: { role: 'merchandiser', titles: ['merchandiser'] },
  merch_no_title: { role: 'merchandiser', titles: [] },
  sales: { role: 'sales', titles: ['sales_rep'] },
  sales_no_title: { role: 'sales' },
  sales_rep_approver: { role: 'approver', titles: ['sales_rep'] },
  salesmgr: { role: 'approver', titles: ['sales_manager'] },
  pcm: { role: 'approver', titles: ['product_control_manager'] },
  finance: { role: 'approver', titles: ['finance', 'finance_manager'] },
  finance_manager_only: { role: 'approver', titles: ['finance_manager'] },
  boss: { role: 'approver', titles: ['general_manager'] },
  admin: { role: 'admin', titles: ['system_administrator'] },
  qc: { role: 'qc', titles: ['qc_inspector'] },
};

const review = (key: string): SignOffSlot => ({ record: 'review', key });
const po = (key: string): SignOffSlot => ({ record: 'po', key });
const DEPOSIT: SignOffSlot = { record: 'deposit' };

// Every slot: the titles that may fill it, and exactly the users above who may.
const SLOTS: [string, SignOffSlot, string[], string[]][] = [
  ['review price_check', review('price_check'), ['product_control_manager'], ['pcm']],
  ['review tracking_sheet', review('tracking_sheet'), ['merchandiser'], ['merch', 'merch_no_title']],
  ['review cost_sheet:finance', review('cost_sheet:finance'), ['finance_manager'], ['finance', 'finance_manager_only']],
  ['review cost_sheet:sales', review('cost_sheet:sales'), ['sales_manager'], ['salesmgr']],
  ['review cost_sheet:product_control', review('cost_sheet:product_control'), ['product_control_manager'], ['pcm']],
  ['review cost_sheet:general_manager', review('cost_sheet:general_manager'), ['general_manager'], ['boss']],
  // `department_head_title("general")` is `general_manager` too.
  ['review cost_sheet:general', review('cost_sheet:general'), ['general_manager'], ['boss']],
  ['review cost_sheet: (no department)', review('cost_sheet:'), [], []],
  ['review cost_sheet (no colon)', review('cost_sheet'), [], []],
  ['review unknown key', review('quality_check'), [], []],
  ['po sales', po('sales'), ['sales_rep', 'sales'], ['sales', 'sales_no_title', 'sales_rep_approver']],
  ['po general_manager', po('general_manager'), ['general_manager'], ['boss']],
  ['po unknown slot', po('finance'), [], []],
  ['deposit', DEPOSIT, ['finance'], ['finance']],
];

describe('who may fill each sign-off slot', () => {
  for (const [name, slot, titles, users] of SLOTS) {
    it(name, () => {
      expect(signerTitles(slot)).toEqual(titles);
      const may = Object.entries(USERS)
        .filter(([, u]) => mayFill(u, slot))
        .map(([n]) => n);
      expect(may).toEqual(users);
    });
  }

  it('matches the job titles, then the access role', () => {
    expect(decisionRoles(USERS.finance)).toEqual(['finance', 'finance_manager', 'approver']);
    expect(decisionRoles({ role: 'sales', titles: null })).toEqual(['sales']);
    // The head of finance is not finance: the deposit needs the title `finance` itself.
    expect(mayFill(USERS.finance_manager_only, DEPOSIT)).toBe(false);
    // An admin holds no sign-off title.
    expect(SLOTS.filter(([, s]) => mayFill(USERS.admin, s))).toEqual([]);
  });

  it('the review key of a sign_review op; the department head title', () => {
    expect(reviewKey('price_check', 'finance')).toBe('price_check');
    expect(reviewKey('tracking_sheet', '')).toBe('tracking_sheet');
    expect(reviewKey('cost_sheet', 'finance')).toBe('cost_sheet:finance');
    expect(departmentHeadTitle('finance')).toBe('finance_manager');
    expect(departmentHeadTitle('general_manager')).toBe('general_manager');
    expect(isDepartment('finance')).toBe(true);
    expect(isDepartment('Finance')).toBe(false);
    expect(isDepartment('')).toBe(false);
    expect(isDepartment('a'.repeat(56))).toBe(true);
    expect(isDepartment('a'.repeat(57))).toBe(false);
  });

  it('the cost-sheet lines a user heads, each one theirs to sign', () => {
    expect(headedDepartments(USERS.finance)).toEqual(['finance']);
    expect(headedDepartments(USERS.boss)).toEqual(['general_manager']);
    expect(headedDepartments(USERS.pcm)).toEqual(['product_control']);
    expect(headedDepartments(USERS.merch)).toEqual([]);
    expect(headedDepartments({ role: 'approver', titles: ['_manager', 'Sales_manager'] })).toEqual([]);
    for (const u of Object.values(USERS)) {
      for (const d of headedDepartments(u)) expect(mayFill(u, review(reviewKey('cost_sheet', d)))).toBe(true);
    }
    expect(signableReviewSteps(USERS.pcm)).toEqual(['price_check', 'cost_sheet']);
    expect(signableReviewSteps(USERS.merch)).toEqual(['tracking_sheet']);
    expect(signableReviewSteps(USERS.boss)).toEqual(['cost_sheet']);
    expect(signableReviewSteps(USERS.sales)).toEqual([]);
  });

  it('the review slots in the core order: required departments, then the GM', () => {
    expect(reviewSlots({ sales: true, finance: true, quality: false, general_manager: true })).toEqual([
      'price_check',
      'tracking_sheet',
      'cost_sheet:finance',
      'cost_sheet:sales',
      'cost_sheet:general_manager',
    ]);
    expect(reviewSlots({})).toEqual(['price_check', 'tracking_sheet', 'cost_sheet:general_manager']);
  });
});

// The names and match arms mirrored above, as the core spells them (whitespace ignored).
const CORE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'core', 'src');
const source = (file: string) => fs.readFileSync(path.join(CORE, file), 'utf8').replace(/\s+/g, ' ');

describe.skipIf(!fs.existsSync(CORE))('the mirror matches the core source', () => {
  it('review.rs: review_signer_titles and department_head_title', () => {
    const s = source('review.rs');
    for (const want of [
      'pub const PRODUCT_CONTROL_MANAGER: &str = "product_control_manager";',
      'pub const MERCHANDISER: &str = "merchandiser";',
      'pub const DEPARTMENT_HEAD_SUFFIX: &str = "_manager";',
      'pub const DEPARTMENT_BYTES_MAX: usize = 56;',
      '"price_check" => vec![PRODUCT_CONTROL_MANAGER.to_string()],',
      '"tracking_sheet" => vec![MERCHANDISER.to_string()],',
      'Some(d) if !d.is_empty() => vec![department_head_title(d)],',
      'if department == GENERAL_MANAGER { GENERAL_MANAGER.to_string() } else { format!("{department}{DEPARTMENT_HEAD_SUFFIX}") }',
    ]) {
      expect(s, `review.rs no longer says ${want}: check office/signers.ts`).toContain(want);
    }
  });

  it('purchase_order.rs: signature_titles', () => {
    const s = source('purchase_order.rs');
    for (const want of [
      'pub const SALES_SIGNATURE: &str = "sales";',
      'pub const GENERAL_MANAGER_SIGNATURE: &str = "general_manager";',
      'SALES_SIGNATURE => vec![crate::chains::SALES_REP.to_string(), "sales".to_string()],',
      'GENERAL_MANAGER_SIGNATURE => vec![crate::chains::GENERAL_MANAGER.to_string()],',
    ]) {
      expect(s, `purchase_order.rs no longer says ${want}: check office/signers.ts`).toContain(want);
    }
    expect(source('chains.rs')).toContain('pub const SALES_REP: &str = "sales_rep";');
    expect(source('chains.rs')).toContain('pub const GENERAL_MANAGER: &str = "general_manager";');
  });

  it('order_commercial.rs: the deposit by finance only; access.rs: titles then role', () => {
    const s = source('order_commercial.rs');
    expect(s).toContain('pub const FINANCE: &str = "finance";');
    expect(s).toContain('pub const GENERAL_MANAGER: &str = "general_manager";');
    expect(s).toContain('if !roles.contains(&FINANCE) {');
    const a = source('access.rs');
    expect(a).toContain('self.titles .iter() .map(String::as_str) .chain(std::iter::once(self.role.as_str()))');
    expect(a).toContain('crate::review::review_signer_titles,');
    expect(a).toContain('purchase_order::signature_titles,');
  });
});
