//! The approval chains Gendan ships (商务的业务流程, the second seed), as configurations of
//! the engine in [`crate::approval`]: who asks, the steps by role in order, deadlines in
//! working days, escalation, and the conditions each kind checks when it is asked.
//!
//! Each [`ChainConfig`] quotes the seed line it follows in `seed`. The seed we hold gives
//! the full step list for credit (授信), returns (退换货) and information collection, the
//! "level by level" (逐级) rule for invoices, the special approval of the general manager,
//! the 3-working-day answer to customers, the refusal of slow-moving returns and the
//! responsible party's cost for damaged packaging. For shipping release, diversion and
//! document requests the seed gives only the chain's name; their steps follow the same
//! hierarchy and are marked `assumed` so an office can replace them.
//!
//! Deadlines the seed does not give use [`DEFAULT_STEP_WORKING_DAYS`]. A step escalates to
//! the next level up in the same hierarchy.
//!
//! To open a request from a shipped chain: `chains::new_request(ApprovalKind::Return,
//! subject)` gives a [`NewApproval`] with the steps filled in; set the order, reason and
//! other fields, then [`crate::approval::create`] (or `ops::create_json` with the same JSON).

use serde::Serialize;

use crate::approval::{ApprovalKind, NewApproval, SpecialPurpose, StepAction, StepSpec};
use crate::common::Problem;

/// 商务代表: sales representative.
pub const SALES_REP: &str = "sales_rep";
/// 商务主管: business supervisor (local).
pub const BUSINESS_SUPERVISOR: &str = "business_supervisor";
/// 省区经理: provincial manager.
pub const PROVINCIAL_MANAGER: &str = "provincial_manager";
/// 商务大区经理: regional business manager.
pub const REGIONAL_MANAGER: &str = "regional_manager";
/// 商务总监: business director.
pub const BUSINESS_DIRECTOR: &str = "business_director";
/// 执行总裁: executive president.
pub const EXECUTIVE_PRESIDENT: &str = "executive_president";
/// 总经理: general manager.
pub const GENERAL_MANAGER: &str = "general_manager";
/// 资信管理员: credit administrator.
pub const CREDIT_ADMINISTRATOR: &str = "credit_administrator";
/// 资信委员会: credit committee (its members hold this role).
pub const CREDIT_COMMITTEE: &str = "credit_committee";
/// 检验部门: inspection department.
pub const INSPECTION: &str = "inspection";
/// 发货员: shipping clerk.
pub const SHIPPING_CLERK: &str = "shipping_clerk";
/// 开票员: the business department's invoice clerk, who prepares the request.
pub const INVOICE_CLERK: &str = "invoice_clerk";
/// 财务部开票员: finance's invoice clerk, who issues the invoice.
pub const FINANCE_INVOICE_CLERK: &str = "finance_invoice_clerk";
/// 资料管理员: the business department's document keeper (assumed).
pub const DOCUMENT_KEEPER: &str = "document_keeper";
/// 跟单员: merchandiser.
pub const MERCHANDISER: &str = "merchandiser";

/// Working days a step has when the seed gives no deadline (an office may change it).
pub const DEFAULT_STEP_WORKING_DAYS: i64 = 2;
/// Working days to answer a customer's question outside one's authority (seed: 不超过3个工作日).
pub const CUSTOMER_ANSWER_WORKING_DAYS: i64 = 3;
/// Approvals the credit committee's decision needs (assumed: more than one member).
pub const CREDIT_COMMITTEE_QUORUM: i64 = 2;

/// The return reason of slow-moving goods: such returns are refused (终端出现滞销的药品公司不予退回).
pub const RETURN_REASON_SLOW_MOVING: &str = "slow_moving";
/// Return reasons a return request may give.
pub const RETURN_REASONS: &[&str] = &[
    "quality",
    "damaged_in_transport",
    "wrong_goods",
    "near_expiry",
    RETURN_REASON_SLOW_MOVING,
];
/// The topics of a customer question (价格、交货期限、质量、运输问题).
pub const QUESTION_TOPICS: &[&str] = &["price", "delivery", "quality", "transport"];

/// One step of a shipped chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepTemplate {
    /// The role deciding it.
    pub role: &'static str,
    /// The seed's words for it.
    pub label: &'static str,
    /// What it does.
    pub action: StepAction,
    /// Working days allowed.
    pub deadline_days: i64,
    /// The role it escalates to (empty = none).
    pub escalate_to: &'static str,
    /// Distinct approvals needed.
    pub approvals_needed: i64,
}

