//! One order followed through a real `gendan serve --demo` from contract review to archive,
//! the way the seed documents describe the work (PRODUCT.md, "The order follow-up flow"):
//! sales, the product control manager, finance, the general manager, the merchandiser, a
//! QC inspector, a warehouse clerk and dock staff, each as themselves (the demo users and
//! their job titles), in the office over REST or on a device over the sync WebSocket —
//! some steps made offline and synced later. After every step the test reads the
//! server's record back and checks the state the core's rules derive from it.
//!
//! It also checks the server's enforcement of approval decisions by job title, over REST
//! and over sync, and that concurrent offline decisions merge to one outcome by the rule
//! documented in `gendan_core::approval` (a "no" on a reached step is never outvoted).

use std::time::Duration;

use gendan_core::approval;
use gendan_core::chains;
use gendan_core::common::EditContext;
use gendan_core::order::Order;
use gendan_core::plan::{self, RiskLevel};
use gendan_core::protocol::DocumentId;
use gendan_core::protocol::client::ClientPeer;
use gendan_core::record::Record;
use gendan_tests::http::{self, Response};
use gendan_tests::{Login, PATIENCE, Server, SyncClient, login, ws};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const SHA: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const FACTORY: &str = "Dongguan Hengli Garments";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Office {
    port: u16,
}

impl Office {
    fn create(&self, who: &Login, body: Value) -> DocumentId {
        let r = http::post(self.port, "/api/v1/records", Some(&who.token), &body);
        assert_eq!(r.status, 201, "{} creates {body}: {}", who.user, r.body);
        r.json()["id"].as_str().unwrap().parse().unwrap()
    }

    fn try_op(&self, who: &Login, id: DocumentId, op: Value) -> Response {
        http::post(
            self.port,
            &format!("/api/v1/records/{id}/ops"),
            Some(&who.token),
            &op,
        )
    }

    /// Applies an operation; answers the record's view as the server has it now.
    fn op(&self, who: &Login, id: DocumentId, op: Value) -> Value {
        let r = self.try_op(who, id, op.clone());
        assert_eq!(r.status, 200, "{} applies {op}: {}", who.user, r.body);
        r.json()["view"].clone()
    }

    fn decide(&self, who: &Login, id: DocumentId, step: &str, approved: bool) -> Response {
        http::post(
            self.port,
            &format!("/api/v1/records/{id}/decide"),
            Some(&who.token),
            &json!({"step": step, "approved": approved, "comment": format!("{} says so", who.user)}),
        )
    }

    fn view(&self, who: &Login, id: DocumentId) -> Value {
        let r = http::get(self.port, &format!("/api/v1/records/{id}"), &who.token);
        assert_eq!(r.status, 200, "{} reads {id}: {}", who.user, r.body);
        r.json()["view"].clone()
    }

    /// The order as the server has it, read through the core.
    fn order(&self, who: &Login, id: DocumentId) -> Order {
        serde_json::from_value(self.view(who, id)["record"].clone()).expect("an order")
    }
}

/// A device of `who` holding `docs`, then taken offline (disconnected, documents kept).
fn device_offline(port: u16, who: &Login, docs: &[DocumentId]) -> ClientPeer {
    let mut c = SyncClient::connect(port, &who.token, &format!("{}-{}", who.user, ws::unique()));
    for doc in docs {
        c.fetch(*doc)
            .unwrap_or_else(|_| panic!("{} may fetch {doc}", who.user));
    }
    c.into_peer()
}

/// An edit made on a device while offline, through the core's operations.
fn offline_edit(peer: &mut ClientPeer, doc: DocumentId, edit: impl FnOnce(&mut Record)) {
    let held = peer.doc(&doc).expect("held").clone();
    let mut record = Record::from_doc(held).unwrap_or_else(|b| panic!("not a record: {}", b.1));
    let before = record.heads();
    edit(&mut record);
    let changes = record.doc_mut().get_changes(&before);
    peer.doc_mut(&doc)
        .expect("held")
        .apply_changes(changes)
        .expect("a record's own changes apply");
}

/// Back online: reconnects and syncs; true when the server acknowledged every change.
fn reconnect(port: u16, who: &Login, peer: ClientPeer, doc: DocumentId) -> (SyncClient, bool) {
    let mut c = SyncClient::connect_peer(port, &who.token, peer);
    c.sync();
    let acknowledged = c.wait_acknowledged(doc, Duration::from_secs(5));
    (c, acknowledged)
}

