//! The sync service: one task owns the [`Hub`] (the sans-IO protocol state machine of
//! `gendan-core`); WebSocket connections and REST handlers talk to it through channels.
//!
//! Each turn of the loop takes every event that is ready (up to [`SyncConfig::batch_events_max`]),
//! feeds them to the hub, lets it fan out, maintains the per-user index documents, then
//! writes everything the turn produced **in one batch and flushes it** (group commit), and
//! only then delivers the frames — so no device ever sees heads the disk does not hold.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use automerge::{AutoCommit, Change};
use gendan_core::access::{Access, Principal, record_access};
use gendan_core::common::{EditContext, UnixMs};
use gendan_core::protocol::DocumentId;
use gendan_core::protocol::hub::{Accepted, ConnId, Hub, HubConfig, Rejected, StoreWrite};
use gendan_core::record::{Record, read_header};
use gendan_core::summary::{self, Summary};
use tokio::sync::{mpsc, oneshot};

/// Tuning and limits of the sync service.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The hub's identity and protocol limits.
    pub hub: HubConfig,
    /// Frames waiting to be written to one connection; a reader slower than this is cut
    /// off rather than buffered without bound.
    pub pending_outbound_max: usize,
    /// Events taken into one turn (one group commit).
    pub batch_events_max: usize,
    /// Documents nobody syncs are unloaded from memory after this long.
    pub idle_unload_ms: u64,
}

/// Frames waiting for one connection, by default.
pub const PENDING_OUTBOUND_MAX_DEFAULT: usize = 1024;
/// Events per turn, by default (and four times as many may wait for the loop). A turn's
/// writes go to the store in one batch, and everything a turn touches is in memory until
/// it is written: with 512, 50 devices pushing new records made turns of hundreds of
/// records and a peak of 135–142 MB; with 64, 104 MB for the push at the same speed
/// (BENCHMARKS.md, fix 22).
pub const BATCH_EVENTS_MAX_DEFAULT: usize = 64;
/// Idle documents are unloaded after this long, by default.
pub const IDLE_UNLOAD_MS_DEFAULT: u64 = 30_000;

/// Index entries a turn writes, by index document: a record id and its summary, or `None`
/// to remove it (the record left the owner's scope).
type IndexEdits = BTreeMap<DocumentId, Vec<(String, Option<Summary>)>>;

/// A record that devices change again within this many milliseconds of its summary and
/// index entries being brought up to date gets its next update when this time is up, with
/// every change made meanwhile. With 50 devices live on one record the summary (which reads
/// the whole record) is then computed four times a second instead of on every change
/// (BENCHMARKS.md, fix 14). Office lists lag a record under live editing by at most this;
/// an office edit over REST updates them at once. The wait is marked in storage with the
/// changes, so a restart brings the record up to date (`Turn::catalog_pending`).
pub const CATALOG_COALESCE_MS: i64 = 250;

/// What the sync service needs from storage. All writes of one turn arrive in one call and
/// must be durable when it returns.
pub trait SyncStorage: Send + Sync + 'static {
    /// A document's bytes, or `None` when it does not exist.
    fn load(&self, doc: &DocumentId) -> Result<Option<Vec<u8>>, String>;
    /// Writes one turn atomically and flushes; then replaces the chunks of the documents in
    /// `turn.compactions` with their snapshots.
    fn commit(&self, turn: &Turn) -> Result<(), String>;
    /// Whether a document should be compacted once `appending` more chunks are written.
    fn needs_compaction(&self, doc: &DocumentId, appending: usize) -> bool;
    /// `user`'s index document id, if one was made.
    fn index_doc(&self, user: &str) -> Result<Option<DocumentId>, String>;
    /// Every user who may have an index (field roles), with what decides their scope.
    fn field_users(&self) -> Result<Vec<Principal>, String>;
    /// Every user, disabled or not, as `(principal, disabled)`.
    fn all_users(&self) -> Result<Vec<(Principal, bool)>, String>;
    /// The scope (see [`scope_of`]) `user`'s index was last filled or brought in line with;
    /// `None` for an index made before scopes were kept, or none.
    fn index_scope(&self, user: &str) -> Result<Option<String>, String>;
    /// The users whose index lists `doc` now.
    fn index_members(&self, doc: &DocumentId) -> Result<BTreeSet<String>, String>;
    /// Records that may be in `p`'s scope (by assignee, creator, factory or warehouse),
    /// with their summaries: what a new index document starts with.
    fn scope_candidates(&self, p: &Principal) -> Result<Vec<(DocumentId, Summary)>, String>;
    /// A number that changes whenever an account may have changed (role, scope, job
    /// titles, disabled). Read per message, so it must be cheap.
    fn accounts_version(&self) -> u64;
    /// `user`'s account as the access rules see it now; `None` when it no longer exists
    /// or is disabled.
    fn principal(&self, user: &str) -> Result<Option<Principal>, String>;
    /// Records whose summary and index entries were left waiting by the last run
    /// ([`Turn::catalog_pending`] not yet followed by [`Turn::catalog_done`]).
    fn catalog_pending(&self) -> Result<Vec<DocumentId>, String>;
}

