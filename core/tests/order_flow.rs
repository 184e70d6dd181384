//! One order followed through the core's rules from contract review to shipment, by several
//! users on several replicas, some of them offline, with the expected state after each step.
//! Only the public API is used, as the server and the browser use it.

use std::collections::BTreeMap;

use gendan_core::approval::{self, ApprovalRequest, ApprovalStatus};
use gendan_core::calendar::DAY_MS;
use gendan_core::chains::{self, GENERAL_MANAGER};
use gendan_core::common::{EditContext, Int, Money, PhotoRef};
use gendan_core::order::{
    self, CommercialOp, HandoverKind, LateCode, Order, OrderCommercial, OrderLine, OrderOp,
    PackagingItem, PackagingKind, PaymentTerm, ReviewStep, SampleRound,
};
use gendan_core::payment_gate::{self, BlockReason, Gate};
use gendan_core::plan::{self, RiskLevel};
use gendan_core::purchase_order::{self, Accessory, PoStatus, ProcessSheet, PurchaseOrder};
use gendan_core::record::{Record, actor_from_bytes};
use gendan_core::review::{self, HandoverState};
use gendan_core::{packaging, samples};

/// 2026-11-02 10:00 China time, a Monday.
const START: i64 = 1_792_893_600_000;
const SHA: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn at(day: i64) -> i64 {
    START + day * DAY_MS
}

fn ctx(user: &str, day: i64) -> EditContext {
    EditContext::new(user, at(day))
}

/// Applies an order operation, with the activity-log id `ops::apply_json` gives it.
fn order_op(r: &mut Record, op: OrderOp, user: &str, day: i64) {
    let c = EditContext::new(user, at(day));
    let log_id = order::next_log_id(r, c.now_ms);
    order::apply(r, &op, &log_id, &c).unwrap_or_else(|e| panic!("{op:?}: {e}"));
}

fn replica(r: &mut Record, actor: u8) -> Record {
    Record::load(&r.save(), actor_from_bytes(&[actor; 16])).unwrap()
}

