//! What the integration tests share: real fixtures (etcd, network namespaces, FUSE, Chromium,
//! certificates, PyPI venvs) and the results-schema check.

pub mod certs;
pub mod chromium;
pub mod etcd;
pub mod netns;
pub mod scaled;
pub mod schema;
pub mod slowfs;
pub mod venv;
