//! Contract review and handover (合同评审及移交), the first step of the order flow.
//!
//! From the seed ("跟单工作流程" 1.1–1.3):
//! - the product control manager checks the price and signs (产品控制中心经理确认价格OK并签字);
//! - the order tracking sheet and the cost sheet are filled and signed; the cost sheet by the
//!   heads of the departments concerned and the general manager — only then is the contract
//!   review over (成本核算表需由各相关部门负责人及公司总经理签字确认OK后，合同评审方可结束);
//! - sales hands everything over to the merchandiser: files, samples, accessories and
//!   pictures, all marked with the contract no.; samples mounted with the details to watch;
//!   otherwise the merchandiser may refuse the order until it is complete (否则跟单员有权拒收).
//!
//! Everything here is derived from the stored sign-offs, items and decisions; nothing derived
//! is stored. The operations that record them are [`crate::order::CommercialOp::SignReview`],
//! [`crate::order::OrderOp::AddHandoverItem`], `AcceptHandover` and `RefuseHandover`.

use serde::{Deserialize, Serialize};

use crate::common::{Problem, Username};
use crate::order::{GENERAL_MANAGER, HandoverKind, Order, OrderCommercial};

/// Where the contract review stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractReview {
    /// Every required sign-off is there: the review is over.
    pub complete: bool,
    /// The sign-offs still missing, as review keys (`price_check`, `tracking_sheet`,
    /// `cost_sheet:<department>`), in the order they are expected.
    pub missing: Vec<String>,
}

/// The contract review's state, derived from the commercial side's sign-offs.
pub fn contract_review(c: &OrderCommercial) -> ContractReview {
    let mut missing = Vec::new();
    for key in ["price_check", "tracking_sheet"] {
        if !c.review.contains_key(key) {
            missing.push(key.to_string());
        }
    }
    let departments = c
        .cost_sheet_signers
        .iter()
        .filter(|(_, required)| **required)
        .map(|(d, _)| d.as_str())
        .filter(|d| *d != GENERAL_MANAGER)
        .chain(std::iter::once(GENERAL_MANAGER));
    for d in departments {
        let key = format!("cost_sheet:{d}");
        if !c.review.contains_key(&key) {
            missing.push(key);
        }
    }
    ContractReview {
        complete: missing.is_empty(),
        missing,
    }
}

/// The job title of the product control manager, who checks the price
/// (产品控制中心经理).
pub const PRODUCT_CONTROL_MANAGER: &str = "product_control_manager";
/// Who fills and signs the order tracking sheet (部门相关跟单人员): a merchandiser, by job
/// title or by access role ([`crate::access::Principal::decision_roles`] holds both).
pub const MERCHANDISER: &str = "merchandiser";
/// The suffix of a department head's job title: the head of department `finance` holds
/// `finance_manager` (as the sales department's head holds `sales_manager`).
pub const DEPARTMENT_HEAD_SUFFIX: &str = "_manager";

/// The job title of the head of `department`, who signs its line of the cost sheet
/// (各相关部门负责人): `<department>_manager`; the general manager signs as
/// [`GENERAL_MANAGER`].
pub fn department_head_title(department: &str) -> String {
    if department == GENERAL_MANAGER {
        GENERAL_MANAGER.to_string()
    } else {
        format!("{department}{DEPARTMENT_HEAD_SUFFIX}")
    }
}

/// The longest department name of the cost sheet: its head's title
/// (`<department>_manager`) must still fit a job title (64 bytes).
pub const DEPARTMENT_BYTES_MAX: usize = 56;

/// Checks a cost-sheet department: 1 to [`DEPARTMENT_BYTES_MAX`] bytes of `a-z 0-9 _`,
/// spelled like a job title, so its head's title can be held by someone.
pub fn check_department(problems: &mut Vec<Problem>, field: &str, department: &str) {
    let ok = !department.is_empty()
        && department.len() <= DEPARTMENT_BYTES_MAX
        && department
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        problems.push(
            Problem::new(
                field,
                format!(
                    "must be 1 to {DEPARTMENT_BYTES_MAX} characters of a-z, 0-9, '_' (e.g. finance): its head signs with the job title <department>{DEPARTMENT_HEAD_SUFFIX}"
                ),
            )
            .with_code("bad_department")
            .with_param("max", DEPARTMENT_BYTES_MAX),
        );
    }
}

/// The job titles (or access role names) that may fill the contract review's sign-off
/// `key` (a key of [`OrderCommercial::review`](crate::order::OrderCommercial::review)):
/// the price check by the product control manager, the tracking sheet by a merchandiser,
/// each `cost_sheet:<department>` by that department's head
/// ([`department_head_title`]) and `cost_sheet:general_manager` by the general manager.
/// An unknown key is nobody's: the list is empty.
pub fn review_signer_titles(key: &str) -> Vec<String> {
    match key {
        "price_check" => vec![PRODUCT_CONTROL_MANAGER.to_string()],
        "tracking_sheet" => vec![MERCHANDISER.to_string()],
        _ => match key.strip_prefix("cost_sheet:") {
            Some(d) if !d.is_empty() => vec![department_head_title(d)],
            _ => Vec::new(),
        },
    }
}

