//! `frame_decode`: the wire codec on arbitrary frames.
//!
//! * [`decode`] never panics, whatever the bytes;
//! * [`decode_with_max`] with a limit of the frame's own length agrees with [`decode`];
//! * a frame that decodes re-encodes to a frame that decodes to the same message, and
//!   [`encode`] is canonical: encoding that message again gives the same bytes.

use gendan_core::protocol::{FRAME_BYTES_MAX, decode, decode_with_max, encode};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    crate::known::install_hook();
    let decoded = decode(data);
    if !data.is_empty() && data.len() <= FRAME_BYTES_MAX {
        assert_eq!(
            decode_with_max(data, data.len()),
            decoded,
            "decode_with_max(len) disagrees with decode"
        );
    }
    let Ok(message) = decoded else { return };
    let frame = encode(&message);
    let again = decode(&frame);
    assert_eq!(
        again.as_ref(),
        Ok(&message),
        "round trip changed the message; re-encoded frame: {frame:02x?}"
    );
    assert_eq!(encode(&message), frame, "encode is not deterministic");
    // A frame in encode's canonical form re-encodes to itself.
    if let Ok(m) = again {
        assert_eq!(encode(&m), frame, "encode(decode(encode(m))) != encode(m)");
    }
}
