//! The hub's protocol rules, one at a time: handshake, version check, re-join, sender
//! checks, limits, ephemeral relay and de-duplication, unknown types, scope.
#![cfg(not(target_arch = "wasm32"))]

use gendan_core::access::{Principal, Role};
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, NewInspection};
use gendan_core::protocol::hub::{ConnId, Hub, HubConfig, HubLimits, Output, StoreWrite};
use gendan_core::protocol::{
    DocumentId, Message, PeerId, PeerMetadata, SessionId, StorageId, decode, encode,
};
use gendan_core::record::actor_from_bytes;

fn qc(user: &str) -> Principal {
    Principal {
        user: user.into(),
        role: Role::Qc,
        factory: None,
        warehouse: None,
        titles: Vec::new(),
    }
}

fn hub_with(limits: HubLimits) -> Hub {
    Hub::new(HubConfig {
        peer_id: PeerId::new("server"),
        storage_id: StorageId::new("s"),
        limits,
    })
}

fn join(peer: &str) -> Vec<u8> {
    encode(&Message::Join {
        sender_id: PeerId::new(peer),
        peer_metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
        }),
        supported_protocol_versions: vec!["1".into()],
    })
}

fn sent(out: &Output, conn: ConnId) -> Vec<Message> {
    out.sends
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, f)| decode(f).unwrap())
        .collect()
}

/// A stored inspection assigned to qc1, and the hub that has it loaded on request.
struct Fixture {
    hub: Hub,
    doc: DocumentId,
    bytes: Vec<u8>,
}

/// A new inspection assigned to qc1, made by `who` with actor `actor`.
fn qc1_inspection(lot_size: u64, actor: u8, who: &str) -> gendan_core::Record {
    let new = NewInspection {
        lot_size,
        assignees: vec!["qc1".into()],
        ..NewInspection::default()
    };
    inspection::create(
        &new,
        actor_from_bytes(&[actor; 16]),
        &EditContext::new(who, 0),
    )
    .unwrap()
}

impl Fixture {
    fn new(limits: HubLimits) -> Self {
        let mut r = qc1_inspection(500, 1, "office");
        Fixture {
            hub: hub_with(limits),
            doc: DocumentId::from_bytes([3; 16]),
            bytes: r.save(),
        }
    }

    /// Drives loads like the server does and returns everything else.
    fn run(&mut self) -> Output {
        let mut all = Output::default();
        loop {
            let out = self.hub.take_output();
            if out.is_empty() {
                return all;
            }
            for d in out.loads {
                let bytes = (d == self.doc).then(|| self.bytes.clone());
                self.hub.loaded(d, bytes.as_deref(), 0).unwrap();
            }
            all.sends.extend(out.sends);
            all.closes.extend(out.closes);
            all.writes.extend(out.writes);
            all.rejected.extend(out.rejected);
            all.accepted.extend(out.accepted);
        }
    }

    fn connect(&mut self, conn: ConnId, who: Principal, peer: &str) {
        self.hub.connect(conn, who, 0);
        self.hub.receive(conn, &join(peer), 0);
        let out = self.run();
        assert!(matches!(sent(&out, conn)[0], Message::Peer { .. }));
    }

    fn request(&mut self, conn: ConnId, peer: &str, doc: DocumentId) -> Output {
        let mut empty = automerge::AutoCommit::new();
        let mut state = automerge::sync::State::new();
        use automerge::sync::SyncDoc;
        let data = empty
            .sync()
            .generate_sync_message(&mut state)
            .unwrap()
            .encode();
        let msg = Message::Request {
            sender_id: PeerId::new(peer),
            target_id: PeerId::new("server"),
            document_id: doc,
            data,
        };
        self.hub.receive(conn, &encode(&msg), 0);
        self.run()
    }
}