/// What is wrong with the handover checklist as it stands: every problem, each naming the
/// item. An empty list means the merchandiser may accept it.
pub fn handover_problems(order: &Order) -> Vec<Problem> {
    let mut problems = Vec::new();
    if order.handover_items.is_empty() {
        problems.push(Problem::new(
            "handover_items",
            "nothing has been handed over",
        ));
    }
    if !order
        .handover_items
        .values()
        .any(|i| i.kind == HandoverKind::File)
    {
        problems.push(Problem::new(
            "handover_items",
            "no file (the contract and the customer's documents) was handed over",
        ));
    }
    for (id, item) in &order.handover_items {
        let field = format!("handover_items.{id}");
        if item.contract_no.trim().is_empty() {
            problems.push(Problem::new(
                format!("{field}.contract_no"),
                "is not marked with the contract no.",
            ));
        } else if item.contract_no.trim() != order.order_no.trim() {
            problems.push(Problem::new(
                format!("{field}.contract_no"),
                format!(
                    "is marked {:?}, not this order's contract no. {:?}",
                    item.contract_no, order.order_no
                ),
            ));
        }
        match item.kind {
            HandoverKind::Sample | HandoverKind::Comment if item.description.trim().is_empty() => {
                problems.push(Problem::new(
                    format!("{field}.description"),
                    "must say the details to watch",
                ));
            }
            HandoverKind::Picture if item.photo_sha256.is_empty() => {
                problems.push(Problem::new(
                    format!("{field}.photo_sha256"),
                    "a picture must be saved in the system",
                ));
            }
            _ => {}
        }
    }
    problems
}

/// Where the handover stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HandoverState {
    /// Nothing decided yet; `problems` is what would stop an acceptance now.
    Open {
        /// The checklist's problems.
        problems: Vec<Problem>,
    },
    /// The merchandiser refused it; sales must complete it.
    Refused {
        /// What the merchandiser said is missing.
        missing: String,
        /// Who refused.
        by: Username,
    },
    /// The merchandiser accepted it.
    Accepted {
        /// Who accepted.
        by: Username,
    },
}

