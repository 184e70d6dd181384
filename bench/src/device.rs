//! A simulated field device: its documents (kept across connections, like a tablet's local
//! store) and one WebSocket session at a time, speaking automerge-repo protocol v1 with
//! `gendan-core`'s wire codec and plain Automerge sync states.
//!
//! A session is a task driven by [`Cmd`]s from the coordinator: sync a set of documents
//! (a bounded window in flight, like a real client), make an edit, or close. Every change a
//! device makes is registered with the time it was made ([`Shared::made`]); every change a
//! device receives from the server is looked up there, which gives the edit → arrival
//! latency at another device.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use automerge::sync;
use automerge::{AutoCommit, ChangeHash};
use futures_util::{SinkExt, StreamExt};
use gendan_core::aql::DefectClass;
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, InspectionOp, MeasurementPoint, NewInspection};
use gendan_core::protocol::{DocumentId, Message, PROTOCOL_VERSION, PeerId, PeerMetadata};
use gendan_core::record::{Record, actor_from_bytes};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Counters and the change registry, shared by every device of a run.
#[derive(Debug, Default)]
pub struct Shared {
    /// Payload bytes of binary frames the devices sent.
    pub bytes_out: AtomicU64,
    /// Payload bytes of binary frames the devices received.
    pub bytes_in: AtomicU64,
    /// Frames sent and received.
    pub frames: AtomicU64,
    /// Every change a device made that is being timed: when, and by which device.
    pub made: Mutex<HashMap<ChangeHash, (Instant, u32)>>,
    /// Edit → arrival latencies in ms, since the coordinator last took them.
    pub latencies: Mutex<Vec<f64>>,
    /// Arrivals of timed changes at devices other than the author.
    pub arrivals: AtomicU64,
    /// Documents the server said it does not have (or share).
    pub unavailable: AtomicU64,
    /// Sessions that failed (connect error, closed by the server, bad frame).
    pub failures: AtomicU64,
    /// The first failure's message.
    pub first_failure: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, what: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut f = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(what);
        }
    }
}

#[derive(Debug)]
struct Doc {
    doc: AutoCommit,
    state: sync::State,
    /// This device's own defect in this record (tallied by later edits).
    defect: Option<String>,
}

/// A device: who it is and what it holds.
#[derive(Debug)]
pub struct Device {
    /// Index in the run (for latency attribution).
    pub index: u32,
    /// Peer id on the wire.
    pub peer: PeerId,
    /// The Gendan user it logs in as (`None` against the reference server: no auth).
    pub user: String,
    docs: HashMap<DocumentId, Doc>,
    edits: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh random document id (bs58check of 16 random bytes, as automerge-repo makes them).
pub fn new_doc_id() -> DocumentId {
    DocumentId::from_bytes(gendan_server::sync::random_bytes16())
}

impl Device {
    /// A device with nothing on it.
    pub fn new(index: u32, peer: String, user: String) -> Self {
        Device {
            index,
            peer: PeerId::new(peer),
            user,
            docs: HashMap::new(),
            edits: 0,
        }
    }

    /// Creates an inspection record on the device (as the PWA does offline): the size
    /// spec has `points` points; `assignees` are assigned from the start.
    pub fn create_inspection(
        &mut self,
        n: usize,
        points: usize,
        assignees: &[String],
    ) -> DocumentId {
        let ctx = EditContext::new(self.user.clone(), now_ms());
        let new = NewInspection {
            title: format!("Final inspection {} #{n}", self.user),
            order_no: format!("SO-{}-{n}", self.index),
            po_no: format!("PO-{}-{n}", self.index),
            style_no: format!("ST-{n:04}"),
            customer: "Bench Trading Co.".into(),
            factory: "Bench Garment Factory".into(),
            lot_size: 5000,
            due_ms: now_ms() + 7 * 86_400_000,
            assignees: assignees.to_vec(),
            points: (0..points)
                .map(|p| {
                    (
                        format!("p{p}"),
                        MeasurementPoint {
                            name: format!("point of measure {p}"),
                            size: "M".into(),
                            target: gendan_core::common::Decimal(50.0 + p as f64),
                            tol_minus: gendan_core::common::Decimal(1.0),
                            tol_plus: gendan_core::common::Decimal(1.0),
                            unit: "cm".into(),
                        },
                    )
                })
                .collect(),
            ..NewInspection::default()
        };
        let record = inspection::create(
            &new,
            actor_from_bytes(&gendan_server::sync::random_bytes16()),
            &ctx,
        )
        .expect("a valid new inspection");
        let id = new_doc_id();
        self.docs.insert(
            id,
            Doc {
                doc: record.into_doc(),
                state: sync::State::new(),
                defect: None,
            },
        );
        id
    }