/// A shipped chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainConfig {
    /// Its name, stored on requests made from it.
    pub name: &'static str,
    /// The kind of request.
    pub kind: ApprovalKind,
    /// For special approvals: what for.
    pub purpose: SpecialPurpose,
    /// Chinese name, as in the seed.
    pub name_zh: &'static str,
    /// Who asks.
    pub requester: &'static str,
    /// The steps after the request, in order.
    pub steps: &'static [StepTemplate],
    /// The seed's wording it follows, or why it is assumed.
    pub seed: &'static str,
    /// Whether the steps are assumed (the seed names the chain but not its steps).
    pub assumed: bool,
}

const fn step(
    role: &'static str,
    label: &'static str,
    action: StepAction,
    escalate_to: &'static str,
) -> StepTemplate {
    StepTemplate {
        role,
        label,
        action,
        deadline_days: DEFAULT_STEP_WORKING_DAYS,
        escalate_to,
        approvals_needed: 1,
    }
}

/// 授信: customer credit.
pub const CUSTOMER_CREDIT: ChainConfig = ChainConfig {
    name: "customer_credit",
    kind: ApprovalKind::CustomerCredit,
    purpose: SpecialPurpose::Other,
    name_zh: "授信流程",
    requester: BUSINESS_SUPERVISOR,
    steps: &[
        step(
            PROVINCIAL_MANAGER,
            "省区经理 复核",
            StepAction::Review,
            REGIONAL_MANAGER,
        ),
        step(
            REGIONAL_MANAGER,
            "商务大区经理 初审",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            CREDIT_ADMINISTRATOR,
            "资信管理员 审核备案",
            StepAction::File,
            BUSINESS_DIRECTOR,
        ),
        StepTemplate {
            approvals_needed: CREDIT_COMMITTEE_QUORUM,
            ..step(CREDIT_COMMITTEE, "资信委员会 核决", StepAction::Decide, "")
        },
        step(
            CREDIT_ADMINISTRATOR,
            "资信管理员 通告",
            StepAction::Notify,
            BUSINESS_DIRECTOR,
        ),
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 执行",
            StepAction::Execute,
            PROVINCIAL_MANAGER,
        ),
    ],
    seed: "商务主管 商业公司资料录入 省区经理 复核 商务大区经理 初审 资信管理员 审核备案 资信委员会 核决 资信管理员 通告 商务主管执行",
    assumed: false,
};

/// 发货: shipping release.
pub const SHIPPING_RELEASE: ChainConfig = ChainConfig {
    name: "shipping_release",
    kind: ApprovalKind::ShippingRelease,
    purpose: SpecialPurpose::Other,
    name_zh: "发货流程",
    requester: BUSINESS_SUPERVISOR,
    steps: &[
        step(
            REGIONAL_MANAGER,
            "商务大区经理 审核",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            SHIPPING_CLERK,
            "发货员 发货",
            StepAction::Execute,
            REGIONAL_MANAGER,
        ),
    ],
    seed: "assumed: the seed lists 发货流程 without steps; the regional manager checks receivables (确保公司应收货款及货物的绝对安全) before the shipping clerk ships",
    assumed: true,
};

/// 开票: invoice request.
pub const INVOICE: ChainConfig = ChainConfig {
    name: "invoice",
    kind: ApprovalKind::Invoice,
    purpose: SpecialPurpose::Other,
    name_zh: "开票流程",
    requester: INVOICE_CLERK,
    steps: &[
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 审核签字",
            StepAction::Review,
            PROVINCIAL_MANAGER,
        ),
        step(
            PROVINCIAL_MANAGER,
            "省区经理 审核签字",
            StepAction::Review,
            REGIONAL_MANAGER,
        ),
        step(
            REGIONAL_MANAGER,
            "商务大区经理 审核签字",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            FINANCE_INVOICE_CLERK,
            "财务部开票员 开票",
            StepAction::Execute,
            "",
        ),
    ],
    seed: "开票员将《开票申请单》逐级进行审核签字后，交予财务部开票员 (the levels follow the credit chain's hierarchy)",
    assumed: false,
};

