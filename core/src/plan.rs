//! Time & Action plan (进度表) and production follow-up (生产跟进).
//!
//! - [`plan_backwards`]: the order flow's milestones planned backwards from the delivery date
//!   with owners and lead times, from a template ([`DEFAULT_TEMPLATE`]). Stored as ordinary
//!   milestones ([`crate::order::OrderOp::PlanBackwards`]); actual dates and coded late
//!   reasons are recorded with `CompleteMilestone`.
//! - The factory's weekly schedule update (工厂会每个星期更新一次生产计划排程): pieces planned
//!   and finished per week ([`crate::order::OrderOp::SetWeekPlanned`], `SetWeekActual`),
//!   read back with [`weeks`].
//! - [`assess`] and [`risk_report`]: risk derived from plan vs actual vs delivery date, with a
//!   re-projected ship date and alarms, for one order or many at once — "根据客人的交期比对
//!   生产计划排程，如发现某些订单的进度会影响到交期的，应马上与生产计划排程人员协商".
//!
//! Lead times are calendar days (factories work six or seven days a week); `today_ms` is
//! always passed in. Nothing here is stored: risk is derived whenever it is asked for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::{DAY_MS, local_day};
use crate::common::{Int, Problem, UnixMs};
use crate::order::{LateCode, Milestone, Order};

/// One milestone of a plan template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TemplateStep {
    /// Stable code, used as the milestone's id.
    pub code: &'static str,
    /// Name, Chinese and English.
    pub name: &'static str,
    /// The role that owns it (`sales`, `merchandiser`, `factory`, `qc`).
    pub owner_role: &'static str,
    /// Calendar days from this milestone to the next one.
    pub lead_days: i64,
}

const fn t(
    code: &'static str,
    name: &'static str,
    owner_role: &'static str,
    lead_days: i64,
) -> TemplateStep {
    TemplateStep {
        code,
        name,
        owner_role,
        lead_days,
    }
}

/// The milestone code of the shipment, planned on the delivery date.
pub const SHIP_CODE: &str = "ex_factory";
/// The milestone code of the end of bulk production.
pub const PRODUCTION_END_CODE: &str = "production_end";

/// The order flow of PRODUCT.md as a T&A template, in order, ending with the shipment on
/// the delivery date. Lead times are defaults an office adjusts by re-planning.
pub const DEFAULT_TEMPLATE: &[TemplateStep] = &[
    t("contract_review", "合同评审 contract review", "sales", 2),
    t("handover", "合同移交 handover", "sales", 1),
    t("po_released", "下单 PO released", "merchandiser", 7),
    t(
        "proto_sent",
        "初办寄客 proto sample sent",
        "merchandiser",
        10,
    ),
    t(
        "proto_approved",
        "初办确认 proto approved",
        "merchandiser",
        5,
    ),
    t("pp_sent", "产前办寄客 PP sample sent", "merchandiser", 7),
    t(
        "pp_approved",
        "产前办/签样确认 PP / signed sample approved",
        "merchandiser",
        3,
    ),
    t(
        "packaging_confirmed",
        "包装资料确认 packaging confirmed",
        "merchandiser",
        2,
    ),
    t(
        "materials_in",
        "大货物料到厂 bulk materials in",
        "factory",
        3,
    ),
    t(
        "production_start",
        "开始生产 production start",
        "factory",
        14,
    ),
    t("inline_inspection", "中期验货 inline inspection", "qc", 7),
    t(
        "shipping_marks_confirmed",
        "唛头确认 shipping marks confirmed",
        "merchandiser",
        7,
    ),
    t(PRODUCTION_END_CODE, "完成生产 production end", "factory", 2),
    t("final_inspection", "尾期验货 final inspection", "qc", 3),
    t(SHIP_CODE, "出货 ex-factory / ship", "merchandiser", 0),
];

