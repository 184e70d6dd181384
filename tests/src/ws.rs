//! Blocking WebSocket clients of `/sync`.
//!
//! * [`SyncClient`]: a well-behaved device — `gendan-core`'s [`ClientPeer`] driven over a
//!   real socket, remembering the heads the server last announced for each document so a
//!   test can tell "fully synced" and "acknowledged" apart from "sent".
//! * [`RawSocket`]: sends whatever frames a test wants and reports exactly what comes back.

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc, Value as AmValue};
use gendan_core::Record;
use gendan_core::protocol::client::{ClientEvent, ClientPeer};
use gendan_core::protocol::{DocumentId, Message, PeerId, decode};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message as WsMessage, WebSocket};

use crate::PATIENCE;

/// How the session token travels at the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `?token=…` in the URL (what browsers must do).
    Query(&'a str),
    /// `Authorization: Bearer …`.
    Header(&'a str),
    /// No token at all.
    None,
}

/// Opens a WebSocket to `/sync`. An HTTP refusal (401, 503) comes back as
/// `Err(tungstenite::Error::Http(response))`.
pub fn open(port: u16, auth: Auth<'_>) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let url = match auth {
        Auth::Query(t) => format!("ws://127.0.0.1:{port}/sync?token={t}"),
        _ => format!("ws://127.0.0.1:{port}/sync"),
    };
    let mut req = url.into_client_request()?;
    if let Auth::Header(t) = auth {
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {t}").parse().expect("a valid header value"),
        );
    }
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let (ws, _response) = tungstenite::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => {
            tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
        }
    })?;
    Ok(ws)
}

/// What a read from a socket gave.
#[derive(Debug)]
pub enum Recv {
    /// A binary frame, decoded.
    Frame(Message),
    /// A binary frame that does not decode (the server should never send one).
    Undecodable(Vec<u8>),
    /// A text frame (the server should never send one).
    Text(String),
    /// The server's close frame.
    Close(Option<CloseFrame>),
    /// The connection ended without a close frame (reset, EOF).
    Gone(String),
    /// Nothing arrived in time.
    Timeout,
}

/// A read at the socket level: binary frames stay bytes.
enum RawRecv {
    Binary(Vec<u8>),
    Other(Recv),
}

fn read_raw(ws: &mut WebSocket<TcpStream>, timeout: Duration) -> RawRecv {
    let timeout = timeout.max(Duration::from_millis(1));
    if ws.get_ref().set_read_timeout(Some(timeout)).is_err() {
        return RawRecv::Other(Recv::Gone("socket closed".into()));
    }
    loop {
        return match ws.read() {
            Ok(WsMessage::Binary(b)) => RawRecv::Binary(b.to_vec()),
            Ok(WsMessage::Text(t)) => RawRecv::Other(Recv::Text(t.to_string())),
            Ok(WsMessage::Close(c)) => RawRecv::Other(Recv::Close(c)),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                RawRecv::Other(Recv::Timeout)
            }
            Err(e) => RawRecv::Other(Recv::Gone(e.to_string())),
        };
    }
}

fn read(ws: &mut WebSocket<TcpStream>, timeout: Duration) -> Recv {
    match read_raw(ws, timeout) {
        RawRecv::Binary(b) => match decode(&b) {
            Ok(m) => Recv::Frame(m),
            Err(_) => Recv::Undecodable(b),
        },
        RawRecv::Other(r) => r,
    }
}

/// A socket that sends whatever it is told to.
#[derive(Debug)]
pub struct RawSocket {
    ws: WebSocket<TcpStream>,
}

impl RawSocket {
    /// Connects with a token in the URL.
    ///
    /// # Panics
    /// When the upgrade fails.
    pub fn connect(port: u16, token: &str) -> RawSocket {
        RawSocket {
            ws: open(port, Auth::Query(token))
                .unwrap_or_else(|e| panic!("WebSocket upgrade failed: {e}")),
        }
    }

