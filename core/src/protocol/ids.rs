//! Identifiers that travel in protocol messages: documents, peers, storages and sessions.
//!
//! Only [`DocumentId`] has a checked format (bs58check of 16 bytes). The others are opaque
//! strings that the protocol passes through unchanged; they are newtypes so that a peer id
//! cannot be passed where a storage id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Length in bytes of a document id's payload (a random UUID v4 on the JS side).
pub const DOCUMENT_ID_BYTES: usize = 16;

/// The longest text a [`DocumentId`] is parsed from. 16 payload bytes plus a 4-byte
/// checksum encode to at most 28 base58 characters; anything longer is rejected before
/// decoding, because base58 decoding takes time quadratic in the input length.
pub const DOCUMENT_ID_TEXT_BYTES_MAX: usize = 32;

/// Why a text is not a valid [`DocumentId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentIdError {
    /// The text is empty.
    #[error("document id is empty")]
    Empty,
    /// The text is longer than any bs58check encoding of 16 bytes can be.
    #[error("document id is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Length of the rejected text in bytes.
        len: usize,
        /// The limit, [`DOCUMENT_ID_TEXT_BYTES_MAX`].
        max: usize,
    },
    /// The 4-byte bs58check checksum does not match the payload (a typo or a truncated id).
    #[error("document id checksum does not match")]
    Checksum,
    /// The text is not base58 (Bitcoin alphabet) or too short to hold a checksum.
    #[error("document id is not bs58check: {0}")]
    NotBase58(bs58::decode::Error),
    /// The text decodes, but not to exactly 16 bytes.
    #[error("document id decodes to {len} bytes; expected {DOCUMENT_ID_BYTES}")]
    WrongLength {
        /// Number of payload bytes found.
        len: usize,
    },
}

/// The id of an Automerge document: 16 bytes, written as bs58check without a version byte
/// (for example `42UYgyNLuAQLMwvNPdzo9zUnPB53`). On the wire it is the bare id, not an
/// `automerge:` URL.
///
/// The core never makes up ids itself: a caller that creates a document passes 16 random
/// bytes to [`DocumentId::from_bytes`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; DOCUMENT_ID_BYTES]);

impl DocumentId {
    /// The id with these 16 bytes (callers pass randomness here).
    pub const fn from_bytes(bytes: [u8; DOCUMENT_ID_BYTES]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes of the id.
    pub const fn as_bytes(&self) -> &[u8; DOCUMENT_ID_BYTES] {
        &self.0
    }

    /// The id from a slice that must hold exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DocumentIdError> {
        <[u8; DOCUMENT_ID_BYTES]>::try_from(bytes)
            .map(Self)
            .map_err(|_| DocumentIdError::WrongLength { len: bytes.len() })
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(DocumentIdError::Empty);
        }
        if s.len() > DOCUMENT_ID_TEXT_BYTES_MAX {
            return Err(DocumentIdError::TooLong {
                len: s.len(),
                max: DOCUMENT_ID_TEXT_BYTES_MAX,
            });
        }
        let payload = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|e| match e {
                bs58::decode::Error::InvalidChecksum { .. } => DocumentIdError::Checksum,
                other => DocumentIdError::NotBase58(other),
            })?;
        Self::from_slice(&payload)
    }
}

impl Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Defines an opaque string id newtype.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id with this text.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, by value.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A peer's id: any string, unique per live connection (JS default: `peer-` plus random
    /// base36). A client uses it as `senderId` in `join`; the server routes by it.
    PeerId
);

string_id!(
    /// The id of one peer's durable store: a UUID v4 string with dashes. A peer that comes back
    /// with the same storage id has the same disk, so sync state may be kept for it.
    StorageId
);

string_id!(
    /// A random string per repo process; used only in `ephemeral` messages to make
    /// `(senderId, sessionId, count)` unique.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The example id from the protocol fact sheet.
    const EXAMPLE_ID: &str = "42UYgyNLuAQLMwvNPdzo9zUnPB53";

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn example_id_from_fact_sheet_parses_to_16_bytes() {
        let id: DocumentId = EXAMPLE_ID.parse().expect("the example id parses");
        assert_eq!(id.as_bytes().len(), DOCUMENT_ID_BYTES);
        assert_eq!(id.to_string(), EXAMPLE_ID);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn document_id_round_trips_through_text() {
        for seed in 0u8..=255 {
            let mut bytes = [0u8; DOCUMENT_ID_BYTES];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 17);
            }
            let id = DocumentId::from_bytes(bytes);
            let text = id.to_string();
            assert!(text.len() <= DOCUMENT_ID_TEXT_BYTES_MAX, "{text}");
            assert_eq!(text.parse::<DocumentId>(), Ok(id));
        }
        // Extremes: all zero bytes (leading '1's) and all 0xff.
        for bytes in [[0u8; 16], [0xff; 16]] {
            let id = DocumentId::from_bytes(bytes);
            assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn document_id_checksum_error() {
        // Change one character of a valid id: the checksum no longer matches.
        let mut text = EXAMPLE_ID.to_owned();
        text.replace_range(5..6, if &text[5..6] == "z" { "y" } else { "z" });
        assert_eq!(text.parse::<DocumentId>(), Err(DocumentIdError::Checksum));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn document_id_rejects_bad_text() {
        assert_eq!("".parse::<DocumentId>(), Err(DocumentIdError::Empty));
        assert!(matches!(
            "0OIl".parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58(_))
        ));
        assert!(matches!(
            "2".parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58(_))
        ));
        let long = "1".repeat(DOCUMENT_ID_TEXT_BYTES_MAX + 1);
        assert!(matches!(
            long.parse::<DocumentId>(),
            Err(DocumentIdError::TooLong { .. })
        ));
        // A valid bs58check string of the wrong payload length.
        let short = bs58::encode([1u8, 2, 3]).with_check().into_string();
        assert_eq!(
            short.parse::<DocumentId>(),
            Err(DocumentIdError::WrongLength { len: 3 })
        );
        assert_eq!(
            DocumentId::from_slice(&[0; 17]),
            Err(DocumentIdError::WrongLength { len: 17 })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn ids_serialize_as_strings() {
        let id: DocumentId = EXAMPLE_ID.parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{EXAMPLE_ID}\""));
        assert_eq!(serde_json::from_str::<DocumentId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<DocumentId>("\"not-an-id\"").is_err());

        let peer = PeerId::new("peer-A");
        assert_eq!(serde_json::to_string(&peer).unwrap(), "\"peer-A\"");
        assert_eq!(
            serde_json::from_str::<StorageId>("\"abc\"").unwrap(),
            StorageId::from("abc")
        );
        assert_eq!(SessionId::from("s".to_owned()).as_str(), "s");
    }
}
