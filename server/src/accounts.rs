//! Users, passwords, sessions and login rate limiting (DESIGN §3, "Identity, access and
//! trust").
//!
//! - Users under `u/<username>`: the [`User`] and its argon2id password hash (PHC string,
//!   random salt), as JSON.
//! - Sessions under `t/<sha256 of token>`: only the token's SHA-256 is stored, so a copy of
//!   the store (a backup) holds no usable token; `tu/<username>/<sha256>` lists a user's
//!   sessions for [`Accounts::revoke_all`].
//!
//! Every change is flushed before the method returns: a token handed to a field device must
//! survive a server restart, or the device is locked out while offline.
//!
//! Password hashing and checking take tens of milliseconds of CPU on purpose: call
//! [`Accounts::verify_password`] and [`Accounts::add_user`] from a blocking thread in async
//! code. Times are passed in (`now_ms`), never read here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Batch, SCAN_ROWS_MAX, Store, StoreError};

pub use gendan_core::access::{Principal, Role};

/// The longest username, in bytes (of `a-z 0-9 . _ -`).
pub const USERNAME_BYTES_MAX: usize = 64;
/// The shortest password, in characters.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// The longest password, in bytes: longer input is not hashed at all.
pub const PASSWORD_BYTES_MAX: usize = 1024;
/// The longest display name, factory, warehouse or device name, in bytes.
pub const NAME_BYTES_MAX: usize = 128;
/// The most job titles one user may hold.
pub const TITLES_PER_USER_MAX: usize = 8;
/// The longest job title, in bytes.
pub const TITLE_BYTES_MAX: usize = 64;
/// The most users.
pub const USERS_MAX: usize = 10_000;
/// A session's lifetime when none is given: 30 days, because field devices stay offline
/// for weeks and must still sync when they come back.
pub const TOKEN_TTL_MS_DEFAULT: u64 = 30 * DAY_MS;
/// The longest session lifetime that may be asked for.
pub const TOKEN_TTL_MS_MAX: u64 = 365 * DAY_MS;
/// The most live sessions of one user; issuing one more ends the oldest.
pub const SESSIONS_PER_USER_MAX: usize = 50;
/// Random bytes in a session token.
pub const TOKEN_BYTES: usize = 32;

/// Failed logins for one username within [`LOGIN_WINDOW_MS`] before it is locked out.
pub const LOGIN_FAILURES_PER_USER_MAX: u32 = 5;
/// Failed logins from one client address within [`LOGIN_WINDOW_MS`] before it is locked
/// out (higher: several people may share an office's address).
pub const LOGIN_FAILURES_PER_IP_MAX: u32 = 30;
/// The login rate-limiting window.
pub const LOGIN_WINDOW_MS: u64 = 15 * 60 * 1000;
/// The most usernames and addresses the limiter remembers; past it, expired windows and
/// then the oldest are forgotten.
pub const LOGIN_LIMITER_ENTRIES_MAX: usize = 10_000;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

// All of a user's sessions fit one batch when they are revoked.
const _: () = assert!(2 * SESSIONS_PER_USER_MAX + 2 <= crate::store::BATCH_OPS_MAX);
// A user's sessions and the count of users are each read with one scan.
const _: () = assert!(SESSIONS_PER_USER_MAX < SCAN_ROWS_MAX && USERS_MAX <= SCAN_ROWS_MAX);

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The username is empty, too long or has characters other than `a-z 0-9 . _ -`.
    #[error(
        "username {0:?} must be 1 to {USERNAME_BYTES_MAX} characters of a-z, 0-9, '.', '_', '-'"
    )]
    BadUsername(String),
    /// The password is shorter than [`PASSWORD_CHARS_MIN`] characters.
    #[error("the password must have at least {PASSWORD_CHARS_MIN} characters")]
    PasswordTooShort,
    /// The password is longer than [`PASSWORD_BYTES_MAX`] bytes.
    #[error("the password must have at most {PASSWORD_BYTES_MAX} bytes")]
    PasswordTooLong,
    /// A display name, factory, warehouse or device name is empty or too long.
    #[error("{what} must be 1 to {NAME_BYTES_MAX} bytes")]
    BadName {
        /// Which field.
        what: &'static str,
    },
    /// A job title is empty, too long or not of `a-z 0-9 _`.
    #[error(
        "job title {0:?} must be 1 to {TITLE_BYTES_MAX} characters of a-z, 0-9, '_' (e.g. general_manager)"
    )]
    BadTitle(String),
    /// More than [`TITLES_PER_USER_MAX`] job titles.
    #[error("a user holds at most {TITLES_PER_USER_MAX} job titles, not {0}")]
    TooManyTitles(usize),
    /// A factory user was given no factory: they would see nothing.
    #[error("a factory user needs --factory: the factory whose orders they may read")]
    FactoryMissing,
    /// The username is taken.
    #[error("user {0} already exists")]
    Exists(String),
    /// There is no user by that name.
    #[error("there is no user {0}")]
    UnknownUser(String),
    /// There are already [`USERS_MAX`] users.
    #[error("there are already {USERS_MAX} users")]
    TooManyUsers,
    /// The change would leave no enabled administrator: nobody could manage users any more.
    #[error("{0} is the last enabled administrator; make another user admin first")]
    LastAdmin(String),
    /// The session lifetime is zero or over [`TOKEN_TTL_MS_MAX`].
    #[error("a session lifetime of {0} ms is outside 1..={TOKEN_TTL_MS_MAX}")]
    BadTtl(u64),
    /// The user is disabled and cannot be given a session.
    #[error("user {0} is disabled")]
    Disabled(String),
    /// Hashing a password or drawing random bytes failed.
    #[error("cannot hash the password or draw random bytes: {0}")]
    Crypto(String),
    /// A stored account cannot be read: the store is damaged.
    #[error("the account record {0} cannot be read; restore from a backup")]
    Damaged(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a login or a token was refused. The messages are safe to show to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password (the same answer for both).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The password was right but the user is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// The token is malformed, unknown or revoked.
    #[error("the session is not valid; log in again")]
    InvalidToken,
    /// The token's session has expired.
    #[error("the session has expired; log in again")]
    Expired,
    /// Too many failed logins for this user or address.
    #[error("too many failed logins; try again in {} s", retry_after_ms.div_ceil(1000))]
    RateLimited {
        /// How long until a login is tried again.
        retry_after_ms: u64,
    },
    /// The account store failed (not the client's fault).
    #[error("the account store failed")]
    Failed(#[from] AccountError),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        AuthError::Failed(AccountError::Store(error))
    }
}