    /// Sends one binary frame. Errors (the server already closed) are returned.
    pub fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), tungstenite::Error> {
        self.ws.send(WsMessage::Binary(bytes.into()))
    }

    /// Sends one text frame.
    pub fn send_text(&mut self, text: &str) -> Result<(), tungstenite::Error> {
        self.ws.send(WsMessage::Text(text.into()))
    }

    /// Sends one protocol message.
    pub fn send(&mut self, msg: &Message) -> Result<(), tungstenite::Error> {
        self.send_binary(gendan_core::protocol::encode(msg))
    }

    /// Reads the next thing that arrives, or `Recv::Timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Recv {
        read(&mut self.ws, timeout)
    }

    /// Reads until the connection ends (close frame or EOF), returning every decoded
    /// message before it and how it ended. Panics if it is still open after `timeout`.
    pub fn recv_until_closed(&mut self, timeout: Duration) -> (Vec<Message>, Recv) {
        let deadline = Instant::now() + timeout;
        let mut msgs = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the server did not close the connection within {timeout:?}; it sent {msgs:?}"
            );
            match self.recv(left) {
                Recv::Frame(m) => msgs.push(m),
                Recv::Timeout => {}
                end => return (msgs, end),
            }
        }
    }
}

/// A device: [`ClientPeer`] over a real socket.
#[derive(Debug)]
pub struct SyncClient {
    ws: WebSocket<TcpStream>,
    peer: ClientPeer,
    /// The heads the server announced in its latest sync message, per document.
    server_heads: HashMap<DocumentId, Vec<ChangeHash>>,
    /// Every event so far.
    events: Vec<ClientEvent>,
    closed: Option<String>,
}

impl SyncClient {
    /// Connects a new ephemeral peer and waits for the handshake.
    ///
    /// # Panics
    /// When the upgrade or the handshake fails.
    pub fn connect(port: u16, token: &str, peer_id: &str) -> SyncClient {
        Self::connect_peer(port, token, ClientPeer::new(PeerId::new(peer_id), None))
    }

    /// Connects `peer` (with the documents it holds) and waits for the handshake.
    ///
    /// # Panics
    /// When the upgrade or the handshake fails.
    pub fn connect_peer(port: u16, token: &str, peer: ClientPeer) -> SyncClient {
        Self::try_connect_peer(port, token, peer)
            .unwrap_or_else(|e| panic!("connecting a sync client failed: {}", e.reason))
    }

    /// Like [`SyncClient::connect_peer`], handing the peer back on failure.
    pub fn try_connect_peer(
        port: u16,
        token: &str,
        mut peer: ClientPeer,
    ) -> Result<SyncClient, ConnectFailed> {
        let ws = match open(port, Auth::Query(token)) {
            Ok(ws) => ws,
            Err(e) => {
                return Err(ConnectFailed {
                    reason: e.to_string(),
                    peer: Box::new(peer),
                });
            }
        };
        peer.connected();
        let mut client = SyncClient {
            ws,
            peer,
            server_heads: HashMap::new(),
            events: Vec::new(),
            closed: None,
        };
        client.send_pending();
        let joined = client.pump_until(PATIENCE, |c| c.peer.is_joined());
        if !joined {
            let why = client
                .closed
                .clone()
                .unwrap_or_else(|| "no answer to join".into());
            return Err(ConnectFailed {
                reason: why,
                peer: Box::new(client.into_peer()),
            });
        }
        Ok(client)
    }

    /// The protocol state machine.
    pub fn peer(&self) -> &ClientPeer {
        &self.peer
    }

    /// The protocol state machine, to edit documents (then call [`SyncClient::sync`]).
    pub fn peer_mut(&mut self) -> &mut ClientPeer {
        &mut self.peer
    }

    /// Ends the connection and hands the peer (with its documents) back, disconnected.
    pub fn into_peer(mut self) -> ClientPeer {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
        self.peer.disconnected();
        self.peer
    }

