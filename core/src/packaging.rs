//! Packaging data and shipping marks (包装资料, 唛头): colour boxes, cards, labels, hang tags,
//! stickers and shipping marks are drafted, sent to the customer and confirmed by them —
//! "所有资料以客人确认为准". Each item's state is derived from its times.
//!
//! From the seed ("确认包装资料"):
//! - a repeat order (翻单) starts from the previous order's data, adjusted, and must be
//!   confirmed with the customer again ([`copy_for_repeat`]);
//! - customers often send shipping-mark data days after the order; when the delivery date
//!   is close the merchandiser chases them ([`shipping_marks_reminder`],
//!   [`SHIPPING_MARKS_REMINDER_DAYS`]).

use serde::{Deserialize, Serialize};

use crate::calendar::DAY_MS;
use crate::common::UnixMs;
use crate::order::{Order, OrderOp, PackagingItem, PackagingKind};

/// Days before delivery from which missing or unconfirmed shipping marks raise a reminder.
pub const SHIPPING_MARKS_REMINDER_DAYS: i64 = 21;

/// Where one packaging item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackagingStatus {
    /// Drafted, not yet sent (or changed after the customer asked for changes).
    Draft,
    /// Sent to the customer, waiting for the answer.
    Sent,
    /// The customer asked for changes to what was sent.
    ChangesRequested,
    /// The customer confirmed it.
    Confirmed,
}

/// The item's state, from its times: the latest of sent, confirmed and rejected decides.
/// A confirmation or rejection older than the latest sending is an answer to an earlier
/// proof and does not count.
pub fn status(item: &PackagingItem) -> PackagingStatus {
    let sent = item.sent_ms.0;
    if sent <= 0 {
        return PackagingStatus::Draft;
    }
    let confirmed = item.confirmed_ms.0;
    let rejected = item.rejected_ms.0;
    if confirmed >= sent && confirmed >= rejected && confirmed > 0 {
        PackagingStatus::Confirmed
    } else if rejected >= sent && rejected > 0 {
        PackagingStatus::ChangesRequested
    } else {
        PackagingStatus::Sent
    }
}

/// A reminder that shipping marks are still missing or unconfirmed close to delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarksReminder {
    /// Whole days left until delivery (negative when past).
    pub days_to_delivery: i64,
    /// Whether no shipping mark was received at all (else some are not yet confirmed).
    pub none_received: bool,
    /// Ids of the shipping marks not yet confirmed.
    pub unconfirmed: Vec<String>,
}

/// A reminder when, at `today_ms`, the delivery date is [`SHIPPING_MARKS_REMINDER_DAYS`] or
/// fewer days away and the order has no shipping mark, or one not yet confirmed by the
/// customer. `None` when marks are all confirmed, the order has no delivery date, or
/// delivery is still far.
pub fn shipping_marks_reminder(order: &Order, today_ms: UnixMs) -> Option<MarksReminder> {
    if order.delivery_ms.0 <= 0 {
        return None;
    }
    let days_to_delivery = (order.delivery_ms.0 - today_ms).div_euclid(DAY_MS);
    if days_to_delivery > SHIPPING_MARKS_REMINDER_DAYS {
        return None;
    }
    let marks: Vec<(&String, &PackagingItem)> = order
        .packaging
        .iter()
        .filter(|(_, p)| p.kind == PackagingKind::ShippingMark)
        .collect();
    let unconfirmed: Vec<String> = marks
        .iter()
        .filter(|(_, p)| status(p) != PackagingStatus::Confirmed)
        .map(|(id, _)| (*id).clone())
        .collect();
    if !marks.is_empty() && unconfirmed.is_empty() {
        return None;
    }
    Some(MarksReminder {
        days_to_delivery,
        none_received: marks.is_empty(),
        unconfirmed,
    })
}

