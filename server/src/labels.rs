//! Every code the office pages show a label for, by kind, taken from the core's own lists
//! (the `ALL` of its enums, the shipped chains, the T&A template) and the REST error codes.
//!
//! `web/src/i18n/codes.json` is this list as the web app reads it: a server test
//! (`tests/office.rs`, `the_web_code_list_is_the_cores`) fails when the two differ, and
//! rewrites the file when run with `GENDAN_WRITE_CODES=1`; a web test checks that every code
//! in it has a label in both catalogues. So a code the core gains cannot go unlabelled.

use std::collections::BTreeSet;

use gendan_core::approval::{ApprovalKind, ApprovalStatus, SpecialPurpose, StepAction};
use gendan_core::chains;
use gendan_core::order::{HandoverKind, LateCode, PackagingKind, PaymentTerm, SampleRound};
use gendan_core::order_commercial::ReviewStep;
use gendan_core::packaging::PackagingStatus;
use gendan_core::payment_gate::{BlockReason, Gate};
use gendan_core::plan::{self, Alarm, RiskLevel};
use gendan_core::purchase_order::{self, PoStatus};
use serde::Serialize;
use serde_json::{Value, json};

/// The serde name of a unit variant (or of a tagged variant's tag).
fn name_of(value: impl Serialize, tag: Option<&str>) -> String {
    let v = serde_json::to_value(value).unwrap_or(Value::Null);
    match (tag, &v) {
        (Some(tag), Value::Object(map)) => map
            .get(tag)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => v.as_str().unwrap_or_default().to_string(),
    }
}

fn strs<T: Copy>(all: &[T], f: impl Fn(T) -> &'static str) -> Vec<String> {
    all.iter()
        .map(|v| f(*v).to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The variants of enums without an `ALL` list. Each `match` below has no wildcard, so a
/// new variant fails to compile here until it is listed.
fn packaging_statuses() -> Vec<String> {
    let all = [
        PackagingStatus::Draft,
        PackagingStatus::Sent,
        PackagingStatus::ChangesRequested,
        PackagingStatus::Confirmed,
    ];
    for s in all {
        match s {
            PackagingStatus::Draft
            | PackagingStatus::Sent
            | PackagingStatus::ChangesRequested
            | PackagingStatus::Confirmed => {}
        }
    }
    all.iter().map(|s| name_of(s, None)).collect()
}

fn block_reasons() -> Vec<String> {
    let all = [
        BlockReason::LcNotReceived,
        BlockReason::LcNotChecked,
        BlockReason::LcDiscrepant,
        BlockReason::DepositNotConfirmed,
    ];
    for r in all {
        match r {
            BlockReason::LcNotReceived
            | BlockReason::LcNotChecked
            | BlockReason::LcDiscrepant
            | BlockReason::DepositNotConfirmed => {}
        }
    }
    all.iter().map(|r| name_of(r, None)).collect()
}

fn gate_states() -> Vec<String> {
    let term = PaymentTerm::Deposit;
    let all = [
        Gate::Open { term },
        Gate::Blocked {
            term,
            reason: BlockReason::DepositNotConfirmed,
            message: String::new(),
            special_approval: None,
        },
        Gate::OpenBySpecialApproval {
            term,
            blocked_by: BlockReason::DepositNotConfirmed,
            reason: String::new(),
            approved_by: Vec::new(),
        },
    ];
    for g in &all {
        match g {
            Gate::Open { .. } | Gate::Blocked { .. } | Gate::OpenBySpecialApproval { .. } => {}
        }
    }
    all.iter().map(|g| name_of(g, Some("state"))).collect()
}

fn risk_levels() -> Vec<String> {
    let all = [
        RiskLevel::Shipped,
        RiskLevel::OnTrack,
        RiskLevel::Watch,
        RiskLevel::AtRisk,
        RiskLevel::Late,
    ];
    for l in all {
        match l {
            RiskLevel::Shipped
            | RiskLevel::OnTrack
            | RiskLevel::Watch
            | RiskLevel::AtRisk
            | RiskLevel::Late => {}
        }
    }
    all.iter().map(|l| name_of(l, None)).collect()
}

fn alarms() -> Vec<String> {
    let all = [
        Alarm::MilestoneOverdue {
            id: String::new(),
            name: String::new(),
            days: 0,
        },
        Alarm::ProductionBehind {
            planned: 0,
            actual: 0,
        },
        Alarm::ProjectedLate { days: 0 },
        Alarm::PastDelivery { days: 0 },
        Alarm::ShippingMarksMissing {
            days_to_delivery: 0,
        },
    ];
    for a in &all {
        match a {
            Alarm::MilestoneOverdue { .. }
            | Alarm::ProductionBehind { .. }
            | Alarm::ProjectedLate { .. }
            | Alarm::PastDelivery { .. }
            | Alarm::ShippingMarksMissing { .. } => {}
        }
    }
    all.iter().map(|a| name_of(a, Some("alarm"))).collect()
}

/// Every role a shipped approval chain names (steps, escalation, requester).
fn approval_roles() -> Vec<String> {
    let mut roles = BTreeSet::new();
    for c in chains::CHAINS {
        roles.insert(c.requester.to_string());
        for s in c.steps {
            roles.insert(s.role.to_string());
            if !s.escalate_to.is_empty() {
                roles.insert(s.escalate_to.to_string());
            }
        }
    }
    roles.into_iter().collect()
}

/// The whole list, by kind: `{"kind": ["code", …]}`.
pub fn catalogue() -> Value {
    json!({
        "rest_errors": crate::serve::codes::ALL,
        "sample_rounds": strs(SampleRound::ALL, SampleRound::as_str),
        "late_codes": strs(LateCode::ALL, LateCode::as_str),
        "packaging_kinds": strs(PackagingKind::ALL, PackagingKind::as_str),
        "packaging_statuses": packaging_statuses(),
        "handover_kinds": strs(HandoverKind::ALL, HandoverKind::as_str),
        "milestones": plan::DEFAULT_TEMPLATE.iter().map(|t| t.code).collect::<Vec<_>>(),
        "review_steps": strs(ReviewStep::ALL, ReviewStep::as_str),
        "payment_terms": strs(PaymentTerm::ALL, PaymentTerm::as_str),
        "gate_states": gate_states(),
        "block_reasons": block_reasons(),
        "po_statuses": strs(PoStatus::ALL, PoStatus::as_str),
        "po_signatures": [purchase_order::SALES_SIGNATURE, purchase_order::GENERAL_MANAGER_SIGNATURE],
        "risk_levels": risk_levels(),
        "alarms": alarms(),
        "approval_chains": chains::CHAINS.iter().map(|c| c.name).collect::<Vec<_>>(),
        "approval_kinds": strs(ApprovalKind::ALL, ApprovalKind::as_str),
        "approval_statuses": strs(ApprovalStatus::ALL, ApprovalStatus::as_str),
        "approval_roles": approval_roles(),
        "special_purposes": strs(SpecialPurpose::ALL, SpecialPurpose::as_str),
        "step_actions": strs(StepAction::ALL, StepAction::as_str),
        "activities": gendan_core::order::ACTIVITY_CODES,
        "import_errors": crate::excel::ROW_ERROR_CODES,
    })
}
