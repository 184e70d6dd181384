//! Interop with samod 0.16 (the Rust port of automerge-repo) as a client: it dials the
//! server's `/sync` WebSocket with the session token in the URL, finds qc1's index and the
//! final inspection, edits it (acknowledged, then read back over REST), and sees an
//! out-of-scope document as unavailable, exactly like an id that does not exist.
//!
//! samod's own WebSocket dialer (`Repo::dial_websocket`, feature `tungstenite`) would take
//! the same URL with its `?token=` query (it passes `url.as_str()` to tokio-tungstenite),
//! but that feature also turns on native-tls, i.e. OpenSSL headers at build time; the
//! [`GendanDialer`] here is the same few lines over tokio-tungstenite without TLS, through
//! samod's public `Dialer`/`Transport` API.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::{ObjType, ROOT, ReadDoc, Value as AmValue, transaction::Transactable};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use gendan_tests::http;
use gendan_tests::ws;
use gendan_tests::{PATIENCE, Server, login};
use samod::{BackoffConfig, DialError, Dialer, DocumentId, Repo, Transport, Url};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Dials `ws://…/sync?token=…` with tokio-tungstenite (plain TCP).
struct GendanDialer {
    url: Url,
}

impl Dialer for GendanDialer {
    type Error = Infallible;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<Transport, DialError<Infallible>>> {
        let url = self.url.clone();
        Box::pin(async move {
            let (socket, _response) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .map_err(DialError::transient)?;
            let (sink, stream) = socket.split();
            // One protocol message per binary frame; control frames are not messages.
            let stream = Box::pin(stream.filter_map(|m| async move {
                match m {
                    Ok(WsMessage::Binary(b)) => Some(Ok(b.to_vec())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            }));
            let sink = Box::pin(sink.with(|bytes: Vec<u8>| async move {
                Ok::<_, tungstenite::Error>(WsMessage::Binary(bytes.into()))
            }));
            Ok(Transport::new(stream, sink))
        })
    }
}

fn text_at(doc: &automerge::Automerge, obj: &automerge::ObjId, key: &str) -> String {
    match doc.get(obj, key) {
        Ok(Some((AmValue::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => t.to_string(),
            _ => String::new(),
        },
        Ok(Some((AmValue::Object(ObjType::Text), id))) => doc.text(&id).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The records an index document lists: (id, record type, title).
fn index_records(doc: &automerge::Automerge) -> Vec<(String, String, String)> {
    gendan_core::summary::index_entries(doc)
        .into_iter()
        .map(|(id, s)| (id, s.record_type, s.title))
        .collect()
}

/// The remarks of a record as the server's store has them: `GET /api/v1/records/{id}` as
/// merch.
fn server_remarks(port: u16, merch_token: &str, id: &str) -> Option<String> {
    let r = http::get(port, &format!("/api/v1/records/{id}"), merch_token);
    assert_eq!(r.status, 200, "GET /api/v1/records/{id}: {}", r.body);
    r.json()["view"]["record"]["remarks"]
        .as_str()
        .map(str::to_string)
}

/// The id of the demo's stock count (outside qc1's scope), as merch lists it.
fn stock_count_id(port: u16, merch_token: &str) -> String {
    let r = http::get(port, "/api/v1/records?type=stock_count", merch_token);
    assert_eq!(
        r.status, 200,
        "GET /api/v1/records?type=stock_count: {}",
        r.body
    );
    r.json()["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("merch lists the stock count: {}", r.body))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_client_syncs_edits_and_sees_scope() {
    let server = Server::start_demo();
    let port = server.port();
    let (qc1, merch) =
        tokio::task::spawn_blocking(move || (login(port, "qc1"), login(port, "merch")))
            .await
            .unwrap();

    let repo = Repo::build_tokio()
        .with_peer_id(samod::PeerId::from(format!("samod-qc1-{}", ws::unique())))
        .load()
        .await;
    let url =
        Url::parse(&format!("ws://127.0.0.1:{port}/sync?token={}", qc1.token)).expect("a URL");
    let dialer = repo
        .dial(BackoffConfig::default(), Arc::new(GendanDialer { url }))
        .expect("the repo runs");
    let peer = tokio::time::timeout(PATIENCE, dialer.established())
        .await
        .expect("the handshake finishes in time")
        .expect("samod connects");
    eprintln!("  samod joined the server {:?}", peer.peer_id);

    // The index, then the final inspection it lists.
    let index_id: DocumentId = qc1
        .index_id
        .expect("qc1 has an index")
        .to_string()
        .parse()
        .expect("samod reads the document id");
    let index = tokio::time::timeout(PATIENCE, repo.find(index_id))
        .await
        .expect("find answers in time")
        .expect("the repo runs")
        .expect("qc1's index is available");
    let records = index.with_document(|d| index_records(d));
    let final_id = records
        .iter()
        .find(|(_, t, title)| t == "inspection" && title.starts_with("Final inspection"))
        .unwrap_or_else(|| panic!("no final inspection in {records:?}"))
        .0
        .clone();
    let inspection = tokio::time::timeout(
        PATIENCE,
        repo.find(final_id.parse().expect("a document id")),
    )
    .await
    .expect("find answers in time")
    .expect("the repo runs")
    .expect("the assigned inspection is available");
    assert_eq!(
        inspection.with_document(|d| text_at(d, &ROOT, "type")),
        "inspection"
    );

    // Edit: a plain scalar string, as Rust automerge writes one.
    let note = format!("edited by samod {}", ws::unique());
    inspection.with_document(|d| {
        d.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "remarks", note.as_str())?;
            Ok(())
        })
        .expect("the edit commits");
    });
    let conn = dialer.connection_id().expect("connected");
    tokio::time::timeout(PATIENCE, inspection.they_have_our_changes(conn))
        .await
        .expect("the server acknowledges the edit in time");
    let (merch_token, id) = (merch.token.clone(), final_id.clone());
    let on_server = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = server_remarks(port, &merch_token, &id);
            if got.as_deref() == Some(note.as_str()) || Instant::now() > deadline {
                return (got, note);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert_eq!(
        on_server.0.as_deref(),
        Some(on_server.1.as_str()),
        "merch reads samod's edit"
    );
    eprintln!("  samod's edit is on the server");

    // Out of scope (the stock count) and unknown (a fresh id): both simply not found.
    let merch_token = merch.token.clone();
    let stock_count = tokio::task::spawn_blocking(move || stock_count_id(port, &merch_token))
        .await
        .unwrap();
    let unknown = gendan_core::protocol::DocumentId::from_bytes(
        ws::unique().to_be_bytes().repeat(2).try_into().unwrap(),
    )
    .to_string();
    for (what, id) in [("out of scope", stock_count), ("unknown", unknown)] {
        let found = tokio::time::timeout(PATIENCE, repo.find(id.parse().expect("a document id")))
            .await
            .unwrap_or_else(|_| panic!("find of the {what} document answers in time"))
            .expect("the repo runs");
        assert!(
            found.is_none(),
            "the {what} document is unavailable to samod"
        );
        eprintln!("  {what} document: unavailable");
    }

    dialer.close();
    repo.stop().await;
}
