//! The device side of the sync protocol, as a state machine with no IO: the PWA (through
//! the WASM bindings) and the test devices drive this same code.
//!
//! # Run loop
//!
//! When the socket opens, call [`ClientPeer::connected`]; feed every frame received to
//! [`ClientPeer::receive`]; after local edits call [`ClientPeer::sync`]; after each of
//! these, send every frame from [`ClientPeer::take_frames`]. When the socket closes, call
//! [`ClientPeer::disconnected`]: sync states are per connection and start afresh on the
//! next one (the documents themselves are kept, so nothing is lost).

use std::collections::BTreeMap;

use automerge::sync;
use automerge::{AutoCommit, ChangeHash};

use crate::protocol::{
    DocumentId, Message, PROTOCOL_VERSION, PeerId, PeerMetadata, StorageId, WireError, decode,
    encode,
};

/// Something the app should react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server answered `join`: syncing has started.
    Joined {
        /// The server's peer id.
        server: PeerId,
    },
    /// A document received changes from the server.
    Changed(DocumentId),
    /// The server does not have a document, or will not share it.
    Unavailable(DocumentId),
    /// The server reported an error (it closes the connection after it).
    ServerError(String),
}

/// What can go wrong receiving a frame.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The frame is not a protocol message.
    #[error("bad frame from the server: {0}")]
    Wire(#[from] WireError),
    /// The Automerge sync message in it is malformed or cannot be applied.
    #[error("bad sync message for {doc}: {error}")]
    Sync {
        /// The document.
        doc: DocumentId,
        /// What Automerge said.
        error: String,
    },
}

#[derive(Debug)]
struct ClientDoc {
    doc: AutoCommit,
    state: sync::State,
    unavailable: bool,
}

/// One device's sync peer.
#[derive(Debug)]
pub struct ClientPeer {
    peer_id: PeerId,
    storage_id: Option<StorageId>,
    server: Option<PeerId>,
    connected: bool,
    docs: BTreeMap<DocumentId, ClientDoc>,
    frames: Vec<Vec<u8>>,
}

impl ClientPeer {
    /// A peer named `peer_id`; `storage_id` when the device has durable storage.
    pub fn new(peer_id: PeerId, storage_id: Option<StorageId>) -> Self {
        ClientPeer {
            peer_id,
            storage_id,
            server: None,
            connected: false,
            docs: BTreeMap::new(),
            frames: Vec::new(),
        }
    }

    /// The peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// Whether the handshake with a server is done.
    pub fn is_joined(&self) -> bool {
        self.server.is_some()
    }

    /// The socket opened: say `join`.
    pub fn connected(&mut self) {
        self.connected = true;
        self.server = None;
        for d in self.docs.values_mut() {
            d.state = sync::State::new();
        }
        let join = Message::Join {
            sender_id: self.peer_id.clone(),
            peer_metadata: Some(PeerMetadata {
                storage_id: self.storage_id.clone(),
                is_ephemeral: self.storage_id.is_none(),
            }),
            supported_protocol_versions: vec![PROTOCOL_VERSION.to_string()],
        };
        self.frames.push(encode(&join));
    }

