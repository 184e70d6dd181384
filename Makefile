# Gendan: build, run and test.
#
#   make build   everything `make run` needs (server binary, WASM module, PWA when present)
#   make run     build, then serve the demo on http://127.0.0.1:8080
#   make test    every check CI runs, in order, stopping at the first failure
#   make bench   benchmarks: load vs the reference sync server, core micro-benchmarks,
#                the field app in Chromium (BENCHMARKS.md); smaller or larger:
#                BENCH_SCALE=0.1 make bench
#   make fuzz    run every fuzz target for FUZZ_SECONDS (20) s each (cargo-fuzz; see
#                fuzz/README.md); longer: FUZZ_SECONDS=300 make fuzz
#   make setup   install missing tools (wasm32 target, clippy/rustfmt, wasm-bindgen-cli,
#                tools/node_modules); build, run and test run it first
#   make clean   remove build outputs
#
# Needs only rustup/cargo and node/npm; `make setup` installs the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# The steps of `make test` must run one after the other, even under `make -j`.
.NOTPARALLEL:

# `cargo install` puts wasm-bindgen here; make sure we find it even when the shell's
# profile did not add it to PATH (fresh CI machines).
CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(PATH):$(CARGO_HOME)/bin

CARGO ?= cargo
BIND ?= 127.0.0.1:8080
DATA ?= ./data
SERVER_BIN := ./target/release/gendan

# Hook for the PWA: once web/package.json exists, `make build` also runs this in web/:
# npm ci when node_modules is missing or older than the lockfile, then the Vite build
# (type check, bundle, service worker with the precached app shell and WASM module).
WEB_BUILD_CMD ?= { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || { npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; }; } && npm run build

# Hook for end-to-end tests that are not plain `cargo test` (the gendan-tests crate already
# runs within `cargo test --workspace`: samod interop, kill -9, malformed frames): stock
# automerge-repo JS clients against a real server, then the PWA in headless Chromium.
E2E_CMD ?= $(MAKE) --no-print-directory js-interop && $(MAKE) --no-print-directory web-e2e

# The steps of `make test`, in order. Each is also a target of its own. Clippy has no step
# of its own: it is the compiler of our crates in test-native and wasm (LINT_ENV, below).
TEST_STEPS := setup fmt-check test-native fuzz-smoke wasm test-wasm web-test e2e

# Clippy as the compiler of the workspace's own crates, the way `cargo clippy` runs it
# (RUSTC_WORKSPACE_WRAPPER=clippy-driver; CLIPPY_ARGS is how cargo-clippy passes
# `-- -D warnings` to it): the builds below lint what they compile, with every warning an
# error, instead of `make test` type-checking the whole tree a second time for `cargo
# clippy`. Dependencies are compiled by plain rustc, as under `cargo clippy`. Every debug
# build in this Makefile uses it, so they share one set of artifacts. `make clippy` and
# `make clippy-wasm` still run cargo clippy on its own.
LINT_ENV := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

banner = @printf '\n\033[1m==== %s ====\033[0m\n' "$(1)"

.PHONY: fuzz
.PHONY: help setup build server web-build web-dist web-e2e web-size web-bench js-interop wasm run test $(TEST_STEPS) bench clean

help:
	@sed -n 's/^#   /  /p' $(firstword $(MAKEFILE_LIST))

setup:
	$(call banner,setup: tools)
	@tools/setup.sh
	@echo "setup: ok (rust target wasm32-unknown-unknown, rustfmt, clippy, wasm-bindgen $$(wasm-bindgen --version | awk '{print $$2}'), wasm-opt $$(tools/node_modules/.bin/wasm-opt --version | awk '{print $$3}'))"

# --- build -----------------------------------------------------------------------------

build: setup server web-build

server:
	$(call banner,build: gendan server (release))
	$(CARGO) build --release -p gendan-server

# The WASM module into web/pkg/ (tools/build-wasm.sh: cargo, wasm-bindgen, wasm-opt,
# import check, sizes). Under `make test` (LINT=1) gendan-core is compiled through clippy
# (LINT_ENV): that is the lint of the wasm32 code and the bindings. `make build` does not
# lint, so a newer toolchain's new lints never stop `make run`.
wasm:
	$(call banner,WASM module: build web/pkg$(if $(LINT), (clippy -D warnings on wasm32)), import check, smoke test)
	$(if $(LINT),$(LINT_ENV)) tools/build-wasm.sh
	node tools/smoke-wasm.mjs web/pkg

web-build: wasm web-dist

