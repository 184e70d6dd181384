//! Malformed and hostile input over a real socket: every bad frame ends only the connection
//! that sent it (with an `error` message where the protocol has one), HTTP authentication
//! refuses bad tokens at the upgrade, out-of-scope documents are indistinguishable from
//! documents that do not exist — and afterwards the server still answers `/healthz` and
//! a well-behaved client still syncs.

use std::time::Duration;

use gendan_core::inspection::{InspectionOp, TextField};
use gendan_core::protocol::{DocumentId, Message, PeerId, PeerMetadata, encode};
use gendan_tests::http;
use gendan_tests::ws::{self, Auth, IndexEntry, Recv, index_entries, root_text, server_copy};
use gendan_tests::{PATIENCE, RawSocket, Server, ServerOptions, SyncClient, login};

fn join(peer: &str, versions: &[&str]) -> Message {
    Message::Join {
        sender_id: PeerId::new(peer),
        peer_metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
        }),
        supported_protocol_versions: versions.iter().map(|v| (*v).to_string()).collect(),
    }
}

/// A socket that has done the handshake as `peer`; returns it with the server's peer id.
fn joined(port: u16, token: &str, peer: &str) -> (RawSocket, PeerId) {
    let mut s = RawSocket::connect(port, token);
    s.send(&join(peer, &["1"])).expect("send join");
    match s.recv(PATIENCE) {
        Recv::Frame(Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            ..
        }) => {
            assert_eq!(target_id.as_str(), peer, "peer answers the joining peer");
            assert_eq!(selected_protocol_version, "1");
            (s, sender_id)
        }
        other => panic!("expected peer after join, got {other:?}"),
    }
}

/// The server must answer with one `error` message and close the connection; returns the
/// error text.
fn expect_error_and_close(s: &mut RawSocket, case: &str) -> String {
    let (msgs, end) = s.recv_until_closed(PATIENCE);
    assert!(
        matches!(end, Recv::Close(_) | Recv::Gone(_)),
        "{case}: connection should end, got {end:?}"
    );
    let errors: Vec<&String> = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Error { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "{case}: exactly one error message before the close, got {msgs:?} then {end:?}"
    );
    assert_eq!(
        msgs.len(),
        1,
        "{case}: nothing but the error before the close, got {msgs:?}"
    );
    errors[0].clone()
}

/// The server must close the connection (no protocol message owed).
fn expect_close(s: &mut RawSocket, case: &str) {
    let (msgs, end) = s.recv_until_closed(PATIENCE);
    assert!(
        matches!(end, Recv::Close(_) | Recv::Gone(_)),
        "{case}: connection should end, got {end:?}"
    );
    assert!(
        msgs.iter()
            .all(|m| matches!(m, Message::Error { .. } | Message::Peer { .. })),
        "{case}: unexpected messages before the close: {msgs:?}"
    );
}

fn healthy(port: u16) {
    let r = http::request(port, "GET", "/healthz", None, None).expect("/healthz answers");
    assert_eq!(r.status, 200, "/healthz: {}", r.body);
    assert_eq!(r.json()["status"], "ok", "/healthz: {}", r.body);
}

fn upgrade_status(port: u16, auth: Auth<'_>) -> u16 {
    match ws::open(port, auth) {
        Ok(_) => 101,
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
    }
}

/// The ids a user's index lists, fetched over sync.
fn index_of(port: u16, user: &str) -> Vec<IndexEntry> {
    let l = login(port, user);
    let index = l.index_id.expect("field users have an index");
    let mut c = SyncClient::connect(port, &l.token, &format!("index-{user}-{}", ws::unique()));
    c.fetch(index).expect("the own index is available");
    let entries = index_entries(&c.doc(&index));
    drop(c.into_peer());
    entries
}

fn find(entries: &[IndexEntry], record_type: &str, title_starts: &str) -> DocumentId {
    entries
        .iter()
        .find(|e| e.record_type == record_type && e.title.starts_with(title_starts))
        .unwrap_or_else(|| panic!("no {record_type} {title_starts:?} in {entries:?}"))
        .id
}

