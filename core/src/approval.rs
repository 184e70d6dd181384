//! Approval request (审批): a chain of steps, each decided by someone holding the step's
//! role. The kinds are the chains of the seed documents (credit, shipping release, invoice,
//! returns, diversion, document requests, damaged outer packaging), the customer question
//! answered within 3 working days, and special approvals; [`crate::chains`] ships their
//! configurations.
//!
//! # The engine
//!
//! A request is a list of steps in order. Each step names a role (a job title such as
//! `provincial_manager`), optionally named users who may also decide it (`approvers`), what
//! the step does (review, decide, file, notify, execute…), how many distinct approvals it
//! needs (default 1), a deadline in working days (Mon–Fri, office time, see
//! [`crate::calendar`]) counted from when the step became current, and the role it
//! escalates to when the deadline passes. The current step is the first one not yet
//! approved. Who may decide it: a holder of its role, a named approver, or — once the
//! deadline has passed — a holder of the escalation role. [`view`] derives the status, the
//! current step, its deadline and whether it is overdue and escalated, at a time the caller
//! passes in.
//!
//! # Merge rule for concurrent offline decisions
//!
//! Every decision is stored under its own key `<step>:<username>` and never overwritten by
//! anyone else, so a merge keeps every decision. The outcome is then derived, never stored,
//! walking the steps in order:
//!
//! 1. a step with any rejection is rejected, and so is the request — a "no" is never
//!    silently outvoted by a concurrent "yes", and decisions on later steps no longer count;
//! 2. otherwise a step is approved once it holds `approvals_needed` approvals from distinct
//!    users, whenever and wherever they were made; the walk goes on to the next step;
//! 3. otherwise the step is the current one and the request is pending.
//!
//! The outcome is a function of the set of decisions only, so every replica that holds the
//! same decisions derives the same outcome, whatever order they arrived in. One user
//! deciding the same step on two devices writes one key twice; Automerge keeps one of the
//! two values on every replica alike (the same one everywhere). The step starts, for its
//! deadline, when the approval that completed the previous step was made.
//!
//! The core checks roles from what the caller says the user holds; the server passes the
//! user's job titles and access role ([`crate::access::Principal::decision_roles`]) and
//! runs [`check_new_decisions`] on every change set touching `decisions`, by sync or REST
//! ([`crate::access::check_decisions`]).
//!
//! # For the server
//!
//! - Open a request from a shipped chain: [`crate::chains::new_request`] then [`create`]
//!   (or `ops::create_json` with the same JSON: `kind`, `chain_steps`, `purpose`, …).
//! - Record a decision: [`decide`] with the user's job titles (e.g. `["general_manager"]`).
//! - Write check of a change set touching `decisions`: [`check_new_decisions`] on the
//!   request before and after, with the delivering user, their job titles and the server's
//!   clock. It refuses another user's key, a missing role, a step not yet reached, an early
//!   escalation and a future date; honest offline decisions on completed steps pass.
//! - Show a request: [`view`] at the server's time (deadline, overdue, escalated to whom).
//! - The approvals inbox: [`waiting_for`] says which step a user may decide now.

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
        /// A customer's question on price, delivery, quality or transport outside the
        /// supervisor's authority, to be answered within 3 working days.
        CustomerQuestion = "customer_question",
    }
}

string_enum! {
    /// What a special approval is for: the payment gate only counts the ones for it.
    pub enum SpecialPurpose (Other) {
        /// Release a PO to the factory before the L/C or deposit (总经理签字特批先下单).
        PoRelease = "po_release",
        /// Anything else.
        Other = "other",
    }
}

string_enum! {
    /// What a step of a chain does, in the seed's words.
    pub enum StepAction (Review) {
        /// 复核, 审核, 初审: checks and approves or rejects.
        Review = "review",
        /// 核决, 特批: takes the decision.
        Decide = "decide",
        /// 审核备案: checks and files.
        File = "file",
        /// 填写 / 资料录入: prepares a form or enters data.
        Prepare = "prepare",
        /// 通告: announces the decision.
        Notify = "notify",
        /// 执行 / 发货 / 调换: carries it out.
        Execute = "execute",
        /// 答复: answers the customer.
        Answer = "answer",
    }
}

impl StepAction {
    /// Whether a holder may reject at this step. Preparing, announcing, carrying out and
    /// answering are done or not yet done; only checks and decisions say no.
    pub fn may_reject(self) -> bool {
        matches!(
            self,
            StepAction::Review | StepAction::Decide | StepAction::File
        )
    }
}