#[test]
fn an_order_from_contract_review_to_shipment() {
    // Sales creates the order and its commercial side: 1000 pieces, deposit terms,
    // delivery in 80 days.
    let mut lines = BTreeMap::new();
    lines.insert(
        "navy".to_string(),
        OrderLine {
            colour: "navy".into(),
            quantity: Int(1000),
            ..OrderLine::default()
        },
    );
    let mut office = order::create(
        &order::NewOrder {
            order_no: "SO-26-001".into(),
            style_no: "TS-1".into(),
            customer: "Northwind".into(),
            factory: "F1".into(),
            merchandiser: "merch".into(),
            sales: "sales".into(),
            delivery_ms: at(80),
            lines,
            ..order::NewOrder::default()
        },
        actor_from_bytes(&[1; 16]),
        &ctx("sales", 0),
    )
    .unwrap();
    let mut commercial = order::create_commercial(
        "order-doc-1",
        "SO-26-001",
        PaymentTerm::Deposit,
        actor_from_bytes(&[2; 16]),
        &ctx("sales", 0),
    )
    .unwrap();

    // 1. Contract review: price check, tracking sheet, cost sheet by finance's head and GM.
    let review_op = |r: &mut Record, op: CommercialOp, user: &str| {
        order::apply_commercial(r, &op, &ctx(user, 1)).unwrap();
    };
    review_op(
        &mut commercial,
        CommercialOp::RequireCostSheetSigner {
            department: "finance".into(),
        },
        "sales",
    );
    for (step, dept, user) in [
        (ReviewStep::PriceCheck, "", "pcm"),
        (ReviewStep::TrackingSheet, "", "merch"),
        (ReviewStep::CostSheet, "finance", "cfo"),
    ] {
        review_op(
            &mut commercial,
            CommercialOp::SignReview {
                step,
                department: dept.into(),
                name: user.into(),
            },
            user,
        );
    }
    let c: OrderCommercial = commercial.read().unwrap();
    assert_eq!(
        review::contract_review(&c).missing,
        ["cost_sheet:general_manager"]
    );
    review_op(
        &mut commercial,
        CommercialOp::SignReview {
            step: ReviewStep::CostSheet,
            department: GENERAL_MANAGER.into(),
            name: "GM".into(),
        },
        "gm",
    );
    assert!(review::contract_review(&commercial.read().unwrap()).complete);

    // 2. Handover: a picture not saved is refused; sales completes it; accepted.
    for (id, kind, description) in [
        ("contract", HandoverKind::File, "sales contract"),
        ("swatch", HandoverKind::Sample, "navy: match under D65"),
        ("front", HandoverKind::Picture, "front view"),
    ] {
        order_op(
            &mut office,
            OrderOp::AddHandoverItem {
                id: id.into(),
                kind,
                description: description.into(),
                contract_no: "SO-26-001".into(),
                photo_sha256: String::new(),
            },
            "sales",
            2,
        );
    }
    let o: Order = office.read().unwrap();
    assert!(
        matches!(review::handover(&o), HandoverState::Open { ref problems } if problems.len() == 1)
    );
    order_op(
        &mut office,
        OrderOp::RefuseHandover {
            id: "r1".into(),
            missing: "the front picture is not in the system".into(),
        },
        "merch",
        2,
    );
    order_op(
        &mut office,
        OrderOp::RemoveHandoverItem { id: "front".into() },
        "sales",
        3,
    );
    order_op(
        &mut office,
        OrderOp::AddHandoverItem {
            id: "front2".into(),
            kind: HandoverKind::Picture,
            description: "front view".into(),
            contract_no: "SO-26-001".into(),
            photo_sha256: SHA.into(),
        },
        "sales",
        3,
    );
    order_op(
        &mut office,
        OrderOp::AcceptHandover { id: "a1".into() },
        "merch",
        3,
    );
    assert_eq!(
        review::handover(&office.read().unwrap()),
        HandoverState::Accepted { by: "merch".into() }
    );

    // 3. The T&A plan, backwards from delivery.
    order_op(
        &mut office,
        OrderOp::PlanBackwards {
            owners: BTreeMap::new(),
        },
        "merch",
        3,
    );
    let o: Order = office.read().unwrap();
    assert_eq!(o.milestones[plan::SHIP_CODE].planned_ms.0, at(80));

    // 4. The PO, drafted from the order, signed by sales and the GM; the gate is closed.
    let mut accessories = BTreeMap::new();
    let mut pictures = BTreeMap::new();
    pictures.insert(
        SHA.to_string(),
        PhotoRef {
            sha256: SHA.into(),
            ..PhotoRef::default()
        },
    );
    accessories.insert(
        "label".to_string(),
        Accessory {
            item: "main label".into(),
            position: "centre back neck".into(),
            pictures,
            ..Accessory::default()
        },
    );
    let new_po = purchase_order::draft_from_order(
        &o,
        "order-doc-1",
        "PO-26-001",
        10,
        ProcessSheet {
            construction: "crew neck".into(),
            workmanship: "12 stitches / 3 cm".into(),
            carton_packing: "12 pcs / carton".into(),
        },
        accessories,
    );
    let mut po =
        purchase_order::create(&new_po, actor_from_bytes(&[3; 16]), &ctx("merch", 4)).unwrap();
    for role in ["sales", "general_manager"] {
        purchase_order::apply(
            &mut po,
            &purchase_order::PurchaseOrderOp::Sign {
                role: role.into(),
                name: role.into(),
            },
            &ctx(role, 5),
        )
        .unwrap();
    }
    let gate = payment_gate::gate(&commercial.read().unwrap(), None);
    assert!(matches!(
        gate,
        Gate::Blocked {
            reason: BlockReason::DepositNotConfirmed,
            ..
        }
    ));
    let release = purchase_order::PurchaseOrderOp::Release { released_ms: at(6) };
    assert!(
        purchase_order::apply_with_gate(&mut po, &release, Some(&gate), &ctx("merch", 6)).is_err()
    );

    // 5. Offline: the merchandiser asks the GM for a special approval; the GM approves on
    // their phone. Meanwhile finance, on another replica, confirms the deposit.
    let mut new = chains::new_request(&chains::SPECIAL_PO_RELEASE, "release PO-26-001 now");
    new.order_no = "SO-26-001".into();
    new.reason = "factory slot on Monday; deposit promised for Tuesday".into();
    let mut request = approval::create(&new, actor_from_bytes(&[4; 16]), &ctx("merch", 6)).unwrap();
    let mut gm_phone = replica(&mut request, 5);
    approval::decide(
        &mut gm_phone,
        "s1",
        true,
        "ok",
        &[GENERAL_MANAGER],
        &ctx("gm", 6),
    )
    .unwrap();
    assert_eq!(
        approval::derive(&request.read().unwrap()).status,
        ApprovalStatus::Pending,
        "the office has not seen the GM's decision yet"
    );
    request.merge(&mut gm_phone).unwrap();
    let special: ApprovalRequest = request.read().unwrap();
    let gate = payment_gate::gate(&commercial.read().unwrap(), Some(&special));
    assert!(
        matches!(gate, Gate::OpenBySpecialApproval { ref approved_by, .. } if approved_by == &["gm".to_string()]),
        "{gate:?}"
    );
    let mut finance_laptop = replica(&mut commercial, 6);
    order::apply_commercial(
        &mut finance_laptop,
        &CommercialOp::ConfirmDeposit {
            amount: Money {
                minor: 300_000,
                currency: "USD".into(),
            },
            received_ms: at(7),
        },
        &ctx("finance", 7),
    )
    .unwrap();
    commercial.merge(&mut finance_laptop).unwrap();
    let gate = payment_gate::gate(&commercial.read().unwrap(), Some(&special));
    assert_eq!(
        gate,
        Gate::Open {
            term: PaymentTerm::Deposit
        },
        "the deposit is in: no exception needed any more"
    );

    // 6. Release, as the server would check it.
    let before: PurchaseOrder = po.read().unwrap();
    purchase_order::apply_with_gate(&mut po, &release, Some(&gate), &ctx("merch", 7)).unwrap();
    let after: PurchaseOrder = po.read().unwrap();
    purchase_order::check_release(&before, &after, &gate).unwrap();
    assert_eq!(purchase_order::status(&after), PoStatus::Released);

    // 7. Samples: proto with comments, PP approved and signed: the QC reference.
    order_op(
        &mut office,
        OrderOp::AddSample {
            id: "proto".into(),
            round: SampleRound::Proto,
            sent_ms: at(10),
        },
        "merch",
        10,
    );
    order_op(
        &mut office,
        OrderOp::CommentSample {
            sample: "proto".into(),
            id: "c1".into(),
            text: "shorten sleeves 1 cm".into(),
        },
        "merch",
        14,
    );
    order_op(
        &mut office,
        OrderOp::AddSample {
            id: "pp".into(),
            round: SampleRound::PreProduction,
            sent_ms: at(20),
        },
        "merch",
        20,
    );
    order_op(
        &mut office,
        OrderOp::DecideSample {
            sample: "pp".into(),
            approved: true,
            signed_by: "J. Smith".into(),
        },
        "merch",
        25,
    );
    let reference = samples::reference_sample(&office.read().unwrap()).unwrap();
    assert_eq!(
        (reference.id.as_str(), reference.signed_by.as_str()),
        ("pp", "J. Smith")
    );

    // 8. Shipping marks: none yet, 20 days before delivery: a reminder and an alarm.
    let day60 = at(60);
    let o: Order = office.read().unwrap();
    assert!(
        packaging::shipping_marks_reminder(&o, day60)
            .unwrap()
            .none_received
    );
    order_op(
        &mut office,
        OrderOp::AddPackaging {
            id: "mark".into(),
            item: PackagingItem {
                kind: PackagingKind::ShippingMark,
                description: "NORTHWIND / PO 26-001 / C/NO.".into(),
                ..PackagingItem::default()
            },
        },
        "merch",
        60,
    );
    order_op(
        &mut office,
        OrderOp::SendPackaging {
            id: "mark".into(),
            sent_ms: at(60),
        },
        "merch",
        60,
    );
    order_op(
        &mut office,
        OrderOp::ConfirmPackaging {
            id: "mark".into(),
            confirmed_ms: at(61),
        },
        "merch",
        61,
    );
    assert_eq!(
        packaging::shipping_marks_reminder(&office.read().unwrap(), at(61)),
        None
    );

    // 9. Production: the factory falls behind; the order shows at risk across the book.
    for (week, planned, actual) in [(42, 300, 300), (49, 300, 120), (56, 400, 100)] {
        order_op(
            &mut office,
            OrderOp::SetWeekPlanned {
                week_ms: at(week),
                qty: planned,
            },
            "merch",
            week,
        );
        order_op(
            &mut office,
            OrderOp::SetWeekActual {
                week_ms: at(week),
                qty: actual,
            },
            "merch",
            week + 1,
        );
    }
    let o: Order = office.read().unwrap();
    let report = plan::risk_report([("order-doc-1", &o)], at(62));
    assert!(report[0].level >= RiskLevel::AtRisk, "{:?}", report[0]);
    assert!(report[0].projected_ship_ms > at(80));

    // 10. Shipped (late, coded): the order leaves the risk list.
    order_op(
        &mut office,
        OrderOp::CompleteMilestone {
            id: plan::SHIP_CODE.into(),
            actual_ms: at(84),
            late_reason: "factory output".into(),
            late_code: LateCode::FactoryCapacity,
        },
        "merch",
        84,
    );
    let o: Order = office.read().unwrap();
    let risk = plan::assess("order-doc-1", &o, at(85));
    assert_eq!(risk.level, RiskLevel::Shipped);
    assert_eq!(risk.late_by_code.get("factory_capacity"), Some(&1));
}