    /// The heads of a document held.
    pub fn heads(&mut self, id: &DocumentId) -> Vec<ChangeHash> {
        self.docs
            .get_mut(id)
            .map(|d| d.doc.get_heads())
            .unwrap_or_default()
    }

    /// One edit of a held inspection, as an inspector makes it on the tablet: a new defect
    /// (every fourth edit, and the first on a record), otherwise +1 on this device's defect
    /// tally (an Automerge counter). The new changes are registered for latency timing
    /// (`timed_from` overrides their start time, e.g. the reconnect after an offline burst).
    pub fn edit(&mut self, id: &DocumentId, shared: &Shared, timed_from: Option<Instant>) {
        let Some(d) = self.docs.get_mut(id) else {
            return;
        };
        self.edits += 1;
        let ctx = EditContext::new(self.user.clone(), now_ms());
        let op = match &d.defect {
            Some(defect) if !self.edits.is_multiple_of(4) => InspectionOp::TallyDefect {
                id: defect.clone(),
                delta: 1,
            },
            _ => {
                let defect = format!("d{}x{}", self.index, self.edits);
                d.defect = Some(defect.clone());
                InspectionOp::AddDefect {
                    id: defect,
                    class: DefectClass::Minor,
                    description: "loose thread at the hem".into(),
                    position: "back hem".into(),
                    qty: 1,
                }
            }
        };
        let before = d.doc.get_heads();
        let doc = std::mem::take(&mut d.doc);
        let mut record = match Record::from_doc(doc) {
            Ok(r) => r,
            Err(b) => {
                d.doc = b.0;
                return;
            }
        };
        let result = inspection::apply(&mut record, &op, &ctx);
        d.doc = record.into_doc();
        if result.is_err() {
            return;
        }
        let at = timed_from.unwrap_or_else(Instant::now);
        let hashes: Vec<ChangeHash> = d
            .doc
            .get_changes(&before)
            .iter()
            .map(|c| c.hash())
            .collect();
        let mut made = shared.made.lock().unwrap_or_else(|e| e.into_inner());
        for h in hashes {
            made.insert(h, (at, self.index));
        }
    }
}

/// What a session is told to do.
#[derive(Debug)]
pub enum Cmd {
    /// Sync these documents (fetching those the device lacks) until the device and the
    /// server both hold the given heads (for a document the device has, its own heads when
    /// `None`); at most `window` documents in flight. Answers when all are done.
    Sync {
        docs: Vec<(DocumentId, Option<Vec<ChangeHash>>)>,
        window: usize,
        done: oneshot::Sender<()>,
    },
    /// Make one edit of a held document and send it.
    Edit(DocumentId),
    /// Close the socket and hand the device back.
    Close,
}

struct Pending {
    queue: VecDeque<(DocumentId, Option<Vec<ChangeHash>>)>,
    in_flight: HashMap<DocumentId, Vec<ChangeHash>>,
    window: usize,
    done: Option<oneshot::Sender<()>>,
}

/// Runs one session of `device` on `url` until [`Cmd::Close`] (or the connection fails);
/// answers `joined` once the server answered `join`. Returns the device.
pub async fn session(
    mut device: Device,
    url: String,
    shared: Arc<Shared>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    joined: oneshot::Sender<()>,
) -> Device {
    // Sync states are per connection.
    for d in device.docs.values_mut() {
        d.state = sync::State::new();
    }
    let ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            shared.fail(format!("{}: connect: {e}", device.peer.as_str()));
            return device;
        }
    };
    let (mut sink, mut stream) = ws.split();
    let join = Message::Join {
        sender_id: device.peer.clone(),
        peer_metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
        }),
        supported_protocol_versions: vec![PROTOCOL_VERSION.to_string()],
    };
    let mut out: Vec<Vec<u8>> = vec![gendan_core::protocol::encode(&join)];
    let mut server: Option<PeerId> = None;
    let mut joined = Some(joined);
    let mut pending = Pending {
        queue: VecDeque::new(),
        in_flight: HashMap::new(),
        window: 1,
        done: None,
    };
    let mut unavailable: HashSet<DocumentId> = HashSet::new();
    let mut closing = false;
    loop {
        for frame in out.drain(..) {
            shared
                .bytes_out
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            shared.frames.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = sink.feed(WsMessage::Binary(frame.into())).await {
                shared.fail(format!("{}: send: {e}", device.peer.as_str()));
                return device;
            }
        }
        if let Err(e) = sink.flush().await {
            shared.fail(format!("{}: flush: {e}", device.peer.as_str()));
            return device;
        }
        if closing {
            let _ = sink.close().await;
            return device;
        }
        tokio::select! {
            frame = stream.next() => {
                let bytes = match frame {
                    Some(Ok(WsMessage::Binary(b))) => b,
                    Some(Ok(WsMessage::Close(c))) => {
                        shared.fail(format!("{}: closed by the server: {c:?}", device.peer.as_str()));
                        return device;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        shared.fail(format!("{}: receive: {e}", device.peer.as_str()));
                        return device;
                    }
                    None => {
                        shared.fail(format!("{}: connection ended", device.peer.as_str()));
                        return device;
                    }
                };
                shared.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                shared.frames.fetch_add(1, Ordering::Relaxed);
                let msg = match gendan_core::protocol::decode(&bytes) {
                    Ok(m) => m,
                    Err(e) => {
                        shared.fail(format!("{}: bad frame: {e}", device.peer.as_str()));
                        return device;
                    }
                };
                match msg {
                    Message::Peer { sender_id, .. } => {
                        server = Some(sender_id);
                        if let Some(j) = joined.take() {
                            let _ = j.send(());
                        }
                        start_more(&mut device, &mut pending, server.as_ref(), &mut out);
                    }
                    Message::Sync { document_id, data, .. } => {
                        let Some(d) = device.docs.get_mut(&document_id) else { continue };
                        let Ok(m) = sync::Message::decode(&data) else {
                            let peer = device.peer.as_str().to_string();
                            shared.fail(format!("{peer}: bad sync message"));
                            return device;
                        };
                        let has_changes = !m.changes.is_empty();
                        let before = if has_changes { d.doc.get_heads() } else { Vec::new() };
                        let applied = gendan_core::protocol::receive::receive_sync_message(&mut d.doc, &mut d.state, m);
                        if let Err(e) = applied {
                            let peer = device.peer.as_str().to_string();
                            shared.fail(format!("{peer}: apply: {e}"));
                            return device;
                        }
                        if has_changes {
                            record_arrivals(&mut d.doc, &before, device.index, &shared);
                        }
                        if let Some(server) = &server
                            && let Some(reply) = gendan_core::protocol::generate::generate_sync_message(&mut d.doc, &mut d.state)
                        {
                            out.push(sync_frame(&device.peer, server, document_id, reply.encode(), false));
                        }
                        check_done(&mut device, &mut pending, document_id, server.as_ref(), &mut out);
                    }
                    Message::DocUnavailable { document_id, .. } => {
                        if unavailable.insert(document_id) {
                            shared.unavailable.fetch_add(1, Ordering::Relaxed);
                        }
                        if pending.in_flight.remove(&document_id).is_some() {
                            start_more(&mut device, &mut pending, server.as_ref(), &mut out);
                        }
                    }
                    Message::Error { message, .. } => {
                        shared.fail(format!("{}: server error: {message}", device.peer.as_str()));
                        return device;
                    }
                    _ => {}
                }
            }
            cmd = cmds.recv() => match cmd {
                None | Some(Cmd::Close) => closing = true,
                Some(Cmd::Edit(id)) => {
                    device.edit(&id, &shared, None);
                    if let Some(server) = &server
                        && let Some(d) = device.docs.get_mut(&id)
                        && let Some(m) = gendan_core::protocol::generate::generate_sync_message(&mut d.doc, &mut d.state)
                    {
                        out.push(sync_frame(&device.peer, server, id, m.encode(), false));
                    }
                }
                Some(Cmd::Sync { docs, window, done }) => {
                    pending.queue.extend(docs);
                    pending.window = window.max(1);
                    pending.done = Some(done);
                    start_more(&mut device, &mut pending, server.as_ref(), &mut out);
                }
            },
        }
    }
}

