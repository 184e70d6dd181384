//! Samples (样板): the rounds of the seed in order — proto / first sample (初办), customer
//! comments, pre-production sample (PP办, made in three: one for the customer, one for our
//! own file that QC takes to inspect against, one for the factory), the signed sample (签样)
//! and the shipping / bulk sample (大货样). Comments are kept with the round they belong to
//! ([`crate::order::Sample::comments`]).
//!
//! "The signed sample is what QC inspects against": [`reference_sample`] names it.

use serde::{Deserialize, Serialize};

use crate::order::{Order, PieceHolder, Sample, SampleRound};

/// The sample QC inspects against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceSample {
    /// The sample's id.
    pub id: String,
    /// Its round: `signed`, or `pp` when the customer approved and signed the PP sample
    /// and no separate signed sample was asked for.
    pub round: SampleRound,
    /// Who signed it for the customer.
    pub signed_by: String,
    /// Where QC finds it: our own file's piece of a PP sample, else the sample itself.
    pub holder: PieceHolder,
}

fn approved(s: &Sample) -> bool {
    s.result == "approved"
}

/// The sample QC inspects against: the latest approved signed sample; failing that, the
/// latest approved (and so signed) PP sample. Never a proto or shipping sample, never one
/// rejected or still waiting. `None` when there is none yet — an inspection then has no
/// reference and the office should chase the sample.
pub fn reference_sample(order: &Order) -> Option<ReferenceSample> {
    let latest = |round: SampleRound| {
        order
            .samples
            .iter()
            .filter(|(_, s)| s.round == round && approved(s))
            .max_by(|a, b| (a.1.decided_ms.0, a.0).cmp(&(b.1.decided_ms.0, b.0)))
    };
    let (id, s) = latest(SampleRound::Signed).or_else(|| latest(SampleRound::PreProduction))?;
    Some(ReferenceSample {
        id: id.clone(),
        round: s.round,
        signed_by: s.signed_by.clone(),
        holder: if s.pieces.contains_key(PieceHolder::OwnFile.as_str()) {
            PieceHolder::OwnFile
        } else {
            PieceHolder::Customer
        },
    })
}

/// How one round stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundState {
    /// The round.
    pub round: SampleRound,
    /// Samples sent in it.
    pub sent: usize,
    /// Of which approved.
    pub approved: usize,
    /// Of which rejected.
    pub rejected: usize,
    /// Customer comments on it.
    pub comments: usize,
}

/// Every round in the seed's order with its counts, and the round to work on next: the
/// first one without an approved sample.
pub fn progress(order: &Order) -> (Vec<RoundState>, Option<SampleRound>) {
    let rounds: Vec<RoundState> = SampleRound::ALL
        .iter()
        .map(|round| {
            let of: Vec<&Sample> = order
                .samples
                .values()
                .filter(|s| s.round == *round)
                .collect();
            RoundState {
                round: *round,
                sent: of.iter().filter(|s| s.sent_ms.0 > 0).count(),
                approved: of.iter().filter(|s| approved(s)).count(),
                rejected: of.iter().filter(|s| s.result == "rejected").count(),
                comments: of.iter().map(|s| s.comments.len()).sum(),
            }
        })
        .collect();
    let next = rounds.iter().find(|r| r.approved == 0).map(|r| r.round);
    (rounds, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::order::{self, NewOrder, OrderOp};
    use crate::record::{Record, actor_from_bytes};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn order_record() -> Record {
        order::create(
            &NewOrder {
                order_no: "SO-1".into(),
                ..NewOrder::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap()
    }

    fn op(r: &mut Record, op: OrderOp, at: i64) -> Result<(), String> {
        order::apply(r, &op, &format!("l{at}"), &EditContext::new("merch", at))
            .map_err(|e| e.to_string())
    }

    fn send(r: &mut Record, id: &str, round: SampleRound, at: i64) {
        op(
            r,
            OrderOp::AddSample {
                id: id.into(),
                round,
                sent_ms: at,
            },
            at + 1000,
        )
        .unwrap();
    }

    fn decide(
        r: &mut Record,
        id: &str,
        approved: bool,
        signed_by: &str,
        at: i64,
    ) -> Result<(), String> {
        op(
            r,
            OrderOp::DecideSample {
                sample: id.into(),
                approved,
                signed_by: signed_by.into(),
            },
            at,
        )
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rounds_comments_and_the_reference_sample() {
        let mut r = order_record();
        send(&mut r, "proto1", SampleRound::Proto, 10);
        op(
            &mut r,
            OrderOp::CommentSample {
                sample: "proto1".into(),
                id: "c1".into(),
                text: "collar too wide; use the navy thread".into(),
            },
            11,
        )
        .unwrap();
        decide(&mut r, "proto1", true, "", 12).unwrap();
        assert_eq!(
            reference_sample(&r.read().unwrap()),
            None,
            "a proto is no reference"
        );
        send(&mut r, "pp1", SampleRound::PreProduction, 20);
        let o: Order = r.read().unwrap();
        let holders: Vec<&String> = o.samples["pp1"].pieces.keys().collect();
        assert_eq!(
            holders,
            ["customer", "factory", "own_file"],
            "PP made in three"
        );
        assert!(
            decide(&mut r, "pp1", true, "", 21).is_err(),
            "an approved PP sample bears the customer's signature"
        );
        decide(&mut r, "pp1", false, "", 21).unwrap();
        assert_eq!(
            reference_sample(&r.read().unwrap()),
            None,
            "a rejected PP is no reference"
        );
        send(&mut r, "pp2", SampleRound::PreProduction, 30);
        decide(&mut r, "pp2", true, "J. Smith", 31).unwrap();
        let reference = reference_sample(&r.read().unwrap()).unwrap();
        assert_eq!(
            (reference.id.as_str(), reference.round, reference.holder),
            ("pp2", SampleRound::PreProduction, PieceHolder::OwnFile)
        );
        // A signed sample, once approved, is the reference.
        send(&mut r, "signed1", SampleRound::Signed, 40);
        assert_eq!(
            reference_sample(&r.read().unwrap()).unwrap().id,
            "pp2",
            "the signed sample is still waiting"
        );
        decide(&mut r, "signed1", true, "J. Smith", 41).unwrap();
        let reference = reference_sample(&r.read().unwrap()).unwrap();
        assert_eq!(
            (reference.id.as_str(), reference.signed_by.as_str()),
            ("signed1", "J. Smith")
        );
        let (rounds, next) = progress(&r.read().unwrap());
        assert_eq!(next, Some(SampleRound::Shipping));
        assert_eq!(rounds[0].comments, 1);
        assert_eq!(
            (rounds[1].sent, rounds[1].approved, rounds[1].rejected),
            (2, 1, 1)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_sample_not_sent_cannot_be_decided() {
        let mut r = order_record();
        send(&mut r, "p", SampleRound::Proto, 0);
        let err = decide(&mut r, "p", true, "", 5).unwrap_err();
        assert!(err.contains("never sent"), "{err}");
        assert!(
            decide(&mut r, "nope", true, "", 6)
                .unwrap_err()
                .contains("does not exist")
        );
    }
}
