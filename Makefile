# nodefit — the two commands of the quick start, and the pieces they are made of.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
NODEFIT := target/release/nodefit
DIR ?= .

.PHONY: qualify test deps test-deps build lint bench clean fresh-check fresh-check-full dist

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

## The fleet artifact: dist/nodefit-<version>-<arch>-linux.tar.gz (+ .sha256) from the release binary.
dist: deps build
	scripts/dist.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench: deps build
	cargo bench

clean:
	cargo clean

## The quick start on a bare Debian 12 root (mmdebstrap + chroot): proves no install step is missing.
fresh-check:
	scripts/fresh-machine-check

fresh-check-full:
	scripts/fresh-machine-check --full
