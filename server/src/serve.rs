//! `gendan serve`: the HTTP server — WebSocket sync at `/sync`, REST under `/api/v1`,
//! `/healthz`, `/metrics`, and the PWA's static files at `/` — with TLS when given a
//! certificate, and a graceful shutdown on SIGTERM or Ctrl-C (stop accepting, write what is
//! pending, close).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gendan_core::common::Problem;
use gendan_core::protocol::hub::{HubConfig, HubLimits};
use gendan_core::protocol::{PeerId, StorageId};
use gendan_core::record::RecordError;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::accounts::{AuthError, LoginLimiter, Session, TOKEN_TTL_MS_DEFAULT, User};
use crate::blobs::BlobStore;
use crate::data_dir::DataDir;
use crate::persist::ServerStorage;
use crate::sync::{self, SyncConfig, SyncHandle};
use crate::ws::{self, RateLimiter, WsLimits};

/// Live WebSocket connections the server accepts at once, by default.
pub const CONNECTIONS_MAX_DEFAULT: usize = 2_000;
/// The largest REST request body, in bytes (blob uploads have their own limit).
pub const JSON_BODY_BYTES_MAX: usize = 1024 * 1024;

/// The arguments of `gendan serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The data folder (created on first start).
    #[arg(long, default_value = crate::data_dir::DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// On first start (no users yet), load the demo users and records.
    #[arg(long)]
    pub demo: bool,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The built PWA to serve at `/`.
    #[arg(long, default_value = "web/dist")]
    pub web: PathBuf,
    /// Live WebSocket connections accepted at once.
    #[arg(long, default_value_t = CONNECTIONS_MAX_DEFAULT)]
    pub connections_max: usize,
    /// Largest sync frame accepted, in bytes.
    #[arg(long, default_value_t = gendan_core::protocol::hub::FRAME_BYTES_MAX_DEFAULT)]
    pub frame_bytes_max: usize,
    /// Documents one connection may sync.
    #[arg(long, default_value_t = gendan_core::protocol::hub::DOCS_PER_CONNECTION_MAX_DEFAULT)]
    pub docs_per_connection_max: usize,
    /// Frames queued for one slow connection before it is cut off.
    #[arg(long, default_value_t = sync::PENDING_OUTBOUND_MAX_DEFAULT)]
    pub pending_outbound_max: usize,
    /// Sync frames one user may send per second (sustained).
    #[arg(long, default_value_t = ws::FRAMES_PER_SECOND_DEFAULT)]
    pub frames_per_second: u32,
    /// Sync frames one user may send in a burst.
    #[arg(long, default_value_t = ws::FRAMES_BURST_DEFAULT)]
    pub frames_burst: u32,
    /// How long a login session lasts, in hours.
    #[arg(long, default_value_t = TOKEN_TTL_MS_DEFAULT / 3_600_000)]
    pub session_hours: u64,
}

/// Everything a request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Storage tables.
    pub storage: ServerStorage,
    /// Photo and file blobs.
    pub blobs: Arc<BlobStore>,
    /// The sync service.
    pub sync: SyncHandle,
    /// Failed-login limiter.
    pub logins: Arc<LoginLimiter>,
    /// Per-user sync frame rate.
    pub rate: Arc<RateLimiter>,
    /// One permit per live WebSocket.
    pub connections: Arc<Semaphore>,
    /// WebSocket limits.
    pub ws_limits: WsLimits,
    /// Session length.
    pub session_ttl_ms: u64,
    /// When the server started.
    pub started: Instant,
}

/// The one error type of the HTTP API: a status, a stable machine `code` with the values
/// its message names (`params`), the message in English for API users, and for a refusal
/// of the core the problems it found (each with its own code) — never internals (those are
/// logged). The body is `{"error", "code", "params", "problems"}`; interfaces translate
/// `code` and the problems' codes ([`codes`] lists the REST-only ones).
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// For the client, in English.
    pub message: String,
    /// A stable machine code: one of [`codes`], or the core's `RecordError::code`.
    pub code: String,
    /// The values `message` names, by name, for `code`'s message in another language.
    pub params: BTreeMap<String, String>,
    /// The core's problems, when it refused input (each with a code and params).
    pub problems: Vec<Problem>,
}