/// A user account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Name shown in the apps.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The factory a factory user belongs to.
    #[serde(default)]
    pub factory: Option<String>,
    /// The warehouse a warehouse clerk belongs to.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// A disabled user cannot log in and their sessions are refused.
    #[serde(default)]
    pub disabled: bool,
    /// Job titles (`general_manager`, `finance`, `sales_manager`…): which approval steps
    /// the user may decide. Accounts stored before titles existed read with none.
    #[serde(default)]
    pub titles: Vec<String>,
}

impl User {
    /// The user as the access rules of `gendan-core` see them.
    pub fn principal(&self) -> Principal {
        Principal {
            user: self.username.clone(),
            role: self.role,
            factory: self.factory.clone(),
            warehouse: self.warehouse.clone(),
            titles: self.titles.clone(),
        }
    }
}

/// What [`Accounts::add_user`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Login name: 1 to [`USERNAME_BYTES_MAX`] of `a-z 0-9 . _ -`.
    pub username: String,
    /// Password: [`PASSWORD_CHARS_MIN`] characters to [`PASSWORD_BYTES_MAX`] bytes.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Name shown in the apps.
    pub display_name: Option<String>,
    /// Required for [`Role::Factory`].
    pub factory: Option<String>,
    /// The warehouse of a warehouse clerk.
    pub warehouse: Option<String>,
    /// Job titles (see [`User::titles`]).
    pub titles: Vec<String>,
}

/// An authenticated session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The user, as stored now (a role change applies at once).
    pub user: User,
    /// The device the session was issued to, if named.
    pub device: Option<String>,
    /// When it was issued, in milliseconds since the Unix epoch.
    pub issued_ms: u64,
    /// When it expires.
    pub expires_ms: u64,
}

/// A user as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserRecord {
    #[serde(flatten)]
    user: User,
    password_hash: String,
}

/// A session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    username: String,
    #[serde(default)]
    device: Option<String>,
    issued_ms: u64,
    expires_ms: u64,
}

/// Users and sessions over a [`Store`]. Cheap to clone; clones share the write lock.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    /// Held by every change, so checks and writes do not interleave.
    writes: Arc<Mutex<()>>,
    /// Bumped after every write of a user (role, scope, titles, disabled, password): live
    /// sync connections compare it to see that the accounts they act for may have changed.
    version: Arc<AtomicU64>,
}

impl Accounts {
    /// Accounts in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            writes: Arc::new(Mutex::new(())),
            version: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Creates a user with an argon2id hash of their password.
    pub fn add_user(&self, new: NewUser) -> Result<User, AccountError> {
        check_username(&new.username)?;
        check_password(&new.password)?;
        for (what, value) in [
            ("the display name", &new.display_name),
            ("the factory", &new.factory),
            ("the warehouse", &new.warehouse),
        ] {
            if let Some(value) = value {
                check_name(what, value)?;
            }
        }
        if new.role == Role::Factory && new.factory.is_none() {
            return Err(AccountError::FactoryMissing);
        }
        let titles = check_titles(new.titles)?;
        let password_hash = hash_password(&new.password)?;
        let user = User {
            username: new.username,
            role: new.role,
            display_name: new.display_name,
            factory: new.factory,
            warehouse: new.warehouse,
            disabled: false,
            titles,
        };
        let _writing = lock(&self.writes);
        if self.record(&user.username)?.is_some() {
            return Err(AccountError::Exists(user.username));
        }
        let count = self
            .store
            .scan_prefix_keys(USER_PREFIX, None, SCAN_ROWS_MAX)?
            .len();
        if count >= USERS_MAX {
            return Err(AccountError::TooManyUsers);
        }
        self.save(&UserRecord {
            user: user.clone(),
            password_hash,
        })?;
        Ok(user)
    }

    /// The user, if they exist.
    pub fn get_user(&self, username: &str) -> Result<Option<User>, AccountError> {
        check_username(username)?;
        Ok(self.record(username)?.map(|record| record.user))
    }

