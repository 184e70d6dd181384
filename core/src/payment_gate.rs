//! Payment gates: whether a PO may be released to the factory (下单), derived from the
//! order's commercial side and, for exceptions, the general manager's special approval.
//! Never stored: the gate is computed whenever it is needed, so a merge can never leave a
//! stale one behind.
//!
//! The rules, from the seed ("跟单工作流程" 2.2):
//! - D/P, D/A and 100% T/T before shipment: released at once after the review (2.2.1);
//! - L/C: the PO may be drafted, but is released only after the L/C is received and checked
//!   against the order (收到L/C并审核与L/C要求是否相符后再下给供应商, 2.2.2);
//! - a deposit before production: released only after finance confirms the deposit in the
//!   account and signs the tracking sheet (定金入帐并由财务部在订单跟踪表上签字确认, 2.2.3);
//! - any exception only with the general manager's signed special approval
//!   (总经理签字特批): an approved [`ApprovalRequest`] of kind `special`, purpose
//!   `po_release`, with a `general_manager` step, naming this order, with its reason.
//!
//! # For the server
//!
//! ```text
//! let commercial: OrderCommercial = commercial_record.read()?;     // the PO's order
//! let specials: Vec<ApprovalRequest> = /* special approvals naming that order */;
//! let gate = payment_gate::gate_any(&commercial, &specials.iter().collect::<Vec<_>>());
//! // write check of a PO change set:
//! purchase_order::check_release(&po_before, &po_after, &gate)?;     // Err(Problem) → refuse
//! // applying a release through the core:
//! ops::apply_json_with_gate(&mut po_record, op_json, Some(&gate), &ctx)?;
//! ```
//!
//! [`gate`] takes one candidate approval (or none); [`gate_any`] takes every candidate and
//! opens the gate if any one of them counts.

use serde::{Deserialize, Serialize};

use crate::approval::{ApprovalKind, ApprovalRequest, ApprovalStatus, SpecialPurpose};
use crate::chains::GENERAL_MANAGER;
use crate::common::Username;
use crate::order::{OrderCommercial, PaymentTerm};

/// Why a gate is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// L/C terms: no L/C recorded as received.
    LcNotReceived,
    /// L/C terms: received but not checked against the order (or an amended L/C not yet
    /// checked).
    LcNotChecked,
    /// L/C terms: checked, and it does not match the order.
    LcDiscrepant,
    /// Deposit terms: finance has not confirmed the deposit.
    DepositNotConfirmed,
}

/// Whether a PO may be released, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Gate {
    /// The payment term allows release.
    Open {
        /// The term.
        term: PaymentTerm,
    },
    /// Release must wait.
    Blocked {
        /// The term.
        term: PaymentTerm,
        /// Why.
        reason: BlockReason,
        /// Why, in words for a person.
        message: String,
        /// Why the special approval(s) offered did not open it, if any were.
        special_approval: Option<String>,
    },
    /// The term would block, but the general manager approved releasing anyway.
    OpenBySpecialApproval {
        /// The term.
        term: PaymentTerm,
        /// What would block it.
        blocked_by: BlockReason,
        /// The approval's reason.
        reason: String,
        /// Who approved the general manager's step.
        approved_by: Vec<Username>,
    },
}

impl Gate {
    /// Whether a PO may be released.
    pub fn is_open(&self) -> bool {
        !matches!(self, Gate::Blocked { .. })
    }
}

/// What the payment term alone says: `None` when it allows release.
pub fn term_block(c: &OrderCommercial) -> Option<(BlockReason, String)> {
    match c.payment_term {
        PaymentTerm::DocumentsAgainstPayment
        | PaymentTerm::DocumentsAgainstAcceptance
        | PaymentTerm::TtBeforeShipment => None,
        PaymentTerm::LetterOfCredit => {
            if c.lc_received_ms.0 <= 0 || c.lc_no.is_empty() {
                Some((
                    BlockReason::LcNotReceived,
                    "the L/C has not been received".into(),
                ))
            } else if c.lc_checked_ms.0 <= 0 || c.lc_checked_no != c.lc_no {
                Some((
                    BlockReason::LcNotChecked,
                    format!("L/C {} has not been checked against the order", c.lc_no),
                ))
            } else if !c.lc_matches {
                Some((
                    BlockReason::LcDiscrepant,
                    format!(
                        "L/C {} does not match the order: {}",
                        c.lc_no, c.lc_discrepancies
                    ),
                ))
            } else {
                None
            }
        }
        PaymentTerm::Deposit => {
            (c.deposit_confirmed_ms.0 <= 0 || c.deposit_confirmed_by.is_empty()).then(|| {
                (
                    BlockReason::DepositNotConfirmed,
                    "finance has not confirmed the deposit".into(),
                )
            })
        }
    }
}

