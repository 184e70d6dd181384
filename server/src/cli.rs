//! The `gendan` command line: one subcommand per task, parsed with clap, run against the pure
//! rules of `gendan-core`.
//!
//! Exit codes: 0 on success; 2 for input that cannot be used (clap's own usage errors, and
//! values the core rejects); 1 when the answer cannot be written. The admin commands (`user`,
//! `backup`, `restore`, in [`crate::admin`]) also exit 2 for a refusal and 1 for a failure.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gendan_core::aql::{self, Aql, AqlError, InspectionLevel, LOT_SIZE_MAX, LOT_SIZE_MIN};

use crate::admin;

/// Exit code for input that cannot be used, the same as clap's usage errors.
const EXIT_INVALID_INPUT: u8 = 2;
/// Exit code when the answer cannot be written (stdout closed, disk full).
const EXIT_OUTPUT_FAILED: u8 = 1;

/// Gendan (跟单): offline-first order follow-up and QC inspection.
#[derive(Debug, Parser)]
#[command(name = "gendan", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `gendan`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: WebSocket sync at /sync, REST at /api/v1, the PWA at /.
    ///
    /// `gendan serve --bind 127.0.0.1:8080 --data ./data [--demo] [--tls-cert C --tls-key K]`
    Serve(Box<crate::serve::ServeArgs>),
    /// Load the demo users and records into a data folder that has no users yet.
    ///
    /// Prints {"loaded": true|false}. Every demo user's password is `gendan-demo`.
    Demo(DemoArgs),
    /// Print the sampling plan for a lot (ISO 2859-1, single sampling, normal inspection).
    ///
    /// The answer is one JSON object on one line, with the fields code_letter, sample_size,
    /// accept, reject and inspect_all.
    Aql(AqlArgs),
    /// Manage users: add, list, revoke sessions, set passwords. Opens the data folder itself:
    /// stop the server first.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Write every document, account and blob of the data folder to one backup file.
    ///
    /// Stop the server first. Prints {"backup", "keys", "blobs", "bytes", "sha256"}.
    Backup(admin::BackupArgs),
    /// Recreate a data folder from a backup file: `gendan restore --from FILE [--data DIR]`.
    ///
    /// The folder must be absent or empty; the file is checked whole (structure, every blob's
    /// hash, the final SHA-256) before anything is written.
    Restore(admin::RestoreArgs),
    /// Write the order tracking sheet (one row per order line with the milestone dates).
    ///
    /// `gendan export orders --data D --out FILE.xlsx [--lang zh|en]`. Stop the server first
    /// (or download it from the office page).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Read an order tracking sheet: creates or updates orders (matched by order no. and
    /// style no.) and prints {"created": N, "updated": M, "errors": [{"row", "message", "code", "params"}]}.
    ///
    /// `gendan import orders --data D FILE.xlsx`. Bad rows are reported and skipped; the
    /// good ones are imported. Stop the server first.
    #[command(subcommand)]
    Import(ImportCommand),
}

/// What `gendan export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The order tracking sheet.
    Orders(ExportOrdersArgs),
}

/// The arguments of `gendan export orders`.
#[derive(Debug, Args)]
pub struct ExportOrdersArgs {
    /// The data folder.
    #[arg(long, default_value = crate::data_dir::DEFAULT_DATA_DIR)]
    pub data: std::path::PathBuf,
    /// The workbook to write (refused if it exists).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// The language of the headers.
    #[arg(long, value_enum, default_value_t = crate::excel::Lang::Zh)]
    pub lang: crate::excel::Lang,
}

/// What `gendan import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// An order tracking sheet.
    Orders(ImportOrdersArgs),
}

/// The arguments of `gendan import orders`.
#[derive(Debug, Args)]
pub struct ImportOrdersArgs {
    /// The data folder.
    #[arg(long, default_value = crate::data_dir::DEFAULT_DATA_DIR)]
    pub data: std::path::PathBuf,
    /// The user the orders are created and changed by (an account of an office role).
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// The workbook (.xlsx) to read.
    pub file: std::path::PathBuf,
}

/// The arguments of `gendan aql`.
#[derive(Debug, Args)]
pub struct AqlArgs {
    /// Number of units in the lot (2 to 10000000).
    #[arg(long, value_parser = parse_lot_size)]
    pub lot_size: u64,
    /// Inspection level: S-1, S-2, S-3, S-4, I, II or III.
    #[arg(long, default_value_t = InspectionLevel::II)]
    pub level: InspectionLevel,
    /// Acceptance quality limit: 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0 or 6.5.
    #[arg(long)]
    pub aql: Aql,
}

