//! The office pages' REST endpoints (dashboard, order timeline, search, assignable users)
//! end to end: the real application over an in-memory store and a running sync service,
//! driven with `oneshot` requests. Figures are asserted against records the tests build.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use gendan_core::access::Role;
use gendan_core::protocol::hub::{HubConfig, HubLimits};
use gendan_core::protocol::{PeerId, StorageId};
use gendan_server::accounts::{LoginLimiter, NewUser};
use gendan_server::api::office::{
    DASHBOARD_LIST_MAX, DASHBOARD_RECORDS_MAX, ORDER_NO_BYTES_MAX, ORDER_RECORDS_MAX,
    SEARCH_LIMIT_MAX, SEARCH_TEXT_BYTES_MAX, TIMELINE_EVENTS_MAX,
};
use gendan_server::blobs::BlobStore;
use gendan_server::persist::{ServerStorage, to_record_summary};
use gendan_server::serve::AppState;
use gendan_server::store::{Batch, MemoryStore, Store};
use gendan_server::sync::{self, SyncConfig};
use gendan_server::ws::{RateLimiter, WsLimits};
use serde_json::{Value, json};
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
        idle_unload_ms: sync::IDLE_UNLOAD_MS_DEFAULT,
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
                // The approver is the general manager (special approvals).
                titles: if *username == "boss" {
                    vec!["general_manager".into()]
                } else {
                    Vec::new()
                },
            })
            .expect("user added");
    }
    // Finance, who alone confirms deposits (by job title).
    storage
        .accounts
        .add_user(NewUser {
            username: "finance".into(),
            password: PASSWORD.into(),
            role: Role::Approver,
            display_name: None,
            factory: None,
            warehouse: None,
            titles: vec!["finance".into()],
        })
        .expect("user added");
    // A sales rep, who signs POs for sales (by job title).
    storage
        .accounts
        .add_user(NewUser {
            username: "sales1".into(),
            password: PASSWORD.into(),
            role: Role::Sales,
            display_name: None,
            factory: None,
            warehouse: None,
            titles: vec!["sales_rep".into()],
        })
        .expect("user added");
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

    /// The record ids `user`'s index document lists, read from storage.
    async fn index_of(&self, user: &str) -> Vec<String> {
        let principal = self
            .state
            .storage
            .accounts
            .get_user(user)
            .unwrap()
            .unwrap()
            .principal();
        let index = self.state.sync.ensure_index(principal).await.unwrap();
        let bytes = self
            .state
            .storage
            .docs
            .load(&index.to_string())
            .unwrap()
            .expect("the index is stored");
        gendan_core::summary::index_ids(&AutoCommit::load(&bytes).unwrap())
    }
}

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The ids of a list of summaries (or of objects with an `id`).
fn ids_in(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_string())
        .collect()
}

impl Server {
    /// Applies one operation as `token`'s user and expects 200.
    async fn op(&self, token: &str, id: &str, op: Value) -> Value {
        let answer = self
            .post(&format!("/api/v1/records/{id}/ops"), token, op.clone())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{op}: {}", answer.error());
        answer.json()
    }

    /// The dashboard as `token`'s user, expecting 200.
    async fn dashboard(&self, token: &str) -> Value {
        let answer = self.get("/api/v1/dashboard", token).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
        answer.json()
    }

    /// An order `order_no` of factory F1 due in `delivery_days`, one milestone overdue by
    /// ten days and one done five days late for material; returns the order's id.
    async fn late_order(&self, merch: &str, order_no: &str, delivery_days: i64) -> String {
        let now = now_ms();
        let order = self
            .create(
                merch,
                json!({"type": "order", "order_no": order_no, "style_no": "ST-1",
                       "customer": "Northwind Retail", "factory": "F1",
                       "delivery_ms": now + delivery_days * DAY_MS,
                       "lines": {"navy": {"colour": "navy", "quantity": 100}}}),
            )
            .await;
        self.op(
            merch,
            &order,
            json!({"op": "add_milestone", "id": "m1",
                   "milestone": {"name": "PP sample approved", "planned_ms": now - 10 * DAY_MS}}),
        )
        .await;
        self.op(
            merch,
            &order,
            json!({"op": "add_milestone", "id": "m0",
                   "milestone": {"name": "Fabric in house", "planned_ms": now - 20 * DAY_MS}}),
        )
        .await;
        self.op(
            merch,
            &order,
            json!({"op": "complete_milestone", "id": "m0", "actual_ms": now - 15 * DAY_MS,
                   "late_reason": "fabric mill late", "late_code": "material_late"}),
        )
        .await;
        order
    }

    /// A PO of `order` (`order_no`) on deposit terms, signed, not released; returns (po,
    /// commercial).
    async fn deposit_po(&self, merch: &str, order: &str, order_no: &str) -> (String, String) {
        let commercial = self
            .create(
                merch,
                json!({"type": "order_commercial", "order_id": order, "order_no": order_no,
                       "payment_term": "deposit"}),
            )
            .await;
        let po = self
            .create(
                merch,
                json!({"type": "purchase_order", "po_no": format!("PO-{order_no}"),
                       "order_id": order, "order_no": order_no, "style_no": "ST-1",
                       "factory": "F1"}),
            )
            .await;
        (po, commercial)
    }

    /// An inspection of order `order_no` (lot 500) assigned to qc1.
    async fn inspection(&self, merch: &str, title: &str, order_no: &str) -> String {
        self.create(
            merch,
            json!({"type": "inspection", "title": title, "order_no": order_no,
                   "style_no": "ST-1", "factory": "F1", "lot_size": 500,
                   "assignees": ["qc1"]}),
        )
        .await
    }
}

