#!/usr/bin/env bash
# Builds gendan-core's WASM module for the PWA into web/pkg/:
#   cargo (profile wasm-release) -> wasm-bindgen --target web -> wasm-opt -Oz (npm's binaryen)
#   -> import check (no `env` imports: the core does no IO) -> sizes.
# Needs the tools `tools/setup.sh` installs; installs tools/node_modules itself if missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown
PROFILE=wasm-release
OUT_DIR=web/pkg
OUT_NAME=gendan_core
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
RAW_WASM="$TARGET_DIR/$TARGET/$PROFILE/gendan_core.wasm"
BG_WASM="$OUT_DIR/${OUT_NAME}_bg.wasm"
WASM_OPT="tools/node_modules/.bin/wasm-opt"

die() {
  echo "build-wasm: error: $*" >&2
  exit 1
}

# Thousands separators without relying on a locale being installed.
commas() { sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta' <<<"$1"; }

# --- tools ---------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found (install rustup, then run: make setup)"
command -v node >/dev/null || die "node not found (install node and npm)"
command -v wasm-bindgen >/dev/null || die "wasm-bindgen not found (run: make setup)"

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
want_wb="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)"
have_wb="$(wasm-bindgen --version | awk '{ print $2 }')"
[[ -n "$want_wb" ]] || die "no wasm-bindgen crate in Cargo.lock"
[[ "$want_wb" == "$have_wb" ]] ||
  die "wasm-bindgen CLI is $have_wb but Cargo.lock has wasm-bindgen $want_wb (run: make setup)"

if [[ ! -x "$WASM_OPT" ]]; then
  command -v npm >/dev/null || die "npm not found (install node and npm)"
  echo "build-wasm: installing tools/node_modules (npm ci) ..."
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi
[[ -x "$WASM_OPT" ]] || die "$WASM_OPT missing after npm ci in tools/"

# --- compile -------------------------------------------------------------------------
cargo build -p gendan-core --lib --features wasm --target "$TARGET" --profile "$PROFILE"
[[ -f "$RAW_WASM" ]] || die "cargo did not produce $RAW_WASM"

# --- bindings ------------------------------------------------------------------------
rm -rf "$OUT_DIR"
wasm-bindgen --target web --out-dir "$OUT_DIR" --out-name "$OUT_NAME" "$RAW_WASM"

# --- optimise --------------------------------------------------------------------------
# The profile strips the module, which drops its `target_features` section, so wasm-opt
# cannot detect the features rustc used and would reject e.g. memory.copy. Enable exactly
# the features rustc enables for this target.
opt_flags=(-Oz --strip-debug --strip-producers)
while read -r feature; do
  case "$feature" in
    bulk-memory) opt_flags+=(--enable-bulk-memory --enable-bulk-memory-opt) ;;
    bulk-memory-opt) opt_flags+=(--enable-bulk-memory-opt) ;;
    multivalue) opt_flags+=(--enable-multivalue) ;;
    mutable-globals) opt_flags+=(--enable-mutable-globals) ;;
    nontrapping-fptoint) opt_flags+=(--enable-nontrapping-float-to-int) ;;
    reference-types) opt_flags+=(--enable-reference-types) ;;
    sign-ext) opt_flags+=(--enable-sign-ext) ;;
    call-indirect-overlong) opt_flags+=(--enable-call-indirect-overlong) ;;
    simd128) opt_flags+=(--enable-simd) ;;
    relaxed-simd) opt_flags+=(--enable-relaxed-simd) ;;
    tail-call) opt_flags+=(--enable-tail-call) ;;
    extended-const) opt_flags+=(--enable-extended-const) ;;
    multimemory) opt_flags+=(--enable-multimemory) ;;
    exception-handling) opt_flags+=(--enable-exception-handling) ;;
    atomics) opt_flags+=(--enable-threads) ;;
    *) die "rustc enables wasm feature '$feature' that tools/build-wasm.sh does not map to a wasm-opt flag" ;;
  esac
done < <(rustc --print cfg --target "$TARGET" | sed -n 's/^target_feature="\(.*\)"$/\1/p')

# wasm-opt -Oz takes over a minute; reuse the result when its input has not changed.
opt_version="$("$WASM_OPT" --version)"
key="$( { sha256sum <"$BG_WASM"; echo "$opt_version ${opt_flags[*]}"; } | sha256sum | cut -c1-32)"
cache_dir="$TARGET_DIR/wasm-opt-cache"
cached="$cache_dir/$key.wasm"
if [[ -f "$cached" ]]; then
  echo "build-wasm: wasm-opt: unchanged input, reusing $cached"
  cp "$cached" "$BG_WASM"
else
  echo "build-wasm: $opt_version ${opt_flags[*]}"
  "$WASM_OPT" "${opt_flags[@]}" "$BG_WASM" -o "$BG_WASM.opt"
  mv "$BG_WASM.opt" "$BG_WASM"
  mkdir -p "$cache_dir"
  find "$cache_dir" -name '*.wasm' -mtime +7 -delete 2>/dev/null || true
  cp "$BG_WASM" "$cached.tmp" && mv "$cached.tmp" "$cached"
fi

# --- proof of no IO: no `env` imports --------------------------------------------------
node tools/check-wasm-imports.mjs "$BG_WASM"

# --- sizes -----------------------------------------------------------------------------
raw=$(wc -c <"$BG_WASM")
gz=$(gzip -9c "$BG_WASM" | wc -c)
echo "wasm module: $BG_WASM $(commas "$raw") bytes raw, $(commas "$gz") bytes gzip"
