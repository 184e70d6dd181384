//! The servers under test, as child processes on 127.0.0.1: `gendan serve` on a fresh sled
//! store (auth on: devices log in) and the reference automerge-repo server
//! (`tests/bench-reference/server.mjs`, no auth). Their memory and CPU time are read from
//! `/proc/<pid>`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `gendan serve`.
    Gendan,
    /// The reference automerge-repo server (node).
    Reference,
}

impl Kind {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gendan => "gendan",
            Kind::Reference => "reference",
        }
    }
}

/// The password of every bench user.
pub const PASSWORD: &str = "bench-password-1";

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct Target {
    /// Which server.
    pub kind: Kind,
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The admin's session token (Gendan only).
    pub admin_token: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

fn wait_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before it listened: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 60 s");
}

impl Target {
    /// Starts `gendan serve` (the binary `bin`) on `data` (a fresh folder when `None`), with
    /// an admin user made by `gendan user add` first when the folder is new.
    pub fn gendan(bin: &Path, data: Option<&Path>, extra: &[&str]) -> Target {
        let (dir, data) = match data {
            Some(d) => (None, d.to_path_buf()),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("gendan-bench-")
                    .tempdir()
                    .expect("a temporary folder");
                let data = dir.path().join("data");
                (Some(dir), data)
            }
        };
        if !data.join("store").exists() && dir.is_some() {
            let status = Command::new(bin)
                .args(["user", "add", "--data"])
                .arg(&data)
                .args([
                    "--username",
                    "bench-admin",
                    "--password",
                    PASSWORD,
                    "--role",
                    "admin",
                ])
                .stdout(Stdio::null())
                .status()
                .expect("run gendan user add");
            assert!(status.success(), "gendan user add failed: {status}");
        }
        let port = free_port();
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(&data)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        wait_port(port, &mut child, "gendan serve");
        let mut t = Target {
            kind: Kind::Gendan,
            child,
            port,
            admin_token: None,
            _dir: dir,
        };
        t.admin_token = Some(t.login("bench-admin"));
        t
    }

    /// Starts the reference server (`node server.mjs PORT DATA` in `dir`) on a fresh folder.
    pub fn reference(dir: &Path) -> Target {
        // Absolute: node runs in `dir`, so a relative path would be taken twice.
        let dir = &dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("the reference folder {}: {e}", dir.display()));
        let tmp = tempfile::Builder::new()
            .prefix("reference-bench-")
            .tempdir()
            .expect("a temporary folder");
        let port = free_port();
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg(port.to_string())
            .arg(tmp.path().join("data"))
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (the reference server)");
        // Wait for its "listening" line, then keep draining its stdout.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening") => {}
            other => panic!("the reference server did not start: {other:?}"),
        }
        std::thread::spawn(move || for _ in lines {});
        wait_port(port, &mut child, "the reference server");
        Target {
            kind: Kind::Reference,
            child,
            port,
            admin_token: None,
            _dir: Some(tmp),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The WebSocket URL for a device with `token` (ignored by the reference server).
    pub fn url(&self, token: &str) -> String {
        match self.kind {
            Kind::Gendan => format!("ws://127.0.0.1:{}/sync?token={token}", self.port),
            Kind::Reference => format!("ws://127.0.0.1:{}/", self.port),
        }
    }

    /// Logs `user` in (Gendan) and returns the session token.
    pub fn login(&self, user: &str) -> String {
        let r = gendan_tests::http::post(
            self.port,
            "/api/v1/login",
            None,
            &json!({"username": user, "password": PASSWORD}),
        );
        assert_eq!(r.status, 200, "login as {user}: {}", r.body);
        r.json()["token"].as_str().expect("a token").to_string()
    }

    /// Adds a user over the admin REST API (Gendan).
    pub fn add_user(&self, user: &str, role: &str) {
        let r = gendan_tests::http::post(
            self.port,
            "/api/v1/users",
            self.admin_token.as_deref(),
            &json!({"username": user, "password": PASSWORD, "role": role}),
        );
        assert_eq!(r.status, 201, "add user {user}: {}", r.body);
    }

    /// Stops the server (SIGKILL; nothing of the run is read after this).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory now and at its peak (VmRSS, VmHWM), in bytes.
pub fn rss(pid: u32) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resident memory now, in bytes, counted page by page (`Rss` of `/proc/<pid>/smaps_rollup`);
/// VmRSS when that file cannot be read.
///
/// Why not VmRSS: the kernel keeps it in per-CPU counters that it adds up lazily. Read
/// right after the server freed the documents it unloaded, VmRSS was about 6 MB below
/// the page count, and matched it two seconds later (BENCHMARKS.md, memory at rest).
pub fn rss_exact(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Rss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or_else(|| rss(pid).0, |kb| kb * 1024)
}

/// CPU seconds used so far (user + system).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(14) + ticks(15)) as f64 / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Samples a process's VmRSS every 50 ms and keeps the largest value since the last
/// [`RssSampler::take_peak`].
#[derive(Debug, Clone)]
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> RssSampler {
        let s = RssSampler {
            peak: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (peak, stop) = (s.peak.clone(), s.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        s
    }

    /// The peak since the last call (and restarts from the current value).
    pub fn take_peak(&self, pid: u32) -> u64 {
        let now = rss(pid).0;
        self.peak.swap(now, Ordering::Relaxed).max(now)
    }

    /// Stops sampling.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The reference server's folder next to this crate.
pub fn default_reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bench-reference")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_both_ways_and_agrees() {
        let me = std::process::id();
        // Touch 32 MB so that both readings are well above zero.
        let block = vec![1u8; 32 << 20];
        let exact = rss_exact(me);
        let (vm_rss, vm_hwm) = rss(me);
        assert!(block.iter().step_by(4096).all(|b| *b == 1));
        assert!(exact >= 32 << 20, "page count {exact}");
        assert!(vm_rss >= 16 << 20, "VmRSS {vm_rss}");
        assert!(vm_hwm >= vm_rss);
        // The two differ by the kernel's counter lag, not by a factor.
        assert!(
            exact / 2 < vm_rss && vm_rss / 2 < exact,
            "{exact} vs {vm_rss}"
        );
    }

    #[test]
    fn a_process_that_is_gone_reads_as_zero() {
        // Above the kernel's largest pid (4,194,304).
        assert_eq!(rss_exact(u32::MAX), 0);
        assert_eq!(rss(u32::MAX), (0, 0));
    }
}