# The PWA from the WASM module already in web/pkg (built first when missing).
web-dist:
	@if [ ! -f web/pkg/gendan_core_bg.wasm ]; then $(MAKE) --no-print-directory wasm; fi
	@if [ -f web/package.json ]; then \
	  printf '\n==== web-build: PWA (web/) ====\n'; \
	  cd web && $(WEB_BUILD_CMD); \
	else \
	  echo "web-build: no web/package.json yet: built the WASM module only"; \
	fi

run: build
	$(call banner,run: $(SERVER_BIN) serve --bind $(BIND) --data $(DATA) --demo)
	$(SERVER_BIN) serve --bind $(BIND) --data $(DATA) --demo

# --- test ------------------------------------------------------------------------------

# Runs TEST_STEPS in order, stops at the first failure, prints how long each step took.
test:
	@total_start=$$(date +%s); times=""; n=0; \
	for step in $(TEST_STEPS); do \
	  n=$$((n + 1)); \
	  printf '\n\033[1m#### make test: step %s/%s: %s\033[0m\n' "$$n" "$(words $(TEST_STEPS))" "$$step"; \
	  start=$$(date +%s); \
	  if ! $(MAKE) --no-print-directory $$step LINT=1; then \
	    printf '\n\033[1;31mmake test: FAILED at step "%s" (after %ss)\033[0m\n' "$$step" "$$(( $$(date +%s) - start ))"; \
	    exit 1; \
	  fi; \
	  times="$$times  $$(printf '%-12s %5ss' "$$step" "$$(( $$(date +%s) - start ))")\n"; \
	done; \
	printf '\n\033[1;32mmake test: all steps passed\033[0m (%ss)\n' "$$(( $$(date +%s) - total_start ))"; \
	printf "$$times"

fmt-check:
	$(call banner,cargo fmt --check)
	$(CARGO) fmt --all -- --check

clippy:
	$(call banner,cargo clippy --workspace --all-targets (native))
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clippy-wasm:
	$(call banner,cargo clippy -p gendan-core --features wasm (wasm32))
	$(CARGO) clippy -p gendan-core --features wasm --target wasm32-unknown-unknown -- -D warnings

# The fault harness (issue #6) runs last and prints its figures: the kill -9 loop
# (GENDAN_KILL9_TRIALS, 5) and the week-offline device (GENDAN_OFFLINE_EDITS, 5000, over
# GENDAN_OFFLINE_RECORDS, 200). Longer: GENDAN_KILL9_TRIALS=100 make test-native.
FAULT_TESTS := --test kill9 --test long_offline

# Builds every target of the workspace (tests, benches, examples, binaries) through clippy
# (LINT_ENV: -D warnings), then runs the tests. The fault tests run with --workspace too:
# `-p gendan-tests` would resolve features differently and rebuild much of the tree.
test-native:
	$(call banner,build and lint every target (clippy -D warnings, native))
	$(LINT_ENV) $(CARGO) test --workspace --all-targets --no-run
	$(call banner,cargo test --workspace (native))
	$(LINT_ENV) $(CARGO) test --workspace -- --skip acknowledged_changes_survive_kill_9 --skip a_week_offline_loses_no_edit
	$(call banner,fault harness: kill -9 loop and a week offline)
	$(LINT_ENV) $(CARGO) test --workspace $(FAULT_TESTS) -- --nocapture 2>&1 | grep -E '^(kill-9|  trial|long offline|test |thread|failures|test result)' ; exit $${PIPESTATUS[0]}

# `wasm` (above) is a step too: build, import check, smoke test.

test-wasm:
	$(call banner,gendan-core tests under wasm32 (node))
	tools/test-wasm.sh

# The PWA's unit tests (Vitest, node): sync engine, local store, uploads, work list,
# message catalogues — against the real WASM module in web/pkg.
web-test:
	$(call banner,PWA unit tests (vitest))
	web/e2e/setup.sh
	@if [ ! -f web/pkg/gendan_core_bg.wasm ]; then $(MAKE) --no-print-directory wasm; fi
	cd web && npm test

# The PWA end to end: headless Chromium (Debian's, installed by web/e2e/setup.sh when
# missing) against `target/debug/gendan serve --demo` on a free port with a fresh data dir.
# The binary is built as test-native builds it (a no-op after it; see js-interop).
web-e2e:
	$(call banner,PWA end to end (headless Chromium, real server))
	web/e2e/setup.sh
	$(LINT_ENV) $(CARGO) test --workspace --no-run --quiet
	$(MAKE) --no-print-directory web-dist
	cd web && npm run e2e

# What the PWA ships (gzip): the WASM module and the JavaScript.
web-size:
	node web/scripts/size.mjs