#[test]
fn handshake_answers_peer_with_storage_id() {
    let mut f = Fixture::new(HubLimits::default());
    f.hub.connect(1, qc("qc1"), 0);
    f.hub.receive(1, &join("dev-1"), 0);
    let out = f.run();
    match &sent(&out, 1)[0] {
        Message::Peer {
            target_id,
            selected_protocol_version,
            peer_metadata,
            ..
        } => {
            assert_eq!(target_id.as_str(), "dev-1");
            assert_eq!(selected_protocol_version, "1");
            assert_eq!(
                peer_metadata
                    .as_ref()
                    .unwrap()
                    .storage_id
                    .as_ref()
                    .unwrap()
                    .as_str(),
                "s"
            );
        }
        m => panic!("{m:?}"),
    }
}

#[test]
fn protocol_violations_get_an_error_and_a_close() {
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "message before join",
            vec![encode(&Message::Leave {
                sender_id: PeerId::new("x"),
            })],
        ),
        (
            "unsupported version",
            vec![encode(&Message::Join {
                sender_id: PeerId::new("x"),
                peer_metadata: None,
                supported_protocol_versions: vec!["2".into()],
            })],
        ),
        ("second join", vec![join("x"), join("x")]),
        (
            "sender mismatch",
            vec![
                join("x"),
                encode(&Message::DocUnavailable {
                    sender_id: PeerId::new("y"),
                    target_id: PeerId::new("server"),
                    document_id: DocumentId::from_bytes([1; 16]),
                }),
            ],
        ),
        ("garbage", vec![vec![0xff, 0x00, 0x13]]),
        ("empty frame", vec![vec![]]),
    ];
    for (name, frames) in cases {
        let mut f = Fixture::new(HubLimits::default());
        f.hub.connect(7, qc("qc1"), 0);
        for fr in &frames {
            f.hub.receive(7, fr, 0);
        }
        let out = f.run();
        assert!(
            sent(&out, 7)
                .iter()
                .any(|m| matches!(m, Message::Error { .. })),
            "{name}: no error sent"
        );
        assert_eq!(out.closes.len(), 1, "{name}: not closed");
    }
}

#[test]
fn unknown_message_types_are_ignored() {
    let mut f = Fixture::new(HubLimits::default());
    f.connect(1, qc("qc1"), "dev-1");
    f.hub.receive(
        1,
        &encode(&Message::Unknown {
            type_name: "future-thing".into(),
        }),
        0,
    );
    let out = f.run();
    assert!(out.sends.is_empty() && out.closes.is_empty());
}

#[test]
fn rejoin_with_the_same_peer_id_replaces_the_old_connection() {
    let mut f = Fixture::new(HubLimits::default());
    f.connect(1, qc("qc1"), "dev-1");
    f.hub.connect(2, qc("qc1"), 0);
    f.hub.receive(2, &join("dev-1"), 0);
    let out = f.run();
    assert_eq!(
        out.closes.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![1]
    );
    assert!(matches!(sent(&out, 2)[0], Message::Peer { .. }));
    assert_eq!(f.hub.connection_count(), 1);
}

#[test]
fn frame_size_limit_is_enforced() {
    let mut f = Fixture::new(HubLimits {
        frame_bytes_max: 64,
        ..HubLimits::default()
    });
    f.hub.connect(1, qc("qc1"), 0);
    f.hub.receive(1, &join("dev-1"), 0); // small enough
    let big = encode(&Message::Ephemeral {
        sender_id: PeerId::new("dev-1"),
        target_id: PeerId::new("server"),
        document_id: DocumentId::from_bytes([1; 16]),
        data: vec![1; 100],
        count: 1,
        session_id: SessionId::new("s"),
    });
    assert!(big.len() > 64);
    f.hub.receive(1, &big, 0);
    let out = f.run();
    assert!(
        sent(&out, 1)
            .iter()
            .any(|m| matches!(m, Message::Error { message, .. } if message.contains("bad frame")))
    );
}