/// Reads a lot size as a whole number; whether it is in range is the core's to say.
fn parse_lot_size(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| {
        format!("expected a whole number of units from {LOT_SIZE_MIN} to {LOT_SIZE_MAX}")
    })
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input was read, but the rules refuse it.
    #[error(transparent)]
    Aql(#[from] AqlError),
    /// The answer could not be written or encoded.
    #[error("cannot write the answer: {0}")]
    Output(#[from] io::Error),
    /// An admin command (user, backup, restore) was refused or failed.
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
}

impl CliError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Aql(_) => EXIT_INVALID_INPUT,
            CliError::Output(_) => EXIT_OUTPUT_FAILED,
            CliError::Admin(error) => error.exit_code(),
        }
    }
}

/// The arguments of `gendan demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The data folder.
    #[arg(long, default_value = crate::data_dir::DEFAULT_DATA_DIR)]
    pub data: std::path::PathBuf,
}

/// The log filter when `GENDAN_LOG` is not set. Automerge opens an INFO span in
/// `load_changes` (every merge of incoming changes) with the document's whole change graph
/// as a field; at INFO the log formatter writes that graph out as text on every merge —
/// 42 % of the server's CPU with 50 devices editing one record (perf, BENCHMARKS.md). Its
/// own logs are wanted from WARN up only.
pub const DEFAULT_LOG_FILTER: &str = "info,automerge=warn";

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GENDAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .try_init();
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(crate::memory::on_worker_idle)
        .on_thread_stop(crate::memory::release_now)
        .build()
}

/// Runs the server or the demo loader: they need a runtime and report failures with exit 1.
fn run_async(command: &Command) -> Option<ExitCode> {
    let result: anyhow::Result<()> = match command {
        Command::Serve(args) => {
            init_logging();
            runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(crate::serve::run((**args).clone())))
        }
        Command::Demo(args) => {
            init_logging();
            runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(demo_command(args)))
        }
        Command::Export(ExportCommand::Orders(args)) => export_orders(args),
        Command::Import(ImportCommand::Orders(args)) => {
            init_logging();
            runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(import_orders(args)))
        }
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_OUTPUT_FAILED)
        }
    })
}

/// A sync loop over `storage` for a command that writes records outside the server.
fn offline_sync(storage: &crate::persist::ServerStorage, name: &str) -> crate::sync::SyncHandle {
    let config = crate::sync::SyncConfig {
        hub: gendan_core::protocol::hub::HubConfig {
            peer_id: gendan_core::protocol::PeerId::new(format!("gendan-{name}")),
            storage_id: gendan_core::protocol::StorageId::new(name),
            limits: gendan_core::protocol::hub::HubLimits::default(),
        },
        pending_outbound_max: crate::sync::PENDING_OUTBOUND_MAX_DEFAULT,
        batch_events_max: crate::sync::BATCH_EVENTS_MAX_DEFAULT,
        idle_unload_ms: crate::sync::IDLE_UNLOAD_MS_DEFAULT,
    };
    crate::sync::spawn(config, std::sync::Arc::new(storage.clone()))
}

/// `gendan export orders`.
fn export_orders(args: &ExportOrdersArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    if args.out.exists() {
        anyhow::bail!("{} exists; choose another file", args.out.display());
    }
    let data = crate::data_dir::DataDir::new(&args.data);
    let (storage, _blobs) = crate::serve::open_storage(&data)?;
    let rows = crate::excel::store_rows(&storage)?;
    let bytes = crate::excel::write_sheet(&rows, args.lang)?;
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let mut out = io::stdout().lock();
    serde_json::to_writer(
        &mut out,
        &serde_json::json!({ "out": args.out, "rows": rows.len(), "bytes": bytes.len() }),
    )?;
    writeln!(out)?;
    Ok(())
}

/// `gendan import orders`.
async fn import_orders(args: &ImportOrdersArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let rows = crate::excel::read_sheet(&bytes)
        .with_context(|| format!("{} was not imported", args.file.display()))?;
    let data = crate::data_dir::DataDir::new(&args.data);
    let (storage, _blobs) = crate::serve::open_storage(&data)?;
    match storage.accounts.get_user(&args.user)? {
        Some(user) if user.role.is_office() => {}
        Some(_) => anyhow::bail!("{} is not an office user; use --user", args.user),
        None => anyhow::bail!("there is no user {}; use --user", args.user),
    }
    let sync = offline_sync(&storage, "import");
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    )
    .unwrap_or(i64::MAX);
    let summary = crate::excel::import(&storage, &sync, rows, &args.user, now).await;
    sync.shutdown().await;
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &summary)?;
    writeln!(out)?;
    Ok(())
}

