//! The office REST API end to end: the real application (`serve::app`) over an in-memory
//! store and a running sync service, driven with `oneshot` requests, no socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use gendan_core::access::Role;
use gendan_core::aql::{self, Aql, InspectionLevel};
use gendan_core::protocol::hub::{HubConfig, HubLimits};
use gendan_core::protocol::{DocumentId, PeerId, StorageId};
use gendan_server::accounts::{AccountError, LoginLimiter, NewUser};
use gendan_server::api::admin::QUARANTINE_LIMIT_MAX;
use gendan_server::api::records::{AT_HEADS_MAX, HISTORY_LIMIT_MAX, LIST_ROUNDS_MAX};
use gendan_server::blobs::{BlobStore, PART_BYTES_MAX};
use gendan_server::persist::ServerStorage;
use gendan_server::projections::{ASSIGNEES_MAX, QUERY_LIMIT_MAX, RecordSummary};
use gendan_server::serve::{AppState, JSON_BODY_BYTES_MAX};
use gendan_server::store::{Batch, MemoryStore, Store};
use gendan_server::sync::{self, SyncConfig};
use gendan_server::ws::{RateLimiter, WsLimits};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

/// The users every test starts with: username, role, factory, warehouse.
const USERS: &[(&str, Role, Option<&str>, Option<&str>)] = &[
    ("admin", Role::Admin, None, None),
    ("merch", Role::Merchandiser, None, None),
    ("boss", Role::Approver, None, None),
    ("qc1", Role::Qc, None, None),
    ("qc2", Role::Qc, None, None),
    ("factory1", Role::Factory, Some("F1"), None),
    ("clerk1", Role::Warehouse, None, Some("W1")),
];

struct Server {
    app: Router,
    state: AppState,
    _blob_dir: tempfile::TempDir,
}

/// A fresh server with [`USERS`] (each password [`PASSWORD`]).
async fn server() -> Server {
    server_with(sync::IDLE_UNLOAD_MS_DEFAULT).await
}

/// A server whose sync service unloads idle documents after `idle_unload_ms`.
async fn server_with(idle_unload_ms: u64) -> Server {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let storage = ServerStorage::new(store.clone());
    let blob_dir = tempfile::tempdir().expect("a temporary folder");
    let blobs = Arc::new(BlobStore::open(&blob_dir.path().join("blobs"), store).expect("blobs"));
    let config = SyncConfig {
        hub: HubConfig {
            peer_id: PeerId::new("gendan-test"),
            storage_id: StorageId::new("test-storage"),
            limits: HubLimits::default(),
        },
        pending_outbound_max: sync::PENDING_OUTBOUND_MAX_DEFAULT,
        batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms,
    };
    let sync = sync::spawn(config, Arc::new(storage.clone()));
    for (username, role, factory, warehouse) in USERS {
        storage
            .accounts
            .add_user(NewUser {
                username: (*username).into(),
                password: PASSWORD.into(),
                role: *role,
                display_name: None,
                factory: factory.map(str::to_string),
                warehouse: warehouse.map(str::to_string),
                titles: Vec::new(),
            })
            .expect("user added");
    }
    let state = AppState {
        storage,
        blobs,
        sync,
        logins: Arc::new(LoginLimiter::new()),
        rate: Arc::new(RateLimiter::default()),
        connections: Arc::new(Semaphore::new(10)),
        ws_limits: WsLimits {
            frame_bytes_max: 1 << 20,
            frames_per_second: 100,
            frames_burst: 100,
            idle_timeout: Duration::from_secs(60),
        },
        session_ttl_ms: 3_600_000,
        started: Instant::now(),
    };
    Server {
        app: gendan_server::serve::app(state.clone(), None),
        state,
        _blob_dir: blob_dir,
    }
}

/// A full answer: status, headers, body bytes.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Server {
    async fn send(&self, mut request: Request<Body>) -> Answer {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body reads")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A request with a JSON body (or none) and the token (or none).
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a request")).await
    }

    async fn get(&self, uri: &str, token: &str) -> Answer {
        self.call(Method::GET, uri, Some(token), None).await
    }

    async fn post(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    /// A request with raw bytes and extra headers.
    async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("a request"))
            .await
    }

    async fn login(&self, username: &str) -> String {
        let answer = self
            .call(
                Method::POST,
                "/api/v1/login",
                None,
                Some(json!({ "username": username, "password": PASSWORD })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "login of {username}");
        answer.json()["token"]
            .as_str()
            .expect("a token")
            .to_string()
    }

    /// Creates a record as `token`'s user and returns its id.
    async fn create(&self, token: &str, body: Value) -> String {
        let answer = self.post("/api/v1/records", token, body).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let id = answer.json()["id"].as_str().expect("an id").to_string();
        assert_eq!(
            answer.headers[header::LOCATION],
            format!("/api/v1/records/{id}").as_str()
        );
        id
    }

    /// Adds `user` with `role` and job `titles`; returns their token.
    async fn user_with_titles(&self, user: &str, role: Role, titles: &[&str]) -> String {
        self.state
            .storage
            .accounts
            .add_user(NewUser {
                username: user.into(),
                password: PASSWORD.into(),
                role,
                display_name: None,
                factory: None,
                warehouse: None,
                titles: titles.iter().map(|t| (*t).to_string()).collect(),
            })
            .expect("user added");
        self.login(user).await
    }

    /// The record ids `user`'s index document lists, read from storage.
    async fn index_of(&self, user: &str) -> Vec<String> {
        gendan_core::summary::index_ids(&self.index_doc_of(user).await)
    }

    /// `user`'s account as the access rules see it now.
    fn principal(&self, user: &str) -> gendan_core::access::Principal {
        self.state
            .storage
            .accounts
            .get_user(user)
            .unwrap()
            .unwrap()
            .principal()
    }

    /// `user`'s index document as stored.
    async fn index_doc_of(&self, user: &str) -> AutoCommit {
        let index = self
            .state
            .sync
            .ensure_index(self.principal(user))
            .await
            .unwrap();
        let bytes = self
            .state
            .storage
            .docs
            .load(&index.to_string())
            .unwrap()
            .expect("the index is stored");
        AutoCommit::load(&bytes).unwrap()
    }
}