#[test]
fn documents_per_connection_limit_is_enforced() {
    let mut f = Fixture::new(HubLimits {
        docs_per_connection_max: 2,
        ..HubLimits::default()
    });
    f.connect(1, qc("qc1"), "dev-1");
    // Unknown documents requested stay registered (waiting), so they count.
    f.request(1, "dev-1", DocumentId::from_bytes([10; 16]));
    f.request(1, "dev-1", DocumentId::from_bytes([11; 16]));
    let out = f.request(1, "dev-1", DocumentId::from_bytes([12; 16]));
    assert!(sent(&out, 1).iter().any(
        |m| matches!(m, Message::Error { message, .. } if message.contains("too many documents"))
    ));
    assert_eq!(out.closes.len(), 1);
}

#[test]
fn in_scope_request_syncs_and_out_of_scope_looks_like_missing() {
    let mut f = Fixture::new(HubLimits::default());
    f.connect(1, qc("qc1"), "dev-1");
    f.connect(2, qc("qc2"), "dev-2");
    let doc = f.doc;
    let out = f.request(1, "dev-1", doc);
    assert!(
        matches!(sent(&out, 1)[0], Message::Sync { .. }),
        "assigned: synced"
    );
    let out = f.request(2, "dev-2", doc);
    let unknown = f.request(2, "dev-2", DocumentId::from_bytes([99; 16]));
    let (a, b) = (sent(&out, 2), sent(&unknown, 2));
    assert!(matches!(a[..], [Message::DocUnavailable { .. }]), "{a:?}");
    assert!(matches!(b[..], [Message::DocUnavailable { .. }]), "{b:?}");
}

#[test]
fn ephemeral_is_relayed_once_to_other_peers_only() {
    let mut f = Fixture::new(HubLimits::default());
    f.connect(1, qc("qc1"), "dev-1");
    f.connect(2, qc("qc1"), "dev-2");
    let doc = f.doc;
    f.request(1, "dev-1", doc);
    f.request(2, "dev-2", doc);
    let eph = |count| {
        encode(&Message::Ephemeral {
            sender_id: PeerId::new("dev-1"),
            target_id: PeerId::new("server"),
            document_id: doc,
            data: vec![0xa0],
            count,
            session_id: SessionId::new("sess"),
        })
    };
    f.hub.receive(1, &eph(1), 0);
    let out = f.run();
    assert!(sent(&out, 1).is_empty(), "never back to the sender");
    match &sent(&out, 2)[..] {
        [
            Message::Ephemeral {
                sender_id,
                target_id,
                count: 1,
                data,
                ..
            },
        ] => {
            assert_eq!(
                (sender_id.as_str(), target_id.as_str(), data.as_slice()),
                ("dev-1", "dev-2", &[0xa0][..])
            );
        }
        m => panic!("{m:?}"),
    }
    f.hub.receive(1, &eph(1), 0); // duplicate
    assert!(f.run().sends.is_empty(), "duplicates are dropped");
    f.hub.receive(1, &eph(2), 0);
    assert_eq!(sent(&f.run(), 2).len(), 1);
}

#[test]
fn index_documents_are_read_only_and_private() {
    let mut f = Fixture::new(HubLimits::default());
    let doc = f.doc;
    f.hub.register_index("qc1", doc);
    f.connect(1, qc("qc1"), "dev-1");
    f.connect(2, qc("qc2"), "dev-2");
    let out = f.request(2, "dev-2", doc);
    assert!(
        matches!(sent(&out, 2)[..], [Message::DocUnavailable { .. }]),
        "another user's index is absent"
    );
    let out = f.request(1, "dev-1", doc);
    assert!(
        matches!(sent(&out, 1)[0], Message::Sync { .. }),
        "the owner reads it"
    );
    assert!(
        out.writes
            .iter()
            .all(|w| !matches!(w, StoreWrite::Append { .. }))
    );
}

