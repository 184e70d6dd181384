//! `hub`: the server's protocol state machine ([`Hub`]) driven through a device's session.
//!
//! One device, acting as a random user, connects to a hub whose storage holds an inspection
//! and a stock count (the `write_check` fixtures); a third document does not exist yet and
//! a fourth is another user's index. The input is a list of [`HubOp`]s: well-formed
//! protocol messages (join, request, sync with the device's real Automerge sync messages,
//! ephemeral, leave), raw frames, sync messages with arbitrary data, spoofed senders, raw
//! [`Edit`]s of the device's local copies, records created on the device, flushes,
//! reconnects, idle unloads and clock ticks. The test drives the hub as the server does
//! (loads answered from storage, appends written to it, frames delivered to the device).
//!
//! Asserted:
//!
//! * nothing panics;
//! * every frame the hub sends decodes;
//! * storage always loads: the stored bytes plus every appended chunk load, and give the
//!   heads the hub holds;
//! * a change set is accepted into an existing record only from a user with write access
//!   to it, and a new record only from a user whose role may create that type, as its
//!   `created_by`; never into the index of another user;
//! * at the end, what changed in each stored record passes the `write_check` oracles
//!   ([`write_check::violation`]); a user without write access changed nothing at all.

use std::collections::BTreeMap;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use gendan_core::access::{Principal, Role};
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, NewInspection};
use gendan_core::protocol::hub::{ConnId, Hub, HubConfig, HubLimits, StoreWrite};
use gendan_core::protocol::{
    DocumentId, Message, PeerId, PeerMetadata, SessionId, StorageId, decode, encode,
};
use gendan_core::record::{RecordHeader, RecordType, actor_from_bytes, read_header};
use gendan_core::stock_count::{self, NewStockCount};

use crate::edits::{self, Edit, FlatPath};
use crate::write_check::{self, Who};

/// The documents: stored inspection, stored stock count, not yet existing, qc1's index.
const DOCS: [DocumentId; 4] = [
    DocumentId::from_bytes([3; 16]),
    DocumentId::from_bytes([4; 16]),
    DocumentId::from_bytes([5; 16]),
    DocumentId::from_bytes([6; 16]),
];
const INDEX_OWNER: &str = "qc1";
const PEERS: [&str; 3] = ["dev-1", "dev-2", "server"];
const SERVER: &str = "server";

/// The most operations one input runs.
pub const OPS_MAX: usize = 64;

/// One step of the session.
#[derive(Debug, Clone, Arbitrary)]
pub enum HubOp {
    /// Sends `join` as one of the peers, speaking version 1 or not.
    Join {
        /// Into the peer names.
        peer: u8,
        /// Whether `supportedProtocolVersions` is `["1"]` (else `["2"]`).
        v1: bool,
    },
    /// Sends any bytes as a frame.
    Raw(Vec<u8>),
    /// Sends `request` with the device's sync message for a document.
    Request {
        /// Into the documents.
        doc: u8,
    },
    /// Sends `sync` with the device's next sync message for a document, if it has one.
    Sync {
        /// Into the documents.
        doc: u8,
    },
    /// Sends `sync` or `request` with arbitrary data.
    SyncData {
        /// Into the documents.
        doc: u8,
        /// `request` rather than `sync`.
        request: bool,
        /// The data.
        data: Vec<u8>,
    },
    /// Sends the device's next sync message under another peer's name.
    Spoof {
        /// Into the documents.
        doc: u8,
        /// Into the peer names.
        peer: u8,
    },
    /// Edits the device's copy of a document.
    Edit {
        /// Into the documents.
        doc: u8,
        /// The edit.
        edit: Edit,
    },
    /// Replaces the device's copy of a document with a new record made by the core's
    /// `create`, as some user.
    Create {
        /// Into the documents.
        doc: u8,
        /// Inspection or stock count.
        stock_count: bool,
        /// Into the users: the record's `created_by`.
        user: u8,
    },
    /// Sends `ephemeral`.
    Ephemeral {
        /// Into the documents.
        doc: u8,
        /// The count.
        count: u8,
        /// The session.
        session: u8,
        /// The payload.
        data: Vec<u8>,
    },
    /// Sends `leave`.
    Leave,
    /// The server's flush.
    Flush,
    /// The socket drops and the device connects again (it must join again).
    Reconnect,
    /// The server unloads idle documents.
    Unload {
        /// Idle time, ms.
        idle_ms: u16,
    },
    /// Time passes.
    Tick {
        /// ms.
        ms: u16,
    },
}