/// 退换货: returns and exchanges.
pub const RETURN: ChainConfig = ChainConfig {
    name: "return",
    kind: ApprovalKind::Return,
    purpose: SpecialPurpose::Other,
    name_zh: "退换货流程",
    requester: SALES_REP,
    steps: &[
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 退货原因",
            StepAction::Review,
            PROVINCIAL_MANAGER,
        ),
        step(
            INSPECTION,
            "检验部门 复核",
            StepAction::Review,
            REGIONAL_MANAGER,
        ),
        step(
            SHIPPING_CLERK,
            "发货员 填写退换货申请",
            StepAction::Prepare,
            REGIONAL_MANAGER,
        ),
        step(
            REGIONAL_MANAGER,
            "商务大区 审核",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            BUSINESS_DIRECTOR,
            "商务总监 审核",
            StepAction::Review,
            EXECUTIVE_PRESIDENT,
        ),
        step(EXECUTIVE_PRESIDENT, "执行总裁 核决", StepAction::Decide, ""),
        step(
            SHIPPING_CLERK,
            "发货员 执行",
            StepAction::Execute,
            REGIONAL_MANAGER,
        ),
    ],
    seed: "商务代表 反映情况 商务主管 退货原因 检验部门 复核 发货员 填写退换货申请 商务大区及商务总监 审核 执行总裁 核决 发货员; 终端出现滞销的药品公司不予退回",
    assumed: false,
};

/// 冲串货: cross-region diversion.
pub const DIVERSION: ChainConfig = ChainConfig {
    name: "diversion",
    kind: ApprovalKind::Diversion,
    purpose: SpecialPurpose::Other,
    name_zh: "冲串货处理流程",
    requester: BUSINESS_SUPERVISOR,
    steps: &[
        step(
            REGIONAL_MANAGER,
            "商务大区经理 核实",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            BUSINESS_DIRECTOR,
            "商务总监 处理决定",
            StepAction::Decide,
            EXECUTIVE_PRESIDENT,
        ),
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 执行",
            StepAction::Execute,
            REGIONAL_MANAGER,
        ),
    ],
    seed: "assumed: the seed lists 冲串货处理流程 without steps",
    assumed: true,
};

/// 资料申请: document request.
pub const DOCUMENT_REQUEST: ChainConfig = ChainConfig {
    name: "document_request",
    kind: ApprovalKind::DocumentRequest,
    purpose: SpecialPurpose::Other,
    name_zh: "资料申请流程",
    requester: SALES_REP,
    steps: &[
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 审核",
            StepAction::Review,
            PROVINCIAL_MANAGER,
        ),
        step(
            REGIONAL_MANAGER,
            "商务大区经理 审批",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            DOCUMENT_KEEPER,
            "资料管理员 提供资料",
            StepAction::Execute,
            REGIONAL_MANAGER,
        ),
    ],
    seed: "assumed: the seed lists 资料申请流程 without steps",
    assumed: true,
};

/// 破损外包装调换: damaged outer packaging exchange.
pub const DAMAGED_PACKAGING: ChainConfig = ChainConfig {
    name: "damaged_packaging",
    kind: ApprovalKind::DamagedPackaging,
    purpose: SpecialPurpose::Other,
    name_zh: "破损外包装调换申请流程",
    requester: SALES_REP,
    steps: &[
        step(
            BUSINESS_SUPERVISOR,
            "商务主管 核实",
            StepAction::Review,
            PROVINCIAL_MANAGER,
        ),
        step(
            INSPECTION,
            "检验部门 确认破损及责任方",
            StepAction::Review,
            REGIONAL_MANAGER,
        ),
        step(
            REGIONAL_MANAGER,
            "商务大区经理 审核",
            StepAction::Review,
            BUSINESS_DIRECTOR,
        ),
        step(
            SHIPPING_CLERK,
            "发货员 调换包装",
            StepAction::Execute,
            REGIONAL_MANAGER,
        ),
    ],
    seed: "从损失最小化角度考虑，可以重新更换包装。所产生的费用由责任方承担 (steps assumed, the cost rule from the seed)",
    assumed: true,
};