/// Recomputes the checksum of every chunk in `data` (the fuzz inputs kept for Automerge's
/// panics reach them only with valid checksums).
fn fix_checksums(data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = data.to_vec();
    let mut at = 0;
    while out.len() >= at + 10 && out[at..at + 4] == [0x85, 0x6f, 0x4a, 0x83] {
        let type_at = at + 8;
        let (mut len, mut used) = (0u64, 0usize);
        for (i, b) in out[type_at + 1..].iter().take(10).enumerate() {
            len |= u64::from(b & 0x7f) << (7 * i);
            used = i + 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let start = type_at + 1 + used;
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            break;
        };
        if end > out.len() {
            break;
        }
        let mut minimal = Vec::new();
        let mut v = len;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                minimal.push(byte);
                break;
            }
            minimal.push(byte | 0x80);
        }
        let mut h = Sha256::new();
        h.update([out[type_at]]);
        h.update(&minimal);
        h.update(&out[start..end]);
        let digest = h.finalize();
        out[at + 4..at + 8].copy_from_slice(&digest[..4]);
        at = end;
    }
    out
}

/// A sync message may carry a whole document instead of changes. The malformed documents
/// our fuzzing found make Automerge 0.12 panic; sent by a peer, they are refused (kept in
/// quarantine) and the hub goes on serving the record.
#[test]
fn a_sync_message_carrying_a_malformed_document_is_refused_without_a_panic() {
    use automerge::sync::SyncDoc;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/document_load");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("automerge-")
        })
        .collect();
    inputs.sort();
    assert_eq!(inputs.len(), 3, "the kept inputs: {inputs:?}");
    let mut malformed = 0;
    for (n, input) in inputs.iter().enumerate() {
        let chunk = fix_checksums(&std::fs::read(input).unwrap());
        if matches!(
            gendan_core::guard::check_chunks([chunk.as_slice()]),
            Err(gendan_core::guard::GuardError::Malformed(_))
        ) {
            malformed += 1;
        }
        let mut f = Fixture::new(HubLimits::default());
        f.connect(1, qc("qc1"), "dev-1");
        let doc = f.doc;
        f.request(1, "dev-1", doc);
        // A well-formed message of this device, with the malformed document as its changes.
        let mut device = automerge::AutoCommit::new();
        let mut state = automerge::sync::State::new();
        let mut msg = device.sync().generate_sync_message(&mut state).unwrap();
        msg.changes = automerge::sync::ChunkList::from(chunk.clone());
        let frame = encode(&Message::Sync {
            sender_id: PeerId::new("dev-1"),
            target_id: PeerId::new("server"),
            document_id: doc,
            data: msg.encode(),
        });
        f.hub.receive(1, &frame, 0);
        let out = f.run();
        assert_eq!(
            out.accepted.len(),
            0,
            "{}: nothing accepted",
            input.display()
        );
        assert_eq!(out.writes.len(), 0, "{}: nothing stored", input.display());
        assert!(
            out.rejected.len() == 1 || !out.closes.is_empty(),
            "{}: refused",
            input.display()
        );
        // The hub still serves the record to another device of the user.
        f.connect(2, qc("qc1"), &format!("dev-2-{n}"));
        let out = f.request(2, &format!("dev-2-{n}"), doc);
        assert!(matches!(sent(&out, 2)[0], Message::Sync { .. }));
    }
    // At least one of them still makes Automerge panic (else this test proves nothing).
    assert!(
        malformed >= 1,
        "no kept input reaches an Automerge panic any more"
    );
}

