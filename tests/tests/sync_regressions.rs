//! Regression tests for two server bugs the end-to-end tests found (fixed in 84e6eeb): text
//! fields written as automerge Text were refused, and a refused change set followed by
//! another edit started an endless sync loop with automerge-repo clients. The JS interop
//! suite (tests/js) checks the same two through the stock automerge-repo client.

use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use gendan_core::protocol::{DocumentId, Message, PeerId, PeerMetadata};
use gendan_tests::ws::{self, Recv, index_entries, root_text};
use gendan_tests::{PATIENCE, RawSocket, Server, SyncClient, http, login};

fn final_inspection(port: u16, token: &str, index: DocumentId) -> DocumentId {
    let mut c = SyncClient::connect(port, token, &format!("index-{}", ws::unique()));
    c.fetch(index).expect("qc1's index");
    index_entries(&c.doc(&index))
        .into_iter()
        .find(|e| e.title.starts_with("Final inspection"))
        .expect("the final inspection")
        .id
}

/// A device the way automerge-repo (JS or samod) runs one: one `sync::State` per
/// (peer, document) for the life of the connection, answering every sync message — and,
/// unlike `ClientPeer`, not resetting anything on `doc-unavailable`.
struct RepoLikeDevice {
    socket: RawSocket,
    me: PeerId,
    server: PeerId,
    id: DocumentId,
    doc: AutoCommit,
    state: sync::State,
    /// Frames received, by type.
    received: Vec<&'static str>,
}

impl RepoLikeDevice {
    fn connect(port: u16, token: &str, id: DocumentId) -> Self {
        let me = PeerId::new(format!("repo-like-{}", ws::unique()));
        let mut socket = RawSocket::connect(port, token);
        socket
            .send(&Message::Join {
                sender_id: me.clone(),
                peer_metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
                supported_protocol_versions: vec!["1".into()],
            })
            .expect("send join");
        let server = match socket.recv(PATIENCE) {
            Recv::Frame(Message::Peer { sender_id, .. }) => sender_id,
            other => panic!("expected peer, got {other:?}"),
        };
        let mut d = RepoLikeDevice {
            socket,
            me,
            server,
            id,
            doc: AutoCommit::new(),
            state: sync::State::new(),
            received: Vec::new(),
        };
        d.send_sync(true);
        d.pump(Duration::from_millis(500));
        assert!(
            !d.doc.get_heads().is_empty(),
            "the device received the inspection"
        );
        d
    }

    fn send_sync(&mut self, request: bool) -> bool {
        let Some(m) = self.doc.sync().generate_sync_message(&mut self.state) else {
            return false;
        };
        let (sender_id, target_id, document_id, data) =
            (self.me.clone(), self.server.clone(), self.id, m.encode());
        let msg = if request {
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
        };
        self.socket.send(&msg).is_ok()
    }

    /// Answers every frame for `duration`; returns how many arrived.
    fn pump(&mut self, duration: Duration) -> usize {
        let deadline = Instant::now() + duration;
        let mut n = 0;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.socket.recv(left) {
                Recv::Frame(Message::Sync { data, .. }) => {
                    n += 1;
                    self.received.push("sync");
                    let m = sync::Message::decode(&data).expect("a sync message");
                    self.doc
                        .sync()
                        .receive_sync_message(&mut self.state, m)
                        .expect("applies");
                    self.send_sync(false);
                }
                Recv::Frame(m) => {
                    n += 1;
                    self.received.push(match m {
                        Message::DocUnavailable { .. } => "doc-unavailable",
                        Message::Error { .. } => "error",
                        _ => "other",
                    });
                }
                Recv::Timeout => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
        n
    }

    fn edit(&mut self, f: impl FnOnce(&mut AutoCommit)) {
        f(&mut self.doc);
        self.doc.commit();
        self.send_sync(false);
    }
}

/// automerge-js (2.x and 3.x, so every stock automerge-repo JS client) stores a plain JS
/// string as collaborative text, not as a scalar string: `d.remarks = "checked"` puts a
/// Text object at `remarks`. The write check used to hydrate `remarks: String` with
/// autosurgeon, which accepts only scalar strings, and refused the change set ("does not
/// match the inspection schema: the record does not read as its type: unexpected text");
/// the same held for every text field of every record type.
#[test]
fn text_fields_written_as_automerge_text_are_accepted() {
    let server = Server::start_demo();
    let port = server.port();
    let qc1 = login(port, "qc1");
    let id = final_inspection(port, &qc1.token, qc1.index_id.expect("index"));
    let mut c = SyncClient::connect(port, &qc1.token, "text-writer");
    c.fetch(id).expect("the inspection");
    let doc = c.peer_mut().doc_mut(&id).expect("held");
    let text = doc
        .put_object(ROOT, "remarks", ObjType::Text)
        .expect("put text");
    doc.splice_text(&text, 0, 0, "checked, as automerge-js writes it")
        .expect("splice");
    doc.commit();
    c.sync();
    let answered = c.pump_until(PATIENCE, |c| {
        c.peer_mut().unsynced_changes(&id) == 0 || c.peer().is_unavailable(&id)
    });
    assert!(
        answered,
        "the server neither acknowledged nor refused the change"
    );
    let merch = login(port, "merch");
    let r = http::get(port, &format!("/api/v1/records/{id}"), &merch.token);
    assert_eq!(
        r.json()["view"]["record"]["remarks"],
        "checked, as automerge-js writes it",
        "the server refused a text-valued `remarks`; events: {:?}",
        c.events()
    );
}

/// After refusing a change set the server answers `doc-unavailable`. It used to forget its
/// sync state for that peer and document and go on answering — but an automerge-repo
/// client keeps its own state, in which the refused change counts as sent. The client's
/// next edit arrived without the refused change it depends on; the server, starting from a
/// fresh state, asked for it (`need`); the client never resends a hash it already sent; and
/// the two answered each other's empty sync messages forever (about 3,000 frames a second
/// here; 250 a second with the JS client), below the per-user frame rate limit. The
/// device's `ClientPeer` resets its state on `doc-unavailable`, so the PWA never looped.
#[test]
fn refused_change_set_does_not_start_a_sync_storm() {
    let server = Server::start_demo();
    let port = server.port();
    let qc1 = login(port, "qc1");
    let id = final_inspection(port, &qc1.token, qc1.index_id.expect("index"));
    let mut device = RepoLikeDevice::connect(port, &qc1.token, id);
    // A change qc1 may not make: refused.
    device.edit(|d| {
        d.put(ROOT, "factory", "Some Other Factory").unwrap();
    });
    device.pump(Duration::from_millis(500));
    assert!(
        device.received.contains(&"doc-unavailable"),
        "the refused change set is answered doc-unavailable: {:?}",
        device.received
    );
    // An edit qc1 may make, on top of the refused one.
    device.edit(|d| {
        d.put(ROOT, "remarks", "after the refusal").unwrap();
    });
    let frames = device.pump(Duration::from_secs(1));
    eprintln!(
        "frames from the server in the second after the edit: {frames} (remarks on the server: {:?})",
        ws::server_copy(port, id).and_then(|d| root_text(&d, "remarks"))
    );
    assert!(
        frames <= 10,
        "the server and the client loop: {frames} frames in one second"
    );
}