/// The milestones of `template` planned backwards from the order's delivery date: the last
/// one on the delivery date, each earlier one its lead time before the next. Owners come
/// from `owners` by role, else the order's merchandiser (or sales for sales' steps).
pub fn plan_backwards(
    order: &Order,
    template: &[TemplateStep],
    owners: &BTreeMap<String, String>,
) -> Result<Vec<(String, Milestone)>, Problem> {
    if order.delivery_ms.0 <= 0 {
        return Err(Problem::new(
            "delivery_ms",
            "the order needs a delivery date to plan back from",
        ));
    }
    let mut planned = order.delivery_ms.0;
    let mut out = Vec::with_capacity(template.len());
    for step in template.iter().rev() {
        planned -= step.lead_days * DAY_MS;
        let owner = owners.get(step.owner_role).cloned().unwrap_or_else(|| {
            if step.owner_role == "sales" && !order.sales.is_empty() {
                order.sales.clone()
            } else {
                order.merchandiser.clone()
            }
        });
        out.push((
            step.code.to_string(),
            Milestone {
                name: step.name.to_string(),
                owner,
                planned_ms: Int(planned),
                code: step.code.to_string(),
                lead_days: Int(step.lead_days),
                ..Milestone::default()
            },
        ));
    }
    out.reverse();
    Ok(out)
}

/// One week of the production schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekRow {
    /// The week's Monday, `YYYY-MM-DD`.
    pub week: String,
    /// Pieces planned that week.
    pub planned: i64,
    /// Pieces finished that week, if reported.
    pub actual: Option<i64>,
    /// Pieces planned up to and including that week.
    pub planned_total: i64,
    /// Pieces reported finished up to and including that week.
    pub actual_total: i64,
}

/// The weekly schedule in week order, with running totals.
pub fn weeks(order: &Order) -> Vec<WeekRow> {
    let mut keys: Vec<&String> = order
        .week_planned
        .keys()
        .chain(order.week_actual.keys())
        .collect();
    keys.sort();
    keys.dedup();
    let (mut p_total, mut a_total) = (0, 0);
    keys.into_iter()
        .map(|k| {
            let planned = order.week_planned.get(k).map_or(0, |q| q.0);
            let actual = order.week_actual.get(k).map(|q| q.0);
            p_total += planned;
            a_total += actual.unwrap_or(0);
            WeekRow {
                week: k.clone(),
                planned,
                actual,
                planned_total: p_total,
                actual_total: a_total,
            }
        })
        .collect()
}

/// Weeks of reported output averaged to project the factory's rate.
pub const RATE_WEEKS: usize = 4;
/// Production below this share of plan (percent of the planned running total) is behind.
pub const PRODUCTION_BEHIND_PCT: i64 = 90;

/// How bad an order's position is, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Shipped.
    Shipped,
    /// On plan.
    OnTrack,
    /// Something is late or behind, but the projected ship date still meets delivery.
    Watch,
    /// The projected ship date is after the delivery date.
    AtRisk,
    /// The delivery date has passed and the order has not shipped.
    Late,
}

/// Something the merchandiser should act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alarm", rename_all = "snake_case")]
pub enum Alarm {
    /// A milestone's planned date has passed and it is not done.
    MilestoneOverdue {
        /// The milestone's id.
        id: String,
        /// Its name.
        name: String,
        /// Days overdue.
        days: i64,
    },
    /// The factory has finished fewer pieces than it planned to by now.
    ProductionBehind {
        /// Pieces planned up to last week.
        planned: i64,
        /// Pieces reported finished.
        actual: i64,
    },
    /// The re-projected ship date is after the delivery date.
    ProjectedLate {
        /// Days after delivery.
        days: i64,
    },
    /// The delivery date has passed and the order has not shipped.
    PastDelivery {
        /// Days past.
        days: i64,
    },
    /// Shipping marks are still missing or unconfirmed close to delivery.
    ShippingMarksMissing {
        /// Days to delivery.
        days_to_delivery: i64,
    },
}

/// An order's position at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRisk {
    /// The order's document id, as given.
    pub order_id: String,
    /// Order number.
    pub order_no: String,
    /// Style number.
    pub style_no: String,
    /// Factory.
    pub factory: String,
    /// Merchandiser.
    pub merchandiser: String,
    /// The delivery date, ms.
    pub delivery_ms: UnixMs,
    /// The re-projected ship date, ms.
    pub projected_ship_ms: UnixMs,
    /// Days the projection is after delivery (0 when on time).
    pub slip_days: i64,
    /// The level.
    pub level: RiskLevel,
    /// What to act on.
    pub alarms: Vec<Alarm>,
    /// Milestones done late, by coded reason (for the per-factory statistics).
    pub late_by_code: BTreeMap<String, usize>,
}

fn days_between(from: UnixMs, to: UnixMs) -> i64 {
    local_day(to) - local_day(from)
}

