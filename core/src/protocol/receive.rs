//! Receiving a sync message without walking the whole history.
//!
//! Why this is written here and not left to Automerge: on every sync message it receives,
//! Automerge 0.12 (`receive_sync_message`) trims `State::sent_hashes` — the changes sent to
//! the peer and not yet known to have arrived — by walking every ancestor of the heads the
//! peer announced, which is the document's whole change graph, whatever the size of that
//! set (even when it is empty). Most messages a server receives carry no changes: each
//! device answers every change fanned out to it with its new heads. With 50 devices live
//! on one record, a perf profile of the server put 27 % of its CPU in that walk (BENCHMARKS.md,
//! phase d), growing with every edit the record ever had. Every device in that session pays
//! the same walk for every change it is sent.
//!
//! [`receive_sync_message`] does what Automerge does, field for field, except that it trims
//! `sent_hashes` by asking which changes the peer's heads do not cover (`get_changes_meta`,
//! which Automerge answers from cached clocks), and only when the set is not empty and not
//! already covered by the heads themselves. The changes a message carries are applied with
//! Automerge's own `load_incremental` (which logs patches as Automerge's receive does). A
//! message with changes to a read-only state goes to Automerge unchanged. The tests run both
//! on the same sessions and compare the documents, the states and the next messages.

use automerge::sync::{self, Capability, MessageFlags, SyncDoc};
use automerge::{AutoCommit, AutomergeError, ChangeHash};

/// Applies `msg` to `doc` and `state` exactly as
/// `doc.sync().receive_sync_message(state, msg)` does (see the module docs).
pub fn receive_sync_message(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    msg: sync::Message,
) -> Result<(), AutomergeError> {
    if !msg.changes.is_empty() && state.read_only {
        return doc.sync().receive_sync_message(state, msg);
    }
    receive(doc, state, msg, None)
}

/// [`receive_sync_message`] for a message whose changes `doc` already holds: it had
/// `before_heads`, then was loaded with the message's chunks (the hub's guard loads a whole
/// document sent to it once, on a scratch document, and keeps that document instead of
/// loading the same bytes again). Not for a read-only state, whose changes Automerge drops.
pub fn receive_sync_message_loaded(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    msg: sync::Message,
    before_heads: Vec<ChangeHash>,
) -> Result<(), AutomergeError> {
    debug_assert!(!state.read_only, "a read-only state drops the changes");
    receive(doc, state, msg, Some(before_heads))
}

/// Both of the above: the changes are loaded here unless `loaded_from` gives the heads
/// the document had before they were.
fn receive(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    msg: sync::Message,
    loaded_from: Option<Vec<ChangeHash>>,
) -> Result<(), AutomergeError> {
    let sync::Message {
        heads,
        need,
        have,
        flags,
        changes,
        ..
    } = msg;
    state.in_flight = false;
    let loaded = loaded_from.is_some();
    let before_heads = loaded_from.unwrap_or_else(|| doc.get_heads());

    if let Some(flags) = flags {
        apply_flags(state, flags);
    }

    let has_changes = !changes.is_empty();
    if has_changes {
        if !loaded {
            let mut bytes = Vec::with_capacity(changes.iter().map(<[u8]>::len).sum());
            for chunk in changes.iter() {
                bytes.extend_from_slice(chunk);
            }
            doc.load_incremental(&bytes)?;
        }
        let after = doc.get_heads();
        state.shared_heads = advance_heads(&before_heads, &after, &state.shared_heads);
    }

    let known: Vec<ChangeHash> = heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    trim_sent(doc, state, &known);

    if !has_changes && heads == before_heads {
        state.last_sent_heads.clone_from(&heads);
    }
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            // The peer has nothing: start over with it.
            state.last_sent_heads = Vec::new();
            state.sent_hashes = Default::default();
        }
    } else {
        let mut shared = std::mem::take(&mut state.shared_heads);
        shared.extend(known);
        shared.sort();
        shared.dedup();
        state.shared_heads = shared;
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
    Ok(())
}

/// The shared heads after applying changes: the heads the changes added, and the shared
/// heads that are still heads; sorted, without repeats.
fn advance_heads(
    before: &[ChangeHash],
    after: &[ChangeHash],
    shared: &[ChangeHash],
) -> Vec<ChangeHash> {
    let mut advanced: Vec<ChangeHash> = after
        .iter()
        .filter(|h| !before.contains(h))
        .chain(shared.iter().filter(|h| after.contains(h)))
        .copied()
        .collect();
    advanced.sort();
    advanced.dedup();
    advanced
}

/// The flags a peer sends: its capabilities, a request to resend everything, read-only.
fn apply_flags(state: &mut sync::State, flags: MessageFlags) {
    let mut caps = vec![Capability::MessageV2];
    if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
        caps.push(Capability::SyncReset);
    }
    state.their_capabilities = Some(caps);
    if flags.contains(MessageFlags::SYNC_RESET) {
        state.sent_hashes.clear();
    }
    state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
}

