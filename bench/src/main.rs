//! `gendan-load`: the load benchmark of BENCHMARKS.md. The same workload, from the same
//! generator, against `gendan serve` (release build, fresh sled store, auth on) and the
//! reference automerge-repo sync server (node, no auth), one after the other in one run;
//! then the memory at rest of `gendan serve` holding many stored records.
//!
//! ```text
//! gendan-load [--gendan-bin target/release/gendan] [--reference-dir tests/bench-reference]
//!             [--only gendan|reference|rest] [--no-rest] [--rest-from DIR]
//! gendan-load fill --data DIR --records R      (used by the memory-at-rest step)
//! ```
//!
//! `--only rest` runs the memory-at-rest step alone; `--rest-from DIR` starts it from a copy
//! of a store made by `gendan-load fill --data DIR` instead of filling a new one.
//!
//! ```text
//! ```
//!
//! `BENCH_SCALE` (default 1) scales devices, records, edits and durations.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use gendan_core::protocol::DocumentId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

mod device;
mod fill;
mod report;
mod target;

use device::{Cmd, Device, Shared};
use report::{PhaseResult, RunResult};
use target::{Kind, RssSampler, Target};

/// The workload's size.
#[derive(Debug, Clone)]
pub struct Params {
    /// The scale factor (`BENCH_SCALE`).
    pub scale: f64,
    /// Field devices (N), one user each.
    pub devices: usize,
    /// Records per device (M).
    pub records: usize,
    /// Points of measure in each new inspection.
    pub points: usize,
    /// Documents a device keeps in flight while syncing many.
    pub window: usize,
    /// Phase (b): edits per second over all devices, and for how long.
    pub steady_rate: f64,
    /// Phase (b) duration.
    pub steady_secs: f64,
    /// Phase (c): edits each device makes offline (K).
    pub burst_edits: usize,
    /// Phase (d): devices on one record (D).
    pub live_devices: usize,
    /// Phase (d): edits per second per live device.
    pub live_rate: f64,
    /// Phase (d) duration.
    pub live_secs: f64,
    /// Memory at rest: records stored.
    pub rest_records: usize,
    /// Memory at rest: records a new device pulls (loads) before the server goes idle.
    pub rest_pull: usize,
}

impl Params {
    fn new(scale: f64) -> Params {
        let n = |base: f64, min: usize| ((base * scale).round() as usize).max(min);
        Params {
            scale,
            devices: n(50.0, 2),
            // 40 per device (2,000 in all): the reference pushes about 20 records/s, so
            // 100 per device made its push alone take 4 minutes of the 10 a full run has.
            records: n(40.0, 5),
            points: 10,
            window: 64,
            steady_rate: n(200.0, 10) as f64,
            steady_secs: (20.0 * scale).clamp(3.0, 60.0),
            burst_edits: n(20.0, 2),
            live_devices: n(50.0, 2),
            live_rate: 2.0,
            live_secs: (15.0 * scale).clamp(3.0, 60.0),
            rest_records: n(100_000.0, 100),
            rest_pull: n(10_000.0, 50),
        }
    }
}

/// A running session: its commands and the task that hands the device back.
struct Live {
    cmds: mpsc::UnboundedSender<Cmd>,
    task: JoinHandle<Device>,
}

fn open(device: Device, url: String, shared: &Arc<Shared>) -> (Live, oneshot::Receiver<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (jtx, jrx) = oneshot::channel();
    let task = tokio::spawn(device::session(device, url, shared.clone(), rx, jtx));
    (Live { cmds: tx, task }, jrx)
}

async fn open_all(devices: Vec<Device>, urls: &[String], shared: &Arc<Shared>) -> Vec<Live> {
    let mut lives = Vec::new();
    let mut joins = Vec::new();
    for (d, url) in devices.into_iter().zip(urls) {
        let (l, j) = open(d, url.clone(), shared);
        lives.push(l);
        joins.push(j);
    }
    for j in joins {
        let _ = j.await;
    }
    lives
}

async fn sync_all(
    lives: &[Live],
    docs: Vec<Vec<(DocumentId, Option<Vec<ChangeHash>>)>>,
    window: usize,
) {
    let mut waits = Vec::new();
    for (l, d) in lives.iter().zip(docs) {
        let (tx, rx) = oneshot::channel();
        let _ = l.cmds.send(Cmd::Sync {
            docs: d,
            window,
            done: tx,
        });
        waits.push(rx);
    }
    for w in waits {
        let _ = w.await;
    }
}

async fn close_all(lives: Vec<Live>) -> Vec<Device> {
    let mut out = Vec::new();
    for l in lives {
        let _ = l.cmds.send(Cmd::Close);
        out.push(l.task.await.expect("a session task"));
    }
    out
}

