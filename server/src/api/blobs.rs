//! Photos and files (DESIGN §4): content-addressed blobs, uploaded whole or resumably,
//! verified by their SHA-256 before anyone can read them.
//!
//! - `PUT /blobs/{sha256}`: the whole blob in one body (at most
//!   [`crate::blobs::PART_BYTES_MAX`]; larger blobs go in parts). 201 when stored now, 200
//!   when it was already there; the answer is the blob's metadata.
//! - `PATCH /blobs/{sha256}` with `Upload-Offset: N`: appends one part at byte N. 409 with
//!   the current length (`Upload-Offset` header and `"offset"`) when N is not where the
//!   upload stands.
//! - `HEAD /blobs/{sha256}`: 200 with `Content-Length` when stored; otherwise 404 with
//!   `Upload-Offset`, the bytes received so far (0 when no upload is in progress).
//! - `POST /blobs/{sha256}/finish` `{"mime"}`: checks the parts' hash and stores the blob.
//! - `GET /blobs/{sha256}`: the bytes, with their media type; ranges are served.
//!
//! **Who may read a blob** (DESIGN §4): whoever can read a record that references it, its
//! uploader (before the record that will reference it has synced), and the office. The sync
//! service keeps the blob → record references as records change
//! ([`crate::persist::ServerStorage::may_read_blob`]). Anyone else gets the same 404 as for a
//! blob that does not exist.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{blocking, body_bytes, now_ms, path, session, too_large};
use crate::blobs::{BlobError, BlobMeta, BlobUpload, check_hash};
use crate::serve::{ApiError, AppState};

/// The header of a resumable upload's position.
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// The media type of a blob whose uploader named none.
pub const DEFAULT_MIME: &str = "application/octet-stream";

/// Media types served as they are; anything else is served as [`DEFAULT_MIME`], as an
/// attachment, so an uploaded HTML page can never run in the app's origin.
const INLINE_MIME_PREFIXES: &[&str] = &["image/", "video/", "audio/", "application/pdf"];

fn blob_error(e: BlobError) -> ApiError {
    match e {
        BlobError::BadHash(_) | BlobError::HashMismatch { .. } | BlobError::BadName { .. } => {
            ApiError::bad_request(e.to_string())
        }
        BlobError::TooLarge { .. } | BlobError::PartTooLarge { .. } => too_large(e.to_string()),
        BlobError::OffsetMismatch { .. } | BlobError::AlreadyStored => {
            ApiError::new(StatusCode::CONFLICT, e.to_string())
        }
        BlobError::NoUpload => ApiError::not_found(e.to_string()),
        BlobError::TooManyUploads => ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        BlobError::Damaged { .. } | BlobError::Io(_) | BlobError::Store(_) => ApiError::internal(e),
    }
}

/// The blob's SHA-256 from the path, checked.
fn sha256_of(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let sha256 = path(p)?;
    check_hash(&sha256).map_err(blob_error)?;
    Ok(sha256)
}

/// The uploader's media type: the `Content-Type` header, or [`DEFAULT_MIME`].
fn mime_of(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get(header::CONTENT_TYPE) {
        None => Ok(DEFAULT_MIME.to_string()),
        Some(v) => v
            .to_str()
            .map(str::to_string)
            .map_err(|_| ApiError::bad_request("Content-Type: must be printable ASCII")),
    }
}

fn offset_header(offset: u64) -> [(HeaderName, HeaderValue); 1] {
    [(UPLOAD_OFFSET, HeaderValue::from(offset))]
}

/// `PUT /blobs/{sha256}`: stores the body after checking its hash.
pub async fn put_whole(
    State(state): State<AppState>,
    headers: HeaderMap,
    sha256: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers)?;
    let sha256 = sha256_of(sha256)?;
    let bytes = body_bytes(body)?;
    let upload = BlobUpload {
        mime: mime_of(&headers)?,
        uploader: session.user.username,
        at_ms: now_ms(),
    };
    let blobs = state.blobs.clone();
    let (existed, meta) = blocking(move || {
        let existed = blobs.exists(&sha256).map_err(blob_error)?;
        let meta = blobs.put(&sha256, &bytes, &upload).map_err(blob_error)?;
        Ok((existed, meta))
    })
    .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(meta)).into_response())
}

/// `PATCH /blobs/{sha256}` with `Upload-Offset`: appends one part; answers `{"offset"}`
/// (and the `Upload-Offset` header) with the new length.
pub async fn append_part(
    State(state): State<AppState>,
    headers: HeaderMap,
    sha256: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    session(&state, &headers)?;
    let sha256 = sha256_of(sha256)?;
    let offset: u64 = headers
        .get(&UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("Upload-Offset: required, the byte this part starts at")
        })?;
    let bytes = body_bytes(body)?;
    let blobs = state.blobs.clone();
    let result = blocking(move || {
        let result = match blobs.append_part(&sha256, offset, &bytes) {
            Ok(length) => Ok((length, false)),
            Err(BlobError::AlreadyStored) => match blobs.meta(&sha256).map_err(blob_error)? {
                Some(meta) => Ok((meta.size, true)),
                None => Err(BlobError::AlreadyStored),
            },
            Err(e) => Err(e),
        };
        Ok(result)
    })
    .await?;
    match result {
        Ok((length, complete)) => Ok((
            offset_header(length),
            Json(json!({ "offset": length, "complete": complete })),
        )
            .into_response()),
        Err(BlobError::OffsetMismatch { expected, .. }) => Ok((
            StatusCode::CONFLICT,
            offset_header(expected),
            Json(json!({
                "error": format!("the upload continues at byte {expected}, not {offset}"),
                "offset": expected,
            })),
        )
            .into_response()),
        Err(e) => Err(blob_error(e)),
    }
}

