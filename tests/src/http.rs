//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`: one request per connection
//! (`Connection: close`), JSON bodies. Enough for the REST API; no dependency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gendan_core::protocol::DocumentId;
use serde_json::{Value, json};

use crate::DEMO_PASSWORD;

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Response {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one request to 127.0.0.1:`port` and reads the whole response.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ),
        )
    })
}

fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A GET with a token; panics on a transport error.
pub fn get(port: u16, path: &str, token: &str) -> Response {
    request(port, "GET", path, Some(token), None)
        .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
}

/// A POST with a JSON body and an optional token; panics on a transport error.
pub fn post(port: u16, path: &str, token: Option<&str>, body: &Value) -> Response {
    request(port, "POST", path, token, Some(body))
        .unwrap_or_else(|e| panic!("POST {path} failed: {e}"))
}

/// A logged-in demo user.
#[derive(Debug, Clone)]
pub struct Login {
    /// The username.
    pub user: String,
    /// The session token.
    pub token: String,
    /// The user's index document (field roles only).
    pub index_id: Option<DocumentId>,
    /// The whole answer.
    pub answer: Value,
}

/// Logs a demo user in (`POST /api/v1/login`).
///
/// # Panics
/// Unless the server answers 200 with a token.
pub fn login(port: u16, user: &str) -> Login {
    let r = post(
        port,
        "/api/v1/login",
        None,
        &json!({"username": user, "password": DEMO_PASSWORD}),
    );
    assert_eq!(r.status, 200, "login as {user}: {}", r.body);
    let answer = r.json();
    let token = answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login as {user}: no token in {answer}"))
        .to_string();
    let index_id = answer["index_id"].as_str().map(|s| {
        s.parse::<DocumentId>()
            .unwrap_or_else(|e| panic!("login as {user}: index_id {s:?} is not a document id: {e}"))
    });
    Login {
        user: user.to_string(),
        token,
        index_id,
        answer,
    }
}
