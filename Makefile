# nodefit — the two commands of the quick start, and the pieces they are made of.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
NODEFIT := target/release/nodefit
DIR ?= .
# The fleet artifact's build: glibc 2.17's symbol versions through zig (scripts/setup-dist.sh), so it starts on
# every glibc from 2.17 up. The glibc suffix selects the floor; the binary lands in target/$(DIST_TRIPLE)/release.
DIST_TRIPLE := x86_64-unknown-linux-gnu
GLIBC_FLOOR := 2.17
DIST_BIN := target/$(DIST_TRIPLE)/release/nodefit

.PHONY: qualify test deps test-deps build lint bench clean fresh-check fresh-check-full dist dist-build

## Set up, build and qualify this node (disk under DIR, default: the current directory).
qualify: deps build
	$(NODEFIT) qualify --directory $(DIR)

## Set up and run the whole test suite.
test: test-deps
	cargo test --lib --bins --tests --no-fail-fast -- --test-threads=2

deps:
	@scripts/setup.sh

test-deps:
	@scripts/setup.sh --test

build:
	cargo build --release --bin nodefit

## The fleet artifact: dist/nodefit-<version>-<arch>-linux.tar.gz (+ .sha256): the zig build (glibc floor
## checked) with the pinned etcd beside it.
dist: deps dist-build
	scripts/dist.sh --binary $(DIST_BIN) --glibc-floor $(GLIBC_FLOOR)

dist-build:
	@scripts/setup-dist.sh
	PATH="$$(scripts/setup-dist.sh --zig-dir):$$PATH" cargo zigbuild --release --bin nodefit --target $(DIST_TRIPLE).$(GLIBC_FLOOR)

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench: deps build
	cargo bench

clean:
	cargo clean

## The quick start on a bare Debian 12 root (mmdebstrap + chroot): proves no install step is missing and
## that `make qualify` leaves nothing of etcd behind; then the `make dist` artifact alone in bare Debian 11 and
## 12 roots.
fresh-check: dist
	scripts/fresh-machine-check --artifact "$$(ls -t dist/nodefit-*-linux.tar.gz | head -n 1)"

fresh-check-full:
	scripts/fresh-machine-check --full