/// The order's risk at `today_ms`.
///
/// The ship date is re-projected two ways and the later one counts:
/// - from the milestones, walked in planned order: a done milestone sets the slip to how
///   late it was done (an on-time one recovers earlier slip); an overdue one pushes the
///   slip to at least the days it is overdue; the slip carries to the ship date;
/// - from the weekly schedule: the pieces left at the factory's recent weekly rate (the
///   last [`RATE_WEEKS`] reported weeks) give a production end; its delay against the
///   planned production end carries to the ship date.
pub fn assess(order_id: &str, order: &Order, today_ms: UnixMs) -> OrderRisk {
    let delivery = order.delivery_ms.0;
    let mut alarms = Vec::new();
    let mut milestones: Vec<(&String, &Milestone)> = order.milestones.iter().collect();
    milestones.sort_by_key(|(id, m)| (m.planned_ms.0, (*id).clone()));
    let mut late_by_code = BTreeMap::new();
    let mut slip = 0_i64;
    let mut shipped = false;
    for (id, m) in &milestones {
        let planned = m.planned_ms.0;
        if m.actual_ms.0 > 0 {
            if m.code == SHIP_CODE || id.as_str() == SHIP_CODE {
                shipped = true;
            }
            if planned > 0 {
                slip = days_between(planned, m.actual_ms.0).max(0);
                if slip > 0 || m.late_code != LateCode::None {
                    *late_by_code
                        .entry(m.late_code.as_str().to_string())
                        .or_insert(0) += 1;
                }
            }
        } else if planned > 0 && local_day(today_ms) > local_day(planned) {
            let days = days_between(planned, today_ms);
            slip = slip.max(days);
            alarms.push(Alarm::MilestoneOverdue {
                id: (*id).clone(),
                name: m.name.clone(),
                days,
            });
        }
    }
    // Production: the factory's weekly schedule.
    let rows = weeks(order);
    let this_week = crate::calendar::week_key(today_ms);
    let past: Vec<&WeekRow> = rows.iter().filter(|r| r.week < this_week).collect();
    let planned_to_date = past.last().map_or(0, |r| r.planned_total);
    let actual_to_date: i64 = rows.iter().filter_map(|r| r.actual).sum();
    if planned_to_date > 0 && actual_to_date * 100 < planned_to_date * PRODUCTION_BEHIND_PCT {
        alarms.push(Alarm::ProductionBehind {
            planned: planned_to_date,
            actual: actual_to_date,
        });
    }
    let total_qty: i64 = {
        let lines: i64 = order
            .lines
            .values()
            .map(crate::order::OrderLine::total)
            .sum();
        if lines > 0 {
            lines
        } else {
            rows.last().map_or(0, |r| r.planned_total)
        }
    };
    let reported: Vec<i64> = rows.iter().filter_map(|r| r.actual).collect();
    if !shipped && total_qty > 0 && !reported.is_empty() && actual_to_date < total_qty {
        let recent = &reported[reported.len().saturating_sub(RATE_WEEKS)..];
        let rate = recent.iter().sum::<i64>() / i64::try_from(recent.len()).unwrap_or(1);
        let planned_end = order
            .milestones
            .values()
            .find(|m| m.code == PRODUCTION_END_CODE)
            .map(|m| m.planned_ms.0)
            .filter(|p| *p > 0);
        // With no output in the recent weeks there is no rate to project from: the
        // `ProductionBehind` alarm says so, and the milestones carry the slip.
        if let Some(planned_end) = planned_end
            && rate > 0
        {
            let left = total_qty - actual_to_date;
            let weeks_needed = (left + rate - 1) / rate;
            let projected_end =
                crate::calendar::day_start_ms(crate::calendar::week_monday(today_ms))
                    + weeks_needed * 7 * DAY_MS;
            slip = slip.max(days_between(planned_end, projected_end).max(0));
        }
    }
    let base = if delivery > 0 { delivery } else { today_ms };
    let projected_ship_ms = base + slip * DAY_MS;
    let slip_days = if delivery > 0 {
        days_between(delivery, projected_ship_ms).max(0)
    } else {
        0
    };
    if slip_days > 0 && !shipped {
        alarms.push(Alarm::ProjectedLate { days: slip_days });
    }
    let past_delivery = delivery > 0 && !shipped && local_day(today_ms) > local_day(delivery);
    if past_delivery {
        alarms.push(Alarm::PastDelivery {
            days: days_between(delivery, today_ms),
        });
    }
    if !shipped && let Some(r) = crate::packaging::shipping_marks_reminder(order, today_ms) {
        alarms.push(Alarm::ShippingMarksMissing {
            days_to_delivery: r.days_to_delivery,
        });
    }
    let level = if shipped {
        RiskLevel::Shipped
    } else if past_delivery {
        RiskLevel::Late
    } else if slip_days > 0 {
        RiskLevel::AtRisk
    } else if alarms.is_empty() {
        RiskLevel::OnTrack
    } else {
        RiskLevel::Watch
    };
    OrderRisk {
        order_id: order_id.to_string(),
        order_no: order.order_no.clone(),
        style_no: order.style_no.clone(),
        factory: order.factory.clone(),
        merchandiser: order.merchandiser.clone(),
        delivery_ms: delivery,
        projected_ship_ms: if shipped { base } else { projected_ship_ms },
        slip_days: if shipped { 0 } else { slip_days },
        level,
        alarms: if shipped { Vec::new() } else { alarms },
        late_by_code,
    }
}