    /// Why the connection ended, if it did.
    pub fn closed(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Every event received so far.
    pub fn events(&self) -> &[ClientEvent] {
        &self.events
    }

    /// The heads the server announced last for `doc`.
    pub fn server_heads(&self, doc: &DocumentId) -> Option<&[ChangeHash]> {
        self.server_heads.get(doc).map(Vec::as_slice)
    }

    fn send_pending(&mut self) {
        for frame in self.peer.take_frames() {
            if self.closed.is_some() {
                return;
            }
            if let Err(e) = self.ws.send(WsMessage::Binary(frame.into())) {
                self.closed = Some(format!("send failed: {e}"));
            }
        }
    }

    /// Generates and sends sync messages for local edits.
    pub fn sync(&mut self) {
        self.peer.sync();
        self.send_pending();
    }

    /// Reads at most one frame (waiting up to `timeout`), feeds it to the peer and sends
    /// the answers. Returns false when the connection is gone.
    pub fn pump_once(&mut self, timeout: Duration) -> bool {
        if self.closed.is_some() {
            return false;
        }
        match read_raw(&mut self.ws, timeout) {
            RawRecv::Binary(frame) => {
                if let Ok(Message::Sync {
                    document_id, data, ..
                }) = decode(&frame)
                    && let Ok(m) = automerge::sync::Message::decode(&data)
                {
                    self.server_heads.insert(document_id, m.heads);
                }
                match self.peer.receive(&frame) {
                    Ok(events) => self.events.extend(events),
                    Err(e) => panic!("the server sent a frame the client cannot use: {e}"),
                }
                self.send_pending();
                true
            }
            RawRecv::Other(Recv::Timeout) => true,
            RawRecv::Other(Recv::Close(c)) => {
                self.closed = Some(format!("closed by the server: {c:?}"));
                false
            }
            RawRecv::Other(other) => {
                self.closed = Some(format!("connection lost: {other:?}"));
                false
            }
        }
    }

    /// Pumps until `done` holds (true) or `timeout` passes or the connection ends (false).
    pub fn pump_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut SyncClient) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.pump_once(left.min(Duration::from_millis(50))) {
                return done(self);
            }
        }
    }

    /// Pumps for `duration`, whatever happens.
    pub fn pump_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.pump_once(left) {
                return;
            }
        }
    }

    /// Whether this client holds every change of the heads the server last announced for
    /// `doc` (and the server announced some).
    pub fn has_server_heads(&mut self, doc: &DocumentId) -> bool {
        let Some(heads) = self.server_heads.get(doc).cloned() else {
            return false;
        };
        let Some(d) = self.peer.doc_mut(doc) else {
            return false;
        };
        !heads.is_empty() && heads.iter().all(|h| d.get_change_by_hash(h).is_some())
    }

    /// Asks for `doc` and waits until it is here with everything the server has (`Ok`), or
    /// the server says it is unavailable (`Err`).
    ///
    /// # Panics
    /// When neither happens in time.
    pub fn fetch(&mut self, doc: DocumentId) -> Result<(), Unavailable> {
        if self.peer.doc(&doc).is_none() {
            self.peer.want(doc);
        }
        self.sync();
        let done = self.pump_until(PATIENCE, |c| {
            c.peer.is_unavailable(&doc) || c.has_server_heads(&doc)
        });
        assert!(
            done,
            "fetching {doc}: no answer within {PATIENCE:?} ({:?})",
            self.closed
        );
        if self.peer.is_unavailable(&doc) {
            Err(Unavailable(doc))
        } else {
            Ok(())
        }
    }

    /// Waits until the server's heads for `doc` cover every local change: everything this
    /// client wrote is acknowledged (durable on the server). False on timeout.
    pub fn wait_acknowledged(&mut self, doc: DocumentId, timeout: Duration) -> bool {
        self.pump_until(timeout, |c| c.peer.unsynced_changes(&doc) == 0)
    }

    /// Edits a held record as `user` would on a device: `edit` runs on a copy (through the
    /// core's record operations), and the changes it made are merged into the synced
    /// document and sent. Returns the hashes of the new changes.
    ///
    /// # Panics
    /// When the document is not held, is not a record, or `edit` fails.
    pub fn edit_record(
        &mut self,
        doc: DocumentId,
        edit: impl FnOnce(&mut Record) -> Result<(), String>,
    ) -> Vec<ChangeHash> {
        let held = self
            .peer
            .doc(&doc)
            .unwrap_or_else(|| panic!("{doc} is not held"))
            .clone();
        let mut record =
            Record::from_doc(held).unwrap_or_else(|b| panic!("{doc} is not a record: {}", b.1));
        let before = record.heads();
        edit(&mut record).unwrap_or_else(|e| panic!("the edit of {doc} failed: {e}"));
        let changes = record.doc_mut().get_changes(&before);
        let hashes = changes.iter().map(automerge::Change::hash).collect();
        self.peer
            .doc_mut(&doc)
            .expect("held")
            .apply_changes(changes)
            .expect("a record's own changes apply");
        self.sync();
        hashes
    }

    /// Applies one inspection operation as `user` (see [`SyncClient::edit_record`]).
    pub fn inspection_op(
        &mut self,
        doc: DocumentId,
        user: &str,
        op: &gendan_core::inspection::InspectionOp,
    ) -> Vec<ChangeHash> {
        let ctx = gendan_core::common::EditContext::new(user, now_ms());
        self.edit_record(doc, |r| {
            gendan_core::inspection::apply(r, op, &ctx).map_err(|e| e.to_string())
        })
    }

    /// A copy of a document held.
    ///
    /// # Panics
    /// When it is not held.
    pub fn doc(&self, doc: &DocumentId) -> AutoCommit {
        self.peer
            .doc(doc)
            .unwrap_or_else(|| panic!("{doc} is not held"))
            .clone()
    }
}