/// The answer to something just sent: the first frame (however long it takes), then every
/// frame that follows within `quiet` of the previous one.
fn collect(s: &mut RawSocket, quiet: Duration) -> Vec<Message> {
    let mut out = Vec::new();
    let mut wait = PATIENCE;
    loop {
        match s.recv(wait) {
            Recv::Frame(m) => out.push(m),
            Recv::Timeout if !out.is_empty() => return out,
            Recv::Timeout => panic!("no answer within {PATIENCE:?}"),
            other => panic!("connection ended while collecting: {other:?} after {out:?}"),
        }
        wait = quiet;
    }
}

/// A message with its document id blanked, to compare answers about different documents.
fn without_doc(m: &Message) -> Message {
    let blank = DocumentId::from_bytes([0; 16]);
    let mut m = m.clone();
    match &mut m {
        Message::Sync { document_id, .. }
        | Message::Request { document_id, .. }
        | Message::DocUnavailable { document_id, .. }
        | Message::Ephemeral { document_id, .. }
        | Message::RemoteHeadsChanged { document_id, .. } => *document_id = blank,
        _ => {}
    }
    m
}

/// A minimal CBOR writer for frames the codec would never produce.
mod cbor {
    fn head(major: u8, n: usize, out: &mut Vec<u8>) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            _ => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
        }
    }
    pub fn map(n: usize, out: &mut Vec<u8>) {
        head(5, n, out);
    }
    pub fn array(n: usize, out: &mut Vec<u8>) {
        head(4, n, out);
    }
    pub fn text(s: &str, out: &mut Vec<u8>) {
        head(3, s.len(), out);
        out.extend(s.as_bytes());
    }
    /// A `join` whose frame is exactly `len` bytes, padded with an unknown key.
    pub fn padded_join(peer: &str, len: usize) -> Vec<u8> {
        let build = |pad: usize| {
            let mut out = Vec::new();
            map(4, &mut out);
            text("type", &mut out);
            text("join", &mut out);
            text("senderId", &mut out);
            text(peer, &mut out);
            text("supportedProtocolVersions", &mut out);
            array(1, &mut out);
            text("1", &mut out);
            text("padding", &mut out);
            text(&"x".repeat(pad), &mut out);
            out
        };
        // The header of the padding text grows with it: search for the exact length.
        let mut pad = len.saturating_sub(build(0).len());
        while build(pad).len() > len {
            pad -= 1;
        }
        let frame = build(pad);
        assert_eq!(frame.len(), len, "cannot pad a join to exactly {len} bytes");
        frame
    }
}

