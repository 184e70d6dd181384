//! Types shared by every record: time, money, lenient numbers, people, photos, sign-offs.
//!
//! The core never reads the clock: every time here is a value the caller passed in, in
//! milliseconds since the Unix epoch (`*_ms`).

use std::collections::BTreeMap;
use std::fmt;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, always supplied by the caller.
pub type UnixMs = i64;

/// A user's login name: the identity every record refers to people by.
pub type Username = String;

/// The context of one local edit: who makes it and when. Passed into every operation so
/// the core itself never reads a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditContext {
    /// The user making the edit.
    pub user: Username,
    /// The time of the edit, from the caller's clock.
    pub now_ms: UnixMs,
}

impl EditContext {
    /// A context for `user` at `now_ms`.
    pub fn new(user: impl Into<Username>, now_ms: UnixMs) -> Self {
        Self {
            user: user.into(),
            now_ms,
        }
    }
}

/// Implements lenient hydration for a number newtype: JS writes integers as `Int`, Rust
/// may write `Uint`, and a spreadsheet import may have written a float.
macro_rules! lenient_number {
    ($name:ident, $inner:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

lenient_number!(
    Int,
    i64,
    "An integer read leniently: from an Automerge int, uint, or integral float."
);
lenient_number!(
    Decimal,
    f64,
    "A decimal number (measurements, percentages) read from any Automerge number."
);

impl Hydrate for Int {
    fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
        Ok(Self(i))
    }
    fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
        i64::try_from(u).map(Self).map_err(|_| {
            HydrateError::unexpected("an integer", "an integer which is too large".to_string())
        })
    }
    fn hydrate_f64(f: f64) -> Result<Self, HydrateError> {
        if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "checked integral and in range"
            )]
            Ok(Self(f as i64))
        } else {
            Err(HydrateError::unexpected(
                "an integer",
                format!("the number {f}"),
            ))
        }
    }
}

impl Reconcile for Int {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.i64(self.0)
    }
}

impl Hydrate for Decimal {
    fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
        #[allow(clippy::cast_precision_loss, reason = "quantities are far below 2^53")]
        Ok(Self(i as f64))
    }
    fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
        #[allow(clippy::cast_precision_loss, reason = "quantities are far below 2^53")]
        Ok(Self(u as f64))
    }
    fn hydrate_f64(f: f64) -> Result<Self, HydrateError> {
        Ok(Self(f))
    }
}

impl Reconcile for Decimal {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.f64(self.0)
    }
}

/// Reads a text field whether it was written as a scalar string (Rust, and automerge-js's
/// `RawString`) or as collaborative text (automerge-js's default for strings).
pub(crate) fn text_or_string<D: autosurgeon::ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: autosurgeon::Prop<'_>,
) -> Result<String, HydrateError> {
    match doc.get(obj, &prop)? {
        Some((automerge::Value::Object(automerge::ObjType::Text), _)) => {
            let text: autosurgeon::Text = autosurgeon::hydrate_prop(doc, obj, prop)?;
            Ok(text.as_str().to_string())
        }
        _ => autosurgeon::hydrate_prop(doc, obj, prop),
    }
}

/// Serializes an Automerge counter as its current value.
pub(crate) fn serialize_counter<S: serde::Serializer>(
    c: &autosurgeon::Counter,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_i64(c.value())
}

/// Declares an enum stored in documents as a string. A value this build does not know
/// (written by a newer client) reads as the given fallback variant instead of failing.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($fallback:ident) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                $variant,
            )*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The string stored in documents and shown in APIs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$fallback
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::common::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(crate::common::UnknownValue {
                        what: stringify!($name),
                        value: other.to_string(),
                        expected: &[$($text),*],
                    }),
                }
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(s.parse().unwrap_or($name::$fallback))
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

/// A string that is not one of the values a field allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: expected one of {}", expected.join(", "))]
pub struct UnknownValue {
    /// The kind of value.
    pub what: &'static str,
    /// What was given.
    pub value: String,
    /// What is allowed.
    pub expected: &'static [&'static str],
}

