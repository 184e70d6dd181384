//! One entry point for every record type: apply an operation given as JSON, and read a
//! record's view (stored fields plus derived values) as JSON. The WASM bindings and the
//! server's REST API both go through here, so they can never disagree on the rules.

use serde::Serialize;

use crate::common::EditContext;
use crate::record::{Record, RecordError, RecordType, parse_op};
use crate::{
    approval, inspection, order, packaging, payment_gate, plan, purchase_order, review, samples,
    shipment, stock_count,
};

/// Who is asking to see a record, for the rules that depend on it (blind counts).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The username.
    pub user: &'a str,
    /// Whether the viewer works in the office (sees expected quantities of blind counts).
    pub office: bool,
}

/// Applies an operation, given as a JSON object with an `op` tag, to a record of any type.
/// Approval decisions are not applied here: they need the user's roles
/// (see [`approval::decide`]). Releasing a PO needs the payment gate: it is refused here;
/// use [`apply_json_with_gate`].
pub fn apply_json(
    record: &mut Record,
    op_json: &str,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    apply_json_with_gate(record, op_json, None, ctx)
}

/// [`apply_json`] with the payment gate of the order a PO belongs to, which the caller
/// derives with [`crate::payment_gate::gate_any`] from the order's commercial side and its
/// special approvals. The gate is only looked at for a PO's `release`.
pub fn apply_json_with_gate(
    record: &mut Record,
    op_json: &str,
    gate: Option<&payment_gate::Gate>,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    match record.record_type() {
        RecordType::Inspection => inspection::apply(record, &parse_op(op_json)?, ctx),
        RecordType::StockCount => stock_count::apply(record, &parse_op(op_json)?, ctx),
        RecordType::ShipmentCheck => shipment::apply(record, &parse_op(op_json)?, ctx),
        RecordType::PurchaseOrder => {
            purchase_order::apply_with_gate(record, &parse_op(op_json)?, gate, ctx)
        }
        RecordType::OrderCommercial => order::apply_commercial(record, &parse_op(op_json)?, ctx),
        RecordType::Order => {
            let op: order::OrderOp = parse_op(op_json)?;
            // The activity log entry's id is unique per device and edit (see
            // `order::next_log_id`): two edits in one millisecond never collide.
            let log_id = order::next_log_id(record, ctx.now_ms);
            order::apply(record, &op, &log_id, ctx)
        }
        other => Err(RecordError::not_allowed(
            "record.not_allowed.no_operations",
            format!("{other} records are not edited with operations"),
        )
        .with_param("record_type", other)),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, RecordError> {
    serde_json::to_value(value).map_err(|e| RecordError::BadOperation(e.to_string()))
}

/// The view of a record of any type as JSON: `{"record": …, "derived": …}`, with nothing
/// that depends on today's date (see [`view_json_at`]).
pub fn view_json(record: &Record, viewer: Viewer<'_>) -> Result<serde_json::Value, RecordError> {
    view_json_at(record, viewer, 0)
}

/// The view of a record as JSON at `now_ms`: the derived values that depend on the date —
/// an approval's deadline and escalation, an order's risk and shipping-marks reminder — are
/// included when `now_ms` is not 0.
pub fn view_json_at(
    record: &Record,
    viewer: Viewer<'_>,
    now_ms: i64,
) -> Result<serde_json::Value, RecordError> {
    match record.record_type() {
        RecordType::Inspection => to_json(&inspection::view(record)?),
        RecordType::StockCount => to_json(&stock_count::view(record, viewer.user, viewer.office)?),
        RecordType::ShipmentCheck => to_json(&shipment::view(record)?),
        RecordType::Approval => {
            let req: approval::ApprovalRequest = record.read()?;
            let derived = approval::view(&req, now_ms);
            to_json(&serde_json::json!({ "record": req, "derived": derived }))
        }
        RecordType::Order => {
            let o: order::Order = record.read()?;
            let packaging: std::collections::BTreeMap<&String, packaging::PackagingStatus> = o
                .packaging
                .iter()
                .map(|(id, p)| (id, packaging::status(p)))
                .collect();
            let (rounds, next_round) = samples::progress(&o);
            let mut derived = serde_json::json!({
                "handover": review::handover(&o),
                "reference_sample": samples::reference_sample(&o),
                "sample_rounds": rounds,
                "next_sample_round": next_round,
                "packaging": packaging,
                "weeks": plan::weeks(&o),
            });
            if now_ms != 0 {
                derived["risk"] = to_json(&plan::assess("", &o, now_ms))?;
                derived["shipping_marks_reminder"] =
                    to_json(&packaging::shipping_marks_reminder(&o, now_ms))?;
            }
            to_json(&serde_json::json!({ "record": o, "derived": derived }))
        }
        RecordType::OrderCommercial => {
            let o: order::OrderCommercial = record.read()?;
            // The gate without special approvals: the caller adds those (gate_any).
            let derived = serde_json::json!({
                "contract_review": review::contract_review(&o),
                "payment_gate": payment_gate::gate(&o, None),
            });
            to_json(&serde_json::json!({ "record": o, "derived": derived }))
        }
        RecordType::PurchaseOrder => {
            let o: purchase_order::PurchaseOrder = record.read()?;
            let derived = serde_json::json!({
                "status": purchase_order::status(&o),
                "release_problems": purchase_order::release_problems(&o),
            });
            to_json(&serde_json::json!({ "record": o, "derived": derived }))
        }
        RecordType::UserIndex | RecordType::Unknown => {
            let header = record.header()?;
            to_json(&serde_json::json!({ "record": header, "derived": {} }))
        }
    }
}

/// What a new commercial side starts with, as JSON.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct NewCommercial {
    order_id: String,
    order_no: String,
    payment_term: order::PaymentTerm,
}

/// Creates a record of `record_type` from a JSON description of what it starts with.
pub fn create_json(
    record_type: RecordType,
    new_json: &str,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    match record_type {
        RecordType::Inspection => inspection::create(&parse_op(new_json)?, actor, ctx),
        RecordType::StockCount => stock_count::create(&parse_op(new_json)?, actor, ctx),
        RecordType::ShipmentCheck => shipment::create(&parse_op(new_json)?, actor, ctx),
        RecordType::Order => order::create(&parse_op(new_json)?, actor, ctx),
        RecordType::OrderCommercial => {
            let new: NewCommercial = parse_op(new_json)?;
            order::create_commercial(&new.order_id, &new.order_no, new.payment_term, actor, ctx)
        }
        RecordType::PurchaseOrder => purchase_order::create(&parse_op(new_json)?, actor, ctx),
        RecordType::Approval => approval::create(&parse_op(new_json)?, actor, ctx),
        other => Err(RecordError::not_allowed(
            "record.not_allowed.not_created_this_way",
            format!("{other} records are not created this way"),
        )
        .with_param("record_type", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    const VIEWER: Viewer<'static> = Viewer {
        user: "merch",
        office: true,
    };

    fn ctx(at: i64) -> EditContext {
        EditContext::new("merch", at)
    }

    /// Order SO-1 (delivery 2026-11-27), made by `merch`.
    fn order_so1() -> Record {
        create_json(
            RecordType::Order,
            r#"{"order_no": "SO-1", "delivery_ms": 1795744800000}"#,
            actor_from_bytes(&[1; 16]),
            &ctx(1),
        )
        .unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn new_order_operations_go_through_json() {
        let mut o = order_so1();
        for (i, op) in [
            r#"{"op": "plan_backwards"}"#,
            r#"{"op": "add_handover_item", "id": "f1", "kind": "file", "contract_no": "SO-1"}"#,
            r#"{"op": "accept_handover", "id": "d1"}"#,
            r#"{"op": "add_packaging", "id": "m1", "item": {"kind": "shipping_mark"}}"#,
            r#"{"op": "send_packaging", "id": "m1", "sent_ms": 5}"#,
            r#"{"op": "set_week_planned", "week_ms": 1795744800000, "qty": 100}"#,
            r#"{"op": "add_sample", "id": "pp", "round": "pp", "sent_ms": 6}"#,
            r#"{"op": "decide_sample", "sample": "pp", "approved": true, "signed_by": "J"}"#,
        ]
        .iter()
        .enumerate()
        {
            apply_json(&mut o, op, &ctx(10 + i as i64)).unwrap_or_else(|e| panic!("{op}: {e}"));
        }
        let v = view_json_at(&o, VIEWER, 1_795_744_800_000).unwrap();
        let d = &v["derived"];
        assert_eq!(d["handover"]["state"], "accepted");
        assert_eq!(d["reference_sample"]["id"], "pp");
        assert_eq!(d["packaging"]["m1"], "sent");
        assert_eq!(d["weeks"][0]["planned"], 100);
        assert!(d["risk"]["level"].is_string());
        assert!(
            view_json(&o, VIEWER).unwrap()["derived"]
                .get("risk")
                .is_none(),
            "no date, no risk"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn each_activity_entry_keeps_a_code_its_values_and_the_english() {
        let mut o = order_so1();
        let ops = [
            r#"{"op": "plan_backwards"}"#,
            r#"{"op": "replan_milestone", "id": "ex_factory", "planned_ms": 1795000000000}"#,
            r#"{"op": "add_sample", "id": "pp", "round": "pp", "sent_ms": 6}"#,
            r#"{"op": "decide_sample", "sample": "pp", "approved": false, "signed_by": ""}"#,
            r#"{"op": "set_week_actual", "week_ms": 1795744800000, "qty": 40}"#,
            r#"{"op": "add_note", "id": "n1", "text": "call the mill"}"#,
        ];
        for (i, op) in ops.iter().enumerate() {
            apply_json(&mut o, op, &ctx(10 + i as i64)).unwrap_or_else(|e| panic!("{op}: {e}"));
        }
        let order: order::Order = o.read().unwrap();
        let mut entries: Vec<&order::LogEntry> = order.activity.values().collect();
        entries.sort_by_key(|e| e.at_ms.0);
        let got: Vec<(&str, Vec<(&str, &str)>)> = entries
            .iter()
            .map(|e| {
                assert!(order::ACTIVITY_CODES.contains(&e.code.as_str()), "{e:?}");
                let params = e
                    .params
                    .iter()
                    .filter(|(k, _)| *k != "id")
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                (e.code.as_str(), params)
            })
            .collect();
        assert_eq!(got[0].0, "milestones_planned");
        assert!(got[0].1[0].1.parse::<u32>().unwrap() > 0, "{:?}", got[0]);
        assert_eq!(
            got[1..],
            [
                (
                    "milestone_replanned",
                    vec![
                        ("code", "ex_factory"),
                        ("name", "出货 ex-factory / ship"),
                        ("planned_ms", "1795000000000")
                    ]
                ),
                ("sample_sent", vec![("round", "pp"), ("sample", "pp")]),
                ("sample_rejected", vec![("round", "pp"), ("sample", "pp")]),
                ("week_finished", vec![("qty", "40"), ("week", "2026-11-23")]),
                ("note_added", vec![]),
            ]
        );
        // The English beside the code, for API users and apps that do not know it.
        assert_eq!(entries[3].text, "sample pp rejected");
        assert_eq!(entries[4].text, "week of 2026-11-23: 40 pieces finished");
        // An entry written before codes were kept reads with an empty code; its text says it.
        let mut old = o.clone();
        old.edit(&ctx(20), "order", |doc| {
            use automerge::transaction::Transactable;
            let log = crate::record::get_map(doc, &automerge::ROOT, "activity").unwrap();
            let entry = doc.put_object(&log, "old", automerge::ObjType::Map)?;
            doc.put(&entry, "by", "merch")?;
            doc.put(&entry, "at_ms", 20_i64)?;
            doc.put(&entry, "text", "line l1 added")?;
            Ok(())
        })
        .unwrap();
        let order: order::Order = old.read().unwrap();
        let entry = &order.activity["old"];
        assert_eq!(
            (entry.code.as_str(), entry.text.as_str()),
            ("", "line l1 added")
        );
        assert!(entry.params.is_empty());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn every_activity_code_has_its_own_english() {
        let mut seen = std::collections::BTreeSet::new();
        for code in order::ACTIVITY_CODES {
            let text = order::Activity {
                code,
                params: Default::default(),
            }
            .text();
            assert_ne!(text, *code, "{code} has English");
            assert!(
                seen.insert(text.clone()),
                "{code}: {text} is another code's"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn two_edits_in_one_millisecond_keep_two_log_entries() {
        let mut o = order_so1();
        // Each edit sets another delivery date, so each log entry says which edit it was.
        let note = |n: &str| {
            let ms = n[1..].parse::<i64>().unwrap() + 1_795_744_800_000;
            format!(r#"{{"op": "set_delivery", "delivery_ms": {ms}}}"#)
        };
        // One user, one device, one millisecond, two edits.
        apply_json(&mut o, &note("n1"), &ctx(5)).unwrap();
        apply_json(&mut o, &note("n2"), &ctx(5)).unwrap();
        // The same user on a second device, offline, in the same millisecond.
        let mut other = Record::load(&o.save(), actor_from_bytes(&[2; 16])).unwrap();
        apply_json(&mut other, &note("n3"), &ctx(5)).unwrap();
        apply_json(&mut o, &note("n4"), &ctx(5)).unwrap();
        o.merge(&mut other).unwrap();
        let order: order::Order = o.read().unwrap();
        let at_5: Vec<&order::LogEntry> =
            order.activity.values().filter(|e| e.at_ms.0 == 5).collect();
        assert_eq!(at_5.len(), 4, "{:?}", order.activity);
        for n in 1..=4 {
            let ms = (1_795_744_800_000_i64 + n).to_string();
            assert!(
                at_5.iter().any(|e| e.text.ends_with(&ms)),
                "the entry of edit {n} is kept"
            );
        }
        // A username of the longest length still makes a valid id.
        let long = "u".repeat(64);
        apply_json(&mut o, &note("n5"), &EditContext::new(&long, 6)).unwrap();
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_payment_gate_goes_through_json_and_release_needs_it() {
        let mut c = create_json(
            RecordType::OrderCommercial,
            r#"{"order_id": "doc-1", "order_no": "SO-1", "payment_term": "lc"}"#,
            actor_from_bytes(&[2; 16]),
            &ctx(1),
        )
        .unwrap();
        let gate = |c: &Record| view_json(c, VIEWER).unwrap()["derived"]["payment_gate"].clone();
        assert_eq!(gate(&c)["state"], "blocked");
        assert_eq!(gate(&c)["reason"], "lc_not_received");
        apply_json(
            &mut c,
            r#"{"op": "record_lc_received", "lc_no": "LC-1", "received_ms": 3}"#,
            &ctx(3),
        )
        .unwrap();
        apply_json(&mut c, r#"{"op": "check_lc", "matches": true}"#, &ctx(4)).unwrap();
        assert_eq!(gate(&c)["state"], "open");

        let mut po = create_json(
            RecordType::PurchaseOrder,
            r#"{"po_no": "PO-1", "order_no": "SO-1", "factory": "F1",
                "process_sheet": {"construction": "c", "workmanship": "w", "carton_packing": "p"},
                "accessories": {"a1": {"item": "main label", "position": "centre back neck",
                  "pictures": {"0000000000000000000000000000000000000000000000000000000000000000": {"sha256": "0000000000000000000000000000000000000000000000000000000000000000"}}}}}"#,
            actor_from_bytes(&[3; 16]),
            &ctx(1),
        )
        .unwrap();
        for (i, op) in [
            r#"{"op": "sign", "role": "sales", "name": "S"}"#,
            r#"{"op": "sign", "role": "general_manager", "name": "G"}"#,
        ]
        .iter()
        .enumerate()
        {
            apply_json(&mut po, op, &ctx(5 + i as i64)).unwrap();
        }
        let release = r#"{"op": "release", "released_ms": 9}"#;
        let err = apply_json(&mut po, release, &ctx(9))
            .unwrap_err()
            .to_string();
        assert!(err.contains("payment gate"), "{err}");
        let closed = payment_gate::Gate::Blocked {
            term: order::PaymentTerm::LetterOfCredit,
            reason: payment_gate::BlockReason::LcNotChecked,
            message: "L/C not checked".into(),
            special_approval: None,
        };
        let err = apply_json_with_gate(&mut po, release, Some(&closed), &ctx(9))
            .unwrap_err()
            .to_string();
        assert!(err.contains("L/C not checked"), "{err}");
        let open = payment_gate::gate(&c.read().unwrap(), None);
        apply_json_with_gate(&mut po, release, Some(&open), &ctx(9)).unwrap();
        let v = view_json(&po, VIEWER).unwrap();
        assert_eq!(v["derived"]["status"], "released");
    }
}
