//! Tests of the wire codec. Frames for odd encodings are built byte by byte with the
//! helpers below, so that each test shows exactly what is on the wire.

use super::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The example document id from the protocol fact sheet.
const DOC: &str = "42UYgyNLuAQLMwvNPdzo9zUnPB53";

fn doc() -> DocumentId {
    DOC.parse().unwrap()
}

/// Parses hex with optional whitespace.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// CBOR text, minimal header.
fn t(s: &str) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.str(s).unwrap();
    e.into_writer()
}

/// CBOR byte string, minimal header.
fn b(bytes: &[u8]) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.bytes(bytes).unwrap();
    e.into_writer()
}

/// CBOR unsigned integer, minimal header.
fn u(n: u64) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.u64(n).unwrap();
    e.into_writer()
}

/// CBOR float64.
fn f64_(x: f64) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.f64(x).unwrap();
    e.into_writer()
}

/// CBOR array of already-encoded items, minimal header.
fn arr(items: &[Vec<u8>]) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.array(items.len() as u64).unwrap();
    let mut out = e.into_writer();
    for item in items {
        out.extend_from_slice(item);
    }
    out
}

/// CBOR map with text keys and already-encoded values, minimal header.
fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.map(entries.len() as u64).unwrap();
    let mut out = e.into_writer();
    for (key, value) in entries {
        out.extend_from_slice(&t(key));
        out.extend_from_slice(value);
    }
    out
}

const UNDEFINED: u8 = 0xf7;
const NULL: u8 = 0xf6;
const TRUE: u8 = 0xf5;

fn sync_entries() -> Entries {
    vec![
        ("type", t("sync")),
        ("senderId", t("peer-A")),
        ("targetId", t("server")),
        ("documentId", t(DOC)),
        ("data", b(&[0x42, 1, 2, 3])),
    ]
}

fn sync_message() -> Message {
    Message::Sync {
        sender_id: "peer-A".into(),
        target_id: "server".into(),
        document_id: doc(),
        data: vec![0x42, 1, 2, 3],
    }
}

/// One message of every type, with optional fields both present and absent.
fn samples() -> Vec<Message> {
    let mut new_heads = BTreeMap::new();
    new_heads.insert(
        StorageId::from("0b6e7a5c-64a2-4f1a-9d0b-3f3d2c1b0a99"),
        RemoteHeads {
            heads: vec!["3Ab9xYz".to_owned(), "7Qq".to_owned()],
            timestamp: 1_732_700_000_123,
        },
    );
    new_heads.insert(
        StorageId::from("empty-heads"),
        RemoteHeads {
            heads: vec![],
            timestamp: 0,
        },
    );
    vec![
        Message::Join {
            sender_id: "peer-A".into(),
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            }),
            supported_protocol_versions: vec!["1".to_owned()],
        },
        Message::Join {
            sender_id: "peer-B".into(),
            peer_metadata: None,
            supported_protocol_versions: vec!["1".to_owned(), "2".to_owned()],
        },
        Message::Peer {
            sender_id: "server".into(),
            target_id: "peer-A".into(),
            selected_protocol_version: "1".to_owned(),
            peer_metadata: Some(PeerMetadata {
                storage_id: Some("0b6e7a5c-64a2-4f1a-9d0b-3f3d2c1b0a99".into()),
                is_ephemeral: false,
            }),
        },
        Message::Peer {
            sender_id: "server".into(),
            target_id: "peer-A".into(),
            selected_protocol_version: "1".to_owned(),
            peer_metadata: None,
        },
        Message::Leave {
            sender_id: "peer-A".into(),
        },
        Message::Error {
            sender_id: Some("server".into()),
            target_id: Some("peer-A".into()),
            message: "unsupported protocol version".to_owned(),
        },
        Message::Error {
            sender_id: None,
            target_id: None,
            message: "bad".to_owned(),
        },
        sync_message(),
        Message::Request {
            sender_id: "peer-B".into(),
            target_id: "server".into(),
            document_id: DocumentId::from_bytes([7; 16]),
            data: vec![0x42; 10],
        },
        Message::DocUnavailable {
            sender_id: "server".into(),
            target_id: "peer-C".into(),
            document_id: doc(),
        },
        Message::Ephemeral {
            sender_id: "peer-A".into(),
            target_id: "server".into(),
            document_id: doc(),
            data: vec![0xa1, 0x61, 0x78, 0x01],
            count: 42,
            session_id: "session-1".into(),
        },
        Message::RemoteSubscriptionChange {
            sender_id: "peer-A".into(),
            target_id: "server".into(),
            add: vec!["s1".into(), "s2".into()],
            remove: vec!["s3".into()],
        },
        Message::RemoteSubscriptionChange {
            sender_id: "peer-A".into(),
            target_id: "server".into(),
            add: vec![],
            remove: vec![],
        },
        Message::RemoteHeadsChanged {
            sender_id: "server".into(),
            target_id: "peer-A".into(),
            document_id: doc(),
            new_heads,
        },
        Message::RemoteHeadsChanged {
            sender_id: "server".into(),
            target_id: "peer-A".into(),
            document_id: doc(),
            new_heads: BTreeMap::new(),
        },
        Message::Unknown {
            type_name: "future-thing".to_owned(),
        },
    ]
}

