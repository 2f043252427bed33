//! Scoring results against a profile's checks.

pub mod profile;