/// The handover's state: the latest decision counts (by time, then by id, so replicas that
/// merged concurrent decisions agree). A refusal followed by new items is open again.
pub fn handover(order: &Order) -> HandoverState {
    let latest = order
        .handover_decisions
        .iter()
        .max_by(|a, b| (a.1.at_ms.0, a.0).cmp(&(b.1.at_ms.0, b.0)));
    let last_item_ms = order
        .handover_items
        .values()
        .map(|i| i.at_ms.0)
        .max()
        .unwrap_or(0);
    match latest {
        Some((_, d)) if d.accepted => HandoverState::Accepted { by: d.by.clone() },
        Some((_, d)) if d.at_ms.0 >= last_item_ms => HandoverState::Refused {
            missing: d.missing.clone(),
            by: d.by.clone(),
        },
        _ => HandoverState::Open {
            problems: handover_problems(order),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::order::{
        self, CommercialOp, NewOrder, OrderOp, PaymentTerm, ReviewStep, apply_commercial,
    };
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn commercial() -> Record {
        order::create_commercial(
            "doc-1",
            "SO-1",
            PaymentTerm::DocumentsAgainstPayment,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("sales", 1),
        )
        .unwrap()
    }

    fn sign(r: &mut Record, step: ReviewStep, dept: &str, who: &str) -> Result<(), String> {
        apply_commercial(
            r,
            &CommercialOp::SignReview {
                step,
                department: dept.into(),
                name: who.into(),
            },
            &EditContext::new(who, 5),
        )
        .map_err(|e| e.to_string())
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn contract_review_ends_when_price_sheets_heads_and_gm_have_signed() {
        let mut r = commercial();
        apply_commercial(
            &mut r,
            &CommercialOp::RequireCostSheetSigner {
                department: "finance".into(),
            },
            &EditContext::new("sales", 2),
        )
        .unwrap();
        let state = |r: &Record| contract_review(&r.read().unwrap());
        assert_eq!(
            state(&r).missing,
            vec![
                "price_check",
                "tracking_sheet",
                "cost_sheet:finance",
                "cost_sheet:general_manager"
            ]
        );
        let err = sign(&mut r, ReviewStep::TrackingSheet, "", "merch").unwrap_err();
        assert!(err.contains("checks the price first"), "{err}");
        sign(&mut r, ReviewStep::PriceCheck, "", "pcm").unwrap();
        sign(&mut r, ReviewStep::TrackingSheet, "", "merch").unwrap();
        sign(&mut r, ReviewStep::CostSheet, "finance", "cfo").unwrap();
        assert!(!state(&r).complete, "the general manager has not signed");
        assert_eq!(state(&r).missing, vec!["cost_sheet:general_manager"]);
        assert!(
            sign(&mut r, ReviewStep::CostSheet, "", "gm").is_err(),
            "department needed"
        );
        sign(&mut r, ReviewStep::CostSheet, GENERAL_MANAGER, "gm").unwrap();
        assert!(state(&r).complete);
    }

    fn order_record() -> Record {
        order::create(
            &NewOrder {
                order_no: "SO-1".into(),
                ..NewOrder::default()
            },
            actor_from_bytes(&[2; 16]),
            &EditContext::new("sales", 1),
        )
        .unwrap()
    }

    fn op(r: &mut Record, op: OrderOp, who: &str, at: i64) -> Result<(), String> {
        order::apply(r, &op, &format!("log{at}"), &EditContext::new(who, at))
            .map_err(|e| e.to_string())
    }

    fn item(id: &str, kind: HandoverKind, contract_no: &str, description: &str) -> OrderOp {
        OrderOp::AddHandoverItem {
            id: id.into(),
            kind,
            description: description.into(),
            contract_no: contract_no.into(),
            photo_sha256: String::new(),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_incomplete_handover_is_refused_with_what_is_missing() {
        let mut r = order_record();
        let err = op(
            &mut r,
            OrderOp::AcceptHandover { id: "d1".into() },
            "merch",
            2,
        )
        .unwrap_err();
        assert!(err.contains("nothing has been handed over"), "{err}");
        op(
            &mut r,
            item("f1", HandoverKind::File, "SO-1", "contract"),
            "sales",
            3,
        )
        .unwrap();
        op(&mut r, item("s1", HandoverKind::Sample, "", ""), "sales", 4).unwrap();
        op(
            &mut r,
            item("p1", HandoverKind::Picture, "SO-2", "front"),
            "sales",
            5,
        )
        .unwrap();
        let o: Order = r.read().unwrap();
        let fields: Vec<String> = handover_problems(&o).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            vec![
                "handover_items.p1.contract_no",
                "handover_items.p1.photo_sha256",
                "handover_items.s1.contract_no",
                "handover_items.s1.description",
            ]
        );
        assert!(
            op(
                &mut r,
                OrderOp::AcceptHandover { id: "d1".into() },
                "merch",
                6
            )
            .is_err()
        );
        assert!(
            op(
                &mut r,
                OrderOp::RefuseHandover {
                    id: "d1".into(),
                    missing: " ".into()
                },
                "merch",
                6
            )
            .is_err(),
            "a refusal says what is missing"
        );
        op(
            &mut r,
            OrderOp::RefuseHandover {
                id: "d1".into(),
                missing: "swatch not marked; picture of the wrong order".into(),
            },
            "merch",
            6,
        )
        .unwrap();
        assert_eq!(
            handover(&r.read().unwrap()),
            HandoverState::Refused {
                missing: "swatch not marked; picture of the wrong order".into(),
                by: "merch".into()
            }
        );
        // Sales takes back the bad items and hands over corrected ones: open again.
        for (at, id) in [(7, "s1"), (8, "p1")] {
            op(
                &mut r,
                OrderOp::RemoveHandoverItem { id: id.into() },
                "sales",
                at,
            )
            .unwrap();
        }
        op(
            &mut r,
            item(
                "s2",
                HandoverKind::Sample,
                "SO-1",
                "navy swatch: match under D65",
            ),
            "sales",
            9,
        )
        .unwrap();
        assert_eq!(
            handover(&r.read().unwrap()),
            HandoverState::Open { problems: vec![] }
        );
        op(
            &mut r,
            OrderOp::AcceptHandover { id: "d2".into() },
            "merch",
            10,
        )
        .unwrap();
        assert_eq!(
            handover(&r.read().unwrap()),
            HandoverState::Accepted { by: "merch".into() }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn concurrent_handover_answers_merge_to_the_latest() {
        let mut a = order_record();
        op(
            &mut a,
            item("f1", HandoverKind::File, "SO-1", "contract"),
            "sales",
            2,
        )
        .unwrap();
        let mut b = Record::load(&a.save(), actor_from_bytes(&[9; 16])).unwrap();
        op(
            &mut a,
            OrderOp::AcceptHandover { id: "a".into() },
            "merch1",
            5,
        )
        .unwrap();
        op(
            &mut b,
            OrderOp::RefuseHandover {
                id: "b".into(),
                missing: "colour swatches".into(),
            },
            "merch2",
            6,
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (sa, sb) = (handover(&a.read().unwrap()), handover(&b.read().unwrap()));
        assert_eq!(sa, sb);
        assert!(matches!(sa, HandoverState::Refused { ref by, .. } if by == "merch2"));
        let o: Order = a.read().unwrap();
        assert_eq!(o.handover_decisions.len(), 2, "both answers are kept");
    }
}
