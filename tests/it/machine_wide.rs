//! Tests that change machine-wide state (today: the io_uring sysctl), in their own test binary so
//! that no other test runs while the machine is changed. Run by `cargo test` like `it`.

#[allow(dead_code)]
#[macro_use]
mod support;

mod disk_uring_disabled;
