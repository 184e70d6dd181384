//! The wire codec: one protocol [`Message`] per binary WebSocket frame, each frame exactly
//! one CBOR map with text keys.
//!
//! [`decode`] is as lenient as the JS peers require (see the protocol fact sheet, §2): keys in
//! any order, unknown keys ignored, non-minimal and indefinite-length headers accepted,
//! `undefined` and `null` meaning "absent", numbers as unsigned integers or integer-valued
//! floats. It is strict about everything else, and bounded: frame size, items per array or
//! map, text length and nesting depth all have limits, so a hostile frame costs at most
//! linear time and never overflows the stack.
//!
//! [`encode`] writes definite, minimal headers and omits absent optional fields, like samod.
//!
//! Decoding runs in two passes over the frame. The first walks the whole top-level map,
//! checking structure and limits, and records where each known key's value starts. The
//! second reads the `type` and then only the fields that type uses, so a known key with an
//! unexpected value in a message that does not use it is ignored like any unknown key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use super::ids::{DocumentId, DocumentIdError, PeerId, SessionId, StorageId};

/// The only protocol version that exists.
pub const PROTOCOL_VERSION: &str = "1";

/// The largest frame [`decode`] accepts, in bytes. Sync messages carrying a whole document
/// can be large, so this is generous; the server may pass a lower limit from its
/// configuration to [`decode_with_max`].
pub const FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The most items in any one CBOR array or map (entries) in a frame. Real messages have a
/// handful (one protocol version, a few heads, a few storage ids); the limit bounds the work
/// a hostile length header can ask for.
pub const ARRAY_ITEMS_MAX: usize = 65_536;

/// The deepest nesting of arrays, maps and tags accepted anywhere in a frame; the top-level
/// map is depth 0. Known fields nest at most 3 deep; values of unknown keys are skipped with
/// a recursion bounded by this limit, so deep nesting gives an error, not a stack overflow.
pub const DEPTH_MAX: usize = 32;

/// The longest text value or key accepted, in bytes (peer, storage and session ids, heads,
/// error messages). Binary payloads (`data`) are bounded by the frame size only.
pub const TEXT_BYTES_MAX: usize = 64 * 1024;

/// Metadata a peer sends about itself in `join` and `peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The peer's durable store, if it has one. Absent (or `undefined` on the wire) for a
    /// peer without storage.
    pub storage_id: Option<StorageId>,
    /// True if the peer will not come back with the same storage: do not keep sync state for
    /// it. Absent on the wire means false.
    pub is_ephemeral: bool,
}

/// The heads of one document held by one storage, in `remote-heads-changed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHeads {
    /// bs58check-encoded change hashes, passed through as text.
    pub heads: Vec<String>,
    /// When the originating peer saw these heads, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// One message of the automerge-repo sync protocol v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `join`: the client's first frame after the socket opens.
    Join {
        /// The client's peer id.
        sender_id: PeerId,
        /// What the client says about its storage.
        peer_metadata: Option<PeerMetadata>,
        /// Protocol versions the client speaks. Decoded as `["1"]` when the field is absent,
        /// as the JS server assumes.
        supported_protocol_versions: Vec<String>,
    },
    /// `peer`: the server's answer to `join`.
    Peer {
        /// The server's peer id.
        sender_id: PeerId,
        /// The client's peer id.
        target_id: PeerId,
        /// Always [`PROTOCOL_VERSION`] today.
        selected_protocol_version: String,
        /// What the server says about its storage; omitted on the wire when `None`.
        peer_metadata: Option<PeerMetadata>,
    },
    /// `leave`: an advisory goodbye (samod sends it; JS never does).
    Leave {
        /// The departing peer.
        sender_id: PeerId,
    },
    /// `error`: a protocol error; the sender closes the connection after it.
    Error {
        /// The sender, if it says.
        sender_id: Option<PeerId>,
        /// The receiver, if the sender says.
        target_id: Option<PeerId>,
        /// What went wrong, for humans.
        message: String,
    },
    /// `sync`: one Automerge sync message for one document.
    Sync {
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// The document synced.
        document_id: DocumentId,
        /// The Automerge sync message; never empty.
        data: Vec<u8>,
    },
    /// `request`: like `sync`, sent first by a peer that has nothing of the document.
    Request {
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// The document wanted.
        document_id: DocumentId,
        /// The sync message of an empty document; never empty.
        data: Vec<u8>,
    },
    /// `doc-unavailable`: the sender does not have the document (or refuses access).
    DocUnavailable {
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// The document that is unavailable.
        document_id: DocumentId,
    },
    /// `ephemeral`: fire-and-forget app data (presence, cursors), relayed unchanged.
    Ephemeral {
        /// The original author (kept when relayed).
        sender_id: PeerId,
        /// The next hop.
        target_id: PeerId,
        /// The document the data is about.
        document_id: DocumentId,
        /// CBOR of the app payload, relayed byte for byte; never empty.
        data: Vec<u8>,
        /// Increases per session; `(sender_id, session_id, count)` is unique.
        count: u64,
        /// The author's repo process.
        session_id: SessionId,
    },
    /// `remote-subscription-change`: "tell me about heads held by these storages".
    RemoteSubscriptionChange {
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// Storages to start hearing about (absent on the wire means none).
        add: Vec<StorageId>,
        /// Storages to stop hearing about (absent on the wire means none).
        remove: Vec<StorageId>,
    },
    /// `remote-heads-changed`: "these storages now hold these heads of this document".
    RemoteHeadsChanged {
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// The document whose heads changed.
        document_id: DocumentId,
        /// The new heads per storage.
        new_heads: BTreeMap<StorageId, RemoteHeads>,
    },
    /// A well-formed message of a type this codec does not know. Ignore it; do not close the
    /// connection. Encoding it writes only its `type`.
    Unknown {
        /// The `type` field as sent.
        type_name: String,
    },
}