/// The most distinct approvals a step may require.
pub const APPROVALS_NEEDED_MAX: i64 = 9;
/// How far in the server's future a decision's date may be (device clocks drift), in ms.
pub const DECISION_CLOCK_SKEW_MS_MAX: i64 = 10 * 60 * 1000;
/// The most named approvers one step may list.
pub const APPROVERS_PER_STEP_MAX: usize = 20;

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
    /// Working days allowed for the decision (0 = no deadline).
    #[autosurgeon(missing = "Default::default")]
    pub deadline_days: Int,
    /// The step's name in the seed's words, e.g. `省区经理 复核`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub label: String,
    /// What the step does.
    #[autosurgeon(missing = "Default::default")]
    pub action: StepAction,
    /// Users who may decide the step besides holders of its role.
    #[autosurgeon(missing = "Default::default")]
    pub approvers: BTreeMap<String, bool>,
    /// The role that may decide the step once its deadline has passed (empty = none).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub escalate_to: String,
    /// Distinct approvals needed (0 reads as 1).
    #[autosurgeon(missing = "Default::default")]
    pub approvals_needed: Int,
}

impl Step {
    /// Distinct approvals needed to approve the step (at least 1).
    pub fn needed(&self) -> usize {
        usize::try_from(self.approvals_needed.0.max(1)).unwrap_or(1)
    }
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
    /// The shipped chain it was made from ([`crate::chains`]), if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub chain: String,
    /// For special approvals: what it is for.
    #[autosurgeon(missing = "Default::default")]
    pub purpose: SpecialPurpose,
    /// Why it is asked (required for special approvals).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub reason: String,
    /// A coded reason the chain's rules look at (a return's reason, a question's topic).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub reason_code: String,
    /// Who bears the cost (damaged packaging: 费用由责任方承担).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub responsible_party: String,
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
    /// Roles of the chain, in order, with deadlines in working days (the short form;
    /// ignored when `chain_steps` is given).
    pub steps: Vec<(String, i64)>,
    /// The chain's steps in full (see [`crate::chains::new_request`]).
    pub chain_steps: Vec<StepSpec>,
    /// The shipped chain's name, if made from one.
    pub chain: String,
    /// For special approvals: what it is for.
    pub purpose: SpecialPurpose,
    /// Why it is asked.
    pub reason: String,
    /// A coded reason (a return's reason, a question's topic).
    pub reason_code: String,
    /// Who bears the cost, where the chain asks for it.
    pub responsible_party: String,
}

/// One step of a new request, in full.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepSpec {
    /// The role deciding it.
    pub role: String,
    /// The seed's name for it.
    pub label: String,
    /// What it does.
    pub action: StepAction,
    /// Working days allowed (0 = none).
    pub deadline_days: i64,
    /// Users who may also decide it.
    pub approvers: Vec<String>,
    /// The role it escalates to after the deadline.
    pub escalate_to: String,
    /// Distinct approvals needed (0 = 1).
    pub approvals_needed: i64,
}