/// The server's own edits made in place: what was committed is written and counted as a
/// change, uncommitted operations are rolled back, and a failed edit still writes what it
/// had committed before failing (memory and storage never disagree).
#[test]
fn local_edits_in_place_write_what_was_committed() {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};
    let mut f = Fixture::new(HubLimits::default());
    let doc = f.doc;
    let server = automerge::ActorId::from([9_u8; 16].as_slice());
    assert!(
        f.hub
            .edit_local(doc, &server, |_| Ok::<(), ()>(()))
            .is_none(),
        "not loaded yet"
    );
    f.hub.loaded(doc, Some(&f.bytes), 0).unwrap();
    let _ = f.hub.take_output();

    // Committed: one append, marked changed.
    let done = f.hub.edit_local(doc, &server, |d| {
        d.put(ROOT, "note", "one")?;
        d.commit();
        Ok::<(), automerge::AutomergeError>(())
    });
    assert!(matches!(done, Some(Ok(()))));
    let out = f.hub.take_output();
    assert_eq!(out.writes.len(), 1);
    assert_eq!(out.changed, [doc]);

    // Nothing committed: rolled back, nothing written.
    let none = f.hub.edit_local(doc, &server, |d| {
        d.put(ROOT, "note", "never")?;
        Ok::<(), automerge::AutomergeError>(())
    });
    assert!(matches!(none, Some(Ok(()))));
    let out = f.hub.take_output();
    assert!(out.writes.is_empty() && out.changed.is_empty());

    // Committed, then failed: the committed part is written all the same.
    let failed = f.hub.edit_local(doc, &server, |d| {
        d.put(ROOT, "note", "two").unwrap();
        d.commit();
        d.put(ROOT, "note", "dropped").unwrap();
        Err::<(), &str>("gave up")
    });
    assert!(matches!(failed, Some(Err("gave up"))));
    let out = f.hub.take_output();
    assert_eq!(out.writes.len(), 1);
    let note = f
        .hub
        .with_document(&doc, |d| {
            d.get(ROOT, "note").unwrap().unwrap().0.to_string()
        })
        .unwrap();
    assert_eq!(note, "\"two\"");
    // Every write replays to the same document.
    let StoreWrite::Append { bytes, .. } = &out.writes[0];
    assert!(!bytes.is_empty());
    assert_eq!(
        f.hub.with_document(&doc, |d| d.get_actor().clone()),
        Some(server)
    );
}

#[test]
fn a_created_document_is_installed_whole_and_served() {
    let mut f = Fixture::new(HubLimits::default());
    let doc = f.doc;
    let made = automerge::AutoCommit::load(&f.bytes).unwrap();
    let heads = automerge::transaction::Transactable::base_heads(&made);
    assert!(f.hub.create_local(doc, made, f.bytes.clone()).is_ok());
    let out = f.run();
    // Written as it came, marked changed for the summaries, readable at once.
    assert_eq!(out.writes.len(), 1);
    let StoreWrite::Append {
        doc: written,
        bytes,
    } = &out.writes[0];
    assert_eq!((written, bytes), (&doc, &f.bytes));
    assert_eq!(
        f.hub
            .with_document(&doc, automerge::transaction::Transactable::base_heads),
        Some(heads)
    );
    // The owner's device gets it like any stored record.
    f.connect(1, qc("qc1"), "tablet");
    let out = f.request(1, "tablet", doc);
    assert!(matches!(sent(&out, 1)[0], Message::Sync { .. }));
    // A second creation under the same id is handed back, not installed over it.
    let again = automerge::AutoCommit::load(&f.bytes).unwrap();
    assert!(f.hub.create_local(doc, again, f.bytes.clone()).is_err());
}

/// The record a device was sent: its first sync message's changes loaded into an empty
/// document; also the changes as sent.
fn record_sent(out: &Output, conn: ConnId) -> (automerge::AutoCommit, Vec<Vec<u8>>) {
    let data = sent(out, conn)
        .into_iter()
        .find_map(|m| match m {
            Message::Sync { data, .. } => Some(data),
            _ => None,
        })
        .expect("a sync message");
    let msg = automerge::sync::Message::decode(&data).unwrap();
    let chunks: Vec<Vec<u8>> = msg.changes.iter().map(<[u8]>::to_vec).collect();
    let mut doc = automerge::AutoCommit::new();
    for c in &chunks {
        doc.load_incremental(c).unwrap();
    }
    (doc, chunks)
}