fn op_json(op: Value) -> String {
    op.to_string()
}

#[test]
fn an_order_from_contract_review_to_archive_across_users_and_devices() {
    let server = Server::start_demo();
    let port = server.port();
    let office = Office { port };
    let [
        sales,
        pcm,
        finance,
        boss,
        salesmgr,
        merch,
        qc1,
        clerk1,
        dock1,
    ] = [
        "sales", "pcm", "finance", "boss", "salesmgr", "merch", "qc1", "clerk1", "dock1",
    ]
    .map(|u| login(port, u));
    let now = now_ms();

    // 1. Sales enters the order and its commercial side (deposit terms).
    let order = office.create(
        &sales,
        json!({"type": "order", "order_no": "SO-WALK-1", "style_no": "WK-100",
            "customer": "Northwind Retail", "factory": FACTORY, "merchandiser": "merch",
            "sales": "sales", "delivery_ms": now + 70 * DAY_MS,
            "lines": {"navy": {"colour": "navy", "sizes": {"M": 600, "L": 400}}}}),
    );
    let commercial = office.create(
        &sales,
        json!({"type": "order_commercial", "order_id": order.to_string(),
            "order_no": "SO-WALK-1", "payment_term": "deposit"}),
    );
    office.op(
        &sales,
        commercial,
        json!({"op": "set_payment_term", "term": "deposit", "deposit_pct": 30}),
    );
    let v = office.op(
        &sales,
        commercial,
        json!({"op": "require_cost_sheet_signer", "department": "finance"}),
    );
    assert_eq!(v["derived"]["contract_review"]["complete"], false);
    assert_eq!(v["derived"]["payment_gate"]["state"], "blocked");

    // 2. Contract review: the product control manager checks the price, the merchandiser
    // signs the tracking sheet, finance and the general manager the cost sheet.
    for (who, step, department, missing_after) in [
        (&pcm, "price_check", "", 3),
        (&merch, "tracking_sheet", "", 2),
        (&finance, "cost_sheet", "finance", 1),
        (&boss, "cost_sheet", "general_manager", 0),
    ] {
        let v = office.op(
            who,
            commercial,
            json!({"op": "sign_review", "step": step, "department": department, "name": who.user}),
        );
        let review = &v["derived"]["contract_review"];
        assert_eq!(
            review["missing"].as_array().unwrap().len(),
            missing_after,
            "{review}"
        );
        assert_eq!(review["complete"], missing_after == 0);
    }

    // 3. Handover: a swatch without the contract no. — the merchandiser refuses; sales
    // hands it over marked; accepted.
    for (id, kind, contract_no) in [("contract", "file", "SO-WALK-1"), ("swatch", "sample", "")] {
        office.op(
            &sales,
            order,
            json!({"op": "add_handover_item", "id": id, "kind": kind,
                "description": id, "contract_no": contract_no}),
        );
    }
    let v = office.op(
        &merch,
        order,
        json!({"op": "refuse_handover", "id": "r1", "missing": "the swatch is not marked"}),
    );
    assert_eq!(v["derived"]["handover"]["state"], "refused", "{v}");
    office.op(
        &sales,
        order,
        json!({"op": "remove_handover_item", "id": "swatch"}),
    );
    office.op(
        &sales,
        order,
        json!({"op": "add_handover_item", "id": "swatch2", "kind": "sample",
            "description": "navy swatch", "contract_no": "SO-WALK-1"}),
    );
    let v = office.op(&merch, order, json!({"op": "accept_handover", "id": "a1"}));
    assert_eq!(v["derived"]["handover"]["state"], "accepted", "{v}");
    let v = office.op(&merch, order, json!({"op": "plan_backwards"}));
    assert!(!v["record"]["milestones"].as_object().unwrap().is_empty());

    // 4. The PO: drafted by the merchandiser, signed by sales and the general manager; the
    // deposit is not in, so the release is refused.
    let po = office.create(
        &merch,
        json!({"type": "purchase_order", "po_no": "PO-WALK-1", "order_id": order.to_string(),
            "order_no": "SO-WALK-1", "style_no": "WK-100", "factory": FACTORY,
            "ex_factory_ms": now + 60 * DAY_MS,
            "process_sheet": {"construction": "crew neck", "workmanship": "12 stitches / 3 cm",
                "carton_packing": "12 pcs / carton"},
            "accessories": {"label": {"item": "main label", "position": "centre back neck",
                "pictures": {SHA: {"sha256": SHA}}}}}),
    );
    for (who, role) in [(&sales, "sales"), (&boss, "general_manager")] {
        office.op(
            who,
            po,
            json!({"op": "sign", "role": role, "name": who.user}),
        );
    }
    let release = json!({"op": "release", "released_ms": now});
    let refused = office.try_op(&merch, po, release.clone());
    assert_ne!(refused.status, 200);
    assert!(refused.body.contains("deposit"), "{}", refused.body);
    assert_eq!(
        office.view(&merch, po)["derived"]["status"],
        "signed_by_general_manager"
    );

    // 5. The special approval to release before the deposit (总经理签字特批): only the
    // general manager's title may decide it.
    let mut special = chains::new_request(&chains::SPECIAL_PO_RELEASE, "release PO-WALK-1 now");
    special.order_no = "SO-WALK-1".into();
    special.reason = "factory slot on Monday; deposit promised for Thursday".into();
    let mut body = serde_json::to_value(&special).unwrap();
    body["type"] = json!("approval");
    let request = office.create(&merch, body);
    // Over REST: the sales manager (an approver, not the GM) is refused, saying why.
    let r = office.decide(&salesmgr, request, "s1", true);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("general_manager"), "{}", r.body);
    // Over sync: the same decision written on the sales manager's device is not merged.
    let mut device = device_offline(port, &salesmgr, &[request]);
    offline_edit(&mut device, request, |r| {
        // Written as a device would; the core itself refuses the missing title, so the
        // device writes the decision past it (a modified or outdated app).
        approval::decide(
            r,
            "s1",
            true,
            "",
            &[chains::GENERAL_MANAGER],
            &EditContext::new("salesmgr", now_ms()),
        )
        .unwrap();
    });
    let (mut c, acknowledged) = reconnect(port, &salesmgr, device, request);
    assert!(
        !acknowledged,
        "the server did not take the sales manager's decision"
    );
    c.pump_for(Duration::from_millis(300));
    let v = office.view(&merch, request);
    assert!(
        v["record"]["decisions"].as_object().unwrap().is_empty(),
        "{v}"
    );
    assert_eq!(v["derived"]["status"], "pending");
    drop(c);
    // The general manager decides on the phone, offline; it lands when the phone syncs.
    let mut phone = device_offline(port, &boss, &[request]);
    offline_edit(&mut phone, request, |r| {
        approval::decide(
            r,
            "s1",
            true,
            "ok, the factory slot matters",
            &[chains::GENERAL_MANAGER],
            &EditContext::new("boss", now_ms()),
        )
        .unwrap();
    });
    assert_eq!(office.view(&merch, request)["derived"]["status"], "pending");
    let (_phone, acknowledged) = reconnect(port, &boss, phone, request);
    assert!(acknowledged, "the GM's decision is on the server");
    assert_eq!(
        office.view(&merch, request)["derived"]["status"],
        "approved"
    );
    // The gate opens by the special approval: the release goes through.
    let v = office.op(&merch, po, release);
    assert_eq!(v["derived"]["status"], "released", "{v}");
    // Finance confirms the deposit later; the review stays complete.
    let v = office.op(
        &finance,
        commercial,
        json!({"op": "confirm_deposit", "amount": {"minor": 300_000, "currency": "USD"},
            "received_ms": now_ms()}),
    );
    assert_eq!(v["derived"]["payment_gate"]["state"], "open", "{v}");

    // 6. Samples: the proto comes back with a comment; the PP sample is approved and
    // signed — the reference the QC inspects against.
    office.op(
        &merch,
        order,
        json!({"op": "add_sample", "id": "proto", "round": "proto", "sent_ms": now}),
    );
    office.op(
        &merch,
        order,
        json!({"op": "comment_sample", "sample": "proto", "id": "c1", "text": "shorten sleeves 1 cm"}),
    );
    office.op(
        &merch,
        order,
        json!({"op": "add_sample", "id": "pp", "round": "pp", "sent_ms": now}),
    );
    let v = office.op(
        &merch,
        order,
        json!({"op": "decide_sample", "sample": "pp", "approved": true, "signed_by": "J. Smith"}),
    );
    assert_eq!(v["derived"]["reference_sample"]["id"], "pp", "{v}");
    let rounds = v["derived"]["sample_rounds"].as_array().unwrap();
    let proto = rounds.iter().find(|r| r["round"] == "proto").unwrap();
    assert_eq!(
        (proto["sent"].as_i64(), proto["comments"].as_i64()),
        (Some(1), Some(1))
    );

    // 7. Production: the factory reports far less than planned; the order is at risk.
    let week = now - 7 * DAY_MS;
    office.op(
        &merch,
        order,
        json!({"op": "set_week_planned", "week_ms": week, "qty": 900}),
    );
    office.op(
        &merch,
        order,
        json!({"op": "set_week_actual", "week_ms": week, "qty": 100}),
    );
    let o = office.order(&merch, order);
    let risk = plan::assess(&order.to_string(), &o, now_ms());
    assert_ne!(risk.level, RiskLevel::Shipped);
    assert_ne!(risk.level, RiskLevel::OnTrack, "{risk:?}");

    // 8. Final inspection by qc1 in the factory, offline; synced when back.
    let inspection = office.create(
        &merch,
        json!({"type": "inspection", "title": "Walk-through final WK-100",
            "order_no": "SO-WALK-1", "po_no": "PO-WALK-1", "factory": FACTORY,
            "inspection_type": "pre_shipment", "lot_size": 1000, "assignees": ["qc1"]}),
    );
    let mut tablet = device_offline(port, &qc1, &[inspection]);
    offline_edit(&mut tablet, inspection, |r| {
        let ctx = EditContext::new("qc1", now_ms());
        for op in [
            json!({"op": "add_defect", "id": "d1", "class": "minor",
                "description": "loose thread", "qty": 2}),
            json!({"op": "set_check", "item": "shipping_marks", "result": "pass"}),
            json!({"op": "sign_off", "name": "Li Qiang"}),
        ] {
            gendan_core::ops::apply_json(r, &op_json(op), &ctx).unwrap();
        }
    });
    assert_eq!(office.view(&merch, inspection)["derived"]["status"], "open");
    let (_tablet, acknowledged) = reconnect(port, &qc1, tablet, inspection);
    assert!(acknowledged);
    let d = office.view(&merch, inspection)["derived"].clone();
    assert_eq!(
        (d["status"].as_str(), d["verdict"].as_str()),
        (Some("signed"), Some("pass")),
        "{d}"
    );

    // 9. The warehouse counts the cartons, offline; the office approves the count.
    let count = office.create(
        &merch,
        json!({"type": "stock_count", "title": "Cartons for SO-WALK-1", "warehouse": "WH-Shenzhen",
            "assignees": ["clerk1"], "lines": {"l1": {"location": "A-01-1",
            "sku": "WK-100-CTN", "description": "cartons", "unit": "ctn", "expected": 84}}}),
    );
    let mut handheld = device_offline(port, &clerk1, &[count]);
    offline_edit(&mut handheld, count, |r| {
        let ctx = EditContext::new("clerk1", now_ms());
        for op in [
            json!({"op": "set_count", "line": "l1", "qty": 84}),
            json!({"op": "submit"}),
        ] {
            gendan_core::ops::apply_json(r, &op_json(op), &ctx).unwrap();
        }
    });
    let (_handheld, acknowledged) = reconnect(port, &clerk1, handheld, count);
    assert!(acknowledged);
    assert_eq!(office.view(&merch, count)["derived"]["status"], "submitted");
    let v = office.op(
        &merch,
        count,
        json!({"op": "approve", "note": "matches the packing list"}),
    );
    assert_eq!(v["derived"]["status"], "approved");

    // 10. Container loading at the dock, offline; customs and delivery in the office.
    let check = office.create(
        &merch,
        json!({"type": "shipment_check", "title": "Loading SO-WALK-1", "order_no": "SO-WALK-1",
            "factory": FACTORY, "booking_no": "BKG-1", "container_type": "20GP",
            "assignees": ["dock1"], "lines": {"p1": {"po_no": "PO-WALK-1", "style_no": "WK-100",
            "description": "navy M/L", "cartons_expected": 84, "qty_per_carton": 12,
            "shipping_mark": "NORTHWIND / SO-WALK-1"}}}),
    );
    let mut dock = device_offline(port, &dock1, &[check]);
    offline_edit(&mut dock, check, |r| {
        let ctx = EditContext::new("dock1", now_ms());
        for op in [
            json!({"op": "tally_cartons", "line": "p1", "delta": 84}),
            // Marks are verified with a photo of them.
            json!({"op": "add_line_photo", "line": "p1",
                "photo": {"sha256": "ab".repeat(32), "mime": "image/jpeg"}}),
            json!({"op": "verify_mark", "line": "p1"}),
            json!({"op": "set_text", "field": "container_no", "value": "MSKU 1234565"}),
            json!({"op": "set_text", "field": "seal_no", "value": "SEAL-1"}),
            json!({"op": "sign_off", "name": "Zhou Tao"}),
        ] {
            gendan_core::ops::apply_json(r, &op_json(op), &ctx).unwrap();
        }
    });
    let (_dock, acknowledged) = reconnect(port, &dock1, dock, check);
    assert!(acknowledged);
    let d = office.view(&merch, check)["derived"].clone();
    assert_eq!(
        (d["status"].as_str(), d["verdict"].as_str()),
        (Some("signed"), Some("pass")),
        "{d}"
    );
    office.op(
        &merch,
        check,
        json!({"op": "set_customs", "declaration_no": "5300-1", "cleared_at_ms": now_ms()}),
    );
    let v = office.op(
        &merch,
        check,
        json!({"op": "confirm_delivery", "confirmed_at_ms": now_ms(), "feedback": "all good"}),
    );
    assert_eq!(v["derived"]["status"], "delivered");

    // 11. Shipped and archived: the order leaves the risk list, and every record of it is
    // found by its order no.
    office.op(
        &merch,
        order,
        json!({"op": "complete_milestone", "id": plan::SHIP_CODE, "actual_ms": now_ms()}),
    );
    let o = office.order(&merch, order);
    assert_eq!(plan::assess("", &o, now_ms()).level, RiskLevel::Shipped);
    let listed = http::get(port, "/api/v1/records?q=SO-WALK-1&limit=50", &merch.token);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<String> = listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    for id in [order, commercial, po, request, inspection, check] {
        assert!(
            ids.contains(&id.to_string()),
            "{id} is found by the order no.: {ids:?}"
        );
    }
    assert!(o.activity.len() >= 10, "the activity log kept every step");
}