/// The dashboard's figures come from the records: the T&A risk and overdue milestones of
/// an order, lateness per factory, a PO blocked until its deposit is confirmed, failed and
/// pending inspections with their defect Pareto, a submitted stock count, and an approval
/// waiting for the approver (and not for the merchandiser).
#[tokio::test]
async fn the_dashboard_shows_what_needs_action() {
    let s = server().await;
    let merch = s.login("merch").await;
    let boss = s.login("boss").await;
    let qc1 = s.login("qc1").await;
    let clerk1 = s.login("clerk1").await;

    let empty = s.dashboard(&merch).await;
    for list in [
        "at_risk",
        "overdue_milestones",
        "blocked_pos",
        "failed_inspections",
        "pending_inspections",
        "counts_waiting",
        "my_approvals",
        "late_by_factory",
        "defect_pareto",
    ] {
        assert_eq!(empty[list], json!([]), "{list}");
    }

    let late = s.late_order(&merch, "SO-1", 5).await;
    let calm = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-2", "style_no": "ST-2", "factory": "F2",
                   "delivery_ms": now_ms() + 60 * DAY_MS}),
        )
        .await;
    let (po, commercial) = s.deposit_po(&merch, &late, "SO-1").await;
    let failing = s.inspection(&merch, "Final SO-1", "SO-1").await;
    s.op(
        &qc1,
        &failing,
        json!({"op": "add_defect", "id": "d1", "class": "major", "description": "open seam", "qty": 40}),
    )
    .await;
    s.op(
        &qc1,
        &failing,
        json!({"op": "add_defect", "id": "d2", "class": "minor", "description": "loose thread", "qty": 3}),
    )
    .await;
    s.op(
        &qc1,
        &failing,
        json!({"op": "add_defect", "id": "d3", "class": "major", "description": "open seam", "qty": 2}),
    )
    .await;
    s.op(
        &qc1,
        &failing,
        json!({"op": "sign_off", "name": "Li Qiang"}),
    )
    .await;
    let open = s.inspection(&merch, "Inline SO-1", "SO-1").await;
    let count = s
        .create(
            &merch,
            json!({"type": "stock_count", "title": "Bin A", "warehouse": "W1",
                   "assignees": ["clerk1"],
                   "lines": {"l1": {"location": "A-01", "sku": "SKU-1", "expected": 10}}}),
        )
        .await;
    let counting = s
        .create(
            &merch,
            json!({"type": "stock_count", "title": "Bin B", "warehouse": "W1",
                   "lines": {"l1": {"location": "B-01", "sku": "SKU-2", "expected": 5}}}),
        )
        .await;
    s.op(
        &clerk1,
        &count,
        json!({"op": "set_count", "line": "l1", "qty": 9}),
    )
    .await;
    s.op(&clerk1, &count, json!({"op": "submit"})).await;
    let approval = s
        .create(
            &merch,
            json!({"type": "approval", "subject": "Release PO-SO-1 before the deposit",
                   "order_no": "SO-1", "steps": [["approver", 2]]}),
        )
        .await;

    let d = s.dashboard(&merch).await;
    // Orders at risk: SO-1 (ten days of slip against five to delivery), not SO-2.
    assert_eq!(ids_in_key(&d["at_risk"], "order_id"), [late.as_str()]);
    assert_eq!(d["at_risk"][0]["level"], "at_risk");
    // The ten days of slip carry to the ship date, ten days after delivery.
    assert_eq!(d["at_risk"][0]["slip_days"], 10);
    assert!(!ids_in_key(&d["at_risk"], "order_id").contains(&calm));
    assert_eq!(
        d["overdue_milestones"],
        json!([{"order_id": late, "order_no": "SO-1", "style_no": "ST-1", "factory": "F1",
                "milestone": "m1", "name": "PP sample approved", "days": 10}])
    );
    assert_eq!(
        d["late_by_factory"],
        json!([{"factory": "F1", "done_late": 1, "overdue": 1,
                "by_code": {"material_late": 1}}])
    );
    // The PO waits for the deposit.
    assert_eq!(ids_in(&d["blocked_pos"]), [po.as_str()]);
    assert_eq!(
        d["blocked_pos"][0]["gate"]["reason"],
        "deposit_not_confirmed"
    );
    // Inspections: 42 major pieces fail a lot of 500; the other is not signed off.
    assert_eq!(ids_in(&d["failed_inspections"]), [failing.as_str()]);
    assert_eq!(ids_in(&d["pending_inspections"]), [open.as_str()]);
    assert_eq!(
        d["defect_pareto"],
        json!([{"factory": "F1", "style_no": "ST-1", "inspections": 2, "defects": [
            {"description": "open seam", "class": "major", "qty": 42},
            {"description": "loose thread", "class": "minor", "qty": 3}]}])
    );
    assert_eq!(ids_in(&d["counts_waiting"]), [count.as_str()]);
    assert!(!ids_in(&d["counts_waiting"]).contains(&counting));
    // The approval waits for the approver, not for its author.
    assert_eq!(d["my_approvals"], json!([]));
    let b = s.dashboard(&boss).await;
    assert_eq!(ids_in(&b["my_approvals"]), [approval.as_str()]);
    assert_eq!(b["my_approvals"][0]["step"], "s1");
    assert_eq!(d["truncated"], false);

    // Finance confirming the deposit opens the gate; deciding the approval empties the
    // inbox.
    let finance = s.login("finance").await;
    s.op(
        &finance,
        &commercial,
        json!({"op": "confirm_deposit", "amount": {"minor": 300_000, "currency": "USD"},
               "received_ms": now_ms()}),
    )
    .await;
    let decided = s
        .post(
            &format!("/api/v1/records/{approval}/decide"),
            &boss,
            json!({"step": "s1", "approved": true, "comment": "ok"}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.error());
    assert_eq!(s.dashboard(&merch).await["blocked_pos"], json!([]));
    assert_eq!(s.dashboard(&boss).await["my_approvals"], json!([]));
}

fn ids_in_key(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|s| s[key].as_str().expect("an id").to_string())
        .collect()
}