/// The `type` names on the wire.
mod kind {
    pub(super) const JOIN: &str = "join";
    pub(super) const PEER: &str = "peer";
    pub(super) const LEAVE: &str = "leave";
    pub(super) const ERROR: &str = "error";
    pub(super) const SYNC: &str = "sync";
    pub(super) const REQUEST: &str = "request";
    pub(super) const DOC_UNAVAILABLE: &str = "doc-unavailable";
    pub(super) const EPHEMERAL: &str = "ephemeral";
    pub(super) const REMOTE_SUBSCRIPTION_CHANGE: &str = "remote-subscription-change";
    pub(super) const REMOTE_HEADS_CHANGED: &str = "remote-heads-changed";

    /// Every known type.
    pub(super) const ALL: [&str; 10] = [
        JOIN,
        PEER,
        LEAVE,
        ERROR,
        SYNC,
        REQUEST,
        DOC_UNAVAILABLE,
        EPHEMERAL,
        REMOTE_SUBSCRIPTION_CHANGE,
        REMOTE_HEADS_CHANGED,
    ];
}

impl Message {
    /// The message's `type` as written on the wire.
    pub fn type_name(&self) -> &str {
        match self {
            Message::Join { .. } => kind::JOIN,
            Message::Peer { .. } => kind::PEER,
            Message::Leave { .. } => kind::LEAVE,
            Message::Error { .. } => kind::ERROR,
            Message::Sync { .. } => kind::SYNC,
            Message::Request { .. } => kind::REQUEST,
            Message::DocUnavailable { .. } => kind::DOC_UNAVAILABLE,
            Message::Ephemeral { .. } => kind::EPHEMERAL,
            Message::RemoteSubscriptionChange { .. } => kind::REMOTE_SUBSCRIPTION_CHANGE,
            Message::RemoteHeadsChanged { .. } => kind::REMOTE_HEADS_CHANGED,
            Message::Unknown { type_name } => type_name,
        }
    }
}

