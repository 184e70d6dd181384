//! The PWA's static files at `/`: the built app from `web/dist`, with `index.html` (status
//! 200) for any path that is not a file (the app routes on the client).

use std::path::PathBuf;

use tower_http::services::{ServeDir, ServeFile};

/// A service serving `dir`, falling back to its `index.html`.
pub fn service(dir: PathBuf) -> ServeDir<ServeFile> {
    let index = dir.join("index.html");
    ServeDir::new(dir).fallback(ServeFile::new(index))
}