/// What decides which records a field user's index lists, besides their name: the role,
/// factory and warehouse ([`record_access`] reads nothing else of the account). Kept with
/// each index, so that an index filled under another scope is brought in line.
pub fn scope_of(p: &Principal) -> String {
    format!(
        "{}/{}/{}",
        p.role.as_str(),
        p.factory.as_deref().unwrap_or(""),
        p.warehouse.as_deref().unwrap_or("")
    )
}

/// The scope kept for the index of a user who is disabled or has an office role: their
/// index is not kept up to date meanwhile, so it is brought in line when they are a field
/// user again, whatever their scope then.
pub const SCOPE_INACTIVE: &str = "inactive";

/// The scope fields of a record, as its summary has them.
pub fn header_of(s: &Summary) -> gendan_core::record::RecordHeader {
    gendan_core::record::RecordHeader {
        record_type: s.record_type.parse().unwrap_or_default(),
        created_by: s.created_by.clone(),
        assignees: s.assignees.iter().map(|a| (a.clone(), true)).collect(),
        factory: s.factory.clone(),
        warehouse: s.warehouse.clone(),
        ..Default::default()
    }
}

/// Everything one turn writes.
#[derive(Debug, Default)]
pub struct Turn {
    /// Document chunks to append.
    pub appends: Vec<(DocumentId, Vec<u8>)>,
    /// Change sets merged, for attribution.
    pub accepted: Vec<Accepted>,
    /// Change sets refused, for the quarantine.
    pub rejected: Vec<Rejected>,
    /// New summaries of changed records, for projections.
    pub summaries: Vec<(DocumentId, Summary)>,
    /// New index membership of changed records.
    pub members: Vec<(DocumentId, BTreeSet<String>)>,
    /// Index documents created this turn (user, document).
    pub new_indexes: Vec<(String, DocumentId)>,
    /// The scope each index named was filled or brought in line with this turn (user,
    /// [`scope_of`]).
    pub index_scopes: Vec<(String, String)>,
    /// Changes made by the server on behalf of an office user (REST), for attribution.
    pub local: Vec<(DocumentId, String, Vec<automerge::ChangeHash>)>,
    /// Documents to compact after the turn is durable, with their full snapshots.
    pub compactions: Vec<(DocumentId, Vec<u8>)>,
    /// Blobs each changed record references (who may read the record may read them).
    pub blob_refs: Vec<(DocumentId, BTreeSet<String>)>,
    /// Records whose summary and index entries wait (see [`CATALOG_COALESCE_MS`]): marked
    /// in the same write as their changes, so a restart brings them up to date.
    pub catalog_pending: Vec<DocumentId>,
    /// Records whose waiting summary and index entries were brought up to date.
    pub catalog_done: Vec<DocumentId>,
}

impl Turn {
    fn is_empty(&self) -> bool {
        self.appends.is_empty()
            && self.accepted.is_empty()
            && self.rejected.is_empty()
            && self.summaries.is_empty()
            && self.members.is_empty()
            && self.new_indexes.is_empty()
            && self.index_scopes.is_empty()
            && self.local.is_empty()
            && self.blob_refs.is_empty()
            && self.catalog_pending.is_empty()
            && self.catalog_done.is_empty()
    }
}

/// What the writer half of a connection receives.
#[derive(Debug)]
pub enum Outbound {
    /// A binary frame to send.
    Frame(Vec<u8>),
    /// Close the socket with this reason.
    Close(String),
}

/// An edit the office makes through REST, carried out inside the sync loop so it is
/// merged, written and fanned out like a device's.
pub type EditFn = Box<dyn FnOnce(&mut Record) -> Result<(), String> + Send>;

enum Event {
    Connect {
        conn: ConnId,
        principal: Principal,
        tx: mpsc::Sender<Outbound>,
    },
    Frame {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Disconnect {
        conn: ConnId,
    },
    Create {
        doc: DocumentId,
        bytes: Vec<u8>,
        user: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Edit {
        doc: DocumentId,
        user: String,
        edit: EditFn,
        reply: oneshot::Sender<Result<(), String>>,
    },
    EnsureIndex {
        user: Principal,
        reply: oneshot::Sender<Result<DocumentId, String>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct SyncMetrics {
    /// Live WebSocket connections.
    pub connections: AtomicU64,
    /// Frames received.
    pub frames_in: AtomicU64,
    /// Frames sent.
    pub frames_out: AtomicU64,
    /// Bytes received.
    pub bytes_in: AtomicU64,
    /// Bytes sent.
    pub bytes_out: AtomicU64,
    /// Change sets merged.
    pub accepted: AtomicU64,
    /// Change sets refused.
    pub rejected: AtomicU64,
    /// Group commits.
    pub commits: AtomicU64,
    /// Connections cut off for reading too slowly.
    pub slow_readers_cut: AtomicU64,
    /// Documents in memory.
    pub docs_loaded: AtomicU64,
}

/// The handle REST and WebSocket handlers use.
#[derive(Debug, Clone)]
pub struct SyncHandle {
    tx: mpsc::Sender<Event>,
    next_conn: Arc<AtomicU64>,
    /// Counters.
    pub metrics: Arc<SyncMetrics>,
    pending_outbound_max: usize,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Event::Connect { .. } => "Connect",
            Event::Frame { .. } => "Frame",
            Event::Disconnect { .. } => "Disconnect",
            Event::Create { .. } => "Create",
            Event::Edit { .. } => "Edit",
            Event::EnsureIndex { .. } => "EnsureIndex",
            Event::Shutdown { .. } => "Shutdown",
        })
    }
}

/// The service stopped (shut down or failed).
#[derive(Debug, thiserror::Error)]
#[error("the sync service is not running")]
pub struct Stopped;

impl SyncHandle {
    /// Registers a new connection; returns its id and the receiver of its outbound frames.
    pub async fn connect(
        &self,
        principal: Principal,
    ) -> Result<(ConnId, mpsc::Receiver<Outbound>), Stopped> {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.pending_outbound_max);
        self.tx
            .send(Event::Connect {
                conn,
                principal,
                tx,
            })
            .await
            .map_err(|_| Stopped)?;
        Ok((conn, rx))
    }