/// Why a frame is not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame has no bytes; JS peers never send one.
    #[error("frame is empty")]
    EmptyFrame,
    /// The frame is longer than the receiver accepts ([`FRAME_BYTES_MAX`] or a lower
    /// configured limit).
    #[error("frame is {len} bytes; at most {max} are accepted")]
    FrameTooLarge {
        /// Length of the frame in bytes.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The bytes are not well-formed CBOR: truncated, invalid UTF-8, a reserved header, a
    /// stray break.
    #[error("malformed CBOR in {context}: {detail}")]
    Malformed {
        /// Where in the message the problem is.
        context: &'static str,
        /// What the CBOR decoder reported.
        detail: String,
    },
    /// The frame's item is not a CBOR map.
    #[error("frame is not a CBOR map but {found}")]
    NotAMap {
        /// The CBOR type found.
        found: String,
    },
    /// A map key is not a text string.
    #[error("a key in {context} is not text but {found}")]
    NonTextKey {
        /// The map the key is in.
        context: &'static str,
        /// The CBOR type found.
        found: String,
    },
    /// A known key appears twice in the same map.
    #[error("duplicate key `{key}` in {context}")]
    DuplicateKey {
        /// The map the key is in.
        context: &'static str,
        /// The repeated key.
        key: String,
    },
    /// Bytes follow the message map.
    #[error("{count} bytes follow the message map")]
    TrailingBytes {
        /// How many bytes follow.
        count: usize,
    },
    /// The message map has no `type` (or it is `null`/`undefined`).
    #[error("message has no `type`")]
    MissingType,
    /// A field the message type requires is absent, `null` or `undefined`.
    #[error("`{message_type}` message is missing `{field}`")]
    MissingField {
        /// The message's `type`.
        message_type: &'static str,
        /// The missing field (a path like `newHeads.*.timestamp` for nested fields).
        field: &'static str,
    },
    /// A field holds a CBOR value of the wrong type.
    #[error("`{field}` must be {expected}, but is {found}")]
    WrongType {
        /// The field (a path for nested fields).
        field: &'static str,
        /// What the field must be.
        expected: &'static str,
        /// The CBOR type found.
        found: String,
    },
    /// `data` is empty in a `sync`, `request` or `ephemeral` message.
    #[error("`{message_type}` message has empty `data`")]
    EmptyData {
        /// The message's `type`.
        message_type: &'static str,
    },
    /// A number field is negative, not finite, not an integer or too large for `u64`.
    #[error("`{field}` must be a non-negative integer, but is {value}")]
    InvalidNumber {
        /// The field (a path for nested fields).
        field: &'static str,
        /// The value found, as text.
        value: String,
    },
    /// `documentId` is text that is not a valid document id, or bytes that are not 16 long.
    #[error("invalid `documentId`: {0}")]
    InvalidDocumentId(#[source] DocumentIdError),
    /// Arrays, maps or tags are nested deeper than [`DEPTH_MAX`].
    #[error("{context} is nested deeper than {max} levels")]
    TooDeep {
        /// Where the deep nesting is.
        context: &'static str,
        /// The limit, [`DEPTH_MAX`].
        max: usize,
    },
    /// An array or map has more than [`ARRAY_ITEMS_MAX`] items.
    #[error("{context} has more than {max} items")]
    TooManyItems {
        /// The array or map.
        context: &'static str,
        /// The limit, [`ARRAY_ITEMS_MAX`].
        max: usize,
    },
    /// A text value or key is longer than [`TEXT_BYTES_MAX`].
    #[error("`{field}` is {len} bytes of text; at most {max} are allowed")]
    TextTooLong {
        /// The field (or map, for a key).
        field: &'static str,
        /// The length found (so far, for a chunked string).
        len: usize,
        /// The limit, [`TEXT_BYTES_MAX`].
        max: usize,
    },
}

type Result<T, E = WireError> = std::result::Result<T, E>;

/// Decodes one frame, accepting at most [`FRAME_BYTES_MAX`] bytes.
pub fn decode(frame: &[u8]) -> Result<Message> {
    decode_with_max(frame, FRAME_BYTES_MAX)
}

/// Decodes one frame, accepting at most `frame_bytes_max` bytes (a server passes its
/// configured limit here).
pub fn decode_with_max(frame: &[u8], frame_bytes_max: usize) -> Result<Message> {
    if frame.is_empty() {
        return Err(WireError::EmptyFrame);
    }
    if frame.len() > frame_bytes_max {
        return Err(WireError::FrameTooLarge {
            len: frame.len(),
            max: frame_bytes_max,
        });
    }
    let mut fields = Fields::scan(frame)?;

    let type_name = {
        let mut d = fields.get(Field::Type)?.ok_or(WireError::MissingType)?;
        text(&mut d, Field::Type.name())?
    };
    let Some(message_type) = kind::ALL.into_iter().find(|k| *k == type_name) else {
        return Ok(Message::Unknown {
            type_name: type_name.into_owned(),
        });
    };
    fields.message_type = message_type;
    let f = &fields;

    let message = match message_type {
        kind::JOIN => Message::Join {
            sender_id: f.peer_id(Field::SenderId)?,
            peer_metadata: f.peer_metadata()?,
            supported_protocol_versions: f
                .opt_text_list(Field::SupportedProtocolVersions)?
                .unwrap_or_else(|| vec![PROTOCOL_VERSION.to_owned()]),
        },
        kind::PEER => Message::Peer {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            selected_protocol_version: f.text(Field::SelectedProtocolVersion)?,
            peer_metadata: f.peer_metadata()?,
        },
        kind::LEAVE => Message::Leave {
            sender_id: f.peer_id(Field::SenderId)?,
        },
        kind::ERROR => Message::Error {
            sender_id: f.opt_text(Field::SenderId)?.map(PeerId::from),
            target_id: f.opt_text(Field::TargetId)?.map(PeerId::from),
            message: f.text(Field::Message)?,
        },
        kind::SYNC => Message::Sync {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            document_id: f.document_id()?,
            data: f.data()?,
        },
        kind::REQUEST => Message::Request {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            document_id: f.document_id()?,
            data: f.data()?,
        },
        kind::DOC_UNAVAILABLE => Message::DocUnavailable {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            document_id: f.document_id()?,
        },
        kind::EPHEMERAL => Message::Ephemeral {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            document_id: f.document_id()?,
            data: f.data()?,
            count: f.count()?,
            session_id: SessionId::from(f.text(Field::SessionId)?),
        },
        kind::REMOTE_SUBSCRIPTION_CHANGE => Message::RemoteSubscriptionChange {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            add: storage_ids(f.opt_text_list(Field::Add)?),
            remove: storage_ids(f.opt_text_list(Field::Remove)?),
        },
        kind::REMOTE_HEADS_CHANGED => Message::RemoteHeadsChanged {
            sender_id: f.peer_id(Field::SenderId)?,
            target_id: f.peer_id(Field::TargetId)?,
            document_id: f.document_id()?,
            new_heads: f.new_heads()?,
        },
        _ => unreachable!("every name in kind::ALL has an arm"),
    };
    Ok(message)
}

fn storage_ids(list: Option<Vec<String>>) -> Vec<StorageId> {
    list.unwrap_or_default()
        .into_iter()
        .map(StorageId::from)
        .collect()
}

/// The top-level keys the codec knows. Values of other keys are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    SenderId,
    TargetId,
    DocumentId,
    Data,
    Count,
    SessionId,
    Message,
    SelectedProtocolVersion,
    SupportedProtocolVersions,
    PeerMetadata,
    Add,
    Remove,
    NewHeads,
}