/// The operations that give a repeat order (翻单) the previous order's packaging data to
/// adjust: every item drafted again with the same content and artwork, marked as copied
/// from `previous`'s order no., and not sent or confirmed — the customer confirms whether
/// the printed data is new (翻单订单彩印资料是否新资料需跟客户确认好). Ids are kept, so a
/// repeat of a repeat lines up with the first order.
pub fn copy_for_repeat(previous: &Order) -> Vec<OrderOp> {
    previous
        .packaging
        .iter()
        .map(|(id, p)| OrderOp::AddPackaging {
            id: id.clone(),
            item: PackagingItem {
                kind: p.kind,
                description: p.description.clone(),
                artwork_sha256: p.artwork_sha256.clone(),
                copied_from: previous.order_no.clone(),
                ..PackagingItem::default()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::order::{self, NewOrder};
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    const T0: i64 = 1_795_744_800_000;

    fn order_record(no: &str, delivery_ms: i64) -> Record {
        order::create(
            &NewOrder {
                order_no: no.into(),
                delivery_ms,
                ..NewOrder::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", T0),
        )
        .unwrap()
    }

    fn op(r: &mut Record, op: &OrderOp, at: i64) -> Result<(), String> {
        order::apply(r, op, &format!("l{at}"), &EditContext::new("merch", at))
            .map_err(|e| e.to_string())
    }

    fn add(r: &mut Record, id: &str, kind: PackagingKind, at: i64) {
        let item = PackagingItem {
            kind,
            description: format!("{kind} for the order"),
            ..PackagingItem::default()
        };
        op(
            r,
            &OrderOp::AddPackaging {
                id: id.into(),
                item,
            },
            at,
        )
        .unwrap();
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn drafted_sent_changes_and_confirmed() {
        let mut r = order_record("SO-1", T0 + 60 * DAY_MS);
        add(&mut r, "box", PackagingKind::ColourBox, T0 + 1);
        let st = |r: &Record| status(&r.read::<Order>().unwrap().packaging["box"]);
        assert_eq!(st(&r), PackagingStatus::Draft);
        let err = op(
            &mut r,
            &OrderOp::ConfirmPackaging {
                id: "box".into(),
                confirmed_ms: T0 + 2,
            },
            T0 + 2,
        )
        .unwrap_err();
        assert!(err.contains("never sent"), "{err}");
        let send = |r: &mut Record, at: i64| {
            op(
                r,
                &OrderOp::SendPackaging {
                    id: "box".into(),
                    sent_ms: at,
                },
                at,
            )
            .unwrap();
        };
        send(&mut r, T0 + 3);
        assert_eq!(st(&r), PackagingStatus::Sent);
        op(
            &mut r,
            &OrderOp::RejectPackaging {
                id: "box".into(),
                comment: "logo 5 mm higher".into(),
            },
            T0 + 4,
        )
        .unwrap();
        assert_eq!(st(&r), PackagingStatus::ChangesRequested);
        send(&mut r, T0 + 5);
        assert_eq!(st(&r), PackagingStatus::Sent, "a new proof waits again");
        op(
            &mut r,
            &OrderOp::ConfirmPackaging {
                id: "box".into(),
                confirmed_ms: T0 + 6,
            },
            T0 + 6,
        )
        .unwrap();
        assert_eq!(st(&r), PackagingStatus::Confirmed);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn missing_shipping_marks_remind_close_to_delivery() {
        let delivery = T0 + 30 * DAY_MS;
        let mut r = order_record("SO-1", delivery);
        let at = |days_before: i64| delivery - days_before * DAY_MS;
        let o: Order = r.read().unwrap();
        assert_eq!(
            shipping_marks_reminder(&o, at(SHIPPING_MARKS_REMINDER_DAYS + 1)),
            None,
            "still far from delivery"
        );
        let reminder = shipping_marks_reminder(&o, at(SHIPPING_MARKS_REMINDER_DAYS)).unwrap();
        assert!(reminder.none_received);
        assert_eq!(reminder.days_to_delivery, SHIPPING_MARKS_REMINDER_DAYS);
        add(&mut r, "mark1", PackagingKind::ShippingMark, T0 + 1);
        add(&mut r, "label", PackagingKind::Label, T0 + 2);
        let reminder = shipping_marks_reminder(&r.read().unwrap(), at(10)).unwrap();
        assert_eq!(
            (reminder.none_received, reminder.unconfirmed),
            (false, vec!["mark1".to_string()])
        );
        op(
            &mut r,
            &OrderOp::SendPackaging {
                id: "mark1".into(),
                sent_ms: T0 + 3,
            },
            T0 + 3,
        )
        .unwrap();
        op(
            &mut r,
            &OrderOp::ConfirmPackaging {
                id: "mark1".into(),
                confirmed_ms: T0 + 4,
            },
            T0 + 4,
        )
        .unwrap();
        assert_eq!(
            shipping_marks_reminder(&r.read().unwrap(), at(10)),
            None,
            "an unconfirmed label is not a shipping mark"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_repeat_order_copies_the_previous_packaging_to_confirm_again() {
        let mut first = order_record("SO-1", T0 + 60 * DAY_MS);
        add(&mut first, "box", PackagingKind::ColourBox, T0 + 1);
        add(&mut first, "mark", PackagingKind::ShippingMark, T0 + 2);
        for (i, id) in ["box", "mark"].iter().enumerate() {
            let at = T0 + 10 + i as i64 * 2;
            op(
                &mut first,
                &OrderOp::SendPackaging {
                    id: (*id).into(),
                    sent_ms: at,
                },
                at,
            )
            .unwrap();
            op(
                &mut first,
                &OrderOp::ConfirmPackaging {
                    id: (*id).into(),
                    confirmed_ms: at + 1,
                },
                at + 1,
            )
            .unwrap();
        }
        let previous: Order = first.read().unwrap();
        let mut repeat = order_record("SO-9", T0 + 90 * DAY_MS);
        for (i, o) in copy_for_repeat(&previous).iter().enumerate() {
            op(&mut repeat, o, T0 + 100 + i as i64).unwrap();
        }
        let copied: Order = repeat.read().unwrap();
        assert_eq!(copied.packaging.len(), 2);
        for (id, item) in &copied.packaging {
            let old = &previous.packaging[id];
            assert_eq!(
                (item.kind, &item.description, &item.copied_from),
                (old.kind, &old.description, &"SO-1".to_string())
            );
            assert_eq!(
                status(item),
                PackagingStatus::Draft,
                "to be confirmed again"
            );
        }
        assert!(
            shipping_marks_reminder(&copied, T0 + 80 * DAY_MS).is_some(),
            "a copied mark still needs the customer's confirmation"
        );
    }
}