fn sync_frame(
    me: &PeerId,
    server: &PeerId,
    doc: DocumentId,
    data: Vec<u8>,
    request: bool,
) -> Vec<u8> {
    let msg = if request {
        Message::Request {
            sender_id: me.clone(),
            target_id: server.clone(),
            document_id: doc,
            data,
        }
    } else {
        Message::Sync {
            sender_id: me.clone(),
            target_id: server.clone(),
            document_id: doc,
            data,
        }
    };
    gendan_core::protocol::encode(&msg)
}

fn record_arrivals(doc: &mut AutoCommit, before: &[ChangeHash], me: u32, shared: &Shared) {
    let now = Instant::now();
    // Nothing is timed before the edit phases (the pulls): the walk of the new changes is
    // measurement work no real device does, so it is skipped where it cannot find any.
    if shared
        .made
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
    {
        return;
    }
    let hashes: Vec<ChangeHash> = doc.get_changes(before).iter().map(|c| c.hash()).collect();
    let made = shared.made.lock().unwrap_or_else(|e| e.into_inner());
    let mut samples = Vec::new();
    for h in hashes {
        if let Some((at, author)) = made.get(&h)
            && *author != me
        {
            samples.push(now.saturating_duration_since(*at).as_secs_f64() * 1000.0);
        }
    }
    drop(made);
    if !samples.is_empty() {
        shared
            .arrivals
            .fetch_add(samples.len() as u64, Ordering::Relaxed);
        shared
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(samples);
    }
}