#[test]
fn malformed_frames_end_only_their_connection() {
    let server = Server::start_demo();
    let port = server.port();
    let qc1 = login(port, "qc1");
    let t = qc1.token.as_str();

    // A connection that stays open through all of it, to show one bad peer harms no other.
    let (mut bystander, server_peer) = joined(port, t, "bystander");

    // Garbage before the handshake.
    let garbage: [(&str, Vec<u8>); 6] = [
        (
            "random bytes",
            vec![0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef],
        ),
        ("empty frame", Vec::new()),
        ("CBOR array, not a map", vec![0x82, 0x01, 0x02]),
        ("CBOR text, not a map", vec![0x63, b'a', b'b', b'c']),
        ("map with a non-text key", vec![0xa1, 0x01, 0x02]),
        ("map without type", vec![0xa1, 0x61, b'a', 0x01]),
    ];
    for (case, bytes) in garbage {
        let mut s = RawSocket::connect(port, t);
        s.send_binary(bytes).expect("send");
        let e = expect_error_and_close(&mut s, case);
        eprintln!("  {case}: error {e:?}, closed");
    }

    // Garbage after the handshake.
    let (mut s, _) = joined(port, t, "garbage-after-join");
    s.send_binary(vec![0xff; 32]).expect("send");
    let e = expect_error_and_close(&mut s, "garbage after join");
    eprintln!("  garbage after join: error {e:?}, closed");

    // A truncated frame: a valid join cut short.
    let whole = encode(&join("truncated", &["1"]));
    for cut in [1, whole.len() / 2, whole.len() - 1] {
        let mut s = RawSocket::connect(port, t);
        s.send_binary(whole[..cut].to_vec()).expect("send");
        let e = expect_error_and_close(&mut s, "truncated join");
        eprintln!(
            "  join truncated to {cut}/{} bytes: error {e:?}",
            whole.len()
        );
    }
    // Trailing bytes after a valid message.
    let mut s = RawSocket::connect(port, t);
    let mut long = whole.clone();
    long.extend([0x00, 0x01]);
    s.send_binary(long).expect("send");
    let e = expect_error_and_close(&mut s, "trailing bytes");
    eprintln!("  join with trailing bytes: error {e:?}");

    // A text frame: the protocol is binary only.
    let mut s = RawSocket::connect(port, t);
    s.send_text(r#"{"type":"join","senderId":"text"}"#)
        .expect("send");
    expect_close(&mut s, "text frame");
    eprintln!("  text frame: closed");
    // A text frame after the handshake.
    let (mut s, _) = joined(port, t, "text-after-join");
    s.send_text("hello").expect("send");
    expect_close(&mut s, "text frame after join");

    // The documents to talk about.
    let qc1_index = index_of(port, "qc1");
    let final_inspection = find(&qc1_index, "inspection", "Final inspection");
    let clerk_index = index_of(port, "clerk1");
    let stock_count = find(&clerk_index, "stock_count", "");
    assert!(
        qc1_index.iter().all(|e| e.id != stock_count),
        "the stock count is outside qc1's scope"
    );
    let empty_request_data = {
        let mut empty = automerge::AutoCommit::new();
        let mut st = automerge::sync::State::new();
        use automerge::sync::SyncDoc;
        empty
            .sync()
            .generate_sync_message(&mut st)
            .expect("an empty doc says hello")
            .encode()
    };
    let request = |peer: &str, doc: DocumentId, server: &PeerId| Message::Request {
        sender_id: PeerId::new(peer),
        target_id: server.clone(),
        document_id: doc,
        data: empty_request_data.clone(),
    };

    // `sync` (or `request`) before `join`.
    let mut s = RawSocket::connect(port, t);
    s.send(&request("early", final_inspection, &server_peer))
        .expect("send");
    let e = expect_error_and_close(&mut s, "request before join");
    assert!(
        e.contains("join"),
        "the error names the missing join: {e:?}"
    );
    eprintln!("  request before join: error {e:?}");
    let mut s = RawSocket::connect(port, t);
    s.send(&Message::Sync {
        sender_id: PeerId::new("early"),
        target_id: server_peer.clone(),
        document_id: final_inspection,
        data: empty_request_data.clone(),
    })
    .expect("send");
    let e = expect_error_and_close(&mut s, "sync before join");
    eprintln!("  sync before join: error {e:?}");

    // A second join.
    let (mut s, _) = joined(port, t, "twice");
    s.send(&join("twice", &["1"])).expect("send");
    let e = expect_error_and_close(&mut s, "second join");
    eprintln!("  second join: error {e:?}");

    // Only protocol version 2 offered (the fact sheet: `error` "unsupported protocol version").
    let mut s = RawSocket::connect(port, t);
    s.send(&join("future", &["2"])).expect("send");
    let e = expect_error_and_close(&mut s, "version 2 only");
    assert_eq!(e, "unsupported protocol version");
    eprintln!("  join with versions [\"2\"]: error {e:?}");

    // A senderId other than the one that joined.
    let (mut s, _) = joined(port, t, "honest");
    s.send(&request("impostor", final_inspection, &server_peer))
        .expect("send");
    let e = expect_error_and_close(&mut s, "senderId mismatch");
    eprintln!("  senderId mismatch: error {e:?}");

    // A sync whose data is not an Automerge sync message.
    let (mut s, _) = joined(port, t, "bad-sync-data");
    s.send(&Message::Sync {
        sender_id: PeerId::new("bad-sync-data"),
        target_id: server_peer.clone(),
        document_id: final_inspection,
        data: vec![0x42, 0xff, 0xff, 0xff],
    })
    .expect("send");
    let e = expect_error_and_close(&mut s, "bad sync data");
    eprintln!("  sync with bad automerge data: error {e:?}");

    // Authentication at the upgrade.
    assert_eq!(upgrade_status(port, Auth::None), 401, "no token");
    assert_eq!(
        upgrade_status(port, Auth::Query("not-a-token")),
        401,
        "wrong token in the query"
    );
    assert_eq!(
        upgrade_status(port, Auth::Header(&"0".repeat(64))),
        401,
        "wrong token in the header"
    );
    assert_eq!(
        upgrade_status(port, Auth::Header(t)),
        101,
        "a good token in the header"
    );
    let doomed = login(port, "qc1");
    assert_eq!(upgrade_status(port, Auth::Query(&doomed.token)), 101);
    let r = http::post(
        port,
        "/api/v1/logout",
        Some(&doomed.token),
        &serde_json::json!({}),
    );
    assert!(
        r.status == 204 || r.status == 200,
        "logout: {} {}",
        r.status,
        r.body
    );
    assert_eq!(
        upgrade_status(port, Auth::Query(&doomed.token)),
        401,
        "a revoked token"
    );
    assert_eq!(upgrade_status(port, Auth::Header(&doomed.token)), 401);
    eprintln!("  no / wrong / revoked token: 401 at the upgrade");

    // Out of scope looks exactly like absent: qc1 asks for the stock count (exists, not
    // qc1's) and for a random id (does not exist), in the same ways.
    let random = DocumentId::from_bytes(ws::unique().to_le_bytes().repeat(2).try_into().unwrap());
    let (mut s, _) = joined(port, t, "prober");
    // A document of the device's own (the same one for both ids).
    let mut mine = automerge::AutoCommit::new();
    {
        use automerge::transaction::Transactable;
        mine.put(automerge::ROOT, "type", "inspection").unwrap();
    }
    mine.commit();
    let mut answers = Vec::new();
    for doc in [stock_count, random] {
        use automerge::sync::SyncDoc;
        // 1. request, as a device that has nothing of it.
        s.send(&request("prober", doc, &server_peer)).expect("send");
        let a = collect(&mut s, Duration::from_millis(400));
        // 2. sync claiming a document of its own (heads the server does not know), no
        //    changes yet: the first message of a device that made it offline.
        let mut state = automerge::sync::State::new();
        let hello = mine.sync().generate_sync_message(&mut state).unwrap();
        s.send(&Message::Sync {
            sender_id: PeerId::new("prober"),
            target_id: server_peer.clone(),
            document_id: doc,
            data: hello.encode(),
        })
        .expect("send");
        let b = collect(&mut s, Duration::from_millis(400));
        // 3. the changes the server's answer asks for.
        let mut c = Vec::new();
        if let [Message::Sync { data, .. }] = b.as_slice() {
            let reply = automerge::sync::Message::decode(data).unwrap();
            mine.sync().receive_sync_message(&mut state, reply).unwrap();
            if let Some(push) = mine.sync().generate_sync_message(&mut state) {
                assert!(!push.changes.is_empty(), "the server asked for the changes");
                s.send(&Message::Sync {
                    sender_id: PeerId::new("prober"),
                    target_id: server_peer.clone(),
                    document_id: doc,
                    data: push.encode(),
                })
                .expect("send");
                c = collect(&mut s, Duration::from_millis(400));
            }
        }
        answers.push((a, b, c));
    }
    let norm = |v: &Vec<Message>| v.iter().map(without_doc).collect::<Vec<_>>();
    let ((a1, b1, c1), (a2, b2, c2)) = (&answers[0], &answers[1]);
    for (step, out_of_scope, unknown) in [
        ("request", a1, a2),
        ("sync without changes", b1, b2),
        ("sync with changes", c1, c2),
    ] {
        eprintln!(
            "  {step}: out of scope -> {:?}",
            out_of_scope
                .iter()
                .map(Message::type_name)
                .collect::<Vec<_>>()
        );
        eprintln!(
            "  {step}: unknown id   -> {:?}",
            unknown.iter().map(Message::type_name).collect::<Vec<_>>()
        );
        assert_eq!(
            norm(out_of_scope),
            norm(unknown),
            "{step}: an out-of-scope document must be answered exactly like an unknown one"
        );
    }
    assert!(
        matches!(a1.as_slice(), [Message::DocUnavailable { document_id, .. }] if *document_id == stock_count),
        "an out-of-scope request is answered doc-unavailable, nothing else: {a1:?}"
    );
    assert!(
        matches!(c1.as_slice(), [Message::DocUnavailable { .. }]),
        "pushing changes into an out-of-scope document is refused: {c1:?}"
    );
    drop(s);

    // The bystander was never disturbed, the server is healthy, and a good client syncs.
    bystander
        .send(&request("bystander", final_inspection, &server_peer))
        .expect("the bystander's connection is open");
    match bystander.recv(PATIENCE) {
        Recv::Frame(Message::Sync { document_id, .. }) => {
            assert_eq!(document_id, final_inspection);
        }
        other => panic!("the bystander should get the inspection, got {other:?}"),
    }
    healthy(port);
    let mut good = SyncClient::connect(port, t, "good-client");
    good.fetch(final_inspection)
        .expect("qc1's own inspection is available");
    let note = format!("after the storm {}", ws::unique());
    good.inspection_op(
        final_inspection,
        "qc1",
        &InspectionOp::SetText {
            field: TextField::Remarks,
            value: note.clone(),
        },
    );
    assert!(
        good.wait_acknowledged(final_inspection, PATIENCE),
        "the good client's edit is acknowledged"
    );
    let on_server = server_copy(port, final_inspection).expect("merch reads the inspection");
    assert_eq!(
        root_text(&on_server, "remarks").as_deref(),
        Some(note.as_str())
    );
    eprintln!("  afterwards: /healthz ok, a good client synced an edit");
}

#[test]
fn oversized_frames_are_refused_at_the_configured_limit() {
    const LIMIT: usize = 4096;
    let server =
        Server::start(ServerOptions::demo().with_args(&["--frame-bytes-max", &LIMIT.to_string()]));
    let port = server.port();
    let qc1 = login(port, "qc1");

    // Exactly at the limit: accepted.
    let mut s = RawSocket::connect(port, &qc1.token);
    s.send_binary(cbor::padded_join("at-limit", LIMIT))
        .expect("send");
    match s.recv(PATIENCE) {
        Recv::Frame(Message::Peer { .. }) => {}
        other => panic!("a {LIMIT}-byte join should be answered with peer, got {other:?}"),
    }
    // One byte over, before the handshake and after it: the connection is ended.
    let mut s = RawSocket::connect(port, &qc1.token);
    s.send_binary(cbor::padded_join("over-limit", LIMIT + 1))
        .expect("send");
    expect_close(&mut s, "join one byte over the limit");
    let (mut s, server_peer) = joined(port, &qc1.token, "big-sync");
    let _ = s.send(&Message::Sync {
        sender_id: PeerId::new("big-sync"),
        target_id: server_peer,
        document_id: DocumentId::from_bytes([9; 16]),
        data: vec![0x42; 64 * 1024],
    });
    expect_close(&mut s, "64 KiB sync after join");
    eprintln!(
        "  {LIMIT}-byte frame accepted; {} bytes and 64 KiB refused",
        LIMIT + 1
    );

    healthy(port);
    let mut good = SyncClient::connect(port, &qc1.token, "good-after-big");
    let index = qc1.index_id.expect("qc1 has an index");
    good.fetch(index).expect("the index syncs");
}