/// Every office endpoint is for office roles: 403 with a JSON error for field roles, 401
/// without a session.
#[tokio::test]
async fn office_endpoints_refuse_field_roles() {
    let s = server().await;
    let merch = s.login("merch").await;
    s.late_order(&merch, "SO-1", 5).await;
    for user in ["qc1", "clerk1", "factory1"] {
        let token = s.login(user).await;
        for uri in [
            "/api/v1/dashboard",
            "/api/v1/orders/SO-1/timeline",
            "/api/v1/search?q=SO",
            "/api/v1/assignees",
        ] {
            let answer = s.get(uri, &token).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{user} {uri}");
            assert!(answer.error().contains("office"), "{}", answer.error());
        }
    }
    let anonymous = s.call(Method::GET, "/api/v1/dashboard", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    for user in ["admin", "boss"] {
        let token = s.login(user).await;
        assert_eq!(
            s.get("/api/v1/orders/SO-1/timeline", &token).await.status,
            StatusCode::OK,
            "{user}"
        );
    }
}

/// The order page's timeline: every record of the order, who did what and when, oldest
/// first, repeated edits merged, the order's activity log, its risk and payment gate.
#[tokio::test]
async fn the_order_timeline_lists_who_did_what() {
    let s = server().await;
    let merch = s.login("merch").await;
    let qc1 = s.login("qc1").await;
    let order = s.late_order(&merch, "SO-1", 5).await;
    let (po, _) = s.deposit_po(&merch, &order, "SO-1").await;
    let insp = s.inspection(&merch, "Final SO-1", "SO-1").await;
    s.op(
        &qc1,
        &insp,
        json!({"op": "add_defect", "id": "d1", "class": "minor", "description": "stain"}),
    )
    .await;
    for _ in 0..3 {
        s.op(
            &qc1,
            &insp,
            json!({"op": "tally_defect", "id": "d1", "delta": 1}),
        )
        .await;
    }
    s.op(&qc1, &insp, json!({"op": "sign_off", "name": "Li Qiang"}))
        .await;
    // Another order's record is not in this timeline.
    s.inspection(&merch, "Final SO-10", "SO-10").await;

    let answer = s.get("/api/v1/orders/SO-1/timeline", &merch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    let t = answer.json();
    let mut records = ids_in(&t["records"]);
    records.sort();
    let mut expected = vec![order.clone(), po.clone(), insp.clone()];
    // The commercial side carries the order number too.
    let commercial: Vec<String> = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["record_type"] == "order_commercial")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(commercial.len(), 1);
    expected.extend(commercial);
    expected.sort();
    assert_eq!(records, expected);
    assert_eq!(t["risk"]["level"], "at_risk");
    assert_eq!(t["gates"][0]["id"], po.as_str());
    assert_eq!(t["gates"][0]["gate"]["state"], "blocked");

    let events = t["events"].as_array().unwrap();
    let of = |id: &str| -> Vec<(String, String, u64)> {
        events
            .iter()
            .filter(|e| e["record_id"] == id)
            .map(|e| {
                (
                    e["user"].as_str().unwrap().to_string(),
                    e["what"].as_str().unwrap().to_string(),
                    e["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let who_what = |v: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
        v.iter()
            .map(|(u, w, n)| ((*u).to_string(), (*w).to_string(), *n))
            .collect()
    };
    assert_eq!(
        of(&insp),
        who_what(&[
            ("merch", "create", 1),
            ("qc1", "add_defect", 1),
            ("qc1", "tally_defect", 3),
            ("qc1", "sign_off", 1),
        ])
    );
    // The order: its creation, then its activity log (three edits by merch, with text).
    let order_events: Vec<&Value> = events.iter().filter(|e| e["record_id"] == order).collect();
    assert_eq!(order_events.len(), 4, "{order_events:?}");
    assert_eq!(order_events[0]["what"], "create");
    assert!(
        order_events[1..]
            .iter()
            .all(|e| e["what"] == "activity" && e["user"] == "merch" && e["text"] != "")
    );
    // Each with its code and the values it names, for the office page to word it.
    let activity: Vec<(&str, &str)> = order_events[1..]
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap(),
                e["params"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        activity,
        [
            ("milestone_added", "PP sample approved"),
            ("milestone_added", "Fabric in house"),
            ("milestone_done", "Fabric in house"),
        ]
    );
    // Oldest first.
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["at_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(t["truncated"], false);

    // An order number with a slash, escaped in the path.
    let slashed = s.inspection(&merch, "Final SO/2026/7", "SO/2026/7").await;
    let answer = s.get("/api/v1/orders/SO%2F2026%2F7/timeline", &merch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    assert_eq!(ids_in(&answer.json()["records"]), [slashed.as_str()]);

    // Bad input.
    let missing = s.get("/api/v1/orders/SO-404/timeline", &merch).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.error().contains("SO-404"));
    let long = "X".repeat(ORDER_NO_BYTES_MAX + 1);
    let too_long = s
        .get(&format!("/api/v1/orders/{long}/timeline"), &merch)
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.error().contains("over the limit"));
    let at_limit = "X".repeat(ORDER_NO_BYTES_MAX);
    assert_eq!(
        s.get(&format!("/api/v1/orders/{at_limit}/timeline"), &merch)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// A timeline keeps the newest [`TIMELINE_EVENTS_MAX`] events and says it was cut.
#[tokio::test]
async fn a_timeline_over_the_event_limit_keeps_the_newest() {
    use gendan_core::common::EditContext;
    use gendan_core::order::{self, NewOrder, OrderOp};
    use gendan_core::protocol::DocumentId;
    use gendan_core::record::actor_from_bytes;

    let s = server().await;
    let merch = s.login("merch").await;
    // An order with more activity than the limit, made in-process (one REST call per edit
    // would make the test slow) and stored through the sync service like any record.
    let start = now_ms() - 10 * DAY_MS;
    let ctx = EditContext::new("merch", start);
    let mut record = order::create(
        &NewOrder {
            order_no: "SO-BIG".into(),
            style_no: "ST-1".into(),
            factory: "F1".into(),
            ..NewOrder::default()
        },
        actor_from_bytes(&[7; 16]),
        &ctx,
    )
    .unwrap();
    for i in 0..=TIMELINE_EVENTS_MAX {
        let at = start + i64::try_from(i).unwrap() * 1000;
        let ctx = EditContext::new("merch", at);
        let op = OrderOp::SetDelivery {
            delivery_ms: at + 30 * DAY_MS,
        };
        order::apply(&mut record, &op, &format!("{at}:merch"), &ctx).unwrap();
    }
    let id = DocumentId::from_bytes([9; 16]);
    s.state
        .sync
        .create(id, record.save(), "merch")
        .await
        .unwrap();
    let t = s.get("/api/v1/orders/SO-BIG/timeline", &merch).await.json();
    let events = t["events"].as_array().unwrap();
    assert_eq!(events.len(), TIMELINE_EVENTS_MAX);
    assert_eq!(t["truncated"], true);
    // 2,002 events (the creation and 2,001 edits, a second apart): the two oldest went.
    let at = |e: &Value| e["at_ms"].as_i64().unwrap();
    assert_eq!(at(&events[0]), start + 1000);
    let last = start + i64::try_from(TIMELINE_EVENTS_MAX).unwrap() * 1000;
    assert_eq!(at(events.last().unwrap()), last);
    assert!(events.iter().all(|e| e["what"] == "activity"));
}

/// Search finds records by order no., style no., customer or factory in any case, groups
/// them by order, pages, and refuses bad input at its limits.
#[tokio::test]
async fn search_finds_the_archive_by_order_style_customer_factory() {
    let s = server().await;
    let merch = s.login("merch").await;
    let order = s.late_order(&merch, "SO-1", 5).await;
    let insp = s.inspection(&merch, "Final SO-1", "SO-1").await;
    let other = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-2", "style_no": "ZX-9",
                   "customer": "Contoso", "factory": "F2"}),
        )
        .await;
    let search = |q: &str| format!("/api/v1/search?q={q}");
    for (q, expect) in [
        ("so-1", vec![order.clone(), insp.clone()]),
        ("NORTHWIND", vec![order.clone()]),
        ("zx-9", vec![other.clone()]),
        ("f2", vec![other.clone()]),
        ("nothing-like-this", vec![]),
    ] {
        let answer = s.get(&search(q), &merch).await;
        assert_eq!(answer.status, StatusCode::OK, "{q}: {}", answer.error());
        let mut found = ids_in(&answer.json()["items"]);
        found.sort();
        let mut expect = expect;
        expect.sort();
        assert_eq!(found, expect, "{q}");
    }
    let grouped = s.get(&search("SO-"), &merch).await.json();
    assert_eq!(
        grouped["orders"],
        json!([
            {"order_no": "SO-1", "style_no": "ST-1", "customer": "Northwind Retail",
             "factory": "F1", "records": 2},
            {"order_no": "SO-2", "style_no": "ZX-9", "customer": "Contoso",
             "factory": "F2", "records": 1}
        ])
    );
    let typed = s.get("/api/v1/search?q=SO-1&type=inspection", &merch).await;
    assert_eq!(ids_in(&typed.json()["items"]), [insp.as_str()]);

    // Pages of one, followed by the cursor, give each record once.
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = s
            .get(
                &format!("/api/v1/search?q=SO-&limit=1&after={after}"),
                &merch,
            )
            .await
            .json();
        seen.extend(ids_in(&page["items"]));
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    seen.sort();
    let mut all = vec![order, insp, other];
    all.sort();
    assert_eq!(seen, all);

    for (uri, says) in [
        ("/api/v1/search".to_string(), "required"),
        ("/api/v1/search?q=%20%20".to_string(), "required"),
        (
            search(&"x".repeat(SEARCH_TEXT_BYTES_MAX + 1)),
            "over the limit",
        ),
        (
            format!("/api/v1/search?q=SO&limit={}", SEARCH_LIMIT_MAX + 1),
            "outside",
        ),
        ("/api/v1/search?q=SO&limit=0".to_string(), "outside"),
        ("/api/v1/search?q=SO&type=invoice".to_string(), "type"),
        ("/api/v1/search?q=SO&limit=many".to_string(), "limit"),
    ] {
        let answer = s.get(&uri, &merch).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(answer.error().contains(says), "{uri}: {}", answer.error());
    }
    for ok in [
        search(&"x".repeat(SEARCH_TEXT_BYTES_MAX)),
        format!("/api/v1/search?q=SO&limit={SEARCH_LIMIT_MAX}"),
    ] {
        assert_eq!(s.get(&ok, &merch).await.status, StatusCode::OK, "{ok}");
    }
}

/// The office assigns work to the field users it lists; the assigned user's index then
/// holds the record, so their device receives it.
#[tokio::test]
async fn work_is_assigned_to_listed_field_users_and_reaches_their_index() {
    let s = server().await;
    let merch = s.login("merch").await;
    let listed = s.get("/api/v1/assignees", &merch).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.error());
    let mut users: Vec<String> = listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    users.sort();
    assert_eq!(users, ["clerk1", "factory1", "qc1", "qc2"]);

    let admin = s.login("admin").await;
    let disabled = s.post("/api/v1/users/qc2/disable", &admin, json!({})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.error());
    let after: Vec<Value> = s.get("/api/v1/assignees", &merch).await.json()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(after.iter().all(|u| u["username"] != "qc2"));
    assert_eq!(
        after.iter().find(|u| u["username"] == "clerk1").unwrap()["warehouse"],
        "W1"
    );

    let inspection = s.inspection(&merch, "Final SO-1", "SO-1").await;
    assert!(s.index_of("qc1").await.contains(&inspection));
    let count = s
        .create(
            &merch,
            json!({"type": "stock_count", "title": "Bin A", "warehouse": "W9",
                   "assignees": ["clerk1"],
                   "lines": {"l1": {"location": "A-01", "sku": "SKU-1", "expected": 10}}}),
        )
        .await;
    assert!(s.index_of("clerk1").await.contains(&count));
    let shipment = s
        .create(
            &merch,
            json!({"type": "shipment_check", "title": "Container 1", "order_no": "SO-1"}),
        )
        .await;
    assert!(!s.index_of("clerk1").await.contains(&shipment));
    let assigned = s
        .post(
            &format!("/api/v1/records/{shipment}/assign"),
            &merch,
            json!({"user": "clerk1"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.error());
    assert!(s.index_of("clerk1").await.contains(&shipment));

    // By type: only those whose role works on such a record once assigned.
    let of_type = |t: &str| format!("/api/v1/assignees?type={t}");
    for (t, expect) in [
        ("inspection", vec!["qc1"]),
        ("stock_count", vec!["clerk1"]),
        ("shipment_check", vec!["clerk1"]),
    ] {
        let answer = s.get(&of_type(t), &merch).await;
        assert_eq!(answer.status, StatusCode::OK, "{t}: {}", answer.error());
        let names: Vec<String> = answer.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, expect, "{t}");
    }
    let bad = s.get(&of_type("invoice"), &merch).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error().contains("type"), "{}", bad.error());
}

/// The dashboard reads at most [`DASHBOARD_RECORDS_MAX`] records of a type and lists at
/// most [`DASHBOARD_LIST_MAX`] of each kind; a timeline reads at most
/// [`ORDER_RECORDS_MAX`] records of its order. Crossing each says `truncated`.
#[tokio::test]
async fn dashboard_and_timeline_reads_are_bounded() {
    use gendan_core::common::EditContext;
    use gendan_core::ops;
    use gendan_core::protocol::DocumentId;
    use gendan_core::record::{RecordType, actor_from_bytes};

    let s = server().await;
    let merch = s.login("merch").await;
    // Made in-process and written to storage in batches the way the sync service writes a
    // turn (document and projection; through the sync loop one at a time this takes a
    // minute in a debug build): DASHBOARD_RECORDS_MAX + 1 inspections of one order, the
    // first DASHBOARD_LIST_MAX + 1 failed by a critical defect.
    let ctx = EditContext::new("merch", now_ms());
    let new = json!({"title": "Bulk", "order_no": "SO-BULK", "style_no": "ST-1",
                     "factory": "F1", "lot_size": 500})
    .to_string();
    let critical = json!({"op": "add_defect", "id": "d1", "class": "critical",
                          "description": "broken needle"})
    .to_string();
    let storage = &s.state.storage;
    let mut batch = Batch::new();
    for i in 0..=DASHBOARD_RECORDS_MAX {
        let mut bytes = [0_u8; 16];
        bytes[..4].copy_from_slice(&u32::try_from(i).unwrap().to_be_bytes());
        let mut record =
            ops::create_json(RecordType::Inspection, &new, actor_from_bytes(&bytes), &ctx).unwrap();
        if i <= DASHBOARD_LIST_MAX {
            ops::apply_json(&mut record, &critical, &ctx).unwrap();
        }
        bytes[15] = 1;
        let id = DocumentId::from_bytes(bytes);
        storage
            .docs
            .append_to(&mut batch, &id.to_string(), &record.save())
            .unwrap();
        let summary = gendan_core::summary::summarize(&record).unwrap();
        storage
            .projections
            .upsert(&mut batch, &to_record_summary(&id, &summary, 1))
            .unwrap();
        if i % 200 == 0 {
            storage.store.apply(std::mem::take(&mut batch)).unwrap();
        }
    }
    storage.store.apply(batch).unwrap();
    let d = s.dashboard(&merch).await;
    assert_eq!(d["truncated"], true);
    assert_eq!(
        d["failed_inspections"].as_array().unwrap().len(),
        DASHBOARD_LIST_MAX
    );
    assert_eq!(
        d["pending_inspections"].as_array().unwrap().len(),
        DASHBOARD_LIST_MAX
    );
    // The Pareto counts every inspection read, no more.
    assert_eq!(
        d["defect_pareto"][0]["inspections"],
        json!(DASHBOARD_RECORDS_MAX)
    );

    let t = s
        .get("/api/v1/orders/SO-BULK/timeline", &merch)
        .await
        .json();
    assert_eq!(t["truncated"], true);
    assert_eq!(t["records"].as_array().unwrap().len(), ORDER_RECORDS_MAX);
}

/// The order tracking sheet of the demo data, exported from a store of its own.
async fn demo_sheet() -> Vec<u8> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let storage = ServerStorage::new(store);
    let config = SyncConfig {
        hub: HubConfig {
            peer_id: PeerId::new("gendan-demo"),
            storage_id: StorageId::new("demo-storage"),
            limits: HubLimits::default(),
        },
        pending_outbound_max: sync::PENDING_OUTBOUND_MAX_DEFAULT,
        batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms: sync::IDLE_UNLOAD_MS_DEFAULT,
    };
    let sync = sync::spawn(config, Arc::new(storage.clone()));
    assert!(
        gendan_server::demo::seed_if_empty(&storage, &sync)
            .await
            .unwrap()
    );
    let bytes = gendan_server::excel::export(&storage, gendan_server::excel::Lang::Zh).unwrap();
    sync.shutdown().await;
    bytes
}

impl Server {
    /// `POST /api/v1/import/orders.xlsx` with `body` as `token`'s user.
    async fn upload(&self, token: &str, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/import/orders.xlsx")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(Body::from(body))
            .expect("a request");
        self.send(request).await
    }
}

/// A sheet exported from the demo, uploaded into a fresh server, creates its orders; the
/// same upload again updates them; a bad row is reported by its number and the rest go in.
#[tokio::test]
async fn the_tracking_sheet_uploads_into_a_fresh_server() {
    let sheet = demo_sheet().await;
    let demo_rows: Vec<_> = gendan_server::excel::read_sheet(&sheet)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect();
    let mut orders: Vec<_> = demo_rows
        .iter()
        .map(|r| (r.order_no.clone(), r.style_no.clone()))
        .collect();
    orders.dedup();
    assert!(orders.len() >= 3, "the demo has orders: {orders:?}");

    let s = server().await;
    let merch = s.login("merch").await;
    let answer = s.upload(&merch, sheet.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    assert_eq!(
        answer.json(),
        json!({"created": orders.len(), "updated": 0, "errors": []})
    );
    let search = s
        .get(&format!("/api/v1/search?q={}", orders[0].0), &merch)
        .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.error());
    assert!(
        search
            .body
            .windows(orders[0].0.len())
            .any(|w| w == orders[0].0.as_bytes()),
        "{}",
        String::from_utf8_lossy(&search.body)
    );
    // The server's own export now has the demo's rows.
    let exported = s.get("/api/v1/export/orders.xlsx", &merch).await;
    let rows: Vec<_> = gendan_server::excel::read_sheet(&exported.body)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(rows, demo_rows);

    // Again, with one row's order no. blanked: that row is refused by number.
    let mut bad = demo_rows.clone();
    bad[1].order_no.clear();
    let sheet = gendan_server::excel::write_sheet(&bad, gendan_server::excel::Lang::En).unwrap();
    let answer = s.upload(&merch, sheet).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    let summary = answer.json();
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{summary}");
    assert_eq!(errors[0]["row"], json!(3), "{summary}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("empty"),
        "{summary}"
    );
    assert_eq!(errors[0]["code"], "required", "{summary}");
    assert_eq!(errors[0]["params"]["column_en"], "Order no.", "{summary}");
    assert!(
        summary["updated"].as_u64().unwrap() >= orders.len() as u64 - 1,
        "{summary}"
    );
    assert_eq!(summary["created"], json!(0), "{summary}");
}

/// Field roles may not upload; an empty body, a non-workbook and a body over
/// `IMPORT_BYTES_MAX` are refused with a message.
#[tokio::test]
async fn a_tracking_sheet_upload_is_refused_clearly() {
    use gendan_server::excel::IMPORT_BYTES_MAX;
    let s = server().await;
    let merch = s.login("merch").await;
    let qc = s.login("qc1").await;
    let sheet = gendan_server::excel::write_sheet(&[], gendan_server::excel::Lang::Zh).unwrap();
    let answer = s.upload(&qc, sheet.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.error().contains("office"), "{}", answer.error());
    let answer = s.upload(&merch, sheet).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.error());
    assert_eq!(
        answer.json(),
        json!({"created": 0, "updated": 0, "errors": []})
    );
    let answer = s.upload(&merch, Vec::new()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("body"), "{}", answer.error());
    let answer = s
        .upload(&merch, b"order no,style no\nSO-1,ST-1\n".to_vec())
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains(".xlsx"), "{}", answer.error());
    // A sheet of IMPORT_ROWS_MAX + 1 rows is refused whole, saying to split it.
    let rows: Vec<gendan_server::excel::SheetRow> = (0..=gendan_server::excel::IMPORT_ROWS_MAX)
        .map(|i| gendan_server::excel::SheetRow {
            order_no: format!("SO-{i}"),
            style_no: "S".into(),
            milestones: vec![(None, None); gendan_core::plan::DEFAULT_TEMPLATE.len()],
            ..Default::default()
        })
        .collect();
    let sheet = gendan_server::excel::write_sheet(&rows, gendan_server::excel::Lang::En).unwrap();
    let answer = s.upload(&merch, sheet).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("split"), "{}", answer.error());
    // At the limit the body is read (and is not a workbook); one byte over it is not.
    let answer = s.upload(&merch, vec![0; IMPORT_BYTES_MAX]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.error());
    let answer = s.upload(&merch, vec![0; IMPORT_BYTES_MAX + 1]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer.error().contains(&IMPORT_BYTES_MAX.to_string()),
        "{}",
        answer.error()
    );
}

