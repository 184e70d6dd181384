//! Approval request (审批): a chain of steps, each decided by someone holding the step's
//! role. The kinds are the chains of the seed documents (credit, shipping release, invoice,
//! returns, diversion, document requests, damaged outer packaging) and special approvals.
//!
//! Concurrent decisions made offline merge to one outcome by a written rule: every decision
//! is kept under its own key (`<step>:<username>`), and a step's outcome is derived — any
//! rejection rejects the step (a "no" is never silently overwritten by a concurrent
//! "yes"); otherwise one approval by a holder of the step's role approves it.

use std::collections::BTreeMap;

use automerge::ROOT;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    EditContext, Int, Problem, SHORT_TEXT_BYTES_MAX, TEXT_BYTES_MAX, Username, check_required,
    check_text, string_enum,
};
use crate::record::{Record, RecordError, RecordType, ensure_map, problems_to_result, put_value};

/// The top-level collections of an approval request.
pub const COLLECTIONS: &[&str] = &["steps", "decisions"];

/// The most steps a chain may have.
pub const STEPS_MAX: usize = 20;

string_enum! {
    /// The kind of approval request.
    pub enum ApprovalKind (Special) {
        /// 授信: customer credit.
        CustomerCredit = "customer_credit",
        /// 发货: shipping release.
        ShippingRelease = "shipping_release",
        /// 开票: invoice request.
        Invoice = "invoice",
        /// 退换货: returns / exchanges.
        Return = "return",
        /// 冲串货: cross-region diversion.
        Diversion = "diversion",
        /// 资料申请: document request.
        DocumentRequest = "document_request",
        /// 破损外包装调换: damaged outer packaging exchange.
        DamagedPackaging = "damaged_packaging",
        /// A special approval, e.g. releasing a PO before the deposit arrives.
        Special = "special",
    }
}

/// One step of the chain.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Step {
    /// Its position in the chain (1-based).
    #[autosurgeon(missing = "Default::default")]
    pub order: Int,
    /// The role that decides it, e.g. `general_manager`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub role: String,
    /// Working days allowed for the decision.
    #[autosurgeon(missing = "Default::default")]
    pub deadline_days: Int,
}

/// One person's decision on one step.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Decision {
    /// The step id.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub step: String,
    /// Approved or not.
    #[autosurgeon(missing = "Default::default")]
    pub approved: bool,
    /// Who.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// A comment (required to reject).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub comment: String,
}

/// An approval request, as stored.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Always `approval`.
    #[autosurgeon(missing = "Default::default", rename = "type")]
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Schema version.
    #[autosurgeon(missing = "Default::default")]
    pub schema: Int,
    /// Who asked.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub created_by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub created_at_ms: Int,
    /// Users assigned.
    #[autosurgeon(missing = "Default::default")]
    pub assignees: BTreeMap<String, bool>,
    /// Factory.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// Warehouse.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
    /// The kind.
    #[autosurgeon(missing = "Default::default")]
    pub kind: ApprovalKind,
    /// What is asked, in words.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub subject: String,
    /// The record it concerns (document id), if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub record_id: String,
    /// Order number, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// The chain, keyed by step id.
    #[autosurgeon(missing = "Default::default")]
    pub steps: BTreeMap<String, Step>,
    /// Decisions keyed `<step>:<username>`.
    #[autosurgeon(missing = "Default::default")]
    pub decisions: BTreeMap<String, Decision>,
}

/// A new approval request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewApproval {
    /// Kind.
    pub kind: ApprovalKind,
    /// Subject.
    pub subject: String,
    /// Concerned record.
    pub record_id: String,
    /// Order number.
    pub order_no: String,
    /// Roles of the chain, in order, with deadlines in working days.
    pub steps: Vec<(String, i64)>,
}

/// Creates an approval request.
pub fn create(
    new: &NewApproval,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_required(&mut problems, "subject", &new.subject);
    check_text(&mut problems, "subject", &new.subject, TEXT_BYTES_MAX);
    if new.steps.is_empty() || new.steps.len() > STEPS_MAX {
        problems.push(Problem::new(
            "steps",
            format!("must have 1 to {STEPS_MAX} steps"),
        ));
    }
    for (i, (role, days)) in new.steps.iter().enumerate() {
        check_required(&mut problems, &format!("steps.{i}.role"), role);
        check_text(
            &mut problems,
            &format!("steps.{i}.role"),
            role,
            SHORT_TEXT_BYTES_MAX,
        );
        if *days < 0 {
            problems.push(Problem::new(
                format!("steps.{i}.deadline_days"),
                "must not be negative",
            ));
        }
    }
    problems_to_result(problems)?;
    let initial = ApprovalRequest {
        record_type: RecordType::Approval,
        kind: new.kind,
        subject: new.subject.clone(),
        record_id: new.record_id.clone(),
        order_no: new.order_no.clone(),
        steps: new
            .steps
            .iter()
            .enumerate()
            .map(|(i, (role, days))| {
                (
                    format!("s{}", i + 1),
                    Step {
                        order: Int(i as i64 + 1),
                        role: role.clone(),
                        deadline_days: Int(*days),
                    },
                )
            })
            .collect(),
        ..ApprovalRequest::default()
    };
    Record::create(RecordType::Approval, actor, ctx, &initial)
}