fn is_done(d: &Doc, expect: &[ChangeHash]) -> bool {
    // Shared heads are heads both sides hold: the document is on the server and here.
    !expect.is_empty() && expect.iter().all(|h| d.state.shared_heads.contains(h))
}

fn check_done(
    device: &mut Device,
    pending: &mut Pending,
    id: DocumentId,
    server: Option<&PeerId>,
    out: &mut Vec<Vec<u8>>,
) {
    let Some(expect) = pending.in_flight.get(&id) else {
        return;
    };
    let Some(d) = device.docs.get(&id) else {
        return;
    };
    if is_done(d, expect) {
        pending.in_flight.remove(&id);
        start_more(device, pending, server, out);
    }
}

fn start_more(
    device: &mut Device,
    pending: &mut Pending,
    server: Option<&PeerId>,
    out: &mut Vec<Vec<u8>>,
) {
    let Some(server) = server else {
        return;
    };
    while pending.in_flight.len() < pending.window {
        let Some((id, expect)) = pending.queue.pop_front() else {
            break;
        };
        let d = device.docs.entry(id).or_insert_with(|| Doc {
            doc: AutoCommit::new(),
            state: sync::State::new(),
            defect: None,
        });
        let expect = expect.unwrap_or_else(|| d.doc.get_heads());
        if is_done(d, &expect) {
            continue;
        }
        let request = d.doc.get_heads().is_empty();
        if let Some(m) =
            gendan_core::protocol::generate::generate_sync_message(&mut d.doc, &mut d.state)
        {
            out.push(sync_frame(&device.peer, server, id, m.encode(), request));
        }
        pending.in_flight.insert(id, expect);
    }
    if pending.in_flight.is_empty()
        && pending.queue.is_empty()
        && let Some(done) = pending.done.take()
    {
        let _ = done.send(());
    }
}
