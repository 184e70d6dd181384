//! The server side of the sync protocol: a hub that many devices connect to, as a state
//! machine with no IO.
//!
//! # Run loop
//!
//! The driver (the server) owns the sockets, the storage and the clock. For each connection
//! it calls [`Hub::connect`] with the authenticated [`Principal`], then feeds every frame
//! it reads to [`Hub::receive`]. After a batch of inputs (everything that is ready, up to a
//! bound) it calls [`Hub::flush`], takes the [`Output`] with [`Hub::take_output`] and
//! carries it out **in this order**:
//!
//! 1. `loads`: read each document from storage and hand it back with [`Hub::loaded`]
//!    (which may produce more output: loop until no loads are left);
//! 2. `writes`: write every chunk, then flush storage once (group commit);
//! 3. `sends` and `closes`: only now, because a sync message may carry heads that include
//!    the changes just written — nothing acknowledged is ever lost.
//!
//! Every incoming change set is checked with [`crate::access::check_write`] (and the
//! business checks: [`crate::access::check_not_locked`], [`crate::access::check_decisions`],
//! [`crate::access::check_sign_offs`]) before it is merged, against the connection's
//! principal as the driver last gave it ([`Hub::update_principal`]); a rejected one is
//! reported in `rejected` (for the quarantine) and never merged, and the device is told
//! with `doc-unavailable`. An accepted change to a record at an older schema is followed by
//! the server's upgrade of it ([`crate::record::upgrade_doc`]), written and sent with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::sync;
use automerge::{AutoCommit, ChangeHash};

use crate::access::{Access, Principal, changed_paths, check_write, record_access};
use crate::common::{Problem, UnixMs};
use crate::protocol::generate::{SavedDoc, generate_sync_message_saved};
use crate::protocol::{
    DocumentId, Message, PROTOCOL_VERSION, PeerId, PeerMetadata, SessionId, StorageId,
    decode_with_max, encode,
};
use crate::record::{Record, RecordHeader};

/// A connection, numbered by the driver.
pub type ConnId = u64;

/// The hub's limits. Each is a configuration value with a test that crosses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLimits {
    /// The largest frame accepted, in bytes.
    pub frame_bytes_max: usize,
    /// The most documents one connection may sync at once.
    pub docs_per_connection_max: usize,
    /// The largest `ephemeral` payload relayed, in bytes.
    pub ephemeral_bytes_max: usize,
}

/// The largest frame a connection may send by default: 16 MiB (a record with its whole
/// history is far smaller; photos travel as blobs, not in documents).
pub const FRAME_BYTES_MAX_DEFAULT: usize = 16 * 1024 * 1024;
/// Documents one connection may sync by default (a device's whole scope).
pub const DOCS_PER_CONNECTION_MAX_DEFAULT: usize = 50_000;
/// The largest ephemeral payload relayed by default.
pub const EPHEMERAL_BYTES_MAX_DEFAULT: usize = 64 * 1024;

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            frame_bytes_max: FRAME_BYTES_MAX_DEFAULT,
            docs_per_connection_max: DOCS_PER_CONNECTION_MAX_DEFAULT,
            ephemeral_bytes_max: EPHEMERAL_BYTES_MAX_DEFAULT,
        }
    }
}

/// A write the driver must make durable before it sends anything of the same output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreWrite {
    /// Append an incremental chunk (new changes) to a document.
    Append {
        /// The document.
        doc: DocumentId,
        /// Bytes from `save_incremental`.
        bytes: Vec<u8>,
    },
}

/// A change set merged from a device: for attribution and projections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The document.
    pub doc: DocumentId,
    /// Who delivered it.
    pub user: String,
    /// Through which peer (device).
    pub peer: PeerId,
    /// When it arrived.
    pub at_ms: UnixMs,
    /// The hashes of the changes that were new to the server.
    pub change_hashes: Vec<ChangeHash>,
    /// Whether this change set created the document.
    pub created: bool,
}

/// A change set refused: for the quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The document.
    pub doc: DocumentId,
    /// Who delivered it.
    pub user: String,
    /// Through which peer.
    pub peer: PeerId,
    /// When it arrived.
    pub at_ms: UnixMs,
    /// Why it was refused.
    pub problems: Vec<Problem>,
    /// The refused changes, each as its raw bytes, concatenated.
    pub changes: Vec<u8>,
}

/// What the driver must do after a batch of inputs (see the run loop in the module docs).
#[derive(Debug, Default)]
pub struct Output {
    /// Documents to load from storage and hand back with [`Hub::loaded`].
    pub loads: Vec<DocumentId>,
    /// Writes to make durable (then flush) before sending.
    pub writes: Vec<StoreWrite>,
    /// Frames to send, per connection, in order.
    pub sends: Vec<(ConnId, Vec<u8>)>,
    /// Connections to close after sending their frames, with the reason.
    pub closes: Vec<(ConnId, String)>,
    /// Change sets merged.
    pub accepted: Vec<Accepted>,
    /// Change sets refused.
    pub rejected: Vec<Rejected>,
    /// Documents whose content changed (for projections and indexes).
    pub changed: Vec<DocumentId>,
}