/// Why `a` does not count as the general manager's special approval to release a PO of
/// this order; `Ok` with the approvers of the GM step when it does.
pub fn check_special_approval(
    c: &OrderCommercial,
    a: &ApprovalRequest,
) -> Result<Vec<Username>, String> {
    if a.kind != ApprovalKind::Special || a.purpose != SpecialPurpose::PoRelease {
        return Err("it is not a special approval to release a PO".into());
    }
    // Each reference present on both sides must agree, and at least one must be present.
    let id_match =
        (!a.record_id.is_empty() && !c.order_id.is_empty()).then(|| a.record_id == c.order_id);
    let no_match = (!a.order_no.is_empty() && !c.order_no.is_empty())
        .then(|| a.order_no.trim() == c.order_no.trim());
    match (id_match, no_match) {
        (Some(false), _) | (_, Some(false)) | (None, None) => {
            return Err(format!(
                "it is for another order ({})",
                if a.order_no.is_empty() {
                    &a.record_id
                } else {
                    &a.order_no
                }
            ));
        }
        _ => {}
    }
    let gm_steps: Vec<&String> = a
        .steps
        .iter()
        .filter(|(_, s)| s.role == GENERAL_MANAGER)
        .map(|(id, _)| id)
        .collect();
    if gm_steps.is_empty() {
        return Err("its chain has no general manager step".into());
    }
    match crate::approval::derive(a).status {
        ApprovalStatus::Pending => return Err("it is still waiting for a decision".into()),
        ApprovalStatus::Rejected => return Err("it was rejected".into()),
        ApprovalStatus::Approved => {}
    }
    if a.reason.trim().is_empty() && a.subject.trim().is_empty() {
        return Err("it gives no reason".into());
    }
    let approved_by = a
        .decisions
        .values()
        .filter(|d| d.approved && gm_steps.contains(&&d.step))
        .map(|d| d.by.clone())
        .collect();
    Ok(approved_by)
}

/// The gate of the order whose commercial side is `c`, with one candidate special approval.
pub fn gate(c: &OrderCommercial, special_approval: Option<&ApprovalRequest>) -> Gate {
    gate_any(c, special_approval.as_slice())
}

