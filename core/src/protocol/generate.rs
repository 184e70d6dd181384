//! Finding that a peer needs nothing, before building a sync message for it.
//!
//! Why this is written here and not left to Automerge: Automerge 0.12's
//! `generate_sync_message` builds the whole message first — a bloom filter of the changes
//! since the heads it shares with the peer, the list of changes the peer's bloom filter
//! lacks, each starting with a vector clock computed by walking the change graph back to a
//! cached one — and only then looks at whether the peer already has everything and answers
//! `None`. A server asks after every message a device sends: with 50 devices live on one
//! record, most of those asks find nothing to send, and a perf profile put 32 % of the
//! server's CPU in `generate_sync_message` (BENCHMARKS.md, phase d).
//!
//! [`generate_sync_message`] answers `None` itself when Automerge would answer `None`
//! whatever the message it built held, and only then; otherwise it calls Automerge. The
//! conditions are Automerge's, read in the order it applies them:
//!
//! 1. it has answered this peer before and our heads are the ones it last sent;
//! 2. the peer's last sync point is known here (otherwise Automerge sends a reset);
//! 3. a message is in flight (Automerge waits for its answer), or the peer's heads are ours
//!    (or we are read-only) and there is nothing to send: the peer is read-only, has told
//!    us nothing yet, or every change past its last sync points is in one of its bloom
//!    filters and every change it asked for that we have was sent already.
//!
//! A peer that has nothing is sent the whole document, saved. Automerge saves (and
//! compresses) the document again for every such peer; a server that hands the same record
//! to several new devices saves it once here ([`SavedDoc`]) and builds the same message
//! around the saved bytes ([`generate_sync_message_saved`]).
//!
//! The tests compare both over random multi-peer sessions: the answer and the state after it.

use automerge::sync::{self, Capability, SyncDoc};
use automerge::{AutoCommit, ChangeHash};

/// What `doc.sync().generate_sync_message(state)` returns, and the same change to `state`
/// (see the module docs).
pub fn generate_sync_message(
    doc: &mut AutoCommit,
    state: &mut sync::State,
) -> Option<sync::Message> {
    generate_sync_message_saved(doc, state, &mut None)
}

/// A document saved whole at some heads, with the hashes of all its changes: what a peer
/// with nothing is sent. Kept beside a document between messages; stale (and replaced)
/// once the document moves on.
#[derive(Clone, Debug)]
pub struct SavedDoc {
    heads: Vec<ChangeHash>,
    bytes: Vec<u8>,
    hashes: Vec<ChangeHash>,
}

impl SavedDoc {
    /// Saves `doc` whole (which also moves its save point, as `save_incremental` would);
    /// `None` for a document with no changes.
    pub fn save(doc: &mut AutoCommit) -> Option<SavedDoc> {
        let heads = doc.get_heads();
        let bytes = doc.save();
        if heads.is_empty() {
            return None;
        }
        Some(SavedDoc {
            hashes: doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect(),
            heads,
            bytes,
        })
    }

    /// A copy already at hand: `bytes` loaded into an empty document give one with `heads`,
    /// made of the changes `hashes` (a record sent whole, which the hub just loaded).
    pub(crate) fn of_loaded(
        bytes: Vec<u8>,
        heads: Vec<ChangeHash>,
        hashes: Vec<ChangeHash>,
    ) -> SavedDoc {
        SavedDoc {
            heads,
            bytes,
            hashes,
        }
    }
}

/// [`generate_sync_message`], reusing `saved` (and filling it) when the peer is sent the
/// whole document.
pub fn generate_sync_message_saved(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    saved: &mut Option<SavedDoc>,
) -> Option<sync::Message> {
    if nothing_to_send(doc, state) {
        return None;
    }
    if let Some(answer) = whole_document(doc, state, saved) {
        return answer;
    }
    doc.sync().generate_sync_message(state)
}