impl Output {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.loads.is_empty()
            && self.writes.is_empty()
            && self.sends.is_empty()
            && self.closes.is_empty()
            && self.accepted.is_empty()
            && self.rejected.is_empty()
            && self.changed.is_empty()
    }
}

/// The hub's identity on the wire.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The server's peer id.
    pub peer_id: PeerId,
    /// The server's storage id (sent in `peer`).
    pub storage_id: StorageId,
    /// Limits.
    pub limits: HubLimits,
}

#[derive(Debug)]
struct PeerDoc {
    state: sync::State,
    /// For a document the peer may not see: an empty stand-in, so the answer is the same
    /// as for a document that does not exist.
    /// Boxed: an `AutoCommit` is large, and a connection has one of these per document it
    /// syncs (thousands for an office device).
    phantom: Option<Box<AutoCommit>>,
}

#[derive(Debug)]
struct Conn {
    principal: Principal,
    peer: Option<PeerId>,
    docs: BTreeMap<DocumentId, PeerDoc>,
    /// Documents whose change set from this connection was refused: the device still holds
    /// the refused changes, so every further message of it for the document would build on
    /// them. It is answered nothing more for the document until it reconnects — otherwise
    /// an automerge-repo client, whose sync state counts the refused changes as sent, and the
    /// server ask each other for them forever.
    refused: BTreeSet<DocumentId>,
    closing: bool,
}

#[derive(Debug)]
struct LoadedDoc {
    doc: AutoCommit,
    /// The record header, when the document reads as a record.
    header: Option<RecordHeader>,
    /// Whether the document exists (was stored, or a creation was accepted).
    exists: bool,
    /// Connections syncing this document.
    active: BTreeSet<ConnId>,
    /// Connections that asked for it before it existed (told unavailable).
    waiting: BTreeSet<ConnId>,
    dirty: bool,
    last_used_ms: UnixMs,
    /// The document saved whole, for peers that have nothing (`generate`): made when the
    /// document is loaded, dropped when it changes, made again at the next such peer.
    saved: Option<SavedDoc>,
}

#[derive(Debug)]
enum Slot {
    Loading(Vec<(ConnId, Message)>),
    Loaded(Box<LoadedDoc>),
}

/// The sync hub. See the module docs for the run loop.
#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    conns: BTreeMap<ConnId, Conn>,
    peers: HashMap<PeerId, ConnId>,
    docs: HashMap<DocumentId, Slot>,
    /// Index documents: server-written, readable only by their owner.
    index_owner: HashMap<DocumentId, String>,
    ephemeral_seen: HashMap<(PeerId, SessionId), u64>,
    /// Documents changed since the last flush: flush visits these, not every loaded
    /// document (a steady stream of small edits makes many small turns).
    dirty: BTreeSet<DocumentId>,
    now_ms: UnixMs,
    out: Output,
}

impl Hub {
    /// A hub with no connections and no documents loaded.
    pub fn new(config: HubConfig) -> Self {
        Hub {
            config,
            conns: BTreeMap::new(),
            peers: HashMap::new(),
            docs: HashMap::new(),
            index_owner: HashMap::new(),
            ephemeral_seen: HashMap::new(),
            dirty: BTreeSet::new(),
            now_ms: 0,
            out: Output::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Registers `doc` as `user`'s index document: read-only, and only for `user`.
    pub fn register_index(&mut self, user: &str, doc: DocumentId) {
        self.index_owner.insert(doc, user.to_string());
    }

    /// A new, authenticated connection. Nothing is sent until the device's `join`.
    pub fn connect(&mut self, conn: ConnId, principal: Principal, now_ms: UnixMs) {
        self.now_ms = now_ms;
        self.conns.insert(
            conn,
            Conn {
                principal,
                peer: None,
                docs: BTreeMap::new(),
                refused: BTreeSet::new(),
                closing: false,
            },
        );
    }

    /// The users with a live connection, each once.
    pub fn connected_users(&self) -> BTreeSet<String> {
        self.conns
            .values()
            .map(|c| c.principal.user.clone())
            .collect()
    }

    /// The principal a connection acts for now.
    pub fn principal(&self, conn: ConnId) -> Option<&Principal> {
        self.conns.get(&conn).map(|c| &c.principal)
    }

    /// An administrator changed `principal.user`'s account (role, factory, warehouse or job
    /// titles): every live connection of theirs acts for the account as it is now, from
    /// the next message on — the write check sees the new titles without a reconnect.
    /// Documents the connection syncs that are now outside its scope are answered
    /// `doc-unavailable` and no longer synced. Returns the connections updated.
    pub fn update_principal(&mut self, principal: &Principal) -> usize {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.principal.user == principal.user && c.principal != *principal)
            .map(|(id, _)| *id)
            .collect();
        for conn in &conns {
            let Some(c) = self.conns.get_mut(conn) else {
                continue;
            };
            c.principal = principal.clone();
            let docs: Vec<DocumentId> = c
                .docs
                .iter()
                .filter(|(_, pd)| pd.phantom.is_none())
                .map(|(d, _)| *d)
                .collect();
            for doc_id in docs {
                let header = match self.docs.get(&doc_id) {
                    Some(Slot::Loaded(d)) if d.exists => d.header.clone(),
                    _ => continue,
                };
                if self.access(*conn, &doc_id, header.as_ref()) == Access::None {
                    if let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) {
                        d.active.remove(conn);
                    }
                    if let Some(c) = self.conns.get_mut(conn) {
                        c.docs.remove(&doc_id);
                    }
                    self.unavailable(*conn, doc_id);
                }
            }
        }
        conns.len()
    }

