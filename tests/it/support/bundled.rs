//! The etcd and etcdctl nodefit ships (the pinned static 3.5.1 of scripts/bundled-etcd.sh), as the
//! tests must use them: linked next to the test build's nodefit, where nodefit itself finds etcd
//! with no flag. Never the distribution's etcd on PATH (another version, and a package that starts
//! a service). Missing means the set-up step did not run: the test fails saying so, it never skips.

#![allow(dead_code)]

use std::path::PathBuf;

/// The bundled etcd server binary.
pub fn etcd() -> PathBuf {
    beside_nodefit("etcd")
}

/// The bundled etcdctl.
pub fn etcdctl() -> PathBuf {
    beside_nodefit("etcdctl")
}

/// The version the bundle pins (scripts/bundled-etcd.sh's ETCD_VERSION).
pub const ETCD_VERSION: &str = "3.5.1";

fn beside_nodefit(name: &str) -> PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_nodefit")).with_file_name(name);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/bundled-etcd.sh (scripts/setup.sh and `make test-deps` run it) \
         to put nodefit's pinned etcd next to the test build",
        p.display()
    );
    p
}