/// An order, its commercial side and a PO as the first schema wrote them: only the
/// collections schema 1 had.
fn schema_1_documents() -> Vec<(gendan_core::RecordType, Vec<u8>)> {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};
    let doc = |t: &str, collections: &[&str], fields: &[(&str, &str)]| {
        let mut d = AutoCommit::new().with_actor(automerge::ActorId::from(&[7_u8; 16][..]));
        d.put(ROOT, "type", t).unwrap();
        d.put(ROOT, "schema", 1_i64).unwrap();
        d.put(ROOT, "created_by", "merch").unwrap();
        d.put(ROOT, "created_at_ms", at(0)).unwrap();
        d.put_object(ROOT, "assignees", ObjType::Map).unwrap();
        for c in collections {
            d.put_object(ROOT, *c, ObjType::Map).unwrap();
        }
        for (k, v) in fields {
            d.put(ROOT, *k, *v).unwrap();
        }
        d.save()
    };
    use gendan_core::RecordType as T;
    vec![
        (
            T::Order,
            doc(
                "order",
                &["lines", "milestones", "samples", "notes", "activity"],
                &[("order_no", "SO-OLD-1"), ("factory", "F1")],
            ),
        ),
        (
            T::OrderCommercial,
            doc(
                "order_commercial",
                &["prices", "costs"],
                &[("order_no", "SO-OLD-1"), ("payment_term", "lc")],
            ),
        ),
        (
            T::PurchaseOrder,
            doc(
                "purchase_order",
                &["lines", "accessories", "signatures"],
                &[
                    ("po_no", "PO-OLD-1"),
                    ("order_no", "SO-OLD-1"),
                    ("factory", "F1"),
                ],
            ),
        ),
    ]
}

