//! Memory at rest: `gendan serve` holding many stored records, after a device has loaded
//! some and everything has gone idle.
//!
//! Seeding 100,000 records over the network would take most of the time budget, so the
//! store is filled in a child process (`gendan-load fill`) through the server's own sync
//! service — the same `SyncHandle::create` path `POST /api/v1/records` takes (write check
//! aside: the records are made by the office user, which may create anything), with the
//! same group commit, projections and index upkeep. Then `gendan serve` is started on that
//! store, one new office device pulls a sample of the records (loading them into the hub),
//! disconnects, and the server is left idle until it unloads them (30 s); its RSS is read
//! then, counted page by page ([`target::rss_exact`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use futures_util::StreamExt;
use gendan_core::access::Role;
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, NewInspection};
use gendan_core::protocol::hub::{HubConfig, HubLimits};
use gendan_core::protocol::{DocumentId, PeerId, StorageId};
use gendan_core::record::actor_from_bytes;
use gendan_server::accounts::NewUser;
use gendan_server::data_dir::DataDir;
use gendan_server::sync::{self, SyncConfig};

use crate::device::{Device, Shared};
use crate::target::{self, PASSWORD, Target};
use crate::{Params, close_all, open_all, sync_all};

/// Field users the records are assigned to, round-robin.
const FILL_USERS: usize = 50;

/// How long the fill's sync service keeps a record it no longer touches.
const FILL_IDLE_UNLOAD_MS: u64 = 1_000;