impl Field {
    const ALL: [Field; 14] = [
        Field::Type,
        Field::SenderId,
        Field::TargetId,
        Field::DocumentId,
        Field::Data,
        Field::Count,
        Field::SessionId,
        Field::Message,
        Field::SelectedProtocolVersion,
        Field::SupportedProtocolVersions,
        Field::PeerMetadata,
        Field::Add,
        Field::Remove,
        Field::NewHeads,
    ];

    /// The key on the wire.
    const fn name(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::SenderId => "senderId",
            Field::TargetId => "targetId",
            Field::DocumentId => "documentId",
            Field::Data => "data",
            Field::Count => "count",
            Field::SessionId => "sessionId",
            Field::Message => "message",
            Field::SelectedProtocolVersion => "selectedProtocolVersion",
            Field::SupportedProtocolVersions => "supportedProtocolVersions",
            Field::PeerMetadata => "peerMetadata",
            Field::Add => "add",
            Field::Remove => "remove",
            Field::NewHeads => "newHeads",
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

// Keys inside nested objects.
const STORAGE_ID: &str = "storageId";
const IS_EPHEMERAL: &str = "isEphemeral";
const HEADS: &str = "heads";
const TIMESTAMP: &str = "timestamp";

// Contexts and field paths used in errors.
const CTX_FRAME: &str = "the frame";
const CTX_MESSAGE: &str = "the message map";
const CTX_UNKNOWN: &str = "the value of an unknown key";
const CTX_STORAGE_ID: &str = "peerMetadata.storageId";
const CTX_IS_EPHEMERAL: &str = "peerMetadata.isEphemeral";
const CTX_NEW_HEADS_ENTRY: &str = "newHeads.*";
const CTX_HEADS: &str = "newHeads.*.heads";
const CTX_TIMESTAMP: &str = "newHeads.*.timestamp";

/// Where each known key's value starts in a frame that passed the first pass.
#[derive(Debug)]
struct Fields<'b> {
    input: &'b [u8],
    value_at: [Option<usize>; Field::ALL.len()],
    /// The message's type, for error messages; set once known.
    message_type: &'static str,
}

impl<'b> Fields<'b> {
    /// The first pass: checks that the frame is exactly one well-formed map with text keys
    /// within every limit, and records where known keys' values start.
    fn scan(input: &'b [u8]) -> Result<Self> {
        let mut d = Decoder::new(input);
        let top = datatype(&d, CTX_FRAME)?;
        if !is_map(top) {
            return Err(WireError::NotAMap {
                found: top.to_string(),
            });
        }
        let mut value_at = [None; Field::ALL.len()];
        for_each_entry(&mut d, CTX_MESSAGE, |d| {
            let key = key_text(d, CTX_MESSAGE)?;
            match Field::from_name(&key) {
                Some(field) => {
                    let slot = &mut value_at[field as usize];
                    if slot.is_some() {
                        return Err(WireError::DuplicateKey {
                            context: CTX_MESSAGE,
                            key: key.into_owned(),
                        });
                    }
                    *slot = Some(d.position());
                    skip_value(d, 1, field.name())
                }
                None => skip_value(d, 1, CTX_UNKNOWN),
            }
        })?;
        let end = d.position();
        if end != input.len() {
            return Err(WireError::TrailingBytes {
                count: input.len() - end,
            });
        }
        Ok(Fields {
            input,
            value_at,
            message_type: "",
        })
    }

    /// A decoder at the value of `field`, or `None` if the field is absent, `null` or
    /// `undefined`.
    fn get(&self, field: Field) -> Result<Option<Decoder<'b>>> {
        let Some(position) = self.value_at[field as usize] else {
            return Ok(None);
        };
        let mut d = Decoder::new(self.input);
        d.set_position(position);
        if is_absent(datatype(&d, field.name())?) {
            return Ok(None);
        }
        Ok(Some(d))
    }