#[test]
fn documents_of_schema_1_read_upgrade_once_and_take_the_new_collections() {
    use automerge::ReadDoc;
    use gendan_core::RecordType as T;
    use gendan_core::ops;
    let has_map = |r: &Record, key: &str| {
        matches!(
            r.doc().get(automerge::ROOT, key),
            Ok(Some((automerge::Value::Object(automerge::ObjType::Map), _)))
        )
    };
    for (t, bytes) in schema_1_documents() {
        assert_eq!(t.current_schema(), 2, "{t}");
        let mut server = Record::load(&bytes, actor_from_bytes(&[1; 16])).unwrap();
        // It reads as it is: the new collections read as empty.
        match t {
            T::Order => assert!(server.read::<Order>().unwrap().handover_items.is_empty()),
            T::OrderCommercial => {
                assert!(server.read::<OrderCommercial>().unwrap().review.is_empty());
            }
            _ => assert!(
                server
                    .read::<PurchaseOrder>()
                    .unwrap()
                    .corrections
                    .is_empty()
            ),
        }
        let new: &[&str] = match t {
            T::Order => &[
                "handover_items",
                "handover_decisions",
                "packaging",
                "week_planned",
                "week_actual",
            ],
            T::OrderCommercial => &["review", "cost_sheet_signers"],
            _ => &["corrections"],
        };
        assert!(new.iter().all(|k| !has_map(&server, k)));
        assert!(server.upgrade().unwrap(), "{t} upgrades");
        assert!(new.iter().all(|k| has_map(&server, k)), "{t}");
        assert_eq!(server.header().unwrap().schema.0, 2);
        assert!(!server.upgrade().unwrap(), "upgrade runs once");
        // Two devices, offline, each add to a new collection: both entries survive the
        // merge, since the map they add to was made once, by the upgrade.
        let mut a = replica(&mut server, 2);
        let mut b = replica(&mut server, 3);
        let (op_a, op_b) = match t {
            T::Order => (
                r#"{"op": "add_handover_item", "id": "h1", "kind": "file", "contract_no": "SO-OLD-1"}"#,
                r#"{"op": "add_packaging", "id": "m1", "item": {"kind": "shipping_mark"}}"#,
            ),
            T::OrderCommercial => (
                r#"{"op": "sign_review", "step": "price_check", "name": "PCM"}"#,
                r#"{"op": "require_cost_sheet_signer", "department": "finance"}"#,
            ),
            _ => (
                r#"{"op": "return_for_correction", "id": "c1", "comment": "carton size"}"#,
                r#"{"op": "return_for_correction", "id": "c2", "comment": "label position"}"#,
            ),
        };
        ops::apply_json(&mut a, op_a, &ctx("merch", 2)).unwrap_or_else(|e| panic!("{t}: {e}"));
        ops::apply_json(&mut b, op_b, &ctx("merch2", 2)).unwrap_or_else(|e| panic!("{t}: {e}"));
        server.merge(&mut a).unwrap();
        server.merge(&mut b).unwrap();
        let reloaded = Record::load(&server.save(), actor_from_bytes(&[4; 16])).unwrap();
        match t {
            T::Order => {
                let o: Order = reloaded.read().unwrap();
                assert!(o.handover_items.contains_key("h1"));
                assert!(o.packaging.contains_key("m1"));
                assert_eq!(o.order_no, "SO-OLD-1", "old data kept");
            }
            T::OrderCommercial => {
                let c: OrderCommercial = reloaded.read().unwrap();
                assert!(c.review.contains_key("price_check"));
                assert!(c.cost_sheet_signers.contains_key("finance"));
                assert_eq!(c.payment_term, PaymentTerm::LetterOfCredit);
            }
            _ => {
                let po: PurchaseOrder = reloaded.read().unwrap();
                assert_eq!(po.corrections.len(), 2);
                assert_eq!(po.po_no, "PO-OLD-1");
            }
        }
    }
}

