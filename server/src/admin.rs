//! The admin commands of `gendan`: `user add|list|revoke|passwd`, `backup` and `restore`.
//! They open the data folder themselves, so the server must be stopped (sled allows one
//! process per store); a running server is reported as such.
//!
//! Each prints one JSON line on success. Exit codes (see [`AdminError::exit_code`]): 2 for
//! input that cannot be used or a refusal (bad username, unknown user, a data folder in use,
//! a damaged backup file, …), 1 when the work failed (disk, damaged store).

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::accounts::{AccountError, Accounts, NewUser, Role};
use crate::backup::{self, BackupError};
use crate::blobs::BlobError;
use crate::data_dir::{DEFAULT_DATA_DIR, DataDir};
use crate::store::StoreError;

/// Exit code for input that cannot be used, the same as clap's usage errors.
const EXIT_INVALID_INPUT: u8 = 2;
/// Exit code when the work failed.
const EXIT_FAILED: u8 = 1;

/// The data folder argument shared by the admin commands.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The data folder (holds store/ and blobs/).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
}

/// `gendan user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (creates the data folder if it does not exist yet).
    ///
    /// Prints the new user as one JSON object.
    Add(UserAddArgs),
    /// List every user, as one JSON object {"users": [...]}.
    List(DataArgs),
    /// End every session of a user (their devices must log in again).
    Revoke(UsernameArgs),
    /// Set a user's password (their sessions stay; revoke them to end them).
    Passwd(UserPasswdArgs),
    /// Set a user's job titles (which approval steps they may decide), replacing the ones
    /// they had; with no --title, clears them. Prints the user.
    Title(UserTitleArgs),
    /// Move a user to another role, factory or warehouse (which decide the records they
    /// see); their device's list follows at its next login. Prints the user.
    Scope(UserScopeArgs),
}

/// The arguments of `gendan user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Login name: 1 to 64 characters of a-z, 0-9, '.', '_', '-'.
    #[arg(long)]
    pub username: String,
    /// Password: at least 8 characters. Visible to other local users in the process list
    /// while the command runs.
    #[arg(long)]
    pub password: String,
    /// Role: admin, merchandiser, sales, qc, warehouse, shipping, approver or factory.
    #[arg(long)]
    pub role: Role,
    /// Name shown in the apps.
    #[arg(long)]
    pub display_name: Option<String>,
    /// The factory a factory user belongs to (required for --role factory).
    #[arg(long)]
    pub factory: Option<String>,
    /// The warehouse of a warehouse clerk.
    #[arg(long)]
    pub warehouse: Option<String>,
    /// A job title, e.g. general_manager, finance, sales_manager, product_control_manager
    /// (a-z, 0-9, '_'); repeat for several. Decides which approval steps the user may
    /// decide.
    #[arg(long, value_name = "TITLE")]
    pub title: Vec<String>,
}

/// The arguments of `gendan user title`.
#[derive(Debug, Args)]
pub struct UserTitleArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The user.
    #[arg(long)]
    pub username: String,
    /// A job title; repeat for several; none clears them.
    #[arg(long, value_name = "TITLE")]
    pub title: Vec<String>,
}

/// The arguments of `gendan user scope`.
#[derive(Debug, Args)]
pub struct UserScopeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The user.
    #[arg(long)]
    pub username: String,
    /// The new role: admin, merchandiser, sales, qc, warehouse, shipping, approver or
    /// factory.
    #[arg(long)]
    pub role: Role,
    /// The factory (required for --role factory); without it the user has none.
    #[arg(long)]
    pub factory: Option<String>,
    /// The warehouse; without it the user has none.
    #[arg(long)]
    pub warehouse: Option<String>,
}

/// The arguments of commands that name one user.
#[derive(Debug, Args)]
pub struct UsernameArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The user.
    #[arg(long)]
    pub username: String,
}

/// The arguments of `gendan user passwd`.
#[derive(Debug, Args)]
pub struct UserPasswdArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The user.
    #[arg(long)]
    pub username: String,
    /// The new password: at least 8 characters.
    #[arg(long)]
    pub password: String,
}

/// The arguments of `gendan backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The backup file to write; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// The arguments of `gendan restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The data folder to restore into; it must be absent or empty.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// The backup file written by `gendan backup`. It is checked whole before anything is
    /// written.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// There is no store in the data folder.
    #[error("there is no Gendan data folder at {0} (no store/ inside); check --data")]
    NoData(String),
    /// The store could not be opened or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account operation was refused or failed.
    #[error(transparent)]
    Accounts(#[from] AccountError),
    /// The blobs could not be opened.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The backup or restore was refused or failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The answer could not be written.
    #[error("cannot write the answer: {0}")]
    Output(#[from] io::Error),
}

impl AdminError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        let refused = match self {
            AdminError::NoData(_) => true,
            AdminError::Store(error) | AdminError::Backup(BackupError::Store(error)) => {
                store_refused(error)
            }
            AdminError::Accounts(error) => !matches!(
                error,
                AccountError::Crypto(_) | AccountError::Damaged(_) | AccountError::Store(_)
            ),
            AdminError::Backup(error) => matches!(
                error,
                BackupError::OutputExists(_)
                    | BackupError::NotEmpty(_)
                    | BackupError::BadFile { .. }
            ),
            AdminError::Blob(_) | AdminError::Output(_) => false,
        };
        if refused {
            EXIT_INVALID_INPUT
        } else {
            EXIT_FAILED
        }
    }
}

