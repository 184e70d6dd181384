// The office's follow-up actions build ops the real core (web/pkg WASM) accepts: each
// action's op is applied to a real record and its effect read back from the view.

import { beforeAll, describe, expect, it } from 'vitest';

import { WasmRecord, randomBytes16 } from '../core';
import { loadCoreForTests } from '../test/wasm';
import { actionsFor } from './actions';

beforeAll(loadCoreForTests);

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
