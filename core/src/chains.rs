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