#[test]
fn replicas_that_upgrade_the_same_state_make_the_same_change() {
    for (t, bytes) in schema_1_documents() {
        // Two servers (or a server and a device) holding the same old document, each with
        // its own actor, upgrade it concurrently.
        let mut a = Record::load(&bytes, actor_from_bytes(&[1; 16])).unwrap();
        let mut b = Record::load(&bytes, actor_from_bytes(&[2; 16])).unwrap();
        assert!(a.upgrade().unwrap() && b.upgrade().unwrap(), "{t}");
        assert_eq!(a.heads(), b.heads(), "{t}: the very same change");
        // Merged, there is one upgrade and one map under each new key; each replica keeps
        // its own actor for what it writes next.
        a.merge(&mut b).unwrap();
        assert_eq!(
            a.doc_mut().get_changes(&[]).len(),
            2,
            "{t}: create + upgrade"
        );
        assert_eq!(
            a.doc().get_actor(),
            &automerge::ActorId::from(&[1_u8; 16][..])
        );
        let keys = match t {
            gendan_core::RecordType::Order => order::ORDER_COLLECTIONS,
            gendan_core::RecordType::OrderCommercial => order::COMMERCIAL_COLLECTIONS,
            _ => purchase_order::COLLECTIONS,
        };
        for key in keys {
            assert_eq!(
                automerge::ReadDoc::get_all(a.doc(), automerge::ROOT, *key)
                    .unwrap()
                    .len(),
                1,
                "{t}: {key} exists once"
            );
        }
        // Upgrading a different state (one more change) is a different change: its actor
        // differs, so no actor ever makes two changes with one sequence number.
        let mut c = Record::load(&bytes, actor_from_bytes(&[3; 16])).unwrap();
        c.assign(&ctx("merch", 5), "qc1").unwrap();
        c.upgrade().unwrap();
        let actors = |r: &mut Record| -> std::collections::BTreeSet<automerge::ActorId> {
            r.doc_mut()
                .get_changes(&[])
                .iter()
                .map(|ch| ch.actor_id().clone())
                .collect()
        };
        let (in_a, in_c) = (actors(&mut a), actors(&mut c));
        assert_eq!(in_a.intersection(&in_c).count(), 1, "{t}: only the creator");
    }
}
