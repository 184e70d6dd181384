// The office's follow-up actions build ops the real core (web/pkg WASM) accepts: each
// action's op is applied to a real record and its effect read back from the view.

import { beforeAll, describe, expect, it } from 'vitest';

import { WasmRecord, randomBytes16 } from '../core';
import { loadCoreForTests } from '../test/wasm';
import { setLang } from '../i18n';
import { actionsFor, type Action } from './actions';
import { mayFill, type Signer } from './signers';

beforeAll(async () => {
  await loadCoreForTests();
  setLang('zh-CN');
});

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
type Obj = Record<string, any>;

function view(rec: WasmRecord): Obj {
  return (rec.view('merch', true) as Obj).record as Obj;
}

/** Applies the op `key`'s action builds from `values` for the record as it is now. */
function act(rec: WasmRecord, type: string, key: string, values: Record<string, string>): Obj {
  const action = actionsFor(type, view(rec)).find((a) => a.key === key);
  if (!action) throw new Error(`no action ${key}`);
  rec.apply(JSON.stringify(action.build(values)), 'merch', NOW);
  return view(rec);
}

describe('order actions', () => {
  it('samples, packaging, milestones and weekly production reach the record', () => {
    const rec = WasmRecord.create(
      'order',
      JSON.stringify({
        order_no: 'SO-1',
        style_no: 'ST-1',
        factory: 'F1',
        merchandiser: 'merch',
        delivery_ms: NOW + 90 * DAY,
        lines: { navy: { colour: 'navy', quantity: 100 } },
      }),
      randomBytes16(),
      'merch',
      NOW,
    );
    let r = act(rec, 'order', 'add_sample', { round: 'pp', sent: '2026-11-21' });
    const [sampleId, sample] = Object.entries(r.samples as Obj)[0];
    expect(sample.round).toBe('pp');
    expect(new Date(sample.sent_ms).getDate()).toBe(21);
    r = act(rec, 'order', 'comment_sample', { sample: sampleId, text: 'Collar too wide' });
    expect(JSON.stringify(r.samples[sampleId])).toContain('Collar too wide');
    r = act(rec, 'order', 'decide_sample', { sample: sampleId, approved: 'no' });
    expect(r.samples[sampleId].result).toBe('rejected');

    r = act(rec, 'order', 'add_packaging', { kind: 'shipping_mark', description: 'Side marks' });
    const [markId] = Object.keys(r.packaging as Obj);
    r = act(rec, 'order', 'send_packaging', { id: markId, at: '2026-11-22' });
    expect(r.packaging[markId].sent_ms).toBeGreaterThan(0);
    r = act(rec, 'order', 'reject_packaging', { id: markId, comment: 'Bigger logo' });
    expect(r.packaging[markId].rejected_ms).toBeGreaterThan(0);
    r = act(rec, 'order', 'confirm_packaging', { id: markId, at: '2026-11-24' });
    expect(r.packaging[markId].confirmed_ms).toBeGreaterThan(0);

    rec.apply(JSON.stringify({ op: 'plan_backwards' }), 'merch', NOW);
    const [milestoneId] = Object.keys(view(rec).milestones as Obj);
    r = act(rec, 'order', 'complete_milestone', {
      id: milestoneId,
      actual: '2026-11-25',
      late_code: 'material_late',
      late_reason: 'Yarn late',
    });
    expect(r.milestones[milestoneId]).toMatchObject({ late_reason: 'Yarn late', late_code: 'material_late' });
    expect(r.milestones[milestoneId].actual_ms).toBeGreaterThan(0);

    r = act(rec, 'order', 'set_week_actual', { week: '2026-11-23', qty: '40' });
    expect(Object.values(r.week_actual as Obj)).toEqual([40]);
  });

  it('a refused op is the core refusing, not the form (a sample comment needs text)', () => {
    const rec = WasmRecord.create(
      'order',
      JSON.stringify({ order_no: 'SO-2', style_no: 'ST-2', factory: 'F1', lines: {} }),
      randomBytes16(),
      'merch',
      NOW,
    );
    act(rec, 'order', 'add_sample', { round: 'proto' });
    const [sampleId] = Object.keys(view(rec).samples as Obj);
    expect(() => act(rec, 'order', 'comment_sample', { sample: sampleId, text: '' })).toThrow();
  });

  it('an incomplete handover is refused with what is missing; accepting it is refused by the core', () => {
    const rec = WasmRecord.create(
      'order',
      JSON.stringify({ order_no: 'SO-3', style_no: 'ST-3', factory: 'F1', lines: {} }),
      randomBytes16(),
      'merch',
      NOW,
    );
    expect(() => act(rec, 'order', 'accept_handover', {})).toThrow();
    const r = act(rec, 'order', 'refuse_handover', { missing: 'Approved sample pictures' });
    expect(JSON.stringify(r.handover_decisions)).toContain('Approved sample pictures');
  });
});