/// The gate with every candidate special approval: it opens if any one of them counts.
pub fn gate_any(c: &OrderCommercial, special_approvals: &[&ApprovalRequest]) -> Gate {
    let term = c.payment_term;
    let Some((reason, message)) = term_block(c) else {
        return Gate::Open { term };
    };
    let mut why_not = Vec::new();
    for a in special_approvals {
        match check_special_approval(c, a) {
            Ok(approved_by) => {
                return Gate::OpenBySpecialApproval {
                    term,
                    blocked_by: reason,
                    reason: if a.reason.trim().is_empty() {
                        a.subject.clone()
                    } else {
                        a.reason.clone()
                    },
                    approved_by,
                };
            }
            Err(e) => why_not.push(format!("special approval {:?}: {e}", a.subject)),
        }
    }
    Gate::Blocked {
        term,
        reason,
        message,
        special_approval: (!why_not.is_empty()).then(|| why_not.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{self, NewApproval};
    use crate::chains::{self, SPECIAL_PO_RELEASE};
    use crate::common::{EditContext, Money};
    use crate::order::{self, CommercialOp, apply_commercial};
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn commercial(term: PaymentTerm) -> Record {
        order::create_commercial(
            "order-doc-1",
            "SO-1",
            term,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap()
    }

    fn op(r: &mut Record, op: CommercialOp) {
        apply_commercial(r, &op, &EditContext::new("finance", 10)).unwrap();
    }

    fn gate_of(r: &Record, a: Option<&ApprovalRequest>) -> Gate {
        gate(&r.read().unwrap(), a)
    }

    fn blocked_reason(g: &Gate) -> Option<BlockReason> {
        match g {
            Gate::Blocked { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn dp_da_and_tt_before_shipment_release_at_once() {
        for term in [
            PaymentTerm::DocumentsAgainstPayment,
            PaymentTerm::DocumentsAgainstAcceptance,
            PaymentTerm::TtBeforeShipment,
        ] {
            assert_eq!(gate_of(&commercial(term), None), Gate::Open { term });
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lc_not_received_blocks() {
        let r = commercial(PaymentTerm::LetterOfCredit);
        let g = gate_of(&r, None);
        assert!(!g.is_open());
        assert_eq!(blocked_reason(&g), Some(BlockReason::LcNotReceived));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lc_received_but_not_checked_blocks() {
        let mut r = commercial(PaymentTerm::LetterOfCredit);
        op(
            &mut r,
            CommercialOp::RecordLcReceived {
                lc_no: "LC-77".into(),
                received_ms: 5,
            },
        );
        assert_eq!(
            blocked_reason(&gate_of(&r, None)),
            Some(BlockReason::LcNotChecked)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lc_received_and_checked_releases_and_an_amendment_closes_it_again() {
        let mut r = commercial(PaymentTerm::LetterOfCredit);
        let checked = |r: &mut Record, matches: bool, why: &str| {
            op(
                r,
                CommercialOp::CheckLc {
                    matches,
                    discrepancies: why.into(),
                },
            );
        };
        assert!(
            apply_commercial(
                &mut r,
                &CommercialOp::CheckLc {
                    matches: true,
                    discrepancies: String::new()
                },
                &EditContext::new("finance", 3),
            )
            .is_err(),
            "an L/C is checked after it is received"
        );
        op(
            &mut r,
            CommercialOp::RecordLcReceived {
                lc_no: "LC-77".into(),
                received_ms: 5,
            },
        );
        checked(
            &mut r,
            false,
            "latest shipment date before our delivery date",
        );
        assert_eq!(
            blocked_reason(&gate_of(&r, None)),
            Some(BlockReason::LcDiscrepant)
        );
        checked(&mut r, true, "");
        assert_eq!(
            gate_of(&r, None),
            Gate::Open {
                term: PaymentTerm::LetterOfCredit
            }
        );
        // An amended L/C must be checked again.
        op(
            &mut r,
            CommercialOp::RecordLcReceived {
                lc_no: "LC-77-A1".into(),
                received_ms: 9,
            },
        );
        assert_eq!(
            blocked_reason(&gate_of(&r, None)),
            Some(BlockReason::LcNotChecked)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn deposit_unconfirmed_blocks_and_confirmed_releases() {
        let mut r = commercial(PaymentTerm::Deposit);
        assert_eq!(
            blocked_reason(&gate_of(&r, None)),
            Some(BlockReason::DepositNotConfirmed)
        );
        assert!(
            apply_commercial(
                &mut r,
                &CommercialOp::ConfirmDeposit {
                    amount: Money {
                        minor: 0,
                        currency: "USD".into()
                    },
                    received_ms: 7
                },
                &EditContext::new("finance", 8)
            )
            .is_err(),
            "a deposit of nothing is no deposit"
        );
        op(
            &mut r,
            CommercialOp::ConfirmDeposit {
                amount: Money {
                    minor: 300_000,
                    currency: "USD".into(),
                },
                received_ms: 7,
            },
        );
        assert_eq!(
            gate_of(&r, None),
            Gate::Open {
                term: PaymentTerm::Deposit
            }
        );
    }

    /// A special approval to release SO-1's PO, decided or not.
    fn special(order_no: &str, record_id: &str, decision: Option<bool>) -> ApprovalRequest {
        let mut new: NewApproval = chains::new_request(&SPECIAL_PO_RELEASE, "release PO-1 now");
        new.order_no = order_no.into();
        new.record_id = record_id.into();
        new.reason = "customer's bank holiday; the deposit is on its way".into();
        let mut r = approval::create(
            &new,
            actor_from_bytes(&[3; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap();
        if let Some(approved) = decision {
            approval::decide(
                &mut r,
                "s1",
                approved,
                "signed",
                &[GENERAL_MANAGER],
                &EditContext::new("gm", 2),
            )
            .unwrap();
        }
        r.read().unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn approved_special_approval_opens_a_blocked_gate_with_its_reason() {
        let r = commercial(PaymentTerm::Deposit);
        let a = special("SO-1", "", Some(true));
        assert_eq!(
            gate_of(&r, Some(&a)),
            Gate::OpenBySpecialApproval {
                term: PaymentTerm::Deposit,
                blocked_by: BlockReason::DepositNotConfirmed,
                reason: "customer's bank holiday; the deposit is on its way".into(),
                approved_by: vec!["gm".into()],
            }
        );
        // By document id too, for an L/C not received.
        let lc = commercial(PaymentTerm::LetterOfCredit);
        let by_id = special("", "order-doc-1", Some(true));
        assert!(matches!(
            gate_of(&lc, Some(&by_id)),
            Gate::OpenBySpecialApproval {
                blocked_by: BlockReason::LcNotReceived,
                ..
            }
        ));
    }

    fn why_blocked(g: &Gate) -> String {
        match g {
            Gate::Blocked {
                special_approval, ..
            } => special_approval.clone().unwrap_or_default(),
            other => panic!("expected a blocked gate, got {other:?}"),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn pending_special_approval_does_not_open() {
        let r = commercial(PaymentTerm::Deposit);
        let g = gate_of(&r, Some(&special("SO-1", "", None)));
        assert!(why_blocked(&g).contains("waiting for a decision"), "{g:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejected_special_approval_does_not_open() {
        let r = commercial(PaymentTerm::Deposit);
        let g = gate_of(&r, Some(&special("SO-1", "", Some(false))));
        assert!(why_blocked(&g).contains("rejected"), "{g:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn special_approval_for_another_order_does_not_open() {
        let r = commercial(PaymentTerm::LetterOfCredit);
        for a in [
            special("SO-2", "", Some(true)),
            special("", "order-doc-2", Some(true)),
            // A matching number with another document id is for another order too.
            special("SO-1", "order-doc-2", Some(true)),
        ] {
            let g = gate_of(&r, Some(&a));
            assert!(why_blocked(&g).contains("another order"), "{g:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn only_a_general_managers_po_release_approval_counts() {
        let r = commercial(PaymentTerm::Deposit);
        // Approved, for this order, but decided by a plain approver role, not the GM.
        let mut r2 = approval::create(
            &NewApproval {
                kind: ApprovalKind::Special,
                purpose: SpecialPurpose::PoRelease,
                subject: "release".into(),
                reason: "rush".into(),
                order_no: "SO-1".into(),
                steps: vec![("approver".into(), 1)],
                ..NewApproval::default()
            },
            actor_from_bytes(&[4; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap();
        approval::decide(
            &mut r2,
            "s1",
            true,
            "",
            &["approver"],
            &EditContext::new("boss", 2),
        )
        .unwrap();
        let not_gm: ApprovalRequest = r2.read().unwrap();
        assert!(why_blocked(&gate_of(&r, Some(&not_gm))).contains("no general manager step"));
        // A GM-approved special approval for another purpose does not count either.
        let mut other = special("SO-1", "", Some(true));
        other.purpose = SpecialPurpose::Other;
        assert!(why_blocked(&gate_of(&r, Some(&other))).contains("not a special approval"));
        // Among several candidates, the one that counts opens the gate.
        let good = special("SO-1", "", Some(true));
        assert!(gate_any(&r.read().unwrap(), &[&not_gm, &other, &good]).is_open());
        // An open term stays simply open: no approval needed.
        let dp = commercial(PaymentTerm::DocumentsAgainstPayment);
        assert_eq!(
            gate_of(&dp, Some(&good)),
            Gate::Open {
                term: PaymentTerm::DocumentsAgainstPayment
            }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_special_po_release_needs_a_reason_and_an_order() {
        let mut new = chains::new_request(&SPECIAL_PO_RELEASE, "release now");
        let err = approval::create(
            &new,
            actor_from_bytes(&[5; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("reason") && err.contains("order_no"), "{err}");
        new.reason = "rush".into();
        new.order_no = "SO-1".into();
        assert!(
            approval::create(
                &new,
                actor_from_bytes(&[5; 16]),
                &EditContext::new("merch", 1)
            )
            .is_ok()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_older_commercial_record_without_the_new_fields_reads_and_gates() {
        use automerge::transaction::Transactable;
        // As an earlier build wrote it: no L/C, deposit or review keys at all.
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "type", "order_commercial")
            .unwrap();
        doc.put(automerge::ROOT, "schema", 1_i64).unwrap();
        doc.put(automerge::ROOT, "order_no", "SO-OLD").unwrap();
        doc.put(automerge::ROOT, "payment_term", "lc").unwrap();
        let mut r = Record::load(&doc.save(), actor_from_bytes(&[6; 16])).unwrap();
        let c: OrderCommercial = r.read().unwrap();
        assert_eq!(
            blocked_reason(&gate(&c, None)),
            Some(BlockReason::LcNotReceived)
        );
        assert!(!crate::review::contract_review(&c).complete);
        // The new operations write into it.
        op(
            &mut r,
            CommercialOp::RecordLcReceived {
                lc_no: "LC-1".into(),
                received_ms: 2,
            },
        );
        op(
            &mut r,
            CommercialOp::CheckLc {
                matches: true,
                discrepancies: String::new(),
            },
        );
        assert!(gate_of(&r, None).is_open());
    }
}