    /// Every user, by username.
    pub fn list_users(&self) -> Result<Vec<User>, AccountError> {
        let mut users = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows =
                self.store
                    .scan_prefix_after(USER_PREFIX, after.as_deref(), SCAN_ROWS_MAX)?;
            let full = rows.len() == SCAN_ROWS_MAX;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, value) in rows {
                users.push(decode_user(&key, &value)?.user);
            }
            if !full || users.len() >= USERS_MAX {
                return Ok(users);
            }
        }
    }

    /// Checks `password` against the user's hash. Unknown users cost the same time as known
    /// ones and get the same error.
    pub fn verify_password(&self, username: &str, password: &str) -> Result<User, AuthError> {
        if password.len() > PASSWORD_BYTES_MAX {
            return Err(AuthError::InvalidCredentials);
        }
        let record = if check_username(username).is_ok() {
            self.record(username)?
        } else {
            None
        };
        let hash = record
            .as_ref()
            .map_or_else(|| dummy_hash(), |record| record.password_hash.as_str());
        let matches = verify_hash(password, hash);
        match record {
            Some(record) if matches => {
                if record.user.disabled {
                    Err(AuthError::Disabled)
                } else {
                    Ok(record.user)
                }
            }
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Sets a new password. Existing sessions stay; end them with [`Accounts::revoke_all`].
    pub fn set_password(&self, username: &str, password: &str) -> Result<(), AccountError> {
        check_username(username)?;
        check_password(password)?;
        let password_hash = hash_password(password)?;
        let _writing = lock(&self.writes);
        let mut record = self
            .record(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_string()))?;
        record.password_hash = password_hash;
        self.save(&record)
    }

    /// Sets the user's job titles (replacing the ones they had; none clears them) and
    /// answers the user. Open sessions see the change at their next request, and a live
    /// sync connection at its next message ([`Accounts::version`]).
    pub fn set_titles(&self, username: &str, titles: Vec<String>) -> Result<User, AccountError> {
        check_username(username)?;
        let titles = check_titles(titles)?;
        let _writing = lock(&self.writes);
        let mut record = self
            .record(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_string()))?;
        record.user.titles = titles;
        self.save(&record)?;
        Ok(record.user)
    }

    /// Moves the user to another role, factory or warehouse (what decides which records
    /// they see) and answers the user. A factory user needs a factory, as at
    /// [`Accounts::add_user`]; the last enabled administrator keeps the admin role. Open
    /// sessions see the change at their next request; the sync service brings the user's
    /// index in line with the new scope and applies it to a live connection at its next
    /// message ([`Accounts::version`]).
    pub fn set_scope(
        &self,
        username: &str,
        role: Role,
        factory: Option<String>,
        warehouse: Option<String>,
    ) -> Result<User, AccountError> {
        check_username(username)?;
        for (what, value) in [("the factory", &factory), ("the warehouse", &warehouse)] {
            if let Some(value) = value {
                check_name(what, value)?;
            }
        }
        if role == Role::Factory && factory.is_none() {
            return Err(AccountError::FactoryMissing);
        }
        let _writing = lock(&self.writes);
        let mut record = self
            .record(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_string()))?;
        if record.user.role == Role::Admin && role != Role::Admin && !record.user.disabled {
            self.check_other_admin(username)?;
        }
        record.user.role = role;
        record.user.factory = factory;
        record.user.warehouse = warehouse;
        self.save(&record)?;
        Ok(record.user)
    }

    /// Disables the user and ends every session of theirs; returns how many were ended.
    pub fn disable(&self, username: &str) -> Result<usize, AccountError> {
        self.set_disabled(username, true)?;
        self.revoke_all(username)
    }

    /// Lets a disabled user log in again.
    pub fn enable(&self, username: &str) -> Result<(), AccountError> {
        self.set_disabled(username, false)
    }

    /// A new session token for the user, valid for `ttl_ms` from `now_ms`. Returns the
    /// token (64 hex digits); only its SHA-256 is stored. Expired sessions of the user are
    /// removed, and past [`SESSIONS_PER_USER_MAX`] the oldest ones are ended.
    pub fn issue_token(
        &self,
        username: &str,
        device: Option<&str>,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<String, AccountError> {
        check_username(username)?;
        if ttl_ms == 0 || ttl_ms > TOKEN_TTL_MS_MAX {
            return Err(AccountError::BadTtl(ttl_ms));
        }
        if let Some(device) = device {
            check_name("the device name", device)?;
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| AccountError::Crypto(e.to_string()))?;
        let token = hex::encode(bytes);
        let token_hash = token_hash(&token);

        let _writing = lock(&self.writes);
        let record = self
            .record(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_string()))?;
        if record.user.disabled {
            return Err(AccountError::Disabled(username.to_string()));
        }
        let mut batch = Batch::new();
        let mut live = Vec::new();
        for (hash, session) in self.sessions_of(username)? {
            if session.expires_ms <= now_ms {
                remove_session(&mut batch, username, &hash);
            } else {
                live.push((session.issued_ms, hash));
            }
        }
        live.sort();
        let excess = (live.len() + 1).saturating_sub(SESSIONS_PER_USER_MAX);
        for (_, hash) in live.iter().take(excess) {
            remove_session(&mut batch, username, hash);
        }
        let session = SessionRecord {
            username: username.to_string(),
            device: device.map(str::to_string),
            issued_ms: now_ms,
            expires_ms: now_ms.saturating_add(ttl_ms),
        };
        batch.put(session_key(&token_hash), encode(&session)?);
        batch.put(user_session_key(username, &token_hash), Vec::new());
        self.store.apply(batch)?;
        self.store.flush()?;
        Ok(token)
    }

    /// The session of `token` at `now_ms`: refused when malformed, unknown, revoked,
    /// expired, or when its user was removed or disabled.
    pub fn authenticate(&self, token: &str, now_ms: u64) -> Result<Session, AuthError> {
        if !is_token(token) {
            return Err(AuthError::InvalidToken);
        }
        let Some(value) = self.store.get(&session_key(&token_hash(token)))? else {
            return Err(AuthError::InvalidToken);
        };
        let session: SessionRecord = serde_json::from_slice(&value)
            .map_err(|_| AccountError::Damaged("a session".into()))?;
        if now_ms >= session.expires_ms {
            return Err(AuthError::Expired);
        }
        let Some(record) = self.record(&session.username)? else {
            return Err(AuthError::InvalidToken);
        };
        if record.user.disabled {
            return Err(AuthError::Disabled);
        }
        Ok(Session {
            user: record.user,
            device: session.device,
            issued_ms: session.issued_ms,
            expires_ms: session.expires_ms,
        })
    }

    /// Ends the session of `token`; returns whether there was one.
    pub fn revoke_token(&self, token: &str) -> Result<bool, AccountError> {
        if !is_token(token) {
            return Ok(false);
        }
        let hash = token_hash(token);
        let _writing = lock(&self.writes);
        let Some(value) = self.store.get(&session_key(&hash))? else {
            return Ok(false);
        };
        let session: SessionRecord = serde_json::from_slice(&value)
            .map_err(|_| AccountError::Damaged("a session".into()))?;
        let mut batch = Batch::new();
        remove_session(&mut batch, &session.username, &hash);
        self.store.apply(batch)?;
        self.store.flush()?;
        Ok(true)
    }

    /// Ends every session of the user; returns how many.
    pub fn revoke_all(&self, username: &str) -> Result<usize, AccountError> {
        check_username(username)?;
        let _writing = lock(&self.writes);
        if self.record(username)?.is_none() {
            return Err(AccountError::UnknownUser(username.to_string()));
        }
        let prefix = user_sessions_prefix(username);
        let mut ended = 0;
        loop {
            let keys = self.store.scan_prefix_keys(&prefix, None, SCAN_ROWS_MAX)?;
            if keys.is_empty() {
                break;
            }
            let mut batch = Batch::new();
            for key in &keys {
                let hash = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                remove_session(&mut batch, username, &hash);
            }
            ended += keys.len();
            self.store.apply(batch)?;
        }
        self.store.flush()?;
        Ok(ended)
    }

    /// Removes the expired sessions of every user, at most `limit` (≤ [`SCAN_ROWS_MAX`]) per
    /// call, and returns how many; call until it returns less than `limit`.
    pub fn prune_expired(&self, now_ms: u64, limit: usize) -> Result<usize, AccountError> {
        let _writing = lock(&self.writes);
        let mut batch = Batch::new();
        let mut after: Option<Vec<u8>> = None;
        let mut removed = 0;
        'scan: loop {
            let rows =
                self.store
                    .scan_prefix_after(SESSION_PREFIX, after.as_deref(), SCAN_ROWS_MAX)?;
            let full = rows.len() == SCAN_ROWS_MAX;
            after = rows.last().map(|(key, _)| key.clone());
            for (key, value) in rows {
                let session: SessionRecord = serde_json::from_slice(&value)
                    .map_err(|_| AccountError::Damaged("a session".into()))?;
                if session.expires_ms <= now_ms {
                    let hash = String::from_utf8_lossy(&key[SESSION_PREFIX.len()..]).into_owned();
                    remove_session(&mut batch, &session.username, &hash);
                    removed += 1;
                    if removed == limit {
                        break 'scan;
                    }
                }
            }
            if !full {
                break;
            }
        }
        self.store.apply(batch)?;
        self.store.flush()?;
        Ok(removed)
    }

    fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), AccountError> {
        check_username(username)?;
        let _writing = lock(&self.writes);
        let mut record = self
            .record(username)?
            .ok_or_else(|| AccountError::UnknownUser(username.to_string()))?;
        if disabled && !record.user.disabled && record.user.role == Role::Admin {
            self.check_other_admin(username)?;
        }
        record.user.disabled = disabled;
        self.save(&record)
    }

    /// Refuses a change that takes `username`, an enabled administrator, out of that role
    /// when no other enabled administrator is left. Called with the write lock held.
    fn check_other_admin(&self, username: &str) -> Result<(), AccountError> {
        let others = self
            .list_users()?
            .iter()
            .any(|u| u.role == Role::Admin && !u.disabled && u.username != username);
        if others {
            Ok(())
        } else {
            Err(AccountError::LastAdmin(username.to_string()))
        }
    }

    /// A user's sessions as `(token hash, session)`.
    fn sessions_of(&self, username: &str) -> Result<Vec<(String, SessionRecord)>, AccountError> {
        let prefix = user_sessions_prefix(username);
        let keys = self.store.scan_prefix_keys(&prefix, None, SCAN_ROWS_MAX)?;
        let mut sessions = Vec::with_capacity(keys.len());
        for key in keys {
            let hash = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            match self.store.get(&session_key(&hash))? {
                Some(value) => {
                    let session = serde_json::from_slice(&value)
                        .map_err(|_| AccountError::Damaged("a session".into()))?;
                    sessions.push((hash, session));
                }
                // A listing without its session: tidy it with the next batch.
                None => sessions.push((
                    hash,
                    SessionRecord {
                        username: username.to_string(),
                        device: None,
                        issued_ms: 0,
                        expires_ms: 0,
                    },
                )),
            }
        }
        Ok(sessions)
    }

    fn record(&self, username: &str) -> Result<Option<UserRecord>, AccountError> {
        let key = user_key(username);
        self.store
            .get(&key)?
            .map(|value| decode_user(&key, &value))
            .transpose()
    }

    fn save(&self, record: &UserRecord) -> Result<(), AccountError> {
        self.store
            .put(&user_key(&record.user.username), &encode(record)?)?;
        self.store.flush()?;
        // After the write: whoever sees the new version reads the new account.
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// A number that changes after every change of any user (in this process; clones
    /// share it). Cheap: the sync service reads it per message to see whether the accounts
    /// its connections act for may have changed, and only then reads them.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// `username` as the access rules see them now: `None` when the account does not
    /// exist or is disabled.
    pub fn principal(&self, username: &str) -> Result<Option<Principal>, AccountError> {
        Ok(self
            .get_user(username)?
            .filter(|u| !u.disabled)
            .map(|u| u.principal()))
    }
}