/// A refusal carries a stable code and the values its message names, beside the English
/// text: an assignee whose role cannot work on the type, an order no record has, a field
/// role on an office page, input the core finds invalid (with its problems), a release past
/// a closed payment gate (with the gate's reason), a change the write check refuses.
#[tokio::test]
async fn refusals_carry_stable_codes_and_params() {
    let s = server().await;
    let merch = s.login("merch").await;
    let qc1 = s.login("qc1").await;

    let wrong = s
        .post(
            "/api/v1/records",
            &merch,
            json!({"type": "shipment_check", "title": "Dock", "assignees": ["qc1"]}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let body = wrong.json();
    assert_eq!(body["code"], "assignee_cannot_work", "{body}");
    assert_eq!(body["params"]["user"], "qc1");
    assert_eq!(body["params"]["type"], "shipment_check");
    assert!(body["error"].as_str().unwrap().contains("cannot work on"));

    let nobody = s
        .post(
            "/api/v1/records",
            &merch,
            json!({"type": "inspection", "title": "I", "assignees": ["ghost"]}),
        )
        .await;
    assert_eq!(nobody.json()["code"], "no_such_user");

    let missing = s.get("/api/v1/orders/SO-NONE/timeline", &merch).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["code"], "order_not_found");
    assert_eq!(missing.json()["params"]["order_no"], "SO-NONE");

    let field = s.get("/api/v1/dashboard", &qc1).await;
    assert_eq!(field.status, StatusCode::FORBIDDEN);
    assert_eq!(field.json()["code"], "forbidden");

    let no_record = s.get("/api/v1/records/nope", &merch).await;
    assert_eq!(no_record.json()["code"], "not_found");

    // The core's refusal: its kind and every problem with its own code.
    let order = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-C", "style_no": "ST-1", "factory": "F1"}),
        )
        .await;
    let invalid = s
        .post(
            &format!("/api/v1/records/{order}/ops"),
            &merch,
            json!({"op": "add_note", "id": "n1", "text": "x".repeat(100_000)}),
        )
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::BAD_REQUEST,
        "{}",
        invalid.error()
    );
    let body = invalid.json();
    assert_eq!(body["code"], "invalid", "{body}");
    assert_eq!(body["problems"][0]["code"], "text_too_long", "{body}");
    assert!(body["problems"][0]["params"]["max"].is_string(), "{body}");

    // A release past the closed gate: 409 with the term and the reason.
    let (po, _) = s.deposit_po(&merch, &order, "SO-C").await;
    let release = s
        .post(
            &format!("/api/v1/records/{po}/ops"),
            &merch,
            json!({"op": "release", "released_ms": now_ms()}),
        )
        .await;
    assert_eq!(release.status, StatusCode::CONFLICT, "{}", release.error());
    let body = release.json();
    assert_eq!(body["code"], "payment_gate_closed", "{body}");
    assert_eq!(body["params"]["term"], "deposit");
    assert_eq!(body["params"]["reason"], "deposit_not_confirmed");
    assert!(body["error"].as_str().unwrap().contains("deposit"));

    // A record the caller may read but not change.
    let factory1 = s.login("factory1").await;
    let read_only = s
        .post(
            &format!("/api/v1/records/{order}/ops"),
            &factory1,
            json!({"op": "add_note", "id": "n2", "text": "hello"}),
        )
        .await;
    if read_only.status == StatusCode::FORBIDDEN {
        assert!(
            ["read_only", "change_refused"].contains(&read_only.json()["code"].as_str().unwrap()),
            "{}",
            read_only.json()
        );
    }
}