/// Whether a store error is a refusal the operator fixes with other input.
fn store_refused(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Locked { .. } | StoreError::NotAStore { .. } | StoreError::WrongFormat { .. }
    )
}

/// Runs `gendan user …`.
pub fn user(command: &UserCommand, out: &mut impl Write) -> Result<(), AdminError> {
    match command {
        UserCommand::Add(args) => {
            let accounts = accounts(&args.data, true)?;
            let user = accounts.add_user(NewUser {
                username: args.username.clone(),
                password: args.password.clone(),
                role: args.role,
                display_name: args.display_name.clone(),
                factory: args.factory.clone(),
                warehouse: args.warehouse.clone(),
                titles: args.title.clone(),
            })?;
            answer(out, &json!({ "added": user }))
        }
        UserCommand::List(data) => {
            let users = accounts(data, false)?.list_users()?;
            answer(out, &json!({ "users": users }))
        }
        UserCommand::Revoke(args) => {
            let revoked = accounts(&args.data, false)?.revoke_all(&args.username)?;
            answer(
                out,
                &json!({ "username": args.username, "revoked_sessions": revoked }),
            )
        }
        UserCommand::Title(args) => {
            let user =
                accounts(&args.data, false)?.set_titles(&args.username, args.title.clone())?;
            answer(out, &json!({ "user": user }))
        }
        UserCommand::Scope(args) => {
            let user = accounts(&args.data, false)?.set_scope(
                &args.username,
                args.role,
                args.factory.clone(),
                args.warehouse.clone(),
            )?;
            answer(out, &json!({ "user": user }))
        }
        UserCommand::Passwd(args) => {
            accounts(&args.data, false)?.set_password(&args.username, &args.password)?;
            answer(
                out,
                &json!({ "username": args.username, "password_changed": true }),
            )
        }
    }
}

/// Runs `gendan backup`.
pub fn backup(args: &BackupArgs, out: &mut impl Write) -> Result<(), AdminError> {
    let data = existing(&args.data.data)?;
    let store = data.open_store()?;
    let blobs = data.open_blobs(store.clone())?;
    let summary = backup::backup(store.as_ref(), &blobs, &args.out)?;
    answer(
        out,
        &json!({
            "backup": args.out.display().to_string(),
            "keys": summary.keys,
            "blobs": summary.blobs,
            "bytes": summary.bytes,
            "sha256": summary.sha256,
        }),
    )
}

/// Runs `gendan restore`.
pub fn restore(args: &RestoreArgs, out: &mut impl Write) -> Result<(), AdminError> {
    let data = DataDir::new(&args.data);
    let summary = backup::restore(&args.from, &data)?;
    answer(
        out,
        &json!({
            "restored": args.data.display().to_string(),
            "keys": summary.keys,
            "blobs": summary.blobs,
        }),
    )
}

/// The accounts of the data folder; `create` allows a new one.
fn accounts(args: &DataArgs, create: bool) -> Result<Accounts, AdminError> {
    let data = if create {
        DataDir::new(&args.data)
    } else {
        existing(&args.data)?
    };
    Ok(Accounts::new(data.open_store()?))
}

/// The data folder, if it holds a store.
fn existing(path: &std::path::Path) -> Result<DataDir, AdminError> {
    let data = DataDir::new(path);
    if data.store_dir().is_dir() {
        Ok(data)
    } else {
        Err(AdminError::NoData(path.display().to_string()))
    }
}

/// Writes one JSON line.
fn answer(out: &mut impl Write, value: &serde_json::Value) -> Result<(), AdminError> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_separate_refusals_from_failures() {
        let refused = [
            AdminError::NoData("d".into()),
            AdminError::Store(StoreError::Locked { path: "d".into() }),
            AdminError::Accounts(AccountError::UnknownUser("li".into())),
            AdminError::Accounts(AccountError::PasswordTooShort),
            AdminError::Backup(BackupError::NotEmpty("d".into())),
        ];
        for error in refused {
            assert_eq!(error.exit_code(), 2, "{error}");
        }
        let failed = [
            AdminError::Store(StoreError::Io("disk".into())),
            AdminError::Store(StoreError::Corrupt { key: "k".into() }),
            AdminError::Backup(BackupError::Io("disk".into())),
        ];
        for error in failed {
            assert_eq!(error.exit_code(), 1, "{error}");
        }
    }
}