/// Waits until `shared.arrivals` reaches `want` (or `timeout`); returns when the last
/// arrival was seen.
async fn wait_arrivals(shared: &Shared, want: u64, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    let mut last = shared.arrivals.load(Ordering::Relaxed);
    let mut last_at = Instant::now();
    loop {
        let now = shared.arrivals.load(Ordering::Relaxed);
        if now != last {
            last = now;
            last_at = Instant::now();
        }
        if now >= want || Instant::now() > deadline {
            return last_at;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Measures one phase: CPU, wire bytes, peak RSS and latencies between `begin` and `end`.
struct Meter {
    pid: u32,
    cpu: f64,
    /// The generator's own CPU seconds at the start (printed per phase: where it is
    /// busier than the server, the generator bounds the phase).
    own_cpu: f64,
    bytes: u64,
    start: Instant,
}

impl Meter {
    fn begin(pid: u32, shared: &Shared, sampler: &RssSampler) -> Meter {
        let _ = sampler.take_peak(pid);
        shared
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Meter {
            pid,
            cpu: target::cpu_seconds(pid),
            own_cpu: target::cpu_seconds(std::process::id()),
            bytes: shared.bytes_in.load(Ordering::Relaxed)
                + shared.bytes_out.load(Ordering::Relaxed),
            start: Instant::now(),
        }
    }

    fn end(self, name: &str, shared: &Shared, sampler: &RssSampler, secs: f64) -> PhaseResult {
        let mut lat =
            std::mem::take(&mut *shared.latencies.lock().unwrap_or_else(|e| e.into_inner()));
        lat.sort_by(f64::total_cmp);
        eprintln!(
            "  {name}: {secs:.2} s, {} latency samples; generator CPU {:.2} s",
            lat.len(),
            target::cpu_seconds(std::process::id()) - self.own_cpu
        );
        let pct = |p: f64| {
            (!lat.is_empty())
                .then(|| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1])
        };
        PhaseResult {
            name: name.to_string(),
            secs,
            records_per_s: None,
            edits_per_s: None,
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
            peak_rss: sampler.take_peak(self.pid),
            cpu: target::cpu_seconds(self.pid) - self.cpu,
            bytes: shared.bytes_in.load(Ordering::Relaxed)
                + shared.bytes_out.load(Ordering::Relaxed)
                - self.bytes,
        }
    }

    fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// Paces `total` edits at `rate` per second over `targets` (device session, document),
/// round-robin. Returns how many were sent.
async fn paced_edits(lives: &[Live], targets: &[(usize, DocumentId)], rate: f64, secs: f64) -> u64 {
    let total = (rate * secs).round() as u64;
    let start = tokio::time::Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate);
    for i in 0..total {
        tokio::time::sleep_until(start + every.mul_f64(i as f64)).await;
        let (dev, doc) = targets[(i as usize) % targets.len()];
        let _ = lives[dev].cmds.send(Cmd::Edit(doc));
    }
    total
}

async fn workload(t: &Target, p: &Params) -> RunResult {
    let pid = t.pid();
    let shared = Arc::new(Shared::default());
    let sampler = RssSampler::start(pid);
    let n = p.devices;
    let user = |i: usize| format!("bench-qc-{i}");
    let mut phases = Vec::new();

    // Setup (not measured): users and sessions. Gendan: auth on, every device logs in as
    // its user (one session token per user, shared by that user's devices).
    let mut tokens = vec![String::new(); n];
    let mut office_token = String::new();
    if t.kind == Kind::Gendan {
        for (i, token) in tokens.iter_mut().enumerate() {
            t.add_user(&user(i), "qc");
            *token = t.login(&user(i));
        }
        t.add_user("bench-office", "merchandiser");
        office_token = t.login("bench-office");
    }
    let urls: Vec<String> = tokens.iter().map(|tk| t.url(tk)).collect();

    // Each field device creates its M inspections offline (device-side work, not timed).
    let mut writers: Vec<Device> = (0..n)
        .map(|i| {
            Device::new(
                i as u32,
                format!("bench-w{i}-{}", std::process::id()),
                user(i),
            )
        })
        .collect();
    let mut owned: Vec<Vec<(DocumentId, Vec<ChangeHash>)>> = Vec::new();
    for w in &mut writers {
        let ids: Vec<DocumentId> = (0..p.records)
            .map(|r| w.create_inspection(r, p.points, &[]))
            .collect();
        owned.push(ids.into_iter().map(|id| (id, w.heads(&id))).collect());
    }
    let total_records = (n * p.records) as f64;

    // (a) push: every device connects and pushes its M new records.
    let writers_live = open_all(writers, &urls, &shared).await;
    let m = Meter::begin(pid, &shared, &sampler);
    let docs = owned
        .iter()
        .map(|o| o.iter().map(|(id, _)| (*id, None)).collect())
        .collect();
    sync_all(&writers_live, docs, p.window).await;
    let secs = m.elapsed();
    let mut r = m.end("a. cold push", &shared, &sampler, secs);
    r.records_per_s = Some(total_records / secs);
    phases.push(r);

    // (a) pull: a second, fresh device per user pulls that user's M records.
    let observers: Vec<Device> = (0..n)
        .map(|i| {
            Device::new(
                (n + i) as u32,
                format!("bench-o{i}-{}", std::process::id()),
                user(i),
            )
        })
        .collect();
    let observers_live = open_all(observers, &urls, &shared).await;
    let m = Meter::begin(pid, &shared, &sampler);
    let docs = owned
        .iter()
        .map(|o| o.iter().map(|(id, h)| (*id, Some(h.clone()))).collect())
        .collect();
    sync_all(&observers_live, docs, p.window).await;
    let secs = m.elapsed();
    let mut r = m.end("a. cold pull (N devices)", &shared, &sampler, secs);
    r.records_per_s = Some(total_records / secs);
    phases.push(r);

    // (a) pull-all: one new office device pulls every record (N×M).
    let office = Device::new(
        (2 * n) as u32,
        format!("bench-office-{}", std::process::id()),
        "bench-office".into(),
    );
    let office_live = open_all(vec![office], &[t.url(&office_token)], &shared).await;
    let m = Meter::begin(pid, &shared, &sampler);
    let all: Vec<(DocumentId, Option<Vec<ChangeHash>>)> = owned
        .iter()
        .flat_map(|o| o.iter().map(|(id, h)| (*id, Some(h.clone()))))
        .collect();
    sync_all(&office_live, vec![all], p.window).await;
    let secs = m.elapsed();
    let mut r = m.end("a. one device pulls N×M", &shared, &sampler, secs);
    r.records_per_s = Some(total_records / secs);
    phases.push(r);
    close_all(office_live).await;

    // (b) steady edits: defects and tallies at a set rate over all devices; each arrives at
    // the same user's second device.
    let targets: Vec<(usize, DocumentId)> = (0..(n * p.records))
        .map(|k| {
            let dev = k % n;
            (dev, owned[dev][(k / n) % p.records].0)
        })
        .collect();
    shared.arrivals.store(0, Ordering::Relaxed);
    let m = Meter::begin(pid, &shared, &sampler);
    let sent = paced_edits(&writers_live, &targets, p.steady_rate, p.steady_secs).await;
    let last = wait_arrivals(&shared, sent, Duration::from_secs(30)).await;
    let secs = last
        .duration_since(m.start)
        .as_secs_f64()
        .max(m.elapsed().min(p.steady_secs));
    let arrived = shared.arrivals.load(Ordering::Relaxed);
    let mut r = m.end("b. steady edits", &shared, &sampler, secs);
    r.edits_per_s = Some(arrived as f64 / secs);
    phases.push(r);

    // (c) offline burst: every field device disconnects, makes K edits offline, then all
    // reconnect at once; latency from the reconnect to arrival at the second device.
    let mut writers = close_all(writers_live).await;
    shared
        .made
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    for (i, w) in writers.iter_mut().enumerate() {
        for k in 0..p.burst_edits {
            let doc = owned[i][k % p.records].0;
            w.edit(&doc, &shared, None);
        }
    }
    shared.arrivals.store(0, Ordering::Relaxed);
    let m = Meter::begin(pid, &shared, &sampler);
    {
        let mut made = shared.made.lock().unwrap_or_else(|e| e.into_inner());
        for v in made.values_mut() {
            v.0 = m.start;
        }
    }
    let mut lives = Vec::new();
    for (i, w) in writers.into_iter().enumerate() {
        let docs: Vec<(DocumentId, Option<Vec<ChangeHash>>)> =
            owned[i].iter().map(|(id, _)| (*id, None)).collect();
        let (l, _joined) = open(w, urls[i].clone(), &shared);
        let (tx, _rx) = oneshot::channel();
        let _ = l.cmds.send(Cmd::Sync {
            docs,
            window: p.window,
            done: tx,
        });
        lives.push(l);
    }
    let want = (n * p.burst_edits) as u64;
    let last = wait_arrivals(&shared, want, Duration::from_secs(120)).await;
    let secs = last.duration_since(m.start).as_secs_f64();
    let arrived = shared.arrivals.load(Ordering::Relaxed);
    let mut r = m.end("c. offline burst, reconnect", &shared, &sampler, secs);
    r.edits_per_s = Some(arrived as f64 / secs);
    phases.push(r);
    close_all(lives).await;
    close_all(observers_live).await;

    // (d) live: D devices on one record, each editing at a set rate; every edit must arrive
    // at the D−1 others.
    let d = p.live_devices;
    let live_users: Vec<String> = (0..d.min(n)).map(user).collect();
    let mut live: Vec<Device> = (0..d)
        .map(|j| {
            Device::new(
                (3 * n + j) as u32,
                format!("bench-l{j}-{}", std::process::id()),
                user(j % n),
            )
        })
        .collect();
    let record = live[0].create_inspection(0, p.points, &live_users[1..]);
    let heads = live[0].heads(&record);
    let live_urls: Vec<String> = (0..d).map(|j| urls[j % n].clone()).collect();
    let lives = open_all(live, &live_urls, &shared).await;
    sync_all(&lives[..1], vec![vec![(record, None)]], 1).await;
    sync_all(
        &lives[1..],
        vec![vec![(record, Some(heads.clone()))]; d - 1],
        1,
    )
    .await;
    shared
        .made
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    shared.arrivals.store(0, Ordering::Relaxed);
    let m = Meter::begin(pid, &shared, &sampler);
    let targets: Vec<(usize, DocumentId)> = (0..d).map(|j| (j, record)).collect();
    let sent = paced_edits(&lives, &targets, p.live_rate * d as f64, p.live_secs).await;
    let want = sent * (d as u64 - 1);
    let last = wait_arrivals(&shared, want, Duration::from_secs(60)).await;
    let secs = last.duration_since(m.start).as_secs_f64().max(p.live_secs);
    let arrived = shared.arrivals.load(Ordering::Relaxed);
    let mut r = m.end("d. live: D devices, one record", &shared, &sampler, secs);
    r.edits_per_s = Some(sent as f64 / secs);
    if arrived < want {
        eprintln!(
            "  {}: only {arrived} of {want} live arrivals",
            t.kind.name()
        );
    }
    phases.push(r);
    live = close_all(lives).await;
    drop(live);

    sampler.stop();
    let (_, hwm) = target::rss(pid);
    let failures = shared.failures.load(Ordering::Relaxed);
    let first_failure = shared
        .first_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    RunResult {
        kind: t.kind,
        phases,
        peak_rss: hwm,
        cpu: target::cpu_seconds(pid),
        failures,
        first_failure,
        unavailable: shared.unavailable.load(Ordering::Relaxed),
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fill") {
        let data = PathBuf::from(arg(&args, "--data").expect("--data DIR"));
        let records: usize = arg(&args, "--records")
            .expect("--records R")
            .parse()
            .expect("a number");
        fill::fill(&data, records);
        return;
    }
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0);
    let p = Params::new(scale);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let gendan_bin = arg(&args, "--gendan-bin")
        .map_or_else(|| root.join("target/release/gendan"), PathBuf::from);
    let reference_dir =
        arg(&args, "--reference-dir").map_or_else(target::default_reference_dir, PathBuf::from);
    let only = arg(&args, "--only");
    let rest = !args.iter().any(|a| a == "--no-rest");

    eprintln!(
        "gendan-load: BENCH_SCALE={scale}: {} devices × {} records; steady {} edits/s for {} s; burst {} edits/device; live {} devices × {} edits/s for {} s",
        p.devices,
        p.records,
        p.steady_rate,
        p.steady_secs,
        p.burst_edits,
        p.live_devices,
        p.live_rate,
        p.live_secs
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = Instant::now();
    let mut runs = Vec::new();
    for kind in [Kind::Gendan, Kind::Reference] {
        if only.as_deref().is_some_and(|o| o != kind.name()) {
            continue;
        }
        eprintln!("gendan-load: {} …", kind.name());
        let t = match kind {
            Kind::Gendan => Target::gendan(&gendan_bin, None, &[]),
            Kind::Reference => Target::reference(&reference_dir),
        };
        let run = rt.block_on(workload(&t, &p));
        t.stop();
        eprintln!(
            "gendan-load: {} done ({:.0} s so far)",
            kind.name(),
            started.elapsed().as_secs_f64()
        );
        runs.push(run);
    }
    report::print(&p, &runs);
    if rest && only.as_deref().is_none_or(|o| o == "gendan" || o == "rest") {
        let from = arg(&args, "--rest-from").map(PathBuf::from);
        let r = rt.block_on(fill::memory_at_rest(&gendan_bin, &p, from.as_deref()));
        report::print_rest(&r);
    }
    report::print_ratios(&runs, started.elapsed());
}