async fn demo_command(args: &DemoArgs) -> anyhow::Result<()> {
    let data = crate::data_dir::DataDir::new(&args.data);
    let (storage, _blobs) = crate::serve::open_storage(&data)?;
    let sync = offline_sync(&storage, "demo-loader");
    let loaded = crate::demo::seed_if_empty(&storage, &sync).await?;
    sync.shutdown().await;
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &serde_json::json!({ "loaded": loaded }))?;
    writeln!(out)?;
    Ok(())
}

/// Parses the process arguments, runs the subcommand and returns the exit code. Usage errors
/// are reported by clap, which exits with code 2 by itself.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(code) = run_async(&cli.command) {
        return code;
    }
    let mut stdout = io::stdout().lock();
    match execute(&cli, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a parsed command, writing its answer to `out`.
pub fn execute(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    match &cli.command {
        Command::Aql(args) => aql_command(args, out),
        Command::User(command) => Ok(admin::user(command, out)?),
        Command::Backup(args) => Ok(admin::backup(args, out)?),
        Command::Restore(args) => Ok(admin::restore(args, out)?),
        // Run by `run_async`.
        Command::Serve(_) | Command::Demo(_) | Command::Export(_) | Command::Import(_) => Ok(()),
    }
}

/// `gendan aql`: one JSON object, on one line.
fn aql_command(args: &AqlArgs, out: &mut impl Write) -> Result<(), CliError> {
    let plan = aql::plan(args.lot_size, args.level, args.aql)?;
    serde_json::to_writer(&mut *out, &plan).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(args: &[&str]) -> Result<String, CliError> {
        let cli = Cli::try_parse_from(args).expect("arguments parse");
        let mut out = Vec::new();
        execute(&cli, &mut out)?;
        Ok(String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn aql_prints_one_json_line() {
        assert_eq!(
            answer(&["gendan", "aql", "--lot-size", "5000", "--aql", "2.5"]).unwrap(),
            "{\"code_letter\":\"L\",\"sample_size\":200,\"accept\":10,\"reject\":11,\"inspect_all\":false}\n"
        );
    }

    #[test]
    fn aql_rejects_a_lot_below_the_table() {
        let error = answer(&["gendan", "aql", "--lot-size", "1", "--aql", "2.5"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.to_string(),
            "lot size 1 is too small: Table 1 of ISO 2859-1 starts at 2 units"
        );
    }

    #[test]
    fn clap_rejects_unknown_values_with_the_core_message() {
        let error = Cli::try_parse_from([
            "gendan",
            "aql",
            "--lot-size",
            "10",
            "--level",
            "IV",
            "--aql",
            "2.5",
        ])
        .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error
                .to_string()
                .contains("expected one of S-1, S-2, S-3, S-4, I, II, III")
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn aql_help_states_the_core_limits() {
        use clap::CommandFactory;
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("aql")
            .expect("aql subcommand")
            .render_help()
            .to_string();
        assert!(
            help.contains(&format!("({LOT_SIZE_MIN} to {LOT_SIZE_MAX})")),
            "{help}"
        );
    }
}

#[cfg(test)]
mod runtime_tests {
    /// A runtime thread gives its free memory back before it ends: a blocking-pool thread
    /// that went idle and exits would otherwise leave its free pages to the allocator's
    /// abandoned list.
    #[test]
    fn runtime_threads_release_their_memory_when_they_stop() {
        crate::memory::testing::install();
        let rt = super::runtime().expect("a runtime");
        let blocking = rt
            .block_on(async { tokio::task::spawn_blocking(|| std::thread::current().id()).await })
            .expect("the blocking task");
        assert_eq!(crate::memory::testing::releases_on(blocking), 0);
        drop(rt); // stops every thread of the runtime
        assert_eq!(crate::memory::testing::releases_on(blocking), 1);
    }
}

#[cfg(test)]
mod log_tests {
    use super::DEFAULT_LOG_FILTER;
    use tracing::Level;

    /// Automerge's per-merge span (its change graph as a field) stays off by default; our
    /// own INFO logs stay on.
    #[test]
    fn the_default_filter_keeps_automerges_spans_off() {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(!tracing::enabled!(target: "automerge::storage::load", Level::INFO));
            assert!(tracing::enabled!(target: "automerge::storage::load", Level::WARN));
            assert!(tracing::enabled!(target: "gendan_server::sync", Level::INFO));
        });
    }
}