/// Records `ctx.user`'s decision on the current step. `roles` are the user's roles (the
/// caller knows them from the session; the server checks them again).
pub fn decide(
    record: &mut Record,
    step: &str,
    approved: bool,
    comment: &str,
    roles: &[&str],
    ctx: &EditContext,
) -> Result<(), RecordError> {
    record.expect_type(RecordType::Approval)?;
    let req: ApprovalRequest = record.read()?;
    let derived = derive(&req);
    let mut problems = Vec::new();
    match req.steps.get(step) {
        None => problems.push(Problem::new(
            "step",
            format!("{step:?} is not a step of this chain"),
        )),
        Some(s) => {
            if derived.current_step.as_deref() != Some(step) {
                problems.push(Problem::new(
                    "step",
                    "is not the step waiting for a decision",
                ));
            }
            if !roles.contains(&s.role.as_str()) {
                problems.push(Problem::new("step", format!("needs the role {}", s.role)));
            }
        }
    }
    if !approved {
        check_required(&mut problems, "comment", comment);
    }
    check_text(&mut problems, "comment", comment, TEXT_BYTES_MAX);
    problems_to_result(problems)?;
    record.edit(ctx, if approved { "approve" } else { "reject" }, |doc| {
        let decisions = ensure_map(doc, &ROOT, "decisions")?;
        let d = Decision {
            step: step.into(),
            approved,
            by: ctx.user.clone(),
            at_ms: Int(ctx.now_ms),
            comment: comment.into(),
        };
        put_value(doc, &decisions, &format!("{step}:{}", ctx.user), &d)
    })
}

string_enum! {
    /// Where a request stands.
    pub enum ApprovalStatus (Pending) {
        /// Waiting for a decision.
        Pending = "pending",
        /// Every step approved.
        Approved = "approved",
        /// A step rejected.
        Rejected = "rejected",
    }
}

/// What the rules derive from a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDerived {
    /// The outcome so far.
    pub status: ApprovalStatus,
    /// The step waiting for a decision.
    pub current_step: Option<String>,
    /// The role that must decide it.
    pub waiting_for_role: Option<String>,
}

/// Derives the status by the merge rule in the module docs.
pub fn derive(req: &ApprovalRequest) -> ApprovalDerived {
    let mut steps: Vec<(&String, &Step)> = req.steps.iter().collect();
    steps.sort_by_key(|(id, s)| (s.order.0, (*id).clone()));
    for (id, step) in steps {
        let decisions: Vec<&Decision> = req.decisions.values().filter(|d| &d.step == id).collect();
        if decisions.iter().any(|d| !d.approved) {
            return ApprovalDerived {
                status: ApprovalStatus::Rejected,
                current_step: None,
                waiting_for_role: None,
            };
        }
        if decisions.is_empty() {
            return ApprovalDerived {
                status: ApprovalStatus::Pending,
                current_step: Some(id.clone()),
                waiting_for_role: Some(step.role.clone()),
            };
        }
    }
    ApprovalDerived {
        status: ApprovalStatus::Approved,
        current_step: None,
        waiting_for_role: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn request() -> Record {
        let new = NewApproval {
            kind: ApprovalKind::CustomerCredit,
            subject: "Credit line for ACME".into(),
            steps: vec![("sales_manager".into(), 3), ("general_manager".into(), 3)],
            ..NewApproval::default()
        };
        create(
            &new,
            actor_from_bytes(&[8; 16]),
            &EditContext::new("sales1", 1),
        )
        .unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn steps_in_order_by_role() {
        let mut r = request();
        let c = |u: &str| EditContext::new(u, 2);
        assert!(
            decide(&mut r, "s2", true, "", &["general_manager"], &c("gm")).is_err(),
            "not its turn"
        );
        assert!(
            decide(&mut r, "s1", true, "", &["sales"], &c("x")).is_err(),
            "wrong role"
        );
        decide(&mut r, "s1", true, "", &["sales_manager"], &c("sm")).unwrap();
        let d = derive(&r.read().unwrap());
        assert_eq!(
            (d.status, d.current_step.as_deref()),
            (ApprovalStatus::Pending, Some("s2"))
        );
        assert!(
            decide(&mut r, "s2", false, "", &["general_manager"], &c("gm")).is_err(),
            "a rejection needs a comment"
        );
        decide(&mut r, "s2", true, "ok", &["general_manager"], &c("gm")).unwrap();
        assert_eq!(derive(&r.read().unwrap()).status, ApprovalStatus::Approved);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn concurrent_yes_and_no_merge_to_no() {
        let mut a = request();
        let mut b = Record::load(&a.save(), actor_from_bytes(&[9; 16])).unwrap();
        decide(
            &mut a,
            "s1",
            true,
            "",
            &["sales_manager"],
            &EditContext::new("sm1", 2),
        )
        .unwrap();
        decide(
            &mut b,
            "s1",
            false,
            "customer overdue",
            &["sales_manager"],
            &EditContext::new("sm2", 2),
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (da, db) = (derive(&a.read().unwrap()), derive(&b.read().unwrap()));
        assert_eq!(da, db);
        assert_eq!(da.status, ApprovalStatus::Rejected);
    }
}