    /// A frame from a connection.
    pub async fn frame(&self, conn: ConnId, bytes: Vec<u8>) -> Result<(), Stopped> {
        self.tx
            .send(Event::Frame { conn, bytes })
            .await
            .map_err(|_| Stopped)
    }

    /// A connection closed.
    pub async fn disconnect(&self, conn: ConnId) {
        let _ = self.tx.send(Event::Disconnect { conn }).await;
    }

    /// Stores a new record (its saved bytes) created by `user` through REST.
    pub async fn create(&self, doc: DocumentId, bytes: Vec<u8>, user: &str) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Event::Create {
                doc,
                bytes,
                user: user.into(),
                reply,
            })
            .await
            .map_err(|_| Stopped.to_string())?;
        rx.await.map_err(|_| Stopped.to_string())?
    }

    /// Edits a record as `user` inside the sync loop.
    pub async fn edit(&self, doc: DocumentId, user: &str, edit: EditFn) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Event::Edit {
                doc,
                user: user.into(),
                edit,
                reply,
            })
            .await
            .map_err(|_| Stopped.to_string())?;
        rx.await.map_err(|_| Stopped.to_string())?
    }

    /// `user`'s index document, created (and filled with their scope) on first use.
    pub async fn ensure_index(&self, user: Principal) -> Result<DocumentId, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Event::EnsureIndex { user, reply })
            .await
            .map_err(|_| Stopped.to_string())?;
        rx.await.map_err(|_| Stopped.to_string())?
    }

    /// Stops the loop after the current turn is written.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Event::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }
}

fn now_ms() -> UnixMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A random 16-byte id (documents, actors).
pub fn random_bytes16() -> [u8; 16] {
    let mut b = [0u8; 16];
    // The OS generator failing is not recoverable for a server that must mint unique ids.
    getrandom::fill(&mut b).expect("the operating system's random number generator works");
    b
}

/// Starts the service on the current tokio runtime.
pub fn spawn(config: SyncConfig, storage: Arc<dyn SyncStorage>) -> SyncHandle {
    let (tx, rx) = mpsc::channel(config.batch_events_max * 4);
    let metrics = Arc::new(SyncMetrics::default());
    let handle = SyncHandle {
        tx,
        next_conn: Arc::new(AtomicU64::new(1)),
        metrics: metrics.clone(),
        pending_outbound_max: config.pending_outbound_max,
    };
    let hub = Hub::new(config.hub.clone());
    let accounts_seen = storage.accounts_version();
    let state = Loop {
        hub,
        storage,
        conns: HashMap::new(),
        config,
        metrics,
        index_docs: HashMap::new(),
        actor: automerge::ActorId::from(random_bytes16().as_slice()),
        catalog: HashMap::new(),
        catalog_at: HashMap::new(),
        catalog_later: BTreeSet::new(),
        accounts_seen,
    };
    tokio::spawn(state.run(rx));
    handle
}

struct Loop {
    hub: Hub,
    storage: Arc<dyn SyncStorage>,
    conns: HashMap<ConnId, mpsc::Sender<Outbound>>,
    config: SyncConfig,
    metrics: Arc<SyncMetrics>,
    /// Index document per user (cache of storage).
    index_docs: HashMap<String, DocumentId>,
    /// The server's own Automerge actor, for the changes it makes.
    actor: automerge::ActorId,
    /// For each loaded record, the summary and index members last written: a change that
    /// leaves both as they were (most tallies and readings) touches no index document.
    /// Dropped when the record is unloaded.
    catalog: HashMap<DocumentId, (Summary, BTreeSet<String>)>,
    /// When each loaded record's summary and index entries were last brought up to date.
    catalog_at: HashMap<DocumentId, UnixMs>,
    /// Records changed by sync within [`CATALOG_COALESCE_MS`] of that, waiting for their
    /// next update.
    catalog_later: BTreeSet<DocumentId>,
    /// The accounts version the connections' principals were last read at
    /// ([`SyncStorage::accounts_version`]).
    accounts_seen: u64,
}

