//! From the options as typed to the probe's load: preset, overrides, defaults and the live-cluster
//! safety rules, with the errors a user can cause named in the command line's words.

use super::{EtcdError, LoadInfo};
use crate::options::etcd::{EtcdOptions, LoadPreset, MEMBER_COUNTS};
use std::time::Duration;

/// Rate above which a live cluster (`--endpoints`) needs `--accept-production-load`.
pub const LIVE_RATE_LIMIT: f64 = 2000.0;

/// Where the Kubernetes API server keeps its objects (its default `--etcd-prefix`).
const KUBERNETES_PREFIX: &str = "/registry/";

impl EtcdOptions {
    /// Resolve the workload: preset, overrides, defaults and the live-cluster safety rules.
    pub fn resolve_load(&self, prefix: String) -> Result<LoadInfo, EtcdError> {
        let preset = self.load.unwrap_or(LoadPreset::S);
        let (p_rate, p_clients) = preset.numbers();
        let rate = self.rate.unwrap_or(p_rate);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(EtcdError::Invalid(format!(
                "--rate must be > 0, got {rate}"
            )));
        }
        let clients = self.clients.unwrap_or(p_clients);
        if clients == 0 {
            return Err(EtcdError::Invalid("--clients must be at least 1".into()));
        }
        let conns = self
            .conns
            .unwrap_or(clients.div_ceil(100))
            .clamp(1, clients);
        if self.conns == Some(0) {
            return Err(EtcdError::Invalid("--conns must be at least 1".into()));
        }
        let duration = match (self.duration, self.total) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(60)),
        };
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(EtcdError::Invalid("--duration must be > 0".into()));
        }
        if self.total == Some(0) {
            return Err(EtcdError::Invalid("--total must be at least 1".into()));
        }
        if self.key_space == 0 {
            return Err(EtcdError::Invalid("--key-space must be at least 1".into()));
        }
        if self.is_live() && rate > LIVE_RATE_LIMIT && !self.accept_production_load {
            return Err(EtcdError::ConsentRequired {
                rate,
                limit: LIVE_RATE_LIMIT,
            });
        }
        if !self.is_live() {
            let client_only = [
                ("--cacert", self.cacert.is_some()),
                ("--cert", self.cert.is_some()),
                ("--key", self.key.is_some()),
                ("--user", self.user.is_some()),
                ("--password", self.password.is_some()),
                ("--password-file", self.password_file.is_some()),
            ];
            if let Some((flag, _)) = client_only.iter().find(|(_, given)| *given) {
                return Err(EtcdError::Invalid(format!(
                    "{flag} is for --endpoints (a cluster of yours); the embedded etcd has no TLS and no users"
                )));
            }
        } else if self.members != 1 {
            return Err(EtcdError::Invalid(format!(
                "--members {} is for the embedded etcd; with --endpoints the cluster is yours",
                self.members
            )));
        }
        if !self.is_live() && !MEMBER_COUNTS.contains(&self.members) {
            return Err(EtcdError::Invalid(format!(
                "--members must be 1, 3 or 5, got {}",
                self.members
            )));
        }
        if !prefix.starts_with('/') || prefix.len() < 2 {
            return Err(EtcdError::Invalid(format!(
                "--prefix must start with '/' and not be '/' alone, got '{prefix}'"
            )));
        }
        // Keys are deleted by prefix at the end: "/app" would also cover "/apple/…", so the prefix
        // always ends at a path boundary.
        let prefix = if prefix.ends_with('/') {
            prefix
        } else {
            format!("{prefix}/")
        };
        // Kubernetes keeps everything under /registry/: the probe deletes its prefix at the end,
        // and no --force makes deleting the cluster's own state right.
        if prefix.starts_with(KUBERNETES_PREFIX) || KUBERNETES_PREFIX.starts_with(prefix.as_str()) {
            return Err(EtcdError::Invalid(format!(
                "--prefix {prefix} holds Kubernetes' data ({KUBERNETES_PREFIX}); the probe deletes its prefix at the end, so it is refused whatever --force says: pick a prefix of its own, e.g. /nodefit/"
            )));
        }
        // A key is the prefix plus a zero-padded key number; a --key-size that can't hold both
        // would be reported but not what was sent.
        let digits = self.key_space.saturating_sub(1).max(1).to_string().len();
        if (self.key_size as usize) < prefix.len() + digits {
            return Err(EtcdError::Invalid(format!(
                "--key-size {} is too small: a key is the prefix '{prefix}' ({} bytes) plus a {digits}-digit key number, so at least {} bytes",
                self.key_size,
                prefix.len(),
                prefix.len() + digits
            )));
        }
        let preset_used = if self.rate.is_none() || self.clients.is_none() {
            Some(preset.as_str().to_string())
        } else {
            None
        };
        Ok(LoadInfo {
            op: self.op.as_str().into(),
            preset: preset_used,
            rate,
            clients,
            conns,
            duration_s: duration.map(|d| d.as_secs_f64()),
            total: self.total,
            key_size: self.key_size,
            val_size: self.val_size,
            key_space: self.key_space,
            sequential_keys: self.sequential_keys,
            prefix,
            command_timeout_s: self.command_timeout.as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_cluster_rate_needs_consent() {
        let mut a = EtcdOptions {
            endpoints: vec!["http://127.0.0.1:1".into()],
            rate: Some(5000.0),
            ..Default::default()
        };
        assert!(matches!(
            a.resolve_load("/p/".into()),
            Err(EtcdError::ConsentRequired { .. })
        ));
        a.accept_production_load = true;
        assert!(a.resolve_load("/p/".into()).is_ok());
        // Embedded etcd: no consent needed.
        a.endpoints.clear();
        a.accept_production_load = false;
        assert!(a.resolve_load("/p/".into()).is_ok());
    }

    #[test]
    fn total_alone_has_no_duration() {
        let a = EtcdOptions {
            total: Some(10),
            ..Default::default()
        };
        let l = a.resolve_load("/p/".into()).unwrap();
        assert_eq!(l.duration_s, None);
        assert_eq!(l.total, Some(10));
        assert!(a.resolve_load("/".into()).is_err());
        assert_eq!(a.resolve_load("/app".into()).unwrap().prefix, "/app/");
        // Kubernetes' own keys, whatever --force says.
        let forced = EtcdOptions {
            force: true,
            ..a.clone()
        };
        for p in ["/registry", "/registry/", "/registry/pods/"] {
            let e = forced.resolve_load(p.into()).unwrap_err().to_string();
            assert!(e.contains("Kubernetes"), "{p}: {e}");
        }
        assert!(forced.resolve_load("/registryx".into()).is_ok());
    }

    #[test]
    fn members_are_one_three_or_five() {
        for m in [1, 3, 5] {
            let a = EtcdOptions {
                members: m,
                ..Default::default()
            };
            assert!(a.resolve_load("/p/".into()).is_ok(), "{m}");
        }
        let a = EtcdOptions {
            members: 2,
            ..Default::default()
        };
        assert!(a.resolve_load("/p/".into()).is_err());
    }
}