# The field app in headless Chromium with 1,000 records on the device: p95 time to record
# a defect, time to open offline, bytes shipped (prints; not a test).
web-bench:
	$(call banner,bench: PWA (headless Chromium))
	web/e2e/setup.sh
	$(CARGO) build -p gendan-server
	$(MAKE) --no-print-directory web-dist
	node web/scripts/bench.mjs

# Interop with the stock automerge-repo 2.5.6 JS client (tests/js, node --test): it starts
# `target/debug/gendan serve --demo` on a free port with a fresh data dir. The binary is
# built as test-native builds it, clippy included (after test-native: a no-op; `cargo build
# -p gendan-server` resolves features differently and rebuilds much of the tree). Node
# packages come from tests/js/package-lock.json (reinstalled when it changes).
js-interop:
	$(call banner,sync interop: stock automerge-repo JS clients (tests/js))
	$(LINT_ENV) $(CARGO) test --workspace --no-run --quiet
	cd tests/js && { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || { npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; }; } && npm test

e2e:
	$(call banner,end-to-end tests)
ifeq ($(strip $(E2E_CMD)),)
	@echo "e2e: nothing yet beyond the gendan-tests crate, which ran with cargo test --workspace"
else
	$(E2E_CMD)
endif

# --- fuzz ------------------------------------------------------------------------------
# fuzz/: cargo-fuzz targets for the frame decoder, document loading, the write check and
# the hub (its own workspace, not built by `cargo test --workspace`). fuzz/run.sh installs
# cargo-fuzz when missing; runs start from the committed corpus (fuzz/corpus/) and keep
# what they find in a scratch corpus under fuzz/target/; a crash is copied to
# fuzz/regressions/<target>/ to be committed.

FUZZ_SECONDS ?= 20
# The bounded run inside `make test`: every committed input replayed through the
# instrumented targets, then every target this long. With 0, `make test` replays the
# committed inputs with plain `cargo test` instead (fuzz-replay) and fuzzes nothing.
# Automerge's out-of-memory on a corrupt document is the one open finding: reported, not
# a failure (fuzz/README.md, "Findings"); anything new fails and its input is kept under
# fuzz/regressions/.
FUZZ_TEST_SECONDS ?= 5

# Every committed fuzz input (corpus and kept crashes), replayed by a plain stable
# `cargo test`: fast, no libFuzzer.
fuzz-replay:
	$(call banner,fuzz: replay fuzz/corpus and fuzz/regressions (cargo test))
	CARGO=$(CARGO) fuzz/run.sh replay

fuzz-smoke:
	$(call banner,fuzz: every target for $(FUZZ_TEST_SECONDS)s (cargo-fuzz))
ifeq ($(strip $(FUZZ_TEST_SECONDS)),0)
	@echo "fuzz-smoke: no fuzzing (FUZZ_TEST_SECONDS=0); replaying the committed inputs"
	CARGO=$(CARGO) fuzz/run.sh replay
else
	CARGO=$(CARGO) FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) FUZZ_CODEGEN_UNITS=16 fuzz/run.sh fuzz
endif

fuzz:
	$(call banner,fuzz: every target for $(FUZZ_SECONDS)s (cargo-fuzz))
	CARGO=$(CARGO) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh fuzz

# --- bench -----------------------------------------------------------------------------

# The load benchmark (BENCHMARKS.md): bench/'s generator (`gendan-load`) runs the same
# workload against `gendan serve` (release) and the reference automerge-repo server
# (tests/bench-reference, node), prints the table and the final ratio line, then the
# memory at rest; then the criterion micro-benchmarks of the core; then the field app in
# headless Chromium (web-bench: p95 to record a defect with 1,000 records on the device,
# offline open, WASM + JS gzip; web/README.md). BENCH_SCALE (default 1)
# shrinks or grows the load: BENCH_SCALE=0.1 make bench is a smoke run. Not part of
# `make test`.
BENCH_SCALE ?= 1
export BENCH_SCALE

bench:
	$(call banner,bench: build gendan and the load generator (release))
	$(CARGO) build --release -p gendan-server -p gendan-bench
	$(call banner,bench: reference server packages (tests/bench-reference))
	cd tests/bench-reference && { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || { npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; }; }
	$(call banner,bench: load (BENCH_SCALE=$(BENCH_SCALE)): gendan vs the reference server)
	./target/release/gendan-load --gendan-bin ./target/release/gendan --reference-dir tests/bench-reference
	$(call banner,bench: core micro-benchmarks (criterion))
	$(CARGO) bench -p gendan-core --bench core
	$(MAKE) --no-print-directory web-bench

# --- clean -----------------------------------------------------------------------------

clean:
	$(CARGO) clean
	rm -rf web/pkg