    /// Closes every connection of `user` (their account was disabled or removed), with
    /// `reason`. Returns how many were closed.
    pub fn close_user(&mut self, user: &str, reason: &str) -> usize {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.principal.user == user && !c.closing)
            .map(|(id, _)| *id)
            .collect();
        for conn in &conns {
            self.fail(*conn, reason);
        }
        conns.len()
    }

    /// A connection is gone: forget its peer and every sync state it had.
    pub fn disconnect(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(peer) = c.peer
                && self.peers.get(&peer) == Some(&conn)
            {
                self.peers.remove(&peer);
            }
            for doc in c.docs.keys() {
                if let Some(Slot::Loaded(d)) = self.docs.get_mut(doc) {
                    d.active.remove(&conn);
                    d.waiting.remove(&conn);
                    d.last_used_ms = self.now_ms;
                }
            }
        }
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Number of documents held in memory.
    pub fn loaded_count(&self) -> usize {
        self.docs
            .values()
            .filter(|s| matches!(s, Slot::Loaded(_)))
            .count()
    }

    /// Whether `doc` is in memory.
    pub fn is_loaded(&self, doc: &DocumentId) -> bool {
        matches!(self.docs.get(doc), Some(Slot::Loaded(_)))
    }

    /// Takes everything the driver must now do.
    pub fn take_output(&mut self) -> Output {
        std::mem::take(&mut self.out)
    }

    fn send(&mut self, conn: ConnId, msg: &Message) {
        self.out.sends.push((conn, encode(msg)));
    }

    fn fail(&mut self, conn: ConnId, reason: &str) {
        let target = self.conns.get(&conn).and_then(|c| c.peer.clone());
        self.send(
            conn,
            &Message::Error {
                sender_id: Some(self.config.peer_id.clone()),
                target_id: target,
                message: reason.to_string(),
            },
        );
        self.close(conn, reason);
    }

    fn close(&mut self, conn: ConnId, reason: &str) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !c.closing
        {
            c.closing = true;
            self.out.closes.push((conn, reason.to_string()));
        }
    }

    /// One frame from a connection.
    pub fn receive(&mut self, conn: ConnId, frame: &[u8], now_ms: UnixMs) {
        self.now_ms = now_ms;
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        let msg = match decode_with_max(frame, self.config.limits.frame_bytes_max) {
            Ok(m) => m,
            Err(e) => return self.fail(conn, &format!("bad frame: {e}")),
        };
        let joined = c.peer.clone();
        match (joined, msg) {
            (
                None,
                Message::Join {
                    sender_id,
                    supported_protocol_versions,
                    ..
                },
            ) => {
                if !supported_protocol_versions
                    .iter()
                    .any(|v| v == PROTOCOL_VERSION)
                {
                    return self.fail(conn, "unsupported protocol version");
                }
                // A re-join of the same peer on a new socket replaces the old connection.
                if let Some(old) = self.peers.insert(sender_id.clone(), conn)
                    && old != conn
                {
                    self.close(old, "the same peer connected again");
                    self.disconnect(old);
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.peer = Some(sender_id.clone());
                }
                let peer = Message::Peer {
                    sender_id: self.config.peer_id.clone(),
                    target_id: sender_id,
                    selected_protocol_version: PROTOCOL_VERSION.to_string(),
                    peer_metadata: Some(PeerMetadata {
                        storage_id: Some(self.config.storage_id.clone()),
                        is_ephemeral: false,
                    }),
                };
                self.send(conn, &peer);
            }
            (None, other) => {
                self.fail(conn, &format!("expected join before {}", other.type_name()))
            }
            (Some(_), Message::Join { .. }) => self.fail(conn, "join sent twice"),
            (Some(peer), msg) => {
                if let Some(sender) = sender_of(&msg)
                    && sender != &peer
                {
                    return self.fail(conn, "senderId does not match the peer that joined");
                }
                match msg {
                    m @ (Message::Sync { .. } | Message::Request { .. }) => {
                        let (Message::Sync { document_id, .. }
                        | Message::Request { document_id, .. }) = &m
                        else {
                            return;
                        };
                        let document_id = *document_id;
                        self.on_sync(conn, document_id, m);
                    }
                    Message::Ephemeral {
                        document_id,
                        data,
                        count,
                        session_id,
                        ..
                    } => {
                        self.on_ephemeral(conn, peer, document_id, data, count, session_id);
                    }
                    Message::Leave { .. } => self.close(conn, "peer left"),
                    Message::Error { .. } => self.close(conn, "peer reported an error"),
                    // Remote-heads gossip is off (as in the reference server); unknown types
                    // and stray handshake messages are ignored.
                    _ => {}
                }
            }
        }
    }

    fn on_sync(&mut self, conn: ConnId, doc_id: DocumentId, msg: Message) {
        let limit = self.config.limits.docs_per_connection_max;
        if let Some(c) = self.conns.get(&conn)
            && !c.docs.contains_key(&doc_id)
            && c.docs.len() >= limit
        {
            return self.fail(
                conn,
                &format!("too many documents on one connection (at most {limit})"),
            );
        }
        match self.docs.get_mut(&doc_id) {
            None => {
                self.docs.insert(doc_id, Slot::Loading(vec![(conn, msg)]));
                self.out.loads.push(doc_id);
            }
            Some(Slot::Loading(queue)) => queue.push((conn, msg)),
            Some(Slot::Loaded(_)) => self.sync_loaded(conn, doc_id, msg),
        }
    }

    /// The driver's answer to a load: the stored bytes, or `None` if the document does not
    /// exist. Damaged bytes are treated as a fatal storage error by the caller, never as
    /// absent: pass only what storage verified.
    pub fn loaded(
        &mut self,
        doc_id: DocumentId,
        bytes: Option<&[u8]>,
        now_ms: UnixMs,
    ) -> Result<(), crate::guard::GuardError> {
        self.now_ms = now_ms;
        let mut doc = match bytes {
            // Guarded: a damaged store must be an error, not a panic (see `guard`).
            Some(b) => crate::guard::load(b)?,
            None => AutoCommit::new(),
        };
        // Everything loaded is already stored: start incremental saves from here. Saved
        // whole rather than as changes (either moves the save point): the first new device
        // to fetch the record is sent these bytes.
        let saved = bytes.is_some().then(|| SavedDoc::save(&mut doc)).flatten();
        let header = if bytes.is_some() {
            crate::record::read_header(&doc)
        } else {
            None
        };
        let queued = match self.docs.insert(
            doc_id,
            Slot::Loaded(Box::new(LoadedDoc {
                doc,
                header,
                exists: bytes.is_some(),
                active: BTreeSet::new(),
                waiting: BTreeSet::new(),
                dirty: false,
                last_used_ms: now_ms,
                saved,
            })),
        ) {
            Some(Slot::Loading(q)) => q,
            _ => Vec::new(),
        };
        for (conn, msg) in queued {
            if self.conns.contains_key(&conn) {
                self.sync_loaded(conn, doc_id, msg);
            }
        }
        Ok(())
    }

    fn access(&self, conn: ConnId, doc_id: &DocumentId, header: Option<&RecordHeader>) -> Access {
        let Some(c) = self.conns.get(&conn) else {
            return Access::None;
        };
        if let Some(owner) = self.index_owner.get(doc_id) {
            return if owner == &c.principal.user {
                Access::Read
            } else {
                Access::None
            };
        }
        match header {
            Some(h) => record_access(&c.principal, h),
            None => Access::None,
        }
    }

    fn unavailable(&mut self, conn: ConnId, doc_id: DocumentId) {
        let Some(target) = self.conns.get(&conn).and_then(|c| c.peer.clone()) else {
            return;
        };
        let msg = Message::DocUnavailable {
            sender_id: self.config.peer_id.clone(),
            target_id: target,
            document_id: doc_id,
        };
        self.send(conn, &msg);
    }

    fn send_sync(&mut self, conn: ConnId, doc_id: DocumentId, data: Vec<u8>) {
        let Some(target) = self.conns.get(&conn).and_then(|c| c.peer.clone()) else {
            return;
        };
        let msg = Message::Sync {
            sender_id: self.config.peer_id.clone(),
            target_id: target,
            document_id: doc_id,
            data,
        };
        self.send(conn, &msg);
    }

    fn sync_loaded(&mut self, conn: ConnId, doc_id: DocumentId, msg: Message) {
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| c.refused.contains(&doc_id))
        {
            return;
        }
        let (is_request, data) = match msg {
            Message::Request { data, .. } => (true, data),
            Message::Sync { data, .. } => (false, data),
            _ => return,
        };
        let sync_msg = match sync::Message::decode(&data) {
            Ok(m) => m,
            Err(e) => return self.fail(conn, &format!("bad sync message: {e}")),
        };
        let Some(Slot::Loaded(d)) = self.docs.get(&doc_id) else {
            return;
        };
        let exists = d.exists;
        let access = self.access(conn, &doc_id, d.header.as_ref());
        let is_index = self.index_owner.contains_key(&doc_id);
        if exists && access == Access::None || (!exists && is_index) {
            // Out of scope: answer exactly as for a document that does not exist.
            return self.phantom_sync(conn, doc_id, is_request, sync_msg);
        }
        if !exists {
            if is_request {
                // Nothing here and nobody else to ask: unavailable, but remember the asker
                // in case the document is pushed later.
                if let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) {
                    d.waiting.insert(conn);
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.docs.entry(doc_id).or_insert_with(|| PeerDoc {
                        state: sync::State::new(),
                        phantom: None,
                    });
                }
                return self.unavailable(conn, doc_id);
            }
            return self.receive_changes(conn, doc_id, sync_msg, Access::Write, true);
        }
        self.receive_changes(conn, doc_id, sync_msg, access, false);
    }

    fn phantom_sync(
        &mut self,
        conn: ConnId,
        doc_id: DocumentId,
        is_request: bool,
        msg: sync::Message,
    ) {
        if is_request || !msg.changes.is_empty() {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.docs.remove(&doc_id);
                if !msg.changes.is_empty() {
                    c.refused.insert(doc_id);
                }
            }
            if !msg.changes.is_empty() {
                let principal = self
                    .conns
                    .get(&conn)
                    .map(|c| (c.principal.user.clone(), c.peer.clone()));
                if let Some((user, Some(peer))) = principal {
                    self.out.rejected.push(Rejected {
                        doc: doc_id,
                        user,
                        peer,
                        at_ms: self.now_ms,
                        problems: vec![Problem::new("record", "not available to you")],
                        changes: msg.changes.iter().flat_map(|c| c.to_vec()).collect(),
                    });
                }
            }
            return self.unavailable(conn, doc_id);
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let pd = c.docs.entry(doc_id).or_insert_with(|| PeerDoc {
            state: sync::State::new(),
            phantom: Some(Box::default()),
        });
        let phantom = pd.phantom.get_or_insert_with(Box::default);
        let _ = super::receive::receive_sync_message(phantom, &mut pd.state, msg);
        let reply = super::generate::generate_sync_message(phantom, &mut pd.state);
        if let Some(reply) = reply {
            self.send_sync(conn, doc_id, reply.encode());
        }
    }

    fn receive_changes(
        &mut self,
        conn: ConnId,
        doc_id: DocumentId,
        msg: sync::Message,
        access: Access,
        creating: bool,
    ) {
        let now = self.now_ms;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let principal = c.principal.clone();
        let Some(peer) = c.peer.clone() else { return };
        let pd = c.docs.entry(doc_id).or_insert_with(|| PeerDoc {
            state: sync::State::new(),
            phantom: None,
        });
        if pd.phantom.is_some() {
            *pd = PeerDoc {
                state: sync::State::new(),
                phantom: None,
            };
        }
        let mut state = std::mem::replace(&mut pd.state, sync::State::new());
        let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) else {
            return;
        };
        d.last_used_ms = now;
        d.active.insert(conn);
        d.waiting.remove(&conn);
        let has_changes = !msg.changes.is_empty();
        let raw_changes: Vec<u8> = if has_changes {
            msg.changes.iter().flat_map(|c| c.to_vec()).collect()
        } else {
            Vec::new()
        };
        let before = d.doc.get_heads();
        if has_changes && access != Access::Write {
            // A read-only peer's changes are never merged.
            return self.reject(
                conn,
                doc_id,
                principal,
                peer,
                vec![Problem::new("record", "you may only read this record")],
                raw_changes,
                state,
            );
        }
        // Chunks that are not single changes (a whole document, a bundle) are tried on a
        // scratch document first: Automerge panics on some malformed ones (`guard`).
        let scratch = if has_changes {
            match crate::guard::check_chunks_keep(msg.changes.iter()) {
                Ok(scratch) => scratch,
                Err(e) => {
                    return self.reject(
                        conn,
                        doc_id,
                        principal,
                        peer,
                        vec![Problem::new("changes", e.to_string())],
                        raw_changes,
                        state,
                    );
                }
            }
        } else {
            None
        };
        // A new record sent whole (one chunk) was just loaded on the scratch document: that
        // is the record, when there was nothing here before (no heads, nothing queued).
        let scratch = scratch.filter(|_| {
            before.is_empty() && !state.read_only && d.doc.get_missing_deps(&[]).is_empty()
        });
        // With the diff cursor at `before`, Automerge logs what the message changes as it
        // applies it, and the diff below is read from that log instead of a scan of every
        // operation of the document (which grows with its history).
        if has_changes && scratch.is_none() {
            d.doc.update_diff_cursor();
        }
        let sent_whole = scratch.is_some();
        let received = match scratch {
            Some(scratch) => {
                d.doc = scratch;
                super::receive::receive_sync_message_loaded(
                    &mut d.doc,
                    &mut state,
                    msg,
                    before.clone(),
                )
            }
            None => super::receive::receive_sync_message(&mut d.doc, &mut state, msg),
        };
        if let Err(e) = received {
            d.doc.reset_diff_cursor();
            return self.fail(conn, &format!("sync message could not be applied: {e}"));
        }
        let after = d.doc.get_heads();
        let paths = (before != after).then(|| {
            let paths = changed_paths(&mut d.doc, &before, &after);
            forget_diff(&mut d.doc);
            paths
        });
        // Stop logging: other edits of this document need no patches.
        if has_changes {
            d.doc.reset_diff_cursor();
        }
        if let Some(paths) = paths {
            // Check the merged document in place (no copy): on refusal it is rebuilt below.
            let doc = std::mem::replace(&mut d.doc, AutoCommit::new());
            let (doc, verdict) = match Record::from_doc(doc) {
                Ok(mut record) => {
                    let before_header = if creating { None } else { d.header.as_ref() };
                    let verdict = check_write(&principal, before_header, &record, &paths)
                        .and_then(|()| {
                            crate::access::check_not_locked(&principal, &mut record, &before)
                        })
                        .and_then(|()| {
                            let was: &[ChangeHash] = if creating { &[] } else { &before };
                            crate::access::check_decisions(
                                &principal,
                                &mut record,
                                was,
                                &paths,
                                now,
                            )
                        })
                        .and_then(|()| {
                            let was: &[ChangeHash] = if creating { &[] } else { &before };
                            crate::access::check_sign_offs(&principal, &mut record, was, &paths)
                        })
                        .map(|()| record.header().ok());
                    (record.into_doc(), verdict)
                }
                Err(boxed) => {
                    let (doc, e) = *boxed;
                    (doc, Err(vec![Problem::new("record", e.to_string())]))
                }
            };
            d.doc = doc;
            match verdict {
                Ok(new_header) => {
                    let hashes: Vec<ChangeHash> = d
                        .doc
                        .get_changes(&before)
                        .iter()
                        .map(|c| c.hash())
                        .collect();
                    // A record at an older schema gets its new collections now, once, on
                    // the server (`record::upgrade_doc`: the same change wherever the same
                    // state is upgraded); written and sent with the device's change.
                    // A failure is not the device's: the record reads leniently meanwhile
                    // and its next change tries again.
                    if let Some(h) = &new_header {
                        let _ = crate::record::upgrade_doc(&mut d.doc, h.record_type);
                    }
                    let bytes = d.doc.save_incremental();
                    d.header = new_header;
                    d.exists = true;
                    d.dirty = true;
                    // A new record sent whole is, unless upgraded, exactly the bytes it
                    // came in (the guard loaded and walked them): the first device to
                    // fetch it is sent those instead of a new save.
                    d.saved = (sent_whole && d.doc.get_heads() == after).then(|| {
                        SavedDoc::of_loaded(raw_changes.clone(), after.clone(), hashes.clone())
                    });
                    self.dirty.insert(doc_id);
                    self.out
                        .writes
                        .push(StoreWrite::Append { doc: doc_id, bytes });
                    self.out.accepted.push(Accepted {
                        doc: doc_id,
                        user: principal.user.clone(),
                        peer: peer.clone(),
                        at_ms: now,
                        change_hashes: hashes,
                        created: creating,
                    });
                    self.out.changed.push(doc_id);
                }
                Err(problems) => {
                    // Undo: rebuild the document as it was before the change set.
                    match d.doc.fork_at(&before) {
                        Ok(mut restored) => {
                            let _ = restored.save_incremental();
                            if creating {
                                d.header = None;
                            }
                            d.doc = restored;
                        }
                        Err(e) => {
                            return self
                                .fail(conn, &format!("internal error restoring a document: {e}"));
                        }
                    }
                    return self.reject(
                        conn,
                        doc_id,
                        principal,
                        peer,
                        problems,
                        raw_changes,
                        state,
                    );
                }
            }
        }
        let reply = generate_sync_message_saved(&mut d.doc, &mut state, &mut d.saved);
        if let Some(c) = self.conns.get_mut(&conn)
            && let Some(pd) = c.docs.get_mut(&doc_id)
        {
            pd.state = state;
        }
        if let Some(reply) = reply {
            self.send_sync(conn, doc_id, reply.encode());
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "internal helper; the arguments are one event"
    )]
    fn reject(
        &mut self,
        conn: ConnId,
        doc_id: DocumentId,
        principal: Principal,
        peer: PeerId,
        problems: Vec<Problem>,
        changes: Vec<u8>,
        _state: sync::State,
    ) {
        self.out.rejected.push(Rejected {
            doc: doc_id,
            user: principal.user,
            peer,
            at_ms: self.now_ms,
            problems,
            changes,
        });
        // Forget this peer's sync state for the document, and stop answering it about the
        // document for the rest of the connection (see `Conn::refused`).
        if let Some(c) = self.conns.get_mut(&conn) {
            c.docs.remove(&doc_id);
            c.refused.insert(doc_id);
        }
        if let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) {
            d.active.remove(&conn);
        }
        self.unavailable(conn, doc_id);
    }

    fn on_ephemeral(
        &mut self,
        conn: ConnId,
        sender: PeerId,
        doc_id: DocumentId,
        data: Vec<u8>,
        count: u64,
        session: SessionId,
    ) {
        if data.len() > self.config.limits.ephemeral_bytes_max {
            return; // best effort: oversized presence data is dropped
        }
        let key = (sender.clone(), session.clone());
        if self
            .ephemeral_seen
            .get(&key)
            .is_some_and(|&seen| count <= seen)
        {
            return; // a duplicate or an old message
        }
        let Some(Slot::Loaded(d)) = self.docs.get(&doc_id) else {
            return;
        };
        if self.access(conn, &doc_id, d.header.as_ref()) == Access::None {
            return;
        }
        self.ephemeral_seen.insert(key, count);
        let targets: Vec<ConnId> = d.active.iter().copied().filter(|&c| c != conn).collect();
        for t in targets {
            let Some(target) = self.conns.get(&t).and_then(|c| c.peer.clone()) else {
                continue;
            };
            let msg = Message::Ephemeral {
                sender_id: sender.clone(),
                target_id: target,
                document_id: doc_id,
                data: data.clone(),
                count,
                session_id: session.clone(),
            };
            self.send(t, &msg);
        }
    }

    /// Sends what changed since the last flush to every other device syncing each changed
    /// document — one batch per flush, not one message per keystroke.
    pub fn flush(&mut self, now_ms: UnixMs) {
        self.now_ms = now_ms;
        for doc_id in std::mem::take(&mut self.dirty) {
            let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) else {
                continue;
            };
            d.dirty = false;
            let header = d.header.clone();
            // Devices that asked before the document existed now get it, if in scope.
            let waiting: Vec<ConnId> = d.waiting.iter().copied().collect();
            for w in waiting {
                if self.access(w, &doc_id, header.as_ref()) != Access::None
                    && let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id)
                {
                    d.waiting.remove(&w);
                    d.active.insert(w);
                }
            }
            let Some(Slot::Loaded(d)) = self.docs.get(&doc_id) else {
                continue;
            };
            let active: Vec<ConnId> = d.active.iter().copied().collect();
            for conn in active {
                // Scope can change (an assignment removed): stop syncing what is now out.
                if self.access(conn, &doc_id, header.as_ref()) == Access::None {
                    if let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) {
                        d.active.remove(&conn);
                    }
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.docs.remove(&doc_id);
                    }
                    self.unavailable(conn, doc_id);
                    continue;
                }
                self.sync_to(conn, doc_id);
            }
        }
    }

    fn sync_to(&mut self, conn: ConnId, doc_id: DocumentId) {
        let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        let pd = c.docs.entry(doc_id).or_insert_with(|| PeerDoc {
            state: sync::State::new(),
            phantom: None,
        });
        let reply = generate_sync_message_saved(&mut d.doc, &mut pd.state, &mut d.saved);
        if let Some(m) = reply {
            self.send_sync(conn, doc_id, m.encode());
        }
    }

    /// Merges changes the server itself made (an office edit over REST, an index update)
    /// into a loaded document. They are written and fanned out like a device's changes.
    /// Returns false when the document is not loaded (load it first with [`Hub::loaded`]).
    pub fn apply_local(
        &mut self,
        doc_id: DocumentId,
        changes: Vec<automerge::Change>,
    ) -> Result<bool, automerge::AutomergeError> {
        let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) else {
            return Ok(false);
        };
        let before = d.doc.get_heads();
        d.doc.apply_changes(changes)?;
        if d.doc.get_heads() != before {
            let bytes = d.doc.save_incremental();
            d.header = crate::record::read_header(&d.doc);
            d.exists = true;
            d.dirty = true;
            d.saved = None;
            self.dirty.insert(doc_id);
            d.last_used_ms = self.now_ms;
            self.out
                .writes
                .push(StoreWrite::Append { doc: doc_id, bytes });
            self.out.changed.push(doc_id);
        }
        Ok(true)
    }

    /// Installs a whole new document made outside any sync session — a record created
    /// through REST — without replaying its changes into an empty one: the document itself
    /// becomes the hub's copy and `bytes` (what it was loaded from) are written. When the
    /// hub already has a slot for `doc_id` (a connection asked for it, or it is loading)
    /// the document is handed back: the caller then applies its changes with
    /// [`Hub::apply_local`], which keeps the waiting connections.
    pub fn create_local(
        &mut self,
        doc_id: DocumentId,
        mut doc: AutoCommit,
        bytes: Vec<u8>,
    ) -> Result<(), Box<AutoCommit>> {
        if self.docs.contains_key(&doc_id) {
            return Err(Box::new(doc));
        }
        // Everything in it is written below: start incremental saves from here.
        let _ = doc.save_incremental();
        let header = crate::record::read_header(&doc);
        self.docs.insert(
            doc_id,
            Slot::Loaded(Box::new(LoadedDoc {
                doc,
                header,
                exists: true,
                active: BTreeSet::new(),
                waiting: BTreeSet::new(),
                dirty: true,
                last_used_ms: self.now_ms,
                saved: None,
            })),
        );
        self.dirty.insert(doc_id);
        self.out
            .writes
            .push(StoreWrite::Append { doc: doc_id, bytes });
        self.out.changed.push(doc_id);
        Ok(())
    }

    /// Edits a loaded document in place as `actor` — the server's own writes, such as an
    /// index entry — without copying it. `edit` commits what it changes; operations it left
    /// uncommitted are rolled back. Whatever was committed, even when `edit` then failed, is
    /// written and fanned out like [`Hub::apply_local`]'s changes, so memory and storage
    /// never disagree. `None` when the document is not loaded (load it first).
    pub fn edit_local<R, E>(
        &mut self,
        doc_id: DocumentId,
        actor: &automerge::ActorId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<R, E>,
    ) -> Option<Result<R, E>> {
        let Some(Slot::Loaded(d)) = self.docs.get_mut(&doc_id) else {
            return None;
        };
        if d.doc.get_actor() != actor {
            d.doc.set_actor(actor.clone());
        }
        let before = d.doc.get_heads();
        let result = edit(&mut d.doc);
        d.doc.rollback();
        if d.doc.get_heads() != before {
            let bytes = d.doc.save_incremental();
            d.header = crate::record::read_header(&d.doc);
            d.exists = true;
            d.dirty = true;
            d.saved = None;
            self.dirty.insert(doc_id);
            d.last_used_ms = self.now_ms;
            self.out
                .writes
                .push(StoreWrite::Append { doc: doc_id, bytes });
            self.out.changed.push(doc_id);
        }
        Some(result)
    }

    /// A copy of a loaded document (for the office to read or to edit and hand back with
    /// [`Hub::apply_local`]).
    pub fn document(&self, doc_id: &DocumentId) -> Option<AutoCommit> {
        match self.docs.get(doc_id) {
            Some(Slot::Loaded(d)) if d.exists => Some(d.doc.clone()),
            _ => None,
        }
    }

    /// Reads a loaded document in place, without copying it.
    pub fn with_document<R>(
        &self,
        doc_id: &DocumentId,
        f: impl FnOnce(&AutoCommit) -> R,
    ) -> Option<R> {
        match self.docs.get(doc_id) {
            Some(Slot::Loaded(d)) if d.exists => Some(f(&d.doc)),
            _ => None,
        }
    }

    /// The full saved bytes of a loaded document (for compaction).
    pub fn snapshot(&mut self, doc_id: &DocumentId) -> Option<Vec<u8>> {
        match self.docs.get_mut(doc_id) {
            Some(Slot::Loaded(d)) => Some(d.doc.save()),
            _ => None,
        }
    }

    /// Unloads documents no connection syncs and nobody used for `idle_ms`. Returns the
    /// ones unloaded. Everything in memory is already durable, so nothing is written.
    pub fn unload_idle(&mut self, now_ms: UnixMs, idle_ms: UnixMs) -> Vec<DocumentId> {
        let mut unloaded = Vec::new();
        self.docs.retain(|id, s| match s {
            Slot::Loaded(d) => {
                let idle = d.active.is_empty()
                    && d.waiting.is_empty()
                    && !d.dirty
                    && now_ms - d.last_used_ms >= idle_ms;
                if idle {
                    unloaded.push(*id);
                }
                !idle
            }
            Slot::Loading(_) => true,
        });
        unloaded
    }
}

