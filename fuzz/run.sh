#!/usr/bin/env bash
# Gendan's fuzz runs (called by `make fuzz` and `make test`; see fuzz/README.md).
#
#   fuzz/run.sh replay        replay corpus/ and regressions/ with plain stable `cargo test`
#   fuzz/run.sh fuzz          build every target with cargo-fuzz, replay every committed
#                             input through it, then run each one for FUZZ_SECONDS seconds
#                             from the committed corpus
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 20)
#   FUZZ_TARGETS     targets to run (default: all four)
#   FUZZ_SANITIZER   none (default) or address. `address` passes -Zsanitizer, so it sets
#                    RUSTC_BOOTSTRAP=1 to use the stable toolchain's unstable flags.
#   FUZZ_DEV         1: build the targets with cargo-fuzz's --dev (debug profile for our
#                    crates). Measured: no cheaper to build cold (8 min 20 s CPU against
#                    6 min 20 s: the dependencies are optimised either way) and slower to
#                    run, so the default builds optimised.
#   FUZZ_CODEGEN_UNITS  codegen units for the build (default: cargo-fuzz's 1 in release,
#                    which builds automerge on one core). `make test`'s short run passes
#                    16: a faster build, somewhat slower executions, which a 5 s run does
#                    not need.
#   FUZZ_RSS_MB      libFuzzer's memory limit (default 2048)
#   FUZZ_KNOWN_OOM   targets whose running out of memory is a known open bug, reported but
#                    not a failure (default: document_load — Automerge 0.12 can take GBs
#                    loading a corrupt document of a few hundred bytes; README "Findings")
#
# The fuzzer writes what it finds into a scratch corpus under fuzz/target/corpus/, never
# into the committed corpus/, which stays small. A crash stops the run: its input is copied
# to fuzz/regressions/<target>/ to be committed (the replay test then guards it).
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
cd "$ROOT"

CARGO="${CARGO:-cargo}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
FUZZ_TARGETS="${FUZZ_TARGETS:-frame_decode document_load write_check hub}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2048}"
FUZZ_DEV="${FUZZ_DEV:-0}"
FUZZ_CODEGEN_UNITS="${FUZZ_CODEGEN_UNITS:-}"
FUZZ_KNOWN_OOM="${FUZZ_KNOWN_OOM-document_load}"
# The cargo-fuzz release known to build with this toolchain (Rust 1.95); --locked uses
# the dependency versions it was released with.
CARGO_FUZZ_VERSION=0.13.2

say() { echo "fuzz: $*"; }

replay() {
  # Into fuzz/target/debug (not the root target dir: two builds of automerge with
  # different features side by side there confuse rustc).
  "$CARGO" test --manifest-path fuzz/Cargo.toml --no-default-features
}

ensure_cargo_fuzz() {
  local have=""
  if "$CARGO" fuzz --version >/dev/null 2>&1; then
    have="$("$CARGO" fuzz --version | awk '{ print $2 }')"
  fi
  if [[ "$have" != "$CARGO_FUZZ_VERSION" ]]; then
    say "cargo install cargo-fuzz --version $CARGO_FUZZ_VERSION --locked (was: ${have:-missing}; takes a few minutes)"
    "$CARGO" install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
  fi
}

fuzz() {
  ensure_cargo_fuzz
  local flags=(--sanitizer "$FUZZ_SANITIZER")
  if [[ "$FUZZ_DEV" == 1 ]]; then
    flags+=(--dev)
  fi
  if [[ -n "$FUZZ_CODEGEN_UNITS" ]]; then
    flags+=(--codegen-units "$FUZZ_CODEGEN_UNITS")
  fi
  if [[ "$FUZZ_SANITIZER" != none ]]; then
    # Sanitizers are -Z flags: accepted by the stable compiler only with this.
    export RUSTC_BOOTSTRAP=1
  fi
  local start
  start=$(date +%s)
  # One build for all targets: they share every dependency.
  "$CARGO" fuzz build "${flags[@]}"
  say "build: $(($(date +%s) - start))s"
  local target scratch artifacts status log
  for target in $FUZZ_TARGETS; do
    scratch="fuzz/target/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    # Only this run's crashes are kept: clear what an earlier run left.
    rm -rf "$artifacts"
    mkdir -p "$scratch" "$artifacts" "fuzz/corpus/$target"
    log="fuzz/target/$target.log"
    # Every committed input first (the corpus and the kept crashes; not open/ or slow/),
    # run once each by the instrumented target: each must pass. This is the same replay
    # as `run.sh replay` without a second build.
    local replay_dir="fuzz/target/replay/$target"
    rm -rf "$replay_dir"
    mkdir -p "$replay_dir"
    local kept
    for kept in "fuzz/corpus/$target" "fuzz/regressions/$target"; do
      [[ -d "$kept" ]] || continue
      find "$kept" -maxdepth 1 -type f ! -name .gitkeep -exec cp {} "$replay_dir/" \;
    done
    status=0
    "$CARGO" fuzz run "${flags[@]}" "$target" "$replay_dir" -- -runs=0 \
      -rss_limit_mb="$FUZZ_RSS_MB" -timeout=60 >"$log" 2>&1 || status=$?
    if [[ $status -ne 0 ]]; then
      tail -n 60 "$log" >&2
      say "$target: a committed input FAILED on replay (exit $status); full log: $log"
      exit 1
    fi
    say "$target: replayed $(find "$replay_dir" -type f | wc -l) committed inputs"
    say "$target: ${FUZZ_SECONDS}s"
    status=0
    # The scratch corpus comes first: libFuzzer writes new inputs into the first dir only.
    "$CARGO" fuzz run "${flags[@]}" "$target" "$scratch" "fuzz/corpus/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" -timeout=60 \
      -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec)' "$log" |
      sed "s/^/fuzz: $target: /" || true
    if [[ $status -ne 0 ]] && grep -q 'libFuzzer: out-of-memory' "$log" &&
      [[ " $FUZZ_KNOWN_OOM " == *" $target "* ]]; then
      mkdir -p "fuzz/target/known-oom/$target"
      cp "$artifacts"/oom-* "fuzz/target/known-oom/$target/" 2>/dev/null || true
      say "$target: ran out of memory (over ${FUZZ_RSS_MB} MB): a known open bug (fuzz/README.md," \
        "Findings); input in fuzz/target/known-oom/$target/; not a failure"
      continue
    fi
    if [[ $status -ne 0 ]]; then
      tail -n 60 "$log" >&2
      local crash
      for crash in "$artifacts"/*; do
        [[ -f "$crash" ]] || continue
        mkdir -p "fuzz/regressions/$target"
        cp "$crash" "fuzz/regressions/$target/"
        say "$target: kept $(basename "$crash") in fuzz/regressions/$target/: commit it"
      done
      say "$target FAILED (exit $status); full log: $log"
      exit 1
    fi
  done
}

case "${1:-}" in
  replay) replay ;;
  fuzz) fuzz ;;
  *)
    echo "usage: $0 replay|fuzz" >&2
    exit 2
    ;;
esac