fn assert_round_trip(message: &Message) {
    let frame = encode(message);
    let decoded = decode(&frame).unwrap_or_else(|e| panic!("{message:?} fails to decode: {e}"));
    assert_eq!(&decoded, message);
    assert_eq!(encode(&decoded), frame, "encoding is stable");
}

// ---------------------------------------------------------------------------------------
// Compatibility with what JS peers send
// ---------------------------------------------------------------------------------------

/// The exact bytes of a `join` captured from a JS 2.5.6 client without storage (fact
/// sheet §2): non-minimal map headers and an `undefined` storageId.
#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn join_bytes_from_fact_sheet_decode() {
    let frame = hex("b9 0004
           64 74797065  64 6a6f696e
           68 73656e6465724964  66 706565722d41
           6c 706565724d65746164617461  b9 0002
              69 73746f726167654964  f7
              6b 6973457068656d6572616c  f5
           78 19 737570706f7274656450726f746f636f6c56657273696f6e73  81 61 31");
    assert_eq!(
        decode(&frame),
        Ok(Message::Join {
            sender_id: "peer-A".into(),
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            }),
            supported_protocol_versions: vec!["1".to_owned()],
        })
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn round_trip_every_message_type() {
    let samples = samples();
    for message in &samples {
        assert_round_trip(message);
    }
    // Every known type and Unknown are covered.
    let mut covered: Vec<&str> = samples.iter().map(Message::type_name).collect();
    covered.sort_unstable();
    covered.dedup();
    for name in kind::ALL {
        assert!(covered.contains(&name), "no sample of {name}");
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn encode_writes_minimal_headers_and_omits_absent_fields() {
    let leave = encode(&Message::Leave {
        sender_id: "s".into(),
    });
    assert_eq!(
        leave,
        hex("a2 64 74797065 65 6c65617665 68 73656e6465724964 61 73")
    );

    // `peer` without metadata has no peerMetadata key; with metadata but no storage id, the
    // metadata map has only isEphemeral.
    let peer = encode(&Message::Peer {
        sender_id: "s".into(),
        target_id: "c".into(),
        selected_protocol_version: "1".into(),
        peer_metadata: None,
    });
    assert_eq!(peer[0], 0xa4);
    assert!(!contains(&peer, b"peerMetadata"));
    let join = encode(&Message::Join {
        sender_id: "c".into(),
        peer_metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
        }),
        supported_protocol_versions: vec!["1".into()],
    });
    assert_eq!(join[0], 0xa4);
    assert!(contains(
        &join,
        &[&t("peerMetadata")[..], &[0xa1], &t("isEphemeral"), &[TRUE]].concat()
    ));
    assert!(!contains(&join, b"storageId"));

    let error = encode(&Message::Error {
        sender_id: None,
        target_id: None,
        message: "m".into(),
    });
    assert_eq!(error, map(&[("type", t("error")), ("message", t("m"))]));

    let subscription = encode(&Message::RemoteSubscriptionChange {
        sender_id: "a".into(),
        target_id: "b".into(),
        add: vec![],
        remove: vec!["x".into()],
    });
    assert_eq!(subscription[0], 0xa4);
    assert!(!contains(&subscription, b"add"));

    // A large count uses the 8-byte form; a small one the 1-byte form.
    let ephemeral = |count| {
        encode(&Message::Ephemeral {
            sender_id: "a".into(),
            target_id: "b".into(),
            document_id: doc(),
            data: vec![1],
            count,
            session_id: "s".into(),
        })
    };
    assert!(contains(
        &ephemeral(5),
        &[&t("count")[..], &[0x05]].concat()
    ));
    assert!(contains(
        &ephemeral(u64::MAX),
        &[&t("count")[..], &[0x1b], &[0xff; 8]].concat()
    ));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn non_minimal_headers_are_accepted() {
    // Map header b9 0005, key with 1-byte length header (78 04), text value with 2-byte
    // header (79 0004), byte string with 4-byte header (5a 00000004).
    let frame = [
        &hex("b9 0005")[..],
        &hex("78 04"),
        b"type",
        &hex("79 0004"),
        b"sync",
        &t("senderId"),
        &t("peer-A"),
        &t("targetId"),
        &t("server"),
        &t("documentId"),
        &t(DOC),
        &t("data"),
        &hex("5a 00000004 42010203"),
    ]
    .concat();
    assert_eq!(decode(&frame), Ok(sync_message()));

    // Array header 99 0001, count as 8-byte integer.
    let frame = [
        &hex("ba 00000003")[..],
        &t("type"),
        &t("join"),
        &t("senderId"),
        &t("peer-A"),
        &t("supportedProtocolVersions"),
        &hex("99 0001 61 31"),
    ]
    .concat();
    assert!(matches!(decode(&frame), Ok(Message::Join { .. })));

    let frame = map(&[
        ("type", t("ephemeral")),
        ("senderId", t("a")),
        ("targetId", t("b")),
        ("documentId", t(DOC)),
        ("data", b(&[1])),
        ("count", hex("1b 0000000000000007")),
        ("sessionId", t("s")),
    ]);
    assert!(matches!(
        decode(&frame),
        Ok(Message::Ephemeral { count: 7, .. })
    ));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn indefinite_lengths_are_accepted() {
    // Indefinite map; indefinite (chunked) key and value text; indefinite byte string.
    let frame = [
        &hex("bf")[..],
        &hex("7f 62 7479 62 7065 ff"), // "ty" + "pe"
        &hex("7f 62 7379 62 6e63 ff"), // "sy" + "nc"
        &t("senderId"),
        &t("peer-A"),
        &t("targetId"),
        &t("server"),
        &t("documentId"),
        &t(DOC),
        &t("data"),
        &hex("5f 42 4201 42 0203 ff"),
        &t("unknown"),
        &hex("9f 01 bf 61 61 9f ff ff ff"), // [1, {"a": []}] all indefinite
        &hex("ff"),
    ]
    .concat();
    assert_eq!(decode(&frame), Ok(sync_message()));

    // Indefinite array of protocol versions.
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        ("supportedProtocolVersions", hex("9f 61 31 61 32 ff")),
    ]);
    assert!(matches!(
        decode(&frame),
        Ok(Message::Join { supported_protocol_versions, .. }) if supported_protocol_versions == ["1", "2"]
    ));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn undefined_and_null_mean_absent() {
    // storageId null; isEphemeral undefined → false.
    let frame = map(&[
        ("type", t("peer")),
        ("senderId", t("s")),
        ("targetId", t("c")),
        ("selectedProtocolVersion", t("1")),
        (
            "peerMetadata",
            map(&[("storageId", vec![NULL]), ("isEphemeral", vec![UNDEFINED])]),
        ),
    ]);
    assert!(matches!(
        decode(&frame),
        Ok(Message::Peer {
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: false
            }),
            ..
        })
    ));

    // peerMetadata itself undefined; supportedProtocolVersions null → ["1"].
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        ("peerMetadata", vec![UNDEFINED]),
        ("supportedProtocolVersions", vec![NULL]),
    ]);
    assert_eq!(
        decode(&frame),
        Ok(Message::Join {
            sender_id: "c".into(),
            peer_metadata: None,
            supported_protocol_versions: vec!["1".into()],
        })
    );

    // add/remove undefined or absent.
    let frame = map(&[
        ("type", t("remote-subscription-change")),
        ("senderId", t("a")),
        ("targetId", t("b")),
        ("add", arr(&[t("s1")])),
        ("remove", vec![UNDEFINED]),
    ]);
    assert_eq!(
        decode(&frame),
        Ok(Message::RemoteSubscriptionChange {
            sender_id: "a".into(),
            target_id: "b".into(),
            add: vec!["s1".into()],
            remove: vec![],
        })
    );

    // error with undefined senderId and null targetId.
    let frame = map(&[
        ("type", t("error")),
        ("senderId", vec![UNDEFINED]),
        ("targetId", vec![NULL]),
        ("message", t("m")),
    ]);
    assert_eq!(
        decode(&frame),
        Ok(Message::Error {
            sender_id: None,
            target_id: None,
            message: "m".into(),
        })
    );

    // A required field that is undefined is missing.
    let mut entries = sync_entries();
    entries[1].1 = vec![UNDEFINED];
    assert_eq!(
        decode(&map(&entries)),
        Err(WireError::MissingField {
            message_type: "sync",
            field: "senderId",
        })
    );
}