/// A repeat order copies the previous order's packaging data and shipping marks to adjust:
/// each item drafted again, not sent or confirmed, marked as copied; a second copy keeps
/// what is there; an order without packaging, or no such order, is refused with a code.
#[tokio::test]
async fn a_repeat_order_copies_the_previous_orders_packaging() {
    let s = server().await;
    let merch = s.login("merch").await;
    let first = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-R1", "style_no": "ST-R", "factory": "F1",
                   "customer": "Northwind Retail"}),
        )
        .await;
    for (id, kind, text) in [
        ("p1", "colour_box", "4-colour box, matt"),
        ("p2", "shipping_mark", "NORTHWIND / PO / C/NO."),
    ] {
        s.op(
            &merch,
            &first,
            json!({"op": "add_packaging", "id": id, "item": {"kind": kind, "description": text}}),
        )
        .await;
    }
    s.op(
        &merch,
        &first,
        json!({"op": "send_packaging", "id": "p1", "sent_ms": now_ms()}),
    )
    .await;
    s.op(
        &merch,
        &first,
        json!({"op": "confirm_packaging", "id": "p1", "confirmed_ms": now_ms()}),
    )
    .await;
    let repeat = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-R2", "style_no": "ST-R", "factory": "F1",
                   "customer": "Northwind Retail"}),
        )
        .await;
    let url = format!("/api/v1/records/{repeat}/copy-packaging");
    let copied = s
        .post(&url, &merch, json!({"from_order_no": "SO-R1"}))
        .await;
    assert_eq!(copied.status, StatusCode::OK, "{}", copied.error());
    let body = copied.json();
    assert_eq!(body["copied"], 2);
    assert_eq!(body["skipped"], 0);
    assert_eq!(body["from"], first.as_str());
    let packaging = &body["record"]["view"]["record"]["packaging"];
    assert_eq!(packaging["p2"]["kind"], "shipping_mark");
    assert_eq!(packaging["p2"]["description"], "NORTHWIND / PO / C/NO.");
    assert_eq!(packaging["p1"]["copied_from"], "SO-R1");
    assert_eq!(
        packaging["p1"]["confirmed_ms"], 0,
        "confirmed again by the customer"
    );
    assert_eq!(
        body["record"]["view"]["derived"]["packaging"]["p1"], "draft",
        "{}",
        body["record"]["view"]["derived"]
    );

    // Again: nothing new, nothing lost.
    let again = s
        .post(&url, &merch, json!({"from_order_no": "SO-R1"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.error());
    assert_eq!(again.json()["copied"], 0);
    assert_eq!(again.json()["skipped"], 2);

    // Refusals.
    let empty_first = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-R0", "style_no": "ST-R"}),
        )
        .await;
    let nothing = s
        .post(&url, &merch, json!({"from_order_no": "SO-R0"}))
        .await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert_eq!(nothing.json()["code"], "nothing_to_copy");
    let none = s
        .post(&url, &merch, json!({"from_order_no": "SO-NOPE"}))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.json()["code"], "order_not_found");
    let itself = s
        .post(&url, &merch, json!({"from_order_no": "SO-R2"}))
        .await;
    assert_eq!(itself.json()["code"], "order_not_found", "not from itself");
    let blank = s.post(&url, &merch, json!({"from_order_no": " "})).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    let onto_po = s.deposit_po(&merch, &empty_first, "SO-R0").await.0;
    let wrong_type = s
        .post(
            &format!("/api/v1/records/{onto_po}/copy-packaging"),
            &merch,
            json!({"from_order_no": "SO-R1"}),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    let qc1 = s.login("qc1").await;
    let field = s.post(&url, &qc1, json!({"from_order_no": "SO-R1"})).await;
    assert!(field.status.is_client_error());
}