/// The longest free text a field accepts (descriptions, comments, reasons), in bytes.
pub const TEXT_BYTES_MAX: usize = 4096;
/// The longest short text a field accepts (numbers, names, codes), in bytes.
pub const SHORT_TEXT_BYTES_MAX: usize = 256;
/// The most entries any one collection of a record may hold (defects, lines, readings…).
pub const COLLECTION_ITEMS_MAX: usize = 10_000;
/// The most photos one defect, check item or shipment line may reference.
pub const PHOTOS_PER_ITEM_MAX: usize = 50;

/// A photo or file stored as a content-addressed blob outside the document. In an
/// operation only `sha256` is required; who and when are filled in from the edit.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct PhotoRef {
    /// SHA-256 of the bytes, lower-case hex: the blob's address.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub sha256: String,
    /// MIME type, e.g. `image/jpeg`.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub mime: String,
    /// Size in bytes.
    #[autosurgeon(missing = "Default::default")]
    pub bytes: Int,
    /// Who took it.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub by: Username,
    /// When it was added, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// An optional caption.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub caption: String,
}

/// Checks that `s` is a SHA-256 in lower-case hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A person's sign-off: who, when, and the drawn signature as a blob.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct SignOff {
    /// The user who signed.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub by: Username,
    /// The name as printed on the report.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub name: String,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// The drawn signature image (SHA-256 of a blob), if any.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub signature_sha256: String,
}

/// Money in minor units (cents, fen) with an ISO 4217 currency code. Never a float.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Money {
    /// Amount in the currency's minor unit.
    #[autosurgeon(missing = "Default::default")]
    pub minor: i64,
    /// ISO 4217 code, e.g. `USD`, `CNY`.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub currency: String,
}

string_enum! {
    /// The outcome of an inspection, check or count.
    pub enum Verdict (Pending) {
        /// Accepted.
        Pass = "pass",
        /// Rejected.
        Fail = "fail",
        /// Not decided yet, or on hold for a decision.
        Pending = "pending",
    }
}

/// A human decision that replaces a derived verdict. It always carries its reason.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct VerdictOverride {
    /// The verdict decided.
    #[autosurgeon(missing = "Default::default")]
    pub verdict: Verdict,
    /// Why the derived verdict was overridden (required, non-empty).
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub reason: String,
    /// Who decided.
    #[autosurgeon(missing = "Default::default", hydrate = "text_or_string")]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// A problem found in input: which field and what is wrong. Rules return every problem
/// they find as a list of these, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A path to the field, e.g. `defects.d1.description`.
    pub field: String,
    /// What is wrong, in words for a person (English).
    pub message: String,
    /// A stable machine code for what is wrong (e.g. `required`, `text_too_long`), so an
    /// interface can say it in its own language; empty when the problem has none yet.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The values the message names (e.g. `len`, `max`), by name, for `code`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: String::new(),
            params: BTreeMap::new(),
        }
    }

    /// The same problem with a stable machine code.
    #[must_use]
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }

    /// The same problem with one more named value for its code's message.
    #[must_use]
    pub fn with_param(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks a free-text field's length; pushes a problem when it is too long.
pub(crate) fn check_text(problems: &mut Vec<Problem>, field: &str, value: &str, max: usize) {
    if value.len() > max {
        problems.push(
            Problem::new(
                field,
                format!("is {} bytes long; at most {max} are allowed", value.len()),
            )
            .with_code("text_too_long")
            .with_param("len", value.len())
            .with_param("max", max),
        );
    }
}

/// Checks that a required text is present.
pub(crate) fn check_required(problems: &mut Vec<Problem>, field: &str, value: &str) {
    if value.trim().is_empty() {
        problems.push(Problem::new(field, "is required").with_code("required"));
    }
}

/// Checks an item id used as a map key: 1–64 bytes of `[A-Za-z0-9_.:-]`.
pub fn is_valid_item_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}