fn ephemeral_with_count(count: Vec<u8>) -> Vec<u8> {
    map(&[
        ("type", t("ephemeral")),
        ("senderId", t("a")),
        ("targetId", t("b")),
        ("documentId", t(DOC)),
        ("data", b(&[1])),
        ("count", count),
        ("sessionId", t("s")),
    ])
}

fn heads_with_timestamp(timestamp: Vec<u8>) -> Vec<u8> {
    map(&[
        ("type", t("remote-heads-changed")),
        ("senderId", t("a")),
        ("targetId", t("b")),
        ("documentId", t(DOC)),
        (
            "newHeads",
            map(&[(
                "storage-1",
                map(&[("heads", arr(&[t("h1")])), ("timestamp", timestamp)]),
            )]),
        ),
    ])
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn float_count_and_timestamp_are_accepted() {
    assert!(matches!(
        decode(&ephemeral_with_count(f64_(3.0))),
        Ok(Message::Ephemeral { count: 3, .. })
    ));
    // float32 too.
    assert!(matches!(
        decode(&ephemeral_with_count(hex("fa 40800000"))),
        Ok(Message::Ephemeral { count: 4, .. })
    ));
    // -0.0 is zero.
    assert!(matches!(
        decode(&ephemeral_with_count(f64_(-0.0))),
        Ok(Message::Ephemeral { count: 0, .. })
    ));

    let now_ms = 1_732_700_000_123u64;
    let Ok(Message::RemoteHeadsChanged { new_heads, .. }) =
        decode(&heads_with_timestamp(f64_(now_ms as f64)))
    else {
        panic!("remote-heads-changed with a float64 timestamp fails to decode");
    };
    assert_eq!(new_heads[&StorageId::from("storage-1")].timestamp, now_ms);
    assert_eq!(new_heads[&StorageId::from("storage-1")].heads, ["h1"]);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn invalid_numbers_are_rejected() {
    let invalid = |count: Vec<u8>| match decode(&ephemeral_with_count(count)) {
        Err(WireError::InvalidNumber {
            field: "count",
            value,
        }) => value,
        other => panic!("expected InvalidNumber, got {other:?}"),
    };
    assert_eq!(invalid(hex("20")), "-1");
    assert_eq!(invalid(hex("3b ffffffffffffffff")), "-18446744073709551616");
    assert_eq!(invalid(f64_(-1.0)), "-1");
    assert_eq!(invalid(f64_(1.5)), "1.5");
    assert_eq!(invalid(f64_(f64::NAN)), "NaN");
    assert_eq!(invalid(f64_(f64::INFINITY)), "inf");
    assert_eq!(invalid(f64_(TWO_POW_64)), "18446744073709552000");
    // The largest float below 2^64 is accepted.
    let below = f64::from_bits(TWO_POW_64.to_bits() - 1);
    assert!(matches!(
        decode(&ephemeral_with_count(f64_(below))),
        Ok(Message::Ephemeral { count, .. }) if count == below as u64
    ));

    assert!(matches!(
        decode(&ephemeral_with_count(t("3"))),
        Err(WireError::WrongType { field: "count", .. })
    ));
    // Half-precision floats are not accepted (JS never sends them).
    assert!(matches!(
        decode(&ephemeral_with_count(hex("f9 3c00"))),
        Err(WireError::WrongType { field: "count", .. })
    ));
    assert!(matches!(
        decode(&heads_with_timestamp(f64_(-5.0))),
        Err(WireError::InvalidNumber {
            field: "newHeads.*.timestamp",
            ..
        })
    ));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn unknown_keys_are_ignored() {
    let mut entries = sync_entries();
    entries.insert(
        0,
        ("zzz", map(&[("nested", arr(&[u(1), t("x"), vec![NULL]]))])),
    );
    entries.push(("tagged", hex("c1 1a 5f5e1000")));
    entries.push(("float", f64_(1.25)));
    entries.push(("simple", hex("f8 20")));
    entries.push(("negative", hex("38 63")));
    // Known keys that `sync` does not use are ignored even with values of the wrong type.
    entries.push(("count", t("not a number")));
    entries.push(("peerMetadata", u(3)));
    entries.push(("newHeads", vec![TRUE]));
    assert_eq!(decode(&map(&entries)), Ok(sync_message()));

    // Unknown keys inside peerMetadata and newHeads entries too.
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        (
            "peerMetadata",
            map(&[("isEphemeral", vec![TRUE]), ("extra", arr(&[arr(&[])]))]),
        ),
    ]);
    assert!(matches!(
        decode(&frame),
        Ok(Message::Join {
            peer_metadata: Some(PeerMetadata {
                is_ephemeral: true,
                ..
            }),
            ..
        })
    ));
    let frame = map(&[
        ("type", t("remote-heads-changed")),
        ("senderId", t("a")),
        ("targetId", t("b")),
        ("documentId", t(DOC)),
        (
            "newHeads",
            map(&[(
                "s",
                map(&[("x", map(&[])), ("heads", arr(&[])), ("timestamp", u(1))]),
            )]),
        ),
    ]);
    assert!(matches!(
        decode(&frame),
        Ok(Message::RemoteHeadsChanged { .. })
    ));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn unknown_type_decodes_as_unknown() {
    let frame = map(&[
        ("type", t("presence-v9")),
        ("senderId", u(12)), // not checked for unknown types
        ("whatever", arr(&[u(1)])),
    ]);
    assert_eq!(
        decode(&frame),
        Ok(Message::Unknown {
            type_name: "presence-v9".into()
        })
    );
    // But the frame must still be well-formed.
    let mut truncated = frame.clone();
    truncated.pop();
    assert!(decode(&truncated).is_err());
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn document_id_as_sixteen_bytes_is_tolerated() {
    let mut entries = sync_entries();
    entries[3].1 = b(doc().as_bytes());
    assert_eq!(decode(&map(&entries)), Ok(sync_message()));

    entries[3].1 = b(&[1; 15]);
    assert_eq!(
        decode(&map(&entries)),
        Err(WireError::InvalidDocumentId(DocumentIdError::WrongLength {
            len: 15
        }))
    );
}

// ---------------------------------------------------------------------------------------
// Error paths
// ---------------------------------------------------------------------------------------

/// Map entries: keys and encoded values.
type Entries = Vec<(&'static str, Vec<u8>)>;

/// For each type: a minimal valid frame's entries and the required fields (besides `type`).
fn required_fields() -> Vec<(&'static str, Entries, Vec<&'static str>)> {
    let common = |type_name: &str| {
        vec![
            ("type", t(type_name)),
            ("senderId", t("a")),
            ("targetId", t("b")),
        ]
    };
    let with = |mut base: Entries, more: Entries| {
        base.extend(more);
        base
    };
    let doc_data = || vec![("documentId", t(DOC)), ("data", b(&[1]))];
    vec![
        (
            "join",
            vec![("type", t("join")), ("senderId", t("a"))],
            vec!["senderId"],
        ),
        (
            "peer",
            with(common("peer"), vec![("selectedProtocolVersion", t("1"))]),
            vec!["senderId", "targetId", "selectedProtocolVersion"],
        ),
        (
            "leave",
            vec![("type", t("leave")), ("senderId", t("a"))],
            vec!["senderId"],
        ),
        (
            "error",
            vec![("type", t("error")), ("message", t("m"))],
            vec!["message"],
        ),
        (
            "sync",
            with(common("sync"), doc_data()),
            vec!["senderId", "targetId", "documentId", "data"],
        ),
        (
            "request",
            with(common("request"), doc_data()),
            vec!["senderId", "targetId", "documentId", "data"],
        ),
        (
            "doc-unavailable",
            with(common("doc-unavailable"), vec![("documentId", t(DOC))]),
            vec!["senderId", "targetId", "documentId"],
        ),
        (
            "ephemeral",
            with(
                common("ephemeral"),
                with(doc_data(), vec![("count", u(1)), ("sessionId", t("s"))]),
            ),
            vec![
                "senderId",
                "targetId",
                "documentId",
                "data",
                "count",
                "sessionId",
            ],
        ),
        (
            "remote-subscription-change",
            common("remote-subscription-change"),
            vec!["senderId", "targetId"],
        ),
        (
            "remote-heads-changed",
            with(
                common("remote-heads-changed"),
                vec![("documentId", t(DOC)), ("newHeads", map(&[]))],
            ),
            vec!["senderId", "targetId", "documentId", "newHeads"],
        ),
    ]
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn missing_required_fields_are_named() {
    for (type_name, entries, required) in required_fields() {
        assert!(
            decode(&map(&entries)).is_ok(),
            "{type_name} with all fields"
        );
        for field in required {
            let without: Vec<_> = entries
                .iter()
                .filter(|(k, _)| *k != field)
                .cloned()
                .collect();
            let err = decode(&map(&without)).unwrap_err();
            assert_eq!(
                err,
                WireError::MissingField {
                    message_type: type_name,
                    field
                }
            );
            let text = err.to_string();
            assert!(text.contains(type_name) && text.contains(field), "{text}");
        }
    }

    // Missing type.
    assert_eq!(
        decode(&map(&[("senderId", t("a"))])),
        Err(WireError::MissingType)
    );
    assert_eq!(
        decode(&map(&[("type", vec![UNDEFINED])])),
        Err(WireError::MissingType)
    );

    // Missing heads / timestamp inside newHeads.
    for (present, missing) in [
        ("heads", "newHeads.*.timestamp"),
        ("timestamp", "newHeads.*.heads"),
    ] {
        let value = if present == "heads" { arr(&[]) } else { u(1) };
        let frame = map(&[
            ("type", t("remote-heads-changed")),
            ("senderId", t("a")),
            ("targetId", t("b")),
            ("documentId", t(DOC)),
            ("newHeads", map(&[("s", map(&[(present, value)]))])),
        ]);
        assert_eq!(
            decode(&frame),
            Err(WireError::MissingField {
                message_type: "remote-heads-changed",
                field: missing
            })
        );
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn wrong_types_are_rejected() {
    let wrong = |index: usize, value: Vec<u8>| {
        let mut entries = sync_entries();
        entries[index].1 = value;
        decode(&map(&entries))
    };
    let field_of = |r: Result<Message, WireError>| match r {
        Err(WireError::WrongType { field, .. }) => field,
        other => panic!("expected WrongType, got {other:?}"),
    };
    assert_eq!(field_of(wrong(0, u(1))), "type");
    assert_eq!(field_of(wrong(1, b(b"peer-A"))), "senderId");
    assert_eq!(field_of(wrong(2, arr(&[t("x")]))), "targetId");
    assert_eq!(field_of(wrong(3, u(5))), "documentId");
    assert_eq!(field_of(wrong(4, t("text, not bytes"))), "data");
    // A tagged typed array (what cbor-x would send with tagUint8Array) is not a byte string.
    assert_eq!(field_of(wrong(4, hex("d8 40 43 010203"))), "data");

    let join_with = |key: &'static str, value: Vec<u8>| {
        decode(&map(&[
            ("type", t("join")),
            ("senderId", t("c")),
            (key, value),
        ]))
    };
    assert_eq!(
        field_of(join_with("peerMetadata", arr(&[]))),
        "peerMetadata"
    );
    assert_eq!(
        field_of(join_with("peerMetadata", map(&[("isEphemeral", t("yes"))]))),
        "peerMetadata.isEphemeral"
    );
    assert_eq!(
        field_of(join_with("peerMetadata", map(&[("storageId", u(1))]))),
        "peerMetadata.storageId"
    );
    assert_eq!(
        field_of(join_with("supportedProtocolVersions", t("1"))),
        "supportedProtocolVersions"
    );
    assert_eq!(
        field_of(join_with("supportedProtocolVersions", arr(&[u(1)]))),
        "supportedProtocolVersions"
    );

    let heads_with = |new_heads: Vec<u8>| {
        decode(&map(&[
            ("type", t("remote-heads-changed")),
            ("senderId", t("a")),
            ("targetId", t("b")),
            ("documentId", t(DOC)),
            ("newHeads", new_heads),
        ]))
    };
    assert_eq!(field_of(heads_with(arr(&[]))), "newHeads");
    assert_eq!(field_of(heads_with(map(&[("s", u(1))]))), "newHeads.*");
    assert_eq!(
        field_of(heads_with(map(&[("s", map(&[("heads", t("h"))]))]))),
        "newHeads.*.heads"
    );

    // Invalid document id text.
    assert_eq!(
        wrong(3, t("42UYgyNLuAQLMwvNPdzo9zUnPB54")),
        Err(WireError::InvalidDocumentId(DocumentIdError::Checksum))
    );
    assert_eq!(
        wrong(3, t("automerge:42UYgyNLuAQLMwvNPdzo9zUnPB53")),
        Err(WireError::InvalidDocumentId(DocumentIdError::TooLong {
            len: 38,
            max: 32
        }))
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn empty_data_is_rejected() {
    for type_name in ["sync", "request", "ephemeral"] {
        let mut entries = vec![
            ("type", t(type_name)),
            ("senderId", t("a")),
            ("targetId", t("b")),
            ("documentId", t(DOC)),
            ("data", b(&[])),
            ("count", u(1)),
            ("sessionId", t("s")),
        ];
        assert_eq!(
            decode(&map(&entries)),
            Err(WireError::EmptyData {
                message_type: type_name
            })
        );
        // An empty chunked byte string is empty too.
        entries[4].1 = hex("5f ff");
        assert!(matches!(
            decode(&map(&entries)),
            Err(WireError::EmptyData { .. })
        ));
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn frame_level_errors() {
    assert_eq!(decode(&[]), Err(WireError::EmptyFrame));

    let mut frame = map(&sync_entries());
    frame.push(0x00);
    assert_eq!(decode(&frame), Err(WireError::TrailingBytes { count: 1 }));
    frame.extend_from_slice(&map(&sync_entries()));
    assert!(matches!(
        decode(&frame),
        Err(WireError::TrailingBytes { .. })
    ));

    for not_a_map in [arr(&[t("type")]), t("sync"), u(1), vec![NULL], hex("c0 a0")] {
        assert!(
            matches!(decode(&not_a_map), Err(WireError::NotAMap { .. })),
            "{not_a_map:?}"
        );
    }

    // Non-text key at the top level and in peerMetadata.
    let frame = [&hex("a2")[..], &t("type"), &t("leave"), &u(1), &t("x")].concat();
    assert!(matches!(decode(&frame), Err(WireError::NonTextKey { .. })));
    let metadata = [&hex("a1")[..], &b(b"storageId"), &t("x")].concat();
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        ("peerMetadata", metadata),
    ]);
    assert!(matches!(
        decode(&frame),
        Err(WireError::NonTextKey {
            context: "peerMetadata",
            ..
        })
    ));

    // Duplicate known keys.
    let mut entries = sync_entries();
    entries.push(("senderId", t("someone-else")));
    assert_eq!(
        decode(&map(&entries)),
        Err(WireError::DuplicateKey {
            context: "the message map",
            key: "senderId".into()
        })
    );
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        (
            "peerMetadata",
            map(&[("isEphemeral", vec![TRUE]), ("isEphemeral", vec![0xf4])]),
        ),
    ]);
    assert!(matches!(
        decode(&frame),
        Err(WireError::DuplicateKey { .. })
    ));

    // Stray break, reserved header, invalid UTF-8.
    let frame = [&hex("a1")[..], &t("x"), &hex("ff")].concat();
    assert!(matches!(decode(&frame), Err(WireError::Malformed { .. })));
    let frame = [&hex("a1")[..], &t("x"), &hex("1c")].concat();
    assert!(matches!(decode(&frame), Err(WireError::Malformed { .. })));
    let frame = [&hex("a1")[..], &t("type"), &hex("62 c328")].concat();
    assert!(matches!(decode(&frame), Err(WireError::Malformed { .. })));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn every_truncation_is_an_error() {
    let mut frames: Vec<Vec<u8>> = samples().iter().map(encode).collect();
    frames.push(hex(
        "b9 0004 64 74797065 64 6a6f696e 68 73656e6465724964 66 706565722d41
         6c 706565724d65746164617461 b9 0002 69 73746f726167654964 f7
         6b 6973457068656d6572616c f5
         78 19 737570706f7274656450726f746f636f6c56657273696f6e73 81 61 31",
    ));
    for frame in &frames {
        assert!(decode(frame).is_ok());
        for len in 0..frame.len() {
            assert!(
                decode(&frame[..len]).is_err(),
                "prefix of {len} bytes of {frame:?} decodes"
            );
        }
    }
}

/// `depth` nested arrays, the innermost empty: `[[[...]]]`.
fn nested_arrays(depth: usize) -> Vec<u8> {
    vec![0x81; depth - 1].into_iter().chain([0x80]).collect()
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let with_unknown = |value: Vec<u8>| {
        let mut entries = sync_entries();
        entries.push(("deep", value));
        decode(&map(&entries))
    };
    let too_deep =
        |r: Result<Message, WireError>| matches!(r, Err(WireError::TooDeep { max: DEPTH_MAX, .. }));

    assert!(too_deep(with_unknown(nested_arrays(10_000))));
    // Indefinite arrays, maps and tags nest too.
    assert!(too_deep(with_unknown(
        [vec![0x9f; 10_000], vec![0xff; 10_000]].concat()
    )));
    let deep_maps: Vec<u8> = [[0xa1_u8, 0x00].repeat(10_000), vec![0x00]].concat();
    assert!(too_deep(with_unknown(deep_maps)));
    assert!(too_deep(with_unknown(
        [vec![0xc0; 10_000], vec![0x00]].concat()
    )));
    // Deep nesting in a known field is caught in the first pass too.
    let frame = map(&[
        ("type", t("join")),
        ("senderId", t("c")),
        ("peerMetadata", map(&[("x", nested_arrays(10_000))])),
    ]);
    assert!(too_deep(decode(&frame)));

    // Exactly at the limit is fine: the top-level map is depth 0, the value depth 1.
    assert_eq!(with_unknown(nested_arrays(DEPTH_MAX)), Ok(sync_message()));
    assert!(too_deep(with_unknown(nested_arrays(DEPTH_MAX + 1))));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn frame_size_limit() {
    let frame = map(&sync_entries());
    assert_eq!(decode_with_max(&frame, frame.len()), Ok(sync_message()));
    assert_eq!(
        decode_with_max(&frame, frame.len() - 1),
        Err(WireError::FrameTooLarge {
            len: frame.len(),
            max: frame.len() - 1
        })
    );

    let huge = vec![0u8; FRAME_BYTES_MAX + 1];
    assert_eq!(
        decode(&huge),
        Err(WireError::FrameTooLarge {
            len: FRAME_BYTES_MAX + 1,
            max: FRAME_BYTES_MAX
        })
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn item_count_and_text_limits() {
    let with_unknown = |value: Vec<u8>| {
        let mut entries = sync_entries();
        entries.push(("many", value));
        decode(&map(&entries))
    };
    let too_many = |r: Result<Message, WireError>| {
        matches!(
            r,
            Err(WireError::TooManyItems {
                max: ARRAY_ITEMS_MAX,
                ..
            })
        )
    };

    // A header claiming 2^64-1 items is rejected before any item is read.
    assert!(too_many(with_unknown(hex("9b ffffffffffffffff"))));
    assert!(too_many(with_unknown(hex("bb ffffffffffffffff"))));
    // Definite and indefinite arrays one over the limit.
    let mut over = hex("9a");
    over.extend_from_slice(&(ARRAY_ITEMS_MAX as u32 + 1).to_be_bytes());
    over.extend(std::iter::repeat_n(0u8, ARRAY_ITEMS_MAX + 1));
    assert!(too_many(with_unknown(over)));
    let over_indefinite = [vec![0x9f], vec![0u8; ARRAY_ITEMS_MAX + 1], vec![0xff]].concat();
    assert!(too_many(with_unknown(over_indefinite)));
    // At the limit is fine.
    let at = [vec![0x9f], vec![0u8; ARRAY_ITEMS_MAX], vec![0xff]].concat();
    assert_eq!(with_unknown(at), Ok(sync_message()));
    // A byte string claiming more bytes than the frame holds.
    assert!(matches!(
        with_unknown(hex("5b ffffffffffffffff")),
        Err(WireError::Malformed { .. })
    ));

    // Text over the limit, definite and chunked.
    let mut entries = sync_entries();
    entries[1].1 = t(&"p".repeat(TEXT_BYTES_MAX + 1));
    assert!(matches!(
        decode(&map(&entries)),
        Err(WireError::TextTooLong {
            field: "senderId",
            ..
        })
    ));
    let half = t(&"p".repeat(TEXT_BYTES_MAX / 2 + 1));
    entries[1].1 = [&[0x7f][..], &half, &half, &[0xff]].concat();
    assert!(matches!(
        decode(&map(&entries)),
        Err(WireError::TextTooLong {
            field: "senderId",
            ..
        })
    ));
    entries[1].1 = t(&"p".repeat(TEXT_BYTES_MAX));
    assert!(decode(&map(&entries)).is_ok());
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn error_messages_name_what_was_wrong() {
    let mut entries = sync_entries();
    entries[4].1 = t("x");
    let text = decode(&map(&entries)).unwrap_err().to_string();
    assert_eq!(text, "`data` must be a byte string, but is string");
    assert_eq!(
        WireError::EmptyData {
            message_type: "sync"
        }
        .to_string(),
        "`sync` message has empty `data`"
    );
}

// ---------------------------------------------------------------------------------------
// Robustness: no input panics
// ---------------------------------------------------------------------------------------

/// A small deterministic PRNG (xorshift64*), so these tests need no dependency and also run
/// on wasm32.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn mutated_frames_never_panic() {
    let frames: Vec<Vec<u8>> = samples().iter().map(encode).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Every single-byte substitution with a few interesting values.
    for frame in &frames {
        for i in 0..frame.len() {
            for value in [
                0x00, 0x17, 0x18, 0x1b, 0x5f, 0x7f, 0x9f, 0xbf, 0xf7, 0xfb, 0xff,
            ] {
                let mut mutated = frame.clone();
                mutated[i] = value;
                let _ = decode(&mutated);
            }
        }
    }
    // Random multi-byte mutations, insertions and deletions.
    for _ in 0..5_000 {
        let mut mutated = frames[rng.below(frames.len())].clone();
        for _ in 0..=rng.below(4) {
            let i = rng.below(mutated.len());
            match rng.below(3) {
                0 => mutated[i] = rng.next() as u8,
                1 => mutated.insert(i, rng.next() as u8),
                _ => {
                    mutated.remove(i);
                    if mutated.is_empty() {
                        mutated.push(0xa0);
                    }
                }
            }
        }
        if let Ok(message) = decode(&mutated) {
            // Whatever decodes re-encodes to something that decodes to the same message.
            assert_eq!(decode(&encode(&message)), Ok(message));
        }
    }
    // Random bytes.
    for _ in 0..5_000 {
        let len = rng.below(64) + 1;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = decode(&bytes);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,12}", "[a-z0-9-]{1,40}"]
    }

    fn peer() -> impl Strategy<Value = PeerId> {
        text().prop_map(PeerId::from)
    }

    fn storage() -> impl Strategy<Value = StorageId> {
        text().prop_map(StorageId::from)
    }

    fn document() -> impl Strategy<Value = DocumentId> {
        any::<[u8; 16]>().prop_map(DocumentId::from_bytes)
    }

    fn data() -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 1..300)
    }

    fn metadata() -> impl Strategy<Value = Option<PeerMetadata>> {
        proptest::option::of((proptest::option::of(storage()), any::<bool>()).prop_map(
            |(storage_id, is_ephemeral)| PeerMetadata {
                storage_id,
                is_ephemeral,
            },
        ))
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (peer(), metadata(), vec(text(), 0..4)).prop_map(|(s, m, v)| Message::Join {
                sender_id: s,
                peer_metadata: m,
                supported_protocol_versions: v,
            }),
            (peer(), peer(), text(), metadata()).prop_map(|(s, t, v, m)| Message::Peer {
                sender_id: s,
                target_id: t,
                selected_protocol_version: v,
                peer_metadata: m,
            }),
            peer().prop_map(|s| Message::Leave { sender_id: s }),
            (
                proptest::option::of(peer()),
                proptest::option::of(peer()),
                text()
            )
                .prop_map(|(s, t, m)| Message::Error {
                    sender_id: s,
                    target_id: t,
                    message: m,
                }),
            (peer(), peer(), document(), data()).prop_map(|(s, t, d, x)| Message::Sync {
                sender_id: s,
                target_id: t,
                document_id: d,
                data: x,
            }),
            (peer(), peer(), document(), data()).prop_map(|(s, t, d, x)| Message::Request {
                sender_id: s,
                target_id: t,
                document_id: d,
                data: x,
            }),
            (peer(), peer(), document()).prop_map(|(s, t, d)| Message::DocUnavailable {
                sender_id: s,
                target_id: t,
                document_id: d,
            }),
            (peer(), peer(), document(), data(), any::<u64>(), text()).prop_map(
                |(s, t, d, x, c, session)| Message::Ephemeral {
                    sender_id: s,
                    target_id: t,
                    document_id: d,
                    data: x,
                    count: c,
                    session_id: session.into(),
                }
            ),
            (peer(), peer(), vec(storage(), 0..4), vec(storage(), 0..4)).prop_map(
                |(s, t, a, r)| Message::RemoteSubscriptionChange {
                    sender_id: s,
                    target_id: t,
                    add: a,
                    remove: r,
                }
            ),
            (
                peer(),
                peer(),
                document(),
                btree_map(storage(), (vec(text(), 0..4), any::<u64>()), 0..4)
            )
                .prop_map(|(s, t, d, h)| Message::RemoteHeadsChanged {
                    sender_id: s,
                    target_id: t,
                    document_id: d,
                    new_heads: h
                        .into_iter()
                        .map(|(k, (heads, timestamp))| (k, RemoteHeads { heads, timestamp }))
                        .collect(),
                }),
            "[a-z-]{1,20}"
                .prop_filter("not a known type", |name| !kind::ALL
                    .contains(&name.as_str()))
                .prop_map(|type_name| Message::Unknown { type_name }),
        ]
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(message in message()) {
            let frame = encode(&message);
            prop_assert_eq!(decode(&frame), Ok(message));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn truncated_frames_are_errors(message in message(), cut in any::<prop::sample::Index>()) {
            let frame = encode(&message);
            let len = cut.index(frame.len());
            prop_assert!(decode(&frame[..len]).is_err());
        }
    }
}