/// Creates an approval request. The kind's own conditions ([`crate::chains::check_new`])
/// are checked too: e.g. a return of slow-moving goods is refused here.
pub fn create(
    new: &NewApproval,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_required(&mut problems, "subject", &new.subject);
    check_text(&mut problems, "subject", &new.subject, TEXT_BYTES_MAX);
    for (f, v, max) in [
        ("record_id", &new.record_id, SHORT_TEXT_BYTES_MAX),
        ("order_no", &new.order_no, SHORT_TEXT_BYTES_MAX),
        ("chain", &new.chain, SHORT_TEXT_BYTES_MAX),
        ("reason", &new.reason, TEXT_BYTES_MAX),
        ("reason_code", &new.reason_code, SHORT_TEXT_BYTES_MAX),
        (
            "responsible_party",
            &new.responsible_party,
            SHORT_TEXT_BYTES_MAX,
        ),
    ] {
        check_text(&mut problems, f, v, max);
    }
    let specs: Vec<StepSpec> = if new.chain_steps.is_empty() {
        new.steps
            .iter()
            .map(|(role, days)| StepSpec {
                role: role.clone(),
                deadline_days: *days,
                ..StepSpec::default()
            })
            .collect()
    } else {
        new.chain_steps.clone()
    };
    if specs.is_empty() || specs.len() > STEPS_MAX {
        problems.push(Problem::new(
            "steps",
            format!("must have 1 to {STEPS_MAX} steps"),
        ));
    }
    for (i, spec) in specs.iter().enumerate() {
        let f = format!("steps.{i}");
        check_required(&mut problems, &format!("{f}.role"), &spec.role);
        for (g, v, max) in [
            ("role", &spec.role, SHORT_TEXT_BYTES_MAX),
            ("label", &spec.label, SHORT_TEXT_BYTES_MAX),
            ("escalate_to", &spec.escalate_to, SHORT_TEXT_BYTES_MAX),
        ] {
            check_text(&mut problems, &format!("{f}.{g}"), v, max);
        }
        if !(0..=crate::calendar::WORKING_DAYS_MAX).contains(&spec.deadline_days) {
            problems.push(Problem::new(
                format!("{f}.deadline_days"),
                format!(
                    "must be from 0 to {} working days",
                    crate::calendar::WORKING_DAYS_MAX
                ),
            ));
        }
        if !(0..=APPROVALS_NEEDED_MAX).contains(&spec.approvals_needed) {
            problems.push(Problem::new(
                format!("{f}.approvals_needed"),
                format!("must be from 0 to {APPROVALS_NEEDED_MAX}"),
            ));
        }
        if spec.approvers.len() > APPROVERS_PER_STEP_MAX {
            problems.push(Problem::new(
                format!("{f}.approvers"),
                format!("at most {APPROVERS_PER_STEP_MAX} named approvers"),
            ));
        }
        for a in &spec.approvers {
            check_required(&mut problems, &format!("{f}.approvers"), a);
            check_text(
                &mut problems,
                &format!("{f}.approvers"),
                a,
                SHORT_TEXT_BYTES_MAX,
            );
        }
    }
    problems.extend(crate::chains::check_new(new));
    problems_to_result(problems)?;
    let initial = ApprovalRequest {
        record_type: RecordType::Approval,
        kind: new.kind,
        subject: new.subject.clone(),
        record_id: new.record_id.clone(),
        order_no: new.order_no.clone(),
        chain: new.chain.clone(),
        purpose: new.purpose,
        reason: new.reason.clone(),
        reason_code: new.reason_code.clone(),
        responsible_party: new.responsible_party.clone(),
        steps: specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                (
                    format!("s{}", i + 1),
                    Step {
                        order: Int(i as i64 + 1),
                        role: spec.role.clone(),
                        deadline_days: Int(spec.deadline_days),
                        label: spec.label.clone(),
                        action: spec.action,
                        approvers: spec.approvers.iter().map(|a| (a.clone(), true)).collect(),
                        escalate_to: spec.escalate_to.clone(),
                        approvals_needed: Int(spec.approvals_needed),
                    },
                )
            })
            .collect(),
        ..ApprovalRequest::default()
    };
    Record::create(RecordType::Approval, actor, ctx, &initial)
}