    /// Like [`Fields::get`], but the field is required.
    fn require(&self, field: Field) -> Result<Decoder<'b>> {
        self.get(field)?.ok_or(WireError::MissingField {
            message_type: self.message_type,
            field: field.name(),
        })
    }

    fn opt_text(&self, field: Field) -> Result<Option<String>> {
        match self.get(field)? {
            Some(mut d) => Ok(Some(text(&mut d, field.name())?.into_owned())),
            None => Ok(None),
        }
    }

    fn text(&self, field: Field) -> Result<String> {
        let mut d = self.require(field)?;
        Ok(text(&mut d, field.name())?.into_owned())
    }

    fn peer_id(&self, field: Field) -> Result<PeerId> {
        self.text(field).map(PeerId::from)
    }

    fn opt_text_list(&self, field: Field) -> Result<Option<Vec<String>>> {
        match self.get(field)? {
            Some(mut d) => Ok(Some(text_list(&mut d, field.name())?)),
            None => Ok(None),
        }
    }

    /// `documentId`: text as JS sends it, or (as samod tolerates) the 16 raw bytes.
    fn document_id(&self) -> Result<DocumentId> {
        let field = Field::DocumentId;
        let mut d = self.require(field)?;
        match datatype(&d, field.name())? {
            Type::String | Type::StringIndef => text(&mut d, field.name())?
                .parse()
                .map_err(WireError::InvalidDocumentId),
            Type::Bytes | Type::BytesIndef => DocumentId::from_slice(&bytes(&mut d, field.name())?)
                .map_err(WireError::InvalidDocumentId),
            other => Err(wrong_type(field.name(), "text", other)),
        }
    }

    /// `data`: a non-empty byte string.
    fn data(&self) -> Result<Vec<u8>> {
        let field = Field::Data;
        let mut d = self.require(field)?;
        let data = bytes(&mut d, field.name())?;
        if data.is_empty() {
            return Err(WireError::EmptyData {
                message_type: self.message_type,
            });
        }
        Ok(data.into_owned())
    }

    fn count(&self) -> Result<u64> {
        let mut d = self.require(Field::Count)?;
        non_negative_integer(&mut d, Field::Count.name())
    }

    fn peer_metadata(&self) -> Result<Option<PeerMetadata>> {
        let field = Field::PeerMetadata.name();
        let Some(mut d) = self.get(Field::PeerMetadata)? else {
            return Ok(None);
        };
        expect_map(&d, field)?;
        let mut storage_id = None;
        let mut is_ephemeral = None;
        let (mut seen_storage_id, mut seen_is_ephemeral) = (false, false);
        for_each_entry(&mut d, field, |d| {
            let key = key_text(d, field)?;
            match &*key {
                STORAGE_ID => {
                    once(&mut seen_storage_id, field, STORAGE_ID)?;
                    storage_id = opt_value(d, CTX_STORAGE_ID, |d| {
                        Ok(StorageId::from(text(d, CTX_STORAGE_ID)?.into_owned()))
                    })?;
                }
                IS_EPHEMERAL => {
                    once(&mut seen_is_ephemeral, field, IS_EPHEMERAL)?;
                    is_ephemeral = opt_value(d, CTX_IS_EPHEMERAL, |d| {
                        match datatype(d, CTX_IS_EPHEMERAL)? {
                            Type::Bool => d.bool().map_err(cbor(CTX_IS_EPHEMERAL)),
                            other => Err(wrong_type(CTX_IS_EPHEMERAL, "a boolean", other)),
                        }
                    })?;
                }
                _ => skip_value(d, 2, CTX_UNKNOWN)?,
            }
            Ok(())
        })?;
        Ok(Some(PeerMetadata {
            storage_id,
            is_ephemeral: is_ephemeral.unwrap_or(false),
        }))
    }

    fn new_heads(&self) -> Result<BTreeMap<StorageId, RemoteHeads>> {
        let field = Field::NewHeads.name();
        let mut d = self.require(Field::NewHeads)?;
        expect_map(&d, field)?;
        let mut new_heads = BTreeMap::new();
        for_each_entry(&mut d, field, |d| {
            let storage_id = StorageId::from(key_text(d, field)?.into_owned());
            let heads = self.remote_heads(d)?;
            if new_heads.contains_key(&storage_id) {
                return Err(WireError::DuplicateKey {
                    context: field,
                    key: storage_id.into_string(),
                });
            }
            new_heads.insert(storage_id, heads);
            Ok(())
        })?;
        Ok(new_heads)
    }

    /// One `{ heads, timestamp }` value of `newHeads`.
    fn remote_heads(&self, d: &mut Decoder<'b>) -> Result<RemoteHeads> {
        expect_map(d, CTX_NEW_HEADS_ENTRY)?;
        let mut heads = None;
        let mut timestamp = None;
        let (mut seen_heads, mut seen_timestamp) = (false, false);
        for_each_entry(d, CTX_NEW_HEADS_ENTRY, |d| {
            let key = key_text(d, CTX_NEW_HEADS_ENTRY)?;
            match &*key {
                HEADS => {
                    once(&mut seen_heads, CTX_NEW_HEADS_ENTRY, HEADS)?;
                    heads = opt_value(d, CTX_HEADS, |d| text_list(d, CTX_HEADS))?;
                }
                TIMESTAMP => {
                    once(&mut seen_timestamp, CTX_NEW_HEADS_ENTRY, TIMESTAMP)?;
                    timestamp =
                        opt_value(d, CTX_TIMESTAMP, |d| non_negative_integer(d, CTX_TIMESTAMP))?;
                }
                _ => skip_value(d, 3, CTX_UNKNOWN)?,
            }
            Ok(())
        })?;
        let missing = |field| WireError::MissingField {
            message_type: self.message_type,
            field,
        };
        Ok(RemoteHeads {
            heads: heads.ok_or_else(|| missing(CTX_HEADS))?,
            timestamp: timestamp.ok_or_else(|| missing(CTX_TIMESTAMP))?,
        })
    }
}