/// A customer's question outside one's authority (收款时客户现场反映的问题).
pub const CUSTOMER_QUESTION: ChainConfig = ChainConfig {
    name: "customer_question",
    kind: ApprovalKind::CustomerQuestion,
    purpose: SpecialPurpose::Other,
    name_zh: "客户问题答复",
    requester: BUSINESS_SUPERVISOR,
    steps: &[StepTemplate {
        role: PROVINCIAL_MANAGER,
        label: "省区经理 答复客户",
        action: StepAction::Answer,
        deadline_days: CUSTOMER_ANSWER_WORKING_DAYS,
        escalate_to: REGIONAL_MANAGER,
        approvals_needed: 1,
    }],
    seed: "若在权限外需立即汇报省区经理，并在不超过3个工作日内给予客户答复",
    assumed: false,
};

/// The general manager's special approval to release a PO before its payment gate opens.
pub const SPECIAL_PO_RELEASE: ChainConfig = ChainConfig {
    name: "special_po_release",
    kind: ApprovalKind::Special,
    purpose: SpecialPurpose::PoRelease,
    name_zh: "总经理特批先下单",
    requester: MERCHANDISER,
    steps: &[StepTemplate {
        role: GENERAL_MANAGER,
        label: "总经理 签字特批",
        action: StepAction::Decide,
        deadline_days: 1,
        escalate_to: "",
        approvals_needed: 1,
    }],
    seed: "特殊情况需马上下单的必须得到总经理签字特批后方可安排先下单",
    assumed: false,
};

/// Every shipped chain.
pub const CHAINS: &[ChainConfig] = &[
    CUSTOMER_CREDIT,
    SHIPPING_RELEASE,
    INVOICE,
    RETURN,
    DIVERSION,
    DOCUMENT_REQUEST,
    DAMAGED_PACKAGING,
    CUSTOMER_QUESTION,
    SPECIAL_PO_RELEASE,
];

/// The shipped chain of `kind` (for special approvals, the PO release one).
pub fn chain(kind: ApprovalKind) -> &'static ChainConfig {
    CHAINS
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or(&SPECIAL_PO_RELEASE)
}

/// A shipped chain by its name.
pub fn by_name(name: &str) -> Option<&'static ChainConfig> {
    CHAINS.iter().find(|c| c.name == name)
}

/// A new request from a shipped chain: kind, purpose, chain name and steps filled in.
pub fn new_request(config: &ChainConfig, subject: &str) -> NewApproval {
    NewApproval {
        kind: config.kind,
        purpose: config.purpose,
        chain: config.name.to_string(),
        subject: subject.to_string(),
        chain_steps: config
            .steps
            .iter()
            .map(|s| StepSpec {
                role: s.role.to_string(),
                label: s.label.to_string(),
                action: s.action,
                deadline_days: s.deadline_days,
                approvers: Vec::new(),
                escalate_to: s.escalate_to.to_string(),
                approvals_needed: s.approvals_needed,
            })
            .collect(),
        ..NewApproval::default()
    }
}