/// Automerge's answer to a peer that has nothing and reads version 2 messages (the whole
/// document), built from `saved`; `None` in every other case, which Automerge answers.
/// Automerge's steps, in its order: no changes are needed from a peer with no heads; the
/// bloom filter of what we have past the shared heads; a reset if the peer's last sync point
/// is unknown (left to Automerge); the whole document and every change hash; the waiting
/// and up-to-date checks; the state updates and flags.
#[allow(
    clippy::option_option,
    reason = "outer: whether this case applies; inner: the answer"
)]
fn whole_document(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    saved: &mut Option<SavedDoc>,
) -> Option<Option<sync::Message>> {
    if state.needs_reset
        || state.is_peer_read_only()
        || state.their_heads.as_deref() != Some(&[])
        || state.their_need.is_none()
        || !state
            .their_capabilities
            .as_ref()
            .is_some_and(|c| c.contains(&Capability::MessageV2))
    {
        return None;
    }
    let their_have = state.their_have.as_ref()?;
    if let Some(first) = their_have.first()
        && !first.last_sync.iter().all(|h| known(doc, h))
    {
        return None;
    }
    let heads = doc.get_heads();
    if heads.is_empty() {
        return None;
    }
    if state.last_sent_heads == heads && state.have_responded && state.in_flight {
        return Some(None);
    }
    let whole = match saved.take() {
        Some(s) if s.heads == heads => s,
        _ => SavedDoc {
            bytes: doc.document().save(),
            hashes: doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect(),
            heads: heads.clone(),
        },
    };
    let bloom_hashes: Vec<ChangeHash> = doc
        .get_changes_meta(&state.shared_heads)
        .iter()
        .map(|c| c.hash)
        .collect();
    let have = sync::Have {
        last_sync: state.shared_heads.clone(),
        bloom: sync::BloomFilter::from_hashes(bloom_hashes.iter()),
    };
    state.have_responded = true;
    state.last_sent_heads.clone_from(&heads);
    state.sent_hashes.extend(whole.hashes.iter().copied());
    let mut flags = sync::MessageFlags::new();
    flags.set(sync::MessageFlags::SUPPORTS_SYNC_RESET);
    if state.read_only {
        flags.set(sync::MessageFlags::READ_ONLY);
    }
    let message = sync::Message {
        heads,
        need: Vec::new(),
        have: vec![have],
        changes: sync::ChunkList::from(whole.bytes.clone()),
        flags: Some(flags),
        version: sync::MessageVersion::V2,
    };
    state.in_flight = true;
    *saved = Some(whole);
    Some(Some(message))
}

/// True only when Automerge would build a message and then return `None`, leaving the
/// state as it was.
fn nothing_to_send(doc: &mut AutoCommit, state: &sync::State) -> bool {
    if !state.have_responded {
        return false;
    }
    let heads = doc.get_heads();
    if state.last_sent_heads != heads {
        return false;
    }
    if let Some(first) = state.their_have.as_ref().and_then(|h| h.first())
        && !first.last_sync.iter().all(|h| known(doc, h))
    {
        return false;
    }
    if state.in_flight {
        return true;
    }
    if !(state.read_only || state.their_heads.as_ref() == Some(&heads)) {
        return false;
    }
    if state.is_peer_read_only() {
        return true;
    }
    let (Some(their_have), Some(their_need)) = (&state.their_have, &state.their_need) else {
        return true;
    };
    // A peer with nothing is sent the whole document: Automerge decides.
    if state.their_heads.as_ref().is_none_or(Vec::is_empty) {
        return false;
    }
    // With bloom filters, Automerge sends every change past their last sync points that
    // no filter holds (and what depends on it): there is none when those points include all
    // our heads, or when some filter holds each change past them. Which changes those are
    // comes from one clock (`get_changes_meta`, as in `receive`); Automerge's bloom filter of
    // its own is not needed to know that nothing is sent.
    if !their_have.is_empty() {
        let mut last_sync: Vec<ChangeHash> = their_have
            .iter()
            .flat_map(|have| have.last_sync.iter().copied())
            .collect();
        last_sync.sort();
        last_sync.dedup();
        if !heads.iter().all(|h| last_sync.contains(h))
            && !doc.get_changes_meta(&last_sync).iter().all(|change| {
                their_have
                    .iter()
                    .any(|have| have.bloom.contains_hash(&change.hash))
            })
        {
            return false;
        }
    }
    their_need
        .iter()
        .all(|h| state.sent_hashes.contains(h) || !known(doc, h))
}