/// Replaces the patches of the last diff, which Automerge 0.12 keeps in the document (to
/// answer the same diff again), with an empty diff. A record's first diff holds a patch for
/// every value it was created with, and the hub keeps thousands of documents loaded: the
/// kept patches were a third of the server's peak memory in the benchmark's push
/// (BENCHMARKS.md). With the diff cursor at the current heads, the empty diff comes from
/// the empty patch log, without reading the document; the cursor is reset after.
fn forget_diff(doc: &mut AutoCommit) {
    doc.update_diff_cursor();
    let heads = doc.get_heads();
    let _ = doc.diff(&heads, &heads);
    doc.reset_diff_cursor();
}

fn sender_of(msg: &Message) -> Option<&PeerId> {
    match msg {
        Message::Sync { sender_id, .. }
        | Message::Request { sender_id, .. }
        | Message::DocUnavailable { sender_id, .. }
        | Message::Ephemeral { sender_id, .. }
        | Message::RemoteSubscriptionChange { sender_id, .. }
        | Message::RemoteHeadsChanged { sender_id, .. }
        | Message::Leave { sender_id } => Some(sender_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    use super::*;

    /// A connection keeps one of these per document it syncs: an unboxed `AutoCommit` made
    /// each several hundred bytes.
    #[test]
    fn a_peers_document_state_stays_small() {
        let size = size_of::<PeerDoc>();
        assert!(size <= 512, "PeerDoc is {size} bytes");
        assert!(size_of::<AutoCommit>() > size / 2, "the box is worth it");
    }

    #[test]
    fn forgetting_a_diff_leaves_the_document_and_later_diffs_as_they_were() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "a", 1).expect("put");
        doc.commit();
        let before = doc.get_heads();
        doc.update_diff_cursor();
        doc.put(ROOT, "b", 2).expect("put");
        doc.commit();
        let after = doc.get_heads();
        let first = doc.diff(&before, &after);
        assert_eq!(first.len(), 1);
        forget_diff(&mut doc);
        assert!(doc.diff_cursor().is_empty(), "no patch log left running");
        assert_eq!(doc.get_heads(), after);
        assert!(doc.get(ROOT, "b").expect("get").is_some());
        // The same diff again, now computed from the document: the same patches.
        assert_eq!(doc.diff(&before, &after), first);
        // And an empty one, as the forgetting made.
        forget_diff(&mut doc);
        assert!(doc.diff(&after, &after).is_empty());
    }
}