type Reply<T> = (oneshot::Sender<Result<T, String>>, Result<T, String>);

/// Replies that may only go out once the turn is durable.
#[derive(Default)]
struct Pending {
    sends: Vec<(ConnId, Vec<u8>)>,
    closes: Vec<(ConnId, String)>,
    replies: Vec<Reply<()>>,
    index_replies: Vec<Reply<DocumentId>>,
    changed: BTreeSet<DocumentId>,
    /// Records the office changed (REST): their summaries and index entries are brought up
    /// to date in this turn, whatever [`CATALOG_COALESCE_MS`] says.
    catalog_now: BTreeSet<DocumentId>,
}

impl Loop {
    async fn run(mut self, mut rx: mpsc::Receiver<Event>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // What the last run left waiting is brought up to date first.
        match self.storage.catalog_pending() {
            Ok(docs) => self.catalog_later.extend(docs),
            Err(e) => {
                tracing::error!(error = %e, "reading the records waiting for their summaries failed")
            }
        }
        loop {
            let mut events = Vec::new();
            let catalog_due = self.catalog_due_in(now_ms());
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => events.push(ev),
                    None => return,
                },
                () = tokio::time::sleep(catalog_due.unwrap_or_default()), if catalog_due.is_some() => {
                    // A turn without events: `settle` takes the records now due.
                }
                _ = tick.tick() => {
                    let unloaded = self.hub.unload_idle(now_ms(), i64::try_from(self.config.idle_unload_ms).unwrap_or(i64::MAX));
                    if !unloaded.is_empty() {
                        tracing::debug!(unloaded = unloaded.len(), "idle documents unloaded");
                        for doc in &unloaded {
                            self.catalog.remove(doc);
                            self.catalog_at.remove(doc);
                        }
                    }
                    self.metrics.docs_loaded.store(self.hub.loaded_count() as u64, Ordering::Relaxed);
                    if self.storage.accounts_version() == self.accounts_seen {
                        continue;
                    }
                    // An account changed and no message came since: a turn without events
                    // applies it (`refresh_accounts`), so a user moved to another factory
                    // sees their new list without waiting for their device to speak.
                }
            }
            while events.len() < self.config.batch_events_max {
                match rx.try_recv() {
                    Ok(ev) => events.push(ev),
                    Err(_) => break,
                }
            }
            let mut shutdown = None;
            let mut turn = Turn::default();
            let mut pending = Pending::default();
            self.refresh_accounts(&mut turn, &mut pending);
            for ev in events {
                if let Event::Shutdown { reply } = ev {
                    shutdown = Some(reply);
                    continue;
                }
                self.handle(ev, &mut turn, &mut pending);
            }
            if shutdown.is_some() {
                // Nothing waits past a shutdown (a restart would catch up, but later).
                pending
                    .catalog_now
                    .extend(self.catalog_later.iter().copied());
            }
            self.settle(&mut turn, &mut pending);
            self.plan_compactions(&mut turn);
            if let Err(e) = self.commit(turn).await {
                // Storage failed: nothing of this turn may be acknowledged. Close every
                // connection (devices keep their changes and resend) and stop.
                tracing::error!(error = %e, "storage failed; the sync service stops");
                for tx in self.conns.values() {
                    let _ = tx.try_send(Outbound::Close("server storage failure".into()));
                }
                for (reply, _) in pending.replies {
                    let _ = reply.send(Err(format!("storage failure: {e}")));
                }
                return;
            }
            self.deliver(pending);
            if let Some(reply) = shutdown {
                for tx in self.conns.values() {
                    let _ = tx.try_send(Outbound::Close("server shutting down".into()));
                }
                let _ = reply.send(());
                return;
            }
        }
    }

    fn handle(&mut self, ev: Event, turn: &mut Turn, pending: &mut Pending) {
        let now = now_ms();
        match ev {
            Event::Connect {
                conn,
                principal,
                tx,
            } => {
                // The account as it is now, not as the upgrade read it: an administrator
                // may have changed it in between (see `refresh_accounts`).
                let principal = match self.storage.principal(&principal.user) {
                    Ok(Some(current)) => current,
                    Ok(None) => {
                        let _ = tx.try_send(Outbound::Close("your account is disabled".into()));
                        return;
                    }
                    Err(e) => {
                        tracing::error!(user = %principal.user, error = %e, "reading an account failed; using the session's");
                        principal
                    }
                };
                self.hub.connect(conn, principal, now);
                self.conns.insert(conn, tx);
                self.metrics
                    .connections
                    .store(self.conns.len() as u64, Ordering::Relaxed);
            }
            Event::Frame { conn, bytes } => {
                self.metrics.frames_in.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .bytes_in
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                self.hub.receive(conn, &bytes, now);
            }
            Event::Disconnect { conn } => {
                self.hub.disconnect(conn);
                self.conns.remove(&conn);
                self.metrics
                    .connections
                    .store(self.conns.len() as u64, Ordering::Relaxed);
            }
            Event::Create {
                doc,
                bytes,
                user,
                reply,
            } => {
                let result = self.create(doc, &bytes, &user, turn, pending);
                if result.is_ok() {
                    pending.catalog_now.insert(doc);
                }
                pending.replies.push((reply, result));
            }
            Event::Edit {
                doc,
                user,
                edit,
                reply,
            } => {
                let result = self.edit(doc, &user, edit, turn, pending);
                if result.is_ok() {
                    pending.catalog_now.insert(doc);
                }
                pending.replies.push((reply, result));
            }
            Event::EnsureIndex { user, reply } => {
                // The account as the request read it, which may be newer than what the
                // last turn saw: its index is brought in line with it first. A failure
                // there leaves the index as it was rather than refuse the login.
                if let Err(e) = self.reconcile_index(&user, turn, pending) {
                    tracing::error!(user = %user.user, error = %e, "bringing an index in line with a changed scope failed");
                }
                let result = self.ensure_index(&user, turn, pending);
                pending.index_replies.push((reply, result));
            }
            Event::Shutdown { .. } => {}
        }
    }

    /// When any account changed since the connections' principals were read (checked at
    /// the start of every turn, and at the tick when no message comes), reads the accounts
    /// of the connected users again and hands them to the hub: a change of job titles, role
    /// or scope applies to the next message of a live connection, and a disabled user's
    /// connections are closed. Then every field user's index made under another scope is
    /// brought in line ([`Loop::reconcile_index`]). One atomic read a turn otherwise.
    fn refresh_accounts(&mut self, turn: &mut Turn, pending: &mut Pending) {
        let version = self.storage.accounts_version();
        if version == self.accounts_seen {
            return;
        }
        self.accounts_seen = version;
        match self.storage.all_users() {
            Ok(users) => {
                for (p, disabled) in users {
                    let result = if disabled || p.role.is_office() {
                        self.mark_index_inactive(&p.user, turn)
                    } else {
                        self.reconcile_index(&p, turn, pending)
                    };
                    if let Err(e) = result {
                        self.accounts_seen = version.wrapping_sub(1);
                        tracing::error!(user = %p.user, error = %e, "bringing an index in line with a changed scope failed");
                    }
                }
            }
            Err(e) => {
                self.accounts_seen = version.wrapping_sub(1);
                tracing::error!(error = %e, "reading the accounts failed");
            }
        }
        for user in self.hub.connected_users() {
            match self.storage.principal(&user) {
                Ok(Some(p)) => {
                    if self.hub.update_principal(&p) > 0 {
                        tracing::info!(%user, "account changed; live connections updated");
                    }
                }
                Ok(None) => {
                    self.hub.close_user(&user, "your account is disabled");
                }
                Err(e) => {
                    // Read again at the next message rather than act on a stale account.
                    self.accounts_seen = version.wrapping_sub(1);
                    tracing::error!(%user, error = %e, "reading an account failed");
                }
            }
        }
    }

    fn ensure_loaded(
        &mut self,
        doc: DocumentId,
        turn: &mut Turn,
        pending: &mut Pending,
    ) -> Result<(), String> {
        if self.hub.is_loaded(&doc) {
            return Ok(());
        }
        let bytes = self.storage.load(&doc)?;
        self.hub
            .loaded(doc, bytes.as_deref(), now_ms())
            .map_err(|e| format!("stored document {doc} does not load: {e}"))?;
        // Into this turn: the hub's output may hold writes of earlier events of the turn
        // (e.g. index changes made for other records), which must be committed with it.
        self.drain(pending, turn);
        Ok(())
    }

    fn create(
        &mut self,
        doc: DocumentId,
        bytes: &[u8],
        user: &str,
        turn: &mut Turn,
        pending: &mut Pending,
    ) -> Result<(), String> {
        if self.storage.load(&doc)?.is_some() || self.hub.with_document(&doc, |_| ()).is_some() {
            return Err(format!("record {doc} already exists"));
        }
        let mut new = AutoCommit::load(bytes).map_err(|e| e.to_string())?;
        let hashes = new.get_changes_meta(&[]).iter().map(|c| c.hash).collect();
        // The common case: nobody has asked for the id yet, so the loaded document becomes
        // the hub's copy as it is (no replay of its changes into an empty document).
        if let Err(mut new) = self.hub.create_local(doc, new, bytes.to_vec()) {
            let changes: Vec<Change> = new.get_changes(&[]);
            self.ensure_loaded(doc, turn, pending)?;
            self.hub
                .apply_local(doc, changes)
                .map_err(|e| e.to_string())?;
        }
        turn.local.push((doc, user.to_string(), hashes));
        Ok(())
    }

    fn edit(
        &mut self,
        doc: DocumentId,
        user: &str,
        edit: EditFn,
        turn: &mut Turn,
        pending: &mut Pending,
    ) -> Result<(), String> {
        self.ensure_loaded(doc, turn, pending)?;
        let Some(current) = self.hub.document(&doc) else {
            return Err(format!("record {doc} does not exist"));
        };
        let mut record = Record::from_doc(current.with_actor(self.actor.clone()))
            .map_err(|b| b.1.to_string())?;
        let before = record.heads();
        edit(&mut record)?;
        let changes = record.doc_mut().get_changes(&before);
        let hashes = changes.iter().map(Change::hash).collect();
        self.hub
            .apply_local(doc, changes)
            .map_err(|e| e.to_string())?;
        turn.local.push((doc, user.to_string(), hashes));
        Ok(())
    }

    fn ensure_index(
        &mut self,
        p: &Principal,
        turn: &mut Turn,
        pending: &mut Pending,
    ) -> Result<DocumentId, String> {
        if let Some(id) = self.existing_index(&p.user)? {
            return Ok(id);
        }
        let id = DocumentId::from_bytes(random_bytes16());
        let mut doc = summary::new_index(
            &p.user,
            self.actor.clone(),
            &EditContext::new("server", now_ms()),
        )
        .map_err(|e| e.to_string())?;
        // Start with every record already in the user's scope.
        for (record, s) in self.storage.scope_candidates(p)? {
            if record_access(p, &header_of(&s)) != Access::None {
                summary::index_put(&mut doc, &record.to_string(), &s).map_err(|e| e.to_string())?;
            }
        }
        doc.commit_with(
            automerge::transaction::CommitOptions::default()
                .with_message("server: fill index")
                .with_time(now_ms() / 1000),
        );
        let changes = doc.get_changes(&[]);
        self.hub.register_index(&p.user, id);
        self.index_docs.insert(p.user.clone(), id);
        self.hub
            .loaded(id, None, now_ms())
            .map_err(|e| e.to_string())?;
        self.hub
            .apply_local(id, changes)
            .map_err(|e| e.to_string())?;
        turn.new_indexes.push((p.user.clone(), id));
        turn.index_scopes.push((p.user.clone(), scope_of(p)));
        self.drain(pending, turn);
        Ok(id)
    }

    /// Brings `p`'s index in line with their scope when it was filled under another (an
    /// administrator moved them to another role, factory or warehouse): the records it
    /// lists that `p` may no longer read leave it, and the records now in `p`'s scope join
    /// it, as [`Loop::ensure_index`] fills a new index; the index membership of each record
    /// follows in the same turn. Nothing to do for a user without an index (theirs is
    /// filled under the current scope when first asked for) or whose scope is unchanged.
    fn reconcile_index(
        &mut self,
        p: &Principal,
        turn: &mut Turn,
        pending: &mut Pending,
    ) -> Result<(), String> {
        let scope = scope_of(p);
        if self.index_scope(&p.user, turn)?.as_deref() == Some(scope.as_str()) {
            return Ok(());
        }
        let Some(index) = self.existing_index(&p.user)? else {
            return Ok(());
        };
        self.ensure_loaded(index, turn, pending)?;
        let listed = self
            .hub
            .with_document(&index, summary::index_entries)
            .unwrap_or_default();
        let mut edits: Vec<(String, Option<Summary>)> = listed
            .iter()
            .filter(|(_, s)| record_access(p, &header_of(s)) == Access::None)
            .map(|(id, _)| (id.clone(), None))
            .collect();
        // Records in scope join; those listed already take their summary as it is now (an
        // index left inactive missed the updates meanwhile).
        for (record, s) in self.storage.scope_candidates(p)? {
            let key = record.to_string();
            if record_access(p, &header_of(&s)) == Access::None {
                continue;
            }
            let listed_as = listed.iter().find(|(id, _)| *id == key).map(|(_, l)| l);
            if listed_as != Some(&s) {
                edits.push((key, Some(s)));
            }
        }
        if !edits.is_empty() {
            self.edit_index(index, &edits, "server: scope changed")?;
            for (key, put) in &edits {
                let Ok(doc) = key.parse::<DocumentId>() else {
                    continue;
                };
                let mut members = match turn.members.iter().rev().find(|(d, _)| *d == doc) {
                    Some((_, m)) => m.clone(),
                    None => self.storage.index_members(&doc)?,
                };
                if put.is_some() {
                    members.insert(p.user.clone());
                } else {
                    members.remove(&p.user);
                }
                turn.members.push((doc, members));
                // Its next update compares with the store, not with what was cached.
                self.catalog.remove(&doc);
            }
            tracing::info!(user = %p.user, changed = edits.len(), "index brought in line with a changed scope");
        }
        turn.index_scopes.push((p.user.clone(), scope));
        self.drain(pending, turn);
        Ok(())
    }

    /// Marks the index of a user who is disabled or has an office role as not kept up to
    /// date ([`SCOPE_INACTIVE`]), if they have one.
    fn mark_index_inactive(&mut self, user: &str, turn: &mut Turn) -> Result<(), String> {
        if self.index_scope(user, turn)?.as_deref() == Some(SCOPE_INACTIVE)
            || self.existing_index(user)?.is_none()
        {
            return Ok(());
        }
        turn.index_scopes
            .push((user.to_string(), SCOPE_INACTIVE.to_string()));
        Ok(())
    }

    /// The scope `user`'s index was last brought in line with, counting this turn's.
    fn index_scope(&self, user: &str, turn: &Turn) -> Result<Option<String>, String> {
        match turn.index_scopes.iter().rev().find(|(u, _)| u == user) {
            Some((_, s)) => Ok(Some(s.clone())),
            None => self.storage.index_scope(user),
        }
    }

    /// `user`'s index document if one was made (registered with the hub).
    fn existing_index(&mut self, user: &str) -> Result<Option<DocumentId>, String> {
        if let Some(id) = self.index_docs.get(user) {
            return Ok(Some(*id));
        }
        let found = self.storage.index_doc(user)?;
        if let Some(id) = found {
            self.index_docs.insert(user.to_string(), id);
            self.hub.register_index(user, id);
        }
        Ok(found)
    }

    /// Takes the hub's output until it has nothing more, loading what it asks for.
    fn drain(&mut self, pending: &mut Pending, turn: &mut Turn) {
        loop {
            let out = self.hub.take_output();
            if out.is_empty() {
                return;
            }
            for doc in out.loads {
                match self.storage.load(&doc) {
                    Ok(bytes) => {
                        if let Err(e) = self.hub.loaded(doc, bytes.as_deref(), now_ms()) {
                            tracing::error!(%doc, error = %e, "a stored document does not load");
                        }
                    }
                    Err(e) => tracing::error!(%doc, error = %e, "loading a document failed"),
                }
            }
            for w in out.writes {
                let StoreWrite::Append { doc, bytes } = w;
                turn.appends.push((doc, bytes));
            }
            self.metrics
                .accepted
                .fetch_add(out.accepted.len() as u64, Ordering::Relaxed);
            self.metrics
                .rejected
                .fetch_add(out.rejected.len() as u64, Ordering::Relaxed);
            for r in &out.rejected {
                tracing::warn!(doc = %r.doc, user = %r.user, problems = ?r.problems, "change set rejected and quarantined");
            }
            turn.accepted.extend(out.accepted);
            turn.rejected.extend(out.rejected);
            pending.sends.extend(out.sends);
            pending.closes.extend(out.closes);
            pending.changed.extend(out.changed);
        }
    }

    /// After the events: fan out, keep indexes and projections up to date, fan out again.
    fn settle(&mut self, turn: &mut Turn, pending: &mut Pending) {
        self.drain(pending, turn);
        let index_ids: BTreeSet<DocumentId> = self.index_docs.values().copied().collect();
        let now = now_ms();
        let mut changed: BTreeSet<DocumentId> = std::mem::take(&mut pending.changed)
            .into_iter()
            .filter(|d| !index_ids.contains(d))
            .collect();
        let urgent = std::mem::take(&mut pending.catalog_now);
        changed.extend(
            self.catalog_later
                .iter()
                .filter(|d| self.catalog_wait(d, now).is_none())
                .copied(),
        );
        let mut update = Vec::new();
        for doc in changed {
            if !urgent.contains(&doc) && self.catalog_wait(&doc, now).is_some() {
                if self.catalog_later.insert(doc) {
                    turn.catalog_pending.push(doc);
                }
            } else {
                update.push(doc);
            }
        }
        if !update.is_empty() {
            // Read once a turn: an account added meanwhile counts from the next turn.
            let users = self.storage.field_users();
            let mut index_edits = IndexEdits::new();
            for doc in update {
                let result = match &users {
                    Ok(users) => self.ensure_loaded(doc, turn, pending).and_then(|()| {
                        self.update_catalog(doc, users, turn, pending, &mut index_edits)
                    }),
                    Err(e) => Err(e.clone()),
                };
                match result {
                    Ok(()) => {
                        self.catalog_at.insert(doc, now);
                        if self.catalog_later.remove(&doc) {
                            turn.catalog_done.push(doc);
                        }
                    }
                    Err(e) => {
                        // Not retried in this run (its mark, if any, stays for the next).
                        self.catalog_later.remove(&doc);
                        tracing::error!(%doc, error = %e, "updating summaries and indexes failed");
                    }
                }
            }
            self.write_index_edits(index_edits);
        }
        self.hub.flush(now_ms());
        self.drain(pending, turn);
        pending.changed.clear();
    }

    /// How long the summary of `doc` must still wait, if it must (its last update was less
    /// than [`CATALOG_COALESCE_MS`] ago).
    fn catalog_wait(&self, doc: &DocumentId, now: UnixMs) -> Option<Duration> {
        let at = *self.catalog_at.get(doc)?;
        let left = at.saturating_add(CATALOG_COALESCE_MS).saturating_sub(now);
        (left > 0).then(|| Duration::from_millis(u64::try_from(left).unwrap_or(0)))
    }

    /// When the next waiting record is due, if any record waits.
    fn catalog_due_in(&self, now: UnixMs) -> Option<Duration> {
        self.catalog_later
            .iter()
            .map(|d| self.catalog_wait(d, now).unwrap_or_default())
            .min()
    }

    /// One change per index document a turn, with every entry the turn puts or removes in
    /// it: a push of many records is a few changes of each index, not one per record (each
    /// change is kept in the index's history and in the store, and fanned out).
    fn write_index_edits(&mut self, edits: IndexEdits) {
        for (index, entries) in edits {
            if let Err(e) = self.edit_index(index, &entries, "server: index") {
                tracing::error!(%index, error = %e, "writing index entries failed");
            }
        }
    }

    /// Puts (`Some`) or removes (`None`) `entries` of the loaded index document `index` in
    /// place, as one change with `message`.
    fn edit_index(
        &mut self,
        index: DocumentId,
        entries: &[(String, Option<Summary>)],
        message: &str,
    ) -> Result<(), String> {
        let actor = self.actor.clone();
        let edited = self.hub.edit_local(index, &actor, |idx| {
            for (key, summary) in entries {
                match summary {
                    Some(s) => summary::index_put(idx, key, s),
                    None => summary::index_remove(idx, key),
                }
                .map_err(|e| e.to_string())?;
            }
            idx.commit_with(
                automerge::transaction::CommitOptions::default()
                    .with_message(message)
                    .with_time(now_ms() / 1000),
            );
            Ok::<(), String>(())
        });
        edited.unwrap_or_else(|| Err(format!("index {index} is not loaded")))
    }

    fn update_catalog(
        &mut self,
        doc: DocumentId,
        users: &[Principal],
        turn: &mut Turn,
        pending: &mut Pending,
        index_edits: &mut IndexEdits,
    ) -> Result<(), String> {
        let Some((summary, header, blobs)) = self
            .hub
            .with_document(&doc, |d| {
                let header = read_header(d)?;
                let record = Record::from_doc(d.clone()).ok()?;
                let (summary, blobs) = summary::catalog(&record).ok()?;
                Some((summary, header, blobs))
            })
            .flatten()
        else {
            return Ok(());
        };
        let new: BTreeSet<String> = users
            .iter()
            .filter(|p| record_access(p, &header) != Access::None)
            .map(|p| p.user.clone())
            .collect();
        let unchanged = self
            .catalog
            .get(&doc)
            .is_some_and(|(s, members)| *s == summary && *members == new);
        if !unchanged {
            let old = self.storage.index_members(&doc)?;
            let key = doc.to_string();
            for user in old.union(&new) {
                let Some(p) = users.iter().find(|p| &p.user == user) else {
                    continue;
                };
                let index = self.ensure_index(p, turn, pending)?;
                self.ensure_loaded(index, turn, pending)?;
                // Written at the end of the turn, in place on the hub's copy
                // (`write_index_edits`).
                let put = new.contains(user).then(|| summary.clone());
                index_edits
                    .entry(index)
                    .or_default()
                    .push((key.clone(), put));
            }
            if new != old {
                turn.members.push((doc, new.clone()));
            }
            self.catalog.insert(doc, (summary.clone(), new));
        }
        turn.summaries.push((doc, summary));
        if !blobs.is_empty() {
            turn.blob_refs.push((doc, blobs));
        }
        Ok(())
    }

    fn plan_compactions(&mut self, turn: &mut Turn) {
        let mut counts: HashMap<DocumentId, usize> = HashMap::new();
        for (doc, _) in &turn.appends {
            *counts.entry(*doc).or_default() += 1;
        }
        for (doc, n) in counts {
            if self.storage.needs_compaction(&doc, n)
                && let Some(snapshot) = self.hub.snapshot(&doc)
            {
                turn.compactions.push((doc, snapshot));
            }
        }
    }

    async fn commit(&mut self, turn: Turn) -> Result<(), String> {
        if turn.is_empty() {
            return Ok(());
        }
        let storage = self.storage.clone();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            storage.commit(&turn)?;
            metrics.commits.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .await
        .map_err(|e| format!("the commit task failed: {e}"))?
    }

    fn deliver(&mut self, pending: Pending) {
        for (conn, frame) in pending.sends {
            let Some(tx) = self.conns.get(&conn) else {
                continue;
            };
            let len = frame.len() as u64;
            match tx.try_send(Outbound::Frame(frame)) {
                Ok(()) => {
                    self.metrics.frames_out.fetch_add(1, Ordering::Relaxed);
                    self.metrics.bytes_out.fetch_add(len, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // A slow reader: cut it off. Dropping the sender ends its writer, which
                    // closes the socket; the device reconnects and resyncs from its state.
                    tracing::warn!(conn, "connection cut off: it reads too slowly");
                    self.metrics
                        .slow_readers_cut
                        .fetch_add(1, Ordering::Relaxed);
                    self.conns.remove(&conn);
                    self.hub.disconnect(conn);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.conns.remove(&conn);
                    self.hub.disconnect(conn);
                }
            }
        }
        for (conn, reason) in pending.closes {
            if let Some(tx) = self.conns.remove(&conn) {
                let _ = tx.try_send(Outbound::Close(reason));
            }
            self.hub.disconnect(conn);
        }
        self.metrics
            .connections
            .store(self.conns.len() as u64, Ordering::Relaxed);
        for (reply, result) in pending.replies {
            let _ = reply.send(result);
        }
        for (reply, result) in pending.index_replies {
            let _ = reply.send(result);
        }
    }
}
