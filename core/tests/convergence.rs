//! Property test: 2–5 replicas of an inspection and of a stock count apply random domain
//! operations, sync pairwise in random orders through the Automerge sync protocol, and
//! end identical: same heads, same canonical bytes, same derived values — and no defect,
//! tally increment or counter entry is ever lost.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use automerge::sync::{self, SyncDoc};
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, CheckResult, InspectionOp, NewInspection};
use gendan_core::record::actor_from_bytes;
use gendan_core::stock_count::{self, NewLine, NewStockCount, StockCountOp};
use gendan_core::{Record, aql::DefectClass};
use proptest::prelude::*;

/// One step of a scenario.
#[derive(Debug, Clone)]
enum Step {
    /// Replica `replica` applies domain operation number `op` (interpreted per record type;
    /// `pick` chooses among existing items, `amount` gives quantities).
    Edit {
        replica: usize,
        op: u8,
        pick: usize,
        amount: i64,
    },
    /// Replicas `a` and `b` run the sync protocol until neither has anything to send,
    /// delivering messages in an order chosen by `order` bits.
    Sync { a: usize, b: usize, order: u64 },
}

fn steps(replicas: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        3 => (0..replicas, 0u8..6, 0usize..64, 1i64..5)
            .prop_map(|(replica, op, pick, amount)| Step::Edit { replica, op, pick, amount }),
        1 => (0..replicas, 0..replicas, any::<u64>())
            .prop_map(|(a, b, order)| Step::Sync { a, b, order }),
    ];
    prop::collection::vec(step, 1..60)
}

/// Syncs two documents with fresh-per-pair sync states; `order` decides, bit by bit, which
/// side's pending message is delivered first in each round.
fn sync_pair(
    docs: &mut [Record],
    states: &mut BTreeMap<(usize, usize), sync::State>,
    a: usize,
    b: usize,
    mut order: u64,
) {
    if a == b {
        return;
    }
    for _round in 0..100 {
        let msg_ab = {
            let st = states.entry((a, b)).or_default();
            docs[a].doc_mut().sync().generate_sync_message(st)
        };
        let msg_ba = {
            let st = states.entry((b, a)).or_default();
            docs[b].doc_mut().sync().generate_sync_message(st)
        };
        if msg_ab.is_none() && msg_ba.is_none() {
            return;
        }
        let mut deliver = |from: usize, to: usize, msg: Option<sync::Message>| {
            if let Some(m) = msg {
                // Through the wire format, as a real peer would receive it.
                let m = sync::Message::decode(&m.encode()).unwrap();
                let st = states.entry((to, from)).or_default();
                docs[to]
                    .doc_mut()
                    .sync()
                    .receive_sync_message(st, m)
                    .unwrap();
            }
        };
        if order & 1 == 0 {
            deliver(a, b, msg_ab);
            deliver(b, a, msg_ba);
        } else {
            deliver(b, a, msg_ba);
            deliver(a, b, msg_ab);
        }
        order = order.rotate_right(1);
    }
    panic!("sync between {a} and {b} did not settle in 100 rounds");
}

fn sync_all(docs: &mut [Record], states: &mut BTreeMap<(usize, usize), sync::State>) {
    // Two full passes over every pair in both directions reach a fixed point.
    for _ in 0..2 {
        for a in 0..docs.len() {
            for b in 0..docs.len() {
                sync_pair(docs, states, a, b, 0);
            }
        }
    }
}

fn replicas_of(initial: &mut Record, n: usize) -> Vec<Record> {
    let bytes = initial.save();
    (0..n)
        .map(|i| Record::load(&bytes, actor_from_bytes(&[i as u8 + 100; 16])).unwrap())
        .collect()
}

fn assert_identical(docs: &mut [Record]) {
    let heads0 = docs[0].heads();
    let bytes0 = docs[0].canonical_bytes().unwrap();
    for d in docs.iter_mut().skip(1) {
        assert_eq!(d.heads(), heads0);
        assert_eq!(
            d.canonical_bytes().unwrap(),
            bytes0,
            "replicas differ byte for byte"
        );
    }
}