describe('commercial actions', () => {
  it('the review sign-off and the deposit open the deposit gate', () => {
    const rec = WasmRecord.create(
      'order_commercial',
      JSON.stringify({ order_id: 'order-1', order_no: 'SO-1', payment_term: 'deposit' }),
      randomBytes16(),
      'merch',
      NOW,
    );
    const gate = () => ((rec.view('merch', true) as Obj).derived as Obj).payment_gate as Obj;
    expect(gate().state).toBe('blocked');
    let r = act(rec, 'order_commercial', 'sign_review', { step: 'price_check', name: 'Li' });
    expect(JSON.stringify(r)).toContain('price_check');
    r = act(rec, 'order_commercial', 'confirm_deposit', { amount: '1500.50', currency: 'usd', at: '2026-11-20' });
    expect(JSON.stringify(r)).toContain('150050');
    expect(gate().state).toBe('open');
  });
});

// The demo's office users (server/src/demo.rs): role and job titles.
const USERS: Record<string, Signer & { user: string }> = {
  merch: { user: 'merch', role: 'merchandiser', titles: ['merchandiser'] },
  sales: { user: 'sales', role: 'sales', titles: ['sales_rep'] },
  pcm: { user: 'pcm', role: 'approver', titles: ['product_control_manager'] },
  finance: { user: 'finance', role: 'approver', titles: ['finance', 'finance_manager'] },
  boss: { user: 'boss', role: 'approver', titles: ['general_manager'] },
};

function commercial(): WasmRecord {
  const rec = WasmRecord.create(
    'order_commercial',
    JSON.stringify({ order_id: 'order-1', order_no: 'SO-1', payment_term: 'deposit' }),
    randomBytes16(),
    'merch',
    NOW,
  );
  rec.apply(JSON.stringify({ op: 'require_cost_sheet_signer', department: 'finance' }), 'merch', NOW);
  return rec;
}

function purchaseOrder(): WasmRecord {
  return WasmRecord.create(
    'purchase_order',
    JSON.stringify({ po_no: 'PO-1', order_id: 'order-1', order_no: 'SO-1', factory: 'F1' }),
    randomBytes16(),
    'merch',
    NOW,
  );
}

const find = (actions: Action[], key: string): Action => {
  const a = actions.find((x) => x.key === key);
  if (!a) throw new Error(`no action ${key}`);
  return a;
};
const options = (a: Action, field: string): string[] => (a.fields.find((f) => f.name === field)?.options ?? []).map(([v]) => v);

/** Fills the offered form of `key` as `who` (first option of each select) and applies it as them. */
function signAs(rec: WasmRecord, type: string, key: string, who: string, values: Record<string, string> = {}): Obj {
  const a = find(actionsFor(type, view(rec), USERS[who]), key);
  expect(a.blocked, `${who} is offered ${key}`).toBeFalsy();
  const first = Object.fromEntries(a.fields.filter((f) => f.kind === 'select').map((f) => [f.name, f.options?.[0]?.[0] ?? '']));
  rec.apply(JSON.stringify(a.build({ ...first, name: who, ...values })), who, NOW);
  return view(rec);
}