/// The stable codes of REST errors that do not come from the core (the core's own are
/// `RecordError::code` and the problems' codes). The web app translates each of them.
pub mod codes {
    /// 400: the request is malformed or a value in it is invalid.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// 401: no session, or it expired.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 401: wrong username or password.
    pub const LOGIN_FAILED: &str = "login_failed";
    /// 403: the caller's role may not do this.
    pub const FORBIDDEN: &str = "forbidden";
    /// 403: the caller may read the record but not change it.
    pub const READ_ONLY: &str = "read_only";
    /// 403: the write check refused the change (`problems` says why).
    pub const CHANGE_REFUSED: &str = "change_refused";
    /// 403: the caller may not decide this approval step (`params`: step, role, titles).
    pub const NOT_ENTITLED: &str = "not_entitled";
    /// 404: no such record, user, blob or endpoint (or outside the caller's scope).
    pub const NOT_FOUND: &str = "not_found";
    /// 404: no record has this order number (`params`: order_no).
    pub const ORDER_NOT_FOUND: &str = "order_not_found";
    /// 409: a conflict with what is stored.
    pub const CONFLICT: &str = "conflict";
    /// 409: the order has no commercial side, so its payment gate is unknown.
    pub const GATE_UNKNOWN: &str = "payment_gate_unknown";
    /// 409: the PO's payment gate is closed (`params`: term, reason).
    pub const GATE_CLOSED: &str = "payment_gate_closed";
    /// 400: the user's role cannot work on records of this type (`params`: user, role, type).
    pub const ASSIGNEE_CANNOT_WORK: &str = "assignee_cannot_work";
    /// 400: there is no such user (`params`: user).
    pub const NO_SUCH_USER: &str = "no_such_user";
    /// 400: a copy from a previous order found nothing to copy (`params`: order_no).
    pub const NOTHING_TO_COPY: &str = "nothing_to_copy";
    /// 400: the uploaded workbook could not be read as the order tracking sheet.
    pub const IMPORT_UNREADABLE: &str = "import_unreadable";
    /// 400: no workbook was sent.
    pub const IMPORT_EMPTY: &str = "import_empty";
    /// 413: the body is over a size limit.
    pub const TOO_LARGE: &str = "payload_too_large";
    /// 429: too many attempts; wait.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 500: the server failed; its log has details.
    pub const INTERNAL: &str = "internal";

    /// Every code above (the web app's catalogues have a message for each).
    pub const ALL: &[&str] = &[
        INVALID_REQUEST,
        UNAUTHORIZED,
        LOGIN_FAILED,
        FORBIDDEN,
        READ_ONLY,
        CHANGE_REFUSED,
        NOT_ENTITLED,
        NOT_FOUND,
        ORDER_NOT_FOUND,
        CONFLICT,
        GATE_UNKNOWN,
        GATE_CLOSED,
        ASSIGNEE_CANNOT_WORK,
        NO_SUCH_USER,
        NOTHING_TO_COPY,
        IMPORT_UNREADABLE,
        IMPORT_EMPTY,
        TOO_LARGE,
        RATE_LIMITED,
        INTERNAL,
    ];

    /// The code of an error that says no more than its status.
    pub fn of_status(status: axum::http::StatusCode) -> &'static str {
        match status.as_u16() {
            401 => UNAUTHORIZED,
            403 => FORBIDDEN,
            404 => NOT_FOUND,
            409 => CONFLICT,
            413 => TOO_LARGE,
            429 => RATE_LIMITED,
            500..=599 => INTERNAL,
            _ => INVALID_REQUEST,
        }
    }
}