/// Remembers failed logins per username and per client address, in memory, and refuses
/// logins past [`LOGIN_FAILURES_PER_USER_MAX`] or [`LOGIN_FAILURES_PER_IP_MAX`] failures in
/// a [`LOGIN_WINDOW_MS`] window. Time is passed in.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<LimitKey, Window>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LimitKey {
    User(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    failures: u32,
}

impl LoginLimiter {
    /// A limiter that remembers nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses with [`AuthError::RateLimited`] when the username or the address is locked
    /// out at `now_ms`.
    pub fn check(&self, username: &str, ip: IpAddr, now_ms: u64) -> Result<(), AuthError> {
        let windows = lock(&self.windows);
        let mut retry_after_ms = 0;
        for (key, max) in [
            (user_limit_key(username), LOGIN_FAILURES_PER_USER_MAX),
            (LimitKey::Ip(ip), LOGIN_FAILURES_PER_IP_MAX),
        ] {
            if let Some(window) = windows.get(&key) {
                let ends_ms = window.start_ms.saturating_add(LOGIN_WINDOW_MS);
                if now_ms < ends_ms && window.failures >= max {
                    retry_after_ms = retry_after_ms.max(ends_ms - now_ms);
                }
            }
        }
        if retry_after_ms > 0 {
            Err(AuthError::RateLimited { retry_after_ms })
        } else {
            Ok(())
        }
    }