/// The dashboard derives from stored records through a cache per document version: an
/// edit made after a dashboard call shows in the next one (no stale answer).
#[tokio::test]
async fn the_dashboard_reflects_an_edit_after_a_previous_call() {
    let s = server().await;
    let merch = s.login("merch").await;
    let qc1 = s.login("qc1").await;
    let order = s.late_order(&merch, "SO-D", 30).await;
    let (po, commercial) = s.deposit_po(&merch, &order, "SO-D").await;
    let inspection = s.inspection(&merch, "Inline SO-D", "SO-D").await;

    let before = s.dashboard(&merch).await;
    assert_eq!(ids_in(&before["blocked_pos"]), vec![po.clone()]);
    assert_eq!(before["defect_pareto"], json!([]));
    let overdue_before = before["overdue_milestones"].as_array().unwrap().len();
    assert!(overdue_before >= 1, "{}", before["overdue_milestones"]);
    // The same answer twice (the second from the cache).
    let again = s.dashboard(&merch).await;
    assert_eq!(again["blocked_pos"], before["blocked_pos"]);
    assert_eq!(again["at_risk"], before["at_risk"]);

    // Edits after the call: the deposit confirmed (by finance), a defect recorded, a
    // milestone done.
    let finance = s.login("finance").await;
    s.op(
        &finance,
        &commercial,
        json!({"op": "confirm_deposit", "amount": {"minor": 100_000, "currency": "USD"},
               "received_ms": now_ms()}),
    )
    .await;
    s.op(
        &qc1,
        &inspection,
        json!({"op": "add_defect", "id": "d1", "class": "major", "description": "open seam",
               "qty": 3}),
    )
    .await;
    s.op(
        &merch,
        &order,
        json!({"op": "complete_milestone", "id": "m1", "actual_ms": now_ms(),
               "late_code": "customer_late", "late_reason": "comments late"}),
    )
    .await;

    let after = s.dashboard(&merch).await;
    assert_eq!(after["blocked_pos"], json!([]), "the gate opened");
    assert_eq!(
        after["defect_pareto"][0]["defects"][0]["description"], "open seam",
        "{}",
        after["defect_pareto"]
    );
    assert_eq!(
        after["overdue_milestones"].as_array().unwrap().len(),
        overdue_before - 1,
        "{}",
        after["overdue_milestones"]
    );
}

