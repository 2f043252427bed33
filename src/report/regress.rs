//! Regression detection (placeholder).