    /// Counts a failed login.
    pub fn record_failure(&self, username: &str, ip: IpAddr, now_ms: u64) {
        let mut windows = lock(&self.windows);
        for key in [user_limit_key(username), LimitKey::Ip(ip)] {
            if !windows.contains_key(&key) && windows.len() >= LOGIN_LIMITER_ENTRIES_MAX {
                make_room(&mut windows, now_ms);
            }
            let window = windows.entry(key).or_insert(Window {
                start_ms: now_ms,
                failures: 0,
            });
            if now_ms >= window.start_ms.saturating_add(LOGIN_WINDOW_MS) {
                *window = Window {
                    start_ms: now_ms,
                    failures: 0,
                };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }

    /// Forgets the username's failures after a successful login (the address's stay).
    pub fn record_success(&self, username: &str) {
        lock(&self.windows).remove(&user_limit_key(username));
    }

    /// A whole login: the rate limit, the password check, and the count of the outcome.
    pub fn login(
        &self,
        accounts: &Accounts,
        username: &str,
        password: &str,
        ip: IpAddr,
        now_ms: u64,
    ) -> Result<User, AuthError> {
        self.check(username, ip, now_ms)?;
        match accounts.verify_password(username, password) {
            Ok(user) => {
                self.record_success(username);
                Ok(user)
            }
            Err(error @ (AuthError::InvalidCredentials | AuthError::Disabled)) => {
                self.record_failure(username, ip, now_ms);
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// How many usernames and addresses are remembered.
    pub fn len(&self) -> usize {
        lock(&self.windows).len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limiter's key for a username: cut to the longest valid username, so odd input
/// cannot grow the map's keys.
fn user_limit_key(username: &str) -> LimitKey {
    let mut end = username.len().min(USERNAME_BYTES_MAX);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    LimitKey::User(username[..end].to_string())
}

/// Forgets expired windows, then those with the fewest failures (oldest first), so one more
/// fits: a flood of new names or addresses cannot wash out a lockout already earned.
fn make_room(windows: &mut HashMap<LimitKey, Window>, now_ms: u64) {
    windows.retain(|_, w| now_ms < w.start_ms.saturating_add(LOGIN_WINDOW_MS));
    while windows.len() >= LOGIN_LIMITER_ENTRIES_MAX {
        let oldest = windows
            .iter()
            .min_by_key(|(_, w)| (w.failures, w.start_ms))
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => windows.remove(&key),
            None => break,
        };
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `username` is 1 to [`USERNAME_BYTES_MAX`] of `a-z 0-9 . _ -`.
pub fn check_username(username: &str) -> Result<(), AccountError> {
    let ok = !username.is_empty()
        && username.len() <= USERNAME_BYTES_MAX
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadUsername(username.to_string()))
    }
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(AccountError::PasswordTooLong);
    }
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(AccountError::PasswordTooShort);
    }
    Ok(())
}

/// Checks job titles: at most [`TITLES_PER_USER_MAX`], each 1 to [`TITLE_BYTES_MAX`] of
/// `a-z 0-9 _` (the spelling of the chains' step roles). Surrounding spaces are trimmed
/// and duplicates dropped; the titles come back sorted.
pub fn check_titles(titles: Vec<String>) -> Result<Vec<String>, AccountError> {
    let mut out: Vec<String> = Vec::with_capacity(titles.len());
    for title in titles {
        let title = title.trim().to_string();
        let ok = !title.is_empty()
            && title.len() <= TITLE_BYTES_MAX
            && title
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(AccountError::BadTitle(title));
        }
        if !out.contains(&title) {
            out.push(title);
        }
    }
    if out.len() > TITLES_PER_USER_MAX {
        return Err(AccountError::TooManyTitles(out.len()));
    }
    out.sort();
    Ok(out)
}

fn check_name(what: &'static str, value: &str) -> Result<(), AccountError> {
    if value.trim().is_empty() || value.len() > NAME_BYTES_MAX {
        return Err(AccountError::BadName { what });
    }
    Ok(())
}

/// An argon2id PHC string of `password` with a random salt (argon2's default parameters:
/// 19 MiB, 2 passes, 1 lane — OWASP's recommendation).
fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AccountError::Crypto(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (argon2 compares in constant time).
fn verify_hash(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to check unknown users against, so they take as long as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // If hashing fails here it fails for real users too; an empty string still costs a
        // parse, and every check against it fails.
        hash_password("not a password of anyone's").unwrap_or_default()
    })
}

fn is_token(token: &str) -> bool {
    token.len() == 2 * TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AccountError> {
    serde_json::to_vec(value).map_err(|e| AccountError::Damaged(e.to_string()))
}

fn decode_user(key: &[u8], value: &[u8]) -> Result<UserRecord, AccountError> {
    serde_json::from_slice(value)
        .map_err(|_| AccountError::Damaged(String::from_utf8_lossy(key).into_owned()))
}

fn remove_session(batch: &mut Batch, username: &str, hash: &str) {
    batch.delete(session_key(hash));
    batch.delete(user_session_key(username, hash));
}

const USER_PREFIX: &[u8] = b"u/";
const SESSION_PREFIX: &[u8] = b"t/";

fn user_key(username: &str) -> Vec<u8> {
    [USER_PREFIX, username.as_bytes()].concat()
}

fn session_key(hash: &str) -> Vec<u8> {
    [SESSION_PREFIX, hash.as_bytes()].concat()
}

fn user_sessions_prefix(username: &str) -> Vec<u8> {
    format!("tu/{username}/").into_bytes()
}

fn user_session_key(username: &str, hash: &str) -> Vec<u8> {
    format!("tu/{username}/{hash}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::net::Ipv4Addr;

    fn accounts() -> Accounts {
        Accounts::new(Arc::new(MemoryStore::new()))
    }

    fn new_user(username: &str, role: Role) -> NewUser {
        NewUser {
            username: username.into(),
            password: "correct horse".into(),
            role,
            display_name: Some("Li Wei".into()),
            factory: (role == Role::Factory).then(|| "Ningbo Knit".into()),
            warehouse: None,
            titles: Vec::new(),
        }
    }

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn users_are_added_listed_and_checked() {
        let accounts = accounts();
        let user = accounts.add_user(new_user("li.wei", Role::Qc)).unwrap();
        accounts
            .add_user(new_user("factory-1", Role::Factory))
            .unwrap();
        assert!(matches!(
            accounts.add_user(new_user("li.wei", Role::Admin)),
            Err(AccountError::Exists(_))
        ));
        let listed = accounts.list_users().unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["factory-1", "li.wei"]
        );
        assert_eq!(
            listed[0].principal().factory.as_deref(),
            Some("Ningbo Knit")
        );

        assert_eq!(
            accounts.verify_password("li.wei", "correct horse").unwrap(),
            user
        );
        let wrong = accounts
            .verify_password("li.wei", "wrong horse")
            .unwrap_err();
        let unknown = accounts
            .verify_password("nobody", "correct horse")
            .unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert!(matches!(
            accounts.verify_password("Bad Name", "x"),
            Err(AuthError::InvalidCredentials)
        ));

        accounts.set_password("li.wei", "battery staple").unwrap();
        assert!(accounts.verify_password("li.wei", "correct horse").is_err());
        accounts
            .verify_password("li.wei", "battery staple")
            .unwrap();
        assert!(matches!(
            accounts.set_password("nobody", "battery staple"),
            Err(AccountError::UnknownUser(_))
        ));

        // The stored hash is argon2id with a salt, and not the password.
        let stored = accounts.record("li.wei").unwrap().unwrap().password_hash;
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("battery"));
        accounts.set_password("li.wei", "battery staple").unwrap();
        let again = accounts.record("li.wei").unwrap().unwrap().password_hash;
        assert_ne!(stored, again, "a new salt each time");
    }

    #[test]
    fn input_limits_are_kept() {
        let accounts = accounts();
        for bad in [
            "",
            "Li",
            "li wei",
            "li/wei",
            "李",
            &"a".repeat(USERNAME_BYTES_MAX + 1),
        ] {
            assert!(
                matches!(
                    accounts.add_user(new_user(bad, Role::Qc)),
                    Err(AccountError::BadUsername(_))
                ),
                "{bad:?}"
            );
        }
        accounts
            .add_user(new_user(&"a".repeat(USERNAME_BYTES_MAX), Role::Qc))
            .unwrap();

        let mut short = new_user("short", Role::Qc);
        short.password = "验".repeat(PASSWORD_CHARS_MIN - 1);
        assert!(matches!(
            accounts.add_user(short.clone()),
            Err(AccountError::PasswordTooShort)
        ));
        // Characters, not bytes: 8 Chinese characters are 24 bytes and enough.
        short.password = "验".repeat(PASSWORD_CHARS_MIN);
        accounts.add_user(short).unwrap();
        let mut long = new_user("long", Role::Qc);
        long.password = "p".repeat(PASSWORD_BYTES_MAX + 1);
        assert!(matches!(
            accounts.add_user(long.clone()),
            Err(AccountError::PasswordTooLong)
        ));
        long.password.pop();
        accounts.add_user(long.clone()).unwrap();
        assert!(accounts.verify_password("long", &long.password).is_ok());
        let too_long = format!("{}p", long.password);
        assert!(matches!(
            accounts.verify_password("long", &too_long),
            Err(AuthError::InvalidCredentials)
        ));

        let mut no_factory = new_user("f2", Role::Factory);
        no_factory.factory = None;
        assert!(matches!(
            accounts.add_user(no_factory),
            Err(AccountError::FactoryMissing)
        ));
        let mut named = new_user("named", Role::Qc);
        named.display_name = Some("n".repeat(NAME_BYTES_MAX + 1));
        assert!(matches!(
            accounts.add_user(named),
            Err(AccountError::BadName { .. })
        ));
    }

    #[test]
    fn users_max_is_kept() {
        let store = Arc::new(MemoryStore::new());
        let accounts = Accounts::new(store.clone());
        let mut batch = Batch::new();
        for i in 0..USERS_MAX {
            batch.put(user_key(&format!("u{i:05}")), b"{}".to_vec());
        }
        store.apply(batch).unwrap();
        assert!(matches!(
            accounts.add_user(new_user("one-more", Role::Qc)),
            Err(AccountError::TooManyUsers)
        ));
    }

    #[test]
    fn sessions_are_issued_checked_expired_and_revoked() {
        let accounts = accounts();
        accounts.add_user(new_user("li", Role::Qc)).unwrap();
        let token = accounts
            .issue_token("li", Some("tablet-3"), NOW, TOKEN_TTL_MS_DEFAULT)
            .unwrap();
        assert_eq!(token.len(), 64);
        let session = accounts.authenticate(&token, NOW + 1).unwrap();
        assert_eq!(session.user.username, "li");
        assert_eq!(session.user.role, Role::Qc);
        assert_eq!(session.device.as_deref(), Some("tablet-3"));
        assert_eq!(session.expires_ms, NOW + TOKEN_TTL_MS_DEFAULT);
        // Only the hash is stored.
        let stored = accounts.store.scan_prefix(b"", 100).unwrap();
        assert!(stored.iter().all(|(k, v)| {
            !String::from_utf8_lossy(k).contains(&token)
                && !String::from_utf8_lossy(v).contains(&token)
        }));

        assert!(matches!(
            accounts.authenticate(&token, NOW + TOKEN_TTL_MS_DEFAULT),
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            accounts.authenticate("not-a-token", NOW),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            accounts.authenticate(&"0".repeat(64), NOW),
            Err(AuthError::InvalidToken)
        ));

        assert!(accounts.revoke_token(&token).unwrap());
        assert!(!accounts.revoke_token(&token).unwrap());
        assert!(matches!(
            accounts.authenticate(&token, NOW),
            Err(AuthError::InvalidToken)
        ));

        let a = accounts.issue_token("li", None, NOW, 1000).unwrap();
        let b = accounts.issue_token("li", None, NOW, 1000).unwrap();
        assert_eq!(accounts.revoke_all("li").unwrap(), 2);
        for token in [a, b] {
            assert!(accounts.authenticate(&token, NOW).is_err());
        }
        assert_eq!(accounts.store.scan_prefix(b"t", 100).unwrap(), []);

        // Disabling ends sessions and refuses new ones; enabling lets them log in again.
        let c = accounts.issue_token("li", None, NOW, 1000).unwrap();
        assert_eq!(accounts.disable("li").unwrap(), 1);
        assert!(accounts.authenticate(&c, NOW).is_err());
        assert!(matches!(
            accounts.verify_password("li", "correct horse"),
            Err(AuthError::Disabled)
        ));
        assert!(matches!(
            accounts.issue_token("li", None, NOW, 1000),
            Err(AccountError::Disabled(_))
        ));
        accounts.enable("li").unwrap();
        accounts.verify_password("li", "correct horse").unwrap();
        assert!(matches!(
            accounts.issue_token("nobody", None, NOW, 1000),
            Err(AccountError::UnknownUser(_))
        ));
    }

    #[test]
    fn session_limits_are_kept() {
        let accounts = accounts();
        accounts.add_user(new_user("li", Role::Qc)).unwrap();
        assert!(matches!(
            accounts.issue_token("li", None, NOW, 0),
            Err(AccountError::BadTtl(0))
        ));
        assert!(matches!(
            accounts.issue_token("li", None, NOW, TOKEN_TTL_MS_MAX + 1),
            Err(AccountError::BadTtl(_))
        ));
        accounts
            .issue_token("li", None, NOW, TOKEN_TTL_MS_MAX)
            .unwrap();
        accounts.revoke_all("li").unwrap();

        let tokens: Vec<String> = (0..SESSIONS_PER_USER_MAX as u64)
            .map(|i| accounts.issue_token("li", None, NOW + i, 10_000).unwrap())
            .collect();
        for token in &tokens {
            accounts.authenticate(token, NOW + 100).unwrap();
        }
        // One more ends the oldest only.
        let newest = accounts.issue_token("li", None, NOW + 200, 10_000).unwrap();
        assert!(accounts.authenticate(&tokens[0], NOW + 300).is_err());
        accounts.authenticate(&tokens[1], NOW + 300).unwrap();
        accounts.authenticate(&newest, NOW + 300).unwrap();

        // Expired sessions go first, and prune_expired removes them all.
        let later = NOW + 20_000;
        accounts.issue_token("li", None, later, 10_000).unwrap();
        let listed = accounts.store.scan_prefix(b"tu/li/", 100).unwrap();
        assert_eq!(listed.len(), 1);
        accounts.issue_token("li", None, later, 1).unwrap();
        assert_eq!(accounts.prune_expired(later + 5, 100).unwrap(), 1);
        assert_eq!(accounts.prune_expired(later + 5, 100).unwrap(), 0);
    }

    #[test]
    fn the_login_limiter_locks_out_after_the_limit_and_forgets_after_the_window() {
        let limiter = LoginLimiter::new();
        let other_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 8));
        for i in 0..LOGIN_FAILURES_PER_USER_MAX {
            limiter.check("li", IP, NOW).unwrap();
            limiter.record_failure("li", IP, NOW + u64::from(i));
        }
        let Err(AuthError::RateLimited { retry_after_ms }) =
            limiter.check("li", other_ip, NOW + 10)
        else {
            panic!("the username is locked out from any address");
        };
        assert_eq!(retry_after_ms, LOGIN_WINDOW_MS - 10);
        // Another user from the same address is not (yet) locked out.
        limiter.check("wang", IP, NOW + 10).unwrap();
        // After the window, the user may try again.
        limiter.check("li", IP, NOW + LOGIN_WINDOW_MS).unwrap();
        limiter.record_failure("li", IP, NOW + LOGIN_WINDOW_MS);
        limiter.check("li", IP, NOW + LOGIN_WINDOW_MS).unwrap();

        // The address limit: many usernames from one address.
        let limiter = LoginLimiter::new();
        for i in 0..LOGIN_FAILURES_PER_IP_MAX {
            limiter.check(&format!("user{i}"), IP, NOW).unwrap();
            limiter.record_failure(&format!("user{i}"), IP, NOW);
        }
        assert!(matches!(
            limiter.check("someone-else", IP, NOW),
            Err(AuthError::RateLimited { .. })
        ));
        limiter.check("someone-else", other_ip, NOW).unwrap();
    }