fn known(doc: &mut AutoCommit, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

#[cfg(test)]
mod tests {
    use automerge::ROOT;
    use automerge::transaction::Transactable;

    use super::*;
    use crate::protocol::receive::receive_sync_message;
    use crate::protocol::receive::tests::{Rng, edit, session as random_session};

    /// How often the answer was found here, without Automerge.
    #[derive(Default)]
    struct Seen {
        waiting: u32,
        up_to_date: u32,
        by_automerge: u32,
        /// The whole document to a peer with nothing, built here; `whole_reused` of those
        /// from a copy saved for an earlier peer.
        whole: u32,
        whole_reused: u32,
    }

    /// Generates with Automerge and with ours from the same document and state; both the
    /// answers and the states after them must be equal. Returns the answer.
    fn both(
        doc: &mut AutoCommit,
        state: &mut sync::State,
        what: &str,
        seen: &mut Seen,
    ) -> Option<sync::Message> {
        both_saved(doc, state, &mut None, what, seen)
    }

    /// [`both`] with the document's saved copy kept between calls.
    fn both_saved(
        doc: &mut AutoCommit,
        state: &mut sync::State,
        saved: &mut Option<SavedDoc>,
        what: &str,
        seen: &mut Seen,
    ) -> Option<sync::Message> {
        let heads = doc.get_heads();
        let reused = saved.as_ref().is_some_and(|s| s.heads == heads);
        if nothing_to_send(doc, state) {
            if state.in_flight {
                seen.waiting += 1;
            } else {
                seen.up_to_date += 1;
            }
        } else if whole_document(doc, &mut state.clone(), &mut saved.clone())
            .is_some_and(|m| m.is_some())
        {
            seen.whole += 1;
            if reused {
                seen.whole_reused += 1;
            }
        } else {
            seen.by_automerge += 1;
        }
        let mut theirs = state.clone();
        let expected = doc.sync().generate_sync_message(&mut theirs);
        let got = generate_sync_message_saved(doc, state, saved);
        assert_eq!(
            expected.clone().map(sync::Message::encode),
            got.clone().map(sync::Message::encode),
            "{what}: messages"
        );
        assert_eq!(&theirs, state, "{what}: states");
        got
    }

    /// Peers editing concurrently and syncing in random order, messages sometimes lost, with
    /// a hub in the middle; every message either side generates is generated both ways.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn generating_equals_automerges_own_over_random_sessions() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut seen = Seen::default();
        for session in 0..40u8 {
            let (mut hub, mut peers, mut peer_states, mut hub_states) =
                random_session(&mut rng, 0xBB, session);
            let peers_n = peers.len();
            let mut hub_saved: Option<SavedDoc> = None;
            let mut peer_saved: Vec<Option<SavedDoc>> = (0..peers_n).map(|_| None).collect();
            // A message may wait in each direction, as on a socket.
            let mut to_peer: Vec<Option<sync::Message>> = (0..peers_n).map(|_| None).collect();
            let mut to_hub: Vec<Option<sync::Message>> = (0..peers_n).map(|_| None).collect();
            for step in 0..240u32 {
                let p = rng.below(peers_n as u64) as usize;
                let what = format!("session {session} step {step} peer {p}");
                match rng.below(24) {
                    0 => edit(&mut peers[p], &mut rng),
                    1 => edit(&mut hub, &mut rng),
                    2..=6 => {
                        let (state, saved) = (&mut hub_states[p], &mut hub_saved);
                        if let Some(m) = both_saved(&mut hub, state, saved, &what, &mut seen) {
                            to_peer[p] = Some(m);
                        }
                    }
                    7..=11 => {
                        let (state, saved) = (&mut peer_states[p], &mut peer_saved[p]);
                        if let Some(m) = both_saved(&mut peers[p], state, saved, &what, &mut seen) {
                            to_hub[p] = Some(m);
                        }
                    }
                    // Each side answers what it receives at once, as the hub and the
                    // devices do.
                    12..=16 => {
                        if let Some(m) = to_peer[p].take() {
                            receive_sync_message(&mut peers[p], &mut peer_states[p], m)
                                .expect("peer receives");
                            let (state, saved) = (&mut peer_states[p], &mut peer_saved[p]);
                            if let Some(m) =
                                both_saved(&mut peers[p], state, saved, &what, &mut seen)
                            {
                                to_hub[p] = Some(m);
                            }
                        }
                    }
                    17..=21 => {
                        if let Some(m) = to_hub[p].take() {
                            receive_sync_message(&mut hub, &mut hub_states[p], m)
                                .expect("hub receives");
                            let (state, saved) = (&mut hub_states[p], &mut hub_saved);
                            if let Some(m) = both_saved(&mut hub, state, saved, &what, &mut seen) {
                                to_peer[p] = Some(m);
                            }
                        }
                    }
                    _ => {
                        // A message lost on the way (a dropped connection keeps its state).
                        if rng.below(4) == 0 {
                            to_peer[p] = None;
                        }
                    }
                }
            }
        }
        // The sessions went through both of the paths answered here, and Automerge's.
        assert!(seen.up_to_date > 100, "{} up to date", seen.up_to_date);
        assert!(seen.waiting > 200, "{} waiting", seen.waiting);
        assert!(
            seen.by_automerge > 500,
            "{} by Automerge",
            seen.by_automerge
        );
        assert!(
            seen.whole > 100 && seen.whole_reused > 30,
            "{} whole documents, {} from a saved copy",
            seen.whole,
            seen.whole_reused
        );
    }

    /// A peer that no longer knows our last sync point answers with an empty bloom filter
    /// and its heads, which may be ours: Automerge then sends every change again, so must we.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_reset_from_a_peer_with_our_heads_gets_every_change_again() {
        let mut hub = AutoCommit::new();
        let mut peer = AutoCommit::new();
        let mut hub_state = sync::State::new();
        let mut peer_state = sync::State::new();
        let mut seen = Seen::default();
        for round in 0..4 {
            hub.put(ROOT, "a", round).expect("put");
            hub.commit();
            for _ in 0..4 {
                if let Some(m) = both(&mut peer, &mut peer_state, "peer", &mut seen) {
                    receive_sync_message(&mut hub, &mut hub_state, m).expect("hub receives");
                }
                if let Some(m) = both(&mut hub, &mut hub_state, "hub", &mut seen) {
                    receive_sync_message(&mut peer, &mut peer_state, m).expect("peer receives");
                }
            }
        }
        assert_eq!(peer.get_heads(), hub.get_heads());
        let reset = sync::Message {
            heads: hub.get_heads(),
            need: Vec::new(),
            have: vec![sync::Have::default()],
            changes: Vec::<Vec<u8>>::new().into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        receive_sync_message(&mut hub, &mut hub_state, reset).expect("hub receives");
        let again = both(&mut hub, &mut hub_state, "after the reset", &mut seen)
            .expect("every change again");
        // (As the whole document, one chunk: the peer supports version 2 messages.)
        let mut copy = AutoCommit::new();
        for chunk in again.changes.iter() {
            copy.load_incremental(chunk).expect("loads");
        }
        assert_eq!(copy.get_heads(), hub.get_heads());
        assert!(seen.up_to_date > 0);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_read_only_side_and_a_peer_with_nothing_are_answered_like_automerge() {
        let mut hub = AutoCommit::new();
        hub.put(ROOT, "a", 1).expect("put");
        hub.commit();
        let mut peer = AutoCommit::new();
        let mut seen = Seen::default();
        for (read_only, peer_read_only) in [(true, false), (false, true), (true, true)] {
            let mut hub_state = sync::State::new();
            hub_state.read_only = read_only;
            let mut peer_state = sync::State::new();
            peer_state.read_only = peer_read_only;
            for round in 0..6 {
                let what = format!("read-only {read_only}/{peer_read_only} round {round}");
                if let Some(m) = both(&mut peer, &mut peer_state, &what, &mut seen) {
                    receive_sync_message(&mut hub, &mut hub_state, m).expect("hub receives");
                }
                if let Some(m) = both(&mut hub, &mut hub_state, &what, &mut seen) {
                    receive_sync_message(&mut peer, &mut peer_state, m).expect("peer receives");
                }
                if round == 2 {
                    hub.put(ROOT, "b", round).expect("put");
                    hub.commit();
                }
            }
        }
        assert!(seen.up_to_date > 0 && seen.by_automerge > 0);
    }
}
