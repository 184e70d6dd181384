//! A `gendan serve` process for one test: its own port on 127.0.0.1, its own temporary
//! data folder, killed (SIGKILL) and reaped when the guard is dropped — also when the test
//! fails, in which case the end of the server's log is printed.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::PATIENCE;

/// How `gendan serve` is started.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Pass `--demo` (loads the demo users and records into an empty data folder).
    pub demo: bool,
    /// More arguments for `gendan serve`, e.g. `["--frame-bytes-max", "4096"]`.
    pub args: Vec<String>,
}

impl ServerOptions {
    /// The demo data set, default limits.
    pub fn demo() -> Self {
        ServerOptions {
            demo: true,
            args: Vec::new(),
        }
    }

    /// Adds arguments.
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_string()));
        self
    }
}

/// A running server. Dropping it kills the process.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    port: u16,
    options: ServerOptions,
    /// Holds the data folder and the logs; removed on drop.
    dir: tempfile::TempDir,
    starts: u32,
}

/// The `gendan` binary these tests run: `$GENDAN_BIN`, else the one next to the test
/// executable's profile folder (`target/debug/gendan` for `target/debug/deps/test-…`).
///
/// # Panics
/// When it does not exist, with the command that builds it.
pub fn gendan_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GENDAN_BIN") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join(format!("gendan{}", std::env::consts::EXE_SUFFIX)));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/debug")
            .join(format!("gendan{}", std::env::consts::EXE_SUFFIX)),
    );
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "the gendan binary is missing (looked for {candidates:?}): build it first with \
         `cargo build -p gendan-server --bin gendan` (`cargo test --workspace` and `make test` \
         build it), or point GENDAN_BIN at it"
    );
}

/// A port on 127.0.0.1 that was free a moment ago. (The server prints the address it was
/// given, so with port 0 a test could not learn the real one.)
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

impl Server {
    /// Starts `gendan serve --demo` on a fresh data folder and waits until it answers.
    pub fn start_demo() -> Server {
        Self::start(ServerOptions::demo())
    }

    /// Starts `gendan serve` on a fresh data folder and waits until it answers `/healthz`.
    ///
    /// # Panics
    /// When the server does not come up, with its log.
    pub fn start(options: ServerOptions) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("gendan-e2e-")
            .tempdir()
            .expect("a temporary folder");
        let mut server = Server {
            child: None,
            port: 0,
            options,
            dir,
            starts: 0,
        };
        server.launch(true);
        server
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Kills the process with SIGKILL (no graceful shutdown: nothing pending is written)
    /// and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data folder, without `--demo` (the folder already
    /// has its users), on a new port, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch(false);
    }

    fn launch(&mut self, first: bool) {
        let bin = gendan_bin();
        let mut last_log = String::new();
        // A port found free can be taken by another process before the server binds it:
        // try a few.
        for _attempt in 0..5 {
            self.port = free_port();
            self.starts += 1;
            let log_path = self.log_path();
            let log = File::create(&log_path).expect("create the server log");
            let mut cmd = Command::new(&bin);
            cmd.arg("serve")
                .arg("--bind")
                .arg(format!("127.0.0.1:{}", self.port))
                .arg("--data")
                .arg(self.data_dir())
                // No PWA: the tests use the API only.
                .arg("--web")
                .arg(self.dir.path().join("no-web"))
                .args(&self.options.args)
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log);
            if first && self.options.demo {
                cmd.arg("--demo");
            }
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return,
                Err(exited) => {
                    last_log = self.log();
                    self.kill9();
                    if !(exited && last_log.contains("cannot listen")) {
                        break;
                    }
                }
            }
        }
        panic!(
            "the server did not start (port {}); its log:\n{last_log}",
            self.port
        );
    }

    /// Waits until `/healthz` answers 200. Err(true) when the process exited.
    fn wait_ready(&mut self) -> Result<(), bool> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_status)) = child.try_wait()
            {
                return Err(true);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && let Ok(r) = crate::http::request(self.port, "GET", "/healthz", None, None)
                && r.status == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(false)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("server-{}.log", self.starts))
    }

    /// The log (stdout and stderr) of the current (or last) process.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The logs of every start, oldest first.
    pub fn all_logs(&self) -> String {
        (1..=self.starts)
            .map(|i| {
                let p = self.dir.path().join(format!("server-{i}.log"));
                format!(
                    "--- start {i} ---\n{}",
                    std::fs::read_to_string(p).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            let logs = self.all_logs();
            let tail: Vec<&str> = logs.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "server log (last {} lines, data in {}):\n{}",
                tail.len(),
                self.dir.path().display(),
                tail.join("\n")
            );
        }
    }
}