impl ApiError {
    /// A 4xx (or other) error with a message for the client; its code follows the status
    /// until [`ApiError::with_code`] names a more precise one.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: codes::of_status(status).to_string(),
            params: BTreeMap::new(),
            problems: Vec::new(),
        }
    }
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    /// 500, with the real cause logged and a generic message returned.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has details",
        )
    }
    /// 400 for input the core refused: the core's code (`invalid`, `not_allowed`, …) and,
    /// for invalid input, every problem it found.
    pub fn from_core(e: &RecordError) -> Self {
        let mut err = Self::bad_request(e.to_string()).with_code(e.code());
        if let RecordError::Invalid(problems) = e {
            err.problems = problems.clone();
        }
        err
    }
    /// The same error with a more precise stable code.
    #[must_use]
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }
    /// The same error with one more named value of its message.
    #[must_use]
    pub fn with_param(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }
    /// The same error with the problems that explain it.
    #[must_use]
    pub fn with_problems(mut self, problems: Vec<Problem>) -> Self {
        self.problems = problems;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.message,
            "code": self.code,
            "params": self.params,
            "problems": self.problems,
        });
        (self.status, Json(body)).into_response()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The bearer token of a request: `Authorization: Bearer …`, or `?token=` (browsers cannot
/// set headers on a WebSocket).
pub fn bearer(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .or_else(|| query_token.map(str::to_string))
}

/// The session of a request, or 401.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Session, ApiError> {
    let token = bearer(headers, query_token)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first: no session token"))?;
    state
        .storage
        .accounts
        .authenticate(&token, now_ms())
        .map_err(|e| match e {
            AuthError::Failed(inner) => ApiError::internal(inner),
            other => ApiError::new(StatusCode::UNAUTHORIZED, other.to_string()),
        })
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginBody {
    username: String,
    password: String,
    #[serde(default)]
    device: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!("expected {{\"username\", \"password\"}}: {e}"))
    })?;
    let now = now_ms();
    // Argon2 costs tens of milliseconds of CPU: keep it off the async workers.
    let (logins, accounts, ip) = (
        state.logins.clone(),
        state.storage.accounts.clone(),
        addr.ip(),
    );
    let (username, password) = (body.username.clone(), body.password.clone());
    let verified =
        tokio::task::spawn_blocking(move || logins.login(&accounts, &username, &password, ip, now))
            .await
            .map_err(ApiError::internal)?;
    let user: User = verified.map_err(|e| match e {
        AuthError::Failed(inner) => ApiError::internal(inner),
        AuthError::RateLimited { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
        }
        AuthError::InvalidCredentials => {
            ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()).with_code(codes::LOGIN_FAILED)
        }
        other => ApiError::new(StatusCode::UNAUTHORIZED, other.to_string()),
    })?;
    let token = state
        .storage
        .accounts
        .issue_token(
            &user.username,
            body.device.as_deref(),
            now,
            state.session_ttl_ms,
        )
        .map_err(ApiError::internal)?;
    let index_id = if user.role.is_office() {
        None
    } else {
        Some(
            state
                .sync
                .ensure_index(user.principal())
                .await
                .map_err(ApiError::internal)?
                .to_string(),
        )
    };
    Ok(Json(json!({
        "token": token,
        "expires_ms": now + state.session_ttl_ms,
        "user": user,
        "index_id": index_id,
    })))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers, None)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "no session token"))?;
    state
        .storage
        .accounts
        .revoke_token(&token)
        .map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = authenticate(&state, &headers, None)?;
    let index_id = if session.user.role.is_office() {
        None
    } else {
        Some(
            state
                .sync
                .ensure_index(session.user.principal())
                .await
                .map_err(ApiError::internal)?
                .to_string(),
        )
    };
    Ok(Json(
        json!({ "user": session.user, "expires_ms": session.expires_ms, "index_id": index_id }),
    ))
}