fn inspection(title: &str, factory: &str, assignees: &[&str]) -> Value {
    json!({
        "type": "inspection",
        "title": title,
        "order_no": "SO-1",
        "style_no": "ST-1",
        "factory": factory,
        "lot_size": 500,
        "assignees": assignees,
    })
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn office_creates_lists_reads_edits_and_reads_the_history() {
    let s = server().await;
    let merch = s.login("merch").await;
    let id = s
        .create(&merch, inspection("Final HL-1", "F1", &["qc1"]))
        .await;

    // The sync service put it in the QC's index document.
    assert!(s.index_of("qc1").await.contains(&id));
    assert!(!s.index_of("qc2").await.contains(&id));

    // The list, from projections, with filters.
    for query in [
        "",
        "?type=inspection",
        "?assignee=qc1",
        "?q=hl-1",
        "?factory=F1",
    ] {
        let page = s.get(&format!("/api/v1/records{query}"), &merch).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert_eq!(ids(&page.json()), [id.as_str()], "{query}");
    }
    let none = s.get("/api/v1/records?type=order", &merch).await.json();
    assert_eq!(none, json!({ "items": [], "next": null }));
    let page = s.get("/api/v1/records", &merch).await.json();
    assert_eq!(page["items"][0]["title"], "Final HL-1");
    assert_eq!(page["items"][0]["record_type"], "inspection");
    assert_eq!(page["items"][0]["assignees"], json!(["qc1"]));

    // One record.
    let record = s.get(&format!("/api/v1/records/{id}"), &merch).await;
    assert_eq!(record.status, StatusCode::OK);
    let record = record.json();
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["type"], "inspection");
    assert_eq!(record["access"], "write");
    assert_eq!(record["heads"].as_array().unwrap().len(), 1);
    assert_eq!(record["view"]["record"]["title"], "Final HL-1");
    assert_eq!(record["view"]["derived"]["status"], "open");

    // Operations.
    let ops = format!("/api/v1/records/{id}/ops");
    let added = s
        .post(
            &ops,
            &merch,
            json!({ "op": "add_defect", "id": "d1", "class": "minor", "description": "open seam" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.error());
    let tallied = s
        .post(
            &ops,
            &merch,
            json!({ "op": "tally_defect", "id": "d1", "delta": 1 }),
        )
        .await;
    assert_eq!(tallied.status, StatusCode::OK, "{}", tallied.error());
    let tallied = tallied.json();
    assert_eq!(tallied["view"]["record"]["defects"]["d1"]["qty"], 2);
    assert_eq!(tallied["view"]["derived"]["status"], "in_progress");
    // The projection followed the edit.
    let listed = s.get("/api/v1/records?status=in_progress", &merch).await;
    assert_eq!(ids(&listed.json()), [id.as_str()]);

    // The history: oldest first, attributed, in pages.
    let history = s
        .get(&format!("/api/v1/records/{id}/history"), &merch)
        .await;
    assert_eq!(history.status, StatusCode::OK);
    let history = history.json();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(history["next"], Value::Null);
    assert_eq!(items[0]["message"], "merch: create");
    assert_eq!(items[1]["message"], "merch: add defect");
    for item in items {
        assert_eq!(item["attribution"]["user"], "merch", "{item}");
        assert_eq!(item["hash"].as_str().unwrap().len(), 64);
        assert!(item["time_s"].as_i64().unwrap() > 1_600_000_000);
    }
    assert_eq!(items[1]["deps"], json!([items[0]["hash"]]));
    let first = s
        .get(&format!("/api/v1/records/{id}/history?limit=2"), &merch)
        .await
        .json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["next"], items[1]["hash"]);
    let rest = s
        .get(
            &format!(
                "/api/v1/records/{id}/history?limit=2&after={}",
                items[1]["hash"].as_str().unwrap()
            ),
            &merch,
        )
        .await
        .json();
    assert_eq!(rest["items"], json!([items[2]]));
    assert_eq!(rest["next"], Value::Null);

    // As it was at the first change: no defects yet.
    let first_hash = items[0]["hash"].as_str().unwrap();
    let past = s
        .get(&format!("/api/v1/records/{id}?at={first_hash}"), &merch)
        .await;
    assert_eq!(past.status, StatusCode::OK, "{}", past.error());
    let past = past.json();
    assert_eq!(past["heads"], json!([first_hash]));
    assert_eq!(past["view"]["record"]["defects"], json!({}));
    assert_eq!(past["view"]["derived"]["status"], "open");
    let second = items[1]["hash"].as_str().unwrap();
    let at_second = s
        .get(&format!("/api/v1/records/{id}?at={second}"), &merch)
        .await
        .json();
    assert_eq!(at_second["view"]["record"]["defects"]["d1"]["qty"], 1);
}

/// The index documents follow a record's summary, and only its summary: a tally that
/// leaves the summary as it was writes nothing to anyone's index.
#[tokio::test]
async fn an_edit_touches_the_indexes_only_when_the_summary_changes() {
    let s = server().await;
    let merch = s.login("merch").await;
    let id = s.create(&merch, inspection("Idx", "F1", &["qc1"])).await;
    let ops = format!("/api/v1/records/{id}/ops");
    let added = s
        .post(
            &ops,
            &merch,
            json!({ "op": "add_defect", "id": "d1", "class": "minor", "description": "open seam" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.error());
    let entry = |doc: &AutoCommit| {
        gendan_core::summary::index_entry(doc, &id).expect("the index lists the record")
    };
    let mut before = s.index_doc_of("qc1").await;
    assert_eq!(entry(&before).status, "in_progress");

    let tallied = s
        .post(
            &ops,
            &merch,
            json!({ "op": "tally_defect", "id": "d1", "delta": 1 }),
        )
        .await;
    assert_eq!(tallied.status, StatusCode::OK, "{}", tallied.error());
    assert_eq!(tallied.json()["view"]["record"]["defects"]["d1"]["qty"], 2);
    let mut after_tally = s.index_doc_of("qc1").await;
    assert_eq!(after_tally.get_heads(), before.get_heads());

    // Assigning qc2 changes the summary: qc1's entry is updated, qc2 gets one.
    let assigned = s
        .post(
            &format!("/api/v1/records/{id}/assign"),
            &merch,
            json!({ "user": "qc2" }),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.error());
    let mut after_assign = s.index_doc_of("qc1").await;
    assert_ne!(after_assign.get_heads(), before.get_heads());
    assert_eq!(entry(&after_assign).assignees, ["qc1", "qc2"]);
    assert_eq!(entry(&s.index_doc_of("qc2").await).title, "Idx");
}

/// One record in two users' indexes, both stored and unloaded: the sync service loads the
/// second index in the middle of the turn that already changed the first. Every index
/// change of that turn must be stored (once a mid-turn load dropped the first one, and the
/// stored index then failed to load).
#[tokio::test]
async fn a_document_loaded_mid_turn_keeps_the_turns_earlier_writes() {
    let s = server_with(0).await;
    let merch = s.login("merch").await;
    let x = s.create(&merch, inspection("X", "F1", &["qc1"])).await;
    let y = s.create(&merch, inspection("Y", "F1", &["qc2"])).await;
    // The gauge is refreshed on the service's 250 ms tick: let one pass first.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .state
        .sync
        .metrics
        .docs_loaded
        .load(std::sync::atomic::Ordering::Relaxed)
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "idle documents were not unloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let z = s
        .create(&merch, inspection("Z", "F1", &["qc1", "qc2"]))
        .await;
    let mut qc1 = s.index_of("qc1").await;
    let mut qc2 = s.index_of("qc2").await;
    qc1.sort();
    qc2.sort();
    let mut want1 = vec![x, z.clone()];
    let mut want2 = vec![y, z];
    want1.sort();
    want2.sort();
    assert_eq!((qc1, qc2), (want1, want2));
}

#[tokio::test]
async fn at_heads_and_history_refuse_bad_input() {
    let s = server().await;
    let merch = s.login("merch").await;
    let id = s.create(&merch, inspection("X", "F1", &[])).await;
    let record = format!("/api/v1/records/{id}");
    let unknown = "ab".repeat(32);
    for (at, says) in [
        ("nothex", "is not a change hash"),
        (unknown.as_str(), "is not in this record"),
        (",", "expected comma-separated change hashes"),
    ] {
        let answer = s.get(&format!("{record}?at={at}"), &merch).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{at}");
        assert!(answer.error().contains(says), "{at}: {}", answer.error());
    }
    // AT_HEADS_MAX: at the limit the hashes are read (and found unknown), past it refused.
    let many = |n: usize| vec![unknown.as_str(); n].join(",");
    let at_limit = s
        .get(&format!("{record}?at={}", many(AT_HEADS_MAX)), &merch)
        .await;
    assert!(at_limit.error().contains("is not in this record"));
    let over = s
        .get(&format!("{record}?at={}", many(AT_HEADS_MAX + 1)), &merch)
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert!(over.error().contains("over the limit"), "{}", over.error());

    // HISTORY_LIMIT_MAX.
    let history = format!("{record}/history");
    let ok = s
        .get(&format!("{history}?limit={HISTORY_LIMIT_MAX}"), &merch)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    for limit in [0, HISTORY_LIMIT_MAX + 1] {
        let answer = s.get(&format!("{history}?limit={limit}"), &merch).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{limit}");
    }
    let answer = s.get(&format!("{history}?after={unknown}"), &merch).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = s.get(&format!("{history}?limit=ten"), &merch).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("limit"), "{}", answer.error());
}

#[tokio::test]
async fn scope_hides_records_and_read_only_users_cannot_edit() {
    let s = server().await;
    let merch = s.login("merch").await;
    let mine = s.create(&merch, inspection("Mine", "F1", &["qc1"])).await;
    let other = s.create(&merch, inspection("Other", "F2", &["qc2"])).await;

    // qc1: sees and edits their own; the other one does not exist for them.
    let qc1 = s.login("qc1").await;
    let page = s.get("/api/v1/records", &qc1).await.json();
    assert_eq!(ids(&page), [mine.as_str()]);
    let hidden = s.get(&format!("/api/v1/records/{other}"), &qc1).await;
    let missing_id = DocumentId::from_bytes([7; 16]).to_string();
    let missing = s.get(&format!("/api/v1/records/{missing_id}"), &qc1).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        hidden.error().replace(&other, "ID"),
        missing.error().replace(&missing_id, "ID"),
        "the same answer as for a record that does not exist"
    );
    for path in ["history", "ops"] {
        let uri = format!("/api/v1/records/{other}/{path}");
        let answer = if path == "ops" {
            s.post(
                &uri,
                &qc1,
                json!({ "op": "tally_defect", "id": "d1", "delta": 1 }),
            )
            .await
        } else {
            s.get(&uri, &qc1).await
        };
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    let garbage = s.get("/api/v1/records/not-an-id", &qc1).await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    let edited = s
        .post(
            &format!("/api/v1/records/{mine}/ops"),
            &qc1,
            json!({ "op": "add_defect", "id": "q1", "class": "major", "description": "stain" }),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.error());
    let history = s
        .get(&format!("/api/v1/records/{mine}/history"), &qc1)
        .await
        .json();
    assert_eq!(history["items"][1]["attribution"]["user"], "qc1");
    // Only the office assigns.
    let assign = s
        .post(
            &format!("/api/v1/records/{mine}/assign"),
            &qc1,
            json!({ "user": "qc2" }),
        )
        .await;
    assert_eq!(assign.status, StatusCode::FORBIDDEN);

    // factory1 (F1): reads the F1 inspection, changes nothing, creates nothing.
    let factory = s.login("factory1").await;
    let page = s.get("/api/v1/records", &factory).await.json();
    assert_eq!(ids(&page), [mine.as_str()]);
    let read = s.get(&format!("/api/v1/records/{mine}"), &factory).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["access"], "read");
    let refused = s
        .post(
            &format!("/api/v1/records/{mine}/ops"),
            &factory,
            json!({ "op": "tally_defect", "id": "q1", "delta": 1 }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get(&format!("/api/v1/records/{other}"), &factory)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let create = s
        .post("/api/v1/records", &factory, inspection("F", "F1", &[]))
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert!(create.error().contains("may not create"));

    // A clerk may not create inspections; a QC may, and sees their own creation (found
    // through their index, as the summary does not say who created it).
    let clerk = s.login("clerk1").await;
    let create = s
        .post("/api/v1/records", &clerk, inspection("C", "F1", &[]))
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    let own = s.create(&qc1, inspection("By qc1", "F9", &[])).await;
    let page = s.get("/api/v1/records?limit=500", &qc1).await.json();
    let mut expected = vec![mine.clone(), own.clone()];
    expected.sort();
    assert_eq!(ids(&page), expected);
    let read = s.get(&format!("/api/v1/records/{own}"), &qc1).await;
    assert_eq!(read.json()["access"], "write");
}

#[tokio::test]
async fn a_field_users_list_reads_at_most_list_rounds_max_pages() {
    let s = server().await;
    // Summaries only (the list reads projections): LIST_ROUNDS_MAX + 1 records qc1 may not
    // see, then one assigned to them.
    let summary = |id: String, assignee: &str| RecordSummary {
        id,
        record_type: "inspection".into(),
        title: "t".into(),
        status: "open".into(),
        assignees: vec![assignee.into()],
        ..RecordSummary::default()
    };
    let mut batch = Batch::new();
    let projections = &s.state.storage.projections;
    for i in 0..=LIST_ROUNDS_MAX {
        projections
            .upsert(&mut batch, &summary(format!("t{i:02}"), "qc2"))
            .unwrap();
    }
    projections
        .upsert(&mut batch, &summary("t99".into(), "qc1"))
        .unwrap();
    s.state.storage.store.apply(batch).unwrap();

    let qc1 = s.login("qc1").await;
    let first = s.get("/api/v1/records?limit=1", &qc1).await.json();
    let last_read = format!("t{:02}", LIST_ROUNDS_MAX - 1);
    assert_eq!(first, json!({ "items": [], "next": last_read }));
    let second = s
        .get(&format!("/api/v1/records?limit=1&after={last_read}"), &qc1)
        .await
        .json();
    assert_eq!(ids(&second), ["t99"]);
    assert_eq!(second["next"], "t99");
    let third = s
        .get("/api/v1/records?limit=1&after=t99", &qc1)
        .await
        .json();
    assert_eq!(third, json!({ "items": [], "next": null }));
    // The office reads the page as it is.
    let merch = s.login("merch").await;
    let page = s.get("/api/v1/records?limit=1", &merch).await.json();
    assert_eq!(ids(&page), ["t00"]);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason() {
    let s = server().await;
    let merch = s.login("merch").await;
    let send_raw = |body: &'static str| {
        let request = Request::post("/api/v1/records")
            .header(header::AUTHORIZATION, format!("Bearer {merch}"))
            .body(Body::from(body))
            .unwrap();
        s.send(request)
    };
    let not_json = send_raw("{not json").await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert!(not_json.error().starts_with("expected a JSON object"));
    for (body, says) in [
        (json!([1, 2]), "expected a JSON object"),
        (json!({ "title": "x" }), "type: is required"),
        (json!({ "type": "widget" }), "\"widget\""),
        (
            json!({ "type": "inspection", "lot_size": 20_000_000 }),
            "lot_size: is 20000000",
        ),
        (
            json!({ "type": "inspection", "assignees": ["nobody"] }),
            "there is no user nobody",
        ),
        (
            json!({ "type": "inspection", "assignees": "qc1" }),
            "assignees: expected a list",
        ),
        (
            json!({ "type": "approval", "subject": "" }),
            "invalid input: subject",
        ),
    ] {
        let answer = s.post("/api/v1/records", &merch, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.error().contains(says), "{body}: {}", answer.error());
    }
    // Index documents are the server's: nobody creates one.
    let index = s
        .post("/api/v1/records", &merch, json!({ "type": "user_index" }))
        .await;
    assert_eq!(index.status, StatusCode::FORBIDDEN);
    assert!(index.error().contains("may not create user_index"));

    // ASSIGNEES_MAX (counted before anyone is looked up).
    let names: Vec<String> = (0..=ASSIGNEES_MAX).map(|i| format!("u{i}")).collect();
    let answer = s
        .post(
            "/api/v1/records",
            &merch,
            json!({ "type": "inspection", "assignees": names }),
        )
        .await;
    assert!(
        answer.error().contains("over the limit"),
        "{}",
        answer.error()
    );
    let answer = s
        .post(
            "/api/v1/records",
            &merch,
            json!({ "type": "inspection", "assignees": names[..ASSIGNEES_MAX] }),
        )
        .await;
    assert!(answer.error().contains("there is no user u0"));

    // Operations.
    let id = s.create(&merch, inspection("X", "F1", &[])).await;
    let ops = format!("/api/v1/records/{id}/ops");
    for (body, says) in [
        (json!({ "op": "fly" }), "unknown variant `fly`"),
        (json!({ "delta": 1 }), "missing field `op`"),
        (json!("tally"), "expected one operation"),
        (
            json!({ "op": "tally_defect", "id": "d9", "delta": 1 }),
            "defects.d9",
        ),
        (
            json!({ "op": "add_defect", "id": "d1", "class": "minor", "description": "x", "qty": 0 }),
            "invalid input",
        ),
        (
            json!({ "op": "add_defect", "id": "d1", "class": "cosmetic", "description": "x" }),
            "unknown variant `cosmetic`",
        ),
    ] {
        let answer = s.post(&ops, &merch, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.error().contains(says), "{body}: {}", answer.error());
    }
    let history = s
        .get(&format!("/api/v1/records/{id}/history"), &merch)
        .await
        .json();
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "refused operations leave no change"
    );

    // The list's limits.
    let ok = s
        .get(&format!("/api/v1/records?limit={QUERY_LIMIT_MAX}"), &merch)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    for query in [
        format!("limit={}", QUERY_LIMIT_MAX + 1),
        "limit=many".into(),
        format!("q={}", "x".repeat(300)),
    ] {
        let answer = s.get(&format!("/api/v1/records?{query}"), &merch).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(!answer.error().is_empty());
    }

    // JSON_BODY_BYTES_MAX.
    let big = json!({ "type": "inspection", "remarks": "x".repeat(JSON_BODY_BYTES_MAX) });
    let answer = s.post("/api/v1/records", &merch, big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn assignment_changes_who_sees_a_record() {
    let s = server().await;
    let merch = s.login("merch").await;
    let qc2 = s.login("qc2").await;
    let id = s.create(&merch, inspection("A", "F1", &["qc1"])).await;
    let record = format!("/api/v1/records/{id}");
    assert_eq!(s.get(&record, &qc2).await.status, StatusCode::NOT_FOUND);

    let assigned = s
        .post(
            &format!("{record}/assign"),
            &merch,
            json!({ "user": "qc2" }),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.error());
    assert_eq!(
        assigned.json()["view"]["record"]["assignees"],
        json!({ "qc1": true, "qc2": true })
    );
    assert!(s.index_of("qc2").await.contains(&id));
    assert_eq!(s.get(&record, &qc2).await.status, StatusCode::OK);
    let listed = s.get("/api/v1/records?assignee=qc2", &merch).await.json();
    assert_eq!(ids(&listed), [id.as_str()]);
    // Again: nothing changes.
    let again = s
        .post(
            &format!("{record}/assign"),
            &merch,
            json!({ "user": "qc2" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["heads"], assigned.json()["heads"]);

    let unassigned = s
        .post(
            &format!("{record}/unassign"),
            &merch,
            json!({ "user": "qc2" }),
        )
        .await;
    assert_eq!(unassigned.status, StatusCode::OK, "{}", unassigned.error());
    assert_eq!(s.get(&record, &qc2).await.status, StatusCode::NOT_FOUND);
    assert!(!s.index_of("qc2").await.contains(&id));

    for (path, body, says) in [
        (
            "assign",
            json!({ "user": "ghost" }),
            "there is no user ghost",
        ),
        ("assign", json!({ "user": "Bad Name" }), "username"),
        // A clerk or a factory could never work on an inspection: refused, not lost.
        (
            "assign",
            json!({ "user": "clerk1" }),
            "user clerk1 (warehouse) cannot work on inspection records",
        ),
        (
            "assign",
            json!({ "user": "factory1" }),
            "cannot work on inspection records",
        ),
        ("assign", json!({ "name": "qc2" }), "expected {\"user\""),
        ("unassign", json!({ "user": "qc2" }), "is not assigned"),
    ] {
        let answer = s.post(&format!("{record}/{path}"), &merch, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(answer.error().contains(says), "{path}: {}", answer.error());
    }
    // Nor is a record created for someone who could not open it.
    let refused = s
        .post(
            "/api/v1/records",
            &merch,
            json!({ "type": "shipment_check", "title": "C", "assignees": ["qc1"] }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .error()
            .contains("user qc1 (qc) cannot work on shipment_check records"),
        "{}",
        refused.error()
    );
}

#[tokio::test]
async fn approvals_are_decided_by_the_role_of_the_step() {
    let s = server().await;
    let merch = s.login("merch").await;
    let boss = s.login("boss").await;
    let id = s
        .create(
            &merch,
            json!({ "type": "approval", "subject": "Pay the deposit", "steps": [["approver", 2]] }),
        )
        .await;
    let decide = format!("/api/v1/records/{id}/decide");
    let wrong_role = s
        .post(&decide, &merch, json!({ "step": "s1", "approved": true }))
        .await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert!(
        wrong_role.error().contains("needs the job title approver"),
        "{}",
        wrong_role.error()
    );
    let no_reason = s
        .post(&decide, &boss, json!({ "step": "s1", "approved": false }))
        .await;
    assert!(
        no_reason.error().contains("comment"),
        "{}",
        no_reason.error()
    );
    let bad_body = s.post(&decide, &boss, json!({ "step": "s1" })).await;
    assert_eq!(bad_body.status, StatusCode::BAD_REQUEST);
    assert!(bad_body.error().contains("approved"));

    let decided = s
        .post(
            &decide,
            &boss,
            json!({ "step": "s1", "approved": true, "comment": "ok" }),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.error());
    assert_eq!(decided.json()["view"]["derived"]["status"], "approved");
    // Not for QC, and not through generic operations.
    let qc1 = s.login("qc1").await;
    assert_eq!(
        s.post(&decide, &qc1, json!({ "step": "s1", "approved": true }))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let op = s
        .post(
            &format!("/api/v1/records/{id}/ops"),
            &boss,
            json!({ "op": "anything" }),
        )
        .await;
    assert!(op.error().contains("not edited with operations"));
}

#[tokio::test]
async fn sessions_are_required_and_revocable() {
    let s = server().await;
    for uri in [
        "/api/v1/records",
        "/api/v1/aql?lot_size=500&aql=2.5",
        "/api/v1/users",
        "/api/v1/quarantine",
    ] {
        let answer = s.call(Method::GET, uri, None, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(answer.error().contains("log in"), "{uri}");
        let forged = s.get(uri, &"0".repeat(64)).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let merch = s.login("merch").await;
    assert_eq!(
        s.get("/api/v1/records", &merch).await.status,
        StatusCode::OK
    );
    let out = s
        .call(Method::POST, "/api/v1/logout", Some(&merch), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get("/api/v1/records", &merch).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The admin ends every session of a user.
    let admin = s.login("admin").await;
    let qc1_a = s.login("qc1").await;
    let qc1_b = s.login("qc1").await;
    let revoked = s.post("/api/v1/users/qc1/revoke", &admin, json!({})).await;
    assert_eq!(revoked.json(), json!({ "revoked": 2 }));
    for token in [qc1_a, qc1_b] {
        assert_eq!(
            s.get("/api/v1/records", &token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn admin_endpoints_are_for_admins() {
    let s = server().await;
    let merch = s.login("merch").await;
    for (method, uri) in [
        (Method::GET, "/api/v1/users"),
        (Method::POST, "/api/v1/users"),
        (Method::POST, "/api/v1/users/qc1/revoke"),
        (Method::POST, "/api/v1/users/qc1/disable"),
        (Method::POST, "/api/v1/users/qc1/enable"),
        (Method::POST, "/api/v1/users/qc1/password"),
        (Method::GET, "/api/v1/quarantine"),
        (Method::GET, "/api/v1/quarantine/q1"),
    ] {
        let answer = s.call(method, uri, Some(&merch), Some(json!({}))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(answer.error(), "only an admin may do this");
    }

    let admin = s.login("admin").await;
    let users = s.get("/api/v1/users", &admin).await.json();
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), USERS.len());
    assert!(users["items"][0].get("password_hash").is_none());

    let new = json!({ "username": "qc3", "password": PASSWORD, "role": "qc",
                      "display_name": "QC three", "factory": "", "warehouse": null });
    let created = s.post("/api/v1/users", &admin, new.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.error());
    assert_eq!(
        created.json(),
        json!({ "username": "qc3", "role": "qc", "display_name": "QC three",
                "factory": null, "warehouse": null, "disabled": false, "titles": [] })
    );
    let again = s.post("/api/v1/users", &admin, new).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    for (body, says) in [
        (
            json!({ "username": "x", "password": PASSWORD, "role": "king" }),
            "role: unknown",
        ),
        (
            json!({ "username": "x", "password": "short", "role": "qc" }),
            "at least 8",
        ),
        (
            json!({ "username": "X Y", "password": PASSWORD, "role": "qc" }),
            "username",
        ),
        (
            json!({ "username": "f", "password": PASSWORD, "role": "factory" }),
            "factory",
        ),
        (json!({ "username": "x" }), "missing field"),
    ] {
        let answer = s.post("/api/v1/users", &admin, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.error().contains(says), "{body}: {}", answer.error());
    }
    let qc3 = s.login("qc3").await;

    // Disable: sessions end and login is refused; enable lets them back in.
    let disabled = s.post("/api/v1/users/qc3/disable", &admin, json!({})).await;
    assert_eq!(disabled.json(), json!({ "revoked": 1 }));
    assert_eq!(
        s.get("/api/v1/records", &qc3).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = s
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({ "username": "qc3", "password": PASSWORD })),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    let enabled = s.post("/api/v1/users/qc3/enable", &admin, json!({})).await;
    assert_eq!(enabled.json()["disabled"], false);
    s.login("qc3").await;
    let self_disable = s
        .post("/api/v1/users/admin/disable", &admin, json!({}))
        .await;
    assert_eq!(self_disable.status, StatusCode::BAD_REQUEST);
    let ghost = s
        .post("/api/v1/users/ghost/revoke", &admin, json!({}))
        .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND);

    // A new password ends the sessions (both of them).
    let qc3 = s.login("qc3").await;
    let changed = s
        .post(
            "/api/v1/users/qc3/password",
            &admin,
            json!({ "password": "another long one" }),
        )
        .await;
    assert_eq!(changed.json(), json!({ "revoked": 2 }));
    assert_eq!(
        s.get("/api/v1/records", &qc3).await.status,
        StatusCode::UNAUTHORIZED
    );
    let short = s
        .post(
            "/api/v1/users/qc3/password",
            &admin,
            json!({ "password": "x" }),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_quarantine_is_listed_in_pages_and_read_with_its_changes() {
    let s = server().await;
    let admin = s.login("admin").await;
    let empty = s.get("/api/v1/quarantine", &admin).await.json();
    assert_eq!(empty, json!({ "items": [], "next": null }));
    let quarantine = &s.state.storage.quarantine;
    let mut batch = Batch::new();
    let mut entry_ids = Vec::new();
    for at_ms in [1_000u64, 2_000, 3_000] {
        let entry = gendan_server::quarantine::QuarantineEntry {
            id: gendan_server::quarantine::new_id(at_ms).unwrap(),
            doc_id: "doc1".into(),
            user: "factory1".into(),
            peer: "peer-1".into(),
            at_ms,
            reason: "record: you may not change this record".into(),
            changes: vec![0x85, 0x6f, 0x4a, 0x83],
        };
        entry_ids.push(entry.id.clone());
        quarantine.put(&mut batch, &entry).unwrap();
    }
    s.state.storage.store.apply(batch).unwrap();

    let first = s.get("/api/v1/quarantine?limit=2", &admin).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][0]["id"], entry_ids[0].as_str());
    assert_eq!(first["items"][0]["changes_bytes"], 4);
    assert_eq!(first["next"], entry_ids[1].as_str());
    let rest = s
        .get(
            &format!("/api/v1/quarantine?limit=2&after={}", entry_ids[1]),
            &admin,
        )
        .await
        .json();
    assert_eq!(rest["items"][0]["id"], entry_ids[2].as_str());
    assert_eq!(rest["next"], Value::Null);

    let one = s
        .get(&format!("/api/v1/quarantine/{}", entry_ids[0]), &admin)
        .await
        .json();
    assert_eq!(one["changes_hex"], "856f4a83");
    assert_eq!(one["user"], "factory1");
    assert_eq!(
        s.get("/api/v1/quarantine/nothing", &admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get("/api/v1/quarantine/a%2Fb", &admin).await.status,
        StatusCode::BAD_REQUEST
    );

    // QUARANTINE_LIMIT_MAX.
    let at_limit = s
        .get(
            &format!("/api/v1/quarantine?limit={QUARANTINE_LIMIT_MAX}"),
            &admin,
        )
        .await;
    assert_eq!(at_limit.status, StatusCode::OK);
    for limit in [0, QUARANTINE_LIMIT_MAX + 1] {
        let answer = s
            .get(&format!("/api/v1/quarantine?limit={limit}"), &admin)
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{limit}");
    }
}

#[tokio::test]
async fn blobs_upload_whole_or_resumably_and_download() {
    let s = server().await;
    let qc1 = s.login("qc1").await;
    let photo = b"\xff\xd8\xff a photo of a carton".to_vec();
    let hash = sha256(&photo);
    let uri = format!("/api/v1/blobs/{hash}");

    let jpeg = [("content-type", "image/jpeg")];
    let put = s.raw(Method::PUT, &uri, &qc1, &jpeg, photo.clone()).await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.error());
    let meta = put.json();
    assert_eq!(meta["sha256"], hash.as_str());
    assert_eq!(meta["size"], photo.len());
    assert_eq!(meta["mime"], "image/jpeg");
    assert_eq!(meta["uploader"], "qc1");
    let again = s.raw(Method::PUT, &uri, &qc1, &jpeg, photo.clone()).await;
    assert_eq!(again.status, StatusCode::OK);

    // The office reads it (see api::blobs for who may), with its type.
    let merch = s.login("merch").await;
    let got = s.raw(Method::GET, &uri, &merch, &[], Vec::new()).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, photo);
    assert_eq!(got.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(got.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let range = s
        .raw(
            Method::GET,
            &uri,
            &merch,
            &[("range", "bytes=0-2")],
            Vec::new(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, photo[..3]);
    let anonymous = s.call(Method::GET, &uri, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let head = s.raw(Method::HEAD, &uri, &merch, &[], Vec::new()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(
        head.headers[header::CONTENT_LENGTH],
        photo.len().to_string().as_str()
    );

    // An HTML page is never served as one.
    let page = b"<script>alert(1)</script>".to_vec();
    let page_uri = format!("/api/v1/blobs/{}", sha256(&page));
    s.raw(
        Method::PUT,
        &page_uri,
        &qc1,
        &[("content-type", "text/html")],
        page,
    )
    .await;
    let got = s.raw(Method::GET, &page_uri, &qc1, &[], Vec::new()).await;
    assert_eq!(
        got.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(got.headers[header::CONTENT_DISPOSITION], "attachment");

    // Refused: wrong bytes for the name, a bad name, an unknown blob.
    let wrong = s
        .raw(
            Method::PUT,
            &uri.replace(&hash, &sha256(b"x")),
            &qc1,
            &[],
            photo.clone(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.error().contains("hash to"), "{}", wrong.error());
    let bad = s
        .raw(Method::PUT, "/api/v1/blobs/ABC", &qc1, &[], photo.clone())
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unknown = s
        .raw(
            Method::GET,
            &format!("/api/v1/blobs/{}", sha256(b"none")),
            &qc1,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Resumable.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let big_hash = sha256(&big);
    let big_uri = format!("/api/v1/blobs/{big_hash}");
    let head = s.raw(Method::HEAD, &big_uri, &qc1, &[], Vec::new()).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(head.headers["upload-offset"], "0");
    let part = s
        .raw(
            Method::PATCH,
            &big_uri,
            &qc1,
            &[("upload-offset", "0")],
            big[..100_000].to_vec(),
        )
        .await;
    assert_eq!(part.status, StatusCode::OK, "{}", part.error());
    assert_eq!(part.json(), json!({ "offset": 100_000, "complete": false }));
    assert_eq!(part.headers["upload-offset"], "100000");
    let wrong_offset = s
        .raw(
            Method::PATCH,
            &big_uri,
            &qc1,
            &[("upload-offset", "5")],
            big[5..10].to_vec(),
        )
        .await;
    assert_eq!(wrong_offset.status, StatusCode::CONFLICT);
    assert_eq!(wrong_offset.headers["upload-offset"], "100000");
    assert_eq!(wrong_offset.json()["offset"], 100_000);
    let no_offset = s
        .raw(Method::PATCH, &big_uri, &qc1, &[], big[..10].to_vec())
        .await;
    assert_eq!(no_offset.status, StatusCode::BAD_REQUEST);
    let head = s.raw(Method::HEAD, &big_uri, &qc1, &[], Vec::new()).await;
    assert_eq!(head.headers["upload-offset"], "100000");
    let early = s.get(&big_uri, &qc1).await;
    assert_eq!(
        early.status,
        StatusCode::NOT_FOUND,
        "not readable before finish"
    );
    let part = s
        .raw(
            Method::PATCH,
            &big_uri,
            &qc1,
            &[("upload-offset", "100000")],
            big[100_000..].to_vec(),
        )
        .await;
    assert_eq!(part.json()["offset"], 300_000);
    let finished = s
        .post(
            &format!("{big_uri}/finish"),
            &qc1,
            json!({ "mime": "application/pdf" }),
        )
        .await;
    assert_eq!(finished.status, StatusCode::CREATED, "{}", finished.error());
    assert_eq!(finished.json()["size"], 300_000);
    let got = s.get(&big_uri, &qc1).await;
    assert_eq!(got.body, big);
    assert_eq!(got.headers[header::CONTENT_TYPE], "application/pdf");
    let after = s
        .raw(
            Method::PATCH,
            &big_uri,
            &qc1,
            &[("upload-offset", "0")],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(after.json(), json!({ "offset": 300_000, "complete": true }));

    // Finishing with the wrong bytes discards the upload; finishing nothing is 404.
    let target = sha256(b"expected");
    let target_uri = format!("/api/v1/blobs/{target}");
    s.raw(
        Method::PATCH,
        &target_uri,
        &qc1,
        &[("upload-offset", "0")],
        b"received".to_vec(),
    )
    .await;
    let mismatch = s
        .raw(
            Method::POST,
            &format!("{target_uri}/finish"),
            &qc1,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    let nothing = s
        .raw(
            Method::POST,
            &format!("{target_uri}/finish"),
            &qc1,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn blob_bodies_are_limited_to_part_bytes_max() {
    let s = server().await;
    let qc1 = s.login("qc1").await;
    let at_limit = vec![3u8; PART_BYTES_MAX];
    let uri = format!("/api/v1/blobs/{}", sha256(&at_limit));
    let put = s.raw(Method::PUT, &uri, &qc1, &[], at_limit).await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.error());

    let over = vec![4u8; PART_BYTES_MAX + 1];
    let uri = format!("/api/v1/blobs/{}", sha256(&over));
    let put = s.raw(Method::PUT, &uri, &qc1, &[], over.clone()).await;
    assert_eq!(put.status, StatusCode::PAYLOAD_TOO_LARGE);
    let patch = s
        .raw(Method::PATCH, &uri, &qc1, &[("upload-offset", "0")], over)
        .await;
    assert_eq!(patch.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_aql_endpoint_answers_what_the_core_plans() {
    let s = server().await;
    let qc1 = s.login("qc1").await;
    let answer = s.get("/api/v1/aql?lot_size=5000&aql=2.5", &qc1).await;
    assert_eq!(answer.status, StatusCode::OK);
    let plan = aql::plan(5000, InspectionLevel::II, Aql::A2_5).unwrap();
    assert_eq!(answer.json(), serde_json::to_value(plan).unwrap());
    let answer = s
        .get("/api/v1/aql?lot_size=120&level=S-2&aql=0.65", &qc1)
        .await
        .json();
    let plan = aql::plan(120, InspectionLevel::S2, Aql::A0_65).unwrap();
    assert_eq!(answer, serde_json::to_value(plan).unwrap());

    let core_message = aql::plan(1, InspectionLevel::II, Aql::A2_5)
        .unwrap_err()
        .to_string();
    for (query, says) in [
        ("lot_size=1&aql=2.5", core_message.as_str()),
        ("lot_size=10&aql=3", "\"3\""),
        (
            "lot_size=10&level=IV&aql=2.5",
            "S-1, S-2, S-3, S-4, I, II, III",
        ),
        ("lot_size=ten&aql=2.5", "whole number"),
        ("aql=2.5", "lot_size: is required"),
        ("lot_size=10", "aql: is required"),
    ] {
        let answer = s.get(&format!("/api/v1/aql?{query}"), &qc1).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(answer.error().contains(says), "{query}: {}", answer.error());
    }
}

/// The routes of `serve.rs` (not in the API's route table).
const SERVE_ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/sync"),
    ("post", "/api/v1/login"),
    ("post", "/api/v1/logout"),
    ("get", "/api/v1/me"),
];

#[tokio::test]
async fn openapi_describes_every_route_and_nothing_else() {
    let s = server().await;
    let answer = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut routes: Vec<(String, String)> = gendan_server::api::route_table()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_lowercase(), format!("/api/v1{path}")))
        .collect();
    routes.extend(
        SERVE_ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_string(), (*p).to_string())),
    );
    for (method, path) in &routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in openapi.json"
        );
    }
    let mut described = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            assert!(op["responses"].is_object(), "{method} {path}");
            described.push((method.clone(), path.clone()));
        }
    }
    for op in &described {
        assert!(routes.contains(op), "{op:?} is described but not a route");
    }
    // And each is served by the router: never its own 404 (empty body) or 405.
    let token = s.login("admin").await;
    for (method, path) in &routes {
        let uri = path
            .replace("{id}", "x")
            .replace("{sha256}", &"0".repeat(64))
            .replace("{username}", "ghost");
        let method: Method = method.to_uppercase().parse().unwrap();
        let answer = s.raw(method.clone(), &uri, &token, &[], Vec::new()).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert!(
            !(answer.status == StatusCode::NOT_FOUND
                && answer.body.is_empty()
                && method != Method::HEAD),
            "{method} {uri} is not routed"
        );
    }
}

#[tokio::test]
async fn a_blob_is_readable_by_who_may_read_a_record_that_references_it() {
    let s = server().await;
    let merch = s.login("merch").await;
    let record = s.create(&merch, inspection("Photos", "F1", &["qc1"])).await;
    let qc1 = s.login("qc1").await;
    let photo = b"\xff\xd8\xff an open seam".to_vec();
    let hash = sha256(&photo);
    let uri = format!("/api/v1/blobs/{hash}");
    let put = s
        .raw(
            Method::PUT,
            &uri,
            &qc1,
            &[("content-type", "image/jpeg")],
            photo.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.error());
    let (qc2, factory1) = (s.login("qc2").await, s.login("factory1").await);
    // Before any record references it: the uploader and the office only.
    assert_eq!(
        s.raw(Method::GET, &uri, &qc1, &[], Vec::new()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.raw(Method::GET, &uri, &merch, &[], Vec::new())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        s.raw(Method::GET, &uri, &factory1, &[], Vec::new())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let op = json!({"op": "add_photo", "photo": {"sha256": hash, "mime": "image/jpeg", "bytes": photo.len()}});
    let added = s
        .post(&format!("/api/v1/records/{record}/ops"), &qc1, op)
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.error());
    // Now readers of the record read it too (the factory reads its inspections); others get
    // the same 404 as for a blob that does not exist.
    let mut ok = false;
    for _ in 0..100 {
        if s.raw(Method::GET, &uri, &factory1, &[], Vec::new())
            .await
            .status
            == StatusCode::OK
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a reader of the referencing record may read the photo");
    let outsider = s.raw(Method::GET, &uri, &qc2, &[], Vec::new()).await;
    let absent = s
        .raw(
            Method::GET,
            &format!("/api/v1/blobs/{}", "0".repeat(64)),
            &qc2,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND);
    assert_eq!(
        outsider.error().replace(&hash, "H"),
        absent.error().replace(&"0".repeat(64), "H")
    );
}

/// With the PWA served at `/`, an unknown path under `/api/v1` still answers a JSON 404
/// (never the app's index.html), while any other unknown path gets the app.
#[tokio::test]
async fn unknown_api_paths_are_json_404_even_beside_the_pwa() {
    let mut s = server().await;
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Gendan</title>",
    )
    .unwrap();
    s.app = gendan_server::serve::app(s.state.clone(), Some(web.path().to_path_buf()));
    let token = s.login("merch").await;
    for uri in ["/api/v1/nothing-here", "/api/v1/records/x/nope", "/api/v1/"] {
        let answer = s.get(uri, &token).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(answer.error().contains("no such API endpoint"), "{uri}");
    }
    let app = s.get("/orders/42", &token).await;
    assert_eq!(app.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&app.body).contains("<title>Gendan</title>"));
    // Known endpoints are unchanged.
    assert_eq!(s.get("/api/v1/me", &token).await.status, StatusCode::OK);
}

/// A purchase order is released only through the payment gate, which the server derives
/// from the order's commercial side (and the general manager's special approvals): deposit
/// terms block until finance confirms the deposit.
#[tokio::test]
async fn a_po_is_released_only_when_its_payment_gate_opens() {
    let s = server().await;
    let merch = s.login("merch").await;
    let order = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-77", "style_no": "ST-7", "factory": "F1"}),
        )
        .await;
    let commercial = s
        .create(
            &merch,
            json!({"type": "order_commercial", "order_id": order, "order_no": "SO-77",
                   "payment_term": "deposit"}),
        )
        .await;
    let picture = "ab".repeat(32);
    let po = s
        .create(
            &merch,
            json!({
                "type": "purchase_order", "po_no": "PO-77", "order_id": order,
                "order_no": "SO-77", "style_no": "ST-7", "factory": "F1",
                "process_sheet": {"construction": "crew neck", "workmanship": "12 stitches / 3 cm",
                                  "carton_packing": "12 pcs / carton"},
                "accessories": {"a1": {"item": "main label", "position": "centre back neck",
                                       "pictures": {picture.clone(): {"sha256": picture}}}}
            }),
        )
        .await;
    // Sales checks and signs, the general manager signs (each by job title).
    let sales = s
        .user_with_titles("sales1", Role::Sales, &["sales_rep"])
        .await;
    let gm = s
        .user_with_titles("gm1", Role::Approver, &["general_manager"])
        .await;
    for (who, role) in [(&sales, "sales"), (&gm, "general_manager")] {
        let signed = s
            .post(
                &format!("/api/v1/records/{po}/ops"),
                who,
                json!({"op": "sign", "role": role, "name": role}),
            )
            .await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.error());
    }
    let release = json!({"op": "release", "released_ms": 1_700_000_000_000_i64});
    let refused = s
        .post(
            &format!("/api/v1/records/{po}/ops"),
            &merch,
            release.clone(),
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.status);
    assert!(refused.error().contains("deposit"), "{}", refused.error());
    let read = s.get(&format!("/api/v1/records/{po}"), &merch).await;
    assert_eq!(
        read.json()["view"]["record"]["released_ms"],
        json!(0),
        "not released"
    );

    let finance = s
        .user_with_titles("fin1", Role::Approver, &["finance"])
        .await;
    let confirmed = s
        .post(
            &format!("/api/v1/records/{commercial}/ops"),
            &finance,
            json!({"op": "confirm_deposit", "amount": {"minor": 300_000, "currency": "USD"},
                   "received_ms": 1_699_000_000_000_i64}),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.error());
    let released = s
        .post(&format!("/api/v1/records/{po}/ops"), &merch, release)
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.error());
    assert_eq!(
        released.json()["view"]["record"]["released_ms"],
        json!(1_700_000_000_000_i64)
    );
}

/// The office downloads the order tracking sheet; field roles may not.
#[tokio::test]
async fn the_tracking_sheet_downloads_for_the_office_only() {
    let s = server().await;
    let merch = s.login("merch").await;
    s.create(
        &merch,
        json!({"type": "order", "order_no": "SO-9", "style_no": "ST-9", "factory": "F1",
               "lines": {"navy": {"colour": "navy", "quantity": 120}}}),
    )
    .await;
    let answer = s.get("/api/v1/export/orders.xlsx?lang=en", &merch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let rows: Vec<_> = gendan_server::excel::read_sheet(&answer.body)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].order_no.as_str(), rows[0].quantity), ("SO-9", 120));
    let qc = s.login("qc1").await;
    assert_eq!(
        s.get("/api/v1/export/orders.xlsx", &qc).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.get("/api/v1/export/orders.xlsx?lang=fr", &merch)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_order_stored_with_schema_1_is_upgraded_by_its_first_edit() {
    use automerge::transaction::Transactable;
    let s = server().await;
    let merch = s.login("merch").await;
    // An order as the first schema wrote it: none of the order follow-up collections.
    let mut doc = AutoCommit::new();
    doc.put(automerge::ROOT, "type", "order").unwrap();
    doc.put(automerge::ROOT, "schema", 1_i64).unwrap();
    doc.put(automerge::ROOT, "created_by", "merch").unwrap();
    doc.put(automerge::ROOT, "order_no", "SO-OLD").unwrap();
    for key in [
        "assignees",
        "lines",
        "milestones",
        "samples",
        "notes",
        "activity",
    ] {
        doc.put_object(automerge::ROOT, key, automerge::ObjType::Map)
            .unwrap();
    }
    let id = DocumentId::from_bytes([42; 16]);
    s.state.sync.create(id, doc.save(), "merch").await.unwrap();
    let read = s.get(&format!("/api/v1/records/{id}"), &merch).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.error());
    assert_eq!(read.json()["view"]["record"]["schema"], 1);
    let edited = s
        .post(
            &format!("/api/v1/records/{id}/ops"),
            &merch,
            json!({"op": "add_handover_item", "id": "h1", "kind": "file", "contract_no": "SO-OLD"}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.error());
    let record = &edited.json()["view"]["record"];
    assert_eq!(record["schema"], 2);
    assert_eq!(record["handover_items"]["h1"]["contract_no"], "SO-OLD");
    // Every new collection exists in the stored document now.
    let bytes = s.state.storage.docs.load(&id.to_string()).unwrap().unwrap();
    let stored = AutoCommit::load(&bytes).unwrap();
    for key in gendan_core::order::ORDER_COLLECTIONS {
        assert!(
            matches!(
                automerge::ReadDoc::get(&stored, automerge::ROOT, *key),
                Ok(Some((automerge::Value::Object(automerge::ObjType::Map), _)))
            ),
            "{key}"
        );
    }
}

#[tokio::test]
async fn a_special_approval_is_decided_only_by_the_general_manager_title() {
    use gendan_server::accounts::{TITLE_BYTES_MAX, TITLES_PER_USER_MAX};
    let s = server().await;
    let admin = s.login("admin").await;
    let merch = s.login("merch").await;
    let mut new = gendan_core::chains::new_request(
        &gendan_core::chains::SPECIAL_PO_RELEASE,
        "Release PO-9 before the deposit",
    );
    new.order_no = "SO-9".into();
    new.reason = "the customer's bank holiday".into();
    let mut body = serde_json::to_value(&new).unwrap();
    body["type"] = json!("approval");
    let id = s.create(&merch, body).await;
    let decide = format!("/api/v1/records/{id}/decide");
    let yes = json!({ "step": "s1", "approved": true, "comment": "ok" });
    // `boss` is an approver, but not the general manager: refused, saying why.
    let boss = s.login("boss").await;
    let refused = s.post(&decide, &boss, yes.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    assert!(
        refused
            .error()
            .contains("needs the job title general_manager")
            && refused.error().contains("your job titles: none"),
        "{}",
        refused.error()
    );
    let stored = s.get(&format!("/api/v1/records/{id}"), &boss).await;
    assert!(
        stored.json()["view"]["record"]["decisions"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    // Titles are checked: their form, and how many one user holds.
    let titles = "/api/v1/users/boss/titles";
    for bad in [
        json!(["General Manager"]),
        json!([""]),
        json!(["x".repeat(TITLE_BYTES_MAX + 1)]),
    ] {
        let answer = s.post(titles, &admin, json!({ "titles": bad })).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer.error().contains("job title"), "{}", answer.error());
    }
    let many = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    let answer = s
        .post(
            titles,
            &admin,
            json!({ "titles": many(TITLES_PER_USER_MAX + 1) }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("at most"), "{}", answer.error());
    let answer = s
        .post(
            titles,
            &admin,
            json!({ "titles": many(TITLES_PER_USER_MAX) }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    assert_eq!(
        s.post(titles, &merch, json!({ "titles": [] })).await.status,
        StatusCode::FORBIDDEN,
        "admins only"
    );
    assert_eq!(
        s.post(
            "/api/v1/users/nobody/titles",
            &admin,
            json!({ "titles": [] })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // With the title (a session sees the change at once), the decision lands.
    let answer = s
        .post(
            titles,
            &admin,
            json!({ "titles": ["general_manager", " finance "] }),
        )
        .await;
    assert_eq!(
        answer.json()["titles"],
        json!(["finance", "general_manager"])
    );
    let decided = s.post(&decide, &boss, yes).await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.error());
    assert_eq!(decided.json()["view"]["derived"]["status"], "approved");
    assert_eq!(
        decided.json()["view"]["record"]["decisions"]["s1:boss"]["approved"],
        true
    );
    // A user added with a title over REST holds it.
    let added = s
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "gm2", "password": PASSWORD, "role": "approver",
                   "titles": ["general_manager"]}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.error());
    assert_eq!(added.json()["titles"], json!(["general_manager"]));
}

/// Finance alone confirms a deposit, and each contract-review and PO sign-off is made by
/// the job title its slot needs — over REST as over sync; refused with what is needed.
#[tokio::test]
async fn deposits_and_sign_offs_are_made_by_the_job_title_they_need() {
    let s = server().await;
    let merch = s.login("merch").await;
    let boss = s.login("boss").await;
    let order = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-78", "style_no": "ST-8", "factory": "F1"}),
        )
        .await;
    let commercial = s
        .create(
            &merch,
            json!({"type": "order_commercial", "order_id": order, "order_no": "SO-78",
                   "payment_term": "deposit"}),
        )
        .await;
    let ops = format!("/api/v1/records/{commercial}/ops");
    let confirm = json!({"op": "confirm_deposit", "amount": {"minor": 300_000, "currency": "USD"},
                         "received_ms": 1_699_000_000_000_i64});
    // The merchandiser and an approver without the title: 403, saying what it needs.
    for token in [&merch, &boss] {
        let refused = s.post(&ops, token, confirm.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
        assert!(
            refused.error().contains("only finance confirms a deposit")
                && refused.error().contains("job title finance"),
            "{}",
            refused.error()
        );
    }
    let read = s
        .get(&format!("/api/v1/records/{commercial}"), &merch)
        .await;
    assert_eq!(read.json()["view"]["record"]["deposit_confirmed_ms"], 0);
    // The administrator gives `boss` the title: the next request may.
    let admin = s.login("admin").await;
    let titled = s
        .post(
            "/api/v1/users/boss/titles",
            &admin,
            json!({ "titles": ["finance"] }),
        )
        .await;
    assert_eq!(titled.status, StatusCode::OK, "{}", titled.error());
    let confirmed = s.post(&ops, &boss, confirm).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.error());
    assert_eq!(
        confirmed.json()["view"]["record"]["deposit_confirmed_by"],
        "boss"
    );

    // The contract review: the price check by the product control manager.
    let sign = |step: &str, department: &str| json!({"op": "sign_review", "step": step, "department": department, "name": "N"});
    let refused = s.post(&ops, &merch, sign("price_check", "")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    assert!(
        refused
            .error()
            .contains("needs the job title product_control_manager"),
        "{}",
        refused.error()
    );
    let pcm = s
        .user_with_titles("pcm1", Role::Approver, &["product_control_manager"])
        .await;
    let signed = s.post(&ops, &pcm, sign("price_check", "")).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.error());
    // The general manager's line of the cost sheet by the general manager only; a
    // department's by its head (`<department>_manager`).
    let refused = s
        .post(&ops, &pcm, sign("cost_sheet", "general_manager"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    let refused = s.post(&ops, &pcm, sign("cost_sheet", "finance")).await;
    assert!(
        refused
            .error()
            .contains("needs the job title finance_manager"),
        "{}",
        refused.error()
    );
    let head = s
        .user_with_titles("head1", Role::Approver, &["finance_manager"])
        .await;
    let signed = s.post(&ops, &head, sign("cost_sheet", "finance")).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.error());
    // A department that no title could spell is bad input.
    let bad = s
        .post(
            &ops,
            &merch,
            json!({"op": "require_cost_sheet_signer", "department": "Finance Dept"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.error());
    assert!(bad.error().contains("a-z, 0-9"), "{}", bad.error());

    // The PO: sales' line by a sales representative, the general manager's by the GM.
    let po = s
        .create(
            &merch,
            json!({"type": "purchase_order", "po_no": "PO-78", "order_id": order,
                   "order_no": "SO-78", "style_no": "ST-8", "factory": "F1"}),
        )
        .await;
    let po_ops = format!("/api/v1/records/{po}/ops");
    let po_sign = |role: &str| json!({"op": "sign", "role": role, "name": "N"});
    let refused = s.post(&po_ops, &merch, po_sign("sales")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    assert!(
        refused.error().contains("sales_rep or sales"),
        "{}",
        refused.error()
    );
    let rep = s
        .user_with_titles("rep1", Role::Sales, &["sales_rep"])
        .await;
    let signed = s.post(&po_ops, &rep, po_sign("sales")).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.error());
    let refused = s.post(&po_ops, &rep, po_sign("general_manager")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    assert!(
        refused
            .error()
            .contains("needs the job title general_manager"),
        "{}",
        refused.error()
    );
    // Returning the PO for correction is sales' too: the merchandiser is refused (and the
    // sales signature stays), the sales representative may.
    let correction = json!({"op": "return_for_correction", "id": "c1", "comment": "carton size"});
    let refused = s.post(&po_ops, &merch, correction.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.error());
    assert_eq!(
        refused.json()["problems"][0]["code"],
        "po.correction_by_sales",
        "{}",
        refused.error()
    );
    let read = s.get(&format!("/api/v1/records/{po}"), &merch).await.json();
    assert!(
        read["view"]["record"]["signatures"]["sales"].is_object(),
        "{read}"
    );
    let returned = s.post(&po_ops, &rep, correction).await;
    assert_eq!(returned.status, StatusCode::OK, "{}", returned.error());
    let read = s.get(&format!("/api/v1/records/{po}"), &merch).await.json();
    assert!(
        read["view"]["record"]["signatures"]["sales"].is_null(),
        "{read}"
    );
    assert_eq!(read["view"]["record"]["corrections"]["c1"]["by"], "rep1");
    let resolved = s
        .post(
            &po_ops,
            &merch,
            json!({"op": "resolve_correction", "id": "c1"}),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.error());
}

/// A device over the sync service, driven through the service's own handle (no socket).
struct SyncDevice {
    conn: u64,
    rx: tokio::sync::mpsc::Receiver<sync::Outbound>,
    doc: AutoCommit,
    state: automerge::sync::State,
    peer: String,
}

impl SyncDevice {
    async fn connect(s: &Server, user: &str, doc: AutoCommit) -> Self {
        use gendan_core::protocol::{Message, PeerMetadata, encode};
        let (conn, rx) = s.state.sync.connect(s.principal(user)).await.unwrap();
        let mut dev = SyncDevice {
            conn,
            rx,
            doc,
            state: automerge::sync::State::new(),
            peer: format!("device-{user}"),
        };
        let join = Message::Join {
            sender_id: PeerId::new(dev.peer.clone()),
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            }),
            supported_protocol_versions: vec!["1".into()],
        };
        s.state.sync.frame(conn, encode(&join)).await.unwrap();
        let peer = dev.next().await.expect("the server answers the join");
        assert!(matches!(peer, Some(Message::Peer { .. })), "{peer:?}");
        dev
    }

    /// The next frame from the server (`None` inside: a close), or `None` when nothing
    /// comes for a while.
    async fn next(&mut self) -> Option<Option<gendan_core::protocol::Message>> {
        match tokio::time::timeout(Duration::from_millis(500), self.rx.recv()).await {
            Ok(Some(sync::Outbound::Frame(f))) => {
                Some(Some(gendan_core::protocol::decode(&f).unwrap()))
            }
            Ok(Some(sync::Outbound::Close(_)) | None) => Some(None),
            Err(_) => None,
        }
    }

    /// Syncs `id` until quiet; returns whether the server said `doc-unavailable` (it
    /// refused what the device sent).
    async fn sync(&mut self, s: &Server, id: DocumentId) -> bool {
        use automerge::sync::SyncDoc;
        use gendan_core::protocol::{Message, encode};
        let mut unavailable = false;
        for _ in 0..20 {
            let mine = self.doc.sync().generate_sync_message(&mut self.state);
            let spoke = mine.is_some();
            if let Some(m) = mine {
                let msg = Message::Sync {
                    sender_id: PeerId::new(self.peer.clone()),
                    target_id: PeerId::new("gendan-test"),
                    document_id: id,
                    data: m.encode(),
                };
                s.state.sync.frame(self.conn, encode(&msg)).await.unwrap();
            }
            let mut heard = false;
            while let Some(Some(msg)) = self.next().await {
                heard = true;
                match msg {
                    Message::Sync { data, .. } => {
                        let m = automerge::sync::Message::decode(&data).unwrap();
                        self.doc
                            .sync()
                            .receive_sync_message(&mut self.state, m)
                            .unwrap();
                        break;
                    }
                    Message::DocUnavailable { .. } => {
                        unavailable = true;
                        break;
                    }
                    _ => {}
                }
            }
            if !spoke && !heard {
                break;
            }
        }
        unavailable
    }
}

/// A live sync connection acts for its account as it is now: job titles an administrator
/// gives or takes apply to the connection's next change without a reconnect, and a
/// disabled user's connection is closed.
#[tokio::test]
async fn a_live_sync_connection_sees_its_users_new_job_titles() {
    use gendan_core::record::Record;
    let s = server().await;
    let merch = s.login("merch").await;
    let admin = s.login("admin").await;
    let order = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-79", "style_no": "ST-9", "factory": "F1"}),
        )
        .await;
    let commercial = s
        .create(
            &merch,
            json!({"type": "order_commercial", "order_id": order, "order_no": "SO-79",
                   "payment_term": "deposit"}),
        )
        .await;
    let id: DocumentId = commercial.parse().unwrap();
    let bytes = s.state.storage.docs.load(&commercial).unwrap().unwrap();
    let doc = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(automerge::ActorId::from(&[0x42_u8; 16][..]));
    // `boss` connects with no job title.
    let mut dev = SyncDevice::connect(&s, "boss", doc).await;
    assert!(!dev.sync(&s, id).await);
    // The administrator makes `boss` finance while the device stays connected.
    let titled = s
        .post(
            "/api/v1/users/boss/titles",
            &admin,
            json!({ "titles": ["finance"] }),
        )
        .await;
    assert_eq!(titled.status, StatusCode::OK, "{}", titled.error());
    let confirm = |doc: &mut AutoCommit, minor: i64| {
        let mut r = Record::from_doc(doc.clone()).map_err(|b| b.1).unwrap();
        gendan_core::order::apply_commercial(
            &mut r,
            &gendan_core::order::CommercialOp::ConfirmDeposit {
                amount: gendan_core::common::Money {
                    minor,
                    currency: "USD".into(),
                },
                received_ms: 1_699_000_000_000,
            },
            &gendan_core::common::EditContext::new("boss", 1_700_000_000_000),
        )
        .unwrap();
        *doc = r.into_doc();
    };
    confirm(&mut dev.doc, 300_000);
    assert!(
        !dev.sync(&s, id).await,
        "merged: the connection has the title"
    );
    let read = s
        .get(&format!("/api/v1/records/{commercial}"), &merch)
        .await;
    assert_eq!(
        read.json()["view"]["record"]["deposit_confirmed_by"],
        "boss"
    );
    assert_eq!(
        read.json()["view"]["record"]["deposit_amount"]["minor"],
        300_000
    );
    // The title is taken away: the next confirmation on the same connection is refused.
    let untitled = s
        .post("/api/v1/users/boss/titles", &admin, json!({ "titles": [] }))
        .await;
    assert_eq!(untitled.status, StatusCode::OK);
    confirm(&mut dev.doc, 1);
    assert!(dev.sync(&s, id).await, "refused: the title is gone");
    let read = s
        .get(&format!("/api/v1/records/{commercial}"), &merch)
        .await;
    assert_eq!(
        read.json()["view"]["record"]["deposit_amount"]["minor"],
        300_000
    );
    // Disabled: the connection is closed at its next message.
    let disabled = s
        .post("/api/v1/users/boss/disable", &admin, json!({}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.error());
    // Any message: the service reads the changed account and closes the connection.
    let request = {
        use automerge::sync::SyncDoc;
        let data = AutoCommit::new()
            .sync()
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap()
            .encode();
        gendan_core::protocol::Message::Request {
            sender_id: PeerId::new(dev.peer.clone()),
            target_id: PeerId::new("gendan-test"),
            document_id: DocumentId::from_bytes([7; 16]),
            data,
        }
    };
    let _ = s
        .state
        .sync
        .frame(dev.conn, gendan_core::protocol::encode(&request))
        .await;
    let mut closed = false;
    for _ in 0..5 {
        match dev.next().await {
            Some(None) => {
                closed = true;
                break;
            }
            Some(Some(_)) => {}
            None => break,
        }
    }
    assert!(closed, "a disabled user's connection is closed");
}

/// The record ids `user`'s stored index lists, read without asking the sync service
/// (asking would bring the index in line itself).
fn stored_index_of(s: &Server, user: &str) -> Vec<String> {
    use gendan_server::sync::SyncStorage;
    let Some(index) = s.state.storage.index_doc(user).unwrap() else {
        return Vec::new();
    };
    let bytes = s
        .state
        .storage
        .docs
        .load(&index.to_string())
        .unwrap()
        .expect("the index is stored");
    let mut listed = gendan_core::summary::index_ids(&AutoCommit::load(&bytes).unwrap());
    listed.sort();
    listed
}

/// Waits (up to 10 s) for `user`'s stored index to list exactly `expected`.
async fn stored_index_becomes(s: &Server, user: &str, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|e| (*e).to_string()).collect();
    expected.sort();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = stored_index_of(s, user);
        if listed == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{user}'s index lists {listed:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_user_moved_to_another_factory_gets_that_factorys_list() {
    let s = server().await;
    let merch = s.login("merch").await;
    let admin = s.login("admin").await;
    let at_f1 = s.create(&merch, inspection("At F1", "F1", &[])).await;
    let at_f2 = s.create(&merch, inspection("At F2", "F2", &[])).await;
    let factory = s.login("factory1").await;
    assert_eq!(
        stored_index_of(&s, "factory1"),
        std::slice::from_ref(&at_f1)
    );
    let page = s.get("/api/v1/records", &factory).await.json();
    assert_eq!(ids(&page), [at_f1.as_str()]);

    // The administrator moves factory1 to F2. Nothing else happens: the sync service
    // notices the changed account by itself and brings the index in line.
    let moved = s
        .post(
            "/api/v1/users/factory1/scope",
            &admin,
            json!({ "role": "factory", "factory": "F2" }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.error());
    assert_eq!(moved.json()["factory"], "F2");
    stored_index_becomes(&s, "factory1", &[&at_f2]).await;
    // The REST list agrees (it also counts what the index lists), and the F1 record is
    // gone for them.
    let page = s.get("/api/v1/records", &factory).await.json();
    assert_eq!(ids(&page), [at_f2.as_str()]);
    let gone = s.get(&format!("/api/v1/records/{at_f1}"), &factory).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Made a merchandiser for a while: their field index is not kept meanwhile, so a record
    // made at F2 then is listed when they are a factory user at F2 again, although their
    // scope is the same as before.
    let office = s
        .post(
            "/api/v1/users/factory1/scope",
            &admin,
            json!({ "role": "merchandiser" }),
        )
        .await;
    assert_eq!(office.status, StatusCode::OK, "{}", office.error());
    assert_eq!(office.json()["factory"], Value::Null);
    // Wait for the service to see the account before the record is made.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored_scope_of(&s, "factory1").as_deref() != Some(sync::SCOPE_INACTIVE) {
        assert!(
            Instant::now() < deadline,
            "the index is never marked inactive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let later = s.create(&merch, inspection("Later at F2", "F2", &[])).await;
    let back = s
        .post(
            "/api/v1/users/factory1/scope",
            &admin,
            json!({ "role": "factory", "factory": "F2" }),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.error());
    stored_index_becomes(&s, "factory1", &[&at_f2, &later]).await;
}

/// The scope the store keeps for `user`'s index.
fn stored_scope_of(s: &Server, user: &str) -> Option<String> {
    use gendan_server::sync::SyncStorage;
    s.state.storage.index_scope(user).unwrap()
}

#[tokio::test]
async fn a_scope_changed_while_the_server_was_down_applies_at_the_next_login() {
    let s = server().await;
    let merch = s.login("merch").await;
    let a = s.create(&merch, inspection("Stock", "F1", &[])).await;
    let clerk_count = s
        .create(
            &merch,
            json!({ "type": "stock_count", "title": "W2 count", "warehouse": "W2" }),
        )
        .await;
    s.login("clerk1").await;
    assert_eq!(stored_index_of(&s, "clerk1"), Vec::<String>::new());
    assert!(!a.is_empty());
    // The service stops; the account is changed as `gendan user scope` does with the server
    // down; a new service starts on the same store.
    s.state.sync.shutdown().await;
    s.state
        .storage
        .accounts
        .set_scope("clerk1", Role::Warehouse, None, Some("W2".into()))
        .unwrap();
    let config = SyncConfig {
        hub: HubConfig {
            peer_id: PeerId::new("gendan-test-2"),
            storage_id: StorageId::new("test-storage"),
            limits: HubLimits::default(),
        },
        pending_outbound_max: sync::PENDING_OUTBOUND_MAX_DEFAULT,
        batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms: sync::IDLE_UNLOAD_MS_DEFAULT,
    };
    let restarted = sync::spawn(config, Arc::new(s.state.storage.clone()));
    // Nothing changes until the clerk's device asks for its index (at login or `me`).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stored_index_of(&s, "clerk1"), Vec::<String>::new());
    restarted.ensure_index(s.principal("clerk1")).await.unwrap();
    assert_eq!(stored_index_of(&s, "clerk1"), [clerk_count]);
    restarted.shutdown().await;
}

#[tokio::test]
async fn moving_a_user_refuses_bad_input_and_keeps_an_administrator() {
    let s = server().await;
    let admin = s.login("admin").await;
    let qc = s.login("qc1").await;
    let uri = "/api/v1/users/factory1/scope";
    let refused = s.post(uri, &qc, json!({ "role": "qc" })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unknown_role = s.post(uri, &admin, json!({ "role": "boss" })).await;
    assert_eq!(unknown_role.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown_role.error().contains("role"),
        "{}",
        unknown_role.error()
    );
    let no_factory = s.post(uri, &admin, json!({ "role": "factory" })).await;
    assert_eq!(no_factory.status, StatusCode::BAD_REQUEST);
    assert!(
        no_factory.error().contains("factory"),
        "{}",
        no_factory.error()
    );
    let long = "f".repeat(gendan_server::accounts::NAME_BYTES_MAX + 1);
    let too_long = s
        .post(uri, &admin, json!({ "role": "factory", "factory": long }))
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    let at_most = "f".repeat(gendan_server::accounts::NAME_BYTES_MAX);
    let longest = s
        .post(
            uri,
            &admin,
            json!({ "role": "factory", "factory": at_most }),
        )
        .await;
    assert_eq!(longest.status, StatusCode::OK, "{}", longest.error());
    let nobody = s
        .post(
            "/api/v1/users/nobody/scope",
            &admin,
            json!({ "role": "qc" }),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let no_body = s.post(uri, &admin, json!({ "factory": "F2" })).await;
    assert_eq!(no_body.status, StatusCode::BAD_REQUEST);
    // Nothing refused changed the user.
    let user = s
        .state
        .storage
        .accounts
        .get_user("factory1")
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Factory);
    assert_eq!(
        user.factory.as_deref().map(str::len),
        Some(gendan_server::accounts::NAME_BYTES_MAX)
    );

    // The only administrator can neither step down nor be disabled…
    let demote = s
        .post("/api/v1/users/admin/scope", &admin, json!({ "role": "qc" }))
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert!(
        demote.error().contains("last enabled administrator"),
        "{}",
        demote.error()
    );
    let disable = s.state.storage.accounts.disable("admin");
    assert!(
        matches!(disable, Err(AccountError::LastAdmin(ref u)) if u == "admin"),
        "{disable:?}"
    );
    // …until there is another.
    let second = s
        .post(
            "/api/v1/users/merch/scope",
            &admin,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.error());
    let demote = s
        .post("/api/v1/users/admin/scope", &admin, json!({ "role": "qc" }))
        .await;
    assert_eq!(demote.status, StatusCode::OK, "{}", demote.error());
    assert_eq!(
        s.state
            .storage
            .accounts
            .get_user("admin")
            .unwrap()
            .unwrap()
            .role,
        Role::Qc
    );
}

/// A connected device of a user moved to another factory: the service pushes the change
/// of its index over the live connection, and the device may then pull the new factory's
/// record and no longer the old one's.
#[tokio::test]
async fn a_live_device_sees_its_list_follow_a_move_to_another_factory() {
    let s = server().await;
    let merch = s.login("merch").await;
    let admin = s.login("admin").await;
    let at_f1 = s.create(&merch, inspection("At F1", "F1", &[])).await;
    let at_f2 = s.create(&merch, inspection("At F2", "F2", &[])).await;
    let index = s
        .state
        .sync
        .ensure_index(s.principal("factory1"))
        .await
        .unwrap();
    let mut dev = SyncDevice::connect(&s, "factory1", AutoCommit::new()).await;
    assert!(!dev.sync(&s, index).await);
    let listed = |dev: &SyncDevice| {
        let mut ids = gendan_core::summary::index_ids(&dev.doc);
        ids.sort();
        ids
    };
    assert_eq!(listed(&dev), std::slice::from_ref(&at_f1));

    let moved = s
        .post(
            "/api/v1/users/factory1/scope",
            &admin,
            json!({ "role": "factory", "factory": "F2" }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.error());
    let deadline = Instant::now() + Duration::from_secs(10);
    while listed(&dev) != std::slice::from_ref(&at_f2) {
        assert!(
            Instant::now() < deadline,
            "the device's index lists {:?}",
            listed(&dev)
        );
        dev.sync(&s, index).await;
    }
    // The records themselves follow the account: F2's comes, F1's is answered as a record
    // that does not exist.
    let mut reader = SyncDevice::connect(&s, "factory1", AutoCommit::new()).await;
    assert!(!reader.sync(&s, at_f2.parse().unwrap()).await);
    assert_eq!(
        gendan_core::record::read_header(&reader.doc).map(|h| h.factory),
        Some("F2".to_string())
    );
    let mut old = SyncDevice::connect(&s, "factory1", AutoCommit::new()).await;
    old.sync(&s, at_f1.parse().unwrap()).await;
    assert_eq!(gendan_core::record::read_header(&old.doc), None);
    assert!(
        old.doc.get_heads().is_empty(),
        "nothing of F1's record came"
    );
}