    /// The socket closed (or was lost).
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.server = None;
        for d in self.docs.values_mut() {
            d.state = sync::State::new();
        }
    }

    /// Adds a document to keep in sync (a record created or loaded on the device).
    pub fn add(&mut self, id: DocumentId, doc: AutoCommit) {
        self.docs.insert(
            id,
            ClientDoc {
                doc,
                state: sync::State::new(),
                unavailable: false,
            },
        );
    }

    /// Asks for a document the device does not have yet (e.g. listed in its index).
    pub fn want(&mut self, id: DocumentId) {
        self.docs.entry(id).or_insert_with(|| ClientDoc {
            doc: AutoCommit::new(),
            state: sync::State::new(),
            unavailable: false,
        });
    }

    /// Stops syncing a document and returns it.
    pub fn remove(&mut self, id: &DocumentId) -> Option<AutoCommit> {
        self.docs.remove(id).map(|d| d.doc)
    }

    /// The document, if held.
    pub fn doc(&self, id: &DocumentId) -> Option<&AutoCommit> {
        self.docs.get(id).map(|d| &d.doc)
    }

    /// The document to edit; call [`ClientPeer::sync`] afterwards.
    pub fn doc_mut(&mut self, id: &DocumentId) -> Option<&mut AutoCommit> {
        self.docs.get_mut(id).map(|d| &mut d.doc)
    }

    /// Ids of every document held.
    pub fn doc_ids(&self) -> Vec<DocumentId> {
        self.docs.keys().copied().collect()
    }

    /// Whether the server said it does not have (or share) the document.
    pub fn is_unavailable(&self, id: &DocumentId) -> bool {
        self.docs.get(id).is_some_and(|d| d.unavailable)
    }

    /// The changes of a document the server has not acknowledged: what is "not yet synced".
    /// (Heads the server shared with this device in the current connection count as synced.)
    pub fn unsynced_changes(&mut self, id: &DocumentId) -> usize {
        let Some(d) = self.docs.get_mut(id) else {
            return 0;
        };
        let shared: Vec<ChangeHash> = d.state.shared_heads.clone();
        d.doc.get_changes(&shared).len()
    }

    /// Generates a sync message for every document that has something to say.
    pub fn sync(&mut self) {
        let Some(server) = self.server.clone() else {
            return;
        };
        let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
        for id in ids {
            self.sync_doc(&server, id);
        }
    }

    fn sync_doc(&mut self, server: &PeerId, id: DocumentId) {
        let Some(d) = self.docs.get_mut(&id) else {
            return;
        };
        if d.unavailable {
            return;
        }
        let is_empty = d.doc.get_heads().is_empty();
        if let Some(m) = super::generate::generate_sync_message(&mut d.doc, &mut d.state) {
            let data = m.encode();
            let msg = if is_empty {
                Message::Request {
                    sender_id: self.peer_id.clone(),
                    target_id: server.clone(),
                    document_id: id,
                    data,
                }
            } else {
                Message::Sync {
                    sender_id: self.peer_id.clone(),
                    target_id: server.clone(),
                    document_id: id,
                    data,
                }
            };
            self.frames.push(encode(&msg));
        }
    }

    /// One frame from the server.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<ClientEvent>, ClientError> {
        let mut events = Vec::new();
        match decode(frame)? {
            Message::Peer { sender_id, .. } => {
                self.server = Some(sender_id.clone());
                for d in self.docs.values_mut() {
                    d.unavailable = false;
                }
                events.push(ClientEvent::Joined { server: sender_id });
                self.sync();
            }
            Message::Sync {
                document_id, data, ..
            } => {
                let Some(d) = self.docs.get_mut(&document_id) else {
                    return Ok(events);
                };
                let msg = sync::Message::decode(&data).map_err(|e| ClientError::Sync {
                    doc: document_id,
                    error: e.to_string(),
                })?;
                let before = d.doc.get_heads();
                super::receive::receive_sync_message(&mut d.doc, &mut d.state, msg).map_err(
                    |e| ClientError::Sync {
                        doc: document_id,
                        error: e.to_string(),
                    },
                )?;
                d.unavailable = false;
                if d.doc.get_heads() != before {
                    events.push(ClientEvent::Changed(document_id));
                }
                if let Some(server) = self.server.clone() {
                    self.sync_doc(&server, document_id);
                }
            }
            Message::DocUnavailable { document_id, .. } => {
                if let Some(d) = self.docs.get_mut(&document_id) {
                    d.unavailable = true;
                    d.state = sync::State::new();
                }
                events.push(ClientEvent::Unavailable(document_id));
            }
            Message::Error { message, .. } => events.push(ClientEvent::ServerError(message)),
            _ => {}
        }
        Ok(events)
    }

    /// Frames to send now.
    pub fn take_frames(&mut self) -> Vec<Vec<u8>> {
        if !self.connected {
            self.frames.clear();
        }
        std::mem::take(&mut self.frames)
    }
}