#[test]
fn concurrent_offline_decisions_merge_to_one_outcome_through_the_server() {
    let server = Server::start_demo();
    let port = server.port();
    let office = Office { port };
    let [merch, finance, boss] = ["merch", "finance", "boss"].map(|u| login(port, u));
    // A shipping release decided by finance, or by the general manager named on the step.
    let request = office.create(
        &merch,
        json!({"type": "approval", "kind": "shipping_release", "subject": "ship SO-2026-0907",
            "order_no": "SO-2026-0907",
            "chain_steps": [{"role": "finance", "label": "财务 审核", "action": "review",
                "approvers": ["boss"]}]}),
    );
    // Both take the request offline and decide it without seeing each other's decision:
    // finance approves, the general manager rejects.
    let mut laptop = device_offline(port, &finance, &[request]);
    let mut phone = device_offline(port, &boss, &[request]);
    offline_edit(&mut laptop, request, |r| {
        approval::decide(
            r,
            "s1",
            true,
            "",
            &["finance"],
            &EditContext::new("finance", now_ms()),
        )
        .unwrap();
    });
    offline_edit(&mut phone, request, |r| {
        approval::decide(
            r,
            "s1",
            false,
            "customer over the credit limit",
            &[],
            &EditContext::new("boss", now_ms()),
        )
        .unwrap();
    });
    // Finance syncs first: approved, for now.
    let (_laptop, acknowledged) = reconnect(port, &finance, laptop, request);
    assert!(acknowledged);
    assert_eq!(
        office.view(&merch, request)["derived"]["status"],
        "approved"
    );
    // The general manager's "no", made offline on a step that was open when it was made,
    // is accepted and rejects the request: a "no" is never outvoted by a concurrent "yes".
    let (mut phone, acknowledged) = reconnect(port, &boss, phone, request);
    assert!(acknowledged, "the honest offline rejection is merged");
    let v = office.view(&merch, request);
    assert_eq!(v["derived"]["status"], "rejected", "{v}");
    assert_eq!(v["derived"]["rejected_at"], "s1");
    let decisions = v["record"]["decisions"].as_object().unwrap();
    assert_eq!(decisions.len(), 2, "both decisions are kept: {v}");
    // Every replica derives the same outcome: the phone, synced, agrees.
    phone.pump_until(PATIENCE, |c| c.has_server_heads(&request));
    let on_phone: approval::ApprovalRequest = Record::from_doc(phone.doc(&request))
        .unwrap()
        .read()
        .unwrap();
    assert_eq!(
        approval::derive(&on_phone).status,
        approval::ApprovalStatus::Rejected
    );
}