/// Fails if a key was already seen in this map.
fn once(seen: &mut bool, context: &'static str, key: &str) -> Result<()> {
    if std::mem::replace(seen, true) {
        return Err(WireError::DuplicateKey {
            context,
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// Reads a value with `read`, or skips it and gives `None` if it is `null` or `undefined`.
fn opt_value<'b, T>(
    d: &mut Decoder<'b>,
    context: &'static str,
    read: impl FnOnce(&mut Decoder<'b>) -> Result<T>,
) -> Result<Option<T>> {
    if is_absent(datatype(d, context)?) {
        d.skip().map_err(cbor(context))?;
        return Ok(None);
    }
    read(d).map(Some)
}

/// Maps a minicbor error to [`WireError::Malformed`] in `context`.
fn cbor(context: &'static str) -> impl Fn(minicbor::decode::Error) -> WireError {
    move |e| WireError::Malformed {
        context,
        detail: e.to_string(),
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: Type) -> WireError {
    WireError::WrongType {
        field,
        expected,
        found: found.to_string(),
    }
}

/// The type of the next item, without consuming it.
fn datatype(d: &Decoder<'_>, context: &'static str) -> Result<Type> {
    d.datatype().map_err(cbor(context))
}

fn is_absent(t: Type) -> bool {
    matches!(t, Type::Null | Type::Undefined)
}

fn is_map(t: Type) -> bool {
    matches!(t, Type::Map | Type::MapIndef)
}

fn expect_map(d: &Decoder<'_>, field: &'static str) -> Result<()> {
    let t = datatype(d, field)?;
    if is_map(t) {
        Ok(())
    } else {
        Err(wrong_type(field, "a map", t))
    }
}

/// If the next item is the break that ends an indefinite-length container, consumes it
/// and returns true.
fn at_break(d: &mut Decoder<'_>, context: &'static str) -> Result<bool> {
    if datatype(d, context)? == Type::Break {
        d.set_position(d.position() + 1);
        Ok(true)
    } else {
        Ok(false)
    }
}

fn too_many(context: &'static str) -> WireError {
    WireError::TooManyItems {
        context,
        max: ARRAY_ITEMS_MAX,
    }
}

/// Reads an array header (definite or indefinite) and calls `item` once per element, which
/// must consume exactly that element.
fn for_each_item<'b>(
    d: &mut Decoder<'b>,
    context: &'static str,
    mut item: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    match d.array().map_err(cbor(context))? {
        Some(len) => {
            if len > ARRAY_ITEMS_MAX as u64 {
                return Err(too_many(context));
            }
            for _ in 0..len {
                item(d)?;
            }
        }
        None => {
            let mut len = 0usize;
            while !at_break(d, context)? {
                len += 1;
                if len > ARRAY_ITEMS_MAX {
                    return Err(too_many(context));
                }
                item(d)?;
            }
        }
    }
    Ok(())
}

/// Reads a map header (definite or indefinite) and calls `entry` once per entry, which must
/// consume the key and the value.
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    context: &'static str,
    mut entry: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    match d.map().map_err(cbor(context))? {
        Some(len) => {
            if len > ARRAY_ITEMS_MAX as u64 {
                return Err(too_many(context));
            }
            for _ in 0..len {
                entry(d)?;
            }
        }
        None => {
            let mut len = 0usize;
            while !at_break(d, context)? {
                len += 1;
                if len > ARRAY_ITEMS_MAX {
                    return Err(too_many(context));
                }
                entry(d)?;
            }
        }
    }
    Ok(())
}

/// Skips one item of any type. `depth` is the nesting level of the item (the top-level map
/// is 0); containers deeper than [`DEPTH_MAX`] are an error. Recursion is bounded by the same
/// limit, so no input can overflow the stack.
fn skip_value(d: &mut Decoder<'_>, depth: usize, context: &'static str) -> Result<()> {
    if depth > DEPTH_MAX {
        return Err(WireError::TooDeep {
            context,
            max: DEPTH_MAX,
        });
    }
    match datatype(d, context)? {
        Type::Array | Type::ArrayIndef => {
            for_each_item(d, context, |d| skip_value(d, depth + 1, context))
        }
        Type::Map | Type::MapIndef => for_each_entry(d, context, |d| {
            skip_value(d, depth + 1, context)?;
            skip_value(d, depth + 1, context)
        }),
        Type::Tag => {
            d.tag().map_err(cbor(context))?;
            skip_value(d, depth + 1, context)
        }
        Type::Break => Err(WireError::Malformed {
            context,
            detail: "unexpected break".to_owned(),
        }),
        // Scalars, byte strings and text strings: minicbor skips these without recursion.
        _ => d.skip().map_err(cbor(context)),
    }
}

/// A map key, which must be text.
fn key_text<'b>(d: &mut Decoder<'b>, context: &'static str) -> Result<Cow<'b, str>> {
    match datatype(d, context)? {
        Type::String | Type::StringIndef => text(d, context),
        other => Err(WireError::NonTextKey {
            context,
            found: other.to_string(),
        }),
    }
}

fn text_too_long(field: &'static str, len: usize) -> WireError {
    WireError::TextTooLong {
        field,
        len,
        max: TEXT_BYTES_MAX,
    }
}

/// A text string, definite or chunked, of at most [`TEXT_BYTES_MAX`] bytes.
fn text<'b>(d: &mut Decoder<'b>, field: &'static str) -> Result<Cow<'b, str>> {
    let value = match datatype(d, field)? {
        Type::String => Cow::Borrowed(d.str().map_err(cbor(field))?),
        Type::StringIndef => {
            let mut value = String::new();
            for chunk in d.str_iter().map_err(cbor(field))? {
                let chunk = chunk.map_err(cbor(field))?;
                if value.len() + chunk.len() > TEXT_BYTES_MAX {
                    return Err(text_too_long(field, value.len() + chunk.len()));
                }
                value.push_str(chunk);
            }
            Cow::Owned(value)
        }
        other => return Err(wrong_type(field, "text", other)),
    };
    if value.len() > TEXT_BYTES_MAX {
        return Err(text_too_long(field, value.len()));
    }
    Ok(value)
}

/// A byte string, definite or chunked.
fn bytes<'b>(d: &mut Decoder<'b>, field: &'static str) -> Result<Cow<'b, [u8]>> {
    match datatype(d, field)? {
        Type::Bytes => Ok(Cow::Borrowed(d.bytes().map_err(cbor(field))?)),
        Type::BytesIndef => {
            let mut value = Vec::new();
            for chunk in d.bytes_iter().map_err(cbor(field))? {
                value.extend_from_slice(chunk.map_err(cbor(field))?);
            }
            Ok(Cow::Owned(value))
        }
        other => Err(wrong_type(field, "a byte string", other)),
    }
}

/// An array of text strings.
fn text_list(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<String>> {
    let t = datatype(d, field)?;
    if !matches!(t, Type::Array | Type::ArrayIndef) {
        return Err(wrong_type(field, "an array of text", t));
    }
    let mut list = Vec::new();
    for_each_item(d, field, |d| {
        list.push(text(d, field)?.into_owned());
        Ok(())
    })?;
    Ok(list)
}

/// 2^64 as a float: the first float too large for a `u64`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// A count or timestamp: an unsigned integer, or an integer-valued float (JS numbers above
/// 32 bits arrive as float64).
fn non_negative_integer(d: &mut Decoder<'_>, field: &'static str) -> Result<u64> {
    let invalid = |value: String| WireError::InvalidNumber { field, value };
    match datatype(d, field)? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => d.u64().map_err(cbor(field)),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            Err(invalid(d.int().map_err(cbor(field))?.to_string()))
        }
        Type::F32 | Type::F64 => {
            let value = d.f64().map_err(cbor(field))?;
            if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < TWO_POW_64 {
                // Exact: the value is a non-negative integer below 2^64.
                Ok(value as u64)
            } else {
                Err(invalid(value.to_string()))
            }
        }
        other => Err(wrong_type(
            field,
            "an unsigned integer or a 32/64-bit float",
            other,
        )),
    }
}

/// Encodes a message as one frame: a CBOR map with definite, minimal headers, without the
/// optional fields that are absent (`None`, or empty `add`/`remove`).
///
/// The result may exceed [`FRAME_BYTES_MAX`] if the message's `data` is that large; the
/// caller decides whether to send such a frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    write_message(&mut e, message).expect("encoding into a Vec cannot fail");
    e.into_writer()
}

type Enc = Encoder<Vec<u8>>;
type EncResult = Result<(), minicbor::encode::Error<Infallible>>;

fn write_message(e: &mut Enc, message: &Message) -> EncResult {
    fn entries(required: u64, optional: &[bool]) -> u64 {
        required + optional.iter().filter(|present| **present).count() as u64
    }
    fn key(e: &mut Enc, field: Field) -> Result<&mut Enc, minicbor::encode::Error<Infallible>> {
        e.str(field.name())
    }

    let type_name = message.type_name();
    match message {
        Message::Join {
            sender_id,
            peer_metadata,
            supported_protocol_versions,
        } => {
            e.map(entries(3, &[peer_metadata.is_some()]))?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            if let Some(metadata) = peer_metadata {
                key(e, Field::PeerMetadata)?;
                write_peer_metadata(e, metadata)?;
            }
            key(e, Field::SupportedProtocolVersions)?;
            write_text_list(e, supported_protocol_versions.iter().map(String::as_str))?;
        }
        Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            peer_metadata,
        } => {
            e.map(entries(4, &[peer_metadata.is_some()]))?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            key(e, Field::SelectedProtocolVersion)?.str(selected_protocol_version)?;
            if let Some(metadata) = peer_metadata {
                key(e, Field::PeerMetadata)?;
                write_peer_metadata(e, metadata)?;
            }
        }
        Message::Leave { sender_id } => {
            e.map(2)?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
        }
        Message::Error {
            sender_id,
            target_id,
            message,
        } => {
            e.map(entries(2, &[sender_id.is_some(), target_id.is_some()]))?;
            key(e, Field::Type)?.str(type_name)?;
            if let Some(sender_id) = sender_id {
                key(e, Field::SenderId)?.str(sender_id.as_str())?;
            }
            if let Some(target_id) = target_id {
                key(e, Field::TargetId)?.str(target_id.as_str())?;
            }
            key(e, Field::Message)?.str(message)?;
        }
        Message::Sync {
            sender_id,
            target_id,
            document_id,
            data,
        }
        | Message::Request {
            sender_id,
            target_id,
            document_id,
            data,
        } => {
            e.map(5)?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            key(e, Field::DocumentId)?.str(&document_id.to_string())?;
            key(e, Field::Data)?.bytes(data)?;
        }
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => {
            e.map(4)?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            key(e, Field::DocumentId)?.str(&document_id.to_string())?;
        }
        Message::Ephemeral {
            sender_id,
            target_id,
            document_id,
            data,
            count,
            session_id,
        } => {
            e.map(7)?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            key(e, Field::DocumentId)?.str(&document_id.to_string())?;
            key(e, Field::Data)?.bytes(data)?;
            key(e, Field::Count)?.u64(*count)?;
            key(e, Field::SessionId)?.str(session_id.as_str())?;
        }
        Message::RemoteSubscriptionChange {
            sender_id,
            target_id,
            add,
            remove,
        } => {
            e.map(entries(3, &[!add.is_empty(), !remove.is_empty()]))?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            if !add.is_empty() {
                key(e, Field::Add)?;
                write_text_list(e, add.iter().map(StorageId::as_str))?;
            }
            if !remove.is_empty() {
                key(e, Field::Remove)?;
                write_text_list(e, remove.iter().map(StorageId::as_str))?;
            }
        }
        Message::RemoteHeadsChanged {
            sender_id,
            target_id,
            document_id,
            new_heads,
        } => {
            e.map(5)?;
            key(e, Field::Type)?.str(type_name)?;
            key(e, Field::SenderId)?.str(sender_id.as_str())?;
            key(e, Field::TargetId)?.str(target_id.as_str())?;
            key(e, Field::DocumentId)?.str(&document_id.to_string())?;
            key(e, Field::NewHeads)?.map(new_heads.len() as u64)?;
            for (storage_id, remote) in new_heads {
                e.str(storage_id.as_str())?.map(2)?;
                e.str(HEADS)?;
                write_text_list(e, remote.heads.iter().map(String::as_str))?;
                e.str(TIMESTAMP)?.u64(remote.timestamp)?;
            }
        }
        Message::Unknown { .. } => {
            e.map(1)?;
            key(e, Field::Type)?.str(type_name)?;
        }
    }
    Ok(())
}

fn write_peer_metadata(e: &mut Enc, metadata: &PeerMetadata) -> EncResult {
    e.map(if metadata.storage_id.is_some() { 2 } else { 1 })?;
    if let Some(storage_id) = &metadata.storage_id {
        e.str(STORAGE_ID)?.str(storage_id.as_str())?;
    }
    e.str(IS_EPHEMERAL)?.bool(metadata.is_ephemeral)?;
    Ok(())
}

fn write_text_list<'a>(e: &mut Enc, items: impl ExactSizeIterator<Item = &'a str>) -> EncResult {
    e.array(items.len() as u64)?;
    for item in items {
        e.str(item)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