/// Drops from `state.sent_hashes` every change `heads` (all known here) include.
fn trim_sent(doc: &mut AutoCommit, state: &mut sync::State, heads: &[ChangeHash]) {
    if state.sent_hashes.is_empty() || heads.is_empty() {
        return;
    }
    // The usual answer: the peer's heads are the changes just sent.
    for h in heads {
        state.sent_hashes.remove(h);
    }
    if state.sent_hashes.is_empty() {
        return;
    }
    let unseen: std::collections::HashSet<ChangeHash> =
        doc.get_changes_meta(heads).iter().map(|c| c.hash).collect();
    state.sent_hashes.retain(|h| unseen.contains(h));
}

#[cfg(test)]
pub(crate) mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    use super::*;

    /// A small deterministic generator (xorshift): the sessions below (and those of
    /// `generate`'s tests) are the same on every run.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A random session's start: a hub (its actor tagged `hub_tag`), 2 to 5 empty peers, and
    /// per peer a fresh sync state on each side (the peer's towards the hub, the hub's
    /// towards the peer).
    pub(crate) type Session = (
        AutoCommit,
        Vec<AutoCommit>,
        Vec<sync::State>,
        Vec<sync::State>,
    );

    pub(crate) fn session(rng: &mut Rng, hub_tag: u8, session: u8) -> Session {
        let hub = AutoCommit::new().with_actor(ActorId::from(vec![hub_tag, session]));
        let peers_n = 2 + rng.below(4) as u8;
        let peers = (0..peers_n)
            .map(|i| AutoCommit::new().with_actor(ActorId::from(vec![i, session])))
            .collect();
        let states = || (0..peers_n).map(|_| sync::State::new()).collect();
        (hub, peers, states(), states())
    }

    /// One random edit: a new value under one of five keys, committed.
    pub(crate) fn edit(doc: &mut AutoCommit, rng: &mut Rng) {
        let key = format!("k{}", rng.below(5));
        doc.put(ROOT, key, rng.next() as i64).expect("put");
        doc.commit();
    }

    /// A record sent whole to an empty document, loaded by the guard on its scratch document
    /// and received with [`receive_sync_message_loaded`], ends as one loaded here: the same
    /// heads, saved bytes, state and next message.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_record_loaded_by_the_guard_is_received_like_one_loaded_here() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        let mut whole = 0;
        for round in 0..20u8 {
            let mut peer = AutoCommit::new().with_actor(ActorId::from(vec![1, round]));
            for _ in 0..=rng.below(12) {
                edit(&mut peer, &mut rng);
            }
            let (mut peer_state, mut hub_state) = (sync::State::new(), sync::State::new());
            let mut hub = AutoCommit::new().with_actor(ActorId::from(vec![2, round]));
            let first = hub
                .sync()
                .generate_sync_message(&mut hub_state)
                .expect("hello");
            receive_sync_message(&mut peer, &mut peer_state, first).expect("peer receives");
            let m = peer
                .sync()
                .generate_sync_message(&mut peer_state)
                .expect("the record");
            let Some(mut loaded) =
                crate::guard::check_chunks_keep(m.changes.iter()).expect("a good chunk")
            else {
                continue;
            };
            whole += 1;
            let mut loaded_state = hub_state.clone();
            let before = hub.get_heads();
            receive_sync_message(&mut hub, &mut hub_state, m.clone()).expect("received");
            receive_sync_message_loaded(&mut loaded, &mut loaded_state, m, before)
                .expect("received");
            assert_eq!(loaded.get_heads(), hub.get_heads(), "round {round}");
            assert_eq!(loaded.save(), hub.save(), "round {round}");
            assert_eq!(loaded_state, hub_state, "round {round}");
            assert_eq!(
                loaded
                    .sync()
                    .generate_sync_message(&mut loaded_state)
                    .map(sync::Message::encode),
                hub.sync()
                    .generate_sync_message(&mut hub_state)
                    .map(sync::Message::encode),
                "round {round}"
            );
        }
        assert!(whole > 15, "{whole} records sent whole");
    }

    /// Peers editing concurrently and syncing in random order through a hub-like middle
    /// peer; every message is received twice, once by Automerge and once here, from the same
    /// document and state: the states must stay equal, and so must the messages generated
    /// next.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn receiving_equals_automerges_own_over_random_sessions() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut checked_without_changes = 0;
        let mut checked_with_changes = 0;
        let mut with_sent_hashes = 0;
        for session in 0..40u8 {
            // The hub's states are received into both ways (ours, and Automerge's for the
            // same messages).
            let (mut hub, mut peers, mut peer_states, mut hub_states) =
                self::session(&mut rng, 0xAA, session);
            let peers_n = peers.len() as u64;
            for _ in 0..120 {
                let p = rng.below(peers_n) as usize;
                match rng.below(4) {
                    0 => edit(&mut peers[p], &mut rng),
                    1 => edit(&mut hub, &mut rng),
                    2 => {
                        // hub -> peer: the peer applies with Automerge.
                        if let Some(m) = hub.sync().generate_sync_message(&mut hub_states[p]) {
                            peers[p]
                                .sync()
                                .receive_sync_message(&mut peer_states[p], m)
                                .expect("peer receives");
                        }
                    }
                    _ => {
                        // peer -> hub: both ways, compared.
                        let Some(m) = peers[p].sync().generate_sync_message(&mut peer_states[p])
                        else {
                            continue;
                        };
                        let without = m.changes.is_empty();
                        let sent_before = hub_states[p].sent_hashes.len();
                        let mut their_doc = hub.clone();
                        let mut their_state = hub_states[p].clone();
                        // Both log patches, as the hub does while it applies a device's change.
                        their_doc.update_diff_cursor();
                        hub.update_diff_cursor();
                        their_doc
                            .sync()
                            .receive_sync_message(&mut their_state, m.clone())
                            .expect("automerge receives");
                        receive_sync_message(&mut hub, &mut hub_states[p], m).expect("we receive");
                        assert_eq!(their_state, hub_states[p], "session {session}: states");
                        assert_eq!(their_doc.get_heads(), hub.get_heads());
                        assert_eq!(
                            their_doc.diff_incremental(),
                            hub.diff_incremental(),
                            "session {session}: patches"
                        );
                        assert_eq!(their_doc.save(), hub.save(), "session {session}: documents");
                        hub.reset_diff_cursor();
                        let next_theirs = their_doc
                            .sync()
                            .generate_sync_message(&mut their_state)
                            .map(sync::Message::encode);
                        let mut probe = hub_states[p].clone();
                        let next_ours = hub
                            .sync()
                            .generate_sync_message(&mut probe)
                            .map(sync::Message::encode);
                        assert_eq!(next_theirs, next_ours, "session {session}: next messages");
                        if !without {
                            checked_with_changes += 1;
                        }
                        if without {
                            checked_without_changes += 1;
                            if sent_before > 0 {
                                with_sent_hashes += 1;
                            }
                        }
                    }
                }
            }
        }
        // The sessions did exercise the paths this module writes by hand.
        assert!(
            checked_without_changes > 200,
            "{checked_without_changes} messages without changes"
        );
        assert!(
            checked_with_changes > 200,
            "{checked_with_changes} messages with changes"
        );
        assert!(
            with_sent_hashes > 50,
            "{with_sent_hashes} messages found sent hashes to trim"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_sync_reset_flag_and_an_empty_peer_are_handled_like_automerge() {
        let mut hub = AutoCommit::new();
        hub.put(ROOT, "a", 1).expect("put");
        hub.commit();
        let mut state = sync::State::new();
        // A new peer says hello; the hub answers with its change: one hash in flight.
        let mut peer = AutoCommit::new();
        let hello = peer
            .sync()
            .generate_sync_message(&mut sync::State::new())
            .expect("a hello");
        receive_sync_message(&mut hub, &mut state, hello).expect("we receive");
        hub.sync()
            .generate_sync_message(&mut state)
            .expect("an answer");
        assert_eq!(state.sent_hashes.len(), 1);
        for flags in [
            None,
            Some(MessageFlags::SYNC_RESET),
            Some(MessageFlags::READ_ONLY | MessageFlags::SUPPORTS_SYNC_RESET),
        ] {
            let mut m = sync::Message {
                heads: Vec::new(),
                need: Vec::new(),
                have: Vec::new(),
                changes: Vec::<Vec<u8>>::new().into(),
                flags: None,
                version: sync::MessageVersion::V1,
            };
            if let Some(f) = flags {
                let mut mf = MessageFlags::new();
                mf.set(f);
                m.flags = Some(mf);
            }
            let mut theirs = state.clone();
            hub.clone()
                .sync()
                .receive_sync_message(&mut theirs, m.clone())
                .expect("automerge receives");
            let mut ours = state.clone();
            receive_sync_message(&mut hub, &mut ours, m).expect("we receive");
            assert_eq!(theirs, ours, "flags {flags:?}");
        }
        // A peer already up to date: its heads are ours, taken as what was last sent.
        let up_to_date = sync::Message {
            heads: hub.get_heads(),
            need: Vec::new(),
            have: Vec::new(),
            changes: Vec::<Vec<u8>>::new().into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        let mut start = state.clone();
        start.last_sent_heads = Vec::new();
        let mut theirs = start.clone();
        hub.clone()
            .sync()
            .receive_sync_message(&mut theirs, up_to_date.clone())
            .expect("automerge receives");
        let mut ours = start;
        receive_sync_message(&mut hub, &mut ours, up_to_date).expect("we receive");
        assert_eq!(theirs, ours);
        assert_eq!(ours.last_sent_heads, hub.get_heads());
    }
}
