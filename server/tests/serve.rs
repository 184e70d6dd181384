//! The server's limits over real sockets — connections, slow readers, per-user frame rate —
//! plus HTTPS with a self-signed certificate and a graceful shutdown that keeps every
//! acknowledged write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gendan_core::access::Role;
use gendan_core::protocol::hub::{HubConfig, HubLimits};
use gendan_core::protocol::{
    DocumentId, Message, PeerId, PeerMetadata, SessionId, StorageId, encode,
};
use gendan_server::accounts::{LoginLimiter, NewUser};
use gendan_server::blobs::BlobStore;
use gendan_server::persist::ServerStorage;
use gendan_server::serve::{AppState, app};
use gendan_server::store::{MemoryStore, Store};
use gendan_server::sync::{self, SyncConfig};
use gendan_server::ws::{RateLimiter, WsLimits};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Limits {
    connections_max: usize,
    pending_outbound_max: usize,
    frames_per_second: u32,
    frames_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_max: 100,
            pending_outbound_max: 1024,
            frames_per_second: 10_000,
            frames_burst: 100_000,
        }
    }
}

struct Server {
    addr: SocketAddr,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn start(limits: Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let storage = ServerStorage::new(store.clone());
    for (u, role) in [
        ("qc1", Role::Qc),
        ("qc2", Role::Qc),
        ("merch", Role::Merchandiser),
    ] {
        storage
            .accounts
            .add_user(NewUser {
                username: u.into(),
                password: "password-1".into(),
                role,
                display_name: None,
                factory: None,
                warehouse: None,
                titles: Vec::new(),
            })
            .unwrap();
    }
    let blobs = Arc::new(BlobStore::open(dir.path(), store).unwrap());
    let config = SyncConfig {
        hub: HubConfig {
            peer_id: PeerId::new("server"),
            storage_id: StorageId::new("test"),
            limits: HubLimits::default(),
        },
        pending_outbound_max: limits.pending_outbound_max,
        batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms: sync::IDLE_UNLOAD_MS_DEFAULT,
    };
    let handle = sync::spawn(config, Arc::new(storage.clone()));
    let state = AppState {
        storage,
        blobs,
        sync: handle,
        logins: Arc::new(LoginLimiter::new()),
        rate: Arc::new(RateLimiter::default()),
        connections: Arc::new(Semaphore::new(limits.connections_max)),
        ws_limits: WsLimits {
            frame_bytes_max: 1 << 20,
            frames_per_second: limits.frames_per_second,
            frames_burst: limits.frames_burst,
            idle_timeout: Duration::from_secs(60),
        },
        session_ttl_ms: 3_600_000,
        started: Instant::now(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app(state.clone(), None).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    Server {
        addr,
        state,
        _dir: dir,
    }
}

fn token(s: &Server, user: &str) -> String {
    s.state
        .storage
        .accounts
        .issue_token(user, None, now_ms(), 3_600_000)
        .unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(s: &Server, token: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!("ws://{}/sync?token={token}", s.addr);
    let req = url.into_client_request().unwrap();
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

async fn joined(s: &Server, user: &str, peer: &str) -> Ws {
    let mut ws = dial(s, &token(s, user)).await.unwrap();
    let join = Message::Join {
        sender_id: PeerId::new(peer),
        peer_metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
        }),
        supported_protocol_versions: vec!["1".into()],
    };
    ws.send(WsMessage::Binary(encode(&join).into()))
        .await
        .unwrap();
    match ws.next().await {
        Some(Ok(WsMessage::Binary(b))) => assert!(matches!(
            gendan_core::protocol::decode(&b).unwrap(),
            Message::Peer { .. }
        )),
        other => panic!("expected peer, got {other:?}"),
    }
    ws
}

/// Waits until the socket is closed by the server; true if it was within `limit`.
async fn closed_within(ws: &mut Ws, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_with_503() {
    let s = start(Limits {
        connections_max: 2,
        ..Limits::default()
    })
    .await;
    let t = token(&s, "qc1");
    let _a = dial(&s, &t).await.unwrap();
    let _b = dial(&s, &t).await.unwrap();
    match dial(&s, &t).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    drop(_a);
    // The permit comes back once the first connection is gone.
    let mut ok = false;
    for _ in 0..50 {
        if dial(&s, &t).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "a freed connection slot is reusable");
}

#[tokio::test]
async fn wrong_and_missing_tokens_get_401() {
    let s = start(Limits::default()).await;
    for t in ["nonsense", ""] {
        match dial(&s, t).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_user_over_the_frame_rate_is_disconnected() {
    let s = start(Limits {
        frames_per_second: 1,
        frames_burst: 5,
        ..Limits::default()
    })
    .await;
    let mut ws = joined(&s, "qc1", "dev-1").await; // the join took one token
    let unknown = Message::Unknown {
        type_name: "noise".into(),
    };
    for _ in 0..4 {
        ws.send(WsMessage::Binary(encode(&unknown).into()))
            .await
            .unwrap();
    }
    assert!(
        !closed_within(&mut ws, Duration::from_millis(300)).await,
        "within the burst: still open"
    );
    for _ in 0..3 {
        let _ = ws.send(WsMessage::Binary(encode(&unknown).into())).await;
    }
    assert!(
        closed_within(&mut ws, Duration::from_secs(5)).await,
        "over the limit: closed"
    );
    // Another user is not affected.
    let _other = joined(&s, "qc2", "dev-2").await;
}

#[tokio::test]
async fn a_slow_reader_is_cut_off_not_buffered() {
    let s = start(Limits {
        pending_outbound_max: 8,
        ..Limits::default()
    })
    .await;
    // A record both devices may open, so ephemeral messages flow from one to the other.
    let new = gendan_core::inspection::NewInspection {
        lot_size: 100,
        assignees: vec!["qc1".into()],
        ..Default::default()
    };
    let mut rec = gendan_core::inspection::create(
        &new,
        gendan_core::record::actor_from_bytes(&[1; 16]),
        &gendan_core::common::EditContext::new("merch", 0),
    )
    .unwrap();
    let doc = DocumentId::from_bytes([5; 16]);
    s.state.sync.create(doc, rec.save(), "merch").await.unwrap();
    let mut fast = joined(&s, "qc1", "fast").await;
    let mut slow = joined(&s, "qc1", "slow").await;
    for (ws, peer) in [(&mut fast, "fast"), (&mut slow, "slow")] {
        let mut empty = automerge::AutoCommit::new();
        let mut st = automerge::sync::State::new();
        let data = automerge::sync::SyncDoc::generate_sync_message(&empty.sync(), &mut st)
            .unwrap()
            .encode();
        let req = Message::Request {
            sender_id: PeerId::new(peer),
            target_id: PeerId::new("server"),
            document_id: doc,
            data,
        };
        ws.send(WsMessage::Binary(encode(&req).into()))
            .await
            .unwrap();
        let _ = ws.next().await; // the document
    }
    // `slow` stops reading; `fast` sends large presence messages that go to `slow`.
    let payload = vec![0x42u8; 60_000];
    let before = s
        .state
        .sync
        .metrics
        .slow_readers_cut
        .load(Ordering::Relaxed);
    let mut cut = false;
    for count in 1..=2_000u64 {
        let eph = Message::Ephemeral {
            sender_id: PeerId::new("fast"),
            target_id: PeerId::new("server"),
            document_id: doc,
            data: payload.clone(),
            count,
            session_id: SessionId::new("s1"),
        };
        if fast
            .send(WsMessage::Binary(encode(&eph).into()))
            .await
            .is_err()
        {
            break;
        }
        if count % 50 == 0
            && s.state
                .sync
                .metrics
                .slow_readers_cut
                .load(Ordering::Relaxed)
                > before
        {
            cut = true;
            break;
        }
    }
    for _ in 0..100 {
        if cut
            || s.state
                .sync
                .metrics
                .slow_readers_cut
                .load(Ordering::Relaxed)
                > before
        {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut, "the slow reader was never cut off");
    drop(slow);
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .arg("--tls-cert")
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut answer = String::new();
    for _ in 0..100 {
        if let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector
                .connect(name, tcp)
                .await
                .expect("TLS handshake with the server's certificate");
            tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let _ = tls.read_to_string(&mut answer).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
}

#[test]
fn sigterm_shuts_down_gracefully_and_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.path().join("data");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gendan"))
            .args([
                "serve",
                "--demo",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data",
            ])
            .arg(&data)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = spawn();
    wait_healthy(port);
    let before = metric(port, "gendan_commits_total");
    assert!(before > 0, "the demo data was committed");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    // Restart on the same data: the store opens, the demo users can log in.
    let mut child = spawn();
    wait_healthy(port);
    let login = http(
        port,
        "POST",
        "/api/v1/login",
        r#"{"username":"qc1","password":"gendan-demo"}"#,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(login.contains("\"token\""), "{login}");
}

fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn wait_healthy(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", "").contains("\"ok\"")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not come up on port {port}");
}

fn metric(port: u16, name: &str) -> u64 {
    let text = http(port, "GET", "/metrics", "");
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{name} "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The "listening" line is printed once the port is bound, with the real address: with
/// `--bind 127.0.0.1:0` it names the port the system chose, and a port already taken is an
/// error with no such line.
#[test]
fn the_listening_line_names_the_bound_port_and_a_taken_port_is_an_error() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert!(
        line.starts_with("Gendan is listening on http://127.0.0.1:"),
        "{line}"
    );
    assert_ne!(port, 0, "{line}");
    // Reachable at once: the line comes after the bind.
    assert!(http(port, "GET", "/healthz", "").contains("\"ok\""));

    // The same port again: refused, with the address in the message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gendan"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