/// Connecting failed: why, and the peer back (with its documents).
#[derive(Debug)]
pub struct ConnectFailed {
    /// What went wrong.
    pub reason: String,
    /// The peer, disconnected.
    pub peer: Box<ClientPeer>,
}

/// The server said `doc-unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable(pub DocumentId);

/// One entry of a user's index document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The record.
    pub id: DocumentId,
    /// `inspection`, `stock_count`, …
    pub record_type: String,
    /// Its title.
    pub title: String,
}

/// The records an index document lists.
pub fn index_entries(index: &AutoCommit) -> Vec<IndexEntry> {
    gendan_core::summary::index_entries(index)
        .into_iter()
        .filter_map(|(id, s)| {
            Some(IndexEntry {
                id: id.parse().ok()?,
                record_type: s.record_type,
                title: s.title,
            })
        })
        .collect()
}

/// Reads a root-level text field (scalar string or text object) of a document.
pub fn root_text(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (AmValue::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        (AmValue::Object(ObjType::Text), id) => doc.text(&id).ok(),
        _ => None,
    }
}

/// The keys of a root-level map (e.g. `defects`).
pub fn root_map_keys(doc: &AutoCommit, key: &str) -> Vec<String> {
    match doc.get(ROOT, key) {
        Ok(Some((AmValue::Object(ObjType::Map), obj))) => doc.keys(&obj).collect(),
        _ => Vec::new(),
    }
}

/// Logs in as `merch` (office: reads everything) and fetches `doc` as the server has it
/// now, through a fresh sync connection. `None` when the server says it is unavailable.
pub fn server_copy(port: u16, doc: DocumentId) -> Option<AutoCommit> {
    let merch = crate::login(port, "merch");
    let mut c = SyncClient::connect(port, &merch.token, &format!("check-{}", unique()));
    let got = c.fetch(doc).ok().map(|()| c.doc(&doc));
    drop(c.into_peer());
    got
}

/// A process-unique number (peer ids, defect ids).
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(std::process::id()) << 40) ^ (u64::from(t) << 8) ^ n
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