async fn sync_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let session = authenticate(&state, &headers, q.token.as_deref())?;
    let permit = state.connections.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server has as many connections as it accepts; try again shortly",
        )
    })?;
    Ok(ws::upgrade(
        ws,
        session.user.principal(),
        state.sync.clone(),
        state.ws_limits.clone(),
        state.rate.clone(),
        permit,
    ))
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    let m = &state.sync.metrics;
    Json(json!({
        "status": "ok",
        "uptime_s": state.started.elapsed().as_secs(),
        "connections": m.connections.load(Ordering::Relaxed),
        "documents_in_memory": m.docs_loaded.load(Ordering::Relaxed),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.sync.metrics;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "gendan_connections",
        "gauge",
        "Live WebSocket sync connections.",
        m.connections.load(Ordering::Relaxed),
    );
    metric(
        "gendan_documents_in_memory",
        "gauge",
        "Documents held in memory.",
        m.docs_loaded.load(Ordering::Relaxed),
    );
    metric(
        "gendan_frames_in_total",
        "counter",
        "Sync frames received.",
        m.frames_in.load(Ordering::Relaxed),
    );
    metric(
        "gendan_frames_out_total",
        "counter",
        "Sync frames sent.",
        m.frames_out.load(Ordering::Relaxed),
    );
    metric(
        "gendan_bytes_in_total",
        "counter",
        "Sync bytes received.",
        m.bytes_in.load(Ordering::Relaxed),
    );
    metric(
        "gendan_bytes_out_total",
        "counter",
        "Sync bytes sent.",
        m.bytes_out.load(Ordering::Relaxed),
    );
    metric(
        "gendan_changes_accepted_total",
        "counter",
        "Change sets merged.",
        m.accepted.load(Ordering::Relaxed),
    );
    metric(
        "gendan_changes_rejected_total",
        "counter",
        "Change sets refused and quarantined.",
        m.rejected.load(Ordering::Relaxed),
    );
    metric(
        "gendan_commits_total",
        "counter",
        "Group commits (flushes) of the sync service.",
        m.commits.load(Ordering::Relaxed),
    );
    metric(
        "gendan_slow_readers_cut_total",
        "counter",
        "Connections cut off for reading too slowly.",
        m.slow_readers_cut.load(Ordering::Relaxed),
    );
    metric(
        "gendan_uptime_seconds",
        "gauge",
        "Seconds since start.",
        state.started.elapsed().as_secs(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// The answer for a path under `/api/v1` that is no endpoint.
async fn api_not_found() -> ApiError {
    ApiError::not_found("no such API endpoint (see /api/v1/openapi.json)")
}

/// The whole HTTP application (tested with `oneshot`, served by [`run`]).
pub fn app(state: AppState, web_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .merge(crate::api::routes())
        // An unknown API path answers JSON 404, never the PWA's index.html below.
        .fallback(api_not_found);
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/sync", get(sync_socket))
        .nest("/api/v1", api)
        // The API's bare root (which `nest` leaves to the outer fallback) is no page either.
        .route("/api/v1/", axum::routing::any(api_not_found))
        .layer(axum::extract::DefaultBodyLimit::max(JSON_BODY_BYTES_MAX));
    if let Some(dir) = web_dir {
        router = router.fallback_service(crate::static_files::service(dir));
    }
    router.with_state(state)
}

/// Opens the data folder, refusing a damaged store with a clear message.
pub fn open_storage(data: &DataDir) -> anyhow::Result<(ServerStorage, Arc<BlobStore>)> {
    let open = || {
        data.open_store()
            .with_context(|| format!("cannot open the data folder {}", data.root().display()))
    };
    // The whole-store check reads every key through sled's page cache, which sled never
    // shrinks: it runs on a handle of its own, closed before the server's is opened, so
    // the server starts with an empty cache (BENCHMARKS.md, memory at rest).
    let report = {
        let checking = open()?;
        crate::store::Store::verify(checking.as_ref()).with_context(|| {
            format!("the store in {} is damaged; restore it from a backup (`gendan restore --from FILE --data NEW_FOLDER`)", data.root().display())
        })?
    };
    let store = open()?;
    tracing::info!(
        keys = report.keys,
        bytes = report.value_bytes,
        "store verified"
    );
    let store: Arc<dyn crate::store::Store> = store;
    let blobs = data
        .open_blobs(store.clone())
        .context("cannot open the blob folder")?;
    Ok((ServerStorage::new(store), Arc::new(blobs)))
}

/// Runs `gendan serve` until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&args.data);
    let (storage, blobs) = open_storage(&data)?;
    let storage_id = storage_id(&storage)?;
    let hub = HubConfig {
        peer_id: PeerId::new(format!("gendan-{storage_id}")),
        storage_id: StorageId::new(storage_id),
        limits: HubLimits {
            frame_bytes_max: args.frame_bytes_max,
            docs_per_connection_max: args.docs_per_connection_max,
            ..HubLimits::default()
        },
    };
    let sync_config = SyncConfig {
        hub,
        pending_outbound_max: args.pending_outbound_max,
        batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms: sync::IDLE_UNLOAD_MS_DEFAULT,
    };
    let sync = sync::spawn(sync_config, Arc::new(storage.clone()));
    if args.demo {
        crate::demo::seed_if_empty(&storage, &sync)
            .await
            .context("loading the demo data failed")?;
    }
    let state = AppState {
        storage,
        blobs,
        sync: sync.clone(),
        logins: Arc::new(LoginLimiter::new()),
        rate: Arc::new(RateLimiter::default()),
        connections: Arc::new(Semaphore::new(args.connections_max)),
        ws_limits: WsLimits {
            frame_bytes_max: args.frame_bytes_max,
            frames_per_second: args.frames_per_second,
            frames_burst: args.frames_burst,
            idle_timeout: Duration::from_secs(120),
        },
        session_ttl_ms: args.session_hours.saturating_mul(3_600_000),
        started: Instant::now(),
    };
    let web = args.web.is_dir().then(|| args.web.clone());
    if web.is_none() {
        tracing::warn!(dir = %args.web.display(), "no built PWA found; serving the API only (run `make build`)");
    }
    let app = app(state, web).into_make_service_with_connect_info::<SocketAddr>();
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let handle = axum_server::Handle::new();
    let shutdown_handle = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections; writing what is pending");
        shutdown_handle.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    // Bind first, so the line below shows the real address (a port of 0 becomes the port
    // the system chose) and is printed only once the server can be reached.
    let listener = std::net::TcpListener::bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot read the TLS certificate {} or key {}",
                        cert.display(),
                        key.display()
                    )
                })?,
        ),
        _ => None,
    };
    // Printed (not only logged) so `make run` shows where to go.
    #[allow(
        clippy::print_stdout,
        reason = "the one line a person starting the server needs"
    )]
    {
        println!("Gendan is listening on {scheme}://{bound}");
    }
    match tls {
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)
                .context("cannot listen with TLS")?
                .handle(handle)
                .serve(app)
                .await
                .context("the HTTPS server failed")?;
        }
        None => {
            axum_server::from_tcp(listener)
                .with_context(|| format!("cannot listen on {bound}"))?
                .handle(handle)
                .serve(app)
                .await
                .context("the HTTP server failed")?;
        }
    }
    sync.shutdown().await;
    tracing::info!("stopped; everything acknowledged is on disk");
    Ok(())
}

fn storage_id(storage: &ServerStorage) -> anyhow::Result<String> {
    let key = b"server/storage-id";
    if let Some(v) = storage.store.get(key)? {
        return String::from_utf8(v).context("the stored storage id is damaged");
    }
    let b = sync::random_bytes16();
    let id = format!(
        "{}-{}-{}-{}-{}",
        hex::encode(&b[0..4]),
        hex::encode(&b[4..6]),
        hex::encode(&b[6..8]),
        hex::encode(&b[8..10]),
        hex::encode(&b[10..16])
    );
    storage.store.put(key, id.as_bytes())?;
    storage.store.flush()?;
    Ok(id)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
