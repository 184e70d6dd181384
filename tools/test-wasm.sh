#!/usr/bin/env bash
# Runs gendan-core's unit tests compiled to wasm32-unknown-unknown, in node, through
# wasm-bindgen-test-runner (the tests are `#[wasm_bindgen_test(unsupported = test)]`).
# Only the library's tests: integration tests under core/tests/ are native-only.
# A test that panics aborts (no unwinding on wasm32); wasm-bindgen-test reports it as FAIL
# with the panic message, runs the other tests and the runner exits non-zero.
# Fails when no test ran at all, so a misconfigured runner cannot pass silently.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command -v wasm-bindgen-test-runner >/dev/null ||
  { echo "test-wasm: error: wasm-bindgen-test-runner not found (run: make setup)" >&2; exit 1; }
command -v node >/dev/null ||
  { echo "test-wasm: error: node not found (install node and npm)" >&2; exit 1; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Node is the runner's default; make sure nothing in the environment redirects it to a
# browser we do not have.
unset WASM_BINDGEN_USE_BROWSER WASM_BINDGEN_TEST_ONLY_WEB WASM_BINDGEN_TEST_ONLY_NODE || true

status=0
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p gendan-core --target wasm32-unknown-unknown --lib "$@" 2>&1 | tee "$log" ||
  status=$?

if [[ $status -ne 0 ]]; then
  echo "test-wasm: FAILED (cargo test exited with $status)" >&2
  exit "$status"
fi

passed=$(sed -n 's/^test result: ok\. \([0-9][0-9]*\) passed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
if [[ "$passed" -eq 0 ]]; then
  echo "test-wasm: FAILED: no test ran under wasm32 (is the runner set up?)" >&2
  exit 1
fi
echo "test-wasm: ${passed} core tests passed under wasm32-unknown-unknown (node)"
