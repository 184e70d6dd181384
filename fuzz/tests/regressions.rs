//! Replays every committed fuzz input with plain stable `cargo test` (no libFuzzer, no
//! nightly): the seed corpora in `corpus/<target>/` and the crashes kept in
//! `regressions/<target>/`. Each must run without a panic.
//!
//! A crash that shows a bug not fixed yet (listed in `gendan_fuzz::known`, which the
//! targets step over) is kept in `regressions/<target>/open/`: those are replayed in strict
//! mode and are expected to panic still; one that no longer panics is reported (move it up
//! one level so that it guards the fix, and drop its `known` entry).

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn panics(run: fn(&[u8]), data: &[u8]) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| run(data))).err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "(a panic without a message)".to_string())
    })
}

fn replay(target: &str) {
    let run = gendan_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .expect("a known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        for file in files(&root.join(dir).join(target)) {
            count += 1;
            let data = fs::read(&file).expect("read input");
            if let Some(message) = panics(run, &data) {
                failures.push(format!("{}: {message}", file.display()));
            }
        }
    }
    let mut fixed = Vec::new();
    gendan_fuzz::known::strict_here(true);
    for file in files(&root.join("regressions").join(target).join("open")) {
        count += 1;
        let data = fs::read(&file).expect("read input");
        if panics(run, &data).is_none() {
            fixed.push(file.display().to_string());
        }
    }
    gendan_fuzz::known::strict_here(false);
    eprintln!("{target}: replayed {count} inputs");
    for f in &fixed {
        eprintln!(
            "{target}: {f} no longer panics: the bug it shows seems fixed; \
             move it out of open/ so that it guards the fix"
        );
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {count} inputs panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn frame_decode() {
    replay("frame_decode");
}

#[test]
fn document_load() {
    replay("document_load");
}

#[test]
fn write_check() {
    replay("write_check");
}

#[test]
fn hub() {
    replay("hub");
}