/// One fuzz input.
#[derive(Debug, Clone, Arbitrary)]
pub struct Input {
    /// Who the connection is authenticated as.
    pub who: Who,
    /// Whether the device starts with copies of the stored records (e.g. from before its
    /// scope changed), rather than empty documents.
    pub device_has_docs: bool,
    /// The session.
    pub ops: Vec<HubOp>,
}

/// One of the two stored records, with what the checks need of it (computed once).
struct Stored {
    bytes: Vec<u8>,
    kind: RecordType,
    doc: AutoCommit,
    header: RecordHeader,
    heads: Vec<ChangeHash>,
    flat: BTreeMap<FlatPath, String>,
}

thread_local! {
    static STORED: Rc<Vec<Stored>> = Rc::new(
        write_check::fixtures()
            .into_iter()
            .take(2)
            .map(|mut f| {
                let bytes = f.record.save();
                let mut doc = AutoCommit::load(&bytes).expect("fixture loads");
                Stored {
                    kind: f.record.record_type(),
                    header: read_header(&doc).expect("fixture header"),
                    heads: doc.get_heads(),
                    flat: edits::flatten(&doc),
                    doc,
                    bytes,
                }
            })
            .collect(),
    );
}

struct Device {
    docs: Vec<AutoCommit>,
    states: Vec<sync::State>,
    peer: String,
}

struct Session {
    hub: Hub,
    principal: Principal,
    conn: ConnId,
    now_ms: i64,
    storage: BTreeMap<DocumentId, Vec<u8>>,
    device: Device,
    /// (document, created) of every change set accepted.
    accepted: Vec<(DocumentId, bool)>,
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    crate::known::install_hook();
    let _ = outcome(data);
}

/// Runs the target on one input; returns how many change sets the hub accepted (`None`
/// when the input does not decode), for choosing seeds.
pub fn outcome(data: &[u8]) -> Option<usize> {
    let u = Unstructured::new(data);
    let input = Input::arbitrary_take_rest(u).ok()?;
    Some(check(&input))
}

fn doc_index(doc: u8) -> usize {
    doc as usize % DOCS.len()
}

impl Session {
    fn new(input: &Input) -> Self {
        let stored = STORED.with(Rc::clone);
        let mut hub = Hub::new(HubConfig {
            peer_id: PeerId::new(SERVER),
            storage_id: StorageId::new("storage-1"),
            limits: HubLimits {
                frame_bytes_max: 1 << 20,
                docs_per_connection_max: 3,
                ephemeral_bytes_max: 64,
            },
        });
        hub.register_index(INDEX_OWNER, DOCS[3]);
        let mut storage = BTreeMap::new();
        for (i, st) in stored.iter().enumerate() {
            storage.insert(DOCS[i], st.bytes.clone());
        }
        let docs = (0..DOCS.len())
            .map(|i| {
                let doc = match stored.get(i) {
                    Some(st) if input.device_has_docs => st.doc.clone(),
                    _ => AutoCommit::new(),
                };
                doc.with_actor(actor_from_bytes(&[0xd0 + i as u8; 16]))
            })
            .collect();
        let principal = input.who.principal();
        let now_ms = 1_000_000;
        hub.connect(1, principal.clone(), now_ms);
        Session {
            hub,
            principal,
            conn: 1,
            now_ms,
            storage,
            device: Device {
                docs,
                states: (0..DOCS.len()).map(|_| sync::State::new()).collect(),
                peer: PEERS[0].to_string(),
            },
            accepted: Vec::new(),
        }
    }

    fn send(&mut self, msg: &Message) {
        self.hub.receive(self.conn, &encode(msg), self.now_ms);
    }

    fn sync_message(&mut self, i: usize) -> Option<Vec<u8>> {
        let d = &mut self.device;
        d.docs[i]
            .sync()
            .generate_sync_message(&mut d.states[i])
            .map(|m| m.encode())
    }

