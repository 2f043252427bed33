//! nodefit's integration tests: one test binary (linking tokio, tonic and plotters once, not once
//! per file), one support module.
//!
//! To add tests: put them in `tests/it/<topic>.rs` and add `mod <topic>;` below (keep the list
//! sorted). Shared helpers go in `support/` (`use crate::support::…`), never a copy in the test
//! file and never a `path` attribute. A test that cannot run here calls `skip!("reason")`, which fails it
//! when `NODEFIT_TESTS_REQUIRE_ALL=1` (CI). A test that changes machine-wide state (a sysctl)
//! goes in `machine_wide.rs` instead, so no other test runs beside it. A new `tests/*.rs` file
//! would build its own binary again: `architecture.rs` refuses it.

#[macro_use]
mod support;

mod ansible;
mod architecture;
mod browser;
mod browser_compare;
mod cluster_etcd;
mod cluster_netns;
mod cluster_qualify;
mod cluster_schema;
mod cluster_security;
mod cluster_tls;
mod disk_cli;
mod dist;
mod etcd_cluster;
mod etcd_probe;
mod etcd_secure;
mod faults;
mod headroom;
mod kill_loop;
mod kubernetes;
mod leftovers;
mod parsers_never_panic;
mod prometheus;
mod qualify_adaptive;
mod qualify_cli;
mod qualify_fingerprint;
mod qualify_slowdisk;
mod report_cluster;
mod report_html;
mod report_markdown;
mod report_trend;
mod score_checks;
mod score_profiles;
mod stats_coverage;
mod sweep_ramfs;
mod systemd_units;
mod terminal_safety;
mod trend_outputs;
mod watch;