/// The conditions a request of its kind must meet when it is asked, from the seed: every
/// problem found.
pub fn check_new(new: &NewApproval) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !new.chain.is_empty() && by_name(&new.chain).is_none() {
        problems.push(Problem::new(
            "chain",
            format!("{:?} is not a shipped chain", new.chain),
        ));
    }
    match new.kind {
        ApprovalKind::Return => {
            if new.reason_code == RETURN_REASON_SLOW_MOVING {
                problems.push(Problem::new(
                    "reason_code",
                    "slow-moving goods are not taken back (终端出现滞销的药品公司不予退回)",
                ));
            } else if !RETURN_REASONS.contains(&new.reason_code.as_str()) {
                problems.push(Problem::new(
                    "reason_code",
                    format!("must be one of {}", RETURN_REASONS.join(", ")),
                ));
            }
        }
        ApprovalKind::DamagedPackaging => {
            if new.responsible_party.trim().is_empty() {
                problems.push(Problem::new(
                    "responsible_party",
                    "is required: the responsible party bears the cost (费用由责任方承担)",
                ));
            }
        }
        ApprovalKind::CustomerQuestion => {
            if !QUESTION_TOPICS.contains(&new.reason_code.as_str()) {
                problems.push(Problem::new(
                    "reason_code",
                    format!("must be the topic: one of {}", QUESTION_TOPICS.join(", ")),
                ));
            }
        }
        ApprovalKind::Special => {
            if new.purpose == SpecialPurpose::PoRelease {
                if new.reason.trim().is_empty() {
                    problems.push(Problem::new(
                        "reason",
                        "a special approval states its reason",
                    ));
                }
                if new.record_id.trim().is_empty() && new.order_no.trim().is_empty() {
                    problems.push(Problem::new(
                        "order_no",
                        "a PO release approval names the order it is for",
                    ));
                }
            }
        }
        ApprovalKind::CustomerCredit
        | ApprovalKind::ShippingRelease
        | ApprovalKind::Invoice
        | ApprovalKind::Diversion
        | ApprovalKind::DocumentRequest => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{self, ApprovalRequest, ApprovalStatus};
    use crate::calendar::{DAY_MS, day_start_ms, local_day, weekday};
    use crate::common::EditContext;
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// 2026-11-27 10:00 China time, a Friday.
    const FRI: i64 = 1_795_744_800_000;

    fn open(new: &NewApproval) -> Record {
        approval::create(
            new,
            actor_from_bytes(&[7; 16]),
            &EditContext::new("asker", FRI),
        )
        .unwrap()
    }

    fn request(config: &ChainConfig) -> Record {
        let mut new = new_request(config, "a request");
        new.reason_code = match config.kind {
            ApprovalKind::Return => "quality".into(),
            ApprovalKind::CustomerQuestion => "delivery".into(),
            _ => String::new(),
        };
        new.responsible_party = "carrier".into();
        new.reason = "rush".into();
        new.order_no = "SO-1".into();
        open(&new)
    }

    fn roles_of(r: &Record) -> Vec<String> {
        let req: ApprovalRequest = r.read().unwrap();
        let mut steps: Vec<_> = req.steps.values().collect();
        steps.sort_by_key(|s| s.order.0);
        steps.iter().map(|s| s.role.clone()).collect()
    }

    fn decide(
        r: &mut Record,
        step: &str,
        ok: bool,
        who: &str,
        role: &str,
        at: i64,
    ) -> Result<(), String> {
        approval::decide(
            r,
            step,
            ok,
            if ok { "" } else { "no" },
            &[role],
            &EditContext::new(who, at),
        )
        .map_err(|e| e.to_string())
    }

    /// Walks a request through every step: at each, someone without the role is refused,
    /// then as many holders as needed approve. Returns the request at the end.
    fn walk(r: &mut Record) -> ApprovalRequest {
        let mut at = FRI + 1;
        loop {
            let req: ApprovalRequest = r.read().unwrap();
            let v = approval::view(&req, at);
            let Some(step) = v.current_step.clone() else {
                return req;
            };
            let s = &req.steps[&step];
            assert!(
                decide(r, &step, true, "stranger", "someone_else", at).is_err(),
                "{} decided by a stranger",
                s.label
            );
            for i in 0..s.needed() {
                at += 1;
                decide(r, &step, true, &format!("{}{i}", s.role), &s.role, at)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.label));
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn customer_credit_follows_the_seed() {
        // 商务主管 资料录入 → 省区经理 复核 → 商务大区经理 初审 → 资信管理员 审核备案 →
        // 资信委员会 核决 → 资信管理员 通告 → 商务主管执行
        let mut r = request(&CUSTOMER_CREDIT);
        assert_eq!(CUSTOMER_CREDIT.requester, BUSINESS_SUPERVISOR);
        assert_eq!(
            roles_of(&r),
            [
                PROVINCIAL_MANAGER,
                REGIONAL_MANAGER,
                CREDIT_ADMINISTRATOR,
                CREDIT_COMMITTEE,
                CREDIT_ADMINISTRATOR,
                BUSINESS_SUPERVISOR
            ]
        );
        let req = walk(&mut r);
        assert_eq!(approval::derive(&req).status, ApprovalStatus::Approved);
        assert_eq!(
            req.decisions
                .keys()
                .filter(|k| k.starts_with("s4:"))
                .count(),
            CREDIT_COMMITTEE_QUORUM as usize,
            "the committee decides with a quorum"
        );
        // The announcement cannot be "rejected": it is done or not yet.
        let mut r = request(&CUSTOMER_CREDIT);
        for (i, (step, role)) in [
            ("s1", PROVINCIAL_MANAGER),
            ("s2", REGIONAL_MANAGER),
            ("s3", CREDIT_ADMINISTRATOR),
        ]
        .iter()
        .enumerate()
        {
            decide(&mut r, step, true, role, role, FRI + 1 + i as i64).unwrap();
        }
        decide(&mut r, "s4", true, "m1", CREDIT_COMMITTEE, FRI + 10).unwrap();
        let v = approval::view(&r.read().unwrap(), FRI + 11);
        assert_eq!(
            (v.current_step.as_deref(), v.approvals, v.approvals_needed),
            (Some("s4"), 1, 2)
        );
        assert!(
            decide(&mut r, "s4", true, "m1", CREDIT_COMMITTEE, FRI + 11).is_err(),
            "one vote each"
        );
        decide(&mut r, "s4", true, "m2", CREDIT_COMMITTEE, FRI + 12).unwrap();
        let err = decide(&mut r, "s5", false, "ca", CREDIT_ADMINISTRATOR, FRI + 13).unwrap_err();
        assert!(err.contains("notify step is done, not rejected"), "{err}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn returns_follow_the_seed_and_slow_moving_goods_are_refused() {
        // 商务代表 反映情况 → 商务主管 退货原因 → 检验部门 复核 → 发货员 填写退换货申请 →
        // 商务大区及商务总监 审核 → 执行总裁 核决 → 发货员
        let mut new = new_request(&RETURN, "return 20 cartons");
        new.reason_code = RETURN_REASON_SLOW_MOVING.into();
        let err = approval::create(
            &new,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("rep", 1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("slow-moving"), "{err}");
        new.reason_code = "no reason we know".into();
        assert!(
            approval::create(
                &new,
                actor_from_bytes(&[1; 16]),
                &EditContext::new("rep", 1)
            )
            .is_err()
        );
        let mut r = request(&RETURN);
        assert_eq!(RETURN.requester, SALES_REP);
        assert_eq!(
            roles_of(&r),
            [
                BUSINESS_SUPERVISOR,
                INSPECTION,
                SHIPPING_CLERK,
                REGIONAL_MANAGER,
                BUSINESS_DIRECTOR,
                EXECUTIVE_PRESIDENT,
                SHIPPING_CLERK
            ]
        );
        assert_eq!(
            approval::derive(&walk(&mut r)).status,
            ApprovalStatus::Approved
        );
        // The executive president's "no" ends it.
        let mut r = request(&RETURN);
        for (i, role) in roles_of(&r).iter().take(5).enumerate() {
            decide(
                &mut r,
                &format!("s{}", i + 1),
                true,
                role,
                role,
                FRI + 1 + i as i64,
            )
            .unwrap();
        }
        decide(&mut r, "s6", false, "ep", EXECUTIVE_PRESIDENT, FRI + 9).unwrap();
        let v = approval::view(&r.read().unwrap(), FRI + 10);
        assert_eq!(
            (v.status, v.rejected_at.as_deref()),
            (ApprovalStatus::Rejected, Some("s6"))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn invoices_are_signed_level_by_level_then_issued_by_finance() {
        // 开票员将《开票申请单》逐级进行审核签字后，交予财务部开票员
        let mut r = request(&INVOICE);
        assert_eq!(INVOICE.requester, INVOICE_CLERK);
        assert_eq!(
            roles_of(&r),
            [
                BUSINESS_SUPERVISOR,
                PROVINCIAL_MANAGER,
                REGIONAL_MANAGER,
                FINANCE_INVOICE_CLERK
            ]
        );
        assert!(
            decide(&mut r, "s2", true, "pm", PROVINCIAL_MANAGER, FRI + 1).is_err(),
            "no level is skipped"
        );
        assert_eq!(
            approval::derive(&walk(&mut r)).status,
            ApprovalStatus::Approved
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn shipping_release_diversion_and_document_requests_walk_their_chains() {
        for (config, roles) in [
            (&SHIPPING_RELEASE, vec![REGIONAL_MANAGER, SHIPPING_CLERK]),
            (
                &DIVERSION,
                vec![REGIONAL_MANAGER, BUSINESS_DIRECTOR, BUSINESS_SUPERVISOR],
            ),
            (
                &DOCUMENT_REQUEST,
                vec![BUSINESS_SUPERVISOR, REGIONAL_MANAGER, DOCUMENT_KEEPER],
            ),
        ] {
            assert!(config.assumed, "{} is marked as assumed", config.name);
            let mut r = request(config);
            assert_eq!(roles_of(&r), roles, "{}", config.name);
            let req = walk(&mut r);
            assert_eq!(approval::derive(&req).status, ApprovalStatus::Approved);
            assert_eq!(req.chain, config.name);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn damaged_packaging_needs_the_party_who_bears_the_cost() {
        // 可以重新更换包装。所产生的费用由责任方承担
        let mut new = new_request(&DAMAGED_PACKAGING, "20 outer cartons crushed");
        let err = approval::create(
            &new,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("rep", 1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("responsible_party"), "{err}");
        new.responsible_party = "carrier".into();
        let mut r = approval::create(
            &new,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("rep", 1),
        )
        .unwrap();
        assert_eq!(
            roles_of(&r),
            [
                BUSINESS_SUPERVISOR,
                INSPECTION,
                REGIONAL_MANAGER,
                SHIPPING_CLERK
            ]
        );
        let req = walk(&mut r);
        assert_eq!(
            (
                approval::derive(&req).status,
                req.responsible_party.as_str()
            ),
            (ApprovalStatus::Approved, "carrier")
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_customer_question_is_answered_within_3_working_days_or_escalates() {
        // 若在权限外需立即汇报省区经理，并在不超过3个工作日内给予客户答复
        let mut new = new_request(&CUSTOMER_QUESTION, "customer asks for 2 weeks more");
        assert!(
            approval::create(
                &new,
                actor_from_bytes(&[1; 16]),
                &EditContext::new("sup", FRI)
            )
            .is_err(),
            "topic required"
        );
        new.reason_code = "delivery".into();
        let mut r = open(&new);
        let req: ApprovalRequest = r.read().unwrap();
        // Asked on Friday: due by the end of Wednesday.
        let v = approval::view(&req, FRI + 1);
        let wed = local_day(FRI) + 5;
        assert_eq!(weekday(wed), 2);
        assert_eq!(v.deadline_ms, Some(day_start_ms(wed + 1)));
        assert!(!v.overdue);
        let last_moment = day_start_ms(wed + 1) - 1;
        assert!(!approval::view(&req, last_moment).overdue);
        // The regional manager may not answer before the deadline…
        assert!(decide(&mut r, "s1", true, "rm", REGIONAL_MANAGER, last_moment).is_err());
        // …but may once it has passed: the step escalates.
        let thursday = day_start_ms(wed + 1) + DAY_MS / 3;
        let v = approval::view(&req, thursday);
        assert!(v.overdue);
        assert_eq!(v.escalated_to.as_deref(), Some(REGIONAL_MANAGER));
        decide(&mut r, "s1", true, "rm", REGIONAL_MANAGER, thursday).unwrap();
        assert_eq!(
            approval::derive(&r.read().unwrap()).status,
            ApprovalStatus::Approved
        );
        // An answer cannot be a "no".
        let mut r = open(&new);
        assert!(decide(&mut r, "s1", false, "pm", PROVINCIAL_MANAGER, FRI + 2).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn special_approvals_are_the_general_managers() {
        // 特殊情况需马上下单的必须得到总经理签字特批后方可安排先下单
        let mut r = request(&SPECIAL_PO_RELEASE);
        assert_eq!(roles_of(&r), [GENERAL_MANAGER]);
        assert!(decide(&mut r, "s1", true, "boss", "approver", FRI + 1).is_err());
        assert_eq!(
            approval::derive(&walk(&mut r)).status,
            ApprovalStatus::Approved
        );
        let req: ApprovalRequest = r.read().unwrap();
        assert_eq!(
            (req.kind, req.purpose),
            (ApprovalKind::Special, SpecialPurpose::PoRelease)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn every_shipped_chain_is_listed_once_and_quotes_the_seed() {
        let mut names: Vec<&str> = CHAINS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHAINS.len());
        for kind in ApprovalKind::ALL {
            assert_eq!(chain(*kind).kind, *kind, "{kind} has a shipped chain");
        }
        for c in CHAINS {
            assert!(!c.seed.is_empty() && !c.steps.is_empty(), "{}", c.name);
            assert_eq!(by_name(c.name).map(|x| x.kind), Some(c.kind));
        }
        let mut unknown = new_request(&RETURN, "x");
        unknown.chain = "made_up".into();
        unknown.reason_code = "quality".into();
        assert!(
            approval::create(
                &unknown,
                actor_from_bytes(&[1; 16]),
                &EditContext::new("a", 1)
            )
            .is_err()
        );
    }
}