/// `HEAD /blobs/{sha256}`: 200 with `Content-Length` when stored; 404 with `Upload-Offset`
/// (bytes received so far) when not.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    sha256: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    session(&state, &headers)?;
    let sha256 = sha256_of(sha256)?;
    let blobs = state.blobs.clone();
    let (meta, partial) = blocking(move || {
        let meta = if blobs.exists(&sha256).map_err(blob_error)? {
            blobs.meta(&sha256).map_err(blob_error)?
        } else {
            None
        };
        let partial = blobs.partial_len(&sha256).map_err(blob_error)?;
        Ok((meta, partial))
    })
    .await?;
    let mut response = match &meta {
        Some(meta) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, served_mime(&meta.mime).0);
            r.headers_mut()
                .insert(UPLOAD_OFFSET, HeaderValue::from(meta.size));
            r
        }
        None => {
            let mut r = StatusCode::NOT_FOUND.into_response();
            r.headers_mut()
                .insert(UPLOAD_OFFSET, HeaderValue::from(partial));
            r
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /blobs/{sha256}/finish` body (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FinishBody {
    /// The blob's media type ([`DEFAULT_MIME`] when absent).
    pub mime: Option<String>,
}

/// `POST /blobs/{sha256}/finish`: checks the uploaded parts and stores the blob; 201 with
/// its metadata (200 when it was already stored), 400 when the bytes do not hash to the
/// name (the upload is discarded), 404 when there is no upload.
pub async fn finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    sha256: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers)?;
    let sha256 = sha256_of(sha256)?;
    let bytes = body_bytes(body)?;
    let body: FinishBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        FinishBody::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "expected {{\"mime\": \"image/jpeg\"}} or nothing: {e}"
            ))
        })?
    };
    let upload = BlobUpload {
        mime: body.mime.unwrap_or_else(|| DEFAULT_MIME.to_string()),
        uploader: session.user.username,
        at_ms: now_ms(),
    };
    let blobs = state.blobs.clone();
    let (existed, meta): (bool, BlobMeta) = blocking(move || {
        let existed = blobs.exists(&sha256).map_err(blob_error)?;
        let meta = blobs.finish(&sha256, &upload).map_err(blob_error)?;
        Ok((existed, meta))
    })
    .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(meta)).into_response())
}

/// The media type a blob is served with, and whether it is served inline.
fn served_mime(mime: &str) -> (HeaderValue, bool) {
    let inline = INLINE_MIME_PREFIXES.iter().any(|p| mime.starts_with(p))
        && !mime.contains("svg")
        && !mime.contains("xml");
    match HeaderValue::from_str(mime) {
        Ok(v) if inline => (v, true),
        _ => (HeaderValue::from_static(DEFAULT_MIME), false),
    }
}

/// `GET /blobs/{sha256}`: the blob's bytes, streamed, with its media type, for those who
/// may read it (see the module docs).
pub async fn download(
    State(state): State<AppState>,
    sha256: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let reader = session(&state, request.headers())?;
    let sha256 = sha256_of(sha256)?;
    let blobs = state.blobs.clone();
    let storage = state.storage.clone();
    let hash = sha256.clone();
    let found = blocking(move || {
        if !blobs.exists(&hash).map_err(blob_error)? {
            return Ok(None);
        }
        let meta = blobs.meta(&hash).map_err(blob_error)?;
        let principal = reader.user.principal();
        let uploader = meta.as_ref().map(|m| m.uploader.as_str());
        if !storage
            .may_read_blob(&principal, &hash, uploader)
            .map_err(ApiError::internal)?
        {
            return Ok(None);
        }
        Ok(Some((blobs.path_of(&hash), meta)))
    })
    .await?;
    let Some((file, meta)) = found else {
        return Err(ApiError::not_found(format!("there is no blob {sha256}")));
    };
    let mime = meta.map_or_else(|| DEFAULT_MIME.to_string(), |m| m.mime);
    let (content_type, inline) = served_mime(&mime);
    let served = tower_http::services::ServeFile::new(file)
        .try_call(request)
        .await
        .map_err(ApiError::internal)?;
    let (mut parts, body) = served.into_parts();
    if parts.status == StatusCode::NOT_FOUND {
        return Err(ApiError::not_found(format!("there is no blob {sha256}")));
    }
    let h = &mut parts.headers;
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if !inline {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    Ok(Response::from_parts(parts, Body::new(body)))
}
