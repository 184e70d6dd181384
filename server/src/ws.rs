//! The WebSocket endpoint `/sync`: authenticates at the upgrade, then pumps binary frames
//! between the socket and the sync service. One task reads, one writes; the writer drains a
//! bounded queue, so a slow reader is cut off by the sync service instead of growing memory.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use futures_util::{SinkExt, StreamExt};
use gendan_core::access::Principal;
use tokio::sync::OwnedSemaphorePermit;

use crate::sync::{Outbound, SyncHandle};

/// Limits of the WebSocket endpoint.
#[derive(Debug, Clone)]
pub struct WsLimits {
    /// Largest frame accepted from a device, in bytes (also enforced by the protocol).
    pub frame_bytes_max: usize,
    /// Frames one user may send per second (sustained), across their connections.
    pub frames_per_second: u32,
    /// Frames one user may send in a burst above the sustained rate.
    pub frames_burst: u32,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
}

/// Frames per second per user, by default: generous for a tablet syncing thousands of
/// records after a week offline, far below what would starve other users.
pub const FRAMES_PER_SECOND_DEFAULT: u32 = 2_000;
/// Burst allowance per user, by default.
pub const FRAMES_BURST_DEFAULT: u32 = 20_000;

/// A token bucket per user: sustained rate plus burst. Time is passed in.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: std::sync::Mutex<std::collections::HashMap<String, (f64, std::time::Instant)>>,
}

impl RateLimiter {
    /// Takes one token for `user`; false when the user is over the limit.
    pub fn allow(&self, user: &str, per_second: u32, burst: u32, now: std::time::Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets
            .entry(user.to_string())
            .or_insert((f64::from(burst), now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * f64::from(per_second)).min(f64::from(burst));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Bytes of each connection's read buffer, and the write buffer's size before it is written
/// out. The WebSocket library's default is 128 KiB each, meant for a few connections with
/// heavy traffic; a sync server holds many connections whose frames are mostly under a few
/// kilobytes (a larger frame still arrives whole: the buffer grows for it). With 100
/// devices connected the defaults were up to 25 MB (BENCHMARKS.md, fix 15).
pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

/// Upgrades an authenticated request to a sync connection.
pub fn upgrade(
    ws: WebSocketUpgrade,
    principal: Principal,
    sync: SyncHandle,
    limits: WsLimits,
    rate: Arc<RateLimiter>,
    permit: OwnedSemaphorePermit,
) -> axum::response::Response {
    ws.max_message_size(limits.frame_bytes_max)
        .max_frame_size(limits.frame_bytes_max)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(socket, principal, sync, limits, rate, permit))
}

async fn serve(
    socket: WebSocket,
    principal: Principal,
    sync: SyncHandle,
    limits: WsLimits,
    rate: Arc<RateLimiter>,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit; // held for the connection's life: the connection limit
    let user = principal.user.clone();
    let Ok((conn, mut outbound)) = sync.connect(principal).await else {
        tracing::debug!(%user, "sync connection refused: the sync service is stopping");
        return;
    };
    tracing::debug!(%user, conn, "sync connection opened");
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(out) = outbound.recv().await {
            match out {
                Outbound::Frame(bytes) => {
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                }
                Outbound::Close(reason) => {
                    let frame = CloseFrame {
                        code: axum::extract::ws::close_code::POLICY,
                        reason: truncate(&reason).into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
        }
        // The sync service dropped us (slow reader, or shutdown): close.
        let _ = sink.send(WsMessage::Close(None)).await;
    });
    loop {
        let next = tokio::time::timeout(limits.idle_timeout, stream.next()).await;
        let msg = match next {
            Ok(Some(Ok(m))) => m,
            _ => break, // closed, failed, or idle too long
        };
        match msg {
            WsMessage::Binary(bytes) => {
                if !rate.allow(
                    &user,
                    limits.frames_per_second,
                    limits.frames_burst,
                    std::time::Instant::now(),
                ) {
                    tracing::warn!(%user, "rate limit exceeded; connection closed");
                    break;
                }
                if sync.frame(conn, bytes.to_vec()).await.is_err() {
                    break;
                }
            }
            WsMessage::Text(_) => {
                // The protocol is binary only: a text frame is a client bug.
                tracing::warn!(%user, "text frame on the sync socket; connection closed");
                break;
            }
            WsMessage::Close(_) => break,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
    }
    tracing::debug!(%user, conn, "sync connection closed");
    sync.disconnect(conn).await;
    writer.abort();
}

fn truncate(reason: &str) -> String {
    // A close reason must fit in a control frame (123 bytes).
    let mut s = reason.to_string();
    while s.len() > 120 {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_burst_then_sustained_rate() {
        let r = RateLimiter::default();
        let t0 = std::time::Instant::now();
        for _ in 0..10 {
            assert!(r.allow("u", 5, 10, t0));
        }
        assert!(!r.allow("u", 5, 10, t0), "burst exhausted");
        assert!(r.allow("other", 5, 10, t0), "per user");
        let t1 = t0 + Duration::from_millis(400); // 2 tokens back
        assert!(r.allow("u", 5, 10, t1));
        assert!(r.allow("u", 5, 10, t1));
        assert!(!r.allow("u", 5, 10, t1));
    }
}
