#!/usr/bin/env bash
# Installs what building and testing Gendan needs beyond rustup/cargo and node/npm:
#   - the wasm32-unknown-unknown target, rustfmt and clippy;
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock
#     (it also provides wasm-bindgen-test-runner);
#   - tools/node_modules (npm's binaryen, for wasm-opt).
# Idempotent; prints nothing when everything is present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown

die() {
  echo "setup: error: $*" >&2
  exit 1
}
say() { echo "setup: $*"; }

command -v rustup >/dev/null || die "rustup not found: install it from https://rustup.rs"
command -v cargo >/dev/null || die "cargo not found: install it with rustup"
command -v node >/dev/null || die "node not found: install node (20 or later) and npm"
command -v npm >/dev/null || die "npm not found: install node (20 or later) and npm"

# --- Rust target and components --------------------------------------------------------
# (rustup resolves the toolchain from rust-toolchain files, if any, so ask it about the
# active one.)
if ! rustup target list --installed | grep -qx "$TARGET"; then
  say "rustup target add $TARGET"
  rustup target add "$TARGET"
fi
installed_components="$(rustup component list --installed)"
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed_components"; then
    say "rustup component add $component"
    rustup component add "$component"
  fi
done

# --- wasm-bindgen-cli ------------------------------------------------------------------
want_wb="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)"
[[ -n "$want_wb" ]] || die "no wasm-bindgen crate in Cargo.lock"
have_wb=""
if command -v wasm-bindgen >/dev/null; then
  have_wb="$(wasm-bindgen --version | awk '{ print $2 }')"
fi
have_runner=""
if command -v wasm-bindgen-test-runner >/dev/null; then
  have_runner="$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{ print $2 }' || true)"
fi
if [[ "$have_wb" != "$want_wb" || "$have_runner" != "$want_wb" ]]; then
  say "cargo install wasm-bindgen-cli --version $want_wb (was: ${have_wb:-missing}; takes a few minutes)"
  # Not --locked: the CLI's own lockfile pins a crate version this registry lacks.
  cargo install wasm-bindgen-cli --version "$want_wb" --force
  hash -r
  command -v wasm-bindgen >/dev/null ||
    die "wasm-bindgen installed but not on PATH: add \$CARGO_HOME/bin (usually ~/.cargo/bin) to PATH"
  have_wb="$(wasm-bindgen --version | awk '{ print $2 }')"
  [[ "$have_wb" == "$want_wb" ]] ||
    die "wasm-bindgen on PATH ($(command -v wasm-bindgen)) is $have_wb, not $want_wb"
fi

# --- npm tools (wasm-opt) ---------------------------------------------------------------
# npm ci when node_modules is missing or older than the lockfile. npm touches
# node_modules/.package-lock.json on every install, so that is the timestamp to compare.
stamp=tools/node_modules/.package-lock.json
if [[ ! -f "$stamp" || tools/package-lock.json -nt "$stamp" ]]; then
  say "npm ci (tools/)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
