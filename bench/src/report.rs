//! The table and the final ratio line.
//!
//! Ratios are written so that **bigger means Gendan is better** for every figure:
//! throughput is gendan/reference; memory, CPU, bytes and latency are reference/gendan.
//! The final line's three ratios:
//! * throughput: the geometric mean of gendan/reference over the throughput phases
//!   (a: push, pull by N devices, pull of all by one device; c: offline burst);
//! * memory: reference peak RSS / gendan peak RSS over the whole workload (VmHWM);
//! * p99: reference p99 / gendan p99 of phase (d), live editing.

use std::time::Duration;

use crate::Params;
use crate::fill::RestResult;
use crate::target::Kind;

/// One phase against one server.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// The phase.
    pub name: String,
    /// Its duration in seconds.
    pub secs: f64,
    /// Records synced per second.
    pub records_per_s: Option<f64>,
    /// Edits delivered per second.
    pub edits_per_s: Option<f64>,
    /// Edit → arrival latency percentiles, ms.
    pub p50: Option<f64>,
    /// p95.
    pub p95: Option<f64>,
    /// p99.
    pub p99: Option<f64>,
    /// Peak server RSS during the phase (sampled every 50 ms), bytes.
    pub peak_rss: u64,
    /// Server CPU seconds (user + system) during the phase.
    pub cpu: f64,
    /// WebSocket payload bytes both ways.
    pub bytes: u64,
}

/// A whole workload against one server.
#[derive(Debug)]
pub struct RunResult {
    /// Which server.
    pub kind: Kind,
    /// The phases in order.
    pub phases: Vec<PhaseResult>,
    /// Peak RSS of the server process over its life (VmHWM), bytes.
    pub peak_rss: u64,
    /// CPU seconds of the server process over its life.
    pub cpu: f64,
    /// Sessions that failed.
    pub failures: u64,
    /// The first failure.
    pub first_failure: Option<String>,
    /// `doc-unavailable` answers received.
    pub unavailable: u64,
}

fn mb(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn x(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("x{v:.2}"))
}

/// Prints everything to stdout.
#[allow(clippy::print_stdout, reason = "the report is the program's output")]
pub fn print(p: &Params, runs: &[RunResult]) {
    println!();
    println!(
        "Workload (BENCH_SCALE={}): N={} devices x M={} records (inspections, {} points of measure); window {} docs in flight;",
        p.scale, p.devices, p.records, p.points, p.window
    );
    println!(
        "  (b) {} edits/s for {} s; (c) K={} offline edits per device; (d) D={} devices x {} edits/s for {} s on one record.",
        p.steady_rate, p.steady_secs, p.burst_edits, p.live_devices, p.live_rate, p.live_secs
    );
    println!("  Gendan: auth on (each device logs in as its user); reference: no auth.");
    println!();
    println!(
        "| {:<31} | {:<9} | {:>7} | {:>9} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>7} | {:>8} |",
        "phase",
        "server",
        "secs",
        "records/s",
        "edits/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "peak MB",
        "CPU s",
        "wire MB"
    );
    println!(
        "|{:-<33}|{:-<11}|{:->9}|{:->11}|{:->10}|{:->10}|{:->10}|{:->10}|{:->10}|{:->9}|{:->10}|",
        "", "", "", "", "", "", "", "", "", "", ""
    );
    let g = runs.iter().find(|r| r.kind == Kind::Gendan);
    let r = runs.iter().find(|r| r.kind == Kind::Reference);
    let phases = runs.first().map_or(0, |r| r.phases.len());
    for i in 0..phases {
        for run in runs {
            let ph = &run.phases[i];
            println!(
                "| {:<31} | {:<9} | {:>7.2} | {:>9} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8.1} | {:>7.2} | {:>8.2} |",
                ph.name,
                run.kind.name(),
                ph.secs,
                opt(ph.records_per_s, 0),
                opt(ph.edits_per_s, 0),
                opt(ph.p50, 1),
                opt(ph.p95, 1),
                opt(ph.p99, 1),
                mb(ph.peak_rss),
                ph.cpu,
                mb(ph.bytes)
            );
        }
        if let (Some(g), Some(r)) = (g, r) {
            let (a, b) = (&g.phases[i], &r.phases[i]);
            println!(
                "| {:<31} | {:<9} | {:>7} | {:>9} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>7} | {:>8} |",
                "",
                "ratio",
                x(ratio(Some(b.secs), Some(a.secs))),
                x(ratio(a.records_per_s, b.records_per_s)),
                x(ratio(a.edits_per_s, b.edits_per_s)),
                x(ratio(b.p50, a.p50)),
                x(ratio(b.p95, a.p95)),
                x(ratio(b.p99, a.p99)),
                x(ratio(Some(b.peak_rss as f64), Some(a.peak_rss as f64))),
                x(ratio(Some(b.cpu), Some(a.cpu))),
                x(ratio(Some(b.bytes as f64), Some(a.bytes as f64))),
            );
        }
    }
    println!();
    for run in runs {
        println!(
            "{}: peak RSS (VmHWM) {:.1} MB, CPU {:.1} s over the workload; {} session failures{}; {} doc-unavailable answers",
            run.kind.name(),
            mb(run.peak_rss),
            run.cpu,
            run.failures,
            run.first_failure
                .as_ref()
                .map(|f| format!(" (first: {f})"))
                .unwrap_or_default(),
            run.unavailable
        );
    }
}