/// The risk of many orders at once, worst first (by level, then days of slip, then the
/// earliest delivery, then id): the dashboard's "orders at risk".
pub fn risk_report<'a>(
    orders: impl IntoIterator<Item = (&'a str, &'a Order)>,
    today_ms: UnixMs,
) -> Vec<OrderRisk> {
    let mut out: Vec<OrderRisk> = orders
        .into_iter()
        .map(|(id, o)| assess(id, o, today_ms))
        .collect();
    out.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.slip_days.cmp(&a.slip_days))
            .then(a.delivery_ms.cmp(&b.delivery_ms))
            .then(a.order_id.cmp(&b.order_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::order::{self, NewOrder, OrderLine, OrderOp, PackagingItem, PackagingKind};
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// 2026-11-27 10:00 China time, a Friday.
    const T0: i64 = 1_795_744_800_000;

    fn order_record(delivery_days: i64, qty: i64) -> Record {
        let mut lines = BTreeMap::new();
        lines.insert(
            "navy".to_string(),
            OrderLine {
                colour: "navy".into(),
                quantity: Int(qty),
                ..OrderLine::default()
            },
        );
        order::create(
            &NewOrder {
                order_no: "SO-1".into(),
                merchandiser: "merch".into(),
                sales: "sales1".into(),
                factory: "F1".into(),
                delivery_ms: T0 + delivery_days * DAY_MS,
                lines,
                ..NewOrder::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", T0),
        )
        .unwrap()
    }

    fn op(r: &mut Record, op: OrderOp, at: i64) -> Result<(), String> {
        order::apply(r, &op, &format!("l{at}"), &EditContext::new("merch", at))
            .map_err(|e| e.to_string())
    }

    fn total_lead() -> i64 {
        DEFAULT_TEMPLATE.iter().map(|s| s.lead_days).sum()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn milestones_are_planned_backwards_from_delivery() {
        let mut r = order_record(90, 1000);
        let mut owners = BTreeMap::new();
        owners.insert("qc".to_string(), "qc1".to_string());
        op(&mut r, OrderOp::PlanBackwards { owners }, T0 + 1).unwrap();
        let o: Order = r.read().unwrap();
        assert_eq!(o.milestones.len(), DEFAULT_TEMPLATE.len());
        let delivery = T0 + 90 * DAY_MS;
        assert_eq!(o.milestones[SHIP_CODE].planned_ms.0, delivery);
        assert_eq!(
            o.milestones["final_inspection"].planned_ms.0,
            delivery - 3 * DAY_MS
        );
        assert_eq!(
            o.milestones["contract_review"].planned_ms.0,
            delivery - total_lead() * DAY_MS
        );
        // Every milestone is its lead time before the next.
        for pair in DEFAULT_TEMPLATE.windows(2) {
            let (a, b) = (&o.milestones[pair[0].code], &o.milestones[pair[1].code]);
            assert_eq!(b.planned_ms.0 - a.planned_ms.0, a.lead_days.0 * DAY_MS);
        }
        assert_eq!(o.milestones["final_inspection"].owner, "qc1");
        assert_eq!(o.milestones["handover"].owner, "sales1");
        assert_eq!(o.milestones["materials_in"].owner, "merch");
        // Planning again keeps what is there (ids are the codes).
        op(
            &mut r,
            OrderOp::ReplanMilestone {
                id: "handover".into(),
                planned_ms: T0 + 5 * DAY_MS,
            },
            T0 + 2,
        )
        .unwrap();
        op(
            &mut r,
            OrderOp::PlanBackwards {
                owners: BTreeMap::new(),
            },
            T0 + 3,
        )
        .unwrap();
        let o: Order = r.read().unwrap();
        assert_eq!(o.milestones["handover"].planned_ms.0, T0 + 5 * DAY_MS);
        // No delivery date, no plan.
        let mut none = order_record(0, 1);
        op(&mut none, OrderOp::SetDelivery { delivery_ms: 0 }, T0 + 4).unwrap();
        let err = op(
            &mut none,
            OrderOp::PlanBackwards {
                owners: BTreeMap::new(),
            },
            T0 + 5,
        )
        .unwrap_err();
        assert!(err.contains("delivery date"), "{err}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_late_milestone_needs_a_code_and_moves_the_projected_ship_date() {
        let mut r = order_record(90, 1000);
        op(
            &mut r,
            OrderOp::PlanBackwards {
                owners: BTreeMap::new(),
            },
            T0 + 1,
        )
        .unwrap();
        let o: Order = r.read().unwrap();
        for (i, id) in ["contract_review", "handover"].iter().enumerate() {
            op(
                &mut r,
                OrderOp::CompleteMilestone {
                    id: (*id).into(),
                    actual_ms: o.milestones[*id].planned_ms.0,
                    late_reason: String::new(),
                    late_code: LateCode::None,
                },
                T0 + 2 + i as i64,
            )
            .unwrap();
        }
        let po_planned = o.milestones["po_released"].planned_ms.0;
        // On the planned day: on track.
        let risk = assess("o1", &r.read().unwrap(), po_planned);
        assert_eq!((risk.level, risk.slip_days), (RiskLevel::OnTrack, 0));
        // Four days after the planned PO release, still not released: overdue, and the ship
        // date projects 4 days late.
        let today = po_planned + 4 * DAY_MS;
        let risk = assess("o1", &r.read().unwrap(), today);
        assert_eq!(risk.level, RiskLevel::AtRisk);
        assert_eq!(risk.slip_days, 4);
        assert_eq!(risk.projected_ship_ms, o.delivery_ms.0 + 4 * DAY_MS);
        assert!(risk.alarms.iter().any(
            |a| matches!(a, Alarm::MilestoneOverdue { id, days: 4, .. } if id == "po_released")
        ));
        // Done 6 days late: a late code is required, and the 6 days carry forward.
        let err = op(
            &mut r,
            OrderOp::CompleteMilestone {
                id: "po_released".into(),
                actual_ms: po_planned + 6 * DAY_MS,
                late_reason: String::new(),
                late_code: LateCode::None,
            },
            today,
        )
        .unwrap_err();
        assert!(err.contains("late_code"), "{err}");
        op(
            &mut r,
            OrderOp::CompleteMilestone {
                id: "po_released".into(),
                actual_ms: po_planned + 6 * DAY_MS,
                late_reason: "deposit arrived late".into(),
                late_code: LateCode::PaymentLate,
            },
            today + 1,
        )
        .unwrap();
        let risk = assess("o1", &r.read().unwrap(), po_planned + 6 * DAY_MS);
        assert_eq!(risk.slip_days, 6);
        assert_eq!(risk.late_by_code.get("payment_late"), Some(&1));
        // The next milestone done on its planned date recovers the slip.
        let proto_planned = o.milestones["proto_sent"].planned_ms.0;
        op(
            &mut r,
            OrderOp::CompleteMilestone {
                id: "proto_sent".into(),
                actual_ms: proto_planned,
                late_reason: String::new(),
                late_code: LateCode::None,
            },
            today + 2,
        )
        .unwrap();
        let risk = assess("o1", &r.read().unwrap(), proto_planned);
        assert_eq!((risk.level, risk.slip_days), (RiskLevel::OnTrack, 0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_weekly_schedule_projects_production_at_the_factorys_rate() {
        // Delivery in 8 weeks; production planned to end 2 days before final inspection.
        let mut r = order_record(56, 1000);
        op(
            &mut r,
            OrderOp::PlanBackwards {
                owners: BTreeMap::new(),
            },
            T0 + 1,
        )
        .unwrap();
        for (i, id) in DEFAULT_TEMPLATE
            .iter()
            .map(|s| s.code)
            .take_while(|c| *c != "production_start")
            .enumerate()
        {
            // Everything before production done on plan (dates in the past are fine here).
            let o: Order = r.read().unwrap();
            let planned = o.milestones[id].planned_ms.0;
            op(
                &mut r,
                OrderOp::CompleteMilestone {
                    id: id.into(),
                    actual_ms: planned,
                    late_reason: String::new(),
                    late_code: LateCode::None,
                },
                T0 + 10 + i as i64,
            )
            .unwrap();
        }
        // The factory planned 250 a week for 4 weeks and finished 100 a week for two weeks.
        for w in 0..4 {
            op(
                &mut r,
                OrderOp::SetWeekPlanned {
                    week_ms: T0 + w * 7 * DAY_MS,
                    qty: 250,
                },
                T0 + 100 + w,
            )
            .unwrap();
        }
        for w in 0..2 {
            op(
                &mut r,
                OrderOp::SetWeekActual {
                    week_ms: T0 + w * 7 * DAY_MS,
                    qty: 100,
                },
                T0 + 200 + w,
            )
            .unwrap();
        }
        let today = T0 + 14 * DAY_MS; // the third week
        let o: Order = r.read().unwrap();
        let rows = weeks(&o);
        assert_eq!(rows.len(), 4);
        assert_eq!((rows[1].planned_total, rows[1].actual_total), (500, 200));
        let risk = assess("o1", &o, today);
        assert!(risk.alarms.contains(&Alarm::ProductionBehind {
            planned: 500,
            actual: 200
        }));
        // 800 left at 100 a week = 8 weeks from this week's Monday.
        let monday = crate::calendar::day_start_ms(crate::calendar::week_monday(today));
        let projected_end = monday + 8 * 7 * DAY_MS;
        let planned_end = o.milestones[PRODUCTION_END_CODE].planned_ms.0;
        let expected_slip = days_between(planned_end, projected_end);
        assert!(expected_slip > 0);
        assert_eq!(risk.slip_days, expected_slip);
        assert_eq!(risk.level, RiskLevel::AtRisk);
        // Had the factory kept to 250 a week, production would end in time.
        for w in 0..2 {
            op(
                &mut r,
                OrderOp::SetWeekActual {
                    week_ms: T0 + w * 7 * DAY_MS,
                    qty: 250,
                },
                T0 + 300 + w,
            )
            .unwrap();
        }
        let risk = assess("o1", &r.read().unwrap(), today);
        assert_eq!(risk.slip_days, 0, "{risk:?}");
        assert!(
            op(
                &mut r,
                OrderOp::SetWeekActual {
                    week_ms: T0,
                    qty: order::WEEK_QTY_MAX + 1
                },
                T0 + 400
            )
            .is_err()
        );
        assert!(
            op(
                &mut r,
                OrderOp::SetWeekActual {
                    week_ms: T0,
                    qty: order::WEEK_QTY_MAX
                },
                T0 + 401
            )
            .is_ok()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_report_puts_the_worst_orders_first() {
        let mut on_track = order_record(90, 10);
        let mut at_risk = order_record(60, 10);
        let mut late = order_record(5, 10);
        let mut shipped = order_record(3, 10);
        for r in [&mut on_track, &mut at_risk, &mut late, &mut shipped] {
            op(
                r,
                OrderOp::PlanBackwards {
                    owners: BTreeMap::new(),
                },
                T0 + 1,
            )
            .unwrap();
        }
        // Shipping marks are in for the on-track one.
        op(
            &mut on_track,
            OrderOp::AddPackaging {
                id: "m".into(),
                item: PackagingItem {
                    kind: PackagingKind::ShippingMark,
                    ..PackagingItem::default()
                },
            },
            T0 + 2,
        )
        .unwrap();
        op(
            &mut shipped,
            OrderOp::CompleteMilestone {
                id: SHIP_CODE.into(),
                actual_ms: T0 + 3 * DAY_MS,
                late_reason: String::new(),
                late_code: LateCode::None,
            },
            T0 + 3,
        )
        .unwrap();
        // Today: every order's early milestones are past and undone, except on_track's.
        let today = T0 + 10 * DAY_MS;
        let on_track_o: Order = {
            let mut o: Order = on_track.read().unwrap();
            for m in o.milestones.values_mut() {
                if m.planned_ms.0 <= today {
                    m.actual_ms = m.planned_ms;
                }
            }
            o
        };
        let (a, l, s) = (
            at_risk.read::<Order>().unwrap(),
            late.read::<Order>().unwrap(),
            shipped.read::<Order>().unwrap(),
        );
        let report = risk_report(
            [
                ("ok", &on_track_o),
                ("ship", &s),
                ("risk", &a),
                ("late", &l),
            ],
            today,
        );
        let order: Vec<(&str, RiskLevel)> = report
            .iter()
            .map(|r| (r.order_id.as_str(), r.level))
            .collect();
        assert_eq!(
            order,
            vec![
                ("late", RiskLevel::Late),
                ("risk", RiskLevel::AtRisk),
                ("ok", RiskLevel::OnTrack),
                ("ship", RiskLevel::Shipped),
            ]
        );
        assert!(report[0].alarms.contains(&Alarm::PastDelivery { days: 5 }));
        assert!(report[1].slip_days > 0);
        assert!(report[2].alarms.is_empty(), "{:?}", report[2].alarms);
        assert!(
            report[3].alarms.is_empty(),
            "a shipped order raises nothing"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_plan_update_and_an_output_report_made_at_once_both_survive() {
        let mut office = order_record(60, 500);
        let mut factory_side = Record::load(&office.save(), actor_from_bytes(&[9; 16])).unwrap();
        op(
            &mut office,
            OrderOp::SetWeekPlanned {
                week_ms: T0,
                qty: 120,
            },
            T0 + 1,
        )
        .unwrap();
        op(
            &mut factory_side,
            OrderOp::SetWeekActual {
                week_ms: T0 + DAY_MS,
                qty: 95,
            },
            T0 + 2,
        )
        .unwrap();
        office.merge(&mut factory_side).unwrap();
        let rows = weeks(&office.read().unwrap());
        assert_eq!(rows.len(), 1, "the same week");
        assert_eq!((rows[0].planned, rows[0].actual), (120, Some(95)));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn behind_means_below_the_named_share_and_the_rate_uses_recent_weeks() {
        let mut o: Order = order_record(200, 10_000).read().unwrap();
        let week = |n: i64| crate::calendar::week_key(T0 + n * 7 * DAY_MS);
        let today = T0 + 10 * 7 * DAY_MS;
        // Ten past weeks planned at 100: 1000 planned to date.
        for n in 0..10 {
            o.week_planned.insert(week(n), Int(100));
        }
        let behind = |o: &Order| {
            assess("o", o, today)
                .alarms
                .iter()
                .any(|a| matches!(a, Alarm::ProductionBehind { .. }))
        };
        o.week_actual
            .insert(week(0), Int(10 * PRODUCTION_BEHIND_PCT));
        assert!(!behind(&o), "exactly the share is not behind");
        o.week_actual
            .insert(week(0), Int(10 * PRODUCTION_BEHIND_PCT - 1));
        assert!(behind(&o));
        // The rate is the average of the last RATE_WEEKS reported weeks only: a big first
        // week followed by RATE_WEEKS slow weeks projects at the slow rate.
        let mut o: Order = order_record(200, 10_000).read().unwrap();
        o.milestones.insert(
            PRODUCTION_END_CODE.into(),
            Milestone {
                code: PRODUCTION_END_CODE.into(),
                planned_ms: Int(T0 + 30 * 7 * DAY_MS),
                ..Milestone::default()
            },
        );
        o.week_actual.insert(week(0), Int(5_000));
        let slow = 100;
        for n in 1..=RATE_WEEKS as i64 {
            o.week_actual.insert(week(n), Int(slow));
        }
        let done = 5_000 + slow * RATE_WEEKS as i64;
        let weeks_needed = (10_000 - done + slow - 1) / slow;
        let monday = crate::calendar::day_start_ms(crate::calendar::week_monday(today));
        let expected = days_between(T0 + 30 * 7 * DAY_MS, monday + weeks_needed * 7 * DAY_MS);
        assert!(expected > 0);
        let risk = assess("o", &o, today);
        assert_eq!(risk.projected_ship_ms, o.delivery_ms.0 + expected * DAY_MS);
        // No output at all in the recent weeks: no projection from production, only the
        // alarm.
        let mut idle: Order = order_record(200, 10_000).read().unwrap();
        idle.milestones = o.milestones.clone();
        idle.week_planned.insert(week(0), Int(500));
        idle.week_actual.insert(week(0), Int(0));
        let risk = assess("o", &idle, today);
        assert_eq!(risk.slip_days, 0);
        assert!(behind(&idle));
    }
}