#[test]
fn new_devices_are_sent_the_record_saved_once_and_never_an_old_copy() {
    let mut f = Fixture::new(HubLimits::default());
    let doc = f.doc;
    let stored = automerge::AutoCommit::load(&f.bytes).unwrap().get_heads();
    for (conn, peer) in [(1, "tab-1"), (2, "tab-2"), (3, "tab-3")] {
        f.connect(conn, qc("qc1"), peer);
    }
    // Two new devices: the whole record, the same bytes (saved when it was loaded).
    let (mut first, first_chunks) = record_sent(&f.request(1, "tab-1", doc), 1);
    let (mut second, second_chunks) = record_sent(&f.request(2, "tab-2", doc), 2);
    assert_eq!(first.get_heads(), stored);
    assert_eq!(second.get_heads(), stored);
    assert_eq!(first_chunks, second_chunks);
    assert_eq!(first_chunks.len(), 1, "one chunk: the whole document");
    // After a change, a new device gets the changed record, not the copy saved before it.
    let actor = automerge::ActorId::from([7u8; 16]);
    let edited = f.hub.edit_local(doc, &actor, |d| {
        automerge::transaction::Transactable::put(d, automerge::ROOT, "lot_size", 800)?;
        d.commit();
        Ok::<(), automerge::AutomergeError>(())
    });
    assert!(matches!(edited, Some(Ok(()))));
    let _ = f.run();
    let now = f
        .hub
        .with_document(&doc, automerge::transaction::Transactable::base_heads)
        .unwrap();
    assert_ne!(now, stored);
    let (mut third, third_chunks) = record_sent(&f.request(3, "tab-3", doc), 3);
    assert_eq!(third.get_heads(), now);
    assert_ne!(third_chunks, first_chunks);
}

/// Syncs `doc` between a device on `conn` and the hub until neither has more to say; returns
/// the change chunks the device sent. The whole document goes uncompressed (as some
/// clients save it), so that its bytes differ from the hub's own save.
fn sync_device(
    f: &mut Fixture,
    conn: ConnId,
    peer: &str,
    id: DocumentId,
    doc: &mut automerge::AutoCommit,
) -> Vec<Vec<u8>> {
    use automerge::sync::SyncDoc;
    let mut state = automerge::sync::State::new();
    let mut sent_chunks = Vec::new();
    for _ in 0..10 {
        let Some(mut m) = doc.sync().generate_sync_message(&mut state) else {
            break;
        };
        if m.changes.len() == 1 && m.version == automerge::sync::MessageVersion::V2 {
            m.changes = vec![doc.save_nocompress()].into();
        }
        sent_chunks.extend(m.changes.iter().map(<[u8]>::to_vec));
        let msg = Message::Sync {
            sender_id: PeerId::new(peer),
            target_id: PeerId::new("server"),
            document_id: id,
            data: m.encode(),
        };
        f.hub.receive(conn, &encode(&msg), 0);
        for m in sent(&f.run(), conn) {
            if let Message::Sync { data, .. } = m {
                let m = automerge::sync::Message::decode(&data).unwrap();
                doc.sync().receive_sync_message(&mut state, m).unwrap();
            }
        }
    }
    sent_chunks
}

#[test]
fn a_record_pushed_whole_is_served_to_the_next_device_as_it_came() {
    let mut f = Fixture::new(HubLimits::default());
    f.connect(1, qc("qc1"), "tab-1");
    f.connect(2, qc("qc1"), "tab-2");
    let mut made = qc1_inspection(300, 9, "qc1").into_doc();
    let id = DocumentId::from_bytes([8; 16]);
    let pushed = sync_device(&mut f, 1, "tab-1", id, &mut made);
    assert_eq!(pushed.len(), 1, "sent whole, in one chunk");
    assert_ne!(pushed[0], made.save(), "not as the hub would save it");
    assert_eq!(
        f.hub
            .with_document(&id, automerge::transaction::Transactable::base_heads),
        Some(made.get_heads()),
        "created"
    );
    let (mut fetched, chunks) = record_sent(&f.request(2, "tab-2", id), 2);
    assert_eq!(fetched.get_heads(), made.get_heads());
    assert_eq!(chunks, pushed, "the bytes it came in");
}