    fn step(&mut self, op: &HubOp) {
        match op {
            HubOp::Join { peer, v1 } => {
                let peer = PEERS[*peer as usize % PEERS.len()];
                self.device.peer = peer.to_string();
                self.send(&Message::Join {
                    sender_id: PeerId::new(peer),
                    peer_metadata: Some(PeerMetadata {
                        storage_id: None,
                        is_ephemeral: true,
                    }),
                    supported_protocol_versions: vec![if *v1 { "1" } else { "2" }.to_string()],
                });
            }
            HubOp::Raw(frame) => self.hub.receive(self.conn, frame, self.now_ms),
            HubOp::Request { doc } => {
                let i = doc_index(*doc);
                // A request carries the sync message of a document the device lacks.
                self.device.states[i] = sync::State::new();
                let data = self.sync_message(i).unwrap_or_else(|| {
                    AutoCommit::new()
                        .sync()
                        .generate_sync_message(&mut sync::State::new())
                        .expect("an empty document has a first sync message")
                        .encode()
                });
                self.send(&Message::Request {
                    sender_id: PeerId::new(&self.device.peer),
                    target_id: PeerId::new(SERVER),
                    document_id: DOCS[i],
                    data,
                });
            }
            HubOp::Sync { doc } => {
                let i = doc_index(*doc);
                if let Some(data) = self.sync_message(i) {
                    self.send(&Message::Sync {
                        sender_id: PeerId::new(&self.device.peer),
                        target_id: PeerId::new(SERVER),
                        document_id: DOCS[i],
                        data,
                    });
                }
            }
            HubOp::SyncData { doc, request, data } => {
                if data.is_empty() {
                    return;
                }
                let (sender_id, target_id, document_id, data) = (
                    PeerId::new(&self.device.peer),
                    PeerId::new(SERVER),
                    DOCS[doc_index(*doc)],
                    data.clone(),
                );
                self.send(&if *request {
                    Message::Request {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                    }
                } else {
                    Message::Sync {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                    }
                });
            }
            HubOp::Spoof { doc, peer } => {
                let i = doc_index(*doc);
                if let Some(data) = self.sync_message(i) {
                    self.send(&Message::Sync {
                        sender_id: PeerId::new(PEERS[*peer as usize % PEERS.len()]),
                        target_id: PeerId::new(SERVER),
                        document_id: DOCS[i],
                        data,
                    });
                }
            }
            HubOp::Edit { doc, edit } => {
                let d = &mut self.device.docs[doc_index(*doc)];
                edits::apply(d, edit);
                d.commit();
            }
            HubOp::Create {
                doc,
                stock_count,
                user,
            } => {
                let i = doc_index(*doc);
                let user = write_check::USERS[*user as usize % write_check::USERS.len()];
                let ctx = EditContext::new(user, self.now_ms);
                let actor = actor_from_bytes(&[0xd0 + i as u8; 16]);
                let record = if *stock_count {
                    stock_count::create(
                        &NewStockCount {
                            warehouse: "W1".into(),
                            assignees: vec![user.into()],
                            ..NewStockCount::default()
                        },
                        actor,
                        &ctx,
                    )
                } else {
                    inspection::create(
                        &NewInspection {
                            factory: "F1".into(),
                            assignees: vec![user.into()],
                            ..NewInspection::default()
                        },
                        actor,
                        &ctx,
                    )
                };
                self.device.docs[i] = record.expect("create").into_doc();
                self.device.states[i] = sync::State::new();
            }
            HubOp::Ephemeral {
                doc,
                count,
                session,
                data,
            } => {
                if data.is_empty() {
                    return;
                }
                self.send(&Message::Ephemeral {
                    sender_id: PeerId::new(&self.device.peer),
                    target_id: PeerId::new(SERVER),
                    document_id: DOCS[doc_index(*doc)],
                    data: data.clone(),
                    count: u64::from(*count),
                    session_id: SessionId::new(format!("s{session}")),
                });
            }
            HubOp::Leave => self.send(&Message::Leave {
                sender_id: PeerId::new(&self.device.peer),
            }),
            HubOp::Flush => self.hub.flush(self.now_ms),
            HubOp::Reconnect => self.reconnect(),
            HubOp::Unload { idle_ms } => {
                self.hub.unload_idle(self.now_ms, i64::from(*idle_ms));
            }
            HubOp::Tick { ms } => self.now_ms += i64::from(*ms),
        }
    }

    fn reconnect(&mut self) {
        self.hub.disconnect(self.conn);
        self.conn += 1;
        self.hub
            .connect(self.conn, self.principal.clone(), self.now_ms);
        for s in &mut self.device.states {
            *s = sync::State::new();
        }
    }

    /// Carries out the hub's output as the server does, until there is none.
    fn pump(&mut self) {
        for _ in 0..32 {
            let out = self.hub.take_output();
            if out.is_empty() {
                return;
            }
            for doc in out.loads {
                let bytes = self.storage.get(&doc).cloned();
                if let Err(e) = self.hub.loaded(doc, bytes.as_deref(), self.now_ms) {
                    panic!("stored bytes of {doc} do not load: {e}");
                }
            }
            for w in out.writes {
                let StoreWrite::Append { doc, bytes } = w;
                self.storage
                    .entry(doc)
                    .or_default()
                    .extend_from_slice(&bytes);
            }
            for (conn, frame) in out.sends {
                let msg = match decode(&frame) {
                    Ok(m) => m,
                    Err(e) => panic!("the hub sent a frame that does not decode: {e}"),
                };
                if conn == self.conn {
                    self.deliver(msg);
                }
            }
            for a in out.accepted {
                self.accepted.push((a.doc, a.created));
            }
            if out.closes.iter().any(|(c, _)| *c == self.conn) {
                self.reconnect();
            }
        }
    }