    #[test]
    fn accounts_stored_before_job_titles_read_with_none() {
        let accounts = accounts();
        let stored = br#"{"username":"old.gm","role":"approver","display_name":null,"factory":null,"warehouse":null,"disabled":false,"password_hash":"x"}"#;
        let mut batch = Batch::new();
        batch.put([USER_PREFIX, b"old.gm"].concat(), stored.to_vec());
        accounts.store.apply(batch).unwrap();
        let user = accounts.get_user("old.gm").unwrap().unwrap();
        assert!(user.titles.is_empty());
        let user = accounts
            .set_titles("old.gm", vec!["general_manager".into()])
            .unwrap();
        assert_eq!(user.principal().titles, ["general_manager"]);
        assert_eq!(
            accounts.get_user("old.gm").unwrap().unwrap().titles,
            ["general_manager"]
        );
    }

    #[test]
    fn job_titles_are_checked() {
        let ok = |t: &[&str]| check_titles(t.iter().map(|s| (*s).to_string()).collect());
        assert_eq!(ok(&["b", "a", "b"]).unwrap(), ["a", "b"]);
        assert!(matches!(
            ok(&["Sales Manager"]),
            Err(AccountError::BadTitle(_))
        ));
        assert!(matches!(ok(&["  "]), Err(AccountError::BadTitle(_))));
        let long = "t".repeat(TITLE_BYTES_MAX);
        assert!(ok(&[&long]).is_ok());
        assert!(ok(&[&format!("{long}t")]).is_err());
        let many: Vec<String> = (0..=TITLES_PER_USER_MAX).map(|i| format!("t{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(ok(&refs[..TITLES_PER_USER_MAX]).is_ok());
        assert!(matches!(ok(&refs), Err(AccountError::TooManyTitles(_))));
        let mut with_titles = new_user("gm", Role::Approver);
        with_titles.titles = vec!["bad title".into()];
        assert!(accounts().add_user(with_titles).is_err());
    }

    #[test]
    fn login_counts_failures_and_clears_them_on_success() {
        let accounts = accounts();
        accounts.add_user(new_user("li", Role::Qc)).unwrap();
        let limiter = LoginLimiter::new();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX - 1 {
            assert!(matches!(
                limiter.login(&accounts, "li", "wrong password", IP, NOW),
                Err(AuthError::InvalidCredentials)
            ));
        }
        limiter
            .login(&accounts, "li", "correct horse", IP, NOW)
            .unwrap();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX {
            let _ = limiter.login(&accounts, "li", "wrong password", IP, NOW);
        }
        // Locked out: even the right password is not checked.
        assert!(matches!(
            limiter.login(&accounts, "li", "correct horse", IP, NOW),
            Err(AuthError::RateLimited { .. })
        ));
    }

    #[test]
    fn the_login_limiter_remembers_at_most_its_limit() {
        let limiter = LoginLimiter::new();
        for i in 0..LOGIN_LIMITER_ENTRIES_MAX as u64 {
            let ip = IpAddr::V4(Ipv4Addr::from(u32::try_from(i).unwrap()));
            limiter.record_failure("li", ip, NOW + i);
        }
        assert_eq!(limiter.len(), LOGIN_LIMITER_ENTRIES_MAX);
        limiter.record_failure("li", IpAddr::V4(Ipv4Addr::BROADCAST), NOW + 100_000);
        assert!(limiter.len() <= LOGIN_LIMITER_ENTRIES_MAX);
        // The user's own count survived the eviction of old addresses.
        assert!(matches!(
            limiter.check("li", IP, NOW + 100_000),
            Err(AuthError::RateLimited { .. })
        ));
        // Once every window has passed, room is made from expired entries.
        let later = NOW + 10 * LOGIN_WINDOW_MS;
        limiter.record_failure("new", IP, later);
        assert!(limiter.len() <= 3);
        assert!(!limiter.is_empty());
    }

    #[test]
    fn roles_read_and_print_lowercase() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), *role);
        }
        assert_eq!("qc".parse::<Role>().unwrap(), Role::Qc);
        assert!("boss".parse::<Role>().is_err());
        assert_eq!(
            serde_json::to_string(&Role::Merchandiser).unwrap(),
            "\"merchandiser\""
        );
    }
}