/// Records `ctx.user`'s decision on the current step at `ctx.now_ms`. `roles` are the
/// user's roles and job titles (the caller knows them from the session; the server checks
/// the change again). Allowed for a holder of the step's role, a named approver of the
/// step, or — once the step is overdue — a holder of its escalation role; each user
/// decides a step once.
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
    let derived = view(&req, ctx.now_ms);
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
            } else if !may_decide(s, &derived, &ctx.user, roles) {
                let mut who = format!("needs the role {}", s.role);
                if !s.escalate_to.is_empty() {
                    who.push_str(&format!(
                        " (or {} once the deadline has passed)",
                        s.escalate_to
                    ));
                }
                problems.push(Problem::new("step", who));
            }
            if req.decisions.contains_key(&format!("{step}:{}", ctx.user)) {
                problems.push(Problem::new("step", "you have already decided this step"));
            }
            if !approved && !s.action.may_reject() {
                problems.push(Problem::new(
                    "approved",
                    format!("a {} step is done, not rejected", s.action),
                ));
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

fn may_decide(step: &Step, view: &ApprovalView, user: &str, roles: &[&str]) -> bool {
    roles.contains(&step.role.as_str())
        || step.approvers.get(user).copied().unwrap_or(false)
        || (view.overdue
            && !step.escalate_to.is_empty()
            && roles.contains(&step.escalate_to.as_str()))
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

/// Derives the status by the merge rule in the module docs (no deadlines: see [`view`]).
pub fn derive(req: &ApprovalRequest) -> ApprovalDerived {
    let v = view(req, 0);
    ApprovalDerived {
        status: v.status,
        current_step: v.current_step,
        waiting_for_role: v.waiting_for_role,
    }
}

/// Everything derived from a request at a time: the outcome, the step waiting, its
/// deadline, and whether it is overdue and so escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalView {
    /// The outcome so far.
    pub status: ApprovalStatus,
    /// The step waiting for a decision.
    pub current_step: Option<String>,
    /// The role that must decide it.
    pub waiting_for_role: Option<String>,
    /// When the current step became current, ms.
    pub step_started_ms: Option<i64>,
    /// The first ms after the current step's deadline (none without a deadline).
    pub deadline_ms: Option<i64>,
    /// Whether the deadline has passed at the time asked.
    pub overdue: bool,
    /// The role that may now decide too, because the deadline passed.
    pub escalated_to: Option<String>,
    /// Approvals the current step holds so far.
    pub approvals: usize,
    /// Approvals it needs.
    pub approvals_needed: usize,
    /// The step that rejected the request, if any.
    pub rejected_at: Option<String>,
}

/// The request as it stands at `now_ms`, by the merge rule in the module docs. With
/// `now_ms` 0 nothing is ever overdue.
pub fn view(req: &ApprovalRequest, now_ms: i64) -> ApprovalView {
    let mut steps: Vec<(&String, &Step)> = req.steps.iter().collect();
    steps.sort_by_key(|(id, s)| (s.order.0, (*id).clone()));
    let mut started = req.created_at_ms.0;
    for (id, step) in steps {
        let decisions: Vec<&Decision> = req.decisions.values().filter(|d| &d.step == id).collect();
        if decisions.iter().any(|d| !d.approved) {
            return ApprovalView {
                status: ApprovalStatus::Rejected,
                current_step: None,
                waiting_for_role: None,
                step_started_ms: None,
                deadline_ms: None,
                overdue: false,
                escalated_to: None,
                approvals: 0,
                approvals_needed: 0,
                rejected_at: Some(id.clone()),
            };
        }
        // Distinct approvers, earliest first (a user's key is unique, so each counts once).
        let mut times: Vec<i64> = decisions.iter().map(|d| d.at_ms.0).collect();
        times.sort_unstable();
        let needed = step.needed();
        if times.len() >= needed {
            started = started.max(times[needed - 1]);
            continue;
        }
        let deadline = (step.deadline_days.0 > 0)
            .then(|| crate::calendar::working_days_deadline(started, step.deadline_days.0));
        let overdue = now_ms > 0 && deadline.is_some_and(|d| now_ms >= d);
        return ApprovalView {
            status: ApprovalStatus::Pending,
            current_step: Some(id.clone()),
            waiting_for_role: Some(step.role.clone()),
            step_started_ms: Some(started),
            deadline_ms: deadline,
            overdue,
            escalated_to: (overdue && !step.escalate_to.is_empty())
                .then(|| step.escalate_to.clone()),
            approvals: times.len(),
            approvals_needed: needed,
            rejected_at: None,
        };
    }
    ApprovalView {
        status: ApprovalStatus::Approved,
        current_step: None,
        waiting_for_role: None,
        step_started_ms: None,
        deadline_ms: None,
        overdue: false,
        escalated_to: None,
        approvals: 0,
        approvals_needed: 0,
        rejected_at: None,
    }
}

/// For the approvals inbox ("my approvals"): the step of `req` that `user`, holding
/// `roles`, may decide now — as its role holder, a named approver, or the escalation role
/// once overdue — and has not decided yet. `None` when there is nothing for them.
pub fn waiting_for(
    req: &ApprovalRequest,
    user: &str,
    roles: &[&str],
    now_ms: i64,
) -> Option<String> {
    let v = view(req, now_ms);
    let id = v.current_step.clone()?;
    let step = req.steps.get(&id)?;
    let decided = req.decisions.contains_key(&format!("{id}:{user}"));
    (!decided && may_decide(step, &v, user, roles)).then_some(id)
}

/// For the server's write check: checks every decision that a change set from `user`
/// (holding `roles`) adds or changes, comparing the request `before` and `after` it. A
/// decision must be the user's own (key `<step>:<user>`, `by` the user), on a step of the
/// chain, by someone who may decide that step (its role, a named approver, or its
/// escalation role when the decision was made after the step's deadline), not on a step
/// after the one waiting, with a comment to reject and never a rejection of a step that
/// cannot be rejected. A decision on a step already completed or on a request already
/// decided is accepted: it was made offline, honestly, and the merge rule gives it its
/// place. A decision dated more than [`DECISION_CLOCK_SKEW_MS_MAX`] after the server's
/// `now_ms` is refused (its date decides escalation, so it must not be from the future).
/// Returns every problem found.
pub fn check_new_decisions(
    before: &ApprovalRequest,
    after: &ApprovalRequest,
    user: &str,
    roles: &[&str],
    now_ms: i64,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let current_order = view(before, 0)
        .current_step
        .and_then(|id| before.steps.get(&id).map(|s| s.order.0));
    for (key, d) in &after.decisions {
        if before.decisions.get(key) == Some(d) {
            continue;
        }
        let field = format!("decisions.{key}");
        if key != &format!("{}:{user}", d.step) || d.by != user {
            problems.push(Problem::new(
                &field,
                "you may only record your own decision",
            ));
            continue;
        }
        let Some(step) = before.steps.get(&d.step) else {
            problems.push(Problem::new(&field, "is not on a step of this chain"));
            continue;
        };
        if d.at_ms.0 > now_ms.saturating_add(DECISION_CLOCK_SKEW_MS_MAX) {
            problems.push(Problem::new(
                format!("{field}.at_ms"),
                "is in the future by more than the clock skew allowed",
            ));
        }
        if current_order.is_some_and(|c| step.order.0 > c) {
            problems.push(Problem::new(&field, "is on a step not yet reached"));
        }
        // Whether the step was overdue when the decision was made: its start is the
        // completion of the step before it, as seen before the change.
        let started = step_started_ms(before, &d.step);
        let overdue = step.deadline_days.0 > 0
            && d.at_ms.0 >= crate::calendar::working_days_deadline(started, step.deadline_days.0);
        let as_view = ApprovalView {
            overdue,
            ..view(before, 0)
        };
        if !may_decide(step, &as_view, user, roles) {
            problems.push(Problem::new(
                &field,
                format!("needs the role {}", step.role),
            ));
        }
        if !d.approved {
            if d.comment.trim().is_empty() {
                problems.push(Problem::new(
                    format!("{field}.comment"),
                    "is required to reject",
                ));
            }
            if !step.action.may_reject() {
                problems.push(Problem::new(
                    &field,
                    format!("a {} step is done, not rejected", step.action),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// When the step `id` became (or would become) current: the creation, or the time the
/// approval completing the step before it was made.
fn step_started_ms(req: &ApprovalRequest, id: &str) -> i64 {
    let Some(target) = req.steps.get(id) else {
        return req.created_at_ms.0;
    };
    let mut started = req.created_at_ms.0;
    let mut steps: Vec<(&String, &Step)> = req.steps.iter().collect();
    steps.sort_by_key(|(sid, s)| (s.order.0, (*sid).clone()));
    for (sid, s) in steps {
        if s.order.0 >= target.order.0 {
            break;
        }
        let mut times: Vec<i64> = req
            .decisions
            .values()
            .filter(|d| &d.step == sid && d.approved)
            .map(|d| d.at_ms.0)
            .collect();
        times.sort_unstable();
        if let Some(t) = times.get(s.needed() - 1) {
            started = started.max(*t);
        }
    }
    started
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

    fn quorum_request() -> Record {
        let new = NewApproval {
            kind: ApprovalKind::CustomerCredit,
            subject: "Credit line for ACME".into(),
            chain_steps: vec![
                StepSpec {
                    role: "committee".into(),
                    approvals_needed: 2,
                    ..StepSpec::default()
                },
                StepSpec {
                    role: "general_manager".into(),
                    ..StepSpec::default()
                },
            ],
            ..NewApproval::default()
        };
        create(
            &new,
            actor_from_bytes(&[8; 16]),
            &EditContext::new("sales1", 1),
        )
        .unwrap()
    }

    fn replica(r: &mut Record, actor: u8) -> Record {
        Record::load(&r.save(), actor_from_bytes(&[actor; 16])).unwrap()
    }

    fn merged(a: &mut Record, b: &mut Record) -> ApprovalView {
        a.merge(b).unwrap();
        b.merge(a).unwrap();
        let (va, vb) = (view(&a.read().unwrap(), 0), view(&b.read().unwrap(), 0));
        assert_eq!(va, vb, "replicas agree");
        va
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn two_offline_votes_merge_to_a_quorum() {
        let mut a = quorum_request();
        let mut b = replica(&mut a, 9);
        let c = |u: &str| EditContext::new(u, 5);
        decide(&mut a, "s1", true, "", &["committee"], &c("m1")).unwrap();
        decide(&mut b, "s1", true, "", &["committee"], &c("m2")).unwrap();
        // Alone, each replica still waits for a second vote.
        assert_eq!(
            view(&a.read().unwrap(), 0).current_step.as_deref(),
            Some("s1")
        );
        let v = merged(&mut a, &mut b);
        assert_eq!(
            (v.status, v.current_step.as_deref()),
            (ApprovalStatus::Pending, Some("s2"))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_rejection_of_an_earlier_step_voids_later_decisions_after_merge() {
        let mut a = request();
        let mut b = replica(&mut a, 9);
        let c = |u: &str, at: i64| EditContext::new(u, at);
        // On replica a the chain goes on to the end…
        decide(&mut a, "s1", true, "", &["sales_manager"], &c("sm1", 2)).unwrap();
        decide(&mut a, "s2", true, "", &["general_manager"], &c("gm", 3)).unwrap();
        assert_eq!(derive(&a.read().unwrap()).status, ApprovalStatus::Approved);
        // …while another sales manager, offline, rejected the first step.
        decide(
            &mut b,
            "s1",
            false,
            "overdue account",
            &["sales_manager"],
            &c("sm2", 4),
        )
        .unwrap();
        let v = merged(&mut a, &mut b);
        assert_eq!(
            (v.status, v.rejected_at.as_deref()),
            (ApprovalStatus::Rejected, Some("s1"))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn one_user_deciding_on_two_devices_merges_to_one_decision() {
        let mut a = request();
        let mut b = replica(&mut a, 9);
        decide(
            &mut a,
            "s1",
            true,
            "",
            &["sales_manager"],
            &EditContext::new("sm", 2),
        )
        .unwrap();
        decide(
            &mut b,
            "s1",
            false,
            "changed my mind",
            &["sales_manager"],
            &EditContext::new("sm", 3),
        )
        .unwrap();
        let v = merged(&mut a, &mut b);
        let (ra, rb): (ApprovalRequest, ApprovalRequest) = (a.read().unwrap(), b.read().unwrap());
        assert_eq!(ra.decisions.len(), 1, "one key per user and step");
        assert_eq!(ra.decisions, rb.decisions, "the same value kept everywhere");
        let kept = &ra.decisions["s1:sm"];
        assert_eq!(
            v.status,
            if kept.approved {
                ApprovalStatus::Pending
            } else {
                ApprovalStatus::Rejected
            }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_escalated_decision_and_the_late_owners_decision_merge() {
        // 2026-11-27 10:00 China time, a Friday; one working day to decide.
        let fri = 1_795_744_800_000;
        let new = NewApproval {
            kind: ApprovalKind::ShippingRelease,
            subject: "ship SO-1".into(),
            chain_steps: vec![StepSpec {
                role: "regional_manager".into(),
                deadline_days: 1,
                escalate_to: "business_director".into(),
                ..StepSpec::default()
            }],
            ..NewApproval::default()
        };
        let mut a = create(
            &new,
            actor_from_bytes(&[8; 16]),
            &EditContext::new("s", fri),
        )
        .unwrap();
        let mut b = replica(&mut a, 9);
        let tuesday = fri + 4 * crate::calendar::DAY_MS;
        assert!(
            view(&a.read().unwrap(), tuesday).overdue,
            "Monday was the day"
        );
        decide(
            &mut a,
            "s1",
            true,
            "",
            &["business_director"],
            &EditContext::new("bd", tuesday),
        )
        .unwrap();
        // The regional manager, offline, rejects late the same day.
        decide(
            &mut b,
            "s1",
            false,
            "customer over limit",
            &["regional_manager"],
            &EditContext::new("rm", tuesday),
        )
        .unwrap();
        assert_eq!(merged(&mut a, &mut b).status, ApprovalStatus::Rejected);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn named_approvers_may_decide_without_the_role() {
        let new = NewApproval {
            kind: ApprovalKind::DocumentRequest,
            subject: "test report".into(),
            chain_steps: vec![StepSpec {
                role: "regional_manager".into(),
                approvers: vec!["deputy".into()],
                ..StepSpec::default()
            }],
            ..NewApproval::default()
        };
        let mut r = create(&new, actor_from_bytes(&[8; 16]), &EditContext::new("s", 1)).unwrap();
        assert!(decide(&mut r, "s1", true, "", &[], &EditContext::new("other", 2)).is_err());
        decide(&mut r, "s1", true, "", &[], &EditContext::new("deputy", 2)).unwrap();
        assert_eq!(derive(&r.read().unwrap()).status, ApprovalStatus::Approved);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn chain_limits_are_enforced() {
        let with = |f: &dyn Fn(&mut StepSpec), n: usize| {
            let mut spec = StepSpec {
                role: "r".into(),
                ..StepSpec::default()
            };
            f(&mut spec);
            let new = NewApproval {
                subject: "x".into(),
                chain_steps: vec![spec; n],
                ..NewApproval::default()
            };
            create(&new, actor_from_bytes(&[8; 16]), &EditContext::new("s", 1)).is_ok()
        };
        assert!(with(&|_| {}, STEPS_MAX));
        assert!(!with(&|_| {}, STEPS_MAX + 1));
        assert!(!with(&|_| {}, 0));
        assert!(with(&|s| s.approvals_needed = APPROVALS_NEEDED_MAX, 1));
        assert!(!with(&|s| s.approvals_needed = APPROVALS_NEEDED_MAX + 1, 1));
        let names = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        assert!(with(&|s| s.approvers = names(APPROVERS_PER_STEP_MAX), 1));
        assert!(!with(
            &|s| s.approvers = names(APPROVERS_PER_STEP_MAX + 1),
            1
        ));
        let max_days = crate::calendar::WORKING_DAYS_MAX;
        assert!(with(&|s| s.deadline_days = max_days, 1));
        assert!(!with(&|s| s.deadline_days = max_days + 1, 1));
        assert!(!with(&|s| s.deadline_days = -1, 1));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_write_check_of_decisions() {
        let mut server = request();
        let before: ApprovalRequest = server.read().unwrap();
        let check = |edit: &dyn Fn(&mut Record), user: &str, roles: &[&str]| {
            let mut after = server.clone();
            edit(&mut after);
            check_new_decisions(&before, &after.read().unwrap(), user, roles, 10)
        };
        let sm = |r: &mut Record| {
            decide(
                r,
                "s1",
                true,
                "",
                &["sales_manager"],
                &EditContext::new("sm", 2),
            )
            .unwrap();
        };
        assert!(check(&sm, "sm", &["sales_manager"]).is_ok());
        // The same change set, delivered by someone else or by a user without the role.
        assert!(check(&sm, "other", &["sales_manager"]).is_err());
        let err = check(&sm, "sm", &["sales"]).unwrap_err();
        assert!(err[0].message.contains("needs the role"), "{err:?}");
        // A forged decision on a later step, written past the core's own rules.
        let forged = |r: &mut Record| {
            r.edit(&EditContext::new("gm", 3), "forge", |doc| {
                let decisions = ensure_map(doc, &ROOT, "decisions")?;
                let d = Decision {
                    step: "s2".into(),
                    approved: true,
                    by: "gm".into(),
                    at_ms: Int(3),
                    comment: String::new(),
                };
                put_value(doc, &decisions, "s2:gm", &d)
            })
            .unwrap();
        };
        let err = check(&forged, "gm", &["general_manager"]).unwrap_err();
        assert!(err[0].message.contains("not yet reached"), "{err:?}");
        // An honest offline decision on a step someone else completed meanwhile is accepted.
        sm(&mut server);
        let before2: ApprovalRequest = server.read().unwrap();
        let mut late = Record::load(&server.save(), actor_from_bytes(&[9; 16])).unwrap();
        late.edit(&EditContext::new("sm2", 4), "offline", |doc| {
            let decisions = ensure_map(doc, &ROOT, "decisions")?;
            let d = Decision {
                step: "s1".into(),
                approved: false,
                by: "sm2".into(),
                at_ms: Int(4),
                comment: "overdue account".into(),
            };
            put_value(doc, &decisions, "s1:sm2", &d)
        })
        .unwrap();
        assert!(
            check_new_decisions(
                &before2,
                &late.read().unwrap(),
                "sm2",
                &["sales_manager"],
                10
            )
            .is_ok()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_inbox_shows_the_step_waiting_for_me() {
        let mut r = quorum_request();
        let req = |r: &Record| -> ApprovalRequest { r.read().unwrap() };
        assert_eq!(
            waiting_for(&req(&r), "m1", &["committee"], 2).as_deref(),
            Some("s1")
        );
        assert_eq!(waiting_for(&req(&r), "gm", &["general_manager"], 2), None);
        decide(
            &mut r,
            "s1",
            true,
            "",
            &["committee"],
            &EditContext::new("m1", 3),
        )
        .unwrap();
        assert_eq!(
            waiting_for(&req(&r), "m1", &["committee"], 4),
            None,
            "decided already"
        );
        assert_eq!(
            waiting_for(&req(&r), "m2", &["committee"], 4).as_deref(),
            Some("s1"),
            "the quorum needs one more"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_write_check_allows_escalation_only_after_the_deadline() {
        let fri = 1_795_744_800_000;
        let new = NewApproval {
            kind: ApprovalKind::ShippingRelease,
            subject: "ship SO-1".into(),
            chain_steps: vec![StepSpec {
                role: "regional_manager".into(),
                deadline_days: 1,
                escalate_to: "business_director".into(),
                ..StepSpec::default()
            }],
            ..NewApproval::default()
        };
        let server = create(
            &new,
            actor_from_bytes(&[8; 16]),
            &EditContext::new("s", fri),
        )
        .unwrap();
        let before: ApprovalRequest = server.read().unwrap();
        let by_director_at = |at: i64| {
            let mut after = server.clone();
            decide(
                &mut after,
                "s1",
                true,
                "",
                &["business_director"],
                &EditContext::new("bd", at),
            )
            .map(|()| {
                check_new_decisions(
                    &before,
                    &after.read().unwrap(),
                    "bd",
                    &["business_director"],
                    at,
                )
            })
        };
        // On Friday the director may not decide yet (the core refuses it already)…
        assert!(by_director_at(fri + 1).is_err());
        // …on Tuesday, past Monday's deadline, both the core and the write check allow it.
        let tuesday = fri + 4 * crate::calendar::DAY_MS;
        assert!(matches!(by_director_at(tuesday), Ok(Ok(()))));
        // A forged early escalation (written past the core) is refused by the write check.
        let mut forged = server.clone();
        forged
            .edit(&EditContext::new("bd", fri + 1), "forge", |doc| {
                let decisions = ensure_map(doc, &ROOT, "decisions")?;
                let d = Decision {
                    step: "s1".into(),
                    approved: true,
                    by: "bd".into(),
                    at_ms: Int(fri + 1),
                    comment: String::new(),
                };
                put_value(doc, &decisions, "s1:bd", &d)
            })
            .unwrap();
        assert!(
            check_new_decisions(
                &before,
                &forged.read().unwrap(),
                "bd",
                &["business_director"],
                fri + 1
            )
            .is_err()
        );
        // A decision dated in the future, to claim the escalation early, is refused; within
        // the allowed clock skew it is not.
        let mut after = server.clone();
        decide(
            &mut after,
            "s1",
            true,
            "",
            &["business_director"],
            &EditContext::new("bd", tuesday),
        )
        .unwrap();
        let after: ApprovalRequest = after.read().unwrap();
        let at_server =
            |now: i64| check_new_decisions(&before, &after, "bd", &["business_director"], now);
        assert!(at_server(tuesday - DECISION_CLOCK_SKEW_MS_MAX).is_ok());
        let err = at_server(tuesday - DECISION_CLOCK_SKEW_MS_MAX - 1).unwrap_err();
        assert!(err[0].message.contains("future"), "{err:?}");
    }
}

/// Property: whatever decisions offline replicas make and in whatever order they merge,
/// every replica derives the same outcome, and any rejection of a reached step rejects.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::record::actor_from_bytes;

    /// One offline decision: on which replica, which step (1–3), which user, yes or no.
    fn decision() -> impl Strategy<Value = (usize, usize, usize, bool)> {
        (
            0..3_usize,
            1..=3_usize,
            0..4_usize,
            prop::bool::weighted(0.8),
        )
    }

    fn chain() -> Record {
        let step = |needed| StepSpec {
            role: "r".into(),
            approvals_needed: needed,
            ..StepSpec::default()
        };
        let new = NewApproval {
            subject: "p".into(),
            chain_steps: vec![step(1), step(2), step(1)],
            ..NewApproval::default()
        };
        create(&new, actor_from_bytes(&[1; 16]), &EditContext::new("s", 1)).unwrap()
    }

    /// Writes a decision as an offline device would (its own key), whatever step it saw.
    fn write(r: &mut Record, step: usize, user: usize, approved: bool, at: i64) {
        let (step, user) = (format!("s{step}"), format!("u{user}"));
        r.edit(&EditContext::new(&user, at), "decide", |doc| {
            let decisions = ensure_map(doc, &ROOT, "decisions")?;
            let d = Decision {
                step: step.clone(),
                approved,
                by: user.clone(),
                at_ms: Int(at),
                comment: "c".into(),
            };
            put_value(doc, &decisions, &format!("{step}:{user}"), &d)
        })
        .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn merge_order_never_changes_the_outcome(decisions in vec(decision(), 0..10)) {
            let mut base = chain();
            let mut replicas: Vec<Record> = (0..3_u8)
                .map(|i| Record::load(&base.save(), actor_from_bytes(&[i + 2; 16])).unwrap())
                .collect();
            for (i, (rep, step, user, ok)) in decisions.iter().enumerate() {
                write(&mut replicas[*rep], *step, *user, *ok, 10 + i as i64);
            }
            let mut forward = base.clone();
            for r in replicas.iter_mut() {
                forward.merge(r).unwrap();
            }
            let mut backward = base.clone();
            for r in replicas.iter_mut().rev() {
                backward.merge(r).unwrap();
            }
            let req: ApprovalRequest = forward.read().unwrap();
            let v = view(&req, 0);
            prop_assert_eq!(&v, &view(&backward.read().unwrap(), 0));
            prop_assert_eq!(&req, &backward.read::<ApprovalRequest>().unwrap());
            // Any stored rejection on a step the walk reached decides the outcome.
            if let Some(step) = &v.rejected_at {
                prop_assert!(req.decisions.values().any(|d| &d.step == step && !d.approved));
            }
            if v.status == ApprovalStatus::Approved {
                prop_assert!(req.decisions.values().all(|d| d.approved));
            }
        }
    }
}