/// What the memory-at-rest step saw.
#[derive(Debug)]
pub struct RestResult {
    /// Records stored.
    pub records: usize,
    /// Seconds the in-process fill took.
    pub fill_secs: f64,
    /// Bytes of the data folder after the fill.
    pub store_bytes: u64,
    /// RSS once `gendan serve` answered (page by page).
    pub rss_start: u64,
    /// Records the new device pulled, and how long it took.
    pub pulled: usize,
    /// Seconds the pull took.
    pub pull_secs: f64,
    /// Peak RSS (VmHWM) up to the idle point.
    pub rss_peak: u64,
    /// RSS after the server went idle (counted page by page: [`target::rss_exact`]).
    pub rss_idle: u64,
    /// Documents the server still held in memory then (its `/metrics`).
    pub docs_in_memory: Option<u64>,
    /// Seconds waited for idle.
    pub idle_wait_secs: f64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `gendan-load fill`: makes the users and `records` inspections in a new store at `data`,
/// and writes `ids.txt` next to it (`<doc id> <head>,<head>…` per line).
pub fn fill(data: &Path, records: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = DataDir::new(data);
    let (storage, _blobs) = gendan_server::serve::open_storage(&dir).expect("open the store");
    let add = |username: String, role: Role| {
        storage
            .accounts
            .add_user(NewUser {
                username,
                password: PASSWORD.into(),
                role,
                display_name: None,
                factory: None,
                warehouse: None,
                titles: Vec::new(),
            })
            .expect("add a user");
    };
    add("bench-admin".into(), Role::Admin);
    add("bench-office".into(), Role::Merchandiser);
    for i in 0..FILL_USERS {
        add(format!("bench-qc-{i}"), Role::Qc);
    }
    let lines = rt.block_on(async {
        let config = SyncConfig {
            hub: HubConfig {
                peer_id: PeerId::new("gendan-bench-fill"),
                storage_id: StorageId::new("bench-fill"),
                limits: HubLimits::default(),
            },
            pending_outbound_max: sync::PENDING_OUTBOUND_MAX_DEFAULT,
            batch_events_max: sync::BATCH_EVENTS_MAX_DEFAULT,
            // The fill touches each record once: keep the hub small instead of holding
            // every new record for the server's 30 s.
            idle_unload_ms: FILL_IDLE_UNLOAD_MS,
        };
        let handle = sync::spawn(config, Arc::new(storage.clone()));
        let ctx = EditContext::new("bench-office", now_ms());
        let lines: Vec<String> = futures_util::stream::iter(0..records)
            .map(|i| {
                let handle = handle.clone();
                let ctx = ctx.clone();
                async move {
                    let new = NewInspection {
                        title: format!("Stored inspection #{i}"),
                        order_no: format!("SO-{i}"),
                        po_no: format!("PO-{i}"),
                        style_no: format!("ST-{:04}", i % 10_000),
                        customer: "Bench Trading Co.".into(),
                        factory: "Bench Garment Factory".into(),
                        lot_size: 5000,
                        due_ms: now_ms(),
                        // Unassigned: an office-held backlog. (Assigned records put every
                        // creation through the owner's index upkeep, which costs O(index
                        // size) per record today: see BENCHMARKS.md.)
                        ..NewInspection::default()
                    };
                    let mut record =
                        inspection::create(&new, actor_from_bytes(&sync::random_bytes16()), &ctx)
                            .expect("a valid inspection");
                    let heads: Vec<String> =
                        record.heads().iter().map(ToString::to_string).collect();
                    let id = DocumentId::from_bytes(sync::random_bytes16());
                    handle
                        .create(id, record.save(), "bench-office")
                        .await
                        .expect("the sync service stores the record");
                    format!("{id} {}", heads.join(","))
                }
            })
            .buffer_unordered(512)
            .collect()
            .await;
        handle.shutdown().await;
        lines
    });
    storage.store.flush().expect("flush the store");
    drop(storage);
    std::fs::write(data.with_file_name("ids.txt"), lines.join("\n")).expect("write ids.txt");
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn docs_in_memory(port: u16, token: &str) -> Option<u64> {
    let r = gendan_tests::http::request(port, "GET", "/metrics", Some(token), None).ok()?;
    r.body
        .lines()
        .find(|l| l.starts_with("gendan_documents_in_memory "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Copies the files of `from` into `to` (a store made by `gendan-load fill`: folders and
/// plain files only).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The memory-at-rest step (Gendan only). `from`: a store made before by `gendan-load fill --data DIR` (with its
/// `ids.txt` beside `DIR`), copied instead of filling a new one — for repeating this part
/// alone (`--rest-from DIR`); the fill time is then not measured.
pub async fn memory_at_rest(bin: &Path, p: &Params, from: Option<&Path>) -> RestResult {
    let tmp = tempfile::Builder::new()
        .prefix("gendan-bench-rest-")
        .tempdir()
        .expect("a temporary folder");
    let data = tmp.path().join("data");
    let fill_secs = if let Some(from) = from {
        eprintln!(
            "gendan-load: memory at rest: copying the store in {} …",
            from.display()
        );
        copy_tree(from, &data).expect("copy the store");
        std::fs::copy(from.with_file_name("ids.txt"), tmp.path().join("ids.txt"))
            .expect("ids.txt beside the store");
        0.0
    } else {
        let start = Instant::now();
        eprintln!(
            "gendan-load: memory at rest: filling a store with {} records …",
            p.rest_records
        );
        let exe = std::env::current_exe().expect("the current executable");
        let status = tokio::process::Command::new(exe)
            .arg("fill")
            .arg("--data")
            .arg(&data)
            .arg("--records")
            .arg(p.rest_records.to_string())
            .status()
            .await
            .expect("run gendan-load fill");
        assert!(status.success(), "gendan-load fill failed: {status}");
        start.elapsed().as_secs_f64()
    };
    let store_bytes = dir_bytes(&data);
    let ids: Vec<(DocumentId, Vec<ChangeHash>)> =
        std::fs::read_to_string(tmp.path().join("ids.txt"))
            .expect("ids.txt")
            .lines()
            .filter_map(|l| {
                let (id, heads) = l.split_once(' ')?;
                let heads = heads.split(',').filter_map(|h| h.parse().ok()).collect();
                Some((id.parse().ok()?, heads))
            })
            .collect();

    let t = Target::gendan(bin, Some(&data), &[]);
    let pid = t.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start = target::rss_exact(pid);
    let token = t.login("bench-office");
    let shared = Arc::new(Shared::default());
    let office = Device::new(
        0,
        format!("bench-rest-{}", std::process::id()),
        "bench-office".into(),
    );
    let pulled = p.rest_pull.min(ids.len());
    let lives = open_all(vec![office], &[t.url(&token)], &shared).await;
    let start = Instant::now();
    let docs = ids[..pulled]
        .iter()
        .map(|(id, h)| (*id, Some(h.clone())))
        .collect();
    sync_all(&lives, vec![docs], p.window).await;
    let pull_secs = start.elapsed().as_secs_f64();
    close_all(lives).await;
    // Idle: the server unloads documents nobody synced for 30 s (checked every 250 ms).
    let start = Instant::now();
    let admin = t.admin_token.clone().unwrap_or_default();
    let mut docs = docs_in_memory(t.port, &admin);
    while start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        docs = docs_in_memory(t.port, &admin);
        if docs == Some(0) && start.elapsed() > Duration::from_secs(31) {
            break;
        }
    }
    let rss_idle = target::rss_exact(pid);
    let (_, rss_peak) = target::rss(pid);
    if shared.failures.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        eprintln!(
            "  memory at rest: pull failures: {:?}",
            shared.first_failure.lock().ok()
        );
    }
    t.stop();
    RestResult {
        records: ids.len(),
        fill_secs,
        store_bytes,
        rss_start,
        pulled,
        pull_secs,
        rss_peak,
        rss_idle,
        docs_in_memory: docs,
        idle_wait_secs: start.elapsed().as_secs_f64(),
    }
}