/// `web/src/i18n/codes.json` (the codes the web app labels) is the server's list from the
/// core (`gendan_server::labels`). `GENDAN_WRITE_CODES=1` rewrites it.
#[test]
fn the_web_code_list_is_the_cores() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/i18n/codes.json");
    let expected =
        serde_json::to_string_pretty(&gendan_server::labels::catalogue()).unwrap() + "\n";
    if std::env::var_os("GENDAN_WRITE_CODES").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "{} differs from the core's codes; run GENDAN_WRITE_CODES=1 cargo test -p gendan-server --test office the_web_code_list",
        path.display()
    );
}

/// A special approval opened from the shipped chain by its name alone (its kind, purpose and
/// the general manager's step filled in by the server) waits in the general manager's
/// inbox; once approved, the PO's payment gate opens by special approval and the PO
/// releases. An unknown chain is refused.
#[tokio::test]
async fn a_special_approval_from_the_shipped_chain_opens_the_gate() {
    let s = server().await;
    let merch = s.login("merch").await;
    let boss = s.login("boss").await;
    let order = s
        .create(
            &merch,
            json!({"type": "order", "order_no": "SO-S", "style_no": "ST-1", "factory": "F1"}),
        )
        .await;
    let (po, _) = s.deposit_po(&merch, &order, "SO-S").await;
    let before = s.get("/api/v1/orders/SO-S/timeline", &merch).await.json();
    assert_eq!(before["gates"][0]["gate"]["state"], "blocked");

    let unknown = s
        .post(
            "/api/v1/records",
            &merch,
            json!({"type": "approval", "chain": "nope", "subject": "x", "order_no": "SO-S"}),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown.error()
    );

    let request = s
        .create(
            &merch,
            json!({"type": "approval", "chain": "special_po_release",
                   "subject": "Release PO-SO-S before the deposit", "order_no": "SO-S",
                   "record_id": order, "reason": "Factory slot on Monday"}),
        )
        .await;
    let read = s
        .get(&format!("/api/v1/records/{request}"), &merch)
        .await
        .json();
    assert_eq!(read["view"]["record"]["kind"], "special");
    assert_eq!(read["view"]["record"]["purpose"], "po_release");
    assert_eq!(
        read["view"]["record"]["steps"]["s1"]["role"],
        "general_manager"
    );

    let inbox = s.dashboard(&boss).await;
    assert_eq!(
        ids_in(&inbox["my_approvals"]),
        vec![request.clone()],
        "{inbox}"
    );
    assert_eq!(s.dashboard(&merch).await["my_approvals"], json!([]));
    let decided = s
        .post(
            &format!("/api/v1/records/{request}/decide"),
            &boss,
            json!({"step": "s1", "approved": true, "comment": "OK, once"}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.error());

    let after = s.get("/api/v1/orders/SO-S/timeline", &merch).await.json();
    assert_eq!(
        after["gates"][0]["gate"]["state"], "open_by_special_approval",
        "{after}"
    );
    assert_eq!(
        after["gates"][0]["gate"]["reason"],
        "Factory slot on Monday"
    );
    // The PO is signed by sales and the GM (each by the job title the slot needs), then
    // released past the deposit.
    let sales = s.login("sales1").await;
    for (who, role) in [(&sales, "sales"), (&boss, "general_manager")] {
        s.op(who, &po, json!({"op": "sign", "role": role, "name": role}))
            .await;
    }
    let dash = s.dashboard(&merch).await;
    assert_eq!(dash["blocked_pos"], json!([]));
}