fn run_inspection(n: usize, scenario: &[Step]) {
    let new = NewInspection {
        lot_size: 1200,
        ..NewInspection::default()
    };
    let mut initial = inspection::create(
        &new,
        actor_from_bytes(&[1; 16]),
        &EditContext::new("office", 0),
    )
    .unwrap();
    let mut docs = replicas_of(&mut initial, n);
    let mut states = BTreeMap::new();
    // The model: every defect ever added, and the sum of every successful tally.
    let mut expected_qty: BTreeMap<String, i64> = BTreeMap::new();
    let mut counter = 0;
    for (t, step) in scenario.iter().enumerate() {
        match *step {
            Step::Edit {
                replica,
                op,
                pick,
                amount,
            } => {
                let user = format!("qc{replica}");
                let ctx = EditContext::new(user, t as i64);
                let local = inspection::view(&docs[replica]).unwrap().record;
                let ids: Vec<String> = local.defects.keys().cloned().collect();
                let op = match op {
                    0 | 1 => {
                        counter += 1;
                        let id = format!("r{replica}-d{counter}");
                        let class = [
                            DefectClass::Critical,
                            DefectClass::Major,
                            DefectClass::Minor,
                        ][pick % 3];
                        InspectionOp::AddDefect {
                            id,
                            class,
                            description: "found".into(),
                            position: String::new(),
                            qty: amount,
                        }
                    }
                    2 | 3 if !ids.is_empty() => {
                        let id = ids[pick % ids.len()].clone();
                        // Mostly +amount; sometimes −1 (refused locally when it would go below 0).
                        let delta = if op == 3 && pick % 2 == 0 { -1 } else { amount };
                        InspectionOp::TallyDefect { id, delta }
                    }
                    4 => {
                        let (item, _) = inspection::STANDARD_CHECKLIST
                            [pick % inspection::STANDARD_CHECKLIST.len()];
                        let result = [
                            CheckResult::Pass,
                            CheckResult::Fail,
                            CheckResult::NotApplicable,
                        ][pick % 3];
                        InspectionOp::SetCheck {
                            item: item.into(),
                            result,
                            note: String::new(),
                            name: None,
                        }
                    }
                    _ => InspectionOp::SetLotSize {
                        lot_size: 500 + pick as u64 * 10,
                    },
                };
                if inspection::apply(&mut docs[replica], &op, &ctx).is_ok() {
                    match &op {
                        InspectionOp::AddDefect { id, qty, .. } => {
                            expected_qty.insert(id.clone(), *qty);
                        }
                        InspectionOp::TallyDefect { id, delta } => {
                            *expected_qty.get_mut(id).unwrap() += delta
                        }
                        _ => {}
                    }
                }
            }
            Step::Sync { a, b, order } => sync_pair(&mut docs, &mut states, a, b, order),
        }
    }
    sync_all(&mut docs, &mut states);
    assert_identical(&mut docs);
    let views: Vec<_> = docs.iter().map(|d| inspection::view(d).unwrap()).collect();
    for v in &views {
        assert_eq!(
            v.derived, views[0].derived,
            "derived values differ between replicas"
        );
        let got: BTreeMap<String, i64> = v
            .record
            .defects
            .iter()
            .map(|(k, d)| (k.clone(), d.qty.value()))
            .collect();
        assert_eq!(got, expected_qty, "a defect or a tally increment was lost");
    }
}

fn run_stock_count(n: usize, scenario: &[Step]) {
    let mut lines = BTreeMap::new();
    for i in 0..4 {
        lines.insert(
            format!("l{i}"),
            NewLine {
                sku: format!("SKU-{i}"),
                location: format!("A-{i}"),
                expected: 10 * i,
                ..NewLine::default()
            },
        );
    }
    let new = NewStockCount {
        lines,
        threshold_qty: Some(3),
        ..NewStockCount::default()
    };
    let mut initial = stock_count::create(
        &new,
        actor_from_bytes(&[2; 16]),
        &EditContext::new("office", 0),
    )
    .unwrap();
    let mut docs = replicas_of(&mut initial, n);
    let mut states = BTreeMap::new();
    // The model: each replica is one clerk; the clerk's latest count per (line, round).
    let mut expected_entries: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut added = 0;
    for (t, step) in scenario.iter().enumerate() {
        match *step {
            Step::Edit {
                replica,
                op,
                pick,
                amount,
            } => {
                let user = format!("clerk{replica}");
                let ctx = EditContext::new(user.clone(), t as i64);
                let local = stock_count::view(&docs[replica], &user, true).unwrap();
                let ids: Vec<String> = local.record.lines.keys().cloned().collect();
                let line = ids[pick % ids.len()].clone();
                let op = match op {
                    0..=3 => StockCountOp::SetCount {
                        line: line.clone(),
                        qty: amount * 7 + pick as i64,
                    },
                    4 => {
                        added += 1;
                        StockCountOp::AddLine {
                            id: format!("r{replica}-l{added}"),
                            line: NewLine {
                                sku: "SKU-NEW".into(),
                                ..NewLine::default()
                            },
                        }
                    }
                    _ => StockCountOp::RequestRecount { line: line.clone() },
                };
                if stock_count::apply(&mut docs[replica], &op, &ctx).is_ok()
                    && let StockCountOp::SetCount { line, qty } = &op
                {
                    let round = local.record.lines[line].round.0.max(1);
                    expected_entries
                        .insert((line.clone(), stock_count::entry_key(round, &user)), *qty);
                }
            }
            Step::Sync { a, b, order } => sync_pair(&mut docs, &mut states, a, b, order),
        }
    }
    sync_all(&mut docs, &mut states);
    assert_identical(&mut docs);
    let views: Vec<_> = docs
        .iter()
        .map(|d| stock_count::view(d, "office", true).unwrap())
        .collect();
    for v in &views {
        assert_eq!(
            v.derived, views[0].derived,
            "derived values differ between replicas"
        );
        let got: BTreeMap<(String, String), i64> = v
            .record
            .lines
            .iter()
            .flat_map(|(l, line)| {
                line.entries
                    .iter()
                    .map(move |(k, e)| ((l.clone(), k.clone()), e.qty.0))
            })
            .collect();
        assert_eq!(got, expected_entries, "a counter entry was lost");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn inspections_converge_without_loss((n, scenario) in (2usize..=5).prop_flat_map(|n| (Just(n), steps(n)))) {
        run_inspection(n, &scenario);
    }

    #[test]
    fn stock_counts_converge_without_loss((n, scenario) in (2usize..=5).prop_flat_map(|n| (Just(n), steps(n)))) {
        run_stock_count(n, &scenario);
    }
}