    /// A frame for the device: sync messages are applied to its copy; `doc-unavailable`
    /// resets its sync state (the server has nothing: the next sync starts afresh, as in
    /// automerge-repo).
    fn deliver(&mut self, msg: Message) {
        match msg {
            Message::Sync {
                document_id, data, ..
            } => {
                if let Some(i) = DOCS.iter().position(|d| *d == document_id)
                    && let Ok(m) = sync::Message::decode(&data)
                {
                    let d = &mut self.device;
                    let _ = d.docs[i].sync().receive_sync_message(&mut d.states[i], m);
                }
            }
            Message::DocUnavailable { document_id, .. } => {
                if let Some(i) = DOCS.iter().position(|d| *d == document_id) {
                    self.device.states[i] = sync::State::new();
                }
            }
            _ => {}
        }
    }
}

/// Runs one input (panics on a finding); returns how many change sets were accepted.
pub fn check(input: &Input) -> usize {
    let mut s = Session::new(input);
    for op in input.ops.iter().take(OPS_MAX) {
        s.step(op);
        s.pump();
    }
    s.hub.flush(s.now_ms);
    s.pump();

    let p = s.principal.clone();
    let stored = STORED.with(Rc::clone);
    for (doc, created) in &s.accepted {
        let i = DOCS
            .iter()
            .position(|d| d == doc)
            .expect("a known document");
        match i {
            0 | 1 => {
                assert!(!created, "accepted the creation of an existing record");
                assert!(
                    write_check::may_write(&p, &stored[i].header, stored[i].kind),
                    "accepted a change to {doc} by a user without write access: {p:?}"
                );
            }
            2 => {
                // From storage: the hub may have unloaded it since.
                let stored = s.storage.get(doc).expect("an accepted record is stored");
                let header = AutoCommit::load(stored)
                    .ok()
                    .and_then(|d| read_header(&d))
                    .expect("an accepted new record has a header");
                if *created {
                    assert_eq!(header.created_by, p.user, "created as another user");
                    assert!(
                        may_create(p.role, header.record_type),
                        "a {:?} created a {} record",
                        p.role,
                        header.record_type
                    );
                }
            }
            _ => panic!("accepted a change to {INDEX_OWNER}'s index from {p:?}"),
        }
    }
    // Storage: what was written loads, and is what the hub holds.
    for (doc, bytes) in &s.storage {
        let mut loaded = match AutoCommit::load(bytes) {
            Ok(d) => d,
            Err(e) => panic!("storage of {doc} does not load: {e}"),
        };
        if let Some(heads) = s.hub.with_document(doc, |d| d.clone().get_heads()) {
            assert_eq!(
                loaded.get_heads(),
                heads,
                "storage and hub disagree on {doc}"
            );
        }
    }
    // The stored records changed only as the oracles allow.
    for (i, st) in stored.iter().enumerate() {
        let Some(mut now) = s
            .storage
            .get(&DOCS[i])
            .and_then(|b| AutoCommit::load(b).ok())
        else {
            continue;
        };
        if now.get_heads() == st.heads {
            continue;
        }
        let kind = st.kind;
        let after = edits::flatten(&now);
        let diff = edits::changed(&st.flat, &after);
        assert!(
            write_check::may_write(&p, &st.header, kind),
            "a user without write access changed {kind} {:?}: {p:?}",
            diff.iter().map(|d| edits::show(d)).collect::<Vec<_>>()
        );
        let found = write_check::violations(&p, kind, &st.flat, &after, &diff);
        if !found.is_empty() && !crate::known::all_known_violations(&found) {
            panic!(
                "the hub merged a change to {} in the {kind}: {p:?}",
                found.join("; ")
            );
        }
    }
    s.accepted.len()
}

/// Which record types a role may create (DESIGN.md §3).
fn may_create(role: Role, t: RecordType) -> bool {
    match role {
        Role::Admin | Role::Merchandiser | Role::Sales | Role::Approver => {
            !matches!(t, RecordType::UserIndex | RecordType::Unknown)
        }
        Role::Qc => t == RecordType::Inspection,
        Role::Warehouse => matches!(t, RecordType::StockCount | RecordType::ShipmentCheck),
        Role::Shipping => t == RecordType::ShipmentCheck,
        Role::Factory => false,
    }
}