describe('sign-offs are offered by job title', () => {
  it('the contract review: each user is offered only the steps and cost-sheet lines that are theirs', () => {
    const rec = commercial();
    const sign = (who: string) => find(actionsFor('order_commercial', view(rec), USERS[who]), 'sign_review');
    expect(options(sign('pcm'), 'step')).toEqual(['price_check', 'cost_sheet']);
    expect(options(sign('pcm'), 'department')).toEqual(['product_control']);
    expect(options(sign('merch'), 'step')).toEqual(['tracking_sheet']);
    expect(sign('merch').fields.map((f) => f.name)).toEqual(['step', 'name']);
    expect(options(sign('finance'), 'step')).toEqual(['cost_sheet']);
    expect(options(sign('finance'), 'department')).toEqual(['finance']);
    expect(options(sign('boss'), 'department')).toEqual(['general_manager']);
    // Sales signs no review slot: who does, instead of the form.
    const sales = sign('sales');
    expect(sales.blocked).toBe(true);
    expect(sales.who).toEqual([
      '价格确认：由产品控制中心经理签字。',
      '订单跟踪表：由跟单员签字。',
      '成本核算表 · 财务部：由财务部负责人签字。',
      '成本核算表 · 总经理：由总经理签字。',
      '您（职务：业务员）不能在此签字。',
    ]);
    // Under the form, the slots still open that others sign.
    expect(sign('merch').who).toEqual([
      '价格确认：由产品控制中心经理签字。',
      '成本核算表 · 财务部：由财务部负责人签字。',
      '成本核算表 · 总经理：由总经理签字。',
    ]);

    // What each is offered, the core accepts, in the order it wants: the review completes.
    signAs(rec, 'order_commercial', 'sign_review', 'pcm', { step: 'price_check' });
    signAs(rec, 'order_commercial', 'sign_review', 'merch');
    signAs(rec, 'order_commercial', 'sign_review', 'finance');
    const r = signAs(rec, 'order_commercial', 'sign_review', 'boss');
    expect(Object.keys(r.review).sort()).toEqual(['cost_sheet:finance', 'cost_sheet:general_manager', 'price_check', 'tracking_sheet']);
    expect(((rec.view('merch', true) as Obj).derived as Obj).contract_review).toMatchObject({ complete: true, missing: [] });
    expect(sign('sales').who?.slice(0, 4)).toHaveLength(4); // blocked still says who signs each
    expect(sign('merch').who).toEqual([]); // nothing left open for others
    rec.free();
  });

  it('the deposit: the form for finance only; anyone else is told finance confirms it', () => {
    const rec = commercial();
    for (const who of ['merch', 'sales', 'pcm', 'boss']) {
      const a = find(actionsFor('order_commercial', view(rec), USERS[who]), 'confirm_deposit');
      expect(a.blocked, who).toBe(true);
      expect(a.who?.[0]).toBe('由财务确认定金。');
    }
    expect(find(actionsFor('order_commercial', view(rec), USERS.merch), 'confirm_deposit').who?.[1]).toBe('您（职务：跟单员）不能在此签字。');
    const r = signAs(rec, 'order_commercial', 'confirm_deposit', 'finance', { amount: '500', currency: 'usd', at: '2026-11-20' });
    expect(r.deposit_confirmed_by).toBe('finance');
    rec.free();
  });

  it('the PO: sales signs as sales, the GM as general manager; the merchandiser is told who', () => {
    const rec = purchaseOrder();
    const sign = (who: string) => find(actionsFor('purchase_order', view(rec), USERS[who]), 'sign');
    expect(options(sign('sales'), 'role')).toEqual(['sales']);
    expect(sign('sales').who).toEqual(['采购单签字（总经理）：由总经理签字。']);
    expect(options(sign('boss'), 'role')).toEqual(['general_manager']);
    expect(sign('boss').who).toEqual(['采购单签字（业务）：由业务员签字。']);
    const merch = sign('merch');
    expect(merch.blocked).toBe(true);
    expect(merch.who).toEqual(['采购单签字（业务）：由业务员签字。', '采购单签字（总经理）：由总经理签字。', '您（职务：跟单员）不能在此签字。']);
    let r = signAs(rec, 'purchase_order', 'sign', 'sales');
    expect(r.signatures.sales.by).toBe('sales');
    expect(sign('boss').who).toEqual([]);
    r = signAs(rec, 'purchase_order', 'sign', 'boss');
    expect(r.signatures.general_manager.by).toBe('boss');
    rec.free();
  });

  it('every option offered is a slot the user may fill; unknown user: every form, as before', () => {
    const rec = commercial();
    const po = purchaseOrder();
    for (const u of Object.values(USERS)) {
      const review = find(actionsFor('order_commercial', view(rec), u), 'sign_review');
      for (const step of options(review, 'step')) {
        const departments = step === 'cost_sheet' ? options(review, 'department') : [''];
        for (const d of departments) {
          expect(mayFill(u, { record: 'review', key: step === 'cost_sheet' ? `cost_sheet:${d}` : step }), `${u.user} ${step} ${d}`).toBe(true);
        }
      }
      for (const slot of options(find(actionsFor('purchase_order', view(po), u), 'sign'), 'role')) {
        expect(mayFill(u, { record: 'po', key: slot }), `${u.user} PO ${slot}`).toBe(true);
      }
    }
    expect(options(find(actionsFor('order_commercial', view(rec)), 'sign_review'), 'step')).toEqual(['price_check', 'tracking_sheet', 'cost_sheet']);
    expect(find(actionsFor('order_commercial', view(rec)), 'confirm_deposit').blocked).toBeFalsy();
    expect(options(find(actionsFor('purchase_order', view(po)), 'sign'), 'role')).toEqual(['sales', 'general_manager']);
    rec.free();
    po.free();
  });
});