/// The memory-at-rest line.
#[allow(clippy::print_stdout, reason = "the report is the program's output")]
pub fn print_rest(rest: &RestResult) {
    println!(
        "memory at rest (gendan): {} records stored ({:.0} MB on disk, filled in {:.0} s); RSS {:.1} MB at start; a new device pulled {} in {:.1} s ({:.0}/s); peak {:.1} MB; after {:.0} s idle ({} documents in memory): RSS {:.1} MB",
        rest.records,
        mb(rest.store_bytes),
        rest.fill_secs,
        mb(rest.rss_start),
        rest.pulled,
        rest.pull_secs,
        rest.pulled as f64 / rest.pull_secs.max(1e-9),
        mb(rest.rss_peak),
        rest.idle_wait_secs,
        rest.docs_in_memory
            .map_or_else(|| "?".into(), |d| d.to_string()),
        mb(rest.rss_idle)
    );
}

/// The total time and the final ratio line (the last line of the output).
#[allow(clippy::print_stdout, reason = "the report is the program's output")]
pub fn print_ratios(runs: &[RunResult], took: Duration) {
    println!("total time {:.0} s", took.as_secs_f64());
    let g = runs.iter().find(|r| r.kind == Kind::Gendan);
    let r = runs.iter().find(|r| r.kind == Kind::Reference);
    if let (Some(g), Some(r)) = (g, r) {
        let mut logs = Vec::new();
        for (a, b) in g.phases.iter().zip(&r.phases) {
            if let Some(v) = ratio(a.records_per_s, b.records_per_s) {
                logs.push(v.ln());
            } else if a.name.starts_with("c.")
                && let Some(v) = ratio(a.edits_per_s, b.edits_per_s)
            {
                logs.push(v.ln());
            }
        }
        let throughput =
            (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp());
        let memory = ratio(Some(r.peak_rss as f64), Some(g.peak_rss as f64));
        let p99 = ratio(
            r.phases.last().and_then(|p| p.p99),
            g.phases.last().and_then(|p| p.p99),
        );
        let f = |v: Option<f64>| v.map_or_else(|| "?".into(), |v| format!("{v:.2}"));
        println!(
            "gendan/reference: throughput x{} memory x{} p99 x{}",
            f(throughput),
            f(memory),
            f(p99)
        );
    }
}
